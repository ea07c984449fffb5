//! COMMAND INFO key specs and tips, COMMAND DOCS argument trees, and
//! COMMAND GETKEYS / GETKEYSANDFLAGS driven by the key specs, as Redis 7.2
//! answers them (the data is generated from Redis's command JSON by
//! scripts/gen-keyspecs.py).
//!
//! With a redis-server on PATH (required under CI=true), every command both
//! servers know is compared: COMMAND INFO byte for byte in RESP2 and RESP3,
//! COMMAND DOCS in RESP3 after removing what Redis 7.2 added over the
//! installed 7.0 (see `DOCS_NORMALIZED`), except the commands whose metadata
//! changed between 7.0.15 and 7.2.4 (`INFO_EXCLUDED`, `DOCS_EXCLUDED`).

mod common;
use common::{have_tool, TestServer};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- RESP tree

/// A parsed reply: the type byte and either its line or its elements.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Line(u8, Vec<u8>),
    Bulk(u8, Vec<u8>),
    Agg(u8, Vec<V>),
}

fn parse(b: &[u8], pos: &mut usize) -> Option<V> {
    let start = *pos;
    let end = start + b.get(start..)?.windows(2).position(|w| w == b"\r\n")?;
    let kind = b[start];
    let head = b[start + 1..end].to_vec();
    *pos = end + 2;
    let n = || std::str::from_utf8(&head).ok()?.parse::<i64>().ok();
    match kind {
        b'$' | b'=' | b'!' => {
            let len = n()?;
            if len < 0 {
                return Some(V::Line(kind, head));
            }
            let data = b.get(*pos..*pos + len as usize)?.to_vec();
            *pos += len as usize + 2;
            Some(V::Bulk(kind, data))
        }
        b'*' | b'~' | b'%' | b'>' | b'|' => {
            let len = n()?;
            if len < 0 {
                return Some(V::Line(kind, head));
            }
            let items = if kind == b'%' || kind == b'|' {
                2 * len
            } else {
                len
            };
            let mut v = Vec::new();
            for _ in 0..items {
                v.push(parse(b, pos)?);
            }
            Some(V::Agg(kind, v))
        }
        _ => Some(V::Line(kind, head)),
    }
}

fn write(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Line(k, l) => {
            out.push(*k);
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        V::Bulk(k, d) => {
            out.extend_from_slice(format!("{}{}\r\n", *k as char, d.len()).as_bytes());
            out.extend_from_slice(d);
            out.extend_from_slice(b"\r\n");
        }
        V::Agg(k, items) => {
            let n = if *k == b'%' || *k == b'|' {
                items.len() / 2
            } else {
                items.len()
            };
            out.extend_from_slice(format!("{}{}\r\n", *k as char, n).as_bytes());
            for i in items {
                write(i, out);
            }
        }
    }
}

fn bytes(v: &V) -> Vec<u8> {
    let mut out = Vec::new();
    write(v, &mut out);
    out
}

fn tree(b: &[u8]) -> V {
    let mut pos = 0;
    let v = parse(b, &mut pos).expect("a complete reply");
    assert_eq!(pos, b.len(), "one reply");
    v
}

fn bulk_text(v: &V) -> String {
    match v {
        V::Bulk(_, d) | V::Line(_, d) => String::from_utf8_lossy(d).into_owned(),
        V::Agg(..) => String::new(),
    }
}

/// What a RESP3 reply reads as in RESP2: maps flattened, sets as arrays,
/// nulls as RESP2 nulls (`null_agg` for a null array).
fn to_resp2(v: &V) -> V {
    match v {
        V::Agg(_, items) => V::Agg(b'*', items.iter().map(to_resp2).collect()),
        V::Line(b'_', _) => V::Line(b'*', b"-1".to_vec()),
        other => other.clone(),
    }
}

// ------------------------------------------------------------------ sockets

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16, resp3: bool) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut c = Conn { s, buf: Vec::new() };
        if resp3 {
            c.call(&["HELLO", "3"]);
        }
        c
    }

    /// Send one request and return its reply's bytes.
    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.s.write_all(&encode(args)).expect("write");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut pos = 0;
            if parse(&self.buf, &mut pos).is_some() {
                let reply = self.buf[..pos].to_vec();
                self.buf.drain(..pos);
                return reply;
            }
            assert!(Instant::now() < deadline, "no reply to {args:?}");
            let mut chunk = [0u8; 65536];
            let n = self.s.read(&mut chunk).expect("read");
            assert!(n > 0, "connection closed after {args:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn start_redis() -> (common::RealRedis, u16) {
    let r = common::RealRedis::start(&[]);
    let port = r.port;
    (r, port)
}

