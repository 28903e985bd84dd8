//! The penalties ([`Penalty`], whose module documents each and its source) as tensors: a mean
//! over one batch of per-sample input gradients, taken with the critic's explicit,
//! differentiable input gradient (Burn has no double backward, see [`crate::nets`]).

use burn::prelude::*;
use harness_core::penalty::{Penalty, Points};

/// A penalty's value (tracked, weight included) and the mean `||grad_x C||` at its points
/// (detached, for logging).
pub struct PenaltyTerm {
    pub value: Tensor<1>,
    pub grad_norm: Tensor<1>,
}

/// The tensor side of a [`Penalty`].
pub trait PenaltyLoss {
    /// The penalty with weight `weight` for one batch (see the implementation).
    fn term(
        self,
        weight: f64,
        input_grad: impl Fn(Tensor<2>) -> Tensor<2>,
        real: &Tensor<2>,
        fake: &Tensor<2>,
        eps: Option<&Tensor<2>>,
    ) -> Option<PenaltyTerm>;
    /// The penalty of per-sample input gradients `grad` (`[batch, dim]`).
    fn of_gradients(self, weight: f64, grad: Tensor<2>) -> PenaltyTerm;
}

impl PenaltyLoss for Penalty {
    /// The penalty with weight `weight` for one batch: `real` and `fake` are the critic step's
    /// batches, `eps` the interpolation coefficients (`[batch, 1]`, drawn when
    /// `Penalty::draws_coefficients`), and `input_grad` the critic's per-sample input gradient,
    /// differentiable in its weights. `None` for no penalty.
    fn term(
        self,
        weight: f64,
        input_grad: impl Fn(Tensor<2>) -> Tensor<2>,
        real: &Tensor<2>,
        fake: &Tensor<2>,
        eps: Option<&Tensor<2>>,
    ) -> Option<PenaltyTerm> {
        let x = match self.points()? {
            Points::Interpolates => {
                let eps = eps.expect("interpolation coefficients are drawn for this penalty");
                real.clone() * eps.clone() + fake.clone() * eps.clone().neg().add_scalar(1.0)
            }
            Points::Real => real.clone(),
            Points::Fake => fake.clone(),
        };
        Some(self.of_gradients(weight, input_grad(x)))
    }

    /// The penalty of per-sample input gradients `grad` (`[batch, dim]`).
    ///
    /// The interpolate penalties put 1e-12 inside the square root, which keeps the derivative
    /// finite for an all-zero gradient; the official code has none, and the difference is below
    /// f32 resolution otherwise. R1 and R2 differentiate the squared norm itself.
    fn of_gradients(self, weight: f64, grad: Tensor<2>) -> PenaltyTerm {
        let squares = grad.square().sum_dim(1).squeeze_dim::<1>(1);
        let grad_norm = squares.clone().detach().sqrt().mean();
        let value = match self {
            Penalty::None => squares.mul_scalar(0.0).sum(),
            Penalty::Gp | Penalty::Lp => {
                let dev = squares.add_scalar(1e-12).sqrt().sub_scalar(1.0);
                let dev = match self {
                    Penalty::Lp => dev.clamp_min(0.0),
                    _ => dev,
                };
                dev.square().mean().mul_scalar(weight)
            }
            Penalty::R1 | Penalty::R2 => squares.mean().mul_scalar(weight / 2.0),
        };
        PenaltyTerm { value, grad_norm }
    }
}
