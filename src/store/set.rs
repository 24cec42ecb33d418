//! Set values. Owned by the sets family (cmd/sets.rs): integer-only small
//! sets use "intset", the rest a hash table ("hashtable"), switching at
//! `set-max-intset-entries` (Redis 7.0's encodings).

use super::small::SmallBytes;

#[derive(Clone, Default)]
pub struct Set {
    pub members: Vec<SmallBytes>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    pub fn mem_usage(&self) -> usize {
        self.members.capacity() * std::mem::size_of::<SmallBytes>()
    }
}
