//! Call-core events: what happened, for the live view, logs, `trunkd ctl` and (later)
//! the CTI stream. Caller numbers stay wrapped in `Pii` here; only the consumers that are
//! allowed to (CDR, CTI) reveal them.

use crate::backend::line::Alarms;
use crate::signalling::{Cause, Party};
use crate::time::Instant;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// How a caller lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LookupOutcome {
    Answered,
    /// No answer within the budget: the ordinary route.
    Timeout,
    /// Nobody to ask (no CRM connected).
    Unavailable,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A channel left idle because of the far end (off-hook, seizure, ringing).
    Seized,
    Offered {
        direction: Direction,
        called: String,
        caller: Party,
        /// For the B-leg of a bridge: its A-leg (the CTI gives both legs one call id).
        parent: Option<u64>,
    },
    /// The CRM said who the caller is (or did not answer in time).
    LookedUp {
        /// `vip`, `svip`, `blacklist`, `whitelist`, `normal`, or empty when unknown.
        class: String,
        outcome: LookupOutcome,
        /// What the CRM knows: `id`, `name`, `level`, `owner`, … (personal data).
        customer: std::collections::BTreeMap<String, String>,
    },
    /// The call left its application for a new destination (CTI transfer).
    Transferred {
        to: String,
    },
    Routed {
        route: String,
    },
    Proceeding,
    Alerting,
    Answered,
    Playing {
        what: String,
    },
    Digit(char),
    Collected {
        digits: String,
        timed_out: bool,
    },
    RecordingStarted {
        path: PathBuf,
    },
    RecordingFinished {
        path: PathBuf,
        duration: Duration,
        error: Option<String>,
    },
    Bridged {
        peer: u64,
    },
    Ended {
        cause: Cause,
        direction: Direction,
        talk: Option<Duration>,
    },
    SpanAlarm {
        alarms: Alarms,
    },
    /// On-hook caller ID was decoded on a line (before its call is offered).
    CallerId {
        /// The format heard (`etsi`, `bell202-mdmf`, `dtmf`, …).
        format: String,
    },
    /// A tone heard on the call: fax or modem (`cng`, `ced`, `ans-pr`, `ans-am`) or call
    /// progress the signalling listened for (`busy`, `congestion`, `ringback`, `sit`, `dial`).
    ToneDetected {
        tone: String,
    },
    /// Something went wrong that a user should see (bad prompt, no route, …).
    Problem(String),
    /// An application set a call variable.
    VarSet {
        name: String,
        value: String,
    },
    /// An application's log line.
    AppLog {
        level: crate::core::app::LogLevel,
        message: String,
    },
    /// An application's custom event (CTI).
    Custom {
        name: String,
        fields: std::collections::BTreeMap<String, String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct CoreEvent {
    pub at: Instant,
    pub call: Option<u64>,
    /// `group/channel`, e.g. `e1-1/5` or `phones/0`.
    pub device: String,
    pub kind: EventKind,
}

impl fmt::Display for CoreEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.at.as_millis();
        write!(f, "{:>5}.{:03}s ", ms / 1000, ms % 1000)?;
        match self.call {
            Some(id) => write!(f, "call {id:<4} ")?,
            None => write!(f, "          ")?,
        }
        write!(f, "{:<12} ", self.device)?;
        match &self.kind {
            EventKind::Seized => write!(f, "seized"),
            EventKind::Offered { direction: Direction::Inbound, called, caller, .. } => {
                write!(f, "incoming call to {}", if called.is_empty() { "(no number)" } else { called })?;
                if !caller.number.is_empty() {
                    write!(f, " from {}", caller.number)?;
                }
                Ok(())
            }
            EventKind::Offered { direction: Direction::Outbound, called, .. } => write!(f, "dialling {called}"),
            EventKind::Routed { route } => write!(f, "routed: {route}"),
            EventKind::LookedUp { class, outcome, .. } => match outcome {
                LookupOutcome::Answered => {
                    write!(f, "caller lookup: {}", if class.is_empty() { "unknown" } else { class })
                }
                LookupOutcome::Timeout => write!(f, "caller lookup: no answer in time"),
                LookupOutcome::Unavailable => write!(f, "caller lookup: no CRM connected"),
            },
            EventKind::Transferred { to } => write!(f, "transferred to {to}"),
            EventKind::Proceeding => write!(f, "proceeding"),
            EventKind::Alerting => write!(f, "ringing"),
            EventKind::Answered => write!(f, "answered"),
            EventKind::Playing { what } => write!(f, "playing {what}"),
            EventKind::Digit(d) => write!(f, "digit {d}"),
            EventKind::CallerId { format } => write!(f, "caller ID received ({format})"),
            EventKind::ToneDetected { tone } => write!(f, "heard {tone} tone"),
            EventKind::Collected { digits, timed_out } => {
                write!(f, "collected \"{digits}\"{}", if *timed_out { " (timeout)" } else { "" })
            }
            EventKind::RecordingStarted { path } => write!(f, "recording to {}", path.display()),
            EventKind::RecordingFinished { path, duration, error: None } => {
                write!(f, "recorded {:.1}s: {}", duration.as_secs_f32(), path.display())
            }
            EventKind::RecordingFinished { path, error: Some(e), .. } => {
                write!(f, "recording {} FAILED: {e}", path.display())
            }
            EventKind::Bridged { peer } => write!(f, "bridged with call {peer}"),
            EventKind::Ended { cause, talk, .. } => match talk {
                Some(t) => write!(f, "cleared: {cause}, talk {:.1}s", t.as_secs_f32()),
                None => write!(f, "cleared: {cause}, not answered"),
            },
            EventKind::SpanAlarm { alarms } => write!(f, "span alarm: {}", alarms.describe()),
            EventKind::Problem(p) => write!(f, "problem: {p}"),
            EventKind::VarSet { name, value } => write!(f, "set {name} = {value}"),
            EventKind::AppLog { level, message } => write!(f, "log {level:?}: {message}"),
            EventKind::Custom { name, fields } => {
                write!(f, "event {name}")?;
                for (k, v) in fields {
                    write!(f, " {k}={v}")?;
                }
                Ok(())
            }
        }
    }
}
