-- The calling side (trunkd ctl originate … --script caller.lua): listen for the called
-- side's four digits, answer with four of ours, hang up.
local heard = call:collect { max = 4, timeout = 10000, interdigit = 3000 }
trunkd.log("info", "caller on " .. call.device .. " heard " .. heard)
call:play("dtmf:1379")
call:sleep(1500)
call:hangup()
