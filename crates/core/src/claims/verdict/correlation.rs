//! Correlations: over training (Spearman's rho of step-to-step changes per seed, pooled by
//! Fisher's z) or across runs (rho of the final values).

use super::group::Group;
use super::*;

/// The one part of an across-runs correlation: every run `where` selects, labelled by the
/// selector.
pub(super) fn across_runs(
    claim: &Claim,
    tracks: &str,
    relation: Relation,
    runs: &[ClaimRun],
) -> Vec<Item> {
    let select = &claim.select;
    let chosen: Vec<&ClaimRun> = runs.iter().filter(|r| selects(select, &r.config)).collect();
    if chosen.is_empty() {
        return Vec::new();
    }
    let label = if select.is_empty() {
        "all runs".to_string()
    } else {
        format!("runs with {}", selector_words(select))
    };
    vec![correlation_across(
        &claim.metric,
        tracks,
        relation,
        &chosen,
        label,
    )]
}

/// A selector as `key=value` words, for the label of an across-runs correlation.
pub(super) fn selector_words(select: &Selector) -> String {
    select
        .iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The two metrics at the steps where both have a finite value, in step order (a step logged
/// twice keeps its last value).
pub(super) fn joined(run: &ClaimRun, a: &str, b: &str) -> Option<(Vec<f64>, Vec<f64>)> {
    let xs: BTreeMap<u64, f64> = run.series.get(a)?.iter().copied().collect();
    let ys: BTreeMap<u64, f64> = run.series.get(b)?.iter().copied().collect();
    Some(
        xs.iter()
            .filter_map(|(s, x)| Some((*x, *ys.get(s)?)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .unzip(),
    )
}

/// Fisher's z of seeds' (or runs') correlations pooled: the weighted mean of atanh(rho) and its
/// standard error, each weighted by its information (n_eff - 3) / 1.06.
pub(super) fn pooled_z(zs: &[(f64, f64)]) -> (f64, f64) {
    let w: f64 = zs.iter().map(|(_, w)| w).sum();
    let z = zs.iter().map(|(z, w)| z * w).sum::<f64>() / w;
    (z, 1.0 / w.sqrt())
}

/// One-sided p-values of a correlation claim from the pooled Fisher z (`z`, `se`): for a sign,
/// z against 0; for `below = b`, two one-sided tests that |rho| < b (TOST: the larger of the
/// two p) against, for the opposite, |rho| > b on either side (Bonferroni over the two sides).
pub(super) fn relation_p(relation: Relation, z: f64, se: f64) -> (f64, f64) {
    match relation {
        Relation::Sign(Sign::Positive) => (stats::normal_sf(z / se), stats::normal_sf(-z / se)),
        Relation::Sign(Sign::Negative) => (stats::normal_sf(-z / se), stats::normal_sf(z / se)),
        Relation::Below(b) => {
            let zb = b.atanh();
            let p = stats::normal_sf((zb - z) / se).max(stats::normal_sf((z + zb) / se));
            let q = stats::normal_sf((z - zb) / se).min(stats::normal_sf((-zb - z) / se));
            (p, (2.0 * q).min(1.0))
        }
    }
}

pub(super) fn relation_words(relation: Relation) -> String {
    match relation {
        Relation::Sign(s) => format!("{s}"),
        Relation::Below(b) => format!("|rho| < {}", fmt_num(b)),
    }
}

pub(super) fn correlation(
    metric: &str,
    tracks: &str,
    relation: Relation,
    g: &Group,
    label: String,
) -> Item {
    let seeds: Vec<CorrelationSeed> = g
        .runs
        .iter()
        .filter_map(|r| {
            let (x, y) = joined(r, metric, tracks)?;
            let d = stats::diff_correlation(&x, &y);
            Some(CorrelationSeed {
                seed: r.seed(),
                points: x.len(),
                rho: d.map(|d| d.rho),
                n_eff: d.map(|d| d.n_eff),
                z: d.map(|d| d.z),
            })
        })
        .collect();
    let n = seeds.len();
    let usable: Vec<(f64, f64)> = seeds
        .iter()
        .filter_map(|s| Some((s.rho?.atanh(), (s.n_eff? - 3.0) / stats::SPEARMAN_Z_VAR)))
        .collect();
    let (p, q, pooled) = if usable.len() < 2 {
        (None, None, None)
    } else {
        let (z, se) = pooled_z(&usable);
        let (p, q) = relation_p(relation, z, se);
        (Some(p), Some(q), Some((z, se)))
    };
    let rhos: Vec<f64> = seeds.iter().filter_map(|s| s.rho).collect();
    let median_rho = (!rhos.is_empty()).then(|| stats::median(&rhos));
    let sentence = correlation_sentence(&label, metric, tracks, relation, &seeds, pooled, p, q);
    let detail = Detail::Correlation(CorrelationDetail {
        n,
        median_rho,
        pooled_rho: pooled.map(|(z, _)| z.tanh()),
        ci90: pooled.map(|(z, se)| ci90(z, se)),
        seeds,
    });
    part(label, sentence, p, q, detail)
}

/// The 90% interval of rho from a pooled Fisher z: the interval whose ends the two one-sided
/// tests at level 0.05 read.
pub(super) fn ci90(z: f64, se: f64) -> (f64, f64) {
    let h = stats::z_upper(ALPHA) * se;
    ((z - h).tanh(), (z + h).tanh())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn correlation_sentence(
    label: &str,
    metric: &str,
    tracks: &str,
    relation: Relation,
    seeds: &[CorrelationSeed],
    pooled: Option<(f64, f64)>,
    p: Option<f64>,
    q: Option<f64>,
) -> String {
    if seeds.is_empty() {
        return format!("{label}: no run has both `{metric}` and `{tracks}`");
    }
    let pts: Vec<usize> = seeds.iter().map(|s| s.points).collect();
    let (lo, hi) = (
        pts.iter().min().unwrap_or(&0),
        pts.iter().max().unwrap_or(&0),
    );
    let pts = if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo}-{hi}")
    };
    let per_seed: Vec<String> = seeds
        .iter()
        .map(|s| s.rho.map_or("-".into(), fmt_num))
        .collect();
    let head = format!(
        "{label}: Spearman rho of step-to-step changes per seed [{}] over {pts} evaluations",
        per_seed.join(", ")
    );
    match (pooled, p, q) {
        (Some((z, se)), Some(p), Some(q)) => {
            let (a, b) = ci90(z, se);
            format!(
                "{head}; pooled rho {} (90% CI [{}, {}]), {}: p = {}, other way {}",
                fmt_num(z.tanh()),
                fmt_num(a),
                fmt_num(b),
                relation_words(relation),
                fmt_p(p),
                fmt_p(q)
            )
        }
        _ => format!(
            "{head}; fewer than 2 seeds with 5 or more evaluations and changing values: no test \
             (one seed never decides)"
        ),
    }
}

/// A correlation across runs: one point per selected run, its two final values. Runs are
/// independent, so Spearman's rho of the levels is tested as is (exact up to 9 runs).
pub(super) fn correlation_across(
    metric: &str,
    tracks: &str,
    relation: Relation,
    runs: &[&ClaimRun],
    label: String,
) -> Item {
    let points: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| Some((r.final_value(metric)?, r.final_value(tracks)?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let (x, y): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    let seeds: std::collections::BTreeSet<i64> = runs.iter().filter_map(|r| r.seed()).collect();
    let s = stats::spearman(&x, &y);
    let decidable = seeds.len() >= 2 && x.len() >= 4;
    let (p, q) = match (s, relation, decidable) {
        (Some(s), Relation::Sign(Sign::Positive), true) => (Some(s.p_positive), Some(s.p_negative)),
        (Some(s), Relation::Sign(Sign::Negative), true) => (Some(s.p_negative), Some(s.p_positive)),
        (Some(s), Relation::Below(_), true) => {
            let se = (stats::SPEARMAN_Z_VAR / (x.len() as f64 - 3.0)).sqrt();
            let (p, q) = relation_p(relation, s.rho.clamp(-0.999_999, 0.999_999).atanh(), se);
            (Some(p), Some(q))
        }
        _ => (None, None),
    };
    let words = match (s, p, q) {
        (Some(s), Some(p), Some(q)) => format!(
            "Spearman rho {} over {} runs, {}: p = {}, other way {} ({})",
            fmt_num(s.rho),
            x.len(),
            relation_words(relation),
            fmt_p(p),
            fmt_p(q),
            if s.exact && !matches!(relation, Relation::Below(_)) {
                "exact"
            } else {
                "approximate"
            }
        ),
        _ => format!(
            "{} runs with both final values over {} seeds: no test (needs 4 runs and 2 seeds, and values that vary)",
            x.len(),
            seeds.len()
        ),
    };
    let detail = Detail::Correlation(CorrelationDetail {
        n: x.len(),
        median_rho: s.map(|s| s.rho),
        pooled_rho: s.map(|s| s.rho),
        ci90: None,
        seeds: Vec::new(),
    });
    part(label.clone(), format!("{label}: {words}"), p, q, detail)
}
