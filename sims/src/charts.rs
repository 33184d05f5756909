//! PNG charts drawn with plotters. Text uses the bundled DejaVu Sans (through plotters'
//! `ab_glyph` feature), so no system font library is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::metrics::{DayRow, FailReason, Report};
use crate::output::OutputError;

/// DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 560;
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to parse; if it did not, charts would lack text but
        // still be drawn, which is better than failing the run.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn currency(units: u64) -> f64 {
    units as f64 / 100.0
}

fn chart_err(path: &Path) -> impl Fn(String) -> OutputError + '_ {
    move |reason| OutputError::Chart {
        path: path.to_path_buf(),
        reason,
    }
}

/// Draws every chart into `dir`; returns the files written.
pub fn draw_all(
    dir: &Path,
    report: &Report,
    days: &[DayRow],
    segment_names: &[String],
) -> Result<Vec<PathBuf>, OutputError> {
    register_font();
    let mut out = Vec::new();
    let p = dir.join("volume.png");
    volume(&p, report, days).map_err(chart_err(&p))?;
    out.push(p);
    let p = dir.join("failures.png");
    failures(&p, report).map_err(chart_err(&p))?;
    out.push(p);
    let p = dir.join("double_spend.png");
    double_spend(&p, report, days).map_err(chart_err(&p))?;
    out.push(p);
    let p = dir.join("balances.png");
    balances(&p, report, days, segment_names).map_err(chart_err(&p))?;
    out.push(p);
    Ok(out)
}

fn title(report: &Report, what: &str) -> String {
    format!(
        "{}: {what} ({}, seed {})",
        report.scenario, report.fidelity, report.seed
    )
}

fn lines(
    path: &Path,
    caption: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>)],
) -> Result<(), String> {
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n = series.first().map(|s| s.1.len()).unwrap_or(0).max(1);
    let ymax = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), 0f64..ymax)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("day")
        .y_desc(y_desc)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(d, v)| (d as f64, *v)),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn volume(path: &Path, report: &Report, days: &[DayRow]) -> Result<(), String> {
    lines(
        path,
        &title(report, "daily value paid"),
        "currency units",
        &[
            (
                "online".into(),
                days.iter()
                    .map(|d| currency(d.online_value_units))
                    .collect(),
            ),
            (
                "offline".into(),
                days.iter()
                    .map(|d| currency(d.offline_value_units))
                    .collect(),
            ),
        ],
    )
}

fn double_spend(path: &Path, report: &Report, days: &[DayRow]) -> Result<(), String> {
    let mut cum = 0u64;
    let mut attempts = 0u64;
    let mut loss = Vec::new();
    let mut att = Vec::new();
    for d in days {
        cum += d.double_spend_loss_units;
        attempts += d.double_spend_attempts;
        loss.push(currency(cum));
        att.push(attempts as f64);
    }
    lines(
        path,
        &title(report, "offline double spends (cumulative)"),
        "currency units / attempts",
        &[
            ("loss caught at settlement".into(), loss),
            ("attempts".into(), att),
        ],
    )
}

fn balances(
    path: &Path,
    report: &Report,
    days: &[DayRow],
    segment_names: &[String],
) -> Result<(), String> {
    let members: Vec<f64> = report
        .segments
        .iter()
        .map(|s| s.members.max(1) as f64)
        .collect();
    let series: Vec<(String, Vec<f64>)> = segment_names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                name.clone(),
                days.iter()
                    .map(|d| {
                        currency(d.balance_units_by_segment.get(i).copied().unwrap_or(0))
                            / members.get(i).copied().unwrap_or(1.0)
                    })
                    .collect(),
            )
        })
        .collect();
    lines(
        path,
        &title(report, "balance per member by segment"),
        "currency units per member",
        &series,
    )
}

fn failures(path: &Path, report: &Report) -> Result<(), String> {
    let rows: Vec<(String, u64)> = FailReason::ALL
        .iter()
        .map(|r| {
            (
                r.name().replace('_', " "),
                report
                    .payments
                    .failed_by_reason
                    .get(r.name())
                    .copied()
                    .unwrap_or(0),
            )
        })
        .collect();
    let n = rows.len();
    let xmax = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64 * 1.5;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            title(report, "failed payments by reason"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .y_labels(0)
        .x_desc("failed payments")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let y = (n - 1 - i) as f64;
            Rectangle::new(
                [(0.0, y + 0.15), (*v as f64, y + 0.85)],
                PALETTE[3].filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            labels
                .iter()
                .zip(&rows)
                .enumerate()
                .map(|(i, (label, (_, v)))| {
                    let y = (n - 1 - i) as f64;
                    Text::new(
                        format!("{label}: {v}"),
                        (*v as f64 + xmax * 0.01, y + 0.75),
                        ("sans-serif", 13),
                    )
                }),
        )
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
