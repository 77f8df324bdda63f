//! `trunkd analyze FILE.wav` on recordings made by other tools (sox) and by our own
//! generators: what it prints is what the detectors heard, with times.

mod common;

use common::{tool, write_wav};
use std::process::Command;

use trunkd::dsp::callerid::{CallerIdGenerator, CallerIdMessage, CidFormat, CidTxConfig};
use trunkd::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};
use trunkd::dsp::tone::render;
use trunkd::dsp::zone::builtin_zone;

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

fn analyze(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trunkd")).arg("analyze").args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A line's worth of events: caller ID between silence, digits, then busy tone.
fn line_recording() -> Vec<i16> {
    let mut x = silence(500);
    let msg =
        CallerIdMessage { number: Some("13912345678".into()), name: Some("ZHANG SAN".into()), ..Default::default() };
    let mut cid =
        CallerIdGenerator::new(&CidTxConfig { format: CidFormat::Etsi, ..CidTxConfig::default() }, &msg).unwrap();
    let mut buf = vec![0i16; cid.duration_samples() as usize];
    cid.fill(&mut buf);
    x.extend(buf);
    x.extend(silence(1000));
    let mut dtmf = DtmfGenerator::new(DtmfTxConfig::default());
    dtmf.push_digits("2580#");
    let mut buf = vec![0i16; 8 * 800];
    dtmf.fill(&mut buf);
    x.extend(buf);
    x.extend(silence(500));
    x.extend(render(&builtin_zone("cn").unwrap().busy, 3_500));
    x
}

#[test]
fn prints_caller_id_digits_and_the_busy_tone_with_its_cadence() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("line.wav");
    write_wav(&wav, 8000, &[line_recording()]);
    let (ok, text) = analyze(&[wav.to_str().unwrap(), "--zone", "cn"]);
    assert!(ok, "{text}");
    assert!(text.contains("caller ID (etsi): number 13912345678 name \"ZHANG SAN\""), "{text}");
    let digits: String =
        text.lines().filter_map(|l| l.split("DTMF ").nth(1)).filter_map(|r| r.chars().next()).collect();
    assert_eq!(digits, "2580#", "{text}");
    assert!(text.contains("busy tone (zone cn)"), "{text}");
    assert!(text.contains("busy = { freqs = [[450.0"), "the cadence as a zone entry: {text}");
    // The learner measures the cadence to ±10 ms (10 ms analysis steps).
    let cadence: Vec<i64> = text
        .split("cadence = [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .map(|c| c.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_default();
    assert_eq!(cadence.len(), 2, "{text}");
    assert!(cadence.iter().all(|ms| (ms - 350).abs() <= 10), "{cadence:?}");
    // Lines come in time order: caller ID, then the digits, then busy.
    let pos = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
    assert!(pos("caller ID") < pos("DTMF 2") && pos("DTMF #") < pos("busy tone"), "{text}");
}

#[test]
fn stereo_recordings_and_other_rates_are_analysed_per_channel_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("call.wav");
    // A trunkd-style stereo recording at 16 kHz: the line on the left, silence on the right.
    let line = line_recording();
    let up: Vec<i16> = line.iter().flat_map(|&s| [s, s]).collect();
    write_wav(&wav, 16_000, &[up, vec![0; line.len() * 2]]);
    let (ok, text) = analyze(&[wav.to_str().unwrap(), "--json"]);
    assert!(ok, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let chans = v.as_array().unwrap();
    assert_eq!(chans.len(), 2);
    let kinds = |c: &serde_json::Value| -> Vec<String> {
        c["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap().to_string()).collect()
    };
    let left = kinds(&chans[0]);
    assert!(left.contains(&"caller-id".to_string()), "{left:?}");
    assert_eq!(left.iter().filter(|k| *k == "dtmf").count(), 5, "{left:?}");
    assert!(kinds(&chans[1]).is_empty());
    assert_eq!(chans[0]["findings"][0]["message"]["number"], "13912345678");
}

#[test]
fn an_8_bit_recording_is_scaled_up_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("8bit.wav");
    let mut dtmf = DtmfGenerator::new(DtmfTxConfig::default());
    dtmf.push_digits("19");
    let mut x = vec![0i16; 8 * 500];
    dtmf.fill(&mut x);
    let spec =
        hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 8, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for s in x {
        w.write_sample((s >> 8) as i8).unwrap();
    }
    w.finalize().unwrap();
    let (ok, text) = analyze(&[wav.to_str().unwrap()]);
    assert!(ok && text.contains("DTMF 1") && text.contains("DTMF 9"), "{text}");
}

#[test]
fn a_fax_tone_from_sox_and_bad_input_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("fax.wav");
    if let Some(sox) = tool("sox") {
        let made = Command::new(sox)
            .args(["-n", "-r", "8000", "-b", "16", "-c", "1"])
            .arg(&wav)
            .args(["synth", "0.5", "sine", "1100", "vol", "0.3", ":", "synth", "3", "sine", "1100", "vol", "0"])
            .status()
            .unwrap();
        assert!(made.success());
        let (ok, text) = analyze(&[wav.to_str().unwrap()]);
        assert!(ok && text.contains("fax/modem tone cng"), "{text}");
    }
    let (ok, text) = analyze(&["/nonexistent.wav"]);
    assert!(!ok && text.contains("/nonexistent.wav"), "{text}");
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"RIFF....WAVEjunk").unwrap();
    let (ok, _) = analyze(&[bad.to_str().unwrap()]);
    assert!(!ok);
    let quiet = dir.path().join("quiet.wav");
    write_wav(&quiet, 8000, &[silence(500)]);
    let (ok, text) = analyze(&[quiet.to_str().unwrap(), "--zone", "atlantis"]);
    assert!(!ok && text.contains("atlantis"), "{text}");
}