fn port(s: &TestServer) -> u16 {
    s.url()
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("port in url")
}

// ----------------------------------------------------------- literal checks

/// `COMMAND INFO get`, exactly as Redis 7.2 answers it.
const GET_RESP3: &str =
    "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n\
$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n\
$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n\
$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";

const GET_RESP2: &str =
    "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n\
$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";

/// The key specs (9th field) of `COMMAND INFO <name>`, RESP3.
fn key_specs(c: &mut Conn, name: &str) -> String {
    let V::Agg(_, top) = tree(&c.call(&["COMMAND", "INFO", name])) else {
        panic!("array");
    };
    let V::Agg(_, fields) = &top[0] else {
        panic!("{name} unknown");
    };
    String::from_utf8(bytes(&fields[8])).expect("utf8")
}

fn range(lastkey: i32, step: i32, limit: i32) -> String {
    format!(
        "$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n\
$7\r\nlastkey\r\n:{lastkey}\r\n$7\r\nkeystep\r\n:{step}\r\n$5\r\nlimit\r\n:{limit}\r\n"
    )
}

fn index(i: i32) -> String {
    format!(
        "$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n\
$5\r\nindex\r\n:{i}\r\n"
    )
}

const UNKNOWN: &str =
    "$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n%0\r\n\
$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n%0\r\n";

#[test]
fn command_info_key_specs_literal() {
    let s = TestServer::start();
    let mut r2 = Conn::open(port(&s), false);
    assert_eq!(
        String::from_utf8(r2.call(&["COMMAND", "INFO", "get"])).unwrap(),
        GET_RESP2
    );
    let mut c = Conn::open(port(&s), true);
    assert_eq!(
        String::from_utf8(c.call(&["COMMAND", "INFO", "get"])).unwrap(),
        GET_RESP3
    );

    // SET: one spec with notes and variable flags.
    let notes = "RW and ACCESS due to the optional `GET` argument";
    assert_eq!(
        key_specs(&mut c, "set"),
        format!(
            "~1\r\n%4\r\n$5\r\nnotes\r\n${}\r\n{notes}\r\n$5\r\nflags\r\n~4\r\n+RW\r\n+access\r\n\
+update\r\n+variable_flags\r\n{}{}",
            notes.len(),
            index(1),
            range(0, 1, 0)
        )
    );
    // MSET: every other argument, to the end.
    assert_eq!(
        key_specs(&mut c, "mset"),
        format!(
            "~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+OW\r\n+update\r\n{}{}",
            index(1),
            range(-1, 2, 0)
        )
    );
    // ZUNIONSTORE: a destination, then a key count and the keys.
    assert_eq!(
        key_specs(&mut c, "zunionstore"),
        format!(
            "~2\r\n%3\r\n$5\r\nflags\r\n~2\r\n+OW\r\n+update\r\n{}{}\
%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n{}\
$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n%3\r\n\
$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n",
            index(1),
            range(0, 1, 0),
            index(2)
        )
    );
    // SORT: BY/GET patterns and STORE are unknown to the specs.
    assert_eq!(
        key_specs(&mut c, "sort"),
        format!(
            "~3\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n{}{}\
%4\r\n$5\r\nnotes\r\n${}\r\nFor the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort\r\n\
$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n{UNKNOWN}\
%4\r\n$5\r\nnotes\r\n${}\r\nFor the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array\r\n\
$5\r\nflags\r\n~2\r\n+OW\r\n+update\r\n{UNKNOWN}",
            index(1),
            range(0, 1, 0),
            "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort".len(),
            "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array".len(),
        )
    );
    // Movable keys and first/last/step come from the specs.
    let V::Agg(_, top) = tree(&c.call(&["COMMAND", "INFO", "zunionstore", "lmpop", "rename"]))
    else {
        panic!()
    };
    let heads: Vec<String> = top
        .iter()
        .map(|v| {
            let V::Agg(_, f) = v else { panic!() };
            format!(
                "{} {} {} {}",
                String::from_utf8(bytes(&f[2]))
                    .unwrap()
                    .replace("\r\n", " "),
                bulk_text(&f[3]),
                bulk_text(&f[4]),
                bulk_text(&f[5])
            )
        })
        .collect();
    assert_eq!(
        heads,
        [
            "~3 +write +denyoom +movablekeys  1 1 1",
            "~2 +write +movablekeys  0 0 0",
            "~1 +write  1 2 1"
        ]
    );
    // Tips.
    let V::Agg(_, top) = tree(&c.call(&["COMMAND", "INFO", "keys"])) else {
        panic!()
    };
    let V::Agg(_, f) = &top[0] else { panic!() };
    assert_eq!(
        bytes(&f[7]),
        b"~2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nnondeterministic_output_order\r\n"
    );
}

