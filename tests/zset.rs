//! Sorted sets through the `redis` crate (and raw sockets for RESP3 shapes
//! and pipelining around blocking pops). Command-by-command equality with a
//! real redis-server is in compare.rs; this file covers what a seeded corpus
//! cannot: encodings and config, the keyspace commands, iteration, random
//! members, and blocking with several clients.

mod common;
use common::{blocked_clients, err, q, wait_blocked, TestServer};
use redis::Value;
use std::thread;
use std::time::{Duration, Instant};

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn add_update_and_score_semantics() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "1", "a", "2", "b", "+inf", "c"]),
        3
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "CH", "5", "a", "2", "b", "1", "d"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "XX", "CH", "GT", "4", "a", "9", "b"]),
        1
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", "a"]), "5");
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", "c"]), "inf");
    assert_eq!(
        q::<Value>(&mut c, &["ZADD", "z", "NX", "INCR", "1", "a"]),
        Value::Nil
    );
    assert_eq!(q::<String>(&mut c, &["ZINCRBY", "z", "0.5", "a"]), "5.5");
    assert_eq!(q::<String>(&mut c, &["ZINCRBY", "z", "0.1", "new"]), "0.1");
    assert_eq!(
        err(&mut c, &["ZINCRBY", "z", "-inf", "c"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "nan", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "1", "a", "2"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "GT", "LT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    // Equal scores order by member bytes; scores print in shortest form.
    q::<()>(&mut c, &["ZADD", "t", "1e100", "x", "0.1", "b", "0.1", "a"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "t", "0", "-1", "WITHSCORES"]),
        ["a", "0.1", "b", "0.1", "x", "1e+100"]
    );
    assert_eq!(q::<i64>(&mut c, &["ZREM", "t", "a", "b", "x", "nope"]), 3);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "t"]),
        0,
        "empty set is deleted"
    );
    q::<()>(&mut c, &["SET", "s", "v"]);
    assert!(err(&mut c, &["ZADD", "s", "1", "a"]).starts_with("WRONGTYPE"));
    assert!(err(&mut c, &["GET", "z"]).starts_with("WRONGTYPE"));
}

