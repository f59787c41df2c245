//! AFL++ front end of `rmapfuzz::fuzzing::parse`.
fn main() {
    afl::fuzz!(|data: &[u8]| rmapfuzz::fuzzing::parse(data));
}
