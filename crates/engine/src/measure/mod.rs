//! Measurements taken at the evaluation cadence: validation critic loss, per-layer critic
//! gradient norms and weight statistics, samples, and sample-quality scores. Each is a function
//! of the networks and data that returns rows (or a file's content); the training loop records
//! them.
//!
//! Per-layer gradient norms (WGAN-GP, Gulrajani et al. 2017, section 3, "Exploding and
//! vanishing gradients", Figure 1b) are taken of the critic's loss *without* the penalty term (so
//! clipping and penalty runs are compared on the same quantity), on a held-out real batch and
//! fakes from the fixed evaluation noise, each scored in its own pass. Layers are numbered from
//! the input (1) to the output. See [`layer_gradients`] for the two quantities, and
//! [`spectral_norms`] for `sigma_max`, the largest singular value of each layer's weight.

pub mod evaluator;
pub mod quality;
pub mod stacked;

use crate::data::spec::Source;
use crate::data::toy::Toy;
use crate::data::{normal_rows, rng_for, streams, to_tensor};
use crate::losses::ObjectiveLoss;
use crate::nets::{Critic, Generator, IMAGE_SIDE, data_dim};
use anyhow::Result;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use evaluator::{Evaluator, TestReference};
use harness_core::config::{GOutput, RunConfig};
use harness_core::objective::Objective;
use harness_core::results::runlog::{EvalRow, HistRow, LayerRow};
use harness_core::stop::StopFlag;
use image::ImageEncoder;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Bins of the weight histograms.
pub const HIST_BINS: usize = 40;
/// Side of the critic-value grid over [-3, 3]^2 (WGAN-GP Fig. 1a).
pub const SURFACE_SIDE: usize = 128;
/// Sliced-Wasserstein projections.
pub const SW_PROJECTIONS: usize = 128;

/// The MNIST sample-quality evaluator with its test-set reference features.
pub type Scorer = (Arc<Evaluator>, Arc<TestReference>);

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f64>()
}

/// An evaluation abandoned because a stop was requested (by this signal) while it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped(pub i32);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = harness_core::stop::signal_name(self.0);
        write!(f, "evaluation abandoned: stopped by {name}")
    }
}

impl std::error::Error for Stopped {}

/// Whether a measurement is to be abandoned. An evaluation of a large network or of many samples
/// runs for minutes (a toy run with `dim = 5500` ignored SIGTERM for over 6 minutes), so its long
/// parts ask this between batches, chunks, projections and layers, and a stop requested meanwhile
/// takes effect within seconds. Cheap: one atomic load per ask.
#[derive(Clone, Copy, Debug, Default)]
pub struct Poll<'a>(Option<&'a StopFlag>);

impl<'a> Poll<'a> {
    /// Never stops (library callers, and what is measured outside the training loop).
    pub const NEVER: Poll<'static> = Poll(None);

    /// Stops once `flag` is set.
    pub fn on(flag: &'a StopFlag) -> Self {
        Self(Some(flag))
    }

    /// `Err` once a stop was requested.
    pub fn check(&self) -> Result<(), Stopped> {
        match self.0.and_then(StopFlag::signal) {
            Some(sig) => Err(Stopped(sig)),
            None => Ok(()),
        }
    }

    /// Whether a stop was requested.
    pub fn stopped(&self) -> bool {
        self.check().is_err()
    }
}

/// What one evaluation measured, for the training loop to record.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The critic loss (no penalty) on held-out real data and fakes from the evaluation noise.
    pub val_critic_loss: f64,
    /// `layers.csv` rows.
    pub layers: Vec<LayerRow>,
    /// `weights_hist.csv` rows.
    pub hist: Vec<HistRow>,
    /// `eval.csv` rows.
    pub eval: Vec<EvalRow>,
    /// The sample file, relative to the run folder (`samples/step_<n>.{csv,png}`), and its bytes.
    pub samples: (PathBuf, Vec<u8>),
}

/// The networks of a run at one step, and what measuring them needs.
pub struct Subject<'a> {
    pub cfg: &'a RunConfig,
    pub g: &'a Generator,
    pub c: &'a Critic,
    /// The networks' device (autodiff: per-layer gradients are taken).
    pub device: &'a Device,
    /// MNIST scores are computed only with a scorer.
    pub scorer: Option<&'a Scorer>,
    /// Asked between the parts of an evaluation; when it says stop, [`Subject::evaluate`]
    /// returns [`Stopped`] (as its error) and nothing it measured.
    pub poll: Poll<'a>,
}

