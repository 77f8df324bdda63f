//! DAHDI's `system.conf` read into a typed model and turned into trunkd's configuration,
//! for `trunkd dahdi import` (users moving from Asterisk keep their working card setup).
//!
//! [`parse`] refuses what `dahdi_cfg` would refuse, with the line; [`to_trunkd`] writes
//! the equivalent `[[span]]`/`[[line]]` tables as TOML, with a comment for every decision
//! and a [`Warning`] for everything that does not carry over. Pure (no file, no device):
//! the CLI and the tests share every decision.
//!
//! system.conf stays in use afterwards: dahdi_cfg still sets up framing, coding, timing
//! and each channel's signalling, and the DAHDI backend checks its channels against it.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::backend::line::Abcd;
use crate::config::LineKind;
use crate::dsp::zone;

/// Highest channel number (the driver's DAHDI_MAX_CHANNELS is 1024, channel 0 unused).
pub const MAX_CHANNEL: u32 = 1023;
/// Highest span number (DAHDI_MAX_SPANS is 128, span 0 unused).
pub const MAX_SPAN: u32 = 127;
/// Echo canceller taps for channels system.conf gives a canceller: 16 ms, what
/// chan_dahdi's `echocancel=yes` means.
pub const ECHO_TAPS: u32 = 128;
/// Ports in one `[[line]]` (what `Config::validate` allows).
const MAX_PORTS: usize = 256;
/// The E1 timeslot of the PRI D-channel (and of the CAS bits).
const TS16: u32 = 16;
/// trunkd's E&M on-hook bits by default (`EmProfile::default().onhook_bits`).
const EM_ONHOOK: Abcd = Abcd::new(0b0101);

/// Why a system.conf cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// 1-based line of system.conf.
    pub line: usize,
    pub kind: ParseErrorKind,
}

/// What is wrong with a line (the messages quote the input with control characters
/// replaced, so they are safe to print).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("expected `keyword=value`")]
    Syntax,
    #[error("`span={0}`: {1} (expected <span>,<timing>,<lbo>,<framing>,<coding>[,crc4][,yellow])")]
    Span(String, String),
    #[error("span {span} is already defined at line {first}")]
    SpanTwice { span: u32, first: usize },
    #[error("channel list `{list}`: {why}")]
    Channels { list: String, why: String },
    #[error("channel {chan} is already configured as {sig} at line {first}")]
    ChannelTwice { chan: u32, sig: &'static str, first: usize },
    #[error("`{0}=` needs the idle bits after the channels, four 0/1 with A first: `{0}=1-15:1101`")]
    CasIdle(&'static str),
    #[error("`{0}=` needs the first destination channel after the channels: `{0}=1-24:48`")]
    DacsTarget(&'static str),
    #[error("`echocanceller=` needs a canceller name and channels: `echocanceller=mg2,1-15,17-31`")]
    Echo,
    #[error("`dynamic={0}`: {1} (expected <driver>,<address>,<channels>,<timing>)")]
    Dynamic(String, String),
}

/// Something system.conf says that the trunkd configuration does not carry over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The system.conf line it is about, where there is one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Span framing: E1 (`ccs`, `cas`) or T1 (`d4`, `esf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Ccs,
    Cas,
    D4,
    Esf,
}

/// Line coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Ami,
    Hdb3,
    B8zs,
}

impl Coding {
    pub fn name(self) -> &'static str {
        match self {
            Coding::Ami => "ami",
            Coding::Hdb3 => "hdb3",
            Coding::B8zs => "b8zs",
        }
    }
}

/// What a `span=` line describes, as far as channel numbering goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    E1,
    T1,
    /// `ccs` with `ami` coding: how system.conf writes a BRI port (two B, one D).
    Bri,
}

impl SpanKind {
    /// Channel numbers the span takes from the driver's global numbering.
    pub fn channels(self) -> u32 {
        match self {
            SpanKind::E1 => 31,
            SpanKind::T1 => 24,
            SpanKind::Bri => 3,
        }
    }
}

/// One `span=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanDef {
    pub line: usize,
    pub span: u32,
    /// 0: never a clock source; 1, 2, …: preference for taking the far end's clock.
    pub timing: u32,
    pub lbo: u8,
    pub framing: Framing,
    pub coding: Coding,
    pub crc4: bool,
    pub yellow: bool,
    /// `nt` or `te` (a BRI port's mode): `Some(true)` for `nt`.
    pub nt: Option<bool>,
    pub term: bool,
    /// The value as written, for comments.
    pub text: String,
}

impl SpanDef {
    pub fn kind(&self) -> SpanKind {
        match (self.framing, self.coding) {
            (Framing::D4 | Framing::Esf, _) => SpanKind::T1,
            (Framing::Ccs, Coding::Ami) => SpanKind::Bri,
            _ => SpanKind::E1,
        }
    }
}

/// A channel's signalling as system.conf sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// `e&m`: E&M run by the driver.
    Em,
    /// `e&me1`: E&M over E1 CAS, run by the driver.
    EmE1,
    FxsLs,
    FxsGs,
    FxsKs,
    FxoLs,
    FxoGs,
    FxoKs,
    /// `cas` (or `user`): raw CAS bits for the application; these bits go out while the
    /// channel is closed.
    Cas(Abcd),
    /// `bchan` (or `indclear`): a clear 64 kbit/s channel.
    Bchan,
    Clear,
    Dchan,
    HardHdlc,
    FcsHdlc,
    RawHdlc,
    NetHdlc,
    Mtp2,
    Unused,
    Dacs,
    DacsRbs,
}

impl Sig {
    /// The system.conf keyword.
    pub fn name(self) -> &'static str {
        match self {
            Sig::Em => "e&m",
            Sig::EmE1 => "e&me1",
            Sig::FxsLs => "fxsls",
            Sig::FxsGs => "fxsgs",
            Sig::FxsKs => "fxsks",
            Sig::FxoLs => "fxols",
            Sig::FxoGs => "fxogs",
            Sig::FxoKs => "fxoks",
            Sig::Cas(_) => "cas",
            Sig::Bchan => "bchan",
            Sig::Clear => "clear",
            Sig::Dchan => "dchan",
            Sig::HardHdlc => "hardhdlc",
            Sig::FcsHdlc => "fcshdlc",
            Sig::RawHdlc => "rawhdlc",
            Sig::NetHdlc => "nethdlc",
            Sig::Mtp2 => "mtp2",
            Sig::Unused => "unused",
            Sig::Dacs => "dacs",
            Sig::DacsRbs => "dacsrbs",
        }
    }

    /// The trunkd line kind of an analog port: FXO signalling drives an FXS port (phones
    /// plug in), FXS signalling an FXO port (it faces an exchange line).
    pub fn line_kind(self) -> Option<LineKind> {
        match self {
            Sig::FxoLs | Sig::FxoGs | Sig::FxoKs => Some(LineKind::Fxs),
            Sig::FxsLs | Sig::FxsGs | Sig::FxsKs => Some(LineKind::Fxo),
            _ => None,
        }
    }

    /// A D-channel trunkd's PRI can run on (the backend accepts these signalling types).
    fn is_dchan(self) -> bool {
        matches!(self, Sig::Dchan | Sig::HardHdlc | Sig::FcsHdlc)
    }
}

/// A channel's signalling and the line that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChanSig {
    pub sig: Sig,
    pub line: usize,
}

/// A `dynamic=` span (dahdi_dynamic: a TDM-over-Ethernet span and the like).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dynamic {
    pub line: usize,
    pub driver: String,
    pub address: String,
    pub channels: u32,
    pub timing: u32,
}

/// `alaw=`, `mulaw=`, `deflaw=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LawSetting {
    Alaw,
    Mulaw,
    Default,
}

/// An `echocanceller=` assignment of one channel (a later line overrides an earlier one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoCan {
    pub name: String,
    pub line: usize,
}

/// A line whose keyword is not carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub line: usize,
    /// Lower-cased keyword.
    pub key: String,
    /// A keyword dahdi_cfg knows (radio settings, `56k`); false: one it would refuse.
    pub known: bool,
}

