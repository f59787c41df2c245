//! Counters that libFuzzer reads after every run next to the code
//! coverage counters (its "extra counters" section). The fuzz harness marks
//! abstract features of the world it built in them, so that an input
//! reaching a new shape of world is kept even when it ran no new code: the
//! way to a bug often passes through states that look like nothing to
//! code coverage (an unfaulted VMA next to a faulted one, an anon_vma no
//! VMA uses). Outside libFuzzer nothing reads them.

use std::sync::atomic::{AtomicU8, Ordering};

/// How many counters there are; features are hashed onto them.
pub const COUNTERS: usize = 4096;

// libFuzzer finds the section through the linker's __start_/__stop_
// symbols for it and clears it before every run.
#[used]
#[link_section = "__libfuzzer_extra_counters"]
static EXTRA_COUNTERS: [AtomicU8; COUNTERS] = [const { AtomicU8::new(0) }; COUNTERS];

/// Counts one occurrence of `feature` (saturating; libFuzzer buckets the
/// counts, so how often a feature occurs is a feature too).
pub fn mark(feature: u64) {
    let counter = &EXTRA_COUNTERS[(feature % COUNTERS as u64) as usize];
    let n = counter.load(Ordering::Relaxed);
    counter.store(n.saturating_add(1), Ordering::Relaxed);
}

/// The current count of `feature`'s counter.
pub fn count(feature: u64) -> u8 {
    EXTRA_COUNTERS[(feature % COUNTERS as u64) as usize].load(Ordering::Relaxed)
}
