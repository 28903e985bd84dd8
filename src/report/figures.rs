//! What to draw for one section (sweep): turns runs and groups into chart jobs.
//!
//! A job carries a fingerprint of what it depends on and the newest mtime of its
//! input files; the data preparation and drawing live in a closure that only runs
//! when the chart is stale.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::SystemTime;

use anyhow::Result;

use super::charts::{self, Curve, HistPanel, Legend, Meta, Panel, StripRow, SurfacePanel};
use super::format::{safe, sig};
use super::group::{Group, ema, mean_band};
use super::load::{Mtimes, Run, Status, read_points};
use super::options::{Band, ReportOptions};
use super::section::{Section, eval_metrics};
use crate::results::metrics::eval_direction;

/// Bump when chart drawing changes so cached charts are redrawn.
const DRAW_VERSION: u32 = 2;

/// Where a chart goes on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Paper,
    Curves,
    Quality,
    Samples,
}

impl Category {
    pub fn heading(self) -> &'static str {
        match self {
            Category::Paper => "Paper figures",
            Category::Curves => "Training curves",
            Category::Quality => "Sample quality",
            Category::Samples => "Generated samples",
        }
    }
}

type Draw<'a> = Box<dyn Fn() -> Result<String> + Send + Sync + 'a>;

/// One chart to (re)draw.
pub struct Job<'a> {
    /// File name inside the section folder.
    pub file: String,
    pub title: String,
    pub category: Category,
    pub fingerprint: u64,
    pub newest_input: Option<SystemTime>,
    pub draw: Draw<'a>,
}

/// Settings every chart of a section shares.
struct Ctx<'a> {
    runs: &'a [Run],
    sec: &'a Section,
    opts: &'a ReportOptions,
    base_hash: u64,
}

impl<'a> Ctx<'a> {
    fn members(&self, g: &'a Group) -> impl Iterator<Item = &'a Run> + 'a {
        let runs = self.runs;
        g.members.iter().map(move |&i| &runs[i])
    }

    /// Section-wide title suffix naming the sweep and its varying settings.
    fn suffix(&self) -> String {
        if self.sec.keys.is_empty() {
            self.sec.name.clone()
        } else {
            format!("{} ({})", self.sec.name, self.sec.keys.join(", "))
        }
    }

    fn job(
        &self,
        file: String,
        title: String,
        category: Category,
        input: fn(&Mtimes) -> [Option<SystemTime>; 2],
        draw: Draw<'a>,
    ) -> Job<'a> {
        let mut h = DefaultHasher::new();
        (self.base_hash, &file, &title).hash(&mut h);
        let newest = self
            .sec
            .groups
            .iter()
            .flat_map(|g| g.members.iter())
            .flat_map(|&i| input(&self.runs[i].mtimes))
            .flatten()
            .max();
        Job {
            file,
            title,
            category,
            fingerprint: h.finish(),
            newest_input: newest,
            draw,
        }
    }

    fn legend(&self, groups: &[usize], note: Option<String>) -> Legend {
        Legend {
            entries: groups
                .iter()
                .map(|&g| (self.sec.groups[g].label.clone(), g))
                .collect(),
            note,
        }
    }

    /// "band: ±1 std over 3 seeds" (or a range of seed counts), counting the seeds that
    /// have data, not the runs that exist; plus the smoothing actually applied.
    fn band_note(&self, curves: &[Curve], smoothed: bool) -> String {
        let counts = curves.iter().map(|c| c.seeds).filter(|&n| n > 0);
        let (lo, hi) = counts.fold((usize::MAX, 0), |(a, b), n| (a.min(n), b.max(n)));
        let n = if lo >= hi {
            format!("{hi} seed{}", if hi == 1 { "" } else { "s" })
        } else {
            format!("{lo}–{hi} seeds")
        };
        let band = if hi <= 1 {
            format!("{n}: no band")
        } else {
            match self.opts.band {
                Band::Std => format!("band: ±1 std over {n}"),
                Band::MinMax => format!("band: min–max over {n}"),
            }
        };
        let alphas = curves.iter().map(|c| c.alpha).filter(|a| *a < 1.0);
        let (amin, amax) = alphas.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
        if !smoothed || amax == 0.0 {
            band
        } else if amax - amin < 1e-9 {
            format!(
                "{band}; line: EMA (α={}) of the mean, faint: raw mean",
                sig(amin)
            )
        } else {
            format!(
                "{band}; line: EMA (α={}–{}) of the mean, faint: raw mean",
                sig(amin),
                sig(amax)
            )
        }
    }
}

