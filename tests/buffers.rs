//! Connection buffers are given back as Redis gives them back (server::trim):
//! an idle client's query buffer after 2 s, a reply buffer down to 1 KB while
//! its peak stays small, a busy client's big query buffer down to its recent
//! peak; DEBUG REPLYBUFFER and DEBUG PAUSE-CRON control it.

mod common;

use std::time::Duration;

use common::{err, info_u64, q, wait_until, TestServer};

/// The CLIENT LIST fields of the client named `name`.
fn fields(c: &mut redis::Connection, name: &str) -> Option<Vec<(String, String)>> {
    let list: String = q(c, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))?;
    Some(
        line.split(' ')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn field(c: &mut redis::Connection, name: &str, key: &str) -> u64 {
    let f = fields(c, name).unwrap_or_else(|| panic!("client {name} listed"));
    f.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} in {f:?}"))
}

/// Query buffer allocation, as Redis's querybuf test reads it.
fn qbuf_total(c: &mut redis::Connection, name: &str) -> u64 {
    field(c, name, "qbuf") + field(c, name, "qbuf-free")
}

#[test]
fn idle_client_gives_back_both_buffers_and_still_works() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let mut idle = s.raw();
    idle.roundtrip(b"CLIENT SETNAME idler\r\n", b"+OK\r\n");
    let q0 = qbuf_total(&mut admin, "idler");
    assert!(
        (16384..32768).contains(&q0),
        "a new client's query buffer: {q0}"
    );
    assert_eq!(field(&mut admin, "idler", "rbs"), 16384);
    let mem0 = field(&mut admin, "idler", "tot-mem");

    // Peaks reset every 100 ms: the reply buffer shrinks to 1 KB soon.
    q::<()>(
        &mut admin,
        &["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"],
    );
    wait_until("the reply buffer to shrink", 3, || {
        (1024..2048).contains(&field(&mut admin, "idler", "rbs"))
    });
    assert!(info_u64(&mut admin, "reply_buffer_shrinks") >= 1);
    // Idle for more than 2 s: the query buffer is given back.
    wait_until("the query buffer to go", 5, || {
        qbuf_total(&mut admin, "idler") == 0
    });
    let mem1 = field(&mut admin, "idler", "tot-mem");
    assert!(mem1 * 8 < mem0, "tot-mem {mem0} -> {mem1}");

    // The client still works, pipelines included, and reads a reply
    // bigger than its shrunk buffer.
    q::<()>(&mut admin, &["SET", "big", &"x".repeat(40_000)]);
    let mut req = Vec::new();
    for _ in 0..3 {
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    idle.send(&req);
    let mut want = Vec::new();
    for _ in 0..3 {
        want.extend_from_slice(b"$40000\r\n");
        want.extend_from_slice("x".repeat(40_000).as_bytes());
        want.extend_from_slice(b"\r\n");
    }
    idle.expect(&want);
    idle.roundtrip(b"PING\r\n", b"+PONG\r\n");
    assert!(qbuf_total(&mut admin, "idler") >= 16384, "buffer back");
    q::<()>(
        &mut admin,
        &["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "RESET"],
    );
}

#[test]
fn busy_client_big_query_buffer_shrinks_to_its_peak_unless_the_cron_is_paused() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let mut c = s.conn();
    q::<()>(&mut c, &["CLIENT", "SETNAME", "busy"]);
    q::<()>(&mut admin, &["DEBUG", "PAUSE-CRON", "1"]);
    q::<()>(&mut c, &["SET", "x", &"A".repeat(400_000)]);
    let big = qbuf_total(&mut admin, "busy");
    assert!(big > 32768, "{big}");
    // Paused: small requests leave it as it is.
    for _ in 0..15 {
        q::<()>(&mut c, &["SET", "x", "small"]);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(qbuf_total(&mut admin, "busy"), big);
    q::<()>(&mut admin, &["DEBUG", "PAUSE-CRON", "0"]);
    wait_until("the query buffer to shrink", 3, || {
        q::<()>(&mut c, &["SET", "x", "small"]);
        let now = qbuf_total(&mut admin, "busy");
        now > 0 && now < big
    });
}

#[test]
fn busy_client_reply_buffer_holds_its_peak() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let mut c = s.conn();
    q::<()>(&mut c, &["CLIENT", "SETNAME", "reader"]);
    q::<()>(&mut admin, &["SET", "bigval", &"x".repeat(32768)]);
    q::<()>(
        &mut admin,
        &["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER"],
    );
    for _ in 0..10 {
        let v: Vec<u8> = q(&mut c, &["GET", "bigval"]);
        assert_eq!(v.len(), 32768);
        std::thread::sleep(Duration::from_millis(50));
    }
    let rbs = field(&mut admin, "reader", "rbs");
    assert!((16384..32768).contains(&rbs), "{rbs}");
    assert!(field(&mut admin, "reader", "rbp") >= 16384);
}

#[test]
fn debug_replybuffer_arguments_are_checked_as_in_redis() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "soon"]),
        "ERR value is not an integer or out of range"
    );
    assert!(err(&mut c, &["DEBUG", "REPLYBUFFER", "SIZE", "1"])
        .starts_with("ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'"));
    q::<()>(&mut c, &["DEBUG", "REPLYBUFFER", "RESIZING", "0"]);
    q::<()>(&mut c, &["DEBUG", "REPLYBUFFER", "RESIZING", "1"]);
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(info_u64(&mut c, "reply_buffer_expands"), 0);
}
