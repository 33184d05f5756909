//! TLS of the node (issue 15), with the real binaries on loopback: a wallet registers, syncs and
//! pays over https; a client pinned to another certificate, or to none, is refused with a typed
//! error and the ledger is unchanged; a stalled handshake is closed by the first-request timeout;
//! plain HTTP off loopback refuses to start without `--insecure-http`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dfc_client::{BankClient, ClientError, TlsPin};
use dfc_tests::{dfc_bank, dfc_bank_ok, Node};
use serde_json::Value;

/// `dfc-bank init --tls` in `dir`: returns the parameters it reports.
fn init_tls(dir: &Path) -> dfc_core::NetworkParams {
    let out = dfc_bank_ok(&[
        "init",
        "--data",
        dir.to_str().expect("utf-8"),
        "--tls",
        "--json",
    ]);
    let report: Value = serde_json::from_str(&out).expect("init --json prints JSON");
    serde_json::from_value(report["params"].clone()).expect("parameters")
}

/// Runs the real wallet with `args`; returns (success, JSON printed).
fn wallet(dir: &Path, args: &[&str]) -> (bool, Value) {
    let out = Command::new(dfc_tests::bin_path("dfc-wallet"))
        .arg("--wallet")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("DFC_WALLET_PASSPHRASE", "tls test passphrase")
        .env_remove("DFC_CA")
        .output()
        .expect("dfc-wallet runs");
    let text = if out.status.success() {
        out.stdout
    } else {
        // Errors come as JSON on stderr or stdout under --json.
        [out.stdout, out.stderr].concat()
    };
    let value = serde_json::from_slice(&text)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&text).into_owned()));
    (out.status.success(), value)
}

