//! The `kernel` variant built from real trees: Debian's 6.12 (pre-series,
//! held strictly to our C `pre-series` core) and 7.2 (post-series, held
//! strictly to the oracle) must pass replay and sweep over `corpus/`, and
//! pass them judged by the contracts and lock rules alone (`--reference
//! none`); a tree with a one-line slip in `unlink_anon_vmas` or
//! `anon_vma_clone`, a counter bumped after the lock is dropped, or the
//! 2022 reuse test put back must be caught (the last two by a contract or
//! a lock rule, with no model to compare with); 7.2 compared with a copy of
//! itself shows no difference and with 6.12 lists the series' changes; a
//! binary built with a tree refuses to run without it; a tree missing a
//! function must be refused with the file and the symbol named; a tree
//! that does not compile must be reported with the C compiler's error at
//! the tree's file and line.
//!
//! 6.1 (bookworm's own kernel) is held strictly to `pre-series` as well.
//! 7.2's and 7.3's known warning under their own mm/vma.c fails its
//! reproducer unless `known-warnings/vma-merge-nomem-iterator.txt`
//! acknowledges it (and patterns for another site or condition do not).
//! A 7.2 whose interval tree insert loops forever is stopped by the
//! watchdog (`--op-timeout`), which names the operation.
//!
//! Trees come from `scripts/kernel-src VERSION` (cached under
//! `target/kernel-src/`), or from `RMAPFUZZ_KERNEL_TREES=DIR[:DIR...]`. A
//! missing tree shows as an ignored test named "skipped: no kernel tree".
//! `RMAPFUZZ_REQUIRE_KERNEL_TREES=1` (set by `.ci/run`) turns that into a
//! failure. `scripts/test` leaves them out unless asked (`--trees`), by
//! `RMAPFUZZ_TREE_TESTS=skip`: they build rmapfuzz once per tree and take
//! most of the suite's time.

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

/// `args` with `corpus` standing for the hand-written scenarios of
/// corpus/: the grown ones (corpus/grown, hundreds of fuzz inputs) are
/// replayed and swept by tests/corpus.rs on the built-in variants; here,
/// run a dozen times per tree, they would cost most of the CI budget.
fn with_corpus(args: &[&str]) -> Vec<std::ffi::OsString> {
    let hand_written = || {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(workspace().join("corpus"))
            .expect("corpus/")
            .map(|e| e.expect("an entry of corpus/").file_name())
            .filter(|n| n != "grown")
            // Relative, as reports name them (rmapfuzz runs in the workspace).
            .map(|n| Path::new("corpus").join(n))
            .collect();
        entries.sort();
        entries
    };
    args.iter()
        .flat_map(|&a| {
            if a == "corpus" {
                hand_written().into_iter().map(Into::into).collect()
            } else {
                vec![a.into()]
            }
        })
        .collect()
}

