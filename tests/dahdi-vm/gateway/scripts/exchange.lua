-- Both ends of the VM test's calls. The called side (a route's script, not yet answered)
-- answers, sends "2580#" and listens for "1379#"; the calling side (trunkd ctl originate
-- … --script exchange.lua, started once the far end answered) listens for "2580#", sends
-- "1379#" and hangs up. Each sends three rounds, because software emulation (QEMU
-- without KVM) can slip a frame and cost a digit (a lost "#" runs one round into the
-- next); the four digits heard in order, in any round, prove the audio path.

local function send(digits)
  for _ = 1, 3 do
    call:play("dtmf:" .. digits)
    call:sleep(300)
  end
end

-- What was heard: `want` if its digits came in order within three rounds, else all.
local function listen(want)
  local heard = ""
  for _ = 1, 3 do
    heard = heard .. call:collect { max = 5, terminators = "#", timeout = 10000, interdigit = 3000 } .. " "
    if heard:find(want, 1, true) then
      return want
    end
  end
  return heard
end

if call.answered then
  trunkd.log("info", "caller on " .. call.device .. " heard " .. listen("2580"))
  send("1379#")
  call:sleep(1500)
  call:hangup()
else
  call:answer()
  call:sleep(400)
  send("2580#")
  trunkd.log("info", "answer on " .. call.device .. " heard " .. listen("1379"))
  call:sleep(5000)
end
