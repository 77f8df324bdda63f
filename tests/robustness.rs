//! Robustness: "nothing from the wire, a script or a config may panic the daemon; no call
//! or record is lost", checked with proptest.
//!
//! 1. The call core over a hostile wire: a fake backend (an E1 with CAS on TS1-15/17-31,
//!    three FXS and three FXO ports) whose events and audio are generated, the real E&M and
//!    loop-start stacks, a scriptable test application (answer, play, collect, record,
//!    bridge, hang up, and misbehave) and random `originate`/`hangup` calls. After the
//!    hostile phase the wire goes quiet and the engine shuts down: every offered call must
//!    have ended exactly once, every recording must have finished, every application must
//!    have been told about its hang-up exactly once; and while it runs, no operation of an
//!    application may outlive its own time limit.
//! 2. The config parser over mutated shipped configs (`examples/*.toml`); a config that
//!    validates is also built into a gateway and run for a moment.
//! 3. The small parsers behind the config: caller steps, number patterns, globs, causes,
//!    ABCD bits.
//!
//! Failure persistence is off so a failing run leaves no `proptest-regressions/` file in
//! the tree; proptest prints the shrunk failing input instead.
//!
//! The bugs these tests found are kept as regression tests at the end of the file.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestCaseError};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use trunkd::backend::line::{Abcd, Alarms, HookEvent, LineCmd, LineEvent, PathKind};
use trunkd::backend::{Backend, BackendError, BackendEvent, ChanDesc, Frame, SpanCounters, SpanDesc, SpanKind};
use trunkd::config::Config;
use trunkd::core::app::{
    AppCmd, AppEvent, Application, CallInfo, CollectSpec, DialTarget, OpResult, PlayItem, RecordSpec,
};
use trunkd::core::apps::CallerStep;
use trunkd::core::event::{CoreEvent, EventKind};
use trunkd::core::media::recorder::RecordMode;
use trunkd::core::router::{glob_match, Pattern};
use trunkd::core::{Engine, GroupSetup, Routing};
use trunkd::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};
use trunkd::dsp::g711::Law;
use trunkd::dsp::tone::ToneKind;
use trunkd::dsp::zone::builtin_zone;
use trunkd::signalling::analog::AnalogLines;
use trunkd::signalling::em::EmSpan;
use trunkd::signalling::{Cause, Party, SignallingCore};
use trunkd::time::Instant;

// ---------------------------------------------------------------- the fake wire

const E1: usize = 0;
const FXS: usize = 1;
const FXO: usize = 2;
const SPANS: usize = 3;
/// Ports per analog span.
const PORTS: u16 = 3;
const TICK: Duration = Duration::from_millis(20);
/// Hostile phase: 6 s of virtual time.
const HOSTILE_TICKS: u32 = 300;
/// After `begin_shutdown`: 10 s of virtual time.
const QUIET_TICKS: u32 = 500;
/// Idle E&M bits (A=0 B=1 C=0 D=1) and seized bits (A=1).
const CAS_ON_HOOK: u8 = 0b0101;
const CAS_OFF_HOOK: u8 = 0b1101;

fn span_descs() -> Vec<SpanDesc> {
    let e1 = (1..=31u16).filter(|&t| t != 16).map(|number| ChanDesc { number, path: PathKind::Cas, audio: true });
    let analog = |path| (0..PORTS).map(move |number| ChanDesc { number, path, audio: true }).collect();
    vec![
        SpanDesc { name: "e1".into(), kind: SpanKind::E1, law: Law::Alaw, channels: e1.collect() },
        SpanDesc { name: "fxs".into(), kind: SpanKind::Analog, law: Law::Alaw, channels: analog(PathKind::Fxs) },
        SpanDesc { name: "fxo".into(), kind: SpanKind::Analog, law: Law::Alaw, channels: analog(PathKind::Fxo) },
    ]
}

/// What a channel's far end sounds like when it is not sending DTMF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sound {
    Silence,
    /// White noise with this peak.
    Noise(i16),
    /// A full-scale square wave (clipping, the loudest thing a wire can carry).
    Square,
}

/// The far side of the fake backend, shared with the test driving it.
struct Wire {
    pending: Vec<BackendEvent>,
    /// No events, silence on every channel, no I/O errors.
    quiet: bool,
    fail_io: bool,
    underrun: bool,
    sound: HashMap<(usize, u16), Sound>,
    dtmf: HashMap<(usize, u16), DtmfGenerator>,
    rng: u64,
    alarms: [Alarms; SPANS],
    counters: [SpanCounters; SPANS],
}

