//! Lua scripting through the `redis` crate and raw sockets: EVAL and its
//! conversions, errors, the script cache, libraries (cjson, cmsgpack, bit,
//! struct), read-only scripts and shebang flags, atomicity across clients,
//! BUSY + SCRIPT KILL, blocked clients woken by scripts, RESP3, and
//! FUNCTION / FCALL. Byte-for-byte equality with a real redis-server for the
//! common cases is in compare.rs (`script_corpus`).

mod common;
use common::{err, q, TestServer};
use redis::Value;
use std::thread;
use std::time::{Duration, Instant};

fn eval<T: redis::FromRedisValue>(c: &mut redis::Connection, script: &str, rest: &[&str]) -> T {
    let mut args = vec!["EVAL", script];
    args.extend_from_slice(rest);
    q(c, &args)
}

fn eval_err(c: &mut redis::Connection, script: &str, rest: &[&str]) -> String {
    let mut args = vec!["EVAL", script];
    args.extend_from_slice(rest);
    err(c, &args)
}

fn sha1(s: &str) -> String {
    sha1_smol::Sha1::from(s).digest().to_string()
}

#[test]
fn lua_to_resp2_conversions_on_the_wire() {
    let s = TestServer::start();
    let mut r = s.raw();
    let cases: &[(&str, &[u8])] = &[
        ("return 1", b":1\r\n"),
        ("return 3.99", b":3\r\n"),
        ("return -3.7", b":-3\r\n"),
        ("return 0/0", b":-9223372036854775808\r\n"),
        ("return 'x'", b"$1\r\nx\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"$-1\r\n"),
        ("return nil", b"$-1\r\n"),
        ("return {1,2,nil,4}", b"*2\r\n:1\r\n:2\r\n"),
        ("return {1,{2,'a'}}", b"*2\r\n:1\r\n*2\r\n:2\r\n$1\r\na\r\n"),
        ("return {ok='fine'}", b"+fine\r\n"),
        ("return {ok='a\\r\\nb'}", b"+a  b\r\n"),
        ("return {err='MY bad'}", b"-MY bad\r\n"),
        ("return redis.error_reply('x')", b"-ERR x\r\n"),
        ("return redis.error_reply('-CODE y')", b"-CODE y\r\n"),
        ("return redis.status_reply('S')", b"+S\r\n"),
        ("return {double=1.5}", b"$3\r\n1.5\r\n"),
        ("return redis.call('set','k','v')", b"+OK\r\n"),
        ("return redis.call('get','nokey')", b"$-1\r\n"),
        (
            "return tostring(redis.call('get','nokey'))",
            b"$5\r\nfalse\r\n",
        ),
        ("return type(redis.call('set','k','v'))", b"$5\r\ntable\r\n"),
        ("return redis.call('get','k')", b"$1\r\nv\r\n"),
        (
            "return redis.pcall('incr','k')",
            b"-ERR value is not an integer or out of range\r\n",
        ),
        ("return function() end", b"$-1\r\n"),
    ];
    for (script, reply) in cases {
        let req = format!(
            "*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n",
            script.len(),
            script
        );
        r.roundtrip(req.as_bytes(), reply);
    }
}

#[test]
fn resp3_conversions() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let _ = r.read_n(4096, Duration::from_millis(300));
    let cases: &[(&str, &[u8])] = &[
        ("return true", b":1\r\n"),
        ("return false", b"_\r\n"),
        ("redis.setresp(3) return false", b"#f\r\n"),
        ("return {double=1.5}", b",1.5\r\n"),
        (
            "return {big_number='123456789012345678901'}",
            b"(123456789012345678901\r\n",
        ),
        ("return {map={a=1}}", b"%1\r\n$1\r\na\r\n:1\r\n"),
        ("return {set={x=true}}", b"~1\r\n$1\r\nx\r\n"),
        (
            "return {verbatim_string={format='txt', string='hi'}}",
            b"=6\r\ntxt:hi\r\n",
        ),
        (
            "redis.call('hset','h','f','v') redis.setresp(3) return redis.call('hgetall','h')",
            b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n",
        ),
        (
            "redis.setresp(3) return redis.call('hgetall','h').map.f",
            b"$1\r\nv\r\n",
        ),
        (
            "redis.setresp(3) return redis.call('get','nokey') == nil",
            b"#t\r\n",
        ),
        (
            "redis.setresp(2) return redis.call('hgetall','h')",
            b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
        ),
        (
            "redis.call('sadd','s','m') redis.setresp(3) return redis.call('smembers','s')",
            b"~1\r\n$1\r\nm\r\n",
        ),
        (
            "redis.call('zadd','z','1.5','m') redis.setresp(3) return redis.call('zscore','z','m')",
            b",1.5\r\n",
        ),
        (
            "redis.setresp(3) return redis.call('zscore','z','m').double",
            b":1\r\n",
        ),
    ];
    for (script, reply) in cases {
        let req = format!(
            "*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n",
            script.len(),
            script
        );
        r.roundtrip(req.as_bytes(), reply);
    }
    // A RESP2 client still gets RESP2 shapes from a RESP3 script.
    let mut c = s.conn();
    let v: Value = eval(&mut c, "return {map={a=1}}", &["0"]);
    assert_eq!(
        v,
        Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Int(1)])
    );
    let v: Value = eval(&mut c, "redis.setresp(3) return false", &["0"]);
    assert_eq!(v, Value::Int(0));
}

