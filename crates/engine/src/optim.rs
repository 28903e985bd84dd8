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

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Gradients;
use harness_core::config::{OptimConfig, OptimKind};
use std::borrow::Cow;

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
    pub fn step<M: Module>(&mut self, mut module: M, grads: &Gradients, clamp: Option<f64>) -> M {
        let grads = ParamGrads::from_grads(&module, grads);
        self.apply(&mut module, grads, clamp);
        module
    }

    /// [`Optim::step`] from gradients already collected per parameter (e.g. summed over the
    /// shards of a batch). Parameters are updated concurrently on the pools ([`crate::ops::pool`]) (one thread
    /// would leave the other core idle). The parameter and state tensors are moved out of
    /// `module` and `self` first, so on the CPU backends the update owns their only references
    /// and rewrites their buffers in place.
    pub fn apply<M: Module>(&mut self, module: &mut M, grads: ParamGrads, clamp: Option<f64>) {
        self.t += 1;
        let mut taken = Take(Vec::new());
        *module = module.clone().map(&mut taken);
        let mut first: Vec<_> = std::mem::take(&mut self.state.first)
            .into_iter()
            .map(Some)
            .collect();
        let mut second: Vec<_> = std::mem::take(&mut self.state.second)
            .into_iter()
            .map(Some)
            .collect();
        let jobs = slot_jobs(taken, &mut first, &mut second, grads);
        let step = Step {
            cfg: &self.cfg,
            t: self.t,
            clamp,
        };
        let updated = crate::ops::pool::par_map(jobs, |(i, dims, slot)| {
            let u = if slot.grad.is_empty() {
                Update {
                    param: slot.param,
                    first: slot.first,
                    second: slot.second,
                }
            } else {
                update(&step, slot)
            };
            (i, dims, u)
        });
        let mut assign = Assign(Vec::new(), 0);
        for (i, dims, u) in updated {
            first[i] = Some(Param::from_tensor(u.first));
            second[i] = Some(Param::from_tensor(u.second));
            assign.0.resize_with(i + 1, || None);
            assign.0[i] = Some((u.param, dims));
        }
        // Entries still `None` here belong to parameters that were not taken (their state was
        // never moved out), so every slot is filled again.
        self.state.first = first.into_iter().flatten().collect();
        self.state.second = second.into_iter().flatten().collect();
        *module = module.clone().map(&mut assign);
    }
}

/// Each parameter's gradient, flattened, in module visiting order (no parts: not trained).
/// Unlike burn's `Gradients`, which are keyed by graph node, these can be summed across graphs:
/// the shards of one batch are differentiated in separate graphs (see `train`). The sum is
/// kept as its parts and done, in part order, inside the optimiser's pass over the parameter.
#[derive(Clone, Debug)]
pub struct ParamGrads(Vec<Vec<Tensor<1>>>);

impl ParamGrads {
    /// Read `module`'s parameter gradients out of one backward pass.
    pub fn from_grads<M: Module>(module: &M, grads: &Gradients) -> Self {
        struct Collect<'a>(&'a Gradients, Vec<Vec<Tensor<1>>>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let g = param.val().grad(self.0).map(|g| {
                    let n = g.shape().num_elements();
                    g.reshape([n])
                });
                self.1.push(g.into_iter().collect());
            }
        }
        let mut c = Collect(grads, Vec::new());
        module.visit(&mut c);
        Self(c.1)
    }

    /// Elementwise sum, parameter by parameter (a parameter trained in either is kept).
    pub fn sum(mut self, other: Self) -> Self {
        self.0
            .resize_with(self.0.len().max(other.0.len()), Vec::new);
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            mine.extend(theirs);
        }
        self
    }

    /// The summed gradient of every parameter (`None`: not trained).
    pub fn totals(self) -> Vec<Option<Tensor<1>>> {
        self.0
            .into_iter()
            .map(|parts| parts.into_iter().reduce(|a, b| a + b))
            .collect()
    }
}

/// What every parameter's update of one step shares.
struct Step<'a> {
    cfg: &'a OptimConfig,
    /// Update count, for Adam's bias corrections.
    t: u64,
    /// WGAN weight clipping after the update.
    clamp: Option<f64>,
}

