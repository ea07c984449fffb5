//! ACLs through the `redis` crate: users and every rule type (allowed and
//! denied), AUTH / HELLO AUTH, WHOAMI, GETUSER / LIST, ACL LOG, DRYRUN, the
//! ACL file, users from the config file, DELUSER disconnecting. Equality
//! with a real redis-server is in compare.rs (`acl_corpus`).

mod common;
use common::{err, q, TestServer};
use redis::Value;
use std::collections::HashMap;

fn b(v: &str) -> Value {
    Value::BulkString(v.as_bytes().to_vec())
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(t) => t.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// ACL GETUSER as a field → value map (RESP2: a flat array).
fn getuser(c: &mut redis::Connection, name: &str) -> HashMap<String, Value> {
    let v: Value = q(c, &["ACL", "GETUSER", name]);
    let Value::Array(items) = v else {
        panic!("GETUSER {name}: {v:?}");
    };
    items
        .chunks(2)
        .map(|kv| (text(&kv[0]), kv[1].clone()))
        .collect()
}

fn field(c: &mut redis::Connection, user: &str, f: &str) -> String {
    text(&getuser(c, user)[f])
}

/// A second connection authenticated as `user` / `pass`.
fn as_user(s: &TestServer, user: &str, pass: &str) -> redis::Connection {
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["AUTH", user, pass]), "OK");
    c
}

fn hash(p: &str) -> String {
    ember::acl::sha256::hex_digest(p.as_bytes())
}

/// The newest ACL LOG entry, field by field.
fn first(c: &mut redis::Connection) -> HashMap<String, Value> {
    let log: Vec<Value> = q(c, &["ACL", "LOG", "1"]);
    let Value::Array(e) = &log[0] else {
        panic!("{log:?}")
    };
    e.chunks(2)
        .map(|kv| (text(&kv[0]), kv[1].clone()))
        .collect()
}

const NOPERM_KEY: &str = "NOPERM No permissions to access a key";

fn noperm_cmd(user: &str, cmd: &str) -> String {
    format!("NOPERM User {user} has no permissions to run the '{cmd}' command")
}

#[test]
fn default_user_and_listing() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "LIST"]),
        ["user default on nopass sanitize-payload ~* &* +@all"]
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["ACL", "USERS"]), ["default"]);
    assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "default");
    let v: Value = q(&mut c, &["ACL", "GETUSER", "default"]);
    assert_eq!(
        v,
        Value::Array(vec![
            b("flags"),
            Value::Array(vec![b("on"), b("nopass"), b("sanitize-payload")]),
            b("passwords"),
            Value::Array(vec![]),
            b("commands"),
            b("+@all"),
            b("keys"),
            b("~*"),
            b("channels"),
            b("&*"),
            b("selectors"),
            Value::Array(vec![]),
        ])
    );
    assert_eq!(
        q::<Value>(&mut c, &["ACL", "GETUSER", "nobody"]),
        Value::Nil
    );
    // A new user: off, nothing allowed, channels reset (acl-pubsub-default).
    assert_eq!(q::<String>(&mut c, &["ACL", "SETUSER", "alice"]), "OK");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "LIST"]),
        [
            "user alice off sanitize-payload resetchannels -@all",
            "user default on nopass sanitize-payload ~* &* +@all"
        ]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "USERS"]),
        ["alice", "default"]
    );
    let line = q::<String>(&mut c, &["CLIENT", "INFO"]);
    assert!(line.contains(" user=default "), "{line}");
}

#[test]
fn setuser_errors_match_redis() {
    let s = TestServer::start();
    let mut c = s.conn();
    let m = |op: &str, why: &str| format!("ERR Error in ACL SETUSER modifier '{op}': {why}");
    let cases: &[(&[&str], String)] = &[
        (&["%X~a"], m("%X~a", "Syntax error")),
        (&["%~a"], m("%~a", "Syntax error")),
        (&["%RR~a"], m("%RR~a", "Syntax error")),
        (&["foo"], m("foo", "Syntax error")),
        (&["~a b"], m("~a b", "Syntax error")),
        (&["+nosuch"], m("+nosuch", "Unknown command or category name in ACL")),
        (&["-nosuch"], m("-nosuch", "Unknown command or category name in ACL")),
        (&["+@nosuch"], m("+@nosuch", "Unknown command or category name in ACL")),
        (&["+config|nosuch"], m("+config|nosuch", "Unknown command or category name in ACL")),
        (&["-get|x"], m("-get|x", "Unknown command or category name in ACL")),
        (&["+config|"], m("+config|", "Syntax error")),
        (&["+config|get|x"], m("+config|get|x", "Allowing first-arg of a subcommand is not supported")),
        (&["~*", "~a"], m("~a", "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")),
        (&["&*", "&a"], m("&a", "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")),
        (&["#abc"], m("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")),
        (&["<nope"], m("<nope", "The password you are trying to remove from the user does not exist")),
        (&["(", "~a"], "ERR Unmatched parenthesis in acl selector starting at '('.".into()),
        (&["(this-is-invalid)"], m("(this-is-invalid)", "Syntax error")),
        (&["(&* &fail)"], m("(&* &fail)", "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")),
        (&[" () "], m(" () ", "Syntax error")),
    ];
    for (ops, want) in cases {
        let mut args = vec!["ACL", "SETUSER", "bad"];
        args.extend_from_slice(ops);
        assert_eq!(&err(&mut c, &args), want, "{ops:?}");
    }
    // Nothing was created by the failed calls.
    assert_eq!(q::<Value>(&mut c, &["ACL", "GETUSER", "bad"]), Value::Nil);
    assert_eq!(
        err(&mut c, &["ACL", "SETUSER", "a b"]),
        "ERR Usernames can't contain spaces or null characters"
    );
    // One bad modifier: none of the others apply.
    q::<()>(&mut c, &["ACL", "SETUSER", "u", "on", "+get"]);
    err(&mut c, &["ACL", "SETUSER", "u", "off", "+set", "bogus"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "LIST"])[1],
        "user u on sanitize-payload resetchannels -@all +get"
    );
}

