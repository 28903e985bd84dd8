//! `harness report DIR --watch`: keep the report current while a sweep runs.
//!
//! Every `interval` the watcher takes a fingerprint of what runs write when they log (the
//! size and mtime of each run folder's `run.json`, `metrics.csv`, `eval.csv` and `layers.csv`,
//! and of the sweep records) and whether the runs that were in flight still hold their locks;
//! only when that changed does it regenerate the report, which is incremental (unchanged
//! charts are kept). While a run holds its lock the page carries a `<meta http-equiv=refresh>`
//! so a browser showing it reloads itself; the first page written with nothing in flight has
//! none, so the browser stops. On SIGINT or SIGTERM the watcher finishes the pass it is in,
//! writes the page once more without the reload, and returns the signal.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::{ReportOptions, ReportSummary, generate};
use harness_core::results::store::RunLock;
use harness_core::results::{run_files, tree_dirs};
use harness_core::stop::StopFlag;

/// What a run writes when it logs or finishes.
const WATCHED: [&str; 4] = [
    run_files::RECORD,
    run_files::METRICS,
    run_files::EVAL,
    run_files::LAYERS,
];

/// Fingerprint of everything that can change the report, taken with a few `stat`s per run.
pub fn fingerprint(root: &Path, out: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    dirs.sort();
    for d in dirs.iter().filter(|d| d.as_path() != out && d.is_dir()) {
        let files = WATCHED.iter().map(|f| d.join(f));
        let sweeps = std::fs::read_dir(d)
            .ok()
            .filter(|_| d.ends_with(tree_dirs::SWEEPS))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()));
        for f in files.chain(sweeps) {
            if let Ok(m) = std::fs::metadata(&f) {
                (&f, m.len(), m.modified().ok()).hash(&mut h);
            }
        }
    }
    h.finish()
}

/// Regenerate the report whenever [`fingerprint`] or the set of runs in flight changes,
/// polling every `interval`, until `stop` is set; `on_pass` sees each regeneration. Returns
/// the signal that stopped it.
pub fn watch(
    root: &Path,
    opts: &ReportOptions,
    interval: Duration,
    stop: &StopFlag,
    mut on_pass: impl FnMut(&ReportSummary),
) -> Result<i32> {
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| root.join(tree_dirs::REPORT));
    let live = ReportOptions {
        refresh: Some(interval.as_secs().max(1) as u32),
        ..opts.clone()
    };
    let mut seen: Option<(u64, Vec<PathBuf>)> = None;
    loop {
        let print = fingerprint(root, &out);
        let stale = match &seen {
            None => true,
            Some((p, flying)) => *p != print || flying.iter().any(|d| !RunLock::is_held(d)),
        };
        if stale {
            let s = generate(root, &live)?;
            on_pass(&s);
            seen = Some((print, s.in_flight.clone()));
        }
        let until = Instant::now() + interval;
        while Instant::now() < until && stop.signal().is_none() {
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
        if let Some(sig) = stop.signal() {
            on_pass(&generate(root, opts)?);
            return Ok(sig);
        }
    }
}
