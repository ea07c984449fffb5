//! Round trips through the writer and loader, hand-built legacy encodings,
//! corrupt-input fuzzing, and (with a real redis-server / CI=true) files
//! produced by Redis and checked by `redis-check-rdb`.

use super::*;
use crate::types::list::{List, NodeLimit};
use crate::types::{Limits, SetLimits};

fn limits() -> LoadLimits {
    LoadLimits::default()
}

fn list(items: &[Vec<u8>]) -> Value {
    let l = List::from_iter(items.iter().map(|v| v.as_slice()), NodeLimit::from_fill(-2));
    Value::List(Box::new(l))
}

fn hash(pairs: &[(Vec<u8>, Vec<u8>)]) -> Value {
    let mut h = Hash::default();
    for (f, v) in pairs {
        h.set(f, v, Limits::default());
    }
    Value::Hash(h)
}

fn set(members: &[Vec<u8>]) -> Value {
    let lim = SetLimits::default();
    let mut s = Set::create(&members[0], members.len(), lim);
    for m in members {
        s.add(m, lim);
    }
    Value::Set(Box::new(s))
}

fn zset(members: &[(Vec<u8>, f64)]) -> Value {
    let lim = Limits::default();
    let mut z = ZSet::with_hint(members.len(), members[0].0.len(), lim);
    for (m, s) in members {
        z.insert(m, *s, lim);
    }
    Value::ZSet(Box::new(z))
}

fn b(s: impl AsRef<[u8]>) -> Vec<u8> {
    s.as_ref().to_vec()
}

/// A stream of `n` entries (deleting every seventh), with a group whose
/// consumers hold some entries when `groups`.
fn stream(n: u64, groups: bool) -> Value {
    use crate::types::stream::{Group, NodeLimits, StreamId};
    let mut s = crate::types::Stream::new();
    for i in 0..n {
        let id = StreamId::new(1000 + i / 3, i % 3);
        let v = i.to_string();
        let pairs: Vec<&[u8]> = if i % 5 == 4 {
            vec![b"other", v.as_bytes()]
        } else {
            vec![b"f", v.as_bytes(), b"g", b"text value"]
        };
        s.append(id, &pairs, NodeLimits::default());
    }
    for i in (0..n).step_by(7) {
        let id = StreamId::new(1000 + i / 3, i % 3);
        if s.delete(id) {
            s.max_deleted = s.max_deleted.max(id);
        }
    }
    s.refresh_first();
    if groups {
        let mut g = Group::new(StreamId::new(1001, 0), 4);
        g.consumer(b"alice", 5_000);
        g.consumer(b"idle", 6_000);
        g.deliver(StreamId::new(1000, 1), b"alice", 7_000);
        g.deliver(StreamId::new(1000, 2), b"alice", 7_001);
        s.groups.insert(b("g1").into(), g);
        s.groups
            .insert(b("empty").into(), Group::new(StreamId::MIN, -1));
    }
    Value::Stream(Box::new(s))
}

/// One value of every type in every encoding, with edge cases.
pub(super) fn samples() -> Vec<(&'static str, Value)> {
    let n = |k: usize| (0..k).map(|i| b(format!("e{i}"))).collect::<Vec<_>>();
    let ints = |k: i64| {
        (0..k)
            .map(|i| b((i * 7 - 50).to_string()))
            .collect::<Vec<_>>()
    };
    let mut noise = Vec::new();
    let mut x = 0x1234_5678u64;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push(x as u8);
    }
    vec![
        ("s_empty", Value::Str(Str::Bytes(Vec::new()))),
        ("s_small", Value::Str(Str::Bytes(b("hello")))),
        ("s_int", Value::Str(Str::Int(12345))),
        ("s_negint", Value::Str(Str::Int(-7))),
        ("s_bigint", Value::Str(Str::Int(i64::MIN))),
        ("s_intlike", Value::Str(Str::Bytes(b("0012")))),
        ("s_lzf", Value::Str(Str::Bytes(b("ab".repeat(500))))),
        ("s_raw", Value::Str(Str::Raw(noise.clone()))),
        (
            "l_small",
            list(&[b("a"), b("1"), b("-300"), b("x".repeat(100))]),
        ),
        ("l_big", list(&n(5000))),
        ("l_longelem", list(&[b("y".repeat(20000)), b("z")])),
        (
            "h_small",
            hash(&[(b("f"), b("v")), (b("1"), b("2")), (b(""), b(""))]),
        ),
        (
            "h_big",
            hash(&n(300).into_iter().zip(ints(300)).collect::<Vec<_>>()),
        ),
        ("h_longval", hash(&[(b("f"), b("v".repeat(100)))])),
        ("set_ints", set(&ints(20))),
        (
            "set_ints_wide",
            set(&[b(i64::MIN.to_string()), b("0"), b(i64::MAX.to_string())]),
        ),
        ("set_ints_big", set(&ints(600))),
        ("set_small", set(&[b("a"), b("b"), b("3")])),
        ("set_big", set(&n(400))),
        (
            "z_small",
            zset(&[
                (b("a"), 1.0),
                (b("b"), -2.5),
                (b("c"), f64::INFINITY),
                (b("d"), f64::NEG_INFINITY),
                (b("e"), 0.1),
                (b("f"), -0.0),
                (b("g"), 1e300),
                (b("h"), 12345678901234567890.0),
            ]),
        ),
        (
            "z_big",
            zset(
                &n(300)
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| (m, i as f64 / 3.0))
                    .collect::<Vec<_>>(),
            ),
        ),
        ("z_longmember", zset(&[(b("m".repeat(100)), 1.0)])),
        ("x_small", stream(6, true)),
        ("x_empty", stream(0, true)),
        ("x_big", stream(700, false)),
    ]
}

