//! Reports of failed builds over sample gcc, clang, ld and cargo output.

use super::*;

/// Cargo without `--quiet` on a tree gcc rejects: cc's forwarded
/// compiler output as warnings of rmap-ffi, then again as
/// `cargo:warning=` lines in the failed script's stdout.
const GCC_REJECTS: &str = "\
   Compiling rmap-ffi v0.1.0 (/src/rmapfuzz/ffi)
warning: rmap-ffi@0.1.0: /trees/9.1/mm/rmap.c: In function 'rmapfuzz_kernel___anon_vma_prepare':
warning: rmap-ffi@0.1.0: /trees/9.1/mm/rmap.c:231:9: error: implicit declaration of function 'anon_tree_add'; did you mean 'anon_tree_del'? [-Werror=implicit-function-declaration]
warning: rmap-ffi@0.1.0:   231 |         anon_tree_add(avc, av);
warning: rmap-ffi@0.1.0:       |         ^~~~~~~~~~~~~
warning: rmap-ffi@0.1.0: /trees/9.1/mm/rmap.c:240:5: warning: unused variable 'x' [-Wunused-variable]
warning: rmap-ffi@0.1.0: /trees/9.1/mm/rmap.c: In function 'rmapfuzz_kernel_unlink_anon_vmas':
warning: rmap-ffi@0.1.0: /trees/9.1/mm/rmap.c:517:17: error: implicit declaration of function 'anon_tree_cut' [-Werror=implicit-function-declaration]
warning: rmap-ffi@0.1.0: cc1: some warnings being treated as errors
error: failed to run custom build command for `rmap-ffi v0.1.0 (/src/rmapfuzz/ffi)`

Caused by:
  process didn't exit successfully: `/t/release/build/rmap-ffi-1/build-script-build` (exit status: 1)
  --- stdout
  cargo:rerun-if-changed=/trees/9.1/mm/rmap.c
  cargo:rustc-env=RMAPFUZZ_KERNEL_VERSION=9.1.0
  CFLAGS = None
  cargo:warning=/trees/9.1/mm/rmap.c: In function 'rmapfuzz_kernel___anon_vma_prepare':
  cargo:warning=/trees/9.1/mm/rmap.c:231:9: error: implicit declaration of function 'anon_tree_add'; did you mean 'anon_tree_del'? [-Werror=implicit-function-declaration]
  cargo:warning=  231 |         anon_tree_add(avc, av);
  cargo:warning=/trees/9.1/mm/rmap.c:240:5: warning: unused variable 'x' [-Wunused-variable]
  cargo:warning=/trees/9.1/mm/rmap.c:517:17: error: implicit declaration of function 'anon_tree_cut' [-Werror=implicit-function-declaration]
  cargo:warning=cc1: some warnings being treated as errors

  --- stderr
  rmapfuzz: the C compiler rejected the kernel code; its messages (the warnings of rmap-ffi) say where
";

/// A linker command line as rustc shows it: thousands of characters.
fn link_command() -> String {
    let mut line = String::from("  = note:  \"cc\" \"-m64\" \"/t/release/deps/symbols.o\"");
    for i in 0..80 {
        line.push_str(&format!(
            " \"/t/release/deps/libcrate{i}-0123456789abcdef.rlib\""
        ));
    }
    line
}

