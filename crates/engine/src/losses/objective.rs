//! The losses of the GAN objectives ([`Objective`], whose module documents each formula and its
//! source) on the critic's raw scores, shape `[batch, 1]`; both networks *minimise* what is
//! returned.

use burn::prelude::*;
use harness_core::objective::{Estimate, Objective};

/// A critic step's loss (tracked) and the distance estimate it implies (detached).
pub struct CriticTerms {
    pub loss: Tensor<1>,
    pub estimate: Tensor<1>,
}

/// Numerically stable softplus: `max(x, 0) + log1p(exp(-|x|))`.
pub fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let pos = x.clone().clamp_min(0.0);
    pos + x.abs().neg().exp().log1p()
}

fn relu(x: Tensor<2>) -> Tensor<2> {
    burn::tensor::activation::relu(x)
}

/// The tensor side of an [`Objective`]: its losses and estimate.
pub trait ObjectiveLoss {
    /// The critic loss of the scores of a real and a fake batch (`[batch, 1]` each), without
    /// any penalty.
    fn critic_loss(self, real: Tensor<2>, fake: Tensor<2>) -> Tensor<1>;
    /// The critic loss and the estimate of one pair of score batches.
    fn critic_terms(self, real: Tensor<2>, fake: Tensor<2>) -> CriticTerms;
    /// The generator loss of the critic's scores of a fake batch.
    fn generator_loss(self, fake: Tensor<2>) -> Tensor<1>;
}

impl ObjectiveLoss for Objective {
    /// The critic loss of the scores of a real and a fake batch (`[batch, 1]` each), without
    /// any penalty.
    fn critic_loss(self, real: Tensor<2>, fake: Tensor<2>) -> Tensor<1> {
        match self {
            Objective::Gan | Objective::GanNs => {
                softplus(real.neg()).mean() + softplus(fake).mean()
            }
            Objective::Wgan => fake.mean() - real.mean(),
            Objective::Hinge => {
                relu(real.neg().add_scalar(1.0)).mean() + relu(fake.add_scalar(1.0)).mean()
            }
        }
    }

    /// The critic loss and the estimate (see the module docs) of one pair of score batches.
    fn critic_terms(self, real: Tensor<2>, fake: Tensor<2>) -> CriticTerms {
        let loss = self.critic_loss(real.clone(), fake.clone());
        let estimate = match self.estimate_kind() {
            Estimate::Wasserstein => real.detach().mean() - fake.detach().mean(),
            Estimate::Js => loss
                .clone()
                .detach()
                .mul_scalar(-0.5)
                .add_scalar(std::f64::consts::LN_2),
        };
        CriticTerms { loss, estimate }
    }

    /// The generator loss of the critic's scores of a fake batch.
    fn generator_loss(self, fake: Tensor<2>) -> Tensor<1> {
        match self {
            Objective::Gan => softplus(fake).mean().neg(),
            Objective::GanNs => softplus(fake.neg()).mean(),
            Objective::Wgan | Objective::Hinge => fake.mean().neg(),
        }
    }
}
