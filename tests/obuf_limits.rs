//! `client-output-buffer-limit normal`, memory of a client that never reads
//! its replies, and slow clients that must not delay others.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use common::{config_set, q, TestServer};

fn used_memory(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

/// Send `req` on a new connection: the server closes it; what came first.
fn closed_without_replies(s: &TestServer, req: &[u8]) -> Vec<u8> {
    let mut raw = s.raw();
    raw.send(req);
    let got = raw.read_n(1 << 20, Duration::from_secs(5));
    assert!(raw.is_closed());
    got
}

#[test]
fn hard_limit_closes_a_client_without_its_reply() {
    let s = TestServer::start();
    let mut c = s.conn();
    config_set(&mut c, "client-output-buffer-limit", "normal 100000 0 0");
    let big = "x".repeat(200_000);
    let _: () = q(&mut c, &["SET", "big", &big]);
    let mut raw = s.raw();
    raw.send(b"GET big\r\n");
    let got = raw.read_n(1, Duration::from_secs(2));
    assert!(got.is_empty(), "got a reply");
    assert!(raw.is_closed());
    let info: String = q(&mut c, &["INFO", "stats"]);
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1"),
        "{info}"
    );
    // Under the limit, replies flow.
    let _: () = q(&mut c, &["SET", "small", "v"]);
    let mut raw = s.raw();
    raw.roundtrip(b"GET small\r\n", b"$1\r\nv\r\n");
}

#[test]
fn pipelined_replies_over_the_limit_close_the_client() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Under a hard limit a batch keeps its replies (as Redis does) rather
    // than writing them out every 64 KB: the whole batch's replies count.
    config_set(&mut c, "client-output-buffer-limit", "normal 20000 0 0");
    let _: () = q(&mut c, &["SET", "k", &"v".repeat(1000)]);
    let got = closed_without_replies(&s, &b"GET k\r\n".repeat(200));
    assert!(got.is_empty(), "{} bytes of replies came", got.len());
    // The soft limit: over it for longer than the allowed seconds.
    config_set(&mut c, "client-output-buffer-limit", "normal 0 1000 0");
    // Over the soft limit only while its replies wait: written out at
    // once, the client stays.
    let reply = format!("$1000\r\n{}\r\n", "v".repeat(1000));
    let mut raw = s.raw();
    raw.roundtrip(b"GET k\r\n", reply.as_bytes());
    std::thread::sleep(Duration::from_millis(1100));
    raw.roundtrip(b"GET k\r\n", reply.as_bytes());
}

/// Redis's obuf-limits scenario: a pipeline of small commands, in one
/// write, whose replies (15 x 10 KB) pass a 100000-byte limit only
/// together. Nothing is sent, and other clients are served.
#[test]
fn a_pipeline_of_small_replies_past_the_limit_gets_none() {
    let s = TestServer::start();
    let mut c = s.conn();
    config_set(&mut c, "client-output-buffer-limit", "normal 100000 0 0");
    let _: () = q(&mut c, &["SET", "bigkey", &"x".repeat(10_000)]);
    let mut buf = String::new();
    for i in 0..15 {
        buf += &format!("set {i} {i}\r\nget {i}\r\ndel {i}\r\nget bigkey\r\n");
    }
    let got = closed_without_replies(&s, buf.as_bytes());
    assert!(got.is_empty(), "{} bytes of replies came", got.len());
    let _: () = q(&mut c, &["PING"]);
}

/// The limit counts as Redis does: what passes its 16 KB reply buffer, in
/// whole 20 KB reply blocks. A 112 KB KEYS reply is over 100000 bytes.
#[test]
fn a_keys_reply_is_counted_in_reply_blocks() {
    let s = TestServer::start();
    let mut c = s.conn();
    let prefix = "k".repeat(100);
    let mut cmd = redis::cmd("MSET");
    for i in 0..1000 {
        cmd.arg(format!("{prefix}{i}")).arg(i);
    }
    let _: () = cmd.query(&mut c).unwrap();
    config_set(&mut c, "client-output-buffer-limit", "normal 100000 0 0");
    let got = closed_without_replies(&s, b"KEYS *\r\n");
    assert!(got.is_empty(), "{} bytes of replies came", got.len());
    // A reply inside the 16 KB buffer is never over, whatever the limit.
    config_set(&mut c, "client-output-buffer-limit", "normal 10 0 0");
    let mut raw = s.raw();
    raw.roundtrip(b"GET k\r\n", b"$-1\r\n");
}

