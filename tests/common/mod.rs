//! What more than one test file needs.

use std::path::{Path, PathBuf};

use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::oracle::OracleEngine;
use rmapfuzz::engine::variant::Variant;
use rmapfuzz::engine::Engine;
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

/// Every state the hand-written corpus reaches on `variants`, on both
/// engines: `at` sees each after its step, with where it is (`FILE step N
/// on VARIANT`), and returns false to leave the rest of that scenario.
#[allow(dead_code)] // (not every test file that shares this module asks)
pub fn each_corpus_state(
    variants: impl IntoIterator<Item = Variant>,
    mut at: impl FnMut(&str, &mut CEngine, &mut OracleEngine) -> bool,
) {
    for v in variants {
        for (file, s) in hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            let mut o = OracleEngine::for_generation(v.generation);
            for (i, step) in s.steps.iter().enumerate() {
                c.apply(&step.op, step.fail);
                o.apply(&step.op, step.fail);
                if !at(&format!("{file} step {} on {v}", i + 1), &mut c, &mut o) {
                    break;
                }
            }
        }
    }
}
