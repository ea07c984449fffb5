//! DEBUG DIGEST and DEBUG DIGEST-VALUE: a SHA-1 signature of the dataset or
//! of values, computed the way Redis 7.2 computes it, so that a dataset has
//! the same digest in Ember as in Redis (tests compare them, and Redis's own
//! suite compares digests before and after a reload).
//!
//! Two ways of adding data to a 20-byte digest: *xor* its SHA-1 in (order
//! does not matter: set members, hash fields, keys) or *mix* it (xor, then
//! replace the digest by its own SHA-1: order matters, as in a list). A
//! value's digest mixes its type number, then its contents; a key with a TTL
//! also xors in the text `!!expire!!` (the time itself is left out). The
//! dataset's digest mixes each non-empty database's number, then xors in one
//! digest per key (the key mixed, then its value), as any data is xored in:
//! by its SHA-1.

use crate::keyspace::Entry;
use crate::types::Value;

pub type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    sha1_smol::Sha1::from(data).digest().bytes()
}

fn xor(d: &mut Digest, data: &[u8]) {
    for (a, b) in d.iter_mut().zip(sha1(data)) {
        *a ^= b;
    }
}

fn mix(d: &mut Digest, data: &[u8]) {
    xor(d, data);
    *d = sha1(&d[..]);
}

/// Redis's type numbers (OBJ_STRING ...), which the digest includes.
fn type_number(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// Add an entry's value (and whether it has a TTL) to `d`.
pub fn add_value(d: &mut Digest, entry: &Entry) {
    let v = &entry.value;
    mix(d, &type_number(v).to_be_bytes());
    match v {
        Value::Str(s) => s.with_bytes(|b| mix(d, b)),
        Value::List(l) => l.iter().for_each(|e| mix(d, e)),
        Value::Set(s) => s.iter().for_each(|m| m.with_bytes(|b| xor(d, b))),
        Value::ZSet(z) => {
            let mut tmp = [0u8; 32];
            z.walk(0, z.len(), false, |m, score| {
                let mut e = Digest::default();
                mix(&mut e, m);
                mix(
                    &mut e,
                    crate::protocol::reply::format_double(score, &mut tmp),
                );
                xor(d, &e);
            });
        }
        Value::Stream(s) => {
            use crate::types::stream::StreamId;
            let mut a = itoa::Buffer::new();
            s.range(StreamId::MIN, StreamId::MAX, false, |e| {
                let mut id = a.format(e.id.ms).as_bytes().to_vec();
                id.push(b'.');
                id.extend_from_slice(a.format(e.id.seq).as_bytes());
                mix(d, &id);
                e.for_each(|f, v| {
                    f.with_bytes(|b| mix(d, b));
                    v.with_bytes(|b| mix(d, b));
                });
                true
            });
        }
        Value::Hash(h) => {
            for (f, val) in h.iter() {
                let mut e = Digest::default();
                mix(&mut e, f);
                mix(&mut e, val);
                xor(d, &e);
            }
        }
    }
    if entry.has_ttl() {
        xor(d, b"!!expire!!");
    }
}

/// One key's contribution to the dataset digest.
pub fn key_digest(key: &[u8], entry: &Entry) -> Digest {
    let mut d = Digest::default();
    mix(&mut d, key);
    add_value(&mut d, entry);
    d
}

/// Fold database `db`'s key digests into the dataset digest `d` (nothing
/// if it has no keys).
pub fn add_db(d: &mut Digest, db: usize, keys: impl Iterator<Item = Digest>) {
    let mut keys = keys.peekable();
    if keys.peek().is_none() {
        return;
    }
    mix(d, &(db as u32).to_be_bytes());
    for k in keys {
        xor(d, &k);
    }
}

/// Lowercase hex, as Redis prints a digest.
pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