/// One update job per taken parameter: its slot (parameter, gradients and both state
/// tensors, moved out so the update owns their only references) and its cost (elements to
/// update; 0 for a parameter without gradients, which is passed through).
type Job = (usize, (usize, Vec<usize>, Slot));

fn slot_jobs(
    taken: Take,
    first: &mut [Option<Param<Tensor<1>>>],
    second: &mut [Option<Param<Tensor<1>>>],
    grads: ParamGrads,
) -> Vec<Job> {
    let mut grads = grads.0;
    taken
        .0
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| {
            debug_assert!(p.is_some() || grads.get(i).is_none_or(Vec::is_empty));
            let (p, dims) = p?;
            let state = (
                first[i].take()?.into_value(),
                second[i].take()?.into_value(),
            );
            let g = grads.get_mut(i).map(std::mem::take).unwrap_or_default();
            let cost = if g.is_empty() {
                0
            } else {
                p.shape().num_elements()
            };
            let slot = Slot {
                param: p,
                grad: g,
                first: state.0,
                second: state.1,
            };
            Some((cost, (i, dims, slot)))
        })
        .collect()
}

/// One parameter's update inputs: its value, its gradient as parts to sum, its state.
struct Slot {
    param: Tensor<1>,
    grad: Vec<Tensor<1>>,
    first: Tensor<1>,
    second: Tensor<1>,
}

/// One parameter's new value and optimiser state.
struct Update {
    param: Tensor<1>,
    first: Tensor<1>,
    /// Unused (and returned unchanged) by RMSprop without momentum.
    second: Tensor<1>,
}

/// The update of one flattened parameter `p` with the gradient summed from `g`'s parts
/// (formulas in the module docs): one fused pass on the host for f32 on the CPU backends,
/// elementwise tensor ops elsewhere. Both compute the same f32 operations in the same order, so
/// they give the same bits.
fn update(step: &Step, slot: Slot) -> Update {
    if crate::ops::host::on_host_f32(&slot.param) {
        update_on_host(step, slot)
    } else {
        update_tensors(step, slot)
    }
}

/// [`update`] as elementwise tensor ops, for backends whose memory the host cannot read.
fn update_tensors(step: &Step, slot: Slot) -> Update {
    let (c, t, clamp) = (step.cfg, step.t, step.clamp);
    let (p, first, second) = (slot.param, slot.first, slot.second);
    let g = slot
        .grad
        .into_iter()
        .reduce(|a, b| a + b)
        .expect("a trained parameter has a gradient");
    let lr = c.lr;
    let (delta, first, second) = match c.kind {
        OptimKind::Rmsprop => {
            let alpha = c.alpha.unwrap_or(0.99);
            let v = first.mul_scalar(alpha) + g.clone().square().mul_scalar(1.0 - alpha);
            let u = g / v.clone().sqrt().add_scalar(c.eps);
            match c.momentum.unwrap_or(0.0) {
                m if m > 0.0 => {
                    let b = second.mul_scalar(m) + u;
                    (b.clone().mul_scalar(lr), v, b)
                }
                _ => (u.mul_scalar(lr), v, second),
            }
        }
        OptimKind::Adam => {
            let (b1, b2) = (c.beta1.unwrap_or(0.9), c.beta2.unwrap_or(0.999));
            let m = first.mul_scalar(b1) + g.clone().mul_scalar(1.0 - b1);
            let v = second.mul_scalar(b2) + g.square().mul_scalar(1.0 - b2);
            let (bc1, bc2) = bias_corrections(b1, b2, t);
            let u =
                m.clone().mul_scalar(lr / bc1) / v.clone().div_scalar(bc2).sqrt().add_scalar(c.eps);
            (u, m, v)
        }
    };
    let mut param = p - delta;
    if let Some(clip) = clamp {
        param = param.clamp(-clip, clip);
    }
    Update {
        param,
        first,
        second,
    }
}

fn bias_corrections(b1: f64, b2: f64, t: u64) -> (f64, f64) {
    (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32))
}

