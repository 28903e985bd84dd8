//! Handing a sweep to SLURM: one job array over the configurations that still need running.
//!
//! Every configuration already has its own content-addressed folder, so a sweep maps onto a job
//! array over a shared results directory: array task `i` runs `harness run --config
//! <submission>/configs/<i>.toml`, which takes the run folder's lock and resumes from its last
//! checkpoint exactly as a local sweep does. Re-submitting is therefore always safe; we still
//! leave out what is done, running, or queued in an earlier array of the same sweep.
//!
//! A submission folder `RESULTS/slurm/<sweep>/<timestamp>/` keeps what was submitted:
//! `plan.tsv` (task index, hash, settings), `configs/<i>.toml`, `job.sbatch`, and `logs/` (one
//! `<job>_<task>.out` per array task).

use anyhow::{Context, Result};
use harness_core::data::mnist::DataError;
use harness_core::grid::{Plan, PlanEntry};
use harness_core::results::record::now_rfc3339;
use harness_core::results::store::{PlanStatus, Store, config_text, write_atomic};
use harness_core::results::sweep_record::{self, SlurmJob};
use harness_engine::run::{RunOptions, load_data};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to submit a sweep to SLURM (none of this is hashed).
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// Wall-time limit per task, in any format sbatch accepts (e.g. `2:00:00`).
    pub time: Option<String>,
    /// CPUs per array task; training uses exactly these (RAYON_NUM_THREADS).
    pub cpus_per_task: u32,
    pub gpus: Option<u32>,
    /// At most this many tasks of the array at once (`--array=...%K`).
    pub max_parallel: Option<u32>,
    /// Extra sbatch options, each written as its own `#SBATCH` line.
    pub sbatch_args: Vec<String>,
    /// Submit only configurations that failed or were interrupted.
    pub retry_failed: bool,
    /// The harness executable the tasks run; it must be reachable from the compute nodes.
    pub harness_exe: PathBuf,
    pub run: RunOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error(
        "--launcher slurm: `sbatch` is not on PATH. Run this on a machine that can submit SLURM jobs \
         (a cluster's login node), or leave out --launcher to run locally. Nothing was written."
    )]
    NoSbatch,
    #[error(
        "sbatch rejected {script}:\n{message}\nThe plan and the script are kept in {dir}; fix the \
         options and run the same command again (or edit the script and `sbatch` it yourself)."
    )]
    Rejected {
        script: PathBuf,
        dir: PathBuf,
        message: String,
    },
    /// A configuration needs data that is missing or invalid (nothing was written).
    #[error(transparent)]
    Data(#[from] DataError),
    /// Writing the submission or running sbatch failed.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

/// What a submission chose to run and what it left out, and why.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    pub submit: Vec<&'a PlanEntry>,
    /// Done or diverged: nothing to do.
    pub finished: usize,
    /// Held by a live worker right now.
    pub running: Vec<String>,
    /// Pending or running in an earlier array of this sweep.
    pub queued: Vec<String>,
    /// Never tried, left out because of `--retry-failed`.
    pub untried: Vec<String>,
}

/// The result of [`submit`]: the job (None on a dry run or when there is nothing to submit).
#[derive(Debug)]
pub struct Submission<'a> {
    pub selection: Selection<'a>,
    pub script: String,
    pub job: Option<SlurmJob>,
}

/// SLURM states in which a task still has (or will have) a process.
pub fn is_live(state: &str) -> bool {
    matches!(
        state,
        "PENDING"
            | "RUNNING"
            | "CONFIGURING"
            | "COMPLETING"
            | "SUSPENDED"
            | "REQUEUED"
            | "REQUEUE_HOLD"
            | "REQUEUE_FED"
            | "RESIZING"
            | "SIGNALING"
            | "STAGE_OUT"
    )
}

/// SLURM end states that mean the task did not finish its work.
pub fn is_failure(state: &str) -> bool {
    matches!(
        state,
        "FAILED"
            | "CANCELLED"
            | "TIMEOUT"
            | "OUT_OF_MEMORY"
            | "NODE_FAIL"
            | "PREEMPTED"
            | "BOOT_FAIL"
            | "DEADLINE"
    )
}

