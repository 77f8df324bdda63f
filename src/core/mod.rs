//! The call core: channels, calls, applications, bridges and the 20 ms media clock.
//!
//! [`Engine::step`] is the whole heartbeat, called once per 20 ms tick with the current
//! time: it collects backend events and feeds them to the sans-IO signalling stacks,
//! turns their reports into calls, runs applications, and moves one audio frame per
//! channel (receive, DTMF detection, playback or bridging, recording, transmit). The
//! engine itself never reads a clock or sleeps, so the daemon runs it in real time and
//! tests run it in virtual time.

pub mod app;
pub mod apps;
pub mod event;
pub mod media;
pub mod player;
pub mod router;
pub mod status;

use crate::backend::line::{Alarms, PathKind};
use crate::backend::{Backend, BackendEvent, Frame, FRAME_SAMPLES};
use crate::dsp::callerid::{
    CallerIdDetector, CallerIdGenerator, CallerIdMessage, CallerIdReport, CidDateTime, CidDetect, CidTxConfig,
};
use crate::dsp::dtmf::{DtmfDetector, DtmfEventKind, DtmfGenerator, DtmfRxConfig, DtmfTxConfig};
use crate::dsp::faxtone::{FaxTone, FaxToneDetector};
use crate::dsp::level::SilenceDetector;
use crate::dsp::progress::{ProgressConfig, ProgressDetector, ProgressTone};
use crate::dsp::tone::{ToneGenerator, ToneKind};
use crate::dsp::zone::ToneZone;
use crate::signalling::{CallCommand, CallEvent, Cause, Party, SigInput, SigOutput, SignallingCore};
use crate::time::Instant;
use app::{AppCmd, AppEvent, Application, CallInfo, CollectSpec, DialTarget, OpResult, PlayItem, RecordSpec};
use event::LookupOutcome;
use event::{CoreEvent, Direction, EventKind};
use media::prompt::PromptCache;
use media::recorder::{RecordMode, RecorderPool};
use player::{Player, Source};
use router::{Advice, CallerInfo, CallerLookup, RouteAdvisor, RouteQuery, Router};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How an engine decides what runs an incoming call.
pub enum Routing {
    /// The configured routing table (the daemon); `AppMaker` builds the application a
    /// route names (a built-in, a Lua script).
    Table(Router, Box<dyn AppMaker>),
    /// Every incoming call runs the application this makes (the simulated far end's
    /// callee, benchmarks, tests).
    App(AppFactory),
}

/// Makes the application for a new call.
pub type AppFactory = Box<dyn Fn() -> Box<dyn Application> + Send>;

/// Builds the application a route names (`app = "demo"`, `script = "menu.lua"`).
pub trait AppMaker: Send {
    /// Never fails: a route whose application cannot be built gets one that tells the
    /// caller and clears (the maker logs why).
    fn make(&mut self, route: &crate::config::RouteConfig, call: &CallInfo) -> Box<dyn Application>;

    /// For a call the operator places: the application, or why it cannot start. Better a
    /// refusal the operator sees than a call whose far end only hears the fallback.
    fn make_checked(
        &mut self,
        route: &crate::config::RouteConfig,
        call: &CallInfo,
    ) -> Result<Box<dyn Application>, String> {
        Ok(self.make(route, call))
    }
}

/// The built-in applications only.
pub struct BuiltinApps;

impl AppMaker for BuiltinApps {
    fn make(&mut self, route: &crate::config::RouteConfig, _call: &CallInfo) -> Box<dyn Application> {
        Box::new(apps::DemoIvr::new(route.lang.as_deref().unwrap_or("en")))
    }
}

/// One span or line group as the engine runs it.
pub struct GroupSetup {
    pub name: String,
    /// Index into the engine's backends.
    pub backend: usize,
    /// Span index within that backend.
    pub span: usize,
    pub sig: Box<dyn SignallingCore>,
    pub zone: ToneZone,
}

/// Errors from `Engine::originate`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OriginateError {
    #[error("no span or line named `{0}`")]
    NoSuchGroup(String),
    #[error("no idle channel on `{0}`")]
    NoChannel(String),
    #[error("not accepting new calls (shutting down)")]
    ShuttingDown,
    #[error("this engine runs no scripts")]
    NoScripts,
    #[error("script cannot start: {0}")]
    Script(String),
}

struct Chan {
    number: u16,
    audio: bool,
    call: Option<u64>,
    /// The stack had the channel busy at the last tick (refreshed from `is_idle`).
    in_use: bool,
    hangup_sent: bool,
    rx: Frame,
    dtmf: DtmfDetector,
    dtmf_tx: DtmfGenerator,
    sending_digits: bool,
    line_tone: Option<ToneGenerator>,
    /// On-hook caller ID being sent (FXS), before any tone or call audio.
    cid_tx: Option<Box<CallerIdGenerator>>,
    /// The detectors the stack asked for ([`SignallingCore::listen`]), built on demand and
    /// dropped when no longer wanted: a channel whose stack wants nothing costs nothing.
    cid_rx: Option<(CidDetect, Box<CallerIdDetector>)>,
    progress: Option<Box<ProgressDetector>>,
    /// Fax and modem answer tones, on every call.
    fax: Option<Box<FaxToneDetector>>,
    /// Frames left during which our own recent tone may echo back from the line: call
    /// progress is not listened for (a hybrid returns a busy tone we play 20–30 dB down).
    tone_echo_hold: u8,
}

/// Frames (20 ms) after we stop sending a tone before progress detection resumes.
const TONE_ECHO_HOLD_FRAMES: u8 = 25;

impl Chan {
    fn new(number: u16, audio: bool) -> Chan {
        Chan {
            number,
            audio,
            call: None,
            in_use: false,
            hangup_sent: false,
            rx: [0; FRAME_SAMPLES],
            dtmf: DtmfDetector::new(DtmfRxConfig::default()),
            dtmf_tx: DtmfGenerator::new(DtmfTxConfig::default()),
            sending_digits: false,
            line_tone: None,
            cid_tx: None,
            cid_rx: None,
            progress: None,
            fax: None,
            tone_echo_hold: 0,
        }
    }

    /// Back to idle: no tone, no digits queued, a fresh detector.
    fn reset(&mut self) {
        self.in_use = false;
        self.hangup_sent = false;
        self.line_tone = None;
        self.sending_digits = false;
        self.dtmf_tx = DtmfGenerator::new(DtmfTxConfig::default());
        self.dtmf.reset();
        self.cid_tx = None;
        self.progress = None;
        self.fax = None;
    }
}

/// What the receive side heard on a channel this tick, handled once all channels are read.
enum Heard {
    Digit(char),
    CallerId(Box<CallerIdReport>),
    Progress(ProgressTone),
    Fax(FaxTone),
}

struct Group {
    name: String,
    backend: usize,
    span: usize,
    sig: Box<dyn SignallingCore>,
    chans: Vec<Chan>,
    /// Channel number → index in `chans`.
    index: Vec<Option<usize>>,
    zone: ToneZone,
    alarms: Alarms,
}

impl Group {
    fn chan_index(&self, number: u16) -> Option<usize> {
        self.index.get(number as usize).copied().flatten()
    }
    fn device(&self, ci: usize) -> String {
        format!("{}/{}", self.name, self.chans.get(ci).map(|c| c.number).unwrap_or(0))
    }
}

enum Op {
    Play { interrupt: String },
    Collect { spec: CollectSpec, got: String, deadline: Instant },
    Record { spec: RecordSpec, rec: Option<(u64, PathBuf)>, frames: u64, deadline: Instant, silence: SilenceDetector },
    Sleep { until: Instant },
    Bridge { leg: u64, deadline: Instant },
}

struct Call {
    info: CallInfo,
    group: usize,
    chan: usize,
    direction: Direction,
    answered_at: Option<Instant>,
    app: Option<Box<dyn Application>>,
    events: VecDeque<AppEvent>,
    queue: VecDeque<AppCmd>,
    op: Option<Op>,
    digits: String,
    player: Option<Player>,
    recording: Option<(u64, PathBuf)>,
    /// The other leg: for an A-leg the outgoing call it bridges to, for a B-leg its A-leg.
    peer: Option<u64>,
    /// Set on an outgoing leg created by a bridge.
    parent: Option<u64>,
    bridged: bool,
    /// `WatchDigits`: digits during play/sleep/record go to the app, not the buffer.
    watch_digits: bool,
    /// Digits for the app that must be seen while an operation runs.
    urgent: VecDeque<AppEvent>,
}

