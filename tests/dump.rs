//! DUMP and RESTORE: round trips of every type and encoding, the options and
//! errors of RESTORE, and (with a real redis-server; required under CI=true)
//! payloads moved both ways between Ember and Redis.

mod common;
use common::{err, have_tool, q, TestServer};
use std::time::Duration;

type Conn = redis::Connection;

fn dump(c: &mut Conn, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(c).expect("DUMP")
}

fn restore(
    c: &mut Conn,
    key: &str,
    ttl: &str,
    payload: &[u8],
    opts: &[&str],
) -> redis::RedisResult<String> {
    let mut cmd = redis::cmd("RESTORE");
    cmd.arg(key).arg(ttl).arg(payload);
    for o in opts {
        cmd.arg(*o);
    }
    cmd.query(c)
}

fn restore_err(c: &mut Conn, key: &str, ttl: &str, payload: &[u8], opts: &[&str]) -> String {
    match restore(c, key, ttl, payload, opts) {
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
        Ok(v) => panic!("RESTORE {key} should fail, got {v}"),
    }
}

fn cmd(c: &mut Conn, args: &[Vec<u8>]) {
    let mut command = redis::cmd(std::str::from_utf8(&args[0]).expect("name"));
    for a in &args[1..] {
        command.arg(&a[..]);
    }
    command
        .query::<redis::Value>(c)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(&args[0])));
}

fn v(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Commands that create one key of every type in every encoding (small and
/// big, integers, compressible strings), each key named after what it is.
fn corpus() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut out: Vec<(&'static str, Vec<Vec<u8>>)> = vec![
        ("s_small", v(&["SET", "s_small", "hello"])),
        ("s_empty", v(&["SET", "s_empty", ""])),
        ("s_int", v(&["SET", "s_int", "12345"])),
        ("s_neg", v(&["SET", "s_neg", "-7"])),
        ("s_i32", v(&["SET", "s_i32", "-2147483648"])),
        ("s_i64", v(&["SET", "s_i64", "9223372036854775807"])),
        ("s_intlike", v(&["SET", "s_intlike", "007"])),
        (
            "s_lzf",
            vec![b"SET".to_vec(), b"s_lzf".to_vec(), b"abc".repeat(400)],
        ),
        (
            "s_short",
            v(&["SET", "s_short", "aaaaaaaaaaaaaaaaaaaaaaaaa"]),
        ),
        (
            "s_bin",
            vec![b"SET".to_vec(), b"s_bin".to_vec(), (0..=255u8).collect()],
        ),
        (
            "l_small",
            v(&[
                "RPUSH",
                "l_small",
                "a",
                "1",
                "-300",
                "70000",
                "5000000000",
                "",
            ]),
        ),
        (
            "h_small",
            v(&["HSET", "h_small", "f", "v", "1", "2", "n", "-99999"]),
        ),
        (
            "h_long",
            vec![
                b"HSET".to_vec(),
                b"h_long".to_vec(),
                b"f".to_vec(),
                b"x".repeat(100),
            ],
        ),
        (
            "set_ints",
            v(&["SADD", "set_ints", "5", "-3", "100000", "2"]),
        ),
        (
            "set_i64",
            v(&[
                "SADD",
                "set_i64",
                "-9223372036854775808",
                "9223372036854775807",
                "0",
            ]),
        ),
        ("set_str", v(&["SADD", "set_str", "a", "b", "1"])),
        (
            "z_small",
            v(&[
                "ZADD", "z_small", "1", "a", "-2.5", "b", "inf", "c", "-inf", "d", "0.1", "e",
                "1e300", "f", "3", "g",
            ]),
        ),
        (
            "z_long",
            vec![
                b"ZADD".to_vec(),
                b"z_long".to_vec(),
                b"1".to_vec(),
                b"m".repeat(100),
            ],
        ),
    ];
    let mut big = |name: &'static str, head: &str, n: usize, f: &dyn Fn(usize) -> Vec<Vec<u8>>| {
        let mut c = vec![head.as_bytes().to_vec(), name.as_bytes().to_vec()];
        for i in 0..n {
            c.extend(f(i));
        }
        out.push((name, c));
    };
    big("l_big", "RPUSH", 3000, &|i| {
        vec![format!("item-{i}").into_bytes()]
    });
    big("l_ints", "RPUSH", 600, &|i| {
        vec![(i as i64 * 1_000_003 - 300_000).to_string().into_bytes()]
    });
    big("l_wide", "RPUSH", 3, &|i| {
        vec![vec![b'a' + i as u8; 10_000]]
    });
    big("h_big", "HSET", 300, &|i| {
        vec![
            format!("f{i}").into_bytes(),
            format!("{}", i * 3).into_bytes(),
        ]
    });
    big("set_ints_big", "SADD", 600, &|i| {
        vec![(i * 7).to_string().into_bytes()]
    });
    big("set_big", "SADD", 300, &|i| {
        vec![format!("m{i}").into_bytes()]
    });
    big("z_big", "ZADD", 300, &|i| {
        vec![
            format!("{}", i as f64 / 7.0).into_bytes(),
            format!("m{i}").into_bytes(),
        ]
    });
    out
}

