//! Behaviour tests for the analog stacks, in virtual time.

use super::testutil::{Side, Sim, Wire};
use super::*;
use crate::backend::line::{Alarms, HookCmd, HookEvent, LineCmd, LineEvent, Polarity};
use crate::dsp::callerid::{Absence, CallerIdMessage, CallerIdReport, CidDetect, CidFormat, CidTxConfig};
use crate::dsp::progress::ProgressTone;
use crate::signalling::{CallCommand, CallEvent, Cause, Party, Presentation, SigInput};
use proptest::prelude::*;

use HookEvent::{OffHook, OnHook};
use Side::{A, B};

fn originate(called: &str) -> CallCommand {
    CallCommand::Originate { called: called.into(), calling: Party::number("5550199") }
}

fn hangup() -> CallCommand {
    CallCommand::Hangup { cause: Cause::NormalClearing }
}

fn hook_tx(sim: &Sim, side: Side, chan: u16) -> Vec<(u64, LineCmd)> {
    sim.transmits(side, chan)
}

fn fxs_sim(p: FxsProfile) -> Sim {
    Sim::one(AnalogLines::fxs(p, 2))
}

/// Pulse-dials one digit with raw hook transitions (60 ms break, 40 ms make).
fn pulse(sim: &mut Sim, chan: u16, digit: u8) {
    let n = if digit == 0 { 10 } else { digit };
    for _ in 0..n {
        sim.hook(A, chan, OnHook);
        sim.run(60);
        sim.hook(A, chan, OffHook);
        sim.run(40);
    }
    sim.run(600);
}

#[test]
fn fxs_dial_tone_dtmf_and_incoming_with_own_number() {
    let p = FxsProfile { number: "5550100".into(), ..FxsProfile::default() };
    let mut sim = fxs_sim(p);
    sim.hook(A, 1, OffHook);
    assert_eq!(sim.tones(A, 1), vec![Some(ToneKind::Dial)]);
    assert_eq!(sim.state(A, 1), "dialtone");
    sim.dtmf(A, 1, "123#");
    sim.run(1000);
    assert_eq!(sim.tones(A, 1), vec![Some(ToneKind::Dial), None]);
    assert_eq!(sim.events(A, 1), vec![CallEvent::Incoming { called: "123".into(), calling: Party::number("5550100") }]);
    assert_eq!(sim.state(A, 1), "offered");
    assert!(sim.events(A, 0).is_empty());
}

#[test]
fn fxs_digits_complete_on_max_digits_and_timeout() {
    let mut sim = fxs_sim(FxsProfile { max_digits: 2, ..FxsProfile::default() });
    sim.hook(A, 0, OffHook);
    sim.dtmf(A, 0, "456");
    sim.run(1000);
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("45"));

    let mut sim = fxs_sim(FxsProfile::default());
    sim.hook(A, 0, OffHook);
    sim.dtmf(A, 0, "77");
    sim.run(3_000);
    assert_eq!(sim.incoming_number(A, 0), None, "inter-digit timeout not reached yet");
    sim.run(2_000);
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("77"));
    // No own number configured: the calling party is empty.
    assert!(matches!(
        &sim.events(A, 0)[0],
        CallEvent::Incoming { calling, .. } if calling.number.is_empty()
    ));
}

#[test]
fn fxs_decodes_pulse_dialled_305() {
    let mut sim = fxs_sim(FxsProfile { max_digits: 3, ..FxsProfile::default() });
    sim.hook(A, 0, OffHook);
    sim.run(500);
    for d in [3, 0, 5] {
        pulse(&mut sim, 0, d);
    }
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("305"));
    assert_eq!(sim.tones(A, 0), vec![Some(ToneKind::Dial), None]);
    assert_eq!(sim.state(A, 0), "offered");
}

#[test]
fn fxs_backend_decoded_pulse_digits_and_flash() {
    let mut sim = fxs_sim(FxsProfile { max_digits: 2, ..FxsProfile::default() });
    sim.hook(A, 0, OffHook);
    sim.hook(A, 0, HookEvent::PulseDigit(10));
    sim.hook(A, 0, HookEvent::PulseDigit(4));
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("04"));
    sim.hook(A, 0, HookEvent::Flash);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Flash));
}

#[test]
fn fxs_first_digit_timeout_gives_congestion_until_on_hook() {
    let mut sim = fxs_sim(FxsProfile::default());
    sim.hook(A, 0, OffHook);
    sim.run(9_990);
    assert_eq!(sim.state(A, 0), "dialtone");
    sim.run(20);
    assert_eq!(sim.state(A, 0), "lockout");
    assert_eq!(sim.tones(A, 0), vec![Some(ToneKind::Dial), Some(ToneKind::Congestion)]);
    sim.dtmf(A, 0, "1#");
    sim.run(1_000);
    assert!(sim.events(A, 0).is_empty(), "digits after lockout are ignored");
    sim.hook(A, 0, OnHook);
    sim.run(1_000);
    assert_eq!(sim.state(A, 0), "idle");
    assert_eq!(sim.tones(A, 0).last(), Some(&None));
    assert!(sim.events(A, 0).is_empty());
}

#[test]
fn fxs_hotline_offers_at_once() {
    let mut sim = fxs_sim(FxsProfile { immediate: true, ..FxsProfile::default() });
    sim.hook(A, 0, OffHook);
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some(""));
    assert!(sim.tones(A, 0).is_empty());
}

