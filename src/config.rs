//! Run configuration: the typed, single source of truth for every setting and its default.
//!
//! A grid point is first read as a [`RunSpec`] (every key optional, unknown keys rejected), then
//! [`RunSpec::resolve`] fills in defaults (which may depend on the loss, model and dataset), checks
//! that every option applies to the chosen loss/model/optimiser, and returns a [`RunConfig`] in
//! which nothing is left implicit. The hash is computed from that resolved form.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Bumped whenever the meaning of a resolved config changes, so old hashes never alias new runs.
pub const SCHEMA_VERSION: u32 = 1;

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $var),+ }
        impl $name {
            /// Every accepted spelling, for error messages.
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$var),+];
            pub fn as_str(self) -> &'static str { match self { $(Self::$var => $s),+ } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

named_enum!(
    /// The GAN objective. Each variant is one function in [`crate::loss`].
    Loss {
        /// Minimax GAN: D maximises log D(x) + log(1 - D(G(z))), G minimises log(1 - D(G(z))).
        Gan = "gan",
        /// Non-saturating GAN: G minimises -log D(G(z)) (the seed text's L(G)).
        GanNs = "gan-ns",
        /// WGAN with weight clipping (Arjovsky et al. 2017).
        WganClip = "wgan-clip",
        /// WGAN with gradient penalty (Gulrajani et al. 2017).
        WganGp = "wgan-gp",
        /// WGAN with the one-sided (Lipschitz) penalty max(0, ||g|| - 1)^2.
        WganLp = "wgan-lp",
    }
);

impl Loss {
    pub fn is_wasserstein(self) -> bool {
        matches!(self, Loss::WganClip | Loss::WganGp | Loss::WganLp)
    }
    pub fn has_penalty(self) -> bool {
        matches!(self, Loss::WganGp | Loss::WganLp)
    }
}

named_enum!(
    /// Network family for both generator and critic.
    Model {
        /// The seed document's MLPs (G 100-256-512-1024-784, C 784-512-256-1).
        Mlp = "mlp",
        /// WGAN-GP gan_mnist.py convolutional nets.
        Dcgan = "dcgan",
        /// WGAN-GP gan_toy.py ReLU MLPs for 2-D data.
        ToyMlp = "toy-mlp",
    }
);

named_enum!(
    Dataset {
        Mnist = "mnist",
        EightGaussians = "8gaussians",
        TwentyFiveGaussians = "25gaussians",
        SwissRoll = "swissroll",
    }
);

impl Dataset {
    pub fn is_toy(self) -> bool {
        !matches!(self, Dataset::Mnist)
    }
}

named_enum!(OptimKind { Rmsprop = "rmsprop", Adam = "adam" });

named_enum!(
    /// When weight clipping happens relative to the critic's optimiser step.
    ClipWhen {
        /// Clamp after each update (WGAN paper, Algorithm 1).
        AfterStep = "after_step",
        /// Clamp before computing the loss (official WGAN main.py).
        BeforeStep = "before_step",
    }
);

named_enum!(
    /// Which network is updated first within one generator iteration.
    Order { CriticFirst = "critic-first", GeneratorFirst = "generator-first" }
);

named_enum!(
    /// How critic and generator steps interleave.
    Schedule {
        /// n_critic critic steps on fresh batches, then one generator step (the papers).
        Fresh = "fresh",
        /// The seed script: one critic step per batch, a generator step on batch indices
        /// divisible by n_critic reusing that batch's fake samples.
        SeedBatchIndex = "seed-batch-index",
    }
);

named_enum!(GOutput { Tanh = "tanh", Sigmoid = "sigmoid" });

named_enum!(
    /// Normalisation inside the dcgan critic.
    CriticNorm {
        None = "none",
        /// After conv2 and conv3, batch statistics (DCGAN, the WGAN paper's critic). Refused
        /// with a gradient penalty, which is defined per sample.
        BatchNorm = "batchnorm",
    }
);

named_enum!(
    /// Compute backend. Not hashed: it does not change what is being measured.
    Backend { Flex = "flex", Ndarray = "ndarray", Vulkan = "vulkan", Cuda = "cuda" }
);

named_enum!(
    /// Named presets reproducing a source's settings (see [`Profile::settings`]).
    Profile {
        WganPaper = "wgan-paper",
        WganCode = "wgan-code",
        WgangpPaper = "wgangp-paper",
        WgangpToyCode = "wgangp-toy-code",
        Seed = "seed",
    }
);