impl Subject<'_> {
    /// Every evaluation at `step`; `held_out` is a batch of held-out real data. A stop requested
    /// meanwhile (see [`Subject::poll`]) abandons it with a [`Stopped`] error.
    pub fn evaluate(&self, held_out: &[f32], step: u32, wall_s: f64) -> Result<Evaluation> {
        self.poll.check()?;
        let held = to_tensor(held_out, data_dim(self.cfg), self.device);
        let fake = self.g.sample(self.eval_noise(self.cfg.batch_size as usize));
        let grads = layer_gradients(self.cfg.objective, self.c, held, fake);
        let row =
            |l: &LayerGradient, quantity, value| layer_row(step, l.layer.clone(), quantity, value);
        let mut layers: Vec<LayerRow> = grads
            .layers
            .iter()
            .map(|l| row(l, "grad_norm", l.weight))
            .collect();
        layers.extend(
            grads
                .layers
                .iter()
                .map(|l| row(l, "act_grad_norm", l.activation)),
        );
        self.poll.check()?;
        let (weight_rows, hist) = weight_stats(step, self.c, self.cfg.clip);
        layers.extend(weight_rows);
        layers.extend(spectral_norms_polled(step, self.c, self.poll)?);
        let (samples, scores) = match self.cfg.data().toy() {
            Some(toy) => {
                let pts = self.toy_points();
                self.poll.check()?;
                let file = format!("samples/step_{step:08}.csv");
                let scores = self.toy_scores(toy, &pts)?;
                ((file.into(), points_csv(&pts)?), scores)
            }
            None => {
                let tanh = self.cfg.g_output == Some(GOutput::Tanh);
                let channels = self.cfg.data().channels().unwrap_or(1);
                let png = image_grid(&self.generate(self.eval_noise(64)), 8, tanh, channels)?;
                let file = format!("samples/step_{step:08}.png");
                ((file.into(), png), self.image_scores()?)
            }
        };
        let eval = scores
            .into_iter()
            .map(|(metric, value)| EvalRow {
                step,
                wall_s,
                metric: metric.into(),
                value,
            })
            .collect();
        Ok(Evaluation {
            val_critic_loss: grads.loss,
            layers,
            hist,
            eval,
            samples,
        })
    }

    /// `n` noise vectors from the fixed evaluation stream (the same every evaluation).
    pub fn eval_noise(&self, n: usize) -> Tensor<2> {
        let mut r = rng_for(self.cfg.seed, streams::EVAL);
        normal_rows(&mut r, n, self.cfg.z_dim as usize, self.device)
    }

    /// Samples from `z` as host floats, without recording a graph.
    pub fn generate(&self, z: Tensor<2>) -> Vec<f32> {
        self.g
            .sample(z)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap_or_default()
    }

    /// Every sample-quality score of the generator (what `eval.csv` holds). Empty when
    /// [`Subject::poll`] stopped it.
    pub fn quality_scores(&self) -> Vec<(&'static str, f64)> {
        let scores = match self.cfg.data().toy() {
            Some(toy) => self.toy_scores(toy, &self.toy_points()),
            None => self.image_scores(),
        };
        scores.unwrap_or_default()
    }

    /// Generated points of the fixed evaluation noise (toy data). One pass of the generator,
    /// not polled: generating in chunks could change the points' bits (the kernels may sum in
    /// another order for another number of rows), and so every toy run's samples and scores.
    fn toy_points(&self) -> Vec<[f32; 2]> {
        let fake = self.generate(self.eval_noise(self.cfg.eval_samples as usize));
        fake.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
    }

    /// Mode metrics (VEEGAN/PacGAN) and sliced Wasserstein distance of generated toy points.
    fn toy_scores(&self, toy: Toy, pts: &[[f32; 2]]) -> Result<Vec<(&'static str, f64)>, Stopped> {
        let seed = self.cfg.seed;
        let real = toy.sample(&mut rng_for(seed, streams::HELD_OUT), pts.len());
        let real: Vec<[f32; 2]> = real.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
        let mut out = Vec::new();
        let modes = toy.modes();
        if !modes.is_empty() {
            let mm = quality::mode_metrics(pts, &modes, toy.mode_std(), quality::DEFAULT_N_STD);
            out.push(("modes_covered", mm.modes_covered as f64));
            out.push(("modes_covered_1pct", mm.modes_covered_1pct as f64));
            out.push(("high_quality_frac", mm.high_quality_frac));
            out.push(("mode_kl", mm.mode_kl));
            out.push(("mode_js", mm.mode_js));
        }
        self.poll.check()?;
        let sw = quality::sliced_wasserstein_polled(pts, &real, SW_PROJECTIONS, seed, self.poll)?;
        out.push(("sliced_wasserstein", sw));
        Ok(out)
    }

    /// Sample-quality scores of `eval_samples` generated images (empty without a scorer): the
    /// MNIST scores of [`evaluator::score`] for digits, the mode metrics of [`stacked::scores`]
    /// for stacked digits.
    fn image_scores(&self) -> Result<Vec<(&'static str, f64)>, Stopped> {
        let Some((ev, reference)) = self.scorer else {
            return Ok(Vec::new());
        };
        let images = self.generated_images01()?;
        match self.cfg.data().source {
            Source::Mnist { stack } if stack > 1 => stacked::scores(ev, &images, stack, self.poll),
            _ => Ok(evaluator::score_polled(ev, reference, &images, self.poll)?
                .named()
                .to_vec()),
        }
    }

    /// `eval_samples` generated images from the fixed evaluation noise, pixels in [0, 1] (what
    /// the evaluator reads).
    fn generated_images01(&self) -> Result<Vec<f32>, Stopped> {
        let tanh = self.cfg.g_output == Some(GOutput::Tanh);
        let n = self.cfg.eval_samples as usize;
        let z = self.eval_noise(n);
        let mut images = Vec::with_capacity(n * data_dim(self.cfg));
        // Generate in chunks to bound memory; the evaluator wants [0, 1] pixels.
        for start in (0..n).step_by(1000) {
            self.poll.check()?;
            let end = (start + 1000).min(n);
            let chunk = self.generate(z.clone().narrow(0, start, end - start));
            images.extend(chunk.into_iter().map(|v| {
                let v = if tanh { (v + 1.0) / 2.0 } else { v };
                v.clamp(0.0, 1.0)
            }));
        }
        Ok(images)
    }
}