/// A phone-originated call on line 0, answered by the core.
fn connected_fxs(p: FxsProfile) -> Sim {
    let mut sim = fxs_sim(FxsProfile { immediate: true, ..p });
    sim.hook(A, 0, OffHook);
    sim.cmd(A, 0, CallCommand::Answer);
    assert_eq!(sim.state(A, 0), "connected");
    sim
}

#[test]
fn fxs_flash_bounce_and_hangup_by_break_length() {
    let mut sim = connected_fxs(FxsProfile::default());
    // 400 ms break: a flash.
    sim.hook(A, 0, OnHook);
    sim.run(400);
    sim.hook(A, 0, OffHook);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Flash));
    // 50 ms break: a bounce.
    let n = sim.events(A, 0).len();
    sim.hook(A, 0, OnHook);
    sim.run(50);
    sim.hook(A, 0, OffHook);
    sim.run(1_000);
    assert_eq!(sim.events(A, 0).len(), n);
    // A break past flash_max: hang-up, reported when flash_max is reached.
    sim.hook(A, 0, OnHook);
    let t = sim.ms();
    sim.run(2_000);
    let (at, ev) = sim.event_times(A, 0).last().cloned().unwrap();
    assert_eq!(ev, CallEvent::Hangup { cause: Cause::NormalClearing });
    assert_eq!(at, t + 800);
    assert_eq!(sim.state(A, 0), "clearing");
    sim.cmd(A, 0, hangup());
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(sim.state(A, 0), "idle");
}

#[test]
fn fxs_rings_with_cadence_and_answer_in_pause() {
    let p = FxsProfile { ring_cadence: vec![1_000, 500, 1_000, 2_000], ..FxsProfile::default() };
    let mut sim = fxs_sim(p);
    sim.cmd(A, 0, originate("100"));
    assert_eq!(sim.events(A, 0), vec![CallEvent::Alerting]);
    sim.run(3_000);
    let ring = LineCmd::Hook(HookCmd::Ring);
    let off = LineCmd::Hook(HookCmd::RingOff);
    assert_eq!(
        hook_tx(&sim, A, 0),
        vec![(0, ring.clone()), (1_000, off.clone()), (1_500, ring.clone()), (2_500, off.clone())]
    );
    assert_eq!(sim.state(A, 0), "ringing");
    sim.hook(A, 0, OffHook);
    assert_eq!(hook_tx(&sim, A, 0).last(), Some(&(3_000, off)));
    assert_eq!(sim.events(A, 0), vec![CallEvent::Alerting, CallEvent::Answered]);
    sim.run(5_000);
    assert_eq!(hook_tx(&sim, A, 0).len(), 5, "no more ringing after the answer");
}

#[test]
fn fxs_core_hangup_while_ringing() {
    let mut sim = fxs_sim(FxsProfile::default());
    sim.cmd(A, 0, originate("100"));
    sim.run(500);
    sim.cmd(A, 0, hangup());
    assert_eq!(hook_tx(&sim, A, 0).last(), Some(&(500, LineCmd::Hook(HookCmd::RingOff))));
    assert_eq!(sim.events(A, 0), vec![CallEvent::Alerting, CallEvent::Released]);
    assert_eq!(sim.state(A, 0), "idle");
    assert_eq!(sim.poll_timeout(A), None);
}

#[test]
fn fxs_remote_hangup_open_loop_then_busy_until_on_hook() {
    let mut sim = connected_fxs(FxsProfile::default());
    sim.run(1_000);
    sim.cmd(A, 0, hangup());
    assert_eq!(hook_tx(&sim, A, 0), vec![(1_000, LineCmd::Hook(HookCmd::OnHook))]);
    sim.run(1_000);
    assert_eq!(
        hook_tx(&sim, A, 0),
        vec![(1_000, LineCmd::Hook(HookCmd::OnHook)), (1_800, LineCmd::Hook(HookCmd::OffHook))]
    );
    assert_eq!(sim.tones(A, 0).last(), Some(&Some(ToneKind::Busy)));
    sim.run(20_000);
    assert!(!sim.events(A, 0).contains(&CallEvent::Released), "phone still off-hook");
    assert_eq!(sim.state(A, 0), "clearing");
    sim.hook(A, 0, OnHook);
    sim.run(1_000);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(sim.tones(A, 0).last(), Some(&None));
    assert_eq!(sim.state(A, 0), "idle");
}

#[test]
fn fxs_polarity_disconnect_and_answer_polarity() {
    let p = FxsProfile {
        answer_polarity: true,
        disconnect: Disconnect::Polarity,
        clear_tone: ClearTone::Congestion,
        ..FxsProfile::default()
    };
    let mut sim = connected_fxs(p);
    assert_eq!(hook_tx(&sim, A, 0), vec![(0, LineCmd::Polarity(Polarity::Reversed))]);
    sim.cmd(A, 0, hangup());
    // Disconnect = a reversal back to normal; clearing tone at once.
    assert_eq!(hook_tx(&sim, A, 0).last(), Some(&(0, LineCmd::Polarity(Polarity::Normal))));
    assert_eq!(sim.tones(A, 0).last(), Some(&Some(ToneKind::Congestion)));
    sim.hook(A, 0, OnHook);
    sim.run(1_000);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(hook_tx(&sim, A, 0).len(), 2);
}

