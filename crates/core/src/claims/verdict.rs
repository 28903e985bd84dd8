//! Testing claims on the runs of a sweep: per pair or configuration the numbers over seeds and
//! a verdict, then the claim's verdict (contradicted if any part is, supported if every part
//! is, inconclusive otherwise). The rules are in the README's grid-file section, the formulas
//! in `docs/claims.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::claim::{
    Bound, Claim, ClaimError, ClaimKind, LayerScope, Over, Relation, Selector, Sign, Trend,
    agree_on, scalar_metric, selects, values_equal, without_seed,
};
use super::stats::{self, ALPHA};
use crate::results::metrics::Direction;

mod compare;
mod correlation;
mod group;
#[cfg(test)]
mod tests;
mod threshold;
mod trend;

use compare::comparisons;
use correlation::{across_runs, correlation};
use group::{Group, Labeller, group};
use threshold::threshold;
use trend::layer_trend;

/// One run's data, as the report loads it.
#[derive(Debug, Clone, Default)]
pub struct ClaimRun {
    /// The run's flat configuration, `seed` included.
    pub config: toml::Table,
    /// `metrics.csv` and `eval.csv` quantities by name: `(step, value)`.
    pub series: BTreeMap<String, Vec<(u64, f64)>>,
    /// `layers.csv` quantities by name: `(step, layer, value)`, layer 1 on the input side.
    pub layers: BTreeMap<String, Vec<(u64, u32, f64)>>,
}

