//! Wire types of the node's offline-payment endpoints (`/v1/purses`, `/v1/checkpoint/proofs`,
//! `/v1/offline/settle`, `/v1/evidence`), shared by the node and the wallet.
//!
//! A purse request is signed by the wallet's spend key over [`PurseRequest::signing_hash`], a
//! transcript over its fields, never over serde output.

use merlin::Transcript;
use serde::{Deserialize, Serialize};

use crate::api::Checkpoint;
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::merkle::MerkleProof;
use crate::note::{Hash32, NoteId, TxId};
use crate::offline::DoubleSpendEvidence;
use crate::transcript::TranscriptProtocol;

/// Domain label of purse-certificate requests.
pub const PURSE_REQUEST_DOMAIN: &[u8] = b"dfc/purse-request/v1";
/// Most note ids in one `POST /v1/checkpoint/proofs`.
pub const MAX_PROOF_NOTES: usize = 64;

/// `POST /v1/purses`: a registered wallet asks the node to certify `purse` as its offline purse.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurseRequest {
    /// The wallet's spend key.
    pub wallet: PublicKey,
    /// The purse key (from `WalletKeys::purse_key`).
    pub purse: PublicKey,
    /// A shorter validity than the node's default, in ms; the node never exceeds its own.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub ttl_ms: Option<u64>,
    /// Request time, ms since the Unix epoch; the node refuses requests far from its clock.
    pub time_ms: u64,
    /// Spend-key signature over [`PurseRequest::signing_hash`].
    pub signature: Signature,
}

impl PurseRequest {
    /// What the wallet signs.
    pub fn signing_hash(
        network: u32,
        wallet: &PublicKey,
        purse: &PublicKey,
        ttl_ms: Option<u64>,
        time_ms: u64,
    ) -> Hash32 {
        let mut t = Transcript::new(PURSE_REQUEST_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_message(b"wallet", &wallet.to_bytes());
        t.append_message(b"purse", &purse.to_bytes());
        match ttl_ms {
            Some(ttl) => {
                t.append_message(b"ttl", &[1]);
                t.append_u64_le(b"ttl_ms", ttl);
            }
            None => t.append_message(b"ttl", &[0]),
        }
        t.append_u64_le(b"time_ms", time_ms);
        Hash32(t.challenge_bytes32(b"purse-request"))
    }

    /// Builds and signs a request.
    pub fn new(
        network: u32,
        spend: &SigningKey,
        purse: PublicKey,
        ttl_ms: Option<u64>,
        time_ms: u64,
    ) -> Self {
        let wallet = spend.public();
        let h = Self::signing_hash(network, &wallet, &purse, ttl_ms, time_ms);
        PurseRequest {
            wallet,
            purse,
            ttl_ms,
            time_ms,
            signature: spend.sign(&h.0),
        }
    }

    /// Verifies the wallet's signature.
    pub fn verify(&self, network: u32) -> bool {
        let h = Self::signing_hash(
            network,
            &self.wallet,
            &self.purse,
            self.ttl_ms,
            self.time_ms,
        );
        self.wallet.verify(&h.0, &self.signature)
    }
}

/// `POST /v1/checkpoint/proofs`: the notes to prove unspent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofsRequest {
    /// Note ids, at most [`MAX_PROOF_NOTES`].
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 64))]
    pub notes: Vec<NoteId>,
}

/// Answer of `POST /v1/checkpoint/proofs`: a signed checkpoint and one proof per asked note, in
/// the order asked, all against the checkpoint's `ledger_root`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofsResponse {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Proofs, in request order.
    pub proofs: Vec<MerkleProof>,
}

/// `POST /v1/offline/settle`: a payment packet in its text form (`DFCPAY2:...`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// The packet's text form.
    pub packet: String,
}

/// A double spend the node caught at settlement, as stored and listed by `GET /v1/evidence`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// [`evidence_id`] of the evidence.
    pub id: Hash32,
    /// The payer's wallet (spend key), from the certificate.
    pub wallet: PublicKey,
    /// The purse key.
    pub purse: PublicKey,
    /// The certificate serial.
    pub serial: u64,
    /// The note spent twice.
    pub note: NoteId,
    /// The committed transaction's id.
    pub committed_txid: TxId,
    /// The refused transaction's id.
    pub conflicting_txid: TxId,
    /// When the node recorded it, ms since the Unix epoch.
    pub recorded_ms: u64,
    /// The evidence itself: anyone with the node key can check it with
    /// [`DoubleSpendEvidence::verify`].
    pub evidence: DoubleSpendEvidence,
}

/// The id of a piece of evidence: a transcript hash over the note and both transaction ids, so the
/// same double spend found twice has one id.
pub fn evidence_id(note: &NoteId, committed: &TxId, conflicting: &TxId) -> Hash32 {
    let mut t = Transcript::new(b"dfc/evidence-id/v1");
    t.append_message(b"note", &note.0);
    t.append_message(b"committed", &committed.0);
    t.append_message(b"conflicting", &conflicting.0);
    Hash32(t.challenge_bytes32(b"id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purse_request_signature_binds_every_field() {
        let spend = SigningKey::from_seed(&[1u8; 32]);
        let purse = SigningKey::from_seed(&[2u8; 32]).public();
        let r = PurseRequest::new(7, &spend, purse, Some(5_000), 1_000);
        assert!(r.verify(7));
        assert!(!r.verify(8));
        let mut longer = r.clone();
        longer.ttl_ms = None;
        assert!(!longer.verify(7));
        let mut later = r.clone();
        later.time_ms += 1;
        assert!(!later.verify(7));
        let mut other = r;
        other.purse = spend.public();
        assert!(!other.verify(7));
    }
}