/// Equal content and the same encoding.
pub(super) fn same(a: &Value, b: &Value) -> bool {
    let content = match (a, b) {
        (Value::List(x), Value::List(y)) => x.iter().eq(y.iter()),
        (Value::Str(x), Value::Str(y)) => x.to_vec() == y.to_vec(),
        (Value::ZSet(x), Value::ZSet(y)) => {
            // Bit-compare scores so -0.0 and 0.0 differ.
            let (x, y) = (x.to_vec(), y.to_vec());
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits())
        }
        // Type 19 has no consumer active times: a loaded consumer's is its
        // seen time, as when Redis 7.2 loads a 7.0 file.
        (Value::Stream(x), Value::Stream(y)) => {
            let mut x = x.clone();
            for g in x.groups.values_mut() {
                for c in g.consumers.values_mut() {
                    c.active_time = c.seen_time as i64;
                }
            }
            *x == **y
        }
        _ => a == b,
    };
    content && a.encoding() == b.encoding()
}

fn file(values: &[(&str, Value)], checksum: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(
        &mut out,
        &[
            ("redis-ver", Aux::Str(b"7.2.4")),
            ("redis-bits", Aux::Int(64)),
            ("ctime", Aux::Int(1_700_000_000)),
            ("used-mem", Aux::Int(1 << 20)),
            ("aof-base", Aux::Int(0)),
        ],
    );
    write_select_db(&mut out, 0);
    write_resize_db(&mut out, values.len() as u64, 1);
    for (i, (k, v)) in values.iter().enumerate() {
        let expire = if i == 1 { 4_000_000_000_000 } else { 0 };
        write_entry(&mut out, k.as_bytes(), v, expire, true);
    }
    write_select_db(&mut out, 3);
    write_idle(&mut out, 77);
    write_entry(&mut out, b"in3", &Value::Str(Str::Int(3)), 0, false);
    write_freq(&mut out, 9);
    write_entry(&mut out, b"in3b", &Value::Str(Str::Int(4)), 0, false);
    let mut crc = Crc64::new();
    crc.update(&out);
    write_eof(&mut out, &mut crc, checksum);
    out
}

fn load_all(bytes: &[u8]) -> Result<(LoadInfo, Vec<Loaded>), RdbError> {
    let mut got = Vec::new();
    let mut input = bytes;
    let info = load(&mut input, &limits(), &mut |l| {
        got.push(l);
        Ok(())
    })?;
    Ok((info, got))
}