#[test]
fn command_docs_transcribed() {
    let s = TestServer::start();
    let mut c = Conn::open(port(&s), true);
    let doc = String::from_utf8(c.call(&["COMMAND", "DOCS", "getex"])).unwrap();
    let expected = "%1\r\n$5\r\ngetex\r\n%5\r\n\
$7\r\nsummary\r\n$54\r\nReturns the string value of a key after setting its expiration time.\r\n"
        .replace("$54", "$68");
    assert!(doc.starts_with(&expected), "{doc}");
    // EXAT takes a unix time, PERSIST is a pure token with display text.
    assert!(doc.contains(
        "%4\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n\
$12\r\ndisplay_text\r\n$17\r\nunix-time-seconds\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n"
    ));
    assert!(doc.contains(
        "%4\r\n$4\r\nname\r\n$7\r\npersist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n\
$12\r\ndisplay_text\r\n$7\r\npersist\r\n$5\r\ntoken\r\n$7\r\nPERSIST\r\n"
    ));
    // Doc flags, deprecation and history.
    let doc = String::from_utf8(c.call(&["COMMAND", "DOCS", "setex"])).unwrap();
    assert!(doc.contains(
        "$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n2.6.12\r\n"
            .replace("$5\r\n2.6.12", "$6\r\n2.6.12")
            .as_str()
    ));
    assert!(doc.contains("$11\r\nreplaced_by\r\n"), "{doc}");
    let doc = String::from_utf8(c.call(&["COMMAND", "DOCS", "zrank"])).unwrap();
    assert!(doc.contains(
        "$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.2.0\r\n$33\r\nAdded the optional `WITHSCORE` argument.\r\n"
            .replace("$33", "$40")
            .as_str()
    ));
    // RESP2 is the same tree with maps flattened and sets as arrays.
    let mut r2 = Conn::open(port(&s), false);
    for name in names(&mut c) {
        let name = name.as_str();
        let three = tree(&c.call(&["COMMAND", "DOCS", name]));
        let two = r2.call(&["COMMAND", "DOCS", name]);
        assert_eq!(
            String::from_utf8_lossy(&bytes(&to_resp2(&three))),
            String::from_utf8_lossy(&two),
            "{name}"
        );
    }
}

#[test]
fn getkeys_follow_key_specs() {
    let s = TestServer::start();
    let mut c = Conn::open(port(&s), true);
    let mut keys = |args: &[&str]| {
        let mut full = vec!["COMMAND", "GETKEYSANDFLAGS"];
        full.extend_from_slice(args);
        String::from_utf8(c.call(&full))
            .unwrap()
            .replace("\r\n", " ")
    };
    assert_eq!(keys(&["get", "k"]), "*1 *2 $1 k ~2 +RO +access ");
    // SET: variable flags, decided by GET.
    assert_eq!(keys(&["set", "k", "v"]), "*1 *2 $1 k ~2 +OW +update ");
    assert_eq!(
        keys(&["set", "k", "v", "ex", "1", "get"]),
        "*1 *2 $1 k ~3 +RW +access +update "
    );
    assert_eq!(
        keys(&["bitfield", "k", "get", "u8", "0"]),
        "*1 *2 $1 k ~2 +RO +access "
    );
    assert_eq!(
        keys(&["bitfield", "k", "set", "u8", "0", "1"]),
        "*1 *2 $1 k ~3 +RW +access +update "
    );
    assert_eq!(
        keys(&["zunionstore", "d", "2", "a", "b", "weights", "1", "2"]),
        "*3 *2 $1 d ~2 +OW +update *2 $1 a ~2 +RO +access *2 $1 b ~2 +RO +access "
    );
    // A count the specs cannot read falls back to C's atoi, without flags.
    assert_eq!(
        keys(&["zunion", "2x", "a", "b"]),
        "*2 *2 $1 a ~0 *2 $1 b ~0 "
    );
    assert_eq!(
        keys(&["zunion", "0", "a"]),
        "-ERR Invalid arguments specified for command "
    );
    assert_eq!(
        keys(&["lmpop", "2", "a", "b", "left"]),
        "*2 *2 $1 a ~3 +RW +access +delete *2 $1 b ~3 +RW +access +delete "
    );
    assert_eq!(
        keys(&["sort", "k", "by", "store", "store", "d"]),
        "*2 *2 $1 k ~2 +RO +access *2 $1 d ~2 +OW +update "
    );
    assert_eq!(
        keys(&["sort_ro", "k", "by", "w"]),
        "*1 *2 $1 k ~2 +RO +access "
    );
    assert_eq!(
        keys(&["mset", "a", "1", "b", "2"]),
        "*2 *2 $1 a ~2 +OW +update *2 $1 b ~2 +OW +update "
    );
    assert_eq!(keys(&["ping"]), "-ERR The command has no key arguments ");
    assert_eq!(
        keys(&["get"]),
        "-ERR Invalid number of arguments specified for command "
    );
    assert_eq!(keys(&["nosuch"]), "-ERR Invalid command specified ");
    assert_eq!(keys(&["client"]), "-ERR The command has no key arguments ");
    assert_eq!(
        keys(&["object", "nosuch", "k"]),
        "-ERR Invalid command specified "
    );
    assert_eq!(keys(&["object", "encoding", "k"]), "*1 *2 $1 k ~1 +RO ");
}