impl Wire {
    fn new(seed: u64) -> Wire {
        Wire {
            pending: Vec::new(),
            quiet: false,
            fail_io: false,
            underrun: false,
            sound: HashMap::new(),
            dtmf: HashMap::new(),
            rng: seed | 1,
            alarms: [Alarms::NONE; SPANS],
            counters: [SpanCounters::default(); SPANS],
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64: cheap noise, so the test spends its time in the engine.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn go_quiet(&mut self) {
        self.quiet = true;
        self.pending.clear();
        self.fail_io = false;
        self.underrun = false;
        self.sound.clear();
        self.dtmf.clear();
    }
}

struct FakeBackend {
    spans: Vec<SpanDesc>,
    wire: Arc<Mutex<Wire>>,
}

fn lock(w: &Mutex<Wire>) -> MutexGuard<'_, Wire> {
    // A panic elsewhere in the test must not hide behind a poisoned lock.
    w.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeBackend {
    fn chan(&self, span: usize, chan: u16) -> Option<&ChanDesc> {
        self.spans.get(span)?.channels.iter().find(|c| c.number == chan)
    }
}

impl Backend for FakeBackend {
    fn name(&self) -> &str {
        "fake"
    }

    fn spans(&self) -> &[SpanDesc] {
        &self.spans
    }

    fn poll_events(&mut self, _now: Instant, out: &mut Vec<BackendEvent>) {
        let mut w = lock(&self.wire);
        if w.quiet {
            w.pending.clear();
            return;
        }
        for ev in std::mem::take(&mut w.pending) {
            if let BackendEvent::Alarm { span, alarms } = ev {
                if let Some(a) = w.alarms.get_mut(span) {
                    *a = alarms;
                }
            }
            out.push(ev);
        }
    }

    fn read_audio(&mut self, span: usize, chan: u16, frame: &mut Frame) -> bool {
        frame.fill(0);
        if self.chan(span, chan).is_none_or(|c| !c.audio) {
            return false;
        }
        let mut w = lock(&self.wire);
        if w.quiet {
            return true;
        }
        if let Some(g) = w.dtmf.get_mut(&(span, chan)) {
            if !g.is_idle() {
                g.fill(frame);
                return true;
            }
        }
        if w.underrun {
            w.counters[span].underruns += 1;
            return false;
        }
        w.counters[span].rx_frames += 1;
        match w.sound.get(&(span, chan)).copied().unwrap_or(Sound::Silence) {
            Sound::Silence => {}
            Sound::Noise(peak) => {
                for s in frame.iter_mut() {
                    let r = (w.next() >> 48) as u16 as i16;
                    *s = (i32::from(r) * i32::from(peak) / 32768) as i16;
                }
            }
            Sound::Square => {
                for (i, s) in frame.iter_mut().enumerate() {
                    *s = if i % 8 < 4 { i16::MAX } else { i16::MIN };
                }
            }
        }
        true
    }

    fn write_audio(&mut self, span: usize, chan: u16, _frame: &Frame) -> Result<(), BackendError> {
        if self.chan(span, chan).is_none() {
            return Err(BackendError::NoSuchChannel { span, chan });
        }
        let mut w = lock(&self.wire);
        if w.fail_io {
            w.counters[span].overruns += 1;
            return Err(BackendError::Io { span, chan, source: std::io::Error::other("fake EIO") });
        }
        w.counters[span].tx_frames += 1;
        Ok(())
    }

    fn transmit(&mut self, _now: Instant, span: usize, chan: u16, cmd: LineCmd) -> Result<(), BackendError> {
        let Some(desc) = self.chan(span, chan) else {
            return Err(BackendError::NoSuchChannel { span, chan });
        };
        let ok = matches!(
            (&cmd, desc.path),
            (LineCmd::Cas(_), PathKind::Cas)
                | (LineCmd::Hook(_) | LineCmd::Polarity(_), PathKind::Fxs | PathKind::Fxo)
                | (LineCmd::Hdlc(_), PathKind::Hdlc)
                | (LineCmd::At(_), PathKind::Modem)
        );
        if !ok {
            return Err(BackendError::Unsupported { span, chan, what: "wrong signalling path" });
        }
        if lock(&self.wire).fail_io {
            return Err(BackendError::Io { span, chan, source: std::io::Error::other("fake EIO") });
        }
        Ok(())
    }

    fn alarms(&self, span: usize) -> Alarms {
        lock(&self.wire).alarms.get(span).copied().unwrap_or_default()
    }

    fn counters(&self, span: usize) -> SpanCounters {
        lock(&self.wire).counters.get(span).copied().unwrap_or_default()
    }
}

// ---------------------------------------------------------------- the test application

/// Files an application may name: prompts to play, places to record to.
#[derive(Clone, Copy, Debug)]
enum FileChoice {
    /// Relative: a prompt under the prompts dir (missing) or a recording under
    /// `<data_dir>/recordings/`.
    Relative(u8),
    /// An absolute path in the temp dir.
    Absolute(u8),
    /// Below a regular file: cannot be created.
    Unwritable,
    /// A directory.
    Directory,
    /// A valid 8 kHz mono prompt.
    Good,
    /// A WAV whose header is cut short.
    Garbage,
}

#[derive(Clone, Debug)]
enum Item {
    Tone(usize, u64),
    Silence(u64),
    Sine(f32, u64),
    Dtmf(String),
    File(FileChoice),
}

#[derive(Clone, Debug)]
enum Step {
    Answer,
    PreAnswer,
    Ring,
    Play(Vec<Item>, bool),
    Collect {
        max: usize,
        first_ms: u64,
        inter_ms: u64,
    },
    Record {
        file: FileChoice,
        limit_ms: u64,
        silence_ms: Option<u64>,
        beep: bool,
    },
    RecordCall {
        file: FileChoice,
        stereo: bool,
    },
    StopRecordCall,
    Bridge {
        group: usize,
        number: String,
        timeout_ms: u64,
    },
    Sleep(u64),
    /// Many instant commands at once (the engine bounds a tick's work per call).
    Flood(u16),
    Vars,
    Hangup(u8),
}

/// What one application does: its steps, then hang up or linger until cleared.
#[derive(Clone, Debug)]
struct Plan {
    steps: Vec<Step>,
    /// Issue every command at once instead of one operation at a time.
    eager: bool,
    /// After the steps, sleep for an hour instead of hanging up.
    linger: bool,
}

const BRIDGE_GROUPS: [&str; 5] = ["e1", "fxs", "fxo", "nope", ""];
const TONES: [ToneKind; 6] =
    [ToneKind::Dial, ToneKind::Busy, ToneKind::Ringback, ToneKind::Congestion, ToneKind::CallWaiting, ToneKind::Beep];

/// What every application reports back, checked at the end.
#[derive(Debug, Default)]
struct AppLog {
    starts: u32,
    hangups: u32,
    call: Option<u64>,
    /// The operation in progress (one-at-a-time applications only): what, since when (ms),
    /// and the longest it may take (ms).
    op: Option<(&'static str, u64, u64)>,
    /// Protocol violations seen by the application.
    violations: Vec<String>,
}

/// Shared by the applications of one case.
struct Env {
    dir: PathBuf,
    logs: Mutex<BTreeMap<usize, AppLog>>,
    next_app: AtomicUsize,
    /// Virtual time, for the applications' operation budgets.
    now_ms: AtomicU64,
}

impl Env {
    fn new(dir: &Path) -> std::io::Result<Env> {
        std::fs::create_dir_all(dir.join("prompts"))?;
        std::fs::create_dir_all(dir.join("a-directory.wav"))?;
        std::fs::write(dir.join("blocker"), b"a file, not a directory")?;
        std::fs::write(dir.join("garbage.wav"), b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0\x01\0\x00\0")?;
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(dir.join("good.wav"), spec).map_err(std::io::Error::other)?;
        for i in 0..2400i32 {
            w.write_sample(((i % 16) * 1000 - 8000) as i16).map_err(std::io::Error::other)?;
        }
        w.finalize().map_err(std::io::Error::other)?;
        Ok(Env {
            dir: dir.to_path_buf(),
            logs: Mutex::new(BTreeMap::new()),
            next_app: AtomicUsize::new(0),
            now_ms: AtomicU64::new(0),
        })
    }

    fn path(&self, f: FileChoice, recording: bool) -> PathBuf {
        match f {
            FileChoice::Relative(n) => format!("rel/{n}.wav").into(),
            FileChoice::Absolute(n) => self.dir.join(format!("abs/{n}.wav")),
            FileChoice::Unwritable => self.dir.join("blocker/x.wav"),
            FileChoice::Directory => self.dir.join("a-directory.wav"),
            // Recordings never overwrite the prompt files.
            FileChoice::Good if recording => self.dir.join("rec-good.wav"),
            FileChoice::Garbage if recording => self.dir.join("rec-garbage.wav"),
            FileChoice::Good => self.dir.join("good.wav"),
            FileChoice::Garbage => self.dir.join("garbage.wav"),
        }
    }

    fn logs(&self) -> MutexGuard<'_, BTreeMap<usize, AppLog>> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long a play of these items lasts at most, in ms (a failing file fails at once).
fn play_ms(items: &[Item]) -> u64 {
    items
        .iter()
        .map(|i| match i {
            Item::Tone(_, d) | Item::Silence(d) | Item::Sine(_, d) => *d,
            Item::Dtmf(s) => 160 * s.chars().filter(|c| "0123456789*#ABCDabcd".contains(*c)).count() as u64,
            Item::File(FileChoice::Good) => 300,
            Item::File(_) => 0,
        })
        .sum()
}

struct TestApp {
    id: usize,
    env: Arc<Env>,
    steps: VecDeque<Step>,
    eager: bool,
    linger: bool,
    finished: bool,
    /// Operations issued and not yet `Done`.
    pending: u32,
    hung_up: bool,
}

impl TestApp {
    fn new(plan: &Plan, env: Arc<Env>) -> TestApp {
        let id = env.next_app.fetch_add(1, Ordering::Relaxed);
        env.logs().insert(id, AppLog::default());
        TestApp {
            id,
            env,
            steps: plan.steps.iter().cloned().collect(),
            eager: plan.eager,
            linger: plan.linger,
            finished: false,
            pending: 0,
            hung_up: false,
        }
    }

    fn violation(&self, what: String) {
        self.log(|l| l.violations.push(what));
    }

    /// Pushes one step; for an operation (completes with `Done`), its name and the longest
    /// it may take in ms.
    fn push(&mut self, step: Step, out: &mut Vec<AppCmd>) -> Option<(&'static str, u64)> {
        let ms = Duration::from_millis;
        let budget = match &step {
            Step::Play(items, _) => Some(("play", play_ms(items))),
            // Every digit restarts the inter-digit timer; a digit takes 160 ms to arrive.
            Step::Collect { max, first_ms, inter_ms } => {
                Some(("collect", first_ms + (*max as u64 + 1) * (inter_ms + 200)))
            }
            // The beep (300 ms) comes first.
            Step::Record { limit_ms, .. } => Some(("record", limit_ms + 300)),
            // Once connected, a bridge lasts as long as the call: checked separately.
            Step::Bridge { timeout_ms, .. } => Some(("bridge", *timeout_ms)),
            Step::Sleep(d) => Some(("sleep", *d)),
            _ => None,
        };
        let cmd = match step {
            Step::Answer => AppCmd::Answer,
            Step::PreAnswer => AppCmd::PreAnswer,
            Step::Ring => AppCmd::Ring,
            Step::Play(items, interruptible) => AppCmd::Play {
                items: items
                    .into_iter()
                    .map(|i| match i {
                        Item::Tone(k, d) => PlayItem::Tone(TONES[k % TONES.len()], ms(d)),
                        Item::Silence(d) => PlayItem::Silence(ms(d)),
                        Item::Sine(hz, d) => PlayItem::Sine(hz, ms(d)),
                        Item::Dtmf(s) => PlayItem::Dtmf(s),
                        Item::File(f) => PlayItem::File(self.env.path(f, false)),
                    })
                    .collect(),
                interrupt: if interruptible { "0123456789*#".into() } else { String::new() },
            },
            Step::Collect { max, first_ms, inter_ms } => AppCmd::Collect(CollectSpec {
                max,
                terminators: "#".into(),
                first_timeout: ms(first_ms),
                inter_timeout: ms(inter_ms),
            }),
            Step::Record { file, limit_ms, silence_ms, beep } => AppCmd::Record(RecordSpec {
                path: self.env.path(file, true),
                limit: ms(limit_ms),
                silence_stop: silence_ms.map(ms),
                beep,
                terminators: "#".into(),
            }),
            Step::RecordCall { file, stereo } => AppCmd::RecordCall {
                path: self.env.path(file, true),
                mode: if stereo { RecordMode::Stereo } else { RecordMode::Mono },
            },
            Step::StopRecordCall => AppCmd::StopRecordCall,
            Step::Bridge { group, number, timeout_ms } => AppCmd::Bridge(DialTarget {
                group: BRIDGE_GROUPS[group % BRIDGE_GROUPS.len()].into(),
                number,
                timeout: ms(timeout_ms),
            }),
            Step::Sleep(d) => AppCmd::Sleep(ms(d)),
            Step::Flood(n) => {
                for i in 0..n {
                    out.push(AppCmd::SetVar(format!("v{}", i % 7), i.to_string()));
                }
                AppCmd::FlushDigits
            }
            Step::Vars => AppCmd::SetVar("ключ🔑".into(), "\u{0}\u{202e}value".into()),
            Step::Hangup(c) => AppCmd::Hangup(Cause::from_code(c)),
        };
        out.push(cmd);
        budget
    }

    fn log(&self, f: impl FnOnce(&mut AppLog)) {
        if let Some(l) = self.env.logs().get_mut(&self.id) {
            f(l);
        }
    }

    fn advance(&mut self, out: &mut Vec<AppCmd>) {
        while let Some(step) = self.steps.pop_front() {
            if let Some((what, budget)) = self.push(step, out) {
                self.pending += 1;
                if !self.eager {
                    let since = self.env.now_ms.load(Ordering::Relaxed);
                    self.log(|l| l.op = Some((what, since, budget)));
                    return;
                }
            }
        }
        if !std::mem::replace(&mut self.finished, true) {
            if self.linger {
                self.pending += 1;
                let since = self.env.now_ms.load(Ordering::Relaxed);
                if !self.eager {
                    self.log(|l| l.op = Some(("linger", since, 3_600_000)));
                }
                out.push(AppCmd::Sleep(Duration::from_secs(3600)));
            } else {
                out.push(AppCmd::Hangup(Cause::NormalClearing));
            }
        }
    }
}

impl Application for TestApp {
    fn name(&self) -> &str {
        "robustness"
    }

    fn on_event(&mut self, event: AppEvent, call: &CallInfo, out: &mut Vec<AppCmd>) {
        if self.hung_up {
            self.violation(format!("{event:?} after Hangup"));
            return;
        }
        self.log(|l| l.call = Some(call.id));
        if matches!(event, AppEvent::Done(_) | AppEvent::Hangup(_)) {
            self.log(|l| l.op = None);
        }
        match event {
            AppEvent::Start => {
                let starts = {
                    let mut logs = self.env.logs();
                    let l = logs.entry(self.id).or_default();
                    l.starts += 1;
                    l.starts
                };
                if starts > 1 {
                    self.violation("Start twice".into());
                }
                self.advance(out);
            }
            AppEvent::Done(r) => {
                if self.pending == 0 {
                    self.violation(format!("Done({r:?}) without an operation"));
                }
                self.pending = self.pending.saturating_sub(1);
                if !self.eager {
                    self.advance(out);
                }
            }
            AppEvent::Hangup(_) => {
                self.hung_up = true;
                self.env.logs().entry(self.id).or_default().hangups += 1;
                // Commands after the hang-up must be ignored, not acted upon.
                out.push(AppCmd::Answer);
                out.push(AppCmd::RecordCall {
                    path: self.env.path(FileChoice::Absolute(255), true),
                    mode: RecordMode::Mono,
                });
            }
            // Digits only come with WatchDigits, which this application never asks for.
            AppEvent::Digit(d) => self.violation(format!("Digit({d}) without WatchDigits")),
        }
    }
}

// ---------------------------------------------------------------- what the test does

#[derive(Clone, Debug)]
enum Op {
    Line {
        span: usize,
        chan: u16,
        event: LineEvent,
    },
    Alarm {
        span: usize,
        alarms: u32,
    },
    Dtmf {
        span: usize,
        chan: u16,
        digits: String,
    },
    Sound {
        span: usize,
        chan: u16,
        sound: Sound,
    },
    Io {
        fail: bool,
        underrun: bool,
    },
    Originate {
        group: usize,
        number: String,
        app: Option<usize>,
    },
    Hangup {
        pick: usize,
        cause: u8,
    },
    Status,
    // Well-formed far-end behaviour, so calls get far enough to run the applications.
    /// The carrier seizes a timeslot, dials after our wink, clears after `hold` ticks.
    E1Call {
        chan: u16,
        digits: String,
        hold: u32,
    },
    /// The far end of a timeslot winks, answers `answer` ticks later, clears after `hold`.
    E1Answer {
        chan: u16,
        answer: u32,
        hold: u32,
    },
    /// A phone goes off-hook, dials, hangs up after `hold` ticks.
    PhoneCall {
        port: u16,
        digits: String,
        hold: u32,
    },
    /// A phone answers (off-hook after `after` ticks) and hangs up after `hold`.
    PhoneAnswer {
        port: u16,
        after: u32,
        hold: u32,
    },
    /// The central office rings `rings` times, then drops battery after `hold`.
    CoRing {
        port: u16,
        rings: u32,
        hold: u32,
    },
}

#[derive(Clone, Debug)]
struct EngineCase {
    seed: u64,
    plans: Vec<Plan>,
    ops: Vec<(u32, Op)>,
}

fn span() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0..SPANS, 1 => Just(SPANS), 1 => Just(usize::MAX)]
}

fn chan() -> impl Strategy<Value = u16> {
    prop_oneof![10 => 0u16..32, 1 => Just(16u16), 1 => Just(200u16), 1 => any::<u16>()]
}

fn digits() -> impl Strategy<Value = String> {
    prop_oneof![6 => "[0-9*#]{0,5}", 1 => "[0-9A-Da-d]{0,3}", 1 => "\\PC{0,4}"]
}

fn hook_event() -> impl Strategy<Value = HookEvent> {
    prop_oneof![
        Just(HookEvent::OffHook),
        Just(HookEvent::OnHook),
        Just(HookEvent::Flash),
        any::<u8>().prop_map(HookEvent::PulseDigit),
        Just(HookEvent::RingBegin),
        Just(HookEvent::RingEnd),
        Just(HookEvent::BatteryLoss),
        Just(HookEvent::BatteryRestored),
        Just(HookEvent::PolarityReversal),
    ]
}

fn line_event() -> impl Strategy<Value = LineEvent> {
    prop_oneof![
        4 => hook_event().prop_map(LineEvent::Hook),
        4 => prop_oneof![Just(CAS_ON_HOOK), Just(CAS_OFF_HOOK), any::<u8>()].prop_map(|b| LineEvent::Cas(Abcd::new(b))),
        1 => vec(any::<u8>(), 0..40).prop_map(LineEvent::Hdlc),
        1 => Just(LineEvent::HdlcError),
        1 => prop_oneof![Just("RING".to_string()), Just("NO CARRIER".to_string()), "\\PC{0,24}"].prop_map(LineEvent::At),
    ]
}

fn alarms() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => Just(0),
        1 => Just(Alarms::RED),
        1 => Just(Alarms::RED | Alarms::LOS),
        1 => Just(Alarms::BLUE),
        1 => Just(Alarms::YELLOW),
        1 => Just(Alarms::RECOVER | Alarms::LOOPBACK),
        1 => any::<u32>(),
    ]
}

fn sound() -> impl Strategy<Value = Sound> {
    prop_oneof![Just(Sound::Silence), (1i16..=i16::MAX).prop_map(Sound::Noise), Just(Sound::Square)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (span(), chan(), line_event()).prop_map(|(span, chan, event)| Op::Line { span, chan, event }),
        2 => (span(), alarms()).prop_map(|(span, alarms)| Op::Alarm { span, alarms }),
        3 => (span(), chan(), digits()).prop_map(|(span, chan, digits)| Op::Dtmf { span, chan, digits }),
        2 => (span(), chan(), sound()).prop_map(|(span, chan, sound)| Op::Sound { span, chan, sound }),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(fail, underrun)| Op::Io { fail, underrun }),
        3 => (0usize..4, digits(), proptest::option::of(0usize..8))
            .prop_map(|(group, number, app)| Op::Originate { group, number, app }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(pick, cause)| Op::Hangup { pick, cause }),
        1 => Just(Op::Status),
        4 => (1u16..=31, "[0-9]{0,4}", 0u32..200).prop_map(|(chan, digits, hold)| Op::E1Call { chan, digits, hold }),
        2 => (1u16..=31, 0u32..120, 0u32..200).prop_map(|(chan, answer, hold)| Op::E1Answer { chan, answer, hold }),
        4 => (0..PORTS + 1, "[0-9]{0,4}", 0u32..200).prop_map(|(port, digits, hold)| Op::PhoneCall { port, digits, hold }),
        2 => (0..PORTS + 1, 0u32..100, 0u32..200).prop_map(|(port, after, hold)| Op::PhoneAnswer { port, after, hold }),
        4 => (0..PORTS + 1, 0u32..4, 0u32..200).prop_map(|(port, rings, hold)| Op::CoRing { port, rings, hold }),
    ]
}

