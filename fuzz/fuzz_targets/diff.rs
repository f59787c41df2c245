//! The variant named by RMAPFUZZ_VARIANT against the oracle, after every operation.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rmapfuzz::fuzzing::diff(data));
