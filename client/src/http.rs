//! An async client of the node's `/v1` API, used by the wallet, the terminal apps, `dfc-bank`'s
//! commands that talk to a node, the simulator's load generator and the tests. One method per
//! endpoint; errors keep the node's code and message.

use std::time::Duration;

use dfc_core::api::GENESIS_HEADER;
use dfc_core::api::{
    ApiError, AuditEntry, BlocksResponse, Checkpoint, NoteStatus, OperatorRequest,
    OperatorResponse, Proposal, ProposalDetail, Receipt, RegisterRequest, SubmitRequest,
    SupplySummary, TxStatus, WalletInfo,
};
use dfc_core::{Hash32, NetworkParams, NoteId, PublicKey, Transaction, TxId};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a call to the node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached (down, wrong address, timeout).
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node refused the request (4xx) and said why.
    #[error("rejected by the node ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The node's error code, e.g. `input_spent`.
        code: String,
        /// The node's message.
        message: String,
    },
    /// The node failed (5xx).
    #[error("node error ({status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// The node is on another network than the one this client is pinned to
    /// ([`BankClient::pinned_to`]): the node refused the request (`wrong_network`) or, for a
    /// check the caller made, answered with another genesis.
    #[error("the node at {url} is on another network: {message}")]
    WrongNetwork {
        /// The node.
        url: String,
        /// The node's message, or what the caller found.
        message: String,
    },
    /// The node answered something this client cannot read.
    #[error("unexpected answer from the node: {0}")]
    Decode(String),
    /// The TLS handshake failed on the node's certificate: it is not the pinned one, nor signed
    /// by the pinned CA (an on-path party, a wrong `--ca`, or a node whose certificate changed
    /// without a parameter change). Nothing was sent.
    #[error("the node at {url} presented a certificate this client does not trust ({reason}); it trusts only the network's pinned certificate (tls_ca, --ca or DFC_CA, or the data directory's tls-cert.pem)")]
    UntrustedCertificate {
        /// The URL tried.
        url: String,
        /// rustls's reason.
        reason: String,
    },
    /// A client pinned to a TLS certificate was given a plain `http://` URL.
    #[error(
        "the node at {url} is pinned to a TLS certificate but the URL is plain http: use https://"
    )]
    PlainHttpToPinnedNode {
        /// The URL given.
        url: String,
    },
    /// The pin could not be read.
    #[error(transparent)]
    Pin(#[from] crate::tls::TlsPinError),
    /// The read credential could not be signed (a token refused, a key file could not be
    /// opened). Nothing was sent.
    #[error("signing the read credential: {message}")]
    Signer {
        /// The signer's stable code (`wrong_pin`, `pkcs11_token_not_found`, ...).
        code: &'static str,
        /// What failed.
        message: String,
    },
}