/// One network's optimiser, fully resolved. Keys that do not apply to the kind are absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    pub kind: OptimKind,
    pub lr: f64,
    /// RMSprop smoothing constant (PyTorch `alpha`, TensorFlow `decay`).
    pub alpha: Option<f64>,
    pub momentum: Option<f64>,
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    pub eps: f64,
}

/// Everything a grid point may set. All optional: `None` means "use the default".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub profile: Option<Profile>,
    pub loss: Option<Loss>,
    pub model: Option<Model>,
    pub dataset: Option<Dataset>,
    pub z_dim: Option<u32>,
    pub dim: Option<u32>,
    pub depth: Option<u32>,
    pub g_hidden: Option<Vec<u32>>,
    pub c_hidden: Option<Vec<u32>>,
    pub g_output: Option<GOutput>,
    pub critic_norm: Option<CriticNorm>,
    pub batch_size: Option<i64>,
    pub gen_iters: Option<i64>,
    pub n_critic: Option<i64>,
    pub clip: Option<f64>,
    pub clip_when: Option<ClipWhen>,
    pub gp_lambda: Option<f64>,
    pub warmup: Option<bool>,
    pub order: Option<Order>,
    pub schedule: Option<Schedule>,
    pub g_optim: Option<OptimKind>,
    pub g_lr: Option<f64>,
    pub g_alpha: Option<f64>,
    pub g_momentum: Option<f64>,
    pub g_beta1: Option<f64>,
    pub g_beta2: Option<f64>,
    pub g_eps: Option<f64>,
    pub c_optim: Option<OptimKind>,
    pub c_lr: Option<f64>,
    pub c_alpha: Option<f64>,
    pub c_momentum: Option<f64>,
    pub c_beta1: Option<f64>,
    pub c_beta2: Option<f64>,
    pub c_eps: Option<f64>,
    pub seed: Option<u64>,
    pub log_every: Option<i64>,
    pub eval_every: Option<i64>,
    pub checkpoint_every: Option<i64>,
    pub eval_samples: Option<i64>,
    pub backend: Option<Backend>,
}

/// Keys accepted in `[base]` and `[[grid]]`, for "did you mean" suggestions.
pub const KEYS: &[&str] = &[
    "profile",
    "loss",
    "model",
    "dataset",
    "z_dim",
    "dim",
    "depth",
    "g_hidden",
    "c_hidden",
    "g_output",
    "critic_norm",
    "batch_size",
    "gen_iters",
    "n_critic",
    "clip",
    "clip_when",
    "gp_lambda",
    "warmup",
    "order",
    "schedule",
    "g_optim",
    "g_lr",
    "g_alpha",
    "g_momentum",
    "g_beta1",
    "g_beta2",
    "g_eps",
    "c_optim",
    "c_lr",
    "c_alpha",
    "c_momentum",
    "c_beta1",
    "c_beta2",
    "c_eps",
    "seed",
    "log_every",
    "eval_every",
    "checkpoint_every",
    "eval_samples",
    "backend",
];

/// Keys that never change the result and are therefore left out of the hash.
pub const UNHASHED_KEYS: &[&str] = &["backend", "profile"];

/// A fully resolved run configuration. Serialised (flattened, sorted) as `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub loss: Loss,
    pub model: Model,
    pub dataset: Dataset,
    pub z_dim: u32,
    /// Width of toy-mlp hidden layers / base channel count of dcgan (DIM in the WGAN-GP code).
    pub dim: Option<u32>,
    /// Number of hidden layers of toy-mlp.
    pub depth: Option<u32>,
    pub g_hidden: Option<Vec<u32>>,
    pub c_hidden: Option<Vec<u32>>,
    /// Generator output nonlinearity for image data; MNIST is scaled to match it.
    pub g_output: Option<GOutput>,
    /// dcgan critic normalisation; absent means none (so configs without it keep their hash).
    pub critic_norm: Option<CriticNorm>,
    pub batch_size: u32,
    pub gen_iters: u32,
    pub n_critic: u32,
    pub clip: Option<f64>,
    pub clip_when: Option<ClipWhen>,
    pub gp_lambda: Option<f64>,
    pub warmup: bool,
    pub order: Order,
    pub schedule: Schedule,
    pub g_optim: OptimConfig,
    pub c_optim: OptimConfig,
    pub seed: u64,
    pub log_every: u32,
    pub eval_every: u32,
    pub checkpoint_every: u32,
    pub eval_samples: u32,
    /// Informational: which preset supplied defaults. Not hashed.
    pub profile: Option<Profile>,
    /// Not hashed.
    pub backend: Backend,
}

