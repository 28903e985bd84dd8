//! SVG drawing with plotters.
//!
//! Every function returns the SVG text rather than writing a file, so the caller can
//! add machine-readable markers (`<!-- series: ... -->`) and write atomically.
//! Font sizes are given in plotters units; the SVG backend divides them by 1.24, so
//! 18 gives 14.5 px text, the smallest used.

pub(crate) mod box_chart;
pub(crate) mod figures;
mod surface;

use std::ops::Range;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::group::{downsample_band, downsample_minmax};

pub use surface::{SurfacePanel, coarsen, surface_chart};

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Okabe-Ito, reordered so the first colours contrast most on white (yellow last).
/// Beyond eight configurations colours repeat with dashed lines.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0xF0, 0xE4, 0x42),
];

/// Most points drawn per line; keeps SVGs small and drawing fast.
pub const MAX_POINTS: usize = 1000;

pub(super) const WIDTH: u32 = 800;
const PLOT_H: u32 = 500;
pub(super) const F_TITLE: f64 = 26.0;
const F_PANEL: f64 = 21.0;
pub(super) const F_AXIS: f64 = 20.0;
pub(super) const F_TICK: f64 = 18.0;
pub(super) const F_LEGEND: f64 = 18.0;

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `#rrggbb` of a configuration colour, for HTML swatches.
pub fn color_hex(i: usize) -> String {
    let RGBColor(r, g, b) = color(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn dashed(i: usize) -> bool {
    i >= PALETTE.len()
}

pub(super) fn font(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

/// Shrink a title's font (down to 14.5 px) so it fits `width`; cut it with an ellipsis
/// only if even that is too wide. Widths use the same estimate as plotters' layout.
pub(super) fn fit_title(text: &str, width: u32, max: f64) -> (String, TextStyle<'static>) {
    const MIN: f64 = 18.0;
    let avail = width as f64 - 30.0;
    let est = |t: &str, size: f64| t.chars().count() as f64 * size / 1.24 * 0.6;
    let size = (avail / est(text, 1.0)).clamp(MIN.min(max), max);
    let mut t = text.to_string();
    if est(&t, size) > avail {
        let keep = (avail / est("x", size)) as usize;
        t = t.chars().take(keep.saturating_sub(1)).collect::<String>() + "…";
    }
    (t, font(size))
}

/// Compact tick text: `0`, `0.25`, `12.5k`, `1e-4`.
pub fn tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a < 1e-12 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}").replace(".0e", "e");
    }
    if a >= 1e4 {
        return format!("{}k", trim_zeros(&format!("{:.1}", v / 1000.0)));
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 5) as usize;
    trim_zeros(&format!("{v:.decimals$}"))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Metadata placed at the top of each SVG: a `<title>` and one comment per series so
/// tests and scripts can check a chart without parsing drawing commands.
pub struct Meta<'a> {
    pub title: &'a str,
    pub kind: &'a str,
    pub series: Vec<String>,
}

pub(super) fn render(
    size: (u32, u32),
    meta: &Meta,
    draw: impl FnOnce(&Area) -> Result<()>,
) -> Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let at = buf.find(">\n").map_or(0, |i| i + 2);
    let mut head = format!(
        "<title>{}</title>\n<!-- chart: {} -->\n",
        xml_escape(meta.title),
        comment_safe(meta.kind)
    );
    for s in &meta.series {
        head.push_str(&format!("<!-- series: {} -->\n", comment_safe(s)));
    }
    buf.insert_str(at, &head);
    Ok(buf)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// XML comments may not contain `--`.
fn comment_safe(s: &str) -> String {
    let mut out = s.replace("--", "- -");
    if out.ends_with('-') {
        out.push(' ');
    }
    out
}

/// Legend drawn below the plot so it never hides data; one entry per configuration.
pub struct Legend {
    pub entries: Vec<(String, usize)>,
    pub note: Option<String>,
}

impl Legend {
    fn layout(&self, width: u32) -> (u32, usize, i32) {
        let longest = self
            .entries
            .iter()
            .map(|e| e.0.chars().count())
            .max()
            .unwrap_or(0);
        // 14.5 px text is about 8.7 px per character; 56 px for the line and gaps.
        let col_w = (longest as i32 * 87 / 10 + 56).max(160);
        let cols = ((width as i32 - 24) / col_w).max(1) as usize;
        let rows = self.entries.len().div_ceil(cols) as u32;
        let note = u32::from(self.note.is_some());
        (rows * 26 + note * 26 + 14, cols, col_w)
    }

