//! Lists through the `redis` crate (and raw sockets for RESP3 shapes and
//! pipelining around blocking pops). Command-by-command equality with a real
//! redis-server is in compare.rs; this file covers what a seeded corpus
//! cannot: encodings and config, the keyspace commands, huge counts, and
//! blocking with several clients (wake-ups, FIFO order, timeouts,
//! disconnects, BLMOVE chains across shards, a job-queue workload).

mod common;
use common::{blocked_clients, err, q, wait_blocked, TestServer};
use redis::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn range(c: &mut redis::Connection, key: &str) -> Vec<String> {
    q(c, &["LRANGE", key, "0", "-1"])
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn push_and_pop() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "l", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "l", "a", "b"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "l"]),
        0,
        "X forms create nothing"
    );
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "l", "b", "a"]), 2);
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "l", "c", "d"]), 4);
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "l", "0"]), 5);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "l", "e", "f"]), 7);
    assert_eq!(range(&mut c, "l"), ["0", "a", "b", "c", "d", "e", "f"]);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 7);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "missing"]), 0);

    assert_eq!(q::<String>(&mut c, &["LPOP", "l"]), "0");
    assert_eq!(q::<String>(&mut c, &["RPOP", "l"]), "f");
    assert_eq!(q::<Vec<String>>(&mut c, &["LPOP", "l", "2"]), ["a", "b"]);
    // RPOP with a count answers nearest the tail first.
    assert_eq!(q::<Vec<String>>(&mut c, &["RPOP", "l", "2"]), ["e", "d"]);
    assert_eq!(
        q::<Value>(&mut c, &["LPOP", "l", "0"]),
        Value::Array(vec![])
    );
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 1, "count 0 pops nothing");
    // A huge count pops what is there and allocates nothing for the rest.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LPOP", "l", "9223372036854775807"]),
        ["c"]
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "l"]),
        0,
        "empty list is deleted"
    );
    assert_eq!(q::<Value>(&mut c, &["LPOP", "l"]), Value::Nil);
    assert_eq!(q::<Value>(&mut c, &["RPOP", "l", "3"]), Value::Nil);
    assert_eq!(q::<Value>(&mut c, &["LPOP", "l", "0"]), Value::Nil);

    // Binary-safe elements, empty ones too.
    redis::cmd("RPUSH")
        .arg("bin")
        .arg(&b"\x00\xff\r\n"[..])
        .arg("")
        .query::<i64>(&mut c)
        .expect("rpush");
    let got: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg("bin")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .expect("lrange");
    assert_eq!(got, [b"\x00\xff\r\n".to_vec(), vec![]]);

    // Big elements (past any node limit) and many small ones.
    let big = "x".repeat(100_000);
    q::<()>(&mut c, &["RPUSH", "big", &big, "small", &big]);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "big", "2"]), big);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "big", "1"]), "small");
    let mut p = redis::pipe();
    for i in 0..5000 {
        p.cmd("RPUSH").arg("many").arg(i).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    assert_eq!(q::<i64>(&mut c, &["LLEN", "many"]), 5000);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "many", "2500"]), "2500");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "many", "-1"]), "4999");
}

#[test]
fn ranges_and_indices() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "1", "3"]),
        ["b", "c", "d"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "-2", "-1"]),
        ["d", "e"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "-100", "1"]),
        ["a", "b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "3", "100"]),
        ["d", "e"]
    );
    assert!(q::<Vec<String>>(&mut c, &["LRANGE", "l", "3", "1"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["LRANGE", "l", "5", "10"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["LRANGE", "l", "0", "-6"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["LRANGE", "missing", "0", "-1"]).is_empty());
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "0", "9223372036854775807"]),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"]
        ),
        ["a", "b", "c", "d", "e"]
    );
    assert!(q::<Vec<String>>(
        &mut c,
        &["LRANGE", "l", "9223372036854775807", "-9223372036854775808"]
    )
    .is_empty());
    assert_eq!(
        err(&mut c, &["LRANGE", "l", "0", "9223372036854775808"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["LRANGE", "l", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    // LRANGE parses its indices before it looks at the key.
    assert_eq!(
        err(&mut c, &["LRANGE", "missing", "x", "1"]),
        "ERR value is not an integer or out of range"
    );

    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "0"]), "a");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "-1"]), "e");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "-5"]), "a");
    assert_eq!(q::<Value>(&mut c, &["LINDEX", "l", "5"]), Value::Nil);
    assert_eq!(q::<Value>(&mut c, &["LINDEX", "l", "-6"]), Value::Nil);
    assert_eq!(
        q::<Value>(&mut c, &["LINDEX", "l", "-9223372036854775808"]),
        Value::Nil
    );
    assert_eq!(
        q::<Value>(&mut c, &["LINDEX", "l", "9223372036854775807"]),
        Value::Nil
    );
    assert_eq!(
        err(&mut c, &["LINDEX", "l", "x"]),
        "ERR value is not an integer or out of range"
    );
    // LINDEX looks at the key first: a missing key answers nil, whatever the index.
    assert_eq!(q::<Value>(&mut c, &["LINDEX", "missing", "x"]), Value::Nil);

    // A big list, read across many nodes from both ends.
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("RPUSH").arg("big").arg(format!("e{i}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    let all = range(&mut c, "big");
    assert_eq!(all.len(), 3000);
    assert!(all.iter().enumerate().all(|(i, e)| *e == format!("e{i}")));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "big", "-3", "-1"]),
        ["e2997", "e2998", "e2999"]
    );
    assert_eq!(q::<String>(&mut c, &["LINDEX", "big", "1777"]), "e1777");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "big", "-1777"]), "e1223");
}

