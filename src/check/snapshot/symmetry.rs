//! States equal up to the names of their processes.
//!
//! Nothing in the code under test reads a process's id: a world whose
//! processes are renamed (and whose fork counter is ahead) behaves the
//! same, step for step, under the same operations renamed. `explore`
//! already relies on half of that, since its states leave the fork
//! counter out; [`orbit_key`] takes the other half, giving one key to every
//! renaming of a state, so a search visits one state of each class.
//!
//! The key is the least hash over every order of the processes, each
//! renamed to its place in that order (so gaps in the ids go too): at
//! most 3! = 6 orders in explore's universes, and 8! before giving up
//! (beyond that the state's own hash is its key).

use rustc_hash::FxHashMap as HashMap;

use super::*;

/// More processes than this are not permuted (a key is then the state's
/// own hash: a search over them is exact, only less reduced).
const MOST_PERMUTED: usize = 8;

/// The key of the class of `snap` under renaming its processes.
pub fn orbit_key(snap: &Snapshot) -> u64 {
    renamings(snap)
        .into_iter()
        .min()
        .expect("at least one order")
}

/// Every renaming's hash, for counting a class's members.
pub fn orbit_size(snap: &Snapshot) -> usize {
    let mut hashes = renamings(snap);
    hashes.sort_unstable();
    hashes.dedup();
    hashes.len()
}

/// The hashes of `snap` renamed by every order of its processes that sorts
/// them by [`signature`]: the same set for every member of a class, as a
/// renaming changes no signature. (Orders that break that sort need not
/// be tried, which leaves one order for most states: a parent and its
/// child differ in their chains as soon as either has an anon_vma.)
fn renamings(snap: &Snapshot) -> Vec<u64> {
    let n = snap.mms.len();
    if n > MOST_PERMUTED {
        return vec![state_hash(snap)];
    }
    let signatures: Vec<u64> = snap.mms.iter().map(signature).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| signatures[i]);
    // Runs of equal signatures, each permuted on its own.
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for k in 0..n {
        match groups.last_mut() {
            Some(g) if signatures[order[g.start]] == signatures[order[k]] => g.end = k + 1,
            _ => groups.push(k..k + 1),
        }
    }
    let mut hashes = Vec::new();
    loop {
        let identity = order
            .iter()
            .enumerate()
            .all(|(k, &i)| i == k && snap.mms[i].id == k as u32);
        hashes.push(if identity {
            state_hash(snap)
        } else {
            // (Ids are few: a scan finds one's place.)
            let to = |id: u32| {
                order
                    .iter()
                    .position(|&i| snap.mms[i].id == id)
                    .map_or(id, |k| k as u32)
            };
            canonical_hash(&as_raw(snap, to))
        });
        // The next order: the first group (from the last) that has one.
        let mut advanced = false;
        for g in groups.iter().rev() {
            if next_permutation(&mut order[g.clone()]) {
                advanced = true;
                break;
            }
            // (Back at its first order: the group before takes a step.)
        }
        if !advanced {
            return hashes;
        }
    }
}

/// What renaming leaves of a process: its VMAs, without the names of the
/// anon_vmas and processes they refer to.
fn signature(mm: &MmState) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    mm.bad_entries.hash(&mut h);
    for v in &mm.vmas {
        (v.start, v.end, v.pgoff, v.anon_pgoff, v.flags).hash(&mut h);
        (v.attached, v.chain_broken, v.mm_freed).hash(&mut h);
        (v.anon_vma == AvRef::Null, v.chain.len()).hash(&mut h);
    }
    h.finish()
}

/// The next order in lexicographic order; after the last, the first
/// again and false.
fn next_permutation(p: &mut [usize]) -> bool {
    let Some(i) = (1..p.len()).rev().find(|&i| p[i - 1] < p[i]) else {
        p.reverse();
        return false;
    };
    let j = (i..p.len())
        .rev()
        .find(|&j| p[j] > p[i - 1])
        .expect("p[i] is one");
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}

/// `snap` with each process `id` renamed `to(id)` (`to` leaves other
/// ids, such as the walk's mark for a freed VMA, as they are), named
/// canonically again.
pub fn renamed(snap: &Snapshot, to: impl Fn(u32) -> u32) -> Snapshot {
    canonicalize(&as_raw(snap, to))
}

/// `snap` as a report an engine could have made of it: its objects in
/// canonical order (the processes' VMAs, then the detached ones; each
/// chain place's AVC, then the stray ones), anon_vmas numbered by their
/// canonical ids. (What the contracts read to word a violation.)
pub fn as_reported(snap: &Snapshot) -> RawSnapshot {
    as_raw(snap, |id| id)
}

