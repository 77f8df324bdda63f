//! CTI: the call events as a typed, numbered stream over WebSocket, call control and
//! caller lookups from the CRM on the same connection, and durable call detail records.
//!
//! The daemon loop translates core events (`translate`), hands them to a writer thread that
//! writes records (`cdr`, fsync) and numbers events (`journal`) before fanning them out
//! (`hub`) to the WebSocket clients (`server`). Records are written whether or not any
//! client is connected. The protocol: `protocol.md` (below).
#![doc = include_str!("protocol.md")]

pub mod cdr;
pub mod control;
pub mod hub;
pub mod journal;
pub mod lookup;
pub mod proto;
pub mod server;
pub mod translate;

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `[cti]`: present = the WebSocket endpoint is on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtiConfig {
    /// Loopback by default; a remote CRM goes through a TLS proxy (INSTALL.md).
    pub listen: SocketAddr,
    /// The bearer token's file. Default `<data_dir>/cti.token`, created (random, mode
    /// 0600) when missing.
    pub token_file: Option<PathBuf>,
    /// Events held for resume after a disconnect (in memory and in `<data_dir>/cti/`).
    pub retain_events: usize,
    pub heartbeat_s: u64,
    /// How long an inbound call waits for the CRM to say who the caller is.
    pub lookup_timeout_ms: u64,
    /// Ask the CRM at all (off: no lookups, calls route at once).
    pub lookup: bool,
    /// What a blacklisted caller is cleared with (before answer).
    pub blacklist_cause: String,
    /// Line/span groups whose outgoing legs ring agents (`agent.offered`); default: the
    /// FXS line groups.
    pub agent_groups: Option<Vec<String>>,
}

impl Default for CtiConfig {
    fn default() -> Self {
        CtiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8766)),
            token_file: None,
            retain_events: 10_000,
            heartbeat_s: 15,
            lookup_timeout_ms: 200,
            lookup: true,
            blacklist_cause: "CALL_REJECTED".into(),
            agent_groups: None,
        }
    }
}

impl CtiConfig {
    pub fn token_path(&self, data_dir: &Path) -> PathBuf {
        self.token_file.clone().unwrap_or_else(|| data_dir.join("cti.token"))
    }

    /// Problems, each with the key it is about.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        if crate::signalling::Cause::from_name(&self.blacklist_cause).is_none() {
            errs.push((
                "cti.blacklist_cause".into(),
                format!("`{}` is not a Q.850 cause name or number", self.blacklist_cause),
            ));
        }
        if !(1..=5000).contains(&self.lookup_timeout_ms) {
            errs.push(("cti.lookup_timeout_ms".into(), "must be 1..=5000".into()));
        }
        if !(100..=1_000_000).contains(&self.retain_events) {
            errs.push(("cti.retain_events".into(), "must be 100..=1000000".into()));
        }
        if !(1..=300).contains(&self.heartbeat_s) {
            errs.push(("cti.heartbeat_s".into(), "must be 1..=300".into()));
        }
        errs
    }
}

/// Reads the token, creating a random one (mode 0600) when the file does not exist.
pub fn load_or_create_token(path: &Path) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    writeln!(f, "{token}")?;
    Ok(token)
}
