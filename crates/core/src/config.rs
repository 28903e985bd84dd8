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

pub(crate) mod named_enum;

pub use crate::objective::Objective;
use crate::objective::OptimDefaults;
pub use crate::penalty::Penalty;
use named_enum::named_enum;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

impl Profile {
    /// The settings a profile fixes, as a partial spec. User keys override them.
    pub fn settings(self) -> RunSpec {
        match self {
            // WGAN paper, Algorithm 1: RMSprop 5e-5, c = 0.01, n_critic 5, m = 64, clamp after step.
            Profile::WganPaper => RunSpec {
                warmup: Some(false),
                ..wgan_clip(ClipWhen::AfterStep)
            },
            // Official WGAN main.py: clamp before the critic's loss, 100 critic iterations for the
            // first 25 generator iterations and every 500th.
            Profile::WganCode => RunSpec {
                warmup: Some(true),
                order: Some(Order::CriticFirst),
                ..wgan_clip(ClipWhen::BeforeStep)
            },
            // WGAN-GP paper, Algorithm 1: lambda 10, n_critic 5, Adam 1e-4 (0, 0.9).
            Profile::WgangpPaper => wgan_gp(10.0, 0.0, 64),
            // gan_toy.py: lambda 0.1, Adam 1e-4 (0.5, 0.9), batch 256, generator first, tflib's
            // He/Glorot uniform init.
            Profile::WgangpToyCode => RunSpec {
                model: Some(Model::ToyMlp),
                dim: Some(512),
                order: Some(Order::GeneratorFirst),
                init: Some(InitScheme::TfOriginal),
                ..wgan_gp(0.1, 0.5, 256)
            },
            // caogang/wgan-gp gan_toy.py (the most used PyTorch port; lines of commit ae47a18):
            // DIM = 512 (l. 28), LAMBDA = .1 (l. 31), CRITIC_ITERS = 5 (l. 32), BATCH_SIZE = 256
            // (l. 33); both nets Linear(2, DIM) and two Linear(DIM, DIM), each followed by a ReLU,
            // then the output layer (ll. 44-52, 68-76), noise of size 2 (l. 258); weights_init:
            // every Linear weight N(0, 0.02), bias 0 (ll. 85-92, applied ll. 216-217); Adam 1e-4,
            // betas (0.5, 0.9) on both (ll. 225-226); each iteration updates the critic
            // CRITIC_ITERS times, then the generator (ll. 236-300).
            Profile::WgangpToyPort => RunSpec {
                model: Some(Model::ToyMlp),
                dim: Some(512),
                depth: Some(3),
                z_dim: Some(2),
                order: Some(Order::CriticFirst),
                init: Some(InitScheme::Normal002),
                ..wgan_gp(0.1, 0.5, 256)
            },
            // The seed script (docs/seed-script.md): the WGAN paper's settings on its MLPs, with
            // PyTorch's RMSprop defaults spelled out and its batch-index schedule.
            Profile::Seed => RunSpec {
                model: Some(Model::Mlp),
                dataset: Some(Dataset::Mnist),
                g_output: Some(GOutput::Tanh),
                schedule: Some(Schedule::SeedBatchIndex),
                init: Some(InitScheme::TorchDefault),
                g_alpha: Some(0.99),
                c_alpha: Some(0.99),
                g_momentum: Some(0.0),
                c_momentum: Some(0.0),
                g_eps: Some(1e-8),
                c_eps: Some(1e-8),
                ..wgan_clip(ClipWhen::AfterStep)
            },
        }
    }
}

/// The WGAN paper's settings: clipping at c = 0.01, n_critic 5, batch 64, RMSprop 5e-5 on both
/// networks.
fn wgan_clip(clip_when: ClipWhen) -> RunSpec {
    RunSpec {
        objective: Some(Objective::Wgan),
        penalty: Some(Penalty::None),
        clip: Some(0.01),
        clip_when: Some(clip_when),
        n_critic: Some(5),
        batch_size: Some(64),
        g_optim: Some(OptimKind::Rmsprop),
        c_optim: Some(OptimKind::Rmsprop),
        g_lr: Some(5e-5),
        c_lr: Some(5e-5),
        ..RunSpec::default()
    }
}

