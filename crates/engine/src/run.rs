//! The lifecycle of one configuration: lock, resume or start, train, record the outcome.
//!
//! This is the unit a scheduler launches (`harness run --config results/<hash>/config.toml`): it
//! needs nothing but the config and the results directory.

use crate::dashboard::Dashboard;
use crate::data::mnist::{self, DataError, Mnist};
use crate::measure::Scorer;
use crate::measure::evaluator::{Evaluator, TestReference};
use crate::train::{Engine, Outcome};
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use harness_core::config::{Backend, RunConfig};
use harness_core::hash::short_hash;
use harness_core::results::metrics::{self, MetricFile};
use harness_core::results::record::{self, RunRecord, Status, now_rfc3339};
use harness_core::results::runlog::EvalRow;
use harness_core::results::runlog::MetricsRow;
use harness_core::results::store::{self, RunLock, Store};
use harness_core::results::summary::{
    self, Best, EvaluatorRef, Final, StepTime, Summary, Throughput, TimeSplit,
};
use harness_core::results::{manifest, run_files};
use harness_core::stop::StopFlag;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How a run should be executed (none of this is hashed).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the config's backend.
    pub backend: Option<Backend>,
    pub data_dir: Option<PathBuf>,
    /// Name of the sweep this run belongs to (recorded in `run.json`).
    pub sweep: Option<String>,
    /// Stop after this many generator iterations (simulated interruption, for tests).
    pub stop_at: Option<u32>,
    /// Show burn-train's renderer (TUI on a terminal) and log its metric files under
    /// `<run>/dashboard/`.
    pub dashboard: bool,
    /// Stop at the end of the current step, checkpointed, when set (SIGTERM/SIGINT).
    pub stop: StopFlag,
    /// The evaluator that scores image samples, handed in by `harness run` and the sweep (see
    /// [`prepare_scorer`]) so that no run trains it inside its own training. Left `None`, a run
    /// that needs one loads it (training it on first need) and counts that time apart.
    pub scorer: Option<Scorer>,
}

/// What happened when a run was asked to execute.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum RunResult {
    Done {
        resumed_from: Option<u32>,
        steps_per_s: f64,
    },
    Diverged {
        step: u32,
    },
    Failed {
        error: String,
    },
    /// The checkpoint or logs on disk cannot be trusted to resume from (see
    /// [`harness_core::results::resume`]); nothing was trained and the run folder is as it was. The error names
    /// the file, what is wrong and the fix.
    Refused {
        error: String,
    },
    /// Already done before we got to it.
    AlreadyDone,
    /// Another live worker holds its lock.
    Busy,
    Stopped {
        step: u32,
    },
    /// Stopped by a signal after `step`, checkpointed there; the next sweep resumes it.
    Interrupted {
        step: u32,
        signal: i32,
    },
}

/// The compute device for a backend; GPU backends must have been compiled in.
pub fn device_for(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Flex => Ok(Device::flex()),
        #[allow(deprecated)]
        Backend::Ndarray => Ok(Device::ndarray()),
        #[cfg(feature = "vulkan")]
        Backend::Vulkan => Ok(Device::vulkan(Default::default())),
        #[cfg(feature = "cuda")]
        Backend::Cuda => Ok(Device::cuda(0)),
        #[allow(unreachable_patterns)]
        other => bail!(
            "backend \"{other}\" is not compiled into this binary; rebuild with `cargo build --release --features {other}` (see README: GPU backends)"
        ),
    }
}

/// Load the MNIST files for data sets built from them (`None` for toy data); the error says
/// how to get them.
pub fn load_data(
    cfg: &RunConfig,
    data_dir: Option<&Path>,
) -> Result<Option<Arc<Mnist>>, DataError> {
    if !cfg.data().needs_mnist() {
        return Ok(None);
    }
    mnist::load_cached(&mnist::resolve_dir(data_dir)).map(Some)
}

