//! `rmapfuzz encode`: scenarios to fuzz inputs (seeds).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rmapfuzz::input::encoding;
use rmapfuzz::language::corpus;

use super::*;

pub fn encode_all(paths: &[PathBuf], out: &Path) -> Result<ExitCode, InputError> {
    let scenarios = corpus::load(paths)
        .map_err(|errs| InputError(errs.iter().map(|e| e.to_string()).collect()))?;
    std::fs::create_dir_all(out)
        .map_err(|e| InputError(vec![format!("{}: {e}", out.display())]))?;
    let mut written = 0;
    for (path, s) in scenarios {
        let bytes = encoding::encode(&s)
            .map_err(|e| InputError(vec![format!("{}: cannot encode: {e}", path.display())]))?;
        let name = path
            .file_stem()
            .map_or_else(|| "scenario".into(), |n| n.to_string_lossy().into_owned());
        let target = out.join(format!("{name}.bin"));
        std::fs::write(&target, bytes)
            .map_err(|e| InputError(vec![format!("{}: {e}", target.display())]))?;
        written += 1;
    }
    println!("encoded {written} scenario(s) into {}", out.display());
    Ok(ExitCode::SUCCESS)
}
