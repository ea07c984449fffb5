//! Scripting corners found by running Redis 7.2's own suite
//! (tests/unit/scripting.tcl, functions.tcl) against Ember: library
//! configuration (cjson's settings, cmsgpack's partial unpack), argument and
//! cache limits of the Lua state, read-only globals, redis.acl_check_cmd,
//! SORT's order inside scripts, statistics of commands refused inside a
//! script, FUNCTION metadata and errors, WAIT and min-replicas-to-write.

mod common;
use common::{err, q, TestServer};
use std::time::{Duration, Instant};

fn eval<T: redis::FromRedisValue>(c: &mut redis::Connection, script: &str) -> T {
    q(c, &["EVAL", script, "0"])
}

fn eval_err(c: &mut redis::Connection, script: &str) -> String {
    err(c, &["EVAL", script, "0"])
}

#[test]
fn cjson_configuration_functions() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Each returns the setting in force; nil keeps it. (The last call
    // spreads into the table: false (a nil reply), 2, 10.)
    let v: Vec<Option<i64>> = eval(
        &mut c,
        "return {cjson.encode_max_depth(), cjson.decode_max_depth(), \
         cjson.encode_number_precision(), cjson.encode_sparse_array()}",
    );
    assert_eq!(
        v,
        vec![Some(1000), Some(1000), Some(14), None, Some(2), Some(10)]
    );
    let v: Vec<i64> = eval(
        &mut c,
        "local c, r, s = cjson.encode_sparse_array() return {c and 1 or 0, r, s}",
    );
    assert_eq!(v, vec![0, 2, 10]);
    // Depth limits, both ways.
    let e = eval_err(
        &mut c,
        "cjson.encode_max_depth(1) return cjson.encode({{1}})",
    );
    assert!(e.contains("Cannot serialise, excessive nesting (2)"), "{e}");
    let e = eval_err(
        &mut c,
        "cjson.decode_max_depth(1) return cjson.decode('{\"a\": {\"b\": 1}}')",
    );
    assert!(
        e.contains("Found too many nested data structures (2) at character 7"),
        "{e}"
    );
    let v: String = eval(
        &mut c,
        "cjson.encode_max_depth(1000) cjson.decode_max_depth(1000) \
         return cjson.encode(cjson.decode('[[1]]'))",
    );
    assert_eq!(v, "[[1]]");
    // Invalid numbers: an error by default, `nan`/`inf` with true, null with 'null'.
    let e = eval_err(&mut c, "return cjson.encode({0/0})");
    assert!(
        e.contains("Cannot serialise number: must not be NaN or Inf"),
        "{e}"
    );
    let v: String = eval(
        &mut c,
        "cjson.encode_invalid_numbers(true) return cjson.encode({1/0, -1/0, 0/0})",
    );
    assert_eq!(v, "[inf,-inf,nan]");
    let v: String = eval(
        &mut c,
        "local r = cjson.encode_invalid_numbers('null') return r .. cjson.encode({1/0})",
    );
    assert_eq!(v, "null[null]");
    let e = eval_err(&mut c, "return cjson.encode_invalid_numbers('maybe')");
    assert!(
        e.contains("bad argument #1 to 'encode_invalid_numbers' (invalid option 'maybe')"),
        "{e}"
    );
    let _: Option<String> = eval(&mut c, "cjson.encode_invalid_numbers(false) return nil");
    // Decoding takes hex, inf, nan and +1 unless decode_invalid_numbers is off.
    let v: Vec<String> = eval(
        &mut c,
        "local t = cjson.decode('[0x10, +5, 1e2, inf]') \
         return {tostring(t[1]), tostring(t[2]), tostring(t[3]), tostring(t[4])}",
    );
    assert_eq!(v, vec!["16", "5", "100", "inf"]);
    let e = eval_err(
        &mut c,
        "cjson.decode_invalid_numbers(false) return cjson.decode('[0x10]')",
    );
    assert!(
        e.contains("Expected value but found invalid number at character 2"),
        "{e}"
    );
    let _: Option<String> = eval(&mut c, "cjson.decode_invalid_numbers(true) return nil");
    // Precision, sparse arrays, argument checks.
    let v: String = eval(
        &mut c,
        "cjson.encode_number_precision(3) local s = cjson.encode(3.14159) \
         cjson.encode_number_precision(14) return s",
    );
    assert_eq!(v, "3.14");
    let e = eval_err(&mut c, "return cjson.encode({[1]=1, [20]=2})");
    assert!(
        e.contains("Cannot serialise table: excessively sparse array"),
        "{e}"
    );
    let v: String = eval(
        &mut c,
        "cjson.encode_sparse_array(true) local s = cjson.encode({[1]=1, [20]=2}) \
         cjson.encode_sparse_array(false) return s",
    );
    assert!(v == r#"{"1":1,"20":2}"# || v == r#"{"20":2,"1":1}"#, "{v}");
    let e = eval_err(&mut c, "return cjson.encode_max_depth(0)");
    assert!(
        e.contains(
            "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"
        ),
        "{e}"
    );
    let e = eval_err(&mut c, "return cjson.encode_max_depth(1, 2)");
    assert!(
        e.contains("bad argument #2 to 'encode_max_depth' (found too many arguments)"),
        "{e}"
    );
    // SCRIPT FLUSH puts every setting back (Redis makes a new Lua state).
    let _: i64 = eval(&mut c, "return cjson.encode_max_depth(3)");
    let _: () = q(&mut c, &["SCRIPT", "FLUSH"]);
    let v: i64 = eval(&mut c, "return cjson.encode_max_depth()");
    assert_eq!(v, 1000);
    // encode_keep_buffer only says whether the buffer is kept.
    let v: Vec<Option<i64>> = eval(
        &mut c,
        "return {cjson.encode_keep_buffer(false) and 1 or 0, cjson.encode_keep_buffer(true) and 1 or 0}",
    );
    assert_eq!(v, vec![Some(0), Some(1)]);
}

#[test]
fn cmsgpack_unpack_one_and_limit() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v: Vec<redis::Value> = eval(
        &mut c,
        "local s = cmsgpack.pack('a', 'bb', 3) \
         local o1, v1 = cmsgpack.unpack_one(s) \
         local o2, v2, v3 = cmsgpack.unpack_limit(s, 2, o1) \
         local o3 = cmsgpack.unpack_limit(s, 0, 2) \
         return {o1, v1, o2, v2, v3, o3}",
    );
    use redis::Value::{BulkString as B, Int};
    assert_eq!(
        v,
        vec![
            Int(2),
            B(b"a".to_vec()),
            Int(-1),
            B(b"bb".to_vec()),
            Int(3),
            Int(2)
        ]
    );
    // Limit 0 at offset 0 is a plain unpack (no offset in front).
    let v: Vec<i64> = eval(
        &mut c,
        "return {cmsgpack.unpack_limit(cmsgpack.pack(7, 8), 0, 0)}",
    );
    assert_eq!(v, vec![7, 8]);
    let e = eval_err(&mut c, "return cmsgpack.unpack_one('abc', -1)");
    assert!(
        e.contains("Invalid request to unpack with offset of -1 and limit of 3."),
        "{e}"
    );
    let e = eval_err(&mut c, "return cmsgpack.unpack_one('abc', 5)");
    assert!(
        e.contains("Start offset 5 greater than input length 3."),
        "{e}"
    );
}

