//! `rmapfuzz explain`: a scenario step by step, and its first failure.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::input::artifact;

use super::*;

pub fn explain_one(
    input: &Path,
    variant: Option<&str>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    announce_known(known);
    rmapfuzz::check::watchdog::set_context(input.path.display().to_string());
    let x = rmapfuzz::tools::explain::explain(&input.scenario, input.variant, known);
    println!(
        "{}: {} operations",
        input.path.display(),
        input.scenario.steps.len()
    );
    print!("{}", x.text);
    Ok(if x.failure.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