#[test]
fn ranks_and_ranges() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..300 {
        q::<()>(&mut c, &["ZADD", "lb", &i.to_string(), &format!("p{i:03}")]);
    }
    assert_eq!(q::<i64>(&mut c, &["ZRANK", "lb", "p010"]), 10);
    assert_eq!(q::<i64>(&mut c, &["ZREVRANK", "lb", "p010"]), 289);
    assert_eq!(
        q::<Value>(&mut c, &["ZRANK", "lb", "p010", "WITHSCORE"]),
        Value::Array(vec![Value::Int(10), bulk("10")])
    );
    assert_eq!(
        q::<Value>(&mut c, &["ZRANK", "lb", "zz", "WITHSCORE"]),
        Value::Nil
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZREVRANGE", "lb", "0", "2", "WITHSCORES"]),
        ["p299", "299", "p298", "298", "p297", "297"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["ZRANGEBYSCORE", "lb", "(100", "+inf", "LIMIT", "0", "3"]
        ),
        ["p101", "p102", "p103"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["ZRANGE", "lb", "200", "(100", "BYSCORE", "REV", "LIMIT", "1", "2"]
        ),
        ["p199", "p198"]
    );
    assert_eq!(q::<i64>(&mut c, &["ZCOUNT", "lb", "10", "(20"]), 10);
    // Sliding-window rate limiter shape.
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYSCORE", "lb", "-inf", "(250"]),
        250
    );
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "lb"]), 50);
    assert_eq!(q::<i64>(&mut c, &["ZREMRANGEBYRANK", "lb", "0", "-11"]), 40);
    assert_eq!(
        q::<i64>(&mut c, &["ZRANGESTORE", "top", "lb", "-3", "-1"]),
        3
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "top", "0", "-1"]),
        ["p297", "p298", "p299"]
    );
    assert_eq!(
        err(&mut c, &["ZRANGE", "lb", "0", "1", "LIMIT", "0", "1"]),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        err(&mut c, &["ZCOUNT", "lb", "x", "1"]),
        "ERR min or max is not a float"
    );
    // Lex ranges over a same-score set (autocomplete).
    q::<()>(
        &mut c,
        &[
            "ZADD", "names", "0", "alice", "0", "bob", "0", "bobby", "0", "carol",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGEBYLEX", "names", "[bob", "(boc"]),
        ["bob", "bobby"]
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYLEX", "names", "-", "(bob"]),
        1
    );
    assert_eq!(
        err(&mut c, &["ZRANGEBYLEX", "names", "bob", "+"]),
        "ERR min or max not valid string range item"
    );
}

#[test]
fn union_inter_diff_and_pops() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["ZADD", "{g}a", "1", "x", "2", "y", "3", "z"]);
    q::<()>(&mut c, &["ZADD", "{g}b", "10", "y", "20", "z", "30", "w"]);
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "ZUNION",
                "2",
                "{g}a",
                "{g}b",
                "WEIGHTS",
                "1",
                "2",
                "WITHSCORES"
            ]
        ),
        ["x", "1", "y", "22", "z", "43", "w", "60"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "ZINTER",
                "2",
                "{g}a",
                "{g}b",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        ),
        ["y", "10", "z", "20"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZDIFF", "2", "{g}a", "{g}b"]),
        ["x"]
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERCARD", "2", "{g}a", "{g}b", "LIMIT", "1"]),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERSTORE", "{g}d", "2", "{g}a", "{g}b"]),
        2
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "{g}d", "0", "-1", "WITHSCORES"]),
        ["y", "12", "z", "23"]
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZDIFFSTORE", "{g}d", "2", "{g}a", "{g}a"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "{g}d"]), 0);
    assert_eq!(
        err(&mut c, &["ZUNIONSTORE", "{g}d", "0", "{g}a"]),
        "ERR at least 1 input key is needed for 'zunionstore' command"
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["ZPOPMIN", "{g}a"]), ["x", "1"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZPOPMAX", "{g}a", "5"]),
        ["z", "3", "y", "2"]
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "{g}a"]), 0);
    assert_eq!(
        q::<Value>(&mut c, &["ZMPOP", "2", "{g}a", "{g}b", "MIN", "COUNT", "2"]),
        Value::Array(vec![
            bulk("{g}b"),
            Value::Array(vec![
                Value::Array(vec![bulk("y"), bulk("10")]),
                Value::Array(vec![bulk("z"), bulk("20")]),
            ]),
        ])
    );
    assert_eq!(
        q::<Value>(&mut c, &["ZMPOP", "1", "{g}a", "MIN"]),
        Value::Nil
    );
    assert_eq!(
        err(&mut c, &["ZMPOP", "0", "{g}a", "MIN"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        err(&mut c, &["ZPOPMIN", "{g}b", "-1"]),
        "ERR value is out of range, must be positive"
    );
}

#[test]
fn encodings_follow_config_and_every_keyspace_command_works() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..128 {
        q::<()>(&mut c, &["ZADD", "z", &i.to_string(), &format!("m{i}")]);
    }
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "listpack"
    );
    q::<()>(&mut c, &["ZADD", "z", "1000", "one-more"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    q::<()>(&mut c, &["ZADD", "long", "1", &"v".repeat(65)]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "long"]),
        "skiplist"
    );
    q::<()>(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "2"]);
    q::<()>(&mut c, &["ZADD", "small", "1", "a", "2", "b"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "small"]),
        "listpack"
    );
    q::<()>(&mut c, &["ZADD", "small", "3", "c"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "small"]),
        "skiplist"
    );
    // A store result small enough goes back to listpack.
    q::<()>(&mut c, &["ZRANGESTORE", "two", "z", "0", "1"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "two"]),
        "listpack"
    );

    assert_eq!(q::<String>(&mut c, &["TYPE", "z"]), "zset");
    let (_, found): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("zset")
        .arg("COUNT")
        .arg(1000)
        .query(&mut c)
        .expect("scan");
    let mut found = found;
    found.sort();
    assert_eq!(found, ["long", "small", "two", "z"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "z", "zc"]), 1);
    q::<()>(&mut c, &["ZREM", "z", "m0"]);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "zc"]), 129, "COPY is deep");
    q::<()>(&mut c, &["RENAME", "zc", "zr"]);
    assert_eq!(q::<i64>(&mut c, &["ZSCORE", "zr", "m5"]), 5);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "zr", "3"]), 1);
    q::<()>(&mut c, &["SELECT", "3"]);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "zr"]), 129);
    q::<()>(&mut c, &["PEXPIRE", "zr", "20"]);
    thread::sleep(Duration::from_millis(60));
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "zr"]), 0, "expired");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "zr"]), 0);
}

