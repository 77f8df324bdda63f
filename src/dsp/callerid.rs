//! Caller ID (calling line identity presentation) generation and detection.
//!
//! Formats:
//! * FSK, message layer of ETSI EN 300 659-3 / Telcordia GR-30: MDMF (message type
//!   0x80: parameters 0x01 date/time, 0x02 number, 0x04 reason for absence of number,
//!   0x07 name, 0x08 reason for absence of name, 0x11 call type) and Bell SDMF (type
//!   0x04: `MMDDHHMM` then the number or `O`/`P`), each closed by a checksum that makes
//!   the byte sum zero mod 256. Carried by V.23 (ETSI) or Bell 202 ([`crate::dsp::fsk`]).
//! * DTMF (ETSI EN 300 659-1 Annex B and national variants): `A<number>C` and relatives,
//!   described as data by [`DtmfCidStyle`].
//!
//! Line signalling around the spill (ring, polarity reversal, CAS) is not part of this
//! module; the generator renders only the data signal.
//!
//! Detection runs the V.23 and Bell 202 demodulators and a DTMF detector side by side
//! ([`CidDetect::Auto`]). A Bell 202 spill also demodulates on the V.23 receiver (and vice
//! versa), so each FSK message is attributed by the measured mark frequency: it must be
//! within [`MAX_MARK_ERROR_HZ`] of the modem's nominal mark (the two differ by 100 Hz,
//! the standards allow ±1.5%).

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dsp::dtmf::{DtmfDetector, DtmfEventKind, DtmfGenerator, DtmfRxConfig, DtmfTxConfig};
use crate::dsp::fsk::{FskEvent, FskParams, FskPreamble, FskReceiver, FskRxConfig, FskTransmitter, ToneAcc};
use crate::dsp::SAMPLE_RATE;

/// SDMF caller ID message type (GR-30).
pub const MSG_SDMF_CALLER_ID: u8 = 0x04;
/// MDMF caller ID / ETSI call set-up message type.
pub const MSG_MDMF_CALLER_ID: u8 = 0x80;
/// MDMF parameter types (EN 300 659-3 table 3, GR-30).
pub const PARAM_DATETIME: u8 = 0x01;
pub const PARAM_NUMBER: u8 = 0x02;
pub const PARAM_NUMBER_ABSENCE: u8 = 0x04;
pub const PARAM_NAME: u8 = 0x07;
pub const PARAM_NAME_ABSENCE: u8 = 0x08;
pub const PARAM_CALL_TYPE: u8 = 0x11;

/// Longest number sent (EN 300 659-3 allows 20 digits).
pub const MAX_NUMBER_LEN: usize = 20;
/// Longest name sent (EN 300 659-3 allows 50 characters; GR-30 receivers show 15).
pub const MAX_NAME_LEN: usize = 50;
/// Largest distance of the measured mark tone from the modem's nominal one, Hz. Midway
/// between the ±1.5% offsets a receiver must accept (≤ 20 Hz) and the 100 Hz between
/// the V.23 and Bell 202 marks.
pub const MAX_MARK_ERROR_HZ: f32 = 50.0;
/// Mark bits that must precede the first byte of a message: EN 300 659-1 sends 80 ± 25,
/// GR-30 180 (80 for off-hook); requiring some keeps random bytes from noise out.
pub const MIN_MARK_BITS: u32 = 40;
/// Mark bits tolerated between the bytes of a message.
pub const MAX_GAP_BITS: u32 = 40;
/// Pause that abandons a partly received DTMF spill.
const DTMF_GAP_SAMPLES: u64 = SAMPLE_RATE as u64;
/// Longest DTMF spill kept (start, 20 digits, end and slack).
const DTMF_MAX_DIGITS: usize = 32;

// ---------------------------------------------------------------- message

/// What a caller ID spill says. Numbers and names are personal data: never log them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallerIdMessage {
    pub number: Option<String>,
    pub name: Option<String>,
    pub datetime: Option<CidDateTime>,
    /// Why there is no number (sent only when `number` is `None`).
    pub number_absence: Option<Absence>,
    /// Why there is no name (sent only when `name` is `None`).
    pub name_absence: Option<Absence>,
    /// ETSI call type parameter (1 = voice call, 2 = ring-back-when-free, 0x81 = message
    /// waiting call).
    pub call_type: Option<u8>,
}

