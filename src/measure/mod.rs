//! Measurements taken at the evaluation cadence: validation critic loss, per-layer critic
//! gradient norms and weight statistics, samples, and sample-quality scores.
//!
//! Per-layer gradient norm (WGAN-GP Fig. 1b): for each critic layer `l`, the L2 norm of
//! d L_C / d W_l, the gradient of the critic's loss *without* the penalty term (so clipping and
//! penalty runs are compared on the same quantity), on a fresh real batch and fakes from the
//! fixed evaluation noise. Layers are numbered from the input (1) to the output.

pub mod evaluator;
pub mod quality;

use crate::data::toy::Toy;
use crate::data::{rng_for, streams};
use crate::model::{Critic, Generator, IMAGE_SIDE};
use crate::runlog::{EvalRow, HistRow, LayerRow};
use crate::store::write_atomic;
use crate::train::Engine;
use anyhow::Result;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use std::path::Path;

/// Bins of the weight histograms.
pub const HIST_BINS: usize = 40;
/// Side of the critic-value grid over [-3, 3]^2 (WGAN-GP Fig. 1a).
pub const SURFACE_SIDE: usize = 128;
/// Sliced-Wasserstein projections.
pub const SW_PROJECTIONS: usize = 128;

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f64>()
}

/// WGAN-GP Fig. 1b: the L2 norm of d `loss` / d W for each critic layer's weight matrix (see
/// the module docs), in layer order from the input. A layer the loss does not reach has norm 0.
pub fn layer_grad_norms(critic: &Critic, loss: Tensor<1>) -> Vec<(String, f64)> {
    let grads = loss.backward();
    critic
        .layer_weight_grads(&grads)
        .into_iter()
        .map(|(layer, g)| (layer, g.map_or(0.0, |g| scalar(g.square().sum()).sqrt())))
        .collect()
}

/// Run every evaluation for the engine's current step; returns the validation critic loss.
pub fn evaluate(e: &mut Engine, dir: &Path, wall_s: f64) -> Result<f64> {
    let step = e.step;
    let b = e.cfg.batch_size as usize;
    let dim = e.data_dim();
    let z = e.eval_noise(b);

    // Validation critic loss on held-out real data.
    let held = e.sampler.held_out(b);
    let held = e.to_tensor(held, dim);
    let val = scalar(e.critic_loss_on(held.clone(), z.clone()).detach());

    // Per-layer gradient norms of the critic loss (no penalty).
    for (layer, norm) in layer_grad_norms(&e.c, e.critic_loss_on(held, z)) {
        e.logs.layers.push(LayerRow {
            step,
            layer,
            quantity: "grad_norm".into(),
            value: norm,
        });
    }

    // Weight statistics and histograms.
    let weights: Vec<(String, Vec<f32>)> =
        e.c.layer_weights()
            .into_iter()
            .map(|(n, t)| (n, host(t)))
            .collect();
    let m = weights
        .iter()
        .flat_map(|(_, w)| w.iter())
        .fold(0f32, |a, &x| a.max(x.abs()))
        .max(f32::MIN_POSITIVE) as f64;
    for (layer, w) in &weights {
        let abs_max = w.iter().fold(0f32, |a, &x| a.max(x.abs())) as f64;
        e.logs.layers.push(LayerRow {
            step,
            layer: layer.clone(),
            quantity: "weight_abs_max".into(),
            value: abs_max,
        });
        if let Some(c) = e.cfg.clip {
            let at = w
                .iter()
                .filter(|x| (x.abs() as f64) >= c * (1.0 - 1e-6))
                .count();
            e.logs.layers.push(LayerRow {
                step,
                layer: layer.clone(),
                quantity: "frac_at_clip".into(),
                value: at as f64 / w.len().max(1) as f64,
            });
        }
        let mut counts = [0u64; HIST_BINS];
        for &x in w {
            let i = (((x as f64 + m) / (2.0 * m)) * HIST_BINS as f64) as usize;
            counts[i.min(HIST_BINS - 1)] += 1;
        }
        let width = 2.0 * m / HIST_BINS as f64;
        for (i, &count) in counts.iter().enumerate() {
            e.logs.hist.push(HistRow {
                step,
                layer: layer.clone(),
                bin_lo: -m + i as f64 * width,
                bin_hi: -m + (i + 1) as f64 * width,
                count,
            });
        }
    }

    let samples_dir = dir.join("samples");
    match Toy::from_dataset(e.cfg.dataset) {
        Some(toy) => {
            let pts = toy_points(e);
            let mut csv = String::from("x,y\n");
            for p in &pts {
                csv.push_str(&format!("{},{}\n", p[0], p[1]));
            }
            write_atomic(
                &samples_dir.join(format!("step_{step:08}.csv")),
                csv.as_bytes(),
            )?;
            for (metric, value) in toy_scores(e, toy, &pts) {
                e.logs.eval.push(EvalRow {
                    step,
                    wall_s,
                    metric: metric.into(),
                    value,
                });
            }
        }
        None => {
            let tanh = e.cfg.g_output == Some(crate::config::GOutput::Tanh);
            let fake = e.generate(e.eval_noise(64));
            let png = image_grid(&fake, 8, tanh)?;
            write_atomic(&samples_dir.join(format!("step_{step:08}.png")), &png)?;
            for (metric, value) in mnist_scores(e) {
                e.logs.eval.push(EvalRow {
                    step,
                    wall_s,
                    metric: metric.into(),
                    value,
                });
            }
        }
    }
    Ok(val)
}

