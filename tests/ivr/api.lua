-- touches every native API call
call:pre_answer()
call:ring()
call:set("who", call.caller .. "/" .. call.called .. "/" .. call.presentation .. "/" .. call.device)
call:answer()
call:play({"tone:beep:200", "silence:100", "sine:440:200", "dtmf:12"})
local d = call:play("en/welcome.wav", {interrupt = "5"})
call:set("interrupted", d or "none")
local digits, term, timed_out = call:collect{max = 3, timeout = 3000}
call:set("collected", digits .. "|" .. tostring(term) .. "|" .. tostring(timed_out))
local v = call:ask{prompt = "en/invalid.wav", invalid = "en/invalid.wav", min = 2, max = 4, tries = 3, timeout = 2000,
  valid = function(x) return x ~= "00" end}
call:set("asked", v or "nil")
call:say("number", 1024)
call:say("digits", "12#", "zh")
call:say("amount", "12.50", "zh")
call:say("date", "2026-11-23")
call:say("time", "14:05")
call:sleep(200)
local path, secs = call:record{path = "api.wav", limit = 3, beep = true}
call:set("rec", path:match("api.wav") and "yes" or "no")
local ok, cause = call:bridge("phones/200")
call:set("bridge", tostring(ok) .. "|" .. tostring(cause))
local r, why = call:lookup()
call:set("lookup", tostring(r) .. "|" .. why)
call:emit("api.done", {n = 1})
call:log("notice", "all", "done")
call:set("got", call:get("who"))
call:hangup("USER_BUSY")
