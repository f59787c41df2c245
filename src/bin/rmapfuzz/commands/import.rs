//! `rmapfuzz import`: a finding, minimized, into the regression corpus.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::input::artifact;

use super::minimize::{minimize_with_progress, minimized_text};
use super::*;

/// A file name from a failure signature: `counter.num_active_vmas-at-merge`.
pub fn name_from(sig: &rmapfuzz::check::report::Signature) -> String {
    let check = sig.check.trim_start_matches("invariant.");
    let op = sig.op.map_or("teardown", |k| k.name());
    format!("{check}-at-{op}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn import(
    artifact_path: &Path,
    name: Option<&str>,
    variant: Option<&str>,
    dir: &Path,
    known: Known,
) -> Result<ExitCode, InputError> {
    if let Some(n) = name {
        if n.is_empty() || n.contains('/') || n.starts_with('.') {
            return Err(InputError(vec![format!(
                "--name {n:?}: a plain file name, please"
            )]));
        }
    }
    let input = artifact::load(artifact_path, variant).map_err(|e| InputError(vec![e.0]))?;
    announce_known(known);
    let m = minimize_with_progress(&input, known)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| InputError(vec![format!("{}: {e}", dir.display())]))?;
    let stem = name.map_or_else(|| name_from(&m.failure.signature()), str::to_owned);
    let target = dir.join(format!("{}.txt", stem.trim_end_matches(".txt")));
    // A name given on the command line must be free; a derived one is
    // numbered until it is.
    let target = if name.is_some() {
        target
    } else {
        artifact::fresh_path(&target)
    };
    artifact::write_new(&target, &minimized_text(&input, &m, "Imported from"))
        .map_err(|e| InputError(vec![e.0]))?;
    eprint!("{}", m.failure);
    println!(
        "imported {} ({} operations) as {}",
        m.failure.signature(),
        m.scenario.steps.len(),
        target.display()
    );
    summarize_known(known);
    Ok(ExitCode::SUCCESS)
}
