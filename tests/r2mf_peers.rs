//! R2 MF interop with spandsp (same process): its generator feeds our receiver, our
//! generator feeds its receiver, for all 15 signals in both directions.

#[path = "peers/spandsp.rs"]
mod spandsp;

use trunkd::dsp::r2mf::{signal_char, signal_from_char, R2Direction, R2MfDetector, R2MfGenerator, R2MfRxConfig};

const ALL: &str = "1234567890BCDEF";

fn ours_decode(dir: R2Direction, x: &[i16]) -> String {
    let mut det = R2MfDetector::new(dir, R2MfRxConfig::default());
    let mut out = String::new();
    for frame in x.chunks(160).chain(std::iter::once(&[0i16; 400][..])) {
        det.process(frame);
        while let Some(e) = det.poll() {
            if let Some(c) = e.signal.and_then(signal_char) {
                out.push(c);
            }
        }
    }
    out
}

/// Compelled-style rendering with our generator: each signal `on_ms`, then `off_ms` off.
fn ours_render(dir: R2Direction, signals: &str, level: f32, on_ms: usize, off_ms: usize) -> Vec<i16> {
    let mut g = R2MfGenerator::new(dir, level);
    let mut out = Vec::new();
    for c in signals.chars() {
        g.set_signal(signal_from_char(c));
        let mut on = vec![0i16; on_ms * 8];
        g.fill(&mut on);
        out.extend_from_slice(&on);
        g.set_signal(None);
        let mut off = vec![0i16; off_ms * 8];
        g.fill(&mut off);
        out.extend_from_slice(&off);
    }
    out
}

#[test]
fn spandsp_generated_signals_are_decoded_by_ours() {
    for (fwd, dir) in [(true, R2Direction::Forward), (false, R2Direction::Backward)] {
        for (on, off) in [(100, 60), (60, 40), (40, 30)] {
            let x = spandsp::r2_mf_render(fwd, ALL, on, off);
            assert_eq!(ours_decode(dir, &x), ALL, "{dir:?} {on}/{off} ms");
            // Our receiver for the other direction hears nothing.
            assert_eq!(ours_decode(dir.opposite(), &x), "", "{dir:?} on the wrong receiver");
        }
    }
}

#[test]
fn our_generated_signals_are_decoded_by_spandsp() {
    for (fwd, dir) in [(true, R2Direction::Forward), (false, R2Direction::Backward)] {
        for level in [-11.5, -5.0, -25.0] {
            let x = ours_render(dir, ALL, level, 100, 60);
            assert_eq!(spandsp::r2_mf_decode(fwd, &x), ALL, "{dir:?} at {level} dBm0");
            assert_eq!(ours_decode(dir, &x), ALL, "{dir:?} at {level} dBm0 (ours)");
        }
    }
}
