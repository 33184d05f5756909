//! End-to-end tests of limits on hidden amounts, against the real `dfc-bank` binary on a network
//! initialised with `--reporting-threshold`: tier caps on what each party really receives (summed
//! per party, so no output split or payee-added input escapes them), holding and turnover limits
//! through claims, disclosure above the threshold, replay protection across ledgers, and the real
//! wallet CLI receiving within its limits.

#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;

use curve25519_dalek::scalar::Scalar;
use dfc_client::{BankClient, ClientError};
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

/// The honest flow context of a payment from `from` to `to` at their registered tiers.
fn ctx(from: &TestWallet, to: &TestWallet) -> ComplianceContext {
    ComplianceContext {
        payer_tier: from.tier,
        own_keys: vec![from.address.spend],
        payee_tiers: vec![(to.address.spend, to.tier)],
    }
}

/// Sets `w`'s tier through the operator CLI.
fn set_tier(data: &str, url: &str, w: &mut TestWallet, tier: u8) {
    dfc_bank_ok(&[
        "wallet",
        "set-tier",
        &key_hex(w),
        &tier.to_string(),
        "--data",
        data,
        "--operator",
        "0",
        "--bank",
        url,
    ]);
    w.tier = tier;
}

/// A transfer from `from` to `to` stating `ctx`'s tiers (honest or not), with change back.
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

