//! The differential runner: applies each step of a scenario to a C variant
//! and to its reference (the oracle; for a kernel tree from before the
//! series, our C `pre-series` core; a base tree; or nothing), and stops at
//! the first check that fails. Below, "oracle" means whichever reference
//! the variant has.
//!
//! After every operation, in this order: the C world obeys every invariant
//! (the contracts of docs/CONTRACTS.md) and its instrumentation saw nothing
//! (warnings, lock rules, trees, writes after free); a failed operation
//! rolled back; then the comparisons: the two outcomes agree; the oracle
//! obeys every invariant; the two states agree (strictly or in shape, per
//! the variant's [`Mode`]). What the kernel's own code relies on is judged
//! first, agreement with a model after. At the end both worlds are torn
//! down and must leave nothing allocated.
//!
//! With [`RunOptions::known`], a warning of the C side that the tree's
//! known-warnings file acknowledges (`crate::check::known`) is taken out of
//! the hygiene report, counted, and the run goes on to every later check;
//! any other problem still fails it, and a failure lists the warnings its
//! run acknowledged before it.
//!
//! The fuzzers ask for [`Checks::Final`] instead: outcomes after every
//! operation, everything else after the last one, and a second run with
//! every check when that finds something, so that their reports are the
//! ones `replay` gives.

use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use crate::check::invariants;
use crate::check::known::{Acknowledged, Known};
use crate::check::report::{Failure, Side};
use crate::check::saved_run::Baseline;
use crate::check::snapshot::{
    canonicalize, first_difference, shape_difference, LiveCounts, Snapshot, State,
};
use crate::check::watchdog::RunWatch;
use crate::engine::c::CEngine;
use crate::engine::oracle::OracleEngine;
use crate::engine::variant::{Mode, Reference, Variant};
use crate::engine::{Changes, Engine, Outcome, RaceRun, Saved, Status, Teardown};
use crate::language::op::Step;
use crate::language::scenario::{Scenario, VariantSel};

/// A check's verdict: the failure is boxed, it is large and rare.
pub(crate) type Checked = Result<(), Box<Failure>>;

/// Which steps get the full set of checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checks {
    /// Every step: a failure names the first operation that broke
    /// something.
    #[default]
    EveryStep,
    /// Outcomes (status, allocations, rmap hits) after every step; states,
    /// invariants, rollback and the instrumentation's findings only after
    /// the last. A damage that a later operation undoes goes unseen, in
    /// exchange for most of the cost of a run (BENCHMARKS.md, section 5).
    /// On a failure the scenario runs again with [`Checks::EveryStep`] and
    /// that run's failure is the one reported. Strict variants only: a
    /// relaxed one is checked after every step regardless.
    Final,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// How much checking each step gets.
    pub checks: Checks,
    /// Steps before this index are applied but not checked (their checks
    /// already passed in an earlier run of the same prefix).
    pub check_from: usize,
    /// Keep the C side's final canonical state in
    /// [`RunResult::final_state`] (explorers deduplicate on it, fuzzers
    /// read features of it).
    pub keep_state: bool,
    /// Warnings of the code under test acknowledged as known: dropped from
    /// the hygiene report (and counted) instead of failing the run.
    pub known: Known,
    /// A race's schedule is a suggestion (a fuzz input's bytes), not a
    /// claim about the code (a scenario someone wrote): preemptions that
    /// do not happen are no failure, and a failure carries the schedule
    /// the run took.
    pub loose_schedules: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RunResult {
    pub failure: Option<Failure>,
    /// Allocation attempts the C side made at each step (inline for the
    /// lengths a search tries: a saved run copies them for every try).
    pub allocs: smallvec::SmallVec<[usize; 16]>,
    /// The step after which the reference could no longer follow: in
    /// relaxed mode a partial failure on the C side, in any mode a maple
    /// failure (`maple=N`).
    pub desynced_at: Option<usize>,
    /// The steps whose `maple=N` failed a maple-tree preallocation.
    pub maple_fired: Vec<usize>,
    /// What the scenario's race did on the C side (its trace, the
    /// preemptions that happened), when it ran.
    pub race: Option<RaceRun>,
    /// With [`RunOptions::keep_state`]: the C side's canonical state after
    /// the last step.
    pub final_state: Option<Snapshot>,
    /// The warnings [`RunOptions::known`] acknowledged, in order.
    pub acknowledged: Vec<Acknowledged>,
}

/// Keeps the oracle's panics (a bug in the oracle, or a stale reference it
/// caught) from tearing down the runner.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

pub(crate) struct Run<'a> {
    pub(crate) variant: Variant,
    pub(crate) scenario: &'a Scenario,
    known: Known,
    /// Each operation's start, for the watchdog (if one is installed).
    pub(crate) watch: RunWatch,
}

