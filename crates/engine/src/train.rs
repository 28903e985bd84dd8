//! The training engine: one loop for every objective, network and dataset.
//!
//! One *step* is one generator iteration: `n_critic` critic updates (each on a fresh real batch),
//! and one generator update, in the order the config asks for. Every difference between the
//! papers' procedures (clamp before/after the update, warm-up, generator-first, the seed script's
//! batch-index schedule) is a setting read here, never a second copy of the loop.
//!
//! The objective and the penalty are asked for their losses ([`harness_core::objective`],
//! [`harness_core::penalty`]); the loop never matches on which they are.
//!
//! Spectral normalisation ([`crate::nets::spectral_norm`]) runs exactly one power iteration per
//! optimiser step that uses the critic in training: at the start of each critic update (after a
//! `before_step` clamp, before the batch is split into shards) and at the start of each
//! generator update. Every forward pass and input gradient of that step (the real and the fake
//! scores of all shards, the penalty's input gradient) then uses the same `W / sigma`, and
//! evaluations use the stored `u`, `v` without iterating. In PyTorch terms: the critic in
//! training mode, each update's forward passes inside one `torch.nn.utils.parametrize.cached()`
//! block, and `eval()` for evaluations.
//!
//! The hot path is [`Engine::critic_step`] and [`Engine::generator_step`]; nothing there reads a
//! value back from the device: losses are kept as tensors and read only on logging steps.
//! Measurements ([`crate::measure`]) and checkpoints ([`crate::checkpoint`]) are functions of
//! the networks and state the engine hands them; the loop records what they return.

use crate::checkpoint::{self, Nets, Position};
use crate::data::{Sampler, normal_rows, rng_for, streams, to_tensor};
use crate::losses::{ObjectiveLoss, PenaltyLoss};
use crate::measure::{self, Evaluation, Poll, Scorer, Stopped, Subject};
use crate::nets::{self, Critic, Generator};
use crate::ops::shard::{Shard, Shards};
use crate::optim::{Optim, ParamGrads, clamp_params};
use anyhow::Result;
use burn::module::Module;
use burn::prelude::*;
use harness_core::config::{ClipWhen, Order, RunConfig, Schedule, SeedEpoch};
use harness_core::results::resume::Refusal;
use harness_core::results::run_files;
use harness_core::results::runlog::{Cadence, MetricsRow, RunLogs};
use harness_core::results::store::write_atomic;
use harness_core::stop::StopFlag;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// Losses of the latest critic step, still on the device.
#[derive(Clone)]
struct CriticStats {
    loss: Tensor<1>,
    /// The objective's distance estimate.
    estimate: Tensor<1>,
    penalty: Option<Tensor<1>>,
    grad_norm: Option<Tensor<1>>,
}

/// What a finished call to [`Engine::train`] ended with.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done,
    /// A loss or parameter became NaN/inf at this step.
    Diverged {
        step: u32,
    },
    /// Stopped early on request (tests simulate an interruption with it).
    Stopped {
        step: u32,
    },
    /// Stopped by a signal (see [`harness_core::stop`]) after this step, which was checkpointed.
    Interrupted {
        step: u32,
        signal: i32,
    },
}

/// Seconds this process's [`Engine::train`] spent on each part of the loop, so that training
/// throughput can leave out what is not training (`summary.json`'s `time`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoopTimes {
    /// Training steps and reading back the logged losses.
    pub train_s: f64,
    /// Evaluations (scores, samples, layer statistics) and keeping their rows.
    pub eval_s: f64,
    /// Writing checkpoints and the logs that go with them.
    pub checkpoint_s: f64,
}

