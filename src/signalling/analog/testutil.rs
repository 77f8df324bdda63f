//! Test harness: one or two signalling cores in virtual time, joined by a wire model.
//! Side A's channel n talks to side B's channel n.

use std::time::Duration;

use super::wire;
use crate::backend::line::{HookEvent, LineCmd, LineEvent};
use crate::dsp::callerid::CallerIdReport;
use crate::dsp::tone::ToneKind;
use crate::signalling::{CallCommand, CallEvent, SigInput, SigOutput, SignallingCore};
use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    fn idx(self) -> usize {
        self as usize
    }
    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// How the two sides are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Side A only; its transmits are just logged.
    None,
    /// A is an FXS group, B an FXO group.
    Analog,
    /// Both E1 CAS; bits arrive 2 ms later.
    Cas,
}

/// DTMF digits sent in-band arrive this far apart.
pub const DTMF_SPACING_MS: u64 = 200;
/// Hook flash length the wire model gives an FXO `Flash`.
pub const FLASH_MS: u32 = 300;
/// How long on-hook caller ID takes on the wire model (an ETSI FSK burst is ~ 0.3–1 s).
pub const CID_MS: u64 = 800;

pub struct Sim {
    cores: [Option<Box<dyn SignallingCore>>; 2],
    pub now: Instant,
    wire: Wire,
    pending: Vec<(Instant, u64, Side, SigInput)>,
    seq: u64,
    /// Every output of each side with its time in ms.
    pub log: [Vec<(u64, SigOutput)>; 2],
}

impl Sim {
    pub fn one(a: impl SignallingCore + 'static) -> Sim {
        Sim::build(Box::new(a), None, Wire::None)
    }

    pub fn two(a: impl SignallingCore + 'static, b: impl SignallingCore + 'static, wire: Wire) -> Sim {
        Sim::build(Box::new(a), Some(Box::new(b)), wire)
    }

    fn build(a: Box<dyn SignallingCore>, b: Option<Box<dyn SignallingCore>>, wire: Wire) -> Sim {
        let mut sim = Sim {
            cores: [Some(a), b],
            now: Instant::ZERO,
            wire,
            pending: Vec::new(),
            seq: 0,
            log: [Vec::new(), Vec::new()],
        };
        // What a stack sends as it starts (a CAS span asserting idle) goes on the wire too.
        sim.drain(Side::A);
        sim.drain(Side::B);
        sim
    }

    pub fn ms(&self) -> u64 {
        self.now.as_millis()
    }

    /// Schedules an input `delay_ms` from now.
    pub fn at(&mut self, delay_ms: u64, side: Side, input: SigInput) {
        let t = self.now + Duration::from_millis(delay_ms);
        self.seq += 1;
        self.pending.push((t, self.seq, side, input));
    }

    /// Feeds an input now and drains its outputs.
    pub fn input(&mut self, side: Side, input: SigInput) {
        if let Some(core) = self.cores[side.idx()].as_mut() {
            core.handle_input(self.now, input);
        }
        self.drain(side);
    }

    pub fn cmd(&mut self, side: Side, chan: u16, cmd: CallCommand) {
        self.input(side, SigInput::Command { chan, cmd });
    }

    pub fn hook(&mut self, side: Side, chan: u16, ev: HookEvent) {
        self.input(side, SigInput::Line { chan, event: LineEvent::Hook(ev) });
    }

    pub fn dtmf(&mut self, side: Side, chan: u16, digits: &str) {
        for (i, d) in digits.chars().enumerate() {
            self.at(DTMF_SPACING_MS * (i as u64 + 1), side, SigInput::Dtmf { chan, digit: d });
        }
    }

    pub fn poll_timeout(&self, side: Side) -> Option<Instant> {
        self.cores[side.idx()].as_ref().and_then(|c| c.poll_timeout())
    }

