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

mod budget;
mod charts;
mod claims;
mod format;
mod group;
mod html;
mod load;
mod options;
mod section;
mod synth;
mod tables;
pub mod watch;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use rayon::prelude::*;

use harness_core::results::atomic_file::write_atomic;
use harness_core::results::store::RunLock;
use harness_core::results::tree_dirs;

use charts::figures::pick_three;
pub use claims::{CheckedClaim, SectionClaims, claim_run, counts_text as claims_counts};
pub use format::sig;
pub use group::{
    Group, MeanBand, concise_labels, downsample_band, downsample_minmax, ema, group_runs,
    mean_band, mean_std, varying_keys,
};
pub use load::{
    Columns, Config, EvalSeries, Run, Sample, Status, Surface, SweepRecord, discover, load_run,
    load_runs, load_sweeps, parse_eval, parse_layers, parse_metrics, parse_surface,
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
    /// With [`ReportOptions::refresh`]: the folders of the runs that held their lock (in
    /// flight) when the page was written; empty otherwise.
    pub in_flight: Vec<PathBuf>,
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
fn cache_key(job: &charts::figures::Job) -> String {
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
        .unwrap_or_else(|| results_dir.join(tree_dirs::REPORT));
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    let mut warnings = Vec::new();
    let runs = load_runs(&discover(results_dir, &out), &mut warnings);
    for r in &runs {
        warnings.extend(r.warnings.iter().map(|w| format!("{}: {w}", r.hash)));
    }
    let sweeps = load_sweeps(results_dir, &mut warnings);
    let sections = build_sections(&runs, &sweeps, &opts.group_by);
    warnings.extend(section::mixed_cpu_warnings(&runs, &sections));
    let charts = draw_charts(&runs, &sections, opts, &out, &mut warnings);
    let in_flight: Vec<PathBuf> = match opts.refresh {
        Some(_) => runs
            .iter()
            .filter(|r| r.status == load::Status::Running && RunLock::is_held(&r.dir))
            .map(|r| r.dir.clone())
            .collect(),
        None => Vec::new(),
    };
    let live = html::Live {
        refresh: opts.refresh.filter(|_| !in_flight.is_empty()),
        in_flight: in_flight.len(),
    };
    let pages = Pages {
        runs: &runs,
        sections: &sections,
        links: &charts.links,
        out: &out,
        live,
    };
    let (index, checked) = write_pages(&pages, &mut warnings)?;
    write_atomic(
        &out.join(CACHE_FILE),
        serde_json::to_string_pretty(&charts.cache)?.as_bytes(),
    )?;
    Ok(ReportSummary {
        runs: runs.len(),
        groups: sections.iter().map(|s| s.groups.len()).sum(),
        charts: charts.cache.keys().map(|r| out.join(r)).collect(),
        redrawn: charts.redrawn,
        index,
        claims: checked.into_iter().flat_map(|c| c.claims).collect(),
        warnings,
        in_flight,
    })
}

/// The charts of a report as this generation left them.
#[derive(Default)]
struct Charts {
    /// Section index and link of every chart that exists.
    links: Vec<(usize, html::ChartLink)>,
    /// Path relative to the output folder -> what the chart was drawn from.
    cache: BTreeMap<String, String>,
    redrawn: usize,
}

/// Plan every chart, draw the stale ones on all cores, and delete the charts a previous
/// report drew that this one no longer has. A chart that fails to draw is a warning.
fn draw_charts(
    runs: &[Run],
    sections: &[Section],
    opts: &ReportOptions,
    out: &Path,
    warnings: &mut Vec<String>,
) -> Charts {
    let old_cache = read_cache(out);
    let jobs: Vec<(usize, String, charts::figures::Job)> = sections
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            charts::figures::plan(runs, s, opts)
                .into_iter()
                .chain(budget::view::jobs(runs, s))
                .map(move |j| (si, format!("{}/{}", s.slug, j.file), j))
        })
        .collect();
    // Ok(true): redrawn; Ok(false): still current.
    let drawn: Vec<Result<bool>> = jobs
        .par_iter()
        .map(|(_, rel, job)| {
            let path = out.join(rel);
            if old_cache.get(rel) == Some(&cache_key(job)) && path.is_file() {
                return Ok(false);
            }
            write_atomic(&path, (job.draw)()?.as_bytes())?;
            Ok(true)
        })
        .collect();
    let mut charts = Charts::default();
    for ((si, rel, job), result) in jobs.iter().zip(drawn) {
        match result {
            Ok(redrawn) => {
                charts.redrawn += usize::from(redrawn);
                charts.cache.insert(rel.clone(), cache_key(job));
                let link = html::ChartLink {
                    category: job.category,
                    rel: rel.clone(),
                    title: job.title.clone(),
                };
                charts.links.push((*si, link));
            }
            Err(e) => warnings.push(format!("chart {rel}: {e:#}")),
        }
    }
    for rel in old_cache.keys() {
        if !charts.cache.contains_key(rel) && rel.ends_with(".svg") && !rel.contains("..") {
            let _ = fs::remove_file(out.join(rel));
        }
    }
    charts
}

