//! `rmapfuzz dot`: a Graphviz picture of a world at one step: processes and
//! their VMAs, the anon_vma forest with its counters, the chains linking
//! VMAs to anon_vmas, and the pages with the anon_vma they point to. The
//! objects a failure names are drawn in red.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::check::known::Known;
use crate::check::report::Failure;
use crate::check::runner::{run, RunOptions};
use crate::check::snapshot::{canonicalize, AvRef, Snapshot, VmaState};
use crate::engine::c::CEngine;
use crate::engine::variant::Variant;
use crate::engine::Engine;
use crate::language::scenario::Scenario;

const BAD: &str = "#d62728";

/// Names of the objects a failure talks about: `av3`, `vma 1:0x10000`.
pub fn named_objects(f: &Failure) -> BTreeSet<String> {
    let mut text = f.detail.clone();
    for v in [&f.c_value, &f.oracle_value].into_iter().flatten() {
        text.push(' ');
        text.push_str(v);
    }
    let mut out = BTreeSet::new();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '=' | '[' | ']'))
        .collect();
    for w in &words {
        if let Some(n) = w.strip_prefix("av") {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                out.insert((*w).to_owned());
            }
        }
    }
    // "vma 1:0x10000" as written in details and snapshot lines.
    for pair in text.split(" vma ").skip(1).chain(text.strip_prefix("vma ")) {
        let id: String = pair
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
            .collect();
        if id.contains(':') && id.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert(format!("vma {id}"));
        }
    }
    out
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn vma_node(mm: u32, start: u64) -> String {
    format!("vma_{mm}_{start:x}")
}

fn vma_label(v: &VmaState) -> String {
    let mut flags = Vec::new();
    if v.flags & 1 != 0 {
        flags.push("dontcopy");
    }
    if v.flags & 2 != 0 {
        flags.push("wipeonfork");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!("\\n{}", flags.join(" "))
    };
    let anon = v
        .anon_pgoff
        .map(|a| format!("\\nanon pgoff {a:#x}"))
        .unwrap_or_default();
    format!(
        "{:#x}-{:#x}\\npgoff {:#x}{anon}{flags}",
        v.start, v.end, v.pgoff
    )
}

