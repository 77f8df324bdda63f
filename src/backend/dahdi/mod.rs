//! The DAHDI backend: E1 spans and analog ports of real cards (and `dahdi_dynamic`
//! spans) through the DAHDI kernel driver's character devices.
//!
//! One non-blocking fd per channel, no thread per channel: each media tick the daemon
//! reads one 20 ms block per audio channel (a small ring absorbs tick jitter; slips are
//! counted as underruns/overruns), and [`Backend::poll_events`] makes one `poll(2)` over
//! every fd: POLLPRI means an event is pending (GETEVENT), POLLIN on a D-channel means a
//! frame. A read or write that fails with ELAST (an event is pending) takes the events
//! first. Span alarms come from SPANSTAT, re-read when a channel reports ALARM/NOALARM
//! and once a second, together with the card's line error counters.
//!
//! [`sys`] holds the userspace interface (ioctl numbers, structs, safe wrappers; the
//! only `unsafe` of the backend); [`events`] what each event means per channel kind;
//! [`sysconf`] reads DAHDI's system.conf for `trunkd dahdi import`.

pub mod events;
pub mod sys;
pub mod sysconf;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::line::{Alarms, LineCmd, LineEvent, PathKind};
use super::{
    Backend, BackendError, BackendEvent, ChanDesc, Frame, MediaClock, SpanCounters, SpanDesc, SpanKind, FRAME_SAMPLES,
};
use crate::dsp::g711::Law;
use crate::time::Instant;
use events::ChanEvents;
use std::time::Duration;

/// Bytes in one 20 ms G.711 block.
const BLOCK: usize = FRAME_SAMPLES;
/// Largest HDLC frame a D-channel buffer holds (chan_dahdi's D-channel buffer size).
const HDLC_BUFSIZE: usize = 1024;
/// Received blocks kept per channel before the oldest is dropped: enough for a late tick
/// and the burst after it, few enough to bound the delay at 60 ms.
const RX_RING: usize = 3;
/// Silence blocks written when a channel opens: the transmit side's jitter slack.
const TX_PRIME: usize = 2;
/// The driver's ring cadence on FXS ports (see `open_chan`): longer than any zone's ring.
const RING_HOLD_MS: [std::ffi::c_int; 2] = [10_000, 4_000];
/// How often alarms and line counters are re-read without an ALARM/NOALARM event.
const STAT_EVERY: Duration = Duration::from_secs(1);
/// The driver's channel numbers are scanned up to here (DAHDI_MAX_CHANNELS of old drivers
/// is 1024; dynamic drivers number from 1 upwards without gaps).
const MAX_CHANNO: i32 = 4096;

/// Where a channel is on the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChanAddr {
    /// The driver's global channel number (as system.conf and chan_dahdi.conf write it).
    Channo(i32),
    /// Position `pos` (1-based) in DAHDI span `span`.
    InSpan { span: i32, pos: i32 },
}

/// One channel of a span to open.
#[derive(Clone, Debug)]
pub struct DahdiChanSpec {
    /// The channel's number above the backend (E1 timeslot, analog port index).
    pub number: u16,
    pub addr: ChanAddr,
    pub path: PathKind,
}

/// One span (an E1, or a group of analog ports) to open.
#[derive(Clone, Debug)]
pub struct DahdiSpanSpec {
    pub name: String,
    pub kind: SpanKind,
    pub law: Law,
    pub channels: Vec<DahdiChanSpec>,
    /// Enable the driver's echo canceller on audio channels with this many taps (8 per ms).
    pub echo_taps: Option<u32>,
}

/// Why the DAHDI backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum DahdiError {
    #[error("cannot open {path}: {source} (is the DAHDI driver loaded and configured with dahdi_cfg, and may this user open /dev/dahdi? see udev/)")]
    Open {
        path: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "span `{name}`: the driver has no channel {pos} in DAHDI span {span} (`trunkd dahdi spans` lists what it has)"
    )]
    NoChannel { name: String, span: i32, pos: i32 },
    #[error("`{name}` channel {number}: the driver has no channel {channo} (`trunkd dahdi spans` lists what it has)")]
    NoChanno { name: String, number: u16, channo: i32 },
    #[error("`{name}` channel {number} (DAHDI channel {channo}) is configured as {found} in system.conf; trunkd uses it as {path:?} and needs {need}")]
    Sigtype { name: String, number: u16, channo: i32, found: &'static str, path: PathKind, need: &'static str },
    #[error("`{name}` channel {number} (DAHDI channel {channo}): {what}: {errno}")]
    Setup { name: String, number: u16, channo: i32, what: &'static str, errno: Errno },
    #[error("DAHDI channel {channo} is used twice (`{first}` and `{second}`)")]
    Twice { channo: i32, first: String, second: String },
}