#[test]
fn digits_and_r2_signals_are_timed_from_their_start_and_kept_when_the_file_ends_on_them() {
    use trunkd::analyze::{analyze_samples, AnalyzeOptions, Finding};
    use trunkd::dsp::r2mf::{R2Direction, R2MfGenerator};
    let opts = AnalyzeOptions { zones: vec!["cn".into()] };
    // Digits at known starts (80 ms on, 80 ms off from 300 ms), the recording cut 60 ms
    // into the last one.
    let mut x = silence(300);
    let mut dtmf = DtmfGenerator::new(DtmfTxConfig::default());
    dtmf.push_digits("147");
    let mut buf = vec![0i16; 8 * (160 * 2 + 60)];
    dtmf.fill(&mut buf);
    x.extend(buf);
    let found = analyze_samples(&x, &opts).unwrap();
    let digits: Vec<(char, f64, u32)> = found
        .iter()
        .filter_map(|f| match f {
            Finding::Dtmf { at, digit, duration_ms } => Some((*digit, *at, *duration_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(digits.iter().map(|d| d.0).collect::<String>(), "147", "{found:?}");
    for (i, (d, at, _)) in digits.iter().enumerate() {
        let want = 0.300 + 0.160 * i as f64;
        assert!((at - want).abs() <= 0.010, "{d} at {at}, sent at {want}");
    }
    assert!((digits[0].2 as i64 - 80).abs() <= 10, "{digits:?}");
    // The cut digit lasted 60 ms in the file: it is reported, with about that duration.
    assert!((digits[2].2 as i64 - 60).abs() <= 10, "{digits:?}");

    // An R2 forward signal from 200 ms, 150 ms long, then one still on at the end.
    let mut g = R2MfGenerator::new(R2Direction::Forward, -8.0);
    let mut x = silence(200);
    let mut buf = vec![0i16; 8 * 150];
    g.set_signal(Some(1));
    g.fill(&mut buf);
    x.extend(&buf);
    x.extend(silence(100));
    g.set_signal(Some(5));
    g.fill(&mut buf);
    x.extend(&buf);
    let r2: Vec<(char, f64, u32)> = analyze_samples(&x, &opts)
        .unwrap()
        .into_iter()
        .filter_map(|f| match f {
            Finding::R2Mf { at, signal, duration_ms, .. } => Some((signal, at, duration_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(r2.len(), 2, "{r2:?}");
    assert!((r2[0].1 - 0.200).abs() <= 0.010 && (r2[0].2 as i64 - 150).abs() <= 12, "{r2:?}");
    assert!((r2[1].1 - 0.450).abs() <= 0.010 && (r2[1].2 as i64 - 150).abs() <= 12, "{r2:?}");
}
