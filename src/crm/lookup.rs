//! Who is calling: the classification the gateway routes on (blacklist / VIP / normal).
//!
//! `classify` is pure (rows and `now` in, answer out) so the rules are unit-tested without
//! a database; `lookup` does the two indexed queries and calls it.

use super::db::{self, DbError};
use super::numbers;
use serde::Serialize;
use sqlx::AnyPool;

/// Customer level, as stored (`normal`/`vip`/`svip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Normal,
    Vip,
    Svip,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normal" | "" => Some(Level::Normal),
            "vip" => Some(Level::Vip),
            "svip" => Some(Level::Svip),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Vip => "vip",
            Level::Svip => "svip",
        }
    }
}

/// Number-list kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Blacklist,
    Whitelist,
    Vip,
    /// Do not call: matters for outbound campaigns only, never for inbound routing.
    Dnc,
}

impl ListKind {
    pub const ALL: [ListKind; 4] = [ListKind::Blacklist, ListKind::Whitelist, ListKind::Vip, ListKind::Dnc];
    pub fn parse(s: &str) -> Option<ListKind> {
        match s {
            "blacklist" => Some(ListKind::Blacklist),
            "whitelist" => Some(ListKind::Whitelist),
            "vip" => Some(ListKind::Vip),
            "dnc" => Some(ListKind::Dnc),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Blacklist => "blacklist",
            ListKind::Whitelist => "whitelist",
            ListKind::Vip => "vip",
            ListKind::Dnc => "dnc",
        }
    }
}

/// One number-list entry as the classifier needs it.
#[derive(Debug, Clone)]
pub struct ListEntry {
    pub id: i64,
    pub kind: ListKind,
    pub pattern: String,
    pub is_prefix: bool,
    pub reason: String,
    pub expires_at: Option<i64>,
}

impl ListEntry {
    /// Live (not expired at `now`) and matching the normalized number.
    pub fn applies(&self, normalized: &str, now_ms: i64) -> bool {
        let live = self.expires_at.is_none_or(|e| e > now_ms);
        let hit = if self.is_prefix { normalized.starts_with(&self.pattern) } else { normalized == self.pattern };
        live && hit && !self.pattern.is_empty()
    }
}

/// The customer fields a lookup answers with.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerRef {
    pub id: i64,
    pub name: String,
    pub level: Level,
    /// Owner agent's login.
    pub owner: Option<String>,
    /// Owner agent's contact device on the gateway (e.g. `phones/2`).
    pub owner_device: Option<String>,
}

/// The lookup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Blacklist,
    Svip,
    Vip,
    Normal,
}

impl Class {
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Blacklist => "blacklist",
            Class::Svip => "svip",
            Class::Vip => "vip",
            Class::Normal => "normal",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Classification {
    pub class: Class,
    /// Reason of the list entry that decided (blacklist or vip), for the UI.
    pub reason: Option<String>,
}

/// Blacklist (unless whitelisted) beats everything; then the customer's level or a VIP
/// list entry; else normal. Expired entries count for nothing.
pub fn classify(
    normalized: &str,
    customer: Option<&CustomerRef>,
    entries: &[ListEntry],
    now_ms: i64,
) -> Classification {
    let live = |k: ListKind| entries.iter().find(|e| e.kind == k && e.applies(normalized, now_ms));
    let white = live(ListKind::Whitelist);
    if let (Some(b), None) = (live(ListKind::Blacklist), white) {
        return Classification { class: Class::Blacklist, reason: Some(b.reason.clone()) };
    }
    match customer.map(|c| c.level) {
        Some(Level::Svip) => Classification { class: Class::Svip, reason: None },
        Some(Level::Vip) => Classification { class: Class::Vip, reason: None },
        _ => match live(ListKind::Vip) {
            Some(v) => Classification { class: Class::Vip, reason: Some(v.reason.clone()) },
            None => Classification { class: Class::Normal, reason: None },
        },
    }
}

/// The full answer for one caller number.
#[derive(Debug, Clone)]
pub struct LookupAnswer {
    pub normalized: Option<String>,
    pub customer: Option<CustomerRef>,
    pub classification: Classification,
}

/// Looks a caller up: customer by exact normalized number, else by an unambiguous suffix
/// match for local numbers; the number lists; then `classify`.
pub async fn lookup(pool: &AnyPool, raw_number: &str, now_ms: i64) -> Result<LookupAnswer, DbError> {
    let Some(normalized) = numbers::normalize(raw_number) else {
        return Ok(LookupAnswer {
            normalized: None,
            customer: None,
            classification: Classification { class: Class::Normal, reason: None },
        });
    };
    let customer = db::find_customer_by_number(pool, &normalized).await?;
    let entries = db::list_entries_matching(pool, &normalized).await?;
    let classification = classify(&normalized, customer.as_ref(), &entries, now_ms);
    Ok(LookupAnswer { normalized: Some(normalized), customer, classification })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: ListKind, pattern: &str, is_prefix: bool, expires_at: Option<i64>) -> ListEntry {
        ListEntry { id: 1, kind, pattern: pattern.into(), is_prefix, reason: "r".into(), expires_at }
    }

