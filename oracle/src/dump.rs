//! A pointer-free picture of every live object (docs/MODEL.md section 8).

use slotmap::{Key, SecondaryMap, SlotMap};
use smallvec::SmallVec;

use crate::world::{AnonVma, AvKey, Avc, AvcKey, Born, Mm, Page, PageKey, Vma, VmaKey, World};

/// A short list, inline: most of a dump's lists hold a few entries, and a
/// search dumps the world at every try.
pub type Few<T> = SmallVec<[T; 4]>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ref {
    Null,
    Live(usize),
    Dangling,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub mm: u64,
    pub vma: u64,
    pub anon_vma: u64,
    pub avc: u64,
    pub page: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpMm {
    pub id: u32,
    /// Indices into `Dump::vmas`, in address order.
    pub vmas: Few<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpVma {
    pub mm: Option<u32>,
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    /// The anonymous page offset (Linux 7.3).
    pub anon_pgoff: u64,
    pub flags: u32,
    pub anon_vma: Ref,
    /// Indices into `Dump::avcs`, head first.
    pub chain: Few<usize>,
    pub attached: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpAvc {
    pub vma: Ref,
    pub anon_vma: Ref,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpAnonVma {
    pub root: Ref,
    pub parent: Ref,
    pub refcount: i64,
    pub num_children: i64,
    pub num_active_vmas: i64,
    /// Indices into `Dump::avcs`.
    pub tree: Few<usize>,
    /// What each entry of `tree` is keyed by: its VMA's anonymous page
    /// range, first and last.
    pub keys: Few<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpPage {
    pub anon_vma: Ref,
    pub index: u64,
    pub mapcount: i64,
    pub mappers: Few<(u32, u64)>,
    pub walk: Few<(u32, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dump {
    pub mms: Vec<DumpMm>,
    pub vmas: Vec<DumpVma>,
    pub avcs: Vec<DumpAvc>,
    pub anon_vmas: Vec<DumpAnonVma>,
    pub pages: Vec<DumpPage>,
    pub live: LiveCounts,
}

/// Each arena's live objects in the order they were made (by [`Born`]),
/// as a dump lists them: the order the C side lists live objects in, so
/// that two equal worlds made alike dump alike, position for position.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listed {
    vmas: Vec<(u64, VmaKey)>,
    avcs: Vec<(u64, AvcKey)>,
    avs: Vec<(u64, AvKey)>,
    pages: Vec<(u64, PageKey)>,
}

fn made_order<K: Key, V>(arena: &SlotMap<K, V>, born: impl Fn(&V) -> Born) -> Vec<(u64, K)> {
    let mut keys: Vec<(u64, K)> = arena.iter().map(|(k, v)| (born(v).0, k)).collect();
    // (Slots are handed out in order until one is reused.)
    if !keys.is_sorted_by_key(|&(b, _)| b) {
        keys.sort_unstable_by_key(|&(b, _)| b);
    }
    keys
}

/// Where an object is listed: by an index of every key (a whole dump), or
/// looked up by when it was made (a record or a few).
trait Places<K> {
    fn place(&self, k: K) -> Option<usize>;
}

impl<K: Key> Places<K> for SecondaryMap<K, usize> {
    fn place(&self, k: K) -> Option<usize> {
        self.get(k).copied()
    }
}

/// A listing and its arena: a live key's place, found by when it was made.
struct Lookup<'a, K: Key, V> {
    listed: &'a [(u64, K)],
    arena: &'a SlotMap<K, V>,
    born: fn(&V) -> Born,
}

impl<K: Key, V> Places<K> for Lookup<'_, K, V> {
    fn place(&self, k: K) -> Option<usize> {
        let b = (self.born)(self.arena.get(k)?).0;
        self.listed.binary_search_by_key(&b, |&(b, _)| b).ok()
    }
}

/// Positions of a listing's keys, every one.
fn index_of<K: Key, V>(arena: &SlotMap<K, V>, order: &[(u64, K)]) -> SecondaryMap<K, usize> {
    // (Room for every slot up front: grown by doubling, it would copy
    // itself at every dump.)
    let mut at = SecondaryMap::with_capacity(arena.capacity());
    for (i, &(_, k)) in order.iter().enumerate() {
        at.insert(k, i);
    }
    at
}

/// A stale key has no place: it becomes `Dangling`.
fn reference<K: Key>(places: &impl Places<K>, k: Option<K>) -> Ref {
    match k {
        None => Ref::Null,
        Some(k) => places.place(k).map_or(Ref::Dangling, Ref::Live),
    }
}

/// Takes a dump one object at a time, in dump order: the processes, then
/// each arena's objects (VMAs, AVCs, anon_vmas, pages).
pub trait DumpSink {
    fn mm(&mut self, m: DumpMm);
    fn vma(&mut self, v: DumpVma);
    fn avc(&mut self, a: DumpAvc);
    fn anon_vma(&mut self, a: DumpAnonVma);
    fn page(&mut self, p: DumpPage);
}

impl DumpSink for Dump {
    fn mm(&mut self, m: DumpMm) {
        self.mms.push(m);
    }
    fn vma(&mut self, v: DumpVma) {
        self.vmas.push(v);
    }
    fn avc(&mut self, a: DumpAvc) {
        self.avcs.push(a);
    }
    fn anon_vma(&mut self, a: DumpAnonVma) {
        self.anon_vmas.push(a);
    }
    fn page(&mut self, p: DumpPage) {
        self.pages.push(p);
    }
}

/// The kinds of record a dump lists by position, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Vma = 0,
    Avc = 1,
    AnonVma = 2,
    Page = 3,
}

/// What changed since the last dump ([`World::changes`]), by the dump's
/// positions: a record at no position named here, nor freed, is listed
/// as the last dump listed it, renumbered past what was freed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Per [`Listing`]: the positions in the last dump of the objects
    /// freed since, ascending.
    pub freed: [Vec<usize>; 4],
    /// Per [`Listing`]: the positions now of the records that may differ
    /// from the last dump's (written, new, or reading what was), ascending.
    pub records: [Vec<usize>; 4],
    /// The processes whose record may differ (or that are new), by id,
    /// ascending; and those gone.
    pub mms: Vec<u32>,
    pub mms_gone: Vec<u32>,
}

/// The record makers every dump shares: whole, or a record at a time.
struct Records<'a, V, C, A> {
    w: &'a World,
    vma_at: V,
    avc_at: C,
    av_at: A,
}

impl<V: Places<VmaKey>, C: Places<AvcKey>, A: Places<AvKey>> Records<'_, V, C, A> {
    fn avc_list(&self, keys: &[AvcKey]) -> Few<usize> {
        keys.iter().filter_map(|&k| self.avc_at.place(k)).collect()
    }

    fn mm(&self, m: &Mm) -> DumpMm {
        DumpMm {
            id: m.id,
            vmas: m
                .vmas
                .values()
                .filter_map(|&k| self.vma_at.place(k))
                .collect(),
        }
    }

    fn vma(&self, v: &Vma) -> DumpVma {
        DumpVma {
            mm: self.w.mms.get(v.mm).filter(|_| v.attached).map(|m| m.id),
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            anon_pgoff: v.anon_pgoff,
            flags: v.flags,
            anon_vma: reference(&self.av_at, v.anon_vma),
            chain: self.avc_list(&v.chain),
            attached: v.attached,
        }
    }

    fn avc(&self, a: &Avc) -> DumpAvc {
        DumpAvc {
            vma: reference(&self.vma_at, Some(a.vma)),
            anon_vma: reference(&self.av_at, Some(a.anon_vma)),
        }
    }

    fn anon_vma(&self, a: &AnonVma) -> DumpAnonVma {
        let mut tree = Few::new();
        let mut keys = Few::new();
        for &k in &a.tree {
            let Some(at) = self.avc_at.place(k) else {
                continue;
            };
            let v = self.w.avcs.get(k).and_then(|c| self.w.vmas.get(c.vma));
            tree.push(at);
            keys.push(v.map_or((0, 0), |v| (v.anon_pgoff, v.last_anon_pgoff())));
        }
        DumpAnonVma {
            root: reference(&self.av_at, Some(a.root)),
            parent: reference(&self.av_at, Some(a.parent)),
            refcount: a.refcount,
            num_children: a.num_children,
            num_active_vmas: a.num_active_vmas,
            tree,
            keys,
        }
    }

    fn page(&self, k: PageKey, p: &Page, mappers: Few<(u32, u64)>) -> DumpPage {
        DumpPage {
            anon_vma: reference(&self.av_at, Some(p.anon_vma)),
            index: p.index,
            mapcount: p.mapcount,
            mappers,
            walk: self.w.rmap_walk(k),
        }
    }
}

