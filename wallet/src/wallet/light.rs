//! Light sync: the wallet downloads only what concerns it (`/v1/light/sync`), verified whole
//! before anything is applied; see `dfc_core::light`.

use dfc_client::BankClient;
use dfc_core::governance::ParamsHistory;
use dfc_core::Transaction;

use super::{SyncReport, Wallet};
use crate::error::{Result, WalletError};

/// Wallet meta key: height of the newest co-signed checkpoint a light answer carried and the
/// wallet verified; later answers must carry one at least as new.
const CHECKPOINT_FLOOR: &str = "cosigned_checkpoint_floor";

impl Wallet {
    /// The newest co-signed checkpoint height this wallet has verified, if any.
    fn checkpoint_floor(&self) -> Result<Option<u64>> {
        Ok(self
            .store
            .meta(CHECKPOINT_FLOOR)?
            .and_then(|v| v.parse().ok()))
    }

    /// Light sync: the node's signed answer of what concerns this wallet, verified whole (the
    /// signed anchor header, the headers of the wallet's blocks, the history proof that they, the
    /// wallet's previous tip and any co-signed checkpoint are ancestors of the anchor, every
    /// inclusion proof) before any of it is applied.
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
            let floor = self.checkpoint_floor()?;
            answer
                .check_checkpoint_floor(floor)
                .map_err(|source| WalletError::BadLightSync { from, source })?;
            let verified = answer
                .verify_under(&own, from, prev.as_ref(), history)
                .map_err(|source| WalletError::BadLightSync { from, source })?;
            // The wallet's own blocks, then the anchor (the new tip); every header between is
            // proven by the history proof, not downloaded.
            let mut expect_from = from;
            let applied = verified.len() as u64;
            report.headers_downloaded += applied;
            for (sh, txs) in verified {
                let txs: Vec<Transaction> = txs.into_iter().cloned().collect();
                self.apply_verified(
                    &sh.header,
                    &txs,
                    expect_from,
                    history.at(sh.header.height),
                    report,
                    // Headers between are proven, not downloaded: the wallet no longer holds the
                    // history of every block (a full sync then checks no history root).
                    None,
                )?;
                expect_from = sh.header.height + 1;
            }
            // A verified co-signed checkpoint raises the floor every later answer is held to.
            if let Some(cp) = &answer.checkpoint {
                if floor.is_none_or(|f| cp.point.height > f) {
                    self.store
                        .set_meta(CHECKPOINT_FLOOR, &cp.point.height.to_string())?;
                }
            }
            // Blocks covered without a header of their own (each applied one counted itself).
            report.blocks += answer
                .to
                .saturating_add(1)
                .saturating_sub(from)
                .saturating_sub(applied);
            if answer.anchor.is_none() || answer.to >= answer.tip_height {
                return Ok(());
            }
        }
    }
}
