//! The `harness` command line: one module per command, each with its clap `Args` and an `exec`
//! that turns them into calls of the library and prints the outcome (cargo's `commands/` over
//! its `ops/`). Errors stay typed up to [`CliError::exit_code`], which alone decides between
//! exit code 2 (bad input: nothing was run) and 1 (a run or an operation failed).

mod bench;
mod data;
mod error;
mod eval;
mod evaluator;
mod input;
mod ls;
mod replay;
mod report;
mod run;
mod show;
mod status;
mod sweep;
mod table;
mod verify;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

pub use error::{CliError, CliResult};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Reproducible GAN loss ablations on Burn: GAN, NS-GAN, WGAN and hinge objectives x \
             clipping, gradient penalties (GP, LP, R1, R2) and spectral norm"
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
    Replay(replay::Args),
    Eval(eval::Args),
    Verify(verify::Args),
    /// The MNIST evaluator (a LeNet trained once per results directory).
    #[command(subcommand)]
    Evaluator(evaluator::Args),
    /// Datasets.
    #[command(subcommand)]
    Data(data::Args),
}

/// The command-line interface as clap describes it (for tests that hold the README to it).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parse the command line, run the command, print any error, and choose the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The commands that train save their state whatever becomes of their output; the others
    // stop quietly when their reader goes away.
    if !matches!(cli.command, Command::Sweep(_) | Command::Run(_)) {
        harness_core::console::die_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Sweep(a) => sweep::exec(a),
        Command::Status(a) => status::exec(a),
        Command::Run(a) => run::exec(a),
        Command::Ls(a) => ls::exec(a),
        Command::Show(a) => show::exec(a),
        Command::Bench(a) => bench::exec(a),
        Command::Report(a) => report::exec(a),
        Command::Replay(a) => replay::exec(a),
        Command::Eval(a) => eval::exec(a),
        Command::Verify(a) => verify::exec(a),
        Command::Evaluator(a) => evaluator::exec(a),
        Command::Data(a) => data::exec(a),
    };
    result.unwrap_or_else(|e| {
        harness_core::errln!("error: {e}");
        ExitCode::from(e.exit_code())
    })
}
