//! Connection, client, server, INFO, COMMAND and CONFIG commands through the
//! `redis` crate and raw sockets. Expected replies were checked against a
//! real redis-server (7.2 behaviour where 7.0 differs).

mod common;
use common::{err, q, TestServer};
use redis::{cmd, Value};

#[test]
fn hello_switches_protocol() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n");
    r.roundtrip(
        b"HELLO abc\r\n",
        b"-ERR Protocol version is not an integer or out of range\r\n",
    );
    r.roundtrip(
        b"HELLO 3 foo\r\n",
        b"-ERR Syntax error in HELLO option 'foo'\r\n",
    );
    r.send(b"HELLO 3\r\n");
    let reply = r.read_n(200, std::time::Duration::from_millis(500));
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:3\r\n"), "{text}");
    assert!(text.ends_with("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"), "{text}");
    // RESP3 from now on: nulls are `_`, maps are `%`.
    r.roundtrip(b"GET nope\r\n", b"_\r\n");
    r.roundtrip(b"CONFIG GET hz\r\n", b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    r.roundtrip(b"HELLO 2\r\n", b"*14\r\n");
    let _ = r.read_n(150, std::time::Duration::from_millis(300));
    r.roundtrip(b"GET nope\r\n", b"$-1\r\n");
}

#[test]
fn auth_with_requirepass() {
    let s = TestServer::with_config(|c| c.requirepass = Some(b"secret".to_vec()));
    let mut r = s.raw();
    r.roundtrip(b"GET k\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"HELLO 3\r\n", b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n");
    r.roundtrip(
        b"AUTH wrong\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    r.roundtrip(b"AUTH default secret\r\n", b"+OK\r\n");
    r.roundtrip(b"GET k\r\n", b"$-1\r\n");
    r.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    r.roundtrip(b"GET k\r\n", b"-NOAUTH Authentication required.\r\n");
    // The redis crate authenticates from the URL.
    let url = format!("redis://:secret@{}/", s.addr);
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");

    let open = TestServer::start();
    let mut c = open.conn();
    assert_eq!(
        err(&mut c, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn client_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    assert!(id > 0);
    assert_eq!(q::<Value>(&mut c, &["CLIENT", "GETNAME"]), Value::Nil);
    assert_eq!(
        err(&mut c, &["CLIENT", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    q::<()>(&mut c, &["CLIENT", "SETNAME", "worker-1"]);
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    q::<()>(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"]);
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "foo", "1"]),
        "ERR Unrecognized option 'foo'"
    );
    let line: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(
        line.starts_with(&format!("id={id} addr=127.0.0.1:")),
        "{line}"
    );
    assert!(line.contains(" name=worker-1 "), "{line}");
    assert!(line.contains(" cmd=client|info "), "{line}");
    assert!(line.contains(" lib-name=mylib "), "{line}");
    let mut other = s.conn();
    let other_id: i64 = q(&mut other, &["CLIENT", "ID"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let only: String = q(&mut c, &["CLIENT", "LIST", "ID", &other_id.to_string()]);
    assert_eq!(only.lines().count(), 1);
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "ID", "0"]),
        "ERR client-id should be greater than 0"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "1.2.3.4:5"]),
        "ERR No such client"
    );
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &other_id.to_string()]),
        1
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        cmd("PING").query::<String>(&mut other).is_err(),
        "killed client is closed"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
}

