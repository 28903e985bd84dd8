//! Why a command failed, kept typed until [`CliError::exit_code`] chooses between 2 (bad
//! input: nothing was run) and 1 (a failure while running).

use crate::slurm::SlurmError;
use crate::sweep::SweepError;
use harness_core::data::mnist::DataError;
use harness_core::grid::GridError;
use harness_core::results::store::StoreError;
use harness_core::results::sweep_record::UnreadableRecord;
use std::process::ExitCode;

/// Why a command failed.
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
            SweepError::Failed(f) => failed(f),
        }
    }
}

/// A failure, unless what failed is a file the user can fix (an unreadable sweep record):
/// that is bad input.
fn failed(f: anyhow::Error) -> CliError {
    let unreadable = f.chain().any(|e| e.is::<UnreadableRecord>());
    if unreadable {
        CliError::BadInput(format!("{f:#}"))
    } else {
        CliError::Failed(f)
    }
}

impl From<SlurmError> for CliError {
    fn from(e: SlurmError) -> Self {
        match e {
            SlurmError::Data(d) => CliError::Data(d),
            SlurmError::Failed(f) => failed(f),
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

/// A [`CliError::BadInput`] with this message.
pub fn bad(msg: impl Into<String>) -> CliError {
    CliError::BadInput(msg.into())
}
