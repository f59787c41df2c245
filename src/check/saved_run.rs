//! A run paused after a path and saved, to try one more step from as often
//! as asked: what `explore` does at every state it reached, where running
//! the whole path again for each next step cost most of its time.
//!
//! Each try is the run [`run`] makes of the path and that step, with the
//! checks from that step on (`check_from` = the path's length): the same
//! steps applied to the same engines, the same checks in the same order,
//! the same result. Only the way back differs: both worlds are put back to
//! their saved states instead of being built again, and the teardown checks
//! (every process exits, nothing is left) run only where the caller asks,
//! as a state's end depends on nothing but the state.
//!
//! [`run`]: crate::check::runner::run

use std::rc::Rc;

use crate::check::report::Failure;
use crate::check::runner::{
    check_teardown, list_acknowledged, reference_engine, start, step, Carried, Checks, Judged, Run,
    RunOptions, RunResult,
};
use crate::check::snapshot::State;
use crate::engine::c::CEngine;
use crate::engine::variant::Variant;
use crate::engine::{Engine, Layout, Saved};
use crate::language::op::Step;
use crate::language::scenario::Scenario;

/// Both worlds after a path, saved.
pub struct SavedRun {
    variant: Variant,
    opts: RunOptions,
    /// The path, then the step being tried (one scenario for every try).
    scenario: Scenario,
    /// The path's length.
    len: usize,
    c: Box<dyn Engine>,
    o: Option<Box<dyn Engine>>,
    saved: Rc<Baseline>,
    carried: Carried,
    /// What the path's own steps recorded (allocations, maple failures,
    /// where the reference stopped following).
    prefix: RunResult,
}

/// Why a path could not be saved.
#[derive(Debug)]
pub enum NotSaved {
    /// An engine cannot save its world: run each try from scratch.
    Unsupported,
    /// Replaying the path already failed (the reference panicked).
    Failed(Box<Failure>),
}

impl SavedRun {
    /// Applies `path` to new worlds of `variant` and its reference, as
    /// [`run`](crate::check::runner::run) does before the step it checks
    /// first, and saves both. Checks every step (`opts.checks` is not
    /// read); `opts.check_from` is the path's length.
    pub fn new(path: &[Step], variant: Variant, opts: RunOptions) -> Result<SavedRun, NotSaved> {
        let opts = RunOptions {
            checks: Checks::EveryStep,
            check_from: path.len(),
            ..opts
        };
        let mut c: Box<dyn Engine> =
            Box::new(CEngine::new(variant.name).ok_or(NotSaved::Unsupported)?);
        let mut o = reference_engine(variant).map_err(|_| NotSaved::Unsupported)?;
        let scenario = Scenario::new(path.to_vec());
        if scenario.race.is_some() {
            return Err(NotSaved::Unsupported);
        }
        let run = Run::new(&scenario, variant, opts.known);
        let mut prefix = RunResult::default();
        let mut carried = start(&run, &mut *c, o.as_mut(), opts).map_err(NotSaved::Failed)?;
        for i in 0..path.len() {
            step(
                &run,
                i,
                &mut *c,
                o.as_mut(),
                opts,
                &mut prefix,
                &mut carried,
                None,
            )
            .map_err(NotSaved::Failed)?;
        }
        let saved = Rc::new(Baseline::save(&mut *c, o.as_mut()).ok_or(NotSaved::Unsupported)?);
        // A try that leaves both worlds as saved is seen to cheaply, where
        // every reference names a live object.
        if refers_only_to_live(&carried, o.is_some()) {
            carried.baseline = Some(saved.clone());
        }
        Ok(SavedRun {
            variant,
            opts,
            scenario,
            len: path.len(),
            c,
            o,
            saved,
            carried,
            prefix,
        })
    }

    /// The C side's state at the path's end, when it was taken.
    pub fn start(&self) -> Option<&State> {
        self.carried.prev_c.as_deref()
    }

    /// The processes and VMA ranges at the path's end.
    pub fn layout(&mut self) -> Layout {
        self.c.layout()
    }

    /// The run of the path and `next`, checked from `next` on, leaving out
    /// the checks `judged` holds as passed (and adding those that pass);
    /// its teardown checks run only when `tear_down` says so of the hash
    /// of the state `next` reached (its final state is kept either way).
    /// Both worlds are back at the path's end afterwards.
    pub fn try_step(
        &mut self,
        next: Step,
        judged: &mut Judged,
        tear_down: impl FnOnce(u64, &State) -> bool,
    ) -> RunResult {
        self.scenario.steps.truncate(self.len);
        self.scenario.steps.push(next);
        let run = Run::new(&self.scenario, self.variant, self.opts.known);
        let mut result = self.prefix.clone();
        let mut carried = self.carried.clone();
        let verdict = step(
            &run,
            self.len,
            &mut *self.c,
            self.o.as_mut(),
            self.opts,
            &mut result,
            &mut carried,
            Some(judged),
        )
        .and_then(|()| {
            let end = match (carried.hash_c, carried.prev_c.as_deref()) {
                (Some(h), Some(state)) => tear_down(h, state),
                _ => false,
            };
            if self.opts.keep_state {
                result.final_state = carried
                    .prev_c
                    .take()
                    .map(|s| Rc::unwrap_or_clone(s).into_canonical());
            }
            if !end {
                return Ok(());
            }
            run.watch.teardown();
            let c_end = self
                .c
                .finish_in_place()
                .expect("a saved engine ends in place");
            let o = self.o.as_mut();
            check_teardown(
                &run,
                c_end,
                move || o.map(|o| o.finish_in_place().expect("a saved engine ends in place")),
                &mut result,
            )
        });
        if let Err(f) = verdict {
            result.failure = Some(*f);
        }
        assert!(
            self.c.restore(&self.saved.c),
            "the C world takes back its own saved state"
        );
        if let (Some(o), Some(saved)) = (self.o.as_mut(), &self.saved.o) {
            assert!(
                o.restore(saved),
                "the reference takes back its own saved state"
            );
        }
        list_acknowledged(&mut result);
        if let Some(k) = self.opts.known {
            k.record(&result.acknowledged);
        }
        result
    }
}

/// Both worlds as saved at a state every reference of which names a live
/// object ([`crate::check::snapshot::Snapshot::refers_only_to_live`]), which is what
/// [`Engine::unchanged_since`] asks.
pub(crate) struct Baseline {
    pub(crate) c: Saved,
    pub(crate) o: Option<Saved>,
}

impl Baseline {
    /// Both worlds as they are now; `None` where one cannot be saved.
    fn save(c: &mut dyn Engine, o: Option<&mut Box<dyn Engine>>) -> Option<Baseline> {
        Some(Baseline {
            c: c.save()?,
            o: match o {
                Some(o) => Some(o.save()?),
                None => None,
            },
        })
    }
}

/// Whether the states a saved run's tries start from (the reference's
/// too, with `reference`) name only live objects: where a saved world
/// answers [`Engine::unchanged_since`].
fn refers_only_to_live(carried: &Carried, reference: bool) -> bool {
    let clean = |state: &Option<Rc<State>>| {
        state
            .as_ref()
            .is_some_and(|s| s.canonical().refers_only_to_live())
    };
    clean(&carried.prev_c) && (!reference || clean(&carried.prev_o))
}
