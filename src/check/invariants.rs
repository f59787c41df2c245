//! The rules every correct world obeys (KERNEL-SPEC.md section 8), checked on
//! a canonical snapshot. One implementation serves both engines.

use rustc_hash::FxHashMap;
use std::fmt;

use crate::check::snapshot::{AvRef, AvcRef, Snapshot, VmaRef, VmaState};

/// One broken rule, with the object and the values that break it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Stable rule name, e.g. `counter.num_active_vmas` (used in signatures).
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

/// Every rule, with what it means, for `rmapfuzz explain` and the README.
pub const RULES: &[(&str, &str)] = &[
    ("ref.dangling", "no live object refers to a freed one (use after free)"),
    ("leak", "every live object is reachable from a process"),
    ("counter.num_active_vmas", "num_active_vmas equals the number of VMAs whose anon_vma it is"),
    ("counter.num_children", "num_children equals the number of anon_vmas whose parent it is (a root counts itself)"),
    ("counter.degree", "degree (degree-era kernels) equals the VMAs whose anon_vma it is plus the anon_vmas whose parent it is (a root counts itself)"),
    ("counter.refcount", "refcount is 1, plus one per other member of the family on a root"),
    ("forest", "parent and root links form a forest; a child shares its parent's root"),
    ("tree.empty", "an anon_vma whose interval tree is empty has been freed"),
    ("tree.member", "every interval-tree entry is an AVC of a live VMA, filed under that VMA's current pgoff range (its anonymous page offset range in 7.3)"),
    ("chain.avc", "every AVC on a VMA's chain points back at that VMA, sits in its anon_vma's tree once, and the chain has one AVC per anon_vma"),
    ("chain.root", "all anon_vmas on one VMA's chain share a root"),
    ("chain.own", "a faulted VMA is linked to its own anon_vma; an unfaulted VMA has an empty chain"),
    ("chain.ancestors", "a VMA linked to an anon_vma is linked to that anon_vma's parent too (chains are closed under parents)"),
    ("share.one_mm", "the VMAs that use one anon_vma all belong to one process"),
    ("share.same_links", "the VMAs that use one anon_vma are linked to the same set of anon_vmas"),
    ("page.mapcount", "a page's mapcount equals the number of entries mapping it"),
    ("page.linked", "a page is mapped at its linear index (by the anonymous page offset in 7.3), by VMAs linked to the page's anon_vma"),
    ("vma.anon_pgoff", "an anonymous VMA's anonymous page offset equals its pgoff (7.3: linear_anon_page_index warns otherwise)"),
    ("rmap.complete", "an rmap walk from a page finds exactly the entries that map it"),
];

/// Looks up the meaning of a rule name.
pub fn describe(rule: &str) -> Option<&'static str> {
    RULES
        .iter()
        .find(|(name, _)| *name == rule)
        .map(|(_, text)| *text)
}

struct Checker<'a> {
    snap: &'a Snapshot,
    out: Vec<Violation>,
    /// When counting (benchmarks): instances each rule examined, by its
    /// position in [`RULES`].
    examined: Option<&'a mut [u64]>,
}

impl Checker<'_> {
    fn fail(&mut self, rule: &'static str, detail: String) {
        self.out.push(Violation { rule, detail });
    }

    /// One instance of `rule` was looked at (counted only when asked).
    fn examine(&mut self, rule: &'static str, n: usize) {
        if let Some(counts) = self.examined.as_deref_mut() {
            if let Some(i) = RULES.iter().position(|(r, _)| *r == rule) {
                counts[i] += n as u64;
            }
        }
    }

    fn live_av(&self, r: AvRef) -> Option<usize> {
        match r {
            AvRef::Id(i) if (i as usize) < self.snap.anon_vmas.len() => Some(i as usize),
            _ => None,
        }
    }
}

/// All violations in `snap`, most fundamental first.
pub fn check(snap: &Snapshot) -> Vec<Violation> {
    run_checks(Checker {
        snap,
        out: Vec::new(),
        examined: None,
    })
}

/// [`check`], counting into `examined` (indexed like [`RULES`]) how many
/// instances each rule looked at: which rules a corpus exercises.
pub fn check_counted(snap: &Snapshot, examined: &mut [u64]) -> Vec<Violation> {
    run_checks(Checker {
        snap,
        out: Vec::new(),
        examined: Some(examined),
    })
}

