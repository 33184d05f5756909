//! End-to-end test of operator co-signed checkpoints (issue 20) with the real `dfc-bank` and
//! `dfc-wallet` binaries on loopback ports and real SQLite files:
//!
//! - one operator alone cannot co-sign a checkpoint into force (`checkpoint sign` by one of a
//!   2-of-3 leaves it unanchored; its key under another index, the node key, another block and
//!   another network are refused);
//! - a second operator's signature anchors it, a purse certificate issued then names it, and
//!   `dfc-bank audit` reports the anchored height;
//! - `dfc-bank checkpoint watch --every 2` run by two operators co-signs the even heights as the
//!   chain grows, unattended;
//! - a node key rotated by 2 of 3 operators keeps the chain auditable: blocks from the change's
//!   height are signed by the new key, payments go through before and after, wallets sync across
//!   it, `dfc-bank audit` passes; one operator alone cannot rotate it, a node cannot be rotated to
//!   a key it does not hold, and a block after the height signed by the old key fails the audit;
//! - a regulator key rotated by 2 of 3 operators: payments at or above the reporting threshold
//!   are disclosed to the old key before the height and to the new key after it; each key reads
//!   the disclosures of its own heights only;
//! - a copy of the ledger in which a committed block is rewritten and the chain re-signed from
//!   there with the node key alone (blocks and receipts) fails `dfc-bank audit` at the first
//!   co-signed checkpoint, naming its height; with the table of signatures deleted as well, the
//!   checkpoints kept outside the node (`audit --cosigned FILE`) still fail it.

#[path = "../wallet/bank.rs"]
#[allow(dead_code)]
mod bank;
#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;

use std::path::Path;

use anyhow::{ensure, Context, Result};
use bank::Bank;
use cli::WalletCli;
use dfc_central_bank::client::ClientError;
use dfc_core::cosign::{ChainPoint, CheckpointSignature};
use dfc_core::{BlockHeader, Hash32, IssuerSignature, NetworkParams, Signature};
use dfc_tests::{dfc_bank, sandbox_operator};
use serde_json::Value;

fn rejected_code(e: &ClientError) -> &str {
    match e {
        ClientError::Rejected { code, .. } => code,
        _ => "",
    }
}

