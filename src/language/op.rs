//! Operations on a world, and the fail plans that can be attached to them.
//!
//! An [`Op`] prints as one line of the text scenario format (see
//! [`crate::language::parse`]), so a scenario in a report can be pasted back into a
//! file and replayed.

use std::fmt;

/// Read or write access of a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
}

/// The fork-related madvise() advice an `madvise` op applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Advice {
    DontFork,
    DoFork,
    WipeOnFork,
    KeepOnFork,
}

impl Advice {
    pub const ALL: [Advice; 4] = [
        Advice::DontFork,
        Advice::DoFork,
        Advice::WipeOnFork,
        Advice::KeepOnFork,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Advice::DontFork => "dontfork",
            Advice::DoFork => "dofork",
            Advice::WipeOnFork => "wipeonfork",
            Advice::KeepOnFork => "keeponfork",
        }
    }

    pub fn from_name(name: &str) -> Option<Advice> {
        Advice::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// An rmap walker of a page: it isolates the page mapped at its address
/// (in a race, when the race begins) and works on it holding no mmap_lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Walker {
    /// Reclaim's `try_to_unmap()`: unmap the page everywhere.
    Reclaim,
    /// Migration: `folio_get_anon_vma()`, a walk under the lock, the put.
    Migrate,
    /// `folio_referenced()`: who maps the page.
    Referenced,
}

impl Walker {
    pub const ALL: [Walker; 3] = [Walker::Reclaim, Walker::Migrate, Walker::Referenced];

    pub fn kind(self) -> OpKind {
        match self {
            Walker::Reclaim => OpKind::Reclaim,
            Walker::Migrate => OpKind::Migrate,
            Walker::Referenced => OpKind::Referenced,
        }
    }
}

/// One operation on a world. Addresses and lengths are in bytes; `mm` is a
/// process id (0 is the first process, each successful fork takes the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// A new private anonymous mapping at a fixed, free range.
    Mmap {
        mm: u32,
        start: u64,
        len: u64,
    },
    /// A page fault at `addr`.
    Fault {
        mm: u32,
        addr: u64,
        access: Access,
    },
    /// Fork the process.
    Fork {
        mm: u32,
    },
    /// Split the VMA containing `addr` at `addr`; the new VMA is the upper part.
    Split {
        mm: u32,
        addr: u64,
    },
    /// Merge the VMA containing `addr` with compatible neighbours.
    Merge {
        mm: u32,
        addr: u64,
    },
    /// Move the whole VMA containing `addr` to `new_addr`.
    Mremap {
        mm: u32,
        addr: u64,
        new_addr: u64,
    },
    Munmap {
        mm: u32,
        start: u64,
        len: u64,
    },
    Madvise {
        mm: u32,
        start: u64,
        len: u64,
        advice: Advice,
    },
    /// The process exits.
    Exit {
        mm: u32,
    },
    /// An rmap walk from the page mapped at `addr`.
    Rmap {
        mm: u32,
        addr: u64,
    },
    /// A walker of the page mapped at `addr`.
    Walk {
        walker: Walker,
        mm: u32,
        addr: u64,
    },
}

/// The kind of an [`Op`], without operands (used in failure signatures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    Mmap,
    Fault,
    Fork,
    Split,
    Merge,
    Mremap,
    Munmap,
    Madvise,
    Exit,
    Rmap,
    Reclaim,
    Migrate,
    Referenced,
}

