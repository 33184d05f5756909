//! End-to-end test of the controls a central bank deploys a retail CBDC for (issue 14), with the
//! real `dfc-bank` and `dfc-wallet` binaries on loopback ports and real SQLite files:
//!
//! - two networks created with the defaults get different network ids, and one refuses the
//!   other's transaction;
//! - issuance proposals disclose every output's recipient and amount (`dfc-bank proposals`), and
//!   a proposal whose openings are missing or lie is refused;
//! - a frozen wallet moves no value by any path: an online payment, a redemption proposed before
//!   the freeze and approved after it, an issuance to it (proposed before or after), its purse
//!   spent online, its purse key registered as a wallet of its own, its offline packet settled.
//!   Each is refused with a typed error and the ledger is unchanged; the packet is held and
//!   settles once the wallet is unfrozen (the rule in docs/offline.md);
//! - settlement refuses a forged checkpoint, a bad Merkle proof and a packet made with an expired
//!   certificate, while a packet accepted before expiry still settles after it;
//! - an expired proposal cannot be approved, and the audit log records who proposed and approved
//!   what.

#[path = "../wallet/bank.rs"]
#[allow(dead_code)]
mod bank;
#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bank::Bank;
use cli::WalletCli;
use dfc_client::{BankClient, ClientError};
use dfc_core::api::{OperatorAction, RegisterRequest};
use dfc_core::offline::PaymentPacket;
use dfc_core::offline_api::PurseRequest;
use dfc_core::proposal::DisclosedOpening;
use dfc_core::{build, Address, Amount, Payment, SpendInput, TxKind};
use dfc_tests::{amount, dfc_bank, sandbox_operator, TestWallet};
use serde_json::Value;

/// A guard against a hung node, not a performance assertion.
const DEADLINE: Duration = Duration::from_secs(120);

fn now_ms() -> u64 {
    dfc_central_bank::datadir::now_ms()
}

/// `dfc-bank ARGS --data DATA --operator OP --bank URL --json`; its output, success or not.
fn op(data: &Path, url: &str, operator: usize, args: &[&str]) -> Result<std::process::Output> {
    let data = data.to_str().context("utf-8 path")?;
    let operator = operator.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--data",
        data,
        "--operator",
        &operator,
        "--bank",
        url,
        "--json",
    ]);
    Ok(dfc_bank(&all))
}

/// Runs an operator command that must be refused with `code`.
fn op_refused(data: &Path, url: &str, operator: usize, args: &[&str], code: &str) -> Result<()> {
    let out = op(data, url, operator, args)?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && err.contains(code),
        "dfc-bank {args:?} should be refused with {code}: {} / {err}",
        String::from_utf8_lossy(&out.stdout)
    );
    tracing::info!(?args, code, "refused as expected");
    Ok(())
}

