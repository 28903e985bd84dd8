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

mod metrics;
mod plan;
#[cfg(test)]
mod tests;

use metrics::check_metrics;
use plan::check_claim;

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

/// Check a claim against the registry alone (see [`check_metrics`]): what the report does
/// with a stored claim before testing it, in case a later release renamed its metric.
pub fn check_registry(claim: &Claim) -> Result<(), ClaimError> {
    check_metrics(claim)
        .map(|_| ())
        .map_err(|e| Spans::default().error_unnumbered(e))
}
