//! Sets through the `redis` crate (and raw sockets for RESP3 shapes).
//! Command-by-command equality with a real redis-server is in compare.rs;
//! this file covers what a seeded corpus cannot: the three encodings and
//! their conversions under CONFIG SET, the listpack order (the installed
//! redis-server predates listpack sets), the keyspace commands, random
//! members, iteration of large sets, and SMOVE's atomicity across shards.

mod common;
use common::{err, q, TestServer};
use std::collections::HashSet;
use std::thread;
use std::time::Duration;

fn enc(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn sadd_n(c: &mut redis::Connection, key: &str, members: impl Iterator<Item = String>) {
    let mut cmd = redis::cmd("SADD");
    cmd.arg(key);
    for m in members {
        cmd.arg(m);
    }
    cmd.query::<i64>(c).expect("sadd");
}

#[test]
fn members_and_membership() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "3", "1", "2", "1"]), 3);
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "2", "4"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 4);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "nope"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "4"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "04"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "nope", "4"]), 0);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "s", "1", "9", "4"]),
        [1, 0, 1]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "nope", "1", "2"]),
        [0, 0]
    );
    // An intset answers in ascending order.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "s"]),
        ["1", "2", "3", "4"]
    );
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "1", "9", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SREM", "nope", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "2", "3", "4"]), 3);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "s"]),
        0,
        "empty set is deleted"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "s"]),
        Vec::<String>::new()
    );

    // Binary-safe members, the empty one included.
    let bin = [0u8, 255, 13, 10];
    let n: i64 = redis::cmd("SADD")
        .arg("b")
        .arg(&bin[..])
        .arg("")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 2);
    let is: i64 = redis::cmd("SISMEMBER")
        .arg("b")
        .arg(&bin[..])
        .query(&mut c)
        .unwrap();
    assert_eq!(is, 1);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "b", ""]), 1);
}

#[test]
fn wrong_type_and_arity() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "str", "x"]);
    q::<()>(&mut c, &["SADD", "s", "a"]);
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SCARD", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SSCAN", "str", "0"],
        &["SINTER", "s", "str"],
        &["SINTER", "nope", "str"],
        &["SINTERCARD", "2", "s", "str"],
        &["SINTERSTORE", "d", "s", "str"],
        &["SUNION", "s", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SDIFF", "s", "str"],
        &["SDIFFSTORE", "d", "nope", "str"],
        &["SMOVE", "str", "s", "a"],
        &["SMOVE", "s", "str", "a"],
    ] {
        assert!(err(&mut c, args).starts_with("WRONGTYPE"), "{args:?}");
    }
    assert!(err(&mut c, &["GET", "s"]).starts_with("WRONGTYPE"));
    // SMOVE from a missing key answers 0 before looking at the destination.
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "nope", "str", "a"]), 0);
    assert_eq!(
        err(&mut c, &["SADD", "s"]),
        "ERR wrong number of arguments for 'sadd' command"
    );
    assert_eq!(err(&mut c, &["SPOP", "s", "1", "2"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["SRANDMEMBER", "s", "1", "2"]),
        "ERR syntax error"
    );
    assert_eq!(err(&mut c, &["SSCAN", "s", "x"]), "ERR invalid cursor");
    assert_eq!(
        err(&mut c, &["SSCAN", "s", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SSCAN", "s", "0", "MATCH"]),
        "ERR syntax error"
    );
    // The destination of a store is overwritten whatever it held.
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "str", "s"]), 1);
    assert_eq!(q::<String>(&mut c, &["TYPE", "str"]), "set");
}

