//! CTI client: one task per configured gateway (src/cti/protocol.md, client side).
//!
//! Connects with the bearer token, subscribes from the stored cursor, stores every event
//! in order (one transaction per event with the cursor, so a resume never duplicates),
//! backfills CDRs after a `gap`, answers `lookup`s on their own tasks (the gateway waits
//! ~200 ms, so they never queue behind event storage), and reconnects with back-off.

use super::db::{self, EventRecord, LegUpdate};
use super::lookup;
use super::numbers::mask;
use super::{now_ms, pop, GatewayConfig, Shared};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("reading token file: {0}")]
    Token(#[source] std::io::Error),
    #[error("token is not a valid header value")]
    BadToken,
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("no message for {0} s (heartbeat missed)")]
    Silent(u64),
    #[error("gateway closed the connection")]
    Closed,
    #[error("the database refused an event: reconnecting to resume from the last stored one")]
    StoreFailed,
    #[error(transparent)]
    Db(#[from] db::DbError),
}

/// What the UI and `/health` show per gateway.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GatewayStatus {
    pub name: String,
    pub url: String,
    pub connected: bool,
    /// Name the gateway gave in `hello`.
    pub remote_name: Option<String>,
    pub last_seq: Option<i64>,
    pub last_error: Option<String>,
    pub since_ms: Option<i64>,
    pub lookups: u64,
    pub events: u64,
}

/// Status of every gateway client, by configured name.
#[derive(Debug, Default, Clone)]
pub struct GatewayStatuses(Arc<Mutex<HashMap<String, GatewayStatus>>>);

