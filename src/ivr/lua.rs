//! A Lua script as a call application: one sandboxed Lua 5.4 state per call, the script
//! running as a coroutine that yields on every blocking call (see prelude.lua).
//!
//! Limits per call: a memory cap (allocation fails with a Lua error), and an instruction
//! budget per slice between two waits on the call (an endless loop is stopped with a clear
//! error). Any script error is logged with file:line, the caller hears the fallback
//! announcement and the call is cleared: the daemon never notices.

use crate::core::app::{
    AppCmd, AppEvent, Application, CallInfo, CollectSpec, DialTarget, LogLevel, OpResult, PlayControl,
};
use crate::core::app::{PlayItem, RecordSpec};
use crate::dsp::tone::{ToneKind, ToneSpec};
use crate::signalling::{Cause, Presentation};
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Thread, ThreadStatus, Value, VmState};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const PRELUDE: &str = include_str!("prelude.lua");
/// How often the instruction hook runs (instructions); the budget is checked then.
const HOOK_EVERY: u32 = 1000;
/// After the call is gone, a script may still run this many blocking calls (each returns
/// at once) to finish its cleanup before it is stopped.
const AFTER_HANGUP_STEPS: usize = 200;

/// Per-call limits and switches, from `[ivr]` in the config.
#[derive(Clone, Debug)]
pub struct Limits {
    pub memory_bytes: usize,
    /// Instructions a script may run between two waits on the call.
    pub instructions: u64,
    pub allow_os: bool,
    pub allow_io: bool,
    /// Played before hanging up when a script fails.
    pub fallback: Option<PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 8 << 20, instructions: 20_000_000, allow_os: false, allow_io: false, fallback: None }
    }
}

/// Why a script could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{0}")]
    Lua(#[from] mlua::Error),
}

/// What the daemon-side primitives share with the driver.
#[derive(Default)]
struct Shared {
    info: CallInfo,
    out: Vec<AppCmd>,
    answered: bool,
    bridged: bool,
    hung_up: Option<Cause>,
    auto_hangup: bool,
    input_callback: Option<(String, Option<String>)>,
    hangup_hook: Option<(String, Option<String>)>,
    /// Variables as the script sees them (its own sets take effect at once).
    vars: BTreeMap<String, String>,
}

