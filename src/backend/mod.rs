//! The backend trait family: what a card, a modem or the simulator gives the daemon.
//!
//! A backend owns spans; a span owns channels; each channel may have an audio path
//! (20 ms frames at 8 kHz) and a signalling path of one [`PathKind`]. The call core moves
//! audio once per media tick and passes signalling events to the sans-IO stacks.
//!
//! The trait is shaped after what DAHDI really offers (per-channel fds with blocking
//! reads of `blocksize` bytes, HDLC frames with driver FCS, CAS bits, hook events and
//! span alarms via SPANSTAT) and what a serial modem offers (AT lines plus a PCM stream
//! in 20 ms frames): both map onto non-blocking `read_audio`/`write_audio`, `transmit`
//! and a batch of events per tick, so neither needs a thread per channel.

#[cfg(target_os = "linux")]
pub mod dahdi;
pub mod line;
pub mod sim;

use crate::dsp::g711::Law;
use crate::time::Instant;
use line::{Alarms, LineCmd, LineEvent, PathKind};

/// Samples in one media frame: 20 ms at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// One 20 ms frame of linear PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// The physical shape of a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpanKind {
    /// 2.048 Mbit/s, 32 timeslots; TS0 framing, TS16 D-channel or CAS.
    E1,
    /// A group of analog ports.
    Analog,
    /// A serial voice or GSM modem (one channel).
    Modem,
}

/// Static description of one channel of a span.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChanDesc {
    /// Timeslot (E1: 1..=31) or port index (analog: 0-based).
    pub number: u16,
    pub path: PathKind,
    /// Whether the channel carries audio (a D-channel does not).
    pub audio: bool,
}

/// Static description of one span.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SpanDesc {
    pub name: String,
    pub kind: SpanKind,
    /// Companding law on the wire (audio crosses the trait as linear PCM).
    #[serde(skip)]
    pub law: Law,
    pub channels: Vec<ChanDesc>,
}

/// Per-span counters a backend keeps (read by `trunkd ctl spans`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SpanCounters {
    pub rx_frames: u64,
    pub tx_frames: u64,
    /// Reads that found no audio ready (silence substituted).
    pub underruns: u64,
    /// Frames dropped because the transmit queue was full.
    pub overruns: u64,
    pub hdlc_rx: u64,
    pub hdlc_tx: u64,
    pub hdlc_errors: u64,
    /// Line error counters a card keeps (DAHDI SPANSTAT; zero where the backend has none):
    /// framing errors, CRC-4 errors, bipolar violations, E-bits (far-end CRC-4 errors).
    pub framing_errors: u64,
    pub crc4_errors: u64,
    pub bpv_errors: u64,
    pub ebit_errors: u64,
}

/// Something that happened on a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendEvent {
    /// A signalling event on one channel (`chan` as in [`ChanDesc::number`]).
    Line { span: usize, chan: u16, event: LineEvent },
    /// A span's alarm state changed.
    Alarm { span: usize, alarms: Alarms },
}

/// Errors a backend reports; none of them is fatal to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("span {span} has no channel {chan}")]
    NoSuchChannel { span: usize, chan: u16 },
    #[error("channel {span}/{chan} cannot do that: {what}")]
    Unsupported { span: usize, chan: u16, what: &'static str },
    #[error("device I/O on {span}/{chan}: {source}")]
    Io {
        span: usize,
        chan: u16,
        #[source]
        source: std::io::Error,
    },
}

/// What the call core needs from a card, a modem or the simulator.
pub trait Backend: Send {
    /// A short name for logs ("sim", "dahdi", "modem:/dev/ttyUSB2").
    fn name(&self) -> &str;
    /// The spans this backend provides, in a fixed order (the `span` index of the calls below).
    fn spans(&self) -> &[SpanDesc];
    /// Collects signalling events and alarm changes that arrived since the last call.
    fn poll_events(&mut self, now: Instant, out: &mut Vec<BackendEvent>);
    /// Reads one received audio frame. Returns `false` when none was ready (the frame is
    /// then filled with silence and an underrun counted).
    fn read_audio(&mut self, span: usize, chan: u16, frame: &mut Frame) -> bool;
    /// Queues one audio frame for transmission.
    fn write_audio(&mut self, span: usize, chan: u16, frame: &Frame) -> Result<(), BackendError>;
    /// Transmits on a channel's signalling path.
    fn transmit(&mut self, now: Instant, span: usize, chan: u16, cmd: LineCmd) -> Result<(), BackendError>;
    /// Current alarms of a span.
    fn alarms(&self, span: usize) -> Alarms;
    /// Counters of a span.
    fn counters(&self, span: usize) -> SpanCounters;
    /// The hardware's own 20 ms clock, if it has one: the daemon paces its media tick by
    /// it, so reads and writes follow the card rather than the system clock (which drifts
    /// against it, costing a slip every few seconds). `None`: the simulator.
    fn media_clock(&self) -> Option<Box<dyn MediaClock>> {
        None
    }
}

/// A hardware clock ticking every 20 ms (a DAHDI timer); waited on by one thread.
pub trait MediaClock: Send {
    /// Blocks until the clock's next tick or `timeout`; returns how many 20 ms ticks
    /// passed (0 on timeout; more than 1 when the caller was late).
    fn wait(&mut self, timeout: std::time::Duration) -> u32;
}