fn layer_row(step: u32, layer: String, quantity: &str, value: f64) -> LayerRow {
    LayerRow {
        step,
        layer,
        quantity: quantity.into(),
        value,
    }
}

/// One critic layer's gradient norms (see [`layer_gradients`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGradient {
    /// `1` (input side) to `n` (the output layer).
    pub layer: String,
    /// `grad_norm`: the L2 norm of the gradient with respect to the layer's weight.
    pub weight: f64,
    /// `act_grad_norm`: the L2 norm of the gradient with respect to the layer's output
    /// activations, over both batches.
    pub activation: f64,
}

/// The critic loss and its per-layer gradient norms.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGradients {
    /// The loss's value.
    pub loss: f64,
    pub layers: Vec<LayerGradient>,
}

/// The critic loss of `objective` (without penalty) of the scores of `real` and `fake`, each
/// batch scored in its own pass (with the stored spectral normalisation, no power iteration),
/// and for each critic layer `k` (from the input):
///
/// - `act_grad_norm`, the quantity WGAN-GP's Figure 1b plots: "the norm of the gradient of the
///   critic's loss with respect to successive layers of activations" (Gulrajani et al. 2017,
///   section 3, "Exploding and vanishing gradients"). Here the Frobenius norm of
///   dL / dh_k over both batches, where h_k is what layer `k` outputs after its nonlinearity
///   (for the dcgan critic, after each convolution's LeakyReLU; the last layer's is the critic's
///   score): `sqrt(|dL/dh_k(real)|^2 + |dL/dh_k(fake)|^2)`.
/// - `grad_norm`, the Frobenius norm of dL / dW_k for the layer's weight matrix (or kernel),
///   the trained parameter (under spectral normalisation, the weight before division by
///   sigma); a layer the loss does not reach has norm 0.
///
/// Both come from one backward pass; the sums of squares are taken in f64 on the host, since
/// under clipping the activation gradients near the input are far below f32's smallest square.
pub fn layer_gradients(
    objective: Objective,
    critic: &Critic,
    real: Tensor<2>,
    fake: Tensor<2>,
) -> LayerGradients {
    let scorer = critic.normalized();
    let (real, real_probes) = scorer.forward_probed(real);
    let (fake, fake_probes) = scorer.forward_probed(fake);
    let l = objective.critic_loss(real, fake);
    let value = scalar(l.clone().detach());
    let grads = l.backward();
    let sq = |t: Option<Tensor<1>>| {
        t.map_or(0.0, |g| {
            host(g)
                .iter()
                .map(|&x| (x as f64) * (x as f64))
                .sum::<f64>()
        })
    };
    let layers = critic
        .layer_weight_grads(&grads)
        .into_iter()
        .zip(real_probes.iter().zip(&fake_probes))
        .map(|((layer, w), (r, f))| LayerGradient {
            layer,
            weight: sq(w).sqrt(),
            activation: (sq(r.grad(&grads)) + sq(f.grad(&grads))).sqrt(),
        })
        .collect();
    LayerGradients {
        loss: value,
        layers,
    }
}