/// A semantic error about one key of a spec; the grid layer adds file/line context.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyError {
    pub key: &'static str,
    pub message: String,
}

impl KeyError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }
}

impl Profile {
    /// The settings a profile fixes, as a partial spec. User keys override them.
    pub fn settings(self) -> RunSpec {
        match self {
            // WGAN paper, Algorithm 1: RMSprop 5e-5, c = 0.01, n_critic 5, m = 64, clamp after step.
            Profile::WganPaper => RunSpec {
                loss: Some(Loss::WganClip),
                clip: Some(0.01),
                clip_when: Some(ClipWhen::AfterStep),
                n_critic: Some(5),
                batch_size: Some(64),
                g_optim: Some(OptimKind::Rmsprop),
                c_optim: Some(OptimKind::Rmsprop),
                g_lr: Some(5e-5),
                c_lr: Some(5e-5),
                warmup: Some(false),
                ..RunSpec::default()
            },
            // Official WGAN main.py: clamp before the critic's loss, 100 critic iterations for the
            // first 25 generator iterations and every 500th.
            Profile::WganCode => RunSpec {
                loss: Some(Loss::WganClip),
                clip: Some(0.01),
                clip_when: Some(ClipWhen::BeforeStep),
                n_critic: Some(5),
                batch_size: Some(64),
                g_optim: Some(OptimKind::Rmsprop),
                c_optim: Some(OptimKind::Rmsprop),
                g_lr: Some(5e-5),
                c_lr: Some(5e-5),
                warmup: Some(true),
                order: Some(Order::CriticFirst),
                ..RunSpec::default()
            },
            // WGAN-GP paper, Algorithm 1: lambda 10, n_critic 5, Adam 1e-4 (0, 0.9).
            Profile::WgangpPaper => RunSpec {
                loss: Some(Loss::WganGp),
                gp_lambda: Some(10.0),
                n_critic: Some(5),
                batch_size: Some(64),
                g_optim: Some(OptimKind::Adam),
                c_optim: Some(OptimKind::Adam),
                g_lr: Some(1e-4),
                c_lr: Some(1e-4),
                g_beta1: Some(0.0),
                c_beta1: Some(0.0),
                g_beta2: Some(0.9),
                c_beta2: Some(0.9),
                ..RunSpec::default()
            },
            // gan_toy.py: lambda 0.1, Adam 1e-4 (0.5, 0.9), batch 256, generator first.
            Profile::WgangpToyCode => RunSpec {
                loss: Some(Loss::WganGp),
                model: Some(Model::ToyMlp),
                gp_lambda: Some(0.1),
                n_critic: Some(5),
                batch_size: Some(256),
                dim: Some(512),
                g_optim: Some(OptimKind::Adam),
                c_optim: Some(OptimKind::Adam),
                g_lr: Some(1e-4),
                c_lr: Some(1e-4),
                g_beta1: Some(0.5),
                c_beta1: Some(0.5),
                g_beta2: Some(0.9),
                c_beta2: Some(0.9),
                order: Some(Order::GeneratorFirst),
                ..RunSpec::default()
            },
            // The seed document's PyTorch script.
            Profile::Seed => RunSpec {
                loss: Some(Loss::WganClip),
                model: Some(Model::Mlp),
                dataset: Some(Dataset::Mnist),
                g_output: Some(GOutput::Tanh),
                clip: Some(0.01),
                clip_when: Some(ClipWhen::AfterStep),
                n_critic: Some(5),
                batch_size: Some(64),
                schedule: Some(Schedule::SeedBatchIndex),
                g_optim: Some(OptimKind::Rmsprop),
                c_optim: Some(OptimKind::Rmsprop),
                g_lr: Some(5e-5),
                c_lr: Some(5e-5),
                g_alpha: Some(0.99),
                c_alpha: Some(0.99),
                g_momentum: Some(0.0),
                c_momentum: Some(0.0),
                g_eps: Some(1e-8),
                c_eps: Some(1e-8),
                ..RunSpec::default()
            },
        }
    }
}

