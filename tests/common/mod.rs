//! Shared helpers for the integration tests: reading and writing WAVs, finding signals,
//! external tools.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use trunkd::dsp::dtmf::{DtmfDetector, DtmfEventKind, DtmfRxConfig};

/// Reads a 16-bit WAV into per-channel sample vectors.
pub fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<i16>>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    let all: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let mut chans = vec![Vec::with_capacity(all.len() / ch); ch];
    for (i, s) in all.into_iter().enumerate() {
        chans[i % ch].push(s);
    }
    (spec, chans)
}

/// Writes 16-bit PCM channels (of equal rate, interleaved on disk) as a WAV file.
pub fn write_wav(path: &Path, rate: u32, channels: &[Vec<i16>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = channels.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..n {
        for c in channels {
            w.write_sample(c.get(i).copied().unwrap_or(0)).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// An external tool's path, or `None` when it is not installed: the caller then skips
/// its check with a message; with `CI` set a missing tool fails the test instead.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "{name} is required when CI is set");
        eprintln!("skipping: {name} not installed");
    }
    found
}

/// DTMF digits found in a signal by our detector.
pub fn dtmf_digits(samples: &[i16]) -> String {
    let mut d = DtmfDetector::new(DtmfRxConfig::default());
    let mut out = String::new();
    for chunk in samples.chunks(160) {
        d.process(chunk);
        while let Some(ev) = d.poll_event() {
            if matches!(ev.kind, DtmfEventKind::End { .. }) {
                out.push(ev.digit);
            }
        }
    }
    out
}

/// Offset where `needle` occurs in `hay` exactly (sample for sample), if anywhere.
pub fn find_exact(hay: &[i16], needle: &[i16]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    // Anchor on the first loud sample of the needle to keep the search cheap.
    let k = needle.iter().position(|s| s.unsigned_abs() > 1000)?;
    (k..=hay.len() - (needle.len() - k)).find_map(|i| {
        let start = i - k;
        (hay[i] == needle[k] && hay[start..start + needle.len()] == *needle).then_some(start)
    })
}

/// Power of `freq` relative to the total power of `x` (0..=1), by Goertzel.
pub fn tone_ratio(x: &[i16], freq: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * freq / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0f32, 0f32);
    let mut total = 0f32;
    for &v in x {
        let v = v as f32;
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        total += v * v;
    }
    let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if total == 0.0 {
        0.0
    } else {
        2.0 * p / (x.len() as f32 * total)
    }
}

/// A TCP port nobody listens on right now (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