/// Execute one configuration in `store`. Errors are for problems with the store itself; a
/// training failure is a `RunResult::Failed` recorded in `run.json`.
pub fn execute(
    store: &Store,
    cfg: &RunConfig,
    opts: &RunOptions,
    mut progress: impl FnMut(u32, Option<&MetricsRow>),
) -> Result<RunResult> {
    let hash = short_hash(cfg);
    let dir = store.run_dir(&hash);
    if let Some(p) = harness_core::results::verify::lock_problem(&dir) {
        return Ok(RunResult::Refused {
            error: p.to_string(),
        });
    }
    // A holder that is stopping is waited for: its run is this attempt's to resume.
    let Some(lock) = RunLock::acquire(&dir, &opts.stop)? else {
        return Ok(match opts.stop.signal() {
            // Stopped while waiting: the run stands at the holder's last checkpoint.
            Some(signal) => RunResult::Interrupted {
                step: record::read(&dir).map_or(0, |r| r.step),
                signal,
            },
            None => RunResult::Busy,
        });
    };
    let mark = lock.mark_when_stopped(&opts.stop);
    lock.remove_stale_temporaries(&dir);
    let previous = match previous_record(&dir, &hash)? {
        Ok(previous) => previous,
        Err(result) => return Ok(result),
    };
    // Put back as it was if the resume is refused: a refusal writes nothing.
    let record_bytes = std::fs::read(dir.join(run_files::RECORD)).ok();
    if let Some(owner) = &lock.took_over_from {
        harness_core::errln!("{hash}: taking over a stale lock left by {owner}");
    }
    store::write_config(&dir, cfg)?;
    let backend = opts.backend.unwrap_or(cfg.backend);
    let mut record = attempt_record(previous.as_ref(), backend, opts);
    record::write(&dir, &record)?;

    let started = Instant::now();
    let attempt = Attempt {
        store,
        cfg,
        opts,
        dir: &dir,
        backend,
        started,
    };
    let trained = train_recording(&attempt, &mut record, &hash, &mut progress);
    if let Ok(Err(e)) = &trained
        && let Some(refusal) = harness_core::results::resume::Refusal::find(e)
    {
        return refuse(&dir, &hash, record_bytes, refusal);
    }
    let result = conclude(&mut record, trained);
    finish(&dir, &mut record, &result)?;
    drop(mark);
    drop(lock);
    Ok(result)
}

/// Train the attempt, keeping `run.json`'s step at the last checkpoint (what a resume restarts
/// from), so `status` and `ls` show progress mid-run and a failure records how far the run got.
/// The engine calls back before it checkpoints a step, so the step before is the last one saved.
fn train_recording(
    attempt: &Attempt,
    record: &mut RunRecord,
    hash: &str,
    progress: &mut impl FnMut(u32, Option<&MetricsRow>),
) -> std::thread::Result<Result<Trained>> {
    let every = attempt.cfg.checkpoint_every;
    let dir = attempt.dir;
    let mut on_step = |step: u32, row: Option<&MetricsRow>| {
        let saved = step.saturating_sub(1) / every * every;
        if saved > record.step {
            record.step = saved;
            if let Err(e) = record::write(dir, record) {
                harness_core::errln!("{hash}: cannot update run.json at step {saved}: {e:#}");
            }
        }
        progress(step, row);
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| attempt.train(&mut on_step)))
}

/// Write the record of a concluded attempt: a stopped run stays `running` with its
/// checkpoint (the next sweep resumes it), an interrupted one records its step, and a
/// finished one its end time and, last, once every file it covers is final, its manifest.
fn finish(dir: &Path, record: &mut RunRecord, result: &RunResult) -> Result<()> {
    match result {
        RunResult::Stopped { .. } => return Ok(()),
        RunResult::Interrupted { .. } => return record::write(dir, record),
        _ => {}
    }
    record.finished = Some(now_rfc3339());
    record::write(dir, record)?;
    if matches!(record.status, Status::Done | Status::Diverged) {
        manifest::write(dir, record.status.as_str(), record.step)?;
    }
    Ok(())
}

