//! Generic key and TTL commands through the `redis` crate and raw sockets.
//! Expected replies were checked against a real redis-server.

mod common;
use common::{err, q, TestServer};
use redis::Value;

#[test]
fn del_exists_type_touch() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "a", "1"]);
    q::<()>(&mut c, &["SET", "b", "2"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b", "zz", "a"]), 3);
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "a", "zz"]), 1);
    assert_eq!(q::<String>(&mut c, &["TYPE", "a"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "zz"]), "none");
    assert_eq!(q::<i64>(&mut c, &["DEL", "a", "b", "zz", "a"]), 2);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

#[test]
fn rename_copy_move() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "a", "v", "EX", "100"]);
    assert_eq!(err(&mut c, &["RENAME", "zz", "b"]), "ERR no such key");
    q::<()>(&mut c, &["RENAME", "a", "a"]);
    q::<()>(&mut c, &["RENAME", "a", "{x}b"]);
    assert!(
        q::<i64>(&mut c, &["TTL", "{x}b"]) > 90,
        "RENAME keeps the TTL"
    );
    q::<()>(&mut c, &["SET", "c", "other"]);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "{x}b", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "{x}b", "d"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "c", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "v");
    assert_eq!(
        err(&mut c, &["COPY", "d", "d"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "e", "DB", "3"]), 1);
    assert_eq!(
        err(&mut c, &["COPY", "d", "e", "DB", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(q::<i64>(&mut c, &["MOVE", "d", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "d", "1"]), 0);
    assert_eq!(
        err(&mut c, &["MOVE", "c", "0"]),
        "ERR source and destination objects are the same"
    );
    q::<()>(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "d"]), "v");
    assert!(q::<i64>(&mut c, &["TTL", "d"]) > 90, "MOVE keeps the TTL");
    q::<()>(&mut c, &["SELECT", "3"]);
    assert!(q::<i64>(&mut c, &["TTL", "e"]) > 90, "COPY keeps the TTL");
}

#[test]
fn keys_scan_randomkey_with_patterns() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..300 {
        q::<()>(&mut c, &["SET", &format!("user:{i}"), "x"]);
    }
    q::<()>(&mut c, &["SET", "other", "x"]);
    let mut keys: Vec<String> = q(&mut c, &["KEYS", "user:1?"]);
    keys.sort();
    assert_eq!(
        keys,
        (10..20).map(|i| format!("user:{i}")).collect::<Vec<_>>()
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "*"]).len(), 301);
    // A full SCAN returns every key.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, batch): (String, Vec<String>) =
            q(&mut c, &["SCAN", &cursor, "MATCH", "user:*", "COUNT", "7"]);
        seen.extend(batch);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
    let (_, none): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "TYPE", "list", "COUNT", "1000"]);
    assert!(none.is_empty());
    assert_eq!(err(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(
        err(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    let k: String = q(&mut c, &["RANDOMKEY"]);
    assert!(k.starts_with("user:") || k == "other");
    q::<()>(&mut c, &["FLUSHDB"]);
    assert_eq!(q::<Value>(&mut c, &["RANDOMKEY"]), Value::Nil);
}

#[test]
fn scan_returns_keys_present_throughout_despite_churn() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..2000 {
        q::<()>(&mut c, &["SET", &format!("keep:{i}"), "x"]);
        q::<()>(&mut c, &["SET", &format!("tmp:{i}"), "x"]);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "50"]);
        seen.extend(batch);
        for j in 0..20 {
            q::<i64>(&mut c, &["DEL", &format!("tmp:{}", round * 20 + j)]);
            q::<()>(&mut c, &["SET", &format!("new:{round}:{j}"), "x"]);
        }
        round += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..2000 {
        assert!(
            seen.contains(&format!("keep:{i}")),
            "keep:{i} was never returned"
        );
    }
}

#[test]
fn flush_and_swapdb() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "a", "0"]);
    q::<()>(&mut c, &["SELECT", "1"]);
    q::<()>(&mut c, &["SET", "b", "1"]);
    q::<()>(&mut c, &["SWAPDB", "0", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "0");
    assert_eq!(
        err(&mut c, &["SWAPDB", "x", "1"]),
        "ERR invalid first DB index"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "0", "x"]),
        "ERR invalid second DB index"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "0", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(err(&mut c, &["FLUSHDB", "now"]), "ERR syntax error");
    q::<()>(&mut c, &["FLUSHDB", "ASYNC"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    q::<()>(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    q::<()>(&mut c, &["FLUSHALL", "SYNC"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

#[test]
fn object_subcommands() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "i", "123"]);
    q::<()>(&mut c, &["SET", "e", "hello"]);
    q::<()>(&mut c, &["SET", "r", &"x".repeat(45)]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "i"]), "int");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "e"]), "embstr");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "r"]), "raw");
    assert_eq!(
        q::<Value>(&mut c, &["OBJECT", "ENCODING", "zz"]),
        Value::Nil
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "i"]), 2147483647);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "e"]), 1);
    // Under maxmemory with an LRU/LFU policy Redis shares no integers.
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "1gb",
            "maxmemory-policy",
            "allkeys-random",
        ],
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "i"]), 2147483647);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "volatile-lru"],
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "i"]), 1);
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "0",
            "maxmemory-policy",
            "noeviction",
        ],
    );
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "e"]) <= 1);
    assert!(
        err(&mut c, &["OBJECT", "FREQ", "e"]).contains("An LFU maxmemory policy is not selected")
    );
    assert!(q::<Vec<String>>(&mut c, &["OBJECT", "HELP"])[0].starts_with("OBJECT <subcommand>"));
    let mut r = s.raw();
    r.roundtrip(
        b"OBJECT foo k\r\n",
        b"-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n",
    );
    r.roundtrip(
        b"OBJECT\r\n",
        b"-ERR wrong number of arguments for 'object' command\r\n",
    );
}

