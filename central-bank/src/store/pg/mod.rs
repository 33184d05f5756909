//! The PostgreSQL ledger store: the shared store of several `dfc-bank` nodes.
//!
//! [`PgConn`] implements [`LedgerRead`] over a client (reads) and [`LedgerRead`] +
//! [`LedgerStore`] over an open transaction (one block), with the same answers as the SQLite
//! store (`tests/pg` writes the same blocks to both and compares).
//!
//! - **Durability:** every session runs with `synchronous_commit = on`: a commit returns only when
//!   its WAL is flushed (and, with `synchronous_standby_names` set on the server, when a standby
//!   has it too), so a receipt, given after the block's commit, survives a crash of the database.
//! - **One transaction per block**, as in SQLite; the constraints of [`schema`] refuse a double
//!   spend, a repeated note, a second block at one height and a fork even if the code above
//!   them were wrong. [`is_unique_violation`] tells such a refusal apart.
//! - The client is the synchronous `postgres` crate (over `tokio-postgres`), as the store traits
//!   are synchronous: the sequencer is one blocking thread. It must not be called from inside an
//!   async task (it runs its own small runtime): use it from the sequencer thread or
//!   `spawn_blocking`.

use std::cell::RefCell;

use postgres::error::SqlState;
use postgres::{Client, GenericClient, NoTls};

use super::*;

pub mod schema;

pub mod cluster;
pub mod governance;
pub mod import;
pub mod lease;
mod reads;
mod write;

/// A PostgreSQL connection (`C` = [`Client`]) or an open transaction on one
/// (`C` = [`postgres::Transaction`]) seen as a ledger store.
pub struct PgConn<C> {
    inner: RefCell<C>,
}

/// A connection to the PostgreSQL ledger.
pub type PgLedger = PgConn<Client>;
/// One open store transaction: one block, committed by [`PgConn::commit`], rolled back on drop.
pub type PgBlockTx<'a> = PgConn<postgres::Transaction<'a>>;

impl PgConn<Client> {
    /// Connects to `url` (`postgres://user@host:port/db`, or with `?host=/socket/dir`), sets
    /// `synchronous_commit = on` for the session and applies the schema migrations.
    pub fn connect(url: &str) -> StoreResult<Self> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute("SET synchronous_commit = on")?;
        schema::migrate(&mut client)?;
        Ok(PgConn {
            inner: RefCell::new(client),
        })
    }

    /// Begins the transaction of one block (`READ COMMITTED`; the UNIQUE constraints, not the
    /// isolation level, are what refuse conflicting writes).
    pub fn begin(&mut self) -> StoreResult<PgBlockTx<'_>> {
        let tx = self.inner.get_mut().transaction()?;
        Ok(PgConn {
            inner: RefCell::new(tx),
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&mut self) -> StoreResult<i32> {
        schema::version(self.inner.get_mut())
    }

    /// The session's `synchronous_commit` setting (`on` unless changed behind the store's back).
    pub fn synchronous_commit(&self) -> StoreResult<String> {
        self.with(|c| Ok(c.query_one("SHOW synchronous_commit", &[])?.get(0)))
    }
}

impl PgConn<postgres::Transaction<'_>> {
    /// Commits the block's transaction: durable when this returns.
    pub fn commit(self) -> StoreResult<()> {
        self.inner.into_inner().commit()?;
        Ok(())
    }
}

impl<C: GenericClient> PgConn<C> {
    /// Runs `f` on the connection.
    fn with<R>(&self, f: impl FnOnce(&mut C) -> StoreResult<R>) -> StoreResult<R> {
        f(&mut self.inner.borrow_mut())
    }
}

/// Whether a store error is PostgreSQL refusing a write under a UNIQUE constraint (a second spend,
/// a repeated note, a second block at one height or on one parent).
pub fn is_unique_violation(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(e) => e.code() == Some(&SqlState::UNIQUE_VIOLATION),
        _ => false,
    }
}

/// The constraint a refused write violated (UNIQUE, foreign key or CHECK), by its PostgreSQL
/// name (`spent_note_id_key`, `blocks_pkey`, `blocks_prev_hash_key`, …).
pub fn violated_constraint(e: &StoreError) -> Option<String> {
    match e {
        StoreError::Postgres(e) => e
            .as_db_error()
            .and_then(|d| d.constraint())
            .map(str::to_string),
        _ => None,
    }
}
