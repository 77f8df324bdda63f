//! cargo fuzz target: see `trunkd::signalling::pri::fuzzing::q921_frames` (seeds in fuzz/corpus/q921_frames/).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = trunkd::signalling::pri::fuzzing::q921_frames(data);
});
