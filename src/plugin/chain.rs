//! The plugin chain as the call core's `RouteAdvisor`: queries go to a thread that asks
//! each plugin's host in order within the call's budget; answers come back by call id.
//!
//! Failure policy, per plugin: an error answer or garbage → next plugin; no answer in the
//! remaining budget → the host is killed (it hangs or is too slow) and the call falls
//! through; a dead host (crash) → next plugin. A failed plugin is restarted on its next
//! use, after a back-off that doubles with each failure in a row (up to a minute) and
//! resets on a good answer. Everything is logged and counted (`status()`).

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallInstant};

use serde::Serialize;
use tracing::{info, warn};

use super::{wall_clock, HostError, HostProc, PluginConfig};
use crate::core::router::{Advice, RouteAdvisor, RouteQuery};

/// Counters and state of one plugin, for `trunkd ctl plugins`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PluginStatus {
    pub name: String,
    pub version: String,
    pub state: String,
    pub decisions: u64,
    pub no_opinion: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub crashes: u64,
    pub starts: u64,
    pub last_error: Option<String>,
}

enum Job {
    Route(RouteQuery, WallInstant),
    Event { call_id: u64, kind: String, cause: u8, talk_ms: u64 },
}

struct Member {
    cfg: PluginConfig,
    host: Option<HostProc>,
    failures: u32,
    retry_at: Option<WallInstant>,
}

/// How long a plugin host may take to start and load its library.
const LOAD_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub struct PluginChain {
    jobs: mpsc::Sender<Job>,
    answers: mpsc::Receiver<(u64, Advice)>,
    budget: Duration,
    status: Arc<Mutex<Vec<PluginStatus>>>,
}

impl PluginChain {
    /// Starts the chain's thread; hosts start lazily on first use (or now, with `warm`).
    /// `exe` is the trunkd binary (it has the `plugin-host` command).
    pub fn start(exe: PathBuf, plugins: Vec<PluginConfig>, budget: Duration, warm: bool) -> PluginChain {
        let (jobs, rx) = mpsc::channel();
        let (tx, answers) = mpsc::channel();
        let status = Arc::new(Mutex::new(
            plugins
                .iter()
                .map(|p| PluginStatus { name: p.name.clone(), state: "not started".into(), ..Default::default() })
                .collect(),
        ));
        let members: Vec<Member> =
            plugins.into_iter().map(|cfg| Member { cfg, host: None, failures: 0, retry_at: None }).collect();
        let st = status.clone();
        let spawned = std::thread::Builder::new().name("plugin-chain".into()).spawn(move || {
            let mut w = Worker { exe, members, status: st };
            if warm {
                for i in 0..w.members.len() {
                    w.ensure(i);
                }
            }
            w.run(rx, tx);
        });
        if let Err(e) = spawned {
            warn!("cannot start the plugin chain thread: {e}; static routes only");
        }
        PluginChain { jobs, answers, budget, status }
    }

    pub fn status(&self) -> Vec<PluginStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl RouteAdvisor for PluginChain {
    #[allow(clippy::disallowed_methods)] // the budget runs on the wall clock of the plugin thread
    fn ask(&mut self, query: RouteQuery) {
        let id = query.call_id;
        if self.jobs.send(Job::Route(query, WallInstant::now() + self.budget)).is_err() {
            warn!(call = id, "plugin chain is gone; static routes decide");
        }
    }

    fn poll(&mut self) -> Option<(u64, Advice)> {
        self.answers.try_recv().ok()
    }

    fn budget(&self) -> Duration {
        self.budget
    }

    fn notify(&mut self, call_id: u64, kind: &str, cause: u8, talk_ms: u64) {
        let _ = self.jobs.send(Job::Event { call_id, kind: kind.to_string(), cause, talk_ms });
    }

    fn status(&self) -> serde_json::Value {
        serde_json::to_value(self.status()).unwrap_or_default()
    }
}

struct Worker {
    exe: PathBuf,
    members: Vec<Member>,
    status: Arc<Mutex<Vec<PluginStatus>>>,
}

impl Worker {
    fn update(&self, i: usize, f: impl FnOnce(&mut PluginStatus)) {
        if let Ok(mut s) = self.status.lock() {
            if let Some(x) = s.get_mut(i) {
                f(x);
            }
        }
    }