/// Date and time of the call as sent in the spill (local time, no year).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CidDateTime {
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

impl CidDateTime {
    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month) && (1..=31).contains(&self.day) && self.hour < 24 && self.minute < 60
    }

    /// `MMDDHHMM` as ASCII.
    fn encode(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        for (pair, v) in out.chunks_exact_mut(2).zip([self.month, self.day, self.hour, self.minute]) {
            pair.copy_from_slice(&[b'0' + v / 10 % 10, b'0' + v % 10]);
        }
        out
    }

    fn decode(b: &[u8]) -> Option<CidDateTime> {
        let digits: &[u8; 8] = b.try_into().ok()?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = |i: usize| (digits[i] - b'0') * 10 + (digits[i + 1] - b'0');
        let dt = CidDateTime { month: v(0), day: v(2), hour: v(4), minute: v(6) };
        dt.is_valid().then_some(dt)
    }
}

/// Reason a number or name is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Absence {
    /// Withheld by the caller (`P`).
    Private,
    /// Not available, e.g. from another network (`O`, "out of area").
    Unavailable,
}

impl Absence {
    /// As in config and JSON: `private`, `unavailable`.
    pub fn name(self) -> &'static str {
        match self {
            Absence::Private => "private",
            Absence::Unavailable => "unavailable",
        }
    }

    fn code(self) -> u8 {
        match self {
            Absence::Private => b'P',
            Absence::Unavailable => b'O',
        }
    }

    fn from_code(b: &[u8]) -> Option<Absence> {
        match b {
            b"P" => Some(Absence::Private),
            b"O" => Some(Absence::Unavailable),
            _ => None,
        }
    }
}

/// How the spill is signalled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CidFormat {
    /// ETSI EN 300 659: MDMF over V.23.
    Etsi,
    /// ETSI MDMF over Bell 202 (used e.g. in China).
    EtsiBell202,
    /// Bell 202 single data message format.
    Bell202Sdmf,
    /// Bell 202 multiple data message format.
    Bell202Mdmf,
    /// DTMF digits (EN 300 659-1 Annex B and variants).
    Dtmf,
}

impl CidFormat {
    /// By its config name (`etsi`, `etsi-bell202`, `bell202-sdmf`, `bell202-mdmf`, `dtmf`).
    pub fn from_name(name: &str) -> Option<CidFormat> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            CidFormat::Etsi => "etsi",
            CidFormat::EtsiBell202 => "etsi-bell202",
            CidFormat::Bell202Sdmf => "bell202-sdmf",
            CidFormat::Bell202Mdmf => "bell202-mdmf",
            CidFormat::Dtmf => "dtmf",
        }
    }

    /// Modem, message type and default preamble of an FSK format.
    fn fsk(self) -> Option<(FskParams, u8, FskPreamble)> {
        match self {
            CidFormat::Etsi => Some((FskParams::V23, MSG_MDMF_CALLER_ID, FskPreamble::ETSI)),
            CidFormat::EtsiBell202 => Some((FskParams::BELL202, MSG_MDMF_CALLER_ID, FskPreamble::ETSI)),
            CidFormat::Bell202Sdmf => Some((FskParams::BELL202, MSG_SDMF_CALLER_ID, FskPreamble::BELL)),
            CidFormat::Bell202Mdmf => Some((FskParams::BELL202, MSG_MDMF_CALLER_ID, FskPreamble::BELL)),
            CidFormat::Dtmf => None,
        }
    }
}

