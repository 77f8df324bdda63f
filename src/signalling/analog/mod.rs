//! Analog loop-start signalling: FXS ports (we feed telephones) and FXO ports (we face a
//! central office), grouped in [`AnalogLines`], which implements [`SignallingCore`] over
//! N lines of one kind (`chan` = line index `0..N`; other indices are ignored).
//!
//! Span alarms block every line of the group. Calls in progress are cleared with
//! `DestinationOutOfOrder` (27) on FXS (the phone side is what became unreachable) and
//! `NetworkOutOfOrder` (38) on FXO (the central office is the network); a line returns to
//! idle when the alarm clears.

pub mod fxo;
pub mod fxs;
pub mod profile;
pub mod wire;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod testutil;

use std::collections::VecDeque;

pub use fxo::Fxo;
pub use fxs::Fxs;
pub use profile::{CidListen, CidWhen, ClearTone, DialMode, Disconnect, FxoProfile, FxsProfile, ProfileError};

use crate::backend::line::LineCmd;
use crate::dsp::tone::ToneKind;
use crate::signalling::{CallEvent, Cause, Listen, SigInput, SigOutput, SignallingCore};
use crate::time::{earliest, Instant};

/// Cause for FXS calls cut by a span alarm.
pub const FXS_ALARM_CAUSE: Cause = Cause::DestinationOutOfOrder;
/// Cause for FXO calls cut by a span alarm.
pub const FXO_ALARM_CAUSE: Cause = Cause::NetworkOutOfOrder;

/// The output queue seen from one channel (shared by the per-channel machines).
pub(crate) struct Out<'a> {
    pub chan: u16,
    pub q: &'a mut VecDeque<SigOutput>,
}

impl Out<'_> {
    pub fn tx(&mut self, cmd: LineCmd) {
        self.q.push_back(SigOutput::Transmit { chan: self.chan, cmd });
    }
    pub fn tone(&mut self, tone: Option<ToneKind>) {
        self.q.push_back(SigOutput::Tone { chan: self.chan, tone });
    }
    pub fn event(&mut self, event: CallEvent) {
        self.q.push_back(SigOutput::Event { chan: self.chan, event });
    }
    pub fn send_digits(&mut self, digits: String) {
        self.q.push_back(SigOutput::SendDigits { chan: self.chan, digits });
    }
}

/// The lines of a group: all FXS or all FXO, with one profile.
#[derive(Debug)]
enum Lines {
    Fxs(FxsProfile, Vec<Fxs>),
    Fxo(FxoProfile, Vec<Fxo>),
}

/// A group of analog lines of one kind.
#[derive(Debug)]
pub struct AnalogLines {
    lines: Lines,
    span_down: bool,
    out: VecDeque<SigOutput>,
}

/// Timers a line may have due at once (pulse, break and state timers): bounds the loop
/// in `handle_timeout`.
const MAX_TIMERS_PER_CALL: usize = 8;

impl AnalogLines {
    /// `lines` FXS ports sharing `profile` (check it with [`FxsProfile::validate`] first).
    pub fn fxs(profile: FxsProfile, lines: usize) -> Self {
        let v = (0..lines).map(|_| Fxs::new()).collect();
        AnalogLines { lines: Lines::Fxs(profile, v), span_down: false, out: VecDeque::new() }
    }

    /// `lines` FXO ports sharing `profile` (check it with [`FxoProfile::validate`] first).
    pub fn fxo(profile: FxoProfile, lines: usize) -> Self {
        let v = (0..lines).map(|_| Fxo::new()).collect();
        AnalogLines { lines: Lines::Fxo(profile, v), span_down: false, out: VecDeque::new() }
    }