/// A system.conf, directive by directive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemConf {
    /// `span=` lines in file order.
    pub spans: Vec<SpanDef>,
    pub dynamic: Vec<Dynamic>,
    /// Every configured channel's signalling, by global channel number.
    pub channels: BTreeMap<u32, ChanSig>,
    /// Channels an `mfcr2=` line marks as MFC/R2 (with that line).
    pub mfcr2: BTreeMap<u32, usize>,
    pub echo: BTreeMap<u32, EchoCan>,
    pub laws: BTreeMap<u32, (LawSetting, usize)>,
    /// `loadzone=` lines: (line, zone).
    pub load_zones: Vec<(usize, String)>,
    /// The last `defaultzone=`: (line, zone).
    pub default_zone: Option<(usize, String)>,
    pub ignored: Vec<Ignored>,
}

/// Radio-interface and other keywords dahdi_cfg accepts that have nothing to become here.
const KNOWN_IGNORED: &[&str] = &[
    "ctcss",
    "dcsrx",
    "rxdcs",
    "tx",
    "debouncetime",
    "bursttime",
    "exttone",
    "invertcor",
    "corthresh",
    "rxgain",
    "txgain",
    "deemp",
    "preemp",
    "channel",
    "channels",
    "56k",
];

/// Parses system.conf text (`#` and `;` start comments; keywords are case-insensitive, as
/// for dahdi_cfg). Unknown keywords are kept in [`SystemConf::ignored`], not refused.
pub fn parse(text: &str) -> Result<SystemConf, ParseError> {
    let mut conf = SystemConf::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split(['#', ';']).next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let err = |kind| ParseError { line, kind };
        let (key, value) = content
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or(err(ParseErrorKind::Syntax))?;
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "span" => {
                let s = span_def(line, value).map_err(|why| err(ParseErrorKind::Span(clean(value), why)))?;
                if let Some(first) = conf.spans.iter().find(|o| o.span == s.span) {
                    return Err(err(ParseErrorKind::SpanTwice { span: s.span, first: first.line }));
                }
                conf.spans.push(s);
            }
            "dynamic" => {
                let d = dynamic(line, value).map_err(|why| err(ParseErrorKind::Dynamic(clean(value), why)))?;
                conf.dynamic.push(d);
            }
            "loadzone" => conf.load_zones.push((line, value.to_string())),
            "defaultzone" => conf.default_zone = Some((line, value.to_string())),
            "mfcr2" => {
                let list = value.split_once(':').map_or(value, |(l, _)| l);
                for ch in channel_list(list).map_err(err)? {
                    conf.mfcr2.insert(ch, line);
                }
            }
            "echocanceller" => {
                let (name, list) = value.split_once(',').ok_or(err(ParseErrorKind::Echo))?;
                let name = name.trim();
                if name.is_empty() || list.trim().trim_matches(',').is_empty() {
                    return Err(err(ParseErrorKind::Echo));
                }
                for ch in channel_list(list).map_err(err)? {
                    conf.echo.insert(ch, EchoCan { name: name.to_string(), line });
                }
            }
            "alaw" | "mulaw" | "deflaw" => {
                let law = match key.as_str() {
                    "alaw" => LawSetting::Alaw,
                    "mulaw" => LawSetting::Mulaw,
                    _ => LawSetting::Default,
                };
                for ch in channel_list(value).map_err(err)? {
                    conf.laws.insert(ch, (law, line));
                }
            }
            k => match signalling(k) {
                Some(kw) => {
                    let (list, extra) = match value.split_once(':') {
                        Some((l, e)) => (l, Some(e.trim())),
                        None => (value, None),
                    };
                    let sig = match kw {
                        SigKw::Plain(sig) => sig,
                        SigKw::Cas(name) => {
                            Sig::Cas(extra.and_then(idle_bits).ok_or(err(ParseErrorKind::CasIdle(name)))?)
                        }
                        SigKw::Dacs(name, sig) => {
                            extra
                                .and_then(number)
                                .filter(|n| (1..=MAX_CHANNEL).contains(n))
                                .ok_or(err(ParseErrorKind::DacsTarget(name)))?;
                            sig
                        }
                    };
                    for ch in channel_list(list).map_err(err)? {
                        if let Some(first) = conf.channels.get(&ch) {
                            return Err(err(ParseErrorKind::ChannelTwice {
                                chan: ch,
                                sig: first.sig.name(),
                                first: first.line,
                            }));
                        }
                        conf.channels.insert(ch, ChanSig { sig, line });
                    }
                }
                None => {
                    let known = KNOWN_IGNORED.contains(&k);
                    conf.ignored.push(Ignored { line, key: k.to_string(), known });
                }
            },
        }
    }
    Ok(conf)
}

/// A channel-signalling keyword and what its `:extra` part must be.
enum SigKw {
    Plain(Sig),
    Cas(&'static str),
    Dacs(&'static str, Sig),
}

fn signalling(key: &str) -> Option<SigKw> {
    use SigKw::Plain;
    Some(match key {
        "e&m" => Plain(Sig::Em),
        "e&me1" => Plain(Sig::EmE1),
        "fxsls" => Plain(Sig::FxsLs),
        "fxsgs" => Plain(Sig::FxsGs),
        "fxsks" => Plain(Sig::FxsKs),
        "fxols" => Plain(Sig::FxoLs),
        "fxogs" => Plain(Sig::FxoGs),
        "fxoks" => Plain(Sig::FxoKs),
        "bchan" | "indclear" => Plain(Sig::Bchan),
        "clear" => Plain(Sig::Clear),
        "dchan" => Plain(Sig::Dchan),
        "hardhdlc" => Plain(Sig::HardHdlc),
        "fcshdlc" => Plain(Sig::FcsHdlc),
        "rawhdlc" => Plain(Sig::RawHdlc),
        "nethdlc" => Plain(Sig::NetHdlc),
        "mtp2" => Plain(Sig::Mtp2),
        "unused" => Plain(Sig::Unused),
        "cas" => SigKw::Cas("cas"),
        "user" => SigKw::Cas("user"),
        "dacs" => SigKw::Dacs("dacs", Sig::Dacs),
        "dacsrbs" => SigKw::Dacs("dacsrbs", Sig::DacsRbs),
        _ => return None,
    })
}

/// A decimal number, digits only (`+5`, `5x` are refused rather than read as 5).
fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `1101`: four bits, A first (stricter than a radix parse, which would take `+101`).
fn idle_bits(s: &str) -> Option<Abcd> {
    if s.len() != 4 || !s.bytes().all(|b| b == b'0' || b == b'1') {
        return None;
    }
    Some(Abcd::new(s.bytes().fold(0u8, |acc, b| (acc << 1) | (b - b'0'))))
}

fn span_def(line: usize, value: &str) -> Result<SpanDef, String> {
    let args: Vec<&str> = value.split(',').map(str::trim).collect();
    if !(5..=9).contains(&args.len()) {
        return Err(format!("{} fields", args.len()));
    }
    let span = number(args[0])
        .filter(|n| (1..=MAX_SPAN).contains(n))
        .ok_or_else(|| format!("span number `{}` is not 1..={MAX_SPAN}", clean(args[0])))?;
    let timing =
        number(args[1]).filter(|t| *t <= 255).ok_or_else(|| format!("timing `{}` is not 0..=255", clean(args[1])))?;
    let lbo = number(args[2])
        .filter(|l| *l <= 7)
        .map(|l| l as u8)
        .ok_or_else(|| format!("line build-out `{}` is not 0..=7", clean(args[2])))?;
    let framing = match args[3].to_ascii_lowercase().as_str() {
        "ccs" => Framing::Ccs,
        "cas" => Framing::Cas,
        "d4" => Framing::D4,
        "esf" => Framing::Esf,
        _ => return Err(format!("framing `{}` is not ccs, cas (E1), d4 or esf (T1)", clean(args[3]))),
    };
    let coding = match args[4].to_ascii_lowercase().as_str() {
        "ami" => Coding::Ami,
        "hdb3" => Coding::Hdb3,
        "b8zs" => Coding::B8zs,
        _ => return Err(format!("coding `{}` is not ami, hdb3 or b8zs", clean(args[4]))),
    };
    let mut s = SpanDef {
        line,
        span,
        timing,
        lbo,
        framing,
        coding,
        crc4: false,
        yellow: false,
        nt: None,
        term: false,
        text: clean(value),
    };
    for opt in &args[5..] {
        match opt.to_ascii_lowercase().as_str() {
            "crc4" => s.crc4 = true,
            "yellow" => s.yellow = true,
            "nt" => s.nt = Some(true),
            "te" => s.nt = Some(false),
            "term" => s.term = true,
            _ => return Err(format!("`{}` is not crc4, yellow, nt, te or term", clean(opt))),
        }
    }
    Ok(s)
}

fn dynamic(line: usize, value: &str) -> Result<Dynamic, String> {
    let args: Vec<&str> = value.split(',').map(str::trim).collect();
    let [driver, address, channels, timing] = args[..] else {
        return Err(format!("{} fields", args.len()));
    };
    let channels = number(channels)
        .filter(|n| (1..=MAX_CHANNEL).contains(n))
        .ok_or_else(|| format!("channel count `{}` is not 1..={MAX_CHANNEL}", clean(channels)))?;
    let timing = number(timing).ok_or_else(|| format!("timing `{}` is not a number", clean(timing)))?;
    Ok(Dynamic { line, driver: clean(driver), address: clean(address), channels, timing })
}

/// A system.conf channel list (`1-15,17-31`, `16-23, 29`), ascending without repeats.
fn channel_list(list: &str) -> Result<Vec<u32>, ParseErrorKind> {
    let bad = |why: String| ParseErrorKind::Channels { list: clean(list.trim()), why };
    // A bitmap: a long list of overlapping ranges costs no more than the channels it names.
    let mut set = vec![false; MAX_CHANNEL as usize + 1];
    let num = |x: &str| {
        number(x)
            .filter(|n| (1..=MAX_CHANNEL).contains(n))
            .ok_or_else(|| bad(format!("`{}` is not a channel number (1..={MAX_CHANNEL})", clean(x.trim()))))
    };
    let mut any = false;
    // dahdi_cfg allows a trailing comma; empty items elsewhere are harmless too.
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if a > b {
            return Err(bad(format!("range `{}` ends before it starts", clean(part))));
        }
        for n in a..=b {
            set[n as usize] = true;
        }
        any = true;
    }
    if !any {
        return Err(bad("no channels".into()));
    }
    Ok((1..=MAX_CHANNEL).filter(|n| set[*n as usize]).collect())
}

/// Text from the input made safe for a TOML comment or a terminal: control characters
/// (which TOML refuses in comments) become `?`.
pub fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() && c != '\t' { '?' } else { c }).collect()
}

