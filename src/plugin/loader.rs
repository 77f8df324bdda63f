//! Loads one routing plugin (`trunkd_plugin.h`, ABI v1) and calls it. All of the plugin
//! boundary's `unsafe` lives here.
//!
//! This code runs only inside `trunkd plugin-host`, a process of its own per plugin: a
//! plugin that dereferences NULL, loops forever or scribbles memory takes down that
//! process, never the daemon (see `host.rs`, `chain.rs`).

use std::ffi::{c_char, c_void, CStr};
use std::path::Path;

use libloading::Library;
use trunkd_plugin::abi::{
    self, TrunkdBuf, TrunkdCall, TrunkdDecision, TrunkdEvent, TrunkdPluginV1, TrunkdStr, TrunkdVar,
};

use crate::core::router::{Advice, RouteQuery};
use crate::signalling::Presentation;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("cannot load: {0}")]
    Open(String),
    #[error("no `trunkd_plugin_entry` symbol: not a trunkd plugin ({0})")]
    NoEntry(String),
    #[error("trunkd_plugin_entry returned NULL")]
    NullEntry,
    #[error(
        "plugin ABI version {found}, this trunkd speaks version {expected}: rebuild it against plugins/trunkd_plugin.h"
    )]
    AbiVersion { found: u32, expected: u32 },
    #[error("the plugin's vtable is {found} bytes, ABI v1 needs at least {needed}")]
    VtableSize { found: u32, needed: usize },
    #[error("the plugin's vtable lacks {0}")]
    Missing(&'static str),
    #[error("init failed: {0}")]
    Init(String),
}

/// A loaded, initialised plugin instance.
pub struct Loaded {
    vt: TrunkdPluginV1,
    instance: *mut c_void,
    pub name: String,
    pub version: String,
    // Dropped last: the vtable's code lives in the library.
    _lib: Library,
}

/// Reads a NUL-terminated static string of the plugin.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives as long as the library.
unsafe fn static_str(p: *const c_char) -> Option<String> {
    // SAFETY: per the function's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn s(v: &str) -> TrunkdStr {
    TrunkdStr { ptr: v.as_ptr().cast(), len: v.len() }
}

/// What a plugin wrote into one of our buffers, if it is well formed.
fn read_buf(b: &TrunkdBuf, what: &str) -> Result<String, String> {
    let len = b.len as usize;
    if len > abi::BUF_CAP {
        return Err(format!("{what}: length {len} over the capacity {}", abi::BUF_CAP));
    }
    let bytes: Vec<u8> = b.buf[..len].iter().map(|c| *c as u8).collect();
    String::from_utf8(bytes).map_err(|_| format!("{what}: not UTF-8"))
}

/// Turns a filled decision into advice, refusing anything malformed.
pub fn read_decision(d: &TrunkdDecision) -> Result<Advice, String> {
    let target = || read_buf(&d.target, "target");
    match d.action {
        abi::NO_OPINION => Ok(Advice::NoOpinion),
        abi::SCRIPT => {
            let argc = d.argc as usize;
            if argc > abi::MAX_ARGS {
                return Err(format!("argc {argc} over {}", abi::MAX_ARGS));
            }
            let args = d.args[..argc].iter().map(|a| read_buf(a, "argument")).collect::<Result<Vec<_>, _>>()?;
            let name = target()?;
            if name.is_empty() || name.contains("..") || name.starts_with('/') {
                return Err(format!("script name `{name}` must be a relative path inside the scripts directory"));
            }
            Ok(Advice::Script { name, args })
        }
        abi::DIAL => {
            let group = target()?;
            if group.is_empty() {
                return Err("dial without a group".into());
            }
            Ok(Advice::Dial { group, number: read_buf(&d.number, "number")? })
        }
        abi::QUEUE => {
            let name = target()?;
            if name.is_empty() {
                return Err("queue without a name".into());
            }
            Ok(Advice::Queue { name })
        }
        abi::REJECT => match u8::try_from(d.cause) {
            Ok(c @ 1..=127) => Ok(Advice::Reject { cause: c }),
            _ => Err(format!("reject with cause {}: not a Q.850 cause", d.cause)),
        },
        other => Err(format!("unknown action {other}")),
    }
}

