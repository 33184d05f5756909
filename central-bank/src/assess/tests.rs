//! The checks on real data directories made by `init`.

use super::facts::AssessOptions;
use super::*;
use crate::datadir::{init, InitOptions};
use dfc_core::Amount;

fn facts_of(dir: &std::path::Path) -> Facts {
    Facts::from_data_dir(dir, None, &AssessOptions::default()).expect("facts")
}

fn status(card: &Scorecard, id: &str) -> Status {
    card.line(id).map(|l| l.status).expect("check present")
}

fn production(dir: &std::path::Path, keys: &std::path::Path, k: usize, n: usize) {
    init(
        dir,
        &InitOptions {
            operators: n,
            threshold: k,
            operator_keys_dir: Some(keys.to_path_buf()),
            reporting_threshold: Some(Amount::from_units(100_000).expect("in range")),
            name: "production".into(),
            ..InitOptions::default()
        },
    )
    .expect("init");
}

#[test]
fn a_sandbox_warns_and_names_its_threats() {
    let dir = tempfile::tempdir().expect("tempdir");
    init(dir.path(), &InitOptions::default()).expect("init");
    let card = assess(&facts_of(dir.path()));
    assert_eq!(status(&card, "audit"), Status::Pass);
    assert_eq!(status(&card, "sandbox-keys"), Status::Warn);
    assert_eq!(status(&card, "key-files"), Status::Warn);
    assert_eq!(status(&card, "compliance"), Status::Warn);
    assert_eq!(status(&card, "thresholds"), Status::Pass);
    assert_eq!(status(&card, "transport"), Status::Skip);
    // The init entry is written after the genesis block: no header anchors it yet.
    assert_eq!(status(&card, "audit-log-anchor"), Status::Warn);
    assert_eq!(card.overall, Status::Warn);
    assert!(card.ok());
    let sandbox = card.line("sandbox-keys").expect("line");
    assert!(sandbox.threats.iter().any(|t| t.id == 2));
    assert!(sandbox
        .detail
        .contains("3 of 3 operator keys beside the ledger"));
}

#[test]
fn production_passes_and_operator_keys_beside_the_ledger_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = tempfile::tempdir().expect("tempdir");
    production(dir.path(), keys.path(), 2, 3);
    let card = assess(&facts_of(dir.path()));
    assert_eq!(status(&card, "sandbox-keys"), Status::Pass);
    assert_eq!(status(&card, "compliance"), Status::Pass);
    assert_eq!(status(&card, "thresholds"), Status::Pass);
    assert_eq!(status(&card, "key-ages"), Status::Pass);
    assert!(card.ok());
    // One operator key copied beside the ledger: a warning; k of them: a failure.
    for (i, want) in [(0, Status::Warn), (1, Status::Fail)] {
        let name = format!("operator-{i}.key");
        std::fs::copy(keys.path().join(&name), dir.path().join(&name)).expect("copy");
        let card = assess(&facts_of(dir.path()));
        assert_eq!(status(&card, "sandbox-keys"), want, "after copying {name}");
    }
    assert!(!assess(&facts_of(dir.path())).ok());
}

#[test]
fn encrypted_operator_keys_beside_the_ledger_are_counted_and_warn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = tempfile::tempdir().expect("tempdir");
    production(dir.path(), keys.path(), 2, 3);
    // k operator keys beside the ledger, both encrypted: named (their headers give the keys)
    // and a warning, not a pass; one of them in plain hex instead still warns, both fail.
    for i in 0..2 {
        let name = format!("operator-{i}.key");
        let path = dir.path().join(&name);
        std::fs::copy(keys.path().join(&name), &path).expect("copy");
        dfc_keys::keyfile::encrypt_in_place(
            &path,
            "passphrase",
            dfc_keys::sealed::KdfCost::insecure_for_tests(),
        )
        .expect("encrypt");
    }
    let facts = facts_of(dir.path());
    let counted = facts
        .key_files
        .iter()
        .filter(|k| k.encrypted && !k.publics.is_empty())
        .count();
    assert_eq!(counted, 2, "both encrypted files name their keys");
    let card = assess(&facts);
    assert_eq!(status(&card, "sandbox-keys"), Status::Warn);
    let line = card.line("sandbox-keys").expect("line");
    assert!(
        line.detail.contains("2 operator key(s) beside the ledger")
            && line.detail.contains("2 of them encrypted"),
        "{}",
        line.detail
    );
    for i in 0..2 {
        let name = format!("operator-{i}.key");
        std::fs::copy(keys.path().join(&name), dir.path().join(&name)).expect("copy");
    }
    assert_eq!(
        status(&assess(&facts_of(dir.path())), "sandbox-keys"),
        Status::Fail
    );
}

