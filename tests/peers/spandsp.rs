//! spandsp 0.0.6 (Debian `libspandsp-dev`) as a DSP reference peer: its generators feed our
//! detectors and its detectors check our generators, in the same process.
//!
//! Include with `#[path = "peers/spandsp.rs"] mod spandsp;` from a test or bench file. It
//! links `-lspandsp` itself and needs only the `libc` crate. spandsp's state structs are
//! opaque: every `*_init(NULL, …)` allocates one, and the wrappers here free it on drop.
//! Callbacks are collected into a `Vec` owned by the wrapper (boxed, so its address stays
//! put while spandsp holds it as `user_data`).
// Callback buffers are boxed on purpose: spandsp keeps their address as `user_data`.
#![allow(dead_code, unsafe_code, clippy::box_collection)]

use std::os::raw::{c_char, c_int, c_void};

#[repr(C)]
pub struct Opaque {
    _p: [u8; 0],
}

type DigitsCb = unsafe extern "C" fn(*mut c_void, *const c_char, c_int);
type ToneCb = unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int);
type MsgCb = unsafe extern "C" fn(*mut c_void, *const u8, c_int);

#[link(name = "spandsp")]
extern "C" {
    fn dtmf_tx_init(s: *mut Opaque) -> *mut Opaque;
    fn dtmf_tx_set_level(s: *mut Opaque, level: c_int, twist: c_int);
    fn dtmf_tx_set_timing(s: *mut Opaque, on_ms: c_int, off_ms: c_int);
    fn dtmf_tx_put(s: *mut Opaque, digits: *const c_char, len: c_int) -> c_int;
    fn dtmf_tx(s: *mut Opaque, amp: *mut i16, max: c_int) -> c_int;
    fn dtmf_tx_free(s: *mut Opaque) -> c_int;

    fn dtmf_rx_init(s: *mut Opaque, cb: Option<DigitsCb>, ud: *mut c_void) -> *mut Opaque;
    fn dtmf_rx(s: *mut Opaque, amp: *const i16, n: c_int) -> c_int;
    fn dtmf_rx_free(s: *mut Opaque) -> c_int;

    fn adsi_tx_init(s: *mut Opaque, standard: c_int) -> *mut Opaque;
    fn adsi_tx_set_preamble(s: *mut Opaque, preamble: c_int, ones: c_int, post: c_int, stop: c_int);
    fn adsi_add_field(s: *mut Opaque, msg: *mut u8, len: c_int, ty: u8, body: *const u8, body_len: c_int) -> c_int;
    fn adsi_tx_put_message(s: *mut Opaque, msg: *const u8, len: c_int) -> c_int;
    fn adsi_tx(s: *mut Opaque, amp: *mut i16, max: c_int) -> c_int;
    fn adsi_tx_free(s: *mut Opaque) -> c_int;

    fn adsi_rx_init(s: *mut Opaque, standard: c_int, cb: Option<MsgCb>, ud: *mut c_void) -> *mut Opaque;
    fn adsi_rx(s: *mut Opaque, amp: *const i16, n: c_int) -> c_int;
    fn adsi_rx_free(s: *mut Opaque) -> c_int;

    fn r2_mf_tx_init(s: *mut Opaque, fwd: c_int) -> *mut Opaque;
    fn r2_mf_tx_put(s: *mut Opaque, digit: c_char) -> c_int;
    fn r2_mf_tx(s: *mut Opaque, amp: *mut i16, n: c_int) -> c_int;
    fn r2_mf_tx_free(s: *mut Opaque) -> c_int;

    fn r2_mf_rx_init(s: *mut Opaque, fwd: c_int, cb: Option<ToneCb>, ud: *mut c_void) -> *mut Opaque;
    fn r2_mf_rx(s: *mut Opaque, amp: *const i16, n: c_int) -> c_int;
    fn r2_mf_rx_free(s: *mut Opaque) -> c_int;

    fn modem_connect_tones_tx_init(s: *mut Opaque, tone: c_int) -> *mut Opaque;
    fn modem_connect_tones_tx(s: *mut Opaque, amp: *mut i16, n: c_int) -> c_int;
    fn modem_connect_tones_tx_free(s: *mut Opaque) -> c_int;
}

/// `adsi_tx_init`/`adsi_rx_init` standards (spandsp `ADSI_STANDARD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdsiStandard {
    /// Bellcore CLASS: Bell 202 FSK (SDMF/MDMF).
    Class = 1,
    /// ETSI CLIP: V.23 FSK.
    Clip = 2,
    /// ETSI CLIP by DTMF.
    ClipDtmf = 5,
}

/// `modem_connect_tones_tx_init` tone types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectTone {
    FaxCng = 1,
    Ans = 2,
    AnsPr = 3,
    AnsAm = 4,
}

// ---------------------------------------------------------------- DTMF

/// spandsp's DTMF generator.
pub struct DtmfTx(*mut Opaque);

