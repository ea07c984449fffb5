//! Geospatial commands over sorted sets (types::geo): GEOADD GEOPOS GEODIST
//! GEOHASH GEOSEARCH GEOSEARCHSTORE and the older GEORADIUS family.

use super::args::{int, is};
use super::zset::{add_generic, AddFlags};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::string2d;
use crate::protocol::{Args, Reply};
use crate::types::geo::{self, Search, Shape};
use crate::types::zset::ZSet;

const SEARCH_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";
const RADIUS_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";

pub const COMMANDS: &[Command] = &[
    Command::new("geoadd", -5, geoadd)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", "key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]"),
    Command::new("geodist", -4, geodist)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.0", "O(1)", "Returns the distance between two members of a geospatial index.", "key member1 member2 [M | KM | FT | MI]"),
    Command::new("geohash", -2, geohash)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.0", "O(1) for each member requested.", "Returns members from a geospatial index as geohash strings.", "key [member [member ...]]"),
    Command::new("geopos", -2, geopos)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.0", "O(1) for each member requested.", "Returns the longitude and latitude of members from a geospatial index.", "key [member [member ...]]"),
    Command::new("georadius", -6, georadius)
        .flags(WRITE | DENYOOM | MOVABLE_KEYS)
        .keys(1, 1, 1)
        .keys_fn(keys_georadius)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.0", RADIUS_COMPLEXITY, "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", "key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]"),
    Command::new("georadius_ro", -6, georadius_ro)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.10", RADIUS_COMPLEXITY, "Returns members from a geospatial index that are within a distance from a coordinate.", "key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]"),
    Command::new("georadiusbymember", -5, georadiusbymember)
        .flags(WRITE | DENYOOM | MOVABLE_KEYS)
        .keys(1, 1, 1)
        .keys_fn(keys_georadiusbymember)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.0", RADIUS_COMPLEXITY, "Queries a geospatial index for members within a distance from a member, optionally stores the result.", "key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]"),
    Command::new("georadiusbymember_ro", -5, georadiusbymember_ro)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("3.2.10", RADIUS_COMPLEXITY, "Returns members from a geospatial index that are within a distance from a member.", "key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]"),
    Command::new("geosearch", -7, geosearch)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("6.2.0", SEARCH_COMPLEXITY, "Queries a geospatial index for members inside an area of a box or a circle.", "key <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]"),
    Command::new("geosearchstore", -8, geosearchstore)
        .flags(WRITE | DENYOOM)
        .keys(1, 2, 1)
        .acl(acl::GEO)
        .group("geo")
        .doc("6.2.0", SEARCH_COMPLEXITY, "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", "destination source <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [STOREDIST]"),
];

/// The source and every argument that follows a STORE or STOREDIST (the
/// last one given is the destination; all are locked and checked).
fn keys_store_from(args: Args<'_>, from: usize) -> Vec<usize> {
    let mut keys = vec![1];
    for i in from..args.len().saturating_sub(1) {
        if is(&args[i], "store") || is(&args[i], "storedist") {
            keys.push(i + 1);
        }
    }
    keys
}

fn keys_georadius(args: Args<'_>) -> Vec<usize> {
    keys_store_from(args, 6)
}

fn keys_georadiusbymember(args: Args<'_>) -> Vec<usize> {
    keys_store_from(args, 5)
}

/// A float argument as Redis's getDoubleFromObject reads it; `msg` replaces
/// the default error text.
fn float(arg: &[u8], msg: Option<&'static str>) -> Result<f64, CmdError> {
    string2d(arg).ok_or(match msg {
        Some(m) => CmdError::err(m),
        None => CmdError::NotFloat,
    })
}

/// Meters per unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    Ok(match arg.to_ascii_lowercase().as_slice() {
        b"m" => 1.0,
        b"km" => 1000.0,
        b"ft" => 0.3048,
        b"mi" => 1609.34,
        _ => {
            return Err(CmdError::err(
                "unsupported unit provided. please use M, KM, FT, MI",
            ))
        }
    })
}

fn lonlat(long: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let (x, y) = (float(long, None)?, float(lat, None)?);
    if !(geo::LONG_MIN..=geo::LONG_MAX).contains(&x) || !(geo::LAT_MIN..=geo::LAT_MAX).contains(&y)
    {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {x:.6},{y:.6}"
        )));
    }
    Ok((x, y))
}

