//! RDB snapshots through the built binary: SAVE/BGSAVE and restart, save
//! points, SHUTDOWN and SIGTERM saves, failure handling (MISCONF, the old
//! file intact), corrupt files refused at startup, and BGSAVE consistency
//! under concurrent writers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ember-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn spawn(dir: &Path, extra: &[&str]) -> Child {
    let port = free_port();
    spawn_on(dir, port, extra)
}

fn spawn_on(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let mut args: Vec<String> = vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--dir".into(),
        dir.to_string_lossy().into_owned(),
        // Tests move dir and dbfilename around (CONFIG SET).
        "--enable-protected-configs".into(),
        "local".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_ember-server"))
        .args(&args)
        .env("EMBER_TEST_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ember-server")
}

fn start(dir: &Path, extra: &[&str]) -> Proc {
    // A free port can be taken by another test's server between the probe
    // and our bind; then our child exits: try another port.
    for _ in 0..5 {
        let port = free_port();
        let child = spawn_on(dir, port, extra);
        let mut p = Proc { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if p.child.try_wait().ok().flatten().is_some() {
                break;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(20));
                if p.child.try_wait().ok().flatten().is_none() {
                    return p;
                }
                break;
            }
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("server did not start on any of 5 ports");
}

impl Proc {
    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connect")
    }

    /// SIGTERM and wait for the exit status.
    fn term(mut self) -> std::process::ExitStatus {
        let pid = self.child.id() as i32;
        unsafe_kill(pid, 15);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "server did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_exit(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn unsafe_kill(pid: i32, sig: i32) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status();
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(c) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            if detail.is_empty() {
                code
            } else {
                format!("{code} {detail}")
            }
        }
    }
}

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let info: String = q(c, &["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .to_string()
}

/// INFO stats `total_forks`: background snapshots begun (Ember does not
/// fork; SAVE, in the foreground, is not one, as in Redis).
fn forks(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "stats"]);
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in INFO"))
    };
    field("latest_fork_usec");
    field("total_forks")
}

fn wait_bgsave(c: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Data of several types, with and without TTL, in two databases.
fn fill(c: &mut redis::Connection) {
    let _: () = q(c, &["SET", "s", "hello"]);
    let _: () = q(c, &["SET", "n", "12345"]);
    let _: () = q(c, &["SET", "ttl", "x", "EX", "1000"]);
    let _: () = q(c, &["SELECT", "3"]);
    let _: () = q(c, &["SET", "in3", "three"]);
    let _: () = q(c, &["SELECT", "0"]);
}

fn check(c: &mut redis::Connection) {
    assert_eq!(q::<String>(c, &["GET", "s"]), "hello");
    assert_eq!(q::<String>(c, &["GET", "n"]), "12345");
    let ttl: i64 = q(c, &["TTL", "ttl"]);
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    let _: () = q(c, &["SELECT", "3"]);
    assert_eq!(q::<String>(c, &["GET", "in3"]), "three");
    let _: () = q(c, &["SELECT", "0"]);
}

#[test]
fn save_and_restart() {
    let dir = temp_dir("save");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    fill(&mut c);
    let before: i64 = q(&mut c, &["LASTSAVE"]);
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "4");
    std::thread::sleep(Duration::from_millis(1100));
    let _: () = q(&mut c, &["SAVE"]);
    assert_eq!(forks(&mut c), 0);
    assert!(q::<i64>(&mut c, &["LASTSAVE"]) > before);
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
    assert!(dir.join("dump.rdb").exists());
    // No temp files are left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["dump.rdb".to_string()]);
    drop(p);
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    check(&mut c);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 3);
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded"), "4");
}

#[test]
fn bgsave_and_restart() {
    let dir = temp_dir("bgsave");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    fill(&mut c);
    assert_eq!(
        q::<String>(&mut c, &["BGSAVE"]),
        "Background saving started"
    );
    wait_bgsave(&mut c);
    assert_eq!(forks(&mut c), 1);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(err(&mut c, &["BGSAVE", "x"]), "ERR syntax error");
    drop(p);
    let p = start(&dir, &["--save", ""]);
    check(&mut p.conn());
}

