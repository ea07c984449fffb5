//! SORT and SORT_RO through the `redis` crate (and a raw socket for RESP3
//! nils). Byte-for-byte equality with a real redis-server is in compare.rs;
//! this file pins each option, the nosort orders of every type (including
//! listpack and hashtable sets, which the installed redis-server cannot show),
//! STORE's effects on the keyspace, errors, and patterns across shards.

mod common;
use common::{err, q, TestServer};
use std::time::Duration;

type Opt = Option<String>;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn rpush(c: &mut redis::Connection, key: &str, items: &[&str]) {
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg(key);
    for i in items {
        cmd.arg(*i);
    }
    cmd.query::<i64>(c).expect("rpush");
}

#[test]
fn numeric_alpha_desc() {
    let s = TestServer::start();
    let mut c = s.conn();
    rpush(&mut c, "l", &["3", "10", "1", "2.5", "-4", "1e1"]);
    // Ties on score (10 and 1e1) break on the elements' bytes.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l"]),
        strs(&["-4", "1", "2.5", "3", "10", "1e1"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "DESC"]),
        strs(&["1e1", "10", "3", "2.5", "1", "-4"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["sort", "l", "alpha"]),
        strs(&["-4", "1", "10", "1e1", "2.5", "3"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "ALPHA", "DESC", "ASC"]),
        strs(&["-4", "1", "10", "1e1", "2.5", "3"])
    );
    // strtod's forms: hex, inf, leading space, empty string (0).
    rpush(&mut c, "f", &["0x10", "-inf", " 2", "", "inf", "1.5"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "f"]),
        strs(&["-inf", "", "1.5", " 2", "0x10", "inf"])
    );
    // The source is unchanged.
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 6);
    // A missing key sorts as empty.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "nope"]),
        Vec::<String>::new()
    );
}

#[test]
fn bad_scores_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    let bad = "ERR One or more scores can't be converted into double";
    for v in ["x", "nan", "1e400", "1e-310", "1 ", "  "] {
        q::<i64>(&mut c, &["DEL", "l"]);
        rpush(&mut c, "l", &["1", v]);
        assert_eq!(err(&mut c, &["SORT", "l"]), bad, "{v:?}");
        // ALPHA does not parse.
        assert_eq!(q::<Vec<String>>(&mut c, &["SORT", "l", "ALPHA"]).len(), 2);
    }
    // An error stores nothing.
    assert_eq!(err(&mut c, &["SORT", "l", "STORE", "dst"]), bad);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    // A bad weight fails; a missing one is 0.
    rpush(&mut c, "n", &["1", "2"]);
    q::<()>(&mut c, &["SET", "w_1", "abc"]);
    assert_eq!(err(&mut c, &["SORT", "n", "BY", "w_*"]), bad);
    q::<()>(&mut c, &["SET", "w_1", "5"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "n", "BY", "w_*"]),
        strs(&["2", "1"])
    );

    let syntax = "ERR syntax error";
    assert_eq!(err(&mut c, &["SORT", "n", "FOO"]), syntax);
    assert_eq!(err(&mut c, &["SORT", "n", "LIMIT", "0"]), syntax);
    assert_eq!(err(&mut c, &["SORT", "n", "BY"]), syntax);
    assert_eq!(err(&mut c, &["SORT", "n", "GET"]), syntax);
    assert_eq!(err(&mut c, &["SORT", "n", "STORE"]), syntax);
    assert_eq!(err(&mut c, &["SORT_RO", "n", "STORE", "x"]), syntax);
    assert_eq!(
        err(&mut c, &["SORT", "n", "LIMIT", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SORT", "n", "LIMIT", "0", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SORT"]),
        "ERR wrong number of arguments for 'sort' command"
    );
    assert_eq!(
        err(&mut c, &["SORT_RO"]),
        "ERR wrong number of arguments for 'sort_ro' command"
    );
    // Syntax is checked before the type.
    q::<()>(&mut c, &["SET", "str", "x"]);
    assert_eq!(err(&mut c, &["SORT", "str", "FOO"]), syntax);
    assert!(err(&mut c, &["SORT", "str"]).starts_with("WRONGTYPE"));
    assert!(err(&mut c, &["SORT_RO", "str", "ALPHA"]).starts_with("WRONGTYPE"));
    q::<i64>(&mut c, &["HSET", "h", "a", "1"]);
    assert!(err(&mut c, &["SORT", "h"]).starts_with("WRONGTYPE"));
    // WRONGTYPE leaves the destination alone.
    q::<()>(&mut c, &["SET", "keep", "v"]);
    assert!(err(&mut c, &["SORT", "h", "STORE", "keep"]).starts_with("WRONGTYPE"));
    assert_eq!(q::<String>(&mut c, &["GET", "keep"]), "v");
}