impl GatewayStatuses {
    pub fn snapshot(&self) -> Vec<GatewayStatus> {
        let mut v: Vec<_> = self.0.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
    fn update(&self, name: &str, f: impl FnOnce(&mut GatewayStatus)) {
        if let Ok(mut m) = self.0.lock() {
            f(m.entry(name.to_string())
                .or_insert_with(|| GatewayStatus { name: name.to_string(), ..Default::default() }));
        }
    }
}

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// `cdr.query` page size (the gateway's default).
const CDR_PAGE: i64 = 500;

/// Runs one gateway client until `shutdown` turns true.
pub async fn run(shared: Arc<Shared>, gw: GatewayConfig, mut shutdown: watch::Receiver<bool>) {
    shared.gateways.update(&gw.name, |s| s.url = gw.url.clone());
    let mut backoff = BACKOFF_MIN;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut established = false;
        let res = session(&shared, &gw, &mut shutdown, &mut established).await;
        let err = res.err().map(|e| e.to_string());
        if let Some(e) = &err {
            tracing::warn!(gateway = %gw.name, error = %e, "crm: gateway connection lost");
        }
        shared.gateways.update(&gw.name, |s| {
            s.connected = false;
            s.since_ms = Some(now_ms());
            if err.is_some() {
                s.last_error = err;
            }
        });
        if established {
            backoff = BACKOFF_MIN;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn token(gw: &GatewayConfig) -> Result<Option<String>, GatewayError> {
    if let Some(t) = &gw.token {
        return Ok(Some(t.trim().to_string()));
    }
    match &gw.token_file {
        Some(p) => Ok(Some(std::fs::read_to_string(p).map_err(GatewayError::Token)?.trim().to_string())),
        None => Ok(None),
    }
}

/// Work for the in-order storage task.
enum Work {
    Event(Value, String),
    Gap { from_seq: i64 },
    CdrResult(Value),
}

async fn session(
    shared: &Arc<Shared>,
    gw: &GatewayConfig,
    shutdown: &mut watch::Receiver<bool>,
    established: &mut bool,
) -> Result<(), GatewayError> {
    let mut req = gw.url.as_str().into_client_request()?;
    if let Some(t) = token(gw)? {
        let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| GatewayError::BadToken)?;
        req.headers_mut().insert("authorization", v);
    }
    let (ws, _) =
        tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async_with_config(req, None, true))
            .await
            .map_err(|_| GatewayError::ConnectTimeout)??;
    let (mut sink, mut stream) = ws.split();

    let since = db::cursor(&shared.pool, &gw.name).await?;
    let mut sub = json!({"op": "subscribe", "lookup": gw.lookup});
    if let Some(s) = since {
        sub["since_seq"] = json!(s);
    }
    sink.send(Message::text(sub.to_string())).await?;
    tracing::info!(gateway = %gw.name, since_seq = ?since, "crm: connected to gateway, subscribed");

    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (work_tx, work_rx) = mpsc::unbounded_channel::<Work>();
    let storer = tokio::spawn(store_loop(shared.clone(), gw.name.clone(), work_rx, out_tx.clone()));
    let mut silent_limit = 45u64;

    let result = loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                break Ok(());
            }
            Some(out) = out_rx.recv() => {
                if let Err(e) = sink.send(Message::text(out)).await {
                    break Err(e.into());
                }
            }
            msg = tokio::time::timeout(Duration::from_secs(silent_limit), stream.next()) => {
                let msg = match msg {
                    Err(_) => break Err(GatewayError::Silent(silent_limit)),
                    Ok(None) => break Err(GatewayError::Closed),
                    Ok(Some(Err(e))) => break Err(e.into()),
                    Ok(Some(Ok(m))) => m,
                };
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Close(_) => break Err(GatewayError::Closed),
                    _ => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    tracing::warn!(gateway = %gw.name, "crm: gateway sent a frame that is not JSON");
                    continue;
                };
                let kind = v.get("type").and_then(Value::as_str).unwrap_or("").to_string();
                match kind.as_str() {
                    "hello" => {
                        *established = true;
                        // The gateway numbers from less than we stored: its journal was lost
                        // (new disk, deleted data). Follow its numbering from here.
                        let their = v.get("seq").and_then(Value::as_i64).unwrap_or(0);
                        if since.is_some_and(|c| their < c) {
                            tracing::warn!(gateway = %gw.name, ours = ?since, theirs = their, "crm: the gateway's event numbering restarted; following it");
                            db::reset_cursor(&shared.pool, &gw.name, their, now_ms()).await?;
                        }
                        if let Some(h) = v.get("heartbeat_s").and_then(Value::as_u64) {
                            silent_limit = h.clamp(1, 200) * 3;
                        }
                        let remote = v.get("gateway").and_then(Value::as_str).map(str::to_string);
                        shared.gateways.update(&gw.name, |s| {
                            s.connected = true;
                            s.remote_name = remote;
                            s.last_error = None;
                            s.since_ms = Some(now_ms());
                            s.last_seq = since;
                        });
                    }
                    "heartbeat" => {}
                    "lookup" => {
                        tokio::spawn(answer_lookup(shared.clone(), gw.name.clone(), v, out_tx.clone()));
                    }
                    "gap" => {
                        let from_seq = v.get("from_seq").and_then(Value::as_i64).unwrap_or(1);
                        tracing::warn!(gateway = %gw.name, from_seq, to_seq = ?v.get("to_seq"), "crm: events lost, backfilling CDRs");
                        let _ = work_tx.send(Work::Gap { from_seq });
                    }
                    "result" => {
                        let is_cdr = v.get("req").and_then(Value::as_str).is_some_and(|r| r.starts_with("cdr-"));
                        if is_cdr {
                            let _ = work_tx.send(Work::CdrResult(v));
                        } else if v.get("ok").and_then(Value::as_bool) == Some(false) {
                            tracing::warn!(gateway = %gw.name, error = ?v.get("error"), "crm: gateway refused an op");
                        }
                    }
                    _ if v.get("seq").and_then(Value::as_i64).is_some() => {
                        // The storer stops on an event it cannot store: resubscribe from the
                        // cursor rather than store the events after it over a hole.
                        if work_tx.send(Work::Event(v, text)).is_err() {
                            break Err(GatewayError::StoreFailed);
                        }
                    }
                    _ => tracing::debug!(gateway = %gw.name, kind, "crm: ignored gateway message"),
                }
            }
        }
    };
    // Let the storer finish what was received, so the next subscribe resumes after it.
    drop(work_tx);
    let _ = storer.await;
    result
}

