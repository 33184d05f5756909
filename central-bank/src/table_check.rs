//! The check of the keyed table digests against the signed summary, run by `serve` in the
//! background after it answers (or before, with `--check-tables-first`).
//!
//! # Why in the background
//! Finding an arbitrary edit of a stored row needs that row read: a check that detects every
//! edit made while the node was stopped is linear in the rows, whatever its per-row cost. The
//! start-up path ([`crate::summary::startup_check`]) therefore does only what does not grow with
//! the history (the summary's signature, that it describes the stored tip, the audit-log head),
//! and `serve` answers at once; this check then hashes every row of every covered table and
//! compares with the signed digests.
//!
//! # Consistency while the node writes
//! Each table is checked inside one SQLite read transaction that also reads `ledger_summary`.
//! The node writes a table and the summary that signs its digest in the same transaction, so
//! every snapshot holds a summary that describes exactly the rows it sees: the check needs no
//! pause of the writer. An edit made while the node was stopped stays visible to it even after
//! the node writes the same row again: the triggers subtract the hash of the row they find (the
//! edited one) from the signed value, so the difference between the signed digest and the rows
//! remains.
//!
//! # Writes wait for it
//! The node answers reads and accepts submissions at once, but its sequencer begins no write
//! transaction until the check has passed ([`WriteGate`]): nothing is committed on a table that
//! has not been checked, so an edit made while the node was stopped (a deleted `spent` row, a
//! changed note) cannot be spent from. Submissions queue meanwhile, and the queue's bound sheds
//! the excess with 503 as usual.
//!
//! # What a failure does
//! The caller marks the node halted: the API refuses every write with 503 `node_halted`,
//! `/healthz` says `halted`, the sequencer refuses to begin another write transaction, and
//! `dfc-bank serve` exits non-zero after withdrawing the summary ([`withdraw_summary`]), so the
//! next start runs the full replay before it serves and names the first bad record.

use std::path::Path;
use std::time::Instant;

use dfc_core::{NetworkParams, PublicKey};
use rusqlite::Connection;

use crate::audit::IntegrityError;
use crate::error::StoreError;
use crate::store;
use crate::summary::{self, DigestKey, TABLES};

/// Where the sequencer waits before its first write until the background check has passed or
/// halted the node (then the sequencer's halted check refuses the write).
#[derive(Debug)]
pub struct WriteGate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

impl WriteGate {
    /// A gate that is open (no background check, or the tables were checked before serving).
    pub fn opened() -> Self {
        WriteGate {
            open: std::sync::Mutex::new(true),
            opened: std::sync::Condvar::new(),
        }
    }

    /// A gate that stays closed until [`WriteGate::open`].
    pub fn closed() -> Self {
        WriteGate {
            open: std::sync::Mutex::new(false),
            opened: std::sync::Condvar::new(),
        }
    }

    /// Opens the gate: the check passed, or it failed and the node is already marked halted.
    pub fn open(&self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        *open = true;
        self.opened.notify_all();
    }

    /// Whether the gate is open.
    pub fn is_open(&self) -> bool {
        *self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until the gate is open.
    pub fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        while !*open {
            open = self.opened.wait(open).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The order of the check: the tables the next writes depend on (spent set, notes, registry,
/// holdings) first, the history (audit log, blocks, transactions) after.
const ORDER: &[&str] = &[
    "spent",
    "notes",
    "wallets",
    "holdings",
    "audit_log",
    "blocks",
    "txs",
];

/// What a passing check read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableCheckReport {
    /// Rows hashed, over all covered tables.
    pub rows: u64,
    /// Wall time of the check, ms.
    pub elapsed_ms: u64,
}

fn columns(table: &str) -> Result<&'static [&'static str], IntegrityError> {
    TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, c)| *c)
        .ok_or(IntegrityError::Table {
            table: "ledger_summary",
            reason: format!("no digest definition for {table}"),
        })
}

