//! Hash slots: CRC16 (XMODEM: poly 0x1021, init 0, no reflection) of the
//! key, or of its `{hash tag}` when the first `{` is followed by a non-empty
//! run up to the next `}`, modulo 16384 — exactly Redis's `keyHashSlot`.

pub const SLOTS: usize = 16384;

const fn table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut b = 0;
        while b < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            b += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
}

static TABLE: [u16; 256] = table();

pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ TABLE[((crc >> 8) as u8 ^ b) as usize]
    })
}

/// The slot of a key, honouring `{hash tags}`.
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&c| c == b'{').and_then(|s| {
        let rest = &key[s + 1..];
        match rest.iter().position(|&c| c == b'}') {
            Some(0) | None => None,
            Some(e) => Some(&rest[..e]),
        }
    });
    crc16(tagged.unwrap_or(key)) & (SLOTS as u16 - 1)
}

/// A set of slots as Redis's 2048-byte bitmap (bit `j` is `byte[j/8] >> (j%8)`).
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBits(pub Box<[u8; SLOTS / 8]>);

impl Default for SlotBits {
    fn default() -> Self {
        SlotBits(Box::new([0; SLOTS / 8]))
    }
}

impl std::fmt::Debug for SlotBits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotBits({:?})", ranges(self.iter()))
    }
}

impl SlotBits {
    pub fn get(&self, s: usize) -> bool {
        self.0[s / 8] & (1 << (s % 8)) != 0
    }
    pub fn set(&mut self, s: usize, on: bool) {
        if on {
            self.0[s / 8] |= 1 << (s % 8);
        } else {
            self.0[s / 8] &= !(1 << (s % 8));
        }
    }
    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..SLOTS).filter(move |&s| self.get(s))
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
}

/// Consecutive runs of ascending slots: `[(start, end)]`.
pub fn ranges(slots: impl Iterator<Item = usize>) -> Vec<(usize, usize)> {
    let mut v: Vec<(usize, usize)> = Vec::new();
    for s in slots {
        match v.last_mut() {
            Some(r) if r.1 + 1 == s => r.1 = s,
            _ => v.push((s, s)),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_and_slots_match_redis() {
        // The reference value of the XMODEM variant, from Redis's crc16.c.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        // CLUSTER KEYSLOT values of a real Redis 7.0.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        // An empty tag hashes the whole key; only the first `{` counts.
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn bits_and_ranges() {
        let mut b = SlotBits::default();
        for s in [0, 1, 2, 5, 16383] {
            b.set(s, true);
        }
        assert_eq!(b.count(), 5);
        assert_eq!(ranges(b.iter()), vec![(0, 2), (5, 5), (16383, 16383)]);
        b.set(1, false);
        assert!(!b.get(1) && b.get(0));
        assert_eq!(b.0[0], 0b0010_0101);
    }
}