/// EMA weight for a curve of `n` points: the requested `alpha`, raised so the EMA window
/// (about 2/α points) never exceeds a twentieth of the curve; short curves would
/// otherwise show mostly lag.
pub fn effective_alpha(alpha: f64, n: usize) -> f64 {
    let max_window = n as f64 / 20.0;
    alpha.max(2.0 / (max_window + 1.0)).min(1.0)
}

fn fingerprint_base(sec: &Section, runs: &[Run], opts: &ReportOptions) -> u64 {
    let mut h = DefaultHasher::new();
    DRAW_VERSION.hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    sec.name.hash(&mut h);
    sec.keys.hash(&mut h);
    opts.smooth.to_bits().hash(&mut h);
    matches!(opts.band, Band::Std).hash(&mut h);
    for g in &sec.groups {
        g.label.hash(&mut h);
        for &m in &g.members {
            runs[m].hash.hash(&mut h);
            runs[m].dir.hash(&mut h);
        }
    }
    h.finish()
}

/// Human name of a `metrics.csv` column.
fn metric_title(col: &str) -> String {
    match col {
        "critic_loss" => "Critic loss".into(),
        "gen_loss" => "Generator loss".into(),
        "penalty" => "Gradient penalty term".into(),
        "grad_norm" => "Critic gradient norm ‖∇ₓC‖".into(),
        "val_critic_loss" => "Validation critic loss".into(),
        other => other.replace('_', " "),
    }
}

fn estimate_title(kind: &str) -> &'static str {
    match kind {
        "js" => "JS estimate (½L + log 2)",
        _ => "Wasserstein estimate E[C(x)] − E[C(G(z))]",
    }
}

/// The estimate kind of a configuration: as logged, else inferred from the loss.
fn group_kind(ctx: &Ctx, g: &Group) -> String {
    if let Some(k) = ctx.members(g).find_map(|r| r.estimate_kind.clone()) {
        return k;
    }
    let loss = ctx
        .members(g)
        .find_map(|r| r.setting("loss"))
        .unwrap_or_default();
    if loss.starts_with("wgan") {
        "wasserstein".into()
    } else {
        "js".into()
    }
}

fn has_column(ctx: &Ctx, g: &Group, col: &str) -> bool {
    ctx.members(g).any(|r| {
        r.metrics
            .get(col)
            .is_some_and(|v| v.iter().any(|x| x.is_finite()))
    })
}

#[derive(Clone, Copy, PartialEq)]
enum XAxis {
    Step,
    Wall,
}

/// Mean over seeds of one `metrics.csv` column, with band and smoothing.
fn metric_curve(ctx: &Ctx, gi: usize, col: &str, axis: XAxis, smooth: bool) -> Curve {
    let g = &ctx.sec.groups[gi];
    let runs: Vec<&Run> = ctx.members(g).collect();
    let series: Vec<(&[f64], &[f64])> = runs
        .iter()
        .filter_map(|r| Some((r.metrics.get("step")?, r.metrics.get(col)?)))
        .collect();
    let band = mean_band(&series);
    let x = match axis {
        XAxis::Step => band.x.clone(),
        XAxis::Wall => {
            // Seeds' wall clocks differ; plot against the mean wall time at each step.
            let walls: Vec<(&[f64], &[f64])> = runs
                .iter()
                .filter_map(|r| Some((r.metrics.get("step")?, r.metrics.get("wall_s")?)))
                .collect();
            let wb = mean_band(&walls);
            band.x
                .iter()
                .map(|s| {
                    wb.x.binary_search_by(|v| v.total_cmp(s))
                        .map_or(f64::NAN, |i| wb.mean[i])
                })
                .collect()
        }
    };
    finish_curve(ctx, gi, x, band, smooth)
}

