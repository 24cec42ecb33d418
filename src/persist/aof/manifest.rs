//! The manifest of Redis 7.0's multi-part AOF: `<appendfilename>.manifest`
//! in `appenddirname`, one line per file, in load order:
//!
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.3.incr.aof seq 3 type i
//! ```
//!
//! `b` is the BASE (an RDB when `aof-use-rdb-preamble yes`, else commands),
//! `i` the INCR files appended since, in order, `h` history files a rewrite
//! made obsolete (deleted, then dropped from the manifest). Written byte for
//! byte as Redis 7.0 writes it (hand-written: its format is Redis's, not a
//! general one), and replaced atomically (`crate::fs::write_atomic`).

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Base,
    Incr,
    History,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::Incr => 'i',
            Kind::History => 'h',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub seq: u64,
    pub kind: Kind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<Entry>,
    pub incrs: Vec<Entry>,
    pub history: Vec<Entry>,
}

impl Manifest {
    /// Parse a manifest as Redis 7.0 writes it (keys may come in any order;
    /// `#` lines are comments; unknown keys are ignored, as Redis does).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() % 2 != 0 {
                return Err(format!("Invalid AOF manifest file format (line {})", i + 1));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for kv in words.chunks(2) {
                match kv[0] {
                    "file" => name = Some(kv[1].to_string()),
                    "seq" => seq = kv[1].parse::<u64>().ok(),
                    "type" => {
                        kind = match kv[1] {
                            "b" => Some(Kind::Base),
                            "i" => Some(Kind::Incr),
                            "h" => Some(Kind::History),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!("Invalid AOF manifest file format (line {})", i + 1));
            };
            if name.contains('/') {
                return Err(format!("File can't be a path: {name}"));
            }
            let e = Entry { name, seq, kind };
            match kind {
                Kind::Base => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(e)
                }
                Kind::Incr => {
                    if m.incrs.last().is_some_and(|l| l.seq >= e.seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(e)
                }
                Kind::History => m.history.push(e),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    /// The manifest's text: base, history, then INCR files (Redis's order).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let line = |s: &mut String, e: &Entry| {
            s.push_str(&format!(
                "file {} seq {} type {}\n",
                e.name,
                e.seq,
                e.kind.letter()
            ))
        };
        if let Some(b) = &self.base {
            line(&mut s, b);
        }
        for e in &self.history {
            line(&mut s, e);
        }
        for e in &self.incrs {
            line(&mut s, e);
        }
        s
    }

    /// The files to load, in order: the BASE, then every INCR.
    pub fn load_order(&self) -> impl Iterator<Item = &Entry> {
        self.base.iter().chain(self.incrs.iter())
    }

    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq) + 1
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |e| e.seq) + 1
    }

    /// Add a new INCR file (a rewrite starts, or the AOF is created).
    pub fn add_incr(&mut self, file_prefix: &str) -> Entry {
        let seq = self.next_incr_seq();
        let e = Entry {
            name: format!("{file_prefix}.{seq}.incr.aof"),
            seq,
            kind: Kind::Incr,
        };
        self.incrs.push(e.clone());
        e
    }

    /// A rewrite finished: `base` replaces the old BASE and every INCR but
    /// the last (the one writes went to since the rewrite began), which
    /// become history.
    pub fn install_base(&mut self, base: Entry, keep_incr: &str) {
        if let Some(old) = self.base.take() {
            self.history.push(Entry {
                kind: Kind::History,
                ..old
            });
        }
        let (keep, old): (Vec<Entry>, Vec<Entry>) =
            self.incrs.drain(..).partition(|e| e.name == keep_incr);
        self.history.extend(old.into_iter().map(|e| Entry {
            kind: Kind::History,
            ..e
        }));
        self.incrs = keep;
        self.base = Some(base);
    }

    /// Write the manifest atomically (temp file, fsync, rename, dir fsync).
    pub fn persist(&self, path: &Path) -> std::io::Result<()> {
        crate::fs::write_atomic(path, self.render().as_bytes())
    }
}

/// `<prefix>.<seq>.base.rdb` or `.base.aof`.
pub fn base_name(file_prefix: &str, seq: u64, rdb: bool) -> String {
    format!(
        "{file_prefix}.{seq}.base.{}",
        if rdb { "rdb" } else { "aof" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rewrite_bookkeeping() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let mut m = Manifest::parse(text).unwrap();
        assert_eq!(m.render(), text);
        let incr = m.add_incr("appendonly.aof");
        assert_eq!(incr.name, "appendonly.aof.2.incr.aof");
        let base = Entry {
            name: base_name("appendonly.aof", m.next_base_seq(), true),
            seq: 2,
            kind: Kind::Base,
        };
        m.install_base(base, &incr.name);
        assert_eq!(
            m.render(),
            "file appendonly.aof.2.base.rdb seq 2 type b\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        m.history.clear();
        assert_eq!(
            Manifest::parse(&m.render()).unwrap().load_order().count(),
            2
        );
    }

    #[test]
    fn refuses_bad_manifests() {
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file a seq 1").is_err());
        assert!(Manifest::parse("file a/b seq 1 type b\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        // Key order does not matter; comments are skipped.
        let m = Manifest::parse("# c\ntype i seq 5 file x.aof\n").unwrap();
        assert_eq!(m.incrs[0].seq, 5);
    }
}
