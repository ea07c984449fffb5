//! CLIENT TRACKING (server-assisted client-side caching): invalidation push
//! frames byte for byte over raw sockets, and a side-by-side run against a
//! real redis-server (with CI=true).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::TestServer;

struct Raw(TcpStream);

impl Raw {
    fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(150))).ok();
        Raw(s)
    }

    /// Send a command (if any) and read everything that arrives.
    fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        if !args.is_empty() {
            let mut b = format!("*{}\r\n", args.len()).into_bytes();
            for a in args {
                b.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
            }
            self.0.write_all(&b).expect("write");
        }
        std::thread::sleep(Duration::from_millis(60));
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match self.0.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }

    /// Send several commands in one write (one batch on the server).
    fn pipe(&mut self, cmds: &[&[&str]]) -> Vec<u8> {
        let mut b = Vec::new();
        for args in cmds {
            b.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for a in args.iter() {
                b.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
            }
        }
        self.0.write_all(&b).expect("write");
        self.cmd(&[])
    }

    fn id(&mut self) -> String {
        let r = self.cmd(&["CLIENT", "ID"]);
        String::from_utf8_lossy(&r[1..r.len() - 2]).into_owned()
    }
}

const INV: &str = ">2\r\n$10\r\ninvalidate\r\n";

fn inv(key: &str) -> String {
    format!("{INV}*1\r\n${}\r\n{key}\r\n", key.len())
}

