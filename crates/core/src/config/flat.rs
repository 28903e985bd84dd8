//! The flat form: a [`RunConfig`] as the sorted key/value table that `config.toml` holds and
//! the hash is taken of, and the two spellings (`loss` or the axes) reconciled for display.

use super::*;
use std::collections::BTreeMap;

/// The keys of the objective-and-constraint axes in the flat form (see [`RunConfig::to_flat`]).
pub(super) const AXES: [&str; 4] = ["objective", "penalty", "penalty_weight", "spectral_norm"];

impl RunConfig {
    /// The flat key/value view written to `config.toml` and hashed: optimiser fields become
    /// `g_lr`, `c_beta1`, ...; `None` values are omitted. A combination that `loss` can spell
    /// is spelled with it (`loss`, and `gp_lambda` for its penalty weight), exactly as before the
    /// axes existed, so its hash is unchanged; every other combination is spelled with the axes
    /// (`objective`, `penalty`, `penalty_weight` when there is a penalty, `spectral_norm`), which
    /// no legacy form contains, so it has a hash of its own.
    pub fn to_flat(&self) -> toml::Table {
        let mut t = self.flat_fields();
        for k in AXES {
            t.remove(k);
        }
        let s = |v: &str| toml::Value::String(v.into());
        match self.legacy_loss() {
            Some(loss) => {
                t.insert("loss".into(), s(loss.as_str()));
                if let Some(w) = self.penalty_weight {
                    t.insert("gp_lambda".into(), toml::Value::Float(w));
                }
            }
            None => {
                t.insert("objective".into(), s(self.objective.as_str()));
                t.insert("penalty".into(), s(self.penalty.as_str()));
                if let Some(w) = self.penalty_weight {
                    t.insert("penalty_weight".into(), toml::Value::Float(w));
                }
                t.insert(
                    "spectral_norm".into(),
                    toml::Value::Boolean(self.spectral_norm),
                );
            }
        }
        t
    }

    /// [`RunConfig::to_flat`] with the axes spelled out whatever the spelling (see
    /// [`legacy_axes`]): what plans and `harness show` display and compare.
    pub fn to_view(&self) -> toml::Table {
        let mut t = self.to_flat();
        let axes = legacy_axes(t.get("loss"), t.get("gp_lambda"));
        t.extend(axes.into_iter().flatten());
        t
    }

    /// Every field, optimiser fields flattened.
    fn flat_fields(&self) -> toml::Table {
        let mut t = toml::Table::new();
        let value = toml::Value::try_from(self).expect("RunConfig serialises to TOML");
        if let toml::Value::Table(full) = value {
            for (k, v) in full {
                match (k.as_str(), v) {
                    ("g_optim" | "c_optim", toml::Value::Table(o)) => {
                        let p = &k[..1];
                        for (ok, ov) in o {
                            let name = if ok == "kind" {
                                format!("{p}_optim")
                            } else {
                                format!("{p}_{ok}")
                            };
                            t.insert(name, ov);
                        }
                    }
                    (_, v) => {
                        t.insert(k, v);
                    }
                }
            }
        }
        t
    }

    /// Parse a `config.toml` written by [`RunConfig::to_flat`] (e.g. for `harness run --config`).
    pub fn from_flat_str(text: &str) -> Result<RunConfig, String> {
        let spec: RunSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        spec.resolve()
            .map_err(|e| format!("key `{}`: {}", e.key, e.message))
    }
}

/// The axis keys that a flat config spelled with `loss` stands for: `objective`, `penalty`,
/// `spectral_norm` (false) and, for gp and lp, `penalty_weight` (its `gp_lambda`). `None` for a
/// table without a known `loss` (spelled with the axes already).
pub fn legacy_axes(
    loss: Option<&toml::Value>,
    gp_lambda: Option<&toml::Value>,
) -> Option<Vec<(String, toml::Value)>> {
    let loss = Loss::ALL
        .iter()
        .find(|l| loss.and_then(|v| v.as_str()) == Some(l.as_str()))?;
    let (objective, penalty, _) = loss.axes();
    let s = |v: &str| toml::Value::String(v.into());
    let mut out = vec![
        ("objective".to_string(), s(objective.as_str())),
        ("penalty".to_string(), s(penalty.as_str())),
        ("spectral_norm".to_string(), toml::Value::Boolean(false)),
    ];
    if let Some(w) = gp_lambda {
        out.push(("penalty_weight".to_string(), w.clone()));
    }
    Some(out)
}

/// Flat configs shown together (one report section): when some are spelled with `loss` and
/// others with the axes, the former also get the axis keys ([`legacy_axes`]), so every run is
/// labelled and selected by the same keys. Sets spelled one way only are left as they are.
pub fn harmonize_spellings(configs: &mut [BTreeMap<String, toml::Value>]) {
    let legacy = configs.iter().filter(|c| c.contains_key("loss")).count();
    if legacy == 0 || legacy == configs.len() {
        return;
    }
    for c in configs.iter_mut() {
        if let Some(axes) = legacy_axes(c.get("loss"), c.get("gp_lambda")) {
            c.extend(axes);
        }
    }
}
