//! The `rmapfuzz` command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use rmapfuzz::check::report::Failure;
use rmapfuzz::check::runner::{run, RunOptions};
use rmapfuzz::check::sweep::{sweep, sweep_step};
use rmapfuzz::engine::kernel_build;
use rmapfuzz::engine::variant::{self, Variant};
use rmapfuzz::input::artifact;
use rmapfuzz::input::encoding;
use rmapfuzz::language::corpus;
use rmapfuzz::language::expect::{default_variants, expectation, met};
use rmapfuzz::language::scenario::{Expect, Scenario, VariantSel};
use rmapfuzz::tools::minimize::{minimize, Minimized};

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
    /// and how it fails, so `rmapfuzz replay` reproduces it. Never
    /// overwrites an existing file.
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
        /// Stop after this many seconds.
        #[arg(long)]
        time_limit: Option<u64>,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also write the failing scenario here (never over a file).
        #[arg(short, long)]
        out: Option<PathBuf>,
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
    /// Cost per operation for scenarios of 8, 32, 128 and 512 operations.
    Scaling {
        /// Operations per row (scenarios = budget / length).
        #[arg(long, default_value_t = 40000)]
        budget: usize,
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

/// Bad input: reported, exit code 2, nothing run.
struct InputError(Vec<String>);

fn load(
    paths: &[PathBuf],
    variant: Option<&str>,
) -> Result<Vec<(PathBuf, Scenario, Vec<Variant>)>, InputError> {
    let chosen = match variant {
        Some(name) => Some(variant::find(name).map_err(|e| InputError(vec![e.to_string()]))?),
        None => None,
    };
    let scenarios = corpus::load(paths)
        .map_err(|errs| InputError(errs.iter().map(|e| e.to_string()).collect()))?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (path, s) in scenarios {
        let variants = match chosen {
            Some(v) => Ok(vec![v]),
            None => default_variants(&s),
        };
        match variants {
            Ok(vs) => out.push((path, s, vs)),
            Err(e) => errors.push(format!("{}: header: {e}", path.display())),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputError(errors))
    }
}

/// Says, once per variant, what it is (the tree, for a kernel variant),
/// what judges it, and what the comparison leaves out.
fn announce<'a>(variants: impl IntoIterator<Item = &'a Variant>) {
    let mut seen = Vec::new();
    for v in variants {
        if seen.contains(&v.name) {
            continue;
        }
        seen.push(v.name);
        println!("note  [{v}] {}", v.verdict_basis());
        let relaxed = v.relaxed_checks();
        if !relaxed.is_empty() {
            println!(
                "note  [{v}] has no {}: invariant counter.degree checks its single counter instead",
                relaxed.join(", ")
            );
        }
    }
}

fn describe(expect: &Expect) -> String {
    match expect {
        Expect::Pass => "pass".into(),
        Expect::Fail { check, op } => {
            let mut s = "fail".to_owned();
            if let Some(c) = check {
                s += &format!(" check={c}");
            }
            if let Some(o) = op {
                s += &format!(" op={o}");
            }
            s
        }
    }
}

/// Tallies and prints one (scenario, variant) result.
#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    skipped: usize,
}

impl Tally {
    fn record(
        &mut self,
        path: &std::path::Path,
        v: Variant,
        expect: &Expect,
        failure: Option<&Failure>,
        note: &str,
    ) {
        if met(expect, failure) {
            self.ok += 1;
            println!("ok    {} [{v}]{note}", path.display());
        } else {
            self.failed += 1;
            println!(
                "FAIL  {} [{v}]: expected {}",
                path.display(),
                describe(expect)
            );
            match failure {
                Some(f) => print!("{f}"),
                None => println!("    every check passed"),
            }
        }
    }

