//! The rules again where a report changed. Given that the report before
//! held every rule with its objects named apart, and what changed since
//! ([`Changes`], with the records it replaced or dropped), whether this
//! report holds them too, reading only what changed and what it refers
//! to, now and before.
//!
//! Every instance of a rule reads a few records: an instance none of
//! whose records changed holds as it held. So the instances read again
//! are those of the changed objects, of the objects they refer to now or
//! referred to before, and of the AVCs that entered or left a tree. The
//! counters are checked by their change: a counter moves by the
//! references its object gained and lost. Three rules follow from others
//! and are not read again: an anon_vma no object leads to has an empty
//! tree or files an AVC that is not its own or on no chain; a reference
//! to a freed object is not in a patched report at all (the engine takes
//! that one whole); and a page is taken again by its engine whenever its
//! rmap walk, or the VMA mapping it, may read something changed
//! ([`Changes`]).
//!
//! Links an object keeps for life (an AVC's VMA and anon_vma, an
//! anon_vma's parent and root, a VMA's process), a VMA that moved between
//! processes' lists, or a degree-era counter that came or went are not
//! followed: the answer is then `None`, and the report is judged whole.

use rustc_hash::FxHashMap;

use crate::check::snapshot::{Keyed, RawAnonVma, RawMm, RawRef, RawSnapshot, RawVma};
use crate::engine::{Before, Changes};

/// Whether `raw` holds every rule, where the report before it held them
/// with its objects named apart and `ch` says what changed since; `None`
/// where the change is not one this follows (or `ch` kept no records).
/// `Some(true)` also means `raw` names its objects apart.
pub fn holds_where_changed(raw: &RawSnapshot, ch: &Changes) -> Option<bool> {
    let before = ch.before.as_ref()?;
    if !lifelong_links_kept(raw, before) {
        return None;
    }
    if raw.live.mm != raw.mms.len() as u64 {
        return Some(false);
    }
    if !listed_as_before(raw, ch, before)? {
        return Some(false);
    }
    let dirty = Dirty::of(raw, ch, before);
    Some(
        dirty.vmas.iter().all(|&v| vma_holds(raw, v))
            && dirty.avcs.iter().all(|&c| on_its_chain(raw, c))
            && trees_hold(raw, &dirty.entered)
            && counters_hold(raw, before, &dirty)
            && dirty
                .anon_vmas
                .iter()
                .all(|&a| anon_vma_holds(raw, a, a >= before.made_from[2]))
            && sharing_holds(raw, &ch.records[0], before)
            && ch.records[3].iter().all(|&p| page_holds(raw, p)),
    )
}

fn at(r: RawRef) -> Option<usize> {
    match r {
        RawRef::Index(i) => Some(i),
        _ => None,
    }
}

/// No AVC changed its VMA or anon_vma, no anon_vma its parent or root, no
/// VMA its process, and no anon_vma its kind of counter.
fn lifelong_links_kept(raw: &RawSnapshot, before: &Before) -> bool {
    before
        .avcs
        .iter()
        .all(|(i, old)| i.is_none_or(|i| raw.avcs[i] == *old))
        && before.anon_vmas.iter().all(|(i, old)| {
            i.is_none_or(|i| {
                let new = &raw.anon_vmas[i];
                (new.parent, new.root, new.degree.is_some())
                    == (old.parent, old.root, old.degree.is_some())
            })
        })
        && before
            .vmas
            .iter()
            .all(|(i, old)| i.is_none_or(|i| raw.vmas[i].mm == old.mm))
}

/// The process `id`'s record.
fn mm(raw: &RawSnapshot, id: u32) -> Option<&RawMm> {
    raw.mms
        .binary_search_by_key(&id, |m| m.id)
        .ok()
        .map(|i| &raw.mms[i])
}

/// Where VMA `v` is on its process's list, found by its start.
fn listed_at(raw: &RawSnapshot, v: usize) -> Option<(&RawMm, usize)> {
    let vma = &raw.vmas[v];
    let m = mm(raw, vma.mm.ok()?)?;
    let i = m
        .vmas
        .binary_search_by_key(&vma.start, |&w| raw.vmas[w].start)
        .ok()?;
    (m.vmas[i] == v).then_some((m, i))
}

