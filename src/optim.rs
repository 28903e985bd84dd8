//! RMSprop and Adam with PyTorch semantics, written out so every constant is explicit.
//!
//! Burn ships both, but its RmsProp defaults (momentum 0.9, eps 1e-5) and update form differ
//! from what the papers' code ran; writing the update here also lets weight clipping be fused
//! into it and keeps the state a plain module that `burn-store` checkpoints.
//!
//! - RMSprop (PyTorch `torch.optim.RMSprop`, centered = False):
//!   `v = alpha v + (1 - alpha) g^2`; `u = g / (sqrt(v) + eps)`; with momentum `b = mu b + u`,
//!   `p -= lr b`, else `p -= lr u`. (TensorFlow 1's RMSProp puts eps inside the square root and
//!   starts `v` at 1; the WGAN and WGAN-GP papers' PyTorch/TF code differ there, we follow
//!   PyTorch, which the official WGAN code used.)
//! - Adam (PyTorch `torch.optim.Adam`): `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
//!   `p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`.

use crate::config::{OptimConfig, OptimKind};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Gradients;

/// Per-parameter optimiser state, in module visiting order. A module so it can be stored.
#[derive(Module, Debug)]
pub struct OptimState {
    /// RMSprop: square average; Adam: first moment.
    pub first: Vec<Param<Tensor<1>>>,
    /// RMSprop: momentum buffer (if momentum > 0); Adam: second moment.
    pub second: Vec<Param<Tensor<1>>>,
}

/// One network's optimiser.
#[derive(Debug)]
pub struct Optim {
    pub cfg: OptimConfig,
    /// Number of updates applied so far (Adam's bias correction uses it).
    pub t: u64,
    pub state: OptimState,
}

struct Sizes(Vec<usize>);

impl ModuleVisitor for Sizes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.shape().num_elements());
    }
}

impl Optim {
    /// Zero state shaped like `module`'s parameters (created eagerly so a checkpoint can be
    /// loaded into it).
    pub fn new<M: Module>(cfg: OptimConfig, module: &M, device: &Device) -> Self {
        let mut sizes = Sizes(Vec::new());
        module.visit(&mut sizes);
        let zeros = |n: usize| Param::from_tensor(Tensor::<1>::zeros([n], &device.clone().inner()));
        Self {
            cfg,
            t: 0,
            state: OptimState {
                first: sizes.0.iter().map(|&n| zeros(n)).collect(),
                second: sizes.0.iter().map(|&n| zeros(n)).collect(),
            },
        }
    }

    /// Apply one update from `grads`; with `clamp = Some(c)` every parameter is clamped to
    /// `[-c, c]` in the same pass (WGAN weight clipping after the step).
    pub fn step<M: Module>(&mut self, module: M, grads: &Gradients, clamp: Option<f64>) -> M {
        let grads = ParamGrads::from_grads(&module, grads);
        self.apply(module, &grads, clamp)
    }

    /// [`Optim::step`] from gradients already collected per parameter (e.g. summed over the
    /// shards of a batch). Parameters are updated concurrently on the shard pools (each update
    /// is a handful of elementwise passes; one thread would leave the other core idle).
    pub fn apply<M: Module>(&mut self, module: M, grads: &ParamGrads, clamp: Option<f64>) -> M {
        self.t += 1;
        struct Flat(Vec<Tensor<1>>);
        impl ModuleVisitor for Flat {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let n = param.shape().num_elements();
                self.0.push(param.val().inner().reshape([n]));
            }
        }
        let mut flat = Flat(Vec::new());
        module.visit(&mut flat);
        let jobs = flat
            .0
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let g = grads.0.get(i).cloned().flatten()?;
                let state = (self.state.first[i].val(), self.state.second[i].val());
                Some((p.shape().num_elements(), (i, p, g, state)))
            })
            .collect();
        let (cfg, t) = (&self.cfg, self.t);
        let updates = crate::shard::par_map(jobs, |(i, p, g, (first, second))| {
            (i, update(cfg, t, p, g, first, second, clamp))
        });
        let mut new = Assign(Vec::new(), 0);
        for (i, u) in updates {
            self.state.first[i] = Param::from_tensor(u.first);
            if let Some(second) = u.second {
                self.state.second[i] = Param::from_tensor(second);
            }
            new.0.resize(i + 1, None);
            new.0[i] = Some(u.param);
        }
        module.map(&mut new)
    }
}

