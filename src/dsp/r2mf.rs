//! MFC/R2 interregister signals (ITU-T Q.440–Q.442, Q.454/Q.455): two-out-of-six tones,
//! compelled, in both directions.
//!
//! Forward (outgoing register → incoming) uses 1380–1980 Hz, backward 1140–540 Hz, both
//! in 120 Hz steps. Frequency `f0..f5` of a direction carries the Q.441 weight
//! `0, 1, 2, 4, 7, 11`; signals 1–9 are the pairs whose weights add up to the number,
//! 10 is 4+7 (f3+f4), and 11–15 pair f5 with f0, f1, f2, f3, f4 (Table 5/Q.441, the
//! order spandsp and OpenR2 use). As characters, spandsp and OpenR2 write
//! signals 1–9 as `'1'..'9'`, 10 as `'0'` and 11–15 as `'B'..'F'` ([`signal_char`]).
//!
//! # Detector design
//!
//! Same method as the DTMF detector ([`crate::dsp::dtmf`]), tuned to 120 Hz spacing:
//!
//! * Twelve Goertzel lanes (the six tones of the direction received and, as a guard, the
//!   six of the other direction) run over sub-blocks of `HOP` = 33 samples (4.1 ms); three
//!   consecutive sub-blocks weighted 1-2-1 form a 99-sample (12.4 ms) window evaluated
//!   every hop. Its main lobe is ±121 Hz, so a tone 10 Hz off still reads ≥ 30 dB down in
//!   the neighbouring bin (120 Hz away); the small remaining mutual leakage of the chosen
//!   pair is removed exactly (2×2 unmixing).
//! * Frequency is measured, not inferred from level: the window's phase advance per hop
//!   gives each tone's offset from nominal, unambiguous to ±121 Hz. Q.441 asks for ±10 Hz
//!   to be accepted; the default limit is ±20 Hz, so tones 30 Hz off are rejected at
//!   any level.
//! * Two-out-of-six: the two strongest bins must pass the level window and the twist
//!   limits (Q.441: 5 dB adjacent, 7 dB otherwise; defaults allow 1 dB more), every other
//!   bin of the group must be [`RELATIVE_PEAK_DB`] below the weaker of the two (so three
//!   tones are rejected; a single tone has no partner above the level floor), and the pair
//!   must carry most of the window energy ([`R2MfRxConfig::min_tone_energy_ratio`]).
//! * Guard against the other direction: compelled signalling keeps both directions' tones
//!   on at once, so a receiver hears the reflection of its own register's tones. Their
//!   power (guard lanes) is subtracted from the window energy before the ratio test, so a
//!   reflection does not block a real signal; and each chosen tone must stand
//!   [`GUARD_MARGIN_DB`] above the worst leakage the guard tones could cause in its bin
//!   (computed per pair of frequencies over ±15 Hz offsets; at most −20.7 dB, for
//!   1140 ↔ 1380 Hz), so a loud reflection can never be mistaken for a weak signal of
//!   ours. A signal is received under a reflection up to ≈ 17 dB stronger.
//!
//! # Timing (Q.442)
//!
//! Q.442 wants a receiver to recognise a signal within a few tens of ms (≤ 32 ms operate
//! time is the usual figure) and to release promptly, while ignoring very short bursts.
//! A window counts as a hit only when the tone fills it, so a tone of T ms gives about
//! `(T − 12.4) / 4.1 + 1` consecutive hits. With the defaults (`min_on_ms` = 24,
//! `min_off_ms` = 12):
//!
//! * a signal is reported 20–32 ms after it starts (4 consecutive hits; checked for all
//!   30 signals in the tests), and tones shorter than about 16 ms are never reported
//!   (12 ms bursts are ignored in the tests);
//! * its end is reported within 16 ms after it stops (3 consecutive misses), so the
//!   compelled cycle is not slowed down; only drop-outs of a few samples are bridged.

use serde::{Deserialize, Serialize};

use crate::dsp::tone::Oscillator;
use crate::dsp::{dbm0_to_peak, dbm0_to_power, SAMPLE_RATE};