fn file_choice() -> impl Strategy<Value = FileChoice> {
    prop_oneof![
        (0u8..4).prop_map(FileChoice::Relative),
        (0u8..4).prop_map(FileChoice::Absolute),
        Just(FileChoice::Unwritable),
        Just(FileChoice::Directory),
        Just(FileChoice::Good),
        Just(FileChoice::Garbage),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (0usize..6, 0u64..1500).prop_map(|(k, d)| Item::Tone(k, d)),
        (0u64..800).prop_map(Item::Silence),
        (
            prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(-1.0f32), Just(0.0f32), any::<f32>(), 50f32..3800.0],
            0u64..800
        )
            .prop_map(|(hz, d)| Item::Sine(hz, d)),
        digits().prop_map(Item::Dtmf),
        file_choice().prop_map(Item::File),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Answer),
        1 => Just(Step::PreAnswer),
        1 => Just(Step::Ring),
        4 => (vec(item(), 0..3), any::<bool>()).prop_map(|(items, i)| Step::Play(items, i)),
        3 => (0usize..5, 0u64..2500, 0u64..1500).prop_map(|(max, first_ms, inter_ms)| Step::Collect { max, first_ms, inter_ms }),
        3 => (file_choice(), 0u64..2000, proptest::option::of(0u64..1000), any::<bool>())
            .prop_map(|(file, limit_ms, silence_ms, beep)| Step::Record { file, limit_ms, silence_ms, beep }),
        2 => (file_choice(), any::<bool>()).prop_map(|(file, stereo)| Step::RecordCall { file, stereo }),
        1 => Just(Step::StopRecordCall),
        3 => (0usize..5, "[0-9]{0,4}", 0u64..3000)
            .prop_map(|(group, number, timeout_ms)| Step::Bridge { group, number, timeout_ms }),
        2 => (0u64..1500).prop_map(Step::Sleep),
        1 => prop_oneof![0u16..20, 900u16..1200].prop_map(Step::Flood),
        1 => Just(Step::Vars),
        1 => any::<u8>().prop_map(Step::Hangup),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (vec(step(), 0..7), prop::bool::weighted(0.2), prop::bool::weighted(0.2)).prop_map(|(steps, eager, linger)| Plan {
        steps,
        eager,
        linger,
    })
}