/// What SLURM says about the tasks of one job array.
#[derive(Clone, Debug, Default)]
pub struct JobQuery {
    /// State per array task index (`CANCELLED by 0` is reduced to `CANCELLED`).
    pub states: BTreeMap<usize, String>,
    /// Why some information is missing (e.g. accounting disabled, job aged out of squeue).
    pub notes: Vec<String>,
}

/// Ask `squeue` (live and recently finished tasks) and `sacct` (history, where accounting is
/// enabled) for the state of each task of `job_id`. Never fails: what cannot be known is noted.
pub fn query_job(job_id: &str) -> JobQuery {
    let mut q = JobQuery::default();
    let parse = |text: &str, q: &mut JobQuery, overwrite: bool| {
        for line in text.lines() {
            let mut parts = line.split('|');
            let (Some(id), Some(state)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some(index) = id
                .trim()
                .strip_prefix(job_id)
                .and_then(|r| r.strip_prefix('_'))
                .and_then(|r| r.parse::<usize>().ok())
            else {
                continue;
            };
            let state = state.split_whitespace().next().unwrap_or("").to_string();
            if overwrite || !q.states.contains_key(&index) {
                q.states.insert(index, state);
            }
        }
    };
    match Command::new("sacct")
        .args(["-n", "-P", "-X", "-j", job_id, "--format=JobID,State"])
        .output()
    {
        Ok(out) if out.status.success() => {
            parse(&String::from_utf8_lossy(&out.stdout), &mut q, true)
        }
        Ok(out) => q.notes.push(format!(
            "sacct: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => q.notes.push(format!("sacct: {e}")),
    }
    // squeue is authoritative for live tasks; with `-t all` it also keeps finished ones for a
    // few minutes (MinJobAge), which covers clusters without accounting.
    match Command::new("squeue")
        .args(["-h", "-r", "-t", "all", "-j", job_id, "-o", "%i|%T"])
        .output()
    {
        Ok(out) if out.status.success() => {
            parse(&String::from_utf8_lossy(&out.stdout), &mut q, true)
        }
        Ok(_) => q.notes.push(format!(
            "squeue no longer knows job {job_id}; states come from the run folders"
        )),
        Err(e) => q.notes.push(format!("squeue: {e}")),
    }
    q
}

/// Choose what to submit. `queued`: hashes live in an earlier array; `slurm_failed`: hashes
/// whose latest task ended in a SLURM failure state.
pub fn select<'a>(
    plan: &'a Plan,
    store: &Store,
    retry_failed: bool,
    queued: &HashSet<String>,
    slurm_failed: &HashSet<String>,
) -> Selection<'a> {
    let mut s = Selection::default();
    for e in &plan.entries {
        match store.plan_status(&e.hash) {
            PlanStatus::Done | PlanStatus::Diverged => s.finished += 1,
            PlanStatus::Running => s.running.push(e.hash.clone()),
            _ if queued.contains(&e.hash) => s.queued.push(e.hash.clone()),
            PlanStatus::New if retry_failed && !slurm_failed.contains(&e.hash) => {
                s.untried.push(e.hash.clone())
            }
            PlanStatus::New | PlanStatus::Partial | PlanStatus::Failed => s.submit.push(e),
        }
    }
    s
}

/// Live and failed hashes across the arrays recorded for this sweep (later arrays win).
pub fn recorded_task_states(jobs: &[SlurmJob]) -> (HashSet<String>, HashSet<String>) {
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    for job in jobs {
        let q = query_job(&job.job_id);
        for (i, state) in q.states {
            if let Some(h) = job.tasks.get(i) {
                latest.insert(h.clone(), state);
            }
        }
    }
    let live = latest
        .iter()
        .filter(|(_, s)| is_live(s))
        .map(|(h, _)| h.clone())
        .collect();
    let failed = latest
        .iter()
        .filter(|(_, s)| is_failure(s))
        .map(|(h, _)| h.clone())
        .collect();
    (live, failed)
}

fn quote(s: &str) -> String {
    shlex::try_quote(s)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| s.to_string())
}