#[test]
fn client_kill_ends_a_connection_stuck_writing() {
    // A client that sends requests but never reads its replies: the
    // server's write to it blocks once the socket buffers fill. CLIENT KILL
    // must still close it.
    let s = TestServer::start();
    let mut c = s.conn();
    let big = "x".repeat(1 << 20);
    let _: () = q(&mut c, &["SET", "big", &big]);
    let mut stuck = s.raw();
    stuck.roundtrip(b"CLIENT SETNAME stuck\r\n", b"+OK\r\n");
    stuck.send(&b"GET big\r\n".repeat(64));
    let list = || -> String { q(&mut s.conn(), &["CLIENT", "LIST"]) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    // Wait until its requests have been taken in (the write is stuck).
    while !list().contains("name=stuck") || !list().contains("cmd=get") {
        assert!(std::time::Instant::now() < deadline, "{}", list());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed: i64 = q(
        &mut c,
        &["CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal"],
    );
    assert!(killed >= 1);
    while list().contains("name=stuck") {
        assert!(
            std::time::Instant::now() < deadline,
            "still listed: {}",
            list()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn client_reply_modes() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\n");
    r.expect(b"+OK\r\n");
    r.roundtrip(b"CLIENT REPLY SKIP\r\nGET a\r\nGET a\r\n", b"$1\r\n1\r\n");
}

#[test]
fn info_sections() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "k", "v", "EX", "100"]);
    q::<()>(&mut c, &["SET", "k2", "v"]);
    let _: Value = cmd("GET").arg("nope").query(&mut c).unwrap();
    let _ = err(&mut c, &["NOPE"]);
    let info: String = q(&mut c, &["INFO"]);
    for field in [
        "# Server\r\nredis_version:7.2.4\r\n",
        "redis_mode:standalone",
        &format!("tcp_port:{}", s.addr.port()),
        "# Clients\r\nconnected_clients:1",
        "# Memory\r\nused_memory:",
        "# Persistence\r\nloading:0",
        "keyspace_misses:1",
        "# Replication\r\nrole:master",
        "errorstat_ERR:count=1",
        "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0",
    ] {
        assert!(info.contains(field), "INFO lacks {field:?}:\n{info}");
    }
    assert!(!info.contains("# Commandstats"));
    let stats: String = q(&mut c, &["INFO", "commandstats", "CPU"]);
    assert!(stats.contains("cmdstat_set:calls=2,"), "{stats}");
    assert!(stats.contains("# CPU\r\nused_cpu_sys:"), "{stats}");
    assert!(!stats.contains("# Server"));
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(!stats.contains("cmdstat_set"), "{stats}");
}

/// `field:value` from INFO text, parsed.
fn info_field<T: std::str::FromStr>(info: &str, field: &str) -> T {
    let line = info
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO lacks {field}:\n{info}"));
    line.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{field}:{line} does not parse"))
}

#[test]
fn info_rates_and_counters() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Fields Redis 7.2 has, present and parsed.
    let info: String = q(&mut c, &["INFO", "everything"]);
    for f in [
        "expired_time_cap_reached_count",
        "lazyfree_pending_objects",
        "total_forks",
    ] {
        let _: u64 = info_field(&info, f);
    }
    for f in [
        "expired_stale_perc",
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
    ] {
        let _: f64 = info_field(&info, f);
    }
    let _: String = info_field(&info, "used_memory_peak_perc");
    assert!(info_field::<u64>(&info, "total_system_memory") > 0);
    assert_eq!(info_field::<String>(&info, "process_supervised"), "no");
    // instantaneous_ops_per_sec: the cron samples every 100 ms.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut raw = s.raw();
    loop {
        raw.send(&b"PING\r\n".repeat(200));
        raw.expect(&b"+PONG\r\n".repeat(200));
        let stats: String = q(&mut c, &["INFO", "stats"]);
        if info_field::<u64>(&stats, "instantaneous_ops_per_sec") > 0 {
            assert!(info_field::<u64>(&stats, "total_reads_processed") > 0);
            assert!(info_field::<u64>(&stats, "total_writes_processed") > 0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{stats}");
    }
    // FLUSHALL ASYNC frees on a background thread, and counts it.
    for i in 0..500 {
        q::<()>(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    q::<()>(&mut c, &["FLUSHALL", "ASYNC"]);
    loop {
        let mem: String = q(&mut c, &["INFO", "memory"]);
        if info_field::<u64>(&mem, "lazyfreed_objects") == 500 {
            assert_eq!(info_field::<u64>(&mem, "lazyfree_pending_objects"), 0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{mem}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    let mem: String = q(&mut c, &["INFO", "memory"]);
    assert_eq!(info_field::<u64>(&mem, "lazyfreed_objects"), 0);
}

#[test]
fn command_introspection() {
    let s = TestServer::start();
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, n);
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "get", "nope"]);
    assert_eq!(info[1], Value::Nil);
    let Value::Array(get) = &info[0] else {
        panic!("{info:?}")
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(&get[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]);
    assert_eq!(keys, vec!["a", "b"]);
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "PING"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "NOPE", "x"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "GET"]),
        "ERR Invalid number of arguments specified for command"
    );
    let list: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"],
    );
    assert!(list.contains(&"config|get".to_string()), "{list:?}");
    let docs: Value = q(&mut c, &["COMMAND", "DOCS", "set"]);
    let text = format!("{docs:?}");
    assert!(text.contains("Sets the string value of a key"), "{text}");
    assert!(text.contains("KEEPTTL"), "{text}");
}

#[test]
fn every_command_is_documented_and_its_syntax_parses() {
    let table = ember::commands::CommandTable::build();
    for e in &table.entries {
        assert!(!e.cmd.summary.is_empty(), "{} has no summary", e.cmd.name);
        assert!(!e.cmd.since.is_empty(), "{} has no since", e.cmd.name);
        assert!(
            ember::commands::command::parse_syntax(e.cmd.syntax).is_some(),
            "{}'s syntax does not parse: {}",
            e.cmd.name,
            e.cmd.syntax
        );
    }
}

#[test]
fn config_get_set() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory-policy"]);
    assert_eq!(v, vec!["maxmemory-policy", "noeviction"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hash-max-*-entries"]);
    assert_eq!(v.len(), 4, "canonical name and alias: {v:?}");
    q::<()>(&mut c, &["CONFIG", "SET", "maxmemory", "1gb", "hz", "20"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(v[1], "1073741824");
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "foo", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "databases", "3"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hz", "abc"]),
        "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
    );
    // A failed multi-set changes nothing.
    let _ = err(
        &mut c,
        &["CONFIG", "SET", "maxmemory", "5", "appendonly", "maybe"],
    );
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(v[1], "1073741824");
    assert_eq!(
        err(&mut c, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
    // Runtime effect: a smaller bulk limit is enforced at once.
    q::<()>(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1000"]);
    let mut r = s.raw();
    r.roundtrip(
        b"*2\r\n$4\r\nECHO\r\n$1001\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
}

#[test]
fn time_lastsave_debug() {
    let s = TestServer::start();
    let mut c = s.conn();
    let t: Vec<String> = q(&mut c, &["TIME"]);
    let secs: u64 = t[0].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2);
    assert!(t[1].parse::<u64>().unwrap() < 1_000_000);
    let last: i64 = q(&mut c, &["LASTSAVE"]);
    assert!((last as u64).abs_diff(now) <= 5);
    let started = std::time::Instant::now();
    q::<()>(&mut c, &["DEBUG", "SLEEP", "0.2"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(
        err(&mut c, &["DEBUG", "FOO"]),
        "ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP."
    );
    // With active expiry off, an expired key stays counted until touched.
    q::<()>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    q::<()>(&mut c, &["SET", "x", "1", "PX", "10"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    q::<()>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
}

#[test]
fn shutdown_stops_the_server() {
    let s = TestServer::start();
    // A save that cannot succeed (the file name is taken by a directory)
    // makes SHUTDOWN SAVE fail and the server keep running.
    let mut c = s.conn();
    let dir: Vec<String> = q(&mut c, &["CONFIG", "GET", "dir"]);
    std::fs::create_dir_all(std::path::Path::new(&dir[1]).join("taken.rdb").join("x")).unwrap();
    q::<()>(&mut c, &["CONFIG", "SET", "dbfilename", "taken.rdb"]);
    let mut r = s.raw();
    r.roundtrip(
        b"SHUTDOWN SAVE\r\n",
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n",
    );
    r.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(r.is_closed());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect(s.addr).is_err(),
        "listener closed"
    );
}

#[test]
fn debug_needs_enable_debug_command() {
    let msg = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
    let s = TestServer::with_config(|c| c.enable_debug_command = "no".into());
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["DEBUG", "SLEEP", "0"]), msg);
    // Refused before the arity of subcommands matters, and counted as rejected.
    assert_eq!(err(&mut c, &["DEBUG", "HELP"]), msg);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "enable-debug-command"]),
        vec!["enable-debug-command", "no"]
    );
    assert!(
        err(&mut c, &["CONFIG", "SET", "enable-debug-command", "yes"])
            .contains("can't set immutable config")
    );
    for allowed in ["yes", "local"] {
        let s = TestServer::with_config(|c| c.enable_debug_command = allowed.into());
        q::<()>(&mut s.conn(), &["DEBUG", "SLEEP", "0"]);
    }
}

/// DEBUG DIGEST / DIGEST-VALUE, computed as Redis 7.2 computes them: the
/// expected values are what redis-server answers for the same data
/// (tests/compare.rs checks that against a live one).
#[test]
fn debug_digest_is_redis_s() {
    let s = TestServer::with_config(|c| c.enable_debug_command = "yes".into());
    let mut c = s.conn();
    let zeros = "0".repeat(40);
    assert_eq!(q::<String>(&mut c, &["DEBUG", "DIGEST"]), zeros);
    let cmds: &[&[&str]] = &[
        &["SET", "s", "hello"],
        &["SET", "n", "12345"],
        &["RPUSH", "l", "a", "b", "3"],
        &["SADD", "si", "1", "2", "3"],
        &["SADD", "ss", "a", "b", "c"],
        &["HSET", "h", "f", "v", "g", "1"],
        &["ZADD", "z", "1", "a", "2", "b", "3.5", "c"],
        &["SET", "t", "v", "EX", "100"],
        &["SELECT", "3"],
        &["SET", "x", "y"],
        &["SELECT", "0"],
    ];
    for cmd in cmds {
        let _: redis::Value = q(&mut c, cmd);
    }
    let values: Vec<String> = q(
        &mut c,
        &[
            "DEBUG",
            "DIGEST-VALUE",
            "s",
            "l",
            "si",
            "ss",
            "h",
            "z",
            "t",
            "nokey",
        ],
    );
    assert_eq!(
        values,
        [
            "36b23a1456b2dce2c3ed252c456761301dba8060",
            "09eb1fc9381ee92790d59930ab462945f8cd948b",
            "2a462a3f51a1db89738ebbeef0c47ce1bbc85246",
            "593c2414786d75446e97f4ea5d4b731f3313da72",
            "6679ee22f89ed8001eeb5309d0900265ea56c03a",
            "2e84f858313dc5e3c813d3d7e365e52265df5e70",
            "311b17018163335616e089f6b951c82c477335ac",
            &zeros,
        ]
    );
    let digest: String = q(&mut c, &["DEBUG", "DIGEST"]);
    assert_eq!(digest, "bb0d5dcf779ed828f0a15c7a8d014dde2b130144");
    // Encodings do not matter (a listpack hash grown into a hashtable and
    // back to the same pairs), and a reload keeps the digest.
    let _: () = q(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
    let _: () = q(&mut c, &["DEL", "h"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v", "g", "1"]);
    let enc: String = q(&mut c, &["OBJECT", "ENCODING", "h"]);
    assert_eq!(enc, "hashtable");
    assert_eq!(q::<String>(&mut c, &["DEBUG", "DIGEST"]), digest);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    assert_eq!(q::<String>(&mut c, &["DEBUG", "DIGEST"]), digest);
    // Order matters in a list, not in a set.
    let _: i64 = q(&mut c, &["LPUSH", "l2", "a", "b"]);
    let _: i64 = q(&mut c, &["RPUSH", "l3", "a", "b"]);
    let v: Vec<String> = q(&mut c, &["DEBUG", "DIGEST-VALUE", "l2", "l3"]);
    assert_ne!(v[0], v[1]);
}

/// DEBUG POPULATE, as Redis's: `key:<n>` = `value:<n>` (or a prefix, or
/// values padded with zero bytes or cut to a size), existing keys kept.
#[test]
fn debug_populate_creates_keys_as_redis_does() {
    let s = TestServer::with_config(|c| c.enable_debug_command = "yes".into());
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "key:1", "mine"]);
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "3"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 3);
    assert_eq!(q::<String>(&mut c, &["GET", "key:0"]), "value:0");
    assert_eq!(q::<String>(&mut c, &["GET", "key:1"]), "mine");
    assert_eq!(q::<String>(&mut c, &["GET", "key:2"]), "value:2");
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "2", "p", "10"]);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "p:1"]), b"value:1\0\0\0");
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "1", "cut", "3"]);
    assert_eq!(q::<String>(&mut c, &["GET", "cut:0"]), "val");
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "1", "zero", "0"]);
    assert_eq!(q::<String>(&mut c, &["GET", "zero:0"]), "value:0");
    assert!(err(
        &mut c,
        &["DEBUG", "POPULATE", "1", "huge", "9223372036854775807"]
    )
    .contains("proto-max-bulk-len"));
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "0"]);
    assert_eq!(
        err(&mut c, &["DEBUG", "POPULATE", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        err(&mut c, &["DEBUG", "POPULATE", "x"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        err(&mut c, &["DEBUG", "POPULATE", "1", "k", "-5"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 7);
}

/// DEBUG OBJECT, as Redis's: the value's address (kept by an in-place
/// INCR), refcount, encoding, RDB length, LRU clock in seconds and idle
/// time; quicklist details for a big list; an expired key not yet
/// reclaimed still shows; a missing key is an error.
#[test]
fn debug_object_shows_what_redis_shows() {
    let s = TestServer::start();
    let mut c = s.conn();
    let field = |line: &str, name: &str| -> String {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} in {line}"))
            .to_string()
    };
    let _: () = q(&mut c, &["SET", "foo", "20000"]);
    let _: () = q(&mut c, &["INCR", "foo"]);
    let one: String = q(&mut c, &["DEBUG", "OBJECT", "foo"]);
    let _: () = q(&mut c, &["INCR", "foo"]);
    let two: String = q(&mut c, &["DEBUG", "OBJECT", "foo"]);
    assert!(one.starts_with("Value at:0x"), "{one}");
    assert_eq!(field(&one, "at"), field(&two, "at"));
    assert_eq!(field(&two, "refcount"), "1");
    assert_eq!(field(&two, "encoding"), "int");
    assert_eq!(field(&two, "serializedlength"), "3");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lru: u64 = field(&two, "lru").parse().unwrap();
    assert!((secs & 0xFF_FFFF).abs_diff(lru) <= 2, "{two}");
    assert_eq!(field(&two, "lru_seconds_idle"), "0");
    let _: () = q(&mut c, &["SET", "small", "7"]);
    let small: String = q(&mut c, &["DEBUG", "OBJECT", "small"]);
    assert_eq!(field(&small, "refcount"), "2147483647");

    let items: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    let mut push = vec!["RPUSH", "big"];
    push.extend(items.iter().map(|s| s.as_str()));
    let _: () = q(&mut c, &push);
    let big: String = q(&mut c, &["DEBUG", "OBJECT", "big"]);
    assert_eq!(field(&big, "encoding"), "quicklist");
    let nodes: usize = field(&big, "ql_nodes").parse().unwrap();
    assert!(nodes > 1, "{big}");
    assert_eq!(field(&big, "ql_listpack_max"), "-2");
    assert_eq!(field(&big, "ql_compressed"), "0");
    let _: () = q(&mut c, &["RPUSH", "short", "a"]);
    let short: String = q(&mut c, &["DEBUG", "OBJECT", "short"]);
    assert!(!short.contains("ql_nodes"), "{short}");

    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut c, &["SET", "gone", "v", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let _: String = q(&mut c, &["DEBUG", "OBJECT", "gone"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "gone"]), 0);
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    assert_eq!(err(&mut c, &["DEBUG", "OBJECT", "gone"]), "ERR no such key");
    assert!(err(&mut c, &["DEBUG", "OBJECT"])
        .starts_with("ERR unknown subcommand or wrong number of arguments for 'OBJECT'"));
}

/// DEBUG PROTOCOL: Redis's sample reply of each type, byte for byte (as
/// redis-server sends them), in RESP2 and after HELLO 3.
#[test]
fn debug_protocol_replies_are_redis_s() {
    let s = TestServer::start();
    let mut r = s.raw();
    let cases: &[(&str, &[u8], &[u8])] = &[
        ("string", b"$11\r\nHello World\r\n", b"$11\r\nHello World\r\n"),
        ("double", b"$5\r\n3.141\r\n", b",3.141\r\n"),
        (
            "bignum",
            b"$37\r\n1234567999999999999999999999999999999\r\n",
            b"(1234567999999999999999999999999999999\r\n",
        ),
        ("null", b"$-1\r\n", b"_\r\n"),
        ("set", b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
        (
            "map",
            b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
            b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
        ),
        (
            "attrib",
            b"$39\r\nSome real reply following the attribute\r\n",
            b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n",
        ),
        (
            "push",
            b"-ERR RESP2 is not supported by this command\r\n",
            b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n",
        ),
        (
            "verbatim",
            b"$25\r\nThis is a verbatim\nstring\r\n",
            b"=29\r\ntxt:This is a verbatim\nstring\r\n",
        ),
        ("true", b":1\r\n", b"#t\r\n"),
    ];
    for resp3 in [false, true] {
        if resp3 {
            // The HELLO map, whatever its length: all of it within 300 ms.
            r.send(b"HELLO 3\r\n");
            let hello = r.read_n(65536, std::time::Duration::from_millis(300));
            assert!(hello.starts_with(b"%"), "{hello:?}");
        }
        for (t, two, three) in cases {
            let req = format!("DEBUG PROTOCOL {t}\r\n");
            r.roundtrip(req.as_bytes(), if resp3 { three } else { two });
        }
    }
    r.roundtrip(
        b"DEBUG PROTOCOL nope\r\n",
        b"-ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n",
    );
}

/// A non-loopback address of this machine, if it has one.
fn outside_ip() -> Option<std::net::IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("192.0.2.255:9")
        .or_else(|_| sock.connect("10.255.255.255:9"))
        .ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn protected_mode_denies_non_loopback_clients_without_password() {
    let Some(ip) = outside_ip() else {
        eprintln!("note: no non-loopback address; protected mode test skipped");
        return;
    };
    let connect = |port: u16| {
        let mut s = std::net::TcpStream::connect((ip, port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        use std::io::{Read, Write};
        let _ = s.write_all(b"PING\r\n");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    };
    let start = |protected: bool, pass: Option<&str>| {
        let mut cfg = ember::config::Config {
            worker_threads: 1,
            save: String::new(),
            port: 0,
            bind: vec!["0.0.0.0".into()],
            protected_mode: protected,
            requirepass: pass.map(|p| p.as_bytes().to_vec()),
            ..ember::config::Config::default()
        };
        cfg.dir = std::env::temp_dir().to_string_lossy().into_owned();
        ember::server::start(cfg).unwrap()
    };
    let h = start(true, None);
    let got = connect(h.addr().port());
    assert!(got.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."), "{got}");
    assert!(got.ends_with("to start accepting connections from the outside.\r\n"));
    // Loopback clients are still served.
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", h.addr().port()))
        .unwrap()
        .get_connection()
        .unwrap();
    let info: String = q(&mut c, &["INFO", "stats"]);
    assert!(info.contains("rejected_connections:1"), "{info}");
    // CONFIG SET protected-mode no from loopback opens it.
    q::<()>(&mut c, &["CONFIG", "SET", "protected-mode", "no"]);
    assert_eq!(connect(h.addr().port()), "+PONG\r\n");
    h.stop();
    // With a password, outside clients may connect (and must authenticate).
    let h = start(true, Some("secret"));
    assert!(connect(h.addr().port()).starts_with("-NOAUTH"));
    h.stop();
}

#[test]
fn client_pause_holds_writes_or_everything() {
    use std::time::{Duration, Instant};
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    q::<()>(&mut a, &["SET", "k", "1"]);
    q::<()>(&mut a, &["CLIENT", "PAUSE", "300", "WRITE"]);
    let t = Instant::now();
    assert_eq!(q::<String>(&mut b, &["GET", "k"]), "1");
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "reads are not held"
    );
    q::<()>(&mut b, &["SET", "k", "2"]);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "writes wait for the pause"
    );
    // UNPAUSE ends a write pause at once.
    q::<()>(&mut a, &["CLIENT", "PAUSE", "10000", "WRITE"]);
    let waiter = {
        let mut c = s.conn();
        std::thread::spawn(move || {
            let t = Instant::now();
            q::<()>(&mut c, &["SET", "k", "3"]);
            t.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    q::<()>(&mut a, &["CLIENT", "UNPAUSE"]);
    let waited = waiter.join().unwrap();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // ALL holds reads too.
    q::<()>(&mut a, &["CLIENT", "PAUSE", "300"]);
    let t = Instant::now();
    assert_eq!(q::<String>(&mut b, &["GET", "k"]), "3");
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert_eq!(
        err(&mut a, &["CLIENT", "PAUSE", "10", "READ"]),
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "PAUSE", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "PAUSE", "x"]),
        "ERR timeout is not an integer or out of range"
    );
}

/// `dir` and `dbfilename` are protected configs, as in Redis 7: CONFIG SET
/// refuses them unless `enable-protected-configs` allows it (yes, or local
/// for a loopback client).
#[test]
fn protected_configs_need_enable_protected_configs() {
    let s = TestServer::with_config(|c| c.enable_protected_configs = "no".into());
    let mut c = s.conn();
    for p in ["dir", "dbfilename"] {
        assert_eq!(
            err(&mut c, &["CONFIG", "SET", p, "x"]),
            format!("ERR CONFIG SET failed (possibly related to argument '{p}') - can't set protected config")
        );
    }
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "enable-protected-configs"]);
    assert_eq!(got, vec!["enable-protected-configs", "no"]);
    assert!(err(
        &mut c,
        &["CONFIG", "SET", "enable-protected-configs", "yes"]
    )
    .contains("can't set immutable config"));
    for allowed in ["yes", "local"] {
        let s = TestServer::with_config(|c| c.enable_protected_configs = allowed.into());
        q::<()>(&mut s.conn(), &["CONFIG", "SET", "dbfilename", "other.rdb"]);
    }
}

/// Redis's parameters for what Ember lacks load from redis.conf and answer
/// CONFIG GET/SET with Redis's checks; those that would promise a missing
/// feature accept only Redis's default.
#[test]
fn redis_parameters_ember_does_not_use() {
    let s = TestServer::start();
    let mut c = s.conn();
    let get = |c: &mut redis::Connection, p: &str| -> String {
        let v: Vec<String> = q(c, &["CONFIG", "GET", p]);
        v.get(1).cloned().unwrap_or_default()
    };
    assert_eq!(get(&mut c, "repl-backlog-size"), "1048576");
    q::<()>(&mut c, &["CONFIG", "SET", "repl-backlog-size", "10mb"]);
    assert_eq!(get(&mut c, "repl-backlog-size"), "10485760");
    assert_eq!(get(&mut c, "slave-read-only"), "yes");
    assert_eq!(get(&mut c, "replicaof"), "");
    assert_eq!(get(&mut c, "cluster-enabled"), "no");
    q::<()>(&mut c, &["CONFIG", "SET", "activedefrag", "no"]);
    assert!(err(&mut c, &["CONFIG", "SET", "activedefrag", "yes"])
        .contains("Active defragmentation cannot be enabled"));
    assert!(
        err(&mut c, &["CONFIG", "SET", "active-expire-effort", "11"])
            .contains("argument must be between 1 and 10 inclusive")
    );
    assert!(err(&mut c, &["CONFIG", "SET", "always-show-logo", "yes"])
        .contains("can't set immutable config"));
    let all: Vec<String> = q(&mut c, &["CONFIG", "GET", "*"]);
    assert!(all.iter().any(|n| n == "lazyfree-lazy-user-del"));
    // Hidden (debugging) parameters answer only to their exact name.
    assert!(!all.iter().any(|n| n == "key-load-delay"));
    assert_eq!(get(&mut c, "key-load-delay"), "0");
}

/// CONFIG SET bind re-binds the listeners on the same port, as Redis 7;
/// addresses that cannot be bound leave the old ones.
#[test]
fn config_set_bind_rebinds() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["CONFIG", "SET", "bind", "127.0.0.1 -::1"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "bind"]);
    assert_eq!(got, vec!["bind", "127.0.0.1 -::1"]);
    // Connections made before and after both work, on the same port.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut s.conn(), &["PING"]), "PONG");
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "bind", "192.0.2.1"]),
        "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
    );
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "bind"]);
    assert_eq!(got, vec!["bind", "127.0.0.1 -::1"]);
    assert_eq!(q::<String>(&mut s.conn(), &["PING"]), "PONG");
}

