use super::*;
use crate::dsp::testsig::{irregular_chunks, peak, power, quantise, Rng};
use proptest::prelude::*;

const DIRS: [R2Direction; 2] = [R2Direction::Forward, R2Direction::Backward];

/// `ms` of the sum of `tones` (Hz, dBm0), starting at arbitrary phases.
fn synth(tones: &[(f64, f64)], ms: u32) -> Vec<f64> {
    let tau = 2.0 * std::f64::consts::PI;
    (0..ms as usize * 8)
        .map(|i| {
            let t = i as f64 / 8000.0;
            tones.iter().enumerate().map(|(k, &(f, l))| peak(l) * (tau * f * t + 0.4 + 1.3 * k as f64).sin()).sum()
        })
        .collect()
}

fn add_noise(x: &mut [f64], dbm0: f64, seed: u64) {
    let mut rng = Rng(seed);
    let rms = power(dbm0).sqrt();
    x.iter_mut().for_each(|v| *v += rms * rng.gauss());
}

/// A signal as (Hz, dBm0) pairs.
fn pair(dir: R2Direction, signal: u8, level: f64) -> Vec<(f64, f64)> {
    let (a, b) = signal_freqs(dir, signal).unwrap();
    vec![(f64::from(a), level), (f64::from(b), level)]
}

fn run_cfg(dir: R2Direction, x: &[i16], cfg: R2MfRxConfig) -> Vec<R2MfEvent> {
    let mut det = R2MfDetector::new(dir, cfg);
    let mut evs = Vec::new();
    for chunk in irregular_chunks(x) {
        det.process(chunk);
        while let Some(e) = det.poll() {
            evs.push(e);
        }
    }
    det.process(&[0; 400]);
    while let Some(e) = det.poll() {
        evs.push(e);
    }
    assert_eq!(det.current(), None);
    evs
}

fn run(dir: R2Direction, x: &[i16]) -> Vec<R2MfEvent> {
    run_cfg(dir, x, R2MfRxConfig::default())
}

/// Signal characters reported, checking begin/end alternate.
fn signals(evs: &[R2MfEvent]) -> String {
    let mut s = String::new();
    let mut open = false;
    for e in evs {
        match e.signal {
            Some(n) => {
                assert!(!open, "begin without end: {evs:?}");
                open = true;
                s.push(signal_char(n).unwrap());
            }
            None => {
                assert!(open, "end without begin: {evs:?}");
                open = false;
            }
        }
    }
    assert!(!open, "never ended: {evs:?}");
    s
}

fn detect(dir: R2Direction, x: &[f64]) -> String {
    signals(&run(dir, &quantise(x)))
}

fn all_chars() -> String {
    (1..=15).map(|n| signal_char(n).unwrap()).collect()
}

// ------------------------------------------------------------ numbering

#[test]
fn numbering_follows_q441_and_spandsp() {
    assert_eq!(all_chars(), "1234567890BCDEF");
    for n in 1..=15u8 {
        assert_eq!(signal_from_char(signal_char(n).unwrap()), Some(n));
        let (i, j) = signal_tones(n).unwrap();
        assert!(i < j);
        assert_eq!(pair_signal(i, j), n);
    }
    assert_eq!(signal_tones(1), Some((0, 1)));
    assert_eq!(signal_tones(10), Some((3, 4)));
    assert_eq!(signal_tones(15), Some((4, 5)));
    assert_eq!(signal_freqs(R2Direction::Forward, 5), Some((1500.0, 1740.0)));
    assert_eq!(signal_freqs(R2Direction::Backward, 11), Some((1140.0, 540.0)));
    for bad in [0u8, 16, 255] {
        assert_eq!(signal_char(bad), None);
        assert_eq!(signal_tones(bad), None);
    }
    assert_eq!(signal_from_char('b'), Some(11));
    assert_eq!(signal_from_char('A'), None);
    assert_eq!(signal_from_char('*'), None);
    assert_eq!(serde_json::to_string(&R2Direction::Backward).unwrap(), "\"backward\"");
}

// ------------------------------------------------------------ generator

