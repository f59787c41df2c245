//! The fuzz build instruments the C side: the harness objects carry
//! libFuzzer's inline 8-bit counters and AddressSanitizer checks, and
//! libFuzzer's start-up line counts them on top of the Rust ones. Without
//! the clang flags in ffi/build.rs this fails. The build is the one
//! `scripts/fuzz` runs (`scripts/lib/cargo-fuzz`): of the Rust crates only
//! the oracle carries counters, and the machinery of the C side none.
//!
//! The same build, run on a world that holds a dangling pointer, reports
//! the named check (`ref.dangling`), not an AddressSanitizer abort inside
//! the harness's own snapshot code.
//!
//! It needs nightly Rust and cargo-fuzz. Without them it prints
//! "skipped: ..." and passes, unless RMAPFUZZ_REQUIRE_FUZZ_BUILD=1 (CI sets
//! it), in which case a missing tool is a failure. The fuzz build goes
//! where cargo puts it: `CARGO_TARGET_DIR` when set, else `fuzz/target`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory of the fuzz build: the user's `CARGO_TARGET_DIR`
/// (relative ones are taken from the checkout), else `fuzz/target`.
fn fuzz_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => root().join(dir),
        None => root().join("fuzz").join("target"),
    }
}

/// `rmapfuzz encode SCENARIOS -o DIR`: one fuzz input per scenario, named
/// after it (`NAME.bin`).
fn encode(scenarios: impl IntoIterator<Item = PathBuf>, dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("encode")
        .args(scenarios)
        .arg("-o")
        .arg(dir)
        .output()
        .expect("rmapfuzz encode");
    assert!(out.status.success(), "{out:?}");
}

/// Builds the `diff` target once; `None` (with the reason) when the tools
/// are missing and the build is not required.
fn fuzz_build() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        if let Some(why) = tool_missing() {
            return Err(why);
        }
        let target = fuzz_target_dir();
        let status = Command::new(root().join("scripts/lib/cargo-fuzz"))
            .args(["build", "diff", "--target-dir"])
            .arg(&target)
            .status()
            .expect("run scripts/lib/cargo-fuzz build");
        assert!(status.success(), "scripts/lib/cargo-fuzz build diff failed");
        Ok(target)
    });
    match built {
        Ok(target) => Some(target.clone()),
        Err(why) => {
            assert!(
                std::env::var_os("RMAPFUZZ_REQUIRE_FUZZ_BUILD").is_none(),
                "fuzz build required: {why}"
            );
            println!("skipped: {why}");
            None
        }
    }
}

fn tool_missing() -> Option<String> {
    let ok = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ok(&["+nightly", "--version"]) {
        return Some("no nightly toolchain".into());
    }
    if !ok(&["fuzz", "--version"]) {
        return Some("cargo-fuzz is not installed".into());
    }
    None
}

/// The most recently built C harness archive of the fuzz build.
fn harness_archive(fuzz_target: &Path) -> PathBuf {
    let build = fuzz_target.join("x86_64-unknown-linux-gnu/release/build");
    std::fs::read_dir(&build)
        .unwrap_or_else(|e| panic!("{}: {e}", build.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("out/librmapharness.a"))
        .filter(|p| p.exists())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("the fuzz build left a librmapharness.a")
}

/// The newest rlib of crate `name` in the fuzz build.
fn rlib(fuzz_target: &Path, name: &str) -> PathBuf {
    let deps = fuzz_target.join("x86_64-unknown-linux-gnu/release/deps");
    std::fs::read_dir(&deps)
        .unwrap_or_else(|e| panic!("{}: {e}", deps.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("lib{name}-")) && n.ends_with(".rlib"))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("no lib{name}-*.rlib in {}", deps.display()))
}