#[test]
fn command_rules_and_descriptions() {
    let s = TestServer::start();
    let mut c = s.conn();
    let set = |c: &mut redis::Connection, ops: &[&str]| {
        let mut a = vec!["ACL", "SETUSER", "t", "reset"];
        a.extend_from_slice(ops);
        assert_eq!(q::<String>(c, &a), "OK");
        field(c, "t", "commands")
    };
    assert_eq!(set(&mut c, &["+@all"]), "+@all");
    assert_eq!(set(&mut c, &["allcommands", "-get"]), "+@all -get");
    assert_eq!(set(&mut c, &["nocommands"]), "-@all");
    assert_eq!(
        set(
            &mut c,
            &["+@hash", "+@slow", "+@set", "+@set", "+@slow", "+@hash"]
        ),
        "-@all +@set +@slow +@hash"
    );
    assert_eq!(
        set(&mut c, &["+hget", "-hset", "+hset", "-hget"]),
        "-@all +hset -hget"
    );
    assert_eq!(
        set(
            &mut c,
            &[
                "+client|list",
                "+client|list",
                "+config|get",
                "+config",
                "+acl|list",
                "-acl"
            ]
        ),
        "-@all +client|list +config -acl"
    );
    assert_eq!(set(&mut c, &["+select|0", "+select|0"]), "-@all +select|0");
    assert_eq!(set(&mut c, &["-@dangerous"]), "-@all -@dangerous");
    assert_eq!(
        set(
            &mut c,
            &["+config", "+config|get", "-config|set", "+config"]
        ),
        "-@all +config"
    );
    assert_eq!(set(&mut c, &["+GET", "+@STRING"]), "-@all +get +@string");
    // Key and channel descriptions; %RW~ and %R~ + %W~ print as ~.
    q::<()>(
        &mut c,
        &[
            "ACL", "SETUSER", "t", "reset", "%R~foo", "%W~foo", "%RW~bar", "%R~r*", "%W~w*", "&ch",
            "&ch", "&x*",
        ],
    );
    assert_eq!(field(&mut c, "t", "keys"), "~foo ~bar %R~r* %W~w*");
    assert_eq!(field(&mut c, "t", "channels"), "&ch &x*");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "LIST"])[1],
        "user t off sanitize-payload ~foo ~bar %R~r* %W~w* resetchannels &ch &x* -@all"
    );
    q::<()>(&mut c, &["ACL", "SETUSER", "t", "allkeys", "allchannels"]);
    assert_eq!(field(&mut c, "t", "keys"), "~*");
    assert_eq!(field(&mut c, "t", "channels"), "&*");
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "t", "resetkeys", "resetchannels"],
    );
    assert_eq!(field(&mut c, "t", "keys"), "");
    assert_eq!(field(&mut c, "t", "channels"), "");
}

#[test]
fn command_permissions_allow_and_deny() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            ">pw",
            "allkeys",
            "+@string",
            "-incr",
            "+config|get",
            "+select|0",
            "+ping",
        ],
    );
    let mut u = as_user(&s, "u", "pw");
    assert_eq!(q::<String>(&mut u, &["SET", "a", "1"]), "OK");
    assert_eq!(q::<String>(&mut u, &["GET", "a"]), "1");
    assert_eq!(err(&mut u, &["INCR", "a"]), noperm_cmd("u", "incr"));
    assert_eq!(err(&mut u, &["LPUSH", "l", "x"]), noperm_cmd("u", "lpush"));
    assert_eq!(
        q::<Vec<String>>(&mut u, &["CONFIG", "GET", "port"])[0],
        "port"
    );
    assert_eq!(
        err(&mut u, &["CONFIG", "SET", "hz", "10"]),
        noperm_cmd("u", "config|set")
    );
    assert_eq!(q::<String>(&mut u, &["SELECT", "0"]), "OK");
    assert_eq!(err(&mut u, &["SELECT", "1"]), noperm_cmd("u", "select"));
    // Permission changes apply to connected clients at once.
    q::<()>(&mut admin, &["ACL", "SETUSER", "u", "+incr", "-get"]);
    assert_eq!(q::<i64>(&mut u, &["INCR", "a"]), 2);
    assert_eq!(err(&mut u, &["GET", "a"]), noperm_cmd("u", "get"));
    q::<()>(&mut admin, &["ACL", "SETUSER", "u", "-config"]);
    assert_eq!(
        err(&mut u, &["CONFIG", "GET", "port"]),
        noperm_cmd("u", "config|get")
    );
    q::<()>(&mut admin, &["ACL", "SETUSER", "u", "nocommands"]);
    assert_eq!(err(&mut u, &["SET", "a", "1"]), noperm_cmd("u", "set"));
    // NO_AUTH commands (AUTH, HELLO, QUIT, RESET) are never denied.
    assert_eq!(q::<String>(&mut u, &["AUTH", "u", "pw"]), "OK");
    q::<()>(&mut admin, &["ACL", "SETUSER", "u", "allcommands"]);
    assert_eq!(q::<String>(&mut u, &["ECHO", "x"]), "x");
    // Unknown commands and wrong arity answer as usual, before the ACL.
    q::<()>(&mut admin, &["ACL", "SETUSER", "u", "nocommands"]);
    assert!(err(&mut u, &["NOSUCH"]).starts_with("ERR unknown command"));
    assert_eq!(
        err(&mut u, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
}

#[test]
fn key_patterns_read_write() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(&mut admin, &["SET", "readstr", "bar"]);
    q::<()>(&mut admin, &["SET", "read", "bar"]);
    q::<()>(
        &mut admin,
        &["ACL", "SETUSER", "r", "on", "nopass", "%R~read*", "+@all"],
    );
    let mut r = as_user(&s, "r", "x");
    assert_eq!(q::<String>(&mut r, &["GET", "readstr"]), "bar");
    assert_eq!(err(&mut r, &["SET", "readstr", "x"]), NOPERM_KEY);
    assert_eq!(err(&mut r, &["GET", "notread"]), NOPERM_KEY);
    assert_eq!(err(&mut r, &["SET", "readstr", "x", "GET"]), NOPERM_KEY);
    q::<()>(
        &mut admin,
        &["ACL", "SETUSER", "w", "on", "nopass", "%W~write*", "+@all"],
    );
    let mut w = as_user(&s, "w", "x");
    assert_eq!(q::<i64>(&mut w, &["LPUSH", "writelist", "10"]), 1);
    assert_eq!(q::<String>(&mut w, &["SET", "writestr", "bar"]), "OK");
    assert_eq!(err(&mut w, &["GET", "writestr"]), NOPERM_KEY);
    assert_eq!(err(&mut w, &["LPUSH", "notwrite", "10"]), NOPERM_KEY);
    assert_eq!(err(&mut w, &["SET", "writestr", "bar", "GET"]), NOPERM_KEY);
    // INCR and LPOP read what they change: W alone is not enough.
    assert_eq!(err(&mut w, &["INCR", "writectr"]), NOPERM_KEY);
    assert_eq!(err(&mut w, &["LPOP", "writelist"]), NOPERM_KEY);
    // EXISTS needs no access flag: any matching pattern will do.
    assert_eq!(q::<i64>(&mut w, &["EXISTS", "writestr"]), 1);
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "rw",
            "on",
            "nopass",
            "%R~read*",
            "%W~write*",
            "+@all",
        ],
    );
    let mut rw = as_user(&s, "rw", "x");
    assert_eq!(q::<i64>(&mut rw, &["COPY", "read", "write"]), 1);
    assert_eq!(err(&mut rw, &["COPY", "write", "read"]), NOPERM_KEY);
    // Read and write on different selectors do not combine.
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "sel",
            "on",
            "nopass",
            "(%R~read* +@all)",
            "(%W~write* +@all)",
        ],
    );
    let mut sel = as_user(&s, "sel", "x");
    assert_eq!(q::<String>(&mut sel, &["GET", "readstr"]), "bar");
    assert_eq!(q::<i64>(&mut sel, &["LPUSH", "writelist", "1"]), 2);
    assert_eq!(err(&mut sel, &["COPY", "read", "write2"]), NOPERM_KEY);
    // ~ patterns, multi-key commands, resetkeys and allkeys.
    q::<()>(
        &mut admin,
        &[
            "ACL", "SETUSER", "k", "on", "nopass", "~foo:*", "~{t}*", "+@all",
        ],
    );
    let mut k = as_user(&s, "k", "x");
    assert_eq!(
        q::<String>(&mut k, &["MSET", "foo:1", "a", "foo:2", "b"]),
        "OK"
    );
    assert_eq!(err(&mut k, &["MSET", "foo:1", "a", "bar", "b"]), NOPERM_KEY);
    assert_eq!(err(&mut k, &["DEL", "foo:1", "zzz"]), NOPERM_KEY);
    assert_eq!(q::<i64>(&mut k, &["SADD", "{t}a", "x"]), 1);
    assert_eq!(q::<i64>(&mut k, &["SUNIONSTORE", "{t}b", "{t}a"]), 1);
    assert_eq!(err(&mut k, &["SUNIONSTORE", "{t}b", "{x}a"]), NOPERM_KEY);
    // Commands without keys are not affected by key patterns.
    assert_eq!(q::<i64>(&mut k, &["DBSIZE"]), 9);
    q::<()>(&mut admin, &["ACL", "SETUSER", "k", "resetkeys"]);
    assert_eq!(err(&mut k, &["GET", "foo:1"]), NOPERM_KEY);
    q::<()>(&mut admin, &["ACL", "SETUSER", "k", "allkeys"]);
    assert_eq!(q::<String>(&mut k, &["GET", "foo:1"]), "a");
}

