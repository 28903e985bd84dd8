//! The tidy CSV logs of one run (`metrics.csv`, `timing.csv`, `eval.csv`, `layers.csv`,
//! `weights_hist.csv`), kept in memory and rewritten atomically at each checkpoint, so the files
//! on disk always match the latest checkpoint and a resumed run continues them exactly.
//!
//! `metrics.csv` holds only what the seed determines, so the same config gives the same bytes on
//! CPU; the wall clock of each logged step goes to `timing.csv` (`step,wall_s`).

use crate::store::write_atomic;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::path::Path;

/// One row of `metrics.csv`. Empty cells mean "not applicable to this loss" or "not measured
/// at this step".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub step: u32,
    /// Written to `timing.csv`, not `metrics.csv`.
    #[serde(skip)]
    pub wall_s: f64,
    pub critic_loss: f64,
    pub gen_loss: Option<f64>,
    pub estimate: f64,
    pub estimate_kind: String,
    pub penalty: Option<f64>,
    pub grad_norm: Option<f64>,
    pub val_critic_loss: Option<f64>,
    pub lr_g: f64,
    pub lr_c: f64,
}

/// One row of `timing.csv`: when a logged step finished, in seconds of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TimingRow {
    step: u32,
    wall_s: f64,
}

/// One row of `eval.csv`: a sample-quality score at a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    pub step: u32,
    pub wall_s: f64,
    pub metric: String,
    pub value: f64,
}

/// One row of `layers.csv`: a per-layer critic statistic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    pub step: u32,
    pub layer: String,
    pub quantity: String,
    pub value: f64,
}

/// One row of `weights_hist.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistRow {
    pub step: u32,
    pub layer: String,
    pub bin_lo: f64,
    pub bin_hi: f64,
    pub count: u64,
}

/// All logs of a run.
#[derive(Clone, Debug, Default)]
pub struct RunLogs {
    pub metrics: Vec<MetricsRow>,
    pub eval: Vec<EvalRow>,
    pub layers: Vec<LayerRow>,
    pub hist: Vec<HistRow>,
}

fn to_csv<T: Serialize>(rows: &[T], header: &[&str]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(!rows.is_empty())
        .from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(header)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    Ok(w.into_inner()?)
}

fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    r.deserialize()
        .collect::<Result<Vec<T>, _>>()
        .with_context(|| format!("parsing {}", path.display()))
}

pub const METRICS_HEADER: &[&str] = &[
    "step",
    "critic_loss",
    "gen_loss",
    "estimate",
    "estimate_kind",
    "penalty",
    "grad_norm",
    "val_critic_loss",
    "lr_g",
    "lr_c",
];

impl RunLogs {
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(
            &dir.join("metrics.csv"),
            &to_csv(&self.metrics, METRICS_HEADER)?,
        )?;
        let timing: Vec<TimingRow> = self
            .metrics
            .iter()
            .map(|r| TimingRow {
                step: r.step,
                wall_s: r.wall_s,
            })
            .collect();
        write_atomic(
            &dir.join("timing.csv"),
            &to_csv(&timing, &["step", "wall_s"])?,
        )?;
        write_atomic(
            &dir.join("eval.csv"),
            &to_csv(&self.eval, &["step", "wall_s", "metric", "value"])?,
        )?;
        write_atomic(
            &dir.join("layers.csv"),
            &to_csv(&self.layers, &["step", "layer", "quantity", "value"])?,
        )?;
        write_atomic(
            &dir.join("weights_hist.csv"),
            &to_csv(&self.hist, &["step", "layer", "bin_lo", "bin_hi", "count"])?,
        )?;
        Ok(())
    }

    /// Read the logs back, keeping only rows up to `step` (those the checkpoint covers).
    pub fn read(dir: &Path, step: u32) -> Result<Self> {
        let mut l = RunLogs {
            metrics: read_csv(&dir.join("metrics.csv"))?,
            eval: read_csv(&dir.join("eval.csv"))?,
            layers: read_csv(&dir.join("layers.csv"))?,
            hist: read_csv(&dir.join("weights_hist.csv"))?,
        };
        l.metrics.retain(|r| r.step <= step);
        let timing: std::collections::HashMap<u32, f64> =
            read_csv::<TimingRow>(&dir.join("timing.csv"))?
                .into_iter()
                .map(|t| (t.step, t.wall_s))
                .collect();
        for r in &mut l.metrics {
            r.wall_s = timing.get(&r.step).copied().unwrap_or(0.0);
        }
        l.eval.retain(|r| r.step <= step);
        l.layers.retain(|r| r.step <= step);
        l.hist.retain(|r| r.step <= step);
        Ok(l)
    }
}
