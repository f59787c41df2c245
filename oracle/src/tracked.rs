//! An arena that says what was written to it, object by object: every
//! key lent out for writing or made since the world last looked
//! ([`Tracked::take_changes`]), and what each object freed since was
//! (its [`Stamped::stamp`]). Only a reference to read goes through
//! `Deref`; every way to write is a method here, so no write is missed.
//! A key lent out and left alone counts as changed, which only costs a
//! comparison.

use std::ops::{Deref, Index};

use slotmap::{Key, SlotMap};

/// What names a freed object to whoever follows the arena: when it was
/// made, or a process's id.
pub(crate) trait Stamped {
    fn stamp(&self) -> u64;
}

#[derive(Debug)]
pub(crate) struct Tracked<K: Key, V> {
    inner: SlotMap<K, V>,
    /// Lent out for writing since [`crate::World::watch_writes`].
    pub(crate) written: bool,
    /// What changed, once changes are noted (from the first time they
    /// were taken): kept apart, so that a world nobody follows stays small.
    noted: Option<Box<Noted<K>>>,
}

#[derive(Debug)]
struct Noted<K> {
    /// Keys written or made since the changes were last taken, repeats
    /// and all.
    changed: Vec<K>,
    /// The stamps of the objects freed since.
    gone: Vec<u64>,
    /// Changed past following (or put back whole): taken as everything.
    lost: bool,
}

impl<K> Noted<K> {
    fn lost() -> Box<Noted<K>> {
        Box::new(Noted {
            changed: Vec::new(),
            gone: Vec::new(),
            lost: true,
        })
    }
}

impl<K: Key, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked {
            inner: SlotMap::with_key(),
            written: false,
            noted: None,
        }
    }
}

impl<K: Key, V> Deref for Tracked<K, V> {
    type Target = SlotMap<K, V>;

    fn deref(&self) -> &SlotMap<K, V> {
        &self.inner
    }
}

impl<K: Key, V> Index<K> for Tracked<K, V> {
    type Output = V;

    fn index(&self, k: K) -> &V {
        &self.inner[k]
    }
}

impl<K: Key, V: Stamped> Tracked<K, V> {
    fn note(&mut self, k: K) {
        self.written = true;
        if let Some(n) = self.noted.as_deref_mut().filter(|n| !n.lost) {
            n.changed.push(k);
            // (A step that rewrites much is compared whole anyway.)
            if n.changed.len() > 2 * self.inner.len() + 64 {
                n.lost = true;
                n.changed.clear();
            }
        }
    }

    pub(crate) fn get_mut(&mut self, k: K) -> Option<&mut V> {
        // (A stale key noted is dropped when the changes are taken.)
        self.note(k);
        self.inner.get_mut(k)
    }

    pub(crate) fn insert(&mut self, v: V) -> K {
        let k = self.inner.insert(v);
        self.note(k);
        k
    }

    pub(crate) fn insert_with_key(&mut self, f: impl FnOnce(K) -> V) -> K {
        let k = self.inner.insert_with_key(f);
        self.note(k);
        k
    }

    pub(crate) fn remove(&mut self, k: K) -> Option<V> {
        let v = self.inner.remove(k)?;
        self.written = true;
        if let Some(n) = self.noted.as_deref_mut().filter(|n| !n.lost) {
            n.gone.push(v.stamp());
        }
        Some(v)
    }

    /// Whether changes are noted (from the first time they were taken).
    pub(crate) fn follows(&self) -> bool {
        self.noted.is_some()
    }

    /// Stops noting changes, until they are next taken.
    pub(crate) fn unfollow(&mut self) {
        self.noted = None;
    }

    /// What changed since the last call: the keys written or made (some
    /// perhaps freed since) and the stamps of the objects freed; `None`
    /// the first time (from then on changes are noted) and after the
    /// arena changed past following or was put back whole.
    pub(crate) fn take_changes(&mut self) -> Option<(Vec<K>, Vec<u64>)> {
        let n = self.noted.get_or_insert_with(Noted::lost);
        let followed = !n.lost;
        n.lost = false;
        let changes = (std::mem::take(&mut n.changed), std::mem::take(&mut n.gone));
        followed.then_some(changes)
    }
}

impl<K: Key, V: Clone> Clone for Tracked<K, V> {
    fn clone(&self) -> Self {
        Tracked {
            inner: self.inner.clone(),
            written: true,
            noted: self.noted.as_ref().map(|_| Noted::lost()),
        }
    }

    /// (Putting a saved world back is a write of everything.)
    fn clone_from(&mut self, source: &Self) {
        self.inner.clone_from(&source.inner);
        self.written = true;
        if let Some(n) = self.noted.as_deref_mut() {
            n.lost = true;
            n.changed.clear();
            n.gone.clear();
        }
    }
}
