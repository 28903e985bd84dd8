//! Data parallelism inside one training step: a batch is split into [`SHARDS`] row shards whose
//! forward and backward passes run concurrently, and whose gradients are summed.
//!
//! Why: at batch 64 the matrix products are too small for a multi-threaded GEMM to pay off (one
//! thread trained the seed nets as fast as two), while two independent halves of the work keep
//! two cores busy. Every loss is a mean over samples, so each shard's loss is weighted by its
//! share of the batch and the weighted shard gradients add up to the whole batch's gradient;
//! only the order of floating-point additions differs from one pass over the batch.
//!
//! The split depends on the batch alone, never on the thread count, so a run gives the same
//! numbers on a laptop, in a `--jobs` worker with one thread, or on a 16-core node. Nets whose
//! samples interact (batch norm) are never split.
//!
//! Each shard differentiates its own copy of the network's parameters (fresh autodiff leaves
//! over the same data): burn merges graphs that share a node, and two shards in one graph could
//! neither run concurrently nor be differentiated separately.

use crate::optim::ParamGrads;
use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use std::ops::Add;

/// Shards per batch when the nets allow it: one per pool.
pub const SHARDS: usize = crate::ops::pool::POOLS;

/// One shard: rows `start..start + len` of the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    pub start: usize,
    pub len: usize,
    /// `len / batch`: the factor that turns the shard's mean loss into its part of the batch's.
    weight: f64,
    /// Whether this shard needs its own graph (false when the batch is one shard).
    own: bool,
}

impl Shard {
    /// `t` scaled by the shard's share of the batch (unchanged for a whole-batch shard).
    pub fn weigh<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        if self.own {
            t.mul_scalar(self.weight)
        } else {
            t
        }
    }

    /// The module to differentiate in this shard: a copy with fresh parameter leaves when the
    /// batch has several shards, the module itself otherwise.
    pub fn own_graph<M: Module + Clone>(&self, module: &M) -> M {
        if self.own {
            fresh_leaves(module.clone())
        } else {
            module.clone()
        }
    }
}

/// The shards of one batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Shards(pub Vec<Shard>);

impl Shards {
    /// Split a batch of `batch` rows; `splittable = false` (batch-coupled nets) keeps it whole,
    /// and so does a batch that does not split into equal shards. Equal shards give every row
    /// the weight `1 / batch` bit for bit (`(1/2) / len` is exactly rounded `1 / batch`), as one
    /// pass over the batch does; unequal ones weigh their rows by `(len / batch) / len`, which
    /// differs from `1 / batch` in the last bit and breaks gradients that cancel exactly
    /// across the shards into rounding noise (found by the PyTorch oracle).
    pub fn of(batch: usize, splittable: bool) -> Self {
        let n = if splittable && batch >= SHARDS && batch.is_multiple_of(SHARDS) {
            SHARDS
        } else {
            1
        };
        let mut start = 0;
        let shards = (0..n)
            .map(|i| {
                let len = batch / n + usize::from(i < batch % n);
                let s = Shard {
                    start,
                    len,
                    weight: len as f64 / batch as f64,
                    own: n > 1,
                };
                start += len;
                s
            })
            .collect();
        Self(shards)
    }

    /// Run `f` on every shard (concurrently where cores allow) and sum the results in shard
    /// order, so the sum is the same however many threads ran it.
    pub fn run<T, F>(&self, f: F) -> (ParamGrads, T)
    where
        T: Add<Output = T> + Send,
        F: Fn(&Shard) -> (ParamGrads, T) + Sync,
    {
        let f = &f;
        let jobs = self.0.iter().map(|s| move || f(s)).collect();
        let mut results = crate::ops::pool::run_jobs(jobs).into_iter();
        let first = results.next().expect("a batch has at least one shard");
        results.fold(first, |(ga, ta), (gb, tb)| (ga.sum(gb), ta + tb))
    }
}

/// `module` with every trained parameter replaced by a new autodiff leaf over the same data
/// (buffers such as running statistics are left as they are).
fn fresh_leaves<M: Module>(module: M) -> M {
    struct Fresh;
    impl ModuleMapper for Fresh {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            if !tensor.is_require_grad() {
                return Param::from_mapped_value(id, tensor, mapper);
            }
            let t = Tensor::from_inner(tensor.inner()).require_grad();
            Param::from_mapped_value(id, t, mapper)
        }
    }
    module.map(&mut Fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_with_weights_summing_to_one() {
        let s = Shards::of(66, true);
        assert_eq!(s.0.len(), 2);
        assert_eq!((s.0[0].start, s.0[0].len), (0, 33));
        assert_eq!((s.0[1].start, s.0[1].len), (33, 33));
        let w: f64 = s.0.iter().map(|s| s.weight).sum();
        assert!((w - 1.0).abs() < 1e-12);
        assert!(s.0.iter().all(|s| s.own));
    }

    #[test]
    fn coupled_tiny_or_odd_batches_stay_whole() {
        for s in [
            Shards::of(64, false),
            Shards::of(1, true),
            Shards::of(65, true),
        ] {
            assert_eq!(s.0.len(), 1);
            assert!(!s.0[0].own);
            assert_eq!(s.0[0].weight, 1.0);
        }
    }
}
