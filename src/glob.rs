//! Glob-style pattern matching with Redis's rules (KEYS, SCAN MATCH, CONFIG GET,
//! PSUBSCRIBE): `*` any run of bytes, `?` one byte, `[abc]` a set, `[^a]` a
//! negated set, `[a-z]` a range (either order), `\x` a literal `x`. Matching is on bytes; `nocase` folds ASCII case.
//!
//! Backtracking is bounded the same way Redis bounds it: after a `*` fails to
//! match the rest at every position, the whole match fails at once, and a
//! pattern nests at most [`MAX_NESTING`] stars deep, so hostile patterns such
//! as `a*a*a*a*...b` cannot burn CPU exponentially.

/// Deepest `*` recursion before the match is abandoned as failed.
pub const MAX_NESTING: usize = 1000;

/// Whether `s` matches `pattern`.
pub fn matches(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_inner(pattern, s, nocase, &mut skip_longer, 0)
}

#[inline]
fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

fn match_inner(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..s.len() {
                    if match_inner(&p[1..], &s[i..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        // A later part of the pattern ran out of string: trying
                        // longer runs for this star cannot help.
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
                p = &p[1..];
                continue;
            }
            b'[' => {
                let (matched, rest) = match_class(&p[1..], s[0], nocase);
                if !matched {
                    return false;
                }
                p = rest;
                s = &s[1..];
                continue;
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0], nocase) != fold(s[0], nocase) {
                    return false;
                }
            }
            c => {
                if fold(c, nocase) != fold(s[0], nocase) {
                    return false;
                }
            }
        }
        p = &p[1..];
        s = &s[1..];
    }
    if s.is_empty() {
        while !p.is_empty() && p[0] == b'*' {
            p = &p[1..];
        }
        if p.is_empty() {
            return true;
        }
        // The string ran out before the pattern: longer star runs won't help.
        *skip_longer = true;
    }
    false
}

/// Match one byte against a class whose `[` was already consumed. Returns
/// whether it matched and the pattern after the class. An unterminated class
/// ends at the end of the pattern, as in Redis.
fn match_class(mut p: &[u8], c: u8, nocase: bool) -> (bool, &[u8]) {
    let not = p.first() == Some(&b'^');
    if not {
        p = &p[1..];
    }
    let c = fold(c, nocase);
    let mut matched = false;
    loop {
        match p {
            [] => break,
            [b']', rest @ ..] => {
                p = rest;
                break;
            }
            [b'\\', x, rest @ ..] => {
                if fold(*x, nocase) == c {
                    matched = true;
                }
                p = rest;
            }
            [a, b'-', b, rest @ ..] if *b != b']' => {
                let (mut lo, mut hi) = (fold(*a, nocase), fold(*b, nocase));
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                if (lo..=hi).contains(&c) {
                    matched = true;
                }
                p = rest;
            }
            [x, rest @ ..] => {
                if fold(*x, nocase) == c {
                    matched = true;
                }
                p = rest;
            }
        }
    }
    (matched != not, p)
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn redis_glob_rules() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hallo"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("user:*:name", "user:42:age"));
        assert!(m("[\\]]", "]"));
        assert!(m("a[b", "ab"));
        assert!(matches(b"HELLO*", b"hello world", true));
        assert!(!matches(b"HELLO*", b"hello world", false));
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let s = "a".repeat(60);
        let p = "a*".repeat(30) + "b";
        let t = std::time::Instant::now();
        assert!(!m(&p, &s));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
