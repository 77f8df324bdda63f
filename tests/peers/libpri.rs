//! The real libpri 1.6 (Debian `libpri-dev`) as a peer for tests and benchmarks: one libpri
//! D-channel context on one end of an `AF_UNIX`/`SOCK_SEQPACKET` socketpair, with virtual
//! time.
//!
//! Include this file with `#[path = "peers/libpri.rs"] mod libpri;` from a test or bench
//! file (at most once per binary: it defines the C symbol `gettimeofday`). It is
//! self-contained: it links `-lpri` itself and needs only the `libc` crate.
//!
//! # The wire: one bare LAPD frame per datagram
//!
//! libpri was written for DAHDI's D-channel fds, which carry a frame *plus its 2 FCS bytes*:
//! libpri writes every frame followed by 2 placeholder FCS bytes (not a CRC), and on
//! read drops the last 2 bytes without checking them. This harness hides that: its read and
//! write callbacks strip the 2 bytes libpri appends on write and append 2 zero bytes to what
//! it hands libpri on read. So the bytes on the other end of the socketpair are **exactly
//! one LAPD frame (address, control, information), without FCS, per datagram**, both ways.
//!
//! # In our test
//!
//! ```ignore
//! #[path = "peers/libpri.rs"]
//! mod libpri;
//! use libpri::{Event, LibPri, Side};
//! use std::os::fd::AsRawFd;
//!
//! libpri::set_time_us(0); // this thread's libpri timers now run in virtual time
//! let (ours, theirs) = libpri::socketpair();
//! let mut pri = LibPri::new(theirs, Side::Network); // libpri is the network, we are the CPE
//! let mut buf = [0u8; 1024];
//! loop {
//!     // libpri -> our stack: one datagram = one LAPD frame (no FCS).
//!     loop {
//!         let n = unsafe { libc::recv(ours.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
//!         if n <= 0 { break }
//!         stack.receive_frame(&buf[..n as usize], libpri::time_us());
//!     }
//!     // our stack -> libpri: one datagram per frame.
//!     for frame in stack.take_frames() {
//!         unsafe { libc::send(ours.as_raw_fd(), frame.as_ptr().cast(), frame.len(), libc::MSG_DONTWAIT) };
//!     }
//!     for ev in pri.poll() {
//!         if let Event::Ring { call, channel, .. } = ev { pri.answer(call, channel) }
//!     }
//!     // Nothing left in flight (no datagram either way): jump to the next deadline.
//!     if !pri.readable() && !libpri::fd_readable(ours.as_raw_fd()) {
//!         let next = [stack.next_deadline_us(), pri.next_timer_us()].into_iter().flatten().min();
//!         libpri::set_time_us(next.expect("nothing left to happen"));
//!     }
//! }
//! ```
//!
//! # Virtual time
//!
//! libpri 1.6 reads the clock only through `gettimeofday()` (its scheduler: when a timer is
//! started, in `pri_schedule_run()`, and in the blocking `pri_dchannel_run()` we never use).
//! Its only other clock read is `time()` in the Date/Time IE, which it sends only on BRI
//! NT-PTMP (off for PRI), so the bytes on the wire do not depend on the real clock either.
//! This module *defines* `gettimeofday` in the executable; when the executable exports it
//! dynamically, the dynamic linker binds libpri's reference to it instead of glibc's.
//!
//! The virtual clock is **per thread** ([`set_time_us`], [`advance_us`], [`time_us`]): libpri
//! reads the clock of the thread that calls into it, and `cargo test` runs tests on parallel
//! threads, so a process-global clock would let two tests move each other's time. A thread
//! that never called [`set_time_us`] (or called [`use_real_time`]) sees the real clock, so
//! everything else in the process is unaffected. [`LibPri`] is `!Send`: it stays on the
//! thread whose clock it uses.
//!
//! **No `build.rs` line is needed**: when an executable defines a symbol that a shared
//! library in its link references (libpri.so needs `gettimeofday`), the linker puts it in
//! the executable's dynamic symbol table by itself. Checked with rustc 1.95 on Debian 12
//! with both rust-lld (the default linker since Rust 1.90) and GNU ld
//! (`-Clinker-features=-lld`), in test (debug) and bench (release) builds. Should an unusual
//! link setup hide the symbol, [`virtual_time_available`] is false, [`LibPri::new`] panics
//! in virtual-time mode, and the remedy is, in `build.rs`:
//!
//! ```text
//! println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic-symbol=gettimeofday");
//! println!("cargo:rustc-link-arg-benches=-Wl,--export-dynamic-symbol=gettimeofday");
//! ```
//!
//! (both linkers accept these, also for test binaries that do not include this module).
//!
//! # Channels
//!
//! libpri's API and events encode a channel as an `int`: bits 0–7 the B-channel, bits 8–15
//! the span (DS1) number, bit 16 "DS1 explicit" (Asterisk's `PVT_TO_CHANNEL(p) = prioffset |
//! (logicalspan << 8) | (mastertrunkgroup ? PRI_EXPLICIT (1 << 16) : 0)`), bit 17 "D-channel
//! call", bit 18 "held". `-1` means "no channel / any". On a single E1 (span 0, not
//! explicit) the value is just the number carried in the Channel Identification IE, which
//! for E1 is the **timeslot** number: B-channels 1–15 and 17–31 (timeslot 16 is the D-channel;
//! libpri's optional "logical" mapping, `pri_set_chan_mapping_logical`, is left off). So this
//! harness takes and reports a plain `u8` timeslot; events report `value & 0xff`, i.e.
//! `0xff` for "any"/none.
//!
//! # Calls and events
//!
//! A [`CallId`] names a libpri `q931_call*` without exposing it. libpri frees a call record
//! at the end of clearing; the harness checks every pointer against libpri's call pool
//! (`q931_is_call_valid`) after each step and forgets freed ones, so a stale `CallId` can
//! never reach a newer call that happens to reuse the address. The harness completes
//! clearing itself: on [`Event::Hangup`] (RELEASE or RELEASE COMPLETE received) it calls
//! `pri_hangup()` at once, which sends the RELEASE COMPLETE if one is owed and frees the
//! record, as every libpri application must. On [`Event::HangupReq`] (DISCONNECT received)
//! the test decides: call [`LibPri::hangup`] to send RELEASE. `pri_destroycall()` is never
//! needed in normal clearing. [`LibPri::live_calls`] counts the records still held.
//!
//! How libpri 1.6 reports clearing (measured, see the tests): the side that *receives*
//! RELEASE (or a RELEASE COMPLETE answering its SETUP) gets [`Event::Hangup`]; the side that
//! *sends* RELEASE (in answer to DISCONNECT, via [`LibPri::hangup`]) gets
//! [`Event::HangupAck`] when the RELEASE COMPLETE arrives. Both carry the cause. An incoming
//! call cleared before any response is a trap in libpri (it sends nothing for most causes):
//! see [`LibPri::hangup`]. RESTART is acknowledged by libpri itself ([`Event::Restart`] is
//! only a notice), and so is CONNECT (CONNECT ACKNOWLEDGE is sent before [`Event::Answer`]).
//!
//! # Limits
//!
//! libpri 1.6 has no function to free a context: dropping a [`LibPri`] closes its socket and
//! detaches the callbacks, but the `struct pri` and any call records still in it stay
//! allocated: 18 KB per context (valgrind; no per-call leak over 1000 calls). All libpri
//! calls go through one process-wide lock (libpri keeps a few unsynchronised globals).
//!
//! Needs the `libpri-dev` package (Debian 12 installs `/usr/lib/libpri.so`, found by the
//! linker's default search path) at build time and `libpri1.4` at run time.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    /// `struct pri` (opaque).
    #[repr(C)]
    pub struct Pri {
        _private: [u8; 0],
    }
    /// `q931_call` (opaque).
    #[repr(C)]
    pub struct Q931Call {
        _private: [u8; 0],
    }
    /// `struct pri_sr` (opaque).
    #[repr(C)]
    pub struct PriSr {
        _private: [u8; 0],
    }
    #[repr(C)]
    pub struct Timeval {
        pub tv_sec: libc::time_t,
        pub tv_usec: libc::suseconds_t,
    }

    pub type IoCb = unsafe extern "C" fn(*mut Pri, *mut c_void, c_int) -> c_int;
    pub type LogCb = unsafe extern "C" fn(*mut Pri, *mut c_char);

    pub const PRI_NETWORK: c_int = 1;
    pub const PRI_CPE: c_int = 2;
    pub const PRI_SWITCH_EUROISDN_E1: c_int = 5;
    pub const PRI_TRANS_CAP_SPEECH: c_int = 0x0;
    pub const PRI_LAYER_1_ALAW: c_int = 0x23;

    pub const PRI_EVENT_DCHAN_UP: c_int = 1;
    pub const PRI_EVENT_DCHAN_DOWN: c_int = 2;
    pub const PRI_EVENT_RESTART: c_int = 3;
    pub const PRI_EVENT_CONFIG_ERR: c_int = 4;
    pub const PRI_EVENT_RING: c_int = 5;
    pub const PRI_EVENT_HANGUP: c_int = 6;
    pub const PRI_EVENT_RINGING: c_int = 7;
    pub const PRI_EVENT_ANSWER: c_int = 8;
    pub const PRI_EVENT_HANGUP_ACK: c_int = 9;
    pub const PRI_EVENT_RESTART_ACK: c_int = 10;
    pub const PRI_EVENT_INFO_RECEIVED: c_int = 12;
    pub const PRI_EVENT_PROCEEDING: c_int = 13;
    pub const PRI_EVENT_SETUP_ACK: c_int = 14;
    pub const PRI_EVENT_HANGUP_REQ: c_int = 15;
    pub const PRI_EVENT_PROGRESS: c_int = 17;
    pub const PRI_EVENT_KEYPAD_DIGIT: c_int = 18;
    pub const PRI_EVENT_CONNECT_ACK: c_int = 27;

    #[link(name = "pri")]
    extern "C" {
        pub fn pri_new_cb(
            fd: c_int,
            nodetype: c_int,
            switchtype: c_int,
            io_read: IoCb,
            io_write: IoCb,
            userdata: *mut c_void,
        ) -> *mut Pri;
        pub fn pri_get_userdata(pri: *mut Pri) -> *mut c_void;
        pub fn pri_set_userdata(pri: *mut Pri, userdata: *mut c_void);
        pub fn pri_set_debug(pri: *mut Pri, debug: c_int);
        pub fn pri_set_message(func: LogCb);
        pub fn pri_set_error(func: LogCb);
        pub fn pri_check_event(pri: *mut Pri) -> *mut c_void;
        pub fn pri_schedule_next(pri: *mut Pri) -> *mut Timeval;
        pub fn pri_schedule_run(pri: *mut Pri) -> *mut c_void;
        pub fn pri_set_timer(pri: *mut Pri, timer: c_int, value: c_int) -> c_int;
        pub fn pri_get_timer(pri: *mut Pri, timer: c_int) -> c_int;
        pub fn pri_set_overlapdial(pri: *mut Pri, state: c_int);
        pub fn pri_dump_info_str(pri: *mut Pri) -> *mut c_char;
        pub fn pri_event2str(id: c_int) -> *mut c_char;

        pub fn pri_new_call(pri: *mut Pri) -> *mut Q931Call;
        pub fn pri_sr_new() -> *mut PriSr;
        pub fn pri_sr_free(sr: *mut PriSr);
        pub fn pri_sr_set_channel(sr: *mut PriSr, channel: c_int, exclusive: c_int, nonisdn: c_int) -> c_int;
        pub fn pri_sr_set_bearer(sr: *mut PriSr, transmode: c_int, userl1: c_int) -> c_int;
        pub fn pri_sr_set_called(sr: *mut PriSr, called: *mut c_char, calledplan: c_int, complete: c_int) -> c_int;
        pub fn pri_sr_set_caller(
            sr: *mut PriSr,
            caller: *mut c_char,
            callername: *mut c_char,
            callerplan: c_int,
            callerpres: c_int,
        ) -> c_int;
        pub fn pri_setup(pri: *mut Pri, call: *mut Q931Call, sr: *mut PriSr) -> c_int;
        pub fn pri_proceeding(pri: *mut Pri, call: *mut Q931Call, channel: c_int, info: c_int) -> c_int;
        pub fn pri_acknowledge(pri: *mut Pri, call: *mut Q931Call, channel: c_int, info: c_int) -> c_int;
        pub fn pri_progress(pri: *mut Pri, call: *mut Q931Call, channel: c_int, info: c_int) -> c_int;
        pub fn pri_setup_ack(
            pri: *mut Pri,
            call: *mut Q931Call,
            channel: c_int,
            nonisdn: c_int,
            inband: c_int,
        ) -> c_int;
        pub fn pri_answer(pri: *mut Pri, call: *mut Q931Call, channel: c_int, nonisdn: c_int) -> c_int;
        pub fn pri_information(pri: *mut Pri, call: *mut Q931Call, digit: c_char) -> c_int;
        pub fn pri_hangup(pri: *mut Pri, call: *mut Q931Call, cause: c_int) -> c_int;
        pub fn pri_reset(pri: *mut Pri, channel: c_int) -> c_int;
        /// Exported by libpri.so though declared only in its internal header.
        pub fn q931_is_call_valid(pri: *mut Pri, call: *mut Q931Call) -> c_int;
    }
}

