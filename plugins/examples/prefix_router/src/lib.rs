//! `prefix_router`: a least-cost / prefix router with office hours, as a trunkd plugin.
//!
//! Settings (all optional, unknown names are an error):
//!
//! * `rules`: `;`-separated `PREFIX=ACTION`, the longest prefix of the called number wins:
//!   `"95=dial:pri-1;400=script:menu.lua,en;13=queue:agents;1900=reject:21"`.
//!   Actions: `dial:GROUP` (the called number as is), `dial:GROUP,strip` (without the
//!   prefix; no opinion if nothing is left), `script:NAME[,ARG…]`, `queue:NAME`, `reject:CAUSE`, `none` (no opinion).
//! * `office_hours`: `"09:00-18:00"` (may span midnight: `"22:00-06:00"`), with
//!   `office_days`: `"1-5"` (1 = Monday … 7 = Sunday; lists like `"1-5,7"`; default all days).
//! * `after_hours`: an action for calls outside office hours (`"script:closed.lua"`,
//!   `"reject:17"`); requires `office_hours`.
//! * `vip_queue`: the queue for callers the CRM classifies `vip` or `svip`.
//!
//! Order: classification `blacklist` → reject 21; `vip`/`svip` → `vip_queue` (if set);
//! outside office hours → `after_hours` (if set); then the rules; no match → no opinion.

mod rules;

use std::fmt;

use trunkd_plugin::{export_plugin, Call, Decision, Event, Plugin, Settings};

use crate::rules::{parse_days, parse_hours, Action, Office, Rules};

const KNOWN_SETTINGS: [&str; 5] = ["rules", "office_hours", "office_days", "after_hours", "vip_queue"];

/// Q.850 "call rejected".
const CAUSE_CALL_REJECTED: u8 = 21;

/// What the router has decided and seen since it was loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub no_opinion: u64,
    pub script: u64,
    pub dial: u64,
    pub queue: u64,
    pub reject: u64,
    pub answered: u64,
    pub ended: u64,
    pub talk_ms: u64,
}

impl Stats {
    fn count(&mut self, d: &Decision) {
        let n = match d {
            Decision::NoOpinion => &mut self.no_opinion,
            Decision::Script { .. } => &mut self.script,
            Decision::Dial { .. } => &mut self.dial,
            Decision::Queue { .. } => &mut self.queue,
            Decision::Reject { .. } => &mut self.reject,
        };
        *n += 1;
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "decisions: {} dial, {} script, {} queue, {} reject, {} no opinion; {} answered, {} ended, {} s talk",
            self.dial,
            self.script,
            self.queue,
            self.reject,
            self.no_opinion,
            self.answered,
            self.ended,
            self.talk_ms / 1000
        )
    }
}

pub struct PrefixRouter {
    rules: Rules,
    office: Option<Office>,
    after_hours: Option<Action>,
    vip_queue: Option<String>,
    stats: Stats,
}

impl PrefixRouter {
    fn decide(&self, call: &Call) -> Decision {
        match (call.classification(), &self.vip_queue) {
            ("blacklist", _) => return Decision::Reject { cause: CAUSE_CALL_REJECTED },
            ("vip" | "svip", Some(queue)) => return Decision::queue(queue),
            _ => {}
        }
        if let (Some(office), Some(action)) = (&self.office, &self.after_hours) {
            if !office.is_open(call.local_weekday(), call.local_minutes_of_day()) {
                return action.decide(call.called(), 0);
            }
        }
        match self.rules.lookup(call.called()) {
            Some(rule) => rule.action.decide(call.called(), rule.prefix.len()),
            None => Decision::NoOpinion,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Plugin for PrefixRouter {
    const NAME: &'static str = "prefix_router";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(settings: &Settings) -> Result<Self, String> {
        if let Some((name, _)) = settings.iter().find(|(name, _)| !KNOWN_SETTINGS.contains(name)) {
            return Err(format!("unknown setting `{name}` (known: {})", KNOWN_SETTINGS.join(", ")));
        }
        let rules = Rules::parse(settings.get("rules").unwrap_or(""))?;
        let days = settings.get("office_days").map(parse_days).transpose()?;
        let office = match (settings.get("office_hours"), days) {
            (Some(hours), days) => {
                let (start, end) = parse_hours(hours)?;
                Some(Office { start, end, days: days.unwrap_or(0x7f) })
            }
            (None, Some(_)) => return Err("office_days is set without office_hours".into()),
            (None, None) => None,
        };
        let after_hours = match settings.get("after_hours") {
            Some(_) if office.is_none() => return Err("after_hours is set without office_hours".into()),
            Some(a) => Some(Action::parse(a).map_err(|e| format!("after_hours {e}"))?),
            None => None,
        };
        let vip_queue = match settings.get("vip_queue").map(str::trim) {
            Some(q) => {
                Decision::queue(q).validate().map_err(|e| format!("vip_queue `{q}`: {e}"))?;
                Some(q.to_owned())
            }
            None => None,
        };
        Ok(PrefixRouter { rules, office, after_hours, vip_queue, stats: Stats::default() })
    }

    fn route(&mut self, call: &Call) -> Decision {
        let decision = self.decide(call);
        self.stats.count(&decision);
        decision
    }

    fn event(&mut self, ev: &Event) {
        if ev.is_answered() {
            self.stats.answered += 1;
        } else if ev.is_ended() {
            self.stats.ended += 1;
            self.stats.talk_ms = self.stats.talk_ms.saturating_add(ev.talk_ms());
        }
    }
}

impl Drop for PrefixRouter {
    fn drop(&mut self) {
        eprintln!("{}: {} rules; {}", Self::NAME, self.rules.len(), self.stats);
    }
}

export_plugin!(PrefixRouter);

#[cfg(test)]
mod tests;
