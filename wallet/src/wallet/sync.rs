//! Syncing: resume what the wallet sent, settle offline packets, then download the blocks (every
//! block in a full sync, or the light answers of [`super::light`]) and record what in them
//! concerns this wallet, one database transaction per block.

use super::*;

impl Wallet {
    /// Resumes stored transactions, then downloads and applies every block since the last sync.
    pub async fn sync(&mut self) -> Result<SyncReport> {
        let client = self.client()?;
        // Before anything is resumed, settled or applied: a node of another network must change
        // nothing here (a settled offline packet once came back "failed" from the wrong node).
        let genesis = self.store.params()?.ok_or(WalletError::NotRegistered)?;
        self.check_network(&client, &genesis).await?;
        let history = self.refresh_history(&client).await?;
        let params = self.params()?;
        let mut report = SyncReport {
            resumed: self.resume(&client).await?,
            ..SyncReport::default()
        };
        report.offline = self.settle_offline(&client).await?;
        self.download(&client, &history, &mut report).await?;
        // A claim takes at most 16 notes: claim until nothing more fits (bounded, in case the
        // node keeps refusing as stale).
        for _ in 0..64 {
            if !self.claim_pending(&client, &params, &mut report).await? {
                break;
            }
            self.download(&client, &history, &mut report).await?;
        }
        report.held_count(self)?;
        report.height = self.store.sync_height()?;
        report.at_height = report.height.saturating_sub(1);
        match self.refresh_purse(&client).await {
            Ok(h) => report.purse_checkpoint_height = h,
            // The purse stays usable with its older checkpoint; the sync itself succeeded.
            Err(e) => report.purse_warning = Some(e.to_string()),
        }
        Ok(report)
    }

    pub(super) async fn download(
        &mut self,
        client: &BankClient,
        history: &ParamsHistory,
        report: &mut SyncReport,
    ) -> Result<()> {
        if self.full_sync {
            self.download_blocks(client, history, report).await
        } else {
            self.download_light(client, history, report).await
        }
    }

    /// Full sync: every block, each verified whole.
    pub(super) async fn download_blocks(
        &mut self,
        client: &BankClient,
        history: &ParamsHistory,
        report: &mut SyncReport,
    ) -> Result<()> {
        loop {
            let from = self.store.sync_height()?;
            let resp = client.blocks(from, SYNC_BATCH_BLOCKS).await?;
            if resp.blocks.is_empty() {
                return Ok(());
            }
            report.headers_downloaded += resp.blocks.len() as u64;
            for block in &resp.blocks {
                // Each block under the parameters in force at its height.
                self.apply_block(block, history.at(block.header.height), report)?;
            }
            if self.store.sync_height()? > resp.tip_height {
                return Ok(());
            }
        }
    }

    /// Verifies one block against the pinned node key and our last header, then records what in it
    /// concerns us, all in one database transaction.
    pub(super) fn apply_block(
        &mut self,
        block: &Block,
        params: &NetworkParams,
        report: &mut SyncReport,
    ) -> Result<()> {
        let prev = self.store.tip_header()?;
        verify_block(block, prev.as_ref(), params)?;
        // The block's history root must be the root of the blocks before it as this wallet
        // verified them (when it verified them all: not after a light sync skipped some).
        let mut history = self.store.block_history()?;
        if let Some(h) = history.as_mut() {
            if h.leaf_count() != block.header.height || h.root() != block.header.history_root {
                return Err(WalletError::BadHistoryRoot {
                    height: block.header.height,
                });
            }
            h.push(&block.header.hash());
        }
        self.apply_verified(
            &block.header,
            &block.txs,
            block.header.height,
            params,
            report,
            history.as_ref(),
        )
    }

