//! Q.931 call control, our user side against our network side, in virtual time. The
//! data link is a perfect in-order pipe here (Q.921 has its own tests); a filter can drop
//! or watch messages, and raw bytes can be injected to play a misbehaving peer.

use std::time::Duration;

use super::ie::{self, BearerCapability, ChannelId, Ie, PartyNumber, UserInfoLayer1};
use super::layer3::{L3Output, Layer3};
use super::message::{decode, CallRef, Message, MessageType};
use crate::signalling::pri::profile::PriProfile;
use crate::signalling::pri::{e1_bchannels, Side};
use crate::signalling::{CallCommand, CallEvent, Cause, Party, Presentation};
use crate::time::{earliest, Instant};

type Filter = Box<dyn FnMut(Side, &Message) -> bool>;

/// Two layer 3 entities joined by a pipe. `Side` in traces and filters is the sender.
struct Rig {
    te: Layer3,
    nt: Layer3,
    now: Instant,
    /// (sender, encoded message)
    pipe: Vec<(Side, Vec<u8>)>,
    /// Returns false to drop a message.
    filter: Filter,
    trace: Vec<String>,
    te_events: Vec<(u8, CallEvent)>,
    nt_events: Vec<(u8, CallEvent)>,
}

fn profile(name: &str) -> PriProfile {
    let mut p = PriProfile::builtin(name).unwrap();
    p.restart_on_start = false;
    p
}

impl Rig {
    fn new() -> Rig {
        Rig::with(profile("etsi"), profile("etsi"))
    }

    fn with(te: PriProfile, nt: PriProfile) -> Rig {
        let mut r = Rig {
            te: Layer3::new(Side::Te, te, true, &e1_bchannels()),
            nt: Layer3::new(Side::Nt, nt, true, &e1_bchannels()),
            now: Instant::ZERO,
            pipe: Vec::new(),
            filter: Box::new(|_, _| true),
            trace: Vec::new(),
            te_events: Vec::new(),
            nt_events: Vec::new(),
        };
        r.te.dl_established(r.now);
        r.nt.dl_established(r.now);
        r.settle();
        r.trace.clear();
        r
    }

    fn l3(&mut self, side: Side) -> &mut Layer3 {
        match side {
            Side::Te => &mut self.te,
            Side::Nt => &mut self.nt,
        }
    }

    /// Moves messages and events until both sides are quiet.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            for side in [Side::Te, Side::Nt] {
                while let Some(o) = self.l3(side).poll_output() {
                    moved = true;
                    match o {
                        L3Output::Send(m) => {
                            if (self.filter)(side, &m) {
                                self.trace.push(format!("{}>{}", side_name(side), m.kind.name()));
                                self.pipe.push((side, m.encode()));
                            } else {
                                self.trace.push(format!("{}>{} (lost)", side_name(side), m.kind.name()));
                            }
                        }
                        L3Output::Event { chan, event } => match side {
                            Side::Te => self.te_events.push((chan, event)),
                            Side::Nt => self.nt_events.push((chan, event)),
                        },
                        L3Output::Tone { .. } => {}
                    }
                }
            }
            for (from, bytes) in std::mem::take(&mut self.pipe) {
                moved = true;
                let now = self.now;
                self.l3(other(from)).receive(now, &bytes);
            }
            if !moved {
                break;
            }
        }
    }

    fn command(&mut self, side: Side, chan: u8, cmd: CallCommand) {
        let now = self.now;
        self.l3(side).command(now, chan, cmd);
        self.settle();
    }

    /// Advances virtual time by `d`, running every timer due on the way.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.settle();
            let next = earliest(self.te.poll_timeout(), self.nt.poll_timeout());
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    self.te.handle_timeout(now);
                    self.nt.handle_timeout(now);
                }
                _ => break,
            }
        }
        self.now = end;
        self.settle();
    }

    /// Raw bytes from `from`'s direction into the other side; returns what it answered.
    fn inject(&mut self, from: Side, bytes: &[u8]) -> Vec<Message> {
        let now = self.now;
        let to = other(from);
        self.l3(to).receive(now, bytes);
        let mut replies = Vec::new();
        while let Some(o) = self.l3(to).poll_output() {
            match o {
                L3Output::Send(m) => replies.push(m),
                L3Output::Event { chan, event } => match to {
                    Side::Te => self.te_events.push((chan, event)),
                    Side::Nt => self.nt_events.push((chan, event)),
                },
                L3Output::Tone { .. } => {}
            }
        }
        replies
    }

    fn events(&mut self, side: Side) -> Vec<(u8, CallEvent)> {
        match side {
            Side::Te => std::mem::take(&mut self.te_events),
            Side::Nt => std::mem::take(&mut self.nt_events),
        }
    }
}