#[test]
fn fxs_answer_polarity_restored_when_phone_hangs_up() {
    let mut sim = connected_fxs(FxsProfile { answer_polarity: true, ..FxsProfile::default() });
    sim.hook(A, 0, OnHook);
    sim.run(1_000);
    assert_eq!(
        hook_tx(&sim, A, 0),
        vec![(0, LineCmd::Polarity(Polarity::Reversed)), (800, LineCmd::Polarity(Polarity::Normal))]
    );
    // Core hangs up second.
    sim.cmd(A, 0, hangup());
    assert_eq!(sim.events(A, 0)[2..], [CallEvent::Hangup { cause: Cause::NormalClearing }, CallEvent::Released]);
}

#[test]
fn fxs_originate_to_off_hook_phone_is_user_busy() {
    let mut sim = fxs_sim(FxsProfile::default());
    sim.hook(A, 0, OffHook);
    sim.cmd(A, 0, originate("100"));
    assert_eq!(sim.events(A, 0), vec![CallEvent::Hangup { cause: Cause::UserBusy }, CallEvent::Released]);
    assert!(hook_tx(&sim, A, 0).is_empty(), "the phone is not rung");
    assert_eq!(sim.state(A, 0), "dialtone");
}

#[test]
fn out_of_range_channels_are_ignored() {
    for mut sim in [fxs_sim(FxsProfile::default()), Sim::one(AnalogLines::fxo(FxoProfile::default(), 2))] {
        sim.hook(A, 7, OffHook);
        sim.hook(A, 7, HookEvent::RingBegin);
        sim.cmd(A, 2, originate("1"));
        sim.input(A, SigInput::DigitsSent { chan: 9 });
        sim.input(A, SigInput::Dtmf { chan: u16::MAX, digit: '1' });
        sim.run(10_000);
        assert!(sim.log[0].is_empty());
        assert_eq!(sim.state(A, 7), "unknown");
    }
}

#[test]
fn fxs_alarm_cuts_calls_and_blocks_lines() {
    let mut sim = connected_fxs(FxsProfile::default());
    sim.cmd(A, 1, originate("1"));
    sim.input(A, SigInput::Alarm(Alarms(Alarms::RED)));
    let cut = CallEvent::Hangup { cause: Cause::DestinationOutOfOrder };
    assert_eq!(sim.events(A, 0).last(), Some(&cut));
    assert_eq!(sim.events(A, 1).last(), Some(&cut));
    assert_eq!(hook_tx(&sim, A, 1).last().map(|t| &t.1), Some(&LineCmd::Hook(HookCmd::RingOff)));
    assert_eq!((sim.state(A, 0), sim.state(A, 1)), ("blocked", "blocked"));
    sim.cmd(A, 0, hangup());
    sim.cmd(A, 1, hangup());
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(sim.events(A, 1).last(), Some(&CallEvent::Released));
    sim.cmd(A, 1, originate("1"));
    assert_eq!(sim.events(A, 1)[3..], [CallEvent::Hangup { cause: Cause::DestinationOutOfOrder }, CallEvent::Released]);
    // A yellow alarm alone does not take the span down; clearing does bring lines back.
    sim.input(A, SigInput::Alarm(Alarms(Alarms::YELLOW)));
    assert_eq!(sim.state(A, 1), "idle");
    // Line 0's phone is still off-hook: a new (hotline) call starts.
    assert_eq!(sim.state(A, 0), "offered");
    assert!(matches!(sim.events(A, 0).last(), Some(CallEvent::Incoming { .. })));
}

// ---- FXS <-> FXO back to back -------------------------------------------------------

fn pair(fxs: FxsProfile, fxo: FxoProfile) -> Sim {
    Sim::two(AnalogLines::fxs(fxs, 1), AnalogLines::fxo(fxo, 1), Wire::Analog)
}

#[test]
fn e2e_fxs_rings_fxo_which_answers_then_fxs_side_clears() {
    let mut sim =
        pair(FxsProfile::default(), FxoProfile { answer_after_rings: 2, did: "200".into(), ..FxoProfile::default() });
    sim.cmd(A, 0, originate("200"));
    sim.run(2_100);
    assert_eq!(sim.state(B, 0), "ringing");
    assert!(sim.events(B, 0).is_empty(), "one ring only");
    sim.run(6_000);
    assert_eq!(
        sim.event_times(B, 0),
        vec![(8_000, CallEvent::Incoming { called: "200".into(), calling: Party::default() })]
    );
    sim.run(500);
    sim.cmd(B, 0, CallCommand::Answer);
    sim.run(100);
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Answered));
    assert_eq!(sim.events(A, 0), vec![CallEvent::Alerting, CallEvent::Answered]);
    assert_eq!((sim.state(A, 0), sim.state(B, 0)), ("connected", "connected"));

    // The FXS side's core clears: open loop -> FXO battery loss -> FXO Hangup.
    sim.run(5_000);
    let t0 = sim.ms();
    sim.cmd(A, 0, hangup());
    sim.run(500);
    let (t, ev) = sim.event_times(B, 0).last().cloned().unwrap();
    assert_eq!(ev, CallEvent::Hangup { cause: Cause::NormalClearing });
    assert_eq!(t, t0 + 300, "battery_loss_min_ms debounce");
    sim.cmd(B, 0, hangup());
    let t1 = sim.ms();
    sim.run(2_000);
    assert_eq!(sim.event_times(B, 0).last(), Some(&(t1 + 1_000, CallEvent::Released)));
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!((sim.state(A, 0), sim.state(B, 0)), ("idle", "idle"));
}

