//! Calibration of every claim kind: each test simulates at least 2,000 claim evaluations under
//! the null (the effect exactly at the boundary) and asserts that the false "supported" (and,
//! where parts combine, false "contradicted") rate is at most the level plus two binomial
//! standard errors, then simulates a clear alternative and asserts the power `docs/claims.md`
//! documents. Seeded (ChaCha), so the rates are the same on every machine; the printed rates
//! are the table in `docs/claims.md` (`cargo test --test calibration -- --nocapture`).

use std::collections::BTreeMap;

use harness_core::claims::{Claim, ClaimRun, Verdict, evaluate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Evaluations per simulated rate.
const N: usize = 2000;
const LEVEL: f64 = 0.05;

/// The level plus two binomial standard errors at `N` evaluations.
fn ceiling() -> f64 {
    LEVEL + 2.0 * (LEVEL * (1.0 - LEVEL) / N as f64).sqrt()
}

fn claim(toml_text: &str) -> Claim {
    #[derive(serde::Deserialize)]
    struct File {
        claim: Vec<Claim>,
    }
    let mut f: File = toml::from_str(toml_text).expect("claim parses");
    f.claim.remove(0)
}

fn config(settings: &str, seed: usize) -> toml::Table {
    toml::from_str(&format!("{settings}\nseed = {seed}")).expect("config parses")
}

/// A run whose `metric` ends on `value`.
fn final_run(settings: &str, seed: usize, metrics: &[(&str, f64)]) -> ClaimRun {
    ClaimRun {
        config: config(settings, seed),
        series: metrics
            .iter()
            .map(|(m, v)| (m.to_string(), vec![(100, *v)]))
            .collect(),
        layers: BTreeMap::new(),
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Share of `N` simulated evaluations with each verdict: (supported, contradicted).
fn rates(
    c: &Claim,
    mut runs: impl FnMut(&mut ChaCha8Rng) -> Vec<ClaimRun>,
    seed: u64,
) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut sup, mut con) = (0, 0);
    for _ in 0..N {
        let r = evaluate(c, &runs(&mut rng), &[]).expect("claim evaluates");
        match r.verdict {
            Verdict::Supported => sup += 1,
            Verdict::Contradicted => con += 1,
            Verdict::Inconclusive => {}
        }
    }
    (sup as f64 / N as f64, con as f64 / N as f64)
}

fn report(kind: &str, null: (f64, f64), power: f64) {
    println!(
        "calibration | {kind} | supported under the null {:.4} | contradicted under the null {:.4} | power {:.3}",
        null.0, null.1, power
    );
}

const SW: &str = r#"[[claim]]
text = "gp beats clip"
metric = "sliced_wasserstein"
better = { loss = "wgan-gp" }
than = { loss = "wgan-clip" }
"#;

/// `k` clipping configurations against one penalty configuration, 3 seeds each, normal noise;
/// the penalty's mean is `shift` sd lower (better).
fn sw_runs(rng: &mut ChaCha8Rng, k: usize, shift: f64) -> Vec<ClaimRun> {
    let mut runs = Vec::new();
    for seed in 1..=3 {
        let v = 5.0 - shift + normal(rng);
        runs.push(final_run(
            "loss = \"wgan-gp\"",
            seed,
            &[("sliced_wasserstein", v)],
        ));
        for c in 0..k {
            let v = 5.0 + normal(rng);
            let s = format!("loss = \"wgan-clip\"\nclip = {}", 0.01 * (c + 1) as f64);
            runs.push(final_run(&s, seed, &[("sliced_wasserstein", v)]));
        }
    }
    runs
}

#[test]
fn comparison_welch_is_calibrated() {
    let c = claim(SW);
    let null = rates(&c, |r| sw_runs(r, 1, 0.0), 1);
    let (power, _) = rates(&c, |r| sw_runs(r, 1, 3.0), 2);
    report(
        "comparison, Welch, 3 v 3 seeds, 1 pair; power at 3 sd",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.80, "power {power}");
}

#[test]
fn comparison_over_three_null_pairs_is_calibrated_by_holm() {
    let c = claim(SW);
    let null = rates(&c, |r| sw_runs(r, 3, 0.0), 3);
    let (power, _) = rates(&c, |r| sw_runs(r, 3, 3.0), 4);
    report(
        "comparison, Welch, 3 pairs (Holm); power at 3 sd",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.55, "power {power}");
}

const MODES: &str = r#"[[claim]]
text = "gp covers more modes"
metric = "modes_covered"
better = { loss = "wgan-gp" }
than = { loss = "wgan-clip" }
"#;

/// Modes covered out of 8: 8 with probability `p8`, 7 with (1 - p8) * 0.6, else 6.
fn modes(rng: &mut ChaCha8Rng, p8: f64) -> f64 {
    let u: f64 = rng.random();
    if u < p8 {
        8.0
    } else if u < p8 + (1.0 - p8) * 0.6 {
        7.0
    } else {
        6.0
    }
}

fn mode_runs(rng: &mut ChaCha8Rng, seeds: usize, p_gp: f64, p_clip: f64) -> Vec<ClaimRun> {
    let mut runs = Vec::new();
    for seed in 1..=seeds {
        let v = modes(rng, p_gp);
        runs.push(final_run(
            "loss = \"wgan-gp\"",
            seed,
            &[("modes_covered", v)],
        ));
        let v = modes(rng, p_clip);
        runs.push(final_run(
            "loss = \"wgan-clip\"",
            seed,
            &[("modes_covered", v)],
        ));
    }
    runs
}

#[test]
fn comparison_rank_sum_on_counts_is_calibrated() {
    let c = claim(MODES);
    let null = rates(&c, |r| mode_runs(r, 3, 0.5, 0.5), 5);
    let (power, _) = rates(&c, |r| mode_runs(r, 4, 0.95, 0.05), 6);
    report(
        "comparison, rank-sum on modes, 3 v 3; power 4 v 4 at P(8) 0.95 vs 0.05",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.60, "power {power}");
}

fn threshold_runs(rng: &mut ChaCha8Rng, seeds: usize, mean: f64) -> Vec<ClaimRun> {
    (1..=seeds)
        .map(|s| {
            final_run(
                "loss = \"wgan-gp\"",
                s,
                &[("sliced_wasserstein", mean + normal(rng))],
            )
        })
        .collect()
}

#[test]
fn threshold_t_test_is_calibrated() {
    let c = claim(
        r#"[[claim]]
text = "fits within 2"
metric = "sliced_wasserstein"
at_most = 2.0
"#,
    );
    let null = rates(&c, |r| threshold_runs(r, 3, 2.0), 7);
    let (power, _) = rates(&c, |r| threshold_runs(r, 3, 0.0), 8);
    report("threshold, t-test, 3 seeds; power at 2 sd", null, power);
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.60, "power {power}");
}

