//! `say`: read a number, digit string, money amount, date or time to a caller.
//!
//! IVR scripts call `say(kind, value, lang)`; this module turns the value into the list of prompt files
//! to play back to back. Each file holds one word (`prompts/<lang>/say/…`, plus the existing
//! `prompts/<lang>/digits/N.wav`), so a small fixed set of recordings covers every value and a custom
//! voice only has to re-record that set ([`prompt_set`] lists it). Paths are relative to the prompts
//! directory and start with the language (`zh/say/shi.wav`).
//!
//! Conventions, chosen once so scripts and recordings agree:
//! - Input is strict (no spaces, no `+`, ASCII digits only) so that a script bug surfaces as an error
//!   instead of a strange reading. Leading zeros are accepted ("007" is seven).
//! - zh numbers: 一 is dropped before a leading 十 (12 → 十二, 100000 → 十万); 零 stands once for any run
//!   of zeros between two spoken digits (1010 → 一千零一十, 10001 → 一万零一, 100000001 → 一亿零一).
//!   两 replaces 二 before 千 (2000 → 两千, 12000 → 一万两千), before a leading 百 (200 → 两百, but
//!   1200 → 一千二百), and for a 万 or 亿 group that is exactly 2 (20000 → 两万, 200000000 → 两亿); 二
//!   everywhere else (2, 12, 20, 102万). Time says 两点 for 2 o'clock, as speakers do.
//! - Amounts are CNY. zh reads the yuan part as a number (2 元 → 二元, the formal reading banks use) with
//!   整 for whole amounts and 零 for a missing 角 before 分. Negative amounts are read with 负 / "minus"
//!   (a prepaid balance can be negative); "-0" and "-0.00" read as zero.
//! - en has no "and" ("one hundred five"); midnight and noon are "twelve a m" / "twelve p m", other full
//!   hours "two o'clock p m"; years are read in pairs ("nineteen oh five", "twenty twenty-six") except
//!   2000–2009 style years and whole thousands ("two thousand five").

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// What kind of value [`say`] reads; scripts name it as a string, see [`SayKind::from_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SayKind {
    /// An integer, optional leading `-`, |n| < 10^12.
    Number,
    /// Digit by digit: `0`-`9`, `*`, `#` (phone numbers, account numbers).
    Digits,
    /// CNY amount with at most two decimals ("12.5", "0.05", "100").
    Amount,
    /// `YYYY-MM-DD`, year 1000–9999.
    Date,
    /// `HH:MM`, 24-hour clock.
    Time,
}

impl SayKind {
    /// The name scripts use, also used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SayKind::Number => "number",
            SayKind::Digits => "digits",
            SayKind::Amount => "amount",
            SayKind::Date => "date",
            SayKind::Time => "time",
        }
    }
}

impl fmt::Display for SayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SayKind {
    type Err = SayError;

    /// Case-insensitive: "number", "digits", "amount" (alias "money"), "date", "time".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const NAMES: [(&str, SayKind); 6] = [
            ("number", SayKind::Number),
            ("digits", SayKind::Digits),
            ("amount", SayKind::Amount),
            ("money", SayKind::Amount),
            ("date", SayKind::Date),
            ("time", SayKind::Time),
        ];
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, k)| k)
            .ok_or_else(|| SayError::UnknownKind(clip(s)))
    }
}

/// Why a value cannot be said. Values are quoted in the message (cut to 40 characters, since they come
/// from scripts and callers) so a log line shows what the script passed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SayError {
    /// Only `en` and `zh` have prompts.
    #[error("unknown say language {0:?} (have: en, zh)")]
    UnknownLanguage(String),
    /// Not one of the names [`SayKind::from_str`] accepts.
    #[error("unknown say kind {0:?} (have: number, digits, amount/money, date, time)")]
    UnknownKind(String),
    /// Malformed, or not a real date/time (month 13, 25:00, Feb 29 in a common year).
    #[error("cannot say {value:?} as {kind}: {reason}")]
    Invalid { kind: SayKind, value: String, reason: String },
    /// Well-formed but too large (or, for a date's year, too small) to be said.
    #[error("cannot say {value:?} as {kind}: out of range: {reason}")]
    OutOfRange { kind: SayKind, value: String, reason: String },
}

/// Relative prompt paths (resolved later against the prompts directory), in play order.
pub fn say(lang: &str, kind: SayKind, value: &str) -> Result<Vec<PathBuf>, SayError> {
    let lang = Lang::parse(lang)?;
    let mut out: Vec<&'static str> = Vec::new();
    match kind {
        SayKind::Number => {
            let (neg, n) = parse_signed_int(kind, value)?;
            if neg {
                out.push(lang.minus());
            }
            lang.cardinal(n, &mut out);
        }
        SayKind::Digits => {
            if value.is_empty() {
                return Err(invalid(kind, value, "no digits"));
            }
            for (i, c) in value.chars().enumerate() {
                out.push(match c {
                    '0'..='9' => lang.digit(c as u64 - '0' as u64),
                    '*' => lang.star(),
                    '#' => lang.pound(),
                    _ => {
                        return Err(invalid(
                            kind,
                            value,
                            format!("character {c:?} at position {} is not 0-9, * or #", i + 1),
                        ))
                    }
                });
            }
        }
        SayKind::Amount => {
            let (neg, yuan, fen) = parse_amount(value)?;
            if neg && (yuan, fen) != (0, 0) {
                out.push(lang.minus());
            }
            match lang {
                Lang::En => en_amount(yuan, fen, &mut out),
                Lang::Zh => zh_amount(yuan, fen, &mut out),
            }
        }
        SayKind::Date => {
            let (y, m, d) = parse_date(value)?;
            match lang {
                Lang::En => {
                    out.push(EN_MONTH[m as usize - 1]);
                    en_ordinal(d, &mut out);
                    en_year(y, &mut out);
                }
                Lang::Zh => {
                    // Years are read digit by digit: 2026 → 二零二六年.
                    for p in [1000, 100, 10, 1] {
                        out.push(ZH_DIGIT[(y / p % 10) as usize]);
                    }
                    out.push(ZH_NIAN);
                    zh_cardinal(m, &mut out);
                    out.push(ZH_YUE);
                    zh_cardinal(d, &mut out);
                    out.push(ZH_RI);
                }
            }
        }
        SayKind::Time => {
            let (h, m) = parse_time(value)?;
            match lang {
                Lang::En => en_time(h, m, &mut out),
                Lang::Zh => zh_time(h, m, &mut out),
            }
        }
    }
    Ok(out.into_iter().map(PathBuf::from).collect())
}

