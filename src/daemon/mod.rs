//! The daemon's driver: a real-time 20 ms loop around the (clock-free) gateway, the
//! control socket, signals, and systemd notification.
//!
//! Shutdown is graceful (like mini-redis and linkerd): stop accepting calls, clear the
//! active ones with a cause, keep ticking until the stacks have released every channel or
//! the grace time runs out, then finalize recordings.

// The driver is the one place that reads the clock (see clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod control;

use crate::config::{Config, ConfigErrors};
use crate::core::event::{CoreEvent, EventKind};
use crate::core::router::Router;
use crate::core::Routing;
use crate::cti::control::Cti;
use crate::cti::hub::Hub;
use crate::cti::lookup::CtiLookup;
use crate::cti::translate::Translator;
use crate::gateway::{BuildError, Gateway};
use crate::ivr::host::ScriptHost;
use crate::signalling::Cause;
use crate::time::Instant;
use control::{ControlMsg, Request, Response};
use std::path::PathBuf;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// The media clock period.
pub const TICK: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("control socket {path}: {source}")]
    Control { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Records(#[from] crate::cti::cdr::CdrError),
}

/// How the loop presents what happens.
pub struct RunOptions {
    /// Where the config came from (re-read on reload); None for the embedded demo config.
    pub config_path: Option<PathBuf>,
    /// Print every call event to stdout (the demo's live view).
    pub live: bool,
    /// Stop gracefully after this long (demo and smoke tests).
    pub duration: Option<Duration>,
    /// Told the CTI endpoint's address once it listens (the demo starts its CRM then).
    pub cti_ready: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
}

fn notify(state: &[sd_notify::NotifyState]) {
    // Outside systemd NOTIFY_SOCKET is unset and this is a no-op.
    let _ = sd_notify::notify(false, state);
}

/// Runs the daemon until a signal, `ctl shutdown`, or the optional duration.
pub async fn run(cfg: Config, mut opts: RunOptions) -> Result<(), DaemonError> {
    std::fs::create_dir_all(&cfg.general.data_dir)?;
    let mut gw = Gateway::build(&cfg)?;
    let start_wall = chrono::Utc::now();
    let (mut cti, mut cti_cmds, cti_addr) = start_cti(&cfg, &mut gw, start_wall).await?;
    if let (Some(tx), Some(addr)) = (opts.cti_ready.take(), cti_addr) {
        let _ = tx.send(addr);
    }
    let (ctl_tx, mut ctl_rx) = mpsc::channel::<ControlMsg>(16);
    let sock = cfg.general.control_socket.clone();
    control::serve(&sock, ctl_tx).map_err(|source| DaemonError::Control { path: sock.clone(), source })?;
    tracing::info!(socket = %sock.display(), data = %cfg.general.data_dir.display(), "trunkd running");

    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // A card's clock paces the tick when there is one: one thread waits on it.
    let clock = gw.engine.media_clock().and_then(|c| {
        tracing::info!("media tick: paced by the card's clock");
        start_clock(c)
    });
    let mut clock_done = 0u64;
    let mut last_now = Instant::ZERO;
    let start = std::time::Instant::now();
    // The engines run on `Instant`s from `start`; caller ID wants the local date and time.
    let local = chrono::Local::now();
    gw.set_wall_clock(Instant::ZERO, local.timestamp(), local.offset().local_minus_utc());
    let watchdog = {
        let mut usec = 0u64;
        sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec) / 2)
    };
    let mut last_ping = std::time::Instant::now();
    let mut ready = false;
    let ready_wait = Duration::from_millis(cfg.general.ready_timeout_ms);
    let mut last_status = String::new();
    let mut last_status_at = std::time::Instant::now();
    let mut stopping: Option<std::time::Instant> = None;
    let grace = Duration::from_millis(cfg.general.shutdown_grace_ms);
    let mut cfg = cfg;
    let mut tally = Tally::default();

    loop {
        tokio::select! {
            _ = media_tick(&mut ticker, clock.as_deref()) => {
                let now = Instant::from_micros(start.elapsed().as_micros() as u64);
                // Paced by a card: one step per tick it counted, so a stalled loop (a slow
                // script start, a busy machine) reads the frames the card buffered and
                // writes as many; a fallback step when it gave none; at most four at once.
                let steps = match &clock {
                    Some(c) => {
                        let ticks = c.ticks.load(std::sync::atomic::Ordering::Relaxed);
                        let due = ticks.saturating_sub(clock_done);
                        clock_done = ticks;
                        due.clamp(1, 4)
                    }
                    None => 1,
                };
                for k in (1..steps).rev() {
                    // Never before the last step: the stacks' time only moves forward.
                    let t = now.as_micros().saturating_sub(k * TICK.as_micros() as u64).max(last_now.as_micros());
                    gw.step(Instant::from_micros(t));
                }
                last_now = now;
                gw.step(now);
                report(&mut gw, opts.live, &mut tally, &mut cti, start_wall);
                if !ready && (gw.engine.spans_up() || start.elapsed() >= ready_wait) {
                    ready = true;
                    let status = status_line(&gw);
                    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status(&status)]);
                    tracing::info!("ready: {status}");
                    last_status = status;
                }
                if ready && last_status_at.elapsed() >= Duration::from_secs(1) {
                    last_status_at = std::time::Instant::now();
                    // Follows daylight-saving changes and clock corrections (caller ID time).
                    let local = chrono::Local::now();
                    gw.set_wall_clock(now, local.timestamp(), local.offset().local_minus_utc());
                    let status = status_line(&gw);
                    if status != last_status {
                        notify(&[sd_notify::NotifyState::Status(&status)]);
                        last_status = status;
                    }
                }
                if let Some(half) = watchdog {
                    if last_ping.elapsed() >= half {
                        notify(&[sd_notify::NotifyState::Watchdog]);
                        last_ping = std::time::Instant::now();
                    }
                }
                if stopping.is_none() && opts.duration.is_some_and(|d| start.elapsed() >= d) {
                    stopping = Some(begin_shutdown(&mut gw));
                }
                if let Some(t) = stopping {
                    if gw.engine.is_idle() || t.elapsed() >= grace {
                        break;
                    }
                }
            }
            _ = sigint.recv() => { if stopping.is_none() { stopping = Some(begin_shutdown(&mut gw)); } }
            _ = sigterm.recv() => { if stopping.is_none() { stopping = Some(begin_shutdown(&mut gw)); } }
            _ = sighup.recv() => { reload(&mut gw, &mut cfg, opts.config_path.as_ref()); }
            Some(cmd) = cti_cmds.recv() => cti.handle(&mut gw.engine, cmd),
            Some((req, reply)) = ctl_rx.recv() => {
                let resp = match req {
                    Request::Reload => reload(&mut gw, &mut cfg, opts.config_path.as_ref()),
                    Request::Shutdown => {
                        if stopping.is_none() { stopping = Some(begin_shutdown(&mut gw)); }
                        Response::ok(serde_json::json!("shutting down"))
                    }
                    other => answer(&mut gw, other, &cti),
                };
                let _ = reply.send(resp);
            }
        }
    }
    if !gw.engine.is_idle() {
        tracing::warn!(calls = gw.engine.active_calls(), "grace time over; closing with calls still clearing");
    }
    gw.engine.finish();
    if let Some(f) = &mut gw.far {
        f.engine.finish();
    }
    report(&mut gw, opts.live, &mut tally, &mut cti, start_wall);
    cti.finish();
    let _ = std::fs::remove_file(&sock);
    if opts.live {
        println!(
            "\n{} calls ({} answered), {} recordings under {}",
            tally.calls,
            tally.answered,
            tally.recordings,
            cfg.general.data_dir.join("recordings").display()
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// Call records and the event journal (always), the CTI endpoint and the caller lookup
/// (with `[cti]`).
async fn start_cti(
    cfg: &Config,
    gw: &mut Gateway,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Cti, mpsc::Receiver<crate::cti::proto::Command>, Option<std::net::SocketAddr>), DaemonError> {
    let c = cfg.cti.clone().unwrap_or_default();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let agent_groups = c.agent_groups.clone().unwrap_or_else(|| {
        cfg.lines.iter().filter(|l| l.kind == crate::config::LineKind::Fxs).map(|l| l.name.clone()).collect()
    });
    let heartbeat = Duration::from_secs(c.heartbeat_s);
    let (hub, ends) = Hub::open(&cfg.general.name, &cfg.general.data_dir, c.retain_events, heartbeat, now)?;
    let mut bound = None;
    if let Some(c) = &cfg.cti {
        let token_path = c.token_path(&cfg.general.data_dir);
        let token = crate::cti::load_or_create_token(&token_path)
            .map_err(|e| DaemonError::Io(std::io::Error::other(format!("CTI token {}: {e}", token_path.display()))))?;
        let addr = crate::cti::server::serve(c.listen, hub.clone(), token)
            .await
            .map_err(|e| DaemonError::Io(std::io::Error::other(format!("CTI cannot listen on {}: {e}", c.listen))))?;
        bound = Some(addr);
        tracing::info!(url = %format!("ws://{addr}/cti"), token = %token_path.display(), "CTI listening");
        if c.lookup {
            let cause = Cause::from_name(&c.blacklist_cause).unwrap_or(Cause::CallRejected);
            let budget = Duration::from_millis(c.lookup_timeout_ms);
            let lookup = CtiLookup::new(hub.clone(), ends.answers, &run_id, budget);
            gw.engine.set_lookup(Some(Box::new(lookup)), cause);
        }
    }
    gw.engine.set_run_tag(&run_id);
    let translator = Translator::new(&cfg.general.name, &run_id, agent_groups);
    Ok((Cti::new(translator, hub)?, ends.commands, bound))
}

/// One line for `systemctl status`: calls, and which spans are in alarm.
fn status_line(gw: &Gateway) -> String {
    let down: Vec<String> =
        gw.engine.spans_status().into_iter().filter(|s| !s.up).map(|s| format!("{} ({})", s.name, s.alarms)).collect();
    let calls = gw.engine.active_calls();
    if down.is_empty() {
        format!("spans up, {calls} calls")
    } else {
        format!("{calls} calls; in alarm: {}", down.join(", "))
    }
}

fn begin_shutdown(gw: &mut Gateway) -> std::time::Instant {
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!(calls = gw.engine.active_calls(), "shutting down: clearing calls");
    // Q.850 41 tells the far end the failure is temporary: try again (elsewhere) later.
    gw.engine.begin_shutdown(Cause::TemporaryFailure);
    if let Some(f) = &mut gw.far {
        f.engine.begin_shutdown(Cause::NormalClearing);
    }
    std::time::Instant::now()
}

fn reload(gw: &mut Gateway, cfg: &mut Config, path: Option<&PathBuf>) -> Response {
    notify(&[sd_notify::NotifyState::Reloading]);
    let result = match path {
        None => {
            gw.engine.reload_prompts();
            Response::ok(serde_json::json!("prompts reloaded (embedded config)"))
        }
        Some(p) => match Config::load(p) {
            Ok(new) => {
                gw.engine.set_routing(Routing::Table(Router::new(&new.routes), Box::new(ScriptHost::new(&new.ivr))));
                // New plugin hosts for new calls; the old chain's hosts finish what they
                // are doing and exit (its thread retires them when dropped here).
                gw.engine.set_advisor(crate::gateway::plugin_chain(&new));
                gw.engine.reload_prompts();
                let changed_hw = new.spans.len() != cfg.spans.len() || new.lines.len() != cfg.lines.len();
                *cfg = new;
                tracing::info!("configuration reloaded: routes, plugins and prompts apply to new calls");
                let note = if changed_hw { "; span/line changes need a restart" } else { "" };
                Response::ok(serde_json::json!(format!("reloaded routes, plugins and prompts{note}")))
            }
            Err(e) => {
                tracing::error!("reload refused, keeping the running configuration:\n{e}");
                Response::err(format!("reload refused:\n{e}"))
            }
        },
    };
    notify(&[sd_notify::NotifyState::Ready]);
    result
}

fn answer(gw: &mut Gateway, req: Request, cti: &Cti) -> Response {
    let e = &mut gw.engine;
    match req {
        Request::Status => Response::ok(serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": e.now().as_millis() / 1000,
            "calls": e.active_calls(),
            "spans_up": e.spans_up(),
            "cti": { "seq": cti.hub.seqs().0, "lookup_clients": cti.hub.lookup_clients() },
        })),
        Request::Spans => Response::ok(to_json(e.spans_status())),
        Request::Channels => Response::ok(to_json(e.channels_status())),
        Request::Calls => Response::ok(to_json(e.calls_status())),
        Request::Plugins => Response::ok(e.advisor_status()),
        Request::Restart { device } => match e.restart_channel(&device) {
            Ok(msg) => Response::ok(serde_json::json!(msg)),
            Err(msg) => Response::err(&msg),
        },
        Request::Hangup { call, cause } => {
            let cause = match cause.as_deref().map(Cause::from_name) {
                None => Cause::NormalClearing,
                Some(Some(c)) => c,
                Some(None) => return Response::err("unknown cause"),
            };
            if e.hangup(call, cause) {
                Response::ok(serde_json::json!(format!("call {call} cleared: {cause}")))
            } else {
                Response::err(format!("no call {call}"))
            }
        }
        Request::Originate { group, number, script } => {
            let placed = match script {
                Some(sc) => e.originate_script(&group, &number, Default::default(), &sc),
                None => e.originate(
                    &group,
                    &number,
                    Default::default(),
                    Some(Box::new(crate::core::apps::DemoIvr::new("en"))),
                ),
            };
            match placed {
                Ok(id) => Response::ok(serde_json::json!({ "call": id })),
                Err(err) => Response::err(err),
            }
        }
        Request::Reload | Request::Shutdown => Response::err("handled by the loop"),
    }
}

