//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.

mod common;

use std::thread;
use std::time::Duration;

use common::{blocked_clients, err, q, TestServer};
use ember::keyspace::{key_slot, NSHARDS};

fn shard(k: &str) -> usize {
    key_slot(k.as_bytes()) as usize % NSHARDS
}

#[test]
fn queueing_and_exec_replies() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"SET a 1\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"INCR a\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"LPUSH a x\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"GET a\r\n", b"+QUEUED\r\n");
    r.roundtrip(
        b"EXEC\r\n",
        b"*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n",
    );
    // Through the redis crate.
    let mut c = s.conn();
    let (x, y): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("n")
        .cmd("INCRBY")
        .arg("n")
        .arg(10)
        .query(&mut c)
        .unwrap();
    assert_eq!((x, y), (1, 11));
    // An empty transaction.
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n");
}

#[test]
fn errors_while_queueing_abort() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"SET a 1\r\n", b"+QUEUED\r\n");
    r.roundtrip(
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    r.roundtrip(
        b"FOO bar\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n",
    );
    r.roundtrip(
        b"EXEC\r\n",
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    // Nothing ran, and the transaction is over.
    r.roundtrip(b"EXISTS a\r\n", b":0\r\n");
    r.roundtrip(b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n");
    // Nested MULTI and WATCH inside MULTI are errors but do not abort.
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"MULTI\r\n", b"-ERR MULTI calls can not be nested\r\n");
    r.roundtrip(
        b"WATCH x\r\n",
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    );
    r.roundtrip(b"PING\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"EXEC\r\n", b"*1\r\n+PONG\r\n");
}

#[test]
fn exec_and_discard_without_multi() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
    assert_eq!(err(&mut c, &["DISCARD"]), "ERR DISCARD without MULTI");
    let mut r = s.raw();
    r.roundtrip(
        b"MULTI\r\nSET d 1\r\nDISCARD\r\n",
        b"+OK\r\n+QUEUED\r\n+OK\r\n",
    );
    r.roundtrip(b"EXISTS d\r\n", b":0\r\n");
    r.roundtrip(b"DISCARD\r\n", b"-ERR DISCARD without MULTI\r\n");
    assert_eq!(
        err(&mut c, &["MULTI", "x"]),
        "ERR wrong number of arguments for 'multi' command"
    );
    assert_eq!(
        err(&mut c, &["WATCH"]),
        "ERR wrong number of arguments for 'watch' command"
    );
}

/// WATCH k on `r`, let `f` act, then run MULTI PING EXEC; the EXEC reply.
fn watch_then(s: &TestServer, key: &str, f: impl FnOnce(&mut redis::Connection)) -> Vec<u8> {
    let mut r = s.raw();
    r.roundtrip(format!("WATCH {key}\r\n").as_bytes(), b"+OK\r\n");
    let mut other = s.conn();
    f(&mut other);
    r.roundtrip(b"MULTI\r\nPING\r\n", b"+OK\r\n+QUEUED\r\n");
    r.send(b"EXEC\r\n");
    let mut got = r.read_n(5, Duration::from_secs(5));
    if got == b"*1\r\n+" {
        got.extend(r.read_n(6, Duration::from_secs(5)));
    }
    got
}

const RAN: &[u8] = b"*1\r\n+PONG\r\n";
const NULL: &[u8] = b"*-1\r\n";

#[test]
fn watch_invalidation() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", |_| {}), RAN);
    assert_eq!(
        watch_then(&s, "w", |o| q::<()>(o, &["SET", "w", "2"])),
        NULL
    );
    // A read or a write to another key does not count.
    assert_eq!(
        watch_then(&s, "w", |o| {
            q::<String>(o, &["GET", "w"]);
            q::<()>(o, &["SET", "other", "1"]);
        }),
        RAN
    );
    // A key that does not exist yet, then is created.
    assert_eq!(
        watch_then(&s, "fresh", |o| q::<()>(o, &["SET", "fresh", "1"])),
        NULL
    );
    // DEL, RENAME away and onto.
    assert_eq!(
        watch_then(&s, "fresh", |o| q::<()>(o, &["DEL", "fresh"])),
        NULL
    );
    q::<()>(&mut c, &["SET", "r1", "1"]);
    assert_eq!(
        watch_then(&s, "r1", |o| q::<()>(o, &["RENAME", "r1", "r2"])),
        NULL
    );
    q::<()>(&mut c, &["SET", "r3", "1"]);
    assert_eq!(
        watch_then(&s, "r2", |o| q::<()>(o, &["RENAME", "r3", "r2"])),
        NULL
    );
    // FLUSHALL / FLUSHDB touch existing watched keys, not missing ones.
    assert_eq!(watch_then(&s, "r2", |o| q::<()>(o, &["FLUSHALL"])), NULL);
    assert_eq!(
        watch_then(&s, "missing", |o| q::<()>(o, &["FLUSHALL"])),
        RAN
    );
    q::<()>(&mut c, &["SET", "f", "1"]);
    assert_eq!(watch_then(&s, "f", |o| q::<()>(o, &["FLUSHDB"])), NULL);
    // SWAPDB: a key that exists in either database.
    q::<()>(&mut c, &["SET", "sw", "1"]);
    assert_eq!(
        watch_then(&s, "sw", |o| q::<()>(o, &["SWAPDB", "0", "1"])),
        NULL
    );
    // Now "sw" lives in db 1; swapping brings it back into db 0.
    assert_eq!(
        watch_then(&s, "sw", |o| q::<()>(o, &["SWAPDB", "0", "1"])),
        NULL
    );
    assert_eq!(
        watch_then(&s, "nothere", |o| q::<()>(o, &["SWAPDB", "0", "1"])),
        RAN
    );
    // The watching client's own write before MULTI counts too.
    let mut r = s.raw();
    r.roundtrip(
        b"WATCH own\r\nSET own 1\r\nMULTI\r\nPING\r\n",
        b"+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n",
    );
    r.roundtrip(b"EXEC\r\n", NULL);
    // RESP3 null.
    r.roundtrip(b"HELLO 3\r\n", b"");
    let _ = r.read_n(4096, Duration::from_millis(300));
    r.roundtrip(
        b"WATCH own\r\nSET own 2\r\nMULTI\r\nEXEC\r\n",
        b"+OK\r\n+OK\r\n+OK\r\n_\r\n",
    );
    // A key watched in one db is not touched by writes in another.
    r.roundtrip(
        b"SELECT 5\r\nWATCH dbk\r\nSELECT 1\r\nSET dbk 1\r\nSELECT 5\r\nMULTI\r\nEXEC\r\n",
        b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n*0\r\n",
    );
}