impl World {
    pub fn dump(&self) -> Dump {
        let mut d = Dump {
            live: self.live_counts(),
            ..Dump::default()
        };
        self.dump_to(&mut d);
        d
    }

    /// The dump, object by object, into `sink`.
    pub fn dump_to(&self, sink: &mut impl DumpSink) {
        self.dump_listed(&self.listing(), sink);
    }

    /// The dump into `sink`; from here on, if `follow`, [`World::changes`]
    /// says what changed since (at a cost on every write), else it says
    /// nothing.
    pub fn dump_following(&mut self, sink: &mut impl DumpSink, follow: bool) {
        if !follow {
            self.dump_to(sink);
            self.mms.unfollow();
            self.vmas.unfollow();
            self.avcs.unfollow();
            self.avs.unfollow();
            self.pages.unfollow();
            return;
        }
        // (Pages know their entries only while followed.)
        if !self.mapped_whole {
            self.remap();
        }
        let listed = self.listing();
        self.dump_listed(&listed, sink);
        self.listed = listed;
        self.forget_changes();
    }

    fn listing(&self) -> Listed {
        Listed {
            vmas: made_order(&self.vmas, |v| v.born),
            avcs: made_order(&self.avcs, |a| a.born),
            avs: made_order(&self.avs, |a| a.born),
            pages: made_order(&self.pages, |p| p.born),
        }
    }