#[test]
fn lset_linsert_lrem_ltrim() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    q::<()>(&mut c, &["LSET", "l", "0", "A"]);
    q::<()>(&mut c, &["LSET", "l", "-1", "C"]);
    assert_eq!(range(&mut c, "l"), ["A", "b", "C"]);
    assert_eq!(
        err(&mut c, &["LSET", "l", "3", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        err(&mut c, &["LSET", "l", "-4", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        err(&mut c, &["LSET", "l", "-9223372036854775808", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        err(&mut c, &["LSET", "missing", "0", "x"]),
        "ERR no such key"
    );
    assert_eq!(
        err(&mut c, &["LSET", "l", "x", "y"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["LSET", "missing", "x", "y"]),
        "ERR no such key"
    );

    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "BEFORE", "b", "ab"]), 4);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "after", "C", "D"]), 5);
    assert_eq!(
        q::<i64>(&mut c, &["LINSERT", "l", "AFTER", "nope", "x"]),
        -1
    );
    assert_eq!(
        q::<i64>(&mut c, &["LINSERT", "missing", "AFTER", "a", "x"]),
        0
    );
    assert_eq!(
        err(&mut c, &["LINSERT", "l", "MIDDLE", "b", "x"]),
        "ERR syntax error"
    );
    assert_eq!(range(&mut c, "l"), ["A", "ab", "b", "C", "D"]);
    // The first match is the pivot.
    q::<()>(&mut c, &["RPUSH", "p", "x", "y", "x"]);
    q::<()>(&mut c, &["LINSERT", "p", "AFTER", "x", "z"]);
    assert_eq!(range(&mut c, "p"), ["x", "z", "y", "x"]);

    q::<()>(&mut c, &["DEL", "r"]);
    q::<()>(&mut c, &["RPUSH", "r", "x", "a", "x", "b", "x", "c", "x"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "r", "2", "x"]), 2);
    assert_eq!(range(&mut c, "r"), ["a", "b", "x", "c", "x"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "r", "-1", "x"]), 1);
    assert_eq!(range(&mut c, "r"), ["a", "b", "x", "c"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "r", "0", "nope"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["LREM", "r", "-9223372036854775808", "x"]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["LREM", "missing", "0", "x"]), 0);
    assert_eq!(
        err(&mut c, &["LREM", "r", "x", "a"]),
        "ERR value is not an integer or out of range"
    );
    q::<()>(&mut c, &["RPUSH", "same", "v", "v", "v"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "same", "0", "v"]), 3);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "same"]), 0);

    q::<()>(&mut c, &["RPUSH", "t", "0", "1", "2", "3", "4", "5"]);
    q::<()>(&mut c, &["LTRIM", "t", "1", "-2"]);
    assert_eq!(range(&mut c, "t"), ["1", "2", "3", "4"]);
    q::<()>(&mut c, &["LTRIM", "t", "-100", "100"]);
    assert_eq!(range(&mut c, "t"), ["1", "2", "3", "4"]);
    q::<()>(
        &mut c,
        &["LTRIM", "t", "-9223372036854775808", "9223372036854775807"],
    );
    assert_eq!(range(&mut c, "t"), ["1", "2", "3", "4"]);
    q::<()>(&mut c, &["LTRIM", "t", "2", "2"]);
    assert_eq!(range(&mut c, "t"), ["3"]);
    assert_eq!(q::<String>(&mut c, &["LTRIM", "t", "5", "1"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "t"]), 0, "trimmed to nothing");
    assert_eq!(q::<String>(&mut c, &["LTRIM", "missing", "0", "1"]), "OK");
    assert_eq!(
        err(&mut c, &["LTRIM", "missing", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn lpos_options_and_limits() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
    );
    assert_eq!(q::<i64>(&mut c, &["LPOS", "l", "c"]), 2);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "l", "c", "RANK", "2"]), 6);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "l", "c", "RANK", "-1"]), 7);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "l", "c", "RANK", "-3"]), 2);
    assert_eq!(
        q::<Value>(&mut c, &["LPOS", "l", "c", "RANK", "4"]),
        Value::Nil
    );
    assert_eq!(q::<Value>(&mut c, &["LPOS", "l", "zz"]), Value::Nil);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "COUNT", "0"]),
        [2, 6, 7]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "COUNT", "2"]),
        [2, 6]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"]),
        [7, 6]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "2", "COUNT", "0"]),
        [6, 7]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        [2, 6]
    );
    assert_eq!(
        q::<Value>(&mut c, &["LPOS", "l", "c", "MAXLEN", "2"]),
        Value::Nil
    );
    assert_eq!(
        q::<Vec<i64>>(
            &mut c,
            &["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1", "COUNT", "0"]
        ),
        [7]
    );
    assert!(q::<Vec<i64>>(&mut c, &["LPOS", "l", "zz", "COUNT", "1"]).is_empty());
    assert_eq!(q::<Value>(&mut c, &["LPOS", "missing", "a"]), Value::Nil);
    assert!(q::<Vec<i64>>(&mut c, &["LPOS", "missing", "a", "COUNT", "1"]).is_empty());
    // Fewer matches than the rank: nil, even for the largest rank.
    assert_eq!(
        q::<Value>(&mut c, &["LPOS", "l", "a", "RANK", "-9223372036854775807"]),
        Value::Nil
    );
    assert_eq!(
        q::<Value>(&mut c, &["LPOS", "l", "a", "RANK", "9223372036854775807"]),
        Value::Nil
    );
    for (args, msg) in [
        (
            &["RANK", "0"][..],
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        ),
        (
            &["RANK", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        (&["RANK", "x"], "ERR value is not an integer or out of range"),
        (&["COUNT", "-1"], "ERR COUNT can't be negative"),
        (&["COUNT", "x"], "ERR COUNT can't be negative"),
        (&["MAXLEN", "-1"], "ERR MAXLEN can't be negative"),
        (&["MAXLEN", "x"], "ERR MAXLEN can't be negative"),
        (&["RANK"], "ERR syntax error"),
        (&["FOO", "1"], "ERR syntax error"),
        (&["COUNT", "1", "MAXLEN"], "ERR syntax error"),
    ] {
        let mut full = vec!["LPOS", "l", "a"];
        full.extend_from_slice(args);
        assert_eq!(err(&mut c, &full), msg, "{full:?}");
        // Options are checked before the key is looked up.
        full[1] = "missing";
        assert_eq!(err(&mut c, &full), msg, "{full:?}");
    }

    // COUNT 0 MAXLEN 0 on a big list answers every match, and no more.
    let mut p = redis::pipe();
    for i in 0..20_000 {
        p.cmd("RPUSH")
            .arg("big")
            .arg(if i % 1000 == 0 { "hit" } else { "miss" })
            .ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    let hits: Vec<i64> = q(&mut c, &["LPOS", "big", "hit", "COUNT", "0", "MAXLEN", "0"]);
    assert_eq!(hits, (0..20).map(|i| i * 1000).collect::<Vec<i64>>());
    let hits: Vec<i64> = q(
        &mut c,
        &[
            "LPOS",
            "big",
            "hit",
            "COUNT",
            "9223372036854775807",
            "RANK",
            "-1",
        ],
    );
    assert_eq!(hits.len(), 20);
    assert_eq!(hits[0], 19000);
    assert!(q::<Vec<i64>>(&mut c, &["LPOS", "big", "nope", "COUNT", "0"]).is_empty());
}

#[test]
fn lmove_rpoplpush_lmpop() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["RPUSH", "src", "a", "b", "c"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]),
        "a"
    );
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "dst", "right", "left"]),
        "c"
    );
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "src", "dst"]), "b");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "src"]), 0);
    assert_eq!(range(&mut c, "dst"), ["b", "c", "a"]);
    assert_eq!(
        q::<Value>(&mut c, &["LMOVE", "src", "dst", "LEFT", "LEFT"]),
        Value::Nil
    );
    assert_eq!(q::<Value>(&mut c, &["RPOPLPUSH", "src", "dst"]), Value::Nil);
    assert_eq!(
        err(&mut c, &["LMOVE", "src", "dst", "UP", "LEFT"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["LMOVE", "dst", "src", "LEFT", "DOWN"]),
        "ERR syntax error"
    );
    // Rotation of one list onto itself, both ways.
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "dst", "dst", "LEFT", "RIGHT"]),
        "b"
    );
    assert_eq!(range(&mut c, "dst"), ["c", "a", "b"]);
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "dst", "dst"]), "b");
    assert_eq!(range(&mut c, "dst"), ["b", "c", "a"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "dst", "dst", "LEFT", "LEFT"]),
        "b"
    );
    assert_eq!(range(&mut c, "dst"), ["b", "c", "a"]);
    q::<()>(&mut c, &["RPUSH", "one", "x"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "one", "one", "RIGHT", "LEFT"]),
        "x"
    );
    assert_eq!(range(&mut c, "one"), ["x"]);

    // LMPOP: the first non-empty key, nested reply, count capped.
    q::<()>(&mut c, &["RPUSH", "m2", "1", "2", "3"]);
    assert_eq!(
        q::<Value>(&mut c, &["LMPOP", "2", "m1", "m2", "LEFT"]),
        Value::Array(vec![bulk("m2"), Value::Array(vec![bulk("1")])])
    );
    assert_eq!(
        q::<Value>(&mut c, &["LMPOP", "2", "m1", "m2", "RIGHT", "COUNT", "10"]),
        Value::Array(vec![bulk("m2"), Value::Array(vec![bulk("3"), bulk("2")])])
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "m2"]), 0);
    assert_eq!(
        q::<Value>(&mut c, &["LMPOP", "2", "m1", "m2", "LEFT"]),
        Value::Nil
    );
    q::<()>(&mut c, &["RPUSH", "m1", "a"]);
    assert_eq!(
        q::<Value>(
            &mut c,
            &["LMPOP", "1", "m1", "left", "count", "9223372036854775807"]
        ),
        Value::Array(vec![bulk("m1"), Value::Array(vec![bulk("a")])])
    );
    for (args, msg) in [
        (
            &["LMPOP", "0", "m1", "LEFT"][..],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["LMPOP", "-1", "m1", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["LMPOP", "x", "m1", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (&["LMPOP", "2", "m1", "LEFT"], "ERR syntax error"),
        (
            &["LMPOP", "9223372036854775807", "m1", "LEFT"],
            "ERR syntax error",
        ),
        (&["LMPOP", "1", "m1", "MIDDLE"], "ERR syntax error"),
        (&["LMPOP", "1", "m1", "LEFT", "COUNT"], "ERR syntax error"),
        (
            &["LMPOP", "1", "m1", "LEFT", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "m1", "LEFT", "COUNT", "-1"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "m1", "LEFT", "COUNT", "x"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "m1", "LEFT", "COUNT", "9223372036854775808"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "m1", "LEFT", "COUNT", "1", "COUNT", "1"],
            "ERR syntax error",
        ),
        (
            &["LMPOP", "1", "m1", "LEFT", "FOO", "1"],
            "ERR syntax error",
        ),
        (
            &["BLMPOP", "0", "0", "m1", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["BLMPOP", "-1", "1", "m1", "LEFT"],
            "ERR timeout is negative",
        ),
        (
            &["BLMPOP", "0", "1", "m1", "LEFT", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (&["BLMOVE", "a", "b", "LEFT", "UP", "0"], "ERR syntax error"),
        (
            &["BLMOVE", "a", "b", "LEFT", "LEFT", "-1"],
            "ERR timeout is negative",
        ),
        (
            &["BRPOPLPUSH", "a", "b", "x"],
            "ERR timeout is not a float or out of range",
        ),
    ] {
        assert_eq!(err(&mut c, args), msg, "{args:?}");
    }
}

#[test]
fn arity_and_count_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["RPUSH", "l", "a"]);
    for (args, name) in [
        (&["LPUSH", "l"][..], "lpush"),
        (&["RPUSH"], "rpush"),
        (&["LPUSHX", "l"], "lpushx"),
        (&["RPUSHX", "l"], "rpushx"),
        (&["LPOP"], "lpop"),
        (&["LPOP", "l", "1", "2"], "lpop"),
        (&["RPOP", "l", "1", "2"], "rpop"),
        (&["LLEN"], "llen"),
        (&["LLEN", "l", "x"], "llen"),
        (&["LRANGE", "l", "0"], "lrange"),
        (&["LINDEX", "l"], "lindex"),
        (&["LSET", "l", "0"], "lset"),
        (&["LINSERT", "l", "BEFORE", "a"], "linsert"),
        (&["LREM", "l", "0"], "lrem"),
        (&["LTRIM", "l", "0"], "ltrim"),
        (&["LPOS", "l"], "lpos"),
        (&["LMOVE", "l", "d", "LEFT"], "lmove"),
        (&["RPOPLPUSH", "l"], "rpoplpush"),
        (&["LMPOP", "1", "l"], "lmpop"),
        (&["BLPOP", "l"], "blpop"),
        (&["BRPOP", "l"], "brpop"),
        (&["BLMOVE", "l", "d", "LEFT", "LEFT"], "blmove"),
        (&["BRPOPLPUSH", "l", "d"], "brpoplpush"),
        (&["BLMPOP", "0", "1", "l"], "blmpop"),
    ] {
        assert_eq!(
            err(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
    for cmd in ["LPOP", "RPOP"] {
        for bad in ["-1", "x", "9223372036854775808", "1.5"] {
            assert_eq!(
                err(&mut c, &[cmd, "l", bad]),
                "ERR value is out of range, must be positive",
                "{cmd} {bad}"
            );
            // The count is checked before the key is looked up.
            assert_eq!(
                err(&mut c, &[cmd, "missing", bad]),
                "ERR value is out of range, must be positive"
            );
        }
    }
    assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", "l", "0", "-1"]), ["a"]);
}

#[test]
fn wrong_type_for_every_command() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "s", "x"]);
    q::<()>(&mut c, &["RPUSH", "l", "a", "b"]);
    let cases: &[&[&str]] = &[
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["LPOP", "s", "2"],
        &["RPOP", "s"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "l"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "2", "s", "l", "LEFT"],
        &["LMPOP", "2", "missing", "s", "LEFT"],
        &["BLPOP", "s", "0"],
        &["BLPOP", "missing", "s", "l", "0"],
        &["BRPOP", "s", "0"],
        &["BLMOVE", "s", "l", "LEFT", "LEFT", "0"],
        &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "s", "l", "0"],
        &["BRPOPLPUSH", "l", "s", "0"],
        &["BLMPOP", "0", "2", "s", "l", "LEFT"],
    ];
    for args in cases {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // Nothing moved out of the list on the way to a wrong destination.
    assert_eq!(range(&mut c, "l"), ["a", "b"]);
    // A list key answers WRONGTYPE to other families.
    assert!(err(&mut c, &["GET", "l"]).starts_with("WRONGTYPE"));
    assert!(err(&mut c, &["SADD", "l", "a"]).starts_with("WRONGTYPE"));
    // A missing source answers nil even when the destination has another type.
    assert_eq!(
        q::<Value>(&mut c, &["LMOVE", "missing", "s", "LEFT", "LEFT"]),
        Value::Nil
    );
    // BLPOP stops at a key of another type even if a later key has data.
    assert_eq!(err(&mut c, &["BLPOP", "s", "l", "0"]), WRONGTYPE);
    // ...but a list before it is served first.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["BLPOP", "l", "s", "0"]),
        ["l", "a"]
    );
}

#[test]
fn encodings_follow_redis_7_2_rules() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "list-max-listpack-size"]),
        ["list-max-listpack-size", "-2"]
    );
    // Default -2: one node of up to 8 KB stays a listpack, whatever the count.
    let mut p = redis::pipe();
    for i in 0..500 {
        p.cmd("RPUSH").arg("small").arg(i).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    assert_eq!(encoding(&mut c, "small"), "listpack");
    let mut p = redis::pipe();
    for _ in 0..5000 {
        p.cmd("RPUSH").arg("small").arg("abcdef").ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    assert_eq!(encoding(&mut c, "small"), "quicklist");
    // Shrinking back needs one node under half the limit.
    q::<()>(&mut c, &["LTRIM", "small", "0", "9"]);
    assert_eq!(encoding(&mut c, "small"), "listpack");

    // One element larger than the node limit: quicklist at once.
    let big = "x".repeat(9000);
    q::<()>(&mut c, &["RPUSH", "big", "a", &big]);
    assert_eq!(encoding(&mut c, "big"), "quicklist");
    assert_eq!(q::<String>(&mut c, &["RPOP", "big"]), big);
    assert_eq!(encoding(&mut c, "big"), "listpack");
    // LSET that grows converts; LSET that shrinks converts back.
    q::<()>(&mut c, &["LSET", "big", "0", &big]);
    assert_eq!(encoding(&mut c, "big"), "quicklist");
    q::<()>(&mut c, &["LSET", "big", "0", "tiny"]);
    assert_eq!(encoding(&mut c, "big"), "listpack");
    // LINSERT grows.
    q::<()>(&mut c, &["LINSERT", "big", "BEFORE", "tiny", &big]);
    assert_eq!(encoding(&mut c, "big"), "quicklist");
    q::<()>(&mut c, &["LREM", "big", "0", &big]);
    assert_eq!(encoding(&mut c, "big"), "listpack");

    // A count limit, changed live.
    q::<()>(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "4"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "list-max-ziplist-size"]),
        ["list-max-ziplist-size", "4"]
    );
    q::<()>(&mut c, &["RPUSH", "n", "1", "2", "3", "4"]);
    assert_eq!(encoding(&mut c, "n"), "listpack");
    q::<()>(&mut c, &["RPUSH", "n", "5"]);
    assert_eq!(encoding(&mut c, "n"), "quicklist");
    // Back under the limit is not enough: half of it (2 entries) is.
    q::<()>(&mut c, &["RPOP", "n"]);
    assert_eq!(encoding(&mut c, "n"), "quicklist");
    q::<()>(&mut c, &["RPOP", "n"]);
    assert_eq!(encoding(&mut c, "n"), "quicklist");
    q::<()>(&mut c, &["LPOP", "n"]);
    assert_eq!(encoding(&mut c, "n"), "listpack");
    assert_eq!(range(&mut c, "n"), ["2", "3"]);
    // One push of five elements converts in one go.
    q::<()>(&mut c, &["LPUSH", "five", "a", "b", "c", "d", "e"]);
    assert_eq!(encoding(&mut c, "five"), "quicklist");
    q::<()>(&mut c, &["LMPOP", "1", "five", "LEFT", "COUNT", "3"]);
    assert_eq!(encoding(&mut c, "five"), "listpack");
    assert_eq!(range(&mut c, "five"), ["b", "a"]);
    // With a count limit, only the 8 KB safety limit bounds the bytes, and
    // shrinking back looks at the count alone (Redis halves an unlimited size).
    let e3k = "y".repeat(3000);
    q::<()>(&mut c, &["RPUSH", "wide", &e3k, &e3k, &e3k]);
    assert_eq!(encoding(&mut c, "wide"), "quicklist");
    q::<()>(&mut c, &["RPOP", "wide"]);
    assert_eq!(encoding(&mut c, "wide"), "listpack");
    // LMOVE to a new key builds a listpack; the target grows like a push.
    q::<()>(&mut c, &["RPUSH", "from", "1", "2", "3", "4", "5", "6"]);
    for _ in 0..4 {
        q::<()>(&mut c, &["LMOVE", "from", "to", "LEFT", "RIGHT"]);
    }
    assert_eq!(encoding(&mut c, "to"), "listpack");
    q::<()>(&mut c, &["LMOVE", "from", "to", "LEFT", "RIGHT"]);
    assert_eq!(encoding(&mut c, "to"), "quicklist");
    assert_eq!(encoding(&mut c, "from"), "listpack");
    // Redis 7.2 checks growth before it looks for LSET's index or LINSERT's
    // pivot, counting one more entry: a full listpack converts either way.
    q::<()>(&mut c, &["RPUSH", "full", "1", "2", "3", "4"]);
    q::<()>(&mut c, &["LSET", "full", "0", "x"]);
    assert_eq!(encoding(&mut c, "full"), "quicklist");
    q::<()>(&mut c, &["DEL", "full"]);
    q::<()>(&mut c, &["RPUSH", "full", "1", "2", "3", "4"]);
    assert_eq!(
        err(&mut c, &["LSET", "full", "9", "x"]),
        "ERR index out of range"
    );
    assert_eq!(encoding(&mut c, "full"), "quicklist");
    q::<()>(&mut c, &["DEL", "full"]);
    q::<()>(&mut c, &["RPUSH", "full", "1", "2", "3", "4"]);
    assert_eq!(
        q::<i64>(&mut c, &["LINSERT", "full", "BEFORE", "nope", "x"]),
        -1
    );
    assert_eq!(encoding(&mut c, "full"), "quicklist");
    // LMOVE k k runs the shrinking check too: after the limit was raised, a
    // one-node quicklist goes back to listpack on rotation.
    q::<()>(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "100"]);
    q::<()>(&mut c, &["LMOVE", "full", "full", "LEFT", "RIGHT"]);
    assert_eq!(encoding(&mut c, "full"), "listpack");
    assert_eq!(range(&mut c, "full"), ["2", "3", "4", "1"]);
    // A size limit again: -1 is 4 KB.
    q::<()>(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "-1"]);
    q::<()>(&mut c, &["RPUSH", "kb", &"z".repeat(5000)]);
    assert_eq!(encoding(&mut c, "kb"), "quicklist");
    q::<()>(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "-2"]);
    q::<()>(&mut c, &["RPUSH", "kb2", &"z".repeat(5000)]);
    assert_eq!(encoding(&mut c, "kb2"), "listpack");
}