/// The run's `run.json` from an earlier attempt, if any; or, as `Err`, what to report instead
/// of training: a record that does not parse is refused (never rewritten: its status, attempts
/// and wall time would be lost), and a finished run is done only as far as its manifest
/// vouches for it ([`harness_core::results::verify::check_run`]), else refused naming the damaged file.
fn previous_record(dir: &Path, hash: &str) -> Result<Result<Option<RunRecord>, RunResult>> {
    let path = dir.join(run_files::RECORD);
    if !path.exists() {
        return Ok(Ok(None));
    }
    let previous = match record::try_read(dir) {
        Ok(r) => r,
        Err(e) => {
            let refusal = harness_core::results::resume::Refusal::new(
                &path,
                format!("does not parse: {e:#}"),
            );
            return refuse(dir, hash, std::fs::read(&path).ok(), &refusal).map(Err);
        }
    };
    if !matches!(previous.status, Status::Done | Status::Diverged) {
        return Ok(Ok(Some(previous)));
    }
    Ok(Err(
        match harness_core::results::verify::check_run(dir)
            .problems
            .first()
        {
            Some(p) => RunResult::Refused {
                error: p.to_string(),
            },
            None => RunResult::AlreadyDone,
        },
    ))
}

/// A resume refused (see [`harness_core::results::resume`]): `run.json` put back as it was (`bytes`, or none),
/// and the refusal with the fix.
fn refuse(
    dir: &Path,
    hash: &str,
    bytes: Option<Vec<u8>>,
    refusal: &harness_core::results::resume::Refusal,
) -> Result<RunResult> {
    let record_path = dir.join(run_files::RECORD);
    match bytes {
        Some(bytes) => store::write_atomic(&record_path, &bytes)?,
        None => std::fs::remove_file(&record_path)
            .with_context(|| format!("removing {}", record_path.display()))?,
    }
    Ok(RunResult::Refused {
        error: format!(
            "{refusal}\n  the run cannot be resumed from {}; fix: `harness sweep GRID --restart {hash}` \
             (or `harness run --config {} --restart`) moves its files into {}/{}/<UTC time>/ and \
             trains it from step 0; or delete {} yourself",
            dir.display(),
            dir.join(run_files::CONFIG).display(),
            dir.display(),
            run_files::DISCARDED,
            dir.display()
        ),
    })
}

/// `run.json` as a new attempt starts: `running`, carrying over what earlier attempts
/// recorded (start time, wall time, step, sweep, attempt count).
fn attempt_record(previous: Option<&RunRecord>, backend: Backend, opts: &RunOptions) -> RunRecord {
    RunRecord {
        status: Status::Running,
        started: previous.map_or_else(now_rfc3339, |r| r.started.clone()),
        finished: None,
        harness_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: store::git_commit(),
        backend: backend.to_string(),
        device: String::new(),
        host: store::host_name(),
        wall_s: previous.map_or(0.0, |r| r.wall_s),
        error: None,
        diverged_at: None,
        step: previous.map_or(0, |r| r.step),
        sweep: opts
            .sweep
            .clone()
            .or_else(|| previous.and_then(|r| r.sweep.clone())),
        attempts: previous.map_or(0, |r| r.attempts) + 1,
        cpu: harness_core::provenance::cpu_model(),
        kernels: harness_core::provenance::kernel_set().into(),
        cpus: with_this_cpu(previous.map(|r| r.cpus.clone()).unwrap_or_default()),
        integrity: record::INTEGRITY,
    }
}

/// `cpus` with this machine's label appended unless it is already the last one.
fn with_this_cpu(mut cpus: Vec<String>) -> Vec<String> {
    let me = harness_core::provenance::cpu_label();
    if cpus.last() != Some(&me) {
        cpus.push(me);
    }
    cpus
}

/// One attempt at training a configuration, with what it needs.
struct Attempt<'a> {
    store: &'a Store,
    cfg: &'a RunConfig,
    opts: &'a RunOptions,
    dir: &'a Path,
    backend: Backend,
    started: Instant,
}

/// What a finished attempt reports back.
struct Trained {
    outcome: Outcome,
    resumed: Option<u32>,
    step: u32,
    wall_s: f64,
    /// Seconds of training steps in this attempt (see [`TimeSplit`]).
    train_s: f64,
    device: String,
}