/// The state of one run: networks, optimisers, data and random streams, logs. The public fields
/// are what the run's lifecycle ([`crate::run`]) reads and sets around training.
pub struct Engine {
    pub cfg: RunConfig,
    /// Generator iterations completed.
    pub step: u32,
    pub logs: RunLogs,
    /// Training wall time accumulated before this process (resumed runs).
    pub wall_offset: f64,
    /// MNIST sample-quality scorer (None: scores not computed).
    pub evaluator: Option<Scorer>,
    /// Sees every optimiser step's random inputs and losses (`harness replay`); `None` in
    /// training runs, where it costs one branch per step.
    pub observer: Option<StepObserver>,
    /// Where this process's training loop spent its time.
    pub times: LoopTimes,
    /// Polled once per step: when set, the loop checkpoints the step it finished and returns
    /// [`Outcome::Interrupted`]. Evaluations poll it too, between their batches and parts: one set
    /// during an evaluation abandons it and the loop stops at its last checkpoint (see
    /// [`Engine::train`]).
    pub stop: StopFlag,
    device: Device,
    g: Generator,
    c: Critic,
    g_opt: Optim,
    c_opt: Optim,
    sampler: Sampler,
    /// Noise for z and for the penalty's interpolation coefficients.
    noise_rng: ChaCha8Rng,
    last_critic: Option<CriticStats>,
    last_gen: Option<Tensor<1>>,
    dim: usize,
}

/// Which network an optimiser step updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepNet {
    Critic,
    Generator,
}

/// One optimiser step as [`Engine::observer`] sees it: what the step drew and what it computed,
/// still on the device.
pub struct StepEvent<'a> {
    /// The generator iteration (0-based) the step belongs to.
    pub iter: u32,
    pub net: StepNet,
    /// The step's noise (the whole batch).
    pub z: &'a Tensor<2>,
    /// Critic steps: the real batch and, with a penalty, the interpolation coefficients `[b, 1]`.
    pub real: Option<&'a Tensor<2>>,
    pub eps: Option<&'a Tensor<2>>,
    /// Critic steps: the critic loss without the penalty; generator steps: the generator loss.
    pub loss: &'a Tensor<1>,
    /// Critic steps with a penalty: the penalty term (lambda included).
    pub penalty: Option<&'a Tensor<1>>,
}

