//! The C harness as an [`Engine`].

use rmap_ffi as ffi;

use super::kept::Kept;
use super::{
    verifying, Changes, Engine, Outcome, RaceRun, Saved, Site, Status, Teardown, TracePoint,
    SMALL_WORLD,
};
use crate::check::snapshot::{
    sort_tree, LiveCounts, RawAnonVma, RawAvc, RawMm, RawPage, RawRef, RawSnapshot, RawTreeNode,
    RawVma,
};
use crate::language::op::{Access, Advice, FailPlan, Op, Walker};
use crate::language::race::{LateStore, Preemption, Race, Schedule, MAX_LATE};

// A schedule the language accepts is one the harness can run.
const _: () = assert!(MAX_LATE == ffi::MAX_LATE);

/// True when this build hooks the stores of the C code under test (it was
/// compiled with clang), so a race may hold a store back (`late:`).
pub fn memory_model() -> bool {
    ffi::memory_model()
}

/// One C world running one anon_vma core variant.
pub struct CEngine {
    world: ffi::World,
    /// A race was stopped halfway: the world can only be dropped.
    abandoned: bool,
    /// The last snapshot's records, for the next to patch.
    kept: Option<Kept>,
    /// What the last snapshot changed, where it was patched.
    changes: Option<Changes>,
    /// Patch however much changed (to check every patch), not only where
    /// that costs less than a whole snapshot.
    patch_always: bool,
    /// Snapshots patched from what changed, and taken whole.
    patched: u64,
    whole: u64,
}

impl CEngine {
    /// `None` if the harness has no such variant.
    pub fn new(variant: &str) -> Option<CEngine> {
        ffi::World::new(variant).map(|world| CEngine {
            world,
            abandoned: false,
            kept: None,
            changes: None,
            patch_always: verifying(),
            patched: 0,
            whole: 0,
        })
    }

    /// How often the lock checker checked each rule (`rmap_ffi::LOCK_RULES`).
    pub fn lock_stats(&mut self) -> [u64; ffi::NR_LOCK_STATS] {
        self.world.lock_stats()
    }

    /// Whether the lock checker still looks only at touched objects.
    pub fn follows_touched(&mut self) -> bool {
        self.world.follows_touched()
    }

    /// Patches every snapshot it can from what changed, however much did
    /// (as with `RMAPFUZZ_VERIFY_WATCH=1`), so that a test checks the
    /// patching on small worlds too.
    pub fn patch_always(&mut self) {
        self.patch_always = true;
    }

    /// How many snapshots were patched from what changed, and how many
    /// were taken whole.
    pub fn snapshot_counts(&self) -> (u64, u64) {
        (self.patched, self.whole)
    }

    /// The last snapshot patched with what changed since, where the world
    /// followed every store and the result holds only live references.
    fn patched(&mut self) -> Option<RawSnapshot> {
        // (Without the last report back there is nothing to patch, and
        // what changed is left for a whole snapshot to take.)
        let kept = self.kept.as_mut().filter(|k| k.can_patch())?;
        let most = match self.patch_always {
            true => u64::MAX,
            false => kept.objects() / PATCH_SHARE,
        };
        let part = self.world.snapshot_changed(most)?;
        let raw = convert(&part);
        let gone = part.gone.iter().map(|g| (g.site as usize, g.made));
        match kept.patch(&raw, part.ids, gone) {
            Some((raw, changes)) => {
                self.changes = Some(changes);
                Some(raw)
            }
            None => {
                self.kept = None;
                None
            }
        }
    }
}

/// A snapshot is patched from what changed while that is at most this
/// share of the world's objects (one in so many): past it, a whole one
/// costs less than the partial one and the patching together (BENCHMARKS
/// section 28).
const PATCH_SHARE: u64 = 4;

