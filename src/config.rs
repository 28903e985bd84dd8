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
        /// Non-saturating GAN: G minimises -log D(G(z)) (the seed script's L(G)).
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
    /// Weight initialisation; absent means the family's default ([`RunConfig::init_scheme`]),
    /// so configs without the key, or with it set to that default, keep their hash.
    pub init: Option<InitScheme>,
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
        loss: Some(Loss::WganClip),
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
        loss: Some(Loss::WganGp),
        gp_lambda: Some(lambda),
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
/// [`crate::model::build`] builds, so the model code restates no default.
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

/// The sizes and cadences of a resolved config (see [`RunSpec::cadence`]).
struct Cadence {
    batch_size: u32,
    gen_iters: u32,
    n_critic: u32,
    log_every: u32,
    eval_every: u32,
    checkpoint_every: u32,
    eval_samples: u32,
}

/// How the critic is kept Lipschitz and how the steps interleave (see [`RunSpec::procedure`]).
struct Procedure {
    clip_when: Option<ClipWhen>,
    warmup: bool,
    order: Order,
    schedule: Schedule,
}

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
        let spec = match self.profile {
            Some(p) => self.clone().overlay(&p.settings()),
            None => self.clone(),
        };
        let (loss, model, dataset) = spec.family()?;
        spec.check_applicable(loss, model)?;
        let (clip, gp_lambda) = spec.constraint(loss)?;
        let cadence = spec.cadence(loss, dataset)?;
        let shape = spec.shape(model)?;
        let g_optim = resolve_optim(loss, Net::G, spec.optim_spec(Net::G))?;
        let c_optim = resolve_optim(loss, Net::C, spec.optim_spec(Net::C))?;
        let procedure = spec.procedure(loss)?;
        let critic_norm = spec.critic_norm(loss)?;
        Ok(RunConfig {
            loss,
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
            n_critic: cadence.n_critic,
            clip,
            clip_when: procedure.clip_when,
            gp_lambda,
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

    /// Loss, model and dataset, with the model defaulting to the dataset's family.
    fn family(&self) -> Result<(Loss, Model, Dataset), KeyError> {
        let loss = self.loss.unwrap_or(Loss::WganGp);
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
            _ => Ok((loss, model, dataset)),
        }
    }

    /// Options that only make sense for some losses/models are errors elsewhere, not ignored.
    fn check_applicable(&self, loss: Loss, model: Model) -> Result<(), KeyError> {
        let applicable: [(&'static str, bool, bool, &str); 9] = [
            (
                "critic_norm",
                self.critic_norm.is_some(),
                model == Model::Dcgan,
                "model \"dcgan\"",
            ),
            (
                "clip",
                self.clip.is_some(),
                loss == Loss::WganClip,
                "loss \"wgan-clip\"",
            ),
            (
                "clip_when",
                self.clip_when.is_some(),
                loss == Loss::WganClip,
                "loss \"wgan-clip\"",
            ),
            (
                "gp_lambda",
                self.gp_lambda.is_some(),
                loss.has_penalty(),
                "losses \"wgan-gp\" and \"wgan-lp\"",
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
                format!("{key} only applies to {what}, not to loss \"{loss}\" / model \"{model}\""),
            )),
            None => Ok(()),
        }
    }

    /// The clip value (wgan-clip) and penalty weight (wgan-gp, wgan-lp).
    fn constraint(&self, loss: Loss) -> Result<(Option<f64>, Option<f64>), KeyError> {
        let clip = match self.clip {
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
        let gp_lambda = match self.gp_lambda {
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
        Ok((clip, gp_lambda))
    }

    /// Batch size, run length and the logging, evaluation and checkpoint cadences.
    fn cadence(&self, loss: Loss, dataset: Dataset) -> Result<Cadence, KeyError> {
        let toy = dataset.is_toy();
        let batch_size = positive("batch_size", self.batch_size, if toy { 256 } else { 64 })?;
        let gen_iters = positive("gen_iters", self.gen_iters, 2000)? as i64;
        let default_n_critic = if loss.is_wasserstein() { 5 } else { 1 };
        Ok(Cadence {
            batch_size,
            gen_iters: gen_iters as u32,
            n_critic: positive("n_critic", self.n_critic, default_n_critic)?,
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
    fn procedure(&self, loss: Loss) -> Result<Procedure, KeyError> {
        if self.warmup == Some(true) && loss != Loss::WganClip {
            return Err(KeyError::new(
                "warmup",
                format!(
                    "warmup (100 critic steps early on, official WGAN code) only applies to loss \"wgan-clip\", not \"{loss}\""
                ),
            ));
        }
        Ok(Procedure {
            clip_when: (loss == Loss::WganClip)
                .then(|| self.clip_when.unwrap_or(ClipWhen::AfterStep)),
            warmup: self.warmup.unwrap_or(false),
            order: self.order.unwrap_or(Order::CriticFirst),
            schedule: self.schedule.unwrap_or(Schedule::Fresh),
        })
    }

    /// The dcgan critic's normalisation; `none` resolves to absent (so configs without the key
    /// keep their hash).
    fn critic_norm(&self, loss: Loss) -> Result<Option<CriticNorm>, KeyError> {
        let critic_norm = self.critic_norm.filter(|n| *n != CriticNorm::None);
        if critic_norm == Some(CriticNorm::BatchNorm) && loss.has_penalty() {
            return Err(KeyError::new(
                "critic_norm",
                format!(
                    "critic_norm \"batchnorm\" cannot be used with loss \"{loss}\": the gradient penalty is taken per sample, and batch norm makes each sample's score depend on the rest of the batch (WGAN-GP paper, section 4); use critic_norm = \"none\""
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

/// Default optimiser per loss, as the source papers used them.
fn resolve_optim(loss: Loss, net: Net, o: OptimSpec) -> Result<OptimConfig, KeyError> {
    let kind = o.kind.unwrap_or(match loss {
        Loss::WganClip => OptimKind::Rmsprop,
        _ => OptimKind::Adam,
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
    let default_lr = match (loss, kind) {
        (Loss::WganClip, OptimKind::Rmsprop) => 5e-5,
        (Loss::Gan | Loss::GanNs, OptimKind::Adam) => 2e-4,
        (_, OptimKind::Adam) => 1e-4,
        (_, OptimKind::Rmsprop) => 5e-5,
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
            let (b1, b2) = match loss {
                Loss::Gan | Loss::GanNs => (0.5, 0.999),
                _ => (0.0, 0.9),
            };
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
                "depth only applies to model \"toy-mlp\", not to loss \"wgan-gp\" / model \"mlp\"",
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
                "clip only applies to loss \"wgan-clip\"",
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
                "warmup = true\n",
                "warmup",
                "warmup (100 critic steps early on, official WGAN code) only applies to loss \"wgan-clip\", not \"wgan-gp\"",
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
