//! The variant named by RMAPFUZZ_VARIANT against the oracle
//! (`rmapfuzz::input::fuzzing::diff`), mutated operation by operation.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rmapfuzz::input::fuzzing::diff(data));
libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max: usize, seed: u32| {
    rmapfuzz::input::mutate::mutate(data, size, max, seed, libfuzzer_sys::fuzzer_mutate)
});
libfuzzer_sys::fuzz_crossover!(|a: &[u8], b: &[u8], out: &mut [u8], seed: u32| {
    rmapfuzz::input::mutate::crossover(a, b, out, seed)
});