#[test]
fn save_point_triggers_background_save() {
    let dir = temp_dir("savepoint");
    let p = start(&dir, &["--save", "1 2"]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "rdb_saves") == "0" {
        assert!(Instant::now() < deadline, "save point did not fire");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_bgsave(&mut c);
    drop(p);
    let p = start(&dir, &["--save", ""]);
    assert_eq!(q::<String>(&mut p.conn(), &["GET", "b"]), "2");
}

#[test]
fn shutdown_save_nosave_and_sigterm() {
    let dir = temp_dir("shutdown");
    // SHUTDOWN NOSAVE: nothing written.
    let p = start(&dir, &["--save", "3600 1"]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "k", "v1"]);
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    assert!(p.wait_exit().success());
    assert!(!dir.join("dump.rdb").exists());
    // SHUTDOWN SAVE writes even without save points.
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "k", "v2"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
    assert!(p.wait_exit().success());
    let p = start(&dir, &["--save", "3600 1"]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v2");
    // SIGTERM with save points configured saves.
    let _: () = q(&mut c, &["SET", "k", "v3"]);
    assert!(p.term().success());
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v3");
    // Without save points, SIGTERM does not save.
    let _: () = q(&mut c, &["SET", "k", "v4"]);
    assert!(p.term().success());
    let p = start(&dir, &["--save", ""]);
    assert_eq!(q::<String>(&mut p.conn(), &["GET", "k"]), "v3");
}

/// shutdown-on-sigterm overrides what SIGTERM does with the save points:
/// `save` saves without them, `nosave` never saves.
#[test]
fn shutdown_on_sigterm_save_and_nosave() {
    let dir = temp_dir("on-sigterm");
    let p = start(&dir, &["--save", "", "--shutdown-on-sigterm", "save"]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "k", "saved"]);
    assert!(p.term().success());
    let p = start(&dir, &["--save", "3600 1"]);
    let mut c = p.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "saved");
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "shutdown-on-sigterm", "nosave now"],
    );
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "shutdown-on-sigterm"]);
    assert_eq!(got, vec!["shutdown-on-sigterm", "nosave now"]);
    assert!(err(
        &mut c,
        &["CONFIG", "SET", "shutdown-on-sigint", "save nosave"]
    )
    .contains("argument(s) must be one of the following"));
    let _: () = q(&mut c, &["SET", "k", "lost"]);
    assert!(p.term().success());
    let p = start(&dir, &["--save", ""]);
    assert_eq!(q::<String>(&mut p.conn(), &["GET", "k"]), "saved");
}

#[test]
fn failed_save_keeps_old_file_and_refuses_writes() {
    let dir = temp_dir("fail");
    let p = start(&dir, &["--save", "3600 1"]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "k", "old"]);
    let _: () = q(&mut c, &["SAVE"]);
    let good = std::fs::read(dir.join("dump.rdb")).unwrap();
    let _: () = q(&mut c, &["SET", "k", "new"]);
    // Make the rename fail: the target name is now a non-empty directory.
    assert!(err(&mut c, &["CONFIG", "SET", "dir", "/nonexistent/dir"])
        .contains("No such file or directory"));
    let _: () = q(&mut c, &["CONFIG", "SET", "dbfilename", "blocked.rdb"]);
    std::fs::create_dir_all(dir.join("blocked.rdb").join("x")).unwrap();
    assert_eq!(err(&mut c, &["SAVE"]), "ERR");
    // A failed foreground SAVE does not stop writes.
    let _: () = q(&mut c, &["SET", "k2", "v"]);
    assert_eq!(
        q::<String>(&mut c, &["BGSAVE"]),
        "Background saving started"
    );
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = err(&mut c, &["SET", "k", "x"]);
    assert!(
        misconf.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{misconf}"
    );
    assert!(err(&mut c, &["PING"]).starts_with("MISCONF"));
    // Reads still work.
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "new");
    // The earlier snapshot is intact and no temp file is left.
    assert_eq!(std::fs::read(dir.join("dump.rdb")).unwrap(), good);
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("temp-")));
    // stop-writes-on-bgsave-error no lifts it; so does a good save.
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
    );
    let _: () = q(&mut c, &["SET", "k", "y"]);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
    );
    assert!(err(&mut c, &["SET", "k", "x"]).starts_with("MISCONF"));
    let _: () = q(&mut c, &["CONFIG", "SET", "dbfilename", "dump.rdb"]);
    let _: () = q(&mut c, &["BGSAVE"]);
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let _: () = q(&mut c, &["SET", "k", "z"]);
}

