//! E&M behaviour tests: two spans back to back over a CAS wire, in virtual time.

use super::*;
use crate::backend::line::Alarms;
use crate::signalling::analog::testutil::{Side, Sim, Wire};
use crate::signalling::Party;
use proptest::prelude::*;

use Side::{A, B};

const TS: [u16; 3] = [1, 2, 17];

fn originate(called: &str) -> CallCommand {
    CallCommand::Originate { called: called.into(), calling: Party::number("5550199") }
}

fn hangup() -> CallCommand {
    CallCommand::Hangup { cause: Cause::NormalClearing }
}

fn pair(a: EmProfile, b: EmProfile) -> Sim {
    Sim::two(EmSpan::new(a, &TS), EmSpan::new(b, &TS), Wire::Cas)
}

fn start(start: Start) -> EmProfile {
    EmProfile { start, ..EmProfile::default() }
}

/// The bits `side` sent on `ts` after start-up (every channel first asserts idle at 0).
fn cas_tx(sim: &Sim, side: Side, ts: u16) -> Vec<(u64, Abcd)> {
    let mut v = all_cas_tx(sim, side, ts);
    assert_eq!(v.first(), Some(&(0, ON)), "idle asserted at start");
    v.remove(0);
    v
}

fn all_cas_tx(sim: &Sim, side: Side, ts: u16) -> Vec<(u64, Abcd)> {
    sim.transmits(side, ts)
        .into_iter()
        .filter_map(|(t, c)| match c {
            LineCmd::Cas(b) => Some((t, b)),
            _ => None,
        })
        .collect()
}

const ON: Abcd = Abcd::new(0b0101);
const OFF: Abcd = Abcd::new(0b1101);

/// A calls B on `ts` with `number`; B answers. Returns when both are connected.
fn call(sim: &mut Sim, ts: u16, number: &str) {
    sim.cmd(A, ts, originate(number));
    complete(sim, ts, number);
}

/// The rest of `call` after A's originate.
fn complete(sim: &mut Sim, ts: u16, number: &str) {
    sim.run(3_000);
    assert_eq!(sim.incoming_number(B, ts).as_deref(), Some(number));
    sim.cmd(B, ts, CallCommand::Answer);
    sim.run(1_000);
    assert_eq!(sim.events(A, ts), vec![CallEvent::Proceeding, CallEvent::Answered]);
    assert_eq!(sim.events(B, ts).last(), Some(&CallEvent::Answered));
    assert_eq!((sim.state(A, ts), sim.state(B, ts)), ("connected", "connected"));
}

#[test]
fn each_channel_rests_idle_from_the_start() {
    // A card sends system.conf's idle bits (often 1101, "seized" to us) until a program
    // sets its own: the stack must not inherit them.
    let mut sim = pair(start(Start::Wink), start(Start::Wink));
    sim.run(500);
    for side in [A, B] {
        for ts in TS {
            assert_eq!(all_cas_tx(&sim, side, ts), vec![(0, ON)]);
            assert_eq!(sim.state(side, ts), "idle");
        }
    }
}

#[test]
fn wink_start_call_and_caller_clears_first() {
    let mut sim = pair(start(Start::Wink), start(Start::Wink));
    sim.cmd(A, 1, originate("1234"));
    sim.run(1_000);
    // B winks: 100 ms wink delay after a 30 ms debounce of A's seizure (sent at 0, seen at 2).
    assert_eq!(cas_tx(&sim, B, 1), vec![(132, OFF), (332, ON)]);
    assert_eq!(sim.sent_digits(A, 1), vec!["1234#".to_string()]);
    complete(&mut sim, 1, "1234");
    assert!(sim.events(A, 2).is_empty() && sim.events(B, 17).is_empty());

    sim.cmd(A, 1, hangup());
    sim.run(100);
    assert_eq!(sim.events(B, 1).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));
    assert_eq!(sim.state(A, 1), "clearing", "far end still off-hook");
    sim.cmd(B, 1, hangup());
    let t = sim.ms();
    sim.run(1_000);
    assert_eq!(sim.event_times(B, 1).last(), Some(&(t + 300, CallEvent::Released)));
    assert_eq!(sim.events(A, 1).last(), Some(&CallEvent::Released));
    assert_eq!((sim.state(A, 1), sim.state(B, 1)), ("idle", "idle"));
    assert_eq!(cas_tx(&sim, A, 1).last().map(|t| t.1), Some(ON));
}