/// Called once per optimiser step, after the update (see [`StepEvent`]).
pub type StepObserver = Box<dyn FnMut(StepEvent<'_>) + Send>;

impl Engine {
    /// A fresh run. `mnist` is required for MNIST configs.
    pub fn new(
        cfg: &RunConfig,
        device: &Device,
        mnist: Option<std::sync::Arc<crate::data::mnist::Mnist>>,
    ) -> Self {
        let device = device.clone().autodiff();
        let mut init_rng = rng_for(cfg.seed, streams::INIT);
        let (g, c) = nets::build(cfg, &mut init_rng, &device);
        let g_opt = Optim::new(cfg.g_optim.clone(), &g, &device);
        let c_opt = Optim::new(cfg.c_optim.clone(), &c, &device);
        Self {
            dim: nets::data_dim(cfg),
            cfg: cfg.clone(),
            device,
            g,
            c,
            g_opt,
            c_opt,
            sampler: Sampler::new(cfg, mnist),
            noise_rng: rng_for(cfg.seed, streams::NOISE),
            step: 0,
            logs: RunLogs::default(),
            wall_offset: 0.0,
            evaluator: None,
            observer: None,
            times: LoopTimes::default(),
            stop: StopFlag::default(),
            last_critic: None,
            last_gen: None,
        }
    }

    fn noise(&mut self, n: usize) -> Tensor<2> {
        normal_rows(
            &mut self.noise_rng,
            n,
            self.cfg.z_dim as usize,
            &self.device,
        )
    }

    /// One critic update. `z` lets the seed schedule reuse the generator step's noise.
    ///
    /// Random inputs are drawn for the whole batch in a fixed order (z by the caller, then the
    /// real batch, then the penalty's coefficients), so sharding never changes what is drawn.
    fn critic_step(&mut self, z: Tensor<2>) {
        // The batch's size: `batch_size`, or smaller for an epoch's last batch (`epochs`).
        let b = z.dims()[0];
        if self.cfg.clip_when == Some(ClipWhen::BeforeStep) {
            self.c = clamp_params(self.c.clone(), self.cfg.clip.unwrap_or_default());
        }
        self.c.power_iteration();
        let real = self.sampler.next_batch(b);
        let real = self.to_tensor(real, self.dim);
        let eps = self.cfg.penalty.draws_coefficients().then(|| {
            let eps: Vec<f32> = (0..b).map(|_| self.noise_rng.random::<f32>()).collect();
            self.to_tensor(eps, 1)
        });
        let shards = Shards::of(b, !self.c.couples_batch());
        let (cfg, g, c) = (&self.cfg, &self.g, &self.c);
        let (grads, stats) = shards.run(|s| {
            let rows = |t: &Tensor<2>| t.clone().narrow(0, s.start, s.len);
            critic_shard(cfg, g, c, s, rows(&real), rows(&z), eps.as_ref().map(rows))
        });
        let clamp = match self.cfg.clip_when {
            Some(ClipWhen::AfterStep) => self.cfg.clip,
            _ => None,
        };
        self.c_opt.apply(&mut self.c, grads, clamp);
        if let Some(observe) = self.observer.as_mut() {
            observe(StepEvent {
                iter: self.step,
                net: StepNet::Critic,
                z: &z,
                real: Some(&real),
                eps: eps.as_ref(),
                loss: &stats.loss,
                penalty: stats.penalty.as_ref(),
            });
        }
        self.last_critic = Some(stats);
    }

    fn generator_step(&mut self, z: Tensor<2>) {
        self.c.power_iteration();
        let c = self.c.clone().no_grad().normalized();
        let shards = Shards::of(z.dims()[0], !self.c.couples_batch());
        let (cfg, g) = (&self.cfg, &self.g);
        let (grads, loss) =
            shards.run(|s| generator_shard(cfg, g, &c, s, z.clone().narrow(0, s.start, s.len)));
        self.g_opt.apply(&mut self.g, grads, None);
        if let Some(observe) = self.observer.as_mut() {
            observe(StepEvent {
                iter: self.step,
                net: StepNet::Generator,
                z: &z,
                real: None,
                eps: None,
                loss: &loss,
                penalty: None,
            });
        }
        self.last_gen = Some(loss);
    }

    /// Critic updates in this generator iteration (the official WGAN code's warm-up gives the
    /// critic 100 steps for the first 25 generator iterations and every 500th).
    fn critic_iters(&self) -> u32 {
        if self.cfg.warmup && (self.step < 25 || self.step.is_multiple_of(500)) {
            100
        } else {
            self.cfg.n_critic
        }
    }

    /// One generator iteration.
    pub fn train_step(&mut self) {
        let b = self.cfg.batch_size as usize;
        match self.cfg.schedule {
            Schedule::SeedBatchIndex => {
                // The seed script: a critic step on every batch; on batches i % n_critic == 0
                // the generator steps too, on that batch's noise. With `epochs` the batch
                // index restarts each epoch, whose last batch may be partial and whose last
                // generator iteration may have fewer than n_critic batches.
                let batches = match self.cfg.epochs {
                    Some(_) => self
                        .sampler
                        .batches_left(b)
                        .map_or(self.cfg.n_critic, |left| {
                            (left as u32).min(self.cfg.n_critic)
                        }),
                    None => self.critic_iters(),
                };
                let z = self.noise(self.sampler.next_len(b));
                self.critic_step(z.clone());
                self.generator_step(z);
                for _ in 1..batches {
                    let z = self.noise(self.sampler.next_len(b));
                    self.critic_step(z);
                }
            }
            Schedule::Fresh => {
                let gen_first = self.cfg.order == Order::GeneratorFirst;
                if gen_first && self.step > 0 {
                    let z = self.noise(b);
                    self.generator_step(z);
                }
                for _ in 0..self.critic_iters() {
                    let z = self.noise(b);
                    self.critic_step(z);
                }
                if !gen_first {
                    let z = self.noise(b);
                    self.generator_step(z);
                }
            }
        }
        self.step += 1;
    }

    /// The generator iteration the run ends at: `gen_iters`, or with `epochs` the generator
    /// steps of that many epochs of the training set the sampler holds (for MNIST the
    /// `gen_iters` that `epochs` resolved to).
    pub fn end(&self) -> u32 {
        match (self.cfg.epochs, self.sampler.epoch_len()) {
            (Some(epochs), Some(images)) => {
                let per_epoch = SeedEpoch::of(images, self.cfg.batch_size, self.cfg.n_critic);
                epochs * per_epoch.gen_steps
            }
            _ => self.cfg.gen_iters,
        }
    }

    /// Read the latest losses (one device sync) into a metrics row.
    fn log_row(&self, wall_s: f64) -> Option<MetricsRow> {
        let st = self.last_critic.as_ref()?;
        let scalar = |t: &Tensor<1>| t.clone().into_scalar::<f64>();
        let critic_loss = scalar(&st.loss);
        Some(MetricsRow {
            step: self.step,
            wall_s,
            critic_loss,
            gen_loss: self.last_gen.as_ref().map(scalar),
            estimate: scalar(&st.estimate),
            estimate_kind: self.cfg.objective.estimate_kind().as_str().into(),
            penalty: st.penalty.as_ref().map(scalar),
            grad_norm: st.grad_norm.as_ref().map(scalar),
            val_critic_loss: None,
            lr_g: self.cfg.g_optim.lr,
            lr_c: self.cfg.c_optim.lr,
        })
    }

    /// Train until `cfg.gen_iters` (or `stop_at`), logging, evaluating and checkpointing into
    /// `dir` at the configured cadences. `on_step` sees (step, latest row) for progress display.
    ///
    /// A stop requested between steps checkpoints the step just finished. One requested during
    /// an evaluation abandons it and writes nothing: that step's logs (its metrics row holds the
    /// evaluation's validation loss, its checkpoint the evaluation's rows) cannot be complete
    /// without it, and a checkpoint of the step before would need the networks as they were
    /// before the step. So the run is [`Outcome::Interrupted`] at its last checkpoint, where a
    /// killed run would resume, and the resume trains the steps since again and redoes the
    /// evaluation, to the bytes of an uninterrupted run.
    pub fn train(
        &mut self,
        dir: &Path,
        stop_at: Option<u32>,
        mut on_step: impl FnMut(u32, Option<&MetricsRow>),
    ) -> Result<Outcome> {
        let start = Instant::now();
        let (eval_before, checkpoint_before) = (self.times.eval_s, self.times.checkpoint_s);
        let outcome = self.train_loop(dir, stop_at, start, &mut on_step);
        // Whatever the loop did not spend on evaluations and checkpoints went to training.
        let elapsed = start.elapsed().as_secs_f64();
        let other =
            (self.times.eval_s - eval_before) + (self.times.checkpoint_s - checkpoint_before);
        self.times.train_s += (elapsed - other).max(0.0);
        outcome
    }

    fn train_loop(
        &mut self,
        dir: &Path,
        stop_at: Option<u32>,
        start: Instant,
        on_step: &mut impl FnMut(u32, Option<&MetricsRow>),
    ) -> Result<Outcome> {
        let end = self.end();
        let wall = |s: &Self| s.wall_offset + start.elapsed().as_secs_f64();
        // The step the files on disk stand at (what a resume would restart from).
        let mut saved = self.step;
        while self.step < end {
            if stop_at.is_some_and(|s| self.step >= s) {
                return Ok(Outcome::Stopped { step: self.step });
            }
            if let Some(signal) = self.stop.signal() {
                // A checkpoint between the cadence's: the logs are rewritten with it, and the
                // random streams and sampler are saved where they stand, so a resume from it
                // continues exactly as the uninterrupted run.
                if self.step > saved {
                    let wall_s = wall(self);
                    self.timed_checkpoint(|e| e.checkpoint(dir, wall_s))?;
                }
                return Ok(Outcome::Interrupted {
                    step: self.step,
                    signal,
                });
            }
            self.train_step();
            let step = self.step;
            let is_last = step == end;
            let log_now = step.is_multiple_of(self.cfg.log_every) || is_last;
            let eval_now = step.is_multiple_of(self.cfg.eval_every) || is_last;
            if !(log_now || eval_now) {
                on_step(step, None);
            } else if let Some(end) = self.observe(dir, eval_now, wall(self), on_step)? {
                if let Outcome::Interrupted { signal, .. } = end {
                    // The evaluation was abandoned: the files stand at the last checkpoint.
                    return Ok(Outcome::Interrupted {
                        step: saved,
                        signal,
                    });
                }
                self.timed_checkpoint(|e| e.logs.write(dir).map(drop))?;
                return Ok(end);
            }
            if step.is_multiple_of(self.cfg.checkpoint_every) || is_last {
                let wall_s = wall(self);
                self.timed_checkpoint(|e| e.checkpoint(dir, wall_s))?;
                saved = step;
            }
        }
        Ok(Outcome::Done)
    }

    /// Run `f` (a checkpoint or a log write) and count its time as checkpoint time.
    fn timed_checkpoint(&mut self, f: impl FnOnce(&Self) -> Result<()>) -> Result<()> {
        let t = Instant::now();
        let r = f(self);
        self.times.checkpoint_s += t.elapsed().as_secs_f64();
        r
    }

    /// A logging (and, with `eval_now`, evaluation) step: record the metrics row and what the
    /// evaluation measured. Returns the divergence when a loss or parameter is not finite, and
    /// [`Outcome::Interrupted`] (having recorded nothing) when a stop abandoned the evaluation.
    fn observe(
        &mut self,
        dir: &Path,
        eval_now: bool,
        wall_s: f64,
        on_step: &mut impl FnMut(u32, Option<&MetricsRow>),
    ) -> Result<Option<Outcome>> {
        let mut row = self.log_row(wall_s);
        let finite = row.as_ref().is_none_or(|r| {
            r.critic_loss.is_finite()
                && r.gen_loss.is_none_or(f64::is_finite)
                && r.penalty.is_none_or(f64::is_finite)
        });
        if eval_now && finite {
            let t = Instant::now();
            let held_out = self.sampler.held_out(self.cfg.batch_size as usize);
            let subject = Subject {
                poll: Poll::on(&self.stop),
                ..self.subject()
            };
            let ev = match subject.evaluate(&held_out, self.step, wall_s) {
                Ok(ev) => ev,
                Err(e) => {
                    self.times.eval_s += t.elapsed().as_secs_f64();
                    let Some(&Stopped(signal)) = e.downcast_ref::<Stopped>() else {
                        return Err(e);
                    };
                    let step = self.step;
                    return Ok(Some(Outcome::Interrupted { step, signal }));
                }
            };
            if let Some(r) = row.as_mut() {
                r.val_critic_loss = Some(ev.val_critic_loss);
            }
            self.record(dir, ev)?;
            self.times.eval_s += t.elapsed().as_secs_f64();
        }
        if let Some(r) = row.clone() {
            self.logs.metrics.push(r);
        }
        on_step(self.step, row.as_ref());
        let diverged = !finite || (eval_now && !measure::params_finite(&self.c, &self.g));
        Ok(diverged.then_some(Outcome::Diverged { step: self.step }))
    }

    /// Keep an evaluation's rows and write its sample file.
    fn record(&mut self, dir: &Path, ev: Evaluation) -> Result<()> {
        let (file, bytes) = ev.samples;
        write_atomic(&dir.join(file), &bytes)?;
        self.logs.layers.extend(ev.layers);
        self.logs.hist.extend(ev.hist);
        self.logs.eval.extend(ev.eval);
        Ok(())
    }

    /// The logs, the critic surface (toy data) and a checkpoint, written together so the files
    /// always match the latest checkpoint.
    pub fn checkpoint(&self, dir: &Path, wall_s: f64) -> Result<()> {
        let logs = self.logs.write(dir)?;
        if self.cfg.is_toy() {
            write_atomic(
                &dir.join(run_files::SURFACE),
                &measure::surface_csv(&self.c, &self.device)?,
            )?;
        }
        let pos = Position {
            step: self.step,
            wall_s,
            noise_rng_pos: self.noise_rng.get_word_pos(),
            sampler: self.sampler.state(),
            logs: Some(logs),
            cpu: None,
        };
        let nets = Nets {
            g: &self.g,
            c: &self.c,
            g_opt: &self.g_opt,
            c_opt: &self.c_opt,
        };
        checkpoint::save(dir, nets, &pos)
    }

    /// Continue from the latest checkpoint in `dir`: networks, optimisers, random streams,
    /// sampler, step, wall time and the logs up to that step. Returns the step resumed from, or
    /// `None` when there is no checkpoint (a fresh start). A checkpoint or log that does not
    /// agree with the others is a [`Refusal`] (see [`RunLogs::read_checked`]).
    pub fn restore(&mut self, dir: &Path) -> Result<Option<u32>> {
        let nets = Nets {
            g: &mut self.g,
            c: &mut self.c,
            g_opt: &mut self.g_opt,
            c_opt: &mut self.c_opt,
        };
        let Some(pos) = checkpoint::restore(dir, nets)? else {
            return Ok(None);
        };
        let state = checkpoint::state_file(dir).unwrap_or_else(|| dir.to_path_buf());
        harness_core::provenance::warn_if_other_cpu(dir, pos.cpu.as_deref());
        // Generator updates are one per step (the generator-first order skips the first).
        let gen_first =
            self.cfg.schedule == Schedule::Fresh && self.cfg.order == Order::GeneratorFirst;
        let g_updates = u64::from(pos.step) - u64::from(gen_first && pos.step > 0);
        if self.g_opt.t != g_updates {
            return Err(Refusal::new(
                &state,
                format!(
                    "says step {} with {} generator updates; a run at step {} has made {g_updates}",
                    pos.step, self.g_opt.t, pos.step
                ),
            )
            .into());
        }
        // Make every trained parameter a tracked leaf again (buffers stay untracked).
        self.g = self.g.clone().train_mode();
        self.c = self.c.clone().train_mode();
        self.noise_rng.set_word_pos(pos.noise_rng_pos);
        self.sampler
            .restore(&pos.sampler)
            .map_err(|m| Refusal::new(&state, format!("sampler: {m}")))?;
        self.step = pos.step;
        self.wall_offset = pos.wall_s;
        let cadence = Cadence {
            log_every: self.cfg.log_every,
            eval_every: self.cfg.eval_every,
            end: self.end(),
        };
        self.logs = RunLogs::read_checked(dir, pos.step, &cadence, pos.logs.as_ref())?;
        self.last_critic = None;
        self.last_gen = None;
        // The surface is rewritten by every checkpoint just before its state is saved, so a run
        // killed between the two left the next checkpoint's surface beside this one: drawn
        // again from the restored critic, it is the one this checkpoint wrote.
        if self.cfg.is_toy() {
            write_atomic(
                &dir.join(run_files::SURFACE),
                &measure::surface_csv(&self.c, &self.device)?,
            )?;
        }
        Ok(Some(pos.step))
    }

    /// Export the networks with PyTorch `nn.Sequential` names (see [`crate::nets::weights::export`]).
    pub fn export(&self, dir: &Path) -> Result<()> {
        crate::nets::weights::export(&self.g, &self.c, dir)
    }

    /// What measurements see of this run.
    fn subject(&self) -> Subject<'_> {
        Subject {
            cfg: &self.cfg,
            g: &self.g,
            c: &self.c,
            device: &self.device,
            scorer: self.evaluator.as_ref(),
            poll: Poll::NEVER,
        }
    }

    /// Every sample-quality score of the current generator (what `eval.csv` holds).
    pub fn quality_scores(&self) -> Vec<(&'static str, f64)> {
        self.subject().quality_scores()
    }

    /// Generate samples from `z` without recording a graph, as host floats.
    pub fn generate(&self, z: Tensor<2>) -> Vec<f32> {
        self.subject().generate(z)
    }

    /// `n` noise vectors from the fixed evaluation stream (the same every evaluation).
    pub fn eval_noise(&self, n: usize) -> Tensor<2> {
        self.subject().eval_noise(n)
    }

    /// Host floats to a `[n, cols]` tensor on the engine's device.
    pub fn to_tensor(&self, data: Vec<f32>, cols: usize) -> Tensor<2> {
        to_tensor(&data, cols, &self.device)
    }

    pub fn generator(&self) -> &Generator {
        &self.g
    }

    pub fn critic(&self) -> &Critic {
        &self.c
    }

    /// Critic updates applied so far (warm-up steps included).
    pub fn critic_updates(&self) -> u64 {
        self.c_opt.t
    }

    /// Generator updates applied so far.
    pub fn generator_updates(&self) -> u64 {
        self.g_opt.t
    }
}

