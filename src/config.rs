//! The daemon's configuration: strict TOML, validated before anything starts.
//!
//! Every table denies unknown fields, so a typo is an error with its location rather
//! than a silently ignored setting. `validate` adds the checks serde cannot do (names
//! that must exist, patterns, step syntax) and reports *all* problems at once.

use crate::core::apps::CallerStep;
use crate::core::router::Pattern;
use crate::dsp::g711::Law;
use crate::dsp::zone;
use crate::signalling::analog::{FxoProfile, FxsProfile};
use crate::signalling::em::EmProfile;
use crate::signalling::pri::profile::PriConfig;
use crate::signalling::Cause;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The embedded default configuration `trunkd demo` runs on.
pub const DEMO_CONFIG: &str = include_str!("../examples/demo.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub general: General,
    #[serde(default, rename = "span")]
    pub spans: Vec<SpanConfig>,
    #[serde(default, rename = "line")]
    pub lines: Vec<LineConfig>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default)]
    pub ivr: IvrConfig,
    #[serde(default)]
    pub sim: SimConfig,
    /// Routing plugins, asked in this order before the static routes.
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<crate::plugin::PluginConfig>,
    /// The CTI WebSocket for the CRM (absent: off; call records are written anyway).
    pub cti: Option<crate::cti::CtiConfig>,
}

/// Lua IVR settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IvrConfig {
    /// Where `script = "…"` routes find their scripts.
    pub scripts_dir: PathBuf,
    /// Memory one call's script may allocate.
    pub memory_limit_kb: usize,
    /// Instructions a script may run between two waits on the call.
    pub instruction_limit: u64,
    /// Give scripts the `os` library (off: scripts cannot run programs or read the clock).
    pub allow_os: bool,
    /// Give scripts `io` and `require` (off: scripts cannot touch files).
    pub allow_io: bool,
    /// Played when a script fails, before the call is cleared (relative to the prompts dir).
    pub fallback_prompt: Option<PathBuf>,
}

impl Default for IvrConfig {
    fn default() -> Self {
        IvrConfig {
            scripts_dir: "/etc/trunkd/scripts".into(),
            memory_limit_kb: 8192,
            instruction_limit: 20_000_000,
            allow_os: false,
            allow_io: false,
            fallback_prompt: Some("en/sorry.wav".into()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// This gateway's name in the CTI stream and call records.
    pub name: String,
    /// Recordings, messages, call records and the CTI journal live here.
    pub data_dir: PathBuf,
    /// Unix socket `trunkd ctl` talks to.
    pub control_socket: PathBuf,
    /// Prompt directory; relative prompt paths resolve against it. Default: `<data_dir>/prompts`.
    pub prompts_dir: Option<PathBuf>,
    /// Default tone zone for spans and lines that do not name one.
    pub zone: String,
    /// Default companding law.
    pub law: Law,
    /// How long a graceful shutdown waits for calls to clear after hanging them up.
    pub shutdown_grace_ms: u64,
    /// systemd READY waits for every span to be up, but no longer than this: a span with
    /// an unplugged cable must not fail the boot (STATUS then names the spans in alarm).
    pub ready_timeout_ms: u64,
    /// How long an offered call waits for the routing plugin chain before the static
    /// routes decide.
    pub plugin_timeout_ms: u64,
}

impl Default for General {
    fn default() -> Self {
        General {
            name: "trunkd".into(),
            data_dir: "/var/lib/trunkd".into(),
            control_socket: "/run/trunkd/trunkd.ctl".into(),
            prompts_dir: None,
            zone: "cn".into(),
            law: Law::Alaw,
            shutdown_grace_ms: 5000,
            ready_timeout_ms: 10_000,
            plugin_timeout_ms: 200,
        }
    }
}

impl General {
    pub fn prompts_dir(&self) -> PathBuf {
        self.prompts_dir.clone().unwrap_or_else(|| self.data_dir.join("prompts"))
    }
}

/// Which backend provides a span or line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// The simulated physical layer (with a simulated far end).
    Sim,
    /// A DAHDI card.
    Dahdi,
}

/// The signalling an E1 span runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpanSignalling {
    /// E&M over CAS (immediate or wink start), DTMF addressing.
    Em,
    /// ISDN PRI: Q.921/Q.931 on the D-channel in timeslot 16 (settings in `[span.pri]`).
    Pri,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanConfig {
    pub name: String,
    pub backend: BackendKind,
    pub signalling: SpanSignalling,
    /// Tone zone (default: `general.zone`).
    pub zone: Option<String>,
    pub law: Option<Law>,
    #[serde(default)]
    pub em: EmProfile,
    /// ISDN PRI settings (`signalling = "pri"`).
    #[serde(default)]
    pub pri: PriConfig,
    /// Simulated spans only: put the far end of the wire on this Unix SEQPACKET socket
    /// for an external program (a libpri/OpenR2 harness) instead of the built-in far end.
    pub wire_socket: Option<PathBuf>,
    /// DAHDI spans (`backend = "dahdi"`): which span of the driver.
    pub dahdi: Option<DahdiSpanConfig>,
}

/// A DAHDI E1 span: timeslots 1–31 are the span's channels 1–31 (TS16 the D-channel for
/// PRI; for CAS signalling TS16 carries the bits and is not a channel).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DahdiSpanConfig {
    /// The driver's span number (`dahdi_scan`, `trunkd dahdi spans`).
    pub span: u32,
    /// Enable the driver's echo canceller (system.conf `echocanceller=`) with this many
    /// taps (8 per ms, e.g. 128); absent: off.
    pub echo_cancel: Option<u32>,
}

/// DAHDI analog ports: the driver's channels, in port order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DahdiLineConfig {
    /// Channel numbers as system.conf writes them: "1-4,7".
    pub channels: ChannelList,
    /// As for spans: echo canceller taps, absent = off.
    pub echo_cancel: Option<u32>,
}