/// Every prompt file `say` can ever return for `lang` (for a test that they all exist, and for packaging),
/// sorted.
pub fn prompt_set(lang: &str) -> Result<Vec<PathBuf>, SayError> {
    let mut all: Vec<&'static str> = match Lang::parse(lang)? {
        Lang::En => {
            [&EN_DIGIT[..], &EN_TEEN, &EN_TENS, &EN_WORDS, &EN_MONTH, &EN_ORD, &[EN_ORD_20, EN_ORD_30]].concat()
        }
        Lang::Zh => [&ZH_DIGIT[..], &ZH_WORDS].concat(),
    };
    all.sort_unstable();
    all.dedup();
    Ok(all.into_iter().map(PathBuf::from).collect())
}

// ---- prompt files -------------------------------------------------------------------------------------

const EN_DIGIT: [&str; 10] = [
    "en/digits/0.wav",
    "en/digits/1.wav",
    "en/digits/2.wav",
    "en/digits/3.wav",
    "en/digits/4.wav",
    "en/digits/5.wav",
    "en/digits/6.wav",
    "en/digits/7.wav",
    "en/digits/8.wav",
    "en/digits/9.wav",
];
/// ten … nineteen, indexed by n - 10.
const EN_TEEN: [&str; 10] = [
    "en/say/10.wav",
    "en/say/11.wav",
    "en/say/12.wav",
    "en/say/13.wav",
    "en/say/14.wav",
    "en/say/15.wav",
    "en/say/16.wav",
    "en/say/17.wav",
    "en/say/18.wav",
    "en/say/19.wav",
];
/// twenty … ninety, indexed by n / 10 - 2.
const EN_TENS: [&str; 8] = [
    "en/say/20.wav",
    "en/say/30.wav",
    "en/say/40.wav",
    "en/say/50.wav",
    "en/say/60.wav",
    "en/say/70.wav",
    "en/say/80.wav",
    "en/say/90.wav",
];
const EN_HUNDRED: &str = "en/say/hundred.wav";
const EN_THOUSAND: &str = "en/say/thousand.wav";
const EN_MILLION: &str = "en/say/million.wav";
const EN_BILLION: &str = "en/say/billion.wav";
const EN_MINUS: &str = "en/say/minus.wav";
const EN_YUAN: &str = "en/say/yuan.wav";
const EN_FEN: &str = "en/say/fen.wav";
/// "oh" as in "two oh five" and "nineteen oh five".
const EN_OH: &str = "en/say/oh.wav";
const EN_OCLOCK: &str = "en/say/oclock.wav";
const EN_AM: &str = "en/say/am.wav";
const EN_PM: &str = "en/say/pm.wav";
const EN_STAR: &str = "en/say/star.wav";
const EN_POUND: &str = "en/say/pound.wav";
const EN_WORDS: [&str; 13] = [
    EN_HUNDRED,
    EN_THOUSAND,
    EN_MILLION,
    EN_BILLION,
    EN_MINUS,
    EN_YUAN,
    EN_FEN,
    EN_OH,
    EN_OCLOCK,
    EN_AM,
    EN_PM,
    EN_STAR,
    EN_POUND,
];
const EN_MONTH: [&str; 12] = [
    "en/say/month/january.wav",
    "en/say/month/february.wav",
    "en/say/month/march.wav",
    "en/say/month/april.wav",
    "en/say/month/may.wav",
    "en/say/month/june.wav",
    "en/say/month/july.wav",
    "en/say/month/august.wav",
    "en/say/month/september.wav",
    "en/say/month/october.wav",
    "en/say/month/november.wav",
    "en/say/month/december.wav",
];
/// first … nineteenth, indexed by n - 1. 21st-29th and 31st are "twenty"/"thirty" + first…ninth.
const EN_ORD: [&str; 19] = [
    "en/say/ord/1.wav",
    "en/say/ord/2.wav",
    "en/say/ord/3.wav",
    "en/say/ord/4.wav",
    "en/say/ord/5.wav",
    "en/say/ord/6.wav",
    "en/say/ord/7.wav",
    "en/say/ord/8.wav",
    "en/say/ord/9.wav",
    "en/say/ord/10.wav",
    "en/say/ord/11.wav",
    "en/say/ord/12.wav",
    "en/say/ord/13.wav",
    "en/say/ord/14.wav",
    "en/say/ord/15.wav",
    "en/say/ord/16.wav",
    "en/say/ord/17.wav",
    "en/say/ord/18.wav",
    "en/say/ord/19.wav",
];
const EN_ORD_20: &str = "en/say/ord/20.wav";
const EN_ORD_30: &str = "en/say/ord/30.wav";

/// 零 一 … 九.
const ZH_DIGIT: [&str; 10] = [
    "zh/digits/0.wav",
    "zh/digits/1.wav",
    "zh/digits/2.wav",
    "zh/digits/3.wav",
    "zh/digits/4.wav",
    "zh/digits/5.wav",
    "zh/digits/6.wav",
    "zh/digits/7.wav",
    "zh/digits/8.wav",
    "zh/digits/9.wav",
];
const ZH_SHI: &str = "zh/say/shi.wav"; // 十
const ZH_BAI: &str = "zh/say/bai.wav"; // 百
const ZH_QIAN: &str = "zh/say/qian.wav"; // 千
const ZH_WAN: &str = "zh/say/wan.wav"; // 万
const ZH_YI: &str = "zh/say/yi.wav"; // 亿
const ZH_LIANG: &str = "zh/say/liang.wav"; // 两
const ZH_FU: &str = "zh/say/fu.wav"; // 负
const ZH_YUAN: &str = "zh/say/yuan.wav"; // 元
const ZH_JIAO: &str = "zh/say/jiao.wav"; // 角
const ZH_FEN: &str = "zh/say/fen.wav"; // 分 (money, and minutes)
const ZH_ZHENG: &str = "zh/say/zheng.wav"; // 整
const ZH_NIAN: &str = "zh/say/nian.wav"; // 年
const ZH_YUE: &str = "zh/say/yue.wav"; // 月
const ZH_RI: &str = "zh/say/ri.wav"; // 日
const ZH_DIAN: &str = "zh/say/dian.wav"; // 点
const ZH_XINGHAO: &str = "zh/say/xinghao.wav"; // 星号
const ZH_JINGHAO: &str = "zh/say/jinghao.wav"; // 井号
const ZH_WORDS: [&str; 17] = [
    ZH_SHI, ZH_BAI, ZH_QIAN, ZH_WAN, ZH_YI, ZH_LIANG, ZH_FU, ZH_YUAN, ZH_JIAO, ZH_FEN, ZH_ZHENG, ZH_NIAN, ZH_YUE,
    ZH_RI, ZH_DIAN, ZH_XINGHAO, ZH_JINGHAO,
];

