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
    /// Validate a configuration file and print every problem with its location.
    Check {
        #[arg(long, short, default_value = "/etc/trunkd/trunkd.toml")]
        config: PathBuf,
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
    /// Re-read the config: routes and prompts for new calls.
    Reload,
    /// Clear a call.
    Hangup { call: u64, cause: Option<String> },
    /// Place a call on a span or line group into the demo IVR.
    Originate { group: String, number: String },
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
        Cmd::Demo { data_dir, duration } => {
            init_logging();
            let cfg = trunkd::demo::config(&data_dir);
            if let Err(e) = trunkd::demo::install_prompts(&cfg.general.prompts_dir()) {
                eprintln!("cannot write prompts under {}: {e}", data_dir.display());
                return ExitCode::FAILURE;
            }
            let abs = std::fs::canonicalize(&data_dir).unwrap_or(data_dir.clone());
            println!("trunkd demo: simulated E1 span `e1-1` (E&M), FXO lines `pstn`, FXS phones `phones`");
            println!("data directory: {}", abs.display());
            println!(
                "  recordings: {}/recordings   control: trunkd ctl -s {}/trunkd.ctl calls",
                abs.display(),
                abs.display()
            );
            println!("Ctrl-C clears all calls and exits.\n");
            run(cfg, None, true, duration)
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

fn run(cfg: Config, config_path: Option<PathBuf>, live: bool, duration: Option<u64>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = RunOptions { config_path, live, duration: duration.map(Duration::from_secs) };
    match rt.block_on(daemon::run(cfg, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("trunkd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ctl(socket: &std::path::Path, json: bool, what: CtlCmd) -> ExitCode {
    let req = match what {
        CtlCmd::Status => Request::Status,
        CtlCmd::Spans => Request::Spans,
        CtlCmd::Channels => Request::Channels,
        CtlCmd::Calls => Request::Calls,
        CtlCmd::Reload => Request::Reload,
        CtlCmd::Hangup { call, cause } => Request::Hangup { call, cause },
        CtlCmd::Originate { group, number } => Request::Originate { group, number },
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
