//! Element-wise work done on the host for the CPU backends, where Burn's kernels are scalar
//! or take several passes (the optimiser's fused update in `optim` uses [`on_host_f32`]).
//!
//! The generator's output `tanh` was 7% of a seed WGAN step on flex (scalar `tanhf` and the
//! `expm1f` inside it). The value is computed on the host; autodiff sees
//! `(x - x') * (1 - y^2) + y` with `x'` and `y` constants, whose value is exactly `y` and whose
//! derivative is tanh's. GPU backends keep their own `tanh`: a host round trip would cost more
//! than it saves.

use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use wide::f32x8;

/// Whether `x` is f32 on a CPU backend, where host loops read its memory directly (a GPU
/// tensor would make a round trip that costs more than the op).
pub fn on_host_f32<const D: usize>(x: &Tensor<D>) -> bool {
    let plain = x.device().inner();
    #[allow(deprecated)] // ndarray is deprecated but still selectable (`--backend ndarray`).
    let cpu = plain == Device::flex() || plain == Device::ndarray();
    cpu && x.dtype() == DType::F32
}

/// `tanh(x)`, vectorised on the CPU backends; differentiable where `x` is tracked. (A tracked
/// infinite input gives NaN, `inf - inf`, where tanh gives +-1; a generator whose pre-activations
/// overflow has diverged anyway.)
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_host_f32(&x) {
        return x.tanh();
    }
    let plain = x.device().inner();
    let dims = x.dims();
    let values = match x
        .clone()
        .without_autodiff()
        .into_data()
        .try_into_vec::<f32>()
    {
        Ok(v) => v,
        Err(_) => return x.tanh(),
    };
    let y = tanh_values(&values);
    if !x.is_autodiff() {
        return Tensor::<D>::from_data(TensorData::new(y, dims), &plain);
    }
    let slope: Vec<f32> = y.iter().map(|t| 1.0 - t * t).collect();
    let y = Tensor::<D>::from_data(TensorData::new(y, dims), &plain);
    let slope = Tensor::<D>::from_data(TensorData::new(slope, dims), &plain);
    let constant = x.clone().without_autodiff();
    (x - constant) * slope + y
}

/// `tanh` of every value. Every value goes through the same 8-lane kernel (the tail is
/// zero-padded), so a value's result does not depend on its position in the tensor.
pub fn tanh_values(x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    for (xs, ys) in x.chunks(8).zip(y.chunks_mut(8)) {
        let mut lane = [0.0f32; 8];
        lane[..xs.len()].copy_from_slice(xs);
        ys.copy_from_slice(&f32x8::from(lane).tanh().to_array()[..xs.len()]);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 4 ulps (relative to max(|y|, 2^-10)) of libm's tanhf, across the range that matters
    /// (saturation, the linear region, tiny values, signed zero) and for NaN and infinities.
    #[test]
    fn tanh_matches_libm() {
        let mut xs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 1e-3).collect();
        xs.extend([
            1e-30,
            -1e-30,
            1e-5,
            -3e-4,
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        xs.push(f32::NAN);
        let y = tanh_values(&xs);
        for (&x, &y) in xs.iter().zip(&y) {
            let want = x.tanh();
            if want.is_nan() {
                assert!(y.is_nan(), "tanh({x}) = {y}, want NaN");
                continue;
            }
            let tol = 4.0 * f32::EPSILON * want.abs().max(1.0 / 1024.0);
            assert!((y - want).abs() <= tol, "tanh({x}) = {y}, libm {want}");
        }
    }

    /// Forward value is the kernel's exactly; the gradient is `1 - y^2`, as Burn's own tanh.
    #[test]
    fn tanh_is_differentiable_like_burns() {
        let device = Device::flex().autodiff();
        let v: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.21).collect();
        let w: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.1).collect();
        let run = |ours: bool| {
            let x = Tensor::<1>::from_floats(v.as_slice(), &device).require_grad();
            let wt = Tensor::<1>::from_floats(w.as_slice(), &device);
            let y = if ours {
                tanh(x.clone())
            } else {
                x.clone().tanh()
            };
            let grads = (y.clone() * wt).sum().backward();
            let g = x.grad(&grads).expect("x is tracked");
            (
                y.into_data().try_into_vec::<f32>().unwrap(),
                g.into_data().try_into_vec::<f32>().unwrap(),
            )
        };
        let (y, g) = run(true);
        let (y_ref, g_ref) = run(false);
        assert_eq!(y, tanh_values(&v));
        for i in 0..v.len() {
            assert!(
                (y[i] - y_ref[i]).abs() <= 1e-6,
                "value {i}: {} vs {}",
                y[i],
                y_ref[i]
            );
            assert!(
                (g[i] - g_ref[i]).abs() <= 1e-5,
                "grad {i}: {} vs {}",
                g[i],
                g_ref[i]
            );
        }
        // A one-off gradient error (for example dropping the slope) must fail this test.
        assert!(g.iter().zip(&w).any(|(g, w)| (g - w).abs() > 1e-3));
    }
}