impl<'a> Run<'a> {
    pub(crate) fn new(scenario: &'a Scenario, variant: Variant, known: Known) -> Run<'a> {
        Run {
            variant,
            scenario,
            known,
            watch: RunWatch::begin(scenario, variant.label),
        }
    }

    pub(crate) fn failure(
        &self,
        step: Option<usize>,
        check: impl Into<String>,
        side: Side,
        detail: impl Into<String>,
    ) -> Box<Failure> {
        Box::new(Failure {
            variant: self.variant.label.to_owned(),
            reference: self.variant.reference.to_string(),
            step,
            op: step.and_then(|i| self.scenario.steps.get(i).copied()),
            check: check.into(),
            side,
            detail: detail.into(),
            c_value: None,
            oracle_value: None,
            scenario: None,
            basis: self.variant.verdict_basis(),
            acknowledged: Vec::new(),
            race: None,
        })
    }

    /// The problems of the checks after `step` (`None`: the teardown) no
    /// known warning acknowledges; the others go to `acked`.
    pub(crate) fn unacknowledged(
        &self,
        step: Option<usize>,
        problems: Vec<String>,
        acked: &mut Vec<Acknowledged>,
    ) -> Vec<String> {
        match self.known {
            None => problems,
            Some(k) => {
                let (kept, acknowledged) = k.filter(problems, step);
                acked.extend(acknowledged);
                kept
            }
        }
    }

    pub(crate) fn compared(
        mut f: Box<Failure>,
        c: impl ToString,
        o: impl ToString,
    ) -> Box<Failure> {
        f.c_value = Some(c.to_string());
        f.oracle_value = Some(o.to_string());
        f
    }

    /// The contracts on `state`: judged on its report as the engine made
    /// it where it has one (nothing named by a walk, nothing built), and
    /// named canonically only to word a broken rule.
    pub(crate) fn contracts(&self, i: usize, side: Side, state: &State) -> Checked {
        self.contracts_where(i, side, state, None).map(drop)
    }

    /// [`Run::contracts`], read only where the state changed when the
    /// engine said what `changed` since a state that held them with its
    /// objects named apart (`invariants::holds_where_changed`). Returns
    /// whether this state names its objects apart too.
    pub(crate) fn contracts_where(
        &self,
        i: usize,
        side: Side,
        state: &State,
        changed: Option<&Changes>,
    ) -> Result<bool, Box<Failure>> {
        // (A state given named has no report to read.)
        let Some(raw) = state.raw() else {
            self.invariants(i, side, state.canonical())?;
            return Ok(false);
        };
        let (holds, apart) = match changed.and_then(|ch| invariants::holds_where_changed(raw, ch)) {
            Some(true) => {
                if crate::engine::verifying() && !invariants::holds(raw) {
                    panic!("rmapfuzz bug: step {i} held its contracts where it changed, but not as a whole");
                }
                (true, true)
            }
            Some(false) => (false, true),
            None => invariants::holds_named(raw),
        };
        if holds {
            return Ok(apart);
        }
        self.invariants(i, side, state.canonical())?;
        panic!("rmapfuzz bug: step {i} broke a contract as reported (or where it changed) but not once named canonically")
    }

    pub(crate) fn invariants(&self, i: usize, side: Side, snap: &Snapshot) -> Checked {
        match invariants::check(snap).into_iter().next() {
            None => Ok(()),
            Some(v) => {
                let meaning = invariants::describe(v.rule).unwrap_or("");
                Err(self.failure(
                    Some(i),
                    format!("invariant.{}", v.rule),
                    side,
                    format!("{}\n(rule: {meaning})", v.detail),
                ))
            }
        }
    }

    /// A failed operation must leave the world as it found it, except for
    /// what the kernel itself keeps (docs/MODEL.md section 7).
    fn rollback(
        &self,
        i: usize,
        side: Side,
        step: &Step,
        before: &Snapshot,
        after: &Snapshot,
    ) -> Checked {
        let (ok, what) = if step.op.kind().may_fail_partially() {
            (
                before.rollback_view() == after.rollback_view(),
                "the mapped ranges and pages",
            )
        } else {
            (before == after, "the state")
        };
        if ok {
            return Ok(());
        }
        let diff = first_difference(before, after)
            .map(|d| d.to_string())
            .unwrap_or_default();
        Err(self.failure(
            Some(i),
            "rollback",
            side,
            format!("the operation failed with ENOMEM but changed {what}\nbefore vs after: {diff}"),
        ))
    }

    pub(crate) fn compare_outcomes(
        &self,
        i: usize,
        mode: Mode,
        c: &Outcome,
        o: &Outcome,
    ) -> Checked {
        if c.status != o.status || c.hits != o.hits {
            let f = self.failure(
                Some(i),
                "outcome",
                Side::Both,
                "the two sides returned different results",
            );
            return Err(Self::compared(f, c, o));
        }
        if mode == Mode::Strict && c.allocs != o.allocs {
            let f = self.failure(
                Some(i),
                "allocs",
                Side::Both,
                "the two sides allocated differently",
            );
            return Err(Self::compared(f, c, o));
        }
        Ok(())
    }

    /// The two sides' states compared as `mode` asks: whole and named
    /// (strict), or their VMAs and pages, read from the reports (relaxed).
    pub(crate) fn compare_states(&self, i: usize, mode: Mode, c: &State, o: &State) -> Checked {
        match mode {
            Mode::Strict => self.compare_named(i, c.canonical(), o.canonical()),
            Mode::Relaxed => match shape_difference(&c.shape(), &o.shape()) {
                None => Ok(()),
                Some((cv, ov)) => {
                    let f = self.failure(Some(i), "shape", Side::Both, "the VMAs or pages differ");
                    Err(Self::compared(f, cv, ov))
                }
            },
        }
    }

    /// Two canonical states, equal but for what a core of another
    /// generation keeps otherwise.
    fn compare_named(&self, i: usize, c: &Snapshot, o: &Snapshot) -> Checked {
        // A degree-era core keeps one counter where the reference keeps
        // two: compare the sums.
        let (c_deg, o_deg) = (c.has_degree(), o.has_degree());
        let mapped;
        let (c, o) = match (c_deg, o_deg) {
            (true, false) => {
                mapped = o.counters_as_degree();
                (c, &mapped)
            }
            (false, true) => {
                mapped = c.counters_as_degree();
                (&mapped, o)
            }
            _ => (c, o),
        };
        // A core before 7.3 has no anonymous page offset: compare without.
        let unkeyed;
        let (c, o) = match (c.has_anon_pgoff(), o.has_anon_pgoff()) {
            (true, false) => {
                unkeyed = c.without_anon_pgoff();
                (&unkeyed, o)
            }
            (false, true) => {
                unkeyed = o.without_anon_pgoff();
                (c, &unkeyed)
            }
            _ => (c, o),
        };
        match first_difference(c, o) {
            None => Ok(()),
            Some(d) => {
                let f = self.failure(
                    Some(i),
                    "state",
                    Side::Both,
                    format!("first difference: {}", d.object),
                );
                let field = d.field.map(|f| format!("{f}=")).unwrap_or_default();
                let show =
                    |v: Option<String>| v.map_or("(absent)".to_owned(), |v| format!("{field}{v}"));
                Err(Self::compared(f, show(d.left), show(d.right)))
            }
        }
    }

    /// The instrumentation's findings as a failure named after the first
    /// one's kind: `hygiene.lock`, `hygiene.warning`, `hygiene.tree`,
    /// `hygiene.write-after-free` (lines are `kind: text`).
    pub(crate) fn hygiene(
        &self,
        step: Option<usize>,
        side: Side,
        problems: &[String],
    ) -> Box<Failure> {
        let kind = problems
            .first()
            .and_then(|p| p.split_once(": "))
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        let check = match kind {
            Some(k) => format!("hygiene.{k}"),
            None => "hygiene".to_owned(),
        };
        self.failure(step, check, side, problems.join("\n"))
    }

    pub(crate) fn teardown(&self, side: Side, leaks: LiveCounts, problems: &[String]) -> Checked {
        if !problems.is_empty() {
            return Err(self.hygiene(None, side, problems));
        }
        if leaks != LiveCounts::default() {
            let l = leaks;
            return Err(self.failure(
                None,
                "leak",
                side,
                format!(
                    "still allocated after every process exited: mm={} vma={} anon_vma={} avc={} page={}",
                    l.mm, l.vma, l.anon_vma, l.avc, l.page
                ),
            ));
        }
        Ok(())
    }
}

pub use crate::check::snapshot::state_hash;

/// A fresh world of the engine `variant` is compared with (`None` for a
/// variant judged on its own).
pub fn reference_engine(variant: Variant) -> Result<Option<Box<dyn Engine>>, String> {
    match variant.reference {
        Reference::Oracle => Ok(Some(Box::new(OracleEngine::for_generation(
            variant.generation,
        )))),
        Reference::C(name) => CEngine::new(name)
            .map(|e| Some(Box::new(e) as Box<dyn Engine>))
            .ok_or_else(|| format!("the C harness has no variant {name}")),
        Reference::None => Ok(None),
    }
}

/// Runs `scenario` on `variant` against the oracle; see the module docs.
pub fn run(scenario: &Scenario, variant: Variant, opts: RunOptions) -> RunResult {
    let result = run_checked(scenario, variant, opts);
    if let Some(k) = opts.known {
        k.record(&result.acknowledged);
    }
    result
}

fn run_checked(scenario: &Scenario, variant: Variant, opts: RunOptions) -> RunResult {
    let result = run_once(scenario, variant, opts);
    if result.failure.is_none() || opts.checks == Checks::EveryStep {
        return result;
    }
    // Every check of a final-only run is also made by a run that checks
    // every step, at the same step or earlier: that run fails too, and
    // names the operation where things first went wrong.
    let again = run_once(
        scenario,
        variant,
        RunOptions {
            checks: Checks::EveryStep,
            ..opts
        },
    );
    if again.failure.is_some() {
        again
    } else {
        result
    }
}

fn run_once(scenario: &Scenario, variant: Variant, opts: RunOptions) -> RunResult {
    let mut result = judge(scenario, variant, opts);
    list_acknowledged(&mut result);
    result
}

/// A failure lists the warnings its run acknowledged before it.
pub(crate) fn list_acknowledged(result: &mut RunResult) {
    if let Some(f) = &mut result.failure {
        f.acknowledged = result
            .acknowledged
            .iter()
            .map(|a| a.warning.clone())
            .collect();
    }
}

fn judge(scenario: &Scenario, variant: Variant, opts: RunOptions) -> RunResult {
    let mut result = RunResult::default();
    let run = Run::new(scenario, variant, opts.known);
    let Some(c) = CEngine::new(variant.name) else {
        result.failure = Some(*run.failure(
            None,
            "setup",
            Side::C,
            format!("the C harness has no variant {}", variant.name),
        ));
        return result;
    };
    let mut c: Box<dyn Engine> = Box::new(c);
    let mut o = match reference_engine(variant) {
        Ok(o) => o,
        Err(msg) => {
            result.failure = Some(*run.failure(None, "setup", Side::Oracle, msg));
            return result;
        }
    };
    if let Err(f) = drive(&run, &mut *c, o.as_mut(), opts, &mut result) {
        result.failure = Some(*f);
        return result;
    }
    run.watch.teardown();
    let c_end = c.finish();
    if let Err(f) = check_teardown(&run, c_end, move || o.map(|o| o.finish()), &mut result) {
        result.failure = Some(*f);
    }
    result
}

/// The checks of a world's end: what the C side left (`c_end`), then,
/// while the reference followed it to the end, what the reference leaves
/// (`o_end` ends it; `None`: there is none).
pub(crate) fn check_teardown(
    run: &Run,
    c_end: Teardown,
    o_end: impl FnOnce() -> Option<Teardown>,
    result: &mut RunResult,
) -> Checked {
    let problems = run.unacknowledged(None, c_end.problems, &mut result.acknowledged);
    run.teardown(Side::C, c_end.leaks, &problems)?;
    if result.desynced_at.is_some() {
        return Ok(());
    }
    match guarded(o_end) {
        Ok(None) => Ok(()),
        Ok(Some(o_end)) => {
            let problems = run.unacknowledged(None, o_end.problems, &mut result.acknowledged);
            run.teardown(Side::Oracle, o_end.leaks, &problems)
        }
        Err(msg) => Err(run.failure(None, "oracle.panic", Side::Oracle, msg)),
    }
}

/// The canonical states (by hash) whose contracts were checked and held,
/// and the pairs of a C state and its reference's that were compared and
/// agreed: what a search that meets one state many times need not check
/// again ([`SavedRun::try_step`](crate::check::saved_run::SavedRun::try_step)).
#[derive(Default)]
pub struct Judged {
    c: rustc_hash::FxHashSet<u64>,
    pairs: rustc_hash::FxHashSet<(u64, u64)>,
}

impl Judged {
    /// The states and pairs it holds.
    pub fn len(&self) -> usize {
        self.c.len() + self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `more` states and pairs beyond those it holds.
    pub fn reserve(&mut self, more: usize) {
        self.c.reserve(more);
        self.pairs.reserve(more);
    }
}

/// What one step of a run hands the next: the states before it (for the
/// rollback rule), and whether the reference still follows the C side.
#[derive(Clone)]
pub(crate) struct Carried {
    // (Shared: a saved run hands the same ones to every step it tries.)
    // Either the worlds' states as the step finds them, or none: a step
    // that writes nothing ([`Engine::wrote_nothing`]) reaches them again.
    pub(crate) prev_c: Option<Rc<State>>,
    pub(crate) prev_o: Option<Rc<State>>,
    in_sync: bool,
    /// The hash of the last checked C state, when a [`Judged`] asked for it.
    pub(crate) hash_c: Option<u64>,
    /// `prev_c` and `prev_o` passed their contracts and their comparison
    /// at the step before, in this run.
    checked: bool,
    /// `prev_o` is `prev_c`: the two engines reported it alike, so the
    /// reference can compare the next only where either side changed.
    alike: bool,
    /// `prev_c` held its contracts with its objects named apart: the next
    /// state's are read where it changed.
    apart: bool,
    /// The saved worlds a saved run's every try starts from, whose states
    /// are `prev_c` and `prev_o`: where a try leaves a world as saved, its
    /// state is the one before, and no snapshot is taken.
    pub(crate) baseline: Option<Rc<Baseline>>,
}

/// With `RMAPFUZZ_VERIFY_WATCH=1` in the environment, a world that says
/// step `i` wrote nothing is snapshot anyway, and a state that differs
/// from the one before stops the process: a write the engine's watch
/// missed is a bug of rmapfuzz (tests/kernel_trees.rs sets it for the
/// trees' code; tests/unchanged.rs checks the built-in variants).
fn verify_wrote_nothing(world: &mut dyn Engine, before: &State, i: usize) {
    if !crate::engine::verifying() {
        return;
    }
    let now = canonicalize(&world.snapshot());
    if now != *before.canonical() {
        let diff = first_difference(before.canonical(), &now)
            .map(|d| d.to_string())
            .unwrap_or_default();
        panic!("rmapfuzz bug: step {i} said it wrote nothing, but the state changed: {diff}");
    }
}

/// The state a world watched since its state `prev` reached, where it
/// says it wrote nothing: that one.
fn reached(world: &mut dyn Engine, prev: &Option<Rc<State>>, i: usize) -> Option<Rc<State>> {
    let prev = prev.as_ref()?;
    if !world.wrote_nothing() {
        return None;
    }
    verify_wrote_nothing(world, prev, i);
    Some(Rc::clone(prev))
}

/// Hands the state before a step back to the engine that reported it,
/// where nothing reads it again (no rollback to check, no other holder):
/// an engine that patches its last report into the next then copies
/// nothing. The step's checks that would have compared with it see no
/// state before, and judge the new one whole.
fn recycle(world: &mut dyn Engine, prev: &mut Option<Rc<State>>) {
    let Some(state) = prev.take() else { return };
    match Rc::try_unwrap(state) {
        Ok(state) => {
            if let Some(raw) = state.into_raw() {
                world.recycle(raw);
            }
        }
        Err(shared) => *prev = Some(shared),
    }
}

/// The reference's state, named (hashed, for a search that only hashes
/// a state it has judged before) here, where a panic of the reference's
/// shows as its own; unless it would report exactly the C side's state
/// `like` (the two engines made it alike): then it is that one. Given
/// what the C side `changed` since a state the two reported alike, the
/// reference compares only where either side changed.
fn oracle_state(
    o: &mut Box<dyn Engine>,
    lazily: bool,
    like: Option<&Rc<State>>,
    changed: Option<&Changes>,
) -> Result<Rc<State>, String> {
    guarded(|| {
        let raw = match like.and_then(|c| Some((c, c.raw()?))) {
            Some((c, like)) => {
                let differs = match changed {
                    Some(changed) => o.snapshot_unless_changed(like, changed),
                    None => o.snapshot_unless(like),
                };
                match differs {
                    None => return Rc::clone(c),
                    Some(raw) => raw,
                }
            }
            None => o.snapshot(),
        };
        let state = State::new(raw);
        match lazily {
            true => _ = state.hash(),
            false => _ = state.canonical(),
        }
        Rc::new(state)
    })
}

/// Whether step checks run after every step of this run.
fn checks_every_step(run: &Run, opts: RunOptions, alone: bool) -> bool {
    opts.checks == Checks::EveryStep || (run.variant.mode == Mode::Relaxed && !alone)
}

/// What a run carries into its first step.
pub(crate) fn start(
    run: &Run,
    c: &mut dyn Engine,
    o: Option<&mut Box<dyn Engine>>,
    opts: RunOptions,
) -> Result<Carried, Box<Failure>> {
    // Without a reference the C side is checked alone from the start.
    let alone = o.is_none();
    let mut carried = Carried {
        prev_c: None,
        prev_o: None,
        in_sync: !alone,
        hash_c: None,
        checked: false,
        alike: false,
        apart: false,
        baseline: None,
    };
    if opts.check_from == 0 && checks_every_step(run, opts, alone) {
        // The state before the first step, for its rollback check.
        carried.prev_c = Some(Rc::new(State::new(c.snapshot())));
        if let Some(o) = o {
            carried.prev_o = Some(Rc::new(
                guarded(|| State::named(canonicalize(&o.snapshot())))
                    .map_err(|msg| run.failure(None, "oracle.panic", Side::Oracle, msg))?,
            ));
        }
    }
    Ok(carried)
}

fn drive(
    run: &Run,
    c: &mut dyn Engine,
    mut o: Option<&mut Box<dyn Engine>>,
    opts: RunOptions,
    result: &mut RunResult,
) -> Checked {
    let mut carried = start(run, c, o.as_deref_mut(), opts)?;
    for i in 0..run.scenario.steps.len() {
        step(
            run,
            i,
            c,
            o.as_deref_mut(),
            opts,
            result,
            &mut carried,
            None,
        )?;
    }
    // On a world that cannot race, a race is left out (`replay` says it
    // skips it), unless the scenario was written for that very variant
    // (then `setup` says why it cannot run).
    let written_for_it = matches!(&run.scenario.header.variant,
        VariantSel::Named(name) if name == run.variant.name);
    let race = run
        .scenario
        .race
        .as_ref()
        .filter(|_| run.variant.can_race() || written_for_it);
    if let Some(race) = race {
        return crate::check::race::check(run, c, o, carried.in_sync, race, opts, result)
            .map_err(|f| crate::check::race::replayable(run, race, f));
    }
    if opts.keep_state {
        result.final_state = carried
            .prev_c
            .map(|s| Rc::unwrap_or_clone(s).into_canonical());
    }
    Ok(())
}

/// Step `i` of the run's scenario: applied to both sides, then checked as
/// `opts` asks.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step(
    run: &Run,
    i: usize,
    c: &mut dyn Engine,
    mut o: Option<&mut Box<dyn Engine>>,
    opts: RunOptions,
    result: &mut RunResult,
    carried: &mut Carried,
    judged: Option<&mut Judged>,
) -> Checked {
    let mode = run.variant.mode;
    let every_step = checks_every_step(run, opts, o.is_none());
    let last = run.scenario.steps.len().saturating_sub(1);
    let step = &run.scenario.steps[i];
    let in_sync = &mut carried.in_sync;
    run.watch.step(i);
    // Relaxed mode never injects into the oracle: the two sides count
    // allocations differently. A C failure is matched by skipping the op
    // on the oracle, which only works if the C side rolled back fully.
    let relaxed_injection = mode == Mode::Relaxed && step.fail.is_some() && *in_sync;
    // (The state the step finds, where the run carries it.)
    let before_injection = relaxed_injection.then(|| match &carried.prev_c {
        Some(prev) => Rc::clone(prev),
        None => Rc::new(State::named(canonicalize(&c.snapshot()))),
    });
    // What this step writes says whether it reached the states before
    // it, where there are any to reach (not in the fuzzers' final-only
    // runs, whose steps before the last carry none).
    if carried.prev_c.is_some() {
        c.watch_writes();
        if let Some(o) = o.as_deref_mut() {
            o.watch_writes();
        }
    }
    // A maple preallocation failure (maple=N) only a tree's own
    // mm/vma.c can have: its state before, for the rollback rule.
    let maple_before = match step.maple {
        Some(nth) if c.fail_maple(nth) => Some(canonicalize(&c.snapshot())),
        _ => None,
    };
    let c_out = c.apply(&step.op, step.fail);
    result.allocs.push(c_out.allocs.len());
    // Nothing models what follows a maple failure: from here on the C
    // side is checked alone, starting with this step.
    let maple_fired = c_out.maple_failed && maple_before.is_some();
    if maple_fired {
        result.maple_fired.push(i);
    }
    if maple_fired && *in_sync {
        *in_sync = false;
        result.desynced_at = Some(i);
    }

    let oracle_fail = if mode == Mode::Strict {
        step.fail
    } else {
        None
    };
    let defer = relaxed_injection && c_out.status == Status::Enomem;
    // The C side's state after a deferred step, for its checks too.
    let mut c_after: Option<Rc<State>> = None;
    if let (true, Some(before)) = (defer, &before_injection) {
        let now =
            reached(c, &carried.prev_c, i).unwrap_or_else(|| Rc::new(State::new(c.snapshot())));
        let undone = Rc::ptr_eq(before, &now) || before.canonical() == now.canonical();
        c_after = Some(now);
        if !undone {
            // A partial result (docs/MODEL.md section 7) the oracle has
            // no way to mirror: from here on the C side is checked alone.
            *in_sync = false;
            result.desynced_at = Some(i);
        }
    }
    let mut o_out = match o.as_deref_mut() {
        Some(o) if *in_sync && !defer => Some(
            guarded(|| o.apply(&step.op, oracle_fail))
                .map_err(|msg| run.failure(Some(i), "oracle.panic", Side::Oracle, msg))?,
        ),
        _ => None,
    };
    // In a relaxed comparison the reference runs an injected step
    // without the injection: where the C side took another path for
    // it (a merge's fallback), the two part ways legitimately, and from
    // there the C side is checked alone. Decided on every step, checked
    // or not, so a later step is never compared out of step.
    // The states it takes serve this step's checks too.
    let lazily = judged.is_some();
    let checked_before = !lazily && carried.checked;
    let mut taken: Option<(Rc<State>, Rc<State>)> = None;
    if let (true, Some(out), Some(o)) = (relaxed_injection, &o_out, o.as_deref_mut()) {
        let snap_c =
            reached(c, &carried.prev_c, i).unwrap_or_else(|| Rc::new(State::new(c.snapshot())));
        let snap_o = match reached(&mut **o, &carried.prev_o, i) {
            Some(state) => state,
            None => oracle_state(o, false, Some(&snap_c), None)
                .map_err(|msg| run.failure(Some(i), "oracle.panic", Side::Oracle, msg))?,
        };
        // Both as the step before left them: their shapes compared
        // equal there.
        let as_before = checked_before
            && [(&snap_c, &carried.prev_c), (&snap_o, &carried.prev_o)]
                .iter()
                .all(|(now, prev)| prev.as_ref().is_some_and(|p| Rc::ptr_eq(p, now)));
        if c_out.status != out.status
            || c_out.hits != out.hits
            || (!as_before && !Rc::ptr_eq(&snap_c, &snap_o) && snap_c.shape() != snap_o.shape())
        {
            *in_sync = false;
            result.desynced_at = Some(i);
            o_out = None;
        }
        taken = Some((snap_c, snap_o));
    }

    if i + 1 < opts.check_from {
        return Ok(());
    }
    if !every_step && i < last && !maple_fired {
        if let Some(o_out) = &o_out {
            run.compare_outcomes(i, mode, &c_out, o_out)?;
        }
        return Ok(());
    }
    // (When the oracle skipped an op the C side failed and fully undid,
    // its unchanged state is compared with the C side's.)
    // A step that wrote nothing reached the state before it; so did a
    // try of a saved run that left a saved world as it was.
    let baseline = carried.baseline.take();
    let as_saved = |world: &mut dyn Engine, saved: Option<&Saved>, prev: &Option<Rc<State>>| {
        if let Some(state) = reached(world, prev, i) {
            return Some(state);
        }
        saved
            .filter(|saved| world.unchanged_since(saved))
            .and_then(|_| prev.clone())
    };
    // The C side's state before is read again only by its rollback
    // check (a failed step's) and where the step wrote nothing.
    let c_rollback = c_out.status == Status::Enomem;
    // What the C side's report changed, where it patched the one before.
    let mut c_changes: Option<Changes> = None;
    let mut state_c = |prev_c: &mut Option<Rc<State>>| match c_after.take() {
        Some(state) => state,
        None => match as_saved(c, baseline.as_ref().map(|b| &b.c), prev_c) {
            Some(state) => state,
            None => {
                match (c_rollback, prev_c.as_ref().and_then(|p| p.raw())) {
                    (false, _) => recycle(c, prev_c),
                    // (Kept for the rollback check: a copy is patched.)
                    (true, Some(raw)) => c.recycle_copy(raw),
                    (true, None) => {}
                }
                let state = Rc::new(State::new(c.snapshot()));
                c_changes = c.changes();
                state
            }
        },
    };
    let (snap_c, snap_o) = match (taken, o) {
        (Some((snap_c, snap_o)), _) => (snap_c, in_sync.then_some(snap_o)),
        (None, Some(o)) if *in_sync => {
            // (The reference first: its state may be the one before,
            // which the C side's may share.)
            let saved_o = baseline.as_ref().and_then(|b| b.o.as_ref());
            let o_reached = as_saved(&mut **o, saved_o, &carried.prev_o);
            let o_rollback = o_out
                .as_ref()
                .is_some_and(|out| out.status == Status::Enomem);
            if o_reached.is_none() && !o_rollback {
                carried.prev_o = None;
            }
            let snap_c = state_c(&mut carried.prev_c);
            // Where the reference reported the state before alike, what
            // the C side changed since tells it where to compare.
            let nothing = Changes::default();
            let changed = match (carried.alike && !lazily, &carried.prev_c) {
                (false, _) => None,
                (true, Some(prev)) if Rc::ptr_eq(prev, &snap_c) => Some(&nothing),
                (true, _) => c_changes.as_ref(),
            };
            let snap_o = match o_reached {
                Some(state) => state,
                None => oracle_state(o, lazily, Some(&snap_c), changed)
                    .map_err(|msg| run.failure(Some(i), "oracle.panic", Side::Oracle, msg))?,
            };
            (snap_c, Some(snap_o))
        }
        (None, _) => (state_c(&mut carried.prev_c), None),
    };
    if i < opts.check_from {
        carried.prev_c = Some(snap_c);
        carried.prev_o = snap_o;
        carried.checked = false;
        carried.alike = false;
        return Ok(());
    }

    // The contracts and the comparison are functions of the canonical
    // states alone: a state (or pair) `judged` holds passes again, and
    // so does the state this run checked at the step before, reached
    // again by a step that wrote nothing or, where an engine cannot
    // tell, reported exactly as before.
    let reached_again = |now: Rc<State>, before: &Option<Rc<State>>| match before {
        Some(b) if checked_before && (Rc::ptr_eq(b, &now) || b.same_report(&now)) => {
            (Rc::clone(b), true)
        }
        _ => (now, false),
    };
    // (Where the C side patched its report, the patch says whether it is
    // the one before; the state made stays, for the next to patch.)
    let undone_c = c_changes
        .as_ref()
        .zip(snap_c.raw())
        .map(|(ch, raw)| ch.undone(raw));
    let (snap_c, c_as_before) = match (undone_c, &carried.prev_c) {
        (Some(undone), Some(_)) if checked_before => (snap_c, undone),
        _ => reached_again(snap_c, &carried.prev_c),
    };
    // (A reference state reported alike with a C state as before, where
    // the two were alike before too, is as before.)
    let alike_before = |o: &Rc<State>| {
        c_as_before
            && Rc::ptr_eq(o, &snap_c)
            && matches!((&carried.prev_o, &carried.prev_c), (Some(po), Some(pc)) if Rc::ptr_eq(po, pc))
    };
    let (snap_o, o_as_before) = match snap_o {
        Some(s) if checked_before && alike_before(&s) => (Some(s), true),
        Some(s) => {
            let (s, same) = reached_again(s, &carried.prev_o);
            (Some(s), same)
        }
        None => (None, false),
    };
    let mut judged = judged;
    let hash_c = judged.as_ref().map(|_| snap_c.hash());
    carried.hash_c = hash_c;
    let c_known = matches!((&judged, hash_c), (Some(j), Some(h)) if j.c.contains(&h));
    if !c_known && !c_as_before {
        let changed = c_changes
            .as_ref()
            .filter(|_| checked_before && carried.apart);
        carried.apart = run.contracts_where(i, Side::C, &snap_c, changed)?;
        if let (Some(j), Some(h)) = (judged.as_deref_mut(), hash_c) {
            j.c.insert(h);
        }
    } else if c_known {
        carried.apart = false;
    }
    let problems = run.unacknowledged(Some(i), c.hygiene(), &mut result.acknowledged);
    if !problems.is_empty() {
        return Err(run.hygiene(Some(i), Side::C, &problems));
    }
    if c_out.status == Status::Enomem {
        if maple_fired {
            if let Some(before) = &maple_before {
                run.rollback(i, Side::C, step, before, snap_c.canonical())?;
            }
        } else if let Some(before) = carried.prev_c.as_deref() {
            // (Equal hashes are equal states, as everywhere a search
            // hashes states.)
            let undone = c_as_before || (lazily && before.hash() == snap_c.hash());
            if !undone {
                run.rollback(i, Side::C, step, before.canonical(), snap_c.canonical())?;
            }
        }
    }
    if let Some(o_out) = &o_out {
        run.compare_outcomes(i, mode, &c_out, o_out)?;
    }
    if let (Some(snap_o), true) = (&snap_o, *in_sync) {
        let pair = hash_c.map(|h| (h, snap_o.hash()));
        // A reference state that hashes as the C side's is the C side's
        // state (a hash covers every field): its contracts are the ones
        // just checked, and the two agree.
        let known =
            matches!((&judged, pair), (Some(j), Some(p)) if p.0 == p.1 || j.pairs.contains(&p));
        // Likewise a reference state equal to the C side's, which is most
        // of them: equal states obey the same contracts and compare equal.
        // (One reported alike is the C side's own: `oracle_state`.)
        let both_as_before = c_as_before && o_as_before;
        // (A relaxed comparison names neither state: equal or not, the
        // reference's contracts cost less than naming both.)
        let same = !known
            && !both_as_before
            && (Rc::ptr_eq(&snap_c, snap_o)
                || (mode == Mode::Strict && snap_c.canonical() == snap_o.canonical()));
        if !known && !o_as_before && !same {
            run.contracts(i, Side::Oracle, snap_o)?;
        }
        if let (Some(o_out), Some(before)) = (&o_out, carried.prev_o.as_deref()) {
            let undone = o_as_before || (lazily && before.hash() == snap_o.hash());
            if o_out.status == Status::Enomem && !undone {
                run.rollback(
                    i,
                    Side::Oracle,
                    step,
                    before.canonical(),
                    snap_o.canonical(),
                )?;
            }
        }
        let compared = known || same || both_as_before;
        if !compared {
            run.compare_states(i, mode, &snap_c, snap_o)?;
            if let (Some(j), Some(p)) = (judged, pair) {
                j.pairs.insert(p);
            }
        }
    }
    // The state before the next step only when the next step is
    // checked too (a maple step is checked mid-run in a final-only
    // run: its state is not the one before the last step).
    let next_checked = every_step || i == last;
    carried.alike =
        *in_sync && next_checked && snap_o.as_ref().is_some_and(|o| Rc::ptr_eq(o, &snap_c));
    carried.prev_o = if *in_sync && next_checked {
        snap_o
    } else {
        None
    };
    carried.prev_c = next_checked.then_some(snap_c);
    carried.checked = next_checked;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::known::KnownWarnings;
    use crate::check::snapshot::RawSnapshot;
    use crate::language::op::{FailPlan, Op};
    use crate::language::parse::parse_scenario;

    fn known(text: &str) -> &'static KnownWarnings {
        Box::leak(Box::new(
            KnownWarnings::parse(text, "k.txt").expect("parses"),
        ))
    }