/// A short system.conf-style name of a signalling type (for errors and `trunkd dahdi spans`).
pub fn sig_name(sig: i32) -> &'static str {
    use sys::*;
    match sig {
        DAHDI_SIG_NONE => "unconfigured",
        DAHDI_SIG_FXSLS => "fxsls",
        DAHDI_SIG_FXSGS => "fxsgs",
        DAHDI_SIG_FXSKS => "fxsks",
        DAHDI_SIG_FXOLS => "fxols",
        DAHDI_SIG_FXOGS => "fxogs",
        DAHDI_SIG_FXOKS => "fxoks",
        DAHDI_SIG_EM => "e&m",
        DAHDI_SIG_EM_E1 => "e&me1",
        DAHDI_SIG_CLEAR => "bchan",
        DAHDI_SIG_HDLCRAW => "hdlcraw",
        DAHDI_SIG_HDLCFCS => "dchan",
        DAHDI_SIG_HDLCNET => "hdlcnet",
        DAHDI_SIG_HARDHDLC => "hardhdlc",
        DAHDI_SIG_MTP2 => "mtp2",
        DAHDI_SIG_CAS => "cas",
        DAHDI_SIG_SF => "sf",
        _ => "another signalling",
    }
}

/// Whether a channel configured as `sig` can serve `path`, and what would.
fn sig_fits(path: PathKind, sig: i32) -> Result<(), &'static str> {
    use sys::*;
    let ok = match path {
        PathKind::Bearer => sig == DAHDI_SIG_CLEAR,
        PathKind::Hdlc => matches!(sig, DAHDI_SIG_HDLCFCS | DAHDI_SIG_HARDHDLC | DAHDI_SIG_CLEAR),
        PathKind::Cas => sig == DAHDI_SIG_CAS,
        // An FXS port is driven with FXO signalling, an FXO port with FXS signalling; E&M
        // channels carry the same hook events back to back (a test rig's loop).
        // Loop start and kewlstart; ground start is not implemented.
        PathKind::Fxs => matches!(sig, DAHDI_SIG_FXOLS | DAHDI_SIG_FXOKS | DAHDI_SIG_EM),
        PathKind::Fxo => matches!(sig, DAHDI_SIG_FXSLS | DAHDI_SIG_FXSKS | DAHDI_SIG_EM),
        PathKind::Modem => false,
    };
    if ok {
        return Ok(());
    }
    Err(match path {
        PathKind::Bearer => "bchan",
        PathKind::Hdlc => "dchan (or hardhdlc)",
        PathKind::Cas => "cas=N:1101",
        PathKind::Fxs => "fxoks or fxols (FXO signalling drives an FXS port)",
        PathKind::Fxo => "fxsks or fxsls (FXS signalling drives an FXO port)",
        PathKind::Modem => "a modem, not DAHDI",
    })
}

/// Received blocks waiting for the media tick (fixed size, no allocation per frame).
#[derive(Clone, Debug)]
struct RxRing {
    blocks: [[u8; BLOCK]; RX_RING],
    head: usize,
    len: usize,
}

impl RxRing {
    fn new() -> RxRing {
        RxRing { blocks: [[0; BLOCK]; RX_RING], head: 0, len: 0 }
    }
    /// Adds a block; returns true when the oldest had to be dropped.
    fn push(&mut self, b: &[u8; BLOCK]) -> bool {
        let dropped = self.len == RX_RING;
        if dropped {
            self.head = (self.head + 1) % RX_RING;
            self.len -= 1;
        }
        self.blocks[(self.head + self.len) % RX_RING] = *b;
        self.len += 1;
        dropped
    }
    fn pop(&mut self) -> Option<&[u8; BLOCK]> {
        if self.len == 0 {
            return None;
        }
        let i = self.head;
        self.head = (self.head + 1) % RX_RING;
        self.len -= 1;
        Some(&self.blocks[i])
    }
}

struct Chan {
    /// What the channel was opened as (number, address, path): reopening uses it too.
    spec: DahdiChanSpec,
    channo: i32,
    /// An FXS port driven with FXO signalling (see `fxs_port`).
    fxs_port: bool,
    /// `None` once the driver removed the channel (card unplugged, span unassigned): the
    /// fd is closed so the driver can finish, and reopened when the span is back.
    file: Option<File>,
    ev: ChanEvents,
    rx: RxRing,
    /// The last I/O error logged (an fd that keeps failing logs once).
    failing: Option<Errno>,
}

struct Span {
    /// What the span was opened as (name, law, channels): reopening uses it too.
    spec: DahdiSpanSpec,
    /// DAHDI spans whose alarms are this span's (an analog group may cover several).
    spannos: Vec<i32>,
    chans: Vec<Chan>,
    alarms: Alarms,
    counters: SpanCounters,
    check: bool,
}

impl Chan {
    fn number(&self) -> u16 {
        self.spec.number
    }

    fn path(&self) -> PathKind {
        self.spec.path
    }

    fn audio(&self) -> bool {
        carries_audio(self.spec.path)
    }
}

/// Every path but a D-channel carries 20 ms G.711 blocks.
fn carries_audio(path: PathKind) -> bool {
    path != PathKind::Hdlc
}