/// Forward frequencies `f0..f5`, Hz.
pub const FORWARD_FREQS: [f32; 6] = [1380.0, 1500.0, 1620.0, 1740.0, 1860.0, 1980.0];
/// Backward frequencies `f0..f5`, Hz.
pub const BACKWARD_FREQS: [f32; 6] = [1140.0, 1020.0, 900.0, 780.0, 660.0, 540.0];

/// Frequency indices of signals 1..=15 (Table 5/Q.441).
const PAIRS: [(usize, usize); 15] = [
    (0, 1),
    (0, 2),
    (1, 2),
    (0, 3),
    (1, 3),
    (2, 3),
    (0, 4),
    (1, 4),
    (2, 4),
    (3, 4),
    (0, 5),
    (1, 5),
    (2, 5),
    (3, 5),
    (4, 5),
];
/// Signal characters for signals 1..=15 (spandsp / OpenR2 convention).
const SIGNAL_CHARS: [char; 15] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'B', 'C', 'D', 'E', 'F'];

/// Direction of an R2 interregister signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum R2Direction {
    /// Outgoing → incoming register (groups I and II), 1380–1980 Hz.
    Forward,
    /// Incoming → outgoing register (groups A and B), 540–1140 Hz.
    Backward,
}

impl R2Direction {
    /// The six frequencies `f0..f5` of this direction, Hz.
    pub fn freqs(self) -> [f32; 6] {
        match self {
            R2Direction::Forward => FORWARD_FREQS,
            R2Direction::Backward => BACKWARD_FREQS,
        }
    }

    /// The other direction.
    pub fn opposite(self) -> R2Direction {
        match self {
            R2Direction::Forward => R2Direction::Backward,
            R2Direction::Backward => R2Direction::Forward,
        }
    }
}

/// Character of signal 1..=15 (`'1'..'9'`, `'0'` for 10, `'B'..'F'` for 11..15).
pub fn signal_char(signal: u8) -> Option<char> {
    SIGNAL_CHARS.get(usize::from(signal).checked_sub(1)?).copied()
}

/// Signal number 1..=15 of a signal character (case-insensitive), `None` otherwise.
pub fn signal_from_char(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    SIGNAL_CHARS.iter().position(|&s| s == c).map(|i| i as u8 + 1)
}

/// The frequency indices `(i, j)`, `i < j`, of signal 1..=15.
pub fn signal_tones(signal: u8) -> Option<(usize, usize)> {
    PAIRS.get(usize::from(signal).checked_sub(1)?).copied()
}

/// The two frequencies (Hz) of `signal` in `dir`.
pub fn signal_freqs(dir: R2Direction, signal: u8) -> Option<(f32, f32)> {
    let f = dir.freqs();
    signal_tones(signal).and_then(|(i, j)| Some((*f.get(i)?, *f.get(j)?)))
}

/// Signal number of the tone pair `i < j` (always a valid pair of 0..6 here).
fn pair_signal(i: usize, j: usize) -> u8 {
    PAIRS.iter().position(|&p| p == (i, j)).map_or(0, |k| k as u8 + 1)
}

// ---------------------------------------------------------------- generator

/// Compelled R2 MF sender: the selected signal plays until it is changed or cleared.
#[derive(Clone, Debug)]
pub struct R2MfGenerator {
    dir: R2Direction,
    peak: f32,
    signal: Option<u8>,
    a: Oscillator,
    b: Oscillator,
}

impl R2MfGenerator {
    /// `level_dbm0` is the level of each of the two frequencies (Q.454: −11.5 ± 1 dBm0
    /// per frequency on the international network).
    pub fn new(dir: R2Direction, level_dbm0: f32) -> Self {
        let peak = dbm0_to_peak(level_dbm0);
        R2MfGenerator { dir, peak, signal: None, a: Oscillator::new(0.0, 0.0), b: Oscillator::new(0.0, 0.0) }
    }

    /// Starts sending `signal` (1..=15), or stops with `None`. Numbers outside 1..=15 stop
    /// too. Setting the signal already playing changes nothing (no phase jump); a new
    /// signal starts both tones at phase zero, so the onset has no click.
    pub fn set_signal(&mut self, signal: Option<u8>) {
        let freqs = signal.and_then(|s| signal_freqs(self.dir, s));
        let signal = freqs.and(signal);
        if signal == self.signal {
            return;
        }
        self.signal = signal;
        if let Some((fa, fb)) = freqs {
            self.a = Oscillator::new(fa, self.peak);
            self.b = Oscillator::new(fb, self.peak);
        }
    }