fn run_checks(mut c: Checker) -> Vec<Violation> {
    count_instances(&mut c);
    check_references(&mut c);
    check_counters(&mut c);
    check_forest(&mut c);
    check_chains_and_trees(&mut c);
    check_sharing(&mut c);
    check_pages(&mut c);
    check_anon_pgoff(&mut c);
    c.out
}

/// Linux 7.3 keeps a second page offset beside vm_pgoff. Both move
/// together for anonymous memory (every caller sets both, by the same
/// delta); the kernel asserts it where it indexes a page
/// (linear_anon_page_index), and its trees and folio indices rely on it.
fn check_anon_pgoff(c: &mut Checker) {
    let s = c.snap;
    let all = s
        .vmas()
        .map(|(r, v)| (r.to_string(), v))
        .chain(s.detached.iter().map(|v| ("a detached VMA".to_owned(), v)));
    for (name, v) in all {
        if let Some(anon) = v.anon_pgoff.filter(|&a| a != v.pgoff) {
            c.fail(
                "vma.anon_pgoff",
                format!(
                    "VMA {name} ({:#x}-{:#x}): anonymous page offset {anon:#x}, pgoff {:#x}",
                    v.start, v.end, v.pgoff
                ),
            );
        }
    }
}

/// What each rule had to look at in this snapshot (counting mode only).
fn count_instances(c: &mut Checker) {
    if c.examined.is_none() {
        return;
    }
    let s = c.snap;
    let vmas = s.vmas().count();
    let links: usize = s.vmas().map(|(_, v)| v.chain.len()).sum();
    let tree: usize = s.anon_vmas.iter().map(|a| a.tree.len()).sum();
    let objects = vmas + s.detached.len() + s.anon_vmas.len() + s.pages.len();
    let non_roots = s
        .anon_vmas
        .iter()
        .enumerate()
        .filter(|(i, a)| a.parent != AvRef::Id(*i as u32))
        .count();
    let multi = s.vmas().filter(|(_, v)| v.chain.len() > 1).count();
    let with_parent = s
        .vmas()
        .flat_map(|(_, v)| v.chain.iter())
        .filter(|e| match c.live_av(e.anon_vma) {
            Some(a) => s.anon_vmas[a].parent != e.anon_vma,
            None => false,
        })
        .count();
    // Pairs of VMAs that use one anon_vma, in one process and across.
    let mut users: FxHashMap<AvRef, Vec<u32>> = FxHashMap::default();
    for (r, v) in s.vmas() {
        if let (VmaRef::InMm { mm, .. }, AvRef::Id(_)) = (r, v.anon_vma) {
            users.entry(v.anon_vma).or_default().push(mm);
        }
    }
    let (mut pairs, mut same_mm) = (0, 0);
    for mms in users.values() {
        for (i, a) in mms.iter().enumerate() {
            for b in &mms[i + 1..] {
                pairs += 1;
                same_mm += usize::from(a == b);
            }
        }
    }
    let counters = s.anon_vmas.len();
    let degree = s.anon_vmas.iter().filter(|a| a.degree.is_some()).count();
    for (rule, n) in [
        ("ref.dangling", objects + links + tree),
        ("leak", objects),
        ("counter.num_active_vmas", counters - degree),
        ("counter.num_children", counters - degree),
        ("counter.degree", degree),
        ("counter.refcount", counters),
        ("forest", non_roots),
        ("tree.empty", counters),
        ("tree.member", tree),
        ("chain.avc", links),
        ("chain.root", multi),
        ("chain.own", vmas),
        ("chain.ancestors", with_parent),
        ("share.one_mm", pairs),
        ("share.same_links", same_mm),
        ("page.mapcount", s.pages.len()),
        ("page.linked", s.pages.iter().map(|p| p.mappers.len()).sum()),
        ("rmap.complete", s.pages.len()),
        (
            "vma.anon_pgoff",
            s.vmas().filter(|(_, v)| v.anon_pgoff.is_some()).count(),
        ),
    ] {
        c.examine(rule, n);
    }
}

fn is_bad_av(r: AvRef) -> bool {
    matches!(r, AvRef::Dangling | AvRef::Foreign)
}

fn is_bad_vma(r: VmaRef) -> bool {
    matches!(r, VmaRef::Dangling | VmaRef::Foreign)
}

