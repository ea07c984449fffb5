//! Handshakes of real client libraries other than the `redis` crate.
//! redis-py (which sends HELLO 3 and CLIENT SETINFO) runs in RESP2 and RESP3.
//! Like the redis-cli tests: with CI=true a missing library fails the test
//! (`.ci/run` installs it); otherwise the test is skipped with a note.

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

#[test]
fn redis_py_in_resp2_and_resp3() {
    let has_py = Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_py {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("redis-py is required when CI=true (pip install redis)");
        }
        eprintln!("note: python3 with redis-py not found; skipping");
        return;
    }
    let s = TestServer::start();
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &s.addr.port().to_string()])
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.trim() == "ok", "{text}");
}