impl ClientError {
    /// The node's error code, for a rejection.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Rejected { code, .. } => Some(code),
            ClientError::WrongNetwork { .. } => Some("wrong_network"),
            ClientError::UntrustedCertificate { .. } => Some("untrusted_certificate"),
            ClientError::PlainHttpToPinnedNode { .. } => Some("plain_http_to_pinned_node"),
            ClientError::Pin(_) => Some("bad_tls_pin"),
            ClientError::Signer { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The base URL of a node as typed by a user: without a scheme (`127.0.0.1:7400`, as `serve`
/// prints its listen address) it is plain `http://`, which a node on loopback speaks; otherwise
/// reqwest would refuse it with a bare "builder error". No trailing slash.
pub fn base_url_of(text: &str) -> String {
    let text = text.trim().trim_end_matches('/');
    if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    }
}

/// A client of one node.
#[derive(Clone, Debug)]
pub struct BankClient {
    base: String,
    http: reqwest::Client,
    reader: Option<std::sync::Arc<ReadKey>>,
    genesis: Option<Hash32>,
}

impl BankClient {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:7400`, or `127.0.0.1:7400`,
    /// taken as plain HTTP), with a 30 s timeout. It trusts no certificate: an `https://` node
    /// needs [`BankClient::with_pin`].
    pub fn new(base_url: &str) -> Self {
        let http = Self::http_builder().build().unwrap_or_default();
        BankClient {
            base: base_url_of(base_url),
            http,
            reader: None,
            genesis: None,
        }
    }

    /// A client of the node at `base_url` that trusts exactly `pin`'s certificates over TLS (no
    /// web roots), or [`BankClient::new`] without a pin. A pinned client refuses a plain
    /// `http://` URL ([`ClientError::PlainHttpToPinnedNode`]).
    pub fn with_pin(base_url: &str, pin: Option<&crate::tls::TlsPin>) -> Result<Self, ClientError> {
        let Some(pin) = pin else {
            return Ok(Self::new(base_url));
        };
        let base = base_url_of(base_url);
        if !base.starts_with("https://") {
            return Err(ClientError::PlainHttpToPinnedNode { url: base });
        }
        let http = pin
            .configure(Self::http_builder())
            .build()
            .map_err(|e| ClientError::Decode(format!("cannot build the TLS client: {e}")))?;
        Ok(BankClient {
            base,
            http,
            reader: None,
            genesis: None,
        })
    }

    fn http_builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .tls_built_in_root_certs(false)
    }

    /// The same client, sending `genesis` with every request ([`GENESIS_HEADER`]): a node of
    /// another network refuses each call with [`ClientError::WrongNetwork`] before doing anything.
    pub fn pinned_to(mut self, genesis: Hash32) -> Self {
        self.genesis = Some(genesis);
        self
    }

    /// The genesis this client is pinned to, if any.
    pub fn pinned_genesis(&self) -> Option<Hash32> {
        self.genesis
    }

    fn pin(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.genesis {
            Some(g) => req.header(GENESIS_HEADER, g.to_hex()),
            None => req,
        }
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn read<T: DeserializeOwned>(
        &self,
        url: &str,
        resp: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let resp = resp.map_err(|e| match crate::tls::untrusted_certificate(&e) {
            Some(reason) => ClientError::UntrustedCertificate {
                url: url.to_string(),
                reason,
            },
            None => ClientError::Unreachable {
                url: url.to_string(),
                reason: dfc_core::error::error_line(&e),
            },
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: url.to_string(),
            reason: dfc_core::error::error_line(&e),
        })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()));
        }
        let err: ApiError = serde_json::from_slice(&bytes).unwrap_or(ApiError {
            code: "unknown".into(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
        });
        // 409 `wrong_network` is the network pin's refusal (400 `wrong_network` is a transaction
        // naming another network id, a rejection of that transaction).
        if status.as_u16() == 409 && err.code == "wrong_network" {
            return Err(ClientError::WrongNetwork {
                url: url.to_string(),
                message: err.message,
            });
        }
        if status.is_client_error() {
            Err(ClientError::Rejected {
                status: status.as_u16(),
                code: err.code,
                message: err.message,
            })
        } else {
            Err(ClientError::Server {
                status: status.as_u16(),
                message: err.message,
            })
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.pin(self.http.get(&url));
        if let Some(r) = &self.reader {
            req = req.header(READ_AUTH_HEADER, r.credential(path)?.to_header());
        }
        let resp = req.send().await;
        self.read(&url, resp).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        let resp = self.pin(self.http.post(&url)).json(body).send().await;
        self.read(&url, resp).await
    }

    /// `GET /v1/params`: the network parameters.
    pub async fn params(&self) -> Result<NetworkParams, ClientError> {
        self.get("/v1/params").await
    }
    /// `POST /v1/transactions`: submits a transfer and waits for its durable receipt. Submitting
    /// the same transaction again returns the same receipt.
    pub async fn submit(&self, tx: &Transaction) -> Result<Receipt, ClientError> {
        self.post("/v1/transactions", &SubmitRequest { tx: tx.clone() })
            .await
    }
    /// `GET /v1/transactions/{txid}`.
    pub async fn tx_status(&self, txid: &TxId) -> Result<TxStatus, ClientError> {
        self.get(&format!("/v1/transactions/{txid}")).await
    }
    /// `GET /v1/notes/{id}`.
    pub async fn note_status(&self, id: &NoteId) -> Result<NoteStatus, ClientError> {
        self.get(&format!("/v1/notes/{id}")).await
    }
    /// `GET /v1/blocks?from=H&limit=N`.
    pub async fn blocks(&self, from: u64, limit: u32) -> Result<BlocksResponse, ClientError> {
        self.get(&format!("/v1/blocks?from={from}&limit={limit}"))
            .await
    }
    /// `GET /v1/checkpoint`: a signed statement of the ledger at the tip.
    pub async fn checkpoint(&self) -> Result<Checkpoint, ClientError> {
        self.get("/v1/checkpoint").await
    }
    /// `GET /v1/supply`.
    pub async fn supply(&self) -> Result<SupplySummary, ClientError> {
        self.get("/v1/supply").await
    }
    /// `POST /v1/wallets`: registers a wallet (tier 0 until an operator sets another).
    pub async fn register(&self, req: &RegisterRequest) -> Result<WalletInfo, ClientError> {
        self.post("/v1/wallets", req).await
    }
    /// `GET /v1/wallets/{spend_key}`.
    pub async fn wallet(&self, key: &PublicKey) -> Result<WalletInfo, ClientError> {
        self.get(&format!("/v1/wallets/{}", hex::encode(key.to_bytes())))
            .await
    }
    /// `GET /v1/wallets`: the registry.
    pub async fn wallets(&self) -> Result<Vec<WalletInfo>, ClientError> {
        self.get("/v1/wallets").await
    }
    /// `POST /v1/redemptions`: a wallet asks to redeem; the owner-signed redeem transaction waits
    /// for k operator approvals.
    pub async fn request_redemption(&self, tx: &Transaction) -> Result<Proposal, ClientError> {
        self.post("/v1/redemptions", &SubmitRequest { tx: tx.clone() })
            .await
    }
    /// `POST /v1/operator`: a signed operator request.
    pub async fn operator(&self, req: &OperatorRequest) -> Result<OperatorResponse, ClientError> {
        self.post("/v1/operator", req).await
    }
    /// `GET /v1/proposals`: pending and recent issue and redeem proposals.
    pub async fn proposals(&self) -> Result<Vec<Proposal>, ClientError> {
        self.get("/v1/proposals").await
    }
    /// `GET /v1/proposals/{txid}`: a proposal with its transaction, which an approver signs.
    pub async fn proposal(&self, txid: &TxId) -> Result<ProposalDetail, ClientError> {
        self.get(&format!("/v1/proposals/{txid}")).await
    }
    /// `POST /v1/purses`: a purse certificate for the signed request.
    pub async fn purse(
        &self,
        req: &dfc_core::offline_api::PurseRequest,
    ) -> Result<dfc_core::offline::PurseCertificate, ClientError> {
        self.post("/v1/purses", req).await
    }
    /// `POST /v1/checkpoint/proofs`: a signed checkpoint and proofs that `notes` are unspent.
    pub async fn checkpoint_proofs(
        &self,
        notes: &[NoteId],
    ) -> Result<dfc_core::offline_api::ProofsResponse, ClientError> {
        let req = dfc_core::offline_api::ProofsRequest {
            notes: notes.to_vec(),
        };
        self.post("/v1/checkpoint/proofs", &req).await
    }
    /// `POST /v1/offline/settle`: settles an offline payment packet (its text form); the same
    /// receipt on a repeat, 409 `double_spend` for a note spent twice.
    pub async fn settle(&self, packet_text: &str) -> Result<Receipt, ClientError> {
        let req = dfc_core::offline_api::SettleRequest {
            packet: packet_text.to_string(),
        };
        self.post("/v1/offline/settle", &req).await
    }
    /// `GET /v1/evidence`: double-spend evidence, optionally of one wallet or refusing one
    /// transaction.
    pub async fn evidence(
        &self,
        wallet: Option<&PublicKey>,
        conflicting: Option<&TxId>,
    ) -> Result<Vec<dfc_core::offline_api::EvidenceRecord>, ClientError> {
        let mut q = Vec::new();
        if let Some(w) = wallet {
            q.push(format!("wallet={}", hex::encode(w.to_bytes())));
        }
        if let Some(t) = conflicting {
            q.push(format!("txid={t}"));
        }
        let query = if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        };
        self.get(&format!("/v1/evidence{query}")).await
    }
    /// `GET /v1/audit-log?from=SEQ`: the operator audit log.
    pub async fn audit_log(&self, from_seq: u64) -> Result<Vec<AuditEntry>, ClientError> {
        self.get(&format!("/v1/audit-log?from={from_seq}")).await
    }
}

