//! String commands through the `redis` crate. Expected replies were checked
//! against a real redis-server.

mod common;
use common::{err, q, TestServer};
use redis::Value;

#[test]
fn set_options() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<Value>(&mut c, &["SET", "k", "v", "XX"]), Value::Nil);
    assert_eq!(
        q::<Value>(&mut c, &["SET", "k", "v", "NX", "EX", "100"]),
        Value::Okay
    );
    assert_eq!(
        q::<Value>(&mut c, &["SET", "k", "w", "KEEPTTL", "GET"]),
        Value::BulkString(b"v".to_vec())
    );
    assert!(q::<i64>(&mut c, &["TTL", "k"]) > 90);
    q::<()>(&mut c, &["SET", "k", "x"]);
    assert_eq!(
        q::<i64>(&mut c, &["TTL", "k"]),
        -1,
        "plain SET clears the TTL"
    );
    assert_eq!(
        q::<Value>(&mut c, &["SET", "k", "y", "NX", "GET"]),
        Value::BulkString(b"x".to_vec())
    );
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "x");
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "NX", "XX"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "EX", "10", "PX", "10"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "KEEPTTL", "EX", "10"]),
        "ERR syntax error"
    );
    assert_eq!(err(&mut c, &["SET", "k", "v", "EX"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "EX", "0"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "EX", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "EX", "9223372036854775807"]),
        "ERR invalid expire time in 'set' command"
    );
    // An absolute time in the past: OK, and the key is gone.
    assert_eq!(
        q::<Value>(&mut c, &["SET", "k", "v", "PXAT", "1"]),
        Value::Okay
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "2"]), 0);
    q::<()>(&mut c, &["SETEX", "b", "100", "v"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), 100);
    assert_eq!(
        err(&mut c, &["SETEX", "b", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        err(&mut c, &["PSETEX", "b", "-1", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    q::<()>(&mut c, &["PSETEX", "p", "100000", "v"]);
    assert!(q::<i64>(&mut c, &["PTTL", "p"]) > 99_000);
    assert_eq!(q::<String>(&mut c, &["GETSET", "a", "5"]), "1");
    assert_eq!(q::<Value>(&mut c, &["GETSET", "new", "5"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["GETDEL", "a"]), "5");
    assert_eq!(q::<Value>(&mut c, &["GETDEL", "a"]), Value::Nil);
    q::<()>(&mut c, &["SET", "g", "v"]);
    assert_eq!(q::<String>(&mut c, &["GETEX", "g", "EX", "100"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "g"]), 100);
    assert_eq!(q::<String>(&mut c, &["GETEX", "g", "PERSIST"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "g"]), -1);
    assert_eq!(
        err(&mut c, &["GETEX", "g", "PX", "10", "PERSIST"]),
        "ERR syntax error"
    );
    assert_eq!(q::<String>(&mut c, &["GETEX", "g", "EXAT", "1"]), "v");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "g"]), 0);
}

#[test]
fn mget_mset_msetnx() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Keys in different shards: MSET/MGET are atomic across them.
    q::<()>(&mut c, &["MSET", "x", "1", "y", "2", "z", "3"]);
    let v: Vec<Option<String>> = q(&mut c, &["MGET", "x", "y", "nope", "z"]);
    assert_eq!(
        v,
        vec![Some("1".into()), Some("2".into()), None, Some("3".into())]
    );
    assert_eq!(
        err(&mut c, &["MSET", "x", "1", "y"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "x", "9", "new", "2"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "new"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "new", "2", "new2", "3"]), 1);
}

#[test]
fn append_strlen_ranges() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["APPEND", "ap", "hello"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "ap", " world"]), 11);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "ap"]), "raw");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "ap"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "nope"]), 0);
    for (a, b, want) in [
        ("0", "4", "hello"),
        ("-5", "-1", "world"),
        ("5", "1", ""),
        ("-1", "-5", ""),
        ("0", "-100", "h"),
        ("100", "200", ""),
    ] {
        assert_eq!(
            q::<String>(&mut c, &["GETRANGE", "ap", a, b]),
            want,
            "GETRANGE {a} {b}"
        );
    }
    assert_eq!(q::<String>(&mut c, &["SUBSTR", "ap", "0", "2"]), "hel");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "ap", "6", "WORLD"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "ap"]), "hello WORLD");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "sr", "5", "x"]), 6);
    assert_eq!(
        q::<Vec<u8>>(&mut c, &["GET", "sr"]),
        b"\0\0\0\0\0x".to_vec()
    );
    assert_eq!(
        err(&mut c, &["SETRANGE", "sr", "-1", "x"]),
        "ERR offset is out of range"
    );
    // A new key gets exactly its size (Redis's sdsnewlen), not a doubled
    // buffer: 100 KB of string, not 200.
    assert_eq!(
        q::<i64>(&mut c, &["SETRANGE", "wide", "100000", "x"]),
        100001
    );
    let usage: i64 = q(&mut c, &["MEMORY", "USAGE", "wide"]);
    assert!((100001..110000).contains(&usage), "{usage}");
    // Growing past 1 MB reserves 1 MB more at a time, as Redis's sds does,
    // not as much again as the string holds.
    let chunk = "y".repeat(100_000);
    for _ in 0..25 {
        let _: i64 = q(&mut c, &["APPEND", "grown", &chunk]);
    }
    let usage: i64 = q(&mut c, &["MEMORY", "USAGE", "grown"]);
    assert!((2_500_000..3_600_000).contains(&usage), "{usage}");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "nope", "0", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nope"]), 0);
    // Past 512 MB: refused before anything is allocated.
    assert_eq!(
        err(&mut c, &["SETRANGE", "big", "536870912", "x"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[test]
fn counters() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "10"]), 11);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 10);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "5"]), 5);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "n"]), "int");
    assert_eq!(
        err(&mut c, &["INCRBY", "n", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    q::<()>(&mut c, &["SET", "n", "9223372036854775807"]);
    assert_eq!(
        err(&mut c, &["INCR", "n"]),
        "ERR increment or decrement would overflow"
    );
    q::<()>(&mut c, &["SET", "s", "010"]);
    assert_eq!(
        err(&mut c, &["INCR", "s"]),
        "ERR value is not an integer or out of range"
    );
    // INCR keeps the TTL (the rate-limiter pattern depends on it).
    q::<()>(&mut c, &["SET", "rl", "1", "EX", "60"]);
    assert_eq!(q::<i64>(&mut c, &["INCR", "rl"]), 2);
    assert_eq!(q::<i64>(&mut c, &["TTL", "rl"]), 60);
}

#[test]
fn incrbyfloat_like_redis() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "f", "10.5"]);
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "g", "3.0e3"]), "3000");
    // Like Redis, the result is a string object even when integral.
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "g"]), "embstr");
    assert_eq!(
        q::<String>(&mut c, &["INCRBYFLOAT", "h", "123456.7"]),
        "123456.70000000000000284"
    );
    assert_eq!(
        err(&mut c, &["INCRBYFLOAT", "f", "abc"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(&mut c, &["INCRBYFLOAT", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    q::<()>(&mut c, &["SET", "s", "abc"]);
    assert_eq!(
        err(&mut c, &["INCRBYFLOAT", "s", "1"]),
        "ERR value is not a valid float"
    );
}

#[test]
fn lcs() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["MSET", "{l}1", "ohmytext", "{l}2", "mynewtext"]);
    assert_eq!(q::<String>(&mut c, &["LCS", "{l}1", "{l}2"]), "mytext");
    assert_eq!(q::<i64>(&mut c, &["LCS", "{l}1", "{l}2", "LEN"]), 6);
    // IDX: ranges from the end backwards, then the total length.
    let v: Value = q(
        &mut c,
        &[
            "LCS",
            "{l}1",
            "{l}2",
            "IDX",
            "MINMATCHLEN",
            "4",
            "WITHMATCHLEN",
        ],
    );
    let expected = Value::Array(vec![
        Value::BulkString(b"matches".to_vec()),
        Value::Array(vec![Value::Array(vec![
            Value::Array(vec![Value::Int(4), Value::Int(7)]),
            Value::Array(vec![Value::Int(5), Value::Int(8)]),
            Value::Int(4),
        ])]),
        Value::BulkString(b"len".to_vec()),
        Value::Int(6),
    ]);
    assert_eq!(v, expected);
    assert_eq!(q::<String>(&mut c, &["LCS", "{l}1", "nope"]), "");
    assert_eq!(
        err(&mut c, &["LCS", "{l}1", "{l}2", "LEN", "IDX"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(
        err(&mut c, &["LCS", "{l}1", "{l}2", "FOO"]),
        "ERR syntax error"
    );
    // Two large strings would need a huge table: refused, nothing allocated.
    let big = "x".repeat(20_000);
    q::<()>(&mut c, &["MSET", "{l}a", &big, "{l}b", &big]);
    assert_eq!(
        err(&mut c, &["LCS", "{l}a", "{l}b"]),
        "ERR Insufficient memory"
    );
}
