//! Grouping runs into configurations and reducing seeds to mean and band.
//!
//! Pure functions over plain data so that the statistics can be unit tested
//! without a results tree.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::load::Config;
use harness_core::grid::{differing_keys, show_value};

/// Runs that share every grouping key (so they differ at most in `seed`).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Legend text, e.g. `loss=wgan-clip clip=0.01`.
    pub label: String,
    /// `(key, value)` for every grouping key; `None` where the config lacks the key
    /// (e.g. `clip` for a WGAN-GP run).
    pub settings: Vec<(String, Option<String>)>,
    /// Indices into the `configs` slice given to [`group_runs`], ascending seed.
    pub members: Vec<usize>,
}

/// Keys that usually explain a configuration best, in legend order; other keys follow
/// alphabetically.
const PREFERRED: [&str; 12] = [
    "loss",
    "dataset",
    "model",
    "clip",
    "gp_lambda",
    "n_critic",
    "lr",
    "lr_g",
    "lr_c",
    "clip_when",
    "batch_size",
    "gen_iters",
];

/// Keys whose value differs between `configs` (a missing key counts as a value),
/// except `seed`. Keys a sweep declares as varying come first, in declared order, and
/// stay even when the runs found so far agree on them (legends do not change while a
/// sweep fills in); the others follow in [`PREFERRED`] order.
pub fn varying_keys(configs: &[&Config], declared: &[String]) -> Vec<String> {
    let all = differing_keys(configs.iter().copied());
    let mut keys: Vec<String> = Vec::new();
    for k in declared {
        if k != "seed" && !keys.contains(k) && configs.iter().any(|c| c.contains_key(k)) {
            keys.push(k.clone());
        }
    }
    let mut rest: Vec<&String> = all
        .iter()
        .filter(|k| k.as_str() != "seed" && !keys.contains(k))
        .collect();
    let rank = |k: &str| {
        PREFERRED
            .iter()
            .position(|p| *p == k)
            .unwrap_or(PREFERRED.len())
    };
    rest.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    keys.extend(rest.into_iter().cloned());
    keys
}

/// Shorten legends: keep the `keep` keys and only those other grouping keys needed to
/// tell configurations apart (`clip_when` only exists where `clip` does, so it adds
/// nothing). Relabels `groups` and returns the keys the labels use.
pub fn concise_labels(groups: &mut [Group], keep: &[String]) -> Vec<String> {
    let Some(first) = groups.first() else {
        return keep.to_vec();
    };
    let mut keys: Vec<String> = first.settings.iter().map(|(k, _)| k.clone()).collect();
    let unique = |keys: &[String], groups: &[Group]| {
        let mut labels: Vec<String> = groups.iter().map(|g| g.label_for(keys)).collect();
        labels.sort();
        labels.windows(2).all(|w| w[0] != w[1])
    };
    for k in keys.clone().iter().rev() {
        if keep.contains(k) {
            continue;
        }
        let trial: Vec<String> = keys.iter().filter(|x| *x != k).cloned().collect();
        if unique(&trial, groups) {
            keys = trial;
        }
    }
    for g in groups.iter_mut() {
        let label = g.label_for(&keys);
        if !label.is_empty() {
            g.label = label;
        }
    }
    keys
}

impl Group {
    /// The value of one grouping key.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// `k=v` for the given keys that this configuration has.
    fn label_for(&self, keys: &[String]) -> String {
        let parts: Vec<String> = keys
            .iter()
            .filter_map(|k| self.setting(k).map(|v| format!("{k}={v}")))
            .collect();
        parts.join(" ")
    }
}

/// Partition `configs` by the values of `keys` (pass [`varying_keys`] for "the config
/// minus seed"). Groups are ordered by their settings (numbers numerically), which
/// fixes the colour of each configuration.
pub fn group_runs(configs: &[&Config], keys: &[String]) -> Vec<Group> {
    let mut map: BTreeMap<Vec<Option<String>>, Vec<usize>> = BTreeMap::new();
    for (i, c) in configs.iter().enumerate() {
        let sig = keys.iter().map(|k| c.get(k).map(show_value)).collect();
        map.entry(sig).or_default().push(i);
    }
    let mut groups: Vec<Group> = map
        .into_iter()
        .map(|(sig, mut members)| {
            members.sort_by(|&a, &b| {
                let seed = |i: usize| configs[i].get("seed").map(show_value);
                cmp_setting(&seed(a), &seed(b)).then(a.cmp(&b))
            });
            let settings: Vec<(String, Option<String>)> = keys.iter().cloned().zip(sig).collect();
            Group {
                label: label(&settings, configs[members[0]]),
                settings,
                members,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        a.settings
            .iter()
            .zip(&b.settings)
            .map(|(x, y)| cmp_setting(&x.1, &y.1))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    groups
}

/// `k=v` pairs for present keys. Without any key, fall back to the loss (or "all
/// runs") so a legend is never empty.
fn label(settings: &[(String, Option<String>)], example: &Config) -> String {
    let parts: Vec<String> = settings
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    if !parts.is_empty() {
        parts.join(" ")
    } else if let Some(loss) = example.get("loss") {
        format!("loss={}", show_value(loss))
    } else {
        "all runs".to_string()
    }
}

/// Missing first, numbers numerically, then strings.
fn cmp_setting(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.total_cmp(&q),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        },
    }
}

/// Per-step statistics over seeds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeanBand {
    /// Union of the seeds' x values (steps), ascending.
    pub x: Vec<f64>,
    pub mean: Vec<f64>,
    /// Sample standard deviation (n - 1 denominator); 0 where only one seed has a value.
    pub std: Vec<f64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    /// Number of seeds contributing at each x.
    pub n: Vec<usize>,
}

