//! The claims of each sweep, tested on its finished runs.
//!
//! A sweep's claims come from its record (`sweeps/<name>.json`, written by `harness sweep` from
//! the grid file's `[[claim]]` tables), so the report tests them without the grid file. Each
//! claim gets its verdict and numbers ([`harness_core::claims::evaluate`]) and a link to the chart of
//! its section that shows the claim's metric; the page, `summary.md`, `claims.csv` and
//! `harness report --check` all read these [`CheckedClaim`]s.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::format::{counted, safe};
use crate::load::{Run, Status};
use crate::section::Section;
use harness_core::claims::stamp::{Seeds, Stated, claim_id};
use harness_core::claims::{self, Claim, ClaimKind, ClaimResult, ClaimRun, Verdict};

/// One claim of a sweep, tested on the sweep's finished runs.
#[derive(Debug, Clone)]
pub struct CheckedClaim {
    /// The sweep (section) the claim belongs to.
    pub sweep: String,
    pub claim: Claim,
    /// The verdict and its numbers, or why this release cannot test the stored claim (its
    /// metric was renamed or redefined since the sweep recorded it).
    pub outcome: Result<ClaimResult, String>,
    /// The section's chart of the claim's metric, relative to the report folder.
    pub figure: Option<String>,
    /// The claim's runs that are not in its statistics as finished values: failed, still
    /// running or not started, and diverged ones (tested, as a non-finite value), each named.
    /// A claim with a run that is not finished is never supported: the runs that finished
    /// are not a random sample of its seeds when the others failed for a reason.
    pub unfinished: Vec<String>,
    /// What the verdict rests on: the seeds of the claim's runs against the grid's
    /// `design_seeds` (docs/claims.md).
    pub seeds: Seeds,
    /// Whether the claim was registered before the first of its runs started.
    pub stated: Stated,
}

impl CheckedClaim {
    /// `supported`, `contradicted`, `inconclusive`, or `error` for a claim that cannot be tested.
    pub fn verdict_text(&self) -> &'static str {
        match &self.outcome {
            Ok(r) => r.verdict.as_str(),
            Err(_) => "error",
        }
    }

    pub fn verdict(&self) -> Option<Verdict> {
        self.outcome.as_ref().ok().map(|r| r.verdict)
    }

    /// Each pair's or configuration's verdict and sentence (the note when there is none), or
    /// the reason the claim cannot be tested.
    pub fn lines(&self) -> Vec<String> {
        match &self.outcome {
            Err(e) => vec![format!("cannot be tested: {e}")],
            Ok(r) if r.items.is_empty() => {
                let mut out = vec![r.note.clone().unwrap_or_default()];
                out.extend(self.unfinished_line());
                out
            }
            Ok(r) => r
                .items
                .iter()
                .map(|i| format!("{}: {}", i.verdict.as_str(), i.sentence))
                .chain(self.unfinished_line())
                .collect(),
        }
    }

    /// The runs of the claim that are not plain finished values, in one line.
    pub fn unfinished_line(&self) -> Option<String> {
        (!self.unfinished.is_empty()).then(|| {
            format!(
                "runs not finished with a value: {}",
                self.unfinished.join(", ")
            )
        })
    }
}

/// The claims of one section and the runs they were tested on.
#[derive(Debug, Clone, Default)]
pub struct SectionClaims {
    pub claims: Vec<CheckedClaim>,
    /// Finished runs (done or diverged) of the section: what the claims were tested on.
    pub tested: usize,
    /// Runs of the section still running or failed, left out.
    pub left_out: usize,
}