/// `1-4,7,9-10` from ascending channel numbers.
fn ranges(chans: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < chans.len() {
        let mut j = i;
        while j + 1 < chans.len() && chans[j + 1] == chans[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j == i {
            let _ = write!(out, "{}", chans[i]);
        } else {
            let _ = write!(out, "{}-{}", chans[i], chans[j]);
        }
        i = j + 1;
    }
    out
}

/// `channel 7`, `channels 1-4,7`.
fn channels_of(chans: &[u32]) -> String {
    match chans {
        [one] => format!("channel {one}"),
        _ => format!("channels {}", ranges(chans)),
    }
}

/// `line 3`, `lines 3, 7`: where a set of decisions came from.
fn lines_of(mut lines: Vec<usize>) -> String {
    lines.sort_unstable();
    lines.dedup();
    let list: Vec<String> = lines.iter().map(usize::to_string).collect();
    match list.len() {
        1 => format!("line {}", list[0]),
        _ => format!("lines {}", list.join(", ")),
    }
}

/// How far the `echocanceller=` lines cover a set of channels.
enum Echo {
    None,
    /// Every channel: the cancellers named and their lines.
    All(Vec<String>, Vec<usize>),
    /// Only these.
    Partial(Vec<u32>),
}

/// The conversion in progress.
struct Import<'a> {
    conf: &'a SystemConf,
    warnings: Vec<Warning>,
    general: String,
    body: String,
}

/// Writes a line to a `String` (which cannot fail).
macro_rules! out {
    ($s:expr) => {
        $s.push('\n')
    };
    ($s:expr, $($arg:tt)*) => {{
        let _ = writeln!($s, $($arg)*);
    }};
}

/// The trunkd configuration equivalent to `conf` (TOML with comments), and what does
/// not carry over (also written into the TOML as comments).
///
/// Channel numbers follow the driver's global numbering as system.conf assumes it:
/// digital spans in span order from 1 (E1 31 channels, T1 24, BRI 3), analog ports after
/// them. A PRI E1 becomes `signalling = "pri"`, a CAS E1 `signalling = "em"`; MFC/R2, T1
/// and BRI spans are left out with a warning; FXO-signalled channels become FXS lines and
/// FXS-signalled ones FXO lines, one `[[line]]` per run of consecutive channels.
pub fn to_trunkd(conf: &SystemConf) -> (String, Vec<Warning>) {
    let mut im = Import { conf, warnings: Vec::new(), general: String::new(), body: String::new() };
    let zone = im.zone();
    let switch = if zone.as_deref() == Some("cn") { "china" } else { "etsi" };
    let analog_from = im.spans(switch);
    im.analog(analog_from);
    im.dynamic();
    im.others();
    // In file order, so the list reads alongside system.conf.
    im.warnings.sort_by_key(|w| w.line);

    let mut text = String::new();
    out!(text, "# trunkd configuration converted from DAHDI's system.conf by `trunkd dahdi import`.");
    out!(text, "# Keep system.conf and dahdi_cfg: they still set up the spans (timing, framing, coding,");
    out!(text, "# CRC-4) and each channel's signalling, and trunkd checks its channels against them.");
    out!(text, "# DAHDI channel numbers below assume the digital spans come first, in span order (E1: 31");
    out!(text, "# channels, T1: 24), then the analog ports: compare with `lsdahdi` before use.");
    out!(text, "# Then check the result: trunkd check --config FILE");
    if !im.warnings.is_empty() {
        out!(text, "#");
        out!(text, "# Warnings (also printed on standard error):");
        for w in &im.warnings {
            out!(text, "# WARNING {w}");
        }
    }
    out!(text);
    text.push_str(&im.general);
    text.push_str(&im.body);
    (text, im.warnings)
}

