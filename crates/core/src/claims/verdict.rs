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

/// The configurations of the runs (config without `seed`), each with its runs, in first-seen
/// order.
struct Group<'a> {
    config: toml::Table,
    runs: Vec<&'a ClaimRun>,
}

fn group(runs: &[ClaimRun]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for r in runs {
        let c = without_seed(&r.config);
        match groups.iter_mut().find(|g| same_config(&g.config, &c)) {
            Some(g) => g.runs.push(r),
            None => groups.push(Group {
                config: c,
                runs: vec![r],
            }),
        }
    }
    groups
}

fn same_config(a: &toml::Table, b: &toml::Table) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| values_equal(v, w)))
}

/// Labels `key=value` over the claim's selector keys, then the keys that differ among the
/// configurations involved: of those, only the `preferred` ones (a sweep's varying keys, as its
/// legends name configurations) when they tell the configurations apart, all of them otherwise.
struct Labeller {
    keys: Vec<String>,
}

impl Labeller {
    fn new<'a>(
        selectors: &[&Selector],
        configs: impl Iterator<Item = &'a toml::Table>,
        preferred: &[String],
    ) -> Self {
        let mut keys: Vec<String> = Vec::new();
        for s in selectors {
            for k in s.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        let configs: Vec<&toml::Table> = configs.collect();
        let mut all: Vec<&String> = configs.iter().flat_map(|c| c.keys()).collect();
        all.sort();
        all.dedup();
        let differing: Vec<&String> = all
            .into_iter()
            .filter(|k| {
                let first = configs.first().and_then(|c| c.get(*k));
                configs.iter().any(|c| match (c.get(*k), first) {
                    (Some(a), Some(b)) => !values_equal(a, b),
                    (a, b) => a.is_some() != b.is_some(),
                })
            })
            .collect();
        let mut l = Labeller { keys };
        for k in differing.iter().filter(|k| preferred.contains(k)) {
            if !l.keys.contains(k) {
                l.keys.push((*k).clone());
            }
        }
        let labels: std::collections::HashSet<String> =
            configs.iter().map(|c| l.label(c)).collect();
        if preferred.is_empty() || labels.len() < configs.len() {
            for k in differing {
                if !l.keys.contains(k) {
                    l.keys.push(k.clone());
                }
            }
        }
        l
    }

    fn label(&self, config: &toml::Table) -> String {
        let parts: Vec<String> = self
            .keys
            .iter()
            .filter_map(|k| {
                let v = config.get(k)?;
                Some(match v {
                    toml::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
            })
            .collect();
        if parts.is_empty() {
            "all runs".into()
        } else {
            parts.join(" ")
        }
    }
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
        ClaimKind::Comparison { better, than, same } => {
            let side = |s: &Selector| -> Vec<&Group> {
                groups
                    .iter()
                    .filter(|g| selects(select, &g.config) && selects(s, &g.config))
                    .collect()
            };
            let (b, t) = (side(better), side(than));
            let labeller = Labeller::new(
                &[better, than, select],
                b.iter().chain(&t).map(|g| &g.config),
                keys,
            );
            let mut items = Vec::new();
            for gb in &b {
                for gt in &t {
                    if agree_on(same, &gb.config, &gt.config)
                        && !same_config(&gb.config, &gt.config)
                    {
                        items.push(compare(&claim.metric, gb, gt, &labeller));
                    }
                }
            }
            (items, "no finished runs on both sides of the comparison")
        }
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

/// The one part of an across-runs correlation: every run `where` selects, labelled by the
/// selector.
fn across_runs(claim: &Claim, tracks: &str, relation: Relation, runs: &[ClaimRun]) -> Vec<Item> {
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
fn selector_words(select: &Selector) -> String {
    select
        .iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
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

fn side(metric: &str, g: &Group, label: String) -> Side {
    let values: Vec<f64> = g
        .runs
        .iter()
        .filter_map(|r| r.final_value(metric))
        .map(|v| if v.is_finite() { v } else { f64::NAN })
        .collect();
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    Side {
        label,
        n: finite.len(),
        mean: (!finite.is_empty()).then(|| stats::mean(&finite)),
        ci95: stats::t_interval(&finite, 0.95),
        values,
    }
}

impl Side {
    fn finite(&self) -> Vec<f64> {
        self.values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect()
    }

    fn describe(&self) -> String {
        let n_bad = self.values.len() - self.n;
        let bad = if n_bad > 0 {
            format!(", {n_bad} non-finite left out")
        } else {
            String::new()
        };
        match self.mean {
            Some(m) => format!(
                "{} {}{} (n={}{bad})",
                self.label,
                fmt_num(m),
                fmt_ci(self.ci95),
                self.n
            ),
            None => format!("{} no finite value (n=0{bad})", self.label),
        }
    }
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

fn compare(metric: &str, gb: &Group, gt: &Group, l: &Labeller) -> Item {
    let info = scalar_metric(metric);
    let higher = info.is_some_and(|m| m.direction == Direction::Higher);
    let counted = info.is_some_and(|m| m.rank_tested());
    let (b, t) = (
        side(metric, gb, l.label(&gb.config)),
        side(metric, gt, l.label(&gt.config)),
    );
    let (bv, tv) = (b.finite(), t.finite());
    // Claimed: mean(better) above mean(than) for a higher-is-better metric, below otherwise.
    let orient = if higher { 1.0 } else { -1.0 };
    let mut d = PairDetail {
        better: b,
        than: t,
        method: Method::NoData,
        hedges_g: stats::hedges_g(&bv, &tv).map(|g| orient * g),
        p: None,
        p_opposite: None,
        df: None,
        seeds_needed: None,
    };
    let mut why = if bv.len() < 2 || tv.len() < 2 {
        "fewer than 2 seeds with a finite value on a side: no test (one seed never decides)".into()
    } else if let (false, Some(w)) = (counted, stats::welch(&bv, &tv)) {
        welch_rule(&mut d, w, higher)
    } else if !counted {
        no_spread_rule(&mut d, bv[0] - tv[0], higher)
    } else {
        rank_rule(&mut d, &bv, &tv, higher)
    };
    let bad_better = d.better.values.len() - d.better.n;
    let p = if bad_better > 0 {
        why.push_str(&format!(
            "; never supported: {bad_better} seed(s) of the better side ended non-finite"
        ));
        None
    } else {
        d.p
    };
    let q = d.p_opposite;
    let label = format!("{} vs {}", d.better.label, d.than.label);
    let sentence = format!("{} vs {}: {why}", d.better.describe(), d.than.describe());
    part(label, sentence, p, q, Detail::Comparison(d))
}

/// Two or more seeds per side of a continuous metric with some variance: one-sided Welch's
/// t-test.
fn welch_rule(d: &mut PairDetail, w: stats::Welch, higher: bool) -> String {
    d.method = Method::Welch;
    let (p, q) = if higher {
        (w.p_greater, w.p_less)
    } else {
        (w.p_less, w.p_greater)
    };
    (d.p, d.p_opposite, d.df) = (Some(p), Some(q), Some(w.df));
    let g = d
        .hedges_g
        .map_or(String::new(), |g| format!("g = {}, ", fmt_num(g)));
    let head = format!(
        "{g}p = {}, other way {} (Welch, one-sided)",
        fmt_p(p),
        fmt_p(q)
    );
    if p <= ALPHA || q <= ALPHA {
        return head;
    }
    d.seeds_needed = d.hedges_g.and_then(stats::seeds_needed);
    let more = match (d.seeds_needed, d.hedges_g) {
        (Some(n), _) if n > stats::MAX_SEEDS => format!(
            "more than {} seeds per side needed for 80% power at this effect",
            stats::MAX_SEEDS
        ),
        (Some(n), _) => format!("about {n} seeds per side needed for 80% power at this effect"),
        (None, Some(g)) if g < 0.0 => "the observed difference goes the other way".into(),
        (None, _) => "no difference observed".into(),
    };
    format!("{head}; {more}")
}

/// Both sides of a continuous, uncapped metric constant: Welch's t is infinite (or 0/0 when the
/// values are equal), the limit of ever smaller spread, so the verdict stays monotone in the
/// evidence (no spread is never weaker evidence than a little).
fn no_spread_rule(d: &mut PairDetail, diff: f64, higher: bool) -> String {
    d.method = Method::Welch;
    let t = degenerate_t(diff);
    (d.p, d.p_opposite) = if higher {
        (Some(t.p_greater), Some(t.p_less))
    } else {
        (Some(t.p_less), Some(t.p_greater))
    };
    if diff == 0.0 {
        "both sides constant and equal".into()
    } else {
        "no spread on either side: Welch's t is infinite (p = 0 one way, 1 the other)".into()
    }
}

/// One-sided p-values of a t statistic whose standard error is 0: the sign of the difference
/// decides with certainty; no difference decides nothing.
fn degenerate_t(diff: f64) -> stats::OneSided {
    let (p_greater, p_less) = if diff > 0.0 {
        (0.0, 1.0)
    } else if diff < 0.0 {
        (1.0, 0.0)
    } else {
        (1.0, 1.0)
    };
    stats::OneSided { p_greater, p_less }
}

/// A counted metric (whole values, piled at a ceiling) or both sides constant: the exact
/// Wilcoxon-Mann-Whitney rank-sum test, which needs neither normality nor variance and can
/// only grow more significant as the better side's values improve.
fn rank_rule(d: &mut PairDetail, bv: &[f64], tv: &[f64], higher: bool) -> String {
    d.method = Method::RankSum;
    let r = stats::rank_sum(bv, tv).expect("both sides have values");
    let (p, q) = if higher {
        (r.p_greater, r.p_less)
    } else {
        (r.p_less, r.p_greater)
    };
    (d.p, d.p_opposite) = (Some(p), Some(q));
    let head = format!(
        "p = {}, other way {} (rank-sum, exact, one-sided)",
        fmt_p(p),
        fmt_p(q)
    );
    let floor = 1.0 / stats::choose(bv.len() + tv.len(), bv.len());
    if p > ALPHA && floor > ALPHA {
        let n = (2..)
            .find(|&n| 1.0 / stats::choose(2 * n, n) <= ALPHA)
            .expect("1 / C(2n, n) falls below any level");
        d.seeds_needed = Some(n as u64);
        return format!(
            "{head}; the smallest p these sizes allow is {}: {n} seeds per side can decide",
            fmt_p(floor)
        );
    }
    head
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

/// Test seeds' values against a bound: (p for the bound's side, p for the other side, method).
/// `meeting` is how many seeds meet the bound (for the sign test). One seed never decides.
fn one_sample(
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
fn one_sample_words(p: Option<f64>, q: Option<f64>, method: OneSampleMethod) -> String {
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
fn threshold_value(
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

fn threshold(
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
    // A NaN ranks as the worst value, so that it counts against the median.
    let worst = match bound {
        Bound::AtLeast(_) => f64::NEG_INFINITY,
        Bound::AtMost(_) => f64::INFINITY,
    };
    let ranked: Vec<f64> = values
        .iter()
        .map(|v| if v.is_nan() { worst } else { *v })
        .collect();
    let median = stats::median(&ranked);
    let all_finite = values.iter().all(|v| v.is_finite()) && n > 0;
    let mean = all_finite.then(|| stats::mean(&values));
    let ci95 = all_finite
        .then(|| stats::t_interval(&values, 0.95))
        .flatten();
    let lower = matches!(bound, Bound::AtLeast(_));
    let bound95 = all_finite
        .then(|| stats::t_bound(&values, 0.95, lower))
        .flatten();
    let counted = scalar_metric(metric)
        .or_else(|| super::claim::layer_metric(metric))
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
fn threshold_sentence(
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

/// A run's quantity at its last step, by layer (input side first), when it has at least
/// `min_layers` layers there.
fn last_layers(run: &ClaimRun, metric: &str, min_layers: usize) -> Option<(u64, Vec<f64>)> {
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

fn layer_trend(metric: &str, trend: Trend, g: &Group, label: String) -> Item {
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
fn trend_test(
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
fn trend_words(trend: Trend) -> String {
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

/// The two metrics at the steps where both have a finite value, in step order (a step logged
/// twice keeps its last value).
fn joined(run: &ClaimRun, a: &str, b: &str) -> Option<(Vec<f64>, Vec<f64>)> {
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
fn pooled_z(zs: &[(f64, f64)]) -> (f64, f64) {
    let w: f64 = zs.iter().map(|(_, w)| w).sum();
    let z = zs.iter().map(|(z, w)| z * w).sum::<f64>() / w;
    (z, 1.0 / w.sqrt())
}

/// One-sided p-values of a correlation claim from the pooled Fisher z (`z`, `se`): for a sign,
/// z against 0; for `below = b`, two one-sided tests that |rho| < b (TOST: the larger of the
/// two p) against, for the opposite, |rho| > b on either side (Bonferroni over the two sides).
fn relation_p(relation: Relation, z: f64, se: f64) -> (f64, f64) {
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

fn relation_words(relation: Relation) -> String {
    match relation {
        Relation::Sign(s) => format!("{s}"),
        Relation::Below(b) => format!("|rho| < {}", fmt_num(b)),
    }
}

fn correlation(metric: &str, tracks: &str, relation: Relation, g: &Group, label: String) -> Item {
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
fn ci90(z: f64, se: f64) -> (f64, f64) {
    let h = stats::z_upper(ALPHA) * se;
    ((z - h).tanh(), (z + h).tanh())
}

#[allow(clippy::too_many_arguments)]
fn correlation_sentence(
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
fn correlation_across(
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

fn trend_seed(run: &ClaimRun, trend: Trend, step: u64, v: &[f64]) -> TrendSeed {
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

#[cfg(test)]
mod tests {
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
        let at_most =
            claim("[[claim]]\ntext = \"t\"\nmetric = \"sliced_wasserstein\"\nat_most = 2\n");
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
        let mut rows: Vec<(u64, u32, f64)> =
            (1..=values.len() as u32).map(|l| (100, l, 1.0)).collect();
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
    fn corr_run(
        seed: i64,
        last: u64,
        fld: impl Fn(u64) -> f64,
        est: impl Fn(u64) -> f64,
    ) -> ClaimRun {
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
        let c = claim(
            "[[claim]]\ntext = \"t\"\nmetric = \"estimate\"\ntracks = \"fld\"\nbelow = 0.5\n",
        );
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
}
