//! The statistics behind claim verdicts: summaries of a handful of seeds, Welch's t-test,
//! Hedges' g, the seeds a t-test needs for a given power, and Spearman's rank correlation.
//!
//! Distributions (Student's t, normal, chi-square) come from `statrs`; this module only
//! combines them. Every function is checked in the tests against SciPy 1.17 / statsmodels 0.15.

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};
use statrs::function::gamma::ln_gamma;
use statrs::statistics::{Data, Median};

/// The one significance level every verdict uses (one-sided).
pub const ALPHA: f64 = 0.05;
/// The power an "inconclusive" comparison's seed estimate aims for.
pub const POWER: f64 = 0.8;
/// Above this many seeds per side the estimate is reported as "more than".
pub const MAX_SEEDS: u64 = 100_000;
/// Up to this many points a Spearman p-value is exact (all n! pairings); above, the t
/// approximation SciPy's `spearmanr` uses.
pub const EXACT_SPEARMAN_MAX_N: usize = 9;

fn students_t(df: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, df).expect("df > 0")
}

// Not statrs's `Statistics::mean`: its running mean rounds differently and makes `[inf, x]` NaN.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n - 1 denominator); `None` below two values.
// Not statrs's `std_dev`: 0 for [0.1; 3] where ours gives 1.7e-17, flipping the no-spread paths.
pub fn sample_sd(xs: &[f64]) -> Option<f64> {
    (xs.len() >= 2).then(|| {
        let m = mean(xs);
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
    })
}

/// The median (mean of the two middle values for an even count; NaN when empty): statrs's,
/// which picks the middle values in total order like the sort it replaced.
pub fn median(xs: &[f64]) -> f64 {
    Data::new(xs.to_vec()).median()
}

/// Two-sided t confidence interval of the mean at `level` (e.g. 0.95); `None` below two values.
pub fn t_interval(xs: &[f64], level: f64) -> Option<(f64, f64)> {
    let half = t_half_width(xs, 0.5 + level / 2.0)?;
    let m = mean(xs);
    Some((m - half, m + half))
}

/// One-sided t confidence bound of the mean at `level`: the lower bound when `lower`, else the
/// upper bound.
pub fn t_bound(xs: &[f64], level: f64, lower: bool) -> Option<f64> {
    let half = t_half_width(xs, level)?;
    let m = mean(xs);
    Some(if lower { m - half } else { m + half })
}

fn t_half_width(xs: &[f64], quantile: f64) -> Option<f64> {
    let sd = sample_sd(xs)?;
    let n = xs.len() as f64;
    Some(students_t(n - 1.0).inverse_cdf(quantile) * sd / n.sqrt())
}

/// Welch's unequal-variances t-test of mean(a) against mean(b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// One-sided p-value for mean(a) > mean(b).
    pub p_greater: f64,
    /// One-sided p-value for mean(a) < mean(b).
    pub p_less: f64,
}

/// `None` when a side has fewer than two values or both sides have zero variance (the
/// standard error is 0 and t is 0/0 or infinite: the caller decides such cases explicitly).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    let (va, vb) = (sample_sd(a)?.powi(2), sample_sd(b)?.powi(2));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ea, eb) = (va / na, vb / nb);
    if ea + eb == 0.0 {
        return None;
    }
    let t = (mean(a) - mean(b)) / (ea + eb).sqrt();
    let df = (ea + eb).powi(2) / (ea * ea / (na - 1.0) + eb * eb / (nb - 1.0));
    let dist = students_t(df);
    Some(Welch {
        t,
        df,
        p_greater: dist.sf(t),
        p_less: dist.cdf(t),
    })
}

/// Hedges' g: Cohen's d on the pooled standard deviation, times the exact small-sample
/// correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)), df = na + nb - 2 (Hedges
/// 1981). Positive when mean(a) > mean(b). `None` with fewer than two values per side or a
/// pooled standard deviation of 0.
pub fn hedges_g(a: &[f64], b: &[f64]) -> Option<f64> {
    let (sa, sb) = (sample_sd(a)?, sample_sd(b)?);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let df = na + nb - 2.0;
    let pooled = (((na - 1.0) * sa * sa + (nb - 1.0) * sb * sb) / df).sqrt();
    if pooled == 0.0 {
        return None;
    }
    let j = (ln_gamma(df / 2.0) - ln_gamma((df - 1.0) / 2.0)).exp() / (df / 2.0).sqrt();
    Some(j * (mean(a) - mean(b)) / pooled)
}

