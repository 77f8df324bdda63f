//! The call core's caller lookup over the CTI stream: a `lookup` message to the clients
//! that answer lookups (the CRM), their `lookup.result` back.

use super::hub::Hub;
use super::translate::leg_id;
use crate::core::router::{CallerInfo, CallerLookup, RouteQuery};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub struct CtiLookup {
    hub: Arc<Hub>,
    answers: std::sync::mpsc::Receiver<(u64, CallerInfo)>,
    run_id: String,
    budget: Duration,
}

impl CtiLookup {
    pub fn new(
        hub: Arc<Hub>,
        answers: std::sync::mpsc::Receiver<(u64, CallerInfo)>,
        run_id: &str,
        budget: Duration,
    ) -> Self {
        CtiLookup { hub, answers, run_id: run_id.into(), budget }
    }
}

impl CallerLookup for CtiLookup {
    fn ask(&mut self, q: &RouteQuery) -> bool {
        let lookup_id = uuid::Uuid::new_v4().to_string();
        let id = leg_id(&self.run_id, q.call_id);
        let msg = json!({
            "v": 1, "type": "lookup", "lookup_id": lookup_id, "call_id": id, "leg_id": id,
            "device": q.device,
            "from": { "number": q.caller, "name": q.caller_name, "presentation": q.caller_presentation },
            "to": { "number": q.called },
            "timeout_ms": self.budget.as_millis() as u64,
        });
        self.hub.ask(lookup_id, q.call_id, msg.to_string())
    }

    fn poll(&mut self) -> Option<(u64, CallerInfo)> {
        self.answers.try_recv().ok()
    }

    fn budget(&self) -> Duration {
        self.budget
    }
}