#[test]
fn immediate_start_call_and_called_side_clears_first() {
    let mut sim = pair(start(Start::Immediate), start(Start::Immediate));
    sim.cmd(A, 17, originate("55"));
    sim.run(290);
    assert!(sim.sent_digits(A, 17).is_empty(), "dial delay");
    sim.run(20);
    assert_eq!(sim.sent_digits(A, 17), vec!["55#".to_string()]);
    assert!(cas_tx(&sim, B, 17).is_empty(), "no wink in immediate start");
    complete(&mut sim, 17, "55");

    sim.cmd(B, 17, hangup());
    sim.run(100);
    assert_eq!(sim.events(A, 17).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));
    sim.cmd(A, 17, hangup());
    sim.run(1_000);
    assert_eq!(sim.events(A, 17).last(), Some(&CallEvent::Released));
    assert_eq!(sim.events(B, 17).last(), Some(&CallEvent::Released));
    assert_eq!((sim.state(A, 17), sim.state(B, 17)), ("idle", "idle"));
}

#[test]
fn both_directions_on_one_channel() {
    for s in [Start::Wink, Start::Immediate] {
        let mut sim = pair(start(s), start(s));
        call(&mut sim, 2, "10");
        sim.cmd(A, 2, hangup());
        sim.cmd(B, 2, hangup());
        sim.run(1_000);
        // Now B calls A on the same timeslot.
        sim.cmd(B, 2, originate("20"));
        sim.run(3_000);
        assert_eq!(sim.incoming_number(A, 2).as_deref(), Some("20"), "{s:?}");
        sim.cmd(A, 2, CallCommand::Answer);
        sim.run(1_000);
        assert_eq!(sim.events(B, 2).last(), Some(&CallEvent::Answered), "{s:?}");
    }
}

#[test]
fn wink_timeout() {
    let mut sim = Sim::one(EmSpan::new(start(Start::Wink), &TS));
    sim.cmd(A, 1, originate("1"));
    assert_eq!(cas_tx(&sim, A, 1), vec![(0, OFF)]);
    sim.run(4_990);
    assert!(sim.events(A, 1).is_empty());
    sim.run(20);
    assert_eq!(sim.event_times(A, 1), vec![(5_000, CallEvent::Hangup { cause: Cause::RecoveryOnTimerExpiry })]);
    sim.cmd(A, 1, hangup());
    sim.run(1_000);
    assert_eq!(cas_tx(&sim, A, 1).last(), Some(&(5_010, ON)));
    assert_eq!(sim.events(A, 1).last(), Some(&CallEvent::Released));
    assert_eq!(sim.state(A, 1), "idle");
}

#[test]
fn wink_must_have_plausible_length() {
    let mut sim = Sim::one(EmSpan::new(start(Start::Wink), &TS));
    sim.cmd(A, 1, originate("9"));
    let pulse = |sim: &mut Sim, len: u64| {
        sim.input(A, SigInput::Line { chan: 1, event: LineEvent::Cas(OFF) });
        sim.run(len);
        sim.input(A, SigInput::Line { chan: 1, event: LineEvent::Cas(ON) });
        sim.run(100);
    };
    pulse(&mut sim, 40);
    assert!(sim.sent_digits(A, 1).is_empty(), "40 ms is no wink");
    pulse(&mut sim, 200);
    assert_eq!(sim.sent_digits(A, 1), vec!["9#".to_string()]);
}

#[test]
fn glare_immediate_yield_against_hold() {
    let a = EmProfile { glare: Glare::Yield, ..start(Start::Immediate) };
    let b = EmProfile { glare: Glare::Hold, ..start(Start::Immediate) };
    let mut sim = pair(a, b);
    sim.cmd(A, 1, originate("111"));
    sim.cmd(B, 1, originate("222"));
    sim.run(3_000);
    assert_eq!(
        sim.events(A, 1)[..3],
        [
            CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable },
            CallEvent::Released,
            CallEvent::Incoming { called: "222".into(), calling: Party::default() },
        ]
    );
    assert!(sim.sent_digits(A, 1).is_empty());
    assert_eq!(sim.events(B, 1), vec![CallEvent::Proceeding]);
    sim.cmd(A, 1, CallCommand::Answer);
    sim.run(1_000);
    assert_eq!(sim.events(B, 1), vec![CallEvent::Proceeding, CallEvent::Answered]);
}

