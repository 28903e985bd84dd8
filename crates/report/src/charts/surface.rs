//! The critic surface chart: a heat map of the critic's value per configuration (an embedded
//! PNG under plotters' axes), the generated points on top and a colour bar.

use anyhow::Result;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};

use super::{
    Area, F_LEGEND, F_TICK, F_TITLE, Meta, WIDTH, finite_range, fit_title, font, grid_dims,
    no_data, render, tick,
};
use crate::load::Surface;

/// Viridis (perceptually uniform, colour-blind safe), plotters' colormap; `t` in [0, 1]
/// (non-finite: the low end).
fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ViridisRGB.get_color(t)
}

/// Average blocks so that no axis has more than `max` cells (bounds the embedded PNG).
pub fn coarsen(s: &Surface, max: usize) -> Surface {
    let (nx, ny) = (s.xs.len(), s.ys.len());
    let f = nx.max(ny).div_ceil(max.max(1)).max(1);
    if f == 1 {
        return s.clone();
    }
    let (cx, cy) = (nx.div_ceil(f), ny.div_ceil(f));
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let xs = (0..cx)
        .map(|i| avg(&s.xs[i * f..((i + 1) * f).min(nx)]))
        .collect();
    let ys = (0..cy)
        .map(|j| avg(&s.ys[j * f..((j + 1) * f).min(ny)]))
        .collect();
    let mut values = vec![f64::NAN; cx * cy];
    for j in 0..cy {
        for i in 0..cx {
            let (mut sum, mut n) = (0.0, 0);
            for y in j * f..((j + 1) * f).min(ny) {
                for x in i * f..((i + 1) * f).min(nx) {
                    let v = s.values[y * nx + x];
                    if v.is_finite() {
                        sum += v;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                values[j * cx + i] = sum / n as f64;
            }
        }
    }
    Surface { xs, ys, values }
}

/// A critic-value heat map with generated points on top.
pub struct SurfacePanel {
    pub label: String,
    pub surface: Surface,
    pub points: Vec<(f64, f64)>,
}

fn cell_edges(c: &[f64]) -> Vec<f64> {
    if c.len() < 2 {
        let v = c.first().copied().unwrap_or(0.0);
        return vec![v - 0.5, v + 0.5];
    }
    let mut e = Vec::with_capacity(c.len() + 1);
    e.push(c[0] - (c[1] - c[0]) / 2.0);
    e.extend(c.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    e.push(c[c.len() - 1] + (c[c.len() - 1] - c[c.len() - 2]) / 2.0);
    e
}

/// Critic value surfaces (toy data), one panel per configuration, each with its own
/// colour scale (critics of different losses differ by orders of magnitude).
pub fn surface_chart(meta: &Meta, panels: &[SurfacePanel]) -> Result<String> {
    let (rows, cols) = grid_dims(panels.len());
    let (pw, ph) = (440u32, 390u32);
    let size = ((pw * cols as u32).max(WIDTH), ph * rows as u32 + 90);
    let mut images = Vec::new();
    let svg = render(size, meta, |root| {
        let (t, style) = fit_title(meta.title, size.0, F_TITLE);
        let body = root.titled(&t, style)?;
        let (body, foot) = body.split_vertically(body.dim_in_pixel().1 - 34);
        foot.draw(&Text::new(
            "colour: critic value (per-panel scale); dots: last generated samples".to_string(),
            (20, 10),
            font(F_LEGEND).color(&RGBColor(80, 80, 80)),
        ))?;
        for (area, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
            if let Some(image) = draw_surface_panel(area, p)? {
                images.push(image);
            }
        }
        Ok(())
    })?;
    // Right after the white background, so axes and points draw on top.
    Ok(insert_after_background(svg, &images.concat()))
}

/// One panel of [`surface_chart`]: axes, generated points and colour bar drawn on `area`;
/// returns the `<image>` element of its heat map (`None` without finite values).
fn draw_surface_panel(area: &Area, p: &SurfacePanel) -> Result<Option<String>> {
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w - 90);
    let ex = cell_edges(&p.surface.xs);
    let ey = cell_edges(&p.surface.ys);
    let Some((vmin, vmax)) = finite_range(p.surface.values.iter().copied()) else {
        no_data(area, &p.label, F_LEGEND)?;
        return Ok(None);
    };
    let span = (vmax - vmin).max(1e-12);
    let (t, style) = fit_title(&p.label, main.dim_in_pixel().0, F_LEGEND);
    let mut chart = ChartBuilder::on(&main)
        .caption(&t, style)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(46)
        .build_cartesian_2d(ex[0]..ex[ex.len() - 1], ey[0]..ey[ey.len() - 1])?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(font(F_TICK))
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    // The heat map is a PNG placed under the plot: 16k SVG rectangles per panel
    // would weigh megabytes.
    let png = surface_png(&p.surface, vmin, span)?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    let image = format!(
        "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" \
         preserveAspectRatio=\"none\" href=\"data:image/png;base64,{}\"/>\n",
        px.start,
        py.start,
        px.end - px.start,
        py.end - py.start,
        BASE64.encode(&png)
    );
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let inside = |p: &&(f64, f64)| xr.contains(&p.0) && yr.contains(&p.1);
    chart.draw_series(p.points.iter().filter(inside).map(|&pt| {
        EmptyElement::at(pt)
            + Circle::new((0, 0), 3, BLACK.filled())
            + Circle::new((0, 0), 2, WHITE.filled())
    }))?;
    colour_bar(&bar, vmin, span)?;
    Ok(Some(image))
}

/// The colour bar right of a surface panel: viridis from `vmin` to `vmin + span`.
fn colour_bar(bar: &Area, vmin: f64, span: f64) -> Result<()> {
    let mut cb = ChartBuilder::on(bar)
        .margin_top(40)
        .margin_bottom(48)
        .margin_left(6)
        .right_y_label_area_size(56)
        .build_cartesian_2d(0.0..1.0, vmin..vmin + span)?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style(font(F_TICK))
        .y_labels(6)
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    let steps = 40;
    cb.draw_series((0..steps).map(|s| {
        let (a, b) = (s as f64 / steps as f64, (s + 1) as f64 / steps as f64);
        Rectangle::new(
            [(0.0, vmin + a * span), (1.0, vmin + b * span)],
            viridis((a + b) / 2.0).filled(),
        )
    }))?;
    Ok(())
}

fn insert_after_background(mut svg: String, extra: &str) -> String {
    let at = svg
        .find("<rect")
        .and_then(|i| svg[i..].find('\n').map(|j| i + j + 1));
    if let Some(at) = at {
        svg.insert_str(at, extra);
    }
    svg
}

/// Row 0 of the image is the top of the plot (largest y).
fn surface_png(s: &Surface, vmin: f64, span: f64) -> Result<Vec<u8>> {
    let (nx, ny) = (s.xs.len(), s.ys.len());
    let img = image::RgbaImage::from_fn(nx as u32, ny as u32, |i, j| {
        let v = s.values[(ny - 1 - j as usize) * nx + i as usize];
        if v.is_finite() {
            let RGBColor(r, g, b) = viridis((v - vmin) / span);
            image::Rgba([r, g, b, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut buf = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut buf), image::ImageFormat::Png)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(254, 232, 37));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
    }
}
