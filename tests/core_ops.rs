//! Call-core operations seen by an application, over real loop-start stacks on the
//! simulated wire: prompts that cannot be played, digit collection timeouts, recording
//! terminators, bridges nobody answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use trunkd::backend::line::PathKind;
use trunkd::backend::sim::{self, SimSpanSpec};
use trunkd::backend::Backend;
use trunkd::core::app::{
    AppCmd, AppEvent, Application, CallInfo, CollectSpec, DialTarget, OpResult, PlayItem, RecordSpec,
};
use trunkd::core::apps::{CallerScript, CallerStep};
use trunkd::core::event::{CoreEvent, EventKind};
use trunkd::core::{Engine, GroupSetup, Routing};
use trunkd::dsp::g711::Law;
use trunkd::dsp::zone::builtin_zone;
use trunkd::signalling::analog::{AnalogLines, CidListen, FxoProfile};
use trunkd::signalling::Cause;
use trunkd::time::Instant;

type Log = Arc<Mutex<Vec<AppEvent>>>;

/// Issues a fixed list of commands and logs every event it gets.
struct Steps {
    cmds: Vec<AppCmd>,
    log: Log,
}

impl Application for Steps {
    fn name(&self) -> &str {
        "steps"
    }
    fn on_event(&mut self, ev: AppEvent, _: &CallInfo, out: &mut Vec<AppCmd>) {
        if ev == AppEvent::Start {
            out.append(&mut self.cmds);
        }
        self.log.lock().unwrap().push(ev);
    }
}

/// Rings forever, never answers.
struct NeverAnswer;

impl Application for NeverAnswer {
    fn name(&self) -> &str {
        "never"
    }
    fn on_event(&mut self, ev: AppEvent, _: &CallInfo, out: &mut Vec<AppCmd>) {
        if ev == AppEvent::Start {
            out.push(AppCmd::Ring);
            out.push(AppCmd::Sleep(Duration::from_secs(3600)));
        }
    }
}

struct Rig {
    near: Engine,
    far: Engine,
    now: Instant,
    events: Vec<CoreEvent>,
    far_events: Vec<CoreEvent>,
    _dir: tempfile::TempDir,
}

/// Near: an FXO line `pstn` (a CO rings us) and an FXS line `phones` whose phone never
/// answers; the app under test runs on every incoming call.
fn rig(cmds: Vec<AppCmd>, log: Log, caller: &[&str]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let specs = [
        SimSpanSpec::Analog { name: "pstn".into(), law: Law::Alaw, near: PathKind::Fxo, ports: 1 },
        SimSpanSpec::Analog { name: "phones".into(), law: Law::Alaw, near: PathKind::Fxs, ports: 1 },
    ];
    let (nb, fb, _) = sim::pair(&specs);
    let zone = builtin_zone("cn").unwrap();
    let fxs = trunkd::signalling::analog::FxsProfile { ring_cadence: zone.ring_cadence.clone(), ..Default::default() };
    let near_groups = vec![
        GroupSetup {
            name: "pstn".into(),
            backend: 0,
            span: 0,
            // Offered at the first ring's end (these tests are not about caller ID).
            sig: Box::new(AnalogLines::fxo(FxoProfile { caller_id: CidListen::OFF, ..Default::default() }, 1)),
            zone: zone.clone(),
        },
        GroupSetup {
            name: "phones".into(),
            backend: 0,
            span: 1,
            sig: Box::new(AnalogLines::fxs(fxs.clone(), 1)),
            zone: zone.clone(),
        },
    ];
    let far_groups = vec![
        GroupSetup {
            name: "pstn".into(),
            backend: 0,
            span: 0,
            sig: Box::new(AnalogLines::fxs(fxs, 1)),
            zone: zone.clone(),
        },
        GroupSetup {
            name: "phones".into(),
            backend: 0,
            span: 1,
            // Offered at the first ring's end (these tests are not about caller ID).
            sig: Box::new(AnalogLines::fxo(FxoProfile { caller_id: CidListen::OFF, ..Default::default() }, 1)),
            zone,
        },
    ];
    let cmds = Mutex::new(Some(cmds));
    let near = Engine::new(
        vec![Box::new(nb) as Box<dyn Backend>],
        near_groups,
        Routing::App(Box::new(move || {
            Box::new(Steps { cmds: cmds.lock().unwrap().take().unwrap_or_default(), log: log.clone() })
        })),
        dir.path().into(),
        dir.path().join("prompts"),
    );
    let mut far = Engine::new(
        vec![Box::new(fb) as Box<dyn Backend>],
        far_groups,
        Routing::App(Box::new(|| Box::new(NeverAnswer))),
        dir.path().join("far"),
        dir.path().join("prompts"),
    );
    let steps = caller.iter().map(|s| CallerStep::parse(s).unwrap()).collect();
    far.originate("pstn", "", Default::default(), Some(Box::new(CallerScript::new(steps, None)))).unwrap();
    Rig { near, far, now: Instant::ZERO, events: Vec::new(), far_events: Vec::new(), _dir: dir }
}

impl Rig {
    fn run(&mut self, ms: u64) {
        for _ in 0..ms / 20 {
            self.now += Duration::from_millis(20);
            self.near.step(self.now);
            self.far.step(self.now);
            self.events.extend(self.near.drain_events());
            self.far_events.extend(self.far.drain_events());
        }
    }
}