/// A raw snapshot whose canonical form is `snap` renamed by `to`: each
/// canonical name becomes an index, each chain entry an AVC of its own.
fn as_raw(snap: &Snapshot, mm_id: impl Fn(u32) -> u32) -> RawSnapshot {
    // VMAs: the processes' in their order, then the detached ones.
    let mut vma_index: HashMap<VmaRef, usize> = HashMap::default();
    let mut all: Vec<(VmaRef, &VmaState)> = Vec::new();
    for m in &snap.mms {
        for v in &m.vmas {
            let r = VmaRef::InMm {
                mm: m.id,
                start: v.start,
            };
            vma_index.insert(r, all.len());
            all.push((r, v));
        }
    }
    for (i, v) in snap.detached.iter().enumerate() {
        let r = VmaRef::Detached(i as u32);
        vma_index.insert(r, all.len());
        all.push((r, v));
    }
    let av = |r: AvRef| match r {
        AvRef::Null => RawRef::Null,
        AvRef::Id(i) => RawRef::Index(i as usize),
        AvRef::Dangling => RawRef::Dangling,
        AvRef::Foreign => RawRef::Foreign,
    };
    let vma = |r: VmaRef| match r {
        VmaRef::Null => RawRef::Null,
        VmaRef::Dangling => RawRef::Dangling,
        VmaRef::Foreign => RawRef::Foreign,
        r => vma_index
            .get(&r)
            .map_or(RawRef::Foreign, |&i| RawRef::Index(i)),
    };

    // AVCs: one per chain entry, then the stray ones.
    let mut avcs = Vec::new();
    let mut avc_index: HashMap<AvcRef, usize> = HashMap::default();
    let mut vmas = Vec::with_capacity(all.len());
    for &(this, v) in &all {
        let mut chain = Few::with_capacity(v.chain.len());
        for (pos, e) in v.chain.iter().enumerate() {
            chain.push(match (e.anon_vma, e.vma) {
                (AvRef::Dangling, VmaRef::Dangling) => RawRef::Dangling,
                (AvRef::Foreign, VmaRef::Foreign) => RawRef::Foreign,
                _ => {
                    let at = AvcRef::OnChain {
                        vma: this,
                        pos: pos as u32,
                    };
                    avc_index.entry(at).or_insert(avcs.len());
                    avcs.push(RawAvc {
                        vma: vma(e.vma),
                        anon_vma: av(e.anon_vma),
                    });
                    RawRef::Index(avcs.len() - 1)
                }
            });
        }
        vmas.push(RawVma {
            mm: match this {
                VmaRef::InMm { mm, .. } => Ok(mm_id(mm)),
                _ if v.mm_freed => Err(RawRef::Dangling),
                _ => Err(RawRef::Foreign),
            },
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            anon_pgoff: v.anon_pgoff,
            flags: v.flags,
            attached: v.attached,
            anon_vma: av(v.anon_vma),
            chain,
            chain_broken: v.chain_broken,
        });
    }
    for (i, s) in snap.stray_avcs.iter().enumerate() {
        avc_index.insert(AvcRef::Stray(i as u32), avcs.len());
        avcs.push(RawAvc {
            vma: vma(s.vma),
            anon_vma: av(s.anon_vma),
        });
    }
    let avc = |r: AvcRef| match r {
        AvcRef::Dangling => RawRef::Dangling,
        AvcRef::Foreign => RawRef::Foreign,
        r => avc_index
            .get(&r)
            .map_or(RawRef::Foreign, |&i| RawRef::Index(i)),
    };

    let anon_vmas = snap
        .anon_vmas
        .iter()
        .map(|a| RawAnonVma {
            root: av(a.root),
            parent: av(a.parent),
            refcount: a.refcount,
            num_children: a.num_children,
            num_active_vmas: a.num_active_vmas,
            degree: a.degree,
            tree: a
                .tree
                .iter()
                .map(|t| RawTreeNode {
                    avc: avc(t.avc),
                    start: t.start,
                    last: t.last,
                })
                .collect(),
        })
        .collect();
    let rename_all = |pairs: &[(u32, u64)]| {
        let mut out: Few<(u32, u64), 4> = pairs.iter().map(|&(m, a)| (mm_id(m), a)).collect();
        out.sort_unstable();
        out
    };
    let pages = snap
        .pages
        .iter()
        .map(|p| RawPage {
            anon_vma: av(p.anon_vma),
            index: p.index,
            mapcount: p.mapcount,
            mappers: rename_all(&p.mappers),
            walk: rename_all(&p.walk),
        })
        .collect();
    let mut mms: Vec<RawMm> = Vec::with_capacity(snap.mms.len());
    let mut first = 0;
    for m in &snap.mms {
        mms.push(RawMm {
            id: mm_id(m.id),
            vmas: (first..first + m.vmas.len()).collect(),
            bad_entries: m.bad_entries,
        });
        first += m.vmas.len();
    }
    mms.sort_by_key(|m| m.id);
    RawSnapshot {
        mms,
        vmas,
        avcs,
        anon_vmas,
        pages,
        live: snap.live,
    }
}
