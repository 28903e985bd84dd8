//! The `harness` command line: one module per command, each with its clap `Args` and an `exec`
//! that turns them into calls of the library and prints the outcome (cargo's `commands/` over
//! its `ops/`). Errors stay typed up to [`CliError::exit_code`], which alone decides between
//! exit code 2 (bad input: nothing was run) and 1 (a run or an operation failed).

mod bench;
mod data;
mod eval;
mod evaluator;
mod ls;
mod report;
mod run;
mod show;
mod status;
mod sweep;

use crate::config::Backend;
use crate::data::mnist::DataError;
use crate::grid::{self, GridError};
use crate::slurm::SlurmError;
use crate::store::{Store, StoreError};
use crate::sweep::SweepError;
use clap::builder::PossibleValue;
use clap::{Parser, Subcommand};
use std::path::Path;
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
    Sweep(sweep::Args),
    Status(status::Args),
    Run(run::Args),
    Ls(ls::Args),
    Show(show::Args),
    Bench(bench::Args),
    Report(report::Args),
    Eval(eval::Args),
    Evaluator(evaluator::Args),
    Data(data::Args),
}

/// Why a command failed, kept typed until the exit code is chosen.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// What the user gave us is wrong (flags, files); says what would be valid.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Grid(#[from] GridError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Slurm(SlurmError),
    /// Something failed while running (a run, a write, a child process).
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl From<SweepError> for CliError {
    fn from(e: SweepError) -> Self {
        match e {
            SweepError::Data(d) => CliError::Data(d),
            SweepError::Failed(f) => CliError::Failed(f),
        }
    }
}

impl From<SlurmError> for CliError {
    fn from(e: SlurmError) -> Self {
        match e {
            SlurmError::Data(d) => CliError::Data(d),
            SlurmError::Failed(f) => CliError::Failed(f),
            other => CliError::Slurm(other),
        }
    }
}

impl CliError {
    /// 2 for bad input (nothing was run), 1 for a failure while running.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) => 1,
            // Fetching or storing the data failed: not something the user got wrong.
            CliError::Data(DataError::DownloadFailed { .. } | DataError::Write { .. }) => 1,
            CliError::BadInput(_)
            | CliError::Grid(_)
            | CliError::Store(_)
            | CliError::Data(_)
            | CliError::Slurm(_) => 2,
        }
    }
}

/// What a command's `exec` returns.
pub type CliResult = Result<ExitCode, CliError>;

fn bad(msg: impl Into<String>) -> CliError {
    CliError::BadInput(msg.into())
}

/// `--backend` and `--backends` take the config's spellings.
impl clap::ValueEnum for Backend {
    fn value_variants<'a>() -> &'a [Self] {
        Backend::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// A results directory given on the command line (a path that is a file is bad input).
fn open_store(path: &Path) -> Result<Store, CliError> {
    Ok(Store::new(path)?)
}

/// A grid file's plan, refused above `limit` configurations.
fn load_plan(file: &Path, limit: Option<usize>) -> Result<grid::Plan, CliError> {
    Ok(grid::load_plan(file, limit)?)
}

/// Parse the command line, run the command, print any error, and choose the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sweep(a) => sweep::exec(a),
        Command::Status(a) => status::exec(a),
        Command::Run(a) => run::exec(a),
        Command::Ls(a) => ls::exec(a),
        Command::Show(a) => show::exec(a),
        Command::Bench(a) => bench::exec(a),
        Command::Report(a) => report::exec(a),
        Command::Eval(a) => eval::exec(a),
        Command::Evaluator(a) => evaluator::exec(a),
        Command::Data(a) => data::exec(a),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(e.exit_code())
    })
}
