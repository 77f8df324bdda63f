//! Call progress detection (dial, ringback, busy, congestion, SIT) driven by tone zones,
//! and a cadence learner that turns a recording of an unknown tone into a zone entry.
//!
//! # Detector design
//!
//! Every 10 ms the detector measures, over the last 40 ms, how much of the signal's energy
//! is explained by sines at each distinct frequency set of the zone (dial, busy, ...),
//! using `dsp::bands` (each nominal frequency plus bins at ±2%, so offsets of a
//! few percent pass). A hop is "on" for a set when the set explains at least
//! [`TONE_RATIO`] of the energy at ≥ `min_level_dbm0`, every component of a multi-frequency
//! tone carries a fair share (so 440+480 Hz ringback is not 350+440 Hz dial tone) and the
//! window's energy is steady. Speech and music spread their energy over many harmonics and
//! formants, so they rarely pass, and when a syllable does, the cadence check below still
//! has to match for several runs in a row. Each set's hops are debounced (30 ms) into
//! on/off runs (±10 ms), and the runs are matched against the cadence of every spec using
//! that set:
//!
//! * cadenced tones (busy, congestion, ringback): the last `cycles × len(cadence)` runs must
//!   each be within `nominal ± (cadence_tolerance_pct + tolerance_ms)`, the newest one
//!   (still running) only needs to have reached its lower bound. The first run heard is
//!   never used: it may have begun before the detector listened.
//! * continuous tones (dial): one on-run of `dial_ms` (raised automatically above the
//!   longest on-segment of any cadenced tone sharing the frequencies, so Chinese ringback
//!   — 450 Hz, 1 s on — is not taken for dial tone).
//! * SIT (ITU-T E.180 / Q.35, Telcordia variants): three bands, 950/1400/1800 Hz ±50
//!   (covering 913.8/985.2, 1370.6/1428.5, 1776.7 Hz), each segment 180–480 ms
//!   (E.180: 330 ± 70 ms; US: 274 or 380 ms), in rising order with gaps ≤ 100 ms. Built in,
//!   independent of the zone.
//!
//! Each tone is reported once when confirmed; it is reported again only after it stopped
//! (a run longer than its cadence allows, or silence after a continuous tone) and was
//! confirmed anew, or after [`ProgressDetector::reset`]. SIT is reported once per triple.
//!
//! With the defaults, busy and congestion are confirmed ≈ 2 cycles after they start
//! (on, off, on, and most of the second off), ringback after one on plus most of the
//! following off (e.g. ≈ 4.4 s for 1 s on / 4 s off), dial after 1.5 s.
//!
//! Limits: components closer than 40 Hz beat too slowly for the steadiness check
//! (25 Hz-modulated tones such as Australia's 400+425+450 Hz are not supported); tones
//! more than ≈ 5% off their nominal frequencies are not the zone's tones (±3.5% pass,
//! ±8% do not).

use serde::{Deserialize, Serialize};

use crate::dsp::bands::{widen, BandBank, EventRing, Run, Segmenter, HISTORY, HOP};
use crate::dsp::tone::ToneSpec;
use crate::dsp::zone::ToneZone;
use crate::dsp::{dbm0_to_power, DBM0_POWER, SAMPLE_RATE};

/// The call progress tones the detector reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgressTone {
    Dial,
    Ringback,
    Busy,
    Congestion,
    /// Special Information Tone (ITU-T E.180): number unobtainable, network problem, ...
    Sit,
}

impl ProgressTone {
    /// The name used in config and events (`dial`, `ringback`, `busy`, `congestion`, `sit`).
    pub fn name(self) -> &'static str {
        match self {
            ProgressTone::Dial => "dial",
            ProgressTone::Ringback => "ringback",
            ProgressTone::Busy => "busy",
            ProgressTone::Congestion => "congestion",
            ProgressTone::Sit => "sit",
        }
    }
}

