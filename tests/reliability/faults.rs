//! Storage faults: an injected I/O error at each commit step of the sequencer (the `failpoints`
//! feature of `dfc-central-bank`, switched on for this test binary), a full disk, a read-only
//! database. The node must refuse new work with a clear error, acknowledge nothing it has not
//! committed, and come back intact when the fault clears and it restarts.
//!
//! The node runs in-process (`server::start_with` + `server::serve` on a loopback socket) so the
//! test can switch fail points with `fail::cfg`. Fail points are process-wide: this file holds
//! the only in-process node of the binary, and runs its scenarios one after another.

use std::path::Path;

use dfc_central_bank::datadir;
use dfc_central_bank::error::StoreError;
use dfc_central_bank::server::{self, NodeOptions};
use dfc_client::{BankClient, ClientError};
use dfc_core::api::{OperatorAction, TxStatus};
use dfc_core::{build, Amount, NetworkParams, Payment, TxKind};
use dfc_tests::{dfc_bank, init_sandbox, init_tracing, sandbox_operator, TestWallet};

use crate::{audit_passes, issue, register, resync_and_check_supply, spent_set_consistent};

/// The node's answer after a storage failure: 503 `node_halted` (the client keeps the status and
/// message of a 5xx), never a receipt.
fn halted<T: std::fmt::Debug>(r: Result<T, ClientError>) -> &'static str {
    match r {
        Err(ClientError::Server {
            status: 503,
            message,
        }) if message.contains("storage failure") => "node_halted",
        other => panic!("expected 503 node_halted, got {other:?}"),
    }
}

/// A node running inside the test process.
struct InProc {
    url: String,
    data: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    sequencer: Option<std::thread::JoinHandle<Result<(), StoreError>>>,
}

impl InProc {
    async fn start(data: &Path) -> InProc {
        let started = server::start_with(
            data,
            NodeOptions {
                verify_workers: 1,
                ..NodeOptions::default()
            },
        )
        .expect("the node starts on an intact ledger");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(started.state, listener, async move {
            let _ = rx.await;
        }));
        InProc {
            url,
            data: data.to_path_buf(),
            shutdown: Some(tx),
            server: Some(server),
            sequencer: Some(started.sequencer),
        }
    }

    /// A client that signs its reads with the sandbox's auditor key, as an auditor's would.
    fn client(&self) -> BankClient {
        let client = BankClient::new(&self.url);
        let params = datadir::load_params(&self.data).expect("the sandbox's parameters");
        let key = datadir::read_key(&datadir::auditor_key_path(&self.data, 0))
            .expect("the sandbox's auditor key");
        client.with_reader(&params, key)
    }

    /// Stops serving and returns how the sequencer ended.
    async fn stop(mut self) -> Result<(), StoreError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.expect("server task").expect("server io");
        }
        let seq = self.sequencer.take().expect("sequencer");
        tokio::task::spawn_blocking(move || seq.join().expect("the sequencer does not panic"))
            .await
            .expect("join")
    }
}

async fn health(url: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("healthz");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

/// After a fault: the node answers 503 `node_halted` to every write, and `/healthz` and
/// `/v1/supply` say halted.
async fn assert_halted(node: &InProc, params: &NetworkParams, alice: &TestWallet) {
    let (status, body) = health(&node.url).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "halted");
    let client = node.client();
    // The supply summary (what the console polls) says so too: its dashboard turns red.
    assert!(client.supply().await.expect("supply").halted);
    let other = alice
        .pay_note(params, alice.notes.len() - 1, &alice.address)
        .expect("builds");
    assert_eq!(halted(client.submit(&other).await), "node_halted");
    let carol = TestWallet::new("carol-during-fault", params);
    assert_eq!(
        halted(client.register(&carol.register_request()).await),
        "node_halted"
    );
}

