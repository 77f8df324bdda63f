//! Interop with a real peer: libpri 1.6 (Debian `libpri-dev`) on the other end of our
//! D-channel, as the network side against our user side and as the user side against
//! our network side, in virtual time (libpri's clock is the test's, see peers/libpri.rs).
//!
//! Covered: link establishment, calls both ways with caller number and presentation,
//! alerting/answer, clearing from either side with the cause intact, rejection, RESTART.

#[path = "peers/libpri.rs"]
#[allow(dead_code)]
mod libpri;

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use libpri::{Event, LibPri};
use trunkd::backend::line::{LineCmd, LineEvent};
use trunkd::signalling::pri::profile::PriProfile;
use trunkd::signalling::pri::{PriSpan, Side, DCHANNEL};
use trunkd::signalling::{CallCommand, CallEvent, Cause, Party, Presentation, SigInput, SigOutput, SignallingCore};
use trunkd::time::Instant;

/// Our stack and libpri on one socketpair, stepped together in virtual time.
struct Link {
    ours: PriSpan,
    pri: LibPri,
    fd: OwnedFd,
    now_us: u64,
    our_events: Vec<(u16, CallEvent)>,
    pri_events: Vec<Event>,
}

impl Link {
    /// `side` is ours; libpri plays the other one.
    fn new(side: Side) -> Link {
        libpri::set_time_us(1_000_000);
        let (ours_fd, theirs) = libpri::socketpair();
        let pri_side = if side == Side::Te { libpri::Side::Network } else { libpri::Side::Cpe };
        let pri = LibPri::new(theirs, pri_side);
        let mut profile = PriProfile::builtin("etsi").unwrap();
        // libpri answers a RESTART of the whole interface per channel; keep the start quiet.
        profile.restart_on_start = false;
        let mut l = Link {
            ours: PriSpan::new(side, profile, true),
            pri,
            fd: ours_fd,
            now_us: 1_000_000,
            our_events: Vec::new(),
            pri_events: Vec::new(),
        };
        l.run_until(Duration::from_secs(3), |l| {
            l.ours.channel_state(DCHANNEL) == "up" && l.pri_events.contains(&Event::DchanUp)
        });
        assert_eq!(l.ours.channel_state(DCHANNEL), "up", "D-channel with libpri: {}", l.pri.take_log());
        l.pri_events.clear();
        l
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.now_us)
    }

    /// Moves frames both ways and collects events; true if anything moved.
    fn shuttle(&mut self) -> bool {
        let mut moved = false;
        let mut buf = [0u8; 512];
        loop {
            // SAFETY: recv into a live stack buffer of the given length on an fd we own.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n <= 0 {
                break;
            }
            moved = true;
            let frame = buf[..n as usize].to_vec();
            let now = self.now();
            self.ours.handle_input(now, SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(frame) });
        }
        while let Some(o) = self.ours.poll_output() {
            moved = true;
            match o {
                SigOutput::Transmit { chan: DCHANNEL, cmd: LineCmd::Hdlc(f) } => {
                    // SAFETY: send from a live Vec on an fd we own.
                    let r = unsafe { libc::send(self.fd.as_raw_fd(), f.as_ptr().cast(), f.len(), libc::MSG_DONTWAIT) };
                    assert_eq!(r, f.len() as isize, "socketpair send");
                }
                SigOutput::Event { chan, event } => self.our_events.push((chan, event)),
                _ => {}
            }
        }
        let ev = self.pri.poll();
        moved |= !ev.is_empty();
        self.pri_events.extend(ev);
        moved
    }

    /// Runs until `done` holds or `limit` of virtual time passes.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Link) -> bool) {
        let end = self.now_us + limit.as_micros() as u64;
        loop {
            while self.shuttle() {}
            if done(self) {
                return;
            }
            if self.pri.readable() || libpri::fd_readable(self.fd.as_raw_fd()) {
                continue;
            }
            let ours = self.ours.poll_timeout().map(|t| t.as_micros());
            let next = [ours, self.pri.next_timer_us()].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.now_us = self.now_us.max(t);
                    libpri::set_time_us(self.now_us);
                    let now = self.now();
                    if self.ours.poll_timeout().is_some_and(|t| t <= now) {
                        self.ours.handle_timeout(now);
                    }
                }
                _ => {
                    self.now_us = end;
                    libpri::set_time_us(end);
                    while self.shuttle() {}
                    return;
                }
            }
        }
    }

    fn settle(&mut self) {
        self.run_until(Duration::from_millis(200), |_| false);
    }

    fn command(&mut self, chan: u16, cmd: CallCommand) {
        let now = self.now();
        self.ours.handle_input(now, SigInput::Command { chan, cmd });
        self.settle();
    }

    fn take_pri(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pri_events)
    }

    fn take_ours(&mut self) -> Vec<(u16, CallEvent)> {
        std::mem::take(&mut self.our_events)
    }
}

