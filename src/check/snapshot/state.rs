//! A state as an engine reported it, before it is named canonically.

use super::*;

/// A state as an engine reported it, named canonically and hashed only
/// when asked: a search that meets a state it knows needs its hash alone.
#[derive(Clone, Debug)]
pub struct State {
    /// As the engine reported it (`None` for a state given named).
    raw: Option<RawSnapshot>,
    canonical: std::cell::OnceCell<Snapshot>,
    hash: std::cell::OnceCell<u64>,
}

impl State {
    pub fn new(raw: RawSnapshot) -> State {
        State {
            raw: Some(raw),
            canonical: std::cell::OnceCell::new(),
            hash: std::cell::OnceCell::new(),
        }
    }

    /// A state already in canonical form.
    pub fn named(snap: Snapshot) -> State {
        State {
            raw: None,
            canonical: std::cell::OnceCell::from(snap),
            hash: std::cell::OnceCell::new(),
        }
    }

    pub fn canonical(&self) -> &Snapshot {
        self.canonical.get_or_init(|| canonicalize(self.reported()))
    }

    /// Whether both were reported by an engine exactly alike (so their
    /// canonical forms are equal too); false for a state given named.
    pub fn same_report(&self, other: &State) -> bool {
        matches!((&self.raw, &other.raw), (Some(a), Some(b)) if a == b)
    }

    /// The VMAs and pages (a relaxed comparison's), from the report where
    /// there is one: nothing is named for them.
    pub fn shape(&self) -> Shape {
        match &self.raw {
            Some(raw) => raw.shape(),
            None => self.canonical().shape(),
        }
    }

    /// As the engine reported it (`None` for a state given named).
    pub fn raw(&self) -> Option<&RawSnapshot> {
        self.raw.as_ref()
    }

    fn reported(&self) -> &RawSnapshot {
        // (A state given named has its canonical form from the start.)
        self.raw
            .as_ref()
            .expect("a state given named is never renamed")
    }

    /// [`state_hash`] of its canonical form.
    pub fn hash(&self) -> u64 {
        *self.hash.get_or_init(|| match self.canonical.get() {
            Some(snap) => state_hash(snap),
            None => canonical_hash(self.reported()),
        })
    }

    /// As the engine reported it, for the engine to take back
    /// ([`Engine::recycle`](crate::engine::Engine::recycle)).
    pub fn into_raw(self) -> Option<RawSnapshot> {
        self.raw
    }

    pub fn into_canonical(self) -> Snapshot {
        self.canonical();
        self.canonical.into_inner().expect("named just above")
    }
}
