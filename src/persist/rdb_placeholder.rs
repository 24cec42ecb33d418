//! Placeholder for the RDB codec (branch wip-rdb), only so that the snapshot
//! machinery compiles before the merge. Replaced by the real `rdb` module.
#![allow(dead_code)]

use crate::store::{Db, EncodingLimits, Value};
use std::io::{self, Read, Write};

pub fn encode_entry(buf: &mut Vec<u8>, key: &[u8], _value: &Value, expire_ms: u64) {
    buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
    buf.extend_from_slice(key);
    buf.extend_from_slice(&expire_ms.to_le_bytes());
}

pub struct RdbWriter<W: Write> {
    w: W,
}

impl<W: Write> RdbWriter<W> {
    pub fn new(w: W, _extra_aux: &[(&str, String)]) -> io::Result<Self> {
        Ok(RdbWriter { w })
    }
    pub fn select_db(&mut self, _db: usize, _keys: u64, _expires: u64) -> io::Result<()> {
        Ok(())
    }
    pub fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)
    }
    pub fn finish(self) -> io::Result<W> {
        Ok(self.w)
    }
}

pub struct LoadOpts {
    pub databases: usize,
    pub now_ms: u64,
    pub drop_expired: bool,
    pub limits: EncodingLimits,
}

pub struct Loaded {
    pub dbs: Vec<Db>,
    pub keys: u64,
    pub expired_skipped: u64,
    pub aux: Vec<(String, Vec<u8>)>,
}

#[derive(Debug)]
pub struct RdbError(pub String);

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<io::Error> for RdbError {
    fn from(e: io::Error) -> Self {
        RdbError(e.to_string())
    }
}

pub fn load(_r: impl Read, _opts: &LoadOpts) -> Result<Loaded, RdbError> {
    Err(RdbError("RDB codec not merged yet".into()))
}