/// Where the key positions in our command table (first/last/step and
/// `movablekeys`) disagree with what Redis derives from its key specs. COMMAND
/// INFO and GETKEYS follow the specs; these are reported to the table's
/// owners. A new disagreement fails here.
const TABLE_DISAGREES: &[&str] = &[];

#[test]
fn table_key_positions_agree_with_specs() {
    let table = ember::commands::CommandTable::build();
    let mut found = Vec::new();
    for e in &table.entries {
        let c = e.cmd;
        let Some(m) = ember::commands::cmdmeta::lookup(c.name) else {
            continue;
        };
        let ours = (c.first_key, c.last_key, c.key_step);
        let movable = c.has(ember::commands::flags::MOVABLE_KEYS);
        if ours != m.keys || movable != m.movable {
            found.push(format!(
                "{}: table {:?} movable={} vs specs {:?} movable={}",
                c.name, ours, movable, m.keys, m.movable
            ));
        }
    }
    // Positions on sample requests: the corpus below, and for each command
    // requests of its minimum length and a few more, every argument "2" (a
    // valid key count, never a keyword).
    let mut samples: Vec<Vec<String>> = GETKEYS_CORPUS
        .iter()
        .map(|r| r.split(' ').skip(2).map(String::from).collect())
        .collect();
    for e in &table.entries {
        let c = e.cmd;
        let (name, sub) = match c.name.split_once('|') {
            Some((a, b)) => (a, Some(b)),
            None => (c.name, None),
        };
        let min = c.arity.unsigned_abs() as usize;
        let lens = if c.arity > 0 {
            min..min + 1
        } else {
            min..min + 6
        };
        for n in lens {
            let mut req: Vec<String> = vec![name.to_string()];
            req.extend(sub.map(String::from));
            while req.len() < n {
                req.push("2".into());
            }
            samples.push(req);
        }
    }
    for req in &samples {
        let Some(e) = table.get_full(req[0].as_bytes()) else {
            continue;
        };
        let e = match req.get(1).and_then(|s| table.sub(e, s.as_bytes())) {
            Some(s) if !e.subs.is_empty() => s,
            _ => e,
        };
        let Some(m) = ember::commands::cmdmeta::lookup(e.cmd.name) else {
            continue;
        };
        if !e.cmd.arity_ok(req.len()) {
            continue;
        }
        let mut buf = Vec::new();
        let mut ranges = Vec::new();
        for a in req {
            ranges.push(buf.len()..buf.len() + a.len());
            buf.extend_from_slice(a.as_bytes());
        }
        let args = ember::protocol::Args::new(&buf, &ranges);
        // An unreadable key count makes Redis fall back to C's atoi; the
        // command itself fails then, so that path is not compared.
        let keynum = m
            .key_specs
            .iter()
            .any(|k| matches!(k.find, ember::commands::cmdmeta::Find::Keynum { .. }));
        if keynum && ember::commands::cmdmeta::keys_by_specs(m, args).is_none() {
            continue;
        }
        let theirs: Vec<usize> = ember::commands::cmdmeta::find_keys(m, args)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let mut ours = e.cmd.key_positions(args);
        let mut sorted = theirs.clone();
        sorted.sort();
        ours.sort();
        if !theirs.is_empty() && ours != sorted {
            found.push(format!(
                "{}: {req:?}: table keys at {ours:?}, specs at {theirs:?}",
                e.cmd.name
            ));
        }
    }
    for f in &found {
        eprintln!("{f}");
    }
    let mut names: Vec<&str> = found
        .iter()
        .map(|f| f.split(':').next().unwrap_or(""))
        .collect();
    names.dedup();
    assert_eq!(names, TABLE_DISAGREES);
}

// ------------------------------------------------------ against redis-server