    fn cust(level: Level) -> CustomerRef {
        CustomerRef { id: 1, name: "x".into(), level, owner: None, owner_device: None }
    }

    const NOW: i64 = 1_000_000;

    #[test]
    fn table() {
        use Class::*;
        let black = entry(ListKind::Blacklist, "13700001111", false, None);
        let black_prefix = entry(ListKind::Blacklist, "170", true, Some(NOW + 1));
        let black_expired = entry(ListKind::Blacklist, "171", true, Some(NOW));
        let white = entry(ListKind::Whitelist, "13700001111", false, None);
        let white_expired = entry(ListKind::Whitelist, "13700001111", false, Some(NOW - 5));
        let vip_list = entry(ListKind::Vip, "0755", true, None);
        let dnc = entry(ListKind::Dnc, "13800000000", false, None);
        let cases: Vec<(&str, Option<Level>, Vec<ListEntry>, Class)> = vec![
            ("13700001111", None, vec![black.clone()], Blacklist),
            ("13700001111", Some(Level::Svip), vec![black.clone()], Blacklist),
            ("13700001111", None, vec![black.clone(), white.clone()], Normal),
            ("13700001111", Some(Level::Vip), vec![black.clone(), white], Vip),
            ("13700001111", None, vec![black.clone(), white_expired], Blacklist),
            ("17012345678", None, vec![black_prefix.clone()], Blacklist),
            ("17112345678", None, vec![black_expired], Normal),
            ("13912345678", None, vec![black_prefix, black], Normal),
            ("13912345678", Some(Level::Vip), vec![], Vip),
            ("13912345678", Some(Level::Svip), vec![], Svip),
            ("13912345678", Some(Level::Normal), vec![], Normal),
            ("075512345678", Some(Level::Normal), vec![vip_list.clone()], Vip),
            ("075512345678", Some(Level::Svip), vec![vip_list.clone()], Svip),
            ("13800000000", None, vec![dnc], Normal),
            ("", None, vec![entry(ListKind::Blacklist, "", true, None)], Normal),
        ];
        for (n, level, entries, want) in cases {
            let c = level.map(cust);
            let got = classify(n, c.as_ref(), &entries, NOW);
            assert_eq!(got.class, want, "{n} {level:?} {entries:?}");
        }
    }

    #[test]
    fn levels_parse() {
        assert_eq!(Level::parse("VIP"), Some(Level::Vip));
        assert_eq!(Level::parse(""), Some(Level::Normal));
        assert_eq!(Level::parse("gold"), None);
        for k in ListKind::ALL {
            assert_eq!(ListKind::parse(k.as_str()), Some(k));
        }
    }
}
