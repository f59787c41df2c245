//! The Rust oracle as an [`Engine`].

use rmap_oracle as oracle;

use super::{Engine, Layout, Outcome, Serial, Site, Status, Teardown};
use crate::check::snapshot::{
    LiveCounts, RawAnonVma, RawAvc, RawMm, RawPage, RawRef, RawSnapshot, RawTreeNode, RawVma,
};
use crate::engine::variant::Generation;
use crate::language::op::{Access, Advice, FailPlan, Op, Step, Walker};

/// The reference implementation of the mainline semantics.
#[derive(Clone, Default)]
pub struct OracleEngine {
    world: oracle::World,
    /// Report each VMA's anonymous page offset (Linux 7.3's generation).
    anon_pgoff: bool,
}

impl OracleEngine {
    pub fn new() -> OracleEngine {
        OracleEngine::default()
    }

    /// The oracle as a reference for a core of `generation`: one that
    /// keys by the anonymous page offset sees it in the snapshots.
    pub fn for_generation(generation: Generation) -> OracleEngine {
        OracleEngine {
            anon_pgoff: generation == Generation::AnonPgoff,
            ..OracleEngine::default()
        }
    }
}

fn reference(r: oracle::Ref) -> RawRef {
    match r {
        oracle::Ref::Null => RawRef::Null,
        oracle::Ref::Live(i) => RawRef::Index(i),
        oracle::Ref::Dangling => RawRef::Dangling,
    }
}

fn site(s: oracle::Site) -> Site {
    match s {
        oracle::Site::Mm => Site::Mm,
        oracle::Site::Vma => Site::Vma,
        oracle::Site::AnonVma => Site::AnonVma,
        oracle::Site::Avc => Site::Avc,
        oracle::Site::Page => Site::Page,
    }
}

fn live_counts(l: oracle::LiveCounts) -> LiveCounts {
    LiveCounts {
        mm: l.mm,
        vma: l.vma,
        anon_vma: l.anon_vma,
        avc: l.avc,
        page: l.page,
    }
}

/// The oracle keys every tree entry by its VMA's current range; the C side
/// reports the key an entry was filed under. Both must agree.
fn tree_key(d: &oracle::Dump, avc: usize) -> (u64, u64) {
    let vma = d.avcs.get(avc).and_then(|a| match a.vma {
        oracle::Ref::Live(v) => d.vmas.get(v),
        _ => None,
    });
    match vma {
        Some(v) => (
            v.anon_pgoff,
            (v.anon_pgoff + ((v.end - v.start) >> 12)).wrapping_sub(1),
        ),
        None => (0, 0),
    }
}

fn convert(d: &oracle::Dump, anon_pgoff: bool) -> RawSnapshot {
    RawSnapshot {
        mms: d
            .mms
            .iter()
            .map(|m| RawMm {
                id: m.id,
                vmas: m.vmas.clone(),
                bad_entries: 0,
            })
            .collect(),
        vmas: d
            .vmas
            .iter()
            .map(|v| RawVma {
                mm: v.mm.ok_or(RawRef::Null),
                start: v.start,
                end: v.end,
                pgoff: v.pgoff,
                anon_pgoff: anon_pgoff.then_some(v.anon_pgoff),
                flags: v.flags,
                attached: v.attached,
                anon_vma: reference(v.anon_vma),
                chain: v.chain.iter().map(|&a| RawRef::Index(a)).collect(),
                chain_broken: false,
            })
            .collect(),
        avcs: d
            .avcs
            .iter()
            .map(|a| RawAvc {
                vma: reference(a.vma),
                anon_vma: reference(a.anon_vma),
            })
            .collect(),
        anon_vmas: d
            .anon_vmas
            .iter()
            .map(|a| RawAnonVma {
                root: reference(a.root),
                parent: reference(a.parent),
                refcount: a.refcount,
                num_children: a.num_children,
                num_active_vmas: a.num_active_vmas,
                degree: None,
                tree: a
                    .tree
                    .iter()
                    .map(|&avc| {
                        let (start, last) = tree_key(d, avc);
                        RawTreeNode {
                            avc: RawRef::Index(avc),
                            start,
                            last,
                        }
                    })
                    .collect(),
            })
            .collect(),
        pages: d
            .pages
            .iter()
            .map(|p| RawPage {
                anon_vma: reference(p.anon_vma),
                index: p.index,
                mapcount: p.mapcount,
                mappers: p.mappers.clone(),
                walk: p.walk.clone(),
            })
            .collect(),
        live: live_counts(d.live),
    }
}

