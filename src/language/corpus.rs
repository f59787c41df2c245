//! Finding scenario files and loading them.

use std::path::{Path, PathBuf};

use crate::language::parse::{parse_file, ParseError};
use crate::language::scenario::Scenario;

/// Why a set of paths could not be turned into scenarios.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    #[error("{0}: cannot read directory: {1}")]
    Unreadable(PathBuf, std::io::Error),
    #[error("{0}: no scenario files (*.txt) found")]
    Empty(PathBuf),
    #[error("{0}")]
    Parse(#[from] ParseError),
}

/// The `*.txt` files named by `paths`: files as given, directories searched
/// recursively, in sorted order.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() {
            out.push(path.clone());
        } else if path.is_dir() {
            let before = out.len();
            collect_dir(path, &mut out)?;
            if out.len() == before {
                return Err(LoadError::Empty(path.clone()));
            }
        } else {
            return Err(LoadError::Missing(path.clone()));
        }
    }
    Ok(out)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| LoadError::Unreadable(dir.to_path_buf(), e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "txt") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every scenario under `paths`, or every parse error found (all of them,
/// so one run shows everything to fix).
pub fn load(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Scenario)>, Vec<LoadError>> {
    let files = scenario_files(paths).map_err(|e| vec![e])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match parse_file(&file) {
            Ok(s) => scenarios.push((file, s)),
            Err(e) => errors.push(LoadError::Parse(e)),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}
