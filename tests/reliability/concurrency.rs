//! Races: conflicting spends of many notes at once, replays of committed payments, the same
//! issuance approved by several operators from several clients, the same signed request sent
//! many times, the same redemption requested many times. Each has exactly one outcome.

use std::sync::Arc;

use dfc_client::BankClient;
use dfc_core::api::{OperatorAction, TxStatus};
use dfc_core::{build, Amount, Payment, Transaction, TxKind};
use dfc_tests::{init_sandbox, init_tracing, sandbox_operator, Node, TestWallet};

use crate::{audit_passes, issue, register, resync_and_check_supply, spent_set_consistent};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_clients_get_exactly_one_outcome_each() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let names: Vec<String> = ["race-alice", "race-bob", "race-carol"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut alice = TestWallet::new(&names[0], &params);
    let bob = TestWallet::new(&names[1], &params);
    let carol = TestWallet::new(&names[2], &params);
    for w in [&alice, &bob, &carol] {
        register(&client, w).await;
    }
    issue(&client, &data, &params, &alice, 100, 12).await;
    alice.sync(&client).await;

    tracing::info!("--- 8 notes, each spent by 3 different transactions, all 24 sent at once");
    let mut spends: Vec<(usize, Transaction)> = Vec::new();
    for note in 0..8 {
        for to in [&bob, &carol, &bob] {
            spends.push((
                note,
                alice.pay_note(&params, note, &to.address).expect("builds"),
            ));
        }
    }
    let mut tasks = Vec::new();
    for (note, tx) in spends {
        let c = BankClient::new(node.url());
        tasks.push(tokio::spawn(
            async move { (note, tx.id(), c.submit(&tx).await) },
        ));
    }
    let mut winners = vec![Vec::new(); 8];
    for t in tasks {
        let (note, txid, r) = t.await.expect("task");
        match r {
            Ok(receipt) => {
                assert_eq!(receipt.txid, txid);
                winners[note].push(receipt);
            }
            Err(e) => assert_eq!(e.code(), Some("input_spent"), "{e}"),
        }
    }
    for (note, w) in winners.iter().enumerate() {
        assert_eq!(w.len(), 1, "note {note}: exactly one spend commits");
    }

    tracing::info!("--- every winner replayed from 6 clients at once: the same receipt");
    let mut tasks = Vec::new();
    for w in &winners {
        let r = w[0].clone();
        let blocks = client.blocks(r.height, 1).await.expect("block");
        let tx = blocks.blocks[0]
            .txs
            .iter()
            .find(|t| t.id() == r.txid)
            .expect("the receipt's transaction is in its block")
            .clone();
        for _ in 0..6 {
            let c = BankClient::new(node.url());
            let (tx, r) = (tx.clone(), r.clone());
            tasks.push(tokio::spawn(async move {
                assert_eq!(c.submit(&tx).await.expect("replay answered"), r);
            }));
        }
    }
    let tx_count = client.supply().await.expect("supply").tx_count;
    for t in tasks {
        t.await.expect("replay task");
    }
    assert_eq!(client.supply().await.expect("supply").tx_count, tx_count);

    tracing::info!("--- one issuance, operators 1 and 2 each approving from 4 clients at once");
    let issue_built = build(
        &params,
        TxKind::Issue,
        Amount::from_units(500).expect("small"),
        &[],
        &[Payment {
            to: carol.address,
            amount: Amount::from_units(500).expect("small"),
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )
    .expect("builds");
    let issue_tx = issue_built.tx.clone();
    let txid = issue_tx.id();
    let op0 = sandbox_operator(&data, &params, 0);
    client
        .operator(&op0.request(
            &params,
            OperatorAction::Propose {
                tx: issue_tx.clone(),
                approval: op0.approval(&txid),
                openings: dfc_core::proposal::disclose(&issue_built.openings),
            },
        ))
        .await
        .expect("proposal");
    let supply = client.supply().await.expect("supply").supply;
    let mut tasks = Vec::new();
    for op in [1usize, 2] {
        for _ in 0..4 {
            let operator = sandbox_operator(&data, &params, op);
            let req = operator.approve(&params, &txid);
            let c = BankClient::new(node.url());
            tasks.push(tokio::spawn(async move { c.operator(&req).await }));
        }
    }
    let mut committed = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(r) => {
                if r.receipt.is_some() {
                    committed += 1;
                }
            }
            // An operator's approval signed before another of its own that got there first is
            // refused for its sequence number; either way it changes nothing.
            Err(e) => assert!(
                matches!(e.code(), Some("proposal_not_pending" | "stale_sequence")),
                "{e}"
            ),
        }
    }
    assert_eq!(committed, 1, "exactly one approval commits the issuance");
    assert_eq!(
        client.supply().await.expect("supply").supply.units(),
        supply.units() + 500,
        "issued once"
    );
    assert!(matches!(
        client.tx_status(&txid).await.expect("status"),
        TxStatus::Committed { .. }
    ));

    tracing::info!("--- one signed freeze request sent from 8 clients: applied once");
    let req = Arc::new(op0.request(
        &params,
        OperatorAction::SetTier {
            wallet: bob.address.spend,
            tier: 1,
            registry_version: 0,
        },
    ));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = BankClient::new(node.url());
        let req = req.clone();
        tasks.push(tokio::spawn(async move { c.operator(&req).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Some("replayed_nonce"), "{e}"),
        }
    }
    assert_eq!(ok, 1, "a signed request is applied once");

    tracing::info!("--- one redemption requested from 6 clients: one proposal");
    alice.sync(&client).await;
    let redeem = Arc::new(
        alice
            .redeem(&params, Amount::from_units(150).expect("small"))
            .expect("builds"),
    );
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let c = BankClient::new(node.url());
        let tx = redeem.clone();
        tasks.push(tokio::spawn(async move { c.request_redemption(&tx).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Some("proposal_exists"), "{e}"),
        }
    }
    assert_eq!(ok, 1, "one redemption proposal");
    let pending = client
        .proposals()
        .await
        .expect("proposals")
        .into_iter()
        .filter(|p| p.txid == redeem.id())
        .count();
    assert_eq!(pending, 1);

    spent_set_consistent(&data);
    resync_and_check_supply(&client, &params, &names).await;
    audit_passes(&data);
}