/// Re-signs `tx` after its flow section was altered, as the payer could: new balance proof and
/// owner signatures over the new id. Only the flow section is then wrong.
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
async fn limits_hold_on_hidden_amounts() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("bank");
    let data_s = data.to_str().expect("utf-8").to_string();

    tracing::info!("--- a network with a regulator: disclosure at or above 500.00");
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
    let t0 = params.tier(0).expect("tier 0").clone();
    assert_eq!(t0.max_payment, amount("50.00", &params));
    assert_eq!(t0.max_balance, amount("200.00", &params));

    tracing::info!(
        "--- alice and carol at tier 2; bob and erin at tier 0 (pays ≤ 50, holds ≤ 200)"
    );
    let mut alice = TestWallet::new("alice", &params);
    let mut bob = TestWallet::new("bob", &params);
    let mut carol = TestWallet::new("carol", &params);
    let mut erin = TestWallet::new("erin", &params);
    for w in [&alice, &bob, &carol, &erin] {
        client
            .register(&w.register_request())
            .await
            .expect("register");
    }
    set_tier(&data_s, &url, &mut alice, 2);
    set_tier(&data_s, &url, &mut carol, 2);
    for w in [&mut bob, &mut erin] {
        w.peer_tiers = vec![(alice.address.spend, 2), (carol.address.spend, 2)];
    }
    alice.peer_tiers = vec![(carol.address.spend, 2)];

    tracing::info!("--- issuance arrives pending: not spendable until alice claims it");
    issue(&node, &params, &alice, amount("5000.00", &params)).await;
    alice.scan(&client).await;
    assert_eq!(alice.held_balance(), amount("5000.00", &params));
    assert_eq!(alice.balance(), Amount::ZERO);
    let premature = TestWallet {
        notes: alice.held.clone(),
        ..alice.clone()
    };
    let before = state(&client).await;
    let early = premature
        .pay(&params, &carol.address, amount("1.00", &params))
        .expect("builds");
    assert_eq!(code(client.submit(&early).await), "input_pending");
    assert_eq!(state(&client).await, before, "refusal changed nothing");
    alice.sync(&client).await;
    assert_eq!(alice.balance(), amount("5000.00", &params));
    assert!(alice.held.is_empty());

    tracing::info!("--- a payment at bob's cap commits; bob claims it at his next sync");
    let (b, _) = transfer(
        &params,
        &alice,
        &bob,
        t0.max_payment.units(),
        ctx(&alice, &bob),
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
    assert_eq!(bob.balance(), t0.max_payment);

    tracing::info!("--- over bob's cap: the wallet cannot build it; lies are refused by the node");
    let over = t0.max_payment.units() + 1;
    assert!(matches!(
        transfer(&params, &alice, &bob, over, ctx(&alice, &bob)),
        Err(dfc_core::BuildError::Rule(
            dfc_core::TxError::OverCap { .. }
        ))
    ));
    let before = state(&client).await;
    let mut as_tier2 = ctx(&alice, &bob);
    as_tier2.payee_tiers = vec![(bob.address.spend, 2)];
    let (lie, inputs) = transfer(&params, &alice, &bob, over, as_tier2).expect("a lie builds");
    assert_eq!(code(client.submit(&lie.tx).await), "wrong_tier");
    let mut forged = lie.tx.clone();
    forged.compliance.as_mut().expect("section").payee_tiers = vec![0];
    resign(&mut forged, &lie, &inputs);
    assert_eq!(code(client.submit(&forged).await), "bad_range_proof");
    assert_eq!(state(&client).await, before, "refusals changed nothing");

    tracing::info!("--- splitting one payment into outputs to the same payee: summed per party");
    let split_inputs: Vec<SpendInput> = alice
        .notes
        .iter()
        .map(|(id, o)| SpendInput {
            id: *id,
            opening: o.clone(),
            key: alice.keys.spend.clone(),
        })
        .collect();
    let total = Amount::sum(split_inputs.iter().map(|i| i.opening.amount)).expect("sum");
    let piece = amount("49.99", &params);
    let mut pieces: Vec<Payment> = (0..4)
        .map(|_| Payment {
            to: bob.address,
            amount: piece,
            memo: Vec::new(),
        })
        .collect();
    pieces.push(Payment {
        to: alice.address,
        amount: total
            .checked_sub(Amount::from_units(piece.units() * 4).expect("amount"))
            .expect("enough"),
        memo: Vec::new(),
    });
    let split = |ctx: ComplianceContext| {
        build_with(
            &params,
            TxKind::Transfer,
            Amount::ZERO,
            &split_inputs,
            &pieces,
            &BuildOptions {
                compliance: Some(ctx),
            },
            &mut rand::rngs::OsRng,
        )
    };
    assert!(matches!(
        split(ctx(&alice, &bob)),
        Err(dfc_core::BuildError::Rule(
            dfc_core::TxError::OverCap { .. }
        ))
    ));
    // A lying wallet states the four pieces as four payees, each under the cap, with a range
    // proof that is valid for that grouping: only the registry's grouping check can stop it.
    let mut as_tier2 = ctx(&alice, &bob);
    as_tier2.payee_tiers = vec![(bob.address.spend, 2)];
    let lie = split(as_tier2).expect("builds at tier 2");
    let mut four = lie.tx.clone();
    {
        let fakes: Vec<dfc_core::PublicKey> = (0..4u8)
            .map(|i| dfc_core::SigningKey::from_seed(&[100 + i; 32]).public())
            .collect();
        let mut owners = fakes.clone();
        owners.push(alice.address.spend);
        let fake_ctx = ComplianceContext {
            payer_tier: 2,
            own_keys: vec![alice.address.spend],
            payee_tiers: fakes.iter().map(|k| (*k, 0)).collect(),
        };
        let (section, disclosed) =
            dfc_core::compliance::Compliance::plan(&params, &fake_ctx, &owners, &lie.openings)
                .expect("plans");
        let mut values: Vec<(u64, Scalar)> = lie
            .openings
            .iter()
            .map(|o| (o.amount.units(), o.blinding))
            .collect();
        values.extend(
            section
                .bound_values(&params, &disclosed, &lie.openings)
                .expect("each piece is under the tier-0 cap"),
        );
        four.range_proof = dfc_core::range::prove_bits(
            &mut four.range_transcript(),
            &values,
            dfc_core::range::RANGE_BITS,
            &mut rand::rngs::OsRng,
        )
        .into();
        four.compliance = Some(section);
    }
    resign(&mut four, &lie, &split_inputs);
    assert_eq!(code(client.submit(&four).await), "wrong_parties");
    assert_eq!(state(&client).await, before, "refusals changed nothing");

    tracing::info!("--- the payee adds an input of its own to pass its receipt off as change");
    let mut cosign_inputs = split_inputs.clone();
    cosign_inputs.push(SpendInput {
        id: bob.notes[0].0,
        opening: bob.notes[0].1.clone(),
        key: bob.keys.spend.clone(),
    });
    let bob_total = total.checked_add(bob.notes[0].1.amount).expect("sum");
    let cosigned = build_with(
        &params,
        TxKind::Transfer,
        Amount::ZERO,
        &cosign_inputs,
        &[
            Payment {
                to: bob.address,
                amount: amount("2000.01", &params),
                memo: Vec::new(),
            },
            Payment {
                to: alice.address,
                amount: bob_total
                    .checked_sub(amount("2000.01", &params))
                    .expect("enough"),
                memo: Vec::new(),
            },
        ],
        &BuildOptions {
            compliance: Some(ComplianceContext {
                payer_tier: 2,
                own_keys: vec![alice.address.spend, bob.address.spend],
                payee_tiers: Vec::new(),
            }),
        },
        &mut rand::rngs::OsRng,
    )
    .expect("builds: both outputs stated as change");
    assert_eq!(code(client.submit(&cosigned.tx).await), "multiple_payers");
    assert_eq!(state(&client).await, before, "refusals changed nothing");

    tracing::info!("--- holding limit: bob reaches 200.00; the next payment stays pending");
    for _ in 0..3 {
        let (p, _) = transfer(
            &params,
            &alice,
            &bob,
            t0.max_payment.units(),
            ctx(&alice, &bob),
        )
        .expect("builds");
        client.submit(&p.tx).await.expect("commits");
        alice.sync(&client).await;
    }
    bob.sync(&client).await;
    assert_eq!(bob.balance(), t0.max_balance);
    let (p, _) = transfer(&params, &alice, &bob, 4_000, ctx(&alice, &bob)).expect("builds");
    client
        .submit(&p.tx)
        .await
        .expect("the payment itself commits");
    alice.sync(&client).await;
    bob.sync(&client).await;
    assert_eq!(
        bob.balance(),
        t0.max_balance,
        "never above the holding limit"
    );
    assert_eq!(bob.held_balance(), amount("40.00", &params));
    tracing::info!("--- a claim over the limit, made by hand, is refused and changes nothing");
    let before = state(&client).await;
    let period = params.turnover_period(now_ms());
    let forced = dfc_core::claim::ClaimRequest {
        key: &bob.keys.spend,
        tier: 0,
        period,
        notes: &bob.held,
        balance: dfc_core::claim::sum_openings(bob.notes.iter().map(|(_, o)| o)).expect("sum"),
        inflow: dfc_core::claim::sum_openings(bob.claimed.iter().map(|(_, o)| o)).expect("sum"),
    };
    assert!(matches!(
        dfc_core::builder::build_claim(&params, &forced, &mut rand::rngs::OsRng),
        Err(dfc_core::BuildError::Rule(
            dfc_core::TxError::OverHoldingLimit { .. }
        ))
    ));
    let mut as_tier2 = forced.clone();
    as_tier2.tier = 2;
    let lying = dfc_core::builder::build_claim(&params, &as_tier2, &mut rand::rngs::OsRng)
        .expect("builds at tier 2");
    assert_eq!(code(client.submit(&lying).await), "wrong_tier");
    // Omitting two of his four notes from the stated balance, the claim fits tier 0 on paper.
    let mut omits = forced.clone();
    omits.balance =
        dfc_core::claim::sum_openings(bob.notes[2..].iter().map(|(_, o)| o)).expect("sum");
    let omitting =
        dfc_core::builder::build_claim(&params, &omits, &mut rand::rngs::OsRng).expect("builds");
    assert_eq!(code(client.submit(&omitting).await), "stale_balance");
    let stolen = dfc_core::claim::ClaimRequest {
        key: &erin.keys.spend,
        tier: 0,
        period,
        notes: &bob.held,
        balance: dfc_core::claim::sum_openings([]).expect("sum"),
        inflow: dfc_core::claim::sum_openings([]).expect("sum"),
    };
    let theft =
        dfc_core::builder::build_claim(&params, &stolen, &mut rand::rngs::OsRng).expect("builds");
    assert_eq!(code(client.submit(&theft).await), "claim_not_owner");
    assert_eq!(state(&client).await, before, "refusals changed nothing");

    tracing::info!("--- after paying out, bob claims what is pending within the limit");
    let out_tx = bob
        .pay(&params, &alice.address, amount("50.00", &params))
        .expect("builds");
    client.submit(&out_tx).await.expect("bob pays alice");
    bob.sync(&client).await;
    assert_eq!(bob.balance(), amount("190.00", &params));
    assert!(bob.held.is_empty());
    alice.sync(&client).await;

    tracing::info!("--- turnover limit: erin receives 1,000.00 in the period, then no more");
    let steps = t0.max_inflow.units() / t0.max_payment.units();
    for _ in 0..steps {
        let (p, _) = transfer(
            &params,
            &alice,
            &erin,
            t0.max_payment.units(),
            ctx(&alice, &erin),
        )
        .expect("builds");
        client.submit(&p.tx).await.expect("commits");
        alice.sync(&client).await;
        erin.sync(&client).await;
        let back = erin
            .pay(&params, &alice.address, t0.max_payment)
            .expect("builds");
        client.submit(&back).await.expect("erin pays it on");
        erin.sync(&client).await;
        alice.sync(&client).await;
    }
    assert_eq!(erin.balance(), Amount::ZERO);
    let (p, _) = transfer(&params, &alice, &erin, 1_000, ctx(&alice, &erin)).expect("builds");
    client.submit(&p.tx).await.expect("commits");
    alice.sync(&client).await;
    erin.sync(&client).await;
    assert_eq!(
        erin.balance(),
        Amount::ZERO,
        "the period's inflow is used up"
    );
    assert_eq!(erin.held_balance(), amount("10.00", &params));

    tracing::info!("--- a receipt at or above the threshold is disclosed, summed over outputs");
    let (big, inputs) =
        transfer(&params, &alice, &carol, 80_000, ctx(&alice, &carol)).expect("builds");
    assert_eq!(
        big.tx
            .compliance
            .as_ref()
            .expect("section")
            .disclosures
            .len(),
        1
    );
    let before = state(&client).await;
    let mut missing = big.tx.clone();
    missing
        .compliance
        .as_mut()
        .expect("section")
        .disclosures
        .clear();
    resign(&mut missing, &big, &inputs);
    assert_eq!(code(client.submit(&missing).await), "bad_range_proof");
    let (other, _) =
        transfer(&params, &alice, &carol, 90_000, ctx(&alice, &carol)).expect("builds");
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

    tracing::info!(
        "--- the real wallet CLI: paid while offline, it claims within its limit at sync"
    );
    let dave = cli::WalletCli::new("dave", tmp.path().join("dave"), &bin_path("dfc-wallet"));
    dave.ok(&["create"]).expect("create");
    dave.ok(&["--bank", &url, "register"]).expect("register");
    let dave_addr = dave.address().expect("address");
    let mut dave_w = TestWallet {
        address: dave_addr.parse().expect("address"),
        ..TestWallet::new("dave", &params)
    };
    dave_w.tier = 0;
    for units in [5_000, 5_000, 5_000, 4_000, 3_000] {
        let (p, _) =
            transfer(&params, &alice, &dave_w, units, ctx(&alice, &dave_w)).expect("builds");
        client
            .submit(&p.tx)
            .await
            .expect("paying dave while his wallet is offline");
        alice.sync(&client).await;
    }
    dave.ok(&["--bank", &url, "sync"]).expect("sync");
    let balance = dave.ok(&["--bank", &url, "balance"]).expect("balance");
    assert_eq!(balance["spendable_units"], 19_000, "{balance}");
    assert_eq!(balance["held_units"], 3_000, "{balance}");
    assert_eq!(
        balance["total_units"], 19_000,
        "held money is not in the total: {balance}"
    );
    let history = dave.ok(&["--bank", &url, "history"]).expect("history");
    let held: u64 = history
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["held_units"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(held, 3_000, "the history names the held receipt: {history}");

    tracing::info!("--- the held 30.00 is redeemed to dave's bank account (reverse waterfall)");
    let supply_before = state(&client).await.supply;
    let red = dave
        .ok(&["--bank", &url, "redeem", "--amount", "30.00"])
        .expect("redeem");
    let txid = red["txid"].as_str().expect("txid").to_string();
    for op in ["0", "1"] {
        dfc_bank_ok(&[
            "redeem",
            "approve",
            &txid,
            "--data",
            &data_s,
            "--operator",
            op,
            "--bank",
            &url,
        ]);
    }
    dave.ok(&["--bank", &url, "sync"]).expect("sync");
    let balance = dave.ok(&["--bank", &url, "balance"]).expect("balance");
    assert_eq!(balance["spendable_units"], 19_000, "{balance}");
    assert_eq!(balance["held_units"], 0, "{balance}");
    assert_eq!(
        state(&client).await.supply.units(),
        supply_before.units() - 3_000,
        "the held money left circulation"
    );

    tracing::info!("--- dave pays within the caps; over the tier-0 cap is refused");
    let bob_addr = bob.address.to_string();
    dave.ok(&[
        "--bank", &url, "pay", "--to", &bob_addr, "--amount", "40.00",
    ])
    .expect("dave pays bob within the caps");
    let err = dave
        .err(&[
            "--bank", &url, "pay", "--to", &bob_addr, "--amount", "60.00",
        ])
        .expect("over the tier-0 cap is refused");
    assert!(!err.message.is_empty());
    let balance = dave.ok(&["--bank", &url, "balance"]).expect("balance");
    assert_eq!(balance["spendable_units"], 15_000, "{balance}");

    tracing::info!(
        "--- a transaction of this ledger is refused by another one made with the defaults"
    );
    let other_dir = tmp.path().join("other");
    dfc_bank_ok(&["init", "--data", other_dir.to_str().expect("utf-8")]);
    let other_node = Node::start(&other_dir);
    let (p, _) = transfer(&params, &alice, &carol, 100, ctx(&alice, &carol)).expect("builds");
    let refused = code(other_node.client().submit(&p.tx).await);
    assert!(
        refused == "wrong_genesis" || refused == "wrong_network",
        "refused as {refused}"
    );

    tracing::info!("--- the audit replays every claim against the holdings it rebuilds");
    let out = dfc_bank(&["audit", "--data", &data_s, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