/// Detection limits.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgressConfig {
    /// Minimum level of the tone (all components together), dBm0. −40 leaves 5 dB of
    /// margin below the quietest national tones (US busy: 2 × −24 dBm0 = −21) plus line loss.
    pub min_level_dbm0: f32,
    /// Cadence tolerance, % of each nominal on/off duration (±10% jitter in national
    /// specifications plus margin).
    pub cadence_tolerance_pct: f32,
    /// Extra absolute tolerance per on/off duration, ms (10 ms hop granularity and the
    /// debounce).
    pub tolerance_ms: u32,
    /// Cadence cycles needed to confirm busy and congestion (Asterisk's `busycount`).
    pub busy_cycles: u32,
    /// Continuous tone this long is dial tone, ms.
    pub dial_ms: u32,
    /// Cadence cycles needed to confirm ringback.
    pub ringback_cycles: u32,
}

impl Default for ProgressConfig {
    fn default() -> Self {
        ProgressConfig {
            min_level_dbm0: -40.0,
            cadence_tolerance_pct: 15.0,
            tolerance_ms: 40,
            busy_cycles: 2,
            dial_ms: 1500,
            ringback_cycles: 1,
        }
    }
}

/// A confirmed tone. `at_sample` counts samples fed since construction or
/// [`ProgressDetector::reset`]; it is the end of the 10 ms hop that confirmed the tone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgressEvent {
    pub tone: ProgressTone,
    pub at_sample: u64,
}

/// Fraction of the window energy the tone's frequencies must explain. A clean tone reads
/// ≈ 1, a tone with white noise 15 dB down ≈ 0.95; a two-frequency tone whose second
/// component is missing reads ≈ 0.5.
pub const TONE_RATIO: f32 = 0.8;
/// Share of a set's power each of its components must have: tolerates 9 dB of twist.
const COMPONENT_SHARE: f32 = 0.11;
/// Relative spread of the extra bins around each nominal frequency: ±2% offsets lose
/// almost nothing, ±4% still pass.
const FREQ_SPREAD: f32 = 0.02;
/// SIT bands: E.180 950/1400/1800 Hz and the Telcordia 913.8/985.2, 1370.6/1428.5,
/// 1776.7 Hz variants; four bins 25 Hz apart cover about ±50 Hz around each centre.
const SIT_BANDS: [[f32; 4]; 3] =
    [[912.0, 937.0, 962.0, 987.0], [1362.0, 1387.0, 1412.0, 1437.0], [1762.0, 1787.0, 1812.0, 1837.0]];
/// SIT segment duration limits, ms.
const SIT_MIN_MS: u32 = 180;
const SIT_MAX_MS: u32 = 480;
/// Largest gap between SIT segments, hops.
const SIT_GAP_HOPS: u64 = 10;
/// A run this much longer than the cadence allows means the tone has stopped, ms.
const STOP_MARGIN_MS: u32 = 50;
/// Pending events kept; a caller polling every 20 ms never has more than a few.
const EVENT_RING: usize = 8;

/// How one progress tone is recognised.
#[derive(Clone, Debug)]
struct Matcher {
    tone: ProgressTone,
    /// Index of the frequency set (band and segmenter).
    set: usize,
    /// Accepted (min, max) ms per cadence position (even positions on); empty = continuous.
    bounds: Vec<(u32, u32)>,
    /// Runs that must match (cycles × cadence length).
    need: usize,
    /// For continuous tones: on-run length that confirms, ms.
    continuous_ms: u32,
    /// Longest acceptable on and off run: beyond these the tone has stopped.
    max_on: u32,
    max_off: u32,
    /// Another matcher has the same set and cadence; this one never reports.
    shadowed: bool,
    reported: bool,
}

/// Streaming call progress detector for one channel; see the module docs.
#[derive(Clone, Debug)]
pub struct ProgressDetector {
    bank: BandBank,
    /// One per distinct frequency set of the zone, then the three SIT bands.
    segs: Vec<Segmenter>,
    sets: usize,
    /// Per set of two or more frequencies: the band index of each single component.
    components: Vec<Vec<usize>>,
    matchers: Vec<Matcher>,
    min_power: f32,
    /// Start hop of the SIT third segment already reported.
    sit_reported: Option<u64>,
    events: EventRing<ProgressEvent, EVENT_RING>,
}

