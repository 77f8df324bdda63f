//! The DAHDI userspace interface (`dahdi/user.h`): ioctl numbers, the structs they carry,
//! and safe wrappers. All of DAHDI's `unsafe` lives here, and only in this file.
//!
//! # Invariants the `unsafe` relies on
//!
//! 1. **File descriptors are valid.** Every wrapper takes `impl AsFd`, so the fd is an
//!    open descriptor borrowed for the duration of the call; it is never closed or stored
//!    here. A non-DAHDI fd is still memory-safe: the kernel answers `ENOTTY`.
//! 2. **Struct layouts mirror `user.h`** field for field (`#[repr(C)]`; `dahdi_spaninfo` is
//!    `__attribute__((packed))` in C, so [`DahdiSpaninfo`] is `#[repr(C, packed)]`). Sizes
//!    and offsets are checked by the unit tests below against the values printed by a C
//!    program on the real header, and by `tests/dahdi_abi.rs`, which compiles one at test
//!    time. Only plain integers and byte arrays appear: every bit pattern is a valid value,
//!    so the all-zero value is valid and anything the kernel writes is too.
//! 3. **Direction and size are encoded in the ioctl number** (`_IOR`/`_IOW`/`_IOWR`, magic
//!    0xDA). Each raw call and its `DAHDI_*` constant come from one `dahdi_ioctl!` line,
//!    whose nix macro computes the number from `size_of::<T>()` of the very type its
//!    pointer argument has; so the kernel never copies more than `size_of::<T>()` bytes
//!    to or from the pointer, and the pointers passed always point to a live `T` of ours.
//!    Types whose C layout has pointers, `long` or bitfields (`dahdi_indirect_data`,
//!    `dahdi_sfconfig`, `dahdi_hwgain`) are deliberately absent.
//! 4. **"int" ioctls take a pointer to a `c_int`**: the kernel uses `get_user`/`put_user`
//!    on the argument, so it is never passed by value (no `ioctl_write_int!`).
//! 5. **Structs are zeroed before a GET** ([`Zeroed`]): `GET_PARAMS` and `SPANSTAT` read
//!    selector fields (`channo`, `spanno`) from the buffer, and fields a driver version
//!    does not fill stay zero rather than stale.
//! 6. **`ECHOCANCEL_PARAMS`**: the ioctl's size covers only the 8-byte header; the kernel
//!    then reads `param_count` trailing `{name[16], value}` entries. [`echocancel`] always
//!    sends `param_count = 0`, so nothing beyond the header is read.
//!
//! Everything else here (constants, event decoding, alarm mapping) is safe code.

#![allow(unsafe_code)]

use std::ffi::c_int;
use std::fs::OpenOptions;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;

use crate::backend::line::{Abcd, Alarms, HookCmd, Polarity};
use crate::dsp::g711::Law;

/// The ioctl "type" (magic) byte of every DAHDI ioctl.
pub const DAHDI_CODE: u8 = 0xDA;

/// errno of `read`/`write` on a channel while an event is pending (call [`get_event`]).
pub const ELAST: i32 = 500;

/// Whether an I/O error from `read`/`write` on a channel means "an event is pending".
pub fn is_event_pending(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(ELAST)
}

// ------------------------------------------------------------------------------------
// Structs (layouts mirror dahdi/user.h; see invariant 2)

/// Types for which the all-zero bit pattern is a valid value (invariant 2).
pub trait Zeroed: Sized {
    fn zeroed() -> Self;
}

macro_rules! impl_zeroed {
    ($($t:ty),*) => {$(
        impl Zeroed for $t {
            fn zeroed() -> Self {
                // SAFETY: the type only has integer and byte-array fields (invariant 2),
                // for which all-zero is a valid value.
                unsafe { std::mem::zeroed() }
            }
        }
        impl Default for $t {
            fn default() -> Self {
                Self::zeroed()
            }
        }
    )*};
}

/// `struct dahdi_params` (136 bytes): a channel's configuration and state.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DahdiParams {
    /// Channel number; 0 on GET means "the fd's channel".
    pub channo: c_int,
    pub spanno: c_int,
    /// Channel number within the span.
    pub chanpos: c_int,
    /// `DAHDI_SIG_*` the channel is configured as (read-only).
    pub sigtype: c_int,
    /// `DAHDI_SIG_*` bits the channel could do (read-only).
    pub sigcap: c_int,
    pub rxisoffhook: c_int,
    pub rxbits: c_int,
    pub txbits: c_int,
    pub txhooksig: c_int,
    pub rxhooksig: c_int,
    /// `DAHDI_LAW_MULAW` or `DAHDI_LAW_ALAW`.
    pub curlaw: c_int,
    pub idlebits: c_int,
    /// NUL-terminated name, e.g. "DYN/loc/1:0/3".
    pub name: [u8; 40],
    pub prewinktime: c_int,
    pub preflashtime: c_int,
    pub winktime: c_int,
    pub flashtime: c_int,
    pub starttime: c_int,
    pub rxwinktime: c_int,
    pub rxflashtime: c_int,
    pub debouncetime: c_int,
    pub pulsebreaktime: c_int,
    pub pulsemaketime: c_int,
    pub pulseaftertime: c_int,
    /// Alarms on this channel (`DAHDI_ALARM_*`).
    pub chan_alarms: u32,
}

impl DahdiParams {
    pub fn name(&self) -> String {
        c_string(&self.name)
    }
    /// The channel's alarms as the backend trait's type.
    pub fn alarms(&self) -> Alarms {
        Alarms(self.chan_alarms)
    }
}

/// `struct dahdi_spaninfo` (314 bytes, packed): SPANSTAT.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct DahdiSpaninfo {
    /// Span number; 0 on SPANSTAT means "the fd's span".
    pub spanno: c_int,
    pub name: [u8; 20],
    pub desc: [u8; 40],
    /// `DAHDI_ALARM_*` bits.
    pub alarms: c_int,
    pub txlevel: c_int,
    pub rxlevel: c_int,
    pub bpvcount: c_int,
    pub crc4count: c_int,
    pub ebitcount: c_int,
    pub fascount: c_int,
    pub fecount: u32,
    pub cvcount: u32,
    pub becount: u32,
    pub prbs: u32,
    pub errsec: u32,
    pub irqmisses: c_int,
    pub syncsrc: c_int,
    pub numchans: c_int,
    pub totalchans: c_int,
    pub totalspans: c_int,
    pub lbo: c_int,
    pub lineconfig: c_int,
    pub lboname: [u8; 40],
    pub location: [u8; 40],
    pub manufacturer: [u8; 40],
    pub devicetype: [u8; 40],
    pub irq: c_int,
    pub linecompat: c_int,
    pub spantype: [u8; 6],
}

