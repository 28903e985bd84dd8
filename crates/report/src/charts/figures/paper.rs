//! The paper's figures of a section: WGAN-GP Fig. 1b (gradient norms by layer, and the same
//! norm w.r.t. the weights), Fig. 1c (weight histograms) and Fig. 1a (the critic surface).

use std::sync::Arc;

use super::{
    Category, Ctx, Job, curve_svg, finish_curve, m_hist, m_layers, m_surface, seed_str, thin,
};
use crate::charts::{self, Curve, HistPanel, Meta, Panel, SurfacePanel};
use crate::group::mean_band;
use crate::load::{Run, read_points};

/// A per-layer `layers.csv` quantity drawn against the critic's layers.
pub(super) struct ByLayer {
    quantity: &'static str,
    file: &'static str,
    title: &'static str,
    y_label: &'static str,
    note: &'static str,
}

/// WGAN-GP Fig. 1b, section 3 ("Exploding and vanishing gradients"): "the norm of the gradient
/// of the critic's loss with respect to successive layers of activations", layers on the x
/// axis, the norm on a log scale, one line per configuration. The paper draws the layers from
/// the output (13, left) to the input (1, right); here layer 1 (the input side) is on the left.
pub(super) const FIG_1B: ByLayer = ByLayer {
    quantity: "act_grad_norm",
    file: "fig1b_grad_norm_by_layer.svg",
    title: "Gradient norm w.r.t. layer activations (WGAN-GP Fig. 1b)",
    y_label: "log10 gradient norm ‖∂L_C/∂h_k‖ (activations)",
    note: "h_k: layer k's output after its nonlinearity (the last: the critic's score)",
};

/// The same norm with respect to each layer's weight matrix: not Fig. 1b's quantity (for
/// homogeneous layers it stays nearly flat across depth while Fig. 1b's explodes or vanishes).
pub(super) const WEIGHT_GRADS: ByLayer = ByLayer {
    quantity: "grad_norm",
    file: "weight_grad_norm_by_layer.svg",
    title: "Gradient norm w.r.t. layer weights (not Fig. 1b)",
    y_label: "log10 gradient norm ‖∂L_C/∂W_k‖ (weights)",
    note: "W_k: layer k's weight matrix",
};

/// log10 of a per-layer quantity of each configuration at the last evaluation.
pub(super) fn by_layer<'a>(ctx: &Arc<Ctx<'a>>, fig: &'static ByLayer) -> Option<Job<'a>> {
    let has = |r: &Run| {
        r.layers_last
            .get(fig.quantity)
            .is_some_and(|v| !v.is_empty())
    };
    let gs = ctx.groups_where(|gi| ctx.any_member(gi, has));
    if gs.is_empty() {
        return None;
    }
    let title = format!("{} · {}", fig.title, ctx.suffix());
    Some(ctx.job(
        fig.file.into(),
        title,
        Category::Paper,
        m_layers,
        move |c, t| {
            let curves: Vec<Curve> = gs
                .iter()
                .map(|&g| layer_curve(c, g, fig.quantity))
                .collect();
            let panel = Panel {
                title: t.into(),
                x_label: "critic layer (input → output)".into(),
                y_label: fig.y_label.into(),
                curves: &curves,
                auto_log: false,
                integer_x: true,
            };
            let floor = curves
                .iter()
                .any(|cv| cv.raw.iter().any(|&m| m <= UNDERFLOW_LOG10));
            let floor_note = if floor {
                "; -38: exactly 0 in f32 (underflow or cancellation)"
            } else {
                ""
            };
            let note = format!(
                "last evaluation; {}; {}{floor_note}",
                fig.note,
                c.band_note(&curves, false)
            );
            let legend = c.legend(&gs, Some(note));
            curve_svg(t, "grad-norm-by-layer", &[panel], &legend)
        },
    ))
}

