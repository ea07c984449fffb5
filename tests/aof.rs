//! The append-only file, against the built binary: every test restarts the
//! server on the same temp dir, so what survives is what the AOF held.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::Value;

/// A temp directory removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "ember-aof-{tag}-{}-{}",
            std::process::id(),
            ember::util::rand_u64() % 1_000_000
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Dir(p)
    }

    fn s(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }

    fn aofdir(&self) -> PathBuf {
        self.0.join("appendonlydir")
    }

    fn manifest(&self) -> String {
        std::fs::read_to_string(self.aofdir().join("appendonly.aof.manifest")).unwrap_or_default()
    }

    /// The last incr file named in the manifest.
    fn last_incr(&self) -> PathBuf {
        let m = self.manifest();
        let name = m
            .lines()
            .rfind(|l| l.ends_with("type i"))
            .and_then(|l| l.split(' ').nth(1))
            .expect("an incr file")
            .to_string();
        self.aofdir().join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Proc {
    child: Child,
    port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a server (binary `bin`) on `dir`; Err(its output) if it exits
/// before listening.
fn spawn(bin: &str, dir: &Dir, args: &[&str]) -> Result<Proc, String> {
    let port = free_port();
    let log = dir.0.join(format!("server-{port}.log"));
    let logf = std::fs::File::create(&log).expect("log file");
    let mut all: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        dir.s(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(args.iter().map(|s| s.to_string()));
    let child = Command::new(bin)
        .args(&all)
        .stdout(Stdio::from(logf.try_clone().expect("log")))
        .stderr(Stdio::from(logf))
        .spawn()
        .expect("start server");
    let mut p = Proc { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // Ready once PING answers PONG (not LOADING, not a closed socket).
        if ping(port) {
            return Ok(p);
        }
        if let Ok(Some(_)) = p.child.try_wait() {
            return Err(std::fs::read_to_string(&log).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 64];
    s.write_all(b"PING\r\n").is_ok()
        && matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

const EMBER: &str = env!("CARGO_BIN_EXE_ember-server");

fn start(dir: &Dir, args: &[&str]) -> Proc {
    let mut all = vec!["--appendonly", "yes"];
    all.extend_from_slice(args);
    spawn(EMBER, dir, &all).unwrap_or_else(|log| panic!("server failed to start:\n{log}"))
}

impl Proc {
    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connect")
    }

    /// SHUTDOWN (writes and fsyncs what is pending) and wait for the exit.
    fn shutdown(mut self) {
        let mut c = self.conn();
        let _: redis::RedisResult<Value> = redis::cmd("SHUTDOWN").query(&mut c);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let info: String = q(c, &["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("INFO has no {name}"))
}

fn wait_rewrite(c: &mut redis::Connection, rewrites: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done: u64 = info_field(c, "aof_rewrites").parse().unwrap_or(0);
        if done >= rewrites && info_field(c, "aof_rewrite_in_progress") == "0" {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Everything in databases 0..4: (db, key, type, contents, expire-at ms).
fn state(c: &mut redis::Connection) -> State {
    let mut out = Vec::new();
    for db in 0..4 {
        let _: () = q(c, &["SELECT", &db.to_string()]);
        let mut keys: Vec<String> = q(c, &["KEYS", "*"]);
        keys.sort();
        for k in keys {
            let ty: String = q(c, &["TYPE", &k]);
            let content = match ty.as_str() {
                // Bytes: HyperLogLog sketches are not UTF-8.
                "string" => q::<Vec<u8>>(c, &["GET", &k]).escape_ascii().to_string(),
                "list" => q::<Vec<String>>(c, &["LRANGE", &k, "0", "-1"]).join(","),
                "hash" => {
                    let mut v: Vec<(String, String)> = q(c, &["HGETALL", &k]);
                    v.sort();
                    format!("{v:?}")
                }
                "set" => {
                    let mut v: Vec<String> = q(c, &["SMEMBERS", &k]);
                    v.sort();
                    v.join(",")
                }
                // Scores as numbers: Redis 7.0 prints them with %.17g.
                "zset" => format!(
                    "{:?}",
                    q::<Vec<(String, f64)>>(c, &["ZRANGE", &k, "0", "-1", "WITHSCORES"])
                ),
                // Entries, counters and groups (no clocks: idle times).
                "stream" => {
                    let entries: Value = q(c, &["XRANGE", &k, "-", "+"]);
                    let groups: Value = q(c, &["XINFO", "GROUPS", &k]);
                    let info: Vec<Value> = q(c, &["XINFO", "STREAM", &k]);
                    let mut pending = Vec::new();
                    if let Value::Array(gs) = &groups {
                        for g in gs {
                            let name = match g {
                                Value::Map(m) => m.first().map(|(_, v)| v.clone()),
                                Value::Array(a) => a.get(1).cloned(),
                                _ => None,
                            };
                            if let Some(Value::BulkString(n)) = name {
                                let n = String::from_utf8_lossy(&n).to_string();
                                let p: Value = q(c, &["XPENDING", &k, &n]);
                                pending.push(p);
                            }
                        }
                    }
                    // length, node count, last id, max deleted, added, first
                    // id (not radix-tree-nodes: Redis's tree internals).
                    let head: Vec<&Value> = info
                        .iter()
                        .take(14)
                        .enumerate()
                        .filter(|(i, _)| !matches!(i, 4 | 5))
                        .map(|(_, v)| v)
                        .collect();
                    format!("{entries:?} {groups:?} {pending:?} {head:?}")
                }
                other => panic!("type {other}"),
            };
            let at: i64 = q(c, &["PEXPIRETIME", &k]);
            out.push((db, k, ty, content, at));
        }
    }
    let _: () = q(c, &["SELECT", "0"]);
    out
}

type State = Vec<(i64, String, String, String, i64)>;

/// The two states are equal; on failure, show only what differs.
fn same(got: &State, want: &State) {
    if got == want {
        return;
    }
    let missing: Vec<_> = want.iter().filter(|e| !got.contains(e)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|e| !want.contains(e)).take(5).collect();
    let cut = |v: Vec<&(i64, String, String, String, i64)>| -> Vec<String> {
        v.iter()
            .map(|e| format!("{e:?}").chars().take(300).collect())
            .collect()
    };
    panic!(
        "state differs ({} vs {} keys)\nmissing/different: {:#?}\nunexpected: {:#?}",
        got.len(),
        want.len(),
        cut(missing),
        cut(extra)
    );
}

/// Stop `p` and start it again on `dir`: the same data comes back.
fn restarts_the_same(dir: &Dir, p: Proc, mut c: redis::Connection) {
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let p = start(dir, &[]);
    same(&state(&mut p.conn()), &before);
    p.shutdown();
}

/// Write one of everything, in several databases.
fn fill(c: &mut redis::Connection) {
    for cmd in [
        "SET s1 hello",
        "SET n1 12345",
        "APPEND s1 world",
        "INCRBY n1 5",
        "SET big:0123456789012345678901234567890123456789012345678901234567890123456789 x",
        "SETRANGE s1 20 zz",
        "RPUSH l1 a b c d e",
        "LPUSH l1 z",
        "LSET l1 2 B",
        "HSET h1 f1 v1 f2 v2 f3 v3",
        "HDEL h1 f2",
        "HINCRBY h1 cnt 7",
        "SADD st1 1 2 3 100000",
        "SADD st2 a b c",
        "SREM st2 b",
        "ZADD z1 1 a 2.5 b -3 c inf top -inf bottom",
        "ZINCRBY z1 0.1 a",
        "SET tmp gone",
        "DEL tmp",
        "SELECT 2",
        "SET db2key v2",
        "RPUSH db2list x",
        "SELECT 0",
        "COPY s1 s1copy",
        "RENAME n1 n1renamed",
        "PFADD hll a b c",
        "PFCOUNT hll",
        "PFADD hll d",
        "XADD x1 1-1 f v g w",
        "XADD x1 1-2 f v2 g w2",
        "XADD x1 5-* other 1",
        "XADD x1 * f v3 g w3",
        "XDEL x1 1-2",
        "XGROUP CREATE x1 g1 0",
        "XGROUP CREATE x1 g2 $",
        "XREADGROUP GROUP g1 alice COUNT 2 STREAMS x1 >",
        "XREADGROUP GROUP g1 bob NOACK COUNT 1 STREAMS x1 >",
        "XACK x1 g1 1-1",
        "XGROUP CREATECONSUMER x1 g2 idle",
        "XCLAIM x1 g1 carol 0 5-0 JUSTID",
        "XGROUP CREATE x2 g1 $ MKSTREAM",
        "XADD x3 MAXLEN 0 1-1 a b",
        "XSETID x3 7-7 ENTRIESADDED 10 MAXDELETEDID 3-0",
    ] {
        let parts: Vec<&str> = cmd.split(' ').collect();
        let _: Value = q(c, &parts);
    }
    // Large encodings too.
    for i in 0..300 {
        let i = i.to_string();
        let _: Value = q(c, &["RPUSH", "biglist", &i]);
        let _: Value = q(c, &["HSET", "bighash", &format!("f{i}"), &i]);
        let _: Value = q(c, &["SADD", "bigset", &format!("m{i}")]);
        let _: Value = q(c, &["ZADD", "bigzset", &i, &format!("m{i}")]);
        let _: Value = q(c, &["PFADD", "bighll", &format!("m{i}")]);
        let _: Value = q(
            c,
            &["XADD", "bigstream", "MAXLEN", "~", "250", "*", "i", &i],
        );
    }
    // PFCOUNT stores its estimate in the sketch: logged, replayed.
    for cmd in ["PFMERGE hll2 hll bighll", "PFCOUNT hll2", "PFCOUNT bighll"] {
        let parts: Vec<&str> = cmd.split(' ').collect();
        let _: Value = q(c, &parts);
    }
}

#[test]
fn every_type_round_trips_through_replay() {
    let dir = Dir::new("types");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    fill(&mut c);
    let _: Value = q(&mut c, &["SET", "ttlkey", "v", "EX", "1000"]);
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let manifest = dir.manifest();
    assert!(
        manifest.contains("file appendonly.aof.1.base.rdb seq 1 type b\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("file appendonly.aof.1.incr.aof seq 1 type i\n"),
        "{manifest}"
    );
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    // A restart appends to the same incr file.
    let _: Value = q(&mut c, &["SET", "after", "restart"]);
    drop(c);
    p.shutdown();
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let v: String = q(&mut c, &["GET", "after"]);
    assert_eq!(v, "restart");
    assert_eq!(state(&mut c).len(), before.len() + 1);
    p.shutdown();
}

/// Both base formats replay every type after a BGREWRITEAOF: the RDB
/// preamble (default) and the RESP base (`aof-use-rdb-preamble no`).
#[test]
fn every_type_round_trips_through_both_base_formats() {
    for (preamble, suffix) in [("yes", "rdb"), ("no", "aof")] {
        let dir = Dir::new(&format!("bases-{preamble}"));
        let args = ["--aof-use-rdb-preamble", preamble];
        let p = start(&dir, &args);
        let mut c = p.conn();
        fill(&mut c);
        let _: Value = q(&mut c, &["SET", "ttlkey", "v", "EX", "1000"]);
        let lib = "#!lua name=lib\nredis.register_function('seven', function() return 7 end)";
        let _: Value = q(&mut c, &["FUNCTION", "LOAD", lib]);
        let _: Value = q(&mut c, &["BGREWRITEAOF"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !dir
            .manifest()
            .contains(&format!("appendonly.aof.2.base.{suffix} seq 2 type b"))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "rewrite did not finish: {}",
                dir.manifest()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _: Value = q(&mut c, &["SET", "after", "rewrite"]);
        let before = state(&mut c);
        drop(c);
        p.shutdown();
        let p = start(&dir, &args);
        let mut c = p.conn();
        same(&state(&mut c), &before);
        // The libraries are in the base too (FUNCTION LOAD in a RESP one).
        let seven: i64 = q(&mut c, &["FCALL", "seven", "0"]);
        assert_eq!(seven, 7, "preamble {preamble}");
        p.shutdown();
    }
}

#[test]
fn relative_times_are_logged_as_absolute() {
    let dir = Dir::new("ttl");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    for cmd in [
        "SET a v EX 1000",
        "SET b v PX 500000",
        "SETEX c 1000 v",
        "PSETEX d 900000 v",
        "SET e v",
        "EXPIRE e 1000",
        "SET f v",
        "PEXPIRE f 800000",
        "SET g v",
        "GETEX g EX 700",
        "SET h v EX 100",
        "GETEX h PERSIST",
        "SET i v",
        "EXPIRE i -1",
        "SET j v",
        "EXPIREAT j 1",
    ] {
        let parts: Vec<&str> = cmd.split(' ').collect();
        let _: Value = q(&mut c, &parts);
    }
    // RESTORE with a relative TTL: logged with the absolute one and ABSTTL;
    // with a TTL already past over an existing key: as the DEL it did.
    let payload: Vec<u8> = redis::cmd("DUMP").arg("a").query(&mut c).expect("dump");
    let ok: String = redis::cmd("RESTORE")
        .arg("r")
        .arg(600_000)
        .arg(&payload)
        .arg("IDLETIME")
        .arg(5)
        .query(&mut c)
        .expect("restore");
    assert_eq!(ok, "OK");
    let ok: String = redis::cmd("RESTORE")
        .arg("b")
        .arg(1)
        .arg(&payload)
        .arg("ABSTTL")
        .arg("REPLACE")
        .query(&mut c)
        .expect("restore");
    assert_eq!(ok, "OK");
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    // The payload is binary.
    let log = String::from_utf8_lossy(&std::fs::read(dir.last_incr()).expect("incr")).into_owned();
    let at = log
        .split("$7\r\nRESTORE\r\n$1\r\nr\r\n")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").nth(1))
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no RESTORE r: {log}"));
    assert!(at > 1_700_000_000_000, "{at}");
    assert!(
        log.contains("$8\r\nIDLETIME\r\n$1\r\n5\r\n$6\r\nABSTTL\r\n"),
        "{log}"
    );
    assert!(log.contains("$3\r\nDEL\r\n$1\r\nb\r\n"), "{log}");
    let upper = log.to_ascii_uppercase();
    for relative in [
        "\r\nEX\r\n",
        "\r\nPX\r\n",
        "SETEX",
        "PSETEX",
        "\r\nEXPIRE\r\n",
        "\r\nPEXPIRE\r\n",
        "GETEX",
    ] {
        assert!(!upper.contains(relative), "{relative:?} logged: {log}");
    }
    assert!(log.contains("PXAT"), "{log}");
    assert!(log.contains("PEXPIREAT"), "{log}");
    assert!(log.contains("PERSIST"), "{log}");
    // EXPIRE in the past is logged as the DEL it did.
    assert!(log.contains("$3\r\nDEL\r\n$1\r\ni\r\n"), "{log}");
    assert!(log.contains("$3\r\nDEL\r\n$1\r\nj\r\n"), "{log}");
    std::thread::sleep(Duration::from_millis(1100));
    let p = start(&dir, &[]);
    let mut c = p.conn();
    // Same absolute expiry after a restart a second later.
    same(&state(&mut c), &before);
    let ttl: i64 = q(&mut c, &["TTL", "a"]);
    assert!((990..1000).contains(&ttl), "{ttl}");
    p.shutdown();
}

#[test]
fn nondeterministic_commands_replay_identically() {
    let dir = Dir::new("nondet");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "s"];
    sadd.extend(members.iter().map(|s| s.as_str()));
    let _: Value = q(&mut c, &sadd);
    let mut sadd2 = vec!["SADD", "s2"];
    sadd2.extend(members.iter().map(|s| s.as_str()));
    let _: Value = q(&mut c, &sadd2);
    let _: Value = q(&mut c, &["SADD", "s3", "1", "2", "3"]);
    for _ in 0..5 {
        let _: Value = q(&mut c, &["SPOP", "s"]);
    }
    let _: Value = q(&mut c, &["SPOP", "s", "7"]);
    let _: Value = q(&mut c, &["SPOP", "s2", "45"]);
    let _: Value = q(&mut c, &["SPOP", "s3", "10"]);
    let _: Value = q(&mut c, &["SET", "fl", "10.5"]);
    let _: Value = q(&mut c, &["INCRBYFLOAT", "fl", "0.1"]);
    let _: Value = q(&mut c, &["INCRBYFLOAT", "fl", "1e3"]);
    let _: Value = q(&mut c, &["HINCRBYFLOAT", "h", "f", "3.3"]);
    let _: Value = q(&mut c, &["HINCRBYFLOAT", "h", "f", "-0.1"]);
    // Blocking pops that find data, and ones served later.
    let _: Value = q(&mut c, &["RPUSH", "l", "a", "b", "c", "d"]);
    let _: Value = q(&mut c, &["BLPOP", "nothere", "l", "0"]);
    let _: Value = q(&mut c, &["BRPOP", "l", "0"]);
    let _: Value = q(&mut c, &["BLMOVE", "l", "l2", "LEFT", "RIGHT", "0"]);
    let _: Value = q(&mut c, &["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "5"]);
    let _: Value = q(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let _: Value = q(&mut c, &["BZPOPMIN", "z", "0"]);
    let _: Value = q(&mut c, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "1"]);
    // SORT … STORE with patterns is logged as its result.
    for cmd in ["RPUSH src 3 1 2", "SET w_1 3", "SET w_2 2", "SET w_3 1"] {
        let parts: Vec<&str> = cmd.split(' ').collect();
        let _: Value = q(&mut c, &parts);
    }
    let _: Value = q(&mut c, &["SORT", "src", "BY", "w_*", "STORE", "dst"]);
    let port = p.port;
    let waiter = |cmd: Vec<&'static str>| {
        std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .and_then(|c| c.get_connection())
                .expect("connect");
            q::<Value>(&mut c, &cmd)
        })
    };
    let w1 = waiter(vec!["BLPOP", "bq", "0"]);
    let w2 = waiter(vec!["BZPOPMAX", "bz", "0"]);
    let w3 = waiter(vec!["BLMOVE", "bm", "bmdst", "RIGHT", "LEFT", "0"]);
    let w4 = waiter(vec!["BLMPOP", "0", "1", "bmp", "RIGHT", "COUNT", "2"]);
    std::thread::sleep(Duration::from_millis(300));
    let _: Value = q(&mut c, &["RPUSH", "bq", "x", "y"]);
    let _: Value = q(&mut c, &["ZADD", "bz", "1", "p", "2", "q"]);
    let _: Value = q(&mut c, &["RPUSH", "bm", "1", "2", "3"]);
    let _: Value = q(&mut c, &["RPUSH", "bmp", "1", "2", "3"]);
    for w in [w1, w2, w3, w4] {
        assert_ne!(w.join().expect("waiter"), Value::Nil);
    }
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let log = std::fs::read_to_string(dir.last_incr()).expect("incr");
    for absent in [
        "SORT",
        "SPOP",
        "INCRBYFLOAT",
        "HINCRBYFLOAT",
        "BLPOP",
        "BRPOP",
        "BLMOVE",
        "BZPOPMIN",
        "BZMPOP",
        "BLMPOP",
        "BZPOPMAX",
    ] {
        assert!(
            !log.to_ascii_uppercase().contains(absent),
            "{absent} logged"
        );
    }
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    p.shutdown();
}

#[test]
fn transactions_are_logged_as_multi_exec_blocks() {
    let dir = Dir::new("multi");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg("t1")
        .arg("1")
        .cmd("INCR")
        .arg("t1")
        .cmd("SELECT")
        .arg("1")
        .cmd("RPUSH")
        .arg("t2")
        .arg("a");
    let _: Value = pipe.query(&mut c).expect("exec");
    // A transaction that writes once is logged without MULTI/EXEC (Redis 7),
    // one that writes nothing is not logged.
    let _: Value = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("t3")
        .arg("x")
        .query(&mut c)
        .expect("exec");
    let _: Value = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg("t3")
        .query(&mut c)
        .expect("exec");
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let log = std::fs::read_to_string(dir.last_incr()).expect("incr");
    assert_eq!(log.matches("MULTI").count(), 1, "{log}");
    assert_eq!(log.matches("EXEC").count(), 1, "{log}");
    let multi = log.find("MULTI").expect("MULTI");
    let exec = log.find("EXEC").expect("EXEC");
    let inside = &log[multi..exec];
    assert!(
        inside.contains("INCR") && inside.contains("SELECT") && inside.contains("RPUSH"),
        "{log}"
    );
    assert!(log[exec..].contains("t3"), "{log}");
    // A file cut inside the MULTI block loads as truncated: up to the MULTI.
    let full = std::fs::read(dir.last_incr()).expect("incr");
    let at = full.windows(5).position(|w| w == b"MULTI").expect("MULTI");
    let cut = at + 20;
    std::fs::write(dir.last_incr(), &full[..cut]).expect("cut");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let t1: Option<String> = q(&mut c, &["GET", "t1"]);
    assert_eq!(t1, None, "half a transaction must not be applied");
    p.shutdown();
    std::fs::write(dir.last_incr(), &full).expect("restore");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    p.shutdown();
}

/// Inside a transaction a rewrite is "scheduled" (Redis's `in_exec`): it
/// starts once EXEC is over, and its base holds the whole transaction.
#[test]
fn bgrewriteaof_in_multi_is_scheduled() {
    let dir = Dir::new("rewritemulti");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let (set, reply, incr): (String, String, i64) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("m1")
        .arg("a")
        .cmd("BGREWRITEAOF")
        .cmd("INCR")
        .arg("m2")
        .query(&mut c)
        .expect("exec");
    assert_eq!((set.as_str(), incr), ("OK", 1));
    assert_eq!(reply, "Background append only file rewriting scheduled");
    wait_rewrite(&mut c, 1);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "0");
    // Outside a transaction it starts at once again.
    let reply: String = q(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(reply, "Background append only file rewriting started");
    wait_rewrite(&mut c, 2);
    restarts_the_same(&dir, p, c);
}

#[test]
fn bgrewriteaof_then_restart() {
    let dir = Dir::new("rewrite");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    fill(&mut c);
    let _: Value = q(&mut c, &["SET", "ttlkey", "v", "EX", "1000"]);
    let reply: String = q(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(reply, "Background append only file rewriting started");
    wait_rewrite(&mut c, 1);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    // Writes after the rewrite go to the new incr file.
    let _: Value = q(&mut c, &["SET", "afterrewrite", "1"]);
    let _: Value = q(&mut c, &["INCR", "afterrewrite"]);
    let manifest = dir.manifest();
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.aofdir())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    // Rewrites while writes keep coming: base + new incr still == state.
    let stop = Arc::new(AtomicBool::new(false));
    let port = p.port;
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .expect("connect");
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let _: Value = q(&mut c, &["INCR", "shared"]);
                    let _: Value = q(&mut c, &["RPUSH", "order", &format!("{t}:{n}")]);
                    n += 1;
                }
            })
        })
        .collect();
    for i in 0..3 {
        std::thread::sleep(Duration::from_millis(100));
        let _: String = q(&mut c, &["BGREWRITEAOF"]);
        wait_rewrite(&mut c, i + 1);
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    // Leftovers of an interrupted rewrite are removed at startup.
    std::fs::write(dir.aofdir().join("appendonly.aof.9.base.aof"), "x").expect("write");
    std::fs::write(dir.aofdir().join("temp-rewriteaof-bg-1.aof"), "x").expect("write");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    assert!(!dir.aofdir().join("appendonly.aof.9.base.aof").exists());
    assert!(!dir.aofdir().join("temp-rewriteaof-bg-1.aof").exists());
    p.shutdown();
}

#[test]
fn truncated_tail_loads_or_refuses_by_aof_load_truncated() {
    let dir = Dir::new("trunc");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "k1", "v1"]);
    let _: Value = q(&mut c, &["SET", "k2", "v2"]);
    drop(c);
    p.shutdown();
    let incr = dir.last_incr();
    let good = std::fs::read(&incr).expect("incr");
    let mut cut = good.clone();
    cut.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$2\r\nk3\r\n$5\r\nab");
    std::fs::write(&incr, &cut).expect("write");
    let err = spawn(
        EMBER,
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    )
    .err()
    .expect("must refuse to start");
    assert!(err.contains("Unexpected end of file"), "{err}");
    assert!(err.contains(&format!("offset {}", good.len())), "{err}");
    assert_eq!(std::fs::read(&incr).expect("incr"), cut, "file untouched");
    let p = start(&dir, &["--aof-load-truncated", "yes"]);
    let mut c = p.conn();
    let v: Vec<Option<String>> = q(&mut c, &["MGET", "k1", "k2", "k3"]);
    assert_eq!(v, [Some("v1".into()), Some("v2".into()), None]);
    let _: Value = q(&mut c, &["SET", "k4", "v4"]);
    drop(c);
    p.shutdown();
    // Truncated at the last good command, then appended to cleanly.
    let now = std::fs::read(&incr).expect("incr");
    assert_eq!(&now[..good.len()], &good[..]);
    let p = start(&dir, &["--aof-load-truncated", "no"]);
    let mut c = p.conn();
    let v: Option<String> = q(&mut c, &["GET", "k4"]);
    assert_eq!(v.as_deref(), Some("v4"));
    p.shutdown();
    // A huge declared length at the end reads as truncated, and costs no
    // allocation of that size.
    let good = std::fs::read(&incr).expect("incr");
    let cut = [&good[..], b"*2\r\n$3\r\nDEL\r\n$999999999999\r\nab"].concat();
    std::fs::write(&incr, &cut).expect("write");
    let err = spawn(
        EMBER,
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    )
    .err()
    .expect("must refuse to start");
    assert!(err.contains("Unexpected end of file"), "{err}");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let v: Option<String> = q(&mut c, &["GET", "k4"]);
    assert_eq!(v.as_deref(), Some("v4"));
    p.shutdown();
    assert_eq!(std::fs::read(&incr).expect("incr"), good);
}

#[test]
fn garbage_in_the_middle_refuses_to_start_and_keeps_the_file() {
    let dir = Dir::new("corrupt");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "k1", "v1"]);
    let _: Value = q(&mut c, &["SET", "k2", "v2"]);
    drop(c);
    p.shutdown();
    let incr = dir.last_incr();
    let good = std::fs::read(&incr).expect("incr");
    let mid = good.len() / 2;
    for bad in [
        [&good[..mid], b"garbage!", &good[mid..]].concat(),
        [&good[..], b"this is not RESP\r\n"].concat(),
        [&good[..], b"*2\r\n$3\r\nDEL\r\n$x\r\n"].concat(),
    ] {
        std::fs::write(&incr, &bad).expect("write");
        for truncated in ["yes", "no"] {
            let err = spawn(
                EMBER,
                &dir,
                &["--appendonly", "yes", "--aof-load-truncated", truncated],
            )
            .err()
            .expect("must refuse to start");
            assert!(err.contains("Bad file format"), "{err}");
            assert_eq!(std::fs::read(&incr).expect("incr"), bad);
        }
    }
    // A bad manifest is refused too.
    std::fs::write(&incr, &good).expect("write");
    let mpath = dir.aofdir().join("appendonly.aof.manifest");
    let m = std::fs::read_to_string(&mpath).expect("manifest");
    std::fs::write(&mpath, "file x seq one type q\n").expect("write");
    let err = spawn(EMBER, &dir, &["--appendonly", "yes"])
        .err()
        .expect("refused");
    assert!(err.contains("manifest"), "{err}");
    std::fs::write(&mpath, &m).expect("write");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let v: Vec<String> = q(&mut c, &["MGET", "k1", "k2"]);
    assert_eq!(v, ["v1", "v2"]);
    p.shutdown();
}

/// DEBUG LOADAOF empties the data (FUNCTION libraries too) and replays the
/// AOF on disk, base then incr; the replay logs nothing, so the file and a
/// restart see the same data once, and nothing counts as unsaved.
#[test]
fn debug_loadaof_replays_the_files_and_logs_nothing() {
    let dir = Dir::new("loadaof");
    let p = start(&dir, &["--enable-debug-command", "yes"]);
    let mut c = p.conn();
    fill(&mut c);
    let lib = "#!lua name=lib\nredis.register_function('one', function() return 1 end)";
    let _: Value = q(&mut c, &["FUNCTION", "LOAD", lib]);
    let _: Value = q(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c, 1);
    // After the rewrite: these are only in the incr file.
    let _: Value = q(&mut c, &["SET", "ttlkey", "v", "EX", "1000"]);
    let _: Value = q(&mut c, &["INCRBY", "n1renamed", "10"]);
    let _: Value = q(&mut c, &["RPUSH", "l1", "tail"]);
    let before = state(&mut c);
    let digest: String = q(&mut c, &["DEBUG", "DIGEST"]);
    let incr = dir.last_incr();
    let size = std::fs::metadata(&incr).expect("incr file").len();
    // Pipelined with a write: that write is in the file before the load.
    let (set, ok): (String, String) = redis::pipe()
        .cmd("SET")
        .arg("piped")
        .arg("1")
        .cmd("DEBUG")
        .arg("LOADAOF")
        .query(&mut c)
        .expect("pipeline");
    assert_eq!((set.as_str(), ok.as_str()), ("OK", "OK"));
    let got: String = q(&mut c, &["GET", "piped"]);
    assert_eq!(got, "1");
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:0\r\n"), "{info}");
    let _: Value = q(&mut c, &["DEL", "piped"]);
    same(&state(&mut c), &before);
    let again: String = q(&mut c, &["DEBUG", "DIGEST"]);
    assert_eq!(again, digest);
    let one: i64 = q(&mut c, &["FCALL", "one", "0"]);
    assert_eq!(one, 1);
    // Only the SET and DEL were appended; the replay added nothing.
    let grown = std::fs::metadata(&incr).expect("incr file").len() - size;
    assert!(grown < 100, "the incr file grew by {grown} bytes");
    // Data not in the file goes: with the AOF off, writes are not logged.
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    let _: Value = q(&mut c, &["SET", "unlogged", "x"]);
    let _: () = q(&mut c, &["FUNCTION", "FLUSH"]);
    let _: String = q(&mut c, &["DEBUG", "LOADAOF"]);
    same(&state(&mut c), &before);
    let one: i64 = q(&mut c, &["FCALL", "one", "0"]);
    assert_eq!(one, 1);
    // No manifest: an error, and the data is gone (as Redis).
    std::fs::remove_file(dir.aofdir().join("appendonly.aof.manifest")).expect("rm manifest");
    let err = redis::cmd("DEBUG")
        .arg("LOADAOF")
        .query::<String>(&mut c)
        .expect_err("no manifest");
    assert_eq!(
        err.detail(),
        Some("Error trying to load the AOF files, check server logs.")
    );
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 0);
    drop(c);
    p.shutdown();
}

/// Under `appendfsync always` a reply waits for its write, however slow
/// the disk (DEBUG AOF-FLUSH-SLEEP makes the writer sleep before each
/// write, as Redis's does before flushing): when the INCR answers, the file
/// has it.
#[test]
fn always_replies_only_once_a_slow_write_is_in_the_file() {
    let dir = Dir::new("flush-sleep");
    let p = start(
        &dir,
        &["--appendfsync", "always", "--enable-debug-command", "yes"],
    );
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "x", "1"]);
    let _: String = q(&mut c, &["DEBUG", "AOF-FLUSH-SLEEP", "200000"]);
    let incr = dir.last_incr();
    for i in 2..4 {
        let size = std::fs::metadata(&incr).expect("incr file").len();
        let n: i64 = q(&mut c, &["INCR", "x"]);
        assert_eq!(n, i);
        let now = std::fs::metadata(&incr).expect("incr file").len();
        assert!(now > size, "INCR answered before it was written");
    }
    let _: String = q(&mut c, &["DEBUG", "AOF-FLUSH-SLEEP", "0"]);
    drop(c);
    p.shutdown();
}