/// Echo canceller taps DAHDI takes (`echo_cancel`), and how to say so.
const ECHO_TAPS: std::ops::RangeInclusive<u32> = 8..=1024;
const ECHO_TAPS_HINT: &str = "taps: 8..=1024 (8 per ms, e.g. 128)";

/// Whether `echo_cancel` is set to a tap count the driver refuses.
fn bad_echo_taps(echo_cancel: Option<u32>) -> bool {
    echo_cancel.is_some_and(|t| !ECHO_TAPS.contains(&t))
}

/// A list of channel numbers written as ranges ("1-15,17-31").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelList(pub Vec<u32>);

impl std::str::FromStr for ChannelList {
    type Err = String;
    fn from_str(s: &str) -> Result<ChannelList, String> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            // DAHDI numbers channels from 1; no driver has anywhere near 65535.
            let num = |x: &str| {
                x.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=65535).contains(n))
                    .ok_or_else(|| format!("`{x}` is not a channel number"))
            };
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => (num(part)?, num(part)?),
            };
            if a > b || b - a > 1024 {
                return Err(format!("`{part}` is not a channel range"));
            }
            for n in a..=b {
                if v.contains(&n) {
                    return Err(format!("channel {n} is listed twice"));
                }
                v.push(n);
            }
        }
        if v.is_empty() {
            return Err("no channels".into());
        }
        Ok(ChannelList(v))
    }
}

impl<'de> Deserialize<'de> for ChannelList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which side of an analog line trunkd plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineKind {
    /// trunkd drives telephones (it is the exchange).
    Fxs,
    /// trunkd faces a central office line (it behaves like a telephone).
    Fxo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    pub name: String,
    pub backend: BackendKind,
    pub kind: LineKind,
    /// Number of ports in this group (simulated lines; a DAHDI line has its channels').
    pub ports: Option<u16>,
    pub zone: Option<String>,
    pub law: Option<Law>,
    /// The FXS profile: of our ports (`kind = "fxs"`), or of the simulated central office
    /// facing our FXO ports (`kind = "fxo"` on the simulated backend).
    #[serde(default)]
    pub fxs: FxsProfile,
    /// The FXO profile: of our ports (`kind = "fxo"`), or of the simulated telephones on
    /// our FXS ports (`kind = "fxs"` on the simulated backend).
    #[serde(default)]
    pub fxo: FxoProfile,
    /// DAHDI lines (`backend = "dahdi"`): which channels of the driver.
    pub dahdi: Option<DahdiLineConfig>,
}

impl LineConfig {
    /// Ports in the group: a DAHDI line's channels, else `ports` (default 1).
    pub fn port_count(&self) -> u16 {
        match &self.dahdi {
            Some(d) => d.channels.0.len() as u16,
            None => self.ports.unwrap_or(1),
        }
    }
}

