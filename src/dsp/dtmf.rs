//! DTMF (ITU-T Q.23) generation and detection (Q.24 acceptance limits).
//!
//! # Detector design
//!
//! Each sub-block of `HOP` = 40 samples (5 ms) is transformed at the eight Q.23
//! frequencies by a direct DFT referenced to the sub-block's centre: the samples are
//! folded into sums and differences of pairs mirrored about the centre, so each tone
//! takes one multiply-add per folded sample for the real part and one for the imaginary
//! part (40 per tone: half a direct DFT's, as many as a Goertzel filter's, but without
//! its chain of dependent steps through the samples or its closing rotation). The tones
//! sit side by side in vector lanes (struct of arrays, eight tones per vector), the
//! sub-blocks of a 20 ms frame are transformed together (each DFT weight loaded once for
//! all of them), and the per-frame step is compiled for the baseline target and, through
//! the `multiversion` crate (no `unsafe` here), for x86-64 CPUs with AVX2 and FMA, chosen
//! at run time; both give the same numbers to float rounding (see the tests). Each
//! sub-block yields a complex DFT value per tone; three consecutive ones combine,
//! weighted 1-2-1, into a 15 ms analysis window evaluated every 5 ms:
//!
//! * Block size: the window's main lobe is ±100 Hz (like an 80-sample block, enough to
//!   separate rows 73 Hz apart: the neighbour reads ≥ 11 dB down) while its sidelobes fall
//!   faster; the residual cross-group leakage of the chosen pair is removed exactly by
//!   solving the 2×2 mixing. A 102-sample block (spandsp) was not used because no block
//!   short enough for 40 ms timing separates ±1.5% from ±3.5% by energy.
//! * Frequency: Q.24 wants ±1.5% accepted and ±3.5% rejected (10 vs 24 Hz at 697 Hz),
//!   which no short bin resolves by level, especially across a 22 dB level range. So the
//!   frequency is measured: a tone's window phase advances `2π Δf · HOP / fs` per hop
//!   beyond the nominal, independent of level and unambiguous up to ±100 Hz (6% of
//!   1633 Hz). The limit sits midway, at ±2.5% ([`DtmfRxConfig::max_freq_deviation_pct`]),
//!   and the measured offset also corrects the level reading for the bin's roll-off.
//! * Talk-off resistance: both tones must carry most of the window's energy
//!   ([`DtmfRxConfig::min_tone_energy_ratio`]), beat the other bins of their group by
//!   6 dB, respect the twist limits and minimum level, and hold a steady frequency for
//!   the minimum on time. (No second-harmonic check: it would cost 8 more bins.)
//!   Instead, octave pairs are refused: music's commonest interval puts a note's octave
//!   (or its own second harmonic) on a column while the note sits 2–2.5% under a row
//!   (e.g. G#5 830.6 Hz + G#6 1661 Hz reads as 852 + 1633, `C`). With the measured
//!   frequencies that costs two `atan2` per candidate window: a column within
//!   [`OCTAVE_GUARD_HZ`] of twice the row is rejected. Real digits within Q.24's ±1.5%
//!   never come closer than 18 Hz (1477 vs 2 × 770, 1633 vs 2 × 852).
//! * Timing is counted in hops; see [`DtmfDetector`] for how min on/off times map.
//! * Cost: most hops are silence, pauses, speech or music, so rejection is cheap. A
//!   sub-block with too little energy for two tones at the minimum level skips the
//!   DFT altogether (it counts as silence, and the three windows holding it are
//!   rejected: they would fail the level or energy-ratio check anyway). Other windows
//!   face bounds on level and energy ratio (first a looser one that needs no search for
//!   the strongest bins), then the neighbour-bin and frequency checks, all with adds,
//!   multiplies and compares; only windows passing those take a square root per tone
//!   (and no division), and the `atan2` pair only runs for the three digits whose tones
//!   can come near an octave.

use std::collections::VecDeque;

use multiversion::multiversion;
use multiversion::target::target_cfg_f;
use serde::{Deserialize, Serialize};

use crate::dsp::tone::Oscillator;
use crate::dsp::{dbm0_to_peak, dbm0_to_power, SAMPLE_RATE};

/// Low-group (row) frequencies, Hz.
pub const ROW_FREQS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies, Hz.
pub const COL_FREQS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Keypad layout: `DIGITS[row][col]`.
const DIGITS: [[char; 4]; 4] = [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];

/// Row and column index of a DTMF digit (case-insensitive for A–D), `None` otherwise.
pub fn digit_position(digit: char) -> Option<(usize, usize)> {
    let d = digit.to_ascii_uppercase();
    DIGITS.iter().enumerate().find_map(|(r, row)| row.iter().position(|&c| c == d).map(|c| (r, c)))
}

/// The (low, high) frequencies of a DTMF digit.
pub fn digit_freqs(digit: char) -> Option<(f32, f32)> {
    digit_position(digit).map(|(r, c)| (ROW_FREQS[r], COL_FREQS[c]))
}

fn ms_to_samples(ms: u32) -> u64 {
    u64::from(ms) * u64::from(SAMPLE_RATE) / 1000
}

// ---------------------------------------------------------------- generator

/// DTMF sending parameters.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DtmfTxConfig {
    /// Low-group tone level, dBm0.
    pub level_low_dbm0: f32,
    /// High-group tone level, dBm0; 2 dB above the low group (positive twist) offsets
    /// the high-frequency loss of analog lines.
    pub level_high_dbm0: f32,
    /// Tone duration per digit, ms.
    pub on_ms: u32,
    /// Pause after each digit, ms.
    pub off_ms: u32,
}

impl Default for DtmfTxConfig {
    fn default() -> Self {
        DtmfTxConfig { level_low_dbm0: -10.0, level_high_dbm0: -8.0, on_ms: 80, off_ms: 80 }
    }
}

/// Plays queued digits as tone bursts followed by pauses.
#[derive(Clone, Debug)]
pub struct DtmfGenerator {
    cfg: DtmfTxConfig,
    queue: VecDeque<char>,
    low: Oscillator,
    high: Oscillator,
    /// Samples left of the current tone and pause; both zero when idle.
    on_left: u64,
    off_left: u64,
}

