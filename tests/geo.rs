//! Geo commands through the `redis` crate. The expected values are Redis's
//! (its documentation's Sicily examples, checked against redis-server); the
//! side-by-side corpus is `tests/compare.rs::geo_matches_real_redis_byte_for_byte`.

mod common;
use common::{err, q, TestServer};

fn sicily(c: &mut redis::Connection) {
    let n: i64 = q(
        c,
        &[
            "GEOADD",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
    );
    assert_eq!(n, 2);
}

#[test]
fn positions_distances_and_hashes() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    assert_eq!(q::<String>(&mut c, &["TYPE", "Sicily"]), "zset");
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "Sicily", "Palermo"]),
        "3479099956230698"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania"]),
        "166274.1516"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "km"]),
        "166.2742"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "MI"]),
        "103.3182"
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["GEODIST", "Sicily", "Palermo", "Nowhere"]),
        None
    );
    let pos: Vec<Option<Vec<String>>> = q(&mut c, &["GEOPOS", "Sicily", "Palermo", "Nowhere"]);
    assert_eq!(
        pos,
        [
            Some(vec![
                "13.36138933897018433".to_string(),
                "38.11555639549629859".to_string()
            ]),
            None
        ]
    );
    let hashes: Vec<Option<String>> = q(&mut c, &["GEOHASH", "Sicily", "Palermo", "Catania", "x"]);
    assert_eq!(
        hashes,
        [Some("sqc8b49rny0".into()), Some("sqdtr74hyu0".into()), None]
    );
    // A missing key: nulls, not an error.
    let pos: Vec<Option<Vec<String>>> = q(&mut c, &["GEOPOS", "nokey", "a"]);
    assert_eq!(pos, [None]);
}