#[test]
fn corrupt_or_truncated_file_refuses_to_start_and_is_kept() {
    let dir = temp_dir("corrupt");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    for i in 0..200 {
        let _: () = q(&mut c, &["SET", &format!("key{i}"), &format!("value{i}")]);
    }
    let _: () = q(&mut c, &["SAVE"]);
    drop(p);
    let good = std::fs::read(dir.join("dump.rdb")).unwrap();
    let cases: Vec<Vec<u8>> = vec![
        good[..good.len() / 2].to_vec(),
        {
            let mut b = good.clone();
            let n = b.len();
            b[n - 20] ^= 0x55;
            b
        },
        b"REDIS0010garbage".to_vec(),
        b"not an rdb file at all".to_vec(),
    ];
    for bad in cases {
        std::fs::write(dir.join("dump.rdb"), &bad).unwrap();
        let mut child = spawn(&dir, &["--save", "3600 1"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "server started on a corrupt file"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success());
        let mut stderr = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(
            stderr.to_lowercase().contains("loading"),
            "stderr: {stderr}"
        );
        assert_eq!(
            std::fs::read(dir.join("dump.rdb")).unwrap(),
            bad,
            "file was changed"
        );
    }
}

/// Writers keep changing keys while BGSAVE runs. Each writer owns its keys
/// and bumps a per-writer sequence key in the same MULTI as its change; the
/// snapshot must hold, for each writer, exactly the state after the
/// sequence number it contains (no torn or mixed state).
#[test]
fn bgsave_is_consistent_under_concurrent_writes() {
    let dir = temp_dir("consistent");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    // A base to make the walk take a while.
    for chunk in 0..20 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.cmd("SET")
                .arg(format!("base{}", chunk * 1000 + i))
                .arg("x".repeat(50))
                .ignore();
        }
        let _: () = pipe.query(&mut c).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let stop = stop.clone();
            let port = p.port;
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .unwrap();
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    // Keys of writer w in different slots (different shards).
                    let _: () = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg(format!("w{w}:seq"))
                        .arg(n)
                        .cmd("SET")
                        .arg(format!("w{w}:a"))
                        .arg(n)
                        .cmd("SET")
                        .arg(format!("w{w}:b"))
                        .arg(n)
                        .cmd("DEL")
                        .arg(format!("w{w}:gone{}", n - 1))
                        .cmd("SET")
                        .arg(format!("w{w}:gone{n}"))
                        .arg(n)
                        .query(&mut c)
                        .unwrap();
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Slow saves (about 0.2 s each), so the writers change keys while the
    // walk is under way.
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "10"]);
    for _ in 0..3 {
        let _: String = q(&mut c, &["BGSAVE"]);
        assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
        wait_bgsave(&mut c);
    }
    let cow: u64 = info_field(&mut c, "rdb_last_cow_size").parse().unwrap();
    assert!(
        cow > 0,
        "writers during the save were preserved copy-on-write"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        assert!(w.join().unwrap() > 0);
    }
    drop(c);
    drop(p);
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    for w in 0..3 {
        let seq: u64 = q(&mut c, &["GET", &format!("w{w}:seq")]);
        assert_eq!(q::<u64>(&mut c, &["GET", &format!("w{w}:a")]), seq);
        assert_eq!(q::<u64>(&mut c, &["GET", &format!("w{w}:b")]), seq);
        let keys: Vec<String> = q(&mut c, &["KEYS", &format!("w{w}:gone*")]);
        assert_eq!(keys, vec![format!("w{w}:gone{seq}")]);
    }
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "base19999"]), 1);
}

mod common;

