//! End-to-end test of governance (issue 20) with the real `dfc-bank` and `dfc-wallet` binaries
//! on loopback ports and real SQLite files:
//!
//! - a tier-limit change proposed by one operator changes nothing until a second of the 2-of-3
//!   approves it; one operator alone (approving twice, signing under another's index, replaying
//!   its request) cannot move it;
//! - the change takes effect at its stated height: a payment over the old limit is refused
//!   before it (by the wallet and by the node) and goes through after it;
//! - the wallet sees the change at sync and agrees with `dfc-bank audit`, which passes;
//! - a stale, an immutable-field and a past-height change are refused and change nothing;
//! - a ledger whose approved change lost an approval fails the audit.

#[path = "../wallet/bank.rs"]
#[allow(dead_code)]
mod bank;
#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;

use anyhow::{ensure, Context, Result};
use bank::Bank;
use cli::WalletCli;
use dfc_central_bank::client::ClientError;
use dfc_core::api::OperatorAction;
use dfc_core::governance::ParamsChange;
use dfc_core::{Amount, IssuerSignature, NetworkParams};
use dfc_tests::{dfc_bank, sandbox_operator};
use serde_json::Value;

fn rejected_code(e: &ClientError) -> &str {
    match e {
        ClientError::Rejected { code, .. } => code,
        _ => "",
    }
}