/// CONFIG SET appendonly no stops a running rewrite, as Redis kills its
/// rewrite child: a base that would take 10 s a key ends at once, no new
/// base is kept, the status stays ok, and turning the AOF on again works.
#[test]
fn turning_the_aof_off_stops_a_running_rewrite() {
    for preamble in ["yes", "no"] {
        let dir = Dir::new(&format!("stop-rewrite-{preamble}"));
        let p = start(&dir, &["--aof-use-rdb-preamble", preamble]);
        let mut c = p.conn();
        for k in ["a", "b", "c"] {
            let _: Value = q(&mut c, &["SET", k, "v"]);
        }
        let manifest = dir.manifest();
        let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "10000000"]);
        let _: Value = q(&mut c, &["BGREWRITEAOF"]);
        assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1");
        let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
        // 30 s of delay left: stopping is what ends it this soon.
        let deadline = Instant::now() + Duration::from_secs(8);
        while info_field(&mut c, "aof_rewrite_in_progress") != "0" {
            assert!(Instant::now() < deadline, "the rewrite was not stopped");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
        // No new base. Stopped after its cut, the incr file the rewrite
        // started stays named (as in Redis); before it, nothing changed.
        let m = dir.manifest();
        let incr2 = "file appendonly.aof.2.incr.aof seq 2 type i\n";
        assert!(m == manifest || m == format!("{manifest}{incr2}"), "{m}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.aofdir())
            .expect("aof dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("temp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let _: Value = q(&mut c, &["SET", "d", "v"]);
        let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
        let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
        wait_rewrite(&mut c, 2);
        let before = state(&mut c);
        assert_eq!(before.len(), 4);
        drop(c);
        p.shutdown();
        let p = start(&dir, &[]);
        let mut c = p.conn();
        same(&state(&mut c), &before);
        drop(c);
        p.shutdown();
    }
}

/// While DEBUG LOADAOF replays (here a script that runs for most of a
/// second), other clients' commands answer LOADING, as in Redis.
#[test]
fn other_clients_get_loading_during_debug_loadaof() {
    let dir = Dir::new("loadaof-loading");
    let p = start(
        &dir,
        &[
            "--enable-debug-command",
            "yes",
            "--busy-reply-threshold",
            "50",
        ],
    );
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "before", "1"]);
    let _: String = q(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    // Time stands still in a script (as in Redis 7.2): it sleeps instead.
    let _: Value = q(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let slow = "for i = 1, 70 do redis.call('debug', 'sleep', '0.01') end \
        redis.call('set', KEYS[1], 'y') return 'ok'";
    let mut cmd = Vec::new();
    for a in ["EVAL", slow, "1", "x"] {
        cmd.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    let mut record = b"*4\r\n".to_vec();
    record.extend_from_slice(&cmd);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.last_incr())
        .expect("incr");
    std::io::Write::write_all(&mut f, &record).expect("append");
    drop(f);
    let port = p.port;
    let loader = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|c| c.get_connection())
            .expect("connect");
        redis::cmd("DEBUG").arg("LOADAOF").query::<String>(&mut c)
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = None;
    while Instant::now() < deadline && !loader.is_finished() {
        if let Err(e) = redis::cmd("PING").query::<String>(&mut c) {
            seen = Some(e);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let loaded = loader.join().expect("loader");
    let e = seen.unwrap_or_else(|| panic!("no LOADING while the AOF loaded: {loaded:?}"));
    assert_eq!(e.code(), Some("LOADING"), "{e}");
    assert_eq!(loaded.expect("loadaof"), "OK");
    let x: String = q(&mut c, &["GET", "x"]);
    assert_eq!(x, "y");
    let before: String = q(&mut c, &["GET", "before"]);
    assert_eq!(before, "1");
    let pong: String = q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
    drop(c);
    p.shutdown();
}

/// BGREWRITEAOF during a BGSAVE is scheduled, as in Redis: it answers
/// "scheduled" (again when asked again), INFO says aof_rewrite_scheduled:1
/// and not in progress, and it runs once the save is done. Lowering
/// rdb-key-save-delay to 0 lets the running save finish at once.
#[test]
fn bgrewriteaof_during_bgsave_is_scheduled() {
    let dir = Dir::new("scheduled");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "k", "v"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "10000000"]);
    let _: Value = q(&mut c, &["BGSAVE"]);
    let done: u64 = info_field(&mut c, "aof_rewrites")
        .parse()
        .expect("aof_rewrites");
    for _ in 0..2 {
        let r: String = q(&mut c, &["BGREWRITEAOF"]);
        assert_eq!(r, "Background append only file rewriting scheduled");
    }
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "1");
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0");
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_rewrite(&mut c, done + 1);
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "0");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert!(
        dir.manifest().contains("appendonly.aof.2.base.rdb"),
        "{}",
        dir.manifest()
    );
    drop(c);
    p.shutdown();
}

