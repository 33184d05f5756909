//! Re-verification of the ledger from genesis: the startup integrity check of `serve` and the
//! full `dfc-bank audit`.
//!
//! Both replay every block against an in-memory state: header hash, chain link, node signature,
//! transaction root, the stateful rules (inputs exist and are unspent, outputs are fresh), the
//! supply recorded in each header, the receipts' signatures, and at the end that the stored notes
//! and spent tables equal the replay, the operator audit log's hash chain and the supply invariant.
//! The full audit also verifies every transaction's signatures and proofs (in parallel per block);
//! the startup check skips that, the expensive part, since the node verified them before commit.

use std::collections::{HashMap, HashSet};

use dfc_core::api::{AuditEntry, Receipt};
use dfc_core::holdings::{effects, Holding};
use dfc_core::validate::{
    check_claim_holding, check_outputs_fresh, check_structure, next_supply, resolve, verify_crypto,
};
use dfc_core::{
    Account, Amount, BlockHeader, Commitment, Hash32, InputNote, LedgerNote, LedgerView,
    NetworkParams, NoteId, PublicKey, SupplyAudit, TxId, TxKind,
};
use rayon::prelude::*;
use rusqlite::Connection;
use serde::Serialize;
use thiserror::Error;

use crate::error::StoreError;
use crate::store;

/// How much to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Everything but the transactions' signatures and proofs (node startup).
    Structure,
    /// Everything (the `audit` command).
    Full,
}

/// The first bad record found.
#[derive(Debug, Error)]
pub enum IntegrityError {
    /// A block (or one of its transactions or notes) does not verify.
    #[error("block {height}: {reason}")]
    Block {
        /// Height of the first bad block.
        height: u64,
        /// What is wrong.
        reason: String,
    },
    /// An audit-log entry does not chain.
    #[error("audit log entry {seq}: {reason}")]
    AuditLog {
        /// Sequence number of the first bad entry.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The stored notes or spent tables do not match the replay of the blocks.
    #[error("{table} table: {reason}")]
    Table {
        /// Table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The supply invariant does not hold.
    #[error("supply invariant: {0}")]
    Supply(String),
    /// The ledger is empty.
    #[error("the ledger has no genesis block")]
    NoGenesis,
    /// The ledger could not be read.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// What a successful check found.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerSummary {
    /// Tip height.
    pub height: u64,
    /// Tip header.
    pub tip: BlockHeader,
    /// Public supply at the tip.
    pub supply: Amount,
    /// Unspent notes.
    pub notes_outstanding: u64,
    /// Transactions committed.
    pub tx_count: u64,
    /// Audit log entries.
    pub audit_entries: u64,
    /// Hash of the last audit log entry (zero if none).
    pub audit_head: Hash32,
}

/// The ledger rebuilt from the blocks alone, with the registry's key-to-account mapping (which
/// never changes once a key is registered) read from the database.
struct Replay<'a> {
    conn: &'a Connection,
    notes: HashMap<NoteId, (LedgerNote, u64, TxId)>,
    commitments: HashSet<[u8; 32]>,
    spent: HashMap<NoteId, (TxId, u64)>,
    holdings: HashMap<PublicKey, Holding>,
}

impl LedgerView for Replay<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.notes.get(id).map(|(n, _, _)| n.clone())
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.commitments.contains(&commitment.to_bytes())
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        crate::holdings::account(self.conn, key).ok().flatten()
    }
    fn holding(&self, account: &PublicKey) -> Holding {
        self.holdings.get(account).cloned().unwrap_or_default()
    }
}

const CHUNK: usize = 256;

fn bad(height: u64, reason: impl Into<String>) -> IntegrityError {
    IntegrityError::Block {
        height,
        reason: reason.into(),
    }
}