    /// The signal being sent.
    pub fn signal(&self) -> Option<u8> {
        self.signal
    }

    /// Writes the next samples: the current signal, or zeros when none.
    pub fn fill(&mut self, out: &mut [i16]) {
        if self.signal.is_none() {
            out.fill(0);
            return;
        }
        for chunk in out.chunks_mut(Oscillator::RENORM_EVERY) {
            for o in chunk.iter_mut() {
                let v = self.a.next() + self.b.next();
                *o = v.round().clamp(-32768.0, 32767.0) as i16;
            }
            self.a.renormalize();
            self.b.renormalize();
        }
    }
}

// ---------------------------------------------------------------- detector

/// Receiver limits. Defaults follow Q.441/Q.442 with margins; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct R2MfRxConfig {
    /// Lowest level of each tone, dBm0. Q.441: signals at −35 dBm0 must be received; the
    /// default sits midway to the −42 dBm0 that must not operate a receiver.
    pub min_level_dbm0: f32,
    /// Highest level of each tone, dBm0 (Q.441 range tops out at −5 dBm0).
    pub max_level_dbm0: f32,
    /// Largest level difference between two adjacent frequencies, dB (Q.441: 5).
    pub max_twist_adjacent_db: f32,
    /// Largest level difference between two non-adjacent frequencies, dB (Q.441: 7).
    pub max_twist_db: f32,
    /// Largest frequency offset accepted, Hz (Q.441: ±10 must be accepted).
    pub max_freq_deviation_hz: f32,
    /// Fraction of the window energy (less the other direction's tones) the pair must
    /// hold.
    pub min_tone_energy_ratio: f32,
    /// A signal must be present this long before it is reported, ms.
    pub min_on_ms: u32,
    /// Absence needed to report the end of a signal, ms.
    pub min_off_ms: u32,
}

impl Default for R2MfRxConfig {
    fn default() -> Self {
        R2MfRxConfig {
            min_level_dbm0: -38.5,
            max_level_dbm0: 0.0,
            max_twist_adjacent_db: 6.0,
            max_twist_db: 8.0,
            max_freq_deviation_hz: 20.0,
            min_tone_energy_ratio: 0.8,
            min_on_ms: 24,
            min_off_ms: 12,
        }
    }
}

/// A change of the received signal. `at_sample` counts samples fed since construction or
/// [`R2MfDetector::reset`] up to the end of the hop in which the change was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct R2MfEvent {
    /// `Some(n)`: signal `n` began; `None`: the signal ended.
    pub signal: Option<u8>,
    pub at_sample: u64,
}

/// Sub-block: the detector decides every HOP samples (4.125 ms).
const HOP: usize = 33;
/// Window: three sub-blocks weighted 1-2-1.
const WINDOW: usize = 3 * HOP;
const LANES: usize = 12;
/// `|W|²` of a sine of mean power p (see the DTMF detector for the derivation).
const TONE_GAIN: f32 = 8.0 * (HOP * HOP) as f32;
/// Maps `|W|²` onto the window energy, so a pure tone has ratio 1. The energy weights the
/// sub-blocks 1-2-1 (sine of power p: `4 HOP p`), not 1-4-1 as the DTMF detector does:
/// two tones 120 Hz apart beat with a period of two hops, and 1-4-1 lets that beat swing
/// the energy of an adjacent pair by ±21%, while 1-2-1 cancels it (1 − 2 + 1 = 0).
const TONE_TO_ENERGY: f32 = 4.0 / (8.0 * HOP as f32);
/// Other bins of the group must be this far below the weaker tone of the pair, dB. The
/// window leaks ≤ −30 dB into a neighbour 110–130 Hz away, so even a 8 dB twist leaves
/// a wide margin; a third tone at anything like signal level fails.
pub const RELATIVE_PEAK_DB: f32 = 10.0;
/// Each tone of the pair must be this far above the guard tones' worst leakage, dB.
pub const GUARD_MARGIN_DB: f32 = 3.0;
/// Offsets (Hz, either side) over which the guard leakage bound is taken.
const GUARD_SPAN_HZ: i32 = 15;
/// `2 · 10^(−20/20)`: bound on the beat between our pair and the guard tones, relative
/// to `√(P_pair · P_guard)`, in the window energy.
const CROSS_BOUND: f32 = 0.2;
const EVENT_RING: usize = 8;
const PHASE_SMOOTHING: f32 = 0.5;

