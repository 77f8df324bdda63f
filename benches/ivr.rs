//! IVR capacity: many calls each running a Lua menu (play a prompt, collect digits, in a
//! loop), in virtual time, measuring the call core's tick with every script live; and
//! the memory one call's Lua state holds while it waits on the call.
//!
//! `cargo bench --bench ivr` prints criterion's figures and a summary line per size.

// A benchmark measures wall-clock time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_methods)]
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;
use std::time::{Duration, Instant as WallClock};
use trunkd::backend::line::PathKind;
use trunkd::backend::sim::{self, SimSpanSpec};
use trunkd::backend::Backend;
use trunkd::config::{IvrConfig, RouteConfig};
use trunkd::core::app::{AppEvent, Application, CallInfo};
use trunkd::core::apps::{CallerScript, CallerStep};
use trunkd::core::router::Router;
use trunkd::core::{Engine, GroupSetup, Routing};
use trunkd::dsp::g711::Law;
use trunkd::dsp::zone::builtin_zone;
use trunkd::ivr::host::ScriptHost;
use trunkd::ivr::lua::{Limits, LuaApp};
use trunkd::signalling::analog::{AnalogLines, FxoProfile, FxsProfile};
use trunkd::time::Instant;

const SCRIPT: &str = include_str!("ivr_menu.lua");

struct Rig {
    near: Engine,
    far: Engine,
    now: Instant,
}

fn rig(calls: u16) -> Rig {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let route: RouteConfig = toml::from_str("script = \"ivr_menu.lua\"").unwrap();
    let ivr = IvrConfig { scripts_dir: root.join("benches"), ..IvrConfig::default() };
    let zone = builtin_zone("cn").unwrap();
    let (nb, fb, _) =
        sim::pair(&[SimSpanSpec::Analog { name: "l".into(), law: Law::Alaw, near: PathKind::Fxs, ports: calls }]);
    let near = Engine::new(
        vec![Box::new(nb) as Box<dyn Backend>],
        vec![GroupSetup {
            name: "l".into(),
            backend: 0,
            span: 0,
            sig: Box::new(AnalogLines::fxs(FxsProfile::default(), calls as usize)),
            zone: zone.clone(),
        }],
        Routing::Table(Router::new(&[route]), Box::new(ScriptHost::new(&ivr))),
        std::env::temp_dir().join("trunkd-bench-ivr"),
        root.join("prompts"),
    );
    let mut far = Engine::new(
        vec![Box::new(fb) as Box<dyn Backend>],
        vec![GroupSetup {
            name: "l".into(),
            backend: 0,
            span: 0,
            sig: Box::new(AnalogLines::fxo(FxoProfile::default(), calls as usize)),
            zone,
        }],
        Routing::App(Box::new(|| Box::new(trunkd::core::apps::Callee::new(Duration::from_secs(1))))),
        std::env::temp_dir().join("trunkd-bench-ivr-far"),
        root.join("prompts"),
    );
    for _ in 0..calls {
        let caller = CallerScript::new(vec![CallerStep::Wait(Duration::from_secs(3600))], None);
        far.originate("l", "1000#", Default::default(), Some(Box::new(caller))).unwrap();
    }
    let mut r = Rig { near, far, now: Instant::ZERO };
    for _ in 0..400 {
        r.tick();
    }
    assert_eq!(r.near.active_calls(), calls as usize, "every call in the menu");
    r
}

impl Rig {
    fn tick(&mut self) -> Duration {
        self.now += Duration::from_millis(20);
        let t = WallClock::now();
        self.near.step(self.now);
        let d = t.elapsed();
        self.far.step(self.now);
        d
    }
}

fn ivr_calls(c: &mut Criterion) {
    let mut g = c.benchmark_group("ivr_tick");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for calls in [100u16, 500] {
        let mut r = rig(calls);
        g.throughput(Throughput::Elements(calls as u64));
        g.bench_function(BenchmarkId::new("calls", calls), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| r.tick()).sum())
        });
        let ticks = 250;
        let total: Duration = (0..ticks).map(|_| r.tick()).sum();
        let per_call = total.as_nanos() as f64 / ticks as f64 / calls as f64;
        println!(
            "ivr: {calls:>4} calls in a Lua menu: {:>7.1} us per tick, {per_call:>6.0} ns per call per tick, ~{:.0} calls per core",
            total.as_secs_f64() * 1e6 / ticks as f64,
            20e6 / per_call
        );
    }
    g.finish();
}

fn memory(c: &mut Criterion) {
    // One call's script, started and waiting on its first prompt.
    let n = 1000;
    let mut apps = Vec::with_capacity(n);
    let mut total = 0usize;
    for i in 0..n {
        let mut app = LuaApp::new("ivr_menu.lua", SCRIPT, &[], Limits::default()).unwrap();
        let mut out = Vec::new();
        app.on_event(AppEvent::Start, &CallInfo { id: i as u64, ..CallInfo::default() }, &mut out);
        assert!(!out.is_empty(), "the script is waiting on its prompt");
        total += app.memory_used();
        apps.push(app);
    }
    println!("ivr: Lua memory per waiting call: {:.1} KiB ({} calls)", total as f64 / n as f64 / 1024.0, n);
    c.bench_function("ivr_script_start", |b| {
        b.iter(|| {
            let mut app = LuaApp::new("ivr_menu.lua", SCRIPT, &[], Limits::default()).unwrap();
            let mut out = Vec::new();
            app.on_event(AppEvent::Start, &CallInfo::default(), &mut out);
            out.len()
        })
    });
}

criterion_group!(benches, ivr_calls, memory);
criterion_main!(benches);