/// Per-layer weight statistics: `weight_abs_max` and, under clipping at `clip`, `frac_at_clip`
/// (the share of weights at +-c) as layer rows, and each layer's histogram over the symmetric
/// range of the largest weight of any layer (so all layers share bins).
pub fn weight_stats(
    step: u32,
    critic: &Critic,
    clip: Option<f64>,
) -> (Vec<LayerRow>, Vec<HistRow>) {
    let weights: Vec<(String, Vec<f32>)> = critic
        .layer_weights()
        .into_iter()
        .map(|(n, t)| (n, host(t)))
        .collect();
    let abs_max = |w: &[f32]| w.iter().fold(0f32, |a, &x| a.max(x.abs()));
    let m = weights
        .iter()
        .map(|(_, w)| abs_max(w))
        .fold(0f32, f32::max)
        .max(f32::MIN_POSITIVE) as f64;
    let (mut rows, mut hist) = (Vec::new(), Vec::new());
    for (layer, w) in &weights {
        rows.push(layer_row(
            step,
            layer.clone(),
            "weight_abs_max",
            abs_max(w) as f64,
        ));
        if let Some(c) = clip {
            let at = w
                .iter()
                .filter(|x| (x.abs() as f64) >= c * (1.0 - 1e-6))
                .count();
            let frac = at as f64 / w.len().max(1) as f64;
            rows.push(layer_row(step, layer.clone(), "frac_at_clip", frac));
        }
        let mut counts = [0u64; HIST_BINS];
        for &x in w {
            let i = (((x as f64 + m) / (2.0 * m)) * HIST_BINS as f64) as usize;
            counts[i.min(HIST_BINS - 1)] += 1;
        }
        let width = 2.0 * m / HIST_BINS as f64;
        hist.extend(counts.iter().enumerate().map(|(i, &count)| HistRow {
            step,
            layer: layer.clone(),
            bin_lo: -m + i as f64 * width,
            bin_hi: -m + (i + 1) as f64 * width,
            count,
        }));
    }
    (rows, hist)
}

/// `sigma_max` rows: for each critic layer, the largest singular value of the weight it computes
/// with (after spectral normalisation when on: `W / sigma` with the stored `u`, `v`), as the
/// matrix spectral normalisation uses (a convolution's kernel reshaped to `[out, in * k * k]`,
/// which is not the operator norm of the convolution). An SVD in f64, not the power-iteration
/// estimate: with spectral normalisation it shows how far that estimate is from 1.
pub fn spectral_norms(step: u32, critic: &Critic) -> Vec<LayerRow> {
    spectral_norms_polled(step, critic, Poll::NEVER).unwrap_or_default()
}

/// [`spectral_norms`], abandoned when `poll` says stop.
pub fn spectral_norms_polled(
    step: u32,
    critic: &Critic,
    poll: Poll<'_>,
) -> Result<Vec<LayerRow>, Stopped> {
    let mut rows = Vec::new();
    for (layer, w) in critic.clone().no_grad().layer_matrices() {
        poll.check()?;
        let [r, c] = w.dims();
        let values = w.into_data().convert::<f64>();
        let values = values.as_slice::<f64>().unwrap_or_default().to_vec();
        let sigma = largest_singular_value_polled(r, c, values, poll)?;
        rows.push(layer_row(step, layer, "sigma_max", sigma));
    }
    Ok(rows)
}

/// Matrices up to this many entries get their SVD on the calling thread (a 512 x 512 one takes
/// about 0.1 s); larger ones on a thread of their own, see [`largest_singular_value_polled`].
const SVD_INLINE_MAX: usize = 512 * 512;