/// Governance reads (issue 20).
impl BankClient {
    /// `GET /v1/governance/history`: the genesis parameters and every approved change. Decoding
    /// verifies each change's approvals, so a history that k operators did not sign is refused.
    pub async fn params_history(&self) -> Result<dfc_core::governance::ParamsHistory, ClientError> {
        self.get("/v1/governance/history").await
    }
    /// `GET /v1/governance/changes`: proposed parameter changes, newest first.
    pub async fn param_changes(
        &self,
    ) -> Result<Vec<dfc_core::governance::ChangeProposal>, ClientError> {
        self.get("/v1/governance/changes").await
    }
    /// `POST /v1/checkpoints/signatures`: hands in an operator's signature over a point of the
    /// chain; the answer holds every signature stored for that point.
    pub async fn cosign(
        &self,
        sig: &dfc_core::cosign::CheckpointSignature,
    ) -> Result<dfc_core::cosign::CosignResponse, ClientError> {
        self.post("/v1/checkpoints/signatures", sig).await
    }
    /// `GET /v1/checkpoints/cosigned?from=H`: stored checkpoints from height `from` on.
    pub async fn cosigned(&self, from: u64) -> Result<dfc_core::cosign::CosignedList, ClientError> {
        self.get(&format!("/v1/checkpoints/cosigned?from={from}"))
            .await
    }
}

