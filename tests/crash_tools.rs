//! From a crash to an understood regression test: `minimize`, `explain`,
//! `dot`, `import`, `triage` and `c-repro` on a real failure (the zoo's
//! `v3-as-posted`), and on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rmapfuzz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .args(args)
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 19-operation scenario on which v3-as-posted fails once (at the merge
/// whose clone is failed); the smallest such scenario has 4 operations.
const LONG: &str = "#! variant=v3-as-posted expect=pass
mmap 0 0x10000 0x4000
mmap 0 0x30000 0x2000
fault 0 0x30000 w
fork 0
mmap 1 0x40000 0x3000
fault 1 0x41000 w
split 0 0x12000
fault 0 0x12000 w
fork 1
rmap 0 0x12000
madvise 0 0x30000 0x1000 dontfork
fault 2 0x40000 r
merge 0 0x12000 fail=1
rmap 1 0x41000
munmap 0 0x10000 0x2000
fault 0 0x13000 w
mremap 1 0x40000 0x80000
exit 2
exit 0
";

const SIGNATURE: &str = "check=invariant.counter.num_active_vmas op=merge";

fn long_scenario(dir: &Path) -> PathBuf {
    let p = dir.join("long.txt");
    std::fs::write(&p, LONG).unwrap();
    p
}

fn ops(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

#[test]
fn minimize_reaches_the_hand_written_minimum_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let input = long_scenario(dir.path());
    let out = rmapfuzz(&["minimize", s(&input)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let min = dir.path().join("long.min.txt");
    assert!(ops(&min) <= 4, "{}", std::fs::read_to_string(&min).unwrap());
    let header = std::fs::read_to_string(&min).unwrap();
    assert!(
        header.contains(&format!("#! variant=v3-as-posted expect=fail {SIGNATURE}")),
        "{header}"
    );
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        LONG,
        "input untouched"
    );
    // The result reproduces: replay meets its expectation.
    let replay = rmapfuzz(&["replay", s(&min)]);
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay));
    // A second run writes a new file.
    assert_eq!(rmapfuzz(&["minimize", s(&input)]).status.code(), Some(0));
    assert!(dir.path().join("long.min.1.txt").is_file());
    assert_eq!(std::fs::read_to_string(&min).unwrap(), header);
    // An explicit output that exists is refused.
    let refused = rmapfuzz(&["minimize", s(&input), "-o", s(&min)]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("not overwriting"),
        "{}",
        text(&refused)
    );
}

#[test]
fn minimize_works_on_fuzz_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let input = long_scenario(dir.path());
    let enc = rmapfuzz(&["encode", s(&input), "-o", s(dir.path())]);
    assert_eq!(enc.status.code(), Some(0), "{}", text(&enc));
    let artifact = dir.path().join("long.bin");
    let out = rmapfuzz(&["minimize", s(&artifact), "--variant", "v3-as-posted"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ops(&dir.path().join("long.bin.min.txt")) <= 4);
}

/// Fuzz inputs carry escaped operands: a process 4294967295, fail points
/// in the billions. The minimizer tries only values that can matter (an
/// allocation the operation reaches, a process a fork made) instead of
/// every smaller number, which once took it to 24 GiB.
#[test]
fn minimize_copes_with_escaped_operands() {
    use rmapfuzz::tools::minimize::minimize;
    let text = "\
mmap 0 0x10000 0x2000
fault 4294967295 0xf9f9f9bec525420a w fail=4294967295+
split 0 0x11000
fault 0 0x11000 w fail=1111638594
merge 0 0x11000 fail=1
";
    let scenario = rmapfuzz::language::parse::parse_scenario(text, "escaped").unwrap();
    let v = rmapfuzz::engine::variant::find("v3-as-posted").unwrap();
    let m = minimize(&scenario, v, None, |_| {}).unwrap();
    assert_eq!(m.scenario.steps.len(), 4, "{}", m.scenario);
    assert!(m
        .scenario
        .steps
        .iter()
        .all(|s| s.fail.is_none_or(|f| f.nth == 1)));
    assert!(m.runs < 1000, "{} runs", m.runs);
}

