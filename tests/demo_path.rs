//! The whole demo path in virtual time: simulated far ends place calls over the real
//! signalling stacks (E&M on the E1, loop start on FXO and FXS); the IVR answers, plays,
//! collects, records and clears. Assertions are about what the caller heard and what
//! was recorded, decoded from the WAV files.
#![allow(clippy::disallowed_methods)] // one test paces virtual time for plugins answering in real time

mod common;

use common::*;
use std::time::Duration;
use trunkd::config::Config;
use trunkd::core::event::{CoreEvent, EventKind};
use trunkd::dsp::g711::Law;
use trunkd::gateway::Gateway;
use trunkd::signalling::Cause;
use trunkd::time::Instant;

struct Run {
    near: Vec<CoreEvent>,
    far: Vec<CoreEvent>,
    dir: tempfile::TempDir,
    idle: bool,
}

fn run_demo(edit: impl FnOnce(&mut Config)) -> Run {
    run_demo_paced(edit, Duration::ZERO)
}

/// `pace`: real time to let pass per 20 ms step (routing plugins answer from another
/// process, in real time).
fn run_demo_paced(edit: impl FnOnce(&mut Config), pace: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = trunkd::demo::config(dir.path()).unwrap();
    for c in &mut cfg.sim.callers {
        c.count = 1;
        c.every_ms = None;
    }
    edit(&mut cfg);
    let mut gw = Gateway::build(&cfg).unwrap();
    let (mut near, mut far) = (Vec::new(), Vec::new());
    let mut now = Instant::ZERO;
    let mut idle = false;
    // Up to 90 s of virtual time; stop once every caller has been and gone.
    for _ in 0..4500 {
        now += Duration::from_millis(20);
        gw.step(now);
        near.extend(gw.engine.drain_events());
        if !pace.is_zero() {
            std::thread::sleep(pace);
        }
        let f = gw.far.as_mut().unwrap();
        far.extend(f.drain_events());
        if now > Instant::from_millis(15_000) && f.callers_done() && gw.engine.is_idle() && f.engine.is_idle() {
            idle = true;
            break;
        }
    }
    gw.engine.finish();
    gw.far.as_mut().unwrap().engine.finish();
    near.extend(gw.engine.drain_events());
    far.extend(gw.far.as_mut().unwrap().drain_events());
    if std::env::var_os("TRUNKD_TEST_TRACE").is_some() {
        for e in &near {
            eprintln!("{e}");
        }
        for e in &far {
            eprintln!("{e}  [far]");
        }
    }
    Run { near, far, dir, idle }
}

fn calls_on(evs: &[CoreEvent], device_prefix: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = evs
        .iter()
        .filter(|e| e.device.starts_with(device_prefix) && matches!(e.kind, EventKind::Offered { .. }))
        .filter_map(|e| e.call)
        .collect();
    ids.dedup();
    ids
}

fn of_call(evs: &[CoreEvent], id: u64) -> Vec<&EventKind> {
    evs.iter().filter(|e| e.call == Some(id)).map(|e| &e.kind).collect()
}

fn ended(evs: &[CoreEvent], id: u64) -> Option<(Cause, Option<Duration>)> {
    evs.iter().find_map(|e| match (&e.kind, e.call == Some(id)) {
        (EventKind::Ended { cause, talk, .. }, true) => Some((*cause, *talk)),
        _ => None,
    })
}