/// Everything in every database, in a comparable form.
fn dataset(c: &mut redis::Connection) -> std::collections::BTreeMap<(i64, Vec<u8>), String> {
    let mut all = std::collections::BTreeMap::new();
    for db in 0..16i64 {
        let _: () = q(c, &["SELECT", &db.to_string()]);
        let keys: Vec<Vec<u8>> = q(c, &["KEYS", "*"]);
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let v = match t.as_str() {
                "string" => format!(
                    "{:?}",
                    redis::cmd("GET").arg(&k).query::<Vec<u8>>(c).unwrap()
                ),
                "list" => format!(
                    "{:?}",
                    redis::cmd("LRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .query::<Vec<Vec<u8>>>(c)
                        .unwrap()
                ),
                "hash" => {
                    let m: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
                        redis::cmd("HGETALL").arg(&k).query(c).unwrap();
                    format!("{m:?}")
                }
                "set" => {
                    let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
                    m.sort();
                    format!("{m:?}")
                }
                "zset" => format!(
                    "{:?}",
                    redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query::<Vec<Vec<u8>>>(c)
                        .unwrap()
                ),
                other => panic!("unexpected type {other}"),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).unwrap();
            // Whether there is a TTL, and that it is plausible (the two
            // servers read it at different moments).
            assert!(pttl < 0 || pttl <= 5_000_000, "pttl {pttl}");
            let ttl = if pttl < 0 { pttl } else { 1 };
            all.insert((db, k), format!("{t} {v} ttl={ttl}"));
        }
    }
    let _: () = q(c, &["SELECT", "0"]);
    all
}

/// Compare two datasets, reporting the first difference readably.
fn same(
    a: &std::collections::BTreeMap<(i64, Vec<u8>), String>,
    b: &std::collections::BTreeMap<(i64, Vec<u8>), String>,
) {
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        if x != y {
            let short = |v: Option<&String>| v.map(|s| s.chars().take(300).collect::<String>());
            panic!(
                "key db{} {:?} differs:\n  left:  {:?}\n  right: {:?}",
                k.0,
                String::from_utf8_lossy(&k.1),
                short(x),
                short(y)
            );
        }
    }
}

/// Every type in its small and large encodings, in several databases.
fn fill_all_types(c: &mut redis::Connection) {
    let big: Vec<String> = (0..300).map(|i| format!("member-{i}")).collect();
    let mut p = redis::pipe();
    p.cmd("SET").arg("str").arg("plain").ignore();
    p.cmd("SET").arg("int").arg("-123456789").ignore();
    p.cmd("SET").arg("long").arg("z".repeat(5000)).ignore();
    p.cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(5000)
        .ignore();
    p.cmd("RPUSH")
        .arg("list-small")
        .arg(&["a", "b", "1", "-2", "c"])
        .ignore();
    p.cmd("RPUSH").arg("list-big").arg(&big).ignore();
    p.cmd("RPUSH")
        .arg("list-huge-elem")
        .arg("y".repeat(20000))
        .arg("small")
        .ignore();
    p.cmd("HSET")
        .arg("hash-small")
        .arg(&["f1", "v1", "f2", "2"])
        .ignore();
    for (i, m) in big.iter().enumerate() {
        p.cmd("HSET").arg("hash-big").arg(m).arg(i).ignore();
        p.cmd("ZADD")
            .arg("zset-big")
            .arg(i as f64 * 1.5 - 7.0)
            .arg(m)
            .ignore();
        p.cmd("SADD").arg("set-big").arg(m).ignore();
        p.cmd("SADD").arg("intset-big").arg(i * 1000).ignore();
    }
    p.cmd("SADD")
        .arg("intset")
        .arg(&["1", "2", "-3", "70000", "5000000000"])
        .ignore();
    p.cmd("SADD")
        .arg("set-small")
        .arg(&["x", "y", "z"])
        .ignore();
    p.cmd("ZADD")
        .arg("zset-small")
        .arg(&["1", "a", "2.5", "b", "-inf", "c", "inf", "d"])
        .ignore();
    p.cmd("SELECT").arg(5).ignore();
    p.cmd("SET").arg("in5").arg("five").ignore();
    p.cmd("HSET").arg("h5").arg("k").arg("v").ignore();
    p.cmd("SELECT").arg(0).ignore();
    let _: () = p.query(c).unwrap();
}

