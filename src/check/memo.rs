//! A memo of fixed size: what a search computed for a key, kept until
//! another key lands on the same slot. For a value that is a function of
//! its key (a state's class key), forgetting is sound: it is computed
//! again, the same. Its memory never grows: no table to grow and copy, no
//! fresh pages to fault in, and a size the caches hold.

use std::hash::{BuildHasher, Hash};

use rustc_hash::FxBuildHasher;

/// Direct-mapped: each key has one slot, chosen by its hash.
pub struct Memo<K, V> {
    slots: Box<[Option<(K, V)>]>,
    /// The shift that keeps a hash's top bits: the slot's index.
    shift: u32,
}

impl<K: Copy + Eq + Hash, V: Copy> Memo<K, V> {
    /// A memo of 2^`bits` slots.
    pub fn new(bits: u32) -> Memo<K, V> {
        assert!((1..=32).contains(&bits), "a memo of 2..2^32 slots");
        Memo {
            slots: vec![None; 1 << bits].into_boxed_slice(),
            shift: 64 - bits,
        }
    }

    fn slot(&self, key: &K) -> usize {
        // (Fx's top bits are its best mixed.)
        (FxBuildHasher.hash_one(key) >> self.shift) as usize
    }

    /// What was kept for `key`, if it still is.
    pub fn get(&self, key: &K) -> Option<V> {
        match self.slots[self.slot(key)] {
            Some((k, v)) if k == *key => Some(v),
            _ => None,
        }
    }

    /// Keeps `value` for `key`, in place of whatever held its slot.
    pub fn insert(&mut self, key: K, value: V) {
        let i = self.slot(&key);
        self.slots[i] = Some((key, value));
    }

    /// The value kept for `key`, or `make`'s, which is then kept.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> V {
        self.get(&key).unwrap_or_else(|| {
            let v = make();
            self.insert(key, v);
            v
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_it_was_given_until_a_key_takes_its_slot() {
        let mut m: Memo<u64, u64> = Memo::new(4);
        assert_eq!(m.get(&7), None);
        m.insert(7, 70);
        assert_eq!(m.get(&7), Some(70));
        assert_eq!(m.get_or_insert_with(7, || unreachable!()), 70);
        // Among 17 keys in 16 slots, two share one: the later stays.
        let keys: Vec<u64> = (100..117).collect();
        for &k in &keys {
            m.insert(k, k * 10);
        }
        let kept = keys.iter().filter(|&&k| m.get(&k) == Some(k * 10)).count();
        assert!(kept < keys.len(), "16 slots keep 17 keys");
        assert!(kept > 0);
        // Nothing is ever answered for a key with another's value.
        for k in 0..1000u64 {
            assert!(m.get(&k).is_none_or(|v| v == k * 10));
        }
        assert_eq!(m.get_or_insert_with(5, || 50), 50);
        assert_eq!(m.get(&5), Some(50));
    }
}
