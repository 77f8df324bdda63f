//! Tone-dominance measurement shared by the call-progress and fax tone detectors.
//!
//! A detector asks one question per 10 ms hop: how much of the last 40 ms of signal is
//! explained by sines at a small set of frequencies (a "band")? The answer is the
//! least-squares projection of the window onto the span of `cos(ωn)`, `sin(ωn)` for each
//! frequency. Unlike summing Goertzel bin powers, the projection never counts the same
//! energy twice when frequencies are close (400/450 Hz), so "the tone holds ≥ 80% of the
//! energy" is a real statement and speech or music, which spread their energy, fail it.
//!
//! Cost: one Goertzel step per sample per distinct frequency, plus a d²/2 triangular
//! solve per band per hop (d = 2 × frequencies). Frequency tolerance comes from putting
//! extra frequencies at the edges of the accepted range (see [`BandBank::new`]).

use crate::dsp::SAMPLE_RATE;

/// Samples per hop: detectors decide every 10 ms.
pub(crate) const HOP: usize = 80;
/// Hops per analysis window.
pub(crate) const WINDOW_HOPS: usize = 4;
/// Analysis window: the last four hops (40 ms, 25 Hz resolution). 20 ms was not enough:
/// with the ±2% bins, a 350/440 Hz band explained 440+480 Hz ringback almost completely.
pub(crate) const WINDOW: usize = WINDOW_HOPS * HOP;
/// Milliseconds per hop.
pub(crate) const HOP_MS: u32 = (HOP as u32 * 1000) / SAMPLE_RATE;

#[derive(Clone, Copy, Debug, Default)]
struct Bin {
    coef: f32,
    /// `e^{-jω}`: closes the Goertzel recursion.
    close: (f32, f32),
    /// `e^{-jω(HOP-1)}`: references the hop's DFT to the hop's first sample.
    rot: (f32, f32),
    /// `e^{-jω HOP i}`: moves the i-th hop of the window behind the ones before it.
    shift: [(f32, f32); WINDOW_HOPS],
    s1: f32,
    s2: f32,
    /// DFTs of the window's hops, each referenced to its own first sample (a ring; the
    /// oldest is at `BandBank::head`).
    hops: [(f32, f32); WINDOW_HOPS],
    /// DFT of the last complete hop.
    last: (f32, f32),
}

/// What one band explains of the current window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Reading {
    /// Mean power explained by the band's sines (mean-of-x² units, like
    /// [`crate::dsp::dbm0_to_power`]).
    pub power: f32,
    /// Fraction of the window's energy the band explains, 0..=1 (0 for a silent window).
    pub ratio: f32,
}

#[derive(Clone, Debug)]
struct Band {
    /// Indices into `BandBank::bins`.
    bins: Vec<usize>,
    /// Inverse Cholesky factor `L⁻¹` of the basis Gram matrix, row-major d×d: the explained
    /// energy of a window with correlations `b` is `|L⁻¹ b|²`.
    linv: Vec<f64>,
}

/// A bank of Goertzel bins grouped into bands; fed samples, it produces one [`Reading`]
/// per band at the end of every hop.
#[derive(Clone, Debug)]
pub(crate) struct BandBank {
    bins: Vec<Bin>,
    bands: Vec<Band>,
    readings: Vec<Reading>,
    /// Scratch for the correlation vector (longest band).
    b: Vec<f64>,
    fill: usize,
    energy_cur: i64,
    energies: [i64; WINDOW_HOPS],
    /// Ring position of the oldest hop.
    head: usize,
    /// Samples fed and hops completed since construction or reset.
    samples: u64,
    hops: u64,
}

