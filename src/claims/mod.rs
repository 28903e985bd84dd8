//! Claims: what a paper found, stated next to the grid and checked over seeds.
//!
//! A grid file's `[[claim]]` tables ([`parse`]) say what its sweep should show: A better than B
//! on a metric, a threshold on a final value, a trend across the critic's layers, or a
//! correlation over training between two metrics. The report hands the sweep's runs to
//! [`verdict::evaluate`], which tests each claim over seeds with [`stats`] and says
//! *supported*, *contradicted* or *inconclusive*, with the numbers. The language, statistics
//! and verdict rules are documented in `docs/claims.md`.
//!
//! The module knows nothing of the registry, the grid loader or the report: metric facts come
//! through [`MetricCatalog`], the plan through [`parse::PlanContext`], run data as
//! [`verdict::ClaimRun`].

pub mod parse;
pub mod stats;
pub mod verdict;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

pub use parse::{PlanContext, parse_claims, validate_claims};
pub use verdict::{ClaimResult, ClaimRun, Verdict, evaluate};

/// Which file a metric is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `metrics.csv`: one value per logged step.
    Metrics,
    /// `eval.csv`: one value per evaluation.
    Eval,
    /// `layers.csv`: one value per critic layer per evaluation.
    Layers,
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
}

/// What claims need to know about a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricInfo {
    pub source: Source,
    /// `None` for quantities with no better end (losses, estimates, norms).
    pub direction: Option<Direction>,
    /// The largest possible value, where there is one (a count of modes or classes).
    pub max: Option<f64>,
}

/// Metric knowledge, implemented by the results format's metric registry.
pub trait MetricCatalog {
    fn metric(&self, name: &str) -> Option<MetricInfo>;
    /// Every known name, for "did you mean" suggestions.
    fn names(&self) -> Vec<String>;
}

/// A selector over a run's flat configuration: each key must equal the value, or one of the
/// values when the value is an array (numbers compare as numbers: `0.01 == 1e-2`).
pub type Selector = BTreeMap<String, toml::Value>;

/// One claim from a grid file. Serialised in the grid file's own shape (`text`, `metric`,
/// `better`, `than`, `where`, `at_least`, ...), so a sweep record can store it and the report
/// can test it without the grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "parse::ClaimSpec", into = "parse::ClaimSpec")]
pub struct Claim {
    /// The sentence the claim tests, shown in the report.
    pub text: String,
    /// The metric the claim is about (for a correlation, the first of the two).
    pub metric: String,
    /// The `where` selector: the configurations the claim is about (all when empty); for a
    /// comparison it narrows both sides.
    pub select: Selector,
    pub kind: ClaimKind,
}

/// What a claim asserts.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimKind {
    /// Every configuration matching `better` beats every one matching `than` on the final value
    /// (in the metric's direction); with `same`, only pairs that agree on those keys are compared.
    Comparison {
        better: Selector,
        than: Selector,
        same: Vec<String>,
    },
    /// Each matching configuration's final value is at least / at most `bound`.
    Threshold { bound: Bound },
    /// A `layers.csv` quantity at the last evaluation, across layers.
    LayerTrend { trend: Trend },
    /// The metric and `tracks` move together over training with the claimed sign.
    Correlation { tracks: String, sign: Sign },
}

impl ClaimKind {
    /// The kind's name as documented: `comparison`, `threshold`, `layer-trend`, `correlation`.
    pub fn name(&self) -> &'static str {
        match self {
            ClaimKind::Comparison { .. } => "comparison",
            ClaimKind::Threshold { .. } => "threshold",
            ClaimKind::LayerTrend { .. } => "layer-trend",
            ClaimKind::Correlation { .. } => "correlation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Bound {
    pub fn value(self) -> f64 {
        match self {
            Bound::AtLeast(v) | Bound::AtMost(v) => v,
        }
    }

    /// Whether `x` meets the bound (NaN never does).
    pub fn met_by(self, x: f64) -> bool {
        match self {
            Bound::AtLeast(v) => x >= v,
            Bound::AtMost(v) => x <= v,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Bound::AtLeast(_) => ">=",
            Bound::AtMost(_) => "<=",
        }
    }
}

/// A shape across layers, in decades (powers of ten). Layer 1 is the input side; the output
/// layer has the largest index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trend {
    /// Falls by at least N decades from the output layer to the input layer, monotonically.
    DecaysBy(f64),
    /// Grows by at least N decades from the output layer to the input layer, monotonically.
    GrowsBy(f64),
    /// max / min across layers stays below 10^N.
    Within(f64),
}