impl fmt::Display for CidFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Problems with a message or configuration; they never include the number or name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidError {
    #[error("calling number is longer than {max} characters")]
    NumberTooLong { max: usize },
    #[error("calling number is empty")]
    EmptyNumber,
    #[error("calling number has a character the {format} format cannot send")]
    InvalidNumberChar { format: CidFormat },
    #[error("name is longer than {max} characters")]
    NameTooLong { max: usize },
    #[error("name has a character outside printable ASCII")]
    InvalidNameChar,
    #[error("date/time out of range")]
    InvalidDateTime,
    #[error("the bell202-sdmf format requires the date and time")]
    MissingDateTime,
    #[error("invalid DTMF caller ID style: {0}")]
    InvalidDtmfStyle(&'static str),
}

// ---------------------------------------------------------------- DTMF style

/// A DTMF caller ID variant as data: `<number_start><digits><end>` for a number,
/// `<absence_start><code><end>` when it is withheld or unavailable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DtmfCidStyle {
    pub number_start: char,
    pub end: char,
    pub absence_start: char,
    /// Codes meaning "private"; the first is sent.
    pub private_codes: Vec<String>,
    /// Codes meaning "unavailable"; the first is sent.
    pub unavailable_codes: Vec<String>,
    /// Tone and pause per digit, ms (Annex B: 50–70 ms each).
    pub on_ms: u32,
    pub off_ms: u32,
}

impl Default for DtmfCidStyle {
    fn default() -> Self {
        DtmfCidStyle::etsi()
    }
}

impl DtmfCidStyle {
    /// EN 300 659-1 Annex B as used e.g. in China, Taiwan, Brazil, India: `A…C`; absence
    /// `B00C` unavailable, `B10C` private (Asterisk's reading; spandsp's header comment
    /// has the two codes the other way round).
    pub fn etsi() -> Self {
        DtmfCidStyle {
            number_start: 'A',
            end: 'C',
            absence_start: 'B',
            private_codes: vec!["10".into()],
            unavailable_codes: vec!["00".into()],
            on_ms: 60,
            off_ms: 60,
        }
    }

    /// `#`-terminated variant (Denmark and other Nordic networks; spandsp's
    /// `CLIP_DTMF_HASH_*`): `A…#`; absence `D1#` private, `D2#` (overseas) and `D3#`
    /// unavailable.
    pub fn hash() -> Self {
        DtmfCidStyle {
            number_start: 'A',
            end: '#',
            absence_start: 'D',
            private_codes: vec!["1".into()],
            unavailable_codes: vec!["3".into(), "2".into()],
            ..DtmfCidStyle::etsi()
        }
    }

    /// Start `D`, end `C` (accepted by Asterisk as a calling number; some networks send
    /// the number this way). Absence as [`DtmfCidStyle::etsi`].
    pub fn d_start() -> Self {
        DtmfCidStyle { number_start: 'D', ..DtmfCidStyle::etsi() }
    }

    /// The variants the detector recognises.
    pub fn known() -> Vec<DtmfCidStyle> {
        vec![DtmfCidStyle::etsi(), DtmfCidStyle::hash(), DtmfCidStyle::d_start()]
    }

    fn validate(&self) -> Result<(), CidError> {
        let marker = |c: char| matches!(c, 'A'..='D' | '*' | '#');
        if !marker(self.number_start) || !marker(self.end) || !marker(self.absence_start) {
            return Err(CidError::InvalidDtmfStyle("start and end must be one of A-D * #"));
        }
        let codes_ok = |v: &[String]| {
            !v.is_empty() && v.iter().all(|c| !c.is_empty() && c.len() <= 4 && c.bytes().all(|b| b.is_ascii_digit()))
        };
        if !codes_ok(&self.private_codes) || !codes_ok(&self.unavailable_codes) {
            return Err(CidError::InvalidDtmfStyle("absence codes must be 1-4 digits"));
        }
        if self.on_ms == 0 || self.off_ms == 0 || self.on_ms > 1000 || self.off_ms > 1000 {
            return Err(CidError::InvalidDtmfStyle("on_ms and off_ms must be 1..=1000"));
        }
        Ok(())
    }

    /// The digit string for a message.
    fn encode(&self, msg: &CallerIdMessage) -> String {
        let mut s = String::new();
        match &msg.number {
            Some(n) => {
                s.push(self.number_start);
                s.push_str(n);
            }
            None => {
                let codes = match msg.number_absence {
                    Some(Absence::Private) => &self.private_codes,
                    _ => &self.unavailable_codes,
                };
                s.push(self.absence_start);
                s.push_str(codes.first().map_or("", String::as_str));
            }
        }
        s.push(self.end);
        s
    }

