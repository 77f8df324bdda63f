//! The CTI WebSocket against the daemon as a process, the test acting as the CRM: the
//! token is required, lookups are answered (a blacklisted caller is cleared), a client
//! that drops out resumes with nothing lost and nothing twice, commands are answered,
//! and call records are on disk after the daemon stops.
//!
//! Real time: a real process and real sockets.
#![allow(clippy::disallowed_methods)]

mod common;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, port: u16) -> Daemon {
    let config = format!(
        r#"
[general]
data_dir = {dir:?}
control_socket = {sock:?}

[cti]
listen = "127.0.0.1:{port}"
token_file = {token:?}
lookup_timeout_ms = 1000
heartbeat_s = 1

[[span]]
name = "pri-1"
backend = "sim"
signalling = "pri"
pri = {{ side = "te", switch = "china" }}

[[line]]
name = "phones"
backend = "sim"
kind = "fxs"
ports = 2

[[route]]
from = "pri-1"
app = "demo"

[sim]
answer_after_ms = 500

[[sim.caller]]
via = "pri-1"
at_ms = 1500
every_ms = 700
count = 12
called = "8002"
caller = "13501234567"
steps = ["wait 1000", "hangup"]

[[sim.caller]]
via = "pri-1"
at_ms = 1800
called = "8002"
caller = "13700001111"
steps = ["wait 3000", "hangup"]
"#,
        dir = dir,
        sock = dir.join("trunkd.ctl"),
        token = dir.join("token"),
    );
    std::fs::write(dir.join("token"), "s3cret-token\n").unwrap();
    std::fs::write(dir.join("trunkd.toml"), config).unwrap();
    trunkd::demo::install_prompts(&dir.join("prompts")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_trunkd"))
        .args(["run", "--config"])
        .arg(dir.join("trunkd.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon(child)
}

async fn connect(port: u16, token: Option<&str>) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://127.0.0.1:{port}/cti").into_client_request()?;
    if let Some(t) = token {
        req.headers_mut().insert("Authorization", format!("Bearer {t}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(ws, _)| ws)
}

async fn connect_when_up(port: u16) -> Ws {
    let t = Instant::now();
    loop {
        match connect(port, Some("s3cret-token")).await {
            Ok(ws) => return ws,
            Err(e) => {
                assert!(t.elapsed() < Duration::from_secs(20), "CTI never came up: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn next(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in 10 s");
        match m {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Reads until the result for `req`, answering lookups and keeping events on the way.
async fn result(ws: &mut Ws, req: &str, events: &mut Vec<Value>) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == "result" && m["req"] == req {
            return m;
        }
        keep(ws, m, events).await;
    }
}

/// The CRM's side: lookups answered, events kept.
async fn keep(ws: &mut Ws, m: Value, events: &mut Vec<Value>) {
    match m["type"].as_str() {
        Some("lookup") => {
            let number = m["from"]["number"].as_str().unwrap_or("");
            let class = if number.ends_with("13700001111") { "blacklist" } else { "normal" };
            send(
                ws,
                json!({ "op": "lookup.result", "lookup_id": m["lookup_id"], "class": class,
                "customer": { "id": 17, "name": "Li Na" } }),
            )
            .await;
        }
        Some("heartbeat") | Some("hello") | Some("result") | Some("gap") => {}
        _ => events.push(m),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_crm_over_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut daemon = start(dir.path(), port);
    let mut ws = connect_when_up(port).await;

    // No token, or a wrong one: HTTP 401, no WebSocket.
    for bad in [None, Some("s3cret-tokeX")] {
        match connect(port, bad).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
            other => panic!("expected 401, got {:?}", other.map(|_| ())),
        }
    }

    let hello = next(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["heartbeat_s"], 1);
    send(&mut ws, json!({ "op": "subscribe", "req": "s1", "since_seq": 0, "lookup": true })).await;
    let mut events = Vec::new();
    let r = result(&mut ws, "s1", &mut events).await;
    assert_eq!(r["ok"], true, "{r}");

    // Take 15 events, then drop out while calls go on.
    while events.len() < 15 {
        let m = next(&mut ws).await;
        keep(&mut ws, m, &mut events).await;
    }
    let last = events.last().unwrap()["seq"].as_u64().unwrap();
    drop(ws);
    // While away, lookups have nobody to ask: calls take the ordinary route at once.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut ws = connect_when_up(port).await;
    assert_eq!(next(&mut ws).await["type"], "hello");
    send(&mut ws, json!({ "op": "subscribe", "req": "s2", "since_seq": last, "lookup": true })).await;
    let r = result(&mut ws, "s2", &mut events).await;
    assert!(r["data"]["seq"].as_u64().unwrap() > last + 5, "events happened while away: {r}");

    // Commands: an unknown call, a bad message, a click-to-dial and its hangup, status.
    send(&mut ws, json!({ "op": "hangup", "req": "h0", "call_id": "nope" })).await;
    let r = result(&mut ws, "h0", &mut events).await;
    assert_eq!(r["ok"], false);
    assert!(r["error"].as_str().unwrap().contains("no call"), "{r}");
    send(&mut ws, json!({ "op": "hangup", "req": "bad", "call_id": "x", "typo": 1 })).await;
    let r = result(&mut ws, "bad", &mut events).await;
    assert_eq!(r["ok"], false);
    assert!(r["error"].as_str().unwrap().contains("typo"), "{r}");
    send(
        &mut ws,
        json!({ "op": "originate", "req": "o1", "group": "phones", "number": "1",
        "bridge": { "group": "pri-1", "number": "013912345678" } }),
    )
    .await;
    let r = result(&mut ws, "o1", &mut events).await;
    assert_eq!(r["ok"], true, "{r}");
    let call_id = r["data"]["call_id"].as_str().unwrap().to_string();
    // The agent's phone answers (after 500 ms), then the customer's leg is dialled.
    let t = Instant::now();
    while !events.iter().any(|e| {
        e["type"] == "call.initiated"
            && e["call_id"] == call_id.as_str()
            && e["device"].as_str().unwrap().starts_with("pri-1/")
    }) {
        assert!(t.elapsed() < Duration::from_secs(10), "the bridge leg never started");
        let m = next(&mut ws).await;
        keep(&mut ws, m, &mut events).await;
    }
    send(&mut ws, json!({ "op": "hangup", "req": "h1", "call_id": call_id })).await;
    assert_eq!(result(&mut ws, "h1", &mut events).await["ok"], true);
    send(&mut ws, json!({ "op": "status", "req": "st" })).await;
    let st = result(&mut ws, "st", &mut events).await;
    assert!(st["data"]["spans"].is_array(), "{st}");

    // Let the remaining calls finish.
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(6) {
        if let Ok(Some(Ok(Message::Text(m)))) = tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
            let m: Value = serde_json::from_str(&m).unwrap();
            keep(&mut ws, m, &mut events).await;
        }
    }

    // Nothing lost, nothing twice: the seqs run 1..=N without a hole.
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let set: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(set.len(), seqs.len(), "duplicates");
    assert_eq!(set.iter().copied().collect::<Vec<_>>(), (1..=seqs.len() as u64).collect::<Vec<_>>(), "holes");

    // The blacklisted caller was cleared before answer, with cause 21.
    let ended: Vec<&Value> = events.iter().filter(|e| e["type"] == "call.ended").collect();
    let black = ended.iter().find(|e| e["from"]["number"] == "013700001111").expect("blacklisted call ended");
    assert_eq!(black["cause"]["q850"], 21);
    assert_eq!(black["data"]["cdr"]["answer"], Value::Null);
    // Calls while the CRM was away took the ordinary route without waiting for it.
    assert!(ended.iter().any(|e| e["data"]["cdr"]["lookup"] == "unavailable"), "no call while away?");
    assert!(ended.iter().any(|e| e["data"]["cdr"]["lookup"] == "answered"));
    // call.ended carries the customer the CRM named.
    assert!(ended.iter().any(|e| e["data"]["cdr"]["customer_id"] == "17"));

    // The CRM backfills records by seq.
    send(&mut ws, json!({ "op": "cdr.query", "req": "q", "since_seq": 0 })).await;
    let ended_legs: BTreeSet<String> = ended.iter().map(|e| e["leg_id"].as_str().unwrap().to_string()).collect();
    let q = result(&mut ws, "q", &mut Vec::new()).await;
    let cdrs = q["data"]["cdrs"].as_array().unwrap();
    let cdr_legs: BTreeSet<String> = cdrs.iter().map(|c| c["leg_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(cdr_legs.len(), cdrs.len(), "one record per leg");
    assert!(ended_legs.is_subset(&cdr_legs), "every ended leg has its record");

    // Stop: records are on disk.
    Command::new("kill").arg("-TERM").arg(daemon.0.id().to_string()).status().unwrap();
    let t = Instant::now();
    loop {
        if let Some(st) = daemon.0.try_wait().unwrap() {
            assert!(st.success());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(dir.path().join("cdr/cdr.jsonl")).unwrap();
    let records = text.lines().filter(|l| !l.starts_with("{\"open\"")).count();
    assert!(records >= cdrs.len(), "{records} < {}", cdrs.len());
}
