//! TLS with rustls (ring provider): the acceptor built from the `tls-*`
//! parameters at startup, and the stream type connections are served over.
//!
//! The acceptor thread only hands out plain TCP streams tagged with whether
//! they came in on a TLS listener; the handshake runs on the connection's
//! worker (async, under [`HANDSHAKE_TIMEOUT`]), so a slow or garbage client
//! never holds up accepting.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// How long a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A client connection: plain TCP or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Stream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Run the server side of the handshake, within [`HANDSHAKE_TIMEOUT`].
pub async fn accept(acceptor: &TlsAcceptor, tcp: TcpStream) -> io::Result<Stream> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("Failed to load {what} file {path}: {e}"))
}

fn certs(pem: &[u8], path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("Failed to parse certificates in {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("No certificate found in {path}"));
    }
    Ok(certs)
}

/// The client CAs of `tls-ca-cert-file` and every PEM file in `tls-ca-cert-dir`.
fn client_roots(c: &Config) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut add = |path: &str| -> Result<(), String> {
        for cert in certs(&read(path, "CA certificate")?, path)? {
            roots
                .add(cert)
                .map_err(|e| format!("Invalid CA certificate in {path}: {e}"))?;
        }
        Ok(())
    };
    if !c.tls_ca_cert_file.is_empty() {
        add(&c.tls_ca_cert_file)?;
    }
    if !c.tls_ca_cert_dir.is_empty() {
        let dir = std::fs::read_dir(&c.tls_ca_cert_dir).map_err(|e| {
            format!(
                "Failed to load CA certificate directory {}: {e}",
                c.tls_ca_cert_dir
            )
        })?;
        for entry in dir.flatten() {
            let path = entry.path();
            // OpenSSL's hashed links (`abcd1234.0`) and `*.pem`/`*.crt`;
            // files holding no certificate are skipped.
            if path.is_file() {
                if let Ok(pem) = std::fs::read(&path) {
                    let p = path.to_string_lossy();
                    if let Ok(cs) = certs(&pem, &p) {
                        for cert in cs {
                            let _ = roots.add(cert);
                        }
                    }
                }
            }
        }
    }
    Ok(roots)
}

/// The protocol versions of `tls-protocols` (empty: TLS 1.2 and 1.3).
fn protocols(spec: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if spec.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut v = Vec::new();
    for p in spec.split_whitespace() {
        match p.to_ascii_lowercase().as_str() {
            "tlsv1.3" => v.push(&rustls::version::TLS13),
            "tlsv1.2" => v.push(&rustls::version::TLS12),
            "tlsv1" | "tlsv1.1" => {
                tracing::warn!("tls-protocols: {p} is not supported by rustls, ignored")
            }
            _ => return Err(format!("Invalid tls-protocols specified: {p}")),
        }
    }
    if v.is_empty() {
        return Err("tls-protocols names no supported protocol (TLSv1.2, TLSv1.3)".into());
    }
    Ok(v)
}

/// A TLS 1.2 suite of the ring provider with the attributes OpenSSL's
/// cipher-list aliases select on (all are ECDHE key exchange, AEAD).
struct Tls12Suite {
    openssl: &'static str,
    suite: rustls::SupportedCipherSuite,
    ecdsa: bool,
    /// "AES128", "AES256" or "CHACHA20".
    enc: &'static str,
    sha384: bool,
}

fn tls12_suites() -> [Tls12Suite; 6] {
    use rustls::crypto::ring::cipher_suite as cs;
    let s = |openssl, suite, ecdsa, enc, sha384| Tls12Suite {
        openssl,
        suite,
        ecdsa,
        enc,
        sha384,
    };
    // OpenSSL's default order (strongest first, ECDSA before RSA).
    [
        s(
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            true,
            "AES256",
            true,
        ),
        s(
            "ECDHE-RSA-AES256-GCM-SHA384",
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            false,
            "AES256",
            true,
        ),
        s(
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            true,
            "CHACHA20",
            false,
        ),
        s(
            "ECDHE-RSA-CHACHA20-POLY1305",
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            false,
            "CHACHA20",
            false,
        ),
        s(
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            true,
            "AES128",
            false,
        ),
        s(
            "ECDHE-RSA-AES128-GCM-SHA256",
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            false,
            "AES128",
            false,
        ),
    ]
}