/// A random-element count too big to build is refused without a limit;
/// under one the reply is started and stopped at the limit, and the client
/// closed without it (Redis's "stopped mid-run"), in MULTI too. A script's
/// call is still refused: no limit bounds its reply.
#[test]
fn huge_random_counts_stop_at_the_limit() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["HSET", "h", "a", "b"]);
    let _: () = q(&mut c, &["SADD", "s", "a"]);
    let _: () = q(&mut c, &["ZADD", "z", "1", "a"]);
    let cmds: [&[u8]; 3] = [
        b"HRANDFIELD h -999999999\r\n",
        b"SRANDMEMBER s -999999999\r\n",
        b"ZRANDMEMBER z -999999999\r\n",
    ];
    for cmd in cmds {
        let mut raw = s.raw();
        raw.roundtrip(cmd, b"-ERR value is out of range\r\n");
    }
    config_set(&mut c, "client-output-buffer-limit", "normal 1000000 0 0");
    for cmd in cmds {
        let got = closed_without_replies(&s, cmd);
        assert!(got.is_empty(), "{} bytes of replies came", got.len());
    }
    let got = closed_without_replies(&s, b"MULTI\r\nHRANDFIELD h -999999999\r\nEXEC\r\n");
    assert!(!got.windows(3).any(|w| w == b"\r\n*"), "EXEC replied");
    // The limit is read when the command starts: cleared before EXEC, the
    // reply already cut short still closes the client without it.
    let got = closed_without_replies(&s, b"MULTI\r\nHRANDFIELD h -999999999\r\nCONFIG SET client-output-buffer-limit \"normal 0 0 0\"\r\nEXEC\r\n",);
    assert!(!got.windows(3).any(|w| w == b"\r\n*"), "EXEC replied");
    config_set(&mut c, "client-output-buffer-limit", "normal 1000000 0 0");
    // Big elements stop at the limit too, whatever the count: 1000 copies
    // of a 1 MB value are never built.
    let _: () = q(&mut c, &["HSET", "big", "f", &"v".repeat(1 << 20)]);
    let got = closed_without_replies(&s, b"HRANDFIELD big -1000 WITHVALUES\r\n");
    assert!(got.is_empty(), "{} bytes of replies came", got.len());
    let e = common::err(
        &mut c,
        &[
            "EVAL",
            "return redis.call('hrandfield', 'h', -999999999)",
            "0",
        ],
    );
    assert!(e.contains("value is out of range"), "{e}");
    let info: String = q(&mut c, &["INFO", "stats"]);
    assert!(
        info.contains("client_output_buffer_limit_disconnections:6"),
        "{info}"
    );
}

#[test]
fn a_client_that_never_reads_is_bounded_by_backpressure() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", &"v".repeat(1024)]);
    let before = used_memory(&mut c);
    let raw = s.raw();
    let mut w = raw.0.try_clone().unwrap();
    // 1M GETs (7 MB of requests, 1 GB of replies), never reading.
    let writer = std::thread::spawn(move || {
        let chunk = b"GET k\r\n".repeat(10_000);
        for _ in 0..100 {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut peak = 0;
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        peak = peak.max(used_memory(&mut c));
        std::thread::sleep(Duration::from_millis(100));
    }
    // The server reads the requests but runs them only as their replies
    // can go out: what it holds is the requests, never the replies.
    assert!(
        peak < before + (32 << 20),
        "used_memory grew from {before} to {peak}"
    );
    let _ = raw.0.shutdown(Shutdown::Both);
    writer.join().unwrap();
    // Other clients were served all along.
    let _: () = q(&mut c, &["PING"]);
}

#[test]
fn a_slow_loris_never_delays_other_clients() {
    let s = TestServer::start();
    let mut slow = s.raw();
    let req = b"*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$20\r\n01234567890123456789\r\n";
    let sender = std::thread::spawn(move || {
        for b in req.iter() {
            slow.send(&[*b]);
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut got = [0u8; 5];
        slow.0.set_read_timeout(Some(Duration::from_secs(5))).ok();
        slow.0.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"+OK\r\n");
    });
    let mut c = s.conn();
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let _: () = q(&mut c, &["SET", "fast", "1"]);
        let _: String = q(&mut c, &["GET", "fast"]);
        worst = worst.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        worst < Duration::from_millis(500),
        "a request took {worst:?}"
    );
    sender.join().unwrap();
    let v: String = q(&mut c, &["GET", "slow"]);
    assert_eq!(v, "01234567890123456789");
}
