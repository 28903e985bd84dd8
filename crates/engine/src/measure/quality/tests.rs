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
    let expected = 5.25 + s1.trace() + s2.trace() - 2.0 * trace_sqrt_denman_beavers(&(&s1 * &s2));
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
    let expected =
        (0.5 * (0.5 * (2.0f64 / 3.0).ln() + 0.5 * 2.0f64.ln()) + 0.5 * (4.0f64 / 3.0).ln()).exp();
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