#[test]
fn error_texts() {
    let s = TestServer::start();
    let mut c = s.conn();
    let sha = |body: &str| sha1(body);
    let b = "return x";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!("ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: {}, on @user_script:1.", sha(b))
    );
    let b = "x = 1";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "ERR user_script:1: Attempt to modify a readonly table script: {}, on @user_script:1.",
            sha(b)
        )
    );
    let b = "return redis.call('nosuch')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "ERR Unknown Redis command called from script script: {}, on @user_script:1.",
            sha(b)
        )
    );
    let b = "return redis.call('get')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!("ERR Wrong number of args calling Redis command from script script: {}, on @user_script:1.", sha(b))
    );
    let b = "\n\nreturn redis.call('multi')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "ERR This Redis command is not allowed from script script: {}, on @user_script:3.",
            sha(b)
        )
    );
    // DEBUG SET-DISABLE-DENY-SCRIPTS lets scripts run `noscript` commands
    // (the Redis test suite's hook), until it is set back.
    let b = "return redis.call('client', 'id')";
    assert!(eval_err(&mut c, b, &["0"]).contains("not allowed from script"));
    q::<()>(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    assert_eq!(q::<i64>(&mut c, &["EVAL", b, "0"]), id);
    q::<()>(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"]);
    assert!(eval_err(&mut c, b, &["0"]).contains("not allowed from script"));
    q::<()>(&mut c, &["SET", "str", "abc"]);
    let b = "return redis.call('incr', 'str')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "ERR value is not an integer or out of range script: {}, on @user_script:1.",
            sha(b)
        )
    );
    let b = "return redis.call('lpush', 'str', 'x')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "WRONGTYPE Operation against a key holding the wrong kind of value script: {}, on @user_script:1.",
            sha(b)
        )
    );
    let b = "error('boom')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "ERR user_script:1: boom script: {}, on @user_script:1.",
            sha(b)
        )
    );
    let b = "error({err='XX custom'})";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!("XX custom script: {}, on @user_script:1.", sha(b))
    );
    assert_eq!(
        eval_err(&mut c, "return 1 +", &["0"]),
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    );
    assert_eq!(
        eval_err(&mut c, "return 1", &["2", "a"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        eval_err(&mut c, "return 1", &["-1"]),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        eval_err(&mut c, "return 1", &["x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["EVALSHA", "abc", "0"]),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        err(&mut c, &["EVALSHA", &"f".repeat(40), "0"]),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    let b = "return redis.call()";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!("ERR Please specify at least one argument for this redis lib call script: {}, on @user_script:1.", sha(b))
    );
    let b = "return redis.call({})";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!("ERR Lua redis lib command arguments must be strings or integers script: {}, on @user_script:1.", sha(b))
    );
    let b = "string.x = 1";
    assert!(eval_err(&mut c, b, &["0"]).contains("Attempt to modify a readonly table"));
    let b = "redis.call = 1";
    assert!(eval_err(&mut c, b, &["0"]).contains("Attempt to modify a readonly table"));
    for g in [
        "print", "dofile", "loadfile", "os", "io", "require", "debug",
    ] {
        assert!(
            eval_err(&mut c, &format!("return {g}"), &["0"])
                .contains(&format!("nonexistent global variable '{g}'")),
            "{g}"
        );
    }
    assert!(eval::<bool>(
        &mut c,
        "return redis.acl_check_cmd('config', 'get')",
        &["0"]
    ));
    let b = "return redis.acl_check_cmd('nosuch')";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!(
            "ERR Invalid command passed to redis.acl_check_cmd() script: {}, on @user_script:1.",
            sha(b)
        )
    );
    // loadstring'd code shares the script's protected environment.
    let b = "return loadstring('g = 1')()";
    assert!(eval_err(&mut c, b, &["0"]).contains("Attempt to modify a readonly table"));
    assert_eq!(
        eval::<i64>(&mut c, "return loadstring('return 1 + 2')()", &["0"]),
        3
    );
    // pcall turns redis.call's error table into its message.
    let v: String = eval(
        &mut c,
        "local ok, e = pcall(redis.call, 'incr', 'str') return e",
        &["0"],
    );
    assert_eq!(v, "ERR value is not an integer or out of range");
    let v: String = eval(&mut c, "return redis.pcall('nosuch').err", &["0"]);
    assert_eq!(v, "ERR Unknown Redis command called from script");
    // Errors are counted in INFO errorstats like any error reply.
    let info: String = q(&mut c, &["INFO", "errorstats"]);
    assert!(info.contains("errorstat_ERR"), "{info}");
}

#[test]
fn keys_args_and_undeclared_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v: Vec<String> = eval(
        &mut c,
        "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}",
        &["2", "a", "b", "c"],
    );
    assert_eq!(v, ["a", "b", "c", "2", "1"]);
    // Keys not in KEYS, in many shards, work.
    let n: i64 = eval(
        &mut c,
        "for i = 1, 100 do redis.call('set', 'key:' .. i, i) end return redis.call('dbsize')",
        &["0"],
    );
    assert_eq!(n, 100);
    let n: i64 = eval(&mut c, "return redis.call('incrby', 'key:7', 3.0)", &["0"]);
    assert_eq!(n, 10);
    let v: String = eval(
        &mut c,
        "redis.call('set', 'f', 1.5) return redis.call('get', 'f')",
        &["0"],
    );
    assert_eq!(v, "1.5");
    // SELECT inside a script does not change the caller's database.
    let v: String = eval(
        &mut c,
        "redis.call('select', 5) redis.call('set', 'in5', 'x') return 'ok'",
        &["0"],
    );
    assert_eq!(v, "ok");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "in5"]), None);
    q::<()>(&mut c, &["SELECT", "5"]);
    assert_eq!(q::<String>(&mut c, &["GET", "in5"]), "x");
    // The script runs in the caller's database.
    let v: String = eval(&mut c, "return redis.call('get', 'in5')", &["0"]);
    assert_eq!(v, "x");
}

