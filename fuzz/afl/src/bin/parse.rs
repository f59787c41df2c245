//! AFL++ front end of `rmapfuzz::input::fuzzing::parse`.
fn main() {
    afl::fuzz!(|data: &[u8]| rmapfuzz::input::fuzzing::parse(data));
}
