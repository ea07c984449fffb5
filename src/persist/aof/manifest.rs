//! The multi-part AOF manifest (Redis 7): which base and incremental files
//! make up the AOF, one line each, in `appenddirname`:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! `b` is the base (at most one, first), `h` a history file awaiting
//! deletion, `i` an incremental file (in sequence order). Lines starting
//! with `#` are comments. A name with spaces or control characters is
//! written quoted, as Redis's `sdscatrepr` does, and read back with the
//! same rules as redis.conf (`split_args`).

use std::io::{self, Write};
use std::path::Path;

/// The manifest's name: `appendfilename` + `.manifest`.
pub fn manifest_name(base: &str) -> String {
    format!("{base}.manifest")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<FileInfo>,
    pub incrs: Vec<FileInfo>,
    pub history: Vec<FileInfo>,
}

impl Manifest {
    /// Parse manifest text; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text.lines() {
            // As Redis: a comment starts the line; a blank line is an error.
            if line.starts_with('#') {
                continue;
            }
            if line.len() > 1024 {
                return Err("The AOF manifest file contains too long line".into());
            }
            let line = line.trim();
            if line.is_empty() {
                return Err("Invalid AOF manifest file format".into());
            }
            let mut scratch = Vec::new();
            let mut ranges = Vec::new();
            if !crate::protocol::parse::split_args(line.as_bytes(), &mut scratch, &mut ranges)
                || ranges.len() < 6
                || ranges.len() % 2 != 0
            {
                return Err("Invalid AOF manifest file format".into());
            }
            let words: Vec<String> = ranges
                .iter()
                .map(|r| String::from_utf8_lossy(&scratch[r.clone()]).into_owned())
                .collect();
            let (mut name, mut seq, mut ty) = (None, None, None);
            for kv in words.chunks(2) {
                match kv[0].to_ascii_lowercase().as_str() {
                    "file" => name = Some(kv[1].clone()),
                    "seq" => seq = kv[1].parse::<u64>().ok(),
                    "type" => ty = kv[1].chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(ty)) = (name, seq, ty) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if name.contains('/') {
                return Err("Invalid AOF manifest file format: file name with a path".into());
            }
            let info = FileInfo { name, seq };
            match ty {
                'b' => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(info);
                }
                'h' => m.history.push(info),
                'i' => {
                    if m.incrs.last().is_some_and(|l| l.seq >= info.seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(info);
                }
                _ => return Err(format!("Unknown AOF file type '{ty}'")),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    /// The manifest's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |f: &FileInfo, t: char| {
            out.push_str(&format!("file {} seq {} type {t}\n", repr(&f.name), f.seq));
        };
        if let Some(b) = &self.base {
            line(b, 'b');
        }
        for h in &self.history {
            line(h, 'h');
        }
        for i in &self.incrs {
            line(i, 'i');
        }
        out
    }

    pub fn base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq)
    }

    pub fn last_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |i| i.seq)
    }

    /// Every file the manifest names (base, history, incrs).
    pub fn files(&self) -> impl Iterator<Item = &FileInfo> {
        self.base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter())
    }
}

/// Quote a name like `sdscatrepr` when it needs it.
fn repr(name: &str) -> String {
    let needs = name.is_empty()
        || name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'' || b == b'\\' || b < 32);
    if !needs {
        return name.to_string();
    }
    let mut s = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 32 => s.push_str(&format!("\\x{:02x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Write `m` as `dir/name` atomically: a temp file, fsynced, renamed over
/// the old one, then the directory fsynced so the rename is durable.
pub fn persist(dir: &Path, name: &str, m: &Manifest) -> io::Result<()> {
    let tmp = dir.join(format!("temp-{name}"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(m.to_text().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    fsync_dir(dir)
}

/// fsync a directory (after creating, renaming or deleting in it).
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 1);
        assert_eq!(m.to_text(), text);
        let q = Manifest {
            base: Some(FileInfo {
                name: "a b".into(),
                seq: 2,
            }),
            ..Default::default()
        };
        assert_eq!(q.to_text(), "file \"a b\" seq 2 type b\n");
        assert_eq!(Manifest::parse(&q.to_text()).unwrap(), q);
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file x seq 1 type z\n").is_err());
        assert!(Manifest::parse("file x seq 2 type i\nfile y seq 1 type i\n").is_err());
        assert!(Manifest::parse("garbage\n").is_err());
        // As Redis: keys in any case, comments skipped, blank lines refused.
        let m = Manifest::parse("# c\nFILE x SEQ 1 TYPE b\n").unwrap();
        assert_eq!(m.base.unwrap().name, "x");
        assert_eq!(
            Manifest::parse("file x seq 1 type b\n\nfile y seq 1 type i\n").unwrap_err(),
            "Invalid AOF manifest file format"
        );
    }
}
