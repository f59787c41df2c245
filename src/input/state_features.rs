//! Abstract features of a world, for the fuzzers to steer by. Code
//! coverage rewards an input that runs new code; many bugs here need a
//! world of a certain shape first (a faulted VMA right above an unfaulted
//! one, an anon_vma that no VMA uses but a grandchild still links to), and
//! building that shape runs no new code. The fuzz harness hashes these
//! features of the final state into libFuzzer's extra counters
//! (`rmap_ffi::extra_counters`), so inputs that reach new shapes are kept
//! and grown.

use std::hash::{Hash, Hasher};

use crate::check::snapshot::{AvRef, Keyed, Snapshot};

fn key(feature: impl Hash) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    feature.hash(&mut h);
    h.finish()
}

/// How many parents up the hierarchy the anon_vma `av` is (0 for a root).
fn depth(snap: &Snapshot, av: AvRef) -> usize {
    let mut depth = 0;
    let mut at = av;
    while let AvRef::Id(id) = at {
        match snap.anon_vmas.get(id as usize) {
            Some(a)
                if a.parent != at
                    && matches!(a.parent, AvRef::Id(_))
                    && depth < snap.anon_vmas.len() =>
            {
                at = a.parent;
                depth += 1;
            }
            _ => break,
        }
    }
    depth
}

fn faulted(av: AvRef) -> bool {
    av != AvRef::Null
}

/// Calls `emit` with one key per feature occurrence of `snap`: the sizes
/// of the world, each VMA's chain and depth, each pair of touching VMAs
/// (the merge candidates), each anon_vma's counters and place in its
/// hierarchy (the reuse candidates), each page's sharing.
pub fn features(snap: &Snapshot, mut emit: impl FnMut(u64)) {
    emit(key((
        "world",
        snap.mms.len().min(8),
        snap.anon_vmas.len().min(12),
        snap.detached.is_empty(),
        snap.stray_avcs.is_empty(),
    )));
    for mm in &snap.mms {
        let faulted_vmas = mm.vmas.iter().filter(|v| faulted(v.anon_vma)).count();
        emit(key(("mm", mm.vmas.len().min(6), faulted_vmas.min(6))));
        for v in &mm.vmas {
            emit(key((
                "vma",
                faulted(v.anon_vma),
                v.chain.len().min(6),
                depth(snap, v.anon_vma).min(4),
                v.pages() == 1,
                v.flags,
            )));
        }
        for pair in mm.vmas.windows(2) {
            let (lo, hi) = (&pair[0], &pair[1]);
            if lo.end == hi.start {
                emit(key((
                    "touching",
                    faulted(lo.anon_vma),
                    faulted(hi.anon_vma),
                    lo.anon_vma == hi.anon_vma,
                    lo.flags == hi.flags,
                )));
            }
        }
    }
    for (id, av) in snap.anon_vmas.iter().enumerate() {
        emit(key((
            "anon_vma",
            av.num_children.min(4),
            av.num_active_vmas.min(4),
            av.refcount.min(6),
            av.tree.len().min(6),
            depth(snap, AvRef::Id(id as u32)).min(4),
        )));
    }
    for page in &snap.pages {
        emit(key((
            "page",
            page.mapcount.min(4),
            page.mappers.len().min(4),
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::runner::{run, RunOptions};
    use crate::engine::variant;
    use crate::language::parse::parse_scenario;

    fn final_state(text: &str) -> Snapshot {
        let s = parse_scenario(text, "t").unwrap();
        let opts = RunOptions {
            keep_state: true,
            ..RunOptions::default()
        };
        let r = run(&s, variant::find("mainline").unwrap(), opts);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        r.final_state.expect("kept")
    }

    fn keys(snap: &Snapshot) -> Vec<u64> {
        let mut out = Vec::new();
        features(snap, |k| out.push(k));
        out.sort_unstable();
        out
    }

    #[test]
    fn an_unfaulted_vma_below_a_faulted_one_is_a_feature() {
        // The world v3-as-posted's failing merge starts from, and the one
        // with the fault on the other half: same code runs, other shapes.
        let upper = final_state("mmap 0 0x10000 0x2000\nsplit 0 0x11000\nfault 0 0x11000 w\n");
        let lower = final_state("mmap 0 0x10000 0x2000\nsplit 0 0x11000\nfault 0 0x10000 w\n");
        let touching = key(("touching", false, true, false, true));
        assert!(keys(&upper).contains(&touching));
        assert!(!keys(&lower).contains(&touching));
    }

    #[test]
    fn the_diff_harness_marks_the_features_of_what_it_built() {
        let s = parse_scenario(
            "mmap 0 0x10000 0x2000\nsplit 0 0x11000\nfault 0 0x11000 w\n",
            "t",
        )
        .unwrap();
        let touching = key(("touching", false, true, false, true));
        let before = rmap_ffi::extra_counters::count(touching);
        let bytes = crate::input::encoding::encode(&s).unwrap();
        crate::input::fuzzing::check_diff(&bytes, variant::find("mainline").unwrap(), None)
            .unwrap();
        assert!(rmap_ffi::extra_counters::count(touching) > before);
    }

    #[test]
    fn deeper_hierarchies_give_new_features() {
        let one = final_state("mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\n");
        let two = final_state("mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nfork 1\n");
        assert!(depth(&two, two.vma_at(2, 0x10000).unwrap().anon_vma) == 2);
        assert!(keys(&two).iter().any(|k| !keys(&one).contains(k)));
    }
}
