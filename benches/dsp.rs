//! DSP throughput: our DTMF detector vs spandsp's `dtmf_rx` on the same corpus in the same
//! process, with accuracy for both, and the per-channel cost of our other detectors (R2
//! MF, caller ID, call progress, fax tones) on realistic line audio.
//!
//! Run with `cargo bench --bench dsp`.
// Benches may read the clock: timing is their purpose (clippy.toml forbids it elsewhere).
// Timing uses the thread's CPU clock (the `cpu-time` crate), so a shared machine's
// descheduling is not counted as the detectors' cost.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/peers/spandsp.rs"]
mod spandsp;
use trunkd::dsp::testsig as talkoff;

use std::hint::black_box;

use trunkd::dsp::callerid::{render, CallerIdDetector, CallerIdMessage, CidDetect, CidFormat, CidTxConfig};
use trunkd::dsp::dtmf::{digit_freqs, DtmfDetector, DtmfEventKind, DtmfRxConfig};
use trunkd::dsp::faxtone::FaxToneDetector;
use trunkd::dsp::progress::{ProgressConfig, ProgressDetector};
use trunkd::dsp::r2mf::{signal_freqs, R2Direction, R2MfDetector, R2MfRxConfig};
use trunkd::dsp::testsig::Rng;
use trunkd::dsp::tone::render as render_tone;
use trunkd::dsp::zone::builtin_zone;
use trunkd::dsp::{DBM0_PEAK, DBM0_POWER, FRAME_SAMPLES};

const REPS: usize = 15;
const DIGITS: &[u8] = b"0123456789*#ABCD";

fn peak(dbm0: f64) -> f64 {
    f64::from(DBM0_PEAK) * 10f64.powf(dbm0 / 20.0)
}

