//! Tampering on disk: for each kind of record (a transaction in a block, a block signature, a
//! note, the spent set, the audit log) an edit made with SQLite behind the node's back makes
//! `serve` halt (exit non-zero, saying why) and `dfc-bank audit` fail naming the first bad
//! record. The block header case is in `tests/node` (`tampered_ledger_is_refused_by_serve_and_audit`).
//!
//! `serve` checks at start only what does not grow with the ledger (the signed summary, the tip,
//! the audit-log head); the table digests are checked in the background after it answers
//! (`central-bank/src/table_check.rs`). So most edits are caught *after* the node has answered:
//! the test shows it announced its address first, then halted, and that the next start (the
//! summary withdrawn by the halt) refuses before serving.

use std::path::Path;

use dfc_central_bank::server;
use dfc_client::BankClient;
use dfc_tests::{dfc_bank, init_sandbox, init_tracing, Node, TestWallet};

use crate::{audit_passes, issue, register};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tampered_record_is_refused_and_named() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let clean = tmp.path().join("clean");
    let params = init_sandbox(&clean);
    {
        let mut node = Node::start(&clean);
        let client = node.client();
        let mut alice = TestWallet::new("tamper-alice", &params);
        let bob = TestWallet::new("tamper-bob", &params);
        register(&client, &alice).await;
        register(&client, &bob).await;
        issue(&client, &clean, &params, &alice, 300, 2).await;
        alice.sync(&client).await;
        let pay = alice.pay_note(&params, 0, &bob.address).expect("builds");
        client.submit(&pay).await.expect("payment at height 2");
        node.kill_hard();
    }
    audit_passes(&clean);

    // Every block header anchors the newest audit-log entry, so deleting entries up to the last
    // block is detected; entries appended after the last block have no anchor yet.
    // (what, edit, the record the audit names, whether serve catches it before answering)
    let cases: [(&str, &str, &str, bool); 8] = [
        (
            "a transaction's bytes in block 2",
            "UPDATE txs SET bytes = CAST(substr(bytes, 1, 200) || x'ff' || substr(bytes, 202) AS BLOB) WHERE height = 2",
            "block 2",
            false,
        ),
        (
            "the receipt signature of block 2's payment (block 1's put there)",
            "UPDATE txs SET receipt_sig = (SELECT receipt_sig FROM txs WHERE height = 1 LIMIT 1) WHERE height = 2",
            "block 2: transaction 0: receipt signature does not verify",
            false,
        ),
        (
            "the node signature of block 1 (block 2's put there)",
            "UPDATE blocks SET signature = (SELECT signature FROM blocks WHERE height = 2) WHERE height = 1",
            "block 1",
            false,
        ),
        (
            "a note's owner",
            "UPDATE notes SET owner = (SELECT owner FROM notes ORDER BY rowid DESC LIMIT 1) \
             WHERE rowid = (SELECT MIN(rowid) FROM notes)",
            "notes",
            false,
        ),
        (
            "a spent note made unspent",
            "DELETE FROM spent",
            "spent",
            false,
        ),
        (
            "an audit-log entry's detail",
            "UPDATE audit_log SET detail = '{}' WHERE seq = 2",
            "audit log entry 2",
            false,
        ),
        (
            "the newest audit-log entries, anchored by block 2",
            "DELETE FROM audit_log WHERE seq >= (SELECT json_extract(header, '$.audit_seq') FROM blocks WHERE height = 2)",
            "deleted",
            true,
        ),
        (
            "a wallet's tier in the registry",
            "UPDATE wallets SET tier = 2 WHERE rowid = (SELECT MIN(rowid) FROM wallets)",
            "wallets",
            false,
        ),
    ];
    let mut refused = 0;
    for (i, (what, sql, names, before_serving)) in cases.iter().enumerate() {
        tracing::info!(what, "--- tamper");
        let dir = tmp.path().join(format!("case{i}"));
        copy_dir(&clean, &dir);
        let conn = rusqlite::Connection::open(dir.join("ledger.sqlite")).expect("open");
        let changed = conn.execute(sql, []).expect("tamper");
        assert!(changed > 0, "{what}: the edit changed a row");
        drop(conn);
        let d = dir.to_str().expect("utf-8");
        let out = dfc_bank(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: serve must refuse: {stderr}");
        assert!(
            stderr.contains("integrity") || stderr.contains("corrupt"),
            "{what}: serve says why: {stderr}"
        );
        let served = String::from_utf8_lossy(&out.stdout).contains("listening on");
        if *before_serving {
            assert!(!served, "{what}: refused before answering: {stderr}");
        } else {
            assert!(
                served && stderr.contains("background check"),
                "{what}: answered, then the background table check halted it: {stderr}"
            );
            // The halt withdrew the summary: the next start replays and refuses before serving.
            let again = dfc_bank(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
            let again_err = String::from_utf8_lossy(&again.stderr);
            assert!(!again.status.success(), "{what}: a restart still refuses");
            assert!(
                !String::from_utf8_lossy(&again.stdout).contains("listening on"),
                "{what}: the restart refuses before answering: {again_err}"
            );
        }
        let out = dfc_bank(&["audit", "--data", d, "--json"]);
        assert!(!out.status.success(), "{what}: audit must fail");
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
        assert_eq!(report["pass"], false, "{what}");
        let error = report["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(names),
            "{what}: audit names the first bad record ({names}): {error}"
        );
        refused += 1;
    }
    assert_eq!(refused, cases.len());

    tracing::info!("--- in process: the node answers, the background check halts it");
    let dir = tmp.path().join("in-process");
    copy_dir(&clean, &dir);
    let conn = rusqlite::Connection::open(dir.join("ledger.sqlite")).expect("open");
    assert!(conn.execute("DELETE FROM spent", []).expect("tamper") > 0);
    drop(conn);
    let started = server::start(&dir).expect("answers before the table check");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(started.state, listener, async move {
        let _ = stopped.await;
    }));
    // A write sent at once waits for the check (the sequencer writes nothing on unchecked
    // tables) and is refused when the check halts the node.
    let dave = TestWallet::new("tamper-dave", &params);
    let early = tokio::spawn({
        let (url, request) = (url.clone(), dave.register_request());
        async move { BankClient::new(&url).register(&request).await }
    });
    let found = started
        .table_check
        .await
        .expect("the background check reports the edit");
    let early = early.await.expect("join");
    assert!(
        early.is_err(),
        "a write sent before the check finished is not committed: {early:?}"
    );
    assert!(found.to_string().contains("spent"), "{found}");
    let health = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 503, "halted");
    let carol = TestWallet::new("tamper-carol", &params);
    let refused = BankClient::new(&url)
        .register(&carol.register_request())
        .await
        .expect_err("writes are refused");
    assert!(
        matches!(
            &refused,
            dfc_client::ClientError::Server { status: 503, .. }
        ),
        "503 node_halted: {refused}"
    );
    let _ = stop.send(());
    serving.await.expect("server task").expect("server io");
    let seq = started.sequencer;
    let ended = tokio::task::spawn_blocking(move || seq.join().expect("no panic"))
        .await
        .expect("join");
    // Nothing was written after the edit: the registration never reached the ledger.
    let wallets = |d: &Path| -> i64 {
        rusqlite::Connection::open(d.join("ledger.sqlite"))
            .expect("open")
            .query_row("SELECT COUNT(*) FROM wallets", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(wallets(&dir), wallets(&clean));
    tracing::info!(?ended, "sequencer ended");
    audit_passes(&clean);
}