impl Import<'_> {
    fn warn(&mut self, line: Option<usize>, message: String) {
        self.warnings.push(Warning { line, message });
    }

    /// `[general] zone` from `defaultzone=` (else the first `loadzone=`); the zone's name
    /// if trunkd has it built in.
    fn zone(&mut self) -> Option<String> {
        let conf = self.conf;
        let chosen =
            conf.default_zone.as_ref().map(|z| (z, "defaultzone")).or(conf.load_zones.first().map(|z| (z, "loadzone")));
        let Some(((line, name), key)) = chosen else {
            out!(
                self.general,
                "# system.conf names no tone zone (DAHDI then uses `us`); trunkd's default zone is `cn`:"
            );
            out!(self.general, "# set [general] zone if that is not right.");
            out!(self.general);
            return None;
        };
        let others: Vec<String> = conf
            .load_zones
            .iter()
            .filter(|(_, z)| z != name)
            .map(|(l, z)| format!("{} (line {l})", clean(z)))
            .collect();
        let lower = name.to_ascii_lowercase();
        if zone::builtin_zone(&lower).is_some() {
            out!(self.general, "[general]");
            out!(self.general, "# {key}={} (line {line}): the tones trunkd plays and listens for.", clean(name));
            if !others.is_empty() {
                out!(self.general, "# Also loaded: {}; a span or line can name its own `zone`.", others.join(", "));
            }
            out!(self.general, "zone = \"{lower}\"");
            out!(self.general);
            return Some(lower);
        }
        let known: Vec<String> =
            zone::builtin_zones().map(|z| z.into_iter().map(|z| z.name).collect()).unwrap_or_default();
        self.warn(
            Some(*line),
            format!(
                "tone zone `{}` is not built into trunkd (built in: {}): [general] zone left at its default, `cn` \
                 (much of Europe uses `etsi`)",
                clean(name),
                known.join(", ")
            ),
        );
        out!(
            self.general,
            "# {key}={} (line {line}): not a zone trunkd has; [general] zone keeps its default.",
            clean(name)
        );
        out!(self.general);
        None
    }

    /// Every `span=` in span order; returns the first channel number after them.
    fn spans(&mut self, switch: &str) -> u32 {
        let mut spans: Vec<&SpanDef> = self.conf.spans.iter().collect();
        spans.sort_by_key(|s| s.span);
        let numbers: Vec<u32> = spans.iter().map(|s| s.span).collect();
        if numbers.iter().enumerate().any(|(i, n)| *n != i as u32 + 1) {
            let list: Vec<String> = numbers.iter().map(u32::to_string).collect();
            self.warn(
                None,
                format!(
                    "the spans are numbered {}, not 1, 2, 3…: the channel numbers here assume no other span (an \
                     analog card, an undeclared span) comes before or between them; check with lsdahdi",
                    list.join(", ")
                ),
            );
        }
        let mut first = 1;
        for s in spans {
            let kind = s.kind();
            let chans: Vec<u32> = (first..first + kind.channels()).collect();
            out!(self.body, "# span={} (line {}): DAHDI span {}, channels {}.", s.text, s.line, s.span, ranges(&chans));
            match kind {
                SpanKind::E1 => self.e1(s, first, switch),
                SpanKind::T1 => {
                    let framing = if s.framing == Framing::D4 { "d4" } else { "esf" };
                    self.warn(
                        Some(s.line),
                        format!("span {} is a T1 ({framing} framing): trunkd runs E1 only; not carried over", s.span),
                    );
                    out!(self.body, "# A T1 span: trunkd runs E1 only, so it is left out.");
                    out!(self.body);
                }
                SpanKind::Bri => {
                    self.warn(
                        Some(s.line),
                        format!(
                            "span {} has ccs framing with ami coding, which is how system.conf writes a BRI port \
                             (taken as 3 channels): trunkd has no BRI; not carried over",
                            s.span
                        ),
                    );
                    out!(self.body, "# ccs framing with ami coding: a BRI port, which trunkd does not run; left out.");
                    out!(self.body);
                }
            }
            first += kind.channels();
        }
        first
    }

    /// One E1 span: PRI, E&M over CAS, or left out with the reason.
    fn e1(&mut self, s: &SpanDef, first: u32, switch: &str) {
        let conf = self.conf;
        let chan = |ts: u32| first + ts - 1;
        let sig = |ts: u32| conf.channels.get(&chan(ts));
        let bearers: Vec<u32> = (1..=31).filter(|t| *t != TS16).collect();
        let audio: Vec<u32> = bearers.iter().map(|t| chan(*t)).collect();
        let r2: Vec<usize> = (1..=31).filter_map(|t| conf.mfcr2.get(&chan(t)).copied()).collect();
        let dchan_elsewhere: Vec<u32> =
            bearers.iter().copied().filter(|t| sig(*t).is_some_and(|c| c.sig.is_dchan())).collect();
        let cas_like = |c: &ChanSig| matches!(c.sig, Sig::Cas(_) | Sig::EmE1 | Sig::Em);
        let framing = |f: Framing| if f == Framing::Ccs { "ccs" } else { "cas" };
        let mut settings = format!(
            "framing {}, coding {}{}, timing {}",
            framing(s.framing),
            s.coding.name(),
            if s.crc4 { ", CRC-4" } else { "" },
            s.timing
        );
        settings.push_str(": dahdi_cfg keeps setting these from system.conf.");

        if !r2.is_empty() {
            let at = lines_of(r2);
            self.warn(
                Some(s.line),
                format!("span {} runs MFC/R2 (mfcr2= at {at}): trunkd has no R2 stack yet; not carried over", s.span),
            );
            out!(self.body, "# MFC/R2 (mfcr2= at {at}): trunkd has no R2 stack yet, so this span is left out; an");
            out!(self.body, "# E&M span in its place would not interwork with an R2 far end. Import again once");
            out!(self.body, "# trunkd speaks R2.");
            out!(self.body);
            return;
        }
        if sig(TS16).is_some_and(|c| c.sig.is_dchan()) {
            self.pri(s, first, switch, &settings);
            return;
        }
        if !dchan_elsewhere.is_empty() {
            self.warn(
                Some(s.line),
                format!(
                    "span {} has its D-channel in timeslot {}: trunkd runs PRI with the D-channel in timeslot 16 \
                     only; not carried over",
                    s.span,
                    ranges(&dchan_elsewhere)
                ),
            );
            out!(self.body, "# A D-channel outside timeslot 16: not a layout trunkd runs; left out.");
            out!(self.body);
            return;
        }
        if bearers.iter().any(|t| sig(*t).is_some_and(cas_like)) {
            self.cas(s, first, &settings);
            return;
        }
        if audio.iter().chain([chan(TS16)].iter()).all(|c| !conf.channels.contains_key(c)) {
            self.warn(
                Some(s.line),
                format!("span {} has no channels configured in system.conf; not carried over", s.span),
            );
            out!(self.body, "# No channel of this span is configured in system.conf: left out.");
            out!(self.body);
            return;
        }
        let mut seen: Vec<(&'static str, usize)> = Vec::new();
        for t in 1..=31 {
            if let Some(c) = sig(t) {
                if !seen.contains(&(c.sig.name(), c.line)) {
                    seen.push((c.sig.name(), c.line));
                }
            }
        }
        let what: Vec<String> = seen.iter().map(|(n, l)| format!("{n} (line {l})")).collect();
        self.warn(
            Some(s.line),
            format!(
                "span {}: its channels are {}, neither PRI (bchan + dchan in timeslot 16) nor CAS; not carried over",
                s.span,
                what.join(", ")
            ),
        );
        out!(self.body, "# Neither PRI nor CAS signalling on its channels: left out.");
        out!(self.body);
    }

    fn pri(&mut self, s: &SpanDef, first: u32, switch: &str, settings: &str) {
        let conf = self.conf;
        let chan = |ts: u32| first + ts - 1;
        let dline = conf.channels.get(&chan(TS16)).map(|c| (c.sig.name(), c.line)).unwrap_or(("dchan", s.line));
        let bearers: Vec<u32> = (1..=31).filter(|t| *t != TS16).collect();
        let audio: Vec<u32> = bearers.iter().map(|t| chan(*t)).collect();
        let not_b: Vec<u32> =
            audio.iter().copied().filter(|c| conf.channels.get(c).is_none_or(|c| c.sig != Sig::Bchan)).collect();
        let b_lines: Vec<usize> =
            audio.iter().filter_map(|c| conf.channels.get(c)).filter(|c| c.sig == Sig::Bchan).map(|c| c.line).collect();
        if !not_b.is_empty() {
            self.warn(
                Some(s.line),
                format!(
                    "span {}: not bchan in system.conf: DAHDI {}; trunkd uses all 30 B-channels of a PRI span and \
                     will not start until they are",
                    s.span,
                    channels_of(&not_b)
                ),
            );
        }
        if s.framing != Framing::Ccs {
            self.warn(
                Some(s.line),
                format!("span {} carries a D-channel but has cas framing: PRI needs ccs in system.conf", s.span),
            );
        }
        out!(
            self.body,
            "# PRI: the D-channel is DAHDI channel {} (timeslot 16, {}= at line {}), B-channels the other 30{}.",
            chan(TS16),
            dline.0,
            dline.1,
            if b_lines.is_empty() { String::new() } else { format!(" (bchan= at {})", lines_of(b_lines)) }
        );
        out!(self.body, "# {settings}");
        self.span_table(s, &audio, "pri");
        out!(self.body, "[span.pri]");
        let (side, why) = match s.nt {
            Some(true) => ("nt", "from the span line's `nt`".to_string()),
            Some(false) => ("te", "from the span line's `te`".to_string()),
            None if s.timing == 0 => {
                ("te", "a guess (timing 0: we never take our clock from it, which hints at a PBX, so nt)".to_string())
            }
            None => ("te", format!("a guess (timing {}: we take our clock from it, as from a carrier)", s.timing)),
        };
        out!(self.body, "# Side {why}; check: te faces a carrier, nt faces a PBX.");
        out!(self.body, "side = \"{side}\"");
        let from = if switch == "china" { "guessed from the tone zone" } else { "the default" };
        out!(self.body, "# Switch profile {from}: etsi is EuroISDN (DSS1), china the Chinese national variant;");
        out!(self.body, "# chan_dahdi.conf's switchtype says which (euroisdn: etsi).");
        out!(self.body, "switch = \"{switch}\"");
        out!(self.body);
    }

    fn cas(&mut self, s: &SpanDef, first: u32, settings: &str) {
        let conf = self.conf;
        let chan = |ts: u32| first + ts - 1;
        let audio: Vec<u32> = (1..=31).filter(|t| *t != TS16).map(chan).collect();
        let mut idles: Vec<Abcd> = Vec::new();
        let mut lines = Vec::new();
        let mut not_cas = Vec::new();
        let mut driver_em = Vec::new();
        for c in &audio {
            match conf.channels.get(c) {
                Some(ChanSig { sig: Sig::Cas(bits), line }) => {
                    lines.push(*line);
                    if !idles.contains(bits) {
                        idles.push(*bits);
                    }
                }
                Some(ChanSig { sig: Sig::EmE1 | Sig::Em, line }) => {
                    lines.push(*line);
                    driver_em.push(*c);
                    not_cas.push(*c);
                }
                _ => not_cas.push(*c),
            }
        }
        if !driver_em.is_empty() {
            self.warn(
                Some(s.line),
                format!(
                    "span {}: e&me1/e&m (E&M run by the driver) on DAHDI {}; trunkd runs E&M itself on raw CAS \
                     bits and needs `cas={}:{EM_ONHOOK}` there instead",
                    s.span,
                    channels_of(&driver_em),
                    ranges(&driver_em)
                ),
            );
        }
        let missing: Vec<u32> = not_cas.iter().copied().filter(|c| !driver_em.contains(c)).collect();
        if !missing.is_empty() {
            self.warn(
                Some(s.line),
                format!(
                    "span {}: not cas in system.conf: DAHDI {}; trunkd uses all 30 channels of a CAS span and \
                     will not start until they are",
                    s.span,
                    channels_of(&missing)
                ),
            );
        }
        if s.framing != Framing::Cas {
            self.warn(
                Some(s.line),
                format!("span {} runs CAS but has ccs framing: CAS needs cas framing in system.conf", s.span),
            );
        }
        let r2_like: Vec<Abcd> = idles.iter().copied().filter(|b| b.bits() == 0b1001 || b.bits() == 0b1101).collect();
        if let Some(b) = r2_like.first() {
            self.warn(
                Some(s.line),
                format!(
                    "span {}: idle bits {b} are MFC/R2's; if the far end speaks R2, this E&M span will not \
                     interwork (trunkd has no R2 stack yet)",
                    s.span
                ),
            );
        }
        out!(self.body, "# CAS (cas= at {}): E&M with DTMF addressing, trunkd's CAS signalling.", lines_of(lines));
        if !r2_like.is_empty() {
            out!(
                self.body,
                "# The idle bits look like MFC/R2's: R2 is not supported yet; check what the far end runs."
            );
        }
        out!(self.body, "# Wink or immediate start is chan_dahdi.conf's (em_w: wink; em, em_e1: immediate): trunkd");
        out!(self.body, "# starts with wink unless [span.em] start says otherwise.");
        out!(self.body, "# {settings}");
        let onhook = match idles[..] {
            [bits] if bits == EM_ONHOOK => {
                out!(self.body, "# Idle bits {bits}: trunkd's E&M on-hook bits already.");
                None
            }
            [bits] if !bits.a() => {
                out!(self.body, "# Idle bits {bits} become trunkd's on-hook bits.");
                Some(bits)
            }
            [bits] => {
                if r2_like.is_empty() {
                    self.warn(
                        Some(s.line),
                        format!(
                            "span {}: idle bits {bits} have the A bit set, which trunkd's E&M sends off-hook; on-hook \
                             bits left at {EM_ONHOOK}",
                            s.span
                        ),
                    );
                }
                out!(self.body, "# Idle bits {bits}: the A bit is trunkd's off-hook; on-hook stays {EM_ONHOOK}.");
                None
            }
            [] => None,
            _ => {
                let all: Vec<String> = idles.iter().map(Abcd::to_string).collect();
                self.warn(
                    Some(s.line),
                    format!(
                        "span {}: the cas= lines give idle bits {}; trunkd's E&M has one set per span, left at {EM_ONHOOK}",
                        s.span,
                        all.join(", ")
                    ),
                );
                None
            }
        };
        self.span_table(s, &audio, "em");
        if let Some(bits) = onhook {
            out!(self.body, "[span.em]");
            out!(self.body, "onhook_bits = \"{bits}\"");
            out!(self.body);
        }
    }

    fn echo_of(&self, chans: &[u32]) -> Echo {
        let covered: Vec<u32> = chans.iter().copied().filter(|c| self.conf.echo.contains_key(c)).collect();
        if covered.is_empty() {
            return Echo::None;
        }
        if covered.len() < chans.len() {
            return Echo::Partial(covered);
        }
        let mut names: Vec<String> = Vec::new();
        let mut lines = Vec::new();
        for e in chans.iter().filter_map(|c| self.conf.echo.get(c)) {
            let n = clean(&e.name);
            if !names.contains(&n) {
                names.push(n);
            }
            lines.push(e.line);
        }
        Echo::All(names, lines)
    }

    /// A span's `[[span]]` table (name by signalling: `pri-N`, `e1-N`), its law and echo
    /// canceller from the channels that carry audio.
    fn span_table(&mut self, s: &SpanDef, audio: &[u32], signalling: &str) {
        let echo = self.span_echo(s, audio);
        let law = self.span_law(s, audio);
        let prefix = if signalling == "pri" { "pri" } else { "e1" };
        out!(self.body, "[[span]]");
        out!(self.body, "name = \"{prefix}-{}\"", s.span);
        out!(self.body, "backend = \"dahdi\"");
        out!(self.body, "signalling = \"{signalling}\"");
        if let Some(law) = law {
            out!(self.body, "law = \"{law}\"");
        }
        out!(self.body, "dahdi = {{ span = {}{echo} }}", s.span);
        out!(self.body);
    }

    /// `, echo_cancel = 128` if `echocanceller=` covers every audio channel of the span
    /// (the backend turns it on for all of them, and that fails on one without a canceller).
    fn span_echo(&mut self, s: &SpanDef, audio: &[u32]) -> String {
        match self.echo_of(audio) {
            Echo::None => {
                out!(self.body, "# No echocanceller= for these channels: echo cancelling stays off.");
                String::new()
            }
            Echo::All(names, lines) => {
                out!(
                    self.body,
                    "# echocanceller={} ({}): the driver's canceller on, {ECHO_TAPS} taps (16 ms).",
                    names.join("/"),
                    lines_of(lines)
                );
                format!(", echo_cancel = {ECHO_TAPS}")
            }
            Echo::Partial(covered) => {
                self.warn(
                    Some(s.line),
                    format!(
                        "span {}: echocanceller= covers only DAHDI {} of its audio channels; trunkd turns echo \
                         cancelling on for a whole span or not at all, so it stays off",
                        s.span,
                        channels_of(&covered)
                    ),
                );
                out!(self.body, "# echocanceller= covers only some channels: echo cancelling stays off.");
                String::new()
            }
        }
    }

    /// `ulaw` if `mulaw=` covers every audio channel (an E1 is A-law otherwise).
    fn span_law(&mut self, s: &SpanDef, audio: &[u32]) -> Option<&'static str> {
        let mu: Vec<u32> =
            audio.iter().copied().filter(|c| matches!(self.conf.laws.get(c), Some((LawSetting::Mulaw, _)))).collect();
        if mu.is_empty() {
            return None;
        }
        if mu.len() == audio.len() {
            out!(self.body, "# mulaw= on every audio channel: this span runs µ-law.");
            return Some("ulaw");
        }
        self.warn(
            Some(s.line),
            format!(
                "span {}: mulaw= covers only DAHDI {}; trunkd has one law per span, left at A-law",
                s.span,
                channels_of(&mu)
            ),
        );
        None
    }

    /// Channels from `from` on: analog ports, one `[[line]]` per run of consecutive
    /// channels of one kind with the echo canceller on or off alike.
    fn analog(&mut self, from: u32) {
        struct Group {
            kind: LineKind,
            echo: bool,
            chans: Vec<u32>,
            sigs: Vec<(&'static str, usize)>,
        }
        let conf = self.conf;
        let mut groups: Vec<Group> = Vec::new();
        let mut other: BTreeMap<&'static str, (Vec<u32>, Vec<usize>)> = BTreeMap::new();
        for (&ch, cs) in conf.channels.range(from..) {
            let Some(kind) = cs.sig.line_kind() else {
                if cs.sig != Sig::Unused {
                    let e = other.entry(cs.sig.name()).or_default();
                    e.0.push(ch);
                    e.1.push(cs.line);
                }
                continue;
            };
            let echo = conf.echo.contains_key(&ch);
            let joins = groups.last().is_some_and(|g| {
                g.kind == kind && g.echo == echo && g.chans.last() == Some(&(ch - 1)) && g.chans.len() < MAX_PORTS
            });
            if !joins {
                groups.push(Group { kind, echo, chans: Vec::new(), sigs: Vec::new() });
            }
            if let Some(g) = groups.last_mut() {
                g.chans.push(ch);
                if !g.sigs.contains(&(cs.sig.name(), cs.line)) {
                    g.sigs.push((cs.sig.name(), cs.line));
                }
            }
        }
        for (sig, (chans, lines)) in other {
            self.warn(
                Some(lines[0]),
                format!(
                    "{sig} on DAHDI {} ({}) after the digital spans: trunkd runs only FXS and FXO ports there; \
                     not carried over",
                    channels_of(&chans),
                    lines_of(lines.clone())
                ),
            );
        }
        let (mut fxs, mut fxo) = (0, 0);
        for g in groups {
            let (name, what) = match g.kind {
                LineKind::Fxs => {
                    fxs += 1;
                    (format!("fxs-{fxs}"), "FXO signalling drives FXS ports: telephones plug in here")
                }
                LineKind::Fxo => {
                    fxo += 1;
                    (format!("fxo-{fxo}"), "FXS signalling drives FXO ports: they face exchange lines")
                }
            };
            let sigs: Vec<String> = g.sigs.iter().map(|(s, l)| format!("{s} (line {l})")).collect();
            let ground: Vec<usize> = g.sigs.iter().filter(|(s, _)| s.ends_with("gs")).map(|(_, l)| *l).collect();
            if !ground.is_empty() {
                self.warn(
                    Some(ground[0]),
                    format!(
                        "`{name}` (DAHDI {}) is ground start in system.conf; trunkd's analog ports run loop \
                         start, so check the line",
                        channels_of(&g.chans)
                    ),
                );
            }
            out!(self.body, "# DAHDI {}: {}. {what}.", channels_of(&g.chans), sigs.join(", "));
            // A group has a canceller on all its channels or on none (see `joins`).
            let echo = match self.echo_of(&g.chans) {
                Echo::All(names, lines) => {
                    out!(
                        self.body,
                        "# echocanceller={} ({}): the driver's canceller on, {ECHO_TAPS} taps (16 ms).",
                        names.join("/"),
                        lines_of(lines)
                    );
                    format!(", echo_cancel = {ECHO_TAPS}")
                }
                Echo::None | Echo::Partial(_) => String::new(),
            };
            out!(self.body, "[[line]]");
            out!(self.body, "name = \"{name}\"");
            out!(self.body, "backend = \"dahdi\"");
            out!(self.body, "kind = \"{}\"", if g.kind == LineKind::Fxs { "fxs" } else { "fxo" });
            out!(self.body, "dahdi = {{ channels = \"{}\"{echo} }}", ranges(&g.chans));
            out!(self.body);
        }
    }

    fn dynamic(&mut self) {
        for d in &self.conf.dynamic {
            self.warn(
                Some(d.line),
                format!(
                    "dynamic={},{},{},{} is a dahdi_dynamic span: its span number is known only once it runs \
                     (lsdahdi); add it as a [[span]] with `dahdi = {{ span = N }}` by hand",
                    d.driver, d.address, d.channels, d.timing
                ),
            );
            out!(
                self.body,
                "# dynamic={},{},{},{} (line {}): a dahdi_dynamic span, not carried over.",
                d.driver,
                d.address,
                d.channels,
                d.timing,
                d.line
            );
        }
        if !self.conf.dynamic.is_empty() {
            out!(self.body);
        }
    }

    /// Laws and keywords with nothing to become.
    fn others(&mut self) {
        let law_lines: Vec<usize> = self.conf.laws.values().map(|(_, l)| *l).collect();
        if !law_lines.is_empty() {
            out!(
                self.body,
                "# alaw=/mulaw=/deflaw= ({}): trunkd sets the law of every channel it opens (`law`,",
                lines_of(law_lines)
            );
            out!(
                self.body,
                "# default [general] law = alaw); a span whose audio channels are all mulaw= got law = \"ulaw\"."
            );
        }
        for ig in &self.conf.ignored {
            let key = clean(&ig.key);
            let message = if ig.known {
                format!("`{key}=`: a setting trunkd has no equivalent for (radio interface, 56k HDLC); ignored")
            } else {
                format!("unknown keyword `{key}` (dahdi_cfg would refuse it); ignored")
            };
            self.warn(Some(ig.line), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use proptest::prelude::*;

    fn err(text: &str) -> ParseError {
        parse(text).expect_err(text)
    }

    /// Converts, and checks that the result is a configuration trunkd accepts.
    fn import(text: &str) -> (Config, String, Vec<Warning>) {
        let conf = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let (toml_text, warnings) = to_trunkd(&conf);
        let cfg: Config = toml::from_str(&toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
        let errs = cfg.validate();
        assert!(errs.is_empty(), "{errs:?}\n{toml_text}");
        (cfg, toml_text, warnings)
    }

    fn has(warnings: &[Warning], text: &str) -> bool {
        warnings.iter().any(|w| w.message.contains(text))
    }

    #[test]
    fn span_lines_parse_with_their_options() {
        let c =
            parse("span=1,1,0,ccs,hdb3,crc4\nSPAN = 2, 0, 3, CAS, HDB3, yellow, crc4\nspan=3,2,0,esf,b8zs").unwrap();
        assert_eq!(c.spans.len(), 3);
        let s = &c.spans[0];
        assert_eq!(
            (s.span, s.timing, s.lbo, s.framing, s.coding, s.crc4, s.yellow),
            (1, 1, 0, Framing::Ccs, Coding::Hdb3, true, false)
        );
        assert_eq!(s.kind(), SpanKind::E1);
        let s = &c.spans[1];
        assert_eq!(
            (s.span, s.timing, s.lbo, s.framing, s.crc4, s.yellow, s.line),
            (2, 0, 3, Framing::Cas, true, true, 2)
        );
        assert_eq!(c.spans[2].kind(), SpanKind::T1);
        assert_eq!(parse("span=1,1,0,ccs,ami,nt").unwrap().spans[0].kind(), SpanKind::Bri);
        assert_eq!(parse("span=1,1,0,ccs,ami,nt").unwrap().spans[0].nt, Some(true));
    }

    #[test]
    fn bad_span_lines_are_refused_with_their_line() {
        for (text, what) in [
            ("span=1,1,0,ccs", "4 fields"),
            ("span=0,1,0,ccs,hdb3", "span number `0`"),
            ("span=x,1,0,ccs,hdb3", "span number `x`"),
            ("span=1,1,8,ccs,hdb3", "line build-out `8`"),
            ("span=1,-1,0,ccs,hdb3", "timing `-1`"),
            ("span=1,1,0,sf,hdb3", "framing `sf`"),
            ("span=1,1,0,ccs,nrz", "coding `nrz`"),
            ("span=1,1,0,ccs,hdb3,crc5", "`crc5`"),
        ] {
            let e = err(&format!("# a comment\n\n{text}"));
            assert_eq!(e.line, 3, "{text}");
            assert!(e.to_string().contains(what), "{text}: {e}");
        }
        let e = err("span=1,1,0,ccs,hdb3\nspan=1,0,0,cas,hdb3");
        assert_eq!(e, ParseError { line: 2, kind: ParseErrorKind::SpanTwice { span: 1, first: 1 } });
    }

    #[test]
    fn channel_lists_take_ranges_and_commas() {
        assert_eq!(channel_list("1-15,17-31").unwrap(), (1..=31).filter(|c| *c != 16).collect::<Vec<_>>());
        assert_eq!(channel_list("16-23, 29").unwrap(), vec![16, 17, 18, 19, 20, 21, 22, 23, 29]);
        assert_eq!(channel_list("5,3,4,3-4,").unwrap(), vec![3, 4, 5]);
        assert_eq!(channel_list(" 7 ").unwrap(), vec![7]);
        for bad in ["", ",", "0", "1-0", "4-2", "x", "1-", "-3", "1--3", "1024", "1-1024", "+5", "3.5"] {
            assert!(channel_list(bad).is_err(), "{bad}");
        }
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3,5,7-8");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn every_signalling_keyword_sets_its_channels() {
        let text = "bchan=1-15\ndchan=16\nhardhdlc=32\nindclear=17\ncas=18-19:1101\nuser=20:0001\ne&m=21\ne&me1=22\n\
                    fxoks=40\nfxols=41\nfxogs=42\nfxsks=43\nfxsls=44\nfxsgs=45\nclear=46\nunused=47\nnethdlc=48:hdlc0\n\
                    dacs=49:60\nmtp2=50\nfcshdlc=51\nrawhdlc=52\ndacsrbs=53:61";
        let c = parse(text).unwrap();
        let sig = |ch: u32| c.channels[&ch].sig;
        assert_eq!(sig(1), Sig::Bchan);
        assert_eq!(sig(15), Sig::Bchan);
        assert_eq!(c.channels[&15].line, 1);
        assert_eq!(sig(16), Sig::Dchan);
        assert_eq!(sig(32), Sig::HardHdlc);
        assert_eq!(sig(17), Sig::Bchan);
        assert_eq!(sig(18), Sig::Cas(Abcd::new(0b1101)));
        assert_eq!(sig(20), Sig::Cas(Abcd::new(0b0001)));
        assert_eq!(sig(21), Sig::Em);
        assert_eq!(sig(22), Sig::EmE1);
        assert_eq!(sig(40).line_kind(), Some(LineKind::Fxs));
        assert_eq!(sig(42).line_kind(), Some(LineKind::Fxs));
        assert_eq!(sig(43).line_kind(), Some(LineKind::Fxo));
        assert_eq!(sig(45), Sig::FxsGs);
        assert_eq!(sig(48), Sig::NetHdlc);
        assert_eq!(sig(49), Sig::Dacs);
        assert_eq!(sig(53), Sig::DacsRbs);
        assert_eq!(sig(47).line_kind(), None);
        assert_eq!(c.channels.len(), 15 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 6 + 8);
    }

    #[test]
    fn signalling_errors_name_their_line() {
        assert_eq!(err("bchan=1-3\n\nfxoks=3").kind, ParseErrorKind::ChannelTwice { chan: 3, sig: "bchan", first: 1 });
        assert_eq!(err("bchan=1-3\n\nfxoks=3").line, 3);
        assert_eq!(err("\ncas=1-15").kind, ParseErrorKind::CasIdle("cas"));
        assert_eq!(err("cas=1-15:110").line, 1);
        assert_eq!(err("cas=1-15:11a1").kind, ParseErrorKind::CasIdle("cas"));
        assert_eq!(err("dacs=1-4").kind, ParseErrorKind::DacsTarget("dacs"));
        assert!(matches!(err("bchan=1-x").kind, ParseErrorKind::Channels { .. }));
        assert_eq!(err("fxoks").kind, ParseErrorKind::Syntax);
        assert_eq!(err("fxoks=").kind, ParseErrorKind::Syntax);
        assert_eq!(err("=1").kind, ParseErrorKind::Syntax);
        assert_eq!(err("echocanceller=mg2").kind, ParseErrorKind::Echo);
        assert_eq!(err("echocanceller=,1-4").kind, ParseErrorKind::Echo);
        assert_eq!(err("echocanceller=mg2,").kind, ParseErrorKind::Echo);
        assert!(matches!(err("dynamic=eth,eth0/00:11,x,0").kind, ParseErrorKind::Dynamic(..)));
        assert!(matches!(err("dynamic=eth,eth0").kind, ParseErrorKind::Dynamic(..)));
        // Control characters never reach a message raw.
        assert!(!err("bchan=1-\u{1b}[2J").to_string().contains('\u{1b}'));
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let c =
            parse("# comment\r\n; also a comment\r\n\r\n   \r\nbchan=1-2 # trailing\r\ndchan=3;trailing\r\n").unwrap();
        assert_eq!(c.channels.len(), 3);
        assert_eq!(c.channels[&3].line, 6);
        assert_eq!(parse("").unwrap(), SystemConf::default());
    }

    #[test]
    fn echo_cancellers_zones_dynamic_and_the_rest() {
        let text = "echocanceller=mg2,1-8\necho_canceller=x\nechocanceller=kb1,2,4-5\nloadzone = us\nloadzone=fr\n\
                    defaultzone=fr\ndefaultzone=uk\ndynamic=eth,eth0/00:02:b3:35:43:9c,24,0\nmfcr2=1-15,17-31\n\
                    mulaw=1-4\ndeflaw=2\nctcss=1318,1,1318\nrxgain=2";
        let c = parse(text).unwrap();
        assert_eq!(c.echo[&1], EchoCan { name: "mg2".into(), line: 1 });
        assert_eq!(c.echo[&2], EchoCan { name: "kb1".into(), line: 3 });
        assert_eq!(c.echo[&5].name, "kb1");
        assert_eq!(c.echo.len(), 8);
        assert_eq!(c.load_zones, vec![(4, "us".to_string()), (5, "fr".to_string())]);
        assert_eq!(c.default_zone, Some((7, "uk".to_string())));
        assert_eq!(c.dynamic[0].channels, 24);
        assert_eq!(c.dynamic[0].address, "eth0/00:02:b3:35:43:9c");
        assert_eq!(c.mfcr2.len(), 30);
        assert_eq!(c.laws[&1], (LawSetting::Mulaw, 10));
        assert_eq!(c.laws[&2], (LawSetting::Default, 11));
        assert_eq!(
            c.ignored,
            vec![
                Ignored { line: 2, key: "echo_canceller".into(), known: false },
                Ignored { line: 12, key: "ctcss".into(), known: true },
                Ignored { line: 13, key: "rxgain".into(), known: true },
            ]
        );
    }

    const TWO_PRI: &str = "span=1,1,0,ccs,hdb3,crc4\nspan=2,2,0,ccs,hdb3,crc4\n\
        bchan=1-15,17-31\ndchan=16\nbchan=32-46,48-62\nhardhdlc=47\n\
        fxoks=63-66\nfxsks=67-68\nechocanceller=mg2,1-15,17-31,32-46,48-62,63-68\ndefaultzone=cn\n";

    #[test]
    fn two_pri_spans_and_analog_ports() {
        let (cfg, text, warnings) = import(TWO_PRI);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cfg.general.zone, "cn");
        assert_eq!(cfg.spans.len(), 2);
        for (s, n) in cfg.spans.iter().zip([1, 2]) {
            assert_eq!(s.name, format!("pri-{n}"));
            assert_eq!(s.signalling, crate::config::SpanSignalling::Pri);
            let d = s.dahdi.as_ref().unwrap();
            assert_eq!((d.span, d.echo_cancel), (n, Some(ECHO_TAPS)));
            assert_eq!(s.pri.side, crate::signalling::pri::Side::Te);
            assert_eq!(s.pri.switch, "china");
        }
        let lines: Vec<(&str, LineKind, Vec<u32>)> =
            cfg.lines.iter().map(|l| (l.name.as_str(), l.kind, l.dahdi.as_ref().unwrap().channels.0.clone())).collect();
        assert_eq!(lines, vec![("fxs-1", LineKind::Fxs, vec![63, 64, 65, 66]), ("fxo-1", LineKind::Fxo, vec![67, 68])]);
        assert!(text.contains("check: te faces a carrier, nt faces a PBX"), "{text}");
    }

    #[test]
    fn a_partial_pri_span_and_partial_echo_are_warned_about() {
        let (cfg, _, warnings) = import("span=1,0,0,ccs,hdb3\nbchan=1-10\ndchan=16\nechocanceller=mg2,1-10");
        assert_eq!(cfg.spans.len(), 1);
        assert_eq!(cfg.spans[0].dahdi.as_ref().unwrap().echo_cancel, None);
        assert!(has(&warnings, "not bchan in system.conf: DAHDI channels 11-15,17-31"), "{warnings:?}");
        assert!(has(&warnings, "echocanceller= covers only DAHDI channels 1-10"), "{warnings:?}");
        assert!(warnings.iter().all(|w| w.line == Some(1)));
    }

    #[test]
    fn a_cas_span_becomes_em_with_its_idle_bits() {
        let (cfg, text, warnings) = import("span=1,1,0,cas,hdb3\ncas=1-15,17-31:0001\ndefaultzone=us");
        assert!(warnings.is_empty(), "{warnings:?}");
        let s = &cfg.spans[0];
        assert_eq!((s.name.as_str(), s.signalling), ("e1-1", crate::config::SpanSignalling::Em));
        assert_eq!(s.em.onhook_bits, Abcd::new(0b0001));
        assert_eq!(cfg.general.zone, "us");
        assert!(text.contains("signalling = \"em\""));
    }

    #[test]
    fn r2_looking_cas_warns_and_mfcr2_leaves_the_span_out() {
        let (cfg, text, warnings) = import("span=1,1,0,cas,hdb3\ncas=1-15,17-31:1101");
        assert_eq!(cfg.spans.len(), 1);
        assert_eq!(cfg.spans[0].em.onhook_bits, EM_ONHOOK);
        assert!(has(&warnings, "idle bits 1101 are MFC/R2's"), "{warnings:?}");
        assert!(text.contains("R2 is not supported yet"));

        let (cfg, text, warnings) = import("span=1,1,0,cas,hdb3\ncas=1-15,17-31:1001\nmfcr2=1-15,17-31\nfxoks=32");
        assert!(cfg.spans.is_empty(), "{text}");
        assert!(has(&warnings, "trunkd has no R2 stack yet"), "{warnings:?}");
        assert!(!text.contains("signalling = \"em\""));
        assert_eq!(cfg.lines[0].dahdi.as_ref().unwrap().channels.0, vec![32]);
    }

    #[test]
    fn driver_em_and_wrong_framing_are_warned_about() {
        let (cfg, _, warnings) = import("span=1,1,0,ccs,hdb3\ne&me1=1-15,17-31");
        assert_eq!(cfg.spans[0].signalling, crate::config::SpanSignalling::Em);
        assert!(has(&warnings, "needs `cas=1-15,17-31:0101` there instead"), "{warnings:?}");
        assert!(has(&warnings, "CAS needs cas framing"), "{warnings:?}");
        let (_, _, warnings) = import("span=1,1,0,cas,hdb3\nbchan=1-15,17-31\ndchan=16");
        assert!(has(&warnings, "PRI needs ccs"), "{warnings:?}");
    }

    #[test]
    fn t1_and_bri_spans_are_skipped_but_take_their_channels() {
        let text = "span=1,1,0,esf,b8zs\nspan=2,1,0,ccs,ami\nspan=3,0,0,ccs,hdb3\nbchan=1-23\ndchan=24\n\
                    bchan=25-26\nhardhdlc=27\nbchan=28-42,44-58\ndchan=43\nfxoks=59";
        let (cfg, _, warnings) = import(text);
        assert_eq!(cfg.spans.len(), 1);
        assert_eq!(cfg.spans[0].name, "pri-3");
        assert_eq!(cfg.lines[0].dahdi.as_ref().unwrap().channels.0, vec![59]);
        assert!(has(&warnings, "span 1 is a T1 (esf framing)"), "{warnings:?}");
        assert!(has(&warnings, "BRI"), "{warnings:?}");
    }

    #[test]
    fn analog_groups_split_at_gaps_kinds_and_echo() {
        let text = "fxoks=1-4\nfxols=5\nfxoks=7-8\nfxsks=9-10\nfxsgs=11\nechocanceller=mg2,8\ne&m=12\nunused=13";
        let (cfg, text, warnings) = import(text);
        let got: Vec<(String, String)> =
            cfg.lines.iter().map(|l| (l.name.clone(), ranges(&l.dahdi.as_ref().unwrap().channels.0))).collect();
        let want = [("fxs-1", "1-5"), ("fxs-2", "7"), ("fxs-3", "8"), ("fxo-1", "9-11")];
        assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())), "{text}");
        assert_eq!(cfg.lines[2].dahdi.as_ref().unwrap().echo_cancel, Some(ECHO_TAPS));
        assert_eq!(cfg.lines[1].dahdi.as_ref().unwrap().echo_cancel, None);
        assert!(has(&warnings, "ground start"), "{warnings:?}");
        assert!(has(&warnings, "e&m on DAHDI channel 12"), "{warnings:?}");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn big_analog_groups_are_split_at_256_ports() {
        let (cfg, _, _) = import("fxoks=1-600");
        let sizes: Vec<usize> = cfg.lines.iter().map(|l| l.port_count() as usize).collect();
        assert_eq!(sizes, vec![256, 256, 88]);
    }

    #[test]
    fn unknown_zones_keys_dynamic_spans_and_gaps_are_warned_about() {
        let text = "span=2,1,0,ccs,hdb3\nbchan=1-15,17-31\ndchan=16\nloadzone=fr\nfoo=bar\nrxgain=3\n\
                    dynamic=eth,eth0/00:02:b3:35:43:9c,24,0";
        let (cfg, text, warnings) = import(text);
        assert_eq!(cfg.general.zone, "cn");
        assert_eq!(cfg.spans[0].pri.switch, "etsi");
        assert!(has(&warnings, "tone zone `fr` is not built into trunkd"));
        assert!(has(&warnings, "unknown keyword `foo`"));
        assert!(has(&warnings, "`rxgain=`"));
        assert!(has(&warnings, "dahdi_dynamic span"));
        assert!(has(&warnings, "the spans are numbered 2"));
        for w in &warnings {
            assert!(text.contains(&format!("# WARNING {w}")), "{w}");
        }
    }

    #[test]
    fn a_span_without_usable_channels_is_left_out() {
        let (cfg, _, warnings) = import("span=1,1,0,ccs,hdb3");
        assert!(cfg.spans.is_empty());
        assert!(has(&warnings, "no channels configured"));
        let (cfg, _, warnings) = import("span=1,1,0,ccs,hdb3\nclear=1-31");
        assert!(cfg.spans.is_empty());
        assert!(has(&warnings, "clear (line 2)"), "{warnings:?}");
        let (cfg, _, warnings) = import("span=1,1,0,ccs,hdb3\nbchan=1-15,17-30\ndchan=31");
        assert!(cfg.spans.is_empty());
        assert!(has(&warnings, "D-channel in timeslot 31"), "{warnings:?}");
    }

    #[test]
    fn mulaw_spans_run_ulaw() {
        let (cfg, _, warnings) = import("span=1,1,0,ccs,hdb3\nbchan=1-15,17-31\ndchan=16\nmulaw=1-31");
        assert_eq!(cfg.spans[0].law, Some(crate::dsp::g711::Law::Ulaw));
        assert!(warnings.is_empty());
        let (cfg, _, warnings) = import("span=1,1,0,ccs,hdb3\nbchan=1-15,17-31\ndchan=16\nmulaw=1-3");
        assert_eq!(cfg.spans[0].law, None);
        assert!(has(&warnings, "mulaw= covers only"));
    }

    /// Lines that look like system.conf, with random numbers, so the conversion's
    /// branches are reached, not only the parser's error paths.
    fn conf_line() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "bchan", "dchan", "hardhdlc", "fxoks", "fxols", "fxogs", "fxsks", "fxsgs", "e&me1", "e&m", "clear",
            "unused", "mfcr2", "mulaw", "alaw",
        ]);
        prop_oneof![
            "\\PC{0,30}",
            (
                1u32..6,
                0u32..3,
                prop::sample::select(vec!["ccs", "cas", "esf", "d4"]),
                prop::sample::select(vec!["hdb3", "ami", "b8zs"])
            )
                .prop_map(|(n, t, f, c)| format!("span={n},{t},0,{f},{c},crc4")),
            (key, 1u32..200, 0u32..40).prop_map(|(k, a, n)| format!("{k}={a}-{}", a + n)),
            (1u32..200, 0u32..40, prop::sample::select(vec!["1101", "1001", "0101", "0001", "1111"]))
                .prop_map(|(a, n, b)| format!("cas={a}-{}:{b}", a + n)),
            (1u32..200, 0u32..40).prop_map(|(a, n)| format!("echocanceller=mg2,{a}-{}", a + n)),
            prop::sample::select(vec!["defaultzone=cn", "loadzone=fr", "defaultzone=\u{7f}", "dynamic=eth,x,24,0"])
                .prop_map(String::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            for t in [text, String::from_utf8_lossy(&bytes).into_owned()] {
                if let Ok(c) = parse(&t) {
                    let _ = to_trunkd(&c);
                }
            }
        }

        #[test]
        fn whatever_parses_converts_to_a_valid_config(lines in prop::collection::vec(conf_line(), 0..12)) {
            let text = lines.join("\n");
            if let Ok(c) = parse(&text) {
                let (out, warnings) = to_trunkd(&c);
                let cfg: Config = toml::from_str(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
                prop_assert!(cfg.validate().is_empty(), "{:?}\n{}", cfg.validate(), out);
                for w in &warnings {
                    let line = format!("# WARNING {w}");
                    prop_assert!(out.contains(&line), "{} missing from\n{}", line, out);
                }
            }
        }
    }
}