/// [`update`] as one loop over host slices. The tensors are moved in, so a buffer nobody else
/// references is rewritten in place instead of copied (flex hands it over without a copy).
fn update_on_host(step: &Step, slot: Slot) -> Update {
    let device = slot.param.device();
    let host = |x: Tensor<1>| {
        x.into_data()
            .try_into_vec::<f32>()
            .expect("on_host_f32 checked the dtype")
    };
    let (mut pv, mut m1, mut m2) = (host(slot.param), host(slot.first), host(slot.second));
    // Gradients are only read: borrowed from their buffers (matmul outputs, whose allocation
    // cannot become a `Vec<f32>` without a copy).
    let g: Vec<TensorData> = slot.grad.into_iter().map(Tensor::into_data).collect();
    let g: Vec<Cow<[f32]>> = g
        .iter()
        .map(|d| match d.as_slice::<f32>() {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(d.iter::<f32>().collect()),
        })
        .collect();
    let n = pv.len();
    let (p, m1s, m2s) = (&mut pv[..n], &mut m1[..n], &mut m2[..n]);
    // One or two parts (one or two shards) are summed inside the update loop. The closures
    // capture the slices by value so the loops see plain pointers and vectorise.
    match g.as_slice() {
        [a] => {
            let a = &a[..n];
            fused_step(step, p, m1s, m2s, move |i| a[i])
        }
        [a, b] => {
            let (a, b) = (&a[..n], &b[..n]);
            fused_step(step, p, m1s, m2s, move |i| a[i] + b[i])
        }
        [first, rest @ ..] => {
            let mut sum = first[..n].to_vec();
            for part in rest {
                for (x, y) in sum.iter_mut().zip(&part[..n]) {
                    *x += y;
                }
            }
            let a = &sum[..n];
            fused_step(step, p, m1s, m2s, move |i| a[i])
        }
        [] => unreachable!("a trained parameter has a gradient"),
    }
    let tensor = |v: Vec<f32>| {
        let n = v.len();
        Tensor::<1>::from_data(TensorData::new(v, [n]), &device)
    };
    Update {
        param: tensor(pv),
        first: tensor(m1),
        second: tensor(m2),
    }
}

/// The optimiser step over equal-length slices, with the gradient of entry `i` from `grad`.
#[inline(always)]
fn fused_step(
    step: &Step,
    p: &mut [f32],
    m1s: &mut [f32],
    m2s: &mut [f32],
    grad: impl Fn(usize) -> f32,
) {
    let (c, t, clamp) = (step.cfg, step.t, step.clamp);
    // Scalars rounded to f32 as Burn's `*_scalar` ops round them, so both paths agree bit for bit.
    let lr = c.lr as f32;
    let eps = c.eps as f32;
    let (lo, hi) = clamp.map_or((f32::NEG_INFINITY, f32::INFINITY), |k| {
        (-k as f32, k as f32)
    });
    // `f32::clamp` without its bound check, so the loops vectorise; NaN stays NaN.
    let clip = |x: f32| {
        let x = if x < lo { lo } else { x };
        if x > hi { hi } else { x }
    };
    // Equal lengths up front let the compiler drop the bounds checks and vectorise.
    let n = p.len();
    let (m1s, m2s) = (&mut m1s[..n], &mut m2s[..n]);
    match c.kind {
        OptimKind::Rmsprop => {
            let alpha = c.alpha.unwrap_or(0.99);
            let (a, one_minus_a) = (alpha as f32, (1.0 - alpha) as f32);
            let mu = c.momentum.unwrap_or(0.0);
            if mu > 0.0 {
                let mu = mu as f32;
                for i in 0..n {
                    let g = grad(i);
                    m1s[i] = m1s[i] * a + g * g * one_minus_a;
                    m2s[i] = m2s[i] * mu + g / (m1s[i].sqrt() + eps);
                    p[i] = clip(p[i] - m2s[i] * lr);
                }
            } else {
                for i in 0..n {
                    let g = grad(i);
                    m1s[i] = m1s[i] * a + g * g * one_minus_a;
                    p[i] = clip(p[i] - g / (m1s[i].sqrt() + eps) * lr);
                }
            }
        }
        OptimKind::Adam => {
            let (b1, b2) = (c.beta1.unwrap_or(0.9), c.beta2.unwrap_or(0.999));
            let (bc1, bc2) = bias_corrections(b1, b2, t);
            let (b1f, one_minus_b1) = (b1 as f32, (1.0 - b1) as f32);
            let (b2f, one_minus_b2) = (b2 as f32, (1.0 - b2) as f32);
            let (lr_bc1, bc2) = ((c.lr / bc1) as f32, bc2 as f32);
            for i in 0..n {
                let g = grad(i);
                m1s[i] = m1s[i] * b1f + g * one_minus_b1;
                m2s[i] = m2s[i] * b2f + g * g * one_minus_b2;
                p[i] = clip(p[i] - m1s[i] * lr_bc1 / ((m2s[i] / bc2).sqrt() + eps));
            }
        }
    }
}

