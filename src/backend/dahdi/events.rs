//! What a DAHDI event means on a channel, by the channel's signalling path (pure, no I/O).
//!
//! The kernel reports line changes per channel (GETEVENT); their meaning depends on how
//! the channel is used. An FXO port (DAHDI "FXS signalling") reports ringing as
//! RINGBEGIN then, after the ring debounce, RINGOFFHOOK; an FXS port (DAHDI "FXO
//! signalling") reports the phone's loop as RINGOFFHOOK/ONHOOK. CAS channels say only
//! that the bits changed: the backend reads them and reports a change once.

use super::sys::DahdiEvent;
use crate::backend::line::{Abcd, HookEvent, LineEvent, PathKind};

/// Side effects of an event besides line events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// The span's alarms may have changed: read SPANSTAT.
    pub span_check: bool,
    /// The CAS bits changed: read GETRXBITS and call [`ChanEvents::rx_bits`].
    pub read_bits: bool,
    /// The driver dropped received data (READ_OVERRUN, OVERRUN).
    pub rx_overrun: bool,
    /// The driver ran out of data to send (WRITE_UNDERRUN).
    pub tx_underrun: bool,
    /// A received HDLC frame was bad (BADFCS, ABORT).
    pub hdlc_error: bool,
    /// The driver removed the channel (REMOVED): close the fd.
    pub removed: bool,
}

/// Per-channel state the mapping needs (ringing in progress, last CAS bits reported).
#[derive(Clone, Debug)]
pub struct ChanEvents {
    path: PathKind,
    ringing: bool,
    battery_lost: bool,
    bits: Option<Abcd>,
}

impl ChanEvents {
    pub fn new(path: PathKind) -> ChanEvents {
        ChanEvents { path, ringing: false, battery_lost: false, bits: None }
    }

    /// Maps one GETEVENT value; line events go to `out`.
    pub fn map(&mut self, ev: DahdiEvent, out: &mut Vec<LineEvent>) -> Effects {
        let mut fx = Effects::default();
        let mut hook = |h: HookEvent| out.push(LineEvent::Hook(h));
        match (self.path, ev) {
            // An FXO port's battery comes back as the channel's alarm clearing (the card
            // raises RED on the channel when battery is lost).
            (PathKind::Fxo, DahdiEvent::NoAlarm) => {
                fx.span_check = true;
                if self.battery_lost {
                    self.battery_lost = false;
                    hook(HookEvent::BatteryRestored);
                }
            }
            (_, DahdiEvent::Alarm | DahdiEvent::NoAlarm) => fx.span_check = true,
            (_, DahdiEvent::Removed) => fx.removed = true,
            (_, DahdiEvent::ReadOverrun | DahdiEvent::Overrun) => fx.rx_overrun = true,
            (_, DahdiEvent::WriteUnderrun) => fx.tx_underrun = true,
            (PathKind::Hdlc, DahdiEvent::BadFcs | DahdiEvent::Abort) => fx.hdlc_error = true,
            (PathKind::Cas, DahdiEvent::BitsChanged) => fx.read_bits = true,
            // An FXS port: the telephone's loop.
            (PathKind::Fxs, DahdiEvent::RingOffHook) => hook(HookEvent::OffHook),
            (PathKind::Fxs, DahdiEvent::OnHook) => hook(HookEvent::OnHook),
            (PathKind::Fxs, DahdiEvent::WinkFlash) => hook(HookEvent::Flash),
            (PathKind::Fxs, DahdiEvent::PulseDigit(c)) => {
                // The driver reports the digit's character; the stacks count pulses ('0' = 10).
                match c {
                    b'0' => hook(HookEvent::PulseDigit(10)),
                    b'1'..=b'9' => hook(HookEvent::PulseDigit(c - b'0')),
                    _ => {}
                }
            }
            // An FXO port: the central office's ringing, battery and polarity.
            (PathKind::Fxo, DahdiEvent::RingBegin) if !self.ringing => {
                self.ringing = true;
                hook(HookEvent::RingBegin);
            }
            (PathKind::Fxo, DahdiEvent::RingOffHook) => {
                // The debounced end of a ring; a driver that never sent RINGBEGIN still
                // gets the ring counted.
                if !self.ringing {
                    hook(HookEvent::RingBegin);
                }
                self.ringing = false;
                hook(HookEvent::RingEnd);
            }
            // Kewlstart (fxsks): loop current went away while we held the line.
            (PathKind::Fxo, DahdiEvent::OnHook) if !self.battery_lost => {
                self.battery_lost = true;
                hook(HookEvent::BatteryLoss);
            }
            (PathKind::Fxo, DahdiEvent::Polarity) => hook(HookEvent::PolarityReversal),
            _ => {}
        }
        fx
    }