/// Power of a one-sided two-sample t-test with `n` values per side at standardised effect
/// `d` and level `alpha`: P(T' > t_{1-alpha, 2n-2}) for T' noncentral t with 2n - 2 degrees of
/// freedom and noncentrality d sqrt(n/2). Computed as the integral over the chi-square
/// variable V of Phi(delta - t_crit sqrt(V / df)) (Simpson's rule), since `statrs` has no
/// noncentral t.
pub fn t_test_power(d: f64, n: u64, alpha: f64) -> f64 {
    let df = 2.0 * n as f64 - 2.0;
    let delta = d * (n as f64 / 2.0).sqrt();
    let crit = students_t(df).inverse_cdf(1.0 - alpha);
    let chi = ChiSquared::new(df).expect("df > 0");
    let phi = Normal::standard();
    let spread = 12.0 * (2.0 * df).sqrt();
    let (lo, hi) = ((df - spread).max(0.0), df + spread + 12.0);
    let steps = 4000;
    let h = (hi - lo) / steps as f64;
    let f = |v: f64| phi.cdf(delta - crit * (v / df).sqrt()) * chi.pdf(v);
    let inner: f64 = (1..steps)
        .map(|i| f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(lo) + inner + f(hi)) * h / 3.0
}

/// The smallest number of seeds per side (equal sizes, at least 2) for which a one-sided
/// two-sample t-test at level [`ALPHA`] has power [`POWER`] when the true standardised effect
/// is `d` (> 0). `None` when `d` is not positive and finite; [`MAX_SEEDS`] + 1 stands for
/// "more than [`MAX_SEEDS`]".
pub fn seeds_needed(d: f64) -> Option<u64> {
    if !(d.is_finite() && d > 0.0) {
        return None;
    }
    // The normal approximation is a lower bound of the t-test's answer: start there.
    let phi = Normal::standard();
    let z = phi.inverse_cdf(1.0 - ALPHA) + phi.inverse_cdf(POWER);
    let start = (2.0 * (z / d).powi(2)).ceil();
    if start > MAX_SEEDS as f64 {
        return Some(MAX_SEEDS + 1);
    }
    let mut n = (start as u64).max(2);
    while t_test_power(d, n, ALPHA) < POWER {
        n += 1;
        if n > MAX_SEEDS {
            return Some(MAX_SEEDS + 1);
        }
    }
    Some(n)
}

/// One-sided p-value of an exact permutation test on two groups of constant values that differ
/// (complete separation): 1 / C(na + nb, na), the chance that a random split puts every larger
/// value on one side (Mann-Whitney U at its extreme).
// Not 1 / statrs `binomial`: that goes through ln-factorials (see [`choose`]).
pub fn separation_p(na: usize, nb: usize) -> f64 {
    let (k, n) = (na.min(nb), na + nb);
    (0..k).fold(1.0, |p, i| p * (i + 1) as f64 / (n - i) as f64)
}

/// Ranks 1..n with ties given their average rank (SciPy's `rankdata(method="average")`).
// Not statrs's `ranks(Average)`: it panics on NaN and does not tie equal infinities.
pub fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut out = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = avg;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rank correlation with its one-sided p-values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spearman {
    pub rho: f64,
    pub n: usize,
    /// One-sided p-value for a positive correlation.
    pub p_positive: f64,
    /// One-sided p-value for a negative correlation.
    pub p_negative: f64,
    /// Whether the p-values are exact (all n! pairings) rather than the t approximation.
    pub exact: bool,
}

/// Spearman's rho (Pearson's r of the average ranks, as SciPy's `spearmanr`). P-values: exact
/// over all n! pairings of the ranks up to [`EXACT_SPEARMAN_MAX_N`] points; above, the t
/// approximation t = rho sqrt((n - 2) / (1 - rho^2)) with n - 2 degrees of freedom. `None`
/// with fewer than 3 points or when either side is constant (rho undefined).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<Spearman> {
    let n = x.len();
    if n < 3 || y.len() != n {
        return None;
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let centred = |r: &[f64]| {
        let m = mean(r);
        r.iter().map(|v| v - m).collect::<Vec<f64>>()
    };
    let (cx, cy) = (centred(&rx), centred(&ry));
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let norm = (dot(&cx, &cx) * dot(&cy, &cy)).sqrt();
    if norm == 0.0 {
        return None;
    }
    let s_obs = dot(&cx, &cy);
    let rho = (s_obs / norm).clamp(-1.0, 1.0);
    if n <= EXACT_SPEARMAN_MAX_N {
        let (ge, le, total) = permutation_counts(&cx, &cy, s_obs);
        return Some(Spearman {
            rho,
            n,
            p_positive: ge as f64 / total as f64,
            p_negative: le as f64 / total as f64,
            exact: true,
        });
    }
    let df = n as f64 - 2.0;
    let t = rho * (df / (1.0 - rho * rho)).sqrt();
    let dist = students_t(df);
    Some(Spearman {
        rho,
        n,
        p_positive: dist.sf(t),
        p_negative: dist.cdf(t),
        exact: false,
    })
}

