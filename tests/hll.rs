//! HyperLogLog (PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST) through the `redis`
//! crate. Replies and bytes were checked against a real redis-server; the
//! side-by-side corpus is `tests/compare.rs::hyperloglogs_match_real_redis_byte_for_byte`.

mod common;
use common::{config_set, err, have_tool, q, TestServer};

fn decode(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["PFDEBUG", "DECODE", key])
}

/// Registers covered by a sparse sketch's opcodes (must be 16384).
fn covered(decoded: &str) -> usize {
    decoded
        .split(' ')
        .map(|op| match op.split_once(':') {
            Some(("v", rest)) => rest.split(',').nth(1).unwrap().parse::<usize>().unwrap(),
            Some((_, n)) => n.parse().unwrap(),
            None => panic!("bad opcode {op}"),
        })
        .sum()
}

#[test]
fn add_count_and_the_cache() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h"]), 1, "creates the key");
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "h"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["PFADD", "h", "a", "b"]),
        0,
        "no register grew"
    );
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "h"]), 3);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "nope"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "string");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]), "raw");
    // The header: magic, sparse, and the count PFCOUNT cached (top bit of
    // the last byte clear = valid).
    let bytes: Vec<u8> = q(&mut c, &["GET", "h"]);
    assert_eq!(&bytes[..5], b"HYLL\x01");
    assert_eq!(&bytes[8..16], &[3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "d"]), 1);
    let bytes: Vec<u8> = q(&mut c, &["GET", "h"]);
    assert_eq!(bytes[15] & 0x80, 0x80, "a change makes the cache stale");
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "h"]), 4);
    let d = decode(&mut c, "h");
    assert_eq!(covered(&d), 16384, "{d}");
    assert_eq!(d.matches("v:").count(), 4, "{d}");
}

#[test]
fn estimates_stay_close_and_sketches_turn_dense() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for chunk in 0..50 {
        let mut cmd = redis::cmd("PFADD");
        cmd.arg("big");
        for i in 0..1000 {
            cmd.arg(format!("item:{}", chunk * 1000 + i));
        }
        pipe.add_command(cmd).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    let n: i64 = q(&mut c, &["PFCOUNT", "big"]);
    // 0.81% standard error: 5 sigma is about 2000 of 50000.
    assert!((48_000..=52_000).contains(&n), "{n}");
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "big"]),
        "dense"
    );
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "big"]).len(), 12304);
    let regs: Vec<i64> = q(&mut c, &["PFDEBUG", "GETREG", "big"]);
    assert_eq!(regs.len(), 16384);
    assert!(regs.iter().all(|&r| (0..=51).contains(&r)));
    assert_eq!(
        err(&mut c, &["PFDEBUG", "DECODE", "big"]),
        "ERR HLL encoding is not sparse"
    );

    // hll-sparse-max-bytes bounds the sparse form, header included.
    config_set(&mut c, "hll-sparse-max-bytes", "60");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hll-sparse-max-bytes"]),
        ["hll-sparse-max-bytes", "60"]
    );
    for i in 0..40 {
        let _: i64 = q(&mut c, &["PFADD", "small", &format!("x{i}")]);
        let len = q::<Vec<u8>>(&mut c, &["GET", "small"]).len();
        if q::<String>(&mut c, &["PFDEBUG", "ENCODING", "small"]) == "sparse" {
            assert!(len <= 60, "{len}");
        }
    }
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "small"]),
        "dense"
    );
    config_set(&mut c, "hll-sparse-max-bytes", "3000");
    let _: i64 = q(&mut c, &["PFADD", "t", "a"]);
    assert_eq!(q::<i64>(&mut c, &["PFDEBUG", "TODENSE", "t"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PFDEBUG", "TODENSE", "t"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "t"]), 1);
}

#[test]
fn pfadd_counts_changes_as_redis_does() {
    let s = TestServer::start();
    let mut c = s.conn();
    let dirty = |c: &mut redis::Connection| common::info_u64(c, "rdb_changes_since_last_save");
    let before = dirty(&mut c);
    // A new key (1) and three raised registers (3).
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
    assert_eq!(dirty(&mut c), before + 4);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "a", "b", "c"]), 0);
    assert_eq!(dirty(&mut c), before + 4);
}