fn oracle_walker(walker: Walker) -> oracle::Walker {
    match walker {
        Walker::Reclaim => oracle::Walker::Reclaim,
        Walker::Migrate => oracle::Walker::Migrate,
        Walker::Referenced => oracle::Walker::Referenced,
    }
}

fn oracle_plan(fail: Option<FailPlan>) -> Option<oracle::FailPlan> {
    fail.map(|f| oracle::FailPlan {
        nth: f.nth,
        and_later: f.and_later,
    })
}

fn status_of(status: oracle::Status) -> Status {
    match status {
        oracle::Status::Ok => Status::Ok,
        oracle::Status::NoOp => Status::NoOp,
        oracle::Status::Enomem => Status::Enomem,
        oracle::Status::Einval => Status::Einval,
    }
}

fn outcome(out: oracle::Outcome) -> Outcome {
    Outcome {
        status: status_of(out.status),
        allocs: out.allocs.into_iter().map(site).collect(),
        hits: out.rmap,
        maple_failed: false,
    }
}

impl Engine for OracleEngine {
    fn duplicate(&self) -> Option<Box<dyn Engine>> {
        Some(Box::new(self.clone()))
    }

    fn serially(
        &mut self,
        branches: &[Step],
        order: &[usize],
        how: &[Serial],
    ) -> Option<Vec<Outcome>> {
        // A race finds each branch's process when it begins (one a branch
        // forks meanwhile is not there for the others): EINVAL then.
        let live: Vec<u32> = self.world.layout().iter().map(|m| m.0).collect();
        // Walkers isolate their pages when the race begins, in branch order.
        let isolated: Vec<Option<Result<oracle::Isolated, oracle::Status>>> = branches
            .iter()
            .map(|s| match s.op {
                Op::Walk { mm, addr, .. } => Some(self.world.isolate(mm, addr)),
                _ => None,
            })
            .collect();
        self.world.race_begins();
        let serial = SerialRun {
            branches,
            how,
            live: &live,
            isolated: &isolated,
        };
        let mut outcomes: Vec<Option<Outcome>> = vec![None; branches.len()];
        serial.run(&mut self.world, order, &mut outcomes);
        outcomes.into_iter().collect()
    }

    fn apply(&mut self, op: &Op, fail: Option<FailPlan>) -> Outcome {
        apply_to(&mut self.world, op, fail)
    }

    fn snapshot(&mut self) -> RawSnapshot {
        convert(&self.world.dump(), self.anon_pgoff)
    }

    fn layout(&mut self) -> Layout {
        Layout {
            mms: self.world.layout(),
        }
    }

    fn hygiene(&mut self) -> Vec<String> {
        Vec::new()
    }

    fn finish(self: Box<Self>) -> Teardown {
        Teardown {
            leaks: live_counts(self.world.teardown()),
            problems: Vec::new(),
        }
    }
}

