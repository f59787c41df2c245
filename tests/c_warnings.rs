//! The C harness compiles without a single warning under -Wall -Wextra,
//! with gcc and with clang (whichever are installed; at least one is).

use std::path::{Path, PathBuf};
use std::process::Command;

fn c_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            c_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "c") {
            out.push(path);
        }
    }
}

fn compiles_clean(compiler: &str) -> Option<Result<(), String>> {
    Command::new(compiler).arg("--version").output().ok()?;
    let csrc = Path::new(env!("CARGO_MANIFEST_DIR")).join("csrc");
    let mut files = Vec::new();
    c_files(&csrc, &mut files);
    assert!(files.len() > 5, "csrc/ has the harness");
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let out = Command::new(compiler)
            .args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-c"])
            .arg("-I")
            .arg(csrc.join("include"))
            .arg("-I")
            .arg(&csrc)
            .arg(&file)
            .arg("-o")
            .arg(dir.path().join("out.o"))
            .output()
            .unwrap();
        if !out.status.success() {
            return Some(Err(format!(
                "{compiler} {}:\n{}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
    }
    Some(Ok(()))
}

#[test]
fn c_compiles_without_warnings() {
    let results: Vec<_> = ["gcc", "clang"]
        .iter()
        .filter_map(|c| compiles_clean(c))
        .collect();
    assert!(!results.is_empty(), "no C compiler found");
    for r in results {
        r.unwrap();
    }
}
