//! Budget and distribution views of a sampled study (Lucic et al. 2018, "Are GANs Created
//! Equal?", Figure 4): per group of draws (e.g. per loss), the distribution of the final scores
//! over the drawn settings, and the expected best score when k settings are drawn.
//!
//! The paper estimates the best of k by resampling its draws (a bootstrap with replacement).
//! The resampling distribution of the best of k draws from n scores is known exactly, so the
//! curve and its band are computed from it rather than by Monte Carlo: with the scores sorted
//! best first, the best of k is the i-th with probability `((n-i+1)/n)^k - ((n-i)/n)^k`. The
//! curve is that distribution's mean, the band its 2.5% and 97.5% quantiles; the numbers are
//! those of infinitely many bootstrap resamples, the same on every machine and every redraw.

pub(crate) mod view;

use std::collections::{BTreeMap, HashSet};

use crate::load::{Run, Status};
use harness_core::results::metrics::Direction;

/// Lower and upper quantile of the band.
pub const BAND: (f64, f64) = (0.025, 0.975);

/// One group's drawn settings, for one score.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetGroup {
    /// The values of the group keys (`wgan-gp`), or `all draws`.
    pub label: String,
    /// Final score of each drawn setting with one (the mean over its finished seeds), in
    /// draw order.
    pub scores: Vec<f64>,
    /// Drawn settings that finished without a finite score (diverged, or failed).
    pub no_score: usize,
}

/// The expected best of k draws and its band, for k = 1..=n.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetCurve {
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// `scores` ordered best first (ascending for a lower-is-better score).
pub fn best_first(scores: &[f64], dir: Direction) -> Vec<f64> {
    let mut s: Vec<f64> = scores.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    if dir == Direction::Higher {
        s.reverse();
    }
    s
}

/// P(the best of k draws with replacement from n is among the first i, best first).
fn p_within(n: usize, i: usize, k: usize) -> f64 {
    1.0 - ((n - i) as f64 / n as f64).powi(k as i32)
}

/// The exact mean of the best of `k` draws with replacement from `sorted` (best first).
pub fn expected_best(sorted: &[f64], k: usize) -> f64 {
    let n = sorted.len();
    let mut prev = 0.0;
    let mut sum = 0.0;
    for (i, x) in sorted.iter().enumerate() {
        let p = p_within(n, i + 1, k);
        sum += x * (p - prev);
        prev = p;
    }
    sum
}

/// The `q` quantile of the best of `k` draws from `sorted` (best first): the first score whose
/// cumulative probability reaches `q`.
pub fn best_quantile(sorted: &[f64], k: usize, q: f64) -> f64 {
    let n = sorted.len();
    (1..=n)
        .find(|&i| p_within(n, i, k) >= q - 1e-12)
        .map_or(f64::NAN, |i| sorted[i - 1])
}

/// The budget curve of one group's scores, k = 1..=n.
pub fn curve(scores: &[f64], dir: Direction) -> BudgetCurve {
    let sorted = best_first(scores, dir);
    let ks = 1..=sorted.len();
    let ends = |k| {
        let (a, b) = (
            best_quantile(&sorted, k, BAND.0),
            best_quantile(&sorted, k, BAND.1),
        );
        (a.min(b), a.max(b))
    };
    BudgetCurve {
        mean: ks.clone().map(|k| expected_best(&sorted, k)).collect(),
        lo: ks.clone().map(|k| ends(k).0).collect(),
        hi: ks.map(|k| ends(k).1).collect(),
    }
}

/// Quartiles, Tukey whiskers (the furthest scores within 1.5 IQR of the box) and the scores
/// beyond them.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxStats {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub whisker_lo: f64,
    pub whisker_hi: f64,
    pub outliers: Vec<f64>,
}

/// The `q` quantile by linear interpolation between order statistics (NumPy's default).
/// Not statrs's `quantile`, R's type 8: of [1, 2, 3, 4, 100] its 25% is 1.67, ours 2.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// Box-plot numbers of the finite `scores`; `None` without any.
pub fn box_stats(scores: &[f64]) -> Option<BoxStats> {
    let s = best_first(scores, Direction::Lower);
    if s.is_empty() {
        return None;
    }
    let (q1, median, q3) = (quantile(&s, 0.25), quantile(&s, 0.5), quantile(&s, 0.75));
    let reach = 1.5 * (q3 - q1);
    let inside = |x: &&f64| **x >= q1 - reach && **x <= q3 + reach;
    Some(BoxStats {
        q1,
        median,
        q3,
        whisker_lo: s.iter().find(inside).copied().unwrap_or(q1),
        whisker_hi: s.iter().rev().find(inside).copied().unwrap_or(q3),
        outliers: s.iter().filter(|x| !inside(x)).copied().collect(),
    })
}