/// Streaming R2 MF receiver for one direction; see the module docs.
#[derive(Clone, Debug)]
pub struct R2MfDetector {
    dir: R2Direction,
    cfg: R2MfRxConfig,
    /// Lanes 0..6: this direction's f0..f5; 6..12: the other direction's (guard).
    coef: [f32; LANES],
    /// `e^{-jω(HOP−1)}` and `e^{-jω HOP}`: Goertzel state → sub-block DFT.
    qa: [(f32, f32); LANES],
    qb: [(f32, f32); LANES],
    /// `e^{-jω HOP}` and `e^{-jω 2HOP}`: shift a sub-block DFT by one or two hops.
    tw_b: [(f32, f32); LANES],
    tw_b2: [(f32, f32); LANES],
    /// `leak[i][j]`: how much of tone j bin i reads, relative to bin j (complex).
    leak: [[(f32, f32); 6]; 6],
    cos_max: [f32; 6],
    min_power: f32,
    max_power: f32,
    twist_adjacent: f32,
    twist: f32,
    relative_peak: f32,
    /// `guard_leak[i][g]`: worst power leakage of guard tone g into bin i, times the
    /// guard margin.
    guard_leak: [[f32; 6]; 6],
    ratio: f32,
    on_hops: u32,
    off_hops: u32,

    block: [i16; HOP],
    fill: usize,
    prev_x: [[(f32, f32); 2]; LANES],
    prev_w: [(f32, f32); 6],
    prev_energy: [f32; 2],
    phase: [(f32, f32); 6],

    samples: u64,
    candidate: Option<u8>,
    candidate_hits: u32,
    current: Option<u8>,
    misses: u32,

    events: [Option<R2MfEvent>; EVENT_RING],
    ev_head: usize,
    ev_len: usize,
}

