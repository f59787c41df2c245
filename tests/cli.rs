//! The command line on good and bad input: exit codes, `file:line: reason`
//! errors, and input files left untouched.

use std::path::Path;
use std::process::{Command, Output};

fn rmapfuzz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmapfuzz"))
        .args(args)
        .output()
        .expect("run rmapfuzz")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn malformed_scenario_gives_file_line_reason_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# ok so far\nmmap 0 0x10000 0x1000\nfault 0 0x10000 maybe\n";
    let path = write(dir.path(), "bad.txt", text);
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(&[cmd, &path]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "{path}:3: fault access must be r or w, not `maybe`"
            )),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "nothing may run on bad input");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "input untouched"
    );
}

#[test]
fn every_bad_file_in_a_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "fork\n");
    write(dir.path(), "b.txt", "mmap 0 0x10000 0x1000\n");
    write(dir.path(), "c.txt", "\n\nexplode 0\n");
    let out = rmapfuzz(&["replay", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a.txt:1:"), "{err}");
    assert!(
        err.contains("c.txt:3: unknown operation `explode`"),
        "{err}"
    );
}

#[test]
fn missing_path_and_unknown_variant_exit_2() {
    let out = rmapfuzz(&["replay", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/no/such/dir: no such file or directory")
    );

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ok.txt", "mmap 0 0x10000 0x1000\n");
    let out = rmapfuzz(&["replay", "--variant", "nonsense", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variant `nonsense`"));

    let path = write(
        dir.path(),
        "hdr.txt",
        "#! variant=nonsense\nmmap 0 0x10000 0x1000\n",
    );
    let out = rmapfuzz(&["replay", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hdr.txt: header: unknown variant"));
}

#[test]
fn a_good_scenario_passes_on_both_correct_variants() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ok.txt",
        "mmap 0 0x10000 0x2000\nfault 0 0x10000 w\nfork 0\nfault 1 0x10000 w\n",
    );
    let out = rmapfuzz(&["replay", &path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("[mainline]") && stdout.contains("[pre-series]"),
        "{stdout}"
    );
}

#[test]
fn an_unmet_expectation_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    // Claims a failure that a correct variant does not produce.
    let path = write(
        dir.path(),
        "f.txt",
        "#! variant=mainline expect=fail\nmmap 0 0x10000 0x1000\n",
    );
    let out = rmapfuzz(&["replay", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("every check passed"));
}

#[test]
fn op_timeout_takes_seconds_and_0_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ok.txt", "mmap 0 0x10000 0x1000\nfork 0\n");
    for secs in ["0", "1", "10"] {
        let out = rmapfuzz(&["--op-timeout", secs, "replay", &path]);
        assert_eq!(out.status.code(), Some(0), "--op-timeout {secs}");
    }
    let out = rmapfuzz(&["replay", &path, "--op-timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'soon' for '--op-timeout"));
}

#[test]
fn variants_lists_the_correct_ones() {
    let out = rmapfuzz(&["variants"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mainline") && text.contains("pre-series"));
}

/// `unlink-wrong-parent` (a zoo variant) warns at op #7, then breaks a
/// counter in a second family at op #12.
const WARNS_THEN_BREAKS: &str = "#! variant=unlink-wrong-parent expect=pass\n\
    mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nfork 1\n\
    munmap 1 0x10000 0x1000\nmunmap 0 0x10000 0x1000\nmunmap 2 0x10000 0x1000\n\
    mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nfork 3\nexit 4\n";

#[test]
fn malformed_or_missing_known_warnings_file_exits_2_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "ok.txt", "mmap 0 0x10000 0x1000\n");
    let text = "# known\nmaple_tree.h a maple tree warning\n\nmaple_tree.h:12x cond\n";
    let bad = write(dir.path(), "known.txt", text);
    for args in [
        vec!["--known-warnings", &bad, "replay", &scenario],
        vec!["sweep", &scenario, "--known-warnings", &bad],
        vec!["known-warnings", &bad],
    ] {
        let out = rmapfuzz(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "{bad}:4: `maple_tree.h:12x`: the site's line must be a positive number"
            )),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing may run");
    }
    let no_condition = write(dir.path(), "short.txt", "\n  maple_tree.h\n");
    let out = rmapfuzz(&["--known-warnings", &no_condition, "replay", &scenario]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "{no_condition}:2: `maple_tree.h`: expected `FILE[:LINE] CONDITION`"
    )));
    let missing = dir.path().join("nope.txt").display().to_string();
    let out = rmapfuzz(&["--known-warnings", &missing, "explore", "--depth", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains(&format!("{missing}: cannot read the known-warnings file")));
    assert_eq!(
        std::fs::read_to_string(&bad).unwrap(),
        text,
        "input untouched"
    );

    let good = write(
        dir.path(),
        "good.txt",
        "maple_tree.h a maple tree warning\n",
    );
    let out = rmapfuzz(&["known-warnings", &good]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 pattern(s)"));
    let c = dir.path().join("x.c").display().to_string();
    let out = rmapfuzz(&["--known-warnings", &good, "c-repro", &scenario, "-o", &c]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not taken by c-repro"));
    assert!(!Path::new(&c).exists());
}

#[test]
fn known_warnings_are_acknowledged_by_replay_sweep_explore_and_minimize() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "w.txt", WARNS_THEN_BREAKS);
    let known = write(dir.path(), "k.txt", "unlink_wrong_parent.c num_children\n");
    let other = write(
        dir.path(),
        "o.txt",
        "unlink_wrong_parent.c num_active_vmas\n",
    );
    let stdout = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();

    // replay: the warning without the file (or with an unrelated one), the
    // later counter with it, and the count in the report.
    for k in [None, Some(&other)] {
        let mut args = vec!["replay", &scenario];
        if let Some(k) = k {
            args.extend(["--known-warnings", k]);
        }
        let out = rmapfuzz(&args);
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains("op #7 `munmap 2 0x10000 0x1000`: check hygiene.warning"));
    }
    let out = rmapfuzz(&["--known-warnings", &known, "replay", &scenario]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("op #12 `exit 4`: check invariant.counter.num_children"),
        "{text}"
    );
    assert!(
        text.contains("acknowledged in this run, as known (not failures): 2 warning(s)"),
        "{text}"
    );
    assert!(
        text.contains("2 known warning(s) acknowledged, not failures, by the 1 pattern(s) of"),
        "{text}"
    );

    // The first seven operations alone pass, and sweep as well.
    let head: String = WARNS_THEN_BREAKS
        .lines()
        .take(8)
        .map(|l| format!("{l}\n"))
        .collect();
    let head = write(dir.path(), "head.txt", &head);
    for cmd in ["replay", "sweep"] {
        let out = rmapfuzz(&["--known-warnings", &known, cmd, &head]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{cmd}: {text}");
        assert!(
            text.contains("known warning(s) acknowledged)"),
            "{cmd}: {text}"
        );
        let out = rmapfuzz(&[cmd, &head]);
        assert_eq!(out.status.code(), Some(1), "{cmd} without the file");
    }

    // explore and minimize look past the warning for what else there is.
    let explore = |k: Option<&str>| {
        let mut args = vec![
            "explore",
            "--variant",
            "unlink-wrong-parent",
            "--depth",
            "5",
        ];
        args.extend(["--no-fail-points", "--jobs", "1"]);
        if let Some(k) = k {
            args.extend(["--known-warnings", k]);
        }
        stdout(&rmapfuzz(&args))
    };
    assert!(explore(None).contains("check=hygiene.warning"));
    let text = explore(Some(&known));
    assert!(
        text.contains("check=invariant.counter.num_children"),
        "{text}"
    );
    assert!(text.contains("known warning(s) acknowledged"), "{text}");

    let min = dir.path().join("w.min.txt");
    let out = rmapfuzz(&["--known-warnings", &known, "minimize", &scenario]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&min).unwrap();
    assert!(
        written.contains("check=invariant.counter.num_children op=exit"),
        "{written}"
    );
    assert_eq!(
        std::fs::read_to_string(&scenario).unwrap(),
        WARNS_THEN_BREAKS
    );
}

/// A fuzz input's race scheduled by PCT decodes, without a variant, to a
/// text scenario carrying the schedule PCT took on the default variant,
/// the one `decode --variant mainline` writes, and that replays.
#[test]
fn a_pct_race_decodes_with_the_schedule_it_took() {
    use rmapfuzz::input::encoding::encode;
    use rmapfuzz::language::parse::parse_scenario;
    use rmapfuzz::language::race::{Pct, MAX_PCT_CHANGES};

    let dir = tempfile::tempdir().unwrap();
    let text = "mmap 0 0x10000 0x2000\nfault 0 0x10000 w\nfork 0\n\
                par { fork 0 } { exit 1 }\n";
    let mut s = parse_scenario(text, "pct").unwrap();
    let race = s.race.as_mut().expect("a race");
    // The second thread first, then the first from switch point 3.
    let mut changes = [0; MAX_PCT_CHANGES];
    changes[0] = 3;
    race.pct = Some(Pct {
        priority: [2, 3, 0],
        changes,
        nr_changes: 1,
    });
    let input = dir.path().join("input");
    std::fs::write(&input, encode(&s).unwrap()).unwrap();
    let input = input.display().to_string();

    let plain = rmapfuzz(&["decode", &input]);
    assert!(plain.status.success(), "{plain:?}");
    let decoded = String::from_utf8_lossy(&plain.stdout).into_owned();
    let schedule = decoded
        .lines()
        .find(|l| l.starts_with("schedule "))
        .unwrap_or_else(|| panic!("no schedule in\n{decoded}"));
    assert!(
        decoded.contains("PCT priorities took on mainline"),
        "{decoded}"
    );

    let on_mainline = rmapfuzz(&["decode", &input, "--variant", "mainline"]);
    let there = String::from_utf8_lossy(&on_mainline.stdout);
    assert!(
        there.lines().any(|l| l == schedule),
        "{there}\nvs {schedule}"
    );

    let path = write(dir.path(), "decoded.txt", &decoded);
    let replayed = rmapfuzz(&["replay", &path, "--variant", "mainline"]);
    assert!(replayed.status.success(), "{replayed:?}");
}

#[test]
fn bench_scaling_takes_chosen_lengths_and_refuses_empty_ones() {
    let out = rmapfuzz(&["bench", "scaling", "--budget", "64", "--lengths", "4,16"]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| 4 ") || l.starts_with("| 16 "))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    for bad in ["0", "65"] {
        let out = rmapfuzz(&["bench", "scaling", "--budget", "64", "--lengths", bad]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--lengths") && err.contains(bad), "{err}");
    }
}
