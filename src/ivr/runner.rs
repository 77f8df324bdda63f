//! `trunkd ivr test`: runs a script on a simulated call in virtual time and prints what
//! happened, so a script author can test call flows in seconds and in CI.
//!
//! The call is real as far as the gateway goes: a simulated telephone on an FXS port
//! (its line number is the caller's number) dials the called number; the FXS stack
//! collects it and offers the call; the route runs the script. The telephone then
//! follows the caller steps (`wait MS`, `dtmf D`, `tone HZ MS`, `hangup`), counted from
//! the moment the script answers (the port reverses polarity on answer, and the phone
//! waits for that), and records what it heard. A second line group, `phones`, has two
//! telephones that answer after two seconds, so scripts can bridge (`phones/…`).

use crate::backend::line::PathKind;
use crate::backend::sim::{self, SimSpanSpec};
use crate::backend::Backend;
use crate::config::{IvrConfig, RouteConfig};
use crate::core::apps::{CallerScript, CallerStep};
use crate::core::event::{CoreEvent, EventKind};
use crate::core::router::Router;
use crate::core::{Engine, GroupSetup, Routing};
use crate::dsp::g711::Law;
use crate::dsp::zone::builtin_zone;
use crate::ivr::host::ScriptHost;
use crate::signalling::analog::{AnalogLines, FxoProfile, FxsProfile};
use crate::signalling::Party;
use crate::time::Instant;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to run and how the caller behaves.
#[derive(Clone, Debug)]
pub struct TestCall {
    pub script: PathBuf,
    pub args: Vec<String>,
    pub caller: String,
    pub called: String,
    pub steps: Vec<CallerStep>,
    pub prompts_dir: PathBuf,
    /// Recordings and the caller's recording land here.
    pub data_dir: PathBuf,
    pub ivr: IvrConfig,
    pub zone: String,
    /// Give up after this much virtual time.
    pub max: Duration,
}

/// Why a test call could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("unknown tone zone `{0}`")]
    Zone(String),
    #[error("{0}: not a script file")]
    NoScript(PathBuf),
    #[error("the simulated caller could not dial: {0}")]
    Dial(String),
}

/// What happened on the call, in order.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    pub events: Vec<CoreEvent>,
    /// What the caller heard, recorded on the caller's side.
    pub heard: Option<PathBuf>,
    /// The call did not end within the time limit.
    pub timed_out: bool,
}

/// Runs the call to its end (or `max`).
pub fn run(t: &TestCall) -> Result<Transcript, RunnerError> {
    let zone = builtin_zone(&t.zone).ok_or_else(|| RunnerError::Zone(t.zone.clone()))?;
    let name = t.script.file_name().and_then(|n| n.to_str()).ok_or_else(|| RunnerError::NoScript(t.script.clone()))?;
    let dir = t.script.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let ivr = IvrConfig { scripts_dir: dir, ..t.ivr.clone() };
    let route = RouteConfig::script(name, t.args.clone());
    let specs = [
        SimSpanSpec::Analog { name: "test".into(), law: Law::Alaw, near: PathKind::Fxs, ports: 1 },
        SimSpanSpec::Analog { name: "phones".into(), law: Law::Alaw, near: PathKind::Fxs, ports: 2 },
    ];
    let (near_b, far_b, _) = sim::pair(&specs);
    let fxs = FxsProfile {
        number: t.caller.as_str().into(),
        answer_polarity: true,
        ring_cadence: zone.ring_cadence.clone(),
        inter_digit_timeout_ms: 2000,
        ..FxsProfile::default()
    };
    let fxo = FxoProfile { answer_on_polarity: true, ..FxoProfile::default() };
    let phones = FxsProfile { ring_cadence: zone.ring_cadence.clone(), ..FxsProfile::default() };
    let near = Engine::new(
        vec![Box::new(near_b) as Box<dyn Backend>],
        vec![
            GroupSetup {
                name: "test".into(),
                backend: 0,
                span: 0,
                sig: Box::new(AnalogLines::fxs(fxs, 1)),
                zone: zone.clone(),
            },
            GroupSetup {
                name: "phones".into(),
                backend: 0,
                span: 1,
                sig: Box::new(AnalogLines::fxs(phones, 2)),
                zone: zone.clone(),
            },
        ],
        Routing::Table(Router::new(&[route]), Box::new(ScriptHost::new(&ivr))),
        t.data_dir.clone(),
        t.prompts_dir.clone(),
    );
    let mut far = Engine::new(
        vec![Box::new(far_b) as Box<dyn Backend>],
        vec![
            GroupSetup {
                name: "test".into(),
                backend: 0,
                span: 0,
                sig: Box::new(AnalogLines::fxo(fxo, 1)),
                zone: zone.clone(),
            },
            GroupSetup {
                name: "phones".into(),
                backend: 0,
                span: 1,
                sig: Box::new(AnalogLines::fxo(FxoProfile::default(), 2)),
                zone,
            },
        ],
        Routing::App(Box::new(|| Box::new(crate::core::apps::Callee::new(Duration::from_secs(2))))),
        t.data_dir.join("caller"),
        t.prompts_dir.clone(),
    );
    let heard = t.data_dir.join("caller/heard.wav");
    let app = CallerScript::new(t.steps.clone(), Some(heard.clone()));
    let dialled = format!("{}#", t.called);
    far.originate("test", &dialled, Party::default(), Some(Box::new(app)))
        .map_err(|e| RunnerError::Dial(e.to_string()))?;

    let mut near = near;
    let mut tr = Transcript { heard: Some(heard), ..Transcript::default() };
    let mut now = Instant::ZERO;
    let mut seen_call = false;
    let end = Instant::ZERO + t.max;
    loop {
        now += Duration::from_millis(20);
        near.step(now);
        far.step(now);
        for ev in near.drain_events() {
            seen_call |= ev.call.is_some();
            tr.events.push(ev);
        }
        far.drain_events().for_each(drop);
        // The script's call (the first one) has ended and nothing is left.
        let first = tr.events.iter().find_map(|e| e.call);
        let ended = tr.events.iter().any(|e| matches!(e.kind, EventKind::Ended { .. }) && e.call == first);
        if (seen_call && ended && near.active_calls() == 0) || now >= end {
            tr.timed_out = now >= end && !ended;
            break;
        }
    }
    near.begin_shutdown(crate::signalling::Cause::NormalClearing);
    far.begin_shutdown(crate::signalling::Cause::NormalClearing);
    for _ in 0..5 {
        now += Duration::from_millis(20);
        near.step(now);
        far.step(now);
    }
    near.finish();
    far.finish();
    tr.events.extend(near.drain_events());
    Ok(tr)
}

