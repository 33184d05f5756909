//! End-to-end tests of compliance without seeing amounts, against the real `dfc-bank` binary on a
//! network initialised with `--reporting-threshold`: the node enforces tier caps on hidden amounts
//! and disclosure above the threshold, and the regulator's tool decrypts what was disclosed.

#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;

use curve25519_dalek::scalar::Scalar;
use dfc_central_bank::client::{BankClient, ClientError};
use dfc_core::api::{OperatorAction, SupplySummary};
use dfc_core::compliance::ComplianceContext;
use dfc_core::{
    build, build_with, Amount, BalanceProof, BuildOptions, Built, NetworkParams, Payment,
    SpendInput, Transaction, TxKind,
};
use dfc_tests::{
    amount, bin_path, dfc_bank, dfc_bank_ok, init_tracing, sandbox_operator, Node, TestWallet,
};

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(e) => e
            .code()
            .map(str::to_string)
            .unwrap_or_else(|| format!("not a rejection: {e}")),
        Ok(v) => panic!("expected a rejection, got {v:?}"),
    }
}

fn key_hex(w: &TestWallet) -> String {
    hex::encode(w.keys.spend.public().to_bytes())
}

/// Issues `total` to `w` with operators 0 and 1.
async fn issue(node: &Node, params: &NetworkParams, w: &TestWallet, total: Amount) {
    let client = node.client();
    let built = build(
        params,
        TxKind::Issue,
        total,
        &[],
        &[Payment {
            to: w.address,
            amount: total,
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )
    .expect("issue builds");
    let openings = dfc_core::proposal::disclose(&built.openings);
    let tx = built.tx;
    let op0 = sandbox_operator(node.data_dir(), params, 0);
    let op1 = sandbox_operator(node.data_dir(), params, 1);
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
    let r = client
        .operator(&op1.request(
            params,
            OperatorAction::Approve {
                txid: tx.id(),
                approval: op1.approval(&tx.id()),
            },
        ))
        .await
        .expect("approval");
    assert!(r.receipt.is_some(), "two approvals commit the issuance");
}

/// A transfer from `from` to `to` stating `ctx`'s caps (honest or not).
fn transfer(
    params: &NetworkParams,
    from: &TestWallet,
    to: &TestWallet,
    units: u64,
    ctx: ComplianceContext,
) -> Result<(Built, Vec<SpendInput>), dfc_core::BuildError> {
    let inputs: Vec<SpendInput> = from
        .notes
        .iter()
        .map(|(id, opening)| SpendInput {
            id: *id,
            opening: opening.clone(),
            key: from.keys.spend.clone(),
        })
        .collect();
    let total = Amount::sum(inputs.iter().map(|i| i.opening.amount))?;
    let amount = Amount::from_units(units)?;
    let payments = [
        Payment {
            to: to.address,
            amount,
            memo: Vec::new(),
        },
        Payment {
            to: from.address,
            amount: total.checked_sub(amount)?,
            memo: Vec::new(),
        },
    ];
    let built = build_with(
        params,
        TxKind::Transfer,
        Amount::ZERO,
        &inputs,
        &payments,
        &BuildOptions {
            compliance: Some(ctx),
        },
        &mut rand::rngs::OsRng,
    )?;
    Ok((built, inputs))
}

/// Re-signs `tx` after its compliance section was altered, as the payer could: new balance proof
/// and owner signatures over the new id. Only the compliance proofs are then wrong.
fn resign(tx: &mut Transaction, built: &Built, inputs: &[SpendInput]) {
    let txid = tx.id();
    let x: Scalar = built.openings.iter().map(|o| o.blinding).sum::<Scalar>()
        - inputs.iter().map(|i| i.opening.blinding).sum::<Scalar>();
    let commitments: Vec<_> = inputs.iter().map(|i| i.opening.commitment()).collect();
    tx.balance_proof =
        BalanceProof::prove(&txid, &tx.excess(&commitments), &x, &mut rand::rngs::OsRng);
    tx.owner_signatures = inputs.iter().map(|i| i.key.sign(&txid.0)).collect();
}

async fn state(client: &BankClient) -> SupplySummary {
    client.supply().await.expect("supply is served")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_and_disclosure_are_enforced_without_seeing_amounts() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("bank");
    let data_s = data.to_str().expect("utf-8").to_string();

    tracing::info!("--- a network with compliance rules: disclosure at or above 500.00");
    let out = dfc_bank_ok(&[
        "init",
        "--data",
        &data_s,
        "--reporting-threshold",
        "500.00",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("init prints JSON");
    let params: NetworkParams = serde_json::from_value(report["params"].clone()).expect("params");
    let rules = params.compliance.clone().expect("compliance is on");
    assert_eq!(rules.reporting_threshold, amount("500.00", &params));
    let node = Node::start(&data);
    let client = node.client();
    let url = node.url().to_string();

    tracing::info!("--- alice and carol at tier 2, bob at tier 0 (cap 50.00 per payment)");
    let mut alice = TestWallet::new("alice", &params);
    let mut bob = TestWallet::new("bob", &params);
    let mut carol = TestWallet::new("carol", &params);
    for w in [&alice, &bob, &carol] {
        client
            .register(&w.register_request())
            .await
            .expect("register");
    }
    for w in [&alice, &carol] {
        dfc_bank_ok(&[
            "wallet",
            "set-tier",
            &key_hex(w),
            "2",
            "--data",
            &data_s,
            "--operator",
            "0",
            "--bank",
            &url,
        ]);
    }
    let cap = |tier: u8| params.tier(tier).map(|t| t.max_payment);
    let bob_cap = cap(0).expect("tier 0");
    assert_eq!(bob_cap, amount("50.00", &params));
    issue(&node, &params, &alice, amount("2000.00", &params)).await;
    alice.sync(&client).await;

    tracing::info!("--- a payment just under bob's cap passes; nothing is disclosed");
    let honest = |receiver: Option<Amount>| ComplianceContext {
        sender_cap: cap(2),
        receiver_caps: vec![receiver, None],
    };
    let (b, _) = transfer(
        &params,
        &alice,
        &bob,
        bob_cap.units(),
        honest(Some(bob_cap)),
    )
    .expect("builds");
    assert!(b
        .tx
        .compliance
        .as_ref()
        .expect("section")
        .disclosures
        .is_empty());
    client
        .submit(&b.tx)
        .await
        .expect("a payment at the cap commits");
    alice.sync(&client).await;
    bob.sync(&client).await;
    assert_eq!(bob.balance(), bob_cap);

    tracing::info!(
        "--- over the cap: the honest wallet cannot build it; a lying one is refused by the node"
    );
    let over = bob_cap.units() + 1;
    assert!(transfer(&params, &alice, &bob, over, honest(Some(bob_cap))).is_err());
    let before = state(&client).await;
    let (lie, inputs) =
        transfer(&params, &alice, &bob, over, honest(cap(2))).expect("a lie builds");
    assert_eq!(code(client.submit(&lie.tx).await), "wrong_cap");
    let mut forged = lie.tx.clone();
    forged.compliance.as_mut().expect("section").receiver_caps[0] = Some(bob_cap);
    resign(&mut forged, &lie, &inputs);
    assert_eq!(code(client.submit(&forged).await), "over_cap_or_threshold");
    assert_eq!(state(&client).await, before, "refusals changed nothing");

    tracing::info!("--- a payment at or above the threshold is disclosed to the regulator");
    let (big, inputs) = transfer(&params, &alice, &carol, 80_000, honest(cap(2))).expect("builds");
    assert_eq!(
        big.tx
            .compliance
            .as_ref()
            .expect("section")
            .disclosures
            .len(),
        1
    );
    let mut missing = big.tx.clone();
    missing
        .compliance
        .as_mut()
        .expect("section")
        .disclosures
        .clear();
    resign(&mut missing, &big, &inputs);
    assert_eq!(code(client.submit(&missing).await), "over_cap_or_threshold");
    let (other, _) = transfer(&params, &alice, &carol, 90_000, honest(cap(2))).expect("builds");
    let mut wrong = big.tx.clone();
    wrong.compliance.as_mut().expect("section").disclosures[0] =
        other.tx.compliance.as_ref().expect("section").disclosures[0].clone();
    resign(&mut wrong, &big, &inputs);
    assert_eq!(code(client.submit(&wrong).await), "bad_disclosure");
    assert_eq!(state(&client).await, before, "refusals changed nothing");
    client
        .submit(&big.tx)
        .await
        .expect("the disclosed payment commits");
    carol.sync(&client).await;
    alice.sync(&client).await;
    assert_eq!(carol.balance(), amount("800.00", &params));

    tracing::info!("--- the regulator decrypts the disclosed amount; a wrong key is refused");
    let key = data.join("regulator.key");
    let out = dfc_bank_ok(&[
        "regulator",
        "--bank",
        &url,
        "--key",
        key.to_str().expect("utf-8"),
        "--json",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&out).expect("regulator prints JSON");
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["amount"], 80_000);
    assert_eq!(listed[0]["recipient"], key_hex(&carol));
    let op_key = data.join("operator-0.key");
    let refused = dfc_bank(&[
        "regulator",
        "--bank",
        &url,
        "--key",
        op_key.to_str().expect("utf-8"),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not the network's regulator key"));

    tracing::info!("--- the real wallet CLI builds compliant payments on its own");
    let dave = cli::WalletCli::new("dave", tmp.path().join("dave"), &bin_path("dfc-wallet"));
    dave.ok(&["create"]).expect("create");
    dave.ok(&["--bank", &url, "register"]).expect("register");
    let dave_addr = dave.address().expect("address");
    let dave_key = hex::encode(
        dave_addr
            .parse::<dfc_core::Address>()
            .expect("address parses")
            .spend
            .to_bytes(),
    );
    dfc_bank_ok(&[
        "wallet",
        "set-tier",
        &dave_key,
        "1",
        "--data",
        &data_s,
        "--operator",
        "0",
        "--bank",
        &url,
    ]);
    let dave_w = TestWallet {
        address: dave_addr.parse().expect("address"),
        ..TestWallet::new("dave", &params)
    };
    let (fund, _) = transfer(&params, &alice, &dave_w, 30_000, honest(cap(1))).expect("builds");
    client.submit(&fund.tx).await.expect("funding dave");
    let bob_addr = bob.address.to_string();
    dave.ok(&[
        "--bank", &url, "pay", "--to", &bob_addr, "--amount", "20.00",
    ])
    .expect("dave pays bob within bob's cap");
    let err = dave
        .err(&[
            "--bank", &url, "pay", "--to", &bob_addr, "--amount", "60.00",
        ])
        .expect("over bob's cap is refused");
    assert!(!err.message.is_empty());
    bob.sync(&client).await;
    assert_eq!(bob.balance(), amount("70.00", &params));

    tracing::info!("--- the audit passes");
    let out = dfc_bank(&["audit", "--data", &data_s, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
