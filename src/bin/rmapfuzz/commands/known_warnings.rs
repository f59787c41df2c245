//! `rmapfuzz known-warnings FILE`: check a known-warnings file and list its
//! patterns (the scripts run it before a campaign starts).

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::check::known::KnownWarnings;

use super::*;

pub fn check_file(file: &Path) -> Result<ExitCode, InputError> {
    let k = KnownWarnings::load(file).map_err(|e| InputError(vec![e.to_string()]))?;
    println!("{}: {} pattern(s)", k.origin(), k.patterns().len());
    for p in k.patterns() {
        println!("  line {:>4}  {}", p.line, p.text);
    }
    Ok(ExitCode::SUCCESS)
}
