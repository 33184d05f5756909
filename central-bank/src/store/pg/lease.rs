//! Who seals, and how verified transactions reach the sealer, on a shared PostgreSQL ledger:
//! the building blocks of several nodes on one ledger.
//!
//! - [`SealerLease`]: the right to seal blocks is a session-level advisory lock held on a
//!   connection of its own. At most one session holds it; it is released when that session ends,
//!   which PostgreSQL notices as soon as the holder's socket closes (a killed process's kernel
//!   closes it at once; a lost machine is noticed after the TCP keepalive settings of the
//!   connection string, `keepalives_idle` etc.). Holding the lease is never what keeps two blocks
//!   from one height: the schema does that ([`super::schema`]), so a sealer that lost its lease
//!   without knowing can at worst fail its commit.
//! - The hand-off queue (`handoff`, schema version 2): a node that accepted and verified a
//!   transaction enqueues it ([`enqueue`]; a transaction already queued, by any node, is not queued
//!   twice), and the sealer takes a batch inside its block's transaction ([`take_batch`]): the rows
//!   are deleted in the transaction that commits the block, so a sealer that dies before its commit
//!   leaves them queued for the next one. The nodes of `crate::cluster` queue a pass's transfers
//!   at once ([`super::cluster::requeue_batch`]) and, holding the lease, read the queue and delete
//!   a block's transactions in that block's transaction ([`super::cluster::dequeue_committed`]):
//!   the same guarantee, with the refused ones leaving the queue with their refusal.

use postgres::{Client, GenericClient, NoTls};

use super::super::*;
use super::PgConn;

/// Advisory lock key of the sealer lease ("dfc-seal" in ASCII).
pub const SEALER_LOCK: i64 = 0x6466_632d_7365_616c;

/// Schema version 2: the hand-off queue.
pub const SCHEMA_V2_HANDOFF: &str = "
CREATE TABLE handoff (
    seq BIGSERIAL PRIMARY KEY,
    txid BYTEA NOT NULL UNIQUE,
    tx BYTEA NOT NULL,
    node TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
";

/// The sealer lease, held while this value lives (released on drop, or when the process dies).
pub struct SealerLease {
    client: Client,
}

impl SealerLease {
    /// Takes the lease if no other session holds it; `None` when another does.
    pub fn try_acquire(url: &str) -> StoreResult<Option<SealerLease>> {
        let mut client = Client::connect(url, NoTls)?;
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SEALER_LOCK])?
            .try_get(0)?;
        Ok(got.then_some(SealerLease { client }))
    }

    /// Tries to take the lease on `client` (a connection kept for this, so that a node waiting
    /// for the lease does not open one per try): the lease, or the client back when another
    /// session holds it.
    pub fn try_on(mut client: Client) -> StoreResult<Result<SealerLease, Client>> {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SEALER_LOCK])?
            .try_get(0)?;
        Ok(if got {
            Ok(SealerLease { client })
        } else {
            Err(client)
        })
    }

    /// Whether this session still holds the lease (false once the database dropped the session,
    /// e.g. after a restart of PostgreSQL: the sealer must then stop sealing).
    pub fn still_held(&mut self) -> bool {
        self.client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND objsubid = 1 AND pid = pg_backend_pid() \
                 AND ((classid::BIGINT << 32) | objid::BIGINT) = $1)",
                &[&SEALER_LOCK],
            )
            .and_then(|r| r.try_get::<_, bool>(0))
            .unwrap_or(false)
    }
}

/// Queues a verified transaction for the sealer; false when it is already queued (by this node
/// or another): a resubmission to any node has one outcome.
pub fn enqueue<C: GenericClient>(
    conn: &PgConn<C>,
    tx: &Transaction,
    node: &str,
    received_ms: u64,
) -> StoreResult<bool> {
    let received = to_i64(received_ms)?;
    conn.with(|c| {
        let n = c.execute(
            "INSERT INTO handoff (txid, tx, node, received_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (txid) DO NOTHING",
            &[&&tx.id().0[..], &tx.encode(), &node, &received],
        )?;
        Ok(n == 1)
    })
}

/// Takes up to `limit` queued transactions, oldest first, inside the block's transaction: they
/// leave the queue only if that transaction commits. Rows another sealer's transaction has
/// taken are skipped, not waited for.
pub fn take_batch(
    conn: &PgConn<postgres::Transaction<'_>>,
    limit: usize,
) -> StoreResult<Vec<Transaction>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.with(|c| {
        let rows = c.query(
            "DELETE FROM handoff WHERE seq IN \
             (SELECT seq FROM handoff ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING seq, tx",
            &[&limit],
        )?;
        let mut taken: Vec<(i64, Transaction)> = Vec::with_capacity(rows.len());
        for r in rows {
            let bytes: Vec<u8> = r.try_get(1)?;
            let tx = Transaction::decode(&bytes).map_err(|e| StoreError::corrupt("handoff", e))?;
            taken.push((r.try_get(0)?, tx));
        }
        taken.sort_by_key(|(seq, _)| *seq);
        Ok(taken.into_iter().map(|(_, tx)| tx).collect())
    })
}

/// Transactions waiting in the queue.
pub fn queued<C: GenericClient>(conn: &PgConn<C>) -> StoreResult<u64> {
    conn.with(|c| {
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM handoff", &[])?
            .try_get(0)?;
        to_u64(n, "handoff")
    })
}