/// CLIENT PAUSE WRITE as Redis's processCommand decides: PUBLISH, EXEC with
/// a write queued and scripts that may write are held, scripts declared
/// no-writes are not; held clients count as blocked; keys do not expire
/// while the pause lasts.
#[test]
fn client_pause_write_holds_what_may_replicate() {
    use std::time::Duration;
    let s = TestServer::start();
    let mut a = s.conn();
    // A transaction with a write, queued before the pause.
    let mut tx = s.raw();
    tx.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    tx.roundtrip(b"SET k v\r\n", b"+QUEUED\r\n");
    let mut ro_tx = s.conn();
    q::<()>(&mut ro_tx, &["MULTI"]);
    q::<String>(&mut ro_tx, &["GET", "k"]);
    q::<()>(&mut a, &["SET", "ttl", "x", "PX", "50"]);
    q::<()>(&mut a, &["CLIENT", "PAUSE", "60000", "WRITE"]);
    // Read-only work goes through.
    let got: Vec<Option<String>> = q(&mut ro_tx, &["EXEC"]);
    assert_eq!(got, vec![None]);
    let ro = "#!lua flags=no-writes\nreturn 'ro'";
    assert_eq!(q::<String>(&mut a, &["EVAL", ro, "0"]), "ro");
    assert_eq!(q::<String>(&mut a, &["EVAL_RO", "return 'r'", "0"]), "r");
    // What may write waits, counted as blocked.
    let mut publ = s.raw();
    publ.send(b"PUBLISH ch m\r\n");
    let mut script = s.raw();
    script.send(b"EVAL \"return 1\" 0\r\n");
    let mut declared = s.raw();
    declared.send(b"*3\r\n$4\r\nEVAL\r\n$14\r\n#!lua\nreturn 2\r\n$1\r\n0\r\n");
    tx.send(b"EXEC\r\n");
    common::wait_blocked(&mut a, 4);
    let list: String = q(&mut a, &["CLIENT", "LIST"]);
    let flagged = list
        .lines()
        .filter(|l| {
            l.split(' ')
                .any(|f| f.starts_with("flags=") && f.contains('b'))
        })
        .count();
    assert_eq!(flagged, 4, "{list}");
    // The key's time has passed: it reads as missing but is not expired
    // (deleted, counted) until the pause ends.
    std::thread::sleep(Duration::from_millis(100));
    let expired = |c: &mut redis::Connection| -> u64 {
        info_field(&q::<String>(c, &["INFO", "stats"]), "expired_keys")
    };
    assert_eq!(q::<Option<String>>(&mut a, &["GET", "ttl"]), None);
    assert_eq!(expired(&mut a), 0);
    q::<()>(&mut a, &["CLIENT", "UNPAUSE"]);
    publ.expect(b":0\r\n");
    script.expect(b":1\r\n");
    declared.expect(b":2\r\n");
    tx.expect(b"*1\r\n+OK\r\n");
    assert_eq!(common::blocked_clients(&mut a), 0);
    assert_eq!(q::<Option<String>>(&mut a, &["GET", "ttl"]), None);
    assert_eq!(expired(&mut a), 1);
    // PUBLISH may replicate: a read-only script cannot call it.
    assert!(err(
        &mut a,
        &["EVAL_RO", "return redis.call('publish','ch','m')", "0"]
    )
    .starts_with("ERR Write commands are not allowed from read-only scripts."));
}

