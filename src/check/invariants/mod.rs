//! The rules every correct world obeys (KERNEL-SPEC.md section 8). They
//! read a raw report by the engine's own numbers (`index`); a canonical
//! snapshot is read as the report it stands for (`as_reported`). One
//! implementation serves both engines and both forms.

use rustc_hash::FxHashMap;
use std::fmt;

use crate::check::snapshot::{
    as_reported, canonicalize, AvRef, ChainEntry, RawRef, RawSnapshot, RawVma, Snapshot, VmaRef,
};

mod changed;
mod index;
mod links;
mod objects;
mod pages;
#[cfg(test)]
mod tests;

pub use changed::holds_where_changed;
use index::Index;
use links::{check_chains_and_trees, check_sharing};
use objects::{check_counters, check_forest, check_references};
use pages::{check_anon_pgoff, check_pages};

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
    raw: &'a RawSnapshot,
    at: &'a Index,
    out: Vec<Violation>,
    /// When counting (benchmarks): instances each rule examined, by its
    /// position in [`RULES`].
    examined: Option<&'a mut [u64]>,
}

impl<'a> Checker<'a> {
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

    /// An anon_vma reference, anon_vmas numbered by their place.
    fn av(&self, r: RawRef) -> AvRef {
        index::av(self.raw, r)
    }

    fn live_av(&self, r: AvRef) -> Option<usize> {
        match r {
            AvRef::Id(i) if (i as usize) < self.raw.anon_vmas.len() => Some(i as usize),
            _ => None,
        }
    }

    /// The chain entry that chain reference `c` stands for.
    fn entry(&self, c: RawRef) -> ChainEntry {
        index::entry(self.raw, self.at, c)
    }

    /// Every VMA a process lists, with its number and name, in the
    /// canonical order (processes by id, VMAs by address).
    fn held(&self) -> impl Iterator<Item = (usize, VmaRef, &'a RawVma)> + 'a {
        let raw = self.raw;
        raw.mms.iter().flat_map(move |m| {
            m.vmas.iter().filter_map(move |&v| {
                let vma = raw.vmas.get(v)?;
                let name = VmaRef::InMm {
                    mm: m.id,
                    start: vma.start,
                };
                Some((v, name, vma))
            })
        })
    }

    /// The VMA of process `mm` that contains `addr`.
    fn vma_at(&self, mm: u32, addr: u64) -> Option<&'a RawVma> {
        let raw = self.raw;
        let m = raw.mms.binary_search_by_key(&mm, |m| m.id).ok()?;
        let listed = &raw.mms[m].vmas;
        let start = |v: usize| raw.vmas.get(v).map_or(u64::MAX, |v| v.start);
        let i = listed
            .partition_point(|&v| start(v) <= addr)
            .checked_sub(1)?;
        raw.vmas.get(listed[i]).filter(|v| addr < v.end)
    }
}

/// All violations in `snap`, most fundamental first, its objects named
/// canonically.
pub fn check(snap: &Snapshot) -> Vec<Violation> {
    check_named(snap, None)
}

/// [`check`], counting into `examined` (indexed like [`RULES`]) how many
/// instances each rule looked at: which rules a corpus exercises.
pub fn check_counted(snap: &Snapshot, examined: &mut [u64]) -> Vec<Violation> {
    check_named(snap, Some(examined))
}

/// The rules on `snap`, read as the report it stands for (so its
/// anon_vmas are numbered by their canonical ids).
fn check_named(snap: &Snapshot, examined: Option<&mut [u64]>) -> Vec<Violation> {
    let raw = as_reported(snap);
    with_index(&raw, |at| {
        run_checks(Checker {
            raw: &raw,
            at,
            out: Vec::new(),
            examined,
        })
    })
}

/// Whether `raw` obeys every rule: exactly when [`check`] of its
/// canonical form finds nothing. A report that names its objects apart
/// (every engine's, in practice) is judged as it is, without naming it
/// canonically or building anything; another is named first.
pub fn holds(raw: &RawSnapshot) -> bool {
    holds_named(raw).0
}

/// [`holds`], and whether `raw` names its objects apart (a report the
/// next may be judged against where it changed: [`holds_where_changed`]).
pub fn holds_named(raw: &RawSnapshot) -> (bool, bool) {
    match check_as_reported(raw) {
        Some(violations) => (violations.is_empty(), true),
        None => (check(&canonicalize(raw)).is_empty(), false),
    }
}

/// The violations in `raw` read as it is, where it names its objects
/// apart (`None` otherwise): the rules [`check`] of its canonical form
/// breaks, each as often, but with anon_vmas numbered by their place in
/// the report and in the report's order.
pub fn check_as_reported(raw: &RawSnapshot) -> Option<Vec<Violation>> {
    index::names_apart(raw).then(|| {
        with_index(raw, |at| {
            run_checks(Checker {
                raw,
                at,
                out: Vec::new(),
                examined: None,
            })
        })
    })
}

thread_local! {
    /// The lists an index fills, kept for the next (a checked step makes one).
    static SPARE: std::cell::RefCell<Index> = std::cell::RefCell::default();
}

fn with_index<T>(raw: &RawSnapshot, f: impl FnOnce(&Index) -> T) -> T {
    let mut at = SPARE.with(|spare| spare.take());
    at.fill(raw);
    let out = f(&at);
    SPARE.with(|spare| spare.replace(at));
    out
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

/// What each rule had to look at in this snapshot (counting mode only).
fn count_instances(c: &mut Checker) {
    if c.examined.is_none() {
        return;
    }
    let s = c.raw;
    let vmas = c.held().count();
    let links: usize = c.held().map(|(_, _, v)| v.chain.len()).sum();
    let tree: usize = s.anon_vmas.iter().map(|a| a.tree.len()).sum();
    let objects = vmas + c.at.detached.len() + s.anon_vmas.len() + s.pages.len();
    let non_roots = s
        .anon_vmas
        .iter()
        .enumerate()
        .filter(|(i, a)| c.av(a.parent) != AvRef::Id(*i as u32))
        .count();
    let multi = c.held().filter(|(_, _, v)| v.chain.len() > 1).count();
    let with_parent = c
        .held()
        .flat_map(|(_, _, v)| v.chain.iter())
        .map(|&e| c.entry(e).anon_vma)
        .filter(|&e| match c.live_av(e) {
            Some(a) => c.av(s.anon_vmas[a].parent) != e,
            None => false,
        })
        .count();
    // Pairs of VMAs that use one anon_vma, in one process and across.
    let mut users: FxHashMap<AvRef, Vec<u32>> = FxHashMap::default();
    for (_, r, v) in c.held() {
        if let (VmaRef::InMm { mm, .. }, AvRef::Id(_)) = (r, c.av(v.anon_vma)) {
            users.entry(c.av(v.anon_vma)).or_default().push(mm);
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
    let mappers = s.pages.iter().map(|p| p.mappers.len()).sum();
    let anon_pgoffs = c.held().filter(|(_, _, v)| v.anon_pgoff.is_some()).count();
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
        ("page.linked", mappers),
        ("rmap.complete", s.pages.len()),
        ("vma.anon_pgoff", anon_pgoffs),
    ] {
        c.examine(rule, n);
    }
}