fn wallet_ok(dir: &Path, args: &[&str]) -> Value {
    let (ok, v) = wallet(dir, args);
    if !ok {
        let log = dir
            .parent()
            .map(|p| p.join("bank/node.log"))
            .unwrap_or_default();
        eprintln!(
            "node log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    assert!(ok, "dfc-wallet {args:?} failed: {v}");
    v
}

fn issue(data: &str, to: &str, amount: &str) {
    let out = dfc_bank_ok(&[
        "issue",
        "propose",
        "--data",
        data,
        "--operator",
        "0",
        "--to",
        to,
        "--amount",
        amount,
        "--json",
    ]);
    let proposed: Value = serde_json::from_str(&out).expect("propose --json");
    let txid = proposed["proposal"]["txid"]
        .as_str()
        .expect("a proposal")
        .to_string();
    dfc_bank_ok(&[
        "issue",
        "approve",
        "--data",
        data,
        "--operator",
        "1",
        &txid,
        "--json",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_end_to_end_and_a_wrong_certificate_is_refused() {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = tmp.path().join("bank");
    let data_s = data.to_str().expect("utf-8").to_string();

    tracing::info!("--- init --tls pins the node's certificate in the parameters");
    let params = init_tls(&data);
    let pem = std::fs::read_to_string(data.join("tls-cert.pem")).expect("certificate written");
    assert_eq!(params.tls_ca.as_deref(), Some(pem.as_str()));
    // A first-request timeout of 3 s, for the stalled handshakes.
    let node = Node::start_with(&data, &["--first-request-timeout", "3s"]);
    assert!(
        node.url().starts_with("https://127.0.0.1:"),
        "{}",
        node.url()
    );
    let url = node.url().to_string();
    let pin = TlsPin::from_file(&data.join("tls-cert.pem")).expect("pin");
    let client = BankClient::with_pin(&url, Some(&pin)).expect("client");
    assert_eq!(client.params().await.expect("params over TLS"), params);
    // Blocks are served to auditors: the test reads them with the sandbox's auditor key.
    let auditor =
        dfc_central_bank::datadir::read_key(&dfc_central_bank::datadir::auditor_key_path(&data, 0))
            .expect("auditor key");
    let client = client.with_reader(&params, auditor);

    tracing::info!(
        "--- a wallet registers (pinned by the data directory), syncs and pays over https"
    );
    let alice = tmp.path().join("alice");
    let bob = tmp.path().join("bob");
    for w in [&alice, &bob] {
        wallet_ok(w, &["create"]);
    }
    let reg_a = wallet_ok(
        &alice,
        &["--sandbox", &data_s, "register", "--label", "alice"],
    );
    let reg_b = wallet_ok(&bob, &["--sandbox", &data_s, "register", "--label", "bob"]);
    assert_eq!(reg_a["bank"].as_str(), Some(url.as_str()), "{reg_a}");
    let alice_addr = reg_a["address"].as_str().expect("address").to_string();
    let bob_addr = reg_b["address"].as_str().expect("address").to_string();
    issue(&data_s, &alice_addr, "100.00");
    // From here on no --sandbox and no --ca: the pin comes from the stored parameters.
    wallet_ok(&alice, &["sync"]);
    wallet_ok(&alice, &["pay", "--to", &bob_addr, "--amount", "30.00"]);
    wallet_ok(&bob, &["sync"]);
    let bal = wallet_ok(&bob, &["balance"]);
    assert!(bal.to_string().contains("30.00"), "bob's balance: {bal}");
    let supply = client.supply().await.expect("supply");
    let height = client.blocks(0, 1000).await.expect("blocks").blocks.len();

    tracing::info!("--- a client pinned to another certificate is refused before sending anything");
    let other = tmp.path().join("other");
    init_tls(&other);
    let wrong = TlsPin::from_file(&other.join("tls-cert.pem")).expect("other pin");
    let mallory = BankClient::with_pin(&url, Some(&wrong)).expect("client");
    let err = mallory.params().await.expect_err("another certificate");
    assert!(
        matches!(err, ClientError::UntrustedCertificate { .. }),
        "not typed: {err:?}"
    );
    assert_eq!(err.code(), Some("untrusted_certificate"));
    assert!(err.to_string().contains("does not trust"), "{err}");
    tracing::info!("--- no pin: no web roots either, the node is not trusted");
    let unpinned = BankClient::new(&url).params().await.expect_err("no pin");
    assert_eq!(unpinned.code(), Some("untrusted_certificate"), "{unpinned}");
    tracing::info!("--- a pinned client refuses a plain http URL (no downgrade)");
    let plain = url.replacen("https://", "http://", 1);
    let e = BankClient::with_pin(&plain, Some(&pin)).expect_err("plain URL refused");
    assert_eq!(e.code(), Some("plain_http_to_pinned_node"));

    tracing::info!("--- the wallet with a wrong --ca: typed error, ledger unchanged");
    let ca = other.join("tls-cert.pem");
    let ca_s = ca.to_str().expect("utf-8");
    let (ok, v) = wallet(
        &alice,
        &["--ca", ca_s, "pay", "--to", &bob_addr, "--amount", "5.00"],
    );
    assert!(!ok, "paid through an untrusted node: {v}");
    assert!(v.to_string().contains("untrusted_certificate"), "{v}");
    let (ok, v) = wallet(&alice, &["--ca", ca_s, "sync"]);
    assert!(
        !ok && v.to_string().contains("untrusted_certificate"),
        "{v}"
    );
    assert_eq!(client.supply().await.expect("supply"), supply);
    assert_eq!(
        client.blocks(0, 1000).await.expect("blocks").blocks.len(),
        height,
        "a refused client changed the ledger"
    );
    let out = dfc_bank(&[
        "issue",
        "propose",
        "--data",
        &data_s,
        "--operator",
        "0",
        "--ca",
        ca_s,
        "--to",
        &bob_addr,
        "--amount",
        "1.00",
        "--json",
    ]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(text.contains("untrusted_certificate"), "{text}");
    assert_eq!(client.supply().await.expect("supply"), supply);

    tracing::info!("--- stalled TLS handshakes are closed by the first-request timeout");
    let addr = url.trim_start_matches("https://").to_string();
    let mut stalled: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    // A guard against a hung test, not a performance assertion: the node closes each within
    // its 3 s first-request timeout.
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        let n = s
            .read(&mut buf)
            .expect("closed by the node, not by our guard");
        assert_eq!(n, 0, "the node sent bytes before any ClientHello");
    }
    // The slots were released: the honest client still gets in.
    assert_eq!(client.supply().await.expect("supply after"), supply);
}

#[test]
fn plain_http_off_loopback_refuses_to_start() {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    dfc_tests::init_sandbox(&data);
    let data_s = data.to_str().expect("utf-8");
    // Refused before any socket is bound, so the test never listens off loopback.
    let out = dfc_bank(&["serve", "--data", data_s, "--listen", "0.0.0.0:0"]);
    assert!(!out.status.success(), "plain HTTP off loopback started");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--insecure-http"),
        "unclear refusal: {err}"
    );
    assert!(
        !data.join(dfc_client::endpoint::NODE_URL_FILE).exists(),
        "a refused start recorded a URL"
    );
    tracing::info!("--- on loopback plain HTTP starts, and says so");
    let node = Node::start(&data);
    assert!(node.url().starts_with("http://127.0.0.1:"));
    drop(node);
}
