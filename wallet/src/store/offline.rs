//! The wallet's offline tables: purse notes with their inclusion proofs, packets paid
//! (`offline_out`) and packets accepted (`offline_in`).
//!
//! Openings of purse notes and the amounts, recipients and memos of packets are sealed with the
//! [`DataKey`] like the rest of the database; states, counters and packet texts are clear (packets
//! carry only what the ledger will publish at settlement).

use dfc_core::merkle::MerkleProof;
use dfc_core::offline::PaymentPacket;
use dfc_core::{Amount, Commitment, Hash32, NoteId, Opening, PublicKey, TxId};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{from_sql_int, now_ms, sql_int, BlockWriter, Store};
use crate::error::Result;
use crate::keystore::DataKey;

/// The offline schema (second migration of `wallet.db`).
pub(super) const SCHEMA: &str = "
CREATE TABLE purse_notes (
    id TEXT NOT NULL UNIQUE,
    created_txid TEXT NOT NULL,
    created_height INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    commitment TEXT NOT NULL,
    proof TEXT,
    state TEXT NOT NULL,
    spent_txid TEXT
);
CREATE TABLE offline_out (
    txid TEXT NOT NULL UNIQUE,
    counter INTEGER NOT NULL,
    packet TEXT NOT NULL,
    sealed BLOB NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    evidence TEXT,
    created_ms INTEGER NOT NULL,
    height INTEGER
);
CREATE TABLE offline_in (
    txid TEXT NOT NULL UNIQUE,
    purse TEXT NOT NULL,
    payer TEXT NOT NULL,
    counter INTEGER NOT NULL,
    packet TEXT NOT NULL,
    sealed BLOB NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    evidence TEXT,
    created_ms INTEGER NOT NULL,
    height INTEGER
);
";

/// State of a purse note.
pub mod note_state {
    /// Proven unspent at the stored checkpoint: usable offline.
    pub const READY: &str = "ready";
    /// Received (e.g. change of a settled payment), not yet proven: not usable offline.
    pub const UNPROVEN: &str = "unproven";
    /// Spent by a packet that has not settled yet.
    pub const SPENT_OFFLINE: &str = "spent_offline";
    /// Spent on the ledger.
    pub const SPENT: &str = "spent";
}

/// State of a packet, paid or accepted.
pub mod packet_state {
    /// Not settled yet.
    pub const PENDING: &str = "pending";
    /// Committed on the ledger.
    pub const SETTLED: &str = "settled";
    /// Refused at settlement (a double spend, or another definitive refusal).
    pub const FAILED: &str = "failed";
}

/// A purse note.
#[derive(Clone, Debug)]
pub struct PurseNote {
    /// Note id.
    pub id: NoteId,
    /// Opening.
    pub opening: Opening,
    /// Commitment.
    pub commitment: Commitment,
    /// Inclusion proof against the stored checkpoint, if proven.
    pub proof: Option<MerkleProof>,
    /// See [`note_state`].
    pub state: String,
}

/// The secret part of a packet record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketDetail {
    /// Amount paid, minor units.
    pub amount_units: u64,
    /// Recipient (outgoing).
    pub to: Option<String>,
    /// Memo.
    pub memo: String,
    /// Change back to the purse (outgoing), minor units.
    pub change_units: u64,
}

/// A packet paid or accepted.
#[derive(Clone, Debug)]
pub struct PacketRecord {
    /// Transaction id.
    pub txid: TxId,
    /// Purse counter.
    pub counter: u64,
    /// Text form of the packet.
    pub packet: String,
    /// Paying purse key (incoming only).
    pub purse: Option<PublicKey>,
    /// Details.
    pub detail: PacketDetail,
    /// See [`packet_state`].
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The node's evidence id, for a double spend.
    pub evidence: Option<String>,
    /// When stored, ms.
    pub created_ms: u64,
    /// Settlement height.
    pub height: Option<u64>,
}

fn purse_aad(id: &NoteId) -> Vec<u8> {
    [b"purse_notes/".as_slice(), &id.0].concat()
}
fn packet_aad(table: &str, txid: &TxId) -> Vec<u8> {
    [table.as_bytes(), b"/", &txid.0].concat()
}

