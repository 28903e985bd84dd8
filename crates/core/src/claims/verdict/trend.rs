//! Layer trends ("decays by N decades from output to input"): each seed's last per-layer
//! values read as decades, then tested over seeds as a threshold on them.

use super::group::Group;
use super::threshold::{one_sample, one_sample_words};
use super::*;

/// A run's quantity at its last step, by layer (input side first), when it has at least
/// `min_layers` layers there.
pub(super) fn last_layers(
    run: &ClaimRun,
    metric: &str,
    min_layers: usize,
) -> Option<(u64, Vec<f64>)> {
    let rows = run.layers.get(metric)?;
    let step = rows.iter().map(|r| r.0).max()?;
    let mut by_layer: BTreeMap<u32, f64> = BTreeMap::new();
    for &(s, layer, v) in rows {
        if s == step {
            by_layer.insert(layer, v);
        }
    }
    (by_layer.len() >= min_layers).then(|| (step, by_layer.into_values().collect()))
}

pub(super) fn layer_trend(metric: &str, trend: Trend, g: &Group, label: String) -> Item {
    let seeds: Vec<TrendSeed> = g
        .runs
        .iter()
        .filter_map(|r| {
            let (step, v) = last_layers(r, metric, 2)?;
            Some(trend_seed(r, trend, step, &v))
        })
        .collect();
    let n = seeds.len();
    let passing = seeds.iter().filter(|s| s.pass).count();
    let decades: Vec<f64> = seeds
        .iter()
        .map(|s| {
            if s.decades.is_nan() {
                f64::NEG_INFINITY
            } else {
                s.decades
            }
        })
        .collect();
    let median_decades = stats::median(&decades);
    let (p, q, method) = trend_test(&seeds, passing, trend);
    let what = trend_words(trend);
    let sentence = if n == 0 {
        format!("{label}: no run has `{metric}` on two or more layers")
    } else {
        let non_monotone = seeds.iter().filter(|s| s.monotone == Some(false)).count();
        let nm = if non_monotone > 0 {
            format!(", {non_monotone} not monotone")
        } else {
            String::new()
        };
        format!(
            "{label}: {passing} of {n} seeds {what} (median {} decades over {} layers{nm}); {}",
            fmt_num(median_decades),
            seeds[0].layers,
            one_sample_words(p, q, method)
        )
    };
    let detail = Detail::LayerTrend(TrendDetail {
        n,
        passing,
        median_decades,
        method,
        seeds,
    });
    part(label, sentence, p, q, detail)
}

/// A layer trend as a threshold on each seed's decades: at least N for a decay or growth, at
/// most N for `within`; a seed that is not monotone has no decades and counts as a miss.
pub(super) fn trend_test(
    seeds: &[TrendSeed],
    passing: usize,
    trend: Trend,
) -> (Option<f64>, Option<f64>, OneSampleMethod) {
    let tested: Vec<f64> = seeds
        .iter()
        .map(|s| {
            if s.monotone == Some(false) {
                f64::NAN
            } else {
                s.decades
            }
        })
        .collect();
    let bound = match trend {
        Trend::DecaysBy(x) | Trend::GrowsBy(x) => Bound::AtLeast(x),
        Trend::Within(x) => Bound::AtMost(x),
    };
    one_sample(&tested, passing, bound, false)
}

/// What a layer trend asks of each seed, in words.
pub(super) fn trend_words(trend: Trend) -> String {
    match trend {
        Trend::DecaysBy(x) => format!(
            "fall >= {} decades monotonically from output to input",
            fmt_num(x)
        ),
        Trend::GrowsBy(x) => format!(
            "grow >= {} decades monotonically from output to input",
            fmt_num(x)
        ),
        Trend::Within(x) => format!("stay within {} decades across layers", fmt_num(x)),
    }
}

pub(super) fn trend_seed(run: &ClaimRun, trend: Trend, step: u64, v: &[f64]) -> TrendSeed {
    let mut seed = TrendSeed {
        seed: run.seed(),
        step,
        layers: v.len(),
        decades: f64::NAN,
        monotone: None,
        pass: false,
        note: None,
    };
    if let Some(i) = v.iter().position(|x| !x.is_finite() || *x < 0.0) {
        seed.note = Some(format!("layer {} has value {}", i + 1, v[i]));
        return seed;
    }
    let (input, output) = (v[0], v[v.len() - 1]);
    // A value of exactly 0 fell below f32's range: it counts as the smallest positive f32, so
    // its decades are a lower bound (finite, so a t-test can weigh them).
    let floor = f64::from(f32::from_bits(1));
    let ratio = |num: f64, den: f64| {
        if num == 0.0 && den == 0.0 {
            f64::NAN
        } else {
            (num.max(floor) / den.max(floor)).log10()
        }
    };
    match trend {
        Trend::DecaysBy(n) | Trend::GrowsBy(n) => {
            let decays = matches!(trend, Trend::DecaysBy(_));
            // Walking from the output layer to the input, each value must fall (decay) or rise
            // (grow); values that reached exactly 0 may stay there.
            let monotone = v.windows(2).all(|w| {
                let (towards_input, from) = (w[0], w[1]);
                (towards_input == 0.0 && from == 0.0)
                    || if decays {
                        towards_input < from
                    } else {
                        towards_input > from
                    }
            });
            seed.decades = if decays {
                ratio(output, input)
            } else {
                ratio(input, output)
            };
            seed.monotone = Some(monotone);
            seed.pass = monotone && seed.decades >= n;
        }
        Trend::Within(n) => {
            let max = v.iter().copied().fold(0.0, f64::max);
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            seed.decades = ratio(max, min);
            seed.pass = seed.decades < n;
        }
    }
    if seed.decades.is_nan() {
        seed.note = Some("every value is 0 where the ratio is taken".into());
    }
    seed
}