// ---- languages ----------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Lang {
    En,
    Zh,
}

impl Lang {
    fn parse(lang: &str) -> Result<Self, SayError> {
        match lang {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::Zh),
            _ => Err(SayError::UnknownLanguage(clip(lang))),
        }
    }

    fn digit(self, d: u64) -> &'static str {
        let d = (d % 10) as usize;
        match self {
            Lang::En => EN_DIGIT[d],
            Lang::Zh => ZH_DIGIT[d],
        }
    }

    fn minus(self) -> &'static str {
        match self {
            Lang::En => EN_MINUS,
            Lang::Zh => ZH_FU,
        }
    }

    fn star(self) -> &'static str {
        match self {
            Lang::En => EN_STAR,
            Lang::Zh => ZH_XINGHAO,
        }
    }

    fn pound(self) -> &'static str {
        match self {
            Lang::En => EN_POUND,
            Lang::Zh => ZH_JINGHAO,
        }
    }

    fn cardinal(self, n: u64, out: &mut Vec<&'static str>) {
        match self {
            Lang::En => en_cardinal(n, out),
            Lang::Zh => zh_cardinal(n, out),
        }
    }
}

// ---- English ------------------------------------------------------------------------------------------

/// 0 < n < 100.
fn en_below_100(n: u64, out: &mut Vec<&'static str>) {
    match n {
        0..=9 => out.push(EN_DIGIT[n as usize]),
        10..=19 => out.push(EN_TEEN[n as usize - 10]),
        _ => {
            out.push(EN_TENS[(n / 10 % 10) as usize - 2]);
            if n % 10 != 0 {
                out.push(EN_DIGIT[(n % 10) as usize]);
            }
        }
    }
}

/// 0 < n < 1000, without "and" (US style).
fn en_below_1000(n: u64, out: &mut Vec<&'static str>) {
    if n >= 100 {
        out.push(EN_DIGIT[(n / 100 % 10) as usize]);
        out.push(EN_HUNDRED);
    }
    if n % 100 != 0 {
        en_below_100(n % 100, out);
    }
}

/// n < 10^12, which the parsers guarantee (so "billion" is the largest scale needed).
fn en_cardinal(n: u64, out: &mut Vec<&'static str>) {
    if n == 0 {
        out.push(EN_DIGIT[0]);
        return;
    }
    for (scale, word) in
        [(1_000_000_000, Some(EN_BILLION)), (1_000_000, Some(EN_MILLION)), (1_000, Some(EN_THOUSAND)), (1, None)]
    {
        let group = n / scale % 1000;
        if group != 0 {
            en_below_1000(group, out);
            out.extend(word);
        }
    }
}

/// Day of month 1..=31 as an ordinal: "twenty" + "third" for 23.
fn en_ordinal(d: u64, out: &mut Vec<&'static str>) {
    match d {
        1..=19 => out.push(EN_ORD[d as usize - 1]),
        20 => out.push(EN_ORD_20),
        30 => out.push(EN_ORD_30),
        _ => {
            out.push(EN_TENS[(d / 10 % 10) as usize - 2]);
            out.push(EN_ORD[(d % 10) as usize - 1]);
        }
    }
}

/// 1000 ≤ y ≤ 9999, read as people say years.
fn en_year(y: u64, out: &mut Vec<&'static str>) {
    let (hi, lo) = (y / 100, y % 100);
    if y % 1000 == 0 || (hi % 10 == 0 && lo < 10) {
        en_cardinal(y, out); // 2000 "two thousand", 2005 "two thousand five"
    } else {
        en_below_100(hi, out);
        match lo {
            0 => out.push(EN_HUNDRED),                           // 1900 "nineteen hundred"
            1..=9 => out.extend([EN_OH, EN_DIGIT[lo as usize]]), // 1905 "nineteen oh five"
            _ => en_below_100(lo, out),                          // 2026 "twenty twenty-six"
        }
    }
}

fn en_time(h: u64, m: u64, out: &mut Vec<&'static str>) {
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    en_below_100(h12, out);
    match m {
        0 if h12 != 12 => out.push(EN_OCLOCK),
        0 => {} // midnight and noon: "twelve a m", "twelve p m"
        1..=9 => out.extend([EN_OH, EN_DIGIT[m as usize]]),
        _ => en_below_100(m, out),
    }
    out.push(if h < 12 { EN_AM } else { EN_PM });
}

fn en_amount(yuan: u64, fen: u64, out: &mut Vec<&'static str>) {
    if yuan != 0 || fen == 0 {
        en_cardinal(yuan, out);
        out.push(EN_YUAN);
    }
    if fen != 0 {
        en_below_100(fen, out);
        out.push(EN_FEN);
    }
}

// ---- Mandarin -----------------------------------------------------------------------------------------