/// Normalises a cadence into cyclic on/off pairs: an odd-length repeating cadence ends with
/// an on segment that runs into the first one.
fn cyclic(cadence: &[u32]) -> Vec<u32> {
    let mut c = cadence.to_vec();
    if c.iter().all(|&ms| ms == 0) {
        return Vec::new();
    }
    if c.len() % 2 != 0 {
        let last = c.pop().unwrap_or(0);
        if let Some(first) = c.first_mut() {
            *first = first.saturating_add(last);
        }
    }
    c
}

impl ProgressDetector {
    pub fn new(zone: &ToneZone, cfg: ProgressConfig) -> Self {
        let specs = [
            (ProgressTone::Dial, &zone.dial),
            (ProgressTone::Busy, &zone.busy),
            (ProgressTone::Congestion, &zone.congestion),
            (ProgressTone::Ringback, &zone.ringback),
        ];
        let pct = if cfg.cadence_tolerance_pct.is_finite() { cfg.cadence_tolerance_pct.clamp(0.0, 90.0) } else { 15.0 };
        let mut set_freqs: Vec<Vec<f32>> = Vec::new();
        let mut matchers: Vec<Matcher> = Vec::new();
        for (tone, spec) in specs {
            let mut f: Vec<f32> = spec.freqs.iter().map(|&(f, _)| f).collect();
            f.sort_by(f32::total_cmp);
            f.dedup();
            let set = match set_freqs.iter().position(|s| *s == f) {
                Some(i) => i,
                None => {
                    set_freqs.push(f);
                    set_freqs.len() - 1
                }
            };
            let cad = cyclic(&spec.cadence);
            let bounds: Vec<(u32, u32)> = cad
                .iter()
                .map(|&ms| {
                    let slack = ms as f32 * pct / 100.0 + cfg.tolerance_ms as f32;
                    ((ms as f32 - slack).max(0.0) as u32, (ms as f32 + slack) as u32)
                })
                .collect();
            let cycles = match tone {
                ProgressTone::Ringback => cfg.ringback_cycles,
                _ => cfg.busy_cycles,
            }
            .max(1) as usize;
            let need = (cycles * bounds.len()).min(HISTORY + 1);
            let max_on = bounds.iter().step_by(2).map(|b| b.1).max().unwrap_or(u32::MAX);
            let max_off = bounds.iter().skip(1).step_by(2).map(|b| b.1).max().unwrap_or(0);
            let shadowed = matchers.iter().any(|m| m.set == set && m.bounds == bounds);
            matchers.push(Matcher {
                tone,
                set,
                bounds,
                need,
                continuous_ms: cfg.dial_ms,
                max_on,
                max_off,
                shadowed,
                reported: false,
            });
        }
        // A continuous tone must outlast every on-segment of cadenced tones on its set.
        for i in 0..matchers.len() {
            if matchers[i].bounds.is_empty() {
                let set = matchers[i].set;
                let longest = matchers
                    .iter()
                    .filter(|m| m.set == set && !m.bounds.is_empty())
                    .map(|m| m.max_on)
                    .max()
                    .unwrap_or(0);
                matchers[i].continuous_ms = cfg.dial_ms.max(longest.saturating_add(100));
            }
        }
        let sets = set_freqs.len();
        let mut bands: Vec<Vec<f32>> = set_freqs.iter().map(|f| widen(f, FREQ_SPREAD)).collect();
        bands.extend(SIT_BANDS.iter().map(|b| b.to_vec()));
        let mut components = Vec::with_capacity(sets);
        for f in &set_freqs {
            let mut idx = Vec::new();
            if f.len() > 1 {
                for &c in f {
                    idx.push(bands.len());
                    bands.push(widen(&[c], FREQ_SPREAD));
                }
            }
            components.push(idx);
        }
        let min_level = if cfg.min_level_dbm0.is_finite() { cfg.min_level_dbm0 } else { -40.0 };
        ProgressDetector {
            bank: BandBank::new(&bands),
            segs: vec![Segmenter::default(); sets + SIT_BANDS.len()],
            sets,
            components,
            matchers,
            min_power: dbm0_to_power(min_level),
            sit_reported: None,
            events: EventRing::new(),
        }
    }

