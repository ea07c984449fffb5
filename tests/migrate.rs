//! MIGRATE between two Ember servers and from Ember to a real redis-server:
//! keys, TTLs, COPY, REPLACE, KEYS, AUTH/AUTH2, the target's errors, the
//! connection cache, the replication stream and COMMAND GETKEYS.

mod common;
use common::{have_tool, info_u64, q, TestServer};
use redis::Value;

type Conn = redis::Connection;

/// MIGRATE to 127.0.0.1:`port`; an error as "CODE detail".
fn migrate(c: &mut Conn, port: u16, key: &str, db: &str, extra: &[&str]) -> Result<String, String> {
    let mut cmd = redis::cmd("MIGRATE");
    cmd.arg("127.0.0.1").arg(port).arg(key).arg(db).arg(5000);
    for a in extra {
        cmd.arg(*a);
    }
    cmd.query(c)
        .map_err(|e| format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")))
}

/// Moves to an Ember or a Redis target on `port` (`t` connected to it).
fn moves_keys(c: &mut Conn, t: &mut Conn, port: u16) {
    let _: () = q(c, &["SET", "k", "v", "PX", "100000"]);
    let _: i64 = q(c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(migrate(c, port, "k", "3", &[]).unwrap(), "OK");
    assert_eq!(q::<i64>(c, &["EXISTS", "k"]), 0);
    let _: () = q(t, &["SELECT", "3"]);
    assert_eq!(q::<String>(t, &["GET", "k"]), "v");
    let ttl: i64 = q(t, &["PTTL", "k"]);
    assert!((90_000..=100_000).contains(&ttl), "{ttl}");
    // COPY leaves it here; a second copy needs REPLACE.
    assert_eq!(migrate(c, port, "l", "3", &["COPY"]).unwrap(), "OK");
    assert_eq!(q::<i64>(c, &["LLEN", "l"]), 3);
    let e = migrate(c, port, "l", "3", &["COPY"]).unwrap_err();
    assert_eq!(
        e,
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    let _: i64 = q(c, &["RPUSH", "l", "d"]);
    assert_eq!(
        migrate(c, port, "l", "3", &["COPY", "REPLACE"]).unwrap(),
        "OK"
    );
    assert_eq!(
        q::<Vec<String>>(t, &["LRANGE", "l", "0", "-1"]),
        ["a", "b", "c", "d"]
    );
    // KEYS: the ones present go, the others are ignored; none: NOKEY.
    let _: () = q(c, &["MSET", "x1", "1", "x2", "2"]);
    let got = migrate(c, port, "", "3", &["KEYS", "x1", "nokey", "x2"]).unwrap();
    assert_eq!(got, "OK");
    assert_eq!(q::<Vec<String>>(t, &["MGET", "x1", "x2"]), ["1", "2"]);
    assert_eq!(q::<i64>(c, &["EXISTS", "x1", "x2"]), 0);
    let got = migrate(c, port, "", "3", &["KEYS", "nokey1", "nokey2"]).unwrap();
    assert_eq!(got, "NOKEY");
    assert_eq!(migrate(c, port, "nokey", "3", &[]).unwrap(), "NOKEY");
}

#[test]
fn migrate_between_ember_servers() {
    let a = TestServer::start();
    let b = TestServer::start();
    let (mut c, mut t) = (a.conn(), b.conn());
    let port = b.addr.port();
    moves_keys(&mut c, &mut t, port);
    assert_eq!(info_u64(&mut c, "migrate_cached_sockets"), 1);
    // Option errors.
    let e = migrate(&mut c, port, "k", "0", &["KEYS", "a"]).unwrap_err();
    assert_eq!(
        e,
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
    );
    assert_eq!(
        migrate(&mut c, port, "k", "0", &["BOGUS"]).unwrap_err(),
        "ERR syntax error"
    );
    assert_eq!(
        migrate(&mut c, port, "k", "x", &[]).unwrap_err(),
        "ERR value is not an integer or out of range"
    );
    // Nothing listens: the connection error, and the key stays.
    let _: () = q(&mut c, &["SET", "stay", "1"]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let e = migrate(&mut c, dead, "stay", "0", &[]).unwrap_err();
    assert_eq!(e, "IOERR error or timeout connecting to the client");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "stay"]), 1);
    // The target closed the cached connection: reopened once, silently.
    let _: () = q(
        &mut t,
        &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"],
    );
    assert_eq!(migrate(&mut c, port, "stay", "0", &[]).unwrap(), "OK");
    // AUTH and AUTH2 against a target with a password.
    common::config_set(&mut t, "requirepass", "pw");
    // (Connections opened before keep their login, as in Redis.)
    let _: () = q(
        &mut t,
        &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"],
    );
    let _: () = q(&mut c, &["SET", "secret", "s"]);
    let e = migrate(&mut c, port, "secret", "0", &["AUTH", "bad"]).unwrap_err();
    assert!(
        e.starts_with("ERR Target instance replied with error: WRONGPASS"),
        "{e}"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "secret"]), 1);
    assert_eq!(
        migrate(&mut c, port, "secret", "0", &["AUTH", "pw"]).unwrap(),
        "OK"
    );
    let _: () = q(&mut c, &["SET", "secret2", "s"]);
    let got = migrate(&mut c, port, "secret2", "0", &["AUTH2", "default", "pw"]).unwrap();
    assert_eq!(got, "OK");
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5", "AUTH2", "keys", "p", "KEYS",
            "a", "b",
        ],
    );
    assert_eq!(keys, ["a", "b"]);
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5", "COPY",
        ],
    );
    assert_eq!(keys, ["k"]);
}