/// An FXS port driven with FXO signalling (fxoks/fxols): the driver plays its ring cadence
/// and pulses kewlstart itself. (An E&M channel standing in for one in a test rig does not.)
fn fxs_port(path: PathKind, sig: i32) -> bool {
    path == PathKind::Fxs && sig & sys::__DAHDI_SIG_FXO != 0
}

impl Span {
    fn chan(&mut self, number: u16) -> Option<usize> {
        self.chans.iter().position(|c| c.number() == number)
    }
}

/// The DAHDI backend (see the module documentation).
pub struct DahdiBackend {
    spans: Vec<Span>,
    descs: Vec<SpanDesc>,
    ctl: File,
    /// Events taken while reading or writing (ELAST), handed out at the next poll.
    pending: Vec<BackendEvent>,
    next_stat: Option<Instant>,
    lines: Vec<LineEvent>,
}

/// One channel of the driver as GET_PARAMS describes it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DriverChannel {
    pub channo: i32,
    pub span: i32,
    pub pos: i32,
    pub name: String,
    pub sig: &'static str,
    pub alarms: String,
}

impl ChanAddr {
    /// The driver's channel this address names, among `known`.
    fn find(self, known: &[DriverChannel]) -> Option<&DriverChannel> {
        known.iter().find(|k| match self {
            ChanAddr::Channo(n) => k.channo == n,
            ChanAddr::InSpan { span, pos } => k.span == span && k.pos == pos,
        })
    }
}

/// Every channel the driver has, in channel order (for resolving span positions and for
/// `trunkd dahdi spans`).
pub fn driver_channels(ctl: impl AsFd) -> Vec<DriverChannel> {
    let mut v = Vec::new();
    let mut misses = 0;
    for channo in 1..=MAX_CHANNO {
        match sys::get_params_of(ctl.as_fd(), channo) {
            Ok(p) => {
                misses = 0;
                v.push(DriverChannel {
                    channo,
                    span: p.spanno,
                    pos: p.chanpos,
                    name: p.name(),
                    sig: sig_name(p.sigtype),
                    alarms: p.alarms().describe(),
                })
            }
            Err(_) => {
                misses += 1;
                if misses >= 256 {
                    break;
                }
            }
        }
    }
    v
}

/// Opens `/dev/dahdi/ctl`.
pub fn open_ctl() -> Result<File, DahdiError> {
    sys::open_device("/dev/dahdi/ctl")
        .map(File::from)
        .map_err(|source| DahdiError::Open { path: "/dev/dahdi/ctl", source })
}

impl DahdiBackend {
    /// Opens and sets up every channel of `specs` as its path needs, checking that the
    /// driver's configuration (system.conf) agrees.
    pub fn open(specs: &[DahdiSpanSpec]) -> Result<DahdiBackend, DahdiError> {
        let ctl = open_ctl()?;
        let known = driver_channels(&ctl);
        let mut used: Vec<(i32, String)> = Vec::new();
        let mut spans = Vec::new();
        let mut descs = Vec::new();
        for s in specs {
            let mut chans = Vec::new();
            let mut spannos = Vec::new();
            for c in &s.channels {
                let d = c.addr.find(&known).ok_or_else(|| match c.addr {
                    ChanAddr::Channo(channo) => DahdiError::NoChanno { name: s.name.clone(), number: c.number, channo },
                    ChanAddr::InSpan { span, pos } => DahdiError::NoChannel { name: s.name.clone(), span, pos },
                })?;
                if let Some((_, first)) = used.iter().find(|(n, _)| *n == d.channo) {
                    return Err(DahdiError::Twice { channo: d.channo, first: first.clone(), second: s.name.clone() });
                }
                used.push((d.channo, s.name.clone()));
                if !spannos.contains(&d.span) {
                    spannos.push(d.span);
                }
                chans.push(open_chan(s, c, d.channo)?);
            }
            for &n in &spannos {
                // Dynamic spans are not started by dahdi_cfg; on a running span this is a no-op.
                if let Err(e) = sys::startup(&ctl, n) {
                    tracing::debug!(span = n, "DAHDI_STARTUP: {e}");
                }
            }
            descs.push(SpanDesc {
                name: s.name.clone(),
                kind: s.kind,
                law: s.law,
                channels: chans
                    .iter()
                    .map(|c| ChanDesc { number: c.number(), path: c.path(), audio: c.audio() })
                    .collect(),
            });
            spans.push(Span {
                spec: s.clone(),
                spannos,
                chans,
                alarms: Alarms::NONE,
                counters: SpanCounters::default(),
                check: true,
            });
        }
        let mut b = DahdiBackend { spans, descs, ctl, pending: Vec::new(), next_stat: None, lines: Vec::new() };
        // The far end's CAS bits as they are now: the stacks start from the line's state.
        for si in 0..b.spans.len() {
            for ci in 0..b.spans[si].chans.len() {
                if b.spans[si].chans[ci].path() == PathKind::Cas {
                    b.read_bits(si, ci);
                }
            }
        }
        Ok(b)
    }

