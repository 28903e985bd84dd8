//! `<run>/summary.json`: a finished (or diverged) run at a glance: the final and the best value
//! of each score, divergence, throughput, and the evaluator that scored it.
//!
//! Fields are declared in alphabetical order, the order of the untyped JSON maps earlier
//! releases wrote, so the file's bytes did not change when it became typed. NaN and infinite
//! values are written as `null` (JSON has no NaN) and read back as NaN.

use super::{json, run_files};
use anyhow::Result;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Per eval metric: the best value over the run, in the metric's direction (see
    /// [`super::metrics`]).
    pub best: BTreeMap<String, Best>,
    pub diverged: bool,
    pub diverged_at: Option<u32>,
    /// The evaluator whose scores these are (MNIST runs), `null` otherwise.
    pub evaluator: Option<EvaluatorRef>,
    /// Per eval metric and per `metrics.csv` loss column: the last logged value.
    #[serde(rename = "final")]
    pub last: BTreeMap<String, Final>,
    /// The configured length of the run.
    pub gen_iters: u32,
    /// Generator iterations completed.
    pub step: u32,
    /// Absent in summaries that `harness eval` created for runs without one.
    pub throughput: Option<Throughput>,
    /// Where the last attempt's wall time went; absent in summaries that predate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeSplit>,
}

/// The last value of a metric. `val_critic_loss` carries only the value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Final {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    #[serde(deserialize_with = "nan_if_null")]
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
}

/// The best value of a metric, where it was reached, and when the run first came within 5% of
/// it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Best {
    pub step: u32,
    #[serde(deserialize_with = "nan_if_null")]
    pub value: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub wall_s: f64,
    /// The first evaluation within 5% of `value` (`null` in summaries that predate it).
    #[serde(default)]
    pub within_5pct: Option<StepTime>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepTime {
    pub step: u32,
    pub wall_s: f64,
}

/// Training throughput of the last attempt (resumed runs: since the resume), over its training
/// time alone ([`TimeSplit::train_s`]): the evaluator's training, the evaluations and the
/// checkpoints are not in it, so it is the rate `timing.csv` shows between evaluations.
/// (Summaries that predate [`TimeSplit`] divided by the attempt's whole wall time.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    pub critic_steps_per_s: f64,
    pub gen_iters_per_s: f64,
    pub measured_over_steps: u32,
}

/// The last attempt's wall time, split by what it was spent on. The parts add up to `wall_s`
/// but for `untimed_s`: loading the data, building the networks, exporting and writing the
/// summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSplit {
    /// Reading the checkpoint resumed from and writing checkpoints (with the logs they carry).
    pub checkpoint_s: f64,
    /// Evaluations: scores, samples, layer statistics and histograms.
    pub eval_s: f64,
    /// Loading the MNIST evaluator, or training it on first need in a fresh results tree.
    pub evaluator_s: f64,
    /// Training steps (and reading back the logged losses): what the throughput is over.
    pub train_s: f64,
    /// `wall_s` minus the four parts above.
    pub untimed_s: f64,
    /// The attempt's wall time, from its start to its summary.
    pub wall_s: f64,
}

/// Which evaluator scored the run: its hash (folder under `evaluators/`) and test accuracy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorRef {
    pub hash: String,
    pub test_accuracy: f64,
}

fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The summary of the run folder `dir`; `None` when absent or unreadable.
pub fn read(dir: &Path) -> Option<Summary> {
    json::read(&dir.join(run_files::SUMMARY)).ok()
}

pub fn write(dir: &Path, summary: &Summary) -> Result<()> {
    json::write(&dir.join(run_files::SUMMARY), summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary as the untyped writer of earlier releases produced it: the same bytes come
    /// back out, and a diverged loss (`null`) reads as NaN.
    #[test]
    fn earlier_summaries_read_and_write_back_unchanged() {
        let text = r#"{
  "best": {
    "modes_covered": {
      "step": 20,
      "value": 8.0,
      "wall_s": 1.5,
      "within_5pct": {
        "step": 10,
        "wall_s": 0.75
      }
    }
  },
  "diverged": false,
  "diverged_at": null,
  "evaluator": null,
  "final": {
    "critic_loss": {
      "step": 20,
      "value": -0.25,
      "wall_s": 1.5
    },
    "val_critic_loss": {
      "value": -0.5
    }
  },
  "gen_iters": 20,
  "step": 20,
  "throughput": {
    "critic_steps_per_s": 50.0,
    "gen_iters_per_s": 10.0,
    "measured_over_steps": 20
  }
}"#;
        let s: Summary = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string_pretty(&s).unwrap(), text);
        let old = r#"{"best": {"fld": {"value": 3.0, "step": 1, "wall_s": 2.0}},
            "final": {"gen_loss": {"value": null, "step": 1, "wall_s": 2.0}}, "step": 1}"#;
        let s: Summary = serde_json::from_str(old).unwrap();
        assert!(s.last["gen_loss"].value.is_nan());
        assert_eq!(s.best["fld"].within_5pct, None);
        assert_eq!(s.time, None);
    }

    /// A summary with the time split writes it after `throughput`, in the alphabetical order
    /// of the rest, and reads it back.
    #[test]
    fn time_split_round_trips_after_throughput() {
        let s = Summary {
            throughput: Some(Throughput::default()),
            time: Some(TimeSplit {
                checkpoint_s: 0.5,
                eval_s: 2.0,
                evaluator_s: 60.0,
                train_s: 31.0,
                untimed_s: 0.25,
                wall_s: 93.75,
            }),
            ..Default::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.ends_with(
            r#""throughput":{"critic_steps_per_s":0.0,"gen_iters_per_s":0.0,"measured_over_steps":0},"time":{"checkpoint_s":0.5,"eval_s":2.0,"evaluator_s":60.0,"train_s":31.0,"untimed_s":0.25,"wall_s":93.75}}"#
        ), "{text}");
        assert_eq!(serde_json::from_str::<Summary>(&text).unwrap(), s);
    }
}