impl DahdiSpaninfo {
    pub fn name(&self) -> String {
        c_string(&self.name)
    }
    pub fn desc(&self) -> String {
        c_string(&self.desc)
    }
    /// "E1", "T1", "J1", "BRI", "FXS", "FXO", "DYNAMIC"… (6 bytes, possibly unterminated).
    pub fn spantype(&self) -> String {
        c_string(&self.spantype)
    }
    /// The span's alarms as the backend trait's type.
    pub fn alarms(&self) -> Alarms {
        alarms_from_raw(self.alarms)
    }
}

impl std::fmt::Debug for DahdiSpaninfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Copy the packed fields out: no references into a packed struct.
        let (spanno, alarms, numchans, totalchans) = (self.spanno, self.alarms, self.numchans, self.totalchans);
        f.debug_struct("DahdiSpaninfo")
            .field("spanno", &spanno)
            .field("name", &self.name())
            .field("desc", &self.desc())
            .field("alarms", &format_args!("{:#x}", alarms))
            .field("numchans", &numchans)
            .field("totalchans", &totalchans)
            .field("spantype", &self.spantype())
            .finish_non_exhaustive()
    }
}

/// `struct dahdi_bufferinfo` (24 bytes): GET/SET_BUFINFO.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DahdiBufferinfo {
    /// `DAHDI_POLICY_*`
    pub txbufpolicy: c_int,
    /// `DAHDI_POLICY_*`
    pub rxbufpolicy: c_int,
    pub numbufs: c_int,
    pub bufsize: c_int,
    /// Full read buffers (read-only).
    pub readbufs: c_int,
    /// Full write buffers (read-only).
    pub writebufs: c_int,
}

impl DahdiBufferinfo {
    /// Both directions with `DAHDI_POLICY_IMMEDIATE`, as chan_dahdi sets them up:
    /// bearer `(4, 160)`, HDLC D-channel `(32, 1024)`.
    pub const fn immediate(numbufs: c_int, bufsize: c_int) -> Self {
        DahdiBufferinfo {
            txbufpolicy: DAHDI_POLICY_IMMEDIATE,
            rxbufpolicy: DAHDI_POLICY_IMMEDIATE,
            numbufs,
            bufsize,
            readbufs: 0,
            writebufs: 0,
        }
    }
}

/// `struct dahdi_versioninfo` (160 bytes): GETVERSION.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DahdiVersioninfo {
    pub version: [u8; 80],
    pub echo_canceller: [u8; 80],
}

impl DahdiVersioninfo {
    pub fn version(&self) -> String {
        c_string(&self.version)
    }
    pub fn echo_canceller(&self) -> String {
        c_string(&self.echo_canceller)
    }
}

/// The 8-byte header of `struct dahdi_echocanparams` (ECHOCANCEL_PARAMS); see invariant 6.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DahdiEchocanparams {
    /// Taps (8 per millisecond); 0 disables the canceller.
    pub tap_length: u32,
    /// Number of `dahdi_echocanparam` entries following the header (always 0 here).
    pub param_count: u32,
}

/// Entries of a ring cadence (`DAHDI_MAX_CADENCE`).
pub const DAHDI_MAX_CADENCE: c_int = 16;

/// `struct dahdi_ring_cadence` (SETCADENCE): ring-on and ring-off times in ms,
/// alternating, up to the first 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DahdiRingCadence {
    pub ringcadence: [c_int; DAHDI_MAX_CADENCE as usize],
}

impl_zeroed!(DahdiParams, DahdiSpaninfo, DahdiBufferinfo, DahdiVersioninfo, DahdiEchocanparams);

/// A NUL-terminated (or full-length) C string in a byte array, lossily as UTF-8.
fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

// ------------------------------------------------------------------------------------
// ioctl numbers and raw calls (invariants 3 and 4)

/// One line per ioctl: the public `DAHDI_*` request number and the private raw call, both
/// from the same direction, number and type.
macro_rules! dahdi_ioctl {
    (R $konst:ident, $func:ident, $nr:expr, $ty:ty) => {
        pub const $konst: u32 = nix::request_code_read!(DAHDI_CODE, $nr, std::mem::size_of::<$ty>()) as u32;
        nix::ioctl_read!($func, DAHDI_CODE, $nr, $ty);
    };
    (W $konst:ident, $func:ident, $nr:expr, $ty:ty) => {
        pub const $konst: u32 = nix::request_code_write!(DAHDI_CODE, $nr, std::mem::size_of::<$ty>()) as u32;
        nix::ioctl_write_ptr!($func, DAHDI_CODE, $nr, $ty);
    };
    (WR $konst:ident, $func:ident, $nr:expr, $ty:ty) => {
        pub const $konst: u32 = nix::request_code_readwrite!(DAHDI_CODE, $nr, std::mem::size_of::<$ty>()) as u32;
        nix::ioctl_readwrite!($func, DAHDI_CODE, $nr, $ty);
    };
}

/// The raw `unsafe fn(fd, *T)` calls stay private to this module; the numbers are re-exported.
mod raw {
    use super::{
        DahdiBufferinfo, DahdiEchocanparams, DahdiParams, DahdiRingCadence, DahdiSpaninfo, DahdiVersioninfo, DAHDI_CODE,
    };
    use std::ffi::c_int;

    dahdi_ioctl!(R DAHDI_GET_BLOCKSIZE, get_blocksize, 1, c_int);
    dahdi_ioctl!(W DAHDI_SET_BLOCKSIZE, set_blocksize, 1, c_int);
    dahdi_ioctl!(W DAHDI_FLUSH, flush, 3, c_int);
    dahdi_ioctl!(WR DAHDI_GET_PARAMS, get_params, 5, DahdiParams);
    dahdi_ioctl!(W DAHDI_SET_PARAMS, set_params, 5, DahdiParams);
    dahdi_ioctl!(W DAHDI_HOOK, hook, 7, c_int);
    dahdi_ioctl!(R DAHDI_GETEVENT, getevent, 8, c_int);
    dahdi_ioctl!(WR DAHDI_IOMUX, iomux, 9, c_int);
    dahdi_ioctl!(WR DAHDI_SPANSTAT, spanstat, 10, DahdiSpaninfo);
    dahdi_ioctl!(R DAHDI_GET_BUFINFO, get_bufinfo, 27, DahdiBufferinfo);
    dahdi_ioctl!(W DAHDI_SET_BUFINFO, set_bufinfo, 27, DahdiBufferinfo);
    dahdi_ioctl!(W DAHDI_AUDIOMODE, audiomode, 32, c_int);
    dahdi_ioctl!(W DAHDI_ECHOCANCEL_PARAMS, echocancel_params, 33, DahdiEchocanparams);
    dahdi_ioctl!(R DAHDI_CHANNO, channo, 34, c_int);
    dahdi_ioctl!(W DAHDI_HDLCFCSMODE, hdlcfcsmode, 37, c_int);
    dahdi_ioctl!(W DAHDI_SPECIFY, specify, 38, c_int);
    dahdi_ioctl!(W DAHDI_SETLAW, setlaw, 39, c_int);
    dahdi_ioctl!(W DAHDI_SETLINEAR, setlinear, 40, c_int);
    dahdi_ioctl!(W DAHDI_SETCADENCE, setcadence, 42, DahdiRingCadence);
    dahdi_ioctl!(R DAHDI_GETRXBITS, getrxbits, 43, c_int);
    dahdi_ioctl!(W DAHDI_SETTXBITS, settxbits, 43, c_int);
    dahdi_ioctl!(W DAHDI_TIMERCONFIG, timerconfig, 47, c_int);
    dahdi_ioctl!(W DAHDI_TIMERACK, timerack, 48, c_int);
    dahdi_ioctl!(R DAHDI_GETVERSION, getversion, 57, DahdiVersioninfo);
    dahdi_ioctl!(W DAHDI_SETPOLARITY, setpolarity, 92, c_int);
    dahdi_ioctl!(W DAHDI_STARTUP, startup, 99, c_int);
    dahdi_ioctl!(W DAHDI_SHUTDOWN, shutdown, 100, c_int);
}