impl BandBank {
    /// Builds the bank; each band is a list of frequencies in Hz. Frequencies that are not
    /// finite or not inside (0, fs/2) are dropped; a band left empty reads zero.
    pub(crate) fn new(bands: &[Vec<f32>]) -> Self {
        let mut freqs: Vec<f32> = Vec::new();
        let nyquist = SAMPLE_RATE as f32 / 2.0;
        let mut built = Vec::with_capacity(bands.len());
        let mut longest = 0;
        for band in bands {
            let mut idx = Vec::new();
            for &f in band {
                if !(f.is_finite() && f > 1.0 && f < nyquist - 1.0) {
                    continue;
                }
                let i = match freqs.iter().position(|&g| g == f) {
                    Some(i) => i,
                    None => {
                        freqs.push(f);
                        freqs.len() - 1
                    }
                };
                if !idx.contains(&i) {
                    idx.push(i);
                }
            }
            let bf: Vec<f32> = idx.iter().map(|&i| freqs[i]).collect();
            longest = longest.max(2 * bf.len());
            built.push(Band { bins: idx, linv: inverse_cholesky(&gram(&bf)) });
        }
        let bins = freqs.iter().map(|&f| bin(f)).collect();
        BandBank {
            bins,
            readings: vec![Reading::default(); built.len()],
            bands: built,
            b: vec![0.0; longest],
            fill: 0,
            samples: 0,
            hops: 0,
            energy_cur: 0,
            energies: [0; WINDOW_HOPS],
            head: 0,
        }
    }

    /// Consumes samples up to the end of the current hop. When that hop completes (then
    /// [`BandBank::reading`] has fresh values) returns what is left of `samples`, so a
    /// detector runs `while let Some(rest) = bank.next_hop(x) { x = rest; its_hop() }`.
    pub(crate) fn next_hop<'a>(&mut self, samples: &'a [i16]) -> Option<&'a [i16]> {
        let take = (HOP - self.fill).min(samples.len());
        let (part, rest) = samples.split_at(take);
        for &x in part {
            let xf = f32::from(x);
            self.energy_cur += i64::from(x) * i64::from(x);
            for b in self.bins.iter_mut() {
                let s0 = b.coef * b.s1 - b.s2 + xf;
                b.s2 = b.s1;
                b.s1 = s0;
            }
        }
        self.fill += take;
        self.samples += take as u64;
        if self.fill < HOP {
            return None;
        }
        self.fill = 0;
        self.hops += 1;
        self.end_of_hop();
        Some(rest)
    }

    /// Samples fed so far (the time of an event decided at this hop).
    pub(crate) fn samples(&self) -> u64 {
        self.samples
    }

    /// Index of the hop that completed last (0 for the first).
    pub(crate) fn hop_index(&self) -> u64 {
        self.hops.saturating_sub(1)
    }

    fn end_of_hop(&mut self) {
        let head = self.head;
        for b in self.bins.iter_mut() {
            // y = s1 − e^{−jω} s2 = Σ x[k] e^{jω(HOP−1−k)}; rotate to Σ x[k] e^{−jωk}.
            let y = (b.s1 - b.close.0 * b.s2, -b.close.1 * b.s2);
            let cur = cmul(b.rot, y);
            b.hops[head] = cur;
            b.last = cur;
            b.s1 = 0.0;
            b.s2 = 0.0;
        }
        self.energies[head] = self.energy_cur;
        self.energy_cur = 0;
        self.head = (head + 1) % WINDOW_HOPS;
        let total = self.energies.iter().sum::<i64>() as f64;
        for (band, r) in self.bands.iter().zip(self.readings.iter_mut()) {
            let d = 2 * band.bins.len();
            for (k, &i) in band.bins.iter().enumerate() {
                let Some(b) = self.bins.get(i) else { continue };
                // Window DFT referenced to the window start: each hop shifted into place.
                let (mut re, mut im) = (0.0f32, 0.0f32);
                for (age, sh) in b.shift.iter().enumerate() {
                    let h = cmul(*sh, b.hops[(self.head + age) % WINDOW_HOPS]);
                    re += h.0;
                    im += h.1;
                }
                if let Some(dst) = self.b.get_mut(2 * k..2 * k + 2) {
                    dst[0] = f64::from(re);
                    dst[1] = f64::from(im);
                }
            }
            let mut explained = 0.0f64;
            for row in 0..d {
                let mut acc = 0.0;
                for col in 0..=row {
                    acc +=
                        band.linv.get(row * d + col).copied().unwrap_or(0.0) * self.b.get(col).copied().unwrap_or(0.0);
                }
                explained += acc * acc;
            }
            let explained = if explained.is_finite() { explained.min(total) } else { 0.0 };
            *r = Reading {
                power: (explained / WINDOW as f64) as f32,
                ratio: if total > 0.0 { (explained / total) as f32 } else { 0.0 },
            };
        }
    }

    /// Whether every hop of the window carries at least 15% of the mean hop energy. A
    /// window that a tone only partly fills can still be explained well by nearby bins
    /// (together they model a slow envelope), so without this check run lengths would
    /// depend on the frequency; with it, "on" needs the tone in ≳ 80% of the window, and a
    /// tone of T ms gives T − 30 ms of "on" windows. 15% lets through the beating of two
    /// components ≥ 40 Hz apart (a 10 ms hop of a 40 Hz beat holds ≥ 24% of the mean).
    pub(crate) fn steady(&self) -> bool {
        let total: i64 = self.energies.iter().sum();
        total > 0 && self.energies.iter().all(|&e| e.saturating_mul(400) >= total.saturating_mul(15))
    }

    /// The reading of band `i` for the last completed hop (zero if out of range).
    pub(crate) fn reading(&self, i: usize) -> Reading {
        self.readings.get(i).copied().unwrap_or_default()
    }

    /// DFT of the last complete hop at band `band`'s `k`-th frequency, referenced to the
    /// hop's first sample (for phase tracking).
    pub(crate) fn hop_dft(&self, band: usize, k: usize) -> (f32, f32) {
        self.bands
            .get(band)
            .and_then(|b| b.bins.get(k))
            .and_then(|&i| self.bins.get(i))
            .map(|b| b.last)
            .unwrap_or_default()
    }

    /// Forgets all signal history.
    pub(crate) fn reset(&mut self) {
        for b in self.bins.iter_mut() {
            b.s1 = 0.0;
            b.s2 = 0.0;
            b.hops = [(0.0, 0.0); WINDOW_HOPS];
            b.last = (0.0, 0.0);
        }
        self.readings.iter_mut().for_each(|r| *r = Reading::default());
        self.fill = 0;
        self.energy_cur = 0;
        self.energies = [0; WINDOW_HOPS];
        self.head = 0;
        self.samples = 0;
        self.hops = 0;
    }
}

