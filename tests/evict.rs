//! maxmemory and eviction, against the built binary: the in-process test
//! servers do not install the counting allocator, so `used_memory` there is
//! RSS and eviction would not be exact.

mod common;

use std::time::{Duration, Instant};

use common::{info_u64, Binary};

use redis::Value;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn raw(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

fn used(c: &mut redis::Connection) -> u64 {
    info_u64(c, "used_memory")
}

fn set_max(c: &mut redis::Connection, bytes: u64) {
    q::<()>(c, &["CONFIG", "SET", "maxmemory", &bytes.to_string()]);
}

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn big() -> String {
    "x".repeat(100_000)
}

fn is_oom(r: &redis::RedisResult<Value>) -> bool {
    match r {
        Err(e) => e
            .to_string()
            .contains("command not allowed when used memory"),
        Ok(_) => false,
    }
}

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    let base = used(&mut c);
    set_max(&mut c, base + 2_000_000);
    let v = big();
    let mut refused = None;
    for i in 0..100 {
        let r = raw(&mut c, &["SET", &format!("k{i}"), &v]);
        if is_oom(&r) {
            refused = Some((i, r));
            break;
        }
    }
    let (n, r) = refused.expect("SET was never refused");
    assert!(n >= 10, "refused too early, after {n} keys");
    // The exact error text.
    let e = r.unwrap_err();
    assert_eq!(e.code(), Some("OOM"));
    assert!(e.to_string().contains(&OOM[4..]), "{e}");
    // Still over once this client's buffer of the refused value is gone?
    // Push usage well over so the rest is deterministic.
    set_max(&mut c, base + 1_000_000);
    // Reads, EXPIRE, DEL keep working; nothing was evicted.
    assert_eq!(q::<String>(&mut c, &["GET", "k0"]).len(), 100_000);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k0", "100"]), 1);
    assert_eq!(info_u64(&mut c, "evicted_keys"), 0);
    // MULTI: a denyoom command is refused at queue time, EXEC aborts.
    q::<()>(&mut c, &["MULTI"]);
    assert!(is_oom(&raw(&mut c, &["SET", "m", "1"])));
    let e = raw(&mut c, &["EXEC"]).unwrap_err();
    assert!(e.to_string().contains("previous errors"), "{e}");
    let dels: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let mut del = vec!["DEL"];
    del.extend(dels.iter().map(|s| s.as_str()));
    assert_eq!(q::<i64>(&mut c, &del), n as i64);
    q::<()>(&mut c, &["SET", "k0", "small"]);
    // A transaction queued under the limit is refused at EXEC once over it.
    q::<()>(&mut c, &["MULTI"]);
    assert_eq!(q::<String>(&mut c, &["SET", "t", "1"]), "QUEUED");
    let mut c2 = s.conn();
    set_max(&mut c2, 1);
    let e = raw(&mut c, &["EXEC"]).unwrap_err();
    assert!(
        e.to_string()
            .contains("Transaction discarded because of: OOM command not allowed"),
        "{e}"
    );
    assert!(is_oom(&raw(&mut c, &["SET", "t", "1"])));
    assert_eq!(q::<String>(&mut c, &["GET", "k0"]), "small");
    set_max(&mut c2, 0);
    q::<()>(&mut c, &["SET", "t", "1"]);
}

#[test]
fn volatile_policies_never_evict_persistent_keys() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let s = Binary::start(&[]);
        let mut c = s.conn();
        q::<()>(&mut c, &["CONFIG", "SET", "maxmemory-policy", policy]);
        let v = big();
        for i in 0..10 {
            q::<()>(&mut c, &["SET", &format!("p{i}"), &v]);
        }
        let base = used(&mut c);
        set_max(&mut c, base + 2_000_000);
        for i in 0..40 {
            q::<()>(&mut c, &["SET", &format!("v{i}"), &v, "EX", "1000"]);
        }
        assert!(info_u64(&mut c, "evicted_keys") >= 15, "{policy}");
        for i in 0..10 {
            assert_eq!(
                q::<i64>(&mut c, &["EXISTS", &format!("p{i}")]),
                1,
                "{policy}"
            );
        }
        // Only persistent keys left to write: OOM once the volatile ones ran out.
        let mut refused = false;
        for i in 0..60 {
            if is_oom(&raw(&mut c, &["SET", &format!("q{i}"), &v])) {
                refused = true;
                break;
            }
        }
        assert!(refused, "{policy}: never refused");
        assert!(used(&mut c) <= base + 2_300_000, "{policy}");
        for i in 0..10 {
            assert_eq!(
                q::<i64>(&mut c, &["EXISTS", &format!("p{i}")]),
                1,
                "{policy}"
            );
        }
    }
}