#[test]
fn encodings_follow_redis_rules() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["SADD", "i", "1", "-5", "70000", "9223372036854775807"],
    );
    assert_eq!(enc(&mut c, "i"), "intset");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "i"]),
        ["-5", "1", "70000", "9223372036854775807"]
    );
    // Non-canonical integers are strings: the intset becomes a listpack,
    // its integers first (ascending), then the new member.
    q::<()>(&mut c, &["SADD", "i", "+1"]);
    assert_eq!(enc(&mut c, "i"), "listpack");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "i"]),
        ["-5", "1", "70000", "9223372036854775807", "+1"]
    );
    // A listpack keeps insertion order, removals included.
    q::<()>(&mut c, &["SADD", "l", "b", "a", "c", "10", "01"]);
    assert_eq!(enc(&mut c, "l"), "listpack");
    q::<()>(&mut c, &["SREM", "l", "a"]);
    q::<()>(&mut c, &["SADD", "l", "a"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "l"]),
        ["b", "c", "10", "01", "a"]
    );
    // A long member: hashtable.
    q::<()>(&mut c, &["SADD", "l", &"x".repeat(65)]);
    assert_eq!(enc(&mut c, "l"), "hashtable");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "l"]), 6);
    // An intset whose widest integer is longer than set-max-listpack-value
    // goes straight to a hashtable.
    q::<()>(&mut c, &["CONFIG", "SET", "set-max-listpack-value", "4"]);
    q::<()>(&mut c, &["SADD", "w", "123456", "1"]);
    q::<()>(&mut c, &["SADD", "w", "a"]);
    assert_eq!(enc(&mut c, "w"), "hashtable");
    q::<()>(&mut c, &["CONFIG", "SET", "set-max-listpack-value", "64"]);

    // Past set-max-intset-entries: hashtable.
    q::<()>(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "4"]);
    q::<()>(&mut c, &["SADD", "n", "1", "2", "3", "4"]);
    assert_eq!(enc(&mut c, "n"), "intset");
    q::<()>(&mut c, &["SADD", "n", "5"]);
    assert_eq!(enc(&mut c, "n"), "hashtable");
    // SADD's argument count is the size hint: 5 integer arguments are too
    // many for this intset even when they repeat, so a listpack holds them.
    q::<()>(&mut c, &["SADD", "h", "1", "1", "1", "1", "1"]);
    assert_eq!(enc(&mut c, "h"), "listpack");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "h"]), 1);
    // And 129 arguments are too many for a listpack.
    sadd_n(&mut c, "h2", (0..129).map(|_| "x".to_string()));
    assert_eq!(enc(&mut c, "h2"), "hashtable");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "h2"]), 1);
    // An existing listpack converts up front too (setTypeMaybeConvert).
    sadd_n(&mut c, "h", (0..129).map(|_| "1".to_string()));
    assert_eq!(enc(&mut c, "h"), "hashtable");
    q::<()>(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "512"]);

    // Past set-max-listpack-entries: hashtable.
    q::<()>(&mut c, &["CONFIG", "SET", "set-max-listpack-entries", "3"]);
    q::<()>(&mut c, &["SADD", "p", "a", "b", "c"]);
    assert_eq!(enc(&mut c, "p"), "listpack");
    q::<()>(&mut c, &["SADD", "p", "d"]);
    assert_eq!(enc(&mut c, "p"), "hashtable");
    // An intset of 3 that gets a string would be a listpack of 4: too many.
    q::<()>(&mut c, &["SADD", "q", "1", "2", "3"]);
    q::<()>(&mut c, &["SADD", "q", "x"]);
    assert_eq!(enc(&mut c, "q"), "hashtable");
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "set-max-listpack-entries", "128"],
    );

    // Defaults: 512 integers stay an intset, 513 do not; 128 strings stay a
    // listpack, 129 do not.
    sadd_n(&mut c, "ints", (0..512).map(|i| i.to_string()));
    assert_eq!(enc(&mut c, "ints"), "intset");
    q::<()>(&mut c, &["SADD", "ints", "512"]);
    assert_eq!(enc(&mut c, "ints"), "hashtable");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "ints"]), 513);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "ints", "511"]), 1);
    sadd_n(&mut c, "strs", (0..128).map(|i| format!("m{i}")));
    assert_eq!(enc(&mut c, "strs"), "listpack");
    q::<()>(&mut c, &["SADD", "strs", "m128"]);
    assert_eq!(enc(&mut c, "strs"), "hashtable");
    // Encodings never shrink back on removal.
    q::<()>(&mut c, &["SREM", "strs", "m0", "m1", "m2"]);
    assert_eq!(enc(&mut c, "strs"), "hashtable");
}

