//! Pages and the page offsets they are indexed by.

use super::*;
use crate::check::snapshot::Keyed;

pub(super) fn check_pages(c: &mut Checker) {
    let s = c.raw;
    for p in &s.pages {
        let av = c.av(p.anon_vma);
        if p.mapcount != p.mappers.len() as i64 {
            c.fail(
                "page.mapcount",
                format!(
                    "page index {:#x}: mapcount={} but {} entries map it",
                    p.index,
                    p.mapcount,
                    p.mappers.len()
                ),
            );
        }
        for &(mm, addr) in &p.mappers {
            match c.vma_at(mm, addr) {
                None => c.fail(
                    "page.linked",
                    format!(
                        "page index {:#x}: mapped at {mm}:{addr:#x} outside any VMA",
                        p.index
                    ),
                ),
                Some(v) => {
                    let index = v.index_at(addr);
                    if index != p.index {
                        c.fail(
                            "page.linked",
                            format!("page index {:#x}: mapped at {mm}:{addr:#x} where the VMA's index is {index:#x}", p.index),
                        );
                    }
                    if !v.chain.iter().any(|&e| c.entry(e).anon_vma == av) {
                        c.fail(
                            "page.linked",
                            format!(
                                "page index {:#x} of {av}: mapped at {mm}:{addr:#x} by a VMA not linked to that anon_vma",
                                p.index
                            ),
                        );
                    }
                }
            }
        }
        if p.walk != p.mappers {
            c.fail(
                "rmap.complete",
                format!(
                    "page index {:#x} of {av}: mapped at {:x?} but the rmap walk finds {:x?}",
                    p.index,
                    p.mappers.as_slice(),
                    p.walk.as_slice()
                ),
            );
        }
    }
}

/// Linux 7.3 keeps a second page offset beside vm_pgoff. Both move
/// together for anonymous memory (every caller sets both, by the same
/// delta); the kernel asserts it where it indexes a page
/// (linear_anon_page_index), and its trees and folio indices rely on it.
pub(super) fn check_anon_pgoff(c: &mut Checker) {
    let s = c.raw;
    // (Named only when one breaks the rule: most snapshots pass.)
    let detached = c.at.detached.iter().map(|&v| (None, &s.vmas[v]));
    let all = c.held().map(|(_, r, v)| (Some(r), v)).chain(detached);
    for (r, v) in all {
        if let Some(anon) = v.anon_pgoff.filter(|&a| a != v.pgoff) {
            let name = r.map_or_else(|| "a detached VMA".to_owned(), |r| r.to_string());
            c.fail(
                "vma.anon_pgoff",
                format!(
                    "VMA {name} ({:#x}-{:#x}): anonymous page offset {anon:#x}, pgoff {:#x}",
                    v.start, v.end, v.pgoff
                ),
            );
        }
    }
}