    fn height(&self, width: u32) -> u32 {
        self.layout(width).0
    }

    fn draw(&self, area: &Area) -> Result<()> {
        let (w, _) = area.dim_in_pixel();
        let (_, cols, col_w) = self.layout(w);
        let style = font(F_LEGEND).pos(Pos::new(HPos::Left, VPos::Center));
        for (k, (label, ci)) in self.entries.iter().enumerate() {
            let x = 20 + (k % cols) as i32 * col_w;
            let y = 14 + (k / cols) as i32 * 26;
            let line = vec![(x, y), (x + 34, y)];
            if dashed(*ci) {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 12, y)],
                    color(*ci).stroke_width(4),
                ))?;
                area.draw(&PathElement::new(
                    vec![(x + 20, y), (x + 34, y)],
                    color(*ci).stroke_width(4),
                ))?;
            } else {
                area.draw(&PathElement::new(line, color(*ci).stroke_width(4)))?;
            }
            area.draw(&Text::new(label.clone(), (x + 44, y), style.clone()))?;
        }
        if let Some(note) = &self.note {
            let rows = self.entries.len().div_ceil(cols) as i32;
            let y = 14 + rows * 26;
            let style = font(F_LEGEND)
                .color(&RGBColor(80, 80, 80))
                .pos(Pos::new(HPos::Left, VPos::Center));
            area.draw(&Text::new(note.clone(), (20, y), style))?;
        }
        Ok(())
    }
}

/// One configuration's line: mean (`raw`), optional smoothed mean, band `lo..hi`.
#[derive(Debug, Clone, Default)]
pub struct Curve {
    pub color: usize,
    /// Seeds contributing at the best-covered point (for the band note).
    pub seeds: usize,
    /// EMA weight used for `smooth` (1: none).
    pub alpha: f64,
    pub x: Vec<f64>,
    pub raw: Vec<f64>,
    pub smooth: Option<Vec<f64>>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// Draw a dot at every point (few points, e.g. per-layer values).
    pub markers: bool,
}

/// One plotting panel of a curve chart.
pub struct Panel<'a> {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub curves: &'a [Curve],
    /// Switch to a log y axis when the plotted quantity is positive and spans more than
    /// two decades.
    pub auto_log: bool,
    /// Label only integer x ticks (layer indices).
    pub integer_x: bool,
}