#[test]
fn volatile_ttl_evicts_nearest_expiry_first() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"],
    );
    q::<()>(&mut c, &["CONFIG", "SET", "maxmemory-samples", "64"]);
    let v = big();
    for i in 0..10 {
        let ttl = (1000 + i * 100).to_string();
        q::<()>(&mut c, &["SET", &format!("t{i}"), &v, "EX", &ttl]);
    }
    let now = used(&mut c);
    // Room for about seven of the ten values.
    set_max(&mut c, now - 320_000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while used(&mut c) > now - 320_000 {
        assert!(Instant::now() < deadline, "not evicted down");
        std::thread::sleep(Duration::from_millis(50));
    }
    let alive: Vec<i64> = (0..10)
        .map(|i| q(&mut c, &["EXISTS", &format!("t{i}")]))
        .collect();
    let gone = alive.iter().filter(|&&a| a == 0).count();
    assert!((3..=5).contains(&gone), "{alive:?}");
    // Exactly the nearest expiries went.
    assert!(alive[..gone].iter().all(|&a| a == 0), "{alive:?}");
    assert!(alive[gone..].iter().all(|&a| a == 1), "{alive:?}");
}

#[test]
fn allkeys_lru_keeps_recently_touched_key() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    );
    q::<()>(&mut c, &["CONFIG", "SET", "maxmemory-samples", "64"]);
    let v = big();
    for i in 0..30 {
        q::<()>(&mut c, &["SET", &format!("old{i}"), &v]);
    }
    std::thread::sleep(Duration::from_millis(400));
    q::<String>(&mut c, &["GET", "old7"]);
    let now = used(&mut c);
    set_max(&mut c, now + 50_000);
    for i in 0..15 {
        q::<()>(&mut c, &["SET", &format!("new{i}"), &v]);
    }
    assert!(info_u64(&mut c, "evicted_keys") >= 10);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "old7"]), 1);
    let new_alive: i64 = (0..15)
        .map(|i| q::<i64>(&mut c, &["EXISTS", &format!("new{i}")]))
        .sum();
    assert_eq!(new_alive, 15, "new keys evicted before idle ones");
    // IDLETIME works under LRU, FREQ does not.
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "old7"]) <= 1);
    let e = raw(&mut c, &["OBJECT", "FREQ", "old7"]).unwrap_err();
    assert!(e
        .to_string()
        .contains("An LFU maxmemory policy is not selected"));
}

#[test]
fn allkeys_lfu_keeps_frequently_read_keys() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    q::<()>(&mut c, &["CONFIG", "SET", "lfu-log-factor", "0"]);
    let v = big();
    for i in 0..30 {
        q::<()>(&mut c, &["SET", &format!("k{i}"), &v]);
    }
    for _ in 0..50 {
        for hot in ["k3", "k11", "k20"] {
            q::<String>(&mut c, &["GET", hot]);
        }
    }
    assert!(q::<i64>(&mut c, &["OBJECT", "FREQ", "k3"]) >= 50);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "k4"]), 5);
    let e = raw(&mut c, &["OBJECT", "IDLETIME", "k3"]).unwrap_err();
    assert!(e
        .to_string()
        .contains("An LFU maxmemory policy is selected, idle time not tracked."));
    let now = used(&mut c);
    set_max(&mut c, now + 50_000);
    for i in 0..40 {
        q::<()>(&mut c, &["SET", &format!("n{i}"), &v]);
    }
    assert!(info_u64(&mut c, "evicted_keys") >= 35);
    for hot in ["k3", "k11", "k20"] {
        assert_eq!(q::<i64>(&mut c, &["EXISTS", hot]), 1, "{hot} evicted");
    }
}

#[test]
fn allkeys_random_stays_under_the_limit() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    let base = used(&mut c);
    let max = base + 3_000_000;
    set_max(&mut c, max);
    let v = big();
    let mut peak = 0;
    for i in 0..200 {
        q::<()>(&mut c, &["SET", &format!("k{i}"), &v]);
        peak = peak.max(used(&mut c));
    }
    let evicted = info_u64(&mut c, "evicted_keys");
    assert!(evicted >= 150, "evicted {evicted}");
    // At most about one value over between commands.
    assert!(peak <= max + 150_000, "peak {peak} max {max}");
    let dbsize: u64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(dbsize + evicted, 200);
}

#[test]
fn lowering_maxmemory_evicts_down_from_cron() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    );
    let v = big();
    for i in 0..50 {
        q::<()>(&mut c, &["SET", &format!("k{i}"), &v]);
    }
    let now = used(&mut c);
    let target = now - 2_000_000;
    set_max(&mut c, target);
    let mut c2 = s.conn();
    let deadline = Instant::now() + Duration::from_secs(5);
    // Only reads from INFO's allocator sum: the cron does the work.
    loop {
        let info: String = q(&mut c2, &["INFO", "memory"]);
        let u: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u64::MAX);
        if u <= target {
            break;
        }
        assert!(Instant::now() < deadline, "still at {u} > {target}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dbsize: i64 = q(&mut c, &["DBSIZE"]);
    assert!((20..=31).contains(&dbsize), "dbsize {dbsize}");
    assert_eq!(info_u64(&mut c, "evicted_keys"), 50 - dbsize as u64);
    // CONFIG RESETSTAT zeroes the counter.
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(info_u64(&mut c, "evicted_keys"), 0);
}