fn populate(c: &mut Conn) {
    for (_, args) in corpus() {
        cmd(c, &args);
    }
}

/// A key's type and content in an order-independent form.
fn contents(c: &mut Conn, key: &str) -> String {
    let t: String = q(c, &["TYPE", key]);
    let body: Vec<Vec<u8>> = match t.as_str() {
        "string" => vec![q(c, &["GET", key])],
        "list" => q(c, &["LRANGE", key, "0", "-1"]),
        "hash" => {
            let flat: Vec<Vec<u8>> = q(c, &["HGETALL", key]);
            let mut pairs: Vec<Vec<u8>> = flat
                .chunks(2)
                .map(|p| [&p[0][..], b"=", &p[1][..]].concat())
                .collect();
            pairs.sort();
            pairs
        }
        "set" => {
            let mut m: Vec<Vec<u8>> = q(c, &["SMEMBERS", key]);
            m.sort();
            m
        }
        // Scores as doubles: Redis 7.0 prints them with %.17g, 7.2 (and
        // Ember) in shortest form.
        "zset" => {
            let flat: Vec<Vec<u8>> = q(c, &["ZRANGE", key, "0", "-1", "WITHSCORES"]);
            flat.chunks(2)
                .map(|p| {
                    let score: f64 = String::from_utf8_lossy(&p[1]).parse().expect("score");
                    [&p[0][..], format!("={score:?}").as_bytes()].concat()
                })
                .collect()
        }
        other => panic!("{key}: type {other}"),
    };
    let body: Vec<String> = body
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    format!("{t}:{}", body.join(","))
}