fn rmapfuzz(tree: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("--kernel-src")
        .arg(tree)
        .args(with_corpus(args))
        .env("RMAPFUZZ_KERNEL_TARGET_DIR", target_dir())
        // Every step a tree's world says it wrote nothing in is snapshot
        // anyway, and must have the state before.
        .env("RMAPFUZZ_VERIFY_WATCH", "1")
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

/// Whether the tree tests are left out (`scripts/test` without `--trees`
/// sets `RMAPFUZZ_TREE_TESTS=skip`; `RMAPFUZZ_REQUIRE_KERNEL_TREES=1` wins).
fn skipping() -> bool {
    std::env::var_os("RMAPFUZZ_TREE_TESTS").is_some_and(|v| v == "skip") && !required()
}

fn required() -> bool {
    std::env::var_os("RMAPFUZZ_REQUIRE_KERNEL_TREES").is_some_and(|v| v == "1")
}

/// The tree of a Debian release, when present (and the tests are not left
/// out).
fn tree(version: &str) -> Option<PathBuf> {
    if skipping() {
        return None;
    }
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
/// reference the generation calls for, and judged by the contracts and
/// lock rules alone.
fn passes_corpus(tree: &Path, reference: &str) -> Result<(), Failed> {
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(
            tree,
            &["--reference", "none", cmd, "--variant", "kernel", "corpus"],
        );
        let all = text(&out);
        if out.status.code() != Some(0) || !all.contains("compared with nothing") {
            return Err(format!(
                "{cmd} --reference none failed on {}:\n{all}",
                tree.display()
            )
            .into());
        }
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

/// Scenarios of corpus/ on which Debian's 7.2 and 7.3 warn with their own
/// mm/vma.c: mmap closing a hole between an unfaulted and a faulted VMA,
/// whose merge fails to clone an AVC (an injected ENOMEM), falls back to a
/// new VMA with the VMA iterator vma_merge_new_range() left on the
/// previous VMA, and vma_iter_config() warns (MAS_WARN_ON, a WARN_ON in
/// the kernel).
const TREE_CALLERS_FINDINGS: &[&str] = &[
    "corpus/mmap-merge-enomem-falls-back.txt",
    "corpus/mmap-merges.txt",
];

/// The tree with its own mm/vma.c (`kernel-vma`): replay and sweep over
/// corpus/ compared strictly with the oracle, every scenario passing but
/// the tree's known warnings, each reported as that warning.
fn tree_callers_pass_corpus(tree: &Path) -> Result<(), Failed> {
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(tree, &[cmd, "--variant", "kernel-vma", "corpus"]);
        let all = text(&out);
        if !all.contains("its mm/vma.c") || !all.contains("compared strictly with the oracle") {
            return Err(format!("{cmd}: not the tree's own callers, strictly:\n{all}").into());
        }
        for line in all.lines().filter(|l| l.starts_with("FAIL ")) {
            if !TREE_CALLERS_FINDINGS.iter().any(|f| line.contains(f)) {
                return Err(format!("{cmd}: unexpected failure {line}\n{all}").into());
            }
        }
        if all.contains("FAIL ")
            && !(all.contains("check hygiene.warning") && all.contains("maple_tree.h"))
        {
            return Err(format!("{cmd}: the known finding failed otherwise:\n{all}").into());
        }
        let ok = all.lines().filter(|l| l.starts_with("ok ")).count();
        if ok < 40 {
            return Err(format!("{cmd}: only {ok} scenarios ran:\n{all}").into());
        }
    }
    fails_with(
        tree,
        &[
            "replay",
            "--variant",
            "kernel-vma",
            TREE_CALLERS_FINDINGS[0],
        ],
        "hygiene.warning",
    )
}

/// A tree whose own mm/vma.c is older than the callers rmapfuzz models
/// (6.12): `kernel-vma` runs it, judged by the contracts alone, and every
/// scenario of corpus/ passes replay and sweep.
fn older_callers_pass_corpus(tree: &Path) -> Result<(), Failed> {
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(tree, &[cmd, "--variant", "kernel-vma", "corpus"]);
        let all = text(&out);
        if !out.status.success()
            || !all.contains("its mm/vma.c merges anon_vmas by the older rule")
            || !all.contains("judged by contracts, the interval tree's lock rule, hygiene")
        {
            return Err(
                format!("{cmd}: not the tree's own callers under contracts:\n{all}").into(),
            );
        }
        let ok = all.lines().filter(|l| l.starts_with("ok ")).count();
        if ok < 40 {
            return Err(format!("{cmd}: only {ok} scenarios ran:\n{all}").into());
        }
    }
    Ok(())
}

/// The file acknowledging the trees' known warning (README, "Known
/// warnings").
const KNOWN_WARNINGS: &str = "known-warnings/vma-merge-nomem-iterator.txt";

/// With `KNOWN_WARNINGS`, the tree's known warning no longer fails its
/// reproducers (and is counted); without it, or with patterns for another
/// site or another condition, it still does.
fn known_warnings_acknowledged(tree: &Path) -> Result<(), Failed> {
    let finding = TREE_CALLERS_FINDINGS[0];
    let out = rmapfuzz(tree, &["replay", "--variant", "kernel-vma", finding]);
    let all = text(&out);
    if out.status.code() != Some(1)
        || !all.contains("op #5 `mmap 0 0x11000 0x1000 fail=1`: check hygiene.warning")
        || !all.contains("include/linux/maple_tree.h:")
    {
        return Err(format!("{finding} did not warn in maple_tree.h at op #5:\n{all}").into());
    }
    let dir = tempfile::tempdir()?;
    let unrelated = dir.path().join("unrelated.txt");
    std::fs::write(
        &unrelated,
        "# the right condition at another site, another condition at the right site
         mm/vma.c a maple tree warning
maple_tree.h !mt_lock_is_held(mt)
",
    )?;
    let unrelated = unrelated.display().to_string();
    fails_with(
        tree,
        &[
            "--known-warnings",
            &unrelated,
            "replay",
            "--variant",
            "kernel-vma",
            finding,
        ],
        "hygiene.warning",
    )?;
    let mut args = vec![
        "--known-warnings",
        KNOWN_WARNINGS,
        "replay",
        "--variant",
        "kernel-vma",
    ];
    args.push(finding);
    let out = rmapfuzz(tree, &args);
    let all = text(&out);
    if out.status.code() != Some(0)
        || !all.contains("ok    corpus/mmap-merge-enomem-falls-back.txt")
        || !all.contains("(1 known warning(s) acknowledged)")
        || !all.contains(&format!("1 known warning(s) acknowledged, not failures, by the 1 pattern(s) of {KNOWN_WARNINGS}"))
    {
        return Err(format!("replay with {KNOWN_WARNINGS} did not pass, acknowledging one:
{all}").into());
    }
    let mut args = vec![
        "--known-warnings",
        KNOWN_WARNINGS,
        "sweep",
        "--variant",
        "kernel-vma",
    ];
    args.extend(TREE_CALLERS_FINDINGS);
    let out = rmapfuzz(tree, &args);
    let all = text(&out);
    let acknowledging = all
        .lines()
        .filter(|l| l.starts_with("ok ") && l.contains("known warning(s) acknowledged)"))
        .count();
    if out.status.code() != Some(0) || acknowledging != TREE_CALLERS_FINDINGS.len() {
        return Err(format!(
            "sweep with {KNOWN_WARNINGS} did not pass:
{all}"
        )
        .into());
    }
    Ok(())
}

/// A tree whose interval tree insert loops forever (going right sends it
/// back to the root): with `--op-timeout`, replay stops at the operation
/// that hangs, names it, its scenario and variant, and exits 3.
fn stuck_operation_is_reported(tree: &Path) -> Result<(), Failed> {
    let dir = slipped(
        tree,
        "include/linux/interval_tree_generic.h",
        "\t\t\tlink = &parent->ITRB.rb_right;",
        "\t\t\tlink = &root->rb_root.rb_node;",
    )?;
    let args = [
        "--op-timeout",
        "2",
        "replay",
        "--variant",
        "kernel",
        "corpus/cow-after-fork.txt",
    ];
    let out = rmapfuzz(dir.path(), &args);
    let all = text(&out);
    if out.status.code() != Some(3)
        || !all.contains("rmapfuzz: watchdog: [kernel 7.2")
        || !all.contains("op #3 `fork 0` (or the checks after it) of corpus/cow-after-fork.txt")
        || !all.contains("has not finished after ")
        || !all.contains("      fork 0\n")
    {
        return Err(format!("{args:?}: expected the watchdog's report and exit 3:\n{all}").into());
    }
    Ok(())
}

/// A copy of all of `tree` (with its tools/testing/vma world) whose file
/// `rel` has `from` replaced by `to` (once).
fn slipped_whole(
    tree: &Path,
    rel: &str,
    from: &str,
    to: &str,
) -> Result<tempfile::TempDir, Failed> {
    fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let (src, dst) = (entry.path(), to.join(entry.file_name()));
            let kind = entry.file_type()?;
            if kind.is_dir() {
                copy_dir(&src, &dst)?;
            } else if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            } else {
                std::fs::copy(&src, &dst)?;
            }
        }
        Ok(())
    }
    let dir = tempfile::tempdir()?;
    copy_dir(tree, dir.path())?;
    slip(dir.path(), rel, from, to)?;
    Ok(dir)
}