/// WGAN-GP Fig. 1c: the critic's weights at the last step, one histogram per configuration.
pub(super) fn weight_histograms<'a>(ctx: &Arc<Ctx<'a>>) -> Option<Job<'a>> {
    let gs = ctx.groups_where(|gi| ctx.any_member(gi, |r| !r.hist_last.is_empty()));
    if gs.is_empty() {
        return None;
    }
    let title = format!(
        "Critic weights at the last step (WGAN-GP Fig. 1c) · {}",
        ctx.suffix()
    );
    let file = "fig1c_weight_hist.svg".to_string();
    Some(ctx.job(file, title, Category::Paper, m_hist, move |c, t| {
        let panels: Vec<HistPanel> = gs.iter().map(|&g| hist_panel(c, g)).collect();
        let meta = Meta {
            title: t,
            kind: "weight-histograms",
            series: panels.iter().map(|p| p.label.clone()).collect(),
        };
        charts::hist_chart(&meta, &panels, "all critic layers and seeds pooled")
    }))
}

/// WGAN-GP Fig. 1a (toy data): the critic's value surface with the last generated samples.
pub(super) fn critic_surface<'a>(ctx: &Arc<Ctx<'a>>) -> Option<Job<'a>> {
    let gs = ctx.groups_where(|gi| ctx.any_member(gi, |r| r.surface_file.is_some()));
    if gs.is_empty() {
        return None;
    }
    let title = format!(
        "Critic value surface and generated samples · {}",
        ctx.suffix()
    );
    let file = "critic_surface.svg".to_string();
    Some(
        ctx.job(file, title, Category::Paper, m_surface, move |c, t| {
            let panels: Vec<SurfacePanel> =
                gs.iter().filter_map(|&g| surface_panel(c, g)).collect();
            let meta = Meta {
                title: t,
                kind: "critic-surface",
                series: panels.iter().map(|p| p.label.clone()).collect(),
            };
            charts::surface_chart(&meta, &panels)
        }),
    )
}

/// Where a zero (underflowed) gradient norm is drawn: log10 of f32's smallest normal value.
const UNDERFLOW_LOG10: f64 = -38.0;

