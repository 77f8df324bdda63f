//! The `trunkd` command: daemon, demo, config check and control client.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use trunkd::config::Config;
use trunkd::daemon::control::{self, Request};
use trunkd::daemon::{self, RunOptions};

/// EX_USAGE from sysexits.h: a bad config or command line.
const EX_USAGE: u8 = 64;
/// EX_UNAVAILABLE: the daemon is not reachable.
const EX_UNAVAILABLE: u8 = 69;

#[derive(Parser)]
#[command(name = "trunkd", version, about = "Telephony gateway for E1, analog lines and modems")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum CrmCmd {
    /// Serve the web UI and follow the gateways' CTI streams (creates and migrates the database).
    Run {
        #[arg(long, short, default_value = "/etc/trunkd/crm.toml")]
        config: PathBuf,
    },
    /// Add a user; the password is read from the first line of standard input.
    AddUser {
        #[arg(long, short, default_value = "/etc/trunkd/crm.toml")]
        config: PathBuf,
        login: String,
        /// agent, supervisor or admin
        #[arg(long, default_value = "agent")]
        role: String,
        /// Display name (default: the login).
        #[arg(long)]
        name: Option<String>,
        /// The agent's phone on the gateway, `group/channel` (e.g. `phones/0`): calls ringing it pop its desktop.
        #[arg(long)]
        contact: Option<String>,
    },
    /// Check a CRM configuration file.
    Check {
        #[arg(long, short, default_value = "/etc/trunkd/crm.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum Cmd {
    /// Run on embedded defaults: simulated E1 and analog lines with callers, the demo IVR.
    Demo {
        /// Where recordings, messages and the control socket go.
        #[arg(long, default_value = "trunkd-demo")]
        data_dir: PathBuf,
        /// Stop gracefully after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
    },
    /// Run the daemon.
    Run {
        #[arg(long, short, default_value = "/etc/trunkd/trunkd.toml")]
        config: PathBuf,
        /// Stop gracefully after this many seconds.
        #[arg(long)]
        duration: Option<u64>,
    },
    /// The bundled CRM: agent desktop with screen pop, customers, number lists, call history.
    Crm {
        #[command(subcommand)]
        what: CrmCmd,
    },
    /// Validate a configuration file and print every problem with its location.
    Check {
        #[arg(long, short, default_value = "/etc/trunkd/trunkd.toml")]
        config: PathBuf,
    },
    /// Print what the gateway hears in a recording (WAV): DTMF digits, caller ID, call-progress
    /// tones and the cadence of a repeating tone (as a tone-zone entry), fax/modem tones, R2 MF.
    Analyze {
        file: PathBuf,
        /// Match call-progress tones against this zone only (repeatable; default: every built-in zone).
        #[arg(long = "zone")]
        zones: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// IVR script tools.
    Ivr {
        #[command(subcommand)]
        what: IvrCmd,
    },
    /// Routing plugin tools.
    Plugin {
        #[command(subcommand)]
        what: PluginCmd,
    },
    /// (internal) The process one routing plugin runs in; spoken to over stdin/stdout.
    #[command(hide = true)]
    PluginHost,
    /// DAHDI tools.
    #[cfg(target_os = "linux")]
    Dahdi {
        #[command(subcommand)]
        what: DahdiCmd,
    },
    /// Talk to a running daemon.
    Ctl {
        /// The daemon's control socket.
        #[arg(long, short, default_value = "/run/trunkd/trunkd.ctl")]
        socket: PathBuf,
        /// Print the raw JSON response.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        what: CtlCmd,
    },
}

#[cfg(target_os = "linux")]
#[derive(Subcommand)]
enum DahdiCmd {
    /// Print the trunkd configuration equivalent to a DAHDI system.conf.
    ///
    /// Spans, analog ports, echo cancellers and the tone zone become TOML with a comment
    /// for each decision; what cannot be carried over is warned about in it and on
    /// standard error. Exit 1 if system.conf does not parse.
    Import {
        /// The system.conf to read.
        #[arg(default_value = "/etc/dahdi/system.conf")]
        file: PathBuf,
    },
    /// What the running driver has: each span (type, alarms) and its channels with their
    /// numbers and signalling (what `dahdi = { span = N }` / `channels = "…"` refer to).
    Spans {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum IvrCmd {
    /// Run a script on a simulated call (virtual time) and print the transcript.
    Test {
        /// The Lua script.
        script: PathBuf,
        /// The caller's number (presented as the calling party).
        #[arg(long, default_value = "13800138000")]
        caller: String,
        /// The number the caller dials.
        #[arg(long, default_value = "1000")]
        called: String,
        /// What the caller does once answered, in order: `wait MS`, `dtmf DIGITS`,
        /// `tone HZ MS`, `play FILE`, `hangup` (repeatable). Default: wait a minute.
        #[arg(long = "step", short = 's')]
        steps: Vec<String>,
        /// Arguments for the script (argv[1], …).
        #[arg(long = "arg")]
        args: Vec<String>,
        /// Assertions (repeatable): played=FILE, collected=DIGITS, var:NAME=VALUE, cause=NAME,
        /// log~TEXT, event=NAME, answered, not-answered, recorded, no-errors. Exit 1 if any fails.
        #[arg(long = "expect", short = 'e')]
        expects: Vec<String>,
        /// Prompt directory (default: $TRUNKD_PROMPTS, /usr/share/trunkd/prompts, ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
        /// Keep recordings here (default: a temporary directory).
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Tone zone.
        #[arg(long, default_value = "cn")]
        zone: String,
        /// Give up after this many seconds of (virtual) call time.
        #[arg(long, default_value_t = 600)]
        max_seconds: u64,
    },
}

#[derive(Subcommand)]
enum PluginCmd {
    /// Load a plugin outside the daemon (in its own host process, as the daemon does),
    /// print its name, version and ABI, and route sample calls through it.
    Check {
        /// The plugin's shared library.
        file: PathBuf,
        /// A setting for the plugin's init(), `key=value` (repeatable).
        #[arg(long = "setting", short = 's')]
        settings: Vec<String>,
        /// Sample called numbers (repeatable; default: a few typical ones).
        #[arg(long = "called")]
        called: Vec<String>,
        /// The caller of the sample calls.
        #[arg(long, default_value = "13800138000")]
        caller: String,
        /// The CRM classification of the caller (normal, vip, svip, blacklist).
        #[arg(long, default_value = "")]
        classification: String,
        /// Per-call deadline in ms.
        #[arg(long, default_value_t = 200)]
        timeout_ms: u64,
    },
}

#[derive(Subcommand)]
enum CtlCmd {
    /// Version, uptime, calls.
    Status,
    /// Spans and line groups with alarms and counters.
    Spans,
    /// Every channel and its signalling state.
    Channels,
    /// Calls in progress.
    Calls,
    /// Routing plugins: state, decisions, failures.
    Plugins,
    /// Re-read the config: routes and prompts for new calls.
    Reload,
    /// Clear a call.
    Hangup { call: u64, cause: Option<String> },
    /// Reset a channel in its signalling: a PRI B-channel gets a RESTART (`pri-1/5`).
    Restart { device: String },
    /// Place a call on a span or line group; once answered it runs the demo IVR, or a
    /// Lua script from the scripts directory.
    Originate {
        group: String,
        number: String,
        /// Run this script (e.g. `callback.lua`) instead of the demo IVR.
        #[arg(long)]
        script: Option<String>,
    },
    /// Graceful shutdown.
    Shutdown,
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TRUNKD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Under systemd, journald adds its own timestamps and does not want colour codes.
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        tracing_subscriber::fmt().with_env_filter(filter).without_time().with_ansi(false).with_target(false).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { config } => match Config::load(&config) {
            Ok(cfg) => {
                println!(
                    "{}: OK ({} spans, {} line groups, {} routes, {} simulated callers)",
                    config.display(),
                    cfg.spans.len(),
                    cfg.lines.len(),
                    cfg.routes.len(),
                    cfg.sim.callers.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EX_USAGE)
            }
        },
        Cmd::Ctl { socket, json, what } => ctl(&socket, json, what),
        #[cfg(target_os = "linux")]
        Cmd::Dahdi { what } => match what {
            DahdiCmd::Import { file } => dahdi_import(&file),
            DahdiCmd::Spans { json } => dahdi_spans(json),
        },
        Cmd::Crm { what } => crm(what),
        Cmd::Analyze { file, zones, json } => analyze(&file, zones, json),
        Cmd::PluginHost => ExitCode::from(trunkd::plugin::host::run().clamp(0, 255) as u8),
        Cmd::Plugin { what: PluginCmd::Check { file, settings, called, caller, classification, timeout_ms } } => {
            plugin_check(file, settings, called, caller, classification, timeout_ms)
        }
        Cmd::Ivr {
            what: IvrCmd::Test { script, caller, called, steps, args, expects, prompts, keep, zone, max_seconds },
        } => ivr_test(script, caller, called, steps, args, expects, prompts, keep, zone, max_seconds),
        Cmd::Demo { data_dir, duration } => {
            init_logging();
            // Absolute, so call records name recordings the CRM can find and serve.
            let data_dir = match std::fs::create_dir_all(&data_dir).and_then(|_| std::fs::canonicalize(&data_dir)) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{}: {e}", data_dir.display());
                    return ExitCode::FAILURE;
                }
            };
            let cfg = match trunkd::demo::config(&data_dir) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let abs = std::fs::canonicalize(&data_dir).unwrap_or(data_dir.clone());
            println!(
                "trunkd demo: simulated ISDN PRI `pri-1` (user side, China profile), E1 span `e1-1` (E&M), \
                 FXO lines `pstn`, FXS phones `phones`"
            );
            println!("IVR: the built-in demo app, and Lua scripts from {}", cfg.ivr.scripts_dir.display());
            match cfg.plugins.first() {
                Some(p) => {
                    println!("routing plugin: {} ({}): phones dialling 7… go out on e1-1", p.name, p.path.display())
                }
                None => println!("routing plugin: none (this build had no C compiler)"),
            }
            println!("data directory: {}", abs.display());
            println!(
                "  recordings: {}/recordings   control: trunkd ctl -s {}/trunkd.ctl calls",
                abs.display(),
                abs.display()
            );
            println!("Ctrl-C clears all calls and exits.\n");
            demo(cfg, abs, duration)
        }
        Cmd::Run { config, duration } => {
            init_logging();
            match Config::load(&config) {
                Ok(cfg) => run(cfg, Some(config), false, duration),
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(EX_USAGE)
                }
            }
        }
    }
}

