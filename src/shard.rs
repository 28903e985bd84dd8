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
use std::sync::OnceLock;

/// Shards per batch when the nets allow it.
pub const SHARDS: usize = 2;

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
        let mut results = run_jobs(jobs).into_iter();
        let first = results.next().expect("a batch has at least one shard");
        results.fold(first, |(ga, ta), (gb, tb)| (ga.sum(gb), ta + tb))
    }
}

/// `f` over `items` (each with its cost), spread over the shard pools in bins of about equal
/// cost; results in item order. Used for per-parameter work such as the optimiser update.
pub fn par_map<T, R, F>(items: Vec<(usize, T)>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let n = items.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(items[i].0));
    let mut bins: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); SHARDS];
    for i in order {
        let bin = bins.iter_mut().min_by_key(|b| b.0).expect("SHARDS > 0");
        bin.0 += items[i].0;
        bin.1.push(i);
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(|(_, t)| Some(t)).collect();
    let f = &f;
    let jobs = bins
        .into_iter()
        .map(|(_, idx)| {
            let work: Vec<(usize, T)> = idx
                .into_iter()
                .filter_map(|i| slots[i].take().map(|t| (i, t)))
                .collect();
            move || work.into_iter().map(|(i, t)| (i, f(t))).collect::<Vec<_>>()
        })
        .collect();
    let mut out: Vec<(usize, R)> = run_jobs(jobs).into_iter().flatten().collect();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Run each job on its own shard pool, concurrently, or one after another on this thread when
/// there are fewer pools than jobs. Results in job order; a job's panic is re-raised here.
fn run_jobs<R: Send, J: FnOnce() -> R + Send>(jobs: Vec<J>) -> Vec<R> {
    let pools = pools();
    if jobs.len() < 2 || pools.len() < jobs.len() {
        return jobs.into_iter().map(|j| j()).collect();
    }
    let mut slots: Vec<Option<R>> = jobs.iter().map(|_| None).collect();
    spread(pools, jobs.into_iter().zip(slots.iter_mut()).collect());
    slots
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Job `i` on pool `i`: each job after the first is spawned into its pool's scope (no thread
/// is created per call, and the pools' threads keep their allocator heaps), the first runs
/// on pool 0 while this thread waits.
fn spread<R: Send, J: FnOnce() -> R + Send>(
    pools: &[rayon::ThreadPool],
    mut work: Vec<(J, &mut Option<R>)>,
) {
    let Some((job, slot)) = work.pop() else {
        return;
    };
    let k = work.len();
    if k == 0 {
        *slot = Some(pools[0].install(job));
        return;
    }
    pools[k].in_place_scope(|scope| {
        scope.spawn(move |_| *slot = Some(job()));
        spread(pools, work);
    });
}

/// One thread pool per shard, splitting this process's rayon threads between them, so each
/// shard's kernels (which use rayon inside) stay on their own cores. Empty with fewer threads
/// than shards: the shards then run one after the other.
fn pools() -> &'static [rayon::ThreadPool] {
    static POOLS: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    POOLS.get_or_init(|| {
        let threads = rayon::current_num_threads();
        if threads < SHARDS {
            return Vec::new();
        }
        (0..SHARDS)
            .map(|i| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads / SHARDS)
                    .thread_name(move |t| format!("shard{i}-{t}"))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_default()
    })
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
    fn par_map_keeps_item_order() {
        let items: Vec<(usize, u32)> = [5, 1, 9, 3, 3, 7].iter().map(|&c| (c, c as u32)).collect();
        assert_eq!(par_map(items, |x| x * 10), vec![50, 10, 90, 30, 30, 70]);
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