pub use raw::{
    DAHDI_AUDIOMODE, DAHDI_CHANNO, DAHDI_ECHOCANCEL_PARAMS, DAHDI_FLUSH, DAHDI_GETEVENT, DAHDI_GETRXBITS,
    DAHDI_GETVERSION, DAHDI_GET_BLOCKSIZE, DAHDI_GET_BUFINFO, DAHDI_GET_PARAMS, DAHDI_HDLCFCSMODE, DAHDI_HOOK,
    DAHDI_IOMUX, DAHDI_SETCADENCE, DAHDI_SETLAW, DAHDI_SETLINEAR, DAHDI_SETPOLARITY, DAHDI_SETTXBITS,
    DAHDI_SET_BLOCKSIZE, DAHDI_SET_BUFINFO, DAHDI_SET_PARAMS, DAHDI_SHUTDOWN, DAHDI_SPANSTAT, DAHDI_SPECIFY,
    DAHDI_STARTUP, DAHDI_TIMERACK, DAHDI_TIMERCONFIG,
};

/// The shape of every raw call generated above.
type RawRead<T> = unsafe fn(c_int, *mut T) -> nix::Result<c_int>;
type RawWrite<T> = unsafe fn(c_int, *const T) -> nix::Result<c_int>;

/// Passes a pointer to `*value` (kernel reads `size_of::<T>()` bytes).
fn ioctl_in<T>(fd: impl AsFd, call: RawWrite<T>, value: &T) -> nix::Result<c_int> {
    // SAFETY: fd is a live borrowed descriptor (invariant 1); `call` is one of the raw
    // calls above, whose request number encodes `size_of::<T>()` and direction "write"
    // (invariant 3), and the pointer refers to a live `T` for the whole call.
    unsafe { call(fd.as_fd().as_raw_fd(), value) }
}

/// Passes a pointer to `*value` (kernel may read and/or write `size_of::<T>()` bytes).
fn ioctl_inout<T>(fd: impl AsFd, call: RawRead<T>, value: &mut T) -> nix::Result<c_int> {
    // SAFETY: as in `ioctl_in`; `value` is exclusively borrowed, and any bytes the kernel
    // writes form a valid `T` (integers and byte arrays only, invariant 2).
    unsafe { call(fd.as_fd().as_raw_fd(), value) }
}

/// A GET into a zeroed `T` (invariant 5).
fn ioctl_out<T: Zeroed>(fd: impl AsFd, call: RawRead<T>) -> nix::Result<T> {
    let mut v = T::zeroed();
    ioctl_inout(fd, call, &mut v)?;
    Ok(v)
}

fn set_int(fd: impl AsFd, call: RawWrite<c_int>, value: c_int) -> nix::Result<()> {
    ioctl_in(fd, call, &value).map(drop)
}

fn get_int(fd: impl AsFd, call: RawRead<c_int>) -> nix::Result<c_int> {
    let mut v: c_int = 0;
    ioctl_inout(fd, call, &mut v)?;
    Ok(v)
}

// ------------------------------------------------------------------------------------
// Constants (names from user.h)

/// Signalling types (`dahdi_params.sigtype`, `sigcap`).
pub const DAHDI_SIG_NONE: c_int = 0;
/// user.h: "never use directly" (part of the FXO/FXS types below).
pub const __DAHDI_SIG_FXO: c_int = 1 << 12;
pub const __DAHDI_SIG_FXS: c_int = 1 << 13;
pub const DAHDI_SIG_FXSLS: c_int = 1 | __DAHDI_SIG_FXS;
pub const DAHDI_SIG_FXSGS: c_int = (1 << 1) | __DAHDI_SIG_FXS;
pub const DAHDI_SIG_FXSKS: c_int = (1 << 2) | __DAHDI_SIG_FXS;
pub const DAHDI_SIG_FXOLS: c_int = (1 << 3) | __DAHDI_SIG_FXO;
pub const DAHDI_SIG_FXOGS: c_int = (1 << 4) | __DAHDI_SIG_FXO;
pub const DAHDI_SIG_FXOKS: c_int = (1 << 5) | __DAHDI_SIG_FXO;
pub const DAHDI_SIG_EM: c_int = 1 << 6;
pub const DAHDI_SIG_CLEAR: c_int = 1 << 7;
pub const DAHDI_SIG_HDLCRAW: c_int = (1 << 8) | DAHDI_SIG_CLEAR;
pub const DAHDI_SIG_HDLCFCS: c_int = (1 << 9) | DAHDI_SIG_HDLCRAW;
pub const DAHDI_SIG_HDLCNET: c_int = (1 << 10) | DAHDI_SIG_HDLCFCS;
pub const DAHDI_SIG_SLAVE: c_int = 1 << 11;
pub const DAHDI_SIG_SF: c_int = 1 << 14;
pub const DAHDI_SIG_CAS: c_int = 1 << 15;
pub const DAHDI_SIG_EM_E1: c_int = 1 << 17;
pub const DAHDI_SIG_HARDHDLC: c_int = (1 << 19) | DAHDI_SIG_CLEAR;
pub const DAHDI_SIG_MTP2: c_int = (1 << 20) | DAHDI_SIG_HDLCFCS;
pub const DAHDI_SIG_BROKEN: c_int = 1 << 31;

/// CAS bits (GETRXBITS / SETTXBITS), as [`crate::backend::line::Abcd`] orders them.
pub const DAHDI_ABIT: c_int = 1 << 3;
pub const DAHDI_BBIT: c_int = 1 << 2;
pub const DAHDI_CBIT: c_int = 1 << 1;
pub const DAHDI_DBIT: c_int = 1;

/// Buffer policies (`dahdi_bufferinfo`).
pub const DAHDI_POLICY_IMMEDIATE: c_int = 0;
pub const DAHDI_POLICY_WHEN_FULL: c_int = 1;
pub const DAHDI_POLICY_HALF_FULL: c_int = 2;

