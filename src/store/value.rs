//! Values held by the keyspace.

use super::small::SmallBytes;

pub enum Value {
    Str(SmallBytes),
    List(Box<super::list::List>),
    Hash(Box<super::hash::Hash>),
    Set(Box<super::set::Set>),
    ZSet(Box<super::zset::ZSet>),
    Stream(Box<super::stream::Stream>),
}

impl Value {
    pub fn str(b: &[u8]) -> Self {
        Value::Str(SmallBytes::new(b))
    }

    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING replies with (Redis's encodings).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                let b = s.as_bytes();
                if b.len() <= 20 && crate::util::parse_i64(b).is_some() {
                    "int"
                } else if b.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// Approximate bytes used (MEMORY USAGE), including the slab slot.
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.mem_usage(),
            Value::Hash(h) => h.mem_usage(),
            Value::Set(s) => s.mem_usage(),
            Value::ZSet(z) => z.mem_usage(),
            Value::Stream(x) => x.mem_usage(),
        }
    }

    /// Roughly how many allocations freeing the value costs (Redis's
    /// lazyfreeGetFreeEffort): the element count of a collection.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.len(),
            Value::Hash(h) => h.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
            // Redis counts listpack nodes (plus groups) for a stream.
            Value::Stream(x) => x.node_count() + x.groups.len(),
        }
    }

    /// Drop the value, on the lazyfree thread when that is costly.
    pub fn free_lazily(self) {
        if self.free_effort() > super::lazyfree::THRESHOLD {
            super::lazyfree::free(self);
        }
    }

    pub fn deep_clone(&self) -> Value {
        match self {
            Value::Str(s) => Value::Str(s.clone()),
            Value::List(l) => Value::List(l.clone()),
            Value::Hash(h) => Value::Hash(h.clone()),
            Value::Set(s) => Value::Set(s.clone()),
            Value::ZSet(z) => Value::ZSet(z.clone()),
            Value::Stream(x) => Value::Stream(x.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_compact() {
        assert!(std::mem::size_of::<Value>() <= 32);
    }

    #[test]
    fn string_encodings() {
        assert_eq!(Value::str(b"12345").encoding(), "int");
        assert_eq!(Value::str(b"hello").encoding(), "embstr");
        assert_eq!(Value::str(&[b'x'; 45]).encoding(), "raw");
    }
}
