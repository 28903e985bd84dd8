//! `harness sweep FILE`: run every configuration of a grid file that is not done yet, here or
//! as a SLURM job array.

use super::error::{CliError, CliResult, bad};
use super::input::{load_plan, open_store};
use super::table::render_table;
use crate::slurm::{self, SlurmOptions, Submission};
use crate::sweep::{SweepOptions, SweepReport, plan_table, run_sweep};
use harness_core::config::Backend;
use harness_core::grid::{self, Plan};
use harness_core::limits;
use harness_core::results::store::Store;
use harness_core::stop::{self, StopFlag};
use harness_engine::run::RunOptions;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run every configuration of a grid file that is not done yet.
#[derive(clap::Args)]
pub struct Args {
    /// The grid file (TOML; README: Grid files).
    file: PathBuf,
    /// The results directory.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Configurations to run at once: N worker processes with cores/N threads each, or `auto`
    /// (one single-thread worker per core, fewer when fewer configurations are left).
    #[arg(long, default_value = "1", value_parser = parse_jobs)]
    jobs: usize,
    /// Run only slice K of N (1-based), e.g. 2/4.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Run the grid on these seeds instead of its own, e.g. 4,5,6 (fresh seeds for its claims);
    /// the sweep is recorded as `<name>-seeds-4-5-6`, beside the grid's own.
    #[arg(long, value_name = "S1,S2,...", value_delimiter = ',', num_args = 1..)]
    seeds: Option<Vec<u64>>,
    /// Print the expanded plan and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Allow grids larger than --max-runs.
    #[arg(long)]
    yes: bool,
    /// Refuse grids with more runs than this unless --yes is given.
    #[arg(long, default_value_t = grid::DEFAULT_MAX_RUNS)]
    max_runs: usize,
    /// Run configurations whose estimated memory exceeds this machine's.
    #[arg(long)]
    ignore_memory_estimate: bool,
    /// Folder holding the four MNIST files (default: $HARNESS_DATA_DIR, else data/mnist).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Override the configs' backend (not hashed).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// No progress bars (for logs and batch jobs).
    #[arg(long)]
    no_progress: bool,
    /// Discard these runs' checkpoints and logs (hash prefixes, as `ls` shows them) and train
    /// them again from step 0; their files are moved into `<run>/discarded/<UTC time>/`.
    #[arg(long, value_name = "HASH", num_args = 1..)]
    restart: Vec<String>,
    /// Show burn-train's live dashboard (TUI on a terminal) for each run; with --jobs 1.
    #[arg(long)]
    dashboard: bool,
    /// Where the runs execute: here, or as a SLURM job array (see README: Running on a
    /// cluster).
    #[arg(long, value_enum, default_value = "local")]
    launcher: Launcher,
    #[command(flatten)]
    slurm: SlurmArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Launcher {
    Local,
    Slurm,
}

/// Options of `--launcher slurm`.
#[derive(clap::Args)]
struct SlurmArgs {
    /// SLURM partition.
    #[arg(long, help_heading = "SLURM")]
    partition: Option<String>,
    /// Wall-time limit per task (sbatch --time), e.g. 2:00:00.
    #[arg(long, help_heading = "SLURM")]
    time: Option<String>,
    /// CPUs per array task; each run trains with exactly this many threads.
    #[arg(long, default_value_t = 1, help_heading = "SLURM")]
    cpus_per_task: u32,
    /// GPUs per array task (sbatch --gpus).
    #[arg(long, help_heading = "SLURM")]
    gpus: Option<u32>,
    /// Run at most K tasks of the array at once (--array=...%K).
    #[arg(long, help_heading = "SLURM")]
    max_parallel: Option<u32>,
    /// Extra sbatch option, written as an `#SBATCH` line (repeatable), e.g. --sbatch-arg=--mem=4G.
    #[arg(
        long = "sbatch-arg",
        allow_hyphen_values = true,
        help_heading = "SLURM"
    )]
    sbatch_args: Vec<String>,
    /// Submit only the configurations that failed or were interrupted.
    #[arg(long, help_heading = "SLURM")]
    retry_failed: bool,
}

