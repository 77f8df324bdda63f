//! The control socket: one JSON request line in, one JSON response line out, like
//! `asterisk -rx`. The socket task only parses and forwards; the engine loop answers,
//! so no engine state is shared across threads.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A request to the running daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    Status,
    Spans,
    Channels,
    Calls,
    /// Routing plugins: state and counters.
    Plugins,
    /// Re-read the config file: routes and prompts for new calls.
    Reload,
    Hangup {
        call: u64,
        cause: Option<String>,
    },
    Originate {
        group: String,
        number: String,
        /// A Lua script to run on the call once answered (default: the demo menu).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script: Option<String>,
    },
    /// Reset one channel in its signalling (PRI: RESTART).
    Restart {
        device: String,
    },
    /// Graceful shutdown, as SIGTERM.
    Shutdown,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Response {
    pub fn ok(data: serde_json::Value) -> Response {
        Response { ok: true, error: None, data }
    }
    pub fn err(e: impl ToString) -> Response {
        Response { ok: false, error: Some(e.to_string()), data: serde_json::Value::Null }
    }
}

pub type ControlMsg = (Request, oneshot::Sender<Response>);

/// Binds the control socket (replacing a stale one) and serves it until the process ends.
pub fn serve(path: &Path, tx: mpsc::Sender<ControlMsg>) -> std::io::Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        // A live daemon would answer; a stale socket from a crash would block the bind.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} is in use by a running daemon", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, tx.clone()));
                }
                Err(e) => {
                    tracing::warn!("control socket accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(path.to_path_buf())
}

async fn handle(stream: UnixStream, tx: mpsc::Sender<ControlMsg>) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r.take(64 * 1024)).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let resp = match serde_json::from_str::<Request>(&line) {
            Err(e) => Response::err(format!("bad request: {e}")),
            Ok(req) => {
                let (otx, orx) = oneshot::channel();
                if tx.send((req, otx)).await.is_err() {
                    Response::err("daemon is shutting down")
                } else {
                    orx.await.unwrap_or_else(|_| Response::err("daemon is shutting down"))
                }
            }
        };
        let mut out = serde_json::to_string(&resp).unwrap_or_else(|_| "{\"ok\":false}".into());
        out.push('\n');
        if w.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Client side: sends one request and waits for its response.
pub fn request(path: &Path, req: &Request) -> std::io::Result<Response> {
    use std::io::{BufRead, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut r = std::io::BufReader::new(s);
    let mut resp = String::new();
    r.read_line(&mut resp)?;
    serde_json::from_str(&resp).map_err(std::io::Error::other)
}

/// Renders a response as the tables a sysadmin reads.
pub fn render(req: &Request, data: &serde_json::Value) -> String {
    use std::fmt::Write;
    let s = |v: &serde_json::Value, k: &str| -> String {
        match v.get(k) {
            Some(serde_json::Value::String(x)) => x.clone(),
            Some(serde_json::Value::Null) | None => "-".into(),
            Some(x) => x.to_string(),
        }
    };
    let rows = data.as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    match req {
        Request::Spans => {
            let _ = writeln!(
                out,
                "{:<12} {:<8} {:<7} {:<12} {:>5} {:>5} {:>9} {:>9} {:>8} {:>8} {:>6}  SIGNALLING",
                "SPAN", "BACKEND", "KIND", "ALARMS", "CHANS", "CALLS", "RX", "TX", "UNDERRUN", "OVERRUN", "ERRORS"
            );
            for r in &rows {
                let c = r.get("counters").cloned().unwrap_or_default();
                // HDLC frames with a bad FCS and the card's line errors (framing, CRC-4, BPV, E-bits).
                let errors: u64 = ["hdlc_errors", "framing_errors", "crc4_errors", "bpv_errors", "ebit_errors"]
                    .iter()
                    .filter_map(|k| c.get(*k).and_then(|v| v.as_u64()))
                    .sum();
                let _ = writeln!(
                    out,
                    "{:<12} {:<8} {:<7} {:<12} {:>5} {:>5} {:>9} {:>9} {:>8} {:>8} {:>6}  {}",
                    s(r, "name"),
                    s(r, "backend"),
                    s(r, "kind"),
                    s(r, "alarms"),
                    s(r, "channels"),
                    s(r, "calls"),
                    s(&c, "rx_frames"),
                    s(&c, "tx_frames"),
                    s(&c, "underruns"),
                    s(&c, "overruns"),
                    errors,
                    s(r, "signalling")
                );
            }
        }
        Request::Channels => {
            let _ = writeln!(out, "{:<14} {:<8} {:<12} {:<4}", "CHANNEL", "PATH", "STATE", "CALL");
            for r in &rows {
                let _ =
                    writeln!(out, "{:<14} {:<8} {:<12} {}", s(r, "device"), s(r, "path"), s(r, "state"), s(r, "call"));
            }
        }
        Request::Calls => {
            let _ = writeln!(
                out,
                "{:<6} {:<12} {:<9} {:<11} {:<14} {:<14} {:<11} {:>5} {:<7}",
                "CALL", "CHANNEL", "DIR", "STATE", "CALLED", "CALLER", "APP", "SECS", "BRIDGED"
            );
            for r in &rows {
                let _ = writeln!(
                    out,
                    "{:<6} {:<12} {:<9} {:<11} {:<14} {:<14} {:<11} {:>5} {}",
                    s(r, "id"),
                    s(r, "device"),
                    s(r, "direction"),
                    s(r, "state"),
                    s(r, "called"),
                    s(r, "caller"),
                    s(r, "app"),
                    s(r, "seconds"),
                    s(r, "bridged_with")
                );
            }
            if rows.is_empty() {
                out.push_str("(no calls)\n");
            }
        }
        Request::Plugins => {
            let _ = writeln!(
                out,
                "{:<12} {:<10} {:<14} {:>9} {:>9} {:>6} {:>8} {:>7} {:>6}  LAST ERROR",
                "PLUGIN", "VERSION", "STATE", "DECISIONS", "NO-OPIN", "ERRORS", "TIMEOUTS", "CRASHES", "STARTS"
            );
            for r in &rows {
                let _ = writeln!(
                    out,
                    "{:<12} {:<10} {:<14} {:>9} {:>9} {:>6} {:>8} {:>7} {:>6}  {}",
                    s(r, "name"),
                    s(r, "version"),
                    s(r, "state"),
                    s(r, "decisions"),
                    s(r, "no_opinion"),
                    s(r, "errors"),
                    s(r, "timeouts"),
                    s(r, "crashes"),
                    s(r, "starts"),
                    s(r, "last_error")
                );
            }
            if rows.is_empty() {
                out.push_str("(no routing plugins)\n");
            }
        }
        _ => match data {
            serde_json::Value::String(x) => {
                out.push_str(x);
                out.push('\n');
            }
            other => {
                out.push_str(&serde_json::to_string_pretty(other).unwrap_or_default());
                out.push('\n');
            }
        },
    }
    out
}
