//! Tests build long fixtures inline: a test reads top to bottom.
#![allow(clippy::too_many_lines)]

use super::*;
use crate::claims::testing::config;

fn claim(text: &str) -> Claim {
    #[derive(serde::Deserialize)]
    struct File {
        claim: Vec<Claim>,
    }
    let mut f: File = toml::from_str(text).expect("claim parses");
    f.claim.remove(0)
}

/// One run per value: `settings` plus `seed = i`, the metric's final value (and an earlier,
/// different value that must not count).
fn runs(settings: &str, metric: &str, finals: &[f64]) -> Vec<ClaimRun> {
    finals
        .iter()
        .enumerate()
        .map(|(i, v)| ClaimRun {
            config: config(&format!("{settings}\nseed = {}", i + 1)),
            series: [(metric.to_string(), vec![(0, 1e9), (100, *v), (50, -1e9)])].into(),
            layers: BTreeMap::new(),
        })
        .collect()
}

fn eval(c: &Claim, runs: &[ClaimRun]) -> ClaimResult {
    evaluate(c, runs, &[]).unwrap()
}

fn pair(r: &ClaimResult, i: usize) -> &PairDetail {
    match &r.items[i].detail {
        Detail::Comparison(d) => d,
        other => panic!("not a comparison: {other:?}"),
    }
}

const SW: &str = r#"[[claim]]
text = "The penalty fits better than clipping"
metric = "sliced_wasserstein"
better = { loss = "wgan-gp" }
than = { loss = "wgan-clip" }
"#;

fn gp_vs_clip(gp: &[f64], clip: &[f64]) -> ClaimResult {
    let mut all = runs("loss = \"wgan-gp\"", "sliced_wasserstein", gp);
    all.extend(runs(
        "loss = \"wgan-clip\"\nclip = 0.01",
        "sliced_wasserstein",
        clip,
    ));
    eval(&claim(SW), &all)
}

#[test]
fn clear_gap_over_three_seeds_is_supported() {
    let r = gp_vs_clip(&[0.15, 0.16, 0.14], &[1.7, 1.9, 1.6]);
    assert_eq!(r.verdict, Verdict::Supported, "{r:#?}");
    let d = pair(&r, 0);
    assert_eq!(d.method, Method::Welch);
    // SciPy: ttest_ind(gp, clip, equal_var=False, alternative='less').pvalue
    assert!((d.p.unwrap() - 0.0014923762088315665).abs() < 1e-8, "{d:?}");
    // Lower is better, so the effect is the gap in the claimed direction: +11.67.
    assert!(
        (d.hedges_g.unwrap() - 11.6710620782174).abs() < 1e-9,
        "{d:?}"
    );
    assert_eq!((d.better.n, d.than.n), (3, 3));
    assert_eq!(r.items[0].label, "loss=wgan-gp vs loss=wgan-clip clip=0.01");
    // The example in docs/claims.md.
    assert_eq!(
        r.items[0].sentence,
        "loss=wgan-gp 0.150 [0.125, 0.175] (n=3) vs loss=wgan-clip clip=0.01 1.73 \
             [1.35, 2.11] (n=3): g = 11.7, p = 0.00149, other way 0.999 (Welch, one-sided)"
    );
}

/// Labels name configurations by the sweep's varying keys when given, not by the settings
/// each loss implies.
#[test]
fn labels_prefer_the_sweeps_varying_keys() {
    let mut all = runs(
        "loss = \"wgan-gp\"\ngp_lambda = 10.0\nc_lr = 1e-4",
        "sliced_wasserstein",
        &[0.15, 0.16],
    );
    all.extend(runs(
        "loss = \"wgan-clip\"\nclip = 0.01\nc_lr = 5e-5",
        "sliced_wasserstein",
        &[1.7, 1.9],
    ));
    let keys = ["clip".to_string(), "loss".to_string()];
    let r = evaluate(&claim(SW), &all, &keys).unwrap();
    assert_eq!(r.items[0].label, "loss=wgan-gp vs loss=wgan-clip clip=0.01");
    let r = evaluate(&claim(SW), &all, &[]).unwrap();
    assert_eq!(
        r.items[0].label,
        "loss=wgan-gp c_lr=0.0001 gp_lambda=10.0 vs loss=wgan-clip c_lr=0.00005 clip=0.01"
    );
    // Varying keys that do not tell the configurations apart are not enough.
    let mut clips = runs(
        "loss = \"wgan-clip\"\nc_lr = 5e-5",
        "sliced_wasserstein",
        &[1.0],
    );
    clips.extend(runs(
        "loss = \"wgan-clip\"\nc_lr = 1e-4",
        "sliced_wasserstein",
        &[1.0],
    ));
    let at_most = claim("[[claim]]\ntext = \"t\"\nmetric = \"sliced_wasserstein\"\nat_most = 2\n");
    let r = evaluate(&at_most, &clips, &["loss".to_string()]).unwrap();
    let labels: Vec<&str> = r.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, ["c_lr=0.00005", "c_lr=0.0001"]);
}

