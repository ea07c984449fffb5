//! Geospatial indexes: a sorted set whose scores are 52-bit geohashes, as in
//! Redis, so GEOADD data is an ordinary sorted set everywhere else (ZRANGE,
//! persistence, memory, eviction) and moves between Ember and Redis as is.
//!
//! A position is encoded as 26 bits of latitude (in Web Mercator's range,
//! ±85.05112878°) interleaved with 26 bits of longitude. A search covers the
//! cell of the centre at a precision chosen from the radius plus its eight
//! neighbours, reads each cell's score range and keeps the points whose exact
//! distance (haversine on a sphere of Redis's radius) is within the shape.
//! Cell choice, neighbour order, distances and number formatting follow
//! Redis's so that the same members come back in the same order.

pub const LAT_MIN: f64 = -85.051_128_78;
pub const LAT_MAX: f64 = 85.051_128_78;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Bits per coordinate in a stored score.
pub const STEP_MAX: u8 = 26;
const EARTH_RADIUS_M: f64 = 6_372_797.560_856;
const MERCATOR_MAX: f64 = 20_037_726.37;

/// A geohash of `step` bits per coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    const ZERO: Hash = Hash { bits: 0, step: 0 };

    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The score range `[min, max)` of the stored positions inside this cell.
    pub fn score_range(self) -> (f64, f64) {
        let shift = 52 - 2 * self.step as u32;
        (
            (self.bits << shift) as f64,
            ((self.bits + 1) << shift) as f64,
        )
    }
}

/// A cell's bounds.
#[derive(Clone, Copy, Debug, Default)]
struct Area {
    lat: (f64, f64),
    long: (f64, f64),
}

/// Spread the low 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The even bit positions of `v`, packed.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// Encode a position at `step` bits in the given coordinate ranges; None
/// when it lies outside them (or outside Redis's valid range).
fn encode_in(long: f64, lat: f64, step: u8, long_r: (f64, f64), lat_r: (f64, f64)) -> Option<Hash> {
    if !(LONG_MIN..=LONG_MAX).contains(&long) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.0 || lat > lat_r.1 || long < long_r.0 || long > long_r.1 {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.0) / (lat_r.1 - lat_r.0) * scale;
    let long_off = (long - long_r.0) / (long_r.1 - long_r.0) * scale;
    // Truncation to an integer cell index, as C's double → uint32_t.
    Some(Hash {
        bits: spread(lat_off as u32) | (spread(long_off as u32) << 1),
        step,
    })
}

/// Encode in the stored (Mercator-bounded) ranges.
pub fn encode(long: f64, lat: f64, step: u8) -> Option<Hash> {
    encode_in(long, lat, step, (LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX))
}

/// The 52-bit score of a position (GEOADD).
pub fn score_of(long: f64, lat: f64) -> Option<f64> {
    encode(long, lat, STEP_MAX).map(|h| h.score_range().0)
}

fn decode_in(h: Hash, long_r: (f64, f64), lat_r: (f64, f64)) -> Area {
    let lat_i = squash(h.bits) as f64;
    let long_i = squash(h.bits >> 1) as f64;
    let cells = (1u64 << h.step) as f64;
    let (lat_scale, long_scale) = (lat_r.1 - lat_r.0, long_r.1 - long_r.0);
    Area {
        lat: (
            lat_r.0 + (lat_i / cells) * lat_scale,
            lat_r.0 + ((lat_i + 1.0) / cells) * lat_scale,
        ),
        long: (
            long_r.0 + (long_i / cells) * long_scale,
            long_r.0 + ((long_i + 1.0) / cells) * long_scale,
        ),
    }
}

fn decode(h: Hash) -> Area {
    decode_in(h, (LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX))
}

/// A score's bits as Redis's `(uint64_t)score` gives them on x86-64, for
/// scores no GEOADD wrote (ZADD can put any): a negative score wraps as a
/// signed integer, one of 2^64 or more gives 0.
fn score_bits(score: f64) -> u64 {
    if score < 0.0 {
        (score as i64) as u64
    } else if score >= 18_446_744_073_709_551_616.0 {
        0
    } else {
        score as u64
    }
}