/// `[f·(1−spread), f, f·(1+spread)]` for each frequency: a band that accepts offsets up to
/// about `spread` with little loss.
pub(crate) fn widen(freqs: &[f32], spread: f32) -> Vec<f32> {
    freqs.iter().flat_map(|&f| [f * (1.0 - spread), f, f * (1.0 + spread)]).collect()
}

fn cmul(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

fn bin(f: f32) -> Bin {
    let w = 2.0 * std::f64::consts::PI * f64::from(f) / f64::from(SAMPLE_RATE);
    let e = |n: f64| ((w * n).cos() as f32, -(w * n).sin() as f32);
    let mut shift = [(0.0, 0.0); WINDOW_HOPS];
    for (i, s) in shift.iter_mut().enumerate() {
        *s = e((i * HOP) as f64);
    }
    Bin { coef: (2.0 * w.cos()) as f32, close: e(1.0), rot: e((HOP - 1) as f64), shift, ..Bin::default() }
}

/// Gram matrix of the basis `cos(ωn), −sin(ωn)` per frequency over one window.
fn gram(freqs: &[f32]) -> Vec<f64> {
    let d = 2 * freqs.len();
    let basis: Vec<Vec<f64>> = freqs
        .iter()
        .flat_map(|&f| {
            let w = 2.0 * std::f64::consts::PI * f64::from(f) / f64::from(SAMPLE_RATE);
            [
                (0..WINDOW).map(|n| (w * n as f64).cos()).collect::<Vec<_>>(),
                (0..WINDOW).map(|n| -(w * n as f64).sin()).collect::<Vec<_>>(),
            ]
        })
        .collect();
    let mut g = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            g[i * d + j] = basis[i].iter().zip(&basis[j]).map(|(a, b)| a * b).sum();
        }
    }
    g
}

