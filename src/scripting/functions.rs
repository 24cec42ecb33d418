//! Functions (Redis 7.0): libraries loaded with FUNCTION LOAD, their
//! registered functions run by FCALL/FCALL_RO.
//!
//! The dataset keeps only each library's code (`store::FunctionCode`: the
//! RDB, full sync and FUNCTION DUMP carry it). This registry is its compiled
//! form: one Lua VM of its own (as Redis: functions never share the EVAL
//! VM, and SCRIPT FLUSH leaves them alone), the libraries, and the functions
//! by name. It rebuilds itself from the code when the dataset's generation
//! changed (an RDB load, a full sync), so every path that replaces the
//! dataset stays oblivious of Lua.

use super::{Busy, Engine, ScriptFlags};
use crate::error::Error;
use crate::store::FunctionCode;
use bytes::Bytes;
use mlua::{Function, Table, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How long a library's code may run at FUNCTION LOAD (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

pub const NAME_ERR: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// One registered function, as FUNCTION LIST shows it.
#[derive(Clone, Debug)]
pub struct FnMeta {
    pub name: String,
    pub desc: Option<Bytes>,
    pub flags: ScriptFlags,
}

impl FnMeta {
    /// The flag names in Redis's order (scripts_flags_def).
    pub fn flag_names(&self) -> Vec<&'static str> {
        let f = &self.flags;
        [
            (f.no_writes, "no-writes"),
            (f.allow_oom, "allow-oom"),
            (f.allow_stale, "allow-stale"),
            (f.no_cluster, "no-cluster"),
            (f.allow_cross_slot_keys, "allow-cross-slot-keys"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect()
    }
}

/// One loaded library.
#[derive(Clone)]
pub struct Library {
    pub name: String,
    pub code: Bytes,
    pub funcs: Vec<FnMeta>,
    callbacks: Vec<Function>,
}

/// The compiled libraries and their VM.
pub struct Functions {
    busy: Arc<Busy>,
    eng: Option<Engine>,
    /// The dataset generation this registry was built from.
    gen: u64,
    pub libs: BTreeMap<String, Library>,
    /// Lowercase function name -> library (function names are
    /// case-insensitive in Redis, library names are not).
    by_name: HashMap<String, String>,
}

/// What a library's `#!` line says.
struct Meta {
    name: String,
    /// Where the code after the `#!` line starts (its newline kept, so line
    /// numbers in errors match Redis's).
    body: usize,
}

/// Redis's functionExtractLibMetaData.
fn parse_meta(code: &[u8]) -> Result<Meta, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = match crate::resp::parse::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = String::from_utf8_lossy(&parts[0][2.min(parts[0].len())..]).into_owned();
    let mut name: Option<String> = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&p[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(p)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(NAME_ERR.into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{}' not found", engine));
    }
    Ok(Meta { name, body: end })
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The library name a code declares, if its `#!` line is valid.
pub fn library_name(code: &[u8]) -> Option<String> {
    parse_meta(code).ok().map(|m| m.name)
}

impl Functions {
    pub fn new(busy: Arc<Busy>) -> Functions {
        Functions {
            busy,
            eng: None,
            gen: 0,
            libs: BTreeMap::new(),
            by_name: HashMap::new(),
        }
    }

    fn engine(&mut self) -> Result<&mut Engine, Error> {
        if self.eng.is_none() {
            self.eng = Some(
                Engine::new(self.busy.clone())
                    .map_err(|e| Error::err(format!("Lua initialization failed: {}", e)))?,
            );
        }
        Ok(self.eng.as_mut().expect("engine"))
    }

    /// Rebuild from the dataset's code when it changed behind our back (an
    /// RDB load or full sync). A library that no longer compiles is skipped
    /// (and logged): Redis would have refused the whole load.
    pub fn sync(&mut self, code: &FunctionCode) {
        if self.gen == code.gen {
            return;
        }
        self.clear();
        for c in &code.codes {
            match self.compile(c, false) {
                Ok(lib) => {
                    if let Err(e) = self.link(lib, false) {
                        tracing::warn!("function library not loaded: {}", e);
                    }
                }
                Err(e) => tracing::warn!("function library not loaded: {}", e),
            }
        }
        self.gen = code.gen;
    }

    /// Drop every library and the VM (FUNCTION FLUSH).
    pub fn clear(&mut self) {
        self.by_name.clear();
        self.libs.clear();
        self.eng = None;
    }

    /// The code to keep in the dataset after a change; marks us in sync with it.
    pub fn publish(&mut self) -> FunctionCode {
        let fc = FunctionCode::new(self.libs.values().map(|l| l.code.clone()).collect());
        self.gen = fc.gen;
        fc
    }

    /// Number of functions (FUNCTION STATS, INFO).
    pub fn function_count(&self) -> usize {
        self.by_name.len()
    }

    /// A function's library, metadata and callback (case-insensitive name).
    pub fn find(&self, name: &[u8]) -> Option<(FnMeta, Function)> {
        let key = String::from_utf8_lossy(name).to_ascii_lowercase();
        let lib = self.libs.get(self.by_name.get(&key)?)?;
        let i = lib
            .funcs
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(&key))?;
        Some((lib.funcs[i].clone(), lib.callbacks[i].clone()))
    }

    /// The flags of a function, for the admission check.
    pub fn flags_of(&self, name: &[u8]) -> Option<ScriptFlags> {
        self.find(name).map(|(m, _)| m.flags)
    }

    /// Compile a library's code and run it to collect its functions, as
    /// functionsCreateWithLibraryCtx up to (not including) linking it.
    /// `timeout`: FUNCTION LOAD's 500 ms bound (not for our master's).
    pub fn compile(&mut self, code: &Bytes, timeout: bool) -> Result<Library, String> {
        let meta = parse_meta(code)?;
        let busy = self.busy.clone();
        let eng = self.engine().map_err(|e| e.to_string())?;
        let env: Table = eng.h.raw_get("fenv").map_err(|e| e.to_string())?;
        let chunk = eng
            .lua
            .load(&code[meta.body..])
            .set_name("@user_function")
            .set_environment(env)
            .into_function()
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                format!("Error compiling function: {}", msg)
            })?;
        let loader: Function = eng.h.raw_get("fload").map_err(|e| e.to_string())?;
        if timeout {
            busy.set_load_deadline(crate::util::mono_ms() + LOAD_TIMEOUT_MS);
        }
        let r = loader.call::<(bool, Value)>(chunk);
        busy.set_load_deadline(0);
        let (ok, v) = r.map_err(|e| format!("Error registering functions: ERR {}", e))?;
        if !ok {
            let msg = match v {
                Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                _ => "ERR unknown error".into(),
            };
            return Err(format!("Error registering functions: {}", msg));
        }
        let Value::Table(list) = v else {
            return Err("Error registering functions: ERR unknown error".into());
        };
        let mut lib = Library {
            name: meta.name,
            code: code.clone(),
            funcs: Vec::new(),
            callbacks: Vec::new(),
        };
        for item in list.sequence_values::<Table>() {
            let t = item.map_err(|e| e.to_string())?;
            let name: String = t.raw_get("name").map_err(|e| e.to_string())?;
            let cb: Function = t.raw_get("callback").map_err(|e| e.to_string())?;
            let desc: Option<mlua::String> = t.raw_get("description").map_err(|e| e.to_string())?;
            let fl: Table = t.raw_get("flags").map_err(|e| e.to_string())?;
            let mut flags = ScriptFlags {
                shebang: true,
                ..Default::default()
            };
            for f in fl.sequence_values::<String>().flatten() {
                match f.as_str() {
                    "no-writes" => flags.no_writes = true,
                    "allow-oom" => flags.allow_oom = true,
                    "allow-stale" => flags.allow_stale = true,
                    "no-cluster" => flags.no_cluster = true,
                    _ => flags.allow_cross_slot_keys = true,
                }
            }
            lib.funcs.push(FnMeta {
                name,
                desc: desc.map(|d| Bytes::copy_from_slice(&d.as_bytes())),
                flags,
            });
            lib.callbacks.push(cb);
        }
        if lib.funcs.is_empty() {
            return Err("No functions registered".into());
        }
        Ok(lib)
    }

    /// Add a compiled library; with `replace`, one of the same name goes.
    /// Refused (nothing changes) on a name clash.
    pub fn link(&mut self, lib: Library, replace: bool) -> Result<(), String> {
        if self.libs.contains_key(&lib.name) && !replace {
            return Err(format!("Library '{}' already exists", lib.name));
        }
        for f in &lib.funcs {
            if let Some(owner) = self.by_name.get(&f.name.to_ascii_lowercase()) {
                if *owner != lib.name {
                    return Err(format!("Function {} already exists", f.name));
                }
            }
        }
        self.unlink(&lib.name.clone());
        for f in &lib.funcs {
            self.by_name
                .insert(f.name.to_ascii_lowercase(), lib.name.clone());
        }
        self.libs.insert(lib.name.clone(), lib);
        Ok(())
    }

    /// Remove a library; false when there is none of that name.
    pub fn unlink(&mut self, name: &str) -> bool {
        match self.libs.remove(name) {
            Some(lib) => {
                for f in &lib.funcs {
                    self.by_name.remove(&f.name.to_ascii_lowercase());
                }
                true
            }
            None => false,
        }
    }

    /// FUNCTION LOAD: compile and link; returns the library's name.
    pub fn load(&mut self, code: &Bytes, replace: bool, timeout: bool) -> Result<String, Error> {
        let meta = parse_meta(code).map_err(Error::err)?;
        if self.libs.contains_key(&meta.name) && !replace {
            return Err(Error::err(format!(
                "Library '{}' already exists",
                meta.name
            )));
        }
        let lib = self.compile(code, timeout).map_err(Error::err)?;
        let name = lib.name.clone();
        self.link(lib, replace).map_err(Error::err)?;
        Ok(name)
    }

    /// FUNCTION RESTORE: add the libraries of a payload (already parsed
    /// into codes) with Redis's policies. All or nothing.
    pub fn restore(&mut self, codes: Vec<Bytes>, policy: Restore) -> Result<(), Error> {
        // Compile them all first, as Redis loads into a new context.
        let mut fresh: BTreeMap<String, Library> = BTreeMap::new();
        let mut names: HashMap<String, ()> = HashMap::new();
        for c in &codes {
            let meta = parse_meta(c).map_err(Error::err)?;
            if fresh.contains_key(&meta.name) {
                return Err(Error::err(format!(
                    "Library '{}' already exists",
                    meta.name
                )));
            }
            let lib = self.compile(c, false).map_err(Error::err)?;
            for f in &lib.funcs {
                if names.insert(f.name.to_ascii_lowercase(), ()).is_some() {
                    return Err(Error::err(format!("Function {} already exists", f.name)));
                }
            }
            fresh.insert(lib.name.clone(), lib);
        }
        if policy == Restore::Flush {
            self.by_name.clear();
            self.libs.clear();
        } else {
            for name in fresh.keys() {
                if self.libs.contains_key(name) && policy == Restore::Append {
                    return Err(Error::err(format!("Library {} already exists", name)));
                }
            }
            for lib in fresh.values() {
                for f in &lib.funcs {
                    if let Some(owner) = self.by_name.get(&f.name.to_ascii_lowercase()) {
                        if !fresh.contains_key(owner) {
                            return Err(Error::err(format!("Function {} already exists", f.name)));
                        }
                    }
                }
            }
        }
        for (_, lib) in fresh {
            self.link(lib, true).map_err(Error::err)?;
        }
        Ok(())
    }

    /// Run a registered function (FCALL) in the caller's critical section.
    pub fn call(
        &mut self,
        ctx: &mut crate::cmd::Ctx,
        meta: &FnMeta,
        f: Function,
        keys: &[Bytes],
        args: &[Bytes],
        readonly: bool,
    ) -> Result<(), Error> {
        let readonly = readonly || meta.flags.no_writes;
        let eng = self.engine()?;
        eng.invoke(ctx, f, keys, args, readonly, Some(&meta.name), &meta.name)
    }

    /// Bytes the functions' VM has allocated (INFO used_memory_vm_functions).
    pub fn vm_memory(&self) -> usize {
        self.eng.as_ref().map_or(0, |e| e.vm_memory())
    }
}

