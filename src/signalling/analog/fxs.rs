//! FXS loop start: one port feeding a telephone.
//!
//! The phone's hook switch arrives as raw transitions (or as backend-decoded flashes and
//! pulse digits). A loop break is classified by its length once the loop closes again:
//! up to `pulse_break_max_ms` a dial pulse (while dialling), `flash_min_ms..=flash_max_ms`
//! a hook flash (in a call), anything shorter ignored as a bounce. A break that reaches
//! `flash_max_ms` is a hang-up, so a hang-up is reported `flash_max_ms` after the loop
//! opened: the price of telling it from a flash.

use super::profile::{CidWhen, ClearTone, Disconnect, FxsProfile};
use super::Out;
use crate::backend::line::{HookCmd, HookEvent, LineCmd, LineEvent, Polarity};
use crate::dsp::callerid::{Absence, CallerIdMessage};
use crate::dsp::tone::ToneKind;
use crate::signalling::ms;
use crate::signalling::{CallCommand, CallEvent, Cause, Party, Presentation};

/// ETSI EN 300 659-1: after a line reversal the phone needs ≥ 100 ms before data; the
/// common practice is 250 ms.
const CID_AFTER_REVERSAL_MS: u32 = 250;
/// Quiet time between the end of caller ID and the first ring (ETSI: ≥ 200 ms).
const CID_BEFORE_RING_MS: u32 = 300;
/// After a ring burst, data starts no sooner than this (Bellcore GR-30: 500 ms), and must
/// end `CID_BEFORE_RING_MS` before the next burst; the date and time the core adds later
/// are allowed for with `CID_MARGIN_MS`.
const CID_AFTER_RING_MS: u32 = 500;
const CID_MARGIN_MS: u32 = 150;
/// If the core never confirms a spill (no audio path), ring anyway after its length plus this.
const CID_GIVE_UP_MS: u32 = 1_000;
use crate::time::{earliest, Instant};

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
    /// Caller ID before the first ring.
    Presenting { calling: Party, phase: Present },
    /// We ring the phone for an outgoing call; `cid_at`: caller ID goes out in this pause.
    Ringing { calling: Party, step: usize, ring_on: bool, next: Instant, cid_at: Option<Instant> },
    /// The phone hung up in a call and we reported `Hangup`: waiting for the core's Hangup.
    PhoneCleared,
    /// The core cleared: far-end disconnect signal and clearing tone until the phone hangs
    /// up. `restore_at`: the end of an open-loop battery denial.
    Clearing { restore_at: Option<Instant> },
}

