//! E&M signalling over E1 CAS, immediate start and wink start.
//!
//! One [`EmSpan`] handles the CAS channels of an E1 (`chan` = timeslot 1..=31 except 16).
//! Each side transmits `offhook_bits` while it seizes or has answered and `onhook_bits`
//! otherwise. On receive only the A bit is compared: on E1 E&M the B, C and D bits are
//! fixed (B=1, C=0, D=1 by G.704 convention, some switches differ), so their value
//! carries nothing; a CAS event that does not change the A bit is ignored. A changes are
//! debounced for `debounce_ms`. The address is sent in-band as DTMF through the call
//! core (`SendDigits` / `Dtmf`).
//!
//! Wink start: the called side answers a seizure with a wink (off-hook for `wink_ms`)
//! before the caller dials; a far off-hook pulse of `wink_min_ms..=wink_max_ms` is a wink,
//! a steadier one is an answer (after dialling) or, before dialling, the far end seizing
//! the same channel (glare). Immediate start: the caller dials after `dial_delay_ms`; a
//! far off-hook before dialling has finished is glare. Glare is resolved by `glare`:
//! `yield` drops our call (`RequestedChannelNotAvailable`, then `Released`) and takes the
//! incoming one, `hold` keeps our call and ignores the far seizure (the far end must be
//! configured to yield; if both hold, the calls fail on their timers).
//!
//! An incoming seizure with no digit by `first_digit_timeout_ms` is offered with an empty
//! number (tie lines without an address exist; the call core decides).

use serde::{Deserialize, Deserializer};

use crate::backend::line::{Abcd, LineCmd, LineEvent};
use crate::signalling::analog::Out;
use crate::signalling::ms;
use crate::signalling::{CallCommand, CallEvent, Cause, SigInput, SigOutput, SignallingCore};
use crate::time::{earliest, Instant};

/// How the calling side starts dialling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// Dial `dial_delay_ms` after seizing.
    Immediate,
    /// Dial after the far end's wink.
    #[default]
    Wink,
}

/// Who keeps the channel when both ends seize it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Glare {
    /// Drop our outgoing call and take the incoming one.
    #[default]
    Yield,
    /// Keep our outgoing call; the far end must yield.
    Hold,
}

/// A CAS bit pattern that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ABCD bits {0:?}: expected four binary digits, A first, such as \"1101\"")]
pub struct BadAbcd(pub String);

/// Parses an `Abcd` from a string such as "1101".
pub fn parse_abcd(s: &str) -> Result<Abcd, BadAbcd> {
    if s.bytes().all(|b| b == b'0' || b == b'1') {
        if let Some(a) = Abcd::parse(s) {
            return Ok(a);
        }
    }
    Err(BadAbcd(s.to_string()))
}

fn de_abcd<'de, D: Deserializer<'de>>(d: D) -> Result<Abcd, D::Error> {
    let s = String::deserialize(d)?;
    parse_abcd(&s).map_err(serde::de::Error::custom)
}

/// E&M profile.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmProfile {
    pub start: Start,
    /// Bits we transmit while idle / cleared.
    #[serde(deserialize_with = "de_abcd")]
    pub onhook_bits: Abcd,
    /// Bits we transmit while seized / answered.
    #[serde(deserialize_with = "de_abcd")]
    pub offhook_bits: Abcd,
    /// A received A-bit change must hold this long.
    pub debounce_ms: u32,
    /// Length of the wink we send.
    pub wink_ms: u32,
    /// Pause between a far seizure and our wink.
    pub wink_delay_ms: u32,
    /// Shortest far off-hook pulse that counts as a wink.
    pub wink_min_ms: u32,
    /// Longest far off-hook pulse that counts as a wink; steadier is answer or seizure.
    pub wink_max_ms: u32,
    /// Wink start: give up the seizure if no wink comes.
    pub wink_timeout_ms: u32,
    /// Immediate start: wait after seizing before dialling.
    pub dial_delay_ms: u32,
    pub first_digit_timeout_ms: u32,
    pub inter_digit_timeout_ms: u32,
    /// Number complete at this many digits (0: no limit).
    pub max_digits: u32,
    /// Characters that end the address (not part of the number). Outgoing, the first one
    /// is appended to the number sent. Empty: none.
    pub terminator: String,
    /// After we go on-hook, the channel stays unavailable this long.
    pub release_guard_ms: u32,
    pub glare: Glare,
}