/// Verifies the ledger in `conn` from genesis to its tip.
///
/// `genesis` are the genesis parameters; every block is checked against the parameters in force
/// at its height ([`dfc_core::governance::ParamsHistory::at`]), from the history of approved
/// changes in the ledger, each of whose approvals is verified again here.
pub fn verify_ledger(
    conn: &Connection,
    genesis: &NetworkParams,
    depth: Depth,
) -> Result<LedgerSummary, IntegrityError> {
    let history = crate::governance::store::load_history(conn, genesis)?;
    let mut params = history.at(0);
    let mut params_hash = params.hash();
    let mut replay = Replay {
        conn,
        notes: HashMap::new(),
        commitments: HashSet::new(),
        spent: HashMap::new(),
        holdings: HashMap::new(),
    };
    let mut audit = SupplyAudit::new();
    let mut prev: Option<BlockHeader> = None;
    let mut supply = Amount::ZERO;
    let mut tx_count = 0u64;
    let mut next = 0u64;
    let mut anchors: Vec<(u64, u64, Hash32)> = Vec::new();
    loop {
        let headers = store::headers_from(conn, next, CHUNK)?;
        if headers.is_empty() {
            break;
        }
        for (height, stored) in headers {
            let h = &stored.header;
            let in_force = history.at(height);
            if !std::ptr::eq(in_force, params) {
                params = in_force;
                params_hash = params.hash();
            }
            if height != h.height {
                return Err(bad(
                    height,
                    format!("row holds a header of height {}", h.height),
                ));
            }
            if stored.hash != h.hash() {
                return Err(bad(
                    height,
                    "stored hash is not the hash of the stored header",
                ));
            }
            if h.network != params.network_id || h.params_hash != params_hash {
                return Err(bad(height, "header is for other network parameters"));
            }
            if height == 0 && stored.hash != params.genesis_hash {
                return Err(bad(
                    0,
                    format!(
                        "the genesis block is {} but the parameters name genesis {}",
                        stored.hash, params.genesis_hash
                    ),
                ));
            }
            if let Some(p) = &prev {
                if h.audit_seq < p.audit_seq {
                    return Err(bad(height, "audit-log anchor goes backwards"));
                }
            }
            anchors.push((height, h.audit_seq, h.audit_head));
            // A record that no longer decodes is named by its block, like any other bad record.
            let rows = store::block_tx_rows(conn, height).map_err(|e| match e {
                StoreError::Corrupt { table, reason } => bad(height, format!("{table}: {reason}")),
                other => IntegrityError::from(other),
            })?;
            let block = dfc_core::Block {
                header: h.clone(),
                signature: stored.signature,
                txs: rows.iter().map(|(_, tx, _)| tx.clone()).collect(),
            };
            block
                .check_link(prev.as_ref(), &params.node_key)
                .map_err(|e| bad(height, e.to_string()))?;
            let mut resolved: Vec<Vec<InputNote>> = Vec::with_capacity(rows.len());
            for (index, (txid, tx, receipt_sig)) in rows.iter().enumerate() {
                let id = tx.id();
                if *txid != id {
                    return Err(bad(
                        height,
                        format!("transaction {index}: stored txid is not its id"),
                    ));
                }
                let receipt = Receipt {
                    txid: id,
                    height,
                    block_hash: stored.hash,
                    signature: *receipt_sig,
                };
                if !receipt.verify(&params.node_key) {
                    return Err(bad(
                        height,
                        format!("transaction {index}: receipt signature does not verify"),
                    ));
                }
                let reject = |e: dfc_core::TxError| {
                    bad(height, format!("transaction {index} ({id}) rejected: {e}"))
                };
                check_structure(tx, params).map_err(reject)?;
                let period = params.turnover_period(h.time_ms);
                // Tiers are not re-checked: the registry keeps only the current tier and the node
                // checked them at commit. Claims are checked against the holdings rebuilt here.
                let res = resolve(tx, &replay).map_err(reject)?;
                check_claim_holding(tx, &replay, period).map_err(reject)?;
                check_outputs_fresh(tx, &replay).map_err(reject)?;
                supply = next_supply(tx, supply).map_err(reject)?;
                let fx = effects(tx, &res);
                if tx.kind != TxKind::Claim {
                    let commitments: Vec<Commitment> =
                        res.inputs.iter().map(|i| i.commitment).collect();
                    audit.add_excess(&tx.excess(&commitments));
                }
                for d in &fx.deltas {
                    replay
                        .holdings
                        .entry(d.account)
                        .or_default()
                        .apply(d, period);
                }
                for claimed in &fx.claimed {
                    if let Some((note, _, _)) = replay.notes.get_mut(claimed) {
                        note.pending = false;
                    }
                }
                let inputs = res.inputs;
                for input in &tx.inputs {
                    if let Some((note, _, _)) = replay.notes.get_mut(input) {
                        note.spent = true;
                    }
                    replay.spent.insert(*input, (id, height));
                }
                for ((o, nid), pending) in tx
                    .outputs
                    .iter()
                    .zip(tx.output_ids())
                    .zip(fx.pending_outputs)
                {
                    replay.commitments.insert(o.commitment.to_bytes());
                    replay.notes.insert(
                        nid,
                        (
                            LedgerNote {
                                commitment: o.commitment,
                                owner: o.owner,
                                spent: false,
                                pending,
                            },
                            height,
                            id,
                        ),
                    );
                }
                resolved.push(inputs);
            }
            if depth == Depth::Full {
                let failure = rows
                    .par_iter()
                    .zip(resolved.par_iter())
                    .enumerate()
                    .find_first(|(_, ((_, tx, _), inputs))| {
                        verify_crypto(tx, params, inputs).is_err()
                    });
                if let Some((index, ((_, tx, _), inputs))) = failure {
                    let e = verify_crypto(tx, params, inputs)
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    return Err(bad(
                        height,
                        format!("transaction {index} ({}) rejected: {e}", tx.id()),
                    ));
                }
            }
            if h.supply != supply {
                return Err(bad(
                    height,
                    format!(
                        "header records supply {} but its transactions give {}",
                        h.supply.units(),
                        supply.units()
                    ),
                ));
            }
            tx_count += u64::try_from(rows.len()).unwrap_or(u64::MAX);
            prev = Some(h.clone());
            next = height + 1;
        }
    }
    let tip = prev.ok_or(IntegrityError::NoGenesis)?;
    compare_tables(conn, &replay)?;
    for (note, _, _) in replay.notes.values().filter(|(n, _, _)| !n.spent) {
        audit.add_unspent(&note.commitment);
    }
    audit
        .check(supply)
        .map_err(|e| IntegrityError::Supply(e.to_string()))?;
    let (audit_entries, audit_head) = verify_audit_log(conn)?;
    check_anchors(conn, &anchors)?;
    check_registry(conn)?;
    Ok(LedgerSummary {
        height: tip.height,
        supply,
        notes_outstanding: audit.unspent_count(),
        tx_count,
        audit_entries,
        audit_head,
        tip,
    })
}