#[test]
fn zscan_and_zrandmember() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..1000 {
        q::<()>(&mut c, &["ZADD", "big", &i.to_string(), &format!("m{i}")]);
    }
    // A full ZSCAN returns every member once, each with its score.
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashMap::new();
    loop {
        let (next, items): (String, Vec<String>) = redis::cmd("ZSCAN")
            .arg("big")
            .arg(&cursor)
            .arg("COUNT")
            .arg(37)
            .query(&mut c)
            .expect("zscan");
        for pair in items.chunks(2) {
            assert!(
                seen.insert(pair[0].clone(), pair[1].clone()).is_none(),
                "{} twice",
                pair[0]
            );
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen["m42"], "42");
    let (_, items): (String, Vec<String>) = redis::cmd("ZSCAN")
        .arg("big")
        .arg(0)
        .arg("MATCH")
        .arg("m99*")
        .arg("COUNT")
        .arg(10_000)
        .query(&mut c)
        .expect("zscan match");
    assert_eq!(items.len(), 2 * 11);
    assert_eq!(err(&mut c, &["ZSCAN", "big", "x"]), "ERR invalid cursor");

    let v: Vec<String> = q(&mut c, &["ZRANDMEMBER", "big", "100"]);
    let distinct: std::collections::HashSet<_> = v.iter().collect();
    assert_eq!((v.len(), distinct.len()), (100, 100));
    let v: Vec<String> = q(&mut c, &["ZRANDMEMBER", "big", "-2000"]);
    assert_eq!(v.len(), 2000, "negative count repeats");
    let v: Vec<String> = q(&mut c, &["ZRANDMEMBER", "big", "-3", "WITHSCORES"]);
    for pair in v.chunks(2) {
        assert_eq!(pair[0][1..], pair[1]);
    }
    q::<()>(&mut c, &["ZADD", "few", "1", "a", "2", "b"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANDMEMBER", "few", "10"]).len(),
        2
    );
    assert_eq!(
        err(&mut c, &["ZRANDMEMBER", "few", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
}

#[test]
fn resp3_reply_shapes() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    // The whole HELLO map, up to its last field.
    let hello = r.read_n(200, Duration::from_millis(500));
    assert!(hello.ends_with(b"$7\r\nmodules\r\n*0\r\n"));
    r.roundtrip(b"ZADD z 1.5 a 2 b\r\n", b":2\r\n");
    r.roundtrip(b"ZSCORE z a\r\n", b",1.5\r\n");
    r.roundtrip(
        b"ZRANGE z 0 -1 WITHSCORES\r\n",
        b"*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    );
    r.roundtrip(b"ZPOPMIN z\r\n", b"*2\r\n$1\r\na\r\n,1.5\r\n");
    r.roundtrip(b"ZPOPMIN z 1\r\n", b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    r.roundtrip(b"ZADD z 0.5 c\r\n", b":1\r\n");
    r.roundtrip(
        b"ZSCAN z 0\r\n",
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$3\r\n0.5\r\n",
    );
    r.roundtrip(b"ZMSCORE z c nope\r\n", b"*2\r\n,0.5\r\n_\r\n");
    r.roundtrip(b"ZRANK z nope WITHSCORE\r\n", b"_\r\n");
    r.roundtrip(b"BZPOPMIN nokey 0.01\r\n", b"_\r\n");
}

/// A connection with a read timeout long enough for blocking tests.
fn blocking_conn(s: &TestServer) -> redis::Connection {
    let c = s.conn();
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c
}

#[test]
fn blocked_clients_are_served_first_come_first_served() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut first = blocking_conn(&s);
    let mut second = blocking_conn(&s);
    let t1 = thread::spawn(move || q::<Vec<String>>(&mut first, &["BZPOPMIN", "q1", "q2", "0"]));
    wait_blocked(&mut c, 1);
    let t2 = thread::spawn(move || q::<Vec<String>>(&mut second, &["BZPOPMIN", "q2", "0"]));
    wait_blocked(&mut c, 2);
    let info: String = q(&mut c, &["INFO", "clients"]);
    assert!(info.contains("total_blocking_keys:2\r\n"), "{info}");
    assert!(info.contains("clients_in_timeout_table:0\r\n"), "{info}");
    // One member wakes exactly one waiter: the one that came first.
    q::<()>(&mut c, &["ZADD", "q2", "5", "job1"]);
    assert_eq!(t1.join().expect("first"), ["q2", "job1", "5"]);
    wait_blocked(&mut c, 1);
    // The element went to the waiter before anyone else could see it.
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "q2"]), 0);
    q::<()>(&mut c, &["ZADD", "q2", "1", "job2", "2", "job3"]);
    assert_eq!(t2.join().expect("second"), ["q2", "job2", "1"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "q2", "0", "-1"]),
        ["job3"]
    );
    wait_blocked(&mut c, 0);
}