/// One routing rule; the first rule that matches an incoming call decides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Span or line group the call arrives on (`*` wildcards allowed). Default: any.
    pub from: Option<String>,
    /// Called number pattern: exact digits, or `_` patterns (`X` 0-9, `Z` 1-9, `N` 2-9,
    /// `[1-5]`, `.` one or more). Default: any.
    pub called: Option<String>,
    /// Run a built-in application (`demo`).
    pub app: Option<String>,
    /// Run a Lua script (a path relative to `ivr.scripts_dir`).
    pub script: Option<String>,
    /// Arguments for the script (`argv[1]`, …).
    #[serde(default)]
    pub args: Vec<String>,
    /// Dial out on this group and bridge.
    pub dial: Option<String>,
    /// Number to dial (default: the called number, less `strip` leading digits).
    pub number: Option<String>,
    /// Leading digits to remove from the called number before dialling (an access code like `9`).
    #[serde(default)]
    pub strip: usize,
    /// Seconds to wait for the far end to answer when dialling.
    #[serde(default = "dial_timeout")]
    pub timeout: u64,
    /// Reject with this cause (`CALL_REJECTED`, `USER_BUSY`, `21`, …).
    pub reject: Option<String>,
    /// Prompt language for `app` (a directory under the prompts dir: `en`, `zh`, …).
    pub lang: Option<String>,
    /// Only for callers the CRM classified so (`vip`, `svip`, `normal`, …). Default: any.
    pub class: Option<String>,
    /// Record the whole call (stereo WAV under `recordings/calls/`, named by the call's uid).
    #[serde(default)]
    pub record: bool,
}

fn dial_timeout() -> u64 {
    30
}

impl RouteConfig {
    /// A route that runs a script (what a routing plugin's decision amounts to).
    pub fn script(name: &str, args: Vec<String>) -> RouteConfig {
        RouteConfig {
            from: None,
            called: None,
            app: None,
            script: Some(name.to_string()),
            args,
            dial: None,
            number: None,
            strip: 0,
            timeout: dial_timeout(),
            reject: None,
            lang: None,
            class: None,
            record: false,
        }
    }
}

/// The simulated far end: who calls in, and how the far side answers our calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    #[serde(default, rename = "caller")]
    pub callers: Vec<SimCaller>,
    /// How long the far end lets our outgoing calls ring before answering.
    #[serde(default = "ring_ms")]
    pub answer_after_ms: u64,
}

fn ring_ms() -> u64 {
    3000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCaller {
    /// The group (span or line name) whose far end places this call.
    pub via: String,
    /// First call at this time after start.
    #[serde(default)]
    pub at_ms: u64,
    /// Repeat every this many ms (default: once).
    pub every_ms: Option<u64>,
    /// How many calls (0 = unlimited while repeating).
    #[serde(default = "one_u32")]
    pub count: u32,
    /// Number dialled (ignored on lines that carry no number, like an FXO line).
    #[serde(default)]
    pub called: String,
    /// Caller's number presented.
    #[serde(default)]
    pub caller: String,
    /// What the caller does once answered (`wait MS`, `dtmf D`, `tone HZ MS`, `play F`, `hangup`).
    #[serde(default)]
    pub steps: Vec<String>,
}

fn one_u32() -> u32 {
    1
}

/// One problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: a key path (`route[2].dial`) or `line L, column C`.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// All problems found in a configuration file.
#[derive(Debug, thiserror::Error)]
#[error("{}", .errors.iter().map(|e| format!("{}{e}", .source_name)).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors {
    pub source_name: String,
    pub errors: Vec<ConfigError>,
}

