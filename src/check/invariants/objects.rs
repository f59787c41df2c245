//! References, counters and the family forest: the rules about objects.

use super::*;

pub(super) fn is_bad_av(r: AvRef) -> bool {
    matches!(r, AvRef::Dangling | AvRef::Foreign)
}

pub(super) fn is_bad_vma(r: VmaRef) -> bool {
    matches!(r, VmaRef::Dangling | VmaRef::Foreign)
}

pub(super) fn check_references(c: &mut Checker) {
    let s = c.snap;
    for mm in &s.mms {
        if mm.bad_entries > 0 {
            c.fail(
                "ref.dangling",
                format!(
                    "mm {}: {} VMA or page-table entries point at freed memory",
                    mm.id, mm.bad_entries
                ),
            );
        }
    }
    for (r, v) in s.vmas() {
        if is_bad_av(v.anon_vma) {
            c.fail(
                "ref.dangling",
                format!("vma {r}: anon_vma is {}", v.anon_vma),
            );
        }
        if v.chain_broken
            || v.chain
                .iter()
                .any(|e| is_bad_av(e.anon_vma) || is_bad_vma(e.vma))
        {
            c.fail(
                "ref.dangling",
                format!("vma {r}: its chain reaches a freed anon_vma_chain or anon_vma"),
            );
        }
    }
    for (i, a) in s.anon_vmas.iter().enumerate() {
        if is_bad_av(a.root)
            || is_bad_av(a.parent)
            || a.root == AvRef::Null
            || a.parent == AvRef::Null
        {
            c.fail(
                "ref.dangling",
                format!("anon_vma av{i}: root {} parent {}", a.root, a.parent),
            );
        }
        if a.tree
            .iter()
            .any(|t| matches!(t.avc, AvcRef::Dangling | AvcRef::Foreign))
        {
            c.fail(
                "ref.dangling",
                format!("anon_vma av{i}: its interval tree holds a freed anon_vma_chain"),
            );
        }
    }
    for p in &s.pages {
        if is_bad_av(p.anon_vma) || p.anon_vma == AvRef::Null {
            c.fail(
                "ref.dangling",
                format!("page index {:#x}: anon_vma is {}", p.index, p.anon_vma),
            );
        }
        if p.walk.iter().any(|&(mm, _)| mm == u32::MAX) {
            c.fail(
                "ref.dangling",
                format!("page index {:#x}: rmap walk reached a freed VMA", p.index),
            );
        }
    }
    for (i, v) in s.detached.iter().enumerate() {
        if v.mm_freed {
            c.fail(
                "ref.dangling",
                format!(
                    "vma detached#{i} ({:#x}-{:#x}): vm_mm points at a freed mm",
                    v.start, v.end
                ),
            );
        }
    }
    for (i, a) in s.stray_avcs.iter().enumerate() {
        if matches!(a.vma, VmaRef::Dangling) || is_bad_av(a.anon_vma) {
            c.fail(
                "ref.dangling",
                format!(
                    "anon_vma_chain stray#{i} (in the tree of {}): vma {}, anon_vma {}",
                    a.anon_vma, a.vma, a.anon_vma
                ),
            );
        }
    }
    if let Some(v) = s.detached.first() {
        c.fail(
            "leak",
            format!(
                "{} live VMA(s) outside any process, e.g. {:#x}-{:#x}",
                s.detached.len(),
                v.start,
                v.end
            ),
        );
    }
    if let Some(a) = s.stray_avcs.first() {
        c.fail(
            "leak",
            format!(
                "{} anon_vma_chain(s) on no VMA's chain, e.g. vma {} anon_vma {}",
                s.stray_avcs.len(),
                a.vma,
                a.anon_vma
            ),
        );
    }
    for i in unreachable_anon_vmas(s) {
        c.fail(
            "leak",
            format!("anon_vma av{i} is reachable from no VMA, page or other anon_vma"),
        );
    }
    if s.live.mm != s.mms.len() as u64 {
        c.fail(
            "leak",
            format!(
                "{} mm_struct(s) allocated for {} process(es)",
                s.live.mm,
                s.mms.len()
            ),
        );
    }
    for p in &s.pages {
        if p.mappers.is_empty() {
            c.fail(
                "leak",
                format!(
                    "page index {:#x} (anon_vma {}) is mapped nowhere",
                    p.index, p.anon_vma
                ),
            );
        }
    }
}

