//! `rmapfuzz decode`: a fuzz input to a text scenario.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::check::runner::{run, RunOptions, RunResult};
use rmapfuzz::check::sweep::sweep_step;
use rmapfuzz::engine::variant::{self, Variant};
use rmapfuzz::input::encoding;
use rmapfuzz::language::scenario::{Expect, Scenario, VariantSel};

use super::*;

pub fn decode_one(
    input: &Path,
    out: Option<&Path>,
    variant: Option<&str>,
    sweep_last: bool,
    known: Known,
) -> Result<ExitCode, InputError> {
    let data = std::fs::read(input)
        .map_err(|e| InputError(vec![format!("{}: cannot read: {e}", input.display())]))?;
    let mut s = encoding::decode(&data);
    rmapfuzz::check::watchdog::set_context(input.display().to_string());
    let chosen = match variant
        .map(str::to_owned)
        .or_else(|| std::env::var("RMAPFUZZ_VARIANT").ok())
    {
        Some(name) => Some(variant::find(&name).map_err(|e| InputError(vec![e.to_string()]))?),
        None => None,
    };
    let mut note = String::new();
    if chosen.is_none() && s.race.as_ref().is_some_and(|r| r.pct.is_some()) {
        // PCT is not part of the text format: what it chose is, the
        // schedule a run took. Switch points are counted in the code that
        // runs, so the schedule is the default variant's.
        let v = variant::find(variant::default_variant())
            .map_err(|e| InputError(vec![e.to_string()]))?;
        run_taking_schedule(&mut s, v, known);
        note = format!(
            "# The race's schedule is the one its PCT priorities took on {} (switch points are counted in the code that runs; --variant picks another)\n",
            v.name
        );
        eprintln!(
            "rmapfuzz: the race's schedule is the one it took on {} (PCT is not part of the text format)",
            v.name
        );
    }
    if let Some(v) = chosen {
        let result = run_taking_schedule(&mut s, v, known);
        let failure = match result.failure {
            Some(f) => Some(f),
            None if sweep_last && !s.steps.is_empty() => {
                sweep_step(&s, v, s.steps.len() - 1, known)
                    .err()
                    .map(|f| *f)
            }
            None => None,
        };
        if let Some(injected) = failure.as_ref().and_then(|f| f.scenario.clone()) {
            s = injected;
        }
        s.header.variant = VariantSel::Named(v.name.to_owned());
        match failure {
            Some(f) => {
                eprintln!("{f}");
                s.header.expect = Expect::Fail {
                    check: Some(f.check.clone()),
                    op: f.op.map(|st| st.op.kind()),
                };
            }
            None => eprintln!("rmapfuzz: {} does not fail on {}", input.display(), v.name),
        }
    }
    let text = format!("# Decoded from {}\n{note}{s}", input.display());
    match out {
        None => print!("{text}"),
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| {
                    InputError(vec![format!("{}: {e} (not overwriting)", path.display())])
                })?;
            file.write_all(text.as_bytes())
                .map_err(|e| InputError(vec![format!("{}: {e}", path.display())]))?;
            eprintln!("rmapfuzz: wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `s` on `v` with its schedule as a suggestion (a fuzz input's is a
/// hint, and PCT not part of the text format), then gives its race the
/// schedule the run took, which replays it.
fn run_taking_schedule(s: &mut Scenario, v: Variant, known: Known) -> RunResult {
    let opts = RunOptions {
        known,
        loose_schedules: true,
        ..RunOptions::default()
    };
    let result = run(s, v, opts);
    if let (Some(race), Some(ran)) = (s.race.as_mut(), &result.race) {
        race.schedule = ran.taken.clone();
        race.pct = None;
    }
    result
}