/// The WGAN-GP code's settings: penalty weight `lambda`, n_critic 5, Adam 1e-4 with
/// betas (`beta1`, 0.9) on both networks.
fn wgan_gp(lambda: f64, beta1: f64, batch_size: i64) -> RunSpec {
    RunSpec {
        objective: Some(Objective::Wgan),
        penalty: Some(Penalty::Gp),
        penalty_weight: Some(lambda),
        n_critic: Some(5),
        batch_size: Some(batch_size),
        g_optim: Some(OptimKind::Adam),
        c_optim: Some(OptimKind::Adam),
        g_lr: Some(1e-4),
        c_lr: Some(1e-4),
        g_beta1: Some(beta1),
        c_beta1: Some(beta1),
        g_beta2: Some(0.9),
        c_beta2: Some(0.9),
        ..RunSpec::default()
    }
}

/// A resolved config's networks, every default filled in ([`RunConfig::shape`]): what
/// [`harness_engine::nets::build`] builds, so the model code restates no default.
#[derive(Clone, Debug, PartialEq)]
pub enum NetShape {
    /// The seed script's MLPs (docs/seed-script.md): generator `z_dim -> g_hidden -> 784`, critic
    /// `784 -> c_hidden -> 1`.
    Mlp {
        z_dim: usize,
        g_hidden: Vec<usize>,
        c_hidden: Vec<usize>,
        g_output: GOutput,
    },
    /// gan_toy.py: `depth` hidden ReLU layers of width `dim` in both networks, 2-D data.
    ToyMlp {
        z_dim: usize,
        dim: usize,
        depth: usize,
    },
    /// gan_mnist.py's convolutional networks with base width `dim`.
    Dcgan {
        z_dim: usize,
        dim: usize,
        g_output: GOutput,
        critic_norm: Option<CriticNorm>,
    },
}

/// The model-shape keys of a resolved config (see [`RunSpec::shape`]).
struct Shape {
    z_dim: u32,
    dim: Option<u32>,
    depth: Option<u32>,
    g_hidden: Option<Vec<u32>>,
    c_hidden: Option<Vec<u32>>,
    g_output: Option<GOutput>,
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
                    self.epoch_gen_iters(epochs, batch_size, n_critic)?,
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
    ) -> Result<u32, KeyError> {
        let per_epoch = SeedEpoch::of(MNIST_TRAIN_IMAGES, batch_size, n_critic);
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
                    "gen_iters = {g} disagrees with epochs = {epochs}: {epochs} epochs of {MNIST_TRAIN_IMAGES} images at batch {batch_size} are {derived} generator iterations ({} batches and {} generator steps per epoch); leave gen_iters unset",
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
        } else if dataset.is_toy() {
            format!(
                "epochs only applies to dataset \"mnist\": \"{dataset}\" is sampled afresh and has no epochs; set gen_iters"
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

    /// One network's optimiser keys.
    fn optim_spec(&self, net: Net) -> OptimSpec {
        match net {
            Net::G => OptimSpec {
                kind: self.g_optim,
                lr: self.g_lr,
                alpha: self.g_alpha,
                momentum: self.g_momentum,
                beta1: self.g_beta1,
                beta2: self.g_beta2,
                eps: self.g_eps,
            },
            Net::C => OptimSpec {
                kind: self.c_optim,
                lr: self.c_lr,
                alpha: self.c_alpha,
                momentum: self.c_momentum,
                beta1: self.c_beta1,
                beta2: self.c_beta2,
                eps: self.c_eps,
            },
        }
    }
}

#[derive(Clone, Copy)]
enum Net {
    G,
    C,
}

impl Net {
    /// The spec key of this network's optimiser setting `name` (`g_lr`, `c_beta1`, ...).
    fn key(self, name: &str) -> &'static str {
        let prefix = match self {
            Net::G => "g_",
            Net::C => "c_",
        };
        KEYS.iter()
            .find(|k| k.strip_prefix(prefix) == Some(name))
            .expect("every optimiser setting is a declared key")
    }
}

