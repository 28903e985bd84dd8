//! GAN objectives: what the critic and the generator minimise, the distance estimate logged
//! with them, and the settings their source papers trained them with. Adding an objective is
//! one variant of [`Objective`], its arms in the functions below, and its arms in the losses of
//! the engine (`harness_engine::losses::objective`, where the compiler points); the training
//! engine asks those functions for losses and never matches on the variant.
//!
//! All losses take raw critic outputs (logits for the GAN objectives), shape `[batch, 1]`, and
//! both networks *minimise* what is returned:
//! - `gan` (Goodfellow et al. 2014, eq. 1): critic `-E[log D(x)] - E[log(1 - D(G(z)))]` with
//!   `D = sigmoid(logit)`, computed as `E[softplus(-l_real)] + E[softplus(l_fake)]` so it never
//!   takes the log of a saturated sigmoid; generator `E[log(1 - D(G(z)))] = -E[softplus(l_fake)]`.
//! - `gan-ns` (the same paper, section 3: "train G to maximize log D(G(z))"): the same critic;
//!   generator `-E[log D(G(z))] = E[softplus(-l_fake)]`.
//! - `wgan` (Arjovsky et al. 2017, Algorithm 1): critic `E[C(G(z))] - E[C(x)]`, generator
//!   `-E[C(G(z))]`.
//! - `hinge` (Lim & Ye 2017; Miyato et al. 2018, section 4, as `loss_hinge_dis`/`loss_hinge_gen`
//!   in their code, pfnet-research/sngan_projection `updater.py`): critic
//!   `E[relu(1 - C(x))] + E[relu(1 + C(G(z)))]`, generator `-E[C(G(z))]`.
//!
//! Estimates: for `wgan` and `hinge` the critic gap `E[C(x)] - E[C(G(z))]`, the Wasserstein
//! estimate of WGAN Fig. 3 (for `wgan` it equals minus the critic loss; for `hinge` it does not,
//! so it is computed from the scores); for `gan` and `gan-ns` the JS estimate `log 2 - L_D / 2`
//! (WGAN paper Fig. 4: with an optimal discriminator `-L_D / 2 + log 2 = JSD`).

use crate::config::named_enum::named_enum;

named_enum!(
    /// What the critic and the generator minimise (see the module docs).
    Objective {
        /// Minimax GAN: D maximises log D(x) + log(1 - D(G(z))), G minimises log(1 - D(G(z))).
        Gan = "gan",
        /// Non-saturating GAN: G minimises -log D(G(z)) (the seed text's L(G)).
        GanNs = "gan-ns",
        /// Wasserstein GAN: the critic estimates W(P_r, P_g) (Arjovsky et al. 2017).
        Wgan = "wgan",
        /// Hinge loss (Lim & Ye 2017), SN-GAN's objective (Miyato et al. 2018).
        Hinge = "hinge",
    }
);

/// The optimiser an objective's source trained with: the defaults of `g_optim`/`c_optim`,
/// `g_lr`/`c_lr` and the Adam betas (a penalty may override them, see
/// [`crate::penalty::Penalty::optim_defaults`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimDefaults {
    /// RMSprop rather than Adam when the optimiser is not set.
    pub rmsprop: bool,
    pub rmsprop_lr: f64,
    pub adam_lr: f64,
    /// Adam's (beta1, beta2).
    pub adam_betas: (f64, f64),
}

impl Objective {
    /// Which distance the estimate column estimates.
    pub fn estimate_kind(self) -> Estimate {
        match self {
            Objective::Gan | Objective::GanNs => Estimate::Js,
            Objective::Wgan | Objective::Hinge => Estimate::Wasserstein,
        }
    }

    /// Critic steps per generator step: 1 for the GANs (DCGAN, Radford et al. 2016), 5 for WGAN
    /// (WGAN and WGAN-GP, Algorithm 1) and hinge (SN-GAN's `n_dis`, sngan_projection
    /// `configs/sn_cifar10_unconditional.yml`).
    pub fn n_critic(self) -> i64 {
        match self {
            Objective::Gan | Objective::GanNs => 1,
            Objective::Wgan | Objective::Hinge => 5,
        }
    }

    /// The optimiser of the objective's source; `clipped`: the critic's weights are clipped.
    ///
    /// - gan, gan-ns: DCGAN's Adam 2e-4, beta1 0.5 (beta2 PyTorch's 0.999).
    /// - wgan with clipping: RMSprop 5e-5 (WGAN, Algorithm 1: momentum-based optimisers were
    ///   unstable with clipping); otherwise WGAN-GP's Adam 1e-4 (0, 0.9) (Algorithm 1).
    /// - hinge: SN-GAN's Adam 2e-4 (0, 0.9) (sngan_projection's hinge-loss CIFAR-10 config).
    ///
    /// RMSprop, where chosen, defaults to 5e-5 for every objective.
    pub fn optim_defaults(self, clipped: bool) -> OptimDefaults {
        let adam = |lr: f64, betas: (f64, f64)| OptimDefaults {
            rmsprop: false,
            rmsprop_lr: 5e-5,
            adam_lr: lr,
            adam_betas: betas,
        };
        match self {
            Objective::Gan | Objective::GanNs => adam(2e-4, (0.5, 0.999)),
            Objective::Wgan => OptimDefaults {
                rmsprop: clipped,
                ..adam(1e-4, (0.0, 0.9))
            },
            Objective::Hinge => adam(2e-4, (0.0, 0.9)),
        }
    }
}

/// The distance an objective's estimate column estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimate {
    /// The critic gap `E[C(x)] - E[C(G(z))]`.
    Wasserstein,
    /// `log 2 - L_D / 2`.
    Js,
}

impl Estimate {
    /// The `estimate_kind` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Estimate::Wasserstein => "wasserstein",
            Estimate::Js => "js",
        }
    }
}