/// One shard's critic loss (weighted by its share of the batch) and gradients.
fn critic_shard(
    cfg: &RunConfig,
    g: &Generator,
    c: &Critic,
    s: &Shard,
    real: Tensor<2>,
    z: Tensor<2>,
    eps: Option<Tensor<2>>,
) -> (ParamGrads, CriticStats) {
    let c = s.own_graph(c);
    // What scores: `W / sigma` under spectral normalisation (gradients reach `c`'s weights).
    let scorer = c.normalized();
    // The generator's weights are constants here.
    let fake = g.sample(z);
    // Real and fake batches are scored in separate passes, as PyTorch code does: under the
    // Wasserstein losses some parameter gradients are exactly zero (the output bias's is
    // E[1] - E[1], and so is a last hidden unit's bias when it is active on as many real as
    // fake samples), and only separate sums over the real and the fake rows cancel exactly.
    // One pass over [real; fake] left rounding noise there, which RMSprop and Adam turn into
    // learning-rate-sized steps (the PyTorch oracle found it: docs/replay-format.md). A
    // batch-norm critic must see each batch alone anyway.
    let (c_real, c_fake) = (scorer.forward(real.clone()), scorer.forward(fake.clone()));
    let terms = cfg.objective.critic_terms(c_real, c_fake);
    let base = s.weigh(terms.loss);
    let weight = cfg.penalty_weight.unwrap_or_default();
    let input_grad = |x| scorer.input_grad(x);
    let (total, penalty, grad_norm) =
        match cfg
            .penalty
            .term(weight, input_grad, &real, &fake, eps.as_ref())
        {
            Some(p) => {
                let pen = s.weigh(p.value);
                (
                    base.clone() + pen.clone(),
                    Some(pen.detach()),
                    Some(s.weigh(p.grad_norm)),
                )
            }
            None => (base.clone(), None, None),
        };
    let grads = total.backward();
    let stats = CriticStats {
        loss: base.detach(),
        estimate: s.weigh(terms.estimate),
        penalty,
        grad_norm,
    };
    (ParamGrads::from_grads(&c, &grads), stats)
}