    /// Number or absence if `digits` (start to end inclusive) is a spill in this style.
    fn absence(&self, digits: &[u8]) -> Option<Absence> {
        let (&first, rest) = digits.split_first()?;
        let (&last, body) = rest.split_last()?;
        if char::from(first) != self.absence_start || char::from(last) != self.end {
            return None;
        }
        let is = |codes: &[String]| codes.iter().any(|c| c.as_bytes() == body);
        if is(&self.private_codes) {
            Some(Absence::Private)
        } else if is(&self.unavailable_codes) {
            Some(Absence::Unavailable)
        } else {
            None
        }
    }

    fn number<'a>(&self, digits: &'a [u8]) -> Option<&'a [u8]> {
        let (&first, rest) = digits.split_first()?;
        let (&last, body) = rest.split_last()?;
        let ok = char::from(first) == self.number_start
            && char::from(last) == self.end
            && !body.is_empty()
            && body.iter().all(u8::is_ascii_digit);
        ok.then_some(body)
    }
}

// ---------------------------------------------------------------- generator

/// How to send caller ID.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CidTxConfig {
    pub format: CidFormat,
    /// FSK level; for DTMF the low/high tones go 1 dB below/above it.
    pub level_dbm0: f32,
    /// FSK space level minus mark level, dB (0 normally; for testing receivers).
    pub twist_db: f32,
    /// FSK channel seizure and mark; `None` takes the format's standard values.
    pub preamble: Option<FskPreamble>,
    pub dtmf: DtmfCidStyle,
}

impl Default for CidTxConfig {
    fn default() -> Self {
        CidTxConfig {
            format: CidFormat::Etsi,
            level_dbm0: -13.0,
            twist_db: 0.0,
            preamble: None,
            dtmf: DtmfCidStyle::default(),
        }
    }
}

#[derive(Clone, Debug)]
enum TxInner {
    Fsk(FskTransmitter),
    Dtmf(DtmfGenerator),
}

/// Renders one caller ID spill; fields the format cannot carry (name and date in DTMF,
/// name and call type in SDMF) are left out.
#[derive(Clone, Debug)]
pub struct CallerIdGenerator {
    inner: TxInner,
    duration: u64,
}

impl CallerIdGenerator {
    pub fn new(cfg: &CidTxConfig, msg: &CallerIdMessage) -> Result<Self, CidError> {
        validate(cfg.format, msg)?;
        match cfg.format.fsk() {
            Some((params, msg_type, preamble)) => {
                let bytes = encode_fsk(msg_type, msg)?;
                let mark = cfg.level_dbm0;
                let space = cfg.level_dbm0 + cfg.twist_db;
                let tx = FskTransmitter::new(params, mark, space, cfg.preamble.unwrap_or(preamble), &bytes);
                Ok(CallerIdGenerator { duration: tx.duration_samples(), inner: TxInner::Fsk(tx) })
            }
            None => {
                cfg.dtmf.validate()?;
                let digits = cfg.dtmf.encode(msg);
                let dtmf = DtmfTxConfig {
                    level_low_dbm0: cfg.level_dbm0 - 1.0,
                    level_high_dbm0: cfg.level_dbm0 + 1.0,
                    on_ms: cfg.dtmf.on_ms,
                    off_ms: cfg.dtmf.off_ms,
                };
                let mut g = DtmfGenerator::new(dtmf);
                g.push_digits(&digits);
                let per_digit = u64::from(dtmf.on_ms + dtmf.off_ms) * u64::from(SAMPLE_RATE) / 1000;
                Ok(CallerIdGenerator { duration: per_digit * digits.len() as u64, inner: TxInner::Dtmf(g) })
            }
        }
    }

    /// Writes the next samples; returns how many belong to the spill (from the start of
    /// `out`), the rest is zero-filled.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        match &mut self.inner {
            TxInner::Fsk(tx) => tx.fill(out),
            TxInner::Dtmf(g) => g.fill(out),
        }
    }

    pub fn is_done(&self) -> bool {
        match &self.inner {
            TxInner::Fsk(tx) => tx.is_done(),
            TxInner::Dtmf(g) => g.is_idle(),
        }
    }

    /// Length of the whole spill.
    pub fn duration_samples(&self) -> u64 {
        self.duration
    }
}

