//! Resolution: a [`RunSpec`] becomes a [`RunConfig`], every default filled in and every key
//! checked against the objective, constraint, model and dataset it was set with.

use super::optim::{Net, resolve_optim};
use super::*;

/// The model-shape keys of a resolved config (see [`RunSpec::shape`]).
struct Shape {
    z_dim: u32,
    dim: Option<u32>,
    depth: Option<u32>,
    g_hidden: Option<Vec<u32>>,
    c_hidden: Option<Vec<u32>>,
    g_output: Option<GOutput>,
}

/// The sizes and cadences of a resolved config (see [`RunSpec::cadence`]).
struct Cadence {
    batch_size: u32,
    gen_iters: u32,
    epochs: Option<u32>,
    n_critic: u32,
    log_every: u32,
    eval_every: u32,
    checkpoint_every: u32,
    eval_samples: u32,
}

/// The objective and how the critic is kept Lipschitz (see [`RunSpec::constraint`]).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Constraint {
    objective: Objective,
    penalty: Penalty,
    penalty_weight: Option<f64>,
    clip: Option<f64>,
    spectral_norm: bool,
}

impl Constraint {
    /// The combination as error messages name it: its shorthand where it has one.
    fn describe(&self) -> String {
        let clip = self.clip.is_some();
        match Loss::of(self.objective, self.penalty, clip, self.spectral_norm) {
            Some(l) => format!("loss \"{l}\""),
            None => format!(
                "objective \"{}\" with penalty \"{}\"",
                self.objective, self.penalty
            ),
        }
    }
}

/// How the steps interleave (see [`RunSpec::procedure`]).
struct Procedure {
    clip_when: Option<ClipWhen>,
    warmup: bool,
    order: Order,
    schedule: Schedule,
}

/// Which spelling a spec used where a setting has two (for error messages).
#[derive(Clone, Copy, Debug, Default)]
struct Spelling {
    /// The penalty weight was written `gp_lambda`.
    gp_lambda: bool,
}

/// What error messages call weight clipping.
const CLIPPING: &str = "weight clipping (clip = c, or loss = \"wgan-clip\")";

/// `v` (or `default`) as a positive `u32`.
fn positive(key: &'static str, v: Option<i64>, default: i64) -> Result<u32, KeyError> {
    let v = v.unwrap_or(default);
    if v <= 0 || v > u32::MAX as i64 {
        Err(KeyError::new(
            key,
            format!(
                "{key} must be a positive integer, got {v} (valid: 1..={})",
                u32::MAX
            ),
        ))
    } else {
        Ok(v as u32)
    }
}

impl RunSpec {
    /// Apply defaults and check that every key applies. Errors name the offending key.
    pub fn resolve(&self) -> Result<RunConfig, KeyError> {
        let (spec, spelling) = self.expand()?;
        let spec = match spec.profile {
            Some(p) => spec.overlay(&p.settings()),
            None => spec,
        };
        let (model, dataset) = spec.family()?;
        spec.check_applicable(model)?;
        let constraint = spec.constraint(spelling)?;
        spec.check_epochs(dataset)?;
        let cadence = spec.cadence(constraint.objective, dataset)?;
        let shape = spec.shape(model)?;
        let clipped = constraint.clip.is_some();
        let defaults =
            (constraint.penalty).optim_defaults(constraint.objective.optim_defaults(clipped));
        let g_optim = resolve_optim(defaults, Net::G, spec.optim_spec(Net::G))?;
        let c_optim = resolve_optim(defaults, Net::C, spec.optim_spec(Net::C))?;
        let procedure = spec.procedure(&constraint)?;
        let critic_norm = spec.critic_norm(&constraint)?;
        Ok(RunConfig {
            objective: constraint.objective,
            penalty: constraint.penalty,
            penalty_weight: constraint.penalty_weight,
            spectral_norm: constraint.spectral_norm,
            model,
            dataset,
            z_dim: shape.z_dim,
            dim: shape.dim,
            depth: shape.depth,
            g_hidden: shape.g_hidden,
            c_hidden: shape.c_hidden,
            g_output: shape.g_output,
            critic_norm,
            init: spec.init.filter(|&i| i != model.default_init()),
            batch_size: cadence.batch_size,
            gen_iters: cadence.gen_iters,
            epochs: cadence.epochs,
            n_critic: cadence.n_critic,
            clip: constraint.clip,
            clip_when: procedure.clip_when,
            warmup: procedure.warmup,
            order: procedure.order,
            schedule: procedure.schedule,
            g_optim,
            c_optim,
            seed: spec.seed.unwrap_or(0),
            log_every: cadence.log_every,
            eval_every: cadence.eval_every,
            checkpoint_every: cadence.checkpoint_every,
            eval_samples: cadence.eval_samples,
            profile: spec.profile,
            backend: spec.backend.unwrap_or(Backend::Flex),
        })
    }