impl Attempt<'_> {
    /// Resume or start, train until done, diverged or stopped, and write the summary (and the
    /// export, when done).
    fn train(&self, progress: &mut impl FnMut(u32, Option<&MetricsRow>)) -> Result<Trained> {
        let (store, cfg, opts, dir, backend) =
            (self.store, self.cfg, self.opts, self.dir, self.backend);
        let device = device_for(backend)?;
        let data = load_data(cfg, opts.data_dir.as_deref())?;
        let mut engine = Engine::new(cfg, &device, data.clone());
        engine.stop = opts.stop.clone();
        let t = Instant::now();
        if let Some(mnist) = &data {
            engine.evaluator = Some(match &opts.scorer {
                Some(s) => s.clone(),
                None => load_evaluator(&store.root, mnist)?,
            });
        }
        let evaluator_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let resumed = engine
            .restore(dir)
            .context("resuming from the checkpoint")?;
        engine.times.checkpoint_s += t.elapsed().as_secs_f64();
        let first = engine.step;
        let mut dash = opts.dashboard.then(|| {
            Dashboard::new(
                &dir.join(run_files::DASHBOARD),
                &format!("{} {}", short_hash(cfg), cfg.label()),
                cfg.gen_iters,
                &engine.logs.metrics,
                true,
            )
        });
        let outcome = engine.train(dir, opts.stop_at, |step, row| {
            if let (Some(d), Some(r)) = (dash.as_mut(), row) {
                d.row(r);
            }
            progress(step, row);
        })?;
        if let Some(d) = dash {
            d.finish();
        }
        if outcome == Outcome::Done {
            engine.export(dir)?;
        }
        let time = time_split(&engine, evaluator_s, self.started.elapsed().as_secs_f64());
        let train_s = time.train_s;
        summary::write(dir, &summarise(&engine, &outcome, first, time))?;
        // An evaluation abandoned by a stop leaves the run at its last checkpoint, before the
        // engine's step.
        let step = match outcome {
            Outcome::Interrupted { step, .. } => step,
            _ => engine.step,
        };
        Ok(Trained {
            outcome,
            resumed,
            step,
            wall_s: engine.wall_offset + self.started.elapsed().as_secs_f64(),
            train_s,
            device: format!("{device:?}"),
        })
    }
}

/// The attempt's outcome (or error, or panic) written into `record`, as a [`RunResult`].
fn conclude(record: &mut RunRecord, trained: std::thread::Result<Result<Trained>>) -> RunResult {
    let error = match trained {
        Ok(Ok(t)) => {
            record.step = t.step;
            record.wall_s = t.wall_s;
            record.device = t.device;
            return match t.outcome {
                Outcome::Done => {
                    record.status = Status::Done;
                    let done = t.step - t.resumed.unwrap_or(0);
                    RunResult::Done {
                        resumed_from: t.resumed,
                        steps_per_s: done as f64 / t.train_s.max(1e-9),
                    }
                }
                Outcome::Diverged { step } => {
                    record.status = Status::Diverged;
                    record.diverged_at = Some(step);
                    RunResult::Diverged { step }
                }
                Outcome::Stopped { step } => RunResult::Stopped { step },
                Outcome::Interrupted { step, signal } => RunResult::Interrupted { step, signal },
            };
        }
        Ok(Err(e)) => format!("{e:#}"),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            format!("panicked: {msg}")
        }
    };
    record.status = Status::Failed;
    record.error = Some(error.clone());
    RunResult::Failed { error }
}

/// The MNIST evaluator of a results tree (trained on first need, then loaded), with its
/// test-set reference features. Cached per process: every run of a sweep shares it.
/// The evaluator a run of `cfg` in `results` scores its samples with, ready before the run
/// starts (trained into `results/evaluators/` on first need, under its lock, so concurrent
/// processes train it once): what `harness run` and the sweep hand to [`execute`] through
/// [`RunOptions::scorer`]. `None` for data sets without one (the toy mixtures).
pub fn prepare_scorer(
    results: &Path,
    cfg: &RunConfig,
    data_dir: Option<&Path>,
) -> Result<Option<Scorer>> {
    match load_data(cfg, data_dir)? {
        Some(mnist) => Ok(Some(load_evaluator(results, &mnist)?)),
        None => Ok(None),
    }
}

