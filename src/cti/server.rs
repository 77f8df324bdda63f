//! The CTI WebSocket endpoint (`GET /cti`, bearer token): one task per client that
//! replays and streams events, forwards lookups, and answers ops.

use super::hub::Hub;
use super::journal::{Gap, Record};
use super::proto::{string_map, ClientMsg, Command, Filter};
use crate::core::router::CallerInfo;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

#[derive(Clone)]
struct Shared {
    hub: Arc<Hub>,
    token: Arc<str>,
}

/// Compares without an early exit, so response time does not leak the token's prefix.
fn token_ok(given: &str, want: &str) -> bool {
    let (a, b) = (given.as_bytes(), want.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0 && !want.is_empty()
}

/// Binds `addr` and serves the endpoint until the runtime stops. Returns the bound address
/// (port 0 picks a free one).
pub async fn serve(addr: SocketAddr, hub: Arc<Hub>, token: String) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() {
        tracing::warn!(%local, "CTI listens beyond loopback: put TLS in front of it (INSTALL.md)");
    }
    let app = axum::Router::new().route("/cti", get(upgrade)).with_state(Shared { hub, token: token.into() });
    tokio::spawn(async move {
        // Events are small and latency matters (a pop, a lookup): no Nagle delay.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("CTI server stopped: {e}");
        }
    });
    Ok(local)
}

async fn upgrade(State(s): State<Shared>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !token_ok(given.trim(), &s.token) {
        tracing::warn!("CTI connection refused: missing or wrong token");
        return (StatusCode::UNAUTHORIZED, "a valid `Authorization: Bearer` token is required\n").into_response();
    }
    ws.on_upgrade(move |socket| async move {
        let mut c = Conn::new(s.hub);
        c.run(socket).await;
        c.close();
    })
}

struct Conn {
    hub: Arc<Hub>,
    filter: Filter,
    live: Option<broadcast::Receiver<Arc<Record>>>,
    lookups: Option<broadcast::Receiver<Arc<str>>>,
    /// The last event seq this client has been sent (no duplicates, no holes).
    sent: u64,
    results: (mpsc::Sender<Value>, mpsc::Receiver<Value>),
}

impl Conn {
    fn new(hub: Arc<Hub>) -> Conn {
        Conn { hub, filter: Filter::default(), live: None, lookups: None, sent: 0, results: mpsc::channel(64) }
    }

    fn close(&mut self) {
        if self.lookups.take().is_some() {
            self.hub.leave_lookups();
        }
    }