#[test]
fn limit_clamping() {
    let s = TestServer::start();
    let mut c = s.conn();
    rpush(&mut c, "l", &["5", "4", "3", "2", "1"]);
    let sort = |c: &mut redis::Connection, off: &str, n: &str| -> Vec<String> {
        q(c, &["SORT", "l", "LIMIT", off, n])
    };
    assert_eq!(sort(&mut c, "0", "2"), strs(&["1", "2"]));
    assert_eq!(sort(&mut c, "1", "-1"), strs(&["2", "3", "4", "5"]));
    assert_eq!(sort(&mut c, "-10", "2"), strs(&["1", "2"]));
    assert_eq!(sort(&mut c, "3", "100"), strs(&["4", "5"]));
    assert_eq!(sort(&mut c, "5", "1"), Vec::<String>::new());
    assert_eq!(sort(&mut c, "2", "0"), Vec::<String>::new());
    assert_eq!(
        sort(&mut c, "9223372036854775807", "9223372036854775807"),
        Vec::<String>::new()
    );
    assert_eq!(
        sort(&mut c, "-9223372036854775808", "-9223372036854775808").len(),
        5
    );
    assert_eq!(sort(&mut c, "4", "9223372036854775807"), strs(&["5"]));
    // The last LIMIT wins; DESC applies before the range.
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT", "l", "LIMIT", "0", "1", "DESC", "LIMIT", "1", "2"]
        ),
        strs(&["4", "3"])
    );
}

#[test]
fn by_patterns_and_get() {
    let s = TestServer::start();
    let mut c = s.conn();
    rpush(&mut c, "l", &["a", "b", "c", "d"]);
    // Weights in strings, spread over shards (no hash tags).
    for (k, w) in [("a", "3"), ("b", "1"), ("c", "2")] {
        q::<()>(&mut c, &["SET", &format!("w_{k}"), w]);
        q::<i64>(
            &mut c,
            &[
                "HSET",
                &format!("obj_{k}"),
                "weight",
                w,
                "name",
                &k.to_uppercase(),
            ],
        );
    }
    // d has no weight: 0, first.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "w_*"]),
        strs(&["d", "b", "c", "a"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "obj_*->weight", "DESC"]),
        strs(&["a", "c", "b", "d"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "w_*", "LIMIT", "1", "2"]),
        strs(&["b", "c"])
    );
    // GET: '#', strings, hash fields; missing targets are nil.
    assert_eq!(
        q::<Vec<Opt>>(
            &mut c,
            &[
                "SORT",
                "l",
                "BY",
                "w_*",
                "GET",
                "#",
                "GET",
                "w_*",
                "GET",
                "obj_*->name"
            ]
        ),
        vec![
            Some("d".into()),
            None,
            None,
            Some("b".into()),
            Some("1".into()),
            Some("B".into()),
            Some("c".into()),
            Some("2".into()),
            Some("C".into()),
            Some("a".into()),
            Some("3".into()),
            Some("A".into()),
        ]
    );
    // A GET pattern without '*' is always nil; a wrong type is nil.
    assert_eq!(
        q::<Vec<Opt>>(
            &mut c,
            &["SORT", "l", "ALPHA", "GET", "w_a", "LIMIT", "0", "2"]
        ),
        vec![None, None]
    );
    assert_eq!(
        q::<Vec<Opt>>(
            &mut c,
            &["SORT", "l", "ALPHA", "GET", "obj_*", "GET", "w_*->x", "LIMIT", "0", "1"]
        ),
        vec![None, None]
    );
    // A trailing "->" is part of the key name.
    q::<()>(&mut c, &["SET", "x:a->", "100"]);
    assert_eq!(
        q::<Vec<Opt>>(
            &mut c,
            &["SORT", "l", "BY", "nosort", "GET", "x:*->", "LIMIT", "0", "1"]
        ),
        vec![Some("100".into())]
    );
    // ALPHA BY: missing weights first, then the weights' bytes.
    q::<()>(&mut c, &["MSET", "s_a", "b", "s_b", "a", "s_c", "aa"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "s_*", "ALPHA"]),
        strs(&["d", "b", "c", "a"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "s_*", "ALPHA", "DESC"]),
        strs(&["a", "c", "b", "d"])
    );
    // Equal numeric weights fall back to the elements' bytes.
    let mut cmd = redis::cmd("SADD");
    cmd.arg("set").arg(&["z", "y", "x", "aa", "a"][..]);
    cmd.query::<i64>(&mut c).unwrap();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "set", "BY", "same_*"]),
        strs(&["a", "aa", "x", "y", "z"])
    );
    // SORT_RO takes the same options but STORE.
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "SORT_RO",
                "l",
                "BY",
                "w_*",
                "GET",
                "obj_*->name",
                "LIMIT",
                "1",
                "3"
            ]
        ),
        strs(&["B", "C", "A"])
    );
}

