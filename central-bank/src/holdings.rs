//! Pending notes and account holdings on disk: the node's copy of the state that claims are proven
//! against (`dfc_core::holdings`). Written in the same SQLite transaction as the block that
//! changes it, by [`apply_tx`], which every writer of blocks calls (the sequencer, proposals and
//! the audit replay's checks read it back).

use curve25519_dalek::ristretto::CompressedRistretto;
use dfc_core::holdings::{effects, Holding};
use dfc_core::validate::{resolve, Account};
use dfc_core::{PublicKey, Transaction};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::store::{self, DbView, StoreResult};

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

fn point(bytes: Vec<u8>) -> StoreResult<curve25519_dalek::ristretto::RistrettoPoint> {
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

fn put_holding(conn: &Connection, account: &PublicKey, h: &Holding) -> StoreResult<()> {
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

/// Resolves `tx` against the state before it (its inputs, pending flags and accounts, for its
/// effects; the sequencer checked the rules when it admitted it). Must be called before the
/// transaction's notes and spends are inserted.
pub fn resolve_before(conn: &Connection, tx: &Transaction) -> StoreResult<dfc_core::Resolved> {
    let view = DbView::new(conn);
    let resolved = resolve(tx, &view);
    view.finish()?;
    resolved.map_err(|e| {
        StoreError::corrupt(
            "notes",
            format!(
                "transaction {} no longer fits the state it was admitted on: {e}",
                tx.id()
            ),
        )
    })
}

/// Writes what `tx` (resolved by [`resolve_before`]) does to pending flags and holdings, after
/// its notes were inserted.
pub fn apply_tx(
    conn: &Connection,
    tx: &Transaction,
    resolved: &dfc_core::Resolved,
    period: u64,
) -> StoreResult<()> {
    let fx = effects(tx, resolved);
    let mut set_pending = conn.prepare_cached("UPDATE notes SET pending = ?2 WHERE id = ?1")?;
    for (id, pending) in tx.output_ids().iter().zip(&fx.pending_outputs) {
        if *pending {
            set_pending.execute(params![&id.0[..], 1])?;
        }
    }
    for id in &fx.claimed {
        set_pending.execute(params![&id.0[..], 0])?;
    }
    for d in &fx.deltas {
        let mut h = holding(conn, &d.account)?;
        h.apply(d, period);
        put_holding(conn, &d.account, &h)?;
    }
    Ok(())
}