/// Whether a panel needs a log axis: all values positive and max/min > 100.
pub fn wants_log(curves: &[Curve]) -> bool {
    let vals = curves
        .iter()
        .flat_map(|c| c.raw.iter().chain(c.smooth.iter().flatten()))
        .filter(|v| v.is_finite());
    let (mut lo, mut hi, mut any) = (f64::INFINITY, f64::NEG_INFINITY, false);
    for &v in vals {
        if v <= 0.0 {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
        any = true;
    }
    any && hi / lo > 100.0
}

/// Line chart with one or more stacked panels sharing one legend below them.
pub fn curve_chart(meta: &Meta, panels: &[Panel], legend: &Legend) -> Result<String> {
    let legend_h = legend.height(WIDTH);
    let stacked = panels.len() > 1;
    let title_h = if stacked { 44 } else { 0 };
    let panel_h = if stacked { 420 } else { PLOT_H };
    let height = title_h + panel_h * panels.len() as u32 + legend_h;
    render((WIDTH, height), meta, |root| {
        let (body, legend_area) = root.split_vertically(height - legend_h);
        let body = if stacked {
            let (t, style) = fit_title(meta.title, WIDTH, F_TITLE);
            body.titled(&t, style)?
        } else {
            body
        };
        let areas = body.split_evenly((panels.len(), 1));
        for (area, p) in areas.iter().zip(panels) {
            draw_panel(area, p, if stacked { F_PANEL } else { F_TITLE })?;
        }
        legend.draw(&legend_area)
    })
}

pub(super) fn finite_range(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

pub(super) fn pad(lo: f64, hi: f64, frac: f64) -> Range<f64> {
    if hi - lo < 1e-12 * lo.abs().max(1e-12) {
        let d = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        return (lo - d)..(hi + d);
    }
    let d = (hi - lo) * frac;
    (lo - d)..(hi + d)
}

pub(super) fn no_data(area: &Area, title: &str, size: f64) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 20),
        font(size).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    area.draw(&Text::new(
        "no data yet".to_string(),
        (w as i32 / 2, h as i32 / 2),
        font(F_AXIS)
            .color(&RGBColor(120, 120, 120))
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

fn draw_panel(area: &Area, p: &Panel, title_size: f64) -> Result<()> {
    let xr = finite_range(p.curves.iter().flat_map(|c| c.x.iter().copied()));
    let y_all = || {
        p.curves.iter().flat_map(|c| {
            c.raw
                .iter()
                .chain(c.lo.iter())
                .chain(c.hi.iter())
                .chain(c.smooth.iter().flatten())
                .copied()
        })
    };
    let (Some((x0, x1)), Some((y0, y1))) = (xr, finite_range(y_all())) else {
        return no_data(area, &p.title, title_size);
    };
    let xr = if p.integer_x {
        (x0 - 0.3)..(x1 + 0.3)
    } else {
        pad(x0, x1, 0.0)
    };
    if p.auto_log && wants_log(p.curves) {
        let (lo, hi) = finite_range(y_all().filter(|v| *v > 0.0)).unwrap_or((y0, y1));
        draw_panel_in(
            area,
            p,
            title_size,
            xr,
            (lo * 0.8..hi * 1.25).log_scale(),
            true,
        )
    } else {
        draw_panel_in(area, p, title_size, xr, pad(y0, y1, 0.05), false)
    }
}

/// Split a polyline at non-finite (or, on a log axis, non-positive) points.
fn segments(pts: impl Iterator<Item = (f64, f64)>, log: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (x, y) in pts {
        if x.is_finite() && y.is_finite() && (!log || y > 0.0) {
            out.last_mut().expect("non-empty").push((x, y));
        } else if !out.last().expect("non-empty").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn draw_panel_in<Y>(
    area: &Area,
    p: &Panel,
    title_size: f64,
    xr: Range<f64>,
    y: Y,
    log: bool,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let (title, title_style) = fit_title(&p.title, area.dim_in_pixel().0, title_size);
    let mut chart = ChartBuilder::on(area)
        .caption(&title, title_style)
        .margin(10)
        .margin_right(28)
        .x_label_area_size(60)
        .y_label_area_size(100)
        .build_cartesian_2d(xr, y)?;
    let y_desc = if log {
        format!("{} (log scale)", p.y_label)
    } else {
        p.y_label.clone()
    };
    let x_fmt = |v: &f64| {
        if p.integer_x {
            if (v - v.round()).abs() < 1e-9 {
                format!("{}", v.round() as i64)
            } else {
                String::new()
            }
        } else {
            tick(*v)
        }
    };
    let y_fmt = |v: &f64| tick(*v);
    chart
        .configure_mesh()
        .x_desc(&p.x_label)
        .y_desc(&y_desc)
        .label_style(font(F_TICK))
        .axis_desc_style(font(F_AXIS))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_labels(8)
        .y_labels(8)
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(218, 218, 218))
        .draw()?;

    let y_lo = chart.y_range().start;
    for c in p.curves {
        draw_curve(&mut chart, c, log, y_lo)?;
    }
    Ok(())
}

/// One configuration's band, raw mean (faint, when smoothed) and line. On a log axis the band
/// is clamped to the axis' bottom `y_lo`.
fn draw_curve<Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    c: &Curve,
    log: bool,
    y_lo: f64,
) -> Result<()> {
    let col = color(c.color);
    // Band: upper edge forwards, lower edge backwards.
    let band = downsample_band(&c.x, &c.lo, &c.hi, MAX_POINTS / 2);
    if band.iter().any(|b| b.2 > b.1) {
        let clamp = |v: f64| if log { v.max(y_lo) } else { v };
        let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, clamp(b.2))).collect();
        poly.extend(band.iter().rev().map(|b| (b.0, clamp(b.1))));
        chart.draw_series(std::iter::once(Polygon::new(poly, col.mix(0.18).filled())))?;
    }
    let raw = downsample_minmax(&c.x, &c.raw, MAX_POINTS);
    let main: Vec<(f64, f64)> = match &c.smooth {
        Some(s) => {
            for seg in segments(raw.iter().copied(), log) {
                chart.draw_series(LineSeries::new(seg, col.mix(0.35).stroke_width(1)))?;
            }
            downsample_minmax(&c.x, s, MAX_POINTS)
        }
        None => raw,
    };
    for seg in segments(main.iter().copied(), log) {
        let style = col.stroke_width(3);
        if dashed(c.color) {
            chart.draw_series(DashedLineSeries::new(seg, 12, 7, style))?;
        } else {
            chart.draw_series(LineSeries::new(seg, style))?;
        }
    }
    if c.markers {
        chart.draw_series(
            segments(main.iter().copied(), log)
                .into_iter()
                .flatten()
                .map(|pt| Circle::new(pt, 5, col.filled())),
        )?;
    }
    Ok(())
}

/// A weight histogram panel: fractions of weights over equal-width bins.
pub struct HistPanel {
    pub label: String,
    pub color: usize,
    pub range: (f64, f64),
    pub frac: Vec<f64>,
}

fn grid_dims(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 3);
    (n.div_ceil(cols).max(1), cols)
}

