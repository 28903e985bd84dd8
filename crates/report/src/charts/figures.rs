//! What to draw for one section (sweep): turns runs and groups into chart jobs.
//!
//! A job carries a fingerprint of what it depends on and the newest mtime of its
//! input files; the data preparation and drawing live in a closure that only runs
//! when the chart is stale.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Result;

use crate::charts::{self, Curve, Legend, Meta, Panel, StripRow};
use crate::format::{safe, sig};
use crate::group::{Group, ema, mean_band};
use crate::load::{Mtimes, Run, Status, read_points};
use crate::options::{Band, ReportOptions};
use crate::section::{Section, eval_metrics};
use harness_core::results::metrics::eval_direction;

mod paper;

use paper::{FIG_1B, WEIGHT_GRADS, by_layer, critic_surface, weight_histograms};

/// Bump when chart drawing changes so cached charts are redrawn.
const DRAW_VERSION: u32 = 3;

/// Where a chart goes on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Paper,
    Curves,
    Quality,
    Budget,
    Samples,
}

impl Category {
    pub fn heading(self) -> &'static str {
        match self {
            Category::Paper => "Paper figures",
            Category::Curves => "Training curves",
            Category::Quality => "Sample quality",
            Category::Budget => "Budget over drawn settings",
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

    /// A chart job: `draw(ctx, title)` runs only when the chart is stale.
    fn job(
        self: &Arc<Self>,
        file: String,
        title: String,
        category: Category,
        input: fn(&Mtimes) -> [Option<SystemTime>; 2],
        draw: impl Fn(&Ctx<'a>, &str) -> Result<String> + Send + Sync + 'a,
    ) -> Job<'a> {
        let mut h = DefaultHasher::new();
        (self.base_hash, &file, &title).hash(&mut h);
        let newest = self
            .sec
            .run_indices()
            .flat_map(|i| input(&self.runs[i].mtimes))
            .flatten()
            .max();
        let (ctx, t) = (Arc::clone(self), title.clone());
        Job {
            file,
            title,
            category,
            fingerprint: h.finish(),
            newest_input: newest,
            draw: Box::new(move || draw(&ctx, &t)),
        }
    }

    /// Indices of the configurations for which `keep` holds.
    fn groups_where(&self, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..self.sec.groups.len()).filter(|&gi| keep(gi)).collect()
    }

    /// Whether any seed of configuration `gi` satisfies `f`.
    fn any_member(&self, gi: usize, f: impl Fn(&Run) -> bool) -> bool {
        self.members(&self.sec.groups[gi]).any(f)
    }

