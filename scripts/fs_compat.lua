-- fs_compat.lua: a script written as for FreeSWITCH mod_lua, run unchanged by
-- trunkd's FreeSWITCH-compatible `session` / `freeswitch` objects.
--
-- Shows: session:answer, a hangup hook, an input callback that breaks
-- streamFile on '#', playAndGetDigits with a regex and a variable,
-- recordFile, setVariable/getVariable, freeswitch.consoleLog, a CUSTOM event
-- (demo::done) fired with headers, and session:hangup("USER_BUSY").
-- Only `session:*`, `freeswitch.*` and `argv` are used. Prompt paths are
-- relative to the prompts directory (FreeSWITCH: the sound prefix).
--
-- argv[1]: prompt language, "en" (default) or "zh"
--
-- Try it (# skips the welcome, 42# answers the menu, a tone is the message):
--   trunkd ivr test scripts/fs_compat.lua --step "wait 1000" --step "dtmf #" \
--       --step "wait 500" --step "dtmf 42#" --step "wait 4000" --step "tone 440 1000" \
--       --step "wait 10000" --expect var:fs_digits=42 --expect event=demo::done \
--       --expect cause=USER_BUSY
--   trunkd ivr test scripts/fs_compat.lua --step "wait 1000" --step "hangup" --expect "log~hook ran"
--       (the caller hangs up during the welcome; on_hangup runs. Note: trunkd currently
--       drops what a hangup hook logs, so this expectation fails until that is fixed)

local lang = argv[1] or "en"
if lang ~= "zh" then lang = "en" end

-- Called by name when the call hangs up, whoever hangs up.
function on_hangup(s, status, arg)
  freeswitch.consoleLog("info", "hook ran\n")
end

-- Called by name for every DTMF digit during streamFile / sleep / recordFile.
function on_input(s, input_type, obj, arg)
  if input_type == "dtmf" then
    freeswitch.consoleLog("info", "on_input: digit " .. obj.digit .. " (" .. tostring(arg) .. ")\n")
    if obj.digit == "#" then
      return "break"
    end
  end
  return ""
end

-- setInputCallback passes the global of this name to the callback as its arg.
cb_arg = "welcome"

session:answer()
session:setHangupHook("on_hangup")
session:setVariable("fs_demo_lang", lang)

-- The welcome prompt; '#' skips it.
session:setInputCallback("on_input", "cb_arg")
session:streamFile(lang .. "/welcome.wav")
session:unsetInputCallback()

-- 1 to 4 digits ended by '#', 3 tries, 3 s timeout; the result also goes into fs_digits.
local digits = session:playAndGetDigits(1, 4, 3, 3000, "#", lang .. "/ivr/menu.wav", lang .. "/invalid.wav",
  "\\d+", "fs_digits")
freeswitch.consoleLog("info", "playAndGetDigits: \"" .. digits .. "\", fs_digits=" ..
  tostring(session:getVariable("fs_digits")) .. "\n")

if session:ready() and digits ~= "" then
  session:streamFile(lang .. "/thanks.wav")
  session:execute("playback", "tone_stream://%(300,0,1000)")
  -- up to 30 s, stop after 3 s of silence
  local file = "fs_compat/" .. session:get_uuid() .. ".wav"
  session:recordFile(file, 30, 500, 3)
  session:setVariable("fs_recording", file)
end

local event = freeswitch.Event("CUSTOM", "demo::done")
event:addHeader("caller", session:getVariable("caller_id_number") or "")
event:addHeader("digits", digits)
event:addHeader("recording", session:getVariable("fs_recording") or "")
event:fire()

if session:ready() then
  session:streamFile(lang .. "/goodbye.wav")
  session:hangup("USER_BUSY")
end
