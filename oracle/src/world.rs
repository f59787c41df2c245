//! The objects of a world, held in generational arenas, and the plumbing
//! every operation shares: lookups, VMA linkage, page tables, allocation.

use std::collections::BTreeMap;

use smallvec::SmallVec;

use slotmap::new_key_type;

use crate::alloc::Injector;
use crate::tracked::{Stamped, Tracked};
use crate::watched::Watched;
use crate::{Site, PAGE_SHIFT};

new_key_type! {
    pub(crate) struct MmKey;
    pub(crate) struct VmaKey;
    pub(crate) struct AvKey;
    pub(crate) struct AvcKey;
    pub(crate) struct PageKey;
}

/// An allocation failed (the operation returns ENOMEM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Enomem;

pub(crate) type Alloc<T> = Result<T, Enomem>;

#[derive(Debug, PartialEq)]
pub(crate) struct Mm {
    pub(crate) id: u32,
    /// VMAs by start address.
    pub(crate) vmas: BTreeMap<u64, VmaKey>,
    /// Page-table entries by page address.
    pub(crate) ptes: BTreeMap<u64, PageKey>,
}

/// Copies a map over another unless they are equal already: a world put
/// back after a try finds most of its processes' maps untouched, and
/// comparing a few entries costs less than building the map again.
fn clone_map_from<K: Ord + Clone, V: Clone + PartialEq>(
    to: &mut BTreeMap<K, V>,
    from: &BTreeMap<K, V>,
) {
    if to != from {
        to.clone_from(from);
    }
}

impl Clone for Mm {
    fn clone(&self) -> Mm {
        Mm {
            id: self.id,
            vmas: self.vmas.clone(),
            ptes: self.ptes.clone(),
        }
    }

    fn clone_from(&mut self, source: &Mm) {
        self.id = source.id;
        clone_map_from(&mut self.vmas, &source.vmas);
        clone_map_from(&mut self.ptes, &source.ptes);
    }
}

/// A list of AVCs: a VMA's chain or an anon_vma's tree. Most hold a few,
/// kept inline: a world is cloned at every try of a search (its saved
/// copy put back), and a clone then allocates nothing for them.
pub(crate) type Avcs = SmallVec<[AvcKey; 4]>;

/// When an object was made, by the world's count of objects made: a dump
/// lists each arena's objects in that order, as the C side lists its live
/// objects. Not part of the state: any two compare equal.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Born(pub(crate) u64);

impl PartialEq for Born {
    fn eq(&self, _: &Born) -> bool {
        true
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Vma {
    pub(crate) born: Born,
    pub(crate) mm: MmKey,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) pgoff: u64,
    /// The anonymous page offset (Linux 7.3): what pages are indexed and
    /// AVCs keyed by. Kept beside `pgoff` as the kernel keeps it, though
    /// for an anonymous VMA the two never differ.
    pub(crate) anon_pgoff: u64,
    pub(crate) flags: u32,
    pub(crate) anon_vma: Option<AvKey>,
    /// The anon_vma_chain list; the front is the head.
    pub(crate) chain: Avcs,
    pub(crate) attached: bool,
}

impl Vma {
    pub(crate) fn pages(&self) -> u64 {
        (self.end - self.start) >> PAGE_SHIFT
    }

    pub(crate) fn last_anon_pgoff(&self) -> u64 {
        (self.anon_pgoff + self.pages()).wrapping_sub(1)
    }

    /// The index of a new anonymous page at `addr`.
    pub(crate) fn index_of(&self, addr: u64) -> u64 {
        self.anon_pgoff + ((addr - self.start) >> PAGE_SHIFT)
    }

    pub(crate) fn offsets(&self) -> Offsets {
        Offsets {
            pgoff: self.pgoff,
            anon: self.anon_pgoff,
        }
    }
}

/// Both page offsets of a range: the kernel computes each from its own
/// kind, `delta` pages from a neighbour's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Offsets {
    pub(crate) pgoff: u64,
    pub(crate) anon: u64,
}

impl Offsets {
    /// A new range at `addr`: both offsets are its page number.
    pub(crate) fn at(addr: u64) -> Offsets {
        Offsets {
            pgoff: addr >> PAGE_SHIFT,
            anon: addr >> PAGE_SHIFT,
        }
    }

    pub(crate) fn plus(self, pages: u64) -> Offsets {
        Offsets {
            pgoff: self.pgoff + pages,
            anon: self.anon + pages,
        }
    }

