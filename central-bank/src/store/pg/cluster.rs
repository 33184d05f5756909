//! The tables of several nodes on one PostgreSQL ledger (schema version 3), and their queries.
//!
//! - `cluster_log`: every write the sealer commits, in order, at consecutive positions: a block of
//!   transfers (`kind = 'block'`) or a command other than a transfer (`kind = 'command'`: a
//!   registration, an operator action, …, with the time the sealer applied it). Each node's
//!   SQLite replica applies the log in order (`crate::cluster`), so every replica holds what the
//!   sealer's held, and any node can take over sealing. `pos` is the primary key and a sealer
//!   writes the position after the last one it applied: a sealer that lost its lease without
//!   knowing writes a position already taken and its whole transaction is refused, as its block
//!   is by `blocks.height`.
//! - `cluster_base`: the block the log starts after (the ledger as the first node found it).
//! - `cluster_requests`: commands other than transfers received by a node that does not seal,
//!   waiting for the sealer; `log_pos` is set in the transaction that commits the command, or
//!   `error_*` when the sealer refused it (nothing written).
//! - `handoff_rejected`: the typed refusal of a queued transfer the sealer's state checks
//!   refused (a double spend, a frozen owner, …), for the node that queued it to answer.

use postgres::GenericClient;

use super::super::*;
use super::PgConn;

/// Schema version 3: the replication log, its base, forwarded commands and refused transfers.
pub const SCHEMA_V3_CLUSTER: &str = "
CREATE TABLE cluster_base (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    height BIGINT NOT NULL REFERENCES blocks (height),
    hash BYTEA NOT NULL
);
CREATE TABLE cluster_log (
    pos BIGINT PRIMARY KEY CHECK (pos >= 1),
    kind TEXT NOT NULL CHECK (kind IN ('block', 'command')),
    height BIGINT UNIQUE REFERENCES blocks (height),
    time_ms BIGINT NOT NULL,
    command TEXT,
    request BIGINT,
    node TEXT NOT NULL,
    CHECK ((kind = 'block') = (height IS NOT NULL AND command IS NULL))
);
CREATE TABLE cluster_requests (
    id BIGSERIAL PRIMARY KEY,
    node TEXT NOT NULL,
    command TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    log_pos BIGINT UNIQUE REFERENCES cluster_log (pos),
    error_status INTEGER,
    error_code TEXT,
    error_message TEXT
);
CREATE TABLE handoff_rejected (
    txid BYTEA PRIMARY KEY,
    status INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    rejected_ms BIGINT NOT NULL
);
";

/// What one log position holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogKind {
    /// A block of transfers, at this height.
    Block(u64),
    /// A command (JSON of `crate::cluster::command::ClusterCommand`), with the forwarded request
    /// it answers, if any.
    Command {
        /// The command.
        body: String,
        /// The `cluster_requests` row it answers.
        request: Option<i64>,
    },
}

/// One position of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position (1, 2, …).
    pub pos: u64,
    /// What it holds.
    pub kind: LogKind,
    /// The time the sealer applied it, ms.
    pub time_ms: u64,
    /// The node that sealed it.
    pub node: String,
}

/// A refusal as stored: HTTP status, code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefusal {
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: String,
    /// Message.
    pub message: String,
}

/// The block the log starts after, if set.
pub fn base<C: GenericClient>(conn: &PgConn<C>) -> StoreResult<Option<(u64, Hash32)>> {
    conn.with(|c| {
        let Some(r) = c.query_opt("SELECT height, hash FROM cluster_base WHERE id = 0", &[])?
        else {
            return Ok(None);
        };
        Ok(Some((
            to_u64(r.try_get(0)?, "cluster_base")?,
            h32(r.try_get(1)?, "cluster_base")?,
        )))
    })
}

/// Sets the base if none is set; returns the base in force.
pub fn set_base<C: GenericClient>(
    conn: &PgConn<C>,
    height: u64,
    hash: &Hash32,
) -> StoreResult<(u64, Hash32)> {
    let h = to_i64(height)?;
    conn.with(|c| {
        c.execute(
            "INSERT INTO cluster_base (id, height, hash) VALUES (0, $1, $2) ON CONFLICT (id) DO NOTHING",
            &[&h, &&hash.0[..]],
        )?;
        Ok(())
    })?;
    base(conn)?.ok_or_else(|| StoreError::corrupt("cluster_base", "base vanished"))
}

