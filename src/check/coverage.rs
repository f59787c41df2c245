//! Which scenarios exercise each contract and lock rule, and which zoo
//! variant breaks it: section 6 of `scripts/bench` (`rmapfuzz bench
//! checks`). A rule no scenario exercises checks nothing; a rule no zoo
//! variant breaks is shown to work only by its unit test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::check::invariants;
use crate::check::runner::{run, RunOptions};
use crate::check::snapshot::canonicalize;
use crate::engine::c::CEngine;
use crate::engine::variant::{self, Variant};
use crate::engine::Engine;
use crate::language::scenario::Scenario;

/// What replaying a corpus on one variant exercised.
#[derive(Clone, Debug, Default)]
pub struct Exercised {
    /// Per contract (like [`invariants::RULES`]): instances examined over
    /// every step of every scenario, and the first scenario with any.
    pub contracts: Vec<(u64, Option<PathBuf>)>,
    /// Per lock rule (like [`rmap_ffi::LOCK_RULES`]): checks made, and the
    /// first scenario with any.
    pub locks: Vec<(u64, Option<PathBuf>)>,
}

/// Replays each scenario on the C side of `v`, counting what every
/// contract examined after every step and what the lock checker checked.
pub fn exercised(corpus: &[(PathBuf, Scenario)], v: Variant) -> Exercised {
    let mut out = Exercised {
        contracts: vec![(0, None); invariants::RULES.len()],
        locks: vec![(0, None); rmap_ffi::LOCK_RULES.len()],
    };
    for (path, s) in corpus {
        let Some(mut c) = CEngine::new(v.name) else {
            break;
        };
        let mut counts = vec![0u64; invariants::RULES.len()];
        for step in &s.steps {
            if let Some(n) = step.maple {
                c.fail_maple(n);
            }
            c.apply(&step.op, step.fail);
            invariants::check_counted(&canonicalize(&c.snapshot()), &mut counts);
        }
        let locks = c.lock_stats();
        for (total, n) in out.contracts.iter_mut().zip(&counts) {
            add(total, *n, path);
        }
        for (total, n) in out.locks.iter_mut().zip(locks) {
            add(total, n, path);
        }
    }
    out
}

fn add(total: &mut (u64, Option<PathBuf>), n: u64, path: &Path) {
    total.0 += n;
    if n > 0 && total.1.is_none() {
        total.1 = Some(path.to_path_buf());
    }
}

/// How a zoo variant's scenario fails: with its own reference, and judged
/// by the contracts and lock rules alone.
#[derive(Clone, Debug)]
pub struct Broken {
    pub variant: &'static str,
    pub scenario: PathBuf,
    /// (check, first line of the detail), or `None` if it passed.
    pub compared: Option<(String, String)>,
    pub alone: Option<(String, String)>,
}

/// Runs each zoo variant's scenario both ways.
pub fn broken_by_zoo(zoo: &[(Variant, PathBuf, Scenario)]) -> Vec<Broken> {
    let first = |f: Option<crate::check::report::Failure>| {
        f.map(|f| {
            let line = f.detail.lines().next().unwrap_or("").to_owned();
            (f.check, line)
        })
    };
    zoo.iter()
        .map(|(v, path, s)| {
            let alone = Variant {
                reference: variant::Reference::None,
                ..*v
            };
            Broken {
                variant: v.name,
                scenario: path.clone(),
                compared: first(run(s, *v, RunOptions::default()).failure),
                alone: first(run(s, alone, RunOptions::default()).failure),
            }
        })
        .collect()
}

/// Does `found` (check, detail) break the contract `rule` / lock rule
/// with report text `pattern`?
fn breaks(found: &Option<(String, String)>, rule: &str, pattern: Option<&str>) -> bool {
    match (found, pattern) {
        (Some((check, _)), None) => check == &format!("invariant.{rule}"),
        (Some((check, line)), Some(p)) => check == "hygiene.lock" && line.contains(p),
        (None, _) => false,
    }
}