/// n < 10^12: groups of four digits (units, 万, 亿), each 千 百 十 and a digit.
fn zh_cardinal(n: u64, out: &mut Vec<&'static str>) {
    if n == 0 {
        out.push(ZH_DIGIT[0]);
        return;
    }
    let n = n % LIMIT; // the parsers guarantee n < LIMIT; this only keeps the loop's 12 places exact
    let mut started = false; // something has been said
    let mut zero = false; // zeros skipped since the last spoken digit: say 零 before the next one
    for pos in (0..12u32).rev() {
        let d = n / 10u64.pow(pos) % 10;
        let place = pos % 4; // 0: none, 1: 十, 2: 百, 3: 千
        if d == 0 {
            zero |= started;
        } else {
            if zero {
                out.push(ZH_DIGIT[0]);
                zero = false;
            }
            let group = n / 10u64.pow(pos - place) % 10_000;
            let liang = d == 2 && (place == 3 || (place == 2 && !started) || (place == 0 && pos >= 4 && group == 2));
            if liang {
                out.push(ZH_LIANG);
            } else if !(d == 1 && place == 1 && !started) {
                out.push(ZH_DIGIT[d as usize]); // a leading 一十 is just 十
            }
            out.extend([None, Some(ZH_SHI), Some(ZH_BAI), Some(ZH_QIAN)][place as usize]);
            started = true;
        }
        if (pos == 8 || pos == 4) && n / 10u64.pow(pos) % 10_000 != 0 {
            out.push(if pos == 8 { ZH_YI } else { ZH_WAN });
        }
    }
}

fn zh_time(h: u64, m: u64, out: &mut Vec<&'static str>) {
    if h == 2 {
        out.push(ZH_LIANG); // 两点
    } else {
        zh_cardinal(h, out);
    }
    out.push(ZH_DIAN);
    match m {
        0 => out.push(ZH_ZHENG),
        1..=9 => out.extend([ZH_DIGIT[0], ZH_DIGIT[m as usize], ZH_FEN]),
        _ => {
            zh_cardinal(m, out);
            out.push(ZH_FEN);
        }
    }
}

fn zh_amount(yuan: u64, fen: u64, out: &mut Vec<&'static str>) {
    let (jiao, fen) = (fen / 10, fen % 10);
    if yuan != 0 || (jiao, fen) == (0, 0) {
        zh_cardinal(yuan, out);
        out.push(ZH_YUAN);
        if (jiao, fen) == (0, 0) {
            out.push(ZH_ZHENG); // 一百元整
            return;
        }
        if jiao == 0 {
            out.push(ZH_DIGIT[0]); // 十二元零五分
        }
    }
    if jiao != 0 {
        out.extend([ZH_DIGIT[jiao as usize], ZH_JIAO]);
    }
    if fen != 0 {
        out.extend([ZH_DIGIT[fen as usize], ZH_FEN]);
    }
}

// ---- parsing ------------------------------------------------------------------------------------------

/// Largest magnitude said: below one trillion (万亿), so zh needs no 万亿 and en no "trillion".
const LIMIT: u64 = 1_000_000_000_000;

/// Error values come from scripts and callers: keep log lines short.
fn clip(value: &str) -> String {
    const MAX: usize = 40;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_string(),
    }
}

fn invalid(kind: SayKind, value: &str, reason: impl Into<String>) -> SayError {
    SayError::Invalid { kind, value: clip(value), reason: reason.into() }
}

fn out_of_range(kind: SayKind, value: &str, reason: impl Into<String>) -> SayError {
    SayError::OutOfRange { kind, value: clip(value), reason: reason.into() }
}

/// `digits` must be non-empty ASCII digits; `what` names the part in errors. Values ≥ 10^12 are out of
/// range (checked on the digit count, so any length is fine).
fn parse_uint(kind: SayKind, value: &str, digits: &str, what: &str) -> Result<u64, SayError> {
    if digits.is_empty() {
        return Err(invalid(kind, value, format!("no digits in the {what}")));
    }
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(invalid(kind, value, format!("unexpected character {c:?} in the {what}")));
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > LIMIT.ilog10() as usize {
        return Err(out_of_range(kind, value, format!("the {what} must be below 10^12")));
    }
    Ok(significant.bytes().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
}

fn parse_signed_int(kind: SayKind, value: &str) -> Result<(bool, u64), SayError> {
    let (neg, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let n = parse_uint(kind, value, digits, "number")?;
    Ok((neg && n != 0, n))
}

/// Returns (negative, yuan, fen) where fen is 0..=99 (1 角 = 10 fen).
fn parse_amount(value: &str) -> Result<(bool, u64, u64), SayError> {
    let kind = SayKind::Amount;
    let (neg, rest) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (rest, None),
    };
    let yuan = parse_uint(kind, value, int, "yuan part")?;
    let fen = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(invalid(kind, value, "expected one or two digits after the decimal point"));
        }
        Some(f) => parse_uint(kind, value, f, "decimals")? * if f.len() == 1 { 10 } else { 1 },
    };
    Ok((neg, yuan, fen))
}

/// A non-empty run of ASCII digits (callers check the length), else `None`.
fn fixed_digits(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.bytes().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
}

fn is_leap(y: u64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// `YYYY-MM-DD`, proleptic Gregorian calendar, year 1000–9999 (four digits, read as a year).
fn parse_date(value: &str) -> Result<(u64, u64, u64), SayError> {
    let kind = SayKind::Date;
    let mut parts = value.split('-');
    let fields = (parts.next(), parts.next(), parts.next(), parts.next());
    let (y, m, d) = match fields {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            match (fixed_digits(y), fixed_digits(m), fixed_digits(d)) {
                (Some(y), Some(m), Some(d)) => (y, m, d),
                _ => return Err(invalid(kind, value, "expected YYYY-MM-DD with digits only")),
            }
        }
        _ => return Err(invalid(kind, value, "expected YYYY-MM-DD")),
    };
    if y < 1000 {
        return Err(out_of_range(kind, value, "the year must be 1000 to 9999"));
    }
    if !(1..=12).contains(&m) {
        return Err(invalid(kind, value, format!("month {m} is not 01 to 12")));
    }
    let days = match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days).contains(&d) {
        return Err(invalid(kind, value, format!("day {d} is not 01 to {days} in {y}-{m:02}")));
    }
    Ok((y, m, d))
}

