//! Assembles a running gateway from a config: backends, signalling stacks, the call
//! core, and — for simulated spans and lines — the simulated far end, which is a second
//! call core running the mirror-image stacks (a central office behind our FXO ports, a
//! telephone on our FXS ports, the carrier's E&M trunk on our E1).

use crate::backend::line::PathKind;
use crate::backend::sim::{self, SimControl, SimSpanSpec, Ts16, WirePort, WirePortError};
use crate::backend::Backend;
use crate::config::{BackendKind, Config, LineKind, SimCaller, SpanSignalling};
use crate::core::apps::{Callee, CallerScript, CallerStep};
use crate::core::event::CoreEvent;
use crate::core::router::Router;
use crate::core::{Engine, GroupSetup, Routing};
use crate::dsp::g711::Law;
use crate::dsp::zone::{builtin_zone, ToneZone};
use crate::ivr::host::ScriptHost;
use crate::plugin::chain::PluginChain;
use crate::signalling::analog::{AnalogLines, CidListen, FxoProfile, FxsProfile};
use crate::signalling::em::EmSpan;
use crate::signalling::pri::{PriSpan, Side};
use crate::signalling::{Party, SignallingCore};
use crate::time::Instant;
use std::path::PathBuf;
use std::time::Duration;

/// Why a gateway could not be built from a (validated) config.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("unknown tone zone `{0}`")]
    Zone(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    WireSocket(#[from] WirePortError),
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    Dahdi(#[from] crate::backend::dahdi::DahdiError),
}

/// The daemon's engine plus the simulated world around it.
pub struct Gateway {
    pub engine: Engine,
    pub far: Option<FarEnd>,
    /// Simulated spans whose far end is an external program on a Unix socket.
    pub ports: Vec<WirePort>,
}

/// A group's name, span index, signalling stack and tone zone.
type Sig = (String, usize, Box<dyn SignallingCore>, ToneZone);

/// The simulated far end: its own engine, the scheduled callers, and the wire controls.
pub struct FarEnd {
    pub engine: Engine,
    pub control: SimControl,
    callers: Vec<Schedule>,
    placed: u64,
}

struct Schedule {
    cfg: SimCaller,
    steps: Vec<CallerStep>,
    next: Option<Instant>,
    placed: u32,
}

/// The routing plugin chain of a config, if it lists plugins.
pub fn plugin_chain(cfg: &Config) -> Option<Box<dyn crate::core::router::RouteAdvisor>> {
    if cfg.plugins.is_empty() {
        return None;
    }
    let budget = Duration::from_millis(cfg.general.plugin_timeout_ms);
    let chain = PluginChain::start(plugin_host_exe(), cfg.plugins.clone(), budget, true);
    Some(Box::new(chain))
}

/// The program that hosts plugins: `$TRUNKD_PLUGIN_HOST`, else this binary when it is
/// trunkd, else the `trunkd` built next to it (a test binary in target/*/deps builds a
/// gateway too, and must never be re-run as a plugin host).
pub fn plugin_host_exe() -> PathBuf {
    if let Some(p) = std::env::var_os("TRUNKD_PLUGIN_HOST") {
        return PathBuf::from(p);
    }
    let Ok(me) = std::env::current_exe() else { return PathBuf::from("trunkd") };
    if me.file_name().is_some_and(|n| n == "trunkd") {
        return me;
    }
    me.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("trunkd"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("trunkd"))
}

fn zone_for(cfg: &Config, name: Option<&String>) -> Result<ToneZone, BuildError> {
    let z = name.unwrap_or(&cfg.general.zone);
    builtin_zone(z).ok_or_else(|| BuildError::Zone(z.clone()))
}

fn fxs_profile(p: &FxsProfile, zone: &ToneZone) -> FxsProfile {
    let mut p = p.clone();
    if p.ring_cadence.is_empty() {
        p.ring_cadence = zone.ring_cadence.clone();
    }
    p
}

/// The simulated telephones on an FXS line: `fxo` of the line, except that a phone waits
/// for caller ID only when our port sends some (otherwise it would ring a while longer
/// than a real phone before its simulated user answers).
fn sim_phone(l: &crate::config::LineConfig) -> FxoProfile {
    let mut p = l.fxo.clone();
    if l.fxs.caller_id.is_none() {
        p.caller_id = CidListen::OFF;
    }
    p
}

/// The spans and lines on real hardware, gathered before the backend opens them all.
#[derive(Default)]
struct Hardware {
    #[cfg(target_os = "linux")]
    specs: Vec<crate::backend::dahdi::DahdiSpanSpec>,
    sigs: Vec<Sig>,
}

#[cfg(target_os = "linux")]
impl Hardware {
    fn span(
        &mut self,
        s: &crate::config::SpanConfig,
        law: Law,
        sig: Box<dyn SignallingCore>,
        zone: ToneZone,
    ) -> Result<(), BuildError> {
        use crate::backend::{dahdi, SpanKind};
        let d = s.dahdi.as_ref().ok_or_else(|| BuildError::Unsupported(format!("span `{}`: no `dahdi`", s.name)))?;
        let channels = dahdi::e1_channels(d.span as i32, s.signalling == SpanSignalling::Pri);
        self.sigs.push((s.name.clone(), self.specs.len(), sig, zone));
        self.specs.push(dahdi::DahdiSpanSpec {
            name: s.name.clone(),
            kind: SpanKind::E1,
            law,
            channels,
            echo_taps: d.echo_cancel,
        });
        Ok(())
    }

    fn line(
        &mut self,
        l: &crate::config::LineConfig,
        law: Law,
        sig: Box<dyn SignallingCore>,
        zone: ToneZone,
    ) -> Result<(), BuildError> {
        use crate::backend::{dahdi, SpanKind};
        let d = l.dahdi.as_ref().ok_or_else(|| BuildError::Unsupported(format!("line `{}`: no `dahdi`", l.name)))?;
        let path = match l.kind {
            LineKind::Fxs => PathKind::Fxs,
            LineKind::Fxo => PathKind::Fxo,
        };
        let channels = (d.channels.0.iter().enumerate())
            .map(|(port, &n)| dahdi::DahdiChanSpec {
                number: port as u16,
                addr: dahdi::ChanAddr::Channo(n as i32),
                path,
            })
            .collect();
        self.sigs.push((l.name.clone(), self.specs.len(), sig, zone));
        self.specs.push(dahdi::DahdiSpanSpec {
            name: l.name.clone(),
            kind: SpanKind::Analog,
            law,
            channels,
            echo_taps: d.echo_cancel,
        });
        Ok(())
    }

    /// Opens the DAHDI backend when any span or line uses it.
    fn open(&self) -> Result<Option<Box<dyn Backend>>, BuildError> {
        if self.specs.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(crate::backend::dahdi::DahdiBackend::open(&self.specs)?)))
    }
}

