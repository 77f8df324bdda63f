//! CTI in virtual time: the caller lookup steering routes (blacklist cleared before answer,
//! VIP to the VIP desk, everyone else to the menu), a CRM that is down or silent, call
//! records on disk for every leg, the event stream's numbering and resume, records of
//! calls a dead daemon left up, and CTI call control.
//!
//! The CRM here is the test itself, answering the hub's `lookup` messages; the WebSocket
//! transport is covered by tests/cti_ws.rs.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use trunkd::config::Config;
use trunkd::core::router::CallerInfo;
use trunkd::cti::hub::Hub;
use trunkd::cti::lookup::CtiLookup;
use trunkd::cti::translate::{Output, Translator};
use trunkd::gateway::Gateway;
use trunkd::signalling::Cause;
use trunkd::time::Instant;

const CONFIG: &str = r#"
[[span]]
name = "pri-1"
backend = "sim"
signalling = "pri"
pri = { side = "te", switch = "china" }

[[line]]
name = "phones"
backend = "sim"
kind = "fxs"
ports = 2

[[line]]
name = "vip-desk"
backend = "sim"
kind = "fxs"
ports = 1

[[route]]
from = "pri-1"
class = "vip"
dial = "vip-desk"

[[route]]
from = "pri-1"
app = "demo"

[sim]
answer_after_ms = 1000
"#;

fn caller(at_ms: u64, number: &str) -> String {
    format!(
        "\n[[sim.caller]]\nvia = \"pri-1\"\nat_ms = {at_ms}\ncalled = \"8002\"\ncaller = \"{number}\"\nsteps = [\"wait 3000\", \"hangup\"]\n"
    )
}

/// What the fake CRM says about a number.
#[derive(Clone, Copy, PartialEq)]
enum Crm {
    /// Answers from its little customer table.
    Answers,
    /// Connected but never answers (overloaded).
    Silent,
    /// Not connected at all.
    Down,
}

fn crm_answer(number: &str) -> CallerInfo {
    // The China profile presents national numbers with their trunk prefix 0.
    let number = number.strip_prefix('0').unwrap_or(number);
    let (class, name) = match number {
        "13700001111" => ("blacklist", ""),
        "13912345678" => ("vip", "Wang Wei"),
        _ => ("normal", "Li Na"),
    };
    let mut customer = BTreeMap::new();
    if !name.is_empty() {
        customer.insert("name".to_string(), name.to_string());
        customer.insert("id".to_string(), format!("c-{number}"));
    }
    CallerInfo { class: class.into(), customer, vars: BTreeMap::new() }
}

struct Run {
    events: Vec<Value>,
    cdrs: Vec<Value>,
    far: Vec<trunkd::core::event::CoreEvent>,
    lookups: usize,
}

fn wall(at: Instant) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + chrono::TimeDelta::microseconds(at.as_micros() as i64)
}