#[test]
fn expire_options_and_ttls() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "a", "1"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "a"]), -1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "zz"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "zz"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "a"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "zz", "10"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "100", "XX"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXPIRE", "a", "100", "GT"]),
        0,
        "no TTL counts as infinite"
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "100", "NX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "50", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "200", "GT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "300", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "150", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "a"]), 150);
    let pttl: i64 = q(&mut c, &["PTTL", "a"]);
    assert!((149_000..=150_000).contains(&pttl));
    let at: i64 = q(&mut c, &["PEXPIRETIME", "a"]);
    let at_s: i64 = q(&mut c, &["EXPIRETIME", "a"]);
    assert_eq!((at + 500) / 1000, at_s);
    assert_eq!(
        q::<i64>(&mut c, &["PEXPIREAT", "a", &(at + 1000).to_string()]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "a"]), at + 1000);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "a"]), -1);
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "10", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "10", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "10", "FOO"]),
        "ERR Unsupported option FOO"
    );
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    // A time in the past deletes the key.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "-1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a"]), 0);
}

#[test]
fn rate_limiter_and_lock_primitives() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Lock: SET NX PX, only the first caller gets it.
    assert_eq!(
        q::<Value>(&mut c, &["SET", "lock", "t1", "NX", "PX", "30000"]),
        Value::Okay
    );
    assert_eq!(
        q::<Value>(&mut c, &["SET", "lock", "t2", "NX", "PX", "30000"]),
        Value::Nil
    );
    let pttl: i64 = q(&mut c, &["PTTL", "lock"]);
    assert!(pttl > 29_000 && pttl <= 30_000);
    // Rate limiter window: EXPIRE NX sets the window once.
    q::<()>(&mut c, &["SET", "rl", "0"]);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "rl", "60", "NX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "rl", "30", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "rl"]), 60);
}

#[test]
fn lazy_and_active_expiry() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "short", "v", "PX", "50"]);
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(q::<Value>(&mut c, &["GET", "short"]), Value::Nil);
    // Many keys nobody touches again are reclaimed by the active cycle.
    let mut pipe = redis::pipe();
    for i in 0..50_000 {
        pipe.cmd("SET")
            .arg(format!("k{i}"))
            .arg("v")
            .arg("PX")
            .arg(200)
            .ignore();
    }
    pipe.cmd("SET").arg("persistent").arg("v").ignore();
    pipe.query::<()>(&mut c).unwrap();
    let start = std::time::Instant::now();
    loop {
        let n: i64 = q(&mut c, &["DBSIZE"]);
        if n == 1 {
            break;
        }
        assert!(start.elapsed().as_secs() < 10, "still {n} keys after 10 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(q::<String>(&mut c, &["GET", "persistent"]), "v");
}

#[test]
fn access_time_left_alone_by_ttl_type_exists_and_no_touch_clients() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    q::<()>(&mut b, &["SET", "foo", "1"]);
    q::<()>(&mut b, &["SET", "bar", "2"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let idle = |c: &mut redis::Connection, k: &str| q::<i64>(c, &["OBJECT", "IDLETIME", k]);
    // TTL, TYPE and EXISTS read without touching (Redis's LOOKUP_NOTOUCH).
    q::<i64>(&mut b, &["TTL", "bar"]);
    q::<i64>(&mut b, &["PTTL", "bar"]);
    q::<String>(&mut b, &["TYPE", "bar"]);
    q::<i64>(&mut b, &["EXISTS", "bar"]);
    assert!(idle(&mut b, "bar") >= 2);
    // CLIENT NO-TOUCH: reads leave access times alone, except TOUCH.
    q::<()>(&mut a, &["CLIENT", "NO-TOUCH", "on"]);
    q::<String>(&mut a, &["GET", "foo"]);
    assert!(idle(&mut a, "foo") >= 2);
    q::<i64>(&mut a, &["TOUCH", "foo"]);
    assert!(idle(&mut a, "foo") < 2);
    q::<String>(&mut b, &["GET", "bar"]);
    assert!(idle(&mut b, "bar") < 2);
}