/// Forks that only matter through the process ids they hand out: removing
/// one renumbers every later process, which the minimizer does too (the
/// fuzzer's degree-double-reuse artifact came out at 11 operations before,
/// the shortest is 7).
#[test]
fn minimize_renumbers_processes_when_it_drops_a_fork() {
    use rmapfuzz::tools::minimize::minimize;
    let text = "\
mmap 0 0x10000 0x1000
fault 0 0x10000 w
fork 0
fork 0
fork 0
fork 0
fork 0
fork 5
exit 5
fork 6
fork 7
";
    let scenario = rmapfuzz::language::parse::parse_scenario(text, "forks").unwrap();
    let v = rmapfuzz::engine::variant::find("degree-double-reuse").unwrap();
    let m = minimize(&scenario, v, None, |_| {}).unwrap();
    assert_eq!(m.scenario.steps.len(), 7, "{}", m.scenario);
}

#[test]
fn crash_tools_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "mmap 0 0x10000 0x1000\nfault 0 0x10000 maybe\n").unwrap();
    let passing = dir.path().join("pass.txt");
    std::fs::write(&passing, "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\n").unwrap();
    let out_c = dir.path().join("r.c");
    for cmd in ["minimize", "explain", "dot", "import", "c-repro"] {
        let mut extra: Vec<&str> = Vec::new();
        if cmd == "c-repro" {
            extra = vec!["-o", s(&out_c)];
        }
        if cmd == "import" {
            extra = vec!["--dir", s(dir.path())];
        }
        let run = |p: &Path| {
            let mut args = vec![cmd, s(p)];
            args.extend(&extra);
            rmapfuzz(&args)
        };
        let o = run(&missing);
        assert_eq!(o.status.code(), Some(2), "{cmd} missing: {}", text(&o));
        assert!(
            text(&o).contains("missing.txt: no such file"),
            "{cmd}: {}",
            text(&o)
        );
        let o = run(&bad);
        assert_eq!(o.status.code(), Some(2), "{cmd} bad: {}", text(&o));
        assert!(
            text(&o).contains("bad.txt:2: fault access must be r or w"),
            "{cmd}: {}",
            text(&o)
        );
        if matches!(cmd, "minimize" | "import" | "c-repro") {
            let o = run(&passing);
            assert_eq!(o.status.code(), Some(2), "{cmd} passing: {}", text(&o));
            assert!(text(&o).contains("does not fail"), "{cmd}: {}", text(&o));
        }
    }
    assert!(!out_c.exists(), "nothing written on bad input");
    // A fuzz artifact (bytes) that does not fail.
    assert_eq!(
        rmapfuzz(&["encode", s(&passing), "-o", s(dir.path())])
            .status
            .code(),
        Some(0)
    );
    let o = rmapfuzz(&["minimize", s(&dir.path().join("pass.bin"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("pass.bin: the scenario does not fail on mainline"),
        "{}",
        text(&o)
    );
    let o = rmapfuzz(&["triage", s(&missing)]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn explain_names_the_op_the_rule_and_both_values() {
    let out = rmapfuzz(&["explain", "corpus/zoo/v3-as-posted.txt"]);
    assert_eq!(out.status.code(), Some(1), "a failing scenario exits 1");
    let t = text(&out);
    assert!(t.contains("#4 merge 0 0x11000 fail=1"), "{t}");
    assert!(
        t.contains("FIRST FAILURE at op #4: check invariant.counter.num_active_vmas"),
        "{t}"
    );
    assert!(
        t.contains("rule: num_active_vmas equals the number of VMAs whose anon_vma it is"),
        "{t}"
    );
    // What changed, and the two sides on the object they disagree about.
    assert!(t.contains("~ vma 0:0x10000: anon_vma - -> av0"), "{t}");
    assert!(
        t.contains("C:      vma 0:0x10000") && t.contains("oracle: vma 0:0x10000"),
        "{t}"
    );
    let ok = rmapfuzz(&["explain", "corpus/fork-basic.txt"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(text(&ok).contains("every check passed"));
}

#[test]
fn dot_draws_the_failing_step_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("v3.txt");
    std::fs::copy("corpus/zoo/v3-as-posted.txt", &input).unwrap();
    let out = rmapfuzz(&["dot", s(&input)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dot = std::fs::read_to_string(dir.path().join("v3.step4.dot")).unwrap();
    assert!(dot.starts_with("digraph rmapfuzz {"));
    assert!(dot.contains("check invariant.counter.num_active_vmas failed"));
    assert!(
        dot.contains("av0 [shape=ellipse") && dot.contains("#d62728"),
        "av0 highlighted: {dot}"
    );
    assert!(dot.contains("anon_vma, no avc"), "{dot}");
    let rendered = Command::new("dot")
        .args(["-Tsvg", "-o", "/dev/null"])
        .arg(dir.path().join("v3.step4.dot"))
        .status();
    if let Ok(status) = rendered {
        assert!(status.success(), "dot -Tsvg rejects the output");
    }
    let step = rmapfuzz(&[
        "dot",
        s(&input),
        "--step",
        "2",
        "-o",
        s(&dir.path().join("two.dot")),
    ]);
    assert_eq!(step.status.code(), Some(0));
    let two = std::fs::read_to_string(dir.path().join("two.dot")).unwrap();
    assert!(two.contains("after op #2 `split 0 0x11000`") && !two.contains("av0 ["));
    assert_eq!(
        rmapfuzz(&["dot", s(&input), "--step", "9"]).status.code(),
        Some(2)
    );
}

#[test]
fn import_writes_a_regression_that_replays() {
    let dir = tempfile::tempdir().unwrap();
    let input = long_scenario(dir.path());
    let regressions = dir.path().join("regressions");
    let out = rmapfuzz(&[
        "import",
        s(&input),
        "--name",
        "v3-merge",
        "--dir",
        s(&regressions),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file = regressions.join("v3-merge.txt");
    let body = std::fs::read_to_string(&file).unwrap();
    assert!(
        body.contains("# Signature: invariant.counter.num_active_vmas at merge on v3-as-posted"),
        "{body}"
    );
    assert!(body.contains(SIGNATURE), "{body}");
    assert!(ops(&file) <= 4);
    assert_eq!(rmapfuzz(&["replay", s(&file)]).status.code(), Some(0));
    // The same name again is refused; without a name one is derived.
    let again = rmapfuzz(&[
        "import",
        s(&input),
        "--name",
        "v3-merge",
        "--dir",
        s(&regressions),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), body);
    let derived = rmapfuzz(&["import", s(&input), "--dir", s(&regressions)]);
    assert_eq!(derived.status.code(), Some(0), "{}", text(&derived));
    assert!(regressions
        .join("counter.num_active_vmas-at-merge.txt")
        .is_file());
}

#[test]
fn triage_groups_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let long = long_scenario(dir.path());
    let arts = dir.path().join("artifacts");
    std::fs::create_dir(&arts).unwrap();
    std::fs::copy(&long, arts.join("a.txt")).unwrap();
    std::fs::copy("corpus/zoo/v3-as-posted.txt", arts.join("b.txt")).unwrap();
    std::fs::copy("corpus/zoo/v3-as-posted.txt", arts.join("c.txt")).unwrap();
    std::fs::copy("corpus/fork-basic.txt", arts.join("ok.txt")).unwrap();
    assert_eq!(
        rmapfuzz(&["encode", s(&long), "-o", s(&arts)])
            .status
            .code(),
        Some(0)
    );
    std::fs::write(arts.join("tmin.log"), "not an input").unwrap();
    let out = rmapfuzz(&["triage", s(&arts), "--variant", "v3-as-posted"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(t.contains("5 input(s), 1 distinct failure(s)"), "{t}");
    let line = t.lines().find(|l| l.contains("num_active_vmas")).unwrap();
    assert!(line.trim_start().starts_with("4 "), "{t}");
    assert!(
        line.contains("b.txt (4 ops)"),
        "the smallest reproducer: {t}"
    );
    assert!(
        t.lines()
            .any(|l| l.trim_start().starts_with("1  (does not fail)")),
        "{t}"
    );
}

#[test]
fn c_repro_compiles_with_its_own_command_and_fails_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("repro.c");
    let out = rmapfuzz(&["c-repro", "corpus/zoo/v3-as-posted.txt", "-o", s(&source)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = std::fs::read_to_string(&source).unwrap();
    // The build line in the header comment, as printed.
    let line = c
        .lines()
        .find(|l| l.trim_start().starts_with("*   cc "))
        .expect("a build command in the header");
    let command = line.trim_start().trim_start_matches("*   ");
    let binary = dir.path().join("repro");
    let command = command
        .replace("repro.c", s(&source))
        .replace("-o repro && ./repro", &format!("-o {}", s(&binary)));
    let cc_ok = Command::new("cc").arg("--version").output().is_ok();
    if !cc_ok {
        eprintln!("skipped: no cc");
        return;
    }
    let build = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(build.status.success(), "{command}\n{}", text(&build));
    let run = Command::new(&binary).output().unwrap();
    assert!(!run.status.success(), "it must abort: {}", text(&run));
    let t = text(&run);
    assert!(
        t.contains("check invariant.counter.num_active_vmas failed"),
        "{t}"
    );
    assert!(t.contains("#4 merge 0 0x11000 fail=1"), "{t}");
}