/// Stores events in arrival order; handles gap backfill.
async fn store_loop(
    shared: Arc<Shared>,
    gateway: String,
    mut rx: mpsc::UnboundedReceiver<Work>,
    out: mpsc::UnboundedSender<String>,
) {
    let mut req_n = 0u64;
    while let Some(w) = rx.recv().await {
        match w {
            Work::Event(v, raw) => {
                // The store is idempotent by seq, so a retry cannot store twice.
                if let Err(e) = retried(|| handle_event(&shared, &gateway, &v, &raw)).await {
                    tracing::error!(gateway = %gateway, error = %e, "crm: storing event failed; will resume from the last stored event");
                    return;
                }
            }
            Work::Gap { from_seq } => {
                req_n += 1;
                let q = json!({"op": "cdr.query", "req": format!("cdr-{req_n}"), "since_seq": from_seq.saturating_sub(1), "limit": CDR_PAGE});
                let _ = out.send(q.to_string());
            }
            Work::CdrResult(v) => {
                let cdrs = v.pointer("/data/cdrs").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut max_seq = None;
                for cdr in &cdrs {
                    max_seq = max_seq.max(cdr.get("seq").and_then(Value::as_i64));
                    if let Err(e) = store_cdr(&shared, &gateway, cdr).await {
                        tracing::error!(gateway = %gateway, error = %e, "crm: storing CDR failed");
                    }
                }
                tracing::info!(gateway = %gateway, n = cdrs.len(), "crm: CDRs backfilled");
                if cdrs.len() as i64 >= CDR_PAGE {
                    if let Some(s) = max_seq {
                        req_n += 1;
                        let q = json!({"op": "cdr.query", "req": format!("cdr-{req_n}"), "since_seq": s, "limit": CDR_PAGE});
                        let _ = out.send(q.to_string());
                    }
                }
            }
        }
    }
}

/// Runs `f` again while it fails, up to 8 more times, 10 ms doubling to 320 ms apart:
/// SQLite answers "database is locked" at once when two writers collide.
async fn retried<T, E, Fut: std::future::Future<Output = Result<T, E>>>(mut f: impl FnMut() -> Fut) -> Result<T, E> {
    let mut tries = 0u32;
    loop {
        match f().await {
            Err(_) if tries < 8 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(5u64 << tries.min(6))).await;
            }
            r => return r,
        }
    }
}

fn s(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).map(str::to_string)
}

fn nonempty(o: Option<String>) -> Option<String> {
    o.filter(|x| !x.is_empty())
}

/// RFC 3339 to epoch ms.
pub fn parse_ts(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts).ok().map(|t| t.timestamp_millis())
}

/// Our customer id from what the gateway echoes back (`17`, `"17"` or `"c-17"`).
fn customer_id(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim_start_matches("c-").parse().ok(),
        _ => None,
    }
}

/// A caller number that is a string or `{number: …}`.
fn number_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        o @ Value::Object(_) => o.get("number").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// The call-leg columns an event sets (pure: no DB).
pub fn leg_update(v: &Value) -> Option<LegUpdate> {
    let call_id = s(v, "/call_id")?;
    let leg_id = s(v, "/leg_id")?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    let ts = s(v, "/ts").as_deref().and_then(parse_ts);
    let mut u = LegUpdate {
        call_id,
        leg_id,
        direction: s(v, "/direction"),
        device: s(v, "/device"),
        state: s(v, "/state"),
        from_number: s(v, "/from/number"),
        from_name: s(v, "/from/name"),
        to_number: s(v, "/to/number"),
        // Only the leg's first event knows when it started; a CDR (after a gap) corrects it.
        start_ms: if matches!(kind, "call.offered" | "call.initiated") { ts } else { None },
        seq: v.get("seq").and_then(Value::as_i64),
        ..Default::default()
    };
    match kind {
        "call.routed" => {
            u.route = nonempty(s(v, "/data/route"));
            u.class = nonempty(s(v, "/data/class"));
        }
        "agent.offered" => {
            u.agent_device = s(v, "/data/agent_device");
            u.customer_id = customer_id(v.pointer("/data/customer/id"));
            u.class = nonempty(s(v, "/data/class")).or_else(|| nonempty(s(v, "/data/customer/class")));
        }
        "call.answered" => u.answer_ms = ts,
        "call.failed" | "call.ended" => {
            u.end_ms = ts;
            u.cause_code = v.pointer("/cause/q850").and_then(Value::as_i64);
            u.cause_name = s(v, "/cause/name");
            if u.state.is_none() {
                u.state = Some(if kind == "call.failed" { "failed" } else { "ended" }.into());
            }
        }
        "recording.finished" if v.pointer("/data/error").is_none_or(Value::is_null) => {
            u.recording = s(v, "/data/path");
        }
        _ => {}
    }
    Some(u)
}

