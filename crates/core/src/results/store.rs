//! The results store: one folder per configuration hash, written atomically, guarded by a lock.
//!
//! What each file of a run folder holds is [`crate::results`]'s business (and
//! `docs/results-layout.md`'s); this module finds run folders and plans around their state;
//! [`crate::results::lock`] guards each with its lock.

use crate::config::RunConfig;
use crate::results::record::{self, RunRecord, Status};
use crate::results::run_files;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

pub use crate::results::atomic_file::write_atomic;
pub use crate::results::lock::{Holder, RunLock};

/// Status as seen by a planner: a folder may not exist yet, or hold a checkpoint to resume from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanStatus {
    New,
    Done,
    /// Started but not finished (crashed, killed, or stopping: its worker is saving its last
    /// checkpoint, and the next sweep waits for it and resumes it).
    Partial,
    Failed,
    Diverged,
    /// Another live worker holds the lock right now and has not been asked to stop.
    Running,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::New => "new",
            PlanStatus::Done => "done",
            PlanStatus::Partial => "partial",
            PlanStatus::Failed => "failed",
            PlanStatus::Diverged => "diverged",
            PlanStatus::Running => "running",
        }
    }
}

/// Root of a results tree.
#[derive(Clone, Debug)]
pub struct Store {
    pub root: PathBuf,
}

impl Store {
    /// Open (without creating) a results directory; a path that is a file is an error.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        if root.exists() && !root.is_dir() {
            return Err(StoreError::NotADirectory(root));
        }
        // `<file>/sub`: no folder can ever be created under a file.
        if let Some(file) = root.ancestors().skip(1).find(|a| a.is_file()) {
            return Err(StoreError::NotADirectory(file.to_path_buf()));
        }
        Ok(Self { root })
    }

    pub fn run_dir(&self, hash: &str) -> PathBuf {
        self.root.join(hash)
    }

    pub fn record(&self, hash: &str) -> Option<RunRecord> {
        record::read(&self.run_dir(hash))
    }

    /// Status for planning: done/failed/diverged from `run.json`; `running` if a live process
    /// trains it; `partial` for a started run nobody holds or whose holder is stopping (what
    /// the next sweep resumes).
    pub fn plan_status(&self, hash: &str) -> PlanStatus {
        let dir = self.run_dir(hash);
        let Some(rec) = record::read(&dir) else {
            return if dir.join(run_files::CONFIG).exists() {
                PlanStatus::Partial
            } else {
                PlanStatus::New
            };
        };
        match rec.status {
            Status::Done => PlanStatus::Done,
            Status::Failed => PlanStatus::Failed,
            Status::Diverged => PlanStatus::Diverged,
            Status::Running => {
                if let Holder::Training(_) = RunLock::holder(&dir) {
                    PlanStatus::Running
                } else {
                    PlanStatus::Partial
                }
            }
        }
    }

    /// Every run folder under the root (folders holding a `config.toml`), sorted by name.
    pub fn runs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = walkdir::WalkDir::new(&self.root)
            .min_depth(1)
            .max_depth(2)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_dir() && e.path().join(run_files::CONFIG).exists())
            .map(|e| e.into_path())
            .collect();
        out.sort();
        out
    }

    /// Every run folder under the root, sorted: [`Store::runs`], and the folders beside them
    /// that are not the tree's own ([`crate::results::tree_dirs`]) and either hold a run's
    /// file or are named like a hash (12 hex digits): a run whose `config.toml` was lost is
    /// listed as damaged, never hidden.
    pub fn run_folders(&self) -> Vec<PathBuf> {
        let mut out = self.runs();
        let Ok(entries) = fs::read_dir(&self.root) else {
            return out;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let (p, name) = (e.path(), e.file_name().to_string_lossy().into_owned());
            let hashlike = name.len() == 12 && name.bytes().all(|b| b.is_ascii_hexdigit());
            let ours = crate::results::tree_dirs::ALL.contains(&name.as_str());
            let has_run_file = [
                run_files::RECORD,
                run_files::CHECKPOINTS,
                run_files::METRICS,
            ]
            .iter()
            .any(|f| p.join(f).exists());
            if p.is_dir() && !ours && (hashlike || has_run_file) && !out.contains(&p) {
                out.push(p);
            }
        }
        out.sort();
        out
    }

    /// Find a run by hash prefix; ambiguous or unknown prefixes are errors.
    pub fn find(&self, prefix: &str) -> Result<PathBuf, StoreError> {
        let mut hits: Vec<PathBuf> = self
            .run_folders()
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
            .collect();
        match hits.len() {
            0 => Err(StoreError::NoSuchRun {
                prefix: prefix.into(),
                root: self.root.clone(),
            }),
            1 => Ok(hits.remove(0)),
            n => Err(StoreError::Ambiguous {
                prefix: prefix.into(),
                matches: n,
            }),
        }
    }
}

/// A results directory or run that cannot be used as given.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "results path {} is a file, not a directory; pass --results DIR with a directory",
        .0.display()
    )]
    NotADirectory(PathBuf),
    #[error(
        "no run whose hash starts with `{prefix}` under {}; `harness ls {}` lists them",
        root.display(),
        root.display()
    )]
    NoSuchRun { prefix: String, root: PathBuf },
    #[error("`{prefix}` matches {matches} runs; give more characters of the hash")]
    Ambiguous { prefix: String, matches: usize },
}

/// The resolved config as canonical TOML (keys sorted): what `harness run --config` reads.
pub fn config_text(cfg: &RunConfig) -> Result<String> {
    let flat: std::collections::BTreeMap<_, _> = cfg.to_flat().into_iter().collect();
    Ok(toml::to_string(&flat)?)
}

/// Write the resolved config into a run folder.
pub fn write_config(dir: &Path, cfg: &RunConfig) -> Result<()> {
    write_atomic(&dir.join(run_files::CONFIG), config_text(cfg)?.as_bytes())
}

pub fn read_config(dir: &Path) -> Result<RunConfig> {
    let path = dir.join(run_files::CONFIG);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    RunConfig::from_flat_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn host_name() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// The git commit the binary was built from, when built inside a checkout.
pub fn git_commit() -> Option<String> {
    option_env!("HARNESS_GIT_COMMIT")
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}