fn s(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// A fixed sequence on three connections; each step's name and what came
/// back (redirect ids replaced by RID).
fn script(port: u16) -> Vec<(String, String)> {
    let mut a = Raw::connect(port);
    let mut b = Raw::connect(port);
    let mut r = Raw::connect(port);
    a.cmd(&["HELLO", "3"]);
    let rid = r.id();
    let rid_s = rid.as_str();
    let mut log = Vec::new();
    macro_rules! step {
        ($c:ident, $($arg:expr),*) => {{
            let named: Vec<&str> = vec![$($arg),*];
            let args: Vec<&str> = named.iter().map(|a| if *a == "RID" { rid_s } else { a }).collect();
            let out = s($c.cmd(&args)).replace(&format!(":{rid}\r\n"), ":RID\r\n");
            log.push((format!("{} {}", stringify!($c), named.join(" ")), out));
        }};
    }
    step!(a, "FLUSHALL");
    step!(a, "CLIENT", "TRACKING", "on");
    step!(a, "GET", "k1");
    step!(a, "MGET", "k2", "k3");
    step!(b, "SET", "k1", "v");
    step!(a, "PING");
    step!(b, "MSET", "k2", "x", "k3", "y");
    step!(a, "PING");
    step!(a, "SET", "k4", "1");
    step!(a, "GET", "k4");
    step!(a, "SET", "k4", "2");
    step!(a, "CLIENT", "TRACKINGINFO");
    step!(a, "CLIENT", "GETREDIR");
    step!(a, "CLIENT", "TRACKING", "on", "BCAST");
    step!(a, "CLIENT", "TRACKING", "off");
    step!(a, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab");
    step!(a, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:", "NOLOOP");
    step!(a, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:x");
    step!(a, "CLIENT", "TRACKINGINFO");
    step!(b, "SET", "user:1", "x");
    step!(a, "SET", "user:2", "x");
    step!(b, "SET", "other", "x");
    step!(a, "PING");
    step!(a, "CLIENT", "TRACKING", "off");
    step!(a, "CLIENT", "TRACKING", "on", "OPTIN");
    step!(a, "GET", "o1");
    step!(a, "CLIENT", "CACHING", "yes");
    step!(a, "GET", "o2");
    step!(a, "CLIENT", "TRACKINGINFO");
    step!(b, "MSET", "o1", "1", "o2", "2");
    step!(a, "PING");
    step!(a, "CLIENT", "CACHING", "no");
    step!(a, "CLIENT", "TRACKING", "on", "OPTOUT");
    step!(a, "CLIENT", "TRACKING", "off");
    step!(a, "CLIENT", "TRACKING", "on", "OPTOUT");
    step!(a, "CLIENT", "CACHING", "no");
    step!(a, "GET", "p1");
    step!(a, "GET", "p2");
    step!(b, "MSET", "p1", "1", "p2", "2");
    step!(a, "PING");
    step!(a, "GET", "p3");
    step!(b, "FLUSHALL");
    step!(a, "PING");
    step!(a, "CLIENT", "TRACKING", "off");
    step!(r, "SUBSCRIBE", "__redis__:invalidate");
    step!(b, "CLIENT", "TRACKING", "on", "REDIRECT", "RID");
    step!(b, "CLIENT", "GETREDIR");
    step!(b, "GET", "q1");
    step!(a, "SET", "q1", "z");
    step!(r,);
    step!(b, "FLUSHDB");
    step!(r,);
    step!(b, "CLIENT", "TRACKING", "on", "REDIRECT", "999999");
    step!(b, "CLIENT", "TRACKING", "on", "REDIRECT", "abc");
    step!(b, "CLIENT", "CACHING", "maybe");
    step!(b, "CLIENT", "TRACKING", "maybe");
    step!(a, "CLIENT", "TRACKING", "on", "REDIRECT", "RID");
    step!(a, "GET", "q2");
    drop(r);
    std::thread::sleep(Duration::from_millis(200));
    step!(b, "SET", "q2", "1");
    step!(a, "PING");
    step!(a, "CLIENT", "TRACKINGINFO");
    step!(a, "CLIENT", "TRACKING", "on", "BCAST", "OPTIN");
    step!(a, "CLIENT", "TRACKING", "on", "PREFIX", "x");
    step!(a, "CLIENT", "TRACKING", "off");
    step!(a, "CLIENT", "TRACKINGINFO");
    step!(a, "CLIENT", "GETREDIR");
    log
}

/// BCAST batching and scripts, on two connections; each step's name and
/// what came back. Active expiry is off so that expiries happen on access,
/// at a known step. Scripts read only their declared keys here, where Redis
/// 7.0 (the side-by-side server) and 7.2 agree.
fn script2(port: u16) -> Vec<(String, String)> {
    let mut a = Raw::connect(port);
    let mut b = Raw::connect(port);
    a.cmd(&["HELLO", "3"]);
    let mut log = Vec::new();
    macro_rules! step {
        ($c:ident, $($arg:expr),*) => {{
            let args: Vec<&str> = vec![$($arg),*];
            let out = s($c.cmd(&args));
            log.push((format!("{} {}", stringify!($c), args.join(" ")), out));
        }};
    }
    macro_rules! pipe {
        ($c:ident, $($cmd:expr),*) => {{
            let cmds: Vec<&[&str]> = vec![$(&$cmd as &[&str]),*];
            let name: Vec<String> = cmds.iter().map(|c| c.join(" ")).collect();
            let out = s($c.pipe(&cmds));
            log.push((format!("{} {}", stringify!($c), name.join("; ")), out));
        }};
    }
    step!(a, "FLUSHALL");
    step!(a, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    // BCAST: one push per prefix (in prefix order), keys sorted, each once.
    step!(a, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "c:", "PREFIX", "b:", "NOLOOP");
    step!(b, "MSET", "c:1", "1", "b:2", "1", "b:1", "1", "other", "1");
    step!(a, "PING");
    pipe!(
        b,
        ["SET", "b:x", "1"],
        ["SET", "b:y", "1"],
        ["SET", "b:x", "2"]
    );
    step!(a, "PING");
    // NOLOOP: keys it modified last itself are left out; a script's writes
    // are the script client's, so they are sent.
    step!(a, "SET", "b:own", "1");
    step!(a, "PING");
    step!(
        a,
        "EVAL",
        "redis.call('SET', KEYS[1], '1') return 1",
        "1",
        "b:lua"
    );
    step!(a, "PING");
    pipe!(a, ["SET", "b:m1", "1"], ["SET", "b:m2", "1"]);
    step!(b, "SET", "b:m2", "2");
    step!(a, "PING");
    // An expiry is the server's: sent even to NOLOOP, after the reply.
    step!(a, "SET", "b:e", "1", "PX", "1");
    std::thread::sleep(Duration::from_millis(20));
    step!(a, "GET", "b:e");
    step!(a, "CLIENT", "TRACKING", "off");
    // Without NOLOOP: its own pipeline's keys in one push after the replies.
    step!(a, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b:");
    pipe!(a, ["SET", "b:1", "1"], ["SET", "b:2", "2"], ["DEL", "b:1"]);
    pipe!(
        b,
        ["MULTI"],
        ["SET", "b:t1", "1"],
        ["INCR", "b:t2"],
        ["EXEC"]
    );
    step!(a, "PING");
    step!(b, "SET", "b:f", "1", "PX", "1");
    std::thread::sleep(Duration::from_millis(20));
    step!(b, "GET", "b:f");
    step!(a, "PING");
    step!(a, "CLIENT", "TRACKING", "off");
    // Default mode: keys read by a script's commands are the caller's.
    step!(a, "CLIENT", "TRACKING", "on");
    step!(a, "EVAL", "return redis.call('GET', KEYS[1])", "1", "s1");
    step!(a, "EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "s2");
    step!(a, "EVAL_RO", "return 1", "1", "s3");
    step!(a, "FCALL_RO", "nosuch", "1", "s4");
    step!(b, "MSET", "s1", "1", "s2", "1", "s3", "1", "s4", "1");
    step!(a, "PING");
    // A script's write invalidates.
    step!(a, "GET", "s1");
    step!(
        b,
        "EVAL",
        "redis.call('SET', KEYS[1], '2') return 1",
        "1",
        "s1"
    );
    step!(a, "PING");
    // NOLOOP: its own script's write is its own.
    step!(a, "CLIENT", "TRACKING", "on", "NOLOOP");
    step!(a, "GET", "s1");
    step!(
        a,
        "EVAL",
        "redis.call('SET', KEYS[1], '3') return 1",
        "1",
        "s1"
    );
    step!(a, "PING");
    step!(a, "CLIENT", "TRACKING", "off");
    // OPTIN: CLIENT CACHING yes covers every read of the next script.
    step!(a, "CLIENT", "TRACKING", "on", "OPTIN");
    step!(a, "EVAL", "return redis.call('GET', KEYS[1])", "1", "o1");
    step!(a, "CLIENT", "CACHING", "yes");
    step!(
        a,
        "EVAL",
        "redis.call('GET', KEYS[1]) return redis.call('GET', KEYS[2])",
        "2",
        "o2",
        "o3"
    );
    step!(a, "GET", "o4");
    step!(b, "MSET", "o1", "1", "o2", "1", "o3", "1", "o4", "1");
    step!(a, "PING");
    step!(a, "CLIENT", "TRACKING", "off");
    step!(a, "DEBUG", "SET-ACTIVE-EXPIRE", "1");
    log
}

fn invs(keys: &[&str]) -> String {
    let mut out = format!("{INV}*{}\r\n", keys.len());
    for k in keys {
        out.push_str(&format!("${}\r\n{k}\r\n", k.len()));
    }
    out
}

#[test]
fn bcast_batches_and_scripts() {
    let srv = TestServer::start();
    let log = script2(srv.addr.port());
    let ping = |n| get(&log, "a PING", n);
    assert_eq!(
        ping(0),
        format!("{}{}+PONG\r\n", invs(&["b:1", "b:2"]), invs(&["c:1"]))
    );
    assert_eq!(ping(1), format!("{}+PONG\r\n", invs(&["b:x", "b:y"])));
    assert_eq!(ping(2), "+PONG\r\n");
    assert_eq!(
        get(
            &log,
            "a EVAL redis.call('SET', KEYS[1], '1') return 1 1 b:lua",
            0
        ),
        format!(":1\r\n{}", invs(&["b:lua"]))
    );
    assert_eq!(ping(3), "+PONG\r\n");
    assert_eq!(ping(4), format!("{}+PONG\r\n", invs(&["b:m2"])));
    assert_eq!(
        get(&log, "a GET b:e", 0),
        format!("_\r\n{}", invs(&["b:e"]))
    );
    assert_eq!(
        get(&log, "a SET b:1 1; SET b:2 2; DEL b:1", 0),
        format!("+OK\r\n+OK\r\n:1\r\n{}", invs(&["b:1", "b:2"]))
    );
    assert_eq!(ping(5), format!("{}+PONG\r\n", invs(&["b:t1", "b:t2"])));
    // The SET's push, then the expiry's.
    assert_eq!(
        ping(6),
        format!("{}{}+PONG\r\n", invs(&["b:f"]), invs(&["b:f"]))
    );
    // Scripts: s1 (EVAL's GET) and s2 (EVAL_RO's GET); not s3 (EVAL_RO's
    // declared key, never read) nor s4 (a failed FCALL_RO).
    assert_eq!(ping(7), format!("{}{}+PONG\r\n", inv("s1"), inv("s2")));
    assert_eq!(ping(8), format!("{}+PONG\r\n", inv("s1")));
    assert_eq!(ping(9), "+PONG\r\n");
    assert_eq!(ping(10), format!("{}{}+PONG\r\n", inv("o2"), inv("o3")));
}

/// Redis 7.2 remembers the keys a script's commands read, not the keys the
/// script declared (7.0 did the latter, so this is not side by side).
#[test]
fn script_reads_undeclared_keys_are_tracked() {
    let srv = TestServer::start();
    let mut a = Raw::connect(srv.addr.port());
    let mut b = Raw::connect(srv.addr.port());
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "on"]);
    assert_eq!(
        s(a.cmd(&[
            "EVAL",
            "return redis.call('GET', ARGV[1])",
            "1",
            "declared",
            "read"
        ])),
        "_\r\n"
    );
    assert_eq!(
        s(a.cmd(&["FUNCTION", "LOAD", "#!lua name=t\nredis.register_function{function_name='rd', callback=function(k, a) return redis.call('GET', k[1]) end, flags={'no-writes'}}"])),
        "$1\r\nt\r\n"
    );
    assert_eq!(s(a.cmd(&["FCALL_RO", "rd", "1", "f1"])), "_\r\n");
    b.cmd(&["MSET", "declared", "1", "read", "1", "f1", "1"]);
    assert_eq!(
        s(a.cmd(&["PING"])),
        format!("{}{}+PONG\r\n", inv("read"), inv("f1"))
    );
    // A RESP2 caller tracking with REDIRECT: the script's reads reach the
    // redirect connection.
    let mut r = Raw::connect(srv.addr.port());
    let rid = r.id();
    r.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    let mut c = Raw::connect(srv.addr.port());
    c.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &rid]);
    c.cmd(&[
        "EVAL",
        "return redis.call('MGET', KEYS[1], KEYS[2])",
        "2",
        "r1",
        "r2",
    ]);
    b.cmd(&["DEL", "r1", "r2"]);
    b.cmd(&["SET", "r2", "x"]);
    assert_eq!(
        s(r.cmd(&[])),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nr2\r\n"
    );
}

#[test]
fn bcast_and_scripts_match_real_redis() {
    if std::env::var("CI").as_deref() != Ok("true") {
        return;
    }
    let mut child = common::RealRedis::start(&["--enable-debug-command", "yes"]);
    let want = script2(child.port);
    child.stop();
    let srv = TestServer::start();
    let got = script2(srv.addr.port());
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g);
    }
}

fn get<'a>(log: &'a [(String, String)], name: &str, nth: usize) -> &'a str {
    log.iter()
        .filter(|(n, _)| n == name)
        .nth(nth)
        .map(|(_, o)| o.as_str())
        .unwrap_or_else(|| panic!("no step {name}"))
}