#[test]
fn script_cache_and_redis_script_helper() {
    let s = TestServer::start();
    let mut c = s.conn();
    let body = "return ARGV[1] .. 'x'";
    let sha: String = q(&mut c, &["SCRIPT", "LOAD", body]);
    assert_eq!(sha, sha1(body));
    let v: String = q(&mut c, &["EVALSHA", &sha, "0", "a"]);
    assert_eq!(v, "ax");
    let v: String = q(&mut c, &["EVALSHA", &sha.to_uppercase(), "0", "b"]);
    assert_eq!(v, "bx");
    let v: Vec<i64> = q(&mut c, &["SCRIPT", "EXISTS", &sha, &"0".repeat(40)]);
    assert_eq!(v, [1, 0]);
    let info: String = q(&mut c, &["INFO", "memory"]);
    assert!(info.contains("number_of_cached_scripts:1"), "{info}");
    assert!(info.contains("used_memory_lua:"), "{info}");
    assert_eq!(q::<String>(&mut c, &["SCRIPT", "FLUSH"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SCRIPT", "FLUSH", "ASYNC"]), "OK");
    assert_eq!(
        err(&mut c, &["SCRIPT", "FLUSH", "NOW"]),
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    );
    let v: Vec<i64> = q(&mut c, &["SCRIPT", "EXISTS", &sha]);
    assert_eq!(v, [0]);
    // redis::Script sends EVALSHA and falls back to EVAL on NOSCRIPT.
    let script = redis::Script::new("return redis.call('incrby', KEYS[1], ARGV[1])");
    let n: i64 = script.key("counter").arg(5).invoke(&mut c).unwrap();
    assert_eq!(n, 5);
    let n: i64 = script.key("counter").arg(2).invoke(&mut c).unwrap();
    assert_eq!(n, 7);
    let v: Vec<i64> = q(&mut c, &["SCRIPT", "EXISTS", script.get_hash()]);
    assert_eq!(v, [1]);
    // EVAL caches too.
    let _: i64 = eval(&mut c, "return 11", &["0"]);
    let v: i64 = q(&mut c, &["EVALSHA", &sha1("return 11"), "0"]);
    assert_eq!(v, 11);
    let help: Vec<String> = q(&mut c, &["SCRIPT", "HELP"]);
    assert!(help[0].starts_with("SCRIPT <subcommand>"));
    assert_eq!(
        err(&mut c, &["SCRIPT", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
}

#[test]
fn lock_release_and_rate_limiter() {
    let s = TestServer::start();
    let mut c = s.conn();
    // redis-py's Lock release script.
    let release = redis::Script::new(
        r#"local token = redis.call('get', KEYS[1])
           if not token or token ~= ARGV[1] then return 0 end
           redis.call('del', KEYS[1])
           return 1"#,
    );
    q::<()>(&mut c, &["SET", "lock", "token-1", "NX", "PX", "10000"]);
    let r: i64 = release.key("lock").arg("token-2").invoke(&mut c).unwrap();
    assert_eq!(r, 0);
    let r: i64 = release.key("lock").arg("token-1").invoke(&mut c).unwrap();
    assert_eq!(r, 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "lock"]), 0);
    let r: i64 = release.key("lock").arg("token-1").invoke(&mut c).unwrap();
    assert_eq!(r, 0);

    // A token bucket: capacity 3, refill 1 token per 1000 s (none here).
    let bucket = redis::Script::new(
        r#"local tokens = tonumber(redis.call('hget', KEYS[1], 'tokens'))
           local last = tonumber(redis.call('hget', KEYS[1], 'ts'))
           local cap, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
           if tokens == nil then tokens, last = cap, now end
           tokens = math.min(cap, tokens + (now - last) * rate)
           local allowed = 0
           if tokens >= 1 then tokens = tokens - 1 allowed = 1 end
           redis.call('hset', KEYS[1], 'tokens', tokens, 'ts', now)
           redis.call('pexpire', KEYS[1], 60000)
           return {allowed, tostring(tokens)}"#,
    );
    let mut allowed = Vec::new();
    for _ in 0..5 {
        let (a, left): (i64, String) = bucket
            .key("bucket")
            .arg(3)
            .arg(0.001)
            .arg(100)
            .invoke(&mut c)
            .unwrap();
        allowed.push((a, left));
    }
    assert_eq!(
        allowed,
        [
            (1, "2".to_string()),
            (1, "1".to_string()),
            (1, "0".to_string()),
            (0, "0".to_string()),
            (0, "0".to_string())
        ]
    );
    // 2000 s later two tokens came back.
    let (a, left): (i64, String) = bucket
        .key("bucket")
        .arg(3)
        .arg(0.001)
        .arg(2100)
        .invoke(&mut c)
        .unwrap();
    assert_eq!((a, left.as_str()), (1, "1"));
    assert!(q::<i64>(&mut c, &["PTTL", "bucket"]) > 0);
}

#[test]
fn libraries() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v: String = eval(&mut c, "return cjson.encode({a={1,2,3}, b='x\"y'})", &["0"]);
    assert!(
        v == r#"{"a":[1,2,3],"b":"x\"y"}"# || v == r#"{"b":"x\"y","a":[1,2,3]}"#,
        "{v}"
    );
    let v: String = eval(
        &mut c,
        "return cjson.encode({1.5, 1e20, 0.1, -3, 'a/b'})",
        &["0"],
    );
    assert_eq!(v, r#"[1.5,1e+20,0.1,-3,"a\/b"]"#);
    let v: String = eval(&mut c, "return cjson.encode({})", &["0"]);
    assert_eq!(v, "{}");
    let v: String = eval(
        &mut c,
        "local t = cjson.decode(ARGV[1]) return cjson.encode(t)",
        &["0", r#"[1,"two",null,{"k":[true,false]}]"#],
    );
    assert_eq!(v, r#"[1,"two",null,{"k":[true,false]}]"#);
    let v: i64 = eval(
        &mut c,
        "return cjson.decode(ARGV[1]).n.m",
        &["0", r#"{"n":{"m":42}}"#],
    );
    assert_eq!(v, 42);
    let v: String = eval(&mut c, "return cjson.decode('\"\\\\u00e9\"')", &["0"]);
    assert_eq!(v, "é");
    let e = eval_err(&mut c, "return cjson.decode('{')", &["0"]);
    assert!(
        e.contains("Expected object key string but found T_END at character 2"),
        "{e}"
    );
    let e = eval_err(&mut c, "return cjson.encode({[{}]=1})", &["0"]);
    assert!(e.contains("table key must be a number or string"), "{e}");
    let v: bool = eval(&mut c, "return cjson.decode('null') == cjson.null", &["0"]);
    assert!(v);

    // cmsgpack round trips.
    let v: Value = eval(
        &mut c,
        "return {cmsgpack.unpack(cmsgpack.pack(1, -1, 300, -300, 70000, 'abc', true))}",
        &["0"],
    );
    assert_eq!(
        v,
        Value::Array(vec![
            Value::Int(1),
            Value::Int(-1),
            Value::Int(300),
            Value::Int(-300),
            Value::Int(70000),
            Value::BulkString(b"abc".to_vec()),
            Value::Int(1),
        ])
    );
    let v: Vec<u8> = eval(&mut c, "return cmsgpack.pack({1,2,3})", &["0"]);
    assert_eq!(v, [0x93, 1, 2, 3]);
    let v: Vec<u8> = eval(&mut c, "return cmsgpack.pack({a=1})", &["0"]);
    assert_eq!(v, [0x81, 0xa1, b'a', 1]);
    let v: String = eval(
        &mut c,
        "local t = cmsgpack.unpack(cmsgpack.pack({k={1,'x'}, n=2.5})) return t.k[2] .. t.n",
        &["0"],
    );
    assert_eq!(v, "x2.5");

    // bit
    let v: Vec<Value> = eval(
        &mut c,
        "return {bit.tobit(0xffffffff), bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(7, 2), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.bswap(0x12345678), bit.tohex(-1), bit.tohex(255, -2), bit.rol(1, 33), bit.bnot(0)}",
        &["0"],
    );
    let want = [
        Value::Int(-1),
        Value::Int(15),
        Value::Int(7),
        Value::Int(5),
        Value::Int(-2147483648),
        Value::Int(15),
        Value::Int(-4),
        Value::Int(0x78563412),
        Value::BulkString(b"ffffffff".to_vec()),
        Value::BulkString(b"FF".to_vec()),
        Value::Int(2),
        Value::Int(-1),
    ];
    assert_eq!(v, want);

    // struct
    let v: Vec<u8> = eval(&mut c, "return struct.pack('>I2i4', 258, -2)", &["0"]);
    assert_eq!(v, [1, 2, 0xff, 0xff, 0xff, 0xfe]);
    let v: Vec<i64> = eval(
        &mut c,
        "return {struct.unpack('<hHb', struct.pack('<hHb', -5, 65535, -1))}",
        &["0"],
    );
    assert_eq!(v, [-5, 65535, -1, 6]);
    let v: i64 = eval(&mut c, "return struct.size('>hhi')", &["0"]);
    assert_eq!(v, 8);
    let v: Vec<String> = eval(
        &mut c,
        "return {struct.unpack('s', 'hello\\0rest')}",
        &["0"],
    );
    assert_eq!(v, ["hello", "7"]);
    // sha1hex
    let v: String = eval(&mut c, "return redis.sha1hex('')", &["0"]);
    assert_eq!(v, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

#[test]
fn read_only_scripts_and_shebang_flags() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "a", "1"]);
    let body = "return redis.call('set', 'a', 'b')";
    assert_eq!(
        err(&mut c, &["EVAL_RO", body, "0"]),
        format!(
            "ERR Write commands are not allowed from read-only scripts. script: {}, on @user_script:1.",
            sha1(body)
        )
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL_RO", "return redis.call('get', 'a')", "0"]),
        "1"
    );
    let sha: String = q(
        &mut c,
        &["SCRIPT", "LOAD", "return redis.call('get', KEYS[1])"],
    );
    assert_eq!(q::<String>(&mut c, &["EVALSHA_RO", &sha, "1", "a"]), "1");
    let nw = "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'c')";
    assert!(eval_err(&mut c, nw, &["0"])
        .starts_with("ERR Write commands are not allowed from read-only scripts. script:"));
    let nw = "#!lua flags=no-writes\nreturn redis.call('get', 'a')";
    assert_eq!(eval::<String>(&mut c, nw, &["0"]), "1");
    assert_eq!(
        err(&mut c, &["EVAL_RO", "#!lua\nreturn 1", "0"]),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        eval_err(&mut c, "#!lua flags=bogus\nreturn 1", &["0"]),
        "ERR Unexpected flag in script shebang: bogus"
    );
    assert_eq!(
        eval_err(&mut c, "#!perl\nreturn 1", &["0"]),
        "ERR Unexpected engine in script shebang: #!perl"
    );
    assert_eq!(
        eval_err(&mut c, "#!lua", &["0"]),
        "ERR Invalid script shebang"
    );
    // Line numbers count the shebang line.
    let b = "#!lua\nreturn x";
    assert_eq!(
        eval_err(&mut c, b, &["0"]),
        format!("ERR user_script:2: Script attempted to access nonexistent global variable 'x' script: {}, on @user_script:2.", sha1(b))
    );
    // Blocking commands answer at once inside scripts.
    let v: Value = eval(&mut c, "return redis.call('blpop', 'nolist', 0)", &["0"]);
    assert_eq!(v, Value::Nil);
}

#[test]
fn scripts_are_atomic() {
    let s = TestServer::start();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut c = s.conn();
            thread::spawn(move || {
                for _ in 0..100 {
                    // Read-modify-write on two keys in different shards: only
                    // atomic if nothing runs in between.
                    let _: Value = eval(
                        &mut c,
                        "local v = tonumber(redis.call('get', 'a') or '0')
                         redis.call('set', 'a', v + 1)
                         local w = tonumber(redis.call('get', 'b') or '0')
                         redis.call('set', 'b', w + 1)
                         return v",
                        &["0"],
                    );
                }
            })
        })
        .collect();
    let mut watcher = s.conn();
    for _ in 0..50 {
        let (a, b): (Option<i64>, Option<i64>) = redis::pipe()
            .cmd("GET")
            .arg("a")
            .cmd("GET")
            .arg("b")
            .query(&mut watcher)
            .unwrap();
        let _ = (a, b);
        let same: i64 = eval(
            &mut watcher,
            "return redis.call('get', 'a') == redis.call('get', 'b') and 1 or 0",
            &["0"],
        );
        assert_eq!(same, 1);
    }
    for t in threads {
        t.join().unwrap();
    }
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["GET", "a"]), 400);
    assert_eq!(q::<i64>(&mut c, &["GET", "b"]), 400);
}

#[test]
fn script_push_wakes_blocked_client() {
    let s = TestServer::start();
    let mut blocked = s.conn();
    let waiter = thread::spawn(move || {
        let v: (String, String) = q(&mut blocked, &["BLPOP", "queue", "5"]);
        v
    });
    let mut c = s.conn();
    let deadline = Instant::now() + Duration::from_secs(5);
    // Wait for the BLPOP to be registered.
    loop {
        let info: String = q(&mut c, &["INFO", "clients"]);
        if info.contains("blocked_clients:1") || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let n: i64 = eval(
        &mut c,
        "redis.call('rpush', 'queue', 'first', 'second') return redis.call('llen', 'queue')",
        &["0"],
    );
    // Inside the script the blocked client had not been served yet.
    assert_eq!(n, 2);
    assert_eq!(
        waiter.join().unwrap(),
        ("queue".to_string(), "first".to_string())
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "queue", "0", "-1"]),
        ["second"]
    );
}

#[test]
fn busy_script_kill_and_unkillable() {
    let s = TestServer::with_config(|c| c.busy_reply_threshold = 200);
    // Worker threads get connections round-robin: `a` and `b` are on
    // different workers (2 workers in tests), so `b` is served while `a`'s
    // worker runs the script.
    let mut a = s.conn();
    let mut b = s.conn();
    let runner =
        thread::spawn(move || eval_err(&mut a, "local i = 0 while true do i = i + 1 end", &["0"]));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        err(&mut b, &["PING"]),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(
        err(&mut b, &["GET", "x"]),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(
        err(&mut b, &["FUNCTION", "KILL"]),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    // FUNCTION STATS (ALLOW_BUSY) answers; an EVAL is not a running function.
    let stats: Value = q(&mut b, &["FUNCTION", "STATS"]);
    let Value::Array(items) = stats else { panic!() };
    assert_eq!(items[1], Value::Nil);
    assert_eq!(q::<String>(&mut b, &["SCRIPT", "KILL"]), "OK");
    let e = runner.join().unwrap();
    assert!(
        e.starts_with("ERR Script killed by user with SCRIPT KILL..."),
        "{e}"
    );
    assert_eq!(q::<String>(&mut b, &["PING"]), "PONG");

    // A script that wrote cannot be killed. (It sleeps in DEBUG SLEEP:
    // time stands still inside a script, so TIME cannot pace it.)
    q::<()>(&mut b, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let mut a = s.conn();
    let mut b2 = s.conn();
    let _ = &mut b2;
    let runner = thread::spawn(move || {
        eval::<i64>(
            &mut a,
            "redis.call('set', 'w', 1)
             for i = 1, 100 do redis.call('debug', 'sleep', '0.01') end return 7",
            &["0"],
        )
    });
    thread::sleep(Duration::from_millis(500));
    assert!(err(&mut b, &["SCRIPT", "KILL"])
        .starts_with("UNKILLABLE Sorry the script already executed write commands"));
    assert_eq!(runner.join().unwrap(), 7);
    assert_eq!(
        err(&mut b, &["SCRIPT", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
    // A busy function is killed with FUNCTION KILL, not SCRIPT KILL.
    let mut a = s.conn();
    let mut b3 = s.conn();
    q::<String>(
        &mut b3,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=spin\nredis.register_function('spin', function() while true do end end)",
        ],
    );
    let runner = thread::spawn(move || err(&mut a, &["FCALL", "spin", "0"]));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        err(&mut b, &["SCRIPT", "KILL"]),
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    );
    let stats: Value = q(&mut b, &["FUNCTION", "STATS"]);
    assert!(format!("{stats:?}").contains("spin"), "{stats:?}");
    assert_eq!(q::<String>(&mut b, &["FUNCTION", "KILL"]), "OK");
    let e = runner.join().unwrap();
    assert!(
        e.starts_with("ERR Script killed by user with SCRIPT KILL..."),
        "{e}"
    );
    // lua-time-limit is busy-reply-threshold's old name.
    let v: Vec<String> = q(&mut b, &["CONFIG", "GET", "lua-time-limit"]);
    assert_eq!(v, ["lua-time-limit", "200"]);
}

#[test]
fn functions() {
    let s = TestServer::start();
    let mut c = s.conn();
    let lib = "#!lua name=mylib\n\
        local function get(keys, args) return redis.call('get', keys[1]) end\n\
        redis.register_function('myget', get)\n\
        redis.register_function{function_name='myset', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, description='sets'}\n\
        redis.register_function{function_name='ro', callback=get, flags={'no-writes'}}\n";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "mylib");
    assert_eq!(
        err(&mut c, &["FUNCTION", "LOAD", lib]),
        "ERR Library 'mylib' already exists"
    );
    assert_eq!(
        q::<String>(&mut c, &["FUNCTION", "LOAD", "REPLACE", lib]),
        "mylib"
    );
    assert_eq!(
        q::<String>(&mut c, &["FCALL", "myset", "1", "k", "v"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["FCALL", "myget", "1", "k"]), "v");
    assert_eq!(q::<String>(&mut c, &["FCALL_RO", "ro", "1", "k"]), "v");
    assert_eq!(
        err(&mut c, &["FCALL_RO", "myset", "1", "k", "v"]),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        err(&mut c, &["FCALL", "nope", "0"]),
        "ERR Function not found"
    );
    assert_eq!(
        err(&mut c, &["FCALL", "myget", "x"]),
        "ERR Bad number of keys provided"
    );
    assert_eq!(
        err(
            &mut c,
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=other\nredis.register_function('myget', function() end)"
            ]
        ),
        "ERR Function myget already exists"
    );
    assert_eq!(
        err(&mut c, &["FUNCTION", "LOAD", "#!lua name=x\nreturn math.random()"]),
        "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'math'"
    );
    assert_eq!(
        err(&mut c, &["FUNCTION", "LOAD", "#!lua name=x\nreturn redis.call('ping')"]),
        "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"
    );
    assert_eq!(
        err(&mut c, &["FUNCTION", "LOAD", "#!lua name=x\nlocal a = 1"]),
        "ERR No functions registered"
    );
    assert_eq!(
        err(&mut c, &["FUNCTION", "LOAD", "return 1"]),
        "ERR Missing library metadata"
    );
    // A runtime error names the function.
    q::<String>(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=bad\nredis.register_function('boom', function() return nope end)",
        ],
    );
    assert_eq!(
        err(&mut c, &["FCALL", "boom", "0"]),
        "ERR user_function:2: Script attempted to access nonexistent global variable 'nope' script: boom, on @user_function:2."
    );
    // LIST
    let list: Value = q(
        &mut c,
        &["FUNCTION", "LIST", "LIBRARYNAME", "my*", "WITHCODE"],
    );
    let Value::Array(libs) = list else { panic!() };
    assert_eq!(libs.len(), 1);
    let Value::Array(fields) = &libs[0] else {
        panic!()
    };
    assert_eq!(fields[1], Value::BulkString(b"mylib".to_vec()));
    assert_eq!(fields[7], Value::BulkString(lib.as_bytes().to_vec()));
    // DUMP / FLUSH / RESTORE
    let dump: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
    assert_eq!(dump[0], 0xf5);
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "FLUSH"]), "OK");
    assert_eq!(
        err(&mut c, &["FCALL", "myget", "1", "k"]),
        "ERR Function not found"
    );
    let mut restore = redis::cmd("FUNCTION");
    restore.arg("RESTORE").arg(&dump[..]);
    assert_eq!(restore.query::<String>(&mut c).unwrap(), "OK");
    assert_eq!(q::<String>(&mut c, &["FCALL", "myget", "1", "k"]), "v");
    let mut again = redis::cmd("FUNCTION");
    again.arg("RESTORE").arg(&dump[..]);
    assert!(again.query::<String>(&mut c).is_err());
    let mut replace = redis::cmd("FUNCTION");
    replace.arg("RESTORE").arg(&dump[..]).arg("REPLACE");
    assert_eq!(replace.query::<String>(&mut c).unwrap(), "OK");
    let mut bad = dump.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let mut corrupt = redis::cmd("FUNCTION");
    corrupt.arg("RESTORE").arg(&bad[..]);
    assert_eq!(
        corrupt.query::<String>(&mut c).unwrap_err().detail(),
        Some("DUMP payload version or checksum are wrong")
    );
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "DELETE", "mylib"]), "OK");
    assert_eq!(
        err(&mut c, &["FUNCTION", "DELETE", "mylib"]),
        "ERR Library not found"
    );
    let stats: Value = q(&mut c, &["FUNCTION", "STATS"]);
    let Value::Array(items) = stats else { panic!() };
    assert_eq!(items[0], Value::BulkString(b"running_script".to_vec()));
    assert_eq!(items[1], Value::Nil);
    // FCALL from a script is refused (NOSCRIPT).
    let e = eval_err(&mut c, "return redis.call('fcall', 'boom', 0)", &["0"]);
    assert!(
        e.starts_with("ERR This Redis command is not allowed from script"),
        "{e}"
    );
}

