//! What the daemon loop, the record writer and the WebSocket connections share: the
//! journal and the call records, the live fan-out, pending lookups and the command queue.

use super::cdr::{CdrError, CdrStore};
use super::journal::{Journal, Record};
use super::proto::Command;
use super::translate::{Output, Translator};
use crate::core::router::CallerInfo;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Lookups asked so far, and lookup_id → (call, the number it was asked as).
type Pending = (u64, HashMap<String, (u64, u64)>);

/// Lookups remembered at most (far more than calls can wait at once within a timeout).
const MAX_PENDING: usize = 4096;

pub struct Resume {
    pub last: u64,
    pub oldest: u64,
    pub gap: Option<super::journal::Gap>,
    pub events: Vec<Arc<Record>>,
    pub live: broadcast::Receiver<Arc<Record>>,
}

pub struct Hub {
    pub gateway: String,
    pub heartbeat: Duration,
    /// Held briefly (push, resume): the async side takes it too, on the daemon's thread.
    journal: Mutex<Journal>,
    /// Held across the fsync, by the writer thread and `cdr.query` (on a blocking thread).
    cdr: Mutex<Option<CdrStore>>,
    live: broadcast::Sender<Arc<Record>>,
    lookups: broadcast::Sender<Arc<str>>,
    lookup_clients: AtomicUsize,
    /// lookup_id → (the core's call waiting for it, when it was asked): bounded, since a
    /// lookup nobody answers is never removed by an answer.
    pending: Mutex<Pending>,
    answers: Mutex<std::sync::mpsc::Sender<(u64, CallerInfo)>>,
    commands: mpsc::Sender<Command>,
}