impl R2MfDetector {
    pub fn new(dir: R2Direction, cfg: R2MfRxConfig) -> Self {
        let mut freqs = [0.0f32; LANES];
        freqs[..6].copy_from_slice(&dir.freqs());
        freqs[6..].copy_from_slice(&dir.opposite().freqs());
        let fs = f64::from(SAMPLE_RATE);
        let tau = 2.0 * std::f64::consts::PI;
        let cis = |a: f64| (a.cos() as f32, -(a.sin() as f32));
        let mut coef = [0.0; LANES];
        let mut qa = [(0.0, 0.0); LANES];
        let mut qb = [(0.0, 0.0); LANES];
        let mut tw_b = [(0.0, 0.0); LANES];
        let mut tw_b2 = [(0.0, 0.0); LANES];
        for (i, &f) in freqs.iter().enumerate() {
            let w = tau * f64::from(f) / fs;
            coef[i] = (2.0 * w.cos()) as f32;
            qa[i] = cis(w * (HOP as f64 - 1.0));
            qb[i] = cis(w * HOP as f64);
            tw_b[i] = cis(w * HOP as f64);
            tw_b2[i] = cis(2.0 * w * HOP as f64);
        }
        // Phase advance per hop of a tone max_dev off; below π/2 up to ±60 Hz.
        let dev = f64::from(cfg.max_freq_deviation_hz.clamp(0.0, 60.0));
        let cos_max = [(tau * dev * HOP as f64 / fs).cos() as f32; 6];
        let own = dir.freqs();
        let mut leak = [[(0.0, 0.0); 6]; 6];
        for (i, row) in leak.iter_mut().enumerate() {
            for (j, k) in row.iter_mut().enumerate() {
                let d = tau * f64::from(own[j] - own[i]) / fs;
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for n in 0..WINDOW {
                    let wn = if (HOP..2 * HOP).contains(&n) { 2.0 } else { 1.0 };
                    re += wn * (d * n as f64).cos();
                    im += wn * (d * n as f64).sin();
                }
                let g0 = 4.0 * HOP as f64;
                *k = if i == j { (0.0, 0.0) } else { ((re / g0) as f32, (im / g0) as f32) };
            }
        }
        let db = |d: f32| 10f32.powf(d.max(0.0) / 10.0);
        let other = dir.opposite().freqs();
        let mut guard_leak = [[0.0f32; 6]; 6];
        for (i, row) in guard_leak.iter_mut().enumerate() {
            for (g, v) in row.iter_mut().enumerate() {
                let worst = (-GUARD_SPAN_HZ..=GUARD_SPAN_HZ)
                    .map(|off| window_response(f64::from(other[g] - own[i]) + f64::from(off)))
                    .fold(0.0f64, f64::max);
                *v = (worst * worst) as f32 * db(GUARD_MARGIN_DB);
            }
        }
        let hop_ms = |ms: u32| (u64::from(ms) * u64::from(SAMPLE_RATE) / 1000).div_ceil(HOP as u64) as u32;
        let on_samples = u64::from(cfg.min_on_ms) * u64::from(SAMPLE_RATE) / 1000;
        let on_hops = on_samples.saturating_sub(WINDOW as u64).div_ceil(HOP as u64) as u32 + 1;
        R2MfDetector {
            dir,
            cfg,
            coef,
            qa,
            qb,
            tw_b,
            tw_b2,
            leak,
            cos_max,
            min_power: dbm0_to_power(cfg.min_level_dbm0) * TONE_GAIN,
            max_power: dbm0_to_power(cfg.max_level_dbm0) * TONE_GAIN,
            twist_adjacent: db(cfg.max_twist_adjacent_db),
            twist: db(cfg.max_twist_db),
            relative_peak: db(RELATIVE_PEAK_DB),
            guard_leak,
            ratio: cfg.min_tone_energy_ratio,
            on_hops,
            off_hops: hop_ms(cfg.min_off_ms).max(1),
            block: [0; HOP],
            fill: 0,
            prev_x: [[(0.0, 0.0); 2]; LANES],
            prev_w: [(0.0, 0.0); 6],
            prev_energy: [0.0; 2],
            phase: [(0.0, 0.0); 6],
            samples: 0,
            candidate: None,
            candidate_hits: 0,
            current: None,
            misses: 0,
            events: [None; EVENT_RING],
            ev_head: 0,
            ev_len: 0,
        }
    }

    /// The direction this receiver listens to.
    pub fn direction(&self) -> R2Direction {
        self.dir
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &R2MfRxConfig {
        &self.cfg
    }

    /// Forgets all signal history and pending events.
    pub fn reset(&mut self) {
        self.block = [0; HOP];
        self.fill = 0;
        self.prev_x = [[(0.0, 0.0); 2]; LANES];
        self.prev_w = [(0.0, 0.0); 6];
        self.prev_energy = [0.0; 2];
        self.phase = [(0.0, 0.0); 6];
        self.samples = 0;
        self.candidate = None;
        self.candidate_hits = 0;
        self.current = None;
        self.misses = 0;
        self.events = [None; EVENT_RING];
        self.ev_head = 0;
        self.ev_len = 0;
    }

    /// The signal currently received (between its begin and end events).
    pub fn current(&self) -> Option<u8> {
        self.current
    }

    /// Feeds samples of any length.
    pub fn process(&mut self, samples: &[i16]) {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (HOP - self.fill).min(rest.len());
            let (now, later) = rest.split_at(take);
            if let Some(dst) = self.block.get_mut(self.fill..self.fill + take) {
                dst.copy_from_slice(now);
            }
            self.fill += take;
            self.samples += take as u64;
            rest = later;
            if self.fill >= HOP {
                self.end_of_hop();
            }
        }
    }

    /// Next pending event, oldest first. Up to 8 are kept; older ones are dropped if the
    /// caller stops polling.
    pub fn poll(&mut self) -> Option<R2MfEvent> {
        if self.ev_len == 0 {
            return None;
        }
        let ev = self.events.get_mut(self.ev_head).and_then(Option::take);
        self.ev_head = (self.ev_head + 1) % EVENT_RING;
        self.ev_len -= 1;
        ev
    }