#[test]
fn keyspace_commands_and_ttl_on_rotation() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    q::<()>(&mut c, &["SET", "str", "x"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "l"]), "list");
    q::<()>(&mut c, &["RPUSH", "l2", "z"]);
    let (_, mut found): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("list")
        .arg("COUNT")
        .arg(1000)
        .query(&mut c)
        .expect("scan");
    found.sort();
    assert_eq!(found, ["l", "l2"]);

    assert_eq!(q::<i64>(&mut c, &["COPY", "l", "lc"]), 1);
    q::<()>(&mut c, &["RPOP", "l"]);
    assert_eq!(range(&mut c, "lc"), ["a", "b", "c"], "COPY is deep");
    assert_eq!(q::<i64>(&mut c, &["COPY", "l", "lc"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "l", "lc", "REPLACE"]), 1);
    assert_eq!(range(&mut c, "lc"), ["a", "b"]);
    q::<()>(&mut c, &["RENAME", "lc", "lr"]);
    assert_eq!(range(&mut c, "lr"), ["a", "b"]);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "lr", "2"]), 1);
    q::<()>(&mut c, &["SELECT", "2"]);
    assert_eq!(range(&mut c, "lr"), ["a", "b"]);
    q::<()>(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "lr"]), 0);

    // LMOVE k k rotates in place: the TTL stays.
    q::<()>(&mut c, &["EXPIRE", "l", "1000"]);
    q::<()>(&mut c, &["LMOVE", "l", "l", "LEFT", "RIGHT"]);
    q::<()>(&mut c, &["RPOPLPUSH", "l", "l"]);
    let ttl: i64 = q(&mut c, &["TTL", "l"]);
    assert!(ttl > 990 && ttl <= 1000, "{ttl}");
    // Pushes and pops keep it too; a moved-to new key has none.
    q::<()>(&mut c, &["RPUSH", "l", "c"]);
    q::<()>(&mut c, &["LMOVE", "l", "fresh", "LEFT", "LEFT"]);
    assert!(q::<i64>(&mut c, &["TTL", "l"]) > 990);
    assert_eq!(q::<i64>(&mut c, &["TTL", "fresh"]), -1);
    // An expired list is gone for every list command.
    q::<()>(&mut c, &["PEXPIRE", "l", "20"]);
    thread::sleep(Duration::from_millis(60));
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 0);
    assert_eq!(
        q::<Value>(&mut c, &["LMOVE", "l", "l", "LEFT", "LEFT"]),
        Value::Nil
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "l"]), 0);
    // DEL and UNLINK of a list.
    assert_eq!(q::<i64>(&mut c, &["DEL", "l2", "fresh"]), 2);
}

