//! The libraries Redis preloads into its Lua: cjson, cmsgpack, struct and bit
//! (LuaBitOp). Each function returns its values, or `(SENTINEL, message)`
//! for an error; a Lua wrapper turns that into `error(message, 2)` so the
//! message carries the calling script line, as Redis's C libraries do.

use mlua::{LightUserData, Lua, MultiValue, Result, Table, Value, Variadic};

/// The failure marker shared with the Lua wrappers.
pub fn fail(lua: &Lua, msg: impl Into<String>) -> Result<MultiValue> {
    let sent: Table = lua.named_registry_value("rsredis_sentinel")?;
    Ok(MultiValue::from_iter([
        Value::Table(sent),
        Value::String(lua.create_string(msg.into())?),
    ]))
}

fn one(v: Value) -> Result<MultiValue> {
    Ok(MultiValue::from_iter([v]))
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    }
}

/// Lua's `%.14g` number formatting.
pub fn lua_num(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    crate::util::fmt_g(n, 14)
}

pub fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

// ---------------------------------------------------------------- cjson

pub fn cjson(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut s = Vec::new();
            match json_encode(&v, &mut s, 0) {
                Ok(()) => one(Value::String(lua.create_string(&s)?)),
                Err(e) => fail(lua, e),
            }
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(|lua, s: Value| {
            let Value::String(s) = s else {
                return fail(lua, "bad argument #1 to 'decode' (string expected)");
            };
            match serde_json::from_slice::<serde_json::Value>(&s.as_bytes()) {
                Ok(j) => one(json_to_lua(lua, &j)?),
                Err(e) => fail(
                    lua,
                    format!(
                        "Expected value but found invalid token at character {}",
                        e.column().max(1)
                    ),
                ),
            }
        })?,
    )?;
    t.set("null", null())?;
    Ok(t)
}