fn other(s: Side) -> Side {
    if s == Side::Te {
        Side::Nt
    } else {
        Side::Te
    }
}

fn side_name(s: Side) -> &'static str {
    if s == Side::Te {
        "TE"
    } else {
        "NT"
    }
}

fn originate(called: &str, caller: &str) -> CallCommand {
    CallCommand::Originate { called: called.into(), calling: Party::number(caller) }
}

fn hangup(c: Cause) -> CallCommand {
    CallCommand::Hangup { cause: c }
}

fn incoming(ev: &[(u8, CallEvent)]) -> Option<(u8, String, Party)> {
    ev.iter().find_map(|(ch, e)| match e {
        CallEvent::Incoming { called, calling } => Some((*ch, called.clone(), calling.clone())),
        _ => None,
    })
}

fn hangups(ev: &[(u8, CallEvent)]) -> Vec<(u8, Cause)> {
    ev.iter()
        .filter_map(|(ch, e)| match e {
            CallEvent::Hangup { cause } => Some((*ch, *cause)),
            _ => None,
        })
        .collect()
}

fn released(ev: &[(u8, CallEvent)], chan: u8) -> bool {
    ev.iter().any(|(ch, e)| *ch == chan && *e == CallEvent::Released)
}

#[test]
fn user_side_call_is_answered_and_cleared_with_the_spec_message_flow() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("88001234", "13900001111"));
    let ev = r.events(Side::Nt);
    let (chan, called, calling) = incoming(&ev).expect("offered to the network side");
    assert_eq!((chan, called.as_str()), (1, "88001234"));
    assert_eq!(calling.number.reveal(), "13900001111");
    assert_eq!(calling.presentation, Presentation::Allowed);
    assert_eq!(r.events(Side::Te), vec![(1, CallEvent::Proceeding)]);
    assert_eq!(r.te.channel_state(1), "proceeding");

    r.command(Side::Nt, 1, CallCommand::Alerting);
    assert_eq!(r.events(Side::Te), vec![(1, CallEvent::Alerting)]);
    r.command(Side::Nt, 1, CallCommand::Answer);
    assert_eq!(r.events(Side::Te), vec![(1, CallEvent::Answered)]);
    assert_eq!(r.events(Side::Nt), vec![(1, CallEvent::Answered)]);
    assert_eq!(r.te.call_state_name(1).as_deref(), Some("U10"));
    assert_eq!(r.nt.call_state_name(1).as_deref(), Some("N10"));

    r.command(Side::Te, 1, hangup(Cause::NormalClearing));
    assert_eq!(
        r.events(Side::Nt),
        vec![(1, CallEvent::Hangup { cause: Cause::NormalClearing }), (1, CallEvent::Released)]
    );
    assert_eq!(r.events(Side::Te), vec![(1, CallEvent::Released)]);
    assert_eq!(
        r.trace,
        [
            "TE>SETUP",
            "NT>CALL PROCEEDING",
            "NT>ALERTING",
            "NT>CONNECT",
            "TE>CONNECT ACKNOWLEDGE",
            "TE>DISCONNECT",
            "NT>RELEASE",
            "TE>RELEASE COMPLETE"
        ]
    );
    assert!(r.te.is_idle(1) && r.nt.is_idle(1));
    assert_eq!((r.te.calls(), r.nt.calls()), (0, 0));
}

