//! The replication backlog: the last `size` bytes of the replication stream,
//! kept so a replica that lost its link can continue from where it stopped
//! (PSYNC) instead of loading a full snapshot again.

/// A ring buffer addressed by replication offsets.
pub struct Backlog {
    buf: Vec<u8>,
    /// Next write position in `buf`.
    pos: usize,
    /// Bytes of history held (≤ buf.len()).
    histlen: usize,
    /// Replication offset of the first byte held (INFO repl_backlog_first_byte_offset).
    pub first_byte: u64,
}

impl Backlog {
    /// A backlog whose first byte will be stream offset `first_byte`.
    pub fn new(size: usize, first_byte: u64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(1)],
            pos: 0,
            histlen: 0,
            first_byte,
        }
    }

    pub fn size(&self) -> usize {
        self.buf.len()
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    pub fn push(&mut self, mut data: &[u8]) {
        let size = self.buf.len();
        if data.len() > size {
            // Only the tail fits; what falls off still advances the first offset.
            let skip = data.len() - size;
            self.first_byte += skip as u64;
            data = &data[skip..];
        }
        let overflow = (self.histlen + data.len()).saturating_sub(size);
        self.first_byte += overflow as u64;
        self.histlen = (self.histlen + data.len()).min(size);
        while !data.is_empty() {
            let n = (size - self.pos).min(data.len());
            self.buf[self.pos..self.pos + n].copy_from_slice(&data[..n]);
            self.pos = (self.pos + n) % size;
            data = &data[n..];
        }
    }

    /// True when a replica asking for stream offset `off` (the next byte it
    /// wants) can be served from here (`off` one past the end = nothing to send).
    pub fn covers(&self, off: u64) -> bool {
        off >= self.first_byte && off <= self.first_byte + self.histlen as u64
    }

    /// The bytes from stream offset `off` to the end.
    pub fn read_from(&self, off: u64) -> Vec<u8> {
        let skip = (off - self.first_byte) as usize;
        let n = self.histlen - skip;
        let size = self.buf.len();
        let start = (self.pos + size - self.histlen + skip) % size;
        let mut v = Vec::with_capacity(n);
        let first = (size - start).min(n);
        v.extend_from_slice(&self.buf[start..start + first]);
        v.extend_from_slice(&self.buf[..n - first]);
        v
    }

    /// Change the size, keeping as much of the newest history as fits.
    pub fn resize(&mut self, size: usize) {
        if size == self.buf.len() {
            return;
        }
        let all = self.read_from(self.first_byte);
        let end = self.first_byte + all.len() as u64;
        let mut b = Backlog::new(size, end - all.len() as u64);
        b.push(&all);
        *self = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_bytes() {
        let mut b = Backlog::new(8, 1);
        b.push(b"abcde");
        assert!(b.covers(1) && b.covers(6) && !b.covers(7));
        assert_eq!(b.read_from(3), b"cde");
        b.push(b"fghij");
        assert_eq!(b.first_byte, 3);
        assert_eq!(b.histlen(), 8);
        assert_eq!(b.read_from(3), b"cdefghij");
        assert_eq!(b.read_from(11), b"");
        assert!(!b.covers(2));
        b.push(b"0123456789abc");
        assert_eq!(b.read_from(b.first_byte), b"56789abc");
        b.resize(4);
        assert_eq!(b.read_from(b.first_byte), b"9abc");
        assert_eq!(b.first_byte + 4, 1 + 5 + 5 + 13);
    }
}
