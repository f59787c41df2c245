//! The VMA layer (mm/vma.c of Linux 7.2): anon_vma compatibility, split,
//! merges of existing and of new ranges, flag changes and unmapping.

use crate::core::CloneOp;
use crate::world::{Alloc, AvKey, MmKey, Offsets, VmaKey, World};
use crate::PAGE_SHIFT;

/// A range change of one VMA, and optionally of its neighbour.
struct Change {
    vma: VmaKey,
    range: (u64, u64, Offsets),
    adjust: Option<(VmaKey, (u64, u64, Offsets))>,
}

impl World {
    /// The VMA went through fork (its chain is not a single AVC).
    fn is_fork_child(&self, v: Option<VmaKey>) -> bool {
        v.is_some_and(|v| {
            let v = self.vma(v);
            v.anon_vma.is_some() && v.chain.len() != 1
        })
    }

    /// is_mergeable_anon_vma: may `tgt` absorb a range whose anon_vma is
    /// `src_anon` (from VMA `src`, or being moved from `copied_from`)?
    fn is_mergeable_anon_vma(
        &self,
        tgt: VmaKey,
        src_anon: Option<AvKey>,
        src: Option<VmaKey>,
        copied_from: Option<VmaKey>,
    ) -> bool {
        let tgt_anon = self.vma(tgt).anon_vma;
        match (tgt_anon, src_anon) {
            (None, Some(_)) => !self.is_fork_child(src) && !self.is_fork_child(copied_from),
            (Some(_), None) => !self.is_fork_child(Some(tgt)),
            _ => tgt_anon == src_anon,
        }
    }

    /// reusable_anon_vma: `old`'s anon_vma, if `a` and `b` (in address
    /// order) are adjacent, alike and linear, and `old` has no fork history.
    fn reusable_anon_vma(&self, old: VmaKey, a: VmaKey, b: VmaKey) -> Option<AvKey> {
        let (va, vb) = (self.vma(a), self.vma(b));
        let compatible = va.end == vb.start
            && va.flags == vb.flags
            && vb.pgoff == va.pgoff + va.pages()
            && vb.anon_pgoff == va.anon_pgoff + va.pages();
        let o = self.vma(old);
        // A fault apart saw the neighbour as it was when the race began.
        let seen = !self.apart || self.faulted_before_race.contains(&old);
        (seen && compatible && o.anon_vma.is_some() && o.chain.len() == 1).then_some(o.anon_vma?)
    }

    /// find_mergeable_anon_vma: the next neighbour's, then the previous one's.
    pub(crate) fn find_mergeable_anon_vma(&self, vma: VmaKey) -> Option<AvKey> {
        if let Some(next) = self.vma_next(vma) {
            if let Some(av) = self.reusable_anon_vma(next, vma, next) {
                return Some(av);
            }
        }
        let prev = self.vma_prev(vma)?;
        self.reusable_anon_vma(prev, prev, vma)
    }

    /// dup_anon_vma: an unfaulted merge target takes the source's anon_vma.
    fn dup_anon_vma(&mut self, dst: VmaKey, src: VmaKey) -> Alloc<()> {
        let src_anon = self.vma(src).anon_vma;
        if src_anon.is_some() && self.vma(dst).anon_vma.is_none() {
            self.vma_mut(dst).anon_vma = src_anon;
            return self.anon_vma_clone(dst, src, CloneOp::MergeUnfaulted);
        }
        Ok(())
    }

    /// Applies a range change (trees are keyed by the current range, so the
    /// kernel's re-keying needs no action here), then removes the absorbed
    /// VMAs in order.
    fn commit(&mut self, change: Change, removed: &[VmaKey]) {
        for &r in removed {
            self.vma_unlink(r);
        }
        let (s, e, p) = change.range;
        self.vma_set_range(change.vma, s, e, p);
        if let Some((adj, (s, e, p))) = change.adjust {
            self.vma_set_range(adj, s, e, p);
        }
        for &r in removed {
            if self.vma(r).anon_vma.is_some() {
                self.unlink_anon_vmas(r);
            }
            self.vma_free(r);
        }
    }

