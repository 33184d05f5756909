//! Light sync: the wallet downloads only what concerns it (`/v1/light/sync`), verified whole
//! before anything is applied; see `dfc_core::light`.

use dfc_client::BankClient;
use dfc_core::governance::ParamsHistory;
use dfc_core::Transaction;

use super::{SyncReport, Wallet};
use crate::error::{Result, WalletError};

impl Wallet {
    /// Light sync: the node's signed answer of what concerns this wallet, verified whole (every
    /// header's chain link and signature, every inclusion proof) before any of it is applied.
    pub(super) async fn download_light(
        &mut self,
        client: &BankClient,
        history: &ParamsHistory,
        report: &mut SyncReport,
    ) -> Result<()> {
        let own = self.keys.spend.public();
        loop {
            let from = self.store.sync_height()?;
            let answer = client.light_sync(&own, from).await?;
            let prev = self.store.tip_header()?;
            let verified = answer
                .verify_under(&own, from, prev.as_ref(), history)
                .map_err(|source| WalletError::BadLightSync { from, source })?;
            let last = verified.len().saturating_sub(1);
            let mut expect_from = from;
            for (i, (sh, txs)) in verified.into_iter().enumerate() {
                // The whole chain is verified above; a header with nothing for us needs writing
                // only as the new tip.
                if txs.is_empty() && i != last {
                    report.blocks += 1;
                    continue;
                }
                let txs: Vec<Transaction> = txs.into_iter().cloned().collect();
                self.apply_verified(
                    &sh.header,
                    &txs,
                    expect_from,
                    history.at(sh.header.height),
                    report,
                )?;
                expect_from = sh.header.height + 1;
            }
            if answer.headers.is_empty() || answer.to >= answer.tip_height {
                return Ok(());
            }
        }
    }
}