use ffi::{Pri, Q931Call};

// ---------------------------------------------------------------------------------------
// Event layouts (prefixes of the members of `pri_event`, /usr/include/libpri.h, libpri 1.6).
// Only fields up to the last one we read are mirrored; we only ever read through a pointer
// into libpri's own `pri_event` (2976 bytes), never build one.

#[repr(C)]
struct EvRing {
    e: c_int,
    channel: c_int,
    callingpres: c_int,
    callingplanani: c_int,
    callingplan: c_int,
    callingani: [c_char; 256],
    callingnum: [c_char; 256],
    callingname: [c_char; 256],
    calledplan: c_int,
    ani2: c_int,
    callednum: [c_char; 256],
    redirectingnum: [c_char; 256],
    redirectingname: [c_char; 256],
    redirectingreason: c_int,
    callingplanrdnis: c_int,
    useruserinfo: [c_char; 260],
    flexible: c_int,
    cref: c_int,
    ctype: c_int,
    layer1: c_int,
    complete: c_int,
    call: *mut Q931Call,
}

#[repr(C)]
struct EvHangup {
    e: c_int,
    channel: c_int,
    cause: c_int,
    cref: c_int,
    call: *mut Q931Call,
}

/// `pri_event_ringing` and `pri_event_answer` (identical prefixes).
#[repr(C)]
struct EvRinging {
    e: c_int,
    channel: c_int,
    cref: c_int,
    progress: c_int,
    progressmask: c_int,
    call: *mut Q931Call,
}

/// `pri_event_proceeding` (also used for PROGRESS).
#[repr(C)]
struct EvProceeding {
    e: c_int,
    channel: c_int,
    cref: c_int,
    progress: c_int,
    progressmask: c_int,
    cause: c_int,
    call: *mut Q931Call,
}

