//! Hashes through the `redis` crate (and raw sockets for RESP3 shapes).
//! Command-by-command equality with a real redis-server is in compare.rs;
//! this file covers encodings and their conversion under CONFIG SET, the
//! keyspace commands on hashes, iteration, random fields and huge counts.

mod common;
use common::{err, q, TestServer};
use std::collections::{HashMap, HashSet};
use std::thread;
use std::time::Duration;

fn enc(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

#[test]
fn set_get_and_delete() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "10", "c", "3"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "10"]), 0, "same value");
    assert_eq!(
        q::<String>(&mut c, &["HMSET", "h", "d", "4", "e", ""]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "10");
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", "zz"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "nokey", "a"]), None);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["HMGET", "h", "a", "zz", "e"]),
        [Some("10".into()), None, Some("".into())]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["HMGET", "nokey", "a", "b"]),
        [None, None]
    );
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "a", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "f", "6"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "new", "f", "6"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 6);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "a"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "e"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "e"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "nokey", "a"]), 0);
    // A listpack keeps insertion order; updates keep their place.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HKEYS", "h"]),
        ["a", "b", "c", "d", "e", "f"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HVALS", "h"]),
        ["10", "2", "3", "4", "", "6"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HGETALL", "h"]),
        ["a", "10", "b", "2", "c", "3", "d", "4", "e", "", "f", "6"]
    );
    assert!(q::<Vec<String>>(&mut c, &["HGETALL", "nokey"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["HKEYS", "nokey"]).is_empty());
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "a", "a", "zz", "b"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "nokey", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "c", "d", "e", "f"]), 4);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "h"]),
        0,
        "empty hash is deleted"
    );

    // Odd field/value pairs are an arity error naming the command.
    assert_eq!(
        err(&mut c, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        err(&mut c, &["HMSET", "h", "a"]),
        "ERR wrong number of arguments for 'hmset' command"
    );
    assert_eq!(
        err(&mut c, &["HSET", "h", "a"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "h"]), 0);
    // Binary-safe fields and values.
    let mut cmd = redis::cmd("HSET");
    cmd.arg("bin").arg(&b"f\x00\xff"[..]).arg(&b"\r\n\x00"[..]);
    assert_eq!(cmd.query::<i64>(&mut c).expect("hset"), 1);
    let v: Vec<u8> = redis::cmd("HGET")
        .arg("bin")
        .arg(&b"f\x00\xff"[..])
        .query(&mut c)
        .expect("hget");
    assert_eq!(v, b"\r\n\x00");
}

#[test]
fn wrong_type_for_every_command() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "s", "v"]);
    let cmds: &[&[&str]] = &[
        &["HSET", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HSCAN", "s", "0"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
    ];
    for cmd in cmds {
        assert!(err(&mut c, cmd).starts_with("WRONGTYPE"), "{cmd:?}");
    }
    q::<()>(&mut c, &["HSET", "h", "a", "1"]);
    assert!(err(&mut c, &["GET", "h"]).starts_with("WRONGTYPE"));
    assert!(err(&mut c, &["ZADD", "h", "1", "a"]).starts_with("WRONGTYPE"));
    assert_eq!(q::<String>(&mut c, &["GET", "s"]), "v", "untouched");
}