/// `HH:MM`, 00:00 to 23:59.
fn parse_time(value: &str) -> Result<(u64, u64), SayError> {
    let kind = SayKind::Time;
    let (h, m) = match value.split_once(':') {
        Some((h, m)) if h.len() == 2 && m.len() == 2 => match (fixed_digits(h), fixed_digits(m)) {
            (Some(h), Some(m)) => (h, m),
            _ => return Err(invalid(kind, value, "expected HH:MM with digits only")),
        },
        _ => return Err(invalid(kind, value, "expected HH:MM")),
    };
    if h > 23 {
        return Err(invalid(kind, value, format!("hour {h} is not 00 to 23")));
    }
    if m > 59 {
        return Err(invalid(kind, value, format!("minute {m} is not 00 to 59")));
    }
    Ok((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    /// Every prompt file, written out independently of the module's tables, with the word it holds.
    /// Tests compare readable word strings; since this map is one-to-one (checked below), equal words
    /// mean equal path sequences.
    fn words(lang: &str) -> HashMap<&'static str, &'static str> {
        let en: &[(&str, &str)] = &[
            ("en/digits/0.wav", "zero"),
            ("en/digits/1.wav", "one"),
            ("en/digits/2.wav", "two"),
            ("en/digits/3.wav", "three"),
            ("en/digits/4.wav", "four"),
            ("en/digits/5.wav", "five"),
            ("en/digits/6.wav", "six"),
            ("en/digits/7.wav", "seven"),
            ("en/digits/8.wav", "eight"),
            ("en/digits/9.wav", "nine"),
            ("en/say/10.wav", "ten"),
            ("en/say/11.wav", "eleven"),
            ("en/say/12.wav", "twelve"),
            ("en/say/13.wav", "thirteen"),
            ("en/say/14.wav", "fourteen"),
            ("en/say/15.wav", "fifteen"),
            ("en/say/16.wav", "sixteen"),
            ("en/say/17.wav", "seventeen"),
            ("en/say/18.wav", "eighteen"),
            ("en/say/19.wav", "nineteen"),
            ("en/say/20.wav", "twenty"),
            ("en/say/30.wav", "thirty"),
            ("en/say/40.wav", "forty"),
            ("en/say/50.wav", "fifty"),
            ("en/say/60.wav", "sixty"),
            ("en/say/70.wav", "seventy"),
            ("en/say/80.wav", "eighty"),
            ("en/say/90.wav", "ninety"),
            ("en/say/hundred.wav", "hundred"),
            ("en/say/thousand.wav", "thousand"),
            ("en/say/million.wav", "million"),
            ("en/say/billion.wav", "billion"),
            ("en/say/minus.wav", "minus"),
            ("en/say/yuan.wav", "yuan"),
            ("en/say/fen.wav", "fen"),
            ("en/say/oh.wav", "oh"),
            ("en/say/oclock.wav", "o'clock"),
            ("en/say/am.wav", "a.m."),
            ("en/say/pm.wav", "p.m."),
            ("en/say/star.wav", "star"),
            ("en/say/pound.wav", "pound"),
            ("en/say/month/january.wav", "January"),
            ("en/say/month/february.wav", "February"),
            ("en/say/month/march.wav", "March"),
            ("en/say/month/april.wav", "April"),
            ("en/say/month/may.wav", "May"),
            ("en/say/month/june.wav", "June"),
            ("en/say/month/july.wav", "July"),
            ("en/say/month/august.wav", "August"),
            ("en/say/month/september.wav", "September"),
            ("en/say/month/october.wav", "October"),
            ("en/say/month/november.wav", "November"),
            ("en/say/month/december.wav", "December"),
            ("en/say/ord/1.wav", "first"),
            ("en/say/ord/2.wav", "second"),
            ("en/say/ord/3.wav", "third"),
            ("en/say/ord/4.wav", "fourth"),
            ("en/say/ord/5.wav", "fifth"),
            ("en/say/ord/6.wav", "sixth"),
            ("en/say/ord/7.wav", "seventh"),
            ("en/say/ord/8.wav", "eighth"),
            ("en/say/ord/9.wav", "ninth"),
            ("en/say/ord/10.wav", "tenth"),
            ("en/say/ord/11.wav", "eleventh"),
            ("en/say/ord/12.wav", "twelfth"),
            ("en/say/ord/13.wav", "thirteenth"),
            ("en/say/ord/14.wav", "fourteenth"),
            ("en/say/ord/15.wav", "fifteenth"),
            ("en/say/ord/16.wav", "sixteenth"),
            ("en/say/ord/17.wav", "seventeenth"),
            ("en/say/ord/18.wav", "eighteenth"),
            ("en/say/ord/19.wav", "nineteenth"),
            ("en/say/ord/20.wav", "twentieth"),
            ("en/say/ord/30.wav", "thirtieth"),
        ];
        let zh: &[(&str, &str)] = &[
            ("zh/digits/0.wav", "零"),
            ("zh/digits/1.wav", "一"),
            ("zh/digits/2.wav", "二"),
            ("zh/digits/3.wav", "三"),
            ("zh/digits/4.wav", "四"),
            ("zh/digits/5.wav", "五"),
            ("zh/digits/6.wav", "六"),
            ("zh/digits/7.wav", "七"),
            ("zh/digits/8.wav", "八"),
            ("zh/digits/9.wav", "九"),
            ("zh/say/shi.wav", "十"),
            ("zh/say/bai.wav", "百"),
            ("zh/say/qian.wav", "千"),
            ("zh/say/wan.wav", "万"),
            ("zh/say/yi.wav", "亿"),
            ("zh/say/liang.wav", "两"),
            ("zh/say/fu.wav", "负"),
            ("zh/say/yuan.wav", "元"),
            ("zh/say/jiao.wav", "角"),
            ("zh/say/fen.wav", "分"),
            ("zh/say/zheng.wav", "整"),
            ("zh/say/nian.wav", "年"),
            ("zh/say/yue.wav", "月"),
            ("zh/say/ri.wav", "日"),
            ("zh/say/dian.wav", "点"),
            ("zh/say/xinghao.wav", "星号"),
            ("zh/say/jinghao.wav", "井号"),
        ];
        match lang {
            "en" => en.iter().copied().collect(),
            "zh" => zh.iter().copied().collect(),
            _ => unreachable!(),
        }
    }

    /// The words `say` plays: zh joined without spaces, en with spaces.
    fn spoken(lang: &str, kind: SayKind, value: &str) -> String {
        let map = words(lang);
        let paths = say(lang, kind, value).unwrap_or_else(|e| panic!("{lang} {kind} {value:?}: {e}"));
        let w: Vec<&str> = paths.iter().map(|p| map[p.to_str().unwrap()]).collect();
        w.join(if lang == "zh" { "" } else { " " })
    }

    fn check(lang: &str, kind: SayKind, cases: &[(&str, &str)]) {
        for (value, want) in cases {
            assert_eq!(spoken(lang, kind, value), *want, "{lang} {kind} {value:?}");
        }
    }

    #[test]
    fn word_table_matches_prompt_set_and_is_one_to_one() {
        for lang in ["en", "zh"] {
            let map = words(lang);
            let table: BTreeSet<PathBuf> = map.keys().map(PathBuf::from).collect();
            let set: BTreeSet<PathBuf> = prompt_set(lang).unwrap().into_iter().collect();
            assert_eq!(table, set, "{lang}");
            assert_eq!(map.values().collect::<BTreeSet<_>>().len(), map.len(), "{lang}: two files, one word");
        }
    }

    #[test]
    fn exact_paths() {
        let p = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            say("zh", SayKind::Number, "105").unwrap(),
            p(&["zh/digits/1.wav", "zh/say/bai.wav", "zh/digits/0.wav", "zh/digits/5.wav"])
        );
        assert_eq!(say("en", SayKind::Number, "-12").unwrap(), p(&["en/say/minus.wav", "en/say/12.wav"]));
        assert_eq!(say("zh", SayKind::Digits, "*#").unwrap(), p(&["zh/say/xinghao.wav", "zh/say/jinghao.wav"]));
        assert_eq!(
            say("en", SayKind::Time, "00:00").unwrap(),
            p(&["en/say/12.wav", "en/say/am.wav"]),
            "midnight is twelve a.m."
        );
    }

    #[test]
    fn zh_numbers() {
        check(
            "zh",
            SayKind::Number,
            &[
                ("0", "零"),
                ("-0", "零"),
                ("7", "七"),
                ("007", "七"),
                ("2", "二"),
                ("10", "十"),
                ("11", "十一"),
                ("12", "十二"),
                ("19", "十九"),
                ("20", "二十"),
                ("22", "二十二"),
                ("99", "九十九"),
                ("100", "一百"),
                ("105", "一百零五"),
                ("110", "一百一十"),
                ("115", "一百一十五"),
                ("200", "两百"),
                ("202", "两百零二"),
                ("222", "两百二十二"),
                ("1000", "一千"),
                ("1001", "一千零一"),
                ("1010", "一千零一十"),
                ("1100", "一千一百"),
                ("1200", "一千二百"),
                ("2000", "两千"),
                ("2222", "两千二百二十二"),
                ("10000", "一万"),
                ("10001", "一万零一"),
                ("10010", "一万零一十"),
                ("10100", "一万零一百"),
                ("12000", "一万两千"),
                ("20000", "两万"),
                ("100000", "十万"),
                ("100001", "十万零一"),
                ("120000", "十二万"),
                ("200000", "二十万"),
                ("1020000", "一百零二万"),
                ("2000000", "两百万"),
                ("12000000", "一千二百万"),
                ("20100003", "两千零一十万零三"),
                ("100000000", "一亿"),
                ("100000001", "一亿零一"),
                ("100010000", "一亿零一万"),
                ("102000000", "一亿零二百万"),
                ("120000000", "一亿两千万"),
                ("200000000", "两亿"),
                ("1000000000", "十亿"),
                ("-45", "负四十五"),
                ("999999999999", "九千九百九十九亿九千九百九十九万九千九百九十九"),
                ("-999999999999", "负九千九百九十九亿九千九百九十九万九千九百九十九"),
            ],
        );
    }

    #[test]
    fn en_numbers() {
        check(
            "en",
            SayKind::Number,
            &[
                ("0", "zero"),
                ("5", "five"),
                ("10", "ten"),
                ("13", "thirteen"),
                ("19", "nineteen"),
                ("20", "twenty"),
                ("21", "twenty one"),
                ("99", "ninety nine"),
                ("100", "one hundred"),
                ("105", "one hundred five"),
                ("1234", "one thousand two hundred thirty four"),
                ("2000", "two thousand"),
                ("10001", "ten thousand one"),
                ("1000000", "one million"),
                ("1000001", "one million one"),
                ("2000500", "two million five hundred"),
                ("1000000000", "one billion"),
                ("-7", "minus seven"),
                (
                    "999999999999",
                    "nine hundred ninety nine billion nine hundred ninety nine million \
                     nine hundred ninety nine thousand nine hundred ninety nine",
                ),
            ],
        );
    }

    #[test]
    fn digits() {
        check("en", SayKind::Digits, &[("0", "zero"), ("911", "nine one one"), ("*12#", "star one two pound")]);
        check("zh", SayKind::Digits, &[("0", "零"), ("110", "一一零"), ("*12#", "星号一二井号")]);
    }

    #[test]
    fn amounts() {
        check(
            "zh",
            SayKind::Amount,
            &[
                ("0", "零元整"),
                ("0.00", "零元整"),
                ("1", "一元整"),
                ("100", "一百元整"),
                ("12.05", "十二元零五分"),
                ("12.5", "十二元五角"),
                ("12.50", "十二元五角"),
                ("12.55", "十二元五角五分"),
                ("0.05", "五分"),
                ("0.5", "五角"),
                ("0.25", "二角五分"),
                ("10.00", "十元整"),
                ("2000.01", "两千元零一分"),
                ("-3.20", "负三元二角"),
                ("-0.00", "零元整"),
            ],
        );
        check(
            "en",
            SayKind::Amount,
            &[
                ("0", "zero yuan"),
                ("1", "one yuan"),
                ("12.5", "twelve yuan fifty fen"),
                ("12.50", "twelve yuan fifty fen"),
                ("12.05", "twelve yuan five fen"),
                ("0.05", "five fen"),
                ("0.99", "ninety nine fen"),
                ("100", "one hundred yuan"),
                ("-3.20", "minus three yuan twenty fen"),
            ],
        );
        assert_eq!("money".parse::<SayKind>(), Ok(SayKind::Amount));
    }

    #[test]
    fn dates() {
        check(
            "zh",
            SayKind::Date,
            &[
                ("2026-11-23", "二零二六年十一月二十三日"),
                ("2024-02-29", "二零二四年二月二十九日"),
                ("2000-02-29", "二零零零年二月二十九日"),
                ("1999-12-31", "一九九九年十二月三十一日"),
                ("2026-01-01", "二零二六年一月一日"),
                ("2026-10-10", "二零二六年十月十日"),
            ],
        );
        check(
            "en",
            SayKind::Date,
            &[
                ("2026-11-23", "November twenty third twenty twenty six"),
                ("2005-01-01", "January first two thousand five"),
                ("1999-12-31", "December thirty first nineteen ninety nine"),
                ("2024-02-29", "February twenty ninth twenty twenty four"),
                ("2000-02-29", "February twenty ninth two thousand"),
                ("1900-03-02", "March second nineteen hundred"),
                ("1905-05-20", "May twentieth nineteen oh five"),
                ("2010-06-30", "June thirtieth twenty ten"),
                ("2100-07-12", "July twelfth twenty one hundred"),
                ("1066-10-14", "October fourteenth ten sixty six"),
                ("1000-08-11", "August eleventh one thousand"),
                ("3001-09-19", "September nineteenth three thousand one"),
            ],
        );
    }

    #[test]
    fn times() {
        check(
            "zh",
            SayKind::Time,
            &[
                ("00:00", "零点整"),
                ("02:00", "两点整"),
                ("12:00", "十二点整"),
                ("14:05", "十四点零五分"),
                ("14:00", "十四点整"),
                ("09:30", "九点三十分"),
                ("22:10", "二十二点十分"),
                ("23:59", "二十三点五十九分"),
            ],
        );
        check(
            "en",
            SayKind::Time,
            &[
                ("00:00", "twelve a.m."),
                ("00:05", "twelve oh five a.m."),
                ("01:00", "one o'clock a.m."),
                ("11:59", "eleven fifty nine a.m."),
                ("12:00", "twelve p.m."),
                ("12:30", "twelve thirty p.m."),
                ("14:00", "two o'clock p.m."),
                ("14:05", "two oh five p.m."),
                ("23:15", "eleven fifteen p.m."),
            ],
        );
    }

    fn is_invalid(r: Result<Vec<PathBuf>, SayError>) -> bool {
        matches!(r, Err(SayError::Invalid { .. }))
    }

    fn is_out_of_range(r: Result<Vec<PathBuf>, SayError>) -> bool {
        matches!(r, Err(SayError::OutOfRange { .. }))
    }

    #[test]
    fn errors() {
        use SayKind::*;
        let invalid: &[(SayKind, &str)] = &[
            (Number, ""),
            (Number, "-"),
            (Number, "abc"),
            (Number, "12a"),
            (Number, "+5"),
            (Number, " 5"),
            (Number, "1.5"),
            (Number, "--5"),
            (Number, "１２"),
            (Digits, ""),
            (Digits, "12a"),
            (Digits, "1 2"),
            (Digits, "-1"),
            (Amount, ""),
            (Amount, "abc"),
            (Amount, "1.234"),
            (Amount, "1."),
            (Amount, ".5"),
            (Amount, "1.2.3"),
            (Amount, "1,5"),
            (Amount, "1.-5"),
            (Date, ""),
            (Date, "2026-13-01"),
            (Date, "2026-00-10"),
            (Date, "2026-01-00"),
            (Date, "2026-01-32"),
            (Date, "2026-04-31"),
            (Date, "2025-02-29"),
            (Date, "1900-02-29"),
            (Date, "2026-1-05"),
            (Date, "2026/01/05"),
            (Date, "2026-01-05x"),
            (Date, "20a6-01-05"),
            (Date, "+026-01-05"),
            (Time, ""),
            (Time, "25:00"),
            (Time, "24:00"),
            (Time, "12:60"),
            (Time, "9:05"),
            (Time, "12:5"),
            (Time, "ab:cd"),
            (Time, "12:05:00"),
            (Time, "+1:05"),
        ];
        for lang in ["en", "zh"] {
            for &(kind, value) in invalid {
                assert!(is_invalid(say(lang, kind, value)), "{lang} {kind} {value:?}: {:?}", say(lang, kind, value));
            }
            for (kind, value) in [
                (Number, "1000000000000"),
                (Number, "-1000000000000"),
                (Number, "99999999999999999999999999999999"),
                (Amount, "1000000000000"),
                (Amount, "1000000000000.00"),
                (Date, "0999-01-01"),
            ] {
                assert!(is_out_of_range(say(lang, kind, value)), "{lang} {kind} {value:?}");
            }
        }
        assert_eq!(say("fr", Number, "1"), Err(SayError::UnknownLanguage("fr".into())));
        assert_eq!(prompt_set("EN"), Err(SayError::UnknownLanguage("EN".into())));
        assert_eq!("nombre".parse::<SayKind>(), Err(SayError::UnknownKind("nombre".into())));
        assert_eq!(
            say("en", Date, "2025-02-29").unwrap_err().to_string(),
            "cannot say \"2025-02-29\" as date: day 29 is not 01 to 28 in 2025-02"
        );
        let long = say("en", Digits, &"x".repeat(1000)).unwrap_err().to_string();
        assert!(long.len() < 200, "values are clipped in messages: {long}");
    }

    #[test]
    fn kind_names() {
        for kind in [SayKind::Number, SayKind::Digits, SayKind::Amount, SayKind::Date, SayKind::Time] {
            assert_eq!(kind.to_string().parse::<SayKind>(), Ok(kind));
            assert_eq!(kind.as_str().to_uppercase().parse::<SayKind>(), Ok(kind));
        }
    }

    /// Every value of a wide sweep reads with files from `prompt_set`, and together they use all of them:
    /// the set is neither missing nor carrying files.
    #[test]
    fn sweep_uses_exactly_prompt_set() {
        let mut values: Vec<(SayKind, String)> = Vec::new();
        for n in (0u64..=2100).chain([10_000, 1_000_000, 2_000_000_000, 100_000_000, 200_000_000, 999_999_999_999]) {
            values.push((SayKind::Number, n.to_string()));
            values.push((SayKind::Number, format!("-{n}")));
        }
        values.push((SayKind::Digits, "0123456789*#".into()));
        for a in ["0", "12.05", "12.5", "0.01", "-3"] {
            values.push((SayKind::Amount, a.into()));
        }
        for m in 1..=12 {
            for d in 1..=31 {
                values.push((SayKind::Date, format!("2024-{m:02}-{d:02}")));
            }
        }
        for h in 0..24 {
            for m in 0..60 {
                values.push((SayKind::Time, format!("{h:02}:{m:02}")));
            }
        }
        for lang in ["en", "zh"] {
            let set: BTreeSet<PathBuf> = prompt_set(lang).unwrap().into_iter().collect();
            let mut used = BTreeSet::new();
            for (kind, value) in &values {
                if let Ok(paths) = say(lang, *kind, value) {
                    assert!(!paths.is_empty());
                    for p in paths {
                        assert!(set.contains(&p), "{lang} {kind} {value:?}: {p:?} not in prompt_set");
                        used.insert(p);
                    }
                }
            }
            assert_eq!(used, set, "{lang}");
        }
    }

    /// Walks the RIFF chunks by hand: the media path plays only 8 kHz mono 16-bit PCM without conversion.
    fn check_wav(path: &std::path::Path) -> Result<(), String> {
        let b = std::fs::read(path).map_err(|e| e.to_string())?;
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
            return Err("not a RIFF/WAVE file".into());
        }
        let (mut fmt_ok, mut data_len) = (false, 0u32);
        let mut i = 12;
        while i + 8 <= b.len() {
            let (id, len) = (&b[i..i + 4], u32_at(i + 4) as usize);
            let body = i + 8;
            if body + len > b.len() {
                return Err(format!("chunk {:?} runs past the end", String::from_utf8_lossy(id)));
            }
            match id {
                b"fmt " if len >= 16 => {
                    let (format, channels, rate, bits) =
                        (u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14));
                    if (format, channels, rate, bits) != (1, 1, 8000, 16) {
                        return Err(format!("format {format}, {channels} channels, {rate} Hz, {bits} bits"));
                    }
                    fmt_ok = true;
                }
                b"data" => data_len = len as u32,
                _ => {}
            }
            i = body + len + (len & 1);
        }
        match (fmt_ok, data_len) {
            (false, _) => Err("no fmt chunk".into()),
            (_, 0) => Err("no audio".into()),
            _ => Ok(()),
        }
    }

    #[test]
    fn prompt_files_exist_and_are_8k_mono_16bit() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts"));
        for lang in ["en", "zh"] {
            for p in prompt_set(lang).unwrap() {
                let full = dir.join(&p);
                if let Err(e) = check_wav(&full) {
                    panic!("{}: {e}", full.display());
                }
            }
        }
    }

    /// Reads a zh number back: 万/亿 close a group, 十 alone means 一十, 两 is 2, 零 is only a filler.
    fn zh_value(s: &str) -> u64 {
        let (mut yi, mut wan, mut group, mut digit) = (0, 0, 0, None::<u64>);
        for c in s.chars() {
            match c {
                '零' => digit = Some(0),
                '两' => digit = Some(2),
                '十' | '百' | '千' => {
                    let unit = match c {
                        '十' => 10,
                        '百' => 100,
                        _ => 1000,
                    };
                    group += digit.take().unwrap_or(1) * unit;
                }
                '万' => wan = std::mem::take(&mut group) + digit.take().unwrap_or(0),
                '亿' => yi = std::mem::take(&mut group) + digit.take().unwrap_or(0),
                _ => match "一二三四五六七八九".chars().position(|d| d == c) {
                    Some(i) => digit = Some(i as u64 + 1),
                    None => panic!("{c} in {s}"),
                },
            }
        }
        yi * 100_000_000 + wan * 10_000 + group + digit.unwrap_or(0)
    }

    fn en_value(s: &str) -> u64 {
        let small = |w: &str| -> Option<u64> {
            const W: [&str; 20] = [
                "zero",
                "one",
                "two",
                "three",
                "four",
                "five",
                "six",
                "seven",
                "eight",
                "nine",
                "ten",
                "eleven",
                "twelve",
                "thirteen",
                "fourteen",
                "fifteen",
                "sixteen",
                "seventeen",
                "eighteen",
                "nineteen",
            ];
            const T: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
            W.iter()
                .position(|&x| x == w)
                .map(|i| i as u64)
                .or_else(|| T.iter().position(|&x| x == w).map(|i| 20 + 10 * i as u64))
        };
        let (mut total, mut group) = (0, 0);
        for w in s.split(' ') {
            match w {
                "hundred" => group *= 100,
                "thousand" | "million" | "billion" => {
                    total += group
                        * [1_000, 1_000_000, 1_000_000_000]
                            [["thousand", "million", "billion"].iter().position(|&x| x == w).unwrap()];
                    group = 0;
                }
                _ => group += small(w).unwrap_or_else(|| panic!("{w} in {s}")),
            }
        }
        total + group
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn kind() -> impl Strategy<Value = SayKind> {
            prop_oneof![
                Just(SayKind::Number),
                Just(SayKind::Digits),
                Just(SayKind::Amount),
                Just(SayKind::Date),
                Just(SayKind::Time)
            ]
        }

        proptest! {
            /// Any input: no panic, and success only with files from prompt_set.
            #[test]
            fn never_panics(kind in kind(), value in "(?s).{0,24}|[-0-9.:*#]{0,16}", zh in any::<bool>()) {
                let lang = if zh { "zh" } else { "en" };
                if let Ok(paths) = say(lang, kind, &value) {
                    let set = prompt_set(lang).unwrap();
                    prop_assert!(!paths.is_empty());
                    prop_assert!(paths.iter().all(|p| set.contains(p)));
                }
            }

            /// zh numbers read back to the same value, with 零 only between spoken digits, never doubled.
            #[test]
            fn zh_round_trip(n in 0u64..1_000_000_000_000) {
                let s = spoken("zh", SayKind::Number, &n.to_string());
                prop_assert_eq!(zh_value(&s), n, "{}", s);
                if n != 0 {
                    prop_assert!(!s.starts_with('零') && !s.ends_with('零') && !s.contains("零零"), "{}", s);
                }
                prop_assert!(!s.starts_with("一十"), "{}", s);
            }

            #[test]
            fn en_round_trip(n in 0u64..1_000_000_000_000) {
                let s = spoken("en", SayKind::Number, &n.to_string());
                prop_assert_eq!(en_value(&s), n, "{}", s);
            }
        }
    }
}
