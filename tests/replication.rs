//! Replication: Ember as a master (of Ember and of a real redis-server
//! replica), Ember as a replica (of Ember and of a real redis-server
//! master), the PSYNC handshake on a raw socket, WAIT, ROLE, INFO, the
//! read-only replica's errors and partial resynchronization.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{err, info_u64, q, wait_until, TestServer};

/// A string INFO field.
fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let info: String = q(c, &["INFO", "replication"]);
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("INFO replication has no {name}"))
}

fn conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .expect("connect")
}

/// DEBUG DIGEST of every database.
fn digest(c: &mut redis::Connection) -> String {
    q(c, &["DEBUG", "DIGEST"])
}

/// Data of every type, in several databases, with TTLs.
fn fill(c: &mut redis::Connection) {
    let _: () = q(c, &["SET", "s", "v"]);
    let _: () = q(c, &["SET", "ttl", "v", "EX", "1000"]);
    let _: i64 = q(c, &["RPUSH", "l", "a", "b", "c"]);
    let _: i64 = q(c, &["HSET", "h", "f", "1", "g", "2"]);
    let _: i64 = q(c, &["SADD", "set", "x", "y", "1"]);
    let _: i64 = q(c, &["ZADD", "z", "1.5", "a", "2", "b"]);
    let _: String = q(c, &["XADD", "st", "1-1", "f", "v"]);
    let _: () = q(c, &["SELECT", "3"]);
    let _: () = q(c, &["SET", "in3", "x"]);
    let _: () = q(c, &["SELECT", "0"]);
}

/// Writes of many kinds, some of which are propagated as something else.
fn more_writes(c: &mut redis::Connection) {
    let _: i64 = q(c, &["INCR", "counter"]);
    let _: String = q(c, &["INCRBYFLOAT", "f", "1.5"]);
    let _: Option<String> = q(c, &["SPOP", "set"]);
    let _: i64 = q(c, &["EXPIRE", "s", "500"]);
    let _: i64 = q(c, &["DEL", "h"]);
    let _: Vec<String> = redis::pipe()
        .atomic()
        .cmd("LPUSH")
        .arg("l")
        .arg("0")
        .cmd("ZINCRBY")
        .arg("z")
        .arg("1")
        .arg("a")
        .query(c)
        .unwrap();
    let _: i64 = q(
        c,
        &[
            "EVAL",
            "return redis.call('HSET', KEYS[1], 'k', ARGV[1])",
            "1",
            "h2",
            "v",
        ],
    );
    let _: String = q(c, &["XADD", "st", "*", "g", "w"]);
    let _: () = q(c, &["SELECT", "3"]);
    let _: () = q(c, &["FLUSHDB"]);
    let _: () = q(c, &["SET", "again3", "y"]);
    let _: () = q(c, &["SELECT", "0"]);
    let _: () = q(c, &["SET", "big", &"b".repeat(200_000)]);
}

/// WAIT for the one replica, then compare the data.
fn in_sync(m: &mut redis::Connection, r: &mut redis::Connection) {
    let acked: i64 = q(m, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);
    assert_eq!(digest(r), digest(m));
}

fn wait_linked(r: &mut redis::Connection) {
    wait_until("the replica's link up", 20, || {
        info_field(r, "master_link_status") == "up"
    });
}