#[test]
fn tracking_sequence() {
    let srv = TestServer::start();
    let log = script(srv.addr.port());
    // Default mode: one push per key read, then forgotten.
    assert_eq!(get(&log, "a PING", 0), format!("{}+PONG\r\n", inv("k1")));
    assert_eq!(
        get(&log, "a PING", 1),
        format!("{}{}+PONG\r\n", inv("k2"), inv("k3"))
    );
    // Own write (no NOLOOP): after the reply.
    assert_eq!(get(&log, "a SET k4 2", 0), format!("+OK\r\n{}", inv("k4")));
    assert_eq!(
        get(&log, "a CLIENT TRACKINGINFO", 0),
        "%3\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n"
    );
    // BCAST with prefixes and NOLOOP.
    assert_eq!(
        get(&log, "a CLIENT TRACKING on BCAST PREFIX a PREFIX ab", 0),
        "-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.\r\n"
    );
    assert_eq!(
        get(&log, "a CLIENT TRACKING on BCAST PREFIX user:x", 0),
        "-ERR Prefix 'user:x' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap.\r\n"
    );
    assert_eq!(
        get(&log, "a SET user:2 x", 0),
        format!("{}+OK\r\n", inv("user:1"))
    );
    assert_eq!(get(&log, "a PING", 2), "+PONG\r\n");
    // OPTIN / OPTOUT.
    assert_eq!(get(&log, "a PING", 3), format!("{}+PONG\r\n", inv("o2")));
    assert_eq!(get(&log, "a PING", 4), format!("{}+PONG\r\n", inv("p2")));
    // FLUSHALL: null.
    assert_eq!(get(&log, "a PING", 5), format!("{INV}_\r\n+PONG\r\n"));
    // REDIRECT to a RESP2 subscriber.
    assert_eq!(
        get(&log, "r ", 0),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nq1\r\n"
    );
    assert_eq!(
        get(&log, "r ", 1),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    );
    // Redirect client gone.
    assert_eq!(
        get(&log, "a PING", 6),
        ">2\r\n$21\r\ntracking-redir-broken\r\n:RID\r\n+PONG\r\n"
    );
    assert!(get(&log, "a CLIENT TRACKINGINFO", 3).contains("broken_redirect"));
    assert_eq!(get(&log, "a CLIENT GETREDIR", 1), ":-1\r\n");
}

