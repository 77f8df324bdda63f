//! Snapshots of the engine's state for `trunkd ctl` (serialized as JSON on the socket).

use super::event::Direction;
use super::{Engine, Op};
use crate::backend::SpanCounters;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct SpanStatus {
    pub name: String,
    pub backend: String,
    pub kind: String,
    pub alarms: String,
    pub up: bool,
    /// The signalling link's state, for stacks that have one ("pri te etsi: D-channel up").
    pub signalling: Option<String>,
    pub channels: usize,
    pub calls: usize,
    pub counters: SpanCounters,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChannelStatus {
    pub device: String,
    pub path: String,
    pub state: String,
    pub call: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CallStatus {
    pub id: u64,
    pub device: String,
    pub direction: Direction,
    pub state: String,
    pub called: String,
    /// Masked: caller numbers are personal data.
    pub caller: String,
    pub app: String,
    pub seconds: u64,
    pub bridged_with: Option<u64>,
}

impl Engine {
    pub fn spans_status(&self) -> Vec<SpanStatus> {
        self.groups
            .iter()
            .map(|g| {
                let b = &self.backends[g.backend];
                let kind = b.spans().get(g.span).map(|d| format!("{:?}", d.kind).to_lowercase()).unwrap_or_default();
                SpanStatus {
                    name: g.name.clone(),
                    backend: b.name().to_string(),
                    kind,
                    alarms: g.alarms.describe(),
                    up: !g.alarms.is_down(),
                    signalling: g.sig.link_status(),
                    channels: g.chans.iter().filter(|c| c.audio).count(),
                    calls: g.chans.iter().filter(|c| c.call.is_some()).count(),
                    counters: b.counters(g.span),
                }
            })
            .collect()
    }

    pub fn channels_status(&self) -> Vec<ChannelStatus> {
        let mut v = Vec::new();
        for g in &self.groups {
            let descs = self.backends[g.backend].spans().get(g.span);
            for (ci, c) in g.chans.iter().enumerate() {
                let path = descs
                    .and_then(|d| d.channels.iter().find(|x| x.number == c.number))
                    .map(|d| {
                        serde_json::to_value(d.path).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
                    })
                    .unwrap_or_default();
                v.push(ChannelStatus {
                    device: g.device(ci),
                    path,
                    state: g.sig.channel_state(c.number).to_string(),
                    call: c.call,
                });
            }
        }
        v
    }

    pub fn calls_status(&self) -> Vec<CallStatus> {
        self.calls
            .values()
            .map(|c| {
                let state = if c.bridged {
                    "bridged"
                } else if c.answered_at.is_some() {
                    match c.op {
                        Some(Op::Play { .. }) => "playing",
                        Some(Op::Collect { .. }) => "collecting",
                        Some(Op::Record { .. }) => "recording",
                        Some(Op::Bridge { .. }) => "dialling",
                        _ => "answered",
                    }
                } else {
                    "ringing"
                };
                CallStatus {
                    id: c.info.id,
                    device: c.info.device.clone(),
                    direction: c.direction,
                    state: state.into(),
                    called: c.info.called.clone(),
                    caller: c.info.caller.number.masked(),
                    app: c.app.as_ref().map(|a| a.name().to_string()).unwrap_or_default(),
                    seconds: (self.now - c.answered_at.unwrap_or(self.now)).as_secs(),
                    bridged_with: if c.bridged { c.peer } else { None },
                }
            })
            .collect()
    }
}
