//! End-to-end tests of the central-bank node: the real `dfc-bank` binary on a loopback port with
//! a real SQLite ledger, wallets made in-test from `dfc_core`.

use std::sync::Arc;

use dfc_client::{BankClient, ClientError};
use dfc_core::api::{OperatorResponse, Receipt, SupplySummary, TxStatus};
use dfc_core::{build, Amount, NetworkParams, Payment, Transaction, TxKind};
use dfc_tests::{
    amount, dfc_bank, dfc_bank_ok, init_sandbox, init_tracing, sandbox_operator, Node, TestWallet,
};

fn code(r: Result<impl std::fmt::Debug, ClientError>) -> String {
    match r {
        Err(e) => e
            .code()
            .map(str::to_string)
            .unwrap_or_else(|| format!("not a rejection: {e}")),
        Ok(v) => panic!("expected a rejection, got {v:?}"),
    }
}

fn audit_passes(data: &std::path::Path) -> serde_json::Value {
    let out = dfc_bank(&["audit", "--data", data.to_str().expect("utf-8"), "--json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
    assert!(out.status.success(), "audit failed: {report}");
    assert_eq!(report["pass"], true, "{report}");
    report
}

async fn register(client: &BankClient, w: &TestWallet) {
    let info = client
        .register(&w.register_request())
        .await
        .expect("registration");
    assert_eq!(info.address, w.address);
}

/// Issues `outputs` notes of `each` to `w` with operators 0 and 1; returns the receipt.
async fn issue(
    node: &Node,
    params: &NetworkParams,
    w: &TestWallet,
    each: Amount,
    outputs: usize,
) -> Receipt {
    dfc_tests::issue(
        &node.client(),
        node.data_dir(),
        params,
        w,
        each.units(),
        outputs,
    )
    .await
}

async fn snapshot(client: &BankClient) -> SupplySummary {
    client.supply().await.expect("supply")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuance_payment_redemption_freeze_and_audit() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let data_s = data.to_str().expect("utf-8").to_string();
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let url = node.url().to_string();
    assert_eq!(client.params().await.expect("params"), params);

    tracing::info!("--- wallets register; registering again returns the same record");
    let mut alice = TestWallet::new("alice", &params);
    let mut bob = TestWallet::new("bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    let again = client
        .register(&alice.register_request())
        .await
        .expect("re-registration");
    assert_eq!(
        again,
        client.wallet(&alice.address.spend).await.expect("wallet")
    );
    assert_eq!(again.tier, 0);

    tracing::info!("--- issuance needs 2 of 3 operators: one proposal does not issue");
    let out = dfc_bank_ok(&[
        "issue",
        "propose",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "0",
        "--to",
        &alice.address.to_string(),
        "--amount",
        "100.00",
        "--json",
    ]);
    let proposed: OperatorResponse = serde_json::from_str(&out).expect("propose --json");
    let proposal = proposed.proposal.expect("a proposal");
    assert_eq!(proposal.approvals, vec![0]);
    assert!(proposed.receipt.is_none());
    assert_eq!(
        snapshot(&client).await.supply,
        Amount::ZERO,
        "one approval must not issue"
    );
    assert_eq!(
        client.tx_status(&proposal.txid).await.expect("status"),
        TxStatus::AwaitingApproval {
            approvals: 1,
            threshold: 2
        }
    );
    tracing::info!("--- the proposer approving again still counts once");
    let op0 = sandbox_operator(&data, &params, 0);
    let r = client
        .operator(&op0.approve(&params, &proposal.txid))
        .await
        .expect("repeat approval");
    assert!(r.receipt.is_none());
    assert_eq!(r.proposal.expect("proposal").approvals, vec![0]);
    assert_eq!(snapshot(&client).await.supply, Amount::ZERO);
    tracing::info!("--- a replayed operator request is refused");
    let req = op0.approve(&params, &proposal.txid);
    client.operator(&req).await.expect("first use of the nonce");
    assert_eq!(code(client.operator(&req).await), "replayed_nonce");

    tracing::info!("--- the second operator approves with the CLI: the issuance commits");
    let out = dfc_bank_ok(&[
        "issue",
        "approve",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "1",
        &proposal.txid.to_hex(),
        "--json",
    ]);
    let approved: OperatorResponse = serde_json::from_str(&out).expect("approve --json");
    let receipt = approved.receipt.expect("threshold reached: committed");
    assert!(receipt.verify(&params.node_key));
    assert_eq!(
        client.tx_status(&proposal.txid).await.expect("status"),
        TxStatus::Committed { receipt }
    );
    let s = snapshot(&client).await;
    assert_eq!(s.supply, amount("100.00", &params));
    assert_eq!(s.notes_outstanding, 1);

    tracing::info!("--- alice pays bob 30.00; resubmitting returns the same receipt");
    alice.sync(&client).await;
    assert_eq!(alice.balance(), amount("100.00", &params));
    let pay = alice
        .pay(&params, &bob.address, amount("30.00", &params))
        .expect("payment builds");
    let r1 = client.submit(&pay).await.expect("payment commits");
    assert!(r1.verify(&params.node_key));
    let r2 = client.submit(&pay).await.expect("resubmission");
    assert_eq!(r1, r2);
    let spent = client
        .note_status(&pay.inputs[0])
        .await
        .expect("note status");
    assert!(spent.spent && spent.spent_height == Some(r1.height));
    alice.sync(&client).await;
    bob.sync(&client).await;
    assert_eq!(alice.balance(), amount("70.00", &params));
    assert_eq!(bob.balance(), amount("30.00", &params));
    assert_eq!(
        snapshot(&client).await.supply,
        amount("100.00", &params),
        "payments keep the supply"
    );

    tracing::info!(
        "--- a redemption over alice's tier limit is refused; within it, it waits for 2 operators"
    );
    let too_much = alice
        .redeem(&params, amount("60.00", &params))
        .expect("builds");
    assert_eq!(
        code(client.request_redemption(&too_much).await),
        "over_tier_limit"
    );
    let redeem = alice
        .redeem(&params, amount("20.00", &params))
        .expect("redeem builds");
    let p = client
        .request_redemption(&redeem)
        .await
        .expect("redemption requested");
    assert!(p.approvals.is_empty());
    let out = dfc_bank_ok(&[
        "redeem",
        "approve",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "2",
        &p.txid.to_hex(),
        "--json",
    ]);
    let one: OperatorResponse = serde_json::from_str(&out).expect("json");
    assert!(one.receipt.is_none());
    assert_eq!(snapshot(&client).await.supply, amount("100.00", &params));
    let out = dfc_bank_ok(&[
        "redeem",
        "approve",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "0",
        &p.txid.to_hex(),
        "--json",
    ]);
    let two: OperatorResponse = serde_json::from_str(&out).expect("json");
    assert!(two.receipt.is_some());
    assert_eq!(
        snapshot(&client).await.supply,
        amount("80.00", &params),
        "redemption lowers the supply"
    );
    alice.sync(&client).await;
    assert_eq!(alice.balance(), amount("50.00", &params));

    tracing::info!("--- a frozen wallet's payment is refused and changes nothing");
    dfc_bank_ok(&[
        "wallet",
        "freeze",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "1",
        &hex::encode(bob.address.spend.to_bytes()),
        "--reason",
        "test",
        "--json",
    ]);
    assert!(
        client
            .wallet(&bob.address.spend)
            .await
            .expect("wallet")
            .frozen
    );
    let before = snapshot(&client).await;
    let frozen_pay = bob
        .pay(&params, &alice.address, amount("10.00", &params))
        .expect("builds");
    assert_eq!(code(client.submit(&frozen_pay).await), "frozen_wallet");
    assert_eq!(snapshot(&client).await, before);
    assert!(
        !client
            .note_status(&frozen_pay.inputs[0])
            .await
            .expect("status")
            .spent
    );
    dfc_bank_ok(&[
        "wallet",
        "unfreeze",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "1",
        &hex::encode(bob.address.spend.to_bytes()),
        "--json",
    ]);
    client
        .submit(&frozen_pay)
        .await
        .expect("unfrozen, the payment commits");
    dfc_bank_ok(&[
        "wallet",
        "set-tier",
        "--bank",
        &url,
        "--data",
        &data_s,
        "--operator",
        "2",
        &hex::encode(bob.address.spend.to_bytes()),
        "1",
    ]);
    assert_eq!(
        client
            .wallet(&bob.address.spend)
            .await
            .expect("wallet")
            .tier,
        1
    );

    tracing::info!("--- the audit log chains every operator action; the offline audit passes");
    let log = client.audit_log(1).await.expect("audit log");
    for pair in log.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for action in [
        "register",
        "propose",
        "approve",
        "commit",
        "redemption_requested",
        "freeze",
        "unfreeze",
        "set_tier",
    ] {
        assert!(
            log.iter().any(|e| e.action == action),
            "no {action} in the audit log"
        );
    }
    let cp = client.checkpoint().await.expect("checkpoint");
    assert!(cp.verify(&params.node_key));
    assert_eq!(cp.height, snapshot(&client).await.height);
    let report = audit_passes(&data);
    assert_eq!(report["supply_units"], 8000);
    assert_eq!(
        report["notes_outstanding"],
        snapshot(&client).await.notes_outstanding
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_submissions_change_nothing() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let mut alice = TestWallet::new("alice", &params);
    let bob = TestWallet::new("bob", &params);
    let stranger = TestWallet::new("stranger", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    issue(&node, &params, &alice, amount("10.00", &params), 1).await;
    alice.sync(&client).await;
    let before = snapshot(&client).await;
    let good = alice
        .pay(&params, &bob.address, amount("4.00", &params))
        .expect("builds");

    tracing::info!("--- a tampered output: the owner signature no longer covers the txid");
    let mut tampered = good.clone();
    tampered.outputs[0].encrypted_opening[0] ^= 1;
    assert_eq!(code(client.submit(&tampered).await), "bad_owner_signature");
    tracing::info!("--- swapped range proofs between two transactions");
    let other = alice
        .pay(&params, &bob.address, amount("5.00", &params))
        .expect("builds");
    let mut swapped = good.clone();
    swapped.balance_proof = other.balance_proof;
    assert_eq!(code(client.submit(&swapped).await), "unbalanced");
    tracing::info!("--- a payment to an unregistered wallet");
    let to_stranger = alice
        .pay(&params, &stranger.address, amount("1.00", &params))
        .expect("builds");
    assert_eq!(code(client.submit(&to_stranger).await), "unknown_wallet");
    tracing::info!("--- issuance cannot bypass the operators");
    let self_issue = build(
        &params,
        TxKind::Issue,
        amount("1000.00", &params),
        &[],
        &[Payment {
            to: alice.address,
            amount: amount("1000.00", &params),
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )
    .expect("builds")
    .tx;
    assert_eq!(code(client.submit(&self_issue).await), "kind_not_allowed");
    tracing::info!("--- malformed and oversized bodies get JSON errors");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v1/transactions", node.url()))
        .header("content-type", "application/json")
        .body("{\"tx\": \"zz\"}")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 400);
    let err: dfc_core::api::ApiError = resp.json().await.expect("ApiError JSON");
    assert_eq!(err.code, "malformed_json");
    let resp = http
        .post(format!("{}/v1/transactions", node.url()))
        .header("content-type", "application/json")
        .body(format!("{{\"tx\": \"{}\"}}", "00".repeat(40_000)))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 413);
    let err: dfc_core::api::ApiError = resp.json().await.expect("ApiError JSON");
    assert_eq!(err.code, "body_too_large");

    tracing::info!("--- nothing changed: same supply, tip and unspent input");
    assert_eq!(snapshot(&client).await, before);
    assert!(
        !client
            .note_status(&good.inputs[0])
            .await
            .expect("status")
            .spent
    );
    tracing::info!("--- the untouched payment still commits");
    client.submit(&good).await.expect("commits");
    audit_passes(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_double_spend_from_many_clients_commits_once() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let mut alice = TestWallet::new("alice", &params);
    let bob = TestWallet::new("bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    issue(&node, &params, &alice, amount("10.00", &params), 2).await;
    alice.sync(&client).await;

    tracing::info!("--- 24 different transactions spend the same note, from 24 clients at once");
    let spends: Vec<Transaction> = (0..24)
        .map(|_| alice.pay_note(&params, 0, &bob.address).expect("builds"))
        .collect();
    let mut tasks = Vec::new();
    for tx in spends {
        let c = BankClient::new(node.url());
        tasks.push(tokio::spawn(async move { c.submit(&tx).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Some("input_spent"), "{e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one spend of the note commits");

    tracing::info!("--- the same transaction from 16 clients at once: one commit, one receipt");
    let same = Arc::new(alice.pay_note(&params, 1, &bob.address).expect("builds"));
    let before = snapshot(&client).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = BankClient::new(node.url());
        let tx = same.clone();
        tasks.push(tokio::spawn(async move { c.submit(&tx).await }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.push(t.await.expect("task").expect("duplicates get the receipt"));
    }
    assert!(receipts.windows(2).all(|w| w[0] == w[1]));
    let after = snapshot(&client).await;
    assert_eq!(after.tx_count, before.tx_count + 1);
    audit_passes(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_payments_loses_no_receipt() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let mut node = Node::start(&data);
    let client = node.client();
    let mut alice = TestWallet::new("alice", &params);
    let bob = TestWallet::new("bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    issue(&node, &params, &alice, amount("1.00", &params), 16).await;
    issue(&node, &params, &alice, amount("1.00", &params), 16).await;
    alice.sync(&client).await;
    assert_eq!(alice.notes.len(), 32);
    let payments: Vec<Transaction> = (0..alice.notes.len())
        .map(|i| alice.pay_note(&params, i, &bob.address).expect("builds"))
        .collect();

    tracing::info!("--- 32 payments in flight; SIGKILL once the first receipt is back");
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for tx in payments.clone() {
        let c = BankClient::new(node.url());
        let done = done_tx.clone();
        tasks.push(tokio::spawn(async move {
            let r = c.submit(&tx).await;
            if r.is_ok() {
                let _ = done.send(());
            }
            (tx.id(), r)
        }));
    }
    done_rx.recv().await.expect("a first receipt");
    node.kill_hard();
    let mut receipts = Vec::new();
    for t in tasks {
        let (txid, r) = t.await.expect("task");
        if let Ok(r) = r {
            assert_eq!(r.txid, txid);
            receipts.push(r);
        }
    }
    tracing::info!(
        receipts = receipts.len(),
        "receipts returned before the kill"
    );
    assert!(!receipts.is_empty());

    tracing::info!("--- after restart every receipt returned is in the ledger");
    node.restart();
    let client = node.client();
    for r in &receipts {
        assert!(r.verify(&params.node_key));
        assert_eq!(
            client.tx_status(&r.txid).await.expect("status"),
            TxStatus::Committed { receipt: r.clone() },
            "receipt {} lost",
            r.txid
        );
    }
    tracing::info!(
        "--- resubmitting everything: committed ones return their receipt, the rest commit now"
    );
    for tx in &payments {
        let r = client.submit(tx).await.expect("resubmission");
        if let Some(prev) = receipts.iter().find(|p| p.txid == r.txid) {
            assert_eq!(prev, &r);
        }
    }
    let s = snapshot(&client).await;
    assert_eq!(s.supply, amount("32.00", &params));
    assert_eq!(s.notes_outstanding, 32);
    audit_passes(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_ledger_is_refused_by_serve_and_audit() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let data_s = data.to_str().expect("utf-8").to_string();
    let params = init_sandbox(&data);
    let mut node = Node::start(&data);
    let client = node.client();
    let alice = TestWallet::new("alice", &params);
    register(&client, &alice).await;
    issue(&node, &params, &alice, amount("5.00", &params), 1).await;
    node.kill_hard();
    audit_passes(&data);

    tracing::info!("--- raise the supply recorded in block 1 behind the node's back");
    let conn = rusqlite::Connection::open(data.join("ledger.sqlite")).expect("open");
    let header: String = conn
        .query_row("SELECT header FROM blocks WHERE height = 1", [], |r| {
            r.get(0)
        })
        .expect("block 1");
    let forged = header.replace("\"supply\":500", "\"supply\":50000");
    assert_ne!(forged, header);
    conn.execute("UPDATE blocks SET header = ?1 WHERE height = 1", [forged])
        .expect("tamper");
    drop(conn);

    let out = dfc_bank(&["serve", "--data", &data_s, "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success(), "serve must refuse a tampered ledger");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("block 1"),
        "serve must name the bad block: {stderr}"
    );
    let out = dfc_bank(&["audit", "--data", &data_s]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL") && stdout.contains("block 1"),
        "{stdout}"
    );
}

/// A rough throughput figure, not a check: `cargo test -p dfc-tests --test node -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement, run by hand"]
async fn measure_payments_per_second() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let mut alice = TestWallet::new("alice", &params);
    let bob = TestWallet::new("bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    for _ in 0..16 {
        issue(&node, &params, &alice, amount("1.00", &params), 16).await;
    }
    alice.sync(&client).await;
    let payments: Vec<Transaction> = (0..alice.notes.len())
        .map(|i| alice.pay_note(&params, i, &bob.address).expect("builds"))
        .collect();
    let n = payments.len();
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for tx in payments {
        let c = BankClient::new(node.url());
        tasks.push(tokio::spawn(async move { c.submit(&tx).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("commits");
    }
    let secs = start.elapsed().as_secs_f64();
    let s = snapshot(&client).await;
    tracing::info!(
        payments = n,
        secs,
        per_second = n as f64 / secs,
        blocks = s.height,
        "throughput"
    );
    audit_passes(&data);
}