#[test]
fn clear_gap_the_other_way_is_contradicted() {
    let r = gp_vs_clip(&[1.7, 1.9, 1.6], &[0.15, 0.16, 0.14]);
    assert_eq!(r.verdict, Verdict::Contradicted);
    let d = pair(&r, 0);
    assert!((d.p_opposite.unwrap() - 0.0014923762088315665).abs() < 1e-8);
    assert!(d.hedges_g.unwrap() < 0.0);
}

#[test]
fn overlapping_noise_is_inconclusive_with_a_seed_estimate() {
    let r = gp_vs_clip(&[1.0, 1.3, 0.8], &[1.1, 1.4, 0.9]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    let d = pair(&r, 0);
    // SciPy: ttest_ind(..., alternative='less').pvalue = 0.326; Hedges' g 0.317;
    // statsmodels TTestIndPower().solve_power(0.317, alpha=0.05, power=0.8,
    // alternative='larger') = 123.7 -> 124 seeds per side.
    assert!((d.p.unwrap() - 0.32597934818757734).abs() < 1e-8);
    assert_eq!(d.seeds_needed, Some(124));
    assert!(
        r.items[0].sentence.contains("about 124 seeds per side"),
        "{}",
        r.items[0].sentence
    );
    // The same data with the sides swapped: the difference favours `than`, no estimate.
    let r = gp_vs_clip(&[1.1, 1.4, 0.9], &[1.0, 1.3, 0.8]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert_eq!(pair(&r, 0).seeds_needed, None);
    assert!(r.items[0].sentence.contains("goes the other way"));
    // Equal means: no effect, no estimate.
    let r = gp_vs_clip(&[1.0, 2.0, 3.0], &[3.0, 1.0, 2.0]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(
        r.items[0].sentence.ends_with("no difference observed"),
        "{}",
        r.items[0].sentence
    );
}

#[test]
fn one_seed_never_decides() {
    // The old 2x margin called these supported or contradicted from a single seed.
    for (gp, clip) in [
        (&[0.15][..], &[0.4][..]),
        (&[0.4], &[0.15]),
        (&[0.15], &[0.4, 0.5, 0.31]),
        (&[0.15, 0.16, 0.14], &[0.4]),
    ] {
        let r = gp_vs_clip(gp, clip);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{gp:?} vs {clip:?}");
        assert_eq!(pair(&r, 0).method, Method::NoData);
        assert_eq!(pair(&r, 0).p, None, "one seed is never given a p-value");
        assert!(r.items[0].sentence.contains("one seed never decides"));
    }
    // Counts too: modes 1 against 0 was "supported" by the margin.
    assert_eq!(modes(&[1.0], &[0.0]).verdict, Verdict::Inconclusive);
}

const MODES: &str = r#"[[claim]]
text = "The penalty covers more modes"
metric = "modes_covered"
better = { loss = "wgan-gp" }
than = { loss = "wgan-clip" }
"#;

fn modes(gp: &[f64], clip: &[f64]) -> ClaimResult {
    let mut all = runs("loss = \"wgan-gp\"", "modes_covered", gp);
    all.extend(runs("loss = \"wgan-clip\"", "modes_covered", clip));
    eval(&claim(MODES), &all)
}

#[test]
fn counts_use_the_exact_rank_sum_test_and_are_monotone() {
    let r = modes(&[8.0, 8.0, 8.0], &[8.0, 8.0, 8.0]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert_eq!(pair(&r, 0).method, Method::RankSum);
    assert_eq!(pair(&r, 0).p, Some(1.0));
    // 3 vs 3, complete separation: p = 1/20 = 0.05, which is <= 0.05 (an exact test's
    // p-value is at most alpha with probability at most alpha).
    let strong = modes(&[8.0, 8.0, 8.0], &[7.0, 7.0, 7.0]);
    assert_eq!(strong.verdict, Verdict::Supported);
    assert!((pair(&strong, 0).p.unwrap() - 0.05).abs() < 1e-12);
    // Weaker evidence is never the stronger verdict: [8,8,8] vs [6,7,7] was supported by
    // Welch while [8,8,8] vs [7,7,7] was not; both are now the same exact test.
    let weaker = modes(&[8.0, 8.0, 8.0], &[6.0, 7.0, 7.0]);
    assert_eq!(pair(&weaker, 0).method, Method::RankSum);
    assert!(pair(&weaker, 0).p.unwrap() >= pair(&strong, 0).p.unwrap());
    let weaker = modes(&[8.0, 8.0, 7.0], &[7.0, 7.0, 7.0]);
    assert_eq!(weaker.verdict, Verdict::Inconclusive);
    // SciPy: mannwhitneyu([8,8,7], [7,7,7], alternative='greater', method='exact') on
    // mid-ranks: 4 of 20 splits reach the observed rank sum -> p = 0.2.
    assert!((pair(&weaker, 0).p.unwrap() - 0.2).abs() < 1e-12);
    // 2 vs 2 cannot reach 0.05 (1/6): the sentence says how many seeds can.
    let r = modes(&[8.0, 8.0], &[6.0, 6.0]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert_eq!(pair(&r, 0).seeds_needed, Some(3));
    assert!(
        r.items[0].sentence.contains("3 seeds per side can decide"),
        "{}",
        r.items[0].sentence
    );
    // 4 vs 4: p = 1/70; the other way contradicts.
    let r = modes(&[8.0; 4], &[6.0; 4]);
    assert_eq!(r.verdict, Verdict::Supported);
    assert!((pair(&r, 0).p.unwrap() - 1.0 / 70.0).abs() < 1e-12);
    assert_eq!(modes(&[6.0; 4], &[8.0; 4]).verdict, Verdict::Contradicted);
    // A continuous metric with both sides constant: Welch's t is infinite, the limit of
    // ever less spread, so two constant seeds per side are not weaker than noisy ones.
    let r = gp_vs_clip(&[0.1, 0.1], &[0.5, 0.5]);
    assert_eq!(
        (pair(&r, 0).method, r.verdict),
        (Method::Welch, Verdict::Supported)
    );
    assert_eq!(pair(&r, 0).p, Some(0.0));
    assert_eq!(
        gp_vs_clip(&[0.1, 0.1], &[0.1, 0.1]).verdict,
        Verdict::Inconclusive
    );
}

#[test]
fn a_diverged_better_seed_blocks_support() {
    let r = gp_vs_clip(&[0.15, 0.16, 0.14, f64::NAN], &[1.7, 1.9, 1.6]);
    assert_eq!(r.verdict, Verdict::Inconclusive, "{r:#?}");
    let d = pair(&r, 0);
    assert_eq!((d.better.n, d.better.values.len()), (3, 4));
    assert!(r.items[0].sentence.contains("1 non-finite left out"));
    // On the other side it is only left out.
    let r = gp_vs_clip(&[0.15, 0.16, 0.14], &[1.7, 1.9, 1.6, f64::INFINITY]);
    assert_eq!(r.verdict, Verdict::Supported);
}

#[test]
fn every_pair_is_compared_and_the_worst_decides() {
    let mut all = runs(
        "loss = \"wgan-gp\"",
        "sliced_wasserstein",
        &[0.15, 0.16, 0.14],
    );
    all.extend(runs(
        "loss = \"wgan-clip\"\nclip = 0.1",
        "sliced_wasserstein",
        &[1.7, 1.9, 1.6],
    ));
    all.extend(runs(
        "loss = \"wgan-clip\"\nclip = 0.01",
        "sliced_wasserstein",
        &[0.1, 0.2, 0.15],
    ));
    let r = eval(&claim(SW), &all);
    assert_eq!(r.items.len(), 2);
    assert_eq!(r.items[0].verdict, Verdict::Supported);
    assert_eq!(r.items[1].verdict, Verdict::Inconclusive);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    all.extend(runs(
        "loss = \"wgan-clip\"\nclip = 0.001",
        "sliced_wasserstein",
        &[0.01, 0.02, 0.015],
    ));
    let r = eval(&claim(SW), &all);
    assert_eq!(r.items[2].verdict, Verdict::Contradicted);
    assert_eq!(r.verdict, Verdict::Contradicted);
    // Its opposite p is Holm-adjusted over the 3 pairs: the smallest times 3.
    let raw = r.items[2].p_opposite.unwrap();
    assert!((r.items[2].p_opposite_holm.unwrap() - 3.0 * raw).abs() < 1e-12);
    assert!(r.items[2].sentence.contains("Holm-adjusted over 3 parts"));
    assert_eq!(
        r.items[2].label,
        "loss=wgan-gp vs loss=wgan-clip clip=0.001"
    );
}

#[test]
fn same_pairs_only_matching_settings_and_where_narrows() {
    let mut all = Vec::new();
    for (ds, gp, clip) in [("swissroll", 0.1, 1.0), ("8gaussians", 0.2, 2.0)] {
        all.extend(runs(
            &format!("loss = \"wgan-gp\"\ndataset = \"{ds}\""),
            "sliced_wasserstein",
            &[gp, gp * 1.1, gp * 0.9],
        ));
        all.extend(runs(
            &format!("loss = \"wgan-clip\"\ndataset = \"{ds}\""),
            "sliced_wasserstein",
            &[clip, clip * 1.1, clip * 0.9],
        ));
    }
    let c = claim(&format!("{SW}same = [\"dataset\"]\n"));
    let r = eval(&c, &all);
    assert_eq!(r.items.len(), 2, "{r:#?}");
    assert_eq!(
        r.items[0].label,
        "loss=wgan-gp dataset=swissroll vs loss=wgan-clip dataset=swissroll"
    );
    assert_eq!(r.verdict, Verdict::Supported);
    assert_eq!(eval(&claim(SW), &all).items.len(), 4);
    let c = claim(&format!("{SW}where = {{ dataset = \"8gaussians\" }}\n"));
    let r = eval(&c, &all);
    assert_eq!(r.items.len(), 1);
    assert_eq!(
        r.items[0].label,
        "loss=wgan-gp dataset=8gaussians vs loss=wgan-clip dataset=8gaussians"
    );
}

const AT_LEAST_7: &str = r#"[[claim]]
text = "WGAN-GP covers all modes"
metric = "modes_covered"
where = { loss = "wgan-gp" }
at_least = 7
"#;

fn threshold_of(values: &[f64]) -> ClaimResult {
    eval(
        &claim(AT_LEAST_7),
        &runs("loss = \"wgan-gp\"", "modes_covered", values),
    )
}

fn threshold_detail(r: &ClaimResult) -> &ThresholdDetail {
    match &r.items[0].detail {
        Detail::Threshold(d) => d,
        other => panic!("not a threshold: {other:?}"),
    }
}

#[test]
fn thresholds_over_seeds() {
    // modes_covered is a count: the exact sign test on how many seeds meet the bound.
    // 3 of 3 gives p = 1/8, so 3 seeds can never decide a counted threshold.
    let r = threshold_of(&[7.0, 8.0, 8.0]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    let d = threshold_detail(&r);
    assert_eq!(
        (d.n, d.meeting, d.median, d.method),
        (3, 3, 8.0, OneSampleMethod::Sign)
    );
    // SciPy: t.interval(0.95, 2, loc=7.667, scale=sd/sqrt(3)) = (6.232, 9.101)
    let (lo, hi) = d.ci95.unwrap();
    assert!((lo - 6.232449090083513).abs() < 1e-9 && (hi - 9.100884243249821).abs() < 1e-9);
    assert_eq!(
        r.items[0].sentence,
        "loss=wgan-gp: median 8, mean 7.67 [6.23, 9.10], 3 of 3 seeds >= 7; p = 0.125, \
             other side 1 (exact sign test, one-sided)"
    );
    // 5 of 5 meet: p = 1/32. 0 of 5: contradicted.
    assert_eq!(
        threshold_of(&[7.0, 8.0, 8.0, 7.0, 8.0]).verdict,
        Verdict::Supported
    );
    assert_eq!(
        threshold_of(&[6.0, 5.0, 6.0, 4.0, 6.0]).verdict,
        Verdict::Contradicted
    );
    // 4 of 5: p = 6/32, not enough.
    assert_eq!(
        threshold_of(&[7.0, 8.0, 8.0, 7.0, 6.0]).verdict,
        Verdict::Inconclusive
    );
    // A diverged seed counts as missing and leaves no mean.
    let r = threshold_of(&[8.0, 8.0, f64::NAN]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert_eq!(threshold_detail(&r).mean, None);
    // One seed never decides.
    assert_eq!(threshold_of(&[8.0]).verdict, Verdict::Inconclusive);
    assert_eq!(threshold_of(&[2.0]).verdict, Verdict::Inconclusive);
    // No run: inconclusive with a note.
    let r = eval(
        &claim(AT_LEAST_7),
        &runs("loss = \"wgan-clip\"", "modes_covered", &[8.0]),
    );
    assert_eq!((r.verdict, r.items.len()), (Verdict::Inconclusive, 0));
    assert!(r.note.is_some());
}

#[test]
fn continuous_thresholds_are_a_t_test_of_the_mean() {
    let c = claim("[[claim]]\ntext = \"t\"\nmetric = \"fld\"\nat_most = 10\n");
    let r = eval(&c, &runs("loss = \"gan\"", "fld", &[5.0, 6.0, 7.0]));
    assert_eq!(r.verdict, Verdict::Supported);
    let d = threshold_detail(&r);
    assert_eq!(d.method, OneSampleMethod::TTest);
    // SciPy: ttest_1samp([5,6,7], 10, alternative='less').pvalue; with 2 degrees of
    // freedom the t CDF is closed-form: 1/2 - sqrt(48) / (2 sqrt(50)).
    let want = 0.5 - 48f64.sqrt() / (2.0 * 50f64.sqrt());
    assert!((r.items[0].p.unwrap() - want).abs() < 1e-9, "{r:#?}");
    let r = eval(&c, &runs("loss = \"gan\"", "fld", &[13.0, 14.0, 15.0]));
    assert_eq!(r.verdict, Verdict::Contradicted);
    // Close to the bound with spread: inconclusive.
    let r = eval(&c, &runs("loss = \"gan\"", "fld", &[8.0, 12.0, 9.0]));
    assert_eq!(r.verdict, Verdict::Inconclusive);
    // Two seeds can decide a continuous threshold; one cannot.
    let r = eval(&c, &runs("loss = \"gan\"", "fld", &[1.0, 1.1]));
    assert_eq!(r.verdict, Verdict::Supported);
    let r = eval(&c, &runs("loss = \"gan\"", "fld", &[1.0]));
    assert_eq!(r.verdict, Verdict::Inconclusive);
}

#[test]
fn at_most_ranks_nan_high() {
    let c = claim("[[claim]]\ntext = \"t\"\nmetric = \"fld\"\nat_most = 10\n");
    let all = runs("loss = \"gan\"", "fld", &[5.0, 6.0, f64::NAN]);
    let r = eval(&c, &all);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert_eq!(threshold_detail(&r).median, 6.0);
    assert_eq!(threshold_detail(&r).method, OneSampleMethod::Sign);
    assert_eq!(r.items[0].label, "all runs");
}

/// A run whose `act_grad_norm` at its last step is `values` (layer 1 first); an earlier step
/// holds a flat profile that must be ignored.
fn layer_run(seed: i64, values: &[f64]) -> ClaimRun {
    let mut rows: Vec<(u64, u32, f64)> = (1..=values.len() as u32).map(|l| (100, l, 1.0)).collect();
    rows.extend(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (600, i as u32 + 1, *v)),
    );
    ClaimRun {
        config: config(&format!("loss = \"wgan-clip\"\nclip = 0.01\nseed = {seed}")),
        series: BTreeMap::new(),
        layers: [("act_grad_norm".to_string(), rows)].into(),
    }
}

fn trend(claim_key: &str, profiles: &[&[f64]]) -> ClaimResult {
    let c = claim(&format!(
        "[[claim]]\ntext = \"t\"\nmetric = \"act_grad_norm\"\nwhere = {{ clip = [0.01, 0.001] }}\n{claim_key}\n"
    ));
    let all: Vec<ClaimRun> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| layer_run(i as i64 + 1, p))
        .collect();
    eval(&c, &all)
}

const DECAY_4: &[f64] = &[1e-4, 1e-3, 1e-2, 1e-1, 1.0];
const BUMPY_4: &[f64] = &[1e-4, 1e-2, 1e-3, 1e-1, 1.0];

#[test]
fn layer_trends() {
    let r = trend("decays_by = 3", &[DECAY_4, DECAY_4, DECAY_4]);
    assert_eq!(r.verdict, Verdict::Supported, "{r:#?}");
    let Detail::LayerTrend(d) = &r.items[0].detail else {
        panic!()
    };
    assert!((d.median_decades - 4.0).abs() < 1e-12);
    assert_eq!(d.method, OneSampleMethod::TTest);
    assert_eq!(
        (d.seeds[0].step, d.seeds[0].layers, d.seeds[0].monotone),
        (600, 5, Some(true))
    );
    // No spread: t is infinite, the limit of ever less spread.
    assert_eq!(
        r.items[0].sentence,
        "clip=0.01: 3 of 3 seeds fall >= 3 decades monotonically from output to input \
             (median 4 decades over 5 layers); p = 0, other side 1 (t-test of the mean, one-sided)"
    );
    // Decades with spread: a t-test of their mean against the bound.
    let spread: [&[f64]; 3] = [
        &[1e-4, 1e-3, 1e-2, 1e-1, 1.0],
        &[2e-5, 1e-3, 1e-2, 1e-1, 1.0],
        &[3e-4, 1e-3, 1e-2, 1e-1, 1.0],
    ];
    assert_eq!(trend("decays_by = 3", &spread).verdict, Verdict::Supported);
    assert_eq!(
        trend("decays_by = 6", &spread).verdict,
        Verdict::Contradicted
    );
    assert_eq!(
        trend("decays_by = 4", &spread).verdict,
        Verdict::Inconclusive
    );
    // A run that is not monotone misses: the sign test, which 3 seeds cannot pass (1/8).
    let r = trend("decays_by = 3", &[BUMPY_4, BUMPY_4, BUMPY_4]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(r.items[0].sentence.contains("3 not monotone"));
    let five_bumpy = [BUMPY_4; 5];
    assert_eq!(
        trend("decays_by = 3", &five_bumpy).verdict,
        Verdict::Contradicted
    );
    assert_eq!(
        trend("decays_by = 3", &[DECAY_4, DECAY_4, BUMPY_4]).verdict,
        Verdict::Inconclusive
    );
    // One seed never decides.
    assert_eq!(
        trend("decays_by = 5", &[DECAY_4]).verdict,
        Verdict::Inconclusive
    );
    assert_eq!(
        trend("decays_by = 3", &[DECAY_4]).verdict,
        Verdict::Inconclusive
    );
    // An exact 0 at the input fell below f32's range: at least 44 decades.
    let zero: &[f64] = &[0.0, 0.0, 1e-30, 1.0];
    let r = trend("decays_by = 3", &[zero, zero]);
    assert_eq!(r.verdict, Verdict::Supported);
    let Detail::LayerTrend(d) = &r.items[0].detail else {
        panic!()
    };
    assert!(d.median_decades > 44.0 && d.median_decades.is_finite());
    // Growing towards the input by 3 decades: supported above 3, not at exactly 3 (no
    // spread and no difference from the bound decides nothing).
    let grow: &[f64] = &[1e3, 1e2, 10.0, 1.0];
    assert_eq!(
        trend("grows_by = 2", &[grow, grow]).verdict,
        Verdict::Supported
    );
    assert_eq!(
        trend("grows_by = 3", &[grow, grow]).verdict,
        Verdict::Inconclusive
    );
    // Within: max/min 5 is 0.7 decades.
    let flat: &[f64] = &[1.0, 2.0, 5.0, 3.0];
    assert_eq!(
        trend("within = 1", &[flat, flat]).verdict,
        Verdict::Supported
    );
    assert_eq!(
        trend("within = 0.5", &[flat, flat]).verdict,
        Verdict::Contradicted
    );
    // A non-finite layer fails its seed, with a note.
    let r = trend("within = 1", &[&[1.0, f64::NAN]]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    let Detail::LayerTrend(d) = &r.items[0].detail else {
        panic!()
    };
    assert_eq!(d.seeds[0].note.as_deref(), Some("layer 2 has value NaN"));
}

/// A run logging `estimate` every 10 steps and `fld` every 100 steps from 0 to `last`.
fn corr_run(seed: i64, last: u64, fld: impl Fn(u64) -> f64, est: impl Fn(u64) -> f64) -> ClaimRun {
    ClaimRun {
        config: config(&format!("loss = \"wgan-clip\"\nseed = {seed}")),
        series: [
            (
                "estimate".to_string(),
                (0..=last).step_by(10).map(|s| (s, est(s))).collect(),
            ),
            (
                "fld".to_string(),
                (0..=last).step_by(100).map(|s| (s, fld(s))).collect(),
            ),
        ]
        .into(),
        layers: BTreeMap::new(),
    }
}

fn corr(sign: &str, all: &[ClaimRun]) -> ClaimResult {
    let c = claim(&format!(
        "[[claim]]\ntext = \"t\"\nmetric = \"estimate\"\ntracks = \"fld\"\nsign = \"{sign}\"\n"
    ));
    eval(&c, all)
}

#[test]
fn correlations_over_training() {
    // Estimate rises while fld falls, at 10 joint steps: their changes move in opposite
    // ways at every step.
    let all: Vec<ClaimRun> = (1..=3)
        .map(|seed| {
            corr_run(
                seed,
                900,
                |s| 100.0 / (s as f64 + 1.0) + (s as f64 / 100.0 * 2.7).sin(),
                |s| (s as f64).sqrt() - 3.0 * (s as f64 / 100.0 * 2.7).sin(),
            )
        })
        .collect();
    let r = corr("negative", &all);
    assert_eq!(r.verdict, Verdict::Supported, "{r:#?}");
    let Detail::Correlation(d) = &r.items[0].detail else {
        panic!()
    };
    assert_eq!(d.n, 3);
    assert!(d.median_rho.unwrap() < -0.9, "{d:?}");
    assert_eq!(d.seeds[0].points, 10);
    assert_eq!(corr("positive", &all).verdict, Verdict::Contradicted);
    // A shared drift alone does not track: both fall over training, with unrelated wiggles.
    let drift: Vec<ClaimRun> = (1..=3)
        .map(|seed| {
            corr_run(
                seed,
                1800,
                |s| -(s as f64) + 50.0 * ((s * 7919 + seed as u64 * 13) % 11) as f64,
                |s| -(s as f64) + 50.0 * ((s * 104_729 + seed as u64 * 7) % 13) as f64,
            )
        })
        .collect();
    let r = corr("positive", &drift);
    assert_ne!(r.verdict, Verdict::Supported, "{r:#?}");
    // Three joint steps give two changes: no test.
    let short: Vec<ClaimRun> = (1..=3)
        .map(|seed| corr_run(seed, 200, |s| -(s as f64), |s| s as f64))
        .collect();
    let r = corr("negative", &short);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(
        r.items[0].sentence.contains("no test"),
        "{}",
        r.items[0].sentence
    );
    // One seed never decides.
    let r = corr("negative", &all[..1]);
    assert_eq!((r.verdict, r.items[0].p), (Verdict::Inconclusive, None));
    // "Does not track" (|rho| < 0.5) is contradicted by curves that do track.
    let c =
        claim("[[claim]]\ntext = \"t\"\nmetric = \"estimate\"\ntracks = \"fld\"\nbelow = 0.5\n");
    assert_eq!(eval(&c, &all).verdict, Verdict::Contradicted);
}

#[test]
fn results_render_and_serialise() {
    let r = gp_vs_clip(&[0.15, 0.16, 0.14], &[1.7, 1.9, 1.6]);
    let row = r.table_row();
    assert_eq!(row[0], "The penalty fits better than clipping");
    assert_eq!(row[1], "supported");
    assert!(
        row[3].starts_with("supported: loss=wgan-gp 0.150"),
        "{}",
        row[3]
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"], "supported");
    assert_eq!(json["items"][0]["detail"]["kind"], "comparison");
    assert_eq!(json["items"][0]["detail"]["method"], "welch");
    let rows = r.rows();
    assert_eq!(rows.len(), 1);
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    assert!(
        text.starts_with("claim,kind,metric,verdict,item,item_verdict,numbers\n"),
        "{text}"
    );
}

#[test]
fn a_claim_the_registry_no_longer_knows_is_an_error() {
    let c = claim("[[claim]]\ntext = \"t\"\nmetric = \"gone\"\nat_most = 1\n");
    let err = evaluate(&c, &[], &[]).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("metric"));
}

#[test]
fn numbers_read_well() {
    assert_eq!(fmt_num(0.152), "0.152");
    assert_eq!(fmt_num(1.7433), "1.74");
    assert_eq!(fmt_num(17.433), "17.4");
    assert_eq!(fmt_num(8.0), "8");
    assert_eq!(fmt_num(1.2e-13), "1.20e-13");
    assert_eq!(fmt_num(-0.5), "-0.500");
    assert_eq!(fmt_p(0.00003), "3.0e-5");
}
