//! Routing plugins: shared libraries with a stable C ABI (`plugins/trunkd_plugin.h`) that
//! decide where offered calls go.
//!
//! Each plugin runs in a `trunkd plugin-host` process of its own (`host.rs` loads it with
//! `loader.rs`); the daemon talks to it over a pipe (`HostProc`) from the chain's own
//! thread (`chain.rs`), so the call core never blocks on a plugin and a plugin that
//! crashes, hangs or answers garbage costs only its opinion on the calls in flight.

pub mod chain;
pub mod host;
// The one place plugin code is called: every unsafe block states its invariant.
#[allow(unsafe_code)]
pub mod loader;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

use crate::core::router::{Advice, RouteQuery};
use host::{Reply, Request, PREFIX};

/// One `[[plugin]]` of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// For logs and `trunkd ctl plugins`.
    pub name: String,
    /// The shared library.
    pub path: PathBuf,
    /// Passed to the plugin's init(), every value as a string.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

impl PluginConfig {
    /// Settings as the ABI passes them: strings (a TOML string as is, anything else as TOML).
    pub fn settings(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()
    }
}

/// Refuses a plugin file anyone but root or our own user could have replaced: the file
/// must be owned by one of them and not group- or world-writable, and no directory above
/// it may be writable by others (unless sticky, like /tmp, and the entry is ours).
pub fn check_path(path: &Path) -> Result<(), String> {
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.uid() != 0 && meta.uid() != me {
        return Err(format!("{} is owned by uid {}, not root or the daemon's user", path.display(), meta.uid()));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {:o}): anyone could replace the code we run",
            path.display(),
            meta.permissions().mode() & 0o7777
        ));
    }
    let abs = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut below_uid = meta.uid();
    for dir in abs.ancestors().skip(1) {
        let m = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mode = m.permissions().mode();
        let sticky = mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !(sticky && (below_uid == 0 || below_uid == me)) {
            return Err(format!(
                "{} is in {}, which others can write to (mode {:o})",
                path.display(),
                dir.display(),
                mode & 0o7777
            ));
        }
        below_uid = m.uid();
    }
    Ok(())
}

/// Why talking to a plugin host failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostError {
    #[error("cannot start the plugin host: {0}")]
    Spawn(String),
    #[error("{0}")]
    Load(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the plugin host died ({0})")]
    Died(String),
    #[error("the plugin failed: {0}")]
    Failed(String),
}

/// What a loaded plugin says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub version: String,
    pub abi: u32,
}

/// One plugin host process and the lines it answers with.
pub struct HostProc {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: mpsc::Receiver<Reply>,
    next_id: u64,
    pub identity: Identity,
}

// A supervisor talking to a child process: it waits on the wall clock, never the engine.
#[allow(clippy::disallowed_methods)]
impl HostProc {
    /// Starts `exe plugin-host`, loads the plugin, waits at most `timeout` for it to load.
    pub fn spawn(exe: &Path, cfg: &PluginConfig, timeout: Duration) -> Result<HostProc, HostError> {
        let mut child = Command::new(exe)
            .arg("plugin-host")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| HostError::Spawn(format!("{}: {e}", exe.display())))?;
        let stdout = child.stdout.take().ok_or_else(|| HostError::Spawn("no stdout".into()))?;
        let (tx, replies) = mpsc::channel();
        let name = cfg.name.clone();
        std::thread::Builder::new()
            .name(format!("plugin-{name}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    match line.strip_prefix(PREFIX) {
                        Some(json) => match serde_json::from_str::<Reply>(json) {
                            Ok(r) => {
                                if tx.send(r).is_err() {
                                    break;
                                }
                            }
                            Err(e) => tracing::warn!(plugin = %name, "unreadable answer: {e}"),
                        },
                        // The plugin's own output: a log line, not an answer.
                        None => tracing::info!(plugin = %name, "{}", line.trim_end()),
                    }
                }
            })
            .map_err(|e| HostError::Spawn(e.to_string()))?;
        let mut h = HostProc {
            stdin: child.stdin.take(),
            child,
            replies,
            next_id: 1,
            identity: Identity { name: String::new(), version: String::new(), abi: 0 },
        };
        h.write(&Request::Load { path: cfg.path.clone(), settings: cfg.settings() })?;
        match h.replies.recv_timeout(timeout) {
            Ok(Reply::Loaded { name, version, abi }) => {
                h.identity = Identity { name, version, abi };
                Ok(h)
            }
            Ok(Reply::LoadFailed { error }) => Err(HostError::Load(error)),
            Ok(other) => Err(HostError::Load(format!("unexpected answer {other:?}"))),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(HostError::Timeout(timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(HostError::Died(h.exit_status())),
        }
    }

    fn write(&mut self, r: &Request) -> Result<(), HostError> {
        let line = serde_json::to_string(r).map_err(|e| HostError::Failed(e.to_string()))?;
        let stdin = self.stdin.as_mut().ok_or_else(|| HostError::Died("closed".into()))?;
        writeln!(stdin, "{line}").and_then(|_| stdin.flush()).map_err(|_| HostError::Died(self.exit_status()))
    }

    /// How the process ended, for messages (waits briefly if it is exiting).
    fn exit_status(&mut self) -> String {
        for _ in 0..50 {
            if let Ok(Some(st)) = self.child.try_wait() {
                return describe_exit(st);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        "still running".into()
    }

    /// Asks about one call and waits at most `timeout`.
    pub fn route(
        &mut self,
        query: &RouteQuery,
        unix_time_ms: i64,
        utc_offset_min: i32,
        timeout: Duration,
    ) -> Result<Advice, HostError> {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&Request::Route { id, query: query.clone(), unix_time_ms, utc_offset_min })?;
        let give_up = std::time::Instant::now() + timeout;
        loop {
            let left = give_up.saturating_duration_since(std::time::Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(Reply::Decision { id: got, advice }) if got == id => return Ok(advice),
                Ok(Reply::Failed { id: got, error }) if got == id => return Err(HostError::Failed(error)),
                // A late answer to an earlier request: not ours.
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(HostError::Timeout(timeout)),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(HostError::Died(self.exit_status())),
            }
        }
    }

    pub fn event(&mut self, call_id: u64, kind: &str, cause: u8, talk_ms: u64) -> Result<(), HostError> {
        self.write(&Request::Event { call_id, kind: kind.to_string(), cause, talk_ms })
    }

    /// Kills the process at once (it hangs or is no longer wanted mid-request).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes its input: it finishes what it is doing, shuts the plugin down and exits.
    /// Waits up to `grace`, then kills.
    pub fn retire(mut self, grace: Duration) {
        self.stdin = None;
        let end = std::time::Instant::now() + grace;
        while std::time::Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill();
    }
}

impl Drop for HostProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn describe_exit(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(11)) => "killed by SIGSEGV: the plugin crashed".into(),
        (None, Some(6)) => "killed by SIGABRT: the plugin aborted".into(),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown".into(),
    }
}

/// The wall clock for time-of-day rules: read where a query leaves for the plugins, never
/// inside the call core.
#[allow(clippy::disallowed_methods)] // the wall clock is the point here
pub fn wall_clock() -> (i64, i32) {
    let now = chrono::Local::now();
    (now.timestamp_millis(), now.offset().local_minus_utc() / 60)
}