impl OpKind {
    pub const ALL: [OpKind; 13] = [
        OpKind::Mmap,
        OpKind::Fault,
        OpKind::Fork,
        OpKind::Split,
        OpKind::Merge,
        OpKind::Mremap,
        OpKind::Munmap,
        OpKind::Madvise,
        OpKind::Exit,
        OpKind::Rmap,
        OpKind::Reclaim,
        OpKind::Migrate,
        OpKind::Referenced,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Mmap => "mmap",
            OpKind::Fault => "fault",
            OpKind::Fork => "fork",
            OpKind::Split => "split",
            OpKind::Merge => "merge",
            OpKind::Mremap => "mremap",
            OpKind::Munmap => "munmap",
            OpKind::Madvise => "madvise",
            OpKind::Exit => "exit",
            OpKind::Rmap => "rmap",
            OpKind::Reclaim => "reclaim",
            OpKind::Migrate => "migrate",
            OpKind::Referenced => "referenced",
        }
    }

    pub fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether a failure of this kind of operation may leave part of its
    /// work in place, as the kernel does (docs/MODEL.md section 7).
    pub fn may_fail_partially(self) -> bool {
        matches!(self, OpKind::Fault | OpKind::Munmap | OpKind::Madvise)
    }

    /// The walker this kind is, if it is one.
    pub fn walker(self) -> Option<Walker> {
        Walker::ALL.into_iter().find(|w| w.kind() == self)
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Op {
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Mmap { .. } => OpKind::Mmap,
            Op::Fault { .. } => OpKind::Fault,
            Op::Fork { .. } => OpKind::Fork,
            Op::Split { .. } => OpKind::Split,
            Op::Merge { .. } => OpKind::Merge,
            Op::Mremap { .. } => OpKind::Mremap,
            Op::Munmap { .. } => OpKind::Munmap,
            Op::Madvise { .. } => OpKind::Madvise,
            Op::Exit { .. } => OpKind::Exit,
            Op::Rmap { .. } => OpKind::Rmap,
            Op::Walk { walker, .. } => walker.kind(),
        }
    }

    pub fn mm(&self) -> u32 {
        match *self {
            Op::Mmap { mm, .. }
            | Op::Fault { mm, .. }
            | Op::Fork { mm }
            | Op::Split { mm, .. }
            | Op::Merge { mm, .. }
            | Op::Mremap { mm, .. }
            | Op::Munmap { mm, .. }
            | Op::Madvise { mm, .. }
            | Op::Exit { mm }
            | Op::Rmap { mm, .. }
            | Op::Walk { mm, .. } => mm,
        }
    }

    /// The same operation on process `to`.
    pub fn with_mm(mut self, to: u32) -> Op {
        match &mut self {
            Op::Mmap { mm, .. }
            | Op::Fault { mm, .. }
            | Op::Fork { mm }
            | Op::Split { mm, .. }
            | Op::Merge { mm, .. }
            | Op::Mremap { mm, .. }
            | Op::Munmap { mm, .. }
            | Op::Madvise { mm, .. }
            | Op::Exit { mm }
            | Op::Rmap { mm, .. }
            | Op::Walk { mm, .. } => *mm = to,
        }
        self
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Mmap { mm, start, len } => write!(f, "mmap {mm} {start:#x} {len:#x}"),
            Op::Fault { mm, addr, access } => {
                let a = if access == Access::Write { "w" } else { "r" };
                write!(f, "fault {mm} {addr:#x} {a}")
            }
            Op::Fork { mm } => write!(f, "fork {mm}"),
            Op::Split { mm, addr } => write!(f, "split {mm} {addr:#x}"),
            Op::Merge { mm, addr } => write!(f, "merge {mm} {addr:#x}"),
            Op::Mremap { mm, addr, new_addr } => write!(f, "mremap {mm} {addr:#x} {new_addr:#x}"),
            Op::Munmap { mm, start, len } => write!(f, "munmap {mm} {start:#x} {len:#x}"),
            Op::Madvise {
                mm,
                start,
                len,
                advice,
            } => {
                write!(f, "madvise {mm} {start:#x} {len:#x} {}", advice.name())
            }
            Op::Exit { mm } => write!(f, "exit {mm}"),
            Op::Rmap { mm, addr } => write!(f, "rmap {mm} {addr:#x}"),
            Op::Walk { walker, mm, addr } => write!(f, "{} {mm} {addr:#x}", walker.kind()),
        }
    }
}

/// Fault injection for one operation: its `nth` allocation attempt fails
/// (`fail=N`), and with `and_later` every attempt after it too (`fail=N+`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FailPlan {
    pub nth: u32,
    pub and_later: bool,
}

impl fmt::Display for FailPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fail={}{}",
            self.nth,
            if self.and_later { "+" } else { "" }
        )
    }
}

/// An operation as it appears in a scenario: with its optional fail plan,
/// and optionally a maple-tree preallocation that fails (`maple=N`: the
/// Nth `vma_iter_prealloc` of the operation). Only a world with a tree's
/// own mm/vma.c (`kernel-vma`) has a maple tree; elsewhere `maple=` does
/// nothing, and where it fired, nothing models what follows, so the run
/// is judged by the contracts and the rollback rule from there on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Step {
    pub op: Op,
    pub fail: Option<FailPlan>,
    pub maple: Option<u32>,
}

impl Step {
    pub fn new(op: Op) -> Step {
        Step {
            op,
            fail: None,
            maple: None,
        }
    }

    /// The same faults on another operation.
    pub fn with_op(self, op: Op) -> Step {
        Step { op, ..self }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(plan) = self.fail {
            write!(f, " {plan}")?;
        }
        if let Some(nth) = self.maple {
            write!(f, " maple={nth}")?;
        }
        Ok(())
    }
}