#[test]
fn generator_levels_frequencies_and_compelled_on_off() {
    for dir in DIRS {
        let mut g = R2MfGenerator::new(dir, -11.5);
        let mut buf = vec![1i16; 800];
        g.fill(&mut buf);
        assert!(buf.iter().all(|&v| v == 0), "silent until a signal is set");
        g.set_signal(Some(7));
        assert_eq!(g.signal(), Some(7));
        // Stays on across many fills.
        for _ in 0..10 {
            g.fill(&mut buf);
        }
        let (a, b) = signal_freqs(dir, 7).unwrap();
        for f in [a, b] {
            let l = crate::dsp::goertzel::tone_dbm0(&buf, f);
            assert!((l + 11.5).abs() < 0.3, "{dir:?} {f} Hz at {l}");
        }
        for f in dir.freqs().iter().filter(|&&f| f != a && f != b) {
            assert!(crate::dsp::goertzel::tone_dbm0(&buf, *f) < -40.0);
        }
        g.set_signal(None);
        g.fill(&mut buf);
        assert!(buf.iter().all(|&v| v == 0));
        g.set_signal(Some(16));
        assert_eq!(g.signal(), None, "invalid signal stops");
    }
}

#[test]
fn every_signal_both_directions_generated_and_detected_with_q442_timing() {
    for dir in DIRS {
        for n in 1..=15u8 {
            let mut g = R2MfGenerator::new(dir, -11.5);
            let mut det = R2MfDetector::new(dir, R2MfRxConfig::default());
            let mut frame = [0i16; 160];
            let mut evs = Vec::new();
            // 40 ms silence, tone for 200 ms, then 100 ms silence; 20 ms frames.
            for k in 0..17 {
                g.set_signal(if (2..12).contains(&k) { Some(n) } else { None });
                g.fill(&mut frame);
                det.process(&frame);
                while let Some(e) = det.poll() {
                    evs.push(e);
                }
            }
            assert_eq!(evs.len(), 2, "{dir:?} {n}: {evs:?}");
            assert_eq!(evs[0].signal, Some(n));
            assert_eq!(evs[1].signal, None);
            // Tone starts at sample 320: recognised within 32 ms, not before 20 ms.
            let on = evs[0].at_sample - 320;
            assert!((160..=256).contains(&on), "{dir:?} {n} recognised after {on} samples");
            // Tone stops at sample 1920: release within 16 ms.
            let off = evs[1].at_sample - 1920;
            assert!(off <= 128, "{dir:?} {n} released after {off} samples");
        }
    }
}

#[test]
fn compelled_sequence_changes_without_gap_and_short_tones_are_ignored() {
    let dir = R2Direction::Forward;
    let mut x = synth(&pair(dir, 3, -12.0), 80);
    x.extend(synth(&pair(dir, 12, -12.0), 80)); // change without a pause
    x.extend(synth(&[], 30));
    x.extend(synth(&pair(dir, 5, -12.0), 12)); // too short to be a signal
    x.extend(synth(&[], 30));
    x.extend(synth(&pair(dir, 5, -12.0), 60));
    assert_eq!(detect(dir, &x), "3C5");
}

// ------------------------------------------------------------ receiver limits

#[test]
fn accepts_q441_corners() {
    for dir in DIRS {
        for n in 1..=15u8 {
            let (a, b) = signal_freqs(dir, n).unwrap();
            let (a, b) = (f64::from(a), f64::from(b));
            let adjacent = {
                let (i, j) = signal_tones(n).unwrap();
                j - i == 1
            };
            let tw = if adjacent { 5.0 } else { 7.0 };
            let cases = [
                [(a + 10.0, -35.0), (b - 10.0, -35.0)],
                [(a - 10.0, -5.0), (b + 10.0, -5.0)],
                [(a, -5.0), (b, -5.0 - tw)],
                [(a + 10.0, -28.0 - tw), (b + 10.0, -28.0)],
                [(a - 10.0, -35.0 + tw), (b - 10.0, -35.0)],
            ];
            for tones in cases {
                let mut x = synth(&tones, 80);
                x.extend(synth(&[], 20));
                assert_eq!(detect(dir, &x), signal_char(n).unwrap().to_string(), "{dir:?} {n} {tones:?}");
            }
        }
    }
}

