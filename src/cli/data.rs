//! `harness data mnist`: fetch MNIST, verified.

use super::error::CliResult;
use harness_core::data::{download, mnist};
use std::path::PathBuf;
use std::process::ExitCode;

/// The `harness data` subcommands.
#[derive(clap::Subcommand)]
pub enum Args {
    /// Download MNIST (checksums verified) into --data-dir (default: data/mnist).
    Mnist {
        /// Where to put the files (default: $HARNESS_DATA_DIR, else data/mnist).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Mirror base URLs to try in order (default: the usual public mirrors).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
}

pub fn exec(a: Args) -> CliResult {
    let Args::Mnist { data_dir, mirrors } = a;
    let dir = mnist::resolve_dir(data_dir.as_deref());
    let mut opts = download::DownloadOptions::default();
    if !mirrors.is_empty() {
        opts.mirrors = mirrors;
    }
    let rep = download::download_mnist(&dir, &opts)?;
    for f in &rep.already_present {
        println!("{f}: already present and verified");
    }
    for f in &rep.fetched {
        println!("{f}: downloaded and verified");
    }
    println!("MNIST is ready in {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