#[test]
fn e2e_fxo_dials_dtmf_to_fxs() {
    let mut sim = pair(FxsProfile { max_digits: 3, ..FxsProfile::default() }, FxoProfile::default());
    sim.cmd(B, 0, originate("305"));
    sim.run(100);
    assert_eq!(sim.tones(A, 0), vec![Some(ToneKind::Dial)]);
    sim.run(2_000);
    assert_eq!(sim.sent_digits(B, 0), vec!["305".to_string()]);
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("305"));
    assert_eq!(sim.events(B, 0), vec![CallEvent::Proceeding, CallEvent::Answered]);
    // Far (FXS core) rejects: open loop -> FXO clears.
    sim.cmd(A, 0, hangup());
    sim.run(500);
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));
    sim.cmd(B, 0, hangup());
    sim.run(2_000);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Released));
}

#[test]
fn e2e_fxo_pulse_dials_to_fxs() {
    let mut sim = pair(FxsProfile::default(), FxoProfile { dial_mode: DialMode::Pulse, ..FxoProfile::default() });
    sim.cmd(B, 0, originate("3*05"));
    sim.run(4_000);
    assert_eq!(sim.events(B, 0), vec![], "still pulsing");
    sim.run(2_000);
    assert_eq!(sim.events(B, 0), vec![CallEvent::Proceeding, CallEvent::Answered]);
    assert!(sim.sent_digits(B, 0).is_empty());
    // 3 + 10 + 5 pulses, each a break and a make, after the seizure.
    assert_eq!(sim.transmits(B, 0).len(), 1 + 2 * 18);
    sim.run(5_000);
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("305"));
}

/// An FXO that does not wait for caller ID after the first ring.
fn fxo_no_cid() -> FxoProfile {
    FxoProfile { caller_id: CidListen::OFF, ..FxoProfile::default() }
}

#[test]
fn e2e_caller_abandons_before_answer() {
    let mut sim = pair(FxsProfile::default(), fxo_no_cid());
    sim.cmd(A, 0, originate("1"));
    sim.run(3_000);
    assert!(matches!(sim.events(B, 0).as_slice(), [CallEvent::Incoming { .. }]));
    sim.cmd(A, 0, hangup());
    let t = sim.ms();
    sim.run(10_000);
    assert_eq!(sim.event_times(B, 0).last(), Some(&(t + 8_000, CallEvent::Hangup { cause: Cause::NormalClearing })));
    sim.cmd(B, 0, hangup());
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Released));
    assert!(sim.transmits(B, 0).is_empty(), "FXO never seized");
    assert_eq!(sim.state(B, 0), "idle");
}

#[test]
fn e2e_glare_fxo_originate_while_ringing() {
    let mut sim = pair(FxsProfile::default(), FxoProfile { answer_after_rings: 3, ..FxoProfile::default() });
    sim.cmd(A, 0, originate("1"));
    sim.run(500);
    sim.cmd(B, 0, originate("999"));
    assert_eq!(
        sim.events(B, 0),
        vec![CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable }, CallEvent::Released]
    );
    assert!(sim.transmits(B, 0).is_empty());
    assert_eq!(sim.state(B, 0), "ringing");
}

#[test]
fn e2e_fxo_core_rejects_offered_call_without_seizing() {
    let mut sim = pair(FxsProfile::default(), fxo_no_cid());
    sim.cmd(A, 0, originate("1"));
    sim.run(2_500);
    sim.cmd(B, 0, hangup());
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Released));
    sim.run(12_000);
    assert_eq!(sim.events(B, 0).len(), 2, "later ring bursts are not a new call");
    sim.cmd(A, 0, hangup());
    sim.run(9_000);
    assert_eq!(sim.state(B, 0), "idle");
    assert!(sim.transmits(B, 0).is_empty());
}

#[test]
fn e2e_polarity_answer_and_disconnect_supervision() {
    let fxs =
        FxsProfile { answer_polarity: true, disconnect: Disconnect::Polarity, max_digits: 2, ..FxsProfile::default() };
    let fxo = FxoProfile { answer_on_polarity: true, hangup_on_polarity: true, ..FxoProfile::default() };
    let mut sim = pair(fxs, fxo);
    sim.cmd(B, 0, originate("42"));
    sim.run(2_000);
    assert_eq!(sim.incoming_number(A, 0).as_deref(), Some("42"));
    assert_eq!(sim.events(B, 0), vec![CallEvent::Proceeding]);
    assert_eq!(sim.state(B, 0), "proceeding");
    sim.cmd(A, 0, CallCommand::Answer);
    sim.run(10);
    assert_eq!(sim.events(B, 0), vec![CallEvent::Proceeding, CallEvent::Answered]);
    sim.run(1_000);
    sim.cmd(A, 0, hangup());
    sim.run(10);
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));
}

#[test]
fn fxo_battery_loss_is_debounced() {
    let mut sim = Sim::one(AnalogLines::fxo(FxoProfile::default(), 1));
    sim.cmd(A, 0, originate(""));
    assert_eq!(sim.events(A, 0), vec![], "dial delay");
    sim.run(1_000);
    assert_eq!(sim.events(A, 0), vec![CallEvent::Proceeding, CallEvent::Answered]);
    sim.hook(A, 0, HookEvent::BatteryLoss);
    sim.run(200);
    sim.hook(A, 0, HookEvent::BatteryRestored);
    sim.run(2_000);
    assert_eq!(sim.state(A, 0), "connected");
    // Polarity reversals do not clear without hangup_on_polarity.
    sim.hook(A, 0, HookEvent::PolarityReversal);
    assert_eq!(sim.state(A, 0), "connected");
    sim.hook(A, 0, HookEvent::BatteryLoss);
    sim.run(300);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));
    sim.cmd(A, 0, hangup());
    assert_eq!(sim.transmits(A, 0).last().map(|t| &t.1), Some(&LineCmd::Hook(HookCmd::OnHook)));
    assert_eq!(sim.state(A, 0), "guard");
    sim.cmd(A, 0, originate("1"));
    assert_eq!(
        sim.events(A, 0)[3..],
        [CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable }, CallEvent::Released]
    );
    sim.run(1_000);
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(sim.state(A, 0), "idle");
}