impl DtmfGenerator {
    pub fn new(cfg: DtmfTxConfig) -> Self {
        DtmfGenerator {
            cfg,
            queue: VecDeque::with_capacity(32),
            low: Oscillator::new(ROW_FREQS[0], 0.0),
            high: Oscillator::new(COL_FREQS[0], 0.0),
            on_left: 0,
            off_left: 0,
        }
    }

    /// Queues digits; characters outside `0-9 * # A-D` (any case) are ignored.
    pub fn push_digits(&mut self, digits: &str) {
        self.queue.extend(digits.chars().filter(|&c| digit_position(c).is_some()).map(|c| c.to_ascii_uppercase()));
    }

    /// True when nothing is queued or playing.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.on_left == 0 && self.off_left == 0
    }

    /// Writes the next samples (zeros when idle); returns how many were not idle
    /// (tones and the pauses between digits), counted from the start of `out`.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let mut done = 0;
        while done < out.len() {
            if self.on_left == 0 && self.off_left == 0 && !self.start_next() {
                break;
            }
            let rest = out.get_mut(done..).unwrap_or_default();
            if self.on_left > 0 {
                let n = (rest.len() as u64).min(self.on_left).min(Oscillator::RENORM_EVERY as u64) as usize;
                for o in rest.iter_mut().take(n) {
                    let v = self.low.next() + self.high.next();
                    *o = v.round().clamp(-32768.0, 32767.0) as i16;
                }
                self.low.renormalize();
                self.high.renormalize();
                self.on_left -= n as u64;
                done += n;
            } else {
                let n = (rest.len() as u64).min(self.off_left) as usize;
                rest.iter_mut().take(n).for_each(|o| *o = 0);
                self.off_left -= n as u64;
                done += n;
            }
        }
        out.get_mut(done..).unwrap_or_default().fill(0);
        done
    }

    fn start_next(&mut self) -> bool {
        let Some((low, high)) = self.queue.pop_front().and_then(digit_freqs) else {
            return false;
        };
        self.low = Oscillator::new(low, dbm0_to_peak(self.cfg.level_low_dbm0));
        self.high = Oscillator::new(high, dbm0_to_peak(self.cfg.level_high_dbm0));
        self.on_left = ms_to_samples(self.cfg.on_ms);
        self.off_left = ms_to_samples(self.cfg.off_ms);
        true
    }
}

// ---------------------------------------------------------------- detector

/// Detection limits. Defaults follow ITU-T Q.24 (the common administration values).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DtmfRxConfig {
    /// Minimum level of each tone, dBm0 (Q.24: operate at −25 dBm0 and above).
    pub min_level_dbm0: f32,
    /// Max normal twist: high group stronger than low, dB.
    pub max_normal_twist_db: f32,
    /// Max reverse twist: low group stronger than high, dB.
    pub max_reverse_twist_db: f32,
    /// Frequency deviation accepted, % of nominal. 2.5 sits midway between Q.24's
    /// "must accept ±1.5%" and "must reject ±3.5%".
    pub max_freq_deviation_pct: f32,
    /// Fraction of the window energy the two tones must hold (talk-off resistance).
    /// 0.85 is spandsp's figure (0.82) plus a margin found on synthetic speech; white
    /// noise 15 dB below the tones still leaves ≈ 0.95.
    pub min_tone_energy_ratio: f32,
    /// Tone must last this long to be reported, ms.
    pub min_on_ms: u32,
    /// Pause needed to end a digit (shorter drop-outs are bridged), ms.
    pub min_off_ms: u32,
}

impl Default for DtmfRxConfig {
    fn default() -> Self {
        DtmfRxConfig {
            min_level_dbm0: -26.0,
            max_normal_twist_db: 8.0,
            max_reverse_twist_db: 4.0,
            max_freq_deviation_pct: 2.5,
            min_tone_energy_ratio: 0.85,
            min_on_ms: 40,
            min_off_ms: 40,
        }
    }
}

/// What happened to a digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfEventKind {
    /// The digit has been present for the minimum on time.
    Begin,
    /// The digit stopped (after the minimum off time); `duration_ms` estimates how long
    /// the tone lasted (±5 ms).
    End { duration_ms: u32 },
}

/// A detector event. `at_sample` counts samples fed since construction or [`DtmfDetector::reset`];
/// it is the end of the 5 ms hop in which the decision was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfEvent {
    pub digit: char,
    pub kind: DtmfEventKind,
    pub at_sample: u64,
}

/// Sub-block length: the detector decides every HOP samples (5 ms).
const HOP: usize = 40;
/// Analysis window: three sub-blocks weighted 1-2-1 (15 ms). Its spectrum is the 40-sample
/// sub-block's times `cos²(π f HOP / fs)`: nulls every 100 Hz, main lobe ±100 Hz like an
/// 80-sample block, but sidelobes ≈ −35 dB instead of −13 dB, so a tone 8 dB louder in
/// the other group no longer leaks enough to upset the twist or phase measurement, and
/// the neighbouring row (73 Hz away) sits 15 dB down.
const WEIGHT_MID: f32 = 2.0;
/// Other bins of a group must be this far (6 dB, power ratio) below the strongest one.
const RELATIVE_PEAK: f32 = 4.0;
/// `|W|²` of a sine of mean power p is `p · 8 HOP²` ((1+2+1)² · (HOP/2)² · 2 p).
const TONE_GAIN: f32 = 8.0 * (HOP * HOP) as f32;
/// The weighted window energy (1·e + 4·e + 1·e) of that sine is `p · 6 HOP`; this factor
/// maps `|W|²` onto the same scale, so a pure tone has ratio 1.
const TONE_TO_ENERGY: f32 = 6.0 / (8.0 * HOP as f32);
/// Window smear in hops, calibrated on clean tones over all alignments (see
/// [`DtmfDetector`]).
const ON_SMEAR_HOPS: u32 = 2;
const OFF_SMEAR_HOPS: u32 = 0;
const DURATION_SMEAR_HOPS: u64 = 2;
const HOP_MS: u32 = (HOP as u32 * 1000) / SAMPLE_RATE;
/// Pending events kept; at 5 ms per decision and two events per ≥ 80 ms digit, 16 is
/// far more than a caller polling once per 20 ms frame can fall behind by.
const EVENT_RING: usize = 16;
/// Weight of the previous phase-advance estimate (smooths leakage and noise).
const PHASE_SMOOTHING: f32 = 0.5;
/// A column tone this close (Hz) to twice the row tone is taken for an octave (music),
/// not a digit; see the module docs.
pub const OCTAVE_GUARD_HZ: f32 = 8.0;
/// Sub-blocks analysed together (a 20 ms frame): their DFTs share the loads of the DFT
/// weights, and the conversion and dispatch are paid once for all of them.
const BATCH: usize = 4;
/// Bound on how much unmixing can raise a bin's power in a window within the twist limits
/// (≈ 1.1: cross-group leakage ≤ −35 dB); with the offset correction at the frequency
/// limit it bounds the exact level and ratio readings, so windows are rejected cheaply,
/// with the same outcome, before the exact checks.
const UNMIX_GAIN: f32 = 1.25;
/// A sub-block whose energy is below this fraction of `HOP` samples of one tone at the
/// minimum level is quiet: a window needs over half of each sub-block filled by both
/// tones to pass the ratio check (over 1.1 such tone-energies), so with a 3 dB margin a
/// quiet sub-block cannot be part of a passing window.
const QUIET_FRACTION: f32 = 0.5;
/// Hz per radian of phase advance per hop.
const HZ_PER_RAD: f32 = SAMPLE_RATE as f32 / (2.0 * std::f32::consts::PI * HOP as f32);