/// The sign a correlation claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sign {
    Positive,
    Negative,
}

impl fmt::Display for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sign::Positive => "positive",
            Sign::Negative => "negative",
        })
    }
}

/// A bad claim: which claim (0-based index in the `[[claim]]` array), which key (`metric`,
/// `better.clip`, ...), where in the grid file when known, and what is wrong and what would be
/// valid. The grid loader turns `span` into `file:line:column`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimError {
    pub claim: Option<usize>,
    pub key: Option<String>,
    pub span: Option<Range<usize>>,
    pub message: String,
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.claim {
            write!(f, "[[claim]] #{}: ", i + 1)?;
        }
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClaimError {}

/// Whether two config values are equal, numbers compared as numbers (`1 == 1.0`,
/// `0.01 == 1e-2`), arrays and tables element by element.
pub fn values_equal(a: &toml::Value, b: &toml::Value) -> bool {
    use toml::Value::{Array, Float, Integer, Table};
    match (a, b) {
        (Integer(x), Integer(y)) => x == y,
        (Integer(_) | Float(_), Integer(_) | Float(_)) => as_f64(a) == as_f64(b),
        (Array(x), Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Table(x), Table(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn as_f64(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Whether a flat configuration matches a selector: every key present and equal to the value,
/// or, when the selector's value is an array, to the whole array or one of its elements (so
/// `clip = [0.01, 0.001]` means either, and list settings such as `c_hidden` still match whole).
pub fn selects(selector: &Selector, config: &toml::Table) -> bool {
    selector.iter().all(|(k, want)| {
        config.get(k).is_some_and(|have| {
            values_equal(want, have)
                || matches!(want, toml::Value::Array(any) if any.iter().any(|w| values_equal(w, have)))
        })
    })
}

/// Whether two configurations have equal values for each of `keys` (absent in both counts as
/// equal): the pairing rule of a comparison's `same`.
pub fn agree_on(keys: &[String], a: &toml::Table, b: &toml::Table) -> bool {
    keys.iter().all(|k| match (a.get(k), b.get(k)) {
        (Some(p), Some(q)) => values_equal(p, q),
        (p, q) => p.is_none() && q.is_none(),
    })
}

/// The distinct configurations of a list of flat run configs: each config without `seed`, in
/// first-seen order.
pub fn configurations(configs: &[toml::Table]) -> Vec<toml::Table> {
    let mut seen = std::collections::HashSet::new();
    configs
        .iter()
        .map(without_seed)
        .filter(|c| seen.insert(toml::Value::Table(c.clone()).to_string()))
        .collect()
}

/// A flat config without its `seed`: the configuration a run replicates.
pub fn without_seed(config: &toml::Table) -> toml::Table {
    let mut c = config.clone();
    c.remove("seed");
    c
}

/// A hand-written catalog and plan for the tests of this module.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Direction, MetricCatalog, MetricInfo, Source};

    pub struct TestCatalog;

    const METRICS: &[(&str, Source, Option<Direction>, Option<f64>)] = &[
        (
            "sliced_wasserstein",
            Source::Eval,
            Some(Direction::LowerIsBetter),
            None,
        ),
        ("fld", Source::Eval, Some(Direction::LowerIsBetter), None),
        (
            "modes_covered",
            Source::Eval,
            Some(Direction::HigherIsBetter),
            Some(8.0),
        ),
        ("estimate", Source::Metrics, None, None),
        ("critic_loss", Source::Metrics, None, None),
        ("act_grad_norm", Source::Layers, None, None),
        ("grad_norm", Source::Layers, None, None),
    ];

    impl MetricCatalog for TestCatalog {
        fn metric(&self, name: &str) -> Option<MetricInfo> {
            METRICS
                .iter()
                .find(|m| m.0 == name)
                .map(|&(_, source, direction, max)| MetricInfo {
                    source,
                    direction,
                    max,
                })
        }

        fn names(&self) -> Vec<String> {
            METRICS.iter().map(|m| m.0.to_string()).collect()
        }
    }

    /// A flat config from `key = value` TOML lines.
    pub fn config(text: &str) -> toml::Table {
        toml::from_str(text).expect("test config parses")
    }
}