#[test]
fn fxo_alarm_cuts_call() {
    let mut sim = Sim::one(AnalogLines::fxo(FxoProfile::default(), 1));
    sim.cmd(A, 0, originate(""));
    sim.run(1_000);
    sim.input(A, SigInput::Alarm(Alarms(Alarms::LOS)));
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Hangup { cause: Cause::NetworkOutOfOrder }));
    assert_eq!(sim.transmits(A, 0).last().map(|t| &t.1), Some(&LineCmd::Hook(HookCmd::OnHook)));
    assert_eq!(sim.state(A, 0), "blocked");
    sim.hook(A, 0, HookEvent::RingBegin);
    assert_eq!(sim.state(A, 0), "blocked");
    sim.input(A, SigInput::Alarm(Alarms::NONE));
    sim.cmd(A, 0, hangup());
    assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Released));
    assert_eq!(sim.state(A, 0), "idle");
}

// ---- robustness -------------------------------------------------------------------

#[derive(Clone, Debug)]
pub(crate) enum Op {
    Line(u16, LineEvent),
    Dtmf(u16, char),
    DigitsSent(u16),
    Cmd(u16, CallCommand),
    Alarm(bool),
    Wait(u16),
}

fn any_hook() -> impl Strategy<Value = HookEvent> {
    prop_oneof![
        Just(HookEvent::OffHook),
        Just(HookEvent::OnHook),
        Just(HookEvent::Flash),
        (0u8..=12).prop_map(HookEvent::PulseDigit),
        Just(HookEvent::RingBegin),
        Just(HookEvent::RingEnd),
        Just(HookEvent::BatteryLoss),
        Just(HookEvent::BatteryRestored),
        Just(HookEvent::PolarityReversal),
    ]
}

pub(crate) fn any_cmd() -> impl Strategy<Value = CallCommand> {
    prop_oneof![
        "[0-9#*]{0,4}".prop_map(|c| originate(&c)),
        Just(CallCommand::Proceeding),
        Just(CallCommand::Alerting),
        Just(CallCommand::Progress),
        Just(CallCommand::Answer),
        Just(hangup()),
    ]
}

pub(crate) fn any_op(line: BoxedStrategy<LineEvent>) -> impl Strategy<Value = Op> {
    let chan = 0u16..4;
    prop_oneof![
        3 => (chan.clone(), line).prop_map(|(c, e)| Op::Line(c, e)),
        1 => (chan.clone(), prop::sample::select(vec!['1', '5', '0', '#', '*'])).prop_map(|(c, d)| Op::Dtmf(c, d)),
        1 => chan.clone().prop_map(Op::DigitsSent),
        2 => (chan, any_cmd()).prop_map(|(c, cmd)| Op::Cmd(c, cmd)),
        1 => any::<bool>().prop_map(Op::Alarm),
        3 => (0u16..3_000).prop_map(Op::Wait),
    ]
}

