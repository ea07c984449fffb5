//! Streams through the `redis` crate: entries, trimming, consumer groups,
//! blocking reads, persistence and introspection. Reply-for-reply checks
//! against redis-server are `tests/compare.rs::streams_match_real_redis_byte_for_byte`;
//! AOF/RDB round trips (both ways with Redis) are in `tests/aof.rs`.

mod common;
use common::{err, q, wait_blocked, TestServer};
use redis::Value;

fn debug_server() -> TestServer {
    TestServer::with_config(|c| c.enable_debug_command = "yes".into())
}

#[test]
fn add_range_delete_and_trim() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "1-1", "f", "v"]), "1-1");
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "1-*", "f", "w"]), "1-2");
    assert_eq!(
        q::<String>(&mut c, &["XADD", "s", "3", "a", "1", "b", "2"]),
        "3-0"
    );
    let auto: String = q(&mut c, &["XADD", "s", "*", "x", "y"]);
    assert!(auto.ends_with("-0") && auto.len() > 10, "{auto}");
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 4);
    assert!(err(&mut c, &["XADD", "s", "2-0", "f", "v"]).contains("equal or smaller"));
    assert!(err(&mut c, &["XADD", "s", "0-0", "f", "v"]).contains("greater than 0-0"));
    assert!(err(&mut c, &["XADD", "s", "1-x", "f", "v"]).contains("Invalid stream ID"));
    assert!(err(&mut c, &["XADD", "s", "*", "f"]).contains("wrong number of arguments"));
    assert_eq!(
        q::<Value>(&mut c, &["XADD", "nokey", "NOMKSTREAM", "*", "f", "v"]),
        Value::Nil
    );
    let r: Vec<(String, Vec<String>)> = q(&mut c, &["XRANGE", "s", "-", "3"]);
    assert_eq!(
        r,
        [
            ("1-1".into(), vec!["f".into(), "v".into()]),
            ("1-2".into(), vec!["f".into(), "w".into()]),
            (
                "3-0".into(),
                vec!["a".into(), "1".into(), "b".into(), "2".into()]
            ),
        ]
    );
    let r: Vec<(String, Vec<String>)> = q(&mut c, &["XREVRANGE", "s", "3", "(1-1", "COUNT", "5"]);
    assert_eq!(
        r.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["3-0", "1-2"]
    );
    assert_eq!(q::<i64>(&mut c, &["XDEL", "s", "1-2", "1-2", "9-9"]), 1);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 3);
    // The key stays when the last entry goes, as in Redis.
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "0"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "stream");
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 0);
    // Approximate trimming drops whole nodes only (100 entries each).
    for i in 0..250 {
        let _: String = q(&mut c, &["XADD", "big", "*", "i", &i.to_string()]);
    }
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "big", "MAXLEN", "~", "120"]),
        100
    );
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "big", "MAXLEN", "=", "120"]),
        30
    );
    assert!(err(&mut c, &["XTRIM", "big", "MAXLEN", "10", "LIMIT", "5"]).contains("special ~"));
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(err(&mut c, &["XADD", "str", "*", "f", "v"]).starts_with("WRONGTYPE"));
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "big"]),
        "stream"
    );
    let mem: i64 = q(&mut c, &["MEMORY", "USAGE", "big"]);
    assert!(mem > 1000, "{mem}");
}

#[test]
fn groups_deliver_acknowledge_and_claim() {
    let s = TestServer::start();
    let mut c = s.conn();
    for id in ["1-0", "2-0", "3-0"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]);
    }
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    assert!(err(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).starts_with("BUSYGROUP"));
    let r: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    );
    let Value::Array(streams) = r else {
        panic!("{r:?}")
    };
    assert_eq!(streams.len(), 1);
    let pending: (i64, String, String, Vec<(String, String)>) = q(&mut c, &["XPENDING", "s", "g"]);
    assert_eq!(
        pending,
        (
            2,
            "1-0".into(),
            "2-0".into(),
            vec![("alice".into(), "2".into())]
        )
    );
    assert_eq!(q::<i64>(&mut c, &["XACK", "s", "g", "1-0", "7-0"]), 1);
    let claimed: Vec<String> = q(&mut c, &["XCLAIM", "s", "g", "bob", "0", "2-0", "JUSTID"]);
    assert_eq!(claimed, ["2-0"]);
    let auto: (String, Vec<String>, Vec<String>) = q(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID"],
    );
    assert_eq!(auto, ("0-0".into(), vec!["2-0".into()], vec![]));
    // History: the consumer's own pending entries.
    let h: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"],
    );
    assert!(format!("{h:?}").contains("2-0"), "{h:?}");
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "carol"]),
        1
    );
    let groups: Vec<Vec<Value>> = q(&mut c, &["XINFO", "GROUPS", "s"]);
    assert_eq!(groups.len(), 1);
    assert!(err(
        &mut c,
        &["XREADGROUP", "GROUP", "nog", "a", "STREAMS", "s", ">"]
    )
    .starts_with("NOGROUP"));
    assert!(err(&mut c, &["XREAD", "STREAMS", "s", ">"]).contains("The > ID"));
    assert_eq!(q::<i64>(&mut c, &["XGROUP", "DESTROY", "s", "g"]), 1);
}