macro_rules! overlay {
    ($dst:ident, $src:ident, $($f:ident),+) => { $( if $dst.$f.is_none() { $dst.$f = $src.$f.clone(); } )+ };
}

impl RunSpec {
    /// Fill unset keys from `under` (used for profile presets).
    fn overlay(mut self, under: &RunSpec) -> RunSpec {
        overlay!(
            self,
            under,
            profile,
            loss,
            model,
            dataset,
            z_dim,
            dim,
            depth,
            g_hidden,
            c_hidden,
            g_output,
            critic_norm,
            batch_size,
            gen_iters,
            n_critic,
            clip,
            clip_when,
            gp_lambda,
            warmup,
            order,
            schedule,
            g_optim,
            g_lr,
            g_alpha,
            g_momentum,
            g_beta1,
            g_beta2,
            g_eps,
            c_optim,
            c_lr,
            c_alpha,
            c_momentum,
            c_beta1,
            c_beta2,
            c_eps,
            seed,
            log_every,
            eval_every,
            checkpoint_every,
            eval_samples,
            backend
        );
        self
    }

    /// Apply defaults and check that every key applies. Errors name the offending key.
    pub fn resolve(&self) -> Result<RunConfig, KeyError> {
        let spec = match self.profile {
            Some(p) => self.clone().overlay(&p.settings()),
            None => self.clone(),
        };
        let loss = spec.loss.unwrap_or(Loss::WganGp);
        let dataset = spec.dataset.unwrap_or(Dataset::EightGaussians);
        let model = spec.model.unwrap_or(if dataset.is_toy() {
            Model::ToyMlp
        } else {
            Model::Mlp
        });
        match (model, dataset.is_toy()) {
            (Model::ToyMlp, false) => {
                return Err(KeyError::new(
                    "model",
                    format!(
                        "model \"toy-mlp\" is for 2-D toy data, not dataset \"{dataset}\"; use \"mlp\" or \"dcgan\""
                    ),
                ));
            }
            (Model::Mlp | Model::Dcgan, true) => {
                return Err(KeyError::new(
                    "model",
                    format!(
                        "model \"{model}\" needs image data (dataset \"mnist\"); for \"{dataset}\" use \"toy-mlp\""
                    ),
                ));
            }
            _ => {}
        }

        let positive = |key: &'static str, v: Option<i64>, default: i64| -> Result<u32, KeyError> {
            let v = v.unwrap_or(default);
            if v <= 0 || v > u32::MAX as i64 {
                Err(KeyError::new(
                    key,
                    format!("{key} must be a positive integer, got {v}"),
                ))
            } else {
                Ok(v as u32)
            }
        };
        let only_for = |key: &'static str, set: bool, ok: bool, what: &str| {
            if set && !ok {
                Err(KeyError::new(
                    key,
                    format!(
                        "{key} only applies to {what}, not to loss \"{loss}\" / model \"{model}\""
                    ),
                ))
            } else {
                Ok(())
            }
        };

        // Options that only make sense for some losses/models are errors elsewhere, not ignored.
        let applicable: [(&'static str, bool, bool, &str); 9] = [
            (
                "critic_norm",
                spec.critic_norm.is_some(),
                model == Model::Dcgan,
                "model \"dcgan\"",
            ),
            (
                "clip",
                spec.clip.is_some(),
                loss == Loss::WganClip,
                "loss \"wgan-clip\"",
            ),
            (
                "clip_when",
                spec.clip_when.is_some(),
                loss == Loss::WganClip,
                "loss \"wgan-clip\"",
            ),
            (
                "gp_lambda",
                spec.gp_lambda.is_some(),
                loss.has_penalty(),
                "losses \"wgan-gp\" and \"wgan-lp\"",
            ),
            (
                "depth",
                spec.depth.is_some(),
                model == Model::ToyMlp,
                "model \"toy-mlp\"",
            ),
            (
                "dim",
                spec.dim.is_some(),
                model != Model::Mlp,
                "models \"toy-mlp\" and \"dcgan\" (mlp uses g_hidden / c_hidden)",
            ),
            (
                "g_hidden",
                spec.g_hidden.is_some(),
                model == Model::Mlp,
                "model \"mlp\"",
            ),
            (
                "c_hidden",
                spec.c_hidden.is_some(),
                model == Model::Mlp,
                "model \"mlp\"",
            ),
            (
                "g_output",
                spec.g_output.is_some(),
                model != Model::ToyMlp,
                "image models (toy-mlp has a linear output)",
            ),
        ];
        for (key, set, applies, what) in applicable {
            only_for(key, set, applies, what)?;
        }

        let clip = match spec.clip {
            Some(c) if !(c > 0.0 && c.is_finite()) => {
                return Err(KeyError::new(
                    "clip",
                    format!("clip must be a positive number, got {c}"),
                ));
            }
            Some(c) => Some(c),
            None if loss == Loss::WganClip => Some(0.01),
            None => None,
        };
        let gp_lambda = match spec.gp_lambda {
            Some(l) if !(l >= 0.0 && l.is_finite()) => {
                return Err(KeyError::new(
                    "gp_lambda",
                    format!("gp_lambda must be a non-negative number, got {l}"),
                ));
            }
            Some(l) => Some(l),
            None if loss.has_penalty() => Some(10.0),
            None => None,
        };

        let batch_size = positive(
            "batch_size",
            spec.batch_size,
            if dataset.is_toy() { 256 } else { 64 },
        )?;
        let gen_iters = positive("gen_iters", spec.gen_iters, 2000)?;
        let default_n_critic = if loss.is_wasserstein() { 5 } else { 1 };
        let n_critic = positive("n_critic", spec.n_critic, default_n_critic)?;
        let log_every = positive("log_every", spec.log_every, 10)?;
        let eval_every = positive(
            "eval_every",
            spec.eval_every,
            (gen_iters as i64 / 10).max(1),
        )?;
        let checkpoint_every = positive(
            "checkpoint_every",
            spec.checkpoint_every,
            (gen_iters as i64 / 4).clamp(1, 1000),
        )?;
        let eval_samples = positive(
            "eval_samples",
            spec.eval_samples,
            if dataset.is_toy() { 2500 } else { 10_000 },
        )?;

        let z_dim = match spec.z_dim {
            Some(0) => return Err(KeyError::new("z_dim", "z_dim must be positive, got 0")),
            Some(z) => z,
            None => match model {
                Model::Mlp => 100,
                Model::Dcgan => 128,
                Model::ToyMlp => 2,
            },
        };
        let dim = match model {
            Model::Mlp => None,
            Model::Dcgan => Some(spec.dim.unwrap_or(64)),
            Model::ToyMlp => Some(spec.dim.unwrap_or(512)),
        };
        if dim == Some(0) {
            return Err(KeyError::new("dim", "dim must be positive, got 0"));
        }
        let depth = match model {
            Model::ToyMlp => Some(spec.depth.unwrap_or(3)),
            _ => None,
        };
        if depth == Some(0) {
            return Err(KeyError::new("depth", "depth must be positive, got 0"));
        }
        let (g_hidden, c_hidden) = match model {
            Model::Mlp => (
                Some(spec.g_hidden.clone().unwrap_or(vec![256, 512, 1024])),
                Some(spec.c_hidden.clone().unwrap_or(vec![512, 256])),
            ),
            _ => (None, None),
        };
        for (key, h) in [("g_hidden", &g_hidden), ("c_hidden", &c_hidden)] {
            if let Some(h) = h
                && (h.is_empty() || h.contains(&0))
            {
                return Err(KeyError::new(
                    key,
                    format!("{key} must be a non-empty list of positive widths, got {h:?}"),
                ));
            }
        }
        let g_output = match model {
            Model::ToyMlp => None,
            Model::Mlp => Some(spec.g_output.unwrap_or(GOutput::Tanh)),
            // gan_mnist.py ends in a sigmoid and feeds [0, 1] data.
            Model::Dcgan => Some(spec.g_output.unwrap_or(GOutput::Sigmoid)),
        };

        let g_optim = resolve_optim(
            loss,
            Net::G,
            spec.g_optim,
            spec.g_lr,
            spec.g_alpha,
            spec.g_momentum,
            spec.g_beta1,
            spec.g_beta2,
            spec.g_eps,
        )?;
        let c_optim = resolve_optim(
            loss,
            Net::C,
            spec.c_optim,
            spec.c_lr,
            spec.c_alpha,
            spec.c_momentum,
            spec.c_beta1,
            spec.c_beta2,
            spec.c_eps,
        )?;

        if spec.warmup == Some(true) && loss != Loss::WganClip {
            return Err(KeyError::new(
                "warmup",
                format!(
                    "warmup (100 critic steps early on, official WGAN code) only applies to loss \"wgan-clip\", not \"{loss}\""
                ),
            ));
        }
        let schedule = spec.schedule.unwrap_or(Schedule::Fresh);
        let critic_norm = spec.critic_norm.filter(|n| *n != CriticNorm::None);
        if critic_norm == Some(CriticNorm::BatchNorm) && loss.has_penalty() {
            return Err(KeyError::new(
                "critic_norm",
                format!(
                    "critic_norm \"batchnorm\" cannot be used with loss \"{loss}\": the gradient penalty is taken per sample, and batch norm makes each sample's score depend on the rest of the batch (WGAN-GP paper, section 4); use critic_norm = \"none\""
                ),
            ));
        }

        Ok(RunConfig {
            loss,
            model,
            dataset,
            z_dim,
            dim,
            depth,
            g_hidden,
            c_hidden,
            g_output,
            critic_norm,
            batch_size,
            gen_iters,
            n_critic,
            clip,
            clip_when: if loss == Loss::WganClip {
                Some(spec.clip_when.unwrap_or(ClipWhen::AfterStep))
            } else {
                None
            },
            gp_lambda,
            warmup: spec.warmup.unwrap_or(false),
            order: spec.order.unwrap_or(Order::CriticFirst),
            schedule,
            g_optim,
            c_optim,
            seed: spec.seed.unwrap_or(0),
            log_every,
            eval_every,
            checkpoint_every,
            eval_samples,
            profile: spec.profile,
            backend: spec.backend.unwrap_or(Backend::Flex),
        })
    }
}

