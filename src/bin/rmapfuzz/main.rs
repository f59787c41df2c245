//! The `rmapfuzz` command line: the arguments, and a dispatch to
//! `commands/`, one file per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use rmapfuzz::check::known::{Known, KnownWarnings};
use rmapfuzz::check::watchdog;
use rmapfuzz::engine::variant::{self};

mod commands;
mod trees;

/// Snapshots, canonical forms and outcomes are many small allocations
/// made and freed per operation: glibc's malloc took a quarter of
/// `explore`'s time.
#[global_allocator]
static HEAP: mimalloc::MiMalloc = mimalloc::MiMalloc;

use commands::*;

#[derive(Parser)]
#[command(
    name = "rmapfuzz",
    version,
    about = "Differential fuzzing of the kernel's anon_vma core, C against Rust"
)]
struct Cli {
    /// Add the variant `kernel`: the anon_vma core of this Linux source
    /// tree (builds rmapfuzz with it on first use, then runs that build).
    /// Every command then runs `kernel` unless told otherwise.
    #[arg(long, global = true, value_name = "TREE")]
    kernel_src: Option<PathBuf>,
    /// Compare `kernel` with the anon_vma core of this base tree (added as
    /// the variant `kernel-base`): strictly when both are of one
    /// generation, in shape otherwise. Needs --kernel-src.
    #[arg(long, global = true, value_name = "BASE", requires = "kernel_src")]
    reference_src: Option<PathBuf>,
    /// What each variant is compared with: `none` (the contracts, lock
    /// rules, hygiene, ASan and leaks alone), `oracle`, or a C variant
    /// (e.g. `pre-series`, `kernel-base`). Default: each variant's own.
    #[arg(long, global = true, value_name = "REF")]
    reference: Option<String>,
    /// Acknowledge the known warnings this file lists (one `FILE[:LINE]
    /// CONDITION` pattern a line; README, "Known warnings"): a warning of
    /// the code under test that a pattern matches no longer fails a run
    /// and is counted in the report; every other problem still fails.
    #[arg(long, global = true, value_name = "FILE")]
    known_warnings: Option<PathBuf>,
    /// Stop with a report and exit code 3 when one operation (with the
    /// checks after it) runs longer than this: the code under test is
    /// stuck. 0: never.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 10)]
    op_timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay scenario files (or directories of them); exit 0 only if every
    /// scenario meets its header's expectation on every variant it runs on.
    Replay {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run this variant instead of the ones the headers name.
        #[arg(long)]
        variant: Option<String>,
    },
    /// Replay with systematic fault injection: every allocation of every
    /// operation failed once (fail=N) and for good (fail=N+).
    Sweep {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        variant: Option<String>,
    },
    /// List the variants.
    Variants,
    /// Run fuzz inputs (files of bytes, or directories of them) through the
    /// `diff` harness, as the fuzz target would, without a fuzzer.
    RunInputs {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        variant: Option<String>,
    },
    /// Write each scenario as a fuzz input (bytes) into DIR, to seed the
    /// fuzzers; files are named after the scenarios.
    Encode {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Turn a fuzz input (bytes) into a text scenario. With --variant (or
    /// RMAPFUZZ_VARIANT) it is run there, and the header records whether
    /// and how it fails, so `rmapfuzz replay` reproduces it. A race the
    /// input schedules by PCT is written with the schedule it took (on
    /// the default variant unless --variant names one). Never overwrites
    /// an existing file.
    Decode {
        input: PathBuf,
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[arg(long)]
        variant: Option<String>,
        /// The input came from the `sweep` target: write the scenario with
        /// the injection into its last operation that fails.
        #[arg(long)]
        sweep_last: bool,
    },
    /// Shrink a failing scenario (text, *.txt) or fuzz artifact (bytes) to
    /// the smallest one that fails the same way (same check, same kind of
    /// operation, same variant). Writes OUT (default IN.min.txt, never over
    /// an existing file).
    Minimize {
        input: PathBuf,
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[arg(long)]
        variant: Option<String>,
    },
    /// Replay step by step, printing what each operation changed in the
    /// world, and at the first failure the two sides' values and the rule.
    Explain {
        input: PathBuf,
        #[arg(long)]
        variant: Option<String>,
    },
    /// Draw the world after a step (default: the failing one, else the
    /// last) as Graphviz: writes OUT (default IN.stepN.dot), and an .svg
    /// beside it when `dot` is installed.
    Dot {
        input: PathBuf,
        #[arg(long)]
        step: Option<usize>,
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[arg(long)]
        variant: Option<String>,
    },
    /// Write a standalone C program that replays the scenario through the
    /// harness API and aborts at the failing check; its header comment
    /// gives the one `cc` line that builds it.
    CRepro {
        input: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        #[arg(long)]
        variant: Option<String>,
    },
    /// Group the artifacts (and scenarios) under DIR by failure signature:
    /// one line per distinct failure, with its count and smallest
    /// reproducer.
    Triage {
        dir: PathBuf,
        /// The variant to run artifacts (bytes) on.
        #[arg(long)]
        variant: Option<String>,
    },
    /// Breadth-first exploration of every operation sequence up to DEPTH
    /// over a small universe, every fail point included, deduplicated by
    /// state; stops at the first failure and prints it (shortest path) as
    /// a scenario.
    Explore {
        #[arg(long)]
        depth: usize,
        /// Processes alive at once.
        #[arg(long, default_value_t = 3)]
        mms: usize,
        /// Pages in the mapping window.
        #[arg(long, default_value_t = 3)]
        pages: u64,
        /// The window's first address (0xfffffffe000, just below 16 TiB,
        /// puts 7.3's anonymous page offsets across 2^32).
        #[arg(long, default_value = "0x10000", value_parser = parse_base)]
        base: u64,
        /// Default: `kernel` with --kernel-src, else `mainline`.
        #[arg(long)]
        variant: Option<String>,
        /// Do not try allocation failures.
        #[arg(long)]
        no_fail_points: bool,
        /// Visit every state, not one of each class of states equal up to
        /// the names of their processes.
        #[arg(long)]
        every_renaming: bool,
        /// Stop after this many seconds.
        #[arg(long)]
        time_limit: Option<u64>,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also write the failing scenario here (never over a file).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Explore races instead: from every state --depth operations
        /// reach, every pair of operations (walkers included) run
        /// concurrently under every schedule with at most --preemptions
        /// choices (preemptions, and stores held back).
        #[arg(long)]
        race: bool,
        /// Operations per race (2 or 3), with --race.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
        race_width: u8,
        /// Choices per schedule, with --race: preemptions, and stores held
        /// back in a store buffer (`late:` in a schedule).
        #[arg(long, default_value_t = 2)]
        preemptions: usize,
    },
    /// Measurements for scripts/bench (markdown tables on stdout).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Decode and minimize a fuzz artifact (or text scenario) and add it
    /// to the regression corpus as DIR/NAME.txt, with a header recording
    /// variant, expected failure and signature, so `cargo test` keeps it.
    Import {
        artifact: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        variant: Option<String>,
        /// Where regressions live.
        #[arg(long, default_value = "corpus/regressions")]
        dir: PathBuf,
    },
    /// Check a known-warnings file (see --known-warnings) and list its
    /// patterns; exit 2 with `file:line: reason` if it does not parse.
    KnownWarnings { file: PathBuf },
    /// Take the anon_vma core out of a kernel source tree and write the
    /// translation unit the `kernel` variant is built from, with a list of
    /// what was taken, into DIR (see README, "Fuzz your own kernel patch").
    KernelExtract {
        tree: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// C alone, oracle alone, C with checks, and the differential run on
    /// one fixed set of decoded inputs.
    Throughput {
        #[arg(long, default_value_t = 2000)]
        inputs: usize,
        #[arg(long, default_value_t = 16)]
        ops: usize,
        #[arg(long, default_value = "mainline")]
        variant: String,
        /// Only the differential run with these checks, once (for
        /// profilers): `every` (replay) or `final` (fuzzers).
        #[arg(long, value_parser = ["every", "final"])]
        profile: Option<String>,
    },
    /// Cost per operation for scenarios of 8, 32, 128 and 512 operations
    /// (or the lengths given).
    Scaling {
        /// Operations per row (scenarios = budget / length).
        #[arg(long, default_value_t = 40000)]
        budget: usize,
        /// Operations per scenario, one row each.
        #[arg(long, value_delimiter = ',', default_values_t = [8, 32, 128, 512])]
        lengths: Vec<usize>,
        #[arg(long, default_value = "mainline")]
        variant: String,
    },
    /// Which scenario of corpus/ exercises each contract and lock rule,
    /// and which zoo variant breaks it.
    Checks {
        #[arg(long, default_value = "mainline")]
        variant: String,
    },
    /// explore on every zoo variant, in the universe of its corpus/zoo
    /// scenario.
    ExploreZoo {
        #[arg(long, default_value_t = 1)]
        jobs: usize,
    },
}

/// A page-aligned address, in hex (0x...) or decimal.
fn parse_base(text: &str) -> Result<u64, String> {
    let value = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("{text}: {e}"))?;
    if value % 4096 != 0 || value >= 1 << 47 {
        return Err(format!("{text}: not a page-aligned user address"));
    }
    Ok(value)
}

/// The file of --known-warnings, read before anything is built or run; a
/// command that cannot honour it refuses it rather than ignore it.
fn known_warnings(cli: &Cli) -> Result<Known, String> {
    let Some(path) = &cli.known_warnings else {
        return Ok(None);
    };
    let refused = match cli.command {
        Command::CRepro { .. } => {
            Some("c-repro (its program checks hygiene in C, where nothing is acknowledged)")
        }
        Command::Bench(_) => Some("bench (its measurements run without known warnings)"),
        _ => None,
    };
    if let Some(what) = refused {
        return Err(format!("--known-warnings is not taken by {what}"));
    }
    KnownWarnings::load_static(path)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let known = match known_warnings(&cli) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("rmapfuzz: {e}");
            return ExitCode::from(2);
        }
    };
    // kernel-extract reads the tree itself, known-warnings only its file;
    // everything else runs the tree.
    if !matches!(
        cli.command,
        Command::KernelExtract { .. } | Command::KnownWarnings { .. }
    ) {
        if let Some(tree) = &cli.kernel_src {
            if let Some(code) = trees::with_kernel_trees(tree, cli.reference_src.as_deref()) {
                return code;
            }
        }
        if let Err(e) = trees::refuse_foreign_trees(&cli) {
            eprintln!("rmapfuzz: {e}");
            return ExitCode::from(2);
        }
    }
    if cli.op_timeout > 0 {
        let limit = std::time::Duration::from_secs(cli.op_timeout);
        watchdog::install(limit, |stuck| {
            eprint!("{stuck}");
            eprintln!(
                "rmapfuzz: stopped by the watchdog (exit code {})",
                watchdog::EXIT_STUCK
            );
            std::process::exit(i32::from(watchdog::EXIT_STUCK));
        });
    }
    if let Some(reference) = &cli.reference {
        if let Err(e) = variant::choose_reference(reference) {
            eprintln!("rmapfuzz: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match &cli.command {
        Command::Replay { paths, variant } => replay::replay(paths, variant.as_deref(), known),
        Command::Sweep { paths, variant } => sweep::sweep_all(paths, variant.as_deref(), known),
        Command::Encode { paths, out } => encode::encode_all(paths, out),
        Command::RunInputs { paths, variant } => {
            run_inputs::run_inputs(paths, variant.as_deref(), known)
        }
        Command::Decode {
            input,
            out,
            variant,
            sweep_last,
        } => decode::decode_one(
            input,
            out.as_deref(),
            variant.as_deref(),
            *sweep_last,
            known,
        ),
        Command::KernelExtract { tree, out } => kernel_extract::kernel_extract(tree, out),
        Command::KnownWarnings { file } => known_warnings::check_file(file),
        Command::Explain { input, variant } => {
            explain::explain_one(input, variant.as_deref(), known)
        }
        Command::Bench(b) => bench::bench(b),
        Command::Explore {
            depth,
            mms,
            pages,
            base,
            variant,
            no_fail_points,
            every_renaming,
            time_limit,
            jobs,
            out,
            race,
            race_width,
            preemptions,
        } => {
            let universe = rmapfuzz::tools::explore::Universe {
                mms: *mms,
                pages: *pages,
                base: *base,
                fail_points: !no_fail_points,
                by_class: !every_renaming,
            };
            let variant = variant.as_deref().unwrap_or(variant::default_variant());
            if *race {
                let bounds = rmapfuzz::tools::race_explore::RaceBounds {
                    prefix: *depth,
                    width: usize::from(*race_width),
                    preemptions: *preemptions,
                };
                explore::race_cmd(
                    bounds,
                    &universe,
                    variant,
                    *time_limit,
                    *jobs,
                    out.as_deref(),
                    known,
                )
            } else {
                explore::explore_cmd(
                    *depth,
                    &universe,
                    variant,
                    *time_limit,
                    *jobs,
                    out.as_deref(),
                    known,
                )
            }
        }
        Command::Triage { dir, variant } => triage::triage_dir(dir, variant.as_deref(), known),
        Command::CRepro {
            input,
            out,
            variant,
        } => c_repro::c_repro(input, out, variant.as_deref()),
        Command::Dot {
            input,
            step,
            out,
            variant,
        } => dot::dot_one(input, *step, out.as_deref(), variant.as_deref(), known),
        Command::Minimize {
            input,
            out,
            variant,
        } => minimize::minimize_one(input, out.as_deref(), variant.as_deref(), known),
        Command::Import {
            artifact,
            name,
            variant,
            dir,
        } => import::import(artifact, name.as_deref(), variant.as_deref(), dir, known),
        Command::Variants => {
            for v in variant::all() {
                let kind = if v.correct { "correct" } else { "bug" };
                println!("{:<24} {:<8} {}", v.name, kind, v.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(InputError(errors)) => {
            for e in errors {
                eprintln!("rmapfuzz: {e}");
            }
            ExitCode::from(2)
        }
    }
}
