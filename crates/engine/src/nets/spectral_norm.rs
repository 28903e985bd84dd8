//! Spectral normalisation of the critic's weights (Miyato et al. 2018), computed as PyTorch's
//! `torch.nn.utils.parametrizations.spectral_norm` computes it, and the exact largest singular
//! value that `layers.csv` records as `sigma_max`.
//!
//! A layer's weight `W` is used as `W / sigma`, `sigma = u^T W_mat v`, where `W_mat` is `W`
//! reshaped to `[out, in * k * k]` (dim 0, PyTorch's default; PyTorch uses dim 1 for transposed
//! convolutions, which no critic here has) and `u`, `v` are estimates of the first singular
//! vectors. They are buffers: checkpointed, never trained, and `sigma` is differentiated in `W`
//! only (PyTorch computes them under `no_grad` and uses clones). One power iteration is
//! `u <- normalize(W_mat v)`, then `v <- normalize(W_mat^T u)` (in that order, as
//! `_SpectralNorm._power_method`), with `normalize(x) = x / max(||x||, 1e-12)`. At
//! construction `u` and `v` are standard-normal draws, normalised, followed by 15 iterations
//! (as `_SpectralNorm.__init__`).
//!
//! When the iteration runs is the training loop's decision (see [`crate::train`]); in PyTorch
//! it runs on every forward in training mode and never in eval mode.

use burn::module::{Module, Param, ParamId};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `eps` of PyTorch's `F.normalize` inside the power iteration.
pub const EPS: f64 = 1e-12;
/// Power iterations at construction (PyTorch's `_SpectralNorm.__init__`).
pub const INIT_ITERATIONS: usize = 15;

/// One layer's singular-vector estimates (PyTorch's `_u` and `_v` buffers).
#[derive(Module, Debug)]
pub struct SpectralNorm {
    /// Left singular vector estimate, `[out]`.
    pub u: Param<Tensor<1>>,
    /// Right singular vector estimate, `[in * k * k]`.
    pub v: Param<Tensor<1>>,
}

/// `x / max(||x||_2, EPS)`.
fn normalize(x: Tensor<1>) -> Tensor<1> {
    let norm = x.clone().square().sum().sqrt().clamp_min(EPS);
    x / norm
}

/// A tensor as a module buffer: a parameter that requires no gradient.
fn buffer(t: Tensor<1>) -> Param<Tensor<1>> {
    Param::initialized(ParamId::new(), t)
}

/// `t` (computed off autodiff) as an untracked constant on autodiff when `autodiff`.
fn on(t: Tensor<1>, autodiff: bool) -> Tensor<1> {
    if autodiff { t.autodiff() } else { t }
}

/// `w` as the `[rows, cols]` matrix spectral normalisation works on (dim 0 first).
pub fn as_matrix<const D: usize>(w: Tensor<D>) -> Tensor<2> {
    let dims = w.dims();
    let rows = dims[0];
    let cols = dims[1..].iter().product();
    w.reshape([rows, cols])
}

impl SpectralNorm {
    /// Estimates for `w` (reshaped with [`as_matrix`]): `u`, `v` drawn from `rng` and
    /// normalised, then [`INIT_ITERATIONS`] power iterations.
    pub fn new<const D: usize>(w: &Tensor<D>, rng: &mut ChaCha8Rng) -> Self {
        let w = as_matrix(w.clone());
        let [rows, cols] = w.dims();
        let (autodiff, device) = (w.is_autodiff(), w.device().without_autodiff());
        let mut draw = |n: usize| {
            let v: Vec<f32> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
            let t = Tensor::<1>::from_floats(v.as_slice(), &device);
            buffer(on(normalize(t), autodiff))
        };
        let (u, v) = (draw(rows), draw(cols));
        let mut sn = Self { u, v };
        for _ in 0..INIT_ITERATIONS {
            sn.power_iteration(&w);
        }
        sn
    }

    /// One power iteration on `w` (`[rows, cols]`, used as a constant): `u <- normalize(w v)`,
    /// then `v <- normalize(w^T u)`.
    pub fn power_iteration(&mut self, w: &Tensor<2>) {
        let [rows, cols] = w.dims();
        let w = w.clone().without_autodiff();
        let v = self.v.val().without_autodiff();
        let u = normalize(w.clone().matmul(v.reshape([cols, 1])).reshape([rows]));
        let v = normalize(
            w.transpose()
                .matmul(u.clone().reshape([rows, 1]))
                .reshape([cols]),
        );
        self.u = self.u.clone().map(|old| on(u, old.is_autodiff()));
        self.v = self.v.clone().map(|old| on(v, old.is_autodiff()));
    }

    /// `sigma = u^T w v` (`[1, 1]`), differentiable in `w` (`[rows, cols]`), with `u` and `v`
    /// constants.
    pub fn sigma(&self, w: Tensor<2>) -> Tensor<2> {
        let [rows, cols] = w.dims();
        let u = self.u.val().detach().reshape([1, rows]);
        let v = self.v.val().detach().reshape([cols, 1]);
        u.matmul(w.matmul(v))
    }

    /// `w / sigma`, for a weight of any rank (reshaped with [`as_matrix`] for `sigma`).
    pub fn normalize_weight<const D: usize>(&self, w: Tensor<D>) -> Tensor<D> {
        let sigma = self.sigma(as_matrix(w.clone()));
        w / sigma.reshape([1; D])
    }
}

/// The largest singular value of a `[rows, cols]` matrix given row-major, by an SVD
/// (`nalgebra`, singular values only) in f64.
pub fn largest_singular_value(rows: usize, cols: usize, values: &[f64]) -> f64 {
    let m = nalgebra::DMatrix::from_row_slice(rows, cols, values);
    // The SVD of the wide or the tall orientation has the same singular values; nalgebra
    // bidiagonalises the tall one with fewer operations.
    let m = if rows < cols { m.transpose() } else { m };
    m.singular_values().max()
}