    fn forget_changes(&mut self) {
        self.mms.take_changes();
        self.vmas.take_changes();
        self.avcs.take_changes();
        self.avs.take_changes();
        self.pages.take_changes();
    }

    fn dump_listed(&self, listed: &Listed, sink: &mut impl DumpSink) {
        let r = Records {
            w: self,
            vma_at: index_of(&self.vmas, &listed.vmas),
            avc_at: index_of(&self.avcs, &listed.avcs),
            av_at: index_of(&self.avs, &listed.avs),
        };
        for &mm in self.mm_ids.values() {
            sink.mm(r.mm(self.mm(mm)));
        }
        for &(_, k) in &listed.vmas {
            sink.vma(r.vma(&self.vmas[k]));
        }
        for &(_, k) in &listed.avcs {
            sink.avc(r.avc(&self.avcs[k]));
        }
        for &(_, k) in &listed.avs {
            sink.anon_vma(r.anon_vma(&self.avs[k]));
        }

        // (The page tables read forwards: the mappers of every page.)
        let mut mappers: SecondaryMap<PageKey, Few<(u32, u64)>> =
            SecondaryMap::with_capacity(self.pages.capacity());
        for m in self.mm_ids.values().map(|&k| self.mm(k)) {
            for (&addr, &p) in &m.ptes {
                if let Some(list) = mappers.entry(p) {
                    list.or_default().push((m.id, addr));
                }
            }
        }
        for &(_, k) in &listed.pages {
            let mut mapped = mappers.remove(k).unwrap_or_default();
            mapped.sort_unstable();
            sink.page(r.page(k, &self.pages[k], mapped));
        }
    }

    /// The record makers over the last dump's listing, by lookup.
    fn looked_up(
        &self,
    ) -> Records<'_, Lookup<'_, VmaKey, Vma>, Lookup<'_, AvcKey, Avc>, Lookup<'_, AvKey, AnonVma>>
    {
        Records {
            w: self,
            vma_at: Lookup {
                listed: &self.listed.vmas,
                arena: &self.vmas,
                born: |v| v.born,
            },
            avc_at: Lookup {
                listed: &self.listed.avcs,
                arena: &self.avcs,
                born: |a| a.born,
            },
            av_at: Lookup {
                listed: &self.listed.avs,
                arena: &self.avs,
                born: |a| a.born,
            },
        }
    }

