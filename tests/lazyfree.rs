//! UNLINK (and DEL under `lazyfree-lazy-user-del`) free big values on a
//! background thread, counted in INFO as Redis counts them. Its own test
//! binary: the counters are per process.

mod common;
use common::{q, TestServer};

fn lazy(c: &mut redis::Connection) -> (u64, u64) {
    let info: String = q(c, &["INFO", "memory"]);
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {info}"))
    };
    (
        field("lazyfree_pending_objects"),
        field("lazyfreed_objects"),
    )
}

/// Wait for the background thread, answer the freed count.
fn freed(c: &mut redis::Connection) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (pending, freed) = lazy(c);
        if pending == 0 {
            return freed;
        }
        assert!(std::time::Instant::now() < deadline, "still pending");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn big_values_are_freed_in_the_background() {
    let s = TestServer::start();
    let mut c = s.conn();
    let members: Vec<String> = (0..5000).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "big"];
    sadd.extend(members.iter().map(|m| m.as_str()));
    let _: i64 = q(&mut c, &sadd);
    let _: i64 = q(&mut c, &["SADD", "small", "a", "b"]);
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "big", "small"]), 2);
    assert_eq!(freed(&mut c), 1, "only the big set goes to the background");
    // A stream with groups and pending entries (Redis's lazyfree unit).
    let _: () = q(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "5"]);
    for i in 0..1000 {
        let _: String = q(&mut c, &["XADD", "s", "*", "foo", &i.to_string()]);
    }
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: redis::Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "a",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    );
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "s"]), 1);
    assert_eq!(freed(&mut c), 2);
    // DEL frees inline unless lazyfree-lazy-user-del says otherwise.
    let _: i64 = q(&mut c, &sadd);
    assert_eq!(q::<i64>(&mut c, &["DEL", "big"]), 1);
    assert_eq!(freed(&mut c), 2);
    let _: () = q(&mut c, &["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]);
    let _: i64 = q(&mut c, &sadd);
    assert_eq!(q::<i64>(&mut c, &["DEL", "big"]), 1);
    assert_eq!(freed(&mut c), 3);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "big"]), 0);
    // FLUSHALL without SYNC/ASYNC follows lazyfree-lazy-user-flush; the
    // background counts each key it frees.
    for i in 0..10 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let _: () = q(&mut c, &["FLUSHALL"]);
    assert_eq!(freed(&mut c), 3);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"],
    );
    for i in 0..10 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let _: () = q(&mut c, &["FLUSHALL"]);
    assert_eq!(freed(&mut c), 13);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}
