//! FXO loop start: one port facing a central office (we behave like a phone).
//!
//! Incoming calls are ring bursts; the call is offered after `answer_after_rings` bursts.
//! Caller ID will be decoded in the pause after the first ring (the hook point is
//! [`Fxo::caller_id_point`]). A caller who gives up before the answer is only visible as
//! the ringing stopping: after `ring_timeout_ms` without a ring edge the call is cleared
//! with `NormalClearing` (Q.850 has no "originator cancel"; 16 is what a SIP CANCEL and
//! an ISDN DISCONNECT before answer map to).
//!
//! Outgoing calls seize the loop, wait `dial_delay_ms` (dial-tone detection will shorten
//! this later: see [`Fxo::dial_delay_over`]) and dial by DTMF (through the call core) or by
//! loop-disconnect pulses timed here. A loop-start line gives no answer signal unless the
//! CO reverses polarity, so without `answer_on_polarity` a call counts as answered as soon
//! as dialling ends.
//!
//! Disconnect supervision: battery loss of at least `battery_loss_min_ms`, or a polarity
//! reversal with `hangup_on_polarity`. Busy/congestion-tone disconnect needs the DSP's
//! tone detector, which the `SigInput` contract does not carry yet; it will be added here
//! as another cause of the far-cleared path once it does.

use std::collections::VecDeque;

use super::profile::{DialMode, FxoProfile};
use super::Out;
use crate::backend::line::{HookCmd, HookEvent, LineCmd, LineEvent};
use crate::signalling::ms;
use crate::signalling::{CallCommand, CallEvent, Cause, Party};
use crate::time::{earliest, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Span alarm. `owes_release`: a call was cut and the core has not hung up yet.
    Blocked {
        owes_release: bool,
    },
    /// Ring bursts seen, call not offered yet; `deadline`: ringing has stopped.
    Ringing {
        rings: u32,
        deadline: Instant,
    },
    /// `Incoming` reported, not answered; `deadline`: ringing has stopped.
    Offered {
        deadline: Instant,
    },
    /// The core refused an offered call: let the ringing die out without seizing.
    RingingOut {
        deadline: Instant,
    },
    /// Seized for an outgoing call, waiting for dial tone (`dial_at`).
    Seized {
        called: String,
        dial_at: Instant,
    },
    /// DTMF handed to the core; waiting for `DigitsSent`.
    DialingDtmf,
    /// Pulsing `digits`: `left` pulses of the current digit, `breaking` the loop is open.
    DialingPulse {
        digits: VecDeque<u8>,
        left: u8,
        breaking: bool,
        next: Instant,
    },
    /// Dialled, waiting for the answer reversal.
    Proceeding,
    /// In a call (off-hook).
    Connected,
    /// We reported `Hangup` (the far end cleared or a call was abandoned): waiting for the
    /// core's Hangup. `off_hook`: we still hold the loop.
    FarCleared {
        off_hook: bool,
    },
    /// On-hook guard before the line is free again.
    Guard {
        until: Instant,
    },
}

/// One FXO line.
#[derive(Debug)]
pub struct Fxo {
    state: State,
    /// Battery went away at this time and has not come back (disconnect debounce).
    battery_lost: Option<Instant>,
    /// The answer reversal came while we were still dialling (a far end that answers on
    /// the last digit): report the answer as soon as dialling is done.
    answered_early: bool,
}

impl Default for Fxo {
    fn default() -> Self {
        Self::new()
    }
}

