//! `rmapfuzz c-repro`: a standalone C reproducer.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::input::artifact;

use super::*;

pub fn c_repro(input: &Path, out: &Path, variant: Option<&str>) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    let name = out.file_name().map_or_else(
        || "repro.c".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let repro = rmapfuzz::tools::c_repro::generate(&input.scenario, input.variant, &name)
        .map_err(|e| InputError(vec![format!("{}: {e}", input.path.display())]))?;
    let unit_path = repro
        .kernel
        .as_ref()
        .map(|k| out.with_file_name(&k.file_name));
    if let Some(p) = unit_path.as_ref().filter(|p| p.exists()) {
        return Err(InputError(vec![format!(
            "{}: already exists (not overwriting)",
            p.display()
        )]));
    }
    artifact::write_new(out, &repro.source).map_err(|e| InputError(vec![e.0]))?;
    println!("wrote {}", out.display());
    if let (Some(k), Some(p)) = (&repro.kernel, &unit_path) {
        artifact::write_new(p, &k.source).map_err(|e| InputError(vec![e.0]))?;
        println!("wrote {} ({})", p.display(), k.what);
    }
    if !repro.native {
        eprintln!(
            "rmapfuzz: check {} compares with the Rust side; the program runs every C check instead and says when they find nothing",
            repro.failure.check
        );
    }
    let binary = name.strip_suffix(".c").unwrap_or("repro");
    let copied = match &repro.kernel {
        Some(k) => format!("{name} and {}", k.file_name),
        None => name.clone(),
    };
    println!(
        "build and run from the rmapfuzz checkout (with {copied} copied there):\n  {} && ./{binary}",
        rmapfuzz::tools::c_repro::build_command(&name, binary, repro.kernel.as_ref())
    );
    Ok(ExitCode::SUCCESS)
}
