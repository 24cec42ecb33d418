//! The RDB codec: Redis 7.0's snapshot format (`REDIS0010`), used for dump
//! files and for full resynchronisation in both directions.
//!
//! * [`RdbWriter`] / [`encode_entry`] write files a real Redis 7.0 loads
//!   (and `redis-check-rdb` accepts), with a running CRC64.
//! * [`load`] streams a file (versions 1..=10, including Redis 6.x ziplist
//!   encodings) into fresh databases, building values through the store's
//!   own APIs so their encodings follow the configured limits.
//!
//! Pure code: no sockets, no locks.

pub mod crc64;
pub mod intset;
pub mod listpack;
pub mod lzf;
mod read;
mod write;
pub mod ziplist;

pub use read::{load, load_bufread, LoadOpts, Loaded};
pub use write::{encode_entry, encode_entry_with, put_string, RdbWriter};

/// The version we write (Redis 7.0). Loading accepts 1..=RDB_VERSION.
pub const RDB_VERSION: u32 = 10;

// Opcodes.
/// A function library's code (Redis 7.0 GA): RDB files, FUNCTION DUMP.
pub const OP_FUNCTION2: u8 = 0xF5;
/// The pre-release function format (refused).
pub const OP_FUNCTION: u8 = 0xF6;
pub(crate) const OP_MODULE_AUX: u8 = 0xF7;
pub(crate) const OP_IDLE: u8 = 0xF8;
pub(crate) const OP_FREQ: u8 = 0xF9;
pub(crate) const OP_AUX: u8 = 0xFA;
pub(crate) const OP_RESIZEDB: u8 = 0xFB;
pub(crate) const OP_EXPIRETIME_MS: u8 = 0xFC;
pub(crate) const OP_EXPIRETIME: u8 = 0xFD;
pub(crate) const OP_SELECTDB: u8 = 0xFE;
pub(crate) const OP_EOF: u8 = 0xFF;

/// One RDB string at the start of `b` (raw, int-encoded or LZF): the
/// bytes and how many input bytes it took. None when malformed.
pub fn read_string(b: &[u8]) -> Option<(Vec<u8>, usize)> {
    fn len(b: &[u8]) -> Option<(u64, bool, usize)> {
        let f = *b.first()?;
        match f >> 6 {
            0 => Some(((f & 0x3f) as u64, false, 1)),
            1 => Some(((((f & 0x3f) as u64) << 8) | *b.get(1)? as u64, false, 2)),
            2 if f == 0x80 => Some((
                u32::from_be_bytes(b.get(1..5)?.try_into().ok()?) as u64,
                false,
                5,
            )),
            2 if f == 0x81 => Some((u64::from_be_bytes(b.get(1..9)?.try_into().ok()?), false, 9)),
            3 => Some(((f & 0x3f) as u64, true, 1)),
            _ => None,
        }
    }
    let (n, enc, mut at) = len(b)?;
    if !enc {
        let end = at.checked_add(usize::try_from(n).ok()?)?;
        return Some((b.get(at..end)?.to_vec(), end));
    }
    match n {
        0 => Some(((*b.get(1)? as i8).to_string().into_bytes(), 2)),
        1 => Some((
            i16::from_le_bytes(b.get(1..3)?.try_into().ok()?)
                .to_string()
                .into_bytes(),
            3,
        )),
        2 => Some((
            i32::from_le_bytes(b.get(1..5)?.try_into().ok()?)
                .to_string()
                .into_bytes(),
            5,
        )),
        3 => {
            let (clen, e1, u1) = len(&b[at..])?;
            at += u1;
            let (ulen, e2, u2) = len(&b[at..])?;
            at += u2;
            if e1 || e2 || ulen > clen.saturating_mul(88) + 88 {
                return None;
            }
            let end = at.checked_add(usize::try_from(clen).ok()?)?;
            let out = lzf::decompress(b.get(at..end)?, ulen as usize)?;
            Some((out, end))
        }
        _ => None,
    }
}

// Value types.
pub(crate) const T_STRING: u8 = 0;
pub(crate) const T_LIST: u8 = 1;
pub(crate) const T_SET: u8 = 2;
pub(crate) const T_ZSET: u8 = 3;
pub(crate) const T_HASH: u8 = 4;
pub(crate) const T_ZSET_2: u8 = 5;
pub(crate) const T_MODULE: u8 = 6;
pub(crate) const T_MODULE_2: u8 = 7;
pub(crate) const T_HASH_ZIPMAP: u8 = 9;
pub(crate) const T_LIST_ZIPLIST: u8 = 10;
pub(crate) const T_SET_INTSET: u8 = 11;
pub(crate) const T_ZSET_ZIPLIST: u8 = 12;
pub(crate) const T_HASH_ZIPLIST: u8 = 13;
pub(crate) const T_LIST_QUICKLIST: u8 = 14;
pub(crate) const T_STREAM_LISTPACKS: u8 = 15;
pub(crate) const T_HASH_LISTPACK: u8 = 16;
pub(crate) const T_ZSET_LISTPACK: u8 = 17;
pub(crate) const T_LIST_QUICKLIST_2: u8 = 18;
pub(crate) const T_STREAM_LISTPACKS_2: u8 = 19;

// Length encodings.
pub(crate) const LEN_6BIT: u8 = 0;
pub(crate) const LEN_14BIT: u8 = 1;
pub(crate) const LEN_32BIT: u8 = 0x80;
pub(crate) const LEN_64BIT: u8 = 0x81;
pub(crate) const LEN_ENCVAL: u8 = 3;
pub(crate) const ENC_INT8: u8 = 0;
pub(crate) const ENC_INT16: u8 = 1;
pub(crate) const ENC_INT32: u8 = 2;
pub(crate) const ENC_LZF: u8 = 3;

/// A load failure, always with a sentence saying what and where.
#[derive(Debug)]
pub struct RdbError {
    msg: String,
    io: Option<std::io::Error>,
}

impl RdbError {
    pub fn new(msg: impl Into<String>) -> Self {
        RdbError {
            msg: msg.into(),
            io: None,
        }
    }

    /// The message (same as Display).
    pub fn message(&self) -> &str {
        &self.msg
    }

    /// The underlying I/O error, when the failure came from the reader.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.io.as_ref()
    }
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for RdbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|e| e as _)
    }
}

impl From<std::io::Error> for RdbError {
    fn from(e: std::io::Error) -> Self {
        RdbError {
            msg: format!("I/O error while reading the RDB: {e}"),
            io: Some(e),
        }
    }
}

/// A readable rendering of a key for error messages.
pub(crate) fn show_key(k: &[u8]) -> String {
    let mut s = String::new();
    for &c in k.iter().take(64) {
        if c.is_ascii_graphic() || c == b' ' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    if k.len() > 64 {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests;
