//! `<run>/run.json`: what happened to a run, for humans and for `ls`, `status` and `report`.

use super::{json, run_files};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// Lifecycle state of a run folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Training, or stopped without finishing (crashed, killed, interrupted): the lock tells
    /// which. Also what a record without a status reads as.
    #[default]
    Running,
    Done,
    Failed,
    /// A loss or parameter became NaN or infinite; kept and reported.
    Diverged,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Done,
        Status::Running,
        Status::Failed,
        Status::Diverged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Diverged => "diverged",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `run.json`. Every field has a default so that records written by earlier releases (or by
/// hand, in tests) still read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunRecord {
    pub status: Status,
    /// RFC 3339, when the run was first started.
    pub started: String,
    /// RFC 3339, when the last attempt ended (`null` while running).
    pub finished: Option<String>,
    pub harness_version: String,
    /// The commit the binary was built from, when built inside a git checkout.
    pub git_commit: Option<String>,
    /// Compute backend (`flex`, `ndarray`, `vulkan`, `cuda`).
    pub backend: String,
    /// The backend's device, as Burn prints it.
    pub device: String,
    pub host: String,
    /// Seconds of training over all attempts.
    pub wall_s: f64,
    /// Why the run failed (`status` = `failed`).
    pub error: Option<String>,
    /// The step at which it diverged (`status` = `diverged`).
    pub diverged_at: Option<u32>,
    /// Generator iterations completed.
    pub step: u32,
    /// The sweep that last ran it.
    pub sweep: Option<String>,
    /// How many times this run was started (1 + resumes).
    pub attempts: u32,
    /// The CPU model of the last attempt (`/proc/cpuinfo`'s model name); empty in records
    /// that predate it.
    pub cpu: String,
    /// The SIMD level the matrix kernels dispatched to in the last attempt (`avx512f`,
    /// `avx2+fma`, `sse2`, `neon`): with `cpu`, what "same bytes" holds on.
    pub kernels: String,
    /// Every distinct `"<cpu> [<kernels>]"` the run's attempts ran on, in order: more than one
    /// when it was resumed on another machine.
    pub cpus: Vec<String>,
    /// 1 when written by a release whose checkpoints carry tensor digests and whose finished
    /// runs carry `manifest.json`; 0 (absent) before: such a finished run without a manifest
    /// predates manifests rather than lost it.
    pub integrity: u32,
}

/// The [`RunRecord::integrity`] this release writes.
pub const INTEGRITY: u32 = 1;

/// The current time as the records write it (RFC 3339, UTC, whole seconds).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The record of the run folder `dir`; `None` when absent or unreadable.
pub fn read(dir: &Path) -> Option<RunRecord> {
    try_read(dir).ok()
}

/// The record of `dir`, with the reason when it cannot be read or parsed.
pub fn try_read(dir: &Path) -> Result<RunRecord> {
    json::read(&dir.join(run_files::RECORD))
}

pub fn write(dir: &Path, rec: &RunRecord) -> Result<()> {
    json::write(&dir.join(run_files::RECORD), rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_newer_fields_reads() {
        let old = r#"{"status": "done", "started": "2025-01-01T00:00:00Z", "finished": null,
            "harness_version": "0.1.0", "git_commit": null, "backend": "flex", "device": "Cpu",
            "host": "h", "wall_s": 1.5, "error": null, "diverged_at": null, "step": 10,
            "sweep": null}"#;
        let r: RunRecord = serde_json::from_str(old).unwrap();
        assert_eq!((r.status, r.step, r.attempts), (Status::Done, 10, 0));
        let bare: RunRecord = serde_json::from_str("{}").unwrap();
        assert_eq!(bare.status, Status::Running);
    }
}