#[test]
fn radius_and_box_searches() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    let r: Vec<(String, String)> = q(
        &mut c,
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "WITHDIST",
            "ASC",
        ],
    );
    assert_eq!(
        r,
        [
            ("Catania".into(), "56.4413".into()),
            ("Palermo".into(), "190.4424".into())
        ]
    );
    let r: Vec<String> = q(&mut c, &["GEORADIUS", "Sicily", "15", "37", "100", "km"]);
    assert_eq!(r, ["Catania"]);
    let r: Vec<String> = q(
        &mut c,
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "DESC",
        ],
    );
    assert_eq!(r, ["Palermo", "Catania"]);
    let r: Vec<String> = q(
        &mut c,
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "COUNT",
            "1",
        ],
    );
    assert_eq!(r, ["Palermo"]);
    let r: Vec<(String, i64, (String, String))> = q(
        &mut c,
        &[
            "GEORADIUSBYMEMBER",
            "Sicily",
            "Catania",
            "1",
            "m",
            "WITHHASH",
            "WITHCOORD",
        ],
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, 3479447370796909);
    assert_eq!(r[0].2 .0, "15.08726745843887329");
    // Stored results: geohash scores, or distances with STOREDIST.
    let n: i64 = q(
        &mut c,
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST",
        ],
    );
    assert_eq!(n, 2);
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "dst", "Catania"]),
        "56.4412578701582"
    );
    let n: i64 = q(
        &mut c,
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "dst2",
        ],
    );
    assert_eq!(n, 2);
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "dst2", "Palermo"]),
        "3479099956230698"
    );
    // Nothing found (or no source) deletes the destination.
    let n: i64 = q(
        &mut c,
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "0",
            "0",
            "BYRADIUS",
            "1",
            "m",
        ],
    );
    assert_eq!(n, 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    let n: i64 = q(
        &mut c,
        &[
            "GEOSEARCHSTORE",
            "dst2",
            "nokey",
            "FROMLONLAT",
            "0",
            "0",
            "BYRADIUS",
            "1",
            "m",
        ],
    );
    assert_eq!(n, 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst2"]), 0);
    let r: Vec<String> = q(
        &mut c,
        &[
            "GEOSEARCH",
            "nokey",
            "FROMMEMBER",
            "x",
            "BYRADIUS",
            "1",
            "m",
        ],
    );
    assert!(r.is_empty());
}

#[test]
fn errors_as_redis_words_them() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    for (args, want) in [
        (&["GEOADD", "g", "200", "100", "x"][..], "ERR invalid longitude,latitude pair 200.000000,100.000000"),
        (&["GEOADD", "g", "NX", "XX", "1", "1", "x"], "ERR syntax error"),
        (&["GEOADD", "g", "CH", "CH", "CH"], "ERR syntax error"),
        (&["GEOADD", "g", "1", "1", "x", "2"], "ERR syntax error"),
        (&["GEOADD", "g", "a", "1", "x"], "ERR value is not a valid float"),
        (&["GEOADD", "str", "1", "1", "x"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (&["GEORADIUS", "Sicily", "15", "37", "-1", "km"], "ERR radius cannot be negative"),
        (&["GEORADIUS", "Sicily", "15", "37", "a", "km"], "ERR need numeric radius"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "parsec"], "ERR unsupported unit provided. please use M, KM, FT, MI"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "0"], "ERR COUNT must be > 0"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "ANY"], "ERR the ANY argument requires COUNT argument"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE", "x", "WITHDIST"], "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (&["GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "x"], "ERR syntax error"),
        (&["GEORADIUSBYMEMBER", "Sicily", "Rome", "1", "km"], "ERR could not decode requested zset member"),
        (&["GEOSEARCH", "Sicily", "BYRADIUS", "1", "km", "ASC", "WITHDIST"], "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"),
        (&["geosearch", "Sicily", "FROMLONLAT", "1", "2", "ASC", "WITHHASH"], "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "1", "-1", "km"], "ERR height or width cannot be negative"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "w", "1", "km"], "ERR need numeric width"),
        (&["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "WITHDIST"], "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (&["GEODIST", "Sicily", "a", "b", "km", "x"], "ERR syntax error"),
        (&["GEODIST", "str", "a", "b"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
    ] {
        assert_eq!(err(&mut c, args), want, "{args:?}");
    }
}

#[test]
fn geoadd_options_and_events() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    let n: i64 = q(
        &mut c,
        &[
            "GEOADD",
            "Sicily",
            "NX",
            "13",
            "38",
            "Palermo",
            "14",
            "37",
            "Agrigento",
        ],
    );
    assert_eq!(n, 1);
    let n: i64 = q(
        &mut c,
        &[
            "GEOADD", "Sicily", "XX", "CH", "13", "38", "Palermo", "14", "37", "Enna",
        ],
    );
    assert_eq!(n, 1, "Palermo moved; Enna is not added");
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "Sicily"]), 3);
    // GEOADD raises ZADD's event; a store raises its command's.
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Kz"]);
    let mut sub = s.conn();
    let mut ps = sub.as_pubsub();
    ps.psubscribe("__keyspace@0__:*").unwrap();
    let _: i64 = q(&mut c, &["GEOADD", "Sicily", "15", "37.5", "Catania"]);
    let _: i64 = q(
        &mut c,
        &[
            "GEOSEARCHSTORE",
            "out",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "300",
            "km",
        ],
    );
    let _: i64 = q(
        &mut c,
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "300",
            "km",
            "STORE",
            "out",
        ],
    );
    ps.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let events: Vec<String> = (0..3)
        .map(|_| ps.get_message().unwrap().get_payload().unwrap())
        .collect();
    assert_eq!(events, ["zadd", "geosearchstore", "georadiusstore"]);
}

#[test]
fn georadius_needs_only_read_access_to_its_source() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    let _: () = q(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            ">pw",
            "%R~Sicily",
            "%W~out*",
            "+@all",
        ],
    );
    let mut u = s.conn();
    let _: () = q(&mut u, &["AUTH", "u", "pw"]);
    let r: Vec<String> = q(&mut u, &["GEORADIUS", "Sicily", "15", "37", "100", "km"]);
    assert_eq!(r, ["Catania"]);
    let r: Vec<String> = q(
        &mut u,
        &["GEORADIUSBYMEMBER", "Sicily", "Catania", "1", "km"],
    );
    assert_eq!(r, ["Catania"]);
    let n: i64 = q(
        &mut u,
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "100",
            "km",
            "STORE",
            "out1",
        ],
    );
    assert_eq!(n, 1);
    assert!(err(
        &mut u,
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "100",
            "km",
            "STORE",
            "Sicily"
        ]
    )
    .starts_with("NOPERM"));
    assert!(err(&mut u, &["GEOADD", "Sicily", "1", "1", "x"]).starts_with("NOPERM"));
}

#[test]
fn scores_no_geoadd_wrote_still_decode() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(
        &mut c,
        &["ZADD", "k", "-1", "neg", "1e300", "huge", "0", "zero"],
    );
    // As redis-server on x86-64 answers: -1 is all ones, 1e300 wraps to 0.
    let pos: Vec<Vec<String>> = q(&mut c, &["GEOPOS", "k", "neg", "huge", "zero"]);
    assert_eq!(pos[1], pos[2]);
    assert_eq!(pos[0], ["180", "85.0511287799999991"]);
    assert_eq!(pos[1], ["-179.99999731779098511", "-85.05112751263942528"]);
    let r: Vec<String> = q(
        &mut c,
        &["GEOSEARCH", "k", "FROMMEMBER", "neg", "BYRADIUS", "1", "km"],
    );
    // Its decoded position's cells do not hold its score: none found, as
    // in Redis.
    assert!(r.is_empty(), "{r:?}");
}
