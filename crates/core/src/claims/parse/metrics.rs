//! Metric checks: a claim's metrics must be in the registry, in the file its kind reads
//! (scalar finals or per-layer values), so a typo or a renamed metric fails at load time.

use super::*;

/// Every registered metric name, for "did you mean".
pub(super) fn metric_names() -> impl Iterator<Item = &'static str> {
    let mut names: Vec<&str> = REGISTRY.iter().map(|m| m.name).collect();
    names.dedup();
    names.into_iter()
}

pub(super) fn unknown_metric(key: &str, name: &str) -> KeyError {
    key_err(
        key,
        format!("unknown metric `{name}`{}", suggest(name, metric_names())),
    )
}

/// The registry's entry for a scalar claim's metric (`metric` or `tracks`): an `eval.csv` or
/// `metrics.csv` metric, not a `layers.csv` quantity.
pub(super) fn scalar(name: &str, key: &str, kind: &str) -> Result<&'static Metric, KeyError> {
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
pub(super) fn claim_metric(claim: &Claim) -> Result<&'static Metric, KeyError> {
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
pub(super) fn threshold_metric(
    claim: &Claim,
    layers: Option<crate::claims::claim::LayerScope>,
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
pub(super) fn check_metrics(claim: &Claim) -> Result<&'static Metric, KeyError> {
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