/// Commands whose COMMAND INFO differs between 7.0.15 and 7.2.4 (Ember
/// follows 7.2), with the reason.
const INFO_EXCLUDED: &[(&str, &str)] = &[
    ("cluster", "7.2 added CLUSTER MYSHARDID"),
    ("wait", "7.2 dropped the noscript flag (scripts may WAIT; it never blocks there)"),
    ("cluster|shards", "7.2 added the loading flag"),
    ("cluster|slots", "7.2 added the loading flag"),
    (
        "blmove",
        "7.2 dropped the noscript flag of blocking commands",
    ),
    (
        "blpop",
        "7.2 dropped the noscript flag of blocking commands",
    ),
    (
        "brpop",
        "7.2 dropped the noscript flag of blocking commands",
    ),
    (
        "brpoplpush",
        "7.2 dropped the noscript flag of blocking commands",
    ),
    (
        "bzpopmax",
        "7.2 dropped the noscript flag of blocking commands",
    ),
    (
        "bzpopmin",
        "7.2 dropped the noscript flag of blocking commands",
    ),
    (
        "client",
        "7.2 added CLIENT NO-TOUCH and SETINFO, changed SETNAME's tips",
    ),
    (
        "client|setname",
        "7.2 added the request/response policy tips",
    ),
    (
        "config",
        "7.2 changed the tips of CONFIG RESETSTAT and REWRITE",
    ),
    ("config|resetstat", "7.2 changed its tips"),
    ("config|rewrite", "7.2 changed its tips"),
    (
        "command",
        "7.2 changed the arity of GETKEYS and GETKEYSANDFLAGS",
    ),
    ("command|getkeys", "arity -3 in 7.2 (-4 in 7.0)"),
    ("command|getkeysandflags", "arity -3 in 7.2 (-4 in 7.0)"),
    ("msetnx", "7.2 added the request/response policy tips"),
    ("randomkey", "7.2 changed its tips"),
    ("scan", "7.2 changed its tips"),
    ("zrank", "7.2 added WITHSCORE (arity -3)"),
    ("zrevrank", "7.2 added WITHSCORE (arity -3)"),
    ("script", "SCRIPT DEBUG is not implemented"),
    ("acl", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|cat", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|deluser", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|dryrun", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|genpass", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|getuser", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|list", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|load", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|log", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|save", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|setuser", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|users", "7.2 added request/response policy tips to ACL subcommands"),
    ("acl|whoami", "7.2 added request/response policy tips to ACL subcommands"),
    (
        "latency",
        "the installed 7.0.15 build reports latency|reset's response policy as all_succeeded; the 7.0.15 and 7.2.4 sources say agg_sum",
    ),
    (
        "latency|reset",
        "the installed 7.0.15 build reports all_succeeded; the 7.0.15 and 7.2.4 sources say agg_sum",
    ),
];

/// Differences between 7.0 and 7.2 in every COMMAND DOCS reply, removed
/// before comparing: 7.2 rewrote the summaries and added `display_text` to
/// every argument that is not a oneof or block.
const DOCS_NORMALIZED: &[&str] = &["summary", "display_text"];

/// Commands whose COMMAND DOCS differ between 7.0.15 and 7.2.4 beyond
/// `DOCS_NORMALIZED`, with the reason.
const DOCS_EXCLUDED: &[(&str, &str)] = &[
    ("migrate", "7.2 argument name: key-selector (7.0: key_or_empty_string)"),
    ("xack", "7.2 argument name: id"),
    ("xadd", "7.2 argument tree: id-selector"),
    ("xclaim", "7.2 argument name: id"),
    ("xdel", "7.2 argument name: id"),
    ("xgroup", "7.2 subcommand argument trees (group, id-selector)"),
    ("xgroup|create", "7.2 argument names: group, id-selector"),
    ("xgroup|createconsumer", "7.2 argument names: group, consumer"),
    ("xgroup|delconsumer", "7.2 argument names: group, consumer"),
    ("xgroup|destroy", "7.2 argument name: group"),
    ("xgroup|setid", "7.2 argument names: group, id-selector"),
    ("xinfo", "7.2 subcommand argument trees"),
    ("xinfo|consumers", "7.2 argument name: group"),
    ("xinfo|stream", "7.2 argument tree: full-block"),
    ("xread", "7.2 argument names"),
    ("xreadgroup", "7.2 argument names: group-block"),
    ("xsetid", "7.2 argument names: last-id, max-deleted-id"),
    ("cluster", "7.2 added CLUSTER MYSHARDID; subcommand trees changed"),
    ("cluster|addslotsrange", "7.2 argument tree: range block renamed"),
    ("cluster|delslotsrange", "7.2 argument tree: range block renamed"),
    ("cluster|getkeysinslot", "7.2 complexity text"),
    ("cluster|meet", "7.2 argument name: cluster-bus-port"),
    ("cluster|replicas", "7.2 complexity text"),
    ("cluster|reset", "7.2 argument tree: reset-type oneof"),
    ("cluster|setslot", "7.2 argument names: importing, migrating, node"),
    ("cluster|slaves", "7.2 complexity text"),
    ("bitcount", "7.2 argument tree: BYTE|BIT tokens"),
    ("bitfield", "7.2 argument tree: renamed blocks"),
    ("bitfield_ro", "7.2 argument tree: GET block"),
    ("pfmerge", "7.2 argument tree: sourcekey optional"),
    ("geoadd", "7.2 docs: argument tree / complexity text revised"),
    ("geodist", "7.2 docs: argument tree / complexity text revised"),
    ("geohash", "7.2 docs: argument tree / complexity text revised"),
    ("geopos", "7.2 docs: argument tree / complexity text revised"),
    ("georadius", "7.2 docs: argument tree / complexity text revised"),
    ("georadius_ro", "7.2 docs: argument tree / complexity text revised"),
    ("georadiusbymember", "7.2 docs: argument tree / complexity text revised"),
    ("georadiusbymember_ro", "7.2 docs: argument tree / complexity text revised"),
    ("geosearch", "7.2 docs: argument tree / complexity text revised"),
    ("geosearchstore", "7.2 docs: argument tree / complexity text revised"),
    ("bitop", "7.2 argument tree: operation oneof"),
    ("bitpos", "7.2 argument tree: BYTE|BIT tokens"),
    ("client", "subcommand trees changed in 7.2 (see below)"),
    ("client|kill", "7.2 argument tree: filters renamed, MAXAGE"),
    ("client|list", "7.2 argument tree: client-type oneof"),
    ("client|reply", "7.2 argument tree: action oneof"),
    ("client|unblock", "7.2 argument tree: unblock-type oneof"),
    ("command", "GETKEYS/GETKEYSANDFLAGS trees changed in 7.2"),
    ("command|getkeys", "7.2 argument tree: command, arg"),
    ("command|getkeysandflags", "7.2 argument tree: command, arg"),
    ("config", "GET/SET trees changed in 7.2"),
    ("config|get", "7.2 argument tree: parameter"),
    ("config|set", "7.2 argument tree: data block"),
    ("flushall", "7.2 argument tree: flush-type oneof"),
    ("flushdb", "7.2 argument tree: flush-type oneof"),
    ("hello", "7.2 argument tree: arguments block"),
    ("hmset", "7.2 argument tree: data block"),
    ("hscan", "7.2 complexity text"),
    ("hset", "7.2 argument tree: data block"),
    ("lcs", "7.2 argument tree"),
    ("mset", "7.2 argument tree: data block"),
    ("msetnx", "7.2 argument tree: data block"),
    (
        "psetex",
        "7.2 deprecated it (doc_flags, deprecated_since, replaced_by)",
    ),
    (
        "quit",
        "7.2 deprecated it (doc_flags, deprecated_since, replaced_by)",
    ),
    (
        "setex",
        "7.2 deprecated it (doc_flags, deprecated_since, replaced_by)",
    ),
    (
        "setnx",
        "7.2 deprecated it (doc_flags, deprecated_since, replaced_by)",
    ),
    ("shutdown", "7.2 argument tree: abort-selector"),
    ("sort", "7.2 argument tree: limit block, get pattern"),
    ("sort_ro", "7.2 argument tree: limit block, get pattern"),
    ("sscan", "7.2 complexity text"),
    ("zadd", "7.2 argument tree: data block"),
    ("zrandmember", "7.2 complexity text"),
    ("zrange", "7.2 argument tree: sortby, limit"),
    ("zrangebylex", "7.2 argument tree: limit block"),
    ("zrangebyscore", "7.2 argument tree: limit block"),
    ("zrangestore", "7.2 argument tree: sortby, limit"),
    ("zrank", "7.2 added WITHSCORE (history, arguments)"),
    ("client|pause", "7.2 changed since to 3.0.0 (7.0: 2.9.50)"),
    (
        "client|tracking",
        "the installed 7.0.15 build reports the BCAST/OPTIN/OPTOUT/NOLOOP argument names in lower case; the 7.0.15 and 7.2.4 sources say upper case",
    ),
    (
        "acl",
        "7.2 changed acl|cat and acl|log (argument names, the log's reply)",
    ),
    ("acl|cat", "7.2 renamed the argument to 'category'"),
    ("acl|log", "7.2 changed its documentation"),
    ("function", "7.2 renamed function|flush's argument"),
    ("function|flush", "7.2 renamed the argument to 'flush-type'"),
    (
        "script",
        "SCRIPT DEBUG is not implemented; 7.2 renamed script|flush's argument",
    ),
    ("script|flush", "7.2 renamed the argument to 'flush-type'"),
    (
        "psubscribe",
        "7.2 changed the complexity text and argument flags",
    ),
    ("punsubscribe", "7.2 changed the complexity text"),
    ("sunsubscribe", "7.2 changed the complexity text"),
    ("unsubscribe", "7.2 changed the complexity text"),
    ("client", "7.2 changed client|pause's since"),
    (
        "latency|histogram",
        "the installed 7.0.15 build names the argument 'command'; the sources say 'COMMAND'",
    ),
    ("latency", "latency|histogram's argument name, as above"),
    ("zrevrangebylex", "7.2 argument tree: limit block"),
    ("zrevrangebyscore", "7.2 argument tree: limit block"),
    ("zrevrank", "7.2 added WITHSCORE (history, arguments)"),
    ("zscan", "7.2 complexity text"),
];

/// Sort a container's subcommands (Redis lists them in hash-table order).
fn sort_info_subs(v: &mut V) {
    if let V::Agg(_, items) = v {
        for item in items.iter_mut() {
            if let V::Agg(_, f) = item {
                if let Some(V::Agg(_, subs)) = f.get_mut(9) {
                    subs.sort_by_key(|s| match s {
                        V::Agg(_, f) => bulk_text(&f[0]),
                        _ => String::new(),
                    });
                }
            }
        }
    }
}

/// Drop `DOCS_NORMALIZED` fields from every map and sort the pairs of
/// `subcommands` maps, recursively (RESP3).
fn normalize_docs(v: &mut V) {
    if let V::Agg(kind, items) = v {
        if *kind == b'%' {
            let mut pairs: Vec<(V, V)> = items
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .filter(|(k, _)| !DOCS_NORMALIZED.contains(&bulk_text(k).as_str()))
                .collect();
            for (k, val) in pairs.iter_mut() {
                if bulk_text(k) == "subcommands" {
                    if let V::Agg(_, subs) = val {
                        let mut sp: Vec<(V, V)> = subs
                            .chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone()))
                            .collect();
                        sp.sort_by_key(|(n, _)| bulk_text(n));
                        *subs = sp.into_iter().flat_map(|(a, b)| [a, b]).collect();
                    }
                }
                normalize_docs(val);
            }
            *items = pairs.into_iter().flat_map(|(a, b)| [a, b]).collect();
        } else {
            items.iter_mut().for_each(normalize_docs);
        }
    }
}