    /// __split_vma: the new VMA is the lower part when `new_below`.
    pub(crate) fn split_vma(&mut self, vma: VmaKey, addr: u64, new_below: bool) -> Alloc<VmaKey> {
        let new = self.vma_dup(vma)?;
        let v = self.vma(vma).clone();
        if new_below {
            self.vma_mut(new).end = addr;
        } else {
            let n = self.vma_mut(new);
            let delta = (addr - v.start) >> PAGE_SHIFT;
            n.start = addr;
            n.pgoff += delta;
            n.anon_pgoff += delta;
        }
        if let Err(e) = self.anon_vma_clone(new, vma, CloneOp::Split) {
            self.vma_free(new);
            return Err(e);
        }
        if new_below {
            self.vma_set_range(
                vma,
                addr,
                v.end,
                v.offsets().plus((addr - v.start) >> PAGE_SHIFT),
            );
        } else {
            self.vma_set_range(vma, v.start, addr, v.offsets());
        }
        self.vma_link(new);
        Ok(new)
    }

    /// vma_merge_existing_range: `[start, end)` of `middle` is to carry
    /// `flags`. `Ok(Some(target))` if merged, `Ok(None)` if not.
    pub(crate) fn merge_existing(
        &mut self,
        middle: VmaKey,
        start: u64,
        end: u64,
        flags: u32,
    ) -> Alloc<Option<VmaKey>> {
        let m = self.vma(middle).clone();
        let prev = self.vma_prev(middle);
        let next = self.vma_next(middle);
        let pgoff = m.pgoff + ((start - m.start) >> PAGE_SHIFT);
        let left_side = start == m.start;
        let right_side = end == m.end;
        if !left_side && !right_side {
            return Ok(None);
        }
        let merge_left = left_side
            && prev.is_some_and(|p| {
                let pv = self.vma(p);
                pv.end == start
                    && pv.flags == flags
                    && self.is_mergeable_anon_vma(p, m.anon_vma, Some(middle), None)
                    && pv.pgoff + pv.pages() == pgoff
            });
        let mut merge_right = right_side
            && next.is_some_and(|n| {
                let nv = self.vma(n);
                nv.start == end
                    && nv.flags == flags
                    && self.is_mergeable_anon_vma(n, m.anon_vma, Some(middle), None)
                    && nv.pgoff == pgoff + ((end - start) >> PAGE_SHIFT)
            });
        if merge_left && merge_right {
            let (pa, na) = (
                self.vma(prev.unwrap()).anon_vma,
                self.vma(next.unwrap()).anon_vma,
            );
            if pa.is_some() && na.is_some() && pa != na {
                merge_right = false;
            }
        }
        if !merge_left && !merge_right {
            return Ok(None);
        }
        let remove_middle = left_side && right_side;

        let (target, dup_src, change, removed) = if merge_left && merge_right {
            let (p, n) = (prev.unwrap(), next.unwrap());
            let (pv, nv) = (self.vma(p), self.vma(n));
            let dup_src = if nv.anon_vma.is_some() { n } else { middle };
            let change = Change {
                vma: p,
                range: (pv.start, nv.end, pv.offsets()),
                adjust: None,
            };
            (p, dup_src, change, vec![middle, n])
        } else if merge_left {
            let p = prev.unwrap();
            let pv = self.vma(p);
            let mut change = Change {
                vma: p,
                range: (pv.start, end, pv.offsets()),
                adjust: None,
            };
            let removed = if remove_middle {
                vec![middle]
            } else {
                change.adjust = Some((
                    middle,
                    (end, m.end, m.offsets().plus((end - m.start) >> PAGE_SHIFT)),
                ));
                vec![]
            };
            (p, middle, change, removed)
        } else {
            let n = next.unwrap();
            let nv = self.vma(n);
            if remove_middle {
                let change = Change {
                    vma: n,
                    range: (m.start, nv.end, nv.offsets().minus(m.pages())),
                    adjust: None,
                };
                (n, middle, change, vec![middle])
            } else {
                let adj = (
                    start,
                    nv.end,
                    nv.offsets().minus((nv.start - start) >> PAGE_SHIFT),
                );
                let change = Change {
                    vma: middle,
                    range: (m.start, start, m.offsets()),
                    adjust: Some((n, adj)),
                };
                (n, middle, change, vec![])
            }
        };
        self.dup_anon_vma(target, dup_src)?;
        self.commit(change, &removed);
        Ok(Some(target))
    }