/// Mean, std, min and max over seeds on the union of their x grids.
///
/// Each element of `series` is one seed's `(x, y)`; non-finite y values are ignored
/// (empty `metrics.csv` cells). Seeds of one configuration log at the same cadence, so
/// x values coincide exactly; a seed still running simply stops contributing, which
/// `n` records.
pub fn mean_band(series: &[(&[f64], &[f64])]) -> MeanBand {
    let mut per_seed: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(x, y)| {
            let mut v: Vec<(f64, f64)> = x
                .iter()
                .zip(y.iter())
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .map(|(a, b)| (*a, *b))
                .collect();
            if !v.is_sorted_by(|a, b| a.0 <= b.0) {
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            v
        })
        .collect();
    let grid = union_grid(&per_seed);
    let n = grid.len();
    let mut out = MeanBand {
        mean: vec![0.0; n],
        std: vec![0.0; n],
        min: vec![f64::INFINITY; n],
        max: vec![f64::NEG_INFINITY; n],
        n: vec![0; n],
        x: grid,
    };
    // Welford's update per grid point, walking each seed once (both are sorted).
    let mut m2 = vec![0.0; n];
    for seed in &mut per_seed {
        let mut g = 0;
        for &(x, y) in seed.iter() {
            while out.x[g] < x {
                g += 1;
            }
            out.n[g] += 1;
            let k = out.n[g] as f64;
            let d = y - out.mean[g];
            out.mean[g] += d / k;
            m2[g] += d * (y - out.mean[g]);
            out.min[g] = out.min[g].min(y);
            out.max[g] = out.max[g].max(y);
        }
    }
    for ((sd, m2), &k) in out.std.iter_mut().zip(&m2).zip(&out.n) {
        *sd = if k > 1 {
            (m2 / (k - 1) as f64).sqrt()
        } else {
            0.0
        };
    }
    out
}

/// The union of the seeds' x values (each seed sorted by x), ascending, by merging (seeds
/// usually share one grid: linear time).
fn union_grid(per_seed: &[Vec<(f64, f64)>]) -> Vec<f64> {
    let mut grid: Vec<f64> = Vec::new();
    for seed in per_seed {
        let xs = seed.iter().map(|p| p.0);
        if grid.is_empty() {
            grid = xs.collect();
            grid.dedup();
        } else if !seed.iter().map(|p| p.0).eq(grid.iter().copied()) {
            grid = merge_sorted(&grid, xs);
        }
    }
    grid
}

/// Sorted union without duplicates of a sorted, deduplicated `a` and a sorted `b`.
fn merge_sorted(a: &[f64], b: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(a.len());
    let mut a = a.iter().copied().peekable();
    let push = |out: &mut Vec<f64>, v: f64| {
        if out.last() != Some(&v) {
            out.push(v);
        }
    };
    for v in b {
        while let Some(&x) = a.peek() {
            if x <= v {
                push(&mut out, x);
                a.next();
            } else {
                break;
            }
        }
        push(&mut out, v);
    }
    for x in a {
        push(&mut out, x);
    }
    out
}

/// Mean and sample std of the finite values; `None` when there are none.
/// (Not statrs's `mean`/`std_dev`: they accumulate online, which can differ in the last bits.)
pub fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let std = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some((mean, std))
}

/// Exponential moving average `s_t = alpha * y_t + (1 - alpha) * s_(t-1)`, started at
/// the first finite value (no bias towards zero). `alpha = 1` returns the input.
/// Non-finite inputs stay non-finite in the output and do not disturb the state.
pub fn ema(values: &[f64], alpha: f64) -> Vec<f64> {
    let alpha = alpha.clamp(f64::MIN_POSITIVE, 1.0);
    let mut state: Option<f64> = None;
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return v;
            }
            let s = match state {
                None => v,
                Some(s) => s + alpha * (v - s),
            };
            state = Some(s);
            s
        })
        .collect()
}

