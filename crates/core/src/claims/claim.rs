//! A claim: what it says (its kind and numbers), which configurations it selects, and its
//! grid-file shape ([`ClaimSpec`]), which serde reads and writes so that a sweep record stores
//! a claim as the grid file wrote it. The shape rules (known keys, exactly one kind, `text`
//! present) are checked here; what a claim means for a plan is checked in [`super::parse`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::results::metrics::{self, Metric, MetricFile};

/// The metric a scalar claim (comparison, threshold, correlation) reads: an `eval.csv` score or
/// a `metrics.csv` column, one value per step.
pub fn scalar_metric(name: &str) -> Option<&'static Metric> {
    metrics::find(MetricFile::Eval, name).or_else(|| metrics::find(MetricFile::Metrics, name))
}

/// The metric a layer trend reads: a `layers.csv` quantity, one value per layer.
pub fn layer_metric(name: &str) -> Option<&'static Metric> {
    metrics::find(MetricFile::Layers, name)
}

/// A selector over a run's flat configuration: each key must equal the value, or one of the
/// values when the value is an array (numbers compare as numbers: `0.01 == 1e-2`).
pub type Selector = BTreeMap<String, toml::Value>;

/// One claim from a grid file. Serialised in the grid file's own shape (`text`, `metric`,
/// `better`, `than`, `where`, `at_least`, ...), so a sweep record can store it and the report
/// can test it without the grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ClaimSpec", into = "ClaimSpec")]
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
    /// Each matching configuration's final value is at least / at most `bound`; for a
    /// `layers.csv` quantity, in every layer or in some layer (`layers`).
    Threshold {
        bound: Bound,
        layers: Option<LayerScope>,
    },
    /// A `layers.csv` quantity at the last evaluation, across layers.
    LayerTrend { trend: Trend },
    /// The metric and `tracks` move together with the claimed sign (`Tracks::Sign`), or do not
    /// (`Tracks::Below`: |rho| below a bound), over training or across runs.
    Correlation {
        tracks: String,
        relation: Relation,
        over: Over,
    },
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

    /// `>=` or `<=`, as sentences write the bound.
    pub fn symbol(self) -> &'static str {
        match self {
            Bound::AtLeast(_) => ">=",
            Bound::AtMost(_) => "<=",
        }
    }
}

/// Which layers a per-layer threshold must hold in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerScope {
    /// Every layer: the run's value is its smallest (`at_least`) or largest (`at_most`) layer.
    Every,
    /// Some layer: the run's value is its largest (`at_least`) or smallest (`at_most`) layer.
    Any,
}

impl LayerScope {
    pub fn name(self) -> &'static str {
        match self {
            LayerScope::Every => "every",
            LayerScope::Any => "any",
        }
    }
}

/// What a correlation claims of rho.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relation {
    /// rho has this sign.
    Sign(Sign),
    /// |rho| is below this bound: the metric does not track the other (an equivalence claim).
    Below(f64),
}

/// Which points a correlation is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Each run's evaluations over training (step-to-step changes, see `docs/claims.md`).
    Training,
    /// The final values of every selected run: one point per run, configurations and seeds.
    Runs,
}

impl Over {
    pub fn name(self) -> &'static str {
        match self {
            Over::Training => "training",
            Over::Runs => "runs",
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

/// Whether a run's flat configuration is one the claim is about: it matches `where` and, for a
/// comparison, one of the two sides.
pub fn selects_claim(claim: &Claim, config: &toml::Table) -> bool {
    selects(&claim.select, config)
        && match &claim.kind {
            ClaimKind::Comparison { better, than, .. } => {
                selects(better, config) || selects(than, config)
            }
            _ => true,
        }
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Comparison,
    Threshold,
    LayerTrend,
    Correlation,
}

/// The keys that make a claim each kind, in the order kinds are reported.
const KINDS: &[(Tag, &str, &[&str])] = &[
    (Tag::Comparison, "a comparison", &["better", "than"]),
    (Tag::Threshold, "a threshold", &["at_least", "at_most"]),
    (
        Tag::LayerTrend,
        "a layer trend",
        &["decays_by", "grows_by", "within"],
    ),
    (
        Tag::Correlation,
        "a correlation",
        &["tracks", "sign", "below", "over"],
    ),
];

/// The flat, grid-file shape of a claim: what serde reads and writes. [`Claim`] converts to and
/// from it so that a stored claim reads like the grid file it came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<String>,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    select: Option<Selector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    better: Option<Selector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    than: Option<Selector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    same: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_least: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_most: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decays_by: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grows_by: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    within: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracks: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    below: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    over: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<String>,
}

/// A problem with one key of one claim, before it is located.
pub(super) type KeyError = (Option<String>, String);

pub(super) fn key_err(key: &str, message: impl Into<String>) -> KeyError {
    (Some(key.to_string()), message.into())
}

impl ClaimSpec {
    fn present(&self, key: &str) -> bool {
        match key {
            "better" => self.better.is_some(),
            "than" => self.than.is_some(),
            "at_least" => self.at_least.is_some(),
            "at_most" => self.at_most.is_some(),
            "decays_by" => self.decays_by.is_some(),
            "grows_by" => self.grows_by.is_some(),
            "within" => self.within.is_some(),
            "tracks" => self.tracks.is_some(),
            "sign" => self.sign.is_some(),
            "below" => self.below.is_some(),
            "over" => self.over.is_some(),
            _ => false,
        }
    }

