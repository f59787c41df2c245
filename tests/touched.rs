//! The C side's checks look only at the objects an operation touched
//! (csrc/mm/slab.c, "Objects touched"): a VMA or anon_vma no store, no
//! allocation and no free reached since its seal was last looked at is
//! taken to match it still, an anon_vma's tree untouched since its last
//! sound audit to be sound still, and the quarantine untouched by stores
//! to hold what was freed. These tests show that sound, and not
//! vacuously so.
//!
//! - With `RMAPFUZZ_VERIFY_WATCH=1`, each of those also looks at what it
//!   skipped, and stops the process ("rmapfuzz bug") on anything that
//!   changed. Every scenario of `corpus/` (hand-written, grown by
//!   campaigns, zoo: `unlink-frees-before-del` writes to a freed AVC) is
//!   replayed so, and the hand-written ones are swept (every allocation
//!   failed in turn) on both correct cores.
//! - The worlds those runs judge really follow touched objects to their
//!   end, unless they race.
//!
//! (The trees' cores are verified the same way: tests/kernel_trees.rs sets
//! the variable for every command it runs.)

mod common;

use std::path::Path;
use std::process::Command;

use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::variant;
use rmapfuzz::engine::Engine;

fn verified(args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .args(args)
        .current_dir(root)
        .env("RMAPFUZZ_VERIFY_WATCH", "1")
        .output()
        .expect("rmapfuzz runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("rmapfuzz bug"),
        "rmapfuzz {}: {stderr}",
        args.join(" ")
    );
    assert!(
        out.status.success(),
        "rmapfuzz {}: {}\n{stderr}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_corpus_scenario_replays_with_each_skipped_seal_verified() {
    verified(&["replay", "corpus/"]);
}

#[test]
fn the_hand_written_corpus_sweeps_with_each_skipped_seal_verified() {
    let files: Vec<String> = common::hand_written_corpus()
        .into_iter()
        .map(|(file, _)| file)
        .collect();
    for v in ["mainline", "pre-series"] {
        let mut args = vec!["sweep", "--variant", v];
        args.extend(files.iter().map(String::as_str));
        verified(&args);
    }
}

#[test]
fn worlds_follow_touched_objects_unless_they_race() {
    let mut followed = 0;
    for v in variant::all().iter().copied() {
        for (file, s) in common::hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            for step in &s.steps {
                c.apply(&step.op, step.fail);
            }
            assert!(
                c.follows_touched(),
                "{file} on {v}: the world stopped following touched objects"
            );
            followed += 1;
            if let Some(race) = &s.race {
                if c.race(race).is_some() {
                    assert!(
                        !c.follows_touched(),
                        "{file} on {v}: a world that raced still follows"
                    );
                }
            }
        }
    }
    assert!(followed > 100, "only {followed} worlds");
}
