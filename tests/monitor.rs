//! MONITOR: exact lines (timestamp and client address normalised), escaping,
//! redaction, MULTI/EXEC and scripts, what a monitor may still run, and the
//! output buffer bound of a monitor that never reads.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Raw, TestServer};

/// A monitoring connection, read line by line.
struct Mon {
    r: BufReader<TcpStream>,
}

impl Mon {
    fn start(s: &TestServer) -> Mon {
        let mut raw = s.raw();
        raw.roundtrip(b"MONITOR\r\n", b"+OK\r\n");
        Mon {
            r: BufReader::new(raw.0),
        }
    }

    /// The next line, with `+<secs>.<usec> [<db> <addr>]` normalised to
    /// `[<db> A]` (or `[<db> lua]`); checks the timestamp's shape.
    fn next(&mut self) -> String {
        self.r
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut l = String::new();
        self.r.read_line(&mut l).expect("a monitor line");
        assert!(l.ends_with("\r\n"), "{l:?}");
        let l = l.trim_end_matches("\r\n");
        let rest = l.strip_prefix('+').unwrap_or_else(|| panic!("{l:?}"));
        let (ts, rest) = rest.split_once(' ').unwrap();
        let (secs, usec) = ts.split_once('.').unwrap();
        assert!(
            secs.len() >= 10 && secs.bytes().all(|b| b.is_ascii_digit()),
            "{l:?}"
        );
        assert!(
            usec.len() == 6 && usec.bytes().all(|b| b.is_ascii_digit()),
            "{l:?}"
        );
        let rest = rest.strip_prefix('[').unwrap();
        let (who, rest) = rest.split_once(']').unwrap();
        let (db, addr) = who.split_once(' ').unwrap();
        let addr = if addr == "lua" {
            "lua"
        } else {
            assert!(addr.starts_with("127.0.0.1:"), "{l:?}");
            "A"
        };
        format!("[{db} {addr}]{rest}")
    }

    /// Nothing more arrives within `ms`.
    fn quiet(&mut self, ms: u64) {
        self.r
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(ms)))
            .unwrap();
        let mut l = String::new();
        match self.r.read_line(&mut l) {
            Ok(0) | Err(_) => {}
            Ok(_) => panic!("unexpected monitor line {l:?}"),
        }
    }
}

fn run(c: &mut Raw, req: &[u8], reply: &[u8]) {
    c.roundtrip(req, reply);
}

