//! Charts drawn with plotters, each as PNG and SVG. Text uses the bundled DejaVu Sans (through plotters'
//! `ab_glyph` feature), so no system font library is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::metrics::{DayRow, FailReason, Report};
use crate::output::OutputError;

pub mod experiment;

/// DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

pub(crate) const WIDTH: u32 = 1000;
pub(crate) const HEIGHT: u32 = 560;
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to parse; if it did not, charts would lack text but
        // still be drawn, which is better than failing the run.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn currency(units: u64) -> f64 {
    units as f64 / 100.0
}

pub(crate) fn chart_err(path: &Path) -> impl Fn(String) -> OutputError + '_ {
    move |reason| OutputError::Chart {
        path: path.to_path_buf(),
        reason,
    }
}

/// Draws every chart into `dir`, each as `.png` and `.svg`; returns the files written.
pub fn draw_all(
    dir: &Path,
    report: &Report,
    days: &[DayRow],
    segment_names: &[String],
) -> Result<Vec<PathBuf>, OutputError> {
    register_font();
    let mut out = Vec::new();
    macro_rules! both {
        ($name:expr, $f:expr) => {{
            let png = dir.join(format!("{}.png", $name));
            $f(BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area())
                .map_err(chart_err(&png))?;
            out.push(png);
            let svg = dir.join(format!("{}.svg", $name));
            $f(SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area())
                .map_err(chart_err(&svg))?;
            out.push(svg);
        }};
    }
    both!("volume", |root| volume(root, report, days));
    both!("payments", |root| payments(root, report, days));
    both!("failures", |root| failures(root, report));
    both!("double_spend", |root| double_spend(root, report, days));
    both!("balances", |root| balances(
        root,
        report,
        days,
        segment_names
    ));
    Ok(out)
}

fn title(report: &Report, what: &str) -> String {
    format!(
        "{}: {what} ({}, seed {})",
        report.scenario, report.fidelity, report.seed
    )
}

/// Daily series as lines with a point per day, on an integer day axis (no ticks between days),
/// one quantity per chart.
fn lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>)],
) -> Result<(), String> {
    let n = series.first().map(|s| s.1.len()).unwrap_or(0).max(1) as u64;
    let ymax = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(45)
        .y_label_area_size(85)
        .build_cartesian_2d(0u64..n.max(2) - 1, 0f64..ymax)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("day")
        .y_desc(y_desc)
        .x_labels(usize::try_from(n.min(15)).unwrap_or(15))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(d, v)| (d as u64, *v)),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .map(|(d, v)| Circle::new((d as u64, *v), 3, color.filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| e.to_string())
}

fn volume<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
    days: &[DayRow],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    lines(
        &root,
        &title(report, "value paid per day"),
        "value (currency units)",
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
    )?;
    root.present().map_err(|e| e.to_string())
}

fn payments<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
    days: &[DayRow],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2);
    lines(
        &top,
        &title(report, "payments completed per day"),
        "payments",
        &[
            (
                "online".into(),
                days.iter().map(|d| d.online_payments as f64).collect(),
            ),
            (
                "offline".into(),
                days.iter().map(|d| d.offline_payments as f64).collect(),
            ),
        ],
    )?;
    let rate = |d: &DayRow| {
        let failed: u64 = d.failed.values().sum();
        let all = failed + d.online_payments + d.offline_payments;
        if all == 0 {
            0.0
        } else {
            100.0 * failed as f64 / all as f64
        }
    };
    lines(
        &bottom,
        "failure rate per day",
        "failed, % of attempted",
        &[("failure rate".into(), days.iter().map(rate).collect())],
    )?;
    root.present().map_err(|e| e.to_string())
}

fn double_spend<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
    days: &[DayRow],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut cum = 0u64;
    let mut attempts = 0u64;
    let mut caught = 0u64;
    let (mut loss, mut att, mut cau) = (Vec::new(), Vec::new(), Vec::new());
    for d in days {
        cum += d.double_spend_loss_units;
        attempts += d.double_spend_attempts;
        caught += d.double_spends_caught;
        loss.push(currency(cum));
        att.push(attempts as f64);
        cau.push(caught as f64);
    }
    // Money and counts on separate axes.
    let (top, bottom) = root.split_vertically(HEIGHT / 2);
    lines(
        &top,
        &title(report, "offline double spends, cumulative"),
        "loss (currency units)",
        &[("loss caught at settlement".into(), loss)],
    )?;
    lines(
        &bottom,
        "double-spend attempts and catches, cumulative",
        "packets",
        &[("attempts".into(), att), ("caught".into(), cau)],
    )?;
    root.present().map_err(|e| e.to_string())
}

fn balances<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
    days: &[DayRow],
    segment_names: &[String],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // Treasury wallets (government, remitters) hold orders of magnitude more than people and
    // would flatten every other line: they are left out (their figures are in balances.csv).
    let series: Vec<(String, Vec<f64>)> = segment_names
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            report
                .segments
                .get(*i)
                .is_some_and(|s| s.kind != "government" && s.kind != "remitter")
        })
        .map(|(i, name)| {
            let members = report.segments[i].members.max(1) as f64;
            (
                name.clone(),
                days.iter()
                    .map(|d| {
                        currency(d.balance_units_by_segment.get(i).copied().unwrap_or(0)) / members
                    })
                    .collect(),
            )
        })
        .collect();
    lines(
        &root,
        &title(
            report,
            "balance per member (government and remitters left out)",
        ),
        "currency units per member",
        &series,
    )?;
    root.present().map_err(|e| e.to_string())
}

fn failures<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &Report,
) -> Result<(), String> {
    let attempted = report.payments.attempted.max(1) as f64;
    let rows: Vec<(String, f64, u64)> = FailReason::ALL
        .iter()
        .map(|r| {
            let count = report
                .payments
                .failed_by_reason
                .get(r.name())
                .copied()
                .unwrap_or(0);
            (
                r.name().replace('_', " "),
                100.0 * count as f64 / attempted,
                count,
            )
        })
        .collect();
    let n = rows.len();
    let xmax = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1.0) * 1.5;
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            title(report, "failed payments by reason, % of attempted"),
            ("sans-serif", 18),
        )
        .margin(16)
        .x_label_area_size(45)
        .y_label_area_size(10)
        .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .y_labels(0)
        .x_desc("% of attempted payments")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, v, _))| {
            let y = (n - 1 - i) as f64;
            Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], PALETTE[3].filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (label, v, count))| {
            let y = (n - 1 - i) as f64;
            Text::new(
                format!("{label}: {:.2}% ({count})", v),
                (*v + xmax * 0.01, y + 0.75),
                ("sans-serif", 13),
            )
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
