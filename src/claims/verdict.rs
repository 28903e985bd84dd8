//! Testing claims on the runs of a sweep: per pair or configuration the numbers over seeds and
//! a verdict, then the claim's verdict (contradicted if any part is, supported if every part
//! is, inconclusive otherwise). The rules are in the README's grid-file section, the formulas
//! in `docs/claims.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::claim::{
    Bound, Claim, ClaimError, ClaimKind, Selector, Sign, Trend, agree_on, scalar_metric, selects,
    values_equal, without_seed,
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
    /// One-sided Welch's t-test (two or more seeds per side).
    Welch,
    /// Both sides constant: exact permutation test (complete separation).
    Separation,
    /// Fewer than two seeds on a side: the 2x margin, never a significance test.
    Margin,
    /// A side has no finite value.
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
    pub seeds: Vec<TrendSeed>,
}

/// One run's correlation over training.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationSeed {
    pub seed: Option<i64>,
    /// Steps where both metrics have a finite value.
    pub points: usize,
    pub rho: Option<f64>,
    /// One-sided p-value for the claimed sign, and for the opposite sign.
    pub p: Option<f64>,
    pub p_opposite: Option<f64>,
    /// Exact permutation p-values (few points) rather than the t approximation.
    pub exact: bool,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct CorrelationDetail {
    pub n: usize,
    pub supporting: usize,
    pub contradicting: usize,
    pub median_rho: Option<f64>,
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
    if p < 1e-4 {
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
    let direction = scalar_metric(&claim.metric).map_or(Direction::None, |m| m.direction);
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
                        items.push(compare(&claim.metric, direction, gb, gt, &labeller));
                    }
                }
            }
            (items, "no finished runs on both sides of the comparison")
        }
        ClaimKind::Threshold { bound } => (
            per_config(&groups, select, keys, |g, label| {
                threshold(&claim.metric, *bound, g, label)
            }),
            "no finished run matches `where`",
        ),
        ClaimKind::LayerTrend { trend } => (
            per_config(&groups, select, keys, |g, label| {
                layer_trend(&claim.metric, *trend, g, label)
            }),
            "no finished run matches `where`",
        ),
        ClaimKind::Correlation { tracks, sign } => (
            per_config(&groups, select, keys, |g, label| {
                correlation(&claim.metric, tracks, *sign, g, label)
            }),
            "no finished run matches `where`",
        ),
    };
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

/// Every value of `hi` at least twice every value of `lo` (and above it), all non-negative:
/// the margin that lets a single seed decide.
fn beyond_margin(lo: &[f64], hi: &[f64]) -> bool {
    let lo_max = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let hi_min = hi.iter().copied().fold(f64::INFINITY, f64::min);
    let nonneg = lo.iter().chain(hi).all(|v| *v >= 0.0);
    nonneg && hi_min > lo_max && hi_min >= 2.0 * lo_max
}

fn compare(metric: &str, direction: Direction, gb: &Group, gt: &Group, l: &Labeller) -> Item {
    let (b, t) = (
        side(metric, gb, l.label(&gb.config)),
        side(metric, gt, l.label(&gt.config)),
    );
    let (bv, tv) = (b.finite(), t.finite());
    let higher = direction == Direction::Higher;
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
    let (mut verdict, mut why) = if bv.is_empty() || tv.is_empty() {
        (
            Verdict::Inconclusive,
            "a side has no finite final value".to_string(),
        )
    } else if bv.len() < 2 || tv.len() < 2 {
        margin_rule(&mut d, &bv, &tv, higher)
    } else if let Some(w) = stats::welch(&bv, &tv) {
        welch_rule(&mut d, w, higher)
    } else {
        separation_rule(&mut d, &bv, &tv, higher)
    };
    let bad_better = d.better.values.len() - d.better.n;
    if verdict == Verdict::Supported && bad_better > 0 {
        verdict = Verdict::Inconclusive;
        why.push_str(&format!(
            "; not supported: {bad_better} seed(s) of the better side ended non-finite"
        ));
    }
    Item {
        label: format!("{} vs {}", d.better.label, d.than.label),
        verdict,
        sentence: format!("{} vs {}: {why}", d.better.describe(), d.than.describe()),
        detail: Detail::Comparison(d),
    }
}

