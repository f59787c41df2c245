//! `rmapfuzz run-inputs`: fuzz inputs through the `diff` harness, no fuzzer.

use std::path::PathBuf;
use std::process::ExitCode;

use rmapfuzz::engine::variant::{self};

use super::*;

pub fn run_inputs(
    paths: &[PathBuf],
    variant: Option<&str>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let v = variant::find(variant.unwrap_or(variant::default_variant()))
        .map_err(|e| InputError(vec![e.to_string()]))?;
    let mut tally = Tally::default();
    announce_known(known);
    for file in input_files(paths)? {
        rmapfuzz::check::watchdog::set_context(file.display().to_string());
        let data = std::fs::read(&file)
            .map_err(|e| InputError(vec![format!("{}: {e}", file.display())]))?;
        match rmapfuzz::input::fuzzing::check_diff(&data, v, known) {
            Ok(()) => tally.ok += 1,
            Err(report) => {
                tally.failed += 1;
                println!("FAIL  {} [{v}]\n{report}", file.display());
            }
        }
    }
    summarize_known(known);
    Ok(tally.finish("run-inputs"))
}