/// FUNCTION RESTORE's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    Flush,
    Append,
    Replace,
}

/// FUNCTION DUMP's payload: each library as RDB_OPCODE_FUNCTION2 + its code,
/// then the RDB version (2 bytes LE) and the CRC64 of all that (8 bytes LE).
pub fn dump_payload(codes: &[Bytes]) -> Vec<u8> {
    let mut v = Vec::new();
    for c in codes {
        v.push(crate::persist::rdb::OP_FUNCTION2);
        crate::persist::rdb::put_string(&mut v, c, true);
    }
    v.extend_from_slice(&(crate::persist::rdb::RDB_VERSION as u16).to_le_bytes());
    let crc = crate::persist::rdb::crc64::crc64(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

/// Read FUNCTION RESTORE's payload back into library codes, with Redis's errors.
pub fn parse_payload(p: &[u8]) -> Result<Vec<Bytes>, Error> {
    let bad = || Error::err("DUMP payload version or checksum are wrong");
    if p.len() < 10 {
        return Err(bad());
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]) as u32;
    let crc = u64::from_le_bytes(footer[2..10].try_into().expect("8 bytes"));
    if ver > crate::persist::rdb::RDB_VERSION
        || crate::persist::rdb::crc64::crc64(&p[..p.len() - 8]) != crc
    {
        return Err(bad());
    }
    let mut out = Vec::new();
    let mut r = body;
    while !r.is_empty() {
        let t = r[0];
        r = &r[1..];
        if t == crate::persist::rdb::OP_FUNCTION {
            return Err(Error::err("Pre-GA function format not supported"));
        }
        if t != crate::persist::rdb::OP_FUNCTION2 {
            return Err(Error::err("given type is not a function"));
        }
        let (s, used) = crate::persist::rdb::read_string(r)
            .ok_or_else(|| Error::err("failed loading the given functions payload"))?;
        r = &r[used..];
        out.push(Bytes::from(s));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_errors() {
        let e = |c: &str| parse_meta(c.as_bytes()).err().unwrap_or_default();
        assert_eq!(e("return 1"), "Missing library metadata");
        assert_eq!(e("#!lua"), "Invalid library metadata");
        assert_eq!(e("#!lua\nx"), "Library name was not given");
        assert_eq!(e("#!foo name=x\n"), "Engine 'foo' not found");
        assert_eq!(
            e("#!lua name=x foo=bar\n"),
            "Invalid metadata value given: foo=bar"
        );
        assert_eq!(e("#!lua name=x-y\n"), NAME_ERR);
        assert_eq!(
            e("#!lua name=x name=y\n"),
            "Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(parse_meta(b"#!LUA NAME=\"ab\"\n").unwrap().name, "ab");
    }

    #[test]
    fn payload_round_trip() {
        let codes = vec![
            Bytes::from_static(b"#!lua name=a\nx"),
            Bytes::from(vec![b'y'; 300]),
        ];
        let p = dump_payload(&codes);
        assert_eq!(parse_payload(&p).unwrap(), codes);
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(parse_payload(&bad).is_err());
    }
}