/// Over all n! orderings of `y` against `x` (Heap's algorithm), how many give a rank covariance
/// at least / at most the observed one. A relative tolerance keeps ties in the statistic.
fn permutation_counts(x: &[f64], y: &[f64], observed: f64) -> (u64, u64, u64) {
    let tol = 1e-9 * (observed.abs() + 1.0);
    let mut y = y.to_vec();
    let (mut ge, mut le, mut total) = (0u64, 0u64, 0u64);
    let mut count = |y: &[f64]| {
        let s: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
        ge += u64::from(s >= observed - tol);
        le += u64::from(s <= observed + tol);
        total += 1;
    };
    count(&y);
    let mut c = vec![0usize; y.len()];
    let mut i = 1;
    while i < y.len() {
        if c[i] < i {
            y.swap(if i % 2 == 0 { 0 } else { c[i] }, i);
            count(&y);
            c[i] += 1;
            i = 1;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    (ge, le, total)
}

/// Up to this many splits the rank-sum test enumerates every split of the runs; above, the
/// normal approximation with the tie correction.
pub const EXACT_SPLITS_MAX: f64 = 200_000.0;

/// One-sided p-values of a test, for the two directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneSided {
    /// For "a is greater" (or the value above the bound).
    pub p_greater: f64,
    /// For "a is less" (or the value below the bound).
    pub p_less: f64,
}

/// The Wilcoxon-Mann-Whitney rank-sum test of `a` against `b` (mid-ranks for ties), exact over
/// every split of the pooled values into groups of their sizes while there are at most
/// [`EXACT_SPLITS_MAX`] splits. It needs no normality and no variance, so it suits integer and
/// capped metrics (modes covered) where Welch's assumptions fail, and a larger value moved to
/// the `a` side can only raise its rank sum. `None` when a side is empty.
pub fn rank_sum(a: &[f64], b: &[f64]) -> Option<OneSided> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let r = ranks(&pooled);
    let observed: f64 = r[..a.len()].iter().sum();
    let tol = 1e-9 * observed.abs().max(1.0);
    if choose(pooled.len(), a.len()) > EXACT_SPLITS_MAX {
        return Some(rank_sum_normal(&r, a.len(), observed));
    }
    let (mut ge, mut le, mut total) = (0u64, 0u64, 0u64);
    for_each_subset_sum(&r, a.len(), &mut |s| {
        ge += u64::from(s >= observed - tol);
        le += u64::from(s <= observed + tol);
        total += 1;
    });
    Some(OneSided {
        p_greater: ge as f64 / total as f64,
        p_less: le as f64 / total as f64,
    })
}

