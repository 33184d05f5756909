//! The `param_changes` table: every proposed parameter change, its approvals and its state.
//!
//! The history ([`load_history`]) is the genesis parameters plus every `scheduled` row in order;
//! decoding it verifies each change's approvals again, so a row written around the sequencer
//! (by anyone holding the database and the node key) cannot add a change that k operators did
//! not sign.

use dfc_core::governance::{ApprovedChange, ChangeProposal, ParamsChange, ParamsHistory};
use dfc_core::{Hash32, IssuerSignature, NetworkParams};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;

/// Schema (a migration of [`crate::store::migrations`]).
pub const SCHEMA: &str = "
CREATE TABLE param_changes (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    change TEXT NOT NULL,
    approvals TEXT NOT NULL,
    proposed_by INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    state TEXT NOT NULL
);
";

/// A stored proposal with its full approvals.
#[derive(Clone, Debug)]
pub struct Stored {
    /// Row id (order of proposal).
    pub id: i64,
    /// The change.
    pub change: ParamsChange,
    /// Approvals so far.
    pub approvals: Vec<IssuerSignature>,
    /// Proposer.
    pub proposed_by: u8,
    /// Proposal time.
    pub created_ms: u64,
    /// Expiry.
    pub expires_ms: u64,
    /// `pending` or `scheduled`.
    pub state: String,
}

impl Stored {
    /// The listing form, with a pending proposal past its expiry shown `expired` and one whose
    /// base is no longer the newest rules shown `stale`.
    pub fn listing(&self, latest: &NetworkParams, threshold: usize, now_ms: u64) -> ChangeProposal {
        let mut state = self.state.clone();
        if state == "pending" {
            if now_ms > self.expires_ms {
                state = "expired".into();
            } else if self.change.base_hash != latest.hash() {
                state = "stale".into();
            }
        }
        ChangeProposal {
            digest: self.change.digest(),
            change: self.change.clone(),
            approvals: self.approvals.iter().map(|a| a.index).collect(),
            threshold,
            proposed_by: self.proposed_by,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            state,
        }
    }
}

fn corrupt(reason: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt("param_changes", reason)
}

fn int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| corrupt("value does not fit SQLite"))
}

/// Inserts a new pending proposal.
pub fn insert(conn: &Connection, s: &Stored) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO param_changes (digest, change, approvals, proposed_by, created_ms, expires_ms, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        &s.change.digest().0[..],
        serde_json::to_string(&s.change).map_err(corrupt)?,
        serde_json::to_string(&s.approvals).map_err(corrupt)?,
        s.proposed_by,
        int(s.created_ms)?,
        int(s.expires_ms)?,
        s.state,
    ])?;
    Ok(())
}

/// Updates a proposal's approvals and state.
pub fn update(conn: &Connection, s: &Stored) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE param_changes SET approvals = ?1, state = ?2 WHERE id = ?3")?
        .execute(params![
            serde_json::to_string(&s.approvals).map_err(corrupt)?,
            s.state,
            s.id
        ])?;
    Ok(())
}

type Row = (i64, String, String, i64, i64, i64, String);

fn decode(r: Row) -> Result<Stored, StoreError> {
    Ok(Stored {
        id: r.0,
        change: serde_json::from_str(&r.1).map_err(corrupt)?,
        approvals: serde_json::from_str(&r.2).map_err(corrupt)?,
        proposed_by: u8::try_from(r.3).map_err(|_| corrupt("proposer out of range"))?,
        created_ms: u64::try_from(r.4).map_err(|_| corrupt("negative time"))?,
        expires_ms: u64::try_from(r.5).map_err(|_| corrupt("negative expiry"))?,
        state: r.6,
    })
}

const COLUMNS: &str =
    "SELECT id, change, approvals, proposed_by, created_ms, expires_ms, state FROM param_changes";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

/// The proposal with `digest`, if any.
pub fn get(conn: &Connection, digest: &Hash32) -> Result<Option<Stored>, StoreError> {
    conn.prepare_cached(&format!("{COLUMNS} WHERE digest = ?1"))?
        .query_row([&digest.0[..]], row)
        .optional()?
        .map(decode)
        .transpose()
}

/// Every proposal, newest first, at most `limit`.
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<Stored>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{COLUMNS} ORDER BY id DESC LIMIT ?1"))?;
    let rows = stmt.query_map([limit], row)?;
    rows.map(|r| decode(r?)).collect()
}

/// The history: `genesis` and every scheduled change, in order, each verified again.
pub fn load_history(
    conn: &Connection,
    genesis: &NetworkParams,
) -> Result<ParamsHistory, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("{COLUMNS} WHERE state = 'scheduled' ORDER BY id"))?;
    let rows = stmt.query_map([], row)?;
    let mut changes = Vec::new();
    for r in rows {
        let s = decode(r?)?;
        changes.push(ApprovedChange {
            change: s.change,
            approvals: s.approvals,
        });
    }
    ParamsHistory::from_parts(genesis.clone(), changes)
        .map_err(|e| corrupt(format!("a scheduled parameter change does not verify: {e}")))
}
