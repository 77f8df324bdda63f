//! Call progress and fax tone detection against signals we did not generate: spandsp's
//! modem connect tone generator (T.30 CNG, V.25 ANS, ANS/PR, V.8 ANSam) and busy tones
//! rendered by sox. Without sox the sox tests say so and pass, unless `CI` is set.

mod common;
#[path = "peers/spandsp.rs"]
mod spandsp;

use common::tool;

use std::process::Command;

use spandsp::{connect_tone_render, ConnectTone};
use trunkd::dsp::faxtone::{FaxTone, FaxToneDetector};
use trunkd::dsp::progress::{CadenceLearner, ProgressConfig, ProgressDetector, ProgressTone};
use trunkd::dsp::zone::builtin_zones;

fn fax_tones(x: &[i16]) -> Vec<FaxTone> {
    let mut det = FaxToneDetector::new();
    let mut out = Vec::new();
    for c in x.chunks(160) {
        det.process(c);
        while let Some(e) = det.poll() {
            out.push(e.tone);
        }
    }
    out
}

/// 200 ms of silence, then `ms` of the spandsp tone, then 300 ms of silence.
fn spandsp_tone(tone: ConnectTone, ms: usize) -> Vec<i16> {
    let mut x = vec![0i16; 1600];
    x.extend(connect_tone_render(tone, ms));
    x.extend(vec![0i16; 2400]);
    x
}

#[test]
fn spandsp_connect_tones_are_identified() {
    let cases = [
        (ConnectTone::FaxCng, 4000, vec![FaxTone::Cng]),
        (ConnectTone::Ans, 3300, vec![FaxTone::Ced]),
        (ConnectTone::AnsPr, 3300, vec![FaxTone::Ced, FaxTone::AnsPr]),
        (ConnectTone::AnsAm, 3300, vec![FaxTone::Ced, FaxTone::AnsAm]),
    ];
    for (tone, ms, want) in cases {
        let x = spandsp_tone(tone, ms);
        assert!(x.iter().any(|&s| s.abs() > 1000), "{tone:?}: spandsp rendered silence");
        assert_eq!(fax_tones(&x), want, "{tone:?}");
    }
}

#[test]
fn spandsp_connect_tones_are_not_call_progress() {
    for z in builtin_zones().unwrap() {
        for tone in [ConnectTone::FaxCng, ConnectTone::Ans, ConnectTone::AnsAm] {
            let mut det = ProgressDetector::new(&z, ProgressConfig::default());
            det.process(&spandsp_tone(tone, 4000));
            assert_eq!(det.poll(), None, "{} {tone:?}", z.name);
        }
    }
}

/// Renders with sox: `cycles` × (`on` s of `freqs` mixed, at `vol` linear, + `off` s).
fn sox_tone(freqs: &[f32], vol: f32, on: f32, off: f32, cycles: u32) -> Option<Vec<i16>> {
    let sox = tool("sox")?;
    let mut args: Vec<String> =
        ["-n", "-r", "8000", "-b", "16", "-e", "signed", "-c", "1", "-t", "raw", "-"].map(String::from).to_vec();
    for (i, f) in freqs.iter().enumerate() {
        args.extend(["synth".into(), on.to_string(), "sine".into()]);
        if i > 0 {
            args.push("mix".into());
        }
        args.push(f.to_string());
    }
    args.extend(["vol".into(), vol.to_string(), "pad".into(), "0".into(), off.to_string()]);
    args.extend(["repeat".into(), (cycles - 1).to_string()]);
    let out = Command::new(sox).args(&args).output().expect("run sox");
    assert!(out.status.success(), "sox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    // 200 ms of silence first, so the first burst is heard whole.
    let mut x = vec![0i16; 1600];
    x.extend(out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
    Some(x)
}

#[test]
fn sox_busy_tones_are_detected_and_learned() {
    for z in builtin_zones().unwrap() {
        let freqs: Vec<f32> = z.busy.freqs.iter().map(|&(f, _)| f).collect();
        let (on, off) = (z.busy.cadence[0] as f32 / 1000.0, z.busy.cadence[1] as f32 / 1000.0);
        // sox's sine is full scale; `mix` adds components and `vol` scales the sum
        // (0.15 ≈ −13 dBm0 for one component).
        let Some(x) = sox_tone(&freqs, 0.15, on, off, 8) else { return };
        let mut det = ProgressDetector::new(&z, ProgressConfig::default());
        let mut got = Vec::new();
        for c in x.chunks(160) {
            det.process(c);
            while let Some(e) = det.poll() {
                got.push(e.tone);
            }
        }
        assert_eq!(got, vec![ProgressTone::Busy], "{}", z.name);

        let mut learner = CadenceLearner::new();
        learner.process(&x);
        let t = learner.result().unwrap_or_else(|| panic!("{}: nothing learned", z.name));
        let mut lf: Vec<f32> = t.freqs.iter().map(|&(f, _)| f).collect();
        lf.sort_by(f32::total_cmp);
        assert_eq!(lf.len(), freqs.len(), "{}: {t:?}", z.name);
        for (a, b) in lf.iter().zip(&freqs) {
            assert!((a - b).abs() <= 5.0, "{}: {t:?}", z.name);
        }
        for (a, b) in t.cadence.iter().zip(&z.busy.cadence) {
            assert!(a.abs_diff(*b) <= 10, "{}: {t:?}", z.name);
        }
        assert_eq!(t.cadence.len(), 2, "{}: {t:?}", z.name);
    }
}