#[test]
fn governance_end_to_end() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("bank");
    let bank = Bank::start(&data)?;
    let url = bank.url();
    let client = bank.node.client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let genesis: NetworkParams = rt.block_on(client.params())?;
    let ops: Vec<_> = (0..3)
        .map(|n| sandbox_operator(&data, &genesis, n))
        .collect();
    let alice = WalletCli::registered("alice", tmp.path(), &url)?;
    let bob = WalletCli::registered("bob", tmp.path(), &url)?;
    let alice_addr = alice.address()?;
    let bob_addr = bob.address()?;
    bank.issue(&alice_addr, "150.00")?;
    ensure!(alice.synced_total()? == 15_000, "alice holds 150.00");

    tracing::info!("--- tier 0 allows 50.00 per payment: 60.00 is refused by the wallet");
    let refused = alice.err(&["pay", "--to", &bob_addr, "--amount", "60.00"])?;
    ensure!(
        refused.message.contains("bound of 5000 minor units"),
        "over the tier-0 payment limit: {refused:?}"
    );

    tracing::info!("--- operator 0 proposes tier 0 max_payment 80.00 from a later height");
    let mut new = genesis.clone();
    new.tiers[0].max_payment = Amount::from_units(8_000)?;
    let tip = rt.block_on(client.blocks(0, 1))?.tip_height;
    let effective = tip + 3;
    let digest = bank.propose_params(0, &new, effective, tmp.path())?;
    let changes = bank.operator(0, &["governance", "changes"])?;
    ensure!(changes[0]["state"] == "pending", "pending: {changes}");
    ensure!(
        changes[0]["diff"][0]["field"] == "tiers[0].max_payment"
            && changes[0]["diff"][0]["after"] == "80.00 DFC",
        "the diff shows the change: {changes}"
    );

    tracing::info!("--- one operator alone changes nothing");
    let again = bank.operator(0, &["governance", "approve", &digest])?;
    ensure!(
        again["message"]
            .as_str()
            .is_some_and(|m| m.contains("already approved")),
        "a second approval by the same key does not count: {again}"
    );
    let change = ParamsChange {
        base_hash: genesis.hash(),
        effective_height: effective,
        params: new.clone(),
    };
    let d = change.digest();
    // Operator 0 signs and claims to be operator 1.
    let borrowed = ops[0].request(
        &genesis,
        OperatorAction::ApproveChange {
            digest: d,
            approval: IssuerSignature {
                index: 1,
                signature: ops[0].key.sign(&d.0),
            },
        },
    );
    let e = rt
        .block_on(client.operator(&borrowed))
        .expect_err("approval under another index");
    ensure!(rejected_code(&e) == "approval_mismatch", "{e}");
    // Operator 1's approval of another change does not count for this one.
    let mut other = change.clone();
    other.params.tiers[0].max_payment = Amount::from_units(9_000)?;
    let wrong = ops[1].request(
        &genesis,
        OperatorAction::ApproveChange {
            digest: d,
            approval: IssuerSignature {
                index: 1,
                signature: ops[1].key.sign(&other.digest().0),
            },
        },
    );
    let e = rt
        .block_on(client.operator(&wrong))
        .expect_err("approval of another change");
    ensure!(rejected_code(&e) == "bad_approval", "{e}");
    let history = rt.block_on(client.params_history())?;
    ensure!(history.changes().is_empty(), "nothing approved yet");
    ensure!(rt.block_on(client.params())? == genesis, "rules unchanged");

    tracing::info!("--- refused changes: stale base, fixed field, past height");
    let mut stale = change.clone();
    stale.base_hash = new.hash();
    let mut currency = change.clone();
    currency.params.currency = "EUR".into();
    let mut past = change.clone();
    past.effective_height = tip;
    past.params.tiers[0].max_payment = Amount::from_units(7_000)?;
    for (c, code) in [
        (stale, "stale_base"),
        (currency, "immutable_param"),
        (past, "bad_effective_height"),
    ] {
        let approval = IssuerSignature {
            index: 2,
            signature: ops[2].key.sign(&c.digest().0),
        };
        let req = ops[2].request(
            &genesis,
            OperatorAction::ProposeChange {
                change: c,
                approval,
            },
        );
        let e = rt.block_on(client.operator(&req)).expect_err(code);
        ensure!(rejected_code(&e) == code, "{code}: {e}");
    }
    ensure!(
        rt.block_on(client.param_changes())?.len() == 1,
        "refused proposals are not recorded"
    );

    tracing::info!("--- operator 1 approves: 2 of 3, in force from its height");
    let approve = ops[1].request(
        &genesis,
        OperatorAction::ApproveChange {
            digest: d,
            approval: IssuerSignature {
                index: 1,
                signature: ops[1].key.sign(&d.0),
            },
        },
    );
    let r = rt.block_on(client.operator(&approve))?;
    ensure!(r.message.contains("in force from height"), "{}", r.message);
    let e = rt
        .block_on(client.operator(&approve))
        .expect_err("replayed request");
    ensure!(
        matches!(rejected_code(&e), "replayed_nonce" | "stale_sequence"),
        "{e}"
    );
    let history = rt.block_on(client.params_history())?;
    ensure!(history.changes().len() == 1, "one change approved");
    ensure!(history.at(effective - 1) == &genesis && history.at(effective) == &new);

    tracing::info!("--- before the height the old limit holds at the node too");
    let e = alice.err(&["pay", "--to", &bob_addr, "--amount", "60.00"])?;
    ensure!(
        e.message.contains("bound of 5000 minor units"),
        "still refused before the height: {e:?}"
    );
    // Move the chain past the effective height with small payments.
    while rt.block_on(client.blocks(0, 1))?.tip_height + 1 < effective {
        alice.ok(&["pay", "--to", &bob_addr, "--amount", "1.00"])?;
    }
    tracing::info!("--- from its height the wallet sees 80.00 and a 60.00 payment goes through");
    alice.ok(&["sync"])?;
    let before = alice.total()?;
    alice.ok(&["pay", "--to", &bob_addr, "--amount", "60.00"])?;
    ensure!(alice.synced_total()? == before - 6_000, "alice paid 60.00");
    bob.ok(&["sync"])?;
    let log = rt.block_on(client.audit_log(0))?;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    ensure!(
        actions.contains(&"propose_change") && actions.contains(&"approve_change"),
        "the audit log records the change: {actions:?}"
    );

    tracing::info!("--- the remote audit replays the node's blocks under the rules of each height");
    let tip = rt.block_on(client.blocks(0, 1))?.tip_height;
    bank.operator(0, &["checkpoint", "sign", "--height", &tip.to_string()])?;
    bank.operator(1, &["checkpoint", "sign", "--height", &tip.to_string()])?;
    let auditor = data.join("auditor-0.key");
    let auditor_s = auditor.to_str().context("utf-8")?;
    let remote = |extra: &[&str]| -> Result<(bool, Value)> {
        let mut args = vec!["audit", "--bank", &url, "--key", auditor_s, "--json"];
        args.extend_from_slice(extra);
        let out = dfc_bank(&args);
        Ok((out.status.success(), serde_json::from_slice(&out.stdout)?))
    };
    let (ok, report) = remote(&[])?;
    ensure!(
        ok && report["report"]["height"].as_u64() == Some(tip),
        "the remote audit passes past the change (it judged every block under genesis rules \
         before): {report}"
    );
    ensure!(
        report["report"]["anchored_height"] == tip,
        "the node's co-signed checkpoint anchors it: {report}"
    );
    tracing::info!("--- a checkpoint of another block at the tip, brought by the auditor: named");
    let point = dfc_core::cosign::ChainPoint {
        network: genesis.network_id,
        genesis: genesis.genesis_hash,
        height: tip,
        block_hash: dfc_core::Hash32([7; 32]),
    };
    let other = dfc_core::cosign::CosignedCheckpoint {
        point,
        signatures: ops[..2]
            .iter()
            .map(|op| dfc_core::IssuerSignature {
                index: op.index,
                signature: op.key.sign(&point.digest().0),
            })
            .collect(),
    };
    let file = tmp.path().join("other-chain.json");
    std::fs::write(
        &file,
        serde_json::json!({ "checkpoints": [other] }).to_string(),
    )?;
    let (ok, report) = remote(&["--cosigned", file.to_str().context("utf-8")?])?;
    ensure!(
        !ok && report["error"]
            .as_str()
            .is_some_and(|e| e.contains("rewritten")),
        "{report}"
    );

    tracing::info!("--- dfc-bank audit replays every block under the rules of its height");
    drop(bank);
    let data_s = data.to_str().context("utf-8")?;
    let out = dfc_bank(&["audit", "--data", data_s, "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(report["pass"] == true, "audit passes: {report}");
    ensure!(
        report["height"].as_u64().is_some_and(|h| h >= effective),
        "audited past the change: {report}"
    );

    tracing::info!("--- a change that lost an approval fails the audit");
    {
        let conn = rusqlite::Connection::open(data.join("ledger.sqlite"))?;
        let approvals: String = conn.query_row(
            "SELECT approvals FROM param_changes WHERE state = 'scheduled'",
            [],
            |r| r.get(0),
        )?;
        let mut list: Vec<Value> = serde_json::from_str(&approvals)?;
        list.truncate(1);
        conn.execute(
            "UPDATE param_changes SET approvals = ?1",
            [serde_json::to_string(&list)?],
        )?;
    }
    let out = dfc_bank(&["audit", "--data", data_s, "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(report["pass"] == false, "audit fails: {report}");
    ensure!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("approvals")),
        "names the missing approvals: {report}"
    );
    Ok(())
}