#[derive(Clone, Copy, Debug, Default)]
struct Active {
    digit: u8,
    first_hop: u64,
    last_hop: u64,
    misses: u32,
}

/// Streaming DTMF receiver; see the module docs for the method.
///
/// Timing: a window is a hit only when the tone fills most of it, so a clean tone of T ms
/// shows `T/5 − 2` consecutive hits and a pause of G ms about `G/5 + 1` misses (measured
/// over all alignments). `Begin` fires after `ceil(min_on/5) − 2` hits and `End` after
/// `ceil(min_off/5)` misses: with the 40 ms defaults, 40 ms tones are always reported,
/// 30 ms never, pauses ≥ 35 ms split digits and drop-outs ≤ 25 ms are bridged.
/// `Begin` comes ≈ min_on after the tone starts, `End` ≈ min_off after it stops.
#[derive(Clone, Debug)]
pub struct DtmfDetector {
    /// The eight tone bins: DFT weights, per-hop history and phase tracking.
    bank: Bank,
    /// `leak[r][c]`: how much of column tone c the row-r bin reads, relative to the
    /// column bin itself (complex, for tones at nominal frequency, with both bins
    /// referenced as the sub-block DFTs are); used to undo the cross-group leakage of the
    /// chosen pair.
    leak: [[(f32, f32); 4]; 4],
    /// `1 / (1 − |leak|²)²`, the determinant of that mixing, squared and inverted.
    unmix_scale: [[f32; 4]; 4],
    /// Bit `r*4+c`: digits whose tones can read as an octave (see `is_octave`); for the
    /// others the nominal frequencies are too far from one for any measured offset.
    octave_pairs: u16,
    /// Cosine of the largest accepted phase advance per hop.
    cos_max: [f32; 8],
    /// Per tone: bound on how much unmixing and the offset correction can raise its
    /// power in a window that passes the frequency and twist checks (see
    /// [`DtmfDetector::classify`]).
    max_gain: [f32; 8],
    /// A sub-block with less energy than this cannot be part of a passing window.
    quiet_energy: f32,
    /// Windows still to come that contain a quiet sub-block (rejected unexamined).
    quiet_windows: u32,
    min_power: f32,
    normal_twist: f32,
    reverse_twist: f32,
    ratio: f32,
    on_hops: u32,
    off_hops: u32,

    /// Samples of the running sub-block, analysed once it is full.
    block: [i16; HOP],
    fill: usize,
    /// The batch being analysed: per sub-block its energy and the sums and differences of
    /// its samples mirrored about its centre (see `convert`).
    folded: [[f32; HOP]; BATCH],
    energy: [f32; BATCH],

    prev_energy: [f32; 2],

    hop: u64,
    candidate: Option<u8>,
    candidate_hits: u32,
    active: Option<Active>,

    events: [Option<DtmfEvent>; EVENT_RING],
    ev_head: usize,
    ev_len: usize,
}

