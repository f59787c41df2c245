//! The Rust oracle as an [`Engine`].

use std::collections::HashSet;

use rmap_oracle as oracle;

use super::oracle_raw::{
    alike_where_changed, live_counts, raw_snapshot, raw_snapshot_of, snapshot_unless,
};
use super::{
    Changes, Engine, Layout, Outcome, RaceJudge, RaceOrder, Saved, Serial, Site, Status, Teardown,
    MAX_SERIAL_EXECUTIONS, SMALL_WORLD,
};
use crate::check::snapshot::{canonical_hash, RawSnapshot};
use crate::engine::variant::Generation;
use crate::language::op::{Access, Advice, FailPlan, Op, Step, Walker};

/// The reference implementation of the mainline semantics.
#[derive(Clone, Default)]
pub struct OracleEngine {
    world: oracle::World,
    /// Report each VMA's anonymous page offset (Linux 7.3's generation).
    anon_pgoff: bool,
    /// Its last dump was found reported exactly as the snapshot it was
    /// compared with ([`Engine::snapshot_unless`]).
    alike: bool,
    /// Comparisons made only where either side changed, and whole ones.
    compared: (u64, u64),
    /// Follow changes in worlds of any size (to check every partial
    /// comparison), not only where that costs less than whole ones.
    follow_always: bool,
    /// Dumps taken of this world.
    dumps: u64,
}

impl OracleEngine {
    pub fn new() -> OracleEngine {
        OracleEngine {
            follow_always: super::verifying(),
            ..OracleEngine::default()
        }
    }

    /// Follows what changed in worlds of any size, as with
    /// `RMAPFUZZ_VERIFY_WATCH=1`, so that a test checks the partial
    /// comparisons on small worlds too.
    pub fn follow_always(&mut self) {
        self.follow_always = true;
    }

    /// How many comparisons with the C side's report were made only where
    /// either side changed, and how many whole.
    pub fn comparison_counts(&self) -> (u64, u64) {
        self.compared
    }

    /// Whether the dump about to be taken is followed by what changes
    /// since: from a world's second dump on (a fuzzer's run takes one, at
    /// its end), where it is large enough for partial comparisons to pay.
    fn follows_next(&mut self) -> bool {
        self.dumps += 1;
        let live = self.world.live_counts();
        let objects = live.mm + live.vma + live.anon_vma + live.avc + live.page;
        self.follow_always || (self.dumps > 1 && objects >= SMALL_WORLD)
    }

    /// The oracle as a reference for a core of `generation`: one that
    /// keys by the anonymous page offset sees it in the snapshots.
    pub fn for_generation(generation: Generation) -> OracleEngine {
        OracleEngine {
            anon_pgoff: generation == Generation::AnonPgoff,
            ..OracleEngine::new()
        }
    }
}