#[test]
fn commands_are_streamed_with_escaping() {
    let s = TestServer::start();
    let mut m = Mon::start(&s);
    let mut c = s.raw();
    run(&mut c, b"SET k v\r\n", b"+OK\r\n");
    assert_eq!(m.next(), r#"[0 A] "SET" "k" "v""#);
    let val = b"a\"b\\c\nd\re\tf\x07g\x08h\x01\xff\x7f ~";
    let mut req = format!("*3\r\n$3\r\nset\r\n$2\r\nk2\r\n${}\r\n", val.len()).into_bytes();
    req.extend_from_slice(val);
    req.extend_from_slice(b"\r\n");
    run(&mut c, &req, b"+OK\r\n");
    assert_eq!(
        m.next(),
        r#"[0 A] "set" "k2" "a\"b\\c\nd\re\tf\ag\bh\x01\xff\x7f ~""#
    );
    run(&mut c, b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n", b"$-1\r\n");
    assert_eq!(m.next(), r#"[0 A] "GET" """#);
    // The db is the one after the command ran.
    run(&mut c, b"SELECT 3\r\n", b"+OK\r\n");
    assert_eq!(m.next(), r#"[3 A] "SELECT" "3""#);
    run(&mut c, b"LPUSH k x\r\n", b":1\r\n");
    assert_eq!(m.next(), r#"[3 A] "LPUSH" "k" "x""#);
    // A command that fails while running is shown; one refused before it
    // runs (unknown, wrong arity) is not.
    run(
        &mut c,
        b"GET k\r\n",
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    assert_eq!(m.next(), r#"[3 A] "GET" "k""#);
    run(
        &mut c,
        b"NOSUCH x\r\n",
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
    );
    run(
        &mut c,
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    // Admin commands are never shown.
    c.send(b"CONFIG GET maxmemory\r\n");
    c.read_n(4096, Duration::from_millis(300));
    c.send(b"CLIENT LIST\r\n");
    c.read_n(4096, Duration::from_millis(300));
    run(&mut c, b"PING\r\n", b"+PONG\r\n");
    assert_eq!(m.next(), r#"[3 A] "PING""#);
    m.quiet(200);
}

#[test]
fn auth_and_hello_are_redacted() {
    let s = TestServer::start();
    let mut m = Mon::start(&s);
    let mut c = s.raw();
    c.send(b"AUTH secret\r\n");
    c.read_n(1, Duration::from_secs(2));
    assert_eq!(m.next(), r#"[0 A] "AUTH" "(redacted)""#);
    c.send(b"AUTH user secret\r\n");
    c.read_n(1, Duration::from_secs(2));
    assert_eq!(m.next(), r#"[0 A] "AUTH" "(redacted)" "(redacted)""#);
    c.send(b"HELLO 2 AUTH default pw SETNAME n\r\n");
    c.read_n(1, Duration::from_secs(2));
    assert_eq!(
        m.next(),
        r#"[0 A] "HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "n""#
    );
    m.quiet(200);
}

#[test]
fn transactions_and_scripts() {
    let s = TestServer::start();
    let mut m = Mon::start(&s);
    let mut c = s.raw();
    c.send(b"MULTI\r\nSET a 1\r\nGET a\r\nEXEC\r\n");
    c.expect(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n1\r\n");
    // Queued commands show when EXEC runs them, EXEC after them.
    assert_eq!(m.next(), r#"[0 A] "MULTI""#);
    assert_eq!(m.next(), r#"[0 A] "SET" "a" "1""#);
    assert_eq!(m.next(), r#"[0 A] "GET" "a""#);
    assert_eq!(m.next(), r#"[0 A] "EXEC""#);
    // An aborted transaction: MULTI, then EXEC.
    c.send(b"MULTI\r\nNOSUCH\r\nEXEC\r\n");
    c.read_n(5, Duration::from_secs(2));
    c.read_n(200, Duration::from_millis(300));
    assert_eq!(m.next(), r#"[0 A] "MULTI""#);
    assert_eq!(m.next(), r#"[0 A] "EXEC""#);
    c.send(b"MULTI\r\nGET a\r\nDISCARD\r\n");
    c.expect(b"+OK\r\n+QUEUED\r\n+OK\r\n");
    assert_eq!(m.next(), r#"[0 A] "MULTI""#);
    assert_eq!(m.next(), r#"[0 A] "DISCARD""#);
    // A script: EVAL first, then what it runs, as `lua`.
    let script = "redis.call('set','x','1'); return redis.call('get','x')";
    let req = format!(
        "*3\r\n$4\r\neval\r\n${}\r\n{script}\r\n$1\r\n0\r\n",
        script.len()
    );
    run(&mut c, req.as_bytes(), b"$1\r\n1\r\n");
    assert_eq!(m.next(), format!(r#"[0 A] "eval" "{script}" "0""#));
    assert_eq!(m.next(), r#"[0 lua] "set" "x" "1""#);
    assert_eq!(m.next(), r#"[0 lua] "get" "x""#);
    m.quiet(200);
}

#[test]
fn a_monitor_only_runs_commands_off_the_keyspace() {
    let s = TestServer::start();
    let mut c = s.raw();
    run(&mut c, b"MONITOR\r\n", b"+OK\r\n");
    run(
        &mut c,
        b"GET a\r\n",
        b"-ERR Replica can't interact with the keyspace\r\n",
    );
    run(
        &mut c,
        b"SET a 1\r\n",
        b"-ERR Replica can't interact with the keyspace\r\n",
    );
    // PING is allowed, and a monitor sees its own commands.
    c.send(b"PING\r\n");
    let got = c.read_n(7, Duration::from_secs(2));
    assert_eq!(got, b"+PONG\r\n");
    let line = c.read_n(200, Duration::from_millis(300));
    let line = String::from_utf8_lossy(&line);
    assert!(
        line.starts_with('+') && line.ends_with("] \"PING\"\r\n"),
        "{line:?}"
    );
    // MONITOR again is ignored (no reply).
    c.send(b"MONITOR\r\n");
    assert!(c.read_n(1, Duration::from_millis(300)).is_empty());
    // RESET leaves monitor mode.
    run(&mut c, b"RESET\r\n", b"+RESET\r\n");
    run(&mut c, b"GET a\r\n", b"$-1\r\n");
    let mut other = s.raw();
    run(&mut other, b"SET b 2\r\n", b"+OK\r\n");
    assert!(c.read_n(1, Duration::from_millis(300)).is_empty());
    // QUIT answers +OK and closes.
    run(&mut c, b"MONITOR\r\n", b"+OK\r\n");
    run(&mut c, b"QUIT\r\n", b"+OK\r\n");
    assert!(c.is_closed());
    // A closed monitor is forgotten: commands run fine without it.
    run(&mut other, b"SET b 3\r\n", b"+OK\r\n");
}

#[test]
fn monitor_inside_multi_is_refused() {
    let s = TestServer::start();
    let mut c = s.raw();
    c.send(b"MULTI\r\nMONITOR\r\nEXEC\r\n");
    let got = c.read_n(200, Duration::from_millis(500));
    let got = String::from_utf8_lossy(&got);
    assert_eq!(
        got,
        "+OK\r\n+QUEUED\r\n*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    );
}

#[test]
fn a_monitor_that_never_reads_is_disconnected() {
    let s = TestServer::with_config(|c| c.client_output_buffer_limit[0] = (1 << 20, 0, 0));
    let mut mon = s.raw();
    mon.roundtrip(b"MONITOR\r\n", b"+OK\r\n");
    let mut c = s.raw();
    let value = "v".repeat(10_000);
    let req = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000\r\n{value}\r\n");
    let batch = req.repeat(100);
    let mut info = s.conn();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut killed = false;
    while Instant::now() < deadline {
        c.send(batch.as_bytes());
        c.read_n(500, Duration::from_secs(5));
        let list: String = common::q(&mut info, &["CLIENT", "LIST"]);
        if !list.contains("cmd=monitor") {
            killed = true;
            break;
        }
    }
    assert!(killed, "the monitor was never closed");
    let mut b = [0u8; 1 << 16];
    mon.0.set_read_timeout(Some(Duration::from_secs(5))).ok();
    // Whatever was in flight, then EOF.
    loop {
        match mon.0.read(&mut b) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) => panic!("monitor not closed: {e}"),
        }
    }
    let _ = mon.0.write_all(b"PING\r\n");
}

/// CLIENT LIST shows a monitor with flag `O`, and RESET clears it.
#[test]
fn client_list_flags_monitors() {
    let s = TestServer::start();
    let mut m = s.raw();
    m.roundtrip(b"MONITOR\r\n", b"+OK\r\n");
    let mut c = s.conn();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    assert!(list.lines().any(|l| l.contains("flags=O ")), "{list}");
    m.send(b"RESET\r\n");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    assert!(!list.lines().any(|l| l.contains("flags=O ")), "{list}");
}