/// Test the claims of `sec` (from its sweep record) on its finished runs. `charts` are the
/// section's charts, relative to the report folder, for the figure links.
pub fn check_section(runs: &[Run], sec: &Section, charts: &[String]) -> SectionClaims {
    if sec.claims.is_empty() {
        return SectionClaims::default();
    }
    let (finished, left_out): (Vec<&Run>, Vec<&Run>) = sec
        .run_indices()
        .map(|i| &runs[i])
        .partition(|r| matches!(r.status, Status::Done | Status::Diverged));
    let data: Vec<ClaimRun> = finished.iter().map(|r| claim_run(r)).collect();
    let claims = sec
        .claims
        .iter()
        .map(|c| {
            let unfinished = unfinished(c, sec, runs);
            let mut outcome = claims::evaluate(c, &data, &sec.keys).map_err(|e| e.to_string());
            if let Ok(r) = &mut outcome
                && r.verdict == Verdict::Supported
                && unfinished.iter().any(|u| !u.ends_with(": diverged"))
            {
                r.verdict = Verdict::Inconclusive;
            }
            let (seeds, stated) = provenance(c, sec, runs);
            CheckedClaim {
                sweep: sec.name.clone(),
                claim: c.clone(),
                outcome,
                figure: figure(c, charts),
                unfinished,
                seeds,
                stated,
            }
        })
        .collect();
    SectionClaims {
        claims,
        tested: finished.len(),
        left_out: left_out.len(),
    }
}

/// The claim's runs' seeds against the grid's design seeds, and whether the claim's stamp
/// precedes the first of its runs (docs/claims.md).
fn provenance(claim: &Claim, sec: &Section, runs: &[Run]) -> (Seeds, Stated) {
    let mut seeds: Vec<u64> = Vec::new();
    let mut first: Option<&str> = None;
    for r in sec.run_indices().map(|i| &runs[i]) {
        let config: toml::Table = r
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !claims::selects_claim(claim, &config) {
            continue;
        }
        if let Some(s) = config.get("seed").and_then(toml::Value::as_integer) {
            seeds.extend(u64::try_from(s).ok().filter(|s| !seeds.contains(s)));
        }
        if !r.started.is_empty() && first.is_none_or(|f| r.started.as_str() < f) {
            first = Some(&r.started);
        }
    }
    let stamp = sec.claim_stamps.get(&claim_id(claim)).map(String::as_str);
    (
        Seeds::of(&seeds, sec.design_seeds.as_deref()),
        Stated::of(stamp, first),
    )
}

/// The runs of the claim's configurations that are not done: `seed N of label: status` for
/// failed, running and diverged runs it selects, and the sweep's runs that were never started
/// (by hash: the record has no folder to read their settings from).
fn unfinished(claim: &Claim, sec: &Section, runs: &[Run]) -> Vec<String> {
    let mut out: Vec<String> = sec
        .run_indices()
        .map(|i| &runs[i])
        .filter(|r| r.status != Status::Done)
        .filter_map(|r| {
            let config: toml::Table = r
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            claims::selects_claim(claim, &config).then(|| {
                let seed = config
                    .get("seed")
                    .map_or(String::from("?"), |s| s.to_string());
                let status = match r.status {
                    Status::Diverged => "diverged",
                    Status::Failed => "failed",
                    _ => "not finished (running or stopped)",
                };
                format!("seed {seed} of {}: {status}", r.hash)
            })
        })
        .collect();
    out.extend(sec.missing.iter().map(|h| format!("{h}: not started")));
    out
}

/// One run as the claims read it: its config; every `metrics.csv` column (cells without a
/// finite value are steps where the column was not logged) and `eval.csv` score as
/// `(step, value)`; and each `layers.csv` quantity at the last step it was logged, which is the
/// run's last evaluation (the engine writes `layers.csv` when it evaluates). A diverged run
/// ends every series and quantity with NaN at the step it diverged, so its final value is not
/// finite (claims leave it out of the statistics and count it, or count it as missing a bound).
pub fn claim_run(run: &Run) -> ClaimRun {
    let config: toml::Table = run
        .config
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut series = claim_series(run);
    let mut layers = claim_layers(run);
    if run.status == Status::Diverged {
        let at = u64::from(run.diverged_at.unwrap_or(run.step));
        for s in series.values_mut() {
            let step = s.iter().map(|p| p.0).max().map_or(at, |m| m.max(at));
            s.push((step, f64::NAN));
        }
        for rows in layers.values_mut() {
            let step = rows.iter().map(|r| r.0).max().map_or(at, |m| m.max(at));
            let ids: Vec<u32> = rows.iter().map(|r| r.1).collect();
            rows.extend(ids.into_iter().map(|id| (step, id, f64::NAN)));
        }
    }
    ClaimRun {
        config,
        series,
        layers,
    }
}