/// Every process still lists, in start order, the VMAs it listed (but
/// those freed), and lists a VMA made since if its process is that one:
/// `Some(false)` where a VMA is on no list (a leak). `None` where a list
/// took a VMA that was already there, or names a VMA of another process,
/// or the order is not plain: the report is then judged whole.
fn listed_as_before(raw: &RawSnapshot, ch: &Changes, before: &Before) -> Option<bool> {
    let made_from = before.made_from[0];
    let sorted = |list: &[usize]| {
        let mut list = list.to_vec();
        list.sort_unstable();
        list
    };
    for &id in &ch.mms {
        let m = mm(raw, id)?;
        if m.bad_entries > 0 {
            return Some(false);
        }
        let old = before.mms.iter().find(|o| o.id == id);
        if old.is_some_and(|o| o.vmas == m.vmas) {
            continue;
        }
        let was = old.map_or_else(Vec::new, |o| sorted(&o.vmas));
        for (k, &v) in m.vmas.iter().enumerate() {
            let vma = raw.vmas.get(v)?;
            if vma.mm != Ok(id) || (k > 0 && raw.vmas[m.vmas[k - 1]].start >= vma.start) {
                return None;
            }
            if v < made_from && was.binary_search(&v).is_err() {
                return None;
            }
        }
    }
    // (Every list checked above is in order: a VMA moved on another one
    // is found by its start, or the report is judged whole.)
    for &v in &ch.records[0] {
        let (m, i) = listed_at(raw, v)?;
        let start = |k: usize| raw.vmas[m.vmas[k]].start;
        let start_v = raw.vmas[v].start;
        if (i > 0 && start(i - 1) >= start_v) || (i + 1 < m.vmas.len() && start(i + 1) <= start_v) {
            return None;
        }
    }
    // A VMA a list dropped, and not freed, is on none now.
    for old in &before.mms {
        let now = mm(raw, old.id);
        if now.is_some_and(|m| m.vmas == old.vmas) {
            continue;
        }
        let now = now.map_or_else(Vec::new, |m| sorted(&m.vmas));
        let kept = |v: &usize| *v >= raw.vmas.len() || now.binary_search(v).is_ok();
        if !old.vmas.iter().all(kept) {
            return Some(false);
        }
    }
    Some(true)
}

/// The objects whose rules read a changed record, by position; and the
/// tree nodes that entered each changed anon_vma's tree.
#[derive(Default)]
struct Dirty {
    vmas: Vec<usize>,
    avcs: Vec<usize>,
    anon_vmas: Vec<usize>,
    entered: Vec<(usize, Node)>,
}

/// The live objects a record's references name.
fn push_refs(list: &mut Vec<usize>, refs: impl IntoIterator<Item = RawRef>) {
    list.extend(refs.into_iter().filter_map(at));
}

impl Dirty {
    fn of(raw: &RawSnapshot, ch: &Changes, before: &Before) -> Dirty {
        let mut d = Dirty::default();
        d.vmas.extend(&ch.records[0]);
        d.avcs.extend(&ch.records[1]);
        d.anon_vmas.extend(&ch.records[2]);
        for &v in &ch.records[0] {
            let vma = &raw.vmas[v];
            push_refs(&mut d.avcs, vma.chain.iter().copied());
            push_refs(&mut d.anon_vmas, [vma.anon_vma]);
        }
        for (_, old) in &before.vmas {
            push_refs(&mut d.avcs, old.chain.iter().copied());
            push_refs(&mut d.anon_vmas, [old.anon_vma]);
        }
        for (i, old) in &before.avcs {
            if i.is_none() {
                push_refs(&mut d.vmas, [old.vma]);
                push_refs(&mut d.anon_vmas, [old.anon_vma]);
            }
        }
        for (_, old) in &before.anon_vmas {
            push_refs(&mut d.anon_vmas, [old.parent, old.root]);
        }
        // The AVCs that entered or left a changed tree (all of a new one's).
        let olds: FxHashMap<usize, &RawAnonVma> = before
            .anon_vmas
            .iter()
            .filter_map(|(i, old)| i.map(|i| (i, old)))
            .collect();
        for &a in &ch.records[2] {
            let new = &raw.anon_vmas[a];
            push_refs(&mut d.anon_vmas, [new.parent, new.root]);
            let old: &[Node] = olds.get(&a).map_or(&[], |o| &o.tree);
            tree_difference(old, &new.tree, |n, entered| {
                push_refs(&mut d.avcs, [n.avc]);
                if entered {
                    d.entered.push((a, n.clone()));
                }
            });
        }
        let live = |list: &mut Vec<usize>, n: usize| {
            list.retain(|&i| i < n);
            list.sort_unstable();
            list.dedup();
        };
        live(&mut d.avcs, raw.avcs.len());
        for &c in &d.avcs {
            push_refs(&mut d.vmas, [raw.avcs[c].vma]);
            push_refs(&mut d.anon_vmas, [raw.avcs[c].anon_vma]);
        }
        live(&mut d.vmas, raw.vmas.len());
        live(&mut d.anon_vmas, raw.anon_vmas.len());
        d
    }
}

