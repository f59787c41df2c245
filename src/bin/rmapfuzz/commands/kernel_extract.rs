//! `rmapfuzz kernel-extract`: what the kernel variant takes from a tree.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use rmapfuzz::engine::kernel_build;

use super::*;

pub fn kernel_extract(tree: &Path, out: &Path) -> Result<ExitCode, InputError> {
    let x = rmap_extract::extract(tree).map_err(|e| InputError(vec![e.to_string()]))?;
    std::fs::create_dir_all(out)
        .map_err(|e| InputError(vec![format!("{}: {e}", out.display())]))?;
    let mut listing = format!(
        "# Linux {} ({} generation), taken from {}\n",
        x.version,
        x.generation,
        tree.display()
    );
    for t in &x.taken {
        listing += &format!("{}:{}: {:?} {}\n", t.file.display(), t.line, t.kind, t.name);
    }
    for (name, text) in [
        (rmap_extract::OUTPUT_FILE, &x.source),
        ("TAKEN.txt", &listing),
    ] {
        let path = out.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| InputError(vec![format!("{}: {e} (not overwriting)", path.display())]))?;
        file.write_all(text.as_bytes())
            .map_err(|e| InputError(vec![format!("{}: {e}", path.display())]))?;
    }
    let unit = out.join(rmap_extract::OUTPUT_FILE);
    // What the build would say of it: refused here, not at build time.
    if let Err(report) = kernel_build::compile_check(&unit) {
        eprint!("{report}");
        return Err(InputError(vec![format!(
            "{} does not compile (written as it is, with TAKEN.txt, for a look)",
            unit.display()
        )]));
    }
    println!(
        "Linux {} ({} generation): {} items taken into {}",
        x.version,
        x.generation,
        x.taken.len(),
        unit.display()
    );
    match &x.read_side_absent {
        None => println!(
            "read side: the tree's own ({})",
            rmap_extract::READ_SIDE_FUNCTIONS.join(", ")
        ),
        Some(why) => println!("read side: rmapfuzz's, for {why}"),
    }
    Ok(ExitCode::SUCCESS)
}
