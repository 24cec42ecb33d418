//! Lua scripting (EVAL and friends): one Lua 5.1 VM per server, used only
//! inside the keyspace critical section. Scripts run sandboxed (read-only
//! globals and libraries, as Redis 7.0), call commands through the one
//! executor, and see replies converted from the RESP bytes the commands wrote.
//!
//! `Busy` is the lock-free side: the connection layer reads it to answer
//! BUSY and to serve SCRIPT KILL while a script holds the lock.

pub mod functions;
pub mod libs;

use crate::cmd::admit::{self, Caller, Verdict};
use crate::cmd::{exec, flags, Ctx};
use crate::error::Error;
use crate::resp::reply::{parse_frame, Frame};
use crate::resp::{Out, Proto};
use bytes::Bytes;
use mlua::{
    Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, Variadic, VmState,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::util::mono_ms;

/// The running script, as seen without the keyspace lock.
#[derive(Default)]
pub struct Busy {
    /// Start time (mono_ms) of the running script, 0 when none runs.
    started: AtomicU64,
    kill: AtomicBool,
    wrote: AtomicBool,
    /// The running script is a function (FCALL), not EVAL.
    function: AtomicBool,
    /// The running script was sent by our master (it cannot be killed).
    from_master: AtomicBool,
    /// While a library loads (FUNCTION LOAD): its deadline (mono_ms), else 0.
    load_deadline: AtomicU64,
    /// The running function's name and command, and the number of
    /// libraries and functions, for FUNCTION STATS during a function.
    call: parking_lot::Mutex<(String, Vec<Bytes>, usize, usize)>,
    /// busy-reply-threshold in ms.
    pub threshold_ms: AtomicU64,
}

pub const BUSY_ERR: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// BUSY while a function runs.
pub const BUSY_FUNCTION_ERR: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
pub const UNKILLABLE_MASTER_ERR: &str = "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.";
pub const UNKILLABLE_ERR: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
pub const NOTBUSY_ERR: &str = "NOTBUSY No scripts in execution right now.";
const KILLED_MSG: &str = "Script killed by user with SCRIPT KILL...";

impl Busy {
    /// Is a script running?
    #[inline]
    pub fn running(&self) -> bool {
        self.started.load(Ordering::Relaxed) != 0
    }

    /// Is a script running past busy-reply-threshold (other clients get BUSY)?
    pub fn is_busy(&self) -> bool {
        let s = self.started.load(Ordering::Acquire);
        s != 0 && mono_ms().saturating_sub(s) >= self.threshold_ms.load(Ordering::Relaxed)
    }

    /// The BUSY error for the running script (it names the kill command).
    pub fn busy_err(&self) -> &'static str {
        if self.function.load(Ordering::Relaxed) {
            BUSY_FUNCTION_ERR
        } else {
            BUSY_ERR
        }
    }

    /// Is the running script a function (FCALL)?
    pub fn is_function(&self) -> bool {
        self.function.load(Ordering::Relaxed)
    }

    /// How long the running script has run (ms), 0 when none runs.
    pub fn running_ms(&self) -> u64 {
        let s = self.started.load(Ordering::Acquire);
        if s == 0 {
            0
        } else {
            mono_ms().saturating_sub(s)
        }
    }

    fn begin(&self, function: bool, from_master: bool) {
        self.kill.store(false, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.function.store(function, Ordering::Relaxed);
        self.from_master.store(from_master, Ordering::Relaxed);
        self.started.store(mono_ms(), Ordering::Release);
    }

    /// Before a function runs: what FUNCTION STATS shows meanwhile.
    pub fn set_call(&self, name: &str, cmd: &[Bytes], libs: usize, funcs: usize) {
        *self.call.lock() = (name.to_string(), cmd.to_vec(), libs, funcs);
    }

    /// The running function's name and command.
    pub fn running_call(&self) -> (String, Vec<Bytes>) {
        let c = self.call.lock();
        (c.0.clone(), c.1.clone())
    }

    /// Libraries and functions when the running function started.
    pub fn function_counts(&self) -> (usize, usize) {
        let c = self.call.lock();
        (c.2, c.3)
    }

    /// FUNCTION LOAD runs a library's code with a deadline (0: none).
    pub(crate) fn set_load_deadline(&self, ms: u64) {
        self.load_deadline.store(ms, Ordering::Relaxed);
    }

    fn end(&self) {
        self.started.store(0, Ordering::Release);
        self.kill.store(false, Ordering::Relaxed);
    }

    /// SCRIPT KILL (`function` false) or FUNCTION KILL from another client
    /// (without the keyspace lock), as Redis's scriptKill: each kills only
    /// its own kind.
    pub fn request_kill(&self, function: bool) -> Result<(), &'static str> {
        if !self.running() {
            return Err(NOTBUSY_ERR);
        }
        if self.from_master.load(Ordering::Relaxed) {
            return Err(UNKILLABLE_MASTER_ERR);
        }
        if self.wrote.load(Ordering::Acquire) {
            return Err(UNKILLABLE_ERR);
        }
        match (function, self.is_function()) {
            (false, true) => return Err(BUSY_FUNCTION_ERR),
            (true, false) => return Err(BUSY_ERR),
            _ => {}
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }
}

/// The script VM and its cache.
pub struct Engine {
    lua: Lua,
    /// Hidden helper table shared with the Lua glue (call slot, handler, resp).
    h: Table,
    globals: Table,
    env: Table,
    /// SHA1 -> (compiled body, shebang flags).
    scripts: HashMap<String, (Function, ScriptFlags)>,
    /// Bytes of the cached script bodies and their SHA1 keys (INFO used_memory_scripts).
    scripts_bytes: usize,
}

/// What a 7.0 shebang line (`#!lua flags=no-writes,...`) declares. A
/// script without one runs in compatibility mode (`shebang` false).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

impl ScriptFlags {
    /// The flags of a script body: compatibility mode without a shebang.
    pub fn of_body(body: &[u8]) -> Result<ScriptFlags, Error> {
        if !body.starts_with(b"#!") {
            return Ok(ScriptFlags::default());
        }
        let end = body.iter().position(|&c| c == b'\n').unwrap_or(body.len());
        parse_shebang(&body[..end])
    }

    /// Redis's scriptFlagsToCmdFlags: a script that declares flags is
    /// admitted by them instead of by its command's write/stale/oom flags.
    pub fn command_flags(&self, cmd_flags: u32) -> u32 {
        use crate::cmd::flags::*;
        if !self.shebang {
            // Compatibility mode: the command's own flags (EVAL's handler
            // refuses a stale replica itself, as scriptPrepareForRun).
            return cmd_flags;
        }
        let mut f = cmd_flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
        if !self.allow_oom && !self.no_writes {
            f |= DENYOOM;
        }
        if !self.no_writes {
            f |= WRITE;
        }
        if self.allow_stale {
            f |= STALE;
        }
        f
    }
}

fn parse_shebang(line: &[u8]) -> Result<ScriptFlags, Error> {
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(Error::err(format!(
            "Unexpected engine in script shebang: {}",
            engine
        )));
    }
    let mut sf = ScriptFlags {
        shebang: true,
        ..Default::default()
    };
    for opt in parts {
        let Some(flags) = opt.strip_prefix("flags=") else {
            return Err(Error::err(format!("Unknown lua shebang option: {}", opt)));
        };
        for f in flags.split(',').filter(|f| !f.is_empty()) {
            match f {
                "no-writes" => sf.no_writes = true,
                "allow-oom" => sf.allow_oom = true,
                "allow-stale" => sf.allow_stale = true,
                "no-cluster" => sf.no_cluster = true,
                "allow-cross-slot-keys" => sf.allow_cross_slot_keys = true,
                other => {
                    return Err(Error::err(format!(
                        "Unexpected flag in script shebang: {}",
                        other
                    )))
                }
            }
        }
    }
    Ok(sf)
}

pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

const GLUE: &str = include_str!("glue.lua");

impl Engine {
    pub fn new(busy: Arc<Busy>) -> mlua::Result<Engine> {
        // SAFETY: the debug library is loaded for the error handler only; the
        // glue removes it from the scripts' globals.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let sentinel = lua.create_table()?;
        lua.set_named_registry_value("rsredis_sentinel", sentinel.clone())?;
        let h = lua.create_table()?;
        h.set("SENT", sentinel)?;
        h.set(
            "sha1hex",
            lua.create_function(|lua, v: Value| match v {
                Value::String(s) => libs_one(lua, sha1_hex(&s.as_bytes())),
                Value::Integer(i) => libs_one(lua, sha1_hex(i.to_string().as_bytes())),
                Value::Number(n) => libs_one(lua, sha1_hex(libs::lua_num(n).as_bytes())),
                _ => libs::fail(lua, "wrong number of arguments"),
            })?,
        )?;
        h.set(
            "log",
            lua.create_function(|lua, args: Variadic<Value>| {
                if args.len() < 2 {
                    return libs::fail(lua, "redis.log() requires two arguments or more.");
                }
                let level = match &args[0] {
                    Value::Integer(i) => *i,
                    Value::Number(n) => *n as i64,
                    _ => return libs::fail(lua, "First argument must be a number (log level)."),
                };
                let mut msg = String::new();
                for (i, a) in args.iter().skip(1).enumerate() {
                    if i > 0 {
                        msg.push(' ');
                    }
                    match a {
                        Value::String(s) => msg.push_str(&String::from_utf8_lossy(&s.as_bytes())),
                        Value::Integer(n) => msg.push_str(&n.to_string()),
                        Value::Number(n) => msg.push_str(&libs::lua_num(*n)),
                        _ => {}
                    }
                }
                match level {
                    0 => tracing::debug!("{}", msg),
                    1 => tracing::debug!("{}", msg),
                    2 => tracing::info!("{}", msg),
                    3 => tracing::warn!("{}", msg),
                    _ => return libs::fail(lua, "Invalid debug level."),
                }
                Ok(MultiValue::new())
            })?,
        )?;
        h.set(
            "acl_check",
            lua.create_function(|lua, args: Variadic<Value>| {
                let name = match args.first() {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    _ => {
                        return libs::fail(
                            lua,
                            "Please specify at least one argument for this redis lib call",
                        )
                    }
                };
                if crate::cmd::table().get(&name).is_none() {
                    return libs::fail(lua, "Invalid command passed to redis.acl_check_cmd()");
                }
                Ok(MultiValue::from_iter([Value::Boolean(true)]))
            })?,
        )?;
        let sent2: Table = lua.named_registry_value("rsredis_sentinel")?;
        h.set(
            "cwrap",
            lua.create_function(move |lua, (f, mode): (Function, i64)| {
                // SAFETY: pushes a C closure over the three pushed values.
                unsafe {
                    lua.exec_raw::<Function>((f, sent2.clone(), mode), |l| {
                        mlua::ffi::lua_pushcclosure(l, trampoline, 3)
                    })
                }
            })?,
        )?;
        h.set("cjson", libs::cjson(&lua)?)?;
        h.set("cmsgpack", libs::cmsgpack(&lua)?)?;
        h.set("struct", libs::structlib(&lua)?)?;
        h.set("bit", libs::bit(&lua)?)?;
        h.set("REDIS_VERSION", crate::REDIS_VERSION)?;
        let num = crate::REDIS_VERSION
            .split('.')
            .fold(0i64, |acc, p| acc * 256 + p.parse::<i64>().unwrap_or(0));
        h.set("REDIS_VERSION_NUM", num)?;
        let globals = lua.globals();
        let env: Table = lua
            .load(GLUE)
            .set_name("=rsredis_glue")
            .call((h.clone(), globals.clone()))?;
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(10_000),
            move |_, _| {
                if busy.kill.load(Ordering::Relaxed) {
                    return Err(mlua::Error::runtime(KILLED_MSG));
                }
                let d = busy.load_deadline.load(Ordering::Relaxed);
                if d != 0 && mono_ms() > d {
                    return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
                }
                Ok(VmState::Continue)
            },
        );
        Ok(Engine {
            lua,
            h,
            globals,
            env,
            scripts: HashMap::new(),
            scripts_bytes: 0,
        })
    }

    /// Bytes the Lua VM has allocated (INFO used_memory_lua).
    pub fn vm_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// (number of cached scripts, bytes of their bodies) for INFO.
    pub fn cache_stats(&self) -> (usize, usize) {
        (self.scripts.len(), self.scripts_bytes)
    }

    /// Compile and cache a script body; returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Error> {
        let sha = sha1_hex(body);
        if !self.scripts.contains_key(&sha) {
            // A shebang line is parsed, then compiled as a comment (line numbers stay).
            let sf = ScriptFlags::of_body(body)?;
            let src = if sf.shebang {
                let mut src = b"--".to_vec();
                src.extend_from_slice(body);
                src
            } else {
                body.to_vec()
            };
            let f = self
                .lua
                .load(src)
                .set_name("@user_script")
                .set_environment(self.env.clone())
                .into_function()
                .map_err(|e| {
                    let msg = match &e {
                        mlua::Error::SyntaxError { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    Error::err(format!("Error compiling script (new function): {}", msg))
                })?;
            self.scripts_bytes += body.len() + sha.len();
            self.scripts.insert(sha.clone(), (f, sf));
        }
        Ok(sha)
    }

    pub fn exists(&self, sha: &str) -> bool {
        self.scripts.contains_key(sha)
    }

    /// The shebang flags of a cached script.
    pub fn flags(&self, sha: &str) -> Option<ScriptFlags> {
        self.scripts.get(sha).map(|s| s.1)
    }

    /// How many scripts are cached (INFO number_of_cached_scripts).
    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// Run a cached script inside the caller's critical section.
    pub fn run(
        &mut self,
        ctx: &mut Ctx,
        sha: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        readonly: bool,
    ) -> Result<(), Error> {
        let (f, sf) = self.scripts.get(sha).cloned().ok_or_else(noscript)?;
        let readonly = readonly || sf.no_writes;
        self.invoke(ctx, f, keys, argv, readonly, None, sha)
    }

    /// Run a Lua function inside the caller's critical section: a script
    /// body (KEYS/ARGV globals) or, with `function` = its source name, a
    /// registered function (keys and args as parameters). `label` names it
    /// in error texts (the SHA1, or the function's name).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn invoke(
        &mut self,
        ctx: &mut Ctx,
        f: Function,
        keys: &[Bytes],
        argv: &[Bytes],
        readonly: bool,
        function: Option<&str>,
        sha: &str,
    ) -> Result<(), Error> {
        let lua = &self.lua;
        let strings = |v: &[Bytes]| -> mlua::Result<Table> {
            let t = lua.create_table_with_capacity(v.len(), 0)?;
            for (i, a) in v.iter().enumerate() {
                t.raw_set(i + 1, lua.create_string(a)?)?;
            }
            Ok(t)
        };
        let lua_err = |e: mlua::Error| Error::err(e.to_string());
        let (keys_t, argv_t) = (
            strings(keys).map_err(lua_err)?,
            strings(argv).map_err(lua_err)?,
        );
        if function.is_none() {
            self.globals
                .raw_set("KEYS", keys_t.clone())
                .map_err(lua_err)?;
            self.globals
                .raw_set("ARGV", argv_t.clone())
                .map_err(lua_err)?;
        }
        self.h.raw_set("resp", 2).map_err(lua_err)?;
        let runner: Function = self
            .h
            .raw_get(if function.is_some() { "run_fn" } else { "run" })
            .map_err(lua_err)?;
        let busy = ctx.srv.scripts.clone();
        let saved_db = ctx.client.db;
        busy.begin(function.is_some(), ctx.client.master_link);
        // Time stands still for the script (key expiry), as in Redis 7.0.
        let saved_frozen = ctx.store.frozen_now.replace(ctx.now);
        let h = self.h.clone();
        let result: mlua::Result<(bool, Value)> = {
            let srv = ctx.srv;
            let store = &mut *ctx.store;
            let client = &mut *ctx.client;
            let post = &mut *ctx.post;
            let busy2 = busy.clone();
            lua.scope(|scope| {
                let call = scope.create_function_mut(
                    |lua, (is_pcall, args): (bool, Variadic<Value>)| -> mlua::Result<MultiValue> {
                        let r = call_command(
                            lua, &h, srv, store, client, post, &busy2, readonly, &args,
                        )?;
                        match r {
                            Ok(v) => Ok(MultiValue::from_iter([v])),
                            Err(errt) if is_pcall => Ok(MultiValue::from_iter([errt])),
                            Err(errt) => {
                                let sent: Table = h.raw_get("SENT")?;
                                Ok(MultiValue::from_iter([Value::Table(sent), errt]))
                            }
                        }
                    },
                )?;
                h.raw_set("call", call)?;
                let r = if function.is_some() {
                    runner.call::<(bool, Value)>((f, keys_t, argv_t))
                } else {
                    runner.call::<(bool, Value)>(f)
                };
                h.raw_set("call", Value::Nil)?;
                r
            })
        };
        busy.end();
        ctx.store.frozen_now = saved_frozen;
        ctx.client.db = saved_db;
        let default_src = match function {
            Some(_) => "@user_function",
            None => "@user_script",
        };
        let _ = self.globals.raw_set("KEYS", Value::Nil);
        let _ = self.globals.raw_set("ARGV", Value::Nil);
        let (ok, v) = result.map_err(|e| {
            let s = e.to_string();
            let first = s
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("runtime error: ");
            Error::msg(format!(
                "ERR {} script: {}, on {}:0.",
                first, sha, default_src
            ))
        })?;
        if !ok {
            let t = match v {
                Value::Table(t) => t,
                _ => return Err(Error::msg(format!("ERR unknown error script: {}", sha))),
            };
            let msg: String = t
                .raw_get::<Option<String>>(1)
                .ok()
                .flatten()
                .unwrap_or_default();
            let src: String = t
                .raw_get::<Option<String>>(2)
                .ok()
                .flatten()
                .unwrap_or_else(|| default_src.into());
            let line: i64 = t.raw_get::<Option<i64>>(3).ok().flatten().unwrap_or(0);
            let msg = msg.strip_prefix('-').unwrap_or(&msg);
            return Err(Error::msg(format!(
                "{} script: {}, on {}:{}.",
                msg, sha, src, line
            )));
        }
        // Top-level error tables become the command's error (counted as a failure).
        if let Value::Table(t) = &v {
            if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                let e = String::from_utf8_lossy(&e.as_bytes()).into_owned();
                return Err(Error::msg(e.strip_prefix('-').unwrap_or(&e).to_string()));
            }
        }
        // Booleans convert by the script's protocol (redis.setresp), not the client's.
        let script_resp3 = self.h.raw_get::<i64>("resp").unwrap_or(2) == 3;
        lua_to_out(&v, ctx.out, 0, script_resp3);
        Ok(())
    }
}

