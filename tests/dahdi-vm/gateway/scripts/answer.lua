-- The called side: answer, send four digits in band, listen for the caller's four.
call:answer()
call:sleep(400)
call:play("dtmf:2580")
local heard = call:collect { max = 4, timeout = 10000, interdigit = 3000 }
trunkd.log("info", "answer on " .. call.device .. " heard " .. heard)
call:sleep(5000)
