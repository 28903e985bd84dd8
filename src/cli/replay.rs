//! `harness replay`: train K generator iterations and record everything a step-by-step replay
//! elsewhere needs (docs/replay-format.md; the PyTorch oracle in `oracle/` reads it).

use super::error::{CliError, CliResult, bad};
use harness_engine::replay::{self, ReplayError, ReplayOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Train K generator iterations and record initial/final weights, every random input and each
/// step's losses, for a step-by-step replay elsewhere (docs/replay-format.md).
#[derive(clap::Args)]
pub struct Args {
    /// A resolved config.toml, or any config `harness run --config` accepts.
    #[arg(long)]
    config: PathBuf,
    /// Generator iterations to train.
    #[arg(long)]
    steps: u32,
    /// Folder to create (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
    /// Compute in f64 (random inputs are drawn as in f32 runs, then cast).
    #[arg(long)]
    f64: bool,
    /// Folder holding the four MNIST files (default: $HARNESS_DATA_DIR, else data/mnist).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn exec(a: Args) -> CliResult {
    let opts = ReplayOptions {
        steps: a.steps,
        f64: a.f64,
        data_dir: a.data_dir,
    };
    match replay::command(&a.config, &a.out, &opts) {
        Ok(line) => println!("{line}"),
        Err(ReplayError::Input(m)) => return Err(bad(m)),
        Err(ReplayError::Run(e)) => return Err(CliError::Failed(e)),
    }
    Ok(ExitCode::SUCCESS)
}
