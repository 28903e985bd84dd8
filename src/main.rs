//! `harness`: the command-line front of the gan-harness library. Thin: parse, call, print.

use anyhow::{Result, anyhow};

/// mimalloc instead of glibc malloc: training frees and reallocates the same few hundred KB
/// tensors thousands of times a second, which glibc serves with fresh mmap pages (page faults,
/// and a process-wide lock once two shards allocate at once). See README: Performance.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use gan_harness::config::{Backend, RunConfig};
use gan_harness::data::{download, mnist};
use gan_harness::grid::{self, GridError};
use gan_harness::run::{RunOptions, RunResult, execute};
use gan_harness::store::Store;
use gan_harness::sweep::{SweepOptions, plan_table, run_sweep};
use gan_harness::{bench, browse, hash, report, slurm, status};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Reproducible GAN loss ablations (GAN, WGAN-clip, WGAN-GP) on Burn"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every configuration of a grid file that is not done yet.
    Sweep {
        file: PathBuf,
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Configurations to run at once in this process.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Run only slice K of N (1-based), e.g. 2/4.
        #[arg(long)]
        shard: Option<String>,
        /// Print the expanded plan and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Allow grids larger than --max-runs.
        #[arg(long)]
        yes: bool,
        #[arg(long, default_value_t = grid::DEFAULT_MAX_RUNS)]
        max_runs: usize,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Override the configs' backend (not hashed).
        #[arg(long)]
        backend: Option<String>,
        #[arg(long)]
        no_progress: bool,
        /// Show burn-train's live dashboard (TUI on a terminal) for each run; with --jobs 1.
        #[arg(long)]
        dashboard: bool,
        /// Where the runs execute: here, or as a SLURM job array (see README: Running on a
        /// cluster).
        #[arg(long, value_enum, default_value = "local")]
        launcher: Launcher,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Where each sweep of a results directory stands (done / running / pending / failed ...),
    /// with SLURM's view of submitted arrays.
    Status {
        #[arg(default_value = "results")]
        dir: PathBuf,
        /// Only this sweep (by name).
        #[arg(long)]
        sweep: Option<String>,
    },
    /// Run exactly one configuration (the unit a cluster scheduler launches).
    Run {
        /// A resolved config, e.g. results/<hash>/config.toml.
        #[arg(long, conflicts_with_all = ["grid", "index"])]
        config: Option<PathBuf>,
        /// A grid file, with --index.
        #[arg(long, requires = "index")]
        grid: Option<PathBuf>,
        /// 0-based index into the grid's expanded plan.
        #[arg(long)]
        index: Option<usize>,
        #[arg(long, default_value = "results")]
        results: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        backend: Option<String>,
        /// Record the run as part of this sweep (what array tasks and workers pass).
        #[arg(long)]
        sweep: Option<String>,
        /// Print the outcome as one JSON line.
        #[arg(long)]
        json: bool,
        /// Show burn-train's live dashboard (TUI on a terminal).
        #[arg(long, conflicts_with = "json")]
        dashboard: bool,
    },
    /// List the runs under a results directory.
    Ls {
        #[arg(default_value = "results")]
        dir: PathBuf,
    },
    /// Show one run (by hash prefix).
    Show {
        hash: String,
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
    /// Training throughput of fixed cases (see README: Performance).
    Bench {
        /// Comma-separated cases (default: all).
        #[arg(long)]
        cases: Option<String>,
        /// Comma-separated CPU backends.
        #[arg(long, default_value = "flex,ndarray")]
        backends: String,
        /// Timed generator iterations per case.
        #[arg(long, default_value_t = 30)]
        iters: u32,
        /// Also run the PyTorch reference (../shared/bench) and print ratios.
        #[arg(long)]
        compare: bool,
        /// Threads for PyTorch (the harness uses every core through rayon).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value = "bench-out/bench.json")]
        out: PathBuf,
        /// Internal: measure one case in this process and print its JSON.
        #[arg(long, hide = true)]
        child: Option<String>,
        #[arg(long, hide = true, default_value = "flex")]
        backend: String,
    },
    /// Draw the comparison report (SVG charts, tables, index.html) of a results directory.
    Report {
        #[arg(default_value = "results")]
        dir: PathBuf,
        /// Output folder (default: DIR/report).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Group runs by these config keys (default: every varying key except the seed).
        #[arg(long = "group-by", num_args = 1..)]
        group_by: Vec<String>,
        /// EMA smoothing factor in (0, 1] for curves.
        #[arg(long, default_value_t = 0.1)]
        smooth: f64,
        /// Shade min-max over seeds instead of +-1 std.
        #[arg(long)]
        minmax: bool,
    },
    /// Recompute the sample-quality scores of a run at its latest checkpoint, without retraining.
    Eval {
        hash: String,
        #[arg(long, default_value = "results")]
        results: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The MNIST evaluator (a LeNet trained once per results directory).
    Evaluator {
        #[command(subcommand)]
        what: EvaluatorCommand,
    },
    /// Datasets.
    Data {
        #[command(subcommand)]
        what: DataCommand,
    },
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
    /// Whether any SLURM-only option was given (an error with the local launcher).
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

#[derive(Subcommand)]
enum EvaluatorCommand {
    /// Train (or load) the evaluator under RESULTS/evaluators/<hash> and print its accuracy.
    Train {
        #[arg(long, default_value = "results")]
        results: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download MNIST (checksums verified) into --data-dir (default: data/mnist).
    Mnist {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Mirror base URLs to try in order (default: the usual public mirrors).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
}

/// An error in what the user gave us (exit code 2), as opposed to a failure while running.
#[derive(Debug)]
struct BadInput(String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

fn parse_backend(s: Option<&str>) -> Result<Option<Backend>> {
    s.map(|s| {
        Backend::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|_| {
                toml::Value::String(s.into())
                    .try_into::<Backend>()
                    .expect("known name")
            })
            .ok_or_else(|| {
                bad(format!(
                    "--backend: unknown backend `{s}`; valid: {}",
                    Backend::NAMES.join(", ")
                ))
            })
    })
    .transpose()
}

fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let err = || bad(format!("--shard: expected K/N with 1 <= K <= N, got `{s}`"));
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| err())?, n.parse().map_err(|_| err())?);
    if k == 0 || n == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

fn open_store(path: &Path) -> Result<Store> {
    Store::new(path).map_err(|e| bad(e.to_string()))
}

fn load_plan(file: &Path, limit: Option<usize>) -> Result<grid::Plan> {
    grid::load_plan(file, limit).map_err(anyhow::Error::new)
}

/// `harness sweep`: `opts` carries how to run; the rest says what.
fn sweep(
    file: &Path,
    results: &Path,
    dry_run: bool,
    limit: Option<usize>,
    opts: SweepOptions,
) -> Result<ExitCode> {
    let plan = load_plan(file, limit)?;
    let store = open_store(results)?;
    let shard = opts.shard;
    for (h, n) in &plan.duplicates {
        eprintln!("note: {n} grid points expand to the same configuration {h}; it runs once");
    }
    if dry_run {
        let mut rows = vec![vec![
            "#".to_string(),
            "hash".into(),
            "settings".into(),
            "status".into(),
        ]];
        let selected: Vec<String> = match shard {
            Some((k, n)) => plan.shard(k, n).iter().map(|e| e.hash.clone()).collect(),
            None => plan.entries.iter().map(|e| e.hash.clone()).collect(),
        };
        for (i, (h, settings, status)) in plan_table(&plan, &store).into_iter().enumerate() {
            if selected.contains(&h) {
                rows.push(vec![i.to_string(), h, settings, status.as_str().into()]);
            }
        }
        println!(
            "{}: {} configurations (dry run: nothing written)",
            plan.name,
            rows.len() - 1
        );
        print!("{}", browse::render_table(&rows));
        return Ok(ExitCode::SUCCESS);
    }
    let report = run_sweep(&plan, &store, &opts).map_err(|e| {
        if e.downcast_ref::<mnist::DataError>().is_some()
            || e.to_string().contains("harness data mnist")
        {
            bad(format!("{e:#}"))
        } else {
            e
        }
    })?;
    if report.trained.is_empty()
        && report.failed.is_empty()
        && report.diverged.is_empty()
        && report.busy.is_empty()
    {
        println!(
            "{}: nothing to train: all {} configurations are already done ({})",
            plan.name,
            report.total,
            store.root.display()
        );
    } else {
        println!(
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
    for (h, step) in &report.diverged {
        println!("  diverged: {h} at step {step}");
    }
    for (h, e) in &report.failed {
        eprintln!("  FAILED: {h}: {e}");
    }
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `harness sweep --launcher slurm`: submit what needs running as one job array.
fn sweep_slurm(
    file: &Path,
    results: &Path,
    dry_run: bool,
    limit: Option<usize>,
    opts: &slurm::SlurmOptions,
) -> Result<ExitCode> {
    let plan = load_plan(file, limit)?;
    let store = open_store(results)?;
    let sub = slurm::submit(&plan, &store, opts, dry_run).map_err(|e| {
        if e.downcast_ref::<slurm::SlurmError>().is_some()
            || e.downcast_ref::<mnist::DataError>().is_some()
            || e.to_string().contains("harness data mnist")
        {
            bad(format!("{e:#}"))
        } else {
            e
        }
    })?;
    let sel = &sub.selection;
    let mut left_out = vec![format!("{} already done", sel.finished)];
    if !sel.running.is_empty() {
        left_out.push(format!("{} running", sel.running.len()));
    }
    if !sel.queued.is_empty() {
        left_out.push(format!("{} queued in an earlier array", sel.queued.len()));
    }
    if !sel.untried.is_empty() {
        left_out.push(format!(
            "{} never tried (--retry-failed)",
            sel.untried.len()
        ));
    }
    let left_out = left_out.join(", ");
    if sel.submit.is_empty() {
        println!(
            "{}: nothing to submit: {left_out} (of {} configurations)",
            plan.name,
            plan.entries.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    match &sub.job {
        None => {
            println!(
                "{}: would submit {} configurations ({left_out}); dry run, nothing written. Script:\n",
                plan.name,
                sel.submit.len()
            );
            print!("{}", sub.script);
        }
        Some(job) => {
            println!(
                "{}: submitted job array {} with {} tasks ({left_out})\n  plan, script and logs: {}\n  follow it with: harness status {} --sweep {}",
                plan.name,
                job.job_id,
                job.tasks.len(),
                job.dir.display(),
                results.display(),
                plan.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    config: Option<PathBuf>,
    grid_file: Option<PathBuf>,
    index: Option<usize>,
    results: &Path,
    data_dir: Option<PathBuf>,
    backend: Option<Backend>,
    sweep_name: Option<String>,
    json: bool,
    dashboard: bool,
) -> Result<ExitCode> {
    let store = open_store(results)?;
    let (cfg, sweep): (RunConfig, Option<String>) = match (config, grid_file, index) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            (
                RunConfig::from_flat_str(&text)
                    .map_err(|e| bad(format!("{}: {e}", path.display())))?,
                None,
            )
        }
        (None, Some(file), Some(i)) => {
            let plan = load_plan(&file, None)?;
            let n = plan.entries.len();
            let e = plan.entries.get(i).ok_or_else(|| {
                bad(format!(
                    "--index {i}: the grid has {n} configurations (0..{})",
                    n.saturating_sub(1)
                ))
            })?;
            (e.config.clone(), Some(plan.name.clone()))
        }
        _ => return Err(bad("give --config FILE, or --grid FILE --index K")),
    };
    let h = hash::short_hash(&cfg);
    let opts = RunOptions {
        backend,
        data_dir,
        sweep: sweep_name.or(sweep),
        dashboard,
        ..Default::default()
    };
    let result = execute(&store, &cfg, &opts, |_, _| {})?;
    if json {
        let line = gan_harness::sweep::RunOutput {
            hash: h,
            result: result.clone(),
        };
        println!("{}", serde_json::to_string(&line)?);
    } else {
        println!("{h}: {result:?}");
    }
    Ok(match result {
        RunResult::Failed { .. } => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn bench_cmd(
    cases: Option<String>,
    backends: &str,
    iters: u32,
    compare: bool,
    threads: usize,
    out: &Path,
) -> Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let peak = bench::measure_peak();
    let cases: Vec<String> = match cases {
        Some(c) => c.split(',').map(str::to_string).collect(),
        None => bench::CASES.iter().map(|s| s.to_string()).collect(),
    };
    let backends: Vec<Backend> = backends
        .split(',')
        .map(|b| parse_backend(Some(b)).map(|x| x.expect("given")))
        .collect::<Result<_>>()?;
    let (torch, torch_rss) = if compare {
        match bench::run_torch(threads, iters.max(20)) {
            Ok((t, rss)) => (Some(t), rss),
            Err(e) => {
                eprintln!("bench-compare: {e:#}");
                return Ok(ExitCode::from(2));
            }
        }
    } else {
        (None, None)
    };
    let mut results = Vec::new();
    let mut rows = vec![
        [
            "case",
            "backend",
            "gen it/s",
            "critic steps/s",
            "peak RSS MB",
            "GFLOP/it",
            "% of peak",
            "torch it/s",
            "harness/torch",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for case in &cases {
        for &b in &backends {
            let r = match bench::run_case_isolated(&exe, case, b, iters) {
                Ok(r) => bench::share_of_peak(r, &peak),
                Err(e) => {
                    eprintln!("{e:#}");
                    continue;
                }
            };
            let t = torch
                .as_ref()
                .and_then(|t| t.iter().find(|x| &x.case == case));
            rows.push(vec![
                case.clone(),
                b.to_string(),
                format!("{:.2}", r.gen_it_per_s),
                format!("{:.1}", r.critic_steps_per_s),
                format!("{:.0}", r.peak_rss_mb),
                r.gflop_per_iter.map_or("-".into(), |g| format!("{g:.2}")),
                r.peak_share
                    .map_or("-".into(), |p| format!("{:.1}%", 100.0 * p)),
                t.map_or("-".into(), |t| format!("{:.2}", t.gen_it_per_s)),
                t.map_or("-".into(), |t| {
                    format!("{:.2}x", r.gen_it_per_s / t.gen_it_per_s)
                }),
            ]);
            results.push(r);
        }
    }
    let overheads = bench::overheads()?;
    print!("{}", browse::render_table(&rows));
    println!(
        "measured FMA peak: {:.0} GFLOP/s ({} threads, {})",
        peak.gflops, peak.threads, peak.simd
    );
    if let Some(rss) = torch_rss {
        println!("PyTorch reference peak RSS (one process, all cases): {rss:.0} MB");
    }
    for (what, v, unit) in &overheads {
        println!("{what}: {v:.2} {unit}");
    }
    let json = serde_json::json!({
        "cases": results,
        "torch": torch,
        "overheads": overheads.iter().map(|(w, v, u)| serde_json::json!({"what": w, "value": v, "unit": u})).collect::<Vec<_>>(),
        "torch_peak_rss_mb": torch_rss,
        "peak": peak,
    });
    gan_harness::store::write_atomic(out, serde_json::to_string_pretty(&json)?.as_bytes())?;
    println!("written {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Sweep {
            file,
            results,
            jobs,
            shard,
            dry_run,
            yes,
            max_runs,
            data_dir,
            backend,
            no_progress,
            dashboard,
            launcher,
            slurm,
        } => {
            if dashboard && (jobs != 1 || launcher == Launcher::Slurm) {
                return Err(bad(
                    "--dashboard shows one run at a time: use it with --jobs 1 and the local launcher",
                ));
            }
            if launcher == Launcher::Slurm {
                if shard.is_some() || jobs != 1 {
                    return Err(bad(
                        "--launcher slurm: --shard and --jobs do not apply (SLURM runs one task per configuration; use --max-parallel to throttle)",
                    ));
                }
                let opts = slurm::SlurmOptions {
                    partition: slurm.partition,
                    time: slurm.time,
                    cpus_per_task: slurm.cpus_per_task,
                    gpus: slurm.gpus,
                    max_parallel: slurm.max_parallel,
                    sbatch_args: slurm.sbatch_args,
                    retry_failed: slurm.retry_failed,
                    harness_exe: std::env::current_exe()?,
                    run: RunOptions {
                        backend: parse_backend(backend.as_deref())?,
                        data_dir,
                        ..Default::default()
                    },
                };
                return sweep_slurm(&file, &results, dry_run, (!yes).then_some(max_runs), &opts);
            }
            if let Some(flag) = slurm.given() {
                return Err(bad(format!("{flag} applies only with --launcher slurm")));
            }
            let opts = SweepOptions {
                jobs,
                worker_exe: Some(std::env::current_exe()?),
                shard: shard.as_deref().map(parse_shard).transpose()?,
                run: RunOptions {
                    backend: parse_backend(backend.as_deref())?,
                    data_dir,
                    dashboard,
                    ..Default::default()
                },
                progress: !no_progress && !dashboard,
            };
            sweep(&file, &results, dry_run, (!yes).then_some(max_runs), opts)
        }
        Command::Run {
            config,
            grid,
            index,
            results,
            data_dir,
            backend,
            sweep,
            json,
            dashboard,
        } => {
            let backend = parse_backend(backend.as_deref())?;
            run_one(
                config, grid, index, &results, data_dir, backend, sweep, json, dashboard,
            )
        }
        Command::Status { dir, sweep } => {
            let store = open_store(&dir)?;
            if !dir.is_dir() {
                return Err(bad(format!("{} is not a results directory", dir.display())));
            }
            let mut records = gan_harness::sweep::read_sweep_records(&store);
            if let Some(name) = &sweep {
                records.retain(|r| &r.name == name);
                if records.is_empty() {
                    return Err(bad(format!(
                        "--sweep {name}: no such sweep under {} (see {}/sweeps/)",
                        dir.display(),
                        dir.display()
                    )));
                }
            }
            let ask = records.iter().any(|r| !r.slurm.is_empty()) && which::which("squeue").is_ok();
            let statuses: Vec<_> = records
                .iter()
                .map(|r| status::sweep_status(&store, r, ask))
                .collect();
            print!("{}", status::render(&store, &statuses));
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls { dir } => {
            print!("{}", browse::ls(&open_store(&dir)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { hash, results } => {
            print!(
                "{}",
                browse::show(&open_store(&results)?, &hash).map_err(|e| bad(e.to_string()))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            dir,
            out,
            group_by,
            smooth,
            minmax,
        } => {
            if !dir.is_dir() {
                return Err(bad(format!("{} is not a results directory", dir.display())));
            }
            let opts = report::ReportOptions {
                out,
                group_by,
                smooth,
                band: if minmax {
                    report::Band::MinMax
                } else {
                    report::Band::Std
                },
            };
            let s = report::generate(&dir, &opts)?;
            println!(
                "report: {} runs in {} groups, {} charts ({} redrawn) -> {}",
                s.runs,
                s.groups,
                s.charts.len(),
                s.redrawn,
                s.index.display()
            );
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            hash,
            results,
            data_dir,
        } => {
            let store = open_store(&results)?;
            let dir = store.find(&hash).map_err(|e| bad(e.to_string()))?;
            let (step, scores) = gan_harness::run::rescore(&store, &dir, data_dir.as_deref())?;
            println!("{}: scores at step {step}", dir.display());
            for (m, v) in scores {
                println!("  {m} = {v:.6}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluator {
            what: EvaluatorCommand::Train { results, data_dir },
        } => {
            let store = open_store(&results)?;
            let dir = mnist::resolve_dir(data_dir.as_deref());
            let data = mnist::load_cached(&dir).map_err(|e| bad(e.to_string()))?;
            let (ev, _) = gan_harness::run::load_evaluator(&store.root, &data)?;
            println!(
                "evaluator {}: test accuracy {:.2}% ({})",
                ev.hash,
                100.0 * ev.test_accuracy,
                ev.spec.dir(&store.root).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            cases,
            backends,
            iters,
            compare,
            threads,
            out,
            child,
            backend,
        } => {
            if let Some(case) = child {
                let b = parse_backend(Some(&backend))?.expect("given");
                let r = bench::run_case(&case, b, iters, 3)?;
                println!("{}", serde_json::to_string(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            bench_cmd(cases, &backends, iters, compare, threads, &out)
        }
        Command::Data {
            what: DataCommand::Mnist { data_dir, mirrors },
        } => {
            let dir = mnist::resolve_dir(data_dir.as_deref());
            let mut opts = download::DownloadOptions::default();
            if !mirrors.is_empty() {
                opts.mirrors = mirrors;
            }
            let rep = download::download_mnist(&dir, &opts).map_err(|e| anyhow!("{e}"))?;
            for f in &rep.already_present {
                println!("{f}: already present and verified");
            }
            for f in &rep.fetched {
                println!("{f}: downloaded and verified");
            }
            println!("MNIST is ready in {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<BadInput>().is_some() || e.downcast_ref::<GridError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
