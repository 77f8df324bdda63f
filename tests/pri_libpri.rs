//! Interop with a real peer: libpri 1.6 (Debian `libpri-dev`) on the other end of our
//! D-channel, as the network side against our user side and as the user side against
//! our network side, in virtual time (libpri's clock is the test's, see peers/libpri.rs).
//!
//! Covered: link establishment, calls both ways with caller number and presentation,
//! alerting/answer, clearing from either side with the cause intact, rejection, RESTART.

#[path = "peers/libpri.rs"]
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
        Link::with(side, |_, _| {})
    }

    /// `edit` adjusts our profile and libpri before the link starts.
    fn with(side: Side, edit: impl FnOnce(&mut PriProfile, &mut LibPri)) -> Link {
        libpri::set_time_us(1_000_000);
        let (ours_fd, theirs) = libpri::socketpair();
        let pri_side = if side == Side::Te { libpri::Side::Network } else { libpri::Side::Cpe };
        let mut pri = LibPri::new(theirs, pri_side);
        let mut profile = PriProfile::builtin("etsi").unwrap();
        // Keep the start quiet (RESTART has its own test).
        profile.restart_on_start = false;
        edit(&mut profile, &mut pri);
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
        let calling = Party {
            number: "13800138000".into(),
            name: None,
            presentation: Presentation::Restricted,
            redirecting: None,
        };
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

#[test]
fn overlap_dialling_with_libpri_both_ways() {
    // libpri dials digit by digit; we collect until T302 says the number is complete.
    let mut l = Link::with(Side::Te, |p, pri| {
        p.overlap_receiving = true;
        pri.set_overlap_dial(true);
    });
    let d = libpri::Dial {
        channel: 3,
        exclusive: true,
        called: "80",
        called_plan: libpri::PLAN_UNKNOWN,
        calling: "200",
        calling_plan: libpri::PLAN_UNKNOWN,
        pres: libpri::Presentation::Allowed,
        complete: false,
    };
    let call = l.pri.dial(&d);
    l.settle();
    assert!(l.take_pri().iter().any(|e| matches!(e, Event::SetupAck { .. })), "SETUP ACKNOWLEDGE to libpri");
    l.pri.information(call, "01");
    l.run_until(Duration::from_secs(6), |l| !l.our_events.is_empty());
    let ev = l.take_ours();
    assert!(
        ev.iter().any(|(c, e)| *c == 3 && matches!(e, CallEvent::Incoming { called, .. } if called == "8001")),
        "{ev:?}"
    );
    assert!(l.take_pri().iter().any(|e| matches!(e, Event::Proceeding { .. })));

    // We send overlap: SETUP without digits, the number in INFORMATION after SETUP ACK.
    let mut l = Link::with(Side::Te, |p, pri| {
        p.overlap_sending = true;
        pri.set_overlap_dial(true);
    });
    l.command(4, CallCommand::Originate { called: "5551234".into(), calling: Party::number("200") });
    let Some(Event::Ring { call, channel, called, complete, .. }) = ring(&l.take_pri()) else { panic!("no SETUP") };
    assert_eq!((called.as_str(), complete), ("", false));
    l.pri.setup_ack(call, channel);
    l.settle();
    let pev = l.take_pri();
    let digits: String = pev
        .iter()
        .filter_map(|e| match e {
            Event::InfoReceived { digits, .. } => Some(digits.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "5551234", "{pev:?}");
    assert!(pev.iter().any(|e| matches!(e, Event::InfoReceived { complete: true, .. })), "{pev:?}");
}

#[test]
fn glare_with_libpri_on_one_channel_settles_with_one_call() {
    for side in [Side::Te, Side::Nt] {
        let mut l = Link::new(side);
        // Both seize channel 2 in the same instant: neither SETUP has arrived yet.
        let now = l.now();
        l.ours.handle_input(
            now,
            SigInput::Command {
                chan: 2,
                cmd: CallCommand::Originate { called: "100".into(), calling: Party::number("200") },
            },
        );
        let theirs = l.pri.call(2, true, "300", "400", libpri::Presentation::Allowed);
        l.settle();
        let ev = l.take_ours();
        let pev = l.take_pri();
        let ours_offered = ev.iter().any(|(c, e)| *c == 2 && matches!(e, CallEvent::Incoming { .. }));
        let theirs_offered = pev.iter().any(|e| matches!(e, Event::Ring { .. }));
        if side == Side::Te {
            // The network wins: our SETUP is withdrawn, libpri's call is offered to us.
            assert!(ours_offered, "{ev:?}");
            assert_eq!(our_hangup(&ev), Some((2, Cause::RequestedChannelNotAvailable)), "{ev:?}");
            // libpri (1.6) offers our SETUP to its application although it has channel 2
            // busy itself; its application (like chan_dahdi) refuses it.
            if let Some(Event::Ring { call, .. }) = ring(&pev) {
                l.pri.hangup(call, 44);
                l.settle();
            }
        } else {
            // We are the network: libpri's SETUP on our seized channel is refused with 44.
            assert!(!ours_offered, "{ev:?}");
            assert!(pev.iter().any(|e| matches!(e, Event::Hangup { call, cause: 44 } if *call == theirs)), "{pev:?}");
            assert!(theirs_offered, "our SETUP reached libpri: {pev:?}");
        }
        // Whatever survived clears normally and leaves nothing behind on either side.
        l.command(2, CallCommand::Hangup { cause: Cause::NormalClearing });
        let later = l.take_pri();
        for e in later {
            if let Event::HangupReq { call, .. } = e {
                l.pri.hangup(call, 16);
            }
        }
        l.run_until(Duration::from_secs(10), |_| false);
        assert!(l.ours.is_idle(2), "{side:?}");
        // libpri 1.6 answers a DISCONNECT of a call still in "call present" (our withdrawn
        // or refused SETUP) with RELEASE COMPLETE but keeps that record in state 19 for
        // good, without an event: a leak on its side, not a call (seen in its state log).
        // What matters: channel 2 carries the next call normally.
        assert_eq!(l.pri.live_calls(), 1, "{side:?}: {}", l.pri.take_log());
        l.command(2, CallCommand::Originate { called: "500".into(), calling: Party::number("200") });
        let Some(Event::Ring { call, channel: 2, .. }) = ring(&l.take_pri()) else { panic!("{side:?}: no new call") };
        l.pri.answer(call, 2);
        l.settle();
        assert!(l.take_ours().contains(&(2, CallEvent::Answered)), "{side:?}");
    }
}

/// The whole gateway (call core, routing, the demo IVR, recording) with libpri as the
/// carrier on the simulated span's wire socket: the same path a real card's D-channel and
/// B-channels take, with a real peer on the other end.
#[test]
fn libpri_carrier_on_the_wire_socket_reaches_the_ivr_and_takes_our_calls() {
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::io::Read;
    use trunkd::config::Config;
    use trunkd::core::event::EventKind;
    use trunkd::dsp::g711::Law;
    use trunkd::gateway::Gateway;

    let dir = tempfile::tempdir().unwrap();
    let wire = dir.path().join("pri-1.wire");
    let text = format!(
        "[general]\ndata_dir = {:?}\n\n[[span]]\nname = \"pri-1\"\nbackend = \"sim\"\nsignalling = \"pri\"\nwire_socket = {:?}\npri = {{ side = \"te\", switch = \"etsi\", restart_on_start = false }}\n\n[[route]]\ncalled = \"_8XXX\"\napp = \"demo\"\n",
        dir.path(),
        wire
    );
    let cfg = Config::parse(&text, "").unwrap();
    trunkd::demo::install_prompts(&cfg.general.prompts_dir()).unwrap();
    let mut gw = Gateway::build(&cfg).unwrap();
    let mut now_ms = 1000u64;
    libpri::set_time_us(now_ms * 1000);
    gw.step(Instant::from_millis(now_ms));

    let peer = Socket::new(Domain::UNIX, Type::SEQPACKET, None).unwrap();
    peer.connect(&SockAddr::unix(&wire).unwrap()).unwrap();
    peer.set_nonblocking(true).unwrap();
    let (ours, theirs) = libpri::socketpair();
    let mut pri = LibPri::new(theirs, libpri::Side::Network);
    let mut events = Vec::new();
    let mut pri_events = Vec::new();
    let voice_on_b1 = std::cell::Cell::new(0usize);
    let mut buf = [0u8; 512];
    // One 20 ms tick of the gateway; frames relayed between the wire socket's framing
    // (kind, timeslot, frame, 2 FCS bytes) and libpri's socketpair (bare frames).
    let mut tick = |gw: &mut Gateway, pri: &mut LibPri, events: &mut Vec<_>, pri_events: &mut Vec<Event>| {
        for _ in 0..4 {
            while let Ok(n) = (&peer).read(&mut buf) {
                match (buf[0], buf[1]) {
                    (0x01, 16) if n >= 4 => {
                        // SAFETY: send from a live buffer on an fd we own.
                        unsafe { libc::send(ours.as_raw_fd(), buf[2..n - 2].as_ptr().cast(), n - 4, 0) };
                    }
                    (0x03, 1) if n == 162 => {
                        let loud = buf[2..162].iter().filter(|b| (Law::Alaw.decode(**b)).abs() > 500).count();
                        voice_on_b1.set(voice_on_b1.get() + loud);
                    }
                    _ => {}
                }
            }
            pri_events.extend(pri.poll());
            loop {
                // SAFETY: recv into a live stack buffer on an fd we own.
                let n = unsafe { libc::recv(ours.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
                if n <= 0 {
                    break;
                }
                let mut m = vec![0x01, 16];
                m.extend_from_slice(&buf[..n as usize]);
                m.extend_from_slice(&[0, 0]);
                peer.send(&m).unwrap();
            }
            gw.step(Instant::from_millis(now_ms));
            events.extend(gw.engine.drain_events());
        }
        now_ms += 20;
        libpri::set_time_us(now_ms * 1000);
    };
    for _ in 0..100 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
        if pri_events.contains(&Event::DchanUp) {
            break;
        }
    }
    assert!(pri_events.contains(&Event::DchanUp), "D-channel through the wire socket: {}", pri.take_log());

    // The carrier calls the IVR.
    let call = pri.call(1, true, "8001", "13800138000", libpri::Presentation::Allowed);
    for _ in 0..150 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
    }
    assert!(pri_events.iter().any(|e| matches!(e, Event::Answer { channel: 1, .. })), "{pri_events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Offered { called, .. } if called == "8001") && e.device == "pri-1/1"),
        "{events:?}"
    );
    let loud = voice_on_b1.get();
    assert!(loud > 4000, "the IVR's prompt on B-channel 1 ({loud} loud samples)");
    pri.hangup(call, 16);
    for _ in 0..20 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
    }
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Ended { cause: Cause::NormalClearing, .. })));

    // We call out through the carrier: libpri answers, we clear.
    pri_events.clear();
    let id = gw.engine.originate("pri-1", "5551234", Party::number("4008001234"), None).unwrap();
    for _ in 0..10 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
    }
    let Some(Event::Ring { call, channel, called, .. }) = ring(&pri_events) else { panic!("{pri_events:?}") };
    assert_eq!(called, "5551234");
    pri.answer(call, channel);
    for _ in 0..10 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
    }
    assert!(events.iter().any(|e| e.call == Some(id) && matches!(e.kind, EventKind::Answered)));
    assert!(gw.engine.hangup(id, Cause::NormalClearing));
    for _ in 0..10 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
    }
    assert!(pri_events.iter().any(|e| matches!(e, Event::HangupReq { cause: 16, .. })), "{pri_events:?}");
    pri.hangup(call, 16);
    for _ in 0..10 {
        tick(&mut gw, &mut pri, &mut events, &mut pri_events);
    }
    assert_eq!(pri.live_calls(), 0);
    gw.engine.finish();
}