type Node = crate::check::snapshot::RawTreeNode;

fn node_key(n: &Node) -> (u64, u64, usize) {
    (n.start, n.last, at(n.avc).unwrap_or(usize::MAX))
}

/// Calls `f` on each node in one of two trees (in key order) and not in
/// the other, with whether it is in `new`.
fn tree_difference(old: &[Node], new: &[Node], mut f: impl FnMut(&Node, bool)) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if node_key(a) == node_key(b) => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if node_key(a) < node_key(b) => {
                f(a, false);
                i += 1;
            }
            (Some(a), None) => {
                f(a, false);
                i += 1;
            }
            (_, Some(b)) => {
                f(b, true);
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
}

/// The nodes of `tree` filing AVC `c` under `key`.
fn filed(tree: &[Node], key: (u64, u64), c: usize) -> usize {
    let want = (key.0, key.1, c);
    let from = tree.partition_point(|n| node_key(n) < want);
    tree[from..]
        .iter()
        .take_while(|n| node_key(n) == want)
        .count()
}

/// The rules on one VMA: its chain (each AVC its own, filed once in its
/// anon_vma's tree under the VMA's key, one per anon_vma, one root, closed
/// under parents, its own anon_vma among them) and its page offsets.
fn vma_holds(raw: &RawSnapshot, v: usize) -> bool {
    let vma = &raw.vmas[v];
    if vma.chain_broken || vma.anon_pgoff.is_some_and(|a| a != vma.pgoff) {
        return false;
    }
    let Some(own) = at(vma.anon_vma) else {
        return vma.anon_vma == RawRef::Null && vma.chain.is_empty();
    };
    let mut linked: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
    let mut root = None;
    for &link in &vma.chain {
        let Some(c) = at(link) else { return false };
        let avc = &raw.avcs[c];
        let Some(a) = at(avc.anon_vma) else {
            return false;
        };
        if avc.vma != RawRef::Index(v) || linked.contains(&a) {
            return false;
        }
        if filed(&raw.anon_vmas[a].tree, vma.key(), c) != 1 {
            return false;
        }
        let r = raw.anon_vmas[a].root;
        if root.is_some_and(|root| root != r) {
            return false;
        }
        root = Some(r);
        linked.push(a);
    }
    linked.contains(&own)
        && linked.iter().all(|&a| {
            let parent = raw.anon_vmas[a].parent;
            parent == RawRef::Index(a) || at(parent).is_none_or(|p| linked.contains(&p))
        })
}

/// AVC `c` is on the chain of the VMA it names (else it is on no chain,
/// a leak, or on another's, whose chain rule breaks).
fn on_its_chain(raw: &RawSnapshot, c: usize) -> bool {
    at(raw.avcs[c].vma)
        .and_then(|v| raw.vmas.get(v))
        .is_some_and(|v| v.chain.contains(&RawRef::Index(c)))
}

