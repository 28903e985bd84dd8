//! `harness verify`: a read-only fsck of a results tree. Every run folder is checked against
//! what it claims to be: its `config.toml` against its folder name (the hash), its `run.json`
//! and `summary.json` that they parse, a finished run against its manifest (and its final
//! step's rows), an unfinished run's latest checkpoint against its seal and tensor digests;
//! and every sweep record that it reads. Each problem names the file, what is wrong and the
//! fix. A sweep runs [`check_run`] on every finished run it would skip, so damage found here
//! is also what the sweep refuses.

use crate::config::RunConfig;
use crate::hash::short_hash;
use crate::results::record::{self, RunRecord, Status};
use crate::results::runlog::{Cadence, RunLogs};
use crate::results::store::{self, RunLock, Store};
use crate::results::{json, manifest, run_files, summary, sweep_record, tree_dirs};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong in a results tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub what: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; fix: {}",
            self.path.display(),
            self.what,
            self.fix
        )
    }
}

/// What [`check_run`] or [`check_tree`] found: problems (damage: exit 1) and notes (worth
/// knowing, not damage: old runs without a manifest, seeds run on different CPUs).
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
    /// Runs checked.
    pub runs: usize,
}

/// The fix for damage to a run's files: train it again, its files moved aside.
fn restart_fix(dir: &Path) -> String {
    let hash = dir.file_name().unwrap_or_default().to_string_lossy();
    format!(
        "`harness sweep GRID --restart {hash}` moves its files into {}/{}/<UTC time>/ and \
         trains it again, or restore the file from a backup",
        dir.display(),
        run_files::DISCARDED
    )
}

fn problem(findings: &mut Findings, dir: &Path, path: PathBuf, what: impl Into<String>) {
    findings.problems.push(Problem {
        path,
        what: what.into(),
        fix: restart_fix(dir),
    });
}