#[derive(Clone, Copy)]
enum Net {
    G,
    C,
}

/// Default optimiser per loss, as the source papers used them.
#[allow(clippy::too_many_arguments)]
fn resolve_optim(
    loss: Loss,
    net: Net,
    kind: Option<OptimKind>,
    lr: Option<f64>,
    alpha: Option<f64>,
    momentum: Option<f64>,
    beta1: Option<f64>,
    beta2: Option<f64>,
    eps: Option<f64>,
) -> Result<OptimConfig, KeyError> {
    let (p, keys): (&str, [&'static str; 5]) = match net {
        Net::G => ("g", ["g_lr", "g_alpha", "g_momentum", "g_beta1", "g_beta2"]),
        Net::C => ("c", ["c_lr", "c_alpha", "c_momentum", "c_beta1", "c_beta2"]),
    };
    let eps_key = match net {
        Net::G => "g_eps",
        Net::C => "c_eps",
    };
    let kind = kind.unwrap_or(match loss {
        Loss::WganClip => OptimKind::Rmsprop,
        _ => OptimKind::Adam,
    });
    let reject = |key: &'static str, set: bool| {
        if set {
            Err(KeyError::new(
                key,
                format!("{key} does not apply to optimiser \"{kind}\" ({p}_optim)"),
            ))
        } else {
            Ok(())
        }
    };
    let check = |key: &'static str, v: f64, lo: f64, hi: f64, hi_open: bool| {
        let ok = v >= lo && (if hi_open { v < hi } else { v <= hi }) && v.is_finite();
        if ok {
            Ok(v)
        } else {
            let bracket = if hi_open { ")" } else { "]" };
            Err(KeyError::new(
                key,
                format!("{key} must be in [{lo}, {hi}{bracket}, got {v}"),
            ))
        }
    };
    let default_lr = match (loss, kind) {
        (Loss::WganClip, OptimKind::Rmsprop) => 5e-5,
        (Loss::Gan | Loss::GanNs, OptimKind::Adam) => 2e-4,
        (_, OptimKind::Adam) => 1e-4,
        (_, OptimKind::Rmsprop) => 5e-5,
    };
    let lr = lr.unwrap_or(default_lr);
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(KeyError::new(
            keys[0],
            format!("{} must be a positive number, got {lr}", keys[0]),
        ));
    }
    Ok(match kind {
        OptimKind::Rmsprop => {
            reject(keys[3], beta1.is_some())?;
            reject(keys[4], beta2.is_some())?;
            // PyTorch/TensorFlow semantics, not Burn's defaults (momentum 0.9, eps 1e-5).
            OptimConfig {
                kind,
                lr,
                alpha: Some(check(keys[1], alpha.unwrap_or(0.99), 0.0, 1.0, true)?),
                momentum: Some(check(keys[2], momentum.unwrap_or(0.0), 0.0, 1.0, true)?),
                beta1: None,
                beta2: None,
                eps: check(eps_key, eps.unwrap_or(1e-8), 0.0, 1.0, true)?,
            }
        }
        OptimKind::Adam => {
            reject(keys[1], alpha.is_some())?;
            reject(keys[2], momentum.is_some())?;
            let (b1, b2) = match loss {
                Loss::Gan | Loss::GanNs => (0.5, 0.999),
                _ => (0.0, 0.9),
            };
            OptimConfig {
                kind,
                lr,
                alpha: None,
                momentum: None,
                beta1: Some(check(keys[3], beta1.unwrap_or(b1), 0.0, 1.0, true)?),
                beta2: Some(check(keys[4], beta2.unwrap_or(b2), 0.0, 1.0, true)?),
                eps: check(eps_key, eps.unwrap_or(1e-8), 0.0, 1.0, true)?,
            }
        }
    })
}