#[test]
fn increments() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "-7"]), -2);
    q::<()>(
        &mut c,
        &["HSET", "h", "max", "9223372036854775807", "s", "abc"],
    );
    q::<()>(&mut c, &["HSET", "h", "sp", " 1", "lead", "010"]);
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "max", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        q::<i64>(&mut c, &["HINCRBY", "h", "max", "-1"]),
        i64::MAX - 1
    );
    q::<()>(&mut c, &["HSET", "h", "min", "-9223372036854775808"]);
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "min", "-1"]),
        "ERR increment or decrement would overflow"
    );
    for f in ["s", "sp", "lead"] {
        assert_eq!(
            err(&mut c, &["HINCRBY", "h", f, "1"]),
            "ERR hash value is not an integer",
            "{f}"
        );
    }
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "n", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "n", "99999999999999999999"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "n"]), "-2", "unchanged");

    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "10.5"]),
        "10.5"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "0.1"]),
        "10.6"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "-10.6"]),
        "0"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "g", "123456.7"]),
        "123456.70000000000000284"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "n", "1e3"]),
        "998"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "x", "0x10"]),
        "16"
    );
    assert_eq!(
        q::<String>(&mut c, &["HGET", "h", "g"]),
        "123456.70000000000000284"
    );
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "f", "inf"]),
        "ERR value is NaN or Infinity"
    );
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "f", "-infinity"]),
        "ERR value is NaN or Infinity"
    );
    for bad in ["nan", "abc", "", " 1", "1e5000"] {
        assert_eq!(
            err(&mut c, &["HINCRBYFLOAT", "h", "f", bad]),
            "ERR value is not a valid float",
            "{bad:?}"
        );
    }
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "sp", "1"]),
        "ERR hash value is not a float"
    );
    q::<()>(&mut c, &["HSET", "h", "huge", "1e4932"]);
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "huge", "1e4932"]),
        "ERR increment would produce NaN or Infinity"
    );
    // A failed increment on a missing key creates nothing.
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "nokey", "f", "inf"]),
        "ERR value is NaN or Infinity"
    );
    assert_eq!(
        err(&mut c, &["HINCRBY", "nokey", "f", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nokey"]), 0);
}

#[test]
fn encodings_follow_config_and_never_convert_back() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-*"]).len(),
        4
    );
    for i in 0..128 {
        q::<()>(&mut c, &["HSET", "h", &format!("f{i}"), "v"]);
    }
    assert_eq!(enc(&mut c, "h"), "listpack");
    q::<()>(&mut c, &["HSET", "h", "f0", "updated"]);
    assert_eq!(enc(&mut c, "h"), "listpack", "an update adds no entry");
    q::<()>(&mut c, &["HSET", "h", "one-more", "v"]);
    assert_eq!(enc(&mut c, "h"), "hashtable");
    for i in 0..128 {
        q::<()>(&mut c, &["HDEL", "h", &format!("f{i}")]);
    }
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 1);
    assert_eq!(enc(&mut c, "h"), "hashtable", "never converts back");

    // Long values and fields, through every writing command.
    let long = "v".repeat(65);
    q::<()>(&mut c, &["HSET", "lv", "f", &"v".repeat(64)]);
    assert_eq!(enc(&mut c, "lv"), "listpack");
    q::<()>(&mut c, &["HSET", "lv", "f", &long]);
    assert_eq!(enc(&mut c, "lv"), "hashtable");
    q::<()>(&mut c, &["HSET", "lf", &long, "1"]);
    assert_eq!(enc(&mut c, "lf"), "hashtable");
    q::<()>(&mut c, &["HSETNX", "nx", &long, "1"]);
    assert_eq!(enc(&mut c, "nx"), "hashtable");
    q::<()>(&mut c, &["HINCRBY", "inc", &long, "1"]);
    assert_eq!(enc(&mut c, "inc"), "hashtable");

    // HSET of many pairs on a new key picks the encoding up front; more pairs
    // than the limit convert even when they repeat one field.
    let mut args: Vec<String> = vec!["HSET".into(), "many".into()];
    for i in 0..129 {
        args.push(format!("f{i}"));
        args.push("v".into());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(q::<i64>(&mut c, &refs), 129);
    assert_eq!(enc(&mut c, "many"), "hashtable");
    let mut args: Vec<&str> = vec!["HSET", "dup"];
    for _ in 0..129 {
        args.extend(["same", "v"]);
    }
    assert_eq!(q::<i64>(&mut c, &args), 1);
    assert_eq!(enc(&mut c, "dup"), "hashtable");

    // Thresholds are live, under both names.
    q::<()>(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "2"]);
    q::<()>(&mut c, &["CONFIG", "SET", "hash-max-ziplist-value", "8"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-value"]),
        ["hash-max-listpack-value", "8"]
    );
    q::<()>(&mut c, &["HSET", "small", "a", "1", "b", "2"]);
    assert_eq!(enc(&mut c, "small"), "listpack");
    q::<()>(&mut c, &["HSET", "small", "c", "3"]);
    assert_eq!(enc(&mut c, "small"), "hashtable");
    q::<()>(&mut c, &["HSET", "f", "a", "1"]);
    q::<()>(&mut c, &["HINCRBYFLOAT", "f", "a", "0.123456789"]);
    assert_eq!(enc(&mut c, "f"), "hashtable", "a long result converts");
    q::<()>(&mut c, &["HSET", "s3", "a", "123456789"]);
    assert_eq!(enc(&mut c, "s3"), "hashtable");
    // Lowering the limit below a hash's size converts it on its next write.
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "128"],
    );
    q::<()>(&mut c, &["HSET", "five", "a", "1", "b", "2", "c", "3"]);
    q::<()>(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "2"]);
    assert_eq!(enc(&mut c, "five"), "listpack");
    q::<()>(&mut c, &["HSET", "five", "a", "9"]);
    assert_eq!(enc(&mut c, "five"), "hashtable");
    q::<()>(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
    q::<()>(&mut c, &["HSET", "zero", "a", "1"]);
    assert_eq!(enc(&mut c, "zero"), "hashtable");
    assert_eq!(q::<String>(&mut c, &["HGET", "zero", "a"]), "1");
}

