//! Shared test harness: start an Ember server in-process on an ephemeral port
//! and talk to it through the `redis` crate or a raw socket.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ember::config::Config;
use ember::server::{start, ServerHandle};

pub struct TestServer {
    handle: Option<ServerHandle>,
    pub addr: SocketAddr,
}

impl TestServer {
    /// A server with default settings on 127.0.0.1:<ephemeral>.
    pub fn start() -> TestServer {
        Self::with_config(|_| {})
    }

    /// A server with settings adjusted by `f` (port and bind are forced).
    pub fn with_config(f: impl FnOnce(&mut Config)) -> TestServer {
        // No save points and a private directory: a test never reads or
        // writes a dump.rdb it did not ask for.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ember-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut c = Config {
            worker_threads: 2,
            save: String::new(),
            dir: dir.to_string_lossy().into_owned(),
            // Test clients connect over loopback.
            enable_debug_command: "local".into(),
            // Tests move dir and dbfilename around (CONFIG SET).
            enable_protected_configs: "local".into(),
            ..Config::default()
        };
        f(&mut c);
        c.port = 0;
        c.bind = vec!["127.0.0.1".into()];
        let handle = start(c).expect("server starts");
        let addr = handle.addr();
        TestServer {
            handle: Some(handle),
            addr,
        }
    }

    pub fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().expect("running")
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A `redis` crate client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("valid url")
    }

    /// A synchronous connection through the `redis` crate.
    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connects")
    }

    /// A raw TCP connection.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(self.addr).expect("connects");
        s.set_nodelay(true).ok();
        Raw(s)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }
}

/// A raw socket for protocol-level tests.
pub struct Raw(pub TcpStream);

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).expect("write");
    }

    /// Read until exactly `expected` arrives (or fail after 5 s), then check
    /// nothing more came quickly.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len(), Duration::from_secs(5));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// Send `req` and expect exactly `reply`.
    pub fn roundtrip(&mut self, req: &[u8], reply: &[u8]) {
        self.send(req);
        self.expect(reply);
    }

    /// Read `n` bytes or whatever came before the timeout.
    pub fn read_n(&mut self, n: usize, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.0.set_read_timeout(Some(left)).ok();
            match self.0.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(_) => break,
            }
        }
        buf.truncate(got);
        buf
    }

    /// Whether the server closed the connection (reads EOF within 2 s).
    pub fn is_closed(&mut self) -> bool {
        self.0.set_read_timeout(Some(Duration::from_secs(2))).ok();
        let mut b = [0u8; 64];
        matches!(self.0.read(&mut b), Ok(0)) || matches!(self.0.read(&mut b), Ok(0))
    }
}

/// Whether an external tool (redis-cli, redis-server) is on PATH. When it is
/// missing, the calling test must not pass silently under CI: with CI=true
/// this panics; otherwise it prints a note and the test returns early.
pub fn have_tool(name: &str) -> bool {
    // Found if it runs at all (`openssl --version` exits non-zero).
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} is required when CI=true (.ci/run installs it)");
        }
        eprintln!("note: {name} not found; skipping this test (it fails under CI=true)");
    }
    found
}

/// Run a command through the `redis` crate and convert its reply; panics
/// with the command on failure.
pub fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut command = redis::cmd(args[0]);
    for a in &args[1..] {
        command.arg(*a);
    }
    command.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Run a command that must fail; returns the error line as it was on the
/// wire ("<CODE> <detail>", e.g. "ERR syntax error").
/// A numeric INFO field (any section).
pub fn info_u64(c: &mut redis::Connection, name: &str) -> u64 {
    let info: String = q(c, &["INFO", "all"]);
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no {name}"))
}

/// `CONFIG SET name value`, which must succeed.
pub fn config_set(c: &mut redis::Connection, name: &str, value: &str) {
    let _: () = q(c, &["CONFIG", "SET", name, value]);
}

pub fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut command = redis::cmd(args[0]);
    for a in &args[1..] {
        command.arg(*a);
    }
    match command.query::<redis::Value>(c) {
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
    }
}

/// Start a server on a free port: `make(port)` builds its command. Another
/// test's server may take the port between the probe and the bind: then
/// the child exits, or another process answers (its INFO `process_id` is
/// not the child's), and a new port is tried.
fn spawn_on_free_port(
    what: &str,
    mut make: impl FnMut(u16) -> std::process::Command,
) -> (std::process::Child, u16) {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = make(port)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            if let Some(pid) = process_id(port) {
                if pid == child.id() {
                    return (child, port);
                }
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            assert!(Instant::now() < deadline, "{what} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{what} did not start on any of 5 ports");
}

/// A real `redis-server` child for side-by-side tests, killed when dropped.
pub struct RealRedis {
    child: std::process::Child,
    pub port: u16,
}

impl RealRedis {
    /// Start `redis-server --port <free> --bind 127.0.0.1 --save ""
    /// --appendonly no` followed by `extra`. It runs in a private
    /// directory, so it never loads a dump.rdb left in the working directory.
    pub fn start(extra: &[&str]) -> RealRedis {
        let (child, port) = spawn_on_free_port("redis-server", |port| {
            let dir = std::env::temp_dir().join(format!("ember-real-redis-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            let mut cmd = std::process::Command::new("redis-server");
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--dir", &dir.to_string_lossy()])
                .args(extra);
            cmd
        });
        RealRedis { child, port }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The built `ember-server` as a child process, killed when dropped: for
/// what an in-process server cannot show (the counting allocator's exact
/// `used_memory`, the process's own OOM score).
pub struct Binary {
    child: std::process::Child,
    pub port: u16,
}

impl Binary {
    /// `ember-server --port <free> --bind 127.0.0.1 --save ""` and `extra`,
    /// in a private directory (a dump.rdb in the working directory would
    /// otherwise be loaded).
    pub fn start(extra: &[&str]) -> Binary {
        let (child, port) = spawn_on_free_port("ember-server", |port| {
            let dir = std::env::temp_dir().join(format!("ember-binary-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ember-server"));
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--dir", &dir.to_string_lossy()])
                .args(extra);
            cmd
        });
        Binary { child, port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connect")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `process_id` from INFO of whatever answers on `port`.
fn process_id(port: u16) -> Option<u32> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got);
        if let Some(at) = text.find("process_id:") {
            let rest = &text[at + "process_id:".len()..];
            if let Some(end) = rest.find("\r\n") {
                return rest[..end].trim().parse().ok();
            }
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// INFO `blocked_clients`.
pub fn blocked_clients(c: &mut redis::Connection) -> i64 {
    let info: String = q(c, &["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("blocked_clients")
}

/// Wait (at most 5 s) until exactly `n` clients are blocked.
pub fn wait_blocked(c: &mut redis::Connection, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(c) != n {
        assert!(
            Instant::now() < deadline,
            "never reached {n} blocked clients"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Poll `cond` every 20 ms until it holds; fail naming `what` after `secs`.
pub fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