/// Replaces `from` by `to` (once) in the file `rel` of the copy at `dir`.
fn slip(dir: &Path, rel: &str, from: &str, to: &str) -> Result<(), Failed> {
    let path = dir.join(rel);
    let src = std::fs::read_to_string(&path)?;
    if !src.contains(from) {
        return Err(format!("no `{from}` in {rel}").into());
    }
    std::fs::write(&path, src.replacen(from, to, 1))?;
    Ok(())
}

/// A one-line slip in a tree's mm/vma.c (or what it calls) fails `replay
/// corpus` on `kernel-vma` with `check` (the tree's known warning aside).
fn vma_slip_is_caught(
    tree: &Path,
    rel: &str,
    from: &str,
    to: &str,
    check: &str,
) -> Result<(), Failed> {
    let dir = slipped_whole(tree, rel, from, to)?;
    let out = rmapfuzz(dir.path(), &["replay", "--variant", "kernel-vma", "corpus"]);
    let all = text(&out);
    let mut scenario = "";
    for line in all.lines() {
        if line.starts_with("FAIL ") {
            scenario = line;
        } else if line.contains(&format!("check {check} failed"))
            && (check != "hygiene.warning"
                || !TREE_CALLERS_FINDINGS.iter().any(|f| scenario.contains(f)))
        {
            return Ok(());
        }
    }
    Err(format!("the slip in {rel} was not caught with {check}:\n{all}").into())
}

/// A copy of the files of `tree` the extractor reads.
fn copy_tree(tree: &Path) -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::tempdir()?;
    let files = rmap_extract::TREE_FILES.iter().map(|&(rel, _)| rel);
    for rel in files.chain([rmap_extract::MAKEFILE]) {
        if !tree.join(rel).is_file() {
            continue;
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap())?;
        std::fs::copy(tree.join(rel), &to)?;
    }
    Ok(dir)
}

/// A copy of `tree` with `from` replaced by `to` (once) in its file `rel`.
fn slipped(tree: &Path, rel: &str, from: &str, to: &str) -> Result<tempfile::TempDir, Failed> {
    let dir = copy_tree(tree)?;
    slip(dir.path(), rel, from, to)?;
    Ok(dir)
}