/// `pri_event_setup_ack` and `struct pri_event_connect_ack` (identical prefixes).
#[repr(C)]
struct EvSetupAck {
    e: c_int,
    channel: c_int,
    call: *mut Q931Call,
}

/// `pri_event_restart` and `pri_event_restart_ack`.
#[repr(C)]
struct EvRestart {
    e: c_int,
    channel: c_int,
}

#[repr(C)]
struct EvKeypad {
    e: c_int,
    channel: c_int,
    call: *mut Q931Call,
    digits: [c_char; 64],
}

#[repr(C)]
struct EvError {
    e: c_int,
    err: [c_char; 256],
}

macro_rules! layout {
    ($c:literal, $measured:expr, $ours:expr) => {
        ($c, $measured, $ours)
    };
}

/// `(C expression, value measured with gcc on x86_64 against /usr/include/libpri.h, value
/// of the Rust mirror)`. The compile-time check below keeps columns 2 and 3 equal; the test
/// `c_layout_matches_header` compiles the C expressions with gcc (when present) and checks
/// column 2 against the real header. Measured with:
/// `printf("%zu\n", offsetof(pri_event_ring, call));` etc., `gcc lay.c && ./a.out`.
pub const LAYOUT: &[(&str, usize, usize)] = &[
    layout!("sizeof(pri_event)", 2976, 2976),
    layout!("offsetof(pri_event_ring, channel)", 4, std::mem::offset_of!(EvRing, channel)),
    layout!("offsetof(pri_event_ring, callingpres)", 8, std::mem::offset_of!(EvRing, callingpres)),
    layout!("offsetof(pri_event_ring, callingplan)", 16, std::mem::offset_of!(EvRing, callingplan)),
    layout!("offsetof(pri_event_ring, callingnum)", 276, std::mem::offset_of!(EvRing, callingnum)),
    layout!("offsetof(pri_event_ring, calledplan)", 788, std::mem::offset_of!(EvRing, calledplan)),
    layout!("offsetof(pri_event_ring, callednum)", 796, std::mem::offset_of!(EvRing, callednum)),
    layout!("offsetof(pri_event_ring, flexible)", 1832, std::mem::offset_of!(EvRing, flexible)),
    layout!("offsetof(pri_event_ring, cref)", 1836, std::mem::offset_of!(EvRing, cref)),
    layout!("offsetof(pri_event_ring, layer1)", 1844, std::mem::offset_of!(EvRing, layer1)),
    layout!("offsetof(pri_event_ring, complete)", 1848, std::mem::offset_of!(EvRing, complete)),
    layout!("offsetof(pri_event_ring, call)", 1856, std::mem::offset_of!(EvRing, call)),
    layout!("offsetof(pri_event_hangup, channel)", 4, std::mem::offset_of!(EvHangup, channel)),
    layout!("offsetof(pri_event_hangup, cause)", 8, std::mem::offset_of!(EvHangup, cause)),
    layout!("offsetof(pri_event_hangup, cref)", 12, std::mem::offset_of!(EvHangup, cref)),
    layout!("offsetof(pri_event_hangup, call)", 16, std::mem::offset_of!(EvHangup, call)),
    layout!("offsetof(pri_event_ringing, channel)", 4, std::mem::offset_of!(EvRinging, channel)),
    layout!("offsetof(pri_event_ringing, call)", 24, std::mem::offset_of!(EvRinging, call)),
    layout!("offsetof(pri_event_answer, channel)", 4, std::mem::offset_of!(EvRinging, channel)),
    layout!("offsetof(pri_event_answer, call)", 24, std::mem::offset_of!(EvRinging, call)),
    layout!("offsetof(pri_event_proceeding, channel)", 4, std::mem::offset_of!(EvProceeding, channel)),
    layout!("offsetof(pri_event_proceeding, cause)", 20, std::mem::offset_of!(EvProceeding, cause)),
    layout!("offsetof(pri_event_proceeding, call)", 24, std::mem::offset_of!(EvProceeding, call)),
    layout!("offsetof(pri_event_setup_ack, channel)", 4, std::mem::offset_of!(EvSetupAck, channel)),
    layout!("offsetof(pri_event_setup_ack, call)", 8, std::mem::offset_of!(EvSetupAck, call)),
    layout!("offsetof(struct pri_event_connect_ack, call)", 8, std::mem::offset_of!(EvSetupAck, call)),
    layout!("offsetof(pri_event_restart, channel)", 4, std::mem::offset_of!(EvRestart, channel)),
    layout!("offsetof(pri_event_restart_ack, channel)", 4, std::mem::offset_of!(EvRestart, channel)),
    layout!("offsetof(pri_event_keypad_digit, call)", 8, std::mem::offset_of!(EvKeypad, call)),
    layout!("offsetof(pri_event_keypad_digit, digits)", 16, std::mem::offset_of!(EvKeypad, digits)),
    layout!("offsetof(pri_event_error, err)", 4, std::mem::offset_of!(EvError, err)),
    layout!("sizeof(struct timeval)", 16, std::mem::size_of::<ffi::Timeval>()),
];

const _: () = {
    let mut i = 0;
    while i < LAYOUT.len() {
        assert!(LAYOUT[i].1 == LAYOUT[i].2, "Rust mirror of a libpri struct disagrees with the header");
        i += 1;
    }
    // Every mirrored prefix fits inside the union we read it from.
    assert!(std::mem::size_of::<EvRing>() <= 2976);
};

// ---------------------------------------------------------------------------------------
// Virtual clock.

thread_local! {
    /// `Some(us)`: this thread's virtual time; `None`: real time.
    static VIRTUAL_NOW: Cell<Option<u64>> = const { Cell::new(None) };
}

fn real_time_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Switches this thread to virtual time and sets it (microseconds; libpri sees it as the
/// Unix time `us / 1e6`). Time may also be set backwards, but libpri's running timers keep
/// their absolute expiry.
pub fn set_time_us(us: u64) {
    VIRTUAL_NOW.with(|c| c.set(Some(us)));
}

/// Advances this thread's virtual time (switching to virtual time at 0 if it was real).
pub fn advance_us(us: u64) {
    VIRTUAL_NOW.with(|c| c.set(Some(c.get().unwrap_or(0) + us)));
}

/// Switches this thread back to the real clock.
pub fn use_real_time() {
    VIRTUAL_NOW.with(|c| c.set(None));
}

/// This thread's time as libpri sees it, in microseconds.
pub fn time_us() -> u64 {
    VIRTUAL_NOW.with(Cell::get).unwrap_or_else(real_time_us)
}

/// Whether this thread is in virtual time.
pub fn is_virtual() -> bool {
    VIRTUAL_NOW.with(Cell::get).is_some()
}

/// Whether libpri's `gettimeofday` calls reach this module's clock, i.e. whether the
/// executable exports `gettimeofday` (see the module doc for the `build.rs` lines).
pub fn virtual_time_available() -> bool {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name has no other precondition;
    // it does the same global-scope lookup the dynamic linker did for libpri's reference.
    let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"gettimeofday".as_ptr()) };
    std::ptr::eq(found as *const (), gettimeofday as *const ())
}

/// The process's `gettimeofday`: this thread's virtual time, or the real time.
///
/// # Safety
/// `tv` must be null or point to a writable `struct timeval` (the C contract).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gettimeofday(tv: *mut libc::timeval, _tz: *mut c_void) -> c_int {
    // `try_with`: never panic across the C boundary, even during thread teardown.
    let us = VIRTUAL_NOW.try_with(Cell::get).ok().flatten().unwrap_or_else(real_time_us);
    if !tv.is_null() {
        // SAFETY: caller's contract: a non-null `tv` is writable.
        unsafe {
            (*tv).tv_sec = (us / 1_000_000) as libc::time_t;
            (*tv).tv_usec = (us % 1_000_000) as libc::suseconds_t;
        }
    }
    0
}

