//! The web app: server-rendered pages, two WebSockets (desktop pops, live calls), the
//! recordings route and `/health`.
//!
//! Auth: session cookie (HttpOnly, SameSite=Strict) → `Page` extractor; every POST form
//! carries the session's CSRF token (the login form a double-submit cookie); roles gate
//! pages. Nothing a browser sends may panic: bad input is a 4xx.

pub mod html;
pub mod i18n;
pub mod pages;
pub mod recordings;
pub mod ws;

use super::db::{self, Role, Session};
use super::{auth, now_ms, Shared};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use i18n::{t, Lang};
use std::collections::HashMap;
use std::sync::Arc;

pub type AppState = Arc<Shared>;

pub const SESSION_COOKIE: &str = "crm_session";
pub const LOGIN_CSRF_COOKIE: &str = "crm_login_csrf";
pub const LANG_COOKIE: &str = "crm_lang";
/// Session lifetime.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/desktop", get(pages::desktop))
        .route("/customers", get(pages::customers))
        .route("/customers/new", get(pages::customer_new_form).post(pages::customer_create))
        .route("/customers/import", get(pages::import_form).post(pages::import))
        .route("/customers/{id}", get(pages::customer_edit_form).post(pages::customer_update))
        .route("/customers/{id}/delete", post(pages::customer_delete))
        .route("/lists", get(pages::lists).post(pages::list_add))
        .route("/lists/{id}/delete", post(pages::list_delete))
        .route("/lists/{id}/expiry", post(pages::list_expiry))
        .route("/calls", get(pages::calls))
        .route("/live", get(pages::live))
        .route("/users", get(pages::users).post(pages::user_create))
        .route("/recordings/{leg_id}", get(recordings::serve))
        .route("/ws/desktop", get(ws::desktop))
        .route("/ws/live", get(ws::live))
        .route("/health", get(health))
        .route("/static/app.js", get(|| async { static_file("text/javascript; charset=utf-8", APP_JS) }))
        .route("/static/style.css", get(|| async { static_file("text/css; charset=utf-8", STYLE_CSS) }))
        .layer(axum::middleware::from_fn(common_headers))
        .with_state(state)
}

const APP_JS: &str = include_str!("static/app.js");
const STYLE_CSS: &str = include_str!("static/style.css");

fn static_file(ct: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, ct), (axum::http::header::CACHE_CONTROL, "max-age=300")], body).into_response()
}

/// Security headers on every answer, and the language cookie when `?lang=` switched it.
async fn common_headers(req: Request, next: Next) -> Response {
    let lang = req.uri().query().and_then(|q| query_param(q, "lang")).and_then(|l| Lang::parse(&l));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    if let Some(l) = lang {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict", l.code()))
        {
            h.append(SET_COOKIE, v);
        }
    }
    resp
}

/// A query parameter, percent-decoded.
pub fn query_param(q: &str, name: &str) -> Option<String> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The language: `?lang=`, else the cookie, else the user's setting, else the default.
pub fn lang_for(parts_uri_query: Option<&str>, headers: &HeaderMap, user_lang: Option<&str>, default: Lang) -> Lang {
    parts_uri_query
        .and_then(|q| query_param(q, "lang"))
        .and_then(|l| Lang::parse(&l))
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(|l| Lang::parse(&l)))
        .or_else(|| user_lang.and_then(Lang::parse))
        .unwrap_or(default)
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not logged in: pages redirect to /login.
    #[error("login required")]
    Login,
    #[error("forbidden")]
    Forbidden(Lang),
    #[error("csrf token missing or wrong")]
    Csrf(Lang),
    #[error("not found")]
    NotFound(Lang),
    #[error("bad request: {1}")]
    BadRequest(Lang, String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<db::DbError> for WebError {
    fn from(e: db::DbError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (code, lang, msg) = match &self {
            WebError::Login => {
                return (StatusCode::SEE_OTHER, [(LOCATION, "/login")]).into_response();
            }
            WebError::Forbidden(l) => (StatusCode::FORBIDDEN, *l, t(*l, "forbidden").to_string()),
            WebError::Csrf(l) => (StatusCode::FORBIDDEN, *l, t(*l, "csrf").to_string()),
            WebError::NotFound(l) => (StatusCode::NOT_FOUND, *l, t(*l, "not_found").to_string()),
            WebError::BadRequest(l, m) => (StatusCode::BAD_REQUEST, *l, format!("{} {m}", t(*l, "bad_request"))),
            WebError::Internal(e) => {
                tracing::error!(error = %e, "crm: web request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, Lang::En, t(Lang::En, "error").to_string())
            }
        };
        (code, html::bare_page(lang, &msg)).into_response()
    }
}

/// A logged-in request: the session and the language to answer in.
pub struct Page {
    pub sess: Session,
    pub lang: Lang,
}

impl Page {
    pub fn require(&self, role: Role) -> Result<(), WebError> {
        if self.sess.user.role >= role {
            Ok(())
        } else {
            Err(WebError::Forbidden(self.lang))
        }
    }

    /// Checks the form's `csrf` field against the session's token.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), WebError> {
        match form.get("csrf") {
            Some(c) if auth::ct_eq(c, &self.sess.csrf) => Ok(()),
            _ => Err(WebError::Csrf(self.lang)),
        }
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::Login)?;
        let sess = db::session(&st.pool, &token, now_ms()).await?.ok_or(WebError::Login)?;
        let lang = lang_for(parts.uri.query(), &parts.headers, sess.user.lang.as_deref(), st.default_lang);
        Ok(Page { sess, lang })
    }
}

/// The language for pages without a session (login).
pub struct AnonLang(pub Lang);

impl FromRequestParts<AppState> for AnonLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        Ok(AnonLang(lang_for(parts.uri.query(), &parts.headers, None, st.default_lang)))
    }
}

/// 303 to `to`.
pub fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(v) => (StatusCode::SEE_OTHER, [(LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static("/"))]).into_response(),
    }
}

/// Same-origin check for WebSocket upgrades (cookies ride along cross-site otherwise).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").map(|(_, h)| h) == Some(host)
}

pub async fn health(State(st): State<AppState>) -> Response {
    let db_ok = sqlx::query("SELECT 1").execute(&st.pool).await.is_ok();
    let gws = st.gateways.snapshot();
    let body = serde_json::json!({
        "ok": db_ok, "db": if db_ok { "ok" } else { "error" },
        "gateways": gws,
        "gateways_connected": gws.iter().filter(|g| g.connected).count(),
    });
    let code = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_and_cookies() {
        assert_eq!(query_param("a=1&lang=en", "lang").as_deref(), Some("en"));
        assert_eq!(query_param("q=%E7%8E%8B+x%", "q").as_deref(), Some("王 x%"));
        assert_eq!(query_param("q=%4", "q").as_deref(), Some("%4"));
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; crm_session=abc; crm_lang=en"));
        assert_eq!(cookie(&h, "crm_session").as_deref(), Some("abc"));
        assert_eq!(lang_for(None, &h, Some("zh"), Lang::Zh), Lang::En);
        assert_eq!(lang_for(Some("lang=zh"), &h, None, Lang::En), Lang::Zh);
        h.insert("origin", HeaderValue::from_static("http://evil.example"));
        h.insert("host", HeaderValue::from_static("127.0.0.1:8780"));
        assert!(!same_origin(&h));
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8780"));
        assert!(same_origin(&h));
    }
}
