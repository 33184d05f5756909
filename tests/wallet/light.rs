//! Light wallets and reads that need a reason (issues 18 and 15), against the real binaries:
//! while other wallets transact (`dfc-sim load`), a wallet syncing by filter gets exactly its
//! notes and balance and downloads far less than the blocks; a real answer tampered with is
//! refused; blocks, the registry, the audit log and evidence are refused without a credential
//! (401) and to a wallet key (403); one wallet cannot read another's payments; a credential
//! cannot be replayed, reused for another request or used late; an auditor key reads and its
//! remote audit passes.

use std::process::Command;

use anyhow::{ensure, Context, Result};
use dfc_central_bank::client::BankClient;
use dfc_central_bank::datadir;
use dfc_core::light::{LightError, LightSync, ReadAuth, READ_AUTH_HEADER};
use dfc_core::{Address, Hash32, NetworkParams, SigningKey};
use rand::RngCore;

use crate::bank::Bank;
use crate::cli::WalletCli;

/// Runs `dfc-sim load` with `payments` transfers among its own wallets.
pub(crate) fn load(ops: &Bank, payments: usize) -> Result<()> {
    let out = Command::new(dfc_tests::bin_path("dfc-sim"))
        .args(["load", "--bank", &ops.url(), "--data"])
        .arg(ops.data())
        .args([
            "--payments",
            &payments.to_string(),
            "--concurrency",
            "4",
            "--verify-samples",
            "1",
            "--json",
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "dfc-sim load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A raw GET with an optional credential header; returns the status, error code and body size.
async fn get(url: &str, path: &str, auth: Option<String>) -> Result<(u16, String, usize)> {
    let mut req = reqwest::Client::new().get(format!("{url}{path}"));
    if let Some(a) = auth {
        req = req.header(READ_AUTH_HEADER, a);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    Ok((status, code, body.len()))
}

fn credential(params: &NetworkParams, path: &str, key: &SigningKey, time_ms: u64) -> String {
    let mut nonce = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut nonce);
    ReadAuth::sign(params, path, key, time_ms, Hash32(nonce)).to_header()
}

/// Bytes of every page of `path_of(from)` until the tip, signed by `key`.
async fn bytes_to_tip(
    url: &str,
    params: &NetworkParams,
    key: &SigningKey,
    tip: u64,
    light: Option<&str>,
) -> Result<usize> {
    let mut total = 0;
    let mut from = 0u64;
    while from <= tip {
        let path = match light {
            Some(k) => format!("/v1/light/sync?key={k}&from={from}"),
            None => format!("/v1/blocks?from={from}&limit=500"),
        };
        let now = datadir::now_ms();
        let resp = reqwest::Client::new()
            .get(format!("{url}{path}"))
            .header(READ_AUTH_HEADER, credential(params, &path, key, now))
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        ensure!(status == 200, "{path}: {status}");
        total += body.len();
        from = match light {
            // One answer covers up to the tip (or up to its transaction limit).
            Some(_) => {
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                v["to"].as_u64().context("to")? + 1
            }
            None => from + 500,
        };
    }
    Ok(total)
}

pub fn run(ops: &Bank, alice: &WalletCli, bob: &WalletCli) -> Result<()> {
    let url = ops.url();
    let params = datadir::load_params(ops.data())?;
    let a_addr = alice.address()?;
    let b_addr = bob.address()?;
    let alice_key: Address = a_addr.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let alice_hex = hex::encode(alice_key.spend.to_bytes());
    let others: usize = std::env::var("DFC_LIGHT_LOAD_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);

    tracing::info!(
        others,
        "--- others transact while alice is paid an issuance and by bob"
    );
    load(ops, others)?;
    ops.issue(&a_addr, "150.00")?;
    ops.issue(&b_addr, "100.00")?;
    let synced = bob.ok(&["sync"])?;
    ensure!(bob.total()? == 10_000, "bob holds his issuance: {synced}");
    let paid = bob.ok(&[
        "pay", "--to", &a_addr, "--amount", "20.00", "--memo", "light",
    ])?;
    let paid_txid = paid["txid"].as_str().context("txid")?.to_string();
    load(ops, others)?;

    tracing::info!("--- alice syncs by filter: exactly her notes and balance");
    let report = alice.ok(&["sync"])?;
    let tip = ops.supply()?.height;
    ensure!(
        report["blocks"].as_u64() == Some(tip + 1),
        "every header verified: {report}"
    );
    ensure!(report["notes_received"] == 2, "{report}");
    ensure!(alice.total()? == 17_000, "alice's balance");
    let hist = alice.ok(&["history"])?;
    let kinds: Vec<&str> = hist
        .as_array()
        .context("history is a list")?
        .iter()
        .filter_map(|h| h["kind"].as_str())
        .collect();
    ensure!(kinds.len() == 2, "only alice's payments: {hist}");
    ensure!(kinds.contains(&"issue") && kinds.contains(&"incoming"));

    tracing::info!("--- bytes: alice's light sync from genesis against every block");
    let auditor = datadir::read_key(&datadir::auditor_key_path(ops.data(), 0))?;
    let light = ops.block_on(bytes_to_tip(
        &url,
        &params,
        &auditor,
        tip,
        Some(alice_hex.as_str()),
    ))?;
    let full = ops.block_on(bytes_to_tip(&url, &params, &auditor, tip, None))?;
    let txs = ops.supply()?.tx_count;
    tracing::info!(
        txs,
        blocks = tip + 1,
        light,
        full,
        ratio = full as f64 / light as f64,
        "bytes per sync from genesis"
    );
    ensure!(light < full, "light {light} B is not below full {full} B");

    tracing::info!("--- a real answer, tampered with, is refused by the wallet's checks");
    let reader = ops.node.client();
    let answer = ops.block_on(reader.light_sync(&alice_key.spend, 0))?;
    ensure!(
        answer.txs.len() >= 3,
        "issue, bob's payment, and their claims"
    );
    let started = std::time::Instant::now();
    answer
        .verify(&alice_key.spend, 0, None, &params)
        .map_err(|e| anyhow::anyhow!("honest answer refused: {e}"))?;
    let light_verify = started.elapsed();
    // What full sync checks before it scans: every block's link, signature and root.
    let mut blocks = Vec::new();
    while blocks.len() as u64 <= tip {
        let page = ops.block_on(reader.blocks(blocks.len() as u64, 500))?;
        ensure!(!page.blocks.is_empty(), "blocks up to the tip");
        blocks.extend(page.blocks);
    }
    let started = std::time::Instant::now();
    let mut prev = None;
    for b in &blocks {
        b.check_link(prev, &params.node_key)?;
        prev = Some(&b.header);
    }
    let full_verify = started.elapsed();
    tracing::info!(
        light_verify_us = u64::try_from(light_verify.as_micros()).unwrap_or(u64::MAX),
        full_verify_us = u64::try_from(full_verify.as_micros()).unwrap_or(u64::MAX),
        "wallet-side verification (figures only, not asserted)"
    );
    let resign = |mut a: LightSync| -> Result<LightSync> {
        let node = datadir::read_key(&ops.data().join("node.key"))?;
        a.signature = node.sign(&a.signing_hash(params.network_id).0);
        Ok(a)
    };
    // The node's own key re-signs each lie: what is caught is the lie, not a bad signature.
    let mut fake = answer.clone();
    let other = fake.txs[1].tx.clone();
    fake.txs[0].tx = other;
    ensure!(matches!(
        resign(fake)?.verify(&alice_key.spend, 0, None, &params),
        Err(LightError::BadProof { .. }) | Err(LightError::OutOfOrder { .. })
    ));
    let mut fake = answer.clone();
    fake.headers
        .first_mut()
        .context("alice's blocks below the anchor")?
        .header
        .supply = dfc_core::Amount::from_units(1)?;
    ensure!(matches!(
        resign(fake)?.verify(&alice_key.spend, 0, None, &params),
        Err(LightError::Chain(_))
    ));
    let mut dropped = answer.clone();
    dropped.txs.remove(0);
    ensure!(matches!(
        dropped.verify(&alice_key.spend, 0, None, &params),
        Err(LightError::BadAnswerSignature)
    ));
    ensure!(!answer.omits(&answer.txs[0].tx.id(), answer.txs[0].height));

    tracing::info!("--- without a credential: 401 on every non-public read; public ones stay open");
    ops.block_on(async {
        for path in [
            "/v1/blocks?from=0&limit=1",
            "/v1/wallets",
            "/v1/audit-log?from=1",
            "/v1/evidence",
            "/v1/proposals",
            &format!("/v1/wallets/{alice_hex}"),
            &format!("/v1/light/sync?key={alice_hex}&from=0"),
            &format!("/v1/light/notes?key={alice_hex}"),
        ] {
            let (status, code, _) = get(&url, path, None).await?;
            ensure!(
                status == 401 && code == "read_auth_required",
                "{path}: {status} {code}"
            );
        }
        for path in [
            "/healthz",
            "/v1/params",
            "/v1/supply",
            "/v1/checkpoint",
            "/v1/light/headers?from=0&limit=5",
        ] {
            let (status, code, _) = get(&url, path, None).await?;
            ensure!(status == 200, "{path} is public: {status} {code}");
        }
        anyhow::Ok(())
    })?;

    tracing::info!("--- a wallet key: 403 on blocks, registry, audit log, evidence, others' notes");
    let mallory = SigningKey::from_seed(&[0x4d; 32]);
    let mallory_hex = hex::encode(mallory.public().to_bytes());
    ops.block_on(async {
        for path in [
            "/v1/blocks?from=0&limit=1".to_string(),
            "/v1/wallets".to_string(),
            "/v1/audit-log?from=1".to_string(),
            "/v1/evidence".to_string(),
            format!("/v1/light/sync?key={alice_hex}&from=0"),
            format!("/v1/light/notes?key={alice_hex}"),
        ] {
            let auth = credential(&params, &path, &mallory, datadir::now_ms());
            let (status, code, _) = get(&url, &path, Some(auth)).await?;
            ensure!(
                status == 403 && code == "read_forbidden",
                "{path}: {status} {code}"
            );
        }
        // Another wallet's registry entry: only what a payer needs (tier, frozen).
        let path = format!("/v1/wallets/{alice_hex}");
        let auth = credential(&params, &path, &mallory, datadir::now_ms());
        let resp = reqwest::Client::new()
            .get(format!("{url}{path}"))
            .header(READ_AUTH_HEADER, auth)
            .send()
            .await?;
        let info: dfc_core::api::WalletInfo = resp.json().await?;
        ensure!(info.label.is_empty() && info.registered_ms == 0, "{info:?}");
        // Its own (empty) answer is served.
        let own = format!("/v1/light/sync?key={mallory_hex}&from=0");
        let auth = credential(&params, &own, &mallory, datadir::now_ms());
        let (status, code, _) = get(&url, &own, Some(auth.clone())).await?;
        ensure!(status == 200, "own light sync: {status} {code}");

        tracing::info!(
            "--- a credential cannot be replayed, moved to another request, or used late"
        );
        let (status, code, _) = get(&url, &own, Some(auth.clone())).await?;
        ensure!(
            status == 401 && code == "replayed_read_credential",
            "{status} {code}"
        );
        let moved = format!("/v1/light/sync?key={mallory_hex}&from=1");
        let (status, code, _) = get(&url, &moved, Some(auth)).await?;
        ensure!(
            status == 401 && code == "bad_read_signature",
            "{status} {code}"
        );
        let late = credential(&params, &own, &mallory, datadir::now_ms() - 3_600_000);
        let (status, code, _) = get(&url, &own, Some(late)).await?;
        ensure!(
            status == 401 && code == "stale_read_credential",
            "{status} {code}"
        );
        let (status, code, _) = get(&url, &own, Some("not-a-credential".into())).await?;
        ensure!(
            status == 401 && code == "bad_read_credential",
            "{status} {code}"
        );
        anyhow::Ok(())
    })?;

    tracing::info!("--- a wallet cannot full-sync; its state is unchanged");
    let msg = crate::refused(alice, &["sync", "--full"], &[], "node_error")?;
    ensure!(msg.contains("read_forbidden"), "{msg}");

    tracing::info!("--- the auditor key reads the registry and its remote audit passes");
    let wallets = ops.block_on(reader.wallets())?;
    ensure!(wallets.len() >= 2, "the auditor reads the registry");
    let key = datadir::auditor_key_path(ops.data(), 0);
    let out = dfc_tests::dfc_bank(&[
        "audit",
        "--bank",
        &url,
        "--key",
        key.to_str().context("UTF-8 path")?,
        "--json",
    ]);
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| String::from_utf8_lossy(&out.stderr).into_owned())?;
    ensure!(audit["pass"] == true, "remote audit: {audit}");
    ensure!(audit["report"]["height"].as_u64() >= Some(tip), "{audit}");
    let unprivileged: BankClient = BankClient::new(&url).with_reader(&params, mallory);
    ensure!(
        ops.block_on(unprivileged.blocks(0, 1))
            .err()
            .and_then(|e| e.code().map(str::to_string))
            .as_deref()
            == Some("read_forbidden")
    );
    crate::omission::run(ops, alice, bob, &paid_txid)?;
    crate::light_away::run(ops, alice, bob, others)?;
    crate::light_bench::run(ops, alice, bob)?;
    Ok(())
}