async fn issue_proposal(
    client: &BankClient,
    data: &Path,
    params: &NetworkParams,
    to: &TestWallet,
) -> dfc_core::TxId {
    let built = build(
        params,
        TxKind::Issue,
        Amount::from_units(50).expect("small"),
        &[],
        &[Payment {
            to: to.address,
            amount: Amount::from_units(50).expect("small"),
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )
    .expect("builds");
    let openings = dfc_core::proposal::disclose(&built.openings);
    let tx = built.tx;
    let op0 = sandbox_operator(data, params, 0);
    let approval = op0.approval(&tx.id());
    client
        .operator(&op0.request(
            params,
            OperatorAction::Propose {
                tx: tx.clone(),
                approval,
                openings,
            },
        ))
        .await
        .expect("proposal");
    tx.id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_faults_acknowledge_nothing_uncommitted_and_recover() {
    init_tracing();
    let scenario = fail::FailScenario::setup();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let mut node = InProc::start(&data).await;
    let names = vec!["fault-alice".to_string(), "fault-bob".to_string()];
    let mut alice = TestWallet::new(&names[0], &params);
    let bob = TestWallet::new(&names[1], &params);
    {
        let client = node.client();
        register(&client, &alice).await;
        register(&client, &bob).await;
        for _ in 0..4 {
            issue(&client, &data, &params, &alice, 100, 16).await;
        }
    }

    for fp in [
        "seq::block::before_insert",
        "seq::block::before_commit",
        "seq::block::after_commit",
    ] {
        tracing::info!(fp, "--- an I/O error at this step of a block commit");
        let client = node.client();
        alice.sync(&client).await;
        let tx = alice.pay_note(&params, 0, &bob.address).expect("builds");
        fail::cfg(fp, "return").expect("fail point");
        assert_eq!(
            halted(client.submit(&tx).await),
            "node_halted",
            "{fp}: a failed commit must not be acknowledged"
        );
        assert_halted(&node, &params, &alice).await;
        fail::remove(fp);
        assert!(
            node.stop().await.is_err(),
            "{fp}: the sequencer reports the failure"
        );
        audit_passes(&data);

        tracing::info!(fp, "--- fault cleared, restart: the ledger is intact");
        node = InProc::start(&data).await;
        let client = node.client();
        let status = client.tx_status(&tx.id()).await.expect("status");
        let resubmitted = client.submit(&tx).await.expect("resubmission commits");
        if fp.ends_with("after_commit") {
            assert_eq!(
                status,
                TxStatus::Committed {
                    receipt: resubmitted.clone()
                },
                "{fp}: the block was durable before the failure"
            );
        } else {
            assert_eq!(status, TxStatus::Unknown, "{fp}: nothing was committed");
        }
        assert!(resubmitted.verify(&params.node_key));
        spent_set_consistent(&data);
        resync_and_check_supply(&client, &params, &names).await;
    }

    for fp in [
        "seq::operator::before_audit",
        "seq::operator::before_commit",
        "seq::operator::after_commit",
    ] {
        tracing::info!(
            fp,
            "--- an I/O error at this step of an approval that commits"
        );
        let client = node.client();
        let txid = issue_proposal(&client, &data, &params, &bob).await;
        let supply = client.supply().await.expect("supply").supply;
        fail::cfg(fp, "return").expect("fail point");
        let op1 = sandbox_operator(&data, &params, 1);
        assert_eq!(
            halted(client.operator(&op1.approve(&params, &txid)).await),
            "node_halted"
        );
        fail::remove(fp);
        assert!(node.stop().await.is_err());
        audit_passes(&data);
        node = InProc::start(&data).await;
        let client = node.client();
        let status = client.tx_status(&txid).await.expect("status");
        if fp.ends_with("after_commit") {
            assert!(
                matches!(status, TxStatus::Committed { .. }),
                "{fp}: {status:?}"
            );
            assert_eq!(
                crate::code(client.operator(&op1.approve(&params, &txid)).await),
                "proposal_not_pending"
            );
        } else {
            assert_eq!(
                status,
                TxStatus::AwaitingApproval {
                    approvals: 1,
                    threshold: 2
                },
                "{fp}: the failed approval left no trace"
            );
            let r = client
                .operator(&op1.approve(&params, &txid))
                .await
                .expect("approval after recovery");
            assert!(r.receipt.is_some(), "the retried approval commits");
        }
        let after = client.supply().await.expect("supply").supply;
        assert_eq!(
            after.units(),
            supply.units() + 50,
            "{fp}: issued exactly once"
        );
        resync_and_check_supply(&client, &params, &names).await;
    }

    tracing::info!("--- disk full: the file may not grow");
    let client = node.client();
    alice.sync(&client).await;
    fail::cfg("store::disk_full", "return").expect("fail point");
    let mut receipts = Vec::new();
    let mut refused = None;
    for i in 0..alice.notes.len() - 1 {
        let tx = alice.pay_note(&params, i, &bob.address).expect("builds");
        match client.submit(&tx).await {
            Ok(r) => receipts.push(r),
            Err(e) => {
                halted::<()>(Err(e));
                refused = Some(tx);
                break;
            }
        }
    }
    let refused = refused.expect("a full disk must stop commits");
    assert_halted(&node, &params, &alice).await;
    fail::remove("store::disk_full");
    let err = node.stop().await.expect_err("the sequencer stops");
    assert!(
        err.to_string().contains("full"),
        "the log names the cause: {err}"
    );
    audit_passes(&data);
    node = InProc::start(&data).await;
    let client = node.client();
    for r in &receipts {
        assert_eq!(
            client.tx_status(&r.txid).await.expect("status"),
            TxStatus::Committed { receipt: r.clone() }
        );
    }
    assert_eq!(
        client.tx_status(&refused.id()).await.expect("status"),
        TxStatus::Unknown,
        "the payment that hit the full disk was rolled back"
    );
    client
        .submit(&refused)
        .await
        .expect("commits once space is back");
    resync_and_check_supply(&client, &params, &names).await;

    tracing::info!("--- read-only database: writes are refused, nothing is half-written");
    alice.sync(&client).await;
    let before = crate::ledger_rows(&data, &[]);
    fail::cfg("store::read_only", "return").expect("fail point");
    let tx = alice.pay_note(&params, 0, &bob.address).expect("builds");
    assert_eq!(halted(client.submit(&tx).await), "node_halted");
    assert_halted(&node, &params, &alice).await;
    fail::remove("store::read_only");
    let err = node.stop().await.expect_err("the sequencer stops");
    assert!(err.to_string().contains("readonly"), "{err}");
    assert_eq!(crate::ledger_rows(&data, &[]), before, "nothing changed");
    node = InProc::start(&data).await;
    let client = node.client();
    assert_eq!(
        client.tx_status(&tx.id()).await.expect("status"),
        TxStatus::Unknown
    );
    client.submit(&tx).await.expect("commits after recovery");
    resync_and_check_supply(&client, &params, &names).await;
    node.stop().await.expect("a clean stop");
    audit_passes(&data);
    scenario.teardown();
}

/// A ledger on a read-only file system: `serve` refuses to start and says why, rather than fail
/// at its first write. Needs root to bind-mount; skipped (with a log line) where mount fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_ledger_is_refused_at_start() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    init_sandbox(&data);
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    let mount = |args: &[&str]| {
        std::process::Command::new("mount")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let (d, r) = (
        data.to_str().expect("utf-8"),
        ro.to_str().expect("utf-8").to_string(),
    );
    if !mount(&["--bind", d, &r]) {
        tracing::warn!("cannot bind-mount here: read-only start not checked");
        return;
    }
    let remounted = mount(&["-o", "remount,ro,bind", &r]);
    let out = dfc_bank(&["serve", "--data", &r, "--listen", "127.0.0.1:0"]);
    let _ = std::process::Command::new("umount").arg(&r).status();
    assert!(remounted, "remount read-only");
    assert!(
        !out.status.success(),
        "serve must refuse a read-only ledger"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot be opened for writing"),
        "a clear reason: {stderr}"
    );
    audit_passes(&data);
}