fn json_str(b: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in b {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            c if c < 32 || c == 127 => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> std::result::Result<(), String> {
    if depth > 1000 {
        return Err(format!("Cannot serialise, excessive nesting ({})", depth));
    }
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            out.extend_from_slice(lua_num(*n).as_bytes())
        }
        Value::String(s) => json_str(&s.as_bytes(), out),
        Value::Table(t) => {
            // An array when every key is a positive integer (and not too sparse).
            let mut max = 0i64;
            let mut items = 0i64;
            let mut is_array = true;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, _) = pair.map_err(|e| e.to_string())?;
                items += 1;
                let idx = match k {
                    Value::Integer(i) => Some(i),
                    Value::Number(n) if n.fract() == 0.0 => Some(n as i64),
                    _ => None,
                };
                match idx {
                    Some(i) if i >= 1 => max = max.max(i),
                    _ => {
                        is_array = false;
                        break;
                    }
                }
            }
            if is_array && items > 0 {
                if max > items * 2 && max > 10 {
                    return Err("Cannot serialise table: excessively sparse array".into());
                }
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    json_encode(&v, out, depth + 1)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, v) = pair.map_err(|e| e.to_string())?;
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match &k {
                        Value::String(s) => json_str(&s.as_bytes(), out),
                        Value::Integer(i) => json_str(i.to_string().as_bytes(), out),
                        Value::Number(n) => json_str(lua_num(*n).as_bytes(), out),
                        _ => {
                            return Err(
                                "Cannot serialise table: table key must be a number or string"
                                    .into(),
                            )
                        }
                    }
                    out.push(b':');
                    json_encode(&v, out, depth + 1)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

fn json_to_lua(lua: &Lua, j: &serde_json::Value) -> Result<Value> {
    use serde_json::Value as J;
    Ok(match j {
        J::Null => null(),
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Value::String(lua.create_string(s)?),
        J::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, v) in a.iter().enumerate() {
                t.raw_set(i + 1, json_to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
        J::Object(o) => {
            let t = lua.create_table_with_capacity(0, o.len())?;
            for (k, v) in o {
                t.raw_set(k.as_str(), json_to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

// ---------------------------------------------------------------- cmsgpack

pub fn cmsgpack(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.is_empty() {
                return fail(lua, "MessagePack pack needs input.");
            }
            let mut out = Vec::new();
            for a in args.iter() {
                mp_encode(a, &mut out, 0)?;
            }
            one(Value::String(lua.create_string(&out)?))
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| {
            let b = s.as_bytes();
            let mut pos = 0;
            let mut vals = Vec::new();
            while pos < b.len() {
                match mp_decode(lua, &b, &mut pos)? {
                    Some(v) => vals.push(v),
                    None => return fail(lua, "Missing bytes in input."),
                }
            }
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    Ok(t)
}

fn mp_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        if i < 128 {
            out.push(i as u8);
        } else if i < 256 {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i < 65536 {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i <= u32::MAX as i64 {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= i32::MIN as i64 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn mp_len(n: usize, fix: u8, fixmax: usize, c16: u8, c32: u8, out: &mut Vec<u8>) {
    if n < fixmax {
        out.push(fix | n as u8);
    } else if n < 65536 {
        out.push(c16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn mp_encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => mp_int(*i, out),
        Value::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 9.2e18 {
                mp_int(*n as i64, out)
            } else if (*n as f32) as f64 == *n {
                out.push(0xca);
                out.extend_from_slice(&(*n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::String(s) => {
            let b = s.as_bytes();
            let n = b.len();
            if n < 32 {
                out.push(0xa0 | n as u8);
            } else if n < 256 {
                out.extend_from_slice(&[0xd9, n as u8]);
            } else if n < 65536 {
                out.push(0xda);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Table(t) if depth < 16 => {
            let mut count = 0usize;
            let mut max = 0i64;
            let mut array = true;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, _) = pair?;
                count += 1;
                match k {
                    Value::Integer(i) if i >= 1 => max = max.max(i),
                    Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => max = max.max(n as i64),
                    _ => array = false,
                }
            }
            if array && max as usize == count {
                mp_len(count, 0x90, 16, 0xdc, 0xdd, out);
                for i in 1..=count {
                    mp_encode(&t.raw_get::<Value>(i)?, out, depth + 1)?;
                }
            } else {
                mp_len(count, 0x80, 16, 0xde, 0xdf, out);
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    mp_encode(&k, out, depth + 1)?;
                    mp_encode(&v, out, depth + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

fn mp_decode(lua: &Lua, b: &[u8], pos: &mut usize) -> Result<Option<Value>> {
    fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
        let s = b.get(*pos..*pos + n)?;
        *pos += n;
        Some(s)
    }
    macro_rules! be {
        ($t:ty) => {{
            let Some(s) = take(b, pos, std::mem::size_of::<$t>()) else {
                return Ok(None);
            };
            <$t>::from_be_bytes(s.try_into().unwrap())
        }};
    }
    let Some(&c) = b.get(*pos) else {
        return Ok(None);
    };
    *pos += 1;
    let str_of = |pos: &mut usize, n: usize| -> Result<Option<Value>> {
        match take(b, pos, n) {
            Some(s) => Ok(Some(Value::String(lua.create_string(s)?))),
            None => Ok(None),
        }
    };
    let array = |pos: &mut usize, n: usize| -> Result<Option<Value>> {
        let t = lua.create_table()?;
        for i in 1..=n {
            match mp_decode(lua, b, pos)? {
                Some(v) => t.raw_set(i, v)?,
                None => return Ok(None),
            }
        }
        Ok(Some(Value::Table(t)))
    };
    let map = |pos: &mut usize, n: usize| -> Result<Option<Value>> {
        let t = lua.create_table()?;
        for _ in 0..n {
            let (Some(k), Some(v)) = (mp_decode(lua, b, pos)?, mp_decode(lua, b, pos)?) else {
                return Ok(None);
            };
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v)?;
            }
        }
        Ok(Some(Value::Table(t)))
    };
    Ok(Some(match c {
        0x00..=0x7f => Value::Integer(c as i64),
        0x80..=0x8f => return map(pos, (c & 0x0f) as usize),
        0x90..=0x9f => return array(pos, (c & 0x0f) as usize),
        0xa0..=0xbf => return str_of(pos, (c & 0x1f) as usize),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xc4 | 0xd9 => {
            let n = be!(u8) as usize;
            return str_of(pos, n);
        }
        0xc5 | 0xda => {
            let n = be!(u16) as usize;
            return str_of(pos, n);
        }
        0xc6 | 0xdb => {
            let n = be!(u32) as usize;
            return str_of(pos, n);
        }
        0xca => Value::Number(be!(f32) as f64),
        0xcb => Value::Number(be!(f64)),
        0xcc => Value::Integer(be!(u8) as i64),
        0xcd => Value::Integer(be!(u16) as i64),
        0xce => Value::Integer(be!(u32) as i64),
        0xcf => Value::Number(be!(u64) as f64),
        0xd0 => Value::Integer(be!(i8) as i64),
        0xd1 => Value::Integer(be!(i16) as i64),
        0xd2 => Value::Integer(be!(i32) as i64),
        0xd3 => Value::Number(be!(i64) as f64),
        0xdc => {
            let n = be!(u16) as usize;
            return array(pos, n);
        }
        0xdd => {
            let n = be!(u32) as usize;
            return array(pos, n);
        }
        0xde => {
            let n = be!(u16) as usize;
            return map(pos, n);
        }
        0xdf => {
            let n = be!(u32) as usize;
            return map(pos, n);
        }
        0xe0..=0xff => Value::Integer(c as i8 as i64),
        _ => Value::Nil,
    }))
}

// ---------------------------------------------------------------- bit

fn tobit(v: &Value) -> Option<i32> {
    let n = num(v)?;
    // LuaBitOp normalises through the double: wrap modulo 2^32, rounding to nearest.
    let r = n.round_ties_even();
    if !r.is_finite() {
        return Some(0);
    }
    Some(r.rem_euclid(4294967296.0) as u64 as u32 as i32)
}

pub fn bit(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    fn arg(
        lua: &Lua,
        args: &Variadic<Value>,
        i: usize,
    ) -> std::result::Result<i32, Result<MultiValue>> {
        match args.get(i).and_then(tobit) {
            Some(x) => Ok(x),
            None => Err(fail(
                lua,
                format!(
                    "bad argument #{} to '?' (number expected, got {})",
                    i + 1,
                    args.get(i).map(|v| v.type_name()).unwrap_or("no value")
                ),
            )),
        }
    }
    fn ret(x: i32) -> Result<MultiValue> {
        one(Value::Number(x as f64))
    }
    macro_rules! unary {
        ($name:literal, $f:expr) => {
            t.set(
                $name,
                lua.create_function(|lua, args: Variadic<Value>| {
                    let x = match arg(lua, &args, 0) {
                        Ok(x) => x,
                        Err(e) => return e,
                    };
                    let f: fn(i32) -> i32 = $f;
                    ret(f(x))
                })?,
            )?;
        };
    }
    macro_rules! fold {
        ($name:literal, $f:expr) => {
            t.set(
                $name,
                lua.create_function(|lua, args: Variadic<Value>| {
                    let mut acc = match arg(lua, &args, 0) {
                        Ok(x) => x,
                        Err(e) => return e,
                    };
                    let f: fn(i32, i32) -> i32 = $f;
                    for i in 1..args.len() {
                        match arg(lua, &args, i) {
                            Ok(y) => acc = f(acc, y),
                            Err(e) => return e,
                        }
                    }
                    ret(acc)
                })?,
            )?;
        };
    }
    macro_rules! shift {
        ($name:literal, $f:expr) => {
            t.set(
                $name,
                lua.create_function(|lua, args: Variadic<Value>| {
                    let (x, n) = match (arg(lua, &args, 0), arg(lua, &args, 1)) {
                        (Ok(x), Ok(n)) => (x, (n & 31) as u32),
                        (Err(e), _) | (_, Err(e)) => return e,
                    };
                    let f: fn(i32, u32) -> i32 = $f;
                    ret(f(x, n))
                })?,
            )?;
        };
    }
    unary!("tobit", |x| x);
    unary!("bnot", |x| !x);
    unary!("bswap", |x| x.swap_bytes());
    fold!("band", |a, b| a & b);
    fold!("bor", |a, b| a | b);
    fold!("bxor", |a, b| a ^ b);
    shift!("lshift", |x, n| ((x as u32) << n) as i32);
    shift!("rshift", |x, n| ((x as u32) >> n) as i32);
    shift!("arshift", |x, n| x >> n);
    shift!("rol", |x, n| (x as u32).rotate_left(n) as i32);
    shift!("ror", |x, n| (x as u32).rotate_right(n) as i32);
    t.set(
        "tohex",
        lua.create_function(|lua, args: Variadic<Value>| {
            let x = match arg(lua, &args, 0) {
                Ok(x) => x as u32,
                Err(e) => return e,
            };
            let n = match args.get(1) {
                None | Some(Value::Nil) => 8,
                Some(_) => match arg(lua, &args, 1) {
                    Ok(n) => n,
                    Err(e) => return e,
                },
            };
            let upper = n < 0;
            let n = (n.unsigned_abs()).min(8) as usize;
            let s = if upper {
                format!("{:08X}", x)
            } else {
                format!("{:08x}", x)
            };
            one(Value::String(lua.create_string(&s[8 - n..])?))
        })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------- struct

struct Fmt<'a> {
    f: &'a [u8],
    i: usize,
    little: bool,
}

enum Item {
    Int { size: usize, signed: bool },
    Float,
    Double,
    Pad,
    CStr,
    Fixed(Option<usize>),
}

impl Fmt<'_> {
    fn digits(&mut self) -> Option<usize> {
        let start = self.i;
        while self.i < self.f.len() && self.f[self.i].is_ascii_digit() {
            self.i += 1;
        }
        (self.i > start).then(|| {
            std::str::from_utf8(&self.f[start..self.i])
                .unwrap()
                .parse()
                .unwrap_or(0)
        })
    }

    fn next(&mut self) -> std::result::Result<Option<Item>, String> {
        loop {
            let Some(&c) = self.f.get(self.i) else {
                return Ok(None);
            };
            self.i += 1;
            let it = match c {
                b' ' => continue,
                b'<' => {
                    self.little = true;
                    continue;
                }
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'=' => {
                    self.little = cfg!(target_endian = "little");
                    continue;
                }
                b'!' => {
                    self.digits();
                    continue;
                }
                b'x' => Item::Pad,
                b'b' => Item::Int {
                    size: 1,
                    signed: true,
                },
                b'B' => Item::Int {
                    size: 1,
                    signed: false,
                },
                b'h' => Item::Int {
                    size: 2,
                    signed: true,
                },
                b'H' => Item::Int {
                    size: 2,
                    signed: false,
                },
                b'l' => Item::Int {
                    size: 8,
                    signed: true,
                },
                b'L' => Item::Int {
                    size: 8,
                    signed: false,
                },
                b'T' => Item::Int {
                    size: 8,
                    signed: false,
                },
                b'i' | b'I' => {
                    let size = self.digits().unwrap_or(4);
                    if size == 0 || size > 8 {
                        return Err(format!("integral size {} is larger than limit of 8", size));
                    }
                    Item::Int {
                        size,
                        signed: c == b'i',
                    }
                }
                b'f' => Item::Float,
                b'd' => Item::Double,
                b's' => Item::CStr,
                b'c' => Item::Fixed(match self.digits() {
                    Some(0) => None,
                    Some(n) => Some(n),
                    None => Some(1),
                }),
                c => return Err(format!("invalid format option '{}'", c as char)),
            };
            return Ok(Some(it));
        }
    }
}

pub fn structlib(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| {
            let Some(Value::String(f)) = args.first() else {
                return fail(lua, "bad argument #1 to 'pack' (string expected)");
            };
            let fb = f.as_bytes().to_vec();
            let mut fmt = Fmt {
                f: &fb,
                i: 0,
                little: cfg!(target_endian = "little"),
            };
            let mut out = Vec::new();
            let mut ai = 1;
            loop {
                let it = match fmt.next() {
                    Ok(Some(it)) => it,
                    Ok(None) => break,
                    Err(e) => return fail(lua, e),
                };
                let arg = args.get(ai).cloned().unwrap_or(Value::Nil);
                match it {
                    Item::Pad => {
                        out.push(0);
                        continue;
                    }
                    Item::Int { size, .. } => {
                        let Some(n) = num(&arg) else {
                            return fail(
                                lua,
                                format!(
                                    "bad argument #{} to 'pack' (number expected, got {})",
                                    ai + 1,
                                    arg.type_name()
                                ),
                            );
                        };
                        let v = (n as i64) as u64;
                        let bytes = v.to_le_bytes();
                        if fmt.little {
                            out.extend_from_slice(&bytes[..size]);
                        } else {
                            out.extend(bytes[..size].iter().rev());
                        }
                    }
                    Item::Float | Item::Double => {
                        let Some(n) = num(&arg) else {
                            return fail(
                                lua,
                                format!(
                                    "bad argument #{} to 'pack' (number expected, got {})",
                                    ai + 1,
                                    arg.type_name()
                                ),
                            );
                        };
                        let b: Vec<u8> = if matches!(it, Item::Float) {
                            let x = n as f32;
                            if fmt.little {
                                x.to_le_bytes().to_vec()
                            } else {
                                x.to_be_bytes().to_vec()
                            }
                        } else if fmt.little {
                            n.to_le_bytes().to_vec()
                        } else {
                            n.to_be_bytes().to_vec()
                        };
                        out.extend_from_slice(&b);
                    }
                    Item::CStr | Item::Fixed(_) => {
                        let s: Vec<u8> = match &arg {
                            Value::String(s) => s.as_bytes().to_vec(),
                            Value::Integer(i) => i.to_string().into_bytes(),
                            Value::Number(n) => lua_num(*n).into_bytes(),
                            _ => {
                                return fail(
                                    lua,
                                    format!(
                                        "bad argument #{} to 'pack' (string expected, got {})",
                                        ai + 1,
                                        arg.type_name()
                                    ),
                                )
                            }
                        };
                        match it {
                            Item::CStr => {
                                out.extend_from_slice(&s);
                                out.push(0);
                            }
                            Item::Fixed(Some(n)) => {
                                if s.len() < n {
                                    return fail(
                                        lua,
                                        format!(
                                            "bad argument #{} to 'pack' (string too short)",
                                            ai + 1
                                        ),
                                    );
                                }
                                out.extend_from_slice(&s[..n]);
                            }
                            _ => out.extend_from_slice(&s),
                        }
                    }
                }
                ai += 1;
            }
            one(Value::String(lua.create_string(&out)?))
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, args: Variadic<Value>| {
            let (Some(Value::String(f)), Some(Value::String(data))) = (args.first(), args.get(1))
            else {
                return fail(lua, "bad argument to 'unpack' (string expected)");
            };
            let fb = f.as_bytes().to_vec();
            let data = data.as_bytes().to_vec();
            let mut pos = match args.get(2).and_then(num) {
                Some(p) if p >= 1.0 => p as usize - 1,
                Some(_) => {
                    return fail(
                        lua,
                        "bad argument #3 to 'unpack' (offset must be 1 or greater)",
                    )
                }
                None => 0,
            };
            let mut fmt = Fmt {
                f: &fb,
                i: 0,
                little: cfg!(target_endian = "little"),
            };
            let mut vals = Vec::new();
            let mut last_int: Option<i64> = None;
            let short =
                |lua: &Lua| fail(lua, "bad argument #2 to 'unpack' (data string too short)");
            loop {
                let it = match fmt.next() {
                    Ok(Some(it)) => it,
                    Ok(None) => break,
                    Err(e) => return fail(lua, e),
                };
                match it {
                    Item::Pad => pos += 1,
                    Item::Int { size, signed } => {
                        let Some(s) = data.get(pos..pos + size) else {
                            return short(lua);
                        };
                        let mut v: u64 = 0;
                        for k in 0..size {
                            let byte = if fmt.little { s[size - 1 - k] } else { s[k] };
                            v = (v << 8) | byte as u64;
                        }
                        let n = if signed && size < 8 && v & (1 << (size * 8 - 1)) != 0 {
                            (v | (!0u64 << (size * 8))) as i64
                        } else {
                            v as i64
                        };
                        let n = if !signed && size == 8 {
                            v as f64
                        } else {
                            n as f64
                        };
                        last_int = Some(n as i64);
                        vals.push(Value::Number(n));
                        pos += size;
                    }
                    Item::Float => {
                        let Some(s) = data.get(pos..pos + 4) else {
                            return short(lua);
                        };
                        let a: [u8; 4] = s.try_into().unwrap();
                        let x = if fmt.little {
                            f32::from_le_bytes(a)
                        } else {
                            f32::from_be_bytes(a)
                        };
                        vals.push(Value::Number(x as f64));
                        pos += 4;
                    }
                    Item::Double => {
                        let Some(s) = data.get(pos..pos + 8) else {
                            return short(lua);
                        };
                        let a: [u8; 8] = s.try_into().unwrap();
                        let x = if fmt.little {
                            f64::from_le_bytes(a)
                        } else {
                            f64::from_be_bytes(a)
                        };
                        vals.push(Value::Number(x));
                        pos += 8;
                    }
                    Item::CStr => {
                        let Some(end) = data[pos.min(data.len())..].iter().position(|&c| c == 0)
                        else {
                            return fail(lua, "unfinished string in data");
                        };
                        vals.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                        pos += end + 1;
                    }
                    Item::Fixed(n) => {
                        let n = match n {
                            Some(n) => n,
                            None => match last_int.take() {
                                Some(n) if n >= 0 => {
                                    vals.pop();
                                    n as usize
                                }
                                _ => return fail(lua, "format 'c0' needs a previous size"),
                            },
                        };
                        let Some(s) = data.get(pos..pos + n) else {
                            return short(lua);
                        };
                        vals.push(Value::String(lua.create_string(s)?));
                        pos += n;
                    }
                }
            }
            vals.push(Value::Number((pos + 1) as f64));
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    t.set(
        "size",
        lua.create_function(|lua, f: mlua::String| {
            let fb = f.as_bytes().to_vec();
            let mut fmt = Fmt {
                f: &fb,
                i: 0,
                little: true,
            };
            let mut n = 0usize;
            loop {
                match fmt.next() {
                    Ok(Some(Item::Pad)) => n += 1,
                    Ok(Some(Item::Int { size, .. })) => n += size,
                    Ok(Some(Item::Float)) => n += 4,
                    Ok(Some(Item::Double)) => n += 8,
                    Ok(Some(Item::Fixed(Some(k)))) => n += k,
                    Ok(Some(_)) => return fail(lua, "options 'c0' - 's' have undefined sizes"),
                    Ok(None) => break,
                    Err(e) => return fail(lua, e),
                }
            }
            one(Value::Number(n as f64))
        })?,
    )?;
    Ok(t)
}
