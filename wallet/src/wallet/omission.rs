//! Payments a node left out of a light wallet's answers: the payer exports a payment proof (the
//! transaction and the node's receipt), the payee's wallet asks the node again from the
//! receipt's height, and if the payment is still missing it keeps the node's signed answer as
//! evidence (`dfc_core::light::OmissionEvidence`), which anyone with the network's parameters can
//! check.

use dfc_core::governance::ParamsHistory;
use dfc_core::light::{contradicts, OmissionEvidence, PaymentProof};
use dfc_core::{Hash32, Transaction};
use serde::Serialize;

use super::Wallet;
use crate::error::{Result, WalletError};

/// A payment the node's signed answer lists: a sync applies it.
#[derive(Clone, Debug, Serialize)]
pub struct PaymentListed {
    /// Transaction id.
    pub txid: String,
    /// Height of its block.
    pub height: u64,
}

impl Wallet {
    /// The payment proof of one of this wallet's committed payments, to hand to the payee.
    pub async fn payment_proof(&mut self, txid: &str) -> Result<PaymentProof> {
        let receipt = self.receipt(txid).await?;
        let stored = self
            .store
            .outgoing(&self.data, false)?
            .into_iter()
            .find(|o| o.txid == receipt.txid)
            .ok_or_else(|| WalletError::UnknownTx {
                txid: receipt.txid.to_hex(),
            })?;
        let tx = Transaction::from_hex(&stored.tx_hex).map_err(|e| {
            self.store
                .corrupted(format!("outgoing transaction {}: {e}", receipt.txid))
        })?;
        Ok(PaymentProof { tx, receipt })
    }

    /// Checks a payment proof a payer handed this wallet: the receipt is the node's and the
    /// transaction pays this wallet; then asks the node, from the receipt's height, what concerns
    /// this wallet. If the node's signed answer leaves the payment out, the answer and the proof
    /// are saved as evidence under the wallet's directory and
    /// [`WalletError::NodeOmittedPayment`] names the file.
    pub async fn check_payment(&mut self, proof: &PaymentProof) -> Result<PaymentListed> {
        let history = self.history_for_evidence().await?;
        let own = self.keys.spend.public();
        proof
            .check(&own, &history)
            .map_err(|source| WalletError::BadPaymentProof { source })?;
        let height = proof.receipt.height;
        let txid = proof.tx.id();
        let client = self.client()?;
        let answer = client.light_sync(&own, height).await?;
        if answer.key != own
            || answer.from != height
            || !answer.signature_ok(history.at(answer.tip_height))
        {
            return Err(WalletError::BadLightSync {
                from: height,
                source: dfc_core::light::LightError::BadAnswerSignature,
            });
        }
        if !contradicts(&answer, &txid, height) {
            return Ok(PaymentListed {
                txid: txid.to_hex(),
                height,
            });
        }
        let evidence = OmissionEvidence {
            payment: proof.clone(),
            answer,
        };
        // Checked as a third party would before it is kept.
        evidence
            .verify(&history)
            .map_err(|source| WalletError::BadPaymentProof { source })?;
        let dir = self.dir.join("evidence");
        let path = dir.join(format!("omission-{}.json", txid.to_hex()));
        let text = serde_json::to_string_pretty(&evidence)
            .map_err(|e| self.store.corrupted(format!("evidence: {e}")))?;
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| WalletError::Io {
                path: path.clone(),
                source,
            })?;
        Err(WalletError::NodeOmittedPayment {
            txid: txid.to_hex(),
            height,
            evidence: path,
        })
    }

    /// Verifies an omission evidence file against this wallet's network (its parameter history
    /// as last synced, or the pinned genesis parameters).
    pub fn verify_evidence(&self, evidence: &OmissionEvidence) -> Result<Hash32> {
        let history = self.history_or_genesis()?;
        evidence
            .verify(&history)
            .map_err(|source| WalletError::BadPaymentProof { source })?;
        Ok(evidence.payment.tx.id())
    }

    /// The parameter history, refreshed from the node when it can be (a receipt may be signed
    /// under parameters newer than the last sync).
    async fn history_for_evidence(&self) -> Result<ParamsHistory> {
        let client = self.client()?;
        match self.refresh_history(&client).await {
            Ok(h) => Ok(h),
            Err(WalletError::Node(_)) => self.history_or_genesis(),
            Err(e) => Err(e),
        }
    }
}