fn lock(s: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// One call's script.
pub struct LuaApp {
    name: String,
    lua: Lua,
    thread: Thread,
    shared: Arc<Mutex<Shared>>,
    budget: Arc<AtomicU64>,
    /// The script's line at the last instruction hook.
    last_line: Arc<AtomicU32>,
    limits: Limits,
    finished: bool,
}

impl LuaApp {
    /// Compiles `source` (named `name` in errors, e.g. `menu.lua`) in a fresh sandbox.
    /// `args` become the global `argv` (argv[0] is the script name, as in FreeSWITCH).
    pub fn new(name: &str, source: &str, args: &[String], limits: Limits) -> Result<LuaApp, ScriptError> {
        let mut libs = StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH;
        if limits.allow_os {
            libs |= StdLib::OS;
        }
        if limits.allow_io {
            libs |= StdLib::IO | StdLib::PACKAGE;
        }
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        lua.set_memory_limit(limits.memory_bytes)?;
        let budget = Arc::new(AtomicU64::new(limits.instructions));
        let last_line = Arc::new(AtomicU32::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let (b, ll, k) = (budget.clone(), last_line.clone(), killed.clone());
        let max = limits.instructions;
        let chunk = format!("@{name}");
        let triggers = HookTriggers::new().every_nth_instruction(HOOK_EVERY).every_line();
        lua.set_global_hook(triggers, move |_, debug| {
            if debug.event() == mlua::DebugEvent::Line {
                // Remember where the script is, for errors that carry no position (memory).
                if debug.source().source.as_deref() == Some(chunk.as_str()) {
                    ll.store(debug.current_line().unwrap_or(0) as u32, Ordering::Relaxed);
                }
                return Ok(VmState::Continue);
            }
            let left = b.load(Ordering::Relaxed);
            if left < u64::from(HOOK_EVERY) {
                b.store(0, Ordering::Relaxed);
                // The sandbox's pcall/xpcall/coroutine.resume rethrow once this is set, so
                // a script cannot catch its way past the limit.
                k.store(true, Ordering::Relaxed);
                return Err(mlua::Error::RuntimeError(format!(
                    "instruction limit: more than {max} instructions without waiting on the call (an endless loop?)"
                )));
            }
            b.store(left - u64::from(HOOK_EVERY), Ordering::Relaxed);
            Ok(VmState::Continue)
        })?;
        let shared = Arc::new(Mutex::new(Shared { auto_hangup: true, ..Shared::default() }));
        install_primitives(&lua, &shared, &killed)?;
        lua.load(PRELUDE).set_name("@prelude.lua").exec()?;
        let argv = lua.create_table()?;
        argv.raw_set(0, name)?;
        for (i, a) in args.iter().enumerate() {
            argv.raw_set(i + 1, a.as_str())?;
        }
        lua.globals().set("argv", argv)?;
        if !limits.allow_io {
            lua.globals().set("require", Value::Nil)?;
        }
        if let Ok(os) = lua.globals().get::<Table>("os") {
            // Even an operator who allows `os` does not want a script to end the daemon.
            os.set("exit", Value::Nil)?;
        }
        let func = lua.load(source).set_name(format!("@{name}")).set_mode(mlua::ChunkMode::Text).into_function()?;
        let thread = lua.create_thread(func)?;
        Ok(LuaApp { name: name.to_string(), lua, thread, shared, budget, last_line, limits, finished: false })
    }

    /// Bytes the script's Lua state holds now (for capacity planning).
    pub fn memory_used(&self) -> usize {
        self.lua.used_memory()
    }

    fn refill(&self) {
        self.budget.store(self.limits.instructions, Ordering::Relaxed);
    }

    /// Runs the script until it waits on the call, ends or fails.
    fn resume(&mut self, mut arg: Value, out: &mut Vec<AppCmd>) {
        let mut after_hangup = 0;
        loop {
            if self.finished {
                return;
            }
            self.refill();
            let r = self.thread.resume::<Value>(arg);
            out.append(&mut lock(&self.shared).out);
            match r {
                Err(e) => return self.fail(e, out),
                Ok(v) if self.thread.status() != ThreadStatus::Resumable => {
                    drop(v);
                    return self.finish(out);
                }
                Ok(Value::Table(req)) => {
                    if lock(&self.shared).hung_up.is_some() {
                        after_hangup += 1;
                        if after_hangup > AFTER_HANGUP_STEPS {
                            self.finished = true;
                            return;
                        }
                        arg = self.result(&[("kind", "hangup".into())]);
                        continue;
                    }
                    match self.request(&req) {
                        Ok(cmds) => {
                            out.extend(cmds);
                            return;
                        }
                        Err(msg) => arg = self.result(&[("kind", "error".into()), ("error", msg)]),
                    }
                }
                Ok(other) => {
                    let msg = format!("coroutine.yield from the script's main body (got {})", other.type_name());
                    arg = self.result(&[("kind", "error".into()), ("error", msg)]);
                }
            }
        }
    }

    fn result(&self, fields: &[(&str, String)]) -> Value {
        match self.lua.create_table() {
            Ok(t) => {
                for (k, v) in fields {
                    let _ = t.raw_set(*k, v.as_str());
                }
                Value::Table(t)
            }
            Err(_) => Value::Nil,
        }
    }

    fn finish(&mut self, out: &mut Vec<AppCmd>) {
        self.finished = true;
        let s = lock(&self.shared);
        if s.auto_hangup && s.hung_up.is_none() {
            out.push(AppCmd::Hangup(Cause::NormalClearing));
        }
    }

    fn fail(&mut self, e: mlua::Error, out: &mut Vec<AppCmd>) {
        self.finished = true;
        let msg = self.locate(&e);
        tracing::warn!(script = %self.name, "script error: {msg}");
        out.push(AppCmd::Log { level: LogLevel::Error, message: format!("script error: {msg}") });
        if lock(&self.shared).hung_up.is_some() {
            return;
        }
        if let Some(f) = &self.limits.fallback {
            out.push(AppCmd::Answer);
            out.push(AppCmd::Play { items: vec![PlayItem::File(f.clone())], interrupt: String::new() });
        }
        out.push(AppCmd::Hangup(Cause::TemporaryFailure));
    }

    /// The error's first line, with `file:line` in front when the message has none: found
    /// in the traceback, or else the line the instruction hook last saw.
    fn locate(&self, e: &mlua::Error) -> String {
        let first = first_line(e);
        let tag = format!("{}:", self.name);
        if first.starts_with(&tag) {
            return first;
        }
        let full = e.to_string();
        let from_trace = full.match_indices(&tag).find_map(|(i, _)| {
            let rest = &full[i + tag.len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            (!digits.is_empty()).then_some(digits)
        });
        let hook_line = self.last_line.load(Ordering::Relaxed);
        match from_trace.or((hook_line > 0).then(|| hook_line.to_string())) {
            Some(line) => format!("{tag}{line}: {first}"),
            None => format!("{tag} {first}"),
        }
    }

    /// Turns a yielded request into commands for the call core.
    fn request(&self, req: &Table) -> Result<Vec<AppCmd>, String> {
        let op: String = req.get("op").map_err(|_| "request without op".to_string())?;
        let watch: bool = req.get::<Option<bool>>("watch").ok().flatten().unwrap_or(false);
        let watching = watch && lock(&self.shared).input_callback.is_some();
        let ms = |k: &str, d: u64| -> Duration {
            let v: Option<f64> = req.get(k).ok().flatten();
            Duration::from_millis(
                v.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v.min(86_400_000.0) as u64).unwrap_or(d),
            )
        };
        let secs = |k: &str| -> Option<Duration> {
            let v: Option<f64> = req.get(k).ok().flatten();
            v.filter(|v| v.is_finite() && *v > 0.0).map(|v| Duration::from_secs_f64(v.min(86_400.0)))
        };
        let text = |k: &str| -> String { req.get::<Option<String>>(k).ok().flatten().unwrap_or_default() };
        let op_cmd = match op.as_str() {
            "play" => {
                let items: Table = req.get("items").map_err(|_| "play: no items".to_string())?;
                let mut v = Vec::new();
                for it in items.sequence_values::<String>() {
                    v.push(play_item(&it.map_err(|_| "play: items must be strings".to_string())?)?);
                }
                AppCmd::Play { items: v, interrupt: text("interrupt") }
            }
            "collect" => {
                let max: Option<f64> = req.get("max").ok().flatten();
                AppCmd::Collect(CollectSpec {
                    max: max.filter(|m| *m >= 1.0).map(|m| m.min(128.0) as usize).unwrap_or(32),
                    terminators: text("terminators"),
                    first_timeout: ms("timeout", 5000),
                    inter_timeout: ms("interdigit", 3000),
                })
            }
            "record" => AppCmd::Record(RecordSpec {
                path: PathBuf::from(text("path")),
                limit: secs("limit").unwrap_or(Duration::from_secs(60)),
                silence_stop: secs("silence"),
                beep: req.get::<Option<bool>>("beep").ok().flatten().unwrap_or(true),
                terminators: text("terminators"),
            }),
            "sleep" => AppCmd::Sleep(ms("ms", 0)),
            "bridge" => {
                let group = text("group");
                if group.is_empty() {
                    return Err("bridge: no group".into());
                }
                AppCmd::Bridge(DialTarget {
                    group,
                    number: text("number"),
                    timeout: secs("timeout").unwrap_or(Duration::from_secs(30)),
                })
            }
            other => return Err(format!("unknown operation `{other}`")),
        };
        if text("path").contains("..") {
            return Err("record: the path may not contain `..`".into());
        }
        Ok(vec![AppCmd::WatchDigits(watching), op_cmd])
    }

    /// Converts an operation's result for the script.
    fn deliver(&self, r: &OpResult) -> Value {
        let s = |v: &str| v.to_string();
        match r {
            OpResult::Played { interrupted } => match interrupted {
                Some(d) => self.result(&[("kind", s("played")), ("digit", d.to_string())]),
                None => self.result(&[("kind", s("played"))]),
            },
            OpResult::Collected { digits, terminator, timed_out } => {
                let v = self.result(&[("kind", s("collected")), ("digits", digits.clone())]);
                if let Value::Table(t) = &v {
                    let _ = t.raw_set("timed_out", *timed_out);
                    if let Some(c) = terminator {
                        let _ = t.raw_set("terminator", c.to_string());
                    }
                }
                v
            }
            OpResult::Recorded { path, duration } => {
                let v = self.result(&[("kind", s("recorded")), ("path", path.display().to_string())]);
                if let Value::Table(t) = &v {
                    let _ = t.raw_set("seconds", duration.as_secs_f64());
                }
                v
            }
            OpResult::Slept => self.result(&[("kind", s("slept"))]),
            OpResult::BridgeEnded { cause, connected } => {
                lock(&self.shared).bridged = false;
                let v = self.result(&[("kind", s("bridge")), ("cause", cause.name().to_string())]);
                if let Value::Table(t) = &v {
                    let _ = t.raw_set("connected", *connected);
                }
                v
            }
            OpResult::Failed(m) => self.result(&[("kind", s("error")), ("error", m.clone())]),
        }
    }

    /// Calls a global function by name (input callback, hangup hook) outside the coroutine.
    fn call_global(&self, name: &str, args: impl mlua::IntoLuaMulti) -> Result<Option<String>, mlua::Error> {
        self.refill();
        let f: Function = self
            .lua
            .globals()
            .get(name)
            .map_err(|_| mlua::Error::RuntimeError(format!("`{name}` is not a global function")))?;
        let r: Value = f.call(args)?;
        Ok(match r {
            Value::String(s) => Some(s.to_string_lossy()),
            Value::Boolean(true) => Some("true".into()),
            _ => None,
        })
    }

    fn on_digit(&mut self, d: char, out: &mut Vec<AppCmd>) {
        let Some((func, arg)) = lock(&self.shared).input_callback.clone() else { return };
        let args = (|| -> mlua::Result<_> {
            let session: Value = self.lua.globals().get("session")?;
            let ev = self.lua.create_table()?;
            ev.raw_set("digit", d.to_string())?;
            ev.raw_set("duration", 100)?;
            let a: Value = match &arg {
                Some(n) => self.lua.globals().get(n.as_str())?,
                None => Value::Nil,
            };
            Ok((session, "dtmf", ev, a))
        })();
        let verb = match args.and_then(|a| self.call_global(&func, a)) {
            Ok(v) => v,
            Err(e) => {
                out.push(AppCmd::Log {
                    level: LogLevel::Error,
                    message: format!("input callback: {}", first_line(&e)),
                });
                Some("break".into())
            }
        };
        out.append(&mut lock(&self.shared).out);
        if let Some(cmd) = verb.as_deref().and_then(input_verb) {
            out.push(cmd);
        }
    }

    /// The call is gone: run the hangup hook, then let the script finish its cleanup (its
    /// logs, events and variables still count; calls on the line are ignored).
    fn on_hangup(&mut self, cause: Cause, out: &mut Vec<AppCmd>) {
        let hook = {
            let mut s = lock(&self.shared);
            s.hung_up = Some(cause);
            s.hangup_hook.clone()
        };
        if let Some((func, arg)) = hook {
            let args = (|| -> mlua::Result<_> {
                let session: Value = self.lua.globals().get("session")?;
                let a: Value = match &arg {
                    Some(n) => self.lua.globals().get(n.as_str())?,
                    None => Value::Nil,
                };
                Ok((session, "hangup", a))
            })();
            match args.and_then(|a| self.call_global(&func, a)) {
                Ok(Some(v)) if v == "exit" || v == "die" => self.finished = true,
                Ok(_) => {}
                Err(e) => {
                    let msg = format!("hangup hook: {}", self.locate(&e));
                    tracing::warn!(script = %self.name, "{msg}");
                    out.push(AppCmd::Log { level: LogLevel::Error, message: msg });
                }
            }
            out.append(&mut lock(&self.shared).out);
        }
        // Let the script finish its own cleanup; every blocking call now returns at once.
        if !self.finished && self.thread.status() == ThreadStatus::Resumable {
            let arg = self.result(&[("kind", "hangup".into())]);
            self.resume(arg, out);
        }
        self.finished = true;
    }
}

impl Application for LuaApp {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_event(&mut self, event: AppEvent, call: &CallInfo, out: &mut Vec<AppCmd>) {
        {
            let mut s = lock(&self.shared);
            for (k, v) in &call.vars {
                s.vars.entry(k.clone()).or_insert_with(|| v.clone());
            }
            s.answered |= call.answered;
            s.info = call.clone();
        }
        match event {
            AppEvent::Start => self.resume(Value::Nil, out),
            AppEvent::Done(r) => {
                let v = self.deliver(&r);
                self.resume(v, out)
            }
            AppEvent::Digit(d) => self.on_digit(d, out),
            AppEvent::Hangup(cause) => self.on_hangup(cause, out),
        }
    }
}

/// An input callback's return value as a command (None: keep going).
fn input_verb(v: &str) -> Option<AppCmd> {
    let num = |s: &str| s.trim().parse::<i32>().ok();
    match v {
        "" | "true" => None,
        "pause" => Some(AppCmd::PlayControl(PlayControl::Pause)),
        "restart" => Some(AppCmd::PlayControl(PlayControl::Restart)),
        _ => {
            if let Some(n) = v.strip_prefix("seek:").and_then(num) {
                Some(AppCmd::PlayControl(PlayControl::Seek(n)))
            } else if let Some(n) = v.strip_prefix("volume:").and_then(num) {
                Some(AppCmd::PlayControl(PlayControl::Volume(n)))
            } else if v.starts_with("speed:") {
                // Time-stretching is not implemented; keep playing at normal speed.
                None
            } else {
                // "break", "stop", "truncate" and any other string end the operation.
                Some(AppCmd::StopOp)
            }
        }
    }
}

/// `file.wav`, `tone:busy:500`, `silence:300`, `dtmf:123#`, `sine:440:1000[:480]`.
fn play_item(s: &str) -> Result<PlayItem, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let ms = |v: Option<&&str>| -> Result<Duration, String> {
        v.and_then(|x| x.parse::<u64>().ok())
            .filter(|x| *x <= 3_600_000)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("`{s}`: expected a duration in ms"))
    };
    match parts.as_slice() {
        ["silence", ..] => Ok(PlayItem::Silence(ms(parts.get(1))?)),
        ["dtmf", d] if !d.is_empty() && d.chars().all(|c| "0123456789*#ABCD".contains(c)) => {
            Ok(PlayItem::Dtmf(d.to_string()))
        }
        ["tone", kind, ..] => {
            let k = match *kind {
                "dial" => ToneKind::Dial,
                "busy" => ToneKind::Busy,
                "ringback" => ToneKind::Ringback,
                "congestion" => ToneKind::Congestion,
                "call-waiting" | "callwaiting" => ToneKind::CallWaiting,
                "beep" => ToneKind::Beep,
                _ => return Err(format!("`{s}`: unknown tone (dial, busy, ringback, congestion, call-waiting, beep)")),
            };
            Ok(PlayItem::Tone(k, ms(parts.get(2))?))
        }
        ["sine", f1, on, rest @ ..] => {
            let hz = |x: &str| x.parse::<f32>().ok().filter(|f| (50.0..=3800.0).contains(f));
            let mut freqs = vec![(hz(f1).ok_or_else(|| format!("`{s}`: frequency must be 50..=3800 Hz"))?, -10.0)];
            if let Some(f2) = rest.first() {
                freqs.push((hz(f2).ok_or_else(|| format!("`{s}`: frequency must be 50..=3800 Hz"))?, -10.0));
            }
            let d = ms(Some(on))?;
            Ok(PlayItem::Spec(ToneSpec { freqs, cadence: vec![], repeat: true }, d))
        }
        _ if s.is_empty() => Err("empty prompt name".into()),
        _ if s.contains("..") => Err(format!("`{s}`: prompt paths may not contain `..`")),
        _ => Ok(PlayItem::File(PathBuf::from(s))),
    }
}

