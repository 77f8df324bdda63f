-- The calling side (trunkd ctl originate … --script caller.lua): listen for the called
-- side's "2580#" (up to three rounds, see answer.lua), send "1379#" three times, hang up.
local heard = ""
for _ = 1, 3 do
  heard = heard .. call:collect { max = 5, terminators = "#", timeout = 10000, interdigit = 3000 } .. " "
  if heard:find("2580", 1, true) then
    heard = "2580"
    break
  end
end
trunkd.log("info", "caller on " .. call.device .. " heard " .. heard)
for _ = 1, 3 do
  call:play("dtmf:1379#")
  call:sleep(300)
end
call:sleep(1500)
call:hangup()
