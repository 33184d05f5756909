//! Scenario events and experiment plumbing, each checked against a number worked out by hand.
#![allow(clippy::unwrap_used)]

use dfc_sims::experiment::{apply_set, parse_set, replicate, sweep_variants, Variant};
use dfc_sims::scenario::Scenario;
use dfc_sims::{bundled, run, Fidelity};

/// `days` days; segments `h` (households, always online) and `shop`/`agent`/`gov`; `extra`
/// holds flows and events.
fn text(days: u32, extra: &str) -> String {
    format!(
        r#"
name = "events test"
description = "events"
days = {days}
seed = 3

[policy]
purse_notes = 2
certificate_validity_hours = 72
loss_bearer = "payee"
freeze_on_evidence = false

[policy.acceptance]
max_per_payer = "1000.00"
max_unsettled = "10000.00"
max_checkpoint_age_hours = 96

[[policy.tiers]]
name = "all"
max_payment = "100000.00"
max_balance = "100000000.00"
offline_cap = "0.00"

[[devices]]
name = "online"
offline_share = 0.0
mean_outage_hours = 1
offline_payments = false

[[segments]]
name = "h"
kind = "household"
income_band = "low"
count = 10
initial_balance = "0.00"
device = "online"
tier_mix = [1.0]

[[segments]]
name = "shop"
kind = "merchant"
count = 2
initial_balance = "0.00"
device = "online"
tier_mix = [1.0]

[[segments]]
name = "agent"
kind = "agent"
count = 2
initial_balance = "0.00"
device = "online"
tier_mix = [1.0]

[[segments]]
name = "gov"
kind = "government"
count = 1
initial_balance = "100000.00"
device = "online"
tier_mix = [1.0]

[[flows]]
kind = "g2p"
from = "gov"
to = "h"
interval_days = 1
amount_min = "30.00"
amount_max = "30.00"

{extra}

[adversaries]
double_spend_share = 0.0
segments = []
"#
    )
}

fn report(days: u32, extra: &str) -> dfc_sims::metrics::Report {
    let s = Scenario::from_toml(&text(days, extra)).unwrap();
    run(&s, s.seed, Fidelity::Fast, |_| {}).unwrap().report
}

/// An outage of `h` on day 1 of 3: its 10 always-online devices are offline 24 of their 72
/// hours (240 of the 15 × 72 = 1,080 device-hours of the profile). Remote payments need only
/// the payer online, so all 30 g2p transfers still arrive.
#[test]
fn outage_takes_a_segment_offline_for_its_window() {
    let r = report(
        3,
        "[[events]]\nkind = \"outage\"\nday = 1\ndays = 1\nsegment = \"h\"\n",
    );
    let d = &r.connectivity[0];
    // 15 devices × 72 hours; 10 of them offline for 24 hours.
    assert_eq!(d.agent_hours, 15 * 72);
    assert_eq!(
        d.offline_hour_share,
        ((240.0 / 1080.0) * 10_000.0_f64).round() / 10_000.0
    );
    assert_eq!(r.payments.by_flow["g2p"].completed, 30);
}

/// The tier's holding limit falls to 50.00 from day 1: each of the 10 households got 30.00 on
/// day 0, and 30.00 more would make 60.00 > 50.00 on days 1 and 2: 10 paid, 20 refused.
#[test]
fn tier_limit_change_applies_from_its_day() {
    let r = report(
        3,
        "[[events]]\nkind = \"tier_limits\"\nday = 1\ntier = 0\nmax_balance = \"50.00\"\n",
    );
    let g = &r.payments.by_flow["g2p"];
    assert_eq!(g.completed, 10);
    assert_eq!(r.payments.failed_by_reason["payee_over_balance_limit"], 20);
    // Disabled, it changes nothing: 30 paid.
    let r = report(
        3,
        "[[events]]\nkind = \"tier_limits\"\nday = 1\ntier = 0\nmax_balance = \"50.00\"\nenabled = false\n",
    );
    assert_eq!(r.payments.by_flow["g2p"].completed, 30);
}

