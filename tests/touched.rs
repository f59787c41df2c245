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

use rmapfuzz::check::snapshot::canonicalize;
use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::oracle::OracleEngine;
use rmapfuzz::engine::variant::{self, Mode, Reference};
use rmapfuzz::engine::{Changes, Engine};

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

/// Partial snapshots (`rf_world_snapshot_changed()`, src/engine/kept.rs)
/// serve every step after the first, wherever the world follows its
/// stores and holds only live references and its last report was handed
/// back: the patching above is checked on the snapshots checks really
/// take. After a race a world no longer follows, and its snapshots are
/// whole again; so is one whose last report was kept, or that was handed
/// back another report.
#[test]
fn snapshots_after_the_first_are_patched_from_what_changed() {
    let (mut patched, mut worlds) = (0, 0);
    for v in variant::all().iter().copied() {
        for (file, s) in common::hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            c.patch_always();
            let first = c.snapshot();
            c.recycle(first);
            let mut taken = 1;
            for step in &s.steps {
                c.apply(&step.op, step.fail);
                taken += 1;
                let raw = c.snapshot();
                if !canonicalize(&raw).refers_only_to_live() {
                    break;
                }
                c.recycle(raw);
            }
            let (p, w) = c.snapshot_counts();
            assert_eq!(p + w, taken, "{file} on {v}");
            // The first two (a world snapshot once is not kept), and one
            // that met a freed or foreign reference.
            assert!(w <= 3, "{file} on {v}: {w} of {taken} taken whole");
            patched += p;
            worlds += 1;
            if let Some(race) = &s.race {
                if c.race(race).is_some() {
                    let raw = c.snapshot();
                    c.recycle(raw);
                    c.snapshot();
                    assert_eq!(
                        c.snapshot_counts(),
                        (p, w + 2),
                        "{file} on {v}: a world that raced is snapshot whole"
                    );
                }
            }
        }
    }
    assert!(
        worlds > 100 && patched > 1000,
        "{patched} patched in {worlds} worlds"
    );
}

/// A report is patched into the next only when it is the one handed out
/// last, handed back: a world's reports kept by their taker, or another
/// world's handed to it, leave it nothing to patch, and it snapshots whole.
#[test]
fn only_the_report_handed_back_is_patched() {
    let (_, s) = common::hand_written_corpus()
        .into_iter()
        .find(|(_, s)| s.steps.len() >= 4 && s.race.is_none())
        .expect("a scenario of four steps");
    let mut c = CEngine::new("mainline").expect("mainline");
    c.patch_always();
    let mut other = CEngine::new("mainline").expect("mainline");
    c.snapshot();
    other.snapshot();
    let kept = c.snapshot();
    let foreign = other.snapshot();
    let counts = c.snapshot_counts();
    c.apply(&s.steps[0].op, s.steps[0].fail);
    let held = c.snapshot();
    assert_eq!(c.snapshot_counts(), (counts.0, counts.1 + 1), "kept: whole");
    drop(kept);
    c.recycle(foreign);
    c.apply(&s.steps[1].op, s.steps[1].fail);
    let next = c.snapshot();
    assert_eq!(
        c.snapshot_counts(),
        (counts.0, counts.1 + 2),
        "another's: whole"
    );
    drop(held);
    c.recycle(next);
    c.apply(&s.steps[2].op, s.steps[2].fail);
    let patched = c.snapshot();
    assert_eq!(
        c.snapshot_counts(),
        (counts.0 + 1, counts.1 + 2),
        "its own: patched"
    );
    let mut fresh = CEngine::new("mainline").expect("mainline");
    for step in &s.steps[..3] {
        fresh.apply(&step.op, step.fail);
    }
    assert_eq!(patched, fresh.snapshot());
}

