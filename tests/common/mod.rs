//! What more than one test file needs.

use std::path::{Path, PathBuf};

use rmapfuzz::language::corpus;
use rmapfuzz::language::scenario::Scenario;

/// The hand-written scenarios (`corpus/*.txt`, not its folders), in
/// file order, each with its path.
pub fn hand_written_corpus() -> Vec<(String, Scenario)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    let mut scenarios = corpus::load(&files).expect("corpus scenarios parse");
    scenarios.sort_by(|a, b| a.0.cmp(&b.0));
    scenarios
        .into_iter()
        .map(|(p, s)| (p.display().to_string(), s))
        .collect()
}
