//! A C world's last snapshot, handed back by the runner once nothing reads
//! it again ([`Engine::recycle`](super::Engine::recycle)) and patched in
//! place with the records of what each step changed
//! (`rf_world_snapshot_changed()` in `csrc/snapshot.c`): the C side then
//! walks only what the step touched, and no report is copied.
//!
//! Within a site the C side lists objects in the order they were made, and
//! a new object is made after every live one: it goes at the end, and the
//! objects before keep their positions. Only a step that frees something
//! moves positions, and then every reference is renumbered once. So a
//! patched snapshot is the one a whole snapshot would give, order
//! included; with `RMAPFUZZ_VERIFY_WATCH=1` the C engine checks that at
//! every step.
//!
//! Only a world whose references all name live objects is kept: a freed or
//! foreign pointer, a broken chain or list is the C side's to classify, and
//! a snapshot that would hold one is taken whole.

use super::{Before, Changes};
use crate::check::snapshot::{RawAnonVma, RawAvc, RawMm, RawRef, RawSnapshot, RawVma};

/// When each record's object was made, per site (mm, VMA, anon_vma, AVC,
/// page), in record order.
pub(crate) type Made<'a> = [&'a [u32]; 5];

const MM: usize = 0;
const VMA: usize = 1;
const ANON_VMA: usize = 2;
const AVC: usize = 3;
const PAGE: usize = 4;

/// When each object of the last snapshot was made, and that snapshot
/// itself once its taker has handed it back ([`Kept::recycle`]): it is
/// patched in place into the next, so no step copies a whole report.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    /// The last snapshot (references by position), handed back.
    raw: Option<RawSnapshot>,
    /// Per site, by position; ascending, but for the mms (in id order).
    made: [Vec<u32>; 5],
    /// Which report was handed out last.
    handed: Handed,
}

/// Where a report's records live and how many there are: a report handed
/// back with the same is the one handed out, unchanged in length (the
/// runner reads a report and never writes it). A report dropped and
/// another built in its place could match only if it were handed back to
/// this engine, and the runner hands an engine back only its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Handed([(usize, usize); 5]);

impl Handed {
    fn of(raw: &RawSnapshot) -> Handed {
        Handed([
            (raw.mms.as_ptr() as usize, raw.mms.len()),
            (raw.vmas.as_ptr() as usize, raw.vmas.len()),
            (raw.anon_vmas.as_ptr() as usize, raw.anon_vmas.len()),
            (raw.avcs.as_ptr() as usize, raw.avcs.len()),
            (raw.pages.as_ptr() as usize, raw.pages.len()),
        ])
    }
}

/// Every reference to site `site` in the records of `raw`, then in those
/// dropped before them (`before`), with `f` (told which; nothing refers
/// to a page).
fn each_ref(
    raw: &mut RawSnapshot,
    before: &mut Before,
    site: usize,
    mut f: impl FnMut(&mut RawRef, bool),
) {
    let pages = raw.pages.iter_mut().map(|p| &mut p.anon_vma);
    let (vmas, avcs, anon_vmas) = (&mut raw.vmas, &mut raw.avcs, &mut raw.anon_vmas);
    refs_in(
        site,
        vmas.iter_mut(),
        avcs.iter_mut(),
        anon_vmas.iter_mut(),
        pages,
        &mut |r| f(r, true),
    );
    refs_in(
        site,
        before.vmas.iter_mut().map(|(_, v)| v),
        before.avcs.iter_mut().map(|(_, a)| a),
        before.anon_vmas.iter_mut().map(|(_, a)| a),
        std::iter::empty(),
        &mut |r| f(r, false),
    );
}

