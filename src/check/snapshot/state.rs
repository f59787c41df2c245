//! A state as an engine reported it, before it is named canonically.

use super::*;

/// A state as an engine reported it, named canonically and hashed only
/// when asked: a search that meets a state it knows needs its hash alone.
#[derive(Clone, Debug)]
pub struct State {
    raw: RawSnapshot,
    canonical: std::cell::OnceCell<Snapshot>,
    hash: std::cell::OnceCell<u64>,
}

impl State {
    pub fn new(raw: RawSnapshot) -> State {
        State {
            raw,
            canonical: std::cell::OnceCell::new(),
            hash: std::cell::OnceCell::new(),
        }
    }

    /// A state already in canonical form.
    pub fn named(snap: Snapshot) -> State {
        State {
            raw: RawSnapshot::default(),
            canonical: std::cell::OnceCell::from(snap),
            hash: std::cell::OnceCell::new(),
        }
    }

    pub fn canonical(&self) -> &Snapshot {
        self.canonical.get_or_init(|| canonicalize(&self.raw))
    }

    /// [`state_hash`] of its canonical form.
    pub fn hash(&self) -> u64 {
        *self.hash.get_or_init(|| match self.canonical.get() {
            Some(snap) => state_hash(snap),
            None => canonical_hash(&self.raw),
        })
    }

    pub fn into_canonical(self) -> Snapshot {
        match self.canonical.into_inner() {
            Some(snap) => snap,
            None => canonicalize(&self.raw),
        }
    }
}