#[test]
fn network_side_call_answered_by_the_user_waits_for_connect_acknowledge() {
    let mut r = Rig::new();
    r.command(Side::Nt, 30, originate("6001", "01088886666"));
    let (chan, called, _) = incoming(&r.events(Side::Te)).unwrap();
    assert_eq!((chan, called.as_str()), (30, "6001"));
    r.command(Side::Te, 30, CallCommand::Answer);
    // The user side is active only once the network acknowledges its CONNECT.
    assert_eq!(r.events(Side::Te), vec![(30, CallEvent::Answered)]);
    assert_eq!(r.events(Side::Nt), vec![(30, CallEvent::Proceeding), (30, CallEvent::Answered)]);
    assert!(r.trace.contains(&"NT>CONNECT ACKNOWLEDGE".to_string()));
    r.command(Side::Nt, 30, hangup(Cause::NormalClearing));
    assert_eq!(hangups(&r.events(Side::Te)), vec![(30, Cause::NormalClearing)]);
    assert!(r.te.is_idle(30) && r.nt.is_idle(30));
}

#[test]
fn busy_and_other_rejections_reach_the_caller_with_their_cause() {
    for cause in [
        Cause::UserBusy,
        Cause::Unallocated,
        Cause::CallRejected,
        Cause::NoCircuitAvailable,
        Cause::IncompatibleDestination,
        Cause::TemporaryFailure,
    ] {
        for caller_side in [Side::Te, Side::Nt] {
            let mut r = Rig::new();
            r.command(caller_side, 5, originate("100", "200"));
            assert!(incoming(&r.events(other(caller_side))).is_some());
            r.command(other(caller_side), 5, hangup(cause));
            let ev = r.events(caller_side);
            assert_eq!(hangups(&ev), vec![(5, cause)], "{cause} from {caller_side:?}");
            assert!(released(&ev, 5));
            assert!(r.te.is_idle(5) && r.nt.is_idle(5), "{cause}");
        }
    }
}

#[test]
fn no_answer_clears_after_t301_with_cause_19() {
    let mut r = Rig::new();
    r.command(Side::Te, 2, originate("100", "200"));
    r.command(Side::Nt, 2, CallCommand::Alerting);
    r.events(Side::Te);
    r.advance(Duration::from_secs(179));
    assert!(hangups(&r.events(Side::Te)).is_empty());
    r.advance(Duration::from_secs(2));
    assert_eq!(hangups(&r.events(Side::Te)), vec![(2, Cause::NoAnswer)]);
    assert_eq!(hangups(&r.events(Side::Nt)), vec![(2, Cause::NoAnswer)]);
    assert!(r.te.is_idle(2) && r.nt.is_idle(2));
}

#[test]
fn a_lost_setup_is_sent_again_after_t303() {
    let mut r = Rig::new();
    let mut dropped = 0;
    r.filter = Box::new(move |from, m| {
        if from == Side::Te && m.kind == MessageType::Setup && dropped == 0 {
            dropped += 1;
            return false;
        }
        true
    });
    r.command(Side::Te, 3, originate("100", "200"));
    assert!(incoming(&r.events(Side::Nt)).is_none());
    r.advance(Duration::from_millis(3900));
    assert!(incoming(&r.events(Side::Nt)).is_none());
    r.advance(Duration::from_millis(200));
    assert!(incoming(&r.events(Side::Nt)).is_some(), "{:?}", r.trace);
    assert_eq!(r.trace[..2], ["TE>SETUP (lost)", "TE>SETUP"]);
}

