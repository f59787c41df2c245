//! `rmapfuzz triage`: many artifacts grouped by failure signature, so a
//! night of crashes reads as a short list of distinct bugs, each with its
//! smallest reproducer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::known::Known;
use crate::check::report::Signature;
use crate::input::artifact;
use crate::tools::minimize::reproduce;

/// Files in an artifacts directory that are not inputs.
const NOT_INPUTS: &[&str] = &["log", "dot", "svg", "png", "md", "json"];

/// One distinct failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `None`: the inputs that do not fail.
    pub signature: Option<Signature>,
    pub files: Vec<PathBuf>,
    /// The input with the fewest operations (then the smallest file).
    pub smallest: PathBuf,
    pub smallest_steps: usize,
}

/// What triage found: the groups, most frequent first, and the files it
/// could not read (with why).
#[derive(Clone, Debug, Default)]
pub struct Triage {
    pub groups: Vec<Group>,
    pub unreadable: Vec<String>,
}

/// The input files under `dir`, recursively, in sorted order.
pub fn input_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if !path
                .extension()
                .is_some_and(|e| NOT_INPUTS.iter().any(|n| e == *n))
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Groups `files` by the failure each produces (on its header's variant,
/// or `variant`, or the default).
/// `known` warnings are acknowledged, not failures.
pub fn triage(
    files: &[PathBuf],
    variant: Option<&str>,
    known: Known,
    mut progress: impl FnMut(usize),
) -> Triage {
    let mut groups: BTreeMap<Option<Signature>, Group> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (n, file) in files.iter().enumerate() {
        progress(n);
        let input = match artifact::load(file, variant) {
            Ok(i) => i,
            Err(e) => {
                unreadable.push(e.0);
                continue;
            }
        };
        let (steps, signature) = match reproduce(&input.scenario, input.variant, known) {
            Some((s, f)) => (s.steps.len(), Some(f.signature())),
            None => (input.scenario.steps.len(), None),
        };
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(u64::MAX);
        let group = groups.entry(signature.clone()).or_insert_with(|| Group {
            signature,
            files: Vec::new(),
            smallest: file.clone(),
            smallest_steps: steps,
        });
        let smallest_size = std::fs::metadata(&group.smallest)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        if (steps, size) < (group.smallest_steps, smallest_size) {
            group.smallest = file.clone();
            group.smallest_steps = steps;
        }
        group.files.push(file.clone());
    }
    let mut groups: Vec<Group> = groups.into_values().collect();
    // Failures first, most frequent first; the non-failing last.
    groups.sort_by_key(|g| (g.signature.is_none(), std::cmp::Reverse(g.files.len())));
    Triage { groups, unreadable }
}