impl CallerIdMessage {
    /// The message as `format` can carry it: characters the format cannot send dropped
    /// (a `+` before an international number, accents in a name), the name cut to
    /// [`MAX_NAME_LEN`]; a number left empty or too long becomes "unavailable". So a
    /// phone always gets what can be shown rather than nothing.
    pub fn fit(mut self, format: CidFormat) -> CallerIdMessage {
        if let Some(n) = self.number.take() {
            let ok = |c: &char| c.is_ascii_digit() || (format != CidFormat::Dtmf && matches!(c, '*' | '#'));
            let n: String = n.chars().filter(ok).collect();
            if n.is_empty() || n.chars().count() > MAX_NUMBER_LEN {
                self.number_absence = self.number_absence.or(Some(Absence::Unavailable));
            } else {
                self.number = Some(n);
            }
        }
        if let Some(name) = self.name.take() {
            let name: String = name.chars().filter(|&c| c == ' ' || c.is_ascii_graphic()).take(MAX_NAME_LEN).collect();
            let name = name.trim().to_string();
            if !name.is_empty() {
                self.name = Some(name);
            }
        }
        self
    }
}

/// Renders a whole spill (tests and tools).
pub fn render(cfg: &CidTxConfig, msg: &CallerIdMessage) -> Result<Vec<i16>, CidError> {
    let mut g = CallerIdGenerator::new(cfg, msg)?;
    let mut out = vec![0i16; g.duration_samples() as usize];
    g.fill(&mut out);
    Ok(out)
}

fn validate(format: CidFormat, msg: &CallerIdMessage) -> Result<(), CidError> {
    if let Some(n) = &msg.number {
        if n.is_empty() {
            return Err(CidError::EmptyNumber);
        }
        if n.chars().count() > MAX_NUMBER_LEN {
            return Err(CidError::NumberTooLong { max: MAX_NUMBER_LEN });
        }
        let ok = |c: char| c.is_ascii_digit() || (format != CidFormat::Dtmf && matches!(c, '*' | '#' | '+'));
        if !n.chars().all(ok) {
            return Err(CidError::InvalidNumberChar { format });
        }
    }
    if let Some(name) = &msg.name {
        if name.chars().count() > MAX_NAME_LEN {
            return Err(CidError::NameTooLong { max: MAX_NAME_LEN });
        }
        if !name.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return Err(CidError::InvalidNameChar);
        }
    }
    match msg.datetime {
        Some(dt) if !dt.is_valid() => Err(CidError::InvalidDateTime),
        None if format == CidFormat::Bell202Sdmf => Err(CidError::MissingDateTime),
        _ => Ok(()),
    }
}

/// Message bytes: type, length, body, checksum. Input is validated, so lengths fit.
fn encode_fsk(msg_type: u8, msg: &CallerIdMessage) -> Result<Vec<u8>, CidError> {
    let mut out = vec![msg_type, 0];
    if msg_type == MSG_SDMF_CALLER_ID {
        out.extend_from_slice(&msg.datetime.ok_or(CidError::MissingDateTime)?.encode());
        match &msg.number {
            Some(n) => out.extend_from_slice(n.as_bytes()),
            None => out.push(msg.number_absence.unwrap_or(Absence::Unavailable).code()),
        }
    } else {
        let mut param = |t: u8, body: &[u8]| {
            out.push(t);
            out.push(body.len() as u8);
            out.extend_from_slice(body);
        };
        if let Some(dt) = msg.datetime {
            param(PARAM_DATETIME, &dt.encode());
        }
        match (&msg.number, msg.number_absence) {
            (Some(n), _) => param(PARAM_NUMBER, n.as_bytes()),
            (None, Some(a)) => param(PARAM_NUMBER_ABSENCE, &[a.code()]),
            (None, None) => {}
        }
        match (&msg.name, msg.name_absence) {
            (Some(n), _) => param(PARAM_NAME, n.as_bytes()),
            (None, Some(a)) => param(PARAM_NAME_ABSENCE, &[a.code()]),
            (None, None) => {}
        }
        if let Some(ct) = msg.call_type {
            param(PARAM_CALL_TYPE, &[ct]);
        }
    }
    // At most 10 + 22 + 3 + 52 + 3 bytes of body: always fits the length byte.
    let body_len = u8::try_from(out.len() - 2).unwrap_or(u8::MAX);
    if let Some(len) = out.get_mut(1) {
        *len = body_len;
    }
    let sum = out.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    out.push(sum.wrapping_neg());
    Ok(out)
}