/// The receiving ends the daemon keeps: lookup answers (the engine's `CallerLookup`) and
/// commands (the loop).
pub struct HubEnds {
    pub answers: std::sync::mpsc::Receiver<(u64, CallerInfo)>,
    pub commands: mpsc::Receiver<Command>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves consistent data (every update is a
    // single push); keep serving rather than poison the daemon.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// A hub whose journal and call records live under `data_dir` (`cti/events.jsonl`,
    /// `cdr/cdr.jsonl`); legs a dead daemon left open get their records now, at `now`.
    pub fn open(
        gateway: &str,
        data_dir: &Path,
        retain: usize,
        heartbeat: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Arc<Hub>, HubEnds), CdrError> {
        let jpath = data_dir.join("cti").join("events.jsonl");
        let journal = Journal::open(&jpath, retain).map_err(|source| CdrError::Io { path: jpath, source })?;
        let (cdr, orphans) = CdrStore::open(&data_dir.join("cdr"))?;
        let (hub, ends) = Hub::with(gateway, journal, Some(cdr), heartbeat);
        let outputs: Vec<Output> = orphans
            .iter()
            .map(|o| {
                let (event, cdr) = Translator::orphan_cdr(o, now);
                Output::Ended { event, cdr }
            })
            .collect();
        if !outputs.is_empty() {
            tracing::warn!(legs = outputs.len(), "calls were up when the daemon stopped: writing their records");
            hub.publish(outputs);
        }
        Ok((hub, ends))
    }

    /// A hub with an in-memory journal and no call records (tests, benchmarks).
    pub fn in_memory(gateway: &str, retain: usize, heartbeat: Duration) -> (Arc<Hub>, HubEnds) {
        Hub::with(gateway, Journal::in_memory(retain), None, heartbeat)
    }

    fn with(gateway: &str, journal: Journal, cdr: Option<CdrStore>, heartbeat: Duration) -> (Arc<Hub>, HubEnds) {
        let (live, _) = broadcast::channel(4096);
        let (lookups, _) = broadcast::channel(256);
        let (atx, arx) = std::sync::mpsc::channel();
        let (ctx, crx) = mpsc::channel(256);
        let hub = Hub {
            gateway: gateway.into(),
            heartbeat,
            journal: Mutex::new(journal),
            cdr: Mutex::new(cdr),
            live,
            lookups,
            lookup_clients: AtomicUsize::new(0),
            pending: Mutex::new((0, HashMap::new())),
            answers: Mutex::new(atx),
            commands: ctx,
        };
        (Arc::new(hub), HubEnds { answers: arx, commands: crx })
    }

    /// Stores and fans out what the translator produced: a leg's record is on disk
    /// (fsync'd) before its `call.ended` is numbered and sent.
    ///
    /// Called from one thread at a time (the record writer; tests): the seq a record gets
    /// before its fsync is the one its event is pushed under after it.
    pub fn publish(&self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Event(ev) => {
                    let rec = lock(&self.journal).push(ev);
                    let _ = self.live.send(rec);
                }
                Output::Opened(m) => {
                    if let Some(c) = lock(&self.cdr).as_mut() {
                        if let Err(e) = c.note_open(&m) {
                            tracing::error!("{e}");
                        }
                    }
                }
                Output::Ended { mut event, mut cdr } => {
                    let seq = lock(&self.journal).last_seq() + 1;
                    cdr.insert("seq".into(), Value::from(seq));
                    if let Some(c) = lock(&self.cdr).as_mut() {
                        if let Err(e) = c.write(&cdr) {
                            tracing::error!("call record NOT written: {e}");
                        }
                    }
                    let mut data = match event.remove("data") {
                        Some(Value::Object(d)) => d,
                        _ => Map::new(),
                    };
                    data.insert("cdr".into(), Value::Object(cdr));
                    event.insert("data".into(), Value::Object(data));
                    let rec = lock(&self.journal).push(event);
                    let _ = self.live.send(rec);
                }
            }
        }
        lock(&self.journal).flush();
    }

    /// `(last_seq, oldest_seq)`.
    pub fn seqs(&self) -> (u64, u64) {
        let j = lock(&self.journal);
        (j.last_seq(), j.oldest_seq())
    }

    /// A resume, all under one lock so nothing falls between: the last seq, the gap (if
    /// any), the held events after `after` (none without it), and a live receiver.
    pub fn resume(&self, after: Option<u64>) -> Resume {
        let j = lock(&self.journal);
        let live = self.live.subscribe();
        let (last, oldest) = (j.last_seq(), j.oldest_seq());
        let (gap, events) = match after {
            Some(a) => j.since(a),
            None => (None, Vec::new()),
        };
        Resume { last, oldest, gap, events, live }
    }

    /// Events after `after` from the journal (a lagging subscriber catching up).
    pub fn replay(&self, after: u64) -> (Option<super::journal::Gap>, Vec<Arc<Record>>) {
        lock(&self.journal).since(after)
    }

    /// Reads the records file (call it off the async threads: it can be large).
    pub fn cdr_query(&self, since: u64, limit: usize) -> Result<Vec<Value>, String> {
        let path = lock(&self.cdr).as_ref().map(|c| c.path().to_path_buf());
        match path {
            Some(p) => super::cdr::query(&p, since, limit).map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        }
    }

    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    // --- lookups ---

    /// A client that answers lookups joined: it receives them from now on.
    pub fn join_lookups(&self) -> broadcast::Receiver<Arc<str>> {
        self.lookup_clients.fetch_add(1, Ordering::SeqCst);
        self.lookups.subscribe()
    }

    pub fn leave_lookups(&self) {
        self.lookup_clients.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn lookup_clients(&self) -> usize {
        self.lookup_clients.load(Ordering::SeqCst)
    }

    /// Sends a lookup to the answering clients; false when there are none.
    pub fn ask(&self, lookup_id: String, call: u64, msg: String) -> bool {
        if self.lookup_clients() == 0 {
            return false;
        }
        {
            let mut p = lock(&self.pending);
            p.0 += 1;
            let n = p.0;
            p.1.insert(lookup_id, (call, n));
            if p.1.len() > MAX_PENDING {
                p.1.retain(|_, (_, asked)| *asked + (MAX_PENDING as u64 / 2) > n);
            }
        }
        self.lookups.send(msg.into()).is_ok()
    }

    /// A client's answer: the first one for a lookup wins, later and unknown ones are dropped.
    pub fn answer(&self, lookup_id: &str, info: CallerInfo) -> bool {
        let Some((call, _)) = lock(&self.pending).1.remove(lookup_id) else { return false };
        lock(&self.answers).send((call, info)).is_ok()
    }
}
