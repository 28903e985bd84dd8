//! `harness ls`: the runs of a results directory, one line each.

use super::error::CliResult;
use super::input::open_store;
use crate::browse;
use std::path::PathBuf;
use std::process::ExitCode;

/// List the runs under a results directory.
#[derive(clap::Args)]
pub struct Args {
    #[arg(default_value = "results")]
    dir: PathBuf,
}

pub fn exec(a: Args) -> CliResult {
    print!("{}", browse::ls(&open_store(&a.dir)?)?);
    Ok(ExitCode::SUCCESS)
}