/// With `RMAPFUZZ_VERIFY_WATCH=1`, a state found alike where either side
/// changed is compared whole as well, and a difference stops the process:
/// a change the reference did not note is a bug of rmapfuzz.
fn verify_alike(world: &mut oracle::World, anon_pgoff: bool, like: &RawSnapshot) {
    if !super::verifying() {
        return;
    }
    // (Found alike where changed, it was followed: it still is.)
    if let Some(whole) = snapshot_unless(world, anon_pgoff, like, true) {
        let diff = crate::check::snapshot::first_difference(
            &crate::check::snapshot::canonicalize(like),
            &crate::check::snapshot::canonicalize(&whole),
        )
        .map(|d| d.to_string())
        .unwrap_or_default();
        panic!("rmapfuzz bug: the reference found alike where either side changed, but not whole: {diff}");
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

    fn explain_race(
        &self,
        branches: &[Step],
        how: &[Serial],
        order: &RaceOrder,
        judge: &mut RaceJudge<'_>,
    ) -> Option<Option<Box<dyn Engine>>> {
        let mut world = self.world.clone();
        // A race finds each branch's process when it begins (one a branch
        // forks meanwhile is not there for the others): EINVAL then.
        let live: Vec<u32> = world.layout().iter().map(|m| m.0).collect();
        // Walkers isolate their pages when the race begins, in branch order.
        let isolated: Vec<Option<Result<oracle::Isolated, oracle::Status>>> = branches
            .iter()
            .map(|s| match s.op {
                Op::Walk { mm, addr, .. } => Some(world.isolate(mm, addr)),
                _ => None,
            })
            .collect();
        world.race_begins();
        let mut search = Interleavings {
            branches,
            how,
            order,
            live: &live,
            isolated: &isolated,
            anon_pgoff: self.anon_pgoff,
            judge,
            schedule: Vec::new(),
            tried: 0,
            explored: HashSet::new(),
        };
        let progress = vec![Progress::Pending; branches.len()];
        let found = search.from(world, progress);
        Some(found.map(|world| {
            Box::new(OracleEngine {
                world,
                anon_pgoff: self.anon_pgoff,
                ..OracleEngine::default()
            }) as Box<dyn Engine>
        }))
    }

    fn apply(&mut self, op: &Op, fail: Option<FailPlan>) -> Outcome {
        apply_to(&mut self.world, op, fail)
    }

    fn snapshot(&mut self) -> RawSnapshot {
        self.alike = false;
        let follow = self.follows_next();
        raw_snapshot(&mut self.world, self.anon_pgoff, follow)
    }

    fn snapshot_unless(&mut self, like: &RawSnapshot) -> Option<RawSnapshot> {
        self.compared.1 += 1;
        let follow = self.follows_next();
        let differs = snapshot_unless(&mut self.world, self.anon_pgoff, like, follow);
        self.alike = differs.is_none();
        differs
    }

    fn snapshot_unless_changed(
        &mut self,
        like: &RawSnapshot,
        changed: &Changes,
    ) -> Option<RawSnapshot> {
        let partly = match self.alike {
            true => alike_where_changed(&mut self.world, self.anon_pgoff, like, changed),
            false => None,
        };
        if partly != Some(true) {
            return self.snapshot_unless(like);
        }
        self.compared.0 += 1;
        verify_alike(&mut self.world, self.anon_pgoff, like);
        None
    }

    fn layout(&mut self) -> Layout {
        Layout {
            mms: self.world.layout(),
        }
    }

    fn hygiene(&mut self) -> Vec<String> {
        Vec::new()
    }

    fn save(&mut self) -> Option<Saved> {
        Some(Saved::new(self.clone()))
    }

    fn restore(&mut self, saved: &Saved) -> bool {
        match saved.get::<OracleEngine>() {
            Some(o) => {
                // (Field by field: the world's arenas keep their memory.)
                self.world.clone_from(&o.world);
                self.anon_pgoff = o.anon_pgoff;
                self.alike = false;
                true
            }
            None => false,
        }
    }

    fn unchanged_since(&mut self, saved: &Saved) -> bool {
        saved
            .get::<OracleEngine>()
            .is_some_and(|o| o.anon_pgoff == self.anon_pgoff && self.world.same_objects(&o.world))
    }

    fn watch_writes(&mut self) {
        self.world.watch_writes();
    }

    fn wrote_nothing(&mut self) -> bool {
        self.world.wrote_nothing()
    }

    fn finish_in_place(&mut self) -> Option<Teardown> {
        Some(Teardown {
            leaks: live_counts(self.world.teardown()),
            problems: Vec::new(),
        })
    }

    fn finish(mut self: Box<Self>) -> Teardown {
        self.finish_in_place().expect("the reference always ends")
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

/// Where a branch is in a serial execution.
#[derive(Clone, Debug)]
enum Progress {
    Pending,
    /// An operation cut at its steps, under way.
    Running(oracle::Stepper),
    Ended(Outcome),
}

/// The depth-first search of [`Engine::explain_race`] on the reference.
struct Interleavings<'a, 'j> {
    branches: &'a [Step],
    how: &'a [Serial],
    order: &'a RaceOrder,
    /// The processes when the race began.
    live: &'a [u32],
    isolated: &'a [Option<Result<oracle::Isolated, oracle::Status>>],
    anon_pgoff: bool,
    judge: &'a mut RaceJudge<'j>,
    /// The execution so far: a branch's index per step it took.
    schedule: Vec<usize>,
    /// Executions judged so far.
    tried: usize,
    /// Points of the search already explored without an explanation: the
    /// world (canonically) and where each branch is. Steps of different
    /// branches that commute reach the same point by many paths.
    explored: HashSet<(u64, u32, Vec<u64>)>,
}

impl Interleavings<'_, '_> {
    /// Every execution from here; the world after the first the judge
    /// accepts.
    fn from(&mut self, world: oracle::World, progress: Vec<Progress>) -> Option<oracle::World> {
        if self.tried >= MAX_SERIAL_EXECUTIONS {
            return None;
        }
        let mut next: Vec<usize> = (0..progress.len())
            .filter(|&i| self.may_step(&progress, i))
            .collect();
        // The run's own order first: the next step that took effect first.
        next.sort_by_key(|&i| (self.order.step_at(i, steps_taken(&progress[i])), i));
        if next.is_empty() {
            return self.judge_end(world, progress);
        }
        // Only where two branches could go next can paths meet. The point
        // costs a canonical snapshot: it is taken only to look it up once
        // something has been explored, or to remember it once all but the
        // last choice have failed (most races are explained at once).
        let forks = next.len() > 1;
        let mut point = None;
        if forks && !self.explored.is_empty() {
            let here = self.point(&world, &progress);
            if self.explored.contains(&here) {
                return None;
            }
            point = Some(here);
        }
        let last = next.len() - 1;
        let mut world = Some(world);
        let mut progress = Some(progress);
        for (n, &i) in next.iter().enumerate() {
            if forks && n == last && point.is_none() {
                let (w, p) = (world.as_ref(), progress.as_ref());
                point = Some(self.point(w.expect("kept"), p.expect("kept")));
            }
            // The last choice takes the state itself, the others a copy.
            let (mut w, mut p) = if n == last {
                (world.take().expect("kept"), progress.take().expect("kept"))
            } else {
                (
                    world.as_ref().expect("kept").clone(),
                    progress.as_ref().expect("kept").clone(),
                )
            };
            self.advance(&mut w, &mut p, i);
            self.schedule.push(i);
            let found = self.from(w, p);
            self.schedule.pop();
            if found.is_some() {
                return found;
            }
        }
        if let Some(p) = point {
            self.explored.insert(p);
        }
        None
    }

    /// Where the search is: the world's canonical state, the next fork's
    /// id, and each branch's progress (steps taken and, for a fork, its
    /// child's id, which no dump shows before the child is born; or its
    /// outcome).
    fn point(&self, world: &oracle::World, progress: &[Progress]) -> (u64, u32, Vec<u64>) {
        use std::hash::{Hash, Hasher};
        let state = canonical_hash(&raw_snapshot_of(world, self.anon_pgoff));
        let branches = progress
            .iter()
            .map(|p| match p {
                Progress::Pending => u64::MAX,
                Progress::Running(s) => {
                    ((s.steps() as u64) << 32) | u64::from(s.child_id().unwrap_or(u32::MAX))
                }
                Progress::Ended(o) => {
                    let mut h = rustc_hash::FxHasher::default();
                    o.to_string().hash(&mut h);
                    h.finish()
                }
            })
            .collect();
        (state, world.next_mm_id(), branches)
    }

    fn judge_end(
        &mut self,
        world: oracle::World,
        progress: Vec<Progress>,
    ) -> Option<oracle::World> {
        // A branch that has not ended cannot step: a conflict no order
        // resolves (not expected), no execution.
        let outcomes: Option<Vec<Outcome>> = progress
            .into_iter()
            .map(|p| match p {
                Progress::Ended(o) => Some(o),
                _ => None,
            })
            .collect();
        let outcomes = outcomes?;
        self.tried += 1;
        let mut engine = OracleEngine {
            world,
            anon_pgoff: self.anon_pgoff,
            ..OracleEngine::default()
        };
        (self.judge)(&self.schedule, &outcomes, &mut engine).then_some(engine.world)
    }

    /// Whether branch `i` may take its next step now.
    fn may_step(&self, progress: &[Progress], i: usize) -> bool {
        match progress[i] {
            Progress::Ended(_) => false,
            Progress::Running(_) => true,
            Progress::Pending => {
                self.order.before[i]
                    .iter()
                    .all(|&j| matches!(progress[j], Progress::Ended(_)))
                    && !(0..progress.len()).any(|j| {
                        j != i
                            && matches!(progress[j], Progress::Running(_))
                            && self.same_process(i, j)
                    })
            }
        }
    }

    /// Two operations of one process: neither runs inside the other (a
    /// walker takes no mmap_lock).
    fn same_process(&self, i: usize, j: usize) -> bool {
        let (a, b) = (&self.branches[i].op, &self.branches[j].op);
        !matches!(a, Op::Walk { .. }) && !matches!(b, Op::Walk { .. }) && a.mm() == b.mm()
    }

    fn advance(&self, w: &mut oracle::World, progress: &mut [Progress], i: usize) {
        let step = &self.branches[i];
        progress[i] = match std::mem::replace(&mut progress[i], Progress::Pending) {
            Progress::Pending => match interruptible(&step.op) {
                Some(op) if self.live.contains(&step.op.mm()) => {
                    w.inject(oracle_plan(step.fail));
                    let s = w.begin(op);
                    Self::step_of(w, s)
                }
                _ => Progress::Ended(self.one(w, i)),
            },
            Progress::Running(s) => Self::step_of(w, s),
            ended => ended,
        };
    }

    /// The next step of `s`, and where that leaves it.
    fn step_of(w: &mut oracle::World, mut s: oracle::Stepper) -> Progress {
        w.step(&mut s);
        if s.ended() {
            Progress::Ended(outcome(w.end(s)))
        } else {
            Progress::Running(s)
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

/// The steps a branch has taken: its next step's index.
fn steps_taken(p: &Progress) -> usize {
    match p {
        Progress::Pending => 0,
        Progress::Running(s) => s.steps(),
        Progress::Ended(_) => usize::MAX,
    }
}

/// The reference's form of an operation others may interrupt between two
/// of its VMAs; `None` for the others.
fn interruptible(op: &Op) -> Option<oracle::Interruptible> {
    match *op {
        Op::Fork { mm } => Some(oracle::Interruptible::Fork { mm }),
        Op::Exit { mm } => Some(oracle::Interruptible::Exit { mm }),
        Op::Munmap { mm, start, len } => Some(oracle::Interruptible::Munmap { mm, start, len }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::parse::parse_scenario;

    /// The first serial execution tried when the branches' steps took
    /// effect as `steps_at` says (every execution is refused, so the search
    /// goes on).
    fn first_tried(steps_at: Vec<Vec<u32>>) -> Vec<usize> {
        let s = parse_scenario(
            "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nmmap 0 0x20000 0x1000\n\
             fault 0 0x20000 w\nfork 0\npar { fork 0 } { fork 1 }\n",
            "test",
        )
        .unwrap();
        let mut o = OracleEngine::new();
        for step in &s.steps {
            o.apply(&step.op, None);
        }
        let race = s.race.expect("a race");
        let order = RaceOrder {
            before: vec![Vec::new(), Vec::new()],
            steps_at,
        };
        let mut first = None;
        let mut judge = |schedule: &[usize], _: &[Outcome], _: &mut dyn Engine| {
            first.get_or_insert_with(|| schedule.to_vec());
            false
        };
        let found = o.explain_race(&race.branches, &[Serial::Whole; 2], &order, &mut judge);
        assert!(matches!(found, Some(None)), "every execution was refused");
        first.expect("an execution was tried")
    }

    #[test]
    fn the_runs_own_order_is_tried_first() {
        // Each fork: its start (the child's id), the child's mm, then one
        // step per VMA copied.
        assert_eq!(
            first_tried(vec![vec![5, 6, 7, 8], vec![1, 2, 3, 4]]),
            vec![1, 1, 1, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            first_tried(vec![vec![1, 10, 20, 30], vec![5, 15, 25, 35]]),
            vec![0, 1, 0, 1, 0, 1, 0, 1]
        );
        // Steps the run did not mark come after those it did.
        assert_eq!(
            first_tried(vec![vec![9], vec![]]),
            vec![0, 0, 0, 0, 1, 1, 1, 1]
        );
    }
}
