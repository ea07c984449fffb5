//! `maxmemory-clients` (client eviction, Redis 7): the largest clients are
//! closed while all clients together use the limit or more; CLIENT NO-EVICT
//! exempts a client. A client's memory includes the reply bytes its
//! socket has not taken yet (CLIENT LIST `omem`), as in Redis.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{config_set, err, info_u64, q, wait_until, Raw, TestServer};

/// A client that starts a request with one `size`-byte argument and sends
/// all of it but the last bytes: its query buffer holds it.
fn partial(s: &TestServer, name: &str, size: usize) -> Raw {
    let mut r = s.raw();
    r.send(format!("CLIENT SETNAME {name}\r\n").as_bytes());
    r.expect(b"+OK\r\n");
    let mut req = format!("*2\r\n$3\r\nGET\r\n${size}\r\n").into_bytes();
    req.extend(std::iter::repeat_n(b'v', size - 10));
    r.send(&req);
    r
}

fn names(c: &mut redis::Connection) -> Vec<String> {
    let list: String = q(c, &["CLIENT", "LIST"]);
    list.lines()
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("name=")))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn config_values_as_redis_takes_them() {
    let s = TestServer::start();
    let mut c = s.conn();
    let get = |c: &mut redis::Connection| {
        q::<Vec<String>>(c, &["CONFIG", "GET", "maxmemory-clients"])[1].clone()
    };
    assert_eq!(get(&mut c), "0");
    config_set(&mut c, "maxmemory-clients", "7%");
    assert_eq!(get(&mut c), "7%");
    config_set(&mut c, "maxmemory-clients", "3mb");
    assert_eq!(get(&mut c), "3145728");
    let pre = "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - ";
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxmemory-clients", "101%"]),
        format!("{pre}percentage argument must be less or equal to 100")
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxmemory-clients", "lots"]),
        format!("{pre}argument must be a memory or percent value")
    );
    assert_eq!(info_u64(&mut c, "evicted_clients"), 0);
    assert!(info_u64(&mut c, "mem_clients_normal") > 0);
}

#[test]
fn a_big_query_buffer_is_evicted_and_no_evict_exempts() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "on"]);
    let list: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(list.contains(" flags=e "), "{list}");
    config_set(&mut c, "maxmemory-clients", "1mb");
    // Under the limit: stays.
    let small = partial(&s, "small", 300_000);
    wait_until("small query buffer not seen", 5, || {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        list.lines()
            .any(|l| l.contains("name=small") && !l.contains(" qbuf=0 "))
    });
    // Over it: the big one goes, the small one stays.
    let mut big = partial(&s, "big", 2_000_000);
    wait_until("big client not evicted", 5, || {
        !names(&mut c).contains(&"big".to_string())
    });
    assert!(big.is_closed());
    assert_eq!(info_u64(&mut c, "evicted_clients"), 1);
    assert!(names(&mut c).contains(&"small".to_string()));
    drop(small);
    // Exempt: NO-EVICT on keeps a client over the limit.
    let mut kept = s.raw();
    kept.send(b"CLIENT NO-EVICT on\r\n");
    kept.expect(b"+OK\r\n");
    kept.send(b"CLIENT SETNAME kept\r\n");
    kept.expect(b"+OK\r\n");
    let mut req = b"*2\r\n$3\r\nGET\r\n$2000000\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'v', 1_999_990));
    kept.send(&req);
    wait_until("kept client's query buffer not seen", 5, || {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        list.lines()
            .any(|l| l.contains("name=kept") && l.contains(" qbuf=2000"))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(names(&mut c).contains(&"kept".to_string()));
    assert_eq!(info_u64(&mut c, "evicted_clients"), 1);
}

/// Lowering the limit evicts at once, the largest clients first, only
/// until the rest fit.
#[test]
fn lowering_the_limit_evicts_the_largest_first() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "on"]);
    let sizes = [200_000, 400_000, 800_000];
    let clients: Vec<Raw> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| partial(&s, &format!("c{i}"), n))
        .collect();
    wait_until("query buffers not filled", 5, || {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        sizes.iter().enumerate().all(|(i, &n)| {
            list.lines().any(|l| {
                l.contains(&format!(" name=c{i} "))
                    && l.split(' ')
                        .find_map(|f| f.strip_prefix("qbuf="))
                        .and_then(|v| v.parse::<usize>().ok())
                        .is_some_and(|q| q >= n - 10)
            })
        })
    });
    // Room for the two smaller ones (and this connection), not the third.
    config_set(&mut c, "maxmemory-clients", "900kb");
    let left = names(&mut c);
    assert!(!left.contains(&"c2".to_string()), "{left:?}");
    assert!(
        left.contains(&"c0".to_string()) && left.contains(&"c1".to_string()),
        "{left:?}"
    );
    assert_eq!(info_u64(&mut c, "evicted_clients"), 1);
    drop(clients);
}

