//! Files of an experiment: per-seed values, intervals, daily bands and comparison tables.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{csv_string, write, OutputError};
use crate::experiment::{compare, daily_bands, intervals, key_metrics, slug, Replicated};
use crate::stats::Summary;

fn f(x: f64) -> String {
    let r = (x * 1e6).round() / 1e6;
    if r == 0.0 {
        "0".into()
    } else {
        r.to_string()
    }
}

/// Four decimals, for the Markdown tables a reader scans.
fn f4(x: f64) -> String {
    f((x * 1e4).round() / 1e4)
}

fn dir_of(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// `replications.csv`, `intervals.csv`, `intervals.md`, `daily_bands.csv` and the band charts
/// of one variant's replications.
pub fn write_replications(dir: &Path, rep: &Replicated) -> Result<Vec<PathBuf>, OutputError> {
    dir_of(dir)?;
    let mut written = Vec::new();
    let mut rows = Vec::new();
    if let Some(first) = rep.runs.first() {
        let mut header = vec!["seed".to_string()];
        header.extend(key_metrics(&first.report).into_iter().map(|(n, _)| n));
        rows.push(header);
    }
    for (seed, run) in rep.seeds.iter().zip(&rep.runs) {
        let mut row = vec![seed.to_string()];
        row.extend(key_metrics(&run.report).into_iter().map(|(_, v)| f(v)));
        rows.push(row);
    }
    let p = dir.join("replications.csv");
    write(&p, csv_string(rows).as_bytes())?;
    written.push(p);
    let iv = intervals(rep);
    let mut rows = vec![["metric", "n", "mean", "sd", "ci95_low", "ci95_high"]
        .iter()
        .map(|s| (*s).to_string())
        .collect::<Vec<_>>()];
    for (name, s) in &iv {
        rows.push(vec![
            name.clone(),
            s.n.to_string(),
            f(s.mean),
            f(s.sd),
            f(s.ci_low),
            f(s.ci_high),
        ]);
    }
    let p = dir.join("intervals.csv");
    write(&p, csv_string(rows).as_bytes())?;
    written.push(p);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {}: {} replications (seeds {}..={})\n",
        rep.label,
        rep.runs.len(),
        rep.seeds.first().copied().unwrap_or(0),
        rep.seeds.last().copied().unwrap_or(0)
    );
    let _ = writeln!(
        md,
        "Mean, sample standard deviation and 95% interval of the mean (Student's t).\n"
    );
    let _ = writeln!(
        md,
        "| metric | mean | sd | 95% interval |\n|---|---:|---:|---|"
    );
    for (name, s) in &iv {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | [{}, {}] |",
            f4(s.mean),
            f4(s.sd),
            f4(s.ci_low),
            f4(s.ci_high)
        );
    }
    let p = dir.join("intervals.md");
    write(&p, md.as_bytes())?;
    written.push(p);
    let bands = daily_bands(rep);
    let mut rows = vec![["series", "day", "mean", "ci95_low", "ci95_high"]
        .iter()
        .map(|s| (*s).to_string())
        .collect::<Vec<_>>()];
    for (name, days) in &bands {
        for (d, s) in days.iter().enumerate() {
            rows.push(vec![
                name.clone(),
                d.to_string(),
                f(s.mean),
                f(s.ci_low),
                f(s.ci_high),
            ]);
        }
    }
    let p = dir.join("daily_bands.csv");
    write(&p, csv_string(rows).as_bytes())?;
    written.push(p);
    for (name, days) in &bands {
        let stem = dir.join(format!("band_{name}"));
        let caption = format!("{}: {} per day, mean and 95% interval", rep.label, name);
        written.extend(crate::charts::experiment::band(
            &stem, &caption, name, days,
        )?);
    }
    Ok(written)
}

/// `comparison.csv`, `comparison.md` and a chart per metric under `charts/`.
pub fn write_comparison(dir: &Path, reps: &[Replicated]) -> Result<Vec<PathBuf>, OutputError> {
    dir_of(dir)?;
    let rows = compare(reps);
    let mut written = Vec::new();
    let mut csv = vec![[
        "metric",
        "variant",
        "n",
        "mean",
        "ci95_low",
        "ci95_high",
        "difference",
        "difference_ci95_low",
        "difference_ci95_high",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect::<Vec<_>>()];
    let base = reps.first().map(|r| r.label.clone()).unwrap_or_default();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Comparison with the baseline: {base}\n\nEach variant ran on the same {} seeds as the \
         baseline; a difference is variant − baseline, with the 95% interval of the per-seed \
         differences (paired). An interval that excludes 0 is a difference the replications \
         resolve.\n",
        reps.first().map(|r| r.runs.len()).unwrap_or(0)
    );
    let _ = writeln!(
        md,
        "| metric | variant | mean [95% interval] | difference [95% interval] |\n|---|---|---|---|"
    );
    for r in &rows {
        csv.push(vec![
            r.metric.clone(),
            r.variant.clone(),
            r.value.n.to_string(),
            f(r.value.mean),
            f(r.value.ci_low),
            f(r.value.ci_high),
            f(r.difference.mean),
            f(r.difference.ci_low),
            f(r.difference.ci_high),
        ]);
        let diff = if r.variant == base {
            "baseline".to_string()
        } else {
            let mark = if r.difference.ci_low > 0.0 || r.difference.ci_high < 0.0 {
                " *"
            } else {
                ""
            };
            format!(
                "{:+} [{}, {}]{mark}",
                (r.difference.mean * 1e4).round() / 1e4,
                f4(r.difference.ci_low),
                f4(r.difference.ci_high)
            )
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} [{}, {}] | {diff} |",
            r.metric,
            r.variant,
            f4(r.value.mean),
            f4(r.value.ci_low),
            f4(r.value.ci_high)
        );
    }
    let _ = writeln!(md, "\n`*`: the 95% interval of the difference excludes 0.");
    let p = dir.join("comparison.csv");
    write(&p, csv_string(csv).as_bytes())?;
    written.push(p);
    let p = dir.join("comparison.md");
    write(&p, md.as_bytes())?;
    written.push(p);
    let charts = dir.join("charts");
    dir_of(&charts)?;
    let mut metrics: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    metrics.dedup();
    for m in metrics {
        let points: Vec<(String, Summary)> = rows
            .iter()
            .filter(|r| r.metric == m)
            .map(|r| (r.variant.clone(), r.value))
            .collect();
        let stem = charts.join(slug(m));
        written.extend(crate::charts::experiment::intervals(&stem, m, &points)?);
    }
    Ok(written)
}