fn refs_in<'a>(
    site: usize,
    vmas: impl Iterator<Item = &'a mut RawVma>,
    avcs: impl Iterator<Item = &'a mut RawAvc>,
    anon_vmas: impl Iterator<Item = &'a mut RawAnonVma>,
    pages: impl Iterator<Item = &'a mut RawRef>,
    f: &mut dyn FnMut(&mut RawRef),
) {
    match site {
        VMA => avcs.for_each(|a| f(&mut a.vma)),
        ANON_VMA => {
            for v in vmas {
                f(&mut v.anon_vma);
            }
            for a in avcs {
                f(&mut a.anon_vma);
            }
            for a in anon_vmas {
                f(&mut a.root);
                f(&mut a.parent);
            }
            pages.for_each(f);
        }
        AVC => {
            for v in vmas {
                v.chain.iter_mut().for_each(&mut *f);
            }
            for a in anon_vmas {
                a.tree.iter_mut().for_each(|n| f(&mut n.avc));
            }
        }
        _ => {}
    }
}

fn live(r: &RawRef) -> bool {
    matches!(r, RawRef::Null | RawRef::Index(_))
}

/// How many of a record's references are dangling.
fn dangles_of(refs: impl IntoIterator<Item = RawRef>) -> usize {
    refs.into_iter().filter(|r| *r == RawRef::Dangling).count()
}

fn vma_refs(v: &RawVma) -> impl Iterator<Item = RawRef> + '_ {
    std::iter::once(v.anon_vma).chain(v.chain.iter().copied())
}

fn avc_refs(a: &RawAvc) -> impl Iterator<Item = RawRef> {
    [a.vma, a.anon_vma].into_iter()
}

fn anon_vma_refs(a: &RawAnonVma) -> impl Iterator<Item = RawRef> + '_ {
    [a.root, a.parent]
        .into_iter()
        .chain(a.tree.iter().map(|n| n.avc))
}

/// Whether a record's references all name live objects, and no walk it
/// reports was cut short (per site; a process's VMAs are in the report).
fn mm_live(m: &RawMm, vmas: usize) -> bool {
    m.bad_entries == 0 && m.vmas.iter().all(|&v| v < vmas)
}

fn vma_live(v: &RawVma) -> bool {
    v.mm.is_ok() && !v.chain_broken && live(&v.anon_vma) && v.chain.iter().all(live)
}

fn avc_live(a: &RawAvc) -> bool {
    live(&a.vma) && live(&a.anon_vma)
}

fn anon_vma_live(a: &RawAnonVma) -> bool {
    live(&a.root) && live(&a.parent) && a.tree.iter().all(|n| live(&n.avc))
}

/// Whether every reference of `raw` names a live object and no walk was
/// cut short.
fn all_live(raw: &RawSnapshot) -> bool {
    raw.mms.iter().all(|m| mm_live(m, raw.vmas.len()))
        && raw.vmas.iter().all(vma_live)
        && raw.avcs.iter().all(avc_live)
        && raw.anon_vmas.iter().all(anon_vma_live)
        && raw.pages.iter().all(|p| live(&p.anon_vma))
}

/// Takes out the items whose position `to` maps nowhere (the objects
/// freed), keeping the others in place and in order.
fn drop_freed<T>(items: &mut Vec<T>, to: &[Option<usize>]) -> Vec<T> {
    let mut kept = 0;
    for i in 0..items.len() {
        if to.get(i).is_some_and(Option::is_some) {
            items.swap(kept, i);
            kept += 1;
        }
    }
    items.split_off(kept)
}

/// [`drop_freed`] into `before`; returns how many dangling references
/// the records dropped hold (`dangles` counts a record's).
fn drop_into<T>(
    items: &mut Vec<T>,
    to: &[Option<usize>],
    before: &mut Vec<(Option<usize>, T)>,
    dangles: impl Fn(&T) -> usize,
) -> usize {
    let mut dangling = 0;
    for item in drop_freed(items, to) {
        dangling += dangles(&item);
        before.push((None, item));
    }
    dangling
}

/// Puts a record at its position: over the one kept there, which it
/// returns, or at the end for a new object (partial records come in the
/// order made).
fn place<T>(records: &mut Vec<T>, at: usize, record: T) -> Option<Option<T>> {
    match at.cmp(&records.len()) {
        std::cmp::Ordering::Less => Some(Some(std::mem::replace(&mut records[at], record))),
        std::cmp::Ordering::Equal => {
            records.push(record);
            Some(None)
        }
        std::cmp::Ordering::Greater => None,
    }
}