#[cfg(not(target_os = "linux"))]
impl Hardware {
    fn span(
        &mut self,
        s: &crate::config::SpanConfig,
        _: Law,
        _: Box<dyn SignallingCore>,
        _: ToneZone,
    ) -> Result<(), BuildError> {
        Err(BuildError::Unsupported(format!("span `{}`: DAHDI needs Linux", s.name)))
    }
    fn line(
        &mut self,
        l: &crate::config::LineConfig,
        _: Law,
        _: Box<dyn SignallingCore>,
        _: ToneZone,
    ) -> Result<(), BuildError> {
        Err(BuildError::Unsupported(format!("line `{}`: DAHDI needs Linux", l.name)))
    }
    fn open(&self) -> Result<Option<Box<dyn Backend>>, BuildError> {
        Ok(None)
    }
}

impl Gateway {
    /// Builds everything; `cfg` must have passed `Config::validate`.
    pub fn build(cfg: &Config) -> Result<Gateway, BuildError> {
        let mut specs = Vec::new();
        let mut near_sigs: Vec<Sig> = Vec::new();
        let mut far_sigs: Vec<Sig> = Vec::new();
        let mut sockets = Vec::new();
        let mut hw = Hardware::default();
        for s in &cfg.spans {
            let zone = zone_for(cfg, s.zone.as_ref())?;
            let law = s.law.unwrap_or(cfg.general.law);
            if s.backend == BackendKind::Dahdi {
                let sig: Box<dyn SignallingCore> = match s.signalling {
                    SpanSignalling::Pri => {
                        let profile = s.pri.profile().map_err(|e| BuildError::Unsupported(e.to_string()))?;
                        Box::new(PriSpan::new(s.pri.side, profile, law == Law::Alaw))
                    }
                    SpanSignalling::Em => {
                        let chans: Vec<u16> = (1..=31).filter(|t| *t != 16).collect();
                        Box::new(EmSpan::new(s.em.clone(), &chans))
                    }
                };
                hw.span(s, law, sig, zone)?;
                continue;
            }
            match s.signalling {
                SpanSignalling::Pri => {
                    let span = specs.len();
                    specs.push(SimSpanSpec::E1 { name: s.name.clone(), law, ts16: Ts16::Dchan });
                    let profile = s.pri.profile().map_err(|e| BuildError::Unsupported(e.to_string()))?;
                    let alaw = law == Law::Alaw;
                    let near = PriSpan::new(s.pri.side, profile.clone(), alaw);
                    near_sigs.push((s.name.clone(), span, Box::new(near), zone.clone()));
                    match &s.wire_socket {
                        Some(path) => sockets.push((span, path.clone())),
                        None => {
                            // The simulated far end is the other side of the interface.
                            let far_side = if s.pri.side == Side::Te { Side::Nt } else { Side::Te };
                            far_sigs.push((s.name.clone(), span, Box::new(PriSpan::new(far_side, profile, alaw)), zone))
                        }
                    }
                }
                SpanSignalling::Em => {
                    let span = specs.len();
                    specs.push(SimSpanSpec::E1 { name: s.name.clone(), law, ts16: Ts16::Cas });
                    let chans: Vec<u16> = (1..=31).filter(|t| *t != 16).collect();
                    near_sigs.push((s.name.clone(), span, Box::new(EmSpan::new(s.em.clone(), &chans)), zone.clone()));
                    match &s.wire_socket {
                        Some(path) => sockets.push((span, path.clone())),
                        None => {
                            far_sigs.push((s.name.clone(), span, Box::new(EmSpan::new(s.em.clone(), &chans)), zone))
                        }
                    }
                }
            }
        }
        for l in &cfg.lines {
            let zone = zone_for(cfg, l.zone.as_ref())?;
            let law = l.law.unwrap_or(cfg.general.law);
            if l.backend == BackendKind::Dahdi {
                let ports = l.port_count() as usize;
                let sig: Box<dyn SignallingCore> = match l.kind {
                    LineKind::Fxs => Box::new(AnalogLines::fxs(fxs_profile(&l.fxs, &zone), ports)),
                    LineKind::Fxo => Box::new(AnalogLines::fxo(l.fxo.clone(), ports)),
                };
                hw.line(l, law, sig, zone)?;
                continue;
            }
            let (near, nsig, fsig): (PathKind, Box<dyn SignallingCore>, Box<dyn SignallingCore>) = match l.kind {
                // The simulated far end takes the other kind's profile from the same
                // line: a simulated CO sends the caller ID `fxs` describes, a simulated
                // telephone listens as `fxo` says.
                LineKind::Fxs => (
                    PathKind::Fxs,
                    Box::new(AnalogLines::fxs(fxs_profile(&l.fxs, &zone), l.port_count() as usize)),
                    Box::new(AnalogLines::fxo(sim_phone(l), l.port_count() as usize)),
                ),
                LineKind::Fxo => (
                    PathKind::Fxo,
                    Box::new(AnalogLines::fxo(l.fxo.clone(), l.port_count() as usize)),
                    Box::new(AnalogLines::fxs(fxs_profile(&l.fxs, &zone), l.port_count() as usize)),
                ),
            };
            let span = specs.len();
            specs.push(SimSpanSpec::Analog { name: l.name.clone(), law, near, ports: l.port_count() });
            near_sigs.push((l.name.clone(), span, nsig, zone.clone()));
            far_sigs.push((l.name.clone(), span, fsig, zone));
        }
        let data_dir = cfg.general.data_dir.clone();
        let prompts_dir = cfg.general.prompts_dir();
        let (near, far, control) = sim::pair(&specs);
        let groups = |sigs: Vec<Sig>| {
            sigs.into_iter()
                .map(|(name, span, sig, zone)| GroupSetup { name, backend: 0, span, sig, zone })
                .collect::<Vec<_>>()
        };
        let ports = sockets
            .into_iter()
            .map(|(span, path)| WirePort::bind(&control, span, &path))
            .collect::<Result<Vec<_>, _>>()?;
        let has_sim = !specs.is_empty();
        let mut backends = vec![Box::new(near) as Box<dyn Backend>];
        let mut near_groups = groups(near_sigs);
        if let Some(b) = hw.open()? {
            for (name, span, sig, zone) in hw.sigs {
                near_groups.push(GroupSetup { name, backend: backends.len(), span, sig, zone });
            }
            backends.push(b);
        }
        let mut engine = Engine::new(
            backends,
            near_groups,
            Routing::Table(Router::new(&cfg.routes), Box::new(ScriptHost::new(&cfg.ivr))),
            data_dir.clone(),
            prompts_dir.clone(),
        );
        engine.set_advisor(plugin_chain(cfg));
        let far = has_sim.then(|| {
            let engine = Engine::new(
                vec![Box::new(far) as Box<dyn Backend>],
                groups(far_sigs),
                {
                    let ring = Duration::from_millis(cfg.sim.answer_after_ms);
                    Routing::App(Box::new(move || Box::new(Callee::new(ring))))
                },
                data_dir.join("sim"),
                prompts_dir,
            );
            let callers = cfg
                .sim
                .callers
                .iter()
                .map(|c| Schedule {
                    cfg: c.clone(),
                    steps: c.steps.iter().filter_map(|s| CallerStep::parse(s).ok()).collect(),
                    next: Some(Instant::from_millis(c.at_ms)),
                    placed: 0,
                })
                .collect();
            FarEnd { engine, control, callers, placed: 0 }
        });
        Ok(Gateway { engine, far, ports })
    }