fn run(callers: &[(u64, &str)], crm: Crm, seconds: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("[general]\ndata_dir = {:?}\n", dir.path());
    text.push_str(CONFIG);
    for (at, n) in callers {
        text.push_str(&caller(*at, n));
    }
    let cfg = Config::parse(&text, "").unwrap_or_else(|e| panic!("{e}"));
    trunkd::demo::install_prompts(&cfg.general.prompts_dir()).unwrap();
    let mut gw = Gateway::build(&cfg).unwrap();
    let (hub, ends) = Hub::open("gw-test", dir.path(), 1000, Duration::from_secs(15), wall(Instant::ZERO)).unwrap();
    let lookup = CtiLookup::new(hub.clone(), ends.answers, "run1", Duration::from_millis(200));
    gw.engine.set_lookup(Some(Box::new(lookup)), Cause::CallRejected);
    let mut crm_rx = (crm != Crm::Down).then(|| hub.join_lookups());
    let mut tr = Translator::new("gw-test", "run1", vec!["phones".into(), "vip-desk".into()]);
    let mut live = hub.resume(Some(0)).live;
    let mut now = Instant::ZERO;
    let mut far = Vec::new();
    let mut lookups = 0;
    for _ in 0..seconds * 50 {
        now += Duration::from_millis(20);
        gw.step(now);
        if let Some(rx) = &mut crm_rx {
            while let Ok(msg) = rx.try_recv() {
                lookups += 1;
                let m: Value = serde_json::from_str(&msg).unwrap();
                assert_eq!(m["type"], "lookup");
                assert_eq!(m["timeout_ms"], 200);
                if crm == Crm::Answers {
                    let number = m["from"]["number"].as_str().unwrap();
                    assert!(hub.answer(m["lookup_id"].as_str().unwrap(), crm_answer(number)));
                    // A second answer for the same lookup is dropped.
                    assert!(!hub.answer(m["lookup_id"].as_str().unwrap(), crm_answer("x")));
                }
            }
        }
        let mut out = Vec::new();
        for ev in gw.engine.drain_events() {
            tr.translate(&ev, wall(ev.at), &mut out);
        }
        hub.publish(out);
        far.extend(gw.far.as_mut().unwrap().drain_events());
    }
    gw.engine.finish();
    let mut events = Vec::new();
    while let Ok(r) = live.try_recv() {
        events.push(serde_json::from_str(&r.json).unwrap());
    }
    let cdrs = hub.cdr_query(0, 1000).unwrap();
    // The records are on disk, one JSON line each.
    let text = std::fs::read_to_string(dir.path().join("cdr/cdr.jsonl")).unwrap();
    assert_eq!(text.lines().filter(|l| !l.starts_with("{\"open\"")).count(), cdrs.len());
    Run { events, cdrs, far, lookups }
}

fn of_type<'a>(evs: &'a [Value], t: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["type"] == t).collect()
}

fn cdr_from<'a>(r: &'a Run, number: &str) -> &'a Value {
    r.cdrs
        .iter()
        .find(|c| c["from"]["number"] == format!("0{number}") && c["direction"] == "inbound")
        .unwrap_or_else(|| panic!("no record for {number}: {:#?}", r.cdrs))
}

#[test]
fn the_crm_steers_blacklist_vip_and_ordinary_callers() {
    let r = run(&[(500, "13700001111"), (3000, "13912345678"), (6000, "13501234567")], Crm::Answers, 14);
    assert_eq!(r.lookups, 3);

    // Blacklisted: cleared with CALL_REJECTED before anything answered it.
    let b = cdr_from(&r, "13700001111");
    assert_eq!(b["cause"]["q850"], 21, "{b:#}");
    assert_eq!(b["answer"], Value::Null);
    assert_eq!(b["class"], "blacklist");
    assert!(b["route"].as_str().unwrap().contains("blacklist"), "{b:#}");
    assert!(r.far.iter().any(|e| matches!(
        e.kind,
        trunkd::core::event::EventKind::Ended { cause: Cause::CallRejected, talk: None, .. }
    )));

    // VIP: the VIP route, ringing the VIP desk, with an agent.offered that carries the card.
    let v = cdr_from(&r, "13912345678");
    assert_eq!(v["class"], "vip");
    assert_eq!(v["customer_id"], "c-13912345678");
    assert_eq!(v["route"], "route[0] dial vip-desk", "{v:#}");
    assert_eq!(v["peer_device"], "vip-desk/0");
    assert!(v["talk_ms"].as_i64().unwrap() > 1000, "{v:#}");
    let offered = of_type(&r.events, "agent.offered");
    assert_eq!(offered.len(), 1, "{offered:#?}");
    let o = offered[0];
    assert_eq!(o["device"], "vip-desk/0");
    assert_eq!(o["data"]["caller"]["number"], "013912345678");
    assert_eq!(o["data"]["customer"]["name"], "Wang Wei");
    assert_eq!(o["call_id"], v["call_id"], "both legs share the call id");
    // The agent's leg has its own record, linked to the caller's.
    let agent = r.cdrs.iter().find(|c| c["device"] == "vip-desk/0").unwrap();
    assert_eq!(agent["call_id"], v["call_id"]);
    assert_eq!(agent["parent_leg_id"], v["leg_id"]);

    // Ordinary: the menu.
    let n = cdr_from(&r, "13501234567");
    assert_eq!(n["class"], "normal");
    assert_eq!(n["route"], "route[1] app demo (en)");
    assert!(n["answer"].is_string());

    // The stream: numbered 1, 2, 3, … with no hole, each call's story in order.
    let seqs: Vec<u64> = r.events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let vip_call = v["call_id"].as_str().unwrap();
    let story: Vec<&str> =
        r.events.iter().filter(|e| e["leg_id"] == vip_call).map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(story.first(), Some(&"call.offered"));
    assert_eq!(story.last(), Some(&"call.ended"));
    let pos = |t: &str| story.iter().position(|s| *s == t).unwrap_or_else(|| panic!("{t} missing: {story:?}"));
    assert!(pos("call.routed") < pos("call.answered") && pos("call.answered") <= pos("call.bridged"), "{story:?}");
    // call.ended carries the record, with the seq it was published under.
    let ended = r.events.iter().find(|e| e["type"] == "call.ended" && e["leg_id"] == vip_call).unwrap();
    assert_eq!(ended["data"]["cdr"]["seq"], ended["seq"]);
    assert_eq!(ended["cause"]["name"], "NORMAL_CLEARING");
}