#[test]
fn errors_and_info() {
    let srv = TestServer::start();
    let mut a = Raw::connect(srv.addr.port());
    assert_eq!(
        s(a.cmd(&["CLIENT", "CACHING", "yes"])),
        "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n"
    );
    assert_eq!(
        s(a.cmd(&["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"])),
        "-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n"
    );
    assert_eq!(
        s(a.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", "999999"])),
        "-ERR The client ID you want redirect to does not exist\r\n"
    );
    let me = a.id();
    assert_eq!(
        s(a.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &me, "REDIRECT", &me])),
        "-ERR A client can only redirect to a single other client\r\n"
    );
    assert_eq!(s(a.cmd(&["CLIENT", "TRACKING", "on", "OPTIN"])), "+OK\r\n");
    assert_eq!(
        s(a.cmd(&["CLIENT", "CACHING", "no"])),
        "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
    );
    a.cmd(&["CLIENT", "CACHING", "yes"]);
    a.cmd(&["MGET", "x1", "x2"]);
    let info = s(a.cmd(&["INFO"]));
    assert!(info.contains("tracking_clients:1\r\n"), "{info}");
    assert!(info.contains("tracking_total_keys:2\r\n"), "{info}");
    assert!(info.contains("tracking_total_items:2\r\n"), "{info}");
    let list = s(a.cmd(&["CLIENT", "INFO"]));
    assert!(list.contains("flags=t "), "{list}");
    assert!(list.contains("redir=0 "), "{list}");
    a.cmd(&["CLIENT", "TRACKING", "off"]);
    let info = s(a.cmd(&["INFO", "clients"]));
    assert!(info.contains("tracking_clients:0\r\n"), "{info}");
}

