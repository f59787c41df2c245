//! The operations of docs/MODEL.md section 6. Operands are validated before
//! anything is allocated; EINVAL leaves the world untouched.

use crate::world::{Alloc, Avcs, Born, MmKey, Offsets, Page, PageKey, Vma, VmaKey, World};
use crate::{Access, Behaviour, Site, Status, PAGE_SIZE, TASK_SIZE, VM_DONTCOPY, VM_WIPEONFORK};

/// What an operation returns before the outcome is assembled.
pub(crate) type OpResult = Result<Status, Status>;

fn done(r: Alloc<Status>) -> OpResult {
    r.map_err(|_| Status::Enomem)
}

fn aligned(x: u64) -> bool {
    x & (PAGE_SIZE - 1) == 0
}

/// A range mmap, munmap and madvise accept.
fn valid_range(start: u64, len: u64) -> bool {
    len != 0 && aligned(start) && aligned(len) && len <= TASK_SIZE && start <= TASK_SIZE - len
}

impl World {
    pub(crate) fn live_mm(&self, id: u32) -> Result<MmKey, Status> {
        self.mm_by_id(id).ok_or(Status::Einval)
    }

    pub(crate) fn op_mmap(&mut self, id: u32, start: u64, len: u64) -> OpResult {
        let mm = self.live_mm(id)?;
        if !valid_range(start, len) || !self.range_is_free(mm, start, start + len) {
            return Err(Status::Einval);
        }
        let off = Offsets::at(start);
        // A merge that runs out of memory falls back to a new VMA.
        if let Ok(Some(_)) = self.merge_new(mm, start, start + len, 0, off, None) {
            return Ok(Status::Ok);
        }
        let vma = Vma {
            born: Born::default(),
            mm,
            start,
            end: start + len,
            pgoff: off.pgoff,
            anon_pgoff: off.anon,
            flags: 0,
            anon_vma: None,
            chain: Avcs::new(),
            attached: false,
        };
        done(self.alloc_vma(vma).map(|k| {
            self.vma_link(k);
            Status::Ok
        }))
    }

    fn new_page(&mut self, vma: VmaKey, addr: u64) -> Alloc<()> {
        let born = self.attempt(Site::Page)?;
        let v = self.vma(vma);
        let page = Page {
            born,
            anon_vma: v.anon_vma.expect("prepared before a page is added"),
            index: v.index_of(addr),
            mapcount: 1,
            pins: 0,
            mapped: Default::default(),
        };
        let mm = v.mm;
        let p = self.pages.insert(page);
        self.pte_map(mm, addr, p);
        Ok(())
    }

    pub(crate) fn op_fault(&mut self, id: u32, addr: u64, access: Access) -> OpResult {
        let mm = self.live_mm(id)?;
        let vma = self.vma_lookup(mm, addr).ok_or(Status::Einval)?;
        if access == Access::Read {
            return Ok(Status::NoOp);
        }
        let page_addr = addr & !(PAGE_SIZE - 1);
        // Apart (`World::set_apart`), it found the entry empty, prepared
        // and allocated its page, then found the racing fault's page there
        // (map_new_folio's re-check): it lets its page go and starts over.
        let lost_entry = self.apart
            && self.pte(mm, page_addr).is_some()
            && !self.mapped_before_race.contains(&(mm, page_addr));
        if lost_entry {
            if let Err(e) = self
                .anon_vma_prepare(vma)
                .and_then(|()| self.attempt(Site::Page).map(drop))
            {
                return done(Err(e));
            }
            // Starting over, it sees the VMA prepared: no second loss.
            self.apart = false;
        }
        let result = match self.pte(mm, page_addr) {
            // do_anonymous_page: a prepared anon_vma stays if the page fails.
            None => self
                .anon_vma_prepare(vma)
                .and_then(|()| self.new_page(vma, page_addr)),
            // wp_can_reuse_anon_folio + folio_move_anon_rmap.
            Some(p) if self.page(p).mapcount == 1 => {
                let av = self
                    .vma(vma)
                    .anon_vma
                    .expect("a VMA mapping a page has an anon_vma");
                self.page_mut(p).anon_vma = av;
                Ok(())
            }
            // Copy on write.
            Some(old) => self.anon_vma_prepare(vma).and_then(|()| {
                self.new_page(vma, page_addr)?;
                self.page_mut(old).mapcount -= 1;
                Ok(())
            }),
        };
        done(result.map(|()| Status::Ok))
    }