    /// What changed since the last dump ([`World::dump_following`] or this),
    /// by position; from here on, what changes since this. `None` where the
    /// world did not follow (no dump yet, put back from a saved one, or
    /// changed past following): a whole dump is due then.
    pub fn changes(&mut self) -> Option<Changes> {
        let taken = (
            self.mms.take_changes(),
            self.vmas.take_changes(),
            self.avcs.take_changes(),
            self.avs.take_changes(),
            self.pages.take_changes(),
        );
        let (Some(mms), Some(vmas), Some(avcs), Some(avs), Some(pages)) = taken else {
            return None;
        };
        let mut ch = Changes {
            freed: [
                forget(&mut self.listed.vmas, &vmas.1),
                forget(&mut self.listed.avcs, &avcs.1),
                forget(&mut self.listed.avs, &avs.1),
                forget(&mut self.listed.pages, &pages.1),
            ],
            ..Changes::default()
        };
        list_new(&mut self.listed.vmas, &self.vmas, &vmas.0, |v| v.born);
        list_new(&mut self.listed.avcs, &self.avcs, &avcs.0, |a| a.born);
        list_new(&mut self.listed.avs, &self.avs, &avs.0, |a| a.born);
        list_new(&mut self.listed.pages, &self.pages, &pages.0, |p| p.born);

        // An anon_vma's record lists its tree keyed by each node's VMA's
        // range; a page's walk reads its anon_vma's tree, the nodes' VMAs
        // and the page tables there (a page whose entry changed is
        // touched itself). So a changed AVC changes its anon_vma's, and a
        // changed VMA those of every anon_vma its chain links it to.
        let mut avs_read: Vec<AvKey> = avs.0.clone();
        avs_read.extend(
            avcs.0
                .iter()
                .filter_map(|&k| self.avcs.get(k))
                .map(|a| a.anon_vma),
        );
        for v in vmas.0.iter().filter_map(|&k| self.vmas.get(k)) {
            avs_read.extend(
                v.chain
                    .iter()
                    .filter_map(|&c| self.avcs.get(c))
                    .map(|a| a.anon_vma),
            );
        }
        let mut pages_read = pages.0;
        if !avs_read.is_empty() || !avs.1.is_empty() {
            let mut read = SecondaryMap::with_capacity(avs_read.len());
            for &k in &avs_read {
                read.insert(k, ());
            }
            pages_read.extend(self.pages.iter().filter_map(|(k, p)| {
                let stale = !self.avs.contains_key(p.anon_vma) || read.contains_key(p.anon_vma);
                stale.then_some(k)
            }));
        }
        let r = self.looked_up();
        ch.records = [
            places(&r.vma_at, vmas.0),
            places(&r.avc_at, avcs.0),
            places(&r.av_at, avs_read),
            places(
                &Lookup {
                    listed: &self.listed.pages,
                    arena: &*self.pages,
                    born: |p| p.born,
                },
                pages_read,
            ),
        ];
        ch.mms = mms
            .0
            .iter()
            .filter_map(|&k| self.mms.get(k))
            .map(|m| m.id)
            .collect();
        ch.mms.sort_unstable();
        ch.mms.dedup();
        ch.mms_gone = mms.1.iter().map(|&id| id as u32).collect();
        ch.mms_gone.sort_unstable();
        Some(ch)
    }