/// Send `HELLO 3` on a raw connection and skip its reply.
fn resp3(s: &TestServer) -> common::Raw {
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let hello = r.read_n(200, Duration::from_millis(500));
    assert!(hello.ends_with(b"$7\r\nmodules\r\n*0\r\n"));
    r
}

#[test]
fn reply_shapes_in_resp2_and_resp3() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"LPOP nokey\r\n", b"$-1\r\n");
    r.roundtrip(b"LPOP nokey 1\r\n", b"*-1\r\n");
    r.roundtrip(b"LMPOP 1 nokey LEFT\r\n", b"*-1\r\n");
    r.roundtrip(b"BLPOP nokey 0.01\r\n", b"*-1\r\n");
    r.roundtrip(b"BLMPOP 0.01 1 nokey LEFT\r\n", b"*-1\r\n");
    r.roundtrip(b"BLMOVE nokey d LEFT LEFT 0.01\r\n", b"$-1\r\n");
    r.roundtrip(b"BRPOPLPUSH nokey d 0.01\r\n", b"$-1\r\n");
    r.roundtrip(b"LPOS nokey a\r\n", b"$-1\r\n");
    r.roundtrip(b"LPOS nokey a COUNT 1\r\n", b"*0\r\n");
    r.roundtrip(b"LRANGE nokey 0 -1\r\n", b"*0\r\n");

    let mut r = resp3(&s);
    r.roundtrip(b"RPUSH l a b c d\r\n", b":4\r\n");
    r.roundtrip(b"LPOP l 2\r\n", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    r.roundtrip(b"LPOP l 0\r\n", b"*0\r\n");
    r.roundtrip(b"LPOP nokey 1\r\n", b"_\r\n");
    r.roundtrip(b"LPOP nokey\r\n", b"_\r\n");
    r.roundtrip(b"LINDEX l 99\r\n", b"_\r\n");
    r.roundtrip(
        b"LMPOP 1 l RIGHT\r\n",
        b"*2\r\n$1\r\nl\r\n*1\r\n$1\r\nd\r\n",
    );
    r.roundtrip(b"LMPOP 1 nokey RIGHT\r\n", b"_\r\n");
    r.roundtrip(b"BLPOP l 0\r\n", b"*2\r\n$1\r\nl\r\n$1\r\nc\r\n");
    r.roundtrip(b"BLPOP nokey 0.01\r\n", b"_\r\n");
    r.roundtrip(b"BLMPOP 0.01 1 nokey LEFT\r\n", b"_\r\n");
    r.roundtrip(b"BLMOVE nokey d LEFT LEFT 0.01\r\n", b"_\r\n");
    r.roundtrip(b"LPOS l zz\r\n", b"_\r\n");
    r.roundtrip(b"LPOS l zz COUNT 0\r\n", b"*0\r\n");
    r.roundtrip(b"RPUSH l x y\r\n", b":2\r\n");
    r.roundtrip(
        b"BLMPOP 0 1 l LEFT COUNT 5\r\n",
        b"*2\r\n$1\r\nl\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
    );
    r.roundtrip(b"LMOVE nokey d LEFT LEFT\r\n", b"_\r\n");
}