/// `trunkd dahdi spans`: the driver's spans and channels, as trunkd's config names them.
#[cfg(target_os = "linux")]
fn dahdi_spans(json: bool) -> ExitCode {
    use trunkd::backend::dahdi::{self, sys};
    let ctl = match dahdi::open_ctl() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trunkd dahdi spans: {e}");
            return ExitCode::FAILURE;
        }
    };
    let chans = dahdi::driver_channels(&ctl);
    let mut spans: Vec<i32> = chans.iter().map(|c| c.span).collect();
    spans.dedup();
    let mut out = Vec::new();
    for n in spans {
        let info = sys::span_stat(&ctl, n).ok();
        let list: Vec<_> = chans.iter().filter(|c| c.span == n).collect();
        out.push(serde_json::json!({
            "span": n,
            "name": info.as_ref().map(|i| i.name()),
            "description": info.as_ref().map(|i| i.desc()),
            "type": info.as_ref().map(|i| i.spantype()),
            "alarms": info.as_ref().map(|i| i.alarms().describe()),
            "channels": list,
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if out.is_empty() {
        println!("the driver has no channels (is dahdi_cfg run?)");
    }
    for s in &out {
        let str_of = |k: &str| s[k].as_str().unwrap_or("-").to_string();
        println!(
            "span {} {} ({}) type {} alarms {}",
            s["span"],
            str_of("name"),
            str_of("description"),
            str_of("type"),
            str_of("alarms")
        );
        for c in s["channels"].as_array().into_iter().flatten() {
            println!(
                "  channel {:>4}  position {:>2}  {:<12} {:<20} {}",
                c["channo"].as_i64().unwrap_or(0),
                c["pos"].as_i64().unwrap_or(0),
                c["sig"].as_str().unwrap_or("-"),
                c["name"].as_str().unwrap_or("-"),
                c["alarms"].as_str().unwrap_or("-")
            );
        }
    }
    ExitCode::SUCCESS
}

/// `trunkd dahdi import`: exit 1 with `FILE:LINE: why` when system.conf does not parse.
#[cfg(target_os = "linux")]
fn dahdi_import(file: &std::path::Path) -> ExitCode {
    use std::io::Write;
    use trunkd::backend::dahdi::sysconf;
    let name = sysconf::clean(&file.display().to_string());
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("trunkd dahdi import: {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A comment in Latin-1 must not make the whole file unreadable.
    let conf = match sysconf::parse(&String::from_utf8_lossy(&bytes)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}:{}: {}", e.line, e.kind);
            return ExitCode::FAILURE;
        }
    };
    let (toml, warnings) = sysconf::to_trunkd(&conf);
    for w in &warnings {
        match w.line {
            Some(l) => eprintln!("{name}:{l}: warning: {}", w.message),
            None => eprintln!("{name}: warning: {}", w.message),
        }
    }
    let text = format!("# Imported from {name}\n{toml}");
    // Not print!: a closed pipe (`| head`) is an error to report, not a panic.
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
        eprintln!("trunkd dahdi import: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn plugin_check(
    file: PathBuf,
    settings: Vec<String>,
    called: Vec<String>,
    caller: String,
    classification: String,
    timeout_ms: u64,
) -> ExitCode {
    use trunkd::core::router::RouteQuery;
    use trunkd::plugin::{check_path, HostProc, PluginConfig};
    if let Err(e) = check_path(&file) {
        eprintln!("refused: {e}");
        return ExitCode::from(EX_USAGE);
    }
    let mut table = std::collections::BTreeMap::new();
    for kv in &settings {
        let Some((k, v)) = kv.split_once('=') else {
            eprintln!("--setting {kv}: expected key=value");
            return ExitCode::from(EX_USAGE);
        };
        table.insert(k.to_string(), toml::Value::String(v.to_string()));
    }
    let cfg = PluginConfig { name: "check".into(), path: file.clone(), settings: table };
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("trunkd"));
    let mut host = match HostProc::spawn(&exe, &cfg, Duration::from_secs(5)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let id = host.identity.clone();
    println!("{}: plugin `{}` version {} (ABI v{})", file.display(), id.name, id.version, id.abi);
    let called = if called.is_empty() {
        ["8001", "95551234", "4008001234", "01088886666", "110"].map(String::from).to_vec()
    } else {
        called
    };
    let (unix_ms, offset) = trunkd::plugin::wall_clock();
    let mut ok = true;
    for (i, number) in called.iter().enumerate() {
        let q = RouteQuery {
            classification: classification.clone(),
            ..RouteQuery::inbound(i as u64 + 1, &format!("pri-1/{}", i + 1), number, &caller)
        };
        #[allow(clippy::disallowed_methods)] // a CLI tool timing a plugin
        let t = std::time::Instant::now();
        let r = host.route(&q, unix_ms, offset, Duration::from_millis(timeout_ms));
        let us = t.elapsed().as_micros();
        match r {
            Ok(advice) => {
                println!("  called {number:<14} -> {}  ({us} µs)", serde_json::to_string(&advice).unwrap_or_default())
            }
            Err(e) => {
                ok = false;
                println!("  called {number:<14} -> FAILED: {e}");
                if matches!(e, trunkd::plugin::HostError::Died(_) | trunkd::plugin::HostError::Timeout(_)) {
                    match HostProc::spawn(&exe, &cfg, Duration::from_secs(5)) {
                        Ok(h) => host = h,
                        Err(e) => {
                            println!("  cannot restart it: {e}");
                            break;
                        }
                    }
                }
            }
        }
    }
    host.retire(Duration::from_secs(2));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(cfg: Config, config_path: Option<PathBuf>, live: bool, duration: Option<u64>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = RunOptions { config_path, live, duration: duration.map(Duration::from_secs), cti_ready: None };
    match rt.block_on(daemon::run(cfg, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("trunkd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn analyze(file: &std::path::Path, zones: Vec<String>, json: bool) -> ExitCode {
    let reports = match trunkd::analyze::analyze_file(file, &trunkd::analyze::AnalyzeOptions { zones }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trunkd analyze: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&reports).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let many = reports.len() > 1;
    for r in &reports {
        if many {
            let what = match r.channel {
                1 => " (a trunkd recording: the line)",
                2 => " (a trunkd recording: what trunkd sent)",
                _ => "",
            };
            println!("channel {}{what}:", r.channel);
        }
        if r.findings.is_empty() {
            println!("  nothing recognised");
        }
        for f in &r.findings {
            println!("  {f}");
        }
        if let Some(c) = &r.cadence {
            let freqs: Vec<String> = c.freqs.iter().map(|(f, l)| format!("{f:.0} Hz at {l:.1} dBm0")).collect();
            let cad: Vec<String> = c.cadence.iter().map(u32::to_string).collect();
            println!(
                "  repeating tone: {} cadence {} ms ({} cycles); as a zone entry:",
                freqs.join(" + "),
                cad.join("/"),
                c.cycles
            );
            println!("    {}", c.zone_entry);
        }
    }
    ExitCode::SUCCESS
}

/// The demo: the daemon, and the CRM following its CTI stream, in one process.
fn demo(cfg: Config, data_dir: PathBuf, duration: Option<u64>) -> ExitCode {
    use trunkd::crm::{seed_demo, Crm, CrmConfig, GatewayConfig};
    // Two workers: a login's password hash must not hold up the 20 ms media tick.
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let token_file = cfg.cti.as_ref().map(|c| c.token_path(&cfg.general.data_dir));
    let opts = RunOptions {
        config_path: None,
        live: true,
        duration: duration.map(Duration::from_secs),
        cti_ready: Some(ready_tx),
    };
    rt.block_on(async move {
        let crm = tokio::spawn(async move {
            let Ok(addr) = ready_rx.await else { return };
            let mut c = CrmConfig::new(data_dir.join("crm"));
            c.recordings_dir = Some(data_dir.join("recordings"));
            if std::net::TcpListener::bind(c.listen).is_err() {
                c.listen.set_port(0);
            }
            c.gateway = vec![GatewayConfig {
                name: "trunkd".into(),
                url: format!("ws://{addr}/cti"),
                token: None,
                token_file,
                lookup: true,
            }];
            let crm = match Crm::start(c).await {
                Ok(crm) => crm,
                Err(e) => {
                    eprintln!("CRM: {e}");
                    return;
                }
            };
            match seed_demo(crm.pool()).await {
                Ok(info) => {
                    let logins: Vec<String> = info
                        .logins
                        .iter()
                        .map(|(l, p, r, dev)| {
                            format!("{l}/{p} ({}{})", r.as_str(), dev.as_deref().map(|d| format!(" at {d}")).unwrap_or_default())
                        })
                        .collect();
                    println!("CRM: http://{}/  (CTI ws://{addr}/cti)", crm.local_addr());
                    println!("  log in as {}", logins.join(", "));
                    println!("  customers: a VIP (13912345678, to the VIP desk), a blacklisted number (13700001111, cleared), ordinary callers (menu)\n");
                }
                Err(e) => eprintln!("CRM demo data: {e}"),
            }
            if let Err(e) = crm.run(async move {
                let _ = stop_rx.await;
            })
            .await
            {
                eprintln!("CRM: {e}");
            }
        });
        let r = daemon::run(cfg, opts).await;
        let _ = stop_tx.send(());
        let _ = crm.await;
        match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trunkd: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn crm(what: CrmCmd) -> ExitCode {
    use trunkd::crm::{create_user, db::Role, Crm, CrmConfig};
    let load = |p: &std::path::Path| CrmConfig::load(p).map_err(|e| eprintln!("{e}")).ok();
    match what {
        CrmCmd::Check { config } => match load(&config) {
            Some(c) => {
                println!(
                    "{}: OK ({} gateways, database {})",
                    config.display(),
                    c.gateway.len(),
                    if c.database_url.is_some() { "PostgreSQL/URL" } else { "SQLite" }
                );
                ExitCode::SUCCESS
            }
            None => ExitCode::from(EX_USAGE),
        },
        CrmCmd::Run { config } => {
            init_logging();
            let Some(c) = load(&config) else { return ExitCode::from(EX_USAGE) };
            let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            rt.block_on(async move {
                let crm = match Crm::start(c).await {
                    Ok(crm) => crm,
                    Err(e) => {
                        eprintln!("trunkd crm: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                tracing::info!(url = %format!("http://{}/", crm.local_addr()), "CRM running");
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
                let stop = async {
                    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                        Ok(t) => t,
                        Err(_) => return std::future::pending().await,
                    };
                    tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
                };
                match crm.run(stop).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("trunkd crm: {e}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
        CrmCmd::AddUser { config, login, role, name, contact } => {
            let Some(c) = load(&config) else { return ExitCode::from(EX_USAGE) };
            let Some(role) = Role::parse(&role) else {
                eprintln!("--role: `{role}` (expected agent, supervisor or admin)");
                return ExitCode::from(EX_USAGE);
            };
            let mut password = String::new();
            if std::io::stdin().read_line(&mut password).is_err() || password.trim_end_matches(['\r', '\n']).is_empty()
            {
                eprintln!("give the password on standard input");
                return ExitCode::from(EX_USAGE);
            }
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            rt.block_on(async move {
                let mut c = c;
                c.listen.set_port(0);
                let crm = match Crm::start(c).await {
                    Ok(crm) => crm,
                    Err(e) => {
                        eprintln!("trunkd crm: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                let display = name.unwrap_or_else(|| login.clone());
                match create_user(crm.pool(), &login, &display, role, &password, contact.as_deref()).await {
                    Ok(id) => {
                        println!("user {login} ({}) created, id {id}", role.as_str());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("trunkd crm: {e}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
    }
}

fn ctl(socket: &std::path::Path, json: bool, what: CtlCmd) -> ExitCode {
    let req = match what {
        CtlCmd::Status => Request::Status,
        CtlCmd::Spans => Request::Spans,
        CtlCmd::Channels => Request::Channels,
        CtlCmd::Calls => Request::Calls,
        CtlCmd::Plugins => Request::Plugins,
        CtlCmd::Restart { device } => Request::Restart { device },
        CtlCmd::Reload => Request::Reload,
        CtlCmd::Hangup { call, cause } => Request::Hangup { call, cause },
        CtlCmd::Originate { group, number, script } => Request::Originate { group, number, script },
        CtlCmd::Shutdown => Request::Shutdown,
    };
    let resp = match control::request(socket, &req) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot reach trunkd at {}: {e}", socket.display());
            return ExitCode::from(EX_UNAVAILABLE);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&resp).unwrap_or_default());
    } else if let Some(e) = &resp.error {
        eprintln!("error: {e}");
    } else {
        print!("{}", trunkd::daemon::control::render(&req, &resp.data));
    }
    if resp.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[allow(clippy::too_many_arguments)]
fn ivr_test(
    script: PathBuf,
    caller: String,
    called: String,
    steps: Vec<String>,
    args: Vec<String>,
    expects: Vec<String>,
    prompts: Option<PathBuf>,
    keep: Option<PathBuf>,
    zone: String,
    max_seconds: u64,
) -> ExitCode {
    use trunkd::core::apps::CallerStep;
    use trunkd::ivr::runner::{run, TestCall};
    let mut parsed = Vec::new();
    for s in if steps.is_empty() { vec!["wait 60000".to_string()] } else { steps } {
        match CallerStep::parse(&s) {
            Ok(st) => parsed.push(st),
            Err(e) => {
                eprintln!("--step {e}");
                return ExitCode::from(EX_USAGE);
            }
        }
    }
    if !script.is_file() {
        eprintln!("{}: no such script", script.display());
        return ExitCode::from(EX_USAGE);
    }
    let prompts = prompts
        .or_else(|| std::env::var_os("TRUNKD_PROMPTS").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("/usr/share/trunkd/prompts")).filter(|p| p.is_dir()))
        .unwrap_or_else(|| PathBuf::from("prompts"));
    let tmp;
    let data_dir = match keep {
        Some(k) => k,
        None => {
            tmp = std::env::temp_dir().join(format!("trunkd-ivr-test-{}", std::process::id()));
            tmp.clone()
        }
    };
    let call = TestCall {
        script: script.clone(),
        args,
        caller: caller.clone(),
        called: called.clone(),
        steps: parsed,
        prompts_dir: prompts,
        data_dir: data_dir.clone(),
        ivr: Default::default(),
        zone,
        max: Duration::from_secs(max_seconds),
    };
    let tr = match run(&call) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{} — caller {caller} dials {called}", script.display());
    for l in tr.lines() {
        println!("{l}");
    }
    if tr.timed_out {
        println!("(still running after {max_seconds} s of call time: stopped)");
    }
    let mut failed = 0;
    for e in &expects {
        match tr.expect(e) {
            Ok(true) => println!("PASS {e}"),
            Ok(false) => {
                println!("FAIL {e}");
                failed += 1;
            }
            Err(msg) => {
                eprintln!("{msg}");
                return ExitCode::from(EX_USAGE);
            }
        }
    }
    if !expects.is_empty() {
        println!("{} passed, {} failed", expects.len() - failed, failed);
    }
    if std::env::temp_dir().join(format!("trunkd-ivr-test-{}", std::process::id())) == data_dir {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
