//! [`LedgerStore`] on PostgreSQL: the block writer, on the open transaction of one block.
//!
//! One statement per table per block, whatever the block's size: the rows go as arrays
//! (`unnest`), so a block costs a fixed handful of round trips instead of about seven per
//! payment (`docs/scaling.md`). Order: the block, its transactions, the notes it creates, the
//! notes it spends (after the notes, so a note created earlier in the block can be spent in it),
//! the claims it settles, the owner index, the holdings.

use super::super::*;
use super::PgConn;

/// The rows of one block, column by column.
#[derive(Default)]
struct Rows {
    tx_id: Vec<Vec<u8>>,
    tx_idx: Vec<i64>,
    tx_kind: Vec<String>,
    tx_amount: Vec<i64>,
    tx_bytes: Vec<Vec<u8>>,
    tx_sig: Vec<Vec<u8>>,
    note_id: Vec<Vec<u8>>,
    note_commitment: Vec<Vec<u8>>,
    note_owner: Vec<Vec<u8>>,
    note_txid: Vec<Vec<u8>>,
    note_index: Vec<i64>,
    note_output: Vec<String>,
    note_pending: Vec<bool>,
    spent_note: Vec<Vec<u8>>,
    spent_txid: Vec<Vec<u8>>,
    settled: Vec<Vec<u8>>,
    /// Owner index rows known from the block itself: outputs' owners and claimants.
    light_owner: Vec<Vec<u8>>,
    light_idx: Vec<i64>,
    /// Owner index rows of inputs, whose owners are read from the notes.
    light_input: Vec<Vec<u8>>,
    light_input_idx: Vec<i64>,
}

impl Rows {
    fn of(block: &Block, receipt_sigs: &[Signature], fx: &BlockEffects<'_>) -> StoreResult<Self> {
        let mut r = Rows::default();
        for (idx, ((tx, sig), tx_fx)) in block.txs.iter().zip(receipt_sigs).zip(fx.txs).enumerate()
        {
            let txid = tx.id();
            let idx =
                i64::try_from(idx).map_err(|_| StoreError::corrupt("txs", "index overflow"))?;
            r.tx_id.push(txid.0.to_vec());
            r.tx_idx.push(idx);
            r.tx_kind.push(tx.kind.name().to_string());
            r.tx_amount.push(to_i64(tx.public_amount.units())?);
            r.tx_bytes.push(tx.encode());
            r.tx_sig.push(sig.to_bytes().to_vec());
            for input in &tx.inputs {
                r.spent_note.push(input.0.to_vec());
                r.spent_txid.push(txid.0.to_vec());
                r.light_input.push(input.0.to_vec());
                r.light_input_idx.push(idx);
            }
            for (i, (o, id)) in tx.outputs.iter().zip(tx.output_ids()).enumerate() {
                r.note_id.push(id.0.to_vec());
                r.note_commitment.push(o.commitment.to_bytes().to_vec());
                r.note_owner.push(o.owner.to_bytes().to_vec());
                r.note_txid.push(txid.0.to_vec());
                r.note_index.push(
                    i64::try_from(i).map_err(|_| StoreError::corrupt("notes", "index overflow"))?,
                );
                r.note_output
                    .push(serde_json::to_string(o).map_err(|e| StoreError::corrupt("notes", e))?);
                r.note_pending
                    .push(tx_fx.pending_outputs.get(i).copied().unwrap_or(false));
                r.light_owner.push(o.owner.to_bytes().to_vec());
                r.light_idx.push(idx);
            }
            r.settled
                .extend(tx_fx.claimed.iter().map(|id| id.0.to_vec()));
            if let Some(claim) = &tx.claim {
                r.light_owner.push(claim.claimant.to_bytes().to_vec());
                r.light_idx.push(idx);
            }
        }
        Ok(r)
    }
}