impl DtmfTx {
    /// `level` of the low tone in dBm0, `twist` dB (high above low), timing in ms.
    pub fn new(level: i32, twist: i32, on_ms: i32, off_ms: i32) -> Self {
        // SAFETY: NULL asks spandsp to allocate; the pointer is checked and owned by us.
        let s = unsafe { dtmf_tx_init(std::ptr::null_mut()) };
        assert!(!s.is_null(), "dtmf_tx_init");
        unsafe {
            dtmf_tx_set_level(s, level, twist);
            dtmf_tx_set_timing(s, on_ms, off_ms);
        }
        DtmfTx(s)
    }

    /// Renders `digits` completely (tones and pauses).
    pub fn render(&mut self, digits: &str) -> Vec<i16> {
        let mut out = Vec::new();
        // spandsp queues at most 128 digits at a time.
        for chunk in digits.as_bytes().chunks(100) {
            // SAFETY: chunk is valid for its length; spandsp copies it.
            let queued = unsafe { dtmf_tx_put(self.0, chunk.as_ptr().cast(), chunk.len() as c_int) };
            assert_eq!(queued, 0, "dtmf_tx_put");
            let mut buf = [0i16; 160];
            loop {
                // SAFETY: buf holds 160 samples.
                let n = unsafe { dtmf_tx(self.0, buf.as_mut_ptr(), buf.len() as c_int) };
                if n <= 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n as usize]);
            }
        }
        out
    }
}

impl Drop for DtmfTx {
    fn drop(&mut self) {
        // SAFETY: allocated by dtmf_tx_init, freed once.
        unsafe { dtmf_tx_free(self.0) };
    }
}

/// spandsp's DTMF detector; digits accumulate in `digits`.
pub struct DtmfRx {
    s: *mut Opaque,
    digits: Box<String>,
}

unsafe extern "C" fn collect_digits(ud: *mut c_void, digits: *const c_char, len: c_int) {
    // SAFETY: ud is the Box<String> owned by DtmfRx; digits is valid for len bytes.
    let out = unsafe { &mut *(ud as *mut String) };
    let bytes = unsafe { std::slice::from_raw_parts(digits.cast::<u8>(), len.max(0) as usize) };
    out.extend(bytes.iter().map(|&b| b as char));
}

impl DtmfRx {
    pub fn new() -> Self {
        let mut digits = Box::new(String::new());
        let ud = (&mut *digits as *mut String).cast::<c_void>();
        // SAFETY: the callback's user data outlives the detector (both dropped together).
        let s = unsafe { dtmf_rx_init(std::ptr::null_mut(), Some(collect_digits), ud) };
        assert!(!s.is_null(), "dtmf_rx_init");
        DtmfRx { s, digits }
    }

    pub fn process(&mut self, samples: &[i16]) {
        for block in samples.chunks(160) {
            // SAFETY: block is valid for its length.
            unsafe { dtmf_rx(self.s, block.as_ptr(), block.len() as c_int) };
        }
    }

    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn clear(&mut self) {
        self.digits.clear();
    }
}

