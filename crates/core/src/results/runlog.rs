//! The tidy CSV logs of one run (`metrics.csv`, `timing.csv`, `eval.csv`, `layers.csv`,
//! `weights_hist.csv`), kept in memory and rewritten atomically at each checkpoint, so the files
//! on disk always match the latest checkpoint and a resumed run continues them exactly.
//!
//! `metrics.csv` holds only what the seed determines, so the same config gives the same bytes on
//! CPU; the wall clock of each logged step goes to `timing.csv` (`step,wall_s`).

use crate::results::manifest::sha256_hex;
use crate::results::resume::Refusal;
use crate::results::run_files;
use crate::results::store::write_atomic;
use anyhow::Result;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// SHA-256 (hex) of each log file's bytes as a checkpoint wrote them, by file name: what a
/// resume re-derives from the rows it keeps and compares.
pub type LogDigests = BTreeMap<String, String>;

/// The steps at which a run logs and evaluates, which a resume checks the logs against.
#[derive(Clone, Copy, Debug)]
pub struct Cadence {
    pub log_every: u32,
    pub eval_every: u32,
    /// The run's last step (always logged and evaluated).
    pub end: u32,
}

impl Cadence {
    /// Steps 1..=`upto` at which a row every `every` (or `also`) steps, and at the end, is due.
    fn due(&self, every: u32, also: u32, upto: u32) -> BTreeSet<u32> {
        (1..=upto)
            .filter(|s| {
                s.is_multiple_of(every.max(1)) || s.is_multiple_of(also.max(1)) || *s == self.end
            })
            .collect()
    }
}

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

/// The rows of the CSV file `path`; an absent, unreadable or unparsable file is a [`Refusal`]
/// naming it (and the line).
fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, Refusal> {
    let bytes = std::fs::read(path).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            "is missing (every checkpoint writes it)".to_string()
        } else {
            format!("cannot be read: {e}")
        };
        Refusal::new(path, what)
    })?;
    csv::Reader::from_reader(bytes.as_slice())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| {
            let line = e
                .position()
                .map_or(String::new(), |p| format!("line {}: ", p.line()));
            Refusal::new(path, format!("{line}not a valid log: {e}"))
        })
}

/// `first..last` of a sorted step list, with the count, for messages.
fn describe_steps(steps: &BTreeSet<u32>) -> String {
    match (steps.first(), steps.last()) {
        (Some(a), Some(b)) => format!("steps {a}..{b} ({} logged steps)", steps.len()),
        _ => "no rows".into(),
    }
}

