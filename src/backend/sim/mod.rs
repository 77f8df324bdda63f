//! The simulated backend: the same physical layer a card gives, in memory.
//!
//! [`pair`] builds two backends joined by simulated wires: the *near* side is what the
//! daemon runs on, the *far* side is driven by a second call core playing the carrier,
//! the central office or the telephone. Each side sees exactly what a card shows: E1
//! timeslots of G.711 bytes every 20 ms, HDLC frames on TS16 or ABCD bits, analog
//! hook/ring/battery/polarity events. The signalling stacks above are the real ones.
//!
//! Time is whatever the driver passes in, so the same wires run in real time under the
//! daemon and in virtual time under tests.

use super::line::{Abcd, Alarms, LineCmd, LineEvent, PathKind, Polarity};
use super::{Backend, BackendError, BackendEvent, ChanDesc, Frame, SpanCounters, SpanDesc, SpanKind};
use crate::dsp::g711::Law;
use crate::signalling::analog::wire;
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

mod socket;
pub use socket::{WirePort, WirePortError};

/// How many frames a direction may queue before the oldest is dropped (an overrun).
const AUDIO_QUEUE_MAX: usize = 8;
/// How long a simulated FXO holds the loop open for a hook flash.
const FLASH_MS: u32 = 300;

/// What TS16 of a simulated E1 carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ts16 {
    /// A D-channel (ISDN PRI): TS16 is an HDLC path, TS1–15/17–31 are clear bearers.
    Dchan,
    /// Channel-associated signalling: every bearer has ABCD bits.
    Cas,
}

/// One span to simulate, as seen from the near side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimSpanSpec {
    E1 {
        name: String,
        law: Law,
        ts16: Ts16,
    },
    /// `near` is what the daemon's ports are: `Fxs` (a phone is attached at the far end)
    /// or `Fxo` (a central office is at the far end).
    Analog {
        name: String,
        law: Law,
        near: PathKind,
        ports: u16,
    },
}

impl SimSpanSpec {
    fn descs(&self) -> [SpanDesc; 2] {
        match self {
            SimSpanSpec::E1 { name, law, ts16 } => {
                let mut chans = Vec::new();
                for ts in 1..=31u16 {
                    let (path, audio) = match (ts, ts16) {
                        (16, Ts16::Dchan) => (PathKind::Hdlc, false),
                        (16, Ts16::Cas) => continue,
                        (_, Ts16::Dchan) => (PathKind::Bearer, true),
                        (_, Ts16::Cas) => (PathKind::Cas, true),
                    };
                    chans.push(ChanDesc { number: ts, path, audio });
                }
                let d = SpanDesc { name: name.clone(), kind: SpanKind::E1, law: *law, channels: chans };
                [d.clone(), d]
            }
            SimSpanSpec::Analog { name, law, near, ports } => {
                let far = if *near == PathKind::Fxs { PathKind::Fxo } else { PathKind::Fxs };
                let mk = |path| SpanDesc {
                    name: name.clone(),
                    kind: SpanKind::Analog,
                    law: *law,
                    channels: (0..*ports).map(|n| ChanDesc { number: n, path, audio: true }).collect(),
                };
                [mk(*near), mk(far)]
            }
        }
    }
}

#[derive(Default)]
struct ChanWire {
    /// `audio[s]`: G.711 frames sent by side `s`, waiting for the other side.
    audio: [VecDeque<[u8; 160]>; 2],
    /// `events[s]`: signalling events for side `s`, with the time they become visible.
    events: [VecDeque<(Instant, LineEvent)>; 2],
    cas_tx: [Abcd; 2],
    polarity: Polarity,
}

struct SpanWire {
    descs: [SpanDesc; 2],
    law: Law,
    chans: Vec<ChanWire>,
    alarms: [Alarms; 2],
    alarm_changed: [bool; 2],
    counters: [SpanCounters; 2],
    /// The far side belongs to a `WirePort` peer, not to the far `SimBackend`.
    external: bool,
}

impl SpanWire {
    fn index_of(&self, chan: u16) -> Option<usize> {
        self.descs[0].channels.iter().position(|c| c.number == chan)
    }

