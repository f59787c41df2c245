//! The `kernel` variant built from real trees: Debian's 6.12 (pre-series,
//! held strictly to our C `pre-series` core) and 7.2 (post-series, held
//! strictly to the oracle) must pass replay and sweep over `corpus/`; a
//! tree with a one-line slip in `unlink_anon_vmas` or `anon_vma_clone` must
//! be caught; a tree missing a function must be refused with the file and
//! the symbol named.
//!
//! Trees come from `scripts/kernel-src VERSION` (cached under
//! `target/kernel-src/`), or from `RMAPFUZZ_KERNEL_TREES=DIR[:DIR...]`. A
//! missing tree shows as an ignored test named "skipped: no kernel tree".
//! `RMAPFUZZ_REQUIRE_KERNEL_TREES=1` (set by `.ci/run`) turns that into a
//! failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Arguments, Failed, Trial};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every kernel build of this test shares one target directory: after the
/// first, a build only recompiles the harness and the binary.
fn target_dir() -> PathBuf {
    workspace().join("target").join("kernel-test")
}

fn rmapfuzz(tree: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("--kernel-src")
        .arg(tree)
        .args(args)
        .env("RMAPFUZZ_KERNEL_TARGET_DIR", target_dir())
        .current_dir(workspace())
        .output()
        .expect("run rmapfuzz")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The tree of a Debian release, when present.
fn tree(version: &str) -> Option<PathBuf> {
    let listed = std::env::var("RMAPFUZZ_KERNEL_TREES").unwrap_or_default();
    let from_env = listed
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .find(|d| makefile_version(d).is_some_and(|v| v.starts_with(&format!("{version}."))));
    from_env.or_else(|| {
        let cached = workspace().join("target/kernel-src").join(version);
        cached.join("mm/rmap.c").is_file().then_some(cached)
    })
}

fn makefile_version(tree: &Path) -> Option<String> {
    rmap_extract::kernel_version(tree).ok()
}

/// `replay` and `sweep` of the whole corpus on `kernel` pass, against the
/// reference the generation calls for.
fn passes_corpus(tree: &Path, reference: &str) -> Result<(), Failed> {
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(tree, &[cmd, "--variant", "kernel", "corpus"]);
        let all = text(&out);
        if out.status.code() != Some(0) {
            return Err(format!("{cmd} failed on {}:\n{all}", tree.display()).into());
        }
        if !all.contains(&format!("compared strictly with the {reference}")) {
            return Err(
                format!("{cmd}: not compared strictly with the {reference}:\n{all}").into(),
            );
        }
        let ok = all.lines().filter(|l| l.starts_with("ok ")).count();
        if ok < 40 {
            return Err(format!("{cmd}: only {ok} scenarios ran:\n{all}").into());
        }
    }
    Ok(())
}

/// A copy of the files of `tree` the extractor reads.
fn copy_tree(tree: &Path) -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::tempdir()?;
    for rel in [
        "Makefile",
        "mm/rmap.c",
        "mm/internal.h",
        "include/linux/rmap.h",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap())?;
        std::fs::copy(tree.join(rel), &to)?;
    }
    Ok(dir)
}

/// A copy of `tree` with the first line inside `function` (in mm/rmap.c)
/// that contains `needle` replaced by an empty statement.
fn mutated(tree: &Path, function: &str, needle: &str) -> Result<tempfile::TempDir, Failed> {
    let dir = copy_tree(tree)?;
    let path = dir.path().join("mm/rmap.c");
    let src = std::fs::read_to_string(&path)?;
    let call = format!(" {function}(");
    let head = src
        .lines()
        .position(|l| l.contains(&call) && !l.ends_with(';') && !l.starts_with([' ', '\t']))
        .ok_or_else(|| format!("no definition of {function}"))?;
    let mut lines: Vec<String> = src.lines().map(str::to_owned).collect();
    let hit = (head..lines.len())
        .take_while(|&i| i == head || lines[i] != "}")
        .find(|&i| i > head && lines[i].contains(needle))
        .ok_or_else(|| format!("no `{needle}` in {function}"))?;
    lines[hit] = "\t(void)0; /* rmapfuzz test: line dropped */".to_owned();
    std::fs::write(&path, lines.join("\n") + "\n")?;
    Ok(dir)
}

