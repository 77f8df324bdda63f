//! Static routing from config: the first rule whose group and called-number pattern
//! match decides. Plugins and CRM lookups (later issues) sit in front of this table.

use crate::config::RouteConfig;

/// A called-number pattern: exact digits, or an extension pattern starting with `_`
/// (`X` 0-9, `Z` 1-9, `N` 2-9, `[1-5]` a set, `.` one or more of anything), the notation
/// telecom engineers know from Asterisk dialplans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    elems: Vec<Elem>,
    exact: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Elem {
    Set(Vec<char>),
    Rest,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let Some(p) = s.strip_prefix('_') else {
            if s.is_empty() || !s.chars().all(|c| "0123456789*#ABCD".contains(c)) {
                return Err(format!("`{s}`: exact numbers use 0-9 * # A-D; patterns start with `_`"));
            }
            return Ok(Pattern { elems: vec![], exact: Some(s.to_string()) });
        };
        let mut elems = Vec::new();
        let mut chars = p.chars();
        while let Some(c) = chars.next() {
            let e = match c {
                'X' | 'x' => Elem::Set(('0'..='9').collect()),
                'Z' | 'z' => Elem::Set(('1'..='9').collect()),
                'N' | 'n' => Elem::Set(('2'..='9').collect()),
                '.' => Elem::Rest,
                '[' => {
                    let mut set = Vec::new();
                    let mut prev: Option<char> = None;
                    let mut closed = false;
                    while let Some(d) = chars.next() {
                        match d {
                            ']' => {
                                closed = true;
                                break;
                            }
                            '-' => {
                                let (Some(lo), Some(hi)) = (prev, chars.next()) else {
                                    return Err(format!("`{s}`: bad range in []"));
                                };
                                if hi == ']' || hi < lo {
                                    return Err(format!("`{s}`: bad range in []"));
                                }
                                set.extend((lo..=hi).skip(1));
                            }
                            d if d.is_ascii_digit() || "*#".contains(d) => {
                                set.push(d);
                                prev = Some(d);
                            }
                            _ => return Err(format!("`{s}`: `{d}` is not allowed in []")),
                        }
                    }
                    if !closed || set.is_empty() {
                        return Err(format!("`{s}`: unclosed or empty []"));
                    }
                    Elem::Set(set)
                }
                c if c.is_ascii_digit() || "*#".contains(c) => Elem::Set(vec![c]),
                _ => return Err(format!("`{s}`: `{c}` is not a pattern character")),
            };
            if matches!(elems.last(), Some(Elem::Rest)) {
                return Err(format!("`{s}`: `.` must be last"));
            }
            elems.push(e);
        }
        if elems.is_empty() {
            return Err(format!("`{s}`: empty pattern"));
        }
        Ok(Pattern { elems, exact: None })
    }

    pub fn matches(&self, number: &str) -> bool {
        if let Some(e) = &self.exact {
            return e == number;
        }
        let digits: Vec<char> = number.chars().collect();
        let mut i = 0;
        for e in &self.elems {
            match e {
                Elem::Rest => return i < digits.len(),
                Elem::Set(set) => {
                    if i >= digits.len() || !set.contains(&digits[i]) {
                        return false;
                    }
                    i += 1;
                }
            }
        }
        i == digits.len()
    }
}