/// Parses message bytes (type, length, body; checksum already checked and removed).
/// Unknown MDMF parameters are skipped; a malformed one rejects the message.
pub fn parse_fsk_message(bytes: &[u8]) -> Option<CallerIdMessage> {
    let (&msg_type, rest) = bytes.split_first()?;
    let (&len, body) = rest.split_first()?;
    if body.len() != usize::from(len) {
        return None;
    }
    let text = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect::<String>();
    let mut msg = CallerIdMessage::default();
    match msg_type {
        MSG_SDMF_CALLER_ID => {
            let (dt, number) = (body.get(..8)?, body.get(8..)?);
            msg.datetime = CidDateTime::decode(dt);
            match Absence::from_code(number) {
                Some(a) => msg.number_absence = Some(a),
                None if !number.is_empty() => msg.number = Some(text(number)),
                None => {}
            }
        }
        MSG_MDMF_CALLER_ID => {
            let mut rest = body;
            while let [t, l, tail @ ..] = rest {
                let value = tail.get(..usize::from(*l))?;
                rest = tail.get(usize::from(*l)..)?;
                match *t {
                    PARAM_DATETIME => msg.datetime = CidDateTime::decode(value),
                    PARAM_NUMBER => msg.number = Some(text(value)),
                    PARAM_NUMBER_ABSENCE => msg.number_absence = Absence::from_code(value),
                    PARAM_NAME => msg.name = Some(text(value)),
                    PARAM_NAME_ABSENCE => msg.name_absence = Absence::from_code(value),
                    PARAM_CALL_TYPE => msg.call_type = value.first().copied(),
                    _ => {}
                }
            }
            if !rest.is_empty() {
                return None;
            }
        }
        _ => return None,
    }
    Some(msg)
}

// ---------------------------------------------------------------- detector

/// What to listen for. Deserializes from `"auto"` or a format name such as `"etsi"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CidDetect {
    #[default]
    Auto,
    Only(CidFormat),
}

impl FromStr for CidDetect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(CidDetect::Auto);
        }
        CidFormat::from_name(s).map(CidDetect::Only).ok_or_else(|| {
            format!("unknown caller ID mode `{s}` (auto, etsi, etsi-bell202, bell202-sdmf, bell202-mdmf, dtmf)")
        })
    }
}

impl TryFrom<String> for CidDetect {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CidDetect> for String {
    fn from(d: CidDetect) -> String {
        match d {
            CidDetect::Auto => "auto".into(),
            CidDetect::Only(f) => f.name().into(),
        }
    }
}

/// A decoded spill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdReport {
    pub format: CidFormat,
    pub message: CallerIdMessage,
    /// FSK: message type, length and body (checksum removed); DTMF: the digits.
    pub raw: Vec<u8>,
    /// Samples fed (since construction or reset) when the spill was complete.
    pub end_sample: u64,
}

/// Collects UART bytes into one message: type, length, body, checksum.
#[derive(Clone, Debug)]
struct Framer {
    buf: [u8; 258],
    len: usize,
    active: bool,
    tones: ToneAcc,
}

impl Framer {
    fn new() -> Self {
        Framer { buf: [0; 258], len: 0, active: false, tones: ToneAcc::default() }
    }

    /// Returns true when `buf[..len]` holds a complete message (checksum not yet checked).
    fn on_event(&mut self, ev: FskEvent, accepts: impl Fn(u8) -> bool) -> bool {
        let FskEvent::Byte { byte, idle_bits, tones, .. } = ev else {
            self.active = false;
            return false;
        };
        if self.active && idle_bits > MAX_GAP_BITS {
            self.active = false;
        }
        if !self.active {
            if idle_bits >= MIN_MARK_BITS && accepts(byte) {
                self.active = true;
                self.buf[0] = byte;
                self.len = 1;
                self.tones = tones;
            }
            return false;
        }
        self.tones.add(&tones);
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
        let need = usize::from(self.buf[1]) + 3;
        if self.len >= 3 && self.len >= need {
            self.active = false;
            return true;
        }
        false
    }
}

