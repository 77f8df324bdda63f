//! Call-progress tones (dial, busy, ringback, ...) rendered from data ([`ToneSpec`]).
//!
//! Tones are sums of sines with an on/off cadence counted in samples. Oscillators are
//! complex rotators set up once, so rendering costs a few multiplies per sample and no
//! trigonometry; their phase carries across `fill` calls and cadence segments.

use serde::{Deserialize, Serialize};

use crate::dsp::{dbm0_to_peak, SAMPLE_RATE};

/// Which call-progress tone to play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToneKind {
    Dial,
    Busy,
    Ringback,
    Congestion,
    CallWaiting,
    Beep,
}

impl ToneKind {
    /// Every kind, in declaration order (each zone defines all of them).
    pub const ALL: [ToneKind; 6] = [
        ToneKind::Dial,
        ToneKind::Busy,
        ToneKind::Ringback,
        ToneKind::Congestion,
        ToneKind::CallWaiting,
        ToneKind::Beep,
    ];

    /// By its config name (`dial`, `busy`, `ringback`, `congestion`, `call-waiting`, `beep`).
    pub fn from_name(name: &str) -> Option<ToneKind> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

/// A tone as data: the frequencies it mixes and its cadence.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToneSpec {
    /// Components as (frequency Hz, level dBm0 per component).
    pub freqs: Vec<(f32, f32)>,
    /// Alternating on/off durations in ms, starting with on; empty means continuous.
    #[serde(default)]
    pub cadence: Vec<u32>,
    /// Whether the cadence starts over when it ends (otherwise the tone then goes silent).
    #[serde(default = "default_repeat")]
    pub repeat: bool,
}

fn default_repeat() -> bool {
    true
}

/// Quadrature sine oscillator: rotating a unit phasor avoids a `sin` per sample.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Oscillator {
    re: f32,
    im: f32,
    cos: f32,
    sin: f32,
    amp: f32,
}

impl Oscillator {
    /// Samples between renormalisations: f32 rotation drifts ~1e-7 per step, so the
    /// amplitude error stays far below one LSB.
    pub(crate) const RENORM_EVERY: usize = 160;

    pub(crate) fn new(freq_hz: f32, peak: f32) -> Self {
        let w = 2.0 * std::f64::consts::PI * f64::from(freq_hz) / f64::from(SAMPLE_RATE);
        Oscillator { re: 1.0, im: 0.0, cos: w.cos() as f32, sin: w.sin() as f32, amp: peak }
    }

    /// Restarts at phase zero (sine starts at 0, so no click at tone onset).
    pub(crate) fn restart(&mut self) {
        self.re = 1.0;
        self.im = 0.0;
    }

    #[inline]
    pub(crate) fn next(&mut self) -> f32 {
        let v = self.im * self.amp;
        let re = self.re * self.cos - self.im * self.sin;
        self.im = self.re * self.sin + self.im * self.cos;
        self.re = re;
        v
    }

    /// Pulls the phasor back onto the unit circle (one Newton step, no sqrt).
    #[inline]
    pub(crate) fn renormalize(&mut self) {
        let g = 1.5 - 0.5 * (self.re * self.re + self.im * self.im);
        self.re *= g;
        self.im *= g;
    }
}

/// Renders a [`ToneSpec`] sample by sample.
#[derive(Clone, Debug)]
pub struct ToneGenerator {
    oscs: Vec<Oscillator>,
    /// Cadence segment lengths in samples (on, off, on, ...).
    segments: Vec<u64>,
    repeat: bool,
    seg: usize,
    /// Samples already played of the current segment.
    pos: u64,
    done: bool,
}

impl ToneGenerator {
    /// Prepares oscillators and the cadence; the only allocation of the generator.
    pub fn new(spec: &ToneSpec) -> Self {
        let oscs = spec.freqs.iter().map(|&(f, dbm0)| Oscillator::new(f, dbm0_to_peak(dbm0))).collect();
        let segments = spec.cadence.iter().map(|&ms| u64::from(ms) * u64::from(SAMPLE_RATE) / 1000).collect();
        let mut g = ToneGenerator { oscs, segments, repeat: spec.repeat, seg: 0, pos: 0, done: false };
        g.reset();
        g
    }

    /// Starts the cadence over.
    pub fn reset(&mut self) {
        self.seg = 0;
        self.pos = 0;
        // A cadence of only zero-length segments would never produce a sample: treat it
        // as already finished instead of spinning.
        self.done = !self.segments.is_empty() && self.segments.iter().all(|&n| n == 0);
        self.oscs.iter_mut().for_each(Oscillator::restart);
    }