#[test]
fn thresholds_of_one_or_all_warn() {
    for (k, n) in [(1, 3), (3, 3)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = tempfile::tempdir().expect("tempdir");
        production(dir.path(), keys.path(), k, n);
        let card = assess(&facts_of(dir.path()));
        assert_eq!(status(&card, "thresholds"), Status::Warn, "{k} of {n}");
    }
}

#[test]
fn transport_by_scheme_and_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    init(dir.path(), &InitOptions::default()).expect("init");
    let mut f = facts_of(dir.path());
    for (url, want) in [
        ("https://bank.example:7400", Status::Pass),
        ("http://127.0.0.1:7400", Status::Warn),
        ("http://localhost:7400", Status::Warn),
        ("http://[::1]:7400", Status::Warn),
        ("http://10.0.0.7:7400", Status::Fail),
        ("http://bank.example", Status::Fail),
        ("ftp://bank.example", Status::Fail),
        ("not a url", Status::Fail),
    ] {
        f.node_url = Some(url.into());
        assert_eq!(transport::Transport.run(&f).status, want, "{url}");
    }
}

#[test]
fn old_keys_warn_after_the_stated_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = tempfile::tempdir().expect("tempdir");
    production(dir.path(), keys.path(), 2, 3);
    let mut f = facts_of(dir.path());
    assert_eq!(keys::KeyAges.run(&f).status, Status::Pass);
    f.tip.time_ms += f.max_key_age_ms + 86_400_000;
    let o = keys::KeyAges.run(&f);
    assert_eq!(o.status, Status::Warn);
    assert!(
        o.detail.contains("node") && o.detail.contains("operator 2"),
        "{}",
        o.detail
    );
}

#[test]
fn key_files_not_in_plain_hex_pass_and_open_permissions_warn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = tempfile::tempdir().expect("tempdir");
    production(dir.path(), keys.path(), 2, 3);
    let mut f = facts_of(dir.path());
    assert_eq!(
        keys::KeyFiles.run(&f).status,
        Status::Warn,
        "node.key is plain hex"
    );
    let sealed = dir.path().join("sealed.key");
    std::fs::write(&sealed, b"{\"kdf\":\"argon2id\",\"ciphertext\":\"...\"}").expect("write");
    f.key_files = vec![facts::inspect_key_file(&sealed)];
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        f.key_files = vec![facts::inspect_key_file(&sealed)];
        assert_eq!(keys::KeyFiles.run(&f).status, Status::Pass);
        std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        f.key_files = vec![facts::inspect_key_file(&sealed)];
        assert_eq!(keys::KeyFiles.run(&f).status, Status::Warn);
    }
}

#[test]
fn a_tampered_ledger_fails_the_audit_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    init(dir.path(), &InitOptions::default()).expect("init");
    let conn =
        crate::store::open_writer(&dir.path().join(crate::datadir::LEDGER_FILE)).expect("open");
    conn.execute("UPDATE audit_log SET detail = 'x' WHERE seq = 1", [])
        .expect("tamper");
    drop(conn);
    let card = assess(&facts_of(dir.path()));
    assert_eq!(status(&card, "audit"), Status::Fail);
    assert!(!card.ok());
}

#[test]
fn evidence_warns_frozen_wallets_inform() {
    let dir = tempfile::tempdir().expect("tempdir");
    init(dir.path(), &InitOptions::default()).expect("init");
    let mut f = facts_of(dir.path());
    assert_eq!(ledger::Wallets.run(&f).status, Status::Pass);
    f.frozen = 1;
    assert_eq!(ledger::Wallets.run(&f).status, Status::Info);
    f.evidence = 2;
    assert_eq!(ledger::Wallets.run(&f).status, Status::Warn);
}