    async fn run(&mut self, mut ws: WebSocket) {
        let (seq, oldest) = self.hub.seqs();
        let hello = json!({ "v": 1, "type": "hello", "gateway": self.hub.gateway, "seq": seq,
            "oldest_seq": oldest, "heartbeat_s": self.hub.heartbeat.as_secs() });
        if send(&mut ws, hello.to_string()).await.is_err() {
            return;
        }
        let mut beat = tokio::time::interval(self.hub.heartbeat);
        beat.tick().await;
        loop {
            tokio::select! {
                msg = ws.recv() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t.to_string(),
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                        Some(Ok(_)) => continue,
                    };
                    let out = self.on_message(&text);
                    for m in out {
                        if send(&mut ws, m).await.is_err() { return; }
                    }
                }
                ev = recv_live(&mut self.live) => {
                    let msgs = match ev {
                        Ok(rec) => self.deliver(&[rec]),
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // Fell behind the fan-out: catch up from the journal.
                            let (gap, evs) = self.hub.replay(self.sent);
                            let mut m: Vec<String> = gap.map(gap_msg).into_iter().collect();
                            m.extend(self.deliver(&evs));
                            m
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    for m in msgs {
                        if send(&mut ws, m).await.is_err() { return; }
                    }
                    beat.reset();
                }
                q = recv_live(&mut self.lookups) => {
                    if let Ok(q) = q {
                        if send(&mut ws, q.to_string()).await.is_err() { return; }
                    }
                }
                Some(r) = self.results.1.recv() => {
                    if send(&mut ws, r.to_string()).await.is_err() { return; }
                }
                _ = beat.tick() => {
                    let (seq, _) = self.hub.seqs();
                    let hb = json!({ "v": 1, "type": "heartbeat", "seq": seq,
                        "ts": super::translate::ts(chrono::Utc::now()) });
                    if send(&mut ws, hb.to_string()).await.is_err() { return; }
                }
            }
        }
    }

    /// Events this client has not had yet and wants.
    fn deliver(&mut self, recs: &[Arc<Record>]) -> Vec<String> {
        let mut out = Vec::new();
        for r in recs {
            if r.seq <= self.sent {
                continue;
            }
            self.sent = r.seq;
            if self.filter.matches(&r.kind, &r.device) {
                out.push(r.json.clone());
            }
        }
        out
    }

    fn on_message(&mut self, text: &str) -> Vec<String> {
        let msg: ClientMsg = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                let v = serde_json::from_str::<Value>(text).ok();
                let req = v.as_ref().and_then(|v| v.get("req")).and_then(Value::as_str);
                return vec![result_msg(req, Err(format!("bad message: {e}"))).to_string()];
            }
        };
        let req = msg.req().map(str::to_string);
        let result = |r: Result<Value, String>| result_msg(req.as_deref(), r).to_string();
        match msg {
            ClientMsg::Subscribe { since_seq, filter, lookup, .. } => {
                self.filter = filter;
                if lookup && self.lookups.is_none() {
                    self.lookups = Some(self.hub.join_lookups());
                } else if !lookup && self.lookups.take().is_some() {
                    self.hub.leave_lookups();
                }
                let r = self.hub.resume(since_seq);
                self.live = Some(r.live);
                self.sent = since_seq.unwrap_or(r.last).min(r.last);
                let mut out = vec![result(Ok(json!({ "seq": r.last, "oldest_seq": r.oldest })))];
                out.extend(r.gap.map(gap_msg));
                out.extend(self.deliver(&r.events));
                out
            }
            ClientMsg::LookupResult { lookup_id, class, customer, vars } => {
                let info = CallerInfo { class, customer: string_map(customer), vars: string_map(vars) };
                if !self.hub.answer(&lookup_id, info) {
                    tracing::debug!(%lookup_id, "late or unknown lookup answer dropped");
                }
                Vec::new()
            }
            ClientMsg::CdrQuery { since_seq, limit, .. } => {
                // Reads a file: off the runtime's thread (the daemon's tick shares it).
                let limit = limit.unwrap_or(500).clamp(1, 10_000);
                let hub = self.hub.clone();
                let back = self.results.0.clone();
                tokio::spawn(async move {
                    let r = tokio::task::spawn_blocking(move || hub.cdr_query(since_seq, limit))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()));
                    let _ = back.send(result_msg(req.as_deref(), r.map(|cdrs| json!({ "cdrs": cdrs })))).await;
                });
                Vec::new()
            }
            other => {
                // Call control runs in the daemon loop; the answer comes back on `results`.
                let (tx, rx) = oneshot::channel();
                let commands = self.hub.commands();
                let back = self.results.0.clone();
                let req = req.clone();
                tokio::spawn(async move {
                    let r = match commands.send(Command { msg: other, reply: tx }).await {
                        Ok(()) => match tokio::time::timeout(std::time::Duration::from_secs(5), rx).await {
                            Ok(Ok(r)) => r,
                            _ => Err("the gateway did not answer".to_string()),
                        },
                        Err(_) => Err("the gateway is shutting down".to_string()),
                    };
                    let _ = back.send(result_msg(req.as_deref(), r)).await;
                });
                Vec::new()
            }
        }
    }
}

/// The answer to a client op that carried `req`.
fn result_msg(req: Option<&str>, r: Result<Value, String>) -> Value {
    match r {
        Ok(data) => json!({ "v": 1, "type": "result", "req": req, "ok": true, "data": data }),
        Err(error) => json!({ "v": 1, "type": "result", "req": req, "ok": false, "error": error }),
    }
}

fn gap_msg(g: Gap) -> String {
    json!({ "v": 1, "type": "gap", "from_seq": g.from, "to_seq": g.to }).to_string()
}

async fn send(ws: &mut WebSocket, text: String) -> Result<(), axum::Error> {
    ws.send(Message::Text(text.into())).await
}

/// Waits on an optional receiver (forever when there is none).
async fn recv_live<T: Clone>(rx: &mut Option<broadcast::Receiver<T>>) -> Result<T, broadcast::error::RecvError> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::token_ok;

    #[test]
    fn tokens() {
        assert!(token_ok("abc", "abc"));
        assert!(!token_ok("abd", "abc"));
        assert!(!token_ok("ab", "abc"));
        assert!(!token_ok("abcd", "abc"));
        assert!(!token_ok("", ""));
    }
}