    pub fn state(&self, side: Side, chan: u16) -> &'static str {
        self.cores[side.idx()].as_ref().map_or("none", |c| c.channel_state(chan))
    }

    fn drain(&mut self, side: Side) {
        while let Some(o) = self.cores[side.idx()].as_mut().and_then(|c| c.poll_output()) {
            self.log[side.idx()].push((self.ms(), o.clone()));
            match o {
                SigOutput::Transmit { chan, cmd } => self.carry(side, chan, &cmd),
                SigOutput::SendDigits { chan, digits } => {
                    if self.wire != Wire::None {
                        self.dtmf(side.other(), chan, &digits);
                    }
                    let done = DTMF_SPACING_MS * digits.chars().count() as u64;
                    self.at(done, side, SigInput::DigitsSent { chan });
                }
                // The DSP is not modelled: the message arrives intact when the burst ends.
                SigOutput::SendCallerId { chan, cid: Some(cid) } => {
                    let (cfg, message) = *cid;
                    if self.wire == Wire::Analog {
                        let report = CallerIdReport { format: cfg.format, message, raw: Vec::new(), end_sample: 0 };
                        self.at(CID_MS, side.other(), SigInput::CallerId { chan, report });
                    }
                    self.at(CID_MS, side, SigInput::CallerIdSent { chan });
                }
                _ => {}
            }
        }
    }

    /// The wire model: one side's transmit becomes the other side's line event(s).
    fn carry(&mut self, from: Side, chan: u16, cmd: &LineCmd) {
        let to = from.other();
        let evs: Vec<(u64, LineEvent)> = match (self.wire, from) {
            (Wire::None, _) => Vec::new(),
            (Wire::Analog, Side::A) => wire::fxs_to_fxo(cmd).map(|e| (0, e)).into_iter().collect(),
            (Wire::Analog, Side::B) => {
                wire::fxo_to_fxs(cmd, FLASH_MS).into_iter().map(|(d, e)| (u64::from(d), e)).collect()
            }
            (Wire::Cas, _) => match cmd {
                LineCmd::Cas(bits) => vec![(2, LineEvent::Cas(*bits))],
                _ => Vec::new(),
            },
        };
        for (d, event) in evs {
            self.at(d, to, SigInput::Line { chan, event });
        }
    }

    /// Runs `ms` of virtual time in 10 ms steps, delivering scheduled inputs and timers at
    /// their exact times.
    pub fn run(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while self.now < end {
            let step = (self.now + Duration::from_millis(10)).min(end);
            let mut guard = 0;
            loop {
                guard += 1;
                assert!(guard < 100_000, "no progress at {} ms", self.ms());
                let next_in = self.pending.iter().map(|p| (p.0, p.1)).min();
                let t_a = self.cores[0].as_ref().and_then(|c| c.poll_timeout());
                let t_b = self.cores[1].as_ref().and_then(|c| c.poll_timeout());
                let mut best: Option<(Instant, u8)> = None;
                for (t, k) in [(next_in.map(|n| n.0), 0u8), (t_a, 1), (t_b, 2)] {
                    if let Some(t) = t {
                        if t <= step && best.is_none_or(|b| t < b.0) {
                            best = Some((t, k));
                        }
                    }
                }
                let Some((t, k)) = best else { break };
                self.now = self.now.max(t);
                match k {
                    0 => {
                        let key = next_in.map(|n| n.1);
                        let i = self.pending.iter().position(|p| Some(p.1) == key).unwrap();
                        let (_, _, side, input) = self.pending.remove(i);
                        self.input(side, input);
                    }
                    _ => {
                        let side = if k == 1 { Side::A } else { Side::B };
                        let now = self.now;
                        if let Some(c) = self.cores[side.idx()].as_mut() {
                            c.handle_timeout(now);
                        }
                        self.drain(side);
                    }
                }
            }
            self.now = step;
        }
    }

    pub fn events(&self, side: Side, chan: u16) -> Vec<CallEvent> {
        self.event_times(side, chan).into_iter().map(|(_, e)| e).collect()
    }

    pub fn event_times(&self, side: Side, chan: u16) -> Vec<(u64, CallEvent)> {
        self.log[side.idx()]
            .iter()
            .filter_map(|(t, o)| match o {
                SigOutput::Event { chan: c, event } if *c == chan => Some((*t, event.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn tones(&self, side: Side, chan: u16) -> Vec<Option<ToneKind>> {
        self.log[side.idx()]
            .iter()
            .filter_map(|(_, o)| match o {
                SigOutput::Tone { chan: c, tone } if *c == chan => Some(*tone),
                _ => None,
            })
            .collect()
    }

    pub fn transmits(&self, side: Side, chan: u16) -> Vec<(u64, LineCmd)> {
        self.log[side.idx()]
            .iter()
            .filter_map(|(t, o)| match o {
                SigOutput::Transmit { chan: c, cmd } if *c == chan => Some((*t, cmd.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn sent_digits(&self, side: Side, chan: u16) -> Vec<String> {
        self.log[side.idx()]
            .iter()
            .filter_map(|(_, o)| match o {
                SigOutput::SendDigits { chan: c, digits } if *c == chan => Some(digits.clone()),
                _ => None,
            })
            .collect()
    }

    /// Caller ID sent on a channel: (ms, `None` for a stop, or the message).
    pub fn caller_ids_sent(&self, side: Side, chan: u16) -> Vec<(u64, Option<crate::dsp::callerid::CallerIdMessage>)> {
        self.log[side.idx()]
            .iter()
            .filter_map(|(t, o)| match o {
                SigOutput::SendCallerId { chan: c, cid } if *c == chan => Some((*t, cid.as_ref().map(|b| b.1.clone()))),
                _ => None,
            })
            .collect()
    }

    /// What the stack on `side` wants to hear on `chan` now.
    pub fn listen(&self, side: Side, chan: u16) -> crate::signalling::Listen {
        self.cores[side.idx()].as_ref().map(|c| c.listen(chan)).unwrap_or_default()
    }

    /// The called number of the last `Incoming` on a channel.
    pub fn incoming_number(&self, side: Side, chan: u16) -> Option<String> {
        self.events(side, chan).into_iter().rev().find_map(|e| match e {
            CallEvent::Incoming { called, .. } => Some(called),
            _ => None,
        })
    }

    /// Forgets one side's log (to look at what follows only).
    pub fn clear_tx_log(&mut self, side: Side) {
        self.log[side.idx()].clear();
    }
}
