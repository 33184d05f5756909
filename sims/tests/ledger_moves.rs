//! What the simulator moves on the ledger beyond payments: the turnover limit (money received
//! beyond `max_inflow` is held pending until a later period, as the wallet does) and domestic
//! fees. Each checked against numbers worked out by hand from the scenario.
#![allow(clippy::unwrap_used)]

use dfc_sims::scenario::Scenario;
use dfc_sims::{run, Fidelity};

/// A government paying 10 households (tier 0: holding limit 1,000.00, turnover limit
/// `max_inflow` per `period` days) through `flows`; everyone always online.
fn turnover_scenario(days: u32, period: u32, max_inflow: &str, flows: &str) -> Scenario {
    Scenario::from_toml(&format!(
        r#"
name = "turnover"
description = "turnover limit test"
days = {days}
seed = 1

[policy]
purse_notes = 2
certificate_validity_hours = 72
loss_bearer = "payee"
freeze_on_evidence = false
turnover_period_days = {period}

[policy.acceptance]
max_per_payer = "1000.00"
max_unsettled = "10000.00"
max_checkpoint_age_hours = 96

[[policy.tiers]]
name = "basic"
max_payment = "1000.00"
max_balance = "1000.00"
offline_cap = "0.00"
max_inflow = "{max_inflow}"

[[policy.tiers]]
name = "institution"
max_payment = "100000.00"
max_balance = "100000000.00"
offline_cap = "0.00"

[[devices]]
name = "online"
offline_share = 0.0
mean_outage_hours = 1
offline_payments = false

[[segments]]
name = "gov"
kind = "government"
count = 1
initial_balance = "100000.00"
device = "online"
tier_mix = [0.0, 1.0]

[[segments]]
name = "people"
kind = "household"
income_band = "low"
count = 10
initial_balance = "0.00"
device = "online"
tier_mix = [1.0, 0.0]

{flows}

[adversaries]
double_spend_share = 0.0
segments = []
"#
    ))
    .unwrap()
}

fn g2p(units: &str) -> String {
    format!(
        "[[flows]]\nkind = \"g2p\"\nfrom = \"gov\"\nto = \"people\"\ninterval_days = 1\n\
         amount_min = \"{units}\"\namount_max = \"{units}\"\n"
    )
}

/// Turnover limit 50.00 per 30 days, 30.00 paid every day for 3 days (the period, counted from
/// the Unix epoch by ledger time, does not roll over in the run): each household claims the
/// first 30.00 and holds the next two (60.00 > 50.00), which stay pending, unspendable, and
/// counted in its holdings.
#[test]
fn money_beyond_the_turnover_limit_is_held() {
    let s = turnover_scenario(3, 30, "50.00", &g2p("30.00"));
    let r = run(&s, 1, Fidelity::Fast, |_| {}).unwrap().report;
    assert_eq!(r.payments.completed, 30);
    let t = &r.turnover;
    assert_eq!(t.notes_held, 20);
    assert_eq!(t.value_held, "600.00");
    assert_eq!(t.notes_claimed_later, 0);
    assert_eq!(t.notes_held_at_end, 20);
    assert_eq!(t.value_held_at_end, "600.00");
    let people = r.segments.iter().find(|x| x.name == "people").unwrap();
    assert_eq!(people.final_balance_total, "900.00");
    assert_eq!(r.accounting.difference, "0.00");

    // Without a turnover limit nothing is held.
    let s = turnover_scenario(3, 30, "1000.00", &g2p("30.00"));
    let r = run(&s, 1, Fidelity::Fast, |_| {}).unwrap().report;
    assert_eq!(r.turnover.notes_held, 0);
    assert_eq!(r.payments.completed, 30);
}

/// A one-day period starts at 16:00 simulated time (the epoch is 08:00 UTC of a day) and
/// household k is paid at 08:00 + k. Two 30.00 transfers a day against a 50.00 limit: each
/// household holds the second. Households 0-7 were paid before 16:00 and claim it at their sync
/// in the new period; households 8 and 9, paid at 16:00 and 17:00, still hold theirs at the end.
#[test]
fn held_money_is_claimed_in_the_next_period() {
    let s = turnover_scenario(1, 1, "50.00", &(g2p("30.00") + "\n" + &g2p("30.00")));
    let r = run(&s, 1, Fidelity::Fast, |_| {}).unwrap().report;
    assert_eq!(r.payments.completed, 20);
    let t = &r.turnover;
    assert_eq!(t.notes_held, 10);
    assert_eq!(t.notes_claimed_later, 8);
    assert_eq!(t.value_claimed_later, "240.00");
    assert_eq!(t.notes_held_at_end, 2);
    assert_eq!(t.value_held_at_end, "60.00");
    assert_eq!(r.accounting.difference, "0.00");
}

