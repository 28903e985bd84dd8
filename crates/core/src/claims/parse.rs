//! Reading `[[claim]]` tables and checking them against the metrics and the plan.
//!
//! Two steps, both returning the first problem as a [`ClaimError`] that names the claim, the key
//! and (from the grid file's `toml_edit` spans) where it was written:
//! the shape of each claim (known keys, types, exactly one kind, `text` present) when it is
//! read, then its meaning against a [`PlanContext`] (known metrics of the right file, selectors
//! over real config keys that match configurations of the plan, possible thresholds).

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml_edit::TableLike;

use super::claim::{
    Bound, Claim, ClaimError, ClaimKind, ClaimSpec, KeyError, Selector, Trend, agree_on,
    configurations, key_err, layer_metric, scalar_metric, selects,
};
use crate::config::Dataset;
use crate::results::metrics::{Direction, Metric, REGISTRY};

/// Every key a `[[claim]]` table accepts.
pub const CLAIM_KEYS: &[&str] = &[
    "text",
    "metric",
    "where",
    "better",
    "than",
    "same",
    "at_least",
    "at_most",
    "decays_by",
    "grows_by",
    "within",
    "tracks",
    "sign",
    "below",
    "over",
    "layers",
];

/// What validation needs to know about the sweep a claim belongs to (metric facts come from
/// the registry).
pub struct PlanContext<'a> {
    /// The plan's flat configurations (with or without `seed`; seeds are ignored).
    pub configs: &'a [toml::Table],
    /// Every valid config key (`config::KEYS`).
    pub keys: &'a [&'a str],
}

/// Where each key of one claim was written: `metric`, `better`, `better.clip`, ...
#[derive(Default)]
struct Spans {
    table: Option<Range<usize>>,
    keys: HashMap<String, Range<usize>>,
}

impl Spans {
    fn of(table: &dyn TableLike, span: Option<Range<usize>>) -> Spans {
        let mut keys = HashMap::new();
        for (k, _) in table.iter() {
            let Some((key, item)) = table.get_key_value(k) else {
                continue;
            };
            if let Some(span) = key.span().or_else(|| item.span()) {
                keys.insert(k.to_string(), span);
            }
            if let Some(inner) = item.as_table_like() {
                for (ik, _) in inner.iter() {
                    if let Some((ikey, iitem)) = inner.get_key_value(ik)
                        && let Some(span) = ikey.span().or_else(|| iitem.span())
                    {
                        keys.insert(format!("{k}.{ik}"), span);
                    }
                }
            }
        }
        Spans { table: span, keys }
    }

    /// The most precise span known for `key` (`better.clip`, else `better`, else the table).
    fn locate(&self, key: Option<&str>) -> Option<Range<usize>> {
        let mut k = key;
        while let Some(name) = k {
            if let Some(s) = self.keys.get(name) {
                return Some(s.clone());
            }
            k = name.rsplit_once('.').map(|(head, _)| head);
        }
        self.table.clone()
    }

    fn error(&self, claim: usize, e: KeyError) -> ClaimError {
        ClaimError {
            claim: Some(claim),
            ..self.error_unnumbered(e)
        }
    }

    fn error_unnumbered(&self, (key, message): KeyError) -> ClaimError {
        ClaimError {
            claim: None,
            span: self.locate(key.as_deref()),
            key,
            message,
        }
    }
}

/// "did you mean" for a misspelt key or metric: a close Jaro-Winkler match, or one edit or
/// transposition away (which Jaro-Winkler misses in short names: `fdl` for `fld`).
fn suggest(word: &str, valid: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    valid
        .into_iter()
        .map(|v| {
            let v = v.as_ref();
            let close = strsim::jaro_winkler(word, v);
            let edits = strsim::osa_distance(word, v);
            (
                close > 0.8 || edits <= 1,
                close.max(1.0 - edits as f64 / 8.0),
                v.to_string(),
            )
        })
        .filter(|(near, _, _)| *near)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(String::new(), |(_, _, v)| format!(" (did you mean `{v}`?)"))
}