impl ClaimRun {
    fn seed(&self) -> Option<i64> {
        match self.config.get("seed")? {
            toml::Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The value at the series' last step (NaN if the run diverged there).
    fn final_value(&self, metric: &str) -> Option<f64> {
        let s = self.series.get(metric)?;
        s.iter()
            .enumerate()
            .max_by_key(|(i, (step, _))| (*step, *i))
            .map(|(_, (_, v))| *v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Supported,
    Contradicted,
    Inconclusive,
}

impl Verdict {
    /// Contradicted if any part is, supported if every part is (and there is one),
    /// inconclusive otherwise.
    pub fn combine(parts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let (mut any, mut all_supported) = (false, true);
        for v in parts {
            any = true;
            match v {
                Verdict::Contradicted => return Verdict::Contradicted,
                Verdict::Inconclusive => all_supported = false,
                Verdict::Supported => {}
            }
        }
        if any && all_supported {
            Verdict::Supported
        } else {
            Verdict::Inconclusive
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// A claim's outcome on a sweep's runs.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimResult {
    pub text: String,
    /// `comparison`, `threshold`, `layer-trend` or `correlation`.
    pub kind: &'static str,
    pub metric: String,
    pub verdict: Verdict,
    /// One per compared pair (comparison) or matching configuration (the other kinds).
    pub items: Vec<Item>,
    /// Why there are no items, when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One pair's or configuration's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The configuration(s), as `key=value` settings.
    pub label: String,
    pub verdict: Verdict,
    /// The numbers in one human sentence.
    pub sentence: String,
    /// One-sided p-value for the claim (None: no test, or a better side that diverged).
    pub p: Option<f64>,
    /// One-sided p-value against it, before and after Holm's adjustment over the claim's parts.
    pub p_opposite: Option<f64>,
    pub p_opposite_holm: Option<f64>,
    pub detail: Detail,
}

/// The numbers behind an item, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Detail {
    Comparison(PairDetail),
    Threshold(ThresholdDetail),
    LayerTrend(TrendDetail),
    Correlation(CorrelationDetail),
}

/// One side of a comparison: final values over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub label: String,
    /// Final value per seed (NaN: the run ended on a non-finite value).
    pub values: Vec<f64>,
    /// Seeds with a finite final value: the ones the statistics use.
    pub n: usize,
    pub mean: Option<f64>,
    /// 95% t confidence interval of the mean (two or more finite values).
    pub ci95: Option<(f64, f64)>,
}

/// How a pair was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// One-sided Welch's t-test (two or more seeds per side, continuous metric).
    Welch,
    /// Exact Wilcoxon-Mann-Whitney rank-sum test (counted metric, or both sides constant).
    RankSum,
    /// Fewer than two seeds with a finite value on a side: no test.
    NoData,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairDetail {
    pub better: Side,
    pub than: Side,
    pub method: Method,
    /// Hedges' g, positive when the difference goes the claimed way.
    pub hedges_g: Option<f64>,
    /// One-sided p-value in the claimed direction, and in the opposite one.
    pub p: Option<f64>,
    pub p_opposite: Option<f64>,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: Option<f64>,
    /// Seeds per side for 80% power at the observed effect (inconclusive pairs only);
    /// `stats::MAX_SEEDS + 1` means more than `stats::MAX_SEEDS`.
    pub seeds_needed: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdDetail {
    pub bound: f64,
    /// `>=` or `<=`.
    pub op: &'static str,
    pub values: Vec<f64>,
    pub n: usize,
    pub meeting: usize,
    pub median: f64,
    pub mean: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    /// One-sided 95% confidence bound of the mean on the threshold's side.
    pub bound95: Option<f64>,
    pub method: OneSampleMethod,
}

/// One run's shape across layers.
#[derive(Debug, Clone, Serialize)]
pub struct TrendSeed {
    pub seed: Option<i64>,
    pub step: u64,
    pub layers: usize,
    /// Decades from output to input (`decays_by`: fall, `grows_by`: rise) or the max/min spread
    /// (`within`); +inf when a value reached exactly 0, NaN when undefined.
    pub decades: f64,
    /// Every step from the output layer to the input goes the claimed way (trends only).
    pub monotone: Option<bool>,
    pub pass: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendDetail {
    pub n: usize,
    pub passing: usize,
    pub median_decades: f64,
    pub method: OneSampleMethod,
    pub seeds: Vec<TrendSeed>,
}

/// One run's correlation over training: Spearman's rho of the two metrics' step-to-step
/// changes.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationSeed {
    pub seed: Option<i64>,
    /// Steps where both metrics have a finite value.
    pub points: usize,
    pub rho: Option<f64>,
    /// Effective number of independent changes (autocorrelation-corrected).
    pub n_eff: Option<f64>,
    /// Fisher's z of rho in standard units (standard normal with no association).
    pub z: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CorrelationDetail {
    /// Seeds (over training) or runs (across runs).
    pub n: usize,
    pub median_rho: Option<f64>,
    /// rho pooled over seeds by Fisher's z (across runs: the one rho).
    pub pooled_rho: Option<f64>,
    /// 90% confidence interval of the pooled rho (over training).
    pub ci90: Option<(f64, f64)>,
    pub seeds: Vec<CorrelationSeed>,
}

/// One row of a claims table or `claims.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    pub claim: String,
    pub kind: &'static str,
    pub metric: String,
    pub verdict: Verdict,
    pub item: String,
    pub item_verdict: Option<Verdict>,
    pub numbers: String,
}

impl ClaimResult {
    /// The header of [`ClaimResult::table_row`].
    pub const TABLE_HEADER: [&'static str; 4] = ["claim", "verdict", "kind", "numbers"];

    /// One table row: the claim, its verdict, its kind and every item's sentence.
    pub fn table_row(&self) -> [String; 4] {
        let numbers = if self.items.is_empty() {
            self.note.clone().unwrap_or_default()
        } else {
            self.items
                .iter()
                .map(|i| format!("{}: {}", i.verdict.as_str(), i.sentence))
                .collect::<Vec<_>>()
                .join("; ")
        };
        [
            self.text.clone(),
            self.verdict.as_str().to_string(),
            self.kind.to_string(),
            numbers,
        ]
    }

    /// One row per item (one row with the note when there is none), for `claims.csv`.
    pub fn rows(&self) -> Vec<ClaimRow> {
        let row = |item: String, item_verdict, numbers: String| ClaimRow {
            claim: self.text.clone(),
            kind: self.kind,
            metric: self.metric.clone(),
            verdict: self.verdict,
            item,
            item_verdict,
            numbers,
        };
        if self.items.is_empty() {
            return vec![row(
                String::new(),
                None,
                self.note.clone().unwrap_or_default(),
            )];
        }
        self.items
            .iter()
            .map(|i| row(i.label.clone(), Some(i.verdict), i.sentence.clone()))
            .collect()
    }
}

/// How a set of per-seed values was tested against a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OneSampleMethod {
    /// One-sample t-test of the mean against the bound (continuous, finite, some spread).
    TTest,
    /// Exact sign test of how many seeds meet the bound (counted metrics, non-finite values,
    /// no spread, or a pass/fail).
    Sign,
    /// Fewer than two seeds: no test.
    None,
}

/// A number for a sentence: integers as integers, otherwise three significant digits, very
/// large or small values in scientific notation.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == x.round() && x.abs() < 1e6 {
        return format!("{x:.0}");
    }
    let a = x.abs();
    if !(1e-3..1e4).contains(&a) {
        return format!("{x:.2e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

fn fmt_p(p: f64) -> String {
    if p == 0.0 {
        "0".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        fmt_num(p)
    }
}

fn fmt_ci(ci: Option<(f64, f64)>) -> String {
    ci.map_or(String::new(), |(lo, hi)| {
        format!(" [{}, {}]", fmt_num(lo), fmt_num(hi))
    })
}

/// Test one claim on a sweep's runs. Configurations are labelled by the claim's selector keys
/// and, of the keys that differ between them, `keys` (the sweep's varying keys; empty: every
/// key that differs). Errors only when the claim no longer fits the metric registry (a stored
/// claim read by a release that renamed or redefined its metric).
pub fn evaluate(
    claim: &Claim,
    runs: &[ClaimRun],
    keys: &[String],
) -> Result<ClaimResult, ClaimError> {
    super::parse::check_registry(claim)?;
    let groups = group(runs);
    let select = &claim.select;
    let (items, none) = match &claim.kind {
        ClaimKind::Comparison { better, than, same } => (
            comparisons(claim, &groups, [better, than], same, keys),
            "no finished runs on both sides of the comparison",
        ),
        ClaimKind::Threshold { bound, layers } => (
            per_config(&groups, select, keys, |g, label| {
                threshold(&claim.metric, *bound, *layers, g, label)
            }),
            "no finished run matches `where`",
        ),
        ClaimKind::LayerTrend { trend } => (
            per_config(&groups, select, keys, |g, label| {
                layer_trend(&claim.metric, *trend, g, label)
            }),
            "no finished run matches `where`",
        ),
        ClaimKind::Correlation {
            tracks,
            relation,
            over: Over::Training,
        } => (
            per_config(&groups, select, keys, |g, label| {
                correlation(&claim.metric, tracks, *relation, g, label)
            }),
            "no finished run matches `where`",
        ),
        ClaimKind::Correlation {
            tracks,
            relation,
            over: Over::Runs,
        } => (
            across_runs(claim, tracks, *relation, runs),
            "no finished run matches `where`",
        ),
    };
    let mut items = items;
    decide(&mut items);
    let note = items.is_empty().then(|| none.to_string());
    Ok(ClaimResult {
        text: claim.text.clone(),
        kind: claim.kind.name(),
        metric: claim.metric.clone(),
        verdict: Verdict::combine(items.iter().map(|i| i.verdict)),
        items,
        note,
    })
}

fn per_config(
    groups: &[Group],
    select: &Selector,
    keys: &[String],
    f: impl Fn(&Group, String) -> Item,
) -> Vec<Item> {
    let chosen: Vec<&Group> = groups
        .iter()
        .filter(|g| selects(select, &g.config))
        .collect();
    let labeller = Labeller::new(&[select], chosen.iter().map(|g| &g.config), keys);
    chosen
        .into_iter()
        .map(|g| f(g, labeller.label(&g.config)))
        .collect()
}

/// A part's item before the claim's parts are weighed together: its p-values go to
/// [`decide`], which sets the verdict.
fn part(label: String, sentence: String, p: Option<f64>, q: Option<f64>, detail: Detail) -> Item {
    Item {
        label,
        verdict: Verdict::Inconclusive,
        sentence,
        p,
        p_opposite: q,
        p_opposite_holm: None,
        detail,
    }
}

/// The verdict of every part: supported when its own one-sided p <= ALPHA (a claim is
/// supported only when every part is: an intersection-union test, level ALPHA with no
/// correction, Berger 1982); contradicted when its opposite p, Holm-adjusted over the claim's
/// parts, is <= ALPHA (so K true-null parts contradict the claim at most ALPHA of the time).
fn decide(items: &mut [Item]) {
    let qs: Vec<f64> = items.iter().map(|i| i.p_opposite.unwrap_or(1.0)).collect();
    let adjusted = stats::holm(&qs);
    let k = items.len();
    for (item, q) in items.iter_mut().zip(adjusted) {
        item.verdict = if item.p.is_some_and(|p| p <= ALPHA) {
            Verdict::Supported
        } else if q <= ALPHA {
            Verdict::Contradicted
        } else {
            Verdict::Inconclusive
        };
        if k > 1 && item.p_opposite.is_some() {
            item.p_opposite_holm = Some(q);
            if item.verdict == Verdict::Contradicted {
                item.sentence
                    .push_str(&format!("; Holm-adjusted over {k} parts: p = {}", fmt_p(q)));
            }
        }
    }
}
