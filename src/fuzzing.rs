//! Entry points for the fuzz targets (`fuzz/`, nightly `cargo fuzz`) and for
//! the stable regression test that replays their corpus
//! (`tests/fuzz_corpus.rs`): both call exactly these functions, so a crash
//! the fuzzer found stays fixed under plain `cargo test`.
//!
//! Each function takes arbitrary bytes, drives one parser the way the server
//! does, and panics if an invariant breaks (see fuzz/README.md). None of them
//! touches the network or the file system: `include` in a config file reads
//! from memory, AOF commands go to a recorder, RDB data is read from memory.

use std::io::Read;

use crate::config::{rewrite_text, Config};
use crate::persist::aof::load::{replay, LoadError, Run};
use crate::persist::aof::manifest::Manifest;
use crate::persist::rdb::{self, LoadLimits};
use crate::protocol::{Args, Limits, Parsed, Parser};

/// A tiny deterministic generator (xorshift) for chunk sizes.
struct Rng(u64);

impl Rng {
    fn new(seed: u8) -> Rng {
        Rng(0x9e37_79b9_7f4a_7c15 ^ (seed as u64).wrapping_mul(0x1000_0000_01b3))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Split `len` bytes into at most 16 chunks, at points chosen by `seed`.
fn chunk_sizes(len: usize, seed: u8) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let pieces = 1 + (seed as usize % 16);
    let mut cuts: Vec<usize> = (1..pieces)
        .map(|_| (rng.next() % (len as u64 + 1)) as usize)
        .collect();
    // Small seeds cut near the start, where the headers are.
    if seed & 0x80 != 0 {
        for c in &mut cuts {
            *c = (*c).min(seed as usize % 64);
        }
    }
    cuts.push(0);
    cuts.push(len);
    cuts.sort_unstable();
    cuts.windows(2).map(|w| w[1] - w[0]).collect()
}

// ---------------------------------------------------------------- requests

/// What one connection saw: the requests it ran, and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Session {
    requests: Vec<Vec<Vec<u8>>>,
    /// A protocol error or the query buffer limit closed it.
    closed: bool,
}

/// Parse everything `bytes` holds from `inbuf[*pos..]`, as the connection
/// loop does between two reads; false once the connection is closed.
fn parse_batch(
    parser: &mut Parser,
    inbuf: &[u8],
    pos: &mut usize,
    limits: &Limits,
    given: usize,
    session: &mut Session,
) -> bool {
    loop {
        let rest = &inbuf[*pos..];
        let parsed = match parser.parse(rest, limits) {
            Ok(p) => p,
            Err(e) => {
                assert!(e.0.starts_with("Protocol error: "), "{e:?}");
                return false;
            }
        };
        let consumed = match parsed {
            Parsed::Incomplete => return true,
            Parsed::Empty { consumed } => consumed,
            Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => consumed,
        };
        assert!(
            consumed > 0 && consumed <= rest.len(),
            "consumed {consumed}"
        );
        if let Parsed::Multibulk { .. } | Parsed::Inline { .. } = parsed {
            let args = parser.args(rest, &parsed);
            assert!(!args.is_empty());
            // Each multibulk argument takes at least `$0\r\n\r\n`, each
            // inline one a byte and a separator.
            let multibulk = matches!(parsed, Parsed::Multibulk { .. });
            let per_arg = if multibulk { 6 } else { 1 };
            assert!(args.len() * per_arg <= consumed + 1);
            let mut total = 0;
            for a in args.iter() {
                // `proto-max-bulk-len` bounds `$<len>`; an inline line is
                // bounded by its length alone (as in Redis).
                assert!(!multibulk || a.len() as i64 <= limits.max_bulk_len);
                total += a.len();
            }
            assert!(total <= consumed);
            session
                .requests
                .push(args.iter().map(|a| a.to_vec()).collect());
        }
        // Buffers grow with the bytes that arrived, never with a declared count.
        assert!(
            parser.ranges.capacity() <= 2 * (given + 1024),
            "ranges capacity {} for {given} bytes",
            parser.ranges.capacity()
        );
        assert!(
            parser.scratch.capacity() <= 2 * given + 64,
            "scratch capacity {} for {given} bytes",
            parser.scratch.capacity()
        );
        *pos += consumed;
    }
}

/// Feed `stream` to a parser in the given chunks, like the connection loop:
/// parse every complete request, keep the unparsed tail, close on a protocol
/// error or when the tail is over the query buffer limit.
fn run_session(stream: &[u8], chunks: &[usize], limits: &Limits, qbuf_limit: usize) -> Session {
    let mut parser = Parser::default();
    let mut session = Session {
        requests: Vec::new(),
        closed: false,
    };
    let mut inbuf: Vec<u8> = Vec::new();
    let mut given = 0;
    for &n in chunks {
        inbuf.extend_from_slice(&stream[given..given + n]);
        given += n;
        let mut pos = 0;
        let open = parse_batch(&mut parser, &inbuf, &mut pos, limits, given, &mut session);
        inbuf.drain(..pos);
        if !open || inbuf.len() > qbuf_limit {
            session.closed = true;
            return session;
        }
    }
    session
}

