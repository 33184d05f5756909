//! The approved parameter changes of a shared ledger (schema version 4): what the audit of a
//! PostgreSQL ledger (`dfc-bank audit --store postgres://…`) needs to judge each block under
//! the parameters in force at its height.
//!
//! The sealer copies every scheduled change from its replica into `param_changes` in the same
//! PostgreSQL transaction as the command that scheduled it ([`copy_scheduled`]); the audit reads
//! them back in order ([`approved_changes`]) and verifies each change's k-of-n approvals again
//! when it builds the history, so a row written around the nodes cannot add a change the
//! operators did not sign.

use dfc_core::governance::ApprovedChange;
use postgres::GenericClient;

use super::super::*;
use super::PgConn;

/// Schema version 4: the approved parameter changes, in the order they were scheduled.
pub const SCHEMA_V4_PARAM_CHANGES: &str = "
CREATE TABLE param_changes (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    digest BYTEA NOT NULL UNIQUE,
    approved TEXT NOT NULL
);
";

/// Copies the changes `scheduled` (in order: the replica's row id, the change with its
/// approvals) into the command's transaction; a change already copied is left as it is.
pub fn copy_scheduled(
    conn: &PgConn<postgres::Transaction<'_>>,
    scheduled: &[(i64, ApprovedChange)],
) -> StoreResult<()> {
    conn.with(|c| {
        for (seq, change) in scheduled {
            let json = serde_json::to_string(change)
                .map_err(|e| StoreError::corrupt("param_changes", e))?;
            c.execute(
                "INSERT INTO param_changes (seq, digest, approved) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING",
                &[seq, &&change.change.digest().0[..], &json],
            )?;
        }
        Ok(())
    })
}

/// The approved changes, in the order they were scheduled; each row's digest must be its
/// change's (the approvals are checked by whoever builds the history from them).
pub fn approved_changes<C: GenericClient>(conn: &PgConn<C>) -> StoreResult<Vec<ApprovedChange>> {
    conn.with(|c| {
        let rows = c.query(
            "SELECT seq, digest, approved FROM param_changes ORDER BY seq",
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.try_get(0)?;
            let digest: Vec<u8> = row.try_get(1)?;
            let text: String = row.try_get(2)?;
            let change: ApprovedChange = serde_json::from_str(&text)
                .map_err(|e| StoreError::corrupt("param_changes", format!("row {seq}: {e}")))?;
            if change.change.digest().0[..] != digest[..] {
                return Err(StoreError::corrupt(
                    "param_changes",
                    format!("row {seq}: the stored digest is not its change's"),
                ));
            }
            out.push(change);
        }
        Ok(out)
    })
}
