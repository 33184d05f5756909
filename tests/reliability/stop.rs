//! Stopping the node as a service manager does (SIGTERM), under load: the node shuts down
//! gracefully (exit status 0), nothing it acknowledged is lost, a payment cut off by the stop has
//! one outcome when sent again, and the write-ahead log is folded into the ledger file at the
//! stop, so the next start reads the signed summary and no log (docs/reliability.md, "Stopping
//! the node").

use std::time::Duration;

use dfc_client::BankClient;
use dfc_core::api::TxStatus;
use dfc_core::Amount;
use dfc_tests::{init_sandbox, init_tracing, Node};

use crate::crash::load;
use crate::{audit_passes, resync_and_check_supply};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_stops_gracefully_and_loses_nothing() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let mut node = Node::start(&data);

    tracing::info!("--- three wallets, 16 notes of 1.00 each");
    let names: Vec<String> = (0..3).map(|i| format!("stop-{i}")).collect();
    crate::sixteen_notes_each(&node.client(), &data, &params, &names).await;
    let supply = node.client().supply().await.expect("supply").supply;

    tracing::info!("--- payments from every wallet, then SIGTERM while they are in flight");
    let wallets = resync_and_check_supply(&node.client(), &params, &names).await;
    let addresses: Vec<_> = wallets.iter().map(|w| w.address).collect();
    let mut tasks = Vec::new();
    for (i, w) in wallets.into_iter().enumerate() {
        let others: Vec<_> = addresses
            .iter()
            .copied()
            .filter(|a| *a != w.address)
            .collect();
        tasks.push(tokio::spawn(load(
            w,
            BankClient::new(node.url()),
            params.clone(),
            others,
            0x5709 + i as u64,
        )));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = node.terminate().expect("the node was running");
    assert!(
        status.success(),
        "SIGTERM stops the node gracefully (exit status 0), not by the signal's default action: {status:?}\n{}",
        node.log()
    );
    let log = node.log();
    assert!(
        log.contains("shutting down") && log.contains("SIGTERM"),
        "the node says why it stopped:\n{log}"
    );
    let wal = data.join("ledger.sqlite-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(
        wal_len, 0,
        "the write-ahead log is folded into the ledger file at a graceful stop"
    );
    let (mut receipts, mut rejected, mut in_doubt) = (Vec::new(), Vec::new(), Vec::new());
    for t in tasks {
        let l = t.await.expect("load task");
        receipts.extend(l.receipts);
        rejected.extend(l.rejected);
        in_doubt.extend(l.in_doubt);
    }
    assert!(
        !receipts.is_empty(),
        "payments were acknowledged before the stop"
    );

    tracing::info!("--- the next start reads the signed summary, and every receipt is committed");
    node.restart();
    let log = node.log();
    assert!(
        !log.contains('\x1b'),
        "a log written to a file carries no terminal colour codes"
    );
    let started = log
        .lines()
        .rfind(|l| l.contains("ledger verified"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        started.contains("full_replay=false"),
        "the restart after a graceful stop checks the signed summary, without a replay: {started}"
    );
    let client = node.client();
    for r in &receipts {
        assert_eq!(
            client.tx_status(&r.txid).await.expect("status"),
            TxStatus::Committed { receipt: r.clone() },
            "acknowledged {} before the stop, lost after it",
            r.txid
        );
    }
    for (tx, why) in &rejected {
        assert_eq!(
            client.tx_status(&tx.id()).await.expect("status"),
            TxStatus::Unknown,
            "a payment refused with {why} was committed"
        );
    }
    for tx in &in_doubt {
        let r = client
            .submit(tx)
            .await
            .expect("a payment cut off by the stop commits once when sent again");
        assert_eq!(
            client.submit(tx).await.expect("resubmission").txid,
            r.txid,
            "sent a third time: the same receipt"
        );
    }
    let s = client.supply().await.expect("supply");
    assert_eq!(
        s.supply, supply,
        "a stop neither creates nor destroys value"
    );
    assert_eq!(s.supply, Amount::from_units(4800).expect("small"));
    audit_passes(&data);
    resync_and_check_supply(&client, &params, &names).await;
}

/// A client that never finishes its request cannot hold a stop: after the grace period
/// (`server::listen::SHUTDOWN_GRACE`) the node closes the connection and exits 0, and the ledger
/// is folded as after any graceful stop.
#[test]
fn a_request_that_never_finishes_cannot_hold_the_stop() {
    use std::io::Write;
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    init_sandbox(&data);
    let mut node = Node::start(&data);
    let addr = node
        .url()
        .strip_prefix("http://")
        .expect("plain HTTP on loopback")
        .to_string();
    // A body announced at 100 bytes of which 5 arrive, and a request head cut in its middle.
    let mut body = std::net::TcpStream::connect(&addr).expect("connect");
    body.write_all(
        b"POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
    )
    .expect("write");
    let mut head = std::net::TcpStream::connect(&addr).expect("connect");
    head.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .expect("write");
    // Both connections are admitted and their requests begun before the stop.
    std::thread::sleep(Duration::from_millis(300));
    let status = node.terminate().expect("the node was running");
    assert!(status.success(), "{status:?}\n{}", node.log());
    let log = node.log();
    assert!(
        log.contains("connections still open at shutdown: closed"),
        "the stop closed the connections that never finished:\n{log}"
    );
    let wal = data.join("ledger.sqlite-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    drop((body, head));
}