    /// Takes every pending event of one channel (after POLLPRI or ELAST).
    fn take_events(&mut self, si: usize, ci: usize) {
        for _ in 0..64 {
            let s = &mut self.spans[si];
            let c = &mut s.chans[ci];
            let Some(file) = &c.file else { break };
            let ev = match sys::get_event(file) {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(Errno::ENODEV) => {
                    self.gone(si, ci);
                    break;
                }
                Err(e) => {
                    tracing::debug!(span = %s.spec.name, chan = c.number(), "GETEVENT: {e}");
                    break;
                }
            };
            tracing::trace!(span = %s.spec.name, chan = c.number(), "DAHDI event {ev:?}");
            let fx = c.ev.map(ev, &mut self.lines);
            if fx.removed {
                self.gone(si, ci);
                break;
            }
            let span = &mut self.spans[si];
            span.check |= fx.span_check;
            if fx.rx_overrun {
                span.counters.overruns += 1;
            }
            if fx.tx_underrun {
                span.counters.underruns += 1;
            }
            if fx.hdlc_error {
                span.counters.hdlc_errors += 1;
                self.lines.push(LineEvent::HdlcError);
            }
            if fx.read_bits {
                self.read_bits(si, ci);
            }
            self.flush_lines(si, ci);
        }
    }

    fn read_bits(&mut self, si: usize, ci: usize) {
        let c = &mut self.spans[si].chans[ci];
        let Some(file) = &c.file else { return };
        match sys::get_rx_bits(file) {
            Ok(bits) => c.ev.rx_bits(bits, &mut self.lines),
            Err(Errno::ENODEV) => self.gone(si, ci),
            Err(e) => tracing::debug!(chan = c.number(), "GETRXBITS: {e}"),
        }
        self.flush_lines(si, ci);
    }

    fn flush_lines(&mut self, si: usize, ci: usize) {
        let chan = self.spans[si].chans[ci].number();
        self.pending.extend(self.lines.drain(..).map(|event| BackendEvent::Line { span: si, chan, event }));
    }

    /// Reads every frame waiting on a D-channel.
    fn read_hdlc(&mut self, si: usize, ci: usize) {
        let mut buf = [0u8; HDLC_BUFSIZE + 2];
        for _ in 0..64 {
            let s = &mut self.spans[si];
            let c = &mut s.chans[ci];
            let Some(file) = c.file.as_mut() else { break };
            let r = file.read(&mut buf);
            match self.settle(si, ci, "read", r) {
                Io::Done(0) | Io::Stop | Io::Failed(_) => break,
                // The driver appends the two FCS bytes it checked.
                Io::Done(n) if n > 2 => {
                    self.spans[si].counters.hdlc_rx += 1;
                    self.lines.push(LineEvent::Hdlc(buf[..n - 2].to_vec()));
                    self.flush_lines(si, ci);
                }
                Io::Done(_) => self.spans[si].counters.hdlc_errors += 1,
                Io::Again => {}
            }
        }
    }

    /// The driver removed a channel: close it, and hold the span NOTOPEN until it is back.
    fn gone(&mut self, si: usize, ci: usize) {
        let s = &mut self.spans[si];
        let c = &mut s.chans[ci];
        if c.file.take().is_some() {
            tracing::warn!(span = %s.spec.name, chan = c.number(), channo = c.channo, "DAHDI channel removed by the driver");
        }
        c.rx = RxRing::new();
        s.check = true;
    }

    /// Reopens the removed channels of spans the driver has again (a card plugged back,
    /// a span re-assigned), as they were set up at start.
    fn reopen(&mut self) {
        let mut known: Option<Vec<DriverChannel>> = None;
        for si in 0..self.spans.len() {
            let span = &self.spans[si];
            if span.chans.iter().all(|c| c.file.is_some()) {
                continue;
            }
            if span.spannos.iter().any(|&n| sys::span_stat(&self.ctl, n).is_err()) {
                continue;
            }
            for &n in &span.spannos {
                // A re-assigned span is registered but not running until started.
                let _ = sys::startup(&self.ctl, n);
            }
            for ci in 0..self.spans[si].chans.len() {
                let span = &self.spans[si];
                let c = &span.chans[ci];
                if c.file.is_some() {
                    continue;
                }
                let known = known.get_or_insert_with(|| driver_channels(&self.ctl));
                let Some(channo) = c.spec.addr.find(known).map(|k| k.channo) else { continue };
                match open_chan(&span.spec, &c.spec, channo) {
                    Ok(new) => {
                        tracing::info!(span = %span.spec.name, chan = new.number(), channo, "DAHDI channel back");
                        self.spans[si].chans[ci] = new;
                        self.spans[si].check = true;
                        if self.spans[si].chans[ci].path() == PathKind::Cas {
                            self.read_bits(si, ci);
                        }
                    }
                    Err(e) => tracing::debug!(span = %span.spec.name, "reopening: {e}"),
                }
            }
        }
    }