fn catches(tree: &Path, function: &str, needle: &str, check: &str) -> Result<(), Failed> {
    let dir = mutated(tree, function, needle)?;
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(dir.path(), &[cmd, "--variant", "kernel", "corpus"]);
        let all = text(&out);
        if out.status.code() != Some(1) || !all.contains(check) {
            return Err(format!(
                "{cmd} did not catch `{needle}` dropped from {function} (expected {check}):\n{all}"
            )
            .into());
        }
    }
    Ok(())
}

fn refuses_missing_function(tree: &Path) -> Result<(), Failed> {
    let dir = copy_tree(tree)?;
    // Rename the definition: the extractor must say what is missing.
    let path = dir.path().join("mm/rmap.c");
    let src = std::fs::read_to_string(&path)?.replace(
        "int anon_vma_fork(struct",
        "int anon_vma_fork_renamed(struct",
    );
    std::fs::write(&path, src)?;
    let want = "mm/rmap.c: no definition of `anon_vma_fork`";
    let out = rmapfuzz(dir.path(), &["replay", "corpus"]);
    let all = text(&out);
    if out.status.code() != Some(2) || !all.contains(want) {
        return Err(format!("replay: expected exit 2 and `{want}`:\n{all}").into());
    }
    let x = Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("kernel-extract")
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()?;
    if x.status.code() != Some(2) || !text(&x).contains(want) {
        return Err(format!(
            "kernel-extract: expected exit 2 and `{want}`:\n{}",
            text(&x)
        )
        .into());
    }
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    // The builds share a target directory: one at a time, so a test never
    // runs the binary another just rebuilt with a different tree.
    args.test_threads = Some(1);
    let require = std::env::var_os("RMAPFUZZ_REQUIRE_KERNEL_TREES").is_some_and(|v| v == "1");
    let mut trials = Vec::new();
    let missing = |name: String, trials: &mut Vec<Trial>| {
        eprintln!("kernel_trees: {name}: skipped: no kernel tree (scripts/kernel-src VERSION fetches one)");
        let t = Trial::test(format!("{name}: skipped: no kernel tree"), move || {
            Err("no kernel tree, and RMAPFUZZ_REQUIRE_KERNEL_TREES=1".into())
        });
        trials.push(if require {
            t
        } else {
            t.with_ignored_flag(true)
        });
    };

    match tree("6.12") {
        Some(t) => trials.push(Trial::test(
            "linux-6.12::pre-series::replay-and-sweep",
            move || passes_corpus(&t, "C pre-series"),
        )),
        None => missing(
            "linux-6.12::pre-series::replay-and-sweep".into(),
            &mut trials,
        ),
    }
    match tree("7.2") {
        Some(t) => {
            let (a, b, c) = (t.clone(), t.clone(), t.clone());
            trials.push(Trial::test(
                "linux-7.2::post-series::replay-and-sweep",
                move || passes_corpus(&a, "oracle"),
            ));
            trials.push(Trial::test(
                "linux-7.2::mutation::unlink_anon_vmas-drops-num_children--",
                move || {
                    catches(
                        &b,
                        "unlink_anon_vmas",
                        "num_children--",
                        "counter.num_children",
                    )
                },
            ));
            trials.push(Trial::test(
                "linux-7.2::mutation::anon_vma_clone-drops-num_active_vmas++",
                move || {
                    catches(
                        &c,
                        "anon_vma_clone",
                        "num_active_vmas++",
                        "counter.num_active_vmas",
                    )
                },
            ));
            trials.push(Trial::test(
                "linux-7.2::missing-function-is-refused",
                move || refuses_missing_function(&t),
            ));
        }
        None => {
            for name in [
                "replay-and-sweep",
                "mutations",
                "missing-function-is-refused",
            ] {
                missing(format!("linux-7.2::{name}"), &mut trials);
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