#[test]
fn crm_down_or_silent_means_the_ordinary_route_and_records_still_written() {
    for crm in [Crm::Down, Crm::Silent] {
        let r = run(&[(500, "13912345678"), (700, "13700001111")], crm, 8);
        for number in ["13912345678", "13700001111"] {
            let c = cdr_from(&r, number);
            assert_eq!(c["route"], "route[1] app demo (en)", "{c:#}");
            assert_eq!(c["lookup"], if crm == Crm::Down { "unavailable" } else { "timeout" });
            assert!(c["answer"].is_string(), "answered by the menu: {c:#}");
        }
        // Silent CRM: the call waited the lookup budget (200 ms), no more.
        let routed = of_type(&r.events, "call.routed");
        let offered = of_type(&r.events, "call.offered");
        let t = |e: &Value| DateTime::parse_from_rfc3339(e["ts"].as_str().unwrap()).unwrap();
        let waited = t(routed[0]) - t(offered[0]);
        let ms = waited.num_milliseconds();
        if crm == Crm::Silent {
            assert!((200..=260).contains(&ms), "waited {ms} ms");
        } else {
            assert!(ms <= 20, "nobody to ask, no wait: {ms} ms");
        }
    }
}

#[test]
fn resume_gets_what_was_missed_once_and_a_gap_beyond_the_window() {
    let (hub, _ends) = Hub::in_memory("gw", 50, Duration::from_secs(15));
    let ev = |n: u64| {
        let v = serde_json::json!({ "type": "custom.tick", "device": "x", "n": n });
        Output::Event(v.as_object().unwrap().clone())
    };
    hub.publish((1..=10).map(ev).collect());
    // A client saw up to 4, then was away for 6 events.
    let r = hub.resume(Some(4));
    assert_eq!(r.gap, None);
    assert_eq!(r.events.iter().map(|e| e.seq).collect::<Vec<_>>(), (5..=10).collect::<Vec<_>>());
    let mut live = r.live;
    hub.publish((11..=12).map(ev).collect());
    assert_eq!(live.try_recv().unwrap().seq, 11);
    // Far behind: the window holds 50, so 100 more leave a gap.
    hub.publish((13..=112).map(ev).collect());
    let r = hub.resume(Some(4));
    assert_eq!(r.gap, Some(trunkd::cti::journal::Gap { from: 5, to: 62 }));
    assert_eq!(r.events.first().map(|e| e.seq), Some(63));
    assert_eq!(r.events.len(), 50);
}

