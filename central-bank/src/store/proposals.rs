//! Issue and redeem proposals and their approvals.

#[allow(unused_imports)]
use super::*;

/// A stored proposal with its transaction (without issuer signatures) and approvals.
#[derive(Clone, Debug)]
pub struct StoredProposal {
    /// The wire form.
    pub proposal: Proposal,
    /// The transaction as proposed, issuer signatures stripped.
    pub tx: Transaction,
    /// The approvals' issuer signatures, by operator index.
    pub signatures: Vec<IssuerSignature>,
}

/// Inserts a new proposal.
pub fn insert_proposal(conn: &Connection, p: &Proposal, tx: &Transaction) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO proposals (txid, kind, amount, wallet, tx, created_ms, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        &p.txid.0[..],
        p.kind.name(),
        to_i64(p.amount.units())?,
        p.wallet.map(|w| w.to_bytes().to_vec()),
        tx.encode(),
        to_i64(p.created_ms)?,
        p.state
    ])?;
    Ok(())
}

/// Records an approval; returns false if this operator had already approved (it counts once).
pub fn insert_approval(
    conn: &Connection,
    txid: &TxId,
    sig: &IssuerSignature,
    time_ms: u64,
) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("INSERT OR IGNORE INTO approvals (txid, operator, signature, time_ms) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            &txid.0[..],
            i64::from(sig.index),
            &sig.signature.to_bytes()[..],
            to_i64(time_ms)?
        ])?;
    Ok(n == 1)
}

/// Sets a proposal's state (`pending`, `committed`).
pub fn set_proposal_state(conn: &Connection, txid: &TxId, state: &str) -> StoreResult<()> {
    conn.prepare_cached("UPDATE proposals SET state = ?2 WHERE txid = ?1")?
        .execute(params![&txid.0[..], state])?;
    Ok(())
}

fn approvals_of(conn: &Connection, txid: &TxId) -> StoreResult<Vec<IssuerSignature>> {
    let mut st = conn.prepare_cached(
        "SELECT operator, signature FROM approvals WHERE txid = ?1 ORDER BY operator",
    )?;
    let rows = st.query_map([&txid.0[..]], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (op, sig) = row?;
        out.push(IssuerSignature {
            index: u8::try_from(op)
                .map_err(|_| StoreError::corrupt("approvals", "operator out of range"))?,
            signature: signature(sig, "approvals")?,
        });
    }
    Ok(out)
}

type ProposalRow = (Vec<u8>, String, i64, Option<Vec<u8>>, Vec<u8>, i64, String);

fn proposal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProposalRow> {
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

fn decode_proposal(
    conn: &Connection,
    row: ProposalRow,
    threshold: usize,
    now: u64,
) -> StoreResult<StoredProposal> {
    let (txid, kind, amount, wallet, tx, created, state) = row;
    let txid = h32(txid, "proposals")?;
    let signatures = approvals_of(conn, &txid)?;
    let mut stored = StoredProposal {
        proposal: Proposal {
            txid,
            kind: kind_from(&kind, "proposals")?,
            amount: Amount::from_units(to_u64(amount, "proposals")?)
                .map_err(|e| StoreError::corrupt("proposals", e))?,
            wallet: wallet.map(|w| pubkey(w, "proposals")).transpose()?,
            approvals: signatures.iter().map(|s| s.index).collect(),
            threshold,
            created_ms: to_u64(created, "proposals")?,
            state,
            proposed_by: None,
            expires_ms: 0,
            outputs: Vec::new(),
        },
        tx: Transaction::decode(&tx).map_err(|e| StoreError::corrupt("proposals", e))?,
        signatures,
    };
    crate::proposals::enrich(conn, &mut stored.proposal, &stored.tx, now)?;
    Ok(stored)
}

const PROPOSAL_COLS: &str = "txid, kind, amount, wallet, tx, created_ms, state";

/// The proposal for `txid`, its expiry judged at the clock's time.
pub fn proposal(
    conn: &Connection,
    txid: &TxId,
    threshold: usize,
) -> StoreResult<Option<StoredProposal>> {
    proposal_at(conn, txid, threshold, crate::datadir::now_ms())
}

/// The proposal for `txid`, its expiry judged at `now` (the sequencer's time of the command, so
/// that a replica replaying the command later judges it as the sealer did).
pub fn proposal_at(
    conn: &Connection,
    txid: &TxId,
    threshold: usize,
    now: u64,
) -> StoreResult<Option<StoredProposal>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {PROPOSAL_COLS} FROM proposals WHERE txid = ?1"
    ))?;
    let row = st.query_row([&txid.0[..]], proposal_row).optional()?;
    row.map(|r| decode_proposal(conn, r, threshold, now))
        .transpose()
}

/// Pending proposals and the most recent others, newest first, at most `limit`.
pub fn proposals(conn: &Connection, threshold: usize, limit: usize) -> StoreResult<Vec<Proposal>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {PROPOSAL_COLS} FROM proposals ORDER BY (state = 'pending') DESC, rowid DESC LIMIT ?1"
    ))?;
    let rows: Vec<ProposalRow> = st
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], proposal_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|r| decode_proposal(conn, r, threshold, crate::datadir::now_ms()).map(|p| p.proposal))
        .collect()
}
