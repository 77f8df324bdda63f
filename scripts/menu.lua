-- menu.lua: a main menu (trunkd's native `call` API).
--
-- Shows: call:ask with retries, an invalid/timeout prompt and a validator;
-- branching to a self-service flow (the balance enquiry of balance.lua, inlined:
-- scripts run sandboxed, without require) or to an agent with call:bridge,
-- handling a failed bridge; call variables (ivr_path, ivr_result) and an
-- "ivr.progress" event at every node, for CDRs and live dashboards.
--
--   1            -> balance enquiry: account number, balance read out, goodbye
--   0            -> "connecting you to an agent", bridge to argv[2]/argv[3];
--                   no agent: "no agent is available", hang up NORMAL_CIRCUIT_CONGESTION
--   3 bad tries  -> goodbye, hang up (a wrong key or 5 s of silence is a bad try)
--
-- argv[1]: prompt language, "en" (default) or "zh"
-- argv[2]: the span or line group the agents are on (default "agents")
-- argv[3]: the number to dial on it (default: none)
--
-- Try it (from the repo root; the test runner has no "agents" group, so that bridge
-- fails; `--arg en --arg phones` bridges to the runner's answering phones instead):
--   trunkd ivr test scripts/menu.lua --step "wait 1000" --step "dtmf 1" \
--       --step "wait 1000" --step "dtmf 1234#" --step "wait 20000" \
--       --expect var:ivr_result=balance-read --expect played=en/say/yuan.wav
--   trunkd ivr test scripts/menu.lua --arg zh --step "wait 1000" --step "dtmf 0" \
--       --step "wait 20000" --expect played=zh/ivr/no-agent.wav --expect cause=NORMAL_CIRCUIT_CONGESTION
--   trunkd ivr test scripts/menu.lua --step "wait 60000" --expect var:menu_timeouts=3 --expect played=en/goodbye.wav
--
-- The simulated caller hangs up after its last step: end with a long enough "wait".

local lang = argv[1] == "zh" and "zh" or "en"
local agents = argv[2] or "agents"
local agent_number = argv[3] or ""

local function P(name) return lang .. "/ivr/" .. name .. ".wav" end
local GOODBYE = lang .. "/goodbye.wav"
local INVALID = lang .. "/invalid.wav"

-- The path through the IVR so far, as a call variable, plus an event per node.
local path = {}
local function node(name, input)
  path[#path + 1] = name
  call:set("ivr_path", table.concat(path, ">"))
  call:emit("ivr.progress", { node = name, input = input or "" })
end

local function goodbye(result, cause)
  node("goodbye", result)
  call:set("ivr_result", result)
  call:play(GOODBYE)
  call:hangup(cause or "NORMAL_CLEARING")
end

-- The self-service balance enquiry (the same flow as balance.lua).
local BALANCES = { ["1234"] = "1024.50", ["5678"] = "36.05", ["20261123"] = "-12.30" }

local function balance_flow()
  local account = call:ask {
    prompt = P("account"), invalid = INVALID,
    min = 4, max = 8, tries = 3, timeout = 8000, interdigit = 4000, terminators = "#",
    valid = "^[0-9]{4,8}$",
  }
  call:flush_digits()
  if not account then return goodbye("balance-no-input") end
  local balance = BALANCES[account]
  call:set("account", account)
  if not balance then
    node("balance.unknown", account)
    call:play(P("no-account"))
    return goodbye("balance-unknown-account")
  end
  node("balance.read", account)
  call:set("balance", balance)
  call:play(P("balance-is"))
  call:say("amount", balance)
  goodbye("balance-read")
end

local function agent_flow()
  call:play(P("agent"))
  local ok, connected, cause = pcall(call.bridge, call, { group = agents, number = agent_number, timeout = 20 })
  if not ok then -- the bridge request itself was refused (an error, not a failed call)
    call:log("warning", "bridge to", agents, "failed:", tostring(connected))
    connected, cause = false, "ERROR"
  end
  call:set("bridge_cause", tostring(cause))
  if connected then
    -- The agent hung up (or the caller did, then we are no longer ready).
    node("agent.done", tostring(cause))
    call:set("ivr_result", "agent")
    return
  end
  node("agent.unavailable", tostring(cause))
  call:set("ivr_result", "no-agent")
  call:play(P("no-agent"))
  call:hangup("NORMAL_CIRCUIT_CONGESTION")
end

---------------------------------------------------------------- main
call:answer()
call:set("lang", lang) -- call:say reads values in this language
node("menu")

local TRIES = 3
local bad = 0 -- wrong keys; the other failed tries were timeouts
local choice = call:ask {
  prompt = P("menu"),
  invalid = P("not-understood"), -- after a wrong key and after silence
  max = 1, tries = TRIES, timeout = 5000, terminators = "",
  valid = function(d)
    if d == "1" or d == "0" then return true end
    bad = bad + 1
    call:emit("ivr.progress", { node = "menu.invalid", input = d })
    return false
  end,
}

if choice == "1" then
  node("balance", choice)
  balance_flow()
elseif choice == "0" then
  node("agent", choice)
  agent_flow()
elseif call:ready() then
  call:set("menu_invalid_keys", tostring(bad))
  call:set("menu_timeouts", tostring(TRIES - bad))
  goodbye("menu-max-tries")
end