/// A copy of `tree` whose mm/rmap.c lines `edit` changes, given the lines
/// and the range [head, end) of `function`'s definition.
fn edited(
    tree: &Path,
    function: &str,
    edit: impl FnOnce(&mut Vec<String>, usize, usize) -> Result<(), Failed>,
) -> Result<tempfile::TempDir, Failed> {
    let dir = copy_tree(tree)?;
    let path = dir.path().join("mm/rmap.c");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)?
        .lines()
        .map(str::to_owned)
        .collect();
    let call = format!(" {function}(");
    let head = lines
        .iter()
        .position(|l| l.contains(&call) && !l.ends_with(';') && !l.starts_with([' ', '\t']))
        .ok_or_else(|| format!("no definition of {function}"))?;
    let end = (head + 1..lines.len())
        .find(|&i| lines[i] == "}")
        .ok_or_else(|| format!("no end of {function}"))?;
    edit(&mut lines, head, end)?;
    std::fs::write(&path, lines.join("\n") + "\n")?;
    Ok(dir)
}

/// A copy of `tree` with the first line inside `function` (in mm/rmap.c)
/// that contains `needle` replaced by an empty statement.
fn mutated(tree: &Path, function: &str, needle: &str) -> Result<tempfile::TempDir, Failed> {
    edited(tree, function, |lines, head, end| {
        let hit = (head + 1..end)
            .find(|&i| lines[i].contains(needle))
            .ok_or_else(|| format!("no `{needle}` in {function}"))?;
        lines[hit] = "\t(void)0; /* rmapfuzz test: line dropped */".to_owned();
        Ok(())
    })
}

/// A copy of `tree` where the first line inside `function` containing
/// `needle` is moved to just after the next line containing `after`.
fn moved(
    tree: &Path,
    function: &str,
    needle: &str,
    after: &str,
) -> Result<tempfile::TempDir, Failed> {
    edited(tree, function, |lines, head, end| {
        let from = (head..end)
            .find(|&i| lines[i].contains(needle))
            .ok_or_else(|| format!("no `{needle}` in {function}"))?;
        let line = lines.remove(from);
        let to = (from..end - 1)
            .find(|&i| lines[i].contains(after))
            .ok_or_else(|| format!("no `{after}` after `{needle}` in {function}"))?;
        lines.insert(to + 1, line);
        Ok(())
    })
}

/// A copy of `tree` with `from` replaced by `to` in mm/rmap.c (once).
fn replaced(tree: &Path, from: &str, to: &str) -> Result<tempfile::TempDir, Failed> {
    slipped(tree, "mm/rmap.c", from, to)
}

/// `replay corpus` on a mutated tree fails with `check`, compared as the
/// tree's generation asks and with `--reference none` alike.
fn caught_without_a_model(dir: &Path, check: &str) -> Result<(), Failed> {
    for extra in [&[][..], &["--reference", "none"][..]] {
        let mut args = extra.to_vec();
        args.extend(["replay", "corpus"]);
        fails_with(dir, &args, check)?;
    }
    Ok(())
}

/// rmapfuzz with `args` on the tree `dir` exits 1, and `check` failed.
fn fails_with(dir: &Path, args: &[&str], check: &str) -> Result<(), Failed> {
    let out = rmapfuzz(dir, args);
    let all = text(&out);
    if out.status.code() != Some(1) || !all.contains(&format!("check {check}")) {
        return Err(format!("{args:?} did not catch it with {check}:\n{all}").into());
    }
    Ok(())
}

/// The 2022 double reuse put back into 6.12: its reuse test written with
/// the single degree (children plus active VMAs, below two, not the
/// source's anon_vma). No model is needed to see it: two processes end up
/// using one anon_vma. Its C reproducer carries the tree and shows it too.
fn degree_reuse_is_a_contract(tree: &Path) -> Result<(), Failed> {
    let dir = replaced(
        tree,
        "anon_vma->num_children < 2 &&\n\t\t    anon_vma->num_active_vmas == 0)",
        "anon_vma != src->anon_vma &&\n\t\t    anon_vma->num_children + anon_vma->num_active_vmas < 2)",
    )?;
    caught_without_a_model(dir.path(), "invariant.share.one_mm")?;

    let out_dir = tempfile::tempdir()?;
    let repro = out_dir.path().join("degree.c");
    let out = rmapfuzz(
        dir.path(),
        &[
            "c-repro",
            "corpus/zoo/degree-double-reuse.txt",
            "-o",
            repro.to_str().unwrap(),
        ],
    );
    let all = text(&out);
    let unit = out_dir.path().join("degree-kernel.c");
    if out.status.code() != Some(0)
        || !unit.is_file()
        || !all.contains("-DRMAPFUZZ_HAVE_KERNEL degree-kernel.c")
    {
        return Err(
            format!("c-repro did not write the tree's core beside the program:\n{all}").into(),
        );
    }
    let source = std::fs::read_to_string(&repro)?;
    if !source.contains(&dir.path().display().to_string()) {
        return Err("the reproducer does not name its tree".into());
    }
    let binary = out_dir.path().join("degree");
    let mut cc = Command::new("cc");
    cc.args([
        "-std=gnu11",
        "-g",
        "-Icsrc/include",
        "-Icsrc",
        "-DRMAPFUZZ_HAVE_KERNEL",
    ])
    .arg(&unit)
    .arg(&repro);
    for entry in walk_c(&workspace().join("csrc")) {
        cc.arg(entry);
    }
    let built = cc
        .arg("-o")
        .arg(&binary)
        .current_dir(workspace())
        .output()?;
    if !built.status.success() {
        return Err(format!("the reproducer does not build:\n{}", text(&built)).into());
    }
    let ran = Command::new(&binary).output()?;
    if ran.status.success() || !text(&ran).contains("check invariant.share.one_mm failed") {
        return Err(format!(
            "the reproducer does not abort at the contract:\n{}",
            text(&ran)
        )
        .into());
    }
    Ok(())
}

