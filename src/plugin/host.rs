//! `trunkd plugin-host`: the process one routing plugin lives in.
//!
//! The daemon writes one JSON request per line on our stdin; we answer on stdout, each
//! answer prefixed with `PREFIX` so that whatever the plugin itself prints (a C plugin's
//! `printf`) cannot be taken for an answer. EOF on stdin: the plugin is shut down and we
//! exit, after finishing the request in hand.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::loader::Loaded;
use crate::core::router::{Advice, RouteQuery};

/// Marks our answers on stdout (ASCII record separator + tag).
pub const PREFIX: &str = "\u{1e}trunkd ";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Request {
    Load { path: PathBuf, settings: Vec<(String, String)> },
    Route { id: u64, query: RouteQuery, unix_time_ms: i64, utc_offset_min: i32 },
    Event { call_id: u64, kind: String, cause: u8, talk_ms: u64 },
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    Loaded { name: String, version: String, abi: u32 },
    LoadFailed { error: String },
    Decision { id: u64, advice: Advice },
    Failed { id: u64, error: String },
}

fn send(out: &mut impl Write, r: &Reply) -> std::io::Result<()> {
    let line = serde_json::to_string(r).map_err(std::io::Error::other)?;
    writeln!(out, "{PREFIX}{line}")?;
    out.flush()
}

/// The host's main loop; the exit code says how it ended.
pub fn run() -> i32 {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let mut plugin: Option<Loaded> = None;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let req: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("plugin-host: bad request: {e}");
                continue;
            }
        };
        let reply = match (req, &mut plugin) {
            (Request::Load { path, settings }, None) => match Loaded::load(&path, &settings) {
                Ok(p) => {
                    let r = Reply::Loaded {
                        name: p.name.clone(),
                        version: p.version.clone(),
                        abi: trunkd_plugin::abi::ABI_VERSION,
                    };
                    plugin = Some(p);
                    r
                }
                Err(e) => {
                    let _ = send(&mut out, &Reply::LoadFailed { error: e.to_string() });
                    return 2;
                }
            },
            (Request::Load { .. }, Some(_)) => continue,
            (Request::Route { id, .. }, None) => Reply::Failed { id, error: "no plugin loaded".into() },
            (Request::Route { id, query, unix_time_ms, utc_offset_min }, Some(p)) => {
                match p.route(&query, unix_time_ms, utc_offset_min) {
                    Ok(advice) => Reply::Decision { id, advice },
                    Err(error) => Reply::Failed { id, error },
                }
            }
            (Request::Event { call_id, kind, cause, talk_ms }, Some(p)) => {
                p.event(call_id, &kind, cause, talk_ms);
                continue;
            }
            (Request::Event { .. }, None) => continue,
        };
        if send(&mut out, &reply).is_err() {
            break;
        }
    }
    drop(plugin);
    0
}