// ---- Blocking with several clients ----------------------------------------

/// A connection with a read timeout long enough for blocking tests, short
/// enough that a lost wake-up fails the test instead of hanging it.
fn blocking_conn(s: &TestServer) -> redis::Connection {
    let c = s.conn();
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c
}

fn info_field(c: &mut redis::Connection, field: &str) -> i64 {
    let info: String = q(c, &["INFO", "clients"]);
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in INFO"))
}

#[test]
fn one_push_serves_exactly_the_first_waiter() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut first = blocking_conn(&s);
    let mut second = blocking_conn(&s);
    let t1 = thread::spawn(move || q::<Vec<String>>(&mut first, &["BLPOP", "q", "other", "5"]));
    wait_blocked(&mut c, 1);
    let t2 = thread::spawn(move || q::<Vec<String>>(&mut second, &["BRPOP", "q", "5"]));
    wait_blocked(&mut c, 2);
    assert_eq!(info_field(&mut c, "total_blocking_keys"), 2);
    assert_eq!(info_field(&mut c, "clients_in_timeout_table"), 2);
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "q", "job1"]), 1);
    assert_eq!(t1.join().expect("first"), ["q", "job1"]);
    wait_blocked(&mut c, 1);
    // The element went to the waiter before anyone else could see it.
    assert_eq!(q::<i64>(&mut c, &["LLEN", "q"]), 0);
    q::<()>(&mut c, &["RPUSH", "q", "job2", "job3"]);
    assert_eq!(t2.join().expect("second"), ["q", "job3"]);
    assert_eq!(range(&mut c, "q"), ["job2"]);
    wait_blocked(&mut c, 0);
}

#[test]
fn a_push_of_three_wakes_three_of_five_waiters_in_order() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut ts = Vec::new();
    for i in 0..5 {
        let mut w = blocking_conn(&s);
        ts.push(thread::spawn(move || {
            q::<Value>(&mut w, &["BLPOP", "k", "8"])
        }));
        wait_blocked(&mut c, i + 1);
    }
    // LPUSH x y z leaves [z y x]: the first three waiters get z, y, x.
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "k", "x", "y", "z"]), 3);
    wait_blocked(&mut c, 2);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    let mut ts = ts.into_iter();
    for want in ["z", "y", "x"] {
        let got = ts.next().expect("waiter").join().expect("joins");
        assert_eq!(got, Value::Array(vec![bulk("k"), bulk(want)]));
    }
    // The other two are still waiting; release them with one push each.
    q::<()>(&mut c, &["RPUSH", "k", "4", "5"]);
    let rest: Vec<Value> = ts.map(|t| t.join().expect("joins")).collect();
    assert_eq!(
        rest,
        [
            Value::Array(vec![bulk("k"), bulk("4")]),
            Value::Array(vec![bulk("k"), bulk("5")])
        ]
    );
    wait_blocked(&mut c, 0);
}

#[test]
fn timeouts_and_timeout_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    let t = Instant::now();
    assert_eq!(q::<Value>(&mut c, &["BLPOP", "none", "0.1"]), Value::Nil);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(95) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // 0.001 is one millisecond, not "forever".
    let t = Instant::now();
    assert_eq!(q::<Value>(&mut c, &["BRPOP", "none", "0.001"]), Value::Nil);
    assert_eq!(
        q::<Value>(&mut c, &["BLMOVE", "none", "d", "LEFT", "LEFT", "0.001"]),
        Value::Nil
    );
    assert_eq!(
        q::<Value>(&mut c, &["BRPOPLPUSH", "none", "d", "0.001"]),
        Value::Nil
    );
    assert_eq!(
        q::<Value>(&mut c, &["BLMPOP", "0.001", "1", "none", "LEFT"]),
        Value::Nil
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    for cmd in [
        &["BLPOP", "k", "TIMEOUT"][..],
        &["BRPOP", "k", "TIMEOUT"],
        &["BLMOVE", "k", "d", "LEFT", "LEFT", "TIMEOUT"],
        &["BRPOPLPUSH", "k", "d", "TIMEOUT"],
        &["BLMPOP", "TIMEOUT", "1", "k", "LEFT"],
    ] {
        let at = cmd.iter().position(|a| *a == "TIMEOUT").expect("slot");
        for (t, msg) in [
            ("-1", "ERR timeout is negative"),
            ("-0.5", "ERR timeout is negative"),
            ("abc", "ERR timeout is not a float or out of range"),
            ("", "ERR timeout is not a float or out of range"),
            // Redis 7.2 (7.0 said "negative" here).
            ("1e20", "ERR timeout is out of range"),
            ("inf", "ERR timeout is out of range"),
            ("9223372036854775807", "ERR timeout is out of range"),
        ] {
            let mut args = cmd.to_vec();
            args[at] = t;
            assert_eq!(err(&mut c, &args), msg, "{args:?}");
        }
    }
    assert_eq!(blocked_clients(&mut c), 0);
}

