//! Writing a run's results: `report.json`, `daily.csv`, `balances.csv`, `summary.md` and the
//! charts. Everything written here is a function of the report, so it is deterministic.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub mod experiment;
#[cfg(feature = "parquet")]
pub mod parquet;

use crate::metrics::{DayRow, FailReason, Report};

/// Why results could not be written.
#[derive(Debug, Error)]
pub enum OutputError {
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// CSV encoding failed.
    #[error("cannot write {path}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A chart could not be drawn.
    #[error("cannot draw {path}: {reason}")]
    Chart {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    std::fs::write(path, bytes).map_err(|source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes every output file into `dir` (created if needed). Returns the paths written.
pub fn write_all(
    dir: &Path,
    report: &Report,
    days: &[DayRow],
    segment_names: &[String],
) -> Result<Vec<PathBuf>, OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let json = report_json(report);
    let p = dir.join("report.json");
    write(&p, json.as_bytes())?;
    written.push(p);
    let p = dir.join("daily.csv");
    write(&p, daily_csv(days).as_bytes())?;
    written.push(p);
    let p = dir.join("balances.csv");
    write(&p, balances_csv(days, segment_names).as_bytes())?;
    written.push(p);
    let p = dir.join("segments_daily.csv");
    write(&p, segments_daily_csv(days, report).as_bytes())?;
    written.push(p);
    #[cfg(feature = "parquet")]
    written.extend(parquet::write(dir, report, days)?);
    let p = dir.join("summary.md");
    write(&p, summary_md(report).as_bytes())?;
    written.push(p);
    written.extend(crate::charts::draw_all(dir, report, days, segment_names)?);
    Ok(written)
}

/// The report as pretty JSON with a final newline.
pub fn report_json(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

pub(crate) fn csv_string(rows: Vec<Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        // Writing to memory cannot fail but for a bug in csv; keep the row count honest anyway.
        let _ = w.write_record(&r);
    }
    w.into_inner()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn units(u: u64) -> String {
    dfc_core::Amount::from_units(u)
        .map(|a| a.display(crate::scenario::DECIMALS))
        .unwrap_or_else(|_| u.to_string())
}

/// `daily.csv`: one row per day.
pub fn daily_csv(days: &[DayRow]) -> String {
    let mut header: Vec<String> = [
        "day",
        "online_payments",
        "offline_payments",
        "online_value",
        "offline_value",
        "failed_total",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    header.extend(
        FailReason::ALL
            .iter()
            .map(|r| format!("failed_{}", r.name())),
    );
    header.extend(
        [
            "offline_settled",
            "double_spend_attempts",
            "double_spends_caught",
            "double_spend_loss",
            "unsettled_value",
            "pending_change",
            "supply",
        ]
        .iter()
        .map(|s| (*s).to_string()),
    );
    let mut rows = vec![header];
    for d in days {
        let mut r = vec![
            d.day.to_string(),
            d.online_payments.to_string(),
            d.offline_payments.to_string(),
            units(d.online_value_units),
            units(d.offline_value_units),
            d.failed.values().sum::<u64>().to_string(),
        ];
        r.extend(
            FailReason::ALL
                .iter()
                .map(|k| d.failed.get(k).copied().unwrap_or(0).to_string()),
        );
        r.extend([
            d.settled.to_string(),
            d.double_spend_attempts.to_string(),
            d.double_spends_caught.to_string(),
            units(d.double_spend_loss_units),
            units(d.unsettled_value_units),
            units(d.pending_change_units),
            units(d.supply_units),
        ]);
        rows.push(r);
    }
    csv_string(rows)
}

/// `balances.csv`: settled holdings of each segment at the end of each day.
pub fn balances_csv(days: &[DayRow], segment_names: &[String]) -> String {
    let mut rows = vec![vec![
        "day".to_string(),
        "segment".to_string(),
        "balance_total".to_string(),
    ]];
    for d in days {
        for (i, name) in segment_names.iter().enumerate() {
            rows.push(vec![
                d.day.to_string(),
                name.clone(),
                units(d.balance_units_by_segment.get(i).copied().unwrap_or(0)),
            ]);
        }
    }
    csv_string(rows)
}

/// `segments_daily.csv`: one row per day and segment (long format, for analysts' tools).
pub fn segments_daily_csv(days: &[DayRow], report: &Report) -> String {
    let mut rows = vec![[
        "day",
        "segment",
        "kind",
        "members",
        "payments_attempted",
        "payments_made",
        "payments_received",
        "value_sent",
        "value_received",
        "balance_total",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect::<Vec<_>>()];
    for d in days {
        for (i, seg) in report.segments.iter().enumerate() {
            let a = d.segments.get(i).copied().unwrap_or_default();
            rows.push(vec![
                d.day.to_string(),
                seg.name.clone(),
                seg.kind.clone(),
                seg.members.to_string(),
                a.attempted.to_string(),
                a.made.to_string(),
                a.received.to_string(),
                units(a.sent_units),
                units(a.received_units),
                units(d.balance_units_by_segment.get(i).copied().unwrap_or(0)),
            ]);
        }
    }
    csv_string(rows)
}

/// `summary.md`: the report for analysts.
pub fn summary_md(r: &Report) -> String {
    let mut s = String::new();
    let p = &r.payments;
    let _ = writeln!(s, "# {}\n", r.scenario);
    let _ = writeln!(s, "{}\n", r.description.trim());
    let _ = writeln!(
        s,
        "Fidelity **{}**, seed {}, {} days, {} people and organisations. Amounts in currency units.\n",
        r.fidelity, r.seed, r.days, r.population
    );
    let _ = writeln!(s, "## Payments\n");
    let _ = writeln!(s, "| | count | value |\n|---|---:|---:|");
    let _ = writeln!(s, "| attempted | {} | |", p.attempted);
    let _ = writeln!(s, "| completed | {} | {} |", p.completed, p.value_completed);
    let _ = writeln!(
        s,
        "| online | {} | {} |",
        p.completed_online, p.value_online
    );
    let _ = writeln!(
        s,
        "| offline | {} | {} |",
        p.completed_offline, p.value_offline
    );
    let _ = writeln!(
        s,
        "| failed | {} ({:.1}%) | |\n",
        p.failed,
        p.failure_rate * 100.0
    );
    let _ = writeln!(
        s,
        "Share of completed payments made offline: **{:.1}%**.\n",
        p.offline_share * 100.0
    );
    let _ = writeln!(
        s,
        "### Failed payments by reason\n\n| reason | count |\n|---|---:|"
    );
    for (k, v) in &p.failed_by_reason {
        if *v > 0 {
            let _ = writeln!(s, "| {} | {} |", k.replace('_', " "), v);
        }
    }
    let _ = writeln!(
        s,
        "\n### By flow\n\n| flow | attempted | completed | of which offline | failed | value |\n|---|---:|---:|---:|---:|---:|"
    );
    for (k, f) in &p.by_flow {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            k, f.attempted, f.completed, f.completed_offline, f.failed, f.value
        );
    }
    let _ = writeln!(s, "\n## Who can pay and be paid\n");
    let _ = writeln!(
        s,
        "| segment | kind | members | made a payment | received one | made or received (Findex window) | final balance per member | double-spend loss borne |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for g in &r.segments {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1}% | {:.1}% | {:.1}% | {} | {} |",
            g.name,
            g.kind,
            g.members,
            g.made_payment_share * 100.0,
            g.received_payment_share * 100.0,
            g.account_use_share * 100.0,
            g.final_balance_mean,
            g.double_spend_loss_borne
        );
    }
    let st = &r.settlement;
    let _ = writeln!(s, "\n## Offline settlement\n");
    let _ = writeln!(
        s,
        "{} offline payments settled; delay median {} h, 90th percentile {} h, 99th {} h, longest {} h. {} (value {}) still unsettled at the end.\n",
        st.offline_settled,
        st.delay_hours_p50,
        st.delay_hours_p90,
        st.delay_hours_p99,
        st.delay_hours_max,
        st.unsettled_at_end,
        st.unsettled_value_at_end
    );
    let _ = writeln!(s, "| delay | settled |\n|---|---:|");
    for b in &st.histogram {
        let _ = writeln!(s, "| {} | {} |", b.bucket, b.count);
    }
    let d = &r.double_spend;
    let _ = writeln!(s, "\n## Offline double spending\n");
    let _ = writeln!(
        s,
        "{} double spenders made {} attempts; payees accepted {} offline (they cannot tell). {} were caught at settlement ({} with verified evidence), losing {} (payees {}, central bank {}); {} in accepted double spends was still unsettled at the end. {} wallets frozen.\n",
        d.adversaries,
        d.attempts,
        d.attempts_accepted_offline,
        d.caught,
        d.caught_with_evidence,
        d.loss,
        d.loss_borne_by_payees,
        d.loss_borne_by_central_bank,
        d.undetected_at_end,
        d.wallets_frozen
    );
    let m = &r.remittances;
    if m.count > 0 {
        let _ = writeln!(
            s,
            "## Remittances\n\n{} transfers worth {}; senders paid {} in fees, {:.2}% of the value sent.\n",
            m.count, m.value, m.fees, m.cost_percent_of_value
        );
    }
    if !m.corridors.is_empty() {
        let _ = writeln!(
            s,
            "Cost on the Remittance Prices Worldwide basis (sending the equivalent of USD 200):\n\n| from | to | basis | fee at basis | FX margin | total cost |\n|---|---|---:|---:|---:|---:|"
        );
        for c in &m.corridors {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {}% | **{:.2}%** |",
                c.from, c.to, c.basis, c.fee_at_basis, c.fx_margin_percent, c.cost_percent
            );
        }
        let _ = writeln!(s);
    }
    let inc = &r.inclusion;
    let _ = writeln!(
        s,
        "## Account use (Findex-style)\n\nShare of household members who made or received a digital payment in the last {} days: **{:.1}%** of {}.\n",
        inc.window_days,
        inc.households.account_use_share * 100.0,
        inc.households.members
    );
    for (what, groups) in [("region", &inc.by_region), ("gender", &inc.by_gender)] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(s, "| {what} | members | account use |\n|---|---:|---:|");
        for g in groups {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1}% |",
                g.group,
                g.members,
                g.account_use_share * 100.0
            );
        }
        let _ = writeln!(s);
    }
    let c = &r.costs;
    if c.user_fees != "0.00" || c.merchant_fees != "0.00" || c.agent_commission != "0.00" {
        let _ = writeln!(
            s,
            "## Costs (fee schedule)\n\nUsers paid {} in fees over {} payments ({} per payment, {:.2}% of value); merchants paid {} ({:.2}% of what they received). Agents earned {} in commission and needed {} float rebalancing trips ({}): {} net per agent per day.\n",
            c.user_fees,
            c.user_payments,
            c.user_fee_per_payment,
            c.user_cost_percent_of_value,
            c.merchant_fees,
            c.merchant_cost_percent_of_value,
            c.agent_commission,
            c.agent_rebalancing_trips,
            c.agent_rebalancing_cost,
            c.agent_net_income_per_agent_day
        );
    }
    if !r.calibration.is_empty() {
        let _ = writeln!(
            s,
            "## Against published figures\n\n| metric | published | simulated | difference | source |\n|---|---:|---:|---:|---|"
        );
        for c in &r.calibration {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {:+.4} | {} |",
                c.metric, c.published, c.simulated, c.difference, c.source
            );
        }
        let _ = writeln!(s);
    }
    let e = &r.exposure;
    let _ = writeln!(
        s,
        "## Offline exposure\n\nLargest unsettled value one merchant held: {}. Largest unsettled value held by all payees at the end of a day: {} (day {}).\n",
        e.peak_per_merchant, e.peak_day_total, e.peak_day
    );
    let a = &r.accounting;
    let _ = writeln!(
        s,
        "## Money adds up\n\nSupply {} = wallet balances {} + unsettled offline payments {} + their pending change {} (difference {}). Double spenders' unresolved claims, not money: {}.\n",
        a.supply, a.balances, a.unsettled, a.pending_change, a.difference, a.double_spend_claims
    );
    let _ = writeln!(
        s,
        "## Connectivity measured\n\n| device | offline share set | measured |\n|---|---:|---:|"
    );
    for d in &r.connectivity {
        let _ = writeln!(
            s,
            "| {} | {:.1}% | {:.1}% |",
            d.device,
            d.offline_share_target * 100.0,
            d.offline_hour_share * 100.0
        );
    }
    let _ = writeln!(s);
    let pp = &r.per_payment;
    let _ = writeln!(s, "## What it takes to run\n");
    let _ = writeln!(
        s,
        "Per payment: {:.0} bytes of transaction, of which {:.0} bytes of range proof; {:.2} inputs; one aggregated range proof and {:.2} owner signatures to verify. Offline packets: {:.0} bytes on average, {} at most (one QR code holds {}), and {} more signatures for the payee to check. Ledger at the end: {} transactions, {} unspent notes, supply {}, audit {}.\n",
        pp.tx_bytes_mean,
        pp.range_proof_bytes_mean,
        pp.inputs_mean,
        pp.owner_signatures_to_verify_mean,
        pp.offline_packet_bytes_mean,
        pp.offline_packet_bytes_max,
        dfc_core::offline::MAX_PACKET_BYTES,
        pp.offline_extra_signatures_to_verify,
        r.ledger.transactions,
        r.ledger.unspent_notes,
        r.issuance.supply_at_end,
        r.ledger.supply_audit
    );
    let c = &r.compute;
    let _ = writeln!(
        s,
        "Work done in this run ({} fidelity): {} range proofs made, {} transactions and {} offline packets fully verified, {} pieces of evidence verified.\n",
        r.fidelity, c.range_proofs_made, c.transactions_verified, c.packets_verified, c.evidence_verified
    );
    let _ = writeln!(
        s,
        "Charts (PNG and SVG): `volume`, `payments`, `failures`, `double_spend`, `balances`. Data: `report.json`, `daily.csv`, `balances.csv`."
    );
    s
}
