//! `rmapfuzz triage`: artifacts grouped by failure signature.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::engine::variant::{self};

use super::*;

pub fn triage_dir(dir: &Path, variant: Option<&str>, known: Known) -> Result<ExitCode, InputError> {
    if !dir.is_dir() {
        return Err(InputError(vec![format!(
            "{}: no such directory",
            dir.display()
        )]));
    }
    if let Some(v) = variant {
        variant::find(v).map_err(|e| InputError(vec![e.to_string()]))?;
    }
    let files = rmapfuzz::tools::triage::input_files(dir)
        .map_err(|e| InputError(vec![format!("{}: {e}", dir.display())]))?;
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("triage [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template"),
    );
    announce_known(known);
    rmapfuzz::check::watchdog::set_context(format!("triage of {}", dir.display()));
    let t = rmapfuzz::tools::triage::triage(&files, variant, known, |n| bar.set_position(n as u64));
    bar.finish_and_clear();
    let failing = t.groups.iter().filter(|g| g.signature.is_some()).count();
    println!(
        "{} input(s), {failing} distinct failure(s) in {}",
        files.len(),
        dir.display()
    );
    for g in &t.groups {
        let what = g
            .signature
            .as_ref()
            .map_or("(does not fail)".to_owned(), ToString::to_string);
        println!(
            "{:>5}  {what}  smallest: {} ({} ops)",
            g.files.len(),
            g.smallest.display(),
            g.smallest_steps
        );
    }
    for e in &t.unreadable {
        println!("  bad  {e}");
    }
    summarize_known(known);
    Ok(ExitCode::SUCCESS)
}
