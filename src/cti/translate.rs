//! Call-core events → CTI events and call detail records (protocol.md).
//!
//! Pure: the wall-clock time of each event comes in with it, and ids come from the run id
//! and the core's call numbers, so a test gets the same output every time.

use crate::core::event::{CoreEvent, Direction, EventKind, LookupOutcome};
use crate::signalling::{Cause, Party};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// What the translator produces, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// An event for the stream (the journal adds `seq`).
    Event(Map<String, Value>),
    /// A leg started: remembered (not fsync'd) so that a daemon that dies mid-call still
    /// writes the leg's record at its next start.
    Opened(Map<String, Value>),
    /// A leg ended: its record is written durably first, then `event` (`call.ended`, which
    /// carries the record in `data.cdr`) is published.
    Ended { event: Map<String, Value>, cdr: Map<String, Value> },
}

struct Leg {
    leg_id: String,
    call_id: String,
    direction: Direction,
    device: String,
    from: Value,
    to: String,
    start: DateTime<Utc>,
    answer: Option<DateTime<Utc>>,
    route: String,
    class: String,
    lookup: &'static str,
    customer: BTreeMap<String, String>,
    ivr_path: Vec<String>,
    /// The last `ivr.progress` node, so collected digits are reported against it.
    node: String,
    recordings: Vec<String>,
    peer: Option<u64>,
    peer_device: String,
    vars: BTreeMap<String, String>,
    parent: Option<u64>,
    state: &'static str,
}

/// Keeps per-leg state between events.
pub struct Translator {
    gateway: String,
    run_id: String,
    agent_groups: Vec<String>,
    legs: HashMap<u64, Leg>,
}

/// The RFC 3339 form every CTI time uses.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The stream's id of the core's call `id` in run `run_id`.
pub fn leg_id(run_id: &str, id: u64) -> String {
    format!("{run_id}-{id}")
}

fn party(p: &Party) -> Value {
    let mut m = Map::new();
    m.insert("number".into(), json!(p.number.reveal()));
    if let Some(n) = &p.name {
        m.insert("name".into(), json!(n.reveal()));
    }
    m.insert("presentation".into(), serde_json::to_value(p.presentation).unwrap_or(Value::Null));
    if let Some(r) = &p.redirecting {
        m.insert("redirecting".into(), json!(r.reveal()));
    }
    Value::Object(m)
}

/// What every event starts with.
fn header(kind: &str, at: DateTime<Utc>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("v".into(), json!(1));
    m.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    m.insert("ts".into(), json!(ts(at)));
    m.insert("type".into(), json!(kind));
    m
}

fn cause_json(c: Cause) -> Value {
    json!({ "q850": c.code(), "name": c.name() })
}

/// A menu choice is worth keeping in the IVR path; a long entry is an account number or
/// a PIN, so only its length is kept.
fn path_input(digits: &str) -> String {
    if digits.chars().count() <= 2 {
        digits.to_string()
    } else {
        format!("[{} digits]", digits.chars().count())
    }
}