#[test]
fn lua_state_limits_do_not_stop_scripting() {
    let s = TestServer::start();
    let mut c = s.conn();
    // 7999 arguments to one redis.call, as Redis takes.
    let n: i64 = eval(
        &mut c,
        "local a = {} for i = 1, 7999 do a[i] = i end return redis.call('rpush', 'l', unpack(a))",
    );
    assert_eq!(n, 7999);
    let last: String = q(&mut c, &["LINDEX", "l", "-1"]);
    assert_eq!(last, "7999");
    // More cached scripts than the Lua C stack has slots.
    let mut p = redis::pipe();
    for i in 0..9000 {
        p.cmd("SCRIPT").arg("LOAD").arg(format!("return {i}"));
    }
    let shas: Vec<String> = p.query(&mut c).expect("script load");
    assert_eq!(shas.len(), 9000);
    let v: i64 = q(&mut c, &["EVALSHA", &shas[8999], "0"]);
    assert_eq!(v, 8999);
    let v: i64 = q(&mut c, &["EVALSHA", &shas[0], "0"]);
    assert_eq!(v, 0);
    let v: i64 = eval(&mut c, "return 42");
    assert_eq!(v, 42);
    // Garbage from many runs is collected as they go (Redis's test: under
    // 100 KB after 10,000 runs of a small script).
    let _: () = q(&mut c, &["SCRIPT", "FLUSH"]);
    let mut p = redis::pipe();
    for _ in 0..10_000 {
        p.cmd("EVAL")
            .arg("return redis.call('incr', KEYS[1])")
            .arg(1)
            .arg("x");
    }
    let _: Vec<i64> = p.query(&mut c).expect("evals");
    let info: String = q(&mut c, &["INFO", "memory"]);
    let lua: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory_lua:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory_lua");
    assert!(lua < 100 * 1024, "used_memory_lua {lua}");
}