fn start_redis(dir: &Path, port: u16) -> Child {
    start_redis_with(dir, port, &[])
}

fn start_redis_with(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.to_string_lossy(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--sanitize-dump-payload",
            "yes",
            "--enable-protected-configs",
            "yes",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut c) = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|c| c.get_connection())
        {
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Redis loads Ember's dump.rdb (and redis-check-rdb accepts it), and Ember
/// loads Redis's, with every key equal.
#[test]
fn rdb_files_move_both_ways_with_real_redis() {
    if !common::have_tool("redis-server") || !common::have_tool("redis-check-rdb") {
        return;
    }
    // Ember → Redis.
    let dir = temp_dir("to-redis");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    fill_all_types(&mut c);
    let ours = dataset(&mut c);
    let _: () = q(&mut c, &["SAVE"]);
    drop(p);
    let check = Command::new("redis-check-rdb")
        .arg(dir.join("dump.rdb"))
        .output()
        .expect("run redis-check-rdb");
    let out = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success() && out.contains("RDB looks OK"),
        "redis-check-rdb: {out}"
    );
    let port = free_port();
    let mut redis = start_redis(&dir, port);
    let mut rc = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap();
    let theirs = dataset(&mut rc);
    same(&ours, &theirs);
    // Redis → Ember: Redis writes a file from the same data.
    let dir2 = temp_dir("from-redis");
    let _: () = q(&mut rc, &["CONFIG", "SET", "dir", &dir2.to_string_lossy()]);
    let _: () = q(&mut rc, &["SAVE"]);
    let _ = redis.kill();
    let _ = redis.wait();
    let p = start(&dir2, &["--save", ""]);
    let mut c = p.conn();
    same(&dataset(&mut c), &theirs);
    // Encodings follow Ember's own rules after loading.
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "hash-small"]),
        "listpack"
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "hash-big"]),
        "hashtable"
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "intset"]),
        "intset"
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "zset-big"]),
        "skiplist"
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "list-small"]),
        "listpack"
    );
}

/// Every type and encoding survives SAVE and a restart, encodings included.
#[test]
fn every_type_round_trips_through_save_and_restart() {
    let dir = temp_dir("types");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    fill_all_types(&mut c);
    let before = dataset(&mut c);
    let keys: Vec<String> = q(&mut c, &["KEYS", "*"]);
    let encodings: Vec<(String, String)> = keys
        .iter()
        .map(|k| (k.clone(), q::<String>(&mut c, &["OBJECT", "ENCODING", k])))
        .collect();
    let _: () = q(&mut c, &["SAVE"]);
    drop(p);
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    same(&dataset(&mut c), &before);
    for (k, enc) in encodings {
        assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", &k]), enc, "{k}");
    }
}

/// The pidfile exists while the server runs and is removed at shutdown.
#[test]
fn pidfile_written_and_removed() {
    let dir = temp_dir("pidfile");
    let pidfile = dir.join("ember.pid");
    let p = start(
        &dir,
        &["--save", "", "--pidfile", &pidfile.to_string_lossy()],
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, p.child.id());
    assert!(p.term().success());
    assert!(!pidfile.exists());
}

