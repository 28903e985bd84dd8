//! Thresholds ("final value at least / at most x"): each configuration's seeds tested against
//! the bound, a one-sample t-test of the mean or an exact sign test.

use super::compare::degenerate_t;
use super::group::Group;
use super::trend::last_layers;
use super::*;

/// Test seeds' values against a bound: (p for the bound's side, p for the other side, method).
/// `meeting` is how many seeds meet the bound (for the sign test). One seed never decides.
pub(super) fn one_sample(
    values: &[f64],
    meeting: usize,
    bound: Bound,
    counted: bool,
) -> (Option<f64>, Option<f64>, OneSampleMethod) {
    let n = values.len();
    if n < 2 {
        return (None, None, OneSampleMethod::None);
    }
    let finite = values.iter().all(|v| v.is_finite());
    let t = stats::one_sample_t(values, bound.value()).or_else(|| {
        let spread = stats::sample_sd(values).unwrap_or(f64::NAN);
        (spread == 0.0).then(|| degenerate_t(values[0] - bound.value()))
    });
    if let (false, true, Some(t)) = (counted, finite, t) {
        let (p, q) = match bound {
            Bound::AtLeast(_) => (t.p_greater, t.p_less),
            Bound::AtMost(_) => (t.p_less, t.p_greater),
        };
        return (Some(p), Some(q), OneSampleMethod::TTest);
    }
    (
        Some(stats::sign_p(meeting, n)),
        Some(stats::sign_p(n - meeting, n)),
        OneSampleMethod::Sign,
    )
}

/// The words for a one-sample test's p-values.
pub(super) fn one_sample_words(p: Option<f64>, q: Option<f64>, method: OneSampleMethod) -> String {
    match (p, q, method) {
        (Some(p), Some(q), OneSampleMethod::TTest) => {
            format!(
                "p = {}, other side {} (t-test of the mean, one-sided)",
                fmt_p(p),
                fmt_p(q)
            )
        }
        (Some(p), Some(q), _) => {
            format!(
                "p = {}, other side {} (exact sign test, one-sided)",
                fmt_p(p),
                fmt_p(q)
            )
        }
        _ => "fewer than 2 seeds: no test (one seed never decides)".into(),
    }
}

/// A run's value for a threshold: the final value, or for a per-layer threshold the layer that
/// decides it at the last evaluation (every layer: the worst one; any layer: the best one).
pub(super) fn threshold_value(
    run: &ClaimRun,
    metric: &str,
    bound: Bound,
    layers: Option<LayerScope>,
) -> Option<f64> {
    let Some(scope) = layers else {
        return run.final_value(metric);
    };
    let (_, v) = last_layers(run, metric, 1)?;
    if v.iter().any(|x| !x.is_finite()) {
        return Some(f64::NAN);
    }
    let lowest = matches!(
        (bound, scope),
        (Bound::AtLeast(_), LayerScope::Every) | (Bound::AtMost(_), LayerScope::Any)
    );
    let pick = if lowest { f64::min } else { f64::max };
    v.into_iter().reduce(pick)
}

/// The median with a NaN ranked as the worst value, so that it counts against the median.
fn median_worst_nan(values: &[f64], bound: Bound) -> f64 {
    let worst = match bound {
        Bound::AtLeast(_) => f64::NEG_INFINITY,
        Bound::AtMost(_) => f64::INFINITY,
    };
    let ranked: Vec<f64> = values
        .iter()
        .map(|v| if v.is_nan() { worst } else { *v })
        .collect();
    stats::median(&ranked)
}

/// The mean, its 95% interval and its one-sided 95% bound on the bound's side; all `None`
/// unless every value is finite (and there is one).
#[allow(clippy::type_complexity)]
fn mean_and_bounds(values: &[f64], bound: Bound) -> (Option<f64>, Option<(f64, f64)>, Option<f64>) {
    let all_finite = values.iter().all(|v| v.is_finite()) && !values.is_empty();
    let mean = all_finite.then(|| stats::mean(values));
    let ci95 = all_finite
        .then(|| stats::t_interval(values, 0.95))
        .flatten();
    let lower = matches!(bound, Bound::AtLeast(_));
    let bound95 = all_finite
        .then(|| stats::t_bound(values, 0.95, lower))
        .flatten();
    (mean, ci95, bound95)
}

/// One configuration's threshold part: its seeds' values against the bound.
pub(super) fn threshold(
    metric: &str,
    bound: Bound,
    layers: Option<LayerScope>,
    g: &Group,
    label: String,
) -> Item {
    let values: Vec<f64> = g
        .runs
        .iter()
        .filter_map(|r| threshold_value(r, metric, bound, layers))
        .collect();
    let n = values.len();
    let meeting = values.iter().filter(|v| bound.met_by(**v)).count();
    let median = median_worst_nan(&values, bound);
    let (mean, ci95, bound95) = mean_and_bounds(&values, bound);
    let counted = scalar_metric(metric)
        .or_else(|| crate::claims::claim::layer_metric(metric))
        .is_some_and(|m| m.rank_tested());
    let (p, q, method) = one_sample(&values, meeting, bound, counted);
    let op = bound.symbol();
    let which = layers.map_or(String::new(), |s| format!(" in {} layer", s.name()));
    let sentence = threshold_sentence(
        &label,
        metric,
        bound,
        &which,
        (median, mean, ci95),
        (meeting, n),
        (p, q, method),
    );
    let detail = Detail::Threshold(ThresholdDetail {
        bound: bound.value(),
        op,
        values,
        n,
        meeting,
        median,
        mean,
        ci95,
        bound95,
        method,
    });
    part(label, sentence, p, q, detail)
}

/// A threshold part's sentence: median, mean and interval, how many seeds meet the bound, and
/// the test.
#[allow(clippy::type_complexity)]
pub(super) fn threshold_sentence(
    label: &str,
    metric: &str,
    bound: Bound,
    which: &str,
    (median, mean, ci95): (f64, Option<f64>, Option<(f64, f64)>),
    (meeting, n): (usize, usize),
    (p, q, method): (Option<f64>, Option<f64>, OneSampleMethod),
) -> String {
    let op = bound.symbol();
    if n == 0 {
        format!("{label}: no run has `{metric}`")
    } else {
        let mean_part = mean.map_or(String::new(), |m| {
            format!(", mean {}{}", fmt_num(m), fmt_ci(ci95))
        });
        format!(
            "{label}: median {}{mean_part}, {meeting} of {n} seeds {op} {}{which}; {}",
            fmt_num(median),
            fmt_num(bound.value()),
            one_sample_words(p, q, method)
        )
    }
}