/// Read the grid file's `claim` item (`[[claim]]` tables, or an array of inline tables) and
/// check every claim against the plan. Errors carry the `toml_edit` span of the key at fault
/// when `item` comes from a span-keeping parse (`toml_edit::ImDocument`).
pub fn parse_claims(item: &toml_edit::Item, plan: &PlanContext) -> Result<Vec<Claim>, ClaimError> {
    let not_tables = || ClaimError {
        claim: None,
        key: Some("claim".into()),
        span: item.span(),
        message: "must be an array of tables: write each claim as a [[claim]] table".into(),
    };
    let tables: Vec<(&dyn TableLike, Option<Range<usize>>)> = match item {
        toml_edit::Item::ArrayOfTables(a) => {
            a.iter().map(|t| (t as &dyn TableLike, t.span())).collect()
        }
        toml_edit::Item::Value(toml_edit::Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                toml_edit::Value::InlineTable(t) => Ok((t as &dyn TableLike, t.span())),
                _ => Err(not_tables()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(not_tables()),
    };
    let mut claims = Vec::with_capacity(tables.len());
    for (i, (table, span)) in tables.into_iter().enumerate() {
        let spans = Spans::of(table, span);
        let claim = read_claim(table).map_err(|e| spans.error(i, e))?;
        check_claim(&claim, plan).map_err(|e| spans.error(i, e))?;
        claims.push(claim);
    }
    Ok(claims)
}

/// Check claims that were read elsewhere (e.g. from a sweep record) against a plan or the runs
/// found. The errors name the claim and key but carry no span.
pub fn validate_claims(claims: &[Claim], plan: &PlanContext) -> Result<(), ClaimError> {
    for (i, c) in claims.iter().enumerate() {
        check_claim(c, plan).map_err(|e| Spans::default().error(i, e))?;
    }
    Ok(())
}

fn to_value(item: &toml_edit::Item) -> Result<toml::Value, String> {
    let value = item
        .clone()
        .into_value()
        .map_err(|_| "must be a value".to_string())?;
    toml::Value::deserialize(value.into_deserializer()).map_err(|e| e.message().to_string())
}

/// One claim's shape: known keys with the right types, then [`ClaimSpec::build`].
fn read_claim(table: &dyn TableLike) -> Result<Claim, KeyError> {
    let mut whole = toml::Table::new();
    for (k, item) in table.iter() {
        if !CLAIM_KEYS.contains(&k) {
            return Err(key_err(
                k,
                format!(
                    "unknown claim key{}; valid keys: {}",
                    suggest(k, CLAIM_KEYS),
                    CLAIM_KEYS.join(", ")
                ),
            ));
        }
        let value = to_value(item).map_err(|m| key_err(k, m))?;
        // Each key alone first, so that a type error names its key.
        let mut one = toml::Table::new();
        one.insert(k.to_string(), value.clone());
        if let Err(e) = toml::Value::Table(one).try_into::<ClaimSpec>() {
            return Err(key_err(k, e.message().trim()));
        }
        whole.insert(k.to_string(), value);
    }
    let spec: ClaimSpec = toml::Value::Table(whole)
        .try_into()
        .map_err(|e| (None, e.to_string()))?;
    spec.build()
}

/// Every registered metric name, for "did you mean".
fn metric_names() -> impl Iterator<Item = &'static str> {
    let mut names: Vec<&str> = REGISTRY.iter().map(|m| m.name).collect();
    names.dedup();
    names.into_iter()
}

fn unknown_metric(key: &str, name: &str) -> KeyError {
    key_err(
        key,
        format!("unknown metric `{name}`{}", suggest(name, metric_names())),
    )
}

/// The registry's entry for a scalar claim's metric (`metric` or `tracks`): an `eval.csv` or
/// `metrics.csv` metric, not a `layers.csv` quantity.
fn scalar(name: &str, key: &str, kind: &str) -> Result<&'static Metric, KeyError> {
    if let Some(m) = scalar_metric(name) {
        return Ok(m);
    }
    if layer_metric(name).is_some() {
        return Err(key_err(
            key,
            format!(
                "`{name}` is a layers.csv quantity (one value per layer): a {kind} needs an \
                 eval.csv or metrics.csv metric; a layer trend (`decays_by`, `grows_by`, \
                 `within`) takes layers.csv quantities"
            ),
        ));
    }
    Err(unknown_metric(key, name))
}