fn audit(data: &Path, extra: &[&str]) -> Result<Value> {
    let d = data.to_str().context("utf-8")?;
    let mut args = vec!["audit", "--data", d, "--json"];
    args.extend_from_slice(extra);
    let out = dfc_bank(&args);
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "audit printed {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Rewrites block `from` (its time, one millisecond earlier) and re-signs it and every later
/// block, with its receipts, with the node key alone: what a holder of the node key and the
/// database can do.
fn rewrite_and_resign(data: &Path, from: u64) -> Result<()> {
    let node_key = dfc_central_bank::datadir::read_key(&data.join("node.key"))?;
    let conn = rusqlite::Connection::open(data.join("ledger.sqlite"))?;
    let mut rows: Vec<(u64, BlockHeader)> = Vec::new();
    {
        let mut st = conn.prepare("SELECT height, header FROM blocks ORDER BY height")?;
        let it = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in it {
            let (h, text) = row?;
            rows.push((u64::try_from(h)?, serde_json::from_str(&text)?));
        }
    }
    // The history roots are recomputed too, as a holder of the node key would.
    let mut history = dfc_core::history::HistoryPeaks::new();
    let start = usize::try_from(from)?;
    for (_, header) in &rows[..start] {
        history.push(&header.hash());
    }
    let mut prev_hash = rows[start - 1].1.hash();
    for (i, (height, header)) in rows.iter_mut().enumerate().skip(start) {
        if i == start {
            ensure!(header.time_ms > 0, "a block time to move");
            header.time_ms -= 1;
        }
        header.history_root = history.root();
        header.prev_hash = prev_hash;
        let hash = header.hash();
        let sig: Signature = node_key.sign(&hash.0);
        conn.execute(
            "UPDATE blocks SET hash = ?1, header = ?2, signature = ?3 WHERE height = ?4",
            rusqlite::params![
                hash.0.to_vec(),
                serde_json::to_string(&*header)?,
                sig.to_bytes().to_vec(),
                i64::try_from(*height)?
            ],
        )?;
        let txids: Vec<Vec<u8>> = conn
            .prepare("SELECT txid FROM txs WHERE height = ?1")?
            .query_map([i64::try_from(*height)?], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for txid in txids {
            let id = Hash32(txid.as_slice().try_into()?);
            let receipt =
                node_key.sign(&dfc_core::api::Receipt::signing_hash(&id, *height, &hash).0);
            conn.execute(
                "UPDATE txs SET receipt_sig = ?1 WHERE txid = ?2",
                rusqlite::params![receipt.to_bytes().to_vec(), txid],
            )?;
        }
        prev_hash = hash;
        history.push(&hash);
    }
    conn.execute("DELETE FROM history_nodes", [])?;
    dfc_central_bank::history::backfill(&conn)?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

#[test]
fn cosigned_checkpoints_end_to_end() -> Result<()> {
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
    let bob_addr = bob.address()?;
    bank.issue(&alice.address()?, "100.00")?;
    for _ in 0..2 {
        alice.ok(&["pay", "--to", &bob_addr, "--amount", "1.00"])?;
    }
    let tip = rt.block_on(client.blocks(0, 0))?.tip_height;
    let tip_hash = rt.block_on(client.blocks(tip, 1))?.blocks[0].header.hash();

    tracing::info!("--- one operator alone cannot co-sign a checkpoint into force");
    let one = bank.operator(0, &["checkpoint", "sign", "--height", &tip.to_string()])?;
    ensure!(
        one["anchored"] == false && one["signers"] == serde_json::json!([0]),
        "{one}"
    );
    let point = ChainPoint {
        network: genesis.network_id,
        genesis: genesis.genesis_hash,
        height: tip,
        block_hash: tip_hash,
    };
    let node_key = dfc_central_bank::datadir::read_key(&data.join("node.key"))?;
    let forged = [
        // Operator 0's key under operator 1's index.
        (point, 1, ops[0].key.sign(&point.digest().0), "bad_approval"),
        // The node key is no operator key.
        (point, 1, node_key.sign(&point.digest().0), "bad_approval"),
        // Another block at that height.
        (
            ChainPoint {
                block_hash: Hash32([7; 32]),
                ..point
            },
            1,
            ops[1].key.sign(
                &ChainPoint {
                    block_hash: Hash32([7; 32]),
                    ..point
                }
                .digest()
                .0,
            ),
            "not_this_chain",
        ),
        // Another network.
        (
            ChainPoint {
                network: point.network + 1,
                ..point
            },
            1,
            ops[1].key.sign(
                &ChainPoint {
                    network: point.network + 1,
                    ..point
                }
                .digest()
                .0,
            ),
            "wrong_network",
        ),
    ];
    for (p, index, signature, code) in forged {
        let e = rt
            .block_on(client.cosign(&CheckpointSignature {
                point: p,
                signature: IssuerSignature { index, signature },
            }))
            .expect_err(code);
        ensure!(rejected_code(&e) == code, "{code}: {e}");
    }
    let again = bank.operator(0, &["checkpoint", "sign", "--height", &tip.to_string()])?;
    ensure!(
        again["anchored"] == false && again["new"] == false,
        "{again}"
    );

    tracing::info!("--- a second operator anchors it");
    let two = bank.operator(1, &["checkpoint", "sign", "--height", &tip.to_string()])?;
    ensure!(
        two["anchored"] == true && two["signers"] == serde_json::json!([0, 1]),
        "{two}"
    );
    let listed = bank.operator(2, &["checkpoint", "list"])?;
    ensure!(
        listed["checkpoints"][0]["point"]["height"] == tip,
        "{listed}"
    );
    let outside = tmp.path().join("cosigned.json");
    std::fs::write(&outside, serde_json::to_string(&listed)?)?;
    let outside_s = outside.to_str().context("utf-8")?;
    tracing::info!("--- a purse certificate issued now names the co-signed checkpoint");
    alice.ok(&["offline", "fund", "--amount", "5.00", "--notes", "1"])?;
    // The chain goes on after the checkpoint.
    alice.ok(&["pay", "--to", &bob_addr, "--amount", "1.00"])?;
    drop(bank);
    {
        let conn = rusqlite::Connection::open(data.join("ledger.sqlite"))?;
        let cert: String = conn.query_row("SELECT cert FROM purses", [], |r| r.get(0))?;
        let cert: dfc_core::offline::PurseCertificate = serde_json::from_str(&cert)?;
        ensure!(
            cert.checkpoint
                == Some(dfc_core::offline::CheckpointRef {
                    height: tip,
                    block_hash: tip_hash,
                }),
            "the certificate names block {tip}: {cert:?}"
        );
    }

    tracing::info!("--- dfc-bank audit passes and names the anchored height");
    let report = audit(&data, &["--cosigned", outside_s])?;
    ensure!(report["pass"] == true, "{report}");
    ensure!(
        report["anchored_height"] == tip,
        "anchored at {tip}: {report}"
    );

    tracing::info!("--- a chain rewritten and re-signed with the node key alone fails the audit");
    let copy = tmp.path().join("rewritten");
    copy_dir(&data, &copy)?;
    rewrite_and_resign(&copy, tip - 1)?;
    let report = audit(&copy, &[])?;
    ensure!(report["pass"] == false, "{report}");
    let error = report["error"].as_str().unwrap_or_default();
    ensure!(
        error.contains(&format!("co-signed checkpoint at height {tip}"))
            && error.contains("rewritten"),
        "names the first co-signed checkpoint: {report}"
    );

    tracing::info!(
        "--- with the signatures deleted too, the checkpoints kept outside still fail it"
    );
    {
        let conn = rusqlite::Connection::open(copy.join("ledger.sqlite"))?;
        conn.execute("DELETE FROM checkpoint_signatures", [])?;
    }
    let report = audit(&copy, &[])?;
    ensure!(
        report["pass"] == true && report["anchored_height"].is_null(),
        "without any checkpoint the re-signed chain verifies, unanchored: {report}"
    );
    let report = audit(&copy, &["--cosigned", outside_s])?;
    ensure!(report["pass"] == false, "{report}");
    ensure!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains(&format!("co-signed checkpoint at height {tip}"))),
        "{report}"
    );
    Ok(())
}

#[test]
fn rotated_node_key_keeps_the_chain_auditable() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("bank");
    let bank = Bank::start(&data)?;
    let url = bank.url();
    let alice = WalletCli::registered("alice", tmp.path(), &url)?;
    let bob = WalletCli::registered("bob", tmp.path(), &url)?;
    let bob_addr = bob.address()?;
    bank.issue(&alice.address()?, "100.00")?;
    alice.ok(&["pay", "--to", &bob_addr, "--amount", "1.00"])?;

    tracing::info!("--- the next node key is created beside node.key; the node restarts with it");
    drop(bank);
    let data_s = data.to_str().context("utf-8")?;
    let out = dfc_tests::dfc_bank_ok(&["node-key-new", "--data", data_s, "--json"]);
    let v: Value = serde_json::from_str(&out)?;
    let hex_key = v["node_key"].as_str().context("node_key")?;
    let bytes: [u8; 32] = hex::decode(hex_key)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("32 bytes"))?;
    let new_key = dfc_core::PublicKey::from_bytes(&bytes)?;
    let bank = Bank::open(&data)?;
    // The node serves on a new port: the wallets are pointed at it with --bank.
    let url = bank.url();
    let client = bank.node.client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let genesis: NetworkParams = rt.block_on(client.params())?;
    let old_key = genesis.node_key;
    ensure!(old_key != new_key, "a new key");
    let ops: Vec<_> = (0..3)
        .map(|n| sandbox_operator(&data, &genesis, n))
        .collect();

    tracing::info!("--- a rotation to a key the node does not hold is refused");
    let tip = rt.block_on(client.blocks(0, 0))?.tip_height;
    let effective = tip + 3;
    let mut unheld = genesis.clone();
    unheld.node_key = dfc_core::SigningKey::from_seed(&[77; 32]).public();
    let change = dfc_core::governance::ParamsChange {
        base_hash: genesis.hash(),
        effective_height: effective,
        params: unheld,
    };
    let approval = IssuerSignature {
        index: 2,
        signature: ops[2].key.sign(&change.digest().0),
    };
    let req = ops[2].request(
        &genesis,
        dfc_core::api::OperatorAction::ProposeChange { change, approval },
    );
    let e = rt.block_on(client.operator(&req)).expect_err("unheld key");
    ensure!(rejected_code(&e) == "node_key_unavailable", "{e}");

    tracing::info!("--- operator 0 proposes the rotation: alone it changes nothing");
    let mut rotated = genesis.clone();
    rotated.node_key = new_key;
    let digest = bank.propose_params(0, &rotated, effective, tmp.path())?;
    ensure!(
        rt.block_on(client.params_history())?.changes().is_empty(),
        "one operator alone rotates nothing"
    );
    let again = bank.operator(0, &["governance", "approve", &digest, "--yes"])?;
    ensure!(
        rt.block_on(client.params_history())?.changes().is_empty(),
        "approving twice rotates nothing: {again}"
    );

    tracing::info!("--- operator 1 approves: the new key signs from the stated height");
    bank.operator(1, &["governance", "approve", &digest, "--yes"])?;
    let history = rt.block_on(client.params_history())?;
    ensure!(
        history.at(effective).node_key == new_key && history.at(effective - 1).node_key == old_key
    );
    while rt.block_on(client.blocks(0, 0))?.tip_height < effective + 1 {
        alice.ok(&["--bank", &url, "pay", "--to", &bob_addr, "--amount", "1.00"])?;
    }
    let blocks = rt.block_on(client.blocks(effective - 1, 3))?.blocks;
    ensure!(blocks.len() == 3, "blocks around the rotation");
    ensure!(
        old_key.verify(&blocks[0].header.hash().0, &blocks[0].signature),
        "before the height: the old key"
    );
    for b in &blocks[1..] {
        ensure!(
            new_key.verify(&b.header.hash().0, &b.signature)
                && !old_key.verify(&b.header.hash().0, &b.signature),
            "block {} is signed by the new key only",
            b.header.height
        );
    }
    alice.ok(&["--bank", &url, "pay", "--to", &bob_addr, "--amount", "2.00"])?;
    alice.ok(&["--bank", &url, "sync"])?;
    let left = alice.total()?;
    ensure!(
        left <= 10_000 - 400,
        "alice paid across the rotation: {left}"
    );
    bob.ok(&["--bank", &url, "sync"])?;
    ensure!(
        bob.total()? == 10_000 - left,
        "bob synced across the rotation"
    );
    for op in [0, 1] {
        bank.operator(op, &["checkpoint", "sign"])?;
    }
    drop(bank);

    tracing::info!("--- dfc-bank audit verifies each block under the key of its height");
    let saved = tmp.path().join("summary.json");
    let saved_s = saved.to_str().context("utf-8")?;
    let report = audit(&data, &["--save-checkpoint", saved_s])?;
    ensure!(report["pass"] == true, "{report}");
    ensure!(
        report["anchored_height"].as_u64() >= Some(effective),
        "{report}"
    );

    tracing::info!("--- the node restarts after the rotation and goes on under the new key");
    let bank = Bank::open(&data)?;
    let url = bank.url();
    alice.ok(&["--bank", &url, "pay", "--to", &bob_addr, "--amount", "1.00"])?;
    drop(bank);
    let report = audit(&data, &["--from-checkpoint", saved_s])?;
    ensure!(
        report["pass"] == true && report["from_checkpoint_cosigned"] == true,
        "an audit from the co-signed block passes and says so: {report}"
    );

    tracing::info!("--- a block after the height signed by the old key fails the audit");
    let copy = tmp.path().join("old-key");
    copy_dir(&data, &copy)?;
    {
        let old = dfc_central_bank::datadir::read_key(&copy.join("node.key"))?;
        let conn = rusqlite::Connection::open(copy.join("ledger.sqlite"))?;
        let sig = old.sign(&blocks[1].header.hash().0);
        conn.execute(
            "UPDATE blocks SET signature = ?1 WHERE height = ?2",
            rusqlite::params![sig.to_bytes().to_vec(), i64::try_from(effective)?],
        )?;
    }
    let report = audit(&copy, &[])?;
    ensure!(
        report["pass"] == false
            && report["error"]
                .as_str()
                .is_some_and(|e| e.contains(&format!("block {effective}"))),
        "{report}"
    );
    Ok(())
}