    /// dup_mmap for one parent VMA: copy, fork its anon_vma state, share pages.
    pub(crate) fn fork_vma(&mut self, child: MmKey, pvma: VmaKey) -> Alloc<()> {
        let tmp = self.vma_dup(pvma)?;
        self.vma_mut(tmp).mm = child;
        let wipe = self.vma(pvma).flags & VM_WIPEONFORK != 0;
        if wipe {
            self.vma_mut(tmp).anon_vma = None;
        } else if let Err(e) = self.anon_vma_fork(tmp, pvma) {
            self.vma_free(tmp);
            return Err(e);
        }
        self.vma_link(tmp);
        if !wipe {
            let (parent, start, end) = {
                let p = self.vma(pvma);
                (p.mm, p.start, p.end)
            };
            let shared: Vec<(u64, _)> = self
                .mm(parent)
                .ptes
                .range(start..end)
                .map(|(&a, &p)| (a, p))
                .collect();
            for (addr, page) in shared {
                self.page_mut(page).mapcount += 1;
                self.pte_map(child, addr, page);
            }
        }
        Ok(())
    }

    /// Exits every VMA of `mm`: pages first, then links, then the VMAs.
    pub(crate) fn tear_down(&mut self, mm: MmKey) {
        self.unmap_range(mm, 0, TASK_SIZE);
        let vmas: Vec<VmaKey> = self.mm(mm).vmas.values().copied().collect();
        for &v in &vmas {
            self.unlink_anon_vmas(v);
        }
        for v in vmas {
            self.vma_unlink(v);
            self.vma_free(v);
        }
    }

    pub(crate) fn op_split(&mut self, id: u32, addr: u64) -> OpResult {
        let mm = self.live_mm(id)?;
        let vma = self.vma_lookup(mm, addr).ok_or(Status::Einval)?;
        if !aligned(addr) || self.vma(vma).start == addr {
            return Err(Status::Einval);
        }
        done(self.split_vma(vma, addr, false).map(|_| Status::Ok))
    }

    pub(crate) fn op_merge(&mut self, id: u32, addr: u64) -> OpResult {
        let mm = self.live_mm(id)?;
        let vma = self.vma_lookup(mm, addr).ok_or(Status::Einval)?;
        let (start, end, flags) = {
            let v = self.vma(vma);
            (v.start, v.end, v.flags)
        };
        done(self.merge_existing(vma, start, end, flags).map(|m| {
            if m.is_some() {
                Status::Ok
            } else {
                Status::NoOp
            }
        }))
    }

    /// move_vma + copy_vma: the whole VMA moves to `new_addr`.
    pub(crate) fn op_mremap(&mut self, id: u32, addr: u64, new_addr: u64) -> OpResult {
        let mm = self.live_mm(id)?;
        let vma = self.vma_lookup(mm, addr).ok_or(Status::Einval)?;
        let v = self.vma(vma).clone();
        let len = v.end - v.start;
        if !valid_range(new_addr, len) || !self.range_is_free(mm, new_addr, new_addr + len) {
            return Err(Status::Einval);
        }
        // An unfaulted VMA takes the new address's offsets (both of them,
        // in 7.3), to help merging.
        let off = if v.anon_vma.is_some() {
            v.offsets()
        } else {
            Offsets::at(new_addr)
        };
        let merged = match self.merge_new(mm, new_addr, new_addr + len, v.flags, off, Some(vma)) {
            Ok(Some(target)) => Some(target),
            _ => None,
        };
        if merged.is_none() {
            let copy = self.vma_dup(vma).map_err(|_| Status::Enomem)?;
            self.vma_set_range(copy, new_addr, new_addr + len, off);
            if self
                .anon_vma_clone(copy, vma, crate::core::CloneOp::Remap)
                .is_err()
            {
                self.vma_free(copy);
                return Err(Status::Enomem);
            }
            self.vma_link(copy);
        }
        let moved: Vec<(u64, _)> = self
            .mm(mm)
            .ptes
            .range(v.start..v.end)
            .map(|(&a, &p)| (a, p))
            .collect();
        for &(a, _) in &moved {
            self.pte_clear(mm, a);
        }
        for (a, p) in moved {
            self.pte_map(mm, a - v.start + new_addr, p);
        }
        let absorbed = merged.is_some_and(|t| {
            let tv = self.vma(t);
            tv.start <= v.start && v.start < tv.end
        });
        if absorbed {
            // Merged into itself (or absorbed with the new range by a
            // neighbour, as copy_vma notices): the old range is split off
            // and unmapped; as mm/mremap.c does, a split that cannot
            // allocate leaves the move standing and the old range mapped.
            let _ = self.munmap_range(mm, v.start, v.end);
            return Ok(Status::Ok);
        }
        self.vma_unlink(vma);
        self.unlink_anon_vmas(vma);
        self.vma_free(vma);
        Ok(Status::Ok)
    }