/// Checks `tables` on `conn`, each in its own read snapshot with the summary of that snapshot.
fn check_on(
    conn: &Connection,
    tables: &[&'static str],
    node_key: &PublicKey,
) -> Result<u64, IntegrityError> {
    let mut rows = 0;
    for table in tables {
        let cols = columns(table)?;
        let tx = conn.unchecked_transaction().map_err(StoreError::from)?;
        let signed = summary::load(&tx)?.ok_or(IntegrityError::Table {
            table: "ledger_summary",
            reason: "the signed summary was removed while the node ran".into(),
        })?;
        if !signed.verify(node_key) {
            return Err(IntegrityError::Table {
                table: "ledger_summary",
                reason: "the summary's signature is not the node's".into(),
            });
        }
        summary::check_table(&tx, &signed.summary, table, cols)?;
        rows += signed.summary.table(table).map_or(0, |t| t.rows);
        tx.finish().map_err(StoreError::from)?;
    }
    Ok(rows)
}

/// Recomputes every covered table's digest from its rows and compares it with the signed
/// summary, on two reader connections (the transactions on one, the other tables on the other).
/// Names the first table whose rows do not hash to the signed digest.
pub fn verify_tables(
    ledger: &Path,
    node_key: &PublicKey,
    digest: &DigestKey,
) -> Result<TableCheckReport, IntegrityError> {
    let started = Instant::now();
    let open = || -> Result<Connection, IntegrityError> {
        let conn = store::open_reader(ledger)?;
        summary::register_functions(&conn, digest)?;
        Ok(conn)
    };
    let (big, rest): (Vec<&'static str>, Vec<&'static str>) =
        ORDER.iter().copied().partition(|t| *t == "txs");
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| check_on(&open()?, &big, node_key));
        let here = open().and_then(|c| check_on(&c, &rest, node_key));
        let there = other.join().unwrap_or_else(|_| {
            Err(IntegrityError::Table {
                table: "txs",
                reason: "the check of this table panicked".into(),
            })
        });
        (here, there)
    });
    // The tables the next writes depend on are named first.
    let rows = a? + b?;
    Ok(TableCheckReport {
        rows,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// After a failed check: the full structural replay of the ledger (on a reader connection, from
/// the genesis parameters `params`), which names the first bad record. `None` if it finds nothing (the
/// table digest's finding then stands).
pub fn name_first_bad_record(ledger: &Path, params: &NetworkParams) -> Option<IntegrityError> {
    let conn = store::open_reader(ledger).ok()?;
    let tx = conn.unchecked_transaction().ok()?;
    crate::audit::verify_ledger(&tx, params, crate::audit::Depth::Structure).err()
}

/// Removes the signed summary, so that the next start of `serve` runs the full structural replay
/// before serving (and names the first bad record). Called after a failed table check, once the
/// node's writer has stopped.
pub fn withdraw_summary(ledger: &Path) -> Result<(), StoreError> {
    let conn = Connection::open(ledger)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute("DELETE FROM ledger_summary", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::{init, read_seed, InitOptions, LEDGER_FILE, NODE_KEY_FILE};
    use crate::summary::{seal, startup_check};
    use dfc_core::SigningKey;

    /// A fresh ledger started once as `serve` does (its summary signed), with one more audit
    /// entry written through the node's triggers.
    fn ledger() -> (tempfile::TempDir, std::path::PathBuf, PublicKey, DigestKey) {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = init(dir.path(), &InitOptions::default()).expect("init");
        let seed = read_seed(&dir.path().join(NODE_KEY_FILE)).expect("seed");
        let key = SigningKey::from_seed(&seed);
        let digest = DigestKey::from_seed(&seed);
        let path = dir.path().join(LEDGER_FILE);
        let conn = store::open_writer(&path).expect("writer");
        startup_check(&conn, &report.params, &key, &digest, false).expect("first start");
        store::append_audit(&conn, 7, Some(1), "freeze", "{}").expect("append");
        seal(&conn, &key).expect("seal");
        (dir, path, report.params.node_key, digest)
    }

    #[test]
    fn an_untouched_ledger_passes_and_every_row_is_counted() {
        let (_dir, path, node_key, digest) = ledger();
        let report = verify_tables(&path, &node_key, &digest).expect("passes");
        // Genesis block and its transaction rows, two audit entries, at least.
        assert!(report.rows >= 3, "{report:?}");
    }

    #[test]
    fn each_edited_table_is_named() {
        let cases = [
            (
                "UPDATE audit_log SET detail = 'x' WHERE seq = 1",
                "audit_log",
            ),
            ("DELETE FROM blocks", "blocks"),
            ("DELETE FROM audit_log WHERE seq = 2", "audit_log"),
        ];
        for (sql, table) in cases {
            let (_dir, path, node_key, digest) = ledger();
            Connection::open(&path)
                .expect("open")
                .execute(sql, [])
                .expect("tamper");
            match verify_tables(&path, &node_key, &digest) {
                Err(IntegrityError::Table { table: t, .. }) => assert_eq!(t, table, "{sql}"),
                other => panic!("{sql}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_wrong_key_or_a_withdrawn_summary_fails() {
        let (_dir, path, _node_key, digest) = ledger();
        let stranger = SigningKey::from_seed(&[9u8; 32]).public();
        assert!(verify_tables(&path, &stranger, &digest).is_err());
        withdraw_summary(&path).expect("withdraw");
        let conn = store::open_reader(&path).expect("reader");
        assert!(summary::load(&conn).expect("load").is_none());
    }
}
