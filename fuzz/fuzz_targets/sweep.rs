//! A scenario, then every allocation failure of its last operation.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rmapfuzz::fuzzing::sweep(data));