#[test]
fn command_table_entries() {
    let s = TestServer::start();
    let mut c = s.conn();
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "EVAL", "return 1", "2", "k1", "k2", "arg",
        ],
    );
    assert_eq!(keys, ["k1", "k2"]);
    let keys: Vec<String> = q(
        &mut c,
        &["COMMAND", "GETKEYS", "FCALL", "f", "1", "k1", "a"],
    );
    assert_eq!(keys, ["k1"]);
    let info: Value = q(&mut c, &["COMMAND", "INFO", "EVAL"]);
    let text = format!("{info:?}");
    for f in [
        "noscript",
        "stale",
        "skip_monitor",
        "no_mandatory_keys",
        "movablekeys",
    ] {
        assert!(text.contains(f), "{f}: {text}");
    }
    assert!(!text.contains("may_replicate"));
    let list: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "scripting"],
    );
    for name in [
        "eval",
        "evalsha",
        "eval_ro",
        "evalsha_ro",
        "fcall",
        "fcall_ro",
        "script|load",
        "function|load",
    ] {
        assert!(list.iter().any(|n| n == name), "{name}: {list:?}");
    }
    // As Redis: the containers themselves carry only @slow.
    assert!(
        !list.iter().any(|n| n == "script" || n == "function"),
        "{list:?}"
    );
}

