//! Running a plan: skip what is done, resume what is partial, run the rest (optionally N at a
//! time), and report failures at the end.
//!
//! Concurrency is by construction: each configuration is claimed through its folder's lock, and
//! done-ness is re-checked under the lock, so any number of workers or processes over the same
//! results directory run each configuration exactly once between them. `--jobs N` (N > 1) keeps
//! N child `harness run` processes busy, each with `cores / N` threads, so a run that crashes or
//! is killed cannot take the others down. Without the executable (`worker_exe: None`, library
//! callers) runs go one at a time in this process, each on every core.

use anyhow::{Context, Result};
use harness_core::data::mnist::DataError;
use harness_core::grid::{Plan, PlanEntry};
use harness_core::results::runlog::MetricsRow;
use harness_core::results::store::{PlanStatus, Store, config_text, write_atomic};
use harness_core::results::sweep_record::{self, UnreadableRecord};
use harness_core::results::{lock, run_files};
use harness_engine::run::{RunOptions, RunResult, execute, load_data, prepare_scorer};
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
    /// Configurations run at once; 0 means [`auto_jobs`].
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
    /// Stopped by a signal after this step, checkpointed there (resumed by the next sweep).
    pub interrupted: Vec<(String, u32)>,
    /// Not started because the sweep was asked to stop first.
    pub not_started: Vec<String>,
    /// The signal that stopped the sweep (SIGTERM, SIGINT, SIGHUP), if one did.
    pub stopped_by: Option<i32>,
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
            Ok(RunResult::Interrupted { step, .. }) => self.interrupted.push((h, step)),
            Err(e) => self.failed.push((h, format!("{e:#}"))),
        }
    }
}

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `--jobs auto`: one single-thread worker per core while there are at least as many
/// configurations to train as cores, else one worker per configuration with the cores shared
/// out. Several narrow runs beat one wide one (a run's two shards and small products do not
/// keep two cores busy: two one-thread runs side by side train 1.2x as fast as one two-thread
/// run); one configuration runs in this process with every core.
pub fn auto_jobs(pending: usize, cores: usize) -> usize {
    pending.min(cores).max(1)
}

/// The finished runs `done` split into those [`harness_core::results::verify::check_run`] finds damaged (with
/// its problems: refused, as a resume that cannot be trusted is) and the sound ones, which the
/// sweep skips.
fn check_finished<'a>(
    store: &Store,
    done: Vec<&'a PlanEntry>,
) -> (Vec<(String, String)>, Vec<&'a PlanEntry>) {
    let mut damaged = Vec::new();
    let mut sound = Vec::new();
    for e in done {
        let found = harness_core::results::verify::check_run(&store.run_dir(&e.hash));
        if found.problems.is_empty() {
            sound.push(e);
        } else {
            let lines: Vec<String> = found.problems.iter().map(|p| p.to_string()).collect();
            damaged.push((e.hash.clone(), lines.join("\n")));
        }
    }
    (damaged, sound)
}