#[test]
fn ember_replica_follows_ember_master() {
    let m = TestServer::start();
    let r = TestServer::start();
    let mut mc = m.conn();
    let mut rc = r.conn();
    fill(&mut mc);
    let port = m.addr.port().to_string();
    let _: () = q(&mut rc, &["REPLICAOF", "127.0.0.1", &port]);
    let again: String = q(&mut rc, &["REPLICAOF", "127.0.0.1", &port]);
    assert_eq!(again, "OK Already connected to specified master");
    wait_linked(&mut rc);
    assert_eq!(digest(&mut rc), digest(&mut mc));
    more_writes(&mut mc);
    in_sync(&mut mc, &mut rc);
    let ttl: i64 = q(&mut rc, &["TTL", "s"]);
    assert!(ttl > 400, "{ttl}");

    // What each side reports.
    assert_eq!(info_field(&mut mc, "role"), "master");
    assert_eq!(info_field(&mut mc, "connected_slaves"), "1");
    assert!(info_field(&mut mc, "slave0").contains("state=online"));
    assert_eq!(info_field(&mut rc, "role"), "slave");
    assert_eq!(info_field(&mut rc, "master_port"), port);
    let role: redis::Value = q(&mut rc, &["ROLE"]);
    assert!(format!("{role:?}").contains("connected"), "{role:?}");
    let role: (String, i64, Vec<Vec<String>>) = q(&mut mc, &["ROLE"]);
    assert_eq!(role.0, "master");
    assert_eq!(role.2.len(), 1);
    assert_eq!(role.2[0][1], r.addr.port().to_string());
    let replicas: String = q(&mut mc, &["CLIENT", "LIST", "TYPE", "replica"]);
    assert_eq!(replicas.lines().count(), 1);
    assert!(replicas.contains("flags=S"), "{replicas}");
    let masters: String = q(&mut rc, &["CLIENT", "LIST", "TYPE", "master"]);
    assert!(masters.contains("flags=M"), "{masters}");

    // A read-only replica.
    let e = err(&mut rc, &["SET", "k", "v"]);
    assert_eq!(e, "READONLY You can't write against a read only replica.");
    // Inside MULTI the write is refused as it is queued, as Redis does.
    let _: () = q(&mut rc, &["MULTI"]);
    let e = err(&mut rc, &["SET", "k", "v"]);
    assert_eq!(e, "READONLY You can't write against a read only replica.");
    let e = err(&mut rc, &["EXEC"]);
    assert_eq!(
        e,
        "EXECABORT Transaction discarded because of previous errors."
    );
    let e = err(
        &mut rc,
        &["EVAL", "return redis.call('SET', 'k', 'v')", "0"],
    );
    assert!(
        e.contains("READONLY You can't write against a read only replica."),
        "{e}"
    );
    // A script that declares flags and not no-writes is a write: refused
    // before it runs, as Redis's processCommand does.
    let e = err(&mut rc, &["EVAL", "#!lua\nreturn 1", "0"]);
    assert_eq!(e, "READONLY You can't write against a read only replica.");
    let got: i64 = q(&mut rc, &["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]);
    assert_eq!(got, 1);
    let e = err(&mut rc, &["WAIT", "1", "0"]);
    assert!(
        e.starts_with("ERR WAIT cannot be used with replica instances"),
        "{e}"
    );
    let got: String = q(&mut rc, &["GET", "s"]);
    assert_eq!(got, "v");

    // A dropped link continues where it was (PSYNC +CONTINUE), in the
    // database the stream was in (no SELECT comes again).
    let mut in3 = m.conn();
    let _: () = q(&mut in3, &["SELECT", "3"]);
    let _: () = q(&mut in3, &["SET", "before-drop", "1"]);
    let acked: i64 = q(&mut mc, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);
    let before = info_u64(&mut mc, "sync_partial_ok");
    let killed: i64 = q(&mut rc, &["CLIENT", "KILL", "TYPE", "master"]);
    assert_eq!(killed, 1);
    wait_until("a partial resync", 20, || {
        info_u64(&mut mc, "sync_partial_ok") > before
    });
    wait_linked(&mut rc);
    let _: () = q(&mut in3, &["SET", "after-drop", "1"]);
    let _: () = q(&mut mc, &["SET", "after", "continue"]);
    let acked: i64 = q(&mut mc, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);
    assert_eq!(digest(&mut rc), digest(&mut mc));
    assert_eq!(info_u64(&mut mc, "sync_full"), 1);

    // Promoted: takes writes, stops following.
    let _: () = q(&mut rc, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(info_field(&mut rc, "role"), "master");
    let _: () = q(&mut rc, &["SET", "mine", "1"]);
    let _: () = q(&mut mc, &["SET", "not-followed", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    let gone: Option<String> = q(&mut rc, &["GET", "not-followed"]);
    assert_eq!(gone, None);
}

#[test]
fn a_real_redis_replica_follows_ember() {
    if !common::have_tool("redis-server") {
        return;
    }
    let m = TestServer::start();
    let mut mc = m.conn();
    fill(&mut mc);
    let port = m.addr.port().to_string();
    let real = common::RealRedis::start(&[
        "--enable-debug-command",
        "yes",
        "--replicaof",
        "127.0.0.1",
        &port,
    ]);
    let mut rc = conn(real.port);
    wait_linked(&mut rc);
    more_writes(&mut mc);
    in_sync(&mut mc, &mut rc);
    assert!(info_field(&mut mc, "slave0").contains(&format!("port={}", real.port)));
}

#[test]
fn ember_follows_a_real_redis_master() {
    if !common::have_tool("redis-server") {
        return;
    }
    let real = common::RealRedis::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let mut mc = conn(real.port);
    fill(&mut mc);
    let r = TestServer::start();
    let mut rc = r.conn();
    let _: () = q(&mut rc, &["REPLICAOF", "127.0.0.1", &real.port.to_string()]);
    wait_linked(&mut rc);
    assert_eq!(digest(&mut rc), digest(&mut mc));
    more_writes(&mut mc);
    in_sync(&mut mc, &mut rc);
    // The master's offset, as Redis's own tests compare them.
    let master_off = info_u64(&mut mc, "master_repl_offset");
    wait_until("offsets equal", 10, || {
        info_u64(&mut rc, "master_repl_offset") == master_off
    });
}

/// Read until `pred` holds for what came, or panic after 10 seconds.
fn read_until(s: &mut TcpStream, got: &mut Vec<u8>, pred: impl Fn(&[u8]) -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    s.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let mut buf = [0u8; 65536];
    while !pred(got) {
        assert!(
            Instant::now() < until,
            "got {:?}",
            String::from_utf8_lossy(got)
        );
        match s.read(&mut buf) {
            Ok(0) => panic!("closed; got {:?}", String::from_utf8_lossy(got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn psync_handshake_over_a_raw_socket() {
    let m = TestServer::start();
    let mut mc = m.conn();
    let _: () = q(&mut mc, &["SET", "before", "1"]);
    assert_eq!(
        err(&mut mc, &["REPLCONF", "foo", "bar"]),
        "ERR Unrecognized REPLCONF option: foo"
    );
    assert_eq!(err(&mut mc, &["REPLCONF", "capa"]), "ERR syntax error");
    let _: () = q(&mut mc, &["MULTI"]);
    let e = err(&mut mc, &["PSYNC", "?", "-1"]);
    assert!(e.contains("not allowed"), "{e}");
    let _: () = q(&mut mc, &["DISCARD"]);
    // No replica yet: WAIT times out with 0, WAIT 0 answers at once.
    let n: i64 = q(&mut mc, &["WAIT", "1", "100"]);
    assert_eq!(n, 0);
    let n: i64 = q(&mut mc, &["WAIT", "0", "0"]);
    assert_eq!(n, 0);
    // Timeouts as Redis reads them: past 64 bits, a deadline that would
    // overflow, a negative one.
    for (t, e) in [
        (
            "9223372036854775808",
            "ERR timeout is not an integer or out of range",
        ),
        ("9223372036854775807", "ERR timeout is out of range"),
        ("-1", "ERR timeout is negative"),
    ] {
        assert_eq!(err(&mut mc, &["WAIT", "2", t]), e);
    }

    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(b"REPLCONF listening-port 4321\r\nREPLCONF capa eof capa psync2\r\nPSYNC ? -1\r\n")
        .unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |g| {
        find(g, b"+FULLRESYNC").is_some_and(|i| find(&g[i..], b"\r\n").is_some())
    });
    assert!(
        got.starts_with(b"+OK\r\n+OK\r\n+FULLRESYNC "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let line_end = find(&got[10..], b"\r\n").unwrap() + 10;
    let line = String::from_utf8_lossy(&got[10..line_end]).to_string();
    let mut parts = line.split(' ').skip(1);
    let replid = parts.next().unwrap().to_string();
    let offset: u64 = parts.next().unwrap().parse().unwrap();
    assert_eq!(replid.len(), 40);
    assert_eq!(info_field(&mut mc, "master_replid"), replid);
    // The payload: `$<len>` and an RDB file.
    got.drain(..line_end + 2);
    read_until(&mut s, &mut got, |g| {
        let g = g.trim_ascii_start();
        g.starts_with(b"$") && find(g, b"\r\n").is_some()
    });
    let start = got.iter().position(|&b| b == b'$').unwrap();
    got.drain(..start);
    let end = find(&got, b"\r\n").unwrap();
    let len: usize = std::str::from_utf8(&got[1..end]).unwrap().parse().unwrap();
    got.drain(..end + 2);
    read_until(&mut s, &mut got, |g| g.len() >= len);
    assert!(got.starts_with(b"REDIS0"), "not an RDB file");
    assert!(find(&got[..len], b"before").is_some());
    got.drain(..len);

    // Then the stream: a write arrives with the SELECT before it.
    let _: () = q(&mut mc, &["SET", "after", "2"]);
    let want = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n2\r\n";
    read_until(&mut s, &mut got, |g| g.len() >= want.len());
    assert_eq!(&got[..want.len()], want);
    let stream_end = offset + want.len() as u64;
    assert_eq!(info_u64(&mut mc, "master_repl_offset"), stream_end);
    let slave0 = info_field(&mut mc, "slave0");
    assert!(slave0.contains("port=4321,state=online"), "{slave0}");
    got.drain(..want.len());

    // WAIT asks for an ACK (GETACK in the stream) and counts it.
    let mut waiter = m.conn();
    let t = std::thread::spawn(move || -> i64 { q(&mut waiter, &["WAIT", "1", "5000"]) });
    let getack = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
    read_until(&mut s, &mut got, |g| find(g, getack).is_some());
    s.write_all(format!("REPLCONF ACK {stream_end}\r\n").as_bytes())
        .unwrap();
    assert_eq!(t.join().unwrap(), 1);
    let slave0 = info_field(&mut mc, "slave0");
    assert!(slave0.contains(&format!("offset={stream_end}")), "{slave0}");
    let role: (String, i64, Vec<Vec<String>>) = q(&mut mc, &["ROLE"]);
    assert_eq!(
        role.2,
        vec![vec![
            "127.0.0.1".to_string(),
            "4321".into(),
            stream_end.to_string()
        ]]
    );
    // An ACK below a WAIT's offset does not answer it.
    let _: () = q(&mut mc, &["SET", "unacked", "3"]);
    let n: i64 = q(&mut mc, &["WAIT", "1", "200"]);
    assert_eq!(n, 0);
    drop(s);

    // Reconnecting from an offset still held: +CONTINUE and the rest.
    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(
        format!(
            "REPLCONF capa psync2\r\nPSYNC {replid} {}\r\n",
            stream_end + 1
        )
        .as_bytes(),
    )
    .unwrap();
    let mut got = Vec::new();
    let cont = format!("+OK\r\n+CONTINUE {replid}\r\n");
    read_until(&mut s, &mut got, |g| find(g, b"unacked").is_some());
    assert!(
        got.starts_with(cont.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(info_u64(&mut mc, "sync_partial_ok"), 1);
    drop(s);
    // Another replication ID: a full resync, counted as refused.
    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(b"PSYNC 0123456789012345678901234567890123456789 5\r\n")
        .unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |g| find(g, b"+FULLRESYNC").is_some());
    assert_eq!(info_u64(&mut mc, "sync_partial_err"), 1);
    assert_eq!(info_u64(&mut mc, "sync_full"), 2);
}

#[test]
fn a_replica_that_stops_reading_is_dropped_at_its_output_limit() {
    let m = TestServer::start();
    let mut mc = m.conn();
    common::config_set(&mut mc, "client-output-buffer-limit", "replica 2mb 0 0");
    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(b"PSYNC ? -1\r\n").unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |g| find(g, b"REDIS0").is_some());
    wait_until("the replica online", 10, || {
        info_field(&mut mc, "slave0").contains("state=online")
    });
    // 40 MB of writes the replica never reads: more than loopback buffers
    // take, so the stream it lags by passes the 2 MB hard limit.
    let value = "v".repeat(1 << 20);
    for i in 0..40 {
        let _: () = q(&mut mc, &["SET", &format!("k{i}"), &value]);
    }
    wait_until("the replica dropped", 10, || {
        info_u64(&mut mc, "connected_slaves") == 0
    });
    // The backlog gives back what the replica held (1 MB kept).
    let histlen = info_u64(&mut mc, "repl_backlog_histlen");
    assert!(histlen <= 1 << 20, "{histlen}");
}

#[test]
fn a_freed_backlog_means_a_new_replication_id() {
    let m = TestServer::start();
    let mut mc = m.conn();
    let long = "1".repeat(300);
    let e = err(&mut mc, &["REPLCONF", "ip-address", &long]);
    assert!(e.contains("is too long: 300 bytes"), "{e}");
    common::config_set(&mut mc, "repl-backlog-ttl", "1");
    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(b"PSYNC ? -1\r\n").unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |g| find(g, b"REDIS0").is_some());
    let old = info_field(&mut mc, "master_replid");
    assert_eq!(info_field(&mut mc, "repl_backlog_active"), "1");
    let _: () = q(&mut mc, &["SET", "k", "v"]);
    let offset = info_u64(&mut mc, "master_repl_offset");
    drop(s);
    // No replica for a second: the backlog goes, and with it the ID.
    wait_until("the backlog freed", 10, || {
        info_field(&mut mc, "repl_backlog_active") == "0"
    });
    let new = info_field(&mut mc, "master_replid");
    assert_ne!(new, old);
    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(format!("PSYNC {old} {}\r\n", offset + 1).as_bytes())
        .unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |g| find(g, b"\r\n").is_some());
    let want = format!("+FULLRESYNC {new} ");
    assert!(
        got.starts_with(want.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

/// A replica on a raw socket (SYNC), online and past its snapshot.
fn sync_replica(m: &TestServer, mc: &mut redis::Connection) -> TcpStream {
    let mut s = TcpStream::connect(m.addr).unwrap();
    s.write_all(b"SYNC\r\n").unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |g| find(g, b"REDIS0").is_some());
    wait_until("the replica online", 10, || {
        info_field(mc, "slave0").contains("state=online")
    });
    s
}

/// The commands in `buf` (a replication stream), lower-cased names.
fn commands(buf: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(buf).to_string();
    let mut lines = text.split("\r\n");
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        let Some(n) = l.strip_prefix('*') else {
            continue;
        };
        let n: usize = n.parse().unwrap();
        let mut cmd = Vec::new();
        for i in 0..n {
            lines.next();
            let a = lines.next().unwrap().to_string();
            cmd.push(if i == 0 { a.to_lowercase() } else { a });
        }
        out.push(cmd);
    }
    out
}

#[test]
fn writes_reach_replicas_in_the_shape_redis_gives_them() {
    let m = TestServer::start();
    let mut mc = m.conn();
    let mut s = sync_replica(&m, &mut mc);
    let mut got = Vec::new();
    let mut c5 = m.conn();
    let _: () = q(&mut c5, &["SELECT", "5"]);
    let _: Vec<String> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("SET")
        .arg("b")
        .arg("2")
        .query(&mut c5)
        .unwrap();
    let _: i64 = q(&mut c5, &["PUBLISH", "ch", "hello"]);
    let _: String = q(&mut c5, &["GETSET", "a", "3"]);
    let _: String = q(&mut c5, &["GETDEL", "b"]);
    let _: () = q(&mut c5, &["SET", "p", "v", "pxat", "99999999999999"]);
    // BLMOVE as LMOVE with its sides as written, at once or once served.
    let _: i64 = q(&mut c5, &["RPUSH", "src", "e"]);
    let _: String = q(&mut c5, &["BLMOVE", "src", "dst", "left", "Right", "0"]);
    let mut b = TcpStream::connect(m.addr).unwrap();
    b.write_all(b"SELECT 5\r\nBLMOVE src dst Right left 0\r\n")
        .unwrap();
    common::wait_blocked(&mut mc, 1);
    let _: i64 = q(&mut c5, &["RPUSH", "src", "f"]);
    let mut moved = Vec::new();
    read_until(&mut b, &mut moved, |g| g.ends_with(b"$1\r\nf\r\n"));
    let _: () = q(&mut c5, &["SET", "lastone", "x"]);
    read_until(&mut s, &mut got, |g| find(g, b"lastone").is_some());
    let want: Vec<Vec<&str>> = vec![
        vec!["multi"],
        vec!["select", "5"],
        vec!["set", "a", "1"],
        vec!["set", "b", "2"],
        vec!["exec"],
        vec!["publish", "ch", "hello"],
        vec!["set", "a", "3"],
        vec!["del", "b"],
        vec!["set", "p", "v", "pxat", "99999999999999"],
        vec!["rpush", "src", "e"],
        vec!["lmove", "src", "dst", "left", "Right"],
        vec!["rpush", "src", "f"],
        vec!["lmove", "src", "dst", "Right", "left"],
        vec!["set", "lastone", "x"],
    ];
    let got = commands(&got);
    let got: Vec<Vec<String>> = got.into_iter().filter(|c| c[0] != "ping").collect();
    assert_eq!(got, want);
}

/// Where commands go when the AOF and the replicas get different things:
/// `redis.set_repl` in a script, PUBLISH in a transaction (replicas only).
/// Both streams wrap the execution unit in MULTI/EXEC, as Redis 7.2 does.
#[test]
fn set_repl_and_publish_split_the_aof_from_the_replicas() {
    let m = TestServer::with_config(|c| c.appendonly = true);
    let mut mc = m.conn();
    let mut s = sync_replica(&m, &mut mc);
    let mut got = Vec::new();
    let script = "redis.call('set','a','1'); \
        redis.set_repl(redis.REPL_NONE); redis.call('set','b','2'); \
        redis.set_repl(redis.REPL_AOF); redis.call('set','c','3'); \
        redis.set_repl(redis.REPL_REPLICA); redis.call('set','e','5'); \
        redis.set_repl(redis.REPL_ALL); redis.call('set','d','4')";
    let _: () = q(&mut mc, &["EVAL", script, "0"]);
    // Only one command, and it goes nowhere but the AOF: no transaction.
    let _: () = q(
        &mut mc,
        &[
            "EVAL",
            "redis.set_repl(redis.REPL_AOF) redis.call('set','f','6')",
            "0",
        ],
    );
    let _: () = q(
        &mut mc,
        &[
            "EVAL",
            "redis.set_repl(redis.REPL_NONE) redis.call('set','g','7')",
            "0",
        ],
    );
    let _: Vec<redis::Value> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("h")
        .arg("8")
        .cmd("PUBLISH")
        .arg("ch")
        .arg("m")
        .query(&mut mc)
        .unwrap();
    let _: () = q(&mut mc, &["SET", "lastone", "x"]);
    read_until(&mut s, &mut got, |g| find(g, b"lastone").is_some());
    let replica: Vec<Vec<String>> = commands(&got)
        .into_iter()
        .filter(|c| c[0] != "ping")
        .collect();
    let v = |cmds: &[&[&str]]| -> Vec<Vec<String>> {
        cmds.iter()
            .map(|c| c.iter().map(|a| a.to_string()).collect())
            .collect()
    };
    assert_eq!(
        replica,
        v(&[
            &["multi"],
            &["select", "0"],
            &["set", "a", "1"],
            &["set", "e", "5"],
            &["set", "d", "4"],
            &["exec"],
            &["multi"],
            &["set", "h", "8"],
            &["publish", "ch", "m"],
            &["exec"],
            &["set", "lastone", "x"],
        ])
    );
    let dir: Vec<String> = q(&mut mc, &["CONFIG", "GET", "dir"]);
    let incr = std::path::Path::new(&dir[1]).join("appendonlydir/appendonly.aof.1.incr.aof");
    wait_until("the AOF written", 10, || {
        std::fs::read(&incr).is_ok_and(|b| find(&b, b"lastone").is_some())
    });
    let aof = commands(&std::fs::read(&incr).unwrap());
    assert_eq!(
        aof,
        v(&[
            &["multi"],
            &["select", "0"],
            &["set", "a", "1"],
            &["set", "c", "3"],
            &["set", "d", "4"],
            &["exec"],
            &["set", "f", "6"],
            &["multi"],
            &["set", "h", "8"],
            &["exec"],
            &["set", "lastone", "x"],
        ])
    );
    // Nothing went nowhere on the master itself.
    let vals: Vec<Option<String>> = q(&mut mc, &["MGET", "a", "b", "c", "d", "e", "f", "g"]);
    assert!(vals.iter().all(|v| v.is_some()), "{vals:?}");
}

/// A replica whose link is down, with replica-serve-stale-data no, answers
/// only STALE commands; scripts follow their flags (as Redis 7.2).
#[test]
fn a_stale_replica_serves_only_stale_commands_and_scripts() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "x", "v"]);
    common::config_set(&mut c, "replica-serve-stale-data", "no");
    // Nothing listens on port 1: the link stays down.
    let _: () = q(&mut c, &["REPLICAOF", "127.0.0.1", "1"]);
    let masterdown =
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
    assert_eq!(err(&mut c, &["GET", "x"]), masterdown);
    let role: Vec<redis::Value> = q(&mut c, &["ROLE"]);
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(
        err(&mut c, &["EVAL", "return redis.call('get','x')", "1", "x"]),
        masterdown
    );
    assert_eq!(
        err(&mut c, &["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]),
        masterdown
    );
    let stale_ok = "#!lua flags=allow-stale,no-writes\n";
    let one: i64 = q(&mut c, &["EVAL", &format!("{stale_ok}return 1"), "0"]);
    assert_eq!(one, 1);
    let e = err(
        &mut c,
        &[
            "EVAL",
            &format!("{stale_ok}return redis.call('get','x')"),
            "1",
            "x",
        ],
    );
    assert!(
        e.starts_with("ERR Can not execute the command on a stale replica"),
        "{e}"
    );
    let echo: String = q(
        &mut c,
        &[
            "EVAL",
            &format!("{stale_ok}return redis.call('echo','hi')"),
            "0",
        ],
    );
    assert_eq!(echo, "hi");
    let _: () = q(&mut c, &["REPLICAOF", "NO", "ONE"]);
    let x: String = q(&mut c, &["GET", "x"]);
    assert_eq!(x, "v");
}

/// The server's own deletions reach replicas as DEL, or as UNLINK under
/// their lazyfree-lazy-* parameter (Redis's propagateDeletion).
#[test]
fn server_deletions_are_unlink_when_lazy() {
    let m = TestServer::start();
    let mut mc = m.conn();
    let mut s = sync_replica(&m, &mut mc);
    let mut got = Vec::new();
    let dump: Vec<u8> = {
        let _: () = q(&mut mc, &["SET", "tmp", "v"]);
        q(&mut mc, &["DUMP", "tmp"])
    };
    let restore_expired = |c: &mut redis::Connection, key: &str| {
        let _: () = redis::cmd("RESTORE")
            .arg(key)
            .arg(1)
            .arg(&dump)
            .arg("REPLACE")
            .arg("ABSTTL")
            .query(c)
            .unwrap();
    };
    for lazy in ["no", "yes"] {
        for p in ["expire", "eviction", "server-del"] {
            common::config_set(&mut mc, &format!("lazyfree-lazy-{p}"), lazy);
        }
        let k = |name: &str| format!("{name}-{lazy}");
        // SPOP of the whole set, RESTORE of an expired value (server-del).
        let _: i64 = q(&mut mc, &["SADD", &k("set"), "a", "b"]);
        let _: Vec<String> = q(&mut mc, &["SPOP", &k("set"), "5"]);
        let _: () = q(&mut mc, &["SET", &k("r"), "x"]);
        restore_expired(&mut mc, &k("r"));
        // EXPIRE in the past, and a key found expired (expire).
        let _: () = q(&mut mc, &["SET", &k("e"), "x"]);
        let _: i64 = q(&mut mc, &["EXPIRE", &k("e"), "-1"]);
        let _: () = q(&mut mc, &["SET", &k("t"), "x", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(5));
        let _: Option<String> = q(&mut mc, &["GET", &k("t")]);
        // An eviction (eviction).
        let _: () = q(&mut mc, &["SET", &k("big"), &"v".repeat(1 << 20)]);
        common::config_set(&mut mc, "maxmemory-policy", "allkeys-random");
        let used = common::info_u64(&mut mc, "used_memory");
        common::config_set(&mut mc, "maxmemory", &(used - (512 << 10)).to_string());
        let _: Option<String> = q(&mut mc, &["GET", "nothing"]);
        common::config_set(&mut mc, "maxmemory", "0");
        let _: () = q(&mut mc, &["SET", &k("done"), "x"]);
        read_until(&mut s, &mut got, |g| {
            find(g, k("done").as_bytes()).is_some()
        });
    }
    let cmds = commands(&got);
    let dels = |lazy: &str| -> Vec<String> {
        let del = if lazy == "yes" { "unlink" } else { "del" };
        cmds.iter()
            .filter(|c| c[0] == del && c[1].ends_with(&format!("-{lazy}")))
            .map(|c| c[1].trim_end_matches(&format!("-{lazy}")).to_string())
            .collect()
    };
    for lazy in ["no", "yes"] {
        let got = dels(lazy);
        for want in ["set", "r", "e", "t"] {
            assert!(got.contains(&want.to_string()), "{lazy}: {got:?} {cmds:?}");
        }
        // Eviction took at least one of this round's keys, as DEL/UNLINK.
        assert!(got.len() > 4, "{lazy}: {got:?}");
    }
}

/// CLIENT PAUSE WRITE on a replica holds its master's writes: they are
/// read (slave_read_repl_offset) but applied (slave_repl_offset) only
/// after CLIENT UNPAUSE, as Redis postpones its master client.
#[test]
fn a_write_pause_on_a_replica_holds_the_masters_stream() {
    let m = TestServer::start();
    let r = TestServer::start();
    let mut mc = m.conn();
    let mut rc = r.conn();
    let port = m.addr.port().to_string();
    // No PING in the stream meanwhile (it is applied even while paused).
    common::config_set(&mut mc, "repl-ping-replica-period", "3600");
    let _: () = q(&mut rc, &["REPLICAOF", "127.0.0.1", &port]);
    wait_linked(&mut rc);
    let _: () = q(&mut mc, &["SET", "foo", "bar"]);
    // WAIT: the stream has the write and the replica applied it.
    let acked: i64 = q(&mut mc, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);
    let before = info_u64(&mut mc, "master_repl_offset");
    wait_until("the replica caught up", 10, || {
        info_u64(&mut rc, "slave_repl_offset") == before
    });
    let _: () = q(&mut rc, &["CLIENT", "PAUSE", "100000", "WRITE"]);
    let _: () = q(&mut mc, &["SET", "foo2", "bar2"]);
    let mut after = before;
    wait_until("the write in the stream", 10, || {
        after = info_u64(&mut mc, "master_repl_offset");
        after > before
    });
    wait_until("the replica read it", 10, || {
        info_u64(&mut rc, "slave_read_repl_offset") == after
    });
    assert_eq!(info_u64(&mut rc, "slave_repl_offset"), before);
    let got: Option<String> = q(&mut rc, &["GET", "foo2"]);
    assert_eq!(got, None);
    let _: () = q(&mut rc, &["CLIENT", "UNPAUSE"]);
    wait_until("the replica applied it", 10, || {
        info_u64(&mut rc, "slave_repl_offset") == after
    });
    let got: Option<String> = q(&mut rc, &["GET", "foo2"]);
    assert_eq!(got.as_deref(), Some("bar2"));
}

/// WAITAOF: this server's AOF fsync, and replicas' (REPLCONF ACK … FACK),
/// as Redis 7.2 counts them.
#[test]
fn waitaof_counts_local_and_replica_fsyncs() {
    let m = TestServer::with_config(|c| {
        c.appendonly = true;
        c.appendfsync = "always".into();
    });
    let mut mc = m.conn();
    let _: () = q(&mut mc, &["SET", "a", "1"]);
    let got: Vec<i64> = q(&mut mc, &["WAITAOF", "1", "0", "0"]);
    assert_eq!(got, [1, 0]);
    let got: Vec<i64> = q(&mut mc, &["WAITAOF", "0", "0", "0"]);
    assert_eq!(got, [1, 0]);
    // Argument errors, as Redis words them.
    for (args, e) in [
        (
            ["2", "0", "0"],
            "ERR value is out of range, value must between 0 and 1",
        ),
        (
            ["x", "0", "0"],
            "ERR value is not an integer or out of range",
        ),
        (
            ["0", "-1", "0"],
            "ERR value is out of range, must be positive",
        ),
        (["0", "0", "-1"], "ERR timeout is negative"),
    ] {
        let mut cmd = vec!["WAITAOF"];
        cmd.extend(args);
        assert_eq!(err(&mut mc, &cmd), e);
    }
    // A replica with its own AOF counts once it has fsynced the writes;
    // one without does not.
    let r = TestServer::with_config(|c| {
        c.appendonly = true;
        c.appendfsync = "always".into();
    });
    let plain = TestServer::start();
    let mut rc = r.conn();
    let mut pc = plain.conn();
    let port = m.addr.port().to_string();
    for c in [&mut rc, &mut pc] {
        let _: () = q(c, &["REPLICAOF", "127.0.0.1", &port]);
        wait_linked(c);
    }
    let _: () = q(&mut mc, &["SET", "b", "2"]);
    let got: Vec<i64> = q(&mut mc, &["WAITAOF", "1", "1", "5000"]);
    assert_eq!(got, [1, 1]);
    let got: Vec<i64> = q(&mut mc, &["WAITAOF", "0", "2", "300"]);
    assert_eq!(got, [1, 1]);
    let e = err(&mut rc, &["WAITAOF", "0", "0", "0"]);
    assert!(
        e.starts_with("ERR WAITAOF cannot be used with replica instances"),
        "{e}"
    );
    // Under appendfsync no nothing is fsynced: the local copy never counts.
    common::config_set(&mut mc, "appendfsync", "no");
    let _: () = q(&mut mc, &["SET", "c", "3"]);
    let got: Vec<i64> = q(&mut mc, &["WAITAOF", "1", "0", "100"]);
    assert_eq!(got[0], 0);
    // Inside MULTI it answers at once.
    let got: Vec<Vec<i64>> = redis::pipe()
        .atomic()
        .cmd("WAITAOF")
        .arg(1)
        .arg(0)
        .arg(0)
        .query(&mut mc)
        .unwrap();
    assert_eq!(got[0][0], 0);
    // Without an AOF, a local copy cannot be asked for.
    let _: () = q(&mut pc, &["REPLICAOF", "NO", "ONE"]);
    let e = err(&mut pc, &["WAITAOF", "1", "0", "0"]);
    assert_eq!(
        e,
        "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."
    );
}