#[test]
fn timeouts_fractions_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    let t = Instant::now();
    assert_eq!(q::<Value>(&mut c, &["BZPOPMAX", "none", "0.2"]), Value::Nil);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        q::<Value>(&mut c, &["BZMPOP", "0.001", "1", "none", "MAX"]),
        Value::Nil
    );
    assert_eq!(
        err(&mut c, &["BZPOPMIN", "k", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        err(&mut c, &["BZPOPMIN", "k", "abc"]),
        "ERR timeout is not a float or out of range"
    );
    q::<()>(&mut c, &["SET", "str", "x"]);
    assert!(err(&mut c, &["BZPOPMIN", "str", "0"]).starts_with("WRONGTYPE"));
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn writes_of_any_kind_wake_waiters_but_other_types_do_not() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut w = blocking_conn(&s);
    let t = thread::spawn(move || {
        let a: Value = q(&mut w, &["BZMPOP", "0", "1", "{k}dst", "MAX", "COUNT", "5"]);
        let b: Vec<String> = q(&mut w, &["BZPOPMIN", "{k}dst", "0"]);
        (a, b)
    });
    wait_blocked(&mut c, 1);
    // A string at the key does not serve a sorted-set waiter.
    q::<()>(&mut c, &["SET", "{k}dst", "not a zset"]);
    thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked_clients(&mut c), 1);
    q::<()>(&mut c, &["DEL", "{k}dst"]);
    q::<()>(&mut c, &["ZADD", "{k}src", "1", "a", "2", "b"]);
    q::<()>(&mut c, &["ZUNIONSTORE", "{k}dst", "1", "{k}src"]);
    wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["ZADD", "{k}other", "7", "r"]);
    q::<()>(&mut c, &["RENAME", "{k}other", "{k}dst"]);
    let (a, b) = t.join().expect("waiter");
    assert_eq!(
        a,
        Value::Array(vec![
            bulk("{k}dst"),
            Value::Array(vec![
                Value::Array(vec![bulk("b"), bulk("2")]),
                Value::Array(vec![bulk("a"), bulk("1")]),
            ]),
        ])
    );
    assert_eq!(b, ["{k}dst", "r", "7"]);
}

#[test]
fn unblock_disconnect_and_pipelining() {
    let s = TestServer::start();
    let mut c = s.conn();
    // CLIENT UNBLOCK, both ways.
    let mut w = blocking_conn(&s);
    let id: i64 = q(&mut w, &["CLIENT", "ID"]);
    let t = thread::spawn(move || {
        let a = q::<Value>(&mut w, &["BZPOPMIN", "u", "0"]);
        let b = err(&mut w, &["BZPOPMIN", "u", "0"]);
        (a, b)
    });
    wait_blocked(&mut c, 1);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list
        .lines()
        .any(|l| l.contains(&format!("id={id} ")) && l.contains("flags=b")));
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string()]), 1);
    // blocked_clients may still count the first wait for a moment, so retry
    // until the second BZPOPMIN is the one blocked (UNBLOCK answers 0 until then).
    let deadline = Instant::now() + Duration::from_secs(10);
    while q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]) == 0 {
        assert!(Instant::now() < deadline, "second wait never blocked");
        thread::sleep(Duration::from_millis(5));
    }
    let (a, b) = t.join().expect("waiter");
    assert_eq!(a, Value::Nil);
    assert_eq!(b, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string()]), 0);

    // A waiter that disconnects is cleaned up and takes nothing.
    {
        let mut r = s.raw();
        r.send(b"BZPOPMIN gone 100\r\n");
        wait_blocked(&mut c, 1);
        let info: String = q(&mut c, &["INFO", "clients"]);
        assert!(info.contains("clients_in_timeout_table:1\r\n"), "{info}");
    }
    wait_blocked(&mut c, 0);
    q::<()>(&mut c, &["ZADD", "gone", "1", "kept"]);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "gone"]), 1);

    // Requests pipelined behind a blocking one run after it returns.
    let mut r = s.raw();
    r.send(b"BZPOPMIN p 0\r\nPING\r\n");
    wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["ZADD", "p", "3", "m"]);
    r.expect(b"*3\r\n$1\r\np\r\n$1\r\nm\r\n$1\r\n3\r\n+PONG\r\n");
}

#[test]
fn swapdb_serves_waiters_of_the_swapped_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut w = blocking_conn(&s);
    let t = thread::spawn(move || q::<Vec<String>>(&mut w, &["BZPOPMIN", "sw", "0"]));
    wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["SELECT", "1"]);
    q::<()>(&mut c, &["ZADD", "sw", "4", "x"]);
    q::<()>(&mut c, &["SWAPDB", "0", "1"]);
    assert_eq!(t.join().expect("waiter"), ["sw", "x", "4"]);
}