#[test]
fn threshold_sign_test_on_counts_is_calibrated() {
    let c = claim(
        r#"[[claim]]
text = "covers all modes"
metric = "modes_covered"
at_least = 8
"#,
    );
    let runs = |rng: &mut ChaCha8Rng, p8: f64| -> Vec<ClaimRun> {
        (1..=5)
            .map(|s| {
                final_run(
                    "loss = \"wgan-gp\"",
                    s,
                    &[("modes_covered", modes(rng, p8))],
                )
            })
            .collect()
    };
    let null = rates(&c, |r| runs(r, 0.5), 9);
    let (power, _) = rates(&c, |r| runs(r, 0.95), 10);
    report(
        "threshold, sign test on modes, 5 seeds; power at P(8) = 0.95",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.75, "power {power}");
}

/// A run whose `quantity` over 4 layers (input first) has the given values at its last step.
fn layer_run(seed: usize, quantity: &str, values: &[f64]) -> ClaimRun {
    let rows = values
        .iter()
        .enumerate()
        .map(|(i, v)| (100, i as u32 + 1, *v))
        .collect();
    ClaimRun {
        config: config("loss = \"wgan-clip\"", seed),
        series: BTreeMap::new(),
        layers: [(quantity.to_string(), rows)].into(),
    }
}