#[test]
fn setup_lost_twice_clears_with_cause_102_and_frees_the_channel() {
    let mut r = Rig::new();
    r.filter = Box::new(|from, m| !(from == Side::Te && m.kind == MessageType::Setup));
    r.command(Side::Te, 3, originate("100", "200"));
    r.advance(Duration::from_millis(8100));
    let ev = r.events(Side::Te);
    assert_eq!(hangups(&ev), vec![(3, Cause::RecoveryOnTimerExpiry)]);
    assert!(released(&ev, 3) && r.te.is_idle(3));
    assert_eq!(r.te.calls(), 0);
}

#[test]
fn overlap_sending_meets_overlap_receiving() {
    let mut te = profile("etsi");
    te.overlap_sending = true;
    let mut nt = profile("etsi");
    nt.overlap_receiving = true;
    let mut r = Rig::with(te, nt);
    r.command(Side::Te, 7, originate("4008123456", "200"));
    let (_, called, _) = incoming(&r.events(Side::Nt)).unwrap();
    assert_eq!(called, "4008123456");
    assert_eq!(r.trace[..4], ["TE>SETUP", "NT>SETUP ACKNOWLEDGE", "TE>INFORMATION", "NT>CALL PROCEEDING"]);
}

#[test]
fn overlap_receiving_completes_on_t302_or_hash() {
    let mut r = Rig::with(profile("etsi"), {
        let mut p = profile("etsi");
        p.overlap_receiving = true;
        p
    });
    // A SETUP with part of the number and no Sending complete, as a PBX dials digit by digit.
    let setup = |cref: u16, digits: &str| {
        Message::new(CallRef { value: cref, flag: false }, MessageType::Setup)
            .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
            .with(Ie::ChannelId(ChannelId::b_channel(9, false)))
            .with(Ie::CalledPartyNumber(PartyNumber { digits: digits.into(), ..PartyNumber::default() }))
            .encode()
    };
    let info = |cref: u16, digits: &str| {
        Message::new(CallRef { value: cref, flag: false }, MessageType::Information)
            .with(Ie::CalledPartyNumber(PartyNumber { digits: digits.into(), ..PartyNumber::default() }))
            .encode()
    };
    let replies = r.inject(Side::Te, &setup(0x51, "12"));
    assert_eq!(replies.iter().map(|m| m.kind).collect::<Vec<_>>(), [MessageType::SetupAcknowledge]);
    assert_eq!(replies[0].channel_id().and_then(|c| c.channel()), Some(9));
    r.inject(Side::Te, &info(0x51, "3"));
    r.advance(Duration::from_millis(4900));
    r.inject(Side::Te, &info(0x51, "4"));
    r.advance(Duration::from_millis(4900));
    assert!(incoming(&r.events(Side::Nt)).is_none(), "each digit restarts T302");
    r.advance(Duration::from_millis(200));
    assert_eq!(incoming(&r.events(Side::Nt)).map(|x| x.1), Some("1234".to_string()));

    let replies = r.inject(Side::Te, &setup(0x52, "55"));
    assert_eq!(replies[0].kind, MessageType::SetupAcknowledge);
    let replies = r.inject(Side::Te, &info(0x52, "6#"));
    assert_eq!(replies.iter().map(|m| m.kind).collect::<Vec<_>>(), [MessageType::CallProceeding]);
    assert_eq!(incoming(&r.events(Side::Nt)).map(|x| x.1), Some("556".to_string()));
}

