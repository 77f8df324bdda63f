use super::*;
use crate::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};
use crate::dsp::testsig::{irregular_chunks, peak, quantise, Rng};
use crate::dsp::tone::render;
use crate::dsp::zone::builtin_zones;
use proptest::prelude::*;

/// T.30 CNG: `bursts` × (500 ms of `freq` + 3 s silence), after 200 ms of silence.
fn cng(freq: f64, dbm0: f64, bursts: usize, on_ms: usize) -> Vec<f64> {
    let mut x = vec![0.0; 1600];
    for _ in 0..bursts {
        x.extend(
            (0..on_ms * 8).map(|i| peak(dbm0) * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0 + 0.4).sin()),
        );
        x.extend(vec![0.0; 24000]);
    }
    x
}

#[derive(Clone, Copy, PartialEq)]
enum Ans {
    Plain,
    PhaseReversals,
    Am,
}

/// V.25 ANS / ANS/PR / V.8 ANSam of `ms`, after 200 ms of silence and followed by 300 ms.
fn ans(kind: Ans, freq: f64, dbm0: f64, ms: usize) -> Vec<f64> {
    let tau = 2.0 * std::f64::consts::PI;
    let mut x = vec![0.0; 1600];
    x.extend((0..ms * 8).map(|i| {
        let t = i as f64 / 8000.0;
        let flips = if kind == Ans::PhaseReversals { (i / 3600) as f64 } else { 0.0 };
        let am = if kind == Ans::Am { 1.0 + 0.2 * (tau * 15.0 * t).sin() } else { 1.0 };
        peak(dbm0) * am * (tau * freq * t + 0.9 + flips * std::f64::consts::PI).sin()
    }));
    x.extend(vec![0.0; 2400]);
    x
}

fn run(x: &[i16]) -> Vec<FaxToneEvent> {
    let mut det = FaxToneDetector::new();
    let mut evs = Vec::new();
    for chunk in irregular_chunks(x) {
        det.process(chunk);
        while let Some(e) = det.poll() {
            evs.push(e);
        }
    }
    evs
}

fn tones(x: &[f64]) -> Vec<FaxTone> {
    run(&quantise(x)).iter().map(|e| e.tone).collect()
}

#[test]
fn cng_is_reported_once_per_calling_sequence() {
    let x = cng(1100.0, -12.0, 3, 500);
    let evs = run(&quantise(&x));
    assert_eq!(evs.iter().map(|e| e.tone).collect::<Vec<_>>(), vec![FaxTone::Cng], "{evs:?}");
    // Reported at the end of the first burst (+ debounce).
    let end_ms = (evs[0].at_sample / 8) as i64;
    assert!((end_ms - 700).abs() <= 50, "{end_ms}");
    // After 5 s of quiet, a new calling sequence is reported again.
    let mut y = x.clone();
    y.extend(vec![0.0; 48000]);
    y.extend(cng(1100.0, -12.0, 1, 500));
    assert_eq!(tones(&y), vec![FaxTone::Cng, FaxTone::Cng]);
}

#[test]
fn cng_tolerates_t30_frequency_limits_and_rejects_wrong_durations() {
    for f in [1062.0, 1080.0, 1120.0, 1138.0] {
        assert_eq!(tones(&cng(f, -12.0, 1, 500)), vec![FaxTone::Cng], "{f}");
    }
    for f in [1000.0, 1200.0] {
        assert_eq!(tones(&cng(f, -12.0, 1, 500)), vec![], "{f}");
    }
    assert_eq!(tones(&cng(1100.0, -12.0, 1, 300)), vec![], "too short");
    assert_eq!(tones(&cng(1100.0, -12.0, 1, 1500)), vec![], "too long");
    assert_eq!(tones(&cng(1100.0, -48.0, 1, 500)), vec![], "too quiet");
}

#[test]
fn ans_variants_are_reported_then_classified() {
    assert_eq!(tones(&ans(Ans::Plain, 2100.0, -12.0, 3300)), vec![FaxTone::Ced]);
    assert_eq!(tones(&ans(Ans::PhaseReversals, 2100.0, -12.0, 3300)), vec![FaxTone::Ced, FaxTone::AnsPr]);
    assert_eq!(tones(&ans(Ans::Am, 2100.0, -12.0, 3300)), vec![FaxTone::Ced, FaxTone::AnsAm]);
    // Ced comes after 500 ms (+ window and debounce).
    let evs = run(&quantise(&ans(Ans::Plain, 2100.0, -12.0, 1000)));
    let ms = (evs[0].at_sample / 8) as i64 - 200;
    assert!((500..=560).contains(&ms), "{ms}");
    assert_eq!(tones(&ans(Ans::Plain, 2100.0, -12.0, 400)), vec![], "too short");
}

