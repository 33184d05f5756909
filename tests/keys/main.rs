//! Keys at rest with the real `dfc-bank` binary: `dfc-bank keys encrypt` turns a sandbox's plain
//! node and operator key files into passphrase-encrypted ones; the node serves with the right
//! passphrase and refuses to start with a wrong one (naming it); the encrypted operator key signs
//! with the right passphrase and is refused with a wrong one.

#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;
mod hsm;

use std::process::Command;

use dfc_client::keyfile::{read_key_with, KeyFileError};
use dfc_keys::Passphrase;
use dfc_tests::{bin_path, dfc_bank_ok, init_sandbox, sandbox_operator, Node};

/// The passphrase of every key file in this binary's tests (see the note where it is set).
const PASSPHRASE: &str = "correct horse";

#[tokio::test]
async fn encrypted_node_and_operator_keys_need_their_passphrase() {
    dfc_tests::init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("bank");
    let params = init_sandbox(&data);
    let node_key = data.join("node.key");
    let op_key = dfc_central_bank::datadir::operator_key_path(&data, 0);
    let plain_op = std::fs::read_to_string(&op_key).expect("read");

    tracing::info!("--- dfc-bank keys encrypt converts plain files in place");
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, "correct horse\n").expect("write");
    dfc_bank_ok(&[
        "keys",
        "encrypt",
        node_key.to_str().expect("utf-8"),
        op_key.to_str().expect("utf-8"),
        "--passphrase-file",
        pass_file.to_str().expect("utf-8"),
    ]);
    let text = std::fs::read_to_string(&op_key).expect("read");
    assert!(text.trim_start().starts_with('{'), "{text}");
    assert!(
        !text.contains(plain_op.trim()),
        "the seed is no longer in the file"
    );

    tracing::info!("--- a wrong passphrase stops the node before it serves, and says why");
    let out = Command::new(bin_path("dfc-bank"))
        .args(["serve", "--data", data.to_str().expect("utf-8")])
        .env("DFC_KEY_PASSPHRASE", "wrong")
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrong_passphrase"), "{stderr}");

    tracing::info!("--- with the right passphrase the node serves and the operator key signs");
    // The node and this test's key reading both take it from the environment.
    std::env::set_var("DFC_KEY_PASSPHRASE", PASSPHRASE);
    let node = Node::start(&data);
    let served = node.client().params().await.expect("params");
    assert_eq!(served.hash(), params.hash());
    let operator = sandbox_operator(&data, &params, 0);
    assert_eq!(params.issuers[0], operator.key.public());

    tracing::info!("--- the encrypted operator key is refused with a wrong passphrase");
    let err = read_key_with(&op_key, &Passphrase::given("wrong")).err();
    assert!(
        matches!(err, Some(KeyFileError::WrongPassphrase { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn init_encrypt_keys_writes_only_encrypted_key_files() {
    dfc_tests::init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("bank");
    let data_s = data.to_str().expect("utf-8");

    tracing::info!(
        "--- without a passphrase and without a terminal, init refuses and writes nothing"
    );
    let out = Command::new(bin_path("dfc-bank"))
        .args(["init", "--data", data_s, "--encrypt-keys", "--json"])
        .env_remove("DFC_KEY_PASSPHRASE")
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs");
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("error JSON");
    assert_eq!(v["code"], "no_passphrase", "{v}");
    assert!(!data.exists(), "nothing written");

    tracing::info!("--- with DFC_KEY_PASSPHRASE every key file is encrypted");
    let out = Command::new(bin_path("dfc-bank"))
        .args([
            "init",
            "--data",
            data_s,
            "--encrypt-keys",
            "--reporting-threshold",
            "100.00",
        ])
        .args(["--json"])
        .env("DFC_KEY_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = 0;
    for entry in std::fs::read_dir(&data).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "key") {
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(
                text.trim_start().starts_with('{'),
                "{} is encrypted",
                path.display()
            );
            files += 1;
        }
    }
    // node, 3 operators, 1 auditor, the regulator.
    assert_eq!(files, 6);

    tracing::info!("--- the node serves with the passphrase; an operator signs with it");
    // The node inherits this process's environment; both tests of this binary set the same
    // value, so running them in parallel cannot give the node the other's passphrase.
    std::env::set_var("DFC_KEY_PASSPHRASE", PASSPHRASE);
    let node = Node::start(&data);
    let out = Command::new(bin_path("dfc-bank"))
        .args([
            "proposals",
            "--data",
            data_s,
            "--operator",
            "1",
            "--bank",
            node.url(),
        ])
        .args(["--json"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin_path("dfc-bank"))
        .args([
            "proposals",
            "--data",
            data_s,
            "--operator",
            "1",
            "--bank",
            node.url(),
        ])
        .args(["--json"])
        .env("DFC_KEY_PASSPHRASE", "wrong")
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs");
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("error JSON");
    assert_eq!(v["code"], "wrong_passphrase", "{v}");

    tracing::info!("--- the next node key is encrypted too, under the passphrase of node.key only");
    let next = data.join("node-next.key");
    let out = Command::new(bin_path("dfc-bank"))
        .args(["node-key-new", "--data", data_s, "--json"])
        .env("DFC_KEY_PASSPHRASE", "wrong")
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong_passphrase"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!next.exists(), "nothing written with a wrong passphrase");
    dfc_bank_ok(&["node-key-new", "--data", data_s, "--json"]);
    let text = std::fs::read_to_string(&next).expect("read");
    assert!(
        text.trim_start().starts_with('{'),
        "node-next.key is encrypted"
    );
}