#[test]
fn store_results_pick_redis_encodings() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SADD", "{t}i1", "1", "2", "3", "4"]);
    q::<()>(&mut c, &["SADD", "{t}i2", "3", "4", "5"]);
    q::<()>(&mut c, &["SADD", "{t}s1", "a", "b", "3", "4"]);
    // Integer results are intsets; string ones listpacks.
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "{t}d", "{t}s1", "{t}i1"]),
        2
    );
    assert_eq!(enc(&mut c, "{t}d"), "intset");
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "{t}d"]), ["3", "4"]);
    assert_eq!(
        q::<i64>(&mut c, &["SUNIONSTORE", "{t}d", "{t}i1", "{t}i2"]),
        5
    );
    assert_eq!(enc(&mut c, "{t}d"), "intset");
    assert_eq!(
        q::<i64>(&mut c, &["SDIFFSTORE", "{t}d", "{t}s1", "{t}i2"]),
        2
    );
    assert_eq!(enc(&mut c, "{t}d"), "listpack");
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "{t}d"]), ["a", "b"]);
    // Union order: integers collect in an intset until the first string.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SUNION", "{t}i2", "{t}s1"]),
        ["3", "4", "5", "a", "b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SINTER", "{t}s1", "{t}s1"]),
        ["a", "b", "3", "4"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SDIFF", "{t}s1", "{t}i1"]),
        ["a", "b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SDIFF", "{t}s1", "{t}s1"]),
        Vec::<String>::new()
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SDIFF", "{t}s1", "{t}nope"]).len(),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SDIFF", "{t}nope", "{t}s1"]).len(),
        0
    );
    // Empty results delete the destination.
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "{t}d", "{t}i1", "{t}nope"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "{t}d"]), 0);
    q::<()>(&mut c, &["SET", "{t}d", "x"]);
    assert_eq!(
        q::<i64>(&mut c, &["SDIFFSTORE", "{t}d", "{t}i1", "{t}i1"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "{t}d"]), 0);
    // The store drops the destination's TTL.
    q::<()>(&mut c, &["SADD", "{t}d", "x"]);
    q::<()>(&mut c, &["EXPIRE", "{t}d", "100"]);
    q::<()>(&mut c, &["SUNIONSTORE", "{t}d", "{t}i1"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "{t}d"]), -1);
    // A destination among the inputs.
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "{t}i1", "{t}i1", "{t}i2"]),
        2
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "{t}i1"]), ["3", "4"]);

    // An intersection of hashtables is a listpack when small.
    sadd_n(&mut c, "{t}h1", (0..200).map(|i| format!("m{i}")));
    sadd_n(&mut c, "{t}h2", (190..400).map(|i| format!("m{i}")));
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "{t}d", "{t}h1", "{t}h2"]),
        10
    );
    assert_eq!(enc(&mut c, "{t}d"), "listpack");
    assert_eq!(
        q::<i64>(&mut c, &["SUNIONSTORE", "{t}d", "{t}h1", "{t}h2"]),
        400
    );
    assert_eq!(enc(&mut c, "{t}d"), "hashtable");
    // ... and an intset when its members are integers.
    sadd_n(&mut c, "{t}n1", (0..600).map(|i| i.to_string()));
    sadd_n(&mut c, "{t}n2", (590..1000).map(|i| i.to_string()));
    assert_eq!(enc(&mut c, "{t}n1"), "hashtable");
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "{t}d", "{t}n1", "{t}n2"]),
        10
    );
    assert_eq!(enc(&mut c, "{t}d"), "intset");
}

#[test]
fn sintercard_options_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SADD", "{c}a", "1", "2", "3", "x", "y"]);
    q::<()>(&mut c, &["SADD", "{c}b", "2", "3", "x", "z"]);
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "2", "{c}a", "{c}b"]), 3);
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "1", "{c}a"]), 5);
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "{c}a", "{c}b", "LIMIT", "2"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "{c}a", "{c}b", "limit", "0"]),
        3
    );
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "2", "{c}a", "{c}no"]), 0);
    for (args, msg) in [
        (
            &["SINTERCARD", "0", "{c}a"][..],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["SINTERCARD", "x", "{c}a"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["SINTERCARD", "3", "{c}a", "{c}b"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (
            &["SINTERCARD", "9223372036854775807", "{c}a"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (
            &["SINTERCARD", "1", "{c}a", "LIMIT", "-1"],
            "ERR LIMIT can't be negative",
        ),
        (
            &["SINTERCARD", "1", "{c}a", "LIMIT", "x"],
            "ERR LIMIT can't be negative",
        ),
        (&["SINTERCARD", "1", "{c}a", "LIMIT"], "ERR syntax error"),
        (&["SINTERCARD", "1", "{c}a", "{c}b"], "ERR syntax error"),
    ] {
        assert_eq!(err(&mut c, args), msg, "{args:?}");
    }
    // COMMAND GETKEYS finds SINTERCARD's keys from numkeys.
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND",
            "GETKEYS",
            "SINTERCARD",
            "2",
            "{c}a",
            "{c}b",
            "LIMIT",
            "1",
        ],
    );
    assert_eq!(keys, ["{c}a", "{c}b"]);
}

#[test]
fn smove_semantics() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SADD", "src", "a", "b", "1"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "src", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "src", "zz"]), 0);
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "dst"]), ["a"]);
    // A new destination gets the member's encoding.
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst2", "1"]), 1);
    assert_eq!(enc(&mut c, "dst2"), "intset");
    // Moving a member the destination has still removes it from the source.
    q::<()>(&mut c, &["SADD", "dst", "b"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst", "b"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "src"]),
        0,
        "emptied source deleted"
    );
    assert_eq!(q::<i64>(&mut c, &["SCARD", "dst"]), 2);
}