    fn with(known: Known) -> RunOptions {
        RunOptions {
            known,
            ..RunOptions::default()
        }
    }

    /// `unlink-wrong-parent` warns (`VM_WARN_ON(anon_vma->num_children)`)
    /// at op #7, when the last VMA of a three-generation family goes, and
    /// then breaks a counter in a second family at op #12.
    const WARNS_THEN_BREAKS: &str = "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nfork 1\n\
        munmap 1 0x10000 0x1000\nmunmap 0 0x10000 0x1000\nmunmap 2 0x10000 0x1000\n\
        mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nfork 3\nexit 4\n";

    #[test]
    fn an_acknowledged_warning_hides_no_later_failure() {
        let s = parse_scenario(WARNS_THEN_BREAKS, "t.txt").expect("parses");
        let v = crate::engine::variant::find("unlink-wrong-parent").expect("zoo variant");
        let plain = run(&s, v, RunOptions::default());
        let f = plain.failure.expect("the warning fails a plain run");
        assert_eq!((f.check.as_str(), f.step), ("hygiene.warning", Some(6)));
        assert!(plain.acknowledged.is_empty() && f.acknowledged.is_empty());

        // A pattern for another site, or another condition, changes nothing.
        for other in [
            "rmap.c anon_vma->num_children\n",
            "unlink_wrong_parent.c num_active_vmas\n",
            "unlink_wrong_parent.c:54 num_children\n",
        ] {
            let k = known(other);
            let r = run(&s, v, with(Some(k)));
            let f = r.failure.expect("still fails");
            assert_eq!(
                (f.check.as_str(), f.step),
                ("hygiene.warning", Some(6)),
                "{other}"
            );
            assert_eq!(k.total(), 0, "{other}");
        }

        // Acknowledged: counted, and the run goes on to the counter the
        // bug breaks later, whose report lists what was acknowledged.
        let k = known("# the zoo's slip\nunlink_wrong_parent.c num_children\n");
        let r = run(&s, v, with(Some(k)));
        let f = r.failure.expect("the later failure is still found");
        assert_eq!(
            (f.check.as_str(), f.step),
            ("invariant.counter.num_children", Some(11))
        );
        assert_eq!(r.acknowledged.len(), 2);
        assert!(r
            .acknowledged
            .iter()
            .all(|a| a.step == Some(6) && a.pattern == 0));
        assert_eq!(f.acknowledged.len(), 2);
        assert!(f
            .to_string()
            .contains("2 x warning: csrc/zoo/unlink_wrong_parent.c:53: anon_vma->num_children"));
        assert_eq!(k.total(), 2);

        // Without the second family's break, the run passes.
        let s = warns_only();
        let r = run(&s, v, with(Some(k)));
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(k.total(), 4);
    }