/// Decay over 4 layers by `decades` in total, in equal monotone steps.
fn decaying(decades: f64) -> Vec<f64> {
    (0..4)
        .map(|i| 10f64.powf(-decades * (3 - i) as f64 / 3.0))
        .collect()
}

#[test]
fn layer_trend_is_calibrated() {
    let c = claim(
        r#"[[claim]]
text = "gradients vanish towards the input"
metric = "act_grad_norm"
decays_by = 2
"#,
    );
    let runs = |rng: &mut ChaCha8Rng, mean: f64| -> Vec<ClaimRun> {
        (1..=3)
            .map(|s| layer_run(s, "act_grad_norm", &decaying(mean + 0.5 * normal(rng))))
            .collect()
    };
    let null = rates(&c, |r| runs(r, 2.0), 11);
    let (power, _) = rates(&c, |r| runs(r, 3.0), 12);
    report(
        "layer trend, t-test on decades, 3 seeds; power at 2 sd",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.60, "power {power}");
}

#[test]
fn per_layer_threshold_is_calibrated() {
    let c = claim(
        r#"[[claim]]
text = "clipped weights pile up at +-c in every layer"
metric = "frac_at_clip"
layers = "every"
at_least = 0.5
"#,
    );
    // Three layers well above the bound, one whose share is at the bound under the null.
    let runs = |rng: &mut ChaCha8Rng, mean: f64| -> Vec<ClaimRun> {
        (1..=3)
            .map(|s| {
                let v = [0.9, 0.95, mean + 0.05 * normal(rng), 0.9];
                layer_run(s, "frac_at_clip", &v)
            })
            .collect()
    };
    let null = rates(&c, |r| runs(r, 0.5), 13);
    let (power, _) = rates(&c, |r| runs(r, 0.6), 14);
    report(
        "per-layer threshold (every), t-test, 3 seeds; power at 2 sd",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.60, "power {power}");
}

/// A series of `n` points: a random walk (`phi` = 1) or AR(1) with coefficient `phi`.
fn series(rng: &mut ChaCha8Rng, n: usize, phi: f64) -> Vec<f64> {
    let mut x = 0.0;
    (0..n)
        .map(|_| {
            x = phi * x + normal(rng);
            x
        })
        .collect()
}

/// A run with `estimate` and `fld` logged at 19 evaluations.
fn curve_run(seed: usize, x: &[f64], y: &[f64]) -> ClaimRun {
    let steps = |v: &[f64]| -> Vec<(u64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, v)| (i as u64 * 500, *v))
            .collect()
    };
    ClaimRun {
        config: config("loss = \"wgan-clip\"", seed),
        series: [
            ("estimate".to_string(), steps(x)),
            ("fld".to_string(), steps(y)),
        ]
        .into(),
        layers: BTreeMap::new(),
    }
}

const TRACKS: &str = r#"[[claim]]
text = "the estimate tracks the distance"
metric = "estimate"
tracks = "fld"
sign = "positive"
"#;

/// Points per run: a real run's evaluations (seed_wgan_mnist logs 19).
const POINTS: usize = 19;

fn independent_curves(rng: &mut ChaCha8Rng, phi: f64) -> Vec<ClaimRun> {
    (1..=3)
        .map(|s| curve_run(s, &series(rng, POINTS, phi), &series(rng, POINTS, phi)))
        .collect()
}

/// The estimate follows the distance: y plus measurement noise of `noise` sd per evaluation.
fn tracking_curves(rng: &mut ChaCha8Rng, noise: f64) -> Vec<ClaimRun> {
    (1..=3)
        .map(|s| {
            let y = series(rng, POINTS, 1.0);
            let x: Vec<f64> = y.iter().map(|v| v + noise * normal(rng)).collect();
            curve_run(s, &x, &y)
        })
        .collect()
}