/// Commands queued in MULTI count (CLIENT LIST `multi-mem`).
#[test]
fn a_growing_multi_queue_is_evicted() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "on"]);
    config_set(&mut c, "maxmemory-clients", "1mb");
    let mut m = s.raw();
    m.send(b"MULTI\r\n");
    m.expect(b"+OK\r\n");
    let value = "v".repeat(300_000);
    let set = format!(
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{value}\r\n",
        value.len()
    );
    m.send(set.as_bytes());
    m.expect(b"+QUEUED\r\n");
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains(" multi-mem=300"), "{list}");
    for _ in 0..4 {
        m.send(set.as_bytes());
    }
    assert!(m.is_closed());
    assert_eq!(info_u64(&mut c, "evicted_clients"), 1);
    let _: () = q(&mut c, &["PING"]);
}

/// A field of `name`'s CLIENT LIST line; None once it is gone.
fn client_field(c: &mut redis::Connection, name: &str, field: &str) -> Option<u64> {
    let list: String = q(c, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))?;
    line.split(' ')
        .find_map(|f| f.strip_prefix(field)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// A raw client named `reader` that has asked for a `big`-byte value and
/// reads none of it.
fn stalled_reader(s: &TestServer, c: &mut redis::Connection, big: usize) -> Raw {
    let _: () = q(c, &["SET", "big", &"x".repeat(big)]);
    let mut raw = s.raw();
    raw.send(b"CLIENT SETNAME reader\r\n");
    assert_eq!(raw.read_n(5, Duration::from_secs(5)), b"+OK\r\n");
    raw.send(b"GET big\r\n");
    raw
}

#[test]
fn a_reply_the_socket_has_not_taken_counts_as_output() {
    // As Redis counts its reply list until the socket takes it: CLIENT
    // LIST omem and tot-mem, INFO's recent output peak, maxmemory-clients.
    let s = TestServer::start();
    let mut c = s.conn();
    let big = 48 << 20;
    let _raw = stalled_reader(&s, &mut c, big);
    // Loopback buffers take a few MB at most; the rest waits in Ember.
    let until = Instant::now() + Duration::from_secs(10);
    let omem = loop {
        let omem = client_field(&mut c, "reader", "omem").expect("connected");
        if omem > 16 << 20 {
            break omem;
        }
        assert!(Instant::now() < until, "omem stayed at {omem}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(omem <= big as u64 + 64, "omem {omem}");
    let tot = client_field(&mut c, "reader", "tot-mem").expect("connected");
    assert!(tot >= omem, "tot-mem {tot} < omem {omem}");
    // The cron samples it once a second.
    let until = Instant::now() + Duration::from_secs(5);
    while info_u64(&mut c, "client_recent_max_output_buffer") < 16 << 20 {
        assert!(Instant::now() < until, "no output peak in INFO");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(info_u64(&mut c, "client_recent_max_input_buffer") > 0);
    // The largest client goes first when clients pass maxmemory-clients.
    // (Not this one: its query buffer held the 48 MB SET and may not have
    // been given back yet.)
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "on"]);
    config_set(&mut c, "maxmemory-clients", "8mb");
    let until = Instant::now() + Duration::from_secs(5);
    while client_field(&mut c, "reader", "omem").is_some() {
        assert!(Instant::now() < until, "the reader was not evicted");
        std::thread::sleep(Duration::from_millis(20));
    }
    config_set(&mut c, "maxmemory-clients", "0");
    assert_eq!(info_u64(&mut c, "evicted_clients"), 1);
}

#[test]
fn output_goes_back_to_zero_once_the_socket_takes_it() {
    let s = TestServer::start();
    let mut c = s.conn();
    let big = 24 << 20;
    let mut raw = stalled_reader(&s, &mut c, big);
    let until = Instant::now() + Duration::from_secs(10);
    while client_field(&mut c, "reader", "omem").expect("connected") == 0 {
        assert!(Instant::now() < until, "omem stayed 0");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut got = 0;
    let header = format!("${big}\r\n").len();
    let mut buf = vec![0u8; 1 << 20];
    raw.0.set_read_timeout(Some(Duration::from_secs(10))).ok();
    while got < header + big + 2 {
        let n = raw.0.read(&mut buf).expect("reply");
        assert!(n > 0, "closed after {got} bytes");
        got += n;
    }
    // The connection notes the write's end just after the bytes left.
    wait_until("omem back to 0", 5, || {
        client_field(&mut c, "reader", "omem") == Some(0)
    });
}

#[test]
fn watched_keys_and_subscriptions_count_toward_a_client() {
    // As Redis's getClientMemoryUsage: the watched-key list and the
    // client's subscription entries are part of `tot-mem`.
    let s = TestServer::start();
    let mut c = s.conn();
    let mut w = s.conn();
    let _: () = q(&mut w, &["CLIENT", "SETNAME", "watcher"]);
    let base = client_field(&mut c, "watcher", "tot-mem").unwrap();
    let keys: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
    let mut watch = vec!["WATCH"];
    watch.extend(keys.iter().map(String::as_str));
    let _: () = q(&mut w, &watch);
    let watching = client_field(&mut c, "watcher", "tot-mem").unwrap();
    assert!(watching >= base + 1000 * 8, "{base} -> {watching}");
    let _: () = q(&mut w, &["UNWATCH"]);
    assert_eq!(client_field(&mut c, "watcher", "tot-mem"), Some(base));

    let mut sub = s.raw();
    sub.send(b"CLIENT SETNAME subscriber\r\n");
    assert_eq!(sub.read_n(5, Duration::from_secs(5)), b"+OK\r\n");
    let base = client_field(&mut c, "subscriber", "tot-mem").unwrap();
    for kind in ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"] {
        let mut req = kind.to_string();
        for i in 0..200 {
            req.push_str(&format!(" {kind}:{i}"));
        }
        req.push_str("\r\n");
        sub.send(req.as_bytes());
    }
    let until = Instant::now() + Duration::from_secs(5);
    let subscribed = loop {
        let m = client_field(&mut c, "subscriber", "tot-mem").unwrap();
        if client_field(&mut c, "subscriber", "ssub") == Some(200) {
            break m;
        }
        assert!(Instant::now() < until, "not subscribed");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(subscribed >= base + 600 * 16, "{base} -> {subscribed}");

    // BCAST prefixes too, until tracking is off; INFO counts the distinct
    // ones.
    let base = client_field(&mut c, "watcher", "tot-mem").unwrap();
    let prefixes: Vec<String> = (0..500).map(|i| format!("p{i:05}:")).collect();
    let mut on = vec!["CLIENT", "TRACKING", "ON", "BCAST"];
    for p in &prefixes {
        on.extend(["PREFIX", p.as_str()]);
    }
    let _: () = q(&mut w, &on);
    let tracking = client_field(&mut c, "watcher", "tot-mem").unwrap();
    assert!(tracking >= base + 500 * 8, "{base} -> {tracking}");
    assert_eq!(info_u64(&mut c, "tracking_total_prefixes"), 500);
    let e = err(
        &mut w,
        &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p00007"],
    );
    assert!(
        e.contains("overlaps with an existing prefix 'p00007:'"),
        "{e}"
    );
    let _: () = q(&mut w, &["CLIENT", "TRACKING", "OFF"]);
    assert_eq!(client_field(&mut c, "watcher", "tot-mem"), Some(base));
    assert_eq!(info_u64(&mut c, "tracking_total_prefixes"), 0);

    // A client that keeps watching keys is evicted once it passes the limit.
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "on"]);
    config_set(&mut c, "maxmemory-clients", "200000");
    let mut rr = s.conn();
    let mut evicted = false;
    for j in 0..200_000 {
        if redis::cmd("WATCH").arg(j).query::<()>(&mut rr).is_err() {
            evicted = true;
            break;
        }
    }
    assert!(evicted, "never evicted");
    config_set(&mut c, "maxmemory-clients", "0");
}