/// Digit bursts at varied levels, twist, frequency offset (≤ 1%) and timing, in white
/// noise 25 dB below the weaker tone; returns samples and the digits sent.
fn digit_corpus(seconds: usize, seed: u64) -> (Vec<i16>, String) {
    let mut rng = Rng(seed);
    let tau = 2.0 * std::f64::consts::PI;
    let mut x: Vec<f64> = Vec::with_capacity(seconds * 8000);
    let mut sent = String::new();
    while x.len() < seconds * 8000 {
        let d = DIGITS[rng.below(DIGITS.len())] as char;
        let (lf, hf) = digit_freqs(d).unwrap();
        let low = -24.0 + 19.0 * rng.uniform();
        let twist = -3.0 + 9.0 * rng.uniform();
        let high = (low + twist).clamp(-24.0, -3.0);
        let on = 50 + rng.below(70);
        let off = 50 + rng.below(100);
        let (lf, hf) = (
            f64::from(lf) * (1.0 + 0.02 * (rng.uniform() - 0.5)),
            f64::from(hf) * (1.0 + 0.02 * (rng.uniform() - 0.5)),
        );
        let (pl, ph) = (rng.uniform() * tau, rng.uniform() * tau);
        let noise = (f64::from(DBM0_POWER) * 10f64.powf((low.min(high) - 25.0) / 10.0)).sqrt();
        for i in 0..(on + off) * 8 {
            let t = i as f64 / 8000.0;
            let tone = if i < on * 8 {
                peak(low) * (tau * lf * t + pl).sin() + peak(high) * (tau * hf * t + ph).sin()
            } else {
                0.0
            };
            x.push(tone + noise * (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 2.0);
        }
        sent.push(d);
    }
    (x.iter().map(|v| v.round().clamp(-32768.0, 32767.0) as i16).collect(), sent)
}

fn ours(x: &[i16]) -> String {
    let mut det = DtmfDetector::new(DtmfRxConfig::default());
    let mut out = String::new();
    for frame in x.chunks(FRAME_SAMPLES) {
        det.process(frame);
        while let Some(e) = det.poll_event() {
            if e.kind == DtmfEventKind::Begin {
                out.push(e.digit);
            }
        }
    }
    out
}

fn spandsp_rx(x: &[i16]) -> String {
    let mut rx = spandsp::DtmfRx::new();
    rx.process(x); // 160-sample blocks
    rx.digits().to_string()
}

/// Longest common subsequence length (digits matched in order).
fn lcs(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row = vec![0usize; b.len() + 1];
    for &ca in &a {
        let mut diag = 0;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if ca == cb { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    row[b.len()]
}

/// This thread's CPU time, seconds.
fn cpu_seconds() -> f64 {
    cpu_time::ThreadTime::now().as_duration().as_secs_f64()
}

/// CPU seconds one call of `f` takes.
fn once(f: impl FnOnce() -> String) -> f64 {
    let t = cpu_seconds();
    black_box(f());
    cpu_seconds() - t
}

fn main() {
    // Corpus: 60 s of digits (with noise), then 30 s of speech and 30 s of music. The
    // talk-off part is expected to yield no digits at all.
    let (mut corpus, want) = digit_corpus(60, 7);
    corpus.extend(talkoff::speech(15, 41, -12.0));
    corpus.extend(talkoff::speech(15, 42, -20.0));
    corpus.extend(talkoff::music(15, 43, -12.0));
    corpus.extend(talkoff::music(15, 44, -18.0));
    corpus.extend_from_slice(&[0; 1600]);
    let audio_s = corpus.len() as f64 / 8000.0;
    println!("DTMF corpus: {audio_s:.1} s of audio ({} digits sent, then 60 s speech/music talk-off)", want.len());

    // The machine may be shared: runs are interleaved and the fastest of each kept.
    let (mut t_ours, mut t_span) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..REPS {
        t_ours = t_ours.min(once(|| ours(&corpus)));
        t_span = t_span.min(once(|| spandsp_rx(&corpus)));
    }
    let per_frame = |t: f64| t / (audio_s * 50.0) * 1e9;
    let (s_ours, s_span) = (audio_s / t_ours, audio_s / t_span);
    println!(
        "  ours                  : {s_ours:>9.0} s audio / CPU-s  ({:>6.1} ns per 20 ms frame)",
        per_frame(t_ours)
    );
    println!(
        "  spandsp dtmf_rx       : {s_span:>9.0} s audio / CPU-s  ({:>6.1} ns per 20 ms frame)",
        per_frame(t_span)
    );
    println!("  ratio ours/spandsp: {:.2}x", s_ours / s_span);
    for (name, got) in [("ours", ours(&corpus)), ("spandsp", spandsp_rx(&corpus))] {
        let hit = lcs(&want, &got);
        println!(
            "  accuracy {name:<13}: expected {} found {} missed {} invented {}",
            want.len(),
            got.len(),
            want.len() - hit,
            got.len() - hit
        );
    }

    // R2 MF: one forward receiver over compelled-style signals, 20 ms frames.
    let dir = R2Direction::Forward;
    let tau = 2.0 * std::f64::consts::PI;
    let mut r2 = Vec::new();
    for k in 0..300u32 {
        let n = (k % 15 + 1) as u8;
        let (a, b) = signal_freqs(dir, n).unwrap();
        for i in 0..800 {
            let t = f64::from(i) / 8000.0;
            let v = peak(-14.0) * ((tau * f64::from(a) * t).sin() + (tau * f64::from(b) * t + 1.0).sin());
            r2.push(v as i16);
        }
        r2.extend_from_slice(&[0; 640]);
    }
    let frames = r2.len() / FRAME_SAMPLES;
    let mut got = 0usize;
    let t_r2 = (0..REPS)
        .map(|_| {
            let mut det = R2MfDetector::new(dir, R2MfRxConfig::default());
            let t = cpu_seconds();
            for f in r2.chunks(FRAME_SAMPLES) {
                det.process(black_box(f));
                while let Some(e) = det.poll() {
                    got += usize::from(e.signal.is_some());
                }
            }
            cpu_seconds() - t
        })
        .fold(f64::INFINITY, f64::min);
    let ns = t_r2 / frames as f64 * 1e9;
    println!("R2 MF receiver: {ns:.0} ns per 20 ms frame, {:.0} channels per core ({} signals over {REPS} runs, 300 sent per run)", 20e6 / ns, got);
    let ns_dtmf = per_frame(t_ours);
    println!("DTMF receiver : {ns_dtmf:.0} ns per 20 ms frame, {:.0} channels per core", 20e6 / ns_dtmf);

    // Caller ID, listening on an idle line (noise, a ring pause's silence, then an ETSI
    // FSK message and a DTMF one): what every on-hook FXO line costs in `auto` mode.
    let mut line = talkoff::speech(2, 51, -45.0);
    line.extend_from_slice(&[0; 8000]);
    let msg =
        CallerIdMessage { number: Some("13912345678".into()), name: Some("ZHANG SAN".into()), ..Default::default() };
    for format in [CidFormat::Etsi, CidFormat::Dtmf] {
        line.extend(render(&CidTxConfig { format, ..CidTxConfig::default() }, &msg).unwrap());
        line.extend_from_slice(&[0; 4000]);
    }
    let (ns, n) = cost(
        &line,
        || CallerIdDetector::new(CidDetect::Auto),
        |d, f| {
            d.process(f);
            std::iter::from_fn(|| d.poll()).count()
        },
    );
    println!("caller ID (auto: V.23 + Bell 202 + DTMF): {ns:.0} ns per 20 ms frame, {:.0} lines per core ({n} messages per run)", 20e6 / ns);
    // Most of an on-hook line's life: quiet (line noise at −70 dBm0).
    let quiet: Vec<i16> = talkoff::speech(10, 53, -70.0);
    let (ns, _) = cost(
        &quiet,
        || CallerIdDetector::new(CidDetect::Auto),
        |d, f| {
            d.process(f);
            std::iter::from_fn(|| d.poll()).count()
        },
    );
    println!("caller ID (auto) on a quiet idle line: {ns:.0} ns per 20 ms frame, {:.0} lines per core", 20e6 / ns);

    // Call progress (zone cn) and fax tones on a call: speech, then busy tone.
    let zone = builtin_zone("cn").unwrap();
    let mut call = talkoff::speech(10, 52, -15.0);
    call.extend(render_tone(&zone.busy, 4_000));
    let (ns, n) = cost(
        &call,
        || ProgressDetector::new(&zone, ProgressConfig::default()),
        |d, f| {
            d.process(f);
            std::iter::from_fn(|| d.poll()).count()
        },
    );
    println!("call progress (cn): {ns:.0} ns per 20 ms frame, {:.0} channels per core ({n} tones per run)", 20e6 / ns);
    let (ns, _) = cost(&call, FaxToneDetector::new, |d, f| {
        d.process(f);
        std::iter::from_fn(|| d.poll()).count()
    });
    println!("fax/modem tones: {ns:.0} ns per 20 ms frame, {:.0} channels per core", 20e6 / ns);
}

/// CPU time per 20 ms frame of a fresh detector over `x` (fastest of REPS runs), and how
/// many events one run gave.
fn cost<D>(x: &[i16], make: impl Fn() -> D, mut step: impl FnMut(&mut D, &[i16]) -> usize) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..REPS {
        let mut d = make();
        let t = cpu_seconds();
        events = x.chunks(FRAME_SAMPLES).map(|f| step(&mut d, black_box(f))).sum();
        best = best.min(cpu_seconds() - t);
    }
    (best / (x.len() / FRAME_SAMPLES) as f64 * 1e9, events)
}
