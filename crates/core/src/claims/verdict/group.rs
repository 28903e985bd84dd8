//! Grouping: a sweep's runs by configuration (seed aside), and the labels that tell the
//! configurations of one claim apart in its sentences.

use super::*;

/// The configurations of the runs (config without `seed`), each with its runs, in first-seen
/// order.
pub(super) struct Group<'a> {
    pub(super) config: toml::Table,
    pub(super) runs: Vec<&'a ClaimRun>,
}

pub(super) fn group(runs: &[ClaimRun]) -> Vec<Group<'_>> {
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

pub(super) fn same_config(a: &toml::Table, b: &toml::Table) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| values_equal(v, w)))
}

/// Labels `key=value` over the claim's selector keys, then the keys that differ among the
/// configurations involved: of those, only the `preferred` ones (a sweep's varying keys, as its
/// legends name configurations) when they tell the configurations apart, all of them otherwise.
pub(super) struct Labeller {
    keys: Vec<String>,
}

impl Labeller {
    pub(super) fn new<'a>(
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

    pub(super) fn label(&self, config: &toml::Table) -> String {
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