/// A C function around a library function (upvalue 1): Lua tail calls keep
/// the script's frame (as with Redis's C libraries), and a `(SENTINEL, err)`
/// result (upvalue 2) is raised, prefixed with the caller's position when
/// upvalue 3 is 1.
unsafe extern "C-unwind" fn trampoline(l: *mut mlua::ffi::lua_State) -> std::os::raw::c_int {
    use mlua::ffi::*;
    let n = lua_gettop(l);
    lua_pushvalue(l, lua_upvalueindex(1));
    lua_insert(l, 1);
    lua_call(l, n, LUA_MULTRET);
    let nres = lua_gettop(l);
    if nres >= 1 && lua_rawequal(l, 1, lua_upvalueindex(2)) != 0 {
        if lua_tointeger(l, lua_upvalueindex(3)) == 1 && lua_type(l, 2) == LUA_TSTRING {
            luaL_where(l, 1);
            lua_pushvalue(l, 2);
            lua_concat(l, 2);
        } else {
            lua_pushvalue(l, 2);
        }
        lua_error(l);
    }
    nres
}

fn libs_one(lua: &Lua, s: String) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([Value::String(
        lua.create_string(s)?,
    )]))
}

pub fn noscript() -> Error {
    Error::msg("NOSCRIPT No matching script. Please use EVAL.")
}