#[test]
fn file_round_trip() {
    let values = samples();
    for checksum in [true, false] {
        let bytes = file(&values, checksum);
        assert_eq!(&bytes[..9], b"REDIS0010");
        let (info, got) = load_all(&bytes).unwrap();
        assert_eq!(info.version, 10);
        assert_eq!(info.keys as usize, values.len() + 2);
        assert_eq!(info.aux[0], (b("redis-ver"), b("7.2.4")));
        assert_eq!(info.aux[1], (b("redis-bits"), b("64")));
        for (i, ((k, v), l)) in values.iter().zip(&got).enumerate() {
            assert_eq!(&*l.key, k.as_bytes());
            assert_eq!(l.db, 0);
            assert!(
                same(v, &l.value),
                "{k}: {:?} vs {:?}",
                v.encoding(),
                l.value.encoding()
            );
            assert_eq!(l.expire_ms, if i == 1 { 4_000_000_000_000 } else { 0 });
            assert_eq!((l.idle, l.freq), (None, None));
        }
        let tail = &got[values.len()..];
        assert_eq!(
            (tail[0].db, tail[0].idle, tail[0].freq),
            (3, Some(77), None)
        );
        assert_eq!((tail[1].db, tail[1].idle, tail[1].freq), (3, None, Some(9)));
    }
    // A flipped byte anywhere in a checksummed file is caught.
    let bytes = file(&values, true);
    for at in [20, bytes.len() / 2, bytes.len() - 12] {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        assert!(load_all(&bad).is_err(), "flip at {at}");
    }
    // The sink's error stops the load.
    let mut input = &bytes[..];
    let e = load(&mut input, &limits(), &mut |_| {
        Err(RdbError("no room".into()))
    })
    .unwrap_err();
    assert!(e.0.starts_with("no room"), "{e}");
}

#[test]
fn dump_round_trip_and_footer() {
    for (k, v) in samples() {
        let p = dump_payload(&v, true);
        let back = decode_dump(&p, &limits()).unwrap();
        assert!(same(&v, &back), "{k}");
        let n = p.len();
        assert_eq!(&p[n - 10..n - 8], &[10, 0]);
        let mut bad = p.clone();
        bad[0] ^= 0x80;
        assert!(decode_dump(&bad, &limits()).is_err());
        let mut newer = p[..n - 10].to_vec();
        newer.extend_from_slice(&12u16.to_le_bytes());
        let c = crc64::crc64(&newer);
        newer.extend_from_slice(&c.to_le_bytes());
        assert!(verify_dump(&newer, false).is_err());
    }
    // Known bytes: Redis 7.0's DUMP of SET k hello.
    let p = dump_payload(&Value::Str(Str::Bytes(b("hello"))), true);
    assert_eq!(&p[..8], &b"\x00\x05hello\x0a\x00"[..8]);
}

#[test]
fn encodings_follow_the_live_thresholds() {
    let mut lim = limits();
    lim.hash.max_entries = 2;
    lim.zset.max_entries = 2;
    lim.set.max_intset = 2;
    lim.set.max_entries = 2;
    lim.list_max_listpack_size = 2;
    let cases = [
        (
            hash(&[(b("a"), b("1")), (b("b"), b("2")), (b("c"), b("3"))]),
            "hashtable",
        ),
        (
            zset(&[(b("a"), 1.0), (b("b"), 2.0), (b("c"), 3.0)]),
            "skiplist",
        ),
        (set(&[b("1"), b("2"), b("3")]), "hashtable"),
        (list(&[b("1"), b("2"), b("3")]), "quicklist"),
    ];
    for (v, enc) in cases {
        let back = decode_dump(&dump_payload(&v, false), &lim).unwrap();
        assert_eq!(back.encoding(), enc);
        let default = decode_dump(&dump_payload(&v, false), &limits()).unwrap();
        assert!(same(&v, &default));
    }
}

/// A ziplist of `items` (test-only writer; Ember never writes ziplists).
fn ziplist(items: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let (mut prev, mut tail) = (0usize, 10usize);
    for it in items {
        let start = body.len();
        tail = 10 + start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(254);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match crate::protocol::parse_i64(it) {
            Some(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => body.extend_from_slice(&[0xFE, v as u8]),
            Some(v) if i16::try_from(v).is_ok() => {
                body.push(0xC0);
                body.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..1 << 23).contains(&v) => {
                body.push(0xF0);
                body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                body.push(0xD0);
                body.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                body.push(0xE0);
                body.extend_from_slice(&v.to_le_bytes());
            }
            None if it.len() < 64 => {
                body.push(it.len() as u8);
                body.extend_from_slice(it);
            }
            None if it.len() < 16384 => {
                body.extend_from_slice(&[0x40 | (it.len() >> 8) as u8, it.len() as u8]);
                body.extend_from_slice(it);
            }
            None => {
                body.push(0x80);
                body.extend_from_slice(&(it.len() as u32).to_be_bytes());
                body.extend_from_slice(it);
            }
        }
        prev = body.len() - start;
    }
    let mut zl = Vec::new();
    zl.extend_from_slice(&((11 + body.len()) as u32).to_le_bytes());
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xFF);
    zl
}