/// One shard's generator loss (weighted by its share of the batch) and gradients.
fn generator_shard(
    cfg: &RunConfig,
    g: &Generator,
    c: &Critic,
    s: &Shard,
    z: Tensor<2>,
) -> (ParamGrads, Tensor<1>) {
    let g = s.own_graph(g);
    let l = s.weigh(cfg.objective.generator_loss(c.forward(g.forward(z))));
    let grads = l.backward();
    (ParamGrads::from_grads(&g, &grads), l.detach())
}

/// Shard results add up to the whole batch's: the losses are pre-weighted by each shard's share.
impl std::ops::Add for CriticStats {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let add = |a: Option<Tensor<1>>, b: Option<Tensor<1>>| a.zip(b).map(|(a, b)| a + b);
        Self {
            loss: self.loss + o.loss,
            estimate: self.estimate + o.estimate,
            penalty: add(self.penalty, o.penalty),
            grad_norm: add(self.grad_norm, o.grad_norm),
        }
    }
}

/// Helpers for modules after loading.
trait TrainMode: Module + Sized {
    /// Every parameter that requires a gradient as a fresh leaf; buffers (spectral
    /// normalisation's `u` and `v`) stay constants.
    fn train_mode(self) -> Self {
        struct Track;
        impl burn::module::ModuleMapper for Track {
            fn map_float<const D: usize>(
                &mut self,
                p: burn::module::Param<Tensor<D>>,
            ) -> burn::module::Param<Tensor<D>> {
                let (id, t, m) = p.consume();
                let t = if t.is_require_grad() {
                    t.detach().require_grad()
                } else {
                    t.detach()
                };
                burn::module::Param::from_mapped_value(id, t, m)
            }
        }
        self.map(&mut Track)
    }
}

impl<M: Module> TrainMode for M {}

#[cfg(test)]
mod tests;