/// SETLAW arguments.
pub const DAHDI_LAW_DEFAULT: c_int = 0;
pub const DAHDI_LAW_MULAW: c_int = 1;
pub const DAHDI_LAW_ALAW: c_int = 2;

/// HOOK arguments.
pub const DAHDI_ONHOOK: c_int = 0;
pub const DAHDI_OFFHOOK: c_int = 1;
pub const DAHDI_WINK: c_int = 2;
pub const DAHDI_FLASH: c_int = 3;
pub const DAHDI_START: c_int = 4;
pub const DAHDI_RING: c_int = 5;
pub const DAHDI_RINGOFF: c_int = 6;

/// FLUSH arguments.
pub const DAHDI_FLUSH_READ: c_int = 1;
pub const DAHDI_FLUSH_WRITE: c_int = 2;
pub const DAHDI_FLUSH_BOTH: c_int = DAHDI_FLUSH_READ | DAHDI_FLUSH_WRITE;
pub const DAHDI_FLUSH_EVENT: c_int = 4;
pub const DAHDI_FLUSH_ALL: c_int = DAHDI_FLUSH_BOTH | DAHDI_FLUSH_EVENT;

/// IOMUX flags.
pub const DAHDI_IOMUX_READ: c_int = 1;
pub const DAHDI_IOMUX_WRITE: c_int = 2;
pub const DAHDI_IOMUX_WRITEEMPTY: c_int = 4;
pub const DAHDI_IOMUX_SIGEVENT: c_int = 8;
pub const DAHDI_IOMUX_NOWAIT: c_int = 0x100;

/// Span alarms (`dahdi_spaninfo.alarms`, `dahdi_params.chan_alarms`).
pub const DAHDI_ALARM_NONE: c_int = 0;
pub const DAHDI_ALARM_RECOVER: c_int = 1;
pub const DAHDI_ALARM_LOOPBACK: c_int = 1 << 1;
pub const DAHDI_ALARM_YELLOW: c_int = 1 << 2;
pub const DAHDI_ALARM_RED: c_int = 1 << 3;
pub const DAHDI_ALARM_BLUE: c_int = 1 << 4;
pub const DAHDI_ALARM_NOTOPEN: c_int = 1 << 5;
pub const DAHDI_ALARM_LOS: c_int = 1 << 8;
pub const DAHDI_ALARM_LFA: c_int = 1 << 9;
pub const DAHDI_ALARM_LMFA: c_int = 1 << 10;

/// Events (GETEVENT).
pub const DAHDI_EVENT_NONE: c_int = 0;
pub const DAHDI_EVENT_ONHOOK: c_int = 1;
pub const DAHDI_EVENT_RINGOFFHOOK: c_int = 2;
pub const DAHDI_EVENT_WINKFLASH: c_int = 3;
pub const DAHDI_EVENT_ALARM: c_int = 4;
pub const DAHDI_EVENT_NOALARM: c_int = 5;
pub const DAHDI_EVENT_ABORT: c_int = 6;
pub const DAHDI_EVENT_OVERRUN: c_int = 7;
pub const DAHDI_EVENT_BADFCS: c_int = 8;
pub const DAHDI_EVENT_DIALCOMPLETE: c_int = 9;
pub const DAHDI_EVENT_RINGERON: c_int = 10;
pub const DAHDI_EVENT_RINGEROFF: c_int = 11;
pub const DAHDI_EVENT_HOOKCOMPLETE: c_int = 12;
pub const DAHDI_EVENT_BITSCHANGED: c_int = 13;
pub const DAHDI_EVENT_PULSE_START: c_int = 14;
pub const DAHDI_EVENT_TIMER_EXPIRED: c_int = 15;
pub const DAHDI_EVENT_TIMER_PING: c_int = 16;
pub const DAHDI_EVENT_POLARITY: c_int = 17;
pub const DAHDI_EVENT_RINGBEGIN: c_int = 18;
pub const DAHDI_EVENT_EC_DISABLED: c_int = 19;
pub const DAHDI_EVENT_REMOVED: c_int = 20;
pub const DAHDI_EVENT_NEONMWI_ACTIVE: c_int = 21;
pub const DAHDI_EVENT_NEONMWI_INACTIVE: c_int = 22;
pub const DAHDI_EVENT_TX_CED_DETECTED: c_int = 23;
pub const DAHDI_EVENT_RX_CED_DETECTED: c_int = 24;
pub const DAHDI_EVENT_TX_CNG_DETECTED: c_int = 25;
pub const DAHDI_EVENT_RX_CNG_DETECTED: c_int = 26;
pub const DAHDI_EVENT_EC_NLP_DISABLED: c_int = 27;
pub const DAHDI_EVENT_EC_NLP_ENABLED: c_int = 28;
pub const DAHDI_EVENT_READ_OVERRUN: c_int = 29;
pub const DAHDI_EVENT_WRITE_UNDERRUN: c_int = 30;
/// ORed with the digit's character ('0'..'9', '*', '#').
pub const DAHDI_EVENT_PULSEDIGIT: c_int = 1 << 16;
pub const DAHDI_EVENT_DTMFDOWN: c_int = 1 << 17;
pub const DAHDI_EVENT_DTMFUP: c_int = 1 << 18;

// ------------------------------------------------------------------------------------
// Typed arguments and results (pure, safe)

/// A decoded GETEVENT value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DahdiEvent {
    OnHook,
    RingOffHook,
    WinkFlash,
    Alarm,
    NoAlarm,
    Abort,
    Overrun,
    BadFcs,
    DialComplete,
    RingerOn,
    RingerOff,
    HookComplete,
    BitsChanged,
    PulseStart,
    TimerExpired,
    TimerPing,
    Polarity,
    RingBegin,
    EcDisabled,
    Removed,
    NeonMwiActive,
    NeonMwiInactive,
    TxCedDetected,
    RxCedDetected,
    TxCngDetected,
    RxCngDetected,
    EcNlpDisabled,
    EcNlpEnabled,
    ReadOverrun,
    WriteUnderrun,
    /// A pulse-dialled digit decoded by the driver (the character, e.g. `b'5'`).
    PulseDigit(u8),
    /// A DTMF key went down (the character).
    DtmfDown(u8),
    /// A DTMF key went up (the character).
    DtmfUp(u8),
    /// A value this table does not know (a newer driver).
    Unknown(c_int),
}

