//! burn-train's metric, logger and renderer components, fed from the engine's own loop.
//!
//! The GAN schedule (n_critic critic steps, then one generator step, two optimisers, clamping
//! between steps) does not fit burn-train's Learner, which drives one model through one
//! optimiser per batch (docs/design.md says why in full). What a Burn user expects from
//! burn-train still applies: the metrics are burn-train `MetricDefinition`/`NumericEntry`
//! values, logged by its `FileMetricLogger` (under `<run>/dashboard/`, read back by
//! `LearnerSummary`), and shown live by its renderer: the TUI dashboard on a terminal, the plain
//! CLI renderer otherwise. `harness run --dashboard` / `harness sweep --dashboard` turn it on.
//! The run's own CSVs stay the source of truth for reports; this is a view.

use burn::train::logger::{FileMetricLogger, MetricLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, NumericMetricUpdate, Split};
use burn::train::metric::{
    MetricDefinition, MetricEntry, MetricId, NumericAttributes, NumericEntry, SerializedEntry,
};
use burn::train::renderer::{MetricState, MetricsRenderer, default_renderer};
use burn::train::{Interrupter, LearnerSummary};
use harness_core::results::metrics::{self, Direction, MetricFile};
use harness_core::results::runlog::MetricsRow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `metrics.csv` columns shown and logged (their directions come from the registry).
const METRICS: [&str; 5] = [
    "critic_loss",
    "gen_loss",
    "estimate",
    "penalty",
    "grad_norm",
];

fn values(row: &MetricsRow) -> [Option<f64>; 5] {
    [
        Some(row.critic_loss),
        row.gen_loss,
        Some(row.estimate),
        row.penalty,
        row.grad_norm,
    ]
}

/// A run's burn-train view: one "epoch" is the whole run, one item one generator iteration.
pub struct Dashboard {
    defs: Vec<MetricDefinition>,
    logger: FileMetricLogger,
    renderer: Option<Box<dyn MetricsRenderer>>,
    /// Running sum and count per metric, for burn-train's "epoch" (running mean) column.
    sums: [(f64, usize); 5],
    dir: PathBuf,
}

impl Dashboard {
    /// Log under `dir` (burn-train's layout: `train/epoch-1/<metric>.log`); with `render`,
    /// drive burn-train's renderer too. `earlier`: rows logged before a resume, replayed so the
    /// logs cover the whole run.
    pub fn new(
        dir: &Path,
        label: &str,
        total_steps: u32,
        earlier: &[MetricsRow],
        render: bool,
    ) -> Self {
        let defs: Vec<MetricDefinition> = METRICS
            .iter()
            .map(|name| {
                let higher = metrics::direction(MetricFile::Metrics, name) == Direction::Higher;
                let name = Arc::new(name.to_string());
                MetricDefinition {
                    metric_id: MetricId::new(name.clone()),
                    name,
                    description: None,
                    attributes: NumericAttributes {
                        unit: None,
                        higher_is_better: higher,
                    }
                    .into(),
                }
            })
            .collect();
        let mut logger = FileMetricLogger::new(dir);
        let mut renderer = render.then(|| default_renderer(Interrupter::new(), None));
        for d in &defs {
            logger.log_metric_definition(d.clone());
            if let Some(r) = renderer.as_mut() {
                r.register_metric(d.clone());
            }
        }
        if let Some(r) = renderer.as_mut() {
            r.start(1, 1, Some(total_steps as usize), Some(label));
            r.start_split("train", total_steps as usize);
        }
        let mut d = Self {
            defs,
            logger,
            renderer,
            sums: [(0.0, 0); 5],
            dir: dir.to_path_buf(),
        };
        for row in earlier {
            d.row(row);
        }
        d
    }

    /// Log one metrics row and show it.
    pub fn row(&mut self, row: &MetricsRow) {
        let mut updates = Vec::new();
        for (i, v) in values(row).into_iter().enumerate() {
            let Some(v) = v else { continue };
            let (sum, n) = &mut self.sums[i];
            *sum += v;
            *n += 1;
            let mean = *sum / *n as f64;
            let entry = MetricEntry::new(
                self.defs[i].metric_id.clone(),
                SerializedEntry::new(
                    format!("run mean {mean:.5} - step {v:.5}"),
                    NumericEntry::Value(v).serialize(),
                ),
            );
            updates.push(NumericMetricUpdate::new(
                entry,
                Some(NumericEntry::Value(v)),
                Some(NumericEntry::Aggregated {
                    aggregated_value: mean,
                    count: *n,
                }),
            ));
        }
        if let Some(r) = self.renderer.as_mut() {
            for u in &updates {
                r.update_train(MetricState::Numeric(
                    u.entry.clone(),
                    u.numeric_entry.clone(),
                ));
            }
            r.update_split(row.step as usize);
        }
        self.logger
            .log(MetricsUpdate::new(Vec::new(), updates), 1, &Split::Train);
    }

    /// Close the logs and the renderer (which prints burn-train's summary table); returns the
    /// summary read back from the log files.
    pub fn finish(mut self) -> Option<LearnerSummary> {
        self.logger
            .log_epoch_summary(EpochSummary::new(1, Split::Train));
        let summary = LearnerSummary::new(&self.dir, &METRICS).ok();
        if let Some(mut r) = self.renderer.take() {
            r.end_split();
            r.update_epoch(1);
            r.end();
            let _ = r.on_train_end(LearnerSummary::new(&self.dir, &METRICS).ok());
        }
        summary
    }
}