    /// Feeds samples of any length.
    pub fn process(&mut self, samples: &[i16]) {
        let mut rest = samples;
        while let Some(r) = self.bank.next_hop(rest) {
            rest = r;
            self.end_of_hop();
        }
    }

    /// Next confirmed tone, oldest first. If the caller never polls, the oldest events
    /// are kept and later ones dropped.
    pub fn poll(&mut self) -> Option<ProgressEvent> {
        self.events.pop()
    }

    /// Forgets all signal history, reported tones and pending events (e.g. for a new call).
    pub fn reset(&mut self) {
        self.bank.reset();
        self.segs.iter_mut().for_each(Segmenter::reset);
        self.matchers.iter_mut().for_each(|m| m.reported = false);
        self.sit_reported = None;
        self.events.clear();
    }

    fn emit(&mut self, tone: ProgressTone) {
        self.events.push(ProgressEvent { tone, at_sample: self.bank.samples() });
    }

    fn end_of_hop(&mut self) {
        let hop = self.bank.hop_index();
        let steady = self.bank.steady();
        for (i, seg) in self.segs.iter_mut().enumerate() {
            let r = self.bank.reading(i);
            let mut on = steady && r.ratio >= TONE_RATIO && r.power >= self.min_power;
            // Every component must be there: 440+480 Hz ringback must not pass for
            // 350+440 Hz dial tone just because the bands overlap.
            if let Some(comps) = self.components.get(i) {
                on &= comps.iter().all(|&c| self.bank.reading(c).power >= COMPONENT_SHARE * r.power);
            }
            seg.step(hop, on);
        }
        for i in 0..self.matchers.len() {
            let m = &self.matchers[i];
            let Some(seg) = self.segs.get(m.set) else { continue };
            let cur = seg.ongoing(hop);
            if m.reported {
                let stopped = if m.bounds.is_empty() {
                    !cur.on
                } else {
                    cur.ms() > STOP_MARGIN_MS + if cur.on { m.max_on } else { m.max_off }
                };
                if stopped {
                    self.matchers[i].reported = false;
                }
                continue;
            }
            if m.shadowed {
                continue;
            }
            let hit = if m.bounds.is_empty() {
                cur.on && cur.ms() >= m.continuous_ms
            } else {
                cadence_matches(&m.bounds, m.need, seg, cur)
            };
            if hit {
                self.matchers[i].reported = true;
                let tone = self.matchers[i].tone;
                self.emit(tone);
            }
        }
        if self.sit_check(hop) {
            self.emit(ProgressTone::Sit);
        }
    }

    /// True when the third SIT segment has just become long enough after the other two.
    fn sit_check(&mut self, hop: u64) -> bool {
        let (Some(low), Some(mid), Some(high)) =
            (self.segs.get(self.sets), self.segs.get(self.sets + 1), self.segs.get(self.sets + 2))
        else {
            return false;
        };
        let third = high.ongoing(hop);
        let third_start = third.end - u64::from(third.hops);
        if !third.on || third.partial || third.ms() < SIT_MIN_MS || self.sit_reported == Some(third_start) {
            return false;
        }
        let segment_ok = |r: Option<Run>, next_start: u64| {
            r.filter(|r| {
                r.on && !r.partial
                    && (SIT_MIN_MS..=SIT_MAX_MS).contains(&r.ms())
                    && r.end.abs_diff(next_start) <= SIT_GAP_HOPS
            })
        };
        let Some(second) = segment_ok(mid.completed(0), third_start) else { return false };
        if segment_ok(low.completed(0), second.end - u64::from(second.hops)).is_none() {
            return false;
        }
        self.sit_reported = Some(third_start);
        true
    }
}

