//! A node that leaves a payment out of a light wallet's answers (issue 18), against the real
//! binaries: the payer exports the payment proof (transaction and receipt); the payee's wallet
//! finds it listed by the honest node; behind a lying node (a proxy that drops the payment from
//! the answer and re-signs it with the node's own key) the payee's wallet saves the signed
//! answer and the receipt as evidence, and anyone on the network verifies it. Evidence that
//! does not contradict the receipt is refused, and nothing of the wallet changes.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use dfc_central_bank::datadir;
use dfc_core::light::{LightSync, OmissionEvidence};
use dfc_core::{Hash32, SigningKey};

use crate::bank::Bank;
use crate::cli::WalletCli;

/// Serves a lying node on loopback: it forwards every request to `upstream`, and passes each
/// answer to `/v1/light/sync` through `lie`, re-signing it with the node's key, so only the lie
/// is wrong. Runs on `rt` until the runtime is dropped.
pub(crate) fn lying_node(
    rt: &tokio::runtime::Runtime,
    upstream: String,
    node: SigningKey,
    network: u32,
    lie: impl Fn(&mut LightSync) + Clone + Send + Sync + 'static,
) -> Result<String> {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (client, upstream, node, lie) =
            (client.clone(), upstream.clone(), node.clone(), lie.clone());
        async move {
            forward(&client, &upstream, req, |path, body| {
                if path != "/v1/light/sync" {
                    return Ok(body);
                }
                let mut answer: LightSync = serde_json::from_slice(&body)?;
                lie(&mut answer);
                answer.signature = node.sign(&answer.signing_hash(network).0);
                Ok(serde_json::to_vec(&answer)?.into())
            })
            .await
            .unwrap_or_else(|e| {
                Response::builder()
                    .status(502)
                    .body(Body::from(e.to_string()))
                    .unwrap_or_default()
            })
        }
    });
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// Forwards `req` to `upstream` with its headers, passing a successful body through `edit`.
async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    req: Request,
    edit: impl FnOnce(&str, axum::body::Bytes) -> Result<axum::body::Bytes>,
) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 22).await?;
    let path = parts.uri.path().to_string();
    let target = format!(
        "{upstream}{}",
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut request = client.request(parts.method, target).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let resp = request.send().await?;
    let status = resp.status();
    let mut out = resp.bytes().await?;
    if status.is_success() {
        out = edit(&path, out)?;
    }
    Ok(Response::builder()
        .status(status.as_u16())
        .header("content-type", "application/json")
        .body(Body::from(out))?)
}

/// Runs the omission scenario: `bob` paid `alice` in transaction `txid`, and alice has synced.
pub fn run(ops: &Bank, alice: &WalletCli, bob: &WalletCli, txid: &str) -> Result<()> {
    let params = datadir::load_params(ops.data())?;
    let path = |dir: &Path, name: &str| -> Result<String> {
        Ok(dir.join(name).to_str().context("UTF-8 path")?.to_string())
    };

    tracing::info!("--- bob exports the payment proof; the honest node lists it for alice");
    let proof = path(&bob.dir, "payment-to-alice.json")?;
    let receipt = bob.ok(&["receipt", txid, "--export", &proof])?;
    ensure!(receipt["verified"] == true, "{receipt}");
    let listed = alice.ok(&["check-payment", &proof])?;
    ensure!(
        listed["txid"] == txid && listed["height"] == receipt["receipt"]["height"],
        "{listed}"
    );

    tracing::info!("--- a lying node drops the payment from alice's answer, signed with its key");
    let before = (alice.total()?, alice.ok(&["history"])?);
    let rt = tokio::runtime::Runtime::new()?;
    let node = datadir::read_key(&ops.data().join("node.key"))?;
    let drop = Hash32::from_hex(txid).map_err(|e| anyhow::anyhow!("{e}"))?;
    let liar = lying_node(
        &rt,
        ops.url().to_string(),
        node,
        params.network_id,
        move |a: &mut LightSync| a.txs.retain(|p| p.tx.id() != drop),
    )?;
    let caught = alice.err(&["--bank", &liar, "check-payment", &proof])?;
    ensure!(caught.code == "node_omitted_payment", "{caught:?}");
    let evidence_path = alice
        .dir
        .join("evidence")
        .join(format!("omission-{txid}.json"));
    ensure!(
        caught
            .message
            .contains(&evidence_path.display().to_string()),
        "the error names the evidence file: {caught:?}"
    );
    ensure!(
        (alice.total()?, alice.ok(&["history"])?) == before,
        "checking changes nothing in the wallet"
    );

    tracing::info!(
        "--- the evidence verifies for anyone on the network, and a doctored one does not"
    );
    let evidence = evidence_path.to_str().context("UTF-8 path")?;
    for who in [alice, bob] {
        let v = who.ok(&["evidence", evidence])?;
        ensure!(v["valid"] == true && v["txid"] == txid, "{}: {v}", who.name);
    }
    let text = std::fs::read_to_string(&evidence_path)?;
    let real: OmissionEvidence = serde_json::from_str(&text)?;
    // The honest answer lists the payment: no contradiction, refused.
    let mut honest = real.clone();
    honest.answer = ops.block_on(
        ops.node
            .client()
            .light_sync(&real.answer.key, real.answer.from),
    )?;
    // An answer with the payment dropped but not signed by the node.
    let mut unsigned = real.clone();
    unsigned.answer.signature = SigningKey::from_seed(&[7; 32]).sign(b"not the node");
    for (name, bad, code) in [
        ("honest", honest, "bad_payment_proof"),
        ("unsigned", unsigned, "bad_payment_proof"),
    ] {
        let file = path(&alice.dir, &format!("evidence-{name}.json"))?;
        std::fs::write(&file, serde_json::to_string(&bad)?)?;
        let refused = alice.err(&["evidence", &file])?;
        ensure!(refused.code == code, "{name}: {refused:?}");
    }
    ensure!(alice.total()? == before.0, "alice's balance unchanged");
    Ok(())
}
