//! Run configuration: the typed, single source of truth for every setting and its default.
//!
//! A grid point is first read as a [`RunSpec`] (every key optional, unknown keys rejected), then
//! [`RunSpec::resolve`] fills in defaults (which may depend on the objective, constraint, model
//! and dataset), checks that every option applies to the chosen objective/constraint/model/
//! optimiser, and returns a [`RunConfig`] in which nothing is left implicit. The hash is
//! computed from that resolved form.
//!
//! The critic's objective and its Lipschitz constraint are independent axes: `objective`,
//! `penalty` (with `penalty_weight`), `clip` and `spectral_norm`. `loss` is a shorthand for the
//! combinations that existed before the axes ([`Loss::axes`]), and the canonical flat form
//! ([`RunConfig::to_flat`]) spells those combinations with it, so their hashes never moved.

mod flat;
pub(crate) mod named_enum;
mod optim;
mod profiles;
mod resolve;
#[cfg(test)]
mod tests;

pub use flat::{harmonize_spellings, legacy_axes};

pub use crate::data::spec::Dataset;
pub use crate::objective::Objective;
pub use crate::penalty::Penalty;
use named_enum::named_enum;
use serde::{Deserialize, Serialize};

/// Bumped whenever the meaning of a resolved config changes, so old hashes never alias new runs.
pub const SCHEMA_VERSION: u32 = 1;

named_enum!(
    /// Shorthand for an objective and its constraint, the settings that existed before they were
    /// separate axes (see [`Loss::axes`]). Every grid file and `config.toml` written with it
    /// keeps meaning what it meant.
    Loss {
        /// objective "gan", no constraint.
        Gan = "gan",
        /// objective "gan-ns", no constraint.
        GanNs = "gan-ns",
        /// objective "wgan" with weight clipping (Arjovsky et al. 2017), c = 0.01 by default.
        WganClip = "wgan-clip",
        /// objective "wgan" with penalty "gp" (Gulrajani et al. 2017).
        WganGp = "wgan-gp",
        /// objective "wgan" with penalty "lp", the one-sided max(0, ||g|| - 1)^2.
        WganLp = "wgan-lp",
    }
);

impl Loss {
    /// The objective and penalty this shorthand stands for, and whether it clips the critic.
    pub fn axes(self) -> (Objective, Penalty, bool) {
        match self {
            Loss::Gan => (Objective::Gan, Penalty::None, false),
            Loss::GanNs => (Objective::GanNs, Penalty::None, false),
            Loss::WganClip => (Objective::Wgan, Penalty::None, true),
            Loss::WganGp => (Objective::Wgan, Penalty::Gp, false),
            Loss::WganLp => (Objective::Wgan, Penalty::Lp, false),
        }
    }

    /// The shorthand for an objective, penalty, clipping and spectral normalisation, if the
    /// combination has one.
    pub fn of(
        objective: Objective,
        penalty: Penalty,
        clip: bool,
        spectral_norm: bool,
    ) -> Option<Loss> {
        (!spectral_norm)
            .then(|| {
                Loss::ALL
                    .iter()
                    .copied()
                    .find(|l| l.axes() == (objective, penalty, clip))
            })
            .flatten()
    }
}

named_enum!(
    /// Network family for both generator and critic.
    Model {
        /// The seed script's MLPs (G 100-256-512-1024-784, C 784-512-256-1; docs/seed-script.md).
        Mlp = "mlp",
        /// WGAN-GP gan_mnist.py convolutional nets.
        Dcgan = "dcgan",
        /// WGAN-GP gan_toy.py ReLU MLPs for 2-D data.
        ToyMlp = "toy-mlp",
    }
);