/// `*` matches any run of characters; everything else matches itself. Iterative with
/// one backtrack point, so it is linear-ish whatever the pattern (routing runs on the
/// media tick; a pathological `from` must not stall it).
pub fn glob_match(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The compiled routing table.
pub struct Router {
    rules: Vec<(RouteConfig, Option<Pattern>)>,
}

impl Router {
    /// Builds from validated config (invalid patterns were rejected by `Config::validate`).
    pub fn new(routes: &[RouteConfig]) -> Router {
        let rules =
            routes.iter().map(|r| (r.clone(), r.called.as_deref().and_then(|p| Pattern::parse(p).ok()))).collect();
        Router { rules }
    }

    /// The first rule for a call on `group` to `called` from a caller of `class` (the
    /// CRM's classification, empty when unknown), with its index.
    pub fn route(&self, group: &str, called: &str, class: &str) -> Option<(usize, &RouteConfig)> {
        self.rules.iter().enumerate().find_map(|(i, (r, p))| {
            let from_ok = r.from.as_deref().is_none_or(|f| glob_match(f, group));
            let called_ok = p.as_ref().is_none_or(|p| p.matches(called));
            let class_ok = r.class.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(class));
            (from_ok && called_ok && class_ok).then_some((i, r))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = Pattern::parse("_8XXX").unwrap();
        assert!(p.matches("8001"));
        assert!(!p.matches("800"));
        assert!(!p.matches("80011"));
        assert!(!p.matches("9001"));
        let p = Pattern::parse("_1[3-9]X.").unwrap();
        assert!(p.matches("13800138000"));
        assert!(!p.matches("12800138000"));
        assert!(!p.matches("138"));
        assert!(Pattern::parse("2001").unwrap().matches("2001"));
        assert!(!Pattern::parse("2001").unwrap().matches("20011"));
        for bad in ["", "_", "_8Q", "_[", "_[]", "_.1", "_[9-1]", "abc"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("fxo*", "fxo-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("e1-*-a", "e1-x-a"));
        assert!(!glob_match("e1", "e1-1"));
        assert!(!glob_match("fxo*", "fxs-1"));
        assert!(glob_match("**a*", "bab"));
        assert!(!glob_match("a*b", "ab-c"));
        // Many stars against a long miss stays fast.
        let pat = "*a".repeat(10) + "b";
        assert!(!glob_match(&pat, &"a".repeat(3000)));
    }
}

/// What a routing advisor (the plugin chain) says about an offered call.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Advice {
    /// Ask the next advisor, then the static routes.
    NoOpinion,
    /// Run a Lua script (relative to `ivr.scripts_dir`) with arguments.
    Script { name: String, args: Vec<String> },
    /// Dial out on a span/line group (empty number: the called number) and bridge.
    Dial { group: String, number: String },
    /// Ring the agents of a queue (a line group of agent phones).
    Queue { name: String },
    /// Clear the call with a Q.850 cause.
    Reject { cause: u8 },
}

/// An offered call as an advisor sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteQuery {
    pub call_id: u64,
    pub group: String,
    pub device: String,
    pub channel: u16,
    pub inbound: bool,
    /// Personal data: revealed to advisors (they route on it), never logged by the core.
    pub caller: String,
    pub caller_name: String,
    pub caller_presentation: crate::signalling::Presentation,
    pub called: String,
    pub redirecting: String,
    /// The CRM's classification of the caller when known ("vip", "blacklist", …).
    pub classification: String,
    pub vars: Vec<(String, String)>,
}

impl RouteQuery {
    /// An inbound call with just the essentials (the rest empty): for tools and tests.
    pub fn inbound(call_id: u64, device: &str, called: &str, caller: &str) -> RouteQuery {
        let (group, chan) = device.split_once('/').unwrap_or((device, "0"));
        RouteQuery {
            call_id,
            group: group.to_string(),
            device: device.to_string(),
            channel: chan.parse().unwrap_or(0),
            inbound: true,
            caller: caller.to_string(),
            caller_name: String::new(),
            caller_presentation: crate::signalling::Presentation::Allowed,
            called: called.to_string(),
            redirecting: String::new(),
            classification: String::new(),
            vars: Vec::new(),
        }
    }
}

/// Who the caller is, as the CRM answered a lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallerInfo {
    /// `vip`, `svip`, `blacklist`, `whitelist`, `normal` or empty.
    #[serde(default)]
    pub class: String,
    /// The customer card: `id`, `name`, `level`, `owner`, … (personal data).
    #[serde(default)]
    pub customer: std::collections::BTreeMap<String, String>,
    /// More variables for the call (become `crm_<name>`).
    #[serde(default)]
    pub vars: std::collections::BTreeMap<String, String>,
}

/// Asks who a caller is before the call is routed (the CRM, over the CTI stream). Like
/// the advisor it is asynchronous: the call waits at most `budget()`.
pub trait CallerLookup: Send {
    /// Sends the question; false when nobody can answer (no CRM connected), so the call
    /// does not wait for nothing.
    fn ask(&mut self, query: &RouteQuery) -> bool;
    fn poll(&mut self) -> Option<(u64, CallerInfo)>;
    fn budget(&self) -> std::time::Duration;
}

/// Something outside the core that decides where calls go, asynchronously: the core asks
/// at the offer, keeps the call waiting (it is already proceeding on the wire) until the
/// answer or `budget()` runs out, then routes by the answer or by the static table.
pub trait RouteAdvisor: Send {
    fn ask(&mut self, query: RouteQuery);
    /// Answers that have arrived, by call id.
    fn poll(&mut self) -> Option<(u64, Advice)>;
    /// How long one call may wait for an answer.
    fn budget(&self) -> std::time::Duration;
    /// Call lifecycle news for advisors that keep statistics (fire and forget).
    fn notify(&mut self, _call_id: u64, _kind: &str, _cause: u8, _talk_ms: u64) {}
    /// State and counters for `trunkd ctl plugins`.
    fn status(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
