//! The settings' little languages: actions, prefix rules, office hours and days.

use trunkd_plugin::Decision;

/// What a rule (or `after_hours`) does with a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `none`: no opinion (e.g. to exempt a longer prefix from a shorter one's rule).
    None,
    /// `dial:GROUP` dials the called number on GROUP; `dial:GROUP,strip` dials it without
    /// the matched prefix (no opinion if nothing is left).
    Dial { group: String, strip: bool },
    /// `script:NAME[,ARG...]`.
    Script { name: String, args: Vec<String> },
    /// `queue:NAME`.
    Queue { name: String },
    /// `reject:CAUSE`, a Q.850 cause 1..=127.
    Reject { cause: u8 },
}

impl Action {
    /// Parses `dial:pri-1`, `script:menu.lua,en`, `queue:agents`, `reject:21` or `none`.
    pub fn parse(s: &str) -> Result<Action, String> {
        let s = s.trim();
        if s == "none" {
            return Ok(Action::None);
        }
        let Some((kind, arg)) = s.split_once(':') else {
            return Err(format!(
                "`{s}` is not an action (dial:GROUP, script:NAME,ARGS…, queue:NAME, reject:CAUSE, none)"
            ));
        };
        let parts: Vec<&str> = arg.split(',').map(str::trim).collect();
        let (first, rest) = (parts[0], &parts[1..]);
        if first.is_empty() {
            return Err(format!("`{s}`: {kind} needs a name"));
        }
        let action = match kind.trim() {
            "dial" => match rest {
                [] => Action::Dial { group: first.to_owned(), strip: false },
                ["strip"] => Action::Dial { group: first.to_owned(), strip: true },
                _ => return Err(format!("`{s}`: dial takes a group and optionally `,strip`")),
            },
            "script" => Action::Script { name: first.to_owned(), args: rest.iter().map(|a| (*a).to_owned()).collect() },
            "queue" if rest.is_empty() => Action::Queue { name: first.to_owned() },
            "queue" => return Err(format!("`{s}`: queue takes one name")),
            "reject" => match (rest, first.parse::<u8>()) {
                ([], Ok(cause @ 1..=127)) => Action::Reject { cause },
                _ => return Err(format!("`{s}`: reject takes a Q.850 cause 1..127")),
            },
            other => return Err(format!("`{s}`: unknown action `{other}` (dial, script, queue, reject, none)")),
        };
        // Refuse at load time what the ABI could not carry (too long, too many arguments).
        action.decide("", 0).validate().map_err(|e| format!("`{s}`: {e}"))?;
        Ok(action)
    }

    /// The decision for a call to `called` that matched a prefix of `prefix_len` bytes.
    pub fn decide(&self, called: &str, prefix_len: usize) -> Decision {
        match self {
            Action::None => Decision::NoOpinion,
            Action::Dial { group, strip: false } => Decision::dial(group, ""),
            // Nothing left after the prefix: an empty number would mean "the called number".
            Action::Dial { group, strip: true } => match called.get(prefix_len..) {
                Some(rest) if !rest.is_empty() => Decision::dial(group, rest),
                _ => Decision::NoOpinion,
            },
            Action::Script { name, args } => Decision::Script { name: name.clone(), args: args.clone() },
            Action::Queue { name } => Decision::queue(name),
            Action::Reject { cause } => Decision::Reject { cause: *cause },
        }
    }
}

/// One `PREFIX=ACTION` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub prefix: String,
    pub action: Action,
}

/// The rules, longest prefix first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules(Vec<Rule>);

impl Rules {
    /// Parses `95=dial:pri-1;400=script:menu.lua,en;…`. Empty items (a trailing `;`) are
    /// allowed; an empty, non-digit or repeated prefix or a bad action is an error naming
    /// the rule.
    pub fn parse(s: &str) -> Result<Rules, String> {
        let mut rules: Vec<Rule> = Vec::new();
        for (i, item) in s.split(';').map(str::trim).enumerate().filter(|(_, item)| !item.is_empty()) {
            let bad = |why: String| format!("rule {} `{item}`: {why}", i + 1);
            let Some((prefix, action)) = item.split_once('=') else {
                return Err(bad("expected PREFIX=ACTION".into()));
            };
            let prefix = prefix.trim();
            if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit() || b"*#+".contains(&b)) {
                return Err(bad(format!("prefix `{prefix}` is not digits")));
            }
            if rules.iter().any(|r| r.prefix == prefix) {
                return Err(bad(format!("prefix `{prefix}` appears twice")));
            }
            let action = Action::parse(action).map_err(bad)?;
            rules.push(Rule { prefix: prefix.to_owned(), action });
        }
        rules.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Ok(Rules(rules))
    }

    /// The rule with the longest prefix of `called`.
    pub fn lookup(&self, called: &str) -> Option<&Rule> {
        self.0.iter().find(|r| called.starts_with(r.prefix.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Office hours: a time range (possibly across midnight) on some days of the week.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Office {
    /// Minutes of the day, `start` inclusive, `end` exclusive; `start > end` spans midnight.
    pub start: u32,
    pub end: u32,
    /// Bit `d` set: open on weekday `d` (0 = Monday), the local calendar day of the call.
    pub days: u8,
}

impl Office {
    /// Whether a call at local `minute` of weekday `day` (0 = Monday) is within hours.
    pub fn is_open(&self, day: u32, minute: u32) -> bool {
        let in_hours = if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        };
        in_hours && self.days & (1 << day) != 0
    }
}

/// `HH:MM` as minutes of the day; `24:00` only if `end`.
fn parse_time(s: &str, end: bool) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let digits = |x: &str, max: usize| (1..=max).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 2) || m.len() != 2 || !digits(m, 2) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let t = h * 60 + m;
    (m < 60 && (t < 24 * 60 || (end && t == 24 * 60))).then_some(t)
}

/// `09:00-18:00` (or `22:00-06:00` across midnight, `00:00-24:00` all day).
pub fn parse_hours(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("office_hours `{s}`: expected HH:MM-HH:MM, e.g. 09:00-18:00");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (start, end) = (parse_time(a, false).ok_or_else(bad)?, parse_time(b, true).ok_or_else(bad)?);
    if start == end {
        return Err(format!("office_hours `{s}`: start and end are the same"));
    }
    Ok((start, end % (24 * 60)))
}

/// `1-5` or `1-5,7`: days 1 = Monday … 7 = Sunday, as a bit set with bit 0 = Monday.
pub fn parse_days(s: &str) -> Result<u8, String> {
    let bad = || format!("office_days `{s}`: expected days 1 (Monday) to 7 (Sunday), e.g. 1-5 or 1-5,7");
    let day = |d: &str| d.trim().parse::<u32>().ok().filter(|d| (1..=7).contains(d)).ok_or_else(bad);
    let mut days = 0u8;
    for item in s.split(',') {
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(item)?, day(item)?),
        };
        if a > b {
            return Err(bad());
        }
        (a..=b).for_each(|d| days |= 1 << (d - 1));
    }
    Ok(days)
}
