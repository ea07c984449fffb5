//! `oom-score-adj` and `oom-score-adj-values`: the server process's Linux
//! OOM-killer score, set at startup and by CONFIG SET as Redis sets it.
#![cfg(target_os = "linux")]

mod common;

use common::{config_set, err, q, Binary};

fn score(pid: u32) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
        .expect("read oom_score_adj")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn oom_score_follows_the_config() {
    // The server inherits this process's score: its base. Only raised
    // above it (and restored to it), which needs no privilege.
    let base = score(std::process::id());
    let at = |v: i64| v.clamp(-1000, 1000);
    let s = Binary::start(&[
        "--oom-score-adj-values",
        "10 20 30",
        "--oom-score-adj",
        "yes",
    ]);
    let pid = s.pid();
    assert_eq!(score(pid), at(base + 10));
    let mut c = s.conn();
    // The first value is the class of a server with no master.
    config_set(&mut c, "oom-score-adj-values", "15 20 30");
    assert_eq!(score(pid), at(base + 15));
    // A replica takes the second.
    let _: () = q(&mut c, &["REPLICAOF", "localhost", "1"]);
    assert_eq!(score(pid), at(base + 20));
    let _: () = q(&mut c, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(score(pid), at(base + 15));
    config_set(&mut c, "oom-score-adj", "relative");
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "oom-score-adj"]);
    assert_eq!(got, ["oom-score-adj", "yes"]);
    let absolute = (base + 25).to_string();
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "oom-score-adj",
            "absolute",
            "oom-score-adj-values",
            &format!("{absolute} 0 0"),
        ],
    );
    assert_eq!(score(pid), at(base + 25));
    // Off: the score from before Ember changed it.
    config_set(&mut c, "oom-score-adj", "no");
    assert_eq!(score(pid), base);
    // Values change nothing while it is off.
    config_set(&mut c, "oom-score-adj-values", "40 40 40");
    assert_eq!(score(pid), base);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "oom-score-adj-values"]);
    assert_eq!(got, ["oom-score-adj-values", "40 40 40"]);
    for (v, why) in [
        (
            "-2001 0 0",
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        ),
        (
            "0 0 2001",
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        ),
        ("0 0", "wrong number of arguments"),
        (
            "0 0 x",
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        ),
    ] {
        assert_eq!(
            err(&mut c, &["CONFIG", "SET", "oom-score-adj-values", v]),
            format!(
                "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - {why}"
            )
        );
    }
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "oom-score-adj", "maybe"]),
        "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj') - argument(s) must be one of the following: no, yes, relative, absolute"
    );
}
