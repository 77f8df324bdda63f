//! FXS loop start: one port feeding a telephone.
//!
//! The phone's hook switch arrives as raw transitions (or as backend-decoded flashes and
//! pulse digits). A loop break is classified by its length once the loop closes again:
//! up to `pulse_break_max_ms` a dial pulse (while dialling), `flash_min_ms..=flash_max_ms`
//! a hook flash (in a call), anything shorter ignored as a bounce. A break that reaches
//! `flash_max_ms` is a hang-up, so a hang-up is reported `flash_max_ms` after the loop
//! opened: the price of telling it from a flash.

use super::profile::{ClearTone, Disconnect, FxsProfile};
use super::Out;
use crate::backend::line::{HookCmd, HookEvent, LineCmd, LineEvent, Polarity};
use crate::dsp::tone::ToneKind;
use crate::signalling::ms;
use crate::signalling::{CallCommand, CallEvent, Cause, Party};
use crate::time::{earliest, Instant};

/// Where ringing stands relative to caller ID (the hook point for the later CLIP work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerIdSlot {
    /// Before the first ring (ETSI/UK style, after a polarity reversal or line reversal).
    BeforeFirstRing,
    /// In the pause after the first ring (Bell 202 / V.23 between-rings style).
    AfterFirstRing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// On-hook, no call.
    Idle,
    /// Span alarm: no calls. `owes_release`: a call was cut and the core has not hung up yet.
    Blocked { owes_release: bool },
    /// Off-hook, dial tone, no digit yet.
    DialTone { deadline: Instant },
    /// Collecting digits; `deadline` is the inter-digit timeout.
    Collecting { deadline: Instant },
    /// First-digit timeout: congestion until the phone hangs up (no call exists).
    Lockout,
    /// The phone placed a call (`Incoming` reported), not answered yet.
    Offered,
    /// In a call. `originated`: the phone placed it (answer polarity applies).
    Connected { originated: bool },
    /// We ring the phone for an outgoing call.
    Ringing { calling: Party, step: usize, ring_on: bool, next: Instant },
    /// The phone hung up in a call and we reported `Hangup`: waiting for the core's Hangup.
    PhoneCleared,
    /// The core cleared: far-end disconnect signal and clearing tone until the phone hangs
    /// up. `restore_at`: the end of an open-loop battery denial.
    Clearing { restore_at: Option<Instant> },
}

/// One FXS line.
#[derive(Debug)]
pub struct Fxs {
    state: State,
    /// The phone's loop is closed (raw, including breaks being classified).
    off_hook: bool,
    /// Start of the loop break being classified.
    break_since: Option<Instant>,
    /// Pulses of the digit being dialled, and when its inter-digit make ends it.
    pulses: u8,
    pulse_digit_at: Option<Instant>,
    digits: String,
    polarity: Polarity,
    battery_denied: bool,
}

impl Default for Fxs {
    fn default() -> Self {
        Self::new()
    }
}