/// The last position written (0 when the log is empty).
pub fn log_tail<C: GenericClient>(conn: &PgConn<C>) -> StoreResult<u64> {
    conn.with(|c| {
        let n: i64 = c
            .query_one("SELECT COALESCE(MAX(pos), 0) FROM cluster_log", &[])?
            .try_get(0)?;
        to_u64(n, "cluster_log")
    })
}

/// Entries after `after`, in order, at most `limit`.
pub fn log_after<C: GenericClient>(
    conn: &PgConn<C>,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<LogEntry>> {
    let after = to_i64(after)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.with(|c| {
        let rows = c.query(
            "SELECT pos, kind, height, time_ms, command, request, node FROM cluster_log \
             WHERE pos > $1 ORDER BY pos LIMIT $2",
            &[&after, &limit],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let kind: String = r.try_get(1)?;
            let kind = match kind.as_str() {
                "block" => LogKind::Block(to_u64(r.try_get(2)?, "cluster_log")?),
                _ => LogKind::Command {
                    body: r
                        .try_get::<_, Option<String>>(4)?
                        .ok_or_else(|| StoreError::corrupt("cluster_log", "command missing"))?,
                    request: r.try_get(5)?,
                },
            };
            out.push(LogEntry {
                pos: to_u64(r.try_get(0)?, "cluster_log")?,
                kind,
                time_ms: to_u64(r.try_get(3)?, "cluster_log")?,
                node: r.try_get(6)?,
            });
        }
        Ok(out)
    })
}

/// Writes one log entry (in the transaction of what it records); a position already taken is
/// refused by the primary key.
pub fn append(conn: &PgConn<postgres::Transaction<'_>>, e: &LogEntry) -> StoreResult<()> {
    let pos = to_i64(e.pos)?;
    let time = to_i64(e.time_ms)?;
    let (kind, height, body, request) = match &e.kind {
        LogKind::Block(h) => ("block", Some(to_i64(*h)?), None, None),
        LogKind::Command { body, request } => ("command", None, Some(body.as_str()), *request),
    };
    conn.with(|c| {
        c.execute(
            "INSERT INTO cluster_log (pos, kind, height, time_ms, command, request, node) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&pos, &kind, &height, &time, &body, &request, &e.node],
        )?;
        if let Some(id) = request {
            let n = c.execute(
                "UPDATE cluster_requests SET log_pos = $2 WHERE id = $1 AND log_pos IS NULL AND error_code IS NULL",
                &[&id, &pos],
            )?;
            if n != 1 {
                return Err(StoreError::corrupt(
                    "cluster_requests",
                    format!("request {id} is not waiting"),
                ));
            }
        }
        Ok(())
    })
}

/// Copies audit-log entries (seq, time, operator, action, detail, prev hash, hash) the sealer
/// appended, in the transaction that commits them.
pub fn append_audit_rows(
    conn: &PgConn<postgres::Transaction<'_>>,
    rows: &[AuditRow],
) -> StoreResult<()> {
    conn.with(|c| {
        for r in rows {
            c.execute(
                "INSERT INTO audit_log (seq, time_ms, operator, action, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&r.seq, &r.time_ms, &r.operator, &r.action, &r.detail, &r.prev_hash, &r.hash],
            )?;
        }
        Ok(())
    })
}

/// One audit-log row as stored in both databases.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// Sequence number.
    pub seq: i64,
    /// Time, ms.
    pub time_ms: i64,
    /// Operator index, if an operator acted.
    pub operator: Option<i64>,
    /// Action name.
    pub action: String,
    /// Detail JSON.
    pub detail: String,
    /// Hash of the previous entry.
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// Writes a wallet's registry record as the sealer's replica holds it after a command
/// (registration, freeze, tier), in that command's transaction.
pub fn upsert_wallet(conn: &PgConn<postgres::Transaction<'_>>, w: &WalletInfo) -> StoreResult<()> {
    let registered = to_i64(w.registered_ms)?;
    let version = to_i64(w.registry_version)?;
    conn.with(|c| {
        c.execute(
            "INSERT INTO wallets (spend_key, address, label, tier, frozen, flags, registered_ms, registry_version, freeze_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (spend_key) DO UPDATE SET \
             tier = EXCLUDED.tier, frozen = EXCLUDED.frozen, flags = EXCLUDED.flags, \
             registry_version = EXCLUDED.registry_version, freeze_reason = EXCLUDED.freeze_reason",
            &[
                &&w.address.spend.to_bytes()[..],
                &w.address.to_string(),
                &w.label,
                &i64::from(w.tier),
                &w.frozen,
                &i64::from(w.flags),
                &registered,
                &version,
                &w.freeze_reason,
            ],
        )?;
        Ok(())
    })
}

/// A purse certificate row, as stored in both databases.
#[derive(Debug, Clone)]
pub struct PurseRow {
    /// Serial.
    pub serial: i64,
    /// Purse key.
    pub purse_key: Vec<u8>,
    /// Wallet spend key.
    pub wallet: Vec<u8>,
    /// Certificate JSON.
    pub cert: String,
    /// Issued, ms.
    pub issued_ms: i64,
    /// Expires, ms.
    pub expires_ms: i64,
}

/// Writes a purse certificate the sealer issued, in the command's transaction.
pub fn insert_purse(conn: &PgConn<postgres::Transaction<'_>>, p: &PurseRow) -> StoreResult<()> {
    conn.with(|c| {
        c.execute(
            "INSERT INTO purses (serial, purse_key, wallet, cert, issued_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (serial) DO NOTHING",
            &[&p.serial, &p.purse_key, &p.wallet, &p.cert, &p.issued_ms, &p.expires_ms],
        )?;
        Ok(())
    })
}

/// The last audit-log sequence number stored in PostgreSQL (0 when empty).
pub fn audit_tail<C: GenericClient>(conn: &PgConn<C>) -> StoreResult<i64> {
    conn.with(|c| {
        Ok(
            c.query_one("SELECT COALESCE(MAX(seq), 0) FROM audit_log", &[])?
                .try_get(0)?,
        )
    })
}

/// Removes the block's transactions from the hand-off queue, in the block's transaction.
pub fn dequeue_committed(
    conn: &PgConn<postgres::Transaction<'_>>,
    txids: &[TxId],
) -> StoreResult<()> {
    let ids: Vec<Vec<u8>> = txids.iter().map(|t| t.0.to_vec()).collect();
    conn.with(|c| {
        c.execute("DELETE FROM handoff WHERE txid = ANY($1::BYTEA[])", &[&ids])?;
        Ok(())
    })
}

/// The oldest queued transactions, at most `limit`, left in the queue (they leave it with the
/// commit of their block, or with their refusal).
pub fn queued_batch<C: GenericClient>(
    conn: &PgConn<C>,
    limit: usize,
) -> StoreResult<Vec<Transaction>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.with(|c| {
        let rows = c.query("SELECT tx FROM handoff ORDER BY seq LIMIT $1", &[&limit])?;
        rows.into_iter()
            .map(|r| {
                let bytes: Vec<u8> = r.try_get(0)?;
                Transaction::decode(&bytes).map_err(|e| StoreError::corrupt("handoff", e))
            })
            .collect()
    })
}

