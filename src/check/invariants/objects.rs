//! References, counters and the family forest: the rules about objects.

use super::*;

pub(super) fn is_bad_av(r: AvRef) -> bool {
    matches!(r, AvRef::Dangling | AvRef::Foreign)
}

pub(super) fn is_bad_vma(r: VmaRef) -> bool {
    matches!(r, VmaRef::Dangling | VmaRef::Foreign)
}

pub(super) fn check_references(c: &mut Checker) {
    let s = c.raw;
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
    for (_, r, v) in c.held() {
        let own = c.av(v.anon_vma);
        if is_bad_av(own) {
            c.fail("ref.dangling", format!("vma {r}: anon_vma is {own}"));
        }
        if v.chain_broken
            || v.chain.iter().any(|&e| {
                let e = c.entry(e);
                is_bad_av(e.anon_vma) || is_bad_vma(e.vma)
            })
        {
            c.fail(
                "ref.dangling",
                format!("vma {r}: its chain reaches a freed anon_vma_chain or anon_vma"),
            );
        }
    }
    for (i, a) in s.anon_vmas.iter().enumerate() {
        let (root, parent) = (c.av(a.root), c.av(a.parent));
        if is_bad_av(root) || is_bad_av(parent) || root == AvRef::Null || parent == AvRef::Null {
            c.fail(
                "ref.dangling",
                format!("anon_vma av{i}: root {root} parent {parent}"),
            );
        }
        // (Every AVC in the report has a canonical name, on a chain or
        // stray; anything else is freed or not an AVC.)
        if a.tree
            .iter()
            .any(|t| !matches!(t.avc, RawRef::Index(a) if a < s.avcs.len()))
        {
            c.fail(
                "ref.dangling",
                format!("anon_vma av{i}: its interval tree holds a freed anon_vma_chain"),
            );
        }
    }
    for p in &s.pages {
        let av = c.av(p.anon_vma);
        if is_bad_av(av) || av == AvRef::Null {
            c.fail(
                "ref.dangling",
                format!("page index {:#x}: anon_vma is {av}", p.index),
            );
        }
        if p.walk.iter().any(|&(mm, _)| mm == u32::MAX) {
            c.fail(
                "ref.dangling",
                format!("page index {:#x}: rmap walk reached a freed VMA", p.index),
            );
        }
    }
    for (i, &v) in c.at.detached.iter().enumerate() {
        let v = &s.vmas[v];
        if v.mm == Err(RawRef::Dangling) {
            c.fail(
                "ref.dangling",
                format!(
                    "vma detached#{i} ({:#x}-{:#x}): vm_mm points at a freed mm",
                    v.start, v.end
                ),
            );
        }
    }
    for (i, &a) in c.at.stray.iter().enumerate() {
        let (vma, av) = (c.at.vma(s.avcs[a].vma), c.av(s.avcs[a].anon_vma));
        if matches!(vma, VmaRef::Dangling) || is_bad_av(av) {
            c.fail(
                "ref.dangling",
                format!("anon_vma_chain stray#{i} (in the tree of {av}): vma {vma}, anon_vma {av}"),
            );
        }
    }
    if let Some(&v) = c.at.detached.first() {
        c.fail(
            "leak",
            format!(
                "{} live VMA(s) outside any process, e.g. {:#x}-{:#x}",
                c.at.detached.len(),
                s.vmas[v].start,
                s.vmas[v].end
            ),
        );
    }
    if let Some(&a) = c.at.stray.first() {
        c.fail(
            "leak",
            format!(
                "{} anon_vma_chain(s) on no VMA's chain, e.g. vma {} anon_vma {}",
                c.at.stray.len(),
                c.at.vma(s.avcs[a].vma),
                c.av(s.avcs[a].anon_vma)
            ),
        );
    }
    for i in unreachable_anon_vmas(c) {
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
                    p.index,
                    c.av(p.anon_vma)
                ),
            );
        }
    }
}

/// anon_vmas that no VMA, page or AVC leads to, even through parents and roots.
fn unreachable_anon_vmas(c: &Checker) -> Vec<usize> {
    let s = c.raw;
    let n = s.anon_vmas.len();
    let mut seen = vec![false; n];
    let mut todo: Vec<RawRef> = Vec::new();
    let detached = c.at.detached.iter().map(|&v| &s.vmas[v]);
    for v in c.held().map(|(_, _, v)| v).chain(detached) {
        todo.push(v.anon_vma);
        for &e in &v.chain {
            if let RawRef::Index(a) = e {
                if let Some(avc) = s.avcs.get(a) {
                    todo.push(avc.anon_vma);
                }
            }
        }
    }
    todo.extend(s.pages.iter().map(|p| p.anon_vma));
    todo.extend(c.at.stray.iter().map(|&a| s.avcs[a].anon_vma));
    while let Some(r) = todo.pop() {
        if let RawRef::Index(i) = r {
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
    let s = c.raw;
    let n = s.anon_vmas.len();
    let mut active = vec![0i64; n];
    let mut children = vec![0i64; n];
    let mut family = vec![0i64; n];
    for (_, _, v) in c.held() {
        if let Some(i) = c.live_av(c.av(v.anon_vma)) {
            active[i] += 1;
        }
    }
    for (i, a) in s.anon_vmas.iter().enumerate() {
        if let Some(p) = c.live_av(c.av(a.parent)) {
            children[p] += 1;
        }
        if let Some(r) = c.live_av(c.av(a.root)) {
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
        let expected = 1 + if c.av(a.root) == AvRef::Id(i as u32) {
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
    let s = c.raw;
    let root_of = |i: usize| index::av(s, s.anon_vmas[i].root);
    for (i, a) in s.anon_vmas.iter().enumerate() {
        let me = AvRef::Id(i as u32);
        let (parent, root) = (c.av(a.parent), c.av(a.root));
        if (parent == me) != (root == me) {
            c.fail(
                "forest",
                format!(
                    "anon_vma av{i}: parent {parent} root {root} (a root is exactly its own parent)"
                ),
            );
            continue;
        }
        if parent == me {
            continue;
        }
        if let (Some(p), Some(r)) = (c.live_av(parent), c.live_av(root)) {
            if root_of(p) != root {
                c.fail(
                    "forest",
                    format!(
                        "anon_vma av{i}: root {root} but its parent av{p} has root {}",
                        root_of(p)
                    ),
                );
            }
            if root_of(r) != root {
                c.fail(
                    "forest",
                    format!("anon_vma av{i}: root av{r} is not a root"),
                );
            }
            // Climbing parents must reach the root.
            let mut cur = i;
            let mut steps = 0;
            while c.av(s.anon_vmas[cur].parent) != AvRef::Id(cur as u32) {
                match c.live_av(c.av(s.anon_vmas[cur].parent)) {
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