/// Every `metrics.csv` column (finite cells only) and every `eval.csv` score of `run` as
/// `(step, value)`.
fn claim_series(run: &Run) -> BTreeMap<String, Vec<(u64, f64)>> {
    let mut series: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    if let Some(steps) = run.metrics.get("step") {
        for (name, col) in run.metrics.names.iter().zip(&run.metrics.data) {
            if name == "step" || name == "wall_s" {
                continue;
            }
            let s: Vec<(u64, f64)> = steps
                .iter()
                .zip(col)
                .filter(|(step, v)| step.is_finite() && v.is_finite())
                .map(|(step, v)| (*step as u64, *v))
                .collect();
            if !s.is_empty() {
                series.insert(name.clone(), s);
            }
        }
    }
    for (name, e) in &run.eval {
        let s = e
            .step
            .iter()
            .zip(&e.value)
            .filter(|(step, _)| step.is_finite())
            .map(|(step, v)| (*step as u64, *v))
            .collect();
        series.insert(name.clone(), s);
    }
    series
}

/// Each `layers.csv` quantity of `run` as `(step, layer, value)` at its last evaluation.
fn claim_layers(run: &Run) -> BTreeMap<String, Vec<(u64, u32, f64)>> {
    let last_eval = run
        .eval
        .values()
        .flat_map(|e| e.step.iter().copied())
        .filter(|s| s.is_finite())
        .map(|s| s as u64)
        .max()
        .unwrap_or(u64::from(run.step));
    run.layers_last
        .iter()
        .map(|(q, rows)| {
            let ids: Option<Vec<u32>> = rows.iter().map(|(l, _)| l.parse().ok()).collect();
            let ids = ids.unwrap_or_else(|| (1..=rows.len() as u32).collect());
            let rows = ids
                .into_iter()
                .zip(rows)
                .map(|(id, (_, v))| (last_eval, id, *v))
                .collect();
            (q.clone(), rows)
        })
        .collect()
}

/// The chart of the section that shows what the claim is about: the final values per
/// configuration (comparison, threshold on a score), the curve over training (a `metrics.csv`
/// column), the quantity by layer (layer trend), the estimate against the score (correlation).
fn figure(claim: &Claim, charts: &[String]) -> Option<String> {
    let file_name = |rel: &String| rel.rsplit('/').next().unwrap_or(rel).to_string();
    let find = |want: &dyn Fn(&str) -> bool| charts.iter().find(|c| want(&file_name(c))).cloned();
    let m = safe(&claim.metric);
    let curve = |m: &str| {
        let (exact, estimate) = (format!("curve_{m}_step.svg"), format!("curve_{m}_"));
        find(&|f: &str| f == exact || (f.starts_with(&estimate) && f.ends_with("_step.svg")))
    };
    let score = |m: &str| {
        let (last, over) = (format!("final_{m}.svg"), format!("eval_{m}.svg"));
        find(&|f: &str| f == last).or_else(|| find(&|f: &str| f == over))
    };
    match &claim.kind {
        ClaimKind::LayerTrend { .. }
        | ClaimKind::Threshold {
            layers: Some(_), ..
        } => find(&|f: &str| f == format!("fig1b_{m}_by_layer.svg")),
        ClaimKind::Correlation { tracks, .. } => {
            let t = safe(tracks);
            find(&|f: &str| f == format!("fig3_{t}.svg") || f == format!("fig3_{m}.svg"))
                .or_else(|| score(&t))
                .or_else(|| score(&m))
        }
        _ => score(&m).or_else(|| curve(&m)),
    }
}