/// With `RMAPFUZZ_VERIFY_WATCH=1`, a snapshot patched together from what
/// changed is compared with a whole one, and a difference stops the
/// process: a change the C side did not report is a bug of rmapfuzz.
fn verify_patched(world: &mut ffi::World, patched: &RawSnapshot) {
    if !verifying() {
        return;
    }
    let whole = convert(&world.snapshot());
    if whole != *patched {
        panic!("rmapfuzz bug: a snapshot patched from what changed differs from a whole one:\npatched {patched:?}\nwhole   {whole:?}");
    }
}

fn raw_op(op: &Op) -> ffi::Op {
    use ffi::OpKind as K;
    let (kind, mm, a, b, c) = match *op {
        Op::Mmap { mm, start, len } => (K::Mmap, mm, start, len, 0),
        Op::Fault { mm, addr, access } => {
            let c = if access == Access::Write {
                ffi::ACCESS_WRITE
            } else {
                ffi::ACCESS_READ
            };
            (K::Fault, mm, addr, 0, c)
        }
        Op::Fork { mm } => (K::Fork, mm, 0, 0, 0),
        Op::Split { mm, addr } => (K::Split, mm, addr, 0, 0),
        Op::Merge { mm, addr } => (K::Merge, mm, addr, 0, 0),
        Op::Mremap { mm, addr, new_addr } => (K::Mremap, mm, addr, new_addr, 0),
        Op::Munmap { mm, start, len } => (K::Munmap, mm, start, len, 0),
        Op::Madvise {
            mm,
            start,
            len,
            advice,
        } => {
            let c = match advice {
                Advice::DontFork => ffi::ADVICE_DONTFORK,
                Advice::DoFork => ffi::ADVICE_DOFORK,
                Advice::WipeOnFork => ffi::ADVICE_WIPEONFORK,
                Advice::KeepOnFork => ffi::ADVICE_KEEPONFORK,
            };
            (K::Madvise, mm, start, len, c)
        }
        Op::Exit { mm } => (K::Exit, mm, 0, 0, 0),
        Op::Rmap { mm, addr } => (K::Rmap, mm, addr, 0, 0),
        Op::Walk { walker, mm, addr } => {
            let kind = match walker {
                Walker::Reclaim => K::Reclaim,
                Walker::Migrate => K::Migrate,
                Walker::Referenced => K::Referenced,
            };
            (kind, mm, addr, 0, 0)
        }
    };
    ffi::Op { kind, mm, a, b, c }
}

fn outcome(out: ffi::Outcome) -> Outcome {
    let status = match out.status {
        ffi::Status::Ok => Status::Ok,
        ffi::Status::NoOp => Status::NoOp,
        ffi::Status::Enomem => Status::Enomem,
        ffi::Status::Einval => Status::Einval,
    };
    Outcome {
        status,
        allocs: out.allocs.iter().map(|&s| site(s)).collect(),
        hits: out.hits,
        maple_failed: out.maple_failed,
    }
}

fn site(raw: u8) -> Site {
    match raw {
        0 => Site::Mm,
        1 => Site::Vma,
        2 => Site::AnonVma,
        3 => Site::Avc,
        _ => Site::Page,
    }
}

fn reference(raw: i32) -> RawRef {
    match raw {
        r if r >= 0 => RawRef::Index(r as usize),
        ffi::REF_NULL => RawRef::Null,
        ffi::REF_DANGLING => RawRef::Dangling,
        _ => RawRef::Foreign,
    }
}

fn slice<T>(items: &[T], first: u32, len: u32) -> &[T] {
    let first = first as usize;
    items.get(first..first + len as usize).unwrap_or(&[])
}