/// Small multiples of weight histograms (WGAN-GP Fig. 1c): clipping piles weights at
/// ±c, the penalty spreads them.
pub fn hist_chart(meta: &Meta, panels: &[HistPanel], note: &str) -> Result<String> {
    let (rows, cols) = grid_dims(panels.len());
    let (w, h) = (300 * cols as u32 + 20, 300 * rows as u32 + 90);
    render((w.max(WIDTH), h), meta, |root| {
        let (t, style) = fit_title(meta.title, w.max(WIDTH), F_TITLE);
        let body = root.titled(&t, style)?;
        let (body, foot) = body.split_vertically(body.dim_in_pixel().1 - 34);
        foot.draw(&Text::new(
            note.to_string(),
            (20, 10),
            font(F_LEGEND).color(&RGBColor(80, 80, 80)),
        ))?;
        for (area, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
            let total: f64 = p.frac.iter().sum();
            if p.frac.is_empty() || total <= 0.0 {
                no_data(area, &p.label, F_LEGEND)?;
                continue;
            }
            let (lo, hi) = p.range;
            let ymax = p.frac.iter().copied().fold(0.0, f64::max) * 1.08;
            let (t, style) = fit_title(&p.label, area.dim_in_pixel().0, F_LEGEND);
            let mut chart = ChartBuilder::on(area)
                .caption(&t, style)
                .margin(8)
                .margin_right(20)
                .x_label_area_size(50)
                .y_label_area_size(62)
                .build_cartesian_2d(pad(lo, hi, 0.02), 0.0..ymax.max(1e-9))?;
            chart
                .configure_mesh()
                .x_desc("weight value")
                .y_desc("fraction")
                .label_style(font(F_TICK))
                .axis_desc_style(font(F_TICK))
                .x_labels(4)
                .y_labels(4)
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| tick(*v))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            let bw = (hi - lo) / p.frac.len() as f64;
            chart.draw_series(p.frac.iter().enumerate().filter(|(_, f)| **f > 0.0).map(
                |(i, f)| {
                    let x = lo + i as f64 * bw;
                    Rectangle::new([(x, 0.0), (x + bw, *f)], color(p.color).filled())
                },
            ))?;
        }
        Ok(())
    })
}

/// Final scores: one dot per seed and a mean bar per configuration.
pub struct StripRow {
    pub label: String,
    pub color: usize,
    pub values: Vec<f64>,
}