/// A DUMP payload of a raw type byte + body (any RDB version we read).
fn payload(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![ty];
    p.extend_from_slice(body);
    p.extend_from_slice(&11u16.to_le_bytes());
    let c = crc64::crc64(&p);
    p.extend_from_slice(&c.to_le_bytes());
    p
}

fn blob(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    write_string(&mut v, s, false);
    v
}

#[test]
fn legacy_and_rdb11_encodings() {
    let lim = limits();
    let long = "L".repeat(300);
    let items: [&[u8]; 8] = [
        b"a",
        b"7",
        b"-100",
        b"40000",
        b"5000000",
        b"3000000000",
        long.as_bytes(),
        b"",
    ];
    let want: Vec<Vec<u8>> = items.iter().map(|s| s.to_vec()).collect();
    // LIST_ZIPLIST
    let v = decode_dump(&payload(types::LIST_ZIPLIST, &blob(&ziplist(&items))), &lim).unwrap();
    assert!(same(&v, &list(&want)));
    // LIST_QUICKLIST of two ziplists
    let mut body = Vec::new();
    write_len(&mut body, 2);
    body.extend(blob(&ziplist(&items[..3])));
    body.extend(blob(&ziplist(&items[3..])));
    let v = decode_dump(&payload(types::LIST_QUICKLIST, &body), &lim).unwrap();
    assert!(same(&v, &list(&want)));
    // LIST_QUICKLIST_2 with a plain node between packed ones
    let mut body = Vec::new();
    write_len(&mut body, 3);
    let mut w = listpack::Writer::new();
    w.push(b"a");
    write_len(&mut body, 2);
    body.extend(blob(&w.finish()));
    write_len(&mut body, 1);
    body.extend(blob(b"plain"));
    let mut w = listpack::Writer::new();
    w.push(b"z");
    write_len(&mut body, 2);
    body.extend(blob(&w.finish()));
    let v = decode_dump(&payload(types::LIST_QUICKLIST_2, &body), &lim).unwrap();
    assert!(same(&v, &list(&[b("a"), b("plain"), b("z")])));
    // Plain LIST
    let mut body = Vec::new();
    write_len(&mut body, 2);
    body.extend(blob(b"x"));
    body.extend(blob(b"12"));
    let v = decode_dump(&payload(types::LIST, &body), &lim).unwrap();
    assert!(same(&v, &list(&[b("x"), b("12")])));
    // HASH_ZIPLIST, ZSET_ZIPLIST
    let v = decode_dump(
        &payload(
            types::HASH_ZIPLIST,
            &blob(&ziplist(&[b"f", b"1", b"g", b"v"])),
        ),
        &lim,
    )
    .unwrap();
    assert!(same(&v, &hash(&[(b("f"), b("1")), (b("g"), b("v"))])));
    let v = decode_dump(
        &payload(
            types::ZSET_ZIPLIST,
            &blob(&ziplist(&[b"one", b"1", b"two", b"2.5"])),
        ),
        &lim,
    )
    .unwrap();
    assert!(same(&v, &zset(&[(b("one"), 1.0), (b("two"), 2.5)])));
    // HASH_ZIPMAP
    let zm = [
        2, 1, b'a', 1, 0, b'x', 2, b'b', b'c', 3, 2, b'y', b'z', b'w', 0, 0, 0xFF,
    ];
    let v = decode_dump(&payload(types::HASH_ZIPMAP, &blob(&zm)), &lim).unwrap();
    assert!(same(&v, &hash(&[(b("a"), b("x")), (b("bc"), b("yzw"))])));
    // SET_LISTPACK (RDB 11)
    let mut w = listpack::Writer::new();
    for m in ["a", "5", "b"] {
        w.push(m.as_bytes());
    }
    let v = decode_dump(&payload(types::SET_LISTPACK, &blob(&w.finish())), &lim).unwrap();
    assert!(same(&v, &set(&[b("a"), b("5"), b("b")])));
    // ZSET with text scores, incl. nan (rejected) and the inf markers
    let mut body = Vec::new();
    write_len(&mut body, 3);
    body.extend(blob(b"a"));
    body.extend([3, b'1', b'.', b'5']);
    body.extend(blob(b"b"));
    body.push(254);
    body.extend(blob(b"c"));
    body.push(255);
    let v = decode_dump(&payload(types::ZSET, &body), &lim).unwrap();
    assert!(same(
        &v,
        &zset(&[
            (b("a"), 1.5),
            (b("b"), f64::INFINITY),
            (b("c"), f64::NEG_INFINITY)
        ])
    ));
    let mut body = Vec::new();
    write_len(&mut body, 1);
    body.extend(blob(b"a"));
    body.push(253);
    assert!(decode_dump(&payload(types::ZSET, &body), &lim)
        .unwrap_err()
        .0
        .contains("NaN"));
    // Duplicates are errors.
    let v = decode_dump(
        &payload(
            types::HASH_ZIPLIST,
            &blob(&ziplist(&[b"f", b"1", b"f", b"2"])),
        ),
        &lim,
    );
    assert!(v.unwrap_err().0.contains("duplicate"));
    let mut body = Vec::new();
    write_len(&mut body, 2);
    body.extend(blob(b"m"));
    body.extend(blob(b"m"));
    assert!(decode_dump(&payload(types::SET, &body), &lim).is_err());
    // Unsupported types say what they are.
    let mut body = Vec::new();
    write_len(&mut body, 0x1234_5678_9abc_def0);
    let e = decode_dump(&payload(types::MODULE_2, &body), &lim).unwrap_err();
    assert!(e.0.contains("module type"), "{e}");
    // A stream node whose entry declares an absurd field count.
    {
        use crate::types::stream::StreamId;
        let mut w = listpack::Writer::new();
        for v in [1, 0, 0, 0, 0, 0, 0, i64::MAX, 1, 0, 3] {
            w.push_int(v);
        }
        let mut body = Vec::new();
        write_len(&mut body, 1);
        write_string(&mut body, &StreamId::new(1, 0).to_be(), false);
        write_string(&mut body, &w.finish(), false);
        for n in [1, 1, 0, 1, 0, 0, 0, 0, 1, 0] {
            write_len(&mut body, n);
        }
        let e = decode_dump(&payload(types::STREAM_LISTPACKS_2, &body), &lim).unwrap_err();
        assert!(
            e.0.contains("Stream listpack integrity check failed"),
            "{e}"
        );
    }
    // A stream whose declared length its nodes do not hold.
    let mut body = Vec::new();
    write_len(&mut body, 0);
    write_len(&mut body, 3);
    let e = decode_dump(&payload(types::STREAM_LISTPACKS_3, &body), &lim).unwrap_err();
    assert!(e.0.contains("Stream length inconsistent"), "{e}");
    // Empty collections are errors in a payload.
    assert!(decode_dump(&payload(types::SET, &[0]), &lim).is_err());
}

