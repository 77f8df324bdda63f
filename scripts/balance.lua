-- balance.lua: self-service balance enquiry (trunkd's native `call` API).
--
-- Shows: call:ask with a regex validator (an account number of 4 to 8 digits,
-- ended with #), a lookup in a table, call:say("amount", ...) in the caller's
-- language, call variables and ivr.progress events along the way.
--
-- argv[1]: prompt language, "en" (default) or "zh".
--
-- Try it (from the repo root; accounts 1234, 5678 and 20261123 exist):
--   trunkd ivr test scripts/balance.lua --step "wait 1000" --step "dtmf 1234#" \
--       --step "wait 20000" --expect collected=1234 --expect var:balance=1024.50 --expect played=en/say/yuan.wav
--   trunkd ivr test scripts/balance.lua --arg zh --step "wait 1000" --step "dtmf 5678#" --step "wait 20000"
--   trunkd ivr test scripts/balance.lua --step "wait 1000" --step "dtmf 12#" --step "wait 40000"
--       (too short: asked again, three times)

local lang = argv[1] == "zh" and "zh" or "en"
local function P(name) return lang .. "/ivr/" .. name .. ".wav" end

-- The "database": account number -> balance in yuan (CNY, two decimals).
local BALANCES = {
  ["1234"] = "1024.50",
  ["5678"] = "36.05",
  ["20261123"] = "-12.30",
}

call:answer()
call:set("lang", lang) -- call:say reads in this language
call:set("ivr_path", "balance")
call:emit("ivr.progress", { node = "balance", input = "" })

local account = call:ask {
  prompt = P("account"),
  invalid = lang .. "/invalid.wav",
  min = 4, max = 8, tries = 3,
  timeout = 8000, interdigit = 4000, terminators = "#",
  valid = "^[0-9]{4,8}$",
}

call:flush_digits() -- a # pressed after the 8th digit is not left for later

if not account then
  call:set("balance_result", "no-input")
  call:emit("ivr.progress", { node = "goodbye", input = "" })
  call:play(lang .. "/goodbye.wav")
  call:hangup("NORMAL_CLEARING")
  return
end

call:set("account", account)
local balance = BALANCES[account]
if balance then
  call:set("balance", balance)
  call:set("balance_result", "found")
  call:emit("ivr.progress", { node = "balance.read", input = account })
  call:play(P("balance-is"))
  call:say("amount", balance)
else
  call:set("balance_result", "unknown-account")
  call:emit("ivr.progress", { node = "balance.unknown", input = account })
  call:play(P("no-account"))
end
call:play(lang .. "/goodbye.wav")
call:hangup("NORMAL_CLEARING")
