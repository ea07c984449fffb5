//! SLOWLOG, LATENCY and INFO latencystats through a real client.

mod common;
use common::{err, q, TestServer};
use redis::Value;

fn slowlog(c: &mut redis::Connection, n: i64) -> Vec<Vec<Value>> {
    let v: Vec<Value> = q(c, &["SLOWLOG", "GET", &n.to_string()]);
    v.into_iter()
        .map(|e| match e {
            Value::Array(items) => items,
            other => panic!("entry {other:?}"),
        })
        .collect()
}

fn args_of(e: &[Value]) -> Vec<String> {
    match &e[3] {
        Value::Array(a) => a
            .iter()
            .map(|v| match v {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("{other:?}"),
    }
}

#[test]
fn slowlog_records_slow_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    q::<()>(&mut c, &["CLIENT", "SETNAME", "observer"]);
    q::<()>(&mut c, &["SET", "k", "v"]);
    let long = "x".repeat(200);
    q::<()>(&mut c, &["SET", "long", &long]);
    let many: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
    let mut rpush = vec!["RPUSH", "list"];
    rpush.extend(many.iter().map(|s| s.as_str()));
    q::<i64>(&mut c, &rpush);
    // What ACL SETUSER is given, and the values of sensitive parameters,
    // are secrets too (as Redis redacts them); a failed one is no exception.
    let _ = err(&mut c, &["ACL", "SETUSER", "a user", "+get"]);
    q::<()>(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory-samples",
            "5",
            "masterauth",
            "pw",
        ],
    );
    let _ = err(&mut c, &["AUTH", "secret-password"]);
    let entries = slowlog(&mut c, -1);
    let r = "(redacted)";
    assert_eq!(args_of(&entries[2]), vec!["ACL", "SETUSER", r, r]);
    assert_eq!(
        args_of(&entries[1]),
        vec!["CONFIG", "SET", "maxmemory-samples", "5", "masterauth", r]
    );
    let mut entries = entries;
    entries.drain(1..3);
    // Newest first: AUTH, RPUSH, SET long, SET k, CLIENT SETNAME, CONFIG SET.
    assert_eq!(args_of(&entries[0]), vec!["AUTH", "(redacted)"]);
    let rp = args_of(&entries[1]);
    assert_eq!(rp.len(), 32);
    assert_eq!(rp[0], "RPUSH");
    assert_eq!(rp[31], "... (11 more arguments)");
    let sl = args_of(&entries[2]);
    assert_eq!(sl[2], format!("{}... (72 more bytes)", "x".repeat(128)));
    assert_eq!(args_of(&entries[3]), vec!["SET", "k", "v"]);
    assert!(int(&entries[0][0]) > int(&entries[1][0]));
    let peer = match &entries[3][4] {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("{other:?}"),
    };
    assert!(peer.starts_with("127.0.0.1:"), "{peer}");
    assert_eq!(entries[3][5], Value::BulkString(b"observer".to_vec()));
    assert_eq!(slowlog(&mut c, 2).len(), 2);
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) >= 6);
    assert_eq!(
        err(&mut c, &["SLOWLOG", "GET", "-2"]),
        "ERR count should be greater than or equal to -1"
    );
    // slowlog-max-len bounds the log.
    q::<()>(&mut c, &["CONFIG", "SET", "slowlog-max-len", "3"]);
    q::<()>(&mut c, &["PING"]);
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 3);
    q::<()>(&mut c, &["SLOWLOG", "RESET"]);
    // RESET itself is logged after the reset (as Redis).
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) <= 1);
    // Only slow commands with the default threshold.
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "20000"],
    );
    q::<()>(&mut c, &["SLOWLOG", "RESET"]);
    q::<()>(&mut c, &["SET", "fast", "1"]);
    q::<()>(&mut c, &["DEBUG", "SLEEP", "0.03"]);
    let entries = slowlog(&mut c, 10);
    assert_eq!(entries.len(), 1);
    assert_eq!(args_of(&entries[0])[0], "DEBUG");
    assert!(int(&entries[0][2]) >= 30_000);
    // Negative: off.
    q::<()>(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    q::<()>(&mut c, &["SLOWLOG", "RESET"]);
    q::<()>(&mut c, &["DEBUG", "SLEEP", "0.03"]);
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 0);
    let help: Vec<String> = q(&mut c, &["SLOWLOG", "HELP"]);
    assert!(help[0].starts_with("SLOWLOG <subcommand>"));
}