/// Both replies around where they first differ.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let from = at.saturating_sub(120);
    let show = |x: &[u8]| {
        format!(
            "{:?}",
            String::from_utf8_lossy(&x[from..(at + 120).min(x.len())])
        )
    };
    format!("at byte {at}\n  redis: {}\n  ember: {}", show(a), show(b))
}

fn names(c: &mut Conn) -> BTreeSet<String> {
    let V::Agg(_, v) = tree(&c.call(&["COMMAND", "LIST"])) else {
        panic!()
    };
    v.iter().map(bulk_text).collect()
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS requests compared with redis-server
/// (all with a full command: 7.0 and 7.2 differ in the arity of GETKEYS).
const GETKEYS_CORPUS: &[&str] = &[
    "COMMAND GETKEYSANDFLAGS get k",
    "COMMAND GETKEYSANDFLAGS set k v",
    "COMMAND GETKEYSANDFLAGS set k v ex 1 get",
    "COMMAND GETKEYSANDFLAGS bitfield k get u8 0",
    "COMMAND GETKEYSANDFLAGS bitfield k set u8 0 1",
    "COMMAND GETKEYSANDFLAGS bitfield k overflow",
    "COMMAND GETKEYSANDFLAGS zunionstore d 2 a b weights 1 2",
    "COMMAND GETKEYSANDFLAGS zunion 2x a b",
    "COMMAND GETKEYSANDFLAGS zunion 0 a",
    "COMMAND GETKEYSANDFLAGS zunion 3 a b",
    "COMMAND GETKEYSANDFLAGS zunion -1 a b",
    "COMMAND GETKEYSANDFLAGS zunionstore d 2x a b",
    "COMMAND GETKEYSANDFLAGS lmpop 2 a b left",
    "COMMAND GETKEYSANDFLAGS blmpop 0 2 a b left",
    "COMMAND GETKEYSANDFLAGS bzmpop 0 1 a min",
    "COMMAND GETKEYSANDFLAGS sintercard 2 a b limit 1",
    "COMMAND GETKEYSANDFLAGS sort k by store store d",
    "COMMAND GETKEYSANDFLAGS sort k limit 0 1 store d get # store e",
    "COMMAND GETKEYSANDFLAGS sort k store",
    "COMMAND GETKEYSANDFLAGS sort_ro k by w",
    "COMMAND GETKEYSANDFLAGS mset a 1 b 2",
    "COMMAND GETKEYSANDFLAGS mset a 1 b",
    "COMMAND GETKEYSANDFLAGS object encoding k",
    "COMMAND GETKEYSANDFLAGS memory usage k",
    "COMMAND GETKEYSANDFLAGS rename a b",
    "COMMAND GETKEYSANDFLAGS lmove a b left right",
    "COMMAND GETKEYSANDFLAGS blpop a b c 0",
    "COMMAND GETKEYSANDFLAGS del a b c",
    "COMMAND GETKEYSANDFLAGS copy a b db 1",
    "COMMAND GETKEYSANDFLAGS zrangestore d s 0 1",
    "COMMAND GETKEYSANDFLAGS smove a b m",
    "COMMAND GETKEYSANDFLAGS getex k persist",
    "COMMAND GETKEYSANDFLAGS zdiffstore d 1 a",
    "COMMAND GETKEYSANDFLAGS zinter 2 a b",
    "COMMAND GETKEYSANDFLAGS lcs a b",
    "COMMAND GETKEYSANDFLAGS exists a a",
    "COMMAND GETKEYSANDFLAGS watch a b",
    "COMMAND GETKEYSANDFLAGS client list",
    "COMMAND GETKEYS sort k store d",
    "COMMAND GETKEYS zunion 2 a b",
    "COMMAND GETKEYS msetnx a 1 b 2",
    "COMMAND GETKEYS hset h f v",
    "COMMAND GETKEYS keys *",
    "COMMAND GETKEYS scan 0",
];

#[test]
fn command_info_and_docs_match_redis() {
    if !have_tool("redis-server") {
        return;
    }
    let (_redis, rport) = start_redis();
    let s = TestServer::start();
    let eport = port(&s);
    let mut failures = Vec::new();
    let mut compared = (0, 0);
    for resp3 in [false, true] {
        let mut r = Conn::open(rport, resp3);
        let mut e = Conn::open(eport, resp3);
        let theirs = names(&mut r);
        let ours = names(&mut e);
        for name in ours.intersection(&theirs) {
            if INFO_EXCLUDED.iter().any(|(n, _)| n == name) {
                continue;
            }
            let mut a = tree(&r.call(&["COMMAND", "INFO", name]));
            let mut b = tree(&e.call(&["COMMAND", "INFO", name]));
            sort_info_subs(&mut a);
            sort_info_subs(&mut b);
            if a != b {
                failures.push(format!(
                    "COMMAND INFO {name} (resp{}): {}",
                    if resp3 { 3 } else { 2 },
                    first_difference(&bytes(&a), &bytes(&b))
                ));
            } else if resp3 {
                compared.0 += 1;
            }
        }
        if !resp3 {
            continue;
        }
        for name in ours.intersection(&theirs) {
            if DOCS_EXCLUDED.iter().any(|(n, _)| n == name) {
                continue;
            }
            let mut a = tree(&r.call(&["COMMAND", "DOCS", name]));
            let mut b = tree(&e.call(&["COMMAND", "DOCS", name]));
            normalize_docs(&mut a);
            normalize_docs(&mut b);
            if a != b {
                failures.push(format!(
                    "COMMAND DOCS {name}: {}",
                    first_difference(&bytes(&a), &bytes(&b))
                ));
            } else {
                compared.1 += 1;
            }
        }
    }
    let mut r = Conn::open(rport, true);
    let mut e = Conn::open(eport, true);
    for req in GETKEYS_CORPUS {
        let args: Vec<&str> = req.split(' ').collect();
        let (a, b) = (r.call(&args), e.call(&args));
        if a != b {
            failures.push(format!("{req}: {}", first_difference(&a, &b)));
        }
    }
    eprintln!(
        "COMMAND INFO equal for {} commands, COMMAND DOCS for {}",
        compared.0, compared.1
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Commands Ember has that Redis 7.2 does not (their DOCS are derived from
/// the table's syntax string, their INFO has no key specs).
const EMBER_ONLY: &[&str] = &[];

#[test]
fn every_command_has_redis_metadata() {
    let table = ember::commands::CommandTable::build();
    let missing: Vec<&str> = table
        .entries
        .iter()
        .map(|e| e.cmd.name)
        .filter(|n| ember::commands::cmdmeta::lookup(n).is_none())
        .collect();
    assert_eq!(
        missing, EMBER_ONLY,
        "no key specs / docs for these: rerun scripts/gen-keyspecs.py"
    );
}
