//! `harness verify [DIR] [HASH...]`: check a results tree (read-only) and print one line per
//! problem; exit 1 when anything is damaged, 0 when clean (notes alone leave it clean).

use super::error::{CliResult, bad};
use super::input::open_store;
use harness_core::results::verify;
use std::path::PathBuf;
use std::process::ExitCode;

/// Check every run of a results directory against its manifest, config hash and checkpoint
/// digests, and its sweep records; nothing is written.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory.
    #[arg(default_value = "results")]
    dir: PathBuf,
    /// Only these runs (hash prefixes); default: every run folder and sweep record.
    hashes: Vec<String>,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.dir)?;
    if !a.dir.is_dir() {
        return Err(bad(format!(
            "{} is not a results directory (it does not exist)",
            a.dir.display()
        )));
    }
    let started = std::time::Instant::now();
    let found = verify::check_tree(&store, &a.hashes)?;
    for note in &found.notes {
        harness_core::errln!("note: {note}");
    }
    for p in &found.problems {
        harness_core::outln!("{p}");
    }
    harness_core::errln!(
        "verified {} run folder(s) under {} in {:.2} s: {}",
        found.runs,
        a.dir.display(),
        started.elapsed().as_secs_f64(),
        match found.problems.len() {
            0 => "no problems".to_string(),
            n => format!("{n} problem(s)"),
        }
    );
    Ok(if found.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
