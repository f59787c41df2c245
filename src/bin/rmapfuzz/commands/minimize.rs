//! `rmapfuzz minimize`: a failing scenario or artifact, shrunk.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::input::artifact;
use rmapfuzz::tools::minimize::{minimize, Minimized};

use super::*;

/// A spinner on stderr while the minimizer runs.
pub fn minimize_with_progress(
    input: &artifact::Input,
    known: Known,
) -> Result<Minimized, InputError> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} minimizing [{elapsed}] {msg}")
            .expect("valid template"),
    );
    rmapfuzz::check::watchdog::set_context(format!(
        "a candidate of the minimization of {}",
        input.path.display()
    ));
    let result = minimize(&input.scenario, input.variant, known, |p| {
        bar.set_message(format!(
            "{} ops, {} runs, pass: {}",
            p.steps, p.runs, p.pass
        ));
        bar.tick();
    });
    bar.finish_and_clear();
    result.map_err(|e| InputError(vec![format!("{}: {e}", input.path.display())]))
}

pub fn minimized_text(input: &artifact::Input, m: &Minimized, how: &str) -> String {
    format!(
        "# {how} {} by rmapfuzz: {} -> {} operations ({} runs).\n# Signature: {}\n{}",
        input.path.display(),
        input.scenario.steps.len(),
        m.scenario.steps.len(),
        m.runs,
        m.failure.signature(),
        m.scenario
    )
}

pub fn minimize_one(
    input: &Path,
    out: Option<&Path>,
    variant: Option<&str>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    announce_known(known);
    let m = minimize_with_progress(&input, known)?;
    let out = out.map_or_else(|| artifact::next_to(&input.path, "min.txt"), Path::to_owned);
    artifact::write_new(&out, &minimized_text(&input, &m, "Minimized from"))
        .map_err(|e| InputError(vec![e.0]))?;
    eprint!("{}", m.failure);
    println!(
        "{} -> {} operations: {}",
        input.scenario.steps.len(),
        m.scenario.steps.len(),
        out.display()
    );
    summarize_known(known);
    Ok(ExitCode::SUCCESS)
}