/// A restart after DEBUG LOADAOF loads each write once.
#[test]
fn restart_after_debug_loadaof_sees_each_write_once() {
    let dir = Dir::new("loadaof-restart");
    let p = start(&dir, &["--enable-debug-command", "yes"]);
    let mut c = p.conn();
    for _ in 0..5 {
        let _: Value = q(&mut c, &["RPUSH", "l", "x"]);
    }
    let _: String = q(&mut c, &["DEBUG", "LOADAOF"]);
    let _: Value = q(&mut c, &["RPUSH", "l", "y"]);
    let _: String = q(&mut c, &["DEBUG", "LOADAOF"]);
    let n: i64 = q(&mut c, &["LLEN", "l"]);
    assert_eq!(n, 6);
    drop(c);
    p.shutdown();
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let n: i64 = q(&mut c, &["LLEN", "l"]);
    assert_eq!(n, 6);
    p.shutdown();
}

#[test]
fn config_set_appendonly_at_runtime() {
    let dir = Dir::new("runtime");
    let p = spawn(EMBER, &dir, &[]).expect("starts");
    let mut c = p.conn();
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    fill(&mut c);
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    let _: Value = q(&mut c, &["SET", "after", "enable"]);
    wait_rewrite(&mut c, 1);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    let _: Value = q(&mut c, &["INCR", "counter"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "appendfsync", "always"]);
    let _: Value = q(&mut c, &["INCR", "counter"]);
    let before = state(&mut c);
    drop(c);
    // Under `always` an acknowledged write is on disk: SIGKILL loses nothing.
    p.kill();
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    p.shutdown();
}