fn ring(ev: &[Event]) -> Option<Event> {
    ev.iter().find(|e| matches!(e, Event::Ring { .. })).cloned()
}

fn our_hangup(ev: &[(u16, CallEvent)]) -> Option<(u16, Cause)> {
    ev.iter().find_map(|(c, e)| match e {
        CallEvent::Hangup { cause } => Some((*c, *cause)),
        _ => None,
    })
}

#[test]
fn d_channel_comes_up_with_libpri_on_either_side() {
    for side in [Side::Te, Side::Nt] {
        let l = Link::new(side);
        assert_eq!(l.ours.channel_state(DCHANNEL), "up", "{side:?}");
    }
}

#[test]
fn our_call_to_libpri_with_caller_presentation_answer_and_our_clearing() {
    for side in [Side::Te, Side::Nt] {
        let mut l = Link::new(side);
        let calling = Party { number: "13800138000".into(), name: None, presentation: Presentation::Restricted };
        l.command(1, CallCommand::Originate { called: "88001234".into(), calling });
        let Some(Event::Ring { call, channel, called, calling, calling_pres, exclusive, complete, .. }) =
            ring(&l.take_pri())
        else {
            panic!("libpri saw no SETUP ({side:?}): {}", l.pri.take_log());
        };
        assert_eq!((channel, called.as_str(), calling.as_str()), (1, "88001234", "13800138000"));
        assert_eq!(calling_pres & 0x60, 0x20, "presentation restricted");
        assert!(exclusive && complete);
        l.pri.proceeding(call, 1);
        l.pri.alerting(call, 1, true);
        l.settle();
        let ev = l.take_ours();
        if side == Side::Te {
            assert!(ev.contains(&(1, CallEvent::Proceeding)), "{ev:?}");
        }
        assert!(ev.contains(&(1, CallEvent::Alerting)), "{ev:?}");
        l.pri.answer(call, 1);
        l.settle();
        assert!(l.take_ours().contains(&(1, CallEvent::Answered)));
        assert_eq!(l.ours.channel_state(1), "up");

        l.command(1, CallCommand::Hangup { cause: Cause::NormalClearing });
        let pev = l.take_pri();
        let Some(Event::HangupReq { call: c2, cause }) =
            pev.iter().find(|e| matches!(e, Event::HangupReq { .. })).cloned()
        else {
            panic!("libpri saw no DISCONNECT: {pev:?}");
        };
        assert_eq!((c2, cause), (call, 16));
        l.pri.hangup(call, 16);
        l.settle();
        assert!(l.take_ours().contains(&(1, CallEvent::Released)));
        assert!(l.ours.is_idle(1), "{side:?}");
        assert_eq!(l.pri.live_calls(), 0);
    }
}