/// A reference by made number, to its position among `made`.
fn position(r: &mut RawRef, made: &[u32]) -> Option<()> {
    if let RawRef::Index(m) = *r {
        let m = u32::try_from(m).ok()?;
        *r = RawRef::Index(made.binary_search(&m).ok()?);
    }
    Some(())
}

impl Kept {
    /// A whole snapshot and when each of its objects was made; `None`
    /// where it holds anything but live references, or the world does
    /// not say when its objects were made.
    pub(crate) fn from_whole(raw: &RawSnapshot, made: Made) -> Option<Kept> {
        let counts = [
            raw.mms.len(),
            raw.vmas.len(),
            raw.anon_vmas.len(),
            raw.avcs.len(),
            raw.pages.len(),
        ];
        let fits = made.iter().zip(counts).all(|(m, n)| m.len() == n);
        let ordered = made[VMA..]
            .iter()
            .all(|m| m.windows(2).all(|w| w[0] < w[1]));
        (fits && ordered && all_live(raw)).then(|| Kept {
            raw: None,
            made: made.map(<[u32]>::to_vec),
            handed: Handed::of(raw),
        })
    }

    /// Takes back the report handed out last, to patch into the next; any
    /// other is dropped.
    pub(crate) fn recycle(&mut self, raw: RawSnapshot) {
        if Handed::of(&raw) == self.handed {
            self.raw = Some(raw);
        }
    }

    /// Takes a copy of the report handed out last, to patch into the
    /// next while its taker still reads the original; any other is left.
    pub(crate) fn recycle_copy(&mut self, raw: &RawSnapshot) {
        if Handed::of(raw) == self.handed {
            self.raw = Some(raw.clone());
        }
    }

    /// The objects of the last report handed back (none if none was).
    pub(crate) fn objects(&self) -> u64 {
        self.raw.as_ref().map_or(0, |r| {
            let l = &r.live;
            l.mm + l.vma + l.anon_vma + l.avc + l.page
        })
    }

    /// Whether the last report was handed back, so the next can be patched.
    pub(crate) fn can_patch(&self) -> bool {
        self.raw.is_some()
    }

