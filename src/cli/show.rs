//! `harness show HASH`: everything about one run.

use super::error::CliResult;
use super::input::open_store;
use crate::browse;
use harness_core::results::run_files;
use harness_core::results::store;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Show one run (by hash prefix).
#[derive(clap::Args)]
pub struct Args {
    /// The run's hash, or a unique prefix of it.
    hash: String,
    /// The results directory.
    #[arg(long, default_value = "results")]
    results: PathBuf,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.results)?;
    let dir = store.find(&a.hash)?;
    print!("{}", describe(&dir)?);
    Ok(ExitCode::SUCCESS)
}

/// Everything about the run folder `dir`.
fn describe(dir: &Path) -> anyhow::Result<String> {
    let cfg = store::read_config(dir)?;
    let mut out = String::new();
    let _ = writeln!(out, "run {}  ({})", dir.display(), cfg.label());
    let _ = writeln!(
        out,
        "\n[config]\n{}",
        std::fs::read_to_string(dir.join(run_files::CONFIG))?.trim_end()
    );
    if let Ok(r) = std::fs::read_to_string(dir.join(run_files::RECORD)) {
        let _ = writeln!(out, "\n[run.json]\n{}", r.trim_end());
    }
    if let Ok(s) = std::fs::read_to_string(dir.join(run_files::SUMMARY)) {
        let _ = writeln!(out, "\n[summary.json]\n{}", s.trim_end());
    }
    let _ = writeln!(out, "\n[differences from the fidelity profiles]");
    for (p, diffs) in browse::profile_diffs(&cfg) {
        if diffs.is_empty() {
            let _ = writeln!(out, "{p}: identical on every key it sets");
        } else {
            let list: Vec<String> = diffs
                .iter()
                .map(|(k, a, b)| format!("{k}={a} (profile: {b})"))
                .collect();
            let _ = writeln!(out, "{p}: {}", list.join(", "));
        }
    }
    Ok(out)
}