/// A tier-limit event is a parameter change approved by the operators' threshold, effective from
/// the first block of its day (one block per hour: day 1 starts at block 25), and its end is a
/// second change back; the ledger verified both, and both fidelities agree.
#[test]
fn tier_limit_events_are_approved_parameter_changes_at_their_heights() {
    let event = "[[events]]\nkind = \"tier_limits\"\nday = 1\ndays = 1\ntier = 0\nmax_balance = \"50.00\"\n";
    let s = Scenario::from_toml(&text(3, event)).unwrap();
    let fast = run(&s, s.seed, Fidelity::Fast, |_| {}).unwrap().parameters;
    let scale = run(&s, s.seed, Fidelity::Scale, |_| {}).unwrap().parameters;
    // The same changes (signatures are randomised, so they differ byte for byte).
    assert_eq!(fast.genesis(), scale.genesis());
    let changes = |h: &dfc_core::ParamsHistory| {
        h.changes()
            .iter()
            .map(|c| c.change.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(changes(&fast), changes(&scale));
    let heights: Vec<u64> = fast
        .changes()
        .iter()
        .map(|c| c.change.effective_height)
        .collect();
    assert_eq!(heights, [25, 49]);
    for c in fast.changes() {
        assert_eq!(c.approvals.len(), fast.genesis().threshold);
    }
    let limit = |h: u64| fast.at(h).tiers[0].max_balance.units();
    assert_eq!(limit(24), 10_000_000_000);
    assert_eq!(limit(25), 5_000);
    assert_eq!(limit(48), 5_000);
    assert_eq!(limit(49), 10_000_000_000);
    assert_eq!(fast.latest(), fast.genesis());
    // Without events the parameters never change.
    let s = Scenario::from_toml(&text(2, "")).unwrap();
    assert!(run(&s, s.seed, Fidelity::Fast, |_| {})
        .unwrap()
        .parameters
        .changes()
        .is_empty());
}

/// A merchant flow at 24 a day (one an hour per household) is stopped on day 1 of 2 by an
/// activity factor of 0: 10 × 24 = 240 attempts, all on day 0.
#[test]
fn activity_factor_scales_a_flow() {
    let flows = "[[flows]]\nkind = \"merchant\"\nfrom = \"h\"\nto = \"shop\"\nper_day = 24\n\
                 amount_min = \"0.01\"\namount_max = \"0.01\"\n";
    let r = report(
        2,
        &format!(
            "{flows}\n[[events]]\nkind = \"activity\"\nday = 1\nflow = 1\nper_day_factor = 0.0\n"
        ),
    );
    assert_eq!(r.payments.by_flow["merchant"].attempted, 240);
}

/// Agents without cash: every cash-out fails as `agent_out_of_cash`.
#[test]
fn agent_liquidity_shock_refuses_cash_outs() {
    let flows = "[[flows]]\nkind = \"cash_out\"\nfrom = \"h\"\nto = \"agent\"\nper_day = 24\n\
                 amount_min = \"1.00\"\namount_max = \"1.00\"\n";
    let r = report(
        1,
        &format!("{flows}\n[[events]]\nkind = \"agent_liquidity\"\nday = 0\nsegment = \"agent\"\ncash_share = 0.0\n"),
    );
    let c = &r.payments.by_flow["cash_out"];
    assert_eq!(c.attempted, 240);
    assert_eq!(c.completed, 0);
    assert_eq!(r.payments.failed_by_reason["agent_out_of_cash"], 240);
}

#[test]
fn impossible_events_are_refused_with_the_formula() {
    let e = Scenario::from_toml(&text(
        3,
        "[[events]]\nkind = \"connectivity\"\nday = 1\noffline_share = 0.9\n",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(e.starts_with("events[0].offline_share"), "{e}");
    assert!(e.contains("s / (1 − s)"), "{e}");
    let e = Scenario::from_toml(&text(
        3,
        "[[events]]\nkind = \"outage\"\nday = 5\nsegment = \"h\"\n",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(e.starts_with("events[0].day"), "{e}");
    let e = Scenario::from_toml(&text(
        3,
        "[[events]]\nkind = \"outage\"\nday = 1\nsegment = \"h\"\ntier = 0\n",
    ))
    .err()
    .unwrap()
    .to_string();
    assert_eq!(e, "events[0].tier: outage events do not take it");
    let e = Scenario::from_toml(&text(
        3,
        "[[events]]\nkind = \"activity\"\nday = 1\nflow = 0\nper_day_factor = 2.0\n",
    ));
    // Flow 0 is g2p (no per_day): any factor is fine.
    assert!(e.is_ok());
}

#[test]
fn set_paths_keep_types_and_name_their_errors() {
    let t = bundled("policy-holding-limit").unwrap();
    let changed = apply_set(t, "tiers.0.max_balance", "50.00").unwrap();
    let s = Scenario::from_toml(&changed).unwrap();
    assert_eq!(s.policy.tiers[0].max_balance.units(), 5_000);
    let changed = apply_set(t, "events.0.enabled", "true").unwrap();
    assert_eq!(
        Scenario::from_toml(&changed).unwrap().events[0].enabled,
        Some(true)
    );
    let e = apply_set(t, "policy.tiers.9.max_balance", "1.00")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("index 9 is past the 3 elements"), "{e}");
    let e = apply_set(t, "days", "many").err().unwrap().to_string();
    assert!(e.contains("not an integer"), "{e}");
    let (path, values) = parse_set("days=1,2").unwrap();
    assert_eq!((path.as_str(), values.len()), ("days", 2));
    assert!(parse_set("days").is_err());
}

/// Replications of one variant: the per-seed runs are those of `run` with those seeds, and a
/// sweep's baseline compared with itself differs by exactly 0.
#[test]
fn replications_and_sweeps_are_the_runs_they_summarise() {
    let flows = "[[flows]]\nkind = \"merchant\"\nfrom = \"h\"\nto = \"shop\"\nper_day = 2\n\
                 amount_min = \"1.00\"\namount_max = \"5.00\"\n";
    let t = text(2, flows);
    let s = Scenario::from_toml(&t).unwrap();
    let reps = replicate(
        &[Variant {
            label: "base".into(),
            scenario: s.clone(),
        }],
        7,
        3,
        Fidelity::Fast,
    )
    .unwrap();
    assert_eq!(reps[0].seeds, vec![7, 8, 9]);
    let alone = run(&s, 8, Fidelity::Fast, |_| {}).unwrap().report;
    assert_eq!(
        reps[0].runs[1].report.payments.completed,
        alone.payments.completed
    );
    let variants = sweep_variants(
        &t,
        &[("flows.1.per_day".into(), vec!["2".into(), "2".into()])],
    );
    // per_day is a float in the file: "2" parses as one.
    let variants = variants.unwrap();
    assert_eq!(variants.len(), 2);
    let reps = replicate(&variants, 7, 3, Fidelity::Fast).unwrap();
    let rows = dfc_sims::experiment::compare(&reps);
    let completed: Vec<_> = rows
        .iter()
        .filter(|r| r.metric == "payments_completed")
        .collect();
    assert_eq!(completed.len(), 2);
    assert_eq!(completed[1].difference.mean, 0.0);
    assert_eq!(completed[1].difference.sd, 0.0);
}

/// A daily activity curve: all of a flow's payments in one hour. per_day = 1 with the whole
/// weight on 12:00 means each of the 10 households pays once a day, at noon: 10 × 2 days = 20
/// attempts. A curve that asks for more than one payment an hour is refused with the formula.
#[test]
fn hourly_profile_shapes_the_day() {
    let mut w = vec!["0"; 24];
    w[12] = "1";
    let flows = format!(
        "[[flows]]\nkind = \"merchant\"\nfrom = \"h\"\nto = \"shop\"\nper_day = 1\n\
         amount_min = \"0.01\"\namount_max = \"0.01\"\nhourly_profile = [{}]\n",
        w.join(", ")
    );
    let r = report(2, &flows);
    assert_eq!(r.payments.by_flow["merchant"].attempted, 20);
    let e = Scenario::from_toml(&text(2, &flows.replace("per_day = 1\n", "per_day = 2\n")))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "flows[1].hourly_profile: per_day × w[12] / Σw = 2 × 1 / 1 = 2 is above 1 (at most one \
         payment per member an hour)"
    );
}
