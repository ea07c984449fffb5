//! `maxmemory-clients` (client eviction, Redis 7): the largest clients are
//! closed while all clients together use the limit or more; CLIENT NO-EVICT
//! exempts a client.

mod common;

use std::time::Duration;

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