    /// The record listed at `at` of `listing` in the last dump's order
    /// (as [`World::changes`] left it), into `sink`; nothing where there
    /// is none.
    pub fn record_at(&self, listing: Listing, at: usize, sink: &mut impl DumpSink) {
        let r = self.looked_up();
        match listing {
            Listing::Vma => {
                if let Some(&(_, k)) = self.listed.vmas.get(at) {
                    sink.vma(r.vma(&self.vmas[k]));
                }
            }
            Listing::Avc => {
                if let Some(&(_, k)) = self.listed.avcs.get(at) {
                    sink.avc(r.avc(&self.avcs[k]));
                }
            }
            Listing::AnonVma => {
                if let Some(&(_, k)) = self.listed.avs.get(at) {
                    sink.anon_vma(r.anon_vma(&self.avs[k]));
                }
            }
            Listing::Page => {
                if let Some(&(_, k)) = self.listed.pages.get(at) {
                    let p = &self.pages[k];
                    let mut mapped: Few<(u32, u64)> = p
                        .mapped
                        .0
                        .iter()
                        .map(|&(mm, addr)| (self.mm(mm).id, addr))
                        .collect();
                    mapped.sort_unstable();
                    sink.page(r.page(k, p, mapped));
                }
            }
        }
    }

    /// The record of process `id`, into `sink`; nothing if it is gone.
    pub fn mm_record(&self, id: u32, sink: &mut impl DumpSink) {
        if let Some(&k) = self.mm_ids.get(&id) {
            sink.mm(self.looked_up().mm(self.mm(k)));
        }
    }

    /// True if every object is as in `then`, under the same key, and so
    /// are the processes' ids: all a dump reads, so the two dumps are the
    /// same. (Cheaper than a dump: a search asks it after each try, as
    /// most leave the world as they found it.)
    pub fn same_objects(&self, then: &World) -> bool {
        fn same<K: slotmap::Key, V: PartialEq>(a: &SlotMap<K, V>, b: &SlotMap<K, V>) -> bool {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
        }
        *self.mm_ids == *then.mm_ids
            && same(&self.mms, &then.mms)
            && same(&self.vmas, &then.vmas)
            && same(&self.avs, &then.avs)
            && same(&self.avcs, &then.avcs)
            && same(&self.pages, &then.pages)
    }

    pub fn live_counts(&self) -> LiveCounts {
        LiveCounts {
            mm: self.mms.len() as u64,
            vma: self.vmas.len() as u64,
            anon_vma: self.avs.len() as u64,
            avc: self.avcs.len() as u64,
            page: self.pages.len() as u64,
        }
    }
}

/// Drops from a listing the objects made at `gone` (stamps of freed
/// objects), returning their positions in it, ascending.
#[inline(never)]
fn forget<K: Key>(listed: &mut Vec<(u64, K)>, gone: &[u64]) -> Vec<usize> {
    let mut at: Vec<usize> = gone
        .iter()
        .filter_map(|b| listed.binary_search_by_key(b, |&(b, _)| b).ok())
        .collect();
    if at.is_empty() {
        return at;
    }
    at.sort_unstable();
    at.dedup();
    let mut i = 0;
    let mut next = at.iter().peekable();
    listed.retain(|_| {
        let drop = next.peek() == Some(&&i);
        if drop {
            next.next();
        }
        i += 1;
        !drop
    });
    at
}

/// Adds to a listing the live objects of `changed` made since it was
/// taken: after every object it lists, in the order they were made.
#[inline(never)]
fn list_new<K: Key, V>(
    listed: &mut Vec<(u64, K)>,
    arena: &SlotMap<K, V>,
    changed: &[K],
    born: impl Fn(&V) -> Born,
) {
    let last = listed.last().map_or(0, |&(b, _)| b);
    let from = listed.len();
    listed.extend(changed.iter().filter_map(|&k| {
        let b = born(arena.get(k)?).0;
        (b > last).then_some((b, k))
    }));
    let new = &mut listed[from..];
    new.sort_unstable_by_key(|&(b, _)| b);
    let mut kept = from;
    for i in from..listed.len() {
        if i == from || listed[i].0 != listed[kept - 1].0 {
            listed[kept] = listed[i];
            kept += 1;
        }
    }
    listed.truncate(kept);
}

/// The places of the live keys of `keys`, ascending and once each.
#[inline(never)]
fn places<K: Key>(at: &impl Places<K>, keys: Vec<K>) -> Vec<usize> {
    let mut out: Vec<usize> = keys.into_iter().filter_map(|k| at.place(k)).collect();
    out.sort_unstable();
    out.dedup();
    out
}
