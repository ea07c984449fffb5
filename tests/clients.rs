//! Handshakes of real client libraries other than the `redis` crate.
//! redis-py (which sends HELLO 3 and CLIENT SETINFO) runs in RESP2 and RESP3.
//! Like the redis-cli tests: with CI=true a missing library fails the test
//! (`.ci/run` installs it); otherwise the test is skipped with a note.
//! Node.js clients are in tests/clients_node.rs.

mod common;
use common::TestServer;
use std::process::Command;

const SCRIPT: &str = r#"
import sys, redis
port = int(sys.argv[1])
for proto in (2, 3):
    r = redis.Redis(port=port, protocol=proto, client_name="py%d" % proto)
    assert r.ping() is True
    assert r.set("k%d" % proto, "v") is True
    assert r.get("k%d" % proto) == b"v"
    assert r.incr("n") >= 1
    assert r.expire("k%d" % proto, 100) is True
    assert 99 <= r.ttl("k%d" % proto) <= 100
    assert r.client_getname() in ("py%d" % proto, b"py%d" % proto)
    assert r.info("persistence")["loading"] == 0
    with r.pipeline(transaction=False) as p:
        p.set("a", 1).incrby("a", 5).get("a")
        assert p.execute() == [True, 6, b"6"]
print("ok")
"#;

/// redis-py's client-side caching (RESP3 + CLIENT TRACKING, invalidation
/// pushes read before each command). redis-py (5.1 and later) refuses it
/// against servers older than 7.4: `CacheProxyConnection.connect` compares
/// the HELLO reply's `version` with `CacheProxyConnection.MIN_ALLOWED_VERSION`
/// ("7.4.0") and raises "client-side caching is supported by Redis 7.4 or
/// later". Ember reports 7.2.4, as Redis 7.2 does (whose tracking protocol
/// is the one 7.4 has), and must keep doing so; so the script lowers only
/// that floor to 7.2.4 (the `server: redis` check stays) and proves the
/// protocol path: cached reads that do not reach the server, and
/// invalidation on another client's write, a script's write and FLUSHALL.
const CSC_SCRIPT: &str = r#"
import sys, time, redis
import redis.connection as rc
from redis.cache import CacheConfig
port = int(sys.argv[1])
assert hasattr(rc.CacheProxyConnection, "MIN_ALLOWED_VERSION"), "redis-py's version check moved"
rc.CacheProxyConnection.MIN_ALLOWED_VERSION = "7.2.4"
r = redis.Redis(port=port, protocol=3, cache_config=CacheConfig())
w = redis.Redis(port=port)
def gets():
    return int(w.info("commandstats").get("cmdstat_get", {}).get("calls", 0))
def until(value):
    deadline = time.time() + 3
    while r.get("csc:py") != value:
        assert time.time() < deadline, "no invalidation for %r" % (value,)
        time.sleep(0.01)
w.set("csc:py", "1")
assert r.get("csc:py") == b"1"
n = gets()
assert r.get("csc:py") == b"1"
assert gets() == n, "the second GET was not served from the cache"
assert r.get_cache().size == 1
w.set("csc:py", "2")
until(b"2")
w.eval("return redis.call('SET', KEYS[1], 'lua')", 1, "csc:py")
until(b"lua")
w.flushall()
until(None)
print("ok")
"#;

fn have_redis_py() -> bool {
    let has_py = Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_py {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("redis-py is required when CI=true (pip install redis)");
        }
        eprintln!("note: python3 with redis-py not found; skipping");
    }
    has_py
}

fn run_py(script: &str) {
    let s = TestServer::start();
    let out = Command::new("python3")
        .args(["-c", script, &s.addr.port().to_string()])
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.trim() == "ok", "{text}");
}

#[test]
fn redis_py_in_resp2_and_resp3() {
    if have_redis_py() {
        run_py(SCRIPT);
    }
}

#[test]
fn redis_py_client_side_caching() {
    if have_redis_py() {
        run_py(CSC_SCRIPT);
    }
}