/// Whether the newest runs of `seg` match the cadence `bounds`: `need` runs ending with the
/// ongoing one `cur`, aligned at any position with the right on/off parity.
fn cadence_matches(bounds: &[(u32, u32)], need: usize, seg: &Segmenter, cur: Run) -> bool {
    let l = bounds.len();
    if l == 0 || cur.partial {
        return false;
    }
    let fits = |pos: usize, r: Run| {
        let (lo, hi) = bounds.get(pos).copied().unwrap_or((u32::MAX, 0));
        r.on == (pos % 2 == 0) && !r.partial && (lo..=hi).contains(&r.ms())
    };
    (0..l).any(|p| {
        fits(p, cur)
            && (1..need).all(|i| {
                let pos = (p + l * need - i) % l;
                seg.completed(i - 1).is_some_and(|r| fits(pos, r))
            })
    })
}

// ---------------------------------------------------------------- learning

/// A tone measured by [`CadenceLearner`].
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedTone {
    /// Components as (Hz, dBm0), strongest first.
    pub freqs: Vec<(f32, f32)>,
    /// ms on, off, on, ...; starts with the on-segment that follows the longest silence.
    /// Empty for a continuous tone.
    pub cadence: Vec<u32>,
    /// Complete cadence periods the averages come from (0 for a continuous tone).
    pub cycles: u32,
}

impl LearnedTone {
    /// As a playable/detectable spec.
    pub fn to_tone_spec(&self) -> ToneSpec {
        ToneSpec { freqs: self.freqs.clone(), cadence: self.cadence.clone(), repeat: true }
    }

    /// One line for a `[[zone]]` table, e.g.
    /// `busy = { freqs = [[450.0, -10.0]], cadence = [350, 350] }`.
    pub fn zone_entry(&self, key: &str) -> String {
        let freqs: Vec<String> = self.freqs.iter().map(|(f, l)| format!("[{f:.1}, {l:.1}]")).collect();
        let mut s = format!("{key} = {{ freqs = [{}]", freqs.join(", "));
        if !self.cadence.is_empty() {
            let c: Vec<String> = self.cadence.iter().map(u32::to_string).collect();
            s.push_str(&format!(", cadence = [{}]", c.join(", ")));
        }
        s.push_str(" }");
        s
    }
}

/// Longest recording the learner keeps, seconds (memory is reserved up front).
pub const LEARN_MAX_SECONDS: u32 = 30;
/// Scan range for the tone's components, Hz.
const LEARN_MIN_HZ: f32 = 300.0;
const LEARN_MAX_HZ: f32 = 1000.0;
/// Coarse scan step and the refinement step around each peak, Hz.
const COARSE_HZ: f32 = 5.0;
const FINE_HZ: f32 = 0.5;
/// Analysis chunk inside on-segments: 200 ms Hann (main lobe ±10 Hz, sidelobes −31 dB),
/// at least 80 ms.
const CHUNK_BLOCKS: usize = 20;
const MIN_CHUNK_BLOCKS: usize = 8;
/// Chunks analysed at most (bounds the cost of [`CadenceLearner::result`]).
const MAX_CHUNKS: usize = 12;
/// A second component must be within this many dB of the strongest.
const SECOND_COMPONENT_DB: f32 = 15.0;

/// Learns an unknown tone (frequencies, levels, cadence) from a recording.
///
/// [`CadenceLearner::process`] only stores samples (up to [`LEARN_MAX_SECONDS`], reserved
/// at construction); [`CadenceLearner::result`] does the analysis and may be called at any
/// time (it allocates; it is not meant for the per-frame path):
///
/// 1. 10 ms block energies; blocks within 10 dB of the loudest are roughly "on".
/// 2. Inside each rough on-segment (ends trimmed by 20 ms), Hann-windowed 200 ms chunks
///    are scanned with Goertzel bins every 5 Hz from 300 to 1000 Hz, powers averaged.
/// 3. The strongest peak, and a second one ≥ 30 Hz away within 15 dB, are refined in
///    0.5 Hz steps; their levels come from the same windowed DFT.
/// 4. With the frequencies known, the recording is segmented exactly like the detector
///    does (40 ms projection, debounce), so the learned cadence is what the detector sees.
/// 5. The period is the shortest even number of runs (2, 4 or 6) after which run lengths
///    repeat; each position is averaged over all cycles and rounded to 5 ms.
#[derive(Clone, Debug)]
pub struct CadenceLearner {
    buf: Vec<i16>,
}