/// The picture of `snap`, titled `title`, with `highlight` in red.
pub fn render(snap: &Snapshot, title: &str, highlight: &BTreeSet<String>) -> String {
    let mut g = String::new();
    let _ = writeln!(g, "digraph rmapfuzz {{");
    let legend = "bold: a VMA's anon_vma, dashed: its other AVCs (numbers: position on its chain), green: parent, purple: pages";
    let _ = writeln!(
        g,
        "  graph [rankdir=TB, nodesep=0.3, ranksep=0.8, fontname=\"Helvetica\", label=\"{}\\n{legend}\", labelloc=t, newrank=true];",
        quote(title)
    );
    let _ = writeln!(g, "  node [fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(g, "  edge [fontname=\"Helvetica\", fontsize=8];");
    let red = |name: &str| {
        if highlight.contains(name) {
            format!(", color=\"{BAD}\", fontcolor=\"{BAD}\", penwidth=2")
        } else {
            String::new()
        }
    };

    // Processes and their VMAs.
    for mm in &snap.mms {
        let _ = writeln!(g, "  subgraph cluster_mm{} {{", mm.id);
        let _ = writeln!(
            g,
            "    label=\"mm {}\"; style=rounded; color=\"#1f77b4\";",
            mm.id
        );
        for v in &mm.vmas {
            let name = format!("vma {}:{:#x}", mm.id, v.start);
            let _ = writeln!(
                g,
                "    {} [shape=box, label=\"{}\"{}];",
                vma_node(mm.id, v.start),
                vma_label(v),
                red(&name)
            );
        }
        let _ = writeln!(g, "  }}");
    }
    for (i, v) in snap.detached.iter().enumerate() {
        let _ = writeln!(
            g,
            "  vma_detached_{i} [shape=box, style=dashed, label=\"detached\\n{}\"];",
            vma_label(v)
        );
    }

    // The anon_vma forest.
    let _ = writeln!(g, "  subgraph cluster_anon_vmas {{");
    let _ = writeln!(
        g,
        "    label=\"anon_vmas\"; style=rounded; color=\"#2ca02c\";"
    );
    for (i, a) in snap.anon_vmas.iter().enumerate() {
        let name = format!("av{i}");
        let counters = match a.degree {
            Some(d) => format!("degree {d}"),
            None => format!("children {} active {}", a.num_children, a.num_active_vmas),
        };
        let root = if a.root == AvRef::Id(i as u32) {
            " (root)"
        } else {
            ""
        };
        let _ = writeln!(
            g,
            "    av{i} [shape=ellipse, label=\"av{i}{root}\\nrefcount {}\\n{counters}\"{}];",
            a.refcount,
            red(&name)
        );
    }
    let _ = writeln!(g, "  }}");
    for (i, a) in snap.anon_vmas.iter().enumerate() {
        match a.parent {
            AvRef::Id(p) if p as usize != i => {
                let _ = writeln!(
                    g,
                    "  av{i} -> av{p} [label=\"parent\", style=bold, color=\"#2ca02c\"];"
                );
            }
            AvRef::Dangling | AvRef::Foreign => {
                let _ = writeln!(g, "  av{i}_bad_parent [shape=plaintext, label=\"parent {}\", fontcolor=\"{BAD}\"];", a.parent);
                let _ = writeln!(g, "  av{i} -> av{i}_bad_parent [color=\"{BAD}\"];");
            }
            _ => {}
        }
    }

    // Chains: one edge per AVC, numbered in list order; the VMA's own
    // anon_vma in bold.
    for mm in &snap.mms {
        for v in &mm.vmas {
            let from = vma_node(mm.id, v.start);
            let own = v.chain.iter().position(|e| e.anon_vma == v.anon_vma);
            for (pos, e) in v.chain.iter().enumerate() {
                if let (AvRef::Id(a), false) = (e.anon_vma, own == Some(pos)) {
                    let _ = writeln!(
                        g,
                        "  {from} -> av{a} [taillabel=\"{pos}\", color=\"#7f7f7f\", style=dashed];"
                    );
                }
            }
            match v.anon_vma {
                AvRef::Id(a) => {
                    // The VMA's own anon_vma, with the position of its AVC
                    // on the chain (none: it points there without a link).
                    let label = own.map_or("anon_vma, no avc".to_owned(), |p| format!("{p}"));
                    let _ = writeln!(g, "  {from} -> av{a} [taillabel=\"{label}\", penwidth=2];");
                }
                AvRef::Dangling | AvRef::Foreign => {
                    let _ = writeln!(g, "  {from}_bad [shape=plaintext, label=\"anon_vma {}\", fontcolor=\"{BAD}\"];", v.anon_vma);
                    let _ = writeln!(g, "  {from} -> {from}_bad [color=\"{BAD}\"];");
                }
                AvRef::Null => {}
            }
        }
    }

    // Pages: mapped by page-table entries, pointing at an anon_vma.
    for (i, p) in snap.pages.iter().enumerate() {
        let missed = p.mappers.iter().filter(|m| !p.walk.contains(m)).count();
        let walk = if missed > 0 {
            format!("\\nrmap walk misses {missed}")
        } else {
            String::new()
        };
        let style = if missed > 0 {
            format!(", color=\"{BAD}\", fontcolor=\"{BAD}\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            g,
            "  page{i} [shape=note, label=\"page {:#x}\\nmapcount {}{walk}\"{style}];",
            p.index, p.mapcount
        );
        match p.anon_vma {
            AvRef::Id(a) => {
                let _ = writeln!(
                    g,
                    "  page{i} -> av{a} [label=\"mapping\", color=\"#9467bd\"];"
                );
            }
            AvRef::Null => {}
            other => {
                let _ = writeln!(g, "  page{i}_bad [shape=plaintext, label=\"mapping {other}\", fontcolor=\"{BAD}\"];");
                let _ = writeln!(g, "  page{i} -> page{i}_bad [color=\"{BAD}\"];");
            }
        }
        for &(mm, addr) in &p.mappers {
            let holder = snap
                .mm(mm)
                .and_then(|m| m.vmas.iter().find(|v| v.start <= addr && addr < v.end));
            if let Some(v) = holder {
                let _ = writeln!(
                    g,
                    "  {} -> page{i} [color=\"#9467bd\", style=dotted, arrowhead=none, constraint=false];",
                    vma_node(mm, v.start)
                );
            }
        }
    }
    let _ = writeln!(g, "}}");
    g
}

/// The step a picture shows by default: the failing one, else the last.
pub fn default_step(s: &Scenario, failure: Option<&Failure>) -> usize {
    failure
        .and_then(|f| f.step)
        .map_or(s.steps.len(), |i| i + 1)
}

/// The picture of the C world after `step` operations (0: the start).
/// The failure it defaults to acknowledges `known` warnings.
pub fn picture(
    s: &Scenario,
    v: Variant,
    step: Option<usize>,
    known: Known,
) -> Result<(String, usize), String> {
    let opts = RunOptions {
        known,
        ..RunOptions::default()
    };
    let failure = run(s, v, opts).failure;
    let step = step.unwrap_or_else(|| default_step(s, failure.as_ref()));
    if step > s.steps.len() {
        return Err(format!(
            "--step {step}: the scenario has {} operations",
            s.steps.len()
        ));
    }
    let mut c =
        CEngine::new(v.name).ok_or_else(|| format!("the C harness has no variant {}", v.name))?;
    for st in &s.steps[..step] {
        if let Some(n) = st.maple {
            c.fail_maple(n);
        }
        c.apply(&st.op, st.fail);
    }
    let snap = canonicalize(&c.snapshot());
    let (title, highlight) = match &failure {
        Some(f) if f.step == Some(step.wrapping_sub(1)) => (
            format!("{v} after op #{step}: check {} failed", f.check),
            named_objects(f),
        ),
        _ if step == 0 => (format!("{v} at the start"), BTreeSet::new()),
        _ => (
            format!("{v} after op #{step} `{}`", s.steps[step - 1]),
            BTreeSet::new(),
        ),
    };
    Ok((render(&snap, &title, &highlight), step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Side;

    #[test]
    fn failure_details_name_their_objects() {
        let f = Failure {
            race: None,
            variant: "x".into(),
            reference: "oracle".into(),
            step: Some(0),
            op: None,
            check: "invariant.counter.num_active_vmas".into(),
            side: Side::C,
            detail: "anon_vma av12: num_active_vmas=1 but 2 VMA(s) use it".into(),
            c_value: Some("vma 0:0x10000 anon_vma=av3".into()),
            oracle_value: None,
            scenario: None,
            basis: String::new(),
            acknowledged: Vec::new(),
        };
        let named: Vec<String> = named_objects(&f).into_iter().collect();
        assert_eq!(named, ["av12", "av3", "vma 0:0x10000"]);
    }
}
