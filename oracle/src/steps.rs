//! Fork, exit and munmap cut at their steps. Each works on one VMA at a
//! time (copies it, splits it, unlinks it from its anon_vmas), every step
//! under that VMA's family lock, while only the operation's own process is
//! locked throughout; so another process's operation, or a walker, may
//! fall between two steps and see, or change, what the later ones find. A
//! race's serial explanation may interleave the steps of several such
//! operations ([`World::begin`], [`World::step`]); run one step after the
//! other, each is the whole operation.

use std::collections::BTreeMap;

use crate::alloc::Injector;
use crate::world::{Alloc, Mm, MmKey, VmaKey, World};
use crate::{Outcome, Site, Status, TASK_SIZE, VM_DONTCOPY};

/// An operation over several VMAs that others may interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interruptible {
    Fork { mm: u32 },
    Exit { mm: u32 },
    Munmap { mm: u32, start: u64, len: u64 },
}

/// One such operation under way: what it still has to do, and its own
/// fault injection and allocation record.
#[derive(Clone, Debug)]
pub struct Stepper {
    op: Interruptible,
    phase: Phase,
    alloc: Injector,
    status: Status,
    steps: usize,
}

#[derive(Clone, Debug)]
enum Phase {
    Start,
    /// The child's id taken, its mm not yet allocated.
    ForkBegun {
        id: u32,
    },
    Fork {
        child: MmKey,
        id: u32,
        pvmas: Vec<VmaKey>,
        next: usize,
    },
    Exit {
        mm: MmKey,
        id: u32,
        vmas: Vec<VmaKey>,
        next: usize,
    },
    Munmap(Unmapping),
    Done,
}

/// munmap of a range, a step at a time: split off its first VMA's head,
/// its last VMA's tail, detach the VMAs and their pages, then unlink each
/// from its anon_vmas.
#[derive(Clone, Debug)]
pub(crate) struct Unmapping {
    mm: MmKey,
    start: u64,
    end: u64,
    stage: Stage,
}

#[derive(Clone, Debug)]
enum Stage {
    SplitFirst,
    SplitLast,
    Detach,
    Unlink { doomed: Vec<VmaKey>, next: usize },
}

impl Unmapping {
    pub(crate) fn new(mm: MmKey, start: u64, end: u64) -> Unmapping {
        Unmapping {
            mm,
            start,
            end,
            stage: Stage::SplitFirst,
        }
    }