/// The plotting area of a [`rows_chart`]: one row per unit of y, the first row on top.
pub(super) type RowChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart of horizontal rows (strips, boxes), top to bottom in `labels` order: the title, an
/// x axis fitted to `values`, each label right-aligned at its row's left, `note` under the plot.
/// `draw_row(chart, i, y)` draws row `i` at height `y`.
pub(super) fn rows_chart(
    meta: &Meta,
    x_label: &str,
    labels: &[String],
    row_height: u32,
    values: &[f64],
    note: &str,
    mut draw_row: impl FnMut(&mut RowChart, usize, f64) -> Result<()>,
) -> Result<String> {
    let n = labels.len().max(1);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    let label_w = (longest as u32 * 9 + 24).clamp(120, 380);
    let height = (n as u32 * row_height + 170).max(320);
    render((WIDTH.max(label_w + 460), height), meta, |root| {
        let (body, foot) = root.split_vertically(height - 36);
        foot.draw(&Text::new(
            note.to_string(),
            (20, 8),
            font(F_LEGEND).color(&RGBColor(80, 80, 80)),
        ))?;
        let Some((lo, hi)) = finite_range(values.iter().copied()) else {
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
        for (i, label) in labels.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            draw_row(&mut chart, i, y)?;
            let (px, py) = chart.backend_coord(&(x_left, y));
            root.draw(&Text::new(
                label.clone(),
                (px - 10, py),
                font(F_LEGEND).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        Ok(())
    })
}

/// Horizontal strip chart, configurations top to bottom in legend order.
pub fn strip_chart(meta: &Meta, x_label: &str, rows: &[StripRow], note: &str) -> Result<String> {
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let values: Vec<f64> = rows.iter().flat_map(|r| r.values.iter().copied()).collect();
    rows_chart(meta, x_label, &labels, 44, &values, note, |chart, i, y| {
        let r = &rows[i];
        let col = color(r.color);
        let vals: Vec<f64> = r.values.iter().copied().filter(|v| v.is_finite()).collect();
        let m = vals.len();
        chart.draw_series(vals.iter().enumerate().map(|(k, &v)| {
            let jitter = if m > 1 {
                (k as f64 / (m - 1) as f64 - 0.5) * 0.4
            } else {
                0.0
            };
            Circle::new((v, y + jitter), 6, col.mix(0.75).filled())
        }))?;
        if m > 0 {
            let mean = vals.iter().sum::<f64>() / m as f64;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(mean, y - 0.34), (mean, y + 0.34)],
                BLACK.stroke_width(4),
            )))?;
        }
        Ok(())
    })
}

/// Generated toy points at a few training steps (one panel per step, shared axes).
pub fn scatter_chart(
    meta: &Meta,
    color_index: usize,
    panels: &[(String, Vec<(f64, f64)>)],
) -> Result<String> {
    let cols = panels.len().max(1);
    let size = ((300 * cols as u32).max(WIDTH), 390);
    render(size, meta, |root| {
        let (t, style) = fit_title(meta.title, size.0, F_TITLE);
        let body = root.titled(&t, style)?;
        let all = || panels.iter().flat_map(|p| p.1.iter());
        let (Some((x0, x1)), Some((y0, y1))) = (
            finite_range(all().map(|p| p.0)),
            finite_range(all().map(|p| p.1)),
        ) else {
            return no_data(&body, "", F_LEGEND);
        };
        let half = ((x1 - x0).max(y1 - y0) / 2.0 * 1.08).max(1e-6);
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let col = color(color_index);
        for (area, (title, pts)) in body.split_evenly((1, cols)).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(title, font(F_LEGEND))
                .margin(8)
                .x_label_area_size(40)
                .y_label_area_size(48)
                .build_cartesian_2d((cx - half)..(cx + half), (cy - half)..(cy + half))?;
            chart
                .configure_mesh()
                .label_style(font(F_TICK))
                .x_labels(5)
                .y_labels(5)
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| tick(*v))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            chart.draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, 2, col.mix(0.6).filled())),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_compact() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(12500.0), "12.5k");
        assert_eq!(tick(0.0001), "1e-4");
        assert_eq!(tick(3.0), "3");
        assert_eq!(tick(-1.5), "-1.5");
    }

    #[test]
    fn log_only_for_positive_wide_ranges() {
        let c = |v: Vec<f64>| Curve {
            raw: v,
            ..Default::default()
        };
        assert!(wants_log(&[c(vec![0.001, 1.0])]));
        assert!(!wants_log(&[c(vec![0.5, 1.0])]));
        assert!(!wants_log(&[c(vec![-1.0, 1000.0])]));
    }
}