/// Check the rows of one log (their steps and keys, in file order) against the steps due up to
/// the checkpoint's `step`. `required`: the log must have rows (per-step logs that every
/// logging step writes); otherwise an empty log is accepted (a configuration may measure
/// nothing there). Rows beyond `step` are what a kill after the logs' write leaves: fine.
fn check_rows<K: Ord + std::fmt::Debug>(
    path: &Path,
    rows: &[(u32, K)],
    due: &BTreeSet<u32>,
    step: u32,
    required: bool,
) -> Result<(), Refusal> {
    let refuse = |problem: String| Err(Refusal::new(path, problem));
    let mut seen = BTreeSet::new();
    let mut last = 0;
    for (i, (s, key)) in rows.iter().enumerate() {
        if *s < last {
            return refuse(format!(
                "line {}: step {s} after step {last} (rows out of order)",
                i + 2
            ));
        }
        last = *s;
        if *s <= step && !seen.insert((*s, key)) {
            return refuse(format!("line {}: step {s} {key:?} appears twice", i + 2));
        }
    }
    let have: BTreeSet<u32> = rows.iter().map(|r| r.0).filter(|s| *s <= step).collect();
    if have.is_empty() && !required {
        return Ok(());
    }
    if &have != due {
        let what = match (due.difference(&have).next(), have.difference(due).next()) {
            (Some(m), _) => format!("step {m} is missing"),
            (None, Some(x)) => format!("step {x} is not a logging step"),
            (None, None) => unreachable!("the sets differ"),
        };
        return refuse(format!(
            "has {} up to the checkpoint, which is at step {step} and needs {}: {what}",
            describe_steps(&have),
            describe_steps(due)
        ));
    }
    Ok(())
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
    /// Each log file's name and bytes.
    fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let timing: Vec<TimingRow> = self
            .metrics
            .iter()
            .map(|r| TimingRow {
                step: r.step,
                wall_s: r.wall_s,
            })
            .collect();
        Ok(vec![
            (run_files::METRICS, to_csv(&self.metrics, METRICS_HEADER)?),
            (run_files::TIMING, to_csv(&timing, &["step", "wall_s"])?),
            (
                run_files::EVAL,
                to_csv(&self.eval, &["step", "wall_s", "metric", "value"])?,
            ),
            (
                run_files::LAYERS,
                to_csv(&self.layers, &["step", "layer", "quantity", "value"])?,
            ),
            (
                run_files::WEIGHTS_HIST,
                to_csv(&self.hist, &["step", "layer", "bin_lo", "bin_hi", "count"])?,
            ),
        ])
    }

    /// Write every log into `dir`; returns their digests (which a checkpoint records).
    pub fn write(&self, dir: &Path) -> Result<LogDigests> {
        let mut digests = LogDigests::new();
        for (name, bytes) in self.files()? {
            write_atomic(&dir.join(name), &bytes)?;
            digests.insert(name.to_string(), sha256_hex(&bytes));
        }
        Ok(digests)
    }

    /// Read the logs back for a resume from a checkpoint at `step`, keeping the rows up to
    /// `step` (later rows are what a kill after the logs' write leaves, and are dropped).
    ///
    /// Every log must be there, parse, be in step order without duplicates, and hold exactly
    /// the steps `cadence` makes due up to `step`; where the checkpoint recorded `digests` of
    /// the logs it was written with, the kept rows must reproduce those bytes. Anything else is
    /// a [`Refusal`] naming the file: resuming would finish with logs that differ from an
    /// uninterrupted run's.
    pub fn read_checked(
        dir: &Path,
        step: u32,
        cadence: &Cadence,
        digests: Option<&LogDigests>,
    ) -> Result<Self, Refusal> {
        let path = |name: &str| dir.join(name);
        let mut l = RunLogs {
            metrics: read_csv(&path(run_files::METRICS))?,
            eval: read_csv(&path(run_files::EVAL))?,
            layers: read_csv(&path(run_files::LAYERS))?,
            hist: read_csv(&path(run_files::WEIGHTS_HIST))?,
        };
        let timing: Vec<TimingRow> = read_csv(&path(run_files::TIMING))?;
        l.check_steps(dir, &timing, cadence, step)?;
        l.truncate(step, timing);
        if let Some(want) = digests {
            l.check_digests(dir, step, want)?;
        }
        Ok(l)
    }

    /// Each log holds exactly the steps `cadence` makes due up to `step`, in order and without
    /// duplicates (rows past `step` are allowed: they are cut).
    fn check_steps(
        &self,
        dir: &Path,
        timing: &[TimingRow],
        cadence: &Cadence,
        step: u32,
    ) -> Result<(), Refusal> {
        let path = |name: &str| dir.join(name);
        // Evaluation steps log a metrics row too (with the validation loss).
        let logged = cadence.due(cadence.log_every, cadence.eval_every, step);
        let evaluated = cadence.due(cadence.eval_every, cadence.eval_every, step);
        let keyed = |rows: Vec<(u32, ())>| rows;
        check_rows(
            &path(run_files::METRICS),
            &keyed(self.metrics.iter().map(|r| (r.step, ())).collect()),
            &logged,
            step,
            true,
        )?;
        check_rows(
            &path(run_files::TIMING),
            &keyed(timing.iter().map(|r| (r.step, ())).collect()),
            &logged,
            step,
            true,
        )?;
        let eval: Vec<(u32, &str)> = self
            .eval
            .iter()
            .map(|r| (r.step, r.metric.as_str()))
            .collect();
        check_rows(&path(run_files::EVAL), &eval, &evaluated, step, false)?;
        let layers: Vec<(u32, (&str, &str))> = self
            .layers
            .iter()
            .map(|r| (r.step, (r.layer.as_str(), r.quantity.as_str())))
            .collect();
        check_rows(&path(run_files::LAYERS), &layers, &evaluated, step, false)?;
        // Histogram rows have no key of their own (bins of a constant layer coincide).
        let hist: Vec<(u32, usize)> = self
            .hist
            .iter()
            .enumerate()
            .map(|(i, r)| (r.step, i))
            .collect();
        check_rows(
            &path(run_files::WEIGHTS_HIST),
            &hist,
            &evaluated,
            step,
            false,
        )
    }

    /// Keep the rows up to `step`, each metrics row with its wall time from `timing`.
    fn truncate(&mut self, step: u32, timing: Vec<TimingRow>) {
        self.metrics.retain(|r| r.step <= step);
        let timing: std::collections::HashMap<u32, f64> =
            timing.into_iter().map(|t| (t.step, t.wall_s)).collect();
        for r in &mut self.metrics {
            r.wall_s = timing.get(&r.step).copied().unwrap_or(0.0);
        }
        self.eval.retain(|r| r.step <= step);
        self.layers.retain(|r| r.step <= step);
        self.hist.retain(|r| r.step <= step);
    }

    /// The kept rows re-encode to the bytes the checkpoint recorded (`want`), file by file.
    fn check_digests(&self, dir: &Path, step: u32, want: &LogDigests) -> Result<(), Refusal> {
        let files = self
            .files()
            .map_err(|e| Refusal::new(dir, format!("cannot re-encode the logs: {e:#}")))?;
        for (name, bytes) in files {
            if want.get(name).is_some_and(|d| *d != sha256_hex(&bytes)) {
                return Err(Refusal::new(
                    dir.join(name),
                    format!(
                        "its rows up to step {step} differ from those the checkpoint was \
                         written with (a row was edited, removed or added)"
                    ),
                ));
            }
        }
        Ok(())
    }
}