/// Whether one OpenSSL cipher-list word (a suite name, OpenSSL's or IANA's,
/// or an alias) selects `s`. Words rustls has nothing for select nothing.
fn word_selects(word: &str, s: &Tls12Suite) -> bool {
    let iana = format!("{:?}", s.suite.suite());
    if word.eq_ignore_ascii_case(s.openssl) || word.eq_ignore_ascii_case(&iana) {
        return true;
    }
    match word {
        "ALL" | "DEFAULT" | "HIGH" | "TLSv1.2" | "ECDHE" | "EECDH" | "ECDH" | "kECDHE"
        | "kEECDH" => true,
        "aRSA" => !s.ecdsa,
        "aECDSA" | "ECDSA" => s.ecdsa,
        "AES" | "AESGCM" => s.enc != "CHACHA20",
        "AES128" => s.enc == "AES128",
        "AES256" => s.enc == "AES256",
        "CHACHA20" => s.enc == "CHACHA20",
        // Suite B: ECDSA with AES-GCM.
        "SUITEB128" => s.ecdsa && s.enc != "CHACHA20",
        "SUITEB128ONLY" => s.ecdsa && s.enc == "AES128",
        "SUITEB192" | "SUITEB128C2" => s.ecdsa && s.sha384,
        // Everything else (SHA256 and SHA384 name CBC suites' MACs, kRSA,
        // DHE, RC4, ...) has nothing rustls can do.
        _ => false,
    }
}