#[test]
fn selectors_and_clearselectors() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "sel",
            "on",
            ">p",
            "+get",
            "~r::*",
            "(+set ~w::*)",
        ],
    );
    let mut u = as_user(&s, "sel", "p");
    assert_eq!(q::<String>(&mut u, &["SET", "w::foo", "bar"]), "OK");
    assert_eq!(q::<Value>(&mut u, &["GET", "r::foo"]), Value::Nil);
    assert_eq!(err(&mut u, &["GET", "w::foo"]), NOPERM_KEY);
    assert_eq!(err(&mut u, &["SET", "r::foo", "x"]), NOPERM_KEY);
    assert_eq!(err(&mut u, &["DEL", "w::foo"]), noperm_cmd("sel", "del"));
    let info = getuser(&mut admin, "sel");
    let Value::Array(sels) = &info["selectors"] else {
        panic!("{info:?}")
    };
    assert_eq!(
        sels[0],
        Value::Array(vec![
            b("commands"),
            b("-@all +set"),
            b("keys"),
            b("~w::*"),
            b("channels"),
            b(""),
        ])
    );
    // Flexible selector syntax: spread over several arguments.
    q::<()>(
        &mut admin,
        &[
            "ACL", "SETUSER", "sel", "(~k1", "+get", ")", "(", "~k2", "+get)",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(&mut admin, &["ACL", "LIST"])[0],
        "user default on nopass sanitize-payload ~* &* +@all"
    );
    let line = q::<Vec<String>>(&mut admin, &["ACL", "LIST"])[1].clone();
    assert_eq!(
        line,
        format!("user sel on sanitize-payload #{} ~r::* resetchannels -@all +get (~w::* resetchannels -@all +set) (~k1 resetchannels -@all +get) (~k2 resetchannels -@all +get)", hash("p"))
    );
    q::<()>(&mut admin, &["ACL", "SETUSER", "sel", "clearselectors"]);
    assert_eq!(
        err(&mut u, &["SET", "w::foo", "x"]),
        noperm_cmd("sel", "set")
    );
    assert_eq!(
        getuser(&mut admin, "sel")["selectors"],
        Value::Array(vec![])
    );
}

#[test]
fn passwords_and_flags() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let h = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // sha256("password")
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "p",
            "on",
            ">one",
            ">two",
            &format!("#{h}"),
            "+acl|whoami",
        ],
    );
    let pw: Vec<String> = match &getuser(&mut admin, "p")["passwords"] {
        Value::Array(a) => a.iter().map(text).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(pw.len(), 3);
    assert_eq!(pw[2], h);
    for pass in ["one", "two", "password"] {
        let mut c = as_user(&s, "p", pass);
        assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "p");
    }
    let mut c = s.conn();
    let wrong = "WRONGPASS invalid username-password pair or user is disabled.";
    assert_eq!(err(&mut c, &["AUTH", "p", "three"]), wrong);
    q::<()>(
        &mut admin,
        &["ACL", "SETUSER", "p", "<one", &format!("!{h}")],
    );
    assert_eq!(err(&mut c, &["AUTH", "p", "one"]), wrong);
    assert_eq!(err(&mut c, &["AUTH", "p", "password"]), wrong);
    assert_eq!(q::<String>(&mut c, &["AUTH", "p", "two"]), "OK");
    // off: no new logins; the connection already in keeps working.
    q::<()>(&mut admin, &["ACL", "SETUSER", "p", "off"]);
    assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "p");
    assert_eq!(err(&mut s.conn(), &["AUTH", "p", "two"]), wrong);
    q::<()>(&mut admin, &["ACL", "SETUSER", "p", "on", "nopass"]);
    assert_eq!(q::<String>(&mut s.conn(), &["AUTH", "p", "anything"]), "OK");
    q::<()>(&mut admin, &["ACL", "SETUSER", "p", "resetpass"]);
    assert_eq!(err(&mut s.conn(), &["AUTH", "p", "anything"]), wrong);
    q::<()>(
        &mut admin,
        &["ACL", "SETUSER", "p", "skip-sanitize-payload"],
    );
    assert_eq!(
        q::<Vec<String>>(&mut admin, &["ACL", "LIST"])[1],
        "user p on skip-sanitize-payload resetchannels -@all +acl|whoami"
    );
    q::<()>(&mut admin, &["ACL", "SETUSER", "p", "reset"]);
    assert_eq!(
        q::<Vec<String>>(&mut admin, &["ACL", "LIST"])[1],
        "user p off sanitize-payload resetchannels -@all"
    );
}

