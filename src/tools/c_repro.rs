//! `rmapfuzz c-repro`: a failing scenario as a standalone C program over
//! the harness API (`csrc/harness.h`), which a kernel developer builds with
//! one `cc` line and runs without Rust. It replays the operations, prints
//! each outcome, and at the failing operation runs the failed check in C
//! (`csrc/repro_checks.c`) and aborts if it fires.
//!
//! Checks that compare with the Rust side (`outcome`, `allocs`) are checked
//! against the reference's values, recorded in the program. Checks that
//! need the whole Rust snapshot (`state`, `shape`, the structural
//! invariants) fall back to every check the C side can run; the program
//! says so when those do not fire.

use std::fmt::Write as _;

use crate::check::report::Failure;
use crate::check::runner::{reference_engine, run, RunOptions};
use crate::engine::variant::Variant;
use crate::engine::{Outcome, Site, Status};
use crate::language::op::{Access, Advice, Op, Walker};
use crate::language::scenario::Scenario;

/// The command that builds a reproducer, run from the rmapfuzz checkout;
/// with the translation unit of a kernel tree's core when the variant is
/// one (`kernel` / `kernel-base`).
pub fn build_command(source: &str, binary: &str, kernel: Option<&KernelUnit>) -> String {
    let unit = kernel.map_or(String::new(), |k| {
        format!(" -D{} {}", k.define, k.file_name)
    });
    format!(
        "cc -std=gnu11 -g -fsanitize=address -Icsrc/include -Icsrc{unit} {source} \
         $(find csrc -name '*.c' ! -path '*kernel_glue*' ! -path '*tree_vma*') -o {binary}"
    )
}

/// The extracted core a reproducer of a kernel variant is built with: the
/// same translation unit the variant was built from, regenerated from its
/// tree (and refused if the tree changed since).
#[derive(Clone, Debug)]
pub struct KernelUnit {
    /// Where it goes, next to the reproducer.
    pub file_name: String,
    pub source: String,
    /// The macro that registers it with the harness.
    pub define: &'static str,
    /// "kernel is TREE (Linux V, G generation, files H)".
    pub what: String,
}

/// The kernel unit of `v`, if it is built from a tree.
fn kernel_unit(v: Variant, binary: &str) -> Result<Option<KernelUnit>, String> {
    let Some(k) = v.tree() else {
        return Ok(None);
    };
    if k.variant == crate::engine::variant::KERNEL_VMA_VARIANT {
        return Err(format!(
            "no standalone reproducer for {}: its mm/vma.c needs the tree's tools/testing/vma \
             build (maple tree, liburcu) around it; `--variant kernel` writes one for the \
             tree's core under rmapfuzz's callers",
            k.variant
        ));
    }
    let (slot, define) = if k.variant == rmap_extract::KERNEL_BASE.variant {
        (rmap_extract::KERNEL_BASE, "RMAPFUZZ_HAVE_KERNEL_BASE")
    } else {
        (rmap_extract::KERNEL, "RMAPFUZZ_HAVE_KERNEL")
    };
    let x = rmap_extract::extract_as(std::path::Path::new(k.tree), slot)
        .map_err(|e| format!("cannot take the core out of {} again: {e}", k.tree))?;
    if x.hash != k.hash {
        return Err(format!(
            "{} changed since this build (files {} then, {} now): run the command again to rebuild",
            k.tree, k.hash, x.hash
        ));
    }
    Ok(Some(KernelUnit {
        file_name: format!("{binary}-{}.c", k.variant),
        source: x.source,
        define,
        what: format!(
            "{} is {} (Linux {}, {} generation, files {})",
            k.variant, k.tree, k.version, k.generation, k.hash
        ),
    }))
}

