//! The bug zoo: every zoo variant is caught - by its scenario in
//! `corpus/zoo/` (replayed by tests/corpus.rs as "must fail with this
//! signature") and by `explore` at the depth of that scenario, in a
//! universe just large enough for it - and the correct variants pass
//! `explore` to a small depth. The fuzzers' runs, which check states only
//! after the last operation, catch every zoo scenario too, and report the
//! failure a replay reports, even when more operations follow it.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use rmapfuzz::check::runner::{run, Checks, RunOptions};
use rmapfuzz::engine::variant::{self, Variant, RACE_ZOO, ZOO};
use rmapfuzz::input::encoding::encode;
use rmapfuzz::input::fuzzing::check_diff;
use rmapfuzz::language::op::{Op, Step};
use rmapfuzz::language::parse::parse_file;
use rmapfuzz::language::scenario::{Expect, Scenario};
use rmapfuzz::tools::explore::{explore, universe_for, Universe};
use rmapfuzz::tools::race_explore::{explore_races, RaceBounds};

fn zoo_scenario(v: Variant) -> Result<Scenario, Failed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/zoo")
        .join(format!("{}.txt", v.name));
    parse_file(&path).map_err(|e| e.to_string().into())
}

fn caught_by_explore(v: Variant) -> Result<(), Failed> {
    let s = zoo_scenario(v)?;
    let Expect::Fail {
        check: Some(check), ..
    } = &s.header.expect
    else {
        return Err(format!("corpus/zoo/{}.txt: the header must expect a check", v.name).into());
    };
    let (depth, u) = universe_for(&s);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let x = explore(v, depth, &u, threads, None, None, &|_| {});
    // A search of one state per class finds it as soon as a search of
    // every state does, by the same check.
    let every = Universe {
        by_class: false,
        ..u
    };
    let y = explore(v, depth, &every, threads, None, None, &|_| {});
    let found = |x: &rmapfuzz::tools::explore::Exploration| {
        x.failure
            .as_ref()
            .map(|(s, f)| (s.steps.len(), f.check.clone()))
    };
    if found(&x) != found(&y) {
        return Err(format!(
            "one state per class found {:?}, every state {:?}",
            found(&x),
            found(&y)
        )
        .into());
    }
    match x.failure {
        None => Err(format!("explore --depth {depth} ({u:?}) found nothing on {v}").into()),
        Some((found, f)) if found.steps.len() > depth => Err(format!(
            "explore found a longer path than the corpus scenario:\n{found}\n{f}"
        )
        .into()),
        Some((_, f)) if &f.check != check => Err(format!(
            "explore found another check ({}) than the corpus scenario ({check}):\n{f}",
            f.check
        )
        .into()),
        Some(_) => Ok(()),
    }
}

/// The zoo scenario, then an mmap in a far, empty range (it touches
/// nothing the scenario built), as the fuzz harness runs it.
fn caught_by_fuzz_runs(v: Variant) -> Result<(), Failed> {
    let mut s = zoo_scenario(v)?;
    s.steps.push(Step::new(Op::Mmap {
        mm: 0,
        start: 0x7000_0000,
        len: 0x1000,
    }));
    let every = run(&s, v, RunOptions::default()).failure;
    let last = run(
        &s,
        v,
        RunOptions {
            checks: Checks::Final,
            ..RunOptions::default()
        },
    )
    .failure;
    let (Some(every), Some(last)) = (every, last) else {
        return Err(format!("not caught with final checks only:\n{s}").into());
    };
    if every.signature() != last.signature() || every.step != last.step {
        return Err(format!(
            "final checks report another failure than a replay:\nreplay: {every}\nfinal: {last}"
        )
        .into());
    }
    let bytes = encode(&s).map_err(|e| e.to_string())?;
    match check_diff(&bytes, v, None) {
        Ok(()) => Err("the diff fuzz harness does not catch it".into()),
        Err(report) if !report.contains(&every.check) => {
            Err(format!("the diff fuzz harness reports something else:\n{report}").into())
        }
        Err(_) => Ok(()),
    }
}

