//! Pages and the page offsets they are indexed by.

use super::*;

pub(super) fn check_pages(c: &mut Checker) {
    let s = c.snap;
    for p in &s.pages {
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
            match s.vma_at(mm, addr) {
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
                    if !v.chain.iter().any(|e| e.anon_vma == p.anon_vma) {
                        c.fail(
                            "page.linked",
                            format!(
                                "page index {:#x} of {}: mapped at {mm}:{addr:#x} by a VMA not linked to that anon_vma",
                                p.index, p.anon_vma
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
                    "page index {:#x} of {}: mapped at {:x?} but the rmap walk finds {:x?}",
                    p.index, p.anon_vma, p.mappers, p.walk
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
    let s = c.snap;
    // (Named only when one breaks the rule: most snapshots pass.)
    let all = s
        .vmas()
        .map(|(r, v)| (Some(r), v))
        .chain(s.detached.iter().map(|v| (None, v)));
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