/// Relative pidfile and logfile names are under `dir`, as Redis (after its
/// chdir) finds them.
#[test]
fn relative_pidfile_and_logfile_live_under_dir() {
    let dir = temp_dir("rel-files");
    let p = start(
        &dir,
        &["--save", "", "--pidfile", "rel.pid", "--logfile", "rel.log"],
    );
    let pid: u32 = std::fs::read_to_string(dir.join("rel.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, p.child.id());
    assert!(dir.join("rel.log").exists());
    assert!(p.term().success());
    assert!(!dir.join("rel.pid").exists());
}

/// DEBUG RELOAD saves, empties and loads back: everything is as before.
#[test]
fn debug_reload_round_trips_in_place() {
    let dir = temp_dir("reload");
    let p = start(&dir, &["--save", "", "--enable-debug-command", "yes"]);
    let mut c = p.conn();
    fill_all_types(&mut c);
    let before = dataset(&mut c);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    same(&dataset(&mut c), &before);
    let _: () = q(&mut c, &["SET", "extra", "1"]);
    // NOSAVE loads the file as it is (without the new key).
    let _: () = q(&mut c, &["DEBUG", "RELOAD", "NOSAVE"]);
    same(&dataset(&mut c), &before);
    assert_eq!(
        err(&mut c, &["DEBUG", "RELOAD", "BOGUS"]),
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    );
}

/// FLUSHALL with save points saves the empty data set at once (so
/// rdb_changes_since_last_save is 0 and a restart is empty), and stops a
/// running BGSAVE of the data just flushed (which is not a failure), as
/// Redis does; without save points nothing is saved.
#[test]
fn flushall_saves_the_empty_set_and_stops_a_bgsave() {
    let dir = temp_dir("flushall");
    let p = start(&dir, &["--save", "3600 1"]);
    let mut c = p.conn();
    for i in 0..5 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "10000000"]);
    let _: String = q(&mut c, &["BGSAVE"]);
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    let _: () = q(&mut c, &["FLUSHALL"]);
    // 50 s of delay left: stopping is what ends it now.
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    // Without save points: nothing saved, the change counts.
    let _: () = q(&mut c, &["SET", "late", "v"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "save", ""]);
    let _: () = q(&mut c, &["FLUSHALL"]);
    assert_ne!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    drop(c);
    assert!(p.term().success());
    let p = start(&dir, &[]);
    let mut c = p.conn();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

/// A save that cannot even create its file still ends its snapshot: the
/// next save has every key (a snapshot left mid-walk made the next one skip
/// the keys it had marked).
#[test]
fn failed_save_leaves_the_next_one_complete() {
    let dir = temp_dir("save-fail-next");
    let p = start(&dir, &["--save", ""]);
    let mut c = p.conn();
    for i in 0..50 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let sub = dir.join("gone");
    std::fs::create_dir_all(&sub).unwrap();
    let _: () = q(&mut c, &["CONFIG", "SET", "dir", sub.to_str().unwrap()]);
    std::fs::remove_dir_all(&sub).unwrap();
    assert!(err(&mut c, &["SAVE"]).starts_with("ERR"));
    std::fs::create_dir_all(&sub).unwrap();
    let _: () = q(&mut c, &["SAVE"]);
    drop(c);
    assert!(p.term().success());
    let p = start(&sub, &[]);
    let mut c = p.conn();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 50);
}

/// DEBUG RELOAD NOFLUSH loads over what is there: a key or FUNCTION library
/// the file also has fails the load unless MERGE lets the file's replace it
/// (Redis's RDBFLAGS_ALLOW_DUP); the default flush empties the libraries
/// too, and the file brings them back.
#[test]
fn debug_reload_noflush_needs_merge_for_duplicates() {
    let dir = temp_dir("reload-merge");
    let p = start(&dir, &["--save", "", "--enable-debug-command", "yes"]);
    let mut c = p.conn();
    let lib = "#!lua name=lib\nredis.register_function('one', function() return 1 end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", lib]);
    let _: () = q(&mut c, &["SET", "k", "saved"]);
    let _: () = q(&mut c, &["SAVE"]);
    let _: () = q(&mut c, &["SET", "k", "changed"]);
    let _: () = q(&mut c, &["SET", "other", "kept"]);
    let load_err = "ERR Error trying to load the RDB dump, check server logs.";
    assert_eq!(
        err(&mut c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]),
        load_err
    );
    let _: () = q(&mut c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "saved");
    assert_eq!(q::<String>(&mut c, &["GET", "other"]), "kept");
    assert_eq!(q::<i64>(&mut c, &["FCALL", "one", "0"]), 1);
    // A library only in memory goes with the default flush.
    let _: () = q(&mut c, &["FUNCTION", "FLUSH"]);
    let two = "#!lua name=two\nredis.register_function('two', function() return 2 end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", two]);
    let _: () = q(&mut c, &["DEBUG", "RELOAD", "NOSAVE"]);
    assert_eq!(q::<i64>(&mut c, &["FCALL", "one", "0"]), 1);
    assert!(err(&mut c, &["FCALL", "two", "0"]).contains("Function not found"));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "other"]), 0);
}