/// A race zoo variant is found by `explore --race` with its scenario's
/// prefix and (at least two) preemptions, with the scenario's check.
fn caught_by_race_explore(v: Variant) -> Result<(), Failed> {
    let s = zoo_scenario(v)?;
    if s.race.as_ref().is_some_and(|r| !r.schedule.late.is_empty())
        && !rmapfuzz::engine::c::memory_model()
    {
        return Err(format!(
            "{v} needs a store held back, and this build hooks no store: install clang (README)"
        )
        .into());
    }
    let Expect::Fail {
        check: Some(check), ..
    } = &s.header.expect
    else {
        return Err(format!("corpus/zoo/{}.txt: the header must expect a check", v.name).into());
    };
    let race = s
        .race
        .as_ref()
        .ok_or("a race zoo scenario ends with a race")?;
    // The first thread to run is a free choice, not a preemption; a store
    // held back is a choice too.
    let preemptions = race
        .schedule
        .preemptions
        .iter()
        .filter(|p| p.point > 1)
        .count()
        + race.schedule.late.len();
    let bounds = RaceBounds {
        prefix: s.steps.len(),
        width: race.branches.len(),
        preemptions: preemptions.max(2),
    };
    let (_, u) = universe_for(&s);
    let x = explore_races(v, bounds, &u, 2, None, None, &|_| {});
    match x.failure {
        None => Err(format!("explore --race ({bounds:?}) found nothing on {v}").into()),
        Some((_, f)) if &f.check != check => Err(format!(
            "explore --race found another check ({}) than the corpus scenario ({check}):\n{f}",
            f.check
        )
        .into()),
        Some(_) => Ok(()),
    }
}

/// Races of two operations from every state two operations reach, under
/// every schedule with at most two preemptions: nothing on a correct core.
fn correct_passes_race_explore(v: Variant) -> Result<(), Failed> {
    let bounds = RaceBounds {
        prefix: 2,
        ..RaceBounds::default()
    };
    let x = explore_races(v, bounds, &Universe::default(), 2, None, None, &|_| {});
    match x.failure {
        Some((s, f)) => Err(format!("a correct variant failed explore --race:\n{f}\n{s}").into()),
        None if x.schedules < 1000 => {
            Err(format!("explore --race ran only {} schedules", x.schedules).into())
        }
        None => Ok(()),
    }
}

fn correct_passes_explore(v: Variant) -> Result<(), Failed> {
    let u = Universe::default();
    let x = explore(v, 3, &u, 2, None, None, &|_| {});
    match x.failure {
        Some((s, f)) => Err(format!("a correct variant failed explore:\n{f}\n{s}").into()),
        None if x.states < 100 => Err(format!("explore reached only {} states", x.states).into()),
        None => Ok(()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for &v in ZOO {
        trials.push(Trial::test(
            format!("explore-catches::{}", v.name),
            move || caught_by_explore(v),
        ));
        trials.push(Trial::test(
            format!("fuzz-runs-catch::{}", v.name),
            move || caught_by_fuzz_runs(v),
        ));
        trials.push(Trial::test(
            format!("has-a-corpus-scenario::{}", v.name),
            move || zoo_scenario(v).map(|_| ()),
        ));
    }
    for &v in RACE_ZOO {
        trials.push(Trial::test(
            format!("race-explore-catches::{}", v.name),
            move || caught_by_race_explore(v),
        ));
        trials.push(Trial::test(
            format!("has-a-corpus-scenario::{}", v.name),
            move || zoo_scenario(v).map(|_| ()),
        ));
    }
    for v in variant::correct() {
        trials.push(Trial::test(
            format!("explore-passes::{}", v.name),
            move || correct_passes_explore(v),
        ));
        if v.can_race() {
            trials.push(Trial::test(
                format!("race-explore-passes::{}", v.name),
                move || correct_passes_race_explore(v),
            ));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