impl Default for CadenceLearner {
    fn default() -> Self {
        Self::new()
    }
}

impl CadenceLearner {
    pub fn new() -> Self {
        CadenceLearner { buf: Vec::with_capacity((LEARN_MAX_SECONDS * SAMPLE_RATE) as usize) }
    }

    /// Stores samples; anything past [`LEARN_MAX_SECONDS`] is ignored.
    pub fn process(&mut self, samples: &[i16]) {
        let room = self.buf.capacity() - self.buf.len();
        self.buf.extend_from_slice(samples.get(..room.min(samples.len())).unwrap_or_default());
    }

    /// The tone heard so far, or `None` if no tone could be found (too short, too quiet,
    /// nothing dominant between 300 and 1000 Hz).
    pub fn result(&self) -> Option<LearnedTone> {
        let x = &self.buf;
        let blocks: Vec<f64> = x
            .chunks_exact(HOP)
            .map(|b| b.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / HOP as f64)
            .collect();
        if blocks.len() < 50 {
            return None;
        }
        let peak = blocks.iter().copied().fold(0.0, f64::max);
        if peak < f64::from(dbm0_to_power(-50.0)) {
            return None;
        }
        // Rough on-segments by energy, as (first block, block count).
        let mut segments = Vec::new();
        let mut start = None;
        for (i, &e) in blocks.iter().chain([0.0].iter()).enumerate() {
            match (e >= peak / 10.0, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    segments.push((s, i - s));
                    start = None;
                }
                _ => {}
            }
        }
        let mut chunks: Vec<&[i16]> = Vec::new();
        for &(s, n) in &segments {
            let (mut a, b) = (s + 2, s + n.saturating_sub(2));
            while b >= a + MIN_CHUNK_BLOCKS && chunks.len() < MAX_CHUNKS {
                let len = (b - a).min(CHUNK_BLOCKS);
                chunks.push(x.get(a * HOP..(a + len) * HOP).unwrap_or_default());
                a += len;
            }
        }
        if chunks.is_empty() {
            return None;
        }
        let windowed: Vec<(Vec<f64>, f64)> = chunks.iter().map(|c| hann(c)).collect();
        let spectrum =
            |f: f32| windowed.iter().map(|(c, wsum)| power_at(c, *wsum, f)).sum::<f64>() / windowed.len() as f64;
        let coarse: Vec<(f32, f64)> = (0..)
            .map(|i| LEARN_MIN_HZ + i as f32 * COARSE_HZ)
            .take_while(|&f| f <= LEARN_MAX_HZ)
            .map(|f| (f, spectrum(f)))
            .collect();
        let &(f1, p1) = coarse.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let is_peak = |i: usize| {
            let p = coarse[i].1;
            (i == 0 || coarse[i - 1].1 <= p) && coarse.get(i + 1).is_none_or(|n| n.1 <= p)
        };
        let second = (0..coarse.len())
            .filter(|&i| (coarse[i].0 - f1).abs() >= 30.0 && is_peak(i))
            .filter(|&i| coarse[i].1 >= p1 * 10f64.powf(-f64::from(SECOND_COMPONENT_DB) / 10.0))
            .max_by(|&a, &b| coarse[a].1.total_cmp(&coarse[b].1))
            .map(|i| coarse[i].0);
        let refine = |fc: f32| {
            (0..=((2.0 * COARSE_HZ / FINE_HZ) as i32))
                .map(|k| fc - COARSE_HZ + k as f32 * FINE_HZ)
                .map(|f| (f, spectrum(f)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((fc, 0.0))
        };
        let mut freqs: Vec<(f32, f32)> = [Some(f1), second]
            .into_iter()
            .flatten()
            .map(refine)
            .map(|(f, p)| (f.round(), ((10.0 * (p / f64::from(DBM0_POWER)).log10() * 2.0).round() / 2.0) as f32))
            .collect();
        freqs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.total_cmp(&b.0)));
        let tone_power: f32 = freqs.iter().map(|&(_, l)| dbm0_to_power(l)).sum();

