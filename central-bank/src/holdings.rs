//! Pending notes and account holdings on disk: the node's copy of the state that claims are proven
//! against (`dfc_core::holdings`). Written in the same SQLite transaction as the block that
//! changes it, by `store::insert_block`, from the effects `BatchState::admit` computed when the
//! block's transactions were admitted (the audit replay's checks read it back).

use curve25519_dalek::ristretto::CompressedRistretto;
use dfc_core::holdings::Holding;
use dfc_core::validate::Account;
use dfc_core::PublicKey;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::store::{self, StoreResult};

/// Schema: the pending flag of notes and the holdings table.
pub const SCHEMA_V3_HOLDINGS: &str = "
ALTER TABLE notes ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
CREATE TABLE holdings (
    account BLOB NOT NULL UNIQUE,
    balance BLOB NOT NULL,
    period INTEGER NOT NULL,
    inflow BLOB NOT NULL
);
";

pub(crate) fn point(bytes: Vec<u8>) -> StoreResult<curve25519_dalek::ristretto::RistrettoPoint> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt("holdings", "point is not 32 bytes"))?;
    CompressedRistretto(arr)
        .decompress()
        .ok_or_else(|| StoreError::corrupt("holdings", "not a Ristretto point"))
}

/// The holding of `account` (the identity points if it has none).
pub fn holding(conn: &Connection, account: &PublicKey) -> StoreResult<Holding> {
    let mut st =
        conn.prepare_cached("SELECT balance, period, inflow FROM holdings WHERE account = ?1")?;
    let row = st
        .query_row([&account.to_bytes()[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    match row {
        None => Ok(Holding::default()),
        Some((b, p, i)) => Ok(Holding {
            balance: point(b)?,
            period: u64::try_from(p).map_err(|_| StoreError::corrupt("holdings", "period"))?,
            inflow: point(i)?,
        }),
    }
}

/// Writes `account`'s holding (insert or replace).
pub fn put_holding(conn: &Connection, account: &PublicKey, h: &Holding) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO holdings (account, balance, period, inflow) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account) DO UPDATE SET balance = ?2, period = ?3, inflow = ?4",
    )?
    .execute(params![
        &account.to_bytes()[..],
        &h.balance.compress().to_bytes()[..],
        i64::try_from(h.period).map_err(|_| StoreError::corrupt("holdings", "period"))?,
        &h.inflow.compress().to_bytes()[..],
    ])?;
    Ok(())
}

/// The account a note owner belongs to: its wallet (a purse key belongs to the wallet it was
/// certified for) with the wallet's tier.
pub fn account(conn: &Connection, key: &PublicKey) -> StoreResult<Option<Account>> {
    Ok(store::wallet_of_owner(conn, key)?.map(|w| Account {
        key: w.address.spend,
        tier: w.tier,
    }))
}

/// Every note marked pending, for the integrity check.
pub fn pending_ids(conn: &Connection) -> StoreResult<std::collections::HashSet<dfc_core::NoteId>> {
    let mut st = conn.prepare_cached("SELECT id FROM notes WHERE pending = 1")?;
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = std::collections::HashSet::new();
    for row in rows {
        let bytes: [u8; 32] = row?
            .try_into()
            .map_err(|_| StoreError::corrupt("notes", "note id is not 32 bytes"))?;
        out.insert(dfc_core::Hash32(bytes));
    }
    Ok(out)
}

/// Every stored holding, for the integrity check.
pub fn all_holdings(conn: &Connection) -> StoreResult<Vec<(PublicKey, Holding)>> {
    let mut st = conn.prepare_cached("SELECT account FROM holdings ORDER BY rowid")?;
    let keys = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let arr: [u8; 32] = k
            .try_into()
            .map_err(|_| StoreError::corrupt("holdings", "account is not 32 bytes"))?;
        let key = PublicKey::from_bytes(&arr).map_err(|e| StoreError::corrupt("holdings", e))?;
        let h = holding(conn, &key)?;
        out.push((key, h));
    }
    Ok(out)
}