#[test]
fn glare_wink_yield_against_hold() {
    let a = EmProfile { glare: Glare::Hold, ..start(Start::Wink) };
    let b = EmProfile { glare: Glare::Yield, ..start(Start::Wink) };
    let mut sim = pair(a, b);
    sim.cmd(A, 2, originate("31"));
    sim.cmd(B, 2, originate("32"));
    sim.run(4_000);
    assert_eq!(
        sim.events(B, 2)[..3],
        [
            CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable },
            CallEvent::Released,
            CallEvent::Incoming { called: "31".into(), calling: Party::default() },
        ]
    );
    assert_eq!(sim.events(A, 2), vec![CallEvent::Proceeding]);
    sim.cmd(B, 2, CallCommand::Answer);
    sim.run(1_000);
    assert_eq!(sim.events(A, 2).last(), Some(&CallEvent::Answered));
}

#[test]
fn originate_on_busy_channel_is_refused() {
    let mut sim = pair(start(Start::Wink), start(Start::Wink));
    sim.cmd(A, 1, originate("1"));
    sim.run(100);
    sim.cmd(B, 1, originate("2"));
    assert_eq!(
        sim.events(B, 1),
        vec![CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable }, CallEvent::Released]
    );
    sim.cmd(A, 1, originate("3"));
    assert_eq!(
        sim.events(A, 1),
        vec![CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable }, CallEvent::Released]
    );
}

#[test]
fn alarm_clears_every_call_and_blocks_until_cleared() {
    let mut sim = pair(start(Start::Wink), start(Start::Wink));
    call(&mut sim, 1, "1");
    sim.cmd(A, 2, originate("2"));
    sim.run(100);
    sim.input(A, SigInput::Alarm(Alarms(Alarms::RED | Alarms::LOS)));
    let cut = CallEvent::Hangup { cause: Cause::NetworkOutOfOrder };
    assert_eq!(sim.events(A, 1).last(), Some(&cut));
    assert_eq!(sim.events(A, 2).last(), Some(&cut));
    assert!(sim.events(A, 17).is_empty());
    for ts in TS {
        assert_eq!(sim.state(A, ts), "blocked");
    }
    sim.cmd(A, 17, originate("3"));
    assert_eq!(sim.events(A, 17), vec![cut.clone(), CallEvent::Released]);
    // Bits from a dead span are ignored.
    sim.input(A, SigInput::Line { chan: 17, event: LineEvent::Cas(OFF) });
    sim.run(100);
    assert_eq!(sim.state(A, 17), "blocked");
    sim.cmd(A, 1, hangup());
    sim.cmd(A, 2, hangup());
    assert_eq!(sim.events(A, 1).last(), Some(&CallEvent::Released));
    assert_eq!(sim.events(A, 2).last(), Some(&CallEvent::Released));
    sim.clear_tx_log(A);
    sim.input(A, SigInput::Alarm(Alarms::NONE));
    for ts in TS {
        assert_eq!(sim.state(A, ts), "idle");
        assert_eq!(all_cas_tx(&sim, A, ts).last().map(|t| t.1), Some(ON));
    }
}

#[test]
fn only_a_bit_changes_count() {
    let mut sim = Sim::one(EmSpan::new(start(Start::Immediate), &TS));
    sim.clear_tx_log(A);
    for bits in [0b0100, 0b0111, 0b0000, 0b0101] {
        sim.input(A, SigInput::Line { chan: 1, event: LineEvent::Cas(Abcd::new(bits)) });
        sim.run(100);
    }
    assert_eq!(sim.state(A, 1), "idle");
    assert!(sim.log[0].is_empty());
    // 1001 has A set: a seizure, whatever B/C/D say.
    sim.input(A, SigInput::Line { chan: 1, event: LineEvent::Cas(Abcd::new(0b1001)) });
    sim.run(100);
    assert_eq!(sim.state(A, 1), "collecting");
}

#[test]
fn debounce_ignores_short_glitches() {
    let mut sim = Sim::one(EmSpan::new(start(Start::Immediate), &TS));
    sim.input(A, SigInput::Line { chan: 2, event: LineEvent::Cas(OFF) });
    sim.run(20);
    sim.input(A, SigInput::Line { chan: 2, event: LineEvent::Cas(ON) });
    sim.run(1_000);
    assert_eq!(sim.state(A, 2), "idle");
}

