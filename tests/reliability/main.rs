//! Reliability and security suite of the node: crashes, injected storage faults, concurrency,
//! hostile input, tampering and a model-checked ledger state machine. See `docs/reliability.md`
//! for the guarantee each module checks and the long-run commands.
//!
//! Knobs (environment): `DFC_CRASH_ITERATIONS` (crash loop, default 3), `DFC_CRASH_SEED`,
//! `DFC_MODEL_STEPS` (in-memory state machine, default 300), `DFC_MODEL_NODE_STEPS` (the same
//! against the real node, default 40), `DFC_MODEL_SEED`.

mod concurrency;
mod crash;
mod faults;
mod hardening;
mod health;
mod hostile;
mod logs;
mod model;
mod stop;
mod submission;
mod tamper;
mod tls;

use std::path::Path;

use dfc_client::{BankClient, ClientError};
use dfc_core::NetworkParams;
use dfc_tests::{dfc_bank, TestWallet};

/// A numeric knob from the environment.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The error code of a rejection; panics on success or a transport error.
pub fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(e) => e
            .code()
            .map(str::to_string)
            .unwrap_or_else(|| format!("not a rejection: {e}")),
        Ok(v) => panic!("expected a rejection, got {v:?}"),
    }
}

/// Runs `dfc-bank audit --json` and asserts it passes; returns the report.
pub fn audit_passes(data: &Path) -> serde_json::Value {
    let out = dfc_bank(&["audit", "--data", data.to_str().expect("utf-8"), "--json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
    assert!(out.status.success(), "audit failed: {report}");
    assert_eq!(report["pass"], true, "{report}");
    report
}

/// Registers `w`.
pub async fn register(client: &BankClient, w: &TestWallet) {
    client
        .register(&w.register_request())
        .await
        .expect("registration");
}

pub use dfc_tests::issue;

/// Registers a wallet for each of `names` and issues each 16 notes of 1.00 (sandbox operators 0
/// and 1 of `data`).
pub async fn sixteen_notes_each(
    client: &BankClient,
    data: &Path,
    params: &dfc_core::NetworkParams,
    names: &[String],
) {
    for n in names {
        let w = dfc_tests::TestWallet::new(n, params);
        register(client, &w).await;
        issue(client, data, params, &w, 100, 16).await;
    }
}

/// Every row of every table of the ledger, read from the SQLite file (WAL readers see the last
/// commit): equal dumps mean nothing at all changed. `skip` names tables left out.
pub fn ledger_rows(data: &Path, skip: &[&str]) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("ledger.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("ledger opens");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("table names");
    let mut rows = Vec::new();
    for t in tables.iter().filter(|t| !skip.contains(&t.as_str())) {
        let mut st = conn
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))
            .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{t}\"")))
            .expect("select");
        let n = st.column_count();
        let mut q = st.query([]).expect("query");
        while let Some(row) = q.next().expect("row") {
            let cols: Vec<String> = (0..n)
                .map(|i| format!("{:?}", row.get_ref(i).expect("column")))
                .collect();
            rows.push(format!("{t}: {}", cols.join(" | ")));
        }
    }
    rows
}

/// Checks straight from the SQLite file that no note is both spent and unspent: every spent row
/// names a note that exists, no note is spent twice, and unspent = notes − spent.
pub fn spent_set_consistent(data: &Path) -> (u64, u64) {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("ledger.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("ledger opens");
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM spent s LEFT JOIN notes n ON n.id = s.note_id WHERE n.id IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(orphans, 0, "a spent row names a note that does not exist");
    let twice: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT note_id FROM spent GROUP BY note_id HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(twice, 0, "a note is spent twice");
    let notes: i64 = conn
        .query_row("SELECT COUNT(*) FROM notes", [], |r| r.get(0))
        .expect("query");
    let spent: i64 = conn
        .query_row("SELECT COUNT(*) FROM spent", [], |r| r.get(0))
        .expect("query");
    (
        u64::try_from(notes).expect("count"),
        u64::try_from(spent).expect("count"),
    )
}

/// Fresh copies of `wallets` synced from genesis: their balances must add up to the supply and
/// none of their notes may be spent on the node.
pub async fn resync_and_check_supply(
    client: &BankClient,
    params: &NetworkParams,
    names: &[String],
) -> Vec<TestWallet> {
    let mut fresh: Vec<TestWallet> = names.iter().map(|n| TestWallet::new(n, params)).collect();
    let mut total = 0u64;
    let mut notes = 0u64;
    for w in &mut fresh {
        w.sync(client).await;
        total += w.balance().units() + w.held_balance().units();
        notes += (w.notes.len() + w.held.len()) as u64;
        for (id, _) in w.notes.iter().chain(&w.held) {
            let st = client.note_status(id).await.expect("note status");
            assert!(
                st.exists && !st.spent,
                "{}: note {id} is in the wallet but spent",
                w.name
            );
        }
    }
    let s = client.supply().await.expect("supply");
    assert_eq!(
        total,
        s.supply.units(),
        "wallet balances must add up to the supply"
    );
    assert_eq!(
        notes, s.notes_outstanding,
        "wallets must hold every unspent note"
    );
    fresh
}
