//! Single-bin spectral measurement (Goertzel), for tone checks outside the DTMF hot path.
//!
//! The DTMF detector runs its own eight-tone folded DFT; this is the simple scalar form
//! for occasional measurements (call-progress tone checks, tests, tools).

use crate::dsp::SAMPLE_RATE;

/// Goertzel feedback coefficient `2 cos(2π f / fs)` for `freq_hz`.
pub fn coefficient(freq_hz: f32) -> f32 {
    2.0 * (2.0 * std::f32::consts::PI * freq_hz / SAMPLE_RATE as f32).cos()
}

/// Mean power of the `freq_hz` component of `samples`, in mean-of-x² units, so a pure
/// sine of amplitude A at exactly `freq_hz` reads A²/2 (compare with
/// [`crate::dsp::dbm0_to_power`]). Zero for an empty slice.
pub fn tone_power(samples: &[i16], freq_hz: f32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let c = coefficient(freq_hz);
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = c * s1 - s2 + f32::from(x);
        s2 = s1;
        s1 = s0;
    }
    let mag2 = s1 * s1 + s2 * s2 - c * s1 * s2;
    let n = samples.len() as f32;
    2.0 * mag2 / (n * n)
}

/// Level of the `freq_hz` component of `samples` in dBm0 (−∞ if absent).
pub fn tone_dbm0(samples: &[i16], freq_hz: f32) -> f32 {
    10.0 * (tone_power(samples, freq_hz) / crate::dsp::DBM0_POWER).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, n: usize) -> Vec<i16> {
        (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()) as i16).collect()
    }

    #[test]
    fn reads_the_level_of_a_sine_and_ignores_other_frequencies() {
        let x = sine(1000.0, crate::dsp::dbm0_to_peak(-10.0) as f64, 800);
        assert!((tone_dbm0(&x, 1000.0) + 10.0).abs() < 0.2);
        assert!(tone_dbm0(&x, 1400.0) < -40.0);
        assert_eq!(tone_power(&[], 1000.0), 0.0);
    }
}
