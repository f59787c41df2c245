//! `rmapfuzz bench`: the measurements behind scripts/bench.

use std::path::PathBuf;
use std::process::ExitCode;

use rmapfuzz::engine::variant::{self};

use super::*;
use crate::BenchCommand;

pub fn bench(b: &BenchCommand) -> Result<ExitCode, InputError> {
    let find = |name: &str| variant::find(name).map_err(|e| InputError(vec![e.to_string()]));
    match b {
        BenchCommand::Throughput {
            inputs,
            ops,
            variant,
            profile,
        } => {
            let v = find(variant)?;
            let set = rmapfuzz::tools::bench::inputs(*inputs, *ops, 0x5eed);
            if let Some(checks) = profile {
                let checks = match checks.as_str() {
                    "final" => rmapfuzz::check::runner::Checks::Final,
                    _ => rmapfuzz::check::runner::Checks::EveryStep,
                };
                rmapfuzz::tools::bench::differential_only(&set, v, checks);
                return Ok(ExitCode::SUCCESS);
            }
            let t = rmapfuzz::tools::bench::throughput(&set, v);
            print!(
                "{}",
                rmapfuzz::tools::bench::throughput_table(
                    &t,
                    &format!("{v}, {inputs} scenarios of {ops} ops")
                )
            );
        }
        BenchCommand::Scaling {
            budget,
            lengths,
            variant,
        } => {
            let v = find(variant)?;
            if let Some(&bad) = lengths.iter().find(|&&n| n == 0 || n > *budget) {
                return Err(InputError(vec![format!(
                    "bench scaling: --lengths: {bad} operations per scenario: each must be at least 1 and at most the budget ({budget})"
                )]));
            }
            print!(
                "{}",
                rmapfuzz::tools::bench::scaling_table(v, lengths, *budget)
            );
        }
        BenchCommand::Checks { variant } => {
            let v = find(variant)?;
            let corpus = rmapfuzz::language::corpus::load(&[PathBuf::from("corpus")])
                .map_err(|errs| InputError(errs.iter().map(|e| e.to_string()).collect()))?;
            let mut zoo = Vec::new();
            for &z in variant::ZOO {
                let path = PathBuf::from(format!("corpus/zoo/{}.txt", z.name));
                let s = rmapfuzz::language::parse::parse_file(&path)
                    .map_err(|e| InputError(vec![e.to_string()]))?;
                zoo.push((z, path, s));
            }
            let ex = rmapfuzz::check::coverage::exercised(&corpus, v);
            let broken = rmapfuzz::check::coverage::broken_by_zoo(&zoo);
            print!("{}", rmapfuzz::check::coverage::table(&ex, &broken, v));
        }
        BenchCommand::ExploreZoo { jobs } => {
            println!(
                "| variant | depth (universe of its corpus scenario) | classes of states | seconds | found |"
            );
            println!("|---|---|---|---|---|");
            for &v in variant::ZOO {
                let path = PathBuf::from(format!("corpus/zoo/{}.txt", v.name));
                let s = rmapfuzz::language::parse::parse_file(&path)
                    .map_err(|e| InputError(vec![e.to_string()]))?;
                let (depth, states, secs, found) =
                    rmapfuzz::tools::bench::explore_zoo(v, &s, *jobs);
                println!(
                    "| `{}` | {depth} | {states} | {secs:.2} | {} |",
                    v.name,
                    if found { "yes" } else { "NO" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