impl Config {
    /// Parses and validates. `name` prefixes locations in errors (a file path, or "").
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigErrors> {
        let prefix = if name.is_empty() { String::new() } else { format!("{name}: ") };
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let location = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    format!("line {l}, column {c}")
                }
                None => "config".into(),
            };
            ConfigErrors {
                source_name: prefix.clone(),
                errors: vec![ConfigError { location, message: toml_message(&e) }],
            }
        })?;
        let errors = cfg.validate();
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors { source_name: prefix, errors })
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            source_name: format!("{name}: "),
            errors: vec![ConfigError { location: "file".into(), message: e.to_string() }],
        })?;
        Config::parse(&text, &name)
    }

    /// Names of all span and line groups, in config order.
    pub fn group_names(&self) -> Vec<&str> {
        self.spans.iter().map(|s| s.name.as_str()).chain(self.lines.iter().map(|l| l.name.as_str())).collect()
    }

    /// Checks serde cannot do; returns every problem.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |location: String, message: String| errs.push(ConfigError { location, message });
        let zones: Vec<String> =
            zone::builtin_zones().map(|z| z.into_iter().map(|z| z.name).collect()).unwrap_or_default();
        let zone_ok = |z: &str| zone::builtin_zone(z).is_some();
        if !zone_ok(&self.general.zone) {
            err(
                "general.zone".into(),
                format!("unknown tone zone `{}` (known: {})", self.general.zone, zones.join(", ")),
            );
        }
        let mut names = HashSet::new();
        for (i, s) in self.spans.iter().enumerate() {
            check_name(&s.name, &format!("span[{i}].name"), &mut names, &mut err);
            if s.wire_socket.is_some() && s.backend != BackendKind::Sim {
                err(format!("span[{i}].wire_socket"), "only simulated spans have a wire to expose".into());
            }
            match (s.backend, &s.dahdi) {
                (BackendKind::Dahdi, None) => {
                    err(format!("span[{i}].dahdi"), "a DAHDI span needs `dahdi = { span = N }`".into())
                }
                (BackendKind::Sim, Some(_)) => err(format!("span[{i}].dahdi"), "only for `backend = \"dahdi\"`".into()),
                (BackendKind::Dahdi, Some(d)) if d.span == 0 => {
                    err(format!("span[{i}].dahdi.span"), "DAHDI spans are numbered from 1".into())
                }
                (BackendKind::Dahdi, Some(d)) if bad_echo_taps(d.echo_cancel) => {
                    err(format!("span[{i}].dahdi.echo_cancel"), ECHO_TAPS_HINT.into())
                }
                _ => {}
            }
            if let Err(e) = s.em.validate() {
                err(format!("span[{i}].em"), e.to_string());
            }
            if let Err(e) = s.pri.profile() {
                err(format!("span[{i}].pri"), e.to_string());
            }
            if let Some(z) = &s.zone {
                if !zone_ok(z) {
                    err(format!("span[{i}].zone"), format!("unknown tone zone `{z}` (known: {})", zones.join(", ")));
                }
            }
        }
        for (i, l) in self.lines.iter().enumerate() {
            check_name(&l.name, &format!("line[{i}].name"), &mut names, &mut err);
            if let Err(e) = l.fxs.validate() {
                err(format!("line[{i}].fxs"), e.to_string());
            }
            if let Err(e) = l.fxo.validate() {
                err(format!("line[{i}].fxo"), e.to_string());
            }
            let ports = l.port_count();
            if ports == 0 || ports > 256 || l.dahdi.as_ref().is_some_and(|d| d.channels.0.len() > 256) {
                err(format!("line[{i}].ports"), format!("{ports} ports: must be 1..=256"));
            }
            match (l.backend, &l.dahdi) {
                (BackendKind::Dahdi, None) => {
                    err(format!("line[{i}].dahdi"), "a DAHDI line needs `dahdi = { channels = \"1-4\" }`".into())
                }
                (BackendKind::Sim, Some(_)) => err(format!("line[{i}].dahdi"), "only for `backend = \"dahdi\"`".into()),
                (BackendKind::Dahdi, Some(d)) if bad_echo_taps(d.echo_cancel) => {
                    err(format!("line[{i}].dahdi.echo_cancel"), ECHO_TAPS_HINT.into())
                }
                (BackendKind::Dahdi, Some(d)) if l.ports.is_some_and(|p| usize::from(p) != d.channels.0.len()) => {
                    err(format!("line[{i}].ports"), "a DAHDI line has one port per channel: leave `ports` out".into());
                }
                _ => {}
            }
            if let Some(z) = &l.zone {
                if !zone_ok(z) {
                    err(format!("line[{i}].zone"), format!("unknown tone zone `{z}` (known: {})", zones.join(", ")));
                }
            }
        }
        let groups = self.group_names();
        for (i, r) in self.routes.iter().enumerate() {
            let actions = [r.app.is_some(), r.script.is_some(), r.dial.is_some(), r.reject.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if actions != 1 {
                err(format!("route[{i}]"), "needs exactly one of `app`, `script`, `dial`, `reject`".into());
            }
            if let Some(sc) = &r.script {
                if let Err(e) = crate::ivr::host::check_script(&self.ivr, sc) {
                    err(format!("route[{i}].script"), e);
                }
            }
            if let Some(p) = &r.called {
                if let Err(e) = Pattern::parse(p) {
                    err(format!("route[{i}].called"), e);
                }
            }
            if let Some(a) = &r.app {
                if a != "demo" {
                    err(format!("route[{i}].app"), format!("unknown application `{a}` (built in: demo)"));
                }
            }
            if let Some(l) = &r.lang {
                if l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    err(format!("route[{i}].lang"), format!("`{l}`: a prompt set name like `en` or `zh`"));
                }
            }
            if let Some(d) = &r.dial {
                if !groups.contains(&d.as_str()) {
                    err(format!("route[{i}].dial"), format!("no span or line named `{d}`"));
                }
            }
            if let Some(c) = &r.reject {
                if Cause::from_name(c).is_none() {
                    err(
                        format!("route[{i}].reject"),
                        format!("unknown cause `{c}` (use a Q.850 name like CALL_REJECTED or a number 1..=127)"),
                    );
                }
            }
            if let Some(f) = &r.from {
                if !groups.iter().any(|g| crate::core::router::glob_match(f, g)) {
                    err(format!("route[{i}].from"), format!("`{f}` matches no span or line"));
                }
            }
        }
        if self.ivr.memory_limit_kb < 256 {
            err("ivr.memory_limit_kb".into(), "at least 256 (a Lua state alone needs some)".into());
        }
        if self.ivr.instruction_limit < 100_000 {
            err("ivr.instruction_limit".into(), "at least 100000".into());
        }
        for (i, c) in self.sim.callers.iter().enumerate() {
            let group_is_sim = self
                .spans
                .iter()
                .map(|s| (&s.name, s.backend))
                .chain(self.lines.iter().map(|l| (&l.name, l.backend)))
                .find(|(n, _)| **n == c.via);
            match group_is_sim {
                None => err(format!("sim.caller[{i}].via"), format!("no span or line named `{}`", c.via)),
                Some((_, BackendKind::Dahdi)) => {
                    err(format!("sim.caller[{i}].via"), format!("`{}` is not a simulated span or line", c.via))
                }
                _ => {}
            }
            for (j, s) in c.steps.iter().enumerate() {
                if let Err(e) = CallerStep::parse(s) {
                    err(format!("sim.caller[{i}].steps[{j}]"), e);
                }
            }
            const DAY_MS: u64 = 86_400_000;
            if c.every_ms.is_some_and(|e| e == 0 || e > DAY_MS) {
                err(format!("sim.caller[{i}].every_ms"), "must be 1..=86400000 (a day)".into());
            }
            if c.at_ms > DAY_MS {
                err(format!("sim.caller[{i}].at_ms"), "must be at most 86400000 (a day)".into());
            }
        }
        let mut plugin_names = HashSet::new();
        for (i, p) in self.plugins.iter().enumerate() {
            if !plugin_names.insert(p.name.clone()) || p.name.is_empty() {
                err(format!("plugin[{i}].name"), format!("`{}` is empty or used twice", p.name));
            }
            if let Err(e) = crate::plugin::check_path(&p.path) {
                err(format!("plugin[{i}].path"), e);
            }
        }
        if !(1..=10_000).contains(&self.general.plugin_timeout_ms) {
            err("general.plugin_timeout_ms".into(), "must be 1..=10000".into());
        }
        if let Some(c) = &self.cti {
            for (k, m) in c.check() {
                err(k, m);
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if let Some(c) = &r.class {
                if !["vip", "svip", "normal", "whitelist", ""].contains(&c.to_ascii_lowercase().as_str()) {
                    err(
                        format!("route[{i}].class"),
                        format!(
                            "`{c}`: expected vip, svip, normal or whitelist (blacklisted callers never reach routes)"
                        ),
                    );
                }
            }
        }
        if !cfg!(target_os = "linux") {
            let dahdi = self.spans.iter().map(|s| s.backend).chain(self.lines.iter().map(|l| l.backend));
            if dahdi.into_iter().any(|b| b == BackendKind::Dahdi) {
                err("backend".into(), "DAHDI is a Linux driver: this build has no DAHDI backend".into());
            }
        }
        errs
    }
}

fn check_name(name: &str, loc: &str, seen: &mut HashSet<String>, err: &mut impl FnMut(String, String)) {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        err(loc.into(), format!("`{name}`: names use letters, digits, `-` and `_`"));
    }
    if !seen.insert(name.to_string()) {
        err(loc.into(), format!("`{name}` is used twice"));
    }
}

/// toml's message, or a plain one where it gives none (some lexical errors).
fn toml_message(e: &toml::de::Error) -> String {
    let m = e.message().trim();
    if m.is_empty() {
        "invalid TOML here (an unfinished value, or a control character such as a bare carriage return)".into()
    } else {
        m.to_string()
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}