    /// Records what in the verified block `header` concerns us, all in one database
    /// transaction. `txs` are the block's transactions (full sync) or those of them that concern
    /// this wallet (light sync), in block order: either way every transaction that pays, spends
    /// or claims for this wallet or its purse is there. `expect_from` is the sync height the
    /// wallet must be at (`header.height`, or lower when light sync skips verified headers with
    /// nothing for it); otherwise another process applied it meanwhile and nothing is done.
    /// `history` is the history of the verified blocks with this one (full sync), kept with it,
    /// or `None` (light sync), which forgets it.
    pub(super) fn apply_verified(
        &mut self,
        header: &dfc_core::BlockHeader,
        txs: &[Transaction],
        expect_from: u64,
        params: &NetworkParams,
        report: &mut SyncReport,
        history: Option<&HistoryPeaks>,
    ) -> Result<()> {
        let own_spend = self.keys.spend.public();
        let purse = self.keys.purse_key(offline::PURSE_INDEX).public();
        let height = header.height;
        let w = self.store.begin_block()?;
        if w.sync_height()? != expect_from {
            // Another process applied this block meanwhile.
            return Ok(());
        }
        let period = params.turnover_period(header.time_ms);
        for tx in txs {
            let txid = tx.id();
            if let Some(claim) = tx.claim.as_ref().filter(|c| c.claimant == own_spend) {
                for id in &claim.notes {
                    w.claim_note(id, period)?;
                }
                report.notes_claimed += claim.notes.len();
                continue;
            }
            let mut spent = Amount::ZERO;
            let mut spent_any = false;
            let mut spent_pending = false;
            for input in &tx.inputs {
                if let Some(opening) = w.own_note(&self.data, input)? {
                    spent_pending |= w.note_pending(input)?;
                    spent = spent
                        .checked_add(opening.amount)
                        .map_err(dfc_core::BuildError::from)?;
                    spent_any = true;
                    w.spend_note(input, &txid, height)?;
                    report.notes_spent += 1;
                }
            }
            let mut purse_spent = Amount::ZERO;
            for input in &tx.inputs {
                if let Some(a) = w.spend_purse_note(&self.data, input, &txid)? {
                    purse_spent = purse_spent
                        .checked_add(a)
                        .map_err(dfc_core::BuildError::from)?;
                    report.notes_spent += 1;
                }
            }
            w.settle_packet(&txid, height)?;
            let mut received = Amount::ZERO;
            let mut received_any = false;
            let mut to_purse = Amount::ZERO;
            let mut memo = String::new();
            for (output, id) in tx.outputs.iter().zip(tx.output_ids()) {
                if output.owner == purse {
                    // Notes of our purse: kept apart, usable offline once proven.
                    if let Ok(opening) = output.open(&self.keys.view) {
                        to_purse = to_purse
                            .checked_add(opening.amount)
                            .map_err(dfc_core::BuildError::from)?;
                        w.add_purse_note(
                            &self.data,
                            &id,
                            &txid,
                            height,
                            &opening,
                            &output.commitment,
                        )?;
                    }
                    continue;
                }
                if output.owner != own_spend {
                    continue;
                }
                // What this wallet receives from others (and issuance) is pending until claimed;
                // change from its own inputs and redemption change settle at once.
                let pending = match tx.kind {
                    TxKind::Issue => true,
                    TxKind::Transfer => !spent_any && purse_spent == Amount::ZERO,
                    // Change of a redemption that spent a pending note stays pending.
                    TxKind::Redeem => spent_pending,
                    TxKind::Claim => false,
                };
                match output.open(&self.keys.view) {
                    Ok(opening) => {
                        received = received
                            .checked_add(opening.amount)
                            .map_err(dfc_core::BuildError::from)?;
                        received_any = true;
                        if memo.is_empty() {
                            memo = String::from_utf8_lossy(&opening.memo).into_owned();
                        }
                        w.add_note(&self.data, &id, &txid, height, &opening, pending)?;
                        report.notes_received += 1;
                    }
                    Err(e) => {
                        tracing::warn!(%txid, note = %id, error = %e, "note addressed to us does not open its commitment; not counted");
                        report.notes_refused += 1;
                    }
                }
            }
            let ours = w.outgoing_detail(&self.data, &txid)?;
            if ours.is_some() {
                w.confirm_outgoing(&txid, height)?;
            }
            let entry = match tx.kind {
                TxKind::Issue if received_any => Some(("issue", received.units(), None, memo)),
                TxKind::Redeem if spent_any => {
                    Some(("redeem", tx.public_amount.units(), None, String::new()))
                }
                TxKind::Transfer if spent_any && to_purse > Amount::ZERO => {
                    Some(("purse_fund", to_purse.units(), None, String::new()))
                }
                TxKind::Transfer if purse_spent > Amount::ZERO => {
                    // An offline payment of ours, settled: what left the purse.
                    let paid = purse_spent
                        .checked_sub(to_purse)
                        .and_then(|p| p.checked_sub(received))
                        .unwrap_or(Amount::ZERO);
                    Some(("offline_outgoing", paid.units(), None, String::new()))
                }
                TxKind::Transfer if spent_any => {
                    let paid = spent.checked_sub(received).unwrap_or(Amount::ZERO);
                    let kind = if paid == Amount::ZERO {
                        "self"
                    } else {
                        "outgoing"
                    };
                    let (to, memo) = ours
                        .map(|d| (d.to, d.memo))
                        .unwrap_or((None, String::new()));
                    Some((kind, paid.units(), to, memo))
                }
                TxKind::Transfer if received_any => {
                    Some(("incoming", received.units(), None, memo))
                }
                _ => None,
            };
            if let Some((kind, amount_units, counterparty, memo)) = entry {
                let detail = HistoryDetail {
                    amount_units,
                    counterparty,
                    memo,
                };
                w.add_history(&self.data, &txid, kind, height, header.time_ms, &detail)?;
            }
        }
        w.set_history(history)?;
        w.finish(header)?;
        report.blocks += 1;
        Ok(())
    }
}

/// Checks a block before anything in it is believed: chain link, node signature and transaction
/// root against the pinned node key ([`Block::check_link`]), then the network and parameters hash.
pub fn verify_block(
    block: &Block,
    prev: Option<&dfc_core::BlockHeader>,
    params: &NetworkParams,
) -> Result<()> {
    block
        .check_link(prev, &params.node_key)
        .map_err(|source| WalletError::BadChain {
            height: block.header.height,
            source,
        })?;
    if block.header.network != params.network_id || block.header.params_hash != params.hash() {
        return Err(WalletError::BlockParamsMismatch {
            height: block.header.height,
        });
    }
    Ok(())
}
