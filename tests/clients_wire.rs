//! Connection handshakes and common request shapes of client libraries that
//! cannot run here (Go and Java), replayed byte for byte over raw sockets.
//!
//! Each sequence is what the library writes, split into writes the way it
//! pipelines them (one `send` = one flush), and each reply is what Redis 7.2
//! answers, checked byte for byte (checked by hand against redis-server
//! 7.0.15 where 7.0 and 7.2 agree, and against Redis 7.2.4's source where
//! they do not: CLIENT SETINFO, CLIENT NO-TOUCH, the HELLO NOAUTH text, and
//! pushes a client gets from its own PUBLISH, which 7.2 sends after the
//! command's reply). The HELLO map's `id` is the only variable part.
//!
//! Sources (read in the libraries' repositories):
//! - go-redis v9.22.0 (latest): `redis.go` `baseClient.initConn`;
//!   `commands.go` `Hello`, `ClientSetInfo`, `ClientMaintNotifications`,
//!   `Auth`/`AuthACL`; `maintnotifications/config.go` (mode `auto` by
//!   default, endpoint type `internal-ip` for a loopback address);
//!   `tx.go`/`redis.go` `wrapMultiExec`, `txPipelineReadQueued`;
//!   `pubsub.go` `newMessage` (counts must be integers, an `unsubscribe`
//!   channel may be null); `list_commands.go` `BLPop` with `formatSec`.
//!   On connect: `hello <proto> [auth <user|default> <pass>] [setname <n>]`
//!   alone; if that fails with a Redis error, `auth [<user>] <pass>` when a
//!   password is set; then one pipeline `[select <db>] [client setname <n>]
//!   [client tracking on]` (the last with client-side caching, RESP3 only);
//!   then (RESP3 only) `client maint_notifications on moving-endpoint-type
//!   internal-ip`, whose error is ignored in auto mode; then one pipeline
//!   `client setinfo LIB-NAME go-redis(<suffix>,<go version>)` +
//!   `client setinfo LIB-VER <version>`, errors ignored. All lower-case.
//! - Jedis 5.2.0: `Connection.initializeFromClientConfig`, `helloAndAuth`,
//!   `getMany` (the fire-and-forget replies are read and errors dropped);
//!   `Transaction` (MULTI and the queued commands go in one flush, EXEC in
//!   the next), `Jedis.resetState` (UNWATCH), `JedisFactory.validateObject`
//!   (PING), `Protocol.toByteArray(double)` (Java's `Double.toString`:
//!   `1.0E10`, `0.1`). By default no HELLO: `AUTH [<user>] <pass>` only.
//!   With RESP3: `HELLO 3 AUTH <user> <pass>` when a user is set, else
//!   `AUTH <pass>` then `HELLO 3`. Then one flush of `CLIENT SETNAME <n>`,
//!   `CLIENT SETINFO LIB-NAME jedis`, `CLIENT SETINFO LIB-VER 5.2.0`, then
//!   `SELECT <db>` alone.
//! - Jedis 7.5.3 (current): `ProtocolHandshake.establish`: `HELLO 3
//!   [AUTH <user|default> <pass>]`; on NOAUTH, `AUTH` and HELLO again; on
//!   an `ERR ... unknown command` error, `AUTH` then `HELLO 2`.
//! - Lettuce 6.8.2: `RedisHandshake`, `RedisCommandBuilder.hello` and
//!   `clientSetinfo`. RESP3 (the default): `HELLO 3 [AUTH <user|default>
//!   <pass>] [SETNAME <n>]` alone; it reads `id` (integer), `mode`,
//!   `version`, `role` from the map; an error starting `NOPROTO`, or `ERR`
//!   and containing `unknown`, makes it fall back to RESP2; then
//!   `[SELECT <db>] [READONLY]` (must succeed), then one flush of
//!   `CLIENT SETNAME <n>` (RESP2 only), `CLIENT SETINFO lib-name Lettuce`
//!   and `CLIENT SETINFO lib-ver <version>`, errors ignored. RESP2:
//!   `AUTH [<user>] <pass>`, or `PING` without credentials.
//!
//! go-redis v9.17.3 (the newest that Go 1.19 builds) and Jedis 5.2.0 were
//! also built once by hand and run against Ember (connect in RESP2/RESP3,
//! with and without credentials, pipelines, transactions and WATCH, Lua,
//! Pub/Sub, BLPOP); this file keeps their wire traffic as regression tests.

mod common;
use common::{Raw, TestServer};
use std::io::Read;
use std::time::{Duration, Instant};

/// One command as a RESP multibulk (how all three libraries encode).
fn cmd(args: &[&str]) -> Vec<u8> {
    let mut b = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        b.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        b.extend_from_slice(a.as_bytes());
        b.extend_from_slice(b"\r\n");
    }
    b
}