fn finish_curve(
    ctx: &Ctx,
    gi: usize,
    x: Vec<f64>,
    b: super::group::MeanBand,
    smooth: bool,
) -> Curve {
    let alpha = if smooth {
        effective_alpha(ctx.opts.smooth, b.mean.len())
    } else {
        1.0
    };
    let smoothing = alpha < 1.0;
    let sm = |v: &[f64]| if smoothing { ema(v, alpha) } else { v.to_vec() };
    let centre = sm(&b.mean);
    let (lo, hi) = match ctx.opts.band {
        Band::Std => {
            let s = sm(&b.std);
            (
                centre.iter().zip(&s).map(|(m, s)| m - s).collect(),
                centre.iter().zip(&s).map(|(m, s)| m + s).collect(),
            )
        }
        Band::MinMax => (sm(&b.min), sm(&b.max)),
    };
    Curve {
        color: gi,
        seeds: b.n.iter().copied().max().unwrap_or(0),
        alpha,
        x,
        smooth: smoothing.then_some(centre),
        raw: b.mean,
        lo,
        hi,
        markers: false,
    }
}

/// Mean over seeds of one `eval.csv` metric (sparse: no smoothing).
fn eval_curve(ctx: &Ctx, gi: usize, metric: &str) -> Curve {
    let g = &ctx.sec.groups[gi];
    let series: Vec<(&[f64], &[f64])> = ctx
        .members(g)
        .filter_map(|r| r.eval.get(metric))
        .map(|e| (&e.step[..], &e.value[..]))
        .collect();
    let band = mean_band(&series);
    let x = band.x.clone();
    finish_curve(ctx, gi, x, band, false)
}

fn curve_svg(title: &str, kind: &str, panels: &[Panel], legend: &Legend) -> Result<String> {
    let meta = Meta {
        title,
        kind,
        series: legend.entries.iter().map(|e| e.0.clone()).collect(),
    };
    charts::curve_chart(&meta, panels, legend)
}

fn m_metrics(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.metrics, m.config]
}
fn m_eval(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.eval, m.config]
}
fn m_eval_metrics(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.eval, m.metrics]
}
fn m_layers(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.layers, m.config]
}
fn m_hist(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.hist, m.config]
}
fn m_surface(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.surface, m.samples]
}
fn m_samples(m: &Mtimes) -> [Option<SystemTime>; 2] {
    [m.samples, m.config]
}