    /// The spec with `loss` replaced by the axes it stands for and `gp_lambda` by
    /// `penalty_weight`, so that a profile's settings (written with the axes) fill in only what
    /// the spec leaves unset.
    fn expand(&self) -> Result<(RunSpec, Spelling), KeyError> {
        let mut spec = self.clone();
        if let Some(loss) = spec.loss.take() {
            let (objective, penalty, clip) = loss.axes();
            for (key, set) in [
                ("objective", spec.objective.is_some()),
                ("penalty", spec.penalty.is_some()),
            ] {
                if set {
                    return Err(KeyError::new(
                        key,
                        format!(
                            "{key} cannot be combined with loss = \"{loss}\", a shorthand for objective \"{objective}\" with penalty \"{penalty}\"{}; set objective and penalty instead of loss",
                            if clip { " and clipping" } else { "" }
                        ),
                    ));
                }
            }
            spec.objective = Some(objective);
            spec.penalty = Some(penalty);
            if clip {
                spec.clip = spec.clip.or(Some(0.01));
            }
        }
        let spelling = Spelling {
            gp_lambda: spec.gp_lambda.is_some(),
        };
        if let Some(lambda) = spec.gp_lambda.take() {
            if spec.penalty_weight.is_some() {
                return Err(KeyError::new(
                    "gp_lambda",
                    "gp_lambda and penalty_weight are two spellings of one setting (gp_lambda is the penalty weight of \"gp\" and \"lp\"); set one of them",
                ));
            }
            spec.penalty_weight = Some(lambda);
        }
        Ok((spec, spelling))
    }

    /// Model and dataset, with the model defaulting to the dataset's family.
    fn family(&self) -> Result<(Model, Dataset), KeyError> {
        let dataset = self.dataset.unwrap_or(Dataset::EightGaussians);
        let model = self.model.unwrap_or(if dataset.is_toy() {
            Model::ToyMlp
        } else {
            Model::Mlp
        });
        match (model, dataset.is_toy()) {
            (Model::ToyMlp, false) => Err(KeyError::new(
                "model",
                format!(
                    "model \"toy-mlp\" is for 2-D toy data, not dataset \"{dataset}\"; use \"mlp\" or \"dcgan\""
                ),
            )),
            (Model::Mlp | Model::Dcgan, true) => Err(KeyError::new(
                "model",
                format!(
                    "model \"{model}\" needs image data (dataset \"mnist\"); for \"{dataset}\" use \"toy-mlp\""
                ),
            )),
            _ => Ok((model, dataset)),
        }
    }