#[test]
fn read_only_globals_and_metatables() {
    let s = TestServer::start();
    let mut c = s.conn();
    for script in [
        "setmetatable(_G, {})",
        "local g = getmetatable(_G) g.__index = {}",
        "setmetatable(string, {})",
        "redis = function() return 1 end",
    ] {
        let e = eval_err(&mut c, script);
        assert!(
            e.contains("Attempt to modify a readonly table"),
            "{script}: {e}"
        );
    }
    // setmetatable still works on the script's own tables, with Lua's errors.
    let v: i64 = eval(
        &mut c,
        "local t = setmetatable({}, {__index = function() return 5 end}) return t.x",
    );
    assert_eq!(v, 5);
    let e = eval_err(&mut c, "return setmetatable(1, {})");
    assert!(
        e.starts_with(
            "ERR user_script:1: bad argument #1 to 'setmetatable' (table expected, got number)"
        ),
        "{e}"
    );
    let e = eval_err(
        &mut c,
        "local t = setmetatable({}, {__metatable = 1}) setmetatable(t, {})",
    );
    assert!(
        e.contains("user_script:1: cannot change a protected metatable"),
        "{e}"
    );
}

#[test]
fn acl_check_cmd_uses_the_callers_permissions() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "bob",
            "on",
            ">123",
            "+@scripting",
            "+set",
            "~x*",
        ],
    );
    let mut c = s.conn();
    let _: () = q(&mut c, &["AUTH", "bob", "123"]);
    let check = |c: &mut redis::Connection, script: &str| -> Option<i64> {
        q(c, &["EVAL", script, "1", "xx"])
    };
    assert_eq!(
        check(&mut c, "return redis.acl_check_cmd('set','xx',1)"),
        Some(1)
    );
    assert_eq!(
        check(&mut c, "return redis.acl_check_cmd('hset','xx','f',1)"),
        None
    );
    assert_eq!(
        check(&mut c, "return redis.acl_check_cmd('set','yy',1)"),
        None
    );
    let e = err(
        &mut c,
        &[
            "EVAL",
            "return redis.acl_check_cmd('invalid-cmd','arg')",
            "0",
        ],
    );
    assert!(
        e.contains("Invalid command passed to redis.acl_check_cmd()"),
        "{e}"
    );
    // Too few arguments for the command's key positions: no key to check,
    // and no crash (SINTERCARD finds its keys through numkeys).
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "carol", "on", ">p", "+@all", "~foo*"],
    );
    let mut c2 = s.conn();
    let _: () = q(&mut c2, &["AUTH", "carol", "p"]);
    let v: i64 = q(
        &mut c2,
        &["EVAL", "return redis.acl_check_cmd('sintercard')", "0"],
    );
    assert_eq!(v, 1);
    let v: Option<i64> = q(
        &mut c2,
        &[
            "EVAL",
            "return redis.acl_check_cmd('sintercard', 1, 'bar')",
            "0",
        ],
    );
    assert_eq!(v, None);
    // The default user may run anything.
    let v: i64 = q(
        &mut admin,
        &["EVAL", "return redis.acl_check_cmd('hset','k','f',1)", "0"],
    );
    assert_eq!(v, 1);
}