/// One operation on the reference world, with its fault injection.
fn apply_to(w: &mut oracle::World, op: &Op, fail: Option<FailPlan>) -> Outcome {
    w.inject(oracle_plan(fail));

    let out = match *op {
        Op::Mmap { mm, start, len } => w.mmap(mm, start, len),
        Op::Fault { mm, addr, access } => {
            let access = if access == Access::Write {
                oracle::Access::Write
            } else {
                oracle::Access::Read
            };
            w.fault(mm, addr, access)
        }
        Op::Fork { mm } => w.fork(mm),
        Op::Split { mm, addr } => w.split(mm, addr),
        Op::Merge { mm, addr } => w.merge(mm, addr),
        Op::Mremap { mm, addr, new_addr } => w.mremap(mm, addr, new_addr),
        Op::Munmap { mm, start, len } => w.munmap(mm, start, len),
        Op::Madvise {
            mm,
            start,
            len,
            advice,
        } => {
            let behaviour = match advice {
                Advice::DontFork => oracle::Behaviour::DontFork,
                Advice::DoFork => oracle::Behaviour::DoFork,
                Advice::WipeOnFork => oracle::Behaviour::WipeOnFork,
                Advice::KeepOnFork => oracle::Behaviour::KeepOnFork,
            };
            w.madvise(mm, start, len, behaviour)
        }
        Op::Exit { mm } => w.exit(mm),
        Op::Rmap { mm, addr } => w.rmap(mm, addr),
        Op::Walk { walker, mm, addr } => w.walk(oracle_walker(walker), mm, addr),
    };
    outcome(out)
}

/// One serial order of a race's branches on the reference
/// ([`Engine::serially`]).
struct SerialRun<'a> {
    branches: &'a [Step],
    how: &'a [Serial],
    /// The processes when the race began.
    live: &'a [u32],
    isolated: &'a [Option<Result<oracle::Isolated, oracle::Status>>],
}

impl SerialRun<'_> {
    /// Runs the branches of `order` in turn. An operation that the later
    /// ones interrupt ([`Serial::Interrupted`]) runs them inside itself.
    fn run(&self, w: &mut oracle::World, order: &[usize], out: &mut [Option<Outcome>]) {
        for (at, &i) in order.iter().enumerate() {
            let step = &self.branches[i];
            if let (Serial::Interrupted(after), Some(op)) = (self.how[i], interruptible(&step.op)) {
                if self.live.contains(&step.op.mm()) {
                    let rest = &order[at + 1..];
                    w.inject(oracle_plan(step.fail));
                    let o = w.interrupted(op, after, &mut |w| self.run(w, rest, out));
                    out[i] = Some(outcome(o));
                    return;
                }
            }
            out[i] = Some(self.one(w, i));
        }
    }

    fn one(&self, w: &mut oracle::World, i: usize) -> Outcome {
        let step = &self.branches[i];
        if !self.live.contains(&step.op.mm()) {
            return Outcome {
                status: Status::Einval,
                allocs: Vec::new(),
                hits: Vec::new(),
                maple_failed: false,
            };
        }
        match (step.op, self.isolated[i]) {
            (Op::Walk { walker, .. }, Some(Ok(page))) => {
                w.inject(oracle_plan(step.fail));
                outcome(w.walk_isolated(page, oracle_walker(walker)))
            }
            (_, Some(Err(status))) => Outcome {
                status: status_of(status),
                allocs: Vec::new(),
                hits: Vec::new(),
                maple_failed: false,
            },
            _ => {
                w.set_apart(self.how[i] == Serial::Apart);
                let out = apply_to(w, &step.op, step.fail);
                w.set_apart(false);
                out
            }
        }
    }
}

/// The reference's form of an operation others may interrupt between two
/// of its VMAs; `None` for the others.
pub(crate) fn interruptible(op: &Op) -> Option<oracle::Interruptible> {
    match *op {
        Op::Fork { mm } => Some(oracle::Interruptible::Fork { mm }),
        Op::Exit { mm } => Some(oracle::Interruptible::Exit { mm }),
        Op::Munmap { mm, start, len } => Some(oracle::Interruptible::Munmap { mm, start, len }),
        _ => None,
    }
}
