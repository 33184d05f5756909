//! End-to-end tests of `dfc-sim`: the real binary against a real `dfc-bank serve`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use dfc_tests::{bin_path, init_sandbox, init_tracing, Node};

/// `dfc-sim load` registers wallets, funds them through an issuance approved with the sandbox
/// operator keys, pre-builds transfers and submits them; every one commits.
#[test]
fn load_generator_drives_a_real_node() {
    init_tracing();
    tracing::info!("--- a fresh sandbox node");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bank");
    init_sandbox(&data);
    let node = Node::start(&data);

    tracing::info!("--- 24 transfers at concurrency 4");
    let out = Command::new(bin_path("dfc-sim"))
        .args(["load", "--bank", node.url(), "--data"])
        .arg(&data)
        .args([
            "--payments",
            "24",
            "--concurrency",
            "4",
            "--verify-samples",
            "4",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dfc-sim load failed:\n{}\n{}\nnode log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        node.log()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["payments"], 24);
    assert_eq!(report["committed"], 24, "{report:#}");
    assert_eq!(report["errors"], serde_json::json!({}));
    for key in [
        "committed_per_second",
        "latency_ms_p50",
        "latency_ms_p90",
        "latency_ms_p99",
        "verification_ceiling_per_second",
        "ratio_to_ceiling",
    ] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report:#}");
    }

    tracing::info!("--- the node holds the transfers: 3 issuances and 24 transfers");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let supply = rt.block_on(node.client().supply()).unwrap();
    assert!(supply.tx_count >= 27, "{supply:?}");

    tracing::info!("--- a rerun with the same seed reuses the wallets and commits again");
    let out = Command::new(bin_path("dfc-sim"))
        .args(["load", "--bank", node.url(), "--data"])
        .arg(&data)
        .args(["--payments", "8", "--concurrency", "2", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["committed"], 8, "{report:#}");
}

/// `dfc-sim run` on a bundled scenario writes every output file.
#[test]
fn run_writes_report_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin_path("dfc-sim"))
        .args([
            "run",
            "market-day",
            "--fidelity",
            "fast",
            "--quiet",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "report.json",
        "daily.csv",
        "balances.csv",
        "summary.md",
        "volume.png",
        "failures.png",
        "double_spend.png",
        "balances.png",
        "timing.json",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n").unwrap();
    let out = Command::new(bin_path("dfc-sim"))
        .args(["run"])
        .arg(&bad)
        .args(["--out"])
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing field"));
}