fn convert(s: &ffi::Snapshot<'_>) -> RawSnapshot {
    let hits = |first, len| {
        slice(s.hits, first, len)
            .iter()
            .map(|h| (h.mm, h.addr))
            .collect()
    };
    RawSnapshot {
        mms: s
            .mms
            .iter()
            .map(|m| RawMm {
                id: m.id,
                vmas: slice(s.vma_order, m.first_vma, m.nr_vmas)
                    .iter()
                    .map(|&v| v as usize)
                    .collect(),
                bad_entries: m.nr_bad_entries,
            })
            .collect(),
        vmas: s
            .vmas
            .iter()
            .map(|v| RawVma {
                mm: if v.mm >= 0 {
                    Ok(v.mm as u32)
                } else {
                    Err(reference(v.mm as i32))
                },
                start: v.start,
                end: v.end,
                pgoff: v.pgoff,
                anon_pgoff: (v.has_anon_pgoff != 0).then_some(v.anon_pgoff),
                flags: v.flags,
                attached: v.attached != 0,
                anon_vma: reference(v.anon_vma),
                chain: slice(s.chain, v.first_chain, v.nr_chain)
                    .iter()
                    .map(|&c| reference(c))
                    .collect(),
                chain_broken: v.chain_broken != 0,
            })
            .collect(),
        avcs: s
            .avcs
            .iter()
            .map(|a| RawAvc {
                vma: reference(a.vma),
                anon_vma: reference(a.anon_vma),
            })
            .collect(),
        anon_vmas: s
            .anon_vmas
            .iter()
            .map(|a| {
                let mut a = RawAnonVma {
                    root: reference(a.root),
                    parent: reference(a.parent),
                    refcount: a.refcount,
                    num_children: a.num_children,
                    num_active_vmas: a.num_active_vmas,
                    degree: (a.has_degree != 0).then_some(a.degree),
                    tree: slice(s.tree, a.first_tree, a.nr_tree)
                        .iter()
                        .map(|n| RawTreeNode {
                            avc: reference(n.avc),
                            start: n.start,
                            last: n.last,
                        })
                        .collect(),
                };
                sort_tree(&mut a.tree);
                a
            })
            .collect(),
        pages: s
            .pages
            .iter()
            .map(|p| RawPage {
                anon_vma: reference(p.anon_vma),
                index: p.index,
                mapcount: p.mapcount,
                mappers: hits(p.first_mapper, p.nr_mappers),
                walk: hits(p.first_walk, p.nr_walk),
            })
            .collect(),
        live: live_counts(&s.live),
    }
}

fn live_counts(live: &[u64; ffi::NR_SITES]) -> LiveCounts {
    LiveCounts {
        mm: live[0],
        vma: live[1],
        anon_vma: live[2],
        avc: live[3],
        page: live[4],
    }
}

impl Engine for CEngine {
    fn fail_maple(&mut self, nth: u32) -> bool {
        self.world.fail_maple(nth)
    }

    fn apply(&mut self, op: &Op, fail: Option<FailPlan>) -> Outcome {
        outcome(
            self.world
                .apply(&raw_op(op), fail.map(|f| (f.nth, f.and_later))),
        )
    }