/// Each AVC that entered a tree (`entered`, by anon_vma): its own
/// anon_vma's, on its VMA's chain, filed under that VMA's key, and in the
/// tree once.
fn trees_hold(raw: &RawSnapshot, entered: &[(usize, Node)]) -> bool {
    entered.chunk_by(|x, y| x.0 == y.0).all(|group| {
        let a = group[0].0;
        let mut avcs: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
        for (_, n) in group {
            let Some(c) = at(n.avc).filter(|&c| c < raw.avcs.len()) else {
                return false;
            };
            let avc = &raw.avcs[c];
            let filed = avc.anon_vma == RawRef::Index(a)
                && on_its_chain(raw, c)
                && at(avc.vma).is_some_and(|v| raw.vmas[v].key() == (n.start, n.last));
            if !filed {
                return false;
            }
            avcs.push(c);
        }
        avcs.sort_unstable();
        if avcs.windows(2).any(|w| w[0] == w[1]) {
            return false;
        }
        let mut seen: smallvec::SmallVec<[u32; 4]> = smallvec::smallvec![0; avcs.len()];
        for n in &raw.anon_vmas[a].tree {
            if let Some(k) = at(n.avc).and_then(|c| avcs.binary_search(&c).ok()) {
                seen[k] += 1;
            }
        }
        seen.iter().all(|&s| s == 1)
    })
}

/// References gained minus references lost, per anon_vma: by VMAs (as
/// their own anon_vma), by anon_vmas as parent, and as root (of another).
type Moves = FxHashMap<usize, [i64; 3]>;

fn count(moves: &mut Moves, r: RawRef, kind: usize, by: i64) {
    if let Some(a) = at(r) {
        moves.entry(a).or_default()[kind] += by;
    }
}

fn anon_vma_moves(moves: &mut Moves, a: &RawAnonVma, me: Option<usize>, by: i64) {
    count(moves, a.parent, 1, by);
    if at(a.root) != me {
        count(moves, a.root, 2, by);
    }
}

/// The counters of each anon_vma whose references or record changed
/// moved by what its references did (the report before held them).
fn counters_hold(raw: &RawSnapshot, before: &Before, dirty: &Dirty) -> bool {
    let mut moves = Moves::default();
    let replaced_vmas = before.vmas.iter().filter_map(|(i, _)| *i);
    for (_, old) in &before.vmas {
        count(&mut moves, old.anon_vma, 0, -1);
    }
    for v in replaced_vmas.chain(before.made_from[0]..raw.vmas.len()) {
        count(&mut moves, raw.vmas[v].anon_vma, 0, 1);
    }
    let mut olds: FxHashMap<usize, &RawAnonVma> = FxHashMap::default();
    for (i, old) in &before.anon_vmas {
        match i {
            // (Parent and root are kept for life: no move.)
            Some(i) => {
                olds.insert(*i, old);
            }
            // (Its own position is gone: a reference to itself is dangling.)
            None => anon_vma_moves(&mut moves, old, None, -1),
        }
    }
    for a in before.made_from[2]..raw.anon_vmas.len() {
        anon_vma_moves(&mut moves, &raw.anon_vmas[a], Some(a), 1);
    }
    dirty.anon_vmas.iter().all(|&a| {
        let new = &raw.anon_vmas[a];
        let zero = RawAnonVma {
            root: new.root,
            parent: new.parent,
            refcount: 1,
            num_children: 0,
            num_active_vmas: 0,
            degree: new.degree.map(|_| 0),
            tree: Default::default(),
        };
        let old = match olds.get(&a) {
            Some(old) => *old,
            None if a >= before.made_from[2] => &zero,
            None => new,
        };
        let [active, children, family] = moves.get(&a).copied().unwrap_or_default();
        let counted = match (new.degree, old.degree) {
            (Some(d), Some(was)) => d == was + active + children,
            (None, None) => {
                new.num_active_vmas == old.num_active_vmas + active
                    && new.num_children == old.num_children + children
            }
            _ => false,
        };
        let refcount = if new.root == RawRef::Index(a) {
            new.refcount == old.refcount + family
        } else {
            new.refcount == 1
        };
        counted && refcount
    })
}