/// A rewrite stopped by CONFIG SET appendonly no is gone by the time the
/// next BGREWRITEAOF comes (Redis kills its child synchronously): that one
/// starts rather than finding one "already in progress".
#[test]
fn a_stopped_rewrite_does_not_hold_up_the_next() {
    let dir = Dir::new("stopped");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "k", "v"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "10000000"]);
    let reply: String = q(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(reply, "Background append only file rewriting started");
    // Past its cut, sleeping on the key.
    std::thread::sleep(Duration::from_millis(50));
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    let reply: String = q(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(reply, "Background append only file rewriting started");
    wait_rewrite(&mut c, 2);
    p.shutdown();
}

#[test]
fn auto_rewrite_on_growth() {
    let dir = Dir::new("auto");
    let p = start(
        &dir,
        &[
            "--auto-aof-rewrite-min-size",
            "4kb",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    );
    let mut c = p.conn();
    let value = "x".repeat(200);
    for i in 0..100 {
        let _: Value = q(&mut c, &["SET", &format!("k{}", i % 5), &value]);
    }
    wait_rewrite(&mut c, 1);
    assert!(
        !dir.manifest().contains("seq 1 type b"),
        "{}",
        dir.manifest()
    );
    restarts_the_same(&dir, p, c);
}

#[test]
fn enabling_again_after_a_previous_run_restarts_cleanly() {
    let dir = Dir::new("again");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "old", "1"]);
    drop(c);
    p.shutdown();
    // Started without AOF on the same dir, then enabled at runtime: the old
    // files are replaced, numbering goes on.
    let p = spawn(EMBER, &dir, &[]).expect("starts");
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "new", "2"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_rewrite(&mut c, 1);
    let _: Value = q(&mut c, &["SET", "newer", "3"]);
    drop(c);
    p.shutdown();
    assert_eq!(
        dir.manifest(),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(!dir.aofdir().join("appendonly.aof.1.incr.aof").exists());
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let v: Vec<Option<String>> = q(&mut c, &["MGET", "old", "new", "newer"]);
    assert_eq!(v, [None, Some("2".into()), Some("3".into())]);
    p.shutdown();
}

#[test]
fn expiry_is_logged_as_del() {
    let dir = Dir::new("expiry");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "lazy", "v", "PX", "30"]);
    let _: Value = q(&mut c, &["SET", "active", "v", "PX", "30"]);
    std::thread::sleep(Duration::from_millis(60));
    let v: Option<String> = q(&mut c, &["GET", "lazy"]);
    assert_eq!(v, None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while q::<i64>(&mut c, &["DBSIZE"]) > 0 {
        assert!(Instant::now() < deadline, "active expiry did not run");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
    p.shutdown();
    let log = std::fs::read_to_string(dir.last_incr()).expect("incr");
    assert!(log.contains("*2\r\n$3\r\nDEL\r\n$4\r\nlazy\r\n"), "{log}");
    assert!(log.contains("*2\r\n$3\r\nDEL\r\n$6\r\nactive\r\n"), "{log}");
}

/// Writes to the same keys from many clients (so many worker threads)
/// replay in the order they were applied.
#[test]
fn concurrent_writes_to_the_same_keys_replay_in_order() {
    let dir = Dir::new("order");
    let p = start(&dir, &["--worker-threads", "4"]);
    let port = p.port;
    let writers: Vec<_> = (0..6)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .expect("connect");
                for n in 0..300 {
                    let v = format!("{t}:{n}");
                    let _: Value = q(&mut c, &["RPUSH", "list", &v]);
                    let _: Value = q(&mut c, &["SET", "last", &v]);
                    let _: Value = q(&mut c, &["MSET", "{x}a", &v, "{x}b", &v]);
                    if n % 3 == 0 {
                        let _: Value = q(&mut c, &["LPOP", "list"]);
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let c = p.conn();
    restarts_the_same(&dir, p, c);
}

/// `appendfsync always`: every acknowledged write survives SIGKILL at a
/// random moment.
#[test]
fn crash_test_acknowledged_writes_survive_sigkill() {
    let dir = Dir::new("crash");
    let started = Instant::now();
    // Per thread: the highest counter value acknowledged, and acked SETs.
    let nthreads = 4;
    type Acked = Arc<Mutex<Vec<(i64, Vec<String>)>>>;
    let acked: Acked = Arc::new(Mutex::new(vec![(0, Vec::new()); nthreads]));
    let mut kills = 0;
    let mut round = 0u64;
    while kills < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(55),
            "crash test too slow"
        );
        let p = start(&dir, &["--appendfsync", "always"]);
        // Check everything acknowledged so far is there.
        {
            let mut c = p.conn();
            let a = acked.lock().expect("lock");
            for (t, (count, sets)) in a.iter().enumerate() {
                let v: Option<i64> = q(&mut c, &["GET", &format!("counter:{t}")]);
                assert!(
                    v.unwrap_or(0) >= *count,
                    "round {round}: counter {t} is {v:?}, {count} was acknowledged"
                );
                for k in sets {
                    let v: Option<String> = q(&mut c, &["GET", k]);
                    assert_eq!(v.as_deref(), Some(k.as_str()), "round {round}: {k} lost");
                }
            }
        }
        let port = p.port;
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..nthreads)
            .map(|t| {
                let acked = acked.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let Ok(mut c) = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                        .and_then(|c| c.get_connection())
                    else {
                        return;
                    };
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let r: redis::RedisResult<i64> =
                            redis::cmd("INCR").arg(format!("counter:{t}")).query(&mut c);
                        let Ok(v) = r else { return };
                        acked.lock().expect("lock")[t].0 = v;
                        let k = format!("k:{t}:{round}:{n}");
                        let r: redis::RedisResult<()> =
                            redis::cmd("SET").arg(&k).arg(&k).query(&mut c);
                        if r.is_err() {
                            return;
                        }
                        acked.lock().expect("lock")[t].1.push(k);
                        n += 1;
                    }
                })
            })
            .collect();
        let pause = 20 + ember::util::rand_u64() % 150;
        if round % 3 == 1 {
            // Killed while a rewrite may be running: nothing is lost either.
            std::thread::sleep(Duration::from_millis(pause / 2));
            let mut c = p.conn();
            let _: Value = q(&mut c, &["BGREWRITEAOF"]);
            std::thread::sleep(Duration::from_millis(pause / 2));
        } else {
            std::thread::sleep(Duration::from_millis(pause));
        }
        p.kill();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("client thread");
        }
        round += 1;
    }
    let total: usize = acked
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, s)| s.len())
        .sum();
    assert!(total > 0, "no write was acknowledged");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let a = acked.lock().expect("lock");
    for (t, (count, sets)) in a.iter().enumerate() {
        let v: Option<i64> = q(&mut c, &["GET", &format!("counter:{t}")]);
        assert!(v.unwrap_or(0) >= *count);
        for k in sets {
            let v: Option<String> = q(&mut c, &["GET", k]);
            assert_eq!(v.as_deref(), Some(k.as_str()), "{k} lost");
        }
    }
}