#[test]
fn expiry_invalidates() {
    let srv = TestServer::start();
    let mut a = Raw::connect(srv.addr.port());
    let mut b = Raw::connect(srv.addr.port());
    a.cmd(&["HELLO", "3"]);
    b.cmd(&["SET", "e", "1"]);
    a.cmd(&["CLIENT", "TRACKING", "on"]);
    assert_eq!(s(a.cmd(&["GET", "e"])), "$1\r\n1\r\n");
    // Not a write of `e`'s value yet: PEXPIRE is a write, so read it again.
    b.cmd(&["PEXPIRE", "e", "1000"]);
    assert_eq!(s(a.cmd(&["PING"])), format!("{}+PONG\r\n", inv("e")));
    assert_eq!(s(a.cmd(&["GET", "e"])), "$1\r\n1\r\n");
    std::thread::sleep(Duration::from_millis(1200));
    // b's read expires it lazily.
    b.cmd(&["GET", "e"]);
    assert_eq!(s(a.cmd(&["PING"])), format!("{}+PONG\r\n", inv("e")));
    // A RESET turns tracking off.
    a.cmd(&["RESET"]);
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["GET", "f"]);
    b.cmd(&["SET", "f", "1"]);
    assert_eq!(s(a.cmd(&["PING"])), "+PONG\r\n");
}