#[test]
fn glare_on_one_channel_is_won_by_the_network_side() {
    let mut r = Rig::new();
    let now = r.now;
    // Both seize channel 4 before either SETUP arrives.
    r.te.command(now, 4, originate("100", "200"));
    r.nt.command(now, 4, originate("300", "400"));
    r.settle();
    let te = r.events(Side::Te);
    let nt = r.events(Side::Nt);
    // The user side withdrew its call and took the network's on channel 4.
    assert_eq!(hangups(&te), vec![(4, Cause::RequestedChannelNotAvailable)]);
    assert_eq!(incoming(&te).map(|x| (x.0, x.1)), Some((4, "300".to_string())));
    assert!(incoming(&nt).is_none(), "the network rejects the user's SETUP");
    assert_eq!(r.te.calls(), 1);
    assert_eq!(r.nt.calls(), 1);
    r.command(Side::Te, 4, CallCommand::Answer);
    assert!(r.events(Side::Nt).contains(&(4, CallEvent::Answered)));
}

#[test]
fn preferred_channel_busy_moves_the_offer_to_a_free_one() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("100", "200"));
    r.events(Side::Nt);
    let setup = Message::new(CallRef { value: 0x99, flag: false }, MessageType::Setup)
        .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
        .with(Ie::ChannelId(ChannelId::b_channel(1, false)))
        .with(Ie::SendingComplete)
        .encode();
    let replies = r.inject(Side::Te, &setup);
    assert_eq!(replies[0].kind, MessageType::CallProceeding);
    assert_eq!(replies[0].channel_id().and_then(|c| c.channel()), Some(2));
    // Exclusive on a busy channel: cause 44.
    let setup = Message::new(CallRef { value: 0x9a, flag: false }, MessageType::Setup)
        .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
        .with(Ie::ChannelId(ChannelId::b_channel(1, true)))
        .encode();
    let replies = r.inject(Side::Te, &setup);
    assert_eq!(replies[0].kind, MessageType::ReleaseComplete);
    assert_eq!(replies[0].cause().map(|c| c.cause), Some(Cause::RequestedChannelNotAvailable));
}

#[test]
fn restart_of_a_busy_channel_clears_its_call_on_both_sides() {
    let mut r = Rig::new();
    r.command(Side::Te, 6, originate("100", "200"));
    r.command(Side::Nt, 6, CallCommand::Answer);
    r.events(Side::Te);
    r.events(Side::Nt);
    let now = r.now;
    assert!(r.nt.restart_channel(now, 6));
    r.settle();
    let te = r.events(Side::Te);
    assert_eq!(hangups(&te), vec![(6, Cause::TemporaryFailure)]);
    assert!(released(&te, 6));
    assert!(r.trace.ends_with(&["NT>RESTART".to_string(), "TE>RESTART ACKNOWLEDGE".to_string()]));
    assert!(r.te.is_idle(6) && r.nt.is_idle(6));
    assert_eq!(r.nt.counters().restarts_tx, 1);
}

#[test]
fn restart_of_the_interface_on_start_is_acknowledged() {
    let mut p = profile("etsi");
    p.restart_on_start = true;
    let r = Rig::with(p, profile("etsi"));
    assert_eq!(r.te.counters().restarts_tx, 1);
    assert_eq!(r.nt.counters().restarts_rx, 1);
    assert!(r.te.is_idle(1), "RESTART ACKNOWLEDGE frees the channels");
}

#[test]
fn unanswered_restart_is_retried_then_channels_are_freed() {
    let mut p = profile("etsi");
    p.restart_on_start = true;
    let mut r = Rig::new();
    r.te = Layer3::new(Side::Te, p, true, &e1_bchannels());
    r.filter = Box::new(|from, m| !(from == Side::Nt && m.kind == MessageType::RestartAcknowledge));
    let now = r.now;
    r.te.dl_established(now);
    r.settle();
    assert_eq!(r.te.channel_state(1), "restarting");
    r.advance(Duration::from_secs(121));
    assert_eq!(r.te.counters().restarts_tx, 2);
    r.advance(Duration::from_secs(240));
    assert_eq!(r.te.counters().restarts_tx, 3);
    assert!(r.te.is_idle(1));
}

