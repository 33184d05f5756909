//! The registry: wallets, certified purses and double-spend evidence.

#[allow(unused_imports)]
use super::*;

pub(crate) type WalletRow = (String, String, i64, bool, i64, i64, i64, Option<String>);

fn wallet_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WalletRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

pub(crate) fn decode_wallet(row: WalletRow) -> StoreResult<WalletInfo> {
    let (address, label, tier, frozen, flags, registered, version, freeze_reason) = row;
    Ok(WalletInfo {
        address: address
            .parse::<Address>()
            .map_err(|e| StoreError::corrupt("wallets", e))?,
        label,
        tier: u8::try_from(tier)
            .map_err(|_| StoreError::corrupt("wallets", "tier out of range"))?,
        frozen,
        flags: u32::try_from(flags)
            .map_err(|_| StoreError::corrupt("wallets", "flags out of range"))?,
        registered_ms: to_u64(registered, "wallets")?,
        registry_version: to_u64(version, "wallets")?,
        freeze_reason: if frozen { freeze_reason } else { None },
    })
}

pub(crate) const WALLET_COLS: &str =
    "address, label, tier, frozen, flags, registered_ms, registry_version, freeze_reason";

/// The wallet registered with spend key `key`.
pub fn wallet(conn: &Connection, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {WALLET_COLS} FROM wallets WHERE spend_key = ?1"
    ))?;
    st.query_row([&key.to_bytes()[..]], wallet_row)
        .optional()?
        .map(decode_wallet)
        .transpose()
}

/// Every registered wallet, oldest first, at most `limit`.
pub fn wallets(conn: &Connection, limit: usize) -> StoreResult<Vec<WalletInfo>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {WALLET_COLS} FROM wallets ORDER BY rowid LIMIT ?1"
    ))?;
    let rows = st.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], wallet_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode_wallet(row?)?);
    }
    Ok(out)
}

/// The wallet behind a note owner: the wallet whose certified purse key it is, else the wallet
/// whose spend key it is. Purse keys count as their wallet for registration, tier and freezes,
/// and the purse is looked up first so that a purse key registered as a wallet of its own (which
/// `controls::check_registration` now refuses, but an older ledger may hold) still answers for
/// the wallet it was certified for.
pub fn wallet_of_owner(conn: &Connection, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
    match purse_wallet(conn, key)? {
        Some(w) => wallet(conn, &w),
        None => wallet(conn, key),
    }
}

// ---------------------------------------------------------------- purses and evidence

/// The wallet a purse key was certified for.
pub fn purse_wallet(conn: &Connection, purse: &PublicKey) -> StoreResult<Option<PublicKey>> {
    let mut st = conn.prepare_cached("SELECT wallet FROM purses WHERE purse_key = ?1 LIMIT 1")?;
    st.query_row([&purse.to_bytes()[..]], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .map(|w| pubkey(w, "purses"))
        .transpose()
}

/// The next certificate serial (1 for the first).
pub fn next_purse_serial(conn: &Connection) -> StoreResult<u64> {
    let max: Option<i64> = conn
        .prepare_cached("SELECT MAX(serial) FROM purses")?
        .query_row([], |r| r.get(0))?;
    Ok(max.map(|m| to_u64(m, "purses")).transpose()?.unwrap_or(0) + 1)
}

/// Records an issued purse certificate.
pub fn insert_purse(
    conn: &Connection,
    cert: &dfc_core::offline::PurseCertificate,
) -> StoreResult<()> {
    let json = serde_json::to_string(cert).map_err(|e| StoreError::corrupt("purses", e))?;
    conn.prepare_cached(
        "INSERT INTO purses (serial, purse_key, wallet, cert, issued_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        to_i64(cert.serial)?,
        &cert.purse.to_bytes()[..],
        &cert.wallet.to_bytes()[..],
        json,
        to_i64(cert.issued_ms)?,
        to_i64(cert.expires_ms)?
    ])?;
    Ok(())
}

/// The certificate with `serial`.
pub fn purse_cert(
    conn: &Connection,
    serial: u64,
) -> StoreResult<Option<dfc_core::offline::PurseCertificate>> {
    let mut st = conn.prepare_cached("SELECT cert FROM purses WHERE serial = ?1")?;
    st.query_row([to_i64(serial)?], |r| r.get::<_, String>(0))
        .optional()?
        .map(|c| serde_json::from_str(&c).map_err(|e| StoreError::corrupt("purses", e)))
        .transpose()
}

/// Stores evidence and raises the wallet's flag count; false (and nothing changed) if this
/// evidence was recorded before.
pub fn insert_evidence(
    conn: &Connection,
    rec: &dfc_core::offline_api::EvidenceRecord,
) -> StoreResult<bool> {
    let json = serde_json::to_string(rec).map_err(|e| StoreError::corrupt("evidence", e))?;
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO evidence (id, wallet, conflicting_txid, recorded_ms, record) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            &rec.id.0[..],
            &rec.wallet.to_bytes()[..],
            &rec.conflicting_txid.0[..],
            to_i64(rec.recorded_ms)?,
            json
        ])?;
    if n == 1 {
        conn.prepare_cached("UPDATE wallets SET flags = flags + 1 WHERE spend_key = ?1")?
            .execute([&rec.wallet.to_bytes()[..]])?;
    }
    Ok(n == 1)
}

/// Stored evidence, newest first, at most `limit`; only of `wallet` or only refusing
/// `conflicting` when given.
pub fn evidence(
    conn: &Connection,
    wallet: Option<&PublicKey>,
    conflicting: Option<&TxId>,
    limit: usize,
) -> StoreResult<Vec<dfc_core::offline_api::EvidenceRecord>> {
    let mut st = conn.prepare_cached(
        "SELECT record FROM evidence WHERE (?1 IS NULL OR wallet = ?1) AND (?2 IS NULL OR conflicting_txid = ?2) ORDER BY rowid DESC LIMIT ?3",
    )?;
    let rows = st.query_map(
        params![
            wallet.map(|w| w.to_bytes().to_vec()),
            conflicting.map(|t| t.0.to_vec()),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| r.get::<_, String>(0),
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?).map_err(|e| StoreError::corrupt("evidence", e))?);
    }
    Ok(out)
}

/// Registers a wallet.
pub fn insert_wallet(conn: &Connection, info: &WalletInfo) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO wallets (spend_key, address, label, tier, frozen, flags, registered_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        &info.address.spend.to_bytes()[..],
        info.address.to_string(),
        info.label,
        i64::from(info.tier),
        info.frozen,
        i64::from(info.flags),
        to_i64(info.registered_ms)?
    ])?;
    Ok(())
}
