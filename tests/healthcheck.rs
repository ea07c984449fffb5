//! `ember-server --health-check`, the probe the container image's HEALTHCHECK
//! runs: exit 0 when the server answers PING (or NOAUTH), 1 when it does not.

mod common;
use common::TestServer;
use std::net::TcpListener;
use std::process::Command;

fn health(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ember-server"))
        .arg("--health-check")
        .args(args)
        .output()
        .expect("ember-server runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn healthy_when_the_server_answers() {
    let s = TestServer::start();
    let port = s.addr.port().to_string();
    let (code, out) = health(&["--port", &port]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PONG"), "{out}");
    // --host, and a bind of every interface mapped to loopback.
    assert_eq!(health(&["--host", "127.0.0.1", "--port", &port]).0, 0);
    assert_eq!(health(&["--port", &port, "--bind", "0.0.0.0"]).0, 0);
    assert_eq!(health(&["--port", &port, "--bind", "*", "-::*"]).0, 0);
}

#[test]
fn healthy_with_a_password_set() {
    let s = TestServer::with_config(|c| c.requirepass = Some(b"secret".to_vec()));
    let (code, out) = health(&["--port", &s.addr.port().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NOAUTH"), "{out}");
}

#[test]
fn reads_port_from_a_config_file() {
    let s = TestServer::start();
    let dir = std::env::temp_dir().join(format!("ember-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ember.conf");
    std::fs::write(&conf, format!("bind 0.0.0.0\nport {}\n", s.addr.port())).unwrap();
    let (code, out) = health(&[conf.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn unhealthy_when_nothing_listens() {
    // A port that was free a moment ago.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, out) = health(&["--port", &port.to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unhealthy"), "{out}");
    // Bad arguments are a failure too, never a panic.
    assert_eq!(health(&["--port", "0"]).0, 1);
    assert_eq!(health(&["--host"]).0, 1);
    assert_eq!(health(&["--nope", "1"]).0, 1);
}

#[test]
fn unhealthy_when_the_reply_is_not_pong() {
    // Something that accepts and answers an error, like a server still loading.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut c, _)) = l.accept() {
            let mut buf = [0u8; 64];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"-LOADING Redis is loading the dataset in memory\r\n");
        }
    });
    let (code, out) = health(&["--port", &port.to_string()]);
    let _ = t.join();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("LOADING"), "{out}");
}
