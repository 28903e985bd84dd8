//! Running a plan: skip what is done, resume what is partial, run the rest (optionally N at a
//! time), and report failures at the end.
//!
//! Concurrency is by construction: each configuration is claimed through its folder's lock, and
//! done-ness is re-checked under the lock, so any number of workers or processes over the same
//! results directory run each configuration exactly once between them. `--jobs N` (N > 1) keeps
//! N child `harness run` processes busy, each with `cores / N` threads, so a run that crashes or
//! is killed cannot take the others down. Without the executable (`worker_exe: None`, library
//! callers) runs go one at a time in this process, each on every core.

use crate::data::mnist::DataError;
use crate::grid::{Plan, PlanEntry};
use crate::results::{run_files, sweep_record};
use crate::run::{RunOptions, RunResult, execute, load_data};
use crate::runlog::MetricsRow;
use crate::store::{PlanStatus, Store, config_text, write_atomic};
use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Configurations run at once.
    pub jobs: usize,
    /// With `jobs > 1`: run each configuration in a child process of this executable
    /// (`harness run`), so that a crashing run cannot take the others down. Each child gets
    /// `cores / jobs` threads (at least 1). `None`: one run at a time in this process.
    pub worker_exe: Option<PathBuf>,
    /// `(k, n)`: run only slice k (1-based) of n.
    pub shard: Option<(usize, usize)>,
    pub run: RunOptions,
    pub progress: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            jobs: 1,
            worker_exe: None,
            shard: None,
            run: RunOptions::default(),
            progress: false,
        }
    }
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
    /// Runs whose checkpoint or logs cannot be resumed from (bad input: exit 2).
    pub refused: Vec<(String, String)>,
    pub busy: Vec<String>,
}

impl SweepReport {
    pub fn success(&self) -> bool {
        self.failed.is_empty() && self.refused.is_empty()
    }
}

/// Record the sweep in the store (merging with an earlier record of the same name).
pub fn write_sweep_record(store: &Store, plan: &Plan) -> Result<()> {
    sweep_record::record_plan(&store.root, plan, |_| {})
}

/// Rows of the `--dry-run` table: hash, varying settings, status.
pub fn plan_table(plan: &Plan, store: &Store) -> Vec<(String, String, PlanStatus)> {
    plan.entries
        .iter()
        .map(|e| {
            (
                e.hash.clone(),
                plan.settings_text(e),
                store.plan_status(&e.hash),
            )
        })
        .collect()
}

/// Why a sweep could not start.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A configuration needs data that is missing or invalid (nothing was written).
    #[error(transparent)]
    Data(#[from] DataError),
    /// Writing the results tree failed.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl SweepReport {
    /// File what happened to configuration `hash`.
    fn record(&mut self, hash: &str, result: Result<RunResult>) {
        let h = hash.to_string();
        match result {
            Ok(RunResult::Done { resumed_from, .. }) => {
                if resumed_from.is_some() {
                    self.resumed.push(h.clone());
                }
                self.trained.push(h);
            }
            Ok(RunResult::AlreadyDone) => self.already_done.push(h),
            Ok(RunResult::Busy) => self.busy.push(h),
            Ok(RunResult::Diverged { step }) => self.diverged.push((h, step)),
            Ok(RunResult::Failed { error }) => self.failed.push((h, error)),
            Ok(RunResult::Refused { error }) => self.refused.push((h, error)),
            Ok(RunResult::Stopped { .. }) => {}
            Err(e) => self.failed.push((h, format!("{e:#}"))),
        }
    }
}

/// Run every configuration of `plan` that is not done. A configuration that fails is reported
/// in the [`SweepReport`], not as an error.
pub fn run_sweep(
    plan: &Plan,
    store: &Store,
    opts: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    let entries: Vec<&PlanEntry> = match opts.shard {
        Some((k, n)) => plan.shard(k, n),
        None => plan.entries.iter().collect(),
    };
    // Fail before writing anything if a run's data is missing.
    if let Some(e) = entries.iter().find(|e| !e.config.is_toy()) {
        load_data(&e.config, opts.run.data_dir.as_deref())?;
    }
    let (done, pending): (Vec<&PlanEntry>, Vec<&PlanEntry>) = entries.iter().partition(|e| {
        matches!(
            store.plan_status(&e.hash),
            PlanStatus::Done | PlanStatus::Diverged
        )
    });
    // With nothing to train, a sweep record that cannot be written (a read-only results
    // directory) is no reason to fail.
    let recorded = std::fs::create_dir_all(&store.root)
        .with_context(|| format!("creating {}", store.root.display()))
        .and_then(|()| write_sweep_record(store, plan));
    match recorded {
        Err(e) if pending.is_empty() => {
            eprintln!("note: the sweep record was not updated ({e:#}); nothing to train")
        }
        r => r?,
    }
    let mut report = SweepReport {
        total: entries.len(),
        already_done: done.iter().map(|e| e.hash.clone()).collect(),
        ..Default::default()
    };
    let progress = Progress::new(plan, entries.len(), done.len(), opts.progress);
    let mut run_opts = opts.run.clone();
    run_opts.sweep = Some(plan.name.clone());
    let results: Vec<Result<RunResult>> = match &opts.worker_exe {
        Some(exe) if opts.jobs > 1 => {
            let workers = Workers::new(exe, store, &run_opts, opts.jobs)?;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(opts.jobs)
                .build()
                .context("starting the worker pool")?;
            pool.install(|| {
                pending
                    .par_iter()
                    .with_max_len(1)
                    .map(|e| progress.in_worker(e, || workers.run(e)))
                    .collect()
            })
        }
        // In this process, one at a time: each run already uses every core.
        _ => pending
            .iter()
            .map(|e| {
                progress.in_process(e, |on_step| execute(store, &e.config, &run_opts, on_step))
            })
            .collect(),
    };
    for (e, result) in pending.iter().zip(results) {
        report.record(&e.hash, result);
    }
    progress.finish();
    Ok(report)
}