    /// What one side's transmit does to the wire (both sides and the socket port use it).
    fn transmit(
        &mut self,
        side: usize,
        now: Instant,
        span: usize,
        chan: u16,
        cmd: LineCmd,
    ) -> Result<(), BackendError> {
        let ci = self.index_of(chan).ok_or(BackendError::NoSuchChannel { span, chan })?;
        let path = self.descs[side].channels[ci].path;
        if self.alarms[side].is_down() {
            // Nothing crosses a cut cable; the stacks learn it from the alarm.
            return Ok(());
        }
        let c = &mut self.chans[ci];
        let other = 1 - side;
        match (&cmd, path) {
            (LineCmd::Hdlc(frame), PathKind::Hdlc) => {
                self.counters[side].hdlc_tx += 1;
                c.events[other].push_back((now, LineEvent::Hdlc(frame.clone())));
            }
            (LineCmd::Cas(bits), PathKind::Cas) => {
                if c.cas_tx[side] != *bits {
                    c.cas_tx[side] = *bits;
                    c.events[other].push_back((now, LineEvent::Cas(*bits)));
                }
            }
            (LineCmd::Hook(_) | LineCmd::Polarity(_), PathKind::Fxs | PathKind::Fxo) => {
                for (delay, ev) in analog_wire(path, &cmd, &mut c.polarity) {
                    c.events[other].push_back((now + Duration::from_millis(delay), ev));
                }
            }
            _ => {
                return Err(BackendError::Unsupported { span, chan, what: "command for another path kind" });
            }
        }
        Ok(())
    }

    /// Queues G.711 bytes sent by `side` (drops the oldest frame when full: an overrun).
    fn push_audio(&mut self, side: usize, ci: usize, bytes: [u8; 160]) {
        let q = &mut self.chans[ci].audio[side];
        if q.len() >= AUDIO_QUEUE_MAX {
            q.pop_front();
            self.counters[side].overruns += 1;
        }
        q.push_back(bytes);
        self.counters[side].tx_frames += 1;
    }
}

#[derive(Default)]
struct Fabric {
    spans: Vec<SpanWire>,
}

/// One side of a set of simulated wires.
pub struct SimBackend {
    side: usize,
    name: String,
    descs: Vec<SpanDesc>,
    fabric: Arc<Mutex<Fabric>>,
}

/// Test and demo control over the wires: cut a span, restore it.
#[derive(Clone)]
pub struct SimControl {
    fabric: Arc<Mutex<Fabric>>,
}

/// Builds the near (daemon) and far (simulated world) backends for these spans.
pub fn pair(specs: &[SimSpanSpec]) -> (SimBackend, SimBackend, SimControl) {
    let mut fabric = Fabric::default();
    for spec in specs {
        let descs = spec.descs();
        let law = descs[0].law;
        let n = descs[0].channels.len();
        let mut chans = Vec::with_capacity(n);
        for c in &descs[0].channels {
            let mut w = ChanWire::default();
            if c.path == PathKind::Cas {
                // An idle CAS line rests with A=0 B=1 C=0 D=1 until a stack sets its bits.
                w.cas_tx = [Abcd::new(0b0101); 2];
            }
            chans.push(w);
        }
        fabric.spans.push(SpanWire {
            descs,
            law,
            chans,
            alarms: [Alarms::NONE; 2],
            alarm_changed: [false; 2],
            counters: [SpanCounters::default(); 2],
            external: false,
        });
    }
    let descs = |s: usize| fabric.spans.iter().map(|w| w.descs[s].clone()).collect::<Vec<_>>();
    let (near_descs, far_descs) = (descs(0), descs(1));
    let fabric = Arc::new(Mutex::new(fabric));
    (
        SimBackend { side: 0, name: "sim".into(), descs: near_descs, fabric: fabric.clone() },
        SimBackend { side: 1, name: "sim-far".into(), descs: far_descs, fabric: fabric.clone() },
        SimControl { fabric },
    )
}

fn lock(f: &Mutex<Fabric>) -> MutexGuard<'_, Fabric> {
    // A panic while holding the lock would be a bug in this module; the wire data stays
    // structurally valid, so keep going rather than poison the whole daemon.
    f.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimControl {
    /// Cuts (or restores) a span's cable: both ends lose signal (RED + LOS), like pulling
    /// the E1 connector. Restoring clears both.
    pub fn set_cable_cut(&self, span: usize, cut: bool) {
        let mut f = lock(&self.fabric);
        if let Some(w) = f.spans.get_mut(span) {
            let a = if cut { Alarms(Alarms::RED | Alarms::LOS) } else { Alarms::NONE };
            for s in 0..2 {
                if w.alarms[s] != a {
                    w.alarms[s] = a;
                    w.alarm_changed[s] = true;
                }
            }
        }
    }
}

