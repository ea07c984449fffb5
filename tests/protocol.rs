//! Wire-level behaviour through raw sockets: pipelining, inline commands,
//! split requests, protocol errors.

mod common;
use common::TestServer;

#[test]
fn ping_and_set_get_through_real_client() {
    let s = TestServer::start();
    let mut c = s.conn();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
}

#[test]
fn mixed_inline_and_multibulk_pipeline_in_one_write() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(
        b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\nget a\r\n\r\nECHO \"x y\"\n",
        b"+PONG\r\n+OK\r\n$1\r\n1\r\n$3\r\nx y\r\n",
    );
}

#[test]
fn request_split_at_every_byte() {
    let s = TestServer::start();
    let mut r = s.raw();
    let req = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    for b in req.iter() {
        r.send(&[*b]);
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    r.expect(b"+OK\r\n$5\r\nvalue\r\n");
}

#[test]
fn oversized_bulk_is_refused_without_allocating() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(
        b"*2\r\n$3\r\nGET\r\n$2147483648\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    assert!(r.is_closed());
    // Other clients are unaffected.
    let mut c = s.conn();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn protocol_errors_close_only_that_connection() {
    let s = TestServer::start();
    for (req, err) in [
        (
            &b"*1\r\n:5\r\n"[..],
            &b"-ERR Protocol error: expected '$', got ':'\r\n"[..],
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"SET a \"b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ] {
        let mut r = s.raw();
        r.roundtrip(req, err);
        assert!(r.is_closed());
    }
}

#[test]
fn unknown_command_and_arity_errors() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(
        b"FOO a b\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
    );
    r.roundtrip(
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
}

#[test]
fn maxclients_refuses_extra_connections() {
    let s = TestServer::with_config(|c| c.maxclients = 2);
    let mut a = s.raw();
    let mut b = s.raw();
    a.roundtrip(b"PING\r\n", b"+PONG\r\n");
    b.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut c = s.raw();
    c.expect(b"-ERR max number of clients reached\r\n");
    assert!(c.is_closed());
    drop(a);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut d = s.raw();
    d.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let s = TestServer::with_config(|c| c.client_query_buffer_limit = 1 << 20);
    let mut r = s.raw();
    // A bulk argument that is allowed by proto-max-bulk-len but never ends.
    r.send(b"*2\r\n$4\r\nECHO\r\n$5000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..32 {
        if std::io::Write::write_all(&mut r.0, &chunk).is_err() {
            break;
        }
    }
    assert!(r.is_closed());
    let mut ok = s.raw();
    ok.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn empty_requests_are_ignored_and_pipelines_are_answered_in_order() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"*0\r\n*-1\r\n\r\n   \r\nPING\r\n", b"+PONG\r\n");
    let mut req = Vec::new();
    let mut want = Vec::new();
    for i in 0..1000 {
        if i % 2 == 0 {
            req.extend_from_slice(format!("SET k{i} {i}\r\n").as_bytes());
            want.extend_from_slice(b"+OK\r\n");
        } else {
            let k = format!("k{}", i - 1);
            req.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
            let v = (i - 1).to_string();
            want.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
        }
    }
    r.roundtrip(&req, &want);
}

#[test]
fn a_client_that_disconnects_mid_request_leaves_the_server_healthy() {
    let s = TestServer::start();
    {
        let mut r = s.raw();
        r.send(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n");
    }
    let mut ok = s.raw();
    ok.roundtrip(b"EXISTS a\r\n", b":0\r\n");
}

#[test]
fn random_garbage_never_takes_the_server_down() {
    let s = TestServer::start();
    // A fixed seed keeps failures reproducible; bounded in count and size.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"*$:+-\r\n0123456789-abcXYZ \"'\\";
    for _ in 0..60 {
        let mut r = s.raw();
        let len = (next() % 300) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if next() % 4 == 0 {
                    next() as u8
                } else {
                    alphabet[(next() % alphabet.len() as u64) as usize]
                }
            })
            .collect();
        let _ = std::io::Write::write_all(&mut r.0, &bytes);
        let _ = r.read_n(1 << 16, std::time::Duration::from_millis(20));
    }
    let mut c = s.conn();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    // A declared multibulk of 2^31-1 arguments is just a pending request.
    let mut r = s.raw();
    r.send(b"*2147483647\r\n$4\r\nPING\r\n");
    let mut ok = s.raw();
    ok.roundtrip(b"PING\r\n", b"+PONG\r\n");
    r.roundtrip(b"*3\r\n", b"-ERR Protocol error: expected '$', got '*'\r\n");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = TestServer::with_config(|c| c.timeout = 1);
    let mut idle = s.raw();
    idle.roundtrip(b"PING\r\n", b"+PONG\r\n");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(idle.is_closed());
    // CONFIG SET timeout 0 turns it off for new reads.
    let mut c = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg("0")
        .query(&mut c)
        .unwrap();
    let mut r = s.raw();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn nul_byte_in_an_inline_request_behaves_like_redis() {
    // Regression: a NUL outside quotes used to spin the parser forever,
    // growing memory. Redis (strchr for the newline) sees no complete line
    // until the inline limit, then answers the protocol error; so do we.
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"ECHO x\0y z\r\nPING\r\n");
    assert!(r
        .read_n(1, std::time::Duration::from_millis(300))
        .is_empty());
    r.send(&vec![b'a'; 70_000]);
    r.expect(b"-ERR Protocol error: too big inline request\r\n");
    assert!(r.is_closed());
    let mut ok = s.raw();
    ok.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

/// Before AUTH, a request may have at most 10 arguments of at most 16 KB
/// (Redis's unauthenticated limits): the client gets Redis's protocol error
/// and is closed, without the server buffering what it declared. After
/// AUTH in the same pipeline, larger requests go through.
#[test]
fn unauthenticated_clients_are_limited() {
    let s = TestServer::with_config(|c| c.requirepass = Some(b"pw".to_vec()));
    let mut r = s.raw();
    r.send(b"*100\r\n");
    r.expect(b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(r.is_closed());
    let mut r = s.raw();
    r.send(b"*1\r\n$100000000\r\n");
    r.expect(b"-ERR Protocol error: unauthenticated bulk length\r\n");
    assert!(r.is_closed());
    let mut r = s.raw();
    let big = "x".repeat(20_000);
    let mut req = b"AUTH pw\r\n".to_vec();
    req.extend_from_slice(
        format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{big}\r\n", big.len()).as_bytes(),
    );
    req.extend_from_slice(b"STRLEN k\r\n");
    r.roundtrip(&req, b"+OK\r\n+OK\r\n:20000\r\n");
}

/// A client that sends a whole pipeline before it reads any reply (as the
/// pipelines of redis-py, Jedis and the `redis` crate do) gets every reply,
/// however far they outgrow the socket buffers: Ember reads the requests
/// while the replies before them wait for the socket, where a server that
/// stopped reading would leave both sides blocked in their sends.
#[test]
fn a_pipeline_sent_whole_before_reading_gets_all_replies() {
    let s = TestServer::start();
    let mut c = s.conn();
    let value = "v".repeat(200);
    let _: () = common::q(&mut c, &["SET", "k", &value]);
    // Blocked sends fail the test instead of hanging it.
    c.set_write_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    // 300,000 replies: 62 MB, many times what loopback buffers hold.
    let n = 300_000;
    let mut p = redis::pipe();
    for _ in 0..n {
        p.cmd("GET").arg("k");
    }
    let got: Vec<String> = p.query(&mut c).expect("the whole pipeline answered");
    assert_eq!(got.len(), n);
    assert!(got.iter().all(|v| *v == value));
    // The connection carries on.
    let pong: String = common::q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}

/// What a client sends while its replies wait for the socket is still
/// bounded by `client-query-buffer-limit`.
#[test]
fn requests_read_while_replies_wait_are_bounded_by_the_query_buffer_limit() {
    let s = TestServer::with_config(|c| c.client_query_buffer_limit = 1 << 20);
    let mut c = s.conn();
    let _: () = common::q(&mut c, &["SET", "k", &"v".repeat(4096)]);
    let mut r = s.raw();
    r.0.set_write_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    // 64 MB of GETs, never reading: 37 GB of replies.
    let chunk = b"GET k\r\n".repeat(10_000);
    let mut refused = None;
    for _ in 0..1000 {
        if let Err(e) = std::io::Write::write_all(&mut r.0, &chunk) {
            refused = Some(e.kind());
            break;
        }
    }
    // Closed (reset, broken pipe), not left blocked (a timed-out send).
    let kind = refused.expect("all requests taken");
    assert!(
        !matches!(
            kind,
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{kind:?}"
    );
    let pong: String = common::q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}
