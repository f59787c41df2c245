//! Chains, interval trees and sharing: the rules about links.

use super::*;

/// The anon_vmas whose trees hold one AVC.
type Homes = smallvec::SmallVec<[usize; 1]>;

pub(super) fn check_chains_and_trees(c: &mut Checker) {
    let s = c.snap;
    // Where each chain entry (VMA, position) is filed in the trees: once,
    // in a correct world. (Sized up front: grown from nothing, the map
    // was a good part of the check.)
    let entries = s.anon_vmas.iter().map(|a| a.tree.len()).sum();
    let mut filed: FxHashMap<AvcRef, Homes> =
        FxHashMap::with_capacity_and_hasher(entries, Default::default());
    for (i, a) in s.anon_vmas.iter().enumerate() {
        for t in &a.tree {
            filed.entry(t.avc).or_default().push(i);
        }
    }

    for (r, v) in s.vmas() {
        check_one_chain(c, r, v, &filed);
    }

    for (i, a) in s.anon_vmas.iter().enumerate() {
        for t in &a.tree {
            let AvcRef::OnChain { vma, pos } = t.avc else {
                if !matches!(t.avc, AvcRef::Dangling | AvcRef::Foreign) {
                    c.fail(
                        "tree.member",
                        format!(
                            "anon_vma av{i}: tree holds {} which is on no VMA's chain",
                            t.avc
                        ),
                    );
                }
                continue;
            };
            let Some(v) = s.vma(vma) else {
                c.fail(
                    "tree.member",
                    format!("anon_vma av{i}: tree entry of VMA {vma}, which is gone"),
                );
                continue;
            };
            if matches!(vma, VmaRef::Detached(_)) {
                c.fail(
                    "tree.member",
                    format!("anon_vma av{i}: tree entry of detached VMA {vma}"),
                );
            }
            if v.chain.get(pos as usize).map(|e| e.anon_vma) != Some(AvRef::Id(i as u32)) {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: tree holds AVC {} which points at another anon_vma",
                        t.avc
                    ),
                );
            }
            let (start, last) = v.key();
            if (t.start, t.last) != (start, last) {
                c.fail(
                    "tree.member",
                    format!(
                        "anon_vma av{i}: AVC of VMA {vma} filed at pgoff {:#x}-{:#x}, but the VMA now covers {start:#x}-{last:#x}",
                        t.start, t.last
                    ),
                );
            }
        }
    }
}

pub(super) fn check_one_chain(
    c: &mut Checker,
    r: VmaRef,
    v: &VmaState,
    filed: &FxHashMap<AvcRef, Homes>,
) {
    let s = c.snap;
    // Formatted only when a message needs it (Display, not a String).
    let name = r;
    if v.anon_vma == AvRef::Null {
        if !v.chain.is_empty() {
            c.fail(
                "chain.own",
                format!(
                    "vma {name}: unfaulted but its chain has {} AVC(s)",
                    v.chain.len()
                ),
            );
        }
        return;
    }
    if !v.chain.iter().any(|e| e.anon_vma == v.anon_vma) {
        c.fail(
            "chain.own",
            format!(
                "vma {name}: anon_vma {} but no AVC links it (chain has {})",
                v.anon_vma,
                v.chain.len()
            ),
        );
    }
    // Chains are short: plain vectors beat hashing here.
    let mut seen: Vec<AvRef> = Vec::with_capacity(v.chain.len());
    let mut roots: Vec<AvRef> = Vec::new();
    for (pos, e) in v.chain.iter().enumerate() {
        let me = AvcRef::OnChain {
            vma: r,
            pos: pos as u32,
        };
        if e.vma != r {
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
        let homes = filed.get(&me).map(Homes::as_slice).unwrap_or(&[]);
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
            if !roots.contains(&s.anon_vmas[a].root) {
                roots.push(s.anon_vmas[a].root);
            }
        }
    }
    for &linked in &seen {
        let Some(a) = c.live_av(linked) else { continue };
        let parent = s.anon_vmas[a].parent;
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
pub(super) fn link_set(v: &VmaState) -> Vec<AvRef> {
    let mut set: Vec<AvRef> = v.chain.iter().map(|e| e.anon_vma).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// VMAs that share an anon_vma: one process, one set of links (what fork's
/// reuse rule and the neighbour rule of `__anon_vma_prepare` establish,
/// and what merges rely on; docs/CONTRACTS.md).
pub(super) fn check_sharing(c: &mut Checker) {
    let s = c.snap;
    let mut first: Vec<Option<(VmaRef, &VmaState)>> = vec![None; s.anon_vmas.len()];
    for (r, v) in s.vmas() {
        let Some(i) = c.live_av(v.anon_vma) else {
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
        } else if link_set(v0) != link_set(v) {
            let show = |v: &VmaState| {
                link_set(v)
                    .iter()
                    .map(AvRef::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            c.fail(
                "share.same_links",
                format!(
                    "anon_vma av{i} is the anon_vma of vma {r0} (linked to [{}]) and of vma {r} (linked to [{}])",
                    show(v0),
                    show(v)
                ),
            );
        }
    }
}