#[test]
fn speech_dtmf_and_progress_tones_give_no_fax_events() {
    // DTMF: every digit, long and short.
    for on_ms in [50, 200, 600] {
        let mut g = DtmfGenerator::new(DtmfTxConfig { on_ms, off_ms: 100, ..DtmfTxConfig::default() });
        g.push_digits("0123456789*#ABCD");
        let mut x = vec![0i16; 16 * (on_ms + 100) as usize * 8 + 800];
        g.fill(&mut x);
        assert_eq!(run(&x), vec![], "dtmf {on_ms}");
    }
    for z in builtin_zones().unwrap() {
        for spec in [&z.dial, &z.busy, &z.ringback, &z.congestion, &z.call_waiting] {
            assert_eq!(run(&render(spec, 6000)), vec![], "{} {spec:?}", z.name);
        }
    }
    // Speech-like: pitch harmonics through moving formants.
    let mut rng = Rng(9);
    let tau = 2.0 * std::f64::consts::PI;
    let mut x = Vec::with_capacity(160_000);
    let (mut f0, mut f1, mut ph) = (150.0f64, 700.0f64, [0.0f64; 24]);
    for i in 0..160_000 {
        if i % 2000 == 0 {
            f1 = 300.0 + rng.uniform() * 2500.0;
        }
        f0 = (f0 + (rng.uniform() - 0.5) * 0.4).clamp(100.0, 250.0);
        let mut v = 0.0;
        for (k, p) in ph.iter_mut().enumerate() {
            let f = f0 * (k + 1) as f64;
            *p = (*p + tau * f / 8000.0) % tau;
            v += p.sin() / (1.0 + ((f - f1) / 80.0).powi(2));
        }
        x.push(v * peak(-15.0) / 2.0);
    }
    assert_eq!(tones(&x), vec![], "speech");
}

#[test]
fn reset_forgets_everything() {
    let x = quantise(&ans(Ans::Plain, 2100.0, -12.0, 1000));
    let mut det = FaxToneDetector::new();
    det.process(&x);
    det.reset();
    assert_eq!(det.poll(), None);
    det.process(&x);
    assert_eq!(det.poll().map(|e| (e.tone, e.at_sample)), Some((FaxTone::Ced, run(&x)[0].at_sample)));
    assert_eq!(serde_json::to_string(&FaxTone::AnsPr).unwrap(), "\"ans-pr\"");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Any level from −40 to −5 dBm0, frequency within the recommendation's tolerance,
    /// white noise 15 dB down.
    #[test]
    fn tones_are_found_at_any_level_offset_and_noise(
        which in 0usize..4,
        level in -40.0f64..-5.0,
        offset in -1.0f64..1.0,
        seed in any::<u64>(),
    ) {
        let (mut x, want) = match which {
            0 => (cng(1100.0 + 35.0 * offset, level, 1, 500), vec![FaxTone::Cng]),
            1 => (ans(Ans::Plain, 2100.0 + 14.0 * offset, level, 2600), vec![FaxTone::Ced]),
            2 => (ans(Ans::PhaseReversals, 2100.0 + 14.0 * offset, level, 2600), vec![FaxTone::Ced, FaxTone::AnsPr]),
            _ => (ans(Ans::Am, 2100.0 + 14.0 * offset, level, 2600), vec![FaxTone::Ced, FaxTone::AnsAm]),
        };
        let mut rng = Rng(seed | 1);
        let sigma = peak(level - 15.0) / 2f64.sqrt();
        x.iter_mut().for_each(|v| *v += sigma * rng.gauss());
        prop_assert_eq!(tones(&x), want);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics_or_reports(x in proptest::collection::vec(any::<i16>(), 0..4000), chunk in 1usize..400) {
        let mut det = FaxToneDetector::new();
        for c in x.chunks(chunk) {
            det.process(c);
        }
        prop_assert_eq!(det.poll(), None);
    }
}