/// The call-leg columns a CDR sets (pure).
pub fn cdr_update(cdr: &Value) -> Option<LegUpdate> {
    let t = |p: &str| s(cdr, p).as_deref().and_then(parse_ts);
    Some(LegUpdate {
        call_id: s(cdr, "/call_id")?,
        leg_id: s(cdr, "/leg_id")?,
        direction: s(cdr, "/direction"),
        device: s(cdr, "/device"),
        state: Some("ended".into()),
        from_number: s(cdr, "/from/number"),
        from_name: s(cdr, "/from/name"),
        to_number: s(cdr, "/to/number"),
        start_ms: t("/start"),
        answer_ms: t("/answer"),
        end_ms: t("/end").or_else(|| t("/start")),
        talk_ms: cdr.get("talk_ms").and_then(Value::as_i64),
        route: nonempty(s(cdr, "/route")),
        class: nonempty(s(cdr, "/class")),
        customer_id: customer_id(cdr.get("customer_id")),
        agent_device: nonempty(s(cdr, "/peer_device")),
        cause_code: cdr.pointer("/cause/q850").and_then(Value::as_i64),
        cause_name: s(cdr, "/cause/name"),
        recording: cdr
            .get("recordings")
            .and_then(Value::as_array)
            .and_then(|a| a.last())
            .and_then(Value::as_str)
            .map(str::to_string),
        ivr_path: cdr.get("ivr_path").filter(|p| p.is_array()).map(Value::to_string),
        cdr: Some(cdr.to_string()),
        seq: cdr.get("seq").and_then(Value::as_i64),
        ..Default::default()
    })
}

/// Fills the ids only the database knows: the customer by caller number, the agent user
/// by device.
async fn resolve(shared: &Shared, u: &mut LegUpdate, inbound_caller: bool) -> Result<(), db::DbError> {
    if u.customer_id.is_none() && inbound_caller {
        if let Some(n) = u.from_number.as_deref().and_then(super::numbers::normalize) {
            u.customer_id = db::find_customer_by_number(&shared.pool, &n).await?.map(|c| c.id);
        }
    }
    if let Some(dev) = &u.agent_device {
        u.agent_user_id = db::user_by_contact(&shared.pool, dev).await?.map(|x| x.id);
    }
    Ok(())
}

async fn handle_event(shared: &Arc<Shared>, gateway: &str, v: &Value, raw: &str) -> Result<(), db::DbError> {
    let Some(seq) = v.get("seq").and_then(Value::as_i64) else { return Ok(()) };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    let mut leg = leg_update(v);
    if let Some(u) = leg.as_mut() {
        resolve(shared, u, matches!(kind, "call.offered" | "agent.offered")).await?;
    }
    let rec = EventRecord {
        seq,
        kind,
        call_id: v.get("call_id").and_then(Value::as_str),
        leg_id: v.get("leg_id").and_then(Value::as_str),
        ts_ms: v.get("ts").and_then(Value::as_str).and_then(parse_ts),
        body: raw,
    };
    let now = now_ms();
    // The record first (an idempotent upsert by leg): once the event is stored, a retry
    // finds it "already stored" and would never write the record.
    if kind == "call.ended" {
        if let Some(cdr) = v.pointer("/data/cdr").filter(|c| c.is_object()) {
            store_cdr(shared, gateway, cdr).await?;
        }
    }
    if !db::store_event(&shared.pool, gateway, &rec, leg.as_ref(), now).await? {
        tracing::debug!(gateway, seq, "crm: event already stored");
        return Ok(());
    }
    shared.gateways.update(gateway, |s| {
        s.last_seq = Some(seq);
        s.events += 1;
    });
    // Side effects after commit: pops and the live view.
    match kind {
        "agent.offered" => {
            // Stored already: a failure here must be retried here, not by storing again.
            retried(|| pop::on_agent_offered(shared, gateway, v)).await?
        }
        "call.answered" | "call.ended" | "call.failed" => pop::on_call_state(shared, v).await?,
        _ => {}
    }
    if let Some(leg_id) = rec.leg_id {
        if shared.hub.live_watchers() > 0 {
            if let Some(row) = db::call_by_leg(&shared.pool, leg_id).await? {
                shared.hub.publish_live(json!({"type": "leg", "leg": row}).to_string());
            }
        }
    }
    Ok(())
}