/// The reference compares its state with the C side's report only where
/// either side changed since a step that found them alike
/// (`Engine::snapshot_unless_changed`), and that verdict is the whole
/// comparison's at every step of the hand-written corpus, on every core
/// compared strictly with it: the correct ones, where the two stay
/// alike, and the zoo's, where a bug's first difference must be seen
/// where changed too. A world changed where neither side says is a bug
/// of rmapfuzz. Each world's C side patches, and its reference follows,
/// whatever its size.
#[test]
fn the_reference_compares_where_either_side_changed() {
    let (mut partly, mut steps, mut parted) = (0, 0, 0);
    let strict = variant::all()
        .iter()
        .filter(|v| v.mode == Mode::Strict && v.reference == Reference::Oracle);
    for v in strict {
        for (file, s) in common::hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            c.patch_always();
            let mut o = OracleEngine::for_generation(v.generation);
            o.follow_always();
            let first = c.snapshot();
            if o.snapshot_unless(&first).is_some() {
                continue;
            }
            c.recycle(first);
            for (i, step) in s.steps.iter().enumerate() {
                c.apply(&step.op, step.fail);
                o.apply(&step.op, step.fail);
                let raw = c.snapshot();
                let whole = o.clone().snapshot_unless(&raw).is_none();
                let alike = match c.changes() {
                    Some(changed) => o.snapshot_unless_changed(&raw, &changed).is_none(),
                    None => o.snapshot_unless(&raw).is_none(),
                };
                assert_eq!(
                    alike, whole,
                    "{file} on {v}, step {i}: alike where changed, and whole"
                );
                steps += 1;
                if !alike {
                    parted += 1;
                    break;
                }
                c.recycle(raw);
            }
            partly += o.comparison_counts().0;
        }
    }
    assert!(
        partly > 5000 && partly * 2 > steps && parted > 30,
        "{partly} of {steps} steps compared where changed, {parted} worlds parted"
    );
}

/// What the C side names is compared even where the reference changed
/// nothing: a record only the C side wrote (a bug's stray write) is found
/// where it is named, and, as the contract of `Engine::changes` says,
/// only there.
#[test]
fn a_record_only_the_c_side_changed_is_compared() {
    let (_, s) = common::hand_written_corpus()
        .into_iter()
        .find(|(_, s)| s.race.is_none() && s.steps.len() >= 3)
        .expect("a scenario of three steps");
    let mut c = CEngine::new("mainline").expect("mainline");
    let mut o = OracleEngine::new();
    o.follow_always();
    for step in &s.steps {
        c.apply(&step.op, step.fail);
        o.apply(&step.op, step.fail);
    }
    let raw = c.snapshot();
    assert!(o.snapshot_unless(&raw).is_none(), "alike to begin with");
    assert!(!raw.vmas.is_empty());
    let mut stray = raw.clone();
    stray.vmas[0].flags ^= 1;
    let mut named = Changes::default();
    named.records[0] = vec![0];
    assert!(
        o.snapshot_unless_changed(&stray, &Changes::default())
            .is_none(),
        "not named, not compared"
    );
    assert!(
        o.snapshot_unless_changed(&stray, &named).is_some(),
        "named, compared"
    );
}

/// A patched report's changes say it is the one before exactly when it
/// is, record for record (`Changes::undone`: the rollback verdict of a
/// failed step, and a step that wrote only what it then undid), over
/// every step of the hand-written corpus on every variant, failed steps
/// included; and both answers come up.
#[test]
fn a_patch_says_when_the_report_is_the_one_before() {
    let (mut same, mut differ) = (0, 0);
    for v in variant::all().iter().copied() {
        for (file, s) in common::hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            c.patch_always();
            let mut before = c.snapshot();
            c.recycle_copy(&before);
            for (i, step) in s.steps.iter().enumerate() {
                c.apply(&step.op, step.fail);
                let raw = c.snapshot();
                if let Some(changes) = c.changes() {
                    assert_eq!(
                        changes.undone(&raw),
                        raw == before,
                        "{file} on {v}, step {}: undone as the reports say",
                        i + 1
                    );
                    if raw == before {
                        same += 1;
                    } else {
                        differ += 1;
                    }
                }
                c.recycle_copy(&raw);
                before = raw;
            }
        }
    }
    eprintln!("{same} the same, {differ} not");
    assert!(
        same > 1000 && differ > 3000,
        "{same} the same, {differ} not"
    );
}