fn first_line(e: &mlua::Error) -> String {
    let s = e.to_string();
    // mlua appends a stack traceback; the first line says file:line and what happened.
    s.lines().next().unwrap_or("").trim_start_matches("runtime error: ").to_string()
}

fn presentation_name(p: Presentation) -> &'static str {
    match p {
        Presentation::Allowed => "allowed",
        Presentation::Restricted => "restricted",
        Presentation::Unavailable => "unavailable",
    }
}

/// The `__trunkd` table the prelude captures: immediate primitives (no yield).
fn install_primitives(lua: &Lua, shared: &Arc<Mutex<Shared>>, killed: &Arc<AtomicBool>) -> mlua::Result<()> {
    let t = lua.create_table()?;
    let k = killed.clone();
    t.set("killed", lua.create_function(move |_, ()| Ok(k.load(Ordering::Relaxed)))?)?;
    let sh = shared.clone();
    t.set(
        "info",
        lua.create_function(move |lua, ()| {
            let s = lock(&sh);
            let i = &s.info;
            let t = lua.create_table()?;
            t.set("id", i.id)?;
            t.set("device", i.device.as_str())?;
            t.set("caller", i.caller.number.reveal().as_str())?;
            t.set("caller_name", i.caller.name.as_ref().map(|n| n.reveal().clone()))?;
            t.set("presentation", presentation_name(i.caller.presentation))?;
            t.set("called", i.called.as_str())?;
            t.set("answered", s.answered)?;
            Ok(t)
        })?,
    )?;
    let sh = shared.clone();
    t.set("ready", lua.create_function(move |_, ()| Ok(lock(&sh).hung_up.is_none()))?)?;
    let sh = shared.clone();
    t.set("answered", lua.create_function(move |_, ()| Ok(lock(&sh).answered))?)?;
    let sh = shared.clone();
    t.set("bridged", lua.create_function(move |_, ()| Ok(lock(&sh).bridged))?)?;
    let sh = shared.clone();
    t.set("cause", lua.create_function(move |_, ()| Ok(lock(&sh).hung_up.map(|c| c.name()).unwrap_or("")))?)?;
    let sh = shared.clone();
    t.set(
        "get",
        lua.create_function(move |_, name: String| {
            let s = lock(&sh);
            let i = &s.info;
            let builtin = match name.as_str() {
                "caller_id_number" | "ani" => Some(i.caller.number.reveal().clone()),
                "caller_id_name" => i.caller.name.as_ref().map(|n| n.reveal().clone()),
                "destination_number" | "dnis" => Some(i.called.clone()),
                "uuid" | "call_uuid" => Some(i.id.to_string()),
                "channel_name" => Some(i.device.clone()),
                "hangup_cause" => s.hung_up.map(|c| c.name().to_string()),
                _ => None,
            };
            Ok(s.vars.get(&name).cloned().or(builtin))
        })?,
    )?;
    t.set(
        "regex",
        lua.create_function(|_, (pattern, subject): (String, String)| {
            let re = regex::Regex::new(&pattern)
                .map_err(|e| mlua::Error::RuntimeError(format!("bad regular expression `{pattern}`: {e}")))?;
            Ok(re.is_match(&subject))
        })?,
    )?;
    t.set(
        "say",
        lua.create_function(|lua, (kind, value, lang): (String, String, String)| {
            let kind: crate::ivr::say::SayKind =
                kind.parse().map_err(|e: crate::ivr::say::SayError| mlua::Error::RuntimeError(e.to_string()))?;
            let files =
                crate::ivr::say::say(&lang, kind, &value).map_err(|e| mlua::Error::RuntimeError(e.to_string()))?;
            let t = lua.create_table()?;
            for (i, f) in files.iter().enumerate() {
                t.raw_set(i + 1, f.display().to_string())?;
            }
            Ok(t)
        })?,
    )?;
    let sh = shared.clone();
    t.set(
        "lookup",
        // What the CRM said about the caller when the call arrived (the lookup runs before
        // routing, so a script never waits for it).
        lua.create_function(move |lua, ()| {
            let s = lock(&sh);
            let vars = &s.info.vars;
            let Some(class) = vars.get("crm_class") else {
                let why = match vars.get("crm_lookup").map(String::as_str) {
                    Some("timeout") => "the CRM did not answer in time",
                    Some("unavailable") => "no CRM is connected to this gateway",
                    _ => "no caller lookup was made for this call",
                };
                return Ok((Value::Nil, Value::String(lua.create_string(why)?)));
            };
            let t = lua.create_table()?;
            t.set("class", class.as_str())?;
            let customer = lua.create_table()?;
            for (k, v) in vars.iter() {
                if let Some(field) = k.strip_prefix("crm_customer_") {
                    customer.set(field, v.as_str())?;
                }
            }
            t.set("customer", customer)?;
            Ok((Value::Table(t), Value::Nil))
        })?,
    )?;
    t.set(
        "api",
        lua.create_function(|_, cmd: String| {
            Ok(match cmd.as_str() {
                "version" => format!("trunkd {}", env!("CARGO_PKG_VERSION")),
                _ => "trunkd is up".to_string(),
            })
        })?,
    )?;
    let sh = shared.clone();
    t.set(
        "cmd",
        lua.create_function(move |_, args: mlua::Variadic<Value>| {
            let mut s = lock(&sh);
            let arg = |i: usize| -> Option<String> {
                match args.get(i) {
                    Some(Value::String(v)) => Some(v.to_string_lossy()),
                    Some(Value::Integer(n)) => Some(n.to_string()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    Some(Value::Boolean(b)) => Some(b.to_string()),
                    _ => None,
                }
            };
            let what = arg(0).unwrap_or_default();
            if s.hung_up.is_some()
                && !matches!(what.as_str(), "log" | "set" | "emit" | "input_callback" | "hangup_hook" | "auto_hangup")
            {
                return Ok(());
            }
            match what.as_str() {
                "answer" => {
                    s.answered = true;
                    s.out.push(AppCmd::Answer);
                }
                "pre_answer" => s.out.push(AppCmd::PreAnswer),
                "ring" => s.out.push(AppCmd::Ring),
                "hangup" => {
                    let cause = match arg(1) {
                        None => Cause::NormalClearing,
                        Some(c) => Cause::from_name(&c).ok_or_else(|| {
                            mlua::Error::RuntimeError(format!(
                                "unknown hangup cause `{c}` (a Q.850 name like USER_BUSY or a number)"
                            ))
                        })?,
                    };
                    s.out.push(AppCmd::Hangup(cause));
                    s.hung_up = Some(cause);
                }
                "set" => {
                    let (Some(k), Some(v)) = (arg(1), arg(2)) else {
                        return Err(mlua::Error::RuntimeError("set: needs a name and a value".into()));
                    };
                    s.vars.insert(k.clone(), v.clone());
                    s.out.push(AppCmd::SetVar(k, v));
                }
                "flush" => s.out.push(AppCmd::FlushDigits),
                "log" => {
                    let level = match arg(1).unwrap_or_default().to_ascii_lowercase().as_str() {
                        "debug" => LogLevel::Debug,
                        "notice" => LogLevel::Notice,
                        "warning" | "warn" => LogLevel::Warning,
                        "err" | "error" | "crit" | "alert" => LogLevel::Error,
                        _ => LogLevel::Info,
                    };
                    let message = arg(2).unwrap_or_default().trim_end().to_string();
                    s.out.push(AppCmd::Log { level, message });
                }
                "emit" => {
                    let name = arg(1).unwrap_or_else(|| "custom".into());
                    let mut fields = BTreeMap::new();
                    if let Some(Value::Table(t)) = args.get(2) {
                        for (k, v) in t.clone().pairs::<String, Value>().flatten() {
                            fields.insert(k, v.to_string().unwrap_or_default());
                        }
                    }
                    s.out.push(AppCmd::Emit { name, fields });
                }
                "auto_hangup" => s.auto_hangup = !matches!(args.get(1), Some(Value::Boolean(false))),
                "input_callback" => s.input_callback = arg(1).map(|f| (f, arg(2))),
                "hangup_hook" => s.hangup_hook = arg(1).map(|f| (f, arg(2))),
                other => return Err(mlua::Error::RuntimeError(format!("unknown primitive `{other}`"))),
            }
            Ok(())
        })?,
    )?;
    lua.globals().set("__trunkd", t)?;
    Ok(())
}