#[test]
fn smove_is_atomic_across_shards() {
    let s = TestServer::start();
    // Keys without a shared tag, so (almost surely) in different shards.
    let keys = ["alpha", "beta", "gamma"];
    {
        let mut c = s.conn();
        sadd_n(&mut c, keys[0], (0..200).map(|i| format!("m{i}")));
    }
    let workers: Vec<_> = (0..3)
        .map(|t| {
            let mut c = s.conn();
            thread::spawn(move || {
                for i in 0..300 {
                    let from = keys[(i + t) % 3];
                    let to = keys[(i + t + 1) % 3];
                    let m = format!("m{}", (i * 7 + t) % 200);
                    q::<i64>(&mut c, &["SMOVE", from, to, &m]);
                }
            })
        })
        .collect();
    let mut c = s.conn();
    for _ in 0..50 {
        // Every member is in exactly one set at every instant (SUNION sees
        // the three keys at one instant).
        let all: Vec<String> = q(&mut c, &["SUNION", keys[0], keys[1], keys[2]]);
        assert_eq!(all.len(), 200);
        let total: i64 = q(&mut c, &["SINTERCARD", "2", keys[0], keys[1]]);
        assert_eq!(total, 0);
    }
    for w in workers {
        w.join().unwrap();
    }
    let mut all = Vec::new();
    for k in keys {
        all.extend(q::<Vec<String>>(&mut c, &["SMEMBERS", k]));
    }
    assert_eq!(all.len(), 200);
    assert_eq!(all.into_iter().collect::<HashSet<_>>().len(), 200);
}