fn redis_bin() -> Option<&'static str> {
    common::have_tool("redis-server").then_some("redis-server")
}

#[test]
fn redis_written_aof_loads_in_ember() {
    let Some(redis) = redis_bin() else { return };
    // Both of Redis's base formats: RESP, and the RDB preamble (its default).
    for preamble in ["no", "yes"] {
        redis_written_aof_with_preamble(redis, preamble);
    }
}

fn redis_written_aof_with_preamble(redis: &str, preamble: &str) {
    let dir = Dir::new(&format!("fromredis-{preamble}"));
    let p = spawn(
        redis,
        &dir,
        &["--appendonly", "yes", "--aof-use-rdb-preamble", preamble],
    )
    .expect("redis starts");
    let mut c = p.conn();
    fill(&mut c);
    let _: Value = q(&mut c, &["SET", "ttlkey", "v", "EX", "1000"]);
    let _: Value = q(&mut c, &["SADD", "sp", "a", "b", "c", "d"]);
    let _: Value = q(&mut c, &["SPOP", "sp", "2"]);
    let _: Value = q(&mut c, &["INCRBYFLOAT", "fl", "1.25"]);
    let _: Value = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("m1")
        .arg("1")
        .cmd("SET")
        .arg("m2")
        .arg("2")
        .query(&mut c)
        .expect("exec");
    // Half in the base (rewrite), half in the incr file.
    let _: Value = q(&mut c, &["BGREWRITEAOF"]);
    std::thread::sleep(Duration::from_millis(500));
    let _: Value = q(&mut c, &["RPUSH", "after", "1", "2"]);
    restarts_the_same(&dir, p, c);
}

