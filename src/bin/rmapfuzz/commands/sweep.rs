//! `rmapfuzz sweep`: replay with every allocation failed in turn.

use std::path::PathBuf;
use std::process::ExitCode;

use rmapfuzz::check::sweep::sweep;
use rmapfuzz::language::expect::expectation;
use rmapfuzz::language::scenario::Expect;

use super::*;

pub fn sweep_all(
    paths: &[PathBuf],
    variant: Option<&str>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let mut tally = Tally::default();
    let loaded = load(paths, variant)?;
    announce(loaded.iter().flat_map(|l| &l.2));
    announce_known(known);
    for (path, s, variants) in loaded {
        rmapfuzz::check::watchdog::set_context(format!("sweep of {}", path.display()));
        for v in variants {
            match expectation(&s, v) {
                Some(Expect::Pass) => {}
                _ => {
                    tally.skipped += 1;
                    println!(
                        "skip  {} [{v}]: sweeps only scenarios expected to pass",
                        path.display()
                    );
                    continue;
                }
            }
            let before = known.map_or(0, |k| k.total());
            let (failure, mut note) = match sweep(&s, v, known) {
                Ok(stats) => (
                    None,
                    format!(" ({} injections, {} runs)", stats.injections, stats.runs),
                ),
                Err(f) => (Some(*f), String::new()),
            };
            note += &acknowledged_note(known.map_or(0, |k| k.total()) - before);
            tally.record(&path, v, &Expect::Pass, failure.as_ref(), &note);
        }
    }
    summarize_known(known);
    Ok(tally.finish("sweep"))
}