/// One FSK modem's receive chain.
#[derive(Clone, Debug)]
struct FskChain {
    rx: FskReceiver,
    framer: Framer,
    /// (message type, reported format) accepted on this modem.
    accepts: [Option<(u8, CidFormat)>; 2],
}

impl FskChain {
    fn new(params: FskParams, accepts: [Option<(u8, CidFormat)>; 2]) -> Self {
        FskChain { rx: FskReceiver::new(params, FskRxConfig::default()), framer: Framer::new(), accepts }
    }

    fn process(&mut self, samples: &[i16], reports: &mut VecDeque<CallerIdReport>) {
        let FskChain { rx, framer, accepts } = self;
        let format_of = |t: u8| accepts.iter().flatten().find(|a| a.0 == t).map(|a| a.1);
        rx.process(samples, |ev| {
            let at = match ev {
                FskEvent::Byte { at_sample, .. } => at_sample,
                _ => 0,
            };
            if !framer.on_event(ev, |t| format_of(t).is_some()) {
                return;
            }
            let bytes = framer.buf.get(..framer.len).unwrap_or_default();
            let Some((&sum_byte, msg)) = bytes.split_last() else { return };
            let sum = msg.iter().fold(sum_byte, |a, &b| a.wrapping_add(b));
            let tone_ok = framer.tones.mark_offset_hz().is_some_and(|e| e.abs() <= MAX_MARK_ERROR_HZ);
            let format = msg.first().and_then(|&t| format_of(t));
            if let (0, true, Some(format), Some(message)) = (sum, tone_ok, format, parse_fsk_message(msg)) {
                reports.push_back(CallerIdReport { format, message, raw: msg.to_vec(), end_sample: at });
            }
        });
    }

    fn reset(&mut self) {
        self.rx.reset();
        self.framer = Framer::new();
    }
}

/// Collects DTMF digits from a start marker to an end marker.
#[derive(Clone, Debug)]
struct DtmfChain {
    det: DtmfDetector,
    styles: Vec<DtmfCidStyle>,
    digits: [u8; DTMF_MAX_DIGITS],
    len: usize,
    last_digit_at: u64,
}

impl DtmfChain {
    fn new(styles: Vec<DtmfCidStyle>) -> Self {
        // CID digits are 50–70 ms with pauses as short: accept ≥ 35 ms tones and split
        // on ≥ 30 ms pauses (the defaults are 40/40 for dialling).
        let cfg = DtmfRxConfig { min_on_ms: 35, min_off_ms: 30, ..DtmfRxConfig::default() };
        DtmfChain { det: DtmfDetector::new(cfg), styles, digits: [0; DTMF_MAX_DIGITS], len: 0, last_digit_at: 0 }
    }

    fn is_start(&self, c: char) -> bool {
        self.styles.iter().any(|s| s.number_start == c || s.absence_start == c)
    }

    fn is_end(&self, c: char) -> bool {
        self.styles.iter().any(|s| s.end == c)
    }

    fn process(&mut self, samples: &[i16], reports: &mut VecDeque<CallerIdReport>) {
        // The detector queues only 16 events: poll at least every 20 ms so a long slice
        // (a whole spill in one call) loses none.
        for chunk in samples.chunks(crate::dsp::FRAME_SAMPLES) {
            self.det.process(chunk);
            self.drain(reports);
        }
    }

    fn drain(&mut self, reports: &mut VecDeque<CallerIdReport>) {
        while let Some(ev) = self.det.poll_event() {
            if ev.kind != DtmfEventKind::Begin {
                continue;
            }
            let c = ev.digit;
            if self.len > 0 && ev.at_sample.saturating_sub(self.last_digit_at) > DTMF_GAP_SAMPLES {
                self.len = 0;
            }
            self.last_digit_at = ev.at_sample;
            if self.len == 0 {
                if self.is_start(c) {
                    self.push(c);
                }
                continue;
            }
            self.push(c);
            if self.is_end(c) {
                let digits = self.digits.get(..self.len).unwrap_or_default();
                if let Some(message) = self.parse(digits) {
                    reports.push_back(CallerIdReport {
                        format: CidFormat::Dtmf,
                        message,
                        raw: digits.to_vec(),
                        end_sample: ev.at_sample,
                    });
                }
                self.len = 0;
            } else if self.is_start(c) && self.len > 1 {
                // A new spill started before the old one ended: keep the new start.
                self.len = 0;
                self.push(c);
            }
        }
    }