/// Moves every trained parameter out of a module (flattened, off autodiff, with its shape),
/// leaving a one-element placeholder, so the module no longer references the parameter's
/// buffer. Untrained tensors (batch-norm running statistics) stay where they are (`None`).
struct Take(Vec<Option<(Tensor<1>, Vec<usize>)>>);

impl ModuleMapper for Take {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        if !tensor.is_require_grad() {
            self.0.push(None);
            return Param::from_mapped_value(id, tensor, mapper);
        }
        let dims = tensor.dims();
        let placeholder = Tensor::<D>::zeros([1; D], &tensor.device());
        let n: usize = dims.iter().product();
        self.0.push(Some((
            tensor.without_autodiff().reshape([n]),
            dims.to_vec(),
        )));
        Param::from_mapped_value(id, placeholder, mapper)
    }
}

/// Puts updated (flattened) parameters back into a module, in visiting order, as fresh
/// autodiff leaves.
struct Assign(Vec<Option<(Tensor<1>, Vec<usize>)>>, usize);

impl ModuleMapper for Assign {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.1;
        self.1 += 1;
        let (id, tensor, mapper) = param.consume();
        match self.0.get_mut(i).and_then(Option::take) {
            Some((new, dims)) => {
                let shape: [usize; D] = std::array::from_fn(|k| dims[k]);
                let new = Tensor::from_inner(new.reshape(shape)).require_grad();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 2001)
            .map(|k| k as f32 / 1000.0 - 1.0)
            .map(|x| x * scale)
            .collect()
    }

    /// The host loop and the tensor ops give the same bits, for every optimiser form.
    #[test]
    fn host_update_matches_tensor_update() {
        let device = Device::flex();
        let n = 1003;
        let t = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
        let bits = |x: Tensor<1>| -> Vec<u32> {
            let v = x.into_data().try_into_vec::<f32>().unwrap();
            v.iter().map(|f| f.to_bits()).collect()
        };
        let cfgs = [
            (OptimKind::Rmsprop, None, Some(0.01)),
            (OptimKind::Rmsprop, Some(0.9), None),
            (OptimKind::Adam, None, None),
            (OptimKind::Adam, None, Some(0.05)),
        ];
        for (kind, momentum, clamp) in cfgs {
            let cfg = OptimConfig {
                kind,
                lr: 3e-3,
                momentum,
                alpha: Some(0.99),
                beta1: Some(0.5),
                beta2: Some(0.9),
                eps: 1e-8,
            };
            let run = |host: bool, parts: u32| {
                let p = t(values(n, 1, 0.05));
                let g = (0..parts)
                    .map(|k| t(values(n, 5 + k, 1.0 / (k + 1) as f32)))
                    .collect();
                let (m1, m2) = (
                    t(values(n, 3, 0.1).iter().map(|x| x.abs()).collect()),
                    t(values(n, 4, 0.1)),
                );
                let step = Step {
                    cfg: &cfg,
                    t: 7,
                    clamp,
                };
                let slot = Slot {
                    param: p,
                    grad: g,
                    first: m1,
                    second: m2,
                };
                let u = if host {
                    update_on_host(&step, slot)
                } else {
                    update_tensors(&step, slot)
                };
                (bits(u.param), bits(u.first), bits(u.second))
            };
            for parts in 1..=3 {
                let (host, tensors) = (run(true, parts), run(false, parts));
                let case = format!("{kind:?} momentum {momentum:?} clamp {clamp:?}, {parts} parts");
                assert_eq!(host, tensors, "{case}");
            }
            let host = run(true, 2);
            // The update moved the parameters (a no-op on both paths would also agree).
            assert_ne!(host.0, bits(t(values(n, 1, 0.05))));
        }
    }
}
