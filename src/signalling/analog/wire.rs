//! What a two-wire loop does with one side's transmits: the mapping the simulated backend
//! and the two-party tests use to connect an FXS port to an FXO port back to back.
//!
//! The loop carries levels, so a hook flash is two raw transitions (open, then closed
//! `flash_ms` later), which is what a real FXS card sees too.

use crate::backend::line::{HookCmd, HookEvent, LineCmd, LineEvent};

/// The FXO side's event for an FXS transmit. `Polarity(_)` maps to one
/// `PolarityReversal`: the FXS stacks only transmit a polarity when it changes.
pub fn fxs_to_fxo(cmd: &LineCmd) -> Option<LineEvent> {
    let ev = match cmd {
        LineCmd::Hook(HookCmd::Ring) => HookEvent::RingBegin,
        LineCmd::Hook(HookCmd::RingOff) => HookEvent::RingEnd,
        LineCmd::Hook(HookCmd::OnHook) => HookEvent::BatteryLoss,
        LineCmd::Hook(HookCmd::OffHook) => HookEvent::BatteryRestored,
        LineCmd::Polarity(_) => HookEvent::PolarityReversal,
        _ => return None,
    };
    Some(LineEvent::Hook(ev))
}

/// The FXS side's events for an FXO transmit, each with its delay in ms after the
/// transmit. A `Flash` opens the loop for `flash_ms`.
pub fn fxo_to_fxs(cmd: &LineCmd, flash_ms: u32) -> Vec<(u32, LineEvent)> {
    let hook = |h| LineEvent::Hook(h);
    match cmd {
        LineCmd::Hook(HookCmd::OffHook) => vec![(0, hook(HookEvent::OffHook))],
        LineCmd::Hook(HookCmd::OnHook) => vec![(0, hook(HookEvent::OnHook))],
        LineCmd::Hook(HookCmd::Flash) => {
            vec![(0, hook(HookEvent::OnHook)), (flash_ms, hook(HookEvent::OffHook))]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::line::Polarity;

    fn h(e: HookEvent) -> LineEvent {
        LineEvent::Hook(e)
    }

    #[test]
    fn fxs_transmits_become_fxo_events() {
        let cases = [
            (HookCmd::Ring, HookEvent::RingBegin),
            (HookCmd::RingOff, HookEvent::RingEnd),
            (HookCmd::OnHook, HookEvent::BatteryLoss),
            (HookCmd::OffHook, HookEvent::BatteryRestored),
        ];
        for (cmd, ev) in cases {
            assert_eq!(fxs_to_fxo(&LineCmd::Hook(cmd)), Some(h(ev)));
        }
        for pol in [Polarity::Normal, Polarity::Reversed] {
            assert_eq!(fxs_to_fxo(&LineCmd::Polarity(pol)), Some(h(HookEvent::PolarityReversal)));
        }
        assert_eq!(fxs_to_fxo(&LineCmd::Hook(HookCmd::Flash)), None);
        assert_eq!(fxs_to_fxo(&LineCmd::At("ATA".into())), None);
    }

    #[test]
    fn fxo_transmits_become_fxs_events() {
        assert_eq!(fxo_to_fxs(&LineCmd::Hook(HookCmd::OffHook), 300), vec![(0, h(HookEvent::OffHook))]);
        assert_eq!(fxo_to_fxs(&LineCmd::Hook(HookCmd::OnHook), 300), vec![(0, h(HookEvent::OnHook))]);
        assert_eq!(
            fxo_to_fxs(&LineCmd::Hook(HookCmd::Flash), 300),
            vec![(0, h(HookEvent::OnHook)), (300, h(HookEvent::OffHook))]
        );
        assert!(fxo_to_fxs(&LineCmd::Hook(HookCmd::Ring), 300).is_empty());
        assert!(fxo_to_fxs(&LineCmd::Cas(Default::default()), 300).is_empty());
    }
}