const PLAIN_EVENTS: [DahdiEvent; 30] = [
    DahdiEvent::OnHook,
    DahdiEvent::RingOffHook,
    DahdiEvent::WinkFlash,
    DahdiEvent::Alarm,
    DahdiEvent::NoAlarm,
    DahdiEvent::Abort,
    DahdiEvent::Overrun,
    DahdiEvent::BadFcs,
    DahdiEvent::DialComplete,
    DahdiEvent::RingerOn,
    DahdiEvent::RingerOff,
    DahdiEvent::HookComplete,
    DahdiEvent::BitsChanged,
    DahdiEvent::PulseStart,
    DahdiEvent::TimerExpired,
    DahdiEvent::TimerPing,
    DahdiEvent::Polarity,
    DahdiEvent::RingBegin,
    DahdiEvent::EcDisabled,
    DahdiEvent::Removed,
    DahdiEvent::NeonMwiActive,
    DahdiEvent::NeonMwiInactive,
    DahdiEvent::TxCedDetected,
    DahdiEvent::RxCedDetected,
    DahdiEvent::TxCngDetected,
    DahdiEvent::RxCngDetected,
    DahdiEvent::EcNlpDisabled,
    DahdiEvent::EcNlpEnabled,
    DahdiEvent::ReadOverrun,
    DahdiEvent::WriteUnderrun,
];

impl DahdiEvent {
    /// Decodes a GETEVENT value; `None` for `DAHDI_EVENT_NONE` (0).
    pub fn from_raw(v: c_int) -> Option<DahdiEvent> {
        const DIGIT_FLAGS: c_int = DAHDI_EVENT_PULSEDIGIT | DAHDI_EVENT_DTMFDOWN | DAHDI_EVENT_DTMFUP;
        if v == DAHDI_EVENT_NONE {
            return None;
        }
        if v & DIGIT_FLAGS != 0 && v & !(DIGIT_FLAGS | 0xff) == 0 {
            let digit = (v & 0xff) as u8;
            return Some(match v & DIGIT_FLAGS {
                DAHDI_EVENT_PULSEDIGIT => DahdiEvent::PulseDigit(digit),
                DAHDI_EVENT_DTMFDOWN => DahdiEvent::DtmfDown(digit),
                DAHDI_EVENT_DTMFUP => DahdiEvent::DtmfUp(digit),
                _ => DahdiEvent::Unknown(v),
            });
        }
        Some(match usize::try_from(v) {
            Ok(i @ 1..=30) => PLAIN_EVENTS[i - 1],
            _ => DahdiEvent::Unknown(v),
        })
    }

    /// The GETEVENT value (inverse of [`DahdiEvent::from_raw`]).
    pub fn to_raw(self) -> c_int {
        match self {
            DahdiEvent::PulseDigit(d) => DAHDI_EVENT_PULSEDIGIT | c_int::from(d),
            DahdiEvent::DtmfDown(d) => DAHDI_EVENT_DTMFDOWN | c_int::from(d),
            DahdiEvent::DtmfUp(d) => DAHDI_EVENT_DTMFUP | c_int::from(d),
            DahdiEvent::Unknown(v) => v,
            plain => PLAIN_EVENTS.iter().position(|&e| e == plain).map_or(0, |i| i as c_int + 1),
        }
    }
}

/// HOOK arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum HookOp {
    OnHook = DAHDI_ONHOOK,
    OffHook = DAHDI_OFFHOOK,
    Wink = DAHDI_WINK,
    Flash = DAHDI_FLASH,
    Start = DAHDI_START,
    Ring = DAHDI_RING,
    RingOff = DAHDI_RINGOFF,
}

impl From<HookCmd> for HookOp {
    fn from(c: HookCmd) -> HookOp {
        match c {
            HookCmd::OffHook => HookOp::OffHook,
            HookCmd::OnHook => HookOp::OnHook,
            HookCmd::Flash => HookOp::Flash,
            HookCmd::Ring => HookOp::Ring,
            HookCmd::RingOff => HookOp::RingOff,
        }
    }
}

/// SETLAW arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum DahdiLaw {
    /// The span's default law.
    Default = DAHDI_LAW_DEFAULT,
    Mulaw = DAHDI_LAW_MULAW,
    Alaw = DAHDI_LAW_ALAW,
}

impl From<Law> for DahdiLaw {
    fn from(l: Law) -> DahdiLaw {
        match l {
            Law::Alaw => DahdiLaw::Alaw,
            Law::Ulaw => DahdiLaw::Mulaw,
        }
    }
}

/// GETRXBITS' value as ABCD bits (low nibble only).
pub fn abcd_from_raw(raw: c_int) -> Abcd {
    Abcd::new((raw & 0xf) as u8)
}

/// An alarms bitmask (SPANSTAT `.alarms`, `chan_alarms`) as the backend trait's type; the
/// bit values are the same (checked by a test).
pub fn alarms_from_raw(raw: c_int) -> Alarms {
    Alarms(raw as u32)
}

// ------------------------------------------------------------------------------------
// Safe wrappers

/// Opens a DAHDI device node (`/dev/dahdi/ctl`, `/dev/dahdi/channel`, …) read-write and
/// non-blocking (std adds close-on-exec).
pub fn open_device(path: impl AsRef<Path>) -> std::io::Result<OwnedFd> {
    let f = OpenOptions::new().read(true).write(true).custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits()).open(path)?;
    Ok(f.into())
}

/// Opens `/dev/dahdi/channel` and binds it to channel `channo` (SPECIFY, the first ioctl).
pub fn open_channel(channo: c_int) -> std::io::Result<OwnedFd> {
    let fd = open_device("/dev/dahdi/channel")?;
    specify(&fd, channo)?;
    Ok(fd)
}

/// SPECIFY: binds a `/dev/dahdi/channel` fd to channel `channo`.
pub fn specify(fd: impl AsFd, channo: c_int) -> nix::Result<()> {
    set_int(fd, raw::specify, channo)
}

/// CHANNO: the channel number of the fd.
pub fn channo(fd: impl AsFd) -> nix::Result<c_int> {
    get_int(fd, raw::channo)
}

/// GET_BLOCKSIZE: bytes per read/write block.
pub fn get_blocksize(fd: impl AsFd) -> nix::Result<c_int> {
    get_int(fd, raw::get_blocksize)
}

/// SET_BLOCKSIZE (160 = 20 ms of G.711).
pub fn set_blocksize(fd: impl AsFd, size: c_int) -> nix::Result<()> {
    set_int(fd, raw::set_blocksize, size)
}

/// FLUSH with `DAHDI_FLUSH_*` bits.
pub fn flush(fd: impl AsFd, what: c_int) -> nix::Result<()> {
    set_int(fd, raw::flush, what)
}

/// GET_PARAMS of the fd's own channel.
pub fn get_params(fd: impl AsFd) -> nix::Result<DahdiParams> {
    get_params_of(fd, 0)
}

/// GET_PARAMS of channel `channo` (0 = the fd's channel; others e.g. on `/dev/dahdi/ctl`).
pub fn get_params_of(fd: impl AsFd, channo: c_int) -> nix::Result<DahdiParams> {
    let mut p = DahdiParams::zeroed();
    p.channo = channo;
    ioctl_inout(fd, raw::get_params, &mut p)?;
    Ok(p)
}

/// SET_PARAMS (timings; start from [`get_params`]).
pub fn set_params(fd: impl AsFd, p: &DahdiParams) -> nix::Result<()> {
    ioctl_in(fd, raw::set_params, p).map(drop)
}

