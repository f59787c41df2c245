//! What a world's step wrote: each collection a dump reads remembers
//! whether it was lent out for writing since the world began watching
//! ([`World::watch_writes`]). Every way to change one goes through
//! `DerefMut`, so none is missed; one lent out and left alone counts as
//! written, which only costs a snapshot.

use std::ops::{Deref, DerefMut};

use crate::World;

#[derive(Debug, Default)]
pub(crate) struct Watched<T> {
    inner: T,
    written: bool,
}

impl<T> Deref for Watched<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for Watched<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.written = true;
        &mut self.inner
    }
}

impl<T: Clone> Clone for Watched<T> {
    fn clone(&self) -> Self {
        Watched {
            inner: self.inner.clone(),
            written: true,
        }
    }

    /// (Putting a saved world back is a write.)
    fn clone_from(&mut self, source: &Self) {
        self.inner.clone_from(&source.inner);
        self.written = true;
    }
}

impl World {
    /// Starts watching what the next operations write.
    pub fn watch_writes(&mut self) {
        self.mms.written = false;
        self.mm_ids.written = false;
        self.vmas.written = false;
        self.avs.written = false;
        self.avcs.written = false;
        self.pages.written = false;
    }

    /// True when nothing a dump reads was lent out for writing since
    /// [`World::watch_writes`]: a dump now would equal one taken then.
    pub fn wrote_nothing(&self) -> bool {
        !(self.mms.written
            || self.mm_ids.written
            || self.vmas.written
            || self.avs.written
            || self.avcs.written
            || self.pages.written)
    }
}