/// The media clock's thread: wakes the loop on every tick of the card's clock, until the
/// loop has gone (the notifier is dropped with it).
fn start_clock(mut clock: Box<dyn crate::backend::MediaClock>) -> Option<std::sync::Arc<CardClock>> {
    let shared = std::sync::Arc::new(CardClock::default());
    let weak = std::sync::Arc::downgrade(&shared);
    let spawned = std::thread::Builder::new().name("media-clock".into()).spawn(move || loop {
        let ticks = clock.wait(3 * TICK);
        let Some(c) = weak.upgrade() else { break };
        if ticks > 0 {
            c.ticks.fetch_add(u64::from(ticks), std::sync::atomic::Ordering::Relaxed);
            c.wake.notify_one();
        }
    });
    match spawned {
        Ok(_) => Some(shared),
        Err(e) => {
            tracing::warn!("media clock thread: {e}; the system clock paces the tick");
            None
        }
    }
}

/// The card's clock as the loop sees it: ticks counted by the clock thread.
#[derive(Default)]
struct CardClock {
    ticks: std::sync::atomic::AtomicU64,
    wake: tokio::sync::Notify,
}

/// Waits for the next media tick: the card's next 20 ms, or the system clock's next
/// 20 ms without a card. A clock that stops (card removed, driver stalled) still gets a
/// tick every 60 ms, so signalling and timers go on.
async fn media_tick(ticker: &mut tokio::time::Interval, clock: Option<&CardClock>) {
    match clock {
        Some(c) => {
            let _ = tokio::time::timeout(3 * TICK, c.wake.notified()).await;
        }
        None => {
            ticker.tick().await;
        }
    }
}

fn to_json<T: serde::Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// What the gateway did, for the demo's closing line.
#[derive(Default)]
struct Tally {
    calls: u64,
    answered: u64,
    recordings: u64,
}

fn report(gw: &mut Gateway, live: bool, tally: &mut Tally, cti: &mut Cti, start_wall: chrono::DateTime<chrono::Utc>) {
    let events: Vec<CoreEvent> = gw.engine.drain_events().collect();
    cti.process(&events, |at| start_wall + chrono::TimeDelta::microseconds(at.as_micros() as i64));
    for ev in events {
        match &ev.kind {
            EventKind::Ended { talk, .. } => {
                tally.calls += 1;
                tally.answered += u64::from(talk.is_some());
            }
            EventKind::RecordingFinished { error: None, .. } => tally.recordings += 1,
            _ => {}
        }
        if live {
            println!("{ev}");
        } else {
            tracing::info!("{ev}");
        }
    }
    if let Some(f) = &mut gw.far {
        for ev in f.drain_events() {
            if live {
                println!("\x1b[2m{ev}  [far end]\x1b[0m");
            } else {
                tracing::debug!("far end: {ev}");
            }
        }
    }
}