#[test]
fn sort_by_constant_is_ordered_in_scripts() {
    let s = TestServer::start();
    let mut c = s.conn();
    let members = ["b", "c", "a", "z", "aa", "azz", "aaa"];
    let mut args = vec!["SADD", "myset"];
    args.extend_from_slice(&members);
    let _: i64 = q(&mut c, &args);
    let v: Vec<String> = q(
        &mut c,
        &[
            "EVAL",
            "return redis.call('sort', KEYS[1], 'by', '_')",
            "1",
            "myset",
        ],
    );
    assert_eq!(v, vec!["a", "aa", "aaa", "azz", "b", "c", "z"]);
    // Outside a script, BY constant keeps the set's own order (Redis too).
    let direct: Vec<String> = q(&mut c, &["SORT", "myset", "BY", "_"]);
    let members_now: Vec<String> = q(&mut c, &["SMEMBERS", "myset"]);
    assert_eq!(direct, members_now);
}

fn cmdstat(c: &mut redis::Connection, cmd: &str) -> String {
    let info: String = q(c, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{cmd}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn commands_refused_inside_scripts_count_as_rejected() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let e = err(
        &mut c,
        &["EVAL_RO", "return redis.call('set','x','y')", "1", "x"],
    );
    assert!(
        e.starts_with("ERR Write commands are not allowed from read-only scripts"),
        "{e}"
    );
    let set = cmdstat(&mut c, "set");
    assert!(
        set.contains("calls=0,") && set.contains("rejected_calls=1,failed_calls=0"),
        "{set}"
    );
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let e = eval_err(&mut c, "return redis.call('get')");
    assert!(
        e.contains("Wrong number of args calling Redis command from script"),
        "{e}"
    );
    let get = cmdstat(&mut c, "get");
    assert!(get.contains("rejected_calls=1"), "{get}");
}

#[test]
fn function_names_metadata_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    // FCALL finds a function whatever the case; a quoted name is unquoted.
    let name: String = q(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=\"mylib\"\nredis.register_function('Hello', function() return 'hi' end)",
        ],
    );
    assert_eq!(name, "mylib");
    for f in ["Hello", "hello", "HELLO"] {
        let v: String = q(&mut c, &["FCALL", f, "0"]);
        assert_eq!(v, "hi");
    }
    // A name that differs only in case collides.
    let e = err(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=other\nredis.register_function('hello', function() return 1 end)",
        ],
    );
    assert_eq!(e, "ERR Function hello already exists");
    // Metadata: an empty engine name, NAME= in any case.
    let e = err(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#! name=x\nredis.register_function('f', function() return 1 end)",
        ],
    );
    assert_eq!(e, "ERR Engine '' not found");
    let name: String = q(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!LUA NAME=upper\nredis.register_function('g', function() return 1 end)",
        ],
    );
    assert_eq!(name, "upper");
    let e = err(&mut c, &["FUNCTION", "LOAD", "#!lua name=x"]);
    assert_eq!(e, "ERR Invalid library metadata");
    // Argument errors of FLUSH and RESTORE.
    let e = err(&mut c, &["FUNCTION", "FLUSH", "sync", "extra"]);
    assert_eq!(
        e,
        "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP."
    );
    let e = err(&mut c, &["FUNCTION", "FLUSH", "bad"]);
    assert_eq!(e, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    let e = err(&mut c, &["FUNCTION", "RESTORE", "a", "b", "c"]);
    assert!(e.contains("wrong number of arguments for 'RESTORE'"), "{e}");
    // RESTORE (APPEND) of a library that exists names it without quotes.
    let dump: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
    let e = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query::<()>(&mut c)
        .expect_err("collision");
    assert!(
        e.to_string().contains("Library mylib already exists"),
        "{e}"
    );
    let _: () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .arg("REPLACE")
        .query(&mut c)
        .expect("replace");
}