/// Several commands in one write (a pipeline flush).
fn cmds(list: &[&[&str]]) -> Vec<u8> {
    list.iter().flat_map(|a| cmd(a)).collect()
}

/// Redis 7.2's HELLO reply in the given protocol for client `id`.
fn hello_reply(proto: u8, id: u64) -> Vec<u8> {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

/// Read until `buf` ends with `suffix` (5 s at most).
fn read_until(r: &mut Raw, suffix: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(suffix) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out; got {:?}",
            String::from_utf8_lossy(&got)
        );
        r.0.set_read_timeout(Some(left)).ok();
        match r.0.read(&mut b) {
            Ok(1) => got.push(b[0]),
            _ => panic!("closed; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    got
}

/// Send a HELLO and check its reply byte for byte; returns the client id.
fn hello(r: &mut Raw, req: &[u8], proto: u8) -> u64 {
    r.send(req);
    let got = read_until(r, b"$7\r\nmodules\r\n*0\r\n");
    let text = String::from_utf8_lossy(&got);
    let id = text
        .split("$2\r\nid\r\n:")
        .nth(1)
        .and_then(|t| t.split("\r\n").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id in {text:?}"));
    assert_eq!(text, String::from_utf8_lossy(&hello_reply(proto, id)));
    id
}

/// The CLIENT INFO line of this connection (RESP2 bulk or RESP3 verbatim).
fn client_info(r: &mut Raw) -> String {
    r.send(&cmd(&["client", "info"]));
    let got = read_until(r, b"\n\r\n");
    String::from_utf8_lossy(&got).into_owned()
}

const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const HELLO_NOAUTH: &[u8] = b"-NOAUTH HELLO must be called with the client already authenticated, \
otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
select the RESP protocol version at the same time\r\n";
const MAINT: &[&str] = &[
    "client",
    "maint_notifications",
    "on",
    "moving-endpoint-type",
    "internal-ip",
];
const MAINT_ERR: &[u8] = b"-ERR unknown subcommand 'maint_notifications'. Try CLIENT HELP.\r\n";

/// A server with `requirepass secret` and an ACL user alice/pw.
fn auth_server() -> TestServer {
    let s = TestServer::with_config(|c| c.requirepass = Some(b"secret".to_vec()));
    let mut r = s.raw();
    r.roundtrip(
        &cmds(&[
            &["AUTH", "secret"],
            &["ACL", "SETUSER", "alice", "on", ">pw", "~*", "&*", "+@all"],
        ]),
        b"+OK\r\n+OK\r\n",
    );
    s
}

// ------------------------------------------------------------ go-redis v9

/// go-redis's connection setup after HELLO, for a client named `app` on DB 2.
fn go_redis_after_hello(r: &mut Raw, proto: u8) {
    r.roundtrip(
        &cmds(&[&["select", "2"], &["client", "setname", "app"]]),
        b"+OK\r\n+OK\r\n",
    );
    if proto == 3 {
        r.roundtrip(&cmd(MAINT), MAINT_ERR);
    }
    r.roundtrip(
        &cmds(&[
            &["client", "setinfo", "LIB-NAME", "go-redis(,go1.24.0)"],
            &["client", "setinfo", "LIB-VER", "9.22.0"],
        ]),
        b"+OK\r\n+OK\r\n",
    );
}

#[test]
fn go_redis_handshake_resp3_and_resp2() {
    let s = TestServer::start();
    for proto in [3u8, 2] {
        let mut r = s.raw();
        let p = proto.to_string();
        let id = hello(&mut r, &cmd(&["hello", &p, "setname", "app"]), proto);
        go_redis_after_hello(&mut r, proto);
        let info = client_info(&mut r);
        let head = if proto == 3 { "=" } else { "$" };
        assert!(info.starts_with(head), "{info}");
        if proto == 3 {
            assert!(info.contains("\r\ntxt:id="), "{info}");
        }
        for field in [
            format!("id={id} "),
            " name=app ".into(),
            " db=2 ".into(),
            " cmd=client|info user=default redir=-1 ".into(),
            format!(" resp={proto} lib-name=go-redis(,go1.24.0) lib-ver=9.22.0\n\r\n"),
        ] {
            assert!(info.contains(&field), "{field:?} not in {info:?}");
        }
        // A Go build tag in runtime.Version() has its spaces replaced by '-'.
        r.roundtrip(
            &cmd(&[
                "client",
                "setinfo",
                "LIB-NAME",
                "go-redis(suffix,go1.24.0-X:nocoverageredesign)",
            ]),
            b"+OK\r\n",
        );
    }
}

#[test]
fn go_redis_handshake_with_credentials() {
    let s = auth_server();
    // Username and password: HELLO carries them, and the name.
    let mut r = s.raw();
    hello(
        &mut r,
        &cmd(&["hello", "3", "auth", "alice", "pw", "setname", "app"]),
        3,
    );
    go_redis_after_hello(&mut r, 3);
    r.roundtrip(&cmd(&["acl", "whoami"]), b"$5\r\nalice\r\n");
    // Password only: user "default"; RESP2.
    let mut r = s.raw();
    hello(
        &mut r,
        &cmd(&["hello", "2", "auth", "default", "secret"]),
        2,
    );
    r.roundtrip(
        &cmds(&[
            &["client", "setinfo", "LIB-NAME", "go-redis(,go1.24.0)"],
            &["client", "setinfo", "LIB-VER", "9.22.0"],
        ]),
        b"+OK\r\n+OK\r\n",
    );
    // Wrong password: HELLO's Redis error makes go-redis try AUTH, which
    // fails the same way; the connection stays unauthenticated.
    let mut r = s.raw();
    r.roundtrip(&cmd(&["hello", "3", "auth", "alice", "nope"]), WRONGPASS);
    r.roundtrip(&cmd(&["auth", "alice", "nope"]), WRONGPASS);
    r.roundtrip(&cmd(&["hello", "3", "auth", "default", "nope"]), WRONGPASS);
    r.roundtrip(&cmd(&["auth", "nope"]), WRONGPASS);
    r.roundtrip(&cmd(&["ping"]), NOAUTH);
    // No password configured on the client: HELLO's NOAUTH is a Redis
    // error, so go-redis carries on (RESP2) and its SETINFO pipeline gets
    // NOAUTH twice (ignored); the user's first command fails with NOAUTH.
    let mut r = s.raw();
    r.roundtrip(&cmd(&["hello", "3"]), HELLO_NOAUTH);
    r.roundtrip(
        &cmds(&[
            &["client", "setinfo", "LIB-NAME", "go-redis(,go1.24.0)"],
            &["client", "setinfo", "LIB-VER", "9.22.0"],
        ]),
        &[NOAUTH, NOAUTH].concat(),
    );
    r.roundtrip(&cmd(&["get", "k"]), NOAUTH);
}

#[test]
fn go_redis_client_side_cache_init() {
    // With client-side caching on (RESP3 only), initConn's pipeline ends
    // with `client tracking on`; invalidations arrive as pushes, after the
    // reply of the connection's own write.
    let s = TestServer::start();
    let mut r = s.raw();
    hello(&mut r, &cmd(&["hello", "3"]), 3);
    r.roundtrip(
        &cmds(&[
            &["select", "2"],
            &["client", "setname", "app"],
            &["client", "tracking", "on"],
        ]),
        b"+OK\r\n+OK\r\n+OK\r\n",
    );
    r.roundtrip(&cmd(MAINT), MAINT_ERR);
    r.roundtrip(&cmd(&["get", "k"]), b"_\r\n");
    let mut other = s.raw();
    other.roundtrip(
        &cmds(&[&["select", "2"], &["set", "k", "1"]]),
        b"+OK\r\n+OK\r\n",
    );
    r.expect(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    r.roundtrip(&cmd(&["get", "k"]), b"$1\r\n1\r\n");
    r.roundtrip(
        &cmds(&[&["set", "k", "2"], &["ping"]]),
        b"+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n+PONG\r\n",
    );
}

#[test]
fn go_redis_pipeline_and_tx_pipeline() {
    let s = TestServer::start();
    for proto in [3u8, 2] {
        let mut r = s.raw();
        hello(&mut r, &cmd(&["hello", &proto.to_string()]), proto);
        r.roundtrip(&cmd(&["flushall"]), b"+OK\r\n");
        r.roundtrip(
            &cmds(&[
                &["set", "k", "v"],
                &["get", "k"],
                &["incr", "n"],
                &["get", "nokey"],
            ]),
            if proto == 3 {
                b"+OK\r\n$1\r\nv\r\n:1\r\n_\r\n"
            } else {
                b"+OK\r\n$1\r\nv\r\n:1\r\n$-1\r\n"
            },
        );
        // TxPipeline: MULTI ... EXEC in one write; go-redis reads +OK, one
        // +QUEUED per command, then requires '*' (or a null: TxFailedErr).
        r.roundtrip(
            &cmds(&[
                &["multi"],
                &["set", "k", "v2"],
                &["incr", "n"],
                &["hgetall", "k2"],
                &["exec"],
            ]),
            if proto == 3 {
                b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n%0\r\n"
            } else {
                b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n*0\r\n"
            },
        );
        // A command rejected while queueing: EXECABORT.
        r.roundtrip(
            &cmds(&[&["multi"], &["set", "k"], &["incr", "n"], &["exec"]]),
            b"+OK\r\n-ERR wrong number of arguments for 'set' command\r\n+QUEUED\r\n\
              -EXECABORT Transaction discarded because of previous errors.\r\n",
        );
        // A runtime error inside EXEC is one element of the array.
        r.roundtrip(
            &cmds(&[
                &["set", "s", "abc"],
                &["multi"],
                &["incr", "s"],
                &["incr", "n"],
                &["exec"],
            ]),
            b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR value is not an integer or out of range\r\n:3\r\n",
        );
        // Client.Watch: WATCH alone, reads, another client writes, then the
        // TxPipeline's EXEC answers null; Tx.Close sends no UNWATCH after
        // EXEC (watchArmed is cleared), but an explicit one answers OK.
        r.roundtrip(&cmd(&["watch", "w"]), b"+OK\r\n");
        r.roundtrip(
            &cmd(&["get", "w"]),
            if proto == 3 { b"_\r\n" } else { b"$-1\r\n" },
        );
        let mut other = s.raw();
        other.roundtrip(&cmd(&["set", "w", "1"]), b"+OK\r\n");
        r.roundtrip(
            &cmds(&[&["multi"], &["set", "w", "2"], &["exec"]]),
            if proto == 3 {
                b"+OK\r\n+QUEUED\r\n_\r\n"
            } else {
                b"+OK\r\n+QUEUED\r\n*-1\r\n"
            },
        );
        r.roundtrip(&cmd(&["unwatch"]), b"+OK\r\n");
        // Script.Run: EVALSHA first, EVAL on NOSCRIPT.
        r.roundtrip(&cmd(&["script", "flush"]), b"+OK\r\n");
        r.roundtrip(
            &cmd(&["evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]),
            b"-NOSCRIPT No matching script. Please use EVAL.\r\n",
        );
        r.roundtrip(
            &cmd(&["eval", "return {1,'a',{err='x'}}", "0"]),
            b"*3\r\n:1\r\n$1\r\na\r\n-x\r\n",
        );
        r.roundtrip(&cmd(&["eval", "return 1", "0"]), b":1\r\n");
        r.roundtrip(
            &cmd(&["evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]),
            b":1\r\n",
        );
    }
}

#[test]
fn go_redis_blpop_timeout_and_wake() {
    let s = TestServer::start();
    for proto in [3u8, 2] {
        let mut r = s.raw();
        hello(&mut r, &cmd(&["hello", &proto.to_string()]), proto);
        // formatSec: whole seconds (a sub-second timeout is sent as 1).
        let t = Instant::now();
        r.roundtrip(
            &cmd(&["blpop", "bl", "1"]),
            if proto == 3 { b"_\r\n" } else { b"*-1\r\n" },
        );
        assert!(t.elapsed() >= Duration::from_millis(900));
        r.send(&cmd(&["blpop", "bl", "5"]));
        std::thread::sleep(Duration::from_millis(100));
        let mut other = s.raw();
        other.roundtrip(&cmd(&["rpush", "bl", "x"]), b":1\r\n");
        r.expect(b"*2\r\n$2\r\nbl\r\n$1\r\nx\r\n");
    }
}

#[test]
fn go_redis_pubsub_resp3() {
    let s = TestServer::start();
    let mut r = s.raw();
    hello(&mut r, &cmd(&["hello", "3"]), 3);
    let mut other = s.raw();
    r.roundtrip(
        &cmd(&["subscribe", "ch"]),
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    // The health check's PING: a plain +PONG in RESP3 (a Pong).
    r.roundtrip(&cmd(&["ping"]), b"+PONG\r\n");
    other.roundtrip(&cmd(&["publish", "ch", "hi"]), b":1\r\n");
    r.expect(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    r.roundtrip(
        &cmd(&["psubscribe", "c*"]),
        b">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n",
    );
    // Its own PUBLISH (RESP3 allows it): Redis 7.2 sends the reply first,
    // then the pushes it raised.
    r.roundtrip(
        &cmds(&[&["publish", "ch", "x"], &["ping"]]),
        b":2\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n\
          >4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nx\r\n+PONG\r\n",
    );
    r.roundtrip(
        &cmd(&["unsubscribe"]),
        b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    r.roundtrip(
        &cmd(&["punsubscribe"]),
        b">3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:0\r\n",
    );
    // Unsubscribing from nothing: a null channel (go-redis allows it).
    r.roundtrip(
        &cmd(&["unsubscribe"]),
        b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
    );
}

#[test]
fn go_redis_pubsub_resp2() {
    let s = TestServer::start();
    let mut r = s.raw();
    hello(&mut r, &cmd(&["hello", "2"]), 2);
    let mut other = s.raw();
    r.roundtrip(
        &cmd(&["subscribe", "ch", "ch2"]),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n",
    );
    r.roundtrip(&cmd(&["ping"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    r.roundtrip(&cmd(&["ping", "p"]), b"*2\r\n$4\r\npong\r\n$1\r\np\r\n");
    other.roundtrip(&cmd(&["publish", "ch", "hi"]), b":1\r\n");
    r.expect(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    r.roundtrip(
        &cmd(&["get", "k"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    r.roundtrip(
        &cmd(&["unsubscribe"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$3\r\nch2\r\n:0\r\n",
    );
    r.roundtrip(
        &cmd(&["unsubscribe"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
}

// ------------------------------------------------------------------ Jedis

/// Jedis's fire-and-forget flush after authentication, then SELECT.
fn jedis_after_auth(r: &mut Raw, ver: &str) {
    r.roundtrip(
        &cmds(&[
            &["CLIENT", "SETNAME", "app"],
            &["CLIENT", "SETINFO", "LIB-NAME", "jedis"],
            &["CLIENT", "SETINFO", "LIB-VER", ver],
        ]),
        b"+OK\r\n+OK\r\n+OK\r\n",
    );
    r.roundtrip(&cmd(&["SELECT", "2"]), b"+OK\r\n");
    // JedisFactory.validateObject on borrow.
    r.roundtrip(&cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn jedis5_handshakes() {
    let s = auth_server();
    // Default protocol: no HELLO at all.
    let mut r = s.raw();
    r.roundtrip(&cmd(&["AUTH", "secret"]), b"+OK\r\n");
    jedis_after_auth(&mut r, "5.2.0");
    let info = client_info(&mut r);
    assert!(
        info.contains(" name=app ") && info.contains(" db=2 "),
        "{info}"
    );
    assert!(
        info.ends_with(" resp=2 lib-name=jedis lib-ver=5.2.0\n\r\n"),
        "{info}"
    );
    let mut r = s.raw();
    r.roundtrip(&cmd(&["AUTH", "alice", "pw"]), b"+OK\r\n");
    jedis_after_auth(&mut r, "5.2.0");
    // RESP3 with a user: HELLO carries AUTH.
    let mut r = s.raw();
    hello(&mut r, &cmd(&["HELLO", "3", "AUTH", "alice", "pw"]), 3);
    jedis_after_auth(&mut r, "5.2.0");
    // RESP3 with a password only: AUTH, then HELLO 3.
    let mut r = s.raw();
    r.roundtrip(&cmd(&["AUTH", "secret"]), b"+OK\r\n");
    hello(&mut r, &cmd(&["HELLO", "3"]), 3);
    jedis_after_auth(&mut r, "5.2.0");
    // A wrong password fails the connection at AUTH.
    let mut r = s.raw();
    r.roundtrip(&cmd(&["AUTH", "nope"]), WRONGPASS);
    // A suffixed library name (ClientSetInfoConfig / DriverInfo).
    let mut r = s.raw();
    r.roundtrip(&cmd(&["AUTH", "secret"]), b"+OK\r\n");
    r.roundtrip(
        &cmd(&[
            "CLIENT",
            "SETINFO",
            "LIB-NAME",
            "jedis(spring-session_v3.3.0;spring-data-redis_v3.2.0)",
        ]),
        b"+OK\r\n",
    );
}

#[test]
fn jedis7_handshake_negotiates_resp3() {
    let s = auth_server();
    let mut r = s.raw();
    hello(
        &mut r,
        &cmd(&["HELLO", "3", "AUTH", "default", "secret"]),
        3,
    );
    jedis_after_auth(&mut r, "7.5.3");
    // Without credentials: NOAUTH, so Jedis authenticates (nothing to send
    // without a password) and retries HELLO, which fails the same way.
    let mut r = s.raw();
    r.roundtrip(&cmd(&["HELLO", "3"]), HELLO_NOAUTH);
    r.roundtrip(&cmd(&["HELLO", "3"]), HELLO_NOAUTH);
    // Errors that are not "ERR ... unknown command" do not make it fall
    // back to RESP2.
    r.roundtrip(&cmd(&["HELLO", "3", "AUTH", "default", "x"]), WRONGPASS);
}

#[test]
fn jedis_transactions_and_reset() {
    let s = TestServer::start();
    for proto in [2u8, 3] {
        let mut r = s.raw();
        if proto == 3 {
            hello(&mut r, &cmd(&["HELLO", "3"]), 3);
        }
        r.roundtrip(&cmd(&["FLUSHALL"]), b"+OK\r\n");
        // jedis.watch(); jedis.multi(): MULTI + commands in one flush, EXEC
        // in the next.
        r.roundtrip(&cmd(&["WATCH", "w"]), b"+OK\r\n");
        r.roundtrip(
            &cmds(&[
                &["MULTI"],
                &["SET", "w", "1"],
                &["INCR", "n"],
                &["HGETALL", "h"],
            ]),
            b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n",
        );
        r.roundtrip(
            &cmd(&["EXEC"]),
            if proto == 3 {
                b"*3\r\n+OK\r\n:1\r\n%0\r\n"
            } else {
                b"*3\r\n+OK\r\n:1\r\n*0\r\n"
            },
        );
        // A conflicting write: EXEC's null (Jedis returns null).
        r.roundtrip(&cmd(&["WATCH", "w"]), b"+OK\r\n");
        s.raw().roundtrip(&cmd(&["SET", "w", "x"]), b"+OK\r\n");
        r.roundtrip(
            &cmds(&[&["MULTI"], &["SET", "w", "2"]]),
            b"+OK\r\n+QUEUED\r\n",
        );
        r.roundtrip(
            &cmd(&["EXEC"]),
            if proto == 3 { b"_\r\n" } else { b"*-1\r\n" },
        );
        // Transaction.close() without exec: DISCARD; Jedis.resetState()
        // (returning a pooled connection) after a WATCH: UNWATCH.
        r.roundtrip(
            &cmds(&[&["MULTI"], &["SET", "a", "b"]]),
            b"+OK\r\n+QUEUED\r\n",
        );
        r.roundtrip(&cmd(&["DISCARD"]), b"+OK\r\n");
        r.roundtrip(&cmd(&["WATCH", "w"]), b"+OK\r\n");
        r.roundtrip(&cmd(&["UNWATCH"]), b"+OK\r\n");
        r.roundtrip(&cmd(&["EXISTS", "a"]), b":0\r\n");
    }
}

#[test]
fn jedis_double_arguments_in_java_notation() {
    let s = TestServer::start();
    let mut r = s.raw();
    // Protocol.toByteArray(double) is Double.toString: 1.0E10, -0.0015
    // as -0.0015, 0.25 as 2.5E-1 only below 1e-3; all parse as in Redis.
    r.roundtrip(
        &cmd(&["ZADD", "z", "1.0E10", "m", "-1.5E-3", "n", "1.0", "o"]),
        b":3\r\n",
    );
    r.roundtrip(&cmd(&["ZSCORE", "z", "m"]), b"$11\r\n10000000000\r\n");
    r.roundtrip(&cmd(&["ZINCRBY", "z", "2.5E-1", "o"]), b"$4\r\n1.25\r\n");
    r.roundtrip(
        &cmd(&["ZRANGEBYSCORE", "z", "-Infinity", "Infinity", "WITHSCORES"]),
        b"*6\r\n$1\r\nn\r\n$7\r\n-0.0015\r\n$1\r\no\r\n$4\r\n1.25\r\n$1\r\nm\r\n$11\r\n10000000000\r\n",
    );
    r.roundtrip(&cmd(&["ZADD", "z", "+inf", "p", "-inf", "q"]), b":2\r\n");
    r.roundtrip(&cmd(&["INCRBYFLOAT", "f", "1.0E2"]), b"$3\r\n100\r\n");
    // blpop(double timeout).
    let t = Instant::now();
    r.roundtrip(&cmd(&["BLPOP", "l", "1.0E-1"]), b"*-1\r\n");
    r.roundtrip(&cmd(&["BLPOP", "l", "0.1"]), b"*-1\r\n");
    // Each waited its 100 ms, give or take the millisecond clock the
    // deadline is taken from (cached per batch, as Redis's mstime).
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
    hello(&mut r, &cmd(&["HELLO", "3"]), 3);
    r.roundtrip(&cmd(&["ZSCORE", "z", "m"]), b",10000000000\r\n");
    r.roundtrip(&cmd(&["ZINCRBY", "z", "2.5E-1", "n"]), b",0.2485\r\n");
}

#[test]
fn jedis_pubsub() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(
        &cmd(&["SUBSCRIBE", "ch"]),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    // JedisPubSub.ping() / ping(argument).
    r.roundtrip(&cmd(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    r.roundtrip(&cmd(&["PING", "x"]), b"*2\r\n$4\r\npong\r\n$1\r\nx\r\n");
    r.roundtrip(
        &cmd(&["PSUBSCRIBE", "p*"]),
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n",
    );
    r.roundtrip(
        &cmd(&["UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    r.roundtrip(
        &cmd(&["PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n",
    );
    // Back in normal mode.
    r.roundtrip(&cmd(&["PING"]), b"+PONG\r\n");
    // RESP3: subscription replies and messages are pushes.
    let mut r = s.raw();
    hello(&mut r, &cmd(&["HELLO", "3"]), 3);
    r.roundtrip(
        &cmd(&["SUBSCRIBE", "ch"]),
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    r.roundtrip(&cmd(&["PING"]), b"+PONG\r\n");
    s.raw().roundtrip(&cmd(&["PUBLISH", "ch", "hi"]), b":1\r\n");
    r.expect(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    r.roundtrip(
        &cmd(&["UNSUBSCRIBE"]),
        b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
    );
}

// ---------------------------------------------------------------- Lettuce

#[test]
fn lettuce_handshakes() {
    let s = auth_server();
    // RESP3 (default): HELLO with AUTH and SETNAME, SELECT, then the
    // metadata flush (no CLIENT SETNAME: HELLO set it).
    let mut r = s.raw();
    let id = hello(
        &mut r,
        &cmd(&["HELLO", "3", "AUTH", "default", "secret", "SETNAME", "app"]),
        3,
    );
    r.roundtrip(&cmd(&["SELECT", "2"]), b"+OK\r\n");
    r.roundtrip(
        &cmds(&[
            &["CLIENT", "SETINFO", "lib-name", "Lettuce"],
            &["CLIENT", "SETINFO", "lib-ver", "6.8.2.RELEASE"],
        ]),
        b"+OK\r\n+OK\r\n",
    );
    r.roundtrip(&cmd(&["CLIENT", "GETNAME"]), b"$3\r\napp\r\n");
    r.roundtrip(&cmd(&["CLIENT", "ID"]), format!(":{id}\r\n").as_bytes());
    let info = client_info(&mut r);
    assert!(
        info.ends_with(" resp=3 lib-name=Lettuce lib-ver=6.8.2.RELEASE\n\r\n"),
        "{info}"
    );
    // A user.
    let mut r = s.raw();
    hello(&mut r, &cmd(&["HELLO", "3", "AUTH", "alice", "pw"]), 3);
    // A wrong password is not a reason to fall back: the connect fails.
    let mut r = s.raw();
    r.roundtrip(
        &cmd(&["HELLO", "3", "AUTH", "default", "nope", "SETNAME", "app"]),
        WRONGPASS,
    );
    // RESP2 (explicit, or after a NOPROTO): AUTH, then SELECT, then
    // CLIENT SETNAME with the metadata.
    let mut r = s.raw();
    r.roundtrip(
        &cmd(&["HELLO", "4"]),
        b"-NOPROTO unsupported protocol version\r\n",
    );
    r.roundtrip(&cmd(&["AUTH", "alice", "pw"]), b"+OK\r\n");
    r.roundtrip(&cmd(&["SELECT", "2"]), b"+OK\r\n");
    r.roundtrip(
        &cmds(&[
            &["CLIENT", "SETNAME", "app"],
            &["CLIENT", "SETINFO", "lib-name", "Lettuce"],
            &["CLIENT", "SETINFO", "lib-ver", "6.8.2.RELEASE"],
        ]),
        b"+OK\r\n+OK\r\n+OK\r\n",
    );
    // RESP2 without credentials: PING (pingBeforeActivateConnection).
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(&cmd(&["PING"]), b"+PONG\r\n");
    // READONLY (read-from-replica connections) on a non-cluster server.
    r.roundtrip(
        &cmd(&["READONLY"]),
        b"-ERR This instance has cluster support disabled\r\n",
    );
}

#[test]
fn lettuce_transaction_and_sharded_pubsub_resp3() {
    let s = TestServer::start();
    let mut r = s.raw();
    hello(&mut r, &cmd(&["HELLO", "3"]), 3);
    // Lettuce writes each command as it is issued, without waiting.
    r.send(&cmd(&["MULTI"]));
    r.send(&cmd(&["SET", "k", "v"]));
    r.send(&cmd(&["ZADD", "z", "1", "a"]));
    r.send(&cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]));
    r.send(&cmd(&["EXEC"]));
    r.expect(
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:1\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n",
    );
    r.roundtrip(
        &cmd(&["SUBSCRIBE", "ch"]),
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    r.roundtrip(
        &cmd(&["SSUBSCRIBE", "s"]),
        b">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    );
    let mut other = s.raw();
    other.roundtrip(&cmd(&["SPUBLISH", "s", "m"]), b":1\r\n");
    r.expect(b">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nm\r\n");
    r.roundtrip(
        &cmd(&["SUNSUBSCRIBE"]),
        b">3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n",
    );
    r.roundtrip(
        &cmd(&["UNSUBSCRIBE", "ch"]),
        b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
    );
}

// ------------------------------------------------- shared server behaviour

#[test]
fn client_setinfo_validation() {
    let s = TestServer::start();
    let mut r = s.raw();
    let bad = |attr: &str| {
        format!("-ERR {attr} cannot contain spaces, newlines or special characters.\r\n")
    };
    // The error names the attribute as the client spelled it.
    r.roundtrip(
        &cmd(&["CLIENT", "SETINFO", "LIB-NAME", "go redis"]),
        bad("LIB-NAME").as_bytes(),
    );
    r.roundtrip(
        &cmd(&["client", "setinfo", "lib-ver", "1\n"]),
        bad("lib-ver").as_bytes(),
    );
    r.roundtrip(
        &cmd(&["CLIENT", "SETINFO", "Lib-Name", "\x7f"]),
        bad("Lib-Name").as_bytes(),
    );
    r.roundtrip(
        &cmd(&["CLIENT", "SETINFO", "lib-name", "é"]),
        bad("lib-name").as_bytes(),
    );
    r.roundtrip(
        &cmd(&["CLIENT", "SETINFO", "lib-foo", "x"]),
        b"-ERR Unrecognized option 'lib-foo'\r\n",
    );
    for args in [
        &["CLIENT", "SETINFO", "lib-name"][..],
        &["CLIENT", "SETINFO", "lib-name", "a", "b"],
    ] {
        r.roundtrip(
            &cmd(args),
            b"-ERR wrong number of arguments for 'client|setinfo' command\r\n",
        );
    }
    // Redis 7.2 checks the value as a C string: the check stops at a NUL.
    r.roundtrip(&cmd(&["CLIENT", "SETINFO", "lib-ver", "1\0 2"]), b"+OK\r\n");
    r.roundtrip(&cmd(&["CLIENT", "SETNAME", "a\0 b"]), b"+OK\r\n");
    r.roundtrip(&cmd(&["CLIENT", "GETNAME"]), b"$4\r\na\0 b\r\n");
    r.roundtrip(
        &cmd(&["CLIENT", "SETNAME", "a b"]),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    // Values set, then an empty value clears one.
    r.roundtrip(
        &cmds(&[
            &["CLIENT", "SETINFO", "LIB-NAME", "x(y,z)"],
            &["CLIENT", "SETINFO", "LIB-VER", "1.2.3"],
        ]),
        b"+OK\r\n+OK\r\n",
    );
    let info = client_info(&mut r);
    assert!(
        info.ends_with(" lib-name=x(y,z) lib-ver=1.2.3\n\r\n"),
        "{info}"
    );
    r.roundtrip(&cmd(&["CLIENT", "SETINFO", "lib-ver", ""]), b"+OK\r\n");
    let info = client_info(&mut r);
    assert!(info.ends_with(" lib-name=x(y,z) lib-ver=\n\r\n"), "{info}");
    // Not before authentication.
    let s = auth_server();
    let mut r = s.raw();
    r.roundtrip(&cmd(&["CLIENT", "SETINFO", "lib-name", "x"]), NOAUTH);
}

#[test]
fn role_readonly_readwrite_standalone() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(&cmd(&["ROLE"]), b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    r.roundtrip(
        &cmds(&[&["READONLY"], &["readwrite"]]),
        b"-ERR This instance has cluster support disabled\r\n\
          -ERR This instance has cluster support disabled\r\n",
    );
    r.roundtrip(
        &cmd(&["ROLE", "x"]),
        b"-ERR wrong number of arguments for 'role' command\r\n",
    );
    hello(&mut r, &cmd(&["HELLO", "3"]), 3);
    r.roundtrip(&cmd(&["ROLE"]), b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
}

#[test]
fn client_list_id_and_type_forms() {
    let s = TestServer::start();
    let mut a = s.raw();
    let mut b = s.raw();
    a.send(&cmd(&["CLIENT", "ID"]));
    let ida = String::from_utf8_lossy(&read_until(&mut a, b"\r\n"))[1..]
        .trim()
        .to_string();
    b.send(&cmd(&["CLIENT", "ID"]));
    let idb = String::from_utf8_lossy(&read_until(&mut b, b"\r\n"))[1..]
        .trim()
        .to_string();
    // One line per argument naming a client, in argument order, repeats
    // included; ids of no client (0, negative) give nothing.
    a.send(&cmd(&["CLIENT", "LIST", "ID", &idb, "0", "-5", &ida, &idb]));
    let got = read_until(&mut a, b"\n\r\n");
    let text = String::from_utf8_lossy(&got);
    let ids: Vec<&str> = text
        .split('\n')
        .filter_map(|l| l.split("id=").nth(1))
        .filter_map(|t| t.split(' ').next())
        .collect();
    assert_eq!(ids, [&idb[..], &ida[..], &idb[..]], "{text}");
    a.roundtrip(&cmd(&["CLIENT", "LIST", "ID", "0"]), b"$0\r\n\r\n");
    a.roundtrip(
        &cmd(&["CLIENT", "LIST", "ID", "1", "x"]),
        b"-ERR Invalid client ID\r\n",
    );
    for args in [
        &["CLIENT", "LIST", "ID"][..],
        &["CLIENT", "LIST", "TYPE"],
        &["CLIENT", "LIST", "TYPE", "normal", "ID", "1"],
        &["CLIENT", "LIST", "x"],
    ] {
        a.roundtrip(&cmd(args), b"-ERR syntax error\r\n");
    }
    a.roundtrip(
        &cmd(&["CLIENT", "LIST", "TYPE", "Foo"]),
        b"-ERR Unknown client type 'Foo'\r\n",
    );
    a.roundtrip(&cmd(&["CLIENT", "LIST", "TYPE", "master"]), b"$0\r\n\r\n");
}
