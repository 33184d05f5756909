//! Experiments: replications over seeds, parameter sweeps and baseline-versus-variant
//! comparisons. Every variant runs on the same seeds (common random numbers), so differences
//! are paired per seed.

use rayon::prelude::*;
use thiserror::Error;

use crate::metrics::{DayRow, Report};
use crate::scenario::{Scenario, ScenarioError};
use crate::stats::{paired_difference, summarize, Summary};
use crate::{Fidelity, RunOutput};

/// Why an experiment could not run.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A variant's scenario is invalid.
    #[error("variant {label}: {source}")]
    Scenario {
        /// The variant.
        label: String,
        /// Why.
        source: ScenarioError,
    },
    /// A run failed.
    #[error("variant {label}, seed {seed}: {source}")]
    Run {
        /// The variant.
        label: String,
        /// The seed.
        seed: u64,
        /// Why.
        source: crate::engine::SimError,
    },
    /// A `--set` could not be applied.
    #[error("--set {path}: {reason}")]
    Set {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A scenario to run, with the label it has in tables.
pub struct Variant {
    /// Label, e.g. `policy.tiers.0.max_balance=100.00`.
    pub label: String,
    /// The scenario.
    pub scenario: Scenario,
}

/// A variant's runs, one per seed, in seed order.
pub struct Replicated {
    /// Label.
    pub label: String,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Runs.
    pub runs: Vec<RunOutput>,
}

/// Runs every variant on seeds `seed0 .. seed0 + n`, all runs in parallel (rayon). Results do not
/// depend on the number of threads.
pub fn replicate(
    variants: &[Variant],
    seed0: u64,
    n: usize,
    fidelity: Fidelity,
) -> Result<Vec<Replicated>, ExperimentError> {
    replicate_with_progress(variants, seed0, n, fidelity, &|_, _| {})
}

/// [`replicate`], calling `done(finished, total)` as each run ends (from any thread).
pub fn replicate_with_progress(
    variants: &[Variant],
    seed0: u64,
    n: usize,
    fidelity: Fidelity,
    done: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Replicated>, ExperimentError> {
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let seeds: Vec<u64> = (0..n as u64).map(|k| seed0.wrapping_add(k)).collect();
    let jobs: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|v| seeds.iter().map(move |s| (v, *s)))
        .collect();
    let mut outputs = jobs
        .par_iter()
        .map(|(v, seed)| {
            let r = crate::run(&variants[*v].scenario, *seed, fidelity, |_| {}).map_err(|source| {
                ExperimentError::Run {
                    label: variants[*v].label.clone(),
                    seed: *seed,
                    source,
                }
            });
            let k = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            done(k, jobs.len());
            r
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    Ok(variants
        .iter()
        .map(|v| Replicated {
            label: v.label.clone(),
            seeds: seeds.clone(),
            runs: outputs.by_ref().take(n).collect(),
        })
        .collect())
}

fn money(s: &str) -> f64 {
    s.parse().unwrap_or(0.0)
}

/// The metrics summarised over replications, by name: headline outcomes, inclusion by segment and
/// group, costs and risk.
pub fn key_metrics(r: &Report) -> Vec<(String, f64)> {
    let p = &r.payments;
    let mut m = vec![
        ("payments_completed".to_string(), p.completed as f64),
        ("failure_rate".to_string(), p.failure_rate),
        ("offline_share".to_string(), p.offline_share),
        (
            "account_use_households".to_string(),
            r.inclusion.households.account_use_share,
        ),
    ];
    for g in r.inclusion.by_region.iter() {
        m.push((
            format!("account_use_region[{}]", g.group),
            g.account_use_share,
        ));
    }
    for g in r.inclusion.by_gender.iter() {
        m.push((
            format!("account_use_gender[{}]", g.group),
            g.account_use_share,
        ));
    }
    for s in &r.segments {
        m.push((
            format!("made_payment_share[{}]", s.name),
            s.made_payment_share,
        ));
        m.push((
            format!("received_payment_share[{}]", s.name),
            s.received_payment_share,
        ));
    }
    for (reason, count) in &p.failed_by_reason {
        m.push((
            format!("failed_share[{reason}]"),
            if p.attempted == 0 {
                0.0
            } else {
                *count as f64 / p.attempted as f64
            },
        ));
    }
    m.push((
        "settlement_delay_hours_mean".into(),
        r.settlement.delay_hours_mean,
    ));
    m.push(("double_spend_loss".into(), money(&r.double_spend.loss)));
    m.push((
        "remittance_cost_percent_of_value".into(),
        r.remittances.cost_percent_of_value,
    ));
    for c in &r.remittances.corridors {
        m.push((
            format!("remittance_cost_percent_rpw[{}]", c.to),
            c.cost_percent,
        ));
    }
    m.push(("user_fee_per_payment".into(), r.costs.user_fee_per_payment));
    m.push((
        "merchant_cost_percent_of_value".into(),
        r.costs.merchant_cost_percent_of_value,
    ));
    m.push((
        "agent_net_income_per_agent_day".into(),
        r.costs.agent_net_income_per_agent_day,
    ));
    m.push((
        "offline_exposure_peak_per_merchant".into(),
        money(&r.exposure.peak_per_merchant),
    ));
    m
}

/// Per metric, its value in each run (runs in order).
fn columns(rep: &Replicated) -> Vec<(String, Vec<f64>)> {
    let mut cols: Vec<(String, Vec<f64>)> = Vec::new();
    for (k, run) in rep.runs.iter().enumerate() {
        for (j, (name, v)) in key_metrics(&run.report).into_iter().enumerate() {
            if k == 0 {
                cols.push((name, vec![v]));
            } else if let Some(c) = cols.get_mut(j) {
                c.1.push(v);
            }
        }
    }
    cols
}

/// Each metric's summary over a variant's replications.
pub fn intervals(rep: &Replicated) -> Vec<(String, Summary)> {
    columns(rep)
        .into_iter()
        .map(|(name, xs)| (name, summarize(&xs)))
        .collect()
}

/// Daily series summarised across replications: (series, per day summary).
pub fn daily_bands(rep: &Replicated) -> Vec<(String, Vec<Summary>)> {
    type Pick = fn(&DayRow) -> f64;
    let series: [(&str, Pick); 4] = [
        ("payments_completed", |d| {
            (d.online_payments + d.offline_payments) as f64
        }),
        ("failure_rate", |d| {
            let failed: u64 = d.failed.values().sum();
            let all = failed + d.online_payments + d.offline_payments;
            if all == 0 {
                0.0
            } else {
                failed as f64 / all as f64
            }
        }),
        ("offline_share", |d| {
            let all = d.online_payments + d.offline_payments;
            if all == 0 {
                0.0
            } else {
                d.offline_payments as f64 / all as f64
            }
        }),
        ("unsettled_value", |d| {
            d.unsettled_value_units as f64 / 100.0
        }),
    ];
    let days = rep.runs.first().map(|r| r.days.len()).unwrap_or(0);
    series
        .iter()
        .map(|(name, pick)| {
            let per_day = (0..days)
                .map(|d| {
                    let xs: Vec<f64> = rep
                        .runs
                        .iter()
                        .filter_map(|r| r.days.get(d).map(pick))
                        .collect();
                    summarize(&xs)
                })
                .collect();
            ((*name).to_string(), per_day)
        })
        .collect()
}

/// One row of a comparison: a metric of a variant against the baseline (the first variant).
#[derive(Clone, Debug)]
pub struct ComparisonRow {
    /// Metric.
    pub metric: String,
    /// Variant label.
    pub variant: String,
    /// The variant's summary.
    pub value: Summary,
    /// variant − baseline, paired by seed (zero for the baseline itself).
    pub difference: Summary,
}

/// Compares every variant with the first, metric by metric. Metrics that are zero in every run
/// of every variant are left out.
pub fn compare(reps: &[Replicated]) -> Vec<ComparisonRow> {
    let cols: Vec<Vec<(String, Vec<f64>)>> = reps.iter().map(columns).collect();
    let Some(base) = cols.first() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (j, (metric, base_xs)) in base.iter().enumerate() {
        let all_zero = cols
            .iter()
            .all(|c| c.get(j).is_none_or(|(_, xs)| xs.iter().all(|x| *x == 0.0)));
        if all_zero {
            continue;
        }
        for (v, c) in cols.iter().enumerate() {
            // Variants of one scenario have the same metrics; a compared scenario may differ.
            let Some((_, xs)) = c.iter().find(|(m, _)| m == metric) else {
                continue;
            };
            rows.push(ComparisonRow {
                metric: metric.clone(),
                variant: reps[v].label.clone(),
                value: summarize(xs),
                difference: paired_difference(base_xs, xs),
            });
        }
    }
    rows
}

/// Applies `path=value` to a scenario's TOML text. `path` is dotted with array indices
/// (`policy.tiers.0.max_balance`, `events.0.enabled`); a path whose first key is not at the top
/// level is looked up under `policy` (`tiers.0.max_balance`). The value takes the type of the
/// value it replaces (amounts are strings); a field that is absent takes a number, a boolean or
/// else a string.
pub fn apply_set(text: &str, path: &str, value: &str) -> Result<String, ExperimentError> {
    let err = |reason: String| ExperimentError::Set {
        path: path.to_string(),
        reason,
    };
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    let mut keys: Vec<&str> = path.split('.').collect();
    if keys.first().is_some_and(|k| !doc.contains_key(*k)) && doc.contains_key("policy") {
        let under_policy = doc
            .get("policy")
            .and_then(|p| p.as_table())
            .is_some_and(|p| keys.first().is_some_and(|k| p.contains_key(*k)));
        if under_policy {
            keys.insert(0, "policy");
        }
    }
    let (last, parents) = keys.split_last().ok_or_else(|| err("empty path".into()))?;
    let mut node = toml::Value::Table(std::mem::take(&mut doc));
    {
        let mut cur = &mut node;
        for k in parents {
            cur = match cur {
                toml::Value::Table(t) => t
                    .get_mut(*k)
                    .ok_or_else(|| err(format!("no field `{k}`")))?,
                toml::Value::Array(a) => {
                    let i: usize = k
                        .parse()
                        .map_err(|_| err(format!("`{k}` is not an index of an array")))?;
                    let len = a.len();
                    a.get_mut(i)
                        .ok_or_else(|| err(format!("index {i} is past the {len} elements")))?
                }
                _ => return Err(err(format!("`{k}` is inside a value, not a table"))),
            };
        }
        let slot = match cur {
            toml::Value::Table(t) => t,
            _ => return Err(err(format!("`{last}` is not in a table"))),
        };
        let new = match slot.get(*last) {
            Some(toml::Value::String(_)) => toml::Value::String(value.to_string()),
            Some(toml::Value::Integer(_)) => toml::Value::Integer(
                value
                    .parse()
                    .map_err(|_| err(format!("`{value}` is not an integer")))?,
            ),
            Some(toml::Value::Float(_)) => toml::Value::Float(
                value
                    .parse()
                    .map_err(|_| err(format!("`{value}` is not a number")))?,
            ),
            Some(toml::Value::Boolean(_)) => toml::Value::Boolean(
                value
                    .parse()
                    .map_err(|_| err(format!("`{value}` is not true or false")))?,
            ),
            Some(_) => return Err(err("only numbers, strings and booleans can be set".into())),
            None => {
                if let Ok(i) = value.parse::<i64>() {
                    toml::Value::Integer(i)
                } else if let Ok(x) = value.parse::<f64>() {
                    toml::Value::Float(x)
                } else if let Ok(b) = value.parse::<bool>() {
                    toml::Value::Boolean(b)
                } else {
                    toml::Value::String(value.to_string())
                }
            }
        };
        slot.insert((*last).to_string(), new);
    }
    toml::to_string(&node).map_err(|e| err(e.to_string()))
}

/// The variants of a sweep: every combination of the `--set` values, the first value of each
/// path first (the baseline).
pub fn sweep_variants(
    text: &str,
    sets: &[(String, Vec<String>)],
) -> Result<Vec<Variant>, ExperimentError> {
    let mut combos: Vec<(String, String)> = vec![(String::new(), text.to_string())];
    for (path, values) in sets {
        let mut next = Vec::new();
        for (label, t) in &combos {
            for v in values {
                let label = if label.is_empty() {
                    format!("{path}={v}")
                } else {
                    format!("{label}, {path}={v}")
                };
                next.push((label, apply_set(t, path, v)?));
            }
        }
        combos = next;
    }
    combos
        .into_iter()
        .map(|(label, t)| {
            let label = if label.is_empty() {
                "baseline".to_string()
            } else {
                label
            };
            let scenario = Scenario::from_toml(&t).map_err(|source| ExperimentError::Scenario {
                label: label.clone(),
                source,
            })?;
            Ok(Variant { label, scenario })
        })
        .collect()
}

/// Parses `path=v1,v2,...`.
pub fn parse_set(arg: &str) -> Result<(String, Vec<String>), ExperimentError> {
    let (path, values) = arg.split_once('=').ok_or_else(|| ExperimentError::Set {
        path: arg.to_string(),
        reason: "expected PATH=VALUE[,VALUE...]".into(),
    })?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if path.is_empty() || values.iter().any(String::is_empty) {
        return Err(ExperimentError::Set {
            path: path.to_string(),
            reason: "expected PATH=VALUE[,VALUE...] with no empty value".into(),
        });
    }
    Ok((path.trim().to_string(), values))
}

/// A metric name as a file name.
pub fn slug(metric: &str) -> String {
    metric
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}
