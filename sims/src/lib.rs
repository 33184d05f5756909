//! # dfc-sims: financial-inclusion scenario simulator
//!
//! Runs a population of wallets described by a [`scenario::Scenario`] through the real dfc
//! ledger rules (`dfc_core`): who can pay and be paid, how often payments fail or wait, how much
//! value rides on offline risk, and what it costs to run. See `docs/sims.md`.
//!
//! | module | role |
//! |---|---|
//! | [`scenario`] | the TOML scenario format and its validation |
//! | [`proto`] | the two fidelities (`full`, `fast`) over the same rules |
//! | [`engine`] | the hourly simulation |
//! | [`metrics`] | what is measured and `report.json` |
//! | [`output`] | CSV, Markdown and files |
//! | [`charts`] | PNG charts |
//! | [`experiment`] | replications, sweeps and comparisons |
//! | [`stats`] | means, standard deviations and 95% intervals |
//! | [`load`] | the load generator against a live node |

pub mod charts;
pub mod cli_error;
pub mod engine;
pub mod experiment;
pub mod load;
pub mod metrics;
pub mod output;
pub mod proto;
pub mod scale;
pub mod scenario;
pub mod stats;

use metrics::{DayRow, Report};
pub use proto::Fidelity;
use scenario::Scenario;

/// The scenarios shipped with the simulator: `(name, TOML text)`.
pub const BUNDLED: [(&str, &str); 7] = [
    (
        "rural-district",
        include_str!("../scenarios/rural-district.toml"),
    ),
    (
        "g2p-cash-transfer",
        include_str!("../scenarios/g2p-cash-transfer.toml"),
    ),
    (
        "remittance-corridor",
        include_str!("../scenarios/remittance-corridor.toml"),
    ),
    ("market-day", include_str!("../scenarios/market-day.toml")),
    (
        "offline-fraud-stress",
        include_str!("../scenarios/offline-fraud-stress.toml"),
    ),
    (
        "policy-holding-limit",
        include_str!("../scenarios/policy-holding-limit.toml"),
    ),
    (
        "calibration-findex",
        include_str!("../scenarios/calibration-findex.toml"),
    ),
];

/// The bundled scenario named `name`.
pub fn bundled(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A finished run.
pub struct RunOutput {
    /// The report.
    pub report: Report,
    /// Per-day rows.
    pub days: Vec<DayRow>,
    /// Segment names, in scenario order.
    pub segment_names: Vec<String>,
}

/// Runs `scenario` with `seed` at `fidelity`; `progress` gets the number of ticks done (of
/// `days * 24`).
pub fn run(
    scenario: &Scenario,
    seed: u64,
    fidelity: Fidelity,
    progress: impl FnMut(u64),
) -> Result<RunOutput, engine::SimError> {
    // Calibration names are checked before the run, against the report an empty run would have.
    let names: Vec<String> = experiment::key_metrics(
        &metrics::Metrics::new(scenario, fidelity, seed, &[]).report(proto::Work::default()),
    )
    .into_iter()
    .map(|(n, _)| n)
    .collect();
    if let Some(c) = scenario
        .calibration
        .iter()
        .find(|c| !names.contains(&c.metric))
    {
        return Err(engine::SimError::Calibration {
            metric: c.metric.clone(),
            known: names.join(", "),
        });
    }
    let metrics = if fidelity == proto::Fidelity::Scale {
        let mut sim = scale::Sim::new(scenario, seed)?;
        sim.run(progress)?;
        let work = sim.work();
        (sim.metrics, work)
    } else {
        let mut sim = engine::Sim::new(scenario, seed, fidelity)?;
        sim.run(progress)?;
        (sim.metrics, sim.work)
    };
    let (metrics, work) = metrics;
    let mut report = metrics.report(work);
    let values = experiment::key_metrics(&report);
    report.calibration = scenario
        .calibration
        .iter()
        .filter_map(|c| {
            values
                .iter()
                .find(|(n, _)| *n == c.metric)
                .map(|(_, v)| metrics::CalibrationRow {
                    metric: c.metric.clone(),
                    published: c.value,
                    simulated: *v,
                    difference: ((v - c.value) * 1e4).round() / 1e4,
                    source: c.source.clone(),
                })
        })
        .collect();
    Ok(RunOutput {
        report,
        days: metrics.days_rows,
        segment_names: scenario.segments.iter().map(|s| s.name.clone()).collect(),
    })
}
