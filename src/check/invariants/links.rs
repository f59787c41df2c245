//! Chains, interval trees and sharing: the rules about links.

use super::*;
use crate::check::snapshot::Keyed;

pub(super) fn check_chains_and_trees(c: &mut Checker) {
    let s = c.raw;
    for (v, r, vma) in c.held() {
        check_one_chain(c, v, r, vma);
    }

    // Each tree entry is an AVC of a live VMA, keyed as that VMA is now.
    // (Every AVC in the report is named: on the first chain place that
    // holds it, else stray; anything else is freed or not an AVC.)
    for (i, a) in s.anon_vmas.iter().enumerate() {
        for t in &a.tree {
            let RawRef::Index(avc) = t.avc else { continue };
            let Some(&home) = c.at.home.get(avc) else {
                continue;
            };
            let Some((v, _)) = home else {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: tree holds {} which is on no VMA's chain",
                        c.at.avc(t.avc)
                    ),
                );
                continue;
            };
            let name = c.at.vma_ref[v];
            if matches!(name, VmaRef::Detached(_)) {
                c.fail(
                    "tree.member",
                    format!("anon_vma av{i}: tree entry of detached VMA {name}"),
                );
            }
            if c.av(s.avcs[avc].anon_vma) != AvRef::Id(i as u32) {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: tree holds AVC {} which points at another anon_vma",
                        c.at.avc(t.avc)
                    ),
                );
            }
            let (start, last) = s.vmas[v].key();
            if (t.start, t.last) != (start, last) {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: AVC of VMA {name} filed at pgoff {:#x}-{:#x}, but the VMA now covers {start:#x}-{last:#x}",
                        t.start, t.last
                    ),
                );
            }
        }
    }
}

/// The rules on VMA `v` (named `name`)'s chain.
fn check_one_chain(c: &mut Checker, v: usize, name: VmaRef, vma: &RawVma) {
    let s = c.raw;
    let own = c.av(vma.anon_vma);
    if own == AvRef::Null {
        if !vma.chain.is_empty() {
            c.fail(
                "chain.own",
                format!(
                    "vma {name}: unfaulted but its chain has {} AVC(s)",
                    vma.chain.len()
                ),
            );
        }
        return;
    }
    if !vma.chain.iter().any(|&e| c.entry(e).anon_vma == own) {
        c.fail(
            "chain.own",
            format!(
                "vma {name}: anon_vma {own} but no AVC links it (chain has {})",
                vma.chain.len()
            ),
        );
    }
    // Chains are short: plain vectors beat hashing here.
    let mut seen: Vec<AvRef> = Vec::with_capacity(vma.chain.len());
    let mut roots: Vec<AvRef> = Vec::new();
    for (pos, &link) in vma.chain.iter().enumerate() {
        let e = c.entry(link);
        if e.vma != name {
            c.fail(
                "chain.avc",
                format!("vma {name}: chain entry {pos} points at VMA {}", e.vma),
            );
        }
        if seen.contains(&e.anon_vma) {
            c.fail(
                "chain.avc",
                format!("vma {name}: two AVCs for anon_vma {}", e.anon_vma),
            );
        }
        seen.push(e.anon_vma);
        // The trees that file the AVC this place names (none when the
        // AVC is named by an earlier place).
        let homes = match link {
            RawRef::Index(a) if c.at.home.get(a) == Some(&Some((v, pos as u32))) => {
                c.at.filed[a].as_slice()
            }
            _ => &[],
        };
        let want = c.live_av(e.anon_vma);
        if homes.len() != 1 || Some(homes[0]) != want {
            let homes: Vec<String> = homes.iter().map(|h| format!("av{h}")).collect();
            c.fail(
                "chain.avc",
                format!(
                    "vma {name}: AVC {pos} for anon_vma {} is in the tree(s) of [{}]",
                    e.anon_vma,
                    homes.join(" ")
                ),
            );
        }
        if let Some(a) = want {
            let root = c.av(s.anon_vmas[a].root);
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
    }
    for &linked in &seen {
        let Some(a) = c.live_av(linked) else { continue };
        let parent = c.av(s.anon_vmas[a].parent);
        if parent != linked && c.live_av(parent).is_some() && !seen.contains(&parent) {
            c.fail(
                "chain.ancestors",
                format!("vma {name}: linked to {linked} but not to its parent {parent}"),
            );
        }
    }
    if roots.len() > 1 {
        let roots: Vec<String> = roots.iter().map(AvRef::to_string).collect();
        c.fail(
            "chain.root",
            format!("vma {name}: its anon_vmas have roots {}", roots.join(", ")),
        );
    }
}

/// The anon_vmas a VMA is linked to, as a set.
fn link_set(c: &Checker, v: &RawVma) -> Vec<AvRef> {
    let mut set: Vec<AvRef> = v.chain.iter().map(|&e| c.entry(e).anon_vma).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// VMAs that share an anon_vma: one process, one set of links (what fork's
/// reuse rule and the neighbour rule of `__anon_vma_prepare` establish,
/// and what merges rely on; docs/CONTRACTS.md).
pub(super) fn check_sharing(c: &mut Checker) {
    let mut first: Vec<Option<(VmaRef, &RawVma)>> = vec![None; c.raw.anon_vmas.len()];
    for (_, r, v) in c.held() {
        let Some(i) = c.live_av(c.av(v.anon_vma)) else {
            continue;
        };
        let Some((r0, v0)) = first[i] else {
            first[i] = Some((r, v));
            continue;
        };
        let mm_of = |r: VmaRef| match r {
            VmaRef::InMm { mm, .. } => Some(mm),
            _ => None,
        };
        if mm_of(r0) != mm_of(r) {
            c.fail(
                "share.one_mm",
                format!(
                    "anon_vma av{i} is the anon_vma of vma {r0} and of vma {r}, in another process"
                ),
            );
        } else if link_set(c, v0) != link_set(c, v) {
            let show = |v: &RawVma| {
                link_set(c, v)
                    .iter()
                    .map(AvRef::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let detail = format!(
                "anon_vma av{i} is the anon_vma of vma {r0} (linked to [{}]) and of vma {r} (linked to [{}])",
                show(v0),
                show(v)
            );
            c.fail("share.same_links", detail);
        }
    }
}