/// rustc's report of a link with rust-lld that misses symbols.
fn lld_fails() -> String {
    format!(
            "\
   Compiling rmapfuzz v0.1.0 (/src/rmapfuzz)
error: linking with `cc` failed: exit status: 1
  |
{}
  = note: some arguments are omitted. use `--verbose` to show all linker arguments
  = note: rust-lld: error: undefined symbol: anon_tree_add
          >>> referenced by rmap.c:361 (/trees/9.1/mm/rmap.c:361)
          >>>               0a1b-rmapfuzz_kernel.o:(rmapfuzz_kernel_anon_vma_clone) in archive /t/librmap_ffi.rlib
          >>> referenced by rmap.c:231 (/trees/9.1/mm/rmap.c:231)
          >>>               0a1b-rmapfuzz_kernel.o:(rmapfuzz_kernel___anon_vma_prepare) in archive /t/librmap_ffi.rlib

          rust-lld: error: undefined symbol: anon_tree_cut
          >>> referenced by rmap.c:517 (/trees/9.1/mm/rmap.c:517)
          collect2: error: ld returned 1 exit status


error: could not compile `rmapfuzz` (bin \"rmapfuzz\") due to 1 previous error
",
            link_command()
        )
}

fn at(
    file: &str,
    line: u32,
    column: Option<u32>,
    severity: Severity,
) -> (String, u32, Option<u32>, Severity) {
    (file.to_owned(), line, column, severity)
}

fn places(f: &BuildFailure) -> Vec<(String, u32, Option<u32>, Severity)> {
    f.diagnostics
        .iter()
        .map(|d| (d.file.clone(), d.line, d.column, d.severity))
        .collect()
}

#[test]
fn gcc_errors_come_first_each_once_with_the_tree_file_and_line() {
    let f = parse_build_failure(GCC_REJECTS);
    assert_eq!(
        places(&f),
        vec![
            at("/trees/9.1/mm/rmap.c", 231, Some(9), Severity::Error),
            at("/trees/9.1/mm/rmap.c", 517, Some(17), Severity::Error),
            at("/trees/9.1/mm/rmap.c", 240, Some(5), Severity::Warning),
        ]
    );
    assert_eq!(
        f.diagnostics[0].text,
        "implicit declaration of function 'anon_tree_add'; did you mean 'anon_tree_del'? \
             [-Werror=implicit-function-declaration]"
    );
    assert!(f.undefined.is_empty());
    assert_eq!(
            f.script_stderr,
            vec![
                "rmapfuzz: the C compiler rejected the kernel code; its messages (the warnings of rmap-ffi) say where"
            ]
        );
}

#[test]
fn a_rejected_tree_reports_only_the_compiler_lines() {
    let report = failure_report(GCC_REJECTS);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
            lines,
            vec![
                "rmapfuzz: the C compiler rejected the kernel code:",
                "  /trees/9.1/mm/rmap.c:231:9: error: implicit declaration of function 'anon_tree_add'; \
                 did you mean 'anon_tree_del'? [-Werror=implicit-function-declaration]",
                "  /trees/9.1/mm/rmap.c:517:17: error: implicit declaration of function 'anon_tree_cut' \
                 [-Werror=implicit-function-declaration]",
                "  /trees/9.1/mm/rmap.c:240:5: warning: unused variable 'x' [-Wunused-variable]",
            ]
        );
}

#[test]
fn clang_output_with_colours_and_a_fatal_error() {
    let out = "\
warning: rmap-ffi@0.1.0: \u{1b}[1m/trees/x/mm/rmap.c:12:3: \u{1b}[0;1;35mwarning: \u{1b}[0mcomparison of integers of different signs [-Wsign-compare]\u{1b}[0m
warning: rmap-ffi@0.1.0: /trees/x/include/linux/rmap.h:88:10: fatal error: 'linux/absent.h' file not found
warning: rmap-ffi@0.1.0: #include <linux/absent.h>
warning: rmap-ffi@0.1.0:          ^~~~~~~~~~~~~~~~
warning: rmap-ffi@0.1.0: /trees/x/mm/rmap.c:12:3: note: expanded from macro 'X'
warning: rmap-ffi@0.1.0: 1 warning and 1 error generated.
";
    let f = parse_build_failure(out);
    assert_eq!(
        places(&f),
        vec![
            at(
                "/trees/x/include/linux/rmap.h",
                88,
                Some(10),
                Severity::Error
            ),
            at("/trees/x/mm/rmap.c", 12, Some(3), Severity::Warning),
        ]
    );
    assert_eq!(f.diagnostics[0].kind, "fatal error");
    assert_eq!(
            f.diagnostics[1].to_string(),
            "/trees/x/mm/rmap.c:12:3: warning: comparison of integers of different signs [-Wsign-compare]"
        );
}

