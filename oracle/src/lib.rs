//! rmap-oracle: a safe Rust implementation of the mainline anon_vma
//! semantics and of the VMA operations that drive it, following
//! `docs/MODEL.md` (the contract the C harness in `csrc/` follows too).
//!
//! Objects live in generational arenas (`slotmap`): a reference to a freed
//! object is a stale key, and using one panics with the object's kind
//! instead of silently touching whatever took its place.
#![forbid(unsafe_code)]

mod alloc;
mod core;
pub mod dump;
mod ops;
mod steps;
mod tracked;
mod vma_ops;
mod watched;
mod world;

pub use dump::{
    Changes, Dump, DumpAnonVma, DumpAvc, DumpMm, DumpPage, DumpSink, DumpVma, Listing, LiveCounts,
    Ref,
};
pub use steps::{Interruptible, Stepper};
pub use world::World;

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
pub const TASK_SIZE: u64 = 1 << 47;
pub const VM_DONTCOPY: u32 = 1;
pub const VM_WIPEONFORK: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    NoOp,
    Enomem,
    Einval,
}

/// The five allocation sites fault injection counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    Mm,
    Vma,
    AnonVma,
    Avc,
    Page,
}

/// `fail=N` (`and_later == false`) or `fail=N+`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailPlan {
    pub nth: u32,
    pub and_later: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    DontFork,
    DoFork,
    WipeOnFork,
    KeepOnFork,
}

/// An rmap walker of one page (reclaim, migration, folio_referenced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walker {
    /// Unmaps the page everywhere.
    Reclaim,
    /// Reports where the page is mapped, holding its anon_vma.
    Migrate,
    /// Reports where the page is mapped.
    Referenced,
}

/// A page a walker isolated ([`World::isolate`]): it stays, mapped or
/// not, until [`World::walk_isolated`] lets it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isolated(world::PageKey);

