//! AFL++ front end of `rmapfuzz::input::fuzzing::diff`.
fn main() {
    afl::fuzz!(|data: &[u8]| rmapfuzz::input::fuzzing::diff(data));
}
