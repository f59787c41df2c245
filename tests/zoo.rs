//! The bug zoo: every zoo variant is caught - by its scenario in
//! `corpus/zoo/` (replayed by tests/corpus.rs as "must fail with this
//! signature") and by `explore` at the depth of that scenario, in a
//! universe just large enough for it - and the correct variants pass
//! `explore` to a small depth.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use rmapfuzz::explore::{explore, universe_for, Universe};
use rmapfuzz::parse::parse_file;
use rmapfuzz::scenario::{Expect, Scenario};
use rmapfuzz::variant::{self, Variant, ZOO};

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
    let x = explore(v, depth, &u, threads, None, &|_| {});
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

fn correct_passes_explore(v: Variant) -> Result<(), Failed> {
    let u = Universe::default();
    let x = explore(v, 3, &u, 2, None, &|_| {});
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
            format!("has-a-corpus-scenario::{}", v.name),
            move || zoo_scenario(v).map(|_| ()),
        ));
    }
    for v in variant::correct() {
        trials.push(Trial::test(
            format!("explore-passes::{}", v.name),
            move || correct_passes_explore(v),
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