/// FUNCTION libraries persist: in dump.rdb (FUNCTION2 records) across SAVE
/// and restart, and through the AOF (FUNCTION LOAD logged, and in the RDB
/// base after BGREWRITEAOF).
#[test]
fn functions_survive_restart_through_rdb_and_aof() {
    let lib = "#!lua name=mylib\nredis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)";
    for aof in [false, true] {
        let dir = temp_dir(if aof {
            "functions-aof"
        } else {
            "functions-rdb"
        });
        let args: &[&str] = if aof {
            &["--save", "", "--appendonly", "yes"]
        } else {
            &["--save", ""]
        };
        let p = start(&dir, args);
        let mut c = p.conn();
        assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "mylib");
        let _: () = q(&mut c, &["SET", "k", "v"]);
        if aof {
            let _: String = q(&mut c, &["BGREWRITEAOF"]);
            std::thread::sleep(Duration::from_millis(500));
            let lib2 = "#!lua name=lib2\nredis.register_function('two', function() return 2 end)";
            assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib2]), "lib2");
        } else {
            let _: () = q(&mut c, &["SAVE"]);
        }
        drop(c);
        assert!(p.term().success());
        let p = start(&dir, args);
        let mut c = p.conn();
        assert_eq!(
            q::<String>(&mut c, &["FCALL", "hello", "0", "there"]),
            "hi there"
        );
        assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
        if aof {
            assert_eq!(q::<i64>(&mut c, &["FCALL", "two", "0"]), 2);
        }
    }
}

/// Under an LRU policy a snapshot records each key's idle time, under an LFU
/// one its counter (the RDB `IDLE` / `FREQ` records, as Redis saves them),
/// and loading restores them; Redis reads ours and we read Redis's.
#[test]
fn idle_times_and_lfu_counters_survive_a_reload() {
    let dir = temp_dir("idle-freq");
    let p = start(
        &dir,
        &[
            "--save",
            "",
            "--enable-debug-command",
            "yes",
            "--maxmemory-policy",
            "allkeys-lru",
        ],
    );
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "src", "v"]);
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut c).unwrap();
    let restore = |c: &mut redis::Connection, key: &str, opt: &str, n: &str| {
        let _: () = redis::cmd("RESTORE")
            .arg(key)
            .arg(0)
            .arg(&payload)
            .arg(opt)
            .arg(n)
            .query(c)
            .unwrap();
    };
    restore(&mut c, "old", "IDLETIME", "5000");
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "old"]);
    assert!((5000..5100).contains(&idle), "{idle}");
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "src"]) < 100);

    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    restore(&mut c, "hot", "FREQ", "100");
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "hot"]), 100);
    let _: () = q(&mut c, &["SAVE"]);
    drop(p);

    if !common::have_tool("redis-server") {
        return;
    }
    // Redis, under the same policy, loads the counter we saved...
    let port = free_port();
    let mut redis = start_redis_with(&dir, port, &["--maxmemory-policy", "allkeys-lfu"]);
    let mut rc = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap();
    assert_eq!(q::<i64>(&mut rc, &["OBJECT", "FREQ", "hot"]), 100);
    // ...and saves idle times we load.
    let _: () = q(
        &mut rc,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    );
    let _: () = redis::cmd("RESTORE")
        .arg("old2")
        .arg(0)
        .arg(&payload)
        .arg("IDLETIME")
        .arg("7000")
        .query(&mut rc)
        .unwrap();
    let _: () = q(&mut rc, &["SAVE"]);
    let _ = redis.kill();
    let _ = redis.wait();
    let p = start(&dir, &["--save", "", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = p.conn();
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "old2"]);
    assert!((7000..7100).contains(&idle), "{idle}");
}
