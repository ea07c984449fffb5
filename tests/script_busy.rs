//! Busy scripts and the clients of the script's *own* worker thread: with
//! `worker-threads 1` every connection made before the script starts is on
//! the worker that runs it. They get `-BUSY` (each pipelined request in
//! order), can SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE, and MULTI
//! behaves as in Redis; connections made while the script is busy go to the
//! spare worker and get the same answers.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{err, q, Raw, TestServer};

const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FN: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
const SPIN: &str = "while true do end";
const SPIN_SHA: &str = "694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7";

/// One worker thread, BUSY after 100 ms. Scripts may call DEBUG SLEEP
/// (DEBUG SET-DISABLE-DENY-SCRIPTS): time stands still inside a script
/// (TIME included, as in Redis 7.2), so that is how one runs for a while.
fn one_worker() -> TestServer {
    let s = TestServer::with_config(|c| {
        c.worker_threads = 1;
        c.busy_reply_threshold = 100;
    });
    let _: () = q(&mut s.conn(), &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    s
}

/// Lua that runs for at least `ms` milliseconds: 1 ms sleeps, each with
/// enough Lua instructions in between for the busy hook to run.
fn busy_for(ms: u64) -> String {
    format!("for i = 1, {ms} do redis.call('debug', 'sleep', '0.001') for j = 1, 5000 do end end")
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut r = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        r.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    r
}

fn line(s: &str) -> Vec<u8> {
    format!("-{s}\r\n").into_bytes()
}

/// Send EVAL/FCALL on a raw connection (its reply is read later) and wait
/// until another connection sees BUSY.
fn start_busy(s: &TestServer, runner: &mut Raw, args: &[&str]) {
    // Connected first: a connection accepted in the instant before the
    // script starts, and not registered by its worker yet, waits for it.
    let mut probe = s.conn();
    probe
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    runner.send(&resp(args));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r: redis::RedisResult<String> = redis::cmd("PING").query(&mut probe);
        if r.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "script never got busy");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn same_worker_clients_get_busy_and_script_kill_works() {
    let s = one_worker();
    // All made before the script: all on the script's worker.
    let mut runner = s.raw();
    let mut c = s.conn();
    let mut raw = s.raw();
    q::<String>(&mut c, &["SET", "k", "v"]);
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // The script's caller pipelines a PING behind it.
    runner.send(&resp(&["EVAL", SPIN, "0"]));
    runner.send(b"PING\r\n");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(err(&mut c, &["PING"]), BUSY);
    assert_eq!(err(&mut c, &["GET", "k"]), BUSY);
    assert_eq!(err(&mut c, &["FUNCTION", "KILL"]), BUSY);
    assert_eq!(err(&mut c, &["SHUTDOWN"]), BUSY);
    // Pipelined: each answered, in order (an arity error first, as Redis).
    let mut want = line(BUSY);
    want.extend(line(BUSY));
    want.extend(line(
        "ERR wrong number of arguments for 'script|kill' command",
    ));
    want.extend(line(BUSY));
    raw.roundtrip(
        b"PING\r\nGET k\r\nSCRIPT KILL x\r\nEVAL \"return 1\" 0\r\n",
        &want,
    );
    // A partial request, finished after a pause.
    raw.send(b"*1\r\n$4\r\nPI");
    thread::sleep(Duration::from_millis(50));
    raw.roundtrip(b"NG\r\n", &line(BUSY));
    // FUNCTION STATS (ALLOW_BUSY) answers: no function runs.
    let stats: redis::Value = q(&mut c, &["FUNCTION", "STATS"]);
    assert!(format!("{stats:?}").contains("running_script"));
    raw.roundtrip(b"SCRIPT KILL\r\n", b"+OK\r\n");
    let killed = format!(
        "-ERR Script killed by user with SCRIPT KILL... script: {SPIN_SHA}, on @user_script:1.\r\n+PONG\r\n"
    );
    runner.expect(killed.as_bytes());
    // Normal service afterwards, on every connection.
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n");
    runner.roundtrip(b"PING\r\n", b"+PONG\r\n");
    raw.roundtrip(
        b"SCRIPT KILL\r\n",
        &line("NOTBUSY No scripts in execution right now."),
    );
}

#[test]
fn new_connection_during_busy_can_kill() {
    let s = one_worker();
    let mut runner = s.raw();
    start_busy(&s, &mut runner, &["EVAL", SPIN, "0"]);
    // A fresh connection (redis-cli SCRIPT KILL) gets through.
    let mut fresh = s.raw();
    fresh.roundtrip(b"PING\r\n", &line(BUSY));
    fresh.roundtrip(b"SCRIPT KILL\r\n", b"+OK\r\n");
    runner.expect(
        format!("-ERR Script killed by user with SCRIPT KILL... script: {SPIN_SHA}, on @user_script:1.\r\n")
            .as_bytes(),
    );
    fresh.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn function_kill_from_same_worker() {
    let s = one_worker();
    let mut c = s.conn();
    let mut runner = s.raw();
    let lib = "#!lua name=t\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "t");
    runner.send(&resp(&["FCALL", "spin", "0"]));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(err(&mut c, &["PING"]), BUSY_FN);
    assert_eq!(err(&mut c, &["SCRIPT", "KILL"]), BUSY_FN);
    let stats: redis::Value = q(&mut c, &["FUNCTION", "STATS"]);
    assert!(format!("{stats:?}").contains("spin"), "{stats:?}");
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "KILL"]), "OK");
    runner.expect(
        b"-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n",
    );
    assert_eq!(
        err(&mut c, &["FUNCTION", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn multi_during_busy() {
    let s = one_worker();
    let mut m = s.raw();
    let mut b = s.raw();
    let mut runner = s.raw();
    m.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    runner.send(&resp(&["EVAL", SPIN, "0"]));
    thread::sleep(Duration::from_millis(300));
    // Refused before it is queued; MULTI nesting and WATCH answer as usual.
    let mut want = line(BUSY);
    want.extend(line("ERR MULTI calls can not be nested"));
    want.extend(line("ERR WATCH inside MULTI is not allowed"));
    m.roundtrip(b"SET a 1\r\nMULTI\r\nWATCH k\r\n", &want);
    // MULTI runs (ALLOW_BUSY); EXEC is refused and discards the transaction.
    let mut want = b"+OK\r\n".to_vec();
    want.extend(line(&format!(
        "EXECABORT Transaction discarded because of: {BUSY}"
    )));
    want.extend(line("ERR DISCARD without MULTI"));
    b.roundtrip(b"MULTI\r\nEXEC\r\nDISCARD\r\n", &want);
    b.roundtrip(b"SCRIPT KILL\r\n", b"+OK\r\n");
    runner.expect(
        format!("-ERR Script killed by user with SCRIPT KILL... script: {SPIN_SHA}, on @user_script:1.\r\n")
            .as_bytes(),
    );
    m.roundtrip(
        b"EXEC\r\n",
        &line("EXECABORT Transaction discarded because of previous errors."),
    );
    m.roundtrip(b"GET a\r\n", b"$-1\r\n");
}

#[test]
fn unkillable_script_then_shutdown_nosave() {
    let s = one_worker();
    let mut c = s.conn();
    let mut runner = s.raw();
    runner.send(&resp(&[
        "EVAL",
        "redis.call('set','x','y') while true do end",
        "0",
    ]));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(err(&mut c, &["SCRIPT", "KILL"]), UNKILLABLE);
    assert_eq!(err(&mut c, &["FUNCTION", "KILL"]), UNKILLABLE);
    assert_eq!(err(&mut c, &["PING"]), BUSY);
    assert_eq!(err(&mut c, &["SHUTDOWN"]), BUSY);
    assert_eq!(err(&mut c, &["SHUTDOWN", "SAVE"]), BUSY);
    let mut raw = s.raw();
    raw.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(raw.is_closed());
    assert!(runner.is_closed());
    // The server is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(s.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn script_ending_by_itself_while_others_wait() {
    let s = one_worker();
    let mut runner = s.raw();
    let mut c = s.raw();
    let mut d = s.conn();
    // Runs about 600 ms, busy after 100.
    let body = format!(
        "{} redis.call('set', 'done', 'yes') return 'finished'",
        busy_for(600)
    );
    runner.send(&resp(&["EVAL", &body, "0"]));
    thread::sleep(Duration::from_millis(250));
    c.roundtrip(b"PING\r\n", &line(BUSY));
    // Requests keep coming while it ends: each gets BUSY or, once it is
    // over, its real answer; none hangs.
    let mut saw_pong = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !saw_pong {
        assert!(Instant::now() < deadline, "never served again");
        c.send(b"PING\r\n");
        let got = c.read_n(7, Duration::from_secs(5));
        if got == b"+PONG\r\n" {
            saw_pong = true;
        } else {
            assert_eq!(got, b"-BUSY R");
            let rest = c.read_n(BUSY.len() + 3 - 7, Duration::from_secs(5));
            assert_eq!(rest.len(), BUSY.len() + 3 - 7);
        }
        thread::sleep(Duration::from_millis(10));
    }
    runner.expect(b"$8\r\nfinished\r\n");
    assert_eq!(q::<String>(&mut d, &["GET", "done"]), "yes");
    // A partial request sent while busy completes after the script.
    runner.send(&resp(&["EVAL", &body, "0"]));
    thread::sleep(Duration::from_millis(250));
    c.send(b"*2\r\n$3\r\nGET\r\n$4\r\ndo");
    thread::sleep(Duration::from_millis(600));
    runner.expect(b"$8\r\nfinished\r\n");
    c.roundtrip(b"ne\r\n", b"$3\r\nyes\r\n");
}

#[test]
fn blocked_client_is_served_after_the_script() {
    let s = one_worker();
    let mut blocked = s.raw();
    let mut c = s.raw();
    let mut runner = s.raw();
    blocked.send(b"BLPOP q 0\r\n");
    thread::sleep(Duration::from_millis(100));
    let body = format!(
        "redis.call('lpush', 'q', 'y') {} redis.call('lpush', 'q', 'z') return 1",
        busy_for(400)
    );
    runner.send(&resp(&["EVAL", &body, "0"]));
    thread::sleep(Duration::from_millis(250));
    // An ALLOW_BUSY command on the same worker does not serve the blocked
    // client mid-script (Redis's "Timedout scripts and unblocked command").
    c.send(b"HELLO 2\r\n");
    assert_eq!(c.read_n(1, Duration::from_secs(5)), b"*");
    runner.expect(b":1\r\n");
    blocked.expect(b"*2\r\n$1\r\nq\r\n$1\r\nz\r\n");
}

#[test]
fn hello_run_while_busy_changes_the_protocol() {
    let s = one_worker();
    let mut c = s.raw();
    let mut runner = s.raw();
    c.roundtrip(b"HSET h a 1\r\n", b":1\r\n");
    start_busy(&s, &mut runner, &["EVAL", SPIN, "0"]);
    c.send(b"HELLO 3\r\n");
    assert_eq!(c.read_n(2, Duration::from_secs(5)), b"%7");
    c.read_n(4096, Duration::from_millis(200));
    c.roundtrip(b"SCRIPT KILL\r\n", b"+OK\r\n");
    runner.read_n(200, Duration::from_millis(500));
    c.roundtrip(b"HGETALL h\r\n", b"%1\r\n$1\r\na\r\n$1\r\n1\r\n");
}

#[test]
fn new_connections_avoid_the_busy_worker() {
    let s = TestServer::with_config(|c| {
        c.worker_threads = 2;
        c.busy_reply_threshold = 100;
    });
    let mut runner = s.raw();
    start_busy(&s, &mut runner, &["EVAL", SPIN, "0"]);
    // Round-robin would put every other one on the script's worker.
    for _ in 0..4 {
        let mut fresh = s.raw();
        fresh.send(b"PING\r\n");
        let got = fresh.read_n(BUSY.len() + 3, Duration::from_secs(2));
        assert_eq!(String::from_utf8_lossy(&got), format!("-{BUSY}\r\n"));
    }
    let mut k = s.conn();
    assert_eq!(q::<String>(&mut k, &["SCRIPT", "KILL"]), "OK");
    runner.read_n(200, Duration::from_millis(500));
}

#[test]
fn pipelined_replies_waiting_for_their_turn_leave_once_busy() {
    // A pipelined batch that ran in the same scheduler turn as a script's
    // EVAL, ahead of it, waits for the turn's end before it writes
    // (src/server/connection.rs). Its replies must still leave once the
    // script is busy, not when it ends.
    let s = one_worker();
    let mut sleeper = s.raw();
    let mut first = s.raw();
    let mut a = s.raw();
    let mut runner = s.raw();
    for c in [&mut sleeper, &mut first, &mut a, &mut runner] {
        c.roundtrip(b"PING\r\n", b"+PONG\r\n");
    }
    // Runs about 1.5 s, busy after 100 ms.
    let body = format!("{} return 1", busy_for(1500));
    // The worker sleeps while the requests arrive, so all are ready in its
    // next turn; `a`'s batch is not the turn's first, so it waits.
    sleeper.send(b"DEBUG SLEEP 0.3\r\n");
    thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    first.send(b"PING\r\n");
    a.send(b"SET k v\r\nGET k\r\n");
    runner.send(&resp(&["EVAL", &body, "0"]));
    let got = a.read_n(12, Duration::from_secs(5));
    let took = sent.elapsed();
    assert_eq!(got, b"+OK\r\n$1\r\nv\r\n");
    assert!(
        took < Duration::from_millis(1200),
        "replies left after {took:?}, when the script ended"
    );
    // Still busy: its next request is served by the hook too.
    a.roundtrip(b"PING\r\n", &line(BUSY));
    runner.expect(b":1\r\n");
    a.roundtrip(b"GET k\r\n", b"$1\r\nv\r\n");
    sleeper.expect(b"+OK\r\n");
    first.expect(b"+PONG\r\n");
}
