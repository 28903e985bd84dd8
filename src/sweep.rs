//! Running a plan: skip what is done, resume what is partial, run the rest (optionally N at a
//! time), and report failures at the end.
//!
//! Concurrency is by construction: each configuration is claimed through its folder's lock, and
//! done-ness is re-checked under the lock, so any number of workers or processes over the same
//! results directory run each configuration exactly once between them. `--jobs N` runs N worker
//! threads in this process; they share one rayon pool sized to the machine, so the CPU is
//! divided by the pool's work stealing rather than by a fixed split.

use crate::grid::{Plan, PlanEntry};
use crate::run::{RunOptions, RunResult, execute, load_data};
use crate::store::{PlanStatus, Store, now_rfc3339, write_atomic};
use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub jobs: usize,
    /// `(k, n)`: run only slice k (1-based) of n.
    pub shard: Option<(usize, usize)>,
    pub run: RunOptions,
    pub progress: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            jobs: 1,
            shard: None,
            run: RunOptions::default(),
            progress: false,
        }
    }
}

/// `results/sweeps/<name>.json`: which runs belong to a sweep, for `report` and `status`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SweepRecord {
    pub name: String,
    pub description: String,
    pub grid_file: String,
    pub runs: Vec<String>,
    pub varying: Vec<String>,
    pub updated: String,
}

/// What a sweep did, per configuration.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub total: usize,
    pub already_done: Vec<String>,
    pub trained: Vec<String>,
    pub resumed: Vec<String>,
    pub diverged: Vec<(String, u32)>,
    pub failed: Vec<(String, String)>,
    pub busy: Vec<String>,
}

impl SweepReport {
    pub fn success(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Record the sweep in the store (merging with an earlier record of the same name).
pub fn write_sweep_record(store: &Store, plan: &Plan) -> Result<()> {
    let path = store
        .root
        .join("sweeps")
        .join(format!("{}.json", plan.name));
    let mut rec: SweepRecord = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    rec.name = plan.name.clone();
    rec.description = plan.description.clone();
    rec.grid_file = plan.file.display().to_string();
    for e in &plan.entries {
        if !rec.runs.contains(&e.hash) {
            rec.runs.push(e.hash.clone());
        }
    }
    rec.varying = plan.varying.clone();
    rec.updated = now_rfc3339();
    write_atomic(&path, serde_json::to_string_pretty(&rec)?.as_bytes())
}

/// Rows of the `--dry-run` table: hash, varying settings, status.
pub fn plan_table(plan: &Plan, store: &Store) -> Vec<(String, String, PlanStatus)> {
    plan.entries
        .iter()
        .map(|e| {
            let settings = plan
                .varying_values(e)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            (e.hash.clone(), settings, store.plan_status(&e.hash))
        })
        .collect()
}

/// Run every configuration of `plan` that is not done.
pub fn run_sweep(plan: &Plan, store: &Store, opts: &SweepOptions) -> Result<SweepReport> {
    let entries: Vec<&PlanEntry> = match opts.shard {
        Some((k, n)) => plan.shard(k, n),
        None => plan.entries.iter().collect(),
    };
    // Fail before writing anything if a run's data is missing.
    if let Some(e) = entries.iter().find(|e| !e.config.is_toy()) {
        load_data(&e.config, opts.run.data_dir.as_deref())?;
    }
    std::fs::create_dir_all(&store.root)
        .with_context(|| format!("creating {}", store.root.display()))?;
    write_sweep_record(store, plan)?;

    let mut report = SweepReport {
        total: entries.len(),
        ..Default::default()
    };
    let queue: Mutex<VecDeque<&PlanEntry>> = Mutex::new(VecDeque::new());
    for e in &entries {
        match store.plan_status(&e.hash) {
            PlanStatus::Done | PlanStatus::Diverged => report.already_done.push(e.hash.clone()),
            _ => queue.lock().unwrap().push_back(e),
        }
    }
    let multi = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let sweep_bar = multi.add(ProgressBar::new(entries.len() as u64));
    sweep_bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs  {elapsed} (ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    sweep_bar.set_prefix(plan.name.clone());
    sweep_bar.set_position(report.already_done.len() as u64);
    let report = Mutex::new(report);
    let mut run_opts = opts.run.clone();
    run_opts.sweep = Some(plan.name.clone());

    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| {
                loop {
                    let Some(entry) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let bar = multi.add(ProgressBar::new(entry.config.gen_iters as u64));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "  {prefix} {bar:25} {pos}/{len} it  {per_sec}  {msg}",
                        )
                        .expect("valid template"),
                    );
                    bar.set_prefix(format!("{} {}", entry.hash, entry.config.label()));
                    let result = execute(store, &entry.config, &run_opts, |step, row| {
                        bar.set_position(step as u64);
                        if let Some(r) = row {
                            bar.set_message(format!(
                                "C {:.4} G {} est {:.4}",
                                r.critic_loss,
                                r.gen_loss.map_or("-".into(), |g| format!("{g:.4}")),
                                r.estimate
                            ));
                        }
                    });
                    bar.finish_and_clear();
                    sweep_bar.inc(1);
                    let mut rep = report.lock().unwrap();
                    let h = entry.hash.clone();
                    match result {
                        Ok(RunResult::Done { resumed_from, .. }) => {
                            if resumed_from.is_some() {
                                rep.resumed.push(h.clone());
                            }
                            rep.trained.push(h);
                        }
                        Ok(RunResult::AlreadyDone) => rep.already_done.push(h),
                        Ok(RunResult::Busy) => rep.busy.push(h),
                        Ok(RunResult::Diverged { step }) => rep.diverged.push((h, step)),
                        Ok(RunResult::Failed { error }) => rep.failed.push((h, error)),
                        Ok(RunResult::Stopped { .. }) => {}
                        Err(e) => rep.failed.push((h, format!("{e:#}"))),
                    }
                }
            });
        }
    });
    sweep_bar.finish_and_clear();
    Ok(report.into_inner().unwrap())
}