fn engine_case() -> impl Strategy<Value = EngineCase> {
    (any::<u64>(), vec(plan(), 1..5), vec((0..HOSTILE_TICKS, op()), 0..100)).prop_map(|(seed, plans, ops)| EngineCase {
        seed,
        plans,
        ops,
    })
}

/// Spreads the well-formed scenarios over later ticks as primitive ops.
fn schedule(ops: &[(u32, Op)]) -> BTreeMap<u32, Vec<Op>> {
    let mut s: BTreeMap<u32, Vec<Op>> = BTreeMap::new();
    let mut at = |t: u32, op: Op| s.entry(t).or_default().push(op);
    let line = |span, chan, event| Op::Line { span, chan, event };
    let cas = |chan, bits| line(E1, chan, LineEvent::Cas(Abcd::new(bits)));
    let hook = |span, chan, h| line(span, chan, LineEvent::Hook(h));
    // 80 ms tone + 80 ms pause per digit = 8 ticks.
    let dial_ticks = |d: &str| 8 * d.chars().count() as u32 + 8;
    for (t, op) in ops.iter().cloned() {
        match op {
            Op::E1Call { chan, digits, hold } => {
                at(t, cas(chan, CAS_OFF_HOOK));
                // Our wink ends 30 + 100 + 200 ms after the seizure.
                let dial = t + 20;
                let end = dial + dial_ticks(&digits) + hold;
                at(dial, Op::Dtmf { span: E1, chan, digits: digits + "#" });
                at(end, cas(chan, CAS_ON_HOOK));
            }
            Op::E1Answer { chan, answer, hold } => {
                at(t, cas(chan, CAS_OFF_HOOK));
                at(t + 10, cas(chan, CAS_ON_HOOK));
                at(t + 10 + answer, cas(chan, CAS_OFF_HOOK));
                at(t + 10 + answer + hold, cas(chan, CAS_ON_HOOK));
            }
            Op::PhoneCall { port, digits, hold } => {
                at(t, hook(FXS, port, HookEvent::OffHook));
                at(t + 3, Op::Dtmf { span: FXS, chan: port, digits: digits.clone() + "#" });
                at(t + 3 + dial_ticks(&digits) + hold, hook(FXS, port, HookEvent::OnHook));
            }
            Op::PhoneAnswer { port, after, hold } => {
                at(t + after, hook(FXS, port, HookEvent::OffHook));
                at(t + after + hold, hook(FXS, port, HookEvent::OnHook));
            }
            Op::CoRing { port, rings, hold } => {
                for i in 0..rings {
                    at(t + 150 * i, hook(FXO, port, HookEvent::RingBegin));
                    at(t + 150 * i + 50, hook(FXO, port, HookEvent::RingEnd));
                }
                let end = t + 150 * rings + hold;
                at(end, hook(FXO, port, HookEvent::BatteryLoss));
                at(end + 25, hook(FXO, port, HookEvent::BatteryRestored));
            }
            other => at(t, other),
        }
    }
    s
}