    fn finish(&self, what: &str) -> ExitCode {
        println!(
            "{what}: {} ok, {} failed, {} skipped",
            self.ok, self.failed, self.skipped
        );
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// Whether replay lists where `v` behaves differently from its reference
/// beyond what the comparison judges: for a tree compared with a base tree
/// of another generation, "what did my patch change" is the question.
fn lists_differences(v: Variant) -> bool {
    v.mode == variant::Mode::Relaxed
        && v.reference == variant::Reference::C(variant::KERNEL_BASE_VARIANT)
}

/// The first strict difference of `s` on `v` and its reference, printed
/// as information (it does not fail the replay).
fn show_difference(path: &Path, s: &Scenario, v: Variant) -> bool {
    let strict = Variant {
        mode: variant::Mode::Strict,
        ..v
    };
    let Some(f) = run(s, strict, RunOptions::default()).failure else {
        return false;
    };
    let at = match (f.step, &f.op) {
        (Some(i), Some(op)) => format!("op #{} `{op}`", i + 1),
        _ => "teardown".to_owned(),
    };
    println!(
        "differ {} [{v}]: {at}: {} ({}), beyond shape",
        path.display(),
        f.check,
        f.detail.lines().next().unwrap_or("")
    );
    if let (Some(c), Some(o)) = (&f.c_value, &f.oracle_value) {
        println!("    {:<12} {c}", variant::KERNEL_VARIANT);
        println!("    {:<12} {o}", variant::KERNEL_BASE_VARIANT);
    }
    true
}

fn replay(paths: &[PathBuf], variant: Option<&str>) -> Result<ExitCode, InputError> {
    let mut tally = Tally::default();
    let mut differ = 0usize;
    let loaded = load(paths, variant)?;
    announce(loaded.iter().flat_map(|l| &l.2));
    for (path, s, variants) in loaded {
        for v in variants {
            let Some(expect) = expectation(&s, v) else {
                tally.skipped += 1;
                println!(
                    "skip  {} [{v}]: the header says nothing about this variant",
                    path.display()
                );
                continue;
            };
            let result = run(&s, v, RunOptions::default());
            let note = result
                .desynced_at
                .map(|i| format!(" (reference out of step after op #{})", i + 1))
                .unwrap_or_default();
            tally.record(&path, v, &expect, result.failure.as_ref(), &note);
            if result.failure.is_none() && lists_differences(v) && show_difference(&path, &s, v) {
                differ += 1;
            }
        }
    }
    if differ > 0 {
        println!(
            "{differ} scenario(s) behave differently on the two trees beyond shape (not failures: \
             the comparison leaves that out between generations)"
        );
    }
    Ok(tally.finish("replay"))
}

fn sweep_all(paths: &[PathBuf], variant: Option<&str>) -> Result<ExitCode, InputError> {
    let mut tally = Tally::default();
    let loaded = load(paths, variant)?;
    announce(loaded.iter().flat_map(|l| &l.2));
    for (path, s, variants) in loaded {
        for v in variants {
            match expectation(&s, v) {
                Some(Expect::Pass) => {}
                _ => {
                    tally.skipped += 1;
                    println!(
                        "skip  {} [{v}]: sweeps only scenarios expected to pass",
                        path.display()
                    );
                    continue;
                }
            }
            let (failure, note) = match sweep(&s, v) {
                Ok(stats) => (
                    None,
                    format!(" ({} injections, {} runs)", stats.injections, stats.runs),
                ),
                Err(f) => (Some(*f), String::new()),
            };
            tally.record(&path, v, &Expect::Pass, failure.as_ref(), &note);
        }
    }
    Ok(tally.finish("sweep"))
}

fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| InputError(vec![format!("{}: {e}", path.display())]))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(InputError(vec![format!(
                "{}: no such file or directory",
                path.display()
            )]));
        }
    }
    Ok(files)
}

fn run_inputs(paths: &[PathBuf], variant: Option<&str>) -> Result<ExitCode, InputError> {
    let v = variant::find(variant.unwrap_or(variant::default_variant()))
        .map_err(|e| InputError(vec![e.to_string()]))?;
    let mut tally = Tally::default();
    for file in input_files(paths)? {
        let data = std::fs::read(&file)
            .map_err(|e| InputError(vec![format!("{}: {e}", file.display())]))?;
        match rmapfuzz::input::fuzzing::check_diff(&data, v) {
            Ok(()) => tally.ok += 1,
            Err(report) => {
                tally.failed += 1;
                println!("FAIL  {} [{v}]\n{report}", file.display());
            }
        }
    }
    Ok(tally.finish("run-inputs"))
}

