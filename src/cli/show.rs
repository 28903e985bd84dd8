//! `harness show HASH`: everything about one run.

use super::error::CliResult;
use super::input::open_store;
use crate::browse;
use std::path::PathBuf;
use std::process::ExitCode;

/// Show one run (by hash prefix).
#[derive(clap::Args)]
pub struct Args {
    hash: String,
    #[arg(long, default_value = "results")]
    results: PathBuf,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.results)?;
    let dir = store.find(&a.hash)?;
    print!("{}", browse::show(&dir)?);
    Ok(ExitCode::SUCCESS)
}