fn recordings(evs: &[CoreEvent], id: u64) -> Vec<std::path::PathBuf> {
    evs.iter()
        .filter(|e| e.call == Some(id))
        .filter_map(|e| match &e.kind {
            EventKind::RecordingFinished { path, error: None, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

fn welcome(run: &Run) -> Vec<i16> {
    let p = run.dir.path().join("prompts/en/welcome.wav");
    trunkd::core::media::prompt::load_wav(&p).unwrap()
}

#[test]
fn e1_caller_hears_the_prompt_and_is_recorded() {
    let run = run_demo(|_| {});
    assert!(run.idle, "every call cleared and every channel released");
    let e1 = calls_on(&run.near, "e1-1/");
    let inbound: Vec<u64> = e1
        .iter()
        .copied()
        .filter(|id| {
            of_call(&run.near, *id).iter().any(|k| matches!(k, EventKind::Offered { called, .. } if called == "8001"))
        })
        .collect();
    assert_eq!(inbound.len(), 1, "one carrier call into the IVR: {:?}", run.near);
    let id = inbound[0];
    let kinds = of_call(&run.near, id);
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Answered)));
    assert!(
        kinds.iter().any(|k| matches!(k, EventKind::Collected { digits, timed_out: false } if digits == "123456")),
        "{kinds:?}"
    );
    let (cause, talk) = ended(&run.near, id).expect("call ended");
    assert_eq!(cause, Cause::NormalClearing);
    assert!(talk.unwrap() > Duration::from_secs(10));

    // What the caller heard: the far end's own recording of its line holds the welcome
    // prompt sample for sample (after one A-law round trip on the wire).
    let prompt = welcome(&run);
    let over_the_wire: Vec<i16> = prompt.iter().map(|s| Law::Alaw.decode(Law::Alaw.encode(*s))).collect();
    let heard = run.dir.path().join("sim/recordings/heard-1.wav");
    let (_, far_chans) = read_wav(&heard);
    assert!(find_exact(&far_chans[0], &over_the_wire).is_some(), "caller heard the welcome prompt");

    // Our call recording: left = the caller (digits in it), right = what we played.
    let recs = recordings(&run.near, id);
    let call_rec = recs.iter().find(|p| p.to_string_lossy().contains("/calls/")).expect("call recording");
    let (spec, chans) = read_wav(call_rec);
    assert_eq!((spec.channels, spec.sample_rate), (2, 8000));
    assert_eq!(dtmf_digits(&chans[0]), "123456#");
    assert!(find_exact(&chans[1], &prompt).is_some(), "prompt in the gateway channel of the recording");
    assert_eq!(dtmf_digits(&chans[1]), "", "no digits invented in what we sent");

    // The message after the beep: the caller's 440 Hz "voice", stopped by silence.
    let msg = recs.iter().find(|p| p.to_string_lossy().contains("/messages/")).expect("message recording");
    let (_, m) = read_wav(msg);
    let secs = m[0].len() as f32 / 8000.0;
    assert!((1.5..6.0).contains(&secs), "message length {secs}s");
    let best = m[0].chunks(8000).map(|c| tone_ratio(c, 440.0)).fold(0.0f32, f32::max);
    assert!(best > 0.8, "440 Hz dominates a second of the message ({best})");
}

#[test]
fn fxo_line_call_and_fxs_phone_bridged_out_on_e1() {
    let run = run_demo(|_| {});
    // The central office rang our FXO port; the IVR collected "42".
    let pstn = calls_on(&run.near, "pstn/");
    assert_eq!(pstn.len(), 1);
    assert!(of_call(&run.near, pstn[0])
        .iter()
        .any(|k| matches!(k, EventKind::Collected { digits, .. } if digits == "42")));
    assert!(ended(&run.near, pstn[0]).is_some());

    // The phone dialled 9 5551234 #: routed out on the E1 (access code stripped), bridged.
    let phones = calls_on(&run.near, "phones/");
    let out = phones
        .iter()
        .copied()
        .find(|id| {
            of_call(&run.near, *id)
                .iter()
                .any(|k| matches!(k, EventKind::Offered { called, .. } if called == "95551234"))
        })
        .expect("phone call offered");
    assert!(
        of_call(&run.near, out).iter().any(|k| matches!(k, EventKind::Bridged { .. })),
        "{:?}",
        of_call(&run.near, out)
    );
    // The carrier side saw the stripped number arrive on its E&M trunk.
    assert!(run.far.iter().any(|e| e.device.starts_with("e1-1/")
        && matches!(&e.kind, EventKind::Offered { called, .. } if called == "5551234")));
    // And the phone heard the far callee's beep through the bridge.
    let beep = trunkd::dsp::zone::builtin_zone("cn").unwrap().beep.freqs[0].0;
    let heard_by_phone = (1..=12)
        .map(|n| run.dir.path().join(format!("sim/recordings/heard-{n}.wav")))
        .filter(|p| p.exists())
        .any(|p| {
            let (_, c) = read_wav(&p);
            c[0].chunks(1600).any(|w| tone_ratio(w, beep) > 0.8)
        });
    assert!(heard_by_phone, "beep from the E1 far end crossed the bridge");

    // The number nobody has: rejected with its cause.
    let rejected = phones
        .iter()
        .copied()
        .find(|id| {
            of_call(&run.near, *id).iter().any(|k| matches!(k, EventKind::Offered { called, .. } if called == "123"))
        })
        .expect("second phone call");
    assert_eq!(ended(&run.near, rejected).unwrap().0, Cause::Unallocated);
}

#[test]
fn cable_cut_clears_calls_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = trunkd::demo::config(dir.path()).unwrap();
    cfg.sim.callers.retain(|c| c.via == "e1-1");
    cfg.sim.callers[0].count = 1;
    let mut gw = Gateway::build(&cfg).unwrap();
    let mut now = Instant::ZERO;
    let mut evs = Vec::new();
    let mut step = |gw: &mut Gateway, ms: u64, evs: &mut Vec<CoreEvent>| {
        for _ in 0..ms / 20 {
            now += Duration::from_millis(20);
            gw.step(now);
            evs.extend(gw.engine.drain_events());
        }
    };
    step(&mut gw, 4000, &mut evs);
    assert_eq!(gw.engine.active_calls(), 1, "call up before the cut");
    let e1 = cfg.spans.iter().position(|s| s.name == "e1-1").unwrap();
    gw.far.as_ref().unwrap().control.set_cable_cut(e1, true);
    step(&mut gw, 1000, &mut evs);
    assert_eq!(gw.engine.active_calls(), 0, "LOS cleared the call");
    assert!(!gw.engine.spans_up());
    assert!(evs.iter().any(|e| matches!(e.kind, EventKind::SpanAlarm { alarms } if alarms.is_down())));
    assert!(evs.iter().any(|e| matches!(e.kind, EventKind::Ended { cause: Cause::NetworkOutOfOrder, .. })), "{evs:?}");
    gw.far.as_ref().unwrap().control.set_cable_cut(e1, false);
    step(&mut gw, 1000, &mut evs);
    assert!(gw.engine.spans_up());
    // After recovery the span carries calls again.
    let id =
        gw.engine.originate("e1-1", "5550000", Default::default(), None).expect("channel available after recovery");
    step(&mut gw, 200, &mut evs);
    assert!(gw.engine.hangup(id, Cause::NormalClearing));
    gw.engine.finish();
}

