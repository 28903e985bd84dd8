//! Penalties on the critic's input gradient, added to the critic loss. Adding a penalty is one
//! variant of [`Penalty`], its arms in the functions below, and its arms in the engine's
//! `harness_engine::losses::penalty` (where the compiler points); the training engine asks
//! `PenaltyLoss::term` for the penalty and never matches on the variant.
//!
//! Each penalty is a mean over one batch of per-sample input gradients `g = grad_x C(x)`,
//! taken with the critic's explicit, differentiable input gradient (Burn has no double
//! backward, see [`harness_engine::nets`]):
//! - `gp` (Gulrajani et al. 2017, eq. 3): `lambda E[(||g|| - 1)^2]` at the interpolates
//!   `x_hat = eps x + (1 - eps) G(z)`, `eps ~ U[0, 1]` per sample (Algorithm 1).
//! - `lp` (WGAN-LP, Petzka et al. 2018): the one-sided `lambda E[max(0, ||g|| - 1)^2]` at the
//!   same interpolates.
//! - `r1` (Mescheder et al. 2018, eq. 9): `gamma / 2 E_{x ~ P_r}[||g||^2]` at the real batch.
//!   Their code (LMescheder/GAN_stability, `gan_training/train.py`) adds
//!   `reg_param * E[||g||^2]` without the 1/2, so its `reg_param = 10` is `gamma = 20` here.
//! - `r2` (the same paper's R2, defined beside R1): `gamma / 2 E_{x ~ P_g}[||g||^2]` at the
//!   fake batch.
//!
//! The weight (`penalty_weight`, spelled `gp_lambda` for gp and lp) is lambda or gamma.

use crate::config::named_enum::named_enum;
use crate::objective::OptimDefaults;

named_enum!(
    /// A penalty on the critic's input gradient (see the module docs).
    Penalty {
        None = "none",
        /// WGAN-GP's two-sided penalty at interpolates.
        Gp = "gp",
        /// WGAN-LP's one-sided penalty at interpolates.
        Lp = "lp",
        /// R1: squared gradient norm at real data.
        R1 = "r1",
        /// R2: squared gradient norm at generated data.
        R2 = "r2",
    }
);

/// The samples at which a penalty takes the critic's input gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Points {
    /// `eps x + (1 - eps) G(z)` with one `eps ~ U[0, 1]` per sample.
    Interpolates,
    Real,
    Fake,
}

impl Penalty {
    /// Where the input gradient is taken; `None` for no penalty.
    pub fn points(self) -> Option<Points> {
        match self {
            Penalty::None => None,
            Penalty::Gp | Penalty::Lp => Some(Points::Interpolates),
            Penalty::R1 => Some(Points::Real),
            Penalty::R2 => Some(Points::Fake),
        }
    }

    /// Whether a critic step draws interpolation coefficients for this penalty.
    pub fn draws_coefficients(self) -> bool {
        self.points() == Some(Points::Interpolates)
    }

    /// The default weight: lambda = 10 (WGAN-GP, Algorithm 1; used for WGAN-LP too) and gamma =
    /// 10 (StyleGAN's `D_logistic_simplegp`, which adds `r1_gamma * 0.5 * ||g||^2` with
    /// `r1_gamma = 10`; Mescheder et al.'s code adds `10 ||g||^2`, gamma = 20 in eq. 9's form);
    /// `None` for no penalty.
    pub fn default_weight(self) -> Option<f64> {
        self.points().map(|_| 10.0)
    }

    /// The weight's symbol in labels.
    pub fn weight_symbol(self) -> &'static str {
        match self {
            Penalty::R1 | Penalty::R2 => "γ",
            Penalty::None | Penalty::Gp | Penalty::Lp => "λ",
        }
    }

    /// Whether `gp_lambda` is this penalty's weight's legacy spelling.
    pub fn spelled_gp_lambda(self) -> bool {
        matches!(self, Penalty::Gp | Penalty::Lp)
    }

    /// The optimiser defaults with this penalty, from the objective's `d`: R1 and R2 take
    /// Mescheder et al.'s (GAN_stability `gan_training/config.py`: learning rate 1e-4 for both
    /// networks, Adam with betas (0, 0.99), as their ImageNet config uses; RMSprop where chosen,
    /// their default, also at 1e-4); the interpolate penalties keep the objective's.
    pub fn optim_defaults(self, d: OptimDefaults) -> OptimDefaults {
        match self {
            Penalty::R1 | Penalty::R2 => OptimDefaults {
                rmsprop: d.rmsprop,
                rmsprop_lr: 1e-4,
                adam_lr: 1e-4,
                adam_betas: (0.0, 0.99),
            },
            Penalty::None | Penalty::Gp | Penalty::Lp => d,
        }
    }
}
