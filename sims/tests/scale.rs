//! The `scale` fidelity (integer notes, no commitments, keys or signatures) gives the outcomes
//! of `fast` (and so of `full`): every count and amount of the report and the daily tables, on
//! every bundled scenario.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use dfc_sims::scenario::Scenario;
use dfc_sims::{output, run, Fidelity, BUNDLED};

fn write_run(s: &Scenario, seed: u64, fidelity: Fidelity, dir: &Path) -> serde_json::Value {
    let r = run(s, seed, fidelity, |_| {}).unwrap();
    output::write_all(dir, &r.report, &r.days, &r.segment_names).unwrap();
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// The report without what legitimately differs between fidelities.
fn outcomes(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().unwrap();
    assert!(o.remove("fidelity").is_some());
    assert!(o.remove("compute").is_some());
    v
}

fn agree(name: &str, s: &Scenario, seed: u64) -> serde_json::Value {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fast = write_run(s, seed, Fidelity::Fast, a.path());
    let scale = write_run(s, seed, Fidelity::Scale, b.path());
    assert_eq!(scale["fidelity"], "scale", "{name}");
    assert_eq!(scale["compute"]["range_proofs_made"], 0, "{name}");
    assert_eq!(scale["ledger"]["supply_audit"], "passed", "{name}");
    assert_eq!(
        scale["accounting"]["difference"], "0.00",
        "{name}: {}",
        scale["accounting"]
    );
    let report = outcomes(scale);
    assert_eq!(outcomes(fast), report, "{name} (seed {seed})");
    for file in ["daily.csv", "balances.csv", "segments_daily.csv"] {
        assert_eq!(
            std::fs::read_to_string(a.path().join(file)).unwrap(),
            std::fs::read_to_string(b.path().join(file)).unwrap(),
            "{name}: {file}"
        );
    }
    report
}

#[test]
fn scale_and_fast_fidelity_give_identical_outcomes_on_every_bundled_scenario() {
    for (name, text) in BUNDLED {
        let s = Scenario::from_toml(text).unwrap();
        let report = agree(name, &s, s.seed);
        assert!(
            report["payments"]["completed"].as_u64().unwrap() > 0,
            "{name}"
        );
    }
}

/// A second seed of the fraud scenario, with the central bank bearing losses: double spends
/// caught with evidence, frozen wallets and compensation issued agree too.
#[test]
fn scale_agrees_on_double_spends_caught_and_compensated() {
    let text = dfc_sims::bundled("offline-fraud-stress")
        .unwrap()
        .replace("loss_bearer = \"payee\"", "loss_bearer = \"central_bank\"");
    let mut s = Scenario::from_toml(&text).unwrap();
    s.days = 4;
    let report = agree("offline-fraud-stress (central bank)", &s, 8);
    assert!(report["double_spend"]["caught"].as_u64().unwrap() > 0);
}