/// The call core. See the module doc.
pub struct Engine {
    backends: Vec<Box<dyn Backend>>,
    groups: Vec<Group>,
    calls: BTreeMap<u64, Call>,
    next_id: u64,
    routing: Routing,
    /// The routing plugin chain, when configured; calls wait for it in `route_wait`.
    advisor: Option<Box<dyn RouteAdvisor>>,
    /// Offered calls waiting for the advisor, with the time they stop waiting.
    route_wait: BTreeMap<u64, Instant>,
    /// Who the caller is (the CRM over CTI), asked before the advisor and the table.
    lookup: Option<Box<dyn CallerLookup>>,
    lookup_wait: BTreeMap<u64, Instant>,
    /// What a blacklisted caller is cleared with.
    blacklist_cause: Cause,
    /// Tells this run's calls from earlier runs' (call variable `uid`, recording names).
    run_tag: String,
    recorder: Option<RecorderPool>,
    recordings: BTreeMap<u64, (Option<u64>, String, PathBuf)>,
    prompts: PromptCache,
    prompts_dir: PathBuf,
    data_dir: PathBuf,
    events: VecDeque<CoreEvent>,
    accepting: bool,
    now: Instant,
    scratch: Vec<BackendEvent>,
    heard: Vec<(usize, usize, Heard)>,
    /// Local wall-clock time at an instant (unix seconds, UTC offset), for the date and
    /// time in caller ID; the daemon sets it (the core never reads a clock).
    wall_clock: Option<(Instant, i64, i32)>,
    tx_done: Vec<TxDone>,
    ids: Vec<u64>,
}

