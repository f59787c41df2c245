//! What more than one test file needs.

use std::path::{Path, PathBuf};

use rmapfuzz::check::snapshot::{RawRef, RawSnapshot};
use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::oracle::OracleEngine;
use rmapfuzz::engine::variant::Variant;
use rmapfuzz::engine::Engine;
use rmapfuzz::language::corpus;
use rmapfuzz::language::scenario::Scenario;

/// The hand-written scenarios (`corpus/*.txt`, not its folders), in
/// file order, each with its path.
pub fn hand_written_corpus() -> Vec<(String, Scenario)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    let mut scenarios = corpus::load(&files).expect("corpus scenarios parse");
    scenarios.sort_by(|a, b| a.0.cmp(&b.0));
    scenarios
        .into_iter()
        .map(|(p, s)| (p.display().to_string(), s))
        .collect()
}

/// Every state the hand-written corpus reaches on `variants`, on both
/// engines: `at` sees each after its step, with where it is (`FILE step N
/// on VARIANT`), and returns false to leave the rest of that scenario.
#[allow(dead_code)] // (not every test file that shares this module asks)
pub fn each_corpus_state(
    variants: impl IntoIterator<Item = Variant>,
    mut at: impl FnMut(&str, &mut CEngine, &mut OracleEngine) -> bool,
) {
    for v in variants {
        for (file, s) in hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            let mut o = OracleEngine::for_generation(v.generation);
            for (i, step) in s.steps.iter().enumerate() {
                c.apply(&step.op, step.fail);
                o.apply(&step.op, step.fail);
                if !at(&format!("{file} step {} on {v}", i + 1), &mut c, &mut o) {
                    break;
                }
            }
        }
    }
}