impl Store {
    /// Purse notes not spent on the ledger, oldest first.
    pub fn purse_notes(&self, data: &DataKey) -> Result<Vec<PurseNote>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, sealed, commitment, proof, state FROM purse_notes WHERE state != 'spent' ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, sealed, commitment, proof, state) = row?;
            let id =
                Hash32::from_hex(&id).map_err(|e| self.corrupted(format!("purse note: {e}")))?;
            let opening = open_purse_note(data, &id, &sealed)
                .ok_or_else(|| self.corrupted(format!("purse note {id} does not decrypt")))?;
            let c = Hash32::from_hex(&commitment)
                .map_err(|e| self.corrupted(format!("purse note commitment: {e}")))?;
            let commitment = Commitment::from_bytes(&c.0)
                .map_err(|e| self.corrupted(format!("purse note commitment: {e}")))?;
            let proof = proof
                .map(|p| {
                    serde_json::from_str(&p)
                        .map_err(|e| self.corrupted(format!("purse note proof: {e}")))
                })
                .transpose()?;
            out.push(PurseNote {
                id,
                opening,
                commitment,
                proof,
                state,
            });
        }
        Ok(out)
    }

    /// Stores a new checkpoint and proofs: each listed note becomes ready. One transaction.
    pub fn set_purse_proofs(
        &mut self,
        checkpoint_json: &str,
        proofs: &[(NoteId, MerkleProof)],
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        super::set_meta(&tx, "purse_checkpoint", checkpoint_json)?;
        for (id, proof) in proofs {
            tx.execute(
                "UPDATE purse_notes SET proof = ?2, state = 'ready' WHERE id = ?1 AND state IN ('ready', 'unproven')",
                params![
                    id.to_hex(),
                    serde_json::to_string(proof).expect("proofs serialise")
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records an offline payment atomically: the purse counter, the note spent offline and the
    /// packet. Fails with [`crate::WalletError::ConcurrentChange`] (nothing written) if the note
    /// is no longer ready or the counter moved.
    pub fn record_offline_payment(
        &mut self,
        data: &DataKey,
        packet: &PaymentPacket,
        previous_counter: u64,
        detail: &PacketDetail,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'purse_counter'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if stored.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) != previous_counter {
            return Err(crate::WalletError::ConcurrentChange);
        }
        super::set_meta(&tx, "purse_counter", &packet.counter.to_string())?;
        let txid = packet.tx.id();
        for input in &packet.tx.inputs {
            let n = tx.execute(
                "UPDATE purse_notes SET state = 'spent_offline', spent_txid = ?2 WHERE id = ?1 AND state = 'ready'",
                params![input.to_hex(), txid.to_hex()],
            )?;
            if n != 1 {
                return Err(crate::WalletError::ConcurrentChange);
            }
        }
        let sealed = data.seal(
            &packet_aad("offline_out", &txid),
            &serde_json::to_vec(detail).expect("details serialise"),
        );
        tx.execute(
            "INSERT INTO offline_out (txid, counter, packet, sealed, state, created_ms) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
            params![
                txid.to_hex(),
                sql_int(packet.counter),
                packet.to_text(),
                sealed,
                sql_int(now_ms())
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stores an accepted packet as pending incoming.
    pub fn record_offline_accept(
        &mut self,
        data: &DataKey,
        packet: &PaymentPacket,
        detail: &PacketDetail,
    ) -> Result<()> {
        let txid = packet.tx.id();
        let sealed = data.seal(
            &packet_aad("offline_in", &txid),
            &serde_json::to_vec(detail).expect("details serialise"),
        );
        self.conn.execute(
            "INSERT INTO offline_in (txid, purse, payer, counter, packet, sealed, state, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
            params![
                txid.to_hex(),
                hex::encode(packet.cert.purse.to_bytes()),
                hex::encode(packet.cert.wallet.to_bytes()),
                sql_int(packet.counter),
                packet.to_text(),
                sealed,
                sql_int(now_ms())
            ],
        )?;
        Ok(())
    }

    /// Packets paid (`incoming = false`) or accepted (`true`), oldest first.
    pub fn offline_packets(&self, data: &DataKey, incoming: bool) -> Result<Vec<PacketRecord>> {
        let (table, purse_col) = if incoming {
            ("offline_in", "purse")
        } else {
            ("offline_out", "NULL")
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT txid, counter, packet, {purse_col}, sealed, state, error, evidence, created_ms, height FROM {table} ORDER BY rowid"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Option<i64>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (txid, counter, packet, purse, sealed, state, error, evidence, created, height) =
                row?;
            let txid = Hash32::from_hex(&txid).map_err(|e| self.corrupted(format!("txid: {e}")))?;
            let plain = data
                .open(&packet_aad(table, &txid), &sealed)
                .ok_or_else(|| self.corrupted(format!("packet {txid} does not decrypt")))?;
            let detail: PacketDetail = serde_json::from_slice(&plain)
                .map_err(|e| self.corrupted(format!("packet {txid}: {e}")))?;
            let purse = purse
                .map(|p| {
                    Hash32::from_hex(&p)
                        .ok()
                        .and_then(|h| PublicKey::from_bytes(&h.0).ok())
                        .ok_or_else(|| self.corrupted(format!("purse key of packet {txid}")))
                })
                .transpose()?;
            out.push(PacketRecord {
                txid,
                counter: from_sql_int(counter),
                packet,
                purse,
                detail,
                state,
                error,
                evidence,
                created_ms: from_sql_int(created),
                height: height.map(from_sql_int),
            });
        }
        Ok(out)
    }

    /// Marks a packet this wallet paid as failed at settlement and, with `release`, gives its
    /// purse notes back to the purse in the same transaction: the node refused the packet for
    /// good, so its notes are still unspent on the ledger and the money is ours again (issue 19:
    /// it had vanished from the balance). They come back unproven, usable offline once the next
    /// checkpoint proves them. Not for a double spend, whose notes another transaction spent.
    /// Returns how many notes came back.
    pub fn fail_paid_packet(
        &mut self,
        txid: &TxId,
        error: &str,
        evidence: Option<&str>,
        release: bool,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE offline_out SET state = 'failed', error = ?2, evidence = ?3 WHERE txid = ?1 AND state = 'pending'",
            params![txid.to_hex(), error, evidence],
        )?;
        let released = if release {
            tx.execute(
                "UPDATE purse_notes SET state = 'unproven', spent_txid = NULL WHERE spent_txid = ?1 AND state = 'spent_offline'",
                params![txid.to_hex()],
            )?
        } else {
            0
        };
        tx.commit()?;
        Ok(released)
    }

    /// Sets the state of a packet (paid or accepted) after a settlement attempt.
    pub fn set_packet_state(
        &mut self,
        incoming: bool,
        txid: &TxId,
        state: &str,
        height: Option<u64>,
        error: Option<&str>,
        evidence: Option<&str>,
    ) -> Result<()> {
        let table = if incoming {
            "offline_in"
        } else {
            "offline_out"
        };
        self.conn.execute(
            &format!(
                "UPDATE {table} SET state = ?2, height = COALESCE(?3, height), error = ?4, evidence = ?5 WHERE txid = ?1"
            ),
            params![txid.to_hex(), state, height.map(sql_int), error, evidence],
        )?;
        Ok(())
    }
}

fn open_purse_note(data: &DataKey, id: &NoteId, sealed: &[u8]) -> Option<Opening> {
    let plain = data.open(&purse_aad(id), sealed)?;
    super::decode_opening(&plain)
}

impl BlockWriter<'_> {
    /// Records a note paid to the purse (idempotent), not yet proven.
    pub fn add_purse_note(
        &self,
        data: &DataKey,
        id: &NoteId,
        txid: &TxId,
        height: u64,
        opening: &Opening,
        commitment: &Commitment,
    ) -> Result<()> {
        let sealed = data.seal(&purse_aad(id), &super::encode_opening(opening));
        self.tx.execute(
            "INSERT OR IGNORE INTO purse_notes (id, created_txid, created_height, sealed, commitment, state) VALUES (?1, ?2, ?3, ?4, ?5, 'unproven')",
            params![
                id.to_hex(),
                txid.to_hex(),
                sql_int(height),
                sealed,
                hex::encode(commitment.to_bytes())
            ],
        )?;
        Ok(())
    }

    /// Marks a purse note spent on the ledger; returns its amount if it was ours.
    pub fn spend_purse_note(
        &self,
        data: &DataKey,
        id: &NoteId,
        txid: &TxId,
    ) -> Result<Option<Amount>> {
        let sealed: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT sealed FROM purse_notes WHERE id = ?1 AND state != 'spent'",
                [id.to_hex()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        self.tx.execute(
            "UPDATE purse_notes SET state = 'spent', spent_txid = ?2 WHERE id = ?1",
            params![id.to_hex(), txid.to_hex()],
        )?;
        Ok(open_purse_note(data, id, &sealed).map(|o| o.amount))
    }

    /// Marks a packet paid or accepted with this txid settled at `height`.
    pub fn settle_packet(&self, txid: &TxId, height: u64) -> Result<()> {
        for table in ["offline_out", "offline_in"] {
            self.tx.execute(
                &format!(
                    "UPDATE {table} SET state = 'settled', height = ?2, error = NULL WHERE txid = ?1"
                ),
                params![txid.to_hex(), sql_int(height)],
            )?;
        }
        Ok(())
    }
}
