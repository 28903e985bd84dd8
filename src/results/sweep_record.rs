//! `sweeps/<name>.json`: which runs belong to a sweep and the SLURM job arrays submitted for
//! it, for `status` and `report`.
//!
//! Updated under an exclusive lock on `sweeps/.<name>.lock` (read, merge, atomic write), so
//! concurrent sweeps and submissions of one grid keep each other's entries.

use super::tree_dirs;
use crate::atomic_file::write_atomic;
use crate::grid::Plan;
use anyhow::{Context, Result};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `sweeps/<name>.json`. Every field has a default so that older or hand-written records read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SweepRecord {
    /// The grid's `name` (the file stem of the record when empty).
    pub name: String,
    /// The question the grid asks (shown in the report).
    pub description: String,
    /// The grid file, as given on the command line.
    pub grid_file: String,
    /// Hashes of every configuration the grid expanded to, over every run of it.
    pub runs: Vec<String>,
    /// Config keys that vary between the configurations.
    pub varying: Vec<String>,
    /// RFC 3339, last change.
    pub updated: String,
    /// Job arrays submitted for this sweep, oldest first.
    pub slurm: Vec<SlurmJob>,
}

/// One submitted SLURM job array.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlurmJob {
    pub job_id: String,
    /// RFC 3339.
    pub submitted: String,
    /// The submission folder (plan.tsv, configs/, job.sbatch, logs/).
    pub dir: PathBuf,
    /// Config hash of each array task, by task index.
    pub tasks: Vec<String>,
    /// Submitted with `--retry-failed`.
    #[serde(default)]
    pub retry_failed: bool,
}

impl SlurmJob {
    /// The log file of array task `index`.
    pub fn log(&self, index: usize) -> PathBuf {
        self.dir
            .join("logs")
            .join(format!("{}_{index}.out", self.job_id))
    }
}

fn path(root: &Path, name: &str) -> PathBuf {
    root.join(tree_dirs::SWEEPS).join(format!("{name}.json"))
}

/// The record of sweep `name` under the results tree `root`, if one was written.
pub fn read(root: &Path, name: &str) -> Option<SweepRecord> {
    let text = std::fs::read_to_string(path(root, name)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every sweep record under `root`, by file name, and a warning for each that does not parse.
pub fn read_all(root: &Path) -> (Vec<SweepRecord>, Vec<String>) {
    let (mut records, mut warnings) = (Vec::new(), Vec::new());
    let Ok(dir) = std::fs::read_dir(root.join(tree_dirs::SWEEPS)) else {
        return (records, warnings);
    };
    let mut paths: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let rec = std::fs::read_to_string(&p)
            .map_err(anyhow::Error::from)
            .and_then(|s| Ok(serde_json::from_str::<SweepRecord>(&s)?));
        match rec {
            Ok(mut r) => {
                if r.name.is_empty() {
                    r.name = p.file_stem().unwrap_or_default().to_string_lossy().into();
                }
                records.push(r);
            }
            Err(e) => warnings.push(format!("{}: {e:#}", p.display())),
        }
    }
    (records, warnings)
}

/// Merge `plan` into its sweep record under `root` and apply `change`, holding the record's
/// lock throughout (see the module docs).
pub fn record_plan(root: &Path, plan: &Plan, change: impl FnOnce(&mut SweepRecord)) -> Result<()> {
    let path = path(root, &plan.name);
    let dir = path.parent().expect("sweeps folder");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join(format!(".{}.lock", plan.name));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    FileExt::lock_exclusive(&lock).with_context(|| format!("locking {}", lock_path.display()))?;
    let mut rec = read(root, &plan.name).unwrap_or_default();
    rec.name = plan.name.clone();
    rec.description = plan.description.clone();
    rec.grid_file = plan.file.display().to_string();
    for e in &plan.entries {
        if !rec.runs.contains(&e.hash) {
            rec.runs.push(e.hash.clone());
        }
    }
    rec.varying = plan.varying.clone();
    rec.updated = super::record::now_rfc3339();
    change(&mut rec);
    let result = write_atomic(&path, serde_json::to_string_pretty(&rec)?.as_bytes());
    let _ = FileExt::unlock(&lock);
    result
}