/// Each parameter's gradient, flattened, in module visiting order (`None`: not trained). Unlike
/// burn's `Gradients`, which are keyed by graph node, these can be summed across graphs: the
/// shards of one batch are differentiated in separate graphs (see `train`).
#[derive(Clone, Debug)]
pub struct ParamGrads(pub Vec<Option<Tensor<1>>>);

impl ParamGrads {
    /// Read `module`'s parameter gradients out of one backward pass.
    pub fn from_grads<M: Module>(module: &M, grads: &Gradients) -> Self {
        struct Collect<'a>(&'a Gradients, Vec<Option<Tensor<1>>>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let g = param.val().grad(self.0).map(|g| {
                    let n = g.shape().num_elements();
                    g.reshape([n])
                });
                self.1.push(g);
            }
        }
        let mut c = Collect(grads, Vec::new());
        module.visit(&mut c);
        Self(c.1)
    }

    /// Elementwise sum, parameter by parameter (a parameter trained in either is kept).
    pub fn sum(self, other: Self) -> Self {
        let sum = self
            .0
            .into_iter()
            .zip(other.0)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            })
            .collect();
        Self(sum)
    }
}

/// One parameter's new value and optimiser state.
struct Update {
    param: Tensor<1>,
    first: Tensor<1>,
    /// `None`: the second buffer is unused (RMSprop without momentum).
    second: Option<Tensor<1>>,
}

/// The update of one flattened parameter `p` with gradient `g` (formulas in the module docs).
fn update(
    c: &OptimConfig,
    t: u64,
    p: Tensor<1>,
    g: Tensor<1>,
    first: Tensor<1>,
    second: Tensor<1>,
    clamp: Option<f64>,
) -> Update {
    let lr = c.lr;
    let (step, first, second) = match c.kind {
        OptimKind::Rmsprop => {
            let alpha = c.alpha.unwrap_or(0.99);
            let v = first.mul_scalar(alpha) + g.clone().square().mul_scalar(1.0 - alpha);
            let u = g / v.clone().sqrt().add_scalar(c.eps);
            match c.momentum.unwrap_or(0.0) {
                m if m > 0.0 => {
                    let b = second.mul_scalar(m) + u;
                    (b.clone().mul_scalar(lr), v, Some(b))
                }
                _ => (u.mul_scalar(lr), v, None),
            }
        }
        OptimKind::Adam => {
            let b1 = c.beta1.unwrap_or(0.9);
            let b2 = c.beta2.unwrap_or(0.999);
            let m = first.mul_scalar(b1) + g.clone().mul_scalar(1.0 - b1);
            let v = second.mul_scalar(b2) + g.square().mul_scalar(1.0 - b2);
            let bc1 = 1.0 - b1.powi(t as i32);
            let bc2 = 1.0 - b2.powi(t as i32);
            let u =
                m.clone().mul_scalar(lr / bc1) / v.clone().div_scalar(bc2).sqrt().add_scalar(c.eps);
            (u, m, Some(v))
        }
    };
    let mut param = p - step;
    if let Some(clip) = clamp {
        param = param.clamp(-clip, clip);
    }
    Update {
        param,
        first,
        second,
    }
}

/// Puts updated values (by visiting index) back into a module as fresh trainable leaves.
struct Assign(Vec<Option<Tensor<1>>>, usize);

impl ModuleMapper for Assign {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.1;
        self.1 += 1;
        let (id, tensor, mapper) = param.consume();
        match self.0.get_mut(i).and_then(Option::take) {
            Some(new) => {
                let new = Tensor::from_inner(new.reshape(tensor.dims())).require_grad();
                Param::from_mapped_value(id, new, mapper)
            }
            None => Param::from_mapped_value(id, tensor, mapper),
        }
    }
}

/// Clamp every trainable parameter of `module` to `[-c, c]` (WGAN clipping outside an update).
pub fn clamp_params<M: Module>(module: M, c: f64) -> M {
    struct Clamp(f64);
    impl ModuleMapper for Clamp {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            // Buffers (batch-norm running statistics) are not trained and, as in the official
            // code's `for p in netD.parameters()`, not clipped.
            if !tensor.is_require_grad() {
                return Param::from_mapped_value(id, tensor, mapper);
            }
            // Clamping is not part of the graph: clamp the inner (non-autodiff) values and make
            // a fresh leaf. (`detach().clamp()` is still a graph node on the autodiff device, and
            // `require_grad` on it panics.)
            let t = Tensor::from_inner(tensor.inner().clamp(-self.0, self.0)).require_grad();
            Param::from_mapped_value(id, t, mapper)
        }
    }
    module.map(&mut Clamp(c))
}