/// CLIENT UNBLOCK, retried until the client is blocked again (it answers 0
/// while the previous wait is still being torn down).
fn unblock(c: &mut redis::Connection, args: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while q::<i64>(c, args) != 1 {
        assert!(Instant::now() < deadline, "{args:?} never unblocked");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn disconnect_and_client_unblock() {
    let s = TestServer::start();
    let mut c = s.conn();
    // A waiter that disconnects is cleaned up and takes nothing.
    {
        let mut r = s.raw();
        r.send(b"BLPOP gone 0\r\n");
        wait_blocked(&mut c, 1);
    }
    wait_blocked(&mut c, 0);
    q::<()>(&mut c, &["RPUSH", "gone", "kept"]);
    assert_eq!(range(&mut c, "gone"), ["kept"]);
    {
        let mut r = s.raw();
        r.send(b"BLMOVE gone2 dst LEFT LEFT 100\r\n");
        wait_blocked(&mut c, 1);
        assert_eq!(info_field(&mut c, "clients_in_timeout_table"), 1);
    }
    wait_blocked(&mut c, 0);
    assert_eq!(info_field(&mut c, "clients_in_timeout_table"), 0);
    q::<()>(&mut c, &["RPUSH", "gone2", "kept"]);
    assert_eq!(range(&mut c, "gone2"), ["kept"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);

    // CLIENT UNBLOCK: TIMEOUT (the default) answers the timeout reply,
    // ERROR the UNBLOCKED error; the client is usable afterwards.
    let mut w = blocking_conn(&s);
    let id: i64 = q(&mut w, &["CLIENT", "ID"]);
    let t = thread::spawn(move || {
        let a = q::<Value>(&mut w, &["BLPOP", "u", "0"]);
        let b = q::<Value>(&mut w, &["BLMOVE", "u", "v", "LEFT", "LEFT", "0"]);
        let e = err(&mut w, &["BRPOP", "u", "0"]);
        let ping: String = q(&mut w, &["PING"]);
        (a, b, e, ping)
    });
    let id = id.to_string();
    unblock(&mut c, &["CLIENT", "UNBLOCK", &id]);
    unblock(&mut c, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"]);
    unblock(&mut c, &["CLIENT", "UNBLOCK", &id, "ERROR"]);
    let (a, b, e, ping) = t.join().expect("waiter");
    assert_eq!(a, Value::Nil);
    assert_eq!(b, Value::Nil);
    assert_eq!(e, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    assert_eq!(ping, "PONG");
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]), 0);
    wait_blocked(&mut c, 0);

    // Requests pipelined behind a blocking one run after it returns.
    let mut r = s.raw();
    r.send(b"BLPOP p 0\r\nPING\r\nLLEN p\r\n");
    wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["RPUSH", "p", "m", "n"]);
    r.expect(b"*2\r\n$1\r\np\r\n$1\r\nm\r\n+PONG\r\n:1\r\n");
}

/// Block a fresh client in `cmd`, run `act` once it waits, and answer what
/// the blocked command replied.
fn served_after(
    s: &TestServer,
    c: &mut redis::Connection,
    cmd: &'static [&'static str],
    act: impl FnOnce(&mut redis::Connection),
) -> Value {
    let mut w = blocking_conn(s);
    let t = thread::spawn(move || q::<Value>(&mut w, cmd));
    wait_blocked(c, 1);
    act(c);
    let v = t.join().expect("waiter");
    wait_blocked(c, 0);
    v
}

#[test]
fn keys_made_by_other_commands_wake_waiters_but_other_types_do_not() {
    let s = TestServer::start();
    let mut c = s.conn();
    const BLPOP: &[&str] = &["BLPOP", "{k}dst", "8"];
    let pair = |k: &str, v: &str| Value::Array(vec![bulk(k), bulk(v)]);
    // A string at the key does not serve a list waiter; a list after it does.
    let v = served_after(&s, &mut c, BLPOP, |c| {
        q::<()>(c, &["SET", "{k}dst", "not a list"]);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(blocked_clients(c), 1);
        q::<()>(c, &["DEL", "{k}dst"]);
        q::<()>(c, &["RPUSH", "{k}dst", "after"]);
    });
    assert_eq!(v, pair("{k}dst", "after"));
    // RENAME brings a list.
    let v = served_after(&s, &mut c, BLPOP, |c| {
        q::<()>(c, &["RPUSH", "{k}a", "renamed"]);
        q::<()>(c, &["RENAME", "{k}a", "{k}dst"]);
    });
    assert_eq!(v, pair("{k}dst", "renamed"));
    // LMOVE pushes onto it.
    let v = served_after(&s, &mut c, BLPOP, |c| {
        q::<()>(c, &["RPUSH", "{k}b", "moved"]);
        q::<()>(c, &["LMOVE", "{k}b", "{k}dst", "LEFT", "LEFT"]);
    });
    assert_eq!(v, pair("{k}dst", "moved"));
    // RPOPLPUSH from another shard.
    let v = served_after(&s, &mut c, BLPOP, |c| {
        q::<()>(c, &["RPUSH", "far", "rpoplpushed"]);
        q::<()>(c, &["RPOPLPUSH", "far", "{k}dst"]);
    });
    assert_eq!(v, pair("{k}dst", "rpoplpushed"));
    // LMPOP's and LINSERT's writes, and COPY, for BRPOPLPUSH / BLMPOP.
    let v = served_after(&s, &mut c, &["BRPOPLPUSH", "{k}dst", "{k}out", "8"], |c| {
        q::<()>(c, &["RPUSH", "{k}c", "copied"]);
        q::<()>(c, &["COPY", "{k}c", "{k}dst"]);
    });
    assert_eq!(v, bulk("copied"));
    assert_eq!(range(&mut c, "{k}out"), ["copied"]);
    let v = served_after(
        &s,
        &mut c,
        &["BLMPOP", "8", "2", "{k}x", "{k}dst", "RIGHT", "COUNT", "2"],
        |c| {
            q::<()>(c, &["LINSERT", "{k}dst", "BEFORE", "a", "b"]);
            q::<()>(c, &["LPUSHX", "{k}dst", "a"]);
            q::<()>(c, &["RPUSH", "{k}dst", "1", "2", "3"]);
        },
    );
    assert_eq!(
        v,
        Value::Array(vec![
            bulk("{k}dst"),
            Value::Array(vec![bulk("3"), bulk("2")])
        ])
    );
    assert_eq!(range(&mut c, "{k}dst"), ["1"]);
}

fn shard(key: &str) -> usize {
    ember::keyspace::key_slot(key.as_bytes()) as usize % ember::keyspace::NSHARDS
}