#[test]
fn spop_and_srandmember() {
    let s = TestServer::start();
    let mut c = s.conn();
    for (key, members) in [
        ("ints", (0..50).map(|i| i.to_string()).collect::<Vec<_>>()),
        ("lp", (0..50).map(|i| format!("m{i}")).collect()),
        ("ht", (0..300).map(|i| format!("m{i}")).collect()),
    ] {
        sadd_n(&mut c, key, members.clone().into_iter());
        let all: HashSet<String> = members.iter().cloned().collect();
        let n = members.len();
        let one: String = q(&mut c, &["SRANDMEMBER", key]);
        assert!(all.contains(&one));
        for count in [1, 5, n / 2, n - 1, n, n + 10] {
            let got: Vec<String> = q(&mut c, &["SRANDMEMBER", key, &count.to_string()]);
            assert_eq!(got.len(), count.min(n), "{key} {count}");
            let uniq: HashSet<_> = got.iter().cloned().collect();
            assert_eq!(uniq.len(), got.len(), "distinct");
            assert!(uniq.is_subset(&all));
        }
        let got: Vec<String> = q(&mut c, &["SRANDMEMBER", key, "-1000"]);
        assert_eq!(got.len(), 1000);
        assert!(got.iter().all(|m| all.contains(m)));
        let whole: Vec<String> = q(&mut c, &["SRANDMEMBER", key, "9223372036854775807"]);
        assert_eq!(whole.len(), n);
        assert_eq!(
            err(&mut c, &["SRANDMEMBER", key, "-9223372036854775808"]),
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        // A negative count that large would not fit in memory.
        assert!(err(&mut c, &["SRANDMEMBER", key, "-9223372036854775807"])
            .starts_with("ERR value is out of range"));
        assert_eq!(
            q::<i64>(&mut c, &["SCARD", key]),
            n as i64,
            "SRANDMEMBER keeps"
        );

        // SPOP, one then several (both strategies), then the rest.
        let a: String = q(&mut c, &["SPOP", key]);
        assert!(all.contains(&a));
        let b: Vec<String> = q(&mut c, &["SPOP", key, "3"]);
        let big = (n - 4) * 5 / 6 + 1;
        let d: Vec<String> = q(&mut c, &["SPOP", key, &big.to_string()]);
        let rest: Vec<String> = q(&mut c, &["SMEMBERS", key]);
        assert_eq!(rest.len(), n - 4 - big);
        let e: Vec<String> = q(&mut c, &["SPOP", key, "9223372036854775807"]);
        assert_eq!(sorted(e.clone()), sorted(rest));
        let mut popped: Vec<String> = vec![a];
        popped.extend(b);
        popped.extend(d);
        popped.extend(e);
        assert_eq!(popped.len(), n);
        assert_eq!(popped.into_iter().collect::<HashSet<_>>(), all);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", key]), 0, "popped empty");
        assert_eq!(q::<Option<String>>(&mut c, &["SPOP", key]), None);
        assert_eq!(
            q::<Vec<String>>(&mut c, &["SPOP", key, "2"]),
            Vec::<String>::new()
        );
    }
    q::<()>(&mut c, &["SADD", "x", "a"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SPOP", "x", "0"]),
        Vec::<String>::new()
    );
    assert_eq!(
        err(&mut c, &["SPOP", "x", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        err(&mut c, &["SPOP", "x", "a"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        err(&mut c, &["SRANDMEMBER", "x", "a"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "x", "0"]),
        Vec::<String>::new()
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "x", "-3"]),
        ["a", "a", "a"]
    );
    assert_eq!(q::<Option<String>>(&mut c, &["SRANDMEMBER", "nope"]), None);

    // SPOP taking most of a hashtable rebuilds it from what stays: a
    // listpack (Redis's strategy for large pops).
    sadd_n(&mut c, "h", (0..300).map(|i| format!("m{i}")));
    assert_eq!(q::<Vec<String>>(&mut c, &["SPOP", "h", "290"]).len(), 290);
    assert_eq!(enc(&mut c, "h"), "listpack");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "h"]), 10);
    // ... and an intset stays an intset.
    sadd_n(&mut c, "n", (0..100).map(|i| i.to_string()));
    q::<Vec<String>>(&mut c, &["SPOP", "n", "95"]);
    assert_eq!(enc(&mut c, "n"), "intset");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "n"]), 5);
}

#[test]
fn sscan_iterates_every_encoding() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SADD", "i", "1", "2", "10", "20"]);
    let (cur, got): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("i")
        .arg(0)
        .arg("COUNT")
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        (cur.as_str(), got),
        ("0", vec!["1".into(), "2".into(), "10".into(), "20".into()])
    );
    let (_, got): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("i")
        .arg(0)
        .arg("MATCH")
        .arg("1*")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, ["1", "10"]);
    q::<()>(&mut c, &["SADD", "l", "b", "a", "ab"]);
    let (cur, got): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("l")
        .arg(0)
        .arg("MATCH")
        .arg("a*")
        .query(&mut c)
        .unwrap();
    assert_eq!((cur.as_str(), got), ("0", vec!["a".into(), "ab".into()]));
    let (cur, got): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("nope")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!((cur.as_str(), got.len()), ("0", 0));

    // A hashtable goes in steps, and a full scan sees every member that
    // stays, even while others are removed.
    sadd_n(&mut c, "h", (0..1000).map(|i| format!("m{i}")));
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, got): (String, Vec<String>) = redis::cmd("SSCAN")
            .arg("h")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut c)
            .unwrap();
        assert!(got.len() <= 50);
        seen.extend(got);
        calls += 1;
        if calls <= 10 {
            q::<i64>(&mut c, &["SREM", "h", &format!("m{}", calls * 3)]);
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert!(calls >= 20, "{calls} calls");
    for i in 0..1000 {
        if i % 3 != 0 || i > 30 {
            assert!(seen.contains(&format!("m{i}")), "missed m{i}");
        }
    }
    let (_, got): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("h")
        .arg(0)
        .arg("MATCH")
        .arg("m99*")
        .arg("COUNT")
        .arg(100000)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        sorted(got),
        ["m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999"]
    );
    // A huge COUNT does not allocate for itself.
    let (cur, got): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("h")
        .arg(0)
        .arg("COUNT")
        .arg("9223372036854775807")
        .query(&mut c)
        .unwrap();
    assert_eq!((cur.as_str(), got.len()), ("0", 990));
}