fn compare_tables(conn: &Connection, replay: &Replay) -> Result<(), IntegrityError> {
    let table = |table: &'static str, reason: String| IntegrityError::Table { table, reason };
    // Pending flags and holdings are what claims are proven against: an edited row would let a
    // wallet claim past its limits, so both are checked against the replay in pairs.
    let pending = crate::holdings::pending_ids(conn)?;
    let replayed: std::collections::HashSet<NoteId> = replay
        .notes
        .iter()
        .filter(|(_, (n, _, _))| n.pending)
        .map(|(id, _)| *id)
        .collect();
    if pending != replayed {
        return Err(table(
            "notes",
            format!(
                "{} notes are marked pending, the blocks leave {} pending",
                pending.len(),
                replayed.len()
            ),
        ));
    }
    let stored = crate::holdings::all_holdings(conn)?;
    if stored.len() != replay.holdings.len()
        || stored
            .iter()
            .any(|(k, h)| replay.holdings.get(k) != Some(h))
    {
        return Err(table(
            "holdings",
            "the stored balance and inflow sums differ from the replay of the blocks".into(),
        ));
    }
    let notes = store::all_notes(conn)?;
    if notes.len() != replay.notes.len() {
        return Err(table(
            "notes",
            format!(
                "{} stored notes, the blocks create {}",
                notes.len(),
                replay.notes.len()
            ),
        ));
    }
    for row in &notes {
        let Some((n, height, txid)) = replay.notes.get(&row.id) else {
            return Err(table(
                "notes",
                format!("note {} is created by no block", row.id),
            ));
        };
        if n.commitment.to_bytes() != row.commitment
            || n.owner.to_bytes() != row.owner
            || *height != row.created_height
            || *txid != row.txid
        {
            return Err(table(
                "notes",
                format!("note {} differs from the block that creates it", row.id),
            ));
        }
    }
    let spent = store::all_spent(conn)?;
    if spent.len() != replay.spent.len() {
        return Err(table(
            "spent",
            format!(
                "{} stored spends, the blocks spend {}",
                spent.len(),
                replay.spent.len()
            ),
        ));
    }
    for (note, txid, height) in &spent {
        if replay.spent.get(note) != Some(&(*txid, *height)) {
            return Err(table(
                "spent",
                format!("spend of note {note} is not in the blocks"),
            ));
        }
    }
    Ok(())
}

