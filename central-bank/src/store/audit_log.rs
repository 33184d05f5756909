//! The hash-chained audit log and operator request nonces.

#[allow(unused_imports)]
use super::*;

/// The newest audit-log entry's sequence number and hash, `(0, zero)` for an empty log: what the
/// next block header anchors.
pub fn audit_head(conn: &Connection) -> StoreResult<(u64, Hash32)> {
    let last = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    match last {
        Some((seq, hash)) => Ok((to_u64(seq, "audit_log")?, h32(hash, "audit_log")?)),
        None => Ok((0, Hash32([0u8; 32]))),
    }
}

/// Appends an entry to the hash-chained operator audit log.
pub fn append_audit(
    conn: &Connection,
    time_ms: u64,
    operator: Option<u8>,
    action: &str,
    detail: &str,
) -> StoreResult<AuditEntry> {
    let last = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (to_u64(seq, "audit_log")? + 1, h32(hash, "audit_log")?),
        None => (1, Hash32([0u8; 32])),
    };
    let hash = AuditEntry::compute_hash(seq, time_ms, operator, action, detail, &prev_hash);
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, time_ms, operator, action, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        to_i64(seq)?,
        to_i64(time_ms)?,
        operator.map(i64::from),
        action,
        detail,
        &prev_hash.0[..],
        &hash.0[..]
    ])?;
    Ok(AuditEntry {
        seq,
        time_ms,
        operator,
        action: action.to_string(),
        detail: detail.to_string(),
        prev_hash,
        hash,
    })
}

/// Audit log entries from `from_seq` on, at most `limit`.
pub fn audit_entries(
    conn: &Connection,
    from_seq: u64,
    limit: usize,
) -> StoreResult<Vec<AuditEntry>> {
    let mut st = conn.prepare_cached(
        "SELECT seq, time_ms, operator, action, detail, prev_hash, hash FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = st.query_map(
        params![to_i64(from_seq)?, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Vec<u8>>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, time, op, action, detail, prev, hash) = row?;
        out.push(AuditEntry {
            seq: to_u64(seq, "audit_log")?,
            time_ms: to_u64(time, "audit_log")?,
            operator: op
                .map(|o| {
                    u8::try_from(o)
                        .map_err(|_| StoreError::corrupt("audit_log", "operator out of range"))
                })
                .transpose()?,
            action,
            detail,
            prev_hash: h32(prev, "audit_log")?,
            hash: h32(hash, "audit_log")?,
        });
    }
    Ok(out)
}

/// Records an operator request nonce; false if it was seen before (a replay). Forgets nonces older
/// than `forget_before_ms`, which the clock-skew check already refuses.
pub fn record_nonce(
    conn: &Connection,
    nonce: &Hash32,
    time_ms: u64,
    forget_before_ms: u64,
) -> StoreResult<bool> {
    conn.prepare_cached("DELETE FROM operator_nonces WHERE time_ms < ?1")?
        .execute([to_i64(forget_before_ms)?])?;
    let n = conn
        .prepare_cached("INSERT OR IGNORE INTO operator_nonces (nonce, time_ms) VALUES (?1, ?2)")?
        .execute(params![&nonce.0[..], to_i64(time_ms)?])?;
    Ok(n == 1)
}

/// Output of a stored note, for callers that need the full output.
pub fn note_output(conn: &Connection, id: &NoteId) -> StoreResult<Option<Output>> {
    let mut st = conn.prepare_cached("SELECT output FROM notes WHERE id = ?1")?;
    let row = st
        .query_row([&id.0[..]], |r| r.get::<_, String>(0))
        .optional()?;
    row.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::corrupt("notes", e)))
        .transpose()
}

/// The transactions of block `height` with their stored txid column and receipt signature, for
/// the audit.
pub fn block_tx_rows(
    conn: &Connection,
    height: u64,
) -> StoreResult<Vec<(TxId, Transaction, Signature)>> {
    let mut st = conn.prepare_cached(
        "SELECT txid, bytes, receipt_sig FROM txs WHERE height = ?1 ORDER BY idx",
    )?;
    let rows = st.query_map([to_i64(height)?], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, bytes, sig) = row?;
        out.push((
            h32(id, "txs")?,
            Transaction::decode(&bytes).map_err(|e| StoreError::corrupt("txs", e))?,
            signature(sig, "txs")?,
        ));
    }
    Ok(out)
}