/// The binomial coefficient as a float (exact for the sizes used here).
// Not statrs's `binomial`: via ln-factorials it is off by units from C(48, 25) on.
pub fn choose(n: usize, k: usize) -> f64 {
    let k = k.min(n - k.min(n));
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `f` with the sum of every `k`-element subset of `r`.
fn for_each_subset_sum(r: &[f64], k: usize, f: &mut dyn FnMut(f64)) {
    fn walk(r: &[f64], start: usize, left: usize, sum: f64, f: &mut dyn FnMut(f64)) {
        if left == 0 {
            return f(sum);
        }
        for i in start..=r.len() - left {
            walk(r, i + 1, left - 1, sum + r[i], f);
        }
    }
    walk(r, 0, k, 0.0, f);
}

/// Normal approximation of the rank-sum test (tie-corrected variance, continuity correction).
fn rank_sum_normal(r: &[f64], na: usize, observed: f64) -> OneSided {
    let n = r.len() as f64;
    let na_f = na as f64;
    let nb = n - na_f;
    let m = na_f * (n + 1.0) / 2.0;
    let mean_r = mean(r);
    let var_r = r.iter().map(|x| (x - mean_r).powi(2)).sum::<f64>() / n;
    let var = na_f * nb / (n - 1.0) * var_r;
    let phi = Normal::standard();
    if var == 0.0 {
        return OneSided {
            p_greater: 1.0,
            p_less: 1.0,
        };
    }
    let sd = var.sqrt();
    OneSided {
        p_greater: phi.sf((observed - m - 0.5) / sd),
        p_less: phi.cdf((observed - m + 0.5) / sd),
    }
}

/// One-sample t-test of mean(xs) against `mu`. `None` below two values or with no spread (the
/// caller falls back to the sign test, which needs neither).
pub fn one_sample_t(xs: &[f64], mu: f64) -> Option<OneSided> {
    let sd = sample_sd(xs)?;
    if sd == 0.0 || !sd.is_finite() {
        return None;
    }
    let n = xs.len() as f64;
    let t = (mean(xs) - mu) / (sd / n.sqrt());
    let dist = students_t(n - 1.0);
    Some(OneSided {
        p_greater: dist.sf(t),
        p_less: dist.cdf(t),
    })
}

/// P(Binomial(n, 1/2) >= k): the exact one-sided sign-test p-value of `k` of `n` seeds on
/// one side of a bound when, under the null, each is there with probability 1/2.
// Not statrs's `Binomial::sf`: its beta_reg is not exact (1e-13 off at n = 30, 2e-12 at 1000).
pub fn sign_p(k: usize, n: usize) -> f64 {
    (k..=n).map(|i| choose(n, i)).sum::<f64>() / 2f64.powi(n as i32)
}

/// Holm's step-down adjusted p-values (Holm 1979), in the input order: rejecting every
/// adjusted p <= alpha keeps the chance of any false rejection among the parts at most alpha.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let k = ps.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut out = vec![1.0; k];
    let mut running: f64 = 0.0;
    for (i, &j) in order.iter().enumerate() {
        running = running.max(((k - i) as f64 * ps[j]).min(1.0));
        out[j] = running;
    }
    out
}

/// The standard normal's upper quantile: z with P(Z > z) = p.
pub fn z_upper(p: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - p)
}

/// The standard normal's survival function P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    Normal::standard().sf(z)
}

/// Variance factor of Fisher's z of Spearman's rho: var(atanh rho) ~ 1.06 / (n - 3)
/// (Fieller, Hartley and Pearson 1957).
pub const SPEARMAN_Z_VAR: f64 = 1.06;

/// Lag-k autocorrelation of `x` (the usual biased estimator).
pub fn autocorrelation(x: &[f64], k: usize) -> f64 {
    let m = mean(x);
    let den: f64 = x.iter().map(|v| (v - m).powi(2)).sum();
    if den == 0.0 || k >= x.len() {
        return 0.0;
    }
    let num: f64 = (0..x.len() - k).map(|i| (x[i] - m) * (x[i + k] - m)).sum();
    num / den
}

/// The effective number of independent points of the correlation of two autocorrelated series
/// (Pyper and Peterman 1998, from Bartlett 1946): 1/n_eff = 1/n + (2/n) sum_k (n-k)/n
/// rho_x(k) rho_y(k), lags up to n/5; never above n, never below 3.
pub fn effective_n(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let lags = x.len() / 5;
    let s: f64 = (1..=lags)
        .map(|k| (n - k as f64) / n * autocorrelation(x, k) * autocorrelation(y, k))
        .sum();
    let inv = 1.0 / n + 2.0 / n * s;
    if inv <= 0.0 {
        n
    } else {
        (1.0 / inv).clamp(3.0, n)
    }
}

/// Spearman's rho of the first differences of two series observed at the same steps, with
/// Fisher's z scaled to a standard normal under independence (effective n from
/// [`effective_n`] on the differences' ranks). Differencing removes a shared drift: two
/// quantities that both fall during training correlate in level whatever they measure, but
/// their step-to-step changes only correlate when one moves with the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiffCorrelation {
    pub rho: f64,
    /// Differences (points - 1).
    pub n: usize,
    pub n_eff: f64,
    /// atanh(rho) / sqrt(1.06 / (n_eff - 3)): standard normal under no association.
    pub z: f64,
}