/// The C files a reproducer is built with (csrc/ but the kernel glue and
/// the driver of a tree's own callers).
fn walk_c(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("kernel_glue") && !path.ends_with("tree_vma") {
            out.extend(walk_c(&path));
        } else if path.extension().is_some_and(|e| e == "c") {
            out.push(path);
        }
    }
    out
}

/// A counter bumped after the family's lock is dropped: the state comes
/// out right, only the lock rules see it.
fn unlocked_counter_is_a_lock_failure(tree: &Path) -> Result<(), Failed> {
    let dir = moved(
        tree,
        "anon_vma_fork",
        "anon_vma->parent->num_children++",
        "anon_vma_unlock_write(anon_vma)",
    )?;
    caught_without_a_model(dir.path(), "hygiene.lock")
}

/// `rmapfuzz --kernel-src tree --reference-src base ARGS`.
fn rmapfuzz_against(tree: &Path, base: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("--kernel-src")
        .arg(tree)
        .arg("--reference-src")
        .arg(base)
        .args(with_corpus(args))
        .env("RMAPFUZZ_KERNEL_TARGET_DIR", target_dir())
        .current_dir(workspace())
        .output()
        .expect("run rmapfuzz")
}

/// 7.2 against a copy of itself: strict, nothing differs. Against 6.12:
/// in shape (another generation), and the series' changes are listed.
fn tree_against_tree(t72: &Path, t612: &Path) -> Result<(), Failed> {
    let copy = copy_tree(t72)?;
    let out = rmapfuzz_against(t72, copy.path(), &["replay", "corpus"]);
    let all = text(&out);
    if out.status.code() != Some(0)
        || !all.contains("compared strictly with the C kernel-base")
        || all.contains("differ ")
    {
        return Err(format!("7.2 against a copy of itself:\n{all}").into());
    }
    let out = rmapfuzz_against(t72, t612, &["replay", "corpus"]);
    let all = text(&out);
    if out.status.code() != Some(0)
        || !all.contains("compared in shape with the C kernel-base (Linux 6.12")
        || !all.contains("differ corpus/fork-basic.txt")
        || !all.contains("behave differently on the two trees")
    {
        return Err(format!("7.2 against 6.12:\n{all}").into());
    }
    Ok(())
}