    /// What a run asked of an engine.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    struct Asked {
        snapshots: usize,
        saves: usize,
    }

    /// An engine that counts the snapshots and saves asked of it (and,
    /// `blind`, cannot tell what a step wrote: a kernel tree's world).
    struct Counted {
        inner: Box<dyn Engine>,
        asked: Rc<std::cell::Cell<Asked>>,
        blind: bool,
    }

    impl Counted {
        fn count(&self, f: impl FnOnce(&mut Asked)) {
            let mut asked = self.asked.get();
            f(&mut asked);
            self.asked.set(asked);
        }
    }

    impl Engine for Counted {
        fn apply(&mut self, op: &Op, fail: Option<FailPlan>) -> Outcome {
            self.inner.apply(op, fail)
        }
        fn save(&mut self) -> Option<Saved> {
            self.count(|a| a.saves += 1);
            self.inner.save()
        }
        fn watch_writes(&mut self) {
            self.inner.watch_writes();
        }
        fn wrote_nothing(&mut self) -> bool {
            !self.blind && self.inner.wrote_nothing()
        }
        fn snapshot(&mut self) -> RawSnapshot {
            self.count(|a| a.snapshots += 1);
            self.inner.snapshot()
        }
        fn snapshot_unless(&mut self, like: &RawSnapshot) -> Option<RawSnapshot> {
            // (Comparing as it dumps is taking a snapshot too.)
            self.count(|a| a.snapshots += 1);
            self.inner.snapshot_unless(like)
        }
        fn hygiene(&mut self) -> Vec<String> {
            self.inner.hygiene()
        }
        fn finish(self: Box<Self>) -> Teardown {
            self.inner.finish()
        }
    }

    /// `text` checked at every step on `variant`, with a C side that is
    /// `blind` or not: the result, and what was asked of each side.
    fn counted_run(text: &str, variant: &str, blind: bool) -> (RunResult, Asked, Asked) {
        let s = parse_scenario(text, "t.txt").expect("parses");
        let v = crate::engine::variant::find(variant).expect("variant");
        let (asked_c, asked_o) = Default::default();
        let mut c = Counted {
            inner: Box::new(CEngine::new(v.name).expect("C side")),
            asked: Rc::clone(&asked_c),
            blind,
        };
        let mut o: Box<dyn Engine> = Box::new(Counted {
            inner: reference_engine(v).expect("reference").expect("one"),
            asked: Rc::clone(&asked_o),
            blind: false,
        });
        let run = Run::new(&s, v, None);
        let mut result = RunResult::default();
        if let Err(f) = drive(
            &run,
            &mut c,
            Some(&mut o),
            RunOptions::default(),
            &mut result,
        ) {
            result.failure = Some(*f);
        }
        (result, asked_c.get(), asked_o.get())
    }

    /// `fork-pins-parent`'s scenario.
    const CHANGING: [&str; 4] = [
        "mmap 0 0x10000 0x1000\n",
        "fault 0 0x10000 w\n",
        "fork 0\n",
        "fork 1\n",
    ];

    /// Refused requests, to put between its steps.
    const REFUSED: &str = "munmap 0 0x90000 0x1000\nfault 0 0x90000 w\n";

    /// CHANGING with `refused` after each of its steps.
    fn changing_with(refused: &str) -> String {
        CHANGING.iter().map(|s| format!("{s}{refused}")).collect()
    }

    /// One snapshot before the first step, one after each that wrote;
    /// nothing saved.
    const ONE_PER_CHANGE: Asked = Asked {
        snapshots: CHANGING.len() + 1,
        saves: 0,
    };

    /// Steps that write nothing are not snapshot, and a failure right
    /// after them is found where it was. Nothing is saved.
    #[test]
    fn steps_that_write_nothing_are_not_snapshot() {
        let with_refusals = changing_with(REFUSED);
        let (r, c, o) = counted_run(&with_refusals, "mainline", false);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(
            (c, o),
            (ONE_PER_CHANGE, ONE_PER_CHANGE),
            "C side, reference"
        );

        // The bug is seen at the fork it breaks, after refused steps.
        let (r, _, _) = counted_run(&with_refusals, "fork-pins-parent", false);
        let f = r.failure.expect("still caught");
        assert_eq!(
            (f.check.as_str(), f.step),
            ("invariant.counter.refcount", Some(9))
        );
    }

    /// So are those of a relaxed variant with an injected failure, whose
    /// outcome and shape are compared at every step: the states before
    /// serve where both sides wrote nothing.
    #[test]
    fn injected_steps_that_write_nothing_are_not_snapshot() {
        let with_refusals =
            changing_with("munmap 0 0x90000 0x1000 fail=1\nfault 0 0x90000 w fail=1+\n");
        let (r, c, o) = counted_run(&with_refusals, "pre-series", false);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(
            (c, o),
            (ONE_PER_CHANGE, ONE_PER_CHANGE),
            "C side, reference"
        );
        // Blind, the C side is snapshot after each of them (and not
        // before: the state before is carried).
        let (r, c, o) = counted_run(&with_refusals, "pre-series", true);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(
            (c.snapshots, o.snapshots),
            (3 * CHANGING.len() + 1, CHANGING.len() + 1),
            "C side, reference"
        );
    }

    /// A C world that cannot tell what a step wrote is snapshot after
    /// every step (its report compared with the one before), and the
    /// failure is still found where it was.
    #[test]
    fn a_blind_world_is_snapshot_at_every_step() {
        let with_refusals = changing_with(REFUSED);
        let steps = 3 * CHANGING.len();
        let (r, c, o) = counted_run(&with_refusals, "mainline", true);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(
            (c.snapshots, o.snapshots),
            (steps + 1, CHANGING.len() + 1),
            "C side, reference"
        );
        let (r, _, _) = counted_run(&with_refusals, "fork-pins-parent", true);
        let f = r.failure.expect("still caught");
        assert_eq!(
            (f.check.as_str(), f.step),
            ("invariant.counter.refcount", Some(9))
        );
    }

    /// WARNS_THEN_BREAKS up to the warnings, before the second break.
    fn warns_only() -> Scenario {
        let head: String = WARNS_THEN_BREAKS
            .lines()
            .take(8)
            .map(|l| format!("{l}\n"))
            .collect();
        parse_scenario(&head, "t.txt").expect("parses")
    }

    /// Only warnings are acknowledged: a lock problem fails whatever the
    /// patterns say.
    #[test]
    fn lock_problems_are_never_acknowledged() {
        let s = parse_scenario(
            "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\n",
            "t.txt",
        )
        .expect("parses");
        let v = crate::engine::variant::find("locks-own-rwsem").expect("zoo variant");
        let k = known("rmap.c rwsem\ninterval_tree.c rwsem\nrmap.c anon_vma_fork\n");
        let r = run(&s, v, with(Some(k)));
        let f = r.failure.expect("fails");
        assert_eq!(f.check, "hygiene.lock");
        assert!(r.acknowledged.is_empty());
        assert_eq!(k.total(), 0);
    }

    /// The fuzzers' final-only checks: the run that is reported counts its
    /// warnings once, and a passing run acknowledges as a replay does.
    #[test]
    fn final_checks_acknowledge_too() {
        let s = warns_only();
        let v = crate::engine::variant::find("unlink-wrong-parent").expect("zoo variant");
        let k = known("unlink_wrong_parent.c num_children\n");
        let opts = RunOptions {
            checks: Checks::Final,
            known: Some(k),
            ..RunOptions::default()
        };
        let r = run(&s, v, opts);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!((r.acknowledged.len(), k.total()), (2, 2));
        let r = run(
            &s,
            v,
            RunOptions {
                known: None,
                ..opts
            },
        );
        assert_eq!(
            r.failure.map(|f| f.check).as_deref(),
            Some("hygiene.warning")
        );
    }

    /// An injected step that sends the C side down a merge's fallback parts
    /// a relaxed comparison from its (uninjected) reference; that must hold
    /// when the step is applied without being checked, as explore does for
    /// a path's prefix, or the next step is compared out of step.
    #[test]
    fn unchecked_injected_steps_still_part_ways() {
        let s = parse_scenario(
            "mmap 0 0x10000 0x1000\nmmap 0 0x12000 0x1000\nfault 0 0x12000 w\n\
             mmap 0 0x11000 0x1000 fail=1\nfault 0 0x10000 r\n",
            "t.txt",
        )
        .expect("parses");
        // Our post-series core against our pre-series one: in shape; the
        // failed clone makes mainline fall back to a new VMA, while
        // pre-series, not injected, merges.
        let v = Variant {
            mode: Mode::Relaxed,
            reference: Reference::C("pre-series"),
            ..crate::engine::variant::find("mainline").expect("mainline")
        };
        for check_from in [0, 4] {
            let r = run(
                &s,
                v,
                RunOptions {
                    check_from,
                    ..RunOptions::default()
                },
            );
            assert!(
                r.failure.is_none(),
                "check_from {check_from}: {:?}",
                r.failure
            );
            assert_eq!(r.desynced_at, Some(3), "check_from {check_from}");
        }
    }
}
