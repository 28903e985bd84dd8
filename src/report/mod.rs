//! `harness report DIR`: turn result folders into comparison charts, tables and a
//! static HTML page.
//!
//! Output (default `DIR/report/`):
//! - `index.html`: one section per sweep (plus `ungrouped`), self-contained as a folder;
//! - `summary.csv`: one row per run; `summary.md`: one row per configuration;
//! - `claims.csv`: the verdict of each sweep's claims, per pair or configuration;
//! - `<section>/*.svg`: charts; `<section>/samples/*.png`: copied MNIST sample grids.
//!
//! Runs are grouped by sweep, then by configuration (the config minus `seed`, or the
//! `group_by` keys), and seeds are reduced to mean and band. Charts whose inputs have
//! not changed since they were drawn are kept (`.report-cache.json` stores what each
//! chart was drawn from: settings, member runs, newest input mtime), so regenerating a
//! report during a sweep is cheap.

mod charts;
mod claims;
mod figures;
mod format;
mod group;
mod html;
mod load;
mod options;
mod section;
mod synth;
mod tables;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use crate::atomic_file::write_atomic;

pub use claims::{CheckedClaim, SectionClaims, claim_run, counts_text as claims_counts};
use figures::pick_three;
pub use format::sig;
pub use group::{
    Group, MeanBand, concise_labels, downsample_band, downsample_minmax, ema, group_runs,
    mean_band, mean_std, varying_keys,
};
pub use load::{
    Columns, Config, EvalSeries, Run, Sample, Status, Surface, SweepRecord, discover, load_run,
    load_runs, load_sweeps, parse_eval, parse_layers, parse_metrics, parse_surface, value_str,
};
pub use options::{Band, ReportOptions};
pub use section::{Section, build_sections};
#[doc(hidden)]
pub use synth::synthetic_results;
pub use tables::{ConfigTable, config_table};

/// What `generate` produced.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// Run folders found and loaded.
    pub runs: usize,
    /// Configurations over all sections.
    pub groups: usize,
    /// Every chart of the report (redrawn or still current).
    pub charts: Vec<PathBuf>,
    /// Charts actually redrawn this time (the rest were up to date).
    pub redrawn: usize,
    pub index: PathBuf,
    /// Every sweep's claims, tested, in page order (also in `claims.csv`).
    pub claims: Vec<CheckedClaim>,
    /// Non-fatal problems, also listed at the end of `index.html`.
    pub warnings: Vec<String>,
}

const CACHE_FILE: &str = ".report-cache.json";

