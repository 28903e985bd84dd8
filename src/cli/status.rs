//! `harness status`: where each sweep of a results directory stands.

use super::error::{CliResult, bad};
use super::input::open_store;
use crate::results::sweep_record;
use crate::status;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where each sweep of a results directory stands (done / running / pending / failed ...),
/// with SLURM's view of submitted arrays.
#[derive(clap::Args)]
pub struct Args {
    #[arg(default_value = "results")]
    dir: PathBuf,
    /// Only this sweep (by name).
    #[arg(long)]
    sweep: Option<String>,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.dir)?;
    if !a.dir.is_dir() {
        return Err(bad(format!(
            "{} is not a results directory",
            a.dir.display()
        )));
    }
    let mut records = sweep_record::read_all(&store.root).0;
    if let Some(name) = &a.sweep {
        records.retain(|r| &r.name == name);
        if records.is_empty() {
            return Err(bad(format!(
                "--sweep {name}: no such sweep under {} (see {}/sweeps/)",
                a.dir.display(),
                a.dir.display()
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