impl Translator {
    /// `run_id` tells this daemon run's calls from the last run's (random per start);
    /// outgoing legs on `agent_groups` ring agents (they also get `agent.offered`).
    pub fn new(gateway: &str, run_id: &str, agent_groups: Vec<String>) -> Translator {
        Translator { gateway: gateway.into(), run_id: run_id.into(), agent_groups, legs: HashMap::new() }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The core's call for a stream id: a `leg_id`, or a `call_id` (its first leg).
    pub fn resolve(&self, id: &str) -> Option<u64> {
        let by_leg = self.legs.iter().find(|(_, l)| l.leg_id == id).map(|(k, _)| *k);
        by_leg
            .or_else(|| self.legs.iter().filter(|(_, l)| l.call_id == id).map(|(k, _)| *k).min())
            // A call placed this tick (an originate's answer) is not translated yet; its
            // id says which one it is.
            .or_else(|| id.strip_prefix(&self.run_id)?.strip_prefix('-')?.parse().ok())
    }

    /// Stream ids of a live call.
    pub fn ids(&self, id: u64) -> Option<(String, String)> {
        self.legs.get(&id).map(|l| (l.call_id.clone(), l.leg_id.clone()))
    }

    fn envelope(&self, l: &Leg, kind: &str, csta: &str, at: DateTime<Utc>) -> Map<String, Value> {
        let mut m = header(kind, at);
        if !csta.is_empty() {
            m.insert("csta".into(), json!(csta));
        }
        m.insert("call_id".into(), json!(l.call_id));
        m.insert("leg_id".into(), json!(l.leg_id));
        m.insert("direction".into(), serde_json::to_value(l.direction).unwrap_or(Value::Null));
        m.insert("device".into(), json!(l.device));
        m.insert("state".into(), json!(l.state));
        m.insert("from".into(), l.from.clone());
        m.insert("to".into(), json!({ "number": l.to }));
        m
    }

    fn leg_event(&self, id: u64, kind: &str, csta: &str, at: DateTime<Utc>, data: Value) -> Option<Output> {
        let l = self.legs.get(&id)?;
        let mut m = self.envelope(l, kind, csta, at);
        if data.as_object().is_some_and(|d| !d.is_empty()) {
            m.insert("data".into(), data);
        }
        Some(Output::Event(m))
    }

    /// Translates one core event that happened at wall-clock time `at`.
    pub fn translate(&mut self, ev: &CoreEvent, at: DateTime<Utc>, out: &mut Vec<Output>) {
        let Some(id) = ev.call else {
            if let EventKind::SpanAlarm { alarms } = &ev.kind {
                let (kind, desc) =
                    if alarms.is_down() { ("span.alarm", alarms.describe()) } else { ("span.up", String::new()) };
                let mut m = header(kind, at);
                m.insert("device".into(), json!(ev.device));
                m.insert("data".into(), json!({ "alarms": desc }));
                out.push(Output::Event(m));
            }
            return;
        };
        match &ev.kind {
            EventKind::Offered { direction, called, caller, parent } => {
                self.offered(id, ev, *direction, called, caller, *parent, at, out)
            }
            EventKind::LookedUp { class, outcome, customer } => {
                if let Some(l) = self.legs.get_mut(&id) {
                    l.class = class.clone();
                    l.customer = customer.clone();
                    l.lookup = match outcome {
                        LookupOutcome::Answered => "answered",
                        LookupOutcome::Timeout => "timeout",
                        LookupOutcome::Unavailable => "unavailable",
                    };
                }
            }
            EventKind::Routed { route } => {
                if let Some(l) = self.legs.get_mut(&id) {
                    l.route = route.clone();
                    l.state = "routed";
                    let data = json!({ "route": route, "class": l.class, "lookup": l.lookup, "customer": l.customer });
                    out.extend(self.leg_event(id, "call.routed", "", at, data));
                }
            }
            EventKind::Alerting => {
                if let Some(l) = self.legs.get_mut(&id) {
                    l.state = "alerting";
                }
                out.extend(self.leg_event(id, "call.alerting", "Delivered", at, json!({})));
            }
            EventKind::Answered => {
                if let Some(l) = self.legs.get_mut(&id) {
                    if l.answer.is_some() {
                        return;
                    }
                    l.answer = Some(at);
                    l.state = "connected";
                }
                out.extend(self.leg_event(id, "call.answered", "Established", at, json!({})));
            }
            EventKind::Bridged { peer } => {
                let (Some(a), Some(b)) = (self.legs.get(&id), self.legs.get(peer)) else { return };
                let (a_leg, b_leg, a_dev, b_dev) =
                    (a.leg_id.clone(), b.leg_id.clone(), a.device.clone(), b.device.clone());
                for (x, other, dev) in [(id, b_leg, b_dev), (*peer, a_leg, a_dev)] {
                    if let Some(l) = self.legs.get_mut(&x) {
                        l.peer = Some(if x == id { *peer } else { id });
                        l.peer_device = dev;
                        l.state = "connected";
                    }
                    out.extend(self.leg_event(x, "call.bridged", "Established", at, json!({ "peer_leg_id": other })));
                }
            }
            EventKind::Transferred { to } => {
                out.extend(self.leg_event(id, "call.transferred", "Transferred", at, json!({ "to": to })));
            }
            EventKind::Digit(d) => {
                out.extend(self.leg_event(id, "dtmf.received", "", at, json!({ "digit": d.to_string() })));
            }
            EventKind::ToneDetected { tone } => {
                out.extend(self.leg_event(id, "tone.detected", "", at, json!({ "tone": tone })));
            }
            EventKind::Collected { digits, timed_out } => {
                let Some(l) = self.legs.get_mut(&id) else { return };
                let node = if l.node.is_empty() { "collect".to_string() } else { l.node.clone() };
                if !digits.is_empty() {
                    l.ivr_path.push(format!("{node}:{}", path_input(digits)));
                }
                let data = json!({ "node": node, "input": digits, "timed_out": timed_out });
                out.extend(self.leg_event(id, "ivr.progress", "", at, data));
            }
            EventKind::Custom { name, fields } => {
                let Some(l) = self.legs.get_mut(&id) else { return };
                let data = serde_json::to_value(fields).unwrap_or_default();
                if name == "ivr.progress" {
                    let node = fields.get("node").cloned().unwrap_or_default();
                    if !node.is_empty() {
                        l.ivr_path.push(node.clone());
                        l.node = node;
                    }
                    out.extend(self.leg_event(id, "ivr.progress", "", at, data));
                } else {
                    let kind = format!("custom.{name}");
                    out.extend(self.leg_event(id, &kind, "", at, data));
                }
            }
            EventKind::VarSet { name, value } => {
                if let Some(l) = self.legs.get_mut(&id) {
                    l.vars.insert(name.clone(), value.clone());
                }
            }
            EventKind::RecordingStarted { path } => {
                let p = path.display().to_string();
                if let Some(l) = self.legs.get_mut(&id) {
                    if !l.recordings.contains(&p) {
                        l.recordings.push(p.clone());
                    }
                }
                out.extend(self.leg_event(id, "recording.started", "", at, json!({ "path": p })));
            }
            EventKind::RecordingFinished { path, duration, error } => {
                let data = json!({ "path": path.display().to_string(), "duration_ms": duration.as_millis() as u64, "error": error });
                out.extend(self.leg_event(id, "recording.finished", "", at, data));
            }
            EventKind::Ended { cause, talk, .. } => self.ended(id, *cause, talk.is_some(), at, out),
            EventKind::Seized
            | EventKind::CallerId { .. }
            | EventKind::Proceeding
            | EventKind::Playing { .. }
            | EventKind::SpanAlarm { .. }
            | EventKind::Problem(_)
            | EventKind::AppLog { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn offered(
        &mut self,
        id: u64,
        ev: &CoreEvent,
        direction: Direction,
        called: &str,
        caller: &Party,
        parent: Option<u64>,
        at: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
        let leg_id = leg_id(&self.run_id, id);
        let call_id =
            parent.and_then(|p| self.legs.get(&p)).map(|p| p.call_id.clone()).unwrap_or_else(|| leg_id.clone());
        let (kind, csta, state) = match direction {
            Direction::Inbound => ("call.offered", "Offered", "offered"),
            Direction::Outbound => ("call.initiated", "Originated", "initiated"),
        };
        let leg = Leg {
            leg_id,
            call_id,
            direction,
            device: ev.device.clone(),
            from: party(caller),
            to: called.to_string(),
            start: at,
            answer: None,
            route: String::new(),
            class: String::new(),
            lookup: "none",
            customer: BTreeMap::new(),
            ivr_path: Vec::new(),
            node: String::new(),
            recordings: Vec::new(),
            peer: None,
            peer_device: String::new(),
            vars: BTreeMap::new(),
            parent,
            state,
        };
        let opened = json!({
            "leg_id": leg.leg_id, "call_id": leg.call_id, "gateway": self.gateway,
            "direction": direction, "device": leg.device, "from": leg.from,
            "to": { "number": leg.to }, "start": ts(at),
        });
        self.legs.insert(id, leg);
        if let Value::Object(m) = opened {
            out.push(Output::Opened(m));
        }
        let parent_leg = parent
            .and_then(|p| self.legs.get(&p))
            .map(|p| (p.leg_id.clone(), p.from.clone(), p.customer.clone(), p.class.clone()));
        let data = match &parent_leg {
            Some((p, ..)) => json!({ "parent_leg_id": p }),
            None => json!({}),
        };
        out.extend(self.leg_event(id, kind, csta, at, data));
        let group = ev.device.split('/').next().unwrap_or("");
        if let Some((_, caller, customer, class)) = parent_leg {
            if self.agent_groups.iter().any(|g| crate::core::router::glob_match(g, group)) {
                let data = json!({ "agent_device": ev.device, "caller": caller, "customer": customer, "class": class });
                out.extend(self.leg_event(id, "agent.offered", "Delivered", at, data));
            }
        }
    }

    fn ended(&mut self, id: u64, cause: Cause, answered: bool, at: DateTime<Utc>, out: &mut Vec<Output>) {
        let Some(mut l) = self.legs.remove(&id) else { return };
        l.state = "ended";
        // The surviving leg of a bridge hears of it.
        if let Some(peer) = l.peer {
            if let Some(p) = self.legs.get_mut(&peer) {
                p.peer = None;
                let data = json!({ "peer_leg_id": l.leg_id });
                out.extend(self.leg_event(peer, "call.unbridged", "", at, data));
            }
        }
        let cdr = self.cdr(&l, cause, at);
        if !answered || l.answer.is_none() {
            let mut m = self.envelope(&l, "call.failed", "Failed", at);
            m.insert("cause".into(), cause_json(cause));
            out.push(Output::Event(m));
        }
        let mut m = self.envelope(&l, "call.ended", "ConnectionCleared", at);
        m.insert("cause".into(), cause_json(cause));
        m.insert("vars".into(), serde_json::to_value(&l.vars).unwrap_or_default());
        out.push(Output::Ended { event: m, cdr });
    }

    fn cdr(&self, l: &Leg, cause: Cause, end: DateTime<Utc>) -> Map<String, Value> {
        let ms = |d: chrono::TimeDelta| d.num_milliseconds().max(0);
        let v = json!({
            "v": 1,
            "call_id": l.call_id,
            "leg_id": l.leg_id,
            "gateway": self.gateway,
            "direction": l.direction,
            "device": l.device,
            "from": l.from,
            "to": { "number": l.to },
            "start": ts(l.start),
            "answer": l.answer.map(ts),
            "end": ts(end),
            "duration_ms": ms(end - l.start),
            "talk_ms": l.answer.map(|a| ms(end - a)).unwrap_or(0),
            "route": l.route,
            "class": l.class,
            "lookup": l.lookup,
            "customer_id": l.customer.get("id").cloned().unwrap_or_default(),
            "ivr_path": l.ivr_path,
            "peer_device": l.peer_device,
            "parent_leg_id": l.parent.map(|p| leg_id(&self.run_id, p)),
            "recordings": l.recordings,
            "cause": cause_json(cause),
            "vars": l.vars,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The record of a leg that was up when the daemon died, from what `Output::Opened`
    /// saved: it ended at `at` (this start) with cause 41.
    pub fn orphan_cdr(opened: &Map<String, Value>, at: DateTime<Utc>) -> (Map<String, Value>, Map<String, Value>) {
        let mut cdr = opened.clone();
        let cause = Cause::TemporaryFailure;
        let start = opened.get("start").and_then(|s| s.as_str()).and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        cdr.insert("v".into(), json!(1));
        cdr.insert("answer".into(), Value::Null);
        cdr.insert("end".into(), json!(ts(at)));
        cdr.insert(
            "duration_ms".into(),
            json!(start.map(|s| (at - s.with_timezone(&Utc)).num_milliseconds().max(0)).unwrap_or(0)),
        );
        cdr.insert("talk_ms".into(), json!(0));
        cdr.insert("cause".into(), cause_json(cause));
        cdr.insert("end_reason".into(), json!("gateway restart"));
        let mut ev = header("call.ended", at);
        ev.insert("csta".into(), json!("ConnectionCleared"));
        for k in ["call_id", "leg_id", "direction", "device", "from", "to"] {
            if let Some(v) = opened.get(k) {
                ev.insert(k.into(), v.clone());
            }
        }
        ev.insert("state".into(), json!("ended"));
        ev.insert("cause".into(), cause_json(cause));
        (ev, cdr)
    }

    /// Legs still up (for shutdown accounting and tests).
    pub fn live_legs(&self) -> usize {
        self.legs.len()
    }
}