/// Plan every chart of a section.
pub fn plan<'a>(runs: &'a [Run], sec: &'a Section, opts: &'a ReportOptions) -> Vec<Job<'a>> {
    let ctx = Ctx {
        runs,
        sec,
        opts,
        base_hash: fingerprint_base(sec, runs, opts),
    };
    let ctx = std::sync::Arc::new(ctx);
    let mut jobs = Vec::new();
    let all: Vec<usize> = (0..sec.groups.len()).collect();
    let suffix = ctx.suffix();

    // --- Training curves -------------------------------------------------------------
    let kinds: Vec<String> = sec.groups.iter().map(|g| group_kind(&ctx, g)).collect();
    let mut curve_specs: Vec<(String, String, Vec<usize>, bool)> = Vec::new();
    for col in ["critic_loss", "gen_loss"] {
        let gs: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&g| has_column(&ctx, &sec.groups[g], col))
            .collect();
        if !gs.is_empty() {
            curve_specs.push((col.into(), metric_title(col), gs, true));
        }
    }
    for kind in ["wasserstein", "js"] {
        let gs: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&g| kinds[g] == kind && has_column(&ctx, &sec.groups[g], "estimate"))
            .collect();
        if !gs.is_empty() {
            curve_specs.push((
                format!("estimate_{kind}"),
                estimate_title(kind).into(),
                gs,
                true,
            ));
        }
    }
    for col in ["penalty", "grad_norm"] {
        let gs: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&g| has_column(&ctx, &sec.groups[g], col))
            .collect();
        if !gs.is_empty() {
            curve_specs.push((col.into(), metric_title(col), gs, false));
        }
    }
    for (name, what, gs, with_wall) in curve_specs {
        let col: String = name
            .strip_prefix("estimate_")
            .map_or(name.clone(), |_| "estimate".into());
        let axes: &[XAxis] = if with_wall {
            &[XAxis::Step, XAxis::Wall]
        } else {
            &[XAxis::Step]
        };
        for &axis in axes {
            let (file, title, x_label) = match axis {
                XAxis::Step => (
                    format!("curve_{name}_step.svg"),
                    format!("{what} · {suffix}"),
                    "generator iterations",
                ),
                XAxis::Wall => (
                    format!("curve_{name}_wall.svg"),
                    format!("{what} vs wall time · {suffix}"),
                    "wall time (s)",
                ),
            };
            let c = ctx.clone();
            let (gs, col, what) = (gs.clone(), col.clone(), what.clone());
            let t = title.clone();
            jobs.push(ctx.job(
                file,
                title,
                Category::Curves,
                m_metrics,
                Box::new(move || {
                    let curves: Vec<Curve> = gs
                        .iter()
                        .map(|&g| metric_curve(&c, g, &col, axis, true))
                        .collect();
                    let panel = Panel {
                        title: t.clone(),
                        x_label: x_label.into(),
                        y_label: what.clone(),
                        curves: &curves,
                        auto_log: true,
                        integer_x: false,
                    };
                    let legend = c.legend(&gs, Some(c.band_note(&curves, true)));
                    curve_svg(&t, "curve", &[panel], &legend)
                }),
            ));
        }
    }

    // --- Paper figures ---------------------------------------------------------------
    let gn: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&g| {
            ctx.members(&sec.groups[g]).any(|r| {
                r.layers_last
                    .get("grad_norm")
                    .is_some_and(|v| !v.is_empty())
            })
        })
        .collect();
    if !gn.is_empty() {
        let title = format!("Critic gradient norm by layer (WGAN-GP Fig. 1b) · {suffix}");
        let (c, t) = (ctx.clone(), title.clone());
        jobs.push(ctx.job(
            "fig1b_grad_norm_by_layer.svg".into(),
            title,
            Category::Paper,
            m_layers,
            Box::new(move || {
                let curves: Vec<Curve> = gn.iter().map(|&g| layer_curve(&c, g)).collect();
                let panel = Panel {
                    title: t.clone(),
                    x_label: "critic layer (input → output)".into(),
                    y_label: "log10 gradient norm ‖∂L_C/∂W‖".into(),
                    curves: &curves,
                    auto_log: false,
                    integer_x: true,
                };
                let floor = curves
                    .iter()
                    .any(|cv| cv.raw.iter().any(|&m| m <= UNDERFLOW_LOG10));
                let note = format!(
                    "last logged step; {}{}",
                    c.band_note(&curves, false),
                    if floor {
                        "; -38 = zero gradient (f32 underflow)"
                    } else {
                        ""
                    }
                );
                let legend = c.legend(&gn, Some(note));
                curve_svg(&t, "grad-norm-by-layer", &[panel], &legend)
            }),
        ));
    }

    let hg: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&g| ctx.members(&sec.groups[g]).any(|r| !r.hist_last.is_empty()))
        .collect();
    if !hg.is_empty() {
        let title = format!("Critic weights at the last step (WGAN-GP Fig. 1c) · {suffix}");
        let (c, t) = (ctx.clone(), title.clone());
        jobs.push(ctx.job(
            "fig1c_weight_hist.svg".into(),
            title,
            Category::Paper,
            m_hist,
            Box::new(move || {
                let panels: Vec<HistPanel> = hg.iter().map(|&g| hist_panel(&c, g)).collect();
                let meta = Meta {
                    title: &t,
                    kind: "weight-histograms",
                    series: panels.iter().map(|p| p.label.clone()).collect(),
                };
                charts::hist_chart(&meta, &panels, "all critic layers and seeds pooled")
            }),
        ));
    }

    let sg: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&g| {
            ctx.members(&sec.groups[g])
                .any(|r| r.surface_file.is_some())
        })
        .collect();
    if !sg.is_empty() {
        let title = format!("Critic value surface and generated samples · {suffix}");
        let (c, t) = (ctx.clone(), title.clone());
        jobs.push(ctx.job(
            "critic_surface.svg".into(),
            title,
            Category::Paper,
            m_surface,
            Box::new(move || {
                let panels: Vec<SurfacePanel> =
                    sg.iter().filter_map(|&g| surface_panel(&c, g)).collect();
                let meta = Meta {
                    title: &t,
                    kind: "critic-surface",
                    series: panels.iter().map(|p| p.label.clone()).collect(),
                };
                charts::surface_chart(&meta, &panels)
            }),
        ));
    }

    let metrics = eval_metrics(runs, sec);
    let est_kind = if kinds.iter().any(|k| k == "wasserstein") {
        "wasserstein"
    } else {
        "js"
    };
    for metric in &metrics {
        let gs: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&g| {
                kinds[g] == est_kind
                    && has_column(&ctx, &sec.groups[g], "estimate")
                    && ctx
                        .members(&sec.groups[g])
                        .any(|r| r.eval.contains_key(metric))
            })
            .collect();
        if gs.is_empty() {
            continue;
        }
        let est = estimate_title(est_kind);
        let title = format!(
            "{} and {metric} over training (WGAN Fig. 3) · {suffix}",
            est.split(' ').next().unwrap_or(est)
        );
        let (c, t, m) = (ctx.clone(), title.clone(), metric.clone());
        jobs.push(ctx.job(
            format!("fig3_{}.svg", safe(metric)),
            title,
            Category::Paper,
            m_eval_metrics,
            Box::new(move || {
                let top: Vec<Curve> = gs
                    .iter()
                    .map(|&g| metric_curve(&c, g, "estimate", XAxis::Step, true))
                    .collect();
                let bottom: Vec<Curve> = gs.iter().map(|&g| eval_curve(&c, g, &m)).collect();
                let panels = [
                    Panel {
                        title: estimate_title(est_kind).into(),
                        x_label: "generator iterations".into(),
                        y_label: "estimate".into(),
                        curves: &top,
                        auto_log: false,
                        integer_x: false,
                    },
                    Panel {
                        title: m.clone(),
                        x_label: "generator iterations".into(),
                        y_label: m.clone(),
                        curves: &bottom,
                        auto_log: true,
                        integer_x: false,
                    },
                ];
                let legend = c.legend(&gs, Some(c.band_note(&top, true)));
                curve_svg(&t, "estimate-vs-quality", &panels, &legend)
            }),
        ));
    }

    // --- Sample quality --------------------------------------------------------------
    for metric in &metrics {
        let gs: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&g| {
                ctx.members(&sec.groups[g])
                    .any(|r| r.eval.contains_key(metric))
            })
            .collect();
        let dir = match eval_direction(metric).phrase() {
            "" => String::new(),
            phrase => format!(" ({phrase})"),
        };
        let title = format!("{metric} over training · {suffix}");
        let (c, t, m, g2, d) = (
            ctx.clone(),
            title.clone(),
            metric.clone(),
            gs.clone(),
            dir.clone(),
        );
        jobs.push(ctx.job(
            format!("eval_{}.svg", safe(metric)),
            title,
            Category::Quality,
            m_eval,
            Box::new(move || {
                let curves: Vec<Curve> = g2.iter().map(|&g| eval_curve(&c, g, &m)).collect();
                let panel = Panel {
                    title: t.clone(),
                    x_label: "generator iterations".into(),
                    y_label: format!("{m}{d}"),
                    curves: &curves,
                    auto_log: true,
                    integer_x: false,
                };
                let legend = c.legend(&g2, Some(c.band_note(&curves, false)));
                curve_svg(&t, "eval-curve", &[panel], &legend)
            }),
        ));

        let title = format!("Final {metric} per configuration · {suffix}");
        let (c, t, m) = (ctx.clone(), title.clone(), metric.clone());
        jobs.push(ctx.job(
            format!("final_{}.svg", safe(metric)),
            title,
            Category::Quality,
            m_eval,
            Box::new(move || {
                let rows: Vec<StripRow> = gs
                    .iter()
                    .map(|&g| StripRow {
                        label: c.sec.groups[g].label.clone(),
                        color: g,
                        values: c
                            .members(&c.sec.groups[g])
                            .filter(|r| r.status != Status::Failed)
                            .filter_map(|r| r.eval.get(&m)?.last())
                            .collect(),
                    })
                    .collect();
                let meta = Meta {
                    title: &t,
                    kind: "final-strip",
                    series: rows.iter().map(|r| r.label.clone()).collect(),
                };
                let note =
                    format!("dots: one per seed (failed runs left out); black bar: mean{dir}");
                charts::strip_chart(&meta, &format!("final {m}"), &rows, &note)
            }),
        ));
    }

    // --- Toy samples -----------------------------------------------------------------
    for (gi, g) in sec.groups.iter().enumerate() {
        let Some(run) = ctx.members(g).find(|r| !r.csv_samples.is_empty()) else {
            continue;
        };
        let title = format!("Generated samples · {} · {}", g.label, sec.name);
        let (c, t) = (ctx.clone(), title.clone());
        jobs.push(ctx.job(
            format!("samples_{gi}.svg"),
            title,
            Category::Samples,
            m_samples,
            Box::new(move || {
                let picks = pick_three(&run.csv_samples);
                let panels = picks
                    .iter()
                    .map(|s| {
                        Ok((
                            format!("step {} (seed {})", s.step, seed_str(run)),
                            thin(read_points(&s.path)?, 1000),
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let meta = Meta {
                    title: &t,
                    kind: "samples",
                    series: vec![c.sec.groups[gi].label.clone()],
                };
                charts::scatter_chart(&meta, gi, &panels)
            }),
        ));
    }
    jobs
}

fn seed_str(r: &Run) -> String {
    r.setting("seed").unwrap_or_else(|| "?".into())
}

/// First, middle and last element (fewer when there are fewer).
pub fn pick_three<T>(v: &[T]) -> Vec<&T> {
    match v.len() {
        0 => vec![],
        1 => vec![&v[0]],
        2 => vec![&v[0], &v[1]],
        n => vec![&v[0], &v[(n - 1) / 2], &v[n - 1]],
    }
}

/// Keep at most `max` points, evenly strided.
fn thin(pts: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if pts.len() <= max {
        return pts;
    }
    let step = pts.len().div_ceil(max);
    pts.into_iter().step_by(step).collect()
}

/// Where a zero (underflowed) gradient norm is drawn: log10 of f32's smallest normal value.
const UNDERFLOW_LOG10: f64 = -38.0;

/// Mean over seeds of log10 grad norm per layer. The engine numbers layers from 1 (input
/// side); non-numeric names are placed by their order in the file.
fn layer_curve(ctx: &Ctx, gi: usize) -> Curve {
    let g = &ctx.sec.groups[gi];
    let per_seed: Vec<(Vec<f64>, Vec<f64>)> = ctx
        .members(g)
        .filter_map(|r| r.layers_last.get("grad_norm"))
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