#[test]
fn at_most_ten_diagnostics_are_shown() {
    let mut out = String::new();
    for i in 1..=13 {
        out.push_str(&format!(
                "warning: rmap-ffi@0.1.0: /trees/y/mm/rmap.c:{i}:1: error: expected ';' before '}}' token\n"
            ));
    }
    assert_eq!(parse_build_failure(&out).diagnostics.len(), 13);
    let report = failure_report(&out);
    assert!(report.contains("mm/rmap.c:10:1: error"), "{report}");
    assert!(!report.contains("mm/rmap.c:11:1: error"), "{report}");
    assert!(report.ends_with("  (and 3 more)\n"), "{report}");
    assert_eq!(report.lines().count(), 12, "{report}");
}

#[test]
fn a_link_failure_shows_the_undefined_symbols_not_the_command_line() {
    let out = lld_fails();
    let f = parse_build_failure(&out);
    assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    assert_eq!(
        f.undefined,
        vec![
            "rust-lld: error: undefined symbol: anon_tree_add",
            "rust-lld: error: undefined symbol: anon_tree_cut",
        ]
    );
    let report = failure_report(&out);
    assert_eq!(
        report,
        "rmapfuzz: the link failed:\n  \
             rust-lld: error: undefined symbol: anon_tree_add\n  \
             rust-lld: error: undefined symbol: anon_tree_cut\n"
    );
}

#[test]
fn gnu_ld_undefined_references_each_once() {
    let out = format!(
            "error: linking with `cc` failed: exit status: 1\n{}\n  = note: /usr/bin/ld: /t/librmap_ffi.rlib(0a-rmapfuzz_kernel.o): in function `rmapfuzz_kernel_anon_vma_clone':\n          /trees/z/mm/rmap.c:361: undefined reference to `anon_tree_add'\n          /usr/bin/ld: /trees/z/mm/rmap.c:361: undefined reference to `anon_tree_add'\n          /trees/z/mm/rmap.c:517: undefined reference to `anon_tree_cut'\n          collect2: error: ld returned 1 exit status\n",
            link_command()
        );
    let f = parse_build_failure(&out);
    assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    assert_eq!(
        f.undefined,
        vec![
            "/trees/z/mm/rmap.c:361: undefined reference to `anon_tree_add'",
            "/usr/bin/ld: /trees/z/mm/rmap.c:361: undefined reference to `anon_tree_add'",
            "/trees/z/mm/rmap.c:517: undefined reference to `anon_tree_cut'",
        ]
    );
    assert!(!failure_report(&out).contains("-m64"));
}

#[test]
fn warnings_before_a_link_failure_come_with_it() {
    let out = format!(
            "warning: rmap-ffi@0.1.0: /trees/w/mm/rmap.c:300:12: warning: passing argument 1 of 'f' from incompatible pointer type [-Wincompatible-pointer-types]\n{}",
            lld_fails()
        );
    let report = failure_report(&out);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "rmapfuzz: the C compiler warned:");
    assert!(lines[1].starts_with("  /trees/w/mm/rmap.c:300:12: warning: passing argument 1"));
    assert_eq!(lines[2], "rmapfuzz: the link failed:");
    assert_eq!(lines.len(), 5, "{report}");
}

#[test]
fn a_build_script_message_is_shown_without_the_script_stdout() {
    let out = "\
   Compiling rmap-ffi v0.1.0 (/src/rmapfuzz/ffi)
error: failed to run custom build command for `rmap-ffi v0.1.0 (/src/rmapfuzz/ffi)`

Caused by:
  process didn't exit successfully: `/t/build-script-build` (exit status: 1)
  --- stdout
  cargo:rerun-if-changed=/src/rmapfuzz/csrc
  cargo:rerun-if-env-changed=RMAPFUZZ_KERNEL_SRC
  --- stderr
  rmapfuzz: cannot build the kernel variant from /trees/v:
    /trees/v/mm/rmap.c: no definition of `anon_vma_fork` (expected in the anon_vma core)

warning: build failed, waiting for other jobs to finish...
";
    let report = failure_report(out);
    assert_eq!(
            report,
            "rmapfuzz: cannot build the kernel variant from /trees/v:\n  \
             /trees/v/mm/rmap.c: no definition of `anon_vma_fork` (expected in the anon_vma core)\n"
        );
}

