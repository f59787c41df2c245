//! AFL++ front end of `rmapfuzz::fuzzing::diff`.
fn main() {
    afl::fuzz!(|data: &[u8]| rmapfuzz::fuzzing::diff(data));
}