#[test]
fn correlation_of_independent_random_walks_is_calibrated() {
    let c = claim(TRACKS);
    let null = rates(&c, |r| independent_curves(r, 1.0), 15);
    let (power, _) = rates(&c, |r| tracking_curves(r, 1.0), 16);
    report(
        "correlation over training, random walks, 3 seeds x 19 points; power at noise 1 sd",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.90, "power {power}");
}

#[test]
fn correlation_of_independent_ar1_series_is_calibrated() {
    let c = claim(TRACKS);
    for (phi, seed) in [(0.5, 17), (0.9, 18)] {
        let null = rates(&c, |r| independent_curves(r, phi), seed);
        report(
            &format!("correlation over training, AR(1) phi = {phi}, 3 seeds x 19 points"),
            null,
            f64::NAN,
        );
        assert!(
            null.0 <= ceiling() && null.1 <= ceiling(),
            "phi {phi}: {null:?}"
        );
    }
}

const UNTRACKED: &str = r#"[[claim]]
text = "the JS estimate does not track the distance"
metric = "estimate"
tracks = "fld"
below = 0.5
"#;

/// Curves whose step-to-step changes are normal with Pearson correlation `r`.
fn correlated_curves(rng: &mut ChaCha8Rng, r: f64, seeds: usize) -> Vec<ClaimRun> {
    (1..=seeds)
        .map(|s| {
            let (mut x, mut y) = (vec![0.0], vec![0.0]);
            for _ in 1..POINTS {
                let a = normal(rng);
                let b = r * a + (1.0 - r * r).sqrt() * normal(rng);
                x.push(x.last().unwrap() + a);
                y.push(y.last().unwrap() + b);
            }
            curve_run(s, &x, &y)
        })
        .collect()
}

#[test]
fn does_not_track_is_calibrated() {
    let c = claim(UNTRACKED);
    // Spearman's rho is 0.5 exactly when Pearson's r is 2 sin(pi 0.5 / 6) (normal data).
    let r = 2.0 * (std::f64::consts::PI * 0.5 / 6.0).sin();
    let null = rates(&c, |g| correlated_curves(g, r, 3), 19);
    let (power, _) = rates(&c, |g| correlated_curves(g, 0.0, 3), 20);
    report(
        "does not track (|rho| < 0.5), 3 seeds x 19 points; power at rho 0",
        null,
        power,
    );
    assert!(null.0 <= ceiling(), "{null:?}");
    assert!(power >= 0.60, "power {power}");
}

#[test]
fn correlation_across_runs_is_calibrated() {
    let c = claim(
        r#"[[claim]]
text = "the better the estimate, the better the distance, across runs"
metric = "estimate"
tracks = "fld"
sign = "positive"
over = "runs"
"#,
    );
    // 3 configurations x 3 seeds: 9 independent final values.
    let runs = |rng: &mut ChaCha8Rng, r: f64| -> Vec<ClaimRun> {
        let mut out = Vec::new();
        for cfg in 0..3 {
            for seed in 1..=3 {
                let a = normal(rng);
                let b = r * a + (1.0 - r * r).sqrt() * normal(rng);
                let s = format!("loss = \"wgan-clip\"\nclip = {}", 0.01 * (cfg + 1) as f64);
                out.push(final_run(&s, seed, &[("estimate", a), ("fld", b)]));
            }
        }
        out
    };
    let null = rates(&c, |g| runs(g, 0.0), 21);
    let (power, _) = rates(&c, |g| runs(g, 0.9), 22);
    report(
        "correlation across runs, 9 runs; power at r = 0.9",
        null,
        power,
    );
    assert!(null.0 <= ceiling() && null.1 <= ceiling(), "{null:?}");
    assert!(power >= 0.80, "power {power}");
}