/// Mode metrics (VEEGAN/PacGAN) and sliced Wasserstein distance of generated toy points.
pub fn toy_scores(e: &Engine, toy: Toy, pts: &[[f32; 2]]) -> Vec<(&'static str, f64)> {
    let real = toy.sample(&mut rng_for(e.cfg.seed, streams::HELD_OUT), pts.len());
    let real: Vec<[f32; 2]> = real.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    let mut out = Vec::new();
    let modes = toy.modes();
    if !modes.is_empty() {
        let mm = quality::mode_metrics(pts, &modes, toy.mode_std(), quality::DEFAULT_N_STD);
        out.push(("modes_covered", mm.modes_covered as f64));
        out.push(("high_quality_frac", mm.high_quality_frac));
        out.push(("mode_kl", mm.mode_kl));
        out.push(("mode_js", mm.mode_js));
    }
    out.push((
        "sliced_wasserstein",
        quality::sliced_wasserstein(pts, &real, SW_PROJECTIONS, e.cfg.seed),
    ));
    out
}

/// Generated points of the fixed evaluation noise (toy data).
pub fn toy_points(e: &Engine) -> Vec<[f32; 2]> {
    let fake = e.generate(e.eval_noise(e.cfg.eval_samples as usize));
    fake.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

/// Every sample-quality score of the engine's current generator (what `eval.csv` holds).
pub fn quality_scores(e: &Engine) -> Vec<(&'static str, f64)> {
    match Toy::from_dataset(e.cfg.dataset) {
        Some(toy) => toy_scores(e, toy, &toy_points(e)),
        None => mnist_scores(e),
    }
}

/// MNIST sample-quality scores of `eval_samples` generated digits (empty without an evaluator).
pub fn mnist_scores(e: &Engine) -> Vec<(&'static str, f64)> {
    let Some((ev, reference)) = &e.evaluator else {
        return Vec::new();
    };
    let tanh = e.cfg.g_output == Some(crate::config::GOutput::Tanh);
    let n = e.cfg.eval_samples as usize;
    let z = e.eval_noise(n);
    let mut images = Vec::with_capacity(n * 784);
    // Generate in chunks to bound memory; the evaluator wants [0, 1] pixels.
    for start in (0..n).step_by(1000) {
        let end = (start + 1000).min(n);
        let chunk = e.generate(z.clone().narrow(0, start, end - start));
        images.extend(chunk.into_iter().map(|v| {
            let v = if tanh { (v + 1.0) / 2.0 } else { v };
            v.clamp(0.0, 1.0)
        }));
    }
    evaluator::score(ev, reference, &images).named().to_vec()
}

/// Toy data: the critic's value on a grid over [-3, 3]^2, as `x,y,value` rows in
/// `surface.csv`. Written with each checkpoint (not each evaluation: the file holds one surface,
/// and 16,384 critic evaluations cost more than the rest of an evaluation), so it always shows
/// the critic a resumed run continues from.
pub fn write_surface(e: &Engine, dir: &Path) -> Result<()> {
    if Toy::from_dataset(e.cfg.dataset).is_none() {
        return Ok(());
    }
    let n = SURFACE_SIDE;
    let coord = |i: usize| -3.0 + 6.0 * i as f32 / (n - 1) as f32;
    let pts: Vec<f32> = (0..n * n)
        .flat_map(|k| [coord(k % n), coord(k / n)])
        .collect();
    let t = e.to_tensor(pts.clone(), 2);
    let v =
        e.c.clone()
            .no_grad()
            .forward(t)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap_or_default();
    let mut csv = String::with_capacity(n * n * 24);
    csv.push_str("x,y,value\n");
    for (p, val) in pts.chunks_exact(2).zip(v) {
        csv.push_str(&format!("{},{},{}\n", p[0], p[1], val));
    }
    write_atomic(&dir.join("surface.csv"), csv.as_bytes())
}

/// An `cols x cols` grid of 28x28 images as PNG bytes; `tanh` data is mapped from [-1, 1].
pub fn image_grid(images: &[f32], cols: usize, tanh: bool) -> Result<Vec<u8>> {
    let s = IMAGE_SIDE;
    let n = images.len() / (s * s);
    let rows = n.div_ceil(cols);
    let (w, h) = (cols * s, rows * s);
    let mut buf = vec![0u8; w * h];
    for (k, img) in images.chunks_exact(s * s).enumerate() {
        let (r, c) = (k / cols, k % cols);
        for y in 0..s {
            for x in 0..s {
                let v = img[y * s + x];
                let v = if tanh { (v + 1.0) / 2.0 } else { v };
                buf[(r * s + y) * w + c * s + x] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    let img = image::GrayImage::from_raw(w as u32, h as u32, buf).expect("buffer matches size");
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// Whether every parameter of both networks is finite (divergence check).
pub fn params_finite(c: &Critic, g: &Generator) -> bool {
    struct Finite(bool);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if self.0 {
                let s = p.val().inner().abs().sum().into_scalar::<f64>();
                self.0 = s.is_finite();
            }
        }
    }
    let mut f = Finite(true);
    c.visit(&mut f);
    g.visit(&mut f);
    f.0
}
