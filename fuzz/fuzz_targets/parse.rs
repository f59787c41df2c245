//! The text-format parser: errors, never panics; what it accepts round-trips.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rmapfuzz::input::fuzzing::parse(data));