impl Default for EmProfile {
    fn default() -> Self {
        EmProfile {
            start: Start::Wink,
            onhook_bits: Abcd::new(0b0101),
            offhook_bits: Abcd::new(0b1101),
            debounce_ms: 30,
            wink_ms: 200,
            wink_delay_ms: 100,
            wink_min_ms: 100,
            wink_max_ms: 350,
            wink_timeout_ms: 5_000,
            dial_delay_ms: 300,
            first_digit_timeout_ms: 5_000,
            inter_digit_timeout_ms: 3_000,
            max_digits: 0,
            terminator: "#".into(),
            release_guard_ms: 300,
            glare: Glare::Yield,
        }
    }
}

/// An E&M profile that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmProfileError {
    #[error("onhook_bits and offhook_bits must differ in the A bit")]
    SameABit,
    #[error("wink_min_ms..=wink_max_ms must contain wink_ms and wink_max_ms must exceed debounce_ms")]
    WinkWindow,
}

impl EmProfile {
    pub fn validate(&self) -> Result<(), EmProfileError> {
        if self.onhook_bits.a() == self.offhook_bits.a() {
            return Err(EmProfileError::SameABit);
        }
        if !(self.wink_min_ms..=self.wink_max_ms).contains(&self.wink_ms) || self.wink_max_ms <= self.debounce_ms {
            return Err(EmProfileError::WinkWindow);
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Span alarm. `owes_release`: a call was cut and the core has not hung up yet.
    Blocked {
        owes_release: bool,
    },
    /// Far seized (wink start): our wink starts at `at`.
    WinkWait {
        at: Instant,
    },
    /// Sending our wink until `until`.
    Winking {
        until: Instant,
    },
    /// Collecting the address; `deadline` is the first- or inter-digit timeout.
    Collecting {
        deadline: Instant,
    },
    /// Incoming call offered to the core, not answered.
    Offered,
    Connected,
    /// Outgoing: seized. Immediate start dials at `deadline`; wink start gives up then.
    Seized {
        called: String,
        deadline: Instant,
    },
    /// Outgoing: digits handed to the core, waiting for `DigitsSent`.
    Dialing,
    /// Outgoing: dialled, waiting for a steady far off-hook.
    Proceeding,
    /// We reported `Hangup`: waiting for the core's Hangup.
    AwaitCore,
    /// We went on-hook: free after `until` once the far end is on-hook too.
    /// `report`: a call exists that gets `Released`.
    Releasing {
        until: Instant,
        report: bool,
    },
}

/// One CAS channel.
#[derive(Debug)]
struct Chan {
    ts: u16,
    state: State,
    /// We transmit off-hook bits.
    tx_off: bool,
    /// Far A bit as last received, and its debounced value.
    rx_raw: bool,
    rx: bool,
    /// When the raw A bit changed (debounce runs until `+ debounce_ms`).
    rx_changed: Option<Instant>,
    /// Start of the far off-hook pulse being measured (debounced edge time).
    far_off_since: Option<Instant>,
    /// Hold glare: ignore the far seizure until it goes on-hook.
    ignore_far: bool,
    digits: String,
}

impl Chan {
    fn new(ts: u16) -> Chan {
        Chan {
            ts,
            state: State::Idle,
            tx_off: false,
            rx_raw: false,
            rx: false,
            rx_changed: None,
            far_off_since: None,
            ignore_far: false,
            digits: String::new(),
        }
    }

    fn name(&self) -> &'static str {
        match self.state {
            State::Idle => "idle",
            State::Blocked { .. } => "blocked",
            State::WinkWait { .. } | State::Winking { .. } => "wink",
            State::Collecting { .. } => "collecting",
            State::Offered => "offered",
            State::Connected => "connected",
            State::Seized { .. } | State::Dialing => "dialing",
            State::Proceeding => "proceeding",
            State::AwaitCore | State::Releasing { .. } => "clearing",
        }
    }

    fn set_tx(&mut self, p: &EmProfile, off: bool, out: &mut Out) {
        if self.tx_off != off {
            self.tx_off = off;
            out.tx(LineCmd::Cas(if off { p.offhook_bits } else { p.onhook_bits }));
        }
    }

    fn poll_timeout(&self, p: &EmProfile) -> Option<Instant> {
        let state = match &self.state {
            State::WinkWait { at: t }
            | State::Winking { until: t }
            | State::Collecting { deadline: t }
            | State::Seized { deadline: t, .. } => Some(*t),
            // Past the guard, a far end still off-hook is waited for, not timed.
            State::Releasing { until, .. } if !self.rx => Some(*until),
            _ => None,
        };
        let debounce = self.rx_changed.map(|t| t + ms(p.debounce_ms));
        // A far off-hook pulse becomes "steady" (answer / glare) after wink_max_ms.
        let steady = match self.state {
            State::Seized { .. } | State::Proceeding if !self.ignore_far => {
                self.far_off_since.map(|t| t + ms(p.wink_max_ms))
            }
            _ => None,
        };
        earliest(earliest(state, debounce), steady)
    }

    fn cas(&mut self, now: Instant, p: &EmProfile, bits: Abcd) {
        let off = bits.a() == p.offhook_bits.a();
        if off == self.rx_raw {
            return;
        }
        self.rx_raw = off;
        self.rx_changed = if off == self.rx { None } else { Some(now) };
    }

    fn timeout(&mut self, now: Instant, p: &EmProfile, out: &mut Out) {
        if let Some(t) = self.rx_changed {
            if now >= t + ms(p.debounce_ms) {
                self.rx_changed = None;
                self.rx = self.rx_raw;
                // Edge time is the raw change: pulse lengths stay exact.
                self.far_edge(t, now, p, out);
            }
        }
        let steady = self.far_off_since.is_some_and(|t| now >= t + ms(p.wink_max_ms));
        match &mut self.state {
            State::WinkWait { at } if now >= *at => {
                self.set_tx(p, true, out);
                self.state = State::Winking { until: now + ms(p.wink_ms) };
            }
            State::Winking { until } if now >= *until => {
                self.set_tx(p, false, out);
                self.state = State::Collecting { deadline: now + ms(p.first_digit_timeout_ms) };
            }
            State::Collecting { deadline } if now >= *deadline => self.offer(out),
            State::Seized { called, deadline } if now >= *deadline => match p.start {
                Start::Immediate => {
                    let called = std::mem::take(called);
                    self.dial(p, called, out);
                }
                Start::Wink => {
                    out.event(CallEvent::Hangup { cause: Cause::RecoveryOnTimerExpiry });
                    self.far_off_since = None;
                    self.state = State::AwaitCore;
                }
            },
            State::Seized { .. } if steady && !self.ignore_far => {
                // A far off-hook too long for a wink before we dialled: the far end seized.
                self.glare(now, p, out);
            }
            State::Proceeding if steady && !self.ignore_far => {
                self.far_off_since = None;
                out.event(CallEvent::Answered);
                self.state = State::Connected;
            }
            State::Releasing { until, report } if now >= *until && !self.rx => {
                if *report {
                    out.event(CallEvent::Released);
                }
                self.state = State::Idle;
            }
            _ => {}
        }
    }

    /// A debounced change of the far A bit; `at` is when it happened on the wire.
    fn far_edge(&mut self, at: Instant, now: Instant, p: &EmProfile, out: &mut Out) {
        let off = self.rx;
        if !off {
            let pulse = self.far_off_since.take().map(|t| at - t);
            if std::mem::take(&mut self.ignore_far) {
                return;
            }
            match self.state {
                State::WinkWait { .. } | State::Winking { .. } | State::Collecting { .. } => {
                    // Far end gave up before the address was complete: no call was offered.
                    self.set_tx(p, false, out);
                    self.state = State::Releasing { until: now + ms(p.release_guard_ms), report: false };
                }
                State::Offered | State::Connected => {
                    out.event(CallEvent::Hangup { cause: Cause::NormalClearing });
                    self.state = State::AwaitCore;
                }
                State::Seized { ref mut called, .. } if p.start == Start::Wink => {
                    let is_wink = pulse.is_some_and(|d| d >= ms(p.wink_min_ms) && d <= ms(p.wink_max_ms));
                    if is_wink {
                        let called = std::mem::take(called);
                        self.dial(p, called, out);
                    }
                }
                State::Releasing { until, report } if now >= until => {
                    if report {
                        out.event(CallEvent::Released);
                    }
                    self.state = State::Idle;
                }
                _ => {}
            }
            return;
        }
        if self.ignore_far {
            return;
        }
        self.far_off_since = Some(at);
        match self.state {
            State::Idle => self.seized(now, p),
            // Immediate start: the far end cannot send anything before we dial.
            State::Seized { .. } if p.start == Start::Immediate => self.glare(now, p, out),
            _ => {}
        }
    }

    /// The far end seized an idle channel.
    fn seized(&mut self, now: Instant, p: &EmProfile) {
        self.digits.clear();
        self.state = match p.start {
            Start::Wink => State::WinkWait { at: now + ms(p.wink_delay_ms) },
            Start::Immediate => State::Collecting { deadline: now + ms(p.first_digit_timeout_ms) },
        };
    }

    fn glare(&mut self, now: Instant, p: &EmProfile, out: &mut Out) {
        match p.glare {
            Glare::Hold => self.ignore_far = true,
            Glare::Yield => {
                out.event(CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable });
                out.event(CallEvent::Released);
                self.set_tx(p, false, out);
                self.seized(now, p);
            }
        }
    }