// ---------------------------------------------------------------------------------------
// Public types.

/// Which side of the interface libpri plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `PRI_NETWORK` (the exchange, "NT").
    Network,
    /// `PRI_CPE` (the user side, "TE").
    Cpe,
}

/// libpri timers and counters settable with `pri_set_timer` (values in ms, or a count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    N200,
    K,
    T200,
    T203,
    T301,
    T303,
    T305,
    T308,
    T309,
    T310,
    T313,
    T316,
    N316,
}

impl Timer {
    /// Index in libpri's `PRI_TIMER_*` enum (libpri.h 1.6; checked with gcc).
    fn index(self) -> c_int {
        match self {
            Timer::N200 => 0,
            Timer::K => 3,
            Timer::T200 => 4,
            Timer::T203 => 7,
            Timer::T301 => 9,
            Timer::T303 => 11,
            Timer::T305 => 13,
            Timer::T308 => 16,
            Timer::T309 => 17,
            Timer::T310 => 18,
            Timer::T313 => 19,
            Timer::T316 => 21,
            Timer::N316 => 53,
        }
    }
}

/// Calling-number presentation for [`LibPri::call`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presentation {
    /// `PRES_ALLOWED_USER_NUMBER_NOT_SCREENED` (0x00).
    Allowed,
    /// `PRES_RESTRICTED_USER_NUMBER_NOT_SCREENED` (0x20).
    Restricted,
    /// `PRES_NUMBER_NOT_AVAILABLE` (0x43).
    Unavailable,
}

impl Presentation {
    /// libpri's value (as reported in [`Event::Ring::calling_pres`]).
    pub fn raw(self) -> i32 {
        match self {
            Presentation::Allowed => 0x00,
            Presentation::Restricted => 0x20,
            Presentation::Unavailable => 0x43,
        }
    }
}

/// Type of number / numbering plan octet: national number, ISDN/E.164 plan.
pub const PLAN_NATIONAL_ISDN: i32 = 0x21;
/// International number, ISDN/E.164 plan.
pub const PLAN_INTERNATIONAL_ISDN: i32 = 0x11;
/// Subscriber ("local") number, ISDN/E.164 plan.
pub const PLAN_LOCAL_ISDN: i32 = 0x41;
/// Unknown type, unknown plan.
pub const PLAN_UNKNOWN: i32 = 0x00;

/// Debug flags for [`LibPri::set_debug`] (`PRI_DEBUG_*`).
pub const DEBUG_Q921_RAW: i32 = 1 << 0;
pub const DEBUG_Q921_DUMP: i32 = 1 << 1;
pub const DEBUG_Q921_STATE: i32 = 1 << 2;
pub const DEBUG_Q931_DUMP: i32 = 1 << 5;
pub const DEBUG_Q931_STATE: i32 = 1 << 6;
pub const DEBUG_Q931_ANOMALY: i32 = 1 << 7;

/// One libpri call (`q931_call*`), valid while libpri holds the call record. Ids are unique
/// in the process and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(u64);

impl CallId {
    /// The id an event carries when libpri gave no call pointer (not expected in practice).
    pub const NONE: CallId = CallId(0);
}

/// Everything needed for an outgoing SETUP ([`LibPri::dial`]).
#[derive(Clone, Copy, Debug)]
pub struct Dial<'a> {
    /// B-channel (E1 timeslot 1–15, 17–31).
    pub channel: u8,
    /// Channel Identification "exclusive" (else "preferred").
    pub exclusive: bool,
    pub called: &'a str,
    /// Type of number / plan octet, e.g. [`PLAN_NATIONAL_ISDN`].
    pub called_plan: i32,
    /// Empty: no Calling Party Number IE.
    pub calling: &'a str,
    pub calling_plan: i32,
    pub pres: Presentation,
    /// Send "Sending Complete". `false` (overlap sending) needs [`LibPri::set_overlap_dial`]:
    /// without it libpri adds Sending Complete to every EuroISDN SETUP anyway.
    pub complete: bool,
}

/// What libpri reported. Channels are E1 timeslots (`0xff`: none / any), see the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Q.921 multiple-frame established.
    DchanUp,
    DchanDown,
    /// Incoming SETUP. Answer with `proceeding`/`alerting`/`answer`/`setup_ack` or `hangup`.
    Ring {
        call: CallId,
        channel: u8,
        /// Channel Identification said "exclusive".
        exclusive: bool,
        called: String,
        called_plan: i32,
        calling: String,
        /// Octet 3a of the Calling Party Number: presentation (0x60) | screening (0x03).
        calling_pres: i32,
        /// Octet 3 of the Calling Party Number: type of number | numbering plan, e.g. 0x21.
        calling_plan: i32,
        /// Sending Complete was present.
        complete: bool,
        /// Q.931 call reference value.
        cref: i32,
    },
    /// CALL PROCEEDING received.
    Proceeding {
        call: CallId,
        channel: u8,
    },
    /// ALERTING received.
    Ringing {
        call: CallId,
        channel: u8,
    },
    /// PROGRESS received (or a DISCONNECT with in-band info, if enabled in libpri).
    Progress {
        call: CallId,
        channel: u8,
    },
    /// CONNECT received (libpri has already sent CONNECT ACKNOWLEDGE).
    Answer {
        call: CallId,
        channel: u8,
    },
    /// CONNECT ACKNOWLEDGE received (libpri reports it only when enabled; rare).
    ConnectAck {
        call: CallId,
    },
    /// DISCONNECT received: call [`LibPri::hangup`] to send RELEASE.
    HangupReq {
        call: CallId,
        cause: i32,
    },
    /// RELEASE / RELEASE COMPLETE received (or clearing by a timer). The harness has already
    /// called `pri_hangup()`; the call is gone.
    Hangup {
        call: CallId,
        cause: i32,
    },
    /// Clearing we started has completed (RELEASE COMPLETE); the call is gone.
    HangupAck {
        call: CallId,
        cause: i32,
    },
    /// RESTART received for this channel (libpri sends RESTART ACKNOWLEDGE itself).
    Restart {
        channel: u8,
    },
    /// RESTART ACKNOWLEDGE received.
    RestartAck {
        channel: u8,
    },
    /// SETUP ACKNOWLEDGE received: send digits with [`LibPri::information`].
    SetupAck {
        call: CallId,
        channel: u8,
    },
    /// INFORMATION with called-number digits (overlap receiving).
    InfoReceived {
        call: CallId,
        digits: String,
        complete: bool,
    },
    /// INFORMATION with keypad digits.
    KeypadDigit {
        call: CallId,
        digits: String,
    },
    /// `PRI_EVENT_CONFIG_ERR` with libpri's text.
    ConfigErr(String),
    /// Any other `PRI_EVENT_*` number.
    Other(i32),
}

impl Event {
    /// The call the event is about, if any.
    pub fn call(&self) -> Option<CallId> {
        match *self {
            Event::Ring { call, .. }
            | Event::Proceeding { call, .. }
            | Event::Ringing { call, .. }
            | Event::Progress { call, .. }
            | Event::Answer { call, .. }
            | Event::ConnectAck { call }
            | Event::HangupReq { call, .. }
            | Event::Hangup { call, .. }
            | Event::HangupAck { call, .. }
            | Event::SetupAck { call, .. }
            | Event::InfoReceived { call, .. }
            | Event::KeypadDigit { call, .. } => Some(call),
            _ => None,
        }
    }
}

