-- voicemail.lua: leave a message (trunkd's native `call` API).
--
-- Shows: call:record with a beep, a time limit, stop on 3 s of silence and
-- stop on #; the recording's path and length as call variables and a
-- "voicemail.new" event (for a mailbox service to pick it up); confirmation.
-- Recordings land under the data directory's recordings/voicemail/.
--
-- argv[1]: prompt language, "en" (default) or "zh"
-- argv[2]: mailbox name (default: the number the caller dialled)
--
-- Try it (a 440 Hz tone stands in for the caller's voice; --keep keeps the file):
--   trunkd ivr test scripts/voicemail.lua --step "wait 5000" --step "tone 440 2000" \
--       --step "dtmf #" --step "wait 10000" --expect recorded --keep /tmp/vm
--   trunkd ivr test scripts/voicemail.lua --arg zh --step "wait 5000" --step "tone 440 2000" \
--       --step "wait 10000"          (no #: stops after 3 s of silence)

local lang = argv[1] == "zh" and "zh" or "en"
local function P(name) return lang .. "/ivr/" .. name .. ".wav" end

local MIN_SECONDS = 1.0 -- shorter than this is treated as no message

local mailbox = argv[2] or call.called
if mailbox == nil or mailbox == "" then mailbox = "default" end
mailbox = mailbox:gsub("[^%w_-]", "_")

call:answer()
call:set("ivr_path", "voicemail")
call:emit("ivr.progress", { node = "voicemail", input = "" })
call:play(P("leave-message"))

local file = string.format("voicemail/%s/%s-%d.wav", mailbox, (call.caller ~= "" and call.caller or "anonymous"), call.id)
local path, seconds = call:record { path = file, limit = 120, silence = 3, beep = true, terminators = "#" }
if not call:ready() then return end -- the caller hung up while recording: the message is kept

call:set("voicemail_file", path)
call:set("voicemail_seconds", string.format("%.1f", seconds))
if seconds < MIN_SECONDS then
  call:emit("ivr.progress", { node = "voicemail.empty", input = string.format("%.1f", seconds) })
  call:play(P("not-understood"))
else
  call:emit("voicemail.new", { mailbox = mailbox, caller = call.caller, path = path, seconds = string.format("%.1f", seconds) })
  call:emit("ivr.progress", { node = "voicemail.saved", input = string.format("%.1f", seconds) })
  call:play(P("message-saved"))
end
call:play(lang .. "/goodbye.wav")
call:hangup("NORMAL_CLEARING")