#[test]
fn keyspace_commands_on_hashes() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["HSET", "small", "a", "1"]);
    for i in 0..200 {
        q::<()>(&mut c, &["HSET", "big", &format!("f{i}"), &i.to_string()]);
    }
    q::<()>(&mut c, &["SET", "str", "x"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "big"]), "hash");
    assert_eq!(q::<String>(&mut c, &["TYPE", "small"]), "hash");
    let (_, mut found): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("hash")
        .arg("COUNT")
        .arg(1000)
        .query(&mut c)
        .expect("scan");
    found.sort();
    assert_eq!(found, ["big", "small"]);

    assert_eq!(q::<i64>(&mut c, &["COPY", "big", "copy"]), 1);
    q::<()>(&mut c, &["HDEL", "big", "f0"]);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "copy"]), 200, "COPY is deep");
    assert_eq!(enc(&mut c, "copy"), "hashtable");
    q::<()>(&mut c, &["RENAME", "copy", "renamed"]);
    assert_eq!(q::<String>(&mut c, &["HGET", "renamed", "f0"]), "0");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "copy"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "renamed", "3"]), 1);
    q::<()>(&mut c, &["SELECT", "3"]);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "renamed"]), 200);
    q::<()>(&mut c, &["PEXPIRE", "renamed", "20"]);
    // Writes keep the TTL.
    q::<()>(&mut c, &["HSET", "renamed", "new", "1"]);
    assert!(q::<i64>(&mut c, &["PTTL", "renamed"]) > 0);
    thread::sleep(Duration::from_millis(60));
    assert_eq!(q::<i64>(&mut c, &["HLEN", "renamed"]), 0, "expired");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "renamed"]), 0);
    // An expired hash is gone for writers too: HSET starts a new one.
    q::<()>(&mut c, &["HSET", "t", "a", "1"]);
    q::<()>(&mut c, &["PEXPIRE", "t", "10"]);
    thread::sleep(Duration::from_millis(40));
    assert_eq!(q::<i64>(&mut c, &["HSET", "t", "b", "2"]), 1);
    assert_eq!(q::<Vec<String>>(&mut c, &["HKEYS", "t"]), ["b"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "t"]), -1);
    q::<()>(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DEL", "big", "small"]), 2);
}

fn hscan_all(c: &mut redis::Connection, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut items = Vec::new();
    let mut calls = 0;
    loop {
        let mut cmd = redis::cmd("HSCAN");
        cmd.arg(key).arg(&cursor);
        for a in extra {
            cmd.arg(*a);
        }
        let (next, got): (String, Vec<String>) = cmd.query(c).expect("hscan");
        items.extend(got);
        calls += 1;
        if next == "0" {
            return (items, calls);
        }
        cursor = next;
    }
}