impl LedgerStore for PgConn<postgres::Transaction<'_>> {
    fn write_block(
        &self,
        block: &Block,
        receipt_sigs: &[Signature],
        fx: &BlockEffects<'_>,
    ) -> StoreResult<()> {
        if fx.txs.len() != block.txs.len() || receipt_sigs.len() != block.txs.len() {
            return Err(StoreError::corrupt(
                "blocks",
                format!(
                    "block of {} transactions written with {} effects and {} receipt signatures",
                    block.txs.len(),
                    fx.txs.len(),
                    receipt_sigs.len()
                ),
            ));
        }
        let height = to_i64(block.header.height)?;
        let header =
            serde_json::to_string(&block.header).map_err(|e| StoreError::corrupt("blocks", e))?;
        // Genesis has no parent; every other block names the stored block it extends (the
        // foreign key and UNIQUE on `prev_hash` make the chain unforkable in the database).
        let prev: Option<Vec<u8>> =
            (block.header.height > 0).then(|| block.header.prev_hash.0.to_vec());
        let r = Rows::of(block, receipt_sigs, fx)?;
        let mut accounts: Vec<Vec<u8>> = Vec::with_capacity(fx.holdings.len());
        let mut balances: Vec<Vec<u8>> = Vec::with_capacity(fx.holdings.len());
        let mut periods: Vec<i64> = Vec::with_capacity(fx.holdings.len());
        let mut inflows: Vec<Vec<u8>> = Vec::with_capacity(fx.holdings.len());
        for (account, h) in fx.holdings {
            accounts.push(account.to_bytes().to_vec());
            balances.push(h.balance.compress().to_bytes().to_vec());
            periods.push(
                i64::try_from(h.period).map_err(|_| StoreError::corrupt("holdings", "period"))?,
            );
            inflows.push(h.inflow.compress().to_bytes().to_vec());
        }
        self.with(|c| {
            c.execute(
                "INSERT INTO blocks (height, hash, prev_hash, header, signature) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &height,
                    &&block.header.hash().0[..],
                    &prev,
                    &header,
                    &&block.signature.to_bytes()[..],
                ],
            )?;
            if r.tx_id.is_empty() && accounts.is_empty() {
                return Ok(());
            }
            c.execute(
                "INSERT INTO txs (txid, height, idx, kind, public_amount, bytes, receipt_sig) \
                 SELECT t.txid, $2, t.idx, t.kind, t.amount, t.bytes, t.sig FROM \
                 unnest($1::BYTEA[], $3::BIGINT[], $4::TEXT[], $5::BIGINT[], $6::BYTEA[], $7::BYTEA[]) \
                 AS t (txid, idx, kind, amount, bytes, sig)",
                &[&r.tx_id, &height, &r.tx_idx, &r.tx_kind, &r.tx_amount, &r.tx_bytes, &r.tx_sig],
            )?;
            c.execute(
                "INSERT INTO notes (id, commitment, owner, created_height, txid, output_index, output, pending) \
                 SELECT n.id, n.commitment, n.owner, $2, n.txid, n.idx, n.output, n.pending FROM \
                 unnest($1::BYTEA[], $3::BYTEA[], $4::BYTEA[], $5::BYTEA[], $6::BIGINT[], $7::TEXT[], $8::BOOLEAN[]) \
                 AS n (id, commitment, owner, txid, idx, output, pending)",
                &[
                    &r.note_id,
                    &height,
                    &r.note_commitment,
                    &r.note_owner,
                    &r.note_txid,
                    &r.note_index,
                    &r.note_output,
                    &r.note_pending,
                ],
            )?;
            c.execute(
                "INSERT INTO spent (note_id, txid, height) \
                 SELECT s.note, s.txid, $3 FROM unnest($1::BYTEA[], $2::BYTEA[]) AS s (note, txid)",
                &[&r.spent_note, &r.spent_txid, &height],
            )?;
            if !r.settled.is_empty() {
                c.execute(
                    "UPDATE notes SET pending = FALSE WHERE id = ANY($1::BYTEA[])",
                    &[&r.settled],
                )?;
            }
            // The owner index of light sync, in the same transaction as the block.
            c.execute(
                "INSERT INTO light_index (owner, height, idx) \
                 SELECT l.owner, $2, l.idx FROM unnest($1::BYTEA[], $3::BIGINT[]) AS l (owner, idx) \
                 ON CONFLICT DO NOTHING",
                &[&r.light_owner, &height, &r.light_idx],
            )?;
            c.execute(
                "INSERT INTO light_index (owner, height, idx) \
                 SELECT n.owner, $2, i.idx FROM unnest($1::BYTEA[], $3::BIGINT[]) AS i (id, idx) \
                 JOIN notes n ON n.id = i.id ON CONFLICT DO NOTHING",
                &[&r.light_input, &height, &r.light_input_idx],
            )?;
            if !accounts.is_empty() {
                c.execute(
                    "INSERT INTO holdings (account, balance, period, inflow) \
                     SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[], $3::BIGINT[], $4::BYTEA[]) \
                     ON CONFLICT (account) DO UPDATE SET balance = EXCLUDED.balance, \
                     period = EXCLUDED.period, inflow = EXCLUDED.inflow",
                    &[&accounts, &balances, &periods, &inflows],
                )?;
            }
            Ok(())
        })
    }

    fn register_wallet(&self, info: &WalletInfo) -> StoreResult<()> {
        let registered = to_i64(info.registered_ms)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO wallets (spend_key, address, label, tier, frozen, flags, registered_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &&info.address.spend.to_bytes()[..],
                    &info.address.to_string(),
                    &info.label,
                    &i64::from(info.tier),
                    &info.frozen,
                    &i64::from(info.flags),
                    &registered,
                ],
            )?;
            Ok(())
        })
    }
}