/// Total size of the `__sancov_cntrs` sections: one byte per counter.
fn sancov_counters(archive: &Path) -> u64 {
    let out = Command::new("readelf")
        .args(["-SW"])
        .arg(archive)
        .output()
        .expect("readelf (binutils)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("__sancov_cntrs"))
        .filter_map(|l| {
            // [Nr] Name Type Address Off Size ...
            let fields: Vec<&str> = l.split(']').nth(1)?.split_whitespace().collect();
            u64::from_str_radix(fields.get(4)?, 16).ok()
        })
        .sum()
}

#[test]
fn the_fuzz_build_instruments_the_c_side() {
    let Some(target) = fuzz_build() else {
        return;
    };
    let archive = harness_archive(&target);
    let c_counters = sancov_counters(&archive);
    assert!(
        c_counters >= 200,
        "C objects carry {c_counters} coverage counters: not instrumented"
    );

    let symbols = Command::new("nm")
        .arg(&archive)
        .output()
        .expect("nm (binutils)");
    assert!(
        String::from_utf8_lossy(&symbols.stdout).contains("__asan_report_load"),
        "the C objects are not built with AddressSanitizer"
    );

    let binary = target.join("x86_64-unknown-linux-gnu/release/diff");
    let out = Command::new(&binary)
        .arg("-runs=0")
        .output()
        .expect("run the diff target");
    let log = String::from_utf8_lossy(&out.stderr);
    let total: u64 = log
        .lines()
        .find_map(|l| {
            l.split_once("modules")?
                .1
                .trim()
                .strip_prefix('(')?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no libFuzzer start-up line in:\n{log}"));
    println!(
        "libFuzzer counts {total} inline 8-bit counters, {c_counters} of them in the C harness"
    );
    assert!(
        total > c_counters,
        "libFuzzer does not see the C counters ({total} <= {c_counters})"
    );
    // The oracle guides, the runner and the snapshots do not.
    let oracle = sancov_counters(&rlib(&target, "rmap_oracle"));
    let runner = sancov_counters(&rlib(&target, "rmapfuzz"));
    println!("the oracle carries {oracle} counters, the rmapfuzz crate {runner}");
    assert!(oracle >= 100, "the oracle is not instrumented ({oracle})");
    assert_eq!(runner, 0, "the rmapfuzz crate carries coverage counters");
}

/// The machinery (slab, lock checker, scheduler) has ASan's runtime
/// calls but no coverage: it must not guide the fuzzer.
#[test]
fn the_machinery_carries_no_counters() {
    let Some(target) = fuzz_build() else {
        return;
    };
    let archive = harness_archive(&target);
    let out = Command::new("readelf")
        .args(["-SW"])
        .arg(&archive)
        .output()
        .expect("readelf (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    // readelf prints "File: ARCHIVE(member.o)" before each member's sections.
    let mut member = String::new();
    let mut counted: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("File: ") {
            member = m.to_owned();
        } else if line.contains("__sancov_cntrs") {
            counted.push(member.clone());
        }
    }
    counted.dedup(); // one entry per object, not per counter section
    let machinery: Vec<&String> = counted
        .iter()
        .filter(|m| {
            ["slab.o", "lockdep.o", "sched.o"]
                .iter()
                .any(|f| m.ends_with(&format!("-{f})")))
        })
        .collect();
    assert!(
        counted.iter().any(|m| m.ends_with("-rmap.o)")),
        "no counters in the anon_vma core: {counted:?}"
    );
    assert!(
        machinery.is_empty(),
        "machinery with counters: {machinery:?}"
    );
}

/// v2 of the series leaves a failed fork's AVCs in the parent's tree,
/// pointing at the child VMA fork then freed. Under ASan the harness must
/// still report that as a check, reading nothing freed itself.
#[test]
fn a_dangling_pointer_is_a_check_under_asan() {
    let Some(target) = fuzz_build() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("v2.txt");
    std::fs::write(
        &scenario,
        "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0 fail=4\n",
    )
    .unwrap();
    let inputs = dir.path().join("inputs");
    encode([scenario], &inputs);
    let input = inputs.join("v2.bin");
    let out = Command::new(target.join("x86_64-unknown-linux-gnu/release/diff"))
        .arg(&input)
        .env("RMAPFUZZ_VARIANT", "v2-fork-enomem")
        .current_dir(dir.path())
        .output()
        .expect("run the diff target");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the input did not fail:\n{log}");
    assert!(
        !log.contains("ERROR: AddressSanitizer"),
        "the harness read freed memory instead of reporting it:\n{log}"
    );
    assert!(
        log.contains("invariant.ref.dangling"),
        "no ref.dangling report:\n{log}"
    );
}

/// Under ASan the C side keeps its world in an arena, as elsewhere, and
/// its checks follow the objects their stores touched: with
/// `RMAPFUZZ_VERIFY_WATCH=1` (each skipped seal, tree and sum looked at
/// anyway) the fuzz binary runs the hand-written corpus, encoded as fuzz
/// inputs, on a strict and a relaxed variant without an "rmapfuzz bug".
#[test]
fn the_fuzz_build_follows_touched_objects_soundly() {
    let Some(target) = fuzz_build() else {
        return;
    };
    let binary = target.join("x86_64-unknown-linux-gnu/release/diff");
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = dir.path().join("inputs");
    let corpus = std::fs::read_dir(root().join("corpus"))
        .expect("corpus/")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == "txt"));
    encode(corpus, &inputs);
    for variant in ["mainline", "pre-series"] {
        let out = Command::new(&binary)
            .arg("-runs=0")
            .arg(&inputs)
            .env("RMAPFUZZ_VARIANT", variant)
            .env("RMAPFUZZ_VERIFY_WATCH", "1")
            .output()
            .expect("run the diff target");
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !log.contains("rmapfuzz bug"),
            "{variant}:\n{log}"
        );
    }
}

/// The arena tells ASan what it hands out: the code under test touching
/// an object it freed stops the fuzz binary at that access, with its
/// stack (`unlink-frees-before-del` deletes an AVC from its list after
/// freeing it; without ASan only the quarantine's sums see that write).
#[test]
fn asan_sees_the_code_under_test_touch_a_freed_object() {
    let Some(target) = fuzz_build() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = dir.path().join("inputs");
    encode(
        [root().join("corpus/zoo/unlink-frees-before-del.txt")],
        &inputs,
    );
    let out = Command::new(target.join("x86_64-unknown-linux-gnu/release/diff"))
        .arg(inputs.join("unlink-frees-before-del.bin"))
        .env("RMAPFUZZ_VARIANT", "unlink-frees-before-del")
        // (libFuzzer leaves the crashing input where it runs.)
        .current_dir(dir.path())
        .output()
        .expect("run the diff target");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the input did not fail:\n{log}");
    let report = log
        .split_once("ERROR: AddressSanitizer: use-after-poison")
        .map(|(_, after)| after)
        .unwrap_or_else(|| panic!("ASan did not see the freed AVC touched:\n{log}"));
    assert!(
        report.contains("in list_del") && report.contains("unlink_frees_before_del.c"),
        "the report does not show where:\n{log}"
    );
    // ASan has no allocation or free stack for an arena's object: the
    // C side says which one it was, first.
    assert!(
        log.contains("is at offset ") && log.contains(" of a freed anon_vma_chain (object #"),
        "no word of the freed AVC:\n{log}"
    );
}