/// `None` below 5 points (n_eff - 3 must stay positive) or when a difference series is constant.
pub fn diff_correlation(x: &[f64], y: &[f64]) -> Option<DiffCorrelation> {
    if x.len() < 5 || y.len() != x.len() {
        return None;
    }
    let diff = |v: &[f64]| v.windows(2).map(|w| w[1] - w[0]).collect::<Vec<f64>>();
    let (dx, dy) = (diff(x), diff(y));
    let s = spearman(&dx, &dy)?;
    let n_eff = effective_n(&ranks(&dx), &ranks(&dy)).max(4.0);
    let rho = s.rho.clamp(-0.999_999, 0.999_999);
    Some(DiffCorrelation {
        rho,
        n: dx.len(),
        n_eff,
        z: rho.atanh() / (SPEARMAN_Z_VAR / (n_eff - 3.0)).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    // Reference values: SciPy 1.17.1 and statsmodels 0.15.0; the call is in each comment.

    #[test]
    fn welch_matches_scipy() {
        // stats.ttest_ind([0.15,0.16,0.14], [1.7,1.9,1.6], equal_var=False, alternative='less')
        let w = welch(&[0.15, 0.16, 0.14], &[1.7, 1.9, 1.6]).unwrap();
        assert!(close(w.t, -17.914964302111972, 1e-12), "{w:?}");
        assert!(close(w.df, 2.0171425422798355, 1e-12), "{w:?}");
        assert!(close(w.p_less, 0.0014923762088315665, 1e-6), "{w:?}");
        // stats.ttest_ind([1.0,1.3,0.8], [1.1,1.4,0.9], equal_var=False, alternative=...)
        let w = welch(&[1.0, 1.3, 0.8], &[1.1, 1.4, 0.9]).unwrap();
        assert!(close(w.p_less, 0.32597934818757734, 1e-6), "{w:?}");
        assert!(close(w.p_greater, 0.6740206518124227, 1e-6), "{w:?}");
        // Unequal sizes: ([5,6,7,8], [1,2], alternative='greater')
        let w = welch(&[5.0, 6.0, 7.0, 8.0], &[1.0, 2.0]).unwrap();
        assert!(close(w.t, 6.123724356957945, 1e-12), "{w:?}");
        assert!(close(w.df, 3.6923076923076925, 1e-12), "{w:?}");
        assert!(close(w.p_greater, 0.0023302521329750343, 1e-6), "{w:?}");
        // One side constant: ([8,8,8], [6,7,8], alternative='greater')
        let w = welch(&[8.0, 8.0, 8.0], &[6.0, 7.0, 8.0]).unwrap();
        assert!(close(w.df, 2.0, 1e-12), "{w:?}");
        assert!(close(w.p_greater, 0.11270166537925833, 1e-6), "{w:?}");
        // Both constant, or a single value: no test.
        assert_eq!(welch(&[8.0, 8.0], &[6.0, 6.0]), None);
        assert_eq!(welch(&[1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn confidence_intervals_match_scipy() {
        // stats.t.interval(0.95, n-1, loc=mean, scale=sd/sqrt(n)); one-sided: mean - t.ppf(0.95) se
        let (lo, hi) = t_interval(&[0.15, 0.16, 0.14], 0.95).unwrap();
        assert!(close(lo, 0.1251586228824967, 1e-9) && close(hi, 0.17484137711750328, 1e-9));
        let (lo, hi) = t_interval(&[7.0, 8.0, 8.0], 0.95).unwrap();
        assert!(close(lo, 6.232449090083513, 1e-9) && close(hi, 9.100884243249821, 1e-9));
        let lower = t_bound(&[7.0, 8.0, 8.0], 0.95, true).unwrap();
        assert!(close(lower, 6.693338139882092, 1e-9), "{lower}");
        let lower = t_bound(&[1.0, 1.3, 0.8], 0.95, true).unwrap();
        assert!(close(lower, 0.6090692646214049, 1e-9), "{lower}");
        assert_eq!(t_interval(&[1.0], 0.95), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn hedges_g_matches_exact_correction() {
        // d = (mean a - mean b) / pooled sd, J = exp(lgamma(df/2) - lgamma((df-1)/2)) / sqrt(df/2)
        let g = hedges_g(&[0.15, 0.16, 0.14], &[1.7, 1.9, 1.6]).unwrap();
        assert!(close(g, -11.6710620782174, 1e-10), "{g}");
        let g = hedges_g(&[1.1, 1.4, 0.9], &[1.0, 1.3, 0.8]).unwrap();
        assert!(close(g, 0.3170471753958083, 1e-10), "{g}");
        assert_eq!(hedges_g(&[8.0, 8.0], &[6.0, 6.0]), None);
    }

    #[test]
    fn power_and_seeds_match_statsmodels() {
        // TTestIndPower().power(d, nobs1=n, alpha=0.05, alternative='larger')
        for (d, n, want) in [
            (0.5, 10, 0.28476349135125045),
            (1.0, 5, 0.4214482649585045),
            (2.0, 3, 0.6452020867588502),
            (0.3, 50, 0.43832544490474734),
            (2.0, 4, 0.8015343250872813),
        ] {
            let p = t_test_power(d, n, ALPHA);
            assert!(close(p, want, 1e-6), "d={d} n={n}: {p} vs {want}");
        }
        // ceil(TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8,
        // alternative='larger')): 124, 51, 14, 4, 310.
        for (d, want) in [
            (0.3170471753958083, 124),
            (0.5, 51),
            (1.0, 14),
            (2.0, 4),
            (0.2, 310),
        ] {
            assert_eq!(seeds_needed(d), Some(want), "d={d}");
        }
        assert_eq!(seeds_needed(0.0), None);
        assert_eq!(seeds_needed(-1.0), None);
        assert_eq!(seeds_needed(1e-4), Some(MAX_SEEDS + 1));
    }

    #[test]
    fn separation_p_is_one_over_binomial() {
        assert!(close(separation_p(3, 3), 1.0 / 20.0, 1e-12));
        assert!(close(separation_p(4, 4), 1.0 / 70.0, 1e-12));
        assert!(close(separation_p(2, 5), 1.0 / 21.0, 1e-12));
        assert!(close(separation_p(1, 1), 0.5, 1e-12));
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 5.0]), vec![2.5, 4.0, 2.5, 1.0]);
    }

    #[test]
    fn spearman_matches_scipy() {
        // stats.spearmanr(x, -x**2, alternative='less') for x = 1..10: rho -1, p ~ 3e-64
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| -v * v).collect();
        let s = spearman(&x, &y).unwrap();
        assert_eq!(s.rho, -1.0);
        assert!(
            !s.exact && s.p_negative < 1e-10 && s.p_positive > 0.99,
            "{s:?}"
        );
        // stats.spearmanr(1..12, [3,1,4,1,5,9,2,6,5,3,5,8], alternative='greater' / 'less')
        let x: Vec<f64> = (1..=12).map(f64::from).collect();
        let y = [3., 1., 4., 1., 5., 9., 2., 6., 5., 3., 5., 8.];
        let s = spearman(&x, &y).unwrap();
        assert!(close(s.rho, 0.5265313520914635, 1e-12), "{s:?}");
        assert!(close(s.p_positive, 0.03931523406816229, 1e-6), "{s:?}");
        assert!(close(s.p_negative, 0.9606847659318377, 1e-6), "{s:?}");
        // Exact: stats.permutation_test((x,), lambda xx: spearmanr(xx, y).statistic,
        // permutation_type='pairings', alternative=..., n_resamples=np.inf)
        let x = [1., 2., 3., 4., 5., 6., 7.];
        let s = spearman(&x, &[2., 1., 4., 3., 7., 5., 6.]).unwrap();
        assert!(s.exact && close(s.rho, 0.8214285714285715, 1e-12), "{s:?}");
        assert!(close(s.p_positive, 0.017063492063492062, 1e-12), "{s:?}");
        assert!(close(s.p_negative, 0.9880952380952381, 1e-12), "{s:?}");
        let x = [1., 2., 3., 4., 5., 6., 7., 8.];
        let s = spearman(&x, &[1., 1., 2., 2., 3., 5., 4., 4.]).unwrap();
        assert!(close(s.rho, 0.909241209316635, 1e-12), "{s:?}");
        assert!(close(s.p_positive, 0.001984126984126984, 1e-12), "{s:?}");
        let x = [1., 2., 3., 4., 5., 6., 7., 8., 9.];
        let s = spearman(&x, &[9., 8., 7., 6., 5., 4., 3., 1., 2.]).unwrap();
        assert!(close(s.rho, -0.9833333333333333, 1e-12), "{s:?}");
        assert!(close(s.p_negative, 2.48015873015873e-05, 1e-12), "{s:?}");
        // Three points: a perfect rank order happens by chance 1 time in 6.
        let s = spearman(&[1., 2., 3.], &[3., 2., 1.]).unwrap();
        assert!(close(s.p_negative, 1.0 / 6.0, 1e-12), "{s:?}");
        assert_eq!(spearman(&[1., 2.], &[2., 1.]), None);
        assert_eq!(spearman(&[1., 2., 3.], &[5., 5., 5.]), None);
    }
}
