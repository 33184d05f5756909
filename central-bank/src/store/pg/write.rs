//! [`LedgerStore`] on PostgreSQL: the block writer, on the open transaction of one block.

use super::super::*;
use super::PgConn;

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
            let ins_tx = c.prepare(
                "INSERT INTO txs (txid, height, idx, kind, public_amount, bytes, receipt_sig) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )?;
            let ins_note = c.prepare(
                "INSERT INTO notes (id, commitment, owner, created_height, txid, output_index, output, pending) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )?;
            let ins_spent =
                c.prepare("INSERT INTO spent (note_id, txid, height) VALUES ($1, $2, $3)")?;
            let settle = c.prepare("UPDATE notes SET pending = FALSE WHERE id = $1")?;
            let light = c.prepare(
                "INSERT INTO light_index (owner, height, idx) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )?;
            let light_input = c.prepare(
                "INSERT INTO light_index (owner, height, idx) SELECT owner, $2, $3 FROM notes WHERE id = $1 ON CONFLICT DO NOTHING",
            )?;
            for (idx, ((tx, sig), tx_fx)) in
                block.txs.iter().zip(receipt_sigs).zip(fx.txs).enumerate()
            {
                let txid = tx.id();
                let idx =
                    i64::try_from(idx).map_err(|_| StoreError::corrupt("txs", "index overflow"))?;
                c.execute(
                    &ins_tx,
                    &[
                        &&txid.0[..],
                        &height,
                        &idx,
                        &tx.kind.name(),
                        &to_i64(tx.public_amount.units())?,
                        &tx.encode(),
                        &&sig.to_bytes()[..],
                    ],
                )?;
                for input in &tx.inputs {
                    c.execute(&ins_spent, &[&&input.0[..], &&txid.0[..], &height])?;
                }
                for (i, (o, id)) in tx.outputs.iter().zip(tx.output_ids()).enumerate() {
                    let out =
                        serde_json::to_string(o).map_err(|e| StoreError::corrupt("notes", e))?;
                    let pending = tx_fx.pending_outputs.get(i).copied().unwrap_or(false);
                    let i = i64::try_from(i)
                        .map_err(|_| StoreError::corrupt("notes", "index overflow"))?;
                    c.execute(
                        &ins_note,
                        &[
                            &&id.0[..],
                            &&o.commitment.to_bytes()[..],
                            &&o.owner.to_bytes()[..],
                            &height,
                            &&txid.0[..],
                            &i,
                            &out,
                            &pending,
                        ],
                    )?;
                }
                for id in &tx_fx.claimed {
                    c.execute(&settle, &[&&id.0[..]])?;
                }
                // The owner index of light sync, in the same transaction as the block.
                for o in &tx.outputs {
                    c.execute(&light, &[&&o.owner.to_bytes()[..], &height, &idx])?;
                }
                for input in &tx.inputs {
                    c.execute(&light_input, &[&&input.0[..], &height, &idx])?;
                }
                if let Some(claim) = &tx.claim {
                    c.execute(&light, &[&&claim.claimant.to_bytes()[..], &height, &idx])?;
                }
            }
            for (account, h) in fx.holdings {
                let period = i64::try_from(h.period)
                    .map_err(|_| StoreError::corrupt("holdings", "period"))?;
                c.execute(
                    "INSERT INTO holdings (account, balance, period, inflow) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (account) DO UPDATE SET balance = EXCLUDED.balance, period = EXCLUDED.period, inflow = EXCLUDED.inflow",
                    &[
                        &&account.to_bytes()[..],
                        &&h.balance.compress().to_bytes()[..],
                        &period,
                        &&h.inflow.compress().to_bytes()[..],
                    ],
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