    /// munmap's checks: the process and the range, `None` when nothing
    /// is mapped there.
    pub(crate) fn munmap_checked(
        &self,
        id: u32,
        start: u64,
        len: u64,
    ) -> Result<Option<MmKey>, Status> {
        let mm = self.live_mm(id)?;
        if !valid_range(start, len) {
            return Err(Status::Einval);
        }
        Ok(self.first_in_range(mm, start, start + len).map(|_| mm))
    }

    pub(crate) fn op_madvise(
        &mut self,
        id: u32,
        start: u64,
        len: u64,
        behaviour: Behaviour,
    ) -> OpResult {
        let mm = self.live_mm(id)?;
        if !valid_range(start, len) {
            return Err(Status::Einval);
        }
        let end = start + len;
        let mut cur = start;
        let mut changed = false;
        while let Some(vma) = self.first_in_range(mm, cur, end) {
            let v = self.vma(vma);
            let (s, e) = (cur.max(v.start), end.min(v.end));
            let flags = match behaviour {
                Behaviour::DontFork => v.flags | VM_DONTCOPY,
                Behaviour::DoFork => v.flags & !VM_DONTCOPY,
                Behaviour::WipeOnFork => v.flags | VM_WIPEONFORK,
                Behaviour::KeepOnFork => v.flags & !VM_WIPEONFORK,
            };
            if flags != v.flags {
                self.vma_modify_flags(vma, s, e, flags)
                    .map_err(|_| Status::Enomem)?;
                changed = true;
            }
            cur = e;
        }
        Ok(if changed { Status::Ok } else { Status::NoOp })
    }

    /// rmap_walk_anon from `page`: the VMAs of its anon_vma's tree that
    /// cover its index and really map it there, sorted.
    pub(crate) fn rmap_walk(&self, page: crate::world::PageKey) -> crate::dump::Few<(u32, u64)> {
        let p = self.page(page);
        let Some(av) = self.avs.get(p.anon_vma) else {
            return Default::default();
        };
        let mut hits = crate::dump::Few::new();
        for &avc in &av.tree {
            let Some(v) = self.avcs.get(avc).and_then(|a| self.vmas.get(a.vma)) else {
                hits.push((u32::MAX, 0));
                continue;
            };
            if p.index < v.anon_pgoff || p.index > v.last_anon_pgoff() {
                continue;
            }
            let addr = v.start + ((p.index - v.anon_pgoff) << crate::PAGE_SHIFT);
            if self.pte(v.mm, addr) == Some(page) {
                hits.push((self.mm(v.mm).id, addr));
            }
        }
        hits.sort_unstable();
        hits
    }

    pub(crate) fn op_isolate(&self, id: u32, addr: u64) -> Result<PageKey, Status> {
        let mm = self.live_mm(id)?;
        self.vma_lookup(mm, addr).ok_or(Status::Einval)?;
        self.pte(mm, addr & !(PAGE_SIZE - 1)).ok_or(Status::NoOp)
    }

    /// Where an isolated page is mapped (nowhere once it was unmapped);
    /// reclaim unmaps it there too.
    pub(crate) fn op_walk(
        &mut self,
        page: PageKey,
        walker: crate::Walker,
    ) -> Result<Vec<(u32, u64)>, Status> {
        // Nothing maps it any more: the walk finds nothing.
        if self.page(page).mapcount == 0 {
            return Ok(Vec::new());
        }
        let hits = self.rmap_walk(page).into_vec();
        if walker == crate::Walker::Reclaim {
            for &(id, addr) in &hits {
                if let Some(mm) = self.mm_by_id(id) {
                    self.unmap_range(mm, addr, addr + PAGE_SIZE);
                }
            }
        }
        Ok(hits)
    }

    /// A walker lets its page go: freed if nothing maps it any more.
    pub(crate) fn release(&mut self, page: PageKey) {
        let p = self.page_mut(page);
        p.pins -= 1;
        if p.pins == 0 && p.mapcount == 0 {
            self.pages.remove(page);
        }
    }

    pub(crate) fn op_rmap(&mut self, id: u32, addr: u64) -> Result<Vec<(u32, u64)>, Status> {
        let mm = self.live_mm(id)?;
        self.vma_lookup(mm, addr).ok_or(Status::Einval)?;
        let page = self.pte(mm, addr & !(PAGE_SIZE - 1)).ok_or(Status::NoOp)?;
        Ok(self.rmap_walk(page).into_vec())
    }
}
