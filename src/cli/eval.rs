//! `harness eval HASH`: recompute a run's sample-quality scores at its latest checkpoint.

use super::error::{CliError, CliResult, bad};
use super::input::open_store;
use harness_core::results::store;
use harness_engine::run::{self, load_data};
use std::path::PathBuf;
use std::process::ExitCode;

/// Recompute the sample-quality scores of a run at its latest checkpoint, without retraining.
#[derive(clap::Args)]
pub struct Args {
    /// The run's hash, or a unique prefix of it.
    hash: String,
    /// The results directory.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Folder holding the four MNIST files (default: $HARNESS_DATA_DIR, else data/mnist).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.results)?;
    let dir = store.find(&a.hash)?;
    let cfg = store::read_config(&dir)?;
    let data = load_data(&cfg, a.data_dir.as_deref())?;
    let (step, scores) = run::rescore(&store, &dir, &cfg, data).map_err(|e| read_only(e, &dir))?;
    println!("{}: scores at step {step}", dir.display());
    for (m, v) in scores {
        println!("  {m} = {v:.6}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A results folder `harness eval` may not write to is bad input (nothing was changed: the
/// first write, the run's lock, is what failed), with the fix; other errors are failures.
fn read_only(e: anyhow::Error, dir: &std::path::Path) -> CliError {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    let denied = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| matches!(io.kind(), PermissionDenied | ReadOnlyFilesystem))
    });
    if !denied {
        return e.into();
    }
    bad(format!(
        "{e:#}\n  fix: `harness eval` rewrites eval.csv and summary.json in {}: make it writable, \
         or copy the results folder somewhere writable and pass --results with the copy",
        dir.display()
    ))
}