    fn race(&mut self, race: &Race) -> Option<RaceRun> {
        let (branches, schedule) = (&race.branches, &race.schedule);
        let ops: Vec<ffi::RaceOp> = branches
            .iter()
            .map(|s| ffi::RaceOp {
                op: raw_op(&s.op),
                fail: s.fail.map(|f| (f.nth, f.and_later)),
            })
            .collect();
        let plan: Vec<ffi::Preemption> = schedule
            .preemptions
            .iter()
            .map(|p| ffi::Preemption {
                point: p.point,
                thread: p.thread,
            })
            .collect();
        let pct = race.pct.map(|p| ffi::Pct {
            priority: p.priority,
            changes: p.changes,
            nr_changes: p.nr_changes as u32,
        });
        let late: Vec<ffi::LateStore> = schedule
            .late
            .iter()
            .map(|l| ffi::LateStore {
                thread: l.thread,
                store: l.store,
            })
            .collect();
        let run = self
            .world
            .race(&ops, &plan, pct.as_ref(), &late, race.hold_fresh)?;
        let late_store = |l: &ffi::LateStore| LateStore {
            thread: l.thread,
            store: l.store,
        };
        self.abandoned |= run.abandoned;
        Some(RaceRun {
            outcomes: run.outcomes.into_iter().map(outcome).collect(),
            points: run.nr_points,
            trace: run
                .trace
                .iter()
                .map(|p| TracePoint {
                    thread: p.thread,
                    kind: ffi::POINT_KINDS
                        .get(p.kind as usize)
                        .copied()
                        .unwrap_or("?"),
                    runnable: p.runnable,
                    what: p.what,
                    func: p.func,
                    obj: p.obj,
                })
                .collect(),
            steps: run.steps,
            taken: Schedule {
                preemptions: run
                    .taken
                    .iter()
                    .map(|p| Preemption {
                        point: p.point,
                        thread: p.thread,
                    })
                    .collect(),
                late: {
                    let mut late: Vec<LateStore> = run.late.iter().map(late_store).collect();
                    late.sort();
                    late
                },
            },
            late_candidates: run
                .late_candidates
                .iter()
                .map(|c| late_store(&c.store))
                .collect(),
            abandoned: run.abandoned,
        })
    }

    fn snapshot(&mut self) -> RawSnapshot {
        self.changes = None;
        if let Some(raw) = self.patched() {
            self.patched += 1;
            verify_patched(&mut self.world, &raw);
            return raw;
        }
        self.whole += 1;
        // Followed from a world's second snapshot on (a fuzzer's run takes
        // one, at its end), where the world is large enough for partial
        // ones to pay.
        let follow = self.whole > 1
            && (self.patch_always || self.world.live().iter().sum::<u64>() >= SMALL_WORLD);
        if self.whole > 1 {
            self.world.follow_snapshots(follow);
        }
        let whole = self.world.snapshot();
        let raw = convert(&whole);
        self.kept = match follow {
            true => Kept::from_whole(&raw, whole.ids),
            false => None,
        };
        raw
    }

    fn changes(&mut self) -> Option<Changes> {
        self.changes.take()
    }

    fn recycle(&mut self, raw: RawSnapshot) {
        if let Some(kept) = &mut self.kept {
            kept.recycle(raw);
        }
    }

    fn recycle_copy(&mut self, raw: &RawSnapshot) {
        if let Some(kept) = &mut self.kept {
            kept.recycle_copy(raw);
        }
    }

    fn hygiene(&mut self) -> Vec<String> {
        self.world.hygiene()
    }

    fn save(&mut self) -> Option<Saved> {
        if self.abandoned {
            return None;
        }
        self.world.save().map(Saved::new)
    }

    fn restore(&mut self, saved: &Saved) -> bool {
        saved
            .get::<ffi::Checkpoint>()
            .is_some_and(|cp| self.world.restore(cp))
    }

    fn unchanged_since(&mut self, saved: &Saved) -> bool {
        saved
            .get::<ffi::Checkpoint>()
            .is_some_and(|cp| self.world.unchanged(cp))
    }

    fn watch_writes(&mut self) {
        self.world.watch();
    }

    fn wrote_nothing(&mut self) -> bool {
        !self.abandoned && !self.world.written()
    }

    fn finish_in_place(&mut self) -> Option<Teardown> {
        if self.abandoned {
            return None;
        }
        self.world.exit_all();
        let problems = self.world.hygiene();
        Some(Teardown {
            leaks: live_counts(&self.world.live()),
            problems,
        })
    }

    fn finish(mut self: Box<Self>) -> Teardown {
        if self.abandoned {
            // Threads stopped halfway hold locks: nothing may run again.
            return Teardown::default();
        }
        // Exit before asking for hygiene, so the exits' warnings are seen too.
        self.world.exit_all();
        let problems = self.world.hygiene();
        let CEngine { world, .. } = *self;
        Teardown {
            leaks: live_counts(&world.free()),
            problems,
        }
    }
}