/// Copy the sample grids, test the sweeps' claims, and write the tables and the page; returns
/// `index.html`'s path and the tested claims.
/// What the page is written from.
struct Pages<'a> {
    runs: &'a [Run],
    sections: &'a [Section],
    links: &'a [(usize, html::ChartLink)],
    out: &'a Path,
    live: html::Live,
}

fn write_pages(p: &Pages, warnings: &mut Vec<String>) -> Result<(PathBuf, Vec<SectionClaims>)> {
    let (runs, sections, links, out) = (p.runs, p.sections, p.links, p.out);
    let tables: Vec<ConfigTable> = sections.iter().map(|s| config_table(runs, s)).collect();
    let section_links: Vec<Vec<html::ChartLink>> = (0..sections.len())
        .map(|si| {
            links
                .iter()
                .filter(|(s, _)| *s == si)
                .map(|(_, link)| link.clone())
                .collect()
        })
        .collect();
    let checked: Vec<SectionClaims> = sections
        .iter()
        .zip(&section_links)
        .map(|(sec, l)| {
            let rels: Vec<String> = l.iter().map(|c| c.rel.clone()).collect();
            claims::check_section(runs, sec, &rels)
        })
        .collect();
    let mut pages = Vec::new();
    let views: Vec<Vec<budget::view::View>> = sections
        .iter()
        .map(|s| budget::view::views(runs, s))
        .collect();
    write_budget_csv(&out.join(BUDGET_CSV), sections, &views)?;
    for ((si, sec), charts) in sections.iter().enumerate().zip(section_links) {
        let mut budget = String::new();
        budget::view::table_html(&mut budget, &views[si]);
        pages.push(html::PageSection {
            budget,
            sec,
            claims: &checked[si],
            table: &tables[si],
            charts,
            samples: copy_samples(runs, sec, out, warnings),
        });
    }
    tables::write_summary_csv(&out.join("summary.csv"), runs, sections)?;
    write_atomic(
        &out.join("summary.md"),
        tables::summary_md(runs, sections, &tables, &checked).as_bytes(),
    )?;
    let all_claims: Vec<&CheckedClaim> = checked.iter().flat_map(|c| &c.claims).collect();
    write_atomic(&out.join("claims.csv"), &claims::claims_csv(&all_claims)?)?;
    let index = out.join("index.html");
    write_atomic(
        &index,
        html::index_html(runs, &pages, warnings, &p.live).as_bytes(),
    )?;
    Ok((index, checked))
}

/// `budget.csv`, the budget curves of every sampled sweep: one row per sweep, score, group and
/// k. Written only when a sweep drew settings; a stale one is removed.
const BUDGET_CSV: &str = "budget.csv";

fn write_budget_csv(
    path: &Path,
    sections: &[Section],
    views: &[Vec<budget::view::View>],
) -> Result<()> {
    let rows: Vec<[String; 7]> = sections
        .iter()
        .zip(views)
        .flat_map(|(s, v)| budget::view::csv_rows(s, v))
        .collect();
    if rows.is_empty() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "sweep",
        "metric",
        "group",
        "k",
        "expected_best",
        "band_lo",
        "band_hi",
    ])?;
    for r in rows {
        w.write_record(r)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    write_atomic(path, &bytes)
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
