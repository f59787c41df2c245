//! `rmapfuzz explore`: every operation sequence up to a depth.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::engine::variant::{self};
use rmapfuzz::input::artifact;

use super::*;

/// The variant and worker count of an exploration, its universe checked,
/// its known warnings announced and the watchdog told what runs.
fn prepare(
    variant_name: &str,
    universe: &rmapfuzz::tools::explore::Universe,
    jobs: Option<usize>,
    known: Known,
    context: String,
) -> Result<(rmapfuzz::engine::variant::Variant, usize), InputError> {
    let v = variant::find(variant_name).map_err(|e| InputError(vec![e.to_string()]))?;
    if universe.mms == 0 || universe.pages == 0 {
        return Err(InputError(vec![
            "--mms and --pages must be at least 1".into()
        ]));
    }
    announce_known(known);
    rmapfuzz::check::watchdog::set_context(context);
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Ok((v, threads))
}

pub fn explore_cmd(
    depth: usize,
    universe: &rmapfuzz::tools::explore::Universe,
    variant_name: &str,
    time_limit: Option<u64>,
    jobs: Option<usize>,
    out: Option<&Path>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let (v, threads) = prepare(
        variant_name,
        universe,
        jobs,
        known,
        format!("explore --depth {depth}"),
    )?;
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "explore depth {msg} [{bar:30}] {pos}/{len} states [{elapsed}]",
        )
        .expect("valid template"),
    );
    let progress = |p: rmapfuzz::tools::explore::Progress| {
        bar.set_length(p.level_size as u64);
        bar.set_position(p.level_done as u64);
        bar.set_message(format!("{} ({} known)", p.depth, p.states));
    };
    let x = rmapfuzz::tools::explore::explore(
        v,
        depth,
        universe,
        threads,
        time_limit.map(std::time::Duration::from_secs),
        known,
        &progress,
    );
    bar.finish_and_clear();
    let secs = x.elapsed.as_secs_f64().max(1e-9);
    let states = if universe.by_class {
        format!("{} classes of states (equal up to process names)", x.states)
    } else {
        format!("{} states in {} classes", x.states, x.classes)
    };
    println!(
        "explore {v}: depth {} of {depth} complete, {states}, {} runs in {:.1} s ({:.0} states/s, {:.0} runs/s, {threads} thread(s)){}",
        x.depth,
        x.runs,
        secs,
        x.states as f64 / secs,
        x.runs as f64 / secs,
        if x.timed_out { ", stopped at the time limit" } else { "" }
    );
    summarize_known(known);
    match &x.failure {
        None => {
            println!("no failure");
            Ok(ExitCode::SUCCESS)
        }
        Some((s, f)) => {
            print!("{f}");
            let text = format!(
                "# Found by rmapfuzz explore --depth {depth} --mms {} --pages {}{}: a shortest failing path.\n{s}",
                universe.mms,
                universe.pages,
                if universe.base == rmapfuzz::tools::explore::DEFAULT_BASE {
                    String::new()
                } else {
                    format!(" --base {:#x}", universe.base)
                }
            );
            println!("--- scenario ---\n{text}");
            if let Some(out) = out {
                artifact::write_new(out, &text).map_err(|e| InputError(vec![e.0]))?;
                println!("wrote {}", out.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// `rmapfuzz explore --race`: races from every short prefix's state.
pub fn race_cmd(
    bounds: rmapfuzz::tools::race_explore::RaceBounds,
    universe: &rmapfuzz::tools::explore::Universe,
    variant_name: &str,
    time_limit: Option<u64>,
    jobs: Option<usize>,
    out: Option<&Path>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let (v, threads) = prepare(
        variant_name,
        universe,
        jobs,
        known,
        format!(
            "explore --race --depth {} --preemptions {}",
            bounds.prefix, bounds.preemptions
        ),
    )?;
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "explore races [{bar:30}] {pos}/{len} states, {msg} schedules [{elapsed}]",
        )
        .expect("valid template"),
    );
    let progress = |p: rmapfuzz::tools::race_explore::RaceProgress| {
        bar.set_length(p.states as u64);
        bar.set_position(p.states_done as u64);
        bar.set_message(p.schedules.to_string());
    };
    let x = rmapfuzz::tools::race_explore::explore_races(
        v,
        bounds,
        universe,
        threads,
        time_limit.map(std::time::Duration::from_secs),
        known,
        &progress,
    );
    bar.finish_and_clear();
    let secs = x.elapsed.as_secs_f64().max(1e-9);
    let per: Vec<String> = x
        .by_preemptions
        .iter()
        .enumerate()
        .map(|(k, n)| format!("{n} with {k}"))
        .collect();
    println!(
        "explore --race {v}: {} states (prefixes of at most {} operations), {} races of {}, {} schedules ({}) in {:.1} s ({:.0} schedules/s, {threads} thread(s)){}",
        x.states,
        bounds.prefix,
        x.races,
        bounds.width,
        x.schedules,
        per.join(", "),
        secs,
        x.schedules as f64 / secs,
        if x.timed_out { ", stopped at the time limit" } else { "" }
    );
    summarize_known(known);
    match &x.failure {
        None => {
            println!("no failure");
            Ok(ExitCode::SUCCESS)
        }
        Some((s, f)) => {
            print!("{f}");
            let text = format!(
                "# Found by rmapfuzz explore --race --depth {} --preemptions {} --mms {} --pages {}: a shortest prefix, the fewest preemptions.\n{s}",
                bounds.prefix, bounds.preemptions, universe.mms, universe.pages,
            );
            println!("--- scenario ---\n{text}");
            if let Some(out) = out {
                artifact::write_new(out, &text).map_err(|e| InputError(vec![e.0]))?;
                println!("wrote {}", out.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}