#[test]
fn ember_written_aof_loads_in_redis() {
    let Some(redis) = redis_bin() else { return };
    let dir = Dir::new("toredis");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    fill(&mut c);
    let _: Value = q(&mut c, &["SET", "ttlkey", "v", "EX", "1000"]);
    let _: String = q(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c, 1);
    let _: Value = q(&mut c, &["SADD", "sp", "a", "b", "c", "d"]);
    let _: Value = q(&mut c, &["SPOP", "sp", "2"]);
    let _: Value = q(&mut c, &["INCRBYFLOAT", "fl", "1.25"]);
    let _: Value = q(&mut c, &["SET", "px", "v", "PX", "900000"]);
    let _: Value = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("m1")
        .arg("1")
        .cmd("SELECT")
        .arg("3")
        .cmd("SET")
        .arg("m2")
        .arg("2")
        .query(&mut c)
        .expect("exec");
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let p = spawn(redis, &dir, &["--appendonly", "yes"]).expect("redis starts");
    let mut c = p.conn();
    same(&state(&mut c), &before);
    // And back: what Redis appended loads in Ember again.
    let _: Value = q(&mut c, &["SET", "fromredis", "1"]);
    restarts_the_same(&dir, p, c);
}

#[test]
fn bgrewriteaof_with_appendonly_off_writes_a_base_only() {
    let dir = Dir::new("offrewrite");
    let p = spawn(EMBER, &dir, &[]).expect("starts");
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "a", "1"]);
    let r: String = q(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(r, "Background append only file rewriting started");
    wait_rewrite(&mut c, 1);
    assert_eq!(
        dir.manifest(),
        "file appendonly.aof.1.base.rdb seq 1 type b\n"
    );
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    let _: Value = q(&mut c, &["SET", "b", "2"]);
    drop(c);
    p.shutdown();
    // Started with the AOF on, it loads that base and starts an incr file.
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let v: Vec<Option<String>> = q(&mut c, &["MGET", "a", "b"]);
    assert_eq!(v, [Some("1".into()), None]);
    let _: Value = q(&mut c, &["SET", "c", "3"]);
    drop(c);
    p.shutdown();
    assert_eq!(
        dir.manifest(),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let v: Vec<Option<String>> = q(&mut c, &["MGET", "a", "c"]);
    assert_eq!(v, [Some("1".into()), Some("3".into())]);
    p.shutdown();
}

#[test]
fn evictions_are_logged_as_del() {
    let dir = Dir::new("evict");
    let p = start(&dir, &["--maxmemory-policy", "allkeys-random"]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "victim", "1"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
    let _: Value = q(&mut c, &["GET", "nothing"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 0);
    drop(c);
    p.shutdown();
    let log = std::fs::read_to_string(dir.last_incr()).expect("incr");
    assert!(log.contains("*2\r\n$3\r\nDEL\r\n$6\r\nvictim\r\n"), "{log}");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 0);
    p.shutdown();
}

/// A script's writes are logged as the commands it ran (in MULTI/EXEC when
/// there are several), never as EVAL, and replay to the same state.
#[test]
fn scripts_are_logged_as_their_effects() {
    let dir = Dir::new("scripts");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(
        &mut c,
        &["EVAL", "redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', 'counter'); return redis.call('GET', 'counter')", "1", "k", "v"],
    );
    let _: Value = q(
        &mut c,
        &[
            "EVAL",
            "return redis.call('SET', 'single', math.random(1000))",
            "0",
        ],
    );
    let single: String = q(&mut c, &["GET", "single"]);
    let _: Value = q(&mut c, &["EVAL", "return redis.call('GET', 'k')", "0"]);
    let before = state(&mut c);
    drop(c);
    p.shutdown();
    let mut incr = String::new();
    for e in std::fs::read_dir(dir.aofdir()).unwrap() {
        let path = e.unwrap().path();
        if path.to_string_lossy().ends_with(".incr.aof") {
            incr.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    assert!(!incr.to_ascii_uppercase().contains("EVAL"), "{incr}");
    assert!(
        incr.contains("MULTI") && incr.contains("INCR") && incr.contains("EXEC"),
        "{incr}"
    );
    assert!(
        incr.contains(&single),
        "the random value is logged as it was: {incr}"
    );
    let p = start(&dir, &[]);
    let mut c = p.conn();
    same(&state(&mut c), &before);
    p.shutdown();
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    v
}

#[test]
fn single_file_aof_from_before_redis_7_is_upgraded() {
    // A Redis 6 style `appendonly.aof` in `dir`, in RESP.
    let dir = Dir::new("legacy-resp");
    let mut old = resp(&["SET", "a", "1"]);
    old.extend(resp(&["SELECT", "2"]));
    old.extend(resp(&["RPUSH", "l", "x", "y"]));
    std::fs::write(dir.0.join("appendonly.aof"), &old).expect("write legacy aof");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    let _: Value = q(&mut c, &["SELECT", "2"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "0", "-1"]),
        ["x", "y"]
    );
    // Moved into the AOF directory as the base, named by a manifest.
    assert!(!dir.0.join("appendonly.aof").exists());
    assert_eq!(
        std::fs::read(dir.aofdir().join("appendonly.aof")).expect("moved base"),
        old
    );
    let m = dir.manifest();
    assert!(m.contains("file appendonly.aof seq 1 type b"), "{m}");
    assert!(m.contains("type i"), "{m}");
    let _: Value = q(&mut c, &["SET", "after", "upgrade"]);
    drop(c);
    p.shutdown();
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    let _: Value = q(&mut c, &["SELECT", "2"]);
    assert_eq!(q::<String>(&mut c, &["GET", "after"]), "upgrade");
    // A rewrite retires the old base like any other.
    let _: String = q(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c, 1);
    assert!(!dir.aofdir().join("appendonly.aof").exists());
    drop(c);
    p.shutdown();

    // The same with an RDB preamble (Redis 6's default since 5.0): an RDB
    // image followed by RESP commands, all in the one file.
    let src = Dir::new("legacy-rdb-src");
    let p = spawn(EMBER, &src, &[]).expect("ember starts");
    let mut c = p.conn();
    let _: Value = q(&mut c, &["HSET", "h", "f", "v"]);
    let _: Value = q(&mut c, &["SET", "n", "41"]);
    let _: String = q(&mut c, &["SAVE"]);
    drop(c);
    p.shutdown();
    let dir = Dir::new("legacy-rdb");
    let mut old = std::fs::read(src.0.join("dump.rdb")).expect("dump.rdb");
    old.extend(resp(&["INCR", "n"]));
    std::fs::write(dir.0.join("appendonly.aof"), &old).expect("write legacy aof");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "f"]), "v");
    assert_eq!(q::<i64>(&mut c, &["GET", "n"]), 42);
    assert!(dir.manifest().contains("file appendonly.aof seq 1 type b"));
    drop(c);
    p.shutdown();
}