        // Segment exactly like the detector, on the learned frequencies.
        let found: Vec<f32> = freqs.iter().map(|&(f, _)| f).collect();
        let mut bank = BandBank::new(&[widen(&found, FREQ_SPREAD)]);
        let mut seg = Segmenter::default();
        let mut runs = Vec::new();
        let mut rest = x.as_slice();
        while let Some(r) = bank.next_hop(rest) {
            rest = r;
            let r = bank.reading(0);
            let on = bank.steady() && r.ratio >= TONE_RATIO && r.power >= tone_power * 0.1;
            if let Some(run) = seg.step(bank.hop_index(), on) {
                runs.push(run);
            }
        }
        let last = seg.ongoing(bank.hop_index());
        // Complete runs only: not the first (may predate the recording) nor the ongoing one.
        let runs: Vec<Run> = runs.into_iter().filter(|r| !r.partial).collect();
        let on_hops: u64 = runs.iter().filter(|r| r.on).map(|r| u64::from(r.hops)).sum();
        if runs.is_empty() || on_hops == 0 {
            // Continuous: the tone must have been on for most of the recording.
            let continuous = last.on && u64::from(last.hops) * (HOP as u64) * 2 >= x.len() as u64;
            return continuous.then(|| LearnedTone { freqs, cadence: Vec::new(), cycles: 0 });
        }
        let ms: Vec<u32> = runs.iter().map(Run::ms).collect();
        let close = |a: u32, b: u32| a.abs_diff(b) <= (a.max(b) / 6).max(40);
        let period =
            [2usize, 4, 6].into_iter().find(|&l| ms.len() > l && (0..ms.len() - l).all(|i| close(ms[i], ms[i + l])))?;
        let mut avg = vec![0u32; period];
        for (p, a) in avg.iter_mut().enumerate() {
            let v: Vec<u32> = ms.iter().skip(p).step_by(period).copied().collect();
            let mean = v.iter().map(|&m| f64::from(m)).sum::<f64>() / v.len().max(1) as f64;
            *a = ((mean / 5.0).round() * 5.0) as u32;
        }
        // Rotate so the cadence starts with the on-segment after the longest off-segment.
        let first_on = usize::from(!runs[0].on);
        let longest_off = (0..period)
            .filter(|&p| (p + first_on) % 2 != 0)
            .max_by_key(|&p| (avg[p], std::cmp::Reverse(p)))
            .unwrap_or(0);
        let start = (longest_off + 1) % period;
        let cadence: Vec<u32> = (0..period).map(|k| avg[(start + k) % period]).collect();
        let cycles = (runs.len() / period) as u32;
        Some(LearnedTone { freqs, cadence, cycles })
    }
}

/// `x` through a Hann window, and the window's sum.
fn hann(x: &[i16]) -> (Vec<f64>, f64) {
    let step = 2.0 * std::f64::consts::PI / (x.len().max(2) - 1) as f64;
    let w: Vec<f64> = (0..x.len()).map(|i| 0.5 - 0.5 * (step * i as f64).cos()).collect();
    (x.iter().zip(&w).map(|(&v, &w)| w * f64::from(v)).collect(), w.iter().sum())
}

/// Mean power of the `f` component (mean-of-x² units) of a Hann-windowed chunk.
fn power_at(x: &[f64], wsum: f64, f: f32) -> f64 {
    if wsum <= 0.0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * f64::from(f) / f64::from(SAMPLE_RATE);
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = c * s1 - s2 + v;
        s2 = s1;
        s1 = s0;
    }
    let mag2 = s1 * s1 + s2 * s2 - c * s1 * s2;
    // A sine of amplitude A reads |X| = A·Σw/2, so A²/2 = 2|X|²/(Σw)².
    2.0 * mag2 / (wsum * wsum)
}

#[cfg(test)]
mod tests;