/// Mean over seeds of log10 of `quantity` per layer. The engine numbers layers from 1 (input
/// side); non-numeric names are placed by their order in the file.
fn layer_curve(ctx: &Ctx, gi: usize, quantity: &str) -> Curve {
    let g = &ctx.sec.groups[gi];
    let per_seed: Vec<(Vec<f64>, Vec<f64>)> = ctx
        .members(g)
        .filter_map(|r| r.layers_last.get(quantity))
        .map(|rows| {
            let ids: Option<Vec<f64>> = rows.iter().map(|(l, _)| l.parse().ok()).collect();
            let x = ids.unwrap_or_else(|| (1..=rows.len()).map(|i| i as f64).collect());
            let y = rows
                .iter()
                .map(|(_, v)| {
                    if *v > 0.0 {
                        v.log10().max(UNDERFLOW_LOG10)
                    } else if *v == 0.0 {
                        // An exactly zero gradient is f32 underflow (vanishing gradients under
                        // tight clipping): draw it on the floor rather than dropping the series.
                        UNDERFLOW_LOG10
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            (x, y)
        })
        .collect();
    let series: Vec<(&[f64], &[f64])> = per_seed.iter().map(|(x, y)| (&x[..], &y[..])).collect();
    let band = mean_band(&series);
    let x = band.x.clone();
    let mut c = finish_curve(ctx, gi, x, band, false);
    c.markers = true;
    c
}

/// Pool the last-step histograms of all layers and seeds. When they share bin edges (one
/// seed: the engine bins every layer on one grid) the counts add up exactly; otherwise
/// they are spread onto a common 40-bin grid in proportion to overlap.
fn hist_panel(ctx: &Ctx, gi: usize) -> HistPanel {
    const BINS: usize = 40;
    let g = &ctx.sec.groups[gi];
    let bins: Vec<(f64, f64, f64)> = ctx
        .members(g)
        .flat_map(|r| r.hist_last.iter())
        .filter(|b| b.1.is_finite() && b.2.is_finite() && b.3.is_finite() && b.3 >= 0.0)
        .map(|b| (b.1.min(b.2), b.1.max(b.2), b.3))
        .collect();
    let (range, mut frac) = shared_bins(&bins).unwrap_or_else(|| rebin(&bins, BINS));
    let total: f64 = frac.iter().sum();
    if total > 0.0 {
        frac.iter_mut().for_each(|f| *f /= total);
    }
    HistPanel {
        label: g.label.clone(),
        color: gi,
        range,
        frac,
    }
}

/// Sum counts per identical bin if the distinct bins tile a range with equal widths.
fn shared_bins(bins: &[(f64, f64, f64)]) -> Option<((f64, f64), Vec<f64>)> {
    let mut by_edge: std::collections::BTreeMap<(u64, u64), (f64, f64, f64)> = Default::default();
    for &(lo, hi, c) in bins {
        // Order by lo: map the f64 bits to a monotone u64.
        let key = |v: f64| {
            let b = v.to_bits();
            if v < 0.0 { !b } else { b | (1 << 63) }
        };
        by_edge.entry((key(lo), key(hi))).or_insert((lo, hi, 0.0)).2 += c;
    }
    let v: Vec<(f64, f64, f64)> = by_edge.into_values().collect();
    let (first, last) = (v.first()?, v.last()?);
    let w = first.1 - first.0;
    let ok = w > 0.0
        && v.len() <= 1000
        && v.windows(2)
            .all(|p| (p[0].1 - p[1].0).abs() <= 1e-9 * w.max(p[0].1.abs()))
        && v.iter().all(|b| ((b.1 - b.0) - w).abs() <= 1e-6 * w);
    ok.then(|| ((first.0, last.1), v.iter().map(|b| b.2).collect()))
}

fn rebin(bins: &[(f64, f64, f64)], n: usize) -> ((f64, f64), Vec<f64>) {
    let lo = bins.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let hi = bins.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
    let mut frac = vec![0.0; n];
    // Also catches NaN and the no-bins case (lo = +inf).
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        if !bins.is_empty() {
            frac[n / 2] = 1.0;
        }
        let c = if lo.is_finite() { lo } else { 0.0 };
        return ((c - 0.5, c + 0.5), frac);
    }
    let w = (hi - lo) / n as f64;
    for &(a, b, count) in bins {
        if b - a <= 0.0 {
            frac[(((a - lo) / w) as usize).min(n - 1)] += count;
            continue;
        }
        // Spread the count over the target bins it overlaps.
        let i0 = (((a - lo) / w) as usize).min(n - 1);
        let i1 = (((b - lo) / w).ceil() as usize).min(n);
        for (i, f) in frac.iter_mut().enumerate().take(i1).skip(i0) {
            let (x0, x1) = (lo + i as f64 * w, lo + (i + 1) as f64 * w);
            *f += count * (b.min(x1) - a.max(x0)).max(0.0) / (b - a);
        }
    }
    ((lo, hi), frac)
}

/// The first seed with a surface, with its last generated samples on top.
fn surface_panel(ctx: &Ctx, gi: usize) -> Option<SurfacePanel> {
    let g = &ctx.sec.groups[gi];
    let (run, surface) = ctx
        .members(g)
        .find_map(|r| Some((r, r.load_surface().ok()??)))?;
    let points = run
        .csv_samples
        .last()
        .and_then(|s| read_points(&s.path).ok())
        .map(|p| thin(p, 500))
        .unwrap_or_default();
    Some(SurfacePanel {
        label: format!("{} (seed {})", g.label, seed_str(run)),
        surface: charts::coarsen(&surface, 256),
        points,
    })
}