fn c_op(op: &Op) -> String {
    let (kind, mm, a, b, c) = match *op {
        Op::Mmap { mm, start, len } => ("RF_OP_MMAP", mm, start, len, "0"),
        Op::Fault { mm, addr, access } => (
            "RF_OP_FAULT",
            mm,
            addr,
            0,
            if access == Access::Write {
                "RF_ACCESS_WRITE"
            } else {
                "RF_ACCESS_READ"
            },
        ),
        Op::Fork { mm } => ("RF_OP_FORK", mm, 0, 0, "0"),
        Op::Split { mm, addr } => ("RF_OP_SPLIT", mm, addr, 0, "0"),
        Op::Merge { mm, addr } => ("RF_OP_MERGE", mm, addr, 0, "0"),
        Op::Mremap { mm, addr, new_addr } => ("RF_OP_MREMAP", mm, addr, new_addr, "0"),
        Op::Munmap { mm, start, len } => ("RF_OP_MUNMAP", mm, start, len, "0"),
        Op::Madvise {
            mm,
            start,
            len,
            advice,
        } => (
            "RF_OP_MADVISE",
            mm,
            start,
            len,
            match advice {
                Advice::DontFork => "RF_ADVICE_DONTFORK",
                Advice::DoFork => "RF_ADVICE_DOFORK",
                Advice::WipeOnFork => "RF_ADVICE_WIPEONFORK",
                Advice::KeepOnFork => "RF_ADVICE_KEEPONFORK",
            },
        ),
        Op::Exit { mm } => ("RF_OP_EXIT", mm, 0, 0, "0"),
        Op::Rmap { mm, addr } => ("RF_OP_RMAP", mm, addr, 0, "0"),
        Op::Walk { walker, mm, addr } => {
            let kind = match walker {
                Walker::Reclaim => "RF_OP_RECLAIM",
                Walker::Migrate => "RF_OP_MIGRATE",
                Walker::Referenced => "RF_OP_REFERENCED",
            };
            (kind, mm, addr, 0, "0")
        }
    };
    format!("{{ {kind}, {mm}, {a:#x}, {b:#x}, {c} }}")
}

fn c_status(s: Status) -> &'static str {
    match s {
        Status::Ok => "RF_STATUS_OK",
        Status::NoOp => "RF_STATUS_NOOP",
        Status::Enomem => "RF_STATUS_ENOMEM",
        Status::Einval => "RF_STATUS_EINVAL",
    }
}

fn c_site(s: Site) -> &'static str {
    match s {
        Site::Mm => "RF_SITE_MM",
        Site::Vma => "RF_SITE_VMA",
        Site::AnonVma => "RF_SITE_ANON_VMA",
        Site::Avc => "RF_SITE_AVC",
        Site::Page => "RF_SITE_PAGE",
    }
}

fn c_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// The reference's outcome of the failing step, when the check compares
/// outcomes.
fn reference_outcome(s: &Scenario, v: Variant, at: usize) -> Option<Outcome> {
    let mut r = reference_engine(v).ok()??;
    let mut last = None;
    for step in &s.steps[..=at] {
        last = Some(r.apply(&step.op, step.fail));
    }
    last
}

/// What the generated program is, and whether its check runs natively.
#[derive(Clone, Debug)]
pub struct Repro {
    pub source: String,
    pub failure: Failure,
    /// The failed check is run as such in C (else a fallback).
    pub native: bool,
    /// For a kernel variant: the tree's core, to write beside the source.
    pub kernel: Option<KernelUnit>,
}

/// Why there is no reproducer to write.
#[derive(Debug, thiserror::Error)]
pub enum NothingToReproduce {
    #[error("the scenario does not fail on {0}: nothing to reproduce")]
    Passes(String),
    #[error("{0}")]
    Tree(String),
}