#[test]
fn auth_and_hello_flows() {
    let s = TestServer::with_config(|c| c.requirepass = Some(b"secret".to_vec()));
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["GET", "x"]),
        "NOAUTH Authentication required."
    );
    assert_eq!(
        err(&mut c, &["AUTH", "wrong"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(q::<String>(&mut c, &["AUTH", "secret"]), "OK");
    assert_eq!(q::<String>(&mut c, &["AUTH", "default", "secret"]), "OK");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "LIST"]),
        ["user default on sanitize-payload #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "requirepass"]),
        ["requirepass", "secret"]
    );
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "bob", "on", ">bp", "+@all", "~*"],
    );
    // HELLO AUTH.
    let mut h = s.conn();
    let e = err(&mut h, &["HELLO", "3"]);
    assert!(
        e.starts_with("NOAUTH HELLO must be called with the client already authenticated"),
        "{e}"
    );
    assert_eq!(
        err(&mut h, &["HELLO", "2", "AUTH", "bob", "nope"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    let v: Value = q(&mut h, &["HELLO", "2", "AUTH", "bob", "bp"]);
    assert!(matches!(v, Value::Array(_)), "{v:?}");
    assert_eq!(q::<String>(&mut h, &["ACL", "WHOAMI"]), "bob");
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains(" user=bob "), "{list}");
    // RESET goes back to the default user, unauthenticated here.
    assert_eq!(q::<String>(&mut h, &["RESET"]), "RESET");
    assert_eq!(
        err(&mut h, &["ACL", "WHOAMI"]),
        "NOAUTH Authentication required."
    );
    // requirepass "" makes the default user nopass again.
    q::<()>(&mut c, &["CONFIG", "SET", "requirepass", ""]);
    assert_eq!(q::<String>(&mut s.conn(), &["ACL", "WHOAMI"]), "default");
    assert_eq!(
        err(&mut s.conn(), &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    // AUTH default <anything> works for a nopass default user.
    assert_eq!(q::<String>(&mut s.conn(), &["AUTH", "default", ""]), "OK");
    assert_eq!(
        err(&mut s.conn(), &["AUTH", "a", "b", "c"]),
        "ERR syntax error"
    );
    // A disabled default user: new connections are not authenticated.
    q::<()>(&mut c, &["ACL", "SETUSER", "default", "off"]);
    assert_eq!(
        err(&mut s.conn(), &["PING"]),
        "NOAUTH Authentication required."
    );
    assert_eq!(q::<String>(&mut s.conn(), &["AUTH", "bob", "bp"]), "OK");
    q::<()>(&mut c, &["ACL", "SETUSER", "default", "on"]);
    assert_eq!(q::<String>(&mut s.conn(), &["PING"]), "PONG");
}

#[test]
fn acl_log_entries() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "antirez",
            ">foo",
            "on",
            "+set",
            "~object:1234",
            "+multi",
            "+exec",
        ],
    );
    let mut u = as_user(&s, "antirez", "foo");
    assert_eq!(err(&mut u, &["GET", "foo"]), noperm_cmd("antirez", "get"));
    let log: Vec<Value> = q(&mut admin, &["ACL", "LOG"]);
    assert_eq!(log.len(), 1);
    let Value::Array(e) = &log[0] else { panic!() };
    let m: HashMap<String, Value> = e
        .chunks(2)
        .map(|kv| (text(&kv[0]), kv[1].clone()))
        .collect();
    let keys: Vec<String> = e.chunks(2).map(|kv| text(&kv[0])).collect();
    assert_eq!(
        keys,
        [
            "count",
            "reason",
            "context",
            "object",
            "username",
            "age-seconds",
            "client-info",
            "entry-id",
            "timestamp-created",
            "timestamp-last-updated"
        ]
    );
    assert_eq!(m["count"], Value::Int(1));
    assert_eq!(text(&m["reason"]), "command");
    assert_eq!(text(&m["context"]), "toplevel");
    assert_eq!(text(&m["object"]), "get");
    assert_eq!(text(&m["username"]), "antirez");
    assert!(text(&m["client-info"]).contains("cmd=get user=antirez"));
    let id0 = m["entry-id"].clone();
    // Similar events merge.
    err(&mut u, &["GET", "foo"]);
    err(&mut u, &["GET", "foo"]);
    let m = first(&mut admin);
    assert_eq!(m["count"], Value::Int(3));
    assert_eq!(m["entry-id"], id0);
    // Key denials log the key.
    assert_eq!(err(&mut u, &["SET", "somekeynotallowed", "1"]), NOPERM_KEY);
    let m = first(&mut admin);
    assert_eq!(text(&m["reason"]), "key");
    assert_eq!(text(&m["object"]), "somekeynotallowed");
    assert_eq!(m["entry-id"], Value::Int(1));
    // Inside MULTI: refused at queue time, context multi, EXEC aborts.
    assert_eq!(q::<String>(&mut u, &["MULTI"]), "OK");
    assert_eq!(err(&mut u, &["INCR", "foo"]), noperm_cmd("antirez", "incr"));
    assert!(err(&mut u, &["EXEC"]).starts_with("EXECABORT"));
    let m = first(&mut admin);
    assert_eq!(text(&m["context"]), "multi");
    assert_eq!(text(&m["object"]), "incr");
    // Failed AUTH: reason auth, object as typed, the attempted user.
    err(&mut u, &["AUTH", "antirez", "wrong"]);
    let m = first(&mut admin);
    assert_eq!(text(&m["reason"]), "auth");
    assert_eq!(text(&m["object"]), "AUTH");
    assert_eq!(text(&m["username"]), "antirez");
    assert_eq!(q::<Vec<Value>>(&mut admin, &["ACL", "LOG", "2"]).len(), 2);
    assert_eq!(q::<Vec<Value>>(&mut admin, &["ACL", "LOG", "0"]).len(), 0);
    assert_eq!(q::<Vec<Value>>(&mut admin, &["ACL", "LOG", "-1"]).len(), 0);
    assert_eq!(
        err(&mut admin, &["ACL", "LOG", "x"]),
        "ERR value is not an integer or out of range"
    );
    let info: String = q(&mut admin, &["INFO", "stats"]);
    assert!(info.contains("acl_access_denied_auth:1\r\n"), "{info}");
    assert!(info.contains("acl_access_denied_cmd:4\r\n"), "{info}");
    assert!(info.contains("acl_access_denied_key:1\r\n"), "{info}");
    assert!(info.contains("acl_access_denied_channel:0\r\n"), "{info}");
    assert_eq!(q::<String>(&mut admin, &["ACL", "LOG", "RESET"]), "OK");
    assert_eq!(q::<Vec<Value>>(&mut admin, &["ACL", "LOG"]).len(), 0);
    // acllog-max-len.
    q::<()>(&mut admin, &["CONFIG", "SET", "acllog-max-len", "5"]);
    for j in 0..10 {
        err(&mut u, &["SET", &format!("obj:{j}"), "1"]);
    }
    assert_eq!(q::<Vec<Value>>(&mut admin, &["ACL", "LOG", "100"]).len(), 5);
    assert_eq!(
        q::<Vec<String>>(&mut admin, &["CONFIG", "GET", "acllog-max-len"]),
        ["acllog-max-len", "5"]
    );
    // Rules changed between queueing and EXEC.
    q::<()>(&mut admin, &["ACL", "SETUSER", "antirez", "+incr", "~*"]);
    let mut raw = s.raw();
    raw.roundtrip(b"AUTH antirez foo\r\n", b"+OK\r\n");
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"INCR object:1234\r\n", b"+QUEUED\r\n");
    q::<()>(&mut admin, &["ACL", "SETUSER", "antirez", "-incr"]);
    raw.roundtrip(b"EXEC\r\n", b"*1\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n");
    let m = first(&mut admin);
    assert_eq!(text(&m["context"]), "multi");
    assert!(text(&m["client-info"]).contains("cmd=exec"));
}