fn err_table(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok(Value::Table(t))
}

/// redis.call / redis.pcall: Ok(value) or Err(error table).
#[allow(clippy::too_many_arguments)]
fn call_command(
    lua: &Lua,
    h: &Table,
    srv: &crate::server::Shared,
    store: &mut crate::store::Store,
    client: &mut crate::net::client::Client,
    post: &mut Vec<crate::cmd::Post>,
    busy: &Busy,
    readonly: bool,
    args: &[Value],
) -> mlua::Result<Result<Value, Value>> {
    if args.is_empty() {
        return Ok(Err(err_table(
            lua,
            "ERR Please specify at least one argument for this redis lib call",
        )?));
    }
    let mut argv: Vec<Bytes> = Vec::with_capacity(args.len());
    for a in args {
        match a {
            Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(i) => argv.push(Bytes::from(i.to_string())),
            Value::Number(n) => argv.push(Bytes::from(libs::lua_num(*n))),
            _ => {
                return Ok(Err(err_table(
                    lua,
                    "ERR Lua redis lib command arguments must be strings or integers",
                )?))
            }
        }
    }
    let cmd = match exec::resolve(&argv) {
        Ok(c) => c,
        Err(Error::Arity(_)) => {
            return Ok(Err(err_table(
                lua,
                "ERR Wrong number of args calling Redis command from script",
            )?))
        }
        Err(_) => {
            return Ok(Err(err_table(
                lua,
                "ERR Unknown Redis command called from script",
            )?))
        }
    };
    let caller = Caller::Script {
        read_only: readonly,
        wrote: busy.wrote.load(Ordering::Relaxed),
    };
    // A script never runs NOSCRIPT commands, and the commands whose flags
    // depend on a script (EVAL...) are NOSCRIPT: their flags would need the
    // script cache, which this running script holds.
    let f = if cmd.is(flags::NOSCRIPT) {
        cmd.flags
    } else {
        admit::effective_flags(srv, store, client, cmd, &argv)
    };
    if let Verdict::Reject(e) = admit::check(srv, caller, client, cmd, f, &argv, Some(&*store)) {
        return Ok(Err(err_table(lua, &e.to_string())?));
    }
    if cmd.is(flags::WRITE) {
        // From here on the script may have changed the dataset: it can no
        // longer be killed, nor refused on the server's state.
        busy.wrote.store(true, Ordering::Release);
    }
    let resp3 = h.raw_get::<i64>("resp").unwrap_or(2) == 3;
    let mut out = Out::new(if resp3 { Proto::Resp3 } else { Proto::Resp2 });
    // The command's own duration (the script's is restored for EVAL's stats).
    let script_start = std::mem::replace(&mut store.cmd_start, Instant::now());
    exec::call(srv, store, client, &mut out, post, cmd, &argv);
    store.cmd_start = script_start;
    // Our own encoder wrote it: always one complete, well-formed reply.
    let r = match parse_frame(&out.buf) {
        Ok(Some((r, _))) => r,
        _ => Frame::Null,
    };
    if let Frame::Error(e) = &r {
        return Ok(Err(err_table(lua, e)?));
    }
    Ok(Ok(reply_to_lua(lua, &r, resp3)?))
}

