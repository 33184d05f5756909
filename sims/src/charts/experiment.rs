//! Experiment charts, each written as PNG and SVG: a daily series with its 95% band across
//! replications, and a metric's mean and interval per variant.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart_err, register_font, HEIGHT, PALETTE, WIDTH};
use crate::output::OutputError;
use crate::stats::Summary;

/// Draws with `draw` into `stem.png` and `stem.svg`.
fn both(
    stem: &Path,
    draw_png: impl Fn(DrawingArea<BitMapBackend, Shift>) -> Result<(), String>,
    draw_svg: impl Fn(DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<Vec<PathBuf>, OutputError> {
    register_font();
    let png = stem.with_extension("png");
    draw_png(BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area())
        .map_err(chart_err(&png))?;
    let svg = stem.with_extension("svg");
    draw_svg(SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area())
        .map_err(chart_err(&svg))?;
    Ok(vec![png, svg])
}

/// Whether a series is a share (drawn on 0..1).
fn is_share(name: &str) -> bool {
    name.contains("share") || name.contains("rate")
}

fn draw_band<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    days: &[Summary],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n = days.len().max(1);
    let ymax = if is_share(y_desc) {
        1.0
    } else {
        days.iter()
            .map(|s| s.ci_high)
            .fold(0.0f64, f64::max)
            .max(1.0)
            * 1.1
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(45)
        .y_label_area_size(80)
        // Days are whole numbers: an integer axis, so ticks never fall between days.
        .build_cartesian_2d(0u64..(n as u64).max(2) - 1, 0f64..ymax)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("day")
        .y_desc(y_desc)
        .x_labels(n.min(15))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    let color = PALETTE[0];
    let upper = days
        .iter()
        .enumerate()
        .map(|(d, s)| (d as u64, s.ci_high.max(0.0)));
    let lower = days
        .iter()
        .enumerate()
        .rev()
        .map(|(d, s)| (d as u64, s.ci_low.max(0.0)));
    chart
        .draw_series(std::iter::once(Polygon::new(
            upper.chain(lower).collect::<Vec<_>>(),
            color.mix(0.2).filled(),
        )))
        .map_err(|e| e.to_string())?
        .label("95% interval")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.mix(0.2).filled())
        });
    chart
        .draw_series(LineSeries::new(
            days.iter().enumerate().map(|(d, s)| (d as u64, s.mean)),
            color.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?
        .label("mean")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// A daily series across replications: the mean as a line, the 95% interval as a band.
pub fn band(
    stem: &Path,
    caption: &str,
    series: &str,
    days: &[Summary],
) -> Result<Vec<PathBuf>, OutputError> {
    both(
        stem,
        |root| draw_band(root, caption, series, days),
        |root| draw_band(root, caption, series, days),
    )
}

fn draw_intervals<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    metric: &str,
    points: &[(String, Summary)],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let lo = points
        .iter()
        .map(|p| p.1.ci_low)
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.1.ci_high)
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let pad = ((hi - lo) * 0.15).max(hi.abs() * 0.05).max(1e-6);
    let y0 = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    let n = points.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{metric}: mean and 95% interval by variant"),
            ("sans-serif", 18),
        )
        .margin(16)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y0..hi + pad)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(metric)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (label, s)) in points.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let x = k as f64;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                x,
                s.ci_low,
                s.mean,
                s.ci_high,
                color.stroke_width(2),
                12,
            )))
            .map_err(|e| e.to_string())?
            .label(label.clone())
            .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// A metric's mean and 95% interval for each variant.
pub fn intervals(
    stem: &Path,
    metric: &str,
    points: &[(String, Summary)],
) -> Result<Vec<PathBuf>, OutputError> {
    both(
        stem,
        |root| draw_intervals(root, metric, points),
        |root| draw_intervals(root, metric, points),
    )
}
