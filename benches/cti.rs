//! CTI numbers: event fan-out over real WebSockets to N subscribers, the caller lookup's
//! round trip through the bundled CRM (SQLite), and offer→pop latency — from the gateway
//! publishing `agent.offered` to the agent's desktop WebSocket receiving the card and
//! acknowledging it. `cargo bench --bench cti`.

#![allow(clippy::disallowed_methods)] // bench: wall time

#[path = "../tests/crm_common/mod.rs"]
mod crm_common;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use trunkd::core::router::{CallerLookup, RouteQuery};
use trunkd::cti::hub::Hub;
use trunkd::cti::lookup::CtiLookup;
use trunkd::cti::translate::Output;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const TOKEN: &str = "bench-token";

async fn subscriber(addr: std::net::SocketAddr) -> Ws {
    let mut req = format!("ws://{addr}/cti").into_client_request().unwrap();
    req.headers_mut().insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::Text(json!({ "op": "subscribe", "req": "s" }).to_string().into())).await.unwrap();
    // hello, then the subscribe result.
    for _ in 0..2 {
        ws.next().await.unwrap().unwrap();
    }
    ws
}

fn event(n: u64) -> Output {
    let v = json!({ "v": 1, "ts": "2026-11-23T09:00:00.000Z", "type": "call.alerting", "csta": "Delivered", "call_id": format!("c-{n}"),
        "leg_id": format!("c-{n}"), "direction": "inbound", "device": "pri-1/5", "state": "alerting",
        "from": { "number": "013912345678", "presentation": "allowed" }, "to": { "number": "8002" } });
    Output::Event(v.as_object().unwrap().clone())
}

async fn fan_out(n_subs: usize, events: u64) -> (Duration, u64) {
    let (hub, _ends) = Hub::in_memory("bench", 100_000, Duration::from_secs(15));
    let addr = trunkd::cti::server::serve("127.0.0.1:0".parse().unwrap(), hub.clone(), TOKEN.into()).await.unwrap();
    let mut subs = Vec::new();
    for _ in 0..n_subs {
        subs.push(subscriber(addr).await);
    }
    let t = Instant::now();
    let readers: Vec<_> = subs
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = 0u64;
                while got < events {
                    match ws.next().await {
                        Some(Ok(Message::Text(_))) => got += 1,
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
                got
            })
        })
        .collect();
    let h = hub.clone();
    let publisher = std::thread::spawn(move || {
        for chunk in 0..events / 100 {
            h.publish((chunk * 100..chunk * 100 + 100).map(event).collect());
        }
    });
    let mut delivered = 0;
    for r in readers {
        delivered += r.await.unwrap();
    }
    publisher.join().unwrap();
    (t.elapsed(), delivered)
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn crm_paths(rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (hub, ends) = Hub::in_memory("gw", 10_000, Duration::from_secs(15));
    let cti = trunkd::cti::server::serve("127.0.0.1:0".parse().unwrap(), hub.clone(), TOKEN.into()).await.unwrap();
    let mut c = trunkd::crm::CrmConfig::new(dir.path().join("crm"));
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.gateway = vec![trunkd::crm::GatewayConfig {
        name: "gw".into(),
        url: format!("ws://{cti}/cti"),
        token: Some(TOKEN.into()),
        token_file: None,
        lookup: true,
    }];
    let crm = trunkd::crm::Crm::start(c).await.unwrap();
    trunkd::crm::seed_demo(crm.pool()).await.unwrap();
    let addr = crm.local_addr();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(crm.run(async move {
        let _ = stop_rx.await;
    }));
    let t = Instant::now();
    while hub.lookup_clients() == 0 {
        assert!(t.elapsed() < Duration::from_secs(10), "the CRM never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Lookup round trip: the call core's CtiLookup asks, the CRM answers from its database.
    let mut lookup = CtiLookup::new(hub.clone(), ends.answers, "bench", Duration::from_millis(200));
    let mut rtts = Vec::new();
    for i in 0..rounds as u64 {
        let number = ["013912345678", "13700001111", "01062345678", "13600000000"][i as usize % 4];
        let t = Instant::now();
        assert!(lookup.ask(&RouteQuery::inbound(i, "pri-1/1", "8002", number)));
        loop {
            if let Some((id, _info)) = lookup.poll() {
                assert_eq!(id, i);
                break;
            }
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        rtts.push(t.elapsed());
    }
    println!(
        "caller lookup round trip (gateway → CRM → SQLite → gateway), {rounds} lookups: median {:?}, p95 {:?}, max {:?} (budget 200 ms)",
        percentile(&mut rtts, 0.5),
        percentile(&mut rtts, 0.95),
        percentile(&mut rtts, 1.0)
    );

    // Offer → pop: the gateway publishes agent.offered; the agent's desktop gets the card.
    let mut b = crm_common::Browser::new(addr);
    let r = b.login("agent2", "agent2").await;
    assert_eq!(r.status, 303, "login");
    let mut req = format!("ws://{addr}/ws/desktop").into_client_request().unwrap();
    req.headers_mut().insert("cookie", b.cookie_header().parse().unwrap());
    let (mut desk, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let _hello = desk.next().await;
    let mut lat = Vec::new();
    for i in 0..rounds {
        let ev = json!({ "v": 1, "ts": trunkd::cti::translate::ts(chrono::Utc::now()),
            "type": "agent.offered", "csta": "Delivered", "call_id": format!("pop-{i}"),
            "leg_id": format!("pop-{i}-b"), "direction": "outbound", "device": "vip-desk/0", "state": "initiated",
            "from": { "number": "013912345678" }, "to": { "number": "8002" },
            "data": { "agent_device": "vip-desk/0", "caller": { "number": "013912345678" },
                      "customer": { "name": "Wang Wei" }, "class": "vip" } });
        let t = Instant::now();
        hub.publish(vec![Output::Event(ev.as_object().unwrap().clone())]);
        let pop = loop {
            let m = tokio::time::timeout(Duration::from_secs(5), desk.next()).await.unwrap().unwrap().unwrap();
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "pop" {
                    break v;
                }
            }
        };
        lat.push(t.elapsed());
        desk.send(Message::Text(json!({ "op": "ack", "pop_id": pop["pop_id"] }).to_string().into())).await.unwrap();
    }
    println!(
        "offer → pop (gateway event → CRM stores the call → card on the agent's WebSocket), {rounds} pops: median {:?}, p95 {:?}, max {:?}",
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.95),
        percentile(&mut lat, 1.0)
    );
    let _ = stop_tx.send(());
    let _ = task.await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        for n in [1, 10, 50] {
            let events = 20_000;
            let (t, delivered) = fan_out(n, events).await;
            assert_eq!(delivered, events * n as u64, "every subscriber got every event");
            println!(
                "CTI fan-out to {n:>2} subscribers: {events} events in {:.2} s = {:.0} events/s each, {:.0} deliveries/s in all",
                t.as_secs_f64(),
                events as f64 / t.as_secs_f64(),
                delivered as f64 / t.as_secs_f64()
            );
        }
        crm_paths(200).await;
    });
}