impl Default for DtmfRx {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DtmfRx {
    fn drop(&mut self) {
        // SAFETY: allocated by dtmf_rx_init, freed once.
        unsafe { dtmf_rx_free(self.s) };
    }
}

// ---------------------------------------------------------------- caller ID (ADSI)

/// Builds a caller ID message with spandsp's field encoder and renders it with its ADSI
/// transmitter. `msg_type` is the message type (0x04 SDMF, 0x80 MDMF/CLIP call set-up);
/// `fields` are (type, body). For SDMF, pass one field with type 0 and the whole body.
/// For CLIP_DTMF, `msg_type` is the terminator digit, `b'C'` or `b'#'` (spandsp's
/// `adsi_add_field` stores the "message type" as the last character and re-appends it after
/// each field; its receiver only reports a message on `C` or `#`), and fields use the DTMF
/// field codes: with `C`, `b'A'` number, `b'D'` diverting number, `b'B'` absence (`00`/`10`);
/// with `#`, `b'A'` number, `b'D'` absence (`1`/`2`/`3`), 0 for a bare number.
pub fn adsi_render(standard: AdsiStandard, msg_type: u8, fields: &[(u8, &[u8])]) -> Vec<i16> {
    // SAFETY: NULL asks spandsp to allocate; freed below.
    let s = unsafe { adsi_tx_init(std::ptr::null_mut(), standard as c_int) };
    assert!(!s.is_null(), "adsi_tx_init");
    let mut msg = [0u8; 256];
    // SAFETY: msg has room for every message the tests build (< 256 bytes).
    let mut len = unsafe { adsi_add_field(s, msg.as_mut_ptr(), -1, msg_type, std::ptr::null(), 0) };
    for (ty, body) in fields {
        len = unsafe { adsi_add_field(s, msg.as_mut_ptr(), len, *ty, body.as_ptr(), body.len() as c_int) };
        assert!(len > 0, "adsi_add_field");
    }
    let queued = unsafe { adsi_tx_put_message(s, msg.as_ptr(), len) };
    assert!(queued > 0, "adsi_tx_put_message");
    let mut out = Vec::new();
    let mut buf = [0i16; 160];
    loop {
        // SAFETY: buf holds 160 samples.
        let n = unsafe { adsi_tx(s, buf.as_mut_ptr(), buf.len() as c_int) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    unsafe { adsi_tx_free(s) };
    out
}

unsafe extern "C" fn collect_msg(ud: *mut c_void, msg: *const u8, len: c_int) {
    if len <= 0 {
        return; // spandsp reports carrier/framing status with len < 0
    }
    // SAFETY: ud is the Vec owned by adsi_decode for the duration of the call.
    let out = unsafe { &mut *(ud as *mut Vec<Vec<u8>>) };
    out.push(unsafe { std::slice::from_raw_parts(msg, len as usize) }.to_vec());
}

/// Runs spandsp's ADSI receiver over `samples`; returns every message it accepted (type,
/// length, body; checksum already verified by spandsp for FSK standards).
pub fn adsi_decode(standard: AdsiStandard, samples: &[i16]) -> Vec<Vec<u8>> {
    let mut msgs: Box<Vec<Vec<u8>>> = Box::default();
    let ud = (&mut *msgs as *mut Vec<Vec<u8>>).cast::<c_void>();
    // SAFETY: msgs outlives the receiver, which is freed before returning.
    let s = unsafe { adsi_rx_init(std::ptr::null_mut(), standard as c_int, Some(collect_msg), ud) };
    assert!(!s.is_null(), "adsi_rx_init");
    for block in samples.chunks(160) {
        unsafe { adsi_rx(s, block.as_ptr(), block.len() as c_int) };
    }
    unsafe { adsi_rx_free(s) };
    *msgs
}

// ---------------------------------------------------------------- R2 MF

/// Renders R2 MF signals with spandsp (`fwd`: forward group I/II tones, else backward A/B).
/// Each signal plays for `on_ms` followed by `off_ms` of silence. Signal codes are
/// spandsp's/OpenR2's: '1'..'9', '0', 'B'..'F'.
pub fn r2_mf_render(fwd: bool, signals: &str, on_ms: usize, off_ms: usize) -> Vec<i16> {
    // SAFETY: NULL asks spandsp to allocate; freed below.
    let s = unsafe { r2_mf_tx_init(std::ptr::null_mut(), c_int::from(fwd)) };
    assert!(!s.is_null(), "r2_mf_tx_init");
    let mut out = Vec::new();
    for d in signals.chars() {
        let mut on = vec![0i16; on_ms * 8];
        unsafe {
            r2_mf_tx_put(s, d as u8 as c_char);
            r2_mf_tx(s, on.as_mut_ptr(), on.len() as c_int);
            r2_mf_tx_put(s, 0); // tone off
        }
        out.extend_from_slice(&on);
        out.extend(std::iter::repeat_n(0i16, off_ms * 8));
    }
    unsafe { r2_mf_tx_free(s) };
    out
}

unsafe extern "C" fn collect_tone(ud: *mut c_void, code: c_int, _level: c_int, _delay: c_int) {
    // SAFETY: ud is the Vec owned by r2_mf_decode for the duration of the call.
    let out = unsafe { &mut *(ud as *mut Vec<char>) };
    if code > 0 {
        out.push(code as u8 as char);
    }
}

/// Runs spandsp's R2 MF receiver; returns each signal it reported at its start.
pub fn r2_mf_decode(fwd: bool, samples: &[i16]) -> String {
    let mut got: Box<Vec<char>> = Box::default();
    let ud = (&mut *got as *mut Vec<char>).cast::<c_void>();
    // SAFETY: got outlives the receiver, which is freed before returning.
    let s = unsafe { r2_mf_rx_init(std::ptr::null_mut(), c_int::from(fwd), Some(collect_tone), ud) };
    assert!(!s.is_null(), "r2_mf_rx_init");
    for block in samples.chunks(160) {
        unsafe { r2_mf_rx(s, block.as_ptr(), block.len() as c_int) };
    }
    unsafe { r2_mf_rx_free(s) };
    got.iter().collect()
}

// ---------------------------------------------------------------- modem connect tones

/// Renders `ms` of a modem/fax connect tone with spandsp's generator.
pub fn connect_tone_render(tone: ConnectTone, ms: usize) -> Vec<i16> {
    // SAFETY: NULL asks spandsp to allocate; freed below.
    let s = unsafe { modem_connect_tones_tx_init(std::ptr::null_mut(), tone as c_int) };
    assert!(!s.is_null(), "modem_connect_tones_tx_init");
    let mut out = vec![0i16; ms * 8];
    let mut done = 0;
    while done < out.len() {
        let n = unsafe { modem_connect_tones_tx(s, out[done..].as_mut_ptr(), (out.len() - done) as c_int) };
        if n <= 0 {
            break;
        }
        done += n as usize;
    }
    unsafe { modem_connect_tones_tx_free(s) };
    out
}