    /// Re-reads the alarms and line counters of every span (or only those marked).
    fn stat_spans(&mut self, all: bool) {
        for (si, span) in self.spans.iter_mut().enumerate() {
            if !(all || span.check) {
                continue;
            }
            span.check = false;
            let mut alarms = 0u32;
            let (mut fe, mut crc4, mut bpv, mut ebit) = (0u64, 0u64, 0u64, 0u64);
            for &n in &span.spannos {
                match sys::span_stat(&self.ctl, n) {
                    Ok(si) => {
                        let (a, f, c, b, e) = (si.alarms, si.fecount, si.crc4count, si.bpvcount, si.ebitcount);
                        alarms |= a as u32;
                        fe += u64::from(f);
                        crc4 += c.max(0) as u64;
                        bpv += b.max(0) as u64;
                        ebit += e.max(0) as u64;
                    }
                    // The span is gone (a dynamic span destroyed, a card removed).
                    Err(e) => {
                        tracing::debug!(span = %span.spec.name, dahdi_span = n, "SPANSTAT: {e}");
                        alarms |= Alarms::NOTOPEN;
                    }
                }
            }
            // Removed channels keep the span out of service until they are reopened.
            if span.chans.iter().any(|c| c.file.is_none()) {
                alarms |= Alarms::NOTOPEN;
            }
            span.counters.framing_errors = fe;
            span.counters.crc4_errors = crc4;
            span.counters.bpv_errors = bpv;
            span.counters.ebit_errors = ebit;
            let alarms = Alarms(alarms);
            if alarms != span.alarms {
                if alarms.is_clear() {
                    tracing::info!(span = %span.spec.name, "span alarms cleared");
                } else {
                    tracing::warn!(span = %span.spec.name, alarms = %alarms.describe(), "span in alarm");
                }
                span.alarms = alarms;
                self.pending.push(BackendEvent::Alarm { span: si, alarms });
            }
        }
    }

    fn locate(&mut self, span: usize, chan: u16) -> Result<(usize, usize), BackendError> {
        let s = self.spans.get_mut(span).ok_or(BackendError::NoSuchChannel { span, chan })?;
        let ci = s.chan(chan).ok_or(BackendError::NoSuchChannel { span, chan })?;
        Ok((span, ci))
    }

    /// Writes one block (audio, or an HDLC frame with room for its FCS), taking pending
    /// events first when the driver asks (ELAST).
    fn write_block(&mut self, si: usize, ci: usize, bytes: &[u8]) -> Result<bool, BackendError> {
        for _ in 0..2 {
            let s = &mut self.spans[si];
            let c = &mut s.chans[ci];
            let Some(file) = c.file.as_mut() else { return Ok(false) };
            let r = file.write(bytes);
            match self.settle(si, ci, "write", r) {
                Io::Done(_) => return Ok(true),
                Io::Again => {}
                // The driver's buffers are full (or the channel is gone): the frame is
                // dropped, counted by the caller.
                Io::Stop => return Ok(false),
                Io::Failed(source) => {
                    return Err(BackendError::Io { span: si, chan: self.spans[si].chans[ci].number(), source })
                }
            }
        }
        Ok(false)
    }
}

/// What a read or write on a channel came to, once the driver's errnos are dealt with.
enum Io {
    /// This many bytes.
    Done(usize),
    /// An event was pending (ELAST) and has been taken: try again.
    Again,
    /// Nothing to read / no room to write, or the channel is gone: stop for this tick.
    Stop,
    /// Another error, logged once per errno.
    Failed(std::io::Error),
}

