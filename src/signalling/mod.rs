//! Signalling stacks: sans-IO state machines between a backend's signalling paths and
//! the call core.
//!
//! Every stack (analog loop start, E&M CAS, and later Q.921/Q.931 and MFC/R2) is driven
//! the same way: `handle_input(now, …)` with wire events, in-band digits and call-core
//! commands; `handle_timeout(now)` when `poll_timeout()` is due; and `poll_output()`
//! drained until `None`. No I/O, no clock, no threads: the daemon (or a test in virtual
//! time) owns all of that.

pub mod cause;

pub use cause::Cause;

use crate::backend::line::{Alarms, LineCmd, LineEvent};
use crate::dsp::callerid::{CallerIdMessage, CallerIdReport, CidDetect, CidTxConfig};
use crate::dsp::progress::ProgressTone;
use crate::dsp::tone::ToneKind;
use crate::pii::Pii;
use crate::time::Instant;

/// Profile durations are whole milliseconds in config; timers want `Duration`.
pub(crate) fn ms(v: u32) -> std::time::Duration {
    std::time::Duration::from_millis(u64::from(v))
}

/// Whether the calling party allowed its number to be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presentation {
    #[default]
    Allowed,
    Restricted,
    Unavailable,
}

/// A calling or called party as the call core sees it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Party {
    /// Digits (may be empty when unknown).
    pub number: Pii<String>,
    /// Display name, when the signalling carries one.
    pub name: Option<Pii<String>>,
    pub presentation: Presentation,
    /// The number the call was diverted from (Q.931 Redirecting number), when known.
    pub redirecting: Option<Pii<String>>,
}

impl Party {
    pub fn number(n: &str) -> Party {
        Party { number: n.into(), ..Party::default() }
    }
}

/// Commands the call core gives a signalling stack for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallCommand {
    /// Seize the channel and place an outgoing call.
    Originate { called: String, calling: Party },
    /// Incoming call: the number is complete and being processed (Q.931 CALL PROCEEDING).
    Proceeding,
    /// Incoming call: the destination is alerting (ALERTING; ringback in-band).
    Alerting,
    /// Incoming call: in-band information available before answer (PROGRESS, early media).
    Progress,
    /// Incoming call: answer (CONNECT / off-hook).
    Answer,
    /// Clear the call on this channel with a cause.
    Hangup { cause: Cause },
}

/// What a signalling stack reports to the call core for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// A new incoming call on this channel.
    Incoming { called: String, calling: Party },
    /// More called digits arrived (overlap receiving).
    MoreDigits(String),
    /// Outgoing call: the far end is processing it.
    Proceeding,
    /// Outgoing call: the far end is alerting.
    Alerting,
    /// Outgoing call: in-band information is available (early media).
    Progress,
    /// The call is answered (outgoing: far end answered; incoming: our answer took effect).
    Answered,
    /// A hook flash from the far end (analog), e.g. for transfer.
    Flash,
    /// The far end cleared or the call failed, with a cause. The channel is not yet free.
    Hangup { cause: Cause },
    /// The channel is idle again and may carry a new call.
    Released,
}

/// An input to a signalling stack. `chan` is the channel's index within the stack's group
/// (for an E1 span: the timeslot number; for an analog group: the line index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigInput {
    /// Something arrived on a channel's signalling path.
    Line { chan: u16, event: LineEvent },
    /// A DTMF digit detected in-band on a channel's audio by the call core (at digit end).
    Dtmf { chan: u16, digit: char },
    /// In-band digits asked for with `SigOutput::SendDigits` have all been sent.
    DigitsSent { chan: u16 },
    /// A command from the call core.
    Command { chan: u16, cmd: CallCommand },
    /// The span's alarm state changed.
    Alarm(Alarms),
    /// Caller ID decoded from the channel's audio (asked for with [`Listen::caller_id`]).
    CallerId { chan: u16, report: CallerIdReport },
    /// The caller ID asked for with `SigOutput::SendCallerId` has been sent (or could not be).
    CallerIdSent { chan: u16 },
    /// A call-progress tone recognised on the channel's audio (asked for with
    /// [`Listen::progress`]), by its zone cadence.
    Progress { chan: u16, tone: ProgressTone },
}

/// An output of a signalling stack.
#[derive(Clone, Debug, PartialEq)]
pub enum SigOutput {
    /// Transmit on a channel's signalling path.
    Transmit { chan: u16, cmd: LineCmd },
    /// Play a zone tone in-band on a channel (None: stop). The call core owns the audio.
    Tone { chan: u16, tone: Option<ToneKind> },
    /// Send digits in-band as DTMF; `SigInput::DigitsSent` follows when done.
    SendDigits { chan: u16, digits: String },
    /// Send on-hook caller ID in-band (None: stop a transmission in progress);
    /// `SigInput::CallerIdSent` follows when done. The call core adds the date and time.
    SendCallerId { chan: u16, cid: Option<Box<(CidTxConfig, CallerIdMessage)>> },
    /// Report to the call core.
    Event { chan: u16, event: CallEvent },
}

/// The detectors a stack wants run on a channel's received audio right now. The call core
/// owns the audio and the DSP; the stack says what it needs to hear, and results come
/// back as `SigInput::CallerId` / `SigInput::Progress`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listen {
    /// Caller ID, while on-hook and ringing.
    pub caller_id: Option<CidDetect>,
    /// Call-progress tones (busy, congestion, ringback, SIT), in the zone's cadences.
    pub progress: bool,
}

/// The contract every signalling stack implements (see the module doc).
pub trait SignallingCore: Send {
    /// Feeds one input at time `now`.
    fn handle_input(&mut self, now: Instant, input: SigInput);
    /// Runs timers that are due at `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// The next output, if any.
    fn poll_output(&mut self) -> Option<SigOutput>;
    /// The earliest time `handle_timeout` must be called, if any timer runs.
    fn poll_timeout(&self) -> Option<Instant>;
    /// A short state name per channel for `trunkd ctl channels` (e.g. "idle", "ringing").
    fn channel_state(&self, chan: u16) -> &'static str;
    /// Whether the channel is free: no call, no seizure, no guard time. The call core asks
    /// the stack instead of guessing from line events, since only the stack knows when a
    /// far end that gave up has really left the line.
    fn is_idle(&self, chan: u16) -> bool {
        self.channel_state(chan) == "idle"
    }
    /// The channel is out of service (a RESTART in progress, maintenance): not free, but
    /// not seized by anyone either, so the call core neither hunts it nor listens on it.
    fn is_blocked(&self, chan: u16) -> bool {
        let _ = chan;
        false
    }
    /// An operator's request to reset one channel in the signalling (Q.931 RESTART): its
    /// call, if any, is cleared at both ends. False when the stack has no such procedure.
    fn restart_channel(&mut self, now: Instant, chan: u16) -> bool {
        let _ = (now, chan);
        false
    }
    /// What the call core should listen for on `chan` at the moment (asked every tick).
    fn listen(&self, chan: u16) -> Listen {
        let _ = chan;
        Listen::default()
    }
    /// A one-line state of the span's signalling link, for stacks that have one (the PRI
    /// D-channel), shown by `trunkd ctl spans`.
    fn link_status(&self) -> Option<String> {
        None
    }
}

pub mod analog;
pub mod em;
pub mod pri;