/// The sbatch script of a job array of `n` tasks whose files live in `dir`.
pub fn render_script(
    plan: &Plan,
    results: &Path,
    dir: &Path,
    n: usize,
    opts: &SlurmOptions,
) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# gan-harness: job array for sweep `{}` ({}), {n} configuration(s).",
        plan.name,
        plan.file.display()
    );
    s.push_str(
        "# Task i runs configs/i.toml (see plan.tsv). Each run takes its folder's lock and resumes\n\
         # from its last checkpoint, so submitting this again only redoes what is not done.\n",
    );
    let _ = writeln!(s, "#SBATCH --job-name=harness-{}", plan.name);
    let throttle = opts
        .max_parallel
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    let _ = writeln!(s, "#SBATCH --array=0-{}{throttle}", n.saturating_sub(1));
    let _ = writeln!(
        s,
        "#SBATCH --output={}",
        dir.join("logs").join("%A_%a.out").display()
    );
    sbatch_options(&mut s, opts);
    s.push_str("set -euo pipefail\n");
    s.push_str("# Training uses exactly the CPUs SLURM allotted to the task (rayon reads this).\n");
    s.push_str("export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n");
    s.push_str(&task_command(plan, results, dir, opts));
    s.push('\n');
    s
}

/// The `#SBATCH` lines of `opts` beyond the job's name, array and output.
fn sbatch_options(s: &mut String, opts: &SlurmOptions) {
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", opts.cpus_per_task.max(1));
    if let Some(p) = &opts.partition {
        let _ = writeln!(s, "#SBATCH --partition={p}");
    }
    if let Some(t) = &opts.time {
        let _ = writeln!(s, "#SBATCH --time={t}");
    }
    if let Some(g) = opts.gpus {
        let _ = writeln!(s, "#SBATCH --gpus={g}");
    }
    for a in &opts.sbatch_args {
        let _ = writeln!(s, "#SBATCH {a}");
    }
}

/// The command each task runs: `harness run` on its config, into `results`.
fn task_command(plan: &Plan, results: &Path, dir: &Path, opts: &SlurmOptions) -> String {
    let mut cmd = format!(
        "exec {} run --config {}/\"${{SLURM_ARRAY_TASK_ID}}.toml\" --results {} --sweep {}",
        quote(&opts.harness_exe.display().to_string()),
        quote(&dir.join("configs").display().to_string()),
        quote(&results.display().to_string()),
        quote(&plan.name)
    );
    if let Some(d) = &opts.run.data_dir {
        let _ = write!(cmd, " --data-dir {}", quote(&d.display().to_string()));
    }
    if let Some(b) = opts.run.backend {
        let _ = write!(cmd, " --backend {b}");
    }
    cmd
}

/// A fresh submission folder under `RESULTS/slurm/<sweep>/`.
fn submission_dir(results: &Path, sweep: &str) -> PathBuf {
    let base = results.join("slurm").join(sweep);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
    let mut dir = base.join(&stamp);
    let mut k = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{k}"));
        k += 1;
    }
    dir
}