#[test]
fn old_versions_and_opcodes() {
    // Version 4: no checksum, EXPIRETIME in seconds.
    let mut f = b"REDIS0004".to_vec();
    f.push(opcode::SELECTDB);
    f.push(2);
    f.push(opcode::EXPIRETIME);
    f.extend_from_slice(&2_000_000_000u32.to_le_bytes());
    f.push(types::STRING);
    f.extend(blob(b"k"));
    f.extend(blob(b"v"));
    f.push(opcode::EOF);
    let (info, got) = load_all(&f).unwrap();
    assert_eq!(info.version, 4);
    assert_eq!((got[0].db, got[0].expire_ms), (2, 2_000_000_000_000));
    // Function, module aux data: clear errors.
    for (op, word) in [
        (opcode::FUNCTION_PRE_GA, "function"),
        (opcode::MODULE_AUX, "module"),
    ] {
        let mut f = b"REDIS0010".to_vec();
        f.push(op);
        f.extend([0u8; 16]);
        let e = load_all(&f).unwrap_err();
        assert!(e.0.contains(word), "{e}");
    }
    assert!(load_all(b"REDIS0012\xff")
        .unwrap_err()
        .0
        .contains("version"));
    assert!(load_all(b"RADIS0010\xff").is_err());
    assert!(load_all(b"").is_err());
    // An empty collection in a file is skipped.
    let mut f = b"REDIS0010".to_vec();
    f.push(types::SET);
    f.extend(blob(b"empty"));
    f.push(0);
    f.push(opcode::EOF);
    f.extend([0u8; 8]);
    let (info, got) = load_all(&f).unwrap();
    assert_eq!((info.keys, got.len()), (0, 0));
}

