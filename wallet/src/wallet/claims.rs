//! Claiming received notes within the wallet's holding and turnover limits.
//!
//! What a wallet receives from others arrives *pending* (`dfc_core::claim`). After every sync the
//! wallet claims as many pending notes, oldest first, as fit within its tier's `max_balance` and
//! this turnover period's `max_inflow`, proving it in zero knowledge against the ledger's running
//! sums of its notes, which it recomputes from its own openings: its settled unspent notes (purse
//! notes included: they are the same account) and the notes it claimed this period. The rest stay
//! pending and are shown as held; they are not spendable.

use dfc_client::BankClient;
use dfc_core::builder::build_claim;
use dfc_core::claim::{sum_openings, ClaimRequest, MAX_CLAIM_NOTES};
use dfc_core::{NetworkParams, NoteId, Opening};
use rand_core::OsRng;

use super::{SyncReport, Wallet};
use crate::error::Result;

impl SyncReport {
    /// Counts the notes still pending after the sync.
    pub(super) fn held_count(&mut self, w: &Wallet) -> Result<()> {
        self.notes_held = w
            .store
            .unspent_notes(&w.data)?
            .iter()
            .filter(|n| n.pending)
            .count();
        Ok(())
    }
}

impl Wallet {
    /// Claims the pending notes that fit within the limits. Returns whether a claim was committed
    /// (then the caller syncs again to see it in a block).
    pub(super) async fn claim_pending(
        &mut self,
        client: &BankClient,
        params: &NetworkParams,
        report: &mut SyncReport,
    ) -> Result<bool> {
        let notes = self.store.unspent_notes(&self.data)?;
        let pending: Vec<(NoteId, Opening)> = notes
            .iter()
            .filter(|n| n.pending)
            .map(|n| (n.id, n.opening.clone()))
            .collect();
        if pending.is_empty() {
            return Ok(false);
        }
        let me = client.wallet(&self.keys.spend.public()).await?;
        let Some(limits) = params.tier(me.tier) else {
            return Ok(false);
        };
        let tip_time = self
            .store
            .tip_header()?
            .map(|h| h.time_ms)
            .unwrap_or_default();
        let now = tip_time.max(crate::store::now_ms());
        let period = params.turnover_period(now);
        let purse = self.store.purse_notes(&self.data)?;
        let settled = sum_openings(
            notes
                .iter()
                .filter(|n| !n.pending)
                .map(|n| &n.opening)
                .chain(purse.iter().map(|p| &p.opening)),
        )
        .map_err(dfc_core::BuildError::from)?;
        let claimed = self.store.claimed_in(&self.data, period)?;
        let inflow =
            sum_openings(claimed.iter().map(|n| &n.opening)).map_err(dfc_core::BuildError::from)?;
        // Oldest first, as many as fit both limits.
        let mut take: Vec<(NoteId, Opening)> = Vec::new();
        let mut hold = settled.amount;
        let mut inn = inflow.amount;
        let mut held_reason = None;
        for (id, o) in pending {
            let (Ok(h), Ok(i)) = (hold.checked_add(o.amount), inn.checked_add(o.amount)) else {
                continue;
            };
            if h > limits.max_balance {
                held_reason.get_or_insert_with(|| {
                    format!(
                        "holding limit of {} for tier {} reached",
                        params.format(limits.max_balance),
                        me.tier
                    )
                });
                continue;
            }
            if i > limits.max_inflow {
                held_reason.get_or_insert_with(|| {
                    format!(
                        "turnover limit of {} per {} days reached",
                        params.format(limits.max_inflow),
                        params.turnover_period_days
                    )
                });
                continue;
            }
            if take.len() == MAX_CLAIM_NOTES {
                break;
            }
            hold = h;
            inn = i;
            take.push((id, o));
        }
        report.held_reason = held_reason;
        if take.is_empty() {
            return Ok(false);
        }
        let req = ClaimRequest {
            key: &self.keys.spend,
            tier: me.tier,
            period,
            notes: &take,
            balance: settled,
            inflow,
        };
        let tx = build_claim(params, &req, &mut OsRng)?;
        match client.submit(&tx).await {
            Ok(_) => Ok(true),
            // The ledger moved (a block of ours not yet synced, or a new period): the next sync
            // claims again against the state it then sees.
            Err(e)
                if matches!(
                    e.code(),
                    Some("stale_balance" | "stale_inflow" | "wrong_period")
                ) =>
            {
                report.held_reason = Some(e.to_string());
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}
