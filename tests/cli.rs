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
fn variants_lists_the_correct_ones() {
    let out = rmapfuzz(&["variants"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mainline") && text.contains("pre-series"));
}
