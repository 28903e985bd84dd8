//! `harness status`: where each sweep of a results directory stands, from its run folders and,
//! for sweeps submitted to SLURM, from what `squeue`/`sacct` say about the array's tasks.

use crate::slurm;
use harness_core::results::store::{Holder, PlanStatus, RunLock, Store};
use harness_core::results::sweep_record::{SlurmJob, SweepRecord};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The states a run of a sweep is counted under, in display order.
pub const STATES: [&str; 6] = [
    "done",
    "running",
    "pending",
    "interrupted",
    "failed",
    "diverged",
];

/// One run that needs attention (anything but done).
#[derive(Clone, Debug)]
pub struct RunLine {
    pub hash: String,
    pub state: &'static str,
    /// What went wrong or how far it got.
    pub detail: String,
    /// `job_task` and SLURM's state of the latest array task that ran this configuration.
    pub slurm: Option<(String, String)>,
    /// That task's log file.
    pub log: Option<PathBuf>,
}

/// One submitted array, summarised.
#[derive(Clone, Debug)]
pub struct JobLine {
    pub job: SlurmJob,
    /// How many tasks SLURM reports in each state.
    pub states: BTreeMap<String, usize>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct SweepStatus {
    pub name: String,
    pub grid_file: String,
    pub counts: BTreeMap<&'static str, usize>,
    pub runs: Vec<RunLine>,
    pub jobs: Vec<JobLine>,
}

impl SweepStatus {
    pub fn count(&self, state: &str) -> usize {
        self.counts.get(state).copied().unwrap_or(0)
    }
}

/// The latest SLURM array task that ran a configuration: `job_task`, SLURM's state, its log.
type Task = (String, String, PathBuf);

/// Classify every run of `rec`. `ask_slurm`: query SLURM for recorded arrays (skip where the
/// SLURM tools are absent).
pub fn sweep_status(store: &Store, rec: &SweepRecord, ask_slurm: bool) -> SweepStatus {
    let (latest, jobs) = slurm_tasks(rec, ask_slurm);
    let mut counts: BTreeMap<&'static str, usize> = STATES.iter().map(|s| (*s, 0)).collect();
    let mut runs = Vec::new();
    for h in &rec.runs {
        let task = latest.get(h);
        let (state, detail) = classify(store, h, task);
        *counts.entry(state).or_insert(0) += 1;
        if state != "done" {
            runs.push(RunLine {
                hash: h.clone(),
                state,
                detail,
                slurm: task.map(|t| (t.0.clone(), t.1.clone())),
                log: task.map(|t| t.2.clone()),
            });
        }
    }
    SweepStatus {
        name: rec.name.clone(),
        grid_file: rec.grid_file.clone(),
        counts,
        runs,
        jobs,
    }
}

/// The latest array task of each configuration over the sweep's arrays (later arrays win),
/// and a summary line per array.
fn slurm_tasks(rec: &SweepRecord, ask_slurm: bool) -> (BTreeMap<String, Task>, Vec<JobLine>) {
    let mut latest: BTreeMap<String, Task> = BTreeMap::new();
    let mut jobs = Vec::new();
    for job in &rec.slurm {
        let q = if ask_slurm {
            slurm::query_job(&job.job_id)
        } else {
            slurm::JobQuery {
                notes: vec!["SLURM tools not found here; states come from the run folders".into()],
                ..Default::default()
            }
        };
        let mut states = BTreeMap::new();
        for (&i, state) in &q.states {
            *states.entry(state.clone()).or_insert(0) += 1;
            if let Some(h) = job.tasks.get(i) {
                latest.insert(
                    h.clone(),
                    (format!("{}_{i}", job.job_id), state.clone(), job.log(i)),
                );
            }
        }
        // Tasks SLURM no longer reports still have a log to point at.
        for (i, h) in job.tasks.iter().enumerate() {
            if !q.states.contains_key(&i) {
                latest.insert(
                    h.clone(),
                    (format!("{}_{i}", job.job_id), "?".into(), job.log(i)),
                );
            }
        }
        jobs.push(JobLine {
            job: job.clone(),
            states,
            notes: q.notes,
        });
    }
    (latest, jobs)
}

/// The state a run of a sweep is counted under, and what to say about it.
fn classify(store: &Store, h: &str, task: Option<&Task>) -> (&'static str, String) {
    let live = task.is_some_and(|t| slurm::is_live(&t.1));
    let slurm_failed = task.is_some_and(|t| slurm::is_failure(&t.1));
    let record = store.record(h);
    match store.plan_status(h) {
        PlanStatus::Done => (
            "done",
            damage(harness_core::results::verify::check_run(&store.run_dir(h)).problems)
                .unwrap_or_default(),
        ),
        PlanStatus::Diverged => (
            "diverged",
            record
                .and_then(|r| r.diverged_at)
                .map(|s| format!("non-finite at step {s}"))
                .unwrap_or_default(),
        ),
        PlanStatus::Running => (
            "running",
            record
                .map(|r| format!("step {}", r.step))
                .unwrap_or_default(),
        ),
        PlanStatus::Failed => ("failed", record.and_then(|r| r.error).unwrap_or_default()),
        PlanStatus::Partial if live => ("pending", "queued again in SLURM".into()),
        PlanStatus::Partial => ("interrupted", interrupted(store, h)),
        PlanStatus::New if slurm_failed => (
            "failed",
            "its SLURM task ended before the run started".into(),
        ),
        PlanStatus::New => ("pending", String::new()),
    }
}

/// What the next sweep does with the interrupted run `h`: waits for it and resumes it when
/// its worker is still saving its last checkpoint (its files are being written, so they are
/// judged once it has let go), refuses it when its files are damaged, else resumes it.
fn interrupted(store: &Store, h: &str) -> String {
    let dir = store.run_dir(h);
    if let Holder::Stopping(owner) = RunLock::holder(&dir) {
        return format!(
            "stopping: its worker ({owner}) is saving its last checkpoint; the next sweep \
             waits for it and resumes the run"
        );
    }
    damage(harness_core::results::verify::resume_problems(&dir)).unwrap_or_else(|| {
        format!(
            "stopped after step {}; resumes from its last checkpoint",
            harness_core::results::checkpoints::latest_step(&dir).unwrap_or(0)
        )
    })
}

/// What the next sweep will refuse run `h` for, given the `problems` it would refuse it for
/// ([`harness_core::results::verify::check_run`] for a finished run, [`harness_core::results::verify::resume_problems`] for an
/// interrupted one), so `status` never promises a resume the sweep then refuses.
fn damage(problems: Vec<harness_core::results::verify::Problem>) -> Option<String> {
    let first = problems.first()?;
    Some(format!(
        "the next sweep refuses it: {}: {} (`harness verify` lists every problem)",
        first.path.display(),
        first.what
    ))
}