fn zoo_column(zoo: &[Broken], rule: &str, pattern: Option<&str>) -> String {
    let nothing = match pattern {
        None => "— (its unit test in `invariants::tests`)",
        Some(_) => "—",
    };
    let names: Vec<String> = zoo
        .iter()
        .filter(|b| breaks(&b.alone, rule, pattern) || breaks(&b.compared, rule, pattern))
        .map(|b| {
            let how = if breaks(&b.alone, rule, pattern) {
                "with no reference too"
            } else {
                "only compared"
            };
            format!("`{}` ({how})", b.variant)
        })
        .collect();
    if names.is_empty() {
        nothing.to_owned()
    } else {
        names.join(", ")
    }
}

fn first_column(first: &Option<PathBuf>) -> String {
    first
        .as_ref()
        .and_then(|p| p.file_name())
        .map_or("**none**".to_owned(), |n| {
            format!("`{}`", n.to_string_lossy())
        })
}

/// The markdown tables of section 6.
pub fn table(ex: &Exercised, zoo: &[Broken], v: Variant) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Contracts ([docs/CONTRACTS.md](docs/CONTRACTS.md)), on {v}: instances each rule examined over every step of every scenario of `corpus/`, the first scenario (in file order) that gives it something to examine, and the zoo variants whose scenario it fails first."
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| check | the rule | instances examined | first scenario exercising it | broken first by (zoo) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (i, (rule, meaning)) in invariants::RULES.iter().enumerate() {
        let (n, first) = &ex.contracts[i];
        let _ = writeln!(
            out,
            "| `invariant.{rule}` | {meaning} | {n} | {} | {} |",
            first_column(first),
            zoo_column(zoo, rule, None)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Lock rules (`hygiene.lock`, csrc/kernel/lockdep.c), on {v}: checks made over the same replay."
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| check | the rule | checks made | first scenario exercising it | broken first by (zoo) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (i, (rule, meaning, pattern)) in rmap_ffi::LOCK_RULES.iter().enumerate() {
        let (n, first) = &ex.locks[i];
        let _ = writeln!(
            out,
            "| `hygiene.lock` ({rule}) | {meaning} | {n} | {} | {} |",
            first_column(first),
            zoo_column(zoo, rule, Some(pattern))
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Each zoo variant's scenario (`corpus/zoo/`), compared with its reference and judged with `--reference none`:"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| variant | first check, compared | first check, no reference |"
    );
    let _ = writeln!(out, "|---|---|---|");
    let show = |f: &Option<(String, String)>| {
        f.as_ref()
            .map_or("passes".to_owned(), |(c, _)| format!("`{c}`"))
    };
    for b in zoo {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            b.variant,
            show(&b.compared),
            show(&b.alone)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contract and every lock rule has something to examine in
    /// corpus/ (in its generation): none of them checks nothing.
    #[test]
    fn the_corpus_exercises_every_rule() {
        let corpus =
            crate::language::corpus::load(&[PathBuf::from("corpus")]).expect("corpus/ loads");
        let v = variant::find("mainline").expect("mainline");
        let ex = exercised(&corpus, v);
        // The degree era's counter and 7.3's anonymous page offset have
        // instances only in their own generations.
        let keyed = exercised(&corpus, variant::find("anon-pgoff").expect("anon-pgoff"));
        for (i, (rule, _)) in invariants::RULES.iter().enumerate() {
            match *rule {
                "counter.degree" => {}
                "vma.anon_pgoff" => {
                    assert!(keyed.contracts[i].0 > 0, "no scenario exercises {rule}")
                }
                _ => assert!(ex.contracts[i].0 > 0, "no scenario exercises {rule}"),
            }
        }
        for (i, (rule, _, _)) in rmap_ffi::LOCK_RULES.iter().enumerate() {
            assert!(ex.locks[i].0 > 0, "no scenario exercises {rule}");
        }
    }
}
