//! Synthetic test signals shared by the unit tests, the integration tests and the
//! benchmarks: a deterministic PRNG, levels, and talk-off corpora (speech-like and
//! music-like signals with no digits in them). Not part of the product's API.

use crate::dsp::{DBM0_PEAK, DBM0_POWER};

/// xorshift64*, deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
    /// Approximately standard normal (Irwin–Hall, 12 uniforms).
    pub fn gauss(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// Peak amplitude of a sine at `dbm0`.
pub fn peak(dbm0: f64) -> f64 {
    f64::from(DBM0_PEAK) * 10f64.powf(dbm0 / 20.0)
}

/// Mean power of a sine at `dbm0`.
pub fn power(dbm0: f64) -> f64 {
    f64::from(DBM0_POWER) * 10f64.powf(dbm0 / 10.0)
}

/// `x` in irregular pieces (1 to 333 samples), to show a detector's results do not
/// depend on how its input is cut.
pub fn irregular_chunks(x: &[i16]) -> impl Iterator<Item = &[i16]> {
    const SIZES: [usize; 6] = [160, 1, 37, 333, 80, 7];
    let mut rest = x;
    let mut k = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (chunk, tail) = rest.split_at(SIZES[k % SIZES.len()].min(rest.len()));
        rest = tail;
        k += 1;
        Some(chunk)
    })
}

/// Rounds to 16-bit samples, saturating.
pub fn quantise(x: &[f64]) -> Vec<i16> {
    x.iter().map(|v| v.round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Music-like signal: notes of the equal-tempered scale (C4–C7) played as chords, with
/// harmonic-rich timbres, vibrato and envelopes, including chords whose fundamentals sit
/// right on DTMF row/column frequencies (e.g. F5 + F#6 ≈ 697 + 1477 Hz: digit 3).
pub fn music(seconds: u32, seed: u64, dbm0: f64) -> Vec<i16> {
    let mut rng = Rng(seed);
    let n = seconds as usize * 8000;
    let tau = 2.0 * std::f64::consts::PI;
    let note_hz = |midi: f64| 440.0 * 2f64.powf((midi - 69.0) / 12.0);
    // (row-ish note, column-ish note) pairs: F5/G5/A#5 with E6/F#6/G#6 and D6.
    let near_dtmf = [(77.0, 90.0), (79.0, 88.0), (82.0, 90.0), (77.0, 92.0), (79.0, 86.0), (82.0, 88.0), (80.0, 92.0)];
    let mut out = vec![0.0f64; n];
    let mut t0 = 0usize;
    while t0 < n {
        let len = 1600 + rng.below(6400); // 0.2–1.0 s
        let mut notes: Vec<f64> = if rng.uniform() < 0.4 {
            let (a, b) = near_dtmf[rng.below(near_dtmf.len())];
            vec![a, b]
        } else {
            let root = 60.0 + rng.below(25) as f64;
            let chord = [[0.0, 4.0, 7.0], [0.0, 3.0, 7.0], [0.0, 7.0, 12.0], [0.0, 5.0, 9.0]][rng.below(4)];
            chord.iter().take(1 + rng.below(3)).map(|&i| root + i).collect()
        };
        if rng.uniform() < 0.3 {
            notes.push(48.0 + rng.below(12) as f64); // bass
        }
        // Timbre: harmonic k has amplitude r^(k-1)/k^p. With r ≥ 0.7 and p ≤ 0.6 the
        // fundamental holds at most ≈ 77% of a note's power (harmonic-rich, like strings,
        // brass, reed or voice; not a flute). A near-pure pair within 1.5% of a DTMF pair
        // *is* a DTMF signal by Q.24, so it is not a talk-off case.
        let r = 0.7 + 0.25 * rng.uniform();
        let p = 0.6 * rng.uniform();
        let vib_rate = 4.5 + 2.0 * rng.uniform();
        let vib_depth = 0.002 + 0.006 * rng.uniform();
        for &m in &notes {
            let f0 = note_hz(m) * (1.0 + 0.004 * (rng.uniform() - 0.5)); // slight detune
            let mut phase = [0.0f64; 12];
            let gain = 0.6 + 0.4 * rng.uniform();
            for i in 0..len.min(n - t0) {
                let t = i as f64 / 8000.0;
                let env = (t / 0.015).min(1.0) * (0.7 + 0.3 * (-t * 6.0).exp()) * ((len - i) as f64 / 400.0).min(1.0);
                let f = f0 * (1.0 + vib_depth * (tau * vib_rate * t).sin());
                let mut v = 0.0;
                for (k, ph) in phase.iter_mut().enumerate() {
                    let fk = f * (k + 1) as f64;
                    if fk > 3600.0 {
                        break;
                    }
                    *ph = (*ph + tau * fk / 8000.0) % tau;
                    v += r.powi(k as i32) / ((k + 1) as f64).powf(p) * ph.sin();
                }
                out[t0 + i] += gain * env * v;
            }
        }
        t0 += len;
    }
    let rms = (out.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt().max(1e-9);
    let g = (f64::from(DBM0_POWER) * 10f64.powf(dbm0 / 10.0)).sqrt() / rms;
    out.iter().map(|v| (v * g).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Speech-like signal: harmonics of a drifting 120–250 Hz pitch shaped by three formants
/// that move per syllable, with voiced/unvoiced syllables (same model as the unit tests').
pub fn speech(seconds: u32, seed: u64, dbm0: f64) -> Vec<i16> {
    let mut rng = Rng(seed);
    let n = seconds as usize * 8000;
    let mut out = Vec::with_capacity(n);
    let mut phases = [0.0f64; 40];
    let tau = 2.0 * std::f64::consts::PI;
    let mut f0 = 150.0;
    let mut formants = [500.0, 1500.0, 2500.0];
    let mut syllable_left = 0usize;
    let mut voiced = true;
    for i in 0..n {
        if syllable_left == 0 {
            syllable_left = 800 + (rng.uniform() * 2400.0) as usize;
            voiced = rng.uniform() < 0.75;
            formants = [300.0 + rng.uniform() * 600.0, 900.0 + rng.uniform() * 1400.0, 2200.0 + rng.uniform() * 800.0];
        }
        syllable_left -= 1;
        f0 += (rng.uniform() - 0.5) * 0.4 + 0.02 * (i as f64 / 8000.0 * tau * 0.7).sin();
        f0 = f0.clamp(120.0, 250.0);
        let mut v = 0.0;
        if voiced {
            for (k, ph) in phases.iter_mut().enumerate() {
                let f = f0 * (k + 1) as f64;
                if f > 3400.0 {
                    break;
                }
                *ph = (*ph + tau * f / 8000.0) % tau;
                let shape: f64 = formants.iter().map(|&fm| 1.0 / (1.0 + ((f - fm) / 90.0).powi(2))).sum();
                v += shape * ph.sin() / (k + 1) as f64;
            }
        }
        out.push(v);
    }
    let rms = (out.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt().max(1e-9);
    let g = (f64::from(DBM0_POWER) * 10f64.powf(dbm0 / 10.0)).sqrt() / rms;
    out.iter().map(|v| (v * g).round().clamp(-32768.0, 32767.0) as i16).collect()
}