/// The binary a tree was built into refuses to run without that tree.
fn a_tree_build_needs_its_tree(tree: &Path) -> Result<(), Failed> {
    let first = rmapfuzz(tree, &["variants"]);
    if !first.status.success() {
        return Err(text(&first).into());
    }
    let built = target_dir().join("release/rmapfuzz");
    let out = Command::new(&built)
        .args(with_corpus(&["replay", "corpus"]))
        .current_dir(workspace())
        .output()?;
    let all = text(&out);
    if out.status.code() != Some(2) || !all.contains("was built with the kernel tree") {
        return Err(format!("{} ran without its tree:\n{all}", built.display()).into());
    }
    Ok(())
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

/// A tree whose code does not compile is reported with the C compiler's
/// own message at the tree's file and line, and the build log named; not
/// with the linker's command line. Two slips in `anon_vma_clone`: a call
/// to a function the extractor did not take (renamed here, as a new
/// kernel might), which must be a compile error rather than an undefined
/// symbol at link time; and a missing semicolon.
fn uncompilable_tree_shows_the_compiler(tree: &Path) -> Result<(), Failed> {
    // (A call to a function defined nowhere is refused before the
    // compiler runs: see refuses_unplaceable_function.)
    compiler_error_at_the_slip(
        tree,
        "a misspelt member",
        |l| l.replace("pavc->anon_vma)", "pavc->anon_vma_x)"),
        "anon_vma_x",
    )?;
    compiler_error_at_the_slip(
        tree,
        "missing semicolon",
        |l| l.replace(");", ")"),
        "expected",
    )
}

/// `replay corpus` on a copy of `tree` whose `anon_vma_chain_assign(...);`
/// line in `anon_vma_clone` is changed by `edit` shows a compiler error
/// at that line with `words` in it.
fn compiler_error_at_the_slip(
    tree: &Path,
    slip: &str,
    edit: fn(&str) -> String,
    words: &str,
) -> Result<(), Failed> {
    let call = "anon_vma_chain_assign(";
    let mut at = 0;
    let dir = edited(tree, "anon_vma_clone", |lines, head, end| {
        let hit = (head + 1..end)
            .find(|&i| lines[i].contains(call) && lines[i].trim_end().ends_with(");"))
            .ok_or_else(|| format!("no `{call}` in anon_vma_clone"))?;
        lines[hit] = edit(&lines[hit]);
        at = hit + 1;
        Ok(())
    })?;
    // Without RMAPFUZZ_WERROR (CI sets it), which would turn the warning
    // of an undeclared call into an error on its own: users build without.
    let out = Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("--kernel-src")
        .arg(dir.path())
        .args(with_corpus(&["replay", "corpus"]))
        .env("RMAPFUZZ_KERNEL_TARGET_DIR", target_dir())
        .env_remove("RMAPFUZZ_WERROR")
        .current_dir(workspace())
        .output()?;
    let all = text(&out);
    let place = format!("mm/rmap.c:{at}:");
    let compiler_line = all
        .lines()
        .find(|l| l.contains(&place) && l.contains("error:") && l.contains(words));
    if out.status.code() != Some(2)
        || compiler_line.is_none()
        || !all.contains("rmapfuzz: the C compiler rejected the kernel code:")
        || !all.contains("kernel-build.log")
        || all.contains("undefined symbol")
        || all.contains("\"-m64\"")
    {
        return Err(format!(
            "{slip}: expected exit 2, a compiler error at `{place}` naming `{words}`, \
             the log named and no linker output:\n{all}"
        )
        .into());
    }
    // kernel-extract fails as the build does, with the same line.
    let x = Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .arg("kernel-extract")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()?;
    let said = text(&x);
    if x.status.code() != Some(2)
        || !said
            .lines()
            .any(|l| l.contains(&place) && l.contains(words))
    {
        return Err(format!("{slip}: kernel-extract did not fail at `{place}`:\n{said}").into());
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
    let want = "mm/rmap.c has no definition of `anon_vma_fork`";
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

/// A one-line slip in a tree's own anon pgoff helpers, anon interval tree
/// or red-black tree fails `replay corpus` with `check`.
fn slip_is_caught(tree: &Path, rel: &str, from: &str, to: &str, check: &str) -> Result<(), Failed> {
    let dir = slipped(tree, rel, from, to)?;
    fails_with(
        dir.path(),
        &["replay", "--variant", "kernel", "corpus"],
        check,
    )
}

/// A tree whose anon interval tree function is renamed: the extractor
/// cannot place the name the core calls, and says where it is called.
fn refuses_unplaceable_function(tree: &Path) -> Result<(), Failed> {
    let dir = slipped(
        tree,
        "mm/interval_tree.c",
        "void anon_rmap_tree_insert(",
        "void anon_rmap_tree_add(",
    )?;
    let rmap = std::fs::read_to_string(dir.path().join("mm/rmap.c"))?;
    let line = rmap
        .lines()
        .position(|l| l.contains("anon_rmap_tree_insert("))
        .ok_or("mm/rmap.c never calls anon_rmap_tree_insert")?
        + 1;
    let want = format!("mm/rmap.c:{line}: `anon_rmap_tree_insert` is called here");
    for args in [&["replay", "corpus"][..], &["kernel-extract", "--out"][..]] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rmapfuzz"));
        if args[0] == "kernel-extract" {
            cmd.args(args).arg(dir.path().join("out")).arg(dir.path());
        } else {
            cmd.arg("--kernel-src")
                .arg(dir.path())
                .args(with_corpus(args));
        }
        let out = cmd
            .env("RMAPFUZZ_KERNEL_TARGET_DIR", target_dir())
            .current_dir(workspace())
            .output()?;
        let all = text(&out);
        if out.status.code() != Some(2)
            || !all.contains(&want)
            || !all.contains("anon-pgoff generation keeps it in mm/interval_tree.c")
        {
            return Err(format!("{args:?}: expected exit 2 and `{want}`:\n{all}").into());
        }
    }
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    // The builds share a target directory: one at a time, so a test never
    // runs the binary another just rebuilt with a different tree.
    args.test_threads = Some(1);
    let require = required();
    let mut trials = Vec::new();
    let missing = |name: String, trials: &mut Vec<Trial>| {
        let why = if skipping() {
            "left out (scripts/test --trees runs them)"
        } else {
            "no kernel tree (scripts/kernel-src VERSION fetches one)"
        };
        eprintln!("kernel_trees: {name}: skipped: {why}");
        let t = Trial::test(format!("{name}: skipped: no kernel tree"), move || {
            Err("no kernel tree, and RMAPFUZZ_REQUIRE_KERNEL_TREES=1".into())
        });
        trials.push(if require {
            t
        } else {
            t.with_ignored_flag(true)
        });
    };

    match tree("6.1") {
        Some(t) => trials.push(Trial::test(
            "linux-6.1::pre-series::replay-and-sweep",
            move || passes_corpus(&t, "C pre-series"),
        )),
        None => missing(
            "linux-6.1::pre-series::replay-and-sweep".into(),
            &mut trials,
        ),
    }
    match tree("6.12") {
        Some(t) => {
            let (u, v, w) = (t.clone(), t.clone(), t.clone());
            trials.push(Trial::test(
                "linux-6.12::pre-series::replay-and-sweep",
                move || passes_corpus(&t, "C pre-series"),
            ));
            trials.push(Trial::test(
                "linux-6.12::contract::degree-reuse-test-is-caught",
                move || degree_reuse_is_a_contract(&u),
            ));
            trials.push(Trial::test(
                "linux-6.12::kernel-vma::replay-and-sweep",
                move || older_callers_pass_corpus(&v),
            ));
            // Judged by the contracts alone, a slip in its mm/vma.c still
            // shows: a split that never clones leaves the new VMA's
            // anon_vma without a chain, uncounted.
            trials.push(Trial::test(
                "linux-6.12::kernel-vma::slip::split-without-clone",
                move || {
                    vma_slip_is_caught(
                        &w,
                        "mm/vma.c",
                        "err = anon_vma_clone(new, vma);",
                        "err = 0;",
                        "invariant.counter.num_active_vmas",
                    )
                },
            ));
        }
        None => {
            for name in [
                "pre-series::replay-and-sweep",
                "contract::degree-reuse-test-is-caught",
                "kernel-vma::replay-and-sweep",
                "kernel-vma::slip::split-without-clone",
            ] {
                missing(format!("linux-6.12::{name}"), &mut trials);
            }
        }
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
            // The tree's own read side in races: its folio_lock_anon_vma_read
            // without the re-check after the trylock is found by explore
            // --race (a walker holding freed memory outside RCU), and the
            // tree as shipped passes the same search.
            let (r1, r2) = (t.clone(), t.clone());
            trials.push(Trial::test(
                "linux-7.2::race::lock-read-without-re-check",
                move || {
                    let dir = replaced(
                        &r1,
                        "\t\tif (!folio_mapped(folio)) {\n\t\t\tup_read(&root_anon_vma->rwsem);\n\t\t\tanon_vma = NULL;\n\t\t}\n\t\tgoto out;",
                        "\t\tgoto out;",
                    )?;
                    fails_with(
                        dir.path(),
                        &["explore", "--race", "--depth", "2"],
                        "hygiene.race",
                    )
                },
            ));
            // The 2026 publication barrier: vma->anon_vma published with a
            // plain store lets a racing fault of the same process lock
            // through the anon_vma's root before its store is seen.
            let r3 = t.clone();
            trials.push(Trial::test(
                "linux-7.2::race::publish-without-release",
                move || {
                    let dir = replaced(
                        &r3,
                        "smp_store_release(&vma->anon_vma, anon_vma);",
                        "vma->anon_vma = anon_vma;",
                    )?;
                    fails_with(
                        dir.path(),
                        &["explore", "--race", "--depth", "2"],
                        "hygiene.race",
                    )
                },
            ));
            trials.push(Trial::test("linux-7.2::race::explore-passes", move || {
                let out = rmapfuzz(&r2, &["explore", "--race", "--depth", "2"]);
                let all = text(&out);
                if out.status.success() && all.contains("no failure") {
                    Ok(())
                } else {
                    Err(format!("explore --race failed on the tree as shipped:\n{all}").into())
                }
            }));
            let (d, e) = (t.clone(), t.clone());
            trials.push(Trial::test(
                "linux-7.2::lock::anon_vma_fork-counts-after-unlock",
                move || unlocked_counter_is_a_lock_failure(&d),
            ));
            trials.push(Trial::test(
                "linux-7.2::a-tree-build-needs-its-tree",
                move || a_tree_build_needs_its_tree(&e),
            ));
            if let Some(t612) = tree("6.12") {
                let f = t.clone();
                trials.push(Trial::test("linux-7.2::against-a-base-tree", move || {
                    tree_against_tree(&f, &t612)
                }));
            }
            let (v1, v2, v3, v4) = (t.clone(), t.clone(), t.clone(), t.clone());
            let (v5, v6) = (t.clone(), t.clone());
            // The tree's lock rule in its own world: vma_prepare() taking
            // the anon_vma lock after it has taken the VMA's AVCs out of
            // the tree for their re-key.
            trials.push(Trial::test(
                "linux-7.2::kernel-vma::slip::prepare-locks-after-re-key",
                move || {
                    vma_slip_is_caught(
                        &v6,
                        "mm/vma.c",
                        "\t\tanon_vma_lock_write(vp->anon_vma);\n\t\tanon_vma_interval_tree_pre_update_vma(vp->vma);",
                        "\t\tanon_vma_interval_tree_pre_update_vma(vp->vma);\n\t\tanon_vma_lock_write(vp->anon_vma);",
                        "hygiene.lock",
                    )
                },
            ));
            // The undo 824135c46b00 added: a merge whose maple preallocation
            // fails after dup_anon_vma() must unlink the clone again
            // (corpus/merge-maple-enomem.txt, maple=1).
            trials.push(Trial::test(
                "linux-7.2::kernel-vma::slip::failed-merge-keeps-its-clone",
                move || {
                    vma_slip_is_caught(
                        &v5,
                        "mm/vma.c",
                        "\tif (anon_dup)\n\t\tunlink_anon_vmas(anon_dup);",
                        "\t(void)anon_dup;",
                        "rollback",
                    )
                },
            ));
            trials.push(Trial::test(
                "linux-7.2::kernel-vma::replay-and-sweep",
                move || tree_callers_pass_corpus(&v1),
            ));
            trials.push(Trial::test(
                "linux-7.2::kernel-vma::known-warnings-acknowledged",
                move || known_warnings_acknowledged(&v4),
            ));
            trials.push(Trial::test(
                "linux-7.2::kernel-vma::slip::split-clones-as-fork",
                move || {
                    vma_slip_is_caught(
                        &v2,
                        "mm/vma.c",
                        "err = anon_vma_clone(new, vma, VMA_OP_SPLIT);",
                        "err = anon_vma_clone(new, vma, VMA_OP_FORK);",
                        "invariant.counter.num_active_vmas",
                    )
                },
            ));
            trials.push(Trial::test(
                "linux-7.2::kernel-vma::slip::expand-forgets-to-clone-next",
                move || {
                    vma_slip_is_caught(
                        &v3,
                        "mm/vma.c",
                        "ret = dup_anon_vma(target, next, &anon_dup);",
                        "ret = 0;",
                        "invariant.ref.dangling",
                    )
                },
            ));
            let h = t.clone();
            trials.push(Trial::test(
                "linux-7.2::slip::lib-rbtree-insert-recolours-the-parent-red",
                move || {
                    slip_is_caught(
                        &h,
                        "lib/rbtree.c",
                        "rb_set_parent_color(parent, gparent, RB_BLACK);",
                        "rb_set_parent_color(parent, gparent, RB_RED);",
                        "hygiene.tree",
                    )
                },
            ));
            let w = t.clone();
            trials.push(Trial::test(
                "linux-7.2::watchdog::interval-tree-insert-loops",
                move || stuck_operation_is_reported(&w),
            ));
            let g = t.clone();
            trials.push(Trial::test(
                "linux-7.2::uncompilable-tree-shows-the-compiler",
                move || uncompilable_tree_shows_the_compiler(&g),
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
                "lock::anon_vma_fork-counts-after-unlock",
                "a-tree-build-needs-its-tree",
                "against-a-base-tree",
                "kernel-vma::replay-and-sweep",
                "kernel-vma::known-warnings-acknowledged",
                "kernel-vma::slips",
                "slip::lib-rbtree-insert-recolours-the-parent-red",
                "watchdog::interval-tree-insert-loops",
                "uncompilable-tree-shows-the-compiler",
                "missing-function-is-refused",
            ] {
                missing(format!("linux-7.2::{name}"), &mut trials);
            }
        }
    }
    match tree("7.3") {
        Some(t) => {
            let (a, b, c) = (t.clone(), t.clone(), t.clone());
            trials.push(Trial::test(
                "linux-7.3::anon-pgoff::replay-and-sweep",
                move || passes_corpus(&a, "oracle"),
            ));
            trials.push(Trial::test(
                "linux-7.3::slip::vma_start_anon_pgoff-shifts-the-high-half-by-31",
                move || {
                    slip_is_caught(
                        &b,
                        "include/linux/mm.h",
                        "\tpgoff <<= 32;",
                        "\tpgoff <<= 31;",
                        "invariant.tree.member",
                    )
                },
            ));
            trials.push(Trial::test(
                "linux-7.3::slip::anon_rmap_tree_remove-from-the-root's-tree",
                move || {
                    slip_is_caught(
                        &c,
                        "mm/interval_tree.c",
                        "__anon_rmap_tree_remove(avc, &anon_vma->rb_root);",
                        "__anon_rmap_tree_remove(avc, &anon_vma->root->rb_root);",
                        "invariant.ref.dangling",
                    )
                },
            ));
            let (v, w) = (t.clone(), t.clone());
            trials.push(Trial::test(
                "linux-7.3::kernel-vma::replay-and-sweep",
                move || tree_callers_pass_corpus(&v),
            ));
            trials.push(Trial::test(
                "linux-7.3::kernel-vma::known-warnings-acknowledged",
                move || known_warnings_acknowledged(&w),
            ));
            trials.push(Trial::test(
                "linux-7.3::unplaceable-function-is-refused",
                move || refuses_unplaceable_function(&t),
            ));
        }
        None => {
            for name in [
                "anon-pgoff::replay-and-sweep",
                "kernel-vma::replay-and-sweep",
                "kernel-vma::known-warnings-acknowledged",
                "slips",
                "unplaceable-function-is-refused",
            ] {
                missing(format!("linux-7.3::{name}"), &mut trials);
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