#[test]
fn rejects_outside_limits_single_and_three_tones() {
    for dir in DIRS {
        let f = dir.freqs().map(f64::from);
        for n in 1..=15u8 {
            let (a, b) = signal_freqs(dir, n).unwrap();
            let (a, b) = (f64::from(a), f64::from(b));
            let cases: Vec<Vec<(f64, f64)>> = vec![
                vec![(a + 30.0, -12.0), (b, -12.0)],
                vec![(a, -12.0), (b - 30.0, -12.0)],
                vec![(a - 30.0, -12.0), (b + 30.0, -12.0)],
                vec![(a, -45.0), (b, -45.0)],
                vec![(a, -12.0), (b, -24.0)],
                vec![(a, -12.0)],
                vec![(b, -5.0)],
            ];
            for tones in cases {
                assert_eq!(detect(dir, &synth(&tones, 150)), "", "{dir:?} {n} {tones:?}");
            }
            // Add any third tone of the group: never the signal, nor anything else.
            for &g in f.iter().filter(|&&g| g != a && g != b) {
                let tones = [(a, -12.0), (b, -12.0), (g, -12.0)];
                assert_eq!(detect(dir, &synth(&tones, 150)), "", "{dir:?} {n} {tones:?}");
            }
        }
        for &g in &f {
            assert_eq!(detect(dir, &synth(&[(g, -8.0)], 300)), "", "single {g}");
        }
    }
}

#[test]
fn noise_and_speech_band_signals_give_nothing() {
    for dir in DIRS {
        for (seed, level) in [(1, -10.0), (2, -20.0), (3, -35.0)] {
            let mut x = vec![0.0; 10 * 8000];
            add_noise(&mut x, level, seed);
            assert_eq!(detect(dir, &x), "", "{dir:?} noise {level}");
        }
        // DTMF digits are not R2 signals.
        for (l, h) in [(697.0, 1209.0), (941.0, 1477.0), (852.0, 1633.0), (770.0, 1336.0)] {
            assert_eq!(detect(dir, &synth(&[(l, -8.0), (h, -8.0)], 200)), "");
        }
    }
}

#[test]
fn other_direction_guard() {
    for dir in DIRS {
        let other = dir.opposite();
        for n in 1..=15u8 {
            // The other direction's signals, even loud, never trigger this receiver.
            let x = synth(&pair(other, n, -5.0), 150);
            assert_eq!(detect(dir, &x), "", "{dir:?} hearing {other:?} {n}");
            // A weak signal with a strong reflection of the other direction's signal
            // (both on at once, as in compelled signalling) is still received.
            for echo in [10u8] {
                if echo % 4 != n % 4 {
                    continue;
                }
                let mut tones = pair(dir, n, -30.0);
                tones.extend(pair(other, echo, -16.0));
                let got = detect(dir, &synth(&tones, 120));
                assert_eq!(got, signal_char(n).unwrap().to_string(), "{dir:?} {n} with echo {echo}");
            }
        }
    }
}

#[test]
fn window_response_matches_the_documented_bounds() {
    assert!((window_response(0.0) - 1.0).abs() < 1e-9);
    let db = |df: f64| 20.0 * window_response(df).log10();
    // Neighbour of the same direction, ±10 Hz: ≥ 30 dB down.
    assert!((105..=135).all(|d| db(f64::from(d)) < -30.0));
    // Nearest tone of the other direction (240 Hz), ±15 Hz: ≤ −20.7 dB.
    assert!((225..=255).all(|d| db(f64::from(d)) < -20.6));
    // 30 Hz off reads ≈ 1.6 dB low: the frequency check, not the level, rejects it.
    assert!((db(30.0) + 1.57).abs() < 0.05);
}

#[test]
fn chunking_reset_and_event_ring() {
    let dir = R2Direction::Backward;
    let mut x = synth(&pair(dir, 4, -12.0), 70);
    x.extend(synth(&[], 30));
    x.extend(synth(&pair(dir, 15, -12.0), 70));
    x.extend(synth(&[], 30));
    let x = quantise(&x);
    let mut whole = R2MfDetector::new(dir, R2MfRxConfig::default());
    whole.process(&x);
    let mut single = R2MfDetector::new(dir, R2MfRxConfig::default());
    x.chunks(1).for_each(|s| single.process(s));
    let mut n = 0;
    while let Some(e) = whole.poll() {
        assert_eq!(Some(e), single.poll());
        n += 1;
    }
    assert_eq!(n, 4);
    assert_eq!(single.poll(), None);

    // Never polled: 20 events into a ring of 8 keeps the newest.
    let mut det = R2MfDetector::new(dir, R2MfRxConfig::default());
    for _ in 0..5 {
        det.process(&x);
    }
    let got: Vec<_> = std::iter::from_fn(|| det.poll()).collect();
    assert_eq!(got.len(), EVENT_RING);
    assert_eq!(got.last().map(|e| e.signal), Some(None));
    det.process(&x[..300]);
    det.reset();
    assert_eq!(det.poll(), None);
    assert_eq!(det.current(), None);
    assert_eq!(det.direction(), dir);
}

