//! Sample-quality metrics on plain slices (no Burn): Fréchet distance, classifier
//! score, class histograms, 2-D mode metrics, sliced Wasserstein and improved
//! precision/recall.
//!
//! Inputs are the `f32` values a model produces; everything is accumulated in `f64`
//! so that metrics do not drift with sample count or summation order. Inputs that
//! make a metric undefined (empty sets, ragged rows, bad `k`) panic with a message
//! rather than returning a silent `NaN`.

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
        let mut best: Option<usize> = None;
        for (i, &p) in row.iter().enumerate() {
            if !p.is_nan() && best.is_none_or(|b| p > row[b]) {
                best = Some(i);
            }
        }
        counts[best.unwrap_or(0)] += 1;
    }
    ClassHistogram {
        kl_to_uniform: kl_js_to_uniform(&counts).0,
        covered: counts.iter().filter(|&&c| c > 0).count(),
        counts,
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
    total / n_projections as f64
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
    let n_real = rows(real, dim, "precision_recall (real)");
    let n_fake = rows(fake, dim, "precision_recall (fake)");
    assert!(
        k >= 1 && k < n_real && k < n_fake,
        "precision_recall: need 1 <= k < set sizes (k = {k}, real = {n_real}, fake = {n_fake})"
    );
    let real = Points::new(real, dim);
    let fake = Points::new(fake, dim);
    let real_radii = knn_radii_sq(&real, k);
    let fake_radii = knn_radii_sq(&fake, k);
    let precision = count_covered(&fake, &real, &real_radii) as f64 / n_fake as f64;
    let recall = count_covered(&real, &fake, &fake_radii) as f64 / n_real as f64;
    (precision, recall)
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

/// Squared distance of every point to its k-th nearest other point.
fn knn_radii_sq(p: &Points, k: usize) -> Vec<f64> {
    let n = p.n;
    let blocks = parallel_blocks(n.div_ceil(QUERY_BLOCK), |qb| {
        let q0 = qb * QUERY_BLOCK;
        let q1 = (q0 + QUERY_BLOCK).min(n);
        let queries = p.columns(q0, q1 - q0);
        let mut g = vec![0.0f64; REF_BLOCK * (q1 - q0)];
        // Per query: the k smallest (screened squared distance, index), ascending.
        let mut best = vec![(f64::INFINITY, usize::MAX); (q1 - q0) * k];
        for r0 in (0..n).step_by(REF_BLOCK) {
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
        (q0..q1)
            .zip(best.chunks_exact(k))
            .map(|(qi, top)| p.exact_sq_dist(qi, p, top[k - 1].1))
            .collect::<Vec<f64>>()
    });
    blocks.concat()
}

/// Number of `queries` points inside at least one ball `(refs[j], radii_sq[j])`.
fn count_covered(queries: &Points, refs: &Points, radii_sq: &[f64]) -> usize {
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
            if pending.is_empty() {
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
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    fn diag(d: &[f64]) -> DMatrix<f64> {
        DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(d))
    }

    fn gaussian(mean: &[f64], cov: &DMatrix<f64>) -> Gaussian {
        let d = mean.len();
        let mut row_major = Vec::with_capacity(d * d);
        for i in 0..d {
            for j in 0..d {
                row_major.push(cov[(i, j)]);
            }
        }
        Gaussian {
            dim: d,
            mean: mean.to_vec(),
            cov: row_major,
        }
    }

    /// Independent route: trace of the principal square root of the (non-symmetric)
    /// matrix `S1 S2` by the Denman-Beavers iteration, no eigendecomposition.
    fn trace_sqrt_denman_beavers(a: &DMatrix<f64>) -> f64 {
        let mut y = a.clone();
        let mut z = DMatrix::<f64>::identity(a.nrows(), a.ncols());
        for _ in 0..60 {
            let yi = y.clone().try_inverse().unwrap();
            let zi = z.clone().try_inverse().unwrap();
            y = (&y + zi) * 0.5;
            z = (&z + yi) * 0.5;
        }
        y.trace()
    }

    #[test]
    fn fit_gaussian_hand_made() {
        // Points (1,2), (3,4), (5,0): mean (3,2); deviations x: -2,0,2, y: 0,2,-2.
        let g = fit_gaussian(&[1.0, 2.0, 3.0, 4.0, 5.0, 0.0], 2);
        assert_eq!(g.dim, 2);
        assert_eq!(g.mean, vec![3.0, 2.0]);
        assert_eq!(g.cov, vec![4.0, -2.0, -2.0, 4.0]);
        // A single row has zero covariance rather than NaN.
        let one = fit_gaussian(&[1.0, 2.0], 2);
        assert_eq!(one.cov, vec![0.0; 4]);
    }

    #[test]
    fn fit_gaussian_large_offset_is_stable() {
        // Offset 1e4 with unit spread: one-pass E[x^2]-E[x]^2 would lose digits.
        let x: Vec<f32> = [-1.0f32, 1.0, -1.0, 1.0]
            .iter()
            .map(|v| v + 1.0e4)
            .collect();
        let g = fit_gaussian(&x, 1);
        assert!(close(g.cov[0], 4.0 / 3.0, 1e-12), "{}", g.cov[0]);
    }

    #[test]
    fn frechet_identical_is_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let feats: Vec<f32> = (0..500 * 16)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let g = fit_gaussian(&feats, 16);
        let scale: f64 =
            g.mean.iter().map(|m| m * m).sum::<f64>() + (0..16).map(|i| g.cov[i * 17]).sum::<f64>();
        let d = frechet_distance(&g, &g);
        assert!(d >= 0.0 && d < 1e-9 * scale, "d = {d}, scale = {scale}");
    }

    #[test]
    fn frechet_diagonal_closed_form() {
        // Includes zero variances (singular covariances).
        let (m1, m2) = ([0.0, 1.0, -2.0], [3.0, 1.0, 0.5]);
        let (s1, s2): ([f64; 3], [f64; 3]) = ([1.0, 0.0, 4.0], [0.0, 9.0, 2.25]);
        let a = gaussian(&m1, &diag(&s1));
        let b = gaussian(&m2, &diag(&s2));
        let expected: f64 = (0..3)
            .map(|i| (m1[i] - m2[i]).powi(2) + (s1[i].sqrt() - s2[i].sqrt()).powi(2))
            .sum();
        // 9 + 0 + 6.25 + 1 + 9 + 0.25 = 25.5
        assert!(close(expected, 25.5, 1e-15));
        let d = frechet_distance(&a, &b);
        assert!(close(d, expected, 1e-12), "{d} vs {expected}");
        assert!(close(frechet_distance(&b, &a), expected, 1e-12));
    }

    #[test]
    fn frechet_commuting_rotated_3x3() {
        // S1 = Q D1 Q^T, S2 = Q D2 Q^T share eigenvectors, so
        // Tr sqrt(S1 S2) = sum sqrt(d1 d2) and FD = |dmu|^2 + sum (sqrt d1 - sqrt d2)^2.
        let q = nalgebra::Rotation3::from_euler_angles(0.3, -0.7, 1.1).into_inner();
        let q = DMatrix::from_iterator(3, 3, q.iter().copied());
        let (d1, d2) = ([1.0, 2.0, 3.0], [4.0, 0.5, 3.0]);
        let s1 = &q * diag(&d1) * q.transpose();
        let s2 = &q * diag(&d2) * q.transpose();
        let (m1, m2) = ([1.0, 0.0, 0.0], [0.0, 2.0, 0.0]);
        let expected: f64 = 5.0
            + (0..3)
                .map(|i| (f64::sqrt(d1[i]) - f64::sqrt(d2[i])).powi(2))
                .sum::<f64>();
        let d = frechet_distance(&gaussian(&m1, &s1), &gaussian(&m2, &s2));
        assert!(close(d, expected, 1e-10), "{d} vs {expected}");
    }

    #[test]
    fn frechet_general_3x3_matches_denman_beavers() {
        // Non-commuting SPD matrices.
        let s1 = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, -0.2, 0.5, -0.2, 2.0]);
        let s2 = DMatrix::from_row_slice(3, 3, &[1.0, -0.4, 0.3, -0.4, 2.0, 0.6, 0.3, 0.6, 5.0]);
        assert!((&s1 * &s2 - &s2 * &s1).norm() > 0.5);
        let (m1, m2) = ([0.5, -1.0, 2.0], [0.0, 0.0, 0.0]);
        let expected =
            5.25 + s1.trace() + s2.trace() - 2.0 * trace_sqrt_denman_beavers(&(&s1 * &s2));
        let d = frechet_distance(&gaussian(&m1, &s1), &gaussian(&m2, &s2));
        assert!(close(d, expected, 1e-10), "{d} vs {expected}");
    }

    #[test]
    fn frechet_general_2x2_closed_form() {
        // For 2x2 M with non-negative eigenvalues: Tr sqrt(M) = sqrt(Tr M + 2 sqrt(det M)).
        let s1 = DMatrix::<f64>::from_row_slice(2, 2, &[2.0, 0.7, 0.7, 1.0]);
        let s2 = DMatrix::from_row_slice(2, 2, &[1.5, -0.3, -0.3, 0.8]);
        let m = &s1 * &s2;
        let tr_sqrt: f64 = (m.trace() + 2.0 * m.determinant().sqrt()).sqrt();
        let expected = 1.0 + s1.trace() + s2.trace() - 2.0 * tr_sqrt;
        let d = frechet_distance(&gaussian(&[1.0, 0.0], &s1), &gaussian(&[0.0, 0.0], &s2));
        assert!(close(d, expected, 1e-12), "{d} vs {expected}");
    }

    #[test]
    fn classifier_score_extremes() {
        let n = 10;
        let mut uniform_onehot = vec![0.0f32; 100 * n];
        for i in 0..100 {
            uniform_onehot[i * n + i % n] = 1.0;
        }
        assert!(close(classifier_score(&uniform_onehot, n), 10.0, 1e-12));
        let mut same = vec![0.0f32; 100 * n];
        for i in 0..100 {
            same[i * n + 3] = 1.0;
        }
        assert!(close(classifier_score(&same, n), 1.0, 1e-12));
        // Two classes, rows (0.5, 0.5) and (1, 0): p(y) = (0.75, 0.25);
        // E KL = 0.5 [0.5 ln(2/3) + 0.5 ln 2] + 0.5 ln(4/3).
        let expected = (0.5 * (0.5 * (2.0f64 / 3.0).ln() + 0.5 * 2.0f64.ln())
            + 0.5 * (4.0f64 / 3.0).ln())
        .exp();
        assert!(close(
            classifier_score(&[0.5, 0.5, 1.0, 0.0], 2),
            expected,
            1e-12
        ));
    }

    #[test]
    fn class_histogram_counts_and_kl() {
        let n = 4;
        let mut probs = vec![0.0f32; 8 * n];
        for i in 0..8 {
            probs[i * n + i % n] = 0.9;
            probs[i * n + (i + 1) % n] = 0.1;
        }
        let h = class_histogram(&probs, n);
        assert_eq!(h.counts, vec![2, 2, 2, 2]);
        assert_eq!(h.covered, 4);
        assert!(h.kl_to_uniform.abs() < 1e-15);
        // Counts (3, 1, 0, 0): KL = 0.75 ln 3 + 0.25 ln 1.
        let h = class_histogram(
            &[
                0.7, 0.3, 0., 0., 0.6, 0.4, 0., 0., 0., 1., 0., 0., 0.5, 0.5, 0., 0.,
            ],
            n,
        );
        assert_eq!(h.counts, vec![3, 1, 0, 0]);
        assert_eq!(h.covered, 2);
        assert!(close(h.kl_to_uniform, 0.75 * 3.0f64.ln(), 1e-12));
        // NaN entries are skipped; an all-NaN row counts as class 0.
        let nan = f32::NAN;
        let h = class_histogram(&[nan, 0.2, 0.7, 0.1, nan, nan, nan, nan], n);
        assert_eq!(h.counts, vec![1, 0, 1, 0]);
        let empty = class_histogram(&[], n);
        assert_eq!((empty.covered, empty.counts), (0, vec![0; 4]));
        assert!(close(empty.kl_to_uniform, 4.0f64.ln(), 1e-12));
    }

    fn ring(n_modes: usize, radius: f64) -> Vec<[f64; 2]> {
        (0..n_modes)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / n_modes as f64;
                [radius * t.cos(), radius * t.sin()]
            })
            .collect()
    }

    #[test]
    fn mode_metrics_all_modes() {
        let modes = ring(8, 2.0);
        let samples: Vec<[f32; 2]> = (0..800)
            .map(|i| {
                let m = modes[i % 8];
                [m[0] as f32, m[1] as f32]
            })
            .collect();
        let r = mode_metrics(&samples, &modes, 0.02, DEFAULT_N_STD);
        assert_eq!(
            (r.n_modes, r.modes_covered, r.modes_covered_1pct),
            (8, 8, 8)
        );
        assert_eq!(r.high_quality_frac, 1.0);
        assert_eq!(r.counts, vec![100; 8]);
        assert!(r.mode_kl.abs() < 1e-12 && r.mode_js.abs() < 1e-12);
    }

    #[test]
    fn mode_metrics_collapse_and_far() {
        let modes = ring(8, 2.0);
        // Collapsed onto mode 5, within 3 std (0.05 < 0.06) but not exactly on it.
        let on5 = [modes[5][0] as f32 + 0.05, modes[5][1] as f32];
        let r = mode_metrics(&[on5; 50], &modes, 0.02, 3.0);
        assert_eq!(r.modes_covered, 1);
        assert_eq!(r.counts[5], 50);
        assert_eq!(r.high_quality_frac, 1.0);
        assert!(close(r.mode_kl, 8.0f64.ln(), 1e-12));
        // JS(one-hot, uniform over K) = 0.5 ln(2K/(K+1)) + 0.5 [ln(2/(K+1))/K + (K-1)/K ln 2].
        let k = 8.0f64;
        let js_collapse = 0.5 * (2.0 * k / (k + 1.0)).ln()
            + 0.5 * ((2.0 / (k + 1.0)).ln() / k + (k - 1.0) / k * 2.0f64.ln());
        assert!(close(r.mode_js, js_collapse, 1e-12));
        // Just outside 3 std: not high quality. Far away: none; convention = collapse.
        let r = mode_metrics(
            &[[modes[5][0] as f32 + 0.07, modes[5][1] as f32]],
            &modes,
            0.02,
            3.0,
        );
        assert_eq!((r.modes_covered, r.high_quality_frac), (0, 0.0));
        let far = mode_metrics(&[[100.0, 100.0]; 20], &modes, 0.02, 3.0);
        assert_eq!((far.modes_covered, far.high_quality_frac), (0, 0.0));
        assert_eq!(far.counts, vec![0; 8]);
        assert!(close(far.mode_kl, 8.0f64.ln(), 1e-12));
        assert!(close(far.mode_js, js_collapse, 1e-12));
        // Half the samples good, two modes 3:1.
        let s = [
            [modes[0][0] as f32, modes[0][1] as f32],
            [modes[0][0] as f32, modes[0][1] as f32],
            [modes[0][0] as f32, modes[0][1] as f32],
            [modes[2][0] as f32, modes[2][1] as f32],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
        ];
        let r = mode_metrics(&s, &modes, 0.02, 3.0);
        assert_eq!((r.modes_covered, r.high_quality_frac), (2, 0.5));
        assert!(close(
            r.mode_kl,
            0.75 * 6.0f64.ln() + 0.25 * 2.0f64.ln(),
            1e-12
        ));
    }

    /// The strict count takes a mode only when its high-quality samples are >= 1% of all
    /// samples; the original count takes one stray sample.
    #[test]
    fn strict_mode_count_needs_one_percent_of_all_samples() {
        let modes = ring(8, 2.0);
        let at = |m: usize| [modes[m][0] as f32, modes[m][1] as f32];
        // 1,000 samples: mode 0 holds 10 (exactly 1%), mode 1 holds 9, modes 2..=7 one each,
        // the rest (975) far from every mode.
        let mut s = vec![at(0); 10];
        s.extend(vec![at(1); 9]);
        s.extend((2..8).map(at));
        s.extend(vec![[100.0f32, 100.0]; 975]);
        assert_eq!(s.len(), 1000);
        let r = mode_metrics(&s, &modes, 0.02, DEFAULT_N_STD);
        assert_eq!((r.modes_covered, r.modes_covered_1pct), (8, 1));
        // The share is of all samples, not of the high-quality ones: the same 25
        // high-quality samples alone give 8 and 8 (one of 25 is 4%).
        let r = mode_metrics(&s[..25], &modes, 0.02, DEFAULT_N_STD);
        assert_eq!((r.modes_covered, r.modes_covered_1pct), (8, 8));
        // Collapse onto one mode: 1 and 1; nothing high quality: 0 and 0.
        let r = mode_metrics(&[at(5); 50], &modes, 0.02, DEFAULT_N_STD);
        assert_eq!((r.modes_covered, r.modes_covered_1pct), (1, 1));
        let r = mode_metrics(&[[100.0, 100.0]; 50], &modes, 0.02, DEFAULT_N_STD);
        assert_eq!((r.modes_covered, r.modes_covered_1pct), (0, 0));
        // Seven modes with one sample each: exactly 1% of 100 samples counts, 1 of 101 does not.
        let mut s: Vec<[f32; 2]> = (1..8).map(at).collect();
        s.extend(vec![at(0); 93]);
        let r = mode_metrics(&s, &modes, 0.02, DEFAULT_N_STD);
        assert_eq!((r.modes_covered, r.modes_covered_1pct), (8, 8));
        s.push(at(0));
        let r = mode_metrics(&s, &modes, 0.02, DEFAULT_N_STD);
        assert_eq!((r.modes_covered, r.modes_covered_1pct), (8, 1));
    }

    fn normal_points(n: usize, seed: u64) -> Vec<[f32; 2]> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                [
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                ]
            })
            .collect()
    }

    #[test]
    fn sliced_wasserstein_self_and_shift() {
        let a = normal_points(500, 1);
        assert_eq!(sliced_wasserstein(&a, &a, 50, 3), 0.0);
        let d = 2.0f32;
        let b: Vec<[f32; 2]> = a.iter().map(|p| [p[0] + d, p[1]]).collect();
        // Each direction gives exactly |d cos theta|; E|cos theta| = 2/pi.
        let sw = sliced_wasserstein(&a, &b, 4000, 11);
        let expected = f64::from(d) * 2.0 / std::f64::consts::PI;
        assert!(
            (sw - expected).abs() < 0.03 * expected,
            "{sw} vs {expected}"
        );
        // Deterministic in the seed.
        assert_eq!(sw, sliced_wasserstein(&a, &b, 4000, 11));
    }

    #[test]
    fn sliced_wasserstein_unequal_sizes() {
        // a = {0, 1} and b = {0, 0, 1, 1} on the x axis have the same distribution.
        let a = [[0.0f32, 0.0], [1.0, 0.0]];
        let b = [[0.0f32, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]];
        assert!(sliced_wasserstein(&a, &b, 20, 0).abs() < 1e-12);
        // Symmetric in its arguments.
        let c = normal_points(300, 5);
        let d = normal_points(170, 6);
        let (x, y) = (
            sliced_wasserstein(&c, &d, 64, 9),
            sliced_wasserstein(&d, &c, 64, 9),
        );
        assert!(close(x, y, 1e-12) && x > 0.0);
    }

    fn normal_features(n: usize, dim: usize, offset: f32, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * dim)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                offset + z as f32
            })
            .collect()
    }

    #[test]
    fn precision_recall_known_answers() {
        let dim = 19; // not a multiple of 8: exercises the tail loop
        let real = normal_features(300, dim, 0.0, 1);
        assert_eq!(precision_recall(&real, &real, dim, 3), (1.0, 1.0));
        let far = normal_features(200, dim, 1000.0, 2);
        assert_eq!(precision_recall(&real, &far, dim, 3), (0.0, 0.0));
        // Real = cluster A (150 rows) + far cluster B (150 rows); fake = exactly A.
        let a = normal_features(150, dim, 0.0, 3);
        let mut real = a.clone();
        real.extend(normal_features(150, dim, 1000.0, 4));
        let (p, r) = precision_recall(&real, &a, dim, 3);
        assert_eq!((p, r), (1.0, 0.5));
    }

    /// Direct `f64` definition of improved precision/recall, for cross-checks.
    fn naive_precision_recall(real: &[f32], fake: &[f32], dim: usize, k: usize) -> (f64, f64) {
        let sq = |a: &[f32], b: &[f32]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2))
                .sum()
        };
        let radii = |x: &[f32]| -> Vec<f64> {
            x.chunks_exact(dim)
                .enumerate()
                .map(|(i, a)| {
                    let mut d: Vec<f64> = x
                        .chunks_exact(dim)
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, b)| sq(a, b))
                        .collect();
                    d.sort_by(f64::total_cmp);
                    d[k - 1]
                })
                .collect()
        };
        let covered = |q: &[f32], r: &[f32], rad: &[f64]| -> f64 {
            let hits = q
                .chunks_exact(dim)
                .filter(|a| r.chunks_exact(dim).zip(rad).any(|(b, &t)| sq(a, b) <= t))
                .count();
            hits as f64 / (q.len() / dim) as f64
        };
        (
            covered(fake, real, &radii(real)),
            covered(real, fake, &radii(fake)),
        )
    }

    #[test]
    fn precision_recall_matches_naive() {
        // Larger than one block (64 x 512), overlapping but different distributions.
        let dim = 6;
        let real = normal_features(700, dim, 0.0, 8);
        let fake = normal_features(600, dim, 0.7, 9);
        let (p, r) = naive_precision_recall(&real, &fake, dim, 4);
        assert!(p > 0.05 && p < 0.95 && r > 0.05 && r < 0.95, "{p} {r}");
        assert_eq!(precision_recall(&real, &fake, dim, 4), (p, r));
    }

    #[test]
    fn precision_recall_tiny_sets_match_naive() {
        // Dimensions and set sizes <= 5 take nalgebra's non-matrixmultiply gemm path.
        for dim in 1..=9 {
            for (n_real, n_fake, k) in [(3, 2, 1), (6, 9, 2), (13, 7, 3)] {
                let real = normal_features(n_real, dim, 0.0, dim as u64);
                let fake = normal_features(n_fake, dim, 0.5, 100 + dim as u64);
                assert_eq!(
                    precision_recall(&real, &fake, dim, k),
                    naive_precision_recall(&real, &fake, dim, k),
                    "dim {dim}, sizes {n_real}/{n_fake}, k {k}"
                );
            }
        }
    }

    #[test]
    fn precision_recall_duplicates_zero_radius() {
        // Real: 4 copies each of A and B, so with k = 1 every real radius is 0 and
        // only exact copies are inside; the Gram rounding must not decide that.
        let (a, b, c) = (
            [0.1f32, 0.7, -0.3],
            [10.1f32, 0.7, -0.3],
            [1.1f32, 0.7, -0.3],
        );
        let mut real = Vec::new();
        for _ in 0..4 {
            real.extend_from_slice(&a);
            real.extend_from_slice(&b);
        }
        let fake: Vec<f32> = [a, c].concat();
        // Precision: A is a copy, C is not. Recall: fake radii are |A - C| = 1, so the
        // A copies are covered and the B copies (9 from C) are not.
        assert_eq!(precision_recall(&real, &fake, 3, 1), (0.5, 0.5));
        // Same at dim 600 (beyond matrixmultiply's k-block, so |q|^2 + |r|^2 - 2 q.r of
        // identical rows rounds to +-1e-13, not 0): real = 2 copies of 40 rows (radii
        // 0); fake = those 40 rows + 40 new.
        let base = normal_features(40, 600, 0.3, 21);
        let real = [base.clone(), base.clone()].concat();
        let fake = [base, normal_features(40, 600, 0.3, 22)].concat();
        assert_eq!(precision_recall(&real, &fake, 600, 1), (0.5, 1.0));
    }
}