/// Steps of caller ID before the first ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Present {
    /// Line reversed (the phone's alert); data at `send_at`.
    Alert { send_at: Instant },
    /// Sent; waiting for `CallerIdSent` (or `give_up`).
    Sending { give_up: Instant },
    /// Sent; the first ring at `ring_at`.
    Quiet { ring_at: Instant },
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
    /// Length (ms) of the caller ID spill still to send in a ring pause, for this call.
    cid_spill_ms: Option<u32>,
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
            cid_spill_ms: None,
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
            State::Ringing { .. } | State::Presenting { .. } => "ringing",
            State::PhoneCleared | State::Clearing { .. } => "clearing",
        }
    }

    pub(crate) fn poll_timeout(&self, p: &FxsProfile) -> Option<Instant> {
        let state = match &self.state {
            State::DialTone { deadline } | State::Collecting { deadline } => Some(*deadline),
            State::Ringing { next, cid_at, .. } => earliest(Some(*next), *cid_at),
            State::Presenting { phase: Present::Alert { send_at: t } | Present::Sending { give_up: t }, .. }
            | State::Presenting { phase: Present::Quiet { ring_at: t }, .. } => Some(*t),
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
            State::Ringing { .. } | State::Presenting { .. } => {
                out.tx(LineCmd::Hook(HookCmd::RingOff));
                self.stop_caller_id(p, out);
                self.set_polarity(Polarity::Normal, out);
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
                    out.event(CallEvent::Alerting);
                    self.cid_spill_ms = None;
                    match cid_when(p) {
                        Some(CidWhen::Polarity) => {
                            self.set_polarity(Polarity::Reversed, out);
                            let phase = Present::Alert { send_at: now + ms(CID_AFTER_REVERSAL_MS) };
                            self.state = State::Presenting { calling: calling.clone(), phase };
                        }
                        Some(CidWhen::BeforeRing) => {
                            let phase = self.send_caller_id(now, p, calling, out);
                            self.state = State::Presenting { calling: calling.clone(), phase };
                        }
                        Some(CidWhen::AfterFirstRing) => {
                            self.cid_spill_ms = spill_ms(p, calling);
                            self.start_ringing(now, p, calling.clone(), out);
                        }
                        None => self.start_ringing(now, p, calling.clone(), out),
                    }
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

    fn start_ringing(&mut self, now: Instant, p: &FxsProfile, calling: Party, out: &mut Out) {
        out.tx(LineCmd::Hook(HookCmd::Ring));
        let next = now + ms(cadence(p, 0));
        self.state = State::Ringing { calling, step: 0, ring_on: true, next, cid_at: None };
    }

    /// The caller ID we were asked to send has gone out: back to normal polarity, and ring
    /// after a short quiet time.
    pub(crate) fn handle_caller_id_sent(&mut self, now: Instant, out: &mut Out) {
        if let State::Presenting { phase: phase @ Present::Sending { .. }, .. } = &mut self.state {
            *phase = Present::Quiet { ring_at: now + ms(CID_BEFORE_RING_MS) };
            self.set_polarity(Polarity::Normal, out);
        }
    }

    /// Asks the core to send caller ID now; the phase that waits for it to be sent.
    fn send_caller_id(&mut self, now: Instant, p: &FxsProfile, calling: &Party, out: &mut Out) -> Present {
        if let Some(cfg) = &p.caller_id {
            let cid = Box::new((cfg.clone(), caller_id_message(calling).fit(cfg.format)));
            out.q.push_back(crate::signalling::SigOutput::SendCallerId { chan: out.chan, cid: Some(cid) });
        }
        let spill = spill_ms(p, calling).unwrap_or(0);
        Present::Sending { give_up: now + ms(spill.saturating_add(CID_GIVE_UP_MS)) }
    }

    /// Stops caller ID still being sent (the phone answered, or the call went away).
    fn stop_caller_id(&mut self, p: &FxsProfile, out: &mut Out) {
        if p.caller_id.is_some() {
            out.q.push_back(crate::signalling::SigOutput::SendCallerId { chan: out.chan, cid: None });
        }
    }

    fn core_hangup(&mut self, now: Instant, p: &FxsProfile, out: &mut Out) {
        match self.state {
            State::Ringing { .. } | State::Presenting { .. } => {
                out.tx(LineCmd::Hook(HookCmd::RingOff));
                self.stop_caller_id(p, out);
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
            State::Ringing { calling, cid_at: Some(t), .. } if now >= *t => {
                let calling = calling.clone();
                if let State::Ringing { cid_at, .. } = &mut self.state {
                    *cid_at = None;
                }
                self.cid_spill_ms = None;
                self.send_caller_id(now, p, &calling, out);
            }
            State::Ringing { step, ring_on, next, cid_at, .. } if now >= *next => {
                *step += 1;
                *ring_on = !*ring_on;
                let pause = cadence(p, *step);
                *next = now + ms(pause);
                if *ring_on {
                    out.tx(LineCmd::Hook(HookCmd::Ring));
                } else {
                    out.tx(LineCmd::Hook(HookCmd::RingOff));
                    // Caller ID goes in the first pause long enough for it (a short
                    // pause inside a double ring is skipped).
                    let fits = |spill: u32| CID_AFTER_RING_MS + spill + CID_MARGIN_MS + CID_BEFORE_RING_MS <= pause;
                    if self.cid_spill_ms.is_some_and(fits) {
                        *cid_at = Some(now + ms(CID_AFTER_RING_MS));
                    }
                }
            }
            State::Presenting { phase: Present::Alert { send_at }, calling } if now >= *send_at => {
                let calling = calling.clone();
                let phase = self.send_caller_id(now, p, &calling, out);
                self.state = State::Presenting { calling, phase };
            }
            State::Presenting { phase: Present::Sending { give_up }, .. } if now >= *give_up => {
                // Never confirmed (no audio path): stop it and ring anyway.
                self.stop_caller_id(p, out);
                self.handle_caller_id_sent(now, out);
            }
            State::Presenting { phase: Present::Quiet { ring_at }, calling } if now >= *ring_at => {
                let calling = std::mem::take(calling);
                self.start_ringing(now, p, calling, out);
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
            State::Offered | State::Connected { .. } | State::Ringing { .. } | State::Presenting { .. } => {
                if matches!(self.state, State::Ringing { .. } | State::Presenting { .. }) {
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
}

/// How long the spill for `calling` lasts, ms (None: no caller ID, or it cannot be sent).
fn spill_ms(p: &FxsProfile, calling: &Party) -> Option<u32> {
    let cfg = p.caller_id.as_ref()?;
    let mut msg = caller_id_message(calling).fit(cfg.format);
    // The core adds the date and time (SDMF cannot do without them).
    msg.datetime = Some(crate::dsp::callerid::CidDateTime { month: 1, day: 1, hour: 0, minute: 0 });
    let g = crate::dsp::callerid::CallerIdGenerator::new(cfg, &msg).ok()?;
    u32::try_from(g.duration_samples() / 8).ok()
}

/// When this profile sends caller ID, if it does.
fn cid_when(p: &FxsProfile) -> Option<CidWhen> {
    p.caller_id.as_ref().map(|c| p.caller_id_when.unwrap_or(CidWhen::default_for(c.format)))
}

/// What the phone's display shows for `calling`: a withheld number is sent as "private"
/// (ETSI reason for absence 'P'), an unknown one as "unavailable" ('O').
fn caller_id_message(calling: &Party) -> CallerIdMessage {
    let number = calling.number.reveal();
    let mut m = CallerIdMessage::default();
    match calling.presentation {
        Presentation::Restricted => m.number_absence = Some(Absence::Private),
        Presentation::Allowed if !number.is_empty() => {
            m.number = Some(number.clone());
            m.name = calling.name.as_ref().map(|n| n.reveal().clone());
        }
        _ => m.number_absence = Some(Absence::Unavailable),
    }
    m
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
