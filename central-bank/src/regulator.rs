//! The regulator's view: payments at or above the reporting threshold, decrypted from their
//! disclosures with the regulator's key. Works from blocks fetched over the public API, so the
//! regulator needs no access to the node's database.

use dfc_core::compliance::RegulatorKey;
use dfc_core::{Amount, Block, Hash32, PublicKey};
use serde::Serialize;

use crate::client::{BankClient, ClientError};

/// One disclosed payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DisclosedPayment {
    /// Block height.
    pub height: u64,
    /// Block time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Transaction id.
    pub txid: Hash32,
    /// Output index.
    pub output: usize,
    /// The receiving wallet's spend key.
    pub recipient: PublicKey,
    /// The amount, or none if the disclosure does not decrypt under this key (wrong key).
    pub amount: Option<Amount>,
}

/// Every disclosure in `blocks`, decrypted with `key`.
pub fn disclosed(blocks: &[Block], key: &RegulatorKey) -> Vec<DisclosedPayment> {
    let mut out = Vec::new();
    for b in blocks {
        for tx in &b.txs {
            let Some(section) = &tx.compliance else {
                continue;
            };
            let txid = tx.id();
            for d in &section.disclosures {
                // A disclosure covers a payee party: everything its outputs received.
                let outputs = section.outputs_of(usize::from(d.party));
                let Some(&output) = outputs.first() else {
                    continue;
                };
                let Some(o) = tx.outputs.get(output) else {
                    continue;
                };
                out.push(DisclosedPayment {
                    height: b.header.height,
                    time_ms: b.header.time_ms,
                    txid,
                    output,
                    recipient: o.owner,
                    amount: key.decrypt(d),
                });
            }
        }
    }
    out
}

/// Fetches every block from the node and lists the disclosed payments.
pub async fn fetch_disclosed(
    client: &BankClient,
    key: &RegulatorKey,
) -> Result<Vec<DisclosedPayment>, ClientError> {
    let mut from = 0u64;
    let mut out = Vec::new();
    loop {
        let page = client.blocks(from, 500).await?;
        let Some(last) = page.blocks.last().map(|b| b.header.height) else {
            break;
        };
        out.extend(disclosed(&page.blocks, key));
        if last >= page.tip_height {
            break;
        }
        from = last + 1;
    }
    Ok(out)
}