#[test]
fn config_from_toml_with_defaults_and_configurable_timing() {
    let c: R2MfRxConfig = toml::from_str("min_on_ms = 60").unwrap();
    assert_eq!(c.min_on_ms, 60);
    assert_eq!(c.min_off_ms, R2MfRxConfig::default().min_off_ms);
    assert!(toml::from_str::<R2MfRxConfig>("min_on = 40").is_err());
    let dir = R2Direction::Forward;
    let x = quantise(&synth(&pair(dir, 9, -12.0), 40));
    assert_eq!(signals(&run(dir, &x)), "9");
    assert_eq!(signals(&run_cfg(dir, &x, c)), "", "40 ms tone < 60 ms");
}

#[test]
fn never_panics_on_extreme_input() {
    let mut rng = Rng(99);
    let junk: Vec<i16> = (0..20_000).map(|_| rng.next_u64() as i16).collect();
    let square: Vec<i16> = (0..20_000).map(|i| if (i / 3) % 2 == 0 { i16::MAX } else { i16::MIN }).collect();
    for dir in DIRS {
        let cfg = R2MfRxConfig {
            min_level_dbm0: f32::NEG_INFINITY,
            max_freq_deviation_hz: f32::NAN,
            min_on_ms: 0,
            min_off_ms: u32::MAX,
            ..R2MfRxConfig::default()
        };
        for c in [R2MfRxConfig::default(), cfg] {
            let mut det = R2MfDetector::new(dir, c);
            det.process(&junk);
            det.process(&square);
            det.process(&[]);
            while det.poll().is_some() {}
        }
        assert_eq!(signals(&run(dir, &junk)), "");
    }
}

// ------------------------------------------------------------ properties

/// (signal, level of the stronger tone, twist dB, offset a Hz, offset b Hz, on ms, off ms,
/// noise seed)
type Sig = (u8, f64, f64, f64, f64, u32, u32, u64);

fn sig() -> impl Strategy<Value = Sig> {
    (1u8..=15, -30.0..=-5.0f64, -1.0..=1.0f64, -10.0..=10.0f64, -10.0..=10.0f64, 40u32..=120, 30u32..=80, any::<u64>())
}

fn render(dir: R2Direction, sigs: &[Sig], noise_below: f64) -> Vec<i16> {
    let mut x = Vec::new();
    for &(n, level, twist, oa, ob, on, off, seed) in sigs {
        let (a, b) = signal_freqs(dir, n).unwrap();
        let (i, j) = signal_tones(n).unwrap();
        let max_tw = if j - i == 1 { 5.0 } else { 7.0 };
        let tw = twist * max_tw;
        // Twist moves the weaker tone down, never below -35 dBm0.
        let (la, lb) = if tw >= 0.0 { (level, (level - tw).max(-35.0)) } else { ((level + tw).max(-35.0), level) };
        let mut seg = synth(&[(f64::from(a) + oa, la), (f64::from(b) + ob, lb)], on);
        seg.extend(synth(&[], off));
        add_noise(&mut seg, la.min(lb) - noise_below, seed);
        x.extend(seg);
    }
    quantise(&x)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_within_q441_limits(
        forward in any::<bool>(),
        sigs in proptest::collection::vec(sig(), 1..5),
    ) {
        let dir = if forward { R2Direction::Forward } else { R2Direction::Backward };
        let want: String = sigs.iter().map(|s| signal_char(s.0).unwrap()).collect();
        prop_assert_eq!(signals(&run(dir, &render(dir, &sigs, 20.0))), want);
    }

    #[test]
    fn off_frequency_signals_are_never_received(
        forward in any::<bool>(),
        sigs in proptest::collection::vec(sig(), 1..3),
        off in 30.0..=45.0f64,
        which in 0usize..3,
        negative in any::<bool>(),
    ) {
        let dir = if forward { R2Direction::Forward } else { R2Direction::Backward };
        let s = if negative { -off } else { off };
        let moved: Vec<Sig> = sigs
            .iter()
            .map(|&(n, l, t, _, _, on, offm, seed)| {
                (n, l, t, if which != 1 { s } else { 0.0 }, if which != 0 { s } else { 0.0 }, on, offm, seed)
            })
            .collect();
        prop_assert_eq!(signals(&run(dir, &render(dir, &moved, 30.0))), "");
    }
}