    /// Goertzel over the sub-block, all lanes side by side (vectorised, branch-free).
    #[inline]
    fn analyse_block(&self) -> ([(f32, f32); LANES], f32) {
        let c = self.coef;
        let mut s1 = [0.0f32; LANES];
        let mut s2 = [0.0f32; LANES];
        for &v in &self.block {
            let x = f32::from(v);
            for l in 0..LANES {
                let s0 = c[l] * s1[l] + (x - s2[l]);
                s2[l] = s1[l];
                s1[l] = s0;
            }
        }
        let mut out = [(0.0f32, 0.0f32); LANES];
        for (l, o) in out.iter_mut().enumerate() {
            let (a, b) = (self.qa[l], self.qb[l]);
            *o = (a.0 * s1[l] - b.0 * s2[l], a.1 * s1[l] - b.1 * s2[l]);
        }
        let energy: i64 = self.block.iter().map(|&v| i64::from(i32::from(v) * i32::from(v))).sum();
        (out, energy as f32)
    }

    fn end_of_hop(&mut self) {
        let (xs, energy) = self.analyse_block();
        let mut win = [(0.0f32, 0.0f32); LANES];
        for (i, win_i) in win.iter_mut().enumerate() {
            let x1 = cmul(self.tw_b[i], self.prev_x[i][1]);
            let x2 = cmul(self.tw_b2[i], xs[i]);
            let p0 = self.prev_x[i][0];
            *win_i = (p0.0 + 2.0 * x1.0 + x2.0, p0.1 + 2.0 * x1.1 + x2.1);
            self.prev_x[i] = [self.prev_x[i][1], xs[i]];
        }
        let own = self.phase.iter_mut().zip(&mut self.prev_w).zip(win.iter().zip(&self.tw_b));
        for ((p, prev), (&w, &tw)) in own {
            let adv = cmul(cmul(w, conj(*prev)), tw);
            *p = (PHASE_SMOOTHING * p.0 + adv.0, PHASE_SMOOTHING * p.1 + adv.1);
            *prev = w;
        }
        let [e0, e1] = self.prev_energy;
        let window_energy = e0 + 2.0 * e1 + energy;
        self.prev_energy = [e1, energy];
        self.fill = 0;
        let hit = self.classify(&win, window_energy);
        self.track(hit);
    }

    /// The signal this window shows, if every check passes.
    fn classify(&self, win: &[(f32, f32); LANES], window_energy: f32) -> Option<u8> {
        let pow = win.map(|w| w.0 * w.0 + w.1 * w.1);
        let (mut a, mut b) = (0usize, 1usize);
        if pow[1] > pow[0] {
            (a, b) = (1, 0);
        }
        for i in 2..6 {
            if pow[i] > pow[a] {
                b = a;
                a = i;
            } else if pow[i] > pow[b] {
                b = i;
            }
        }
        let (lo, hi) = (a.min(b), a.max(b));
        let (pl, ph) = self.unmix(lo, hi, win[lo], win[hi]);
        let (cl, ch) = (self.advance_cos(lo), self.advance_cos(hi));
        let freq_ok = cl >= self.cos_max[lo] && ch >= self.cos_max[hi];
        let (pl, ph) = (pl * offset_gain(cl), ph * offset_gain(ch));
        let (weak, strong) = (pl.min(ph), pl.max(ph));
        let level_ok = weak >= self.min_power && strong <= self.max_power;
        let twist = if hi - lo == 1 { self.twist_adjacent } else { self.twist };
        let twist_ok = strong <= weak * twist;
        let weak_raw = pow[a].min(pow[b]);
        let peak_ok = (0..6).all(|i| i == a || i == b || pow[i] * self.relative_peak <= weak_raw);
        let guard = pow.get(6..).unwrap_or_default();
        let guard_pow: f32 = guard.iter().sum();
        let leak_into = |i: usize| -> f32 {
            self.guard_leak.get(i).map_or(0.0, |row| row.iter().zip(guard).map(|(k, p)| k * p).sum())
        };
        let guard_ok = pl >= leak_into(lo) && ph >= leak_into(hi);
        // Energy not explained by the guard tones. Their beats with our pair also move
        // the window energy, by at most 2·|response|·√(P_pair·P_guard) with the window's
        // response ≤ −20 dB ≥ 220 Hz away; that much is discounted too.
        let own = (pl + ph) * TONE_TO_ENERGY;
        let guard_e = guard_pow * TONE_TO_ENERGY;
        let rest = (window_energy - guard_e - CROSS_BOUND * (own * guard_e).sqrt()).max(0.0);
        let ratio_ok = own >= self.ratio * rest;
        let ok = level_ok && twist_ok && freq_ok && peak_ok && guard_ok && ratio_ok;
        ok.then(|| pair_signal(lo, hi))
    }