/// The payments `dfc-bank regulator` lists with the key in `key`, as (height, amount) pairs.
fn regulator_sees(url: &str, key: &Path) -> Result<Vec<(u64, Option<u64>)>> {
    let out = dfc_tests::dfc_bank_ok(&[
        "regulator",
        "--bank",
        url,
        "--key",
        key.to_str().context("utf-8")?,
        "--json",
    ]);
    let listed: Value = serde_json::from_str(&out)?;
    Ok(listed
        .as_array()
        .context("a list")?
        .iter()
        .map(|p| (p["height"].as_u64().unwrap_or(0), p["amount"].as_u64()))
        .collect())
}

#[test]
fn rotated_regulator_key_reads_its_own_heights() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("bank");
    let data_s = data.to_str().context("utf-8")?;
    dfc_tests::dfc_bank_ok(&[
        "init",
        "--data",
        data_s,
        "--reporting-threshold",
        "1.50",
        "--json",
    ]);
    let bank = Bank::open(&data)?;
    let url = bank.url();
    let client = bank.node.client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let genesis: NetworkParams = rt.block_on(client.params())?;
    let alice = WalletCli::registered("alice", tmp.path(), &url)?;
    let bob = WalletCli::registered("bob", tmp.path(), &url)?;
    let bob_addr = bob.address()?;
    bank.issue(&alice.address()?, "100.00")?;

    tracing::info!("--- a 2.00 payment is disclosed to the genesis regulator key");
    alice.ok(&["pay", "--to", &bob_addr, "--amount", "2.00"])?;
    let old_file = data.join("regulator.key");
    let before = regulator_sees(&url, &old_file)?;
    ensure!(before.len() == 1 && before[0].1 == Some(200), "{before:?}");

    tracing::info!("--- 2 of 3 operators rotate the regulator key from a stated height");
    let seed = [42u8; 32];
    let new_file = tmp.path().join("regulator-next.key");
    std::fs::write(&new_file, hex::encode(seed))?;
    let new_key = dfc_core::compliance::RegulatorKey::from_seed(&seed).public();
    let mut rotated = genesis.clone();
    rotated
        .compliance
        .as_mut()
        .context("a network with a regulator")?
        .regulator_key = new_key;
    // The new regulator reads blocks with the read key of its seed, named among the auditors.
    rotated.auditors.push(
        dfc_central_bank::datadir::regulator_read_key(&seed)
            .public()
            .into(),
    );
    let tip = rt.block_on(client.blocks(0, 0))?.tip_height;
    let effective = tip + 3;
    let digest = bank.propose_params(0, &rotated, effective, tmp.path())?;
    ensure!(
        rt.block_on(client.params_history())?.changes().is_empty(),
        "one operator alone rotates nothing"
    );
    bank.operator(1, &["governance", "approve", &digest, "--yes"])?;
    while rt.block_on(client.blocks(0, 0))?.tip_height < effective {
        alice.ok(&["pay", "--to", &bob_addr, "--amount", "1.00"])?;
    }

    tracing::info!("--- after the height a 3.00 payment is disclosed to the new key only");
    alice.ok(&["pay", "--to", &bob_addr, "--amount", "3.00"])?;
    let old_sees = regulator_sees(&url, &old_file)?;
    let new_sees = regulator_sees(&url, &new_file)?;
    ensure!(
        old_sees == before,
        "the old key reads its heights only: {old_sees:?}"
    );
    ensure!(
        new_sees.len() == 1 && new_sees[0].0 > effective && new_sees[0].1 == Some(300),
        "the new key reads the payment after the height: {new_sees:?}"
    );
    let stranger = tmp.path().join("stranger.key");
    std::fs::write(&stranger, hex::encode([9u8; 32]))?;
    let out = dfc_tests::dfc_bank(&[
        "regulator",
        "--bank",
        &url,
        "--key",
        stranger.to_str().context("utf-8")?,
    ]);
    ensure!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("not the network's regulator key"),
        "a key never in force is refused"
    );
    drop(bank);
    let report = audit(&data, &[])?;
    ensure!(report["pass"] == true, "{report}");
    Ok(())
}