#[test]
fn libpri_calls_us_we_answer_and_libpri_clears_with_its_cause() {
    for side in [Side::Te, Side::Nt] {
        let mut l = Link::new(side);
        let call = l.pri.call(5, true, "8001", "1088886666", libpri::Presentation::Allowed);
        l.settle();
        let ev = l.take_ours();
        let (chan, called, calling) = ev
            .iter()
            .find_map(|(c, e)| match e {
                CallEvent::Incoming { called, calling } => Some((*c, called.clone(), calling.clone())),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no incoming call ({side:?}): {ev:?} {}", l.pri.take_log()));
        assert_eq!((chan, called.as_str()), (5, "8001"));
        // libpri sends the number as national: our profile makes it dialable with "0".
        assert_eq!(calling.number.reveal(), "01088886666");
        assert_eq!(calling.presentation, Presentation::Allowed);
        assert!(l.take_pri().iter().any(|e| matches!(e, Event::Proceeding { channel: 5, .. })));
        l.command(5, CallCommand::Alerting);
        assert!(l.take_pri().iter().any(|e| matches!(e, Event::Ringing { channel: 5, .. })));
        l.command(5, CallCommand::Answer);
        assert!(l.take_pri().iter().any(|e| matches!(e, Event::Answer { channel: 5, .. })));
        assert!(l.take_ours().contains(&(5, CallEvent::Answered)), "{side:?}");

        l.pri.hangup(call, 31);
        l.settle();
        let ev = l.take_ours();
        assert_eq!(our_hangup(&ev), Some((5, Cause::NormalUnspecified)), "{ev:?}");
        l.command(5, CallCommand::Hangup { cause: Cause::NormalUnspecified });
        assert!(ev.contains(&(5, CallEvent::Released)) || l.take_ours().contains(&(5, CallEvent::Released)));
        assert!(l.ours.is_idle(5));
        assert_eq!(l.pri.live_calls(), 0, "{side:?}: {}", l.pri.take_log());
    }
}

#[test]
fn rejections_carry_their_cause_both_ways() {
    for side in [Side::Te, Side::Nt] {
        // libpri rejects our call as busy (after CALL PROCEEDING: DISCONNECT 17).
        let mut l = Link::new(side);
        l.command(2, CallCommand::Originate { called: "100".into(), calling: Party::number("200") });
        let Some(Event::Ring { call, .. }) = ring(&l.take_pri()) else { panic!("no SETUP") };
        l.pri.proceeding(call, 2);
        l.pri.hangup(call, 17);
        l.settle();
        let ev = l.take_ours();
        assert_eq!(our_hangup(&ev), Some((2, Cause::UserBusy)), "{side:?} {ev:?}");
        assert!(ev.contains(&(2, CallEvent::Released)) || l.ours.is_idle(2));

        // We reject libpri's call with "no circuit" before answering anything but CALL PROC.
        let call = l.pri.call(3, true, "999", "200", libpri::Presentation::Allowed);
        l.settle();
        l.take_ours();
        l.command(3, CallCommand::Hangup { cause: Cause::UserBusy });
        let pev = l.take_pri();
        let cause = pev.iter().find_map(|e| match e {
            Event::HangupReq { call: c, cause } | Event::Hangup { call: c, cause } if *c == call => Some(*cause),
            _ => None,
        });
        assert_eq!(cause, Some(17), "{side:?} {pev:?}");
        if pev.iter().any(|e| matches!(e, Event::HangupReq { .. })) {
            l.pri.hangup(call, 17);
        }
        l.settle();
        assert!(l.ours.is_idle(3));
        assert_eq!(l.pri.live_calls(), 0);
    }
}

#[test]
fn libpri_restarts_a_channel_with_a_call_on_it() {
    for side in [Side::Te, Side::Nt] {
        let mut l = Link::new(side);
        let call = l.pri.call(7, true, "8001", "200", libpri::Presentation::Allowed);
        l.settle();
        l.command(7, CallCommand::Answer);
        l.take_ours();
        l.take_pri();
        let _ = call;
        l.pri.restart(7);
        l.settle();
        let ev = l.take_ours();
        assert!(our_hangup(&ev).is_some_and(|(c, _)| c == 7), "{side:?} {ev:?}");
        assert!(ev.contains(&(7, CallEvent::Released)));
        assert!(l.take_pri().iter().any(|e| matches!(e, Event::RestartAck { channel: 7 })), "{side:?}");
        assert!(l.ours.is_idle(7));
    }
}

#[test]
fn we_restart_the_interface_and_libpri_acknowledges() {
    let (ours_fd, theirs) = {
        libpri::set_time_us(1_000_000);
        libpri::socketpair()
    };
    let pri = LibPri::new(theirs, libpri::Side::Network);
    let mut l = Link {
        ours: PriSpan::new(Side::Te, PriProfile::builtin("etsi").unwrap(), true),
        pri,
        fd: ours_fd,
        now_us: 1_000_000,
        our_events: Vec::new(),
        pri_events: Vec::new(),
    };
    l.run_until(Duration::from_secs(5), |l| l.ours.layer3().counters().restarts_tx > 0 && l.ours.is_idle(1));
    assert!(l.ours.is_idle(1), "RESTART ACKNOWLEDGE from libpri frees the channels: {}", l.pri.take_log());
    assert!(l.pri_events.iter().any(|e| matches!(e, Event::Restart { .. })), "{:?}", l.pri_events);
}