    /// Options that only make sense for some models, or only with clipping, are errors
    /// elsewhere, not ignored.
    fn check_applicable(&self, model: Model) -> Result<(), KeyError> {
        if self.clip_when.is_some() && self.clip.is_none() {
            return Err(KeyError::new(
                "clip_when",
                format!("clip_when only applies with {CLIPPING}"),
            ));
        }
        let applicable: [(&'static str, bool, bool, &str); 6] = [
            (
                "critic_norm",
                self.critic_norm.is_some(),
                model == Model::Dcgan,
                "model \"dcgan\"",
            ),
            (
                "depth",
                self.depth.is_some(),
                model == Model::ToyMlp,
                "model \"toy-mlp\"",
            ),
            (
                "dim",
                self.dim.is_some(),
                model != Model::Mlp,
                "models \"toy-mlp\" and \"dcgan\" (mlp uses g_hidden / c_hidden)",
            ),
            (
                "g_hidden",
                self.g_hidden.is_some(),
                model == Model::Mlp,
                "model \"mlp\"",
            ),
            (
                "c_hidden",
                self.c_hidden.is_some(),
                model == Model::Mlp,
                "model \"mlp\"",
            ),
            (
                "g_output",
                self.g_output.is_some(),
                model != Model::ToyMlp,
                "image models (toy-mlp has a linear output)",
            ),
        ];
        match applicable
            .iter()
            .find(|(_, set, applies, _)| *set && !applies)
        {
            Some((key, _, _, what)) => Err(KeyError::new(
                key,
                format!("{key} only applies to {what}, not to model \"{model}\""),
            )),
            None => Ok(()),
        }
    }

    /// The objective and the constraint, defaults filled in. Without `loss`, `objective` and
    /// `penalty` the run is WGAN-GP (loss "wgan-gp"); an objective alone has no penalty, a
    /// penalty alone the objective "wgan". The weight defaults to the penalty's (10).
    fn constraint(&self, spelling: Spelling) -> Result<Constraint, KeyError> {
        let objective = self.objective.unwrap_or(Objective::Wgan);
        let penalty = self.penalty.unwrap_or(match self.objective {
            None => Penalty::Gp,
            Some(_) => Penalty::None,
        });
        if spelling.gp_lambda && !penalty.spelled_gp_lambda() {
            return Err(KeyError::new(
                "gp_lambda",
                format!(
                    "gp_lambda only applies to penalties \"gp\" and \"lp\", not to penalty \"{penalty}\" (any penalty's weight is penalty_weight)"
                ),
            ));
        }
        let key = if spelling.gp_lambda {
            "gp_lambda"
        } else {
            "penalty_weight"
        };
        let penalty_weight = match (self.penalty_weight, penalty.default_weight()) {
            (Some(_), None) => {
                let penalties: Vec<String> = Penalty::ALL
                    .iter()
                    .filter(|p| p.default_weight().is_some())
                    .map(|p| format!("\"{p}\""))
                    .collect();
                return Err(KeyError::new(
                    key,
                    format!(
                        "{key} only applies with a penalty (penalty = {}), not with penalty \"{penalty}\"",
                        penalties.join(", ")
                    ),
                ));
            }
            (Some(w), _) if !(w >= 0.0 && w.is_finite()) => {
                return Err(KeyError::new(
                    key,
                    format!("{key} must be a non-negative number, got {w}"),
                ));
            }
            (w, default) => w.or(default),
        };
        let clip = match self.clip {
            Some(c) if !(c > 0.0 && c.is_finite()) => {
                return Err(KeyError::new(
                    "clip",
                    format!("clip must be a positive number, got {c}"),
                ));
            }
            c => c,
        };
        Ok(Constraint {
            objective,
            penalty,
            penalty_weight,
            clip,
            spectral_norm: self.spectral_norm.unwrap_or(false),
        })
    }

    /// Batch size, run length and the logging, evaluation and checkpoint cadences.
    fn cadence(&self, objective: Objective, dataset: Dataset) -> Result<Cadence, KeyError> {
        let toy = dataset.is_toy();
        let batch_size = positive("batch_size", self.batch_size, if toy { 256 } else { 64 })?;
        let default_n_critic = objective.n_critic();
        let n_critic = || positive("n_critic", self.n_critic, default_n_critic);
        let (gen_iters, epochs, n_critic) = match self.epochs {
            None => {
                let gen_iters = positive("gen_iters", self.gen_iters, 2000)?;
                (gen_iters, None, n_critic()?)
            }
            Some(_) => {
                let epochs = positive("epochs", self.epochs, 1)?;
                let n_critic = n_critic()?;
                (
                    self.epoch_gen_iters(epochs, batch_size, n_critic, dataset)?,
                    Some(epochs),
                    n_critic,
                )
            }
        };
        let gen_iters = gen_iters as i64;
        Ok(Cadence {
            batch_size,
            gen_iters: gen_iters as u32,
            epochs,
            n_critic,
            log_every: positive("log_every", self.log_every, 10)?,
            eval_every: positive("eval_every", self.eval_every, (gen_iters / 10).max(1))?,
            checkpoint_every: positive(
                "checkpoint_every",
                self.checkpoint_every,
                (gen_iters / 4).clamp(1, 1000),
            )?,
            eval_samples: positive(
                "eval_samples",
                self.eval_samples,
                if toy { 2500 } else { 10_000 },
            )?,
        })
    }

    /// The generator iterations of `epochs` seed-script epochs of MNIST; a `gen_iters` set
    /// beside it must equal them (as in a written `config.toml`).
    fn epoch_gen_iters(
        &self,
        epochs: u32,
        batch_size: u32,
        n_critic: u32,
        dataset: Dataset,
    ) -> Result<u32, KeyError> {
        let images = dataset.spec().train_len.unwrap_or(MNIST_TRAIN_IMAGES);
        let per_epoch = SeedEpoch::of(images, batch_size, n_critic);
        let derived = per_epoch.gen_steps as u64 * epochs as u64;
        let Ok(derived) = u32::try_from(derived) else {
            return Err(KeyError::new(
                "epochs",
                format!(
                    "epochs = {epochs} is {derived} generator iterations, more than a run can count ({})",
                    u32::MAX
                ),
            ));
        };
        match self.gen_iters {
            Some(g) if g != derived as i64 => Err(KeyError::new(
                "gen_iters",
                format!(
                    "gen_iters = {g} disagrees with epochs = {epochs}: {epochs} epochs of {images} images at batch {batch_size} are {derived} generator iterations ({} batches and {} generator steps per epoch); leave gen_iters unset",
                    per_epoch.batches, per_epoch.gen_steps,
                ),
            )),
            _ => Ok(derived),
        }
    }

    /// `epochs` gives the seed script's epochs, so it needs that schedule, MNIST (the toy sets
    /// have no epochs) and no warm-up (the script has none).
    fn check_epochs(&self, dataset: Dataset) -> Result<(), KeyError> {
        if self.epochs.is_none() {
            return Ok(());
        }
        let schedule = self.schedule.unwrap_or(Schedule::Fresh);
        let problem = if schedule != Schedule::SeedBatchIndex {
            format!(
                "epochs only applies to schedule \"seed-batch-index\" (the seed script's DataLoader epochs), not \"{schedule}\"; with \"{schedule}\" set gen_iters"
            )
        } else if dataset.spec().train_len.is_none() {
            let with_epochs: Vec<String> = Dataset::ALL
                .iter()
                .filter(|d| d.spec().train_len.is_some())
                .map(|d| format!("\"{d}\""))
                .collect();
            format!(
                "epochs only applies to data sets with a training set ({}): \"{dataset}\" is sampled afresh and has no epochs; set gen_iters",
                with_epochs.join(", ")
            )
        } else if self.warmup == Some(true) {
            "epochs cannot be combined with warmup = true: the seed script's epochs have no warm-up"
                .into()
        } else {
            return Ok(());
        };
        Err(KeyError::new("epochs", problem))
    }

    /// The network keys of `model`, defaults filled in (the other families' keys are absent).
    fn shape(&self, model: Model) -> Result<Shape, KeyError> {
        let nonzero = |key: &'static str, v: Option<u32>| match v {
            Some(0) => Err(KeyError::new(key, format!("{key} must be positive, got 0"))),
            v => Ok(v),
        };
        let z_dim = nonzero("z_dim", self.z_dim)?.unwrap_or(match model {
            Model::Mlp => 100,
            Model::Dcgan => 128,
            Model::ToyMlp => 2,
        });
        let dim = nonzero("dim", self.dim)?;
        let depth = nonzero("depth", self.depth)?;
        let hidden = |key: &'static str, h: &Option<Vec<u32>>, default: &[u32]| {
            let h = h.clone().unwrap_or(default.to_vec());
            if h.is_empty() || h.contains(&0) {
                return Err(KeyError::new(
                    key,
                    format!("{key} must be a non-empty list of positive widths, got {h:?}"),
                ));
            }
            Ok(Some(h))
        };
        Ok(match model {
            Model::Mlp => Shape {
                z_dim,
                dim: None,
                depth: None,
                g_hidden: hidden("g_hidden", &self.g_hidden, &[256, 512, 1024])?,
                c_hidden: hidden("c_hidden", &self.c_hidden, &[512, 256])?,
                g_output: Some(self.g_output.unwrap_or(GOutput::Tanh)),
            },
            Model::ToyMlp => Shape {
                z_dim,
                dim: Some(dim.unwrap_or(512)),
                depth: Some(depth.unwrap_or(3)),
                g_hidden: None,
                c_hidden: None,
                g_output: None,
            },
            // gan_mnist.py ends in a sigmoid and feeds [0, 1] data.
            Model::Dcgan => Shape {
                z_dim,
                dim: Some(dim.unwrap_or(64)),
                depth: None,
                g_hidden: None,
                c_hidden: None,
                g_output: Some(self.g_output.unwrap_or(GOutput::Sigmoid)),
            },
        })
    }

    /// Clamp placement, warm-up, update order and schedule.
    fn procedure(&self, constraint: &Constraint) -> Result<Procedure, KeyError> {
        if self.warmup == Some(true) && constraint.clip.is_none() {
            return Err(KeyError::new(
                "warmup",
                format!(
                    "warmup (100 critic steps early on, official WGAN code) only applies with {CLIPPING}, not to {}",
                    constraint.describe()
                ),
            ));
        }
        Ok(Procedure {
            clip_when: constraint
                .clip
                .map(|_| self.clip_when.unwrap_or(ClipWhen::AfterStep)),
            warmup: self.warmup.unwrap_or(false),
            order: self.order.unwrap_or(Order::CriticFirst),
            schedule: self.schedule.unwrap_or(Schedule::Fresh),
        })
    }

    /// The dcgan critic's normalisation; `none` resolves to absent (so configs without the key
    /// keep their hash).
    fn critic_norm(&self, constraint: &Constraint) -> Result<Option<CriticNorm>, KeyError> {
        let critic_norm = self.critic_norm.filter(|n| *n != CriticNorm::None);
        if critic_norm == Some(CriticNorm::BatchNorm) && constraint.penalty.points().is_some() {
            return Err(KeyError::new(
                "critic_norm",
                format!(
                    "critic_norm \"batchnorm\" cannot be used with {}: the gradient penalty is taken per sample, and batch norm makes each sample's score depend on the rest of the batch (WGAN-GP paper, section 4); use critic_norm = \"none\"",
                    constraint.describe()
                ),
            ));
        }
        Ok(critic_norm)
    }
}
