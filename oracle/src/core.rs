//! The mainline anon_vma core (mm/rmap.c of Linux 7.2): prepare, clone,
//! fork, unlink and the anon_vma lifetime rules.

use std::collections::VecDeque;

use crate::world::{Alloc, AnonVma, AvKey, Avc, AvcKey, Avcs, Enomem, VmaKey, World};
use crate::Site;

/// Which VMA operation a clone serves (`enum vma_operation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CloneOp {
    Split,
    MergeUnfaulted,
    Remap,
    Fork,
}

impl World {
    /// A fresh anon_vma: its own root and parent, one reference.
    pub(crate) fn anon_vma_alloc(&mut self) -> Alloc<AvKey> {
        let born = self.attempt(Site::AnonVma)?;
        let k = self.avs.insert_with_key(|k| AnonVma {
            born,
            root: k,
            parent: k,
            refcount: 1,
            num_children: 0,
            num_active_vmas: 0,
            tree: Avcs::new(),
        });
        Ok(k)
    }

    fn avc_alloc(&mut self, vma: VmaKey, anon_vma: AvKey) -> Alloc<AvcKey> {
        let born = self.attempt(Site::Avc)?;
        Ok(self.avcs.insert(Avc {
            born,
            vma,
            anon_vma,
        }))
    }

    /// anon_vma_chain_assign: the AVC goes to the head of the VMA's chain.
    fn chain_add(&mut self, vma: VmaKey, avc: AvcKey) {
        self.vma_mut(vma).chain.insert(0, avc);
    }

    fn tree_insert(&mut self, avc: AvcKey) {
        let av = self.avc(avc).anon_vma;
        self.av_mut(av).tree.push(avc);
    }

    fn tree_remove(&mut self, avc: AvcKey) {
        let av = self.avc(avc).anon_vma;
        let tree = &mut self.av_mut(av).tree;
        let at = tree
            .iter()
            .position(|&a| a == avc)
            .expect("AVC missing from its tree");
        tree.swap_remove(at);
    }

    /// put_anon_vma / __put_anon_vma: a member's last reference also drops
    /// the one it holds on its root.
    pub(crate) fn put_anon_vma(&mut self, av: AvKey) {
        let a = self.av_mut(av);
        a.refcount -= 1;
        if a.refcount > 0 {
            return;
        }
        let root = a.root;
        self.avs.remove(av);
        if root != av {
            let r = self.av_mut(root);
            r.refcount -= 1;
            if r.refcount == 0 {
                self.avs.remove(root);
            }
        }
    }

    /// __anon_vma_prepare: first write fault of an unfaulted VMA.
    pub(crate) fn anon_vma_prepare(&mut self, vma: VmaKey) -> Alloc<()> {
        // A fault apart (see `World::set_apart`) that looked before a racing
        // fault prepared this VMA prepares too, then finds it done.
        let lost = self.apart && !self.faulted_before_race.contains(&vma);
        if self.vma(vma).anon_vma.is_some() {
            if lost {
                self.attempt(Site::Avc)?;
                if self.find_mergeable_anon_vma(vma).is_none() {
                    let av = self.anon_vma_alloc()?;
                    self.put_anon_vma(av);
                }
            }
            return Ok(());
        }
        let born = self.attempt(Site::Avc)?;
        let av = match self.find_mergeable_anon_vma(vma) {
            Some(av) => av,
            None => {
                // The AVC allocated above is simply not created on failure.
                let av = self.anon_vma_alloc()?;
                self.av_mut(av).num_children += 1;
                av
            }
        };
        let avc = self.avcs.insert(Avc {
            born,
            vma,
            anon_vma: av,
        });
        self.vma_mut(vma).anon_vma = Some(av);
        self.chain_add(vma, avc);
        self.tree_insert(avc);
        self.av_mut(av).num_active_vmas += 1;
        Ok(())
    }

    /// Fork only: adopt an ancestor nobody uses that has at most one child.
    fn maybe_reuse_anon_vma(&mut self, dst: VmaKey, av: AvKey) {
        if self.vma(dst).anon_vma.is_some() {
            return;
        }
        let a = self.av(av);
        if a.num_active_vmas > 0 || a.num_children > 1 {
            return;
        }
        self.vma_mut(dst).anon_vma = Some(av);
        self.av_mut(av).num_active_vmas += 1;
    }