/// Replays the registry from the audit log (registrations, freezes, tier changes, double-spend
/// flags) and compares it with the `wallets` table, so an edit of a tier, a frozen flag or a flag
/// count on disk is detected.
fn check_registry(conn: &Connection) -> Result<(), IntegrityError> {
    #[derive(PartialEq)]
    struct Expected {
        tier: u8,
        frozen: bool,
        flags: u32,
    }
    let table = |reason: String| IntegrityError::Table {
        table: "wallets",
        reason,
    };
    let mut expected: std::collections::HashMap<String, Expected> =
        std::collections::HashMap::new();
    let mut seq = 1u64;
    loop {
        let entries = store::audit_entries(conn, seq, 1000)?;
        if entries.is_empty() {
            break;
        }
        for e in entries {
            seq = e.seq + 1;
            let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
            let key = |field: &str| -> Option<String> {
                match field {
                    "address" => detail["address"]
                        .as_str()
                        .and_then(|a| a.parse::<dfc_core::Address>().ok())
                        .map(|a| hex::encode(a.spend.to_bytes())),
                    _ => detail[field].as_str().map(str::to_string),
                }
            };
            match e.action.as_str() {
                "register" => {
                    if let Some(k) = key("address") {
                        expected.entry(k).or_insert(Expected {
                            tier: 0,
                            frozen: false,
                            flags: 0,
                        });
                    }
                }
                "freeze" | "unfreeze" => {
                    if let Some(w) = key("wallet").and_then(|k| expected.get_mut(&k)) {
                        w.frozen = e.action == "freeze";
                    }
                }
                "set_tier" => {
                    let tier = detail["tier"].as_u64().and_then(|t| u8::try_from(t).ok());
                    if let (Some(w), Some(t)) =
                        (key("wallet").and_then(|k| expected.get_mut(&k)), tier)
                    {
                        w.tier = t;
                    }
                }
                "double_spend" => {
                    if let Some(w) = key("wallet").and_then(|k| expected.get_mut(&k)) {
                        w.flags = w.flags.saturating_add(1);
                    }
                }
                _ => {}
            }
        }
    }
    let stored = store::wallets(conn, usize::MAX)?;
    if stored.len() != expected.len() {
        return Err(table(format!(
            "{} registered wallets, the audit log registers {}",
            stored.len(),
            expected.len()
        )));
    }
    for w in &stored {
        let k = hex::encode(w.address.spend.to_bytes());
        match expected.get(&k) {
            Some(e) if e.tier == w.tier && e.frozen == w.frozen && e.flags == w.flags => {}
            Some(_) => {
                return Err(table(format!(
                    "wallet {k} (tier {}, frozen {}, flags {}) differs from the audit log's record",
                    w.tier, w.frozen, w.flags
                )))
            }
            None => {
                return Err(table(format!(
                    "wallet {k} is registered by no audit-log entry"
                )))
            }
        }
    }
    Ok(())
}

/// Every block anchors the audit log's newest entry at sealing time; each anchored entry must
/// still be in the log with the same hash, so deleting entries up to the last block is detected.
fn check_anchors(conn: &Connection, anchors: &[(u64, u64, Hash32)]) -> Result<(), IntegrityError> {
    for (height, seq, hash) in anchors {
        if *seq == 0 {
            continue;
        }
        let entry = store::audit_entries(conn, *seq, 1)?.into_iter().next();
        match entry {
            Some(e) if e.seq == *seq && e.hash == *hash => {}
            Some(_) => {
                return Err(IntegrityError::AuditLog {
                    seq: *seq,
                    reason: format!("differs from the entry block {height} anchors"),
                })
            }
            None => {
                return Err(IntegrityError::AuditLog {
                    seq: *seq,
                    reason: format!("missing: block {height} anchors it (entries were deleted)"),
                })
            }
        }
    }
    Ok(())
}

/// Verifies the audit log's hash chain; returns the number of entries and the head hash.
pub fn verify_audit_log(conn: &Connection) -> Result<(u64, Hash32), IntegrityError> {
    let mut prev = Hash32([0u8; 32]);
    let mut expected_seq = 1u64;
    loop {
        let entries: Vec<AuditEntry> = store::audit_entries(conn, expected_seq, 1000)?;
        if entries.is_empty() {
            break;
        }
        for e in entries {
            let fail = |reason: &str| IntegrityError::AuditLog {
                seq: e.seq,
                reason: reason.to_string(),
            };
            if e.seq != expected_seq {
                return Err(fail("sequence numbers skip"));
            }
            if e.prev_hash != prev {
                return Err(fail("does not chain to the previous entry"));
            }
            let h = AuditEntry::compute_hash(
                e.seq,
                e.time_ms,
                e.operator,
                &e.action,
                &e.detail,
                &e.prev_hash,
            );
            if h != e.hash {
                return Err(fail("stored hash is not the hash of the entry"));
            }
            prev = e.hash;
            expected_seq += 1;
        }
    }
    Ok((expected_seq - 1, prev))
}

