//! Bitmap commands through the `redis` crate; expected values checked against
//! a real redis-server.

mod common;
use common::{err, q, TestServer};

#[test]
fn setbit_getbit() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "10", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "10", "1"]), 1);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "b"]), vec![0x00, 0x20]);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "10"]), 1);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "11"]), 0);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "99999"]), 0);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "nope", "5"]), 0);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "b"]), "raw");
    assert_eq!(
        err(&mut c, &["SETBIT", "b", "-1", "1"]),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SETBIT", "b", "4294967296", "1"]),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SETBIT", "b", "1", "2"]),
        "ERR bit is not an integer or out of range"
    );
}

#[test]
fn bitcount_and_bitpos() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "s", "foobar"]);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s"]), 26);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "1", "1"]), 6);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "5", "30", "BIT"]), 17);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "-5", "-1", "BIT"]), 2);
    assert_eq!(
        q::<i64>(&mut c, &["BITCOUNT", "nope", "a", "b"]),
        0,
        "missing key before parsing"
    );
    assert_eq!(
        err(&mut c, &["BITCOUNT", "s", "a", "b"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(err(&mut c, &["BITCOUNT", "s", "1"]), "ERR syntax error");
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "-1", "-5", "X"]), 0);
    assert_eq!(
        err(&mut c, &["BITCOUNT", "s", "-5", "-1", "X"]),
        "ERR syntax error"
    );
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "s", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "s", "0"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "s", "1", "2", "-1", "BIT"]), 2);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nope", "1"]), -1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nope", "0"]), 0);
    assert_eq!(
        err(&mut c, &["BITPOS", "s", "2"]),
        "ERR The bit argument must be 1 or 0."
    );
    for i in 0..8 {
        q::<i64>(&mut c, &["SETBIT", "w", &i.to_string(), "1"]);
    }
    // All ones: a clear bit is found just past the end, unless the end was given.
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "w", "0"]), 8);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "w", "0", "0"]), 8);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "w", "0", "0", "-1"]), -1);
}

#[test]
fn bitop() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "{b}x", "foobar"]);
    q::<()>(&mut c, &["SET", "{b}y", "abcdef"]);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "AND", "{b}d", "{b}x", "{b}y"]),
        6
    );
    assert_eq!(q::<String>(&mut c, &["GET", "{b}d"]), "`bc`ab");
    assert_eq!(q::<i64>(&mut c, &["BITOP", "OR", "d2", "{b}x", "nope"]), 6);
    assert_eq!(q::<String>(&mut c, &["GET", "d2"]), "foobar");
    assert_eq!(q::<i64>(&mut c, &["BITOP", "XOR", "d3", "{b}x", "{b}x"]), 6);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "d3"]), vec![0; 6]);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "NOT", "d4", "{b}x"]), 6);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "d4"])[0], !b'f');
    // An empty result deletes the destination.
    assert_eq!(q::<i64>(&mut c, &["BITOP", "OR", "d2", "nope"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d2"]), 0);
    assert_eq!(
        err(&mut c, &["BITOP", "NOT", "d", "{b}x", "{b}y"]),
        "ERR BITOP NOT must be called with a single source key."
    );
    assert_eq!(
        err(&mut c, &["BITOP", "NAND", "d", "{b}x"]),
        "ERR syntax error"
    );
}

#[test]
fn bitfield_overflow_modes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v: Vec<Option<i64>> = q(
        &mut c,
        &["BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0"],
    );
    assert_eq!(v, vec![Some(0), Some(100)]);
    let v: Vec<Option<i64>> = q(&mut c, &["BITFIELD", "bf", "INCRBY", "i8", "0", "100"]);
    assert_eq!(v, vec![Some(-56)], "WRAP is the default");
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100",
        ],
    );
    assert_eq!(v, vec![Some(-128)]);
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1",
        ],
    );
    assert_eq!(v, vec![None]);
    let v: Vec<Option<i64>> = q(
        &mut c,
        &["BITFIELD", "bf", "SET", "u4", "#2", "15", "GET", "u4", "8"],
    );
    assert_eq!(v, vec![Some(0), Some(15)], "#2 is the third 4-bit field");
    let v: Vec<Option<i64>> = q(
        &mut c,
        &["BITFIELD", "bf", "SET", "i64", "0", "-1", "GET", "u63", "0"],
    );
    assert_eq!(v[1], Some(i64::MAX));
    let v: Vec<Option<i64>> = q(&mut c, &["BITFIELD_RO", "bf", "GET", "i8", "0"]);
    assert_eq!(v, vec![Some(-1)]);
    let v: Vec<Option<i64>> = q(&mut c, &["BITFIELD", "nope", "GET", "u16", "100"]);
    assert_eq!(v, vec![Some(0)]);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "nope"]),
        0,
        "GET alone creates nothing"
    );
    assert_eq!(
        err(&mut c, &["BITFIELD", "bf", "GET", "u64", "0"]),
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    );
    assert_eq!(
        err(&mut c, &["BITFIELD", "bf", "GET", "i8", "-1"]),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["BITFIELD", "bf", "OVERFLOW", "FOO"]),
        "ERR Invalid OVERFLOW type specified"
    );
    assert_eq!(err(&mut c, &["BITFIELD", "bf", "FOO"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["BITFIELD_RO", "bf", "SET", "i8", "0", "1"]),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
}