/// `raw` broken in one place each way this knows (where it has the
/// object to break), named for the failure message.
#[allow(dead_code)] // (not every test file that shares this module asks)
pub fn broken(raw: &RawSnapshot) -> Vec<(&'static str, RawSnapshot)> {
    let mut out = Vec::new();
    let mut with = |what: &'static str, f: &dyn Fn(&mut RawSnapshot) -> bool| {
        let mut r = raw.clone();
        if f(&mut r) {
            out.push((what, r));
        }
    };
    with("a VMA's anon_vma freed", &|r| {
        r.vmas
            .first_mut()
            .map(|v| v.anon_vma = RawRef::Dangling)
            .is_some()
    });
    with("a VMA's anon_vma another", &|r| {
        let n = r.anon_vmas.len();
        match (r.vmas.iter_mut().find(|v| v.anon_vma != RawRef::Null), n) {
            (Some(v), n) if n > 1 => {
                let RawRef::Index(a) = v.anon_vma else {
                    return false;
                };
                v.anon_vma = RawRef::Index((a + 1) % n);
                true
            }
            _ => false,
        }
    });
    with("a faulted VMA's anon_vma cleared", &|r| {
        r.vmas
            .iter_mut()
            .find(|v| v.anon_vma != RawRef::Null)
            .map(|v| v.anon_vma = RawRef::Null)
            .is_some()
    });
    with("a VMA's end moved", &|r| {
        r.vmas.last_mut().map(|v| v.end += 0x1000).is_some()
    });
    with("a VMA's pgoff moved", &|r| {
        r.vmas.first_mut().map(|v| v.pgoff += 1).is_some()
    });
    with("a VMA's anonymous pgoff moved", &|r| {
        r.vmas
            .iter_mut()
            .find_map(|v| v.anon_pgoff.as_mut())
            .map(|a| *a += 1)
            .is_some()
    });
    with("a chain's last AVC dropped", &|r| {
        r.vmas
            .iter_mut()
            .find(|v| !v.chain.is_empty())
            .map(|v| v.chain.pop())
            .is_some()
    });
    with("a chain's AVC freed", &|r| {
        r.vmas
            .iter_mut()
            .rev()
            .find(|v| !v.chain.is_empty())
            .map(|v| v.chain[0] = RawRef::Dangling)
            .is_some()
    });
    with("an AVC on a second chain", &|r| {
        let Some(&avc) = r.vmas.iter().flat_map(|v| v.chain.first()).next() else {
            return false;
        };
        r.vmas.last_mut().map(|v| v.chain.push(avc)).is_some()
    });
    with("a VMA's chain broken", &|r| {
        r.vmas.first_mut().map(|v| v.chain_broken = true).is_some()
    });
    with("a VMA listed by no process", &|r| {
        r.mms
            .iter_mut()
            .find(|m| !m.vmas.is_empty())
            .map(|m| m.vmas.pop())
            .is_some()
    });
    with("a VMA listed twice", &|r| {
        let Some(&v) = r.mms.iter().flat_map(|m| m.vmas.first()).next() else {
            return false;
        };
        r.mms.last_mut().map(|m| m.vmas.push(v)).is_some()
    });
    with("a detached VMA's mm freed", &|r| {
        let Some(&v) = r.mms.iter_mut().find_map(|m| m.vmas.last()) else {
            return false;
        };
        r.mms.iter_mut().for_each(|m| m.vmas.retain(|x| *x != v));
        r.vmas[v].mm = Err(RawRef::Dangling);
        true
    });
    with("an AVC's VMA another", &|r| {
        let n = r.vmas.len();
        match r.avcs.last_mut() {
            Some(a) if n > 1 => {
                let RawRef::Index(v) = a.vma else {
                    return false;
                };
                a.vma = RawRef::Index((v + 1) % n);
                true
            }
            _ => false,
        }
    });
    with("an AVC's anon_vma freed", &|r| {
        r.avcs
            .first_mut()
            .map(|a| a.anon_vma = RawRef::Dangling)
            .is_some()
    });
    with("an AVC filed in no tree", &|r| {
        r.anon_vmas
            .iter_mut()
            .find(|a| a.tree.len() > 1)
            .map(|a| a.tree.remove(0))
            .is_some()
    });
    with("an AVC filed twice", &|r| {
        r.anon_vmas
            .iter_mut()
            .find_map(|a| a.tree.first().cloned().map(|t| a.tree.push(t)))
            .is_some()
    });
    with("an AVC filed in another tree", &|r| {
        let n = r.anon_vmas.len();
        if n < 2 {
            return false;
        }
        let Some(t) = r.anon_vmas[0].tree.pop() else {
            return false;
        };
        r.anon_vmas[n - 1].tree.push(t);
        true
    });
    with("a tree entry keyed elsewhere", &|r| {
        r.anon_vmas
            .iter_mut()
            .find_map(|a| a.tree.last_mut())
            .map(|t| t.last += 1)
            .is_some()
    });
    with("a tree entry freed", &|r| {
        r.anon_vmas
            .last_mut()
            .and_then(|a| a.tree.first_mut())
            .map(|t| t.avc = RawRef::Dangling)
            .is_some()
    });
    with("a tree emptied", &|r| {
        r.anon_vmas.last_mut().map(|a| a.tree.clear()).is_some()
    });
    with("a refcount off", &|r| {
        r.anon_vmas.first_mut().map(|a| a.refcount += 1).is_some()
    });
    with("a child count off", &|r| {
        r.anon_vmas
            .last_mut()
            .map(|a| a.num_children -= 1)
            .is_some()
    });
    with("an active count off", &|r| {
        r.anon_vmas
            .first_mut()
            .map(|a| a.num_active_vmas += 1)
            .is_some()
    });
    // (As a degree-era tree reports them: one counter for both.)
    for (what, off) in [("counters as a degree", 0), ("a degree off", 1)] {
        with(what, &|r| {
            for a in &mut r.anon_vmas {
                a.degree = Some(a.num_children + a.num_active_vmas + off);
                (a.num_children, a.num_active_vmas) = (0, 0);
            }
            !r.anon_vmas.is_empty()
        });
    }
    with("a parent another", &|r| {
        let n = r.anon_vmas.len();
        match r.anon_vmas.last_mut() {
            Some(a) if n > 1 => {
                a.parent = RawRef::Index(0);
                true
            }
            _ => false,
        }
    });
    with("a root freed", &|r| {
        r.anon_vmas
            .first_mut()
            .map(|a| a.root = RawRef::Dangling)
            .is_some()
    });
    with("a page's mapcount off", &|r| {
        r.pages.first_mut().map(|p| p.mapcount += 1).is_some()
    });
    with("a page's index moved", &|r| {
        r.pages.last_mut().map(|p| p.index += 1).is_some()
    });
    with("a page's anon_vma another", &|r| {
        let n = r.anon_vmas.len();
        match r.pages.first_mut() {
            Some(p) if n > 1 => {
                let RawRef::Index(a) = p.anon_vma else {
                    return false;
                };
                p.anon_vma = RawRef::Index((a + 1) % n);
                true
            }
            _ => false,
        }
    });
    with("a page's walk short", &|r| {
        r.pages
            .iter_mut()
            .find(|p| !p.walk.is_empty())
            .map(|p| p.walk.pop())
            .is_some()
    });
    with("a page mapped nowhere", &|r| {
        r.pages
            .last_mut()
            .map(|p| {
                p.mappers.clear();
                p.walk.clear();
                p.mapcount = 0;
            })
            .is_some()
    });
    with("an entry to freed memory", &|r| {
        r.mms.first_mut().map(|m| m.bad_entries += 1).is_some()
    });
    with("an mm too many", &|r| {
        r.live.mm += 1;
        true
    });
    with("an anon_vma no one reaches", &|r| {
        let me = RawRef::Index(r.anon_vmas.len());
        let Some(mut a) = r.anon_vmas.first().cloned() else {
            return false;
        };
        (a.root, a.parent) = (me, me);
        r.anon_vmas.push(a);
        true
    });
    out
}