impl DahdiBackend {
    /// The one place that reads a channel's read/write result: ELAST takes the events,
    /// ENODEV closes a removed channel, other errors log once.
    fn settle(&mut self, si: usize, ci: usize, what: &str, r: std::io::Result<usize>) -> Io {
        match r {
            Ok(n) => {
                self.spans[si].chans[ci].failing = None;
                Io::Done(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Io::Stop,
            Err(e) if sys::is_event_pending(&e) => {
                self.take_events(si, ci);
                Io::Again
            }
            Err(e) if is_removed(&e) => {
                self.gone(si, ci);
                Io::Stop
            }
            Err(e) => {
                let s = &mut self.spans[si];
                log_failure(&s.spec.name, &mut s.chans[ci], what, &e);
                Io::Failed(e)
            }
        }
    }
}

/// ENODEV: the driver removed the channel under an open fd (every call on it then fails
/// after a short sleep in the kernel, so it must not be retried each tick).
fn is_removed(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(Errno::ENODEV as i32)
}

fn log_failure(span: &str, c: &mut Chan, what: &str, e: &std::io::Error) {
    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
    if c.failing != Some(errno) {
        c.failing = Some(errno);
        tracing::warn!(span, chan = c.number(), channo = c.channo, "DAHDI {what}: {e}");
    }
}

/// Opens one channel and sets it up as its path needs (after chan_dahdi's setup).
fn open_chan(s: &DahdiSpanSpec, c: &DahdiChanSpec, channo: i32) -> Result<Chan, DahdiError> {
    let setup = |what: &'static str| {
        let (name, number) = (s.name.clone(), c.number);
        move |errno: Errno| DahdiError::Setup { name, number, channo, what, errno }
    };
    let fd = sys::open_channel(channo).map_err(|source| DahdiError::Open { path: "/dev/dahdi/channel", source })?;
    let p = sys::get_params(&fd).map_err(setup("GET_PARAMS"))?;
    if let Err(need) = sig_fits(c.path, p.sigtype) {
        return Err(DahdiError::Sigtype {
            name: s.name.clone(),
            number: c.number,
            channo,
            found: sig_name(p.sigtype),
            path: c.path,
            need,
        });
    }
    let audio = carries_audio(c.path);
    if audio {
        sys::set_blocksize(&fd, BLOCK as i32).map_err(setup("SET_BLOCKSIZE"))?;
        sys::set_bufinfo(&fd, &sys::DahdiBufferinfo::immediate(4, BLOCK as i32)).map_err(setup("SET_BUFINFO"))?;
        // A clear channel needs audio mode before the law and the echo canceller (EINVAL
        // otherwise); signalled channels (CAS, E&M, FXS/FXO) are audio already and the
        // driver refuses AUDIOMODE on them.
        if p.sigtype == sys::DAHDI_SIG_CLEAR {
            sys::audio_mode(&fd, true).map_err(setup("AUDIOMODE"))?;
        }
        sys::set_law(&fd, s.law.into()).map_err(setup("SETLAW"))?;
        sys::set_linear(&fd, false).map_err(setup("SETLINEAR"))?;
        if let Some(taps) = s.echo_taps {
            sys::echocancel(&fd, taps)
                .map_err(setup("ECHOCANCEL_PARAMS (is an echocanceller= line in system.conf?)"))?;
        }
        // An FXS port: our stack plays the line's ring cadence (RING and RINGOFF per its
        // zone), so the driver's own, from the zone system.conf loaded, must not end a ring
        // early (a 2 s US ring under a 1 s China zone): one long ring-on, with a rest
        // should we ever stop driving it.
        // (Not fatal: rings would be only as long as that zone's.)
        if fxs_port(c.path, p.sigtype) {
            if let Err(e) = sys::set_cadence(&fd, &RING_HOLD_MS) {
                tracing::warn!(span = %s.name, chan = c.number, channo, "DAHDI SETCADENCE: {e}");
            }
        }
    } else {
        if p.sigtype == sys::DAHDI_SIG_CLEAR {
            sys::hdlc_fcs_mode(&fd, true).map_err(setup("HDLCFCSMODE"))?;
        }
        sys::set_bufinfo(&fd, &sys::DahdiBufferinfo::immediate(32, HDLC_BUFSIZE as i32))
            .map_err(setup("SET_BUFINFO"))?;
    }
    if let Err(e) = sys::flush(&fd, sys::DAHDI_FLUSH_BOTH) {
        tracing::debug!(channo, "FLUSH: {e}");
    }
    let mut file = File::from(fd);
    if audio {
        let silence = [s.law.silence(); BLOCK];
        for _ in 0..TX_PRIME {
            let _ = file.write(&silence);
        }
    }
    Ok(Chan {
        spec: c.clone(),
        channo,
        fxs_port: fxs_port(c.path, p.sigtype),
        file: Some(file),
        ev: ChanEvents::new(c.path),
        rx: RxRing::new(),
        failing: None,
    })
}

impl Backend for DahdiBackend {
    fn name(&self) -> &str {
        "dahdi"
    }

    fn spans(&self) -> &[SpanDesc] {
        &self.descs
    }