/// The result of `dfc-bank audit`, as printed with `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// Whether everything verified.
    pub pass: bool,
    /// Tip height (if verified).
    pub height: Option<u64>,
    /// Supply in minor units (if verified).
    pub supply_units: Option<u64>,
    /// Supply as a decimal with the currency.
    pub supply: Option<String>,
    /// Unspent notes.
    pub notes_outstanding: Option<u64>,
    /// Transactions.
    pub tx_count: Option<u64>,
    /// Audit log entries.
    pub audit_entries: Option<u64>,
    /// The first bad record, on failure.
    pub error: Option<String>,
}

/// Runs the full audit and makes the report.
pub fn audit_report(conn: &Connection, params: &NetworkParams) -> AuditReport {
    match verify_ledger(conn, params, Depth::Full) {
        Ok(s) => AuditReport {
            pass: true,
            height: Some(s.height),
            supply_units: Some(s.supply.units()),
            supply: Some(params.format(s.supply)),
            notes_outstanding: Some(s.notes_outstanding),
            tx_count: Some(s.tx_count),
            audit_entries: Some(s.audit_entries),
            error: None,
        },
        Err(e) => AuditReport {
            pass: false,
            height: None,
            supply_units: None,
            supply: None,
            notes_outstanding: None,
            tx_count: None,
            audit_entries: None,
            error: Some(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::{init, InitOptions, LEDGER_FILE};

    fn fresh() -> (tempfile::TempDir, NetworkParams, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = init(dir.path(), &InitOptions::default()).expect("init");
        let conn = store::open_writer(&dir.path().join(LEDGER_FILE)).expect("open");
        (dir, report.params, conn)
    }

    #[test]
    fn genesis_verifies() {
        let (_dir, params, conn) = fresh();
        let s = verify_ledger(&conn, &params, Depth::Full).expect("a fresh ledger verifies");
        assert_eq!(
            (s.height, s.supply, s.notes_outstanding, s.audit_entries),
            (0, Amount::ZERO, 0, 1)
        );
    }

    #[test]
    fn tampered_header_names_the_block() {
        let (_dir, params, conn) = fresh();
        let header: String = conn
            .query_row("SELECT header FROM blocks WHERE height = 0", [], |r| {
                r.get(0)
            })
            .expect("genesis");
        let forged = header.replace("\"supply\":0", "\"supply\":100");
        assert_ne!(forged, header, "the header JSON holds the supply");
        conn.execute("UPDATE blocks SET header = ?1 WHERE height = 0", [forged])
            .expect("tamper");
        match verify_ledger(&conn, &params, Depth::Structure) {
            Err(IntegrityError::Block { height: 0, .. }) => {}
            other => panic!("expected block 0 to be named, got {other:?}"),
        }
    }

    #[test]
    fn tampered_audit_log_names_the_entry() {
        let (_dir, params, conn) = fresh();
        store::append_audit(&conn, 5, Some(1), "freeze", "{}").expect("append");
        store::append_audit(&conn, 6, Some(1), "unfreeze", "{}").expect("append");
        verify_ledger(&conn, &params, Depth::Structure).expect("chained log verifies");
        conn.execute("UPDATE audit_log SET detail = 'x' WHERE seq = 2", [])
            .expect("tamper");
        match verify_ledger(&conn, &params, Depth::Structure) {
            Err(IntegrityError::AuditLog { seq: 2, .. }) => {}
            other => panic!("expected entry 2 to be named, got {other:?}"),
        }
    }

    #[test]
    fn a_spend_row_without_a_block_is_found() {
        let (_dir, params, conn) = fresh();
        conn.execute(
            "INSERT INTO spent (note_id, txid, height) VALUES (?1, ?1, 0)",
            [vec![7u8; 32]],
        )
        .expect("insert");
        assert!(matches!(
            verify_ledger(&conn, &params, Depth::Structure),
            Err(IntegrityError::Table { table: "spent", .. })
        ));
    }
}