/// Feeds `ops`, then makes the far side idle and the core hang up everywhere, and checks
/// that every `Incoming` was followed by `Released` and every channel ends idle.
pub(crate) fn check_lifecycle(
    core: impl SignallingCore + 'static,
    chans: &[u16],
    ops: Vec<Op>,
    far_idle: &[LineEvent],
) -> Result<(), TestCaseError> {
    let mut sim = Sim::one(core);
    for op in ops {
        match op {
            Op::Line(c, e) => sim.input(A, SigInput::Line { chan: c, event: e }),
            Op::Dtmf(c, d) => sim.input(A, SigInput::Dtmf { chan: c, digit: d }),
            Op::DigitsSent(c) => sim.input(A, SigInput::DigitsSent { chan: c }),
            Op::Cmd(c, cmd) => sim.cmd(A, c, cmd),
            Op::Alarm(down) => {
                let a = if down { Alarms(Alarms::RED) } else { Alarms::NONE };
                sim.input(A, SigInput::Alarm(a));
            }
            Op::Wait(ms) => sim.run(u64::from(ms)),
        }
    }
    sim.input(A, SigInput::Alarm(Alarms::NONE));
    for &c in chans {
        for e in far_idle {
            sim.input(A, SigInput::Line { chan: c, event: e.clone() });
        }
    }
    // Long enough for an offer that waited for caller ID (`caller_id_wait_ms`).
    sim.run(6_000);
    for &c in chans {
        sim.cmd(A, c, hangup());
    }
    sim.run(60_000);
    for &c in chans {
        let mut open = false;
        for e in sim.events(A, c) {
            match e {
                CallEvent::Incoming { .. } => {
                    prop_assert!(!open, "chan {c}: Incoming while a call is open");
                    open = true;
                }
                CallEvent::Released => open = false,
                _ => {}
            }
        }
        prop_assert!(!open, "chan {c}: Incoming never Released: {:?}", sim.events(A, c));
        prop_assert_eq!(sim.state(A, c), "idle", "chan {}", c);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fxs_survives_random_input(ops in prop::collection::vec(any_op(any_hook().prop_map(LineEvent::Hook).boxed()), 0..60)) {
        let p = FxsProfile { max_digits: 3, ..FxsProfile::default() };
        check_lifecycle(AnalogLines::fxs(p, 3), &[0, 1, 2], ops, &[LineEvent::Hook(OnHook)])?;
    }

    #[test]
    fn fxo_survives_random_input(ops in prop::collection::vec(any_op(any_hook().prop_map(LineEvent::Hook).boxed()), 0..60)) {
        let p = FxoProfile { dial_mode: DialMode::Pulse, answer_on_polarity: true, ..FxoProfile::default() };
        let idle = [LineEvent::Hook(HookEvent::RingEnd), LineEvent::Hook(HookEvent::BatteryRestored)];
        check_lifecycle(AnalogLines::fxo(p, 3), &[0, 1, 2], ops, &idle)?;
    }
}

// ---- caller ID and call progress (the DSP itself is tested in crate::dsp) -------------

fn cid_fxs(format: CidFormat, when: Option<CidWhen>) -> FxsProfile {
    FxsProfile {
        caller_id: Some(CidTxConfig { format, ..CidTxConfig::default() }),
        caller_id_when: when,
        ..FxsProfile::default()
    }
}

fn originate_from(calling: Party) -> CallCommand {
    CallCommand::Originate { called: "200".into(), calling }
}

fn incoming_calling(sim: &Sim, side: Side) -> Option<(u64, Party)> {
    sim.event_times(side, 0).into_iter().find_map(|(t, e)| match e {
        CallEvent::Incoming { calling, .. } => Some((t, calling)),
        _ => None,
    })
}

#[test]
fn caller_id_after_first_ring_reaches_the_offer() {
    let mut sim = pair(cid_fxs(CidFormat::Etsi, None), FxoProfile::default());
    assert_eq!(sim.listen(B, 0).caller_id, Some(CidDetect::Auto), "idle FXO listens");
    sim.cmd(A, 0, originate_from(Party::number("13912345678")));
    sim.run(10_000);
    // Default cadence 2 s on / 4 s off: sent in the first pause, 500 ms after the ring.
    let sent = sim.caller_ids_sent(A, 0);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 2_500);
    assert_eq!(sent[0].1.as_ref().and_then(|m| m.number.as_deref()), Some("13912345678"));
    // The FXO holds its offer until the message is in, not the 2nd ring.
    let (t, calling) = incoming_calling(&sim, B).expect("offered");
    assert_eq!(t, 2_500 + testutil::CID_MS);
    assert_eq!(calling, Party::number("13912345678"));
    assert_eq!(sim.listen(B, 0).caller_id, None, "no listening once offered");
}

#[test]
fn dtmf_caller_id_before_the_first_ring() {
    let mut sim = pair(cid_fxs(CidFormat::Dtmf, None), FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::number("5551234")));
    sim.run(100);
    assert_eq!(sim.caller_ids_sent(A, 0).first().map(|s| s.0), Some(0), "DTMF goes before the ring");
    assert!(hook_tx(&sim, A, 0).is_empty(), "no ringing while caller ID is sent");
    sim.run(6_000);
    let ring_at = hook_tx(&sim, A, 0).first().map(|(t, _)| *t);
    assert_eq!(ring_at, Some(testutil::CID_MS + 300), "first ring after the quiet time");
    // Offered at the end of the first ring: the number was already in.
    let (t, calling) = incoming_calling(&sim, B).expect("offered");
    assert_eq!(t, testutil::CID_MS + 300 + 2_000);
    assert_eq!(calling.number.reveal(), "5551234");
}

#[test]
fn polarity_alert_then_caller_id_then_ring() {
    let mut sim = pair(cid_fxs(CidFormat::Etsi, Some(CidWhen::Polarity)), FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::number("5551234")));
    sim.run(3_000);
    let tx: Vec<LineCmd> = hook_tx(&sim, A, 0).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        tx.get(..3),
        Some(
            &[LineCmd::Polarity(Polarity::Reversed), LineCmd::Polarity(Polarity::Normal), LineCmd::Hook(HookCmd::Ring)]
                [..]
        )
    );
    assert_eq!(sim.caller_ids_sent(A, 0).first().map(|s| s.0), Some(250));
}

#[test]
fn withheld_and_unknown_numbers_are_sent_as_reasons_for_absence() {
    let withheld = Party { number: "5551234".into(), presentation: Presentation::Restricted, ..Party::default() };
    let mut sim = pair(cid_fxs(CidFormat::Etsi, None), FxoProfile::default());
    sim.cmd(A, 0, originate_from(withheld));
    sim.run(4_000);
    let m = sim.caller_ids_sent(A, 0)[0].1.clone().unwrap();
    assert_eq!((m.number, m.number_absence), (None, Some(Absence::Private)), "the number itself never leaves");
    let (_, calling) = incoming_calling(&sim, B).unwrap();
    assert_eq!((calling.number.reveal().as_str(), calling.presentation), ("", Presentation::Restricted));

    let mut sim = pair(cid_fxs(CidFormat::Etsi, None), FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::default()));
    sim.run(4_000);
    let m = sim.caller_ids_sent(A, 0)[0].1.clone().unwrap();
    assert_eq!(m.number_absence, Some(Absence::Unavailable));
}

