//! The whole PRI stack (Q.921 + Q.931 through `PriSpan`), user side against network
//! side over a simulated D-channel in virtual time: link start, calls, link loss with
//! T309, layer 1 alarms, and garbage on the wire.

use std::collections::VecDeque;
use std::time::Duration;

use super::profile::PriProfile;
use super::{e1_bchannels, PriSpan, Side, DCHANNEL};
use crate::backend::line::{Alarms, LineCmd, LineEvent};
use crate::signalling::{CallCommand, CallEvent, Cause, Party, SigInput, SigOutput, SignallingCore};
use crate::time::{earliest, Instant};

/// One frame in flight: (arrival time, to the NT side?, bytes).
type Frame = (Instant, bool, Vec<u8>);

struct Rig {
    te: PriSpan,
    nt: PriSpan,
    now: Instant,
    wire: VecDeque<Frame>,
    /// While set, frames are lost (a cut D-channel that layer 1 does not notice).
    cut: bool,
    te_events: Vec<(u16, CallEvent)>,
    nt_events: Vec<(u16, CallEvent)>,
    frames: u64,
}

const DELAY: Duration = Duration::from_millis(2);

impl Rig {
    fn new(profile: &str) -> Rig {
        let p = PriProfile::builtin(profile).unwrap();
        let mut r = Rig {
            te: PriSpan::new(Side::Te, p.clone(), true),
            nt: PriSpan::new(Side::Nt, p, true),
            now: Instant::ZERO,
            wire: VecDeque::new(),
            cut: false,
            te_events: Vec::new(),
            nt_events: Vec::new(),
            frames: 0,
        };
        r.run(Duration::from_secs(2));
        r
    }

    fn span(&mut self, side: Side) -> &mut PriSpan {
        if side == Side::Te {
            &mut self.te
        } else {
            &mut self.nt
        }
    }

    fn drain(&mut self) {
        for side in [Side::Te, Side::Nt] {
            while let Some(o) = self.span(side).poll_output() {
                match o {
                    SigOutput::Transmit { chan: DCHANNEL, cmd: LineCmd::Hdlc(f) } => {
                        self.frames += 1;
                        if !self.cut {
                            self.wire.push_back((self.now + DELAY, side == Side::Te, f));
                        }
                    }
                    SigOutput::Event { chan, event } => {
                        if side == Side::Te {
                            self.te_events.push((chan, event))
                        } else {
                            self.nt_events.push((chan, event))
                        }
                    }
                    SigOutput::Transmit { .. }
                    | SigOutput::Tone { .. }
                    | SigOutput::SendDigits { .. }
                    | SigOutput::SendCallerId { .. } => {}
                }
            }
        }
    }

    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.drain();
            let wire = self.wire.front().map(|f| f.0);
            let next = earliest(earliest(self.te.poll_timeout(), self.nt.poll_timeout()), wire);
            let Some(t) = next.filter(|t| *t <= end) else { break };
            self.now = self.now.max(t);
            let now = self.now;
            while self.wire.front().is_some_and(|f| f.0 <= now) {
                let Some((_, to_nt, f)) = self.wire.pop_front() else { break };
                let input = SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(f) };
                if to_nt {
                    self.nt.handle_input(now, input)
                } else {
                    self.te.handle_input(now, input)
                }
            }
            if self.te.poll_timeout().is_some_and(|t| t <= now) {
                self.te.handle_timeout(now);
            }
            if self.nt.poll_timeout().is_some_and(|t| t <= now) {
                self.nt.handle_timeout(now);
            }
        }
        self.now = end;
        self.drain();
    }

    fn input(&mut self, side: Side, input: SigInput) {
        let now = self.now;
        self.span(side).handle_input(now, input);
        self.run(Duration::from_millis(50));
    }

    fn command(&mut self, side: Side, chan: u16, cmd: CallCommand) {
        self.input(side, SigInput::Command { chan, cmd });
    }

    fn events(&mut self, side: Side) -> Vec<(u16, CallEvent)> {
        std::mem::take(if side == Side::Te { &mut self.te_events } else { &mut self.nt_events })
    }

    /// Places and answers a call from the user side on `chan`.
    fn active_call(&mut self, chan: u16) {
        self.command(Side::Te, chan, CallCommand::Originate { called: "100".into(), calling: Party::number("200") });
        self.command(Side::Nt, chan, CallCommand::Answer);
        assert!(self.events(Side::Te).contains(&(chan, CallEvent::Answered)));
        self.events(Side::Nt);
    }
}

