//! Media tick capacity: what one 20 ms tick costs per channel with every channel in a
//! call doing the full path — G.711 decode and encode (in the simulated backend, as a
//! card's userspace path would), DTMF detection, stereo call recording (the frames are
//! handed to the recorder thread; the file is /dev/null so the disk is not measured) —
//! plus the pieces on their own. Later issues track capacity against these numbers.
//!
//! `cargo bench --bench media_tick` prints criterion's figures and a summary line per
//! size: ns per channel per tick and the channels one core could carry in real time.

// A benchmark measures wall-clock time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_methods)]
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant as WallClock};
use trunkd::backend::sim::{self, SimSpanSpec, Ts16};
use trunkd::backend::Backend;
use trunkd::core::app::{AppCmd, AppEvent, Application, CallInfo, CollectSpec, PlayItem};
use trunkd::core::media::recorder::RecordMode;
use trunkd::core::{Engine, GroupSetup, Routing};
use trunkd::dsp::dtmf::{DtmfDetector, DtmfRxConfig};
use trunkd::dsp::g711::Law;
use trunkd::dsp::zone::builtin_zone;
use trunkd::signalling::em::EmSpan;
use trunkd::time::Instant;

/// Answers, records the whole call, and listens for digits for an hour.
struct Listen;

impl Application for Listen {
    fn name(&self) -> &str {
        "bench"
    }
    fn on_event(&mut self, ev: AppEvent, _: &CallInfo, out: &mut Vec<AppCmd>) {
        if ev == AppEvent::Start {
            out.push(AppCmd::Answer);
            out.push(AppCmd::RecordCall { path: "/dev/null".into(), mode: RecordMode::Stereo });
            out.push(AppCmd::Collect(CollectSpec {
                max: 1000,
                terminators: String::new(),
                first_timeout: Duration::from_secs(3600),
                inter_timeout: Duration::from_secs(3600),
            }));
        }
    }
}

/// The far end talks: a steady tone for an hour.
struct Talk;

impl Application for Talk {
    fn name(&self) -> &str {
        "talk"
    }
    fn on_event(&mut self, ev: AppEvent, _: &CallInfo, out: &mut Vec<AppCmd>) {
        if ev == AppEvent::Start {
            out.push(AppCmd::Play {
                items: vec![PlayItem::Sine(440.0, Duration::from_secs(3600))],
                interrupt: String::new(),
            });
        }
    }
}

struct Rig {
    near: Engine,
    far: Engine,
    now: Instant,
    channels: usize,
}

fn rig(spans: usize) -> Rig {
    let specs: Vec<SimSpanSpec> =
        (0..spans).map(|i| SimSpanSpec::E1 { name: format!("e1-{i}"), law: Law::Alaw, ts16: Ts16::Cas }).collect();
    let (near_b, far_b, _) = sim::pair(&specs);
    let ts: Vec<u16> = (1..=31).filter(|t| *t != 16).collect();
    let zone = builtin_zone("cn").unwrap();
    let groups = || {
        (0..spans)
            .map(|i| GroupSetup {
                name: format!("e1-{i}"),
                backend: 0,
                span: i,
                sig: Box::new(EmSpan::new(Default::default(), &ts)),
                zone: zone.clone(),
            })
            .collect::<Vec<_>>()
    };
    let dir = std::env::temp_dir().join("trunkd-bench");
    let near = Engine::new(
        vec![Box::new(near_b) as Box<dyn Backend>],
        groups(),
        Routing::App(Box::new(|| Box::new(Listen))),
        dir.clone(),
        dir.clone(),
    );
    let far = Engine::new(
        vec![Box::new(far_b) as Box<dyn Backend>],
        groups(),
        Routing::App(Box::new(|| Box::new(Listen))),
        dir.clone(),
        dir,
    );
    let mut r = Rig { near, far, now: Instant::ZERO, channels: spans * 30 };
    for i in 0..spans {
        for _ in 0..30 {
            r.far.originate(&format!("e1-{i}"), "8001", Default::default(), Some(Box::new(Talk))).unwrap();
        }
    }
    // Let every call get through E&M signalling and into the steady state.
    for _ in 0..500 {
        r.tick();
    }
    assert_eq!(r.near.active_calls(), r.channels, "all calls up");
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

fn media_tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("media_tick");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for spans in [1usize, 4, 16] {
        let mut r = rig(spans);
        let n = r.channels;
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("channels", n), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| r.tick()).sum());
        });
        // A plain summary a capacity planner can read without criterion's vocabulary.
        let ticks = 200;
        let total: Duration = (0..ticks).map(|_| r.tick()).sum();
        let per_chan_ns = total.as_nanos() as f64 / ticks as f64 / n as f64;
        println!(
            "media_tick: {n:>4} channels: {:>8.1} us per tick, {per_chan_ns:>7.0} ns per channel per tick, ~{:.0} channels per core",
            total.as_secs_f64() * 1e6 / ticks as f64,
            20e6 / per_chan_ns
        );
    }
    g.finish();
}

fn pieces(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_frame");
    let pcm: Vec<i16> = (0..160).map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16).collect();
    let mut bytes = [0u8; 160];
    let mut out = [0i16; 160];
    g.bench_function("g711_alaw_encode", |b| b.iter(|| Law::Alaw.encode_frame(std::hint::black_box(&pcm), &mut bytes)));
    g.bench_function("g711_alaw_decode", |b| b.iter(|| Law::Alaw.decode_frame(std::hint::black_box(&bytes), &mut out)));
    let mut det = DtmfDetector::new(DtmfRxConfig::default());
    g.bench_function("dtmf_detect", |b| {
        b.iter(|| {
            det.process(std::hint::black_box(&pcm));
            det.poll_event()
        })
    });
    g.finish();
}

criterion_group!(benches, media_tick, pieces);
criterion_main!(benches);
