//! The commands of the CLI, one file each, and what they share: loading scenarios
//! with their variants, and bad input as an error that exits 2.

pub mod bench;
pub mod c_repro;
pub mod decode;
pub mod dot;
pub mod encode;
pub mod explain;
pub mod explore;
pub mod import;
pub mod kernel_extract;
pub mod known_warnings;
pub mod minimize;
pub mod replay;
pub mod run_inputs;
pub mod sweep;
pub mod triage;

use std::path::PathBuf;
use std::process::ExitCode;

use rmapfuzz::check::known::Known;
use rmapfuzz::check::report::Failure;
use rmapfuzz::engine::variant::{self, Variant};
use rmapfuzz::language::corpus;
use rmapfuzz::language::expect::{default_variants, met};
use rmapfuzz::language::scenario::{Expect, Scenario};

/// Bad input: reported, exit code 2, nothing run.
pub struct InputError(pub Vec<String>);

pub fn load(
    paths: &[PathBuf],
    variant: Option<&str>,
) -> Result<Vec<(PathBuf, Scenario, Vec<Variant>)>, InputError> {
    let chosen = match variant {
        Some(name) => Some(variant::find(name).map_err(|e| InputError(vec![e.to_string()]))?),
        None => None,
    };
    let scenarios = corpus::load(paths)
        .map_err(|errs| InputError(errs.iter().map(|e| e.to_string()).collect()))?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (path, s) in scenarios {
        let variants = match chosen {
            Some(v) => Ok(vec![v]),
            None => default_variants(&s),
        };
        match variants {
            Ok(vs) => out.push((path, s, vs)),
            Err(e) => errors.push(format!("{}: header: {e}", path.display())),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputError(errors))
    }
}

/// Says, once per variant, what it is (the tree, for a kernel variant),
/// what judges it, and what the comparison leaves out.
pub fn announce<'a>(variants: impl IntoIterator<Item = &'a Variant>) {
    let mut seen = Vec::new();
    for v in variants {
        if seen.contains(&v.name) {
            continue;
        }
        seen.push(v.name);
        println!("note  [{v}] {}", v.verdict_basis());
        let relaxed = v.relaxed_checks();
        if !relaxed.is_empty() {
            println!(
                "note  [{v}] has no {}: invariant counter.degree checks its single counter instead",
                relaxed.join(", ")
            );
        }
    }
}

/// Says which known warnings this command acknowledges, before it runs.
pub fn announce_known(known: Known) {
    if let Some(k) = known {
        println!(
            "note  acknowledging known warnings: {} ({} pattern(s)); a warning one matches does not fail a run, every other problem does",
            k.origin(),
            k.patterns().len()
        );
    }
}

/// How many warnings the known ones acknowledged, at the end of a command.
pub fn summarize_known(known: Known) {
    if let Some(k) = known {
        println!("note  {}", k.summary());
    }
}

/// ` (N known warning(s) acknowledged)` after a result, when N > 0.
pub fn acknowledged_note(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} known warning(s) acknowledged)")
    }
}

pub fn describe(expect: &Expect) -> String {
    match expect {
        Expect::Pass => "pass".into(),
        Expect::Fail { check, op } => {
            let mut s = "fail".to_owned();
            if let Some(c) = check {
                s += &format!(" check={c}");
            }
            if let Some(o) = op {
                s += &format!(" op={o}");
            }
            s
        }
    }
}

pub fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| InputError(vec![format!("{}: {e}", path.display())]))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(InputError(vec![format!(
                "{}: no such file or directory",
                path.display()
            )]));
        }
    }
    Ok(files)
}

/// Tallies and prints one (scenario, variant) result.
#[derive(Default)]
pub struct Tally {
    ok: usize,
    failed: usize,
    skipped: usize,
}

impl Tally {
    fn record(
        &mut self,
        path: &std::path::Path,
        v: Variant,
        expect: &Expect,
        failure: Option<&Failure>,
        note: &str,
    ) {
        if met(expect, failure) {
            self.ok += 1;
            println!("ok    {} [{v}]{note}", path.display());
        } else {
            self.failed += 1;
            println!(
                "FAIL  {} [{v}]: expected {}",
                path.display(),
                describe(expect)
            );
            match failure {
                Some(f) => print!("{f}"),
                None => println!("    every check passed"),
            }
        }
    }

    fn finish(&self, what: &str) -> ExitCode {
        println!(
            "{what}: {} ok, {} failed, {} skipped",
            self.ok, self.failed, self.skipped
        );
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}