/// Reduce a curve to at most `max_points` points keeping each bucket's minimum and
/// maximum (in x order), so spikes survive downsampling. Non-finite points are kept as
/// line breaks.
pub fn downsample_minmax(x: &[f64], y: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let len = x.len().min(y.len());
    if len <= max_points.max(2) {
        return x.iter().copied().zip(y.iter().copied()).take(len).collect();
    }
    let buckets = (max_points / 2).max(1);
    let mut out = Vec::with_capacity(buckets * 2 + 1);
    for b in 0..buckets {
        let (lo, hi) = (b * len / buckets, ((b + 1) * len / buckets).min(len));
        if lo >= hi {
            continue;
        }
        let (mut imin, mut imax, mut gap) = (None::<usize>, None::<usize>, false);
        for i in lo..hi {
            if !y[i].is_finite() {
                gap = true;
                continue;
            }
            if imin.is_none_or(|j| y[i] < y[j]) {
                imin = Some(i);
            }
            if imax.is_none_or(|j| y[i] > y[j]) {
                imax = Some(i);
            }
        }
        match (imin, imax) {
            (Some(a), Some(b)) if a == b => out.push((x[a], y[a])),
            (Some(a), Some(b)) => {
                let (p, q) = (a.min(b), a.max(b));
                out.push((x[p], y[p]));
                out.push((x[q], y[q]));
            }
            _ => {}
        }
        if gap && imin.is_none() {
            out.push((x[lo], f64::NAN));
        }
    }
    out
}

/// Envelope of a band for drawing: per bucket, the lowest `lo` and highest `hi`, at
/// most `max_points` x positions.
pub fn downsample_band(
    x: &[f64],
    lo: &[f64],
    hi: &[f64],
    max_points: usize,
) -> Vec<(f64, f64, f64)> {
    let len = x.len().min(lo.len()).min(hi.len());
    let pts: Vec<(f64, f64, f64)> = (0..len)
        .filter(|&i| x[i].is_finite() && lo[i].is_finite() && hi[i].is_finite())
        .map(|i| (x[i], lo[i], hi[i]))
        .collect();
    if pts.len() <= max_points.max(2) {
        return pts;
    }
    let buckets = max_points.max(2) - 1;
    let mut out: Vec<(f64, f64, f64)> = (0..buckets)
        .filter_map(|b| {
            let s = &pts[b * pts.len() / buckets..((b + 1) * pts.len() / buckets)];
            let first = s.first()?;
            let l = s.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let h = s.iter().map(|p| p.2).fold(f64::NEG_INFINITY, f64::max);
            Some((first.0, l, h))
        })
        .collect();
    out.extend(pts.last().copied());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, toml::Value)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn groups_ignore_seed_and_sort_numerically() {
        let s = |v: &str| toml::Value::String(v.into());
        let f = toml::Value::Float;
        let i = toml::Value::Integer;
        let configs = [
            cfg(&[("loss", s("wgan-clip")), ("clip", f(0.1)), ("seed", i(2))]),
            cfg(&[("loss", s("wgan-gp")), ("seed", i(1))]),
            cfg(&[("loss", s("wgan-clip")), ("clip", f(0.01)), ("seed", i(1))]),
            cfg(&[("loss", s("wgan-clip")), ("clip", f(0.1)), ("seed", i(1))]),
        ];
        let refs: Vec<&Config> = configs.iter().collect();
        let keys = varying_keys(&refs, &["loss".into(), "seed".into()]);
        assert_eq!(keys, ["loss", "clip"]);
        let mut g = group_runs(&refs, &keys);
        assert_eq!(concise_labels(&mut g, &["loss".into()]), ["loss", "clip"]);
        let labels: Vec<&str> = g.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "loss=wgan-clip clip=0.01",
                "loss=wgan-clip clip=0.1",
                "loss=wgan-gp"
            ]
        );
        assert_eq!(g[1].members, [3, 0]);
    }

    #[test]
    fn mean_band_handles_ragged_seeds() {
        let (x1, y1) = ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]);
        let (x2, y2) = ([1.0, 2.0], [3.0, f64::NAN]);
        let b = mean_band(&[(&x1, &y1), (&x2, &y2)]);
        let (x3, y3) = ([0.5, 2.0, 4.0], [1.0, 1.0, 1.0]);
        let c = mean_band(&[(&x1, &y1), (&x3, &y3), (&x2, &y2)]);
        assert_eq!(c.x, [0.5, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(c.n, [1, 2, 2, 1, 1]);
        assert_eq!(b.x, [1.0, 2.0, 3.0]);
        assert_eq!(b.mean, [2.0, 2.0, 3.0]);
        assert_eq!(b.n, [2, 1, 1]);
        assert!((b.std[0] - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!((b.min[0], b.max[0]), (1.0, 3.0));
    }

    #[test]
    fn ema_and_downsampling() {
        assert_eq!(ema(&[1.0, 3.0, f64::NAN, 3.0], 0.5)[..2], [1.0, 2.0]);
        assert_eq!(ema(&[1.0, 3.0], 1.0), [1.0, 3.0]);
        let x: Vec<f64> = (0..10_000).map(f64::from).collect();
        let mut y = vec![0.0; 10_000];
        y[5_000] = 100.0;
        let d = downsample_minmax(&x, &y, 1000);
        assert!(d.len() <= 1000);
        assert!(d.iter().any(|p| p.1 == 100.0), "spike kept");
        let band = downsample_band(&x, &y, &y, 500);
        assert!(band.len() <= 500 && band.iter().any(|p| p.2 == 100.0));
    }
}