/// The drawn settings among `members` (runs whose hash is in `sampled`), grouped by the values
/// of `keys`, each setting scored by the mean final `metric` of its finished seeds. Running
/// and pending settings are left out until they finish.
pub fn groups(
    runs: &[Run],
    members: impl Iterator<Item = usize>,
    sampled: &HashSet<&str>,
    keys: &[String],
    metric: &str,
) -> Vec<BudgetGroup> {
    // Setting (config minus seed) -> its group's label and its seeds' final scores.
    let mut settings: Vec<(String, String, Vec<f64>, bool)> = Vec::new();
    for i in members.filter(|&i| sampled.contains(runs[i].hash.as_str())) {
        let r = &runs[i];
        let finished = matches!(r.status, Status::Done | Status::Diverged | Status::Failed);
        if !finished {
            continue;
        }
        let mut setting: BTreeMap<&String, String> = BTreeMap::new();
        for (k, v) in r.config.iter().filter(|(k, _)| k.as_str() != "seed") {
            setting.insert(k, v.to_string());
        }
        let id = format!("{setting:?}");
        let score = (r.status == Status::Done)
            .then(|| r.eval.get(metric).and_then(|e| e.value.last().copied()))
            .flatten()
            .filter(|x| x.is_finite());
        let at = match settings.iter().position(|s| s.0 == id) {
            Some(at) => at,
            None => {
                settings.push((id, label(r, keys), Vec::new(), false));
                settings.len() - 1
            }
        };
        settings[at].2.extend(score);
        settings[at].3 = true;
    }
    let mut out: Vec<BudgetGroup> = Vec::new();
    for (_, label, scores, _) in settings {
        let at = match out.iter().position(|g| g.label == label) {
            Some(at) => at,
            None => {
                out.push(BudgetGroup {
                    label,
                    scores: Vec::new(),
                    no_score: 0,
                });
                out.len() - 1
            }
        };
        if scores.is_empty() {
            out[at].no_score += 1;
        } else {
            out[at]
                .scores
                .push(scores.iter().sum::<f64>() / scores.len() as f64);
        }
    }
    out
}

/// A group's name: the values of `keys` in `r`'s settings.
fn label(r: &Run, keys: &[String]) -> String {
    if keys.is_empty() {
        return "all draws".into();
    }
    keys.iter()
        .map(|k| r.setting(k).unwrap_or_else(|| "–".into()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The curve against the closed form worked by hand for three scores, both directions.
    #[test]
    fn expected_best_matches_a_hand_computation() {
        let scores = [3.0, 1.0, 2.0];
        let c = curve(&scores, Direction::Lower);
        // k = 1: the mean. k = 2: P(min = 1) = 1 - (2/3)^2 = 5/9, P(min = 2) = (2/3)^2 -
        // (1/3)^2 = 3/9, P(min = 3) = 1/9: (5 + 6 + 3) / 9 = 14/9.
        assert!((c.mean[0] - 2.0).abs() < 1e-12);
        assert!((c.mean[1] - 14.0 / 9.0).abs() < 1e-12, "{:?}", c.mean);
        // k = 3: 1 * 19/27 + 2 * 7/27 + 3 * 1/27 = 36/27.
        assert!((c.mean[2] - 36.0 / 27.0).abs() < 1e-12);
        // Band at k = 3: P(min = 1) = 19/27 >= 0.025, so the lower end is 1; the upper end is
        // where the cumulative reaches 0.975: 19/27, 26/27 = 0.963, 1: 3.
        assert_eq!((c.lo[2], c.hi[2]), (1.0, 3.0));
        let up = curve(&scores, Direction::Higher);
        assert!((up.mean[1] - (5.0 * 3.0 + 3.0 * 2.0 + 1.0) / 9.0).abs() < 1e-12);
    }

    /// Against a plain bootstrap: resample k of the scores with replacement, take the best;
    /// the exact mean lies within three standard errors of 20,000 resamples and the exact
    /// quantiles within the resampled ones' spread.
    #[test]
    fn the_exact_curve_is_the_bootstrap_limit() {
        let scores = [0.31, 0.12, 0.55, 0.47, 0.09, 0.73, 0.28, 0.64];
        let c = curve(&scores, Direction::Lower);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for k in [1, 2, 4] {
            let mut best: Vec<f64> = (0..20_000)
                .map(|_| {
                    (0..k)
                        .map(|_| scores[rng.random_range(0..scores.len())])
                        .fold(f64::INFINITY, f64::min)
                })
                .collect();
            let m = best.iter().sum::<f64>() / best.len() as f64;
            let sd = (best.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 19_999.0).sqrt();
            let se = sd / (20_000f64).sqrt();
            assert!(
                (c.mean[k - 1] - m).abs() < 3.0 * se,
                "k {k}: {} vs {m}",
                c.mean[k - 1]
            );
            best.sort_by(f64::total_cmp);
            assert_eq!(c.lo[k - 1], best[(0.025 * 20_000.0) as usize], "k {k}");
            assert_eq!(c.hi[k - 1], best[(0.975 * 20_000.0) as usize], "k {k}");
        }
    }

    #[test]
    fn box_numbers_are_numpys() {
        // numpy.percentile([1, 2, 3, 4, 100], [25, 50, 75]) = 2, 3, 4; 100 > 4 + 1.5 * 2.
        let b = box_stats(&[4.0, 100.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((b.q1, b.median, b.q3), (2.0, 3.0, 4.0));
        assert_eq!((b.whisker_lo, b.whisker_hi), (1.0, 4.0));
        assert_eq!(b.outliers, [100.0]);
        assert_eq!(quantile(&[1.0, 2.0], 0.25), 1.25);
        assert!(box_stats(&[f64::NAN]).is_none());
    }
}