    /// One step; `Ok(false)` once the range is unmapped.
    pub(crate) fn step(&mut self, w: &mut World) -> Alloc<bool> {
        let (mm, start, end) = (self.mm, self.start, self.end);
        match &mut self.stage {
            Stage::SplitFirst => {
                let Some(first) = w.first_in_range(mm, start, end) else {
                    return Ok(false);
                };
                if w.vma(first).start < start {
                    w.split_vma(first, start, true)?;
                }
                self.stage = Stage::SplitLast;
            }
            Stage::SplitLast => {
                let mut cur = w.first_in_range(mm, start, end);
                while let Some(v) = cur {
                    if w.vma(v).start >= end {
                        break;
                    }
                    if w.vma(v).end > end {
                        w.split_vma(v, end, false)?;
                    }
                    cur = w.vma_next(v);
                }
                self.stage = Stage::Detach;
            }
            Stage::Detach => {
                let doomed: Vec<VmaKey> =
                    w.mm(mm).vmas.range(start..end).map(|(_, &k)| k).collect();
                for &v in &doomed {
                    w.vma_unlink(v);
                }
                w.unmap_range(mm, start, end);
                self.stage = Stage::Unlink { doomed, next: 0 };
            }
            Stage::Unlink { doomed, next } => {
                if let Some(&v) = doomed.get(*next) {
                    w.unlink_anon_vmas(v);
                    *next += 1;
                }
                if *next < doomed.len() {
                    return Ok(true);
                }
                for &v in doomed.iter() {
                    w.vma_free(v);
                }
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl World {
    /// Starts `op` (armed with the fail plan [`World::inject`] set): it
    /// does nothing until stepped.
    pub fn begin(&mut self, op: Interruptible) -> Stepper {
        let mut alloc = Injector::default();
        alloc.begin(self.armed.take());
        Stepper {
            op,
            phase: Phase::Start,
            alloc,
            status: Status::Ok,
            steps: 0,
        }
    }

    /// Runs the next step of `s`; `false` once it has ended (then this
    /// does nothing).
    pub fn step(&mut self, s: &mut Stepper) -> bool {
        if matches!(s.phase, Phase::Done) {
            return false;
        }
        s.steps += 1;
        std::mem::swap(&mut self.alloc, &mut s.alloc);
        let phase = std::mem::replace(&mut s.phase, Phase::Done);
        s.phase = match self.step_phase(s.op, phase) {
            Ok(next) => next,
            Err(status) => {
                s.status = status;
                Phase::Done
            }
        };
        std::mem::swap(&mut self.alloc, &mut s.alloc);
        !matches!(s.phase, Phase::Done)
    }

    /// The outcome of an operation that has ended.
    pub fn end(&mut self, mut s: Stepper) -> Outcome {
        assert!(matches!(s.phase, Phase::Done), "ended before its last step");
        Outcome {
            status: s.status,
            allocs: s.alloc.end(),
            rmap: Vec::new(),
        }
    }

    /// `op` whole, its steps one after the other.
    pub(crate) fn whole(&mut self, op: Interruptible) -> Outcome {
        let mut s = self.begin(op);
        while self.step(&mut s) {}
        self.end(s)
    }

    /// One step from `phase`: the next phase, or how the operation ended
    /// (`Status::Ok` included) as `Err`.
    fn step_phase(&mut self, op: Interruptible, phase: Phase) -> Result<Phase, Status> {
        match (op, phase) {
            (Interruptible::Fork { mm }, Phase::Start) => {
                self.live_mm(mm)?;
                // The child's id is taken first (a walker may meet the child
                // half built), a step of its own: another fork may take the
                // next before this one allocates. Given back if the fork
                // fails, unless another fork took the next one meanwhile.
                let id = self.next_mm_id;
                self.next_mm_id += 1;
                Ok(Phase::ForkBegun { id })
            }
            (Interruptible::Fork { mm }, Phase::ForkBegun { id }) => {
                let parent = match self.live_mm(mm) {
                    Ok(parent) if self.attempt(Site::Mm).is_ok() => parent,
                    failed => {
                        if self.next_mm_id == id + 1 {
                            self.next_mm_id = id;
                        }
                        return Err(failed.err().unwrap_or(Status::Enomem));
                    }
                };
                let child = self.mms.insert(Mm {
                    id,
                    vmas: BTreeMap::new(),
                    ptes: BTreeMap::new(),
                });
                let pvmas: Vec<VmaKey> = self
                    .mm(parent)
                    .vmas
                    .values()
                    .copied()
                    .filter(|&v| self.vma(v).flags & VM_DONTCOPY == 0)
                    .collect();
                self.fork_next(child, id, pvmas, 0)
            }
            (
                _,
                Phase::Fork {
                    child,
                    id,
                    pvmas,
                    next,
                },
            ) => {
                if self.fork_vma(child, pvmas[next]).is_err() {
                    self.tear_down(child);
                    self.mms.remove(child);
                    if self.next_mm_id == id + 1 {
                        self.next_mm_id = id;
                    }
                    return Err(Status::Enomem);
                }
                self.fork_next(child, id, pvmas, next + 1)
            }
            (Interruptible::Exit { mm: id }, Phase::Start) => {
                let mm = self.live_mm(id)?;
                self.unmap_range(mm, 0, TASK_SIZE);
                let vmas: Vec<VmaKey> = self.mm(mm).vmas.values().copied().collect();
                self.exit_next(mm, id, vmas, 0)
            }
            (_, Phase::Exit { mm, id, vmas, next }) => {
                self.unlink_anon_vmas(vmas[next]);
                self.exit_next(mm, id, vmas, next + 1)
            }
            (Interruptible::Munmap { mm, start, len }, Phase::Start) => {
                match self.munmap_checked(mm, start, len)? {
                    None => Err(Status::NoOp),
                    Some(mm) => Ok(Phase::Munmap(Unmapping::new(mm, start, start + len))),
                }
            }
            (_, Phase::Munmap(mut u)) => match u.step(self) {
                Ok(true) => Ok(Phase::Munmap(u)),
                Ok(false) => Err(Status::Ok),
                Err(_) => Err(Status::Enomem),
            },
            (_, phase) => unreachable!("{op:?} in {phase:?}"),
        }
    }

    /// After `next` VMAs copied: the next copy, or the child's birth.
    fn fork_next(
        &mut self,
        child: MmKey,
        id: u32,
        pvmas: Vec<VmaKey>,
        next: usize,
    ) -> Result<Phase, Status> {
        if next < pvmas.len() {
            return Ok(Phase::Fork {
                child,
                id,
                pvmas,
                next,
            });
        }
        self.mm_ids.insert(id, child);
        Err(Status::Ok)
    }

    /// After `next` VMAs unlinked: the next one, or the end of the process.
    fn exit_next(
        &mut self,
        mm: MmKey,
        id: u32,
        vmas: Vec<VmaKey>,
        next: usize,
    ) -> Result<Phase, Status> {
        if next < vmas.len() {
            return Ok(Phase::Exit { mm, id, vmas, next });
        }
        for v in vmas {
            self.vma_unlink(v);
            self.vma_free(v);
        }
        self.mm_ids.remove(&id);
        self.mms.remove(mm);
        Err(Status::Ok)
    }
}

impl Stepper {
    /// Whether it has ended.
    pub fn ended(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The steps it has taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The id a fork under way took for its child (the child is not in a
    /// dump of the world until it is born).
    pub fn child_id(&self) -> Option<u32> {
        match self.phase {
            Phase::ForkBegun { id } | Phase::Fork { id, .. } => Some(id),
            _ => None,
        }
    }
}