    fn dial(&mut self, p: &EmProfile, mut called: String, out: &mut Out) {
        if let Some(t) = p.terminator.chars().next() {
            called.push(t);
        }
        self.far_off_since = None;
        if called.is_empty() {
            out.event(CallEvent::Proceeding);
            self.state = State::Proceeding;
        } else {
            out.send_digits(called);
            self.state = State::Dialing;
        }
    }

    fn digits_sent(&mut self, out: &mut Out) {
        if self.state == State::Dialing {
            out.event(CallEvent::Proceeding);
            self.state = State::Proceeding;
        }
    }

    fn dtmf(&mut self, now: Instant, p: &EmProfile, c: char, out: &mut Out) {
        if !matches!(self.state, State::Collecting { .. }) {
            return;
        }
        if p.terminator.contains(c) {
            return self.offer(out);
        }
        self.digits.push(c);
        if p.max_digits > 0 && self.digits.chars().count() >= p.max_digits as usize {
            return self.offer(out);
        }
        self.state = State::Collecting { deadline: now + ms(p.inter_digit_timeout_ms) };
    }

    fn offer(&mut self, out: &mut Out) {
        let called = std::mem::take(&mut self.digits);
        out.event(CallEvent::Incoming { called, calling: Default::default() });
        self.state = State::Offered;
    }

