//! State hashes: one hash for a canonical snapshot, whether it was built
//! or only named (a search that meets a state again needs its hash alone,
//! and building it costs more than naming it).

use super::canonical::{with_names, Names};
use super::*;

/// The hash of the canonical form of `raw`, without building it: equal to
/// [`state_hash`] of [`canonicalize`]`(raw)`.
pub fn canonical_hash(raw: &RawSnapshot) -> u64 {
    with_names(raw, |names| {
        let mut feed = Feed::default();
        feed.raw(raw, names);
        feed.finish()
    })
}

/// A hash of a canonical state: equal states hash equal.
pub fn state_hash(snap: &Snapshot) -> u64 {
    let mut feed = Feed::default();
    feed.snapshot(snap);
    feed.finish()
}

/// What a state hash is computed from: every field of a canonical
/// snapshot, in one order, fed the same whether the snapshot was built
/// ([`Feed::snapshot`]) or is only named ([`Feed::raw`]).
#[derive(Default)]
struct Feed {
    h: rustc_hash::FxHasher,
}

impl Feed {
    fn finish(self) -> u64 {
        use std::hash::Hasher;
        self.h.finish()
    }

    fn u(&mut self, x: u64) {
        use std::hash::Hasher;
        self.h.write_u64(x);
    }

    fn i(&mut self, x: i64) {
        self.u(x as u64);
    }

    fn opt(&mut self, x: Option<i64>) {
        match x {
            None => self.u(0),
            Some(x) => {
                self.u(1);
                self.i(x);
            }
        }
    }

    fn av(&mut self, r: AvRef) {
        match r {
            AvRef::Null => self.u(0),
            AvRef::Id(i) => self.u(4 + u64::from(i)),
            AvRef::Dangling => self.u(1),
            AvRef::Foreign => self.u(2),
        }
    }

    fn vma_ref(&mut self, r: VmaRef) {
        match r {
            VmaRef::Null => self.u(0),
            VmaRef::InMm { mm, start } => {
                self.u(1);
                self.u(u64::from(mm));
                self.u(start);
            }
            VmaRef::Detached(i) => {
                self.u(2);
                self.u(u64::from(i));
            }
            VmaRef::Dangling => self.u(3),
            VmaRef::Foreign => self.u(4),
        }
    }

    fn avc_ref(&mut self, r: AvcRef) {
        match r {
            AvcRef::OnChain { vma, pos } => {
                self.u(0);
                self.vma_ref(vma);
                self.u(u64::from(pos));
            }
            AvcRef::Stray(i) => {
                self.u(1);
                self.u(u64::from(i));
            }
            AvcRef::Dangling => self.u(2),
            AvcRef::Foreign => self.u(3),
        }
    }

    /// A VMA's own fields (not its chain, which follows: `chain`
    /// entries).
    fn vma_head(&mut self, v: &VmaState, chain: usize) {
        self.u(v.start);
        self.u(v.end);
        self.u(v.pgoff);
        self.opt(v.anon_pgoff.map(|x| x as i64));
        self.u(u64::from(v.flags));
        self.u(u64::from(v.attached) | u64::from(v.chain_broken) << 1 | u64::from(v.mm_freed) << 2);
        self.av(v.anon_vma);
        self.u(chain as u64);
    }

    fn entry(&mut self, e: &ChainEntry) {
        self.av(e.anon_vma);
        self.vma_ref(e.vma);
    }

    fn tree(&mut self, tree: &[TreeEntry]) {
        self.u(tree.len() as u64);
        for t in tree {
            self.u(t.start);
            self.u(t.last);
            self.avc_ref(t.avc);
        }
    }

    /// An anon_vma's own fields (not its tree).
    fn anon_vma_head(&mut self, a: &AnonVmaState) {
        self.av(a.root);
        self.av(a.parent);
        self.i(a.refcount);
        self.i(a.num_children);
        self.i(a.num_active_vmas);
        self.opt(a.degree);
    }

    fn pairs(&mut self, pairs: &[(u32, u64)]) {
        self.u(pairs.len() as u64);
        for &(mm, addr) in pairs {
            self.u(u64::from(mm));
            self.u(addr);
        }
    }

    fn page(
        &mut self,
        anon_vma: AvRef,
        index: u64,
        mapcount: i64,
        m: &[(u32, u64)],
        w: &[(u32, u64)],
    ) {
        self.av(anon_vma);
        self.u(index);
        self.i(mapcount);
        self.pairs(m);
        self.pairs(w);
    }

    fn live(&mut self, l: &LiveCounts) {
        for x in [l.mm, l.vma, l.anon_vma, l.avc, l.page] {
            self.u(x);
        }
    }

    fn snapshot(&mut self, s: &Snapshot) {
        let vma = |f: &mut Feed, v: &VmaState| {
            f.vma_head(v, v.chain.len());
            for e in &v.chain {
                f.entry(e);
            }
        };
        self.u(s.mms.len() as u64);
        for m in &s.mms {
            self.u(u64::from(m.id));
            self.u(u64::from(m.bad_entries));
            self.u(m.vmas.len() as u64);
            for v in &m.vmas {
                vma(self, v);
            }
        }
        self.u(s.detached.len() as u64);
        for v in &s.detached {
            vma(self, v);
        }
        self.u(s.anon_vmas.len() as u64);
        for a in &s.anon_vmas {
            self.anon_vma_head(a);
            self.tree(&a.tree);
        }
        self.u(s.stray_avcs.len() as u64);
        for a in &s.stray_avcs {
            self.vma_ref(a.vma);
            self.av(a.anon_vma);
        }
        self.u(s.pages.len() as u64);
        for p in &s.pages {
            self.page(p.anon_vma, p.index, p.mapcount, &p.mappers, &p.walk);
        }
        self.live(&s.live);
    }

    /// What [`Feed::snapshot`] feeds of `canonicalize(raw)`.
    fn raw(&mut self, raw: &RawSnapshot, names: &Names) {
        let vma = |f: &mut Feed, v: &RawVma| {
            f.vma_head(&names.vma_head(v), v.chain.len());
            for &c in &v.chain {
                f.entry(&names.chain_entry(raw, c));
            }
        };
        self.u(raw.mms.len() as u64);
        for m in &raw.mms {
            self.u(u64::from(m.id));
            self.u(u64::from(m.bad_entries));
            let vmas = m.vmas.iter().filter(|&&v| v < raw.vmas.len());
            self.u(vmas.clone().count() as u64);
            for &v in vmas {
                vma(self, &raw.vmas[v]);
            }
        }
        self.u(names.detached_order.len() as u64);
        for &v in &names.detached_order {
            vma(self, &raw.vmas[v]);
        }
        self.u(names.anon_vmas.order.len() as u64);
        let mut tree = names.tree.borrow_mut();
        for &a in &names.anon_vmas.order {
            let r = &raw.anon_vmas[a];
            self.anon_vma_head(&names.anon_vma_head(r));
            names.tree(r, &mut tree);
            self.tree(&tree);
        }
        drop(tree);
        self.u(names.stray.len() as u64);
        for &a in &names.stray {
            self.vma_ref(names.vma(raw.avcs[a].vma));
            self.av(names.av(raw.avcs[a].anon_vma));
        }
        self.u(names.page_order.len() as u64);
        for &p in &names.page_order {
            let page = &raw.pages[p];
            self.page(
                names.av(page.anon_vma),
                page.index,
                page.mapcount,
                &page.mappers,
                &page.walk,
            );
        }
        self.live(&raw.live);
    }
}