impl DtmfDetector {
    pub fn new(cfg: DtmfRxConfig) -> Self {
        let mut freqs = [0.0f32; 8];
        freqs[..4].copy_from_slice(&ROW_FREQS);
        freqs[4..].copy_from_slice(&COL_FREQS);
        let mut bank = Bank::default();
        let mut cos_max = [0.0; 8];
        let mut max_gain = [0.0; 8];
        let fs = f64::from(SAMPLE_RATE);
        let tau = 2.0 * std::f64::consts::PI;
        for (i, &f) in freqs.iter().enumerate() {
            let w = tau * f64::from(f) / fs;
            // Sample HOP/2 + k and HOP/2 − 1 − k lie k + ½ samples either side of the
            // sub-block's centre.
            // (cos, sin) of ω(k + ½), stepped by a rotation through ω.
            let (step_c, step_s) = (w.cos(), w.sin());
            let (mut ck, mut sk) = ((w / 2.0).cos(), (w / 2.0).sin());
            for (c, s) in bank.dft_cos.iter_mut().zip(bank.dft_sin.iter_mut()) {
                c[i] = ck as f32;
                s[i] = -sk as f32;
                (ck, sk) = (ck * step_c - sk * step_s, sk * step_c + ck * step_s);
            }
            let b = w * HOP as f64;
            bank.tw_re[i] = b.cos() as f32;
            bank.tw_im[i] = -b.sin() as f32;
            let dev = f64::from(cfg.max_freq_deviation_pct.clamp(0.0, 5.0)) / 100.0;
            let max_adv = tau * f64::from(f) * dev * HOP as f64 / fs; // < π/2 up to 6%
            cos_max[i] = max_adv.cos() as f32;
            let (num, den) = offset_gain(cos_max[i], 1.0);
            max_gain[i] = UNMIX_GAIN * (num / den) as f32;
        }
        let db = |d: f32| 10f32.powf(d.max(0.0) / 10.0);
        // G(Δ) = Σ w[n] e^{jΔn} over the 1-2-1 window, in closed form
        // Σ_{n<HOP} e^{jΔn} · (1 + e^{jΔ HOP})²; leak = G(ωc − ωr) / G(0), turned by
        // e^{−jΔ(HOP−1)/2} because each sub-block DFT is referenced to the sub-block's
        // centre, where a row and a column bin have turned by different angles.
        let cmul64 = |a: (f64, f64), b: (f64, f64)| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0);
        let cis = |a: f64| (a.cos(), a.sin());
        let leak: [[(f32, f32); 4]; 4] = std::array::from_fn(|r| {
            std::array::from_fn(|c| {
                let d = tau * f64::from(COL_FREQS[c] - ROW_FREQS[r]) / fs;
                let (eh, e1) = (cis(d * HOP as f64), cis(d));
                let (nr, ni, dr, di) = (1.0 - eh.0, -eh.1, 1.0 - e1.0, -e1.1);
                let dd = dr * dr + di * di;
                let block = ((nr * dr + ni * di) / dd, (ni * dr - nr * di) / dd);
                let half = (1.0 + eh.0, eh.1);
                let g = cmul64(cmul64(block, cmul64(half, half)), cis(-d * (HOP - 1) as f64 / 2.0));
                let g0 = 4.0 * HOP as f64;
                ((g.0 / g0) as f32, (g.1 / g0) as f32)
            })
        });
        let unmix_scale = leak.map(|row| {
            row.map(|k| {
                let det = 1.0 - (k.0 * k.0 + k.1 * k.1);
                1.0 / (det * det)
            })
        });
        // small_atan2 never exceeds ATAN_MAX, so |fc − 2fr| ≥ |C − 2R| − 3·ATAN_MAX·HZ_PER_RAD.
        let mut octave_pairs = 0u16;
        for (r, &fr) in ROW_FREQS.iter().enumerate() {
            for (c, &fc) in COL_FREQS.iter().enumerate() {
                if (fc - 2.0 * fr).abs() - 3.0 * ATAN_MAX * HZ_PER_RAD < OCTAVE_GUARD_HZ + 1.0 {
                    octave_pairs |= 1 << (r * 4 + c);
                }
            }
        }
        let hops = |ms: u32| (ms_to_samples(ms)).div_ceil(HOP as u64) as u32;
        DtmfDetector {
            bank,
            leak,
            unmix_scale,
            octave_pairs,
            cos_max,
            max_gain,
            quiet_energy: dbm0_to_power(cfg.min_level_dbm0) * QUIET_FRACTION * HOP as f32,
            quiet_windows: 0,
            min_power: dbm0_to_power(cfg.min_level_dbm0) * TONE_GAIN,
            normal_twist: db(cfg.max_normal_twist_db),
            reverse_twist: db(cfg.max_reverse_twist_db),
            ratio: cfg.min_tone_energy_ratio,
            on_hops: hops(cfg.min_on_ms).saturating_sub(ON_SMEAR_HOPS).max(1),
            off_hops: hops(cfg.min_off_ms).saturating_sub(OFF_SMEAR_HOPS).max(1),
            block: [0; HOP],
            fill: 0,
            folded: [[0.0; HOP]; BATCH],
            energy: [0.0; BATCH],
            prev_energy: [0.0; 2],
            hop: 0,
            candidate: None,
            candidate_hits: 0,
            active: None,
            events: [None; EVENT_RING],
            ev_head: 0,
            ev_len: 0,
        }
    }

    /// Forgets all signal history and pending events (e.g. for a new call).
    pub fn reset(&mut self) {
        self.block = [0; HOP];
        self.fill = 0;
        self.bank.clear_history();
        self.prev_energy = [0.0; 2];
        self.quiet_windows = 0;
        self.hop = 0;
        self.candidate = None;
        self.candidate_hits = 0;
        self.active = None;
        self.events = [None; EVENT_RING];
        self.ev_head = 0;
        self.ev_len = 0;
    }

    /// Feeds samples of any length.
    pub fn process(&mut self, samples: &[i16]) {
        let mut rest = samples;
        while !rest.is_empty() {
            if self.fill == 0 && rest.len() >= HOP {
                // Whole sub-blocks straight from the input, up to a batch at a time.
                let (now, later) = rest.split_at((rest.len() / HOP).min(BATCH) * HOP);
                self.analyse_batch(now);
                rest = later;
                continue;
            }
            let take = (HOP - self.fill).min(rest.len());
            let (now, later) = rest.split_at(take);
            if let Some(dst) = self.block.get_mut(self.fill..self.fill + take) {
                dst.copy_from_slice(now);
            }
            self.fill += take;
            rest = later;
            if self.fill == HOP {
                self.fill = 0;
                let block = self.block;
                self.analyse_batch(&block);
            }
        }
    }

    /// Next pending event, oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        if self.ev_len == 0 {
            return None;
        }
        let ev = self.events.get_mut(self.ev_head).and_then(Option::take);
        self.ev_head = (self.ev_head + 1) % EVENT_RING;
        self.ev_len -= 1;
        ev
    }

    /// Analyses whole sub-blocks (`samples.len()` a multiple of HOP, at most a batch).
    fn analyse_batch(&mut self, samples: &[i16]) {
        convert(samples, &mut self.folded, &mut self.energy);
        analyse(self, samples.len() / HOP);
    }

    /// The window of sub-block `h` of the batch, whose DFT (if it is loud) is `x`: updates
    /// the filter history, classifies the window and tracks the outcome.
    #[inline(always)]
    fn end_of_hop<const FMA: bool>(&mut self, h: usize, loud: bool, x: &[[f32; 8]; 2]) {
        let energy = self.energy.get(h).copied().unwrap_or(0.0);
        let pow = if loud {
            self.bank.quiet_run = 0;
            Some(self.bank.advance::<FMA>(x))
        } else {
            self.bank.step_quiet::<FMA>();
            None
        };
        let [e0, e1] = self.prev_energy;
        let window_energy = e0 + WEIGHT_MID * WEIGHT_MID * e1 + energy;
        self.prev_energy = [e1, energy];
        self.hop += 1;

        let hit = match pow {
            // Not enough energy for two tones at the minimum level: no window holding this
            // sub-block (this one and the next two) can pass the level and ratio checks,
            // so its DFT was skipped and it counts as silence.
            None => {
                self.quiet_windows = 2;
                None
            }
            Some(_) if self.quiet_windows > 0 => {
                self.quiet_windows -= 1;
                None
            }
            Some(pow) => self.classify(&pow, window_energy),
        };
        self.track(hit);
    }

    /// The digit (row*4+col) this window shows, if every check passes.
    #[inline(always)]
    fn classify(&self, pow: &[f32; 8], window_energy: f32) -> Option<u8> {
        // A cheap check first, with multiplies, compares and adds only (most windows are
        // speech, music or noise). Unmixing and the offset correction raise a power by at
        // most `max_gain` in a window that passes the frequency and twist checks, so if
        // even each group's largest gain-weighted power (never less than its strongest
        // bin's, and found without locating that bin) cannot meet the level and ratio
        // limits, the exact checks below fail: almost every window of speech or music ends
        // here. (Powers are never negative, so their bit patterns order as they do.)
        let g: [u32; 8] = std::array::from_fn(|i| (pow[i] * self.max_gain[i]).to_bits());
        let gmax = |g: &[u32]| f32::from_bits(g.iter().copied().max().unwrap_or(0));
        let (gr, gc) = (gmax(&g[..4]), gmax(&g[4..]));
        if (gr + gc) * TONE_TO_ENERGY < self.ratio * window_energy || gr.min(gc) < self.min_power {
            return None;
        }
        let (r, wr) = argmax4(pow[0], pow[1], pow[2], pow[3]);
        let (c, wc) = argmax4(pow[4], pow[5], pow[6], pow[7]);
        let c = c + 4;
        // Speech puts energy in several bins of a group; a real digit's neighbours sit
        // ≥ 11 dB down even at ±1.5% (the window's response 62 Hz off). The strongest bin
        // itself is above the limit unless the group is silent, so "another bin above it"
        // is "two bins above it".
        let (lim_r, lim_c) = (wr * (1.0 / RELATIVE_PEAK), wc * (1.0 / RELATIVE_PEAK));
        let above = |p: &[f32], lim: f32| p.iter().map(|&v| u32::from(v > lim)).sum::<u32>();
        let crowded = above(&pow[..4], lim_r) >= 2 || above(&pow[4..], lim_c) >= 2;
        if crowded {
            return None;
        }
        // Frequency check: cos θ ≥ cos_max (cos_max > 0) for both tones, without the
        // square root and division.
        let (phr, phc) = (self.bank.phase(r), self.bank.phase(c));
        let (qr, qc) = (phr.0 * phr.0 + phr.1 * phr.1, phc.0 * phc.0 + phc.1 * phc.1);
        let cm = |i: usize| self.cos_max.get(i).copied().unwrap_or(1.0);
        let freq_ok = |(re, _): (f32, f32), q: f32, cm: f32| (re > 0.0) & (re * re >= cm * cm * q);
        if !(freq_ok(phr, qr, cm(r)) & freq_ok(phc, qc, cm(c))) {
            return None;
        }
        let (pr, pc) = self.unmix(r, c - 4, self.bank.window(r), self.bank.window(c));
        // The exact checks on pr·gr and pc·gc, with the offset gains g = n / d multiplied
        // out (no division); cos θ = re / |phase| (re > 0 here).
        let ((nr, dr), (nc, dc)) = (offset_gain(phr.0, qr), offset_gain(phc.0, qc));
        let (pr, pc) = (f64::from(pr) * nr, f64::from(pc) * nc);
        let min_power = f64::from(self.min_power);
        let level_ok = (pr >= min_power * dr) & (pc >= min_power * dc);
        let (pr, pc) = (pr * dc, pc * dr);
        let twist_ok = (pc <= pr * f64::from(self.normal_twist)) & (pr <= pc * f64::from(self.reverse_twist));
        let ratio_ok = (pr + pc) * f64::from(TONE_TO_ENERGY) >= f64::from(self.ratio * window_energy) * (dr * dc);
        let ok = level_ok & twist_ok & ratio_ok
            && !(self.octave_pairs & (1 << (r * 4 + (c - 4))) != 0 && is_octave(r, phr, c, phc));
        ok.then_some((r * 4 + (c - 4)) as u8)
    }

    /// Powers of the row and column tone with their mutual leakage removed (solves the
    /// 2×2 mixing `Wr = ur + K uc`, `Wc = uc + K* ur`). Without this a tone 8 dB louder in
    /// the other group moves the weaker one's reading by ±1 dB, which matters at the twist
    /// and level limits.
    #[inline(always)]
    fn unmix(&self, r: usize, c: usize, wr: (f32, f32), wc: (f32, f32)) -> (f32, f32) {
        let k = self.leak.get(r).and_then(|row| row.get(c)).copied().unwrap_or((0.0, 0.0));
        let scale = self.unmix_scale.get(r).and_then(|row| row.get(c)).copied().unwrap_or(1.0);
        let kc = cmul(k, wc);
        let kr = cmul(conj(k), wr);
        let ur = (wr.0 - kc.0, wr.1 - kc.1);
        let uc = (wc.0 - kr.0, wc.1 - kr.1);
        let p = |u: (f32, f32)| (u.0 * u.0 + u.1 * u.1) * scale;
        (p(ur), p(uc))
    }

    #[inline(always)]
    fn track(&mut self, hit: Option<u8>) {
        if hit.is_none() && self.active.is_none() {
            // Silence, speech or music with no digit in progress.
            self.candidate = None;
            self.candidate_hits = 0;
            return;
        }
        match hit {
            Some(d) if self.candidate == Some(d) => self.candidate_hits += 1,
            _ => {
                self.candidate = hit;
                self.candidate_hits = u32::from(hit.is_some());
            }
        }
        if let Some(a) = self.active.as_mut() {
            if hit == Some(a.digit) {
                a.last_hop = self.hop;
                a.misses = 0;
            } else if a.misses + 1 >= self.off_hops {
                let (digit, hops) = (a.digit, a.last_hop - a.first_hop + 1 + DURATION_SMEAR_HOPS);
                self.active = None;
                let duration_ms = (hops * u64::from(HOP_MS)).min(u64::from(u32::MAX)) as u32;
                self.push(digit, DtmfEventKind::End { duration_ms });
            } else {
                a.misses += 1;
            }
        }
        if self.active.is_none() && self.candidate_hits >= self.on_hops {
            if let Some(d) = self.candidate {
                self.active = Some(Active {
                    digit: d,
                    first_hop: self.hop + 1 - u64::from(self.candidate_hits),
                    last_hop: self.hop,
                    misses: 0,
                });
                self.push(d, DtmfEventKind::Begin);
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, d: u8, kind: DtmfEventKind) {
        let (r, c) = (usize::from(d / 4), usize::from(d % 4));
        let digit = DIGITS.get(r).and_then(|row| row.get(c)).copied().unwrap_or('?');
        let ev = DtmfEvent { digit, kind, at_sample: self.hop * HOP as u64 };
        if self.ev_len == EVENT_RING {
            // Caller stopped polling: drop the oldest rather than allocate.
            self.ev_head = (self.ev_head + 1) % EVENT_RING;
            self.ev_len -= 1;
        }
        let slot = (self.ev_head + self.ev_len) % EVENT_RING;
        if let Some(s) = self.events.get_mut(slot) {
            *s = Some(ev);
        }
        self.ev_len += 1;
    }
}

/// The eight tone bins in struct-of-arrays form (lane i: tone i, rows then columns), so
/// the per-hop complex arithmetic runs eight tones per vector operation, like the DFT
/// itself.
#[derive(Clone, Debug, Default)]
struct Bank {
    /// Sub-block DFT weights, referenced to the sub-block's centre: `cos(ω m)` and
    /// `−sin(ω m)` for m = k + ½, applied to the sums and differences of the samples
    /// m either side of it.
    dft_cos: [[f32; 8]; HOP / 2],
    dft_sin: [[f32; 8]; HOP / 2],
    /// `e^{-jω HOP}`: shifts a sub-block's DFT by one hop.
    tw_re: [f32; 8],
    tw_im: [f32; 8],
    /// DFTs of the two previous sub-blocks, oldest first.
    hist_re: [[f32; 8]; 2],
    hist_im: [[f32; 8]; 2],
    /// The latest window (after `advance`: the current one).
    win_re: [f32; 8],
    win_im: [f32; 8],
    /// Smoothed phase advance per hop, unnormalised and before the nominal `ωHOP` is taken
    /// out (see `phase`).
    ph_re: [f32; 8],
    ph_im: [f32; 8],
    /// Quiet sub-blocks in a row just before, counted up to 3 (see `step_quiet`).
    quiet_run: u8,
}

impl Bank {
    fn clear_history(&mut self) {
        self.hist_re = [[0.0; 8]; 2];
        self.hist_im = [[0.0; 8]; 2];
        self.win_re = [0.0; 8];
        self.win_im = [0.0; 8];
        self.ph_re = [0.0; 8];
        self.ph_im = [0.0; 8];
        self.quiet_run = 0;
    }

    fn window(&self, i: usize) -> (f32, f32) {
        (self.win_re.get(i).copied().unwrap_or(0.0), self.win_im.get(i).copied().unwrap_or(0.0))
    }

    /// Smoothed phase advance per hop of tone `i` beyond the nominal one (complex,
    /// unnormalised).
    fn phase(&self, i: usize) -> (f32, f32) {
        let (pr, pi) = (self.ph_re.get(i).copied().unwrap_or(0.0), self.ph_im.get(i).copied().unwrap_or(0.0));
        let (tr, ti) = (self.tw_re.get(i).copied().unwrap_or(1.0), self.tw_im.get(i).copied().unwrap_or(0.0));
        (pr * tr - pi * ti, pr * ti + pi * tr)
    }

    /// One hop of a sub-block taken as silence (see [`DtmfDetector::end_of_hop`]).
    #[inline(always)]
    fn step_quiet<const FMA: bool>(&mut self) {
        // After two quiet sub-blocks in a row the history is zero, and after three the
        // window and phase are too: nothing is left to do.
        let run = self.quiet_run;
        self.quiet_run = run.saturating_add(1).min(3);
        if run == 3 {
            return;
        }
        let mut quiet_before = run == 2;
        if !quiet_before {
            quiet_before = true;
            for i in 0..8 {
                quiet_before &= (self.hist_re[0][i] == 0.0) & (self.hist_re[1][i] == 0.0);
                quiet_before &= (self.hist_im[0][i] == 0.0) & (self.hist_im[1][i] == 0.0);
            }
        }
        if quiet_before {
            // Window and phase advance are zero; clearing the decaying phase estimate (it
            // has no weight once a tone starts) also keeps it out of subnormal range.
            self.win_re = [0.0; 8];
            self.win_im = [0.0; 8];
            self.ph_re = [0.0; 8];
            self.ph_im = [0.0; 8];
        } else {
            self.advance::<FMA>(&[[0.0; 8]; 2]);
        }
    }

    /// Shifts the sub-block DFT `x` (real and imaginary parts) into the history and
    /// updates window and phase; returns the window's power per tone.
    #[inline(always)]
    fn advance<const FMA: bool>(&mut self, x: &[[f32; 8]; 2]) -> [f32; 8] {
        let [xr, xi] = x;
        let mut pow = [0.0f32; 8];
        for i in 0..8 {
            let (tr, ti) = (self.tw_re[i], self.tw_im[i]);
            let (h0r, h0i) = (self.hist_re[0][i], self.hist_im[0][i]);
            let (h1r, h1i) = (self.hist_re[1][i], self.hist_im[1][i]);
            // Window = 1·X[k-2] + 2·X[k-1] + 1·X[k], each shifted to the window start:
            // X[k-2] + e^{-jωHOP}·(2·X[k-1] + e^{-jωHOP}·X[k]).
            let ur = mul_add::<FMA>(tr, xr[i], mul_add::<FMA>(-ti, xi[i], h1r + h1r));
            let ui = mul_add::<FMA>(tr, xi[i], mul_add::<FMA>(ti, xr[i], h1i + h1i));
            let wr = mul_add::<FMA>(tr, ur, mul_add::<FMA>(-ti, ui, h0r));
            let wi = mul_add::<FMA>(tr, ui, mul_add::<FMA>(ti, ur, h0i));
            // Phase advance since the previous window, w · conj(w_prev), smoothed; the
            // nominal advance e^{-jωHOP} is taken out when it is read (see `phase`).
            let (pr, pi) = (self.win_re[i], self.win_im[i]);
            let ar = mul_add::<FMA>(wr, pr, wi * pi);
            let ai = mul_add::<FMA>(wi, pr, -(wr * pi));
            self.ph_re[i] = mul_add::<FMA>(PHASE_SMOOTHING, self.ph_re[i], ar);
            self.ph_im[i] = mul_add::<FMA>(PHASE_SMOOTHING, self.ph_im[i], ai);
            self.hist_re[0][i] = h1r;
            self.hist_im[0][i] = h1i;
            self.hist_re[1][i] = xr[i];
            self.hist_im[1][i] = xi[i];
            self.win_re[i] = wr;
            self.win_im[i] = wi;
            pow[i] = mul_add::<FMA>(wr, wr, wi * wi);
        }
        pow
    }
}

/// Per sub-block of `samples`: the sums and differences of its samples mirrored about its
/// centre — `s[k] = x[HOP/2 + k] + x[HOP/2 − 1 − k]` in `folded[..HOP/2]` and the
/// differences in `folded[HOP/2..]`, exact as integers — which halve the DFT's work (see
/// `dftk`), and its energy.
///
/// A function of its own, so the DFT later reads the folded samples from memory: each is
/// broadcast to the eight tones straight from there.
#[multiversion(targets("x86_64+avx2+fma"))]
fn convert(samples: &[i16], folded: &mut [[f32; HOP]; BATCH], energy: &mut [f32; BATCH]) {
    for ((out, e), src) in folded.iter_mut().zip(energy.iter_mut()).zip(samples.chunks_exact(HOP)) {
        let Some(src) = src.first_chunk::<HOP>() else { continue };
        *e = fold(src, out);
    }
}

/// Folds one sub-block (see `convert`) and returns its energy, taken from the folded
/// values (`s² + d² = 2(p² + q²)`) while they are still in registers: converting and
/// squaring the samples in a pass of their own cost more than the DFT's saving on the
/// fold. Lanes of eight for the first 16 pairs, four for the last.
#[inline(always)]
fn fold(src: &[i16; HOP], out: &mut [f32; HOP]) -> f32 {
    const H: usize = HOP / 2;
    let mut e8 = [0.0f32; 8];
    for j in 0..2 {
        let mut s8 = [0.0f32; 8];
        let mut d8 = [0.0f32; 8];
        for l in 0..8 {
            let (p, q) = (i32::from(src[H + 8 * j + l]), i32::from(src[H - 1 - 8 * j - l]));
            s8[l] = (p + q) as f32;
            d8[l] = (p - q) as f32;
        }
        out[8 * j..8 * j + 8].copy_from_slice(&s8);
        out[H + 8 * j..H + 8 * j + 8].copy_from_slice(&d8);
        for l in 0..8 {
            e8[l] += s8[l] * s8[l] + d8[l] * d8[l];
        }
    }
    let mut s4 = [0.0f32; 4];
    let mut d4 = [0.0f32; 4];
    for l in 0..4 {
        let (p, q) = (i32::from(src[H + 16 + l]), i32::from(src[H - 17 - l]));
        s4[l] = (p + q) as f32;
        d4[l] = (p - q) as f32;
    }
    out[16..20].copy_from_slice(&s4);
    out[H + 16..H + 20].copy_from_slice(&d4);
    for l in 0..4 {
        e8[l] += s4[l] * s4[l] + d4[l] * d4[l];
    }
    let [a, b, c, d, e4, f, g, k] = e8;
    (((a + e4) + (b + f)) + ((c + g) + (d + k))) * 0.5
}

/// The batch's first `n` sub-blocks (converted by `convert`): the DFTs of the loud ones,
/// then hop by hop the window update, classification and tracking.
///
/// Compiled for AVX2 with FMA as well as the baseline target, chosen at run time by
/// `multiversion` (its dispatch is the only `unsafe` involved, inside that crate); both
/// give the same numbers to float rounding (see the tests).
#[multiversion(targets("x86_64+avx2+fma"))]
fn analyse(det: &mut DtmfDetector, n: usize) {
    if target_cfg_f!(target_feature = "fma") {
        analyse_with::<true>(det, n);
    } else {
        analyse_with::<false>(det, n);
    }
}

#[inline(always)]
fn analyse_with<const FMA: bool>(det: &mut DtmfDetector, n: usize) {
    let n = n.min(BATCH);
    if n == 0 {
        return;
    }
    let mut mask = 0u32;
    for (h, &e) in det.energy.iter().enumerate().take(n) {
        mask |= u32::from(e >= det.quiet_energy) << h;
    }
    if mask == 0 && det.bank.quiet_run == 3 && det.active.is_none() {
        // Silence with nothing in progress: the bank is at rest and every window is
        // rejected unexamined, so the hops only need counting (what `end_of_hop` would
        // do, in one step).
        det.hop += n as u64;
        let e = &det.energy;
        det.prev_energy = match n {
            1 => [det.prev_energy[1], e[0]],
            _ => [e[n - 2], e[n - 1]],
        };
        det.quiet_windows = 2;
        det.candidate = None;
        det.candidate_hits = 0;
        return;
    }
    // The loud sub-blocks' DFTs, side by side.
    let full = (1u32 << n) - 1;
    let x = if mask == full && n == BATCH {
        let [a, b, c, d] = &det.folded;
        dftk::<FMA, 4>(&det.bank, [a, b, c, d])
    } else {
        let mut idx = [0usize; BATCH];
        let mut k = 0;
        for h in 0..n {
            if mask & (1 << h) != 0 {
                idx[k] = h;
                k += 1;
            }
        }
        let mut x = [[[0.0f32; 8]; 2]; BATCH];
        let blk = |i: usize| det.folded.get(idx[i]).unwrap_or(&det.folded[0]);
        match k {
            1 => scatter(&mut x, &idx, dftk::<FMA, 1>(&det.bank, [blk(0)])),
            2 => scatter(&mut x, &idx, dftk::<FMA, 2>(&det.bank, [blk(0), blk(1)])),
            3 => scatter(&mut x, &idx, dftk::<FMA, 3>(&det.bank, [blk(0), blk(1), blk(2)])),
            4 => scatter(&mut x, &idx, dftk::<FMA, 4>(&det.bank, [blk(0), blk(1), blk(2), blk(3)])),
            _ => {}
        }
        x
    };
    for (h, xh) in x.iter().enumerate().take(n) {
        det.end_of_hop::<FMA>(h, mask & (1 << h) != 0, xh);
    }
}

/// Stores the DFTs of the loud sub-blocks (`idx`) in their slots of `x`.
#[inline(always)]
fn scatter<const K: usize>(x: &mut [[[f32; 8]; 2]; BATCH], idx: &[usize; BATCH], dfts: [[[f32; 8]; 2]; K]) {
    for (&i, d) in idx.iter().zip(dfts) {
        if let Some(slot) = x.get_mut(i) {
            *slot = d;
        }
    }
}

/// DFTs of K sub-blocks at the eight tones, each referenced to its centre, from their
/// folded samples (see `convert`): per tone Σ s·cos(ωm) and −Σ d·sin(ωm), one
/// multiply-add per folded sample, tone and part (half a direct DFT's, no more than a
/// Goertzel filter's, and no chain of dependent steps through the samples). The
/// sub-blocks go side by side, so each weight is loaded once for all of them; with fewer
/// than three, even and odd m go to separate sums, so there are always at least four
/// independent chains of multiply-adds.
#[inline(always)]
fn dftk<const FMA: bool, const K: usize>(bank: &Bank, sd: [&[f32; HOP]; K]) -> [[[f32; 8]; 2]; K] {
    if K >= 3 {
        let mut acc = [[[0.0f32; 8]; 2]; K];
        let weights = bank.dft_cos.chunks_exact(4).zip(bank.dft_sin.chunks_exact(4));
        for (m4, (c4, n4)) in weights.enumerate() {
            for (q, (c, n)) in c4.iter().zip(n4).enumerate() {
                let m = 4 * m4 + q;
                for (a, b) in acc.iter_mut().zip(sd) {
                    let (s, d) = (b[m], b[HOP / 2 + m]);
                    for l in 0..8 {
                        a[0][l] = mul_add::<FMA>(c[l], s, a[0][l]);
                        a[1][l] = mul_add::<FMA>(n[l], d, a[1][l]);
                    }
                }
            }
        }
        acc
    } else {
        let mut acc = [[[[0.0f32; 8]; 2]; 2]; K];
        let weights = bank.dft_cos.chunks_exact(2).zip(bank.dft_sin.chunks_exact(2));
        for (m2, (c2, n2)) in weights.enumerate() {
            for (a, b) in acc.iter_mut().zip(sd) {
                for (q, (c, n)) in c2.iter().zip(n2).enumerate() {
                    let m = 2 * m2 + q;
                    let (s, d) = (b[m], b[HOP / 2 + m]);
                    for l in 0..8 {
                        a[q][0][l] = mul_add::<FMA>(c[l], s, a[q][0][l]);
                        a[q][1][l] = mul_add::<FMA>(n[l], d, a[q][1][l]);
                    }
                }
            }
        }
        acc.map(|[p, q]| [std::array::from_fn(|l| p[0][l] + q[0][l]), std::array::from_fn(|l| p[1][l] + q[1][l])])
    }
}

/// `c·a + t`, fused where the target has FMA (the two differ only in rounding).
#[inline(always)]
fn mul_add<const FMA: bool>(c: f32, a: f32, t: f32) -> f32 {
    if FMA {
        c.mul_add(a, t)
    } else {
        c * a + t
    }
}

/// Whether the measured column frequency is (within [`OCTAVE_GUARD_HZ`]) twice the
/// measured row frequency, from the phase advances of row `r` and column `c`. Only
/// evaluated for windows passing every other check.
fn is_octave(r: usize, phr: (f32, f32), c: usize, phc: (f32, f32)) -> bool {
    let fr = ROW_FREQS.get(r).copied().unwrap_or(0.0) + small_atan2(phr.1, phr.0) * HZ_PER_RAD;
    let fc = COL_FREQS.get(c.wrapping_sub(4)).copied().unwrap_or(0.0) + small_atan2(phc.1, phc.0) * HZ_PER_RAD;
    (fc - 2.0 * fr).abs() < OCTAVE_GUARD_HZ
}

/// `atan2(y, x)` for the small angles the frequency check lets through (|θ| < 0.7):
/// `atan z ≈ z / (1 + 0.28 z²)`, within 0.005 rad (0.16 Hz here) for |z| ≤ 1; no libm.
#[inline]
fn small_atan2(y: f32, x: f32) -> f32 {
    if x <= 0.0 {
        return std::f32::consts::PI; // not a small angle: far from any octave match
    }
    let z = (y / x).clamp(-1.0, 1.0);
    z / (1.0 + 0.28 * z * z)
}

/// The largest value [`small_atan2`] returns for x > 0 (at |z| = 1).
const ATAN_MAX: f32 = 1.0 / 1.28;

/// Power correction for a tone `Δf` off its bin, from `cos θ = re / √q` (θ = 2πΔf·HOP/fs,
/// the phase advance `re + j·im` with `q = re² + im²`, re > 0): the 1-2-1 window reads
/// `cos²(θ/2) · sinc(θ/2)` of the amplitude (the sub-block Dirichlet kernel is a sinc to
/// within 0.1% here), and `1/sinc²(x) ≈ 1 + sin²x/3` for the |x| ≤ 0.7 that pass the
/// frequency check. Without it a tone 1.5% off at 1633 Hz reads 1.5 dB low and would fail
/// the level and twist limits early.
///
/// Returned as (numerator, denominator), both positive, multiplied out so that callers
/// take a square root but no division (a division's latency sits on the path to every
/// tone window's verdict): with m = √q, n/d = 2m(7m − re) / (3(m + re)²). In f64, because
/// m grows with the square of the signal and the products would overflow f32.
#[inline]
fn offset_gain(re: f32, q: f32) -> (f64, f64) {
    let (m, re) = (f64::from(q.sqrt()), f64::from(re));
    let s = m + re;
    (2.0 * m * (7.0 * m - re), 3.0 * s * s)
}

#[inline]
fn cmul(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

#[inline]
fn conj(a: (f32, f32)) -> (f32, f32) {
    (a.0, -a.1)
}

/// Index of the largest of four powers (the first on ties), and that power.
#[inline]
fn argmax4(a: f32, b: f32, c: f32, d: f32) -> (usize, f32) {
    let pick = |(i, x): (usize, f32), (j, y): (usize, f32)| if y > x { (j, y) } else { (i, x) };
    pick(pick((0, a), (1, b)), pick((2, c), (3, d)))
}

#[cfg(test)]
mod tests;