#[test]
fn data_link_loss_keeps_active_calls_for_t309_only() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("100", "200"));
    r.command(Side::Nt, 1, CallCommand::Answer);
    r.command(Side::Te, 2, originate("101", "200"));
    r.events(Side::Te);
    // Link lost: the call being set up on 2 is cleared, the active one on 1 waits.
    let now = r.now;
    r.te.dl_released(now);
    r.settle();
    assert_eq!(hangups(&r.events(Side::Te)), vec![(2, Cause::TemporaryFailure)]);
    r.advance(Duration::from_secs(5));
    assert!(r.events(Side::Te).is_empty());
    assert_eq!(r.te.channel_state(1), "up");
    // Back within T309: the call survives and both sides are checked with STATUS ENQUIRY.
    let now = r.now;
    r.te.dl_established(now);
    r.settle();
    assert!(r.trace.iter().any(|t| t == "TE>STATUS ENQUIRY"));
    r.advance(Duration::from_secs(10));
    assert!(hangups(&r.events(Side::Te)).is_empty());
    assert_eq!(r.te.channel_state(1), "up");
    // Lost for longer than T309: cleared with cause 27.
    let now = r.now;
    r.te.dl_released(now);
    r.advance(Duration::from_secs(7));
    let ev = r.events(Side::Te);
    assert_eq!(hangups(&ev), vec![(1, Cause::DestinationOutOfOrder)]);
    assert!(released(&ev, 1));
}

#[test]
fn status_enquiry_after_a_link_reset_clears_calls_the_peer_forgot() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("100", "200"));
    r.command(Side::Nt, 1, CallCommand::Answer);
    r.events(Side::Te);
    let now = r.now;
    r.te.dl_released(now);
    // The network side restarted meanwhile and knows nothing of the call.
    r.nt = Layer3::new(Side::Nt, profile("etsi"), true, &e1_bchannels());
    r.nt.dl_established(now);
    r.advance(Duration::from_secs(2));
    let now = r.now;
    r.te.dl_established(now);
    r.settle();
    let ev = r.events(Side::Te);
    assert_eq!(hangups(&ev).len(), 1, "{:?} {:?}", ev, r.trace);
    assert!(released(&ev, 1));
    assert!(r.te.is_idle(1));
}

#[test]
fn layer_1_loss_clears_every_call_and_frees_every_b_channel() {
    let mut r = Rig::new();
    for ch in [1, 2, 3, 17, 31] {
        r.command(Side::Te, ch, originate("100", "200"));
    }
    r.command(Side::Nt, 17, CallCommand::Answer);
    r.events(Side::Te);
    let now = r.now;
    r.te.physical_down(now);
    r.settle();
    let ev = r.events(Side::Te);
    let mut cleared: Vec<u8> = hangups(&ev).iter().map(|(c, _)| *c).collect();
    cleared.sort();
    assert_eq!(cleared, [1, 2, 3, 17, 31]);
    assert!(hangups(&ev).iter().all(|(_, c)| *c == Cause::NetworkOutOfOrder));
    assert!(e1_bchannels().iter().all(|c| r.te.is_idle(*c)));
    assert_eq!(r.te.calls(), 0);
}

#[test]
fn unanswered_release_twice_owes_the_channel_a_restart() {
    let mut r = Rig::new();
    r.command(Side::Te, 8, originate("100", "200"));
    r.command(Side::Nt, 8, CallCommand::Answer);
    r.filter = Box::new(|from, m| !(from == Side::Nt && m.kind == MessageType::ReleaseComplete));
    r.command(Side::Nt, 8, hangup(Cause::NormalClearing));
    // NT: DISCONNECT → TE RELEASE → NT's RELEASE COMPLETE lost; TE retransmits, then gives up.
    r.advance(Duration::from_secs(9));
    assert!(r.trace.iter().filter(|t| *t == "TE>RELEASE").count() >= 2, "{:?}", r.trace);
    assert!(r.trace.iter().any(|t| t == "TE>RESTART"), "{:?}", r.trace);
    r.filter = Box::new(|_, _| true);
    r.advance(Duration::from_secs(1));
    assert!(r.te.is_idle(8));
}