/// The engine under test: the real E&M and loop-start stacks over the fake backend; data
/// and prompts live in `dir`.
fn build_engine(wire: &Arc<Mutex<Wire>>, routing: Routing, dir: &Path) -> Engine {
    let backend = FakeBackend { spans: span_descs(), wire: wire.clone() };
    let zone = builtin_zone("cn").expect("built-in zone cn");
    let ts: Vec<u16> = (1..=31).filter(|t| *t != 16).collect();
    let group = |name: &str, span, sig: Box<dyn SignallingCore>| GroupSetup {
        name: name.into(),
        backend: 0,
        span,
        sig,
        zone: zone.clone(),
    };
    let groups = vec![
        group("e1", E1, Box::new(EmSpan::new(Default::default(), &ts))),
        group("fxs", FXS, Box::new(AnalogLines::fxs(Default::default(), PORTS.into()))),
        group("fxo", FXO, Box::new(AnalogLines::fxo(Default::default(), PORTS.into()))),
    ];
    Engine::new(vec![Box::new(backend)], groups, routing, dir.join("data"), dir.join("prompts"))
}

/// Runs one case: the hostile phase, then quiet and shutdown, then the checks.
fn run_engine(case: &EngineCase) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let env = Arc::new(Env::new(dir.path()).map_err(|e| TestCaseError::fail(e.to_string()))?);
    let wire = Arc::new(Mutex::new(Wire::new(case.seed)));
    let plans = case.plans.clone();
    let (app_env, made) = (env.clone(), AtomicUsize::new(0));
    let routing = Routing::App(Box::new(move || {
        let n = made.fetch_add(1, Ordering::Relaxed);
        Box::new(TestApp::new(&plans[n % plans.len()], app_env.clone())) as Box<dyn Application>
    }));
    let mut engine = build_engine(&wire, routing, dir.path());

    let mut sched = schedule(&case.ops);
    let mut events: Vec<CoreEvent> = Vec::new();
    let mut live: Vec<u64> = Vec::new();
    let mut now = Instant::ZERO;
    let collect = |engine: &mut Engine, events: &mut Vec<CoreEvent>, live: &mut Vec<u64>| {
        for e in engine.drain_events() {
            match (&e.kind, e.call) {
                (EventKind::Offered { .. }, Some(id)) => live.push(id),
                (EventKind::Ended { .. }, Some(id)) => live.retain(|x| *x != id),
                _ => {}
            }
            events.push(e);
        }
    };
    for tick in 0..HOSTILE_TICKS {
        now += TICK;
        for op in sched.remove(&tick).unwrap_or_default() {
            apply(op, &mut engine, &wire, &env, &case.plans, &live);
        }
        env.now_ms.store(now.as_millis(), Ordering::Relaxed);
        engine.step(now);
        collect(&mut engine, &mut events, &mut live);
        check_overdue(&env, &engine, now)?;
    }

    lock(&wire).go_quiet();
    engine.begin_shutdown(Cause::TemporaryFailure);
    for _ in 0..QUIET_TICKS {
        now += TICK;
        engine.step(now);
        collect(&mut engine, &mut events, &mut live);
    }
    prop_assert_eq!(engine.active_calls(), 0, "calls left after shutdown");
    prop_assert!(engine.calls_status().is_empty());
    let after = engine.originate("fxo", "1", Party::default(), None);
    prop_assert!(after.is_err(), "originate accepted during shutdown: {:?}", after);
    engine.finish();
    collect(&mut engine, &mut events, &mut live);
    check_events(&events)?;
    check_apps(&env)
}

fn apply(op: Op, engine: &mut Engine, wire: &Mutex<Wire>, env: &Arc<Env>, plans: &[Plan], live: &[u64]) {
    match op {
        Op::Line { span, chan, event } => lock(wire).pending.push(BackendEvent::Line { span, chan, event }),
        Op::Alarm { span, alarms } => lock(wire).pending.push(BackendEvent::Alarm { span, alarms: Alarms(alarms) }),
        Op::Dtmf { span, chan, digits } => {
            lock(wire)
                .dtmf
                .entry((span, chan))
                .or_insert_with(|| DtmfGenerator::new(DtmfTxConfig::default()))
                .push_digits(&digits);
        }
        Op::Sound { span, chan, sound } => {
            lock(wire).sound.insert((span, chan), sound);
        }
        Op::Io { fail, underrun } => {
            let mut w = lock(wire);
            w.fail_io = fail;
            w.underrun = underrun;
        }
        Op::Originate { group, number, app } => {
            let group = ["e1", "fxs", "fxo", "nope"][group % 4];
            let app = app.map(|i| TestApp::new(&plans[i % plans.len()], env.clone()));
            let app_id = app.as_ref().map(|a| a.id);
            let r = engine.originate(
                group,
                &number,
                Party::number(&number),
                app.map(|a| Box::new(a) as Box<dyn Application>),
            );
            if let (Err(_), Some(id)) = (r, app_id) {
                // Never attached to a call: no hang-up is owed to it.
                env.logs().remove(&id);
            }
        }
        Op::Hangup { pick, cause } => {
            let id = match live.len() {
                0 => pick as u64,
                n if pick % (n + 1) == n => pick as u64,
                n => live[pick % n],
            };
            engine.hangup(id, Cause::from_code(cause));
        }
        Op::Status => {
            let s = serde_json::to_string(&(engine.spans_status(), engine.channels_status(), engine.calls_status()));
            assert!(s.is_ok(), "status does not serialize: {s:?}");
        }
        Op::E1Call { .. } | Op::E1Answer { .. } | Op::PhoneCall { .. } | Op::PhoneAnswer { .. } | Op::CoRing { .. } => {
            unreachable!("expanded by schedule()")
        }
    }
}

/// Slack on top of an operation's own duration before it counts as hung.
const OP_SLACK_MS: u64 = 500;

/// No operation of a running application outlives its own time limit (a connected bridge
/// lasts as long as the call).
fn check_overdue(env: &Env, engine: &Engine, now: Instant) -> Result<(), TestCaseError> {
    let now = now.as_millis();
    let logs = env.logs();
    for (id, log) in logs.iter() {
        let Some((what, since, budget)) = log.op else { continue };
        if log.hangups > 0 || now <= since + budget + OP_SLACK_MS {
            continue;
        }
        let status = engine.calls_status().into_iter().find(|c| Some(c.id) == log.call);
        if what == "bridge" && status.as_ref().is_some_and(|c| c.state == "bridged") {
            continue;
        }
        prop_assert!(
            false,
            "app {} ({:?}): {} started at {} ms, allowed {} ms, still running at {} ms",
            id,
            status,
            what,
            since,
            budget,
            now
        );
    }
    Ok(())
}