#[test]
fn legs_a_dead_daemon_left_up_get_their_records_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = wall(Instant::ZERO);
    {
        let (hub, _e) = Hub::open("gw", dir.path(), 100, Duration::from_secs(15), t0).unwrap();
        let mut tr = Translator::new("gw", "deadbeef", vec![]);
        let mut out = Vec::new();
        let ev = trunkd::core::event::CoreEvent {
            at: Instant::from_millis(100),
            call: Some(7),
            device: "pri-1/3".into(),
            kind: trunkd::core::event::EventKind::Offered {
                direction: trunkd::core::event::Direction::Inbound,
                called: "8002".into(),
                caller: trunkd::signalling::Party::number("013501234567"),
                parent: None,
            },
        };
        tr.translate(&ev, wall(ev.at), &mut out);
        hub.publish(out);
        // …and the daemon dies here (no drop glue matters: the line is in the file).
    }
    let later = t0 + chrono::TimeDelta::seconds(30);
    let (hub, _e) = Hub::open("gw", dir.path(), 100, Duration::from_secs(15), later).unwrap();
    let cdrs = hub.cdr_query(0, 10).unwrap();
    assert_eq!(cdrs.len(), 1, "{cdrs:#?}");
    let c = &cdrs[0];
    assert_eq!(c["leg_id"], "deadbeef-7");
    assert_eq!(c["cause"]["q850"], 41);
    assert_eq!(c["end_reason"], "gateway restart");
    assert_eq!(c["from"]["number"], "013501234567");
    assert_eq!(c["duration_ms"], 29_900);
    // Numbered after what the journal held, and published as call.ended.
    let r = hub.resume(Some(0));
    let last = r.events.last().unwrap();
    assert!(last.json.contains("\"type\":\"call.ended\""));
    assert_eq!(c["seq"].as_u64(), Some(last.seq));
    // A third start finds nothing left open.
    drop(hub);
    let (hub, _e) = Hub::open("gw", dir.path(), 100, Duration::from_secs(15), later).unwrap();
    assert_eq!(hub.cdr_query(0, 10).unwrap().len(), 1);
}

/// Runs one client command the way the daemon loop does.
fn command(cti: &mut trunkd::cti::control::Cti, gw: &mut Gateway, v: Value) -> Result<Value, String> {
    let msg: trunkd::cti::proto::ClientMsg = serde_json::from_value(v).expect("a valid command");
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    cti.handle(&mut gw.engine, trunkd::cti::proto::Command { msg, reply: tx });
    rx.try_recv().expect("answered at once")
}