// ---- malformed and unexpected messages get the spec's answer (§5.8) ----

fn first_cause(m: &[Message]) -> Option<(MessageType, Cause)> {
    m.first().and_then(|m| m.cause().map(|c| (m.kind, c.cause)))
}

#[test]
fn message_for_an_unknown_call_reference_is_answered_with_cause_81() {
    let mut r = Rig::new();
    let info = Message::new(CallRef { value: 0x1234, flag: false }, MessageType::Information).encode();
    assert_eq!(
        first_cause(&r.inject(Side::Te, &info)),
        Some((MessageType::ReleaseComplete, Cause::InvalidCallReference))
    );
    let rel = Message::new(CallRef { value: 0x1234, flag: false }, MessageType::Release).encode();
    assert_eq!(
        first_cause(&r.inject(Side::Te, &rel)),
        Some((MessageType::ReleaseComplete, Cause::InvalidCallReference))
    );
    let rlc = Message::new(CallRef { value: 0x1234, flag: false }, MessageType::ReleaseComplete).encode();
    assert!(r.inject(Side::Te, &rlc).is_empty());
}

#[test]
fn setup_without_bearer_capability_is_refused_with_cause_96() {
    let mut r = Rig::new();
    let setup = Message::new(CallRef { value: 7, flag: false }, MessageType::Setup)
        .with(Ie::ChannelId(ChannelId::b_channel(1, true)))
        .encode();
    let replies = r.inject(Side::Nt, &setup);
    assert_eq!(first_cause(&replies), Some((MessageType::ReleaseComplete, Cause::MandatoryIeMissing)));
    assert_eq!(replies[0].cause().unwrap().diagnostics, [ie::id::BEARER_CAPABILITY]);
    assert!(incoming(&r.events(Side::Te)).is_none());
}

#[test]
fn unknown_message_type_on_a_call_is_answered_with_status_97() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("100", "200"));
    // The NT's call reference for the TE's call: value 1, sent towards the originator.
    let bytes = [0x08, 0x02, 0x80, 0x01, 0x7f];
    let replies = r.inject(Side::Nt, &bytes);
    assert_eq!(first_cause(&replies), Some((MessageType::Status, Cause::MessageTypeNonexistent)));
    assert_eq!(replies[0].call_state(), Some(3), "U3: outgoing call proceeding");
}

#[test]
fn message_out_of_state_is_answered_with_status_101() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("100", "200"));
    r.command(Side::Nt, 1, CallCommand::Answer);
    // A second CONNECT ACKNOWLEDGE is fine; an ALERTING on an active call is not.
    let alerting = Message::new(CallRef { value: 1, flag: true }, MessageType::Alerting).encode();
    let replies = r.inject(Side::Nt, &alerting);
    assert_eq!(first_cause(&replies), Some((MessageType::Status, Cause::WrongCallState)));
    assert_eq!(r.te.channel_state(1), "up");
}

#[test]
fn status_enquiry_is_answered_with_the_call_state() {
    let mut r = Rig::new();
    r.command(Side::Te, 1, originate("100", "200"));
    r.command(Side::Nt, 1, CallCommand::Alerting);
    let enq = Message::new(CallRef { value: 1, flag: true }, MessageType::StatusEnquiry).encode();
    let replies = r.inject(Side::Nt, &enq);
    assert_eq!(first_cause(&replies), Some((MessageType::Status, Cause::ResponseToStatusEnquiry)));
    assert_eq!(replies[0].call_state(), Some(4), "U4: call delivered");
}

#[test]
fn garbage_never_panics_and_headers_we_cannot_trust_are_ignored() {
    let mut r = Rig::new();
    for bytes in [&[][..], &[0x08], &[0x09, 0x02, 0, 1, 5], &[0x08, 0x0f, 1, 2], &[0x08, 0x02, 0x00]] {
        assert!(r.inject(Side::Te, bytes).is_empty(), "{bytes:?}");
    }
    assert!(r.nt.counters().ignored >= 4);
}