/// CLIENT LIST shows the running batch's bytes as the query buffer, as
/// Redis does before it trims its buffer.
#[test]
fn client_list_query_buffer_of_the_caller() {
    let s = TestServer::start();
    let mut c = s.raw();
    c.send(b"CLIENT INFO\r\n");
    let got = String::from_utf8(c.read_n(400, std::time::Duration::from_millis(500))).unwrap();
    assert!(got.contains(" qbuf=13 qbuf-free=16371 "), "{got}");
}

/// Another client's query buffer: what it holds of an unfinished request,
/// and what its allocation has left (not a fixed 16 KB).
#[test]
fn client_list_query_buffer_of_another_client() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut big = s.raw();
    let _: () = q(&mut c, &["CLIENT", "SETNAME", "watcher"]);
    big.send(b"CLIENT SETNAME big\r\n");
    big.expect(b"+OK\r\n");
    let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 60_000));
    big.send(&req);
    let field = |line: &str, name: &str| -> usize {
        line.split(' ')
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let line = loop {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        let line = list
            .lines()
            .find(|l| l.contains(" name=big "))
            .unwrap()
            .to_string();
        if field(&line, "qbuf") >= req.len() || std::time::Instant::now() > deadline {
            break line;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (qbuf, free, tot) = (
        field(&line, "qbuf"),
        field(&line, "qbuf-free"),
        field(&line, "tot-mem"),
    );
    assert_eq!(qbuf, req.len(), "{line}");
    assert!(free < 100_000 && tot >= qbuf + free, "{line}");
    // The rest of the value arrives: the buffer is given back within a
    // check or two (server::trim), as Redis's cron gives it back.
    let mut rest = vec![b'x'; 40_000];
    rest.extend_from_slice(b"\r\n");
    big.send(&rest);
    big.expect(b"+OK\r\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        let line = list.lines().find(|l| l.contains(" name=big ")).unwrap();
        assert_eq!(field(line, "qbuf"), 0, "{line}");
        if field(line, "qbuf-free") <= 64 * 1024 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{line}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// What cluster-aware clients ask a standalone server, through a real
/// client: ROLE answers as a master without replicas; READONLY, READWRITE,
/// ASKING and CLUSTER subcommands say cluster support is disabled.
#[test]
fn role_and_cluster_commands_through_a_client() {
    let s = TestServer::start();
    let mut c = s.conn();
    let role: redis::Value = q(&mut c, &["ROLE"]);
    assert_eq!(
        role,
        redis::Value::Array(vec![
            redis::Value::BulkString(b"master".to_vec()),
            redis::Value::Int(0),
            redis::Value::Array(vec![]),
        ])
    );
    for cmd in [
        &["READONLY"][..],
        &["READWRITE"],
        &["ASKING"],
        &["CLUSTER", "INFO"],
        &["CLUSTER", "SLOTS"],
        &["CLUSTER", "KEYSLOT", "foo"],
    ] {
        assert_eq!(
            err(&mut c, cmd),
            "ERR This instance has cluster support disabled",
            "{cmd:?}"
        );
    }
    assert_eq!(
        err(&mut c, &["CLUSTER", "NOSUCH"]),
        "ERR unknown subcommand 'NOSUCH'. Try CLUSTER HELP."
    );
    assert_eq!(
        err(&mut c, &["CLUSTER"]),
        "ERR wrong number of arguments for 'cluster' command"
    );
    // The connection is fine afterwards.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}
