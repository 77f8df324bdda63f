-- trunkd IVR prelude: the native `call` API and the FreeSWITCH-compatible `session`,
-- built on a few primitives the daemon provides. Blocking operations yield the script's
-- coroutine with a request table; the call core runs the operation and resumes the
-- script with its result, so thousands of scripts wait without a thread each.
local T, yield = __trunkd, coroutine.yield
__trunkd = nil

local function block(req)
  local r = yield(req)
  if r.kind == "error" then error(r.error, 3) end
  return r
end

local function list(x)
  if type(x) == "table" then return x end
  return { x }
end

local ALL_DIGITS = "0123456789*#ABCD"

---------------------------------------------------------------- native API
call = setmetatable({}, { __index = function(_, k) return T.info()[k] end })

function call:answer() T.cmd("answer") end
function call:pre_answer() T.cmd("pre_answer") end
function call:ring() T.cmd("ring") end
function call:hangup(cause) T.cmd("hangup", cause) end
function call:ready() return T.ready() end
function call:set(name, value) T.cmd("set", name, value) end
function call:get(name) return T.get(name) end
function call:flush_digits() T.cmd("flush") end
function call:log(level, ...) T.cmd("log", level, table.concat({ ... }, " ")) end
function call:emit(name, fields) T.cmd("emit", name, fields or {}) end
function call:keep_open() T.cmd("auto_hangup", false) end

-- Ask the CRM who the caller is. Returns a table, or nil and why.
function call:lookup() return T.lookup() end

-- Play files / "tone:busy:500" / "silence:300" / "dtmf:123#"; returns the digit that
-- interrupted it (opts.interrupt lists the digits that may), or nil.
function call:play(items, opts)
  opts = opts or {}
  local r = block { op = "play", items = list(items), interrupt = opts.interrupt or "" }
  return r.digit
end

-- Collect digits: {max=, terminators="#", timeout=ms (first digit), interdigit=ms}.
-- Returns digits, the terminator pressed (or nil), and whether it timed out.
function call:collect(o)
  o = o or {}
  local r = block { op = "collect", max = o.max or 32, terminators = o.terminators or "#",
    timeout = o.timeout or 5000, interdigit = o.interdigit or o.timeout or 3000 }
  return r.digits or "", r.terminator, r.timed_out or false
end

-- Play a prompt and collect a valid answer, with retries:
-- {prompt=, invalid=, min=1, max=, tries=3, timeout=, interdigit=, terminators="#",
--  valid=regex or function(digits)}. Returns the digits, or nil after the last try.
function call:ask(o)
  for _ = 1, o.tries or 3 do
    if not T.ready() then return nil end
    if o.prompt then call:play(o.prompt, { interrupt = ALL_DIGITS }) end
    local d = call:collect { max = o.max, terminators = o.terminators, timeout = o.timeout, interdigit = o.interdigit }
    local ok = #d >= (o.min or 1) and #d <= (o.max or 32)
    if ok and o.valid then
      if type(o.valid) == "function" then ok = o.valid(d) and true or false else ok = T.regex(o.valid, d) end
    end
    if ok then return d end
    if o.invalid and T.ready() then call:play(o.invalid) end
  end
  return nil
end

-- Record the caller: {path=, limit=seconds, silence=seconds, beep=true, terminators="#"}.
-- Returns the file's path and its length in seconds.
function call:record(o)
  o = o or {}
  local r = block { op = "record", path = o.path or ("message-" .. call.id .. ".wav"), limit = o.limit or 60,
    silence = o.silence, beep = o.beep ~= false, terminators = o.terminators or "#" }
  return r.path, r.seconds or 0
end

function call:sleep(ms) block { op = "sleep", ms = ms } end

-- Say a value from the prompt set: kind = number | digits | amount | date | time.
function call:say(kind, value, lang, opts)
  return call:play(T.say(kind, tostring(value), lang or T.get("lang") or "en"), opts)
end