/// How long a sweep gives the holders of its runs' locks to show that they are stopping
/// ([`lock::settle`]) before it takes those that do not for runs trained elsewhere: a stop
/// reaches a worker and is marked in its lock within about 70 ms; the margin is for a loaded
/// machine. Spent once per sweep, and only while another process trains one of its runs.
const SETTLE: Duration = Duration::from_secs(2);

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
    if let Some(e) = entries.iter().find(|e| e.config.data().needs_mnist()) {
        load_data(&e.config, opts.run.data_dir.as_deref())?;
    }
    let (done, pending): (Vec<&PlanEntry>, Vec<&PlanEntry>) = entries.iter().partition(|e| {
        matches!(
            store.plan_status(&e.hash),
            PlanStatus::Done | PlanStatus::Diverged
        )
    });
    // The evaluator is trained here, once, before any run starts, and handed to the runs of
    // this process (workers load it from the results tree): no run trains it.
    let scorer = match pending.iter().find(|e| e.config.data().needs_mnist()) {
        Some(e) => prepare_scorer(&store.root, &e.config, opts.run.data_dir.as_deref())?,
        None => None,
    };
    // With nothing to train, a sweep record that cannot be written (a read-only results
    // directory) is no reason to fail.
    let recorded = std::fs::create_dir_all(&store.root)
        .with_context(|| format!("creating {}", store.root.display()))
        .and_then(|()| write_sweep_record(store, plan));
    match recorded {
        // ... but a record that exists and does not read is bad input whatever is to train.
        Err(e) if pending.is_empty() && !e.chain().any(|c| c.is::<UnreadableRecord>()) => {
            harness_core::errln!("note: the sweep record was not updated ({e:#}); nothing to train")
        }
        r => r?,
    }
    let (damaged, done): (Vec<(String, String)>, Vec<&PlanEntry>) = check_finished(store, done);
    let mut report = SweepReport {
        total: entries.len(),
        already_done: done.iter().map(|e| e.hash.clone()).collect(),
        refused: damaged,
        ..Default::default()
    };
    let progress = Progress::new(plan, entries.len(), done.len(), opts.progress);
    let run_opts = RunOptions {
        sweep: Some(plan.name.clone()),
        scorer,
        ..opts.run.clone()
    };
    let stop = &run_opts.stop;
    let jobs = match opts.jobs {
        0 => auto_jobs(pending.len(), cores()),
        n => n,
    };
    let dirs: Vec<PathBuf> = pending.iter().map(|e| store.run_dir(&e.hash)).collect();
    let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    lock::settle(&dirs, SETTLE);
    let results = train_pending(store, &pending, &run_opts, &progress, jobs, opts)?;
    for (e, result) in pending.iter().zip(results) {
        match result {
            Some(r) => report.record(&e.hash, r),
            None => report.not_started.push(e.hash.clone()),
        }
    }
    report.stopped_by = stop.signal();
    progress.finish();
    Ok(report)
}