#[test]
fn merge_and_union_count() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["PFADD", "{x}a", "1", "2", "3", "4"]);
    let _: i64 = q(&mut c, &["PFADD", "{x}b", "3", "4", "5", "6"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "{x}a", "{x}b", "{x}nope"]), 6);
    let _: () = q(&mut c, &["PFMERGE", "{x}d", "{x}a", "{x}b"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "{x}d"]), 6);
    // The destination is one of the inputs.
    let _: i64 = q(&mut c, &["PFADD", "{x}c", "9"]);
    let _: () = q(&mut c, &["PFMERGE", "{x}d", "{x}c"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "{x}d"]), 7);
    // A dense input makes the destination dense.
    let _: i64 = q(&mut c, &["PFDEBUG", "TODENSE", "{x}c"]);
    let _: () = q(&mut c, &["PFMERGE", "{x}e", "{x}a", "{x}c"]);
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "{x}e"]),
        "dense"
    );
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "{x}e"]), 5);
    // No sources: an empty sketch.
    let _: () = q(&mut c, &["PFMERGE", "{x}empty"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "{x}empty"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "{x}empty"]), 1);
    // Across shards too (no hash tag).
    let _: i64 = q(&mut c, &["PFADD", "k1", "a"]);
    let _: i64 = q(&mut c, &["PFADD", "k2", "b"]);
    let _: () = q(&mut c, &["PFMERGE", "k3", "k1", "k2"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "k3"]), 2);
}

#[test]
fn errors_and_corrupt_sketches() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "str", "hello world, not a sketch"]);
    let _: () = q(&mut c, &["SET", "int", "12345"]);
    let _: i64 = q(&mut c, &["RPUSH", "list", "x"]);
    let not = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    for args in [
        &["PFADD", "str", "a"][..],
        &["PFCOUNT", "str"],
        &["PFCOUNT", "h", "str"],
        &["PFMERGE", "str"],
        &["PFMERGE", "d", "str"],
        &["PFADD", "int", "a"],
        &["PFDEBUG", "GETREG", "str"],
    ] {
        assert_eq!(err(&mut c, args), not, "{args:?}");
    }
    assert_eq!(
        err(&mut c, &["PFADD", "list", "a"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        err(&mut c, &["PFDEBUG", "GETREG", "nope"]),
        "ERR The specified key does not exist"
    );
    let _: i64 = q(&mut c, &["PFADD", "h", "a"]);
    assert_eq!(
        err(&mut c, &["PFDEBUG", "WHAT", "h"]),
        "ERR Unknown PFDEBUG subcommand 'WHAT'"
    );
    assert_eq!(
        err(&mut c, &["PFADD"]),
        "ERR wrong number of arguments for 'pfadd' command"
    );
    // A dense header on a string of the wrong length is not a sketch.
    let mut bad: Vec<u8> = q(&mut c, &["GET", "h"]);
    bad[4] = 0;
    let _: () = redis::cmd("SET")
        .arg("dense-short")
        .arg(&bad)
        .query(&mut c)
        .unwrap();
    assert_eq!(err(&mut c, &["PFCOUNT", "dense-short"]), not);
    // Sparse opcodes that do not cover 16384 registers are corrupt.
    let mut cut: Vec<u8> = q(&mut c, &["GET", "h"]);
    cut.truncate(17);
    let _: () = redis::cmd("SET")
        .arg("cut")
        .arg(&cut)
        .query(&mut c)
        .unwrap();
    let corrupt = "INVALIDOBJ Corrupted HLL object detected";
    assert_eq!(err(&mut c, &["PFCOUNT", "cut"]), corrupt);
    assert_eq!(err(&mut c, &["PFCOUNT", "cut", "h"]), corrupt);
    assert_eq!(err(&mut c, &["PFMERGE", "d", "cut"]), corrupt);
    assert_eq!(err(&mut c, &["PFDEBUG", "TODENSE", "cut"]), corrupt);
    // Registers past the end: PFADD finds no opcode for them.
    let mut short: Vec<u8> = q(&mut c, &["GET", "h"]);
    short.truncate(16);
    short.push(0x00);
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg(&short)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        err(&mut c, &["PFADD", "short", "a", "b", "c", "d"]),
        corrupt
    );
    // The server is fine.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn pfcount_caching_is_a_change_watch_sees() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut other = s.conn();
    let _: i64 = q(&mut c, &["PFADD", "h", "a"]);
    let _: () = q(&mut c, &["WATCH", "h"]);
    // Another client's PFCOUNT stores the estimate in the key.
    assert_eq!(q::<i64>(&mut other, &["PFCOUNT", "h"]), 1);
    let _: () = q(&mut c, &["MULTI"]);
    let _: () = q(&mut c, &["PING"]);
    let r: Option<Vec<String>> = q(&mut c, &["EXEC"]);
    assert_eq!(r, None, "the transaction is aborted");
    // A cached count is not a change.
    let _: () = q(&mut c, &["WATCH", "h"]);
    assert_eq!(q::<i64>(&mut other, &["PFCOUNT", "h"]), 1);
    let _: () = q(&mut c, &["MULTI"]);
    let _: () = q(&mut c, &["PING"]);
    let r: Option<Vec<String>> = q(&mut c, &["EXEC"]);
    assert_eq!(r, Some(vec!["PONG".to_string()]));
}