    fn command(&mut self, now: Instant, p: &EmProfile, cmd: &CallCommand, out: &mut Out) {
        match cmd {
            CallCommand::Originate { called, .. } => match self.state {
                State::Idle => {
                    self.set_tx(p, true, out);
                    self.far_off_since = None;
                    let wait = match p.start {
                        Start::Immediate => p.dial_delay_ms,
                        Start::Wink => p.wink_timeout_ms,
                    };
                    self.state = State::Seized { called: called.clone(), deadline: now + ms(wait) };
                }
                State::Blocked { .. } => refuse(out, Cause::NetworkOutOfOrder),
                _ => refuse(out, Cause::RequestedChannelNotAvailable),
            },
            CallCommand::Answer => {
                if self.state == State::Offered {
                    self.set_tx(p, true, out);
                    out.event(CallEvent::Answered);
                    self.state = State::Connected;
                }
            }
            CallCommand::Hangup { .. } => match self.state {
                State::Offered
                | State::Connected
                | State::Seized { .. }
                | State::Dialing
                | State::Proceeding
                | State::AwaitCore => {
                    self.set_tx(p, false, out);
                    self.ignore_far = false;
                    self.state = State::Releasing { until: now + ms(p.release_guard_ms), report: true };
                }
                State::Blocked { owes_release: true } => {
                    out.event(CallEvent::Released);
                    self.state = State::Blocked { owes_release: false };
                }
                _ => {}
            },
            CallCommand::Proceeding | CallCommand::Alerting | CallCommand::Progress => {}
        }
    }

    fn alarm_down(&mut self, out: &mut Out) {
        let owes_release = match self.state {
            State::Offered | State::Connected | State::Seized { .. } | State::Dialing | State::Proceeding => {
                out.event(CallEvent::Hangup { cause: Cause::NetworkOutOfOrder });
                true
            }
            State::AwaitCore => true,
            State::Releasing { report, .. } => {
                if report {
                    out.event(CallEvent::Released);
                }
                false
            }
            State::Blocked { owes_release } => owes_release,
            _ => false,
        };
        self.state = State::Blocked { owes_release };
        self.rx_changed = None;
        self.far_off_since = None;
        self.ignore_far = false;
        self.digits.clear();
    }