    fn poll_events(&mut self, now: Instant, out: &mut Vec<BackendEvent>) {
        // One poll(2) over every channel: POLLPRI = event pending, POLLIN on a D-channel =
        // a frame (audio channels are read by the media tick).
        let mut ready = Vec::new();
        {
            let mut fds: Vec<PollFd> = Vec::new();
            let mut at = Vec::new();
            for (si, s) in self.spans.iter().enumerate() {
                for (ci, c) in s.chans.iter().enumerate() {
                    let Some(file) = &c.file else { continue };
                    let mut flags = PollFlags::POLLPRI;
                    if c.path() == PathKind::Hdlc {
                        flags |= PollFlags::POLLIN;
                    }
                    fds.push(PollFd::new(file.as_fd(), flags));
                    at.push((si, ci));
                }
            }
            match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
                Ok(n) if n > 0 => {
                    for (fd, &(si, ci)) in fds.iter().zip(&at) {
                        let r = fd.revents().unwrap_or(PollFlags::empty());
                        if r.intersects(
                            PollFlags::POLLPRI | PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLNVAL,
                        ) {
                            ready.push((si, ci, r));
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::debug!("poll: {e}"),
            }
        }
        for (si, ci, r) in ready {
            // A removed channel polls as an error only (its fd now has no driver).
            if r.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL)
                && !r.intersects(PollFlags::POLLPRI | PollFlags::POLLIN)
            {
                self.gone(si, ci);
                continue;
            }
            if r.contains(PollFlags::POLLPRI) {
                self.take_events(si, ci);
            }
            if r.contains(PollFlags::POLLIN) && self.spans[si].chans[ci].path() == PathKind::Hdlc {
                self.read_hdlc(si, ci);
            }
        }
        let due = self.next_stat.is_none_or(|t| now >= t);
        if due {
            self.next_stat = Some(now + STAT_EVERY);
            self.reopen();
        }
        self.stat_spans(due);
        out.append(&mut self.pending);
    }

    fn read_audio(&mut self, span: usize, chan: u16, frame: &mut Frame) -> bool {
        let Ok((si, ci)) = self.locate(span, chan) else { return false };
        let mut block = [0u8; BLOCK];
        for _ in 0..8 {
            let s = &mut self.spans[si];
            let c = &mut s.chans[ci];
            if !c.audio() {
                return false;
            }
            let Some(file) = c.file.as_mut() else {
                // Removed: silence, and no underrun (the span is out of service, not slipping).
                frame.fill(0);
                return false;
            };
            let r = file.read(&mut block);
            match self.settle(si, ci, "read", r) {
                Io::Done(BLOCK) => {
                    let s = &mut self.spans[si];
                    if s.chans[ci].rx.push(&block) {
                        s.counters.overruns += 1;
                    }
                }
                Io::Again => {}
                Io::Done(_) | Io::Stop | Io::Failed(_) => break,
            }
        }
        let span = &mut self.spans[si];
        let law = span.spec.law;
        match span.chans[ci].rx.pop() {
            Some(b) => {
                law.decode_frame(b, frame);
                span.counters.rx_frames += 1;
                true
            }
            None => {
                frame.fill(0);
                span.counters.underruns += 1;
                false
            }
        }
    }

    fn write_audio(&mut self, span: usize, chan: u16, frame: &Frame) -> Result<(), BackendError> {
        let (si, ci) = self.locate(span, chan)?;
        if !self.spans[si].chans[ci].audio() {
            return Err(BackendError::Unsupported { span, chan, what: "audio on a D-channel" });
        }
        let mut block = [0u8; BLOCK];
        self.spans[si].spec.law.encode_frame(frame, &mut block);
        let sent = self.write_block(si, ci, &block)?;
        let counters = &mut self.spans[si].counters;
        if sent {
            counters.tx_frames += 1;
        } else {
            counters.overruns += 1;
        }
        Ok(())
    }

    fn transmit(&mut self, _now: Instant, span: usize, chan: u16, cmd: LineCmd) -> Result<(), BackendError> {
        let (si, ci) = self.locate(span, chan)?;
        let path = self.spans[si].chans[ci].path();
        let io = |e: Errno| BackendError::Io { span, chan, source: sys::to_io(e) };
        let unsupported = |what| Err(BackendError::Unsupported { span, chan, what });
        match cmd {
            LineCmd::Hdlc(mut frame) => {
                if path != PathKind::Hdlc {
                    return unsupported("HDLC frames on a channel that is not a D-channel");
                }
                // The driver writes the FCS into the last two bytes.
                frame.extend_from_slice(&[0, 0]);
                if self.write_block(si, ci, &frame)? {
                    self.spans[si].counters.hdlc_tx += 1;
                } else {
                    self.spans[si].counters.overruns += 1;
                }
                Ok(())
            }
            LineCmd::Cas(bits) => {
                if path != PathKind::Cas {
                    return unsupported("CAS bits on a channel that is not CAS");
                }
                let Some(file) = &self.spans[si].chans[ci].file else { return Err(io(Errno::ENODEV)) };
                sys::set_tx_bits(file, bits).map_err(io)
            }
            LineCmd::Hook(h) => {
                use crate::backend::line::HookCmd;
                if !matches!(path, PathKind::Fxs | PathKind::Fxo) {
                    return unsupported("hook signals on a digital channel");
                }
                let c = &mut self.spans[si].chans[ci];
                if path == PathKind::Fxo && h == HookCmd::OffHook {
                    c.ev.seized();
                }
                let Some(file) = &c.file else { return Err(io(Errno::ENODEV)) };
                // An FXS port (FXO signalling): the driver's ONHOOK drops battery for the
                // kewlstart pulse only from the off-hook state, and restores it itself.
                let ops: &[sys::HookOp] = match (c.fxs_port, h) {
                    (true, HookCmd::OnHook) => &[sys::HookOp::OffHook, sys::HookOp::OnHook],
                    (true, HookCmd::OffHook) => &[],
                    _ => &[h.into()],
                };
                for &op in ops {
                    match sys::set_hook(file, op) {
                        // RING on a non-blocking fd: the cadence has started.
                        Err(Errno::EINPROGRESS) | Ok(()) => {}
                        Err(e) => return Err(io(e)),
                    }
                }
                Ok(())
            }
            LineCmd::Polarity(p) => {
                if path != PathKind::Fxs {
                    return unsupported("battery polarity is an FXS port's");
                }
                let Some(file) = &self.spans[si].chans[ci].file else { return Err(io(Errno::ENODEV)) };
                sys::set_polarity(file, p).map_err(io)
            }
            LineCmd::At(_) => unsupported("AT commands"),
        }
    }

    fn alarms(&self, span: usize) -> Alarms {
        self.spans.get(span).map(|s| s.alarms).unwrap_or(Alarms(Alarms::NOTOPEN))
    }

    fn counters(&self, span: usize) -> SpanCounters {
        self.spans.get(span).map(|s| s.counters).unwrap_or_default()
    }

    fn media_clock(&self) -> Option<Box<dyn MediaClock>> {
        match DahdiTimer::open() {
            Ok(t) => Some(Box::new(t)),
            Err(e) => {
                tracing::warn!("no DAHDI timer ({e}): the media tick follows the system clock");
                None
            }
        }
    }
}

/// `/dev/dahdi/timer` tripping every 160 samples of the driver's master clock (the
/// master span's line clock, or the driver's core timer without one), as Asterisk's
/// res_timing_dahdi uses it.
pub struct DahdiTimer {
    file: File,
}

impl DahdiTimer {
    pub fn open() -> std::io::Result<DahdiTimer> {
        let fd = sys::open_device("/dev/dahdi/timer")?;
        sys::timer_config(&fd, BLOCK as i32).map_err(sys::to_io)?;
        Ok(DahdiTimer { file: File::from(fd) })
    }
}

impl MediaClock for DahdiTimer {
    fn wait(&mut self, timeout: Duration) -> u32 {
        let mut ms = timeout.as_millis().min(u128::from(u16::MAX)) as u16;
        let mut ticks = 0;
        // Each acknowledged trip is one 20 ms of the card's clock; trips that piled up
        // while this thread was late are all counted (the daemon steps once for each).
        while ticks < 64 {
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLPRI)];
            let ready = matches!(nix::poll::poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0);
            if !ready || sys::timer_ack(&self.file, 1).is_err() {
                break;
            }
            ticks += 1;
            ms = 0;
        }
        ticks
    }
}