/// xorshift for the fuzz loops.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fuzz_corrupt_and_truncated_input_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let small: Vec<(&str, Value)> = samples()
        .into_iter()
        .filter(|(k, _)| !k.ends_with("big") && *k != "l_longelem")
        .collect();
    let good = file(&small, true);
    // Every truncation is an error.
    for cut in 0..good.len() {
        assert!(load_all(&good[..cut]).is_err(), "cut at {cut}");
    }
    let unchecked = file(&small, false);
    // EMBER_FUZZ_ITERS=<n> runs a longer campaign.
    let iters: usize = std::env::var("EMBER_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for _ in 0..iters {
        // Mutations of a file without checksum reach the value parsers.
        let mut bad = unchecked.clone();
        for _ in 0..1 + rng.below(4) {
            let at = 9 + rng.below(bad.len() - 9);
            bad[at] = rng.next() as u8;
        }
        let _ = load_all(&bad);
        // Random bytes after a valid header.
        let mut junk = b"REDIS0010".to_vec();
        for _ in 0..rng.below(200) {
            junk.push(rng.next() as u8);
        }
        let _ = load_all(&junk);
    }
    // Payload bodies, mutated and truncated.
    for (_, v) in &small {
        let p = dump_payload(v, true);
        let body = &p[..p.len() - 10];
        for cut in 0..body.len() {
            assert!(decode_dump_value(&body[..cut], &limits()).is_err() || cut > 0);
        }
        for _ in 0..(iters / 10).max(300) {
            let mut bad = body.to_vec();
            let at = rng.below(bad.len());
            bad[at] = rng.next() as u8;
            let _ = decode_dump_value(&bad, &limits());
        }
    }
    // Legacy blobs (ziplists, zipmaps, intsets) under their value types.
    let zl = ziplist(&[b"a", b"1", b"bb", b"-70000", b"c", b"5000000000"]);
    let zm = [
        2, 1, b'a', 1, 0, b'x', 2, b'b', b'c', 3, 2, b'y', b'z', b'w', 0, 0, 0xFF,
    ];
    let is = intset::write(&[-5, 3, 70000]);
    for (ty, raw) in [
        (types::LIST_ZIPLIST, &zl[..]),
        (types::HASH_ZIPLIST, &zl[..]),
        (types::ZSET_ZIPLIST, &zl[..]),
        (types::HASH_ZIPMAP, &zm[..]),
        (types::SET_INTSET, &is[..]),
    ] {
        let mut body = vec![ty];
        body.extend(blob(raw));
        assert!(decode_dump_value(&body, &limits()).is_ok(), "type {ty}");
        for _ in 0..(iters / 10).max(300) {
            let mut bad = body.clone();
            for _ in 0..1 + rng.below(3) {
                let at = 1 + rng.below(bad.len() - 1);
                bad[at] = rng.next() as u8;
            }
            let _ = decode_dump_value(&bad, &limits());
        }
    }
    // Huge declared lengths allocate nothing and fail at end of input.
    for body in [
        &[
            types::STRING,
            0x81,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
        ][..],
        &[
            types::LIST,
            0x81,
            0x7f,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
            b'a',
        ],
        &[types::SET, 0x80, 0xff, 0xff, 0xff, 0xff, 0x01, b'a'],
        &[
            types::HASH,
            0x80,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
            b'a',
            0x01,
            b'b',
        ],
        &[
            types::STRING,
            0xC3,
            0x01,
            0x80,
            0xff,
            0xff,
            0xff,
            0xff,
            0x00,
        ],
    ] {
        assert!(decode_dump_value(body, &limits()).is_err());
    }
}

