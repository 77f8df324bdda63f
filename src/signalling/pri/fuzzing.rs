//! Fuzz bodies for the PRI decoders and the live stack, shared by the cargo-fuzz targets
//! in `fuzz/` and by `tests/fuzz_corpus.rs`, which replays the committed corpus on every
//! `cargo test` so CI exercises them without a fuzzer.
//!
//! Each body takes arbitrary bytes and panics only on a real defect (a broken invariant).

use std::sync::OnceLock;
use std::time::Duration;

use super::profile::PriProfile;
use super::q921::{Q921Config, Role, Q921};
use super::q931::{decode, Ie};
use super::{e1_bchannels, PriSpan, Side, DCHANNEL};
use crate::backend::line::LineEvent;
use crate::signalling::{CallCommand, CallEvent, Cause, Party, SigInput, SigOutput, SignallingCore};
use crate::time::Instant;

/// Q.931 decoder: never panics; what it decodes re-encodes to a fixpoint.
pub fn q931_decode(data: &[u8]) {
    let Ok(first) = decode(data) else { return };
    let once = first.msg.encode();
    let again = match decode(&once) {
        Ok(d) => d,
        Err(e) => panic!("our own encoding does not decode: {e}"),
    };
    let canonical: Vec<Ie> = first.msg.canonical_order().into_iter().cloned().collect();
    assert_eq!(again.msg.ies, canonical);
    assert_eq!(again.msg.encode(), once);
}

/// Splits fuzz input into length-prefixed chunks (first byte: length).
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        let n = usize::from(len).min(tail.len());
        let (chunk, more) = tail.split_at(n);
        rest = more;
        Some(chunk)
    })
}

/// Q.921 on an established link (network side): any frames, with time passing between
/// them, never panic and never break the window.
pub fn q921_frames(data: &[u8]) {
    let mut l = Q921::new(Role::Nt, Q921Config::default());
    let mut now = Instant::ZERO;
    l.establish(now);
    while l.poll_transmit().is_some() {}
    // The user side's UA: a response from the user has C/R = 1.
    l.handle_frame(now, &[0x02, 0x01, 0x73]);
    for i in 0..5u8 {
        l.send(now, vec![0x08, 0x02, 0x00, i, 0x7d]);
    }
    for chunk in chunks(data) {
        match chunk.first() {
            Some(0xff) => now += Duration::from_millis(u64::from(chunk.get(1).copied().unwrap_or(0)) * 50),
            Some(0xfe) => l.send(now, chunk[1..].to_vec()),
            _ => l.handle_frame(now, chunk),
        }
        if l.poll_timeout().is_some_and(|t| t <= now) {
            l.handle_timeout(now);
        }
        while l.poll_transmit().is_some() {}
        while l.poll_event().is_some() {}
        assert!(l.outstanding() <= usize::from(l.config().k), "window exceeded");
    }
}

/// The whole user-side stack with its D-channel up: chunks are raw frames, Q.931
/// messages wrapped in well-formed I frames (so they reach call control), call-core
/// commands, or time passing. Nothing may panic and every channel keeps a sane state.
/// Returns how many calls were offered to the call core (for tests of the body itself).
pub fn pri_span(data: &[u8]) -> usize {
    // Parsing profiles.toml was ~70% of an iteration: parse it once per process.
    static ETSI: OnceLock<PriProfile> = OnceLock::new();
    let mut p =
        ETSI.get_or_init(|| PriProfile::builtin("etsi").unwrap_or_else(|e| panic!("built-in profile: {e}"))).clone();
    p.restart_on_start = false;
    let mut span = PriSpan::new(Side::Te, p, true);
    let mut now = Instant::ZERO;
    span.handle_timeout(now);
    let frame = |f: Vec<u8>| SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(f) };
    // The network's UA to our SABME (a response from the network has C/R = 0).
    span.handle_input(now, frame(vec![0x00, 0x01, 0x73]));
    let mut ns: u8 = 0;
    let mut offered = 0;
    for chunk in chunks(data) {
        let Some((&tag, body)) = chunk.split_first() else { continue };
        match tag % 4 {
            0 => span.handle_input(now, frame(body.to_vec())),
            1 => {
                // An I frame command from the network: C/R = 1, N(S) in sequence, N(R) 0.
                let mut f = vec![0x02, 0x01, ns << 1, 0x00];
                f.extend_from_slice(body);
                ns = (ns + 1) % 128;
                span.handle_input(now, frame(f));
            }
            2 => {
                let chan = u16::from(body.first().copied().unwrap_or(1) % 32);
                let cmd = match body.get(1).copied().unwrap_or(0) % 6 {
                    0 => CallCommand::Originate { called: "100".into(), calling: Party::number("200") },
                    1 => CallCommand::Proceeding,
                    2 => CallCommand::Alerting,
                    3 => CallCommand::Progress,
                    4 => CallCommand::Answer,
                    _ => CallCommand::Hangup { cause: Cause::from_code(body.get(2).copied().unwrap_or(16) % 128) },
                };
                span.handle_input(now, SigInput::Command { chan, cmd });
            }
            _ => {
                now += Duration::from_millis(u64::from(body.first().copied().unwrap_or(0)) * 100);
                span.handle_timeout(now);
            }
        }
        while let Some(o) = span.poll_output() {
            if let SigOutput::Event { event: CallEvent::Incoming { .. }, .. } = o {
                offered += 1;
            }
        }
        for ch in e1_bchannels() {
            let st = span.channel_state(u16::from(ch));
            assert!(!st.is_empty() && st != "unknown", "channel {ch} in no state");
        }
    }
    offered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_on_length_prefixes_and_tolerate_short_tails() {
        let v: Vec<&[u8]> = chunks(&[2, 1, 2, 0, 3, 9]).collect();
        assert_eq!(v, [&[1u8, 2][..], &[][..], &[9][..]]);
    }

    #[test]
    fn a_setup_wrapped_by_the_span_body_reaches_call_control() {
        // tag 1 = I frame; a SETUP for channel 1 from the network, then time passes.
        let setup = [
            0x08, 0x02, 0x00, 0x05, 0x05, 0x04, 0x03, 0x80, 0x90, 0xa3, 0x18, 0x03, 0xa9, 0x83, 0x81, 0x70, 0x04, 0x81,
            0x31, 0x32, 0x33, 0xa1,
        ];
        let mut data = vec![setup.len() as u8 + 1, 1];
        data.extend_from_slice(&setup);
        data.extend_from_slice(&[2, 3, 10]);
        assert_eq!(pri_span(&data), 1);
        // The same bytes as a raw frame (no I frame header) are not a call.
        data[1] = 0;
        assert_eq!(pri_span(&data), 0);
    }
}