/// The position (longitude, latitude) a stored score stands for: the centre
/// of its cell. None for a score that is no geohash (Redis decodes any
/// score; only 0 with step 0 fails, which a stored score never is).
pub fn position(score: f64) -> (f64, f64) {
    let a = decode(Hash {
        bits: score_bits(score),
        step: STEP_MAX,
    });
    let long = ((a.long.0 + a.long.1) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.0 + a.lat.1) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (long, lat)
}

/// The standard 11-character geohash (GEOHASH) of a stored score: the
/// position re-encoded in ±90° of latitude.
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (long, lat) = position(score);
    let bits = encode_in(long, lat, 26, (-180.0, 180.0), (-90.0, 90.0)).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Move a cell one step along the axis whose bits `axis` selects (odd bits:
/// longitude, even: latitude), wrapping within the step.
fn move_along(h: &mut Hash, d: i8, axis: u64) {
    let shift = 64 - 2 * h.step as u32;
    let (a, other) = (h.bits & axis, h.bits & !axis);
    // Filling the other axis's bits with ones makes the carry cross them.
    let zz = !axis >> shift;
    let a = if d > 0 {
        a.wrapping_add(zz + 1)
    } else {
        (a | zz).wrapping_sub(zz + 1)
    };
    h.bits = (a & (axis >> shift)) | other;
}

const LONG_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const LAT_BITS: u64 = 0x5555_5555_5555_5555;

fn moved(h: Hash, dx: i8, dy: i8) -> Hash {
    let mut n = h;
    if dx != 0 {
        move_along(&mut n, dx, LONG_BITS);
    }
    if dy != 0 {
        move_along(&mut n, dy, LAT_BITS);
    }
    n
}

/// What a search covers around its centre, in the request's unit.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Radius(f64),
    /// Width and height.
    Box(f64, f64),
}

/// A search: centre (longitude, latitude), shape, and meters per unit of
/// the shape (Redis multiplies at the same places, so the same cells come
/// out).
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub long: f64,
    pub lat: f64,
    pub shape: Shape,
    pub to_meters: f64,
}

fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn rad_deg(r: f64) -> f64 {
    r / (std::f64::consts::PI / 180.0)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters.
pub fn distance(long1: f64, lat1: f64, long2: f64, lat2: f64) -> f64 {
    let (lon1r, lon2r) = (deg_rad(long1), deg_rad(long2));
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

fn steps_for_radius(mut meters: f64, lat: f64) -> u8 {
    if meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while meters < MERCATOR_MAX {
        meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Search {
    /// The point at `score` if it lies in the shape, with its distance from
    /// the centre in meters.
    pub fn within(&self, score: f64) -> Option<(f64, f64, f64)> {
        let (long, lat) = position(score);
        let c = self.to_meters;
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(self.long, self.lat, long, lat);
                (d <= r * c).then_some((long, lat, d))
            }
            Shape::Box(w, h) => {
                let (w, h) = (w * c, h * c);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(long, lat, self.long, lat) > w / 2.0 {
                    return None;
                }
                Some((long, lat, distance(self.long, self.lat, long, lat)))
            }
        }
    }

    /// (min long, min lat, max long, max lat) around the centre.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let c = self.to_meters;
        let (h, w) = match self.shape {
            Shape::Radius(r) => (c * r, c * r),
            Shape::Box(w, h) => (c * (h / 2.0), c * (w / 2.0)),
        };
        let lat_delta = rad_deg(h / EARTH_RADIUS_M);
        let top = rad_deg(w / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let bottom = rad_deg(w / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        let d = if self.lat < 0.0 { bottom } else { top };
        (
            self.long - d,
            self.lat - lat_delta,
            self.long + d,
            self.lat + lat_delta,
        )
    }

    /// The cells to scan, in Redis's order (centre, N, S, E, W, NE, NW, SE,
    /// SW); cells wholly outside the bounding box, and a cell equal to the
    /// one scanned just before it, are left out.
    pub fn cells(&self) -> Vec<Hash> {
        let (min_lon, min_lat, max_lon, max_lat) = self.bounds();
        let radius = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        } * self.to_meters;
        let mut steps = steps_for_radius(radius, self.lat);
        let around = |steps: u8| {
            let h = encode(self.long, self.lat, steps).unwrap_or(Hash {
                bits: 0,
                step: steps,
            });
            // N S E W NE NW SE SW
            let n = [
                h,
                moved(h, 0, 1),
                moved(h, 0, -1),
                moved(h, 1, 0),
                moved(h, -1, 0),
                moved(h, 1, 1),
                moved(h, -1, 1),
                moved(h, 1, -1),
                moved(h, -1, -1),
            ];
            (n, decode(h))
        };
        let (mut n, mut area) = around(steps);
        // A neighbour that does not reach the bounding box: one step coarser.
        let too_small = decode(n[1]).lat.1 < max_lat
            || decode(n[2]).lat.0 > min_lat
            || decode(n[3]).long.1 < max_lon
            || decode(n[4]).long.0 > min_lon;
        if steps > 1 && too_small {
            steps -= 1;
            (n, area) = around(steps);
        }
        if steps >= 2 {
            if area.lat.0 < min_lat {
                for i in [2, 8, 7] {
                    n[i] = Hash::ZERO;
                }
            }
            if area.lat.1 > max_lat {
                for i in [1, 5, 6] {
                    n[i] = Hash::ZERO;
                }
            }
            if area.long.0 < min_lon {
                for i in [4, 8, 6] {
                    n[i] = Hash::ZERO;
                }
            }
            if area.long.1 > max_lon {
                for i in [3, 7, 5] {
                    n[i] = Hash::ZERO;
                }
            }
        }
        let mut out = Vec::with_capacity(9);
        let mut last: Option<Hash> = None;
        for (i, &h) in n.iter().enumerate() {
            if h.is_zero() {
                continue;
            }
            // Redis compares with the last scanned neighbour, never the
            // centre (its index 0 reads as "none yet").
            if i > 0 && last == Some(h) {
                continue;
            }
            out.push(h);
            if i > 0 {
                last = Some(h);
            }
        }
        out
    }
}

/// A distance with four decimals (Redis's fixedpoint_d2string: the value
/// times 10^4 rounded half to even, then placed around the point).
pub fn format_distance(d: f64) -> String {
    let v = (d * 10_000.0).round_ties_even() as i64;
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10_000, a % 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_round_trips() {
        for v in [0u32, 1, 0x3ff_ffff, 0x155_5555, 12345] {
            assert_eq!(squash(spread(v)), v);
            assert_eq!(squash(spread(v) << 1 >> 1), v);
        }
    }

    #[test]
    fn positions_decode_near_what_was_encoded() {
        for (long, lat) in [
            (13.361389, 38.115556),
            (-122.4194, 37.7749),
            (0.0, 0.0),
            (179.9, -85.0),
        ] {
            let s = score_of(long, lat).unwrap();
            let (x, y) = position(s);
            assert!((x - long).abs() < 1e-5 && (y - lat).abs() < 1e-5, "{x},{y}");
        }
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 86.0), None);
    }

    #[test]
    fn neighbours_wrap_within_the_step() {
        let h = encode(0.0, 0.0, 3).unwrap();
        let e = moved(h, 1, 0);
        assert_eq!(moved(e, -1, 0), h);
        let n = moved(h, 0, 1);
        assert_eq!(moved(n, 0, -1), h);
    }

    #[test]
    fn distances_format_with_four_decimals() {
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(0.00005), "0.0000");
        assert_eq!(format_distance(166274.15156960033), "166274.1516");
        assert_eq!(format_distance(0.0005), "0.0005");
    }
}
