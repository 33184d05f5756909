//! The ledger store contract: what the node needs from a ledger store, stated around its own
//! operations (commit a block with its spends atomically, look up notes and the spent set, read
//! ranges of blocks), not around SQL. Two implementations:
//!
//! - SQLite, the embedded default: [`Connection`] (a reader, or the sequencer's writer with an
//!   open `IMMEDIATE` transaction, which derefs to it) implements both traits here, by delegating
//!   to the query functions of [`super::blocks`], [`super::notes`], [`super::registry`] and
//!   [`super::audit_log`];
//! - PostgreSQL, the shared store of many nodes: [`super::pg::PgConn`] over a client (reads) or
//!   an open transaction (one block).
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
//!   were wrong (UNIQUE constraints in both databases); such a refusal is a storage error, the
//!   transaction is rolled back whole, and the sequencer stops. On a shared PostgreSQL this is
//!   what keeps two sealers from both committing a block at one height.
//! - **Reads see the transaction's own writes** (the reads of the next block in the same
//!   transaction see the last one).
//! - **Both implementations answer alike**: `tests/pg` writes the same blocks to both and compares
//!   every read of [`LedgerRead`].
//!
//! The other record kinds (proposals, operator audit entries, evidence, operator sequences,
//! governance, checkpoints, the signed summary) are still written through the SQLite functions of
//! their modules on the sequencer's transaction; they are the next candidates for this trait.

use super::*;

/// Reads of the ledger: blocks, receipts, notes, the spent set, the registry and holdings.
pub trait LedgerRead {
    /// The tip (highest block), if the ledger has a genesis block.
    fn tip(&self) -> StoreResult<Option<StoredHeader>>;
    /// The header at `height`.
    fn header_at(&self, height: u64) -> StoreResult<Option<StoredHeader>>;
    /// Blocks from `from` on, in height order, at most `limit`.
    fn blocks_from(&self, from: u64, limit: usize) -> StoreResult<Vec<Block>>;
    /// The receipt of `txid`, if it is committed.
    fn receipt_of(&self, txid: &TxId) -> StoreResult<Option<Receipt>>;
    /// The status of a note (exists, spent, heights).
    fn note_status(&self, id: &NoteId) -> StoreResult<NoteStatus>;
    /// A note as the protocol checks see it (commitment, owner, spent, pending).
    fn ledger_note(&self, id: &NoteId) -> StoreResult<Option<LedgerNote>>;
    /// Whether a note with this commitment exists (spent or not).
    fn commitment_exists(&self, commitment: &Commitment) -> StoreResult<bool>;
    /// The transaction that spent note `id`, if it is spent.
    fn spender(&self, id: &NoteId) -> StoreResult<Option<Transaction>>;
    /// Ids of the unspent notes with their commitments, ordered by id.
    fn unspent_notes(&self) -> StoreResult<Vec<(NoteId, Commitment)>>;
    /// Every spent record `(note id, spending txid, height)`, ordered by note id.
    fn spent_records(&self) -> StoreResult<Vec<(NoteId, TxId, u64)>>;
    /// Unspent notes and committed transactions.
    fn counts(&self) -> StoreResult<(u64, u64)>;
    /// The registered wallet behind a note owner (a spend key or a certified purse key).
    fn owner_wallet(&self, key: &PublicKey) -> StoreResult<Option<WalletInfo>>;
    /// The holding of `account` (identity points if it has none).
    fn holding_of(&self, account: &PublicKey) -> StoreResult<Holding>;
    /// Sequence number and hash of the last audit log entry (what the next block commits to).
    fn audit_log_head(&self) -> StoreResult<(u64, Hash32)>;
}

/// The writes of the sequencer's block path, inside one store transaction.
pub trait LedgerStore: LedgerRead {
    /// Writes a sealed block with its receipt signatures and the effects admission computed.
    fn write_block(
        &self,
        block: &Block,
        receipt_sigs: &[Signature],
        effects: &BlockEffects<'_>,
    ) -> StoreResult<()>;
    /// Registers a wallet (refused by the store if its spend key is already registered).
    fn register_wallet(&self, info: &WalletInfo) -> StoreResult<()>;
}

impl LedgerRead for Connection {
    fn tip(&self) -> StoreResult<Option<StoredHeader>> {
        tip(self)
    }
    fn header_at(&self, height: u64) -> StoreResult<Option<StoredHeader>> {
        header_at(self, height)
    }
    fn blocks_from(&self, from: u64, limit: usize) -> StoreResult<Vec<Block>> {
        blocks_from(self, from, limit)
    }
    fn receipt_of(&self, txid: &TxId) -> StoreResult<Option<Receipt>> {
        receipt(self, txid)
    }
    fn note_status(&self, id: &NoteId) -> StoreResult<NoteStatus> {
        note_status(self, id)
    }
    fn ledger_note(&self, id: &NoteId) -> StoreResult<Option<LedgerNote>> {
        ledger_note(self, id)
    }
    fn commitment_exists(&self, commitment: &Commitment) -> StoreResult<bool> {
        commitment_exists(self, commitment)
    }
    fn spender(&self, id: &NoteId) -> StoreResult<Option<Transaction>> {
        spender(self, id)
    }
    fn unspent_notes(&self) -> StoreResult<Vec<(NoteId, Commitment)>> {
        unspent_notes(self)
    }
    fn spent_records(&self) -> StoreResult<Vec<(NoteId, TxId, u64)>> {
        all_spent(self)
    }
    fn counts(&self) -> StoreResult<(u64, u64)> {
        counts(self)
    }
    fn owner_wallet(&self, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
        wallet_of_owner(self, key)
    }
    fn holding_of(&self, account: &PublicKey) -> StoreResult<Holding> {
        crate::holdings::holding(self, account)
    }
    fn audit_log_head(&self) -> StoreResult<(u64, Hash32)> {
        audit_head(self)
    }
}

impl LedgerStore for Connection {
    fn write_block(
        &self,
        block: &Block,
        receipt_sigs: &[Signature],
        effects: &BlockEffects<'_>,
    ) -> StoreResult<()> {
        insert_block(self, block, receipt_sigs, effects)
    }
    fn register_wallet(&self, info: &WalletInfo) -> StoreResult<()> {
        insert_wallet(self, info)
    }
}
