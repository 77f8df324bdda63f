//! Hand-written HTML: every dynamic value goes through `esc`.

use super::i18n::{t, Lang};
use crate::crm::db::{Role, Session};
use axum::response::Html;

/// Escapes text for element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// China Standard Time (UTC+8, no DST): the product's users read local time.
fn cst() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::FixedOffset::east_opt(0).expect("zero offset"))
}

/// `YYYY-MM-DD HH:MM:SS` in UTC+8.
pub fn fmt_ms(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|d| d.with_timezone(&cst()).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `YYYY-MM-DD` in UTC+8.
pub fn fmt_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&cst()).format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// End of the given day (`YYYY-MM-DD`, UTC+8) as epoch ms: an entry "until 2027-01-31"
/// still applies on the 31st.
pub fn parse_date_end(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let next = d.succ_opt()?.and_hms_opt(0, 0, 0)?;
    Some(next.and_local_timezone(cst()).single()?.timestamp_millis())
}

/// `m:ss` for durations.
pub fn fmt_dur(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 0 => {
            let s = ms / 1000;
            format!("{}:{:02}", s / 60, s % 60)
        }
        _ => String::new(),
    }
}

pub fn level_label(lang: Lang, level: &str) -> &'static str {
    match level {
        "vip" => t(lang, "vip"),
        "svip" => t(lang, "svip"),
        "blacklist" => t(lang, "blacklist"),
        "whitelist" => t(lang, "whitelist"),
        "dnc" => t(lang, "dnc"),
        _ => t(lang, "normal"),
    }
}

/// A page with navigation for a logged-in user.
pub fn page(lang: Lang, sess: &Session, title: &str, body: &str) -> Html<String> {
    let role = sess.user.role;
    let mut nav = String::new();
    let mut link = |href: &str, key: &'static str| {
        nav.push_str(&format!(
            r#"<a href="{href}" id="nav-{}">{}</a> "#,
            href.trim_start_matches('/'),
            esc(t(lang, key))
        ))
    };
    link("/desktop", "desktop");
    link("/customers", "customers");
    link("/calls", "calls");
    if role >= Role::Supervisor {
        link("/live", "live");
        link("/lists", "lists");
    }
    if role >= Role::Admin {
        link("/users", "users");
    }
    let other = match lang {
        Lang::Zh => r#"<a href="?lang=en" id="lang-en">English</a>"#,
        Lang::En => r#"<a href="?lang=zh" id="lang-zh">中文</a>"#,
    };
    Html(format!(
        r#"<!doctype html>
<html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {app}</title><link rel="stylesheet" href="/static/style.css"></head>
<body data-lang="{code}" data-csrf="{csrf}">
<header><strong>{app}</strong> <nav>{nav}</nav>
<span class="me">{who} ({role}) {other}
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button id="logout">{logout}</button></form></span></header>
<main><h1>{title}</h1>
{body}
</main>
<script type="application/json" id="i18n">{strings}</script>
<script src="/static/app.js"></script>
</body></html>"#,
        code = lang.code(),
        title = esc(title),
        app = esc(t(lang, "app")),
        csrf = esc(&sess.csrf),
        who = esc(&sess.user.display_name),
        role = role.as_str(),
        logout = esc(t(lang, "logout")),
        strings = super::i18n::js_strings(lang).replace("</", "<\\/"),
    ))
}

/// A page without navigation (login, errors).
pub fn bare_page(lang: Lang, body_text: &str) -> Html<String> {
    bare(lang, t(lang, "app"), &format!(r#"<p class="msg">{}</p><p><a href="/">↩</a></p>"#, esc(body_text)))
}

pub fn bare(lang: Lang, title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="bare"><main>{body}</main></body></html>"#,
        code = lang.code(),
        title = esc(title),
    ))
}

/// `<option>`s with one selected.
pub fn options(items: &[(&str, &str)], selected: &str) -> String {
    items
        .iter()
        .map(|(v, label)| {
            let sel = if *v == selected { " selected" } else { "" };
            format!(r#"<option value="{}"{sel}>{}</option>"#, esc(v), esc(label))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(fmt_ms(Some(0)), "1970-01-01 08:00:00");
        assert_eq!(fmt_dur(Some(61_500)), "1:01");
        let end = parse_date_end("2027-01-31").expect("date");
        assert_eq!(fmt_date(end - 1), "2027-01-31");
        assert_eq!(fmt_date(end), "2027-02-01");
        assert_eq!(parse_date_end("31/01/2027"), None);
    }
}
