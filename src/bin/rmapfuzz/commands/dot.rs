//! `rmapfuzz dot`: the world after a step, as Graphviz.

use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::input::artifact;

use super::*;

pub fn dot_one(
    input: &Path,
    step: Option<usize>,
    out: Option<&Path>,
    variant: Option<&str>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    let (graph, step) = rmapfuzz::tools::dot::picture(&input.scenario, input.variant, step, known)
        .map_err(|e| InputError(vec![format!("{}: {e}", input.path.display())]))?;
    let out = out.map_or_else(
        || artifact::next_to(&input.path, &format!("step{step}.dot")),
        Path::to_owned,
    );
    artifact::write_new(&out, &graph).map_err(|e| InputError(vec![e.0]))?;
    println!("wrote {}", out.display());
    let svg = artifact::fresh_path(&out.with_extension("svg"));
    match std::process::Command::new("dot")
        .arg("-Tsvg")
        .arg(&out)
        .arg("-o")
        .arg(&svg)
        .status()
    {
        Ok(s) if s.success() => println!("wrote {}", svg.display()),
        Ok(s) => eprintln!("rmapfuzz: dot -Tsvg failed ({s}); the .dot file is there"),
        Err(_) => {
            eprintln!("rmapfuzz: graphviz `dot` not installed (apt-get install graphviz): no .svg")
        }
    }
    Ok(ExitCode::SUCCESS)
}