impl Engine {
    pub fn new(
        backends: Vec<Box<dyn Backend>>,
        groups: Vec<GroupSetup>,
        routing: Routing,
        data_dir: PathBuf,
        prompts_dir: PathBuf,
    ) -> Engine {
        let groups = groups
            .into_iter()
            .map(|g| {
                let desc = backends.get(g.backend).and_then(|b| b.spans().get(g.span)).cloned();
                let chans: Vec<Chan> = desc
                    .map(|d| d.channels)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| c.path != PathKind::Hdlc || !c.audio)
                    .map(|c| Chan::new(c.number, c.audio))
                    .collect();
                let max = chans.iter().map(|c| c.number as usize + 1).max().unwrap_or(0);
                let mut index = vec![None; max];
                for (i, c) in chans.iter().enumerate() {
                    index[c.number as usize] = Some(i);
                }
                Group {
                    name: g.name,
                    backend: g.backend,
                    span: g.span,
                    sig: g.sig,
                    chans,
                    index,
                    zone: g.zone,
                    alarms: Alarms::NONE,
                }
            })
            .collect();
        Engine {
            backends,
            groups,
            calls: BTreeMap::new(),
            next_id: 1,
            routing,
            advisor: None,
            route_wait: BTreeMap::new(),
            lookup: None,
            lookup_wait: BTreeMap::new(),
            blacklist_cause: Cause::CallRejected,
            run_tag: String::new(),
            recorder: RecorderPool::new().map_err(|e| tracing::error!("recorder thread: {e}")).ok(),
            recordings: BTreeMap::new(),
            prompts: PromptCache::default(),
            prompts_dir,
            data_dir,
            events: VecDeque::new(),
            accepting: true,
            now: Instant::ZERO,
            scratch: Vec::new(),
            heard: Vec::new(),
            wall_clock: None,
            tx_done: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// Takes the events produced so far.
    pub fn drain_events(&mut self) -> impl Iterator<Item = CoreEvent> + '_ {
        self.events.drain(..)
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// True when no call exists and every channel is back to idle.
    pub fn is_idle(&self) -> bool {
        self.calls.is_empty()
            && self.groups.iter().all(|g| {
                g.chans.iter().filter(|c| c.audio).all(|c| g.sig.is_idle(c.number) || g.sig.is_blocked(c.number))
            })
    }

    /// The first backend's hardware clock, if any (see [`Backend::media_clock`]).
    pub fn media_clock(&self) -> Option<Box<dyn crate::backend::MediaClock>> {
        self.backends.iter().find_map(|b| b.media_clock())
    }

    /// True when no span reports an alarm that stops calls.
    pub fn spans_up(&self) -> bool {
        self.groups.iter().all(|g| !g.alarms.is_down())
    }

    /// Drops cached prompts so changed files are picked up (SIGHUP).
    pub fn reload_prompts(&mut self) {
        self.prompts.clear();
    }

    /// Replaces the routing table for new calls; calls in progress keep their application.
    pub fn set_routing(&mut self, routing: Routing) {
        self.routing = routing;
    }

    /// Installs (or removes) the routing advisor, the plugin chain. Calls still waiting on
    /// the old one are routed by the table when their wait runs out.
    pub fn set_advisor(&mut self, advisor: Option<Box<dyn RouteAdvisor>>) {
        self.advisor = advisor;
    }

    /// Installs (or removes) the caller lookup (the CRM), and the cause blacklisted callers
    /// are cleared with.
    pub fn set_lookup(&mut self, lookup: Option<Box<dyn CallerLookup>>, blacklist_cause: Cause) {
        self.lookup = lookup;
        self.blacklist_cause = blacklist_cause;
    }

    /// Names this run: calls get the variable `uid` = `<tag>-<id>` (the CTI's leg id), so
    /// recordings named by it never overwrite an earlier run's.
    pub fn set_run_tag(&mut self, tag: &str) {
        self.run_tag = tag.to_string();
    }

    /// The advisor's state (routing plugins), for `trunkd ctl plugins`.
    pub fn advisor_status(&self) -> serde_json::Value {
        self.advisor.as_ref().map(|a| a.status()).unwrap_or(serde_json::Value::Null)
    }

    /// Answers from the advisor, and calls whose wait ran out: both get routed now.
    fn poll_advice(&mut self) {
        let mut answers = Vec::new();
        if let Some(a) = &mut self.advisor {
            while let Some(x) = a.poll() {
                answers.push(x);
            }
        }
        for (id, advice) in answers {
            if self.route_wait.remove(&id).is_some() {
                self.route_call(id, Some(advice));
            }
        }
        let now = self.now;
        let late: Vec<u64> = self.route_wait.iter().filter(|(_, t)| **t <= now).map(|(id, _)| *id).collect();
        for id in late {
            self.route_wait.remove(&id);
            tracing::warn!(call = id, "routing plugins gave no answer in time: static routes decide");
            self.route_call(id, None);
        }
    }

    fn emit(&mut self, call: Option<u64>, device: String, kind: EventKind) {
        self.events.push_back(CoreEvent { at: self.now, call, device, kind });
    }

    fn emit_call(&mut self, id: u64, kind: EventKind) {
        if let Some(a) = &mut self.advisor {
            match &kind {
                EventKind::Answered => a.notify(id, "answered", 0, 0),
                EventKind::Ended { cause, talk, .. } => {
                    a.notify(id, "ended", cause.code(), talk.map(|t| t.as_millis() as u64).unwrap_or(0))
                }
                _ => {}
            }
        }
        let device = self.calls.get(&id).map(|c| c.info.device.clone()).unwrap_or_default();
        self.emit(Some(id), device, kind);
    }

    /// One 20 ms tick at time `now`.
    pub fn step(&mut self, now: Instant) {
        self.now = now;
        // 1. Backend events into the signalling stacks.
        let mut evs = std::mem::take(&mut self.scratch);
        for b in 0..self.backends.len() {
            self.backends[b].poll_events(now, &mut evs);
            for ev in evs.drain(..) {
                self.on_backend_event(b, ev);
            }
        }
        self.scratch = evs;
        // 2. Signalling timers.
        for g in 0..self.groups.len() {
            if self.groups[g].sig.poll_timeout().is_some_and(|t| t <= now) {
                self.groups[g].sig.handle_timeout(now);
            }
            self.drain_sig(g);
        }
        // 3. Receive audio, detect digits, caller ID and tones.
        self.media_rx();
        let mut heard = std::mem::take(&mut self.heard);
        for (g, ci, h) in heard.drain(..) {
            self.on_heard(g, ci, h);
        }
        self.heard = heard;
        // 4. Lookup and routing answers, operation deadlines and applications.
        self.poll_lookups();
        self.poll_advice();
        self.run_timers();
        self.run_apps();
        // 5. Transmit audio (playback, tones, bridges) and record.
        self.media_tx();
        self.poll_recorder();
    }

    fn on_backend_event(&mut self, b: usize, ev: BackendEvent) {
        match ev {
            BackendEvent::Line { span, chan, event } => {
                let Some(g) = self.groups.iter().position(|g| g.backend == b && g.span == span) else { return };
                self.groups[g].sig.handle_input(self.now, SigInput::Line { chan, event });
                self.drain_sig(g);
            }
            BackendEvent::Alarm { span, alarms } => {
                let Some(g) = self.groups.iter().position(|g| g.backend == b && g.span == span) else { return };
                self.groups[g].alarms = alarms;
                let name = self.groups[g].name.clone();
                self.emit(None, name, EventKind::SpanAlarm { alarms });
                self.groups[g].sig.handle_input(self.now, SigInput::Alarm(alarms));
                self.drain_sig(g);
            }
        }
    }

    fn drain_sig(&mut self, g: usize) {
        while let Some(out) = self.groups[g].sig.poll_output() {
            match out {
                SigOutput::Transmit { chan, cmd } => {
                    let (b, span) = (self.groups[g].backend, self.groups[g].span);
                    if let Err(e) = self.backends[b].transmit(self.now, span, chan, cmd) {
                        tracing::warn!(group = %self.groups[g].name, chan, "transmit failed: {e}");
                    }
                }
                SigOutput::Tone { chan, tone } => {
                    if let Some(ci) = self.groups[g].chan_index(chan) {
                        let gen = tone.map(|t| ToneGenerator::new(self.groups[g].zone.tone(t)));
                        let c = &mut self.groups[g].chans[ci];
                        c.line_tone = gen;
                    }
                }
                SigOutput::SendDigits { chan, digits } => {
                    if let Some(ci) = self.groups[g].chan_index(chan) {
                        let c = &mut self.groups[g].chans[ci];
                        c.dtmf_tx.push_digits(&digits);
                        c.sending_digits = true;
                    }
                }
                SigOutput::SendCallerId { chan, cid } => self.send_caller_id(g, chan, cid),
                SigOutput::Event { chan, event } => {
                    if let Some(ci) = self.groups[g].chan_index(chan) {
                        self.on_call_event(g, ci, event);
                    }
                }
            }
        }
    }

    fn sig_command(&mut self, g: usize, ci: usize, cmd: CallCommand) {
        let chan = self.groups[g].chans[ci].number;
        if matches!(cmd, CallCommand::Hangup { .. }) {
            self.groups[g].chans[ci].hangup_sent = true;
        }
        self.groups[g].sig.handle_input(self.now, SigInput::Command { chan, cmd });
        self.drain_sig(g);
    }

    fn on_call_event(&mut self, g: usize, ci: usize, event: CallEvent) {
        let call = self.groups[g].chans[ci].call;
        match event {
            CallEvent::Incoming { called, calling } => self.on_incoming(g, ci, called, calling),
            CallEvent::MoreDigits(d) => {
                if let Some(c) = call.and_then(|id| self.calls.get_mut(&id)) {
                    c.info.called.push_str(&d);
                }
            }
            CallEvent::Proceeding => {
                if let Some(id) = call {
                    self.emit_call(id, EventKind::Proceeding);
                }
            }
            CallEvent::Alerting | CallEvent::Progress => {
                let Some(id) = call else { return };
                if event == CallEvent::Alerting {
                    self.emit_call(id, EventKind::Alerting);
                }
                // Tell the A-leg of a bridge that the destination rings, and let it hear ringback.
                if let Some(parent) = self.calls.get(&id).and_then(|c| c.parent) {
                    if let Some(a) = self.calls.get_mut(&parent) {
                        if a.answered_at.is_none() && a.player.is_none() {
                            let zone = &self.groups[a.group].zone;
                            a.player = Some(Player::new(vec![Source::Tone(
                                Box::new(ToneGenerator::new(zone.tone(ToneKind::Ringback))),
                                usize::MAX,
                            )]));
                            let (ag, aci) = (a.group, a.chan);
                            self.sig_command(ag, aci, CallCommand::Alerting);
                        }
                    }
                }
            }
            CallEvent::Answered => {
                let Some(id) = call else { return };
                let now = self.now;
                let Some(c) = self.calls.get_mut(&id) else { return };
                if c.answered_at.is_some() {
                    return;
                }
                c.answered_at = Some(now);
                c.info.answered = true;
                let (parent, outbound) = (c.parent, c.direction == Direction::Outbound);
                if outbound && parent.is_none() && c.app.is_some() {
                    c.events.push_back(AppEvent::Start);
                }
                self.emit_call(id, EventKind::Answered);
                if let Some(a) = parent {
                    self.connect_bridge(a, id);
                }
            }
            CallEvent::Flash => {}
            CallEvent::Hangup { cause } => match call {
                Some(id) => self.finish_call(id, cause),
                None => {
                    if !self.groups[g].chans[ci].hangup_sent {
                        self.sig_command(g, ci, CallCommand::Hangup { cause });
                    }
                }
            },
            CallEvent::Released => {
                if let Some(id) = call {
                    self.finish_call(id, Cause::NormalClearing);
                }
                self.groups[g].chans[ci].reset();
            }
        }
    }

    fn new_call(
        &mut self,
        g: usize,
        ci: usize,
        direction: Direction,
        called: String,
        caller: Party,
        parent: Option<u64>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let device = self.groups[g].device(ci);
        let c = &mut self.groups[g].chans[ci];
        c.call = Some(id);
        c.in_use = true;
        c.hangup_sent = false;
        self.calls.insert(
            id,
            Call {
                info: CallInfo {
                    id,
                    device: device.clone(),
                    caller: caller.clone(),
                    called: called.clone(),
                    vars: BTreeMap::from([(
                        "uid".to_string(),
                        if self.run_tag.is_empty() { id.to_string() } else { format!("{}-{id}", self.run_tag) },
                    )]),
                    ..CallInfo::default()
                },
                group: g,
                chan: ci,
                direction,
                answered_at: None,
                app: None,
                events: VecDeque::new(),
                queue: VecDeque::new(),
                op: None,
                digits: String::new(),
                player: None,
                recording: None,
                peer: None,
                parent: None,
                bridged: false,
                watch_digits: false,
                urgent: VecDeque::new(),
            },
        );
        self.emit(Some(id), device, EventKind::Offered { direction, called, caller, parent });
        id
    }

    fn on_incoming(&mut self, g: usize, ci: usize, called: String, calling: Party) {
        if let Some(old) = self.groups[g].chans[ci].call {
            // A stack reported a new call on a busy channel: the old one is gone.
            self.finish_call(old, Cause::NormalUnspecified);
        }
        let id = self.new_call(g, ci, Direction::Inbound, called.clone(), calling, None);
        if !self.accepting {
            self.local_hangup(id, Cause::SwitchingEquipmentCongestion);
            return;
        }
        // A caller without a number (a phone on our FXS port, a CAS trunk without ANI):
        // there is nobody to look up.
        let has_number = self.calls.get(&id).is_some_and(|c| !c.info.caller.number.reveal().is_empty());
        if let (Some(l), true) = (&mut self.lookup, has_number) {
            if let Some(q) = route_query(&self.groups, &self.calls, id) {
                if l.ask(&q) {
                    let wait = self.now + l.budget();
                    self.lookup_wait.insert(id, wait);
                    return;
                }
            }
            self.apply_lookup(id, LookupOutcome::Unavailable, None);
            return;
        }
        self.advise(id);
    }

    /// The CRM's answer (or its absence) becomes call variables and the route class; a
    /// blacklisted caller is cleared here, before anything answers the call.
    fn apply_lookup(&mut self, id: u64, outcome: LookupOutcome, answer: Option<CallerInfo>) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        let answer = answer.unwrap_or_default();
        let class = answer.class.trim().to_ascii_lowercase();
        if outcome == LookupOutcome::Answered {
            c.info.vars.insert("crm_class".into(), class.clone());
            c.info.vars.insert("classification".into(), class.clone());
            for (k, v) in &answer.customer {
                c.info.vars.insert(format!("crm_customer_{k}"), v.clone());
            }
            for (k, v) in &answer.vars {
                c.info.vars.insert(format!("crm_{k}"), v.clone());
            }
        } else {
            c.info.vars.insert("crm_lookup".into(), format!("{outcome:?}").to_ascii_lowercase());
        }
        if outcome == LookupOutcome::Timeout {
            tracing::warn!(call = id, "CRM lookup gave no answer in time: ordinary route");
        }
        self.emit_call(id, EventKind::LookedUp { class: class.clone(), outcome, customer: answer.customer });
        if class == "blacklist" {
            let cause = self.blacklist_cause;
            self.emit_call(id, EventKind::Routed { route: format!("crm: blacklist, cleared with {cause}") });
            self.local_hangup(id, cause);
            return;
        }
        self.advise(id);
    }