/// HOOK: an analog hook/ring operation (EINVAL on a clear channel).
pub fn set_hook(fd: impl AsFd, op: HookOp) -> nix::Result<()> {
    set_int(fd, raw::hook, op as c_int)
}

/// GETEVENT: the next pending event, `None` when there is none.
pub fn get_event(fd: impl AsFd) -> nix::Result<Option<DahdiEvent>> {
    get_int(fd, raw::getevent).map(DahdiEvent::from_raw)
}

/// IOMUX: waits (unless `DAHDI_IOMUX_NOWAIT`) for the `DAHDI_IOMUX_*` conditions in
/// `flags`; returns those that hold.
pub fn iomux(fd: impl AsFd, flags: c_int) -> nix::Result<c_int> {
    let mut v = flags;
    ioctl_inout(fd, raw::iomux, &mut v)?;
    Ok(v)
}

/// SPANSTAT of span `spanno` (0 = the fd's span).
pub fn span_stat(fd: impl AsFd, spanno: c_int) -> nix::Result<DahdiSpaninfo> {
    let mut si = DahdiSpaninfo::zeroed();
    si.spanno = spanno;
    ioctl_inout(fd, raw::spanstat, &mut si)?;
    Ok(si)
}

/// GET_BUFINFO.
pub fn get_bufinfo(fd: impl AsFd) -> nix::Result<DahdiBufferinfo> {
    ioctl_out(fd, raw::get_bufinfo)
}

/// SET_BUFINFO, e.g. [`DahdiBufferinfo::immediate`]`(4, 160)`.
pub fn set_bufinfo(fd: impl AsFd, bi: &DahdiBufferinfo) -> nix::Result<()> {
    ioctl_in(fd, raw::set_bufinfo, bi).map(drop)
}

/// AUDIOMODE: audio (true) or clear/data mode; needed before SETLINEAR and echo cancelling.
pub fn audio_mode(fd: impl AsFd, on: bool) -> nix::Result<()> {
    set_int(fd, raw::audiomode, c_int::from(on))
}

/// ECHOCANCEL_PARAMS with no parameters: enables the configured canceller with
/// `tap_length` taps (8 per ms, e.g. 128), or disables it with 0 (invariant 6).
pub fn echocancel(fd: impl AsFd, tap_length: u32) -> nix::Result<()> {
    let p = DahdiEchocanparams { tap_length, param_count: 0 };
    ioctl_in(fd, raw::echocancel_params, &p).map(drop)
}

/// HDLCFCSMODE: HDLC with driver-computed FCS on a clear channel.
pub fn hdlc_fcs_mode(fd: impl AsFd, on: bool) -> nix::Result<()> {
    set_int(fd, raw::hdlcfcsmode, c_int::from(on))
}

/// SETLAW.
pub fn set_law(fd: impl AsFd, law: DahdiLaw) -> nix::Result<()> {
    set_int(fd, raw::setlaw, law as c_int)
}

/// SETLINEAR: 16-bit linear samples (blocks twice as long) instead of G.711.
pub fn set_linear(fd: impl AsFd, on: bool) -> nix::Result<()> {
    set_int(fd, raw::setlinear, c_int::from(on))
}

/// SETCADENCE (FXS ports): the ring cadence the driver plays on RING, in ms (on, off, …;
/// at most `DAHDI_MAX_CADENCE` entries, the rest are dropped).
pub fn set_cadence(fd: impl AsFd, on_off_ms: &[c_int]) -> nix::Result<()> {
    let mut c = DahdiRingCadence { ringcadence: [0; DAHDI_MAX_CADENCE as usize] };
    for (dst, &ms) in c.ringcadence.iter_mut().zip(on_off_ms) {
        *dst = ms;
    }
    ioctl_in(fd, raw::setcadence, &c).map(drop)
}

/// GETRXBITS: the received ABCD bits, masked with 0xF (the driver sets higher bits too,
/// e.g. 0xbd on a CAS channel receiving 1101, and -1 on a channel without CAS).
pub fn get_rx_bits(fd: impl AsFd) -> nix::Result<Abcd> {
    get_int(fd, raw::getrxbits).map(abcd_from_raw)
}

/// SETTXBITS: the ABCD bits to transmit.
pub fn set_tx_bits(fd: impl AsFd, bits: Abcd) -> nix::Result<()> {
    set_int(fd, raw::settxbits, c_int::from(bits.bits()))
}

/// SETPOLARITY (FXS): normal or reversed battery.
pub fn set_polarity(fd: impl AsFd, p: Polarity) -> nix::Result<()> {
    set_int(fd, raw::setpolarity, c_int::from(p == Polarity::Reversed))
}

/// GETVERSION: driver version and echo canceller names.
pub fn get_version(fd: impl AsFd) -> nix::Result<DahdiVersioninfo> {
    ioctl_out(fd, raw::getversion)
}

/// STARTUP of span `spanno` (on `/dev/dahdi/ctl`).
pub fn startup(fd: impl AsFd, spanno: c_int) -> nix::Result<()> {
    set_int(fd, raw::startup, spanno)
}

/// TIMERCONFIG (on `/dev/dahdi/timer`): trip every `samples` samples of the driver's
/// master clock (160 = 20 ms), signalled as POLLPRI.
pub fn timer_config(fd: impl AsFd, samples: c_int) -> nix::Result<()> {
    set_int(fd, raw::timerconfig, samples)
}

/// TIMERACK: acknowledges trips (-1: all of them), clearing POLLPRI.
pub fn timer_ack(fd: impl AsFd, count: c_int) -> nix::Result<()> {
    set_int(fd, raw::timerack, count)
}

/// SHUTDOWN of span `spanno` (on `/dev/dahdi/ctl`).
pub fn shutdown(fd: impl AsFd, spanno: c_int) -> nix::Result<()> {
    set_int(fd, raw::shutdown, spanno)
}

