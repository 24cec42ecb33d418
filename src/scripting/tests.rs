use super::*;
use crate::resp::reply::Frame as Reply;
use bytes::Bytes;

fn engine() -> Engine {
    Engine::new(Arc::new(Busy::default())).unwrap()
}

fn out_of(v: &Value, proto: Proto) -> String {
    // A script speaking the client's protocol (redis.setresp(3) for RESP3).
    let mut o = Out::new(proto);
    lua_to_out(v, &mut o, 0, proto == Proto::Resp3);
    String::from_utf8_lossy(&o.buf).into_owned()
}

/// A RESP2 script (the default) answering a RESP3 client.
fn out_resp2_script_to_resp3(v: &Value) -> String {
    let mut o = Out::new(Proto::Resp3);
    lua_to_out(v, &mut o, 0, false);
    String::from_utf8_lossy(&o.buf).into_owned()
}

#[test]
fn redis_to_lua_conversions() {
    let e = engine();
    let lua = &e.lua;
    let conv = |r: Reply, resp3: bool| -> String {
        let v = reply_to_lua(lua, &r, resp3).unwrap();
        let f: Function = lua
            .load(
                "local v = ... \
                 if type(v) ~= 'table' then return type(v) .. ':' .. tostring(v) end \
                 local keys = {} for k, x in pairs(v) do keys[#keys + 1] = tostring(k) .. '=' .. (type(x) == 'table' and 'table' or tostring(x)) end \
                 table.sort(keys) return 'table:' .. table.concat(keys, ',')",
            )
            .into_function()
            .unwrap();
        f.call::<String>(v).unwrap()
    };
    assert_eq!(conv(Reply::Int(5), false), "number:5");
    assert_eq!(
        conv(Reply::Bulk(Bytes::from_static(b"x")), false),
        "string:x"
    );
    assert_eq!(conv(Reply::Null, false), "boolean:false");
    assert_eq!(conv(Reply::Null, true), "nil:nil");
    assert_eq!(conv(Reply::Simple("OK".into()), false), "table:ok=OK");
    assert_eq!(conv(Reply::Error("ERR x".into()), false), "table:err=ERR x");
    assert_eq!(
        conv(Reply::Array(vec![Reply::Int(1), Reply::Null]), false),
        "table:1=1,2=false"
    );
    assert_eq!(conv(Reply::Double(1.5), true), "table:double=1.5");
    assert_eq!(conv(Reply::Bool(true), true), "boolean:true");
    assert_eq!(
        conv(
            Reply::Map(vec![(Reply::Bulk(Bytes::from_static(b"a")), Reply::Int(1))]),
            true
        ),
        "table:map=table"
    );
    assert_eq!(
        conv(
            Reply::Set(vec![Reply::Bulk(Bytes::from_static(b"a"))]),
            true
        ),
        "table:set=table"
    );
    assert_eq!(
        conv(Reply::BigNum("12".into()), true),
        "table:big_number=12"
    );
}

#[test]
fn lua_to_redis_conversions() {
    let e = engine();
    let lua = &e.lua;
    let ev = |s: &str| -> Value { lua.load(s).eval::<Value>().unwrap() };
    use Proto::*;
    assert_eq!(out_of(&ev("return 3.99"), Resp2), ":3\r\n");
    assert_eq!(out_of(&ev("return -3.99"), Resp2), ":-3\r\n");
    assert_eq!(out_of(&ev("return 'x'"), Resp2), "$1\r\nx\r\n");
    assert_eq!(out_of(&ev("return true"), Resp2), ":1\r\n");
    assert_eq!(out_of(&ev("return false"), Resp2), "$-1\r\n");
    assert_eq!(out_of(&ev("return true"), Resp3), "#t\r\n");
    assert_eq!(out_of(&ev("return false"), Resp3), "#f\r\n");
    assert_eq!(out_resp2_script_to_resp3(&ev("return true")), ":1\r\n");
    assert_eq!(out_resp2_script_to_resp3(&ev("return false")), "_\r\n");
    assert_eq!(out_of(&ev("return nil"), Resp2), "$-1\r\n");
    assert_eq!(
        out_of(&ev("return {1, 'a', nil, 4}"), Resp2),
        "*2\r\n:1\r\n$1\r\na\r\n"
    );
    assert_eq!(out_of(&ev("return {ok='FINE'}"), Resp2), "+FINE\r\n");
    assert_eq!(
        out_of(&ev("return {err='-ERR bad'}"), Resp2),
        "-ERR bad\r\n"
    );
    assert_eq!(out_of(&ev("return {double=1.5}"), Resp3), ",1.5\r\n");
    assert_eq!(out_of(&ev("return {double=1.5}"), Resp2), "$3\r\n1.5\r\n");
    assert_eq!(
        out_of(&ev("return {map={a=1}}"), Resp3),
        "%1\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(
        out_of(&ev("return {map={a=1}}"), Resp2),
        "*2\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(
        out_of(&ev("return {set={a=true}}"), Resp3),
        "~1\r\n$1\r\na\r\n"
    );
    assert_eq!(out_of(&ev("return {big_number='99'}"), Resp3), "(99\r\n");
    assert_eq!(out_of(&ev("return {a=1}"), Resp2), "*0\r\n");
    assert_eq!(
        out_of(&ev("return {{1}, {}}"), Resp2),
        "*2\r\n*1\r\n:1\r\n*0\r\n"
    );
}

#[test]
fn libraries() {
    let e = engine();
    let ev = |s: &str| -> String {
        e.lua
            .load(s)
            .set_environment(e.env.clone())
            .eval::<mlua::String>()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        ev("return cjson.encode({1, 'a', {b=true}})"),
        "[1,\"a\",{\"b\":true}]"
    );
    assert_eq!(ev("return cjson.encode({})"), "{}");
    assert_eq!(ev("return cjson.encode('a\\n\"')"), "\"a\\n\\\"\"");
    assert_eq!(ev("return cjson.encode(0.1)"), "0.1");
    assert_eq!(
        ev("return tostring(cjson.decode('{\"a\":null}').a == cjson.null)"),
        "true"
    );
    assert_eq!(ev("return cjson.decode('[10, 2.5]')[2] .. ''"), "2.5");
    assert_eq!(
        ev("local a, b, c = cmsgpack.unpack(cmsgpack.pack(-1, 'xy', 3.25)) return a .. b .. c"),
        "-1xy3.25"
    );
    assert_eq!(
        ev("return string.byte(cmsgpack.pack(300), 1, -1) .. ''"),
        "205"
    );
    assert_eq!(ev("return bit.tohex(bit.bor(0xf0, 0x0f), 2)"), "ff");
    assert_eq!(ev("return bit.tobit(0xffffffff) .. ''"), "-1");
    assert_eq!(ev("return bit.rshift(-1, 1) .. ''"), "2147483647");
    assert_eq!(
        ev("local a, b, n = struct.unpack('>hs', struct.pack('>hs', -2, 'hi')) return a .. b .. n"),
        "-2hi6"
    );
    assert_eq!(ev("return struct.size('<i8d') .. ''"), "16");
    assert_eq!(
        ev("return redis.sha1hex('abc')"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
}

#[test]
fn script_effects_propagate_in_multi_exec() {
    let mut h = crate::cmd::testkit::Harness::new();
    h.register();
    let reply = h.run_args(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'v') redis.call('get', KEYS[1]) redis.call('incr', 'n') return 1",
        "1",
        "k",
    ]);
    assert_eq!(reply, ":1\r\n");
    assert_eq!(
        h.raw_stream(),
        "*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n\
         *2\r\n$4\r\nincr\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n"
    );
}