/// The AOF replays whatever min-replicas-to-write says: Redis obeys its
/// loader, and a write the file holds was accepted once.
#[test]
fn replay_ignores_min_replicas_to_write() {
    let dir = Dir::new("minreplicas");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "k", "v"]);
    let _: Value = q(&mut c, &["RPUSH", "l", "a", "b"]);
    drop(c);
    p.shutdown();
    let p = start(&dir, &["--min-replicas-to-write", "1"]);
    let mut c = p.conn();
    let v: String = q(&mut c, &["GET", "k"]);
    assert_eq!(v, "v");
    let n: i64 = q(&mut c, &["LLEN", "l"]);
    assert_eq!(n, 2);
    let e = redis::cmd("SET").arg("k").arg("w").query::<Value>(&mut c);
    assert!(
        e.is_err_and(|e| e.to_string().contains("NOREPLICAS")),
        "writes from clients are still refused"
    );
    p.shutdown();
}

/// Nothing expires while the AOF replays, as in Redis: a TTL that has
/// passed since (or was already past in the file) applies once the load is
/// done, so a later command on the key extends it instead of making a new
/// key without a TTL. Also for keys of an RDB preamble.
#[test]
fn ttls_past_by_load_time_apply_after_the_replay() {
    let dir = Dir::new("past-ttl");
    let mut old = resp(&["RPUSH", "list", "foo"]);
    old.extend(resp(&["PEXPIREAT", "list", "1000"]));
    old.extend(resp(&["RPUSH", "list", "bar"]));
    old.extend(resp(&["SET", "k", "v", "PXAT", "1000"]));
    old.extend(resp(&["APPEND", "k", "x"]));
    old.extend(resp(&["SET", "live", "1"]));
    std::fs::write(dir.0.join("appendonly.aof"), &old).expect("write aof");
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<i64>(&mut c, &["LLEN", "list"]), 0);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<String>(&mut c, &["GET", "live"]), "1");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    drop(c);
    p.shutdown();

    // An RDB preamble whose key's TTL passes before the load, then a
    // command the key was alive for.
    let src = Dir::new("past-ttl-src");
    let p = spawn(EMBER, &src, &[]).expect("ember starts");
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "k", "v", "PX", "300"]);
    let _: String = q(&mut c, &["SAVE"]);
    drop(c);
    p.shutdown();
    let dir = Dir::new("past-ttl-rdb");
    let mut old = std::fs::read(src.0.join("dump.rdb")).expect("dump.rdb");
    old.extend(resp(&["APPEND", "k", "x"]));
    std::fs::write(dir.0.join("appendonly.aof"), &old).expect("write aof");
    std::thread::sleep(Duration::from_millis(400));
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    drop(c);
    p.shutdown();
}