/// Maps an errno to `std::io::Error` (for callers that speak `io::Result`).
pub fn to_io(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn ioctl_numbers_match_the_c_header() {
        // Values printed by a C program against dahdi/user.h on x86_64 (notes/dahdi.md).
        let table: &[(&str, u32, u32)] = &[
            ("GET_BLOCKSIZE", DAHDI_GET_BLOCKSIZE, 0x8004da01),
            ("SET_BLOCKSIZE", DAHDI_SET_BLOCKSIZE, 0x4004da01),
            ("FLUSH", DAHDI_FLUSH, 0x4004da03),
            ("GET_PARAMS", DAHDI_GET_PARAMS, 0xc088da05),
            ("SET_PARAMS", DAHDI_SET_PARAMS, 0x4088da05),
            ("HOOK", DAHDI_HOOK, 0x4004da07),
            ("GETEVENT", DAHDI_GETEVENT, 0x8004da08),
            ("IOMUX", DAHDI_IOMUX, 0xc004da09),
            ("SPANSTAT", DAHDI_SPANSTAT, 0xc13ada0a),
            ("TIMERCONFIG", DAHDI_TIMERCONFIG, 0x4004da2f),
            ("TIMERACK", DAHDI_TIMERACK, 0x4004da30),
            ("GET_BUFINFO", DAHDI_GET_BUFINFO, 0x8018da1b),
            ("SET_BUFINFO", DAHDI_SET_BUFINFO, 0x4018da1b),
            ("AUDIOMODE", DAHDI_AUDIOMODE, 0x4004da20),
            ("ECHOCANCEL_PARAMS", DAHDI_ECHOCANCEL_PARAMS, 0x4008da21),
            ("CHANNO", DAHDI_CHANNO, 0x8004da22),
            ("HDLCFCSMODE", DAHDI_HDLCFCSMODE, 0x4004da25),
            ("SPECIFY", DAHDI_SPECIFY, 0x4004da26),
            ("SETLAW", DAHDI_SETLAW, 0x4004da27),
            ("SETLINEAR", DAHDI_SETLINEAR, 0x4004da28),
            ("GETRXBITS", DAHDI_GETRXBITS, 0x8004da2b),
            ("SETTXBITS", DAHDI_SETTXBITS, 0x4004da2b),
            ("GETVERSION", DAHDI_GETVERSION, 0x80a0da39),
            // _IOW(0xDA, 92, int): not in the notes' table, computed from user.h.
            ("SETPOLARITY", DAHDI_SETPOLARITY, 0x4004da5c),
            ("STARTUP", DAHDI_STARTUP, 0x4004da63),
            ("SHUTDOWN", DAHDI_SHUTDOWN, 0x4004da64),
        ];
        for &(name, got, want) in table {
            assert_eq!(got, want, "DAHDI_{name}: {got:#010x}, C says {want:#010x}");
        }
    }

    #[test]
    fn struct_sizes_and_offsets_match_the_c_header() {
        assert_eq!(size_of::<DahdiParams>(), 136);
        assert_eq!(offset_of!(DahdiParams, name), 48);
        assert_eq!(offset_of!(DahdiParams, prewinktime), 88);
        assert_eq!(offset_of!(DahdiParams, chan_alarms), 132);

        assert_eq!(size_of::<DahdiSpaninfo>(), 314);
        assert_eq!(std::mem::align_of::<DahdiSpaninfo>(), 1);
        assert_eq!(offset_of!(DahdiSpaninfo, alarms), 64);
        assert_eq!(offset_of!(DahdiSpaninfo, fecount), 92);
        assert_eq!(offset_of!(DahdiSpaninfo, irqmisses), 112);
        assert_eq!(offset_of!(DahdiSpaninfo, lboname), 140);
        assert_eq!(offset_of!(DahdiSpaninfo, irq), 300);
        assert_eq!(offset_of!(DahdiSpaninfo, linecompat), 304);
        assert_eq!(offset_of!(DahdiSpaninfo, spantype), 308);

        assert_eq!(size_of::<DahdiBufferinfo>(), 24);
        assert_eq!(size_of::<DahdiVersioninfo>(), 160);
        assert_eq!(offset_of!(DahdiVersioninfo, echo_canceller), 80);
        assert_eq!(size_of::<DahdiEchocanparams>(), 8);
    }

    #[test]
    fn constants_match_the_notes() {
        assert_eq!(DAHDI_SIG_CAS, 0x8000);
        assert_eq!(DAHDI_SIG_HDLCFCS, 0x380);
        assert_eq!(DAHDI_SIG_CLEAR, 0x80);
        assert_eq!(DAHDI_SIG_EM, 0x40);
        assert_eq!(DAHDI_SIG_FXSKS, 0x2004);
        assert_eq!(DAHDI_SIG_FXOKS, 0x1020);
        assert_eq!(DAHDI_SIG_BROKEN as u32, 0x8000_0000);
        assert_eq!((DAHDI_ABIT | DAHDI_CBIT, DAHDI_BBIT | DAHDI_DBIT), (0xA, 0x5));
        assert_eq!(DAHDI_FLUSH_ALL, 7);
        assert_eq!((DAHDI_EVENT_PULSEDIGIT, DAHDI_EVENT_DTMFDOWN, DAHDI_EVENT_DTMFUP), (0x10000, 0x20000, 0x40000));
        assert_eq!((DAHDI_EVENT_BITSCHANGED, DAHDI_EVENT_WRITE_UNDERRUN), (13, 30));
    }

    #[test]
    fn alarm_bits_are_the_backend_traits() {
        let pairs = [
            (DAHDI_ALARM_RECOVER, Alarms::RECOVER, 1),
            (DAHDI_ALARM_LOOPBACK, Alarms::LOOPBACK, 2),
            (DAHDI_ALARM_YELLOW, Alarms::YELLOW, 4),
            (DAHDI_ALARM_RED, Alarms::RED, 8),
            (DAHDI_ALARM_BLUE, Alarms::BLUE, 0x10),
            (DAHDI_ALARM_NOTOPEN, Alarms::NOTOPEN, 0x20),
            (DAHDI_ALARM_LOS, Alarms::LOS, 0x100),
            (DAHDI_ALARM_LFA, Alarms::LFA, 0x200),
            (DAHDI_ALARM_LMFA, Alarms::LMFA, 0x400),
        ];
        for (d, a, v) in pairs {
            assert_eq!((d as u32, a), (v, v));
        }
        let a = alarms_from_raw(DAHDI_ALARM_RED | DAHDI_ALARM_LOS);
        assert!(a.is_down());
        assert_eq!(a.describe(), "RED,LOS");
        assert!(alarms_from_raw(DAHDI_ALARM_NONE).is_clear());
        let mut si = DahdiSpaninfo::zeroed();
        si.alarms = DAHDI_ALARM_YELLOW;
        assert_eq!(si.alarms(), Alarms(Alarms::YELLOW));
    }

    #[test]
    fn events_decode_and_round_trip() {
        assert_eq!(DahdiEvent::from_raw(0), None);
        assert_eq!(DahdiEvent::from_raw(1), Some(DahdiEvent::OnHook));
        assert_eq!(DahdiEvent::from_raw(8), Some(DahdiEvent::BadFcs));
        assert_eq!(DahdiEvent::from_raw(13), Some(DahdiEvent::BitsChanged));
        assert_eq!(DahdiEvent::from_raw(18), Some(DahdiEvent::RingBegin));
        assert_eq!(DahdiEvent::from_raw(30), Some(DahdiEvent::WriteUnderrun));
        assert_eq!(DahdiEvent::from_raw(31), Some(DahdiEvent::Unknown(31)));
        assert_eq!(DahdiEvent::from_raw(-1), Some(DahdiEvent::Unknown(-1)));
        assert_eq!(DahdiEvent::from_raw(DAHDI_EVENT_PULSEDIGIT | '5' as c_int), Some(DahdiEvent::PulseDigit(b'5')));
        assert_eq!(DahdiEvent::from_raw(DAHDI_EVENT_DTMFDOWN | '#' as c_int), Some(DahdiEvent::DtmfDown(b'#')));
        assert_eq!(DahdiEvent::from_raw(DAHDI_EVENT_DTMFUP | '*' as c_int), Some(DahdiEvent::DtmfUp(b'*')));
        // Two digit flags at once, or stray high bits: not a digit event we know.
        let odd = DAHDI_EVENT_DTMFDOWN | DAHDI_EVENT_DTMFUP | '1' as c_int;
        assert_eq!(DahdiEvent::from_raw(odd), Some(DahdiEvent::Unknown(odd)));
        assert_eq!(DahdiEvent::from_raw(1 << 20 | 1), Some(DahdiEvent::Unknown(1 << 20 | 1)));
        for v in (1..=31).chain([0x10030, 0x20041, 0x40023, 0x60031]) {
            let e = DahdiEvent::from_raw(v).unwrap();
            assert_eq!(e.to_raw(), v, "{e:?}");
        }
        // The table is in user.h's order.
        let named = [
            (DAHDI_EVENT_ONHOOK, DahdiEvent::OnHook),
            (DAHDI_EVENT_RINGOFFHOOK, DahdiEvent::RingOffHook),
            (DAHDI_EVENT_WINKFLASH, DahdiEvent::WinkFlash),
            (DAHDI_EVENT_ALARM, DahdiEvent::Alarm),
            (DAHDI_EVENT_NOALARM, DahdiEvent::NoAlarm),
            (DAHDI_EVENT_ABORT, DahdiEvent::Abort),
            (DAHDI_EVENT_OVERRUN, DahdiEvent::Overrun),
            (DAHDI_EVENT_DIALCOMPLETE, DahdiEvent::DialComplete),
            (DAHDI_EVENT_RINGERON, DahdiEvent::RingerOn),
            (DAHDI_EVENT_RINGEROFF, DahdiEvent::RingerOff),
            (DAHDI_EVENT_HOOKCOMPLETE, DahdiEvent::HookComplete),
            (DAHDI_EVENT_PULSE_START, DahdiEvent::PulseStart),
            (DAHDI_EVENT_TIMER_EXPIRED, DahdiEvent::TimerExpired),
            (DAHDI_EVENT_TIMER_PING, DahdiEvent::TimerPing),
            (DAHDI_EVENT_POLARITY, DahdiEvent::Polarity),
            (DAHDI_EVENT_EC_DISABLED, DahdiEvent::EcDisabled),
            (DAHDI_EVENT_REMOVED, DahdiEvent::Removed),
            (DAHDI_EVENT_NEONMWI_ACTIVE, DahdiEvent::NeonMwiActive),
            (DAHDI_EVENT_NEONMWI_INACTIVE, DahdiEvent::NeonMwiInactive),
            (DAHDI_EVENT_TX_CED_DETECTED, DahdiEvent::TxCedDetected),
            (DAHDI_EVENT_RX_CED_DETECTED, DahdiEvent::RxCedDetected),
            (DAHDI_EVENT_TX_CNG_DETECTED, DahdiEvent::TxCngDetected),
            (DAHDI_EVENT_RX_CNG_DETECTED, DahdiEvent::RxCngDetected),
            (DAHDI_EVENT_EC_NLP_DISABLED, DahdiEvent::EcNlpDisabled),
            (DAHDI_EVENT_EC_NLP_ENABLED, DahdiEvent::EcNlpEnabled),
            (DAHDI_EVENT_READ_OVERRUN, DahdiEvent::ReadOverrun),
        ];
        for (v, e) in named {
            assert_eq!(DahdiEvent::from_raw(v), Some(e));
        }
    }

    #[test]
    fn typed_arguments() {
        assert_eq!(HookOp::from(HookCmd::OffHook) as c_int, 1);
        assert_eq!(HookOp::from(HookCmd::OnHook) as c_int, 0);
        assert_eq!(HookOp::from(HookCmd::Flash) as c_int, 3);
        assert_eq!(HookOp::from(HookCmd::Ring) as c_int, 5);
        assert_eq!(HookOp::from(HookCmd::RingOff) as c_int, 6);
        assert_eq!((HookOp::Wink as c_int, HookOp::Start as c_int), (2, 4));
        assert_eq!(DahdiLaw::from(Law::Ulaw) as c_int, 1);
        assert_eq!(DahdiLaw::from(Law::Alaw) as c_int, 2);
        assert_eq!(DahdiLaw::Default as c_int, 0);
        // GETRXBITS values seen from the real driver: CAS 1101 reads 0xbd, a D-channel -1.
        assert_eq!(abcd_from_raw(0xbd), Abcd::parse("1101").unwrap());
        assert_eq!(abcd_from_raw(0xba).bits(), (DAHDI_ABIT | DAHDI_CBIT) as u8);
        assert_eq!(abcd_from_raw(-1).bits(), 0xf);
        assert_eq!(
            DahdiBufferinfo::immediate(32, 1024),
            DahdiBufferinfo { txbufpolicy: 0, rxbufpolicy: 0, numbufs: 32, bufsize: 1024, readbufs: 0, writebufs: 0 }
        );
    }

    #[test]
    fn strings_and_zeroed_structs() {
        let mut p = DahdiParams::zeroed();
        assert_eq!(p, DahdiParams::default());
        assert_eq!((p.channo, p.chan_alarms, p.name()), (0, 0, String::new()));
        p.name[..13].copy_from_slice(b"DYN/loc/1:0/3");
        assert_eq!(p.name(), "DYN/loc/1:0/3");
        let mut si = DahdiSpaninfo::zeroed();
        si.spantype.copy_from_slice(b"DYNAMI"); // full length, no NUL
        assert_eq!(si.spantype(), "DYNAMI");
        assert!(format!("{si:?}").contains("DYNAMI"));
        assert_eq!(DahdiVersioninfo::zeroed().version(), "");
        assert!(is_event_pending(&std::io::Error::from_raw_os_error(500)));
        assert!(!is_event_pending(&std::io::Error::from_raw_os_error(11)));
        assert_eq!(to_io(Errno::ENOTTY).raw_os_error(), Some(Errno::ENOTTY as i32));
    }

    #[test]
    fn a_non_dahdi_fd_gets_enotty_not_ub() {
        let f = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(channo(&f), Err(Errno::ENOTTY));
        assert_eq!(get_params(&f).err(), Some(Errno::ENOTTY));
        assert_eq!(span_stat(&f, 1).err(), Some(Errno::ENOTTY));
        assert_eq!(get_event(&f), Err(Errno::ENOTTY));
        assert_eq!(set_bufinfo(&f, &DahdiBufferinfo::immediate(4, 160)), Err(Errno::ENOTTY));
        assert_eq!(echocancel(&f, 128), Err(Errno::ENOTTY));
    }
}