fn done(log: &Log) -> Vec<OpResult> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            AppEvent::Done(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn collect(max: usize, first: u64, inter: u64) -> AppCmd {
    AppCmd::Collect(CollectSpec {
        max,
        terminators: "#".into(),
        first_timeout: Duration::from_millis(first),
        inter_timeout: Duration::from_millis(inter),
    })
}

#[test]
fn a_missing_or_unplayable_prompt_is_a_named_failure_not_a_crash() {
    let log = Log::default();
    let mut r = rig(
        vec![
            AppCmd::Answer,
            AppCmd::Play { items: vec![PlayItem::File("nope/missing.wav".into())], interrupt: String::new() },
            AppCmd::Play { items: vec![PlayItem::File("cd.wav".into())], interrupt: String::new() },
            AppCmd::Hangup(Cause::CallRejected),
        ],
        log.clone(),
        &["wait 60000"],
    );
    // A CD-quality file where a telephone prompt should be.
    std::fs::create_dir_all(r._dir.path().join("prompts")).unwrap();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(r._dir.path().join("prompts/cd.wav"), spec).unwrap();
    w.write_sample(0i16).unwrap();
    w.write_sample(0i16).unwrap();
    w.finalize().unwrap();
    r.run(3000);
    let results = done(&log);
    assert!(matches!(&results[0], OpResult::Failed(m) if m.contains("missing.wav")), "{results:?}");
    assert!(
        matches!(&results[1], OpResult::Failed(m) if m.contains("cd.wav") && m.contains("44100 Hz stereo")),
        "{results:?}"
    );
    let problems: Vec<&CoreEvent> = r.events.iter().filter(|e| matches!(e.kind, EventKind::Problem(_))).collect();
    assert_eq!(problems.len(), 2);
    assert!(r.events.iter().any(|e| matches!(e.kind, EventKind::Ended { cause: Cause::CallRejected, .. })));
    assert!(log.lock().unwrap().last() == Some(&AppEvent::Hangup(Cause::CallRejected)));
}

#[test]
fn collection_ends_on_first_digit_timeout_inter_digit_timeout_max_and_terminator() {
    let log = Log::default();
    let mut r = rig(
        vec![
            AppCmd::Answer,
            collect(5, 1500, 1000), // the caller says nothing: first-digit timeout
            collect(5, 3000, 1000), // "12", then silence: inter-digit timeout
            collect(3, 5000, 2000), // "456789": max 3
            AppCmd::Sleep(Duration::from_millis(800)),
            AppCmd::FlushDigits,    // "789" typed ahead are dropped
            collect(9, 5000, 2000), // "77#": terminator
            AppCmd::Hangup(Cause::NormalClearing),
        ],
        log.clone(),
        &["wait 2200", "dtmf 12", "wait 2000", "dtmf 456789", "wait 1500", "dtmf 77#", "wait 60000"],
    );
    r.run(20_000);
    let got: Vec<(String, Option<char>, bool)> = done(&log)
        .into_iter()
        .filter_map(|d| match d {
            OpResult::Collected { digits, terminator, timed_out } => Some((digits, terminator, timed_out)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("".into(), None, true),
            ("12".into(), None, true),
            ("456".into(), None, false),
            ("77".into(), Some('#'), false),
        ]
    );
}

#[test]
fn recording_stops_on_a_terminator_digit() {
    let log = Log::default();
    let mut r = rig(
        vec![
            AppCmd::Answer,
            AppCmd::Record(RecordSpec {
                path: "msg.wav".into(),
                limit: Duration::from_secs(30),
                silence_stop: None,
                beep: false,
                terminators: "#".into(),
            }),
            AppCmd::Hangup(Cause::NormalClearing),
        ],
        log.clone(),
        &["wait 500", "tone 500 2000", "dtmf #", "wait 60000"],
    );
    r.run(8000);
    let rec = done(&log).into_iter().find_map(|d| match d {
        OpResult::Recorded { duration, .. } => Some(duration),
        _ => None,
    });
    let d = rec.expect("recorded");
    assert!(d > Duration::from_millis(2000) && d < Duration::from_millis(3500), "{d:?}");
}

#[test]
fn a_bridge_nobody_answers_ends_with_no_answer_and_the_far_leg_is_released() {
    let log = Log::default();
    let mut r = rig(
        vec![
            AppCmd::Answer,
            AppCmd::Bridge(DialTarget {
                group: "phones".into(),
                number: String::new(),
                timeout: Duration::from_secs(4),
            }),
            AppCmd::Bridge(DialTarget {
                group: "nowhere".into(),
                number: String::new(),
                timeout: Duration::from_secs(4),
            }),
            AppCmd::Hangup(Cause::NormalClearing),
        ],
        log.clone(),
        &["wait 60000"],
    );
    r.run(10_000);
    let results = done(&log);
    assert_eq!(results[0], OpResult::BridgeEnded { cause: Cause::NoAnswer, connected: false }, "{results:?}");
    assert_eq!(results[1], OpResult::BridgeEnded { cause: Cause::NoRouteDestination, connected: false });
    // The phone rang (the far FXO saw ringing) and was released: nothing left on the near side.
    assert!(r
        .far_events
        .iter()
        .any(|e| e.device.starts_with("phones/") && matches!(e.kind, EventKind::Offered { .. })));
    assert_eq!(r.near.active_calls(), 0);
    r.run(3000);
    assert!(r.near.is_idle(), "every channel back to idle");
}
