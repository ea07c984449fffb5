//! `struct`: Roberto Ierusalimschy's struct library (pack, unpack, size).

use super::{as_num, fail, one};
use mlua::{Lua, MultiValue, Table, Value};

struct Fmt<'a> {
    f: &'a [u8],
    i: usize,
    little: bool,
    maxalign: usize,
}

impl Fmt<'_> {
    fn num(&mut self, default: usize) -> usize {
        let start = self.i;
        let mut n = 0usize;
        while let Some(c) = self.f.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n.saturating_mul(10).saturating_add((c - b'0') as usize);
            self.i += 1;
        }
        if self.i == start {
            default
        } else {
            n
        }
    }

    /// Next option: (kind, size), handling the endianness/alignment ones.
    fn next(&mut self) -> Option<Result<(u8, usize), String>> {
        loop {
            let c = *self.f.get(self.i)?;
            self.i += 1;
            let size = match c {
                b'<' => {
                    self.little = true;
                    continue;
                }
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'=' => {
                    self.little = cfg!(target_endian = "little");
                    continue;
                }
                b'!' => {
                    self.maxalign = self.num(8);
                    continue;
                }
                b' ' => continue,
                b'b' | b'B' | b'x' => 1,
                b'h' | b'H' => 2,
                b'l' | b'L' | b'T' => 8,
                b'i' | b'I' => {
                    let n = self.num(4);
                    if !(1..=8).contains(&n) {
                        return Some(Err(format!("integral size {n} is larger than limit of 8")));
                    }
                    n
                }
                b'f' => 4,
                b'd' => 8,
                b'c' => self.num(1),
                b's' => 0,
                other => {
                    return Some(Err(format!("invalid format option '{}'", other as char)));
                }
            };
            return Some(Ok((c, size)));
        }
    }

    fn pad(&self, pos: usize, kind: u8, size: usize) -> usize {
        if matches!(kind, b'c' | b's' | b'x') || self.maxalign <= 1 {
            return 0;
        }
        let align = size.min(self.maxalign);
        if align == 0 || !align.is_power_of_two() {
            return 0;
        }
        (align - (pos & (align - 1))) & (align - 1)
    }
}

