//! The PostgreSQL schema and its migrations.
//!
//! The same tables as the SQLite ledger for the records the block path writes, with the same
//! UNIQUE constraints, plus what a database shared by several sealers needs:
//! - `blocks.height` is the primary key, so two sealers can never both commit a block at one
//!   height: the second commit fails whole;
//! - `blocks.prev_hash` references `blocks.hash` and is UNIQUE, so a block can only extend a
//!   stored block and no block can have two children: the chain cannot fork even if two nodes
//!   believed themselves leader at once.
//!
//! Migrations run in one transaction under a transaction-scoped advisory lock, so nodes that
//! start together apply each migration once; `dfc_schema` records the versions applied.

use postgres::GenericClient;

use crate::store::StoreResult;

/// Advisory lock key of schema migrations ("dfc-mig" in ASCII).
const MIGRATION_LOCK: i64 = 0x0064_6663_2d6d_6967;

/// Version 1: blocks, transactions, notes, the spent set, registry, holdings, the audit-log
/// head and the light-sync owner index.
const V1: &str = "
CREATE TABLE blocks (
    height BIGINT PRIMARY KEY CHECK (height >= 0),
    hash BYTEA NOT NULL UNIQUE,
    prev_hash BYTEA UNIQUE REFERENCES blocks (hash),
    header TEXT NOT NULL,
    signature BYTEA NOT NULL,
    CHECK ((height = 0) = (prev_hash IS NULL))
);
CREATE TABLE txs (
    txid BYTEA NOT NULL UNIQUE,
    height BIGINT NOT NULL REFERENCES blocks (height),
    idx BIGINT NOT NULL,
    kind TEXT NOT NULL,
    public_amount BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    receipt_sig BYTEA NOT NULL,
    UNIQUE (height, idx)
);
CREATE TABLE notes (
    id BYTEA NOT NULL UNIQUE,
    commitment BYTEA NOT NULL UNIQUE,
    owner BYTEA NOT NULL,
    created_height BIGINT NOT NULL REFERENCES blocks (height),
    txid BYTEA NOT NULL,
    output_index BIGINT NOT NULL,
    output TEXT NOT NULL,
    pending BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX notes_owner ON notes (owner);
CREATE TABLE spent (
    note_id BYTEA NOT NULL UNIQUE REFERENCES notes (id),
    txid BYTEA NOT NULL REFERENCES txs (txid),
    height BIGINT NOT NULL REFERENCES blocks (height)
);
CREATE TABLE wallets (
    seq BIGSERIAL PRIMARY KEY,
    spend_key BYTEA NOT NULL UNIQUE,
    address TEXT NOT NULL,
    label TEXT NOT NULL,
    tier BIGINT NOT NULL,
    frozen BOOLEAN NOT NULL,
    flags BIGINT NOT NULL,
    registered_ms BIGINT NOT NULL,
    registry_version BIGINT NOT NULL DEFAULT 0,
    freeze_reason TEXT
);
CREATE TABLE purses (
    serial BIGINT PRIMARY KEY,
    purse_key BYTEA NOT NULL,
    wallet BYTEA NOT NULL,
    cert TEXT NOT NULL,
    issued_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX purses_key ON purses (purse_key);
CREATE TABLE holdings (
    account BYTEA NOT NULL UNIQUE,
    balance BYTEA NOT NULL,
    period BIGINT NOT NULL,
    inflow BYTEA NOT NULL
);
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    operator BIGINT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE TABLE light_index (
    owner BYTEA NOT NULL,
    height BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    UNIQUE (owner, height, idx)
);
";

/// The migrations, in order; version `i + 1` is `MIGRATIONS[i]` (2: the hand-off queue of
/// [`super::lease`]; 3: the replication log of several nodes, [`super::cluster`]; 4: the approved
/// parameter changes, [`super::governance`]).
pub const MIGRATIONS: &[&str] = &[
    V1,
    super::lease::SCHEMA_V2_HANDOFF,
    super::cluster::SCHEMA_V3_CLUSTER,
    super::governance::SCHEMA_V4_PARAM_CHANGES,
];

/// Applies the migrations not yet applied, in one transaction, under the migration lock.
/// Returns the schema version now in force.
pub fn migrate(client: &mut postgres::Client) -> StoreResult<i32> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS dfc_schema (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
    )?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM dfc_schema", &[])?
        .get(0);
    let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if current > known {
        return Err(crate::error::StoreError::corrupt(
            "dfc_schema",
            format!("the database is at schema version {current}, this node knows {known}"),
        ));
    }
    let done = usize::try_from(current).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO dfc_schema (version, applied_ms) VALUES ($1, (extract(epoch from now()) * 1000)::BIGINT)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(known)
}

/// The schema version of a database (0 when never migrated).
pub fn version(client: &mut impl GenericClient) -> StoreResult<i32> {
    let exists: bool = client
        .query_one("SELECT to_regclass('dfc_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM dfc_schema", &[])?
        .get(0))
}