-- Bridge to a new call: "group/number" or {group=, number=, timeout=seconds}.
-- Returns whether it connected and the cause it ended with.
function call:bridge(to)
  if type(to) == "string" then
    local g, n = to:match("^([^/]+)/(.*)$")
    if not g then error("call:bridge: expected \"group/number\", got \"" .. to .. "\"", 2) end
    to = { group = g, number = n }
  end
  local r = block { op = "bridge", group = to.group, number = to.number or "", timeout = to.timeout or 30 }
  return r.connected or false, r.cause or T.cause()
end

trunkd = {
  log = function(level, ...) T.cmd("log", level, table.concat({ ... }, " ")) end,
  sleep = function(ms) block { op = "sleep", ms = ms } end,
}
print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  T.cmd("log", "info", table.concat(parts, "\t"))
end

---------------------------------------------------------------- FreeSWITCH compatibility
-- Semantics after FreeSWITCH's switch_cpp.h / freeswitch_lua.cpp: where a call has no
-- meaning here, it raises an error that names it.
session = {}
local S = session

local function unsupported(name, why)
  return function() error(name .. " is not supported by trunkd" .. (why and (": " .. why) or ""), 2) end
end

-- FreeSWITCH file strings, as a list of play items: plain paths, silence_stream://MS,
-- tone_stream://%(on,off,f1[,f2]) (once) or tone_stream://DIGITS.
local function fs_items(f)
  local ms = f:match("^silence_stream://(%d+)")
  if ms then return { "silence:" .. ms } end
  local ts = f:match("^tone_stream://(.*)$")
  if ts then
    local on, off, f1, f2 = ts:match("^%%%((%d+),(%d+),([%d%.]+),?([%d%.]*)%)")
    if on then return { "sine:" .. f1 .. ":" .. on .. (f2 ~= "" and (":" .. f2) or ""), "silence:" .. off } end
    if ts:match("^[%d%*#ABCD]+$") then return { "dtmf:" .. ts } end
    error("tone_stream \"" .. ts .. "\": trunkd plays %(on,off,freq[,freq]) or DTMF digits", 3)
  end
  if f:match("^phrase:") then error("phrase: prompts are not supported by trunkd; use session:say or a file", 3) end
  return { f }
end

function S:answer() T.cmd("answer"); return 0 end
function S:preAnswer() T.cmd("pre_answer") end
function S:hangup(cause) T.cmd("hangup", cause) end
function S:ready() return T.ready() end
function S:answered() return T.answered() end
function S:bridged() return T.bridged() end
function S:mediaReady() return T.ready() end
function S:getVariable(n) return T.get(n) end
function S:setVariable(n, v) T.cmd("set", n, v) end
function S:get_uuid() return tostring(T.info().id) end
function S:hangupCause() return T.cause() end
function S:getState() return T.ready() and "CS_EXECUTE" or "CS_HANGUP" end
function S:flushDigits() T.cmd("flush") end
function S:flushEvents() end
function S:consoleLog(level, msg) T.cmd("log", level, msg) end
function S:setAutoHangup(b) T.cmd("auto_hangup", b and true or false) end
function S:setInputCallback(fn, arg) T.cmd("input_callback", fn, arg) end
function S:unsetInputCallback() T.cmd("input_callback") end
function S:setHangupHook(fn, arg) T.cmd("hangup_hook", fn, arg) end

-- Input callbacks (by global name) see digits during streamFile, sleep and recordFile.
function S:streamFile(file) block { op = "play", items = fs_items(file), interrupt = "", watch = true } end
function S:sleep(ms) block { op = "sleep", ms = ms, watch = true } end

function S:getDigits(max, terminators, timeout, interdigit)
  local r = block { op = "collect", max = max, terminators = terminators or "", timeout = timeout or 5000,
    interdigit = interdigit or timeout or 5000 }
  return r.digits or ""
end

function S:read(min, max, prompt, timeout, terminators, digit_timeout)
  if prompt and prompt ~= "" then block { op = "play", items = fs_items(prompt), interrupt = ALL_DIGITS } end
  return S:getDigits(max, terminators, timeout, digit_timeout or timeout)
end