/// Against the real tools: a redis-server on a free port (and
/// `redis-check-rdb`), required under CI=true, skipped otherwise when absent.
mod with_redis {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    fn have(tool: &str) -> bool {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{tool} is required when CI=true"
            );
            eprintln!("note: {tool} not found; skipping");
        }
        found
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ember-rdb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    struct Redis(Child, u16);

    impl Drop for Redis {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start(dir: &Path, dbfilename: &str, extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.to_str().expect("utf-8 path"),
            "--dbfilename",
            dbfilename,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let r = Redis(child, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    fn conn(r: &Redis) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", r.1))
            .and_then(|c| c.get_connection())
            .expect("connects")
    }

    fn run(c: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
        let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(c).expect("command")
    }

    fn strings(v: redis::Value) -> Vec<Vec<u8>> {
        redis::from_redis_value(v).expect("strings")
    }

    fn lossy(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// A value in an order-independent text form.
    fn canon(v: &Value) -> String {
        match v {
            Value::Str(s) => format!("string:{}", lossy(&s.to_vec())),
            Value::List(l) => format!("list:{}", l.iter().map(lossy).collect::<Vec<_>>().join(",")),
            Value::Hash(h) => {
                let mut p: Vec<String> = h
                    .iter()
                    .map(|(f, v)| format!("{}={}", lossy(f), lossy(v)))
                    .collect();
                p.sort();
                format!("hash:{}", p.join(","))
            }
            Value::Set(s) => {
                let mut m: Vec<String> = s.to_vec().iter().map(|m| lossy(m)).collect();
                m.sort();
                format!("set:{}", m.join(","))
            }
            Value::ZSet(z) => format!(
                "zset:{}",
                z.to_vec()
                    .iter()
                    .map(|(m, s)| format!("{}={s:?}", lossy(m)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Value::Stream(s) => {
                use crate::types::stream::StreamId;
                let mut e = Vec::new();
                s.range(StreamId::MIN, StreamId::MAX, false, |x| {
                    let mut t = x.id.to_vec();
                    x.for_each(|f, v| {
                        t.push(b' ');
                        t.extend(f.to_vec());
                        t.push(b'=');
                        t.extend(v.to_vec());
                    });
                    e.push(lossy(&t));
                    true
                });
                format!("stream:{}", e.join(","))
            }
        }
    }

    /// The same form read from a server.
    fn canon_remote(c: &mut redis::Connection, key: &[u8]) -> String {
        let t: String = redis::from_redis_value(run(c, &[b"TYPE", key])).expect("type");
        let body: Vec<String> = match t.as_str() {
            "string" => strings(run(c, &[b"GET", key]))
                .iter()
                .map(|b| lossy(b))
                .collect(),
            "list" => strings(run(c, &[b"LRANGE", key, b"0", b"-1"]))
                .iter()
                .map(|b| lossy(b))
                .collect(),
            "hash" => {
                let flat = strings(run(c, &[b"HGETALL", key]));
                let mut p: Vec<String> = flat
                    .chunks(2)
                    .map(|p| format!("{}={}", lossy(&p[0]), lossy(&p[1])))
                    .collect();
                p.sort();
                p
            }
            "set" => {
                let mut m: Vec<String> = strings(run(c, &[b"SMEMBERS", key]))
                    .iter()
                    .map(|b| lossy(b))
                    .collect();
                m.sort();
                m
            }
            "zset" => strings(run(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]))
                .chunks(2)
                .map(|p| {
                    format!(
                        "{}={:?}",
                        lossy(&p[0]),
                        lossy(&p[1]).parse::<f64>().expect("score")
                    )
                })
                .collect(),
            "stream" => {
                let v: Vec<(String, Vec<Vec<u8>>)> =
                    redis::from_redis_value(run(c, &[b"XRANGE", key, b"-", b"+"])).expect("xrange");
                v.iter()
                    .map(|(id, fv)| {
                        let mut t = id.clone();
                        for p in fv.chunks(2) {
                            t.push_str(&format!(" {}={}", lossy(&p[0]), lossy(&p[1])));
                        }
                        t
                    })
                    .collect()
            }
            other => panic!("type {other}"),
        };
        format!("{t}:{}", body.join(","))
    }

    /// Commands building every type in small and big encodings.
    fn populate(c: &mut redis::Connection) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        let mut exec = |args: Vec<Vec<u8>>| {
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            run(c, &refs);
            keys.push(args[1].clone());
        };
        let s = |x: &str| x.as_bytes().to_vec();
        exec(vec![s("SET"), s("str"), s("hello")]);
        exec(vec![s("SET"), s("int"), s("-12345")]);
        exec(vec![s("SET"), s("bigint"), s("9223372036854775807")]);
        exec(vec![s("SET"), s("lzf"), b"xyz".repeat(300)]);
        exec(vec![
            s("RPUSH"),
            s("list"),
            s("a"),
            s("1"),
            s("-70000"),
            s(""),
        ]);
        let mut big = vec![s("RPUSH"), s("biglist")];
        big.extend((0..4000).map(|i| format!("element {i}").into_bytes()));
        exec(big);
        exec(vec![s("HSET"), s("hash"), s("f"), s("v"), s("n"), s("5")]);
        let mut big = vec![s("HSET"), s("bighash")];
        big.extend(
            (0..300).flat_map(|i| [format!("f{i}").into_bytes(), format!("{i}").into_bytes()]),
        );
        exec(big);
        exec(vec![s("SADD"), s("intset"), s("3"), s("-1"), s("70000")]);
        exec(vec![s("SADD"), s("set"), s("a"), s("b")]);
        let mut big = vec![s("SADD"), s("bigset")];
        big.extend((0..600).map(|i| format!("{}", i * 3).into_bytes()));
        exec(big);
        exec(vec![
            s("ZADD"),
            s("zset"),
            s("1"),
            s("a"),
            s("0.1"),
            s("b"),
            s("-inf"),
            s("c"),
        ]);
        let mut big = vec![s("ZADD"), s("bigzset")];
        big.extend((0..300).flat_map(|i| {
            [
                format!("{}", i as f64 * 1.5).into_bytes(),
                format!("m{i}").into_bytes(),
            ]
        }));
        exec(big);
        keys
    }

    #[test]
    fn loads_an_rdb_file_written_by_redis() {
        if !have("redis-server") {
            return;
        }
        let dir = tempdir("from-redis");
        let r = start(
            &dir,
            "dump.rdb",
            &[
                "--list-compress-depth",
                "1",
                "--maxmemory-policy",
                "allkeys-lru",
            ],
        );
        let mut c = conn(&r);
        let keys = populate(&mut c);
        run(&mut c, &[b"PEXPIREAT", b"str", b"4000000000000"]);
        run(&mut c, &[b"SELECT", b"2"]);
        run(&mut c, &[b"SET", b"in2", b"x"]);
        run(&mut c, &[b"SELECT", b"0"]);
        let want: Vec<(Vec<u8>, String)> = keys
            .iter()
            .map(|k| (k.clone(), canon_remote(&mut c, k)))
            .collect();
        run(&mut c, &[b"SAVE"]);
        let bytes = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
        let (info, got) = load_all(&bytes).expect("loads");
        assert!(info.aux.iter().any(|(k, _)| k == b"redis-ver"));
        assert_eq!(got.len(), keys.len() + 1);
        for (k, canon_want) in &want {
            let l = got
                .iter()
                .find(|l| &*l.key == k.as_slice())
                .expect("key loaded");
            assert_eq!(&canon(&l.value), canon_want, "{}", lossy(k));
            assert_eq!(l.db, 0);
            assert!(l.idle.is_some(), "IDLE written under allkeys-lru");
        }
        let enc = |k: &str| {
            got.iter()
                .find(|l| &*l.key == k.as_bytes())
                .map(|l| l.value.encoding())
        };
        for (k, e) in [
            ("str", "embstr"),
            ("int", "int"),
            ("lzf", "raw"),
            ("list", "listpack"),
            ("biglist", "quicklist"),
            ("hash", "listpack"),
            ("bighash", "hashtable"),
            ("intset", "intset"),
            ("set", "listpack"),
            ("bigset", "hashtable"),
            ("zset", "listpack"),
            ("bigzset", "skiplist"),
        ] {
            assert_eq!(enc(k), Some(e), "{k}");
        }
        let str_key = got.iter().find(|l| &*l.key == b"str").expect("str");
        assert_eq!(str_key.expire_ms, 4_000_000_000_000);
        let in2 = got.iter().find(|l| &*l.key == b"in2").expect("in2");
        assert_eq!(in2.db, 2);
        // Under an LFU policy Redis writes FREQ instead of IDLE.
        run(
            &mut c,
            &[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"],
        );
        run(&mut c, &[b"SAVE"]);
        let bytes = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
        let (_, got) = load_all(&bytes).expect("loads");
        assert!(got.iter().all(|l| l.freq.is_some() && l.idle.is_none()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn redis_loads_and_checks_our_file() {
        if !have("redis-server") || !have("redis-check-rdb") {
            return;
        }
        let dir = tempdir("to-redis");
        let values = samples();
        std::fs::write(dir.join("ours.rdb"), file(&values, true)).expect("write");
        let out = Command::new("redis-check-rdb")
            .arg(dir.join("ours.rdb"))
            .output()
            .expect("redis-check-rdb runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "{text}"
        );
        // A real server loads it, checking every embedded encoding deeply.
        let r = start(&dir, "ours.rdb", &["--sanitize-dump-payload", "yes"]);
        let mut c = conn(&r);
        for (k, v) in &values {
            assert_eq!(canon_remote(&mut c, k.as_bytes()), canon(v), "{k}");
        }
        let pttl: i64 =
            redis::from_redis_value(run(&mut c, &[b"PTTL", values[1].0.as_bytes()])).expect("pttl");
        assert!(pttl > 0);
        run(&mut c, &[b"SELECT", b"3"]);
        assert_eq!(canon_remote(&mut c, b"in3"), "string:3");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
