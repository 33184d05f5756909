//! Crash loop: payments from several wallets at once against the real `dfc-bank serve`, SIGKILL
//! at a seeded random moment, restart, and check that nothing acknowledged was lost.
//!
//! Long run: `DFC_CRASH_ITERATIONS=200 cargo test -p dfc-tests --test reliability crash -- --nocapture`.

use std::time::Duration;

use dfc_client::BankClient;
use dfc_core::api::{Receipt, TxStatus};
use dfc_core::{Amount, NetworkParams, Transaction};
use dfc_tests::{init_sandbox, init_tracing, Node, TestWallet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::{audit_passes, knob, resync_and_check_supply, spent_set_consistent};

/// What one wallet's load task saw.
#[derive(Default)]
pub(crate) struct Load {
    /// Acknowledged payments.
    pub receipts: Vec<Receipt>,
    /// Refused with an error code: must never be committed.
    pub rejected: Vec<(Transaction, String)>,
    /// Sent when the connection broke: committed or not, the client cannot know.
    pub in_doubt: Vec<Transaction>,
}

/// Applies a committed transaction to the wallet's own notes (no network: the node may be dead).
/// Pays random amounts to random other wallets until the node stops answering.
pub(crate) async fn load(
    mut w: TestWallet,
    client: BankClient,
    params: NetworkParams,
    others: Vec<dfc_core::Address>,
    seed: u64,
) -> Load {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = Load::default();
    loop {
        let balance = w.balance().units();
        if balance == 0 {
            return out;
        }
        let amount = rng.gen_range(1..=balance.min(250));
        let to = others[rng.gen_range(0..others.len())];
        let tx = w
            .pay(&params, &to, Amount::from_units(amount).expect("small"))
            .expect("payment builds");
        match client.submit(&tx).await {
            Ok(r) => {
                assert_eq!(r.txid, tx.id());
                // The wallet's own payment: its change settles at once (no period involved).
                w.apply(&tx, 0);
                out.receipts.push(r);
            }
            Err(e) => match e.code() {
                Some(code) => out.rejected.push((tx, code.to_string())),
                None => {
                    out.in_doubt.push(tx);
                    return out;
                }
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_loop_loses_nothing_acknowledged() {
    init_tracing();
    let iterations = knob("DFC_CRASH_ITERATIONS", 3);
    let seed = knob("DFC_CRASH_SEED", 0xdfc);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let mut node = Node::start(&data);

    tracing::info!(iterations, seed, "--- four wallets, 16 notes of 1.00 each");
    let names: Vec<String> = (0..4).map(|i| format!("crash-{i}")).collect();
    crate::sixteen_notes_each(&node.client(), &data, &params, &names).await;
    let mut acknowledged: Vec<Receipt> = Vec::new();
    let mut rejected: Vec<(Transaction, String)> = Vec::new();
    let mut checks = 0u64;
    let mut in_doubt_total = 0u64;

    for it in 0..iterations {
        tracing::info!(it, "--- load, then SIGKILL at a random moment");
        let client = node.client();
        let wallets = resync_and_check_supply(&client, &params, &names).await;
        let addresses: Vec<_> = wallets.iter().map(|w| w.address).collect();
        let mut tasks = Vec::new();
        for w in wallets {
            let others: Vec<_> = addresses
                .iter()
                .copied()
                .filter(|a| *a != w.address)
                .collect();
            let task_seed = rng.gen();
            tasks.push(tokio::spawn(load(
                w,
                BankClient::new(node.url()),
                params.clone(),
                others,
                task_seed,
            )));
        }
        let kill_after_ms = rng.gen_range(20..1500);
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        node.kill_hard();
        let mut in_doubt = Vec::new();
        let mut receipts_now = 0;
        for t in tasks {
            let l = t.await.expect("load task");
            receipts_now += l.receipts.len();
            acknowledged.extend(l.receipts);
            rejected.extend(l.rejected);
            in_doubt.extend(l.in_doubt);
        }
        tracing::info!(
            it,
            kill_after_ms,
            receipts = receipts_now,
            in_doubt = in_doubt.len(),
            "killed"
        );

        tracing::info!(it, "--- restart: every receipt ever returned is committed");
        node.restart();
        let client = node.client();
        for r in &acknowledged {
            assert!(r.verify(&params.node_key), "receipt signature");
            assert_eq!(
                client.tx_status(&r.txid).await.expect("status"),
                TxStatus::Committed { receipt: r.clone() },
                "iteration {it}: acknowledged {} lost",
                r.txid
            );
            let page = client.blocks(r.height, 1).await.expect("block");
            assert_eq!(
                page.blocks.first().map(|b| b.header.hash()),
                Some(r.block_hash),
                "iteration {it}: receipt's block hash is not the block at height {}",
                r.height
            );
            checks += 1;
        }
        for (tx, why) in &rejected {
            assert_eq!(
                client.tx_status(&tx.id()).await.expect("status"),
                TxStatus::Unknown,
                "a payment refused with {why} was committed"
            );
            checks += 1;
        }
        tracing::info!(it, "--- in-doubt payments resubmitted: one outcome each");
        for tx in &in_doubt {
            let r = client
                .submit(tx)
                .await
                .expect("an in-doubt payment commits once");
            acknowledged.push(r);
            checks += 1;
        }
        in_doubt_total += in_doubt.len() as u64;
        let (notes, spent) = spent_set_consistent(&data);
        let s = client.supply().await.expect("supply");
        assert_eq!(notes - spent, s.notes_outstanding);
        assert_eq!(s.supply, Amount::from_units(6400).expect("small"));
        audit_passes(&data);
        resync_and_check_supply(&client, &params, &names).await;
    }
    let summary = format!(
        "crash loop: {iterations} SIGKILLs survived, {} payments acknowledged, {in_doubt_total} in doubt resolved, {} refused, {checks} outcome checks",
        acknowledged.len(),
        rejected.len()
    );
    tracing::info!("{summary}");
    println!("{summary}");
    assert!(
        !acknowledged.is_empty(),
        "the load must get some payments through"
    );
}