impl Fxs {
    pub fn new() -> Self {
        Fxs {
            state: State::Idle,
            off_hook: false,
            break_since: None,
            pulses: 0,
            pulse_digit_at: None,
            digits: String::new(),
            polarity: Polarity::Normal,
            battery_denied: false,
        }
    }

    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Idle => "idle",
            State::Blocked { .. } => "blocked",
            State::DialTone { .. } => "dialtone",
            State::Collecting { .. } => "collecting",
            State::Lockout => "lockout",
            State::Offered => "offered",
            State::Connected { .. } => "connected",
            State::Ringing { .. } => "ringing",
            State::PhoneCleared | State::Clearing { .. } => "clearing",
        }
    }

    pub(crate) fn poll_timeout(&self, p: &FxsProfile) -> Option<Instant> {
        let state = match &self.state {
            State::DialTone { deadline } | State::Collecting { deadline } => Some(*deadline),
            State::Ringing { next, .. } => Some(*next),
            State::Clearing { restore_at } => *restore_at,
            _ => None,
        };
        let hang_up = self.break_since.map(|t| t + ms(p.flash_max_ms));
        earliest(earliest(state, hang_up), self.pulse_digit_at)
    }

    pub(crate) fn handle_line(&mut self, now: Instant, p: &FxsProfile, ev: &LineEvent, out: &mut Out) {
        let LineEvent::Hook(h) = ev else { return };
        match *h {
            HookEvent::OffHook => self.loop_closed(now, p, out),
            HookEvent::OnHook if self.off_hook && self.break_since.is_none() => {
                self.break_since = Some(now);
            }
            HookEvent::Flash => {
                if matches!(self.state, State::Offered | State::Connected { .. }) {
                    out.event(CallEvent::Flash);
                }
            }
            HookEvent::PulseDigit(n) if (1..=10).contains(&n) || n == 0 => {
                let c = char::from(b'0' + n % 10);
                self.digit(now, p, c, out);
            }
            _ => {}
        }
    }

    pub(crate) fn handle_dtmf(&mut self, now: Instant, p: &FxsProfile, digit: char, out: &mut Out) {
        if self.off_hook && self.break_since.is_none() {
            self.digit(now, p, digit, out);
        }
    }

    /// The phone's loop closed: a new off-hook, or the end of a break to classify.
    fn loop_closed(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        if let Some(since) = self.break_since.take() {
            let len = now - since;
            match self.state {
                State::DialTone { .. } | State::Collecting { .. } if len <= ms(p.pulse_break_max_ms) => {
                    if matches!(self.state, State::DialTone { .. }) {
                        out.tone(None);
                    }
                    self.pulses = self.pulses.saturating_add(1);
                    self.pulse_digit_at = Some(now + ms(p.pulse_interdigit_ms));
                    // No inter-digit timeout while a pulse train runs.
                    let hold = p.pulse_interdigit_ms.saturating_add(p.inter_digit_timeout_ms);
                    self.state = State::Collecting { deadline: now + ms(hold) };
                }
                State::Offered | State::Connected { .. } if len >= ms(p.flash_min_ms) => {
                    out.event(CallEvent::Flash);
                }
                _ => {}
            }
            return;
        }
        if self.off_hook {
            return;
        }
        self.off_hook = true;
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => self.start_call(now, p, out),
            State::Ringing { .. } => {
                out.tx(LineCmd::Hook(HookCmd::RingOff));
                out.event(CallEvent::Answered);
                self.state = State::Connected { originated: false };
            }
            other => self.state = other,
        }
    }

    fn start_call(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        self.digits.clear();
        self.pulses = 0;
        self.pulse_digit_at = None;
        if p.immediate {
            self.offer(p, out);
        } else {
            out.tone(Some(ToneKind::Dial));
            self.state = State::DialTone { deadline: now + ms(p.first_digit_timeout_ms) };
        }
    }

    fn offer(&mut self, p: &FxsProfile, out: &mut Out) {
        let calling = if p.number.is_empty() { Party::default() } else { Party::number(p.number.reveal()) };
        out.event(CallEvent::Incoming { called: std::mem::take(&mut self.digits), calling });
        self.state = State::Offered;
    }

    fn digit(&mut self, now: Instant, p: &FxsProfile, c: char, out: &mut Out) {
        match self.state {
            State::DialTone { .. } => out.tone(None),
            State::Collecting { .. } => {}
            _ => return,
        }
        if p.terminator.contains(c) {
            return self.offer(p, out);
        }
        self.digits.push(c);
        if p.max_digits > 0 && self.digits.chars().count() >= p.max_digits as usize {
            return self.offer(p, out);
        }
        self.state = State::Collecting { deadline: now + ms(p.inter_digit_timeout_ms) };
    }

    pub(crate) fn handle_command(&mut self, now: Instant, p: &FxsProfile, cmd: &CallCommand, out: &mut Out) {
        match cmd {
            CallCommand::Originate { calling, .. } => match self.state {
                State::Idle => {
                    self.caller_id_point(CallerIdSlot::BeforeFirstRing, calling);
                    out.event(CallEvent::Alerting);
                    out.tx(LineCmd::Hook(HookCmd::Ring));
                    self.state = State::Ringing {
                        calling: calling.clone(),
                        step: 0,
                        ring_on: true,
                        next: now + ms(cadence(p, 0)),
                    };
                }
                State::Blocked { .. } => refuse(out, super::FXS_ALARM_CAUSE),
                _ => refuse(out, Cause::UserBusy),
            },
            CallCommand::Answer => {
                if self.state == State::Offered {
                    if p.answer_polarity {
                        self.set_polarity(Polarity::Reversed, out);
                    }
                    out.event(CallEvent::Answered);
                    self.state = State::Connected { originated: true };
                }
            }
            CallCommand::Hangup { .. } => self.core_hangup(now, p, out),
            CallCommand::Proceeding | CallCommand::Alerting | CallCommand::Progress => {}
        }
    }

    fn core_hangup(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        match self.state {
            State::Ringing { .. } => {
                out.tx(LineCmd::Hook(HookCmd::RingOff));
                self.release(now, p, out);
            }
            State::PhoneCleared => self.release(now, p, out),
            State::Blocked { owes_release: true } => {
                out.event(CallEvent::Released);
                self.state = State::Blocked { owes_release: false };
            }
            State::Offered | State::Connected { .. } => {
                out.tone(None);
                let (open, reverse) = match p.disconnect {
                    Disconnect::OpenLoop => (true, false),
                    Disconnect::Polarity => (false, true),
                    Disconnect::Both => (true, true),
                    Disconnect::None => (false, false),
                };
                if reverse {
                    let flipped = match self.polarity {
                        Polarity::Normal => Polarity::Reversed,
                        Polarity::Reversed => Polarity::Normal,
                    };
                    self.set_polarity(flipped, out);
                }
                let restore_at = if open {
                    out.tx(LineCmd::Hook(HookCmd::OnHook));
                    self.battery_denied = true;
                    Some(now + ms(p.open_loop_ms))
                } else {
                    out.tone(Some(clear_tone(p)));
                    None
                };
                self.state = State::Clearing { restore_at };
            }
            _ => {}
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        if let Some(since) = self.break_since {
            if now >= since + ms(p.flash_max_ms) {
                self.break_since = None;
                self.off_hook = false;
                self.phone_hung_up(now, p, out);
            }
        }
        if self.pulse_digit_at.is_some_and(|t| now >= t) {
            self.pulse_digit_at = None;
            let n = std::mem::take(&mut self.pulses);
            if (1..=10).contains(&n) {
                self.digit(now, p, char::from(b'0' + n % 10), out);
            }
        }
        match &mut self.state {
            State::DialTone { deadline } if now >= *deadline => {
                out.tone(Some(ToneKind::Congestion));
                self.state = State::Lockout;
            }
            State::Collecting { deadline } if now >= *deadline => {
                if self.digits.is_empty() {
                    out.tone(Some(ToneKind::Congestion));
                    self.state = State::Lockout;
                } else {
                    self.offer(p, out);
                }
            }
            State::Ringing { calling, step, ring_on, next } if now >= *next => {
                *step += 1;
                *ring_on = !*ring_on;
                *next = now + ms(cadence(p, *step));
                if *ring_on {
                    out.tx(LineCmd::Hook(HookCmd::Ring));
                } else {
                    out.tx(LineCmd::Hook(HookCmd::RingOff));
                    if *step == 1 {
                        let calling = calling.clone();
                        self.caller_id_point(CallerIdSlot::AfterFirstRing, &calling);
                    }
                }
            }
            State::Clearing { restore_at } if restore_at.is_some_and(|t| now >= t) => {
                *restore_at = None;
                self.restore_battery(out);
                out.tone(Some(clear_tone(p)));
            }
            _ => {}
        }
    }

    /// A break reached `flash_max_ms`: the phone is on-hook.
    fn phone_hung_up(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        match self.state {
            State::DialTone { .. } | State::Collecting { .. } | State::Lockout => {
                out.tone(None);
                self.pulses = 0;
                self.pulse_digit_at = None;
                self.state = State::Idle;
            }
            State::Offered | State::Connected { .. } => {
                out.tone(None);
                self.set_polarity(Polarity::Normal, out);
                out.event(CallEvent::Hangup { cause: Cause::NormalClearing });
                self.state = State::PhoneCleared;
            }
            State::Clearing { .. } => self.release(now, p, out),
            _ => {}
        }
    }

    /// The call is over: line back to normal and `Released`. A phone already off-hook
    /// again gets dial tone for a new call.
    fn release(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        if matches!(self.state, State::Clearing { .. }) {
            out.tone(None);
        }
        self.restore_battery(out);
        self.set_polarity(Polarity::Normal, out);
        out.event(CallEvent::Released);
        self.state = State::Idle;
        self.digits.clear();
        if self.off_hook && self.break_since.is_none() {
            self.start_call(now, p, out);
        }
    }

    /// Span alarm raised: cut any call and block the line.
    pub(crate) fn alarm_down(&mut self, out: &mut Out) {
        let owes_release = match self.state {
            State::Offered | State::Connected { .. } | State::Ringing { .. } => {
                if matches!(self.state, State::Ringing { .. }) {
                    out.tx(LineCmd::Hook(HookCmd::RingOff));
                }
                out.event(CallEvent::Hangup { cause: super::FXS_ALARM_CAUSE });
                true
            }
            State::PhoneCleared => true,
            State::Clearing { .. } => {
                out.event(CallEvent::Released);
                false
            }
            State::Blocked { owes_release } => owes_release,
            _ => false,
        };
        if !matches!(self.state, State::Idle | State::Blocked { .. }) {
            out.tone(None);
        }
        self.restore_battery(out);
        self.set_polarity(Polarity::Normal, out);
        self.pulses = 0;
        self.pulse_digit_at = None;
        self.state = State::Blocked { owes_release };
    }

    /// Span alarm cleared: the line is usable again.
    pub(crate) fn alarm_clear(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        if let State::Blocked { owes_release } = self.state {
            if owes_release {
                self.state = State::PhoneCleared;
            } else {
                self.state = State::Idle;
                if self.off_hook && self.break_since.is_none() {
                    self.start_call(now, p, out);
                }
            }
        }
    }

    fn restore_battery(&mut self, out: &mut Out) {
        if self.battery_denied {
            self.battery_denied = false;
            out.tx(LineCmd::Hook(HookCmd::OffHook));
        }
    }

    fn set_polarity(&mut self, pol: Polarity, out: &mut Out) {
        if self.polarity != pol {
            self.polarity = pol;
            out.tx(LineCmd::Polarity(pol));
        }
    }

    /// Hook point for on-hook caller ID (CLIP): the FSK/DTMF burst will be sent here,
    /// before the first ring or in the pause after it, as the profile will choose.
    /// Does nothing yet.
    fn caller_id_point(&mut self, _slot: CallerIdSlot, _calling: &Party) {}
}

fn cadence(p: &FxsProfile, step: usize) -> u32 {
    match p.ring_cadence.len() {
        // No cadence from the profile or the zone: 2 s on, 4 s off.
        0 => [2_000, 4_000][step % 2],
        n => p.ring_cadence[step % n].max(1),
    }
}

fn clear_tone(p: &FxsProfile) -> ToneKind {
    match p.clear_tone {
        ClearTone::Busy => ToneKind::Busy,
        ClearTone::Congestion => ToneKind::Congestion,
    }
}

/// Refuses an `Originate` without touching the line.
fn refuse(out: &mut Out, cause: Cause) {
    out.event(CallEvent::Hangup { cause });
    out.event(CallEvent::Released);
}