/// A `dfc-bank checkpoint watch` process, killed on drop.
struct Watcher(std::process::Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn checkpoint_watch_cosigns_every_n_blocks() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("bank");
    let bank = Bank::start(&data)?;
    let url = bank.url();
    let client = bank.node.client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let data_s = data.to_str().context("utf-8")?;

    tracing::info!("--- operators 0 and 1 run the watcher, signing every 2nd block");
    let _watchers: Vec<Watcher> = ["0", "1"]
        .iter()
        .map(|op| {
            std::process::Command::new(dfc_tests::bin_path("dfc-bank"))
                .args([
                    "checkpoint",
                    "watch",
                    "--every",
                    "2",
                    "--poll-secs",
                    "1",
                    "--data",
                    data_s,
                    "--operator",
                    op,
                    "--bank",
                    &url,
                    "--json",
                ])
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map(Watcher)
        })
        .collect::<Result<_, _>>()?;
    let alice = WalletCli::new(
        "alice",
        tmp.path().join("alice"),
        &dfc_tests::bin_path("dfc-wallet"),
    );
    alice.ok(&["create"])?;
    alice.ok(&["--bank", &url, "register", "--label", "alice"])?;
    bank.issue(&alice.address()?, "10.00")?;
    while rt.block_on(client.blocks(0, 0))?.tip_height < 2 {
        bank.issue(&alice.address()?, "1.00")?;
    }

    tracing::info!("--- an even height is co-signed by both, with no one at the keyboard");
    let history = rt.block_on(client.params_history())?;
    let mut anchored = None;
    // Bounded: 120 polls of 250 ms; the watchers poll every second.
    for _ in 0..120 {
        let list = rt.block_on(client.cosigned(0))?;
        anchored = list
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.verify(&history).is_ok())
            .map(|c| c.point.height);
        if anchored.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let h = anchored.context("the watchers co-signed a checkpoint")?;
    ensure!(h >= 2 && h % 2 == 0, "an even height: {h}");
    Ok(())
}