/// Submit the configurations of `plan` that need running as one job array. On a dry run,
/// return the script without writing or submitting anything.
pub fn submit<'a>(
    plan: &'a Plan,
    store: &Store,
    opts: &SlurmOptions,
    dry_run: bool,
) -> Result<Submission<'a>, SlurmError> {
    let have_sbatch = which::which("sbatch").is_ok();
    if !dry_run && !have_sbatch {
        return Err(SlurmError::NoSbatch);
    }
    let jobs = sweep_record::read(&store.root, &plan.name)
        .map(|r| r.slurm)
        .unwrap_or_default();
    let (queued, slurm_failed) = if have_sbatch {
        recorded_task_states(&jobs)
    } else {
        Default::default()
    };
    let selection = select(plan, store, opts.retry_failed, &queued, &slurm_failed);
    if selection.submit.is_empty() {
        // Nothing to run, but the grid file's claims or description may have changed.
        if !dry_run {
            sweep_record::record_plan(&store.root, plan, |_| {})?;
        }
        return Ok(Submission {
            selection,
            script: String::new(),
            job: None,
        });
    }
    // Absolute paths: the tasks run elsewhere, from another working directory.
    let results = std::path::absolute(&store.root)
        .with_context(|| format!("resolving {}", store.root.display()))?;
    let opts = with_absolute_data_dir(opts, &selection)?;
    let dir = submission_dir(&results, &plan.name);
    let script = render_script(plan, &results, &dir, selection.submit.len(), &opts);
    if dry_run {
        return Ok(Submission {
            selection,
            script,
            job: None,
        });
    }
    // Fail before writing anything if a run's data is missing.
    if let Some(e) = selection
        .submit
        .iter()
        .find(|e| e.config.data().needs_mnist())
    {
        load_data(&e.config, opts.run.data_dir.as_deref())?;
    }
    let job = write_and_submit(plan, store, &opts, &selection.submit, &dir, &script)?;
    Ok(Submission {
        selection,
        script,
        job: Some(job),
    })
}

/// `opts` with the data folder the tasks read made absolute (MNIST configs only).
fn with_absolute_data_dir(opts: &SlurmOptions, selection: &Selection) -> Result<SlurmOptions> {
    let mut run = opts.run.clone();
    if let Some(d) = &run.data_dir {
        run.data_dir = Some(std::path::absolute(d)?);
    } else if selection
        .submit
        .iter()
        .any(|e| e.config.data().needs_mnist())
    {
        run.data_dir = Some(std::path::absolute(
            harness_core::data::mnist::resolve_dir(None),
        )?);
    }
    Ok(SlurmOptions {
        run,
        ..opts.clone()
    })
}

/// The submission folder's `plan.tsv`: task index, hash and settings of each array task.
fn plan_tsv(plan: &Plan, entries: &[&PlanEntry]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_writer(Vec::new());
    w.write_record(["task", "hash", "settings"])?;
    for (i, e) in entries.iter().enumerate() {
        w.write_record([i.to_string(), e.hash.clone(), plan.settings_text(e)])?;
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

/// Write the submission folder (configs, plan, script), submit the script, and record the
/// job in the sweep record.
fn write_and_submit(
    plan: &Plan,
    store: &Store,
    opts: &SlurmOptions,
    entries: &[&PlanEntry],
    dir: &Path,
    script: &str,
) -> Result<SlurmJob, SlurmError> {
    for (i, e) in entries.iter().enumerate() {
        write_atomic(
            &dir.join("configs").join(format!("{i}.toml")),
            config_text(&e.config)?.as_bytes(),
        )?;
    }
    write_atomic(&dir.join("plan.tsv"), &plan_tsv(plan, entries)?)?;
    let script_path = dir.join("job.sbatch");
    write_atomic(&script_path, script.as_bytes())?;
    std::fs::create_dir_all(dir.join("logs")).context("creating the logs folder")?;
    sweep_record::record_plan(&store.root, plan, |_| {})?;

    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script_path)
        .output()
        .context("running sbatch")?;
    if !out.status.success() {
        let mut message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if message.is_empty() {
            message = format!("sbatch exited with {}", out.status);
        }
        return Err(SlurmError::Rejected {
            script: script_path,
            dir: dir.to_path_buf(),
            message,
        });
    }
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let job_id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let job = SlurmJob {
        job_id,
        submitted: now_rfc3339(),
        dir: dir.to_path_buf(),
        tasks: entries.iter().map(|e| e.hash.clone()).collect(),
        retry_failed: opts.retry_failed,
    };
    write_atomic(&dir.join("job_id"), format!("{}\n", job.job_id).as_bytes())?;
    sweep_record::record_plan(&store.root, plan, |rec| rec.slurm.push(job.clone()))?;
    Ok(job)
}