/// libpri's name of an event number (`pri_event2str`), for messages.
pub fn event_name(e: i32) -> String {
    // SAFETY: pri_event2str returns a pointer to a static NUL-terminated string for any id.
    unsafe { CStr::from_ptr(ffi::pri_event2str(e)) }.to_string_lossy().into_owned()
}

/// An `AF_UNIX` `SOCK_SEQPACKET` socketpair (close-on-exec): one end for [`LibPri::new`],
/// the other for whoever plays the far end.
pub fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` is a writable array of two ints, as socketpair(2) requires.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "socketpair: {}", std::io::Error::last_os_error());
    // SAFETY: socketpair succeeded, so both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Whether `fd` has a datagram (or EOF) waiting.
pub fn fd_readable(fd: RawFd) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLIN | libc::POLLHUP) != 0
}

// ---------------------------------------------------------------------------------------
// The context.

/// libpri keeps unsynchronised globals (scheduler pool ids, a static dump buffer, the log
/// hooks): every call into it holds this lock.
static LIBPRI_LOCK: Mutex<()> = Mutex::new(());
static LOG_HOOKS: Once = Once::new();
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

fn lock() -> MutexGuard<'static, ()> {
    LIBPRI_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Largest datagram accepted (LAPD N201 is 260 octets + 4 of header; libpri reads into 1024).
const MAX_FRAME: usize = 1022;
/// Causes with which `pri_hangup` answers a fresh incoming SETUP with RELEASE COMPLETE
/// (q931.c `__q931_hangup`, hangup fix off).
const REL_COMPLETE_CAUSES: [i32; 6] = [1, 34, 44, 81, 82, 88];
const MAX_LOG: usize = 1 << 20;

/// State the C callbacks reach through libpri's userdata pointer. Shared (`&Inner`) only;
/// mutation through `Cell`/`RefCell`.
struct Inner {
    fd: OwnedFd,
    /// The frame `poll` read, for the read callback to hand to libpri (`rx_len` > 0).
    rx: RefCell<[u8; MAX_FRAME]>,
    rx_len: Cell<usize>,
    log: RefCell<String>,
    echo: bool,
    frames_in: Cell<u64>,
    frames_out: Cell<u64>,
    write_errors: Cell<u64>,
}

impl Inner {
    fn push_log(&self, prefix: &str, msg: &str) {
        if self.echo {
            eprint!("[libpri {:p}] {prefix}{msg}", self);
        }
        if let Ok(mut log) = self.log.try_borrow_mut() {
            if log.len() > MAX_LOG {
                let cut = log.len() - MAX_LOG / 2;
                let cut = (cut..log.len()).find(|&i| log.is_char_boundary(i)).unwrap_or(0);
                log.drain(..cut);
            }
            log.push_str(prefix);
            log.push_str(msg);
        }
    }
}

/// The `Inner` of a context, if libpri has one attached.
///
/// # Safety
/// `pri` must be null or a live libpri context whose userdata is null or a live `Inner`.
unsafe fn inner_of<'a>(pri: *mut Pri) -> Option<&'a Inner> {
    if pri.is_null() {
        return None;
    }
    // SAFETY: caller's contract: `pri` is a live context.
    let ud = unsafe { ffi::pri_get_userdata(pri) } as *const Inner;
    // SAFETY: caller's contract: userdata is null or a live Inner (LibPri detaches it in Drop
    // before freeing it).
    unsafe { ud.as_ref() }
}

unsafe extern "C" fn read_cb(pri: *mut Pri, buf: *mut c_void, buflen: c_int) -> c_int {
    // SAFETY: libpri passes its own live context; our userdata is attached until Drop.
    let Some(inner) = (unsafe { inner_of(pri) }) else { return 0 };
    let Ok(frame) = inner.rx.try_borrow() else { return 0 };
    let n = inner.rx_len.replace(0).min((buflen.max(2) - 2) as usize);
    if n == 0 {
        return 0;
    }
    // SAFETY: libpri's buffer is writable for `buflen` bytes and n + 2 <= buflen.
    unsafe {
        std::ptr::copy_nonoverlapping(frame.as_ptr(), buf.cast::<u8>(), n);
        // The 2 FCS bytes libpri drops unchecked.
        std::ptr::write_bytes(buf.cast::<u8>().add(n), 0, 2);
    }
    (n + 2) as c_int
}

unsafe extern "C" fn write_cb(pri: *mut Pri, buf: *mut c_void, buflen: c_int) -> c_int {
    // SAFETY: as in read_cb.
    let Some(inner) = (unsafe { inner_of(pri) }) else { return 0 };
    // libpri appends 2 placeholder FCS bytes: send the frame without them.
    let len = (buflen.max(2) - 2) as usize;
    // SAFETY: `buf` is readable for `buflen` >= len bytes; the fd is open while Inner lives.
    let sent =
        unsafe { libc::send(inner.fd.as_raw_fd(), buf.cast_const(), len, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
    if sent == len as isize {
        inner.frames_out.set(inner.frames_out.get() + 1);
        buflen
    } else {
        inner.write_errors.set(inner.write_errors.get() + 1);
        inner.push_log("harness: ", &format!("send failed: {}\n", std::io::Error::last_os_error()));
        0
    }
}

unsafe fn log_text<'a>(msg: *mut c_char) -> std::borrow::Cow<'a, str> {
    if msg.is_null() {
        return "".into();
    }
    // SAFETY: caller passes libpri's NUL-terminated message.
    unsafe { CStr::from_ptr(msg) }.to_string_lossy()
}

unsafe extern "C" fn message_cb(pri: *mut Pri, msg: *mut c_char) {
    // SAFETY: libpri passes null or a live context, and a NUL-terminated string.
    if let Some(inner) = unsafe { inner_of(pri) } {
        inner.push_log("", &unsafe { log_text(msg) });
    }
}

unsafe extern "C" fn error_cb(pri: *mut Pri, msg: *mut c_char) {
    // SAFETY: as in message_cb.
    if let Some(inner) = unsafe { inner_of(pri) } {
        inner.push_log("ERROR: ", &unsafe { log_text(msg) });
    }
}

/// One libpri D-channel context (E1, EuroISDN) on one end of a SEQPACKET socketpair.
pub struct LibPri {
    ctrl: NonNull<Pri>,
    inner: NonNull<Inner>,
    side: Side,
    calls: HashMap<CallId, *mut Q931Call>,
    by_ptr: HashMap<usize, CallId>,
    /// Incoming calls not yet answered with any message (see [`LibPri::hangup`]).
    fresh: HashSet<CallId>,
    overlap: bool,
}

impl LibPri {
    /// Creates a context on `fd` (our end of the wire is the other fd of the pair). The wire
    /// carries bare LAPD frames, one per datagram, no FCS. libpri sends SABME (CPE) or
    /// starts T200 at once. Set `LIBPRI_HARNESS_LOG=1` to echo libpri's log to stderr.
    ///
    /// Panics if this thread is in virtual time but the executable does not export
    /// `gettimeofday` (see the module doc).
    pub fn new(fd: OwnedFd, side: Side) -> LibPri {
        assert!(
            !is_virtual() || virtual_time_available(),
            "libpri harness: virtual time requested but the executable does not export gettimeofday, so \
             libpri would read the real clock. Add to build.rs:\n\
             println!(\"cargo:rustc-link-arg-tests=-Wl,--export-dynamic-symbol=gettimeofday\");\n\
             println!(\"cargo:rustc-link-arg-benches=-Wl,--export-dynamic-symbol=gettimeofday\");\n\
             or call use_real_time() first"
        );
        let echo = std::env::var_os("LIBPRI_HARNESS_LOG").is_some_and(|v| v != "0");
        let inner = Box::new(Inner {
            fd,
            rx: RefCell::new([0; MAX_FRAME]),
            rx_len: Cell::new(0),
            log: RefCell::new(String::new()),
            echo,
            frames_in: Cell::new(0),
            frames_out: Cell::new(0),
            write_errors: Cell::new(0),
        });
        let inner = NonNull::from(Box::leak(inner));
        let _g = lock();
        LOG_HOOKS.call_once(|| {
            // SAFETY: both hooks are valid for the whole process and never unwind.
            unsafe {
                ffi::pri_set_message(message_cb);
                ffi::pri_set_error(error_cb);
            }
        });
        let nodetype = match side {
            Side::Network => ffi::PRI_NETWORK,
            Side::Cpe => ffi::PRI_CPE,
        };
        // SAFETY: the callbacks match pri_io_cb; userdata is a live Inner that outlives the
        // context's use (detached in Drop). fd -1: libpri touches its fd only in its default
        // I/O functions and blocking wait, both unused with callbacks.
        let ctrl = unsafe {
            ffi::pri_new_cb(-1, nodetype, ffi::PRI_SWITCH_EUROISDN_E1, read_cb, write_cb, inner.as_ptr().cast())
        };
        let Some(ctrl) = NonNull::new(ctrl) else {
            // SAFETY: libpri did not keep the pointer; it came from Box::leak above.
            drop(unsafe { Box::from_raw(inner.as_ptr()) });
            panic!("pri_new_cb failed");
        };
        LibPri {
            ctrl,
            inner,
            side,
            calls: HashMap::new(),
            by_ptr: HashMap::new(),
            fresh: HashSet::new(),
            overlap: false,
        }
    }

    fn inner(&self) -> &Inner {
        // SAFETY: `inner` is live from new() to Drop and only ever shared.
        unsafe { self.inner.as_ref() }
    }

    fn ctrl(&self) -> *mut Pri {
        self.ctrl.as_ptr()
    }

    pub fn side(&self) -> Side {
        self.side
    }

    /// Sets a libpri timer (ms) or counter (`N200`, `K`, `N316`).
    pub fn set_timer(&mut self, timer: Timer, value: i32) {
        let _g = lock();
        // SAFETY: ctrl is a live context.
        let rc = unsafe { ffi::pri_set_timer(self.ctrl(), timer.index(), value) };
        assert_eq!(rc, 0, "pri_set_timer({timer:?}, {value})");
    }

    /// A libpri timer (ms) or counter.
    pub fn timer(&self, timer: Timer) -> i32 {
        let _g = lock();
        // SAFETY: ctrl is a live context.
        unsafe { ffi::pri_get_timer(self.ctrl(), timer.index()) }
    }

    /// `PRI_DEBUG_*` flags (e.g. `DEBUG_Q921_RAW | DEBUG_Q931_DUMP`); output goes to the log
    /// ([`take_log`](Self::take_log), or stderr with `LIBPRI_HARNESS_LOG=1`).
    pub fn set_debug(&mut self, flags: i32) {
        let _g = lock();
        // SAFETY: ctrl is a live context.
        unsafe { ffi::pri_set_debug(self.ctrl(), flags) };
    }

    /// Overlap dialling: send SETUP without Sending Complete when [`Dial::complete`] is false
    /// (and only then; without this libpri adds it to every EuroISDN SETUP).
    pub fn set_overlap_dial(&mut self, on: bool) {
        let _g = lock();
        // SAFETY: ctrl is a live context.
        unsafe { ffi::pri_set_overlapdial(self.ctrl(), on as c_int) };
        self.overlap = on;
    }

    /// libpri's messages and errors so far (errors prefixed `ERROR: `), emptied.
    pub fn take_log(&mut self) -> String {
        std::mem::take(&mut *self.inner().log.borrow_mut())
    }

    /// `pri_dump_info_str`: libpri's counters and state.
    pub fn info(&self) -> String {
        let _g = lock();
        // SAFETY: ctrl is a live context; the result is NULL or a malloc'd C string we own.
        unsafe {
            let s = ffi::pri_dump_info_str(self.ctrl());
            if s.is_null() {
                return String::new();
            }
            let text = CStr::from_ptr(s).to_string_lossy().into_owned();
            libc::free(s.cast());
            text
        }
    }

    /// Frames received from / sent to the wire, and failed sends.
    pub fn frame_counts(&self) -> (u64, u64, u64) {
        let i = self.inner();
        (i.frames_in.get(), i.frames_out.get(), i.write_errors.get())
    }

    /// Whether a frame (or EOF) is waiting on libpri's socket.
    pub fn readable(&self) -> bool {
        fd_readable(self.inner().fd.as_raw_fd())
    }

    /// Absolute time (µs, this thread's clock) of libpri's next timer.
    pub fn next_timer_us(&self) -> Option<u64> {
        let _g = lock();
        // SAFETY: ctrl is a live context; the result is null or points into libpri's timer
        // table, which we read before any other libpri call.
        let tv = unsafe { ffi::pri_schedule_next(self.ctrl()).as_ref() }?;
        Some((tv.tv_sec * 1_000_000 + tv.tv_usec).max(0) as u64) // time_t, suseconds_t: i64 on x86_64
    }

    /// Call records libpri still holds among those this harness has seen.
    pub fn live_calls(&self) -> usize {
        self.calls.len()
    }

    /// Reads every pending frame (non-blocking), runs due timers, and returns the events.
    pub fn poll(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let fd = self.inner().fd.as_raw_fd();
        loop {
            let n = {
                let mut rx = self.inner().rx.borrow_mut();
                // SAFETY: `rx` is writable for MAX_FRAME bytes; fd is open while self lives.
                // MSG_TRUNC: returns the datagram's real length even if longer.
                unsafe { libc::recv(fd, rx.as_mut_ptr().cast(), MAX_FRAME, libc::MSG_DONTWAIT | libc::MSG_TRUNC) }
            };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                match err.kind() {
                    std::io::ErrorKind::WouldBlock => break,
                    std::io::ErrorKind::Interrupted => continue,
                    _ => panic!("libpri harness: recv: {err}"),
                }
            }
            if n == 0 {
                break; // EOF (peer closed) or an empty datagram: nothing for libpri
            }
            let n = n as usize;
            if n > MAX_FRAME {
                self.inner().push_log("harness: ", "frame longer than 1022 octets truncated\n");
            }
            let inner = self.inner();
            inner.frames_in.set(inner.frames_in.get() + 1);
            inner.rx_len.set(n.min(MAX_FRAME));
            let _g = lock();
            // SAFETY: ctrl is live; the returned event (if any) is read before the next call.
            let ev = unsafe { ffi::pri_check_event(self.ctrl()) };
            self.inner().rx_len.set(0);
            self.take_event(ev, &mut events);
        }
        let _g = lock();
        loop {
            // SAFETY: ctrl is live; as above.
            let ev = unsafe { ffi::pri_schedule_run(self.ctrl()) };
            if ev.is_null() {
                break;
            }
            self.take_event(ev, &mut events);
        }
        events
    }

    /// Converts libpri's current event, completes clearing on HANGUP, forgets freed calls.
    /// The caller holds the lock.
    fn take_event(&mut self, ev: *mut c_void, out: &mut Vec<Event>) {
        if !ev.is_null() {
            // SAFETY: `ev` is libpri's live `pri_event` (2976 bytes, 8-aligned); every view
            // below is a prefix of the member that `e` selects (layouts checked above), and
            // it is read before any further libpri call.
            let event = unsafe { self.convert(ev) };
            if let Event::Ring { call, .. } = event {
                self.fresh.insert(call);
            }
            if let Event::Hangup { call, cause } = event {
                if let Some(&p) = self.calls.get(&call) {
                    // SAFETY: ctrl is live; `p` is still in libpri's pool (not yet pruned,
                    // and libpri validates it again).
                    unsafe { ffi::pri_hangup(self.ctrl(), p, cause) };
                }
            }
            out.push(event);
        }
        self.prune();
    }

    /// # Safety
    /// `ev` points to libpri's current `pri_event`.
    unsafe fn convert(&mut self, ev: *mut c_void) -> Event {
        // SAFETY (whole function): see take_event.
        unsafe {
            let e = *(ev as *const c_int);
            match e {
                ffi::PRI_EVENT_DCHAN_UP => Event::DchanUp,
                ffi::PRI_EVENT_DCHAN_DOWN => Event::DchanDown,
                ffi::PRI_EVENT_RING => {
                    let r = &*(ev as *const EvRing);
                    Event::Ring {
                        call: self.id_for(r.call),
                        channel: chan(r.channel),
                        exclusive: r.flexible == 0,
                        called: c_field(&r.callednum),
                        called_plan: r.calledplan,
                        calling: c_field(&r.callingnum),
                        calling_pres: r.callingpres,
                        calling_plan: r.callingplan,
                        complete: r.complete != 0,
                        cref: r.cref,
                    }
                }
                ffi::PRI_EVENT_RINGING | ffi::PRI_EVENT_ANSWER => {
                    let r = &*(ev as *const EvRinging);
                    let (call, channel) = (self.id_for(r.call), chan(r.channel));
                    if e == ffi::PRI_EVENT_RINGING {
                        Event::Ringing { call, channel }
                    } else {
                        Event::Answer { call, channel }
                    }
                }
                ffi::PRI_EVENT_PROCEEDING | ffi::PRI_EVENT_PROGRESS => {
                    let r = &*(ev as *const EvProceeding);
                    let (call, channel) = (self.id_for(r.call), chan(r.channel));
                    if e == ffi::PRI_EVENT_PROCEEDING {
                        Event::Proceeding { call, channel }
                    } else {
                        Event::Progress { call, channel }
                    }
                }
                ffi::PRI_EVENT_HANGUP | ffi::PRI_EVENT_HANGUP_REQ | ffi::PRI_EVENT_HANGUP_ACK => {
                    let r = &*(ev as *const EvHangup);
                    let (call, cause) = (self.id_for(r.call), r.cause);
                    match e {
                        ffi::PRI_EVENT_HANGUP => Event::Hangup { call, cause },
                        ffi::PRI_EVENT_HANGUP_REQ => Event::HangupReq { call, cause },
                        _ => Event::HangupAck { call, cause },
                    }
                }
                ffi::PRI_EVENT_RESTART => Event::Restart { channel: chan((*(ev as *const EvRestart)).channel) },
                ffi::PRI_EVENT_RESTART_ACK => Event::RestartAck { channel: chan((*(ev as *const EvRestart)).channel) },
                ffi::PRI_EVENT_SETUP_ACK => {
                    let r = &*(ev as *const EvSetupAck);
                    Event::SetupAck { call: self.id_for(r.call), channel: chan(r.channel) }
                }
                ffi::PRI_EVENT_CONNECT_ACK => {
                    let r = &*(ev as *const EvSetupAck);
                    Event::ConnectAck { call: self.id_for(r.call) }
                }
                ffi::PRI_EVENT_INFO_RECEIVED => {
                    let r = &*(ev as *const EvRing);
                    Event::InfoReceived {
                        call: self.id_for(r.call),
                        digits: c_field(&r.callednum),
                        complete: r.complete != 0,
                    }
                }
                ffi::PRI_EVENT_KEYPAD_DIGIT => {
                    let r = &*(ev as *const EvKeypad);
                    Event::KeypadDigit { call: self.id_for(r.call), digits: c_field(&r.digits) }
                }
                ffi::PRI_EVENT_CONFIG_ERR => Event::ConfigErr(c_field(&(*(ev as *const EvError)).err)),
                other => Event::Other(other),
            }
        }
    }

    fn id_for(&mut self, p: *mut Q931Call) -> CallId {
        if p.is_null() {
            return CallId::NONE;
        }
        if let Some(&id) = self.by_ptr.get(&(p as usize)) {
            return id;
        }
        let id = CallId(NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed));
        self.calls.insert(id, p);
        self.by_ptr.insert(p as usize, id);
        id
    }

    /// Forgets calls libpri has freed. The caller holds the lock.
    fn prune(&mut self) {
        let ctrl = self.ctrl();
        let by_ptr = &mut self.by_ptr;
        self.calls.retain(|_, p| {
            // SAFETY: ctrl is live; q931_is_call_valid only compares `p` with the pool's
            // pointers, never dereferences it.
            let alive = unsafe { ffi::q931_is_call_valid(ctrl, *p) } != 0;
            if !alive {
                by_ptr.remove(&(*p as usize));
            }
            alive
        });
        let calls = &self.calls;
        self.fresh.retain(|id| calls.contains_key(id));
    }

    /// The live call record of `call`; panics on an id libpri has already freed.
    fn ptr(&self, call: CallId, what: &str) -> *mut Q931Call {
        match self.calls.get(&call) {
            Some(&p) => p,
            None => panic!("libpri harness: {what} on {call:?}, which libpri no longer holds (already cleared?)"),
        }
    }

    /// Runs a libpri action on `call`, asserting success; the caller's closure gets the lock.
    fn act(&mut self, call: CallId, what: &str, f: impl FnOnce(*mut Pri, *mut Q931Call) -> c_int) {
        let p = self.ptr(call, what);
        // Any message sent on an incoming call answers its SETUP (hangup checks before).
        self.fresh.remove(&call);
        let _g = lock();
        let rc = f(self.ctrl(), p);
        self.prune();
        assert_eq!(rc, 0, "libpri harness: {what} on {call:?} failed ({rc}); log:\n{}", self.inner().log.borrow());
    }

    /// Places a call (SETUP, Sending Complete, speech A-law, national ISDN numbers).
    pub fn call(&mut self, channel: u8, exclusive: bool, called: &str, calling: &str, pres: Presentation) -> CallId {
        self.dial(&Dial {
            channel,
            exclusive,
            called,
            called_plan: PLAN_NATIONAL_ISDN,
            calling,
            calling_plan: PLAN_NATIONAL_ISDN,
            pres,
            complete: true,
        })
    }

    /// Places a call with every parameter given.
    pub fn dial(&mut self, d: &Dial) -> CallId {
        assert!(d.complete || self.overlap, "Dial::complete = false needs set_overlap_dial(true)");
        let called = CString::new(d.called).expect("called number has a NUL");
        let calling = CString::new(d.calling).expect("calling number has a NUL");
        let _g = lock();
        // SAFETY: ctrl is live; `sr` is created, filled and freed here; libpri copies the
        // number strings into `sr` (it never writes through the `char *`); `call` comes from
        // pri_new_call on this context.
        let (call, rc) = unsafe {
            let call = ffi::pri_new_call(self.ctrl());
            assert!(!call.is_null(), "pri_new_call failed");
            let sr = ffi::pri_sr_new();
            assert!(!sr.is_null(), "pri_sr_new failed");
            ffi::pri_sr_set_channel(sr, d.channel as c_int, d.exclusive as c_int, 0);
            ffi::pri_sr_set_bearer(sr, ffi::PRI_TRANS_CAP_SPEECH, ffi::PRI_LAYER_1_ALAW);
            ffi::pri_sr_set_called(sr, called.as_ptr().cast_mut(), d.called_plan, d.complete as c_int);
            if !d.calling.is_empty() {
                ffi::pri_sr_set_caller(
                    sr,
                    calling.as_ptr().cast_mut(),
                    std::ptr::null_mut(),
                    d.calling_plan,
                    d.pres.raw(),
                );
            }
            let rc = ffi::pri_setup(self.ctrl(), call, sr);
            ffi::pri_sr_free(sr);
            if rc != 0 {
                ffi::pri_hangup(self.ctrl(), call, -1);
            }
            (call, rc)
        };
        assert_eq!(rc, 0, "pri_setup failed; log:\n{}", self.inner().log.borrow());
        let id = self.id_for(call);
        self.prune();
        id
    }

    /// CALL PROCEEDING on `channel`.
    pub fn proceeding(&mut self, call: CallId, channel: u8) {
        // SAFETY (closure): ctrl is live and `p` is one of its call records (act checks).
        self.act(call, "proceeding", |ctrl, p| unsafe { ffi::pri_proceeding(ctrl, p, channel as c_int, 0) });
    }

    /// ALERTING on `channel`, with "in-band information available" if `inband`.
    pub fn alerting(&mut self, call: CallId, channel: u8, inband: bool) {
        // SAFETY (closure): as in proceeding.
        self.act(call, "alerting", |ctrl, p| unsafe {
            ffi::pri_acknowledge(ctrl, p, channel as c_int, inband as c_int)
        });
    }

    /// PROGRESS with "in-band information available".
    pub fn progress(&mut self, call: CallId, channel: u8) {
        // SAFETY (closure): as in proceeding.
        self.act(call, "progress", |ctrl, p| unsafe { ffi::pri_progress(ctrl, p, channel as c_int, 1) });
    }

    /// SETUP ACKNOWLEDGE (overlap receiving): the caller sends more digits.
    pub fn setup_ack(&mut self, call: CallId, channel: u8) {
        // SAFETY (closure): as in proceeding.
        self.act(call, "setup_ack", |ctrl, p| unsafe { ffi::pri_setup_ack(ctrl, p, channel as c_int, 0, 0) });
    }

    /// CONNECT on `channel`.
    pub fn answer(&mut self, call: CallId, channel: u8) {
        // SAFETY (closure): as in proceeding.
        self.act(call, "answer", |ctrl, p| unsafe { ffi::pri_answer(ctrl, p, channel as c_int, 0) });
    }

    /// Clears with `cause` (DISCONNECT, or RELEASE after a DISCONNECT was received, or
    /// RELEASE COMPLETE as libpri's state requires). A no-op for a call libpri no longer holds.
    ///
    /// An incoming call that has not been answered with any message yet (no `proceeding`,
    /// `alerting`, `progress`, `setup_ack`, `answer`) can only be rejected with a cause libpri
    /// turns into RELEASE COMPLETE: 1, 34, 44, 81, 82 or 88. With any other cause libpri 1.6
    /// sends *nothing* and keeps the call record (the caller would wait for T303), so this
    /// panics instead: send `proceeding` first to reject with DISCONNECT (e.g. busy, 17).
    pub fn hangup(&mut self, call: CallId, cause: i32) {
        if !self.calls.contains_key(&call) {
            return;
        }
        assert!(
            !self.fresh.contains(&call) || REL_COMPLETE_CAUSES.contains(&cause),
            "libpri harness: hangup({call:?}, {cause}) of an incoming call before any response: libpri 1.6 \
             would send nothing; send proceeding() first, or use one of {REL_COMPLETE_CAUSES:?}"
        );
        // SAFETY (closure): as in proceeding.
        self.act(call, "hangup", |ctrl, p| unsafe { ffi::pri_hangup(ctrl, p, cause) });
    }

    /// Overlap sending: one INFORMATION per digit (as libpri does it).
    pub fn information(&mut self, call: CallId, digits: &str) {
        for d in digits.bytes() {
            // SAFETY (closure): as in proceeding.
            self.act(call, "information", |ctrl, p| unsafe { ffi::pri_information(ctrl, p, d as c_char) });
        }
    }

    /// RESTART of one B-channel (libpri retransmits it on T316 only if T316 > 0).
    pub fn restart(&mut self, channel: u8) {
        let _g = lock();
        // SAFETY: ctrl is live.
        let rc = unsafe { ffi::pri_reset(self.ctrl(), channel as c_int) };
        self.prune();
        assert_eq!(rc, 0, "pri_reset({channel}) failed");
    }
}

impl Drop for LibPri {
    fn drop(&mut self) {
        {
            let _g = lock();
            // SAFETY: ctrl is live; after this libpri's callbacks find no Inner (and we never
            // call into this context again). libpri 1.6 has no destructor: the context leaks.
            unsafe { ffi::pri_set_userdata(self.ctrl(), std::ptr::null_mut()) };
        }
        // SAFETY: `inner` came from Box::leak in new(); nothing references it any more.
        drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
    }
}

fn chan(encoded: c_int) -> u8 {
    (encoded & 0xff) as u8
}

fn c_field(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// Benchmark.

/// Runs `n` complete calls libpri CPE → libpri NT in this process as fast as possible:
/// SETUP, CALL PROCEEDING, ALERTING, CONNECT, CONNECT ACK, DISCONNECT (16), RELEASE,
/// RELEASE COMPLETE, each call after the previous one is fully cleared. Returns the calls
/// completed and the wall time they took (link set-up excluded). Uses this thread's clock
/// (virtual or real: no timer is meant to expire).
#[allow(clippy::disallowed_methods)] // bench: wall time
pub fn libpri_call_setups(n: usize) -> (usize, Duration) {
    let (a, b) = socketpair();
    let mut nt = LibPri::new(a, Side::Network);
    let mut cpe = LibPri::new(b, Side::Cpe);
    let (mut nt_up, mut cpe_up) = (false, false);
    for _ in 0..100 {
        nt_up |= nt.poll().contains(&Event::DchanUp);
        cpe_up |= cpe.poll().contains(&Event::DchanUp);
        if nt_up && cpe_up && !nt.readable() && !cpe.readable() {
            break;
        }
    }
    assert!(nt_up && cpe_up, "D-channel did not come up");
    let start = std::time::Instant::now();
    let mut done = 0;
    let mut last_frames = nt.frame_counts().0 + cpe.frame_counts().0;
    for _ in 0..n {
        let channel = 1;
        cpe.call(channel, true, "5551234", "0401234", Presentation::Allowed);
        let mut rounds = 0;
        loop {
            rounds += 1;
            for ev in nt.poll() {
                match ev {
                    Event::Ring { call, channel, .. } => {
                        nt.proceeding(call, channel);
                        nt.alerting(call, channel, false);
                        nt.answer(call, channel);
                    }
                    Event::HangupReq { call, cause } => nt.hangup(call, cause),
                    _ => {}
                }
            }
            for ev in cpe.poll() {
                if let Event::Answer { call, .. } = ev {
                    cpe.hangup(call, 16);
                }
            }
            // A round in which neither side read a frame: nothing is in flight.
            let frames = nt.frame_counts().0 + cpe.frame_counts().0;
            let idle = frames == last_frames;
            last_frames = frames;
            if idle && nt.live_calls() == 0 && cpe.live_calls() == 0 {
                done += 1;
                break;
            }
            if rounds > 100 {
                return (done, start.elapsed());
            }
        }
    }
    (done, start.elapsed())
}