fn encode_all(paths: &[PathBuf], out: &Path) -> Result<ExitCode, InputError> {
    let scenarios = corpus::load(paths)
        .map_err(|errs| InputError(errs.iter().map(|e| e.to_string()).collect()))?;
    std::fs::create_dir_all(out)
        .map_err(|e| InputError(vec![format!("{}: {e}", out.display())]))?;
    let mut written = 0;
    for (path, s) in scenarios {
        let bytes = encoding::encode(&s)
            .map_err(|e| InputError(vec![format!("{}: cannot encode: {e}", path.display())]))?;
        let name = path
            .file_stem()
            .map_or_else(|| "scenario".into(), |n| n.to_string_lossy().into_owned());
        let target = out.join(format!("{name}.bin"));
        std::fs::write(&target, bytes)
            .map_err(|e| InputError(vec![format!("{}: {e}", target.display())]))?;
        written += 1;
    }
    println!("encoded {written} scenario(s) into {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn decode_one(
    input: &Path,
    out: Option<&Path>,
    variant: Option<&str>,
    sweep_last: bool,
) -> Result<ExitCode, InputError> {
    let data = std::fs::read(input)
        .map_err(|e| InputError(vec![format!("{}: cannot read: {e}", input.display())]))?;
    let mut s = encoding::decode(&data);
    let chosen = match variant
        .map(str::to_owned)
        .or_else(|| std::env::var("RMAPFUZZ_VARIANT").ok())
    {
        Some(name) => Some(variant::find(&name).map_err(|e| InputError(vec![e.to_string()]))?),
        None => None,
    };
    if let Some(v) = chosen {
        let failure = match run(&s, v, RunOptions::default()).failure {
            Some(f) => Some(f),
            None if sweep_last && !s.steps.is_empty() => {
                sweep_step(&s, v, s.steps.len() - 1).err().map(|f| *f)
            }
            None => None,
        };
        if let Some(injected) = failure.as_ref().and_then(|f| f.scenario.clone()) {
            s = injected;
        }
        s.header.variant = VariantSel::Named(v.name.to_owned());
        match failure {
            Some(f) => {
                eprintln!("{f}");
                s.header.expect = Expect::Fail {
                    check: Some(f.check.clone()),
                    op: f.op.map(|st| st.op.kind()),
                };
            }
            None => eprintln!("rmapfuzz: {} does not fail on {}", input.display(), v.name),
        }
    }
    let text = format!("# Decoded from {}\n{s}", input.display());
    match out {
        None => print!("{text}"),
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| {
                    InputError(vec![format!("{}: {e} (not overwriting)", path.display())])
                })?;
            file.write_all(text.as_bytes())
                .map_err(|e| InputError(vec![format!("{}: {e}", path.display())]))?;
            eprintln!("rmapfuzz: wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain_one(input: &Path, variant: Option<&str>) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    let x = rmapfuzz::tools::explain::explain(&input.scenario, input.variant);
    println!(
        "{}: {} operations",
        input.path.display(),
        input.scenario.steps.len()
    );
    print!("{}", x.text);
    Ok(if x.failure.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn dot_one(
    input: &Path,
    step: Option<usize>,
    out: Option<&Path>,
    variant: Option<&str>,
) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    let (graph, step) = rmapfuzz::tools::dot::picture(&input.scenario, input.variant, step)
        .map_err(|e| InputError(vec![format!("{}: {e}", input.path.display())]))?;
    let out = out.map_or_else(
        || artifact::next_to(&input.path, &format!("step{step}.dot")),
        Path::to_owned,
    );
    artifact::write_new(&out, &graph).map_err(|e| InputError(vec![e.0]))?;
    println!("wrote {}", out.display());
    let svg = artifact::fresh_path(&out.with_extension("svg"));
    match std::process::Command::new("dot")
        .arg("-Tsvg")
        .arg(&out)
        .arg("-o")
        .arg(&svg)
        .status()
    {
        Ok(s) if s.success() => println!("wrote {}", svg.display()),
        Ok(s) => eprintln!("rmapfuzz: dot -Tsvg failed ({s}); the .dot file is there"),
        Err(_) => {
            eprintln!("rmapfuzz: graphviz `dot` not installed (apt-get install graphviz): no .svg")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn c_repro(input: &Path, out: &Path, variant: Option<&str>) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    let name = out.file_name().map_or_else(
        || "repro.c".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let repro = rmapfuzz::tools::c_repro::generate(&input.scenario, input.variant, &name)
        .map_err(|e| InputError(vec![format!("{}: {e}", input.path.display())]))?;
    let unit_path = repro
        .kernel
        .as_ref()
        .map(|k| out.with_file_name(&k.file_name));
    if let Some(p) = unit_path.as_ref().filter(|p| p.exists()) {
        return Err(InputError(vec![format!(
            "{}: already exists (not overwriting)",
            p.display()
        )]));
    }
    artifact::write_new(out, &repro.source).map_err(|e| InputError(vec![e.0]))?;
    println!("wrote {}", out.display());
    if let (Some(k), Some(p)) = (&repro.kernel, &unit_path) {
        artifact::write_new(p, &k.source).map_err(|e| InputError(vec![e.0]))?;
        println!("wrote {} ({})", p.display(), k.what);
    }
    if !repro.native {
        eprintln!(
            "rmapfuzz: check {} compares with the Rust side; the program runs every C check instead and says when they find nothing",
            repro.failure.check
        );
    }
    let binary = name.strip_suffix(".c").unwrap_or("repro");
    let copied = match &repro.kernel {
        Some(k) => format!("{name} and {}", k.file_name),
        None => name.clone(),
    };
    println!(
        "build and run from the rmapfuzz checkout (with {copied} copied there):\n  {} && ./{binary}",
        rmapfuzz::tools::c_repro::build_command(&name, binary, repro.kernel.as_ref())
    );
    Ok(ExitCode::SUCCESS)
}

fn triage_dir(dir: &Path, variant: Option<&str>) -> Result<ExitCode, InputError> {
    if !dir.is_dir() {
        return Err(InputError(vec![format!(
            "{}: no such directory",
            dir.display()
        )]));
    }
    if let Some(v) = variant {
        variant::find(v).map_err(|e| InputError(vec![e.to_string()]))?;
    }
    let files = rmapfuzz::tools::triage::input_files(dir)
        .map_err(|e| InputError(vec![format!("{}: {e}", dir.display())]))?;
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("triage [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template"),
    );
    let t = rmapfuzz::tools::triage::triage(&files, variant, |n| bar.set_position(n as u64));
    bar.finish_and_clear();
    let failing = t.groups.iter().filter(|g| g.signature.is_some()).count();
    println!(
        "{} input(s), {failing} distinct failure(s) in {}",
        files.len(),
        dir.display()
    );
    for g in &t.groups {
        let what = g
            .signature
            .as_ref()
            .map_or("(does not fail)".to_owned(), ToString::to_string);
        println!(
            "{:>5}  {what}  smallest: {} ({} ops)",
            g.files.len(),
            g.smallest.display(),
            g.smallest_steps
        );
    }
    for e in &t.unreadable {
        println!("  bad  {e}");
    }
    Ok(ExitCode::SUCCESS)
}

fn explore_cmd(
    depth: usize,
    universe: &rmapfuzz::tools::explore::Universe,
    variant_name: &str,
    time_limit: Option<u64>,
    jobs: Option<usize>,
    out: Option<&Path>,
) -> Result<ExitCode, InputError> {
    let v = variant::find(variant_name).map_err(|e| InputError(vec![e.to_string()]))?;
    if universe.mms == 0 || universe.pages == 0 {
        return Err(InputError(vec![
            "--mms and --pages must be at least 1".into()
        ]));
    }
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "explore depth {msg} [{bar:30}] {pos}/{len} states [{elapsed}]",
        )
        .expect("valid template"),
    );
    let progress = |p: rmapfuzz::tools::explore::Progress| {
        bar.set_length(p.level_size as u64);
        bar.set_position(p.level_done as u64);
        bar.set_message(format!("{} ({} known)", p.depth, p.states));
    };
    let x = rmapfuzz::tools::explore::explore(
        v,
        depth,
        universe,
        threads,
        time_limit.map(std::time::Duration::from_secs),
        &progress,
    );
    bar.finish_and_clear();
    let secs = x.elapsed.as_secs_f64().max(1e-9);
    println!(
        "explore {v}: depth {} of {depth} complete, {} states, {} runs in {:.1} s ({:.0} states/s, {:.0} runs/s, {threads} thread(s)){}",
        x.depth,
        x.states,
        x.runs,
        secs,
        x.states as f64 / secs,
        x.runs as f64 / secs,
        if x.timed_out { ", stopped at the time limit" } else { "" }
    );
    match &x.failure {
        None => {
            println!("no failure");
            Ok(ExitCode::SUCCESS)
        }
        Some((s, f)) => {
            print!("{f}");
            let text = format!(
                "# Found by rmapfuzz explore --depth {depth} --mms {} --pages {}{}: a shortest failing path.\n{s}",
                universe.mms,
                universe.pages,
                if universe.base == rmapfuzz::tools::explore::DEFAULT_BASE {
                    String::new()
                } else {
                    format!(" --base {:#x}", universe.base)
                }
            );
            println!("--- scenario ---\n{text}");
            if let Some(out) = out {
                artifact::write_new(out, &text).map_err(|e| InputError(vec![e.0]))?;
                println!("wrote {}", out.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn bench(b: &BenchCommand) -> Result<ExitCode, InputError> {
    let find = |name: &str| variant::find(name).map_err(|e| InputError(vec![e.to_string()]));
    match b {
        BenchCommand::Throughput {
            inputs,
            ops,
            variant,
            profile,
        } => {
            let v = find(variant)?;
            let set = rmapfuzz::tools::bench::inputs(*inputs, *ops, 0x5eed);
            if let Some(checks) = profile {
                let checks = match checks.as_str() {
                    "final" => rmapfuzz::check::runner::Checks::Final,
                    _ => rmapfuzz::check::runner::Checks::EveryStep,
                };
                rmapfuzz::tools::bench::differential_only(&set, v, checks);
                return Ok(ExitCode::SUCCESS);
            }
            let t = rmapfuzz::tools::bench::throughput(&set, v);
            print!(
                "{}",
                rmapfuzz::tools::bench::throughput_table(
                    &t,
                    &format!("{v}, {inputs} scenarios of {ops} ops")
                )
            );
        }
        BenchCommand::Scaling { budget, variant } => {
            let v = find(variant)?;
            print!(
                "{}",
                rmapfuzz::tools::bench::scaling_table(v, &[8, 32, 128, 512], *budget)
            );
        }
        BenchCommand::Checks { variant } => {
            let v = find(variant)?;
            let corpus = rmapfuzz::language::corpus::load(&[PathBuf::from("corpus")])
                .map_err(|errs| InputError(errs.iter().map(|e| e.to_string()).collect()))?;
            let mut zoo = Vec::new();
            for &z in variant::ZOO {
                let path = PathBuf::from(format!("corpus/zoo/{}.txt", z.name));
                let s = rmapfuzz::language::parse::parse_file(&path)
                    .map_err(|e| InputError(vec![e.to_string()]))?;
                zoo.push((z, path, s));
            }
            let ex = rmapfuzz::check::coverage::exercised(&corpus, v);
            let broken = rmapfuzz::check::coverage::broken_by_zoo(&zoo);
            print!("{}", rmapfuzz::check::coverage::table(&ex, &broken, v));
        }
        BenchCommand::ExploreZoo { jobs } => {
            println!(
                "| variant | depth (universe of its corpus scenario) | states | seconds | found |"
            );
            println!("|---|---|---|---|---|");
            for &v in variant::ZOO {
                let path = PathBuf::from(format!("corpus/zoo/{}.txt", v.name));
                let s = rmapfuzz::language::parse::parse_file(&path)
                    .map_err(|e| InputError(vec![e.to_string()]))?;
                let (depth, states, secs, found) =
                    rmapfuzz::tools::bench::explore_zoo(v, &s, *jobs);
                println!(
                    "| `{}` | {depth} | {states} | {secs:.2} | {} |",
                    v.name,
                    if found { "yes" } else { "NO" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A spinner on stderr while the minimizer runs.
fn minimize_with_progress(input: &artifact::Input) -> Result<Minimized, InputError> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} minimizing [{elapsed}] {msg}")
            .expect("valid template"),
    );
    let result = minimize(&input.scenario, input.variant, |p| {
        bar.set_message(format!(
            "{} ops, {} runs, pass: {}",
            p.steps, p.runs, p.pass
        ));
        bar.tick();
    });
    bar.finish_and_clear();
    result.map_err(|e| InputError(vec![format!("{}: {e}", input.path.display())]))
}

fn minimized_text(input: &artifact::Input, m: &Minimized, how: &str) -> String {
    format!(
        "# {how} {} by rmapfuzz: {} -> {} operations ({} runs).\n# Signature: {}\n{}",
        input.path.display(),
        input.scenario.steps.len(),
        m.scenario.steps.len(),
        m.runs,
        m.failure.signature(),
        m.scenario
    )
}

fn minimize_one(
    input: &Path,
    out: Option<&Path>,
    variant: Option<&str>,
) -> Result<ExitCode, InputError> {
    let input = artifact::load(input, variant).map_err(|e| InputError(vec![e.0]))?;
    let m = minimize_with_progress(&input)?;
    let out = out.map_or_else(|| artifact::next_to(&input.path, "min.txt"), Path::to_owned);
    artifact::write_new(&out, &minimized_text(&input, &m, "Minimized from"))
        .map_err(|e| InputError(vec![e.0]))?;
    eprint!("{}", m.failure);
    println!(
        "{} -> {} operations: {}",
        input.scenario.steps.len(),
        m.scenario.steps.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A file name from a failure signature: `counter.num_active_vmas-at-merge`.
fn name_from(sig: &rmapfuzz::check::report::Signature) -> String {
    let check = sig.check.trim_start_matches("invariant.");
    let op = sig.op.map_or("teardown", |k| k.name());
    format!("{check}-at-{op}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn import(
    artifact_path: &Path,
    name: Option<&str>,
    variant: Option<&str>,
    dir: &Path,
) -> Result<ExitCode, InputError> {
    if let Some(n) = name {
        if n.is_empty() || n.contains('/') || n.starts_with('.') {
            return Err(InputError(vec![format!(
                "--name {n:?}: a plain file name, please"
            )]));
        }
    }
    let input = artifact::load(artifact_path, variant).map_err(|e| InputError(vec![e.0]))?;
    let m = minimize_with_progress(&input)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| InputError(vec![format!("{}: {e}", dir.display())]))?;
    let stem = name.map_or_else(|| name_from(&m.failure.signature()), str::to_owned);
    let target = dir.join(format!("{}.txt", stem.trim_end_matches(".txt")));
    // A name given on the command line must be free; a derived one is
    // numbered until it is.
    let target = if name.is_some() {
        target
    } else {
        artifact::fresh_path(&target)
    };
    artifact::write_new(&target, &minimized_text(&input, &m, "Imported from"))
        .map_err(|e| InputError(vec![e.0]))?;
    eprint!("{}", m.failure);
    println!(
        "imported {} ({} operations) as {}",
        m.failure.signature(),
        m.scenario.steps.len(),
        target.display()
    );
    Ok(ExitCode::SUCCESS)
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

fn kernel_extract(tree: &Path, out: &Path) -> Result<ExitCode, InputError> {
    let x = rmap_extract::extract(tree).map_err(|e| InputError(vec![e.to_string()]))?;
    std::fs::create_dir_all(out)
        .map_err(|e| InputError(vec![format!("{}: {e}", out.display())]))?;
    let mut listing = format!(
        "# Linux {} ({} generation), taken from {}\n",
        x.version,
        x.generation,
        tree.display()
    );
    for t in &x.taken {
        listing += &format!("{}:{}: {:?} {}\n", t.file.display(), t.line, t.kind, t.name);
    }
    for (name, text) in [
        (rmap_extract::OUTPUT_FILE, &x.source),
        ("TAKEN.txt", &listing),
    ] {
        let path = out.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| InputError(vec![format!("{}: {e} (not overwriting)", path.display())]))?;
        file.write_all(text.as_bytes())
            .map_err(|e| InputError(vec![format!("{}: {e}", path.display())]))?;
    }
    let unit = out.join(rmap_extract::OUTPUT_FILE);
    // What the build would say of it: refused here, not at build time.
    if let Err(report) = kernel_build::compile_check(&unit) {
        eprint!("{report}");
        return Err(InputError(vec![format!(
            "{} does not compile (written as it is, with TAKEN.txt, for a look)",
            unit.display()
        )]));
    }
    println!(
        "Linux {} ({} generation): {} items taken into {}",
        x.version,
        x.generation,
        x.taken.len(),
        unit.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs this command in a build that carries `tree` as `kernel` (and
/// `base` as `kernel-base`; see `rmapfuzz::engine::kernel_build`); `None` when
/// this binary is that build.
fn with_kernel_trees(tree: &Path, base: Option<&Path>) -> Option<ExitCode> {
    let fail = |e: kernel_build::KernelBuildError| {
        eprintln!("rmapfuzz: {e}");
        Some(ExitCode::from(2))
    };
    let tree = match kernel_build::canonical_tree(tree) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let base = match base.map(kernel_build::canonical_tree).transpose() {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    if kernel_build::built_with(Some(&tree), base.as_deref()) {
        return None;
    }
    let binary = match kernel_build::build(&tree, base.as_deref()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let status = std::process::Command::new(&binary)
        .args(std::env::args_os().skip(1))
        .status();
    match status {
        Ok(s) => Some(ExitCode::from(s.code().unwrap_or(1).clamp(0, 255) as u8)),
        Err(e) => {
            eprintln!("rmapfuzz: cannot run {}: {e}", binary.display());
            Some(ExitCode::from(2))
        }
    }
}

/// A binary built with kernel trees runs them only when asked for them:
/// run plainly, it would judge one tree's findings on another.
fn refuse_foreign_trees(cli: &Cli) -> Result<(), String> {
    let given = |p: &Option<PathBuf>| p.as_deref().and_then(|p| p.canonicalize().ok());
    for (built, asked, flag) in [
        (rmap_ffi::KERNEL, given(&cli.kernel_src), "--kernel-src"),
        (
            rmap_ffi::KERNEL_BASE,
            given(&cli.reference_src),
            "--reference-src",
        ),
    ] {
        if let Some(k) = built {
            if asked.as_deref() != Some(Path::new(k.tree)) {
                return Err(format!(
                    "this rmapfuzz binary was built with the kernel tree {} (Linux {}, files {}) as `{}`; \
                     run it with {flag} {}, or run a build without trees (`cargo run --release -- ...` in the checkout)",
                    k.tree, k.version, k.hash, k.variant, k.tree
                ));
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // kernel-extract reads the tree itself; everything else runs it.
    if !matches!(cli.command, Command::KernelExtract { .. }) {
        if let Some(tree) = &cli.kernel_src {
            if let Some(code) = with_kernel_trees(tree, cli.reference_src.as_deref()) {
                return code;
            }
        }
        if let Err(e) = refuse_foreign_trees(&cli) {
            eprintln!("rmapfuzz: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(reference) = &cli.reference {
        if let Err(e) = variant::choose_reference(reference) {
            eprintln!("rmapfuzz: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match &cli.command {
        Command::Replay { paths, variant } => replay(paths, variant.as_deref()),
        Command::Sweep { paths, variant } => sweep_all(paths, variant.as_deref()),
        Command::Encode { paths, out } => encode_all(paths, out),
        Command::RunInputs { paths, variant } => run_inputs(paths, variant.as_deref()),
        Command::Decode {
            input,
            out,
            variant,
            sweep_last,
        } => decode_one(input, out.as_deref(), variant.as_deref(), *sweep_last),
        Command::KernelExtract { tree, out } => kernel_extract(tree, out),
        Command::Explain { input, variant } => explain_one(input, variant.as_deref()),
        Command::Bench(b) => bench(b),
        Command::Explore {
            depth,
            mms,
            pages,
            base,
            variant,
            no_fail_points,
            time_limit,
            jobs,
            out,
        } => explore_cmd(
            *depth,
            &rmapfuzz::tools::explore::Universe {
                mms: *mms,
                pages: *pages,
                base: *base,
                fail_points: !no_fail_points,
            },
            variant.as_deref().unwrap_or(variant::default_variant()),
            *time_limit,
            *jobs,
            out.as_deref(),
        ),
        Command::Triage { dir, variant } => triage_dir(dir, variant.as_deref()),
        Command::CRepro {
            input,
            out,
            variant,
        } => c_repro(input, out, variant.as_deref()),
        Command::Dot {
            input,
            step,
            out,
            variant,
        } => dot_one(input, *step, out.as_deref(), variant.as_deref()),
        Command::Minimize {
            input,
            out,
            variant,
        } => minimize_one(input, out.as_deref(), variant.as_deref()),
        Command::Import {
            artifact,
            name,
            variant,
            dir,
        } => import(artifact, name.as_deref(), variant.as_deref(), dir),
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