#[test]
fn dryrun_and_cat_and_genpass() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "ct",
            "+@all",
            "%R~read*",
            "%W~write*",
            "%RW~rw*",
        ],
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "ct", "GET", "read"]),
        "OK"
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "ct", "GET", "write"]),
        "User ct has no permissions to access the 'write' key"
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["ACL", "DRYRUN", "ct", "SORT", "read", "STORE", "write"]
        ),
        "OK"
    );
    assert_eq!(
        err(&mut c, &["ACL", "DRYRUN", "nope", "GET", "read"]),
        "ERR User 'nope' not found"
    );
    assert_eq!(
        err(&mut c, &["ACL", "DRYRUN", "ct", "nope", "read"]),
        "ERR Command 'nope' not found"
    );
    assert_eq!(
        err(&mut c, &["ACL", "DRYRUN", "ct", "GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    q::<()>(&mut c, &["ACL", "SETUSER", "ct", "-@all"]);
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "ct", "set", "k", "v"]),
        "User ct has no permissions to run the 'set' command"
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "ct", "config", "get", "x"]),
        "User ct has no permissions to run the 'config|get' command"
    );
    // CAT: the categories, and real commands of the table per category.
    let cats: Vec<String> = q(&mut c, &["ACL", "CAT"]);
    assert_eq!(cats.len(), 21);
    assert_eq!(cats[0], "keyspace");
    let tx: Vec<String> = q(&mut c, &["ACL", "CAT", "transaction"]);
    assert!(tx.contains(&"multi".to_string()) && tx.contains(&"exec".to_string()));
    let kspace: Vec<String> = q(&mut c, &["ACL", "CAT", "KEYSPACE"]);
    assert!(kspace.contains(&"del".to_string()) && !kspace.contains(&"set".to_string()));
    let admin: Vec<String> = q(&mut c, &["ACL", "CAT", "admin"]);
    assert!(admin.contains(&"config|set".to_string()), "{admin:?}");
    assert_eq!(
        err(&mut c, &["ACL", "CAT", "NON_EXISTS"]),
        "ERR Unknown category 'NON_EXISTS'"
    );
    assert_eq!(
        err(&mut c, &["ACL", "CAT", "a", "b"]),
        "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP."
    );
    // GENPASS.
    let p: String = q(&mut c, &["ACL", "GENPASS"]);
    assert_eq!(p.len(), 64);
    assert!(p.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(p, q::<String>(&mut c, &["ACL", "GENPASS"]));
    assert_eq!(q::<String>(&mut c, &["ACL", "GENPASS", "5"]).len(), 2);
    for bad in ["0", "-1", "4097"] {
        assert_eq!(
            err(&mut c, &["ACL", "GENPASS", bad]),
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
        );
    }
    assert_eq!(
        err(&mut c, &["ACL", "GENPASS", "x"]),
        "ERR value is not an integer or out of range"
    );
    let help: Vec<String> = q(&mut c, &["ACL", "HELP"]);
    assert!(help[0].starts_with("ACL <subcommand>"));
    assert_eq!(
        err(&mut c, &["ACL", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try ACL HELP."
    );
}

#[test]
fn deluser_disconnects_its_clients() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(
        &mut admin,
        &["ACL", "SETUSER", "gone", "on", "nopass", "+@all", "~*"],
    );
    let mut raw = s.raw();
    raw.roundtrip(b"AUTH gone x\r\n", b"+OK\r\n");
    let mut other = s.conn();
    assert_eq!(
        err(&mut admin, &["ACL", "DELUSER", "default"]),
        "ERR The 'default' user cannot be removed"
    );
    assert_eq!(
        q::<i64>(&mut admin, &["ACL", "DELUSER", "gone", "nobody"]),
        1
    );
    assert!(raw.is_closed());
    assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
    assert_eq!(
        q::<Value>(&mut admin, &["ACL", "GETUSER", "gone"]),
        Value::Nil
    );
    // Deleting the user one is logged in as closes one's own connection
    // after the reply.
    q::<()>(
        &mut admin,
        &["ACL", "SETUSER", "self", "on", "nopass", "+@all"],
    );
    let mut me = s.raw();
    me.roundtrip(b"AUTH self x\r\n", b"+OK\r\n");
    me.roundtrip(b"ACL DELUSER self\r\n", b":1\r\n");
    assert!(me.is_closed());
    // CLIENT KILL USER.
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
}

#[test]
fn aclfile_save_and_load() {
    let dir = std::env::temp_dir().join(format!("ember-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.acl");
    std::fs::write(
        &path,
        "user alice on >alicepw ~a* +get\n\nuser default on nopass ~* &* +@all\n",
    )
    .unwrap();
    let p = path.to_string_lossy().into_owned();
    let s = TestServer::with_config(|c| c.aclfile = p.clone());
    let mut c = s.conn();
    let listed: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    assert_eq!(
        listed,
        [
            format!(
                "user alice on sanitize-payload #{} ~a* resetchannels -@all +get",
                hash("alicepw")
            ),
            "user default on nopass sanitize-payload ~* &* +@all".to_string()
        ]
    );
    let mut a = as_user(&s, "alice", "alicepw");
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "bob", "on", ">b", "(+set ~s*)", "&news"],
    );
    assert_eq!(q::<String>(&mut c, &["ACL", "SAVE"]), "OK");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        saved,
        format!(
            "{}\nuser bob on sanitize-payload #{} resetchannels &news -@all (~s* resetchannels -@all +set)\n{}\n",
            listed[0],
            hash("b"),
            listed[1]
        )
    );
    // A round trip: load what was saved, get the same users; clients of
    // reloaded users (not default) are disconnected, as Redis.
    q::<()>(&mut c, &["ACL", "SETUSER", "temp", "on"]);
    assert_eq!(q::<String>(&mut c, &["ACL", "LOAD"]), "OK");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "USERS"]),
        ["alice", "bob", "default"]
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        saved,
        "unchanged by LOAD"
    );
    assert!(redis::cmd("PING").query::<String>(&mut a).is_err());
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    // Errors: nothing changes.
    std::fs::write(&path, "user x on +nosuch\nfoo bar\nuser y on\nuser y off\n").unwrap();
    let e = err(&mut c, &["ACL", "LOAD"]);
    assert_eq!(
        e,
        format!("ERR {p}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. {p}:2 should start with user keyword followed by the username. WARNING: Duplicate user 'y' found on line 4. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "USERS"]),
        ["alice", "bob", "default"]
    );
    std::fs::remove_dir_all(&dir).ok();
    // Without an aclfile.
    let s = TestServer::start();
    let mut c = s.conn();
    for sub in ["LOAD", "SAVE"] {
        assert!(err(&mut c, &["ACL", sub])
            .starts_with("ERR This Redis instance is not configured to use an ACL file."));
    }
}