#[test]
fn hscan() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["HSET", "lp", "a", "1", "b", "2", "ab", "3"]);
    // A listpack answers whole, in one call, whatever COUNT says.
    let (items, calls) = hscan_all(&mut c, "lp", &["COUNT", "1"]);
    assert_eq!(items, ["a", "1", "b", "2", "ab", "3"]);
    assert_eq!(calls, 1);
    let (items, _) = hscan_all(&mut c, "lp", &["MATCH", "a*"]);
    assert_eq!(items, ["a", "1", "ab", "3"]);
    let (items, _) = hscan_all(&mut c, "lp", &["NOVALUES", "MATCH", "a*"]);
    assert_eq!(items, ["a", "ab"]);
    let (items, _) = hscan_all(&mut c, "nokey", &[]);
    assert!(items.is_empty());

    for i in 0..1000 {
        q::<()>(&mut c, &["HSET", "big", &format!("f{i}"), &format!("v{i}")]);
    }
    let (items, calls) = hscan_all(&mut c, "big", &["COUNT", "37"]);
    assert!(calls > 20, "{calls} calls");
    let mut seen = HashMap::new();
    for pair in items.chunks(2) {
        assert!(
            seen.insert(pair[0].clone(), pair[1].clone()).is_none(),
            "{} twice",
            pair[0]
        );
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen["f42"], "v42");
    let (items, _) = hscan_all(
        &mut c,
        "big",
        &["MATCH", "f99*", "COUNT", "100", "NOVALUES"],
    );
    let mut items = items;
    items.sort();
    assert_eq!(items.len(), 11);
    assert_eq!(items[0], "f99");

    // Every field present from start to end is returned, despite writes
    // between calls.
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut round = 0;
    loop {
        let (next, got): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg("big")
            .arg(&cursor)
            .arg("NOVALUES")
            .query(&mut c)
            .expect("hscan");
        seen.extend(got);
        q::<()>(&mut c, &["HDEL", "big", &format!("f{}", 500 + round)]);
        q::<()>(&mut c, &["HSET", "big", &format!("new{round}"), "x"]);
        round += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..500 {
        assert!(seen.contains(&format!("f{i}")), "missed f{i}");
    }

    assert_eq!(err(&mut c, &["HSCAN", "big", "x"]), "ERR invalid cursor");
    assert_eq!(
        err(&mut c, &["HSCAN", "big", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["HSCAN", "big", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["HSCAN", "big", "0", "MATCH"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["HSCAN", "big", "0", "TYPE", "hash"]),
        "ERR syntax error"
    );
    // A huge COUNT is capped, not allocated.
    let (items, calls) = hscan_all(&mut c, "big", &["COUNT", "9223372036854775807"]);
    assert_eq!((items.len(), calls), (2000, 1));
}

#[test]
fn hrandfield() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..1000 {
        q::<()>(&mut c, &["HSET", "big", &format!("f{i}"), &format!("v{i}")]);
    }
    q::<()>(&mut c, &["HSET", "few", "a", "1", "b", "2", "c", "3"]);
    for key in ["big", "few"] {
        let f: String = q(&mut c, &["HRANDFIELD", key]);
        assert!(q::<i64>(&mut c, &["HEXISTS", key, &f]) == 1);
    }
    assert_eq!(q::<Option<String>>(&mut c, &["HRANDFIELD", "nokey"]), None);
    assert!(q::<Vec<String>>(&mut c, &["HRANDFIELD", "nokey", "5"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["HRANDFIELD", "big", "0"]).is_empty());

    for (key, n) in [("big", 10), ("big", 400), ("big", 999), ("few", 2)] {
        let v: Vec<String> = q(&mut c, &["HRANDFIELD", key, &n.to_string()]);
        let distinct: HashSet<_> = v.iter().collect();
        assert_eq!((v.len(), distinct.len()), (n, n), "{key} {n}");
    }
    // More than the hash holds: the whole hash, a listpack in its order.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HRANDFIELD", "few", "10", "WITHVALUES"]),
        ["a", "1", "b", "2", "c", "3"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HRANDFIELD", "big", "9223372036854775807"]).len(),
        1000
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["HRANDFIELD", "big", "4611686018427387903", "WITHVALUES"]
        )
        .len(),
        2000
    );
    for key in ["big", "few"] {
        let v: Vec<String> = q(&mut c, &["HRANDFIELD", key, "-2000"]);
        assert_eq!(v.len(), 2000, "negative count repeats");
        let v: Vec<String> = q(&mut c, &["HRANDFIELD", key, "-50", "WITHVALUES"]);
        assert_eq!(v.len(), 100);
        for pair in v.chunks(2) {
            assert_eq!(q::<String>(&mut c, &["HGET", key, &pair[0]]), pair[1]);
        }
        let v: Vec<String> = q(&mut c, &["HRANDFIELD", key, "2", "WITHVALUES"]);
        assert_eq!(v.len(), 4);
        assert_eq!(q::<String>(&mut c, &["HGET", key, &v[0]]), v[1]);
    }
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "few", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        err(
            &mut c,
            &["HRANDFIELD", "few", "-4611686018427387904", "WITHVALUES"]
        ),
        "ERR value is out of range"
    );
    assert_eq!(
        err(
            &mut c,
            &["HRANDFIELD", "few", "4611686018427387904", "WITHVALUES"]
        ),
        "ERR value is out of range"
    );
    // Huge negative counts are refused rather than built.
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "few", "-9223372036854775807"]),
        "ERR value is out of range"
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "few", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "few", "1", "FOO"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "few", "1", "WITHVALUES", "x"]),
        "ERR syntax error"
    );
    // Count errors come before the key lookup.
    assert_eq!(
        err(
            &mut c,
            &["HRANDFIELD", "nokey", "-9223372036854775807", "WITHVALUES"]
        ),
        "ERR value is out of range"
    );
}

