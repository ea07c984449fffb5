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