/// The reproducer of `s` on `v`; `name` is the file the source goes to.
pub fn generate(s: &Scenario, v: Variant, name: &str) -> Result<Repro, NothingToReproduce> {
    let failure = run(s, v, RunOptions::default())
        .failure
        .ok_or_else(|| NothingToReproduce::Passes(v.label.to_owned()))?;
    let binary = name.strip_suffix(".c").unwrap_or("repro");
    let kernel = kernel_unit(v, binary).map_err(NothingToReproduce::Tree)?;
    let at = failure.step;
    let check = failure.check.as_str();
    let compares = matches!(check, "outcome" | "allocs");
    let native = compares || check == "leak" || rmap_ffi::repro_supports(check);
    let expected = match (compares, at) {
        (true, Some(i)) => reference_outcome(s, v, i),
        _ => None,
    };

    let mut c = String::new();
    let _ = writeln!(c, "/*");
    let _ = writeln!(c, " * rmapfuzz reproducer, variant {v}.");
    if let Some(k) = &kernel {
        let _ = writeln!(c, " * Variant {}; its core is in {}.", k.what, k.file_name);
    }
    let _ = writeln!(c, " * Judged: {}.", failure.basis.replace("*/", "* /"));
    let where_ = at.map_or("at teardown".to_owned(), |i| {
        format!("at op #{} `{}`", i + 1, s.steps[i])
    });
    let _ = writeln!(c, " * Fails: check {check} {where_}.");
    for line in failure.detail.lines() {
        let _ = writeln!(c, " *   {}", line.replace("*/", "* /"));
    }
    let _ = writeln!(c, " *");
    let _ = writeln!(c, " * Build and run from the rmapfuzz checkout:");
    let _ = writeln!(
        c,
        " *   {} && ./{binary}",
        build_command(name, binary, kernel.as_ref())
    );
    let _ = writeln!(
        c,
        " * It aborts at the failing check; exit 0 means the failure is gone."
    );
    let _ = writeln!(c, " */");
    let _ = writeln!(
        c,
        "#include <stdbool.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    );
    let _ = writeln!(c, "#include \"harness.h\"\n#include \"repro_checks.h\"\n");
    let _ = writeln!(c, "struct step {{\n\tstruct rf_op op;\n\tuint32_t fail_nth;\n\tbool fail_and_later;\n\tconst char *text;\n}};\n");
    let _ = writeln!(c, "static const struct step steps[] = {{");
    for step in &s.steps {
        let (nth, later) = step.fail.map_or((0, false), |f| (f.nth, f.and_later));
        let _ = writeln!(
            c,
            "\t{{ {}, {nth}, {later}, {} }},",
            c_op(&step.op),
            c_string(&step.to_string())
        );
    }
    let _ = writeln!(c, "}};\n");
    let _ = writeln!(c, "#define NR_STEPS\t{}", s.steps.len());
    let _ = writeln!(
        c,
        "#define FAILING_STEP\t{}\t/* 0-based; -1: at teardown */",
        at.map_or(-1, |i| i as i64)
    );
    let _ = writeln!(c, "#define VARIANT\t\t{}", c_string(v.name));
    let _ = writeln!(c, "#define CHECK\t\t{}\n", c_string(check));

    let _ = writeln!(
        c,
        "static void fail(const char *check, const char *why)\n{{"
    );
    let _ = writeln!(c, "\tfflush(stdout);\n\tfprintf(stderr, \"rmapfuzz repro: check %s failed: %s\\n\", check, why);\n\tabort();\n}}\n");

    // The failing step's own check.
    let _ = writeln!(
        c,
        "static void check_step(struct rf_world *w, const struct rf_outcome *out)\n{{"
    );
    let _ = writeln!(c, "\tchar why[4096];\n");
    match (&expected, check) {
        (Some(o), "outcome") => {
            let _ = writeln!(c, "\t/* The reference ({}) returned: {o} */", v.reference);
            let _ = writeln!(c, "\tif (out->status != {}) {{", c_status(o.status));
            let _ = writeln!(c, "\t\tsnprintf(why, sizeof(why), \"status %u, the reference returned {}\", out->status);", o.status);
            let _ = writeln!(c, "\t\tfail(CHECK, why);\n\t}}");
            let _ = writeln!(c, "\t(void)w;");
        }
        (Some(o), "allocs") => {
            let _ = writeln!(c, "\t/* The reference ({}) allocated: {o} */", v.reference);
            let sites: Vec<&str> = o.allocs.iter().map(|s| c_site(*s)).collect();
            let _ = writeln!(
                c,
                "\tstatic const uint8_t expected[] = {{ {} }};",
                if sites.is_empty() {
                    "0".into()
                } else {
                    sites.join(", ")
                }
            );
            let _ = writeln!(c, "\tconst uint32_t nr_expected = {};", sites.len());
            let _ = writeln!(c, "\tif (out->nr_allocs != nr_expected ||\n\t    memcmp(out->allocs, expected, nr_expected) != 0) {{");
            let _ = writeln!(c, "\t\tsnprintf(why, sizeof(why), \"%u allocations, the reference made %u in another order or number\", out->nr_allocs, nr_expected);");
            let _ = writeln!(c, "\t\tfail(CHECK, why);\n\t}}");
            let _ = writeln!(c, "\t(void)w;");
        }
        _ => {
            let native_check = if native && check != "leak" {
                check
            } else {
                "any"
            };
            let _ = writeln!(c, "\t(void)out;");
            let _ = writeln!(
                c,
                "\tif (rf_repro_check(w, {}, why, sizeof(why)))",
                c_string(native_check)
            );
            let _ = writeln!(c, "\t\tfail(CHECK, why);");
            if !native {
                let _ = writeln!(
                    c,
                    "\tfprintf(stderr, \"rmapfuzz repro: \" CHECK \" compares with the Rust side; the C checks found nothing here: see `rmapfuzz explain`\\n\");\n\texit(3);"
                );
            }
        }
    }
    let _ = writeln!(c, "}}\n");

    let _ = writeln!(c, "int main(void)\n{{");
    let _ = writeln!(c, "\tstruct rf_world *w = rf_world_new(VARIANT);\n\tuint64_t leaks[RF_NR_SITES];\n\tint i, site;\n");
    let _ = writeln!(c, "\tif (!w) {{\n\t\tfprintf(stderr, \"this build has no variant %s\\n\", VARIANT);\n\t\treturn 2;\n\t}}");
    let _ = writeln!(
        c,
        "\tfor (i = 0; i < NR_STEPS; i++) {{\n\t\tstruct rf_outcome out;\n"
    );
    let _ = writeln!(c, "\t\trf_world_apply(w, &steps[i].op, steps[i].fail_nth,\n\t\t\t       steps[i].fail_and_later, &out);");
    let _ = writeln!(c, "\t\tprintf(\"#%d %s -> status %u, %u allocation(s)\\n\", i + 1,\n\t\t       steps[i].text, out.status, out.nr_allocs);");
    let _ = writeln!(
        c,
        "\t\tif (i == FAILING_STEP)\n\t\t\tcheck_step(w, &out);\n\t}}"
    );
    let _ = writeln!(c, "\trf_world_free(w, leaks);");
    let _ = writeln!(c, "\tfor (site = 0; site < RF_NR_SITES; site++) {{");
    let _ = writeln!(
        c,
        "\t\tif (FAILING_STEP == -1 && leaks[site]) {{\n\t\t\tchar why[128];\n"
    );
    let _ = writeln!(c, "\t\t\tsnprintf(why, sizeof(why), \"%llu object(s) of site %d still allocated\",\n\t\t\t\t (unsigned long long)leaks[site], site);\n\t\t\tfail(CHECK, why);\n\t\t}}\n\t}}");
    let _ = writeln!(
        c,
        "\tprintf(\"no failure: the scenario passes on %s\\n\", VARIANT);\n\treturn 0;\n}}"
    );
    Ok(Repro {
        source: c,
        failure,
        native,
        kernel,
    })
}