/// Records the refusals of queued transfers and removes them (with the ones found already
/// committed) from the queue, in one transaction.
pub fn settle_refused<C: GenericClient>(
    conn: &mut PgConn<C>,
    refused: &[(TxId, StoredRefusal)],
    done: &[TxId],
    now_ms: u64,
) -> StoreResult<()> {
    let now = to_i64(now_ms)?;
    let c = conn.inner.get_mut();
    let mut tx = c.transaction()?;
    for (txid, r) in refused {
        tx.execute(
            "INSERT INTO handoff_rejected (txid, status, code, message, rejected_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (txid) DO UPDATE SET status = EXCLUDED.status, code = EXCLUDED.code, \
             message = EXCLUDED.message, rejected_ms = EXCLUDED.rejected_ms",
            &[&&txid.0[..], &i32::from(r.status), &r.code, &r.message, &now],
        )?;
    }
    let ids: Vec<Vec<u8>> = refused
        .iter()
        .map(|(t, _)| t.0.to_vec())
        .chain(done.iter().map(|t| t.0.to_vec()))
        .collect();
    tx.execute("DELETE FROM handoff WHERE txid = ANY($1::BYTEA[])", &[&ids])?;
    tx.commit()?;
    Ok(())
}

/// Queues verified transfers in one transaction, dropping earlier refusals of the same
/// transactions so that their new outcomes are the ones answered; a transaction already queued
/// (by any node) is not queued twice. Committed with `synchronous_commit = off`: nothing is
/// answered on the strength of the queue (a receipt waits for the block's own durable commit),
/// so a queue entry lost in a crash of the database only means a client that got no answer
/// resubmits. Returns how many were queued.
pub fn requeue_batch<C: GenericClient>(
    conn: &mut PgConn<C>,
    txs: &[Transaction],
    node: &str,
    received_ms: u64,
) -> StoreResult<u64> {
    if txs.is_empty() {
        return Ok(0);
    }
    let received = to_i64(received_ms)?;
    let ids: Vec<Vec<u8>> = txs.iter().map(|t| t.id().0.to_vec()).collect();
    let bytes: Vec<Vec<u8>> = txs.iter().map(Transaction::encode).collect();
    let c = conn.inner.get_mut();
    let mut tx = c.transaction()?;
    tx.batch_execute("SET LOCAL synchronous_commit = off")?;
    tx.execute(
        "DELETE FROM handoff_rejected WHERE txid = ANY($1::BYTEA[])",
        &[&ids],
    )?;
    let n = tx.execute(
        "INSERT INTO handoff (txid, tx, node, received_ms) \
         SELECT q.txid, q.tx, $3, $4 FROM unnest($1::BYTEA[], $2::BYTEA[]) WITH ORDINALITY AS q (txid, tx, ord) \
         ORDER BY q.ord ON CONFLICT (txid) DO NOTHING",
        &[&ids, &bytes, &node, &received],
    )?;
    tx.commit()?;
    Ok(n)
}