impl SlurmArgs {
    /// The first SLURM-only option given (an error with the local launcher).
    fn given(&self) -> Option<&'static str> {
        [
            (self.partition.is_some(), "--partition"),
            (self.time.is_some(), "--time"),
            (self.cpus_per_task != 1, "--cpus-per-task"),
            (self.gpus.is_some(), "--gpus"),
            (self.max_parallel.is_some(), "--max-parallel"),
            (!self.sbatch_args.is_empty(), "--sbatch-arg"),
            (self.retry_failed, "--retry-failed"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// `--jobs`: a positive count, or `auto` (0 inside, resolved by [`crate::sweep::auto_jobs`]).
fn parse_jobs(s: &str) -> Result<usize, String> {
    match s {
        "auto" => Ok(0),
        _ => match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("expected a positive number or `auto`, got `{s}`")),
        },
    }
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let err = || format!("expected K/N with 1 <= K <= N, got `{s}`");
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| err())?, n.parse().map_err(|_| err())?);
    if k == 0 || n == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

pub fn exec(a: Args) -> CliResult {
    check_flags(&a)?;
    let limit = (!a.yes).then_some(a.max_runs);
    if a.launcher == Launcher::Slurm {
        return submit(a, limit);
    }
    if let Some(flag) = a.slurm.given() {
        return Err(bad(format!("{flag} applies only with --launcher slurm")));
    }
    let plan = load_plan(&a.file, limit, a.seeds.as_deref())?;
    if !a.ignore_memory_estimate {
        check_memory(&plan)?;
    }
    let store = open_store(&a.results)?;
    note_duplicates(&plan);
    restart(&plan, &store, &a.restart, a.dry_run)?;
    if a.dry_run {
        print_dry_run(&plan, &store, a.shard);
        return Ok(ExitCode::SUCCESS);
    }
    // From here on SIGTERM/SIGINT/SIGHUP stop the sweep: the runs in flight checkpoint and exit, no
    // new one starts.
    let stop = StopFlag::on_signals().map_err(anyhow::Error::from)?;
    let opts = SweepOptions {
        jobs: a.jobs,
        worker_exe: Some(std::env::current_exe().map_err(anyhow::Error::from)?),
        shard: a.shard,
        run: RunOptions {
            backend: a.backend,
            data_dir: a.data_dir,
            dashboard: a.dashboard,
            stop,
            ..Default::default()
        },
        progress: !a.no_progress && !a.dashboard,
    };
    let report = run_sweep(&plan, &store, &opts)?;
    conclude(&plan, &store, &report)
}

/// Flags that contradict each other or this binary, refused before anything is read.
fn check_flags(a: &Args) -> Result<(), CliError> {
    if a.dashboard && (a.jobs != 1 || a.launcher == Launcher::Slurm) {
        return Err(bad(
            "--dashboard shows one run at a time: use it with --jobs 1 and the local launcher",
        ));
    }
    if let Some(b) = a.backend {
        b.check_compiled_in()
            .map_err(|m| bad(format!("--backend: {m}")))?;
    }
    Ok(())
}