fn proposals(data: &Path, url: &str) -> Result<Vec<Value>> {
    let out = op(data, url, 0, &["proposals"])?;
    ensure!(out.status.success(), "dfc-bank proposals: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(v.as_array().context("a list")?.clone())
}

/// What a refusal must leave unchanged: the ledger summary, the registry and the evidence.
fn ledger_state(rt: &tokio::runtime::Runtime, c: &BankClient) -> Result<String> {
    let s = rt.block_on(c.supply())?;
    let wallets = rt.block_on(c.wallets())?;
    let evidence = rt.block_on(c.evidence(None, None))?;
    Ok(format!(
        "{s:?} {} {}",
        serde_json::to_string(&wallets)?,
        evidence.len()
    ))
}

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Result<String> {
    match r {
        Err(ClientError::Rejected { code, .. }) => Ok(code),
        other => bail!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn controls_cannot_be_walked_around() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let bin = dfc_tests::bin_path("dfc-wallet");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let data = tmp.path().join("bank");

    tracing::info!("--- two networks created with the defaults: different network ids");
    let mut bank = Bank::start(&data)?;
    let other = Bank::start(&tmp.path().join("other"))?;
    let client = bank.node.client();
    let params = rt.block_on(client.params())?;
    let other_params = rt.block_on(other.node.client().params())?;
    ensure!(
        params.network_id != other_params.network_id,
        "both networks got id {}",
        params.network_id
    );
    let url = bank.url();

    tracing::info!("--- wallets: frank (to be frozen), pat and vic (payees), sam (short purse)");
    let cli = |name: &str| WalletCli::new(name, tmp.path().join(name), &bin);
    let (frank, pat, vic, sam) = (cli("frank"), cli("pat"), cli("vic"), cli("sam"));
    for w in [&frank, &pat, &vic, &sam] {
        w.ok(&["create"])?;
        w.ok(&["--bank", &url, "register", "--label", &w.name])?;
    }
    let (frank_addr, pat_addr, vic_addr) = (frank.address()?, pat.address()?, vic.address()?);
    bank.issue(&frank_addr, "100.00")?;
    // A second note, so a payment is possible while the redemption below holds the first.
    bank.issue(&frank_addr, "5.00")?;
    bank.issue(&sam.address()?, "10.00")?;

    tracing::info!("--- dfc-bank proposals lists every output's recipient and amount");
    let list = proposals(&data, &url)?;
    let p = list
        .iter()
        .find(|p| p["outputs"][0]["address"] == frank_addr.as_str() && p["amount"] == 10_000)
        .context("the issuance to frank is listed")?;
    ensure!(
        p["outputs"][0]["label"] == "frank"
            && p["outputs"][0]["amount"] == 10_000
            && p["proposed_by"] == 0
            && p["state"] == "committed"
            && p["expires_ms"].as_u64() > Some(0),
        "proposal: {p}"
    );
    let human = dfc_tests::dfc_bank_ok(&[
        "proposals",
        "--bank",
        &url,
        "--data",
        &data.display().to_string(),
    ]);
    ensure!(
        human.contains("100.00 DFC  to frank") && human.contains("proposed by operator 0"),
        "{human}"
    );

    tracing::info!("--- an issuance split 0.01 / 99.99 shows both outputs; openings must open");
    let op0 = sandbox_operator(&data, &params, 0);
    let split = build(
        &params,
        TxKind::Issue,
        amount("100.00", &params),
        &[],
        &[
            Payment {
                to: pat_addr.parse()?,
                amount: amount("0.01", &params),
                memo: Vec::new(),
            },
            Payment {
                to: vic_addr.parse()?,
                amount: amount("99.99", &params),
                memo: Vec::new(),
            },
        ],
        &mut rand::rngs::OsRng,
    )?;
    let txid = split.tx.id();
    let openings = dfc_core::proposal::disclose(&split.openings);
    let propose = |openings: Vec<DisclosedOpening>| {
        op0.request(
            &params,
            OperatorAction::Propose {
                tx: split.tx.clone(),
                approval: op0.approval(&txid),
                openings,
            },
        )
    };
    let before = ledger_state(&rt, &client)?;
    let n_before = proposals(&data, &url)?.len();
    let code = code_of(rt.block_on(client.operator(&propose(Vec::new()))))?;
    ensure!(code == "openings_required", "{code}");
    let mut lying = openings.clone();
    lying.swap(0, 1);
    let code = code_of(rt.block_on(client.operator(&propose(lying))))?;
    ensure!(code == "bad_opening", "{code}");
    ensure!(
        ledger_state(&rt, &client)? == before && proposals(&data, &url)?.len() == n_before,
        "refused proposals changed nothing"
    );
    rt.block_on(client.operator(&propose(openings)))?;
    let list = proposals(&data, &url)?;
    let p = list
        .iter()
        .find(|p| p["txid"] == txid.to_hex().as_str())
        .context("the split issuance is listed")?;
    let outs = p["outputs"].as_array().context("outputs")?;
    ensure!(
        outs.len() == 2
            && outs[0]["label"] == "pat"
            && outs[0]["address"] == pat_addr.as_str()
            && outs[0]["amount"] == 1
            && outs[1]["label"] == "vic"
            && outs[1]["amount"] == 9_999
            && p["state"] == "pending",
        "every output is shown: {p}"
    );

    tracing::info!("--- a transaction of this network is refused by the other one");
    let mut mallory = TestWallet::new("mallory", &params);
    rt.block_on(client.register(&mallory.register_request()))?;
    bank.issue(&mallory.address.to_string(), "50.00")?;
    rt.block_on(mallory.sync(&client));
    let foreign_tx = mallory.pay(&params, &vic_addr.parse()?, amount("1.00", &params))?;
    let code = code_of(rt.block_on(other.node.client().submit(&foreign_tx)))?;
    ensure!(code == "wrong_network", "{code}");
    drop(other);

    tracing::info!("--- sam funds a purse valid 10 s and pays vic twice; vic accepts the first");
    sam.ok(&["sync"])?;
    let fund = sam.ok(&[
        "offline", "fund", "--amount", "5.00", "--notes", "2", "--ttl", "10s",
    ])?;
    let sam_expiry = fund["expires_ms"].as_u64().context("expiry")?;
    let (s1, s2) = (tmp.path().join("s1.pkt"), tmp.path().join("s2.pkt"));
    for f in [&s1, &s2] {
        let f = f.to_str().context("utf-8")?;
        sam.ok(&[
            "offline", "pay", "--to", &vic_addr, "--amount", "1.00", "--out", f,
        ])?;
    }
    vic.ok(&["offline", "accept", s1.to_str().context("utf-8")?])?;

    tracing::info!(
        "--- before the freeze: frank pays pat offline, asks a redemption, is proposed an issuance"
    );
    frank.ok(&["sync"])?;
    frank.ok(&["offline", "fund", "--amount", "20.00", "--notes", "2"])?;
    frank.ok(&["sync"])?;
    let redeem = frank.ok(&["redeem", "--amount", "10.00"])?;
    let redeem_txid = redeem["txid"].as_str().context("txid")?.to_string();
    // Paid after frank's last sync: a sync would settle it at once (whoever is online first).
    let f1 = tmp.path().join("f1.pkt");
    frank.ok(&[
        "offline",
        "pay",
        "--to",
        &pat_addr,
        "--amount",
        "3.00",
        "--out",
        f1.to_str().context("utf-8")?,
    ])?;
    pat.ok(&["offline", "accept", f1.to_str().context("utf-8")?])?;
    let out = op(
        &data,
        &url,
        0,
        &["issue", "propose", "--to", &frank_addr, "--amount", "5.00"],
    )?;
    ensure!(out.status.success(), "{out:?}");
    let issue_to_frank: Value = serde_json::from_slice(&out.stdout)?;
    let issue_txid = issue_to_frank["proposal"]["txid"]
        .as_str()
        .context("txid")?
        .to_string();

    tracing::info!("--- mallory certifies her purse, fills it; then mallory and frank are frozen");
    let purse_key = mallory.keys.purse_key(0);
    let purse_addr = Address {
        network: params.network_id,
        spend: purse_key.public(),
        view: mallory.keys.view.public(),
    };
    let req = PurseRequest::new(
        params.network_id,
        &mallory.keys.spend,
        purse_key.public(),
        None,
        now_ms(),
    );
    rt.block_on(client.purse(&req))?;
    let to_purse = mallory.pay(&params, &purse_addr, amount("5.00", &params))?;
    rt.block_on(client.submit(&to_purse))?;
    let purse_note = to_purse
        .outputs
        .iter()
        .zip(to_purse.output_ids())
        .find(|(o, _)| o.owner == purse_key.public())
        .map(|(o, id)| (id, o.open(&mallory.keys.view)))
        .context("the purse note")?;
    let purse_opening = purse_note.1?;
    bank.set_frozen(&frank_addr, true)?;
    bank.set_frozen(&mallory.address.to_string(), true)?;

    tracing::info!("--- a frozen wallet moves no value by any path, and nothing changes");
    let before = ledger_state(&rt, &client)?;
    let e = frank.err(&["pay", "--to", &pat_addr, "--amount", "1.00"])?;
    ensure!(e.code == "frozen_wallet", "online payment: {e:?}");
    op_refused(
        &data,
        &url,
        1,
        &["redeem", "approve", &redeem_txid],
        "frozen_wallet",
    )?;
    op_refused(
        &data,
        &url,
        1,
        &["issue", "approve", &issue_txid],
        "frozen_wallet",
    )?;
    op_refused(
        &data,
        &url,
        0,
        &["issue", "propose", "--to", &frank_addr, "--amount", "1.00"],
        "frozen_wallet",
    )?;
    let packet = std::fs::read(&f1)?;
    let packet = PaymentPacket::decode(&packet)?;
    let code = code_of(rt.block_on(client.settle(&packet.to_text())))?;
    ensure!(code == "frozen_wallet", "settlement: {code}");
    let code = code_of(rt.block_on(client.submit(&packet.tx)))?;
    ensure!(
        code == "frozen_wallet",
        "the packet's transaction online: {code}"
    );
    let sync = pat.ok(&["sync"])?;
    ensure!(
        sync["offline"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["state"] == "pending"),
        "pat's packet is held, not failed: {sync}"
    );
    let fake = RegisterRequest::new(purse_addr, "not mallory".into(), &purse_key);
    let code = code_of(rt.block_on(client.register(&fake)))?;
    ensure!(
        code == "purse_key",
        "purse key registered as a wallet: {code}"
    );
    let spend_purse = build(
        &params,
        TxKind::Transfer,
        Amount::ZERO,
        &[SpendInput {
            id: purse_note.0,
            opening: purse_opening.clone(),
            key: purse_key.clone(),
        }],
        &[Payment {
            to: vic_addr.parse()?,
            amount: purse_opening.amount,
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )?;
    let code = code_of(rt.block_on(client.submit(&spend_purse.tx)))?;
    ensure!(code == "frozen_wallet", "the purse spent online: {code}");
    ensure!(
        ledger_state(&rt, &client)? == before,
        "a refusal changed the ledger or the registry"
    );
    let note = rt.block_on(client.note_status(&packet.tx.inputs[0]))?;
    ensure!(!note.spent, "frank's purse note is held unspent");

    tracing::info!("--- frank is unfrozen: pat's held packet settles at its next sync");
    bank.set_frozen(&frank_addr, false)?;
    let sync = pat.ok(&["sync"])?;
    ensure!(
        sync["offline"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["state"] == "settled"),
        "the held packet settles: {sync}"
    );

    tracing::info!("--- settlement refuses a forged checkpoint and a bad Merkle proof");
    let f2 = tmp.path().join("f2.pkt");
    frank.ok(&[
        "offline",
        "pay",
        "--to",
        &pat_addr,
        "--amount",
        "2.00",
        "--out",
        f2.to_str().context("utf-8")?,
    ])?;
    let good = PaymentPacket::decode(&std::fs::read(&f2)?)?;
    let before = ledger_state(&rt, &client)?;
    let mut forged = good.clone();
    forged.checkpoint.ledger_root.0[0] ^= 1;
    let code = code_of(rt.block_on(client.settle(&forged.to_text())))?;
    ensure!(code == "bad_checkpoint", "forged checkpoint: {code}");
    let mut bad_proof = good.clone();
    match bad_proof.inputs[0].proof.siblings.first_mut() {
        Some(s) => s[0] ^= 1,
        None => bad_proof.inputs[0].proof.index += 1,
    }
    let code = code_of(rt.block_on(client.settle(&bad_proof.to_text())))?;
    ensure!(code == "bad_inclusion_proof", "bad proof: {code}");
    ensure!(
        ledger_state(&rt, &client)? == before,
        "refused settlements changed nothing (no evidence either)"
    );
    rt.block_on(client.settle(&good.to_text()))?;

    tracing::info!("--- sam's certificate expires: a packet made after it is refused, one accepted before settles");
    let wait = sam_expiry.saturating_sub(now_ms()) + 500;
    std::thread::sleep(Duration::from_millis(wait));
    let mut late = PaymentPacket::decode(&std::fs::read(&s2)?)?;
    let fresh = rt.block_on(client.checkpoint_proofs(&late.tx.inputs))?;
    ensure!(fresh.checkpoint.time_ms > sam_expiry);
    late.checkpoint = fresh.checkpoint;
    for (i, p) in late.inputs.iter_mut().zip(fresh.proofs) {
        i.proof = p;
    }
    let before = ledger_state(&rt, &client)?;
    let code = code_of(rt.block_on(client.settle(&late.to_text())))?;
    ensure!(code == "certificate_expired", "made after expiry: {code}");
    ensure!(ledger_state(&rt, &client)? == before, "nothing changed");
    let sync = vic.ok(&["sync"])?;
    ensure!(
        sync["offline"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["state"] == "settled"),
        "accepted before expiry, settled after it: {sync}"
    );

    tracing::info!("--- proposals live 1 s on a restarted node: an expired one cannot be approved");
    bank.node.restart_with(&["--proposal-ttl", "1s"]);
    let url = bank.url();
    let out = op(
        &data,
        &url,
        0,
        &["issue", "propose", "--to", &vic_addr, "--amount", "7.00"],
    )?;
    ensure!(out.status.success(), "{out:?}");
    let proposed: Value = serde_json::from_slice(&out.stdout)?;
    let short_txid = proposed["proposal"]["txid"]
        .as_str()
        .context("txid")?
        .to_string();
    let start = Instant::now();
    loop {
        let list = proposals(&data, &url)?;
        if list
            .iter()
            .any(|p| p["txid"] == short_txid.as_str() && p["state"] == "expired")
        {
            break;
        }
        ensure!(start.elapsed() < DEADLINE, "the proposal never expired");
        std::thread::sleep(Duration::from_millis(200));
    }
    let client = bank.node.client();
    let before = ledger_state(&rt, &client)?;
    op_refused(
        &data,
        &url,
        1,
        &["issue", "approve", &short_txid],
        "proposal_expired",
    )?;
    ensure!(ledger_state(&rt, &client)? == before, "nothing changed");

    tracing::info!("--- the audit log records who proposed and approved what");
    let log = rt.block_on(client.audit_log(1))?;
    let frank_issue = log
        .iter()
        .find(|e| e.action == "propose" && e.detail.contains(&frank_addr))
        .context("the proposal of frank's issuance is logged")?;
    let detail: Value = serde_json::from_str(&frank_issue.detail)?;
    ensure!(
        frank_issue.operator == Some(0)
            && detail["outputs"][0]["amount_units"] == 10_000
            && detail["outputs"][0]["label"] == "frank",
        "{frank_issue:?}"
    );
    let txid = detail["txid"].as_str().context("txid")?;
    ensure!(
        log.iter().any(|e| e.action == "approve"
            && e.operator == Some(1)
            && e.detail.contains(txid)
            && e.detail.contains("\"amount_units\":10000")),
        "the approval of frank's issuance is logged with what it approved"
    );
    let audit = bank.audit()?;
    ensure!(audit.contains("PASS"), "{audit}");
    Ok(())
}
