//! `harness run`: exactly one configuration, the unit a cluster scheduler (or `sweep --jobs N`)
//! launches.

use super::error::{CliError, CliResult, bad};
use super::input::{load_plan, open_store};
use crate::sweep::RunOutput;
use harness_core::config::{Backend, RunConfig};
use harness_core::hash;
use harness_core::stop::{self, StopFlag};
use harness_engine::run::{RunOptions, RunResult, execute, load_data, prepare_scorer};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run exactly one configuration (the unit a cluster scheduler launches).
#[derive(clap::Args)]
pub struct Args {
    /// A resolved config, e.g. results/<hash>/config.toml.
    #[arg(long, conflicts_with_all = ["grid", "index"])]
    config: Option<PathBuf>,
    /// A grid file, with --index.
    #[arg(long, requires = "index")]
    grid: Option<PathBuf>,
    /// 0-based index into the grid's expanded plan.
    #[arg(long)]
    index: Option<usize>,
    /// The results directory.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Folder holding the four MNIST files (default: $HARNESS_DATA_DIR, else data/mnist).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Override the config's backend (not hashed).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Record the run as part of this sweep (what array tasks and workers pass).
    #[arg(long)]
    sweep: Option<String>,
    /// Print the outcome as one JSON line.
    #[arg(long)]
    json: bool,
    /// Show burn-train's live dashboard (TUI on a terminal).
    #[arg(long, conflicts_with = "json")]
    dashboard: bool,
    /// Discard the run's checkpoint and logs (moved into `<run>/discarded/<UTC time>/`) and
    /// train it from step 0.
    #[arg(long)]
    restart: bool,
}

pub fn exec(a: Args) -> CliResult {
    // From here on SIGTERM/SIGINT/SIGHUP stop the run at the end of a step, checkpointed.
    let stop = StopFlag::on_signals().map_err(anyhow::Error::from)?;
    let store = open_store(&a.results)?;
    let (cfg, grid_sweep) = chosen_config(&a)?;
    let backend = a.backend.unwrap_or(cfg.backend);
    backend.check_compiled_in().map_err(bad)?;
    // Bad data is bad input (exit 2, nothing written), not a failed run folder.
    load_data(&cfg, a.data_dir.as_deref())?;
    let h = hash::short_hash(&cfg);
    let dir = store.run_dir(&h);
    if a.restart && dir.exists() {
        let to = harness_core::results::resume::discard(&dir)?;
        harness_core::errln!(
            "{h}: moved its checkpoint and logs to {}; training it from step 0",
            to.display()
        );
    }
    // The run is handed its evaluator, trained here on first need, not inside its training.
    let scorer = prepare_scorer(&store.root, &cfg, a.data_dir.as_deref())?;
    let opts = RunOptions {
        backend: a.backend,
        data_dir: a.data_dir,
        sweep: a.sweep.or(grid_sweep),
        dashboard: a.dashboard,
        stop,
        scorer,
        ..Default::default()
    };
    let result = execute(&store, &cfg, &opts, |_, _| {})?;
    if let RunResult::Refused { error } = &result {
        // The outcome line first (a sweep's parent reads it), then bad input: exit 2.
        let line = if a.json {
            let out = RunOutput {
                hash: h.clone(),
                result: result.clone(),
            };
            serde_json::to_string(&out).map_err(anyhow::Error::from)?
        } else {
            format!("{h}: not resumed")
        };
        let _ = writeln!(std::io::stdout(), "{line}");
        return Err(bad(error.clone()));
    }
    outcome(h, result, a.json)
}

/// The config to run: `--config FILE`, or configuration K of `--grid FILE` with the grid's
/// sweep name.
fn chosen_config(a: &Args) -> Result<(RunConfig, Option<String>), CliError> {
    match (&a.config, &a.grid, a.index) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            let cfg = RunConfig::from_flat_str(&text)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            Ok((cfg, None))
        }
        (None, Some(file), Some(i)) => {
            let plan = load_plan(file, None, None)?;
            let n = plan.entries.len();
            let e = plan.entries.get(i).ok_or_else(|| {
                bad(format!(
                    "--index {i}: the grid has {n} configurations (0..{})",
                    n.saturating_sub(1)
                ))
            })?;
            Ok((e.config.clone(), Some(plan.name.clone())))
        }
        _ => Err(bad("give --config FILE, or --grid FILE --index K")),
    }
}

/// Print the outcome line of a run that was not refused and choose the exit code: the
/// signal's for an interrupted run, 1 for a failed one.
fn outcome(h: String, result: RunResult, json: bool) -> CliResult {
    let failed = matches!(result, RunResult::Failed { .. });
    let interrupted = match result {
        RunResult::Interrupted { step, signal } => {
            harness_core::errln!(
                "{h}: stopped by {} after step {step}, checkpointed there; run the same command \
                 (or the sweep) again to resume",
                stop::signal_name(signal)
            );
            Some(signal)
        }
        _ => None,
    };
    let text = if json {
        let line = RunOutput { hash: h, result };
        serde_json::to_string(&line).map_err(anyhow::Error::from)?
    } else {
        format!("{h}: {result:?}")
    };
    // The outcome is already in run.json: a reader that went away (a killed sweep's closed
    // pipe) is no reason to panic or to fail the run.
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(if let Some(signal) = interrupted {
        ExitCode::from(stop::exit_code(signal))
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