/// Fewer than two seeds on a side: no test, only the 2x margin.
fn margin_rule(d: &mut PairDetail, bv: &[f64], tv: &[f64], higher: bool) -> (Verdict, String) {
    d.method = Method::Margin;
    let (lo_claim, hi_claim) = if higher { (tv, bv) } else { (bv, tv) };
    let why = "(fewer than 2 seeds on a side: decided by margin, not by a test)";
    if beyond_margin(lo_claim, hi_claim) {
        (Verdict::Supported, format!("beyond the 2x margin {why}"))
    } else if beyond_margin(hi_claim, lo_claim) {
        (
            Verdict::Contradicted,
            format!("beyond the 2x margin the other way {why}"),
        )
    } else {
        (
            Verdict::Inconclusive,
            "within the 2x margin; with fewer than 2 seeds on a side no test is possible".into(),
        )
    }
}

/// Two or more seeds per side with some variance: one-sided Welch's t-test.
fn welch_rule(d: &mut PairDetail, w: stats::Welch, higher: bool) -> (Verdict, String) {
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
    if p < ALPHA {
        return (
            Verdict::Supported,
            format!("{g}p = {} (Welch, one-sided)", fmt_p(p)),
        );
    }
    if q < ALPHA {
        return (
            Verdict::Contradicted,
            format!("{g}p = {} the other way (Welch, one-sided)", fmt_p(q)),
        );
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
    (
        Verdict::Inconclusive,
        format!("{g}p = {} (Welch, one-sided); {more}", fmt_p(p)),
    )
}

/// Both sides constant (two or more seeds each): Welch's t is undefined, and only the ranks
/// carry information, so the exact permutation test of a complete separation decides.
fn separation_rule(d: &mut PairDetail, bv: &[f64], tv: &[f64], higher: bool) -> (Verdict, String) {
    d.method = Method::Separation;
    let (mb, mt) = (bv[0], tv[0]);
    if mb == mt {
        return (
            Verdict::Inconclusive,
            "both sides constant and equal".into(),
        );
    }
    let p = stats::separation_p(bv.len(), tv.len());
    let claimed = (mb > mt) == higher;
    (d.p, d.p_opposite) = if claimed {
        (Some(p), Some(1.0))
    } else {
        (Some(1.0), Some(p))
    };
    let way = if claimed { "" } else { " the other way" };
    let why = format!(
        "both sides constant: exact permutation p = {}{way} (one-sided)",
        fmt_p(p)
    );
    match (p < ALPHA, claimed) {
        (true, true) => (Verdict::Supported, why),
        (true, false) => (Verdict::Contradicted, why),
        (false, false) => (Verdict::Inconclusive, why),
        (false, true) => {
            let n = (2..)
                .find(|&n| stats::separation_p(n, n) < ALPHA)
                .expect("1 / C(2n, n) falls below any level");
            d.seeds_needed = Some(n as u64);
            (
                Verdict::Inconclusive,
                format!("{why}; {n} seeds per side can reach p < 0.05"),
            )
        }
    }
}

fn threshold(metric: &str, bound: Bound, g: &Group, label: String) -> Item {
    let values: Vec<f64> = g
        .runs
        .iter()
        .filter_map(|r| r.final_value(metric))
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
    let ci95 = if all_finite {
        stats::t_interval(&values, 0.95)
    } else {
        None
    };
    let lower = matches!(bound, Bound::AtLeast(_));
    let bound95 = if all_finite {
        stats::t_bound(&values, 0.95, lower)
    } else {
        None
    };
    let verdict = if n == 0 {
        Verdict::Inconclusive
    } else if !bound.met_by(median) {
        Verdict::Contradicted
    } else if meeting == n || bound95.is_some_and(|b| bound.met_by(b)) {
        Verdict::Supported
    } else {
        Verdict::Inconclusive
    };
    let op = bound.symbol();
    let sentence = if n == 0 {
        format!("{label}: no run has `{metric}`")
    } else {
        let mean_part = mean.map_or(String::new(), |m| {
            format!(", mean {}{}", fmt_num(m), fmt_ci(ci95))
        });
        format!(
            "{label}: median {}{mean_part}, {meeting} of {n} seeds {op} {}",
            fmt_num(median),
            fmt_num(bound.value())
        )
    };
    Item {
        label,
        verdict,
        sentence,
        detail: Detail::Threshold(ThresholdDetail {
            bound: bound.value(),
            op,
            values,
            n,
            meeting,
            median,
            mean,
            ci95,
            bound95,
        }),
    }
}

/// A run's quantity at its last step, by layer (input side first).
fn last_layers(run: &ClaimRun, metric: &str) -> Option<(u64, Vec<f64>)> {
    let rows = run.layers.get(metric)?;
    let step = rows.iter().map(|r| r.0).max()?;
    let mut by_layer: BTreeMap<u32, f64> = BTreeMap::new();
    for &(s, layer, v) in rows {
        if s == step {
            by_layer.insert(layer, v);
        }
    }
    (by_layer.len() >= 2).then(|| (step, by_layer.into_values().collect()))
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
    let ratio = |num: f64, den: f64| {
        if num == 0.0 && den == 0.0 {
            f64::NAN
        } else {
            (num / den).log10()
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

fn layer_trend(metric: &str, trend: Trend, g: &Group, label: String) -> Item {
    let seeds: Vec<TrendSeed> = g
        .runs
        .iter()
        .filter_map(|r| {
            let (step, v) = last_layers(r, metric)?;
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
    let verdict = if n == 0 {
        Verdict::Inconclusive
    } else if 2 * passing < n {
        Verdict::Contradicted
    } else if passing == n {
        Verdict::Supported
    } else {
        Verdict::Inconclusive
    };
    let what = match trend {
        Trend::DecaysBy(x) => format!(
            "fall >= {} decades monotonically from output to input",
            fmt_num(x)
        ),
        Trend::GrowsBy(x) => format!(
            "grow >= {} decades monotonically from output to input",
            fmt_num(x)
        ),
        Trend::Within(x) => format!("stay within {} decades across layers", fmt_num(x)),
    };
    let sentence = if n == 0 {
        format!("{label}: no run has `{metric}` on two or more layers")
    } else {
        let layers = seeds[0].layers;
        let non_monotone = seeds.iter().filter(|s| s.monotone == Some(false)).count();
        let nm = if non_monotone > 0 {
            format!(", {non_monotone} not monotone")
        } else {
            String::new()
        };
        format!(
            "{label}: {passing} of {n} seeds {what} (median {} decades over {layers} layers{nm})",
            fmt_num(median_decades)
        )
    };
    Item {
        label,
        verdict,
        sentence,
        detail: Detail::LayerTrend(TrendDetail {
            n,
            passing,
            median_decades,
            seeds,
        }),
    }
}

/// The two metrics at the steps where both have a finite value (a step logged twice keeps its
/// last value).
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

fn correlation(metric: &str, tracks: &str, sign: Sign, g: &Group, label: String) -> Item {
    let seeds: Vec<CorrelationSeed> = g
        .runs
        .iter()
        .filter_map(|r| {
            let (x, y) = joined(r, metric, tracks)?;
            let s = stats::spearman(&x, &y);
            let (p, q) = match (s, sign) {
                (Some(s), Sign::Positive) => (Some(s.p_positive), Some(s.p_negative)),
                (Some(s), Sign::Negative) => (Some(s.p_negative), Some(s.p_positive)),
                (None, _) => (None, None),
            };
            let verdict = match (p, q) {
                (Some(p), _) if p < ALPHA => Verdict::Supported,
                (_, Some(q)) if q < ALPHA => Verdict::Contradicted,
                _ => Verdict::Inconclusive,
            };
            Some(CorrelationSeed {
                seed: r.seed(),
                points: x.len(),
                rho: s.map(|s| s.rho),
                p,
                p_opposite: q,
                exact: s.is_some_and(|s| s.exact),
                verdict,
            })
        })
        .collect();
    let n = seeds.len();
    let count = |v: Verdict| seeds.iter().filter(|s| s.verdict == v).count();
    let (supporting, contradicting) = (count(Verdict::Supported), count(Verdict::Contradicted));
    let verdict = if 2 * supporting > n {
        Verdict::Supported
    } else if 2 * contradicting > n {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    };
    let rhos: Vec<f64> = seeds.iter().filter_map(|s| s.rho).collect();
    let median_rho = (!rhos.is_empty()).then(|| stats::median(&rhos));
    let sentence = if n == 0 {
        format!("{label}: no run has both `{metric}` and `{tracks}`")
    } else {
        let points: Vec<usize> = seeds.iter().map(|s| s.points).collect();
        let (lo, hi) = (
            points.iter().min().unwrap_or(&0),
            points.iter().max().unwrap_or(&0),
        );
        let pts = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}-{hi}")
        };
        let rho = median_rho.map_or("undefined".into(), fmt_num);
        let method = if seeds.iter().all(|s| s.exact) {
            "exact permutation p"
        } else if seeds.iter().any(|s| s.exact) {
            "exact or t-approximation p"
        } else {
            "t-approximation p"
        };
        format!(
            "{label}: {supporting} of {n} seeds {sign} with p < 0.05, {contradicting} the other way \
             (median Spearman rho {rho} over {pts} steps; one-sided {method})"
        )
    };
    Item {
        label,
        verdict,
        sentence,
        detail: Detail::Correlation(CorrelationDetail {
            n,
            supporting,
            contradicting,
            median_rho,
            seeds,
        }),
    }
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
             [1.35, 2.11] (n=3): g = 11.7, p = 0.00149 (Welch, one-sided)"
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
    fn one_seed_decides_only_beyond_the_margin() {
        let r = gp_vs_clip(&[0.15], &[0.2]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(pair(&r, 0).method, Method::Margin);
        assert_eq!(pair(&r, 0).p, None, "one seed is never given a p-value");
        assert_eq!(gp_vs_clip(&[0.15], &[0.4]).verdict, Verdict::Supported);
        assert_eq!(gp_vs_clip(&[0.15], &[0.3]).verdict, Verdict::Supported);
        assert_eq!(gp_vs_clip(&[0.4], &[0.15]).verdict, Verdict::Contradicted);
        // One seed against three: every value must clear the margin.
        assert_eq!(
            gp_vs_clip(&[0.15], &[0.4, 0.5, 0.29]).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(
            gp_vs_clip(&[0.15], &[0.4, 0.5, 0.31]).verdict,
            Verdict::Supported
        );
        // Negative values have no scale for a ratio margin.
        assert_eq!(gp_vs_clip(&[-1.0], &[5.0]).verdict, Verdict::Inconclusive);
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
    fn constant_counts_use_the_exact_permutation_test() {
        let r = modes(&[8.0, 8.0, 8.0], &[8.0, 8.0, 8.0]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(pair(&r, 0).method, Method::Separation);
        assert!(r.items[0].sentence.contains("constant and equal"));
        // 3 vs 3: p = 1/20 = 0.05 is not below 0.05; 4 seeds per side would do.
        let r = modes(&[8.0, 8.0, 8.0], &[6.0, 6.0, 6.0]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(pair(&r, 0).p, Some(0.05));
        assert_eq!(pair(&r, 0).seeds_needed, Some(4));
        // 4 vs 4: p = 1/70.
        let r = modes(&[8.0; 4], &[6.0; 4]);
        assert_eq!(r.verdict, Verdict::Supported);
        assert!((pair(&r, 0).p.unwrap() - 1.0 / 70.0).abs() < 1e-12);
        assert_eq!(modes(&[6.0; 4], &[8.0; 4]).verdict, Verdict::Contradicted);
        // Higher is better: 8 modes against a varying 6-7 is a Welch test in that direction.
        let r = modes(&[8.0, 8.0, 8.0], &[6.0, 7.0, 8.0]);
        assert_eq!(pair(&r, 0).method, Method::Welch);
        // SciPy: ttest_ind([8,8,8], [6,7,8], equal_var=False, alternative='greater')
        assert!((pair(&r, 0).p.unwrap() - 0.11270166537925833).abs() < 1e-8);
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
        let r = threshold_of(&[7.0, 8.0, 8.0]);
        assert_eq!(r.verdict, Verdict::Supported);
        let d = threshold_detail(&r);
        assert_eq!((d.n, d.meeting, d.median), (3, 3, 8.0));
        // SciPy: t.interval(0.95, 2, loc=7.667, scale=sd/sqrt(3)) = (6.232, 9.101)
        let (lo, hi) = d.ci95.unwrap();
        assert!((lo - 6.232449090083513).abs() < 1e-9 && (hi - 9.100884243249821).abs() < 1e-9);
        assert_eq!(
            r.items[0].sentence,
            "loss=wgan-gp: median 8, mean 7.67 [6.23, 9.10], 3 of 3 seeds >= 7"
        );
        // The median misses: contradicted.
        assert_eq!(
            threshold_of(&[8.0, 6.0, 5.0]).verdict,
            Verdict::Contradicted
        );
        // The median meets, one seed misses, the lower 95% bound of the mean is far below.
        assert_eq!(
            threshold_of(&[7.0, 8.0, 2.0]).verdict,
            Verdict::Inconclusive
        );
        // One seed misses narrowly but the lower bound of the mean over 5 seeds meets it.
        let r = threshold_of(&[8.0, 8.1, 7.9, 8.0, 6.99]);
        assert!(threshold_detail(&r).bound95.unwrap() >= 7.0, "{r:#?}");
        assert_eq!(r.verdict, Verdict::Supported);
        // A diverged seed counts as missing, worst in the ranking, and leaves no mean.
        assert_eq!(
            threshold_of(&[8.0, f64::NAN, f64::NAN]).verdict,
            Verdict::Contradicted
        );
        let r = threshold_of(&[8.0, 8.0, f64::NAN]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(threshold_detail(&r).mean, None);
        // No run: inconclusive with a note.
        let r = eval(
            &claim(AT_LEAST_7),
            &runs("loss = \"wgan-clip\"", "modes_covered", &[8.0]),
        );
        assert_eq!((r.verdict, r.items.len()), (Verdict::Inconclusive, 0));
        assert!(r.note.is_some());
    }

    #[test]
    fn at_most_ranks_nan_high() {
        let c = claim("[[claim]]\ntext = \"t\"\nmetric = \"fld\"\nat_most = 10\n");
        let all = runs("loss = \"gan\"", "fld", &[5.0, 6.0, f64::NAN]);
        let r = eval(&c, &all);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(threshold_detail(&r).median, 6.0);
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
        assert_eq!(
            (d.seeds[0].step, d.seeds[0].layers, d.seeds[0].monotone),
            (600, 5, Some(true))
        );
        assert_eq!(
            r.items[0].sentence,
            "clip=0.01: 3 of 3 seeds fall >= 3 decades monotonically from output to input (median 4 decades over 5 layers)"
        );
        // 4 decades but not monotone.
        assert_eq!(
            trend("decays_by = 3", &[BUMPY_4, BUMPY_4, BUMPY_4]).verdict,
            Verdict::Contradicted
        );
        assert_eq!(
            trend("decays_by = 3", &[DECAY_4, DECAY_4, BUMPY_4]).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(
            trend("decays_by = 3", &[DECAY_4, BUMPY_4]).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(
            trend("decays_by = 5", &[DECAY_4]).verdict,
            Verdict::Contradicted
        );
        // An exact 0 at the input fell below f32's range: infinitely many decades.
        let r = trend("decays_by = 3", &[&[0.0, 0.0, 1e-30, 1.0]]);
        assert_eq!(r.verdict, Verdict::Supported);
        // Growing towards the input, and the wrong direction for a decay.
        let grow: &[f64] = &[1e3, 1e2, 10.0, 1.0];
        assert_eq!(trend("grows_by = 3", &[grow]).verdict, Verdict::Supported);
        assert_eq!(
            trend("decays_by = 1", &[grow]).verdict,
            Verdict::Contradicted
        );
        // Within: max/min 5 is 0.7 decades.
        assert_eq!(
            trend("within = 1", &[&[1.0, 2.0, 5.0, 3.0]]).verdict,
            Verdict::Supported
        );
        assert_eq!(
            trend("within = 0.5", &[&[1.0, 2.0, 5.0, 3.0]]).verdict,
            Verdict::Contradicted
        );
        assert_eq!(
            trend("within = 1", &[&[0.0, 2.0]]).verdict,
            Verdict::Contradicted
        );
        // A non-finite layer fails its seed, with a note.
        let r = trend("within = 1", &[&[1.0, f64::NAN]]);
        assert_eq!(r.verdict, Verdict::Contradicted);
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
        // Estimate rises while fld falls, at 10 joint steps: rho = -1.
        let all: Vec<ClaimRun> = (1..=3)
            .map(|seed| {
                corr_run(
                    seed,
                    900,
                    |s| 100.0 / (s as f64 + 1.0),
                    |s| (s as f64).sqrt(),
                )
            })
            .collect();
        let r = corr("negative", &all);
        assert_eq!(r.verdict, Verdict::Supported, "{r:#?}");
        let Detail::Correlation(d) = &r.items[0].detail else {
            panic!()
        };
        assert_eq!((d.n, d.supporting, d.median_rho), (3, 3, Some(-1.0)));
        assert_eq!(d.seeds[0].points, 10);
        assert!(d.seeds[0].p.unwrap() < 1e-10 && !d.seeds[0].exact);
        assert_eq!(corr("positive", &all).verdict, Verdict::Contradicted);
        // Three joint steps: a perfect order has exact p = 1/6, so nothing is decided.
        let short: Vec<ClaimRun> = (1..=3)
            .map(|seed| corr_run(seed, 200, |s| -(s as f64), |s| s as f64))
            .collect();
        let r = corr("negative", &short);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let Detail::Correlation(d) = &r.items[0].detail else {
            panic!()
        };
        assert_eq!((d.seeds[0].points, d.seeds[0].exact), (3, true));
        assert!((d.seeds[0].p.unwrap() - 1.0 / 6.0).abs() < 1e-12);
        // Two seeds of three decide; one does not.
        let mut mixed = all[..2].to_vec();
        mixed.push(corr_run(3, 900, |s| s as f64, |s| s as f64));
        assert_eq!(corr("negative", &mixed).verdict, Verdict::Supported);
        let mut mixed = all[..1].to_vec();
        mixed.push(corr_run(2, 900, |s| s as f64, |s| s as f64));
        mixed.push(corr_run(3, 900, |_| 1.0, |s| s as f64));
        let r = corr("negative", &mixed);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{r:#?}");
        let Detail::Correlation(d) = &r.items[0].detail else {
            panic!()
        };
        assert_eq!(
            (d.supporting, d.contradicting, d.seeds[2].rho),
            (1, 1, None)
        );
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
