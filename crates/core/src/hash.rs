//! Content address of a run: SHA-256 over the canonical form of the resolved config.
//!
//! Canonical form: the flat `config.toml` table minus [`UNHASHED_KEYS`], keys sorted (a
//! `BTreeMap`), serialised as compact JSON, prefixed with the schema version. Floats are typed
//! `f64` by the time they get here, so `0.01` and `1e-2` are the same value and print the same
//! (shortest round-trip form), and `-0.0` is `0.0`; integers stay integers.

use crate::config::{RunConfig, SCHEMA_VERSION, UNHASHED_KEYS};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Length of the folder name.
pub const SHORT_LEN: usize = 12;

/// The exact text that is hashed (useful for debugging hash differences).
pub fn canonical_text(cfg: &RunConfig) -> String {
    let sorted: BTreeMap<String, serde_json::Value> = cfg
        .to_flat()
        .into_iter()
        .filter(|(k, _)| !UNHASHED_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k, to_json(v)))
        .collect();
    format!(
        "gan-harness-config-v{SCHEMA_VERSION}\n{}",
        serde_json::to_string(&sorted).expect("JSON of plain values")
    )
}

fn to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        // -0.0 == 0.0 in every setting (a clip, a beta, a rate), so both hash as 0.0 (a float
        // pattern compares with `==`: this arm matches -0.0 too).
        toml::Value::Float(0.0) => serde_json::Value::from(0.0),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| f.to_string().into()),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.into_iter().map(to_json).collect(),
        toml::Value::Table(t) => t
            .into_iter()
            .map(|(k, v)| (k, to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// Full 64-hex-digit SHA-256 of the canonical text.
pub fn full_hash(cfg: &RunConfig) -> String {
    hex::encode(Sha256::digest(canonical_text(cfg).as_bytes()))
}

/// The 12-hex-digit folder name.
pub fn short_hash(cfg: &RunConfig) -> String {
    full_hash(cfg)[..SHORT_LEN].to_string()
}
