//! Horizontal box plots: one box per group (quartiles, median, Tukey whiskers), every score as
//! a faint dot over it, outliers as open circles. Drawn with plotters like the other charts.

use crate::budget::BoxStats;
use crate::charts::{Meta, RowChart, color, rows_chart};
use anyhow::Result;
use plotters::prelude::*;

/// One group's box.
pub struct BoxRow {
    pub label: String,
    pub color: usize,
    pub scores: Vec<f64>,
    pub stats: Option<BoxStats>,
}

/// Boxes top to bottom in `rows` order, `note` under the plot.
pub fn box_chart(meta: &Meta, x_label: &str, rows: &[BoxRow], note: &str) -> Result<String> {
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} (n={})", r.label, r.scores.len()))
        .collect();
    let values: Vec<f64> = rows.iter().flat_map(|r| r.scores.iter().copied()).collect();
    rows_chart(meta, x_label, &labels, 60, &values, note, |chart, i, y| {
        let r = &rows[i];
        if let Some(b) = &r.stats {
            draw_box(chart, b, y, color(r.color))?;
        }
        let m = r.scores.len();
        chart.draw_series(
            r.scores
                .iter()
                .enumerate()
                .map(|(k, &v)| Circle::new((v, y + jitter(k, m)), 3, BLACK.mix(0.35).filled())),
        )?;
        Ok(())
    })
}

/// Vertical offset of dot `k` of `m`, so equal scores stay visible.
fn jitter(k: usize, m: usize) -> f64 {
    if m > 1 {
        (k as f64 / (m - 1) as f64 - 0.5) * 0.5
    } else {
        0.0
    }
}

/// The box, median bar, whiskers and outliers of one row at height `y`.
fn draw_box(chart: &mut RowChart, b: &BoxStats, y: f64, col: RGBColor) -> Result<()> {
    let h = 0.3;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(b.q1, y - h), (b.q3, y + h)],
        col.mix(0.25).filled(),
    )))?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(b.q1, y - h), (b.q3, y + h)],
        col.stroke_width(2),
    )))?;
    let lines = [
        vec![(b.median, y - h), (b.median, y + h)],
        vec![(b.whisker_lo, y), (b.q1, y)],
        vec![(b.q3, y), (b.whisker_hi, y)],
        vec![(b.whisker_lo, y - h / 2.0), (b.whisker_lo, y + h / 2.0)],
        vec![(b.whisker_hi, y - h / 2.0), (b.whisker_hi, y + h / 2.0)],
    ];
    for (i, l) in lines.into_iter().enumerate() {
        let width = if i == 0 { 4 } else { 2 };
        chart.draw_series(std::iter::once(PathElement::new(
            l,
            col.stroke_width(width),
        )))?;
    }
    chart.draw_series(
        b.outliers
            .iter()
            .map(|&x| Circle::new((x, y), 6, col.stroke_width(2))),
    )?;
    Ok(())
}
