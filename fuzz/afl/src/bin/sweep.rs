//! AFL++ front end of `rmapfuzz::fuzzing::sweep`.
fn main() {
    afl::fuzz!(|data: &[u8]| rmapfuzz::fuzzing::sweep(data));
}
