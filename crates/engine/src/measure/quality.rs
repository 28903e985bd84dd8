//! Sample-quality metrics on plain slices (no Burn): Fréchet distance, classifier
//! score, class histograms, 2-D mode metrics, sliced Wasserstein and improved
//! precision/recall.
//!
//! Inputs are the `f32` values a model produces; everything is accumulated in `f64`
//! so that metrics do not drift with sample count or summation order. Inputs that
//! make a metric undefined (empty sets, ragged rows, bad `k`) panic with a message
//! rather than returning a silent `NaN`.

use super::{Poll, Stopped};
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, Dyn, SymmetricEigen};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Mean and covariance of a set of feature vectors, the sufficient statistics of the
/// Fréchet distance (Heusel et al. 2017).
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// Feature dimension.
    pub dim: usize,
    /// Mean, `dim` values.
    pub mean: Vec<f64>,
    /// Unbiased covariance (divides by `n - 1`), `dim * dim` values, row-major.
    pub cov: Vec<f64>,
}

/// Fits mean and unbiased covariance (`n - 1`; with a single row the covariance is
/// zero) to `features`, rows of `dim` `f32` values, accumulating in `f64`.
///
/// Two-pass (centre, then accumulate) so that large common offsets do not cancel.
///
/// # Panics
/// If `dim == 0`, `features` is empty, or its length is not a multiple of `dim`.
pub fn fit_gaussian(features: &[f32], dim: usize) -> Gaussian {
    let n = rows(features, dim, "fit_gaussian");
    let mut mean = vec![0.0f64; dim];
    for row in features.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += f64::from(x);
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut cov = vec![0.0f64; dim * dim];
    let mut centred = vec![0.0f64; dim];
    for row in features.chunks_exact(dim) {
        for ((c, &x), &m) in centred.iter_mut().zip(row).zip(&mean) {
            *c = f64::from(x) - m;
        }
        // Upper triangle only; mirrored below.
        for i in 0..dim {
            let ci = centred[i];
            for (acc, &cj) in cov[i * dim + i..(i + 1) * dim]
                .iter_mut()
                .zip(&centred[i..])
            {
                *acc += ci * cj;
            }
        }
    }
    let denom = n.saturating_sub(1).max(1) as f64;
    for i in 0..dim {
        for j in i..dim {
            let v = cov[i * dim + j] / denom;
            cov[i * dim + j] = v;
            cov[j * dim + i] = v;
        }
    }
    Gaussian { dim, mean, cov }
}

/// Fréchet (2-Wasserstein) distance between two Gaussians,
/// `||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})`, the FID formula of
/// Heusel et al. 2017 ("GANs trained by a two time-scale update rule ...").
///
/// `Tr (S1 S2)^{1/2}` is computed as the sum of square roots of the eigenvalues of the
/// symmetric PSD matrix `S1^{1/2} S2 S1^{1/2}` (similar to `S1 S2`), via
/// `SymmetricEigen`, clamping tiny negative eigenvalues (rounding) to 0. This avoids
/// the complex-valued `sqrtm` of a non-symmetric product used by the reference code
/// and handles singular covariances. The result is clamped at 0.
///
/// # Panics
/// If the dimensions differ or the covariances do not have `dim * dim` entries.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let d = a.dim;
    assert_eq!(d, b.dim, "frechet_distance: dimension mismatch");
    assert!(
        a.mean.len() == d && b.mean.len() == d && a.cov.len() == d * d && b.cov.len() == d * d,
        "frechet_distance: malformed Gaussian"
    );
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let s1 = sym_matrix(&a.cov, d);
    let s2 = sym_matrix(&b.cov, d);
    let sqrt_s1 = psd_sqrt(s1.clone());
    let m = &sqrt_s1 * &s2 * &sqrt_s1;
    let m = (&m + m.transpose()) * 0.5;
    let tr_sqrt: f64 = SymmetricEigen::new(m)
        .eigenvalues
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    (mean_term + s1.trace() + s2.trace() - 2.0 * tr_sqrt).max(0.0)
}

/// Builds a `d x d` matrix from row-major data, symmetrised against rounding.
fn sym_matrix(data: &[f64], d: usize) -> DMatrix<f64> {
    let m = DMatrix::from_row_slice(d, d, data);
    (&m + m.transpose()) * 0.5
}

