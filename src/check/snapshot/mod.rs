//! Snapshots of a world, raw and canonical.
//!
//! Each engine produces a [`RawSnapshot`]: every live object, with
//! references as indices into its own lists. [`canonicalize`] renames
//! everything by a walk of the world (processes by id, VMAs by address,
//! each VMA's anon_vma then its chain in list order, then pages, then
//! parents and roots), so two engines that allocate in a different order
//! still produce equal [`Snapshot`]s when their states are the same.

mod canonical;
mod hash;
mod shape;
mod state;
mod symmetry;
#[cfg(test)]
mod tests;
mod text;

pub use canonical::{canonicalize, chain_entry, vma_named};
pub use hash::{canonical_hash, state_hash};
pub use shape::{shape_difference, PageShape, Shape, VmaShape};
pub use state::State;
pub use symmetry::{as_reported, orbit_key, orbit_size, renamed};
pub use text::{changes, first_difference, Change, Difference};

/// A short list inside a raw snapshot (a process's VMAs, a VMA's chain,
/// an anon_vma's tree, a page's mappers): held inline up to `N` entries,
/// as a search builds two raw snapshots for every state it reaches.
pub type Few<T, const N: usize> = smallvec::SmallVec<[T; N]>;

/// A reference inside a raw snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RawRef {
    Null,
    Index(usize),
    /// Points at an object that was freed.
    Dangling,
    /// Points at something that is not an object of the expected kind.
    Foreign,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawMm {
    pub id: u32,
    /// Indices into `vmas`, in address order.
    pub vmas: Few<usize, 4>,
    /// VMA-list or page-table entries pointing at freed memory.
    pub bad_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawVma {
    /// The owning process id, or the reference when it is not a live mm.
    pub mm: Result<u32, RawRef>,
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    /// The anonymous page offset, for a core that keys by it (Linux 7.3).
    pub anon_pgoff: Option<u64>,
    pub flags: u32,
    pub attached: bool,
    pub anon_vma: RawRef,
    /// AVC references, head first.
    pub chain: Few<RawRef, 4>,
    /// The chain walk met a freed entry or did not end.
    pub chain_broken: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAvc {
    pub vma: RawRef,
    pub anon_vma: RawRef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTreeNode {
    pub avc: RawRef,
    /// The key the node is filed under.
    pub start: u64,
    pub last: u64,
}

/// Puts a raw tree in key order, ties by AVC: an engine's own order (an
/// rbtree's shape, a list's) says nothing canonical, and two engines that
/// made a state alike then report it alike (see `State::same_report`).
pub fn sort_tree(tree: &mut [RawTreeNode]) {
    let avc = |r: RawRef| match r {
        RawRef::Index(i) => i,
        _ => usize::MAX,
    };
    let key = |n: &RawTreeNode| (n.start, n.last, avc(n.avc));
    if !tree.is_sorted_by_key(key) {
        tree.sort_by_key(key);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAnonVma {
    pub root: RawRef,
    pub parent: RawRef,
    pub refcount: i64,
    pub num_children: i64,
    pub num_active_vmas: i64,
    /// A degree-era core's single counter (children and active VMAs
    /// together); the two counters above are then meaningless and zero.
    pub degree: Option<i64>,
    pub tree: Few<RawTreeNode, 4>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPage {
    pub anon_vma: RawRef,
    pub index: u64,
    pub mapcount: i64,
    /// (mm, address) of every page-table entry mapping the page, sorted.
    pub mappers: Few<(u32, u64), 4>,
    /// What an rmap walk from the page found, sorted; mm `u32::MAX` marks
    /// a tree entry whose VMA was freed.
    pub walk: Few<(u32, u64), 4>,
}

/// Live objects per allocation site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LiveCounts {
    pub mm: u64,
    pub vma: u64,
    pub anon_vma: u64,
    pub avc: u64,
    pub page: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawSnapshot {
    pub mms: Vec<RawMm>,
    pub vmas: Vec<RawVma>,
    pub avcs: Vec<RawAvc>,
    pub anon_vmas: Vec<RawAnonVma>,
    pub pages: Vec<RawPage>,
    pub live: LiveCounts,
}

/// A canonical anon_vma reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AvRef {
    Null,
    Id(u32),
    Dangling,
    Foreign,
}

/// A canonical VMA reference: by process and start address for VMAs in a
/// process, by position among the detached ones otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VmaRef {
    Null,
    InMm { mm: u32, start: u64 },
    Detached(u32),
    Dangling,
    Foreign,
}

/// A canonical AVC reference: its VMA and position on that VMA's chain, or
/// its position among the AVCs no chain holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AvcRef {
    OnChain { vma: VmaRef, pos: u32 },
    Stray(u32),
    Dangling,
    Foreign,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChainEntry {
    pub anon_vma: AvRef,
    /// The AVC's own `vma` pointer (must be the VMA whose chain holds it).
    pub vma: VmaRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VmaState {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    /// The anonymous page offset (Linux 7.3's generation only): what the
    /// VMA's AVCs are keyed and its pages indexed by.
    pub anon_pgoff: Option<u64>,
    pub flags: u32,
    pub attached: bool,
    pub anon_vma: AvRef,
    pub chain: Vec<ChainEntry>,
    pub chain_broken: bool,
    /// Its `vm_mm` points at a freed mm (a VMA no process holds).
    pub mm_freed: bool,
}

/// Where a VMA's pages and AVCs are keyed, in either form.
pub trait Keyed {
    fn span(&self) -> (u64, u64);
    /// The page offset pages and AVCs are keyed by: the anonymous one
    /// where the generation has it.
    fn key_pgoff(&self) -> u64;

    fn pages(&self) -> u64 {
        let (start, end) = self.span();
        (end - start) >> 12
    }

    /// The pgoff range the VMA's AVCs must be filed under.
    fn key(&self) -> (u64, u64) {
        let first = self.key_pgoff();
        (first, (first + self.pages()).wrapping_sub(1))
    }

    /// The index of the page mapped at `addr` in this VMA.
    fn index_at(&self, addr: u64) -> u64 {
        self.key_pgoff() + ((addr - self.span().0) >> 12)
    }
}

impl Keyed for VmaState {
    fn span(&self) -> (u64, u64) {
        (self.start, self.end)
    }
    fn key_pgoff(&self) -> u64 {
        self.anon_pgoff.unwrap_or(self.pgoff)
    }
}

impl Keyed for RawVma {
    fn span(&self) -> (u64, u64) {
        (self.start, self.end)
    }
    fn key_pgoff(&self) -> u64 {
        self.anon_pgoff.unwrap_or(self.pgoff)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MmState {
    pub id: u32,
    pub vmas: Vec<VmaState>,
    pub bad_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeEntry {
    pub start: u64,
    pub last: u64,
    pub avc: AvcRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnonVmaState {
    pub root: AvRef,
    pub parent: AvRef,
    pub refcount: i64,
    pub num_children: i64,
    pub num_active_vmas: i64,
    /// See [`RawAnonVma::degree`].
    pub degree: Option<i64>,
    /// Sorted by key, then AVC.
    pub tree: Vec<TreeEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrayAvc {
    pub vma: VmaRef,
    pub anon_vma: AvRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageState {
    pub anon_vma: AvRef,
    pub index: u64,
    pub mapcount: i64,
    pub mappers: Vec<(u32, u64)>,
    pub walk: Vec<(u32, u64)>,
}

/// A world in canonical form: equal worlds give equal snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub mms: Vec<MmState>,
    /// Live VMAs that no process holds.
    pub detached: Vec<VmaState>,
    /// Indexed by canonical anon_vma id.
    pub anon_vmas: Vec<AnonVmaState>,
    /// Live AVCs that no chain holds.
    pub stray_avcs: Vec<StrayAvc>,
    pub pages: Vec<PageState>,
    pub live: LiveCounts,
}

impl Snapshot {
    /// The process with id `mm` (processes are in id order).
    pub fn mm(&self, mm: u32) -> Option<&MmState> {
        self.mms
            .binary_search_by_key(&mm, |m| m.id)
            .ok()
            .map(|i| &self.mms[i])
    }

    /// The VMA at `r`, if it is a live one.
    pub fn vma(&self, r: VmaRef) -> Option<&VmaState> {
        match r {
            VmaRef::InMm { mm, start } => {
                let vmas = &self.mm(mm)?.vmas;
                vmas.binary_search_by_key(&start, |v| v.start)
                    .ok()
                    .map(|i| &vmas[i])
            }
            VmaRef::Detached(i) => self.detached.get(i as usize),
            _ => None,
        }
    }

    /// The VMA of process `mm` that contains `addr` (VMAs are in address order).
    pub fn vma_at(&self, mm: u32, addr: u64) -> Option<&VmaState> {
        let vmas = &self.mm(mm)?.vmas;
        let i = vmas.partition_point(|v| v.start <= addr).checked_sub(1)?;
        Some(&vmas[i]).filter(|v| addr < v.end)
    }

    /// Every VMA held by a process, with its reference.
    pub fn vmas(&self) -> impl Iterator<Item = (VmaRef, &VmaState)> {
        self.mms.iter().flat_map(|m| {
            m.vmas.iter().map(move |v| {
                (
                    VmaRef::InMm {
                        mm: m.id,
                        start: v.start,
                    },
                    v,
                )
            })
        })
    }
}

impl Snapshot {
    /// Every reference names a live object, and every object is held:
    /// no freed or foreign pointer, no broken chain or list, nothing
    /// detached or stray. (What a cheap check that a world is unchanged
    /// relies on: `Engine::unchanged_since`.)
    pub fn refers_only_to_live(&self) -> bool {
        let av = |r: AvRef| matches!(r, AvRef::Null | AvRef::Id(_));
        let vma = |r: VmaRef| matches!(r, VmaRef::Null | VmaRef::InMm { .. });
        let avc = |r: AvcRef| matches!(r, AvcRef::OnChain { .. });
        let held = |v: &VmaState| {
            !v.chain_broken
                && !v.mm_freed
                && av(v.anon_vma)
                && v.chain.iter().all(|e| av(e.anon_vma) && vma(e.vma))
        };
        self.detached.is_empty()
            && self.stray_avcs.is_empty()
            && self
                .mms
                .iter()
                .all(|m| m.bad_entries == 0 && m.vmas.iter().all(held))
            && self
                .anon_vmas
                .iter()
                .all(|a| av(a.root) && av(a.parent) && a.tree.iter().all(|t| avc(t.avc)))
            && self
                .pages
                .iter()
                .all(|p| av(p.anon_vma) && p.walk.iter().all(|&(mm, _)| mm != u32::MAX))
    }

    /// Whether its anon_vmas keep a degree-era single counter.
    pub fn has_degree(&self) -> bool {
        self.anon_vmas.iter().any(|a| a.degree.is_some())
    }

    /// Whether the VMAs carry an anonymous page offset (Linux 7.3).
    pub fn has_anon_pgoff(&self) -> bool {
        self.vmas().any(|(_, v)| v.anon_pgoff.is_some())
    }

    /// The same world without anonymous page offsets, as a core before 7.3
    /// sees it (to compare with one).
    pub fn without_anon_pgoff(&self) -> Snapshot {
        let mut s = self.clone();
        for v in s
            .mms
            .iter_mut()
            .flat_map(|m| m.vmas.iter_mut())
            .chain(s.detached.iter_mut())
        {
            v.anon_pgoff = None;
        }
        s
    }

    /// The same world with each anon_vma's two counters replaced by their
    /// sum, as a degree-era core keeps them (to compare with one).
    pub fn counters_as_degree(&self) -> Snapshot {
        let mut s = self.clone();
        for a in &mut s.anon_vmas {
            if a.degree.is_none() {
                a.degree = Some(a.num_children + a.num_active_vmas);
                a.num_children = 0;
                a.num_active_vmas = 0;
            }
        }
        s
    }
}