#[test]
fn matches_real_redis() {
    if std::env::var("CI").as_deref() != Ok("true") {
        return;
    }
    let mut child = common::RealRedis::start(&[]);
    let want = script(child.port);
    child.stop();
    let srv = TestServer::start();
    let got = script(srv.addr.port());
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g);
    }
}

#[test]
fn table_max_keys_evicts_with_invalidation() {
    let srv = TestServer::start();
    let mut a = Raw::connect(srv.addr.port());
    assert_eq!(
        s(a.cmd(&["CONFIG", "GET", "tracking-table-max-keys"])),
        "*2\r\n$23\r\ntracking-table-max-keys\r\n$7\r\n1000000\r\n"
    );
    a.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "2"]);
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "on"]);
    a.cmd(&["GET", "m1"]);
    a.cmd(&["GET", "m2"]);
    let out = s(a.cmd(&["GET", "m3"]));
    assert!(
        out.starts_with("_\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nm"),
        "{out}"
    );
    let info = s(a.cmd(&["INFO", "stats"]));
    assert!(info.contains("tracking_total_keys:2\r\n"), "{info}");
}

/// BCAST keeps working as BCAST clients come and go (the server skips the
/// BCAST scan entirely while none is connected), and default-mode clients
/// are unaffected by it.
#[test]
fn bcast_clients_coming_and_going() {
    let srv = TestServer::start();
    let port = srv.addr.port();
    let (mut a, mut b, mut w) = (Raw::connect(port), Raw::connect(port), Raw::connect(port));
    let mut d = Raw::connect(port);
    for c in [&mut a, &mut b, &mut d] {
        c.cmd(&["HELLO", "3"]);
    }
    // Only a default-mode client: it is told about what it read.
    d.cmd(&["CLIENT", "TRACKING", "on"]);
    d.cmd(&["GET", "x:1"]);
    w.cmd(&["SET", "x:1", "v"]);
    assert_eq!(s(d.cmd(&["PING"])), format!("{}+PONG\r\n", inv("x:1")));
    // Two BCAST clients on one prefix, then one leaves.
    a.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x:"]);
    b.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x:"]);
    w.cmd(&["SET", "x:2", "v"]);
    assert_eq!(s(a.cmd(&["PING"])), format!("{}+PONG\r\n", inv("x:2")));
    assert_eq!(s(b.cmd(&["PING"])), format!("{}+PONG\r\n", inv("x:2")));
    drop(a);
    std::thread::sleep(Duration::from_millis(100));
    w.cmd(&["SET", "x:3", "v"]);
    assert_eq!(s(b.cmd(&["PING"])), format!("{}+PONG\r\n", inv("x:3")));
    // The last one turns BCAST off, then on again.
    b.cmd(&["CLIENT", "TRACKING", "off"]);
    w.cmd(&["SET", "x:4", "v"]);
    assert_eq!(s(b.cmd(&["PING"])), "+PONG\r\n");
    b.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x:"]);
    w.cmd(&["SET", "x:5", "v"]);
    assert_eq!(s(b.cmd(&["PING"])), format!("{}+PONG\r\n", inv("x:5")));
    // The default-mode client still gets its own invalidations.
    d.cmd(&["GET", "x:6"]);
    w.cmd(&["SET", "x:6", "v"]);
    assert_eq!(s(d.cmd(&["PING"])), format!("{}+PONG\r\n", inv("x:6")));
}