    /// Asks the routing advisor (the plugin chain) when there is one, else routes now.
    fn advise(&mut self, id: u64) {
        if let Some(a) = &mut self.advisor {
            if let Some(q) = route_query(&self.groups, &self.calls, id) {
                a.ask(q);
                let wait = self.now + a.budget();
                self.route_wait.insert(id, wait);
                return;
            }
        }
        self.route_call(id, None);
    }

    /// Lookup answers, and calls whose lookup ran out of time.
    fn poll_lookups(&mut self) {
        let mut answers = Vec::new();
        if let Some(l) = &mut self.lookup {
            while let Some(x) = l.poll() {
                answers.push(x);
            }
        }
        for (id, info) in answers {
            if self.lookup_wait.remove(&id).is_some() {
                self.apply_lookup(id, LookupOutcome::Answered, Some(info));
            }
        }
        let now = self.now;
        let late: Vec<u64> = self.lookup_wait.iter().filter(|(_, t)| **t <= now).map(|(id, _)| *id).collect();
        for id in late {
            self.lookup_wait.remove(&id);
            self.apply_lookup(id, LookupOutcome::Timeout, None);
        }
    }

    /// Routes an offered call: by the advisor's answer when it has one, else the table.
    fn route_call(&mut self, id: u64, advice: Option<Advice>) {
        let Some(c) = self.calls.get(&id) else { return };
        let group = self.groups[c.group].name.clone();
        let info = c.info.clone();
        let called = info.called.clone();
        let class = info.vars.get("classification").cloned().unwrap_or_default();
        let mut record = false;
        let (app, route): (Result<Box<dyn Application>, Cause>, String) = match (&mut self.routing, advice) {
            (_, Some(Advice::Reject { cause })) => {
                (Err(Cause::from_code(cause.clamp(1, 127))), format!("plugin: reject {}", Cause::from_code(cause)))
            }
            (_, Some(Advice::Dial { group, number })) => {
                let number = if number.is_empty() { called.clone() } else { number };
                let what = format!("plugin: dial {group}");
                let target = DialTarget { group, number, timeout: Duration::from_secs(30) };
                (Ok(Box::new(apps::BridgeApp::new(target))), what)
            }
            (_, Some(Advice::Queue { name })) => {
                let what = format!("plugin: queue {name}");
                let target = DialTarget { group: name, number: String::new(), timeout: Duration::from_secs(60) };
                (Ok(Box::new(apps::BridgeApp::new(target))), what)
            }
            (Routing::Table(_, maker), Some(Advice::Script { name, args })) => {
                let what = format!("plugin: script {name}");
                let r = crate::config::RouteConfig::script(&name, args);
                (Ok(maker.make(&r, &info)), what)
            }
            (Routing::App(make), _) => {
                let app = make();
                let name = app.name().to_string();
                (Ok(app), name)
            }
            (Routing::Table(router, maker), _) => match router.route(&group, &called, &class) {
                None => (Err(Cause::NoRouteDestination), "no route".into()),
                Some((i, r)) => {
                    record = r.record;
                    if let Some(c) = &r.reject {
                        (Err(Cause::from_name(c).unwrap_or(Cause::CallRejected)), format!("route[{i}] reject {c}"))
                    } else if let Some(d) = &r.dial {
                        let target = DialTarget {
                            group: d.clone(),
                            number: r.number.clone().unwrap_or_else(|| called.chars().skip(r.strip).collect()),
                            timeout: Duration::from_secs(r.timeout),
                        };
                        (Ok(Box::new(apps::BridgeApp::new(target))), format!("route[{i}] dial {d}"))
                    } else {
                        let what = match (&r.script, &r.app) {
                            (Some(s), _) => format!("script {s}"),
                            (None, Some(a)) => format!("app {a} ({})", r.lang.as_deref().unwrap_or("en")),
                            (None, None) => "app".into(),
                        };
                        (Ok(maker.make(r, &info)), format!("route[{i}] {what}"))
                    }
                }
            },
        };
        self.emit_call(id, EventKind::Routed { route });
        match app {
            Ok(app) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.app = Some(app);
                    if record {
                        // Queued ahead of whatever the application starts with.
                        let path =
                            format!("calls/{}.wav", c.info.vars.get("uid").cloned().unwrap_or_else(|| id.to_string()));
                        c.queue.push_back(AppCmd::RecordCall { path: path.into(), mode: RecordMode::Stereo });
                    }
                    c.events.push_back(AppEvent::Start);
                }
            }
            Err(cause) => self.local_hangup(id, cause),
        }
    }

    /// Places an outgoing call on a group; `app` runs once the far end answers.
    pub fn originate(
        &mut self,
        group: &str,
        called: &str,
        caller: Party,
        app: Option<Box<dyn Application>>,
    ) -> Result<u64, OriginateError> {
        self.place(group, called, caller, app, None)
    }

    /// Places a call that runs Lua `script` (`trunkd ctl originate … --script`), as a
    /// route would run it for an incoming call.
    pub fn originate_script(
        &mut self,
        group: &str,
        called: &str,
        caller: Party,
        script: &str,
    ) -> Result<u64, OriginateError> {
        let Routing::Table(_, maker) = &mut self.routing else { return Err(OriginateError::NoScripts) };
        let info = CallInfo {
            id: 0,
            device: group.to_string(),
            caller: caller.clone(),
            called: called.to_string(),
            answered: false,
            vars: Default::default(),
        };
        let app = maker
            .make_checked(&crate::config::RouteConfig::script(script, Vec::new()), &info)
            .map_err(OriginateError::Script)?;
        self.originate(group, called, caller, Some(app))
    }

    /// Places an outgoing call; with `bridge = (a_leg, deadline)` it becomes that call's
    /// B-leg. The legs are linked before the stack hears of the call, so a stack that
    /// refuses at once (busy line, glare) ends the A-leg's bridge operation properly.
    fn place(
        &mut self,
        group: &str,
        called: &str,
        caller: Party,
        app: Option<Box<dyn Application>>,
        bridge: Option<(u64, Instant)>,
    ) -> Result<u64, OriginateError> {
        if !self.accepting {
            return Err(OriginateError::ShuttingDown);
        }
        let g = self
            .groups
            .iter()
            .position(|x| x.name == group)
            .ok_or_else(|| OriginateError::NoSuchGroup(group.into()))?;
        if self.groups[g].alarms.is_down() {
            return Err(OriginateError::NoChannel(group.into()));
        }
        let sig = &self.groups[g].sig;
        let ci = self.groups[g]
            .chans
            .iter()
            .position(|c| c.audio && c.call.is_none() && sig.is_idle(c.number))
            .ok_or_else(|| OriginateError::NoChannel(group.into()))?;
        let id = self.new_call(g, ci, Direction::Outbound, called.to_string(), caller.clone(), bridge.map(|(a, _)| a));
        if let Some(c) = self.calls.get_mut(&id) {
            c.app = app;
            if let Some((a, _)) = bridge {
                c.parent = Some(a);
                c.peer = Some(a);
            }
        }
        if let Some((a, deadline)) = bridge {
            if let Some(ac) = self.calls.get_mut(&a) {
                ac.peer = Some(id);
                ac.op = Some(Op::Bridge { leg: id, deadline });
            }
        }
        self.sig_command(g, ci, CallCommand::Originate { called: called.to_string(), calling: caller });
        Ok(id)
    }

    /// Hangs up a call from outside (control socket, CTI).
    pub fn hangup(&mut self, id: u64, cause: Cause) -> bool {
        if self.calls.contains_key(&id) {
            self.local_hangup(id, cause);
            true
        } else {
            false
        }
    }

    /// Third-party call control (CTI): answers, records, or queues an operation on a call.
    /// Operations (play, collect, …) are for calls no application runs — the ones the
    /// CTI originated; a call in an IVR must be transferred first.
    pub fn control(&mut self, id: u64, cmd: AppCmd) -> Result<(), String> {
        let c = self.calls.get_mut(&id).ok_or_else(|| format!("no call {id}"))?;
        match cmd {
            AppCmd::Answer | AppCmd::Hangup(_) | AppCmd::RecordCall { .. } | AppCmd::StopRecordCall => {
                self.exec(id, cmd);
                Ok(())
            }
            cmd => match c.app.as_ref().map(|a| a.name().to_string()) {
                Some(name) if name != apps::CTI_APP => Err(format!("call {id} is run by {name}: transfer it first")),
                _ => {
                    c.queue.push_back(cmd);
                    Ok(())
                }
            },
        }
    }

    /// Sends DTMF in-band on a call's channel, whatever runs it.
    pub fn send_dtmf(&mut self, id: u64, digits: &str) -> Result<(), String> {
        let c = self.calls.get(&id).ok_or_else(|| format!("no call {id}"))?;
        if digits.is_empty() || !digits.chars().all(|d| "0123456789*#ABCD".contains(d)) {
            return Err(format!("`{digits}`: DTMF digits are 0-9 * # A-D"));
        }
        let ch = &mut self.groups[c.group].chans[c.chan];
        ch.dtmf_tx.push_digits(digits);
        ch.sending_digits = true;
        Ok(())
    }

    /// Blind transfer (CTI): the call leaves its application (and any bridge it is in)
    /// and is bridged to `target`. The old application is dropped without a word: the call
    /// is not over, only no longer its business.
    pub fn transfer(&mut self, id: u64, target: DialTarget) -> Result<(), String> {
        let c = self.calls.get_mut(&id).ok_or_else(|| format!("no call {id}"))?;
        if c.parent.is_some() {
            return Err(format!("call {id} is the outgoing leg of a bridge: transfer its other leg"));
        }
        let old_leg = match c.op.take() {
            Some(Op::Bridge { leg, .. }) => Some(leg),
            Some(Op::Record { rec: Some((rid, _)), .. }) => {
                self.close_recording(rid);
                None
            }
            _ => None,
        };
        let Some(c) = self.calls.get_mut(&id) else { return Err(format!("no call {id}")) };
        let old_peer = c.peer.take().filter(|p| Some(*p) != old_leg);
        c.player = None;
        c.bridged = false;
        c.queue.clear();
        c.events.clear();
        c.urgent.clear();
        c.watch_digits = false;
        c.app = Some(Box::new(apps::BridgeApp::new(target.clone())));
        c.events.push_back(AppEvent::Start);
        for leg in old_leg.into_iter().chain(old_peer) {
            if let Some(l) = self.calls.get_mut(&leg) {
                // Detached first, so its end does not end this call's new bridge.
                l.parent = None;
                l.peer = None;
            }
            self.local_hangup(leg, Cause::NormalClearing);
        }
        self.emit_call(id, EventKind::Transferred { to: format!("{}/{}", target.group, target.number) });
        Ok(())
    }

    /// Resets one channel (`group/number`) in its signalling (a PRI RESTART): for a
    /// sysadmin unsticking a channel the far end holds. Its call, if any, is cleared.
    pub fn restart_channel(&mut self, device: &str) -> Result<String, String> {
        let (group, num) = device.split_once('/').ok_or_else(|| format!("`{device}`: expected GROUP/CHANNEL"))?;
        let g = self.groups.iter().position(|x| x.name == group).ok_or_else(|| format!("no group `{group}`"))?;
        let chan: u16 = num.parse().map_err(|_| format!("`{num}` is not a channel number"))?;
        if !self.groups[g].chans.iter().any(|c| c.number == chan && c.audio) {
            return Err(format!("{group} has no bearer channel {chan}"));
        }
        let now = self.now;
        if !self.groups[g].sig.restart_channel(now, chan) {
            return Err(format!("{group}: its signalling has no channel restart"));
        }
        self.drain_sig(g);
        Ok(format!("{device}: RESTART sent"))
    }

    /// Stops accepting calls and clears every call with `cause`.
    pub fn begin_shutdown(&mut self, cause: Cause) {
        self.accepting = false;
        let ids: Vec<u64> = self.calls.keys().copied().collect();
        for id in ids {
            if self.calls.contains_key(&id) {
                self.local_hangup(id, cause);
            }
        }
    }

    /// Finalizes every open recording (blocking until files are closed).
    pub fn finish(&mut self) {
        if let Some(pool) = self.recorder.take() {
            for done in pool.shutdown() {
                self.on_recording_done(done);
            }
        }
    }

    /// Clears a call from our side. The call is detached from its channel before the
    /// stack hears of it, so whatever the stack reports back (even `Released` at once)
    /// cannot end it a second time with another cause.
    fn local_hangup(&mut self, id: u64, cause: Cause) {
        self.finish_call(id, cause);
    }

    /// Ends a call: closes its recordings, tells its application, releases its peer.
    fn finish_call(&mut self, id: u64, cause: Cause) {
        let Some(mut call) = self.calls.remove(&id) else { return };
        let (g, ci) = (call.group, call.chan);
        if self.groups[g].chans[ci].call == Some(id) {
            self.groups[g].chans[ci].call = None;
            if !self.groups[g].chans[ci].hangup_sent {
                self.sig_command(g, ci, CallCommand::Hangup { cause });
            }
        }
        if let Some((rid, _)) = call.recording.take() {
            self.close_recording(rid);
        }
        if let Some(Op::Record { rec: Some((rid, _)), .. }) = call.op.take() {
            self.close_recording(rid);
        }
        if let Some(mut app) = call.app.take() {
            let mut out = Vec::new();
            app.on_event(AppEvent::Hangup(cause), &call.info, &mut out);
            // The line is gone; what the application says about the call still counts.
            for cmd in out {
                let kind = match cmd {
                    AppCmd::Log { level, message } => EventKind::AppLog { level, message },
                    AppCmd::Emit { name, fields } => EventKind::Custom { name, fields },
                    AppCmd::SetVar(name, value) => EventKind::VarSet { name, value },
                    _ => continue,
                };
                self.emit(Some(id), call.info.device.clone(), kind);
            }
        }
        let talk = call.answered_at.map(|t| self.now - t);
        self.emit(Some(id), call.info.device.clone(), EventKind::Ended { cause, direction: call.direction, talk });
        if let Some(peer) = call.peer {
            if call.parent.is_some() {
                // The B-leg went away: the A-leg's bridge operation ends, its app continues.
                if let Some(a) = self.calls.get_mut(&peer) {
                    a.peer = None;
                    a.bridged = false;
                    if matches!(a.op, Some(Op::Bridge { .. })) {
                        a.op = None;
                        a.player = None;
                        a.events.push_back(AppEvent::Done(OpResult::BridgeEnded {
                            cause,
                            connected: call.answered_at.is_some(),
                        }));
                    }
                }
            } else {
                self.local_hangup(peer, Cause::NormalClearing);
            }
        }
    }

    fn connect_bridge(&mut self, a: u64, b: u64) {
        let Some(ac) = self.calls.get_mut(&a) else { return };
        ac.player = None;
        let answered = ac.answered_at.is_some();
        let (ag, aci) = (ac.group, ac.chan);
        if !answered {
            self.sig_command(ag, aci, CallCommand::Answer);
            if let Some(ac) = self.calls.get_mut(&a) {
                if ac.answered_at.is_none() {
                    ac.answered_at = Some(self.now);
                    ac.info.answered = true;
                    self.emit_call(a, EventKind::Answered);
                }
            }
        }
        for (x, y) in [(a, b), (b, a)] {
            if let Some(c) = self.calls.get_mut(&x) {
                c.bridged = true;
                c.peer = Some(y);
            }
        }
        self.emit_call(a, EventKind::Bridged { peer: b });
    }

    /// Sets the local wall-clock time at `at` (caller ID carries the date and time).
    pub fn set_wall_clock(&mut self, at: Instant, unix_secs: i64, utc_offset_secs: i32) {
        self.wall_clock = Some((at, unix_secs, utc_offset_secs));
    }

    /// Local month, day, hour and minute now, when the daemon gave a wall clock.
    fn local_datetime(&self) -> Option<CidDateTime> {
        use chrono::{Datelike, Timelike};
        let (at, unix, offset) = self.wall_clock?;
        let secs = unix + self.now.saturating_duration_since(at).as_secs() as i64 + i64::from(offset);
        let t = chrono::DateTime::from_timestamp(secs, 0)?;
        Some(CidDateTime { month: t.month() as u8, day: t.day() as u8, hour: t.hour() as u8, minute: t.minute() as u8 })
    }

    fn send_caller_id(&mut self, g: usize, chan: u16, cid: Option<Box<(CidTxConfig, CallerIdMessage)>>) {
        let Some(ci) = self.groups[g].chan_index(chan) else { return };
        let Some(cid) = cid else {
            self.groups[g].chans[ci].cid_tx = None;
            return;
        };
        let (cfg, mut msg) = *cid;
        if msg.datetime.is_none() {
            msg.datetime = self.local_datetime();
        }
        let msg = msg.fit(cfg.format);
        match CallerIdGenerator::new(&cfg, &msg) {
            Ok(gen) => self.groups[g].chans[ci].cid_tx = Some(Box::new(gen)),
            Err(e) => {
                // The call still rings, without caller ID.
                tracing::warn!(group = %self.groups[g].name, chan, "caller ID not sent: {e}");
                self.groups[g].sig.handle_input(self.now, SigInput::CallerIdSent { chan });
                self.drain_sig(g);
            }
        }
    }

    fn on_heard(&mut self, g: usize, ci: usize, h: Heard) {
        let chan = self.groups[g].chans[ci].number;
        let input = match h {
            Heard::Digit(d) => return self.on_digit(g, ci, d),
            Heard::Fax(tone) => {
                if let Some(id) = self.groups[g].chans[ci].call {
                    self.emit_call(id, EventKind::ToneDetected { tone: tone.name().to_string() });
                }
                return;
            }
            Heard::Progress(tone) => {
                if let Some(id) = self.groups[g].chans[ci].call {
                    self.emit_call(id, EventKind::ToneDetected { tone: tone.name().to_string() });
                }
                SigInput::Progress { chan, tone }
            }
            Heard::CallerId(report) => {
                let format = report.format.name().to_string();
                let device = self.groups[g].device(ci);
                self.emit(None, device, EventKind::CallerId { format });
                SigInput::CallerId { chan, report: *report }
            }
        };
        self.groups[g].sig.handle_input(self.now, input);
        self.drain_sig(g);
    }

    fn on_digit(&mut self, g: usize, ci: usize, d: char) {
        let chan = self.groups[g].chans[ci].number;
        self.groups[g].sig.handle_input(self.now, SigInput::Dtmf { chan, digit: d });
        self.drain_sig(g);
        let Some(id) = self.groups[g].chans[ci].call else { return };
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.answered_at.is_none() || c.bridged {
            return;
        }
        let watched = c.watch_digits && matches!(c.op, Some(Op::Play { .. } | Op::Sleep { .. } | Op::Record { .. }));
        if watched {
            c.urgent.push_back(AppEvent::Digit(d));
        } else {
            c.digits.push(d);
        }
        self.emit_call(id, EventKind::Digit(d));
        if !watched {
            self.check_op_digits(id);
        }
    }

    fn complete_op(&mut self, id: u64, result: OpResult) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.op = None;
            c.events.push_back(AppEvent::Done(result));
        }
    }

    fn check_op_digits(&mut self, id: u64) {
        let now = self.now;
        let Some(c) = self.calls.get_mut(&id) else { return };
        match &mut c.op {
            Some(Op::Play { interrupt }) => {
                if let Some(d) = c.digits.chars().find(|d| interrupt.contains(*d)) {
                    c.player = None;
                    self.complete_op(id, OpResult::Played { interrupted: Some(d) });
                }
            }
            Some(Op::Collect { spec, got, deadline }) => {
                let mut result = None;
                let mut consumed = 0;
                for d in c.digits.chars() {
                    consumed += d.len_utf8();
                    if spec.terminators.contains(d) {
                        result = Some(Some(d));
                        break;
                    }
                    got.push(d);
                    *deadline = now + spec.inter_timeout;
                    if got.len() >= spec.max {
                        result = Some(None);
                        break;
                    }
                }
                c.digits.drain(..consumed);
                if let Some(terminator) = result {
                    let digits = std::mem::take(got);
                    self.emit_call(id, EventKind::Collected { digits: digits.clone(), timed_out: false });
                    self.complete_op(id, OpResult::Collected { digits, terminator, timed_out: false });
                }
            }
            Some(Op::Record { spec, .. }) => {
                if let Some(pos) = c.digits.find(|d| spec.terminators.contains(d)) {
                    c.digits.remove(pos);
                    self.stop_record_op(id);
                }
            }
            _ => {}
        }
    }

    fn run_timers(&mut self) {
        let now = self.now;
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(self.calls.keys().copied());
        for &id in &ids {
            let Some(c) = self.calls.get_mut(&id) else { continue };
            match &mut c.op {
                Some(Op::Collect { deadline, got, .. }) if *deadline <= now => {
                    let digits = std::mem::take(got);
                    self.emit_call(id, EventKind::Collected { digits: digits.clone(), timed_out: true });
                    self.complete_op(id, OpResult::Collected { digits, terminator: None, timed_out: true });
                }
                Some(Op::Sleep { until }) if *until <= now => self.complete_op(id, OpResult::Slept),
                Some(Op::Record { deadline, rec: Some(_), .. }) if *deadline <= now => self.stop_record_op(id),
                Some(Op::Bridge { leg, deadline }) if *deadline <= now => {
                    let leg = *leg;
                    match self.calls.get(&leg) {
                        Some(b) if b.answered_at.is_none() => self.local_hangup(leg, Cause::NoAnswer),
                        Some(_) => {}
                        // The leg is gone without telling us: never leave the caller waiting.
                        None => self.complete_op(
                            id,
                            OpResult::BridgeEnded { cause: Cause::NormalUnspecified, connected: false },
                        ),
                    }
                }
                _ => {}
            }
        }
    }

    fn run_apps(&mut self) {
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(self.calls.keys().copied());
        for &id in &ids {
            self.run_app(id);
        }
        self.ids = ids;
    }

    fn run_app(&mut self, id: u64) {
        let mut out = Vec::new();
        // Bounded: an application that loops on instant commands cannot stall the tick.
        for _ in 0..1000 {
            let Some(c) = self.calls.get_mut(&id) else { return };
            if let Some(ev) = c.urgent.pop_front() {
                // Seen while the operation runs; StopOp acts now, the rest waits its turn.
                // Commands that touch neither the line nor the media (variables, logs,
                // events) take effect at once too.
                let mut stop_now = false;
                let mut now_cmds = Vec::new();
                if let Some(mut app) = c.app.take() {
                    app.on_event(ev, &c.info, &mut out);
                    c.app = Some(app);
                    for cmd in out.drain(..) {
                        match cmd {
                            AppCmd::StopOp => stop_now = true,
                            AppCmd::PlayControl(pc) => {
                                if let Some(p) = &mut c.player {
                                    p.control(pc);
                                }
                            }
                            AppCmd::SetVar(..) | AppCmd::Log { .. } | AppCmd::Emit { .. } => now_cmds.push(cmd),
                            cmd => c.queue.push_back(cmd),
                        }
                    }
                }
                for cmd in now_cmds {
                    self.exec(id, cmd);
                }
                if stop_now {
                    self.stop_op(id);
                }
                continue;
            }
            if c.op.is_some() {
                return;
            }
            if let Some(ev) = c.events.pop_front() {
                if let Some(mut app) = c.app.take() {
                    app.on_event(ev, &c.info, &mut out);
                    c.app = Some(app);
                    c.queue.extend(out.drain(..));
                }
                continue;
            }
            match c.queue.pop_front() {
                Some(cmd) => self.exec(id, cmd),
                None => return,
            }
        }
        tracing::warn!(call = id, "application issued too many commands in one tick; hanging up");
        self.local_hangup(id, Cause::TemporaryFailure);
    }

    fn exec(&mut self, id: u64, cmd: AppCmd) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        let (g, ci) = (c.group, c.chan);
        let now = self.now;
        match cmd {
            AppCmd::Answer => {
                if c.answered_at.is_none() && c.direction == Direction::Inbound {
                    self.sig_command(g, ci, CallCommand::Answer);
                }
            }
            AppCmd::PreAnswer => self.sig_command(g, ci, CallCommand::Progress),
            AppCmd::Ring => self.sig_command(g, ci, CallCommand::Alerting),
            AppCmd::Hangup(cause) => self.local_hangup(id, cause),
            AppCmd::Play { items, interrupt } => {
                let what = describe(&items);
                match self.resolve(g, &items) {
                    Ok(sources) => {
                        if let Some(c) = self.calls.get_mut(&id) {
                            c.player = Some(Player::new(sources));
                            c.op = Some(Op::Play { interrupt });
                        }
                        self.emit_call(id, EventKind::Playing { what });
                        self.check_op_digits(id);
                    }
                    Err(e) => {
                        self.emit_call(id, EventKind::Problem(e.clone()));
                        self.complete_op(id, OpResult::Failed(e));
                    }
                }
            }
            AppCmd::Collect(spec) => {
                let deadline = now + spec.first_timeout;
                c.op = Some(Op::Collect { spec, got: String::new(), deadline });
                self.check_op_digits(id);
            }
            AppCmd::Record(spec) => {
                let deadline = now + spec.limit;
                let silence =
                    SilenceDetector::new(-45.0, spec.silence_stop.map(|d| d.as_millis() as u32).unwrap_or(u32::MAX));
                if spec.beep {
                    let zone = &self.groups[g].zone;
                    c.player = Some(Player::new(vec![Source::Tone(
                        Box::new(ToneGenerator::new(zone.tone(ToneKind::Beep))),
                        8 * 300,
                    )]));
                }
                c.op = Some(Op::Record { spec, rec: None, frames: 0, deadline, silence });
                if self.calls.get(&id).is_some_and(|c| c.player.is_none()) {
                    self.start_record_op(id);
                }
            }
            AppCmd::Sleep(d) => c.op = Some(Op::Sleep { until: now + d }),
            AppCmd::Bridge(target) => {
                let caller = c.info.caller.clone();
                match self.place(&target.group, &target.number, caller, None, Some((id, now + target.timeout))) {
                    Ok(_) => {}
                    Err(e) => {
                        self.emit_call(id, EventKind::Problem(e.to_string()));
                        let cause = match e {
                            OriginateError::NoSuchGroup(_) => Cause::NoRouteDestination,
                            _ => Cause::NoCircuitAvailable,
                        };
                        self.complete_op(id, OpResult::BridgeEnded { cause, connected: false });
                    }
                }
            }
            AppCmd::RecordCall { path, mode } => {
                if c.recording.is_none() {
                    let path = self.data_path(&path, "recordings");
                    let rid = self.open_recording(Some(id), &path, mode);
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.recording = Some((rid, path));
                    }
                }
            }
            AppCmd::StopRecordCall => {
                if let Some((rid, _)) = c.recording.take() {
                    self.close_recording(rid);
                }
            }
            AppCmd::FlushDigits => c.digits.clear(),
            AppCmd::SetVar(k, v) => {
                c.info.vars.insert(k.clone(), v.clone());
                self.emit_call(id, EventKind::VarSet { name: k, value: v });
            }
            AppCmd::WatchDigits(on) => c.watch_digits = on,
            AppCmd::StopOp => self.stop_op(id),
            AppCmd::PlayControl(pc) => {
                if let Some(p) = &mut c.player {
                    p.control(pc);
                }
            }
            AppCmd::Log { level, message } => self.emit_call(id, EventKind::AppLog { level, message }),
            AppCmd::Emit { name, fields } => self.emit_call(id, EventKind::Custom { name, fields }),
        }
    }

    /// Ends the running operation early with what it has so far.
    fn stop_op(&mut self, id: u64) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        match &mut c.op {
            Some(Op::Play { .. }) => {
                c.player = None;
                self.complete_op(id, OpResult::Played { interrupted: None });
            }
            Some(Op::Sleep { .. }) => self.complete_op(id, OpResult::Slept),
            Some(Op::Record { .. }) => self.stop_record_op(id),
            Some(Op::Collect { got, .. }) => {
                let digits = std::mem::take(got);
                self.emit_call(id, EventKind::Collected { digits: digits.clone(), timed_out: false });
                self.complete_op(id, OpResult::Collected { digits, terminator: None, timed_out: false });
            }
            // A bridge is ended by hanging up its leg, not by a digit.
            Some(Op::Bridge { .. }) | None => {}
        }
    }

    fn resolve(&mut self, g: usize, items: &[PlayItem]) -> Result<Vec<Source>, String> {
        let zone = self.groups[g].zone.clone();
        let dir = self.prompts_dir.clone();
        let prompts = &mut self.prompts;
        let mut load = |p: &Path| -> Result<Arc<[i16]>, String> {
            let full = if p.is_absolute() { p.to_path_buf() } else { dir.join(p) };
            prompts.get_or_load(&full).map_err(|e| e.to_string())
        };
        items.iter().map(|i| Source::resolve(i, &zone, &mut load)).collect()
    }

    fn data_path(&self, p: &Path, sub: &str) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.data_dir.join(sub).join(p)
        }
    }

    fn open_recording(&mut self, call: Option<u64>, path: &Path, mode: RecordMode) -> u64 {
        let rid = self.next_id;
        self.next_id += 1;
        if let Some(pool) = &self.recorder {
            pool.open(rid, path.to_path_buf(), mode);
        }
        let device = call.and_then(|id| self.calls.get(&id)).map(|c| c.info.device.clone()).unwrap_or_default();
        self.recordings.insert(rid, (call, device, path.to_path_buf()));
        if let Some(id) = call {
            self.emit_call(id, EventKind::RecordingStarted { path: path.to_path_buf() });
        }
        rid
    }

    fn close_recording(&mut self, rid: u64) {
        if let Some(pool) = &self.recorder {
            pool.close(rid);
        }
    }

    fn start_record_op(&mut self, id: u64) {
        let Some(c) = self.calls.get(&id) else { return };
        let Some(Op::Record { spec, .. }) = &c.op else { return };
        let path = self.data_path(&spec.path, "recordings");
        let rid = self.open_recording(Some(id), &path, RecordMode::Mono);
        if let Some(Some(Op::Record { rec, deadline, spec, .. })) = self.calls.get_mut(&id).map(|c| &mut c.op) {
            *rec = Some((rid, path));
            *deadline = self.now + spec.limit;
        }
    }

    fn stop_record_op(&mut self, id: u64) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        let Some(Op::Record { rec, frames, .. }) = c.op.take() else { return };
        c.player = None;
        let duration = Duration::from_millis(frames * 20);
        match rec {
            Some((rid, path)) => {
                self.close_recording(rid);
                self.complete_op(id, OpResult::Recorded { path, duration });
            }
            None => self.complete_op(id, OpResult::Failed("recording never started".into())),
        }
    }

    fn poll_recorder(&mut self) {
        let mut done = Vec::new();
        if let Some(pool) = &self.recorder {
            while let Some(d) = pool.poll_done() {
                done.push(d);
            }
        }
        for d in done {
            self.on_recording_done(d);
        }
    }

    fn on_recording_done(&mut self, d: media::recorder::RecordingDone) {
        let Some((call, device, path)) = self.recordings.remove(&d.id) else { return };
        let duration = Duration::from_micros(d.samples * 125);
        let error = d.result.err();
        if let Some(e) = &error {
            tracing::warn!(path = %path.display(), "recording failed: {e}");
        }
        self.emit(call, device, EventKind::RecordingFinished { path, duration, error });
    }

    fn media_rx(&mut self) {
        for (g, group) in self.groups.iter_mut().enumerate() {
            let backend = &mut self.backends[group.backend];
            for (ci, c) in group.chans.iter_mut().enumerate() {
                if !c.audio {
                    continue;
                }
                backend.read_audio(group.span, c.number, &mut c.rx);
                listen(group.sig.as_ref(), &group.zone, c, |h| self.heard.push((g, ci, h)));
                // Listen while the stack has the channel busy (collecting digits before a
                // call exists, too); when it is idle again, start the next use afresh.
                let busy = c.call.is_some() || !(group.sig.is_idle(c.number) || group.sig.is_blocked(c.number));
                if !busy && c.in_use {
                    c.reset();
                }
                if busy && !c.in_use {
                    // Only the far end makes a channel busy without a call of ours.
                    self.events.push_back(CoreEvent {
                        at: self.now,
                        call: None,
                        device: format!("{}/{}", group.name, c.number),
                        kind: EventKind::Seized,
                    });
                }
                c.in_use = busy;
                if busy {
                    c.dtmf.process(&c.rx);
                    while let Some(ev) = c.dtmf.poll_event() {
                        if matches!(ev.kind, DtmfEventKind::End { .. }) {
                            self.heard.push((g, ci, Heard::Digit(ev.digit)));
                        }
                    }
                }
            }
        }
    }

    /// Builds and sends one frame per audio channel. Work that changes call state (an
    /// operation finished) is collected in a reused list and done after the loop, so the
    /// steady state allocates nothing.
    fn media_tx(&mut self) {
        let mut done = std::mem::take(&mut self.tx_done);
        for g in 0..self.groups.len() {
            for ci in 0..self.groups[g].chans.len() {
                let c = &mut self.groups[g].chans[ci];
                if !c.audio {
                    continue;
                }
                let mut tx: Frame = [0; FRAME_SAMPLES];
                let call = c.call;
                let mut bridge_from = None;
                if let Some(cid) = &mut c.cid_tx {
                    cid.fill(&mut tx);
                    if cid.is_done() {
                        c.cid_tx = None;
                        done.push(TxDone::CallerIdSent(g, c.number));
                    }
                } else if let Some(t) = &mut c.line_tone {
                    t.fill(&mut tx);
                    c.tone_echo_hold = TONE_ECHO_HOLD_FRAMES;
                } else if c.sending_digits {
                    c.dtmf_tx.fill(&mut tx);
                    if c.dtmf_tx.is_idle() {
                        c.sending_digits = false;
                        done.push(TxDone::DigitsSent(g, c.number));
                    }
                } else if let Some(cl) = call.and_then(|id| self.calls.get_mut(&id)) {
                    if let Some(p) = &mut cl.player {
                        if p.playing_tone() {
                            c.tone_echo_hold = TONE_ECHO_HOLD_FRAMES;
                        }
                        if p.fill(&mut tx) {
                            cl.player = None;
                            done.push(TxDone::Played(cl.info.id));
                        }
                    } else if cl.bridged {
                        bridge_from = cl.peer.and_then(|p| self.calls.get(&p)).map(|p| (p.group, p.chan));
                    }
                }
                if let Some((pg, pci)) = bridge_from {
                    // The peer's frame received this tick (all receives ran before).
                    tx = self.groups[pg].chans[pci].rx;
                }
                let group = &self.groups[g];
                let c = &group.chans[ci];
                if let Err(e) = self.backends[group.backend].write_audio(group.span, c.number, &tx) {
                    tracing::debug!("write_audio: {e}");
                }
                let Some(cl) = call.and_then(|id| self.calls.get_mut(&id)) else { continue };
                if let (Some((rid, _)), Some(pool)) = (&cl.recording, &self.recorder) {
                    pool.frame(*rid, &c.rx, &tx);
                }
                if let Some(Op::Record { rec: Some((rid, _)), frames, silence, .. }) = &mut cl.op {
                    if let Some(pool) = &self.recorder {
                        pool.frame(*rid, &c.rx, &[0; FRAME_SAMPLES]);
                    }
                    *frames += 1;
                    if silence.process(&c.rx) {
                        done.push(TxDone::RecordSilence(cl.info.id));
                    }
                }
            }
        }
        for d in done.drain(..) {
            match d {
                TxDone::DigitsSent(g, chan) => {
                    self.groups[g].sig.handle_input(self.now, SigInput::DigitsSent { chan });
                    self.drain_sig(g);
                }
                TxDone::CallerIdSent(g, chan) => {
                    self.groups[g].sig.handle_input(self.now, SigInput::CallerIdSent { chan });
                    self.drain_sig(g);
                }
                TxDone::RecordSilence(id) => self.stop_record_op(id),
                TxDone::Played(id) => match self.calls.get(&id).map(|c| &c.op) {
                    Some(Some(Op::Play { .. })) => self.complete_op(id, OpResult::Played { interrupted: None }),
                    // The beep before a recording ended: start recording.
                    Some(Some(Op::Record { rec: None, .. })) => self.start_record_op(id),
                    _ => {}
                },
            }
        }
        self.tx_done = done;
    }
}