/// `aof-timestamp-enabled`: a `#TS:<unix seconds>` line before the first
/// record of each second, and at the top of a command-format base; the
/// file still loads.
#[test]
fn timestamp_annotations_are_written_when_enabled() {
    let dir = Dir::new("timestamps");
    let p = start(&dir, &["--aof-use-rdb-preamble", "no"]);
    let mut c = p.conn();
    let _: Value = q(&mut c, &["SET", "before", "1"]);
    let _: Value = q(&mut c, &["CONFIG", "SET", "aof-timestamp-enabled", "yes"]);
    let _: Value = q(&mut c, &["SET", "a", "1"]);
    let _: Value = q(&mut c, &["SET", "b", "2"]);
    let secs = |line: &str| -> u64 {
        line.strip_prefix("#TS:")
            .and_then(|n| n.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("not an annotation: {line:?}"))
    };
    let now = ember::util::now_ms() / 1000;
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(dir.last_incr()).expect("incr");
        if log.contains("\r\nb\r\n") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let ts: Vec<&str> = log.lines().filter(|l| l.starts_with("#TS:")).collect();
    assert!(!ts.is_empty() && ts.len() <= 2, "{log:?}");
    assert!(now.abs_diff(secs(ts[0])) <= 2, "{log:?}");
    // The writes made since it was on follow an annotation.
    let at = log.find("#TS:").unwrap();
    assert!(!log[..at].contains("\r\na\r\n"), "{log:?}");
    let _: String = q(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c, 1);
    let base = std::fs::read_dir(dir.aofdir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".base.aof"))
        .expect("a command-format base");
    let text = std::fs::read_to_string(base).unwrap();
    assert!(now.abs_diff(secs(text.lines().next().unwrap())) <= 2);
    drop(c);
    p.shutdown();
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "2");
    drop(c);
    p.shutdown();
}
