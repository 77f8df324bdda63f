//! What [`export_plugin!`](crate::export_plugin) expands to: the static vtable and the
//! `extern "C"` shims between trunkd and a [`Plugin`]. Not a public API.

use std::any::Any;
use std::ffi::{c_char, c_void};
use std::io::Write;
use std::mem::size_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::abi::{self, TrunkdBuf, TrunkdCall, TrunkdDecision, TrunkdEvent, TrunkdPluginV1, TrunkdVar};
use crate::decision::put_message;
use crate::{Call, Event, Plugin, Settings, ERR_INVALID_DECISION, ERR_NULL_ARGUMENT, ERR_PANIC};

/// The vtable in a `static`: raw pointers are not `Sync`, these point to immutable statics.
#[repr(transparent)]
pub struct VTable(pub TrunkdPluginV1);

// SAFETY: the vtable is immutable and its pointers refer to immutable statics (the
// NUL-terminated name and version) and to functions, so sharing it between threads is fine.
unsafe impl Sync for VTable {}

impl VTable {
    /// The vtable for plugin `P`, with its NUL-terminated name and version.
    pub const fn new<P: Plugin>(name: *const c_char, version: *const c_char) -> VTable {
        VTable(TrunkdPluginV1 {
            abi_version: abi::ABI_VERSION,
            struct_size: size_of::<TrunkdPluginV1>() as u32,
            name,
            version,
            init: Some(init::<P>),
            route: Some(route::<P>),
            event: Some(event::<P>),
            shutdown: Some(shutdown::<P>),
        })
    }

    /// What `trunkd_plugin_entry` returns.
    pub const fn as_ptr(&'static self) -> *const TrunkdPluginV1 {
        &self.0
    }
}

/// `s` plus a NUL terminator, as an array of exactly `N = s.len() + 1` bytes. Evaluated at
/// compile time: an empty string or one containing NUL fails the build.
pub const fn nul_terminated<const N: usize>(s: &str) -> [u8; N] {
    let bytes = s.as_bytes();
    assert!(!bytes.is_empty(), "Plugin::NAME and Plugin::VERSION must not be empty");
    assert!(bytes.len() + 1 == N, "nul_terminated: N must be s.len() + 1");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i] != 0, "Plugin::NAME and Plugin::VERSION must not contain NUL");
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// The message of a panic payload; the payload is dropped without letting a panicking
/// `Drop` escape.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    };
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    msg
}

/// A line on stderr (the plugin host logs it); never panics, unlike `eprintln!`.
fn log<P: Plugin>(what: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "trunkd plugin {}: {what}", P::NAME);
}

/// `init`: builds a `P` from the settings and boxes it. NULL (with the reason in `error`)
/// if `P::init` fails or panics, or if `settings` is NULL while `settings_len` is not 0.
///
/// # Safety
/// As in `trunkd_plugin.h`: `settings` is NULL or valid for `settings_len` entries (strings
/// valid for their lengths) during the call, and `error` is NULL or a writable buffer.
pub unsafe extern "C" fn init<P: Plugin>(
    settings: *const TrunkdVar,
    settings_len: usize,
    error: *mut TrunkdBuf,
) -> *mut c_void {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if settings.is_null() && settings_len != 0 {
            return Err(format!("settings is NULL but settings_len is {settings_len}"));
        }
        // SAFETY: trunkd passes `settings_len` valid entries (or NULL with 0) that stay valid
        // for this call, which is as long as the `Settings` lives.
        let settings = unsafe { Settings::from_raw(settings, settings_len) };
        let plugin = P::init(&settings)?;
        Ok(Box::into_raw(Box::new(plugin)).cast::<c_void>())
    }));
    let msg = match result {
        Ok(Ok(instance)) => return instance,
        Ok(Err(msg)) if msg.is_empty() => "init failed (no message)".to_owned(),
        Ok(Err(msg)) => msg,
        Err(payload) => format!("init panicked: {}", panic_message(payload)),
    };
    if !error.is_null() {
        // SAFETY: `error` is non-NULL and, per the header, a trunkd-owned buffer that is
        // ours to write during this call.
        put_message(unsafe { &mut *error }, &msg);
    }
    ptr::null_mut()
}

/// `route`: asks the instance and writes its decision. Returns 0, or
/// [`ERR_NULL_ARGUMENT`], [`ERR_INVALID_DECISION`] (with `out` reset to no opinion) or
/// [`ERR_PANIC`].
///
/// # Safety
/// `instance` is NULL or came from [`init::<P>`] and was not shut down; `call` and `out` are
/// NULL or valid as in `trunkd_plugin.h`; no other function of the instance runs meanwhile.
pub unsafe extern "C" fn route<P: Plugin>(
    instance: *mut c_void,
    call: *const TrunkdCall,
    out: *mut TrunkdDecision,
) -> i32 {
    if instance.is_null() || call.is_null() || out.is_null() {
        log::<P>(format_args!("route called with a NULL argument"));
        return ERR_NULL_ARGUMENT;
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `instance` is a live `Box<P>` from `init::<P>`, and trunkd calls one
        // function of an instance at a time, so this is the only reference to it.
        let plugin = unsafe { &mut *instance.cast::<P>() };
        // SAFETY: `call` is non-NULL and valid for the duration of this call (header).
        let Some(call) = (unsafe { Call::from_raw(call) }) else { return Err(None) };
        let decision = plugin.route(&call);
        // SAFETY: `out` is non-NULL and a trunkd-owned decision that is ours to write during
        // this call (header); nothing else refers to it meanwhile.
        let out = unsafe { &mut *out };
        decision.write_to(out).map_err(Some)
    }));
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(None)) => ERR_NULL_ARGUMENT,
        Ok(Err(Some(e))) => {
            log::<P>(format_args!("route: {e}; the call falls through"));
            ERR_INVALID_DECISION
        }
        Err(payload) => {
            let msg = panic_message(payload);
            log::<P>(format_args!("route panicked ({msg}); the call falls through"));
            ERR_PANIC
        }
    }
}

/// `event`: passes the event to the instance; NULLs and panics are ignored.
///
/// # Safety
/// As for [`route`], with `ev` NULL or valid as in `trunkd_plugin.h`.
pub unsafe extern "C" fn event<P: Plugin>(instance: *mut c_void, ev: *const TrunkdEvent) {
    if instance.is_null() || ev.is_null() {
        return;
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `route`: a live, unaliased `Box<P>` from `init::<P>`.
        let plugin = unsafe { &mut *instance.cast::<P>() };
        // SAFETY: `ev` is non-NULL and valid for the duration of this call (header).
        if let Some(ev) = unsafe { Event::from_raw(ev) } {
            plugin.event(&ev);
        }
    }));
    if let Err(payload) = result {
        let msg = panic_message(payload);
        log::<P>(format_args!("event panicked ({msg}); ignored"));
    }
}

/// `shutdown`: drops the instance; a panic in its `Drop` is caught.
///
/// # Safety
/// `instance` is NULL or came from [`init::<P>`], and is not used again afterwards.
pub unsafe extern "C" fn shutdown<P: Plugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: `instance` is the pointer `Box::into_raw` returned in `init::<P>`, handed back
    // exactly once (trunkd never uses an instance after shutdown).
    let plugin = unsafe { Box::from_raw(instance.cast::<P>()) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(plugin))) {
        let msg = panic_message(payload);
        log::<P>(format_args!("shutdown panicked ({msg})"));
    }
}