/// Follow-up work found while sending frames.
enum TxDone {
    DigitsSent(usize, u16),
    CallerIdSent(usize, u16),
    Played(u64),
    RecordSilence(u64),
}

/// Runs the detectors the stack wants on `c`'s received frame (building or dropping them
/// as its wishes change) and the fax-tone detector on calls; reports what was heard.
fn listen(sig: &dyn SignallingCore, zone: &ToneZone, c: &mut Chan, mut heard: impl FnMut(Heard)) {
    let want = sig.listen(c.number);
    match (want.caller_id, &c.cid_rx) {
        (Some(mode), Some((have, _))) if *have == mode => {}
        (Some(mode), _) => c.cid_rx = Some((mode, Box::new(CallerIdDetector::new(mode)))),
        (None, _) => c.cid_rx = None,
    }
    if let Some((_, d)) = &mut c.cid_rx {
        d.process(&c.rx);
        while let Some(r) = d.poll() {
            heard(Heard::CallerId(Box::new(r)));
        }
    }
    c.tone_echo_hold = c.tone_echo_hold.saturating_sub(1);
    if want.progress && c.tone_echo_hold == 0 {
        let d = c.progress.get_or_insert_with(|| Box::new(ProgressDetector::new(zone, ProgressConfig::default())));
        d.process(&c.rx);
        while let Some(ev) = d.poll() {
            heard(Heard::Progress(ev.tone));
        }
    } else {
        c.progress = None;
    }
    if c.call.is_some() {
        let d = c.fax.get_or_insert_with(|| Box::new(FaxToneDetector::new()));
        d.process(&c.rx);
        while let Some(ev) = d.poll() {
            heard(Heard::Fax(ev.tone));
        }
    } else {
        c.fax = None;
    }
}