    /// True once a non-repeating cadence has played out (output is then silence).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Fills `out` with the next samples of the tone.
    pub fn fill(&mut self, out: &mut [i16]) {
        let mut rest = out;
        while !rest.is_empty() {
            if self.done {
                rest.fill(0);
                return;
            }
            let (on, left) = if self.segments.is_empty() {
                (true, u64::MAX)
            } else {
                let len = self.segments.get(self.seg).copied().unwrap_or(0);
                (self.seg % 2 == 0, len.saturating_sub(self.pos))
            };
            if left == 0 {
                self.next_segment();
                continue;
            }
            let n = (rest.len() as u64).min(left).min(Oscillator::RENORM_EVERY as u64) as usize;
            let (chunk, tail) = rest.split_at_mut(n);
            if on {
                for o in chunk.iter_mut() {
                    let v: f32 = self.oscs.iter_mut().map(Oscillator::next).sum();
                    *o = v.round().clamp(-32768.0, 32767.0) as i16;
                }
                self.oscs.iter_mut().for_each(Oscillator::renormalize);
            } else {
                chunk.fill(0);
            }
            self.pos += n as u64;
            rest = tail;
        }
    }

    fn next_segment(&mut self) {
        self.pos = 0;
        self.seg += 1;
        if self.seg >= self.segments.len() {
            if self.repeat {
                self.seg = 0;
            } else {
                self.done = true;
            }
        }
        if self.seg % 2 == 0 {
            // A new burst starts at phase zero, like a real tone plant.
            self.oscs.iter_mut().for_each(Oscillator::restart);
        }
    }
}

/// Renders `ms` milliseconds of `spec` (for tests, tools and prompt generation).
pub fn render(spec: &ToneSpec, ms: u32) -> Vec<i16> {
    let mut out = vec![0i16; (u64::from(ms) * u64::from(SAMPLE_RATE) / 1000) as usize];
    ToneGenerator::new(spec).fill(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::goertzel::tone_dbm0;

    fn spec(freqs: &[(f32, f32)], cadence: &[u32], repeat: bool) -> ToneSpec {
        ToneSpec { freqs: freqs.to_vec(), cadence: cadence.to_vec(), repeat }
    }

    #[test]
    fn continuous_tone_has_its_frequencies_at_their_levels() {
        let s = spec(&[(350.0, -13.0), (440.0, -13.0)], &[], true);
        let x = render(&s, 1000);
        assert_eq!(x.len(), 8000);
        // Measure late in the buffer: the oscillator must not drift.
        let tail = &x[7200..];
        assert!((tone_dbm0(tail, 350.0) + 13.0).abs() < 0.3);
        assert!((tone_dbm0(tail, 440.0) + 13.0).abs() < 0.3);
        assert!(tone_dbm0(tail, 620.0) < -40.0);
    }

    #[test]
    fn cadence_is_counted_in_samples_across_odd_fill_sizes() {
        let s = spec(&[(425.0, -10.0)], &[500, 500], true);
        let mut g = ToneGenerator::new(&s);
        let mut all = Vec::new();
        let mut buf = [0i16; 37];
        while all.len() < 16000 {
            g.fill(&mut buf);
            all.extend_from_slice(&buf);
        }
        assert!(all[..4000].iter().any(|&v| v.abs() > 1000));
        assert!(all[4000..8000].iter().all(|&v| v == 0));
        assert!(all[8000..12000].iter().any(|&v| v.abs() > 1000));
        assert!(all[12000..16000].iter().all(|&v| v == 0));
        assert!(!g.is_done());
    }

    #[test]
    fn non_repeating_cadence_ends_in_silence_and_reset_restarts_it() {
        let s = spec(&[(1400.0, -10.0)], &[100, 100, 100], false);
        let mut g = ToneGenerator::new(&s);
        let mut out = vec![0i16; 4000];
        g.fill(&mut out);
        assert!(g.is_done());
        assert!(out[..800].iter().any(|&v| v != 0));
        assert!(out[800..1600].iter().all(|&v| v == 0));
        assert!(out[1600..2400].iter().any(|&v| v != 0));
        assert!(out[2400..].iter().all(|&v| v == 0));
        g.reset();
        assert!(!g.is_done());
        let mut again = vec![0i16; 4000];
        g.fill(&mut again);
        assert_eq!(out, again);
    }

    #[test]
    fn empty_spec_is_silent() {
        let x = render(&spec(&[], &[], true), 100);
        assert!(x.iter().all(|&v| v == 0));
        let x = render(&spec(&[(400.0, -10.0)], &[0, 0], true), 100);
        assert!(x.iter().all(|&v| v == 0), "zero-length cadence must not hang");
    }
}