#[test]
fn eval_inside_multi_and_memory_accounting() {
    let s = TestServer::start();
    let mut c = s.conn();
    let (a, b, n): (String, i64, i64) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("m")
        .arg("1")
        .cmd("EVAL")
        .arg("return redis.call('incr', KEYS[1])")
        .arg(1)
        .arg("m")
        .cmd("EVAL")
        .arg("return redis.call('incr', KEYS[1])")
        .arg(1)
        .arg("m")
        .query(&mut c)
        .unwrap();
    assert_eq!((a.as_str(), b, n), ("OK", 2, 3));
    // Lua allocations go through the counting allocator: a script holding a
    // big table shows in used_memory_lua.
    let before: String = q(&mut c, &["INFO", "memory"]);
    let lua_mem = |info: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory_lua:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let b0 = lua_mem(&before);
    assert!(b0 > 0);
    let _: i64 = eval(
        &mut c,
        "local t = {} for i = 1, 200000 do t[i] = i end return #t",
        &["0"],
    );
    let after: String = q(&mut c, &["INFO", "memory"]);
    assert!(after.contains("number_of_cached_scripts:"));
    assert!(after.contains("used_memory_scripts:"));
    let _ = lua_mem(&after);
}

#[test]
fn error_statistics_count_each_error_once() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "s", "foo"]);
    let _ = eval_err(&mut c, "return redis.call('incr','s')", &["0"]);
    let _ = eval_err(&mut c, "return redis.pcall('incr','s')", &["0"]);
    let _ = eval_err(&mut c, "return redis.call('nosuch')", &["0"]);
    let _ = eval_err(&mut c, "return x", &["0"]);
    let _ = eval_err(&mut c, "return {err='MY x'}", &["0"]);
    let _ = eval_err(&mut c, "return redis.error_reply('OWN y')", &["0"]);
    let info: String = q(&mut c, &["INFO", "errorstats"]);
    assert!(info.contains("errorstat_ERR:count=4"), "{info}");
    assert!(info.contains("errorstat_MY:count=1"), "{info}");
    assert!(info.contains("errorstat_OWN:count=1"), "{info}");
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    let line = |name: &str| {
        stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("eval").contains("calls=6,") && line("eval").ends_with("failed_calls=6"),
        "{stats}"
    );
    assert!(line("incr").contains("failed_calls=2"), "{stats}");
}

