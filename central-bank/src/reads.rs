//! Reads that need a reason: the signed read credential ([`dfc_core::light::ReadAuth`]) on
//! non-public `GET`s, and who may read what.
//!
//! | who | key | may read |
//! |---|---|---|
//! | operator | an issuer key of the parameters | everything |
//! | auditor, regulator, replica | a key in `NetworkParams::auditors` | everything |
//! | wallet | any other key | what concerns its own key (`/v1/light/*`, its registry entry) |
//!
//! A credential binds the network, the genesis, the request's path and query, a time within
//! [`READ_AUTH_WINDOW_MS`] of the node's clock and a nonce used once, so one seen on the way can
//! be neither replayed nor used for another request. Missing or invalid credentials are 401;
//! a valid credential of a key that may not read the resource is 403.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use dfc_core::light::{ReadAuth, READ_AUTH_HEADER, READ_AUTH_WINDOW_MS};
use dfc_core::{NetworkParams, OperatorKey, PublicKey};

use crate::datadir::now_ms;
use crate::error::ApiErr;
use crate::server::AppState;

/// Most read nonces remembered at once; past it (after forgetting expired ones) reads are shed
/// with 503 until the window moves on.
pub const MAX_READ_NONCES: usize = 200_000;

/// What a verified reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An operator: index of its issuer key.
    Operator(u8),
    /// A key named in `NetworkParams::auditors` (auditor, regulator, replica).
    Auditor,
    /// Any other key: a wallet, reading about itself only.
    Wallet,
}

impl Role {
    /// The role of `key` on the network of `params`.
    pub fn of(params: &NetworkParams, key: &OperatorKey) -> Role {
        if let Some(i) = params.issuers.iter().position(|k| k == key) {
            return Role::Operator(u8::try_from(i).unwrap_or(u8::MAX));
        }
        if params.auditors.contains(key) {
            return Role::Auditor;
        }
        Role::Wallet
    }

    /// Whether this role may read everything (full blocks, registry, audit log, evidence).
    pub fn is_privileged(self) -> bool {
        !matches!(self, Role::Wallet)
    }
}

/// Nonces of read credentials seen within the window.
#[derive(Default)]
pub struct ReadNonces {
    seen: Mutex<HashMap<[u8; 32], u64>>,
}

impl ReadNonces {
    /// Records `nonce` of a credential timed `time_ms`; false if it was seen (a replay).
    fn record(&self, nonce: [u8; 32], time_ms: u64, now: u64) -> Result<bool, ApiErr> {
        let mut seen = match self.seen.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if seen.len() >= MAX_READ_NONCES {
            let horizon = now.saturating_sub(READ_AUTH_WINDOW_MS);
            seen.retain(|_, t| *t >= horizon);
            if seen.len() >= MAX_READ_NONCES {
                return Err(ApiErr::unavailable(
                    "reads_busy",
                    "too many signed reads in the last minutes; retry shortly",
                ));
            }
        }
        Ok(seen.insert(nonce, time_ms).is_none())
    }
}

/// A request that carried a valid read credential.
#[derive(Clone, Debug)]
pub struct Reader {
    /// The reader's key, with its algorithm.
    pub key: OperatorKey,
    /// Its role.
    pub role: Role,
}

impl Reader {
    /// Refuses (403) a reader that may not read everything.
    pub fn require_privileged(&self, what: &str) -> Result<(), ApiErr> {
        if self.role.is_privileged() {
            return Ok(());
        }
        Err(ApiErr::forbidden(
            "read_forbidden",
            format!(
                "{what} is served only to operators, auditors, the regulator and replicas; key {} is none of these",
                self.key
            ),
        ))
    }

    /// Refuses (403) a wallet reading about a key other than its own.
    pub fn require_self_or_privileged(&self, key: &PublicKey, what: &str) -> Result<(), ApiErr> {
        // A wallet's key is sr25519: an Ed25519 reader is never the holder of a wallet key.
        if self.role.is_privileged() || self.key == *key {
            return Ok(());
        }
        Err(ApiErr::forbidden(
            "read_forbidden",
            format!(
                "{what} of key {} is served only to that key's holder and to operators and auditors",
                hex::encode(key.to_bytes())
            ),
        ))
    }
}

fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiErr {
    ApiErr::new(StatusCode::UNAUTHORIZED, code, message)
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiErr> {
        let Some(value) = parts.headers.get(READ_AUTH_HEADER) else {
            return Err(unauthorized(
                "read_auth_required",
                format!(
                    "{} needs a signed read credential in the {READ_AUTH_HEADER} header (see docs/api.md)",
                    parts.uri.path()
                ),
            ));
        };
        let text = value
            .to_str()
            .map_err(|_| unauthorized("bad_read_credential", "the read credential is not ASCII"))?;
        let auth = ReadAuth::from_header(text)
            .map_err(|e| unauthorized("bad_read_credential", e.to_string()))?;
        let params_now = s.params();
        let params = &*params_now;
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let now = now_ms();
        if auth.time_ms.abs_diff(now) > READ_AUTH_WINDOW_MS {
            return Err(unauthorized(
                "stale_read_credential",
                format!(
                    "the read credential is timed {} ms from the node's clock; at most {READ_AUTH_WINDOW_MS} ms is accepted",
                    auth.time_ms.abs_diff(now)
                ),
            ));
        }
        if !auth.verify(params, path) {
            return Err(unauthorized(
                "bad_read_signature",
                "the read credential is not a signature by its key over this request on this network",
            ));
        }
        if !s.read_nonces().record(auth.nonce.0, auth.time_ms, now)? {
            return Err(unauthorized(
                "replayed_read_credential",
                "this read credential was used before; sign each request afresh",
            ));
        }
        Ok(Reader {
            role: Role::of(params, &auth.key),
            key: auth.key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_single_use() {
        let n = ReadNonces::default();
        assert!(n.record([1; 32], 10, 10).expect("room"));
        assert!(!n.record([1; 32], 10, 10).expect("room"));
        assert!(n.record([2; 32], 10, 10).expect("room"));
    }
}