/// `L⁻¹` for `G + εI = L Lᵀ`. The small ridge keeps nearly collinear bases (frequencies a
/// few Hz apart) well conditioned; it costs a negligible fraction of the explained energy.
fn inverse_cholesky(g: &[f64]) -> Vec<f64> {
    let d = (g.len() as f64).sqrt() as usize;
    let ridge = 1e-6 * WINDOW as f64;
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = g[i * d + j] + if i == j { ridge } else { 0.0 };
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            l[i * d + j] = if i == j { s.max(ridge).sqrt() } else { s / l[j * d + j] };
        }
    }
    // Invert the lower-triangular factor column by column.
    let mut inv = vec![0.0; d * d];
    for c in 0..d {
        for r in c..d {
            let mut s = if r == c { 1.0 } else { 0.0 };
            for k in c..r {
                s -= l[r * d + k] * inv[k * d + c];
            }
            inv[r * d + c] = s / l[r * d + r];
        }
    }
    inv
}

/// Hops a decision must hold before the on/off state flips (30 ms): bridges drop-outs
/// and the smeared window at tone edges.
pub(crate) const DEBOUNCE_HOPS: u32 = 3;

/// Added to on-runs and taken from off-runs (calibrated on clean tones, all alignments).
pub(crate) const ON_CORRECTION_MS: u32 = 30;

/// One completed (or ongoing) on/off run, in hops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub on: bool,
    pub hops: u32,
    /// Hop index at which the run ended (exclusive).
    pub end: u64,
    /// Started before we were listening: its length is only a lower bound.
    pub partial: bool,
}

impl Run {
    /// Duration in ms, corrected for the 40 ms window: a window only reads "on" when the
    /// tone fills most of it (a half-filled window projects only half its energy onto the
    /// tone's sines), so on-runs read three hops short and off-runs three hops long.
    pub(crate) fn ms(&self) -> u32 {
        let ms = self.hops.saturating_mul(HOP_MS);
        if self.on {
            ms.saturating_add(ON_CORRECTION_MS)
        } else {
            ms.saturating_sub(ON_CORRECTION_MS)
        }
    }
}

/// Capacity of a segmenter's run history.
pub(crate) const HISTORY: usize = 32;

/// Debounced on/off segmentation of per-hop decisions with a fixed-size run history.
#[derive(Clone, Debug)]
pub(crate) struct Segmenter {
    debounce: u32,
    on: bool,
    start: u64,
    partial: bool,
    pending: u32,
    hist: [Run; HISTORY],
    head: usize,
    len: usize,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter {
            debounce: DEBOUNCE_HOPS,
            on: false,
            start: 0,
            partial: true,
            pending: 0,
            hist: [Run::default(); HISTORY],
            head: 0,
            len: 0,
        }
    }
}

impl Segmenter {
    /// A segmenter that needs `hops` agreeing decisions to flip (at least 1).
    pub(crate) fn with_debounce(hops: u32) -> Self {
        Segmenter { debounce: hops.max(1), ..Segmenter::default() }
    }

    /// Feeds the decision for hop `hop` (hops counted from 0); returns the run that just
    /// completed, if the state flipped.
    pub(crate) fn step(&mut self, hop: u64, decision: bool) -> Option<Run> {
        if decision == self.on {
            self.pending = 0;
            return None;
        }
        self.pending += 1;
        if self.pending < self.debounce {
            return None;
        }
        // The new state began when the pending decisions started.
        let at = (hop + 1).saturating_sub(u64::from(self.pending)).max(self.start);
        let hops = (at - self.start).min(u64::from(u32::MAX)) as u32;
        let done = Run { on: self.on, hops, end: at, partial: self.partial };
        self.hist[self.head] = done;
        self.head = (self.head + 1) % HISTORY;
        self.len = (self.len + 1).min(HISTORY);
        self.on = decision;
        self.start = at;
        // A run that starts at the first hop may have begun before we listened.
        self.partial = at == 0;
        self.pending = 0;
        Some(done)
    }