/// Print the sweep's outcome and choose the exit code: 2 when a run could not be resumed (bad
/// input, as elsewhere), the signal's when stopped, 1 when a run failed.
fn conclude(plan: &Plan, store: &Store, report: &SweepReport) -> CliResult {
    if !report.refused.is_empty() {
        print_report(plan, store, report);
        // A run that cannot be resumed is bad input, as elsewhere: exit 2.
        return Err(bad(format!(
            "{} configuration(s) of {} cannot be resumed (NOT RESUMED above: each names the \
             file and the fix)",
            report.refused.len(),
            plan.file.display()
        )));
    }
    print_report(plan, store, report);
    Ok(if let Some(signal) = report.stopped_by {
        ExitCode::from(stop::exit_code(signal))
    } else if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--restart`: move the named runs' files aside (`--dry-run`: say what would be moved).
fn restart(
    plan: &Plan,
    store: &Store,
    prefixes: &[String],
    dry_run: bool,
) -> Result<(), super::error::CliError> {
    for h in restart_targets(plan, prefixes)? {
        let dir = store.run_dir(&h);
        if !dir.exists() {
            harness_core::outln!("{h}: nothing to discard (never started)");
        } else if dry_run {
            harness_core::outln!(
                "{h}: would move the files of {} aside and train it from step 0",
                dir.display()
            );
        } else {
            let to = harness_core::results::resume::discard(&dir)?;
            harness_core::outln!(
                "{h}: moved its checkpoint and logs to {}; training it from step 0",
                to.display()
            );
        }
    }
    Ok(())
}

/// The configurations of `plan` that `--restart` names, by hash prefix.
fn restart_targets(
    plan: &Plan,
    prefixes: &[String],
) -> Result<Vec<String>, super::error::CliError> {
    let mut out: Vec<String> = Vec::new();
    for p in prefixes {
        let hits: Vec<&str> = plan
            .entries
            .iter()
            .map(|e| e.hash.as_str())
            .filter(|h| !p.is_empty() && h.starts_with(p.as_str()))
            .collect();
        match hits[..] {
            [h] => {
                if !out.iter().any(|o| o == h) {
                    out.push(h.to_string());
                }
            }
            [] => {
                return Err(bad(format!(
                    "--restart {p}: no configuration of {} has a hash starting with `{p}`; \
                     `harness sweep {} --dry-run` lists them",
                    plan.file.display(),
                    plan.file.display()
                )));
            }
            _ => {
                return Err(bad(format!(
                    "--restart {p}: matches {} configurations of {}; give more characters of the hash",
                    hits.len(),
                    plan.file.display()
                )));
            }
        }
    }
    Ok(out)
}

/// Refuse a configuration whose estimated memory exceeds what it may use (the machine's, or
/// less under `ulimit -v`; see [`limits::memory_limit`]): it would abort on an
/// allocation at run time, and again on every rerun.
fn check_memory(plan: &Plan) -> Result<(), super::error::CliError> {
    let Some((machine, whose)) = limits::memory_limit() else {
        return Ok(());
    };
    for (i, e) in plan.entries.iter().enumerate() {
        let (need, key) = limits::estimate_bytes(&e.config);
        if need > machine {
            return Err(bad(format!(
                "{}: configuration #{i} ({}{}) needs an estimated {} of memory, more than \
                 {whose} {}; reduce {key}, or pass --ignore-memory-estimate to run it anyway",
                plan.file.display(),
                e.hash,
                Some(plan.settings_text(e))
                    .filter(|s| !s.is_empty())
                    .map_or(String::new(), |s| format!(": {s}")),
                limits::show_bytes(need),
                limits::show_bytes(machine)
            )));
        }
    }
    Ok(())
}

fn note_duplicates(plan: &Plan) {
    for (h, n) in &plan.duplicates {
        harness_core::errln!(
            "note: {n} grid points expand to the same configuration {h}; it runs once"
        );
    }
}

/// The expanded plan (or its shard) with each configuration's status.
fn print_dry_run(plan: &Plan, store: &Store, shard: Option<(usize, usize)>) {
    let selected: Vec<&str> = match shard {
        Some((k, n)) => plan.shard(k, n).iter().map(|e| e.hash.as_str()).collect(),
        None => plan.entries.iter().map(|e| e.hash.as_str()).collect(),
    };
    let mut rows = vec![
        ["#", "hash", "settings", "status"]
            .map(String::from)
            .to_vec(),
    ];
    for (i, (h, settings, status)) in plan_table(plan, store).into_iter().enumerate() {
        if selected.contains(&h.as_str()) {
            rows.push(vec![i.to_string(), h, settings, status.as_str().into()]);
        }
    }
    harness_core::outln!(
        "{}: {} configurations (dry run: nothing written)",
        plan.name,
        rows.len() - 1
    );
    harness_core::out!("{}", render_table(&rows));
}

fn print_report(plan: &Plan, store: &Store, report: &SweepReport) {
    if report.refused.is_empty()
        && report.trained.is_empty()
        && report.failed.is_empty()
        && report.diverged.is_empty()
        && report.busy.is_empty()
        && report.interrupted.is_empty()
        && report.not_started.is_empty()
    {
        harness_core::outln!(
            "{}: nothing to train: all {} configurations are already done ({})",
            plan.name,
            report.total,
            store.root.display()
        );
    } else {
        harness_core::outln!(
            "{}: {} trained ({} resumed), {} already done, {} diverged, {} failed, {} running elsewhere",
            plan.name,
            report.trained.len(),
            report.resumed.len(),
            report.already_done.len(),
            report.diverged.len(),
            report.failed.len(),
            report.busy.len()
        );
    }
    for (h, e) in &report.refused {
        harness_core::errln!("  NOT RESUMED: {h}: {e}");
    }
    for h in &report.busy {
        harness_core::outln!(
            "  running elsewhere: {h} (another process trains it: `harness status` shows it)"
        );
    }
    for (h, step) in &report.diverged {
        harness_core::outln!("  diverged: {h} at step {step}");
    }
    for (h, e) in &report.failed {
        harness_core::errln!("  FAILED: {h}: {e}");
    }
    if let Some(signal) = report.stopped_by {
        harness_core::errln!(
            "{}: stopped by {}: {} run(s) interrupted and checkpointed, {} not started; run the \
             same command again to resume",
            plan.name,
            stop::signal_name(signal),
            report.interrupted.len(),
            report.not_started.len()
        );
        for (h, step) in &report.interrupted {
            harness_core::errln!("  interrupted: {h} after step {step}");
        }
    }
}

/// `--launcher slurm`: submit what needs running as one job array.
fn submit(a: Args, limit: Option<usize>) -> CliResult {
    if a.shard.is_some() || a.jobs != 1 {
        return Err(bad(
            "--launcher slurm: --shard and --jobs do not apply (SLURM runs one task per configuration; use --max-parallel to throttle)",
        ));
    }
    let plan = load_plan(&a.file, limit, a.seeds.as_deref())?;
    let store = open_store(&a.results)?;
    note_duplicates(&plan);
    restart(&plan, &store, &a.restart, a.dry_run)?;
    let s = a.slurm;
    let opts = SlurmOptions {
        partition: s.partition,
        time: s.time,
        cpus_per_task: s.cpus_per_task,
        gpus: s.gpus,
        max_parallel: s.max_parallel,
        sbatch_args: s.sbatch_args,
        retry_failed: s.retry_failed,
        harness_exe: std::env::current_exe().map_err(anyhow::Error::from)?,
        run: RunOptions {
            backend: a.backend,
            data_dir: a.data_dir,
            ..Default::default()
        },
    };
    let sub = slurm::submit(&plan, &store, &opts, a.dry_run)?;
    print_submission(&plan, &a.results, &sub);
    Ok(ExitCode::SUCCESS)
}

fn print_submission(plan: &Plan, results: &std::path::Path, sub: &Submission) {
    let sel = &sub.selection;
    let mut left_out = vec![format!("{} already done", sel.finished)];
    for (n, what) in [
        (sel.running.len(), "running"),
        (sel.queued.len(), "queued in an earlier array"),
        (sel.untried.len(), "never tried (--retry-failed)"),
    ] {
        if n > 0 {
            left_out.push(format!("{n} {what}"));
        }
    }
    let left_out = left_out.join(", ");
    if sel.submit.is_empty() {
        harness_core::outln!(
            "{}: nothing to submit: {left_out} (of {} configurations)",
            plan.name,
            plan.entries.len()
        );
        return;
    }
    match &sub.job {
        None => {
            harness_core::outln!(
                "{}: would submit {} configurations ({left_out}); dry run, nothing written. Script:\n",
                plan.name,
                sel.submit.len()
            );
            harness_core::out!("{}", sub.script);
        }
        Some(job) => harness_core::outln!(
            "{}: submitted job array {} with {} tasks ({left_out})\n  plan, script and logs: {}\n  follow it with: harness status {} --sweep {}",
            plan.name,
            job.job_id,
            job.tasks.len(),
            job.dir.display(),
            results.display(),
            plan.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_jobs;
    use crate::sweep::auto_jobs;

    #[test]
    fn jobs_take_a_count_or_auto() {
        assert_eq!(parse_jobs("3"), Ok(3));
        assert_eq!(parse_jobs("auto"), Ok(0));
        assert!(parse_jobs("0").is_err());
        assert!(parse_jobs("-1").unwrap_err().contains("`auto`"));
    }

    #[test]
    fn auto_jobs_give_each_core_a_run_while_there_are_enough() {
        assert_eq!(auto_jobs(12, 2), 2);
        assert_eq!(auto_jobs(1, 2), 1);
        assert_eq!(auto_jobs(0, 2), 1);
        assert_eq!(auto_jobs(3, 16), 3);
    }
}