/// `tls-ciphers` in OpenSSL's cipher-list syntax (`:`, `,`, `;` or space
/// separated; `A+B` both; `!X` removed for good, `-X` removed, `+X` moved to
/// the end; `@STRENGTH` sorts; `@SECLEVEL=n` ignored), over the TLS 1.2
/// suites rustls has. As OpenSSL does, an entry adding nothing it can do is
/// skipped (with a warning) and only a list that ends up empty is an error.
pub fn tls12_cipher_list(spec: &str) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    let all = tls12_suites();
    let mut chosen: Vec<usize> = Vec::new();
    let mut killed: Vec<usize> = Vec::new();
    let bad = |why: String| format!("Invalid tls-ciphers specified: {why}");
    for entry in spec
        .split([':', ',', ' ', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if let Some(cmd) = entry.strip_prefix('@') {
            if cmd == "STRENGTH" {
                // Stable: 256-bit ciphers (AES256, CHACHA20) before AES128.
                chosen.sort_by_key(|&i| all[i].enc == "AES128");
            } else if !cmd.starts_with("SECLEVEL=") {
                return Err(bad(format!("unknown command {entry}")));
            }
            continue;
        }
        let (op, body) = match entry.as_bytes()[0] {
            b'!' | b'-' | b'+' => (entry.as_bytes()[0], &entry[1..]),
            _ => (b' ', entry),
        };
        let mut matching: Vec<usize> = (0..all.len())
            .filter(|&i| {
                body.split('+')
                    .filter(|w| !w.is_empty())
                    .all(|w| word_selects(w, &all[i]))
            })
            .collect();
        // Suite B's 128-bit mode prefers AES-128 (as OpenSSL orders it).
        if body == "SUITEB128" {
            matching.sort_by_key(|&i| all[i].enc != "AES128");
        }
        match op {
            b'!' => {
                chosen.retain(|i| !matching.contains(i));
                killed.extend(matching);
            }
            b'-' => chosen.retain(|i| !matching.contains(i)),
            b'+' => {
                let (moved, kept): (Vec<usize>, Vec<usize>) =
                    chosen.iter().partition(|i| matching.contains(i));
                chosen = kept.into_iter().chain(moved).collect();
            }
            _ => {
                if matching.is_empty() {
                    // OpenSSL skips what it cannot do (DHE, CBC, CCM...);
                    // only a list that ends up empty is refused.
                    tracing::warn!("tls-ciphers: {entry} names no cipher suite rustls supports");
                    continue;
                }
                for i in matching {
                    if !chosen.contains(&i) && !killed.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    if chosen.is_empty() {
        return Err(bad(format!("{spec} leaves no cipher suite")));
    }
    Ok(chosen.into_iter().map(|i| all[i].suite).collect())
}

/// `tls-ciphersuites`: TLS 1.3 suites, `:`-separated, in preference order,
/// by OpenSSL's/IANA's names (`TLS_AES_128_GCM_SHA256`) or rustls's
/// (`TLS13_AES_128_GCM_SHA256`). Names rustls lacks (the CCM suites) are
/// skipped with a warning, as OpenSSL skips unknown ones; a list left empty
/// is an error.
pub fn tls13_cipher_list(spec: &str) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    let mut wanted = Vec::new();
    for name in spec.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let rname = match name.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("TLS_") => format!("TLS13_{}", &name[4..]),
            _ => name.to_string(),
        };
        let found = rustls::crypto::ring::ALL_CIPHER_SUITES.iter().find(|s| {
            s.version() == &rustls::version::TLS13
                && format!("{:?}", s.suite()).eq_ignore_ascii_case(&rname)
        });
        match found {
            Some(s) if !wanted.contains(s) => wanted.push(*s),
            Some(_) => {}
            None => {
                tracing::warn!("tls-ciphersuites: {name} is not a TLS 1.3 suite rustls supports")
            }
        }
    }
    if wanted.is_empty() {
        return Err("Invalid tls-ciphersuites specified: no cipher suite".into());
    }
    Ok(wanted)
}

/// The ring provider with the suites of `tls-ciphersuites` (TLS 1.3) and
/// `tls-ciphers` (TLS 1.2), each in its list's order; empty: all of them.
fn provider(c: &Config) -> Result<rustls::crypto::CryptoProvider, String> {
    let mut p = rustls::crypto::ring::default_provider();
    let of = |v: &rustls::SupportedProtocolVersion| -> Vec<rustls::SupportedCipherSuite> {
        p.cipher_suites
            .iter()
            .filter(|s| s.version() == v)
            .copied()
            .collect()
    };
    let tls13 = if c.tls_ciphersuites.trim().is_empty() {
        of(&rustls::version::TLS13)
    } else {
        tls13_cipher_list(&c.tls_ciphersuites)?
    };
    let tls12 = if c.tls_ciphers.trim().is_empty() {
        of(&rustls::version::TLS12)
    } else {
        tls12_cipher_list(&c.tls_ciphers)?
    };
    p.cipher_suites = tls13.into_iter().chain(tls12).collect();
    Ok(p)
}

/// The server's session cache (`tls-session-caching`): at most
/// `tls-session-cache-size` sessions (0: no limit), each resumable for
/// `tls-session-cache-timeout` seconds, oldest evicted first.
#[derive(Debug)]
struct SessionCache {
    max: usize,
    timeout: Duration,
    inner: parking_lot::Mutex<SessionMap>,
}

#[derive(Debug, Default)]
struct SessionMap {
    map: std::collections::HashMap<Vec<u8>, (std::time::Instant, Vec<u8>)>,
    order: std::collections::VecDeque<(std::time::Instant, Vec<u8>)>,
}

impl SessionMap {
    /// Drop expired sessions from the front, and the oldest beyond `max`.
    fn prune(&mut self, timeout: Duration, max: usize) {
        while let Some((at, key)) = self.order.front() {
            let live = self.map.get(key).is_some_and(|(t, _)| t == at);
            let expired = at.elapsed() >= timeout;
            let over = max > 0 && self.map.len() > max;
            if live && !expired && !over {
                break;
            }
            if live {
                self.map.remove(key);
            }
            self.order.pop_front();
        }
    }
}

impl rustls::server::StoresServerSessions for SessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let now = std::time::Instant::now();
        let mut m = self.inner.lock();
        m.map.insert(key.clone(), (now, value));
        m.order.push_back((now, key));
        m.prune(self.timeout, self.max);
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let m = self.inner.lock();
        m.map
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.timeout)
            .map(|(_, v)| v.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut m = self.inner.lock();
        m.map
            .remove(key)
            .filter(|(at, _)| at.elapsed() < self.timeout)
            .map(|(_, v)| v)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// The server configuration of the `tls-*` parameters (whatever `tls-port`
/// says). Errors are worded for the log.
pub fn server_config(c: &Config) -> Result<ServerConfig, String> {
    if c.tls_cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if c.tls_key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    if c.tls_auth_clients != "no" && c.tls_ca_cert_file.is_empty() && c.tls_ca_cert_dir.is_empty() {
        return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-auth-clients is enabled!".into());
    }
    let versions = protocols(&c.tls_protocols)?;
    let chain = certs(&read(&c.tls_cert_file, "certificate")?, &c.tls_cert_file)?;
    let key = private_key(&c.tls_key_file)?;
    // The certificate of outgoing connections is loaded (and checked) with
    // the rest, as Redis's tlsConfigure does, not first when it is used.
    if !c.tls_client_cert_file.is_empty() && !c.tls_client_key_file.is_empty() {
        client_identity(&c.tls_client_cert_file, &c.tls_client_key_file)?;
    }
    let provider = Arc::new(provider(c)?);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| {
            format!("TLS configuration error (tls-protocols with the cipher lists): {e}")
        })?;
    let builder = if c.tls_auth_clients == "no" {
        builder.with_no_client_auth()
    } else {
        let roots = client_roots(c)?;
        if roots.is_empty() {
            return Err("TLS: no CA certificate found in tls-ca-cert-file/tls-ca-cert-dir".into());
        }
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let v = if c.tls_auth_clients == "optional" {
            v.allow_unauthenticated()
        } else {
            v
        };
        builder
            .with_client_cert_verifier(v.build().map_err(|e| format!("TLS client verifier: {e}"))?)
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "TLS: cannot use tls-cert-file {} with tls-key-file {}: {e}",
            c.tls_cert_file, c.tls_key_file
        )
    })?;
    config.ignore_client_order = c.tls_prefer_server_ciphers;
    if c.tls_session_caching {
        config.session_storage = Arc::new(SessionCache {
            max: usize::try_from(c.tls_session_cache_size).unwrap_or(usize::MAX),
            timeout: Duration::from_secs(c.tls_session_cache_timeout),
            inner: Default::default(),
        });
    } else {
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(config)
}