    /// Local wall-clock time at `at` (unix seconds and UTC offset), for caller ID's date and
    /// time on both the gateway and the simulated far end.
    pub fn set_wall_clock(&mut self, at: Instant, unix_secs: i64, utc_offset_secs: i32) {
        self.engine.set_wall_clock(at, unix_secs, utc_offset_secs);
        if let Some(f) = &mut self.far {
            f.engine.set_wall_clock(at, unix_secs, utc_offset_secs);
        }
    }

    /// One 20 ms tick of the gateway and of the simulated world.
    pub fn step(&mut self, now: Instant) {
        for p in &mut self.ports {
            p.pump(now);
        }
        self.engine.step(now);
        if let Some(f) = &mut self.far {
            f.step(now);
        }
    }
}

impl FarEnd {
    /// Places due callers, then runs the far end's engine for one tick.
    pub fn step(&mut self, now: Instant) {
        for s in &mut self.callers {
            let Some(at) = s.next else { continue };
            if at > now {
                continue;
            }
            self.placed += 1;
            s.placed += 1;
            // Relative: the far end's engine records under its own data dir (…/sim/recordings).
            let record = PathBuf::from(format!("heard-{}.wav", self.placed));
            let app = CallerScript::new(s.steps.clone(), Some(record));
            if let Err(e) =
                self.engine.originate(&s.cfg.via, &s.cfg.called, Party::number(&s.cfg.caller), Some(Box::new(app)))
            {
                tracing::debug!("simulated caller on {}: {e}", s.cfg.via);
            }
            let more = s.cfg.count == 0 || s.placed < s.cfg.count;
            s.next = match (s.cfg.every_ms, more) {
                (Some(every), true) => Some(at + Duration::from_millis(every)),
                _ => None,
            };
        }
        self.engine.step(now);
    }

    /// True when every scheduled caller has been placed.
    pub fn callers_done(&self) -> bool {
        self.callers.iter().all(|s| s.next.is_none())
    }

    /// Takes the far end's events (for tests and the demo's view of the far side).
    pub fn drain_events(&mut self) -> Vec<CoreEvent> {
        self.engine.drain_events().collect()
    }
}