#[test]
fn blmove_chains_across_shards() {
    let (a, b, cc) = ("a", "b", "c");
    let shards: HashSet<usize> = [shard(a), shard(b), shard(cc)].into_iter().collect();
    assert_eq!(shards.len(), 3, "a, b and c must live in different shards");
    let s = TestServer::start();
    let mut c = s.conn();
    let mut wa = blocking_conn(&s);
    let ta =
        thread::spawn(move || q::<String>(&mut wa, &["BLMOVE", "a", "b", "RIGHT", "LEFT", "0"]));
    wait_blocked(&mut c, 1);
    let mut wb = blocking_conn(&s);
    let tb =
        thread::spawn(move || q::<String>(&mut wb, &["BLMOVE", "b", "c", "RIGHT", "LEFT", "0"]));
    wait_blocked(&mut c, 2);
    q::<()>(&mut c, &["LPUSH", "a", "x"]);
    assert_eq!(ta.join().expect("a"), "x");
    assert_eq!(tb.join().expect("b"), "x");
    assert_eq!(range(&mut c, "c"), ["x"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b"]), 0);
    wait_blocked(&mut c, 0);
    q::<()>(&mut c, &["DEL", "c"]);

    // A chain back onto a waiter's own source's shard, and BRPOPLPUSH.
    let mut w1 = blocking_conn(&s);
    let t1 = thread::spawn(move || q::<String>(&mut w1, &["BRPOPLPUSH", "c", "a", "5"]));
    wait_blocked(&mut c, 1);
    let mut w2 = blocking_conn(&s);
    let t2 = thread::spawn(move || q::<Vec<String>>(&mut w2, &["BLPOP", "a", "5"]));
    wait_blocked(&mut c, 2);
    q::<()>(&mut c, &["RPUSH", "c", "y"]);
    assert_eq!(t1.join().expect("1"), "y");
    // y went c → a → the BLPOP waiter.
    assert_eq!(t2.join().expect("2"), ["a", "y"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "c"]), 0);
}

#[test]
fn blmove_onto_a_wrong_type_errors_and_keeps_the_element() {
    let s = TestServer::start();
    let mut c = s.conn();
    for (src, dst) in [("{w}src", "{w}dst"), ("a", "b")] {
        let mut w = blocking_conn(&s);
        let (s1, d1) = (src.to_string(), dst.to_string());
        let t = thread::spawn(move || err(&mut w, &["BLMOVE", &s1, &d1, "LEFT", "LEFT", "5"]));
        wait_blocked(&mut c, 1);
        q::<()>(&mut c, &["SET", dst, "string"]);
        q::<()>(&mut c, &["RPUSH", src, "keep"]);
        assert_eq!(t.join().expect("waiter"), WRONGTYPE);
        assert_eq!(range(&mut c, src), ["keep"]);
        assert_eq!(q::<String>(&mut c, &["GET", dst]), "string");
        wait_blocked(&mut c, 0);
    }
    // The next waiter in line is still served by the same push.
    let mut w1 = blocking_conn(&s);
    let t1 = thread::spawn(move || err(&mut w1, &["BLMOVE", "e1", "str2", "LEFT", "LEFT", "5"]));
    wait_blocked(&mut c, 1);
    let mut w2 = blocking_conn(&s);
    let t2 = thread::spawn(move || q::<Vec<String>>(&mut w2, &["BLPOP", "e1", "5"]));
    wait_blocked(&mut c, 2);
    q::<()>(&mut c, &["SET", "str2", "s"]);
    q::<()>(&mut c, &["RPUSH", "e1", "v"]);
    assert_eq!(t1.join().expect("1"), WRONGTYPE);
    assert_eq!(t2.join().expect("2"), ["e1", "v"]);
}

#[test]
fn concurrent_moves_across_shards_never_lose_or_duplicate() {
    let keys = ["a", "b", "c", "d"];
    let shards: HashSet<usize> = keys.iter().map(|k| shard(k)).collect();
    assert_eq!(shards.len(), 4, "the hops must cross shards");
    let s = Arc::new(TestServer::start());
    let done = Arc::new(AtomicBool::new(false));
    const PER: usize = 400;
    let mut movers = Vec::new();
    for hop in 0..3 {
        for m in 0..2 {
            let (src, dst) = (keys[hop], keys[hop + 1]);
            let mut w = blocking_conn(&s);
            let done = done.clone();
            movers.push(thread::spawn(move || loop {
                let v: Value = if m == 0 {
                    q(&mut w, &["BLMOVE", src, dst, "RIGHT", "LEFT", "0.05"])
                } else {
                    q(&mut w, &["LMOVE", src, dst, "LEFT", "RIGHT"])
                };
                if v == Value::Nil {
                    if done.load(Ordering::SeqCst) {
                        return;
                    }
                    if m == 1 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            }));
        }
    }
    let mut producers = Vec::new();
    for p in 0..2 {
        let mut w = s.conn();
        producers.push(thread::spawn(move || {
            for i in 0..PER {
                let k = if i % 5 == 0 { "b" } else { "a" };
                q::<i64>(&mut w, &["LPUSH", k, &format!("p{p}-{i}")]);
            }
        }));
    }
    for p in producers {
        p.join().expect("producer");
    }
    // Let the movers drain a while, then stop them.
    thread::sleep(Duration::from_millis(200));
    done.store(true, Ordering::SeqCst);
    for m in movers {
        m.join().expect("mover");
    }
    let mut c = s.conn();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for k in keys {
        for e in range(&mut c, k) {
            *seen.entry(e).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 2 * PER, "every element is somewhere");
    assert!(seen.values().all(|&n| n == 1), "no element twice");
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn sidekiq_style_job_queues() {
    const PRODUCERS: usize = 3;
    const JOBS: usize = 2000;
    let s = Arc::new(TestServer::start());
    let started = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::with_capacity(PRODUCERS * JOBS)));
    let count = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for _ in 0..4 {
        let mut w = blocking_conn(&s);
        let (seen, count) = (seen.clone(), count.clone());
        consumers.push(thread::spawn(move || {
            while count.load(Ordering::SeqCst) < PRODUCERS * JOBS {
                assert!(started.elapsed() < Duration::from_secs(60), "too slow");
                let v: Option<(String, String)> = q(&mut w, &["BRPOP", "q1", "q2", "q3", "1"]);
                if let Some((queue, job)) = v {
                    assert!(job.starts_with(&format!("{queue}:")), "{queue} {job}");
                    seen.lock().expect("lock").push(job);
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let mut w = s.conn();
        producers.push(thread::spawn(move || {
            let queue = format!("q{}", p + 1);
            for i in 0..JOBS {
                q::<i64>(&mut w, &["LPUSH", &queue, &format!("{queue}:{i}")]);
            }
        }));
    }
    for p in producers {
        p.join().expect("producer");
    }
    for t in consumers {
        t.join().expect("consumer");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), PRODUCERS * JOBS);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), PRODUCERS * JOBS, "every job exactly once");
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "q1", "q2", "q3"]), 0);
}

#[test]
fn waiters_for_another_type_do_not_hold_up_the_queue() {
    // A BZPOPMIN client queued first on a key must not keep BLPOP clients
    // behind it from a list pushed there (Redis skips clients whose blocked
    // type does not match the key), and it is still served later by a ZADD.
    let s = TestServer::start();
    let mut c = s.conn();
    let mut za = blocking_conn(&s);
    let z = thread::spawn(move || q::<Value>(&mut za, &["BZPOPMIN", "mixed", "0"]));
    wait_blocked(&mut c, 1);
    let mut lb = blocking_conn(&s);
    let l = thread::spawn(move || q::<Vec<String>>(&mut lb, &["BLPOP", "mixed", "0"]));
    wait_blocked(&mut c, 2);
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "mixed", "x"]), 1);
    assert_eq!(l.join().expect("list waiter"), ["mixed", "x"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "mixed"]), 0);
    wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["ZADD", "mixed", "1", "m"]);
    assert_eq!(
        z.join().expect("zset waiter"),
        Value::Array(vec![bulk("mixed"), bulk("m"), bulk("1")])
    );
    wait_blocked(&mut c, 0);
}

extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const u8, len: u32) -> i32;
}