    fn alarm_clear(&mut self, p: &EmProfile, out: &mut Out) {
        let State::Blocked { owes_release } = self.state else {
            return;
        };
        // The far bits are unknown until the span reports them: assume idle.
        self.rx = false;
        self.rx_raw = false;
        self.tx_off = false;
        out.tx(LineCmd::Cas(p.onhook_bits));
        self.state = if owes_release { State::AwaitCore } else { State::Idle };
    }
}

fn refuse(out: &mut Out, cause: Cause) {
    out.event(CallEvent::Hangup { cause });
    out.event(CallEvent::Released);
}

/// The CAS channels of one E1 span running E&M.
#[derive(Debug)]
pub struct EmSpan {
    profile: EmProfile,
    chans: Vec<Chan>,
    span_down: bool,
    out: std::collections::VecDeque<SigOutput>,
}

/// Timers a channel may have due at once: bounds the loop in `handle_timeout`.
const MAX_TIMERS_PER_CALL: usize = 8;

impl EmSpan {
    /// A span over the given timeslots. Timeslots outside 1..=31, 16 (the CAS multiframe
    /// itself) and duplicates are dropped. Check the profile with [`EmProfile::validate`].
    pub fn new(profile: EmProfile, timeslots: &[u16]) -> EmSpan {
        let mut chans: Vec<Chan> = Vec::new();
        for &ts in timeslots {
            if (1..=31).contains(&ts) && ts != 16 && !chans.iter().any(|c| c.ts == ts) {
                chans.push(Chan::new(ts));
            }
        }
        let mut span = EmSpan { profile, chans, span_down: false, out: Default::default() };
        // Our side rests idle from the start, whatever the line's bits were before (a
        // card sends system.conf's idle bits until a program sets its own).
        for c in &span.chans {
            let mut out = Out { chan: c.ts, q: &mut span.out };
            out.tx(LineCmd::Cas(span.profile.onhook_bits));
        }
        span
    }

    /// The timeslots this span handles.
    pub fn timeslots(&self) -> Vec<u16> {
        self.chans.iter().map(|c| c.ts).collect()
    }
}

impl SignallingCore for EmSpan {
    fn handle_input(&mut self, now: Instant, input: SigInput) {
        if let SigInput::Alarm(a) = input {
            let down = a.is_down();
            if down != self.span_down {
                self.span_down = down;
                for c in &mut self.chans {
                    let mut out = Out { chan: c.ts, q: &mut self.out };
                    if down {
                        c.alarm_down(&mut out);
                    } else {
                        c.alarm_clear(&self.profile, &mut out);
                    }
                }
            }
            return;
        }
        let (SigInput::Line { chan, .. }
        | SigInput::Dtmf { chan, .. }
        | SigInput::DigitsSent { chan }
        | SigInput::Command { chan, .. }) = input
        else {
            return;
        };
        let p = &self.profile;
        let Some(c) = self.chans.iter_mut().find(|c| c.ts == chan) else {
            return;
        };
        let mut out = Out { chan, q: &mut self.out };
        match input {
            // A dead span's bits mean nothing.
            SigInput::Line { event: LineEvent::Cas(bits), .. } if !self.span_down => c.cas(now, p, bits),
            SigInput::Dtmf { digit, .. } => c.dtmf(now, p, digit, &mut out),
            SigInput::DigitsSent { .. } => c.digits_sent(&mut out),
            SigInput::Command { cmd, .. } => c.command(now, p, &cmd, &mut out),
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let p = &self.profile;
        for c in &mut self.chans {
            let mut out = Out { chan: c.ts, q: &mut self.out };
            for _ in 0..MAX_TIMERS_PER_CALL {
                if c.poll_timeout(p).is_none_or(|t| t > now) {
                    break;
                }
                c.timeout(now, p, &mut out);
            }
        }
    }

    fn poll_output(&mut self) -> Option<SigOutput> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.chans.iter().fold(None, |acc, c| earliest(acc, c.poll_timeout(&self.profile)))
    }

    fn channel_state(&self, chan: u16) -> &'static str {
        self.chans.iter().find(|c| c.ts == chan).map_or("unknown", Chan::name)
    }
}

#[cfg(test)]
mod tests;