/// Redis reply -> Lua value, as Redis 7.0 converts.
pub fn reply_to_lua(lua: &Lua, r: &Frame, resp3: bool) -> mlua::Result<Value> {
    let wrap = |k: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(k, v)?;
        Ok(Value::Table(t))
    };
    Ok(match r {
        Frame::Simple(s) => wrap("ok", Value::String(lua.create_string(s)?))?,
        Frame::Error(s) => wrap("err", Value::String(lua.create_string(s)?))?,
        Frame::Int(i) => Value::Integer(*i),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Null => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        // Our encoder writes no pushes into a script's buffer; read one as an array.
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, it) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, it, resp3)?)?;
            }
            Value::Table(t)
        }
        Frame::Map(pairs) => {
            let m = lua.create_table()?;
            for (k, v) in pairs {
                m.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            wrap("map", Value::Table(m))?
        }
        Frame::Set(items) => {
            let m = lua.create_table()?;
            for k in items {
                m.raw_set(reply_to_lua(lua, k, resp3)?, true)?;
            }
            wrap("set", Value::Table(m))?
        }
        Frame::Double(d) => wrap("double", Value::Number(*d))?,
        Frame::Bool(b) => Value::Boolean(*b),
        Frame::BigNum(s) => wrap("big_number", Value::String(lua.create_string(s)?))?,
        Frame::Verbatim(fmt, s) => {
            let t = lua.create_table()?;
            t.raw_set("format", lua.create_string(fmt)?)?;
            t.raw_set("string", lua.create_string(s)?)?;
            wrap("verbatim_string", Value::Table(t))?
        }
    })
}