#[test]
fn nosort_orders() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Lists keep their order; DESC reverses; LIMIT is a range of it.
    rpush(&mut c, "l", &["c", "a", "b", "d"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "nosort"]),
        strs(&["c", "a", "b", "d"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "nosort", "DESC"]),
        strs(&["d", "b", "a", "c"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"]
        ),
        strs(&["b", "a"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "nosort", "LIMIT", "3", "5"]),
        strs(&["d"])
    );
    // Non-numbers are fine: nothing is parsed.
    assert_eq!(q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "#"]).len(), 4);
    // Sorted sets: rank order, from the top with DESC.
    q::<i64>(
        &mut c,
        &["ZADD", "z", "3", "c", "1", "x", "2", "b", "10", "a"],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "BY", "nosort"]),
        strs(&["x", "b", "c", "a"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"]
        ),
        strs(&["c", "b"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "BY", "nosort", "LIMIT", "2", "-1"]),
        strs(&["c", "a"])
    );
    // Redis turns a listpack sorted set into a skiplist for SORT.
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "ALPHA"]),
        strs(&["a", "b", "c", "x"])
    );
    // Sets keep their iteration order, ignoring DESC: intset ascending,
    // listpack insertion order.
    let sadd = |c: &mut redis::Connection, k: &str, m: &[&str]| {
        let mut cmd = redis::cmd("SADD");
        cmd.arg(k).arg(m);
        cmd.query::<i64>(c).unwrap();
    };
    sadd(&mut c, "si", &["30", "10", "20"]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "si"]), "intset");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "si", "BY", "nosort", "DESC"]),
        strs(&["10", "20", "30"])
    );
    sadd(&mut c, "sp", &["q", "b", "z", "a"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "sp"]),
        "listpack"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "sp", "BY", "nosort", "LIMIT", "1", "2"]),
        strs(&["b", "z"])
    );
    // ... but a STOREd nosort set is sorted ALPHA, so the result is stable.
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "sp", "BY", "nosort", "STORE", "d"]),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "d", "0", "-1"]),
        strs(&["a", "b", "q", "z"])
    );
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "si", "BY", "x", "DESC", "STORE", "d"]),
        3
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "d", "0", "-1"]),
        strs(&["30", "20", "10"])
    );
    // A big (hashtable) set sorts like any other.
    let mut cmd = redis::cmd("SADD");
    cmd.arg("sh");
    for i in 0..300 {
        cmd.arg(format!("m{i}"));
    }
    cmd.query::<i64>(&mut c).unwrap();
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "sh"]),
        "hashtable"
    );
    let mut want: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(q::<Vec<String>>(&mut c, &["SORT", "sh", "ALPHA"]), want);
    let mut nosort: Vec<String> = q(&mut c, &["SORT", "sh", "BY", "nosort"]);
    nosort.sort();
    assert_eq!(nosort, want);
}

