//! The daemon's side of CTI: translates each tick's events, hands them to the record
//! writer thread (fsync never stalls the media tick), and runs clients' call control on
//! the engine.

use super::hub::Hub;
use super::proto::{ClientMsg, Command};
use super::translate::{Output, Translator};
use crate::core::app::{AppCmd, DialTarget, PlayItem};
use crate::core::event::CoreEvent;
use crate::core::Engine;
use crate::signalling::{Cause, Party};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub struct Cti {
    pub translator: Translator,
    pub hub: Arc<Hub>,
    writer: Option<(std::sync::mpsc::Sender<Vec<Output>>, std::thread::JoinHandle<()>)>,
    scratch: Vec<Output>,
}

impl Cti {
    pub fn new(translator: Translator, hub: Arc<Hub>) -> std::io::Result<Cti> {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<Output>>();
        let h = hub.clone();
        let join = std::thread::Builder::new().name("trunkd-cdr".into()).spawn(move || {
            while let Ok(batch) = rx.recv() {
                h.publish(batch);
            }
        })?;
        Ok(Cti { translator, hub, writer: Some((tx, join)), scratch: Vec::new() })
    }

    /// Translates events that happened at engine time `ev.at`; `wall(at)` maps it to UTC.
    pub fn process(&mut self, events: &[CoreEvent], wall: impl Fn(crate::time::Instant) -> DateTime<Utc>) {
        for ev in events {
            self.translator.translate(ev, wall(ev.at), &mut self.scratch);
        }
        if self.scratch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.scratch);
        match &self.writer {
            Some((tx, _)) => {
                if let Err(e) = tx.send(batch) {
                    // The writer is gone (it cannot panic on data, but be safe): write here.
                    self.hub.publish(e.0);
                }
            }
            None => self.hub.publish(batch),
        }
    }

    /// Waits until every record handed over is on disk (shutdown).
    pub fn finish(&mut self) {
        if let Some((tx, join)) = self.writer.take() {
            drop(tx);
            let _ = join.join();
        }
    }

    /// Runs one client command on the engine.
    pub fn handle(&mut self, engine: &mut Engine, cmd: Command) {
        let r = self.run(engine, cmd.msg);
        let _ = cmd.reply.send(r);
    }

    fn call(&self, id: &str) -> Result<u64, String> {
        self.translator.resolve(id).ok_or_else(|| format!("no call `{id}` on this gateway"))
    }

    fn run(&mut self, engine: &mut Engine, msg: ClientMsg) -> Result<Value, String> {
        match msg {
            ClientMsg::Originate { group, number, caller, bridge, .. } => {
                let caller = caller.map(|c| Party::number(&c)).unwrap_or_default();
                let app: Box<dyn crate::core::app::Application> = match bridge {
                    Some(t) => Box::new(crate::core::apps::BridgeApp::new(DialTarget {
                        group: t.group,
                        number: t.number,
                        timeout: Duration::from_secs(60),
                    })),
                    None => Box::new(crate::core::apps::CtiApp),
                };
                let id = engine.originate(&group, &number, caller, Some(app)).map_err(|e| e.to_string())?;
                let (call_id, leg_id) = self.ids_of(id);
                Ok(json!({ "call_id": call_id, "leg_id": leg_id }))
            }
            ClientMsg::Answer { call_id, .. } => {
                let id = self.call(&call_id)?;
                engine.control(id, AppCmd::Answer).map(|_| Value::Null)
            }
            ClientMsg::Hangup { call_id, cause, .. } => {
                let id = self.call(&call_id)?;
                let cause = match cause {
                    None => Cause::NormalClearing,
                    Some(c) => Cause::from_name(&c).ok_or_else(|| format!("`{c}` is not a Q.850 cause"))?,
                };
                engine.hangup(id, cause);
                Ok(Value::Null)
            }
            ClientMsg::Transfer { call_id, group, number, .. } => {
                let id = self.call(&call_id)?;
                engine.transfer(id, DialTarget { group, number, timeout: Duration::from_secs(60) }).map(|_| Value::Null)
            }
            ClientMsg::Play { call_id, prompt, tone, .. } => {
                let id = self.call(&call_id)?;
                let item = match (prompt, tone) {
                    (Some(p), None) => {
                        PlayItem::File(relative(&p).ok_or("`prompt` is a path under the prompts directory")?)
                    }
                    (None, Some(t)) => {
                        let kind = crate::dsp::tone::ToneKind::from_name(&t).ok_or_else(|| format!("no tone `{t}`"))?;
                        PlayItem::Tone(kind, Duration::from_secs(10))
                    }
                    _ => return Err("give one of `prompt` or `tone`".into()),
                };
                engine.control(id, AppCmd::Play { items: vec![item], interrupt: String::new() }).map(|_| Value::Null)
            }
            ClientMsg::RecordStart { call_id, path, .. } => {
                let id = self.call(&call_id)?;
                let (cid, _) = self.ids_of(id);
                let path = match path {
                    Some(p) => relative(&p).ok_or("`path` is relative to the recordings directory")?,
                    None => format!("cti/{cid}.wav").into(),
                };
                let mode = crate::core::media::recorder::RecordMode::Mono;
                engine.control(id, AppCmd::RecordCall { path: path.clone(), mode })?;
                Ok(json!({ "path": path }))
            }
            ClientMsg::RecordStop { call_id, .. } => {
                let id = self.call(&call_id)?;
                engine.control(id, AppCmd::StopRecordCall).map(|_| Value::Null)
            }
            ClientMsg::DtmfSend { call_id, digits, .. } => {
                let id = self.call(&call_id)?;
                engine.send_dtmf(id, &digits).map(|_| Value::Null)
            }
            ClientMsg::Status { .. } => Ok(json!({
                "calls": engine.calls_status(),
                "spans": engine.spans_status(),
            })),
            ClientMsg::Subscribe { .. } | ClientMsg::LookupResult { .. } | ClientMsg::CdrQuery { .. } => {
                Err("handled by the connection".into())
            }
        }
    }

    /// Stream ids for a call the engine just created (its `call.initiated` is not
    /// translated yet, so they are computed, as the translator will).
    fn ids_of(&self, id: u64) -> (String, String) {
        self.translator.ids(id).unwrap_or_else(|| {
            let l = super::translate::leg_id(self.translator.run_id(), id);
            (l.clone(), l)
        })
    }
}

/// A client's path, kept inside the directory it is relative to (no `/…`, no `..`).
fn relative(p: &str) -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(p);
    let inside = !p.is_absolute() && !p.components().any(|c| matches!(c, std::path::Component::ParentDir));
    inside.then_some(p)
}
