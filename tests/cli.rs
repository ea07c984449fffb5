//! The real `redis-cli` against Ember: one-shot commands, piped
//! interactive-style input, `--pipe` mass insertion and `--scan`.

mod common;
use common::{have_tool, TestServer};
use std::io::Write;
use std::process::{Command, Stdio};

fn cli(s: &TestServer, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(s.addr.port().to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("redis-cli finishes");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn one_shot_and_piped_commands() {
    if !have_tool("redis-cli") {
        return;
    }
    let s = TestServer::start();
    assert_eq!(cli(&s, &["set", "greeting", "hello world"], b""), "OK\n");
    assert_eq!(cli(&s, &["get", "greeting"], b""), "hello world\n");
    assert_eq!(cli(&s, &["incr", "n"], b""), "1\n");
    assert_eq!(cli(&s, &["get", "missing"], b""), "\n");
    assert_eq!(
        cli(&s, &["nosuchcommand"], b""),
        "ERR unknown command 'nosuchcommand', with args beginning with: \n\n"
    );
    // Interactive-style input on stdin, one command per line.
    let out = cli(
        &s,
        &[],
        b"set x 10\nincrby x 5\nget x\nexpire x 100\nttl x\nping\n",
    );
    assert_eq!(out, "OK\n15\n15\n1\n100\nPONG\n");
    // RESP3 through redis-cli.
    assert_eq!(cli(&s, &["-3", "get", "missing"], b""), "\n");
}

#[test]
fn pipe_mass_insert_and_scan() {
    if !have_tool("redis-cli") {
        return;
    }
    let s = TestServer::start();
    let mut resp = Vec::new();
    for i in 0..100_000 {
        let (k, v) = (format!("key:{i}"), format!("val:{i}"));
        write!(
            resp,
            "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
            k.len(),
            v.len()
        )
        .unwrap();
    }
    let out = cli(&s, &["--pipe"], &resp);
    assert!(out.contains("errors: 0, replies: 100000"), "{out}");
    assert_eq!(cli(&s, &["dbsize"], b""), "100000\n");
    assert_eq!(cli(&s, &["get", "key:99999"], b""), "val:99999\n");
    let scan = cli(&s, &["--scan", "--pattern", "key:1*"], b"");
    let mut keys: Vec<&str> = scan.lines().collect();
    keys.sort();
    keys.dedup();
    // key:1, key:10..19, key:100..199, key:1000..1999, key:10000..19999
    assert_eq!(keys.len(), 11_111);
    assert!(keys.iter().all(|k| k.starts_with("key:1")));
}