    /// Which kind the claim's keys make it: exactly one.
    fn tag(&self) -> Result<Tag, KeyError> {
        let mut found: Option<(Tag, &str, &str)> = None;
        for &(tag, name, keys) in KINDS {
            let Some(k) = keys.iter().find(|k| self.present(k)) else {
                continue;
            };
            if let Some((_, first, first_key)) = found {
                return Err(key_err(
                    k,
                    format!(
                        "makes this claim {name}, but `{first_key}` already made it {first}: \
                         one kind per claim (write two claims)"
                    ),
                ));
            }
            found = Some((tag, name, k));
        }
        found.map(|(tag, _, _)| tag).ok_or((
            None,
            "says nothing to test: give `better` and `than` (a comparison), `at_least` or \
             `at_most` (a threshold), `decays_by`, `grows_by` or `within` (a layer trend), or \
             `tracks` and `sign` (a correlation)"
                .into(),
        ))
    }

    /// Check the claim's shape (no plan needed) and build it.
    pub(super) fn build(mut self) -> Result<Claim, KeyError> {
        let text = match self.text.take() {
            Some(t) if !t.trim().is_empty() => t,
            Some(_) => return Err(key_err("text", "is empty: say what the claim tests")),
            None => {
                return Err(key_err(
                    "text",
                    "missing: every claim says in `text` what it tests (the sentence the report shows)",
                ));
            }
        };
        let metric = match self.metric.take() {
            Some(m) if !m.trim().is_empty() => m,
            _ => {
                return Err(key_err(
                    "metric",
                    "missing: name the eval.csv, metrics.csv or layers.csv quantity the claim is about",
                ));
            }
        };
        let tag = self.tag()?;
        if self.same.is_some() && tag != Tag::Comparison {
            return Err(key_err(
                "same",
                "only applies to a comparison (`better` and `than`)",
            ));
        }
        if self.layers.is_some() && tag != Tag::Threshold {
            return Err(key_err(
                "layers",
                "only applies to a threshold (`at_least` or `at_most`) on a layers.csv quantity",
            ));
        }
        let select = self.select.take().unwrap_or_default();
        let kind = self.kind(tag)?;
        Ok(Claim {
            text,
            metric,
            select,
            kind,
        })
    }

    /// The claim's kind from its kind-specific keys (`tag` says which kind they give).
    fn kind(self, tag: Tag) -> Result<ClaimKind, KeyError> {
        Ok(match tag {
            Tag::Comparison => {
                let missing = if self.better.is_some() {
                    "than"
                } else {
                    "better"
                };
                let (Some(better), Some(than)) = (self.better, self.than) else {
                    return Err(key_err(
                        missing,
                        "missing: a comparison needs both `better` and `than` selectors",
                    ));
                };
                ClaimKind::Comparison {
                    better,
                    than,
                    same: self.same.unwrap_or_default(),
                }
            }
            Tag::Threshold => self.threshold()?,
            Tag::LayerTrend => self.layer_trend()?,
            Tag::Correlation => self.correlation()?,
        })
    }

    /// A threshold's bound (`at_least` or `at_most`) and layer scope (`layers`).
    fn threshold(&self) -> Result<ClaimKind, KeyError> {
        let bound = match one_of(&[("at_least", self.at_least), ("at_most", self.at_most)])? {
            ("at_least", v) => Bound::AtLeast(v),
            (_, v) => Bound::AtMost(v),
        };
        let layers = match self.layers.as_deref() {
            None => None,
            Some("every") => Some(LayerScope::Every),
            Some("any") => Some(LayerScope::Any),
            Some(other) => {
                return Err(key_err(
                    "layers",
                    format!("`{other}` is not a layer scope: use \"every\" or \"any\""),
                ));
            }
        };
        Ok(ClaimKind::Threshold { bound, layers })
    }

    /// A layer trend: `decays_by`, `grows_by` or `within`, a positive number of decades.
    fn layer_trend(&self) -> Result<ClaimKind, KeyError> {
        let trend = match one_of(&[
            ("decays_by", self.decays_by),
            ("grows_by", self.grows_by),
            ("within", self.within),
        ])? {
            (key, v) if v <= 0.0 => {
                return Err(key_err(
                    key,
                    format!("must be a positive number of decades, not {v}"),
                ));
            }
            ("decays_by", v) => Trend::DecaysBy(v),
            ("grows_by", v) => Trend::GrowsBy(v),
            (_, v) => Trend::Within(v),
        };
        Ok(ClaimKind::LayerTrend { trend })
    }

