//! `harness evaluator train`: the MNIST evaluator of a results directory.

use super::error::CliResult;
use super::input::open_store;
use harness_core::data::mnist;
use harness_engine::run::load_evaluator;
use std::path::PathBuf;
use std::process::ExitCode;

/// The `harness evaluator` subcommands.
#[derive(clap::Subcommand)]
pub enum Args {
    /// Train (or load) the evaluator under RESULTS/evaluators/<hash> and print its accuracy.
    Train {
        /// The results directory.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Folder holding the four MNIST files (default: $HARNESS_DATA_DIR, else data/mnist).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn exec(a: Args) -> CliResult {
    let Args::Train { results, data_dir } = a;
    let store = open_store(&results)?;
    let data = mnist::load_cached(&mnist::resolve_dir(data_dir.as_deref()))?;
    let (ev, _) = load_evaluator(&store.root, &data)?;
    println!(
        "evaluator {}: test accuracy {:.2}% ({})",
        ev.hash,
        100.0 * ev.test_accuracy,
        ev.spec.dir(&store.root).display()
    );
    Ok(ExitCode::SUCCESS)
}