    /// Whether the debounced state is on.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// The run in progress, as of the end of hop `hop`, not counting hops that already
    /// disagree (they may be the start of the next run).
    pub(crate) fn ongoing(&self, hop: u64) -> Run {
        let end = (hop + 1).saturating_sub(u64::from(self.pending)).max(self.start);
        let hops = end.saturating_sub(self.start).min(u64::from(u32::MAX)) as u32;
        Run { on: self.on, hops, end, partial: self.partial }
    }

    /// The `i`-th most recent completed run (0 = newest).
    pub(crate) fn completed(&self, i: usize) -> Option<Run> {
        if i >= self.len {
            return None;
        }
        Some(self.hist[(self.head + HISTORY - 1 - i) % HISTORY])
    }

    /// Starts over (state off, first run partial).
    pub(crate) fn reset(&mut self) {
        *self = Segmenter::with_debounce(self.debounce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::dbm0_to_power;

    fn sine(f: f64, amp: f64, phase: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * f * i as f64 / 8000.0 + phase).sin()).round() as i16)
            .collect()
    }

    fn last_reading(bank: &mut BandBank, x: &[i16], band: usize) -> Reading {
        let mut rest = x;
        while let Some(r) = bank.next_hop(rest) {
            rest = r;
        }
        bank.reading(band)
    }

    #[test]
    fn a_band_explains_its_own_tones_and_not_a_neighbour() {
        let a = f64::from(crate::dsp::dbm0_to_peak(-10.0));
        let mut bank = BandBank::new(&[vec![400.0], vec![400.0, 450.0], vec![450.0]]);
        let x: Vec<i16> = sine(400.0, a, 0.3, 800).iter().zip(sine(450.0, a, 1.0, 800)).map(|(p, q)| p + q).collect();
        let r = last_reading(&mut bank, &x, 1);
        assert!(r.ratio > 0.99, "{r:?}");
        assert!((r.power / dbm0_to_power(-10.0) - 2.0).abs() < 0.05, "{r:?}");
        // 400 Hz alone explains about half of a 400+450 Hz pair.
        let lone = bank.reading(0).ratio;
        assert!((0.4..0.6).contains(&lone), "{lone}");
        let mut bank = BandBank::new(&[vec![400.0]]);
        let r = last_reading(&mut bank, &sine(1000.0, a, 0.0, 800), 0);
        assert!(r.ratio < 0.01, "{r:?}");
        let r = last_reading(&mut bank, &[0; 800], 0);
        assert_eq!(r, Reading::default());
    }

    #[test]
    fn widened_band_tolerates_two_percent() {
        let a = f64::from(crate::dsp::dbm0_to_peak(-20.0));
        let mut bank = BandBank::new(&[widen(&[620.0], 0.02)]);
        for f in [620.0 * 0.98, 620.0, 620.0 * 1.02] {
            let r = last_reading(&mut bank, &sine(f, a, 0.7, 800), 0);
            assert!(r.ratio > 0.97, "{f}: {r:?}");
        }
    }
}

/// A detector's pending events: fixed capacity, oldest first, later events dropped when
/// the caller does not poll (no allocation after construction).
#[derive(Clone, Debug)]
pub(crate) struct EventRing<T: Copy, const N: usize> {
    items: [Option<T>; N],
    head: usize,
    len: usize,
}

impl<T: Copy, const N: usize> EventRing<T, N> {
    pub(crate) fn new() -> Self {
        EventRing { items: [None; N], head: 0, len: 0 }
    }

    pub(crate) fn push(&mut self, e: T) {
        if self.len < N {
            if let Some(slot) = self.items.get_mut((self.head + self.len) % N) {
                *slot = Some(e);
                self.len += 1;
            }
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let e = self.items.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % N;
        self.len -= 1;
        e
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::new();
    }
}
