//! Page handlers.

use super::html::{self, esc, fmt_dur, fmt_ms, level_label, options, page};
use super::i18n::{t, Lang};
use super::{cookie, see_other, AnonLang, AppState, Page, WebError, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_MS};
use crate::crm::db::{self, CallRow, CustomerError, CustomerInput, Role};
use crate::crm::lookup::{Level, ListKind};
use crate::crm::numbers::{self, mask};
use crate::crm::{auth, create_user, now_ms};
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use std::collections::HashMap;

type FormData = Form<HashMap<String, String>>;

fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

fn csrf_input(p: &Page) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(&p.sess.csrf))
}

pub async fn home(p: Page) -> Response {
    match p.sess.user.role {
        Role::Agent => see_other("/desktop"),
        Role::Supervisor => see_other("/live"),
        Role::Admin => see_other("/customers"),
    }
}

// ---------------------------------------------------------------- login

fn login_page(lang: Lang, token: &str, error: bool) -> Response {
    let err = if error {
        format!(r#"<p class="error" id="login-error">{}</p>"#, esc(t(lang, "login_failed")))
    } else {
        String::new()
    };
    let other = match lang {
        Lang::Zh => r#"<a href="/login?lang=en">English</a>"#,
        Lang::En => r#"<a href="/login?lang=zh">中文</a>"#,
    };
    let body = format!(
        r#"<h1>{app}</h1>{err}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf" value="{token}">
<label>{user} <input name="login" id="login-user" autocomplete="username" required autofocus></label>
<label>{pass} <input name="password" id="login-pass" type="password" autocomplete="current-password" required></label>
<button id="login-submit">{login}</button></form><p>{other}</p>"#,
        app = esc(t(lang, "app")),
        token = esc(token),
        user = esc(t(lang, "user")),
        pass = esc(t(lang, "password")),
        login = esc(t(lang, "login")),
    );
    let code = if error { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let c = format!("{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict");
    (code, [(SET_COOKIE, c)], html::bare(lang, t(lang, "login"), &body)).into_response()
}

pub async fn login_form(AnonLang(lang): AnonLang) -> Response {
    login_page(lang, &auth::random_token(), false)
}

pub async fn login(
    State(st): State<AppState>,
    AnonLang(lang): AnonLang,
    headers: HeaderMap,
    Form(f): FormData,
) -> Result<Response, WebError> {
    // Double-submit: the form's token must equal the cookie GET /login set.
    let ok_csrf = matches!((cookie(&headers, LOGIN_CSRF_COOKIE), f.get("csrf")), (Some(c), Some(v)) if !c.is_empty() && auth::ct_eq(&c, v));
    if !ok_csrf {
        return Err(WebError::Csrf(lang));
    }
    let login = field(&f, "login").trim();
    let password = field(&f, "password");
    let found = db::user_for_login(&st.pool, login).await?;
    // Verify against a dummy hash for unknown logins: same answer, same time.
    let hash = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| auth::dummy_hash().to_string());
    let pw = password.to_string();
    // Each check costs ~19 MiB and tens of ms by design: at most two at a time, so a flood
    // of logins queues instead of exhausting memory.
    static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let permit = CHECKS.acquire().await;
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash)).await.unwrap_or(false);
    drop(permit);
    let user = match found {
        Some((u, _)) if verified => u,
        _ => {
            tracing::info!("crm: failed login");
            return Ok(login_page(lang, &auth::random_token(), true));
        }
    };
    let token = auth::random_token();
    let now = now_ms();
    db::insert_session(&st.pool, &token, &auth::random_token(), user.id, now, now + SESSION_MS).await?;
    tracing::info!(user = %user.login, "crm: logged in");
    let c = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", SESSION_MS / 1000);
    let clear = format!("{LOGIN_CSRF_COOKIE}=; Path=/login; Max-Age=0");
    let mut r = see_other("/");
    for v in [c, clear] {
        if let Ok(v) = v.parse() {
            r.headers_mut().append(SET_COOKIE, v);
        }
    }
    Ok(r)
}