impl Fxo {
    pub fn new() -> Self {
        Fxo { state: State::Idle, battery_lost: None, answered_early: false }
    }

    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Idle => "idle",
            State::Blocked { .. } => "blocked",
            State::Ringing { .. } | State::RingingOut { .. } => "ringing",
            State::Offered { .. } => "offered",
            State::Seized { .. } | State::DialingDtmf | State::DialingPulse { .. } => "dialing",
            State::Proceeding => "proceeding",
            State::Connected => "connected",
            State::FarCleared { .. } => "clearing",
            State::Guard { .. } => "guard",
        }
    }

    fn holds_loop(&self) -> bool {
        matches!(
            self.state,
            State::Seized { .. }
                | State::DialingDtmf
                | State::DialingPulse { .. }
                | State::Proceeding
                | State::Connected
        )
    }

    pub(crate) fn poll_timeout(&self, p: &FxoProfile) -> Option<Instant> {
        let state = match &self.state {
            State::Ringing { deadline, .. } | State::Offered { deadline } | State::RingingOut { deadline } => {
                Some(*deadline)
            }
            State::Seized { dial_at, .. } => Some(*dial_at),
            State::DialingPulse { next, .. } => Some(*next),
            State::Guard { until } => Some(*until),
            _ => None,
        };
        let battery = self.battery_lost.filter(|_| self.holds_loop());
        earliest(state, battery.map(|t| t + ms(p.battery_loss_min_ms)))
    }

    pub(crate) fn handle_line(&mut self, now: Instant, p: &FxoProfile, ev: &LineEvent, out: &mut Out) {
        let LineEvent::Hook(h) = ev else { return };
        match h {
            HookEvent::RingBegin | HookEvent::RingEnd => self.ring_edge(now, p, *h, out),
            HookEvent::BatteryLoss if self.battery_lost.is_none() => self.battery_lost = Some(now),
            HookEvent::BatteryRestored => self.battery_lost = None,
            HookEvent::PolarityReversal => match self.state {
                State::DialingDtmf | State::DialingPulse { .. } if p.answer_on_polarity => self.answered_early = true,
                State::Proceeding if p.answer_on_polarity => {
                    out.event(CallEvent::Answered);
                    self.state = State::Connected;
                }
                State::Connected if p.hangup_on_polarity => self.far_cleared(out),
                _ => {}
            },
            _ => {}
        }
    }

    fn ring_edge(&mut self, now: Instant, p: &FxoProfile, edge: HookEvent, out: &mut Out) {
        let deadline = now + ms(p.ring_timeout_ms);
        match &mut self.state {
            State::Idle if edge == HookEvent::RingBegin => {
                self.state = State::Ringing { rings: 0, deadline };
            }
            State::Ringing { rings, deadline: d } => {
                *d = deadline;
                if edge == HookEvent::RingEnd {
                    *rings += 1;
                    let rings = *rings;
                    if rings == 1 {
                        self.caller_id_point();
                    }
                    if rings >= p.answer_after_rings.max(1) {
                        self.offer(p, deadline, out);
                    }
                }
            }
            State::Offered { deadline: d } | State::RingingOut { deadline: d } => *d = deadline,
            _ => {}
        }
    }

    fn offer(&mut self, p: &FxoProfile, deadline: Instant, out: &mut Out) {
        out.event(CallEvent::Incoming { called: p.did.reveal().clone(), calling: Party::default() });
        self.state = State::Offered { deadline };
    }

    /// Hook point for caller ID: the FSK burst between the first and second ring will be
    /// decoded here (and the `Incoming` held back until it is). Does nothing yet.
    fn caller_id_point(&mut self) {}

    pub(crate) fn handle_command(&mut self, now: Instant, p: &FxoProfile, cmd: &CallCommand, out: &mut Out) {
        match cmd {
            CallCommand::Originate { called, .. } => match self.state {
                State::Idle => {
                    out.tx(LineCmd::Hook(HookCmd::OffHook));
                    self.battery_lost = None;
                    self.state = State::Seized { called: called.clone(), dial_at: now + ms(p.dial_delay_ms) };
                }
                State::Blocked { .. } => refuse(out, super::FXO_ALARM_CAUSE),
                // Ringing in progress (glare) or the line is in use.
                _ => refuse(out, Cause::RequestedChannelNotAvailable),
            },
            CallCommand::Answer => {
                if let State::Offered { .. } = self.state {
                    out.tx(LineCmd::Hook(HookCmd::OffHook));
                    self.battery_lost = None;
                    out.event(CallEvent::Answered);
                    self.state = State::Connected;
                }
            }
            CallCommand::Hangup { .. } => match self.state {
                State::Offered { deadline } => {
                    out.event(CallEvent::Released);
                    self.state = State::RingingOut { deadline };
                }
                State::FarCleared { off_hook: false } => {
                    out.event(CallEvent::Released);
                    self.state = State::Idle;
                }
                State::Blocked { owes_release: true } => {
                    out.event(CallEvent::Released);
                    self.state = State::Blocked { owes_release: false };
                }
                State::FarCleared { off_hook: true } => self.hang_up(now, p, out),
                _ if self.holds_loop() => self.hang_up(now, p, out),
                _ => {}
            },
            CallCommand::Proceeding | CallCommand::Alerting | CallCommand::Progress => {}
        }
    }

    fn hang_up(&mut self, now: Instant, p: &FxoProfile, out: &mut Out) {
        out.tx(LineCmd::Hook(HookCmd::OnHook));
        self.battery_lost = None;
        self.state = State::Guard { until: now + ms(p.onhook_guard_ms) };
    }

    pub(crate) fn handle_digits_sent(&mut self, p: &FxoProfile, out: &mut Out) {
        if self.state == State::DialingDtmf {
            self.dialled(p, out);
        }
    }

    /// Dialling is done. Loop start has no answer signal unless the CO reverses polarity,
    /// so without `answer_on_polarity` the call counts as answered now (module doc).
    fn dialled(&mut self, p: &FxoProfile, out: &mut Out) {
        out.event(CallEvent::Proceeding);
        if p.answer_on_polarity && !std::mem::take(&mut self.answered_early) {
            self.state = State::Proceeding;
        } else {
            out.event(CallEvent::Answered);
            self.state = State::Connected;
        }
    }

    fn far_cleared(&mut self, out: &mut Out) {
        out.event(CallEvent::Hangup { cause: Cause::NormalClearing });
        self.battery_lost = None;
        self.state = State::FarCleared { off_hook: true };
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant, p: &FxoProfile, out: &mut Out) {
        if self.holds_loop() && self.battery_lost.is_some_and(|t| now >= t + ms(p.battery_loss_min_ms)) {
            return self.far_cleared(out);
        }
        match &mut self.state {
            State::Ringing { deadline, .. } | State::RingingOut { deadline } if now >= *deadline => {
                self.state = State::Idle;
            }
            State::Offered { deadline } if now >= *deadline => {
                // The caller abandoned before the answer (see the module doc for the cause).
                out.event(CallEvent::Hangup { cause: Cause::NormalClearing });
                self.state = State::FarCleared { off_hook: false };
            }
            State::Seized { dial_at, .. } if now >= *dial_at => self.dial_delay_over(now, p, out),
            State::DialingPulse { digits, left, breaking, next } if now >= *next => {
                if *breaking {
                    out.tx(LineCmd::Hook(HookCmd::OffHook));
                    *breaking = false;
                    *left = left.saturating_sub(1);
                    let gap = if *left > 0 { p.pulse_make_ms } else { p.pulse_interdigit_ms };
                    *next = now + ms(gap);
                } else if *left > 0 {
                    out.tx(LineCmd::Hook(HookCmd::OnHook));
                    *breaking = true;
                    *next = now + ms(p.pulse_break_ms);
                } else if let Some(d) = digits.pop_front() {
                    *left = d;
                    out.tx(LineCmd::Hook(HookCmd::OnHook));
                    *breaking = true;
                    *next = now + ms(p.pulse_break_ms);
                } else {
                    self.dialled(p, out);
                }
            }
            State::Guard { until } if now >= *until => {
                out.event(CallEvent::Released);
                self.state = State::Idle;
            }
            _ => {}
        }
    }

    /// The dial delay is over: dial. Dial-tone detection will call this early once the
    /// DSP reports dial tone.
    fn dial_delay_over(&mut self, now: Instant, p: &FxoProfile, out: &mut Out) {
        let State::Seized { called, .. } = &mut self.state else {
            return;
        };
        let called = std::mem::take(called);
        match p.dial_mode {
            DialMode::Dtmf if !called.is_empty() => {
                out.send_digits(called);
                self.state = State::DialingDtmf;
            }
            DialMode::Pulse => {
                // Only 0-9 can be pulsed; other characters are skipped.
                let digits: VecDeque<u8> =
                    called.chars().filter_map(|c| c.to_digit(10)).map(|d| if d == 0 { 10 } else { d as u8 }).collect();
                self.state = State::DialingPulse { digits, left: 0, breaking: false, next: now };
                self.handle_timeout(now, p, out);
            }
            DialMode::Dtmf => self.dialled(p, out),
        }
    }

    pub(crate) fn alarm_down(&mut self, out: &mut Out) {
        let owes_release = match self.state {
            State::Offered { .. } | State::Connected | State::Proceeding => {
                out.event(CallEvent::Hangup { cause: super::FXO_ALARM_CAUSE });
                true
            }
            State::Seized { .. } | State::DialingDtmf | State::DialingPulse { .. } => {
                out.event(CallEvent::Hangup { cause: super::FXO_ALARM_CAUSE });
                true
            }
            State::FarCleared { .. } => true,
            State::Guard { .. } => {
                out.event(CallEvent::Released);
                false
            }
            State::Blocked { owes_release } => owes_release,
            _ => false,
        };
        if self.holds_loop() {
            out.tx(LineCmd::Hook(HookCmd::OnHook));
        }
        self.battery_lost = None;
        self.state = State::Blocked { owes_release };
    }

    pub(crate) fn alarm_clear(&mut self) {
        if let State::Blocked { owes_release } = self.state {
            self.state = if owes_release { State::FarCleared { off_hook: false } } else { State::Idle };
        }
    }
}

fn refuse(out: &mut Out, cause: Cause) {
    out.event(CallEvent::Hangup { cause });
    out.event(CallEvent::Released);
}