#[test]
fn a_message_at_a_renaming_define_names_the_tree_function() {
    let out = "\
warning: rmap-ffi@0.1.0: /t/mm/rmap.c: In function \u{2018}rmapfuzz_kernel_anon_vma_clone\u{2019}:
warning: rmap-ffi@0.1.0: /o/rmapfuzz_kernel.c:11:31: error: too many arguments to function \u{2018}rmapfuzz_kernel_anon_vma_chain_assign\u{2019}
warning: rmap-ffi@0.1.0: /t/mm/rmap.c: In function 'rmapfuzz_kernel_unlink_anon_vmas':
warning: rmap-ffi@0.1.0: /t/mm/rmap.c:500:3: error: expected ';' before 'if'
";
    let f = parse_build_failure(out);
    assert_eq!(f.diagnostics.len(), 2, "{f:?}");
    assert!(
        f.diagnostics[0]
            .text
            .ends_with("(in `anon_vma_clone` of /t/mm/rmap.c, at a name the extraction renamed)"),
        "{}",
        f.diagnostics[0]
    );
    // A message at the tree's own line is left as it is.
    assert_eq!(f.diagnostics[1].text, "expected ';' before 'if'");
}

#[test]
fn a_long_build_script_message_is_not_cut() {
    let why = format!(
        "/t/mm/rmap.c:218: `f` is called here, but {}",
        "x".repeat(400)
    );
    let out = format!(
            "error: failed to run custom build command for `rmap-ffi`\n\
             Caused by:\n  --- stderr\n  rmapfuzz: cannot build the kernel variant from /t:\n    {why}\n"
        );
    assert!(
        failure_report(&out).contains(&why),
        "{}",
        failure_report(&out)
    );
}

#[test]
fn anything_else_shows_the_start_of_cargo_output_with_long_lines_cut() {
    let out = format!(
        "error[E0425]: cannot find value `x` in this scope\n  --> src/main.rs:3:5\n{}\n",
        link_command()
    );
    let f = parse_build_failure(&out);
    assert_eq!(f, BuildFailure::default());
    let report = failure_report(&out);
    assert!(
        report.starts_with("rmapfuzz: cargo says:\n  error[E0425]"),
        "{report}"
    );
    assert!(report.contains("  --> src/main.rs:3:5\n"), "{report}");
    assert!(report.contains("[... cut; see the log]"), "{report}");
    assert!(
        report.lines().all(|l| l.chars().count() < MAX_LINE + 40),
        "{report}"
    );
}

#[test]
fn what_is_not_a_compiler_diagnostic() {
    for line in [
        "rust-lld: error: undefined symbol: anon_tree_add",
        ">>> referenced by rmap.c:361 (/trees/9.1/mm/rmap.c:361)",
        "cc1: some warnings being treated as errors",
        "/trees/x/mm/rmap.c:12:3: note: expanded from macro 'X'",
        "/trees/x/mm/rmap.c: In function 'f':",
        "/trees/z/mm/rmap.c:361: undefined reference to `anon_tree_add'",
        "error: linking with `cc` failed: exit status: 1",
        "warning: unused variable: `x`",
        "/trees/x/mm/rmap.c:1x: error: not a line number",
    ] {
        assert_eq!(parse_diagnostic(line), None, "{line}");
    }
    let d = parse_diagnostic("/trees/x/mm/rmap.c:77: error: old style, no column").unwrap();
    assert_eq!(
        (d.file.as_str(), d.line, d.column, d.severity),
        ("/trees/x/mm/rmap.c", 77, None, Severity::Error)
    );
}