    /// An FXO port seized the line again: a disconnect before is history, the next
    /// loss of loop current is news (E&M rigs and lines without NOALARM need this).
    pub fn seized(&mut self) {
        self.battery_lost = false;
    }

    /// Received CAS bits read after BITSCHANGED (or at start): a line event when they
    /// differ from the last ones reported.
    pub fn rx_bits(&mut self, bits: Abcd, out: &mut Vec<LineEvent>) {
        if self.bits != Some(bits) {
            self.bits = Some(bits);
            out.push(LineEvent::Cas(bits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: PathKind, evs: &[DahdiEvent]) -> (Vec<LineEvent>, Effects) {
        let mut m = ChanEvents::new(path);
        let mut out = Vec::new();
        let mut all = Effects::default();
        for e in evs {
            let fx = m.map(*e, &mut out);
            all.span_check |= fx.span_check;
            all.read_bits |= fx.read_bits;
            all.rx_overrun |= fx.rx_overrun;
            all.tx_underrun |= fx.tx_underrun;
            all.hdlc_error |= fx.hdlc_error;
            all.removed |= fx.removed;
        }
        (out, all)
    }

    fn hooks(v: &[HookEvent]) -> Vec<LineEvent> {
        v.iter().map(|h| LineEvent::Hook(*h)).collect()
    }

    #[test]
    fn fxs_port_reports_the_phone_loop() {
        use DahdiEvent::*;
        let (out, _) = run(PathKind::Fxs, &[RingOffHook, PulseDigit(b'0'), PulseDigit(b'7'), WinkFlash, OnHook]);
        assert_eq!(
            out,
            hooks(&[
                HookEvent::OffHook,
                HookEvent::PulseDigit(10),
                HookEvent::PulseDigit(7),
                HookEvent::Flash,
                HookEvent::OnHook
            ])
        );
    }

    #[test]
    fn fxo_port_reports_each_ring_once_even_without_ringbegin() {
        use DahdiEvent::*;
        let (out, _) = run(PathKind::Fxo, &[RingBegin, RingBegin, RingOffHook, RingOffHook, Polarity]);
        assert_eq!(
            out,
            hooks(&[
                HookEvent::RingBegin,
                HookEvent::RingEnd,
                HookEvent::RingBegin,
                HookEvent::RingEnd,
                HookEvent::PolarityReversal
            ])
        );
    }

    #[test]
    fn fxo_battery_loss_is_reported_once_until_restored() {
        let mut m = ChanEvents::new(PathKind::Fxo);
        let mut out = Vec::new();
        // The card: ONHOOK (kewlstart), RED on the channel, … battery back: NOALARM.
        for e in [DahdiEvent::OnHook, DahdiEvent::Alarm, DahdiEvent::OnHook] {
            m.map(e, &mut out);
        }
        assert!(m.map(DahdiEvent::NoAlarm, &mut out).span_check);
        m.map(DahdiEvent::NoAlarm, &mut out);
        assert_eq!(out, hooks(&[HookEvent::BatteryLoss, HookEvent::BatteryRestored]));
    }

    #[test]
    fn cas_bits_are_reported_on_change_only() {
        let mut m = ChanEvents::new(PathKind::Cas);
        let mut out = Vec::new();
        assert!(m.map(DahdiEvent::BitsChanged, &mut out).read_bits);
        m.rx_bits(Abcd::new(0b1001), &mut out);
        m.rx_bits(Abcd::new(0b1001), &mut out);
        m.rx_bits(Abcd::new(0b0001), &mut out);
        assert_eq!(out, vec![LineEvent::Cas(Abcd::new(0b1001)), LineEvent::Cas(Abcd::new(0b0001))]);
    }

    #[test]
    fn alarms_overruns_and_bad_frames_are_effects_not_line_events() {
        use DahdiEvent::*;
        let (out, fx) = run(PathKind::Hdlc, &[Alarm, BadFcs, Abort, ReadOverrun, WriteUnderrun, NoAlarm]);
        assert!(out.is_empty());
        assert_eq!(
            fx,
            Effects {
                span_check: true,
                read_bits: false,
                rx_overrun: true,
                tx_underrun: true,
                hdlc_error: true,
                removed: false
            }
        );
        // A card unplugged: every channel is told, whatever its kind.
        for path in [PathKind::Bearer, PathKind::Cas, PathKind::Fxs, PathKind::Fxo, PathKind::Hdlc] {
            assert!(run(path, &[Removed]).1.removed);
        }
        // Hook events mean nothing on a D-channel or a bearer.
        let (out, _) = run(PathKind::Bearer, &[RingOffHook, OnHook, BitsChanged, Polarity]);
        assert!(out.is_empty());
    }
}