    pub(crate) fn minus(self, pages: u64) -> Offsets {
        Offsets {
            pgoff: self.pgoff - pages,
            anon: self.anon - pages,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AnonVma {
    pub(crate) born: Born,
    pub(crate) root: AvKey,
    pub(crate) parent: AvKey,
    pub(crate) refcount: i64,
    pub(crate) num_children: i64,
    pub(crate) num_active_vmas: i64,
    /// The AVCs of its interval tree. Keys are read from each AVC's VMA at
    /// query time, so re-keying around a range change is implicit.
    pub(crate) tree: Avcs,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Avc {
    pub(crate) born: Born,
    pub(crate) vma: VmaKey,
    pub(crate) anon_vma: AvKey,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Page {
    pub(crate) born: Born,
    pub(crate) anon_vma: AvKey,
    pub(crate) index: u64,
    pub(crate) mapcount: i64,
    /// Walkers holding the page (it outlives its last mapping for them).
    pub(crate) pins: i64,
    /// The page-table entries mapping it, for a dump of this page alone.
    pub(crate) mapped: Mapped,
}

/// A page's page-table entries, in no order: the page tables read
/// backwards. Kept only while the world follows its changes (and made
/// afresh where they are not whole, `World::dump_following`), and not
/// part of the state: any two compare equal.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mapped(pub(crate) SmallVec<[(MmKey, u64); 2]>);

impl PartialEq for Mapped {
    fn eq(&self, _: &Mapped) -> bool {
        true
    }
}

impl Stamped for Mm {
    fn stamp(&self) -> u64 {
        u64::from(self.id)
    }
}

macro_rules! stamped_by_birth {
    ($($ty:ty),*) => {$(
        impl Stamped for $ty {
            fn stamp(&self) -> u64 {
                self.born.0
            }
        }
    )*};
}
stamped_by_birth!(Vma, AnonVma, Avc, Page);

/// A world: processes and everything the anon_vma code keeps for them.
#[derive(Debug)]
pub struct World {
    // (Watched and Tracked: what a dump reads, see `World::wrote_nothing`
    // and `World::changes`.)
    pub(crate) mms: Tracked<MmKey, Mm>,
    pub(crate) mm_ids: Watched<BTreeMap<u32, MmKey>>,
    pub(crate) next_mm_id: u32,
    /// Objects made so far ([`Born`]).
    pub(crate) made: u64,
    pub(crate) vmas: Tracked<VmaKey, Vma>,
    pub(crate) avs: Tracked<AvKey, AnonVma>,
    pub(crate) avcs: Tracked<AvcKey, Avc>,
    pub(crate) pages: Tracked<PageKey, Page>,
    /// Each arena's objects in the order they were made, as the last dump
    /// listed them (`World::changes`).
    pub(crate) listed: crate::dump::Listed,
    /// Every page's `mapped` is exact: no entry changed while nothing
    /// followed (`World::pte_map`).
    pub(crate) mapped_whole: bool,
    pub(crate) alloc: Injector,
    pub(crate) armed: Option<crate::FailPlan>,
    /// A fault sees the race's start (see `World::set_apart`).
    pub(crate) apart: bool,
    /// The VMAs that had an anon_vma when the race began.
    pub(crate) faulted_before_race: Vec<VmaKey>,
    /// The page-table entries there were when the race began.
    pub(crate) mapped_before_race: Vec<(MmKey, u64)>,
}

impl Clone for World {
    fn clone(&self) -> World {
        World {
            mms: self.mms.clone(),
            mm_ids: self.mm_ids.clone(),
            next_mm_id: self.next_mm_id,
            made: self.made,
            vmas: self.vmas.clone(),
            avs: self.avs.clone(),
            avcs: self.avcs.clone(),
            pages: self.pages.clone(),
            listed: self.listed.clone(),
            mapped_whole: self.mapped_whole,
            alloc: self.alloc.clone(),
            armed: self.armed,
            apart: self.apart,
            faulted_before_race: self.faulted_before_race.clone(),
            mapped_before_race: self.mapped_before_race.clone(),
        }
    }

    /// Field by field, so that a world put back to a saved one over and
    /// over (explore) reuses its arenas' memory.
    fn clone_from(&mut self, source: &World) {
        self.mms.clone_from(&source.mms);
        clone_map_from(&mut self.mm_ids, &source.mm_ids);
        self.next_mm_id = source.next_mm_id;
        self.made = source.made;
        self.vmas.clone_from(&source.vmas);
        self.avs.clone_from(&source.avs);
        self.avcs.clone_from(&source.avcs);
        self.pages.clone_from(&source.pages);
        self.listed.clone_from(&source.listed);
        self.mapped_whole = source.mapped_whole;
        self.alloc.clone_from(&source.alloc);
        self.armed = source.armed;
        self.apart = source.apart;
        self.faulted_before_race
            .clone_from(&source.faulted_before_race);
        self.mapped_before_race
            .clone_from(&source.mapped_before_race);
    }
}

/// Accessors that refuse stale keys loudly: a generational arena turns a
/// use after free into a panic naming the object kind.
macro_rules! accessors {
    ($get:ident, $field:ident, $key:ty, $ty:ty, $what:literal) => {
        pub(crate) fn $get(&self, k: $key) -> &$ty {
            self.$field
                .get(k)
                .expect(concat!("stale ", $what, " reference"))
        }
    };
    ($get:ident, $get_mut:ident, $field:ident, $key:ty, $ty:ty, $what:literal) => {
        accessors!($get, $field, $key, $ty, $what);
        pub(crate) fn $get_mut(&mut self, k: $key) -> &mut $ty {
            self.$field
                .get_mut(k)
                .expect(concat!("stale ", $what, " reference"))
        }
    };
}

impl World {
    accessors!(mm, mm_mut, mms, MmKey, Mm, "mm");
    accessors!(vma, vma_mut, vmas, VmaKey, Vma, "VMA");
    accessors!(av, av_mut, avs, AvKey, AnonVma, "anon_vma");
    accessors!(avc, avcs, AvcKey, Avc, "anon_vma_chain");
    accessors!(page, page_mut, pages, PageKey, Page, "page");

    /// An allocation attempt at `site`; the object it makes is born now
    /// (whenever it goes into its arena), as the C side's is.
    pub(crate) fn attempt(&mut self, site: Site) -> Alloc<Born> {
        if self.alloc.attempt(site) {
            self.made += 1;
            Ok(Born(self.made))
        } else {
            Err(Enomem)
        }
    }

    pub(crate) fn new_mm(&mut self, id: u32) -> MmKey {
        let key = self.mms.insert(Mm {
            id,
            vmas: BTreeMap::new(),
            ptes: BTreeMap::new(),
        });
        self.mm_ids.insert(id, key);
        key
    }

    pub(crate) fn mm_by_id(&self, id: u32) -> Option<MmKey> {
        self.mm_ids.get(&id).copied()
    }

    // ---- VMA lookup and linkage ------------------------------------------

    /// The VMA of `mm` containing `addr`.
    pub(crate) fn vma_lookup(&self, mm: MmKey, addr: u64) -> Option<VmaKey> {
        let (_, &k) = self.mm(mm).vmas.range(..=addr).next_back()?;
        (addr < self.vma(k).end).then_some(k)
    }

    /// The lowest VMA of `mm` overlapping `[start, end)`.
    pub(crate) fn first_in_range(&self, mm: MmKey, start: u64, end: u64) -> Option<VmaKey> {
        if start >= end {
            return None;
        }
        if let Some(k) = self.vma_lookup(mm, start) {
            return Some(k);
        }
        let (_, &k) = self.mm(mm).vmas.range(start..end).next()?;
        Some(k)
    }

    pub(crate) fn range_is_free(&self, mm: MmKey, start: u64, end: u64) -> bool {
        self.first_in_range(mm, start, end).is_none()
    }

    pub(crate) fn vma_next(&self, k: VmaKey) -> Option<VmaKey> {
        let v = self.vma(k);
        self.mm(v.mm)
            .vmas
            .range(v.start + 1..)
            .next()
            .map(|(_, &n)| n)
    }

    pub(crate) fn vma_prev(&self, k: VmaKey) -> Option<VmaKey> {
        let v = self.vma(k);
        self.mm(v.mm)
            .vmas
            .range(..v.start)
            .next_back()
            .map(|(_, &p)| p)
    }

    /// Adds an allocated VMA to its mm (vma_link).
    pub(crate) fn vma_link(&mut self, k: VmaKey) {
        let (mm, start) = {
            let v = self.vma_mut(k);
            v.attached = true;
            (v.mm, v.start)
        };
        self.mm_mut(mm).vmas.insert(start, k);
    }

    /// Removes a VMA from its mm (it stays allocated).
    pub(crate) fn vma_unlink(&mut self, k: VmaKey) {
        let (mm, start) = {
            let v = self.vma_mut(k);
            v.attached = false;
            (v.mm, v.start)
        };
        let removed = self.mm_mut(mm).vmas.remove(&start);
        assert_eq!(removed, Some(k), "VMA set out of step with a VMA's start");
    }

    /// Changes a linked VMA's range, keeping the mm's index by start.
    pub(crate) fn vma_set_range(&mut self, k: VmaKey, start: u64, end: u64, off: Offsets) {
        let (mm, old_start, attached) = {
            let v = self.vma(k);
            (v.mm, v.start, v.attached)
        };
        if attached {
            let m = self.mm_mut(mm);
            if m.vmas.get(&old_start) == Some(&k) {
                m.vmas.remove(&old_start);
            }
            m.vmas.insert(start, k);
        }
        let v = self.vma_mut(k);
        v.start = start;
        v.end = end;
        v.pgoff = off.pgoff;
        v.anon_pgoff = off.anon;
    }

    pub(crate) fn alloc_vma(&mut self, vma: Vma) -> Alloc<VmaKey> {
        let born = self.attempt(Site::Vma)?;
        Ok(self.vmas.insert(Vma { born, ..vma }))
    }

    /// A detached copy without a chain (vm_area_dup).
    pub(crate) fn vma_dup(&mut self, k: VmaKey) -> Alloc<VmaKey> {
        let mut copy = self.vma(k).clone();
        copy.chain.clear();
        copy.attached = false;
        self.alloc_vma(copy)
    }

    pub(crate) fn vma_free(&mut self, k: VmaKey) {
        let v = self.vmas.remove(k).expect("stale VMA reference");
        assert!(
            v.chain.is_empty() && !v.attached,
            "freeing a VMA that is still linked"
        );
    }

    // ---- Pages and page tables -------------------------------------------

    pub(crate) fn pte(&self, mm: MmKey, addr: u64) -> Option<PageKey> {
        self.mm(mm).ptes.get(&addr).copied()
    }

    /// Maps `page` at `addr` of `mm`, over the page mapped there if any
    /// (a copy on write; its mapcount is its caller's).
    pub(crate) fn pte_map(&mut self, mm: MmKey, addr: u64, page: PageKey) {
        let old = self.mm_mut(mm).ptes.insert(addr, page);
        if !self.pages.follows() {
            self.mapped_whole = false;
            return;
        }
        if let Some(old) = old {
            self.unmapped(old, mm, addr);
        }
        self.page_mut(page).mapped.0.push((mm, addr));
    }

    /// Clears the entry at `addr` of `mm`, returning the page it mapped.
    pub(crate) fn pte_clear(&mut self, mm: MmKey, addr: u64) -> Option<PageKey> {
        let page = self.mm_mut(mm).ptes.remove(&addr)?;
        match self.pages.follows() {
            true => self.unmapped(page, mm, addr),
            false => self.mapped_whole = false,
        }
        Some(page)
    }

    fn unmapped(&mut self, page: PageKey, mm: MmKey, addr: u64) {
        let mapped = &mut self.page_mut(page).mapped.0;
        if let Some(i) = mapped.iter().position(|&e| e == (mm, addr)) {
            mapped.swap_remove(i);
        }
    }

    /// Every page's page-table entries, read from the page tables.
    pub(crate) fn remap(&mut self) {
        let mut entries: Vec<(PageKey, MmKey, u64)> = Vec::new();
        for (mm, m) in self.mms.iter() {
            entries.extend(m.ptes.iter().map(|(&addr, &p)| (p, mm, addr)));
        }
        for k in self.pages.keys().collect::<Vec<_>>() {
            if let Some(p) = self.pages.get_mut(k) {
                p.mapped.0.clear();
            }
        }
        for (p, mm, addr) in entries {
            if let Some(page) = self.pages.get_mut(p) {
                page.mapped.0.push((mm, addr));
            }
        }
        self.mapped_whole = true;
    }

    /// Drops the entries of `[start, end)`; a page nobody maps is freed.
    pub(crate) fn unmap_range(&mut self, mm: MmKey, start: u64, end: u64) {
        let addrs: Vec<u64> = self
            .mm(mm)
            .ptes
            .range(start..end)
            .map(|(&a, _)| a)
            .collect();
        for a in addrs {
            let p = self.pte_clear(mm, a).expect("entry just listed");
            let page = self.page_mut(p);
            page.mapcount -= 1;
            if page.mapcount == 0 && page.pins == 0 {
                self.pages.remove(p);
            }
        }
    }
}