/// The sweep's progress bars on stderr (hidden without `progress`): one for the sweep, one per
/// run in flight.
struct Progress {
    multi: MultiProgress,
    sweep: ProgressBar,
}

impl Progress {
    fn new(plan: &Plan, total: usize, done: usize, show: bool) -> Self {
        let multi = MultiProgress::with_draw_target(if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let sweep = multi.add(ProgressBar::new(total as u64));
        sweep.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} runs  {elapsed} (ETA {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        sweep.set_prefix(plan.name.clone());
        sweep.set_position(done as u64);
        Self { multi, sweep }
    }

    fn run_bar(&self, entry: &PlanEntry, template: &str) -> ProgressBar {
        let bar = self
            .multi
            .add(ProgressBar::new(entry.config.gen_iters as u64));
        bar.set_prefix(format!("{} {}", entry.hash, entry.config.label()));
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        bar
    }

    fn done(&self, bar: ProgressBar) {
        bar.finish_and_clear();
        self.sweep.inc(1);
    }

    /// Run `entry` in a worker process (`run`), with a spinner while it lasts.
    fn in_worker(
        &self,
        entry: &PlanEntry,
        run: impl FnOnce() -> Result<RunResult>,
    ) -> Result<RunResult> {
        let bar = self.run_bar(entry, "  {prefix} {spinner} {elapsed} (worker process)");
        bar.enable_steady_tick(Duration::from_millis(500));
        let result = run();
        self.done(bar);
        result
    }

    /// Run `entry` here; `run` gets the per-step callback that moves its bar.
    fn in_process(
        &self,
        entry: &PlanEntry,
        run: impl FnOnce(&mut dyn FnMut(u32, Option<&MetricsRow>)) -> Result<RunResult>,
    ) -> Result<RunResult> {
        let bar = self.run_bar(
            entry,
            "  {prefix} {bar:25} {pos}/{len} it  {per_sec}  {msg}",
        );
        let result = run(&mut |step, row| {
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
        self.done(bar);
        result
    }

    fn finish(self) {
        self.sweep.finish_and_clear();
    }
}

/// Child processes that each run one configuration (`harness run --config ... --json`).
struct Workers<'a> {
    exe: PathBuf,
    store: &'a Store,
    run: &'a RunOptions,
    threads: usize,
    /// Where the configs handed to the children are written (removed when the sweep ends).
    configs: tempfile::TempDir,
}

impl<'a> Workers<'a> {
    fn new(exe: &Path, store: &'a Store, run: &'a RunOptions, jobs: usize) -> Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            exe: exe.to_path_buf(),
            store,
            run,
            threads: (cores / jobs).max(1),
            configs: tempfile::Builder::new()
                .prefix("harness-sweep-")
                .tempdir()
                .context("creating a folder for worker configs")?,
        })
    }

    /// Run `entry` in a child; a child that dies (signal, abort, out of memory) is a failed
    /// result for that configuration only. Its stderr is appended to `<run>/worker.log`.
    fn run(&self, entry: &PlanEntry) -> Result<RunResult> {
        let cfg_path = self.configs.path().join(format!("{}.toml", entry.hash));
        write_atomic(&cfg_path, config_text(&entry.config)?.as_bytes())?;
        let dir = self.store.run_dir(&entry.hash);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log_path = dir.join(run_files::WORKER_LOG);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run")
            .arg("--config")
            .arg(&cfg_path)
            .arg("--results")
            .arg(&self.store.root)
            .arg("--json");
        if let Some(sweep) = &self.run.sweep {
            cmd.arg("--sweep").arg(sweep);
        }
        if let Some(d) = &self.run.data_dir {
            cmd.arg("--data-dir").arg(d);
        }
        if let Some(b) = self.run.backend {
            cmd.arg("--backend").arg(b.to_string());
        }
        let out = cmd
            .env("RAYON_NUM_THREADS", self.threads.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .output()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let parsed = String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<RunOutput>(l).ok());
        Ok(match parsed {
            Some(o) => o.result,
            None => RunResult::Failed {
                error: format!(
                    "worker process {}; its output is in {}",
                    describe_exit(out.status),
                    log_path.display()
                ),
            },
        })
    }
}

/// The line `harness run --json` prints: which run, and what happened to it.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunOutput {
    pub hash: String,
    pub result: RunResult,
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(sig)) => format!("was killed by signal {sig}"),
        (Some(c), _) => format!("exited with code {c}"),
        _ => format!("ended: {status}"),
    }
}