/// Every offered call ended exactly once; every recording that started finished.
fn check_events(events: &[CoreEvent]) -> Result<(), TestCaseError> {
    let mut offered: BTreeMap<u64, u32> = BTreeMap::new();
    let mut ended: BTreeMap<u64, u32> = BTreeMap::new();
    let mut started: BTreeMap<(Option<u64>, PathBuf), i32> = BTreeMap::new();
    for e in events {
        // Display must cope with whatever the wire and the apps produced.
        let _ = e.to_string();
        match (&e.kind, e.call) {
            (EventKind::Offered { .. }, Some(id)) => *offered.entry(id).or_default() += 1,
            (EventKind::Ended { .. }, Some(id)) => *ended.entry(id).or_default() += 1,
            (EventKind::Offered { .. } | EventKind::Ended { .. }, None) => {
                prop_assert!(false, "call event without a call id: {:?}", e)
            }
            (EventKind::RecordingStarted { path }, call) => *started.entry((call, path.clone())).or_default() += 1,
            (EventKind::RecordingFinished { path, .. }, call) => *started.entry((call, path.clone())).or_default() -= 1,
            _ => {}
        }
    }
    for (id, n) in &offered {
        prop_assert_eq!(*n, 1, "call {} offered {} times", id, n);
        let e = ended.get(id).copied().unwrap_or(0);
        prop_assert_eq!(e, 1, "call {} ended {} times", id, e);
    }
    for id in ended.keys() {
        prop_assert!(offered.contains_key(id), "call {} ended but was never offered", id);
    }
    let unbalanced: Vec<_> = started.iter().filter(|(_, n)| **n != 0).collect();
    prop_assert!(unbalanced.is_empty(), "recordings started/finished unbalanced (+n: lost): {:?}", unbalanced);
    Ok(())
}

/// Every application attached to a call heard its hang-up once and saw a sane protocol.
fn check_apps(env: &Env) -> Result<(), TestCaseError> {
    for (id, log) in env.logs().iter() {
        prop_assert!(log.violations.is_empty(), "app {}: {:?}", id, log.violations);
        prop_assert_eq!(log.hangups, 1, "app {} got {} hang-ups", id, log.hangups);
        prop_assert!(log.starts <= 1, "app {} started {} times", id, log.starts);
    }
    Ok(())
}

proptest! {
    #![proptest_config(PropConfig {
        cases: 40,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..PropConfig::default()
    })]

    #[test]
    fn engine_survives_a_hostile_wire(case in engine_case()) {
        run_engine(&case)?;
    }
}

// ---------------------------------------------------------------- config fuzz