    /// Powers of tones `i` and `j` with their mutual leakage removed.
    fn unmix(&self, i: usize, j: usize, wi: (f32, f32), wj: (f32, f32)) -> (f32, f32) {
        let k = self.leak.get(i).and_then(|r| r.get(j)).copied().unwrap_or((0.0, 0.0));
        let det = 1.0 - (k.0 * k.0 + k.1 * k.1);
        let kj = cmul(k, wj);
        let ki = cmul(conj(k), wi);
        let ui = (wi.0 - kj.0, wi.1 - kj.1);
        let uj = (wj.0 - ki.0, wj.1 - ki.1);
        let p = |u: (f32, f32)| (u.0 * u.0 + u.1 * u.1) / (det * det);
        (p(ui), p(uj))
    }

    /// Cosine of tone `i`'s smoothed phase advance beyond nominal; −1 without signal.
    fn advance_cos(&self, i: usize) -> f32 {
        let (re, im) = self.phase.get(i).copied().unwrap_or((0.0, 0.0));
        let mag = (re * re + im * im).sqrt();
        if mag > 0.0 {
            re / mag
        } else {
            -1.0
        }
    }

    fn track(&mut self, hit: Option<u8>) {
        if hit.is_some() && hit == self.candidate {
            self.candidate_hits = self.candidate_hits.saturating_add(1);
        } else {
            self.candidate = hit;
            self.candidate_hits = u32::from(hit.is_some());
        }
        if let Some(cur) = self.current {
            if hit == Some(cur) {
                self.misses = 0;
            } else {
                self.misses += 1;
                if self.misses >= self.off_hops {
                    self.current = None;
                    self.push(None);
                }
            }
        }
        if self.current.is_none() && self.candidate_hits >= self.on_hops {
            if let Some(s) = self.candidate {
                self.current = Some(s);
                self.misses = 0;
                self.push(Some(s));
            }
        }
    }

    fn push(&mut self, signal: Option<u8>) {
        let ev = R2MfEvent { signal, at_sample: self.samples };
        if self.ev_len == EVENT_RING {
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

/// Magnitude response of the 1-2-1 window `df` Hz off a bin, relative to the bin centre:
/// `|sin(ΔH/2) / (H sin(Δ/2))| · cos²(ΔH/2)`, Δ = 2π df / fs, H = HOP.
fn window_response(df: f64) -> f64 {
    let d = 2.0 * std::f64::consts::PI * df / f64::from(SAMPLE_RATE);
    let h = HOP as f64;
    let den = h * (d / 2.0).sin();
    let dirichlet = if den.abs() < 1e-12 { 1.0 } else { ((d * h / 2.0).sin() / den).abs() };
    dirichlet * (d * h / 2.0).cos().powi(2)
}

/// Power correction for a tone off its bin (see the DTMF detector's `offset_gain`).
#[inline]
fn offset_gain(cos_theta: f32) -> f32 {
    let c = cos_theta.clamp(0.0, 1.0);
    let half_cos2 = (1.0 + c) / 2.0;
    let half_sin2 = (1.0 - c) / 2.0;
    (1.0 + half_sin2 / 3.0) / (half_cos2 * half_cos2)
}

#[inline]
fn cmul(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

#[inline]
fn conj(a: (f32, f32)) -> (f32, f32) {
    (a.0, -a.1)
}

#[cfg(test)]
mod tests;