#[test]
fn watch_expiry() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "e", "1", "PX", "50"]);
    // Expired by EXEC time: fails, whether or not it was reclaimed.
    assert_eq!(
        watch_then(&s, "e", |_| thread::sleep(Duration::from_millis(120))),
        NULL
    );
    // Stale (expired, not reclaimed) when watched: no change.
    q::<()>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    q::<()>(&mut c, &["SET", "st", "1", "PX", "1"]);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(watch_then(&s, "st", |_| {}), RAN);
    q::<()>(&mut c, &["SET", "st", "1", "PX", "1"]);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(watch_then(&s, "st", |o| q::<()>(o, &["DEL", "st"])), RAN);
    q::<()>(&mut c, &["SET", "st", "1", "PX", "1"]);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(watch_then(&s, "st", |o| q::<()>(o, &["FLUSHDB"])), RAN);
    q::<()>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
}

#[test]
fn unwatch_reset_and_exec_end_watches() {
    let s = TestServer::start();
    let mut o = s.conn();
    let mut r = s.raw();
    r.roundtrip(b"WATCH u\r\nUNWATCH\r\n", b"+OK\r\n+OK\r\n");
    q::<()>(&mut o, &["SET", "u", "1"]);
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n");
    // RESET ends the transaction and the watch.
    r.roundtrip(
        b"WATCH u\r\nMULTI\r\nPING\r\nRESET\r\n",
        b"+OK\r\n+OK\r\n+QUEUED\r\n+RESET\r\n",
    );
    q::<()>(&mut o, &["SET", "u", "2"]);
    r.roundtrip(b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n");
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n");
    // After a failed EXEC the key is no longer watched.
    r.roundtrip(b"WATCH u\r\n", b"+OK\r\n");
    q::<()>(&mut o, &["SET", "u", "3"]);
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*-1\r\n");
    q::<()>(&mut o, &["SET", "u", "4"]);
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n");
    // UNWATCH inside MULTI is queued.
    r.roundtrip(
        b"MULTI\r\nUNWATCH\r\nEXEC\r\n",
        b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n",
    );
    // DISCARD unwatches.
    r.roundtrip(b"WATCH u\r\nMULTI\r\nDISCARD\r\n", b"+OK\r\n+OK\r\n+OK\r\n");
    q::<()>(&mut o, &["SET", "u", "5"]);
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n");
}

#[test]
fn client_list_shows_multi() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(
        b"MULTI\r\nPING\r\nPING\r\n",
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n",
    );
    let mut c = s.conn();
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("flags=x"))
        .expect("flags=x");
    assert!(line.contains(" multi=2 "), "{line}");
    let mine = list
        .lines()
        .find(|l| l.contains("flags=N"))
        .expect("flags=N");
    assert!(mine.contains(" multi=-1 "), "{mine}");
}

#[test]
fn blocking_inside_exec() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(
        b"MULTI\r\nBLPOP empty 0\r\nBLMOVE empty dst LEFT RIGHT 0\r\nEXEC\r\n",
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n$-1\r\n",
    );
    // A push inside EXEC wakes a blocked client once EXEC is done.
    let mut b = s.raw();
    b.send(b"BLPOP wake 0\r\n");
    let mut c = s.conn();
    while blocked_clients(&mut c) != 1 {
        thread::sleep(Duration::from_millis(5));
    }
    r.roundtrip(
        b"MULTI\r\nRPUSH wake a b\r\nLLEN wake\r\nEXEC\r\n",
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:2\r\n:2\r\n",
    );
    b.expect(b"*2\r\n$4\r\nwake\r\n$1\r\na\r\n");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "wake", "0", "-1"]),
        vec!["b"]
    );
}

#[test]
fn exec_is_atomic_across_shards() {
    let (a, b) = ("a", "b");
    assert_ne!(shard(a), shard(b));
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["MSET", a, "0", b, "0"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let mut w = s.conn();
        let stop = stop.clone();
        thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 200 {
                let _: (i64, i64) = redis::pipe()
                    .atomic()
                    .cmd("INCR")
                    .arg(a)
                    .cmd("INCR")
                    .arg(b)
                    .query(&mut w)
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    let mut reads = 0;
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < deadline {
        // MGET locks both shards at once; only EXEC's gates keep it from
        // landing between the two INCRs.
        let v: Vec<i64> = q(&mut c, &["MGET", a, b]);
        assert_eq!(v[0], v[1], "saw a half-applied transaction");
        reads += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let n = writer.join().unwrap();
    let v: Vec<i64> = q(&mut c, &["MGET", a, b]);
    assert_eq!(v, vec![n, n]);
    assert!(reads > 0);
}