    /// A correlation: the second metric (`tracks`), the relation and what it runs `over`.
    fn correlation(&self) -> Result<ClaimKind, KeyError> {
        let Some(tracks) = self.tracks.clone() else {
            return Err(key_err(
                "tracks",
                "missing: a correlation names the second metric in `tracks`",
            ));
        };
        Ok(ClaimKind::Correlation {
            tracks,
            relation: relation(self.sign.as_deref(), self.below)?,
            over: match self.over.as_deref() {
                None | Some("training") => Over::Training,
                Some("runs") => Over::Runs,
                Some(other) => {
                    return Err(key_err(
                        "over",
                        format!(
                            "`{other}` is not a choice: use \"training\" (each run's \
                             evaluations, the default) or \"runs\" (final values across runs)"
                        ),
                    ));
                }
            },
        })
    }
}

/// A correlation's relation: `sign` ("positive"/"negative") or `below` (|rho| bound in (0, 1)),
/// exactly one.
fn relation(sign: Option<&str>, below: Option<f64>) -> Result<Relation, KeyError> {
    match (sign, below) {
        (Some(_), Some(_)) => Err(key_err(
            "below",
            "give `sign` (the metrics track each other) or `below` (they do not), not both",
        )),
        (None, Some(b)) if b > 0.0 && b < 1.0 => Ok(Relation::Below(b)),
        (None, Some(b)) => Err(key_err(
            "below",
            format!("must be a bound on |rho| strictly between 0 and 1, not {b}"),
        )),
        (Some("positive"), None) => Ok(Relation::Sign(Sign::Positive)),
        (Some("negative"), None) => Ok(Relation::Sign(Sign::Negative)),
        (Some(other), None) => Err(key_err(
            "sign",
            format!("`{other}` is not a sign: use \"positive\" or \"negative\""),
        )),
        (None, None) => Err(key_err(
            "sign",
            "missing: a correlation claims a sign, \"positive\" or \"negative\", or with \
             `below` that |rho| stays under a bound",
        )),
    }
}

/// The one given key of a group of alternatives (`at_least`/`at_most`, ...), with a finite value.
fn one_of(keys: &[(&'static str, Option<f64>)]) -> Result<(&'static str, f64), KeyError> {
    let given: Vec<(&str, f64)> = keys.iter().filter_map(|&(k, v)| Some((k, v?))).collect();
    match given[..] {
        [(key, v)] => Ok((key, finite(key, v)?)),
        [(first, _), (second, _), ..] => {
            let names: Vec<String> = keys.iter().map(|(k, _)| format!("`{k}`")).collect();
            Err(key_err(
                second,
                format!(
                    "give one of {}, not both `{first}` and `{second}` (write two claims)",
                    names.join(", ")
                ),
            ))
        }
        [] => unreachable!("the kind was found from one of these keys"),
    }
}

fn finite(key: &str, v: f64) -> Result<f64, KeyError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(key_err(key, format!("must be a finite number, not {v}")))
    }
}

impl TryFrom<ClaimSpec> for Claim {
    type Error = String;

    fn try_from(spec: ClaimSpec) -> Result<Self, String> {
        spec.build().map_err(|(key, msg)| match key {
            Some(k) => format!("key `{k}`: {msg}"),
            None => msg,
        })
    }
}

impl From<Claim> for ClaimSpec {
    fn from(c: Claim) -> Self {
        let mut s = ClaimSpec {
            text: Some(c.text),
            metric: Some(c.metric),
            select: (!c.select.is_empty()).then_some(c.select),
            ..ClaimSpec::default()
        };
        match c.kind {
            ClaimKind::Comparison { better, than, same } => {
                s.better = Some(better);
                s.than = Some(than);
                s.same = (!same.is_empty()).then_some(same);
            }
            ClaimKind::Threshold { bound, layers } => {
                match bound {
                    Bound::AtLeast(v) => s.at_least = Some(v),
                    Bound::AtMost(v) => s.at_most = Some(v),
                }
                s.layers = layers.map(|l| l.name().to_string());
            }
            ClaimKind::LayerTrend { trend } => match trend {
                Trend::DecaysBy(v) => s.decays_by = Some(v),
                Trend::GrowsBy(v) => s.grows_by = Some(v),
                Trend::Within(v) => s.within = Some(v),
            },
            ClaimKind::Correlation {
                tracks,
                relation,
                over,
            } => {
                s.tracks = Some(tracks);
                match relation {
                    Relation::Sign(sign) => s.sign = Some(sign.to_string()),
                    Relation::Below(b) => s.below = Some(b),
                }
                s.over = (over == Over::Runs).then(|| over.name().to_string());
            }
        }
        s
    }
}
