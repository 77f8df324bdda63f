//! Cheap per-frame level measurement and silence detection (e.g. to stop a recording).

use crate::dsp::{DBM0_POWER, SAMPLE_RATE};

/// Level reported for an empty or all-zero frame, dBm0 (below any real signal; avoids −∞
/// in logs and comparisons).
pub const FLOOR_DBM0: f32 = -120.0;

/// Mean power of `samples` in dBm0 (a 0 dBm0 sine reads 0). One multiply-add per sample.
pub fn frame_dbm0(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return FLOOR_DBM0;
    }
    // i64 sum is exact for any realistic frame and needs no float per sample.
    let sum: i64 = samples.iter().map(|&s| i64::from(s) * i64::from(s)).sum();
    let mean = sum as f64 / samples.len() as f64;
    if mean <= 0.0 {
        return FLOOR_DBM0;
    }
    ((10.0 * (mean / f64::from(DBM0_POWER)).log10()) as f32).max(FLOOR_DBM0)
}

/// Reports when the signal has stayed below a threshold for a hang time.
#[derive(Clone, Debug)]
pub struct SilenceDetector {
    /// Frames quieter than this count as silence.
    pub threshold_dbm0: f32,
    /// How long silence must last before [`SilenceDetector::process`] says so.
    pub hang_ms: u32,
    silent_samples: u64,
}

impl SilenceDetector {
    pub fn new(threshold_dbm0: f32, hang_ms: u32) -> Self {
        SilenceDetector { threshold_dbm0, hang_ms, silent_samples: 0 }
    }

    /// Feeds one frame (any length); true while silence has lasted at least `hang_ms`.
    pub fn process(&mut self, frame: &[i16]) -> bool {
        if frame_dbm0(frame) < self.threshold_dbm0 {
            self.silent_samples = self.silent_samples.saturating_add(frame.len() as u64);
        } else {
            self.silent_samples = 0;
        }
        self.silent_samples * 1000 >= u64::from(self.hang_ms) * u64::from(SAMPLE_RATE)
    }

    /// Forgets the silence seen so far.
    pub fn reset(&mut self) {
        self.silent_samples = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::dbm0_to_peak;

    fn sine(dbm0: f32, n: usize) -> Vec<i16> {
        let a = f64::from(dbm0_to_peak(dbm0));
        (0..n).map(|i| (a * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()).round() as i16).collect()
    }

    #[test]
    fn sine_level_reads_back() {
        for dbm0 in [0.0, -10.0, -30.0] {
            let got = frame_dbm0(&sine(dbm0, 160));
            assert!((got - dbm0).abs() < 0.1, "{dbm0}: {got}");
        }
        assert_eq!(frame_dbm0(&[]), FLOOR_DBM0);
        assert_eq!(frame_dbm0(&[0; 160]), FLOOR_DBM0);
        assert!(frame_dbm0(&[i16::MIN; 160]) > 3.0);
    }

    #[test]
    fn silence_needs_the_hang_time_and_speech_resets_it() {
        let mut d = SilenceDetector::new(-45.0, 100);
        let loud = sine(-20.0, 160);
        let quiet = sine(-60.0, 160);
        assert!(!d.process(&loud));
        for _ in 0..4 {
            assert!(!d.process(&quiet), "80 ms is not yet 100 ms");
        }
        assert!(d.process(&quiet));
        assert!(!d.process(&loud));
        assert!(!d.process(&quiet));
        d.reset();
        assert!(!d.process(&[0; 799]));
        assert!(d.process(&[0; 1]));
    }
}
