//! TLS (`tls-port`): certificates made with rcgen at test time, a rustls
//! client over a std socket, client-certificate policies, the plain port
//! alongside, garbage on the TLS port, bad configurations, and redis-cli.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ember::config::Config;
use ember::server::{start, ServerHandle};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A CA, a server certificate (localhost, 127.0.0.1) and a client
/// certificate, written as PEM files into a fresh directory.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn new() -> Certs {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ember-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();

        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Ember Test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let leaf = |names: Vec<String>, cn: &str, eku: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(names).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.extended_key_usages = vec![eku];
            let cert = p.signed_by(&key, &ca).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server, server_key) = leaf(
            vec!["localhost".into(), "127.0.0.1".into()],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client, client_key) = leaf(
            vec!["client".into()],
            "client",
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        // A client certificate from a CA the server does not trust.
        let mut other = CertificateParams::new(vec!["stranger".into()]).unwrap();
        other
            .distinguished_name
            .push(DnType::CommonName, "stranger");
        let other_key = KeyPair::generate().unwrap();
        let other = other.self_signed(&other_key).unwrap();

        for (name, text) in [
            ("ca.pem", ca.pem()),
            ("server.pem", server),
            ("server.key", server_key),
            ("client.pem", client),
            ("client.key", client_key),
            ("other.pem", other.pem()),
            ("other.key", other_key.serialize_pem()),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Certs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A config serving TLS on a free port, with `auth` as tls-auth-clients.
    fn config(&self, auth: &str) -> Config {
        Config {
            worker_threads: 2,
            save: String::new(),
            dir: self.dir.to_string_lossy().into_owned(),
            bind: vec!["127.0.0.1".into()],
            port: 0,
            tls_port: free_port(),
            tls_cert_file: self.path("server.pem"),
            tls_key_file: self.path("server.key"),
            tls_ca_cert_file: self.path("ca.pem"),
            tls_auth_clients: auth.into(),
            ..Config::default()
        }
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Start a server; a free port taken meanwhile is retried with another.
fn serve(mut c: Config) -> ServerHandle {
    for _ in 0..5 {
        match start(c.clone()) {
            Ok(h) => return h,
            Err(e) if e.to_string().contains("in use") => c.tls_port = free_port(),
            Err(e) => panic!("server starts: {e}"),
        }
    }
    panic!("no free port");
}

fn load_certs(path: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS client trusting the test CA, presenting `identity` (cert, key) if given.
fn connect(
    certs: &Certs,
    addr: SocketAddr,
    identity: Option<(&str, &str)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<Tls> {
    connect_within(certs, addr, identity, versions, Duration::from_secs(5))
}

fn connect_within(
    certs: &Certs,
    addr: SocketAddr,
    identity: Option<(&str, &str)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    timeout: Duration,
) -> std::io::Result<Tls> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(&certs.path("ca.pem")) {
        roots.add(c).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => b
            .with_client_auth_cert(
                load_certs(&certs.path(cert)),
                PrivateKeyDer::from_pem_file(certs.path(key)).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(timeout))?;
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Send `req`, read exactly `want.len()` bytes.
fn roundtrip(s: &mut impl ReadWrite, req: &[u8], want: &[u8]) -> std::io::Result<()> {
    s.write_all(req)?;
    s.flush()?;
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got)?;
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    Ok(())
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn ping_set_get(s: &mut impl ReadWrite) -> std::io::Result<()> {
    roundtrip(s, b"PING\r\n", b"+PONG\r\n")?;
    roundtrip(
        s,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n",
        b"+OK\r\n",
    )?;
    roundtrip(s, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"$5\r\nhello\r\n")?;
    // A pipeline bigger than one TLS record.
    let big = "x".repeat(100_000);
    let req = format!(
        "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{big}\r\n*2\r\n$6\r\nSTRLEN\r\n$3\r\nbig\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n",
        big.len()
    );
    roundtrip(
        s,
        req.as_bytes(),
        format!("+OK\r\n:100000\r\n$100000\r\n{big}\r\n").as_bytes(),
    )
}

/// Whether a client without an accepted certificate gets no reply.
fn refused(r: std::io::Result<Tls>) -> bool {
    match r {
        Err(_) => true,
        // TLS 1.3: the server's verdict on the client certificate arrives
        // after the client's side of the handshake is done.
        Ok(mut s) => roundtrip(&mut s, b"PING\r\n", b"+PONG\r\n").is_err(),
    }
}

#[test]
fn client_certificate_required_by_default() {
    let certs = Certs::new();
    assert_eq!(Config::default().tls_auth_clients, "yes");
    let h = serve(certs.config("yes"));
    let addr = h.tls_addrs[0];
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let mut s = connect(&certs, addr, Some(("client.pem", "client.key")), versions).unwrap();
        ping_set_get(&mut s).unwrap();
        assert!(refused(connect(&certs, addr, None, versions)));
        assert!(refused(connect(
            &certs,
            addr,
            Some(("other.pem", "other.key")),
            versions
        )));
        // The good connection is unaffected.
        roundtrip(&mut s, b"PING\r\n", b"+PONG\r\n").unwrap();
    }
    h.stop();
}

#[test]
fn optional_and_no_client_auth() {
    let certs = Certs::new();
    let h = serve(certs.config("optional"));
    let addr = h.tls_addrs[0];
    ping_set_get(&mut connect(&certs, addr, None, BOTH).unwrap()).unwrap();
    ping_set_get(&mut connect(&certs, addr, Some(("client.pem", "client.key")), BOTH).unwrap())
        .unwrap();
    // Optional still verifies a certificate that is presented.
    assert!(refused(connect(
        &certs,
        addr,
        Some(("other.pem", "other.key")),
        BOTH
    )));
    h.stop();

    // `no` needs no CA at all.
    let mut c = certs.config("no");
    c.tls_ca_cert_file = String::new();
    let h = serve(c);
    ping_set_get(&mut connect(&certs, h.tls_addrs[0], None, BOTH).unwrap()).unwrap();
    h.stop();
}

#[test]
fn plain_port_alongside_and_garbage_clients() {
    let certs = Certs::new();
    let mut c = certs.config("optional");
    c.port = free_port();
    let h = serve(c);
    assert_eq!(h.addrs.len(), 2, "{:?}", h.addrs);
    let plain = h.addrs[0];
    let tls_addr = h.tls_addrs[0];
    assert_ne!(plain.port(), tls_addr.port());
    assert_eq!(h.server.port(), plain.port());

    let mut p = TcpStream::connect(plain).unwrap();
    p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut t = connect(&certs, tls_addr, None, BOTH).unwrap();
    roundtrip(&mut p, b"SET shared 1\r\n", b"+OK\r\n").unwrap();
    roundtrip(&mut t, b"GET shared\r\n", b"$1\r\n1\r\n").unwrap();
    // CLIENT LIST sees both, with their addresses and fds.
    t.write_all(b"CLIENT LIST\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let n = t.read(&mut buf).unwrap();
    let list = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert_eq!(list.matches("id=").count(), 2, "{list}");
    assert!(list.contains(&format!("laddr={tls_addr}")), "{list}");
    assert!(list.contains(&format!("laddr={plain}")), "{list}");
    assert!(!list.contains("fd=-1"), "{list}");

    // Plain RESP on the TLS port: dropped, nobody else is disturbed.
    let mut g = TcpStream::connect(tls_addr).unwrap();
    g.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    g.write_all(b"PING\r\n").unwrap();
    let mut b = [0u8; 64];
    let n = g.read(&mut b).unwrap_or(0);
    assert!(!b[..n].starts_with(b"+PONG"));
    // Random bytes and a client that never speaks.
    let mut g2 = TcpStream::connect(tls_addr).unwrap();
    g2.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3])
        .unwrap();
    let _silent = TcpStream::connect(tls_addr).unwrap();
    // A TLS client on the plain port gets no TLS (its hello is an
    // unfinished inline command there, as in Redis).
    assert!(connect_within(&certs, plain, None, BOTH, Duration::from_millis(300)).is_err());

    roundtrip(&mut p, b"PING\r\n", b"+PONG\r\n").unwrap();
    roundtrip(&mut t, b"PING\r\n", b"+PONG\r\n").unwrap();
    ping_set_get(&mut connect(&certs, tls_addr, None, BOTH).unwrap()).unwrap();
    h.stop();
}

#[test]
fn tls_only_with_port_zero() {
    let certs = Certs::new();
    let mut c = certs.config("no");
    c.tls_ca_cert_file = String::new();
    // port 0 stays an ephemeral plain port without TLS; with tls-port it
    // means TLS only.
    c.port = 0;
    let h = serve(c);
    assert_eq!(h.addrs, h.tls_addrs);
    assert_eq!(h.server.port(), 0);
    ping_set_get(&mut connect(&certs, h.addr(), None, BOTH).unwrap()).unwrap();
    h.stop();
}

#[test]
fn protocols_and_ciphersuites() {
    let certs = Certs::new();
    let mut c = certs.config("optional");
    c.tls_protocols = "TLSv1.3".into();
    c.tls_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256".into();
    c.tls_ciphers = "DEFAULT:!MEDIUM".into();
    let h = serve(c);
    let addr = h.tls_addrs[0];
    let s = connect(&certs, addr, None, &[&rustls::version::TLS13]).unwrap();
    assert_eq!(
        format!("{:?}", s.conn.negotiated_cipher_suite().unwrap().suite()),
        "TLS13_CHACHA20_POLY1305_SHA256"
    );
    assert!(connect(&certs, addr, None, &[&rustls::version::TLS12]).is_err());
    h.stop();

    let mut c = certs.config("optional");
    c.tls_protocols = "TLSv1.2".into();
    let h = serve(c);
    let addr = h.tls_addrs[0];
    ping_set_get(&mut connect(&certs, addr, None, &[&rustls::version::TLS12]).unwrap()).unwrap();
    assert!(connect(&certs, addr, None, &[&rustls::version::TLS13]).is_err());
    h.stop();
}

/// Bad TLS settings stop the server from starting, with a clear error.
#[test]
fn bad_configuration_refuses_to_start() {
    let certs = Certs::new();
    let fails = |f: &dyn Fn(&mut Config), want: &str| {
        let mut c = certs.config("yes");
        f(&mut c);
        match start(c) {
            Ok(h) => {
                h.stop();
                panic!("server started; wanted an error with {want:?}");
            }
            Err(e) => assert!(e.to_string().contains(want), "{e} (wanted {want:?})"),
        }
    };
    let garbage = certs.path("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = certs.path("missing.pem");
    fails(&|c| c.tls_cert_file = missing.clone(), "missing.pem");
    fails(&|c| c.tls_key_file = missing.clone(), "missing.pem");
    fails(&|c| c.tls_ca_cert_file = missing.clone(), "missing.pem");
    fails(&|c| c.tls_cert_file = garbage.clone(), "garbage.pem");
    fails(&|c| c.tls_key_file = garbage.clone(), "private key");
    fails(&|c| c.tls_cert_file = String::new(), "tls-cert-file");
    // The key of another certificate.
    fails(&|c| c.tls_key_file = certs.path("client.key"), "key");
    fails(
        &|c| c.tls_ca_cert_file = String::new(),
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified",
    );
    fails(
        &|c| c.tls_protocols = "SSLv3".into(),
        "Invalid tls-protocols",
    );
    fails(
        &|c| c.tls_ciphersuites = "TLS_NOPE".into(),
        "Invalid tls-ciphersuites",
    );
    fails(
        &|c| c.tls_ciphers = "RC4-MD5:DHE-RSA-AES128-SHA".into(),
        "Invalid tls-ciphers",
    );
}

/// As with OpenSSL, cipher entries rustls cannot do are skipped, not fatal:
/// common hardened lists (Mozilla's "intermediate", with DHE entries) and
/// TLS 1.3 lists naming the CCM suites load; only an empty result fails.
#[test]
fn cipher_lists_skip_what_rustls_cannot_do() {
    let tls12 = ember::server::tls::tls12_cipher_list;
    let tls13 = ember::server::tls::tls13_cipher_list;
    let mozilla = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
        ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
        ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:\
        DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
    assert_eq!(tls12(mozilla).unwrap().len(), 6);
    assert_eq!(tls12("EECDH+AESGCM:EDH+AESGCM").unwrap().len(), 4);
    assert_eq!(
        tls12("ECDHE-RSA-AES128-GCM-SHA256;RC4-MD5").unwrap().len(),
        1
    );
    assert!(tls12("RC4-MD5:kRSA").is_err());
    let l = tls13("TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256").unwrap();
    assert_eq!(l.len(), 1);
    assert!(tls13("TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256").is_err());
}

/// The CA may come from a directory instead of a file.
#[test]
fn ca_cert_dir() {
    let certs = Certs::new();
    let cadir = certs.dir.join("cadir");
    std::fs::create_dir_all(&cadir).unwrap();
    std::fs::copy(certs.path("ca.pem"), cadir.join("ca.pem")).unwrap();
    std::fs::write(cadir.join("README"), "not a certificate").unwrap();
    let mut c = certs.config("yes");
    c.tls_ca_cert_file = String::new();
    c.tls_ca_cert_dir = cadir.to_string_lossy().into_owned();
    let h = serve(c);
    let addr = h.tls_addrs[0];
    ping_set_get(&mut connect(&certs, addr, Some(("client.pem", "client.key")), BOTH).unwrap())
        .unwrap();
    assert!(refused(connect(&certs, addr, None, BOTH)));
    h.stop();
}

/// The parameters through the config file syntax and CONFIG GET.
#[test]
fn parameters_in_config_and_config_get() {
    let certs = Certs::new();
    let file = certs.dir.join("ember.conf");
    let port = free_port();
    std::fs::write(
        &file,
        format!(
            "tls-port {port}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
             tls-auth-clients optional\ntls-protocols \"TLSv1.2 TLSv1.3\"\n\
             tls-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384\n\
             tls-ciphers DEFAULT\nport 0\nbind 127.0.0.1\nsave \"\"\n\
             tls-dh-params-file /nonexistent/dh.pem\ntls-replication yes\ntls-cluster yes\n\
             tls-client-key-file-pass secret\n",
            certs.path("server.pem"),
            certs.path("server.key"),
            certs.path("ca.pem"),
        ),
    )
    .unwrap();
    let mut c = Config::default();
    c.load_file(&file).unwrap();
    c.worker_threads = 1;
    c.dir = certs.dir.to_string_lossy().into_owned();
    assert_eq!(c.tls_port, port);
    assert_eq!(c.tls_auth_clients, "optional");
    // Redis's directives Ember accepts without effect.
    assert!(c.tls_replication && c.tls_cluster);
    assert_eq!(c.tls_dh_params_file, "/nonexistent/dh.pem");
    let mut bad = Config::default();
    let badfile = certs.dir.join("bad.conf");
    std::fs::write(&badfile, "tls-auth-clients maybe\n").unwrap();
    assert!(bad.load_file(&badfile).is_err());

    let h = serve(c);
    let mut s = connect(&certs, h.addr(), None, BOTH).unwrap();
    s.write_all(b"CONFIG GET tls-auth-clients\r\n").unwrap();
    let want = b"*2\r\n$16\r\ntls-auth-clients\r\n$8\r\noptional\r\n";
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
    roundtrip(
        &mut s,
        b"CONFIG GET tls-port\r\n",
        format!(
            "*2\r\n$8\r\ntls-port\r\n${}\r\n{port}\r\n",
            port.to_string().len()
        )
        .as_bytes(),
    )
    .unwrap();
    h.stop();
}

/// redis-cli's own TLS (OpenSSL) against Ember's (rustls).
#[test]
fn redis_cli_over_tls() {
    if !common::have_tool("redis-cli") {
        return;
    }
    let certs = Certs::new();
    let h = serve(certs.config("yes"));
    let port = h.tls_addrs[0].port().to_string();
    let cli = |with_cert: bool, args: &[&str]| {
        let mut cmd = std::process::Command::new("redis-cli");
        cmd.args(["--tls", "--cacert", &certs.path("ca.pem")]);
        if with_cert {
            cmd.args(["--cert", &certs.path("client.pem")]);
            cmd.args(["--key", &certs.path("client.key")]);
        }
        cmd.args(["-h", "127.0.0.1", "-p", &port]).args(args);
        let out = cmd.output().expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    assert_eq!(cli(true, &["ping"]).trim(), "PONG");
    assert_eq!(cli(true, &["set", "cli", "v"]).trim(), "OK");
    assert_eq!(cli(true, &["get", "cli"]).trim(), "v");
    assert_ne!(cli(false, &["ping"]).trim(), "PONG");
    h.stop();
}

/// A client config trusting `certs`' CA, offering only `suites` (their
/// order is the client's preference), no client certificate.
fn client_config(
    certs: &Certs,
    suites: &[rustls::SupportedCipherSuite],
) -> Arc<rustls::ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !suites.is_empty() {
        provider.cipher_suites = suites.to_vec();
    }
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    for v in [&rustls::version::TLS13, &rustls::version::TLS12] {
        if provider.cipher_suites.iter().any(|s| s.version() == v) {
            versions.push(v);
        }
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(&certs.path("ca.pem")) {
        roots.add(c).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Handshake with `config` and answer one PING (which also takes in the
/// session tickets TLS 1.3 sends after the handshake).
fn connect_config(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Tls> {
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let conn =
        rustls::ClientConnection::new(config.clone(), ServerName::try_from("localhost").unwrap())
            .map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    roundtrip(&mut tls, b"PING\r\n", b"+PONG\r\n")?;
    Ok(tls)
}

fn suite_name(s: &Tls) -> String {
    format!("{:?}", s.conn.negotiated_cipher_suite().unwrap().suite())
}

/// tls-ciphers (TLS 1.2, OpenSSL syntax) and tls-ciphersuites (TLS 1.3)
/// restrict what a client can negotiate; tls-prefer-server-ciphers picks
/// the server's order.
#[test]
fn cipher_restrictions_and_server_preference() {
    use rustls::crypto::ring::cipher_suite as cs;
    let certs = Certs::new();
    // rcgen's keys are ECDSA: the TLS 1.2 suites are the ECDSA ones.
    let mut c = certs.config("no");
    c.tls_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:!aRSA".into();
    c.tls_ciphersuites = "TLS_AES_256_GCM_SHA384".into();
    let h = serve(c);
    let addr = h.tls_addrs[0];
    for (suite, ok) in [
        (cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true),
        (cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false),
        (cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false),
        (cs::TLS13_AES_256_GCM_SHA384, true),
        (cs::TLS13_AES_128_GCM_SHA256, false),
        (cs::TLS13_CHACHA20_POLY1305_SHA256, false),
    ] {
        let r = connect_config(addr, &client_config(&certs, &[suite]));
        assert_eq!(r.is_ok(), ok, "{:?}: {:?}", suite.suite(), r.err());
        if let Ok(s) = r {
            assert_eq!(suite_name(&s), format!("{:?}", suite.suite()));
        }
    }
    // A client offering everything gets an allowed suite.
    let s = connect_config(addr, &client_config(&certs, &[])).unwrap();
    assert_eq!(suite_name(&s), "TLS13_AES_256_GCM_SHA384");
    h.stop();

    // Client order by default, the server's with tls-prefer-server-ciphers.
    let client = client_config(
        &certs,
        &[
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_CHACHA20_POLY1305_SHA256,
        ],
    );
    for (prefer, want) in [
        (false, "TLS13_AES_128_GCM_SHA256"),
        (true, "TLS13_CHACHA20_POLY1305_SHA256"),
    ] {
        let mut c = certs.config("no");
        c.tls_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256".into();
        c.tls_prefer_server_ciphers = prefer;
        let h = serve(c);
        let s = connect_config(h.tls_addrs[0], &client).unwrap();
        assert_eq!(suite_name(&s), want, "prefer {prefer}");
        h.stop();
    }

    // Lists that name nothing rustls can do refuse to start.
    for (ciphers, suites) in [
        ("RC4-MD5", ""),
        ("DHE-RSA-AES256-GCM-SHA384", ""),
        ("ALL:!ECDHE", ""),
        ("", "TLS_AES_128_CCM_SHA256"),
    ] {
        let mut c = certs.config("no");
        c.tls_ciphers = ciphers.into();
        c.tls_ciphersuites = suites.into();
        match start(c) {
            Ok(h) => {
                h.stop();
                panic!("started with {ciphers:?} / {suites:?}");
            }
            Err(e) => assert!(e.to_string().contains("Invalid tls-cipher"), "{e}"),
        }
    }
}

/// tls-session-caching: a second connection resumes the first's session,
/// unless caching is off.
#[test]
fn session_caching() {
    let certs = Certs::new();
    for versions in [&rustls::version::TLS13, &rustls::version::TLS12] {
        for caching in [true, false] {
            let mut c = certs.config("no");
            c.tls_session_caching = caching;
            let h = serve(c);
            let suites: Vec<_> = rustls::crypto::ring::ALL_CIPHER_SUITES
                .iter()
                .filter(|s| s.version() == versions)
                .copied()
                .collect();
            let client = client_config(&certs, &suites);
            let first = connect_config(h.tls_addrs[0], &client).unwrap();
            assert_eq!(
                first.conn.handshake_kind(),
                Some(rustls::HandshakeKind::Full)
            );
            let second = connect_config(h.tls_addrs[0], &client).unwrap();
            let want = if caching {
                rustls::HandshakeKind::Resumed
            } else {
                rustls::HandshakeKind::Full
            };
            assert_eq!(
                second.conn.handshake_kind(),
                Some(want),
                "{versions:?} caching {caching}"
            );
            h.stop();
        }
    }
    // Sessions older than tls-session-cache-timeout are not resumed.
    let mut c = certs.config("no");
    c.tls_session_cache_timeout = 1;
    let h = serve(c);
    let client = client_config(&certs, &[]);
    connect_config(h.tls_addrs[0], &client).unwrap();
    let soon = connect_config(h.tls_addrs[0], &client).unwrap();
    assert_eq!(
        soon.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    std::thread::sleep(Duration::from_millis(1100));
    let late = connect_config(h.tls_addrs[0], &client).unwrap();
    assert_eq!(
        late.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Full)
    );
    h.stop();
}

/// One RESP command over a connection: a simple reply as its line, a bulk
/// as its text, an array as its elements joined by spaces.
fn command(s: &mut impl ReadWrite, args: &[&str]) -> String {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).unwrap();
    s.flush().unwrap();
    read_reply(s)
}

fn read_reply(s: &mut impl ReadWrite) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        s.read_exact(&mut b).unwrap();
        line.push(b[0]);
    }
    let line = String::from_utf8_lossy(&line).trim_end().to_string();
    if let Some(n) = line.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
        let mut body = vec![0u8; n + 2];
        s.read_exact(&mut body).unwrap();
        return String::from_utf8_lossy(&body[..n]).into_owned();
    }
    if let Some(n) = line.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) {
        return (0..n).map(|_| read_reply(s)).collect::<Vec<_>>().join(" ");
    }
    line
}

/// CONFIG SET of the certificate: new connections get the new one, the
/// old connection keeps working; a failed CONFIG SET keeps the old config.
#[test]
fn config_set_rotates_the_certificate() {
    let certs = Certs::new();
    let other = Certs::new(); // another CA, another server certificate
    let live_cert = certs.path("live.pem");
    let live_key = certs.path("live.key");
    std::fs::copy(certs.path("server.pem"), &live_cert).unwrap();
    std::fs::copy(certs.path("server.key"), &live_key).unwrap();
    let mut c = certs.config("no");
    c.tls_cert_file = live_cert.clone();
    c.tls_key_file = live_key.clone();
    let h = serve(c);
    let addr = h.tls_addrs[0];
    let old_ca = client_config(&certs, &[]);
    let new_ca = client_config(&other, &[]);
    let mut s = connect_config(addr, &old_ca).unwrap();
    assert!(connect_config(addr, &new_ca).is_err());

    // Failures answer Redis's text and change nothing.
    let failed = "-ERR CONFIG SET failed (possibly related to argument";
    let tls_failed = "- Unable to update TLS configuration. Check server logs.";
    for args in [
        &["tls-cert-file", "/nonexistent/cert.pem"][..],
        &["tls-key-file", &certs.path("client.key")],
        &["tls-key-file", &certs.path("ca.pem")],
        &["tls-ciphers", "RC4-MD5"],
        &["tls-ciphersuites", "TLS_NOPE"],
        &["tls-protocols", "SSLv3"],
        &["tls-ca-cert-file", "", "tls-auth-clients", "yes"],
        &["tls-cert-file", &other.path("server.pem")], // the old key does not match
    ] {
        let mut cmd = vec!["CONFIG", "SET"];
        cmd.extend_from_slice(args);
        let r = command(&mut s, &cmd);
        assert!(r.starts_with(failed), "{args:?}: {r}");
        assert!(r.ends_with(tls_failed), "{args:?}: {r}");
        assert!(r.contains(&format!("'{}'", args[0])), "{args:?}: {r}");
    }
    assert_eq!(
        command(&mut s, &["CONFIG", "GET", "tls-cert-file"]),
        format!("tls-cert-file {live_cert}")
    );
    assert_eq!(command(&mut s, &["GET", "nothing"]), "$-1");
    connect_config(addr, &old_ca).unwrap();
    assert!(connect_config(addr, &new_ca).is_err());

    // Both files in one CONFIG SET.
    assert_eq!(
        command(
            &mut s,
            &[
                "CONFIG",
                "SET",
                "tls-cert-file",
                &other.path("server.pem"),
                "tls-key-file",
                &other.path("server.key")
            ]
        ),
        "+OK"
    );
    connect_config(addr, &new_ca).unwrap();
    assert!(connect_config(addr, &old_ca).is_err());
    // The connection made before the change is still served.
    assert_eq!(command(&mut s, &["PING"]), "+PONG");

    // Same path, new contents (a renewed certificate): setting the
    // parameter to its current value reloads the file.
    assert_eq!(
        command(
            &mut s,
            &[
                "CONFIG",
                "SET",
                "tls-cert-file",
                &live_cert,
                "tls-key-file",
                &live_key
            ]
        ),
        "+OK"
    );
    connect_config(addr, &old_ca).unwrap();
    std::fs::copy(other.path("server.pem"), &live_cert).unwrap();
    std::fs::copy(other.path("server.key"), &live_key).unwrap();
    assert_eq!(
        command(&mut s, &["CONFIG", "SET", "tls-cert-file", &live_cert]),
        "+OK"
    );
    connect_config(addr, &new_ca).unwrap();
    assert!(connect_config(addr, &old_ca).is_err());
    h.stop();
}

/// CONFIG SET tls-protocols / tls-auth-clients / tls-ciphersuites apply to
/// new connections.
#[test]
fn config_set_policies_for_new_connections() {
    let certs = Certs::new();
    let h = serve(certs.config("no"));
    let addr = h.tls_addrs[0];
    let mut s = connect(&certs, addr, None, BOTH).unwrap();
    let set = |s: &mut Tls, k: &str, v: &str| command(s, &["CONFIG", "SET", k, v]);
    assert_eq!(set(&mut s, "tls-protocols", "TLSv1.2"), "+OK");
    assert!(connect(&certs, addr, None, &[&rustls::version::TLS13]).is_err());
    ping_set_get(&mut connect(&certs, addr, None, &[&rustls::version::TLS12]).unwrap()).unwrap();
    assert_eq!(set(&mut s, "tls-protocols", ""), "+OK");
    assert_eq!(set(&mut s, "tls-auth-clients", "yes"), "+OK");
    assert!(refused(connect(&certs, addr, None, BOTH)));
    ping_set_get(&mut connect(&certs, addr, Some(("client.pem", "client.key")), BOTH).unwrap())
        .unwrap();
    assert_eq!(set(&mut s, "tls-auth-clients", "no"), "+OK");
    assert_eq!(
        set(&mut s, "tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"),
        "+OK"
    );
    let t = connect(&certs, addr, None, &[&rustls::version::TLS13]).unwrap();
    assert_eq!(suite_name(&t), "TLS13_CHACHA20_POLY1305_SHA256");
    assert_eq!(
        command(&mut s, &["CONFIG", "GET", "tls-ciphersuites"]),
        "tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256"
    );
    // The first connection negotiated before all this and is still served.
    assert_eq!(command(&mut s, &["PING"]), "+PONG");
    h.stop();
}

/// CONFIG SET tls-port starts, moves and stops the TLS listener; CONFIG SET
/// port moves the plain one. A port that cannot be bound keeps the old.
#[test]
fn config_set_ports() {
    let certs = Certs::new();
    let mut c = certs.config("no");
    c.tls_port = 0;
    c.port = free_port();
    let h = serve(c);
    let plain = h.addr();
    let mut p = TcpStream::connect(plain).unwrap();
    p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let at = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };

    // TLS cannot start without a usable certificate (the file parameters
    // are not applied while TLS is off, as in Redis).
    let cert = certs.path("server.pem");
    assert_eq!(
        command(&mut p, &["CONFIG", "SET", "tls-cert-file", "/nonexistent"]),
        "+OK"
    );
    assert_eq!(
        command(&mut p, &["CONFIG", "SET", "tls-port", &free_port().to_string()]),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to update TLS configuration. Check server logs."
    );
    assert_eq!(
        command(&mut p, &["CONFIG", "GET", "tls-port"]),
        "tls-port 0"
    );
    assert_eq!(
        command(&mut p, &["CONFIG", "SET", "tls-cert-file", &cert]),
        "+OK"
    );

    let t1 = free_port();
    assert_eq!(
        command(&mut p, &["CONFIG", "SET", "tls-port", &t1.to_string()]),
        "+OK"
    );
    ping_set_get(&mut connect(&certs, at(t1), None, BOTH).unwrap()).unwrap();
    let mut old_tls = connect(&certs, at(t1), None, BOTH).unwrap();
    let t2 = free_port();
    assert_eq!(
        command(&mut p, &["CONFIG", "SET", "tls-port", &t2.to_string()]),
        "+OK"
    );
    ping_set_get(&mut connect(&certs, at(t2), None, BOTH).unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(connect(&certs, at(t1), None, BOTH).is_err());
    // A connection accepted on the old port stays.
    assert_eq!(command(&mut old_tls, &["PING"]), "+PONG");

    // Ports in use: an error, and the old listener keeps serving.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    for name in ["port", "tls-port"] {
        assert_eq!(
            command(&mut p, &["CONFIG", "SET", name, &busy_port]),
            format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - Unable to listen on this port. Check server logs.")
        );
    }
    assert_eq!(
        command(&mut p, &["CONFIG", "GET", "tls-port"]),
        format!("tls-port {t2}")
    );
    connect(&certs, at(t2), None, BOTH).unwrap();

    // tls-port 0 stops TLS.
    assert_eq!(
        command(&mut old_tls, &["CONFIG", "SET", "tls-port", "0"]),
        "+OK"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(connect(&certs, at(t2), None, BOTH).is_err());

    // The plain port moves; INFO reports the new one.
    let p2 = free_port();
    assert_eq!(
        command(&mut p, &["CONFIG", "SET", "port", &p2.to_string()]),
        "+OK"
    );
    let mut q = TcpStream::connect(at(p2)).unwrap();
    q.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(command(&mut q, &["PING"]), "+PONG");
    let info = command(&mut q, &["INFO", "server"]);
    assert!(info.contains(&format!("tcp_port:{p2}\r\n")), "{info}");
    assert_eq!(h.server.port(), p2);
    std::thread::sleep(Duration::from_millis(100));
    assert!(TcpStream::connect(plain).is_err());
    assert_eq!(command(&mut p, &["PING"]), "+PONG");

    // One port switched between plain and TLS (Redis's "switch between tcp
    // and tls ports"): each CONFIG SET closes its port before answering.
    let p2s = p2.to_string();
    assert_eq!(command(&mut q, &["CONFIG", "SET", "port", "0"]), "+OK");
    assert_eq!(command(&mut q, &["CONFIG", "SET", "tls-port", &p2s]), "+OK");
    let mut t = connect(&certs, at(p2), None, BOTH).unwrap();
    assert_eq!(command(&mut t, &["CONFIG", "SET", "tls-port", "0"]), "+OK");
    assert_eq!(command(&mut t, &["CONFIG", "SET", "port", &p2s]), "+OK");
    let mut r = TcpStream::connect(at(p2)).unwrap();
    r.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(command(&mut r, &["PING"]), "+PONG");

    h.stop();
}

/// `--health-check` with `port 0` and a tls-port probes over TLS, with a
/// client certificate when the server wants one.
#[test]
fn health_check_over_tls() {
    let certs = Certs::new();
    let health = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ember-server"))
            .arg("--health-check")
            .args(args)
            .output()
            .expect("ember-server runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    };
    let h = serve(certs.config("yes"));
    let port = h.tls_addrs[0].port();
    let conf = certs.dir.join("health.conf");
    let write_conf = |extra: &str| {
        std::fs::write(
            &conf,
            format!(
                "bind 127.0.0.1\nport 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\n\
                 tls-ca-cert-file {}\n{extra}",
                certs.path("server.pem"),
                certs.path("server.key"),
                certs.path("ca.pem"),
            ),
        )
        .unwrap();
    };
    let conf_s = conf.to_string_lossy().into_owned();
    // Mutual TLS: the client certificate is presented.
    write_conf(&format!(
        "tls-client-cert-file {}\ntls-client-key-file {}\n",
        certs.path("client.pem"),
        certs.path("client.key")
    ));
    let (code, out) = health(&[&conf_s]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("healthy") && out.contains("PONG"), "{out}");
    // The server certificate is no client certificate (serverAuth only):
    // the server refuses it, and the probe says so.
    write_conf("");
    let (code, out) = health(&[&conf_s]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unhealthy"), "{out}");
    h.stop();

    // Without client authentication nothing is presented.
    let mut c = certs.config("no");
    c.tls_port = port;
    let h = serve(c);
    write_conf("tls-auth-clients no\n");
    let (code, out) = health(&[&conf_s]);
    assert_eq!(code, 0, "{out}");
    // Flags work as for the plain port.
    let p = h.tls_addrs[0].port().to_string();
    let (code, out) = health(&[
        "--port",
        "0",
        "--tls-port",
        &p,
        "--tls-auth-clients",
        "no",
        "--host",
        "127.0.0.1",
    ]);
    assert_eq!(code, 0, "{out}");
    h.stop();
    std::thread::sleep(Duration::from_millis(100));
    // Nothing listens any more.
    let (code, out) = health(&[&conf_s]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unhealthy"), "{out}");
    // A plain server on a TLS probe's port: not healthy either.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let lp = l.local_addr().unwrap().port().to_string();
    let t = std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"-ERR unknown command\r\n");
        }
    });
    let (code, out) = health(&["--port", "0", "--tls-port", &lp, "--tls-auth-clients", "no"]);
    assert_eq!(code, 1, "{out}");
    let _ = t.join();
}

/// tls-ciphers selects what OpenSSL's own parser selects among the suites
/// rustls has, in the same order (checked with the `openssl` tool).
#[test]
fn cipher_lists_agree_with_openssl() {
    if !common::have_tool("openssl") {
        return;
    }
    let ours = ember::server::tls::tls12_cipher_list;
    let known: Vec<String> = ours("ALL")
        .unwrap()
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    for spec in [
        "ALL",
        "DEFAULT",
        "HIGH:!aNULL:!MD5",
        "HIGH:!aNULL:!MD5:!aECDSA:-CHACHA20",
        "ECDHE+AES128:ECDHE+CHACHA20:+aECDSA",
        "!CHACHA20:AES128:ALL:@STRENGTH",
        "ALL:-AES:AES256",
        "AES128:ALL:+AES128",
        "CHACHA20:AES128:@STRENGTH",
        "ECDHE-RSA-AES128-GCM-SHA256,AES256 CHACHA20",
        "aRSA+AESGCM:aECDSA",
        "kEECDH+AES256:EECDH+CHACHA20",
        "SUITEB128",
        "SUITEB192",
        "DEFAULT:!ECDSA:@SECLEVEL=1",
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
    ] {
        let out = std::process::Command::new("openssl")
            .args(["ciphers", "-stdname", "-s", "-tls1_2", spec])
            .output()
            .unwrap();
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| known.iter().any(|k| k == n))
            .map(String::from)
            .collect();
        let mine: Vec<String> = ours(spec)
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(mine, theirs, "{spec}");
    }
}

/// A TLS client idle for more than 2 s loses its query buffer like a plain
/// one (server::trim), and then still serves requests bigger than a TLS
/// record: the first read after the idle spell is small, and what rustls
/// holds decrypted is read next.
#[test]
fn idle_tls_client_gives_back_its_query_buffer() {
    let certs = Certs::new();
    let mut c = certs.config("optional");
    c.port = free_port();
    let h = serve(c);
    let mut p = TcpStream::connect(h.addrs[0]).unwrap();
    p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut t = connect(&certs, h.tls_addrs[0], None, BOTH).unwrap();
    roundtrip(&mut t, b"CLIENT SETNAME tlsidle\r\n", b"+OK\r\n").unwrap();
    let qbuf_free = |p: &mut TcpStream| {
        let list = command(p, &["CLIENT", "LIST"]);
        let line = list
            .lines()
            .find(|l| l.contains("name=tlsidle "))
            .unwrap_or_else(|| panic!("{list}"))
            .to_string();
        let free = line.split(' ').find_map(|kv| kv.strip_prefix("qbuf-free="));
        free.and_then(|v| v.parse::<u64>().ok()).unwrap()
    };
    assert!(qbuf_free(&mut p) >= 16384);
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    while qbuf_free(&mut p) != 0 {
        assert!(std::time::Instant::now() < deadline, "query buffer kept");
        std::thread::sleep(Duration::from_millis(50));
    }
    ping_set_get(&mut t).unwrap();
    h.stop();
}
