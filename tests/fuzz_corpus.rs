//! Replays the committed fuzz corpora (fuzz/corpus/<target>/) through the fuzz bodies, so
//! every `cargo test` exercises what the fuzzers found interesting, without a fuzzer.

use std::path::Path;

use trunkd::signalling::pri::fuzzing;

fn replay(target: &str, body: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        body(&data);
        // Every prefix too: truncated input is what a broken link delivers.
        for cut in (0..data.len()).step_by(3) {
            body(&data[..cut]);
        }
        n += 1;
    }
    n
}

#[test]
fn q931_decode_corpus() {
    assert!(replay("q931_decode", fuzzing::q931_decode) >= 15);
}

#[test]
fn q921_frames_corpus() {
    assert!(replay("q921_frames", fuzzing::q921_frames) >= 5);
}

#[test]
fn pri_span_corpus() {
    assert!(
        replay("pri_span", |d| {
            fuzzing::pri_span(d);
        }) >= 15
    );
    // The SETUP seed, whole, is offered to the call core: the body reaches call control.
    let setup = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/pri_span/setup")).unwrap();
    assert_eq!(fuzzing::pri_span(&setup), 1);
}