#[test]
fn the_lua_menu_reads_a_balance_and_puts_a_caller_through_to_an_agent_phone() {
    let run = run_demo(|_| {});
    let menu: Vec<u64> = calls_on(&run.near, "e1-1/")
        .into_iter()
        .filter(|id| {
            of_call(&run.near, *id)
                .iter()
                .any(|k| matches!(k, EventKind::Routed { route } if route.contains("menu.lua")))
        })
        .collect();
    assert_eq!(menu.len(), 2, "{:?}", run.near);
    // The first: key 1, account 1234, the balance read out in yuan.
    let k = of_call(&run.near, menu[0]);
    assert!(k.iter().any(|k| matches!(k, EventKind::Collected { digits, .. } if digits == "1234")), "{k:?}");
    assert!(k.iter().any(|k| matches!(k, EventKind::Playing { what } if what.contains("en/say/yuan.wav"))), "{k:?}");
    assert!(k
        .iter()
        .any(|k| matches!(k, EventKind::VarSet { name, value } if name == "ivr_result" && value == "balance-read")));
    // The second: key 0, bridged to one of our FXS phones, which the far end answered.
    let k = of_call(&run.near, menu[1]);
    assert!(k.iter().any(|k| matches!(k, EventKind::Bridged { .. })), "{k:?}");
    assert!(run.near.iter().any(|e| e.device.starts_with("phones/") && matches!(e.kind, EventKind::Answered)));
    // Both scripts left a trail of IVR events for CTI.
    for id in menu {
        assert!(of_call(&run.near, id)
            .iter()
            .any(|k| matches!(k, EventKind::Custom { name, .. } if name == "ivr.progress")));
    }
}

#[test]
fn isdn_calls_cross_the_pri_span_both_ways() {
    let run = run_demo(|_| {});
    assert!(run.idle, "every call cleared and every channel released");
    // The carrier's ISDN call reached the Lua menu with its caller number (sent as a
    // national number, made dialable with the china profile's national prefix "0").
    let pri_in = calls_on(&run.near, "pri-1/");
    let menu = pri_in
        .iter()
        .copied()
        .find(|id| {
            of_call(&run.near, *id).iter().any(|k| {
                matches!(k, EventKind::Offered { called, caller, .. }
                    if called == "8002" && caller.number.reveal() == "013501234567")
            })
        })
        .expect("ISDN call offered to the menu");
    let kinds = of_call(&run.near, menu);
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Answered)));
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Collected { digits, .. } if digits == "1234")), "{kinds:?}");
    assert_eq!(ended(&run.near, menu).unwrap().0, Cause::NormalClearing);
    // A phone's national number went out over Q.931 and the carrier saw it offered.
    assert!(run.far.iter().any(|e| e.device.starts_with("pri-1/")
        && matches!(&e.kind, EventKind::Offered { called, .. } if called == "01088886666")));
    let out = calls_on(&run.near, "phones/")
        .into_iter()
        .find(|id| {
            of_call(&run.near, *id)
                .iter()
                .any(|k| matches!(k, EventKind::Offered { called, .. } if called == "01088886666"))
        })
        .expect("phone dialled the national number");
    assert!(of_call(&run.near, out).iter().any(|k| matches!(k, EventKind::Bridged { .. })));
}

#[test]
fn the_demo_routing_plugin_sends_7_calls_out_on_the_e1() {
    let run = run_demo_paced(|cfg| cfg.general.plugin_timeout_ms = 10_000, Duration::from_millis(1));
    assert!(run.idle, "every call cleared and every channel released");
    let seven = calls_on(&run.near, "phones/")
        .into_iter()
        .find(|id| {
            of_call(&run.near, *id)
                .iter()
                .any(|k| matches!(k, EventKind::Offered { called, .. } if called == "75550001"))
        })
        .expect("a phone dialled 7 + number");
    assert!(
        of_call(&run.near, seven)
            .iter()
            .any(|k| matches!(k, EventKind::Routed { route } if route == "plugin: dial e1-1")),
        "{:?}",
        of_call(&run.near, seven)
    );
    assert!(run.far.iter().any(|e| e.device.starts_with("e1-1/")
        && matches!(&e.kind, EventKind::Offered { called, .. } if called == "5550001")));
}
