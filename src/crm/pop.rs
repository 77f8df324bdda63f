//! Screen pop: `agent.offered` → the agent's card, stored then pushed to every open desktop
//! of the user whose contact device rings. Acknowledged by the browser; unacknowledged
//! pops are re-sent on reconnect (see `web::ws`).

use super::db::{self, CallRow, DbError};
use super::numbers::mask;
use super::{lookup, now_ms, Shared};
use serde_json::{json, Value};

/// How far back a reconnecting desktop gets unacknowledged pops.
pub const RESEND_WINDOW_MS: i64 = 12 * 3600 * 1000;

/// One recent call as the card lists it.
pub fn recent_json(c: &CallRow) -> Value {
    json!({
        "call_id": c.call_id, "leg_id": c.leg_id, "start_ms": c.start_ms, "direction": c.direction,
        "talk_ms": c.talk_ms, "cause": c.cause_name, "agent": c.agent_login,
        "recording_url": c.recording.as_ref().map(|_| format!("/recordings/{}", c.leg_id)),
    })
}

/// The customer card shown by the desktop.
pub fn card_json(c: &db::Customer) -> Value {
    json!({
        "id": c.id, "name": c.name, "level": c.level.as_str(), "owner": c.owner_login,
        "owner_name": c.owner_name, "notes": c.notes,
        "phones": c.phones.iter().map(|p| p.number.clone()).collect::<Vec<_>>(),
    })
}

/// Builds, stores and pushes the pop for an `agent.offered` event.
pub async fn on_agent_offered(shared: &Shared, gateway: &str, v: &Value) -> Result<(), DbError> {
    let (Some(call_id), Some(leg_id)) =
        (v.get("call_id").and_then(Value::as_str), v.get("leg_id").and_then(Value::as_str))
    else {
        return Ok(());
    };
    let Some(device) = v.pointer("/data/agent_device").and_then(Value::as_str) else { return Ok(()) };
    let Some(user) = db::user_by_contact(&shared.pool, device).await? else {
        tracing::info!(device, "crm: agent.offered for a device no user has as contact");
        return Ok(());
    };
    let caller_number = v
        .pointer("/data/caller/number")
        .or_else(|| v.pointer("/from/number"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let caller_name = v
        .pointer("/data/caller/name")
        .or_else(|| v.pointer("/from/name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let now = now_ms();
    let ans = lookup::lookup(&shared.pool, &caller_number, now).await?;
    // The gateway's word on the customer (from its lookup) first, else ours.
    let cust_id = v
        .pointer("/data/customer/id")
        .and_then(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.trim_start_matches("c-").parse().ok())))
        .or(ans.customer.as_ref().map(|c| c.id));
    let customer = match cust_id {
        Some(id) => db::customer(&shared.pool, id).await?,
        None => None,
    };
    let recent =
        db::recent_calls(&shared.pool, ans.normalized.as_deref(), customer.as_ref().map(|c| c.id), call_id, 5).await?;
    let ts = v.get("ts").and_then(Value::as_str).and_then(super::gateway::parse_ts);
    let payload = json!({
        "type": "pop", "gateway": gateway, "call_id": call_id, "leg_id": leg_id, "device": device,
        "offered_ts_ms": ts,
        "caller": {"number": caller_number, "name": caller_name,
                   "normalized": ans.normalized, "class": ans.classification.class.as_str(),
                   "reason": ans.classification.reason},
        "customer": customer.as_ref().map(card_json),
        "recent_calls": recent.iter().map(recent_json).collect::<Vec<_>>(),
        "state": "ringing",
    });
    let payload_s = payload.to_string();
    let id = db::insert_pop(&shared.pool, user.id, gateway, call_id, leg_id, &payload_s, ts, now).await?;
    let sent = shared.hub.send_to_user(user.id, &with_pop_id(&payload_s, id));
    if sent > 0 {
        db::mark_pop_delivered(&shared.pool, id, now_ms()).await?;
    }
    tracing::info!(pop = id, user = %user.login, caller = %mask(&caller_number), desktops = sent, "crm: screen pop");
    Ok(())
}

/// The stored payload with its `pop_id` (the id exists only after the insert).
pub fn with_pop_id(payload: &str, id: i64) -> String {
    match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(mut m)) => {
            m.insert("pop_id".into(), json!(id));
            Value::Object(m).to_string()
        }
        _ => json!({"type": "pop", "pop_id": id}).to_string(),
    }
}

/// Pushes `call_state` to the cards showing this leg.
pub async fn on_call_state(shared: &Shared, v: &Value) -> Result<(), DbError> {
    let Some(leg_id) = v.get("leg_id").and_then(Value::as_str) else { return Ok(()) };
    let pops = db::pops_for_leg(&shared.pool, leg_id).await?;
    if pops.is_empty() {
        return Ok(());
    }
    let state = match v.get("type").and_then(Value::as_str) {
        Some("call.answered") => "answered",
        Some("call.failed") => "failed",
        _ => "ended",
    };
    for p in pops {
        let msg = json!({
            "type": "call_state", "pop_id": p.id, "call_id": p.call_id, "leg_id": p.leg_id, "state": state,
            "ts": v.get("ts"), "cause": v.get("cause"),
        });
        shared.hub.send_to_user(p.user_id, &msg.to_string());
    }
    Ok(())
}
