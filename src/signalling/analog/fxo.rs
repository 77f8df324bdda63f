//! FXO loop start: one port facing a central office (we behave like a phone).
//!
//! Incoming calls are ring bursts; the call is offered after `answer_after_rings` bursts.
//! Caller ID (`caller_id`) is listened for while the line is idle or ringing, so it is
//! caught wherever the CO sends it: before the first ring (DTMF, or FSK after a polarity
//! reversal) or in the pause after it. When the offer is due after the first ring and no
//! caller ID has come yet, it waits up to `caller_id_wait_ms` (or the next ring). A caller who gives up before the answer is only visible as
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
//! Disconnect supervision: battery loss of at least `battery_loss_min_ms`, a polarity
//! reversal with `hangup_on_polarity`, or (with `call_progress`) busy or congestion tone
//! in the zone's cadence, which is all many PBX ports and CO lines give. After dialling,
//! the same detector turns busy, congestion and SIT into the call's clearing cause.

use std::collections::VecDeque;

use super::profile::{DialMode, FxoProfile};
use super::Out;
use crate::backend::line::{HookCmd, HookEvent, LineCmd, LineEvent};
use crate::dsp::callerid::{Absence, CallerIdReport};
use crate::dsp::progress::ProgressTone;
use crate::pii::Pii;
use crate::signalling::ms;
use crate::signalling::{CallCommand, CallEvent, Cause, Listen, Party, Presentation};
use crate::time::{earliest, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Span alarm. `owes_release`: a call was cut and the core has not hung up yet.
    Blocked {
        owes_release: bool,
    },
    /// Ring bursts seen, call not offered yet; `deadline`: ringing has stopped.
    /// `cid_wait`: the offer is due and waits for caller ID until then.
    Ringing {
        rings: u32,
        deadline: Instant,
        cid_wait: Option<Instant>,
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
    /// Caller ID received for the coming call, and when (stale after `ring_timeout_ms`).
    cid: Option<(Party, Instant)>,
    /// Ringback was heard on the outgoing call (alerting reported once).
    ringback: bool,
    /// The call on the line is one we placed.
    outgoing: bool,
}

impl Default for Fxo {
    fn default() -> Self {
        Self::new()
    }
}

impl Fxo {
    pub fn new() -> Self {
        Fxo {
            state: State::Idle,
            battery_lost: None,
            answered_early: false,
            cid: None,
            ringback: false,
            outgoing: false,
        }
    }

    /// What the call core should run on this line's audio now. An idle line always
    /// listens (a newer caller ID replaces an older one); a ringing one until it has one.
    pub(crate) fn listen(&self, p: &FxoProfile) -> Listen {
        let caller_id = match self.state {
            State::Idle => p.caller_id.detect(),
            State::Ringing { .. } if self.cid.is_none() => p.caller_id.detect(),
            _ => None,
        };
        let progress = p.call_progress && matches!(self.state, State::Proceeding | State::Connected);
        Listen { caller_id, progress }
    }

    /// Caller ID decoded from the line: kept for the coming call's offer, which goes ahead
    /// now if it was waiting for it.
    pub(crate) fn handle_caller_id(&mut self, now: Instant, p: &FxoProfile, report: CallerIdReport, out: &mut Out) {
        if !matches!(self.state, State::Idle | State::Ringing { .. }) {
            return;
        }
        tracing::debug!(format = ?report.format, number = ?report.message.number, "FXO: caller ID");
        let m = report.message;
        let presentation = match m.number_absence {
            Some(Absence::Private) => Presentation::Restricted,
            Some(Absence::Unavailable) => Presentation::Unavailable,
            None => Presentation::Allowed,
        };
        let party = Party {
            number: Pii::new(m.number.unwrap_or_default()),
            name: m.name.map(Pii::new),
            presentation,
            redirecting: None,
        };
        self.cid = Some((party, now));
        if let State::Ringing { cid_wait: Some(_), .. } = self.state {
            let deadline = now + ms(p.ring_timeout_ms);
            self.offer(p, deadline, out);
        }
    }

    /// A call-progress tone on a call we placed or hold.
    pub(crate) fn handle_progress(&mut self, tone: ProgressTone, out: &mut Out) {
        // Without answer supervision a placed call counts as connected once dialled, so
        // until ringback is heard busy, congestion and SIT still mean the call failed;
        // after it (or on a call we answered), busy or congestion is the far end hanging
        // up and the CO playing the tone.
        let failed = self.outgoing && !self.ringback;
        let cause = match (&self.state, tone) {
            (State::Proceeding | State::Connected, ProgressTone::Ringback) => {
                if !std::mem::replace(&mut self.ringback, true) && self.state == State::Proceeding {
                    out.event(CallEvent::Alerting);
                }
                return;
            }
            (State::Proceeding, ProgressTone::Busy) => Cause::UserBusy,
            (State::Proceeding, ProgressTone::Congestion) => Cause::NoCircuitAvailable,
            (State::Proceeding | State::Connected, ProgressTone::Sit) => Cause::Unallocated,
            (State::Connected, ProgressTone::Busy) if failed => Cause::UserBusy,
            (State::Connected, ProgressTone::Congestion) if failed => Cause::NoCircuitAvailable,
            (State::Connected, ProgressTone::Busy | ProgressTone::Congestion) => Cause::NormalClearing,
            _ => return,
        };
        tracing::debug!(?tone, "FXO: call-progress tone clears the call");
        out.event(CallEvent::Hangup { cause });
        self.battery_lost = None;
        self.state = State::FarCleared { off_hook: true };
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
            State::Ringing { deadline, cid_wait, .. } => earliest(Some(*deadline), *cid_wait),
            State::Offered { deadline } | State::RingingOut { deadline } => Some(*deadline),
            State::Seized { dial_at, .. } => Some(*dial_at),
            State::DialingPulse { next, .. } => Some(*next),
            State::Guard { until } => Some(*until),
            _ => None,
        };
        let battery = self.battery_lost.filter(|_| self.holds_loop());
        let state = earliest(state, self.cid_expiry(p));
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
        let have_cid = self.cid.is_some();
        match &mut self.state {
            State::Idle if edge == HookEvent::RingBegin => {
                self.state = State::Ringing { rings: 0, deadline, cid_wait: None };
            }
            // The next ring began and caller ID never came: offer without it.
            State::Ringing { cid_wait: Some(_), .. } if edge == HookEvent::RingBegin => self.offer(p, deadline, out),
            State::Ringing { rings, deadline: d, cid_wait } => {
                *d = deadline;
                if edge == HookEvent::RingEnd {
                    *rings += 1;
                    if *rings >= p.answer_after_rings.max(1) {
                        let expect_cid = *rings == 1 && p.caller_id.detect().is_some() && !have_cid;
                        if expect_cid {
                            *cid_wait = Some(now + ms(p.caller_id_wait_ms));
                        } else {
                            self.offer(p, deadline, out);
                        }
                    }
                }
            }
            State::Offered { deadline: d } | State::RingingOut { deadline: d } => *d = deadline,
            _ => {}
        }
    }

    /// Caller ID heard on an idle line belongs to a call whose first ring comes within
    /// `caller_id_wait_ms`; otherwise the caller gave up and it is forgotten.
    fn cid_expiry(&self, p: &FxoProfile) -> Option<Instant> {
        match (&self.state, &self.cid) {
            (State::Idle, Some((_, at))) => Some(*at + ms(p.caller_id_wait_ms)),
            _ => None,
        }
    }

    /// The caller ID kept belongs to this ringing: it is forgotten when an idle line's
    /// wait runs out ([`Fxo::cid_expiry`]), when ringing stops, on an alarm or a seizure.
    fn offer(&mut self, p: &FxoProfile, deadline: Instant, out: &mut Out) {
        self.outgoing = false;
        let calling = self.cid.take().map(|(party, _)| party).unwrap_or_default();
        out.event(CallEvent::Incoming { called: p.did.reveal().clone(), calling });
        self.state = State::Offered { deadline };
    }

    pub(crate) fn handle_command(&mut self, now: Instant, p: &FxoProfile, cmd: &CallCommand, out: &mut Out) {
        match cmd {
            CallCommand::Originate { called, .. } => match self.state {
                State::Idle => {
                    out.tx(LineCmd::Hook(HookCmd::OffHook));
                    self.battery_lost = None;
                    self.ringback = false;
                    self.outgoing = true;
                    self.cid = None;
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
        if self.cid_expiry(p).is_some_and(|t| now >= t) {
            self.cid = None;
        }
        match &mut self.state {
            State::Ringing { deadline, .. } | State::RingingOut { deadline } if now >= *deadline => {
                self.state = State::Idle;
                self.cid = None;
            }
            State::Ringing { cid_wait: Some(t), deadline, .. } if now >= *t => {
                let deadline = *deadline;
                self.offer(p, deadline, out);
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
        self.cid = None;
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
