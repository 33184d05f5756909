//! TLS of the node (issue 15): loading the certificate and key `dfc-bank serve --tls-cert
//! --tls-key` is given, generating a self-signed pair for a sandbox (`dfc-bank init --tls`), and
//! the rule that plain HTTP is for loopback only.
//!
//! The handshake runs inside the accept loop of [`crate::server::serve_tls_with`], after the
//! connection has been admitted and under its first-request timeout: a client that opens a
//! connection and never finishes the handshake holds its slot no longer than one that never
//! sends a request. rustls with the ring provider; no OpenSSL.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The node's certificate in a data directory (PEM), written by `dfc-bank init --tls`. Clients
/// given `--data DIR` / `--sandbox DIR` trust it, as they find the node's URL in `node-url`.
pub const TLS_CERT_FILE: &str = dfc_client::tls::DATA_DIR_CERT_FILE;
/// The node's private key in a data directory (PEM, PKCS#8), owner-only.
pub const TLS_KEY_FILE: &str = "tls-key.pem";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or holds no usable PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate and key (e.g. the key does not match).
    #[error("TLS configuration refused: {0}")]
    Config(String),
    /// A certificate could not be generated.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// Plain HTTP was asked for on an address other hosts can reach.
    #[error("refusing to serve plain HTTP on {addr}, which is not a loopback address: give --tls-cert and --tls-key (`dfc-bank init --tls` makes a self-signed pair), listen on 127.0.0.1, or pass --insecure-http to accept that anyone on the path can read and alter the traffic")]
    PlainHttpOffLoopback {
        /// The listen address.
        addr: SocketAddr,
    },
}

/// Checks the rule for plain HTTP: allowed on loopback; elsewhere only with `insecure`.
pub fn check_plain_http(addr: SocketAddr, insecure: bool) -> Result<(), TlsError> {
    if addr.ip().is_loopback() || insecure {
        Ok(())
    } else {
        Err(TlsError::PlainHttpOffLoopback { addr })
    }
}

/// A TLS acceptor from a PEM certificate chain and a PEM private key, offering HTTP/2 and
/// HTTP/1.1 by ALPN, TLS 1.2 and 1.3 only.
pub fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    let file_err = |path: &Path, reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_err(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_err(cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The subject names of a sandbox certificate: `localhost`, `127.0.0.1`, `::1`, and `extra`
/// (host names or IP addresses the node will also be reached by).
pub fn sandbox_names(extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for n in extra {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

/// A self-signed certificate and its private key (both PEM) for `names`.
pub struct SelfSigned {
    /// The certificate: what `init` puts in the parameters' `tls_ca` and clients pin.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

/// Generates a self-signed certificate for `names` (host names or IP addresses).
pub fn generate_self_signed(names: &[String]) -> Result<SelfSigned, TlsError> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(SelfSigned {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
    })
}

/// Writes `pair` to `dir/tls-cert.pem` and `dir/tls-key.pem` (the key owner-only, refused if
/// it exists already).
pub fn write_pair(dir: &Path, pair: &SelfSigned) -> Result<(), TlsError> {
    let key_path = dir.join(TLS_KEY_FILE);
    write_private(&key_path, pair.key_pem.as_bytes()).map_err(|e| TlsError::File {
        path: key_path.clone(),
        reason: e.to_string(),
    })?;
    let cert_path = dir.join(TLS_CERT_FILE);
    std::fs::write(&cert_path, &pair.cert_pem).map_err(|e| TlsError::File {
        path: cert_path,
        reason: e.to_string(),
    })
}

/// Generates a self-signed pair for `names`, writes it to `dir` ([`write_pair`]) and returns
/// the certificate PEM.
pub fn write_self_signed(dir: &Path, names: &[String]) -> Result<String, TlsError> {
    let pair = generate_self_signed(names)?;
    write_pair(dir, &pair)?;
    Ok(pair.cert_pem)
}

/// The data directory's certificate and key, when `init --tls` made them.
pub fn data_dir_pair(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join(TLS_CERT_FILE), dir.join(TLS_KEY_FILE));
    (cert.exists() && key.exists()).then_some((cert, key))
}

/// `dfc-bank serve`'s transport options.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// The node's TLS certificate chain (PEM). Without --tls-cert/--tls-key, DATA/tls-cert.pem
    /// and DATA/tls-key.pem are used when `init --tls` made them.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address that is not loopback (anyone on the path can read and
    /// alter the traffic): refused without this flag.
    #[arg(long)]
    pub insecure_http: bool,
}

impl TlsArgs {
    /// The acceptor to serve with (`None`: plain HTTP), after the loopback rule.
    pub fn acceptor(
        &self,
        data: &Path,
        addr: SocketAddr,
    ) -> Result<Option<tokio_rustls::TlsAcceptor>, TlsError> {
        let pair = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => data_dir_pair(data),
        };
        match pair {
            Some((cert, key)) => acceptor(&cert, &key).map(Some),
            None => check_plain_http(addr, self.insecure_http).map(|()| None),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback_unless_insecure() {
        let lo: SocketAddr = "127.0.0.1:7400".parse().expect("addr");
        let lo6: SocketAddr = "[::1]:7400".parse().expect("addr");
        let any: SocketAddr = "0.0.0.0:7400".parse().expect("addr");
        assert!(check_plain_http(lo, false).is_ok());
        assert!(check_plain_http(lo6, false).is_ok());
        let err = check_plain_http(any, false).expect_err("refused");
        assert!(err.to_string().contains("--insecure-http"), "{err}");
        assert!(check_plain_http(any, true).is_ok());
    }

    #[test]
    fn a_generated_pair_loads_and_a_mismatched_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pem = write_self_signed(dir.path(), &sandbox_names(&["bank.test".into()]))
            .expect("generated");
        assert!(pem.contains("BEGIN CERTIFICATE"));
        let cert = dir.path().join(TLS_CERT_FILE);
        let key = dir.path().join(TLS_KEY_FILE);
        acceptor(&cert, &key).expect("loads");
        // Another pair's key with this certificate: rustls refuses the mismatch.
        let other = tempfile::tempdir().expect("tempdir");
        write_self_signed(other.path(), &sandbox_names(&[])).expect("generated");
        let err = acceptor(&cert, &other.path().join(TLS_KEY_FILE))
            .err()
            .expect("mismatch refused");
        assert!(matches!(err, TlsError::Config(_)), "{err}");
        // A file with no PEM in it.
        let err = acceptor(&dir.path().join(TLS_KEY_FILE), &key)
            .err()
            .expect("no certificate");
        assert!(matches!(err, TlsError::File { .. }), "{err}");
    }
}