/// `<radius> <unit>`: the radius and meters per unit.
fn radius(r: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = float(r, Some("need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((r, unit(u)?))
}

/// A coordinate as GEOPOS prints it.
fn coord(out: &mut Reply, v: f64) {
    let mut buf = [0u8; 400];
    let s = crate::num::fmt_human(v, &mut buf);
    if out.resp3 {
        out.raw(b",");
        out.raw(s);
        out.raw(b"\r\n");
    } else {
        out.bulk(s);
    }
}

fn geoadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut f, mut ch, mut i) = (AddFlags::default(), false, 2);
    while i < args.len() {
        if is(&args[i], "nx") {
            f.nx = true;
        } else if is(&args[i], "xx") {
            f.xx = true;
        } else if is(&args[i], "ch") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = args.len() - i;
    // No triples at all is ZADD's syntax error in Redis (it hands over).
    if rest == 0 || !rest.is_multiple_of(3) || (f.nx && f.xx) {
        return Err(CmdError::Syntax);
    }
    let mut scores = Vec::with_capacity(rest / 3);
    for t in 0..rest / 3 {
        let (x, y) = lonlat(&args[i + 3 * t], &args[i + 3 * t + 1])?;
        scores.push(geo::score_of(x, y).ok_or(CmdError::Syntax)?);
    }
    add_generic(ctx, &args[1], &scores, |t| args.get(i + 3 * t + 2), f, ch)
}

fn geopos(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let z = super::zset::read(&mut shard, db, key, now)?;
    ctx.out.array(args.len() - 2);
    for m in args.slice(2).iter() {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => {
                let (x, y) = geo::position(s);
                ctx.out.array(2);
                coord(ctx.out, x);
                coord(ctx.out, y);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

fn geohash(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let z = super::zset::read(&mut shard, db, key, now)?;
    ctx.out.array(args.len() - 2);
    for m in args.slice(2).iter() {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => ctx.out.bulk(&geo::geohash_string(s)),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn geodist(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let z = super::zset::read(&mut shard, db, key, now)?;
    match z.and_then(|z| Some((z.score(&args[2])?, z.score(&args[3])?))) {
        Some((a, b)) => {
            let ((x1, y1), (x2, y2)) = (geo::position(a), geo::position(b));
            let d = geo::distance(x1, y1, x2, y2) / to_meters;
            ctx.out.bulk(geo::format_distance(d).as_bytes());
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// Which command of the search family runs.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// GEORADIUS(_RO): centre from arguments 2 and 3.
    Coords,
    /// GEORADIUSBYMEMBER(_RO): centre from the member in argument 2.
    Member,
    Search,
    SearchStore,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// One match: member, score, position, distance in meters.
struct Point {
    member: Vec<u8>,
    score: f64,
    long: f64,
    lat: f64,
    dist: f64,
}

fn georadius(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Coords, true)
}

fn georadius_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Coords, false)
}

fn georadiusbymember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Member, true)
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Member, false)
}

fn geosearch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Search, false)
}

fn geosearchstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::SearchStore, false)
}

/// The members of `z` in `search`'s cells that lie in its shape, in scan
/// order; at most `limit` (0: all) when COUNT ANY stops early.
fn matches(z: &ZSet, search: &Search, limit: usize) -> Vec<Point> {
    let mut found = Vec::new();
    for cell in search.cells() {
        if limit > 0 && found.len() >= limit {
            break;
        }
        let (min, max) = cell.score_range();
        let start = z.count_below(|s, _| s < min);
        let end = z.count_below(|s, _| s < max);
        z.walk(start, end, false, |m, s| {
            if limit > 0 && found.len() >= limit {
                return;
            }
            if let Some((long, lat, dist)) = search.within(s) {
                found.push(Point {
                    member: m.to_vec(),
                    score: s,
                    long,
                    lat,
                    dist,
                });
            }
        });
    }
    found
}