/// Lua value -> reply, as Redis 7.0 converts a script's return value.
pub fn lua_to_out(v: &Value, out: &mut Out, depth: usize, script_resp3: bool) {
    match v {
        Value::Nil => out.null(),
        Value::Boolean(b) => {
            // RESP3 script: a boolean (`:1`/`:0` to a RESP2 client); RESP2
            // script: 1 or the client's null (Redis's luaReplyToRedisReply).
            if script_resp3 {
                out.boolean(*b)
            } else if *b {
                out.int(1)
            } else {
                out.null()
            }
        }
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(*n as i64),
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Table(t) if depth < 1000 => {
            let field = |k: &str| t.raw_get::<Value>(k).unwrap_or(Value::Nil);
            if let Value::String(e) = field("err") {
                let e = String::from_utf8_lossy(&e.as_bytes()).into_owned();
                out.error(e.strip_prefix('-').unwrap_or(&e));
                return;
            }
            if let Value::String(s) = field("ok") {
                let s = String::from_utf8_lossy(&s.as_bytes()).into_owned();
                out.simple(&s.replace(['\r', '\n'], " "));
                return;
            }
            match field("double") {
                Value::Number(d) => return out.double(d),
                Value::Integer(i) => return out.double(i as f64),
                _ => {}
            }
            if let Value::String(s) = field("big_number") {
                let b = s.as_bytes();
                if out.resp3() {
                    out.raw(b"(");
                    out.raw(&b);
                    out.raw(b"\r\n");
                } else {
                    out.bulk(&b);
                }
                return;
            }
            if let Value::Table(m) = field("map") {
                let pairs: Vec<(Value, Value)> =
                    m.pairs::<Value, Value>().filter_map(|p| p.ok()).collect();
                out.map(pairs.len());
                for (k, v) in &pairs {
                    lua_to_out(k, out, depth + 1, script_resp3);
                    lua_to_out(v, out, depth + 1, script_resp3);
                }
                return;
            }
            if let Value::Table(m) = field("set") {
                let keys: Vec<Value> = m
                    .pairs::<Value, Value>()
                    .filter_map(|p| p.ok().map(|p| p.0))
                    .collect();
                out.set(keys.len());
                for k in &keys {
                    lua_to_out(k, out, depth + 1, script_resp3);
                }
                return;
            }
            let mut items = Vec::new();
            let mut i = 1;
            loop {
                match t.raw_get::<Value>(i) {
                    Ok(Value::Nil) | Err(_) => break,
                    Ok(v) => items.push(v),
                }
                i += 1;
            }
            out.array(items.len());
            for it in &items {
                lua_to_out(it, out, depth + 1, script_resp3);
            }
        }
        _ => out.null(),
    }
}

#[cfg(test)]
mod tests;
