//! Browser WebSockets: `/ws/desktop` (screen pops, acknowledged) and `/ws/live`.

use super::{same_origin, AppState, Page, WebError};
use crate::crm::db::{self, Role};
use crate::crm::now_ms;
use crate::crm::pop::{with_pop_id, RESEND_WINDOW_MS};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

/// Legs not ended but untouched for this long are not shown as live (a lost `call.ended`).
pub const LIVE_MAX_AGE_MS: i64 = 6 * 3600 * 1000;

/// The upgrade is extracted last and fallibly, so a refused user gets 403 (not 400).
type Upgrade = Result<WebSocketUpgrade, WebSocketUpgradeRejection>;

pub async fn desktop(
    State(st): State<AppState>,
    p: Page,
    headers: HeaderMap,
    ws: Upgrade,
) -> Result<Response, WebError> {
    if !same_origin(&headers) {
        return Err(WebError::Forbidden(p.lang));
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return Ok(e.into_response()),
    };
    Ok(ws.on_upgrade(move |socket| desktop_session(st, p, socket)))
}

async fn desktop_session(st: AppState, p: Page, mut socket: WebSocket) {
    let token = p.sess.token.clone();
    let user = p.sess.user;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    // Register before reading the backlog: a pop created in between arrives twice at
    // worst (the browser ignores a pop_id it has), never zero times.
    let conn = st.hub.register(user.id, tx);
    let mut shutdown = st.shutdown.clone();
    let hello = json!({"type": "hello", "user": user.login, "device": user.contact});
    let mut ok = socket.send(Message::text(hello.to_string())).await.is_ok();
    if ok {
        match db::unacked_pops(&st.pool, user.id, now_ms() - RESEND_WINDOW_MS).await {
            Ok(pops) => {
                for pp in pops {
                    if socket.send(Message::text(with_pop_id(&pp.payload, pp.id))).await.is_err() {
                        ok = false;
                        break;
                    }
                    if let Err(e) = db::mark_pop_delivered(&st.pool, pp.id, now_ms()).await {
                        tracing::warn!(error = %e, "crm: marking pop delivered failed");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "crm: loading unacknowledged pops failed"),
        }
    }
    if !ok {
        st.hub.unregister(user.id, conn);
        return;
    }
    let mut recheck = tokio::time::interval(SESSION_RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            _ = crate::crm::stopped(&mut shutdown) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            _ = recheck.tick() => {
                if !session_alive(&st, &token).await {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
            Some(m) = rx.recv() => {
                if socket.send(Message::text(m)).await.is_err() {
                    break;
                }
            }
            m = socket.recv() => {
                let text = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                if v.get("op").and_then(Value::as_str) == Some("ack") {
                    let Some(id) = v.get("pop_id").and_then(Value::as_i64) else { continue };
                    match db::ack_pop(&st.pool, id, user.id, now_ms()).await {
                        Ok(done) => {
                            let r = json!({"type": "acked", "pop_id": id, "ok": done});
                            if socket.send(Message::text(r.to_string())).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "crm: acking pop failed"),
                    }
                }
            }
        }
    }
    st.hub.unregister(user.id, conn);
}

pub async fn live(State(st): State<AppState>, p: Page, headers: HeaderMap, ws: Upgrade) -> Result<Response, WebError> {
    p.require(Role::Supervisor)?;
    if !same_origin(&headers) {
        return Err(WebError::Forbidden(p.lang));
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return Ok(e.into_response()),
    };
    let token = p.sess.token.clone();
    Ok(ws.on_upgrade(move |socket| live_session(st, token, socket)))
}

/// How often an open browser socket re-checks its session: a logout, an expiry or a
/// deactivated user ends the stream of customer data within this time.
const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The session behind a socket still exists (a database error counts as yes: an outage
/// must not drop every desktop).
async fn session_alive(st: &AppState, token: &str) -> bool {
    !matches!(db::session(&st.pool, token, now_ms()).await, Ok(None))
}

async fn snapshot(st: &AppState) -> Option<String> {
    match db::live_calls(&st.pool, now_ms(), LIVE_MAX_AGE_MS).await {
        Ok(legs) => Some(json!({"type": "snapshot", "legs": legs, "gateways": st.gateways.snapshot()}).to_string()),
        Err(e) => {
            tracing::error!(error = %e, "crm: live snapshot failed");
            None
        }
    }
}

async fn live_session(st: AppState, token: String, mut socket: WebSocket) {
    let mut rx = st.hub.subscribe_live();
    let mut shutdown = st.shutdown.clone();
    let mut tick = tokio::time::interval(SESSION_RECHECK);
    loop {
        tokio::select! {
            _ = crate::crm::stopped(&mut shutdown) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            // The first tick fires at once: the initial snapshot; later ones refresh
            // gateway status and drop stale legs.
            _ = tick.tick() => {
                if !session_alive(&st, &token).await {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
                if let Some(s) = snapshot(&st).await {
                    if socket.send(Message::text(s)).await.is_err() {
                        break;
                    }
                }
            }
            m = rx.recv() => {
                let out = match m {
                    Ok(m) => Some(m),
                    Err(broadcast::error::RecvError::Lagged(_)) => snapshot(&st).await,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if let Some(o) = out {
                    if socket.send(Message::text(o)).await.is_err() {
                        break;
                    }
                }
            }
            m = socket.recv() => {
                match m {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    _ => {}
                }
            }
        }
    }
}