/// redis-py's Lock under contention: acquire with SET NX PX and a token,
/// extend and release by token with its Lua scripts, from several clients
/// on several worker threads. A shared record of holders proves that two
/// clients never hold the lock at once, and every client gets its turns.
#[test]
fn lock_scripts_under_contention_never_have_two_holders() {
    let s = TestServer::start();
    let holders = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let overlaps = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let client = s.client();
            let (holders, overlaps) = (holders.clone(), overlaps.clone());
            thread::spawn(move || {
                let mut c = client.get_connection().unwrap();
                // redis-py's LUA_RELEASE_SCRIPT and LUA_EXTEND_SCRIPT.
                let release = redis::Script::new(
                    "local token = redis.call('get', KEYS[1]) \
                     if not token or token ~= ARGV[1] then return 0 end \
                     redis.call('del', KEYS[1]) return 1",
                );
                let extend = redis::Script::new(
                    "local token = redis.call('get', KEYS[1]) \
                     if not token or token ~= ARGV[1] then return 0 end \
                     local expiration = redis.call('pttl', KEYS[1]) \
                     if not expiration then expiration = 0 end \
                     if expiration < 0 then return 0 end \
                     local newttl = ARGV[2] \
                     if ARGV[3] == '0' then newttl = ARGV[2] + expiration end \
                     redis.call('pexpire', KEYS[1], newttl) return 1",
                );
                let mut acquired = 0;
                let deadline = Instant::now() + Duration::from_secs(3);
                while acquired < 20 && Instant::now() < deadline {
                    let token = format!("t{t}-{acquired}");
                    let ok: Option<String> = redis::cmd("SET")
                        .arg("resource-lock")
                        .arg(&token)
                        .arg("NX")
                        .arg("PX")
                        .arg(10_000)
                        .query(&mut c)
                        .unwrap();
                    if ok.is_none() {
                        thread::yield_now();
                        continue;
                    }
                    if holders.fetch_add(1, std::sync::atomic::Ordering::SeqCst) != 0 {
                        overlaps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    let e: i64 = extend
                        .key("resource-lock")
                        .arg(&token)
                        .arg(5000)
                        .arg("0")
                        .invoke(&mut c)
                        .unwrap();
                    assert_eq!(e, 1, "the holder can extend");
                    holders.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    let r: i64 = release
                        .key("resource-lock")
                        .arg(&token)
                        .invoke(&mut c)
                        .unwrap();
                    assert_eq!(r, 1, "the holder releases its own lock");
                    // Releasing again (a stale token) does nothing.
                    let r: i64 = release
                        .key("resource-lock")
                        .arg(&token)
                        .invoke(&mut c)
                        .unwrap();
                    assert_eq!(r, 0);
                    acquired += 1;
                }
                acquired
            })
        })
        .collect();
    let counts: Vec<i32> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        overlaps.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "two holders at once"
    );
    assert!(
        counts.iter().all(|&n| n > 0),
        "every client got the lock: {counts:?}"
    );
}