#[test]
fn store() {
    let s = TestServer::start();
    let mut c = s.conn();
    rpush(&mut c, "src", &["3", "1", "2"]);
    // STORE overwrites any type and drops a TTL.
    q::<i64>(&mut c, &["HSET", "dst", "f", "v"]);
    q::<i64>(&mut c, &["EXPIRE", "dst", "100"]);
    assert_eq!(q::<i64>(&mut c, &["SORT", "src", "STORE", "dst"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "dst"]), "list");
    assert_eq!(q::<i64>(&mut c, &["TTL", "dst"]), -1);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strs(&["1", "2", "3"])
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "dst"]),
        "listpack"
    );
    // GET values are stored; a missing one is stored as "".
    q::<()>(&mut c, &["SET", "v_1", "one"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SORT", "src", "GET", "#", "GET", "v_*", "STORE", "dst"]
        ),
        6
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strs(&["1", "one", "2", "", "3", ""])
    );
    // The source may be the destination.
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "src", "DESC", "STORE", "src"]),
        3
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "src", "0", "-1"]),
        strs(&["3", "2", "1"])
    );
    // An empty result deletes the destination, and creates nothing.
    assert_eq!(q::<i64>(&mut c, &["SORT", "nope", "STORE", "dst"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SORT", "src", "LIMIT", "10", "10", "STORE", "zap"]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "zap"]), 0);
    // The last STORE wins.
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "src", "STORE", "a", "STORE", "b"]),
        3
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "b"]), 3);
    // A long result becomes a quicklist (1000 small integers would still
    // fit one 8 KB listpack, as in Redis 7.2).
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg("big");
    for i in 0..5000 {
        cmd.arg(i);
    }
    cmd.query::<i64>(&mut c).unwrap();
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "big", "DESC", "STORE", "bigdst"]),
        5000
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "bigdst"]),
        "quicklist"
    );
    assert_eq!(q::<String>(&mut c, &["LINDEX", "bigdst", "0"]), "4999");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "bigdst", "-1"]), "0");
}

#[test]
fn store_wakes_blocked_clients() {
    let s = TestServer::start();
    let mut c = s.conn();
    rpush(&mut c, "src", &["2", "1"]);
    let mut waiter = s.conn();
    let t = std::thread::spawn(move || -> Vec<String> { q(&mut waiter, &["BLPOP", "dst", "5"]) });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<i64>(&mut c, &["SORT", "src", "STORE", "dst"]), 2);
    assert_eq!(t.join().unwrap(), strs(&["dst", "1"]));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strs(&["2"])
    );
}

#[test]
fn command_table_entries() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "COMMAND", "GETKEYS", "SORT", "k", "LIMIT", "0", "1", "BY", "store", "STORE", "a",
                "GET", "x", "STORE", "b"
            ]
        ),
        strs(&["k", "b"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "SORT_RO", "k", "BY", "w_*"]),
        strs(&["k"])
    );
    let info: redis::Value = q(&mut c, &["COMMAND", "INFO", "SORT", "SORT_RO"]);
    let text = format!("{info:?}");
    for want in [
        "denyoom",
        "movablekeys",
        "readonly",
        "dangerous",
        "sortedset",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
}

#[test]
fn resp3_nils() {
    let s = TestServer::start();
    let mut c = s.conn();
    rpush(&mut c, "l", &["1", "2"]);
    q::<()>(&mut c, &["SET", "v_2", "two"]);
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let _ = r.read_n(200, Duration::from_millis(500));
    r.roundtrip(b"SORT l GET v_*\r\n", b"*2\r\n_\r\n$3\r\ntwo\r\n");
    r.roundtrip(b"SORT l STORE d\r\n", b":2\r\n");
    r.roundtrip(b"SORT nope\r\n", b"*0\r\n");
}