#[test]
fn no_caller_id_the_offer_goes_ahead_at_the_next_ring() {
    let mut sim = pair(FxsProfile::default(), FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::number("5551234")));
    sim.run(10_000);
    let (t, calling) = incoming_calling(&sim, B).unwrap();
    assert_eq!(t, 6_000, "second ring (2 s on, 4 s off) before caller_id_wait_ms");
    assert_eq!(calling, Party::default());
    // A shorter wait wins over the second ring.
    let fxo = FxoProfile { caller_id_wait_ms: 1_500, ..FxoProfile::default() };
    let mut sim = pair(FxsProfile::default(), fxo);
    sim.cmd(A, 0, originate_from(Party::number("5551234")));
    sim.run(10_000);
    assert_eq!(incoming_calling(&sim, B).map(|(t, _)| t), Some(3_500));
}

#[test]
fn phone_answering_during_caller_id_stops_it() {
    let mut sim = pair(cid_fxs(CidFormat::Dtmf, None), FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::number("5551234")));
    sim.run(200);
    sim.hook(A, 0, OffHook);
    sim.run(10);
    assert_eq!(sim.events(A, 0), vec![CallEvent::Alerting, CallEvent::Answered]);
    assert_eq!(sim.caller_ids_sent(A, 0).last().map(|s| s.1.is_none()), Some(true), "stopped");
    sim.run(3_000);
    assert!(!hook_tx(&sim, A, 0).iter().any(|(_, c)| *c == LineCmd::Hook(HookCmd::Ring)), "never rings after");
}

#[test]
fn call_progress_clears_outgoing_fxo_calls_with_the_tones_cause() {
    for (tone, cause) in [
        (ProgressTone::Busy, Cause::UserBusy),
        (ProgressTone::Congestion, Cause::NoCircuitAvailable),
        (ProgressTone::Sit, Cause::Unallocated),
    ] {
        let fxo = FxoProfile { answer_on_polarity: true, ..FxoProfile::default() };
        let mut sim = Sim::one(AnalogLines::fxo(fxo, 1));
        sim.cmd(A, 0, originate("42"));
        assert!(!sim.listen(A, 0).progress, "not while seizing");
        sim.run(2_000);
        assert_eq!(sim.state(A, 0), "proceeding");
        assert!(sim.listen(A, 0).progress);
        sim.input(A, SigInput::Progress { chan: 0, tone: ProgressTone::Ringback });
        sim.input(A, SigInput::Progress { chan: 0, tone: ProgressTone::Ringback });
        sim.input(A, SigInput::Progress { chan: 0, tone });
        assert_eq!(sim.events(A, 0), vec![CallEvent::Proceeding, CallEvent::Alerting, CallEvent::Hangup { cause }]);
        sim.cmd(A, 0, hangup());
        sim.run(2_000);
        assert_eq!(sim.state(A, 0), "idle");
    }
}

#[test]
fn busy_tone_in_a_call_is_the_far_end_hanging_up_unless_disabled() {
    // Without answer supervision the call is "connected" once dialled: busy before any
    // ringback means the called party was busy; after ringback, that it hung up.
    for (ringback, cause) in [(false, Cause::UserBusy), (true, Cause::NormalClearing)] {
        let mut sim = Sim::one(AnalogLines::fxo(FxoProfile::default(), 1));
        sim.cmd(A, 0, originate("42"));
        sim.run(2_000);
        assert_eq!(sim.state(A, 0), "connected");
        sim.input(A, SigInput::Progress { chan: 0, tone: ProgressTone::Dial });
        assert_eq!(sim.state(A, 0), "connected", "dial tone means nothing in a call");
        if ringback {
            sim.input(A, SigInput::Progress { chan: 0, tone: ProgressTone::Ringback });
        }
        sim.input(A, SigInput::Progress { chan: 0, tone: ProgressTone::Busy });
        assert_eq!(sim.events(A, 0).last(), Some(&CallEvent::Hangup { cause }));
    }
    // A call we answered: busy is the caller hanging up.
    let mut sim = pair(FxsProfile::default(), FxoProfile { caller_id: CidListen::OFF, ..FxoProfile::default() });
    sim.cmd(A, 0, originate("1"));
    sim.run(2_500);
    sim.cmd(B, 0, CallCommand::Answer);
    sim.run(100);
    assert!(sim.listen(B, 0).progress);
    sim.input(B, SigInput::Progress { chan: 0, tone: ProgressTone::Congestion });
    assert_eq!(sim.events(B, 0).last(), Some(&CallEvent::Hangup { cause: Cause::NormalClearing }));

    let mut sim = Sim::one(AnalogLines::fxo(FxoProfile { call_progress: false, ..FxoProfile::default() }, 1));
    sim.cmd(A, 0, originate("42"));
    sim.run(2_000);
    assert!(!sim.listen(A, 0).progress);
}

#[test]
fn caller_id_profiles_from_toml() {
    let p: FxsProfile =
        toml::from_str("caller_id = { format = \"dtmf\" }\ncaller_id_when = \"polarity\"").expect("fxs profile");
    assert_eq!(p.caller_id.map(|c| c.format), Some(CidFormat::Dtmf));
    assert_eq!(p.caller_id_when, Some(CidWhen::Polarity));
    let p: FxoProfile = toml::from_str("caller_id = \"off\"").expect("off");
    assert_eq!(p.caller_id.detect(), None);
    let p: FxoProfile = toml::from_str("caller_id = \"auto\"").expect("auto");
    assert_eq!(p.caller_id.detect(), Some(CidDetect::Auto));
    assert!(toml::from_str::<FxoProfile>("caller_id = \"morse\"").is_err());
}