function S:playAndGetDigits(min, max, tries, timeout, terminators, prompt, invalid, regex, var, digit_timeout, transfer_on_failure)
  for _ = 1, tries or 1 do
    if not T.ready() then break end
    if prompt and prompt ~= "" then block { op = "play", items = fs_items(prompt), interrupt = ALL_DIGITS } end
    local d = S:getDigits(max, terminators, timeout, digit_timeout or timeout)
    if #d >= min and #d <= max and (regex == nil or regex == "" or T.regex(regex, d)) then
      if var and var ~= "" then T.cmd("set", var, d) end
      return d
    end
    if invalid and invalid ~= "" and T.ready() then block { op = "play", items = fs_items(invalid), interrupt = "" } end
  end
  if transfer_on_failure and transfer_on_failure ~= "" then
    T.cmd("log", "warning", "playAndGetDigits: transfer_on_failure is not supported; returning \"\"")
  end
  return ""
end

function S:recordFile(file, time_limit_s, silence_threshold, silence_secs)
  block { op = "record", path = file, limit = time_limit_s or 60, silence = (silence_secs and silence_secs > 0) and silence_secs or nil,
    beep = false, terminators = "", watch = true }
  return true
end

function S:say(text, lang, kind, _method)
  local k = ({ number = "number", pronounced = "number", items = "digits", iterated = "digits",
    currency = "amount", short_date_time = "date", current_date = "date", current_time = "time" })[kind] or kind
  call:say(k, text, (lang or "en"):sub(1, 2))
end
S.sayPhrase = unsupported("session:sayPhrase", "phrase macros; use session:say or streamFile")
S.transfer = unsupported("session:transfer", "use a route or session:execute(\"bridge\", \"group/number\")")
S.collectDigits = function(self, timeout) return S:getDigits(1, "", timeout) end

function S:execute(app, data)
  data = data or ""
  if app == "playback" then return S:streamFile(data)
  elseif app == "sleep" then return S:sleep(tonumber(data) or 0)
  elseif app == "answer" then return S:answer()
  elseif app == "pre_answer" then return S:preAnswer()
  elseif app == "hangup" then return S:hangup(data ~= "" and data or nil)
  elseif app == "set" then
    local k, v = data:match("^([^=]+)=(.*)$")
    if not k then error("execute(\"set\"): expected name=value", 2) end
    return S:setVariable(k, v)
  elseif app == "bridge" then
    local ok = call:bridge(data)
    return ok
  end
  error("session:execute(\"" .. tostring(app) .. "\") is not supported by trunkd (supported: playback, sleep, answer, pre_answer, hangup, set, bridge)", 2)
end

freeswitch = {
  consoleLog = function(level, msg) T.cmd("log", level, msg) end,
  msleep = function(ms) block { op = "sleep", ms = ms } end,
  Session = unsupported("freeswitch.Session", "originate with call:bridge from a running call"),
  API = function()
    return { executeString = function(_, cmd)
      local c = tostring(cmd):match("^%s*(%S+)")
      if c == "uptime" or c == "version" then return T.api(c) end
      error("freeswitch.API():executeString(\"" .. tostring(cmd) .. "\") is not supported by trunkd (supported: uptime, version)", 2)
    end, execute = function(self, c, a) return self:executeString(c .. " " .. (a or "")) end }
  end,
  Event = function(etype, subclass)
    local ev = { headers = {} }
    function ev:addHeader(k, v) self.headers[k] = tostring(v) end
    function ev:addBody(b) self.headers["body"] = tostring(b) end
    function ev:getHeader(k) return self.headers[k] end
    function ev:fire() T.cmd("emit", subclass or etype, self.headers) end
    return ev
  end,
}

-- The sandbox: past the instruction limit, errors cannot be caught any more.
local rawpcall, rawxpcall, rawresume = pcall, xpcall, coroutine.resume
local function rethrow(ok, ...)
  if not ok and T.killed() then error((...), 0) end
  return ok, ...
end
pcall = function(f, ...) return rethrow(rawpcall(f, ...)) end
xpcall = function(f, h, ...) return rethrow(rawxpcall(f, h, ...)) end
coroutine.resume = function(co, ...) return rethrow(rawresume(co, ...)) end

-- The sandbox: text chunks only (no bytecode), no files.
local rawload = load
load = function(chunk, name, _mode, env) return rawload(chunk, name, "t", env) end
loadstring = load
dofile = nil
loadfile = nil
if string then string.dump = nil end