/// A blocking command reaches the slow log and commandstats when it is
/// unblocked (served, timed out, or CLIENT UNBLOCK ERROR), not when it
/// blocks, as in Redis.
#[test]
fn blocked_commands_are_counted_when_unblocked() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    q::<()>(&mut c, &["SLOWLOG", "RESET"]);
    let stat = |c: &mut redis::Connection, name: &str| -> String {
        let info: String = q(c, &["INFO", "commandstats"]);
        info.lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .unwrap_or("")
            .to_string()
    };
    let mut b = s.raw();
    b.send(b"BLPOP l 0\r\n");
    common::wait_blocked(&mut c, 1);
    let logged = |c: &mut redis::Connection| {
        slowlog(c, -1)
            .iter()
            .filter(|e| args_of(e)[0] == "BLPOP")
            .count()
    };
    assert_eq!(logged(&mut c), 0);
    assert_eq!(stat(&mut c, "blpop"), "");
    q::<i64>(&mut c, &["LPUSH", "l", "x"]);
    b.expect(b"*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
    assert_eq!(logged(&mut c), 1);
    assert!(stat(&mut c, "blpop").starts_with("cmdstat_blpop:calls=1,"));
    // Unblocked with an error: a failed call.
    b.send(b"CLIENT ID\r\n");
    let id = String::from_utf8(b.read_n(64, std::time::Duration::from_millis(300))).unwrap();
    let id = id.trim_start_matches(':').trim().to_string();
    b.send(b"BRPOP l 0\r\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id, "ERROR"]), 1);
    b.expect(b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    let brpop = stat(&mut c, "brpop");
    assert!(brpop.starts_with("cmdstat_brpop:calls=1,"), "{brpop}");
    assert!(brpop.ends_with("failed_calls=1"), "{brpop}");
}

#[test]
fn latency_monitor_and_histograms() {
    let s = TestServer::start();
    let mut c = s.conn();
    let doctor: String = q(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(
        doctor.contains("Latency monitoring is disabled"),
        "{doctor}"
    );
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "20"],
    );
    q::<()>(&mut c, &["DEBUG", "SLEEP", "0.05"]);
    let latest: Vec<Value> = q(&mut c, &["LATENCY", "LATEST"]);
    assert_eq!(latest.len(), 1);
    let Value::Array(ev) = &latest[0] else {
        panic!()
    };
    assert_eq!(ev[0], Value::BulkString(b"command".to_vec()));
    assert!(int(&ev[2]) >= 50 && int(&ev[3]) >= 50);
    let hist: Vec<Vec<i64>> = q(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert_eq!(hist.len(), 1);
    assert!(hist[0][1] >= 50);
    assert!(q::<Vec<Value>>(&mut c, &["LATENCY", "HISTORY", "nothing"]).is_empty());
    let doctor: String = q(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("command"), "{doctor}");
    assert!(q::<String>(&mut c, &["LATENCY", "GRAPH", "command"]).contains("command"));
    assert_eq!(
        err(&mut c, &["LATENCY", "GRAPH", "nothing"]),
        "ERR No samples available for event 'nothing'"
    );
    assert_eq!(
        q::<i64>(&mut c, &["LATENCY", "RESET", "command", "nothing"]),
        1
    );
    assert!(q::<Vec<Value>>(&mut c, &["LATENCY", "LATEST"]).is_empty());

    for i in 0..100 {
        q::<()>(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let h: Value = q(&mut c, &["LATENCY", "HISTOGRAM", "set", "nosuchcommand"]);
    let Value::Array(items) = h else {
        panic!("{h:?}")
    };
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Value::BulkString(b"set".to_vec()));
    let Value::Array(body) = &items[1] else {
        panic!()
    };
    assert_eq!(body[0], Value::BulkString(b"calls".to_vec()));
    assert_eq!(int(&body[1]), 100);
    let Value::Array(cdf) = &body[3] else {
        panic!()
    };
    // Cumulative: the last bucket holds every call.
    assert_eq!(int(&cdf[cdf.len() - 1]), 100);
    let info: String = q(&mut c, &["INFO", "latencystats"]);
    let line = info
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_set:"))
        .unwrap_or_else(|| panic!("{info}"));
    assert!(
        line.contains("p50=") && line.contains(",p99=") && line.contains(",p99.9="),
        "{line}"
    );
    q::<()>(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0 99.99",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["CONFIG", "GET", "latency-tracking-info-percentiles"]
        ),
        vec!["latency-tracking-info-percentiles", "0 99.99"]
    );
    let info: String = q(&mut c, &["INFO", "latencystats"]);
    assert!(info.contains("latency_percentiles_usec_set:p0="), "{info}");
    assert!(info.contains(",p99.99="), "{info}");
    // Off: no new samples.
    q::<()>(&mut c, &["CONFIG", "SET", "latency-tracking", "no"]);
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    q::<()>(&mut c, &["SET", "k", "v"]);
    let info: String = q(&mut c, &["INFO", "latencystats"]);
    assert!(!info.contains("latency_percentiles_usec_set"), "{info}");
    // Not in the default INFO.
    let all: String = q(&mut c, &["INFO"]);
    assert!(!all.contains("# Latencystats"));
}