impl Loaded {
    /// Loads `path` and initialises it with `settings`.
    ///
    /// The path must have passed `super::check_path` (owner, permissions): loading runs the
    /// library's initialisers with our privileges.
    pub fn load(path: &Path, settings: &[(String, String)]) -> Result<Loaded, LoadError> {
        // SAFETY: loading a library runs its constructors. Invariant: this is the plugin
        // host process, whose only job is to contain this library; the file was vetted
        // by check_path before the daemon started us.
        let lib = unsafe { Library::new(path) }.map_err(|e| LoadError::Open(e.to_string()))?;
        // SAFETY: the symbol's type is fixed by the ABI (trunkd_plugin.h); a library that
        // exports the name with another type breaks the ABI contract, and only this
        // contained process suffers.
        let entry: abi::EntryFn =
            unsafe { *lib.get::<abi::EntryFn>(abi::ENTRY_SYMBOL).map_err(|e| LoadError::NoEntry(e.to_string()))? };
        // SAFETY: calling the entry point as the ABI defines it (no arguments).
        let vt_ptr = unsafe { entry() };
        if vt_ptr.is_null() {
            return Err(LoadError::NullEntry);
        }
        // SAFETY: non-null; the ABI says it points to a static vtable. Its first two
        // fields are read before trusting the rest of the layout.
        let (version, size) = unsafe { ((*vt_ptr).abi_version, (*vt_ptr).struct_size) };
        if version != abi::ABI_VERSION {
            return Err(LoadError::AbiVersion { found: version, expected: abi::ABI_VERSION });
        }
        if (size as usize) < std::mem::size_of::<TrunkdPluginV1>() {
            return Err(LoadError::VtableSize { found: size, needed: std::mem::size_of::<TrunkdPluginV1>() });
        }
        // SAFETY: version and size checked: the whole v1 vtable is there to copy.
        let vt = unsafe { *vt_ptr };
        // SAFETY: the ABI requires static NUL-terminated strings (or NULL, refused below).
        let name = unsafe { static_str(vt.name) }.ok_or(LoadError::Missing("a name"))?;
        // SAFETY: as for the name.
        let version = unsafe { static_str(vt.version) }.ok_or(LoadError::Missing("a version"))?;
        let init = vt.init.ok_or(LoadError::Missing("init()"))?;
        if vt.route.is_none() {
            return Err(LoadError::Missing("route()"));
        }
        let vars: Vec<TrunkdVar> = settings.iter().map(|(k, v)| TrunkdVar { name: s(k), value: s(v) }).collect();
        let mut err = TrunkdBuf::EMPTY;
        // SAFETY: `vars` and `err` outlive the call; the plugin may only read the former
        // and write within the latter's capacity (ABI ownership rules).
        let instance = unsafe { init(vars.as_ptr(), vars.len(), &mut err) };
        if instance.is_null() {
            let msg = read_buf(&err, "error").unwrap_or_else(|e| format!("(unreadable message: {e})"));
            return Err(LoadError::Init(if msg.is_empty() { "init returned NULL".into() } else { msg }));
        }
        Ok(Loaded { vt, instance, name, version, _lib: lib })
    }

    /// Asks the plugin about a call.
    pub fn route(&mut self, q: &RouteQuery, unix_time_ms: i64, utc_offset_min: i32) -> Result<Advice, String> {
        let Some(route) = self.vt.route else { return Err("no route()".into()) };
        let vars: Vec<TrunkdVar> = q.vars.iter().map(|(k, v)| TrunkdVar { name: s(k), value: s(v) }).collect();
        let call = TrunkdCall {
            struct_size: std::mem::size_of::<TrunkdCall>() as u32,
            direction: if q.inbound { abi::INBOUND } else { abi::OUTBOUND },
            call_id: q.call_id,
            group: s(&q.group),
            device: s(&q.device),
            channel: u32::from(q.channel),
            caller_presentation: match q.caller_presentation {
                Presentation::Allowed => abi::PRES_ALLOWED,
                Presentation::Restricted => abi::PRES_RESTRICTED,
                Presentation::Unavailable => abi::PRES_UNAVAILABLE,
            },
            caller: s(&q.caller),
            caller_name: s(&q.caller_name),
            called: s(&q.called),
            redirecting: s(&q.redirecting),
            classification: s(&q.classification),
            vars: vars.as_ptr(),
            vars_len: vars.len(),
            unix_time_ms,
            utc_offset_min,
        };
        let mut out = TrunkdDecision::EMPTY;
        // SAFETY: `call` (and the strings and vars it points into) and `out` outlive the
        // call; `instance` came from this plugin's init and is used from this thread only.
        let rc = unsafe { route(self.instance, &call, &mut out) };
        if rc != 0 {
            return Err(format!("route() returned {rc}"));
        }
        read_decision(&out)
    }

    /// Tells the plugin about a call's progress, if it listens.
    pub fn event(&mut self, call_id: u64, kind: &str, cause: u8, talk_ms: u64) {
        let Some(event) = self.vt.event else { return };
        let ev = TrunkdEvent {
            struct_size: std::mem::size_of::<TrunkdEvent>() as u32,
            cause: u32::from(cause),
            call_id,
            kind: s(kind),
            talk_ms,
        };
        // SAFETY: `ev` outlives the call; instance as in route().
        unsafe { event(self.instance, &ev) };
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        if let Some(shutdown) = self.vt.shutdown {
            // SAFETY: the instance came from init and is freed exactly once, here.
            unsafe { shutdown(self.instance) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(text: &[u8]) -> TrunkdBuf {
        let mut b = TrunkdBuf::EMPTY;
        for (i, c) in text.iter().enumerate() {
            b.buf[i] = *c as c_char;
        }
        b.len = text.len() as u32;
        b
    }

    #[test]
    fn decisions_are_read_and_garbage_refused() {
        let mut d = TrunkdDecision::EMPTY;
        assert_eq!(read_decision(&d), Ok(Advice::NoOpinion));
        d.action = abi::DIAL;
        d.target = buf(b"pri-1");
        d.number = buf(b"5551234");
        assert_eq!(read_decision(&d), Ok(Advice::Dial { group: "pri-1".into(), number: "5551234".into() }));
        d.target.len = 100_000;
        assert!(read_decision(&d).unwrap_err().contains("capacity"));
        d.target = buf(&[0xff, 0xfe]);
        assert!(read_decision(&d).unwrap_err().contains("UTF-8"));
        d.action = abi::REJECT;
        d.cause = 0;
        assert!(read_decision(&d).is_err());
        d.cause = 17;
        assert_eq!(read_decision(&d), Ok(Advice::Reject { cause: 17 }));
        d.action = abi::SCRIPT;
        d.target = buf(b"../../etc/passwd");
        assert!(read_decision(&d).is_err());
        d.target = buf(b"menu.lua");
        d.argc = 9;
        assert!(read_decision(&d).is_err());
        d.argc = 1;
        d.args[0] = buf(b"zh");
        assert_eq!(read_decision(&d), Ok(Advice::Script { name: "menu.lua".into(), args: vec!["zh".into()] }));
        d.action = 42;
        assert!(read_decision(&d).is_err());
    }
}
