//! Plan checks: a claim's selectors must name config keys and match configurations of the
//! plan, and its bound must be reachable, so a claim that cannot be tested fails at load time.

use super::*;

/// One claim's meaning against the registry and the plan.
pub(super) fn check_claim(claim: &Claim, plan: &PlanContext) -> Result<(), KeyError> {
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
pub(super) fn check_ceiling(
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

pub(super) fn check_key(k: &str, at: &str, plan: &PlanContext) -> Result<(), KeyError> {
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
pub(super) fn matching(
    sel: &Selector,
    at: &str,
    configs: &[toml::Table],
    plan: &PlanContext,
) -> Result<Vec<usize>, KeyError> {
    let all: Vec<usize> = (0..configs.len()).collect();
    matching_within(sel, at, &all, configs, plan)
}

pub(super) fn matching_within(
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

pub(super) fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn describe<'a>(config: &toml::Table, keys: impl Iterator<Item = &'a String>) -> String {
    let keys: BTreeSet<&String> = keys.collect();
    keys.iter()
        .filter_map(|k| Some(format!("{k} = {}", show(config.get(*k)?))))
        .collect::<Vec<_>>()
        .join(", ")
}