#[test]
fn users_from_the_config_file() {
    let mut cfg = ember::config::Config::default();
    cfg.apply_text(
        "user worker on >wpw ~jobs:* +@list\nuser default on >dpw ~* &* +@all\nacllog-max-len 7\nacl-pubsub-default allchannels\n",
        "",
        0,
    )
    .unwrap();
    assert_eq!(cfg.users.len(), 2);
    let dup = cfg
        .clone()
        .apply_text("user worker on", "", 0)
        .unwrap_err()
        .0;
    assert!(
        dup.contains("Error in user declaration 'worker': Duplicate user found."),
        "{dup}"
    );
    let users = cfg.users.clone();
    let s = TestServer::with_config(|c| {
        c.users = users;
        c.acl_pubsub_default = "allchannels".into();
    });
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["PING"]), "NOAUTH Authentication required.");
    assert_eq!(q::<String>(&mut c, &["AUTH", "dpw"]), "OK");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "LIST"])[1],
        "user worker on sanitize-payload #8e4c6a6ef3ad4a4e1f63d8db1a8a5fc4b0d8a81a3c0bd5a7e9a6f4c1a3a0bbc9 ~jobs:* &* -@all +@list"
            .replace(
                "8e4c6a6ef3ad4a4e1f63d8db1a8a5fc4b0d8a81a3c0bd5a7e9a6f4c1a3a0bbc9",
                &ember::acl::sha256::hex_digest(b"wpw")
            )
    );
    let mut w = as_user(&s, "worker", "wpw");
    assert_eq!(q::<i64>(&mut w, &["LPUSH", "jobs:1", "x"]), 1);
    assert_eq!(err(&mut w, &["LPUSH", "other", "x"]), NOPERM_KEY);
    assert_eq!(err(&mut w, &["GET", "jobs:1"]), noperm_cmd("worker", "get"));
    // New users start with all channels under acl-pubsub-default allchannels.
    q::<()>(&mut c, &["ACL", "SETUSER", "n"]);
    assert_eq!(field(&mut c, "n", "channels"), "&*");
    q::<()>(
        &mut c,
        &["CONFIG", "SET", "acl-pubsub-default", "resetchannels"],
    );
    q::<()>(&mut c, &["ACL", "SETUSER", "n2"]);
    assert_eq!(field(&mut c, "n2", "channels"), "");
    // Both user lines and an aclfile: refused at startup.
    let both = ember::config::Config {
        users: vec![vec!["a".into(), "on".into()]],
        aclfile: "/tmp/nope.acl".into(),
        port: 0,
        bind: vec!["127.0.0.1".into()],
        ..ember::config::Config::default()
    };
    let e = ember::server::start(both)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains(
            "users defined in redis.conf and at the same setting an ACL file path is invalid"
        ),
        "{e}"
    );
    // A bad rule in a user line: refused at startup.
    let bad = ember::config::Config {
        users: vec![vec!["a".into(), "+nosuch".into()]],
        port: 0,
        bind: vec!["127.0.0.1".into()],
        ..ember::config::Config::default()
    };
    let e = ember::server::start(bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("+nosuch"), "{e}");
}

#[test]
fn channel_check_for_pubsub() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "ps", "on", "&news.*", "&exact", "(&sel)"],
    );
    let acl = &s.handle().server.acl;
    let u = acl.get(b"ps").unwrap();
    assert!(ember::acl::check_channel(&u, b"news.tech", false));
    assert!(ember::acl::check_channel(&u, b"exact", false));
    assert!(ember::acl::check_channel(&u, b"sel", false));
    assert!(!ember::acl::check_channel(&u, b"other", false));
    // A PSUBSCRIBE pattern must equal an ACL pattern literally.
    assert!(ember::acl::check_channel(&u, b"news.*", true));
    assert!(!ember::acl::check_channel(&u, b"news.t*", true));
    assert!(ember::acl::check_channel(&acl.default_user(), b"any", true));
    q::<()>(&mut c, &["ACL", "SETUSER", "ps", "resetchannels"]);
    assert!(!ember::acl::check_channel(&u, b"news.tech", false));
    assert!(ember::acl::check_channel(&u, b"sel", false));
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "ps", "clearselectors", "allchannels"],
    );
    assert!(ember::acl::check_channel(&u, b"whatever", false));
}

