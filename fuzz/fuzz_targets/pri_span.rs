//! cargo fuzz target: see `trunkd::signalling::pri::fuzzing::pri_span` (seeds in fuzz/corpus/pri_span/).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = trunkd::signalling::pri::fuzzing::pri_span(data);
});