fn encoding(c: &mut Conn, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

#[test]
fn round_trip_every_type_and_encoding() {
    let s = TestServer::start();
    let mut c = s.conn();
    populate(&mut c);
    let mut encodings = std::collections::BTreeSet::new();
    for (key, _) in corpus() {
        let p = dump(&mut c, key).expect("key exists");
        let copy = format!("{key}:copy");
        assert_eq!(restore(&mut c, &copy, "0", &p, &[]).unwrap(), "OK");
        assert_eq!(contents(&mut c, key), contents(&mut c, &copy), "{key}");
        let enc = encoding(&mut c, key);
        assert_eq!(enc, encoding(&mut c, &copy), "{key}");
        let t: String = q(&mut c, &["TYPE", key]);
        encodings.insert(format!("{t}/{enc}"));
        let ttl: i64 = q(&mut c, &["PTTL", &copy]);
        assert_eq!(ttl, -1);
    }
    let want = [
        "hash/hashtable",
        "hash/listpack",
        "list/listpack",
        "list/quicklist",
        "set/hashtable",
        "set/intset",
        "set/listpack",
        "string/embstr",
        "string/int",
        "string/raw",
        "zset/listpack",
        "zset/skiplist",
    ];
    assert_eq!(encodings.into_iter().collect::<Vec<_>>(), want);
    // The LZF-compressible string is compressed.
    let p = dump(&mut c, "s_lzf").unwrap();
    assert!(p.len() < 200, "{} bytes", p.len());
    assert_eq!(p[1], 0xC3);
    assert_eq!(dump(&mut c, "missing"), None);
}

#[test]
fn restore_options_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "k", "hello"]);
    let p = dump(&mut c, "k").unwrap();
    // Redis 7.0's DUMP of the same string, byte for byte.
    assert_eq!(p, b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a");

    assert_eq!(
        restore_err(&mut c, "k", "0", &p, &[]),
        "BUSYKEY Target key name already exists."
    );
    assert_eq!(restore(&mut c, "k", "0", &p, &["REPLACE"]).unwrap(), "OK");
    // TTL relative, then absolute.
    assert_eq!(restore(&mut c, "t", "100000", &p, &[]).unwrap(), "OK");
    let pttl: i64 = q(&mut c, &["PTTL", "t"]);
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let at = (now_ms + 50_000).to_string();
    assert_eq!(restore(&mut c, "a", &at, &p, &["ABSTTL"]).unwrap(), "OK");
    let pttl: i64 = q(&mut c, &["PTTL", "a"]);
    assert!((40_000..=50_000).contains(&pttl), "{pttl}");
    // An absolute TTL in the past: OK, and the key is gone (REPLACE deletes it).
    assert_eq!(
        restore(&mut c, "gone", "1000", &p, &["ABSTTL"]).unwrap(),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "gone"]), 0);
    assert_eq!(
        restore(&mut c, "k", "1000", &p, &["ABSTTL", "REPLACE"]).unwrap(),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    // IDLETIME under the default LRU-ish policy.
    assert_eq!(
        restore(&mut c, "idle", "0", &p, &["IDLETIME", "1000"]).unwrap(),
        "OK"
    );
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "idle"]);
    assert!((1000..=1002).contains(&idle), "{idle}");

    // Errors, in Redis's order and words.
    let cases: &[(&str, &[u8], &[&str], &str)] = &[
        ("-1", &p, &[], "ERR Invalid TTL value, must be >= 0"),
        ("x", &p, &[], "ERR value is not an integer or out of range"),
        (
            "0",
            b"garbage!",
            &[],
            "ERR DUMP payload version or checksum are wrong",
        ),
        (
            "0",
            b"",
            &[],
            "ERR DUMP payload version or checksum are wrong",
        ),
        (
            "0",
            &p,
            &["IDLETIME", "-1"],
            "ERR Invalid IDLETIME value, must be >= 0",
        ),
        (
            "0",
            &p,
            &["IDLETIME", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            "0",
            &p,
            &["FREQ", "256"],
            "ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (
            "0",
            &p,
            &["FREQ", "-1"],
            "ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        ("0", &p, &["IDLETIME", "1", "FREQ", "1"], "ERR syntax error"),
        ("0", &p, &["FREQ", "1", "IDLETIME", "1"], "ERR syntax error"),
        ("0", &p, &["IDLETIME"], "ERR syntax error"),
        ("0", &p, &["BOGUS"], "ERR syntax error"),
    ];
    for (ttl, payload, opts, want) in cases {
        assert_eq!(
            restore_err(&mut c, "new", ttl, payload, opts),
            *want,
            "{ttl} {opts:?}"
        );
    }
    // Checksum right, data wrong.
    let mut bad = b"\x00\x85hello".to_vec();
    bad.extend_from_slice(&[10, 0]);
    let crc = ember::persist::rdb::crc64::crc64(&bad);
    bad.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(
        restore_err(&mut c, "new", "0", &bad, &[]),
        "ERR Bad data format"
    );
    let mut flipped = p.clone();
    flipped[3] ^= 1;
    assert_eq!(
        restore_err(&mut c, "new", "0", &flipped, &[]),
        "ERR DUMP payload version or checksum are wrong"
    );
    // BUSYKEY comes before the payload and TTL checks.
    q::<()>(&mut c, &["SET", "busy", "1"]);
    assert_eq!(
        restore_err(&mut c, "busy", "-1", b"x", &[]),
        "BUSYKEY Target key name already exists."
    );
    assert_eq!(
        err(&mut c, &["RESTORE", "k", "0"]),
        "ERR wrong number of arguments for 'restore' command"
    );
    assert_eq!(
        err(&mut c, &["DUMP"]),
        "ERR wrong number of arguments for 'dump' command"
    );

    // FREQ under an LFU policy sets the counter; IDLETIME is then ignored.
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    assert_eq!(
        restore(&mut c, "f", "0", &p, &["FREQ", "100"]).unwrap(),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "f"]), 100);
    assert_eq!(
        restore(&mut c, "f0", "0", &p, &["FREQ", "0"]).unwrap(),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "f0"]), 0);
}