/// Train the pending runs: in `jobs` worker processes when there is a worker executable and
/// more than one job, else in this process one at a time (each run already uses every core).
/// `None`: not started, the sweep was asked to stop first.
fn train_pending(
    store: &Store,
    pending: &[&PlanEntry],
    run_opts: &RunOptions,
    progress: &Progress,
    jobs: usize,
    opts: &SweepOptions,
) -> Result<Vec<Option<Result<RunResult>>>, SweepError> {
    // `None`: not started, the sweep was asked to stop first.
    let stop = &run_opts.stop;
    let results = match &opts.worker_exe {
        Some(exe) if jobs > 1 => {
            let workers = Workers::new(exe, store, run_opts, jobs)?;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(jobs)
                .build()
                .context("starting the worker pool")?;
            pool.install(|| {
                pending
                    .par_iter()
                    .with_max_len(1)
                    .map(|e| {
                        (stop.signal().is_none()).then(|| progress.in_worker(e, || workers.run(e)))
                    })
                    .collect()
            })
        }
        // In this process, one at a time: each run already uses every core.
        _ => pending
            .iter()
            .map(|e| {
                (stop.signal().is_none()).then(|| {
                    progress.in_process(e, |on_step| execute(store, &e.config, run_opts, on_step))
                })
            })
            .collect(),
    };
    Ok(results)
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
        remove_leaked_config_folders(&std::env::temp_dir());
        Ok(Self {
            exe: exe.to_path_buf(),
            store,
            run,
            threads: (cores() / jobs).max(1),
            configs: tempfile::Builder::new()
                .prefix(&format!("{CONFIGS_PREFIX}{}-", std::process::id()))
                .tempdir()
                .context("creating a folder for worker configs")?,
        })
    }

    /// `harness run --config CFG --json ...` for one worker, its stderr appended to `log_path`.
    fn command(&self, cfg_path: &Path, log_path: &Path) -> Result<Command> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run")
            .arg("--config")
            .arg(cfg_path)
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
        cmd.env("RAYON_NUM_THREADS", self.threads.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        Ok(cmd)
    }

    /// Run `entry` in a child; a child that dies (signal, abort, out of memory) is a failed
    /// result for that configuration only. Its stderr is appended to `<run>/worker.log`.
    fn run(&self, entry: &PlanEntry) -> Result<RunResult> {
        let cfg_path = self.configs.path().join(format!("{}.toml", entry.hash));
        write_atomic(&cfg_path, config_text(&entry.config)?.as_bytes())?;
        let dir = self.store.run_dir(&entry.hash);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log_path = dir.join(run_files::WORKER_LOG);
        let mut cmd = self.command(&cfg_path, &log_path)?;
        die_with_this_thread(&mut cmd);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        // Read its output meanwhile, so a chatty child never blocks on a full pipe.
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stdout, &mut text);
            text
        });
        let (status, forwarded) = self.wait_forwarding_stop(&mut child)?;
        let text = reader.join().unwrap_or_default();
        let parsed = String::from_utf8_lossy(&text)
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<RunOutput>(l).ok());
        Ok(match (parsed, forwarded) {
            (Some(o), _) => o.result,
            // Stopped before it could say so (before its handler was installed): it stands
            // at its last checkpoint, which `run.json` records.
            (None, Some(signal)) => RunResult::Interrupted {
                step: self.store.record(&entry.hash).map_or(0, |r| r.step),
                signal,
            },
            (None, None) => RunResult::Failed {
                error: format!(
                    "worker process {}; its output is in {}",
                    describe_exit(status),
                    log_path.display()
                ),
            },
        })
    }

    /// Wait for `child`; when the sweep is asked to stop, pass the signal on to the child's
    /// process group (it checkpoints and exits). Returns the exit status and the signal passed
    /// on, if any.
    fn wait_forwarding_stop(
        &self,
        child: &mut std::process::Child,
    ) -> Result<(std::process::ExitStatus, Option<i32>)> {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let mut forwarded = None;
        loop {
            if let Some(status) = child.try_wait().context("waiting for a worker")? {
                return Ok((status, forwarded));
            }
            if let (None, Some(sig)) = (forwarded, self.run.stop.signal()) {
                if let Ok(s) = Signal::try_from(sig) {
                    // The child leads its own group (`die_with_this_thread`).
                    let _ = killpg(Pid::from_raw(child.id() as i32), s);
                }
                forwarded = Some(sig);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Name prefix of the folders holding the configs handed to workers:
/// `harness-sweep-<pid>-<random>` in the temporary directory, the pid telling whether the sweep
/// that made it is alive.
const CONFIGS_PREFIX: &str = "harness-sweep-";

/// Remove the worker-config folders of sweeps that died without cleaning up (SIGKILL): those
/// whose owner pid is no longer alive. A folder of a live process is left alone.
fn remove_leaked_config_folders(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(CONFIGS_PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
            .filter(|&p| p > 0)
        else {
            continue;
        };
        let dead = matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        );
        if dead && e.file_type().is_ok_and(|t| t.is_dir()) {
            match std::fs::remove_dir_all(e.path()) {
                Ok(()) => harness_core::errln!(
                    "note: removed {}, left by a sweep (pid {pid}) that was killed",
                    e.path().display()
                ),
                Err(err) => {
                    harness_core::errln!("note: cannot remove {}: {err}", e.path().display())
                }
            }
        }
    }
}

/// Make the child of `cmd` die with the thread that starts it: it gets SIGHUP (checkpoint,
/// then exit) when that thread ends, a SIGKILLed sweep included (Linux's parent-death signal,
/// which follows the creating *thread*: the sweep's pool threads live until every worker has
/// been waited for). SIGHUP and not SIGTERM because the kernel sends it again each time the
/// orphan is passed on to another thread of the dying sweep, and a second SIGTERM would end the
/// worker at once, without its checkpoint; SIGHUP never escalates
/// ([`harness_core::stop::StopFlag::on_signals`]).
/// The child leads its own process group, so that the sweep can signal it and all it started
/// at once, and a Ctrl-C at the terminal reaches the sweep alone, which passes it on.
fn die_with_this_thread(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = nix::unistd::getpid();
        // SAFETY: only async-signal-safe system calls (prctl, getppid) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGHUP)?;
                // The parent died before the signal was armed: nobody will send it.
                if nix::unistd::getppid() != parent {
                    return Err(std::io::Error::other("the sweep has already exited"));
                }
                Ok(())
            });
        }
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