/// The private key of `path`. Encrypted PEM keys (`tls-key-file-pass`) are
/// not supported by rustls and fail here.
fn private_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(path, "private key")?;
    if pem.windows(b"ENCRYPTED".len()).any(|w| w == b"ENCRYPTED") {
        return Err(format!(
            "Failed to load private key {path}: encrypted private keys (tls-key-file-pass) are not supported"
        ));
    }
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("Failed to load private key {path}: {e}"))
}

/// The acceptor for `tls-port`, or None when TLS is off. Errors are worded
/// for the log: the server refuses to start on them, as Redis does.
pub fn acceptor(c: &Config) -> Result<Option<TlsAcceptor>, String> {
    if c.tls_port == 0 {
        return Ok(None);
    }
    Ok(Some(TlsAcceptor::from(Arc::new(server_config(c)?))))
}

/// A server certificate verifier that accepts any certificate: the health
/// check probes liveness of the server it is configured for, not identity.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client side for `--health-check` over TLS: it presents
/// `tls-client-cert-file`/`tls-client-key-file`, else `tls-cert-file`/
/// `tls-key-file` (as Redis does for its own outgoing connections), when
/// the server asks for a certificate, and does not verify the server's.
pub fn probe_client_config(c: &Config) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration error: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider)));
    let (cert, key) = if !c.tls_client_cert_file.is_empty() && !c.tls_client_key_file.is_empty() {
        (&c.tls_client_cert_file, &c.tls_client_key_file)
    } else {
        (&c.tls_cert_file, &c.tls_key_file)
    };
    if cert.is_empty() || key.is_empty() || c.tls_auth_clients == "no" {
        return Ok(b.with_no_client_auth());
    }
    let (chain, key_der) = client_identity(cert, key)?;
    b.with_client_auth_cert(chain, key_der)
        .map_err(|e| format!("TLS: cannot use certificate {cert} with key {key}: {e}"))
}

/// The certificate chain and key of an outgoing connection, read and
/// checked to belong together.
type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_identity(cert: &str, key: &str) -> Result<Identity, String> {
    let chain = certs(&read(cert, "certificate")?, cert)?;
    let key_der = private_key(key)?;
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(key_der.clone_key())
        .map_err(|e| format!("TLS: cannot use key {key}: {e}"))?;
    rustls::sign::CertifiedKey::new(chain.clone(), signer)
        .keys_match()
        .map_err(|e| format!("TLS: cannot use certificate {cert} with key {key}: {e}"))?;
    Ok((chain, key_der))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: Vec<rustls::SupportedCipherSuite>) -> Vec<String> {
        v.iter().map(|s| format!("{:?}", s.suite())).collect()
    }

    #[test]
    fn openssl_cipher_lists() {
        assert_eq!(tls12_cipher_list("DEFAULT").unwrap().len(), 6);
        assert_eq!(
            names(tls12_cipher_list("ECDHE-RSA-AES128-GCM-SHA256").unwrap()),
            ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
        );
        assert_eq!(
            names(tls12_cipher_list("HIGH:!aNULL:!MD5:!aECDSA:-CHACHA20").unwrap()),
            [
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
        assert_eq!(
            names(tls12_cipher_list("ECDHE+AES128:ECDHE+CHACHA20:+aECDSA").unwrap()),
            [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
        assert_eq!(
            names(tls12_cipher_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 AES256+aRSA").unwrap()),
            [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
            ]
        );
        // Removed for good with `!`: a later entry does not bring it back.
        assert_eq!(
            names(tls12_cipher_list("!CHACHA20:AES128:ALL:@STRENGTH:@SECLEVEL=2").unwrap()),
            [
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ]
        );
        for bad in [
            "RC4-MD5",
            "DHE-RSA-AES256-GCM-SHA384",
            "ALL:!ALL",
            "kRSA",
            "ALL:@NOPE",
        ] {
            let e = tls12_cipher_list(bad).unwrap_err();
            assert!(e.starts_with("Invalid tls-ciphers specified"), "{e}");
        }
    }

    #[test]
    fn tls13_suites() {
        assert_eq!(
            names(
                tls13_cipher_list("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256").unwrap()
            ),
            ["TLS13_CHACHA20_POLY1305_SHA256", "TLS13_AES_128_GCM_SHA256"]
        );
        assert_eq!(
            tls13_cipher_list("TLS13_AES_256_GCM_SHA384").unwrap().len(),
            1
        );
        assert!(tls13_cipher_list("TLS_AES_128_CCM_SHA256").is_err());
        assert!(tls13_cipher_list(":").is_err());
    }
}