/// GEORADIUS, GEORADIUSBYMEMBER (and _RO), GEOSEARCH, GEOSEARCHSTORE: the
/// arguments checked in Redis's order (georadiusGeneric), then the search.
fn search_generic(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind, may_store: bool) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let src_at = if kind == Kind::SearchStore { 2 } else { 1 };
    let src = &args[src_at];
    let mut store: Option<(usize, bool)> = (kind == Kind::SearchStore).then_some((1, false));
    // Every key the command may touch, locked together.
    let keys = match kind {
        Kind::SearchStore => vec![1, 2],
        Kind::Coords if may_store => keys_georadius(args),
        Kind::Member if may_store => keys_georadiusbymember(args),
        _ => vec![1],
    };
    let mut ml = ctx
        .server
        .keyspace
        .lock_keys(keys.iter().map(|&i| args.get(i)));
    let z = super::zset::read(ml.shard(src), db, src, now)?;
    let exists = z.is_some();
    let score_of = |m: &[u8]| z.as_ref().and_then(|z| z.score(m));
    let mut search = Search {
        long: 0.0,
        lat: 0.0,
        shape: Shape::Radius(0.0),
        to_meters: 1.0,
    };
    let base = match kind {
        Kind::Coords => {
            (search.long, search.lat) = lonlat(&args[2], &args[3])?;
            let (r, c) = radius(&args[4], &args[5])?;
            (search.shape, search.to_meters) = (Shape::Radius(r), c);
            6
        }
        Kind::Member if !exists => 5,
        Kind::Member => {
            let s = score_of(&args[2])
                .ok_or_else(|| CmdError::err("could not decode requested zset member"))?;
            (search.long, search.lat) = geo::position(s);
            let (r, c) = radius(&args[3], &args[4])?;
            (search.shape, search.to_meters) = (Shape::Radius(r), c);
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => 3,
    };
    let searching = matches!(kind, Kind::Search | Kind::SearchStore);
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut from_member, mut from_loc, mut by_radius, mut by_box) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let mut i = base;
    while i < args.len() {
        let a = &args[i];
        let left = args.len() - i - 1;
        if is(a, "withdist") {
            withdist = true;
        } else if is(a, "withhash") {
            withhash = true;
        } else if is(a, "withcoord") {
            withcoord = true;
        } else if is(a, "any") {
            any = true;
        } else if is(a, "asc") {
            sort = Sort::Asc;
        } else if is(a, "desc") {
            sort = Sort::Desc;
        } else if is(a, "count") && left >= 1 {
            count = int(&args[i + 1])?;
            if count <= 0 {
                return Err(CmdError::err("COUNT must be > 0"));
            }
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && left >= 1 && may_store {
            store = Some((i + 1, is(a, "storedist")));
            i += 1;
        } else if is(a, "storedist") && kind == Kind::SearchStore {
            store = Some((1, true));
        } else if is(a, "frommember") && left >= 1 && searching && !from_loc {
            if exists {
                let s = score_of(&args[i + 1])
                    .ok_or_else(|| CmdError::err("could not decode requested zset member"))?;
                (search.long, search.lat) = geo::position(s);
            }
            from_member = true;
            i += 1;
        } else if is(a, "fromlonlat") && left >= 2 && searching && !from_member {
            (search.long, search.lat) = lonlat(&args[i + 1], &args[i + 2])?;
            from_loc = true;
            i += 2;
        } else if is(a, "byradius") && left >= 2 && searching && !by_box {
            let (r, c) = radius(&args[i + 1], &args[i + 2])?;
            (search.shape, search.to_meters) = (Shape::Radius(r), c);
            by_radius = true;
            i += 2;
        } else if is(a, "bybox") && left >= 3 && searching && !by_radius {
            let w = float(&args[i + 1], Some("need numeric width"))?;
            let h = float(&args[i + 2], Some("need numeric height"))?;
            if h < 0.0 || w < 0.0 {
                return Err(CmdError::err("height or width cannot be negative"));
            }
            (search.shape, search.to_meters) = (Shape::Box(w, h), unit(&args[i + 3])?);
            by_box = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        return Err(CmdError::err(format!(
            "{} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if kind == Kind::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if searching && !(from_member || from_loc) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if searching && !(by_radius || by_box) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    let store_key = store.map(|(at, dist)| (args.get(at), dist));
    let Some(z) = z else {
        match store_key {
            Some((dest, _)) => {
                // No source: the destination is deleted.
                let lim = ctx.server.config.zset_limits();
                let empty = ZSet::from_sorted(&[], lim);
                super::zset::store(ml.shard(dest), db, dest, empty, now, "");
                ctx.out.int(0);
            }
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let mut found = matches(z, &search, if any { count as usize } else { 0 });
    if found.is_empty() && store_key.is_none() {
        ctx.out.array(0);
        return Ok(());
    }
    match sort {
        Sort::Asc => found.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Sort::Desc => found.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
        Sort::None => {}
    }
    let returned = if count == 0 {
        found.len()
    } else {
        found.len().min(count as usize)
    };
    found.truncate(returned);
    let c = search.to_meters;
    let Some((dest, storedist)) = store_key else {
        let extra = withdist as usize + withhash as usize + withcoord as usize;
        ctx.out.array(returned);
        for p in &found {
            if extra > 0 {
                ctx.out.array(extra + 1);
            }
            ctx.out.bulk(&p.member);
            if withdist {
                ctx.out.bulk(geo::format_distance(p.dist / c).as_bytes());
            }
            if withhash {
                ctx.out.int(p.score as i64);
            }
            if withcoord {
                ctx.out.array(2);
                coord(ctx.out, p.long);
                coord(ctx.out, p.lat);
            }
        }
        return Ok(());
    };
    let mut members: Vec<(Vec<u8>, f64)> = found
        .into_iter()
        .map(|p| {
            let s = if storedist { p.dist / c } else { p.score };
            (p.member, s)
        })
        .collect();
    members.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let lim = ctx.server.config.zset_limits();
    let event = if searching {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let n = super::zset::store(
        ml.shard(dest),
        db,
        dest,
        ZSet::from_sorted(&members, lim),
        now,
        event,
    );
    ctx.out.int(n as i64);
    Ok(())
}