fn read_cache(out: &Path) -> HashMap<String, String> {
    fs::read_to_string(out.join(CACHE_FILE))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// What a chart was drawn from: the fingerprint of its settings and runs, and the newest
/// mtime among its input files as seen when it was drawn. Recording the inputs' time
/// (rather than comparing with the chart's own mtime) also catches a file that changed
/// while the chart was being drawn.
fn cache_key(job: &figures::Job) -> String {
    let t = job
        .newest_input
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{:016x}-{t}", job.fingerprint)
}

fn is_newer_or_equal(path: &Path, t: Option<std::time::SystemTime>) -> bool {
    let Ok(m) = fs::metadata(path).and_then(|m| m.modified()) else {
        return false;
    };
    t.is_none_or(|t| m >= t)
}

/// Generate the report for the results tree at `results_dir`.
pub fn generate(results_dir: &Path, opts: &ReportOptions) -> Result<ReportSummary> {
    if !(opts.smooth > 0.0 && opts.smooth <= 1.0) {
        bail!("smoothing alpha must be in (0, 1], got {}", opts.smooth);
    }
    if !results_dir.is_dir() {
        bail!("results folder {} does not exist", results_dir.display());
    }
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| results_dir.join("report"));
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    let mut warnings = Vec::new();
    let dirs = discover(results_dir, &out);
    let runs = load_runs(&dirs, &mut warnings);
    for r in &runs {
        warnings.extend(r.warnings.iter().map(|w| format!("{}: {w}", r.hash)));
    }
    let sweeps = load_sweeps(results_dir, &mut warnings);
    let sections = build_sections(&runs, &sweeps, &opts.group_by);

    // Charts: plan all, draw the stale ones in parallel.
    let old_cache = read_cache(&out);
    let jobs: Vec<(usize, figures::Job)> = sections
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            figures::plan(&runs, s, opts)
                .into_iter()
                .map(move |j| (si, j))
        })
        .collect();
    let rels: Vec<String> = jobs
        .iter()
        .map(|(si, j)| format!("{}/{}", sections[*si].slug, j.file))
        .collect();
    let redrawn = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    let ok: Vec<bool> = {
        let flags: Vec<Mutex<bool>> = jobs.iter().map(|_| Mutex::new(false)).collect();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some((_, job)) = jobs.get(k) else { break };
                        let path = out.join(&rels[k]);
                        let fresh =
                            old_cache.get(&rels[k]) == Some(&cache_key(job)) && path.is_file();
                        let result = if fresh {
                            Ok(())
                        } else {
                            (job.draw)().and_then(|svg| {
                                redrawn.fetch_add(1, Ordering::Relaxed);
                                write_atomic(&path, svg.as_bytes())
                            })
                        };
                        match result {
                            Ok(()) => *flags[k].lock().expect("flag lock") = true,
                            Err(e) => failures
                                .lock()
                                .expect("failure lock")
                                .push(format!("chart {}: {e:#}", rels[k])),
                        }
                    }
                });
            }
        });
        flags
            .into_iter()
            .map(|f| f.into_inner().expect("flag"))
            .collect()
    };
    warnings.extend(failures.into_inner().expect("failures"));

    // Drop charts a previous report drew that this one no longer has.
    let new_cache: BTreeMap<String, String> = jobs
        .iter()
        .zip(&rels)
        .zip(&ok)
        .filter(|(_, ok)| **ok)
        .map(|(((_, j), rel), _)| (rel.clone(), cache_key(j)))
        .collect();
    for rel in old_cache.keys() {
        if !new_cache.contains_key(rel) && rel.ends_with(".svg") && !rel.contains("..") {
            let _ = fs::remove_file(out.join(rel));
        }
    }

    // Sample grids, tables, page.
    let tables: Vec<ConfigTable> = sections.iter().map(|s| config_table(&runs, s)).collect();
    let mut links: Vec<Vec<html::ChartLink>> = sections.iter().map(|_| Vec::new()).collect();
    for (((si, j), rel), _) in jobs.iter().zip(&rels).zip(&ok).filter(|(_, ok)| **ok) {
        links[*si].push(html::ChartLink {
            category: j.category,
            rel: rel.clone(),
            title: j.title.clone(),
        });
    }
    let checked: Vec<SectionClaims> = sections
        .iter()
        .zip(&links)
        .map(|(sec, l)| {
            let rels: Vec<String> = l.iter().map(|c| c.rel.clone()).collect();
            claims::check_section(&runs, sec, &rels)
        })
        .collect();
    let mut pages = Vec::new();
    for ((si, sec), charts) in sections.iter().enumerate().zip(links) {
        let samples = copy_samples(&runs, sec, &out, &mut warnings);
        pages.push(html::PageSection {
            sec,
            claims: &checked[si],
            table: &tables[si],
            charts,
            samples,
        });
    }
    tables::write_summary_csv(&out.join("summary.csv"), &runs, &sections)?;
    write_atomic(
        &out.join("summary.md"),
        tables::summary_md(&runs, &sections, &tables, &checked).as_bytes(),
    )?;
    let all_claims: Vec<&CheckedClaim> = checked.iter().flat_map(|c| &c.claims).collect();
    write_atomic(&out.join("claims.csv"), &claims::claims_csv(&all_claims)?)?;
    let index = out.join("index.html");
    write_atomic(
        &index,
        html::index_html(&runs, &pages, &warnings).as_bytes(),
    )?;
    write_atomic(
        &out.join(CACHE_FILE),
        serde_json::to_string_pretty(&new_cache)?.as_bytes(),
    )?;

    Ok(ReportSummary {
        runs: runs.len(),
        groups: sections.iter().map(|s| s.groups.len()).sum(),
        charts: new_cache.keys().map(|r| out.join(r)).collect(),
        redrawn: redrawn.into_inner(),
        index,
        claims: checked.into_iter().flat_map(|c| c.claims).collect(),
        warnings,
    })
}

/// Copy the first, middle and last MNIST sample grid of each configuration's first
/// seed into the report, so the folder is self-contained.
fn copy_samples(
    runs: &[Run],
    sec: &Section,
    out: &Path,
    warnings: &mut Vec<String>,
) -> Vec<html::SampleRow> {
    let mut rows = Vec::new();
    for (gi, g) in sec.groups.iter().enumerate() {
        let Some(run) = g
            .members
            .iter()
            .map(|&i| &runs[i])
            .find(|r| !r.png_samples.is_empty())
        else {
            continue;
        };
        let mut images = Vec::new();
        for s in pick_three(&run.png_samples) {
            let name = s.path.file_name().unwrap_or_default().to_string_lossy();
            let rel = format!("{}/samples/{}_{}", sec.slug, run.hash, name);
            let dest = out.join(&rel);
            let src_time = fs::metadata(&s.path).and_then(|m| m.modified()).ok();
            if !is_newer_or_equal(&dest, src_time) {
                let copied = dest
                    .parent()
                    .map_or(Ok(()), fs::create_dir_all)
                    .and_then(|_| fs::copy(&s.path, &dest));
                if let Err(e) = copied {
                    warnings.push(format!("copying {}: {e}", s.path.display()));
                    continue;
                }
            }
            images.push((s.step, rel));
        }
        rows.push(html::SampleRow {
            label: g.label.clone(),
            color: gi,
            seed: run.setting("seed").unwrap_or_else(|| "?".into()),
            images,
        });
    }
    rows
}