#[test]
fn caller_presentation_and_national_numbers_follow_the_profile() {
    let mut r = Rig::with(profile("china"), profile("china"));
    let cmd = CallCommand::Originate {
        called: "95555".into(),
        calling: Party {
            number: "1088886666".into(),
            name: None,
            presentation: Presentation::Restricted,
            redirecting: None,
        },
    };
    r.command(Side::Te, 1, cmd);
    let (_, _, calling) = incoming(&r.events(Side::Nt)).unwrap();
    // china: calling numbers go out as national; received national numbers get "0".
    assert_eq!(calling.number.reveal(), "01088886666");
    assert_eq!(calling.presentation, Presentation::Restricted);
}

#[test]
fn display_names_are_read_in_the_profile_charset() {
    let mut r = Rig::with(profile("china"), profile("china"));
    let (bytes, _, _) = encoding_rs::GBK.encode("张三");
    let setup = Message::new(CallRef { value: 3, flag: false }, MessageType::Setup)
        .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
        .with(Ie::ChannelId(ChannelId::b_channel(1, true)))
        .with(Ie::Display(bytes.into_owned()))
        .with(Ie::CalledPartyNumber(PartyNumber { digits: "95555".into(), ..PartyNumber::default() }))
        .with(Ie::SendingComplete)
        .encode();
    r.inject(Side::Nt, &setup);
    let (_, _, calling) = incoming(&r.events(Side::Te)).unwrap();
    assert_eq!(calling.name.map(|n| n.reveal().clone()).as_deref(), Some("张三"));
}

#[test]
fn decode_of_what_we_send_round_trips() {
    let m = Message::new(CallRef { value: 0x1234, flag: true }, MessageType::Connect)
        .with(Ie::ChannelId(ChannelId::b_channel(17, true)));
    let d = decode(&m.encode()).unwrap();
    assert_eq!(d.msg, m);
    assert!(d.problems.is_empty());
}

#[test]
fn a_diverted_call_carries_its_redirecting_number_to_the_core() {
    use super::ie::RedirectingNumber;
    let mut r = Rig::new();
    let setup = Message::new(CallRef { value: 4, flag: false }, MessageType::Setup)
        .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
        .with(Ie::ChannelId(ChannelId::b_channel(2, true)))
        .with(Ie::CalledPartyNumber(PartyNumber { digits: "8001".into(), ..PartyNumber::default() }))
        .with(Ie::RedirectingNumber(RedirectingNumber {
            number: PartyNumber { digits: "4008001234".into(), ..PartyNumber::default() },
            reason: None,
        }))
        .with(Ie::SendingComplete)
        .encode();
    r.inject(Side::Nt, &setup);
    let (_, _, calling) = incoming(&r.events(Side::Te)).unwrap();
    assert_eq!(calling.redirecting.map(|n| n.reveal().clone()).as_deref(), Some("4008001234"));
}

#[test]
fn a_repeated_setup_for_a_known_call_is_ignored() {
    let mut r = Rig::new();
    let setup = Message::new(CallRef { value: 9, flag: false }, MessageType::Setup)
        .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
        .with(Ie::ChannelId(ChannelId::b_channel(3, true)))
        .with(Ie::CalledPartyNumber(PartyNumber { digits: "8001".into(), ..PartyNumber::default() }))
        .with(Ie::SendingComplete)
        .encode();
    assert_eq!(r.inject(Side::Nt, &setup)[0].kind, MessageType::CallProceeding);
    assert!(r.inject(Side::Nt, &setup).is_empty(), "no second answer, no STATUS");
    assert_eq!(r.events(Side::Te).iter().filter(|(_, e)| matches!(e, CallEvent::Incoming { .. })).count(), 1);
}