/// anon_vmas that no VMA, page or AVC leads to, even through parents and roots.
pub(super) fn unreachable_anon_vmas(s: &Snapshot) -> Vec<usize> {
    let n = s.anon_vmas.len();
    let mut seen = vec![false; n];
    let mut todo: Vec<AvRef> = Vec::new();
    for v in s.mms.iter().flat_map(|m| &m.vmas).chain(&s.detached) {
        todo.push(v.anon_vma);
        todo.extend(v.chain.iter().map(|e| e.anon_vma));
    }
    todo.extend(s.pages.iter().map(|p| p.anon_vma));
    todo.extend(s.stray_avcs.iter().map(|a| a.anon_vma));
    while let Some(r) = todo.pop() {
        if let AvRef::Id(i) = r {
            let i = i as usize;
            if i < n && !seen[i] {
                seen[i] = true;
                todo.push(s.anon_vmas[i].parent);
                todo.push(s.anon_vmas[i].root);
            }
        }
    }
    (0..n).filter(|&i| !seen[i]).collect()
}

pub(super) fn check_counters(c: &mut Checker) {
    let s = c.snap;
    let n = s.anon_vmas.len();
    let mut active = vec![0i64; n];
    let mut children = vec![0i64; n];
    let mut family = vec![0i64; n];
    for (_, v) in s.vmas() {
        if let Some(i) = c.live_av(v.anon_vma) {
            active[i] += 1;
        }
    }
    for (i, a) in s.anon_vmas.iter().enumerate() {
        if let Some(p) = c.live_av(a.parent) {
            children[p] += 1;
        }
        if let Some(r) = c.live_av(a.root) {
            if r != i {
                family[r] += 1;
            }
        }
    }
    for (i, a) in s.anon_vmas.iter().enumerate() {
        if let Some(degree) = a.degree {
            if degree != active[i] + children[i] {
                c.fail(
                    "counter.degree",
                    format!(
                        "anon_vma av{i}: degree={degree} but {} VMA(s) use it and {} anon_vma(s) name it parent",
                        active[i], children[i]
                    ),
                );
            }
        } else if a.num_active_vmas != active[i] {
            c.fail(
                "counter.num_active_vmas",
                format!(
                    "anon_vma av{i}: num_active_vmas={} but {} VMA(s) use it",
                    a.num_active_vmas, active[i]
                ),
            );
        }
        if a.degree.is_none() && a.num_children != children[i] {
            c.fail(
                "counter.num_children",
                format!(
                    "anon_vma av{i}: num_children={} but {} anon_vma(s) name it parent",
                    a.num_children, children[i]
                ),
            );
        }
        let expected = 1 + if a.root == AvRef::Id(i as u32) {
            family[i]
        } else {
            0
        };
        if a.refcount != expected {
            c.fail(
                "counter.refcount",
                format!(
                    "anon_vma av{i}: refcount={} but {expected} expected",
                    a.refcount
                ),
            );
        }
    }
}

pub(super) fn check_forest(c: &mut Checker) {
    let s = c.snap;
    for (i, a) in s.anon_vmas.iter().enumerate() {
        let me = AvRef::Id(i as u32);
        if (a.parent == me) != (a.root == me) {
            c.fail(
                "forest",
                format!(
                    "anon_vma av{i}: parent {} root {} (a root is exactly its own parent)",
                    a.parent, a.root
                ),
            );
            continue;
        }
        if a.parent == me {
            continue;
        }
        if let (Some(p), Some(r)) = (c.live_av(a.parent), c.live_av(a.root)) {
            if s.anon_vmas[p].root != a.root {
                c.fail(
                    "forest",
                    format!(
                        "anon_vma av{i}: root {} but its parent av{p} has root {}",
                        a.root, s.anon_vmas[p].root
                    ),
                );
            }
            if s.anon_vmas[r].root != a.root {
                c.fail(
                    "forest",
                    format!("anon_vma av{i}: root av{r} is not a root"),
                );
            }
            // Climbing parents must reach the root.
            let mut cur = i;
            let mut steps = 0;
            while s.anon_vmas[cur].parent != AvRef::Id(cur as u32) {
                match c.live_av(s.anon_vmas[cur].parent) {
                    Some(next) if steps <= s.anon_vmas.len() => {
                        cur = next;
                        steps += 1;
                    }
                    _ => {
                        c.fail(
                            "forest",
                            format!("anon_vma av{i}: parent links loop or break"),
                        );
                        break;
                    }
                }
            }
        }
    }
    for (i, a) in s.anon_vmas.iter().enumerate() {
        if a.tree.is_empty() {
            c.fail(
                "tree.empty",
                format!("anon_vma av{i} is alive with an empty interval tree"),
            );
        }
    }
}
