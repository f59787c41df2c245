//! What a search keys states by, checked on the states the hand-written
//! corpus reaches, step by step, on both engines of every correct variant:
//!
//! - a state's hash taken without building its canonical form equals the
//!   hash of that form (`canonical_hash` against `state_hash`);
//! - renaming processes by the identity gives the state back, and any
//!   renaming keeps the state's class key (`orbit_key`) while the whole
//!   state changes with it.

mod common;

use std::collections::HashMap;

use rmapfuzz::check::snapshot::{
    canonical_hash, canonicalize, orbit_key, orbit_size, renamed, state_hash, Snapshot,
};
use rmapfuzz::engine::variant;
use rmapfuzz::engine::Engine;

/// Every order of `ids` onto `onto`.
fn renamings(ids: &[u32], onto: &[u32]) -> Vec<HashMap<u32, u32>> {
    fn go(ids: &[u32], left: &mut Vec<u32>, cur: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
        if cur.len() == ids.len() {
            out.push(cur.clone());
            return;
        }
        for k in 0..left.len() {
            let x = left.remove(k);
            cur.push(x);
            go(ids, left, cur, out);
            cur.pop();
            left.insert(k, x);
        }
    }
    let mut out = Vec::new();
    go(
        ids,
        &mut onto[..ids.len()].to_vec(),
        &mut Vec::new(),
        &mut out,
    );
    out.into_iter()
        .map(|to| ids.iter().copied().zip(to).collect())
        .collect()
}

fn check_state(where_: &str, snap: &Snapshot, raw_hash: u64) {
    assert_eq!(
        raw_hash,
        state_hash(snap),
        "{where_}: the hash without the canonical form is another"
    );
    let ids: Vec<u32> = snap.mms.iter().map(|m| m.id).collect();
    let same: HashMap<u32, u32> = ids.iter().map(|&i| (i, i)).collect();
    assert_eq!(
        &renamed(snap, |id| same.get(&id).copied().unwrap_or(id)),
        snap,
        "{where_}: renaming by the identity changed the state"
    );
    if ids.len() > 4 {
        return;
    }
    let key = orbit_key(snap);
    let mut hashes = Vec::new();
    for to in renamings(&ids, &[7, 3, 11, 0]) {
        let other = renamed(snap, |id| to.get(&id).copied().unwrap_or(id));
        assert_eq!(
            orbit_key(&other),
            key,
            "{where_}: renamed {to:?}, the state changed class"
        );
        hashes.push(state_hash(&other));
    }
    hashes.sort_unstable();
    hashes.dedup();
    // A renaming onto other ids always changes the state itself (its ids).
    assert!(
        ids.is_empty() || !hashes.contains(&state_hash(snap)),
        "{where_}: a renaming onto new ids left the state as it was"
    );
    assert!(orbit_size(snap) >= 1);
}

#[test]
fn state_keys_hold_on_every_corpus_state() {
    let mut states = 0;
    let mut renamed_apart = 0;
    common::each_corpus_state(variant::correct(), |at, c, o| {
        for (side, raw) in [("C", c.snapshot()), ("oracle", o.snapshot())] {
            let snap = canonicalize(&raw);
            check_state(&format!("{at} ({side})"), &snap, canonical_hash(&raw));
            states += 1;
            if snap.mms.len() > 1 && orbit_size(&snap) > 1 {
                renamed_apart += 1;
            }
        }
        true
    });
    assert!(states > 1000, "only {states} states checked");
    // The renamings made other states for many: the test is not vacuous.
    assert!(
        renamed_apart > 100,
        "only {renamed_apart} states had renamings"
    );
}

/// The two engines list a state's objects alike, in the order they made
/// them (the oracle dumps by birth, `oracle/src/dump.rs`; trees in key
/// order): where their states are equal, so are their raw reports, and the
/// runner compares them without naming the reference's (`State::
/// same_report`). Not for the relaxed variants, whose reference is not
/// injected and may make objects in another order.
#[test]
fn equal_states_are_reported_alike_by_both_engines() {
    let (mut equal, mut alike) = (0, 0);
    let strict = variant::correct().filter(|v| v.mode == variant::Mode::Strict);
    common::each_corpus_state(strict, |at, c, o| {
        let (rc, ro) = (c.snapshot(), o.snapshot());
        if canonicalize(&rc) == canonicalize(&ro) {
            equal += 1;
            alike += usize::from(rc == ro);
            assert!(rc == ro, "{at}: equal states reported apart");
        }
        true
    });
    assert!(equal > 500 && alike == equal, "{alike} of {equal} alike");
}

/// The oracle's `snapshot_unless`, which compares as it dumps, says what
/// comparing a whole snapshot would, and otherwise gives that snapshot:
/// nothing for the C side's report of an equal state, its own snapshot
/// for one that differs in any single field (here: a VMA's end, an
/// anon_vma's refcount, a page's mapcount, the last record dropped).
#[test]
fn the_oracle_compares_as_it_dumps_as_a_whole_snapshot_would() {
    let (mut yes, mut no) = (0, 0);
    common::each_corpus_state(variant::correct(), |at, c, o| {
        let raw = c.snapshot();
        let own = o.snapshot();
        let expected = (own != raw).then(|| own.clone());
        assert_eq!(o.snapshot_unless(&raw), expected, "{at}");
        yes += usize::from(expected.is_none());
        let mut changed = Vec::new();
        if let Some(v) = raw.vmas.first() {
            let mut r = raw.clone();
            r.vmas[0].end = v.end + 0x1000;
            changed.push(r);
        }
        if !raw.anon_vmas.is_empty() {
            let mut r = raw.clone();
            r.anon_vmas[0].refcount += 1;
            changed.push(r);
        }
        if !raw.pages.is_empty() {
            let mut r = raw.clone();
            let last = r.pages.len() - 1;
            r.pages[last].mapcount += 1;
            changed.push(r);
            let mut r = raw.clone();
            r.pages.pop();
            changed.push(r);
        }
        for r in changed {
            assert_eq!(
                o.snapshot_unless(&r).as_ref(),
                Some(&own),
                "{at}: a changed report taken as the oracle's"
            );
            no += 1;
        }
        true
    });
    assert!(yes > 500 && no > 1000, "{yes} alike, {no} changed");
}

/// A report's shape (its VMAs and pages: what a relaxed comparison
/// compares) is its canonical form's, on every corpus state of every
/// variant and each of those reports broken in one place: the runner
/// compares relaxed variants' states without naming them.
#[test]
fn a_report_has_the_shape_of_its_canonical_form() {
    let mut reports = 0;
    common::each_corpus_state(variant::all().iter().copied(), |at, c, o| {
        for (side, raw) in [("C", c.snapshot()), ("oracle", o.snapshot())] {
            let mut cases = vec![("as reported", raw.clone())];
            cases.extend(common::broken(&raw));
            for (how, r) in cases {
                assert_eq!(r.shape(), canonicalize(&r).shape(), "{at} ({side}, {how})");
                reports += 1;
            }
        }
        true
    });
    assert!(reports > 50_000, "only {reports} reports");
}