    /// The last snapshot patched with a partial one (references by made
    /// number) and what was freed since; `None` (and nothing kept
    /// worth trusting) where the result would hold anything but live
    /// references, or the partial one does not fit.
    pub(crate) fn patch(
        &mut self,
        part: &RawSnapshot,
        made: Made,
        gone: impl Iterator<Item = (usize, u32)>,
    ) -> Option<(RawSnapshot, Changes)> {
        let mut raw = self.raw.take()?;
        let mut before = Before::default();
        let (mut changes, dangles) = self.forget(&mut raw, gone, &mut before);
        // (Records replaced below that held a reference left dangling.)
        let mut mended = 0;
        let placed_live = |live: bool| live.then_some(());
        for (i, site) in [VMA, AVC, ANON_VMA, PAGE].into_iter().enumerate() {
            before.made_from[i] = self.made[site].len();
        }

        // New objects go at the end; the ones already kept stay put.
        for site in [VMA, ANON_VMA, AVC, PAGE] {
            for &m in made[site] {
                let kept = &mut self.made[site];
                match kept.last() {
                    Some(&last) if m <= last => {
                        kept.binary_search(&m).ok()?;
                    }
                    _ => kept.push(m),
                }
            }
        }
        let kept = &self.made;
        for (v, m) in part.vmas.iter().zip(made[VMA]) {
            let mut v = v.clone();
            position(&mut v.anon_vma, &kept[ANON_VMA])?;
            for c in v.chain.iter_mut() {
                position(c, &kept[AVC])?;
            }
            let at = kept[VMA].binary_search(m).ok()?;
            placed_live(vma_live(&v))?;
            if let Some(old) = place(&mut raw.vmas, at, v)? {
                mended += dangles_of(vma_refs(&old));
                before.vmas.push((Some(at), old));
            }
            changes.records[0].push(at);
        }
        for (a, m) in part.avcs.iter().zip(made[AVC]) {
            let mut a = a.clone();
            position(&mut a.vma, &kept[VMA])?;
            position(&mut a.anon_vma, &kept[ANON_VMA])?;
            let at = kept[AVC].binary_search(m).ok()?;
            placed_live(avc_live(&a))?;
            if let Some(old) = place(&mut raw.avcs, at, a)? {
                mended += dangles_of(avc_refs(&old));
                before.avcs.push((Some(at), old));
            }
            changes.records[1].push(at);
        }
        for (a, m) in part.anon_vmas.iter().zip(made[ANON_VMA]) {
            let mut a = a.clone();
            position(&mut a.root, &kept[ANON_VMA])?;
            position(&mut a.parent, &kept[ANON_VMA])?;
            for n in a.tree.iter_mut() {
                position(&mut n.avc, &kept[AVC])?;
            }
            let at = kept[ANON_VMA].binary_search(m).ok()?;
            placed_live(anon_vma_live(&a))?;
            if let Some(old) = place(&mut raw.anon_vmas, at, a)? {
                mended += dangles_of(anon_vma_refs(&old));
                before.anon_vmas.push((Some(at), old));
            }
            changes.records[2].push(at);
        }
        for (p, m) in part.pages.iter().zip(made[PAGE]) {
            let mut p = p.clone();
            position(&mut p.anon_vma, &kept[ANON_VMA])?;
            let at = kept[PAGE].binary_search(m).ok()?;
            placed_live(live(&p.anon_vma))?;
            if let Some(old) = place(&mut raw.pages, at, p)? {
                mended += dangles_of([old.anon_vma]);
                before.pages.push((at, old));
            }
            changes.records[3].push(at);
        }
        // The processes changed, by id.
        for (m, &made_as) in part.mms.iter().zip(made[MM]) {
            let mut m = m.clone();
            for v in m.vmas.iter_mut() {
                let mut r = RawRef::Index(*v);
                position(&mut r, &self.made[VMA])?;
                *v = match r {
                    RawRef::Index(i) => i,
                    _ => return None,
                };
            }
            changes.mms.push(m.id);
            placed_live(m.bad_entries == 0)?;
            match raw.mms.binary_search_by_key(&m.id, |k| k.id) {
                Ok(i) => {
                    let old = std::mem::replace(&mut raw.mms[i], m);
                    mended += old.vmas.iter().filter(|&&v| v == usize::MAX).count();
                    before.mms.push(old);
                    self.made[MM][i] = made_as;
                }
                Err(i) => {
                    raw.mms.insert(i, m);
                    self.made[MM].insert(i, made_as);
                }
            }
        }
        raw.live = part.live;

        let live = &raw.live;
        let counts = [
            (raw.mms.len(), live.mm),
            (raw.vmas.len(), live.vma),
            (raw.anon_vmas.len(), live.anon_vma),
            (raw.avcs.len(), live.avc),
            (raw.pages.len(), live.page),
        ];
        let fits = counts.iter().all(|&(n, live)| n as u64 == live);
        // Every reference left dangling by what was freed is in a record
        // replaced since (the records kept named only live objects).
        // (A VMA's process is named by id: it must be one kept. Where one
        // is gone, every VMA is asked.)
        let known = |v: &RawVma| {
            v.mm.is_ok_and(|id| raw.mms.binary_search_by_key(&id, |m| m.id).is_ok())
        };
        let mms_known = match changes.mms_gone.is_empty() {
            true => changes.records[0].iter().all(|&v| known(&raw.vmas[v])),
            false => raw.vmas.iter().all(known),
        };
        let lists_live = changes.mms.iter().all(|&id| {
            raw.mms
                .binary_search_by_key(&id, |m| m.id)
                .is_ok_and(|i| mm_live(&raw.mms[i], raw.vmas.len()))
        });
        if !(fits && mms_known && lists_live && mended == dangles) {
            return None;
        }
        if super::verifying() && !all_live(&raw) {
            panic!(
                "rmapfuzz bug: a patched report holds a dangling reference its patch did not mend"
            );
        }
        for list in &mut changes.records {
            list.sort_unstable();
            list.dedup();
        }
        for list in [&mut changes.mms, &mut changes.mms_gone] {
            list.sort_unstable();
            list.dedup();
        }
        self.handed = Handed::of(&raw);
        changes.before = Some(before);
        Some((raw, changes))
    }