impl RunConfig {
    /// The flat key/value view written to `config.toml` and hashed: optimiser fields become
    /// `g_lr`, `c_beta1`, ...; `None` values are omitted.
    pub fn to_flat(&self) -> toml::Table {
        let mut t = toml::Table::new();
        let value = toml::Value::try_from(self).expect("RunConfig serialises to TOML");
        if let toml::Value::Table(full) = value {
            for (k, v) in full {
                match (k.as_str(), v) {
                    ("g_optim" | "c_optim", toml::Value::Table(o)) => {
                        let p = &k[..1];
                        for (ok, ov) in o {
                            let name = if ok == "kind" {
                                format!("{p}_optim")
                            } else {
                                format!("{p}_{ok}")
                            };
                            t.insert(name, ov);
                        }
                    }
                    (_, v) => {
                        t.insert(k, v);
                    }
                }
            }
        }
        t
    }

    /// Parse a `config.toml` written by [`RunConfig::to_flat`] (e.g. for `harness run --config`).
    pub fn from_flat_str(text: &str) -> Result<RunConfig, String> {
        let spec: RunSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        spec.resolve()
            .map_err(|e| format!("key `{}`: {}", e.key, e.message))
    }

    pub fn is_toy(&self) -> bool {
        self.dataset.is_toy()
    }