/// The scenario's turnover period must be one the protocol allows.
#[test]
fn turnover_period_is_validated() {
    let text = std::fs::read_to_string("scenarios/rural-district.toml").unwrap();
    let bad = text.replace("[policy]\n", "[policy]\nturnover_period_days = 0\n");
    let e = Scenario::from_toml(&bad).unwrap_err().to_string();
    assert!(e.contains("policy.turnover_period_days"), "{e}");
}

/// One household (100.00) pays a shop 1.00 and cashes out 2.00 at an agent every hour for a day,
/// always online. Merchant fee 2% + 0.05 = 0.07 per payment, deducted: the shop receives 0.93.
/// Cash-out fee 1.5% of 2.00 = 0.03 on top, of which the agent's commission 0.5% = 0.01: the
/// household pays 2.03, the agent receives 2.01, the scheme 0.02. After 24 of each: household
/// 100.00 − 24 × (1.00 + 2.03) = 27.28, shop 22.32, agent 48.24, scheme 24 × 0.09 = 2.16, which
/// adds up to the 100.00 issued.
#[test]
fn fees_are_moved_on_the_ledger() {
    let text = r#"
name = "fees"
description = "fees moved on the ledger"
days = 1
seed = 1

[policy]
purse_notes = 2
certificate_validity_hours = 72
loss_bearer = "payee"
freeze_on_evidence = false

[policy.fees]
merchant_percent = 2.0
merchant_fixed = "0.05"
cash_out_percent = 1.5
agent_commission_percent = 0.5

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
count = 1
initial_balance = "100.00"
device = "online"
tier_mix = [1.0]

[[segments]]
name = "shop"
kind = "merchant"
count = 1
initial_balance = "0.00"
device = "online"
tier_mix = [1.0]

[[segments]]
name = "agent"
kind = "agent"
count = 1
initial_balance = "0.00"
device = "online"
tier_mix = [1.0]

[[flows]]
kind = "merchant"
from = "h"
to = "shop"
per_day = 24
amount_min = "1.00"
amount_max = "1.00"

[[flows]]
kind = "cash_out"
from = "h"
to = "agent"
per_day = 24
amount_min = "2.00"
amount_max = "2.00"

[adversaries]
double_spend_share = 0.0
segments = []
"#;
    let s = Scenario::from_toml(text).unwrap();
    let r = run(&s, 1, Fidelity::Fast, |_| {}).unwrap().report;
    assert_eq!(
        r.payments.completed, 48,
        "{:?}",
        r.payments.failed_by_reason
    );
    let balance = |name: &str| {
        r.segments
            .iter()
            .find(|x| x.name == name)
            .unwrap()
            .final_balance_total
            .clone()
    };
    assert_eq!(balance("h"), "27.28");
    assert_eq!(balance("shop"), "22.32");
    assert_eq!(balance("agent"), "48.24");
    assert_eq!(r.costs.fees_moved_to_scheme, "2.16");
    assert_eq!(r.costs.agent_commission_moved, "0.24");
    assert_eq!(r.accounting.scheme_fees_held, "2.16");
    assert_eq!(r.accounting.supply, "100.00");
    assert_eq!(r.accounting.difference, "0.00");
    // The priced figures are unchanged by the moving.
    assert_eq!(r.costs.merchant_fees, "1.68");
    assert_eq!(r.costs.agent_commission, "0.24");
}

/// With fees on every domestic flow and payments going offline, fee outputs ride in offline
/// packets and reach the scheme at settlement: the identity holds every day (a run that breaks it
/// fails) and the scheme holds what was moved less what is still unsettled.
#[test]
fn fees_in_offline_payments_keep_the_identity() {
    let text = dfc_sims::bundled("market-day").unwrap().replace(
        "[policy.acceptance]",
        "[policy.fees]\np2p_percent = 1.0\np2p_fixed = \"0.02\"\nmerchant_percent = 1.5\n\
         cash_in_percent = 1.0\ncash_out_percent = 2.0\nagent_commission_percent = 0.5\n\n\
         [policy.acceptance]",
    );
    let s = Scenario::from_toml(&text).unwrap();
    let r = run(&s, s.seed, Fidelity::Fast, |_| {}).unwrap().report;
    assert!(r.payments.completed_offline > 0);
    assert_eq!(r.accounting.difference, "0.00");
    let held: f64 = r.accounting.scheme_fees_held.parse().unwrap();
    let moved: f64 = r.costs.fees_moved_to_scheme.parse().unwrap();
    let unsettled: f64 = r.accounting.unsettled.parse().unwrap();
    assert!(held > 0.0 && held <= moved, "{held} {moved}");
    assert!(
        moved - held <= unsettled + 1e-9,
        "{moved} {held} {unsettled}"
    );
}