/// Fuzz target `request_parser`: `[split seed][limits][stream...]`.
///
/// The stream is parsed whole and in up to 16 chunks; the chunked session
/// must run a prefix of the whole one's requests, and exactly the same ones
/// unless it was closed (a `too big ...` error or the query buffer limit can
/// close a connection that reads slowly). Consumed byte counts, argument
/// sizes and the parser's buffers are bounded by the bytes actually given.
pub fn request_parser(data: &[u8]) {
    let [seed, lim, stream @ ..] = data else {
        return;
    };
    let limits = Limits::new(
        match lim & 3 {
            0 => Limits::default().max_bulk_len,
            1 => 16,
            2 => 1024,
            _ => 0,
        },
        lim & 16 == 0,
    );
    let qbuf_limit = match (lim >> 2) & 3 {
        0 => 1 << 30,
        1 => 64,
        2 => 4096,
        _ => 16 * 1024,
    };
    let whole = run_session(stream, &[stream.len()], &limits, usize::MAX);
    let chunked = run_session(
        stream,
        &chunk_sizes(stream.len(), *seed),
        &limits,
        qbuf_limit,
    );
    assert!(
        chunked.requests.len() <= whole.requests.len()
            && chunked.requests[..] == whole.requests[..chunked.requests.len()],
        "chunked parse ran different requests"
    );
    if !chunked.closed {
        assert_eq!(chunked, whole, "chunked parse ended differently");
    }
}

// ---------------------------------------------------------------- config

/// `include` in fuzzed config text: the "file" is the path's own text, so
/// nesting is exercised without the file system (and each level is shorter
/// than the line that included it, so the work stays linear).
fn include_from_memory(path: &str) -> Result<String, String> {
    Ok(path.to_string())
}

/// Fuzz target `config`: the bytes as a config file (lossy UTF-8, as
/// `load_file` would refuse non-UTF-8 text outright). A file that loads must
/// also build the live store and the ACL users, and its `CONFIG REWRITE`
/// text must load back to the same values.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut c = Config::default();
    if c.apply_text_with(&text, " (fuzz)", 0, &mut include_from_memory)
        .is_err()
    {
        return;
    }
    // The ACL file is a path: never read one here.
    let mut for_acl = c.clone();
    for_acl.aclfile.clear();
    let _ = crate::acl::Acl::from_config(command_table(), &for_acl);
    let store = crate::config::ConfigStore::new(c.clone());
    let _ = (store.hash_limits(), store.zset_limits(), store.set_limits());
    // CONFIG REWRITE, and DEBUG CONFIG-REWRITE-FORCE-ALL's every directive.
    for all in [false, true] {
        let rewritten = rewrite_text(&text, &c, all);
        let mut again = Config::default();
        let mut inc = include_from_memory;
        if let Err(e) = again.apply_text_with(&rewritten, " (rewrite)", 0, &mut inc) {
            panic!("CONFIG REWRITE output does not load: {e}\n{rewritten}");
        }
        for p in crate::config::params() {
            assert_eq!(
                (p.get)(&again),
                (p.get)(&c),
                "{} changed across CONFIG REWRITE:\n{rewritten}",
                p.name
            );
        }
    }
}

fn command_table() -> &'static crate::commands::CommandTable {
    static TABLE: std::sync::OnceLock<crate::commands::CommandTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(crate::commands::CommandTable::build)
}

// ---------------------------------------------------------------- RDB

/// A reader that hands out at most `step` bytes per call, so the RDB
/// reader's refills (and its running checksum) cross arbitrary points.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A decoded value must encode again, decode from that, and encode to the
/// same bytes (so what a load accepts is a value Ember can keep and save).
fn check_value(v: &crate::types::Value, limits: &LoadLimits) {
    for compress in [false, true] {
        let payload = rdb::dump_payload(v, compress);
        let back = match rdb::decode_dump(&payload, limits) {
            Ok(b) => b,
            Err(e) => panic!("a loaded value does not reload from its DUMP: {e}"),
        };
        assert!(
            rdb::dump_payload(&back, compress) == payload,
            "DUMP of a reloaded value differs"
        );
    }
}

/// Small encoding thresholds, so loads also convert to the big encodings.
fn small_limits() -> LoadLimits {
    let mut l = LoadLimits::default();
    l.hash.max_entries = 4;
    l.hash.max_value = 8;
    l.zset.max_entries = 4;
    l.zset.max_value = 8;
    l.set.max_intset = 4;
    l.set.max_entries = 4;
    l.set.max_value = 8;
    l.list_max_listpack_size = 2;
    l
}

fn load_rdb(input: &mut dyn Read, limits: &LoadLimits) -> Result<(u64, usize), rdb::RdbError> {
    let mut keys = 0u64;
    let info = rdb::load(input, limits, &mut |l| {
        keys += 1;
        check_value(&l.value, limits);
        Ok(())
    })?;
    assert_eq!(info.keys, keys);
    Ok((keys, info.aux.len() + info.functions.len()))
}