#[test]
fn keyspace_commands_on_sets() {
    let s = TestServer::start();
    let mut c = s.conn();
    sadd_n(&mut c, "h", (0..200).map(|i| format!("m{i}")));
    q::<()>(&mut c, &["SADD", "i", "1", "2"]);
    q::<()>(&mut c, &["SADD", "l", "a"]);
    q::<()>(&mut c, &["ZADD", "z", "1", "a"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "set");
    let (_, found): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("set")
        .arg("COUNT")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    assert_eq!(sorted(found), ["h", "i", "l"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "h", "hc"]), 1);
    q::<()>(&mut c, &["SREM", "h", "m0"]);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "hc"]), 200, "COPY is deep");
    assert_eq!(enc(&mut c, "hc"), "hashtable");
    assert_eq!(q::<i64>(&mut c, &["COPY", "i", "ic"]), 1);
    assert_eq!(enc(&mut c, "ic"), "intset");
    q::<()>(&mut c, &["RENAME", "hc", "hr"]);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "hr", "m0"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "hc"]), 0);
    q::<()>(&mut c, &["PEXPIRE", "hr", "20"]);
    thread::sleep(Duration::from_millis(60));
    assert_eq!(q::<i64>(&mut c, &["SCARD", "hr"]), 0, "expired");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "hr"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DEL", "l"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "l", "a"]), 0);
}

#[test]
fn sets_feed_sorted_set_operations() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SADD", "{u}s", "a", "b", "7"]);
    q::<()>(&mut c, &["ZADD", "{u}z", "5", "a", "2", "c"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "ZUNIONSTORE",
                "{u}d",
                "2",
                "{u}s",
                "{u}z",
                "WEIGHTS",
                "3",
                "1"
            ]
        ),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "{u}d", "0", "-1", "WITHSCORES"]),
        ["c", "2", "7", "3", "b", "3", "a", "8"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZINTER", "2", "{u}s", "{u}z", "WITHSCORES"]),
        ["a", "6"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZDIFF", "2", "{u}s", "{u}z", "WITHSCORES"]),
        ["7", "1", "b", "1"]
    );
    assert_eq!(q::<i64>(&mut c, &["ZINTERCARD", "2", "{u}s", "{u}z"]), 1);
    assert_eq!(q::<i64>(&mut c, &["ZINTERSTORE", "{u}d", "1", "{u}s"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "{u}d"]), "zset");
    // Other types are still refused.
    q::<()>(&mut c, &["SET", "{u}str", "x"]);
    assert!(err(&mut c, &["ZUNION", "2", "{u}s", "{u}str"]).starts_with("WRONGTYPE"));
}

#[test]
fn resp3_reply_shapes() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let hello = r.read_n(200, Duration::from_millis(500));
    assert!(hello.ends_with(b"$7\r\nmodules\r\n*0\r\n"));
    r.roundtrip(b"SADD s 2 1\r\n", b":2\r\n");
    r.roundtrip(b"SMEMBERS s\r\n", b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(b"SMEMBERS nope\r\n", b"~0\r\n");
    r.roundtrip(b"SINTER s s\r\n", b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(b"SUNION s nope\r\n", b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(b"SDIFF s nope\r\n", b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(b"SINTER s nope\r\n", b"~0\r\n");
    r.roundtrip(b"SRANDMEMBER s 5\r\n", b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(b"SRANDMEMBER nope 5\r\n", b"*0\r\n");
    r.roundtrip(b"SRANDMEMBER nope\r\n", b"_\r\n");
    r.roundtrip(b"SMISMEMBER s 1 3\r\n", b"*2\r\n:1\r\n:0\r\n");
    r.roundtrip(
        b"SSCAN s 0\r\n",
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
    );
    r.roundtrip(b"SPOP s 0\r\n", b"~0\r\n");
    r.roundtrip(b"SPOP nope 1\r\n", b"~0\r\n");
    r.roundtrip(b"SPOP nope\r\n", b"_\r\n");
    r.roundtrip(b"SPOP s 5\r\n", b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(b"EXISTS s\r\n", b":0\r\n");
}