    /// Drops what was freed, renumbering the references to what came
    /// after it; a reference to a freed object becomes dangling (the
    /// partial snapshot retakes every record that should no longer hold
    /// one).
    /// Returns what was freed, as [`Changes`] say it, and how many
    /// references of the records kept it left dangling; the records
    /// dropped go into `before`.
    fn forget(
        &mut self,
        raw: &mut RawSnapshot,
        gone: impl Iterator<Item = (usize, u32)>,
        before: &mut Before,
    ) -> (Changes, usize) {
        let mut changes = Changes::default();
        let mut dangles = 0;
        let mut freed: [Vec<usize>; 5] = Default::default();
        for (site, m) in gone {
            if site == MM {
                if let Some(i) = self.made[MM].iter().position(|&k| k == m) {
                    self.made[MM].remove(i);
                    let m = raw.mms.remove(i);
                    changes.mms_gone.push(m.id);
                    before.mms.push(m);
                }
            } else if let Some(list) = freed.get_mut(site) {
                // (Made and freed between two snapshots: never kept.)
                if let Ok(i) = self.made[site].binary_search(&m) {
                    list.push(i);
                }
            }
        }
        for site in [VMA, ANON_VMA, AVC, PAGE] {
            let list = &mut freed[site];
            if list.is_empty() {
                continue;
            }
            list.sort_unstable();
            list.dedup();
            // Each position's new one, or none for a freed object.
            let mut to = Vec::with_capacity(self.made[site].len());
            let mut next = 0;
            for i in 0..self.made[site].len() {
                if list.binary_search(&i).is_ok() {
                    to.push(None);
                } else {
                    to.push(Some(next));
                    next += 1;
                }
            }
            let renumber = |r: &mut RawRef, kept: bool| {
                if let RawRef::Index(i) = *r {
                    *r = to
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or(RawRef::Dangling, RawRef::Index);
                    dangles += usize::from(kept && *r == RawRef::Dangling);
                }
            };
            each_ref(raw, before, site, renumber);
            if site == VMA {
                for (m, kept) in raw
                    .mms
                    .iter_mut()
                    .map(|m| (m, true))
                    .chain(before.mms.iter_mut().map(|m| (m, false)))
                {
                    // (A freed VMA left on a list: no longer kept, so
                    // the check after patching sends for a whole one.)
                    for v in m.vmas.iter_mut() {
                        *v = to.get(*v).copied().flatten().unwrap_or(usize::MAX);
                        dangles += usize::from(kept && *v == usize::MAX);
                    }
                }
            }
            drop_freed(&mut self.made[site], &to);
            // (What a record freed now holds dangling needs no mending.)
            dangles -= match site {
                VMA => drop_into(&mut raw.vmas, &to, &mut before.vmas, |v| {
                    dangles_of(vma_refs(v))
                }),
                ANON_VMA => drop_into(&mut raw.anon_vmas, &to, &mut before.anon_vmas, |a| {
                    dangles_of(anon_vma_refs(a))
                }),
                AVC => drop_into(&mut raw.avcs, &to, &mut before.avcs, |a| {
                    dangles_of(avc_refs(a))
                }),
                _ => drop_freed(&mut raw.pages, &to)
                    .iter()
                    .map(|p| dangles_of([p.anon_vma]))
                    .sum(),
            };
        }
        let [_, vmas, anon_vmas, avcs, pages] = freed;
        changes.freed = [vmas, avcs, anon_vmas, pages];
        (changes, dangles)
    }
}