/// The largest singular value of a `rows x cols` matrix, abandoned when `poll` says stop. The SVD
/// (nalgebra's, which cannot be interrupted) of a large layer takes minutes (a `5500 x 5500`
/// one), so it runs on its own thread while this one asks `poll` every 50 ms; when stopped, that
/// thread is left to finish and its result dropped (it holds only its own copy of the matrix,
/// and a stopped run's process exits soon after). Same value as on this thread: the SVD is
/// single-threaded and deterministic.
fn largest_singular_value_polled(
    rows: usize,
    cols: usize,
    values: Vec<f64>,
    poll: Poll<'_>,
) -> Result<f64, Stopped> {
    use crate::nets::spectral_norm::largest_singular_value;
    use std::sync::mpsc::{RecvTimeoutError, channel};
    if values.len() <= SVD_INLINE_MAX || poll.0.is_none() {
        return Ok(largest_singular_value(rows, cols, &values));
    }
    let (tx, rx) = channel();
    let svd = std::thread::spawn(move || {
        let _ = tx.send(largest_singular_value(rows, cols, &values));
    });
    loop {
        poll.check()?;
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(sigma) => return Ok(sigma),
            Err(RecvTimeoutError::Timeout) => {}
            // The thread ended without sending: it panicked; panic here as the inline SVD would.
            Err(RecvTimeoutError::Disconnected) => match svd.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("the SVD thread sends before it ends"),
            },
        }
    }
}

/// Toy sample points as `samples/step_<n>.csv` (`x,y`).
pub fn points_csv(pts: &[[f32; 2]]) -> Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    struct Point {
        x: f32,
        y: f32,
    }
    write_csv(pts.iter().map(|p| Point { x: p[0], y: p[1] }))
}

/// Toy data: the critic's value on a grid over [-3, 3]^2, as the `x,y,value` rows of
/// `surface.csv` (WGAN-GP Fig. 1a). Written with each checkpoint (not each evaluation: the file
/// holds one surface, and 16,384 critic evaluations cost more than the rest of an evaluation),
/// so it always shows the critic a resumed run continues from.
pub fn surface_csv(critic: &Critic, device: &Device) -> Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    struct Cell {
        x: f32,
        y: f32,
        value: f32,
    }
    let n = SURFACE_SIDE;
    let coord = |i: usize| -3.0 + 6.0 * i as f32 / (n - 1) as f32;
    let pts: Vec<f32> = (0..n * n)
        .flat_map(|k| [coord(k % n), coord(k / n)])
        .collect();
    let v = critic
        .clone()
        .no_grad()
        .normalized()
        .forward(to_tensor(&pts, 2, device))
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap_or_default();
    let cells = pts.chunks_exact(2).zip(v).map(|(p, value)| Cell {
        x: p[0],
        y: p[1],
        value,
    });
    write_csv(cells)
}

/// Rows serialised with a header from their field names.
fn write_csv<T: serde::Serialize>(rows: impl Iterator<Item = T>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    Ok(w.into_inner()?)
}