#[test]
fn restore_wakes_blocked_clients_and_replaces_types() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "src", "x", "y"]);
    let p = dump(&mut c, "src").unwrap();
    let mut blocked = s.conn();
    let waiter = std::thread::spawn(move || {
        let r: Vec<String> = q(&mut blocked, &["BLPOP", "dst", "5"]);
        r
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(restore(&mut c, "dst", "0", &p, &[]).unwrap(), "OK");
    assert_eq!(waiter.join().unwrap(), vec!["dst", "x"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        vec!["y"]
    );
    // REPLACE over a key of another type, dropping its TTL.
    q::<()>(&mut c, &["SET", "other", "v", "EX", "100"]);
    assert_eq!(
        restore(&mut c, "other", "0", &p, &["REPLACE"]).unwrap(),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["TYPE", "other"]), "list");
    assert_eq!(q::<i64>(&mut c, &["TTL", "other"]), -1);
    // WATCH sees the restore.
    q::<()>(&mut c, &["WATCH", "w"]);
    let mut c2 = s.conn();
    assert_eq!(restore(&mut c2, "w", "0", &p, &[]).unwrap(), "OK");
    q::<()>(&mut c, &["MULTI"]);
    q::<String>(&mut c, &["PING"]);
    let r: redis::Value = redis::cmd("EXEC").query(&mut c).unwrap();
    assert_eq!(r, redis::Value::Nil);
}

#[test]
fn restore_follows_the_live_thresholds() {
    let s = TestServer::start();
    let mut c = s.conn();
    populate(&mut c);
    for p in [
        "hash-max-listpack-entries",
        "zset-max-listpack-entries",
        "set-max-intset-entries",
        "set-max-listpack-entries",
    ] {
        q::<()>(&mut c, &["CONFIG", "SET", p, "2"]);
    }
    q::<()>(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "2"]);
    for (key, want) in [
        ("h_small", "hashtable"),
        ("z_small", "skiplist"),
        ("set_ints", "hashtable"),
        ("set_str", "hashtable"),
        ("l_small", "quicklist"),
    ] {
        let p = dump(&mut c, key).unwrap();
        restore(&mut c, key, "0", &p, &["REPLACE"]).unwrap();
        assert_eq!(encoding(&mut c, key), want, "{key}");
    }
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: a payload with a wrong CRC-64 is
/// decoded anyway (and a corrupt one is still refused as bad data, never
/// trusted); 0 checks again.
#[test]
fn skip_checksum_validation_lets_bad_crcs_through() {
    let s = TestServer::start();
    let mut c = s.conn();
    populate(&mut c);
    let mut p = dump(&mut c, "l_small").unwrap();
    let n = p.len();
    p[n - 1] ^= 0xff;
    let wrong = "ERR DUMP payload version or checksum are wrong";
    assert_eq!(restore_err(&mut c, "k", "0", &p, &[]), wrong);
    q::<()>(&mut c, &["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"]);
    assert_eq!(restore(&mut c, "k", "0", &p, &[]).unwrap(), "OK");
    assert_eq!(contents(&mut c, "k"), contents(&mut c, "l_small"));
    // The body still has to make sense: a length past the end is refused.
    let mut bad = p.clone();
    bad[1] = 0x7f;
    assert_eq!(
        restore_err(&mut c, "k2", "0", &bad, &[]),
        "ERR Bad data format"
    );
    // The version is still checked.
    let mut newer = p.clone();
    newer[n - 10] = 0xff;
    assert_eq!(restore_err(&mut c, "k3", "0", &newer, &[]), wrong);
    q::<()>(&mut c, &["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"]);
    assert_eq!(restore_err(&mut c, "k4", "0", &p, &[]), wrong);
}

/// A quicklist node of zero bytes is corrupt (Redis refuses it too), plain
/// or packed; the server goes on.
#[test]
fn zero_length_quicklist_node_is_bad_data() {
    let s = TestServer::start();
    let mut c = s.conn();
    // LIST_QUICKLIST_2, one node, plain container, length 0; RDB 10, CRC.
    let plain0 = b"\x12\x01\x01\x00\x0a\x00\x8f\xc6\xc0\x57\x1c\x0a\xb3\x3c";
    assert_eq!(
        restore_err(&mut c, "l", "0", plain0, &["REPLACE"]),
        "ERR Bad data format"
    );
    q::<()>(&mut c, &["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"]);
    // The same with a packed container (and a CRC nobody checks now).
    let packed0 = b"\x12\x01\x02\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    assert_eq!(
        restore_err(&mut c, "l", "0", packed0, &["REPLACE"]),
        "ERR Bad data format"
    );
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

fn start_redis() -> (common::RealRedis, u16) {
    let r = common::RealRedis::start(&[]);
    let port = r.port;
    (r, port)
}

#[test]
fn payloads_move_both_ways_with_redis() {
    if !have_tool("redis-server") {
        return;
    }
    let (_redis, port) = start_redis();
    let mut r = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    // Redis checks every listpack/intset/ziplist of a payload deeply.
    q::<()>(&mut r, &["CONFIG", "SET", "sanitize-dump-payload", "yes"]);
    let s = TestServer::start();
    let mut e = s.conn();
    populate(&mut r);
    populate(&mut e);
    q::<i64>(&mut r, &["PEXPIRE", "s_small", "100000"]);
    let mut identical = 0;
    for (key, _) in corpus() {
        let want = contents(&mut e, key);
        assert_eq!(
            want,
            contents(&mut r, key),
            "{key}: the corpus itself differs"
        );
        // Redis → Ember.
        let from_redis = dump(&mut r, key).unwrap();
        let k = format!("{key}:from-redis");
        assert_eq!(
            restore(&mut e, &k, "0", &from_redis, &[]).unwrap(),
            "OK",
            "{key}"
        );
        assert_eq!(contents(&mut e, &k), want, "{key} from Redis");
        assert_eq!(
            encoding(&mut e, &k),
            encoding(&mut e, key),
            "{key} from Redis"
        );
        // Ember → Redis.
        let from_ember = dump(&mut e, key).unwrap();
        let k = format!("{key}:from-ember");
        match restore(&mut r, &k, "0", &from_ember, &[]) {
            Ok(ok) => assert_eq!(ok, "OK"),
            Err(err) => panic!("{key}: Redis refused Ember's payload: {err}"),
        }
        assert_eq!(contents(&mut r, &k), want, "{key} from Ember");
        if from_ember == from_redis {
            identical += 1;
        }
    }
    // Most payloads are byte-identical to Redis 7.0's (both write RDB 10);
    // LZF choices and set/list node layouts may differ.
    assert!(identical >= 12, "only {identical} identical payloads");
    // An Ember payload with a TTL restores with it in Redis.
    let p = dump(&mut e, "s_small").unwrap();
    restore(&mut r, "ttl", "5000", &p, &[]).unwrap();
    assert!(q::<i64>(&mut r, &["PTTL", "ttl"]) > 0);
}