// ---------------------------------------------------------------- signed reads and light sync

use dfc_core::light::{Headers, LightSync, OwnNotes, ReadAuth, READ_AUTH_HEADER};
use dfc_keys::{DynSigner, KeySigner, Signer};

/// The key a client signs its reads with, and the network it signs them for: any [`Signer`]
/// (a wallet's key in memory, an operator's key file or token), so reads go through the same
/// signing code as operator requests.
pub struct ReadKey {
    params: NetworkParams,
    signer: std::sync::Arc<DynSigner>,
}

impl std::fmt::Debug for ReadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReadKey({})", self.signer.public())
    }
}

impl ReadKey {
    fn credential(&self, path_and_query: &str) -> Result<ReadAuth, ClientError> {
        use rand_core::{OsRng, RngCore};
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        ReadAuth::try_sign(
            &self.params,
            path_and_query,
            self.signer.public(),
            crate::now_ms(),
            Hash32(nonce),
            |h| self.signer.sign(h),
        )
        .map_err(|e| ClientError::Signer {
            code: e.code(),
            message: e.to_string(),
        })
    }
}

impl BankClient {
    /// This client, signing every `GET` with `key` for the network of `params` (see
    /// `dfc_core::light::ReadAuth`): an operator, auditor or regulator key reads everything, a
    /// wallet key what concerns it.
    pub fn with_reader(self, params: &NetworkParams, key: dfc_core::SigningKey) -> Self {
        let signer = KeySigner::new(key, "read key");
        self.with_read_signer(params, std::sync::Arc::new(signer))
    }

    /// This client, signing every `GET` through `signer` (a key file or a PKCS#11 token, as
    /// `dfc-bank --signer` opens it).
    pub fn with_read_signer(
        mut self,
        params: &NetworkParams,
        signer: std::sync::Arc<DynSigner>,
    ) -> Self {
        self.reader = Some(std::sync::Arc::new(ReadKey {
            params: params.clone(),
            signer,
        }));
        self
    }

    /// The key this client signs reads with, if any.
    pub fn reader_key(&self) -> Option<dfc_core::OperatorKey> {
        self.reader.as_ref().map(|r| r.signer.public())
    }

    /// `GET /v1/light/sync?key=K&from=H`: what concerns `key` from height `from`, with proofs.
    pub async fn light_sync(&self, key: &PublicKey, from: u64) -> Result<LightSync, ClientError> {
        self.get(&format!(
            "/v1/light/sync?key={}&from={from}",
            hex::encode(key.to_bytes())
        ))
        .await
    }

    /// `GET /v1/light/notes?key=K`: the status of `key`'s notes.
    pub async fn light_notes(&self, key: &PublicKey) -> Result<OwnNotes, ClientError> {
        self.get(&format!(
            "/v1/light/notes?key={}",
            hex::encode(key.to_bytes())
        ))
        .await
    }

    /// `GET /v1/light/headers?from=H&limit=N`: signed headers only.
    pub async fn light_headers(&self, from: u64, limit: u32) -> Result<Headers, ClientError> {
        self.get(&format!("/v1/light/headers?from={from}&limit={limit}"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_without_scheme_is_http() {
        assert_eq!(base_url_of("127.0.0.1:7400"), "http://127.0.0.1:7400");
        assert_eq!(base_url_of(" localhost:7400/ "), "http://localhost:7400");
        assert_eq!(
            base_url_of("http://127.0.0.1:7400/"),
            "http://127.0.0.1:7400"
        );
        assert_eq!(base_url_of("https://bank.example"), "https://bank.example");
    }
}