    pub fn len(&self) -> usize {
        match &self.lines {
            Lines::Fxs(_, v) => v.len(),
            Lines::Fxo(_, v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn alarm(&mut self, now: Instant, down: bool) {
        if down == self.span_down {
            return;
        }
        self.span_down = down;
        let q = &mut self.out;
        match &mut self.lines {
            Lines::Fxs(p, v) => {
                for (i, l) in v.iter_mut().enumerate() {
                    let mut out = Out { chan: i as u16, q };
                    if down {
                        l.alarm_down(&mut out);
                    } else {
                        l.alarm_clear(now, p, &mut out);
                    }
                }
            }
            Lines::Fxo(_, v) => {
                for (i, l) in v.iter_mut().enumerate() {
                    let mut out = Out { chan: i as u16, q };
                    if down {
                        l.alarm_down(&mut out);
                    } else {
                        l.alarm_clear();
                    }
                }
            }
        }
    }
}

impl SignallingCore for AnalogLines {
    fn handle_input(&mut self, now: Instant, input: SigInput) {
        let chan = match &input {
            SigInput::Alarm(a) => return self.alarm(now, a.is_down()),
            SigInput::Line { chan, .. }
            | SigInput::Dtmf { chan, .. }
            | SigInput::DigitsSent { chan }
            | SigInput::Command { chan, .. }
            | SigInput::CallerId { chan, .. }
            | SigInput::CallerIdSent { chan }
            | SigInput::Progress { chan, .. } => *chan,
        };
        let mut out = Out { chan, q: &mut self.out };
        match &mut self.lines {
            Lines::Fxs(p, v) => {
                let Some(l) = v.get_mut(usize::from(chan)) else {
                    return;
                };
                match input {
                    SigInput::Line { event, .. } => l.handle_line(now, p, &event, &mut out),
                    SigInput::Dtmf { digit, .. } => l.handle_dtmf(now, p, digit, &mut out),
                    SigInput::Command { cmd, .. } => l.handle_command(now, p, &cmd, &mut out),
                    SigInput::CallerIdSent { .. } => l.handle_caller_id_sent(now, &mut out),
                    SigInput::DigitsSent { .. }
                    | SigInput::Alarm(_)
                    | SigInput::CallerId { .. }
                    | SigInput::Progress { .. } => {}
                }
            }
            Lines::Fxo(p, v) => {
                let Some(l) = v.get_mut(usize::from(chan)) else {
                    return;
                };
                match input {
                    SigInput::Line { event, .. } => l.handle_line(now, p, &event, &mut out),
                    SigInput::DigitsSent { .. } => l.handle_digits_sent(p, &mut out),
                    SigInput::Command { cmd, .. } => l.handle_command(now, p, &cmd, &mut out),
                    SigInput::CallerId { report, .. } => l.handle_caller_id(now, p, report, &mut out),
                    SigInput::Progress { tone, .. } => l.handle_progress(tone, &mut out),
                    SigInput::Dtmf { .. } | SigInput::Alarm(_) | SigInput::CallerIdSent { .. } => {}
                }
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let q = &mut self.out;
        match &mut self.lines {
            Lines::Fxs(p, v) => {
                for (i, l) in v.iter_mut().enumerate() {
                    let mut out = Out { chan: i as u16, q };
                    for _ in 0..MAX_TIMERS_PER_CALL {
                        if l.poll_timeout(p).is_none_or(|t| t > now) {
                            break;
                        }
                        l.handle_timeout(now, p, &mut out);
                    }
                }
            }
            Lines::Fxo(p, v) => {
                for (i, l) in v.iter_mut().enumerate() {
                    let mut out = Out { chan: i as u16, q };
                    for _ in 0..MAX_TIMERS_PER_CALL {
                        if l.poll_timeout(p).is_none_or(|t| t > now) {
                            break;
                        }
                        l.handle_timeout(now, p, &mut out);
                    }
                }
            }
        }
    }

    fn poll_output(&mut self) -> Option<SigOutput> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.lines {
            Lines::Fxs(p, v) => v.iter().fold(None, |acc, l| earliest(acc, l.poll_timeout(p))),
            Lines::Fxo(p, v) => v.iter().fold(None, |acc, l| earliest(acc, l.poll_timeout(p))),
        }
    }

    fn listen(&self, chan: u16) -> Listen {
        match &self.lines {
            Lines::Fxo(p, v) if !self.span_down => v.get(usize::from(chan)).map(|l| l.listen(p)).unwrap_or_default(),
            _ => Listen::default(),
        }
    }

    fn channel_state(&self, chan: u16) -> &'static str {
        let i = usize::from(chan);
        let name = match &self.lines {
            Lines::Fxs(_, v) => v.get(i).map(Fxs::state_name),
            Lines::Fxo(_, v) => v.get(i).map(Fxo::state_name),
        };
        name.unwrap_or("unknown")
    }
}