async fn store_cdr(shared: &Shared, gateway: &str, cdr: &Value) -> Result<(), db::DbError> {
    let Some(mut u) = cdr_update(cdr) else { return Ok(()) };
    let inbound = u.direction.as_deref() == Some("inbound");
    resolve(shared, &mut u, inbound).await?;
    db::store_cdr(&shared.pool, gateway, &u, now_ms()).await
}

/// Answers one `lookup` (on its own task). A failure answers nothing: the gateway then
/// routes the call the ordinary way after its timeout.
async fn answer_lookup(shared: Arc<Shared>, gateway: String, v: Value, out: mpsc::UnboundedSender<String>) {
    let Some(lookup_id) = v.get("lookup_id").cloned() else { return };
    let number = number_of(v.get("from")).unwrap_or_default();
    let budget = Duration::from_millis(v.get("timeout_ms").and_then(Value::as_u64).unwrap_or(200).clamp(20, 2000));
    let ans = match tokio::time::timeout(budget, lookup::lookup(&shared.pool, &number, now_ms())).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            tracing::error!(gateway, error = %e, "crm: lookup failed");
            return;
        }
        Err(_) => {
            tracing::warn!(gateway, caller = %mask(&number), "crm: lookup slower than the gateway waits");
            return;
        }
    };
    let class = ans.classification.class.as_str();
    let mut msg = json!({"op": "lookup.result", "lookup_id": lookup_id, "class": class});
    let mut vars = serde_json::Map::new();
    if let Some(c) = &ans.customer {
        msg["customer"] = json!({
            "id": c.id, "name": c.name, "level": c.level.as_str(),
            "owner": c.owner, "owner_device": c.owner_device,
        });
        vars.insert("crm_customer_id".into(), json!(c.id.to_string()));
        if let Some(d) = &c.owner_device {
            vars.insert("crm_owner_device".into(), json!(d));
        }
    }
    if !vars.is_empty() {
        msg["vars"] = Value::Object(vars);
    }
    let _ = out.send(msg.to_string());
    shared.gateways.update(&gateway, |s| s.lookups += 1);
    tracing::info!(gateway, caller = %mask(&number), class, "crm: lookup answered");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_events_to_leg_columns() {
        let ev = json!({"v":1,"seq":7,"type":"call.ended","ts":"2026-01-01T12:00:00.123Z","call_id":"c","leg_id":"l",
            "direction":"inbound","from":{"number":"13800138000"},"cause":{"q850":16,"name":"NORMAL_CLEARING"}});
        let u = leg_update(&ev).expect("leg");
        assert_eq!(u.end_ms, Some(1_767_268_800_123));
        assert_eq!(u.cause_code, Some(16));
        assert_eq!(u.state.as_deref(), Some("ended"));
        assert!(leg_update(&json!({"type":"span.alarm","seq":1})).is_none());
        assert_eq!(customer_id(Some(&json!("c-17"))), Some(17));
        assert_eq!(customer_id(Some(&json!(5))), Some(5));
        assert_eq!(customer_id(Some(&json!("x"))), None);
        let cdr = json!({"seq":9,"call_id":"c","leg_id":"l","recordings":["/a.wav"],"ivr_path":["menu"],"start":"bad"});
        let u = cdr_update(&cdr).expect("cdr");
        assert_eq!(u.recording.as_deref(), Some("/a.wav"));
        assert_eq!(u.ivr_path.as_deref(), Some("[\"menu\"]"));
        assert_eq!(u.start_ms, None);
    }
}