/// Principal square root of a symmetric PSD matrix, `V diag(sqrt(max(l, 0))) V^T`.
fn psd_sqrt(m: DMatrix<f64>) -> DMatrix<f64> {
    let eig = SymmetricEigen::new(m);
    let roots = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    let v = &eig.eigenvectors;
    v * DMatrix::from_diagonal(&roots) * v.transpose()
}

/// Classifier score `exp(E_x KL(p(y|x) || p(y)))`, the Inception Score formula
/// (Salimans et al. 2016) evaluated with our own classifier; `p(y)` is the mean of
/// the rows. `probs` holds rows of `n_classes` softmax probabilities (used as given,
/// not renormalised; `0 ln 0 = 0`). Ranges from 1 (all rows equal) to `n_classes`
/// (confident and uniformly spread).
///
/// # Panics
/// If `n_classes == 0`, `probs` is empty, or its length is not a multiple of `n_classes`.
pub fn classifier_score(probs: &[f32], n_classes: usize) -> f64 {
    let n = rows(probs, n_classes, "classifier_score");
    let mut marginal = vec![0.0f64; n_classes];
    for row in probs.chunks_exact(n_classes) {
        for (m, &p) in marginal.iter_mut().zip(row) {
            *m += f64::from(p);
        }
    }
    for m in &mut marginal {
        *m /= n as f64;
    }
    let mut kl_sum = 0.0f64;
    for row in probs.chunks_exact(n_classes) {
        for (&p, &m) in row.iter().zip(&marginal) {
            let p = f64::from(p);
            if p > 0.0 {
                kl_sum += p * (p / m).ln();
            }
        }
    }
    (kl_sum / n as f64).exp()
}

/// Histogram of predicted (argmax) classes, a mode-collapse diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassHistogram {
    /// Samples per predicted class.
    pub counts: Vec<usize>,
    /// `KL(hist || uniform)` in nats: 0 when balanced, `ln(n_classes)` when collapsed
    /// onto one class (also the value used when there are no rows).
    pub kl_to_uniform: f64,
    /// Classes predicted for at least one sample.
    pub covered: usize,
}

/// Argmax class per row (first index wins ties; `NaN` entries are skipped and an
/// all-`NaN` row counts as class 0), then
/// `KL(hist || uniform)` and the number of covered classes. With no rows the counts
/// are all zero and the KL is `ln(n_classes)`, the same as total collapse.
///
/// # Panics
/// If `n_classes == 0` or the length of `probs` is not a multiple of `n_classes`.
pub fn class_histogram(probs: &[f32], n_classes: usize) -> ClassHistogram {
    assert!(n_classes > 0, "class_histogram: n_classes must be > 0");
    assert_eq!(
        probs.len() % n_classes,
        0,
        "class_histogram: length is not a multiple of n_classes"
    );
    let mut counts = vec![0usize; n_classes];
    for row in probs.chunks_exact(n_classes) {
        counts[argmax(row)] += 1;
    }
    ClassHistogram::of(counts)
}

