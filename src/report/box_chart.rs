//! Horizontal box plots: one box per group (quartiles, median, Tukey whiskers), every score as
//! a faint dot over it, outliers as open circles. Drawn with plotters like the other charts.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::budget::BoxStats;
use super::charts::{
    F_AXIS, F_LEGEND, F_TICK, F_TITLE, Meta, WIDTH, color, finite_range, fit_title, font, no_data,
    pad, render, tick,
};

/// One group's box.
pub struct BoxRow {
    pub label: String,
    pub color: usize,
    pub scores: Vec<f64>,
    pub stats: Option<BoxStats>,
}

/// Boxes top to bottom in `rows` order, `note` under the plot.
pub fn box_chart(meta: &Meta, x_label: &str, rows: &[BoxRow], note: &str) -> Result<String> {
    let n = rows.len().max(1);
    let longest = rows.iter().map(|r| r.label.chars().count()).max();
    let label_w = (longest.unwrap_or(4) as u32 * 9 + 24).clamp(120, 380);
    let height = (n as u32 * 60 + 170).max(320);
    render((WIDTH.max(label_w + 460), height), meta, |root| {
        let (body, foot) = root.split_vertically(height - 36);
        foot.draw(&Text::new(
            note.to_string(),
            (20, 8),
            font(F_LEGEND).color(&RGBColor(80, 80, 80)),
        ))?;
        let Some((lo, hi)) = finite_range(rows.iter().flat_map(|r| r.scores.iter().copied()))
        else {
            return no_data(&body, meta.title, F_TITLE);
        };
        let (t, style) = fit_title(meta.title, body.dim_in_pixel().0, F_TITLE);
        let mut chart = ChartBuilder::on(&body)
            .caption(&t, style)
            .margin(10)
            .margin_right(28)
            .x_label_area_size(60)
            .y_label_area_size(label_w)
            .build_cartesian_2d(pad(lo, hi, 0.08), -0.6..(n as f64 - 0.4))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_label)
            .label_style(font(F_TICK))
            .axis_desc_style(font(F_AXIS))
            .x_labels(8)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|_| String::new())
            .light_line_style(RGBColor(242, 242, 242))
            .bold_line_style(RGBColor(218, 218, 218))
            .draw()?;
        let x_left = chart.x_range().start;
        for (i, r) in rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            if let Some(b) = &r.stats {
                draw_box(&mut chart, b, y, color(r.color))?;
            }
            let m = r.scores.len();
            chart.draw_series(
                r.scores
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| Circle::new((v, y + jitter(k, m)), 3, BLACK.mix(0.35).filled())),
            )?;
            let (px, py) = chart.backend_coord(&(x_left, y));
            root.draw(&Text::new(
                format!("{} (n={m})", r.label),
                (px - 10, py),
                font(F_LEGEND).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
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

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The box, median bar, whiskers and outliers of one row at height `y`.
fn draw_box(chart: &mut Chart, b: &BoxStats, y: f64, col: RGBColor) -> Result<()> {
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
