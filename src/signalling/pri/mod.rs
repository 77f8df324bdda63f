//! ISDN PRI on an E1: Q.921 LAPD on the D-channel (timeslot 16), Q.931 call control
//! for the B-channels (1–15, 17–31), either side of the interface.
//!
//! `PriSpan` only plumbs: D-channel frames into Q.921, its DL primitives into Q.931,
//! Q.931's messages back down, and call events up to the call core. Both protocol
//! layers are sans-IO state machines of their own and are tested on their own.

#[doc(hidden)]
pub mod fuzzing;
pub mod profile;
pub mod q921;
pub mod q931;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::backend::line::{Alarms, LineCmd, LineEvent};
use crate::signalling::{SigInput, SigOutput, SignallingCore};
use crate::time::{earliest, Instant};
use profile::PriProfile;
use q921::{DlEvent, Q921Config, Role, Q921};
use q931::layer3::{L3Output, Layer3};

/// Which side of the interface we are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// User side (TE / CPE): facing a carrier's exchange or a PBX's network port.
    #[default]
    Te,
    /// Network side (NT): facing a PBX that expects an exchange.
    Nt,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Te => "te",
            Side::Nt => "nt",
        })
    }
}

/// The E1 timeslot that carries the D-channel.
pub const DCHANNEL: u16 = 16;

/// The B-channels of an E1 PRI.
pub fn e1_bchannels() -> Vec<u8> {
    (1..=31).filter(|t| u16::from(*t) != DCHANNEL).collect()
}

pub struct PriSpan {
    side: Side,
    profile_name: String,
    q921: Q921,
    l3: Layer3,
    out: VecDeque<SigOutput>,
    started: bool,
    alarmed: bool,
    link_up: bool,
}

impl PriSpan {
    pub fn new(side: Side, profile: PriProfile, alaw: bool) -> PriSpan {
        let cfg = Q921Config {
            t200: crate::signalling::ms(profile.link.t200),
            t203: crate::signalling::ms(profile.link.t203),
            n200: profile.link.n200,
            k: profile.link.k,
            ..Q921Config::default()
        };
        let role = if side == Side::Te { Role::Te } else { Role::Nt };
        PriSpan {
            side,
            profile_name: profile.name.clone(),
            q921: Q921::new(role, cfg),
            l3: Layer3::new(side, profile, alaw, &e1_bchannels()),
            out: VecDeque::new(),
            started: false,
            alarmed: false,
            link_up: false,
        }
    }

    pub fn layer3(&self) -> &Layer3 {
        &self.l3
    }

    pub fn q921(&self) -> &Q921 {
        &self.q921
    }

    fn start(&mut self, now: Instant) {
        if !self.started {
            self.started = true;
            if !self.alarmed {
                self.q921.establish(now);
            }
        }
    }

    /// Moves everything between the layers until nothing is left to move.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(ev) = self.q921.poll_event() {
                moved = true;
                match ev {
                    DlEvent::Established { .. } => {
                        if !self.link_up {
                            info!(side = %self.side, "PRI D-channel up");
                        }
                        self.link_up = true;
                        self.l3.dl_established(now);
                    }
                    DlEvent::Released { .. } => {
                        if self.link_up {
                            warn!(side = %self.side, "PRI D-channel down");
                        }
                        self.link_up = false;
                        if !self.alarmed {
                            self.l3.dl_released(now);
                        }
                    }
                    DlEvent::Data(bytes) | DlEvent::UnitData(bytes) => self.l3.receive(now, &bytes),
                    DlEvent::MdlError(e) => warn!(error = ?e, "Q.921 management error"),
                }
            }
            while let Some(o) = self.l3.poll_output() {
                moved = true;
                match o {
                    L3Output::Send(m) => self.q921.send(now, m.encode()),
                    L3Output::Event { chan, event } => {
                        self.out.push_back(SigOutput::Event { chan: u16::from(chan), event })
                    }
                    L3Output::Tone { chan, tone } => {
                        self.out.push_back(SigOutput::Tone { chan: u16::from(chan), tone })
                    }
                }
            }
            while let Some(f) = self.q921.poll_transmit() {
                moved = true;
                self.out.push_back(SigOutput::Transmit { chan: DCHANNEL, cmd: LineCmd::Hdlc(f) });
            }
            if !moved {
                break;
            }
        }
    }

    fn alarm(&mut self, now: Instant, a: Alarms) {
        let down = a.is_down();
        if down == self.alarmed {
            return;
        }
        self.alarmed = down;
        if down {
            warn!(alarms = %a.describe(), "PRI span lost layer 1: clearing every call");
            self.q921.physical_down(now);
            self.l3.physical_down(now);
            self.link_up = false;
        } else {
            self.q921.physical_up(now);
        }
    }
}

impl SignallingCore for PriSpan {
    fn handle_input(&mut self, now: Instant, input: SigInput) {
        self.start(now);
        match input {
            SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(frame) } => {
                if !self.alarmed {
                    self.q921.handle_frame(now, &frame)
                }
            }
            SigInput::Line { .. } => {}
            SigInput::Alarm(a) => self.alarm(now, a),
            SigInput::Command { chan, cmd } => match u8::try_from(chan) {
                Ok(ch) => self.l3.command(now, ch, cmd),
                Err(_) => warn!(chan, "PRI: command for a channel that cannot exist"),
            },
            SigInput::Dtmf { .. }
            | SigInput::DigitsSent { .. }
            | SigInput::CallerId { .. }
            | SigInput::CallerIdSent { .. }
            | SigInput::Progress { .. } => {}
        }
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.start(now);
        self.q921.handle_timeout(now);
        self.l3.handle_timeout(now);
        self.pump(now);
    }

    fn poll_output(&mut self) -> Option<SigOutput> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if !self.started {
            return Some(Instant::ZERO);
        }
        earliest(self.q921.poll_timeout(), self.l3.poll_timeout())
    }

    fn channel_state(&self, chan: u16) -> &'static str {
        if chan == DCHANNEL {
            return self.q921.state().name();
        }
        match u8::try_from(chan) {
            Ok(ch) if !self.link_up && self.l3.is_idle(ch) => "down",
            Ok(ch) => self.l3.channel_state(ch),
            Err(_) => "unknown",
        }
    }

    fn is_idle(&self, chan: u16) -> bool {
        u8::try_from(chan).is_ok_and(|ch| self.l3.is_idle(ch))
    }

    fn is_blocked(&self, chan: u16) -> bool {
        u8::try_from(chan).is_ok_and(|ch| self.l3.is_blocked(ch))
    }

    fn restart_channel(&mut self, now: Instant, chan: u16) -> bool {
        let ok = u8::try_from(chan).is_ok_and(|ch| self.l3.restart_channel(now, ch));
        self.pump(now);
        ok
    }

    fn link_status(&self) -> Option<String> {
        Some(format!("pri {} {}: D-channel {}", self.side, self.profile_name, self.q921.state().name()))
    }
}

#[cfg(test)]
mod tests;