    fn push(&mut self, c: char) {
        match self.digits.get_mut(self.len) {
            Some(slot) => {
                *slot = c as u8;
                self.len += 1;
            }
            None => self.len = 0, // too long to be caller ID
        }
    }

    fn parse(&self, digits: &[u8]) -> Option<CallerIdMessage> {
        if let Some(a) = self.styles.iter().find_map(|s| s.absence(digits)) {
            return Some(CallerIdMessage { number_absence: Some(a), ..CallerIdMessage::default() });
        }
        let n = self.styles.iter().find_map(|s| s.number(digits))?;
        Some(CallerIdMessage { number: Some(n.iter().map(|&b| char::from(b)).collect()), ..CallerIdMessage::default() })
    }
}

/// Streaming caller ID receiver: feed samples, poll reports.
#[derive(Clone, Debug)]
pub struct CallerIdDetector {
    v23: Option<FskChain>,
    bell: Option<FskChain>,
    dtmf: Option<DtmfChain>,
    reports: VecDeque<CallerIdReport>,
}

impl CallerIdDetector {
    pub fn new(mode: CidDetect) -> Self {
        use CidFormat::*;
        let only = |f: CidFormat| mode == CidDetect::Auto || mode == CidDetect::Only(f);
        let v23 = only(Etsi).then(|| FskChain::new(FskParams::V23, [Some((MSG_MDMF_CALLER_ID, Etsi)), None]));
        // On Bell 202, MDMF is reported as Bell 202 MDMF unless ETSI-over-Bell 202 was
        // asked for: the two are the same on the wire.
        let bell_mdmf = match mode {
            CidDetect::Auto | CidDetect::Only(Bell202Mdmf) => Some((MSG_MDMF_CALLER_ID, Bell202Mdmf)),
            CidDetect::Only(EtsiBell202) => Some((MSG_MDMF_CALLER_ID, EtsiBell202)),
            _ => None,
        };
        let bell_sdmf = only(Bell202Sdmf).then_some((MSG_SDMF_CALLER_ID, Bell202Sdmf));
        let bell = (bell_mdmf.is_some() || bell_sdmf.is_some())
            .then(|| FskChain::new(FskParams::BELL202, [bell_sdmf, bell_mdmf]));
        let dtmf = only(Dtmf).then(|| DtmfChain::new(DtmfCidStyle::known()));
        CallerIdDetector { v23, bell, dtmf, reports: VecDeque::with_capacity(4) }
    }

    /// Recognise these DTMF variants instead of [`DtmfCidStyle::known`] (e.g. a
    /// network's own absence codes). Invalid styles are ignored.
    pub fn with_dtmf_styles(mut self, styles: &[DtmfCidStyle]) -> Self {
        if let Some(d) = &mut self.dtmf {
            d.styles = styles.iter().filter(|s| s.validate().is_ok()).cloned().collect();
        }
        self
    }

    /// Feeds samples of any length.
    pub fn process(&mut self, samples: &[i16]) {
        for chain in [&mut self.v23, &mut self.bell].into_iter().flatten() {
            chain.process(samples, &mut self.reports);
        }
        if let Some(d) = &mut self.dtmf {
            d.process(samples, &mut self.reports);
        }
    }

    /// Next decoded spill, oldest first.
    pub fn poll(&mut self) -> Option<CallerIdReport> {
        self.reports.pop_front()
    }

    /// Forgets partial spills and pending reports; the sample count restarts at 0.
    pub fn reset(&mut self) {
        for chain in [&mut self.v23, &mut self.bell].into_iter().flatten() {
            chain.reset();
        }
        if let Some(d) = &mut self.dtmf {
            *d = DtmfChain::new(std::mem::take(&mut d.styles));
        }
        self.reports.clear();
    }
}

#[cfg(test)]
mod tests;
