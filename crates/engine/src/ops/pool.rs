//! Two rayon thread pools that split this process's threads between them, and the two ways work
//! is spread over them: one job per pool ([`run_jobs`], the shards of a batch, see
//! [`crate::ops::shard`]) and many small jobs binned by cost ([`par_map`], the optimiser's
//! per-parameter updates). Each pool keeps its kernels (which use rayon inside) on its own
//! cores; with fewer threads than pools the jobs run one after the other on the caller's thread.

use std::sync::OnceLock;

/// Number of pools (and of batch shards).
pub const POOLS: usize = 2;

/// `f` over `items` (each with its cost), spread over the pools in bins of about equal
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
    let mut bins: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); POOLS];
    for i in order {
        let bin = bins.iter_mut().min_by_key(|b| b.0).expect("POOLS > 0");
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

/// Run each job on its own pool, concurrently, or one after another on this thread when
/// there are fewer pools than jobs. Results in job order; a job's panic is re-raised here.
pub fn run_jobs<R: Send, J: FnOnce() -> R + Send>(jobs: Vec<J>) -> Vec<R> {
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

/// The pools, splitting this process's rayon threads between them, so each job's kernels
/// (which use rayon inside) stay on their own cores. Empty with fewer threads than pools: the
/// jobs then run one after the other.
fn pools() -> &'static [rayon::ThreadPool] {
    static CELL: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    CELL.get_or_init(|| {
        let threads = rayon::current_num_threads();
        if threads < POOLS {
            return Vec::new();
        }
        (0..POOLS)
            .map(|i| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads / POOLS)
                    .thread_name(move |t| format!("shard{i}-{t}"))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_item_order() {
        let items: Vec<(usize, u32)> = [5, 1, 9, 3, 3, 7].iter().map(|&c| (c, c as u32)).collect();
        assert_eq!(par_map(items, |x| x * 10), vec![50, 10, 90, 30, 30, 70]);
    }
}