/// An offered call as the lookup and the advisor see it (caller revealed: they route on it).
fn route_query(groups: &[Group], calls: &BTreeMap<u64, Call>, id: u64) -> Option<RouteQuery> {
    let c = calls.get(&id)?;
    let g = groups.get(c.group)?;
    Some(RouteQuery {
        call_id: id,
        group: g.name.clone(),
        device: c.info.device.clone(),
        channel: g.chans.get(c.chan).map(|ch| ch.number).unwrap_or(0),
        inbound: c.direction == Direction::Inbound,
        caller: c.info.caller.number.reveal().clone(),
        caller_name: c.info.caller.name.as_ref().map(|n| n.reveal().clone()).unwrap_or_default(),
        caller_presentation: c.info.caller.presentation,
        called: c.info.called.clone(),
        redirecting: c.info.caller.redirecting.as_ref().map(|r| r.reveal().clone()).unwrap_or_default(),
        classification: c.info.vars.get("classification").cloned().unwrap_or_default(),
        vars: c.info.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

fn describe(items: &[PlayItem]) -> String {
    items
        .iter()
        .map(|i| match i {
            PlayItem::File(p) => p.display().to_string(),
            PlayItem::Tone(k, d) => format!("{k:?} tone {}ms", d.as_millis()),
            PlayItem::Sine(hz, d) => format!("{hz} Hz {}ms", d.as_millis()),
            PlayItem::Spec(spec, d) => {
                let f: Vec<String> = spec.freqs.iter().map(|(f, _)| format!("{f}")).collect();
                format!("{} Hz tone {}ms", f.join("+"), d.as_millis())
            }
            PlayItem::Silence(d) => format!("silence {}ms", d.as_millis()),
            PlayItem::Dtmf(s) => format!("DTMF {s}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