/// `claims.csv`: one row per pair or configuration of every claim (one row for a claim with
/// none), with the sweep, the claim's verdict and the item's, its numbers, the figure, and what
/// the verdict rests on (design or fresh seeds, stated before or after the runs).
pub fn claims_csv(claims: &[&CheckedClaim]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "sweep",
        "claim",
        "kind",
        "metric",
        "verdict",
        "item",
        "item_verdict",
        "numbers",
        "figure",
        "seeds",
        "stated",
    ])?;
    for c in claims {
        let figure = c.figure.clone().unwrap_or_default();
        let kind = c.claim.kind.name();
        match &c.outcome {
            Err(e) => w.write_record([
                c.sweep.as_str(),
                &c.claim.text,
                kind,
                &c.claim.metric,
                "error",
                "",
                "",
                &format!("cannot be tested: {e}"),
                &figure,
                c.seeds.label(),
                c.stated.label(),
            ])?,
            Ok(r) => {
                for row in r.rows() {
                    w.write_record([
                        c.sweep.as_str(),
                        &row.claim,
                        row.kind,
                        &row.metric,
                        row.verdict.as_str(),
                        &row.item,
                        row.item_verdict.map_or("", Verdict::as_str),
                        &row.numbers,
                        &figure,
                        c.seeds.label(),
                        c.stated.label(),
                    ])?;
                }
            }
        }
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// `2 supported, 1 contradicted`: the verdicts of `claims`, counted, in a fixed order.
pub fn counts_text<'a>(claims: impl IntoIterator<Item = &'a CheckedClaim>) -> String {
    let mut counts = [0usize; 4];
    for c in claims {
        let k = match c.verdict() {
            Some(Verdict::Supported) => 0,
            Some(Verdict::Contradicted) => 1,
            Some(Verdict::Inconclusive) => 2,
            None => 3,
        };
        counts[k] += 1;
    }
    let names = [
        "supported",
        "contradicted",
        "inconclusive",
        "cannot be tested",
    ];
    counted(counts.into_iter().zip(names), "no claims")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(toml_text: &str) -> Claim {
        #[derive(serde::Deserialize)]
        struct File {
            claim: Vec<Claim>,
        }
        toml::from_str::<File>(toml_text).unwrap().claim.remove(0)
    }

    /// Each kind links the chart that shows it, among those the section has.
    #[test]
    fn figures_follow_the_claim_kind() {
        let charts: Vec<String> = [
            "curve_critic_loss_step.svg",
            "curve_estimate_wasserstein_step.svg",
            "fig1b_grad_norm_by_layer.svg",
            "fig3_sliced_wasserstein.svg",
            "eval_sliced_wasserstein.svg",
            "final_sliced_wasserstein.svg",
            "eval_modes_covered.svg",
        ]
        .map(|f| format!("sweep_s/{f}"))
        .to_vec();
        let cases = [
            (
                "metric = \"sliced_wasserstein\"\nat_most = 1",
                Some("final_sliced_wasserstein.svg"),
            ),
            (
                "metric = \"modes_covered\"\nat_least = 1",
                Some("eval_modes_covered.svg"),
            ),
            (
                "metric = \"estimate\"\nat_least = 1",
                Some("curve_estimate_wasserstein_step.svg"),
            ),
            (
                "metric = \"grad_norm\"\ndecays_by = 1",
                Some("fig1b_grad_norm_by_layer.svg"),
            ),
            ("metric = \"act_grad_norm\"\ndecays_by = 1", None),
            (
                "metric = \"estimate\"\ntracks = \"sliced_wasserstein\"\nsign = \"positive\"",
                Some("fig3_sliced_wasserstein.svg"),
            ),
            (
                "metric = \"critic_loss\"\ntracks = \"modes_covered\"\nsign = \"positive\"",
                Some("eval_modes_covered.svg"),
            ),
            ("metric = \"fld\"\nat_most = 1", None),
        ];
        for (keys, want) in cases {
            let c = claim(&format!("[[claim]]\ntext = \"t\"\n{keys}\n"));
            let got = figure(&c, &charts);
            assert_eq!(
                got.as_deref(),
                want.map(|f| format!("sweep_s/{f}")).as_deref(),
                "{keys}"
            );
        }
    }
}
