//! Which certificate a client trusts for the node: the node's pin (issue 15).
//!
//! A client never trusts public web roots for a node (reqwest is built without them): it trusts
//! exactly the certificates of a [`TlsPin`], taken from, in order,
//! 1. the network parameters' `tls_ca`, once the client knows them (a wallet after `register`);
//! 2. `--ca FILE` or the `DFC_CA` environment variable, for first contact;
//! 3. the data directory's `tls-cert.pem` when the node is found by `--sandbox DIR` / `--data DIR`.
//!
//! A pinned client also refuses a plain `http://` URL: the node it pins speaks TLS, and a plain
//! URL would let an on-path party answer in its place.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The node's certificate in a data directory, beside `node-url`.
pub const DATA_DIR_CERT_FILE: &str = "tls-cert.pem";
/// The environment variable `--ca` reads.
pub const CA_ENV: &str = "DFC_CA";

/// Why a pin could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TlsPinError {
    /// The file could not be read.
    #[error("cannot read the node's certificate {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The text holds no PEM certificate, or a malformed one.
    #[error("{what} is not a PEM certificate: {reason}")]
    NotPem {
        /// Where the text came from.
        what: String,
        /// Why.
        reason: String,
    },
}

/// The certificates (a CA or the node's own, PEM) a client trusts for one node, and only those.
#[derive(Clone, Debug)]
pub struct TlsPin {
    pem: String,
    certs: Vec<reqwest::Certificate>,
}

impl TlsPin {
    /// A pin from PEM text (one or more certificates); `what` names the source in errors.
    pub fn from_pem(pem: &str, what: &str) -> Result<TlsPin, TlsPinError> {
        let not_pem = |reason: String| TlsPinError::NotPem {
            what: what.to_string(),
            reason,
        };
        let ders: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| not_pem(e.to_string()))?;
        if ders.is_empty() {
            return Err(not_pem("no certificate found".into()));
        }
        let certs = ders
            .iter()
            .map(|d| reqwest::Certificate::from_der(d.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_pem(e.to_string()))?;
        Ok(TlsPin {
            pem: pem.to_string(),
            certs,
        })
    }

    /// A pin from a PEM file.
    pub fn from_file(path: &Path) -> Result<TlsPin, TlsPinError> {
        let pem = std::fs::read_to_string(path).map_err(|e| TlsPinError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        TlsPin::from_pem(&pem, &path.display().to_string())
    }

    /// The pin of a network's parameters (`tls_ca`), if they have one.
    pub fn from_params(params: &dfc_core::NetworkParams) -> Result<Option<TlsPin>, TlsPinError> {
        params
            .tls_ca
            .as_deref()
            .map(|pem| TlsPin::from_pem(pem, "the network parameters' tls_ca"))
            .transpose()
    }

    /// The pin kept in a data directory (`DIR/tls-cert.pem`), if there is one.
    pub fn from_data_dir(dir: &Path) -> Result<Option<TlsPin>, TlsPinError> {
        let path = dir.join(DATA_DIR_CERT_FILE);
        if !path.exists() {
            return Ok(None);
        }
        TlsPin::from_file(&path).map(Some)
    }

    /// The bootstrap pin of a command line: `--ca FILE` (or `DFC_CA`) first, else the data
    /// directory's certificate when the node was found from one.
    pub fn bootstrap(
        ca: Option<&Path>,
        data_dir: Option<&Path>,
    ) -> Result<Option<TlsPin>, TlsPinError> {
        if let Some(ca) = ca {
            return TlsPin::from_file(ca).map(Some);
        }
        match data_dir {
            Some(dir) => TlsPin::from_data_dir(dir),
            None => Ok(None),
        }
    }

    /// The PEM text.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// `builder` trusting exactly this pin over TLS (rustls, no web roots, `https` only), for a
    /// caller that needs its own reqwest client (the load generator's raw submissions).
    pub fn configure(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let mut builder = builder
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .https_only(true);
        for cert in &self.certs {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder
    }
}

/// Whether `err` (a reqwest error, through its chain) is a certificate the pin does not cover,
/// and rustls's words for it.
pub(crate) fn untrusted_certificate(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return matches!(r, rustls::Error::InvalidCertificate(_)).then(|| r.to_string());
        }
        // `io::Error::source` skips the error it wraps: look inside it.
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return matches!(r, rustls::Error::InvalidCertificate(_)).then(|| r.to_string());
            }
        }
        // The connector boxes its error in types of its own along the way: rustls's own words
        // for `InvalidCertificate` identify it when no downcast reaches it.
        let text = e.to_string();
        if let Some(at) = text.find(INVALID_CERTIFICATE) {
            return Some(text[at..].to_string());
        }
        cur = e.source();
    }
    None
}

/// How rustls displays `Error::InvalidCertificate`.
const INVALID_CERTIFICATE: &str = "invalid peer certificate";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_names_an_invalid_certificate_as_expected() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        assert!(e.to_string().starts_with(INVALID_CERTIFICATE), "{e}");
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        assert!(untrusted_certificate(&io).is_some());
        let other = std::io::Error::other("connection reset");
        assert!(untrusted_certificate(&other).is_none());
    }

    #[test]
    fn text_without_a_certificate_is_refused() {
        assert!(matches!(
            TlsPin::from_pem("hello", "test"),
            Err(TlsPinError::NotPem { .. })
        ));
        let broken = "-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n";
        assert!(TlsPin::from_pem(broken, "test").is_err());
        let missing = Path::new("/nonexistent/dfc/tls-cert.pem");
        assert!(matches!(
            TlsPin::from_file(missing),
            Err(TlsPinError::Read { .. })
        ));
    }
}
