//! The block-level store contract: what the sequencer needs from a ledger store inside the one
//! write transaction of a block. SQLite (a [`Connection`] with an open `IMMEDIATE` transaction)
//! implements it here; a PostgreSQL store can implement the same trait on its transaction.
//!
//! # Contract
//! - **One transaction per block.** Every call between the sequencer's `begin` and its `commit`
//!   is one atomic unit: the block, its transactions and receipt signatures, the notes created
//!   (with their pending flag), the spent set, the notes claims settle and the holdings after the
//!   block. Nothing is visible to readers before the commit; a receipt is answered only after it.
//! - **Effects are written, not recomputed.** [`LedgerStore::write_block`] takes the effects that
//!   admission computed (`dfc_core::BatchState::admit`) and each changed holding once, as it
//!   stands after the block; the store does not read the state back to derive them.
//! - **Constraints as a second line.** The store refuses a second spend of a note, a repeated note
//!   id or commitment, a repeated transaction id and a repeated height even if the checks above it
//!   were wrong (UNIQUE constraints in SQLite); such a refusal is a storage error, and the
//!   sequencer stops.
//! - **Reads see the transaction's own writes** (the reads of the next block in the same
//!   connection see the last one).
//!
//! The other record kinds (registry, proposals, audit log, evidence, operator sequences) are
//! written through the functions of [`super::registry`], [`super::proposals`] and
//! [`super::audit_log`] on the same transaction; they are candidates for this trait next.

use super::*;

/// The ledger store as the sequencer's block path uses it.
pub trait LedgerStore {
    /// The receipt of `txid`, if it is committed.
    fn receipt_of(&self, txid: &TxId) -> StoreResult<Option<Receipt>>;
    /// The registered wallet behind a note owner (a spend key or a certified purse key).
    fn owner_wallet(&self, key: &PublicKey) -> StoreResult<Option<WalletInfo>>;
    /// Sequence number and hash of the last audit log entry (what the next block commits to).
    fn audit_log_head(&self) -> StoreResult<(u64, Hash32)>;
    /// Writes a sealed block with its receipt signatures and the effects admission computed.
    fn write_block(
        &self,
        block: &Block,
        receipt_sigs: &[Signature],
        effects: &BlockEffects<'_>,
    ) -> StoreResult<()>;
}

impl LedgerStore for Connection {
    fn receipt_of(&self, txid: &TxId) -> StoreResult<Option<Receipt>> {
        receipt(self, txid)
    }
    fn owner_wallet(&self, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
        wallet_of_owner(self, key)
    }
    fn audit_log_head(&self) -> StoreResult<(u64, Hash32)> {
        audit_head(self)
    }
    fn write_block(
        &self,
        block: &Block,
        receipt_sigs: &[Signature],
        effects: &BlockEffects<'_>,
    ) -> StoreResult<()> {
        insert_block(self, block, receipt_sigs, effects)
    }
}