    /// Starts member `i`'s host if it is down and its back-off has passed.
    #[allow(clippy::disallowed_methods)] // supervisor thread: wall clock for back-off
    fn ensure(&mut self, i: usize) -> bool {
        let m = &mut self.members[i];
        if m.host.is_some() {
            return true;
        }
        if m.retry_at.is_some_and(|t| WallInstant::now() < t) {
            return false;
        }
        match HostProc::spawn(&self.exe, &m.cfg, LOAD_TIMEOUT) {
            Ok(h) => {
                info!(plugin = %m.cfg.name, name = %h.identity.name, version = %h.identity.version, "routing plugin loaded");
                let id = h.identity.clone();
                m.host = Some(h);
                self.update(i, |s| {
                    s.version = id.version;
                    s.state = "up".into();
                    s.starts += 1;
                });
                true
            }
            Err(e) => {
                warn!(plugin = %m.cfg.name, "routing plugin cannot start: {e}");
                self.failed(i, &e);
                false
            }
        }
    }

    #[allow(clippy::disallowed_methods)] // supervisor thread: wall clock for back-off
    fn failed(&mut self, i: usize, e: &HostError) {
        let m = &mut self.members[i];
        if let Some(mut h) = m.host.take() {
            h.kill();
        }
        m.failures += 1;
        // The first failure restarts at once; then 1 s, 2 s, 4 s … up to a minute.
        let backoff = if m.failures <= 1 {
            Duration::ZERO
        } else {
            Duration::from_secs(1 << (m.failures - 2).min(6)).min(MAX_BACKOFF)
        };
        m.retry_at = Some(WallInstant::now() + backoff);
        let msg = e.to_string();
        self.update(i, |s| {
            match e {
                HostError::Timeout(_) => s.timeouts += 1,
                HostError::Died(_) => s.crashes += 1,
                _ => s.errors += 1,
            }
            s.state = if backoff.is_zero() { "restarting".into() } else { format!("back-off {}s", backoff.as_secs()) };
            s.last_error = Some(msg);
        });
    }

    #[allow(clippy::disallowed_methods)] // supervisor thread: wall clock budget
    fn route(&mut self, q: &RouteQuery, deadline: WallInstant) -> Advice {
        let (unix_ms, offset) = wall_clock();
        for i in 0..self.members.len() {
            let left = deadline.saturating_duration_since(WallInstant::now());
            if left.is_zero() {
                break;
            }
            if !self.ensure(i) {
                continue;
            }
            let Some(h) = self.members[i].host.as_mut() else { continue };
            match h.route(q, unix_ms, offset, left) {
                Ok(Advice::NoOpinion) => {
                    self.members[i].failures = 0;
                    self.update(i, |s| s.no_opinion += 1);
                }
                Ok(advice) => {
                    self.members[i].failures = 0;
                    self.update(i, |s| s.decisions += 1);
                    return advice;
                }
                Err(HostError::Failed(e)) => {
                    // The plugin answered, with an error or garbage: it stays up.
                    warn!(plugin = %self.members[i].cfg.name, call = q.call_id, "routing plugin failed: {e}");
                    self.update(i, |s| {
                        s.errors += 1;
                        s.last_error = Some(e);
                    });
                }
                Err(e) => {
                    warn!(plugin = %self.members[i].cfg.name, call = q.call_id, "routing plugin: {e}; the call falls through");
                    self.failed(i, &e);
                }
            }
        }
        Advice::NoOpinion
    }

    fn run(&mut self, jobs: mpsc::Receiver<Job>, answers: mpsc::Sender<(u64, Advice)>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Route(q, deadline) => {
                    let advice = self.route(&q, deadline);
                    if answers.send((q.call_id, advice)).is_err() {
                        break;
                    }
                }
                Job::Event { call_id, kind, cause, talk_ms } => {
                    for m in &mut self.members {
                        if let Some(h) = m.host.as_mut() {
                            let _ = h.event(call_id, &kind, cause, talk_ms);
                        }
                    }
                }
            }
        }
        // The chain was replaced or the daemon stops: let each host finish, then go.
        for m in &mut self.members {
            if let Some(h) = m.host.take() {
                h.retire(Duration::from_secs(2));
            }
        }
    }
}