#[test]
fn incoming_digits_terminator_max_and_timeouts() {
    let mut sim = Sim::one(EmSpan::new(EmProfile { max_digits: 4, ..start(Start::Immediate) }, &TS));
    let seize = |sim: &mut Sim, ts| sim.input(A, SigInput::Line { chan: ts, event: LineEvent::Cas(OFF) });
    seize(&mut sim, 1);
    seize(&mut sim, 2);
    seize(&mut sim, 17);
    sim.run(50);
    sim.dtmf(A, 1, "12#");
    sim.dtmf(A, 2, "123456");
    sim.dtmf(A, 17, "9");
    sim.run(2_000);
    assert_eq!(sim.incoming_number(A, 1).as_deref(), Some("12"));
    assert_eq!(sim.incoming_number(A, 2).as_deref(), Some("1234"));
    assert_eq!(sim.incoming_number(A, 17), None);
    sim.run(3_000);
    assert_eq!(sim.incoming_number(A, 17).as_deref(), Some("9"));
    // Caller abandons before answer.
    sim.input(A, SigInput::Line { chan: 17, event: LineEvent::Cas(ON) });
    sim.run(100);
    assert_eq!(sim.events(A, 17).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));
}

#[test]
fn timeslots_are_validated() {
    let span = EmSpan::new(EmProfile::default(), &[0, 1, 16, 31, 32, 1]);
    assert_eq!(span.timeslots(), vec![1, 31]);
    assert_eq!(span.channel_state(16), "unknown");
}

#[test]
fn profile_from_toml() {
    let p: EmProfile =
        toml::from_str("start = \"immediate\"\nonhook_bits = \"0001\"\noffhook_bits = \"1001\"\nglare = \"hold\"")
            .unwrap();
    assert_eq!(p.start, Start::Immediate);
    assert_eq!(p.onhook_bits, Abcd::new(0b0001));
    assert_eq!(p.offhook_bits, Abcd::new(0b1001));
    assert_eq!(p.glare, Glare::Hold);
    assert_eq!(p.wink_ms, 200);
    assert!(p.validate().is_ok());
    for bad in ["\"1102\"", "\"110\"", "\"+101\"", "\"11010\""] {
        let err = toml::from_str::<EmProfile>(&format!("offhook_bits = {bad}")).unwrap_err();
        assert!(err.to_string().contains("invalid ABCD bits"), "{err}");
    }
    assert!(toml::from_str::<EmProfile>("winkms = 1").is_err());
    let same = EmProfile { onhook_bits: Abcd::new(0b1101), ..EmProfile::default() };
    assert_eq!(same.validate(), Err(EmProfileError::SameABit));
    assert_eq!(parse_abcd("1101"), Ok(OFF));
}

fn any_cas() -> BoxedStrategy<LineEvent> {
    prop_oneof![
        4 => prop::sample::select(vec![ON, OFF]).prop_map(LineEvent::Cas),
        1 => (0u8..16).prop_map(|b| LineEvent::Cas(Abcd::new(b))),
        1 => Just(LineEvent::HdlcError),
    ]
    .boxed()
}

fn em_ops() -> impl Strategy<Value = Vec<crate::signalling::analog::tests::Op>> {
    use crate::signalling::analog::tests::{any_op, Op};
    // Map the analog harness' channel range 0..4 onto timeslots (0 and 3 stay invalid).
    prop::collection::vec(any_op(any_cas()), 0..60).prop_map(|ops| {
        ops.into_iter()
            .map(|op| match op {
                Op::Line(c, e) => Op::Line(c * 8 + 1, e),
                Op::Dtmf(c, d) => Op::Dtmf(c * 8 + 1, d),
                Op::DigitsSent(c) => Op::DigitsSent(c * 8 + 1),
                Op::Cmd(c, cmd) => Op::Cmd(c * 8 + 1, cmd),
                other => other,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn em_survives_random_input(ops in em_ops(), wink in any::<bool>(), hold in any::<bool>()) {
        let p = EmProfile {
            start: if wink { Start::Wink } else { Start::Immediate },
            glare: if hold { Glare::Hold } else { Glare::Yield },
            ..EmProfile::default()
        };
        // Timeslots 1, 9, 17 (17 is not in the span: ignored), 25.
        let span = EmSpan::new(p, &[1, 9, 25]);
        crate::signalling::analog::tests::check_lifecycle(span, &[1, 9, 25], ops, &[LineEvent::Cas(ON)])?;
    }
}