#[test]
fn resp3_reply_shapes() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let hello = r.read_n(200, Duration::from_millis(500));
    assert!(hello.ends_with(b"$7\r\nmodules\r\n*0\r\n"));
    r.roundtrip(b"HSET h a 1 b 2\r\n", b":2\r\n");
    r.roundtrip(
        b"HGETALL h\r\n",
        b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    r.roundtrip(b"HGETALL nokey\r\n", b"%0\r\n");
    r.roundtrip(b"HKEYS h\r\n", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    r.roundtrip(b"HVALS nokey\r\n", b"*0\r\n");
    r.roundtrip(b"HGET h zz\r\n", b"_\r\n");
    r.roundtrip(b"HMGET h a zz\r\n", b"*2\r\n$1\r\n1\r\n_\r\n");
    r.roundtrip(
        b"HRANDFIELD h 5 WITHVALUES\r\n",
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    r.roundtrip(b"HRANDFIELD h 5\r\n", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    r.roundtrip(b"HRANDFIELD nokey\r\n", b"_\r\n");
    r.roundtrip(b"HRANDFIELD nokey 3\r\n", b"*0\r\n");
    r.roundtrip(
        b"HSCAN h 0\r\n",
        b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    r.roundtrip(b"HINCRBYFLOAT h a 0.5\r\n", b"$3\r\n1.5\r\n");
    r.roundtrip(b"HDEL h a b\r\n", b":2\r\n");
    r.roundtrip(b"EXISTS h\r\n", b":0\r\n");
    // RESP2 for comparison.
    r.send(b"HELLO 2\r\n");
    let _ = r.read_n(150, Duration::from_millis(500));
    r.roundtrip(b"HSET h a 1\r\n", b":1\r\n");
    r.roundtrip(b"HGETALL h\r\n", b"*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    r.roundtrip(b"HGET h zz\r\n", b"$-1\r\n");
    r.roundtrip(
        b"HRANDFIELD h -2 WITHVALUES\r\n",
        b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
}