#[test]
fn lowering_tracking_table_max_keys_invalidates_without_new_reads() {
    let s = common::TestServer::start();
    let mut c = s.conn();
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let _ = r.read_n(1, std::time::Duration::from_secs(5));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let _ = r.read_n(8192, std::time::Duration::from_millis(200));
    r.roundtrip(b"CLIENT TRACKING on\r\n", b"+OK\r\n");
    r.roundtrip(b"MGET ta tb\r\n", b"*2\r\n_\r\n_\r\n");
    let _: () = common::q(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "1"]);
    // The cron trims the table: one of the two keys is invalidated.
    let got = String::from_utf8_lossy(&r.read_n(1, std::time::Duration::from_secs(3))).to_string()
        + &String::from_utf8_lossy(&r.read_n(64, std::time::Duration::from_millis(300)));
    assert!(got.starts_with(">2\r\n$10\r\ninvalidate\r\n"), "{got:?}");
    assert!(
        got.contains("$2\r\nta\r\n") || got.contains("$2\r\ntb\r\n"),
        "{got:?}"
    );
}

/// A RESP3 redirect target that subscribes to nothing and sends nothing
/// gets the invalidations at once (Redis pushes them), also under CLIENT
/// REPLY OFF.
#[test]
fn idle_resp3_redirect_target_gets_pushes() {
    let srv = TestServer::start();
    let port = srv.addr.port();
    for reply_off in [false, true] {
        let mut target = Raw::connect(port);
        target.cmd(&["HELLO", "3"]);
        let rid = target.id();
        if reply_off {
            assert_eq!(s(target.cmd(&["CLIENT", "REPLY", "OFF"])), "");
        }
        let mut reader = Raw::connect(port);
        let on = reader.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &rid]);
        assert_eq!(s(on), "+OK\r\n");
        reader.cmd(&["GET", "redir-key"]);
        let mut writer = Raw::connect(port);
        writer.cmd(&["SET", "redir-key", "v"]);
        // Nothing sent by the target: the push comes on its own.
        assert_eq!(
            s(target.cmd(&[])),
            inv("redir-key"),
            "reply off: {reply_off}"
        );
    }
}

/// With the cron paused, a lowered tracking-table-max-keys still takes
/// effect before the next command, its invalidation ahead of that
/// command's reply (Redis's processCommand; the suite's #11715 test,
/// inside MULTI).
#[test]
fn lowered_tracking_limit_invalidates_before_the_next_command() {
    let srv = TestServer::start();
    let port = srv.addr.port();
    let mut c = srv.conn();
    let _: () = common::q(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "2"]);
    let _: () = common::q(&mut c, &["DEBUG", "PAUSE-CRON", "1"]);
    let mut d = Raw::connect(port);
    d.cmd(&["HELLO", "3"]);
    assert_eq!(s(d.cmd(&["CLIENT", "TRACKING", "on"])), "+OK\r\n");
    assert_eq!(s(d.cmd(&["MGET", "1{t}", "2{t}"])), "*2\r\n_\r\n_\r\n");
    assert_eq!(s(d.cmd(&["MULTI"])), "+OK\r\n");
    let _: () = common::q(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "1"]);
    let got = s(d.pipe(&[&["PING"], &["EXEC"]]));
    assert!(
        got == format!("{}+QUEUED\r\n*1\r\n+PONG\r\n", inv("1{t}"))
            || got == format!("{}+QUEUED\r\n*1\r\n+PONG\r\n", inv("2{t}")),
        "{got:?}"
    );
    let _: () = common::q(&mut c, &["DEBUG", "PAUSE-CRON", "0"]);
}
