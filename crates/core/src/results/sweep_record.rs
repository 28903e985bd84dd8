//! `sweeps/<name>.json`: which runs belong to a sweep and the SLURM job arrays submitted for
//! it, for `status` and `report`.
//!
//! Updated under an exclusive lock on `sweeps/.<name>.lock` (read, merge, atomic write), so
//! concurrent sweeps and submissions of one grid keep each other's entries.

use super::{json, tree_dirs};
use crate::claims::Claim;
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
    /// The grid file's `[[claim]]` tables as of its latest sweep or submission, in the grid
    /// file's shape: the report tests them without the grid file. Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
    /// Hashes of the runs a `[[sample]]` table drew, over every sweep of the grid: the report
    /// draws its budget and distribution views over them. Absent when the grid draws nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sampled: Vec<String>,
    /// Keys whose values group the draws in those views (the grid's latest sweep).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sample_groups: Vec<String>,
    /// The grid's `design_seeds`: the seeds its claims were chosen on. Absent when not stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_seeds: Option<Vec<u64>>,
    /// When each claim was first registered with this sweep, by claim id
    /// ([`crate::claims::stamp::claim_id`]), RFC 3339: the report says whether a claim was
    /// stated before its runs. Stamps of claims since edited or removed are kept (an edited
    /// claim is a new claim; restoring the old text restores its stamp).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub claim_stamps: std::collections::BTreeMap<String, String>,
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
    json::read(&path(root, name)).ok()
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
        match json::read::<SweepRecord>(&p) {
            Ok(mut r) => {
                if r.name.is_empty() {
                    r.name = p.file_stem().unwrap_or_default().to_string_lossy().into();
                }
                records.push(r);
            }
            Err(e) => warnings.push(format!("{e:#}")),
        }
    }
    (records, warnings)
}

/// A sweep record that exists but does not parse (empty, truncated, not UTF-8, hand-edited,
/// or written by a later release): bad input, left unchanged, since overwriting it would lose
/// its runs, job arrays and claims.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: not a readable sweep record ({why}); it was left unchanged. Fix: restore it from a \
     backup, or move it aside (`mv {0} {0}.aside`) and sweep again, which writes a new one \
     (the moved file keeps the old SLURM job list and claims)",
    path.display()
)]
pub struct UnreadableRecord {
    pub path: PathBuf,
    pub why: String,
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
    // A record that exists but does not parse (hand-edited, or written by a later release) is
    // left as it is: overwriting it would lose its runs and job arrays.
    let mut rec: SweepRecord = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| UnreadableRecord {
            path: path.clone(),
            why: if bytes.is_empty() {
                "it is empty".into()
            } else {
                e.to_string()
            },
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SweepRecord::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    rec.name = plan.name.clone();
    rec.description = plan.description.clone();
    rec.grid_file = plan.file.display().to_string();
    for e in &plan.entries {
        if !rec.runs.contains(&e.hash) {
            rec.runs.push(e.hash.clone());
        }
    }
    for h in &plan.sampled {
        if !rec.sampled.contains(h) {
            rec.sampled.push(h.clone());
        }
    }
    rec.sample_groups = plan.sample_groups.clone();
    rec.varying = plan.varying.clone();
    rec.claims = plan.claims.clone();
    rec.design_seeds = plan.design_seeds.clone();
    rec.updated = super::record::now_rfc3339();
    for c in &plan.claims {
        let id = crate::claims::stamp::claim_id(c);
        rec.claim_stamps
            .entry(id)
            .or_insert_with(|| rec.updated.clone());
    }
    change(&mut rec);
    let result = json::write(&path, &rec);
    let _ = FileExt::unlock(&lock);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::parse_plan;

    const GRID: &str = "name = \"g\"\nseeds = [1, 2]\n[base]\ndataset = \"swissroll\"\n\
        [[grid]]\nloss = [\"wgan-clip\", \"wgan-gp\"]\n";

    fn plan(claims: &str) -> Plan {
        parse_plan(Path::new("g.toml"), &format!("{GRID}{claims}"), None).unwrap()
    }

    /// The record keeps the grid file's claims as of its latest sweep: a changed claim replaces
    /// the old one, and removing every claim removes them (the runs stay).
    #[test]
    fn claims_follow_the_grid_file() {
        let dir = tempfile::tempdir().unwrap();
        let one = "[[claim]]\ntext = \"a\"\nmetric = \"sliced_wasserstein\"\nat_most = 1\n";
        record_plan(dir.path(), &plan(one), |_| {}).unwrap();
        let rec = read(dir.path(), "g").unwrap();
        assert_eq!(rec.claims, plan(one).claims);
        assert_eq!(rec.runs.len(), 4);
        let text = std::fs::read_to_string(path(dir.path(), "g")).unwrap();
        assert!(text.contains("\"at_most\": 1.0"), "{text}");

        let two = one.replace("at_most = 1", "at_most = 0.5");
        record_plan(dir.path(), &plan(&two), |_| {}).unwrap();
        let rec = read(dir.path(), "g").unwrap();
        assert_eq!(rec.claims.len(), 1);
        assert_eq!(rec.claims, plan(&two).claims);

        record_plan(dir.path(), &plan(""), |_| {}).unwrap();
        let text = std::fs::read_to_string(path(dir.path(), "g")).unwrap();
        assert!(!text.contains("claims"), "{text}");
        assert_eq!(read(dir.path(), "g").unwrap().runs.len(), 4);
    }

    /// Each claim is stamped when first registered; a later sweep keeps the stamp, an edited
    /// claim gets its own.
    #[test]
    fn claims_are_stamped_when_first_registered() {
        let dir = tempfile::tempdir().unwrap();
        let one = "[[claim]]\ntext = \"a\"\nmetric = \"sliced_wasserstein\"\nat_most = 1\n";
        record_plan(dir.path(), &plan(one), |_| {}).unwrap();
        let first = read(dir.path(), "g").unwrap().claim_stamps;
        assert_eq!(first.len(), 1);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        record_plan(dir.path(), &plan(one), |_| {}).unwrap();
        assert_eq!(read(dir.path(), "g").unwrap().claim_stamps, first);
        let two = one.replace("at_most = 1", "at_most = 0.5");
        record_plan(dir.path(), &plan(&two), |_| {}).unwrap();
        let stamps = read(dir.path(), "g").unwrap().claim_stamps;
        assert_eq!(stamps.len(), 2);
        let id = crate::claims::stamp::claim_id(&plan(&two).claims[0]);
        assert!(stamps[&id] > first.values().next().unwrap().clone());
    }

    /// Records written before claims existed load with none; a record that does not parse is
    /// left as it is rather than replaced by a fresh one.
    #[test]
    fn older_records_load_and_broken_ones_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "g");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"name": "g", "runs": ["aaaaaaaaaaaa"], "varying": ["loss"]}"#,
        )
        .unwrap();
        let rec = read(dir.path(), "g").unwrap();
        assert!(rec.claims.is_empty());
        record_plan(dir.path(), &plan(""), |_| {}).unwrap();
        assert_eq!(read(dir.path(), "g").unwrap().runs.len(), 5);

        let broken = r#"{"name": "g", "runs": ["aaaaaaaaaaaa"], "claims": [{"text": "t"}]}"#;
        std::fs::write(&p, broken).unwrap();
        let err = record_plan(dir.path(), &plan(""), |_| {}).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a readable sweep record"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), broken);
    }
}
