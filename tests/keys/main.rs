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
    std::env::set_var("DFC_KEY_PASSPHRASE", "correct horse");
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