/// Fuzz target `rdb`: `[mode][data...]`.
///
/// * mode % 4 == 0: `data` is an RDB file, loaded whole and through a reader
///   that trickles it in small reads (the outcomes must be identical);
/// * 1: `data` is a RESTORE payload, checked as given (version + CRC);
/// * 2 and 3: `data` is a payload body; the version and CRC footer are
///   appended so the value decoder itself is exercised, under the default
///   and under small encoding thresholds.
///
/// Every value that loads must survive a DUMP/RESTORE round trip.
pub fn rdb(data: &[u8]) {
    let [mode, data @ ..] = data else {
        return;
    };
    match mode % 4 {
        0 => {
            let limits = if mode & 0x10 != 0 {
                small_limits()
            } else {
                LoadLimits::default()
            };
            let whole = load_rdb(&mut &data[..], &limits);
            let step = 1 + (*mode as usize >> 5) * 37;
            let trickled = load_rdb(&mut Trickle { data, step }, &limits);
            assert_eq!(whole, trickled, "trickled load differs");
        }
        1 => {
            if let Ok(v) = rdb::decode_dump(data, &LoadLimits::default()) {
                check_value(&v, &LoadLimits::default());
            }
        }
        m => {
            let limits = if m == 3 {
                small_limits()
            } else {
                LoadLimits::default()
            };
            let mut payload = data.to_vec();
            payload.extend_from_slice(&(rdb::RDB_VERSION_MAX as u16).to_le_bytes());
            let crc = rdb::crc64::crc64(&payload);
            payload.extend_from_slice(&crc.to_le_bytes());
            let body = rdb::verify_dump(&payload, false).expect("fixed-up footer verifies");
            assert_eq!(body, data);
            if let Ok(v) = rdb::decode_dump_value(body, &limits) {
                check_value(&v, &limits);
            }
        }
    }
}

// ---------------------------------------------------------------- AOF

/// Records the commands an AOF replays instead of running them.
#[derive(Default, Debug, PartialEq, Eq)]
struct Recorder {
    commands: Vec<Vec<Vec<u8>>>,
    discarded: usize,
}

impl Run for Recorder {
    fn run(&mut self, args: Args<'_>) -> Result<(), String> {
        assert!(!args.is_empty());
        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        // A command name the server does not know stops the load (as
        // Replayer does for an unknown command).
        if argv[0].eq_ignore_ascii_case(b"unknowncommand") {
            return Err("Unknown command".into());
        }
        self.commands.push(argv);
        Ok(())
    }
    fn discard(&mut self) {
        self.discarded += 1;
    }
}

/// The outcome of a replay, comparable across reader sizes.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ok { commands: u64, valid_up_to: u64 },
    Truncated(u64),
    Format(u64, String),
}

fn replay_aof(data: &[u8], buf_cap: usize) -> (Outcome, Recorder) {
    let mut rec = Recorder::default();
    let mut input = std::io::BufReader::with_capacity(buf_cap, data);
    let outcome = match replay(&mut rec, &mut input) {
        Ok(l) => {
            assert_eq!(l.commands, rec.commands.len() as u64);
            assert_eq!(l.valid_up_to, data.len() as u64);
            Outcome::Ok {
                commands: l.commands,
                valid_up_to: l.valid_up_to,
            }
        }
        Err(LoadError::Truncated { valid_up_to }) => Outcome::Truncated(valid_up_to),
        Err(LoadError::Format { offset, why }) => Outcome::Format(offset, why),
        Err(LoadError::Io(e)) => panic!("I/O error reading memory: {e}"),
    };
    match &outcome {
        Outcome::Truncated(at) | Outcome::Format(at, _) => assert!(*at <= data.len() as u64),
        Outcome::Ok { .. } => {}
    }
    // Every argument came from the file.
    let total: usize = rec.commands.iter().flatten().map(|a| a.len()).sum();
    assert!(total <= data.len());
    (outcome, rec)
}

/// Fuzz target `aof`: `[mode][data...]`.
///
/// * mode even: `data` is an AOF command file, replayed into a recorder
///   through a large and a tiny read buffer (same outcome, same commands;
///   offsets within the file; arguments no bigger than the file);
/// * mode odd: `data` is a manifest; one that parses must print back to
///   text that parses to the same manifest.
pub fn aof(data: &[u8]) {
    let [mode, data @ ..] = data else {
        return;
    };
    if mode % 2 == 0 {
        let big = replay_aof(data, 1 << 16);
        let small = replay_aof(data, 1 + (*mode as usize >> 1) % 17);
        assert_eq!(big, small, "replay depends on the read size");
    } else {
        let text = String::from_utf8_lossy(data);
        if let Ok(m) = Manifest::parse(&text) {
            let again = Manifest::parse(&m.to_text());
            assert_eq!(again.as_ref(), Ok(&m), "manifest text does not round-trip");
        }
    }
}