fn hangups(ev: &[(u16, CallEvent)]) -> Vec<(u16, Cause)> {
    ev.iter()
        .filter_map(|(ch, e)| match e {
            CallEvent::Hangup { cause } => Some((*ch, *cause)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_d_channel_comes_up_and_both_sides_restart_the_interface() {
    for profile in ["etsi", "china"] {
        let r = Rig::new(profile);
        assert_eq!(r.te.channel_state(DCHANNEL), "up", "{profile}");
        assert_eq!(r.nt.channel_state(DCHANNEL), "up");
        assert_eq!(r.te.layer3().counters().restarts_tx, 1);
        assert_eq!(r.nt.layer3().counters().restarts_rx, 1);
        assert!(e1_bchannels().iter().all(|c| r.te.is_idle(u16::from(*c)) && r.nt.is_idle(u16::from(*c))));
        assert!(r.te.link_status().unwrap().contains("D-channel up"));
    }
}

#[test]
fn calls_both_ways_over_the_whole_stack() {
    let mut r = Rig::new("etsi");
    r.active_call(1);
    r.command(Side::Nt, 31, CallCommand::Originate { called: "6001".into(), calling: Party::number("300") });
    assert!(r.events(Side::Te).iter().any(|(c, e)| *c == 31 && matches!(e, CallEvent::Incoming { .. })));
    r.command(Side::Te, 31, CallCommand::Alerting);
    r.command(Side::Te, 31, CallCommand::Answer);
    assert!(r.events(Side::Nt).contains(&(31, CallEvent::Answered)));
    r.command(Side::Te, 1, CallCommand::Hangup { cause: Cause::NormalClearing });
    r.command(Side::Nt, 31, CallCommand::Hangup { cause: Cause::NormalClearing });
    assert_eq!(hangups(&r.events(Side::Nt)), vec![(1, Cause::NormalClearing)]);
    assert_eq!(hangups(&r.events(Side::Te)), vec![(31, Cause::NormalClearing)]);
    assert!(r.te.is_idle(1) && r.te.is_idle(31) && r.nt.is_idle(1) && r.nt.is_idle(31));
}

#[test]
fn a_cut_d_channel_keeps_active_calls_through_t309_and_clears_them_after() {
    let mut r = Rig::new("etsi");
    r.active_call(5);
    // Cut briefly: Q.921 notices (T203, then T200 × N200), the link comes back, the call lives.
    r.cut = true;
    r.run(Duration::from_secs(16));
    assert_eq!(r.te.channel_state(DCHANNEL), "establishing", "the link is down and being re-established");
    assert!(r.events(Side::Te).is_empty(), "T309 holds the call");
    r.cut = false;
    r.run(Duration::from_secs(3));
    assert_eq!(r.te.channel_state(DCHANNEL), "up");
    assert!(hangups(&r.events(Side::Te)).is_empty());
    assert_eq!(r.te.channel_state(5), "up");
    // Cut for good: after T309 (6 s) the call is cleared and its channel freed.
    r.cut = true;
    r.run(Duration::from_secs(30));
    assert_eq!(hangups(&r.events(Side::Te)), vec![(5, Cause::DestinationOutOfOrder)]);
    assert!(r.te.is_idle(5));
}

#[test]
fn a_red_alarm_clears_every_call_and_the_link_returns_with_layer_1() {
    let mut r = Rig::new("etsi");
    for ch in [1, 2, 3] {
        r.active_call(ch);
    }
    r.input(Side::Te, SigInput::Alarm(Alarms(Alarms::RED | Alarms::LOS)));
    let ev = r.events(Side::Te);
    assert_eq!(hangups(&ev).len(), 3);
    assert!(ev.iter().filter(|(_, e)| *e == CallEvent::Released).count() == 3);
    assert!(e1_bchannels().iter().all(|c| r.te.is_idle(u16::from(*c))));
    assert_eq!(r.te.channel_state(DCHANNEL), "down");
    r.input(Side::Te, SigInput::Alarm(Alarms::NONE));
    r.run(Duration::from_secs(20));
    assert_eq!(r.te.channel_state(DCHANNEL), "up");
    r.active_call(1);
}

#[test]
fn garbage_frames_on_a_live_d_channel_do_not_take_calls_down() {
    let mut r = Rig::new("etsi");
    r.active_call(9);
    let junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff],
        vec![0x02, 0x01],
        vec![0x02, 0x01, 0x00, 0x00, 0x08],
        vec![0x00, 0x01, 0x00, 0x00, 0x08, 0x02, 0x80],
        vec![0x02, 0x01, 0xff, 0xff, 0xff, 0xff],
        vec![0xfc, 0xff, 0x03, 0x08, 0x01],
    ];
    for f in junk {
        r.input(Side::Te, SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(f) });
    }
    r.run(Duration::from_secs(15));
    assert_eq!(r.te.channel_state(DCHANNEL), "up");
    assert_eq!(r.te.channel_state(9), "up");
    r.command(Side::Nt, 9, CallCommand::Hangup { cause: Cause::NormalClearing });
    assert_eq!(hangups(&r.events(Side::Te)), vec![(9, Cause::NormalClearing)]);
}