#[test]
fn call_control_from_the_cti() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[general]\ndata_dir = {:?}\n[[line]]\nname = \"phones\"\nbackend = \"sim\"\nkind = \"fxs\"\nports = 3\n[[route]]\napp = \"demo\"\n[sim]\nanswer_after_ms = 500\n",
        dir.path()
    );
    let cfg = Config::parse(&text, "").unwrap_or_else(|e| panic!("{e}"));
    trunkd::demo::install_prompts(&cfg.general.prompts_dir()).unwrap();
    let mut gw = Gateway::build(&cfg).unwrap();
    let (hub, _ends) = Hub::in_memory("gw", 10_000, Duration::from_secs(15));
    let mut live = hub.resume(None).live;
    let mut cti = trunkd::cti::control::Cti::new(Translator::new("gw", "r", vec!["phones".into()]), hub).unwrap();
    let mut now = Instant::ZERO;
    let mut far = Vec::new();
    let mut run = |gw: &mut Gateway, cti: &mut trunkd::cti::control::Cti, ms: u64| {
        for _ in 0..ms / 20 {
            now += Duration::from_millis(20);
            gw.step(now);
            let evs: Vec<_> = gw.engine.drain_events().collect();
            cti.process(&evs, wall);
            far.extend(gw.far.as_mut().unwrap().drain_events());
        }
    };

    // Third-party call: ring phone 0; once it answers, the CTI drives it.
    let r = command(&mut cti, &mut gw, json!({ "op": "originate", "req": "1", "group": "phones", "number": "100" }))
        .unwrap();
    let call = r["call_id"].as_str().unwrap().to_string();
    run(&mut gw, &mut cti, 1500);
    command(&mut cti, &mut gw, json!({ "op": "play", "call_id": call, "tone": "ringback" })).unwrap();
    let rec = command(&mut cti, &mut gw, json!({ "op": "record.start", "call_id": call })).unwrap();
    assert_eq!(rec["path"], format!("cti/{call}.wav"));
    run(&mut gw, &mut cti, 400);
    command(&mut cti, &mut gw, json!({ "op": "dtmf.send", "call_id": call, "digits": "42" })).unwrap();
    let e = command(&mut cti, &mut gw, json!({ "op": "dtmf.send", "call_id": call, "digits": "4x" })).unwrap_err();
    assert!(e.contains("DTMF"), "{e}");
    run(&mut gw, &mut cti, 2000);
    command(&mut cti, &mut gw, json!({ "op": "record.stop", "call_id": call })).unwrap();
    // A call an application runs takes no operations from outside.
    let r = command(
        &mut cti,
        &mut gw,
        json!({ "op": "originate", "group": "phones", "number": "101",
        "bridge": { "group": "phones", "number": "102" } }),
    )
    .unwrap();
    let other = r["call_id"].as_str().unwrap().to_string();
    let e = command(&mut cti, &mut gw, json!({ "op": "play", "call_id": other, "tone": "busy" })).unwrap_err();
    assert!(e.contains("run by bridge"), "{e}");
    command(&mut cti, &mut gw, json!({ "op": "hangup", "call_id": other, "cause": "USER_BUSY" })).unwrap();
    // Blind transfer of the first call to the third phone, then hang up.
    command(&mut cti, &mut gw, json!({ "op": "transfer", "call_id": call, "group": "phones", "number": "103" }))
        .unwrap();
    run(&mut gw, &mut cti, 2000);
    command(&mut cti, &mut gw, json!({ "op": "hangup", "call_id": call })).unwrap();
    let e = command(&mut cti, &mut gw, json!({ "op": "answer", "call_id": "r-999" })).unwrap_err();
    assert!(e.contains("no call"), "{e}");
    run(&mut gw, &mut cti, 1000);
    cti.finish();
    gw.engine.finish();

    let mut evs = Vec::new();
    while let Ok(r) = live.try_recv() {
        evs.push(serde_json::from_str::<Value>(&r.json).unwrap());
    }
    let of_call = |t: &str| evs.iter().filter(|e| e["type"] == t && e["call_id"] == call.as_str()).count();
    assert_eq!(of_call("call.transferred"), 1, "{evs:#?}");
    // The transfer's new leg belongs to the same call and rang an agent phone.
    assert_eq!(of_call("agent.offered"), 1);
    assert_eq!(of_call("call.ended"), 2, "the phone that was called first, and the transfer's leg");
    // The far end (the phone) heard the digits in band.
    let digits: String = far
        .iter()
        .filter_map(|e| match e.kind {
            trunkd::core::event::EventKind::Digit(d) if e.device == "phones/0" => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "42");
    // The recording exists and holds about two and a half seconds.
    let fin = evs.iter().find(|e| e["type"] == "recording.finished").expect("recording finished");
    let path = std::path::PathBuf::from(fin["data"]["path"].as_str().unwrap());
    assert!(path.exists());
    let ms = fin["data"]["duration_ms"].as_u64().unwrap();
    assert!((2000..=3000).contains(&ms), "{ms} ms");
    let other_end = evs.iter().find(|e| e["type"] == "call.ended" && e["call_id"] == other.as_str()).unwrap();
    assert_eq!(other_end["cause"]["name"], "USER_BUSY");
}