    /// Whether any seed of configuration `gi` logged a finite value in `metrics.csv` column
    /// `col`.
    fn has_column(&self, gi: usize, col: &str) -> bool {
        self.any_member(gi, |r| {
            r.metrics
                .get(col)
                .is_some_and(|v| v.iter().any(|x| x.is_finite()))
        })
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

/// The estimate kind of a configuration: as logged, else inferred from the objective (or the
/// loss that spells it).
fn group_kind(ctx: &Ctx, g: &Group) -> String {
    if let Some(k) = ctx.members(g).find_map(|r| r.estimate_kind.clone()) {
        return k;
    }
    let objective = ctx
        .members(g)
        .find_map(|r| r.setting("objective").or_else(|| r.setting("loss")))
        .unwrap_or_default();
    if objective.starts_with("wgan") || objective == "hinge" {
        "wasserstein".into()
    } else {
        "js".into()
    }
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
    b: crate::group::MeanBand,
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

/// Plan every chart of a section, in page order within each category.
pub fn plan<'a>(runs: &'a [Run], sec: &'a Section, opts: &'a ReportOptions) -> Vec<Job<'a>> {
    let ctx = Arc::new(Ctx {
        runs,
        sec,
        opts,
        base_hash: fingerprint_base(sec, runs, opts),
    });
    let kinds: Vec<String> = sec.groups.iter().map(|g| group_kind(&ctx, g)).collect();
    let metrics = eval_metrics(runs, sec);
    let mut jobs = training_curves(&ctx, &kinds);
    jobs.extend(by_layer(&ctx, &FIG_1B));
    jobs.extend(by_layer(&ctx, &WEIGHT_GRADS));
    jobs.extend(weight_histograms(&ctx));
    jobs.extend(critic_surface(&ctx));
    for metric in &metrics {
        jobs.extend(estimate_and_quality(&ctx, &kinds, metric));
    }
    for metric in &metrics {
        jobs.push(quality_curve(&ctx, metric));
        jobs.push(final_scores(&ctx, metric));
    }
    for gi in 0..sec.groups.len() {
        jobs.extend(toy_samples(&ctx, gi));
    }
    jobs
}

/// The `metrics.csv` curves: losses and the estimate (one chart per estimate kind) against
/// steps and wall time, the penalty and the input-gradient norm against steps.
fn training_curves<'a>(ctx: &Arc<Ctx<'a>>, kinds: &[String]) -> Vec<Job<'a>> {
    // (file stem, column, what it is, groups that have it, also against wall time)
    let mut specs: Vec<(String, &str, String, Vec<usize>, bool)> = Vec::new();
    for col in ["critic_loss", "gen_loss"] {
        let gs = ctx.groups_where(|gi| ctx.has_column(gi, col));
        specs.push((col.into(), col, metric_title(col), gs, true));
    }
    for kind in ["wasserstein", "js"] {
        let gs = ctx.groups_where(|gi| kinds[gi] == kind && ctx.has_column(gi, "estimate"));
        let what = estimate_title(kind).to_string();
        specs.push((format!("estimate_{kind}"), "estimate", what, gs, true));
    }
    for col in ["penalty", "grad_norm"] {
        let gs = ctx.groups_where(|gi| ctx.has_column(gi, col));
        specs.push((col.into(), col, metric_title(col), gs, false));
    }
    let mut jobs = Vec::new();
    for (name, col, what, gs, with_wall) in specs.into_iter().filter(|s| !s.3.is_empty()) {
        let axes: &[XAxis] = if with_wall {
            &[XAxis::Step, XAxis::Wall]
        } else {
            &[XAxis::Step]
        };
        for &axis in axes {
            jobs.push(curve_job(ctx, &name, col, &what, &gs, axis));
        }
    }
    jobs
}

/// One `metrics.csv` column of groups `gs` against steps or wall time.
fn curve_job<'a>(
    ctx: &Arc<Ctx<'a>>,
    name: &str,
    col: &str,
    what: &str,
    gs: &[usize],
    axis: XAxis,
) -> Job<'a> {
    let suffix = ctx.suffix();
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
    let (gs, col, what) = (gs.to_vec(), col.to_string(), what.to_string());
    ctx.job(file, title, Category::Curves, m_metrics, move |c, t| {
        let curves: Vec<Curve> = gs
            .iter()
            .map(|&g| metric_curve(c, g, &col, axis, true))
            .collect();
        let panel = Panel {
            title: t.into(),
            x_label: x_label.into(),
            y_label: what.clone(),
            curves: &curves,
            auto_log: true,
            integer_x: false,
        };
        let legend = c.legend(&gs, Some(c.band_note(&curves, true)));
        curve_svg(t, "curve", &[panel], &legend)
    })
}