/// The index of a row's largest entry: the first wins ties, `NaN` entries are skipped, and an
/// all-`NaN` row gives 0.
pub fn argmax(row: &[f32]) -> usize {
    let mut best: Option<usize> = None;
    for (i, &p) in row.iter().enumerate() {
        if !p.is_nan() && best.is_none_or(|b| p > row[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(0)
}

impl ClassHistogram {
    /// The histogram of `counts`: its `KL(hist || uniform)` and the classes with a sample.
    pub fn of(counts: Vec<usize>) -> Self {
        ClassHistogram {
            kl_to_uniform: kl_js_to_uniform(&counts).0,
            covered: counts.iter().filter(|&&c| c > 0).count(),
            counts,
        }
    }
}

/// Default `n_std` for [`mode_metrics`]: "within three standard deviations" (VEEGAN, PacGAN).
pub const DEFAULT_N_STD: f64 = 3.0;

/// Mode-collapse metrics on a 2-D Gaussian mixture (ring / grid benchmarks).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeMetrics {
    /// Number of mixture modes.
    pub n_modes: usize,
    /// Modes with at least one high-quality sample assigned (VEEGAN's and PacGAN's count).
    pub modes_covered: usize,
    /// Modes whose high-quality samples are at least 1% of *all* samples: a mode the generator
    /// actually puts mass on, where `modes_covered` also counts one stray sample.
    pub modes_covered_1pct: usize,
    /// Fraction of all samples that are high quality (0 when there are no samples).
    pub high_quality_frac: f64,
    /// `KL(hist || uniform)` of the high-quality samples' mode histogram, nats.
    pub mode_kl: f64,
    /// `JS(hist, uniform)` of the same histogram, nats (at most `ln 2`).
    pub mode_js: f64,
    /// High-quality samples per mode.
    pub counts: Vec<usize>,
}

/// Mode metrics of Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN). VEEGAN's
/// synthetic-data experiments: "count a sample as high quality, if it is within three standard
/// deviations of the nearest mode ... the number of modes captured as the number of mixture
/// components whose mean is nearest to at least one high quality sample".
///
/// Exact rule: each sample is assigned to its nearest mode (Euclidean, lowest index
/// on ties) and is *high quality* iff that distance is `<= n_std * std` (`std` is the
/// per-axis standard deviation of each mixture component; use [`DEFAULT_N_STD`]).
/// A mode is *covered* iff at least one high-quality sample is assigned to it (the original
/// count); the strict count `modes_covered_1pct` takes a mode iff its high-quality samples are at
/// least 1% of all samples (`100 * count >= n`, so with 2,500 samples at least 25; a uniform
/// generator puts 12.5% on each of 8 modes).
/// `mode_kl` / `mode_js` compare the high-quality histogram to uniform (natural log).
///
/// Convention when no sample is high quality (or there are no samples): the
/// histogram is treated as totally collapsed, i.e. `mode_kl = ln(n_modes)` and
/// `mode_js = JS(one-hot, uniform)`, the worst finite values, so that averages and
/// plots stay finite and "no good samples" never looks better than collapse.
///
/// # Panics
/// If `modes` is empty.
pub fn mode_metrics(samples: &[[f32; 2]], modes: &[[f64; 2]], std: f64, n_std: f64) -> ModeMetrics {
    assert!(!modes.is_empty(), "mode_metrics: no modes");
    let threshold_sq = (n_std * std) * (n_std * std);
    let mut counts = vec![0usize; modes.len()];
    let mut high_quality = 0usize;
    for s in samples {
        let (x, y) = (f64::from(s[0]), f64::from(s[1]));
        let mut best = (0usize, f64::INFINITY);
        for (i, m) in modes.iter().enumerate() {
            let d2 = (x - m[0]) * (x - m[0]) + (y - m[1]) * (y - m[1]);
            if d2 < best.1 {
                best = (i, d2);
            }
        }
        if best.1 <= threshold_sq {
            counts[best.0] += 1;
            high_quality += 1;
        }
    }
    let (mode_kl, mode_js) = kl_js_to_uniform(&counts);
    ModeMetrics {
        n_modes: modes.len(),
        modes_covered: counts.iter().filter(|&&c| c > 0).count(),
        modes_covered_1pct: counts
            .iter()
            .filter(|&&c| c > 0 && 100 * c >= samples.len())
            .count(),
        high_quality_frac: if samples.is_empty() {
            0.0
        } else {
            high_quality as f64 / samples.len() as f64
        },
        mode_kl,
        mode_js,
        counts,
    }
}

/// `(KL(q || u), JS(q, u))` in nats for the normalised histogram `q` of `counts` and
/// the uniform `u`. An empty histogram counts as collapsed onto one bin.
fn kl_js_to_uniform(counts: &[usize]) -> (f64, f64) {
    let k = counts.len();
    let total: usize = counts.iter().sum();
    let q: Vec<f64> = if total == 0 {
        (0..k).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect()
    } else {
        counts.iter().map(|&c| c as f64 / total as f64).collect()
    };
    let u = 1.0 / k as f64;
    let xlogx_over = |p: f64, r: f64| if p > 0.0 { p * (p / r).ln() } else { 0.0 };
    let kl = q.iter().map(|&p| xlogx_over(p, u)).sum::<f64>().max(0.0);
    let js = q
        .iter()
        .map(|&p| {
            let m = 0.5 * (p + u);
            0.5 * (xlogx_over(p, m) + xlogx_over(u, m))
        })
        .sum::<f64>()
        .max(0.0);
    (kl, js)
}

/// Sliced Wasserstein-1 distance between two 2-D point sets (Rabin et al. 2011;
/// Deshpande et al. 2018): the mean over `n_projections` random unit directions
/// (angles uniform on `[0, 2 pi)`, drawn from `ChaCha8Rng::seed_from_u64(seed)`) of
/// the 1-D W1 between the projected sets. W1 in 1-D is the mean absolute difference
/// of sorted values; if the sizes differ, both empirical quantile functions are
/// evaluated at the `m = min(n_a, n_b)` midpoints `(i + 0.5) / m`.
///
/// # Panics
/// If either set is empty or `n_projections == 0`.
pub fn sliced_wasserstein(a: &[[f32; 2]], b: &[[f32; 2]], n_projections: usize, seed: u64) -> f64 {
    match sliced_wasserstein_polled(a, b, n_projections, seed, Poll::NEVER) {
        Ok(sw) => sw,
        Err(Stopped(_)) => unreachable!("Poll::NEVER never stops"),
    }
}

/// [`sliced_wasserstein`], abandoned between projections when `poll` says stop (each sorts
/// both sets: about 0.15 s for a million points).
pub fn sliced_wasserstein_polled(
    a: &[[f32; 2]],
    b: &[[f32; 2]],
    n_projections: usize,
    seed: u64,
    poll: Poll<'_>,
) -> Result<f64, Stopped> {
    assert!(
        !a.is_empty() && !b.is_empty(),
        "sliced_wasserstein: empty point set"
    );
    assert!(
        n_projections > 0,
        "sliced_wasserstein: n_projections must be > 0"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = a.len().min(b.len());
    let mut pa = vec![0.0f64; a.len()];
    let mut pb = vec![0.0f64; b.len()];
    let mut total = 0.0f64;
    for _ in 0..n_projections {
        poll.check()?;
        let theta: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        let (s, c) = theta.sin_cos();
        let project = |p: &[f32; 2]| c * f64::from(p[0]) + s * f64::from(p[1]);
        for (dst, p) in pa.iter_mut().zip(a) {
            *dst = project(p);
        }
        for (dst, p) in pb.iter_mut().zip(b) {
            *dst = project(p);
        }
        pa.sort_unstable_by(f64::total_cmp);
        pb.sort_unstable_by(f64::total_cmp);
        // Empirical quantile of n sorted values at t = (i + 0.5) / m is
        // sorted[floor(t * n)]; the exact identity i -> i when n == m.
        let quantile = |v: &[f64], i: usize| v[((2 * i + 1) * v.len() / (2 * m)).min(v.len() - 1)];
        let w1: f64 = (0..m)
            .map(|i| (quantile(&pa, i) - quantile(&pb, i)).abs())
            .sum();
        total += w1 / m as f64;
    }
    Ok(total / n_projections as f64)
}

/// Improved precision and recall (Kynkäänniemi et al. 2019). The manifold of a set is
/// the union of closed balls around its points with radius = distance to the point's
/// k-th nearest neighbour in the same set (itself excluded by index, so duplicates
/// count as neighbours at distance 0). Precision = fraction of `fake` rows inside the
/// real manifold; recall = fraction of `real` rows inside the fake manifold.
/// Returns `(precision, recall)`.
///
/// Brute force and exact with respect to `f64` arithmetic: distances are screened in
/// cache-sized blocks with the Gram expansion `|q|^2 + |r|^2 - 2 q.r` in `f64`
/// (nalgebra `gemm`, i.e. the vectorised `matrixmultiply` kernel; products of `f32`
/// values are exact in `f64`), and every decision that falls within the expansion's
/// rounding bound, as well as each final k-NN radius, is recomputed from direct
/// differences. Query blocks run on rayon's pool; a query stops being tested once a ball
/// contains it.
///
/// # Panics
/// If `dim == 0`, a set is empty or ragged, or `k` is not in `1..min(n_real, n_fake)`.
pub fn precision_recall(real: &[f32], fake: &[f32], dim: usize, k: usize) -> (f64, f64) {
    match precision_recall_polled(real, fake, dim, k, Poll::NEVER) {
        Ok(pr) => pr,
        Err(Stopped(_)) => unreachable!("Poll::NEVER never stops"),
    }
}

/// [`precision_recall`], abandoned when `poll` says stop: every work item asks it before each
/// Gram block and returns early, and the partial counts are dropped.
pub fn precision_recall_polled(
    real: &[f32],
    fake: &[f32],
    dim: usize,
    k: usize,
    poll: Poll<'_>,
) -> Result<(f64, f64), Stopped> {
    let n_real = rows(real, dim, "precision_recall (real)");
    let n_fake = rows(fake, dim, "precision_recall (fake)");
    assert!(
        k >= 1 && k < n_real && k < n_fake,
        "precision_recall: need 1 <= k < set sizes (k = {k}, real = {n_real}, fake = {n_fake})"
    );
    let real = Points::new(real, dim);
    let fake = Points::new(fake, dim);
    let real_radii = knn_radii_sq(&real, k, poll);
    poll.check()?;
    let fake_radii = knn_radii_sq(&fake, k, poll);
    poll.check()?;
    let precision = count_covered(&fake, &real, &real_radii, poll) as f64 / n_fake as f64;
    poll.check()?;
    let recall = count_covered(&real, &fake, &fake_radii, poll) as f64 / n_real as f64;
    poll.check()?;
    Ok((precision, recall))
}

/// Query rows per work item.
const QUERY_BLOCK: usize = 128;
/// Reference rows per Gram block (with `QUERY_BLOCK`: 512 KiB of `f64` per thread).
const REF_BLOCK: usize = 512;

/// Points widened to `f64` and stored feature-major, with squared norms for the Gram
/// expansion.
struct Points<'a> {
    raw: &'a [f32],
    /// `dim x n` row-major (feature-major): `xt[f * n + i]` is feature `f` of point `i`.
    /// A block of points is then an `n_block x dim` view with unit row stride, the
    /// layout nalgebra's small-matrix `gemm` fallback handles (its strided-row path
    /// indexes out of bounds in nalgebra 0.33).
    xt: Vec<f64>,
    norms: Vec<f64>,
    n: usize,
    dim: usize,
    /// Relative rounding bound of the expansion: `|error| <= slack * (|q|^2 + |r|^2)`.
    slack: f64,
}

impl<'a> Points<'a> {
    fn new(raw: &'a [f32], dim: usize) -> Self {
        let n = raw.len() / dim;
        let mut xt = vec![0.0f64; raw.len()];
        for (i, row) in raw.chunks_exact(dim).enumerate() {
            for (f, &v) in row.iter().enumerate() {
                xt[f * n + i] = f64::from(v);
            }
        }
        let norms = raw
            .chunks_exact(dim)
            .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
            .collect();
        Points {
            raw,
            xt,
            norms,
            n,
            dim,
            // Dot products and norms each err by at most ~dim * eps relative to
            // (|q|^2 + |r|^2); a factor 4 margin covers all three terms.
            slack: 4.0 * (dim as f64 + 2.0) * f64::EPSILON,
        }
    }

    /// Points `start..start + len` as a `dim x len` matrix view (one column per point).
    fn columns(&self, start: usize, len: usize) -> DMatrixView<'_, f64, Dyn, Dyn> {
        DMatrixView::from_slice_with_strides(&self.xt[start..], self.dim, len, self.n, 1)
    }

    /// `|self[i] - other[j]|^2` from direct differences (no cancellation).
    fn exact_sq_dist(&self, i: usize, other: &Points, j: usize) -> f64 {
        let a = &self.raw[i * self.dim..(i + 1) * self.dim];
        let b = &other.raw[j * other.dim..(j + 1) * other.dim];
        a.iter()
            .zip(b)
            .map(|(&p, &q)| {
                let d = f64::from(p) - f64::from(q);
                d * d
            })
            .sum()
    }
}

/// Writes the dot products of reference points `r0..r0 + nr` with the `dim x nq`
/// query columns into `g`, column-major `nr x nq`: column `c` holds query `c` against
/// every reference point, contiguously.
fn gram(
    refs: &Points,
    r0: usize,
    nr: usize,
    queries: &DMatrixView<'_, f64, Dyn, Dyn>,
    g: &mut [f64],
) {
    let nq = queries.ncols();
    let a = DMatrixView::from_slice_with_strides(&refs.xt[r0..], nr, refs.dim, 1, refs.n);
    let mut c = DMatrixViewMut::from_slice(&mut g[..nr * nq], nr, nq);
    c.gemm(1.0, &a, queries, 0.0);
}

/// Squared distance of every point to its k-th nearest other point (meaningless once `poll`
/// says stop).
fn knn_radii_sq(p: &Points, k: usize, poll: Poll<'_>) -> Vec<f64> {
    let n = p.n;
    let blocks = parallel_blocks(n.div_ceil(QUERY_BLOCK), |qb| {
        let q0 = qb * QUERY_BLOCK;
        let q1 = (q0 + QUERY_BLOCK).min(n);
        let queries = p.columns(q0, q1 - q0);
        let mut g = vec![0.0f64; REF_BLOCK * (q1 - q0)];
        // Per query: the k smallest (screened squared distance, index), ascending.
        let mut best = vec![(f64::INFINITY, usize::MAX); (q1 - q0) * k];
        for r0 in (0..n).step_by(REF_BLOCK) {
            if poll.stopped() {
                break;
            }
            let r1 = (r0 + REF_BLOCK).min(n);
            let nr = r1 - r0;
            gram(p, r0, nr, &queries, &mut g);
            for ((qi, top), col) in (q0..q1)
                .zip(best.chunks_exact_mut(k))
                .zip(g.chunks_exact(nr))
            {
                let qn = p.norms[qi];
                for ((ri, &dot), &rn) in (r0..r1).zip(col).zip(&p.norms[r0..r1]) {
                    let d = qn + rn - 2.0 * dot;
                    if d < top[k - 1].0 && ri != qi {
                        let mut j = k - 1;
                        while j > 0 && top[j - 1].0 > d {
                            top[j] = top[j - 1];
                            j -= 1;
                        }
                        top[j] = (d, ri);
                    }
                }
            }
        }
        if poll.stopped() {
            // `best` may hold unfilled places; the caller drops what this returns.
            return Vec::new();
        }
        (q0..q1)
            .zip(best.chunks_exact(k))
            .map(|(qi, top)| p.exact_sq_dist(qi, p, top[k - 1].1))
            .collect::<Vec<f64>>()
    });
    blocks.concat()
}

/// Number of `queries` points inside at least one ball `(refs[j], radii_sq[j])` (meaningless
/// once `poll` says stop).
fn count_covered(queries: &Points, refs: &Points, radii_sq: &[f64], poll: Poll<'_>) -> usize {
    let dim = queries.dim;
    let blocks = parallel_blocks(queries.n.div_ceil(QUERY_BLOCK), |qb| {
        let q0 = qb * QUERY_BLOCK;
        let q1 = (q0 + QUERY_BLOCK).min(queries.n);
        // Queries not yet covered, gathered contiguously for the next Gram block.
        let mut pending: Vec<usize> = (q0..q1).collect();
        let mut buf: Vec<f64> = queries.raw[q0 * dim..q1 * dim]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let mut g = vec![0.0f64; REF_BLOCK * (q1 - q0)];
        for r0 in (0..refs.n).step_by(REF_BLOCK) {
            if pending.is_empty() || poll.stopped() {
                break;
            }
            let r1 = (r0 + REF_BLOCK).min(refs.n);
            let nr = r1 - r0;
            let cols = DMatrixView::from_slice_with_strides(&buf, dim, pending.len(), 1, dim);
            gram(refs, r0, nr, &cols, &mut g);
            let before = pending.len();
            let mut cols = g.chunks_exact(nr);
            pending.retain(|&qi| {
                let col = cols.next().expect("one Gram column per pending query");
                let qn = queries.norms[qi];
                let covered = (r0..r1).zip(col).any(|(ri, &dot)| {
                    let (rn, rad) = (refs.norms[ri], radii_sq[ri]);
                    let d = qn + rn - 2.0 * dot;
                    let slack = refs.slack * (qn + rn);
                    d <= rad + slack
                        && (d <= rad - slack || queries.exact_sq_dist(qi, refs, ri) <= rad)
                });
                !covered
            });
            if pending.len() != before {
                buf.clear();
                for &qi in &pending {
                    let row = &queries.raw[qi * dim..(qi + 1) * dim];
                    buf.extend(row.iter().map(|&v| f64::from(v)));
                }
            }
        }
        (q1 - q0) - pending.len()
    });
    blocks.into_iter().sum()
}

/// Runs `work(block)` for `0..n_blocks` on rayon's pool, one block per task (rayon's work
/// stealing balances the early-exit work of [`count_covered`]); results in block order.
fn parallel_blocks<T: Send>(n_blocks: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    (0..n_blocks)
        .into_par_iter()
        .with_max_len(1)
        .map(&work)
        .collect()
}

/// Number of rows of a non-empty row-major buffer, with shape checks.
fn rows(data: &[f32], dim: usize, what: &str) -> usize {
    assert!(dim > 0, "{what}: dim must be > 0");
    assert!(!data.is_empty(), "{what}: no rows");
    assert_eq!(
        data.len() % dim,
        0,
        "{what}: length is not a multiple of dim"
    );
    data.len() / dim
}

#[cfg(test)]
mod tests;