/// A grid of 28x28 images, `cols` to a row, as PNG bytes; `tanh` data is mapped from [-1, 1].
/// One channel is grey; three (Stacked MNIST, channels one after the other per image) are
/// red, green and blue.
pub fn image_grid(images: &[f32], cols: usize, tanh: bool, channels: usize) -> Result<Vec<u8>> {
    let s = IMAGE_SIDE;
    let n = images.len() / (channels * s * s);
    let rows = n.div_ceil(cols);
    let (w, h) = (cols * s, rows * s);
    let mut buf = vec![0u8; w * h * channels];
    for (k, img) in images.chunks_exact(channels * s * s).enumerate() {
        let (r, c) = (k / cols, k % cols);
        for (ch, plane) in img.chunks_exact(s * s).enumerate() {
            for (y, x) in (0..s).flat_map(|y| (0..s).map(move |x| (y, x))) {
                let v = plane[y * s + x];
                let v = if tanh { (v + 1.0) / 2.0 } else { v };
                let at = ((r * s + y) * w + c * s + x) * channels + ch;
                buf[at] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    let color = match channels {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        _ => anyhow::bail!("image_grid: {channels} channels; a PNG grid takes 1 or 3"),
    };
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::png::PngEncoder::new(&mut out).write_image(&buf, w as u32, h as u32, color)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{Act, Dense, Mlp, OutAct};

    fn device() -> Device {
        Device::flex().autodiff()
    }

    /// An MLP critic with the given `[out, in]` weights (row-major) and zero biases.
    fn critic(weights: &[(&[f32], usize)], act: Act, d: &Device) -> Critic {
        let layers = weights
            .iter()
            .map(|&(w, rows)| Dense {
                weight: Param::from_tensor(to_tensor(w, w.len() / rows, d).require_grad()),
                bias: Param::from_tensor(Tensor::<1>::zeros([rows], d).require_grad()),
                sn: None,
            })
            .collect();
        Critic::Mlp(Mlp {
            layers,
            act,
            out: OutAct::Linear,
        })
    }

    /// The surface of C(x, y) = x + 2y on the 128 x 128 grid, as the report reads it back.
    #[test]
    fn surface_of_a_linear_critic_reads_back_in_the_report() {
        let d = device();
        let c = critic(&[(&[1.0, 2.0], 1)], Act::Relu, &d);
        let bytes = surface_csv(&c, &d).unwrap();
        assert!(bytes.starts_with(b"x,y,value\n"));
        let s = harness_report::parse_surface(&bytes).unwrap().unwrap();
        assert_eq!((s.xs.len(), s.ys.len()), (SURFACE_SIDE, SURFACE_SIDE));
        assert_eq!((s.xs[0], s.xs[SURFACE_SIDE - 1]), (-3.0, 3.0));
        for (j, y) in s.ys.iter().enumerate() {
            for (i, x) in s.xs.iter().enumerate() {
                let v = s.values[j * SURFACE_SIDE + i];
                assert!((v - (x + 2.0 * y)).abs() < 1e-5, "C({x}, {y}) = {v}");
            }
        }
    }

    /// Toy sample points as `x,y` rows whose values parse back exactly (the report reads the
    /// `x` and `y` columns as numbers).
    #[test]
    fn sample_points_parse_back_exactly() {
        let pts = [[0.5f32, -1.25], [3.0, 1e-7], [-2.0e6, 0.1]];
        let bytes = points_csv(&pts).unwrap();
        let mut r = csv::Reader::from_reader(&bytes[..]);
        assert_eq!(r.headers().unwrap(), vec!["x", "y"]);
        let back: Vec<[f32; 2]> = r
            .records()
            .map(|rec| {
                let rec = rec.unwrap();
                [rec[0].parse().unwrap(), rec[1].parse().unwrap()]
            })
            .collect();
        assert_eq!(back, pts);
    }

    /// Largest weights, the share at +-c, and 40-bin histograms over the range of the largest
    /// weight of any layer, on weights whose bins are exact.
    #[test]
    fn weight_statistics_of_known_weights() {
        let d = device();
        let c = critic(
            &[(&[1.0, -1.0, 0.5, 0.0], 2), (&[0.5, -0.25], 1)],
            Act::Relu,
            &d,
        );
        let (rows, hist) = weight_stats(7, &c, Some(1.0));
        let got: Vec<(&str, &str, f64)> = rows
            .iter()
            .map(|r| (r.layer.as_str(), r.quantity.as_str(), r.value))
            .collect();
        let want = [
            ("1", "weight_abs_max", 1.0),
            ("1", "frac_at_clip", 0.5),
            ("2", "weight_abs_max", 0.5),
            ("2", "frac_at_clip", 0.0),
        ];
        assert_eq!(got, want);
        assert!(rows.iter().all(|r| r.step == 7) && hist.iter().all(|h| h.step == 7));
        assert_eq!(hist.len(), 2 * HIST_BINS);
        let filled = |layer: &str| -> Vec<(usize, u64)> {
            let h = hist.iter().filter(|h| h.layer == layer);
            h.enumerate()
                .filter(|(_, h)| h.count > 0)
                .map(|(i, h)| (i, h.count))
                .collect()
        };
        // Bins of width 0.05 over [-1, 1]: -1 -> 0, 0 -> 20, 0.5 -> 30, 1 -> the last.
        assert_eq!(filled("1"), [(0, 1), (20, 1), (30, 1), (39, 1)]);
        assert_eq!(filled("2"), [(15, 1), (30, 1)]);
        assert_eq!((hist[0].bin_lo, hist[39].bin_hi), (-1.0, 1.0));
        let (rows, _) = weight_stats(7, &c, None);
        assert!(rows.iter().all(|r| r.quantity == "weight_abs_max"));
    }
}