/// WGAN Fig. 3: the estimate over training above a sample-quality score, for the
/// configurations of the section's main estimate kind (Wasserstein where there is one).
fn estimate_and_quality<'a>(ctx: &Arc<Ctx<'a>>, kinds: &[String], metric: &str) -> Option<Job<'a>> {
    let kind = if kinds.iter().any(|k| k == "wasserstein") {
        "wasserstein"
    } else {
        "js"
    };
    let gs = ctx.groups_where(|gi| {
        kinds[gi] == kind
            && ctx.has_column(gi, "estimate")
            && ctx.any_member(gi, |r| r.eval.contains_key(metric))
    });
    if gs.is_empty() {
        return None;
    }
    let est = estimate_title(kind);
    let title = format!(
        "{} and {metric} over training (WGAN Fig. 3) · {}",
        est.split(' ').next().unwrap_or(est),
        ctx.suffix()
    );
    let (file, m) = (format!("fig3_{}.svg", safe(metric)), metric.to_string());
    Some(
        ctx.job(file, title, Category::Paper, m_eval_metrics, move |c, t| {
            let top: Vec<Curve> = gs
                .iter()
                .map(|&g| metric_curve(c, g, "estimate", XAxis::Step, true))
                .collect();
            let bottom: Vec<Curve> = gs.iter().map(|&g| eval_curve(c, g, &m)).collect();
            let panel = |title: &str, y_label: &str, curves, auto_log| Panel {
                title: title.into(),
                x_label: "generator iterations".into(),
                y_label: y_label.into(),
                curves,
                auto_log,
                integer_x: false,
            };
            let panels = [
                panel(est, "estimate", &top, false),
                panel(&m, &m, &bottom, true),
            ];
            let legend = c.legend(&gs, Some(c.band_note(&top, true)));
            curve_svg(t, "estimate-vs-quality", &panels, &legend)
        }),
    )
}

/// ` (lower is better)`, ` (higher is better)` or nothing, after a score's name.
fn direction_note(metric: &str) -> String {
    match eval_direction(metric).phrase() {
        "" => String::new(),
        phrase => format!(" ({phrase})"),
    }
}

/// One `eval.csv` score over training.
fn quality_curve<'a>(ctx: &Arc<Ctx<'a>>, metric: &str) -> Job<'a> {
    let gs = ctx.groups_where(|gi| ctx.any_member(gi, |r| r.eval.contains_key(metric)));
    let title = format!("{metric} over training · {}", ctx.suffix());
    let (file, m) = (format!("eval_{}.svg", safe(metric)), metric.to_string());
    ctx.job(file, title, Category::Quality, m_eval, move |c, t| {
        let curves: Vec<Curve> = gs.iter().map(|&g| eval_curve(c, g, &m)).collect();
        let panel = Panel {
            title: t.into(),
            x_label: "generator iterations".into(),
            y_label: format!("{m}{}", direction_note(&m)),
            curves: &curves,
            auto_log: true,
            integer_x: false,
        };
        let legend = c.legend(&gs, Some(c.band_note(&curves, false)));
        curve_svg(t, "eval-curve", &[panel], &legend)
    })
}

/// The final value of one score per seed, by configuration (failed runs left out).
fn final_scores<'a>(ctx: &Arc<Ctx<'a>>, metric: &str) -> Job<'a> {
    let gs = ctx.groups_where(|gi| ctx.any_member(gi, |r| r.eval.contains_key(metric)));
    let title = format!("Final {metric} per configuration · {}", ctx.suffix());
    let (file, m) = (format!("final_{}.svg", safe(metric)), metric.to_string());
    ctx.job(file, title, Category::Quality, m_eval, move |c, t| {
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
            title: t,
            kind: "final-strip",
            series: rows.iter().map(|r| r.label.clone()).collect(),
        };
        let note = format!(
            "dots: one per seed (failed runs left out); black bar: mean{}",
            direction_note(&m)
        );
        charts::strip_chart(&meta, &format!("final {m}"), &rows, &note)
    })
}

/// Toy data: generated points of configuration `gi`'s first seed at its first, middle and
/// last evaluation.
fn toy_samples<'a>(ctx: &Arc<Ctx<'a>>, gi: usize) -> Option<Job<'a>> {
    let g = &ctx.sec.groups[gi];
    let run = ctx.members(g).find(|r| !r.csv_samples.is_empty())?;
    let title = format!("Generated samples · {} · {}", g.label, ctx.sec.name);
    let file = format!("samples_{gi}.svg");
    Some(
        ctx.job(file, title, Category::Samples, m_samples, move |c, t| {
            let panels = pick_three(&run.csv_samples)
                .iter()
                .map(|s| {
                    Ok((
                        format!("step {} (seed {})", s.step, seed_str(run)),
                        thin(read_points(&s.path)?, 1000),
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let meta = Meta {
                title: t,
                kind: "samples",
                series: vec![c.sec.groups[gi].label.clone()],
            };
            charts::scatter_chart(&meta, gi, &panels)
        }),
    )
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
