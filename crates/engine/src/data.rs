//! The data sets ([`harness_core::data`]) and the two ways a batch becomes a tensor.

pub use harness_core::data::*;

use burn::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Host rows (`cols` values each, concatenated) as a `[rows, cols]` tensor on `device`.
pub fn to_tensor(data: &[f32], cols: usize, device: &Device) -> Tensor<2> {
    let rows = data.len() / cols;
    Tensor::<1>::from_floats(data, device).reshape([rows, cols])
}

/// `n` rows of `cols` standard-normal draws from `rng` (the generator's noise), row by row.
pub fn normal_rows(rng: &mut ChaCha8Rng, n: usize, cols: usize, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = (0..n * cols).map(|_| StandardNormal.sample(rng)).collect();
    to_tensor(&v, cols, device)
}
