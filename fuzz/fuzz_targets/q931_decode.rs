//! cargo fuzz target: see `trunkd::signalling::pri::fuzzing::q931_decode` (seeds in fuzz/corpus/q931_decode/).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = trunkd::signalling::pri::fuzzing::q931_decode(data);
});