    /// A short human label of the loss and its main knob, e.g. `wgan-clip c=0.01`.
    pub fn label(&self) -> String {
        match self.loss {
            Loss::WganClip => format!("{} c={}", self.loss, self.clip.unwrap_or_default()),
            Loss::WganGp | Loss::WganLp => {
                format!("{} λ={}", self.loss, self.gp_lambda.unwrap_or_default())
            }
            _ => self.loss.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_loss() {
        let c = RunSpec {
            loss: Some(Loss::WganClip),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.clip, Some(0.01));
        assert_eq!(c.g_optim.kind, OptimKind::Rmsprop);
        assert_eq!(c.g_optim.momentum, Some(0.0));
        assert_eq!(c.g_optim.eps, 1e-8);
        assert_eq!(c.gp_lambda, None);
        let gp = RunSpec::default().resolve().unwrap();
        assert_eq!(gp.loss, Loss::WganGp);
        assert_eq!(gp.gp_lambda, Some(10.0));
        assert_eq!(gp.g_optim.beta2, Some(0.9));
    }

    #[test]
    fn options_that_do_not_apply_are_rejected() {
        let e = RunSpec {
            loss: Some(Loss::WganGp),
            clip: Some(0.01),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert_eq!(e.key, "clip");
        let e = RunSpec {
            loss: Some(Loss::WganClip),
            c_beta1: Some(0.5),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert_eq!(e.key, "c_beta1");
    }

    #[test]
    fn flat_round_trip() {
        let c = Profile::Seed.settings().resolve().unwrap();
        let text = toml::to_string(&c.to_flat()).unwrap();
        assert_eq!(RunConfig::from_flat_str(&text).unwrap(), c);
    }
}