/// One network's optimiser keys of a spec (`g_optim`, `g_lr`, ... without the prefix).
struct OptimSpec {
    kind: Option<OptimKind>,
    lr: Option<f64>,
    alpha: Option<f64>,
    momentum: Option<f64>,
    beta1: Option<f64>,
    beta2: Option<f64>,
    eps: Option<f64>,
}

/// `v` if it lies in [0, 1), else an error naming `key`.
fn fraction(key: &'static str, v: f64) -> Result<f64, KeyError> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(KeyError::new(
            key,
            format!("{key} must be in [0, 1), got {v}"),
        ))
    }
}

/// One network's optimiser: the kind, learning rate and betas default to `d`, the objective's
/// and penalty's sources' (see [`Objective::optim_defaults`], [`Penalty::optim_defaults`]).
fn resolve_optim(d: OptimDefaults, net: Net, o: OptimSpec) -> Result<OptimConfig, KeyError> {
    let kind = o.kind.unwrap_or(if d.rmsprop {
        OptimKind::Rmsprop
    } else {
        OptimKind::Adam
    });
    let reject = |name: &str, set: bool| {
        let key = net.key(name);
        let optim = net.key("optim");
        match set {
            true => Err(KeyError::new(
                key,
                format!("{key} does not apply to optimiser \"{kind}\" ({optim})"),
            )),
            false => Ok(()),
        }
    };
    let default_lr = match kind {
        OptimKind::Rmsprop => d.rmsprop_lr,
        OptimKind::Adam => d.adam_lr,
    };
    let lr = o.lr.unwrap_or(default_lr);
    if !(lr > 0.0 && lr.is_finite()) {
        let key = net.key("lr");
        return Err(KeyError::new(
            key,
            format!("{key} must be a positive number, got {lr}"),
        ));
    }
    let setting =
        |name: &str, v: Option<f64>, default: f64| fraction(net.key(name), v.unwrap_or(default));
    Ok(match kind {
        // PyTorch/TensorFlow semantics, not Burn's defaults (momentum 0.9, eps 1e-5).
        OptimKind::Rmsprop => {
            reject("beta1", o.beta1.is_some())?;
            reject("beta2", o.beta2.is_some())?;
            OptimConfig {
                kind,
                lr,
                alpha: Some(setting("alpha", o.alpha, 0.99)?),
                momentum: Some(setting("momentum", o.momentum, 0.0)?),
                beta1: None,
                beta2: None,
                eps: setting("eps", o.eps, 1e-8)?,
            }
        }
        OptimKind::Adam => {
            reject("alpha", o.alpha.is_some())?;
            reject("momentum", o.momentum.is_some())?;
            let (b1, b2) = d.adam_betas;
            OptimConfig {
                kind,
                lr,
                alpha: None,
                momentum: None,
                beta1: Some(setting("beta1", o.beta1, b1)?),
                beta2: Some(setting("beta2", o.beta2, b2)?),
                eps: setting("eps", o.eps, 1e-8)?,
            }
        }
    })
}
/// The keys of the objective-and-constraint axes in the flat form (see [`RunConfig::to_flat`]).
const AXES: [&str; 4] = ["objective", "penalty", "penalty_weight", "spectral_norm"];

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

    /// The flat key/value view written to `config.toml` and hashed: optimiser fields become
    /// `g_lr`, `c_beta1`, ...; `None` values are omitted. A combination that `loss` can spell
    /// is spelled with it (`loss`, and `gp_lambda` for its penalty weight), exactly as before the
    /// axes existed, so its hash is unchanged; every other combination is spelled with the axes
    /// (`objective`, `penalty`, `penalty_weight` when there is a penalty, `spectral_norm`), which
    /// no legacy form contains, so it has a hash of its own.
    pub fn to_flat(&self) -> toml::Table {
        let mut t = self.flat_fields();
        for k in AXES {
            t.remove(k);
        }
        let s = |v: &str| toml::Value::String(v.into());
        match self.legacy_loss() {
            Some(loss) => {
                t.insert("loss".into(), s(loss.as_str()));
                if let Some(w) = self.penalty_weight {
                    t.insert("gp_lambda".into(), toml::Value::Float(w));
                }
            }
            None => {
                t.insert("objective".into(), s(self.objective.as_str()));
                t.insert("penalty".into(), s(self.penalty.as_str()));
                if let Some(w) = self.penalty_weight {
                    t.insert("penalty_weight".into(), toml::Value::Float(w));
                }
                t.insert(
                    "spectral_norm".into(),
                    toml::Value::Boolean(self.spectral_norm),
                );
            }
        }
        t
    }

    /// [`RunConfig::to_flat`] with the axes spelled out whatever the spelling (see
    /// [`legacy_axes`]): what plans and `harness show` display and compare.
    pub fn to_view(&self) -> toml::Table {
        let mut t = self.to_flat();
        let axes = legacy_axes(t.get("loss"), t.get("gp_lambda"));
        t.extend(axes.into_iter().flatten());
        t
    }

    /// Every field, optimiser fields flattened.
    fn flat_fields(&self) -> toml::Table {
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
        match self.model {
            Model::Mlp => NetShape::Mlp {
                z_dim,
                g_hidden: widths(&self.g_hidden),
                c_hidden: widths(&self.c_hidden),
                g_output: self.g_output.expect(RESOLVED),
            },
            Model::ToyMlp => NetShape::ToyMlp {
                z_dim,
                dim: dim(),
                depth: self.depth.expect(RESOLVED) as usize,
            },
            Model::Dcgan => NetShape::Dcgan {
                z_dim,
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

/// The axis keys that a flat config spelled with `loss` stands for: `objective`, `penalty`,
/// `spectral_norm` (false) and, for gp and lp, `penalty_weight` (its `gp_lambda`). `None` for a
/// table without a known `loss` (spelled with the axes already).
pub fn legacy_axes(
    loss: Option<&toml::Value>,
    gp_lambda: Option<&toml::Value>,
) -> Option<Vec<(String, toml::Value)>> {
    let loss = Loss::ALL
        .iter()
        .find(|l| loss.and_then(|v| v.as_str()) == Some(l.as_str()))?;
    let (objective, penalty, _) = loss.axes();
    let s = |v: &str| toml::Value::String(v.into());
    let mut out = vec![
        ("objective".to_string(), s(objective.as_str())),
        ("penalty".to_string(), s(penalty.as_str())),
        ("spectral_norm".to_string(), toml::Value::Boolean(false)),
    ];
    if let Some(w) = gp_lambda {
        out.push(("penalty_weight".to_string(), w.clone()));
    }
    Some(out)
}

/// Flat configs shown together (one report section): when some are spelled with `loss` and
/// others with the axes, the former also get the axis keys ([`legacy_axes`]), so every run is
/// labelled and selected by the same keys. Sets spelled one way only are left as they are.
pub fn harmonize_spellings(configs: &mut [BTreeMap<String, toml::Value>]) {
    let legacy = configs.iter().filter(|c| c.contains_key("loss")).count();
    if legacy == 0 || legacy == configs.len() {
        return;
    }
    for c in configs.iter_mut() {
        if let Some(axes) = legacy_axes(c.get("loss"), c.get("gp_lambda")) {
            c.extend(axes);
        }
    }
}

impl RunConfig {}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> RunConfig {
        toml::from_str::<RunSpec>(text)
            .unwrap()
            .resolve()
            .unwrap_or_else(|e| panic!("{text}: {}: {}", e.key, e.message))
    }

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
        assert_eq!(c.penalty_weight, None);
        let gp = RunSpec::default().resolve().unwrap();
        assert_eq!(gp.legacy_loss(), Some(Loss::WganGp));
        assert_eq!(gp.penalty_weight, Some(10.0));
        assert_eq!(gp.g_optim.beta2, Some(0.9));
    }

    /// Each objective's and penalty's source settings, and the shorthand's axes.
    #[test]
    fn defaults_follow_the_objective_and_the_penalty() {
        let optim = |c: &RunConfig| {
            let o = &c.c_optim;
            (c.n_critic, o.kind, o.lr, o.beta1, o.beta2)
        };
        let adam = OptimKind::Adam;
        let cases = [
            (
                "objective = \"hinge\"",
                (5, adam, 2e-4, Some(0.0), Some(0.9)),
            ),
            (
                "objective = \"gan-ns\"",
                (1, adam, 2e-4, Some(0.5), Some(0.999)),
            ),
            (
                "objective = \"wgan\"",
                (5, adam, 1e-4, Some(0.0), Some(0.9)),
            ),
            (
                "objective = \"gan-ns\"\npenalty = \"r1\"",
                (1, adam, 1e-4, Some(0.0), Some(0.99)),
            ),
            (
                "objective = \"hinge\"\npenalty = \"r2\"",
                (5, adam, 1e-4, Some(0.0), Some(0.99)),
            ),
            (
                "objective = \"wgan\"\nclip = 0.02",
                (5, OptimKind::Rmsprop, 5e-5, None, None),
            ),
            (
                "objective = \"gan\"\nclip = 0.02",
                (1, adam, 2e-4, Some(0.5), Some(0.999)),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(optim(&resolve(text)), want, "{text}");
        }
        let r1 = resolve("objective = \"gan-ns\"\npenalty = \"r1\"");
        assert_eq!(
            (r1.penalty_weight, r1.clip, r1.spectral_norm),
            (Some(10.0), None, false)
        );
        // A penalty alone is WGAN's; an objective alone has no penalty.
        assert_eq!(resolve("penalty = \"r2\"").objective, Objective::Wgan);
        assert_eq!(resolve("objective = \"hinge\"").penalty, Penalty::None);
        for &loss in Loss::ALL {
            let c = resolve(&format!("loss = \"{loss}\""));
            let (objective, penalty, clip) = loss.axes();
            assert_eq!(
                (c.objective, c.penalty, c.clip.is_some()),
                (objective, penalty, clip)
            );
            assert_eq!(c.legacy_loss(), Some(loss));
        }
    }

    /// The axes compose with each other, with profiles and with the shorthand.
    #[test]
    fn axes_compose() {
        let c = resolve("loss = \"wgan-gp\"\nspectral_norm = true\nclip = 0.05");
        assert_eq!((c.objective, c.penalty), (Objective::Wgan, Penalty::Gp));
        assert_eq!(
            (c.clip, c.clip_when, c.spectral_norm),
            (Some(0.05), Some(ClipWhen::AfterStep), true)
        );
        assert_eq!(c.legacy_loss(), None);
        // A profile's settings fill in what the user's shorthand or axes leave unset.
        let c = resolve("profile = \"wgangp-paper\"\nobjective = \"hinge\"");
        assert_eq!(
            (c.objective, c.penalty, c.penalty_weight),
            (Objective::Hinge, Penalty::Gp, Some(10.0))
        );
        let c = resolve("profile = \"wgangp-paper\"\nloss = \"wgan-lp\"\ngp_lambda = 2.0");
        assert_eq!((c.penalty, c.penalty_weight), (Penalty::Lp, Some(2.0)));
        let c = resolve("profile = \"wgangp-paper\"\npenalty_weight = 3.0");
        assert_eq!(c.penalty_weight, Some(3.0));
        let c = resolve(
            "objective = \"gan-ns\"\nclip = 0.1\nwarmup = true\nclip_when = \"before_step\"",
        );
        assert_eq!((c.warmup, c.clip_when), (true, Some(ClipWhen::BeforeStep)));
        assert_eq!(c.label(), "gan-ns + clip c=0.1");
        let c = resolve("objective = \"gan-ns\"\npenalty = \"r1\"\nspectral_norm = true");
        assert_eq!(c.label(), "gan-ns + r1 γ=10 + SN");
        assert_eq!(resolve("loss = \"wgan-gp\"").label(), "wgan-gp λ=10");
    }

    #[test]
    fn flat_round_trip() {
        let c = Profile::Seed.settings().resolve().unwrap();
        let text = toml::to_string(&c.to_flat()).unwrap();
        assert_eq!(RunConfig::from_flat_str(&text).unwrap(), c);
        // With epochs, the written config carries the derived gen_iters, which resolves again.
        let spec = RunSpec {
            epochs: Some(50),
            ..Profile::Seed.settings()
        };
        let c = spec.resolve().unwrap();
        assert_eq!((c.epochs, c.gen_iters), (Some(50), 9_400));
        let text = toml::to_string(&c.to_flat()).unwrap();
        assert!(text.contains("epochs = 50") && text.contains("gen_iters = 9400"));
        assert_eq!(RunConfig::from_flat_str(&text).unwrap(), c);
        for text in [
            "objective = \"hinge\"\npenalty = \"r2\"\nspectral_norm = true\npenalty_weight = 0.5",
            "objective = \"wgan\"\npenalty = \"gp\"\nclip = 0.1",
            "objective = \"gan\"\nspectral_norm = true",
            "loss = \"wgan-lp\"\ngp_lambda = 3.0",
        ] {
            let c = resolve(text);
            let flat = toml::to_string(&c.to_flat()).unwrap();
            assert_eq!(RunConfig::from_flat_str(&flat).unwrap(), c, "{flat}");
        }
    }

    /// The hashed form spells every combination `loss` can spell with `loss` (so hashes made
    /// before the axes existed hold), and every other with the axes, whose keys no legacy form
    /// has.
    #[test]
    fn flat_form_uses_the_shorthand_exactly_where_it_exists() {
        let keys = |c: &RunConfig| {
            let t = c.to_flat();
            [
                "loss",
                "gp_lambda",
                "objective",
                "penalty",
                "penalty_weight",
                "spectral_norm",
            ]
            .iter()
            .filter(|k| t.contains_key(**k))
            .copied()
            .collect::<Vec<_>>()
        };
        let axes = resolve("objective = \"wgan\"\npenalty = \"gp\"\nspectral_norm = false");
        assert_eq!(axes.to_flat(), resolve("loss = \"wgan-gp\"").to_flat());
        assert_eq!(keys(&axes), ["loss", "gp_lambda"]);
        let clip = resolve("objective = \"wgan\"\nclip = 0.01");
        assert_eq!(clip.to_flat(), resolve("loss = \"wgan-clip\"").to_flat());
        assert_eq!(keys(&resolve("objective = \"gan\"")), ["loss"]);
        assert_eq!(
            keys(&resolve("objective = \"wgan\"")),
            ["objective", "penalty", "spectral_norm"]
        );
        assert_eq!(
            keys(&resolve("loss = \"wgan-gp\"\nspectral_norm = true")),
            ["objective", "penalty", "penalty_weight", "spectral_norm"]
        );
        // The display form spells the axes out for both.
        let view = resolve("loss = \"wgan-lp\"\ngp_lambda = 2.0").to_view();
        assert_eq!(view.get("objective").and_then(|v| v.as_str()), Some("wgan"));
        assert_eq!(view.get("penalty").and_then(|v| v.as_str()), Some("lp"));
        assert_eq!(
            view.get("penalty_weight").and_then(|v| v.as_float()),
            Some(2.0)
        );
        assert_eq!(
            view.get("spectral_norm").and_then(|v| v.as_bool()),
            Some(false)
        );
    }

    /// A set of configs spelled both ways gets the axes on every member; one spelled one way is
    /// left alone.
    #[test]
    fn mixed_spellings_are_harmonized() {
        let flat = |text: &str| -> BTreeMap<String, toml::Value> {
            resolve(text).to_flat().into_iter().collect()
        };
        let legacy = vec![flat("loss = \"wgan-gp\""), flat("loss = \"gan\"")];
        let mut same = legacy.clone();
        harmonize_spellings(&mut same);
        assert_eq!(same, legacy);
        let mut mixed = vec![flat("loss = \"wgan-gp\""), flat("objective = \"hinge\"")];
        harmonize_spellings(&mut mixed);
        for c in &mixed {
            assert!(
                AXES.iter()
                    .filter(|k| **k != "penalty_weight")
                    .all(|k| c.contains_key(*k))
            );
        }
        assert_eq!(
            mixed[0].get("penalty_weight"),
            Some(&toml::Value::Float(10.0))
        );
    }

    /// Each resolve check reports its key and says what would be valid; with several bad keys
    /// the first check in resolve order reports.
    #[test]
    fn resolve_errors_name_the_key_and_the_valid_values() {
        let cases = [
            (
                "loss = \"wgan-clip\"\ng_beta2 = 0.9\n",
                "g_beta2",
                "g_beta2 does not apply to optimiser \"rmsprop\" (g_optim)",
            ),
            (
                "c_optim = \"adam\"\nc_momentum = 0.9\n",
                "c_momentum",
                "c_momentum does not apply to optimiser \"adam\" (c_optim)",
            ),
            (
                "g_optim = \"rmsprop\"\ng_alpha = 1.0\n",
                "g_alpha",
                "g_alpha must be in [0, 1), got 1",
            ),
            (
                "c_beta1 = -0.1\n",
                "c_beta1",
                "c_beta1 must be in [0, 1), got -0.1",
            ),
            ("g_eps = 2.0\n", "g_eps", "g_eps must be in [0, 1), got 2"),
            (
                "c_lr = 0.0\n",
                "c_lr",
                "c_lr must be a positive number, got 0",
            ),
            ("z_dim = 0\n", "z_dim", "z_dim must be positive, got 0"),
            ("dim = 0\n", "dim", "dim must be positive, got 0"),
            ("depth = 0\n", "depth", "depth must be positive, got 0"),
            (
                "dataset = \"mnist\"\nc_hidden = []\n",
                "c_hidden",
                "c_hidden must be a non-empty list of positive widths, got []",
            ),
            (
                "dataset = \"mnist\"\ng_hidden = [3, 0]\n",
                "g_hidden",
                "g_hidden must be a non-empty list of positive widths, got [3, 0]",
            ),
            (
                "gp_lambda = -1.0\n",
                "gp_lambda",
                "gp_lambda must be a non-negative number, got -1",
            ),
            (
                "eval_samples = 0\n",
                "eval_samples",
                "eval_samples must be a positive integer, got 0",
            ),
            (
                "depth = 2\ndataset = \"mnist\"\n",
                "depth",
                "depth only applies to model \"toy-mlp\", not to model \"mlp\"",
            ),
            (
                "g_output = \"tanh\"\n",
                "g_output",
                "g_output only applies to image models",
            ),
            // Precedence: applicability before values, values in resolve order.
            (
                "clip = -1.0\nbatch_size = 0\n",
                "clip",
                "clip must be a positive number, got -1",
            ),
            (
                "clip_when = \"before_step\"\nbatch_size = 0\n",
                "clip_when",
                "clip_when only applies with weight clipping (clip = c, or loss = \"wgan-clip\")",
            ),
            (
                "batch_size = 0\ngen_iters = 0\n",
                "batch_size",
                "batch_size must be a positive integer, got 0",
            ),
            (
                "gen_iters = 0\nz_dim = 0\n",
                "gen_iters",
                "gen_iters must be a positive integer",
            ),
            (
                "z_dim = 0\ng_lr = -1.0\n",
                "z_dim",
                "z_dim must be positive",
            ),
            (
                "g_lr = -1.0\nc_lr = -1.0\n",
                "g_lr",
                "g_lr must be a positive number",
            ),
            (
                "c_lr = -1.0\nwarmup = true\n",
                "c_lr",
                "c_lr must be a positive number",
            ),
            (
                "dataset = \"mnist\"\nepochs = 2\n",
                "epochs",
                "epochs only applies to schedule \"seed-batch-index\" (the seed script's DataLoader epochs), not \"fresh\"",
            ),
            (
                "schedule = \"seed-batch-index\"\nepochs = 2\n",
                "epochs",
                "epochs only applies to dataset \"mnist\": \"8gaussians\" is sampled afresh",
            ),
            (
                "profile = \"seed\"\nepochs = 1\nwarmup = true\n",
                "epochs",
                "epochs cannot be combined with warmup = true",
            ),
            (
                "profile = \"seed\"\nepochs = 0\n",
                "epochs",
                "epochs must be a positive integer, got 0",
            ),
            (
                "profile = \"seed\"\nepochs = 2\ngen_iters = 375\n",
                "gen_iters",
                "gen_iters = 375 disagrees with epochs = 2: 2 epochs of 60000 images at batch 64 are 376 generator iterations (938 batches and 188 generator steps per epoch)",
            ),
            (
                "warmup = true\n",
                "warmup",
                "warmup (100 critic steps early on, official WGAN code) only applies with weight clipping (clip = c, or loss = \"wgan-clip\"), not to loss \"wgan-gp\"",
            ),
            (
                "objective = \"hinge\"\nwarmup = true\n",
                "warmup",
                "warmup (100 critic steps early on, official WGAN code) only applies with weight clipping (clip = c, or loss = \"wgan-clip\"), not to objective \"hinge\" with penalty \"none\"",
            ),
            (
                "loss = \"gan\"\nobjective = \"hinge\"\n",
                "objective",
                "objective cannot be combined with loss = \"gan\", a shorthand for objective \"gan\" with penalty \"none\"; set objective and penalty instead of loss",
            ),
            (
                "loss = \"wgan-clip\"\npenalty = \"r1\"\n",
                "penalty",
                "penalty cannot be combined with loss = \"wgan-clip\", a shorthand for objective \"wgan\" with penalty \"none\" and clipping",
            ),
            (
                "gp_lambda = 1.0\npenalty_weight = 1.0\n",
                "gp_lambda",
                "gp_lambda and penalty_weight are two spellings of one setting",
            ),
            (
                "penalty = \"r1\"\ngp_lambda = 1.0\n",
                "gp_lambda",
                "gp_lambda only applies to penalties \"gp\" and \"lp\", not to penalty \"r1\" (any penalty's weight is penalty_weight)",
            ),
            (
                "loss = \"wgan-clip\"\ngp_lambda = 1.0\n",
                "gp_lambda",
                "gp_lambda only applies to penalties \"gp\" and \"lp\", not to penalty \"none\"",
            ),
            (
                "objective = \"gan\"\npenalty_weight = 1.0\n",
                "penalty_weight",
                "penalty_weight only applies with a penalty (penalty = \"gp\", \"lp\", \"r1\", \"r2\"), not with penalty \"none\"",
            ),
            (
                "penalty = \"r2\"\npenalty_weight = -2.0\n",
                "penalty_weight",
                "penalty_weight must be a non-negative number, got -2",
            ),
            (
                "dataset = \"mnist\"\nmodel = \"dcgan\"\ncritic_norm = \"batchnorm\"\nobjective = \"gan-ns\"\npenalty = \"r1\"\n",
                "critic_norm",
                "critic_norm \"batchnorm\" cannot be used with objective \"gan-ns\" with penalty \"r1\": the gradient penalty is taken per sample",
            ),
        ];
        for (text, key, message) in cases {
            let spec: RunSpec = toml::from_str(text).unwrap();
            let e = spec.resolve().unwrap_err();
            assert_eq!(e.key, key, "for {text:?}: {}", e.message);
            assert!(
                e.message.starts_with(message),
                "for {text:?}\n got: {}\nwant: {message}",
                e.message
            );
        }
    }
}
