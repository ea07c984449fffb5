//! `oom-score-adj`: the process's Linux OOM-killer score, as Redis sets it.
//!
//! With `oom-score-adj yes` (or `relative`), the score written to
//! `/proc/self/oom_score_adj` is the one the process had when Ember first
//! took control plus the `oom-score-adj-values` entry for its class; with
//! `absolute`, that entry alone; clamped to -1000..1000 either way. Turning
//! it back to `no` restores the score from before. The class is the first
//! ("master") or, while the server is a replica, the second; Ember forks
//! no children, so the third is never used.
//! Elsewhere than Linux, enabling it fails, as in a Redis built without
//! `/proc/self/oom_score_adj`.

use crate::config::Config;
use parking_lot::Mutex;

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// The score from before Ember adjusted it; `None` while it has not.
static BASE: Mutex<Option<i64>> = Mutex::new(None);

/// The server is a replica (the second class of `oom-score-adj-values`).
static REPLICA: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// REPLICAOF changed the role: apply the class's score.
pub fn set_replica(replica: bool, config: &Config) {
    REPLICA.store(replica, std::sync::atomic::Ordering::Relaxed);
    let _ = apply(config);
}

/// The score `config` asks for, given the score from before (`base`);
/// `None` when the setting is `no`.
pub fn wanted(config: &Config, base: i64) -> Option<i64> {
    let class = usize::from(REPLICA.load(std::sync::atomic::Ordering::Relaxed));
    let own = i64::from(config.oom_score_adj_values[class]);
    let v = match config.oom_score_adj.as_str() {
        "no" => return None,
        "absolute" => own,
        _ => base + own,
    };
    Some(v.clamp(-1000, 1000))
}

/// Bring the process's score in line with `config` (at startup and after
/// CONFIG SET of either parameter). Errors are logged and returned as
/// Redis's CONFIG SET text.
pub fn apply(config: &Config) -> Result<(), String> {
    let mut base = BASE.lock();
    let score = match (*base, config.oom_score_adj.as_str()) {
        (None, "no") => return Ok(()),
        (Some(b), "no") => {
            *base = None;
            b
        }
        (known, _) => {
            let b = match known {
                Some(b) => b,
                None => {
                    let b = read().map_err(|e| {
                        tracing::warn!("Unable to read oom_score_adj: {e}");
                        failed()
                    })?;
                    *base = Some(b);
                    b
                }
            };
            wanted(config, b).unwrap_or(b)
        }
    };
    std::fs::write(PROC_FILE, format!("{score}\n")).map_err(|e| {
        tracing::warn!("Unable to write oom_score_adj: {e}");
        failed()
    })
}

fn failed() -> String {
    "Failed to set current oom_score_adj. Check server logs.".into()
}

fn read() -> std::io::Result<i64> {
    let text = std::fs::read_to_string(PROC_FILE)?;
    text.trim()
        .parse()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_relative_absolute_and_clamped() {
        let mut c = Config {
            oom_score_adj_values: [10, 20, 30],
            ..Config::default()
        };
        assert_eq!(wanted(&c, 5), None);
        c.oom_score_adj = "yes".into();
        assert_eq!(wanted(&c, 5), Some(15));
        c.oom_score_adj = "absolute".into();
        assert_eq!(wanted(&c, 5), Some(10));
        c.oom_score_adj_values = [2000, 0, 0];
        assert_eq!(wanted(&c, 0), Some(1000));
        c.oom_score_adj = "yes".into();
        c.oom_score_adj_values = [-2000, 0, 0];
        assert_eq!(wanted(&c, 300), Some(-1000));
    }
}