#[test]
fn config_rewrite_writes_users() {
    let dir = std::env::temp_dir().join(format!("ember-aclrw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ember.conf");
    std::fs::write(&path, "# mine\nuser old on nopass +@all\nhz 10\n").unwrap();
    let mut cfg = ember::config::Config::default();
    cfg.load_file(&path).unwrap();
    let s = TestServer::with_config(|c| *c = cfg);
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "new", "on", ">x", "~a*", "+get"],
    );
    q::<()>(&mut c, &["ACL", "DELUSER", "old"]);
    assert_eq!(q::<String>(&mut c, &["CONFIG", "REWRITE"]), "OK");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!(
            "# mine\nuser default on nopass sanitize-payload ~* &* +@all\nuser new on sanitize-payload #{} ~a* resetchannels -@all +get\nhz 10\n# Generated by CONFIG REWRITE\nbind 127.0.0.1\nport 0\n",
            hash("x")
        )
    );
    // The rewritten file loads back to the same users.
    let mut back = ember::config::Config::default();
    back.load_file(&path).unwrap();
    assert_eq!(back.users.len(), 2);
    let s2 = TestServer::with_config(|c| *c = back);
    assert_eq!(
        q::<Vec<String>>(&mut s2.conn(), &["ACL", "LIST"]),
        q::<Vec<String>>(&mut c, &["ACL", "LIST"])
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Scripts run with the caller's permissions (Redis's scriptVerifyACL):
/// a denied command inside EVAL fails with "ACL failure in script" and is
/// logged with context `lua`.
#[test]
fn scripts_run_with_the_callers_permissions() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "lim",
            "on",
            ">pw",
            "~allowed*",
            "+eval",
            "+get",
            "+set",
        ],
    );
    let mut c = s.conn();
    q::<()>(&mut c, &["AUTH", "lim", "pw"]);
    q::<()>(
        &mut c,
        &["EVAL", "return redis.call('SET', 'allowed1', 'x')", "0"],
    );
    let e = err(
        &mut c,
        &["EVAL", "return redis.call('SET', 'other', 'x')", "0"],
    );
    assert!(
        e.contains("ACL failure in script: No permissions to access a key"),
        "{e}"
    );
    let e = err(
        &mut c,
        &["EVAL", "return redis.call('DEL', 'allowed1')", "0"],
    );
    assert!(
        e.contains("ACL failure in script: User lim has no permissions to run the 'del' command"),
        "{e}"
    );
    let log: Vec<redis::Value> = q(&mut admin, &["ACL", "LOG", "1"]);
    let text = format!("{log:?}");
    assert!(text.contains("lua"), "{text}");
    assert_eq!(q::<i64>(&mut admin, &["EXISTS", "other"]), 0);
}

/// Channel rules apply to PUBLISH, SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE.
#[test]
fn channel_rules_apply_to_pubsub_commands() {
    let s = TestServer::start();
    let mut admin = s.conn();
    q::<()>(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "pub",
            "on",
            ">pw",
            "resetchannels",
            "&news.*",
            "+@pubsub",
        ],
    );
    let mut c = s.conn();
    q::<()>(&mut c, &["AUTH", "pub", "pw"]);
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "news.today", "hi"]), 0);
    assert_eq!(
        err(&mut c, &["PUBLISH", "sports", "hi"]),
        "NOPERM No permissions to access a channel"
    );
    assert_eq!(
        err(&mut c, &["SUBSCRIBE", "news.a", "sports"]),
        "NOPERM No permissions to access a channel"
    );
    // A pattern must equal an ACL pattern literally.
    assert_eq!(
        err(&mut c, &["PSUBSCRIBE", "news.t*"]),
        "NOPERM No permissions to access a channel"
    );
    let log: Vec<Value> = q(&mut admin, &["ACL", "LOG", "1"]);
    assert!(format!("{log:?}").contains("channel"));
    let mut c2 = s.conn();
    q::<()>(&mut c2, &["AUTH", "pub", "pw"]);
    let v: Value = q(&mut c2, &["PSUBSCRIBE", "news.*"]);
    assert!(format!("{v:?}").contains("psubscribe"));
}

/// SPUBLISH and SSUBSCRIBE name shard channels where other commands name
/// keys: they are checked against the user's channels, never its keys
/// (Redis's NOT_KEY key specs).
#[test]
fn shard_channels_are_channels_not_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "nokeys",
            "on",
            ">p",
            "+@all",
            "resetkeys",
            "&news",
        ],
    );
    q::<()>(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "nochan",
            "on",
            ">p",
            "+@all",
            "~*",
            "resetchannels",
        ],
    );
    let mut u = as_user(&s, "nokeys", "p");
    assert_eq!(q::<i64>(&mut u, &["SPUBLISH", "news", "m"]), 0);
    assert_eq!(
        err(&mut u, &["SPUBLISH", "other", "m"]),
        "NOPERM No permissions to access a channel"
    );
    let mut u = as_user(&s, "nochan", "p");
    assert_eq!(
        err(&mut u, &["SPUBLISH", "news", "m"]),
        "NOPERM No permissions to access a channel"
    );
}

/// BITFIELD needs only read access when all it does is GET (Redis's
/// bitfieldGetKeys); SET or INCRBY need read and write.
#[test]
fn bitfield_get_needs_only_read_access() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "r", "on", "nopass", "%R~read*", "+@all"],
    );
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "w", "on", "nopass", "%W~write*", "+@all"],
    );
    let mut r = as_user(&s, "r", "x");
    let got: Vec<i64> = q(&mut r, &["BITFIELD", "readstr", "GET", "u4", "0"]);
    assert_eq!(got, vec![0]);
    let _: Vec<i64> = q(
        &mut r,
        &["BITFIELD", "readstr", "OVERFLOW", "WRAP", "GET", "u4", "0"],
    );
    assert_eq!(
        err(&mut r, &["BITFIELD", "readstr", "SET", "u4", "0", "1"]),
        "NOPERM No permissions to access a key"
    );
    let mut w = as_user(&s, "w", "x");
    assert_eq!(
        err(&mut w, &["BITFIELD", "writestr", "GET", "u4", "0"]),
        "NOPERM No permissions to access a key"
    );
    assert_eq!(
        err(&mut w, &["BITFIELD", "writestr", "INCRBY", "u4", "0", "1"]),
        "NOPERM No permissions to access a key"
    );
}

