//! Hot reload: a changed script is used for new calls, while a call in progress finishes
//! on the version it started with.

// Setting a file's time forward needs the wall clock.
#![allow(clippy::disallowed_methods)]
use std::time::{Duration, SystemTime};
use trunkd::backend::line::PathKind;
use trunkd::backend::sim::{self, SimSpanSpec};
use trunkd::backend::Backend;
use trunkd::config::{IvrConfig, RouteConfig};
use trunkd::core::apps::{CallerScript, CallerStep};
use trunkd::core::event::EventKind;
use trunkd::core::router::Router;
use trunkd::core::{Engine, GroupSetup, Routing};
use trunkd::dsp::g711::Law;
use trunkd::dsp::zone::builtin_zone;
use trunkd::ivr::host::ScriptHost;
use trunkd::signalling::analog::{AnalogLines, FxoProfile, FxsProfile};
use trunkd::time::Instant;

fn script(version: &str) -> String {
    format!("call:answer()\ncall:set('version', '{version}')\ncall:sleep(4000)\ncall:set('after_sleep', '{version}')\ncall:hangup()\n")
}

#[test]
fn new_calls_get_the_new_version_calls_in_progress_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.lua");
    std::fs::write(&path, script("1")).unwrap();
    let route: RouteConfig = toml::from_str("script = \"flow.lua\"").unwrap();
    let ivr = IvrConfig { scripts_dir: dir.path().into(), ..IvrConfig::default() };
    let zone = builtin_zone("cn").unwrap();
    let (nb, fb, _) =
        sim::pair(&[SimSpanSpec::Analog { name: "l".into(), law: Law::Alaw, near: PathKind::Fxs, ports: 2 }]);
    let mut near = Engine::new(
        vec![Box::new(nb) as Box<dyn Backend>],
        vec![GroupSetup {
            name: "l".into(),
            backend: 0,
            span: 0,
            sig: Box::new(AnalogLines::fxs(FxsProfile::default(), 2)),
            zone: zone.clone(),
        }],
        Routing::Table(Router::new(&[route]), Box::new(ScriptHost::new(&ivr))),
        dir.path().into(),
        dir.path().into(),
    );
    let mut far = Engine::new(
        vec![Box::new(fb) as Box<dyn Backend>],
        vec![GroupSetup {
            name: "l".into(),
            backend: 0,
            span: 0,
            sig: Box::new(AnalogLines::fxo(FxoProfile::default(), 2)),
            zone,
        }],
        Routing::App(Box::new(|| Box::new(trunkd::core::apps::Callee::new(Duration::from_secs(1))))),
        dir.path().join("far"),
        dir.path().into(),
    );
    let wait = || Some(Box::new(CallerScript::new(vec![CallerStep::Wait(Duration::from_secs(30))], None)) as _);
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    let mut run = |near: &mut Engine, far: &mut Engine, ms: u64| {
        for _ in 0..ms / 20 {
            now += Duration::from_millis(20);
            near.step(now);
            far.step(now);
            events.extend(near.drain_events());
        }
    };
    far.originate("l", "100#", Default::default(), wait()).unwrap();
    run(&mut near, &mut far, 3000);
    // Change the script while the first call sleeps in version 1.
    std::fs::write(&path, script("2")).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(5)).unwrap();
    far.originate("l", "101#", Default::default(), wait()).unwrap();
    run(&mut near, &mut far, 10_000);

    let vars: Vec<(u64, String, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::VarSet { name, value } => Some((e.call.unwrap(), name.clone(), value.clone())),
            _ => None,
        })
        .collect();
    let first = vars[0].0;
    let of = |call_is_first: bool, name: &str| {
        vars.iter().find(|(c, n, _)| (*c == first) == call_is_first && n == name).map(|(_, _, v)| v.clone())
    };
    assert_eq!(of(true, "version").as_deref(), Some("1"), "{vars:?}");
    assert_eq!(of(true, "after_sleep").as_deref(), Some("1"), "the call in progress kept version 1");
    assert_eq!(of(false, "version").as_deref(), Some("2"), "the new call got version 2");
    assert_eq!(of(false, "after_sleep").as_deref(), Some("2"));
}
