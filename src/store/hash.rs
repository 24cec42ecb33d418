//! Hash values. Owned by the hashes family (cmd/hashes.rs): small hashes use
//! a compact encoding ("listpack"), large ones a hash table ("hashtable"),
//! switching at `hash-max-listpack-entries` / `hash-max-listpack-value`.

use super::small::SmallBytes;

#[derive(Clone, Default)]
pub struct Hash {
    pub fields: Vec<(SmallBytes, SmallBytes)>,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn mem_usage(&self) -> usize {
        self.fields.capacity() * std::mem::size_of::<(SmallBytes, SmallBytes)>()
    }
}
