//! Client messages (protocol.md, "Client → gateway") and the commands the daemon loop runs.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// `subscribe`'s filter: lists of globs; empty lists match everything.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    pub types: Vec<String>,
    pub devices: Vec<String>,
}

impl Filter {
    pub fn matches(&self, kind: &str, device: &str) -> bool {
        let any =
            |globs: &[String], s: &str| globs.is_empty() || globs.iter().any(|g| crate::core::router::glob_match(g, s));
        any(&self.types, kind) && any(&self.devices, device)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub group: String,
    pub number: String,
}

/// What a client may send. Unknown fields are refused: a typo must not be silently ignored.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum ClientMsg {
    #[serde(rename = "subscribe")]
    Subscribe {
        req: Option<String>,
        since_seq: Option<u64>,
        #[serde(default)]
        filter: Filter,
        #[serde(default)]
        lookup: bool,
    },
    #[serde(rename = "lookup.result")]
    LookupResult {
        lookup_id: String,
        #[serde(default)]
        class: String,
        #[serde(default)]
        customer: BTreeMap<String, Value>,
        #[serde(default)]
        vars: BTreeMap<String, Value>,
    },
    #[serde(rename = "cdr.query")]
    CdrQuery {
        req: Option<String>,
        #[serde(default)]
        since_seq: u64,
        limit: Option<usize>,
    },
    #[serde(rename = "originate")]
    Originate { req: Option<String>, group: String, number: String, caller: Option<String>, bridge: Option<Target> },
    #[serde(rename = "answer")]
    Answer { req: Option<String>, call_id: String },
    #[serde(rename = "hangup")]
    Hangup { req: Option<String>, call_id: String, cause: Option<String> },
    #[serde(rename = "transfer")]
    Transfer { req: Option<String>, call_id: String, group: String, number: String },
    #[serde(rename = "play")]
    Play { req: Option<String>, call_id: String, prompt: Option<String>, tone: Option<String> },
    #[serde(rename = "record.start")]
    RecordStart { req: Option<String>, call_id: String, path: Option<String> },
    #[serde(rename = "record.stop")]
    RecordStop { req: Option<String>, call_id: String },
    #[serde(rename = "dtmf.send")]
    DtmfSend { req: Option<String>, call_id: String, digits: String },
    #[serde(rename = "status")]
    Status { req: Option<String> },
}

impl ClientMsg {
    pub fn req(&self) -> Option<&str> {
        match self {
            ClientMsg::LookupResult { .. } => None,
            ClientMsg::Subscribe { req, .. }
            | ClientMsg::CdrQuery { req, .. }
            | ClientMsg::Originate { req, .. }
            | ClientMsg::Answer { req, .. }
            | ClientMsg::Hangup { req, .. }
            | ClientMsg::Transfer { req, .. }
            | ClientMsg::Play { req, .. }
            | ClientMsg::RecordStart { req, .. }
            | ClientMsg::RecordStop { req, .. }
            | ClientMsg::DtmfSend { req, .. }
            | ClientMsg::Status { req } => req.as_deref(),
        }
    }
}

/// A call-control message for the daemon loop (it owns the engine), with where to answer.
pub struct Command {
    pub msg: ClientMsg,
    pub reply: oneshot::Sender<Result<Value, String>>,
}

/// A string map from a JSON object whose values may be strings, numbers or booleans.
pub fn string_map(m: BTreeMap<String, Value>) -> BTreeMap<String, String> {
    m.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Null => None,
            Value::Object(_) | Value::Array(_) => Some((k, v.to_string())),
            other => Some((k, other.to_string())),
        })
        .collect()
}