/// What the other side sees when `cmd` is sent on an analog path of kind `from`: the
/// loop-start physics of `signalling::analog::wire`, plus the line's polarity state
/// (a polarity command that changes nothing reverses nothing).
fn analog_wire(from: PathKind, cmd: &LineCmd, polarity: &mut Polarity) -> Vec<(u64, LineEvent)> {
    match (from, cmd) {
        (PathKind::Fxs, LineCmd::Polarity(p)) if p == polarity => vec![],
        (PathKind::Fxs, _) => {
            if let LineCmd::Polarity(p) = cmd {
                *polarity = *p;
            }
            wire::fxs_to_fxo(cmd).map(|e| vec![(0, e)]).unwrap_or_default()
        }
        (PathKind::Fxo, _) => wire::fxo_to_fxs(cmd, FLASH_MS).into_iter().map(|(d, e)| (d as u64, e)).collect(),
        _ => vec![],
    }
}

impl Backend for SimBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn spans(&self) -> &[SpanDesc] {
        &self.descs
    }

    fn poll_events(&mut self, now: Instant, out: &mut Vec<BackendEvent>) {
        let side = self.side;
        let mut f = lock(&self.fabric);
        for (si, w) in f.spans.iter_mut().enumerate() {
            if w.external && side == 1 {
                continue;
            }
            if w.alarm_changed[side] {
                w.alarm_changed[side] = false;
                out.push(BackendEvent::Alarm { span: si, alarms: w.alarms[side] });
            }
            for (ci, c) in w.chans.iter_mut().enumerate() {
                while c.events[side].front().is_some_and(|(at, _)| *at <= now) {
                    if let Some((_, event)) = c.events[side].pop_front() {
                        if matches!(event, LineEvent::Hdlc(_)) {
                            w.counters[side].hdlc_rx += 1;
                        }
                        let chan = w.descs[side].channels[ci].number;
                        out.push(BackendEvent::Line { span: si, chan, event });
                    }
                }
            }
        }
    }

    fn read_audio(&mut self, span: usize, chan: u16, frame: &mut Frame) -> bool {
        let side = self.side;
        let mut f = lock(&self.fabric);
        let Some(w) = f.spans.get_mut(span) else { return false };
        let Some(ci) = w.index_of(chan) else { return false };
        let law = w.law;
        let down = w.alarms[side].is_down();
        match w.chans[ci].audio[1 - side].pop_front() {
            Some(bytes) if !down => {
                law.decode_frame(&bytes, frame);
                w.counters[side].rx_frames += 1;
                true
            }
            _ => {
                frame.fill(0);
                w.counters[side].underruns += 1;
                false
            }
        }
    }

    fn write_audio(&mut self, span: usize, chan: u16, frame: &Frame) -> Result<(), BackendError> {
        let side = self.side;
        let mut f = lock(&self.fabric);
        let w = f.spans.get_mut(span).ok_or(BackendError::NoSuchChannel { span, chan })?;
        let ci = w.index_of(chan).ok_or(BackendError::NoSuchChannel { span, chan })?;
        let mut bytes = [0u8; 160];
        w.law.encode_frame(frame, &mut bytes);
        w.push_audio(side, ci, bytes);
        Ok(())
    }

    fn transmit(&mut self, now: Instant, span: usize, chan: u16, cmd: LineCmd) -> Result<(), BackendError> {
        let mut f = lock(&self.fabric);
        let w = f.spans.get_mut(span).ok_or(BackendError::NoSuchChannel { span, chan })?;
        w.transmit(self.side, now, span, chan, cmd)
    }

    fn alarms(&self, span: usize) -> Alarms {
        lock(&self.fabric).spans.get(span).map(|w| w.alarms[self.side]).unwrap_or_default()
    }

    fn counters(&self, span: usize) -> SpanCounters {
        lock(&self.fabric).spans.get(span).map(|w| w.counters[self.side]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::line::{HookCmd, HookEvent};

    fn analog() -> (SimBackend, SimBackend, SimControl) {
        pair(&[SimSpanSpec::Analog { name: "a".into(), law: Law::Alaw, near: PathKind::Fxs, ports: 2 }])
    }

    #[test]
    fn audio_crosses_the_wire_through_g711() {
        let (mut near, mut far, _) = analog();
        let mut tx = [0i16; 160];
        for (i, s) in tx.iter_mut().enumerate() {
            *s = ((i as i32 - 80) * 300) as i16;
        }
        near.write_audio(0, 1, &tx).unwrap();
        let mut rx = [0i16; 160];
        assert!(far.read_audio(0, 1, &mut rx));
        for (a, b) in tx.iter().zip(rx.iter()) {
            assert_eq!(Law::Alaw.decode(Law::Alaw.encode(*a)), *b);
        }
        // Nothing on the other port, and nothing twice.
        assert!(!far.read_audio(0, 0, &mut rx));
        assert!(!far.read_audio(0, 1, &mut rx));
        assert_eq!(far.counters(0).underruns, 2);
    }

    #[test]
    fn loop_start_physics() {
        let (mut near, mut far, _) = analog();
        let t = Instant::from_millis(100);
        // Near is FXS: ringing voltage shows at the far FXO as RingBegin.
        near.transmit(t, 0, 0, LineCmd::Hook(HookCmd::Ring)).unwrap();
        far.transmit(t, 0, 1, LineCmd::Hook(HookCmd::Flash)).unwrap();
        let mut ev = Vec::new();
        far.poll_events(t, &mut ev);
        assert_eq!(ev, vec![BackendEvent::Line { span: 0, chan: 0, event: LineEvent::Hook(HookEvent::RingBegin) }]);
        ev.clear();
        near.poll_events(t, &mut ev);
        assert_eq!(ev, vec![BackendEvent::Line { span: 0, chan: 1, event: LineEvent::Hook(HookEvent::OnHook) }]);
        ev.clear();
        near.poll_events(t + Duration::from_millis(299), &mut ev);
        assert!(ev.is_empty());
        near.poll_events(t + Duration::from_millis(300), &mut ev);
        assert_eq!(ev, vec![BackendEvent::Line { span: 0, chan: 1, event: LineEvent::Hook(HookEvent::OffHook) }]);
        // Polarity reverses once per change, not per command.
        ev.clear();
        near.transmit(t, 0, 0, LineCmd::Polarity(Polarity::Reversed)).unwrap();
        near.transmit(t, 0, 0, LineCmd::Polarity(Polarity::Reversed)).unwrap();
        far.poll_events(t, &mut ev);
        assert_eq!(ev.len(), 1);
        // A D-channel frame makes no sense on an analog port.
        assert!(near.transmit(t, 0, 0, LineCmd::Hdlc(vec![1])).is_err());
    }

    #[test]
    fn e1_dchannel_and_cable_cut() {
        let (mut near, mut far, ctl) =
            pair(&[SimSpanSpec::E1 { name: "e1".into(), law: Law::Alaw, ts16: Ts16::Dchan }]);
        assert_eq!(near.spans()[0].channels.len(), 31);
        let t = Instant::ZERO;
        near.transmit(t, 0, 16, LineCmd::Hdlc(vec![0x00, 0x01, 0x7f])).unwrap();
        assert!(near.transmit(t, 0, 1, LineCmd::Hdlc(vec![0])).is_err());
        let mut ev = Vec::new();
        far.poll_events(t, &mut ev);
        assert_eq!(ev, vec![BackendEvent::Line { span: 0, chan: 16, event: LineEvent::Hdlc(vec![0, 1, 0x7f]) }]);
        ctl.set_cable_cut(0, true);
        ev.clear();
        near.poll_events(t, &mut ev);
        assert_eq!(ev, vec![BackendEvent::Alarm { span: 0, alarms: Alarms(Alarms::RED | Alarms::LOS) }]);
        near.transmit(t, 0, 16, LineCmd::Hdlc(vec![1])).unwrap();
        ev.clear();
        far.poll_events(t, &mut ev);
        assert_eq!(ev.len(), 1, "only the alarm, no frame crosses a cut cable");
        assert!(near.alarms(0).is_down());
    }
}
