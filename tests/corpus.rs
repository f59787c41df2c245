//! Replays every scenario in `corpus/` on every variant it concerns, sweeps
//! fault injection over those expected to pass, and checks that each file
//! survives a print/parse round trip and a fuzz-input encode/decode round
//! trip, and replays through the fuzz harness function itself. One test per
//! file and variant.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use rmapfuzz::check::runner::{run, RunOptions};
use rmapfuzz::check::sweep::sweep;
use rmapfuzz::engine::variant::Variant;
use rmapfuzz::input::encoding::{decode, encode};
use rmapfuzz::input::fuzzing::check_diff;
use rmapfuzz::language::corpus::scenario_files;
use rmapfuzz::language::expect::{default_variants, expectation, met};
use rmapfuzz::language::parse::{parse_file, parse_scenario};
use rmapfuzz::language::scenario::{Expect, Scenario};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn name_of(path: &Path) -> String {
    path.strip_prefix(corpus_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn load(path: &Path) -> Result<Scenario, Failed> {
    parse_file(path).map_err(|e| e.to_string().into())
}

fn round_trip(path: &Path) -> Result<(), Failed> {
    let s = load(path)?;
    let again = parse_scenario(&s.to_string(), "printed").map_err(|e| e.to_string())?;
    if again != s {
        return Err(
            format!("printing and re-parsing changed the scenario:\n{s}\n---\n{again}").into(),
        );
    }
    if s.steps.is_empty() && s.race.is_none() {
        return Err("scenario has no operations".into());
    }
    Ok(())
}

/// The scenario as a fuzz input decodes back to itself.
fn encoding(path: &Path) -> Result<(), Failed> {
    let s = load(path)?;
    let bytes = encode(&s).map_err(|e| e.to_string())?;
    let back = decode(&bytes);
    if back.steps != s.steps || back.race != s.race {
        return Err(format!("encode/decode changed the operations:\n{s}\n---\n{back}").into());
    }
    Ok(())
}

/// The seed the fuzzers start from passes the `diff` harness as it is.
fn fuzz_replay(path: &Path, v: Variant) -> Result<(), Failed> {
    let s = load(path)?;
    let bytes = encode(&s).map_err(|e| e.to_string())?;
    check_diff(&bytes, v, None).map_err(Failed::from)
}

fn replay(path: &Path, v: Variant) -> Result<(), Failed> {
    let s = load(path)?;
    let expect = expectation(&s, v).ok_or("no expectation for this variant")?;
    let result = run(&s, v, RunOptions::default());
    if met(&expect, result.failure.as_ref()) {
        Ok(())
    } else {
        let got = result
            .failure
            .map_or("every check passed".to_owned(), |f| f.to_string());
        Err(format!("expected {expect:?}, got:\n{got}").into())
    }
}

fn sweep_one(path: &Path, v: Variant) -> Result<(), Failed> {
    let s = load(path)?;
    sweep(&s, v, None)
        .map(|_| ())
        .map_err(|f| f.to_string().into())
}

fn main() {
    let args = Arguments::from_args();
    let files = scenario_files(&[corpus_dir()]).expect("corpus/ holds scenarios");
    let mut trials = Vec::new();
    for file in files {
        let name = name_of(&file);
        let f = file.clone();
        trials.push(Trial::test(format!("format::{name}"), move || {
            round_trip(&f)
        }));
        let f = file.clone();
        trials.push(Trial::test(format!("encoding::{name}"), move || {
            encoding(&f)
        }));
        let Ok(s) = parse_file(&file) else {
            continue; // the format trial reports it
        };
        // A scenario written for a zoo variant must also pass on every
        // correct one: the defect, not the scenario, makes it fail.
        let mut variants = default_variants(&s).unwrap_or_default();
        if variants.iter().any(|v| !v.correct) {
            variants.extend(rmapfuzz::engine::variant::correct());
        }
        for v in variants {
            let f = file.clone();
            trials.push(Trial::test(
                format!("replay::{}::{name}", v.name),
                move || replay(&f, v),
            ));
            if expectation(&s, v) == Some(Expect::Pass) {
                let f = file.clone();
                trials.push(Trial::test(
                    format!("sweep::{}::{name}", v.name),
                    move || sweep_one(&f, v),
                ));
                let f = file.clone();
                trials.push(Trial::test(
                    format!("fuzz-replay::{}::{name}", v.name),
                    move || fuzz_replay(&f, v),
                ));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