/// Make `close` send a reset (SO_LINGER on, timeout 0), so the server's next
/// write to the socket fails.
fn linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let linger: [i32; 2] = [1, 0];
    // SAFETY: a valid socket fd and a correctly sized `struct linger`.
    let rc = unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            linger.as_ptr().cast(),
            std::mem::size_of_val(&linger) as u32,
        )
    };
    assert_eq!(rc, 0);
}

#[test]
fn a_blocked_client_whose_write_fails_is_unqueued() {
    // The replies before a blocking command go out first; if that write
    // fails (the peer reset), the wait must be dropped at once. Before the
    // fix such waiters stayed queued with no connection and swallowed the
    // next pushed elements.
    use std::io::Write;
    let s = TestServer::start();
    let mut c = s.conn();
    for _ in 0..20 {
        let mut r = std::net::TcpStream::connect(s.addr).expect("connects");
        r.write_all(b"PING\r\n").expect("write");
        thread::sleep(Duration::from_millis(5));
        linger_zero(&r);
        r.write_all(b"PING\r\nBLPOP ghost 0\r\n").expect("write");
        drop(r);
    }
    wait_blocked(&mut c, 0);
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "ghost", "a", "b", "c"]), 3);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "ghost"]), 3);
}

fn ql_nodes(c: &mut redis::Connection, key: &str) -> usize {
    let d: String = q(c, &["DEBUG", "OBJECT", key]);
    d.split_whitespace()
        .find_map(|f| f.strip_prefix("ql_nodes:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{d}"))
}

/// DEBUG QUICKLIST-PACKED-THRESHOLD (the Redis test suite's knob): in a
/// quicklist an element that large is a plain node of its own, which no
/// other element joins; every command and a reload keep the values.
#[test]
fn plain_nodes_under_a_low_packed_threshold() {
    let s = TestServer::start();
    let mut c = s.conn();
    let msg = "ERR argument must be a memory value bigger than 1 and smaller than 4gb";
    assert_eq!(
        err(&mut c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"]),
        msg
    );
    assert_eq!(
        err(&mut c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x"]),
        msg
    );
    common::config_set(&mut c, "list-max-listpack-size", "4");
    let _: () = q(&mut c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10b"]);
    let big = "x".repeat(20);
    let _: () = q(&mut c, &["RPUSH", "l", "aa", "bb", "cc", "dd", "ee"]);
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    assert_eq!(ql_nodes(&mut c, "l"), 2);
    let _: () = q(&mut c, &["RPUSH", "l", &big]);
    let _: () = q(&mut c, &["RPUSH", "l", "ff"]);
    // [aa bb cc dd] [ee] [big] [ff]
    assert_eq!(ql_nodes(&mut c, "l"), 4);
    let _: () = q(&mut c, &["LSET", "l", "2", &big]);
    // [aa bb] [big] [dd] [ee] [big] [ff]
    assert_eq!(ql_nodes(&mut c, "l"), 6);
    // Next to a plain node, into the neighbour that has room.
    let _: () = q(&mut c, &["LINSERT", "l", "AFTER", "ee", "e2"]);
    assert_eq!(ql_nodes(&mut c, "l"), 6);
    let _: () = q(&mut c, &["LINSERT", "l", "BEFORE", "bb", &big]);
    // [aa] [big] [bb] [big] [dd] [ee e2] [big] [ff]
    assert_eq!(ql_nodes(&mut c, "l"), 8);
    let _: () = q(&mut c, &["LSET", "l", "1", "small"]);
    let want = vec!["aa", "small", "bb", &big, "dd", "ee", "e2", &big, "ff"];
    assert_eq!(range(&mut c, "l"), want);
    let idx: String = q(&mut c, &["LINDEX", "l", "3"]);
    assert_eq!(idx, big);
    let n: i64 = q(&mut c, &["LREM", "l", "0", &big]);
    assert_eq!(n, 2);
    let _: () = q(&mut c, &["RPUSH", "l", &big]);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    let want = vec!["aa", "small", "bb", "dd", "ee", "e2", "ff", &big];
    assert_eq!(range(&mut c, "l"), want);
    let dump: Vec<u8> = q(&mut c, &["DUMP", "l"]);
    let _: () = redis::cmd("RESTORE")
        .arg("l2")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(range(&mut c, "l2"), want);
    let popped: String = q(&mut c, &["RPOP", "l"]);
    assert_eq!(popped, big);
    // Back to 1 GB: a large-ish element joins a node again.
    let _: () = q(&mut c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]);
    let before = ql_nodes(&mut c, "l");
    let _: () = q(&mut c, &["DEL", "l3"]);
    let _: () = q(&mut c, &["RPUSH", "l3", "a", &big, "b"]);
    assert_eq!(encoding(&mut c, "l3"), "listpack");
    let _: () = q(&mut c, &["LTRIM", "l", "0", "-1"]);
    assert_eq!(ql_nodes(&mut c, "l"), before);
}

/// A blocked client is only woken by a key it can be served from, and
/// looking (SWAPDB brings an expired list in) has no effect: the expired
/// key is not deleted by the check (as Redis's LOOKUP_NOEFFECTS), only by
/// a command that touches it later.
#[test]
fn waking_a_blocked_client_on_an_expired_key_has_no_effect() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    let _: () = q(&mut c, &["RPUSH", "k", "hello"]);
    let _: () = q(&mut c, &["PEXPIRE", "k", "50"]);
    let mut b = s.raw();
    b.roundtrip(b"SELECT 9\r\n", b"+OK\r\n");
    b.send(b"BRPOP k 0\r\n");
    wait_blocked(&mut c, 1);
    thread::sleep(Duration::from_millis(80));
    let _: () = q(&mut c, &["SWAPDB", "1", "9"]);
    thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked_clients(&mut c), 1);
    assert_eq!(common::info_u64(&mut c, "expired_keys"), 0);
    let _: () = q(&mut c, &["SELECT", "9"]);
    let n: i64 = q(&mut c, &["EXISTS", "k"]);
    assert_eq!(n, 0);
    assert_eq!(common::info_u64(&mut c, "expired_keys"), 1);
    // Still served by a list that arrives later.
    let _: () = q(&mut c, &["RPUSH", "k", "fresh"]);
    b.expect(b"*2\r\n$1\r\nk\r\n$5\r\nfresh\r\n");
}

/// Blocked clients are served at the time of serving: a transaction that
/// pushes, sets a short TTL and sleeps past it serves no one (Redis
/// refreshes its clock before serving blocked clients).
#[test]
fn a_key_expired_by_the_end_of_exec_serves_no_blocked_client() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let mut b = s.raw();
    b.send(b"CLIENT ID\r\n");
    let id = String::from_utf8(b.read_n(1, Duration::from_secs(5))).unwrap();
    let mut rest = id;
    while !rest.ends_with("\r\n") {
        rest.push_str(&String::from_utf8(b.read_n(1, Duration::from_secs(5))).unwrap());
    }
    let id = rest.trim().trim_start_matches(':').to_string();
    b.send(b"BRPOP k 0\r\n");
    wait_blocked(&mut c, 1);
    let (_, _, _): (i64, i64, String) = redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg("k")
        .arg("hello")
        .cmd("PEXPIRE")
        .arg("k")
        .arg(50)
        .cmd("DEBUG")
        .arg("SLEEP")
        .arg("0.1")
        .query(&mut c)
        .unwrap();
    thread::sleep(Duration::from_millis(30));
    assert_eq!(blocked_clients(&mut c), 1);
    let n: i64 = q(&mut c, &["CLIENT", "UNBLOCK", &id]);
    assert_eq!(n, 1);
    b.expect(b"*-1\r\n");
}