#[test]
fn wait_without_replicas() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    // Asking for no replica answers at once; asking for one waits out the
    // timeout, then answers that none acknowledged.
    let n: i64 = q(&mut c, &["WAIT", "0", "0"]);
    assert_eq!(n, 0);
    let t = Instant::now();
    let n: i64 = q(&mut c, &["WAIT", "1", "200"]);
    assert_eq!(n, 0);
    assert!(t.elapsed() >= Duration::from_millis(190));
    // Never blocks inside a script or MULTI.
    let n: i64 = eval(&mut c, "return redis.pcall('wait', '1', '0')");
    assert_eq!(n, 0);
    let (n,): (i64,) = redis::pipe()
        .atomic()
        .cmd("WAIT")
        .arg(1)
        .arg(0)
        .query(&mut c)
        .expect("multi");
    assert_eq!(n, 0);
    // WAIT with no timeout ends with CLIENT UNBLOCK.
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let client = s.client();
    let unblocker = std::thread::spawn(move || {
        let mut o = client.get_connection().expect("connect");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let n: i64 = q(&mut o, &["CLIENT", "UNBLOCK", &id.to_string()]);
            if n == 1 || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let n: i64 = q(&mut c, &["WAIT", "3", "0"]);
    assert_eq!(n, 0);
    assert_eq!(unblocker.join().expect("unblocker"), 1);
    assert_eq!(err(&mut c, &["WAIT", "1", "-1"]), "ERR timeout is negative");
    assert_eq!(
        err(&mut c, &["WAIT", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn min_replicas_to_write_refuses_writes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "x", "some value"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
    assert_eq!(err(&mut c, &["SET", "x", "1"]), NOREPLICAS);
    let v: String = q(&mut c, &["GET", "x"]);
    assert_eq!(v, "some value");
    // Scripts: one declaring no-writes or without flags may read; one with
    // flags that may write is refused before it runs; a write inside a
    // script without flags is refused where it is called.
    let read = "return redis.call('get', KEYS[1])";
    let v: String = q(
        &mut c,
        &["EVAL", &format!("#!lua flags=no-writes\n{read}"), "1", "x"],
    );
    assert_eq!(v, "some value");
    let v: String = q(&mut c, &["EVAL", read, "1", "x"]);
    assert_eq!(v, "some value");
    let e = err(&mut c, &["EVAL", &format!("#!lua\n{read}"), "1", "x"]);
    assert_eq!(e, NOREPLICAS);
    let e = err(
        &mut c,
        &["EVAL", "return redis.call('set', KEYS[1], 1)", "1", "x"],
    );
    assert!(e.starts_with(NOREPLICAS), "{e}");
    let info: String = q(&mut c, &["INFO", "replication"]);
    assert!(info.contains("min_slaves_good_slaves:0"), "{info}");
    // The old name is an alias; max-lag 0 turns the check off.
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "min-slaves-to-write"]);
    assert_eq!(v, vec!["min-slaves-to-write", "1"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "min-replicas-max-lag", "0"]);
    let _: () = q(&mut c, &["SET", "x", "2"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "min-replicas-max-lag", "10"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "min-replicas-to-write", "0"]);
    let _: () = q(&mut c, &["SET", "x", "3"]);
}

/// newproxy works, but a proxy's metatable is locked: a __gc finalizer
/// could run inside a Rust allocation, and its error would jump over Rust
/// frames (it left the Lua lock held: every later script hung).
#[test]
fn newproxy_finalizers_cannot_be_set() {
    let s = TestServer::start();
    let mut c = s.conn();
    let t: String = eval(&mut c, "return type(newproxy(true))");
    assert_eq!(t, "userdata");
    let v: bool = eval(&mut c, "return getmetatable(newproxy(true)) == false");
    assert!(v);
    let e = eval_err(
        &mut c,
        "getmetatable(newproxy(true)).__gc = function() error('boom') end",
    );
    assert!(e.contains("attempt to index a boolean value"), "{e}");
    // A proxy made from another shares its (locked) metatable.
    let v: bool = eval(
        &mut c,
        "local p = newproxy(true) return getmetatable(newproxy(p)) == false",
    );
    assert!(v);
    // cjson's settings functions still answer, and scripting goes on.
    let d: i64 = eval(&mut c, "return cjson.encode_max_depth()");
    assert_eq!(d, 1000);
    let e = eval_err(&mut c, "return cjson.encode_max_depth('x')");
    assert!(e.contains("bad argument #1 to 'encode_max_depth'"), "{e}");
    let one: i64 = eval(&mut c, "return 1");
    assert_eq!(one, 1);
}