/// The refusals recorded for these transactions.
pub fn refusals<C: GenericClient>(
    conn: &PgConn<C>,
    txids: &[TxId],
) -> StoreResult<Vec<(TxId, StoredRefusal)>> {
    let ids: Vec<Vec<u8>> = txids.iter().map(|t| t.0.to_vec()).collect();
    conn.with(|c| {
        let rows = c.query(
            "SELECT txid, status, code, message FROM handoff_rejected WHERE txid = ANY($1::BYTEA[])",
            &[&ids],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let status: i32 = r.try_get(1)?;
            out.push((
                h32(r.try_get(0)?, "handoff_rejected")?,
                StoredRefusal {
                    status: u16::try_from(status)
                        .map_err(|_| StoreError::corrupt("handoff_rejected", "status"))?,
                    code: r.try_get(2)?,
                    message: r.try_get(3)?,
                },
            ));
        }
        Ok(out)
    })
}

/// Queues a command for the sealer; returns its request id.
pub fn enqueue_request<C: GenericClient>(
    conn: &PgConn<C>,
    node: &str,
    body: &str,
    received_ms: u64,
) -> StoreResult<i64> {
    let received = to_i64(received_ms)?;
    conn.with(|c| {
        Ok(c.query_one(
            "INSERT INTO cluster_requests (node, command, received_ms) VALUES ($1, $2, $3) RETURNING id",
            &[&node, &body, &received],
        )?
        .try_get(0)?)
    })
}

/// Commands waiting for the sealer, oldest first.
pub fn waiting_requests<C: GenericClient>(
    conn: &PgConn<C>,
    limit: usize,
) -> StoreResult<Vec<(i64, String)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.with(|c| {
        let rows = c.query(
            "SELECT id, command FROM cluster_requests WHERE log_pos IS NULL AND error_code IS NULL \
             ORDER BY id LIMIT $1",
            &[&limit],
        )?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    })
}

/// Records the sealer's refusal of a forwarded command.
pub fn refuse_request<C: GenericClient>(
    conn: &PgConn<C>,
    id: i64,
    r: &StoredRefusal,
) -> StoreResult<()> {
    conn.with(|c| {
        c.execute(
            "UPDATE cluster_requests SET error_status = $2, error_code = $3, error_message = $4 \
             WHERE id = $1 AND log_pos IS NULL",
            &[&id, &i32::from(r.status), &r.code, &r.message],
        )?;
        Ok(())
    })
}

/// The refusals recorded for these requests.
pub fn request_refusals<C: GenericClient>(
    conn: &PgConn<C>,
    ids: &[i64],
) -> StoreResult<Vec<(i64, StoredRefusal)>> {
    conn.with(|c| {
        let rows = c.query(
            "SELECT id, error_status, error_code, error_message FROM cluster_requests \
             WHERE id = ANY($1::BIGINT[]) AND error_code IS NOT NULL",
            &[&ids],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let status: i32 = r.try_get(1)?;
            out.push((
                r.try_get(0)?,
                StoredRefusal {
                    status: u16::try_from(status)
                        .map_err(|_| StoreError::corrupt("cluster_requests", "status"))?,
                    code: r.try_get(2)?,
                    message: r.try_get(3)?,
                },
            ));
        }
        Ok(out)
    })
}
