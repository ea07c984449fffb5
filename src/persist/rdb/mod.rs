//! TEMPORARY STUB (strings only) standing in for the real RDB codec, which is
//! developed on the `rdb` branch; replaced at merge.
#![allow(dead_code)]
use crate::types::{Str, Value};

pub const RDB_VERSION: u32 = 10;

pub struct Crc64(u64);
impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}
impl Crc64 {
    pub fn new() -> Self {
        Crc64(0)
    }
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            for _ in 0..8 {
                self.0 = if self.0 & 1 == 1 {
                    (self.0 >> 1) ^ 0x95ac9329ac4bc9b5
                } else {
                    self.0 >> 1
                };
            }
        }
    }
    pub fn value(&self) -> u64 {
        self.0
    }
}
pub enum Aux<'a> {
    Str(&'a [u8]),
    Int(i64),
}
fn len(out: &mut Vec<u8>, n: u64) {
    out.push(0x80 | 0x01);
    out.extend_from_slice(&(n as u32).to_be_bytes());
}
fn s(out: &mut Vec<u8>, b: &[u8]) {
    len(out, b.len() as u64);
    out.extend_from_slice(b);
}
pub fn write_header(out: &mut Vec<u8>, aux: &[(&str, Aux<'_>)]) {
    out.extend_from_slice(b"REDIS0010");
    for (k, v) in aux {
        out.push(0xFA);
        s(out, k.as_bytes());
        match v {
            Aux::Str(b) => s(out, b),
            Aux::Int(i) => s(out, i.to_string().as_bytes()),
        }
    }
}
pub fn write_select_db(out: &mut Vec<u8>, db: usize) {
    out.push(0xFE);
    len(out, db as u64);
}
pub fn write_resize_db(_out: &mut Vec<u8>, _keys: u64, _expires: u64) {}
pub fn write_entry(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64, compress: bool) {
    if expire_ms != 0 {
        out.push(0xFC);
        out.extend_from_slice(&expire_ms.to_le_bytes());
    }
    out.push(0);
    s(out, key);
    write_value(out, value, compress);
}
pub fn write_value(out: &mut Vec<u8>, value: &Value, _compress: bool) {
    if let Value::Str(v) = value {
        s(out, &v.to_vec());
    } else {
        s(out, b"?");
    }
}
pub fn write_eof(out: &mut Vec<u8>, crc: &mut Crc64, checksum: bool) {
    out.push(0xFF);
    crc.update(&[0xFF]);
    let v = if checksum { crc.value() } else { 0 };
    out.extend_from_slice(&v.to_le_bytes());
}
pub struct Loaded {
    pub db: usize,
    pub key: Box<[u8]>,
    pub value: Value,
    pub expire_ms: u64,
    pub idle: Option<u64>,
    pub freq: Option<u8>,
}
#[derive(Debug)]
pub struct RdbError(pub String);
impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub struct LoadInfo {
    pub version: u32,
    pub keys: u64,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
}
pub struct LoadLimits {
    pub hash: crate::types::Limits,
    pub zset: crate::types::Limits,
    pub set: crate::types::SetLimits,
    pub list_max_listpack_size: i64,
}
pub fn load(
    input: &mut dyn std::io::Read,
    _limits: &LoadLimits,
    sink: &mut dyn FnMut(Loaded) -> Result<(), RdbError>,
) -> Result<LoadInfo, RdbError> {
    let mut all = Vec::new();
    input
        .read_to_end(&mut all)
        .map_err(|e| RdbError(e.to_string()))?;
    let bad = || RdbError("bad".into());
    if all.len() < 9 || &all[..5] != b"REDIS" {
        return Err(bad());
    }
    let mut p = 9;
    let mut db = 0;
    let mut keys = 0;
    let rd = |p: &mut usize| -> Result<Vec<u8>, RdbError> {
        if all.get(*p) != Some(&0x81) {
            return Err(RdbError("len".into()));
        }
        let n = u32::from_be_bytes(
            all.get(*p + 1..*p + 5)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ) as usize;
        let v = all.get(*p + 5..*p + 5 + n).ok_or_else(bad)?.to_vec();
        *p += 5 + n;
        Ok(v)
    };
    let mut expire = 0;
    loop {
        let op = *all.get(p).ok_or_else(bad)?;
        p += 1;
        match op {
            0xFA => {
                rd(&mut p)?;
                rd(&mut p)?;
            }
            0xFE => {
                let v = rd_len(&all, &mut p).ok_or_else(bad)?;
                db = v;
            }
            0xFC => {
                expire = u64::from_le_bytes(
                    all.get(p..p + 8)
                        .ok_or_else(bad)?
                        .try_into()
                        .map_err(|_| bad())?,
                );
                p += 8;
            }
            0 => {
                let k = rd(&mut p)?;
                let v = rd(&mut p)?;
                sink(Loaded {
                    db,
                    key: k.into(),
                    value: Value::Str(Str::from_bytes(&v)),
                    expire_ms: expire,
                    idle: None,
                    freq: None,
                })?;
                expire = 0;
                keys += 1;
            }
            0xFF => break,
            _ => return Err(bad()),
        }
    }
    Ok(LoadInfo {
        version: 10,
        keys,
        aux: vec![],
    })
}
fn rd_len(all: &[u8], p: &mut usize) -> Option<usize> {
    if all.get(*p) != Some(&0x81) {
        return None;
    }
    let n = u32::from_be_bytes(all.get(*p + 1..*p + 5)?.try_into().ok()?) as usize;
    *p += 5;
    Some(n)
}
pub fn decode_dump(_payload: &[u8], _limits: &LoadLimits) -> Result<Value, RdbError> {
    Err(RdbError("stub".into()))
}