pub fn lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let Some(Value::String(f)) = args.front() else {
                return fail(lua, "bad argument #1 to 'pack' (string expected)");
            };
            let f = f.as_bytes();
            let mut fmt = Fmt {
                f: &f,
                i: 0,
                little: true,
                maxalign: 1,
            };
            let mut out: Vec<u8> = Vec::new();
            let mut ai = 1;
            while let Some(opt) = fmt.next() {
                let (kind, size) = match opt {
                    Ok(o) => o,
                    Err(e) => return fail(lua, &e),
                };
                let pad = fmt.pad(out.len(), kind, size);
                out.extend(std::iter::repeat_n(0u8, pad));
                let a = args.get(ai).cloned().unwrap_or(Value::Nil);
                match kind {
                    b'x' => {
                        out.push(0);
                        continue;
                    }
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let Some(n) = as_num(&a) else {
                            return fail(
                                lua,
                                &format!("bad argument #{} to 'pack' (number expected)", ai + 1),
                            );
                        };
                        let v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                        let bytes = v.to_le_bytes();
                        if fmt.little {
                            out.extend_from_slice(&bytes[..size]);
                        } else {
                            out.extend(bytes[..size].iter().rev());
                        }
                    }
                    b'f' | b'd' => {
                        let Some(n) = as_num(&a) else {
                            return fail(
                                lua,
                                &format!("bad argument #{} to 'pack' (number expected)", ai + 1),
                            );
                        };
                        let bytes: Vec<u8> = if kind == b'f' {
                            let v = n as f32;
                            if fmt.little {
                                v.to_le_bytes().to_vec()
                            } else {
                                v.to_be_bytes().to_vec()
                            }
                        } else if fmt.little {
                            n.to_le_bytes().to_vec()
                        } else {
                            n.to_be_bytes().to_vec()
                        };
                        out.extend_from_slice(&bytes);
                    }
                    b'c' | b's' => {
                        let s = match &a {
                            Value::String(s) => s.as_bytes().to_vec(),
                            Value::Integer(_) | Value::Number(_) => {
                                let mut v = Vec::new();
                                crate::script::convert::number_arg(
                                    as_num(&a).unwrap_or(0.0),
                                    &mut v,
                                );
                                v
                            }
                            _ => {
                                return fail(
                                    lua,
                                    &format!(
                                        "bad argument #{} to 'pack' (string expected)",
                                        ai + 1
                                    ),
                                )
                            }
                        };
                        if kind == b's' {
                            out.extend_from_slice(&s);
                            out.push(0);
                        } else {
                            let n = if size == 0 { s.len() } else { size };
                            if s.len() < n {
                                return fail(
                                    lua,
                                    &format!(
                                        "bad argument #{} to 'pack' (string too short)",
                                        ai + 1
                                    ),
                                );
                            }
                            out.extend_from_slice(&s[..n]);
                        }
                    }
                    _ => {}
                }
                ai += 1;
            }
            one(Value::String(lua.create_string(&out)?))
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let (Some(Value::String(f)), Some(Value::String(data))) = (args.front(), args.get(1))
            else {
                return fail(lua, "bad argument to 'unpack' (string expected)");
            };
            let f = f.as_bytes();
            let data = data.as_bytes();
            let mut pos = match args.get(2).and_then(as_num) {
                Some(n) if n >= 1.0 => n as usize - 1,
                _ => 0,
            };
            let mut fmt = Fmt {
                f: &f,
                i: 0,
                little: true,
                maxalign: 1,
            };
            let mut vals = Vec::new();
            let mut last_num: Option<usize> = None;
            while let Some(opt) = fmt.next() {
                let (kind, mut size) = match opt {
                    Ok(o) => o,
                    Err(e) => return fail(lua, &e),
                };
                pos += fmt.pad(pos, kind, size);
                if kind == b'c' && size == 0 {
                    match last_num.take() {
                        Some(n) => {
                            vals.pop();
                            size = n;
                        }
                        None => return fail(lua, "format 'c0' needs a previous size"),
                    }
                }
                if kind != b's' && pos + size > data.len() {
                    return fail(lua, "bad argument #2 to 'unpack' (data string too short)");
                }
                last_num = None;
                match kind {
                    b'x' => pos += 1,
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let bytes = &data[pos..pos + size];
                        let mut v: u64 = 0;
                        if fmt.little {
                            for (k, b) in bytes.iter().enumerate() {
                                v |= (*b as u64) << (8 * k);
                            }
                        } else {
                            for b in bytes {
                                v = (v << 8) | *b as u64;
                            }
                        }
                        let signed = matches!(kind, b'b' | b'h' | b'l' | b'i');
                        let n = if signed && size < 8 {
                            let shift = 64 - 8 * size;
                            (((v << shift) as i64) >> shift) as f64
                        } else if signed {
                            v as i64 as f64
                        } else {
                            v as f64
                        };
                        pos += size;
                        last_num = Some(n.max(0.0) as usize);
                        vals.push(Value::Number(n));
                    }
                    b'f' => {
                        let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or([0; 4]);
                        let v = if fmt.little {
                            f32::from_le_bytes(b)
                        } else {
                            f32::from_be_bytes(b)
                        };
                        pos += 4;
                        vals.push(Value::Number(v as f64));
                    }
                    b'd' => {
                        let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                        let v = if fmt.little {
                            f64::from_le_bytes(b)
                        } else {
                            f64::from_be_bytes(b)
                        };
                        pos += 8;
                        vals.push(Value::Number(v));
                    }
                    b'c' => {
                        vals.push(Value::String(lua.create_string(&data[pos..pos + size])?));
                        pos += size;
                    }
                    b's' => {
                        let Some(end) =
                            data.get(pos..).and_then(|d| d.iter().position(|&b| b == 0))
                        else {
                            return fail(lua, "unfinished string in data");
                        };
                        vals.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                        pos += end + 1;
                    }
                    _ => {}
                }
            }
            vals.push(Value::Number((pos + 1) as f64));
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|lua, f: Value| {
            let Value::String(f) = f else {
                return fail(lua, "bad argument #1 to 'size' (string expected)");
            };
            let f = f.as_bytes();
            let mut fmt = Fmt {
                f: &f,
                i: 0,
                little: true,
                maxalign: 1,
            };
            let mut pos = 0usize;
            while let Some(opt) = fmt.next() {
                let (kind, size) = match opt {
                    Ok(o) => o,
                    Err(e) => return fail(lua, &e),
                };
                if kind == b's' || (kind == b'c' && size == 0) {
                    return fail(lua, "options 'c0' - 's' have undefined sizes");
                }
                pos += fmt.pad(pos, kind, size) + size;
            }
            one(Value::Number(pos as f64))
        })?,
    )?;
    Ok(t)
}
