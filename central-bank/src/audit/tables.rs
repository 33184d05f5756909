//! The checks that compare the stored tables with the replay of the blocks: notes, spent set,
//! pending flags and holdings, the registry (against the audit log), the audit log's hash chain
//! and the blocks' anchors into it.

use dfc_core::api::AuditEntry;
use dfc_core::{Hash32, NoteId};
use rusqlite::Connection;

use super::replay::Replay;
use super::IntegrityError;
use crate::store;

pub(super) fn compare_tables(
    conn: &Connection,
    replay: &Replay,
    holdings_known: bool,
) -> Result<(), IntegrityError> {
    // Pending flags and holdings are what claims are proven against: an edited row would let a
    // wallet claim past its limits, so both are checked against the replay in pairs.
    if holdings_known {
        compare_holdings(conn, replay)?;
    }
    compare_notes(conn, replay)
}

fn compare_holdings(conn: &Connection, replay: &Replay) -> Result<(), IntegrityError> {
    let table = |table: &'static str, reason: String| IntegrityError::Table { table, reason };
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
    Ok(())
}

fn compare_notes(conn: &Connection, replay: &Replay) -> Result<(), IntegrityError> {
    let table = |table: &'static str, reason: String| IntegrityError::Table { table, reason };
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
pub(crate) fn check_registry(conn: &Connection) -> Result<(), IntegrityError> {
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
pub(super) fn check_anchors(
    conn: &Connection,
    anchors: &[(u64, u64, Hash32)],
) -> Result<(), IntegrityError> {
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