#[test]
fn eviction_invalidates_watch() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    q::<()>(&mut c, &["SET", "w", &"y".repeat(1_000_000)]);
    q::<()>(&mut c, &["WATCH", "w"]);
    let mut c2 = s.conn();
    let now = used(&mut c2);
    set_max(&mut c2, now - 500_000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while q::<i64>(&mut c2, &["EXISTS", "w"]) == 1 {
        assert!(Instant::now() < deadline, "not evicted");
        std::thread::sleep(Duration::from_millis(20));
    }
    set_max(&mut c2, 0);
    q::<()>(&mut c, &["MULTI"]);
    q::<()>(&mut c, &["SET", "x", "1"]);
    assert_eq!(q::<Value>(&mut c, &["EXEC"]), Value::Nil);
    assert_eq!(info_u64(&mut c, "evicted_keys"), 1);
}

#[test]
fn memory_usage_and_friends() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "mb", &"z".repeat(1 << 20)]);
    let n: i64 = q(&mut c, &["MEMORY", "USAGE", "mb"]);
    assert!((1 << 20..(1 << 20) + 4096).contains(&n), "{n}");
    let small: i64 = q(&mut c, &["MEMORY", "USAGE", "mb", "SAMPLES", "0"]);
    assert_eq!(small, n);
    q::<()>(&mut c, &["SET", "i", "12345"]);
    let n: i64 = q(&mut c, &["MEMORY", "USAGE", "i"]);
    assert!(n > 0 && n < 200, "{n}");
    for i in 0..1000 {
        q::<()>(
            &mut c,
            &["HSET", "h", &format!("field{i}"), &"v".repeat(50)],
        );
        q::<()>(&mut c, &["RPUSH", "l", &"e".repeat(20)]);
        q::<()>(&mut c, &["SADD", "s", &format!("member{i}")]);
        q::<()>(&mut c, &["ZADD", "z", &i.to_string(), &format!("m{i}")]);
    }
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "h"]) > 55_000);
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "l"]) > 20_000);
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "s", "SAMPLES", "0"]) > 9_000);
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "z"]) > 4_000);
    assert_eq!(q::<Value>(&mut c, &["MEMORY", "USAGE", "nope"]), Value::Nil);
    assert!(raw(&mut c, &["MEMORY", "USAGE", "mb", "SAMPLES"]).is_err());
    assert!(raw(&mut c, &["MEMORY", "USAGE", "mb", "SAMPLES", "x"]).is_err());
    let stats: Vec<Value> = q(&mut c, &["MEMORY", "STATS"]);
    assert!(stats.len() >= 10);
    let doc: String = q(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(!doc.is_empty());
    assert_eq!(q::<String>(&mut c, &["MEMORY", "PURGE"]), "OK");
    let help: Vec<String> = q(&mut c, &["MEMORY", "HELP"]);
    assert!(help[0].starts_with("MEMORY <subcommand>"));
    // INFO memory fields.
    let info: String = q(&mut c, &["INFO", "memory"]);
    for f in [
        "used_memory:",
        "used_memory_human:",
        "used_memory_rss:",
        "used_memory_peak:",
        "used_memory_dataset:",
        "maxmemory:",
        "maxmemory_human:",
        "maxmemory_policy:noeviction",
        "mem_fragmentation_ratio:",
        "mem_allocator:mimalloc",
    ] {
        assert!(info.contains(f), "INFO memory lacks {f}");
    }
    assert!(info_u64(&mut c, "used_memory_dataset") > 1 << 20);
    // The new directives are settable.
    for (k, v) in [
        ("maxmemory-eviction-tenacity", "50"),
        ("lfu-log-factor", "20"),
        ("lfu-decay-time", "5"),
        ("maxmemory-samples", "10"),
    ] {
        q::<()>(&mut c, &["CONFIG", "SET", k, v]);
        let got: Vec<String> = q(&mut c, &["CONFIG", "GET", k]);
        assert_eq!(got, vec![k.to_string(), v.to_string()]);
    }
    assert!(raw(&mut c, &["CONFIG", "SET", "maxmemory-samples", "65"]).is_err());
    assert!(raw(
        &mut c,
        &["CONFIG", "SET", "maxmemory-eviction-tenacity", "101"]
    )
    .is_err());
}

/// A request with 200,000 arguments leaves nothing behind once its key is
/// gone: the connection's argument table is given back, as Redis frees its
/// argv (Redis's "UNLINK can reclaim memory in background").
#[test]
fn many_arguments_leave_no_memory_behind() {
    let s = Binary::start(&[]);
    let mut c = s.conn();
    let before = used(&mut c);
    let members: Vec<String> = (0..200_000).map(|i| i.to_string()).collect();
    let added: i64 = redis::cmd("SADD")
        .arg("big")
        .arg(&members)
        .query(&mut c)
        .expect("sadd");
    assert_eq!(added, 200_000);
    assert!(used(&mut c) > before + 2_000_000);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "big"]), 1);
    // The set is freed in the background.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = used(&mut c);
        if now < before + 200_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "used_memory {now}, was {before} before the request"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