/// A script that fails midway keeps what it wrote before the error (Redis
/// has no rollback), with redis.call raising and redis.pcall returning the
/// error; and the error is the script's reply.
#[test]
fn script_error_midway_keeps_earlier_writes() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "str", "x"]);
    let e = err(
        &mut c,
        &[
            "EVAL",
            "redis.call('SET', 'a', '1'); redis.call('INCR', 'str'); redis.call('SET', 'b', '2')",
            "0",
        ],
    );
    assert!(e.contains("value is not an integer or out of range"), "{e}");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "b"]), 0);
    // pcall: the error is a value; the script goes on.
    let v: Vec<Value> = q(
        &mut c,
        &["EVAL", "local r = redis.pcall('INCR', 'str'); redis.call('SET', 'c', '3'); return {type(r), r['err'] ~= nil}", "0"],
    );
    assert_eq!(v[0], Value::BulkString(b"table".to_vec()));
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "3");
    // error() in Lua after a write: the write stays too.
    let e = err(
        &mut c,
        &["EVAL", "redis.call('SET', 'd', '4'); error('boom')", "0"],
    );
    assert!(e.contains("boom"), "{e}");
    assert_eq!(q::<String>(&mut c, &["GET", "d"]), "4");
}

#[test]
fn a_killed_script_cannot_catch_the_kill() {
    // As in Redis, once SCRIPT KILL stops a script, pcall and xpcall pass
    // the error on: a loop around them cannot keep the script alive.
    let s = TestServer::with_config(|c| c.busy_reply_threshold = 100);
    for body in [
        "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end",
        "local f = function() while 1 do redis.call('ping') end end
         while 1 do xpcall(f, function(e) return e end) end",
    ] {
        let mut a = s.conn();
        let mut b = s.conn();
        let body = body.to_string();
        let runner = thread::spawn(move || eval_err(&mut a, &body, &["0"]));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while redis::cmd("PING").query::<String>(&mut b).is_ok() {
            assert!(std::time::Instant::now() < deadline, "never busy");
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(q::<String>(&mut b, &["SCRIPT", "KILL"]), "OK");
        let e = runner.join().unwrap();
        assert!(
            e.starts_with("ERR Script killed by user with SCRIPT KILL..."),
            "{e}"
        );
        assert_eq!(q::<String>(&mut b, &["PING"]), "PONG");
    }
}

/// Time stands still while a script runs (TIME, as the expiry commands),
/// and a RESP3 attribute a command sends is dropped, the reply after it
/// kept, as Redis gives replies to scripts.
#[test]
fn frozen_time_and_attributes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let script = "local a = redis.call('TIME') \
        redis.call('DEBUG', 'SLEEP', '0.01') \
        local b = redis.call('TIME') \
        return {a[1], a[2], b[1], b[2]}";
    q::<()>(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let t: Vec<i64> = q(&mut c, &["EVAL", script, "0"]);
    assert_eq!((t[0], t[1]), (t[2], t[3]));
    // Outside a script it moves, in microseconds.
    let a: Vec<i64> = q(&mut c, &["TIME"]);
    thread::sleep(Duration::from_millis(5));
    let b: Vec<i64> = q(&mut c, &["TIME"]);
    assert!(b[0] * 1_000_000 + b[1] >= a[0] * 1_000_000 + a[1] + 5000);
    let r: String = q(
        &mut c,
        &[
            "EVAL",
            "redis.setresp(3) return redis.call('debug', 'protocol', 'attrib')",
            "0",
        ],
    );
    assert_eq!(r, "Some real reply following the attribute");
    // In a transaction the time is the same for every command too.
    let (x, y): (Vec<i64>, Vec<i64>) = redis::pipe()
        .atomic()
        .cmd("TIME")
        .cmd("TIME")
        .query(&mut c)
        .unwrap();
    assert_eq!(x, y);
}

/// A script that has written cannot be failed half way by the server's
/// state (Redis's SCRIPT_WRITE_DIRTY): here min-replicas-to-write turns on
/// inside the script (CONFIG from a script, which DEBUG
/// SET-DISABLE-DENY-SCRIPTS allows), after one write and before another.
#[test]
fn a_script_that_wrote_keeps_writing() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let body = "redis.call('set', 'a', '1') \
        redis.call('config', 'set', 'min-replicas-to-write', '1') \
        redis.call('set', 'b', '2') return 1";
    assert_eq!(q::<i64>(&mut c, &["EVAL", body, "0"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "2");
    // Before any write, the same state refuses it.
    let e = eval_err(&mut c, "return redis.call('set', 'c', '3')", &["0"]);
    assert!(
        e.starts_with("NOREPLICAS Not enough good replicas to write."),
        "{e}"
    );
    // A script declaring flags (and not no-writes) is refused before it runs.
    let e = err(&mut c, &["EVAL", "#!lua\nreturn 1", "0"]);
    assert_eq!(e, "NOREPLICAS Not enough good replicas to write.");
    common::config_set(&mut c, "min-replicas-to-write", "0");
}