impl Model {
    /// The initialisation each family had before `init` existed, its source's own: PyTorch's
    /// defaults for the seed script's MLPs, the TensorFlow originals' rules for the WGAN-GP toy
    /// and MNIST nets.
    pub fn default_init(self) -> InitScheme {
        match self {
            Model::Mlp => InitScheme::TorchDefault,
            Model::ToyMlp | Model::Dcgan => InitScheme::TfOriginal,
        }
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
    /// How both networks' weights are drawn at the start of a run. Each family has a default, its
    /// source's own ([`Model::default_init`]); a config that sets it to that default resolves to
    /// the same (unset) value and keeps its hash.
    InitScheme {
        /// The TensorFlow originals' tflib rules (WGAN-GP `tflib/ops/linear.py`,
        /// `tflib/ops/conv2d.py`, `deconv2d.py`): He uniform `U(+-sqrt(6 / fan_in))` for layers
        /// followed by a ReLU-family activation, Glorot uniform `U(+-sqrt(6 / (fan_in +
        /// fan_out)))` for the others, the convolutions' `he_init` with stride-adjusted fans;
        /// biases 0, batch-norm gamma 1 and beta 0.
        TfOriginal = "tf-original",
        /// What PyTorch's `nn.Linear`, `nn.Conv2d`, `nn.ConvTranspose2d` and `nn.BatchNorm2d`
        /// draw by default (their `reset_parameters`): weight and bias `U(+-1/sqrt(fan_in))`,
        /// `fan_in` = weight dim 1 times the kernel area (for `ConvTranspose2d` dim 1 is the
        /// *output* channels); gamma 1, beta 0.
        TorchDefault = "torch-default",
        /// DCGAN's and the PyTorch ports' `weights_init`: weights `N(0, 0.02)`, biases 0,
        /// batch-norm gamma `N(1, 0.02)`, beta 0.
        Normal002 = "normal-0.02",
    }
);

named_enum!(
    /// Compute backend. Not hashed: it does not change what is being measured.
    Backend { Flex = "flex", Ndarray = "ndarray", Vulkan = "vulkan", Cuda = "cuda" }
);

/// `--backend` and `--backends` take the config's spellings.
#[cfg(feature = "clap")]
impl clap::ValueEnum for Backend {
    fn value_variants<'a>() -> &'a [Self] {
        Backend::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl Backend {
    /// Whether this binary can run on it (GPU backends are cargo features).
    pub fn compiled_in(self) -> bool {
        match self {
            Backend::Flex | Backend::Ndarray => true,
            Backend::Vulkan => cfg!(feature = "vulkan"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// `Ok` if this binary can run on it, else why not and what to do, listing the ones it can.
    pub fn check_compiled_in(self) -> Result<Self, String> {
        if self.compiled_in() {
            return Ok(self);
        }
        let valid: Vec<&str> = Backend::ALL
            .iter()
            .filter(|b| b.compiled_in())
            .map(|b| b.as_str())
            .collect();
        Err(format!(
            "backend \"{self}\" is not compiled into this binary (valid here: {}); rebuild with \
             `cargo build --release --features {self}` (see README: GPU backends)",
            valid.join(", ")
        ))
    }
}

named_enum!(
    /// Named presets reproducing a source's settings (see [`Profile::settings`]).
    Profile {
        WganPaper = "wgan-paper",
        WganCode = "wgan-code",
        WgangpPaper = "wgangp-paper",
        WgangpToyCode = "wgangp-toy-code",
        WgangpToyPort = "wgangp-toy-port",
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

/// Declares every key a grid point may set, once: the [`RunSpec`] struct (every key optional,
/// unknown keys rejected), the [`KEYS`] list that error messages suggest from, and the overlay
/// of a profile's settings under a spec's own.
macro_rules! run_spec {
    ($($key:ident: $ty:ty,)+) => {
        /// Everything a grid point may set. All optional: `None` means "use the default".
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RunSpec {
            $(pub $key: Option<$ty>,)+
        }

        /// Keys accepted in `[base]` and `[[grid]]`, for "did you mean" suggestions.
        pub const KEYS: &[&str] = &[$(stringify!($key)),+];

        impl RunSpec {
            /// Fill unset keys from `under` (used for profile presets).
            fn overlay(mut self, under: &RunSpec) -> RunSpec {
                $(if self.$key.is_none() {
                    self.$key = under.$key.clone();
                })+
                self
            }
        }
    };
}

run_spec! {
    profile: Profile,
    loss: Loss,
    objective: Objective,
    penalty: Penalty,
    penalty_weight: f64,
    spectral_norm: bool,
    model: Model,
    dataset: Dataset,
    z_dim: u32,
    dim: u32,
    depth: u32,
    g_hidden: Vec<u32>,
    c_hidden: Vec<u32>,
    g_output: GOutput,
    critic_norm: CriticNorm,
    init: InitScheme,
    batch_size: i64,
    gen_iters: i64,
    epochs: i64,
    n_critic: i64,
    clip: f64,
    clip_when: ClipWhen,
    gp_lambda: f64,
    warmup: bool,
    order: Order,
    schedule: Schedule,
    g_optim: OptimKind,
    g_lr: f64,
    g_alpha: f64,
    g_momentum: f64,
    g_beta1: f64,
    g_beta2: f64,
    g_eps: f64,
    c_optim: OptimKind,
    c_lr: f64,
    c_alpha: f64,
    c_momentum: f64,
    c_beta1: f64,
    c_beta2: f64,
    c_eps: f64,
    seed: u64,
    log_every: i64,
    eval_every: i64,
    checkpoint_every: i64,
    eval_samples: i64,
    backend: Backend,
}
/// Keys that never change the result and are therefore left out of the hash.
pub const UNHASHED_KEYS: &[&str] = &["backend", "profile"];

/// A fully resolved run configuration. Serialised (flattened, sorted) as `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub objective: Objective,
    pub penalty: Penalty,
    /// The penalty's lambda or gamma; `None` without a penalty.
    pub penalty_weight: Option<f64>,
    /// Spectral normalisation of every critic layer (Miyato et al. 2018).
    pub spectral_norm: bool,
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
    /// Weight initialisation; absent means the family's default ([`RunConfig::init_scheme`]),
    /// so configs without the key, or with it set to that default, keep their hash.
    pub init: Option<InitScheme>,
    pub batch_size: u32,
    /// Generator iterations; with `epochs`, derived from it ([`SeedEpoch`]).
    pub gen_iters: u32,
    /// `seed-batch-index` on MNIST only: passes over the training set, each a fresh permutation
    /// served as the seed script's DataLoader serves it (see [`SeedEpoch`]). Absent: batches
    /// never straddle a permutation, the partial one is dropped, and the batch index counts
    /// across epochs (configs without the key keep their hash).
    pub epochs: Option<u32>,
    pub n_critic: u32,
    /// Weight clipping at +-c; `None`: no clipping.
    pub clip: Option<f64>,
    pub clip_when: Option<ClipWhen>,
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

/// A resolved config's networks, every default filled in ([`RunConfig::shape`]): what
/// [`harness_engine::nets::build`] builds, so the model code restates no default.
#[derive(Clone, Debug, PartialEq)]
pub enum NetShape {
    /// The seed script's MLPs (docs/seed-script.md): generator `z_dim -> g_hidden -> data_dim`,
    /// critic `data_dim -> c_hidden -> 1` (`data_dim` 784 on MNIST).
    Mlp {
        z_dim: usize,
        data_dim: usize,
        g_hidden: Vec<usize>,
        c_hidden: Vec<usize>,
        g_output: GOutput,
    },
    /// gan_toy.py: `depth` hidden ReLU layers of width `dim` in both networks, 2-D data.
    ToyMlp {
        z_dim: usize,
        data_dim: usize,
        dim: usize,
        depth: usize,
    },
    /// gan_mnist.py's convolutional networks with base width `dim`, on 28x28 images of
    /// `channels` channels (1 on MNIST).
    Dcgan {
        z_dim: usize,
        channels: usize,
        dim: usize,
        g_output: GOutput,
        critic_norm: Option<CriticNorm>,
    },
}

/// Training images of MNIST (the `train-*` files).
pub const MNIST_TRAIN_IMAGES: usize = 60_000;

/// One epoch of the seed script (docs/seed-script.md): `for i, (imgs, _) in
/// enumerate(dataloader)` over a shuffled loader that keeps the last partial batch, a critic
/// step on every batch and a generator step when `i % n_critic == 0`, `i` restarting at 0 each
/// epoch. MNIST at batch 64 and `n_critic = 5`: 938 batches (the last of 32 images) and 188
/// generator steps per epoch, so 50 epochs are 46,900 critic and 9,400 generator steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedEpoch {
    /// Batches, and so critic steps, per epoch: `ceil(images / batch)`.
    pub batches: u32,
    /// Generator steps per epoch: batch indices `0, n_critic, 2 n_critic, ...` below `batches`.
    pub gen_steps: u32,
}

impl SeedEpoch {
    pub fn of(images: usize, batch: u32, n_critic: u32) -> Self {
        let batches = images.div_ceil(batch as usize) as u32;
        Self {
            batches,
            gen_steps: batches.div_ceil(n_critic),
        }
    }
}

impl RunConfig {
    /// The shorthand of this config's objective and constraint, if the combination has one.
    pub fn legacy_loss(&self) -> Option<Loss> {
        Loss::of(
            self.objective,
            self.penalty,
            self.clip.is_some(),
            self.spectral_norm,
        )
    }

    pub fn is_toy(&self) -> bool {
        self.dataset.is_toy()
    }

    /// The data set's description: sample shape, source, ceilings.
    pub fn data(&self) -> crate::data::spec::DataSpec {
        self.dataset.spec()
    }

    /// The initialisation the networks are built with: `init`, else the family's default.
    pub fn init_scheme(&self) -> InitScheme {
        self.init.unwrap_or(self.model.default_init())
    }

    /// The networks this config describes. Only [`RunSpec::resolve`] makes a `RunConfig`, and
    /// it sets every key of the chosen model family, so a missing one is a programming error.
    pub fn shape(&self) -> NetShape {
        const RESOLVED: &str = "a resolved config sets every key of its model family";
        let z_dim = self.z_dim as usize;
        let widths = |h: &Option<Vec<u32>>| -> Vec<usize> {
            h.as_ref()
                .expect(RESOLVED)
                .iter()
                .map(|&w| w as usize)
                .collect()
        };
        let dim = || self.dim.expect(RESOLVED) as usize;
        let data = self.data();
        let data_dim = data.dim();
        match self.model {
            Model::Mlp => NetShape::Mlp {
                z_dim,
                data_dim,
                g_hidden: widths(&self.g_hidden),
                c_hidden: widths(&self.c_hidden),
                g_output: self.g_output.expect(RESOLVED),
            },
            Model::ToyMlp => NetShape::ToyMlp {
                z_dim,
                data_dim,
                dim: dim(),
                depth: self.depth.expect(RESOLVED) as usize,
            },
            Model::Dcgan => NetShape::Dcgan {
                z_dim,
                channels: data
                    .channels()
                    .expect("resolve refuses dcgan on point data"),
                dim: dim(),
                g_output: self.g_output.expect(RESOLVED),
                critic_norm: self.critic_norm,
            },
        }
    }

    /// A short human label of the objective, the constraint and its knob: the shorthand where
    /// there is one (`wgan-clip c=0.01`, `wgan-gp λ=10`, `gan-ns`), else the axes joined with
    /// `+` (`gan-ns + r1 γ=10 + SN`, `hinge + clip c=0.01`).
    pub fn label(&self) -> String {
        let weight = || {
            let w = self.penalty_weight.unwrap_or_default();
            format!("{}={w}", self.penalty.weight_symbol())
        };
        match self.legacy_loss() {
            Some(l @ Loss::WganClip) => format!("{l} c={}", self.clip.unwrap_or_default()),
            Some(l @ (Loss::WganGp | Loss::WganLp)) => format!("{l} {}", weight()),
            Some(l) => l.to_string(),
            None => {
                let mut parts = vec![self.objective.to_string()];
                if self.penalty_weight.is_some() {
                    parts.push(format!("{} {}", self.penalty, weight()));
                }
                if let Some(c) = self.clip {
                    parts.push(format!("clip c={c}"));
                }
                if self.spectral_norm {
                    parts.push("SN".into());
                }
                parts.join(" + ")
            }
        }
    }
}