#[test]
fn sketches_survive_reload_dump_and_expiry() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..300 {
        let _: i64 = q(&mut c, &["PFADD", "sparse", &format!("s{i}")]);
    }
    let _: i64 = q(&mut c, &["PFADD", "dense", "x"]);
    let _: i64 = q(&mut c, &["PFDEBUG", "TODENSE", "dense"]);
    let before: Vec<Vec<u8>> = ["sparse", "dense"]
        .iter()
        .map(|k| q(&mut c, &["GET", k]))
        .collect();
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    for (k, b) in ["sparse", "dense"].iter().zip(&before) {
        assert_eq!(&q::<Vec<u8>>(&mut c, &["GET", k]), b, "{k}");
    }
    let n: i64 = q(&mut c, &["PFCOUNT", "sparse"]);
    assert!((295..=305).contains(&n), "{n}");
    let dump: Vec<u8> = q(&mut c, &["DUMP", "sparse"]);
    let _: () = redis::cmd("RESTORE")
        .arg("copy")
        .arg(0)
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "copy"]), n);
    // A sketch expires like any key.
    let _: i64 = q(&mut c, &["PEXPIRE", "copy", "20"]);
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "copy"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "copy"]), 0);
}

#[test]
fn pfadd_and_pfmerge_notify() {
    let s = TestServer::start();
    let mut c = s.conn();
    config_set(&mut c, "notify-keyspace-events", "K$");
    let mut sub = s.conn();
    let mut ps = sub.as_pubsub();
    ps.subscribe("__keyspace@0__:h").unwrap();
    let _: i64 = q(&mut c, &["PFADD", "h", "a"]);
    let _: i64 = q(&mut c, &["PFADD", "h", "a"]);
    let _: () = q(&mut c, &["PFMERGE", "h", "h"]);
    ps.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let events: Vec<String> = (0..2)
        .map(|_| ps.get_message().unwrap().get_payload().unwrap())
        .collect();
    // The PFADD that changed nothing sent nothing.
    assert_eq!(events, ["pfadd", "pfadd"]);
}

#[test]
fn redis_sketches_load_in_ember() {
    if !have_tool("redis-server") {
        return;
    }
    let redis = common::RealRedis::start(&[]);
    let mut r = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..2000 {
        let e = format!("user:{i}");
        let _: i64 = q(&mut r, &["PFADD", "visits", &e]);
        let _: i64 = q(&mut c, &["PFADD", "visits", &e]);
    }
    let want: i64 = q(&mut r, &["PFCOUNT", "visits"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "visits"]), want);
    let theirs: Vec<u8> = q(&mut r, &["GET", "visits"]);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "visits"]), theirs);
    // Redis's DUMP restores here, and ours there.
    let dump: Vec<u8> = q(&mut r, &["DUMP", "visits"]);
    let _: () = redis::cmd("RESTORE")
        .arg("theirs")
        .arg(0)
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "theirs", "visits"]), want);
}

#[test]
fn pfselftest_passes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["PFSELFTEST"]);
}