/// Revoking a channel permission disconnects the user's subscribers to
/// that channel (or pattern, or shard channel) at once, as Redis does;
/// subscribers still allowed stay.
#[test]
fn subscribers_are_disconnected_when_their_channel_is_revoked() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "ps",
            "on",
            ">p",
            "+@all",
            "resetchannels",
            "&a:*",
            "&b",
        ],
    );
    let sub = |cmd: &str, name: &str| {
        let mut r = s.raw();
        r.roundtrip(b"AUTH ps p\r\n", b"+OK\r\n");
        r.send(format!("{cmd} {name}\r\n").as_bytes());
        let got = r.read_n(1, std::time::Duration::from_secs(2));
        assert_eq!(got, b"*", "{cmd} {name}");
        r.read_n(64, std::time::Duration::from_millis(100));
        r
    };
    let mut chan = sub("SUBSCRIBE", "a:1");
    let mut shard = sub("SSUBSCRIBE", "a:2");
    let mut pat = sub("PSUBSCRIBE", "a:*");
    let mut kept = sub("SUBSCRIBE", "b");
    q::<()>(&mut c, &["ACL", "SETUSER", "ps", "resetchannels", "&b"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert_eq!(list.matches("user=ps ").count(), 1, "{list}");
    assert!(chan.is_closed());
    assert!(shard.is_closed());
    assert!(pat.is_closed());
    kept.send(b"PING\r\n");
    let got = kept.read_n(1, std::time::Duration::from_secs(2));
    assert_eq!(got, b"*");
}

/// A blocked command is checked against the ACL again when it would be
/// served: after its keys were revoked it gets NOPERM (a rejected call, in
/// ACL LOG) and the pushed element stays, as Redis reprocesses the command.
#[test]
fn blocked_command_is_rechecked_when_served() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(
        &mut c,
        &["ACL", "SETUSER", "bl", "on", "nopass", "+@all", "allkeys"],
    );
    q::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    let mut b = s.raw();
    b.roundtrip(b"AUTH bl x\r\n", b"+OK\r\n");
    b.send(b"BLPOP list1 0\r\n");
    common::wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["ACL", "SETUSER", "bl", "resetkeys"]);
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "list1", "foo"]), 1);
    b.expect(b"-NOPERM No permissions to access a key\r\n");
    assert_eq!(q::<i64>(&mut c, &["LLEN", "list1"]), 1);
    let info: String = q(&mut c, &["INFO", "commandstats"]);
    let line = info
        .lines()
        .find(|l| l.starts_with("cmdstat_blpop:"))
        .unwrap_or("");
    assert!(line.starts_with("cmdstat_blpop:calls=0,usec=0,"), "{line}");
    assert!(line.contains("rejected_calls=1,failed_calls=0"), "{line}");
    // And it is in ACL LOG, as the key it was denied.
    let m = first(&mut c);
    assert_eq!(text(&m["reason"]), "key");
    assert_eq!(text(&m["context"]), "toplevel");
    assert_eq!(text(&m["object"]), "list1");
    assert_eq!(text(&m["username"]), "bl");
    b.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn a_relative_aclfile_is_found_under_dir() {
    let dir = std::env::temp_dir().join(format!("ember-acl-rel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("users.acl"),
        "user carol on >cpw ~* +@all\nuser default on nopass ~* &* +@all\n",
    )
    .unwrap();
    let d = dir.to_string_lossy().into_owned();
    let s = TestServer::with_config(|c| {
        c.dir = d.clone();
        c.aclfile = "users.acl".into();
    });
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ACL", "USERS"]),
        ["carol", "default"]
    );
    q::<()>(&mut c, &["ACL", "SETUSER", "dave", "on"]);
    assert_eq!(q::<String>(&mut c, &["ACL", "SAVE"]), "OK");
    let saved = std::fs::read_to_string(dir.join("users.acl")).unwrap();
    assert!(saved.contains("user dave on"), "{saved}");
    // Messages name the file as configured, as Redis's do.
    std::fs::write(dir.join("users.acl"), "foo\n").unwrap();
    let e = err(&mut c, &["ACL", "LOAD"]);
    assert!(
        e.starts_with("ERR users.acl:1 should start with user keyword"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// SORT's BY (with a real pattern) and GET read keys no key check sees:
/// they need a selector that allows SORT and reads every key, as Redis.
#[test]
fn sort_by_and_get_need_unrestricted_read_access() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "v1", "1"]);
    let _: i64 = q(&mut c, &["LPUSH", "mylist", "1"]);
    let by = "ERR BY option of SORT denied due to insufficient ACL permissions.";
    let get = "ERR GET option of SORT denied due to insufficient ACL permissions.";
    for (rules, allowed) in [
        ("(+sort ~mylist)", false),
        ("(+sort ~mylist ~v*)", false),
        ("(+sort ~mylist %W~*)", false),
        ("(+sort ~mylist %R~*)", true),
        ("(+sort ~mylist ~*)", true),
    ] {
        let _: () = q(
            &mut c,
            &["ACL", "SETUSER", "sorter", "reset", "on", "nopass", rules],
        );
        let mut u = as_user(&s, "sorter", "x");
        // Without patterns, or a BY that does not sort, only the key counts.
        let plain: Vec<String> = q(&mut u, &["SORT", "mylist"]);
        assert_eq!(plain, ["1"]);
        let nosort: Vec<String> = q(&mut u, &["SORT", "mylist", "BY", "nosort"]);
        assert_eq!(nosort, ["1"]);
        if allowed {
            let got: Vec<String> = q(&mut u, &["SORT", "mylist", "BY", "v*"]);
            assert_eq!(got, ["1"]);
            let got: Vec<String> = q(&mut u, &["SORT", "mylist", "GET", "v*"]);
            assert_eq!(got, ["1"]);
        } else {
            assert_eq!(err(&mut u, &["SORT", "mylist", "BY", "v*"]), by, "{rules}");
            assert_eq!(err(&mut u, &["SORT", "mylist", "GET", "#"]), get, "{rules}");
        }
    }
}