/// The registry's entry for the claim's `metric`: a `layers.csv` quantity for a layer trend,
/// an `eval.csv` or `metrics.csv` metric for the other kinds.
fn claim_metric(claim: &Claim) -> Result<&'static Metric, KeyError> {
    if let ClaimKind::Threshold { layers, .. } = &claim.kind {
        return threshold_metric(claim, *layers);
    }
    let ClaimKind::LayerTrend { trend } = &claim.kind else {
        return scalar(&claim.metric, "metric", claim.kind.name());
    };
    if let Some(m) = layer_metric(&claim.metric) {
        return Ok(m);
    }
    if scalar_metric(&claim.metric).is_none() {
        return Err(unknown_metric("metric", &claim.metric));
    }
    let key = match trend {
        Trend::DecaysBy(_) => "decays_by",
        Trend::GrowsBy(_) => "grows_by",
        Trend::Within(_) => "within",
    };
    Err(key_err(
        key,
        format!(
            "a layer trend needs a layers.csv quantity (one value per layer, e.g. \
             `act_grad_norm`); `{}` is not one",
            claim.metric
        ),
    ))
}

/// A threshold's metric: a layers.csv quantity exactly when `layers` says in which layers the
/// bound must hold.
fn threshold_metric(
    claim: &Claim,
    layers: Option<super::claim::LayerScope>,
) -> Result<&'static Metric, KeyError> {
    match (layers, layer_metric(&claim.metric)) {
        (Some(_), Some(m)) => Ok(m),
        (None, Some(_)) => Err(key_err(
            "layers",
            format!(
                "missing: `{}` is a layers.csv quantity (one value per layer); say where the \
                 bound must hold with layers = \"every\" or layers = \"any\"",
                claim.metric
            ),
        )),
        (Some(_), None) if scalar_metric(&claim.metric).is_some() => Err(key_err(
            "layers",
            format!(
                "`{}` has one value per step, not per layer: `layers` applies to layers.csv \
                 quantities (e.g. `frac_at_clip`)",
                claim.metric
            ),
        )),
        (Some(_), None) => Err(unknown_metric("metric", &claim.metric)),
        (None, None) => scalar(&claim.metric, "metric", claim.kind.name()),
    }
}

/// What a claim needs of the registry alone: its metrics exist in the files its kind reads, a
/// comparison's metric has a direction, a correlation's two metrics differ. Returns the
/// claim's metric.
fn check_metrics(claim: &Claim) -> Result<&'static Metric, KeyError> {
    let info = claim_metric(claim)?;
    match &claim.kind {
        ClaimKind::Comparison { .. } if info.direction == Direction::None => Err(key_err(
            "metric",
            format!(
                "`{}` has no better direction (neither lower nor higher is better), so one \
                 configuration cannot beat another on it; compare a score such as \
                 `sliced_wasserstein` or `fld`, or state a threshold",
                claim.metric
            ),
        )),
        ClaimKind::Correlation { tracks, .. } => {
            scalar(tracks, "tracks", claim.kind.name())?;
            if tracks == &claim.metric {
                return Err(key_err(
                    "tracks",
                    "names the claim's own metric: a metric always tracks itself",
                ));
            }
            Ok(info)
        }
        _ => Ok(info),
    }
}

/// Check a claim against the registry alone (see [`check_metrics`]): what the report does
/// with a stored claim before testing it, in case a later release renamed its metric.
pub fn check_registry(claim: &Claim) -> Result<(), ClaimError> {
    check_metrics(claim)
        .map(|_| ())
        .map_err(|e| Spans::default().error_unnumbered(e))
}

/// One claim's meaning against the registry and the plan.
fn check_claim(claim: &Claim, plan: &PlanContext) -> Result<(), KeyError> {
    let info = check_metrics(claim)?;
    let configs = configurations(plan.configs);
    let base = matching(&claim.select, "where", &configs, plan)?;
    match &claim.kind {
        ClaimKind::Comparison { better, than, same } => {
            let b = matching_within(better, "better", &base, &configs, plan)?;
            let t = matching_within(than, "than", &base, &configs, plan)?;
            if let Some(both) = b.iter().find(|i| t.contains(i)) {
                return Err(key_err(
                    "than",
                    format!(
                        "matches a configuration `better` also matches ({}): each side must \
                         select different configurations",
                        describe(&configs[*both], better.keys().chain(than.keys()))
                    ),
                ));
            }
            for k in same {
                check_key(k, "same", plan)?;
            }
            if !b
                .iter()
                .any(|&x| t.iter().any(|&y| agree_on(same, &configs[x], &configs[y])))
            {
                return Err(key_err(
                    "same",
                    format!(
                        "no configuration of `better` agrees with one of `than` on {}",
                        same.join(", ")
                    ),
                ));
            }
        }
        ClaimKind::Threshold {
            bound: Bound::AtLeast(v),
            ..
        } => check_ceiling(info, *v, &base, &configs)?,
        _ => {}
    }
    Ok(())
}

