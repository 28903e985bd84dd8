//! GAN objectives: one function per [`Loss`] variant, all from raw critic outputs (logits).
//!
//! Sign conventions (both networks *minimise* what is returned):
//! - `gan`, `gan-ns` critic: `-E[log D(x)] - E[log(1 - D(G(z)))]` with `D = sigmoid(logit)`,
//!   computed as `E[softplus(-l_real)] + E[softplus(l_fake)]` so it never takes the log of a
//!   saturated sigmoid.
//! - `gan` generator (minimax): `E[log(1 - D(G(z)))] = -E[softplus(l_fake)]`.
//! - `gan-ns` generator: `-E[log D(G(z))] = E[softplus(-l_fake)]`.
//! - WGAN critic: `E[C(G(z))] - E[C(x)]`; generator: `-E[C(G(z))]`.
//!
//! Distance estimates logged with them: Wasserstein `E[C(x)] - E[C(G(z))]` (= -critic loss),
//! and for GANs the JS-style estimate `log 2 - L_D / 2` (WGAN paper Fig. 4: with an optimal
//! discriminator `-L_D / 2 + log 2 = JSD`).

use crate::config::Loss;
use burn::prelude::*;

/// Numerically stable softplus: `max(x, 0) + log1p(exp(-|x|))`.
pub fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let pos = x.clone().clamp_min(0.0);
    pos + x.abs().neg().exp().log1p()
}

/// Critic loss from scores of a real and a fake batch (shape `[batch, 1]`).
pub fn critic_loss(loss: Loss, real: Tensor<2>, fake: Tensor<2>) -> Tensor<1> {
    match loss {
        Loss::Gan | Loss::GanNs => softplus(real.neg()).mean() + softplus(fake).mean(),
        Loss::WganClip | Loss::WganGp | Loss::WganLp => fake.mean() - real.mean(),
    }
}

/// Generator loss from the critic's scores of a fake batch.
pub fn generator_loss(loss: Loss, fake: Tensor<2>) -> Tensor<1> {
    match loss {
        Loss::Gan => softplus(fake).mean().neg(),
        Loss::GanNs => softplus(fake.neg()).mean(),
        Loss::WganClip | Loss::WganGp | Loss::WganLp => fake.mean().neg(),
    }
}

/// The distance estimate implied by a critic loss value (see module docs).
pub fn estimate(loss: Loss, critic_loss: f64) -> f64 {
    if loss.is_wasserstein() {
        -critic_loss
    } else {
        std::f64::consts::LN_2 - critic_loss / 2.0
    }
}

pub fn estimate_kind(loss: Loss) -> &'static str {
    if loss.is_wasserstein() {
        "wasserstein"
    } else {
        "js"
    }
}

/// Gradient penalty from per-sample input gradients `[batch, dim]`: the two-sided
/// `lambda * E[(||g|| - 1)^2]` (WGAN-GP) or the one-sided `lambda * E[max(0, ||g|| - 1)^2]`
/// (WGAN-LP). Returns the penalty and the per-sample norms (for logging).
///
/// A 1e-12 inside the square root keeps the derivative finite for an all-zero gradient; the
/// official code has none, the difference is below f32 resolution otherwise.
pub fn penalty(loss: Loss, lambda: f64, grad: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let norms = grad
        .square()
        .sum_dim(1)
        .add_scalar(1e-12)
        .sqrt()
        .squeeze_dim::<1>(1);
    let dev = norms.clone().sub_scalar(1.0);
    let dev = match loss {
        Loss::WganLp => dev.clamp_min(0.0),
        _ => dev,
    };
    (dev.square().mean().mul_scalar(lambda), norms)
}