/// The keys moved reach this server's replicas as one DEL of them; a COPY
/// logs nothing. The password is redacted in the slow log.
#[test]
fn migrate_is_replicated_as_del() {
    let a = TestServer::start();
    let b = TestServer::start();
    let mut c = a.conn();
    let port = b.addr.port();
    let mut s = std::net::TcpStream::connect(a.addr).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"SYNC\r\n").unwrap();
    common::wait_until("the replica online", 10, || {
        let info: String = q(&mut c, &["INFO", "replication"]);
        info.contains("state=online")
    });
    let _: () = q(&mut c, &["MSET", "m1", "1", "m2", "2", "m3", "3"]);
    assert_eq!(migrate(&mut c, port, "m3", "0", &["COPY"]).unwrap(), "OK");
    common::config_set(&mut c, "slowlog-log-slower-than", "0");
    common::config_set(&mut b.conn(), "requirepass", "secret");
    let got = migrate(
        &mut c,
        port,
        "",
        "0",
        &["AUTH2", "default", "secret", "KEYS", "m1", "m2"],
    );
    assert_eq!(got.unwrap(), "OK");
    let _: () = q(&mut c, &["SET", "last", "x"]);
    let slow: Value = q(&mut c, &["SLOWLOG", "GET", "10"]);
    let text = format!("{slow:?}");
    assert!(
        !text.contains("secret") && text.contains("(redacted)"),
        "{text}"
    );
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    s.set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    while !got.windows(4).any(|w| w == b"last") {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        let mut buf = [0u8; 65536];
        if let Ok(n) = s.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    // What follows the snapshot.
    let at = got
        .windows(4)
        .position(|w| w == b"MSET" || w == b"mset")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&got[at..]);
    assert!(
        text.contains("*3\r\n$3\r\nDEL\r\n$2\r\nm1\r\n$2\r\nm2\r\n"),
        "{text}"
    );
    // m3 only in the MSET: its COPY logged nothing.
    assert_eq!(text.matches("m3\r\n").count(), 1, "{text}");
    assert!(!text.contains("MIGRATE"), "{text}");
}

#[test]
fn migrate_to_a_real_redis() {
    if !have_tool("redis-server") {
        return;
    }
    let a = TestServer::start();
    let r = common::RealRedis::start(&[]);
    let mut t = redis::Client::open(format!("redis://127.0.0.1:{}/", r.port))
        .and_then(|c| c.get_connection())
        .expect("connect to redis-server");
    moves_keys(&mut a.conn(), &mut t, r.port);
}