#[test]
fn caller_id_heard_before_a_ring_that_never_comes_is_forgotten_and_a_newer_one_wins() {
    let fxo = FxoProfile::default();
    let mut sim = Sim::one(AnalogLines::fxo(fxo, 1));
    let report = |n: &str| SigInput::CallerId {
        chan: 0,
        report: CallerIdReport {
            format: CidFormat::Dtmf,
            message: CallerIdMessage { number: Some(n.into()), ..Default::default() },
            raw: Vec::new(),
            end_sample: 0,
        },
    };
    sim.input(A, report("111"));
    assert!(sim.listen(A, 0).caller_id.is_some(), "an idle line keeps listening");
    sim.run(5_000); // longer than caller_id_wait_ms: the caller gave up before ringing
    sim.input(A, report("222"));
    sim.run(1_000);
    sim.input(A, report("333"));
    sim.hook(A, 0, HookEvent::RingBegin);
    sim.run(1_000);
    sim.hook(A, 0, HookEvent::RingEnd);
    assert_eq!(incoming_calling(&sim, A).map(|(_, c)| c.number.reveal().clone()).as_deref(), Some("333"));
    // A caller ID, then an alarm: gone, and the line listens again afterwards.
    let mut sim = Sim::one(AnalogLines::fxo(FxoProfile::default(), 1));
    sim.input(A, report("444"));
    sim.input(A, SigInput::Alarm(Alarms(Alarms::RED)));
    sim.input(A, SigInput::Alarm(Alarms::NONE));
    sim.hook(A, 0, HookEvent::RingBegin);
    sim.run(1_000);
    sim.hook(A, 0, HookEvent::RingEnd);
    sim.run(5_000);
    assert_eq!(incoming_calling(&sim, A).map(|(_, c)| c.number.reveal().clone()).as_deref(), Some(""));
}

#[test]
fn caller_id_waits_for_a_pause_long_enough_and_never_plays_under_a_ring() {
    // UK double ring 400/200/400/2000 ms: not in the 200 ms gap, but in the 2 s pause.
    let fxs = FxsProfile { ring_cadence: vec![400, 200, 400, 2000], ..cid_fxs(CidFormat::Etsi, None) };
    let mut sim = pair(fxs, FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::number("13912345678")));
    sim.run(3_000);
    assert_eq!(sim.caller_ids_sent(A, 0).iter().map(|s| s.0).collect::<Vec<_>>(), vec![1_000 + 500]);
    // A cadence with no pause long enough: no caller ID at all rather than over a ring.
    let fxs = FxsProfile { ring_cadence: vec![400, 600], ..cid_fxs(CidFormat::Etsi, None) };
    let mut sim = pair(fxs, FxoProfile::default());
    sim.cmd(A, 0, originate_from(Party::number("13912345678")));
    sim.run(5_000);
    assert!(sim.caller_ids_sent(A, 0).is_empty());
}

#[test]
fn an_unconfirmed_spill_does_not_stop_the_phone_ringing() {
    // No wire and so no CallerIdSent: the phone still rings once the spill should be over.
    let mut sim = Sim::one(AnalogLines::fxs(cid_fxs(CidFormat::Dtmf, None), 1));
    sim.cmd(A, 0, originate_from(Party::number("5551234")));
    sim.run(6_000);
    let rings: Vec<u64> =
        hook_tx(&sim, A, 0).into_iter().filter(|(_, c)| *c == LineCmd::Hook(HookCmd::Ring)).map(|(t, _)| t).collect();
    assert!(!rings.is_empty() && rings[0] > 1_000 && rings[0] < 4_000, "{rings:?}");
}

#[test]
fn names_and_numbers_a_format_cannot_carry_are_cleaned_not_dropped() {
    let calling = Party { number: "+8613912345678".into(), name: Some("José Ñ".into()), ..Party::default() };
    let mut sim = pair(cid_fxs(CidFormat::Dtmf, None), FxoProfile::default());
    sim.cmd(A, 0, originate_from(calling));
    sim.run(100);
    let m = sim.caller_ids_sent(A, 0)[0].1.clone().unwrap();
    assert_eq!(m.number.as_deref(), Some("8613912345678"));
    assert_eq!(m.name.as_deref(), Some("Jos"));
}

#[test]
fn bad_caller_id_settings_are_refused_at_load() {
    for bad in [
        "caller_id = { format = \"etsi\", level_dbm0 = 40.0 }",
        "caller_id = { format = \"etsi\", level_dbm0 = nan }",
        "caller_id = { format = \"dtmf\", dtmf = { on_ms = 0 } }",
    ] {
        let p: Result<FxsProfile, _> = toml::from_str(bad);
        let refused = match p {
            Ok(p) => p.validate().is_err(),
            Err(_) => true,
        };
        assert!(refused, "{bad}");
    }
    let e = toml::from_str::<FxoProfile>("caller_id = \"etsy\"").unwrap_err().to_string();
    assert!(e.contains("etsi") && e.contains("off"), "{e}");
}

#[test]
fn caller_id_after_the_first_ring_is_kept_for_an_offer_several_rings_later() {
    // Offered at the end of the third burst (2 s on / 4 s off): 14 s after the spill.
    let fxo = FxoProfile { answer_after_rings: 3, ..FxoProfile::default() };
    let mut sim = pair(cid_fxs(CidFormat::Etsi, None), fxo);
    sim.cmd(A, 0, originate_from(Party::number("13912345678")));
    sim.run(20_000);
    let (t, calling) = incoming_calling(&sim, B).expect("offered");
    assert_eq!(t, 14_000);
    assert_eq!(calling.number.reveal(), "13912345678");
}