/// The evaluator of `results` (trained on first need) and its test-set reference, cached per
/// process.
pub fn load_evaluator(results: &Path, mnist: &Mnist) -> Result<Scorer> {
    type Cached = Option<(PathBuf, Arc<Evaluator>, Arc<TestReference>)>;
    static CACHE: std::sync::Mutex<Cached> = std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((root, ev, r)) = cache.as_ref()
        && root == results
    {
        return Ok((ev.clone(), r.clone()));
    }
    let ev = Arc::new(Evaluator::load_or_train(
        results,
        mnist,
        &Device::flex(),
        |msg| harness_core::errln!("evaluator: {msg}"),
    )?);
    let reference = ev.test_reference(mnist);
    *cache = Some((results.to_path_buf(), ev.clone(), reference.clone()));
    Ok((ev, reference))
}

/// The manifest of a run about to be rescored (`None`: it has none); an error when the run
/// is damaged, since rescoring re-seals the manifest and must not vouch for damaged files.
fn sound_manifest(dir: &Path) -> Result<Option<manifest::Manifest>> {
    if let Some(p) = harness_core::results::verify::check_run(dir)
        .problems
        .first()
    {
        bail!("{p}");
    }
    manifest::read(dir)
}

/// `harness eval`: recompute the sample-quality scores of a run at its latest checkpoint (e.g.
/// after a new evaluator), without retraining. Replaces that step's rows in `eval.csv` and the
/// scores and evaluator in `summary.json`. `data`: what [`load_data`] gives for its config.
pub fn rescore(
    store: &Store,
    dir: &Path,
    cfg: &RunConfig,
    data: Option<Arc<Mnist>>,
) -> Result<(u32, Vec<(&'static str, f64)>)> {
    let Some(_lock) = RunLock::try_acquire(dir)? else {
        bail!(
            "{} is being trained right now; rescore it when it has finished",
            dir.display()
        );
    };
    let sealed = sound_manifest(dir)?;
    let mut e = Engine::new(cfg, &Device::flex(), data.clone());
    let Some(step) = e.restore(dir)? else {
        bail!("{} has no checkpoint to score", dir.display());
    };
    if let Some(mnist) = &data {
        e.evaluator = Some(load_evaluator(&store.root, mnist)?);
    }
    let scores = e.quality_scores();
    let wall_s = e
        .logs
        .eval
        .iter()
        .rev()
        .find(|r| r.step == step)
        .map_or(e.wall_offset, |r| r.wall_s);
    e.logs.eval.retain(|r| r.step != step);
    for (metric, value) in &scores {
        e.logs.eval.push(EvalRow {
            step,
            wall_s,
            metric: (*metric).into(),
            value: *value,
        });
    }
    let digests = e.logs.write(dir)?;
    crate::checkpoint::record_log_digests(dir, &digests)?;
    write_rescored_summary(dir, cfg, &e, (step, wall_s), &scores)?;
    if let Some(m) = sealed {
        manifest::write(dir, &m.status, m.step)?;
    }
    Ok((step, scores))
}

/// `summary.json` with the scores of `step` (at `wall_s`) as the last ones, and the evaluator
/// that scored them.
fn write_rescored_summary(
    dir: &Path,
    cfg: &RunConfig,
    e: &Engine,
    (step, wall_s): (u32, f64),
    scores: &[(&'static str, f64)],
) -> Result<()> {
    let mut summary = summary::read(dir).unwrap_or_else(|| Summary {
        step,
        gen_iters: cfg.gen_iters,
        ..Default::default()
    });
    for (metric, value) in scores {
        summary.last.insert(
            (*metric).into(),
            Final {
                value: *value,
                step: Some(step),
                wall_s: Some(wall_s),
            },
        );
    }
    summary.evaluator = evaluator_ref(e);
    summary::write(dir, &summary)
}

fn evaluator_ref(e: &Engine) -> Option<EvaluatorRef> {
    e.evaluator.as_ref().map(|(ev, _)| EvaluatorRef {
        hash: ev.hash.clone(),
        test_accuracy: ev.test_accuracy,
    })
}

/// Time to reach a score: the first evaluation within 5% of the run's best value of `metric`
/// (the convergence-speed measure of Lucic et al.-style comparisons).
fn time_to_near(eval: &[EvalRow], metric: &str, best: f64) -> Option<StepTime> {
    let tol = 0.05 * best.abs().max(1e-12);
    eval.iter()
        .filter(|r| r.metric == metric)
        .find(|r| (r.value - best).abs() <= tol)
        .map(|r| StepTime {
            step: r.step,
            wall_s: r.wall_s,
        })
}

/// The final value of every score, and the best one in the direction the metric registry
/// gives (scores without a direction have no best).
fn eval_finals_and_bests(eval: &[EvalRow]) -> (BTreeMap<String, Final>, BTreeMap<String, Best>) {
    let mut finals = BTreeMap::new();
    let mut best: BTreeMap<String, Best> = BTreeMap::new();
    for r in eval {
        finals.insert(
            r.metric.clone(),
            Final {
                value: r.value,
                step: Some(r.step),
                wall_s: Some(r.wall_s),
            },
        );
        let dir = metrics::direction(MetricFile::Eval, &r.metric);
        if dir == metrics::Direction::None {
            continue;
        }
        match best.get(&r.metric) {
            Some(b) if !dir.better(r.value, b.value) => {}
            _ => {
                best.insert(
                    r.metric.clone(),
                    Best {
                        value: r.value,
                        step: r.step,
                        wall_s: r.wall_s,
                        within_5pct: None,
                    },
                );
            }
        }
    }
    for (metric, b) in best.iter_mut() {
        b.within_5pct = time_to_near(eval, metric, b.value);
    }
    (finals, best)
}

/// This attempt's wall time `wall_s`, split into the engine's loop times and the evaluator's
/// loading (or training) time; the rest is `untimed_s`.
fn time_split(e: &Engine, evaluator_s: f64, wall_s: f64) -> TimeSplit {
    let t = e.times;
    TimeSplit {
        checkpoint_s: t.checkpoint_s,
        eval_s: t.eval_s,
        evaluator_s,
        train_s: t.train_s,
        untimed_s: wall_s - (t.checkpoint_s + t.eval_s + evaluator_s + t.train_s),
        wall_s,
    }
}

/// `summary.json` of the engine's run: final and best value of each score (with step and wall
/// time), the last logged losses, divergence, this attempt's time split and its training
/// throughput (over training time alone).
fn summarise(e: &Engine, outcome: &Outcome, first_step: u32, time: TimeSplit) -> Summary {
    let (mut last, best) = eval_finals_and_bests(&e.logs.eval);
    if let Some(row) = e.logs.metrics.last() {
        for (k, v) in [
            ("critic_loss", Some(row.critic_loss)),
            ("gen_loss", row.gen_loss),
            ("estimate", Some(row.estimate)),
            ("penalty", row.penalty),
            ("grad_norm", row.grad_norm),
        ] {
            if let Some(value) = v {
                let at = Final {
                    value,
                    step: Some(row.step),
                    wall_s: Some(row.wall_s),
                };
                last.insert(k.into(), at);
            }
        }
        if let Some(value) = e.logs.metrics.iter().rev().find_map(|r| r.val_critic_loss) {
            let only_value = Final {
                value,
                ..Default::default()
            };
            last.insert("val_critic_loss".into(), only_value);
        }
    }
    let steps = e.step - first_step;
    let critic_steps = e.critic_updates() as f64 * steps as f64 / e.step.max(1) as f64;
    let diverged_at = match outcome {
        Outcome::Diverged { step } => Some(*step),
        _ => None,
    };
    Summary {
        best,
        diverged: diverged_at.is_some(),
        diverged_at,
        evaluator: evaluator_ref(e),
        last,
        gen_iters: e.cfg.gen_iters,
        step: e.step,
        throughput: Some(Throughput {
            critic_steps_per_s: critic_steps / time.train_s.max(1e-9),
            gen_iters_per_s: steps as f64 / time.train_s.max(1e-9),
            measured_over_steps: steps,
        }),
        time: Some(time),
    }
}
