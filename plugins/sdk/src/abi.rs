//! The raw C ABI, field for field as in `plugins/trunkd_plugin.h` (version 1). Both
//! trunkd's loader and the safe SDK build on these; `tests` pins sizes and offsets.

use std::ffi::{c_char, c_void};

pub const ABI_VERSION: u32 = 1;
/// The exported symbol's name, NUL-terminated for `dlsym`.
pub const ENTRY_SYMBOL: &[u8] = b"trunkd_plugin_entry\0";
pub const BUF_CAP: usize = 256;
pub const MAX_ARGS: usize = 8;

pub const INBOUND: u32 = 0;
pub const OUTBOUND: u32 = 1;
pub const PRES_ALLOWED: u32 = 0;
pub const PRES_RESTRICTED: u32 = 1;
pub const PRES_UNAVAILABLE: u32 = 2;

pub const NO_OPINION: u32 = 0;
pub const SCRIPT: u32 = 1;
pub const DIAL: u32 = 2;
pub const QUEUE: u32 = 3;
pub const REJECT: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TrunkdStr {
    pub ptr: *const c_char,
    pub len: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TrunkdVar {
    pub name: TrunkdStr,
    pub value: TrunkdStr,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct TrunkdBuf {
    pub len: u32,
    pub buf: [c_char; BUF_CAP],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TrunkdCall {
    pub struct_size: u32,
    pub direction: u32,
    pub call_id: u64,
    pub group: TrunkdStr,
    pub device: TrunkdStr,
    pub channel: u32,
    pub caller_presentation: u32,
    pub caller: TrunkdStr,
    pub caller_name: TrunkdStr,
    pub called: TrunkdStr,
    pub redirecting: TrunkdStr,
    pub classification: TrunkdStr,
    pub vars: *const TrunkdVar,
    pub vars_len: usize,
    pub unix_time_ms: i64,
    pub utc_offset_min: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct TrunkdDecision {
    pub action: u32,
    pub cause: u32,
    pub target: TrunkdBuf,
    pub number: TrunkdBuf,
    pub argc: u32,
    pub args: [TrunkdBuf; MAX_ARGS],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TrunkdEvent {
    pub struct_size: u32,
    pub cause: u32,
    pub call_id: u64,
    pub kind: TrunkdStr,
    pub talk_ms: u64,
}

pub type InitFn = unsafe extern "C" fn(*const TrunkdVar, usize, *mut TrunkdBuf) -> *mut c_void;
pub type RouteFn = unsafe extern "C" fn(*mut c_void, *const TrunkdCall, *mut TrunkdDecision) -> i32;
pub type EventFn = unsafe extern "C" fn(*mut c_void, *const TrunkdEvent);
pub type ShutdownFn = unsafe extern "C" fn(*mut c_void);

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TrunkdPluginV1 {
    pub abi_version: u32,
    pub struct_size: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub init: Option<InitFn>,
    pub route: Option<RouteFn>,
    pub event: Option<EventFn>,
    pub shutdown: Option<ShutdownFn>,
}

pub type EntryFn = unsafe extern "C" fn() -> *const TrunkdPluginV1;

impl TrunkdBuf {
    pub const EMPTY: TrunkdBuf = TrunkdBuf { len: 0, buf: [0; BUF_CAP] };
}

impl TrunkdDecision {
    /// All zero: action NO_OPINION, empty buffers.
    pub const EMPTY: TrunkdDecision = TrunkdDecision {
        action: NO_OPINION,
        cause: 0,
        target: TrunkdBuf::EMPTY,
        number: TrunkdBuf::EMPTY,
        argc: 0,
        args: [TrunkdBuf::EMPTY; MAX_ARGS],
    };
}