/// The rules on one anon_vma's own record: live parent and root, a tree
/// that is not empty, and for one made since, its place in the forest.
fn anon_vma_holds(raw: &RawSnapshot, a: usize, made_since: bool) -> bool {
    let av = &raw.anon_vmas[a];
    let (Some(parent), Some(root)) = (at(av.parent), at(av.root)) else {
        return false;
    };
    if av.tree.is_empty() {
        return false;
    }
    if !made_since {
        return true;
    }
    let n = raw.anon_vmas.len();
    if parent >= n || root >= n || (parent == a) != (root == a) {
        return false;
    }
    if parent == a {
        return true;
    }
    let root_of = |i: usize| raw.anon_vmas[i].root;
    if root_of(parent) != av.root || root_of(root) != av.root {
        return false;
    }
    let mut cur = a;
    for _ in 0..=n {
        match at(raw.anon_vmas[cur].parent) {
            Some(p) if p == cur => return true,
            Some(p) if p < n => cur = p,
            _ => return false,
        }
    }
    false
}

/// The anon_vmas a VMA is linked to, as a sorted set.
fn link_set(raw: &RawSnapshot, v: &RawVma) -> Option<smallvec::SmallVec<[usize; 4]>> {
    let mut set = smallvec::SmallVec::new();
    for &c in &v.chain {
        set.push(at(raw.avcs.get(at(c)?)?.anon_vma)?);
    }
    set.sort_unstable();
    set.dedup();
    Some(set)
}

/// The VMAs that share an anon_vma, where one of them changed: one
/// process, one set of links. Those that did not change share one
/// already; a VMA that kept its anon_vma and links stands for them.
fn sharing_holds(raw: &RawSnapshot, changed: &[usize], before: &Before) -> bool {
    let mut by_av: Vec<(usize, usize)> = changed
        .iter()
        .filter_map(|&v| Some((at(raw.vmas[v].anon_vma)?, v)))
        .collect();
    if by_av.is_empty() {
        return true;
    }
    by_av.sort_unstable();
    let olds: FxHashMap<usize, &RawVma> = before
        .vmas
        .iter()
        .filter_map(|(i, old)| i.map(|i| (i, old)))
        .collect();
    by_av.chunk_by(|x, y| x.0 == y.0).all(|group| {
        let a = group[0].0;
        let users = || group.iter().map(|&(_, v)| v);
        let kept = users().find(|v| {
            olds.get(v).is_some_and(|old| {
                old.anon_vma == RawRef::Index(a)
                    && link_set(raw, old) == link_set(raw, &raw.vmas[*v])
            })
        });
        let other = || {
            raw.anon_vmas[a].tree.iter().find_map(|n| {
                let v = at(raw.avcs.get(at(n.avc)?)?.vma)?;
                (raw.vmas.get(v)?.anon_vma == RawRef::Index(a)
                    && group.binary_search(&(a, v)).is_err())
                .then_some(v)
            })
        };
        let model = kept.or_else(other).unwrap_or(group[0].1);
        let want = (raw.vmas[model].mm, link_set(raw, &raw.vmas[model]));
        users().all(|v| (raw.vmas[v].mm, link_set(raw, &raw.vmas[v])) == want)
    })
}

/// The VMA of process `id` that holds `addr`.
fn vma_at(raw: &RawSnapshot, id: u32, addr: u64) -> Option<&RawVma> {
    let listed = &mm(raw, id)?.vmas;
    let i = listed
        .partition_point(|&v| raw.vmas[v].start <= addr)
        .checked_sub(1)?;
    Some(&raw.vmas[listed[i]]).filter(|v| addr < v.end)
}

/// The rules on one page: mapped somewhere, as often as its count says,
/// each time at its index by a VMA linked to its anon_vma, and found by
/// its rmap walk exactly there.
fn page_holds(raw: &RawSnapshot, p: usize) -> bool {
    let page = &raw.pages[p];
    let Some(av) = at(page.anon_vma) else {
        return false;
    };
    !page.mappers.is_empty()
        && page.mapcount == page.mappers.len() as i64
        && page.walk == page.mappers
        && page.mappers.iter().all(|&(id, addr)| {
            vma_at(raw, id, addr).is_some_and(|v| {
                v.index_at(addr) == page.index
                    && v.chain.iter().any(|&c| {
                        at(c)
                            .and_then(|c| raw.avcs.get(c))
                            .is_some_and(|c| c.anon_vma == RawRef::Index(av))
                    })
            })
        })
}