impl Transcript {
    /// One line per event a script author cares about.
    pub fn lines(&self) -> Vec<String> {
        let first = self.events.iter().find_map(|e| e.call);
        self.events
            .iter()
            .filter_map(|e| {
                let what = match &e.kind {
                    EventKind::Offered { called, caller, .. } => {
                        format!("call from {} to {}", caller.number.reveal(), called)
                    }
                    EventKind::Routed { route } => format!("runs {}", route.trim_start_matches("route[0] ")),
                    EventKind::Answered => "answered".into(),
                    EventKind::Alerting => "ringing".into(),
                    EventKind::Playing { what } => format!("play {what}"),
                    EventKind::Digit(d) => format!("caller pressed {d}"),
                    EventKind::Collected { digits, timed_out } => {
                        format!("collected \"{digits}\"{}", if *timed_out { " (timeout)" } else { "" })
                    }
                    EventKind::VarSet { name, value } => format!("set {name} = {value}"),
                    EventKind::AppLog { level, message } => format!("log {level:?}: {message}"),
                    EventKind::Custom { name, fields } => {
                        let f: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("event {name} {}", f.join(" "))
                    }
                    EventKind::RecordingFinished { path, duration, error: None } => {
                        format!("recorded {:.1}s {}", duration.as_secs_f32(), path.display())
                    }
                    EventKind::RecordingFinished { path, error: Some(e), .. } => {
                        format!("recording {} failed: {e}", path.display())
                    }
                    EventKind::Bridged { peer } => format!("bridged with call {peer}"),
                    EventKind::Problem(p) => format!("problem: {p}"),
                    EventKind::Ended { cause, .. } => format!("hangup {}", cause.name()),
                    _ => return None,
                };
                let ms = e.at.as_millis();
                // Other legs (a bridge's outgoing call) are marked as such.
                let leg = match e.call {
                    Some(id) if Some(id) != first => format!("[call {id}] "),
                    _ => String::new(),
                };
                Some(format!("{:>4}.{:02}s  {leg}{what}", ms / 1000, (ms % 1000) / 10))
            })
            .collect()
    }

    /// Checks one `--expect`: `played=FILE`, `collected=DIGITS`, `var:NAME=VALUE`,
    /// `cause=NAME`, `answered`, `not-answered`, `recorded`, `log~TEXT`, `event=NAME`,
    /// `no-errors`. Returns whether it holds, or an error for an unknown form.
    pub fn expect(&self, e: &str) -> Result<bool, String> {
        let kinds = || self.events.iter().map(|e| &e.kind);
        if let Some(v) = e.strip_prefix("played=") {
            return Ok(kinds().any(|k| matches!(k, EventKind::Playing { what } if what.contains(v))));
        }
        if let Some(v) = e.strip_prefix("collected=") {
            return Ok(kinds().any(|k| matches!(k, EventKind::Collected { digits, .. } if digits == v)));
        }
        if let Some(v) = e.strip_prefix("var:") {
            let (n, val) = v.split_once('=').ok_or_else(|| format!("`{e}`: expected var:NAME=VALUE"))?;
            let last = kinds().rev().find_map(|k| match k {
                EventKind::VarSet { name, value } if name == n => Some(value.clone()),
                _ => None,
            });
            return Ok(last.as_deref() == Some(val));
        }
        if let Some(v) = e.strip_prefix("cause=") {
            return Ok(kinds().any(|k| matches!(k, EventKind::Ended { cause, .. } if cause.name().eq_ignore_ascii_case(v) || cause.code().to_string() == v)));
        }
        if let Some(v) = e.strip_prefix("log~") {
            return Ok(kinds().any(|k| matches!(k, EventKind::AppLog { message, .. } if message.contains(v))));
        }
        if let Some(v) = e.strip_prefix("event=") {
            return Ok(kinds().any(|k| matches!(k, EventKind::Custom { name, .. } if name == v)));
        }
        match e {
            "answered" => Ok(kinds().any(|k| matches!(k, EventKind::Answered))),
            "not-answered" => Ok(!kinds().any(|k| matches!(k, EventKind::Answered))),
            "recorded" => Ok(kinds().any(|k| matches!(k, EventKind::RecordingFinished { error: None, .. }))),
            "no-errors" => Ok(!kinds().any(|k| {
                matches!(k, EventKind::Problem(_))
                    || matches!(k, EventKind::AppLog { level: crate::core::app::LogLevel::Error, .. })
            })),
            _ => Err(format!(
                "`{e}`: unknown expectation (played=, collected=, var:NAME=, cause=, log~, event=, answered, not-answered, recorded, no-errors)"
            )),
        }
    }
}