/// An `at_least` bound no selected configuration can reach (`modes_covered` at least 9 on
/// 8 Gaussians): the registry's largest value on the configuration's dataset.
fn check_ceiling(
    info: &Metric,
    v: f64,
    among: &[usize],
    configs: &[toml::Table],
) -> Result<(), KeyError> {
    for &i in among {
        let Some(dataset) = configs[i]
            .get("dataset")
            .and_then(|d| Dataset::deserialize(d.clone()).ok())
        else {
            continue;
        };
        if let Some(max) = info.max_on(dataset)
            && v > max
        {
            return Err(key_err(
                "at_least",
                format!(
                    "{v} is above the largest possible `{}` on {dataset} ({max}): the claim \
                     cannot hold",
                    info.name
                ),
            ));
        }
    }
    Ok(())
}

fn check_key(k: &str, at: &str, plan: &PlanContext) -> Result<(), KeyError> {
    if k == "seed" {
        return Err(key_err(
            &format!("{at}.seed"),
            "claims are tested across seeds: `seed` cannot select or pair configurations",
        ));
    }
    if !plan.keys.contains(&k) {
        let at_key = if at == "same" {
            at.to_string()
        } else {
            format!("{at}.{k}")
        };
        return Err(key_err(
            &at_key,
            format!("`{k}` is not a config key{}", suggest(k, plan.keys)),
        ));
    }
    Ok(())
}

/// Indices of the configurations `sel` matches; an error naming `at` when it matches none.
fn matching(
    sel: &Selector,
    at: &str,
    configs: &[toml::Table],
    plan: &PlanContext,
) -> Result<Vec<usize>, KeyError> {
    let all: Vec<usize> = (0..configs.len()).collect();
    matching_within(sel, at, &all, configs, plan)
}

fn matching_within(
    sel: &Selector,
    at: &str,
    among: &[usize],
    configs: &[toml::Table],
    plan: &PlanContext,
) -> Result<Vec<usize>, KeyError> {
    for k in sel.keys() {
        check_key(k, at, plan)?;
    }
    let found: Vec<usize> = among
        .iter()
        .copied()
        .filter(|&i| selects(sel, &configs[i]))
        .collect();
    if found.is_empty() {
        // Name the first key whose value no configuration has, with the values that exist.
        for (k, v) in sel {
            let one: Selector = [(k.clone(), v.clone())].into();
            if !configs.iter().any(|c| selects(&one, c)) {
                let present: BTreeSet<String> =
                    configs.iter().filter_map(|c| c.get(k).map(show)).collect();
                let present = if present.is_empty() {
                    "no configuration sets it".to_string()
                } else {
                    format!("values in the plan: {}", Vec::from_iter(present).join(", "))
                };
                return Err(key_err(
                    &format!("{at}.{k}"),
                    format!("no configuration of the plan has {k} = {v} ({present})"),
                ));
            }
        }
        let what = if among.len() < configs.len() {
            " together with `where`"
        } else {
            ""
        };
        return Err(key_err(
            at,
            format!(
                "matches no configuration of the plan{what} (each key matches some, but not all at once)"
            ),
        ));
    }
    Ok(found)
}

fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn describe<'a>(config: &toml::Table, keys: impl Iterator<Item = &'a String>) -> String {
    let keys: BTreeSet<&String> = keys.collect();
    keys.iter()
        .filter_map(|k| Some(format!("{k} = {}", show(config.get(*k)?))))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::testing::config;
    use crate::claims::{Over, Relation, Sign};
    use serde::Serialize;

    /// clip_vs_gp on the Swiss roll (three clip values and the penalty) plus the penalty on
    /// 8 Gaussians, seeds 1 and 2.
    fn plan_configs() -> Vec<toml::Table> {
        let mut out = Vec::new();
        for seed in [1, 2] {
            for clip in ["0.1", "0.01", "0.001"] {
                out.push(config(&format!(
                    "loss = \"wgan-clip\"\ndataset = \"swissroll\"\nclip = {clip}\nseed = {seed}"
                )));
            }
            for dataset in ["swissroll", "8gaussians"] {
                out.push(config(&format!(
                    "loss = \"wgan-gp\"\ndataset = \"{dataset}\"\ngp_lambda = 0.1\nseed = {seed}"
                )));
            }
        }
        out
    }

    fn parse(text: &str) -> Result<Vec<Claim>, ClaimError> {
        let doc = toml_edit::ImDocument::parse(text.to_string()).expect("valid TOML");
        let configs = plan_configs();
        let plan = PlanContext {
            configs: &configs,
            keys: crate::config::KEYS,
        };
        parse_claims(doc.as_table().get("claim").expect("has claims"), &plan)
    }

    const GOOD: &str = r#"
[[claim]]
text = "The gradient penalty fits the Swiss roll better than every clipping value"
metric = "sliced_wasserstein"
where = { dataset = "swissroll" }
better = { loss = "wgan-gp" }
than = { loss = "wgan-clip" }

[[claim]]
text = "WGAN-GP covers all modes of 8 Gaussians"
metric = "modes_covered"
where = { loss = "wgan-gp", dataset = "8gaussians" }
at_least = 7

[[claim]]
text = "Clipping at c <= 0.01 makes the gradients vanish towards the input"
metric = "act_grad_norm"
where = { loss = "wgan-clip", clip = [1e-2, 0.001] }
decays_by = 3

[[claim]]
text = "The Wasserstein estimate tracks sample quality"
metric = "estimate"
tracks = "sliced_wasserstein"
sign = "positive"

[[claim]]
text = "Each penalty run beats clipping on its own dataset"
metric = "sliced_wasserstein"
better = { loss = "wgan-gp" }
than = { clip = 0.1 }
same = ["dataset"]
"#;

    #[test]
    fn reads_every_kind() {
        let claims = parse(GOOD).unwrap();
        assert_eq!(claims.len(), 5);
        let kinds: Vec<&str> = claims.iter().map(|c| c.kind.name()).collect();
        assert_eq!(
            kinds,
            [
                "comparison",
                "threshold",
                "layer-trend",
                "correlation",
                "comparison"
            ]
        );
        assert_eq!(
            claims[1].kind,
            ClaimKind::Threshold {
                bound: Bound::AtLeast(7.0),
                layers: None,
            }
        );
        assert_eq!(
            claims[1].select,
            Selector::from([
                ("loss".to_string(), toml::Value::from("wgan-gp")),
                ("dataset".to_string(), toml::Value::from("8gaussians")),
            ])
        );
        assert!(claims[3].select.is_empty());
        assert!(matches!(
            claims[2].kind,
            ClaimKind::LayerTrend {
                trend: Trend::DecaysBy(3.0),
                ..
            }
        ));
        assert!(matches!(
            &claims[3].kind,
            ClaimKind::Correlation { tracks, relation: Relation::Sign(Sign::Positive), over: Over::Training } if tracks == "sliced_wasserstein"
        ));
        assert!(
            matches!(&claims[4].kind, ClaimKind::Comparison { same, .. } if same == &["dataset"])
        );
    }

    #[test]
    fn the_documented_example_is_valid() {
        let readme = include_str!("../../../../README.md");
        let doc = &readme[readme
            .find("### Claims")
            .expect("the README's Claims section")..];
        let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let text = &doc[start..start + doc[start..].find("```").expect("closed")];
        let configs: Vec<toml::Table> = [
            "loss = \"wgan-gp\"\ndataset = \"swissroll\"",
            "loss = \"wgan-gp\"\ndataset = \"8gaussians\"",
            "loss = \"wgan-clip\"\ndataset = \"swissroll\"\nclip = 0.01",
            "loss = \"wgan-clip\"\ndataset = \"swissroll\"\nclip = 0.001",
            "loss = \"wgan-clip\"\ndataset = \"mnist\"\nclip = 0.01\nprofile = \"seed\"",
        ]
        .map(config)
        .to_vec();
        let plan = PlanContext {
            configs: &configs,
            keys: crate::config::KEYS,
        };
        let doc = toml_edit::ImDocument::parse(text.to_string()).expect("valid TOML");
        let claims = parse_claims(doc.as_table().get("claim").unwrap(), &plan).unwrap();
        assert_eq!(claims.len(), 4);
    }

    #[test]
    fn inline_array_form_is_accepted() {
        let text = r#"claim = [{ text = "t", metric = "modes_covered", at_most = 8 }]"#;
        assert_eq!(parse(text).unwrap().len(), 1);
    }

    #[test]
    fn stored_claims_round_trip_through_json_and_toml() {
        let claims = parse(GOOD).unwrap();
        let json = serde_json::to_string(&claims).unwrap();
        let back: Vec<Claim> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, claims);
        // The stored form reads like the grid file.
        assert!(
            json.contains(r#""where":{"dataset":"swissroll"}"#),
            "{json}"
        );
        assert!(json.contains(r#""at_least":7.0"#), "{json}");
        #[derive(Serialize, Deserialize)]
        struct File {
            claim: Vec<Claim>,
        }
        let toml_text = toml::to_string(&File {
            claim: claims.clone(),
        })
        .unwrap();
        let again: File = toml::from_str(&toml_text).unwrap();
        assert_eq!(again.claim, claims);
        // A stored claim that breaks the shape rules does not load.
        let bad = r#"{"text":"t","metric":"fld","at_least":1.0,"better":{"loss":"x"}}"#;
        let err = serde_json::from_str::<Claim>(bad).unwrap_err().to_string();
        assert!(err.contains("one kind per claim"), "{err}");
    }

    /// Parse one bad claim (after the good ones) and check the error names `key` and points at
    /// it in the text.
    fn bad(claim: &str, key: Option<&str>, needle: &str) {
        let text = format!("{GOOD}\n[[claim]]\n{claim}\n");
        let err = parse(&text).expect_err(claim);
        assert_eq!(err.claim, Some(5), "{err}");
        assert_eq!(err.key.as_deref(), key, "{err}");
        assert!(err.message.contains(needle), "`{needle}` not in: {err}");
        let span = err.span.clone().expect("located");
        let at = &text[span.start..];
        let last_table = text.rfind("[[claim]]").unwrap();
        assert!(
            span.start >= last_table,
            "span outside the bad claim: {err}"
        );
        // A key that is written is pointed at; a missing one or a claim-wide problem points
        // at the claim's header.
        let leaf = key.map(|k| k.rsplit('.').next().unwrap());
        let want = match leaf {
            Some(l) if claim.contains(&format!("{l} =")) => l,
            _ => "[[claim]]",
        };
        assert!(
            at.starts_with(want),
            "span at {:?}, not `{want}`",
            &at[..at.len().min(20)]
        );
    }

    #[test]
    fn new_forms_read_and_round_trip() {
        let text = format!(
            "{GOOD}
[[claim]]
text = \"weights pile up at +-c\"
metric = \"frac_at_clip\"
where = {{ loss = \"wgan-clip\" }}
layers = \"every\"
at_least = 0.5

[[claim]]
text = \"the estimate does not track the distance\"
metric = \"estimate\"
tracks = \"sliced_wasserstein\"
below = 0.3

[[claim]]
text = \"across runs\"
metric = \"estimate\"
tracks = \"sliced_wasserstein\"
sign = \"negative\"
over = \"runs\"
"
        );
        let claims = parse(&text).unwrap();
        assert_eq!(
            claims[5].kind,
            ClaimKind::Threshold {
                bound: Bound::AtLeast(0.5),
                layers: Some(crate::claims::LayerScope::Every),
            }
        );
        assert!(matches!(
            claims[6].kind,
            ClaimKind::Correlation { relation: Relation::Below(b), over: Over::Training, .. } if b == 0.3
        ));
        assert!(matches!(
            claims[7].kind,
            ClaimKind::Correlation {
                relation: Relation::Sign(Sign::Negative),
                over: Over::Runs,
                ..
            }
        ));
        let json = serde_json::to_string(&claims).unwrap();
        assert!(json.contains(r#""layers":"every""#) && json.contains(r#""over":"runs""#));
        // A claim without the new keys stores exactly as before (no `over`, no `layers`).
        let old = serde_json::to_string(&claims[3]).unwrap();
        assert!(
            !old.contains("over") && !old.contains("layers") && !old.contains("below"),
            "{old}"
        );
        let back: Vec<Claim> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, claims);
    }

    #[test]
    fn bad_new_forms_name_their_key() {
        let t = "text = \"x\"\n";
        bad(
            &format!("{t}metric = \"frac_at_clip\"\nat_least = 0.5"),
            Some("layers"),
            "layers = \"every\" or layers = \"any\"",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = 5\nlayers = \"every\""),
            Some("layers"),
            "applies to layers.csv quantities",
        );
        bad(
            &format!("{t}metric = \"frac_at_clip\"\nat_least = 0.5\nlayers = \"all\""),
            Some("layers"),
            "use \"every\" or \"any\"",
        );
        bad(
            &format!("{t}metric = \"frac_at_clip\"\ndecays_by = 1\nlayers = \"any\""),
            Some("layers"),
            "only applies to a threshold",
        );
        bad(
            &format!("{t}metric = \"estimate\"\ntracks = \"fld\"\nbelow = 1.5"),
            Some("below"),
            "strictly between 0 and 1",
        );
        bad(
            &format!(
                "{t}metric = \"estimate\"\ntracks = \"fld\"\nbelow = 0.3\nsign = \"positive\""
            ),
            Some("below"),
            "not both",
        );
        bad(
            &format!(
                "{t}metric = \"estimate\"\ntracks = \"fld\"\nsign = \"positive\"\nover = \"time\""
            ),
            Some("over"),
            "\"training\"",
        );
    }

    #[test]
    fn bad_claims_name_their_key() {
        let t = "text = \"x\"\n";
        bad(
            &format!("{t}metrik = \"fld\"\nat_most = 1"),
            Some("metrik"),
            "did you mean `metric`",
        );
        bad(
            &format!("{t}metric = \"fdl\"\nat_most = 1"),
            Some("metric"),
            "unknown metric `fdl` (did you mean `fld`?)",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nbetter = {{ los = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}"
            ),
            Some("better.los"),
            "`los` is not a config key (did you mean `loss`?)",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-pg\" }}\nthan = {{ loss = \"wgan-clip\" }}"
            ),
            Some("better.loss"),
            "no configuration of the plan has loss = \"wgan-pg\" (values in the plan: wgan-clip, wgan-gp)",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nwhere = {{ dataset = \"8gaussians\" }}\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}"
            ),
            Some("than"),
            "matches no configuration of the plan together with `where`",
        );
        bad(
            &format!(
                "{t}metric = \"estimate\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}"
            ),
            Some("metric"),
            "has no better direction",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ dataset = \"swissroll\" }}"
            ),
            Some("than"),
            "matches a configuration `better` also matches",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}\nsame = [\"datset\"]"
            ),
            Some("same"),
            "`datset` is not a config key (did you mean `dataset`?)",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}\nsame = [\"gp_lambda\"]"
            ),
            Some("same"),
            "no configuration of `better` agrees with one of `than` on gp_lambda",
        );
        bad(
            &format!("{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}"),
            Some("than"),
            "needs both",
        );
        bad(
            &format!("{t}metric = \"fld\"\ndecays_by = 3"),
            Some("decays_by"),
            "needs a layers.csv quantity",
        );
        // A threshold on a layers.csv quantity says in which layers it holds.
        bad(
            &format!("{t}metric = \"act_grad_norm\"\nat_most = 3"),
            Some("layers"),
            "is a layers.csv quantity",
        );
        bad(
            &format!("{t}metric = \"estimate\"\ntracks = \"qualty\"\nsign = \"negative\""),
            Some("tracks"),
            "unknown metric `qualty`",
        );
        bad(
            &format!("{t}metric = \"estimate\"\ntracks = \"frac_at_clip\"\nsign = \"negative\""),
            Some("tracks"),
            "layers.csv",
        );
        bad(
            &format!("{t}metric = \"estimate\"\ntracks = \"estimate\"\nsign = \"negative\""),
            Some("tracks"),
            "own metric",
        );
        bad(
            &format!("{t}metric = \"estimate\"\ntracks = \"fld\"\nsign = \"down\""),
            Some("sign"),
            "use \"positive\" or \"negative\"",
        );
        bad(
            &format!("{t}metric = \"estimate\"\ntracks = \"fld\""),
            Some("sign"),
            "missing",
        );
        bad("metric = \"fld\"\nat_most = 1", Some("text"), "missing");
        bad(
            "text = \"  \"\nmetric = \"fld\"\nat_most = 1",
            Some("text"),
            "empty",
        );
        bad(&format!("{t}at_most = 1"), Some("metric"), "missing");
        bad(
            &format!("{t}metric = \"fld\"\nat_most = 1\ndecays_by = 2"),
            Some("decays_by"),
            "one kind per claim",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = 1\nat_least = 0"),
            Some("at_most"),
            "give one of `at_least`, `at_most`, not both",
        );
        bad(
            &format!("{t}metric = \"act_grad_norm\"\ndecays_by = 2\nwithin = 1"),
            Some("within"),
            "give one of `decays_by`, `grows_by`, `within`, not both `decays_by` and `within`",
        );
        bad(
            &format!("{t}metric = \"act_grad_norm\"\nwithin = 0"),
            Some("within"),
            "positive number of decades",
        );
        bad(
            &format!("{t}metric = \"modes_covered\"\nat_least = 9"),
            Some("at_least"),
            "9 is above the largest possible `modes_covered` on 8gaussians (8)",
        );
        bad(
            &format!("{t}metric = \"high_quality_frac\"\nat_least = 1.5"),
            Some("at_least"),
            "1.5 is above the largest possible `high_quality_frac` on",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = nan"),
            Some("at_most"),
            "finite",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = \"low\""),
            Some("at_most"),
            "invalid type",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = 1\nsame = [\"dataset\"]"),
            Some("same"),
            "only applies to a comparison",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = 1\nwhere = {{ seed = 1 }}"),
            Some("where.seed"),
            "across seeds",
        );
        bad(
            &format!("{t}metric = \"fld\"\nat_most = 1\nwhere = {{ clip = 0.5 }}"),
            Some("where.clip"),
            "values in the plan: 0.001, 0.01, 0.1",
        );
        bad(
            &format!(
                "{t}metric = \"fld\"\nat_most = 1\nwhere = {{ dataset = \"8gaussians\", clip = 0.1 }}"
            ),
            Some("where"),
            "not all at once",
        );
        bad(
            &format!("{t}metric = \"fld\""),
            None,
            "says nothing to test",
        );
    }

    /// `modes_covered` is bounded by the modes of each selected configuration's dataset.
    #[test]
    fn modes_bound_follows_the_dataset() {
        let configs: Vec<toml::Table> = ["8gaussians", "25gaussians"]
            .map(|d| config(&format!("loss = \"wgan-gp\"\ndataset = \"{d}\"")))
            .to_vec();
        let plan = PlanContext {
            configs: &configs,
            keys: crate::config::KEYS,
        };
        let check = |claim: &str| {
            let doc = toml_edit::ImDocument::parse(format!(
                "[[claim]]\ntext = \"t\"\nmetric = \"modes_covered\"\n{claim}"
            ))
            .unwrap();
            parse_claims(doc.as_table().get("claim").unwrap(), &plan).map(|_| ())
        };
        assert!(check("at_least = 20\nwhere = { dataset = \"25gaussians\" }").is_ok());
        assert!(check("at_least = 8").is_ok());
        let err = check("at_least = 20").unwrap_err();
        assert!(err.message.contains("on 8gaussians (8)"), "{err}");
        let err = check("at_least = 26\nwhere = { dataset = \"25gaussians\" }").unwrap_err();
        assert!(err.message.contains("on 25gaussians (25)"), "{err}");
    }

    #[test]
    fn claim_must_be_tables() {
        let err = parse("claim = 3").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("claim"));
        assert!(err.message.contains("[[claim]]"), "{err}");
    }

    #[test]
    fn standard_subtables_and_numbers_compare_as_numbers() {
        // `[claim.where]` as a table; 1e-1 selects clip = 0.1.
        let text =
            "[[claim]]\ntext = \"x\"\nmetric = \"fld\"\nat_most = 1\n[claim.where]\nclip = 1e-1\n";
        let claims = parse(text).unwrap();
        assert!(claims[0].select.len() == 1);
    }

    #[test]
    fn validate_claims_checks_stored_claims() {
        let claims = parse(GOOD).unwrap();
        let configs = plan_configs();
        // Only the clipping runs are present: the claims about the penalty no longer match.
        let clip_only: Vec<toml::Table> = configs
            .into_iter()
            .filter(|c| c.get("loss").and_then(|v| v.as_str()) == Some("wgan-clip"))
            .collect();
        let plan = PlanContext {
            configs: &clip_only,
            keys: crate::config::KEYS,
        };
        let err = validate_claims(&claims, &plan).unwrap_err();
        assert_eq!(
            (err.claim, err.key.as_deref(), err.span.clone()),
            (Some(0), Some("better.loss"), None)
        );
        assert!(validate_claims(&claims[2..3], &plan).is_ok());
    }
}