pub async fn logout(State(st): State<AppState>, p: Page, Form(f): FormData) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    db::delete_session(&st.pool, &p.sess.token).await?;
    let mut r = see_other("/login");
    if let Ok(v) = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0").parse() {
        r.headers_mut().append(SET_COOKIE, v);
    }
    Ok(r)
}

// ---------------------------------------------------------------- desktop and live

pub async fn desktop(p: Page) -> Response {
    let l = p.lang;
    let device = p.sess.user.contact.clone().unwrap_or_default();
    let body = format!(
        r#"<p>{dev_label}: <code id="my-device">{device}</code> · <span id="ws-status" data-state="connecting">…</span></p>
<p id="pop-waiting">{waiting}</p>
<section id="pop-card" class="card" hidden data-call-id="" data-pop-id="">
  <h2><span id="pop-name"></span> <span id="pop-level" class="badge"></span></h2>
  <p><span id="pop-number"></span> <span id="pop-class" class="badge"></span> · <span id="pop-state"></span></p>
  <dl><dt>{owner}</dt><dd id="pop-owner"></dd><dt>{phones}</dt><dd id="pop-phones"></dd><dt>{notes}</dt><dd id="pop-notes"></dd></dl>
  <p><a id="pop-edit" href="/customers">{edit}</a></p>
  <h3>{recent}</h3>
  <table id="pop-recent"><thead><tr><th>{time}</th><th>{dir}</th><th>{talk}</th><th>{cause}</th><th>{rec}</th></tr></thead><tbody></tbody></table>
</section>
<h3>{calls}</h3><ul id="pop-history"></ul>"#,
        dev_label = esc(t(l, "contact")),
        device = esc(&device),
        waiting = esc(t(l, "waiting")),
        owner = esc(t(l, "owner")),
        phones = esc(t(l, "phones")),
        notes = esc(t(l, "notes")),
        edit = esc(t(l, "edit")),
        recent = esc(t(l, "recent_calls")),
        time = esc(t(l, "time")),
        dir = esc(t(l, "direction")),
        talk = esc(t(l, "talk")),
        cause = esc(t(l, "cause")),
        rec = esc(t(l, "recording")),
        calls = esc(t(l, "calls")),
    );
    page(l, &p.sess, t(l, "desktop"), &format!(r#"<div id="desktop">{body}</div>"#)).into_response()
}

pub async fn live(State(st): State<AppState>, p: Page) -> Result<Response, WebError> {
    p.require(Role::Supervisor)?;
    let l = p.lang;
    let legs = db::live_calls(&st.pool, now_ms(), super::ws::LIVE_MAX_AGE_MS).await?;
    let rows: String = legs.iter().map(|c| live_row(l, c)).collect();
    let gws: String = st
        .gateways
        .snapshot()
        .iter()
        .map(|g| {
            format!(
                r#"<li data-gateway="{n}" data-connected="{c}">{n}: {s} (seq {q})</li>"#,
                n = esc(&g.name),
                c = g.connected,
                s = esc(t(l, if g.connected { "connected" } else { "disconnected" })),
                q = g.last_seq.map(|x| x.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let body = format!(
        r#"<p><span id="ws-status" data-state="connecting">…</span></p>
<h3>{gw}</h3><ul id="gateways">{gws}</ul>
<table id="live-calls"><thead><tr><th>{time}</th><th>{dir}</th><th>{from}</th><th>{to}</th><th>{dev}</th><th>{agent}</th><th>{class}</th><th>{state}</th></tr></thead>
<tbody>{rows}</tbody></table>"#,
        gw = esc(t(l, "gateways")),
        time = esc(t(l, "time")),
        dir = esc(t(l, "direction")),
        from = esc(t(l, "from")),
        to = esc(t(l, "to")),
        dev = esc(t(l, "device")),
        agent = esc(t(l, "agent")),
        class = esc(t(l, "class")),
        state = esc(t(l, "state")),
    );
    Ok(page(l, &p.sess, t(l, "live"), &format!(r#"<div id="live">{body}</div>"#)).into_response())
}

fn live_row(l: Lang, c: &CallRow) -> String {
    format!(
        r#"<tr data-leg-id="{leg}"><td>{time}</td><td>{dir}</td><td>{from}</td><td>{to}</td><td>{dev}</td><td>{agent}</td><td>{class}</td><td>{state}</td></tr>"#,
        leg = esc(&c.leg_id),
        time = esc(&fmt_ms(c.start_ms)),
        dir = esc(dir_label(l, c.direction.as_deref())),
        from = esc(&format!("{} {}", c.from_number.as_deref().unwrap_or(""), c.customer_name.as_deref().unwrap_or(""))),
        to = esc(c.to_number.as_deref().unwrap_or("")),
        dev = esc(c.device.as_deref().unwrap_or("")),
        agent = esc(c.agent_login.as_deref().or(c.agent_device.as_deref()).unwrap_or("")),
        class = esc(c.class.as_deref().unwrap_or("")),
        state = esc(c.state.as_deref().unwrap_or("")),
    )
}

fn dir_label(l: Lang, d: Option<&str>) -> &'static str {
    match d {
        Some("inbound") => t(l, "inbound"),
        Some("outbound") => t(l, "outbound"),
        _ => "",
    }
}

// ---------------------------------------------------------------- customers

#[derive(serde::Deserialize)]
pub struct SearchQ {
    #[serde(default)]
    q: String,
}

pub async fn customers(State(st): State<AppState>, p: Page, Query(q): Query<SearchQ>) -> Result<Response, WebError> {
    let l = p.lang;
    let list = db::search_customers(&st.pool, &q.q, 500).await?;
    let rows: String = list
        .iter()
        .map(|c| {
            format!(
                r#"<tr data-customer-id="{id}"><td><a href="/customers/{id}">{name}</a></td><td><span class="badge level-{lv}">{level}</span></td><td>{phones}</td><td>{owner}</td><td>{notes}</td></tr>"#,
                id = c.id,
                name = esc(&c.name),
                lv = c.level.as_str(),
                level = esc(level_label(l, c.level.as_str())),
                phones = esc(&c.phones.iter().map(|p| p.number.as_str()).collect::<Vec<_>>().join(", ")),
                owner = esc(c.owner_name.as_deref().unwrap_or("")),
                notes = esc(&c.notes.chars().take(60).collect::<String>()),
            )
        })
        .collect();
    let empty = if list.is_empty() { format!("<p>{}</p>", esc(t(l, "no_results"))) } else { String::new() };
    let body = format!(
        r#"<form method="get" action="/customers" class="inline"><input name="q" id="customer-q" value="{q}"><button>{search}</button></form>
<p><a href="/customers/new" id="customer-new">{new}</a> · <a href="/customers/import" id="customer-import">{import}</a></p>
<table id="customers"><thead><tr><th>{name}</th><th>{level}</th><th>{phones}</th><th>{owner}</th><th>{notes}</th></tr></thead><tbody>{rows}</tbody></table>{empty}"#,
        q = esc(&q.q),
        search = esc(t(l, "search")),
        new = esc(t(l, "new_customer")),
        import = esc(t(l, "import")),
        name = esc(t(l, "name")),
        level = esc(t(l, "level")),
        phones = esc(t(l, "phones")),
        owner = esc(t(l, "owner")),
        notes = esc(t(l, "notes")),
    );
    Ok(page(l, &p.sess, t(l, "customers"), &body).into_response())
}

/// Values for the customer form.
struct CustForm {
    name: String,
    level: String,
    owner_id: String,
    phones: String,
    notes: String,
}

async fn customer_form(
    st: &AppState,
    p: &Page,
    action: &str,
    v: &CustForm,
    error: Option<String>,
    extra: &str,
) -> Result<String, WebError> {
    let l = p.lang;
    let agents = db::list_users(&st.pool).await?;
    let mut owners: Vec<(String, String)> = vec![(String::new(), t(l, "none").to_string())];
    owners.extend(agents.iter().map(|u| (u.id.to_string(), format!("{} ({})", u.display_name, u.login))));
    let owner_opts = options(&owners.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect::<Vec<_>>(), &v.owner_id);
    let level_opts = options(&[("normal", t(l, "normal")), ("vip", t(l, "vip")), ("svip", t(l, "svip"))], &v.level);
    let err = error.map(|e| format!(r#"<p class="error" id="form-error">{}</p>"#, esc(&e))).unwrap_or_default();
    Ok(format!(
        r#"{err}<form method="post" action="{action}" id="customer-form">{csrf}
<label>{name} <input name="name" id="cust-name" value="{vname}" required></label>
<label>{level} <select name="level" id="cust-level">{level_opts}</select></label>
<label>{owner} <select name="owner_id" id="cust-owner">{owner_opts}</select></label>
<label>{phones} ({hint}) <textarea name="phones" id="cust-phones" rows="3">{vphones}</textarea></label>
<label>{notes} <textarea name="notes" id="cust-notes" rows="4">{vnotes}</textarea></label>
<button id="cust-save">{save}</button></form>{extra}"#,
        action = esc(action),
        csrf = csrf_input(p),
        name = esc(t(l, "name")),
        vname = esc(&v.name),
        level = esc(t(l, "level")),
        owner = esc(t(l, "owner")),
        phones = esc(t(l, "phones")),
        hint = esc(t(l, "phones_hint")),
        vphones = esc(&v.phones),
        notes = esc(t(l, "notes")),
        vnotes = esc(&v.notes),
        save = esc(t(l, "save")),
    ))
}

fn input_from(l: Lang, f: &HashMap<String, String>) -> Result<CustomerInput, String> {
    let level =
        Level::parse(field(f, "level")).ok_or_else(|| format!("{} {}", t(l, "bad_level"), field(f, "level")))?;
    let owner_id = match field(f, "owner_id").trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| t(l, "bad_request").to_string())?),
    };
    Ok(CustomerInput {
        name: field(f, "name").trim().to_string(),
        level,
        owner_id,
        notes: field(f, "notes").to_string(),
        phones: field(f, "phones")
            .split(['\n', ';', '；', ','])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

fn customer_error(l: Lang, e: CustomerError) -> Result<String, WebError> {
    match e {
        CustomerError::EmptyName => Ok(t(l, "empty_name").to_string()),
        CustomerError::BadPhone(p) => Ok(format!("{} {p}", t(l, "bad_phone"))),
        CustomerError::Db(e) => Err(e.into()),
    }
}

fn form_values(f: &HashMap<String, String>) -> CustForm {
    CustForm {
        name: field(f, "name").into(),
        level: field(f, "level").into(),
        owner_id: field(f, "owner_id").into(),
        phones: field(f, "phones").into(),
        notes: field(f, "notes").into(),
    }
}

pub async fn customer_new_form(State(st): State<AppState>, p: Page) -> Result<Response, WebError> {
    let v = CustForm {
        name: String::new(),
        level: "normal".into(),
        owner_id: String::new(),
        phones: String::new(),
        notes: String::new(),
    };
    let body = customer_form(&st, &p, "/customers/new", &v, None, "").await?;
    Ok(page(p.lang, &p.sess, t(p.lang, "new_customer"), &body).into_response())
}

pub async fn customer_create(State(st): State<AppState>, p: Page, Form(f): FormData) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    let l = p.lang;
    let err = match input_from(l, &f) {
        Ok(input) => match db::create_customer(&st.pool, &input, now_ms()).await {
            Ok(id) => return Ok(see_other(&format!("/customers/{id}"))),
            Err(e) => customer_error(l, e)?,
        },
        Err(e) => e,
    };
    let body = customer_form(&st, &p, "/customers/new", &form_values(&f), Some(err), "").await?;
    Ok((StatusCode::BAD_REQUEST, page(l, &p.sess, t(l, "new_customer"), &body)).into_response())
}

fn parse_id(l: Lang, s: &str) -> Result<i64, WebError> {
    s.parse().map_err(|_| WebError::NotFound(l))
}

pub async fn customer_edit_form(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let l = p.lang;
    let id = parse_id(l, &id)?;
    let c = db::customer(&st.pool, id).await?.ok_or(WebError::NotFound(l))?;
    let v = CustForm {
        name: c.name.clone(),
        level: c.level.as_str().into(),
        owner_id: c.owner_id.map(|x| x.to_string()).unwrap_or_default(),
        phones: c.phones.iter().map(|p| p.number.as_str()).collect::<Vec<_>>().join("\n"),
        notes: c.notes.clone(),
    };
    let calls = db::calls(&st.pool, None, Some(id), 50).await?;
    let mut extra = format!("<h2>{}</h2>{}", esc(t(l, "calls")), calls_table(l, &calls));
    if p.sess.user.role >= Role::Supervisor {
        extra.push_str(&format!(
            r#"<form method="post" action="/customers/{id}/delete" class="danger">{}<button id="cust-delete">{}</button></form>"#,
            csrf_input(&p),
            esc(t(l, "delete"))
        ));
    }
    let body = customer_form(&st, &p, &format!("/customers/{id}"), &v, None, &extra).await?;
    Ok(page(l, &p.sess, &c.name, &format!(r#"<div id="customer" data-customer-id="{id}">{body}</div>"#))
        .into_response())
}

pub async fn customer_update(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(f): FormData,
) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    let l = p.lang;
    let id = parse_id(l, &id)?;
    let err = match input_from(l, &f) {
        Ok(input) => match db::update_customer(&st.pool, id, &input, now_ms()).await {
            Ok(true) => return Ok(see_other(&format!("/customers/{id}"))),
            Ok(false) => return Err(WebError::NotFound(l)),
            Err(e) => customer_error(l, e)?,
        },
        Err(e) => e,
    };
    let body = customer_form(&st, &p, &format!("/customers/{id}"), &form_values(&f), Some(err), "").await?;
    Ok((StatusCode::BAD_REQUEST, page(l, &p.sess, t(l, "customers"), &body)).into_response())
}

pub async fn customer_delete(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(f): FormData,
) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    p.require(Role::Supervisor)?;
    let id = parse_id(p.lang, &id)?;
    db::delete_customer(&st.pool, id).await?;
    Ok(see_other("/customers"))
}

pub async fn import_form(p: Page) -> Response {
    let l = p.lang;
    let body = format!(
        r#"<p>{help}</p><form method="post" action="/customers/import" id="import-form">{csrf}
<label>{file} <input type="file" id="import-file" accept=".csv,text/csv"></label>
<textarea name="csv" id="import-csv" rows="12" placeholder="name,level,phones,notes"></textarea>
<button id="import-submit">{import}</button></form>"#,
        help = esc(t(l, "csv_help")),
        csrf = csrf_input(&p),
        file = esc(t(l, "csv_file")),
        import = esc(t(l, "import")),
    );
    page(l, &p.sess, t(l, "import"), &body).into_response()
}

/// Splits CSV text into records (RFC 4180 quoting; `,` separator; CR/LF line ends).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => quoted = false,
                c => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if cur.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut cur)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut cur));
                rows.push(std::mem::take(&mut row));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || !row.is_empty() {
        row.push(cur);
        rows.push(row);
    }
    rows.retain(|r| r.iter().any(|f| !f.trim().is_empty()));
    rows
}

pub async fn import(State(st): State<AppState>, p: Page, Form(f): FormData) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    let l = p.lang;
    let rows = parse_csv(field(&f, "csv"));
    let mut created = 0;
    let mut errors: Vec<(usize, String)> = Vec::new();
    let now = now_ms();
    for (i, r) in rows.iter().enumerate() {
        let get = |k: usize| r.get(k).map(|s| s.trim()).unwrap_or("");
        if i == 0 && matches!(get(0).to_lowercase().as_str(), "name" | "姓名") {
            continue;
        }
        let Some(level) = Level::parse(get(1)) else {
            errors.push((i + 1, format!("{} {}", t(l, "bad_level"), get(1))));
            continue;
        };
        let input = CustomerInput {
            name: get(0).to_string(),
            level,
            owner_id: None,
            notes: get(3).to_string(),
            phones: get(2).split([';', '；']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        };
        match db::create_customer(&st.pool, &input, now).await {
            Ok(_) => created += 1,
            Err(e) => errors.push((i + 1, customer_error(l, e)?)),
        }
    }
    let errs: String = errors.iter().map(|(n, e)| format!("<li>{} {n}: {}</li>", esc(t(l, "row")), esc(e))).collect();
    let body = format!(
        r#"<p id="import-result" data-created="{created}" data-failed="{failed}">{imp}: {created}. {fr}: {failed}.</p><ul>{errs}</ul><p><a href="/customers">{cust}</a></p>"#,
        failed = errors.len(),
        imp = esc(t(l, "imported")),
        fr = esc(t(l, "failed_rows")),
        cust = esc(t(l, "customers")),
    );
    tracing::info!(user = %p.sess.user.login, created, failed = errors.len(), "crm: CSV import");
    Ok(page(l, &p.sess, t(l, "import"), &body).into_response())
}

// ---------------------------------------------------------------- number lists

pub async fn lists(State(st): State<AppState>, p: Page) -> Result<Response, WebError> {
    p.require(Role::Supervisor)?;
    lists_page(&st, &p, None, StatusCode::OK).await
}

async fn lists_page(st: &AppState, p: &Page, error: Option<String>, code: StatusCode) -> Result<Response, WebError> {
    let l = p.lang;
    let now = now_ms();
    let entries = db::list_entries(&st.pool).await?;
    let rows: String = entries
        .iter()
        .map(|r| {
            let e = &r.entry;
            let live = e.expires_at.is_none_or(|x| x > now);
            format!(
                r#"<tr data-entry-id="{id}" data-kind="{k}" class="{cls}"><td>{kind}</td><td><code>{pat}</code>{pre}</td><td>{reason}</td>
<td><form method="post" action="/lists/{id}/expiry" class="inline">{csrf}<input type="date" name="expires" value="{exp}"><button>{save}</button></form> {status}</td>
<td><form method="post" action="/lists/{id}/delete" class="inline">{csrf}<button class="del">{del}</button></form></td></tr>"#,
                id = e.id,
                k = e.kind.as_str(),
                cls = if live { "live" } else { "expired" },
                kind = esc(level_label(l, e.kind.as_str())),
                pat = esc(&e.pattern),
                pre = if e.is_prefix { format!(" <small>{}</small>", esc(t(l, "prefix"))) } else { String::new() },
                reason = esc(&e.reason),
                csrf = csrf_input(p),
                exp = e.expires_at.map(|x| html::fmt_date(x - 1)).unwrap_or_default(),
                save = esc(t(l, "save")),
                status = esc(t(l, if live { "active" } else { "expired" })),
                del = esc(t(l, "delete")),
            )
        })
        .collect();
    let kinds: Vec<(&str, &str)> = ListKind::ALL.iter().map(|k| (k.as_str(), level_label(l, k.as_str()))).collect();
    let err = error.map(|e| format!(r#"<p class="error" id="form-error">{}</p>"#, esc(&e))).unwrap_or_default();
    let body = format!(
        r#"{err}<form method="post" action="/lists" id="list-form">{csrf}
<select name="kind" id="list-kind">{kinds}</select>
<input name="pattern" id="list-pattern" placeholder="{pattern}" required>
<label><input type="checkbox" name="prefix" value="1" id="list-prefix"> {prefix}</label>
<input name="reason" id="list-reason" placeholder="{reason}">
<label>{expires} <input type="date" name="expires" id="list-expires"></label>
<button id="list-add">{add}</button></form>
<table id="list-entries"><thead><tr><th>{kind}</th><th>{pattern}</th><th>{reason}</th><th>{expires}</th><th></th></tr></thead><tbody>{rows}</tbody></table>"#,
        csrf = csrf_input(p),
        kinds = options(&kinds, "blacklist"),
        pattern = esc(t(l, "pattern")),
        prefix = esc(t(l, "prefix")),
        reason = esc(t(l, "reason")),
        expires = esc(t(l, "expires")),
        add = esc(t(l, "add")),
        kind = esc(t(l, "kind")),
    );
    Ok((code, page(l, &p.sess, t(l, "lists"), &body)).into_response())
}

fn expiry_of(l: Lang, f: &HashMap<String, String>) -> Result<Option<i64>, WebError> {
    match field(f, "expires").trim() {
        "" => Ok(None),
        s => html::parse_date_end(s).map(Some).ok_or_else(|| WebError::BadRequest(l, "expires".into())),
    }
}

pub async fn list_add(State(st): State<AppState>, p: Page, Form(f): FormData) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    p.require(Role::Supervisor)?;
    let l = p.lang;
    let kind = ListKind::parse(field(&f, "kind")).ok_or_else(|| WebError::BadRequest(l, "kind".into()))?;
    let expires = expiry_of(l, &f)?;
    let is_prefix = !field(&f, "prefix").is_empty();
    let pattern = field(&f, "pattern");
    match db::add_list_entry(
        &st.pool,
        kind,
        pattern,
        is_prefix,
        field(&f, "reason").trim(),
        expires,
        Some(p.sess.user.id),
        now_ms(),
    )
    .await?
    {
        Some(_) => {
            tracing::info!(user = %p.sess.user.login, kind = kind.as_str(), pattern = %mask(pattern), "crm: list entry added");
            Ok(see_other("/lists"))
        }
        None => lists_page(&st, &p, Some(format!("{} {pattern}", t(l, "bad_phone"))), StatusCode::BAD_REQUEST).await,
    }
}

pub async fn list_delete(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(f): FormData,
) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    p.require(Role::Supervisor)?;
    db::delete_list_entry(&st.pool, parse_id(p.lang, &id)?).await?;
    Ok(see_other("/lists"))
}

pub async fn list_expiry(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(f): FormData,
) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    p.require(Role::Supervisor)?;
    let expires = expiry_of(p.lang, &f)?;
    db::set_list_entry_expiry(&st.pool, parse_id(p.lang, &id)?, expires).await?;
    Ok(see_other("/lists"))
}

// ---------------------------------------------------------------- calls

#[derive(serde::Deserialize)]
pub struct CallsQ {
    #[serde(default)]
    number: String,
}

pub fn calls_table(l: Lang, calls: &[CallRow]) -> String {
    if calls.is_empty() {
        return format!("<p>{}</p>", esc(t(l, "no_results")));
    }
    let rows: String = calls
        .iter()
        .map(|c| {
            let rec = match &c.recording {
                Some(_) => format!(
                    r#"<audio class="recording" controls preload="none" src="/recordings/{}"></audio>"#,
                    esc(&c.leg_id)
                ),
                None => String::new(),
            };
            let from = match (&c.customer_id, &c.customer_name) {
                (Some(id), Some(n)) => format!(r#"{} <a href="/customers/{id}">{}</a>"#, esc(c.from_number.as_deref().unwrap_or("")), esc(n)),
                _ => esc(c.from_number.as_deref().unwrap_or("")),
            };
            format!(
                r#"<tr data-leg-id="{leg}" data-call-id="{call}"><td>{time}</td><td>{dir}</td><td>{from}</td><td>{to}</td><td>{dev}</td><td>{agent}</td><td>{class}</td><td>{talk}</td><td>{cause}</td><td>{rec}</td></tr>"#,
                leg = esc(&c.leg_id),
                call = esc(&c.call_id),
                time = esc(&fmt_ms(c.start_ms)),
                dir = esc(dir_label(l, c.direction.as_deref())),
                to = esc(c.to_number.as_deref().unwrap_or("")),
                dev = esc(c.device.as_deref().unwrap_or("")),
                agent = esc(c.agent_login.as_deref().or(c.agent_device.as_deref()).unwrap_or("")),
                class = esc(c.class.as_deref().unwrap_or("")),
                talk = esc(&fmt_dur(c.talk_ms)),
                cause = esc(c.cause_name.as_deref().unwrap_or(c.state.as_deref().unwrap_or(""))),
            )
        })
        .collect();
    format!(
        r#"<table class="calls"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>"#,
        esc(t(l, "time")),
        esc(t(l, "direction")),
        esc(t(l, "from")),
        esc(t(l, "to")),
        esc(t(l, "device")),
        esc(t(l, "agent")),
        esc(t(l, "class")),
        esc(t(l, "talk")),
        esc(t(l, "cause")),
        esc(t(l, "recording")),
    )
}

pub async fn calls(State(st): State<AppState>, p: Page, Query(q): Query<CallsQ>) -> Result<Response, WebError> {
    let l = p.lang;
    let norm = numbers::normalize(&q.number);
    let list = db::calls(&st.pool, norm.as_deref(), None, 300).await?;
    let body = format!(
        r#"<form method="get" action="/calls" class="inline"><input name="number" id="calls-number" value="{n}"><button>{s}</button></form>{table}"#,
        n = esc(&q.number),
        s = esc(t(l, "search")),
        table = calls_table(l, &list),
    );
    Ok(page(l, &p.sess, t(l, "calls"), &format!(r#"<div id="calls">{body}</div>"#)).into_response())
}

// ---------------------------------------------------------------- users (admin)

pub async fn users(State(st): State<AppState>, p: Page) -> Result<Response, WebError> {
    p.require(Role::Admin)?;
    users_page(&st, &p, None).await
}

async fn users_page(st: &AppState, p: &Page, error: Option<String>) -> Result<Response, WebError> {
    let l = p.lang;
    let list = db::list_users(&st.pool).await?;
    let rows: String = list
        .iter()
        .map(|u| {
            format!(
                r#"<tr data-login="{login}"><td>{login}</td><td>{name}</td><td>{role}</td><td>{contact}</td></tr>"#,
                login = esc(&u.login),
                name = esc(&u.display_name),
                role = u.role.as_str(),
                contact = esc(u.contact.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let err = error.map(|e| format!(r#"<p class="error" id="form-error">{}</p>"#, esc(&e))).unwrap_or_default();
    let body = format!(
        r#"{err}<table id="users"><thead><tr><th>{user}</th><th>{dn}</th><th>{role}</th><th>{contact}</th></tr></thead><tbody>{rows}</tbody></table>
<h2>{add}</h2><form method="post" action="/users" id="user-form">{csrf}
<label>{user} <input name="login" id="user-login" required></label>
<label>{dn} <input name="display_name" id="user-display"></label>
<label>{role} <select name="role" id="user-role">{roles}</select></label>
<label>{pass} <input name="password" type="password" id="user-pass" required></label>
<label>{contact} <input name="contact" id="user-contact" placeholder="phones/3"></label>
<button id="user-add">{add}</button></form>"#,
        user = esc(t(l, "user")),
        dn = esc(t(l, "display_name")),
        role = esc(t(l, "role")),
        contact = esc(t(l, "contact")),
        add = esc(t(l, "add")),
        csrf = csrf_input(p),
        roles = options(&[("agent", "agent"), ("supervisor", "supervisor"), ("admin", "admin")], "agent"),
        pass = esc(t(l, "password")),
    );
    Ok(page(l, &p.sess, t(l, "users"), &body).into_response())
}

pub async fn user_create(State(st): State<AppState>, p: Page, Form(f): FormData) -> Result<Response, WebError> {
    p.check_csrf(&f)?;
    p.require(Role::Admin)?;
    let l = p.lang;
    let role = Role::parse(field(&f, "role")).ok_or_else(|| WebError::BadRequest(l, "role".into()))?;
    let login = field(&f, "login").trim();
    if db::user_id_by_login(&st.pool, login).await?.is_some() {
        return users_page(&st, &p, Some(t(l, "exists").into())).await;
    }
    let display = match field(&f, "display_name").trim() {
        "" => login,
        d => d,
    };
    let contact = Some(field(&f, "contact").trim()).filter(|c| !c.is_empty());
    match create_user(&st.pool, login, display, role, field(&f, "password"), contact).await {
        Ok(_) => Ok(see_other("/users")),
        Err(crate::crm::CrmError::Config(m)) => Err(WebError::BadRequest(l, m)),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn csv() {
        let rows =
            parse_csv("\u{feff}name,level,phones,notes\r\n\"Wang, Wei\",vip,139;010-1,\"say \"\"hi\"\"\"\n\nLi,,135\n");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], vec!["Wang, Wei", "vip", "139;010-1", "say \"hi\""]);
        assert_eq!(rows[2], vec!["Li", "", "135"]);
        assert_eq!(parse_csv("a,b").len(), 1);
    }
}