/// The result of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// Every allocation attempt, in order.
    pub allocs: Vec<Site>,
    /// For `rmap`: where the page was found, sorted.
    pub rmap: Vec<(u32, u64)>,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    /// A world with one empty process, mm 0.
    pub fn new() -> World {
        let mut w = World {
            mms: Default::default(),
            mm_ids: Default::default(),
            next_mm_id: 1,
            made: 0,
            vmas: Default::default(),
            avs: Default::default(),
            avcs: Default::default(),
            pages: Default::default(),
            listed: Default::default(),
            mapped_whole: true,
            alloc: Default::default(),
            armed: None,
            apart: false,
            faulted_before_race: Vec::new(),
            mapped_before_race: Vec::new(),
        };
        w.new_mm(0);
        w
    }

    /// A race begins: remember which VMAs have an anon_vma (what a fault
    /// that raced another fault of its process may have seen, see
    /// [`World::set_apart`]).
    pub fn race_begins(&mut self) {
        self.faulted_before_race = self
            .vmas
            .iter()
            .filter(|(_, v)| v.anon_vma.is_some())
            .map(|(k, _)| k)
            .collect();
        self.mapped_before_race = self
            .mms
            .iter()
            .flat_map(|(k, m)| m.ptes.keys().map(move |&a| (k, a)))
            .collect();
    }

    /// While set, a fault prepares as one that raced another fault of its
    /// process and looked before that one published: it sees the
    /// anon_vmas of its VMA and its neighbours as they were when the race
    /// began. So it may make an anon_vma of its own where a neighbour's
    /// new one would have been shared, and may make (and throw away) an
    /// AVC and an anon_vma for a VMA the other fault has just prepared;
    /// and where its entry was empty then and the other fault has filled
    /// it, it has made (and throws away) a page too before it starts over
    /// on the entry it finds.
    pub fn set_apart(&mut self, apart: bool) {
        self.apart = apart;
    }

    /// Arms a fail plan for the next operation only.
    pub fn inject(&mut self, plan: Option<FailPlan>) {
        self.armed = plan;
    }

    fn run(&mut self, op: impl FnOnce(&mut World) -> Result<Status, Status>) -> Outcome {
        let plan = self.armed.take();
        self.alloc.begin(plan);
        let status = op(self).unwrap_or_else(|e| e);
        Outcome {
            status,
            allocs: self.alloc.end(),
            rmap: Vec::new(),
        }
    }

    pub fn mmap(&mut self, mm: u32, start: u64, len: u64) -> Outcome {
        self.run(|w| w.op_mmap(mm, start, len))
    }

    pub fn fault(&mut self, mm: u32, addr: u64, access: Access) -> Outcome {
        self.run(|w| w.op_fault(mm, addr, access))
    }

    pub fn fork(&mut self, mm: u32) -> Outcome {
        self.whole(Interruptible::Fork { mm })
    }

    pub fn split(&mut self, mm: u32, addr: u64) -> Outcome {
        self.run(|w| w.op_split(mm, addr))
    }

    pub fn merge(&mut self, mm: u32, addr: u64) -> Outcome {
        self.run(|w| w.op_merge(mm, addr))
    }

    pub fn mremap(&mut self, mm: u32, addr: u64, new_addr: u64) -> Outcome {
        self.run(|w| w.op_mremap(mm, addr, new_addr))
    }

    pub fn munmap(&mut self, mm: u32, start: u64, len: u64) -> Outcome {
        self.whole(Interruptible::Munmap { mm, start, len })
    }

    pub fn madvise(&mut self, mm: u32, start: u64, len: u64, behaviour: Behaviour) -> Outcome {
        self.run(|w| w.op_madvise(mm, start, len, behaviour))
    }

    pub fn exit(&mut self, mm: u32) -> Outcome {
        self.whole(Interruptible::Exit { mm })
    }

    pub fn rmap(&mut self, mm: u32, addr: u64) -> Outcome {
        let mut hits = Vec::new();
        let mut out = self.run(|w| {
            hits = w.op_rmap(mm, addr)?;
            Ok(Status::Ok)
        });
        out.rmap = hits;
        out
    }

    /// A walker's whole operation: isolate the page mapped at `addr` of
    /// process `mm`, walk it, let it go.
    pub fn walk(&mut self, walker: Walker, mm: u32, addr: u64) -> Outcome {
        match self.isolate(mm, addr) {
            Ok(page) => self.walk_isolated(page, walker),
            Err(status) => self.run(|_| Err(status)),
        }
    }

    /// Isolates the page mapped at `addr` of process `mm` for a walker;
    /// EINVAL without a VMA there, no-op without a page.
    pub fn isolate(&mut self, mm: u32, addr: u64) -> Result<Isolated, Status> {
        let page = self.op_isolate(mm, addr)?;
        self.page_mut(page).pins += 1;
        Ok(Isolated(page))
    }

    /// The walk of an isolated page (no-op once nothing maps it), after
    /// which the walker lets it go.
    pub fn walk_isolated(&mut self, page: Isolated, walker: Walker) -> Outcome {
        let mut hits = Vec::new();
        let mut out = self.run(|w| {
            let found = w.op_walk(page.0, walker)?;
            if walker != Walker::Reclaim {
                hits = found;
            }
            Ok(Status::Ok)
        });
        self.release(page.0);
        out.rmap = hits;
        out
    }

    /// Each live process (by id) with the ranges of its VMAs, in order.
    /// The id the next fork takes.
    pub fn next_mm_id(&self) -> u32 {
        self.next_mm_id
    }

    pub fn layout(&self) -> Vec<(u32, Vec<(u64, u64)>)> {
        self.mm_ids
            .iter()
            .map(|(&id, &mm)| {
                let ranges = self
                    .mm(mm)
                    .vmas
                    .values()
                    .map(|&v| (self.vma(v).start, self.vma(v).end))
                    .collect();
                (id, ranges)
            })
            .collect()
    }

    /// Exits every remaining process and returns what is still allocated.
    /// (The world keeps its memory: one put back to a saved world after a
    /// teardown, as a search does, fills the arenas it has.)
    pub fn teardown(&mut self) -> LiveCounts {
        let ids: Vec<u32> = self.mm_ids.keys().copied().collect();
        for id in ids {
            self.exit(id);
        }
        self.live_counts()
    }
}

#[cfg(test)]
mod tests;