/// The run folder `dir` checked (read-only).
pub fn check_run(dir: &Path) -> Findings {
    let mut f = Findings {
        runs: 1,
        ..Findings::default()
    };
    let cfg = check_config(dir, &mut f);
    let rec_path = dir.join(run_files::RECORD);
    let rec = match rec_path.exists().then(|| record::try_read(dir)) {
        Some(Err(e)) => {
            problem(&mut f, dir, rec_path, format!("does not parse ({e:#})"));
            None
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let sum_path = dir.join(run_files::SUMMARY);
    if sum_path.exists()
        && let Err(e) = json::read::<summary::Summary>(&sum_path)
    {
        problem(&mut f, dir, sum_path, format!("does not parse ({e:#})"));
    }
    f.problems.extend(lock_problem(dir));
    match &rec {
        Some(r) if matches!(r.status, Status::Done | Status::Diverged) => {
            check_finished(dir, r, cfg.as_ref(), &mut f)
        }
        // Its files change under us while it trains; its own resume checked them.
        _ if RunLock::is_held(dir) => f.notes.push(format!(
            "{}: being trained right now: its checkpoint and logs were not checked",
            dir.display()
        )),
        _ => check_unfinished(dir, cfg.as_ref(), &mut f),
    }
    f
}

/// What a resume of the unfinished run `dir` would refuse, checked the same way without
/// training (its lock, `run.json`, the checkpoint and logs): what `status` says of an
/// interrupted run, so it agrees with the next sweep.
pub fn resume_problems(dir: &Path) -> Vec<Problem> {
    let mut f = Findings::default();
    f.problems.extend(lock_problem(dir));
    if let Err(e) = record::try_read(dir)
        && dir.join(run_files::RECORD).exists()
    {
        let what = format!("does not parse ({e:#})");
        problem(&mut f, dir, dir.join(run_files::RECORD), what);
    }
    let cfg = store::read_config(dir).ok();
    check_unfinished(dir, cfg.as_ref(), &mut f);
    f.problems
}

/// `config.toml` present, parsing, and hashing to its folder's name.
fn check_config(dir: &Path, f: &mut Findings) -> Option<RunConfig> {
    let path = dir.join(run_files::CONFIG);
    if !path.exists() {
        problem(f, dir, path, "is missing (every run folder has one)");
        return None;
    }
    let cfg = match store::read_config(dir) {
        Ok(c) => c,
        Err(e) => {
            problem(f, dir, path, format!("does not parse ({e:#})"));
            return None;
        }
    };
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let hash = short_hash(&cfg);
    if hash != name {
        problem(
            f,
            dir,
            path,
            format!("hashes to {hash}, not to its folder's name {name} (it was edited)"),
        );
    }
    Some(cfg)
}

/// Problems of a finished run against its manifest alone (what `report` marks a run for: it
/// also reads hand-made trees whose folders are not named by their config's hash).
pub fn manifest_problems(dir: &Path) -> Vec<Problem> {
    let mut f = Findings::default();
    if let Some(rec) = record::read(dir)
        && matches!(rec.status, Status::Done | Status::Diverged)
    {
        check_manifest(dir, &rec, &mut f);
    }
    f.problems
}

/// A finished run: its manifest, and (done) the final step's row in `metrics.csv`.
fn check_finished(dir: &Path, rec: &RunRecord, cfg: Option<&RunConfig>, f: &mut Findings) {
    check_manifest(dir, rec, f);
    if rec.status == Status::Done
        && let Some(cfg) = cfg
    {
        check_final_rows(dir, rec, cfg, f);
    }
}

/// The finished run `dir`'s files against its manifest; a missing manifest is a problem only
/// for a run whose release writes one (`integrity` >= 1), else a note.
fn check_manifest(dir: &Path, rec: &RunRecord, f: &mut Findings) {
    let path = dir.join(run_files::MANIFEST);
    match manifest::read(dir) {
        Err(e) => problem(f, dir, path, format!("is damaged: {e:#}")),
        Ok(None) if rec.integrity >= 1 => problem(
            f,
            dir,
            path,
            format!(
                "is missing, but run.json says {} (a run finishing writes it last)",
                rec.status
            ),
        ),
        Ok(None) => f.notes.push(format!(
            "{}: finished by a release that predates manifests ({}); its files cannot be \
             checked by digest",
            dir.display(),
            if rec.harness_version.is_empty() {
                "unknown version"
            } else {
                &rec.harness_version
            }
        )),
        Ok(Some(m)) => {
            for x in manifest::check(dir, &m) {
                problem(f, dir, x.path, x.problem);
            }
        }
    }
}

/// A done run has trained `gen_iters` steps and `metrics.csv` ends with the last one.
fn check_final_rows(dir: &Path, rec: &RunRecord, cfg: &RunConfig, f: &mut Findings) {
    let rec_path = dir.join(run_files::RECORD);
    if rec.step != cfg.gen_iters {
        let what = format!(
            "says done at step {}, but the run is {} steps long",
            rec.step, cfg.gen_iters
        );
        return problem(f, dir, rec_path, what);
    }
    let path = dir.join(run_files::METRICS);
    let last = std::fs::read_to_string(&path).ok().and_then(|t| {
        let line = t.lines().rev().find(|l| !l.trim().is_empty())?.to_string();
        line.split(',').next()?.parse::<u32>().ok()
    });
    if last != Some(cfg.gen_iters) {
        let got = last.map_or("no readable last row".into(), |s| {
            format!("ends at step {s}")
        });
        let what = format!(
            "{got}, but run.json says the run is done at step {}",
            cfg.gen_iters
        );
        problem(f, dir, path, what);
    }
}

/// An unfinished run: what a resume would check before training (the latest checkpoint's
/// seal and tensors, each log against it), and its lock.
fn check_unfinished(dir: &Path, cfg: Option<&RunConfig>, f: &mut Findings) {
    let checked = crate::results::checkpoints::check_latest(dir).and_then(|ck| {
        let (Some((step, logs)), Some(cfg)) = (ck, cfg) else {
            return Ok(());
        };
        let cadence = Cadence {
            log_every: cfg.log_every,
            eval_every: cfg.eval_every,
            end: cfg.gen_iters,
        };
        RunLogs::read_checked(dir, step, &cadence, logs.as_ref()).map(drop)
    });
    if let Err(r) = checked {
        problem(f, dir, r.path, r.problem);
    }
}

/// The run's lock, when it is something else than a file (no worker can take it).
pub fn lock_problem(dir: &Path) -> Option<Problem> {
    let lock = dir.join(run_files::LOCK);
    (lock.exists() && !lock.is_file()).then(|| Problem {
        what: "is not a file (the run's lock must be one: no worker can take it)".into(),
        fix: format!(
            "move it aside (`mv {0} {0}.aside`): the next sweep then resumes the run; or \
             `harness sweep GRID --restart {1}`, which moves it aside with the run's files",
            lock.display(),
            dir.file_name().unwrap_or_default().to_string_lossy()
        ),
        path: lock,
    })
}

/// Every sweep record under `root` that does not read.
fn check_sweep_records(root: &Path, f: &mut Findings) {
    let Ok(dir) = std::fs::read_dir(root.join(tree_dirs::SWEEPS)) else {
        return;
    };
    let mut paths: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        if let Err(e) = json::read::<sweep_record::SweepRecord>(&p) {
            f.problems.push(Problem {
                what: format!("does not parse ({e:#})"),
                fix: format!(
                    "restore it from a backup, or move it aside (`mv {0} {0}.aside`) and run \
                     `harness sweep GRID` again to write a new one",
                    p.display()
                ),
                path: p,
            });
        }
    }
}

/// A configuration (its hash with the seed set to 0) whose seeds' runs recorded different
/// CPUs or kernel sets: their numbers are not comparable byte for byte.
fn check_cpus(dirs: &[PathBuf], f: &mut Findings) {
    let mut by_config: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for dir in dirs {
        let (Ok(mut cfg), Some(rec)) = (store::read_config(dir), record::read(dir)) else {
            continue;
        };
        cfg.seed = 0;
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for cpu in rec.cpus {
            let runs = by_config
                .entry(short_hash(&cfg))
                .or_default()
                .entry(cpu)
                .or_default();
            runs.push(name.clone());
        }
    }
    for cpus in by_config.values().filter(|c| c.len() > 1) {
        let list: Vec<String> = cpus
            .iter()
            .map(|(cpu, runs)| format!("{} on {cpu}", runs.join(" ")))
            .collect();
        f.notes.push(format!(
            "warning: the seeds of one configuration ran on different CPUs ({}): same config \
             and seed give the same bytes only on the same CPU kernel set",
            list.join("; ")
        ));
    }
}

/// The tree `store` checked: the runs named by `hashes` (prefixes), or every run folder and
/// every sweep record when `hashes` is empty.
pub fn check_tree(store: &Store, hashes: &[String]) -> Result<Findings, store::StoreError> {
    let dirs = if hashes.is_empty() {
        store.run_folders()
    } else {
        hashes
            .iter()
            .map(|h| store.find(h))
            .collect::<Result<_, _>>()?
    };
    let mut all = Findings::default();
    for dir in &dirs {
        let f = check_run(dir);
        all.problems.extend(f.problems);
        all.notes.extend(f.notes);
        all.runs += 1;
    }
    if hashes.is_empty() {
        check_sweep_records(&store.root, &mut all);
    }
    check_cpus(&dirs, &mut all);
    Ok(all)
}