#[test]
fn blocked_readers_are_served_by_writers_and_told_when_the_group_goes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let addr = s.addr;
    let reader = std::thread::spawn(move || {
        let mut r = redis::Client::open(format!("redis://{addr}"))
            .unwrap()
            .get_connection()
            .unwrap();
        let v: Value = q(&mut r, &["XREAD", "BLOCK", "5000", "STREAMS", "s", "$"]);
        v
    });
    let grouped = std::thread::spawn(move || {
        let mut r = redis::Client::open(format!("redis://{addr}"))
            .unwrap()
            .get_connection()
            .unwrap();
        let v: Value = q(
            &mut r,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "a",
                "BLOCK",
                "5000",
                "STREAMS",
                "s",
                ">",
            ],
        );
        v
    });
    wait_blocked(&mut c, 2);
    let _: String = q(&mut c, &["XADD", "s", "5-0", "f", "v"]);
    let got = format!("{:?}", reader.join().unwrap());
    assert!(got.contains("5-0"), "{got}");
    let got = format!("{:?}", grouped.join().unwrap());
    assert!(got.contains("5-0"), "{got}");
    // A group reader learns that its stream went away.
    let waiter = std::thread::spawn(move || {
        let mut r = redis::Client::open(format!("redis://{addr}"))
            .unwrap()
            .get_connection()
            .unwrap();
        err(
            &mut r,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "b",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        )
    });
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["DEL", "s"]);
    assert!(waiter.join().unwrap().starts_with("NOGROUP"));
    // Timeouts answer a null array.
    let v: Value = q(&mut c, &["XREAD", "BLOCK", "20", "STREAMS", "s", "0"]);
    assert_eq!(v, Value::Nil);
}

#[test]
fn streams_and_groups_survive_a_reload_and_dump_restore() {
    let s = debug_server();
    let mut c = s.conn();
    for i in 0..300 {
        let _: String = q(
            &mut c,
            &[
                "XADD",
                "s",
                &format!("{}-1", i + 1),
                "n",
                &i.to_string(),
                "k",
                "v",
            ],
        );
    }
    let _: i64 = q(&mut c, &["XDEL", "s", "7-1"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "3",
            "STREAMS",
            "s",
            ">",
        ],
    );
    let before: (Value, Value, Value) = (
        q(&mut c, &["XRANGE", "s", "-", "+"]),
        q(&mut c, &["XINFO", "GROUPS", "s"]),
        q(&mut c, &["XPENDING", "s", "g"]),
    );
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    let after: (Value, Value, Value) = (
        q(&mut c, &["XRANGE", "s", "-", "+"]),
        q(&mut c, &["XINFO", "GROUPS", "s"]),
        q(&mut c, &["XPENDING", "s", "g"]),
    );
    assert_eq!(before, after);
    let dump: Vec<u8> = q(&mut c, &["DUMP", "s"]);
    let _: () = redis::cmd("RESTORE")
        .arg("copy")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    let copy: Value = q(&mut c, &["XRANGE", "copy", "-", "+"]);
    assert_eq!(copy, before.0);
    let groups: Value = q(&mut c, &["XINFO", "GROUPS", "copy"]);
    assert_eq!(groups, before.1);
}

#[test]
fn states_redis_allows_survive_a_reload() {
    let s = debug_server();
    let mut c = s.conn();
    // A consumer named "" owns pending entries.
    let _: () = q(&mut c, &["XGROUP", "CREATE", "e", "g", "0", "MKSTREAM"]);
    let _: String = q(&mut c, &["XADD", "e", "1-1", "f", "v"]);
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "", "STREAMS", "e", ">"],
    );
    // The last ID moved back below a deleted entry, then an entry added
    // after it in the same node.
    for id in ["1-1", "2-1"] {
        let _: String = q(&mut c, &["XADD", "x", id, "a", "1"]);
    }
    let _: i64 = q(&mut c, &["XDEL", "x", "2-1"]);
    let _: () = q(&mut c, &["XSETID", "x", "3-0", "MAXDELETEDID", "1-0"]);
    let _: () = q(&mut c, &["XSETID", "x", "1-5"]);
    let _: String = q(&mut c, &["XADD", "x", "1-6", "a", "2"]);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    let p: (i64, String, String, Vec<(String, String)>) = q(&mut c, &["XPENDING", "e", "g"]);
    assert_eq!(
        p,
        (1, "1-1".into(), "1-1".into(), vec![("".into(), "1".into())])
    );
    let ids: Vec<(String, Vec<String>)> = q(&mut c, &["XRANGE", "x", "-", "+"]);
    assert_eq!(
        ids.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["1-1", "1-6"]
    );
    assert_eq!(q::<i64>(&mut c, &["XDEL", "x", "1-6"]), 1);
    // FORCE creates the pending entry with one delivery, then counts this one.
    let _: () = q(&mut c, &["XGROUP", "CREATE", "x", "g", "$"]);
    let _: Value = q(&mut c, &["XCLAIM", "x", "g", "bob", "0", "1-1", "FORCE"]);
    let pending: Vec<(String, String, i64, i64)> =
        q(&mut c, &["XPENDING", "x", "g", "-", "+", "10"]);
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].1.as_str(), pending[0].3), ("bob", 2));
    // Counters at their limits wrap rather than fail, as Redis's do.
    let _: () = q(
        &mut c,
        &[
            "XGROUP",
            "SETID",
            "x",
            "g",
            "0",
            "ENTRIESREAD",
            "9223372036854775807",
        ],
    );
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "x", ">"],
    );
    let _: Value = q(
        &mut c,
        &[
            "XCLAIM",
            "x",
            "g",
            "a",
            "0",
            "1-1",
            "IDLE",
            "-9223372036854775808",
        ],
    );
    let _: Value = q(&mut c, &["XINFO", "GROUPS", "x"]);
}
