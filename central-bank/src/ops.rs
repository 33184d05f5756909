//! Building signed operator requests: used by the `dfc-bank` operator commands and by tests.

use dfc_core::api::{OperatorAction, OperatorRequest};
use dfc_core::{
    build, Address, Amount, BuildError, Hash32, IssuerSignature, NetworkParams, Payment,
    SigningKey, Transaction, TxId, TxKind,
};
use rand_core::{OsRng, RngCore};

use crate::client::ClientError;
use crate::datadir::now_ms;
use crate::server::ProposalDetail;

/// An operator: its index in the network's issuer keys and its key.
#[derive(Clone)]
pub struct Operator {
    /// Index into `NetworkParams::issuers`.
    pub index: u8,
    /// The operator's signing key.
    pub key: SigningKey,
}

impl Operator {
    /// Finds `key` among the network's issuer keys.
    pub fn find(params: &NetworkParams, key: SigningKey) -> Option<Operator> {
        let public = key.public();
        let index = params.issuers.iter().position(|k| *k == public)?;
        Some(Operator {
            index: u8::try_from(index).ok()?,
            key,
        })
    }

    /// A signed request for `action`, timed now, with a fresh random nonce.
    pub fn request(&self, params: &NetworkParams, action: OperatorAction) -> OperatorRequest {
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        OperatorRequest::new(
            params.network_id,
            self.index,
            &self.key,
            now_ms(),
            Hash32(nonce),
            action,
        )
    }

    /// This operator's issuer signature over `txid`.
    pub fn approval(&self, txid: &TxId) -> IssuerSignature {
        IssuerSignature {
            index: self.index,
            signature: self.key.sign(&txid.0),
        }
    }

    /// Builds an issuance of `amount` to `to` and the request proposing it (with this operator's
    /// approval and the disclosed opening of its output, which every approver is shown).
    pub fn propose_issue(
        &self,
        params: &NetworkParams,
        to: &Address,
        amount: Amount,
    ) -> Result<(Transaction, OperatorRequest), BuildError> {
        let built = build(
            params,
            TxKind::Issue,
            amount,
            &[],
            &[Payment {
                to: *to,
                amount,
                memo: Vec::new(),
            }],
            &mut OsRng,
        )?;
        let openings = dfc_core::proposal::disclose(&built.openings);
        let tx = built.tx;
        let approval = self.approval(&tx.id());
        let req = self.request(
            params,
            OperatorAction::Propose {
                tx: tx.clone(),
                approval,
                openings,
            },
        );
        Ok((tx, req))
    }

    /// The request approving proposal `txid`.
    pub fn approve(&self, params: &NetworkParams, txid: &TxId) -> OperatorRequest {
        self.request(
            params,
            OperatorAction::Approve {
                txid: *txid,
                approval: self.approval(txid),
            },
        )
    }
}

/// `GET /v1/proposals/{txid}`: a proposal with its transaction (not in [`crate::client`], whose
/// surface is fixed for the wallet team).
pub async fn fetch_proposal(base_url: &str, txid: &TxId) -> Result<ProposalDetail, ClientError> {
    let url = format!("{}/v1/proposals/{txid}", base_url.trim_end_matches('/'));
    let unreachable = |e: reqwest::Error| ClientError::Unreachable {
        url: url.clone(),
        reason: e.to_string(),
    };
    let resp = reqwest::Client::new()
        .get(&url)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(unreachable)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()));
    }
    let err: dfc_core::api::ApiError =
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))?;
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
