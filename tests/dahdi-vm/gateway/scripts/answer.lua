-- The called side: answer, send "2580#" in band three times, listen for the caller's
-- "1379#". Three rounds, because software emulation (QEMU without KVM) can slip a frame
-- and cost a digit (a lost "#" runs one round into the next); the four digits heard in
-- order, in any round, prove the audio path.
call:answer()
call:sleep(400)
for _ = 1, 3 do
  call:play("dtmf:2580#")
  call:sleep(300)
end
local heard = ""
for _ = 1, 3 do
  heard = heard .. call:collect { max = 5, terminators = "#", timeout = 10000, interdigit = 3000 } .. " "
  if heard:find("1379", 1, true) then
    heard = "1379"
    break
  end
end
trunkd.log("info", "answer on " .. call.device .. " heard " .. heard)
call:sleep(5000)
