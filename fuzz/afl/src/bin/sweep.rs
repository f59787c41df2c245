//! AFL++ front end of `rmapfuzz::input::fuzzing::sweep`.
fn main() {
    afl::fuzz!(|data: &[u8]| rmapfuzz::input::fuzzing::sweep(data));
}