fn check_references(c: &mut Checker) {
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
fn unreachable_anon_vmas(s: &Snapshot) -> Vec<usize> {
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

fn check_counters(c: &mut Checker) {
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

fn check_forest(c: &mut Checker) {
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

fn check_chains_and_trees(c: &mut Checker) {
    let s = c.snap;
    // Where each chain entry (VMA, position) is filed in the trees.
    let mut filed: FxHashMap<AvcRef, Vec<usize>> = FxHashMap::default();
    for (i, a) in s.anon_vmas.iter().enumerate() {
        for t in &a.tree {
            filed.entry(t.avc).or_default().push(i);
        }
    }

    for (r, v) in s.vmas() {
        check_one_chain(c, r, v, &filed);
    }

    for (i, a) in s.anon_vmas.iter().enumerate() {
        for t in &a.tree {
            let AvcRef::OnChain { vma, pos } = t.avc else {
                if !matches!(t.avc, AvcRef::Dangling | AvcRef::Foreign) {
                    c.fail(
                        "tree.member",
                        format!(
                            "anon_vma av{i}: tree holds {} which is on no VMA's chain",
                            t.avc
                        ),
                    );
                }
                continue;
            };
            let Some(v) = s.vma(vma) else {
                c.fail(
                    "tree.member",
                    format!("anon_vma av{i}: tree entry of VMA {vma}, which is gone"),
                );
                continue;
            };
            if matches!(vma, VmaRef::Detached(_)) {
                c.fail(
                    "tree.member",
                    format!("anon_vma av{i}: tree entry of detached VMA {vma}"),
                );
            }
            if v.chain.get(pos as usize).map(|e| e.anon_vma) != Some(AvRef::Id(i as u32)) {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: tree holds AVC {} which points at another anon_vma",
                        t.avc
                    ),
                );
            }
            let (start, last) = v.key();
            if (t.start, t.last) != (start, last) {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: AVC of VMA {vma} filed at pgoff {:#x}-{:#x}, but the VMA now covers {start:#x}-{last:#x}",
                        t.start, t.last
                    ),
                );
            }
        }
    }
}

fn check_one_chain(
    c: &mut Checker,
    r: VmaRef,
    v: &VmaState,
    filed: &FxHashMap<AvcRef, Vec<usize>>,
) {
    let s = c.snap;
    // Formatted only when a message needs it (Display, not a String).
    let name = r;
    if v.anon_vma == AvRef::Null {
        if !v.chain.is_empty() {
            c.fail(
                "chain.own",
                format!(
                    "vma {name}: unfaulted but its chain has {} AVC(s)",
                    v.chain.len()
                ),
            );
        }
        return;
    }
    if !v.chain.iter().any(|e| e.anon_vma == v.anon_vma) {
        c.fail(
            "chain.own",
            format!(
                "vma {name}: anon_vma {} but no AVC links it (chain has {})",
                v.anon_vma,
                v.chain.len()
            ),
        );
    }
    // Chains are short: plain vectors beat hashing here.
    let mut seen: Vec<AvRef> = Vec::with_capacity(v.chain.len());
    let mut roots: Vec<AvRef> = Vec::new();
    for (pos, e) in v.chain.iter().enumerate() {
        let me = AvcRef::OnChain {
            vma: r,
            pos: pos as u32,
        };
        if e.vma != r {
            c.fail(
                "chain.avc",
                format!("vma {name}: chain entry {pos} points at VMA {}", e.vma),
            );
        }
        if seen.contains(&e.anon_vma) {
            c.fail(
                "chain.avc",
                format!("vma {name}: two AVCs for anon_vma {}", e.anon_vma),
            );
        }
        seen.push(e.anon_vma);
        let homes = filed.get(&me).map(Vec::as_slice).unwrap_or(&[]);
        let want = c.live_av(e.anon_vma);
        if homes.len() != 1 || Some(homes[0]) != want {
            let homes: Vec<String> = homes.iter().map(|h| format!("av{h}")).collect();
            c.fail(
                "chain.avc",
                format!(
                    "vma {name}: AVC {pos} for anon_vma {} is in the tree(s) of [{}]",
                    e.anon_vma,
                    homes.join(" ")
                ),
            );
        }
        if let Some(a) = want {
            if !roots.contains(&s.anon_vmas[a].root) {
                roots.push(s.anon_vmas[a].root);
            }
        }
    }
    for &linked in &seen {
        let Some(a) = c.live_av(linked) else { continue };
        let parent = s.anon_vmas[a].parent;
        if parent != linked && c.live_av(parent).is_some() && !seen.contains(&parent) {
            c.fail(
                "chain.ancestors",
                format!("vma {name}: linked to {linked} but not to its parent {parent}"),
            );
        }
    }
    if roots.len() > 1 {
        let roots: Vec<String> = roots.iter().map(AvRef::to_string).collect();
        c.fail(
            "chain.root",
            format!("vma {name}: its anon_vmas have roots {}", roots.join(", ")),
        );
    }
}

/// The anon_vmas a VMA is linked to, as a set.
fn link_set(v: &VmaState) -> Vec<AvRef> {
    let mut set: Vec<AvRef> = v.chain.iter().map(|e| e.anon_vma).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// VMAs that share an anon_vma: one process, one set of links (what fork's
/// reuse rule and the neighbour rule of `__anon_vma_prepare` establish,
/// and what merges rely on; docs/CONTRACTS.md).
fn check_sharing(c: &mut Checker) {
    let s = c.snap;
    let mut first: Vec<Option<(VmaRef, &VmaState)>> = vec![None; s.anon_vmas.len()];
    for (r, v) in s.vmas() {
        let Some(i) = c.live_av(v.anon_vma) else {
            continue;
        };
        let Some((r0, v0)) = first[i] else {
            first[i] = Some((r, v));
            continue;
        };
        let mm_of = |r: VmaRef| match r {
            VmaRef::InMm { mm, .. } => Some(mm),
            _ => None,
        };
        if mm_of(r0) != mm_of(r) {
            c.fail(
                "share.one_mm",
                format!(
                    "anon_vma av{i} is the anon_vma of vma {r0} and of vma {r}, in another process"
                ),
            );
        } else if link_set(v0) != link_set(v) {
            let show = |v: &VmaState| {
                link_set(v)
                    .iter()
                    .map(AvRef::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            c.fail(
                "share.same_links",
                format!(
                    "anon_vma av{i} is the anon_vma of vma {r0} (linked to [{}]) and of vma {r} (linked to [{}])",
                    show(v0),
                    show(v)
                ),
            );
        }
    }
}

fn check_pages(c: &mut Checker) {
    let s = c.snap;
    for p in &s.pages {
        if p.mapcount != p.mappers.len() as i64 {
            c.fail(
                "page.mapcount",
                format!(
                    "page index {:#x}: mapcount={} but {} entries map it",
                    p.index,
                    p.mapcount,
                    p.mappers.len()
                ),
            );
        }
        for &(mm, addr) in &p.mappers {
            match s.vma_at(mm, addr) {
                None => c.fail(
                    "page.linked",
                    format!(
                        "page index {:#x}: mapped at {mm}:{addr:#x} outside any VMA",
                        p.index
                    ),
                ),
                Some(v) => {
                    let index = v.index_at(addr);
                    if index != p.index {
                        c.fail(
                            "page.linked",
                            format!("page index {:#x}: mapped at {mm}:{addr:#x} where the VMA's index is {index:#x}", p.index),
                        );
                    }
                    if !v.chain.iter().any(|e| e.anon_vma == p.anon_vma) {
                        c.fail(
                            "page.linked",
                            format!(
                                "page index {:#x} of {}: mapped at {mm}:{addr:#x} by a VMA not linked to that anon_vma",
                                p.index, p.anon_vma
                            ),
                        );
                    }
                }
            }
        }
        if p.walk != p.mappers {
            c.fail(
                "rmap.complete",
                format!(
                    "page index {:#x} of {}: mapped at {:x?} but the rmap walk finds {:x?}",
                    p.index, p.anon_vma, p.mappers, p.walk
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::snapshot::{
        AnonVmaState, ChainEntry, LiveCounts, MmState, PageState, TreeEntry,
    };

    /// One process, one faulted VMA with one page: a correct world.
    fn world() -> Snapshot {
        let vma = VmaRef::InMm {
            mm: 0,
            start: 0x10000,
        };
        Snapshot {
            mms: vec![MmState {
                id: 0,
                vmas: vec![VmaState {
                    start: 0x10000,
                    end: 0x12000,
                    pgoff: 0x10,
                    anon_pgoff: None,
                    flags: 0,
                    attached: true,
                    anon_vma: AvRef::Id(0),
                    chain: vec![ChainEntry {
                        anon_vma: AvRef::Id(0),
                        vma,
                    }],
                    chain_broken: false,
                    mm_freed: false,
                }],
                bad_entries: 0,
            }],
            anon_vmas: vec![AnonVmaState {
                root: AvRef::Id(0),
                parent: AvRef::Id(0),
                refcount: 1,
                num_children: 1,
                num_active_vmas: 1,
                degree: None,
                tree: vec![TreeEntry {
                    start: 0x10,
                    last: 0x11,
                    avc: AvcRef::OnChain { vma, pos: 0 },
                }],
            }],
            pages: vec![PageState {
                anon_vma: AvRef::Id(0),
                index: 0x10,
                mapcount: 1,
                mappers: vec![(0, 0x10000)],
                walk: vec![(0, 0x10000)],
            }],
            live: LiveCounts {
                mm: 1,
                vma: 1,
                anon_vma: 1,
                avc: 1,
                page: 1,
            },
            ..Snapshot::default()
        }
    }

    fn rules(s: &Snapshot) -> Vec<&'static str> {
        check(s).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_correct_world_passes() {
        assert_eq!(check(&world()), vec![]);
    }

    #[test]
    fn a_degree_counter_replaces_the_two_counters() {
        // One VMA and the root's self-link: degree 2, the split counters
        // are not looked at.
        let mut s = world();
        s.anon_vmas[0].degree = Some(2);
        s.anon_vmas[0].num_children = 0;
        s.anon_vmas[0].num_active_vmas = 0;
        assert_eq!(check(&s), vec![]);
        s.anon_vmas[0].degree = Some(1);
        assert_eq!(rules(&s), vec!["counter.degree"]);
    }

    #[test]
    fn each_breakage_is_named() {
        let mut s = world();
        s.anon_vmas[0].num_active_vmas = 2;
        assert_eq!(rules(&s), vec!["counter.num_active_vmas"]);

        let mut s = world();
        s.anon_vmas[0].num_children = 0;
        assert_eq!(rules(&s), vec!["counter.num_children"]);

        let mut s = world();
        s.anon_vmas[0].refcount = 2;
        assert_eq!(rules(&s), vec!["counter.refcount"]);

        let mut s = world();
        s.anon_vmas[0].tree[0].last = 0x10;
        assert_eq!(rules(&s), vec!["tree.member"]);

        let mut s = world();
        s.pages[0].walk.clear();
        assert_eq!(rules(&s), vec!["rmap.complete"]);

        let mut s = world();
        s.pages[0].mapcount = 2;
        assert_eq!(rules(&s), vec!["page.mapcount"]);

        let mut s = world();
        s.pages[0].index = 0x11;
        assert_eq!(rules(&s), vec!["page.linked"]);

        let mut s = world();
        s.mms[0].vmas[0].chain.clear();
        assert!(rules(&s).contains(&"chain.own"));

        let mut s = world();
        s.anon_vmas[0].tree.clear();
        assert!(rules(&s).contains(&"tree.empty"));

        let mut s = world();
        s.pages[0].anon_vma = AvRef::Dangling;
        assert!(rules(&s).contains(&"ref.dangling"));

        // A VMA no process holds, pointing at its freed mm (a failed fork
        // that leaked it): named as a dangling reference, then a leak.
        let mut s = world();
        let mut leaked = s.mms[0].vmas[0].clone();
        leaked.anon_vma = AvRef::Null;
        leaked.chain.clear();
        leaked.mm_freed = true;
        s.detached.push(leaked);
        let found = check(&s);
        assert_eq!(found[0].rule, "ref.dangling", "{found:?}");
        assert!(found[0].detail.contains("vm_mm points at a freed mm"));

        // A second AVC for the same anon_vma on one chain.
        let mut s = world();
        let vma = VmaRef::InMm {
            mm: 0,
            start: 0x10000,
        };
        s.mms[0].vmas[0].chain.push(ChainEntry {
            anon_vma: AvRef::Id(0),
            vma,
        });
        s.anon_vmas[0].tree.push(TreeEntry {
            start: 0x10,
            last: 0x11,
            avc: AvcRef::OnChain { vma, pos: 1 },
        });
        assert_eq!(rules(&s), vec!["chain.avc"]);

        // A chain spanning two families.
        let mut s = world();
        let mut other = s.anon_vmas[0].clone();
        other.root = AvRef::Id(1);
        other.parent = AvRef::Id(1);
        other.num_active_vmas = 0;
        other.tree[0].avc = AvcRef::OnChain { vma, pos: 1 };
        s.anon_vmas.push(other);
        s.mms[0].vmas[0].chain.push(ChainEntry {
            anon_vma: AvRef::Id(1),
            vma,
        });
        assert_eq!(rules(&s), vec!["chain.root"]);
    }

    /// A consistent world from a description: anon_vma `i` has parent
    /// `parents[i]` (itself for a root); each VMA is (mm, start, its
    /// anon_vma, the anon_vmas on its chain). Trees, counters and
    /// refcounts are filled in to match, so only sharing and chain rules
    /// can break.
    fn built(parents: &[usize], vmas: &[(u32, u64, usize, &[usize])]) -> Snapshot {
        let root_of = |mut i: usize| {
            while parents[i] != i {
                i = parents[i];
            }
            i
        };
        let mut anon_vmas: Vec<AnonVmaState> = (0..parents.len())
            .map(|i| AnonVmaState {
                root: AvRef::Id(root_of(i) as u32),
                parent: AvRef::Id(parents[i] as u32),
                refcount: 1,
                num_children: 0,
                num_active_vmas: 0,
                degree: None,
                tree: Vec::new(),
            })
            .collect();
        for (i, &p) in parents.iter().enumerate() {
            anon_vmas[p].num_children += 1;
            if root_of(i) != i {
                anon_vmas[root_of(i)].refcount += 1;
            }
        }
        let mut mms: Vec<MmState> = Vec::new();
        for &(mm, start, own, chain) in vmas {
            let vma = VmaRef::InMm { mm, start };
            anon_vmas[own].num_active_vmas += 1;
            for (pos, &a) in chain.iter().enumerate() {
                anon_vmas[a].tree.push(TreeEntry {
                    start: start >> 12,
                    last: start >> 12,
                    avc: AvcRef::OnChain {
                        vma,
                        pos: pos as u32,
                    },
                });
            }
            let state = VmaState {
                start,
                end: start + 0x1000,
                pgoff: start >> 12,
                anon_pgoff: None,
                flags: 0,
                attached: true,
                anon_vma: AvRef::Id(own as u32),
                chain: chain
                    .iter()
                    .map(|&a| ChainEntry {
                        anon_vma: AvRef::Id(a as u32),
                        vma,
                    })
                    .collect(),
                chain_broken: false,
                mm_freed: false,
            };
            match mms.iter_mut().find(|m| m.id == mm) {
                Some(m) => m.vmas.push(state),
                None => mms.push(MmState {
                    id: mm,
                    vmas: vec![state],
                    bad_entries: 0,
                }),
            }
        }
        Snapshot {
            live: LiveCounts {
                mm: mms.len() as u64,
                ..LiveCounts::default()
            },
            mms,
            anon_vmas,
            ..Snapshot::default()
        }
    }

    #[test]
    fn sharing_and_closure_are_contracts() {
        // A fork child: its VMA links its own anon_vma and the parent's.
        let fine = built(&[0, 0], &[(0, 0x10000, 0, &[0]), (1, 0x10000, 1, &[1, 0])]);
        assert_eq!(check(&fine), vec![]);

        // The child's VMA lost the link to the parent's anon_vma.
        let open = built(&[0, 0], &[(0, 0x10000, 0, &[0]), (1, 0x10000, 1, &[1])]);
        assert_eq!(rules(&open), vec!["chain.ancestors"]);

        // Two processes use one anon_vma (the degree-era double reuse).
        let two_mms = built(&[0], &[(0, 0x10000, 0, &[0]), (1, 0x10000, 0, &[0])]);
        assert_eq!(rules(&two_mms), vec!["share.one_mm"]);

        // One process, one anon_vma, two different sets of links.
        let differ = built(
            &[0, 0, 0],
            &[(0, 0x10000, 1, &[1, 0]), (0, 0x20000, 1, &[1, 2, 0])],
        );
        assert_eq!(rules(&differ), vec!["share.same_links"]);
    }

    #[test]
    fn every_rule_is_described() {
        for rule in ["counter.refcount", "rmap.complete", "chain.root", "leak"] {
            assert!(describe(rule).is_some(), "{rule}");
        }
    }
}
