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

/// The ring provider, its TLS 1.3 suites narrowed to `tls-ciphersuites`.
fn provider(c: &Config) -> Result<rustls::crypto::CryptoProvider, String> {
    let mut p = rustls::crypto::ring::default_provider();
    let spec = c.tls_ciphersuites.trim();
    if !spec.is_empty() {
        let mut wanted = Vec::new();
        for name in spec.split(':').filter(|n| !n.is_empty()) {
            // OpenSSL's `TLS_AES_128_GCM_SHA256` is rustls's `TLS13_AES_128_GCM_SHA256`.
            let rname = name.replacen("TLS_", "TLS13_", 1);
            let found = p.cipher_suites.iter().find(|s| {
                s.version() == &rustls::version::TLS13
                    && format!("{:?}", s.suite()).eq_ignore_ascii_case(&rname)
            });
            match found {
                Some(s) => wanted.push(*s),
                None => return Err(format!("Invalid tls-ciphersuites specified: {name}")),
            }
        }
        // TLS 1.2 suites stay as they are (tls-ciphers is not applied).
        let tls12 = p
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .copied();
        wanted.extend(tls12);
        p.cipher_suites = wanted;
    }
    Ok(p)
}

/// The acceptor for `tls-port`, or None when TLS is off. Errors are worded
/// for the log: the server refuses to start on them, as Redis does.
pub fn acceptor(c: &Config) -> Result<Option<TlsAcceptor>, String> {
    if c.tls_port == 0 {
        return Ok(None);
    }
    if c.tls_cert_file.is_empty() || c.tls_key_file.is_empty() {
        return Err("TLS: tls-cert-file and tls-key-file must be set with tls-port".into());
    }
    let chain = certs(&read(&c.tls_cert_file, "certificate")?, &c.tls_cert_file)?;
    let key = PrivateKeyDer::from_pem_slice(&read(&c.tls_key_file, "private key")?)
        .map_err(|e| format!("Failed to load private key {}: {e}", c.tls_key_file))?;
    let provider = Arc::new(provider(c)?);
    let versions = protocols(&c.tls_protocols)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS configuration error: {e}"))?;
    let builder = if c.tls_auth_clients == "no" {
        builder.with_no_client_auth()
    } else {
        if c.tls_ca_cert_file.is_empty() && c.tls_ca_cert_dir.is_empty() {
            return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-auth-clients is enabled!".into());
        }
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
    let config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "TLS: cannot use tls-cert-file {} with tls-key-file {}: {e}",
            c.tls_cert_file, c.tls_key_file
        )
    })?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}