    /// cleanup_partial_anon_vmas: free the unlinked AVCs of a failed clone
    /// and forget the anon_vma the caller lent.
    fn cleanup_partial_anon_vmas(&mut self, vma: VmaKey) {
        let chain = std::mem::take(&mut self.vma_mut(vma).chain);
        for avc in chain {
            self.avcs.remove(avc);
        }
        self.vma_mut(vma).anon_vma = None;
    }

    /// anon_vma_clone: link `dst` to every anon_vma of `src`. Allocation
    /// first (walking src from the head, adding at dst's head, so dst ends
    /// up reversed), then tree insertion walking dst from the tail.
    pub(crate) fn anon_vma_clone(&mut self, dst: VmaKey, src: VmaKey, op: CloneOp) -> Alloc<()> {
        if self.vma(src).anon_vma.is_none() {
            return Ok(());
        }
        let src_chain: Vec<AvcKey> = self.vma(src).chain.iter().copied().collect();
        for pavc in src_chain {
            let av = self.avc(pavc).anon_vma;
            match self.avc_alloc(dst, av) {
                Ok(avc) => self.chain_add(dst, avc),
                Err(Enomem) => {
                    self.cleanup_partial_anon_vmas(dst);
                    return Err(Enomem);
                }
            }
        }
        let dst_chain: Vec<AvcKey> = self.vma(dst).chain.iter().rev().copied().collect();
        for avc in dst_chain {
            self.tree_insert(avc);
            if op == CloneOp::Fork {
                let av = self.avc(avc).anon_vma;
                self.maybe_reuse_anon_vma(dst, av);
            }
        }
        if op != CloneOp::Fork {
            let av = self
                .vma(dst)
                .anon_vma
                .expect("callers set dst->anon_vma before cloning");
            self.av_mut(av).num_active_vmas += 1;
        }
        Ok(())
    }

    /// anon_vma_fork: the child copy `vma` of `pvma` gets the parent's
    /// links plus an anon_vma of its own, allocated before the clone.
    pub(crate) fn anon_vma_fork(&mut self, vma: VmaKey, pvma: VmaKey) -> Alloc<()> {
        let Some(parent_av) = self.vma(pvma).anon_vma else {
            return Ok(());
        };
        self.vma_mut(vma).anon_vma = None;

        let av = self.anon_vma_alloc()?;
        let born = match self.attempt(Site::Avc) {
            Ok(born) => born,
            Err(e) => {
                self.put_anon_vma(av);
                return Err(e);
            }
        };
        let cloned = self.anon_vma_clone(vma, pvma, CloneOp::Fork);
        if cloned.is_err() || self.vma(vma).anon_vma.is_some() {
            // Failed, or reused an ancestor: the spare AVC was never made.
            self.put_anon_vma(av);
            return cloned;
        }

        let root = self.av(parent_av).root;
        {
            let a = self.av_mut(av);
            a.num_active_vmas = 1;
            a.root = root;
            a.parent = parent_av;
        }
        self.av_mut(root).refcount += 1;
        self.vma_mut(vma).anon_vma = Some(av);
        let avc = self.avcs.insert(Avc {
            born,
            vma,
            anon_vma: av,
        });
        self.chain_add(vma, avc);
        self.tree_insert(avc);
        self.av_mut(parent_av).num_children += 1;
        Ok(())
    }

    /// unlink_anon_vmas: sever `vma` from every anon_vma; an anon_vma whose
    /// tree empties loses its parent link at once and is released after.
    pub(crate) fn unlink_anon_vmas(&mut self, vma: VmaKey) {
        let Some(active) = self.vma(vma).anon_vma else {
            assert!(self.vma(vma).chain.is_empty(), "unfaulted VMA with a chain");
            return;
        };
        let chain = std::mem::take(&mut self.vma_mut(vma).chain);
        let mut emptied = VecDeque::new();
        for avc in chain {
            self.tree_remove(avc);
            let av = self.avc(avc).anon_vma;
            if self.av(av).tree.is_empty() {
                let parent = self.av(av).parent;
                self.av_mut(parent).num_children -= 1;
                emptied.push_back(avc);
            } else {
                self.avcs.remove(avc);
            }
        }
        self.av_mut(active).num_active_vmas -= 1;
        self.vma_mut(vma).anon_vma = None;
        for avc in emptied {
            let av = self.avc(avc).anon_vma;
            self.put_anon_vma(av);
            self.avcs.remove(avc);
        }
    }
}