fn shipped_configs() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), text)
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no examples/*.toml");
    v
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteByte(usize),
    InsertByte(usize, u8),
    ReplaceByte(usize, u8),
    InsertText(usize, String),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertLine(usize, String),
    /// Replace the value of the n-th `key = value` line.
    ReplaceValue(usize, String),
    /// Append a copy of the n-th table (header to next header).
    DuplicateTable(usize),
    Truncate(usize),
}

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        prop::sample::select(vec![
            "-1",
            "0",
            "1",
            "256",
            "257",
            "65536",
            "4294967295",
            "4294967296",
            "18446744073709551616",
            "1e400",
            "nan",
            "-inf",
            "3.5",
            "true",
            "false",
            "[]",
            "[0]",
            "[1, \"a\"]",
            "{}",
            "{ start = \"immediate\" }",
            "{ glare = \"hold\", start = \"immediate\", debounce_ms = 4294967295 }",
            "{ ring_cadence = [0] }",
            "{ answer_after_rings = 0 }",
            "{ dial_mode = \"pulse\", pulse_break_ms = 0 }",
            "1979-05-27T07:32:00Z",
            "\"\"",
            "\"🙂📞\"",
            "\"_9.\"",
            "\"_[9-1]\"",
            "\"_[0-\u{10ffff}]\"",
            "\"*\"",
            "\"e1-1\"",
            "\"phones\"",
            "\"pstn\"",
            "\"sim\"",
            "\"dahdi\"",
            "\"fxs\"",
            "\"fxo\"",
            "\"em\"",
            "\"eu\"",
            "\"us\"",
            "\"ulaw\"",
            "\"demo\"",
            "\"USER_BUSY\"",
            "\"0\"",
            "\"128\"",
            "\"/\"",
            "\"..\"",
            "[\"wait 99999999999\", \"tone nan 5\", \"dtmf ∞\", \"play\", \"hangup now\"]",
        ])
        .prop_map(String::from),
        "[^'\n\r]{0,24}".prop_map(|s| format!("'{s}'")),
        "\\PC{0,24}".prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))),
        (1usize..20_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        (1usize..3_000).prop_map(|n| format!("[{}]", vec!["1"; n].join(","))),
    ]
}

fn toml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "[general]",
            "[[span]]",
            "[[line]]",
            "[[route]]",
            "[sim]",
            "[[sim.caller]]",
            "[span]",
            "[general.x]",
            "name = \"x\"",
            "name = \"e1-1\"",
            "backend = \"sim\"",
            "backend = \"dahdi\"",
            "kind = \"fxs\"",
            "kind = \"fxo\"",
            "ports = 256",
            "ports = 0",
            "signalling = \"em\"",
            "zone = \"mars\"",
            "law = \"ulaw\"",
            "via = \"phones\"",
            "via = \"nowhere\"",
            "every_ms = 0",
            "every_ms = 1",
            "count = 0",
            "at_ms = 0",
            "called = \"_[9-1]\"",
            "from = \"*\"",
            "dial = \"e1-1\"",
            "reject = \"200\"",
            "app = \"lua\"",
            "strip = 18446744073709551615",
            "timeout = 18446744073709551615",
            "answer_after_ms = 0",
            "steps = [\"wait 1\", \"dtmf ∞\"]",
            "shutdown_grace_ms = -1",
            "a.b.c = 1",
            "= 3",
            "[",
            "]]",
            "\"\"\"",
            "'''",
            "x = \"\\u0000\"",
            "\u{feff}",
            "ключ = 1",
            "\"\u{202e}\" = 2",
            "[[route]]\napp = \"demo\"",
        ])
        .prop_map(String::from),
        ("[a-z_]{1,12}", toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        "\\PC{0,40}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<usize>().prop_map(Mutation::DeleteByte),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::ReplaceByte(i, b)),
        1 => (any::<usize>(), "\\PC{1,8}").prop_map(|(i, s)| Mutation::InsertText(i, s)),
        2 => any::<usize>().prop_map(Mutation::DeleteLine),
        2 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (any::<usize>(), toml_line()).prop_map(|(i, l)| Mutation::InsertLine(i, l)),
        6 => (any::<usize>(), toml_value()).prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        2 => any::<usize>().prop_map(Mutation::DuplicateTable),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, muts: &[Mutation]) -> String {
    let mut text = text.to_string();
    for m in muts {
        let mut bytes = std::mem::take(&mut text).into_bytes();
        let mut lines: Vec<String> = String::from_utf8_lossy(&bytes).lines().map(String::from).collect();
        let n = bytes.len();
        let l = lines.len();
        let mut by_lines = true;
        match m {
            Mutation::DeleteByte(i) if n > 0 => {
                bytes.remove(i % n);
                by_lines = false;
            }
            Mutation::InsertByte(i, b) => {
                bytes.insert(i % (n + 1), *b);
                by_lines = false;
            }
            Mutation::ReplaceByte(i, b) if n > 0 => {
                bytes[i % n] = *b;
                by_lines = false;
            }
            Mutation::InsertText(i, s) => {
                let at = i % (n + 1);
                bytes.splice(at..at, s.bytes());
                by_lines = false;
            }
            Mutation::Truncate(i) => {
                bytes.truncate(i % (n + 1));
                by_lines = false;
            }
            Mutation::DeleteLine(i) if l > 0 => {
                lines.remove(i % l);
            }
            Mutation::DuplicateLine(i) if l > 0 => {
                let dup = lines[i % l].clone();
                lines.insert(i % l, dup);
            }
            Mutation::SwapLines(a, b) if l > 0 => lines.swap(a % l, b % l),
            Mutation::InsertLine(i, s) => lines.insert(i % (l + 1), s.clone()),
            Mutation::ReplaceValue(i, v) => {
                let kv: Vec<usize> =
                    (0..l).filter(|&k| !lines[k].trim_start().starts_with('#') && lines[k].contains('=')).collect();
                if !kv.is_empty() {
                    let k = kv[i % kv.len()];
                    let key = lines[k].split('=').next().unwrap_or_default().to_string();
                    lines[k] = format!("{key}= {v}");
                }
            }
            Mutation::DuplicateTable(i) => {
                let heads: Vec<usize> = (0..l).filter(|&k| lines[k].trim_start().starts_with('[')).collect();
                if !heads.is_empty() {
                    let h = heads[i % heads.len()];
                    let end = heads.iter().copied().find(|&k| k > h).unwrap_or(l);
                    let table: Vec<String> = lines[h..end].to_vec();
                    lines.extend(table);
                }
            }
            _ => {}
        }
        text = if by_lines { lines.join("\n") } else { String::from_utf8_lossy(&bytes).into_owned() };
    }
    text
}

/// The line an error's `line L, column C` location points at, and C.
fn line_at<'t>(text: &'t str, location: &str) -> Option<(&'t str, usize)> {
    let (l, c) = location.strip_prefix("line ")?.split_once(", column ")?;
    let (l, c) = (l.parse::<usize>().ok()?, c.parse::<usize>().ok()?);
    Some((text.split('\n').nth(l.checked_sub(1)?)?, c))
}

fn check_config(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, "fuzz.toml") {
        Err(errs) => {
            prop_assert!(!errs.errors.is_empty(), "Err without errors");
            for e in &errs.errors {
                prop_assert!(!e.location.trim().is_empty(), "error without a location: {:?}", e);
                prop_assert!(
                    !e.message.trim().is_empty(),
                    "error without a message: {:?} at {:?}",
                    e,
                    line_at(text, &e.location)
                );
            }
            prop_assert!(!errs.to_string().is_empty());
        }
        Ok(mut cfg) => {
            // A config that validates must also build and run: nothing may write outside a
            // temp dir, so data and prompts move there.
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            cfg.general.data_dir = dir.path().join("data");
            cfg.general.prompts_dir = Some(dir.path().join("prompts"));
            let gw = trunkd::gateway::Gateway::build(&cfg);
            prop_assert!(gw.is_ok(), "validated config does not build: {:?}", gw.err().map(|e| e.to_string()));
            let mut gw = gw.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut now = Instant::ZERO;
            for _ in 0..CONFIG_RUN_TICKS {
                now += TICK;
                gw.step(now);
                gw.engine.drain_events().for_each(drop);
                if let Some(f) = gw.far.as_mut() {
                    f.drain_events();
                }
            }
            gw.engine.begin_shutdown(Cause::TemporaryFailure);
            gw.engine.finish();
            if let Some(f) = gw.far.as_mut() {
                f.engine.begin_shutdown(Cause::NormalClearing);
                f.engine.finish();
            }
        }
    }
    Ok(())
}

/// Ticks a gateway built from a mutated config runs (the demo's first callers start at 0.5 s).
const CONFIG_RUN_TICKS: u32 = 60;

proptest! {
    #![proptest_config(PropConfig { cases: 160, failure_persistence: None, ..PropConfig::default() })]

    #[test]
    fn config_parse_never_panics(which in any::<usize>(), muts in vec(mutation(), 1..8)) {
        let configs = shipped_configs();
        let (_name, base) = &configs[which % configs.len()];
        let text = mutate(base, &muts);
        check_config(&text)?;
    }

    #[test]
    fn config_parse_never_panics_on_noise(text in "\\PC{0,300}") {
        check_config(&text)?;
    }
}

// ---------------------------------------------------------------- caller steps and patterns

fn step_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec![
            "wait",
            "dtmf",
            "tone",
            "play",
            "hangup",
            "WAIT",
            " ",
            "  ",
            "\t",
            "\n",
            "-1",
            "NaN",
            "inf",
            "-inf",
            "1e10",
            "1e-10",
            "0",
            "3600000",
            "3600001",
            "18446744073709551616",
            "50",
            "3800",
            "3800.0001",
            "#",
            "*",
            "ABCD",
            "∞",
            "١٢٣",
            "\u{0}",
            "\u{202e}",
        ])
        .prop_map(String::from),
        "[0-9]{1,25}",
        "\\PC{1,3}",
    ];
    vec(token, 0..6).prop_map(|v| v.concat())
}

fn pattern_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec![
            "_",
            "X",
            "Z",
            "N",
            "x",
            "z",
            "n",
            ".",
            "[",
            "]",
            "-",
            "0",
            "1",
            "5",
            "9",
            "*",
            "#",
            "A",
            "D",
            "[1-5]",
            "[9-1]",
            "[-]",
            "[0-]",
            "[-5]",
            "[]",
            "[#-9]",
            "é",
            "\u{10ffff}",
            "-\u{10ffff}",
        ])
        .prop_map(String::from),
        "\\PC{1,2}",
    ];
    vec(token, 0..10).prop_map(|v| v.concat())
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9*#A-D]{0,16}", "\\PC{0,8}"]
}

proptest! {
    #![proptest_config(PropConfig { cases: 1000, failure_persistence: None, ..PropConfig::default() })]

    #[test]
    fn caller_steps_parse_without_panicking(s in prop_oneof![step_text(), any::<String>()]) {
        match CallerStep::parse(&s) {
            Ok(CallerStep::Wait(d)) => prop_assert!(d <= Duration::from_secs(3600)),
            Ok(CallerStep::Tone(hz, d)) => {
                prop_assert!((50.0..=3800.0).contains(&hz), "{}", hz);
                prop_assert!(d <= Duration::from_secs(3600));
            }
            Ok(_) => {}
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn patterns_parse_and_match_without_panicking(
        p in prop_oneof![pattern_text().prop_map(|s| format!("_{s}")), pattern_text(), any::<String>()],
        numbers in vec(number_text(), 0..6),
    ) {
        match Pattern::parse(&p) {
            Ok(pat) => {
                for n in &numbers {
                    let _ = pat.matches(n);
                }
                if !p.starts_with('_') {
                    prop_assert!(pat.matches(&p), "exact pattern {:?} does not match itself", p);
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn small_parsers_do_not_panic(s in any::<String>(), g in "[a-z*\\-]{0,8}", name in "[a-z\\-]{0,10}") {
        let _ = Cause::from_name(&s);
        let _ = Abcd::parse(&s);
        let _ = trunkd::signalling::em::parse_abcd(&s);
        // `glob_match` backtracks, exponentially in the number of `*`: keep globs small here.
        let _ = glob_match(&g, &name);
        if !g.contains('*') {
            prop_assert_eq!(glob_match(&g, &name), g == name);
        }
    }
}

// ---------------------------------------------------------------- regressions (bugs these tests found)

/// Regression: a key without a value at the end of the file, a bare carriage return or a
/// control character in a comment gives an error without a message (toml 0.8's `message()`
/// is empty for these; `Config::parse` substitutes one).
#[test]
fn every_config_error_has_a_message() {
    for text in ["[general]\nzone =", "[general]\n\rzone = \"cn\"\n", "[general]\n# a \u{8} in a comment\n"] {
        let Err(errs) = Config::parse(text, "x.toml") else { panic!("{text:?} is not valid TOML") };
        for e in &errs.errors {
            assert!(!e.message.trim().is_empty(), "{text:?}: {e:?} ({errs})");
        }
    }
}

/// An application that runs `on_start` when started and records what it is told.
struct Probe {
    on_start: Vec<AppCmd>,
    seen: Arc<Mutex<Vec<AppEvent>>>,
}

/// A probe application and what it will have seen.
fn probe(on_start: Vec<AppCmd>) -> (Box<dyn Application>, Arc<Mutex<Vec<AppEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    (Box::new(Probe { on_start, seen: seen.clone() }), seen)
}

impl Application for Probe {
    fn name(&self) -> &str {
        "probe"
    }

    fn on_event(&mut self, event: AppEvent, _call: &CallInfo, out: &mut Vec<AppCmd>) {
        if event == AppEvent::Start {
            out.append(&mut self.on_start);
        }
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }
}

/// Incoming calls are refused at once (the application hangs up with USER_BUSY).
fn refusing() -> Routing {
    Routing::App(Box::new(|| probe(vec![AppCmd::Hangup(Cause::UserBusy)]).0))
}

fn far(wire: &Mutex<Wire>, span: usize, chan: u16, event: LineEvent) {
    lock(wire).pending.push(BackendEvent::Line { span, chan, event });
}

fn run_ticks(engine: &mut Engine, now: &mut Instant, ticks: u32, events: &mut Vec<CoreEvent>) {
    for _ in 0..ticks {
        *now += TICK;
        engine.step(*now);
        events.extend(engine.drain_events());
    }
}

/// Regression: a channel the far end touched and then left idle again without a call being
/// offered used to stay "active" in the engine forever (`is_idle()` never true, `originate`
/// never using it again): a phone picked up and put down without dialling, a CO line that
/// rings once, a seizure abandoned during our wink, a card reporting idle CAS bits. The
/// engine guessed from line events; it now asks the stack (`SignallingCore::is_idle`).
#[test]
fn channels_return_to_service_after_the_far_end_gives_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wire = Arc::new(Mutex::new(Wire::new(1)));
    let mut engine = build_engine(&wire, refusing(), dir.path());
    let (mut now, mut events) = (Instant::ZERO, Vec::new());
    for port in 0..PORTS {
        far(&wire, FXS, port, LineEvent::Hook(HookEvent::OffHook));
        far(&wire, FXO, port, LineEvent::Hook(HookEvent::RingBegin));
    }
    for ts in (1..=31u16).filter(|t| *t != 16) {
        let bits = if ts % 2 == 0 { CAS_OFF_HOOK } else { CAS_ON_HOOK };
        far(&wire, E1, ts, LineEvent::Cas(Abcd::new(bits)));
    }
    run_ticks(&mut engine, &mut now, 5, &mut events);
    for port in 0..PORTS {
        far(&wire, FXS, port, LineEvent::Hook(HookEvent::OnHook));
    }
    for ts in (2..=30u16).step_by(2) {
        far(&wire, E1, ts, LineEvent::Cas(Abcd::new(CAS_ON_HOOK)));
    }
    // The CO's ring timeout is 8 s; everything is over well within 15 s.
    run_ticks(&mut engine, &mut now, 750, &mut events);
    assert!(events.iter().all(|e| e.call.is_none()), "no call was offered: {events:?}");
    let states: Vec<String> = engine.channels_status().iter().map(|c| format!("{}={}", c.device, c.state)).collect();
    assert!(engine.is_idle(), "the far end is idle everywhere, so must the engine be: {states:?}");
    for group in ["e1", "fxs", "fxo"] {
        let r = engine.originate(group, "1", Party::default(), None);
        assert!(r.is_ok(), "{group}: {r:?}");
    }
}

/// Regression: `AppCmd::Bridge` whose outgoing leg the stack refused synchronously (an FXO
/// port still ringing out a call we refused) never completed: the leg ended inside
/// `originate` before `exec` linked it. Now legs are linked before the stack hears of the
/// call, and the engine asks the stack which ports are idle, so the bridge takes the free
/// port or ends (found by `engine_survives_a_hostile_wire`).
#[test]
fn bridge_to_a_refusing_channel_completes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wire = Arc::new(Mutex::new(Wire::new(1)));
    let mut engine = build_engine(&wire, refusing(), dir.path());
    let (mut now, mut events) = (Instant::ZERO, Vec::new());
    // The CO rings fxo/0; we refuse; the port rings out (8 s) but is free for the engine.
    far(&wire, FXO, 0, LineEvent::Hook(HookEvent::RingBegin));
    run_ticks(&mut engine, &mut now, 50, &mut events);
    far(&wire, FXO, 0, LineEvent::Hook(HookEvent::RingEnd));
    run_ticks(&mut engine, &mut now, 5, &mut events);
    // A phone answers our call and its application bridges out on the FXO lines.
    let bridge =
        AppCmd::Bridge(DialTarget { group: "fxo".into(), number: "5".into(), timeout: Duration::from_secs(2) });
    let (app, seen) = probe(vec![bridge]);
    let a = engine.originate("fxs", "", Party::default(), Some(app)).expect("fxs/0 is idle");
    run_ticks(&mut engine, &mut now, 5, &mut events);
    far(&wire, FXS, 0, LineEvent::Hook(HookEvent::OffHook));
    run_ticks(&mut engine, &mut now, 150, &mut events);
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Either the bridge found another port and connected, or it ended: never left dialling.
    let status = engine.calls_status();
    let connected = status.iter().any(|c| c.id == a && c.state == "bridged");
    assert!(
        connected || seen.iter().any(|e| matches!(e, AppEvent::Done(OpResult::BridgeEnded { connected: false, .. }))),
        "call {a}: the bridge must connect or end within its 2 s timeout; the application saw {seen:?}; calls: {status:?}"
    );
}

/// Regression (found here, fixed in 488354f): when a stack releases a channel synchronously
/// on our hang-up (an FXS port still ringing), the `Released` used to clear the call with
/// NORMAL_CLEARING before `local_hangup` could clear it with the cause it was given, so a
/// bridge to a phone that does not answer ended with NORMAL_CLEARING instead of NO_ANSWER.
#[test]
fn hangup_cause_is_kept_when_the_stack_releases_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wire = Arc::new(Mutex::new(Wire::new(1)));
    let mut engine = build_engine(&wire, refusing(), dir.path());
    let (mut now, mut events) = (Instant::ZERO, Vec::new());
    let ringing = engine.originate("fxs", "", Party::default(), None).expect("fxs/0 is idle");
    run_ticks(&mut engine, &mut now, 5, &mut events);
    engine.hangup(ringing, Cause::NoAnswer);
    // An unanswered bridge to the phones: the B-leg is cleared with NO_ANSWER at the timeout.
    let bridge =
        AppCmd::Bridge(DialTarget { group: "fxs".into(), number: String::new(), timeout: Duration::from_secs(1) });
    let (app, seen) = probe(vec![bridge]);
    engine.originate("fxo", "7", Party::default(), Some(app)).expect("fxo/0 is idle");
    run_ticks(&mut engine, &mut now, 200, &mut events);
    let cause = events.iter().find_map(|e| match e.kind {
        EventKind::Ended { cause, .. } if e.call == Some(ringing) => Some(cause),
        _ => None,
    });
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(cause, Some(Cause::NoAnswer), "cause of the call hung up while ringing");
    assert!(
        seen.contains(&AppEvent::Done(OpResult::BridgeEnded { cause: Cause::NoAnswer, connected: false })),
        "the bridge's application saw {seen:?}"
    );
}

/// Regression: a simulated caller starting later than `u64::MAX / 1000` ms used to pass
/// validation and then panic `Gateway::build` (`Instant::from_millis` overflowed). Now the
/// start time is bounded in validation, and `from_millis` saturates anyway.
#[test]
fn huge_sim_caller_start_time_is_refused_not_a_panic() {
    let text = "[[line]]\nname = \"pstn\"\nbackend = \"sim\"\nkind = \"fxo\"\n\n\
                [[sim.caller]]\nvia = \"pstn\"\nat_ms = 18446744073709552\n";
    let err = Config::parse(text, "x.toml").expect_err("an absurd start time is refused");
    assert_eq!(err.errors[0].location, "sim.caller[0].at_ms", "{err}");
    assert_eq!(Instant::from_millis(u64::MAX), Instant::from_micros(u64::MAX));
}
