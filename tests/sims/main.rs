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

    tracing::info!("--- open loop in binary batches: each payment on its own schedule, all commit");
    let out = Command::new(bin_path("dfc-sim"))
        .args(["load", "--bank", node.url(), "--data"])
        .arg(&data)
        .args([
            "--payments",
            "16",
            "--rate",
            "400",
            "--linger-ms",
            "5",
            "--wire",
            "batch",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["committed"], 16, "{report:#}");
    assert_eq!(report["linger_ms"], 5.0, "{report:#}");
    // 400/s is one due every 2.5 ms: a 5 ms linger groups 3 at most, so at least 6 requests.
    let requests = report["requests"].as_u64().unwrap();
    assert!((6..=16).contains(&requests), "{report:#}");

    tracing::info!("--- a negative linger is refused before anything is sent");
    let out = Command::new(bin_path("dfc-sim"))
        .args(["load", "--bank", node.url(), "--data"])
        .arg(&data)
        .args(["--payments", "4", "--rate", "10", "--linger-ms=-1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--linger-ms must be between 0 and 10000"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// A two-day version of a bundled scenario, written to `dir`.
fn short_scenario(dir: &std::path::Path, name: &str, file: &str) -> std::path::PathBuf {
    let out = Command::new(bin_path("dfc-sim"))
        .args(["list", "--show", name])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let days = text
        .lines()
        .find(|l| l.starts_with("days = "))
        .unwrap()
        .to_string();
    let path = dir.join(file);
    std::fs::write(&path, text.replacen(&days, "days = 2", 1)).unwrap();
    path
}

fn sim(args: &[&str], extra: &[&std::path::Path]) -> std::process::Output {
    let out = Command::new(bin_path("dfc-sim"))
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dfc-sim {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `run --replications`, `sweep` and `compare` end to end: the real binary writes intervals,
/// bands, comparison tables and charts, and logs progress as lines when not on a terminal.
#[test]
fn replications_sweep_and_compare_end_to_end() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let base = short_scenario(dir.path(), "rural-district", "base.toml");

    tracing::info!("--- run --replications 3: intervals and bands");
    let out_dir = dir.path().join("reps");
    let out = sim(
        &["run", "--fidelity", "fast", "--replications", "3", "--out"],
        &[&out_dir, &base],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("3 replications"), "{log}");
    assert!(log.contains("run 3/3 done"), "{log}");
    for f in [
        "report.json",
        "intervals.csv",
        "intervals.md",
        "replications.csv",
        "daily_bands.csv",
        "band_payments_completed.png",
        "band_payments_completed.svg",
        "volume.svg",
        "seeds/1/report.json",
        "seeds/3/daily.csv",
    ] {
        assert!(out_dir.join(f).exists(), "{f} missing");
    }
    let intervals = std::fs::read_to_string(out_dir.join("intervals.csv")).unwrap();
    assert!(intervals.starts_with("metric,n,mean,sd,ci95_low,ci95_high"));
    assert!(
        intervals.contains("account_use_households,3,"),
        "{intervals}"
    );
    let reps = std::fs::read_to_string(out_dir.join("replications.csv")).unwrap();
    assert_eq!(reps.lines().count(), 4, "a header and a row per seed");

    tracing::info!("--- a single run logs progress lines off a terminal");
    let single = dir.path().join("single");
    let out = sim(&["run", "--fidelity", "fast", "--out"], &[&single, &base]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("day 1/2 (50%)"), "{log}");
    assert!(log.contains("day 2/2 (100%)"), "{log}");

    tracing::info!("--- sweep: 2 values x 2 replications");
    let sweep = dir.path().join("sweep");
    sim(
        &[
            "sweep",
            "--set",
            "policy.tiers.0.max_balance=200.00,160.00",
            "--replications",
            "2",
            "--out",
        ],
        &[&sweep, &base],
    );
    let table = std::fs::read_to_string(sweep.join("comparison.csv")).unwrap();
    assert!(table.starts_with("metric,variant,n,mean,"), "{table}");
    assert!(
        table.contains("policy.tiers.0.max_balance=160.00"),
        "{table}"
    );
    assert!(sweep.join("comparison.md").exists());
    assert!(sweep.join("charts/payments_completed.png").exists());
    assert!(sweep.join("charts/payments_completed.svg").exists());
    assert!(sweep.join("variants/1/intervals.md").exists());

    tracing::info!("--- compare: baseline against a variant file");
    let variant = dir.path().join("variant.toml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(
        &variant,
        text.replacen("max_balance = \"200.00\"", "max_balance = \"160.00\"", 1),
    )
    .unwrap();
    let cmp = dir.path().join("cmp");
    sim(
        &["compare", "--replications", "2", "--out"],
        &[&cmp, &base, &variant],
    );
    let md = std::fs::read_to_string(cmp.join("comparison.md")).unwrap();
    assert!(md.contains("| payments_completed | baseline: "), "{md}");
}

/// `dfc-sim` errors: one line on stderr with no backtrace even with `RUST_BACKTRACE=1`, and under
/// `--json` an object with a stable `code` (issue 19), as `dfc-bank` and `dfc-wallet` print them.
#[test]
fn errors_are_one_line_with_a_stable_code() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin_path("dfc-sim"))
        .args(["run", "no-such-scenario.toml", "--out"])
        .arg(dir.path().join("o"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("Caused by") && !err.contains("backtrace"),
        "{err}"
    );

    tracing::info!("--- load --json against no node: a JSON object with a code, one stderr line");
    let out = Command::new(bin_path("dfc-sim"))
        .args([
            "load",
            "--bank",
            "127.0.0.1:9",
            "--payments",
            "1",
            "--json",
            "--data",
        ])
        .arg(dir.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(v["code"], "node_unreachable", "{v}");
    assert_eq!(v["error"], v["code"]);
    assert!(v["message"].as_str().is_some_and(|m| !m.contains('\n')));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}