    /// vma_merge_new_range + vma_expand: a new range `[start, end)` (mmap,
    /// or the destination of an mremap of `copied_from`) expands a
    /// neighbour instead of becoming a VMA. The moved VMA itself is one
    /// when it is unfaulted and the range lies right next to it (its
    /// offsets then follow on).
    pub(crate) fn merge_new(
        &mut self,
        mm: MmKey,
        start: u64,
        end: u64,
        flags: u32,
        off: Offsets,
        copied_from: Option<VmaKey>,
    ) -> Alloc<Option<VmaKey>> {
        let pgoff = off.pgoff;
        let src_anon = copied_from.and_then(|c| self.vma(c).anon_vma);
        let m = self.mm(mm);
        let prev = m.vmas.range(..start).next_back().map(|(_, &k)| k);
        let next = m.vmas.range(end..).next().map(|(_, &k)| k);

        let can_left = prev.is_some_and(|p| {
            let pv = self.vma(p);
            pv.end == start
                && pv.flags == flags
                && self.is_mergeable_anon_vma(p, src_anon, None, copied_from)
                && pv.pgoff + pv.pages() == pgoff
        });
        let mut can_right = next.is_some_and(|n| {
            let nv = self.vma(n);
            nv.start == end
                && nv.flags == flags
                && self.is_mergeable_anon_vma(n, src_anon, None, copied_from)
                && nv.pgoff == pgoff + ((end - start) >> PAGE_SHIFT)
        });
        if can_left && can_right {
            let (pa, na) = (
                self.vma(prev.unwrap()).anon_vma,
                self.vma(next.unwrap()).anon_vma,
            );
            if pa.is_some() && na.is_some() && pa != na {
                can_right = false;
            }
        }
        if !can_left && !can_right {
            return Ok(None);
        }
        let remove_next = can_left && can_right;
        let (target, change) = if can_left {
            let p = prev.unwrap();
            let pv = self.vma(p);
            let new_end = if remove_next {
                self.vma(next.unwrap()).end
            } else {
                end
            };
            (
                p,
                Change {
                    vma: p,
                    range: (pv.start, new_end, pv.offsets()),
                    adjust: None,
                },
            )
        } else {
            let n = next.unwrap();
            (
                n,
                Change {
                    vma: n,
                    range: (start, self.vma(n).end, off),
                    adjust: None,
                },
            )
        };
        if remove_next {
            self.dup_anon_vma(target, next.unwrap())?;
        }
        if let Some(c) = copied_from {
            self.dup_anon_vma(target, c)?;
        }
        let removed: Vec<VmaKey> = if remove_next {
            vec![next.unwrap()]
        } else {
            vec![]
        };
        self.commit(change, &removed);
        Ok(Some(target))
    }

    /// vma_modify: merge, or split off what lies outside `[start, end)`;
    /// a failed second split leaves the first in place.
    pub(crate) fn vma_modify_flags(
        &mut self,
        vma: VmaKey,
        start: u64,
        end: u64,
        flags: u32,
    ) -> Alloc<()> {
        if self.merge_existing(vma, start, end, flags)?.is_some() {
            return Ok(());
        }
        if self.vma(vma).start < start {
            self.split_vma(vma, start, true)?;
        }
        if self.vma(vma).end > end {
            self.split_vma(vma, end, false)?;
        }
        self.vma_mut(vma).flags = flags;
        Ok(())
    }

    /// do_vmi_align_munmap: split at the edges (the first split stays if
    /// the second fails), unmap the pages, unlink and free the VMAs.
    pub(crate) fn munmap_range(&mut self, mm: MmKey, start: u64, end: u64) -> Alloc<()> {
        let mut u = crate::steps::Unmapping::new(mm, start, end);
        while u.step(self)? {}
        Ok(())
    }
}