/// The E1 layout trunkd runs on a DAHDI span: timeslots 1–31 at positions 1–31, TS16 the
/// D-channel (PRI) or not a channel at all (CAS: the bits ride in TS16 for every bearer).
pub fn e1_channels(span: i32, dchan: bool) -> Vec<DahdiChanSpec> {
    (1..=31u16)
        .filter(|t| dchan || *t != 16)
        .map(|t| DahdiChanSpec {
            number: t,
            addr: ChanAddr::InSpan { span, pos: i32::from(t) },
            path: match (t, dchan) {
                (16, true) => PathKind::Hdlc,
                (_, true) => PathKind::Bearer,
                (_, false) => PathKind::Cas,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rx_ring_keeps_the_newest_blocks_and_counts_drops() {
        let mut r = RxRing::new();
        assert!(r.pop().is_none());
        let mut dropped = 0;
        for i in 0..5u8 {
            dropped += usize::from(r.push(&[i; BLOCK]));
        }
        assert_eq!(dropped, 5 - RX_RING);
        for i in (5 - RX_RING as u8)..5 {
            assert_eq!(r.pop().map(|b| b[0]), Some(i));
        }
        assert!(r.pop().is_none());
    }

    #[test]
    fn channels_must_be_configured_for_what_trunkd_does_with_them() {
        use sys::*;
        assert!(sig_fits(PathKind::Bearer, DAHDI_SIG_CLEAR).is_ok());
        assert!(sig_fits(PathKind::Hdlc, DAHDI_SIG_HDLCFCS).is_ok());
        assert!(sig_fits(PathKind::Hdlc, DAHDI_SIG_HARDHDLC).is_ok());
        assert!(sig_fits(PathKind::Cas, DAHDI_SIG_CAS).is_ok());
        assert!(sig_fits(PathKind::Fxs, DAHDI_SIG_FXOKS).is_ok());
        assert!(sig_fits(PathKind::Fxo, DAHDI_SIG_FXSKS).is_ok());
        assert!(sig_fits(PathKind::Fxo, DAHDI_SIG_FXSGS).is_err(), "ground start is not implemented");
        // The classic mistake: FXS signalling on an FXS port.
        assert_eq!(sig_fits(PathKind::Fxs, DAHDI_SIG_FXSKS), Err("fxoks or fxols (FXO signalling drives an FXS port)"));
        assert!(sig_fits(PathKind::Bearer, DAHDI_SIG_HDLCFCS).is_err());
        assert!(sig_fits(PathKind::Cas, DAHDI_SIG_CLEAR).is_err());
        assert_eq!(sig_name(DAHDI_SIG_FXSKS), "fxsks");
        assert_eq!(sig_name(DAHDI_SIG_HDLCFCS), "dchan");
    }

    #[test]
    fn e1_layout_for_pri_and_cas() {
        let pri = e1_channels(2, true);
        assert_eq!(pri.len(), 31);
        assert_eq!(pri[15].path, PathKind::Hdlc);
        assert_eq!(pri[15].addr, ChanAddr::InSpan { span: 2, pos: 16 });
        assert!(pri.iter().filter(|c| c.number != 16).all(|c| c.path == PathKind::Bearer));
        let cas = e1_channels(3, false);
        assert_eq!(cas.len(), 30);
        assert!(cas.iter().all(|c| c.path == PathKind::Cas && c.number != 16));
    }
}
