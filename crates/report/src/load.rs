//! Reading run folders (see `docs/results-layout.md`).
//!
//! Loading is lenient on purpose: a report is often generated while workers are still
//! writing, so a missing or half-written CSV becomes an empty table plus a warning
//! instead of an error, and only an unreadable `config.toml`/`run.json` skips a run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use rayon::prelude::*;

use harness_core::grid::show_value;
pub use harness_core::results::record::Status;
pub use harness_core::results::sweep_record::SweepRecord;
use harness_core::results::{record, run_files, sweep_record, tree_dirs};

/// A resolved configuration: the flat table of `config.toml`.
pub type Config = BTreeMap<String, toml::Value>;

/// Numeric columns of a CSV file. Empty or unparsable cells are NaN so that
/// "not applicable" cells never shift rows between columns.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub names: Vec<String>,
    pub data: Vec<Vec<f64>>,
}

impl Columns {
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(&self.data[i])
    }

    pub fn rows(&self) -> usize {
        self.data.first().map_or(0, Vec::len)
    }

    /// Add column `name` from `other` (which has `step` and `name`), matched on `step`;
    /// NaN where `other` has no row for a step.
    pub fn join_by_step(&mut self, name: &str, other: &Columns) {
        let (Some(steps), Some(os), Some(ov)) =
            (self.get("step"), other.get("step"), other.get(name))
        else {
            return;
        };
        let by_step: std::collections::HashMap<u64, f64> =
            os.iter().zip(ov).map(|(s, v)| (*s as u64, *v)).collect();
        let col = steps
            .iter()
            .map(|s| by_step.get(&(*s as u64)).copied().unwrap_or(f64::NAN))
            .collect();
        self.names.push(name.to_string());
        self.data.push(col);
    }

    /// Last finite value of a column: the "final" value of a metric that is only
    /// logged on some rows.
    pub fn last_finite(&self, name: &str) -> Option<f64> {
        self.get(name)?
            .iter()
            .rev()
            .copied()
            .find(|v| v.is_finite())
    }
}

/// One `eval.csv` metric over training.
#[derive(Debug, Clone, Default)]
pub struct EvalSeries {
    pub step: Vec<f64>,
    pub wall_s: Vec<f64>,
    pub value: Vec<f64>,
}

impl EvalSeries {
    /// Value at the last evaluated step (the final score).
    pub fn last(&self) -> Option<f64> {
        self.value.iter().rev().copied().find(|v| v.is_finite())
    }
}

/// Critic values on a regular grid (`surface.csv`), row-major over `ys` then `xs`.
#[derive(Debug, Clone, Default)]
pub struct Surface {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub values: Vec<f64>,
}

/// One file under `samples/`.
#[derive(Debug, Clone)]
pub struct Sample {
    pub step: u64,
    pub path: PathBuf,
}

/// Modification times of a run's inputs, used to skip charts that are up to date.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mtimes {
    pub config: Option<SystemTime>,
    pub run_json: Option<SystemTime>,
    pub metrics: Option<SystemTime>,
    pub eval: Option<SystemTime>,
    pub layers: Option<SystemTime>,
    pub hist: Option<SystemTime>,
    pub surface: Option<SystemTime>,
    pub samples: Option<SystemTime>,
}

/// One histogram bin at the last logged step: `(layer, bin_lo, bin_hi, count)`.
pub type HistBin = (String, f64, f64, f64);

/// Everything the report needs from one run folder.
#[derive(Debug, Clone)]
pub struct Run {
    /// Folder name (the 12-hex configuration hash).
    pub hash: String,
    pub dir: PathBuf,
    pub config: Config,
    pub status: Status,
    pub sweep: Option<String>,
    /// When its first attempt started (RFC 3339, `run.json`).
    pub started: String,
    pub wall_s: f64,
    pub error: Option<String>,
    pub step: u32,
    pub diverged_at: Option<u32>,
    /// Every `"<cpu> [<kernels>]"` its attempts ran on (`run.json`'s `cpus`); empty in records
    /// that predate it.
    pub cpus: Vec<String>,
    /// `metrics.csv` numeric columns (`estimate_kind` is kept apart).
    pub metrics: Columns,
    /// Last non-empty `estimate_kind` (`wasserstein` or `js`).
    pub estimate_kind: Option<String>,
    pub eval: BTreeMap<String, EvalSeries>,
    /// `layers.csv` at the last step of each quantity: quantity -> `[(layer, value)]`
    /// in critic order (input to output).
    pub layers_last: BTreeMap<String, Vec<(String, f64)>>,
    /// `weights_hist.csv` rows of the last logged step.
    pub hist_last: Vec<HistBin>,
    /// `surface.csv`, parsed only when a chart needs it (one seed per configuration).
    pub surface_file: Option<PathBuf>,
    /// `samples/step_*.png` (MNIST grids), ascending step.
    pub png_samples: Vec<Sample>,
    /// `samples/step_*.csv` (toy points), ascending step.
    pub csv_samples: Vec<Sample>,
    pub mtimes: Mtimes,
    /// Non-fatal problems (unreadable CSV and the like), shown in the page.
    pub warnings: Vec<String>,
}

impl Run {
    /// The `seed` setting, if numeric.
    pub fn seed(&self) -> Option<i64> {
        match self.config.get("seed")? {
            toml::Value::Integer(i) => Some(*i),
            toml::Value::Float(f) => Some(*f as i64),
            toml::Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Parse `surface.csv`, if the run has one.
    pub fn load_surface(&self) -> Result<Option<Surface>> {
        match &self.surface_file {
            None => Ok(None),
            Some(p) => {
                parse_surface(&fs::read(p).with_context(|| format!("reading {}", p.display()))?)
            }
        }
    }

    /// A config value rendered as in legends (`0.01`, `wgan-gp`).
    pub fn setting(&self, key: &str) -> Option<String> {
        self.config.get(key).map(show_value)
    }
}

/// Every directory under `root` holding both `config.toml` and `run.json`, sorted.
/// Does not descend into run folders, the report output or bookkeeping folders.
pub fn discover(root: &Path, skip: &Path) -> Vec<PathBuf> {
    let skip = skip.canonicalize().unwrap_or_else(|_| skip.to_path_buf());
    let mut found = Vec::new();
    let mut it = walkdir::WalkDir::new(root).follow_links(true).into_iter();
    while let Some(entry) = it.next() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.depth() > 0 {
            let name = entry.file_name().to_string_lossy();
            let own = path.canonicalize().map(|p| p == skip).unwrap_or(false);
            if own
                || name.starts_with('.')
                || [
                    tree_dirs::SWEEPS,
                    tree_dirs::SLURM,
                    tree_dirs::EVALUATORS,
                    run_files::CHECKPOINTS,
                    run_files::SAMPLES,
                ]
                .contains(&name.as_ref())
            {
                it.skip_current_dir();
                continue;
            }
        }
        if path.join(run_files::CONFIG).is_file() && path.join(run_files::RECORD).is_file() {
            found.push(path.to_path_buf());
            it.skip_current_dir();
        }
    }
    found.sort();
    found
}

/// Read `sweeps/*.json`, skipping (with a warning) records that do not parse.
pub fn load_sweeps(root: &Path, warnings: &mut Vec<String>) -> Vec<SweepRecord> {
    let (records, bad) = sweep_record::read_all(root);
    warnings.extend(bad);
    records
}

/// Load many runs on all cores (parsing CSV dominates report time); a run that cannot be
/// read is skipped with a warning.
pub fn load_runs(dirs: &[PathBuf], warnings: &mut Vec<String>) -> Vec<Run> {
    let loaded: Vec<Result<Run>> = dirs.par_iter().map(|d| load_run(d)).collect();
    let mut runs = Vec::with_capacity(loaded.len());
    for (dir, r) in dirs.iter().zip(loaded) {
        match r {
            Ok(run) => runs.push(run),
            Err(e) => warnings.push(format!("skipped {}: {e:#}", dir.display())),
        }
    }
    runs
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `Ok(None)` when the file does not exist (normal for runs that just started).
fn read_opt(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// One run folder: its config and record (either missing skips the run), and whatever of its
/// CSVs and samples reads; the rest becomes warnings.
pub fn load_run(dir: &Path) -> Result<Run> {
    let hash = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cfg_text =
        fs::read_to_string(dir.join(run_files::CONFIG)).context("reading config.toml")?;
    let config: Config = toml::from_str(&cfg_text).context("parsing config.toml")?;
    let rec = record::try_read(dir).context("reading run.json")?;

    let mut warnings = Vec::new();
    let (metrics, estimate_kind) = load_metrics(dir, &mut warnings);
    let mut run = Run {
        hash,
        dir: dir.to_path_buf(),
        config,
        status: rec.status,
        sweep: rec.sweep,
        started: rec.started,
        wall_s: rec.wall_s,
        error: rec.error,
        step: rec.step,
        diverged_at: rec.diverged_at,
        cpus: rec.cpus,
        metrics,
        estimate_kind,
        eval: part(dir, run_files::EVAL, parse_eval, &mut warnings).unwrap_or_default(),
        layers_last: part(dir, run_files::LAYERS, parse_layers, &mut warnings).unwrap_or_default(),
        hist_last: part(dir, run_files::WEIGHTS_HIST, parse_hist, &mut warnings)
            .unwrap_or_default(),
        surface_file: Some(dir.join(run_files::SURFACE)).filter(|p| p.is_file()),
        png_samples: Vec::new(),
        csv_samples: Vec::new(),
        mtimes: Mtimes::of(dir),
        warnings: Vec::new(),
    };
    // Wall times live in timing.csv (step,wall_s) so that metrics.csv is deterministic.
    if run.metrics.get("wall_s").is_none()
        && let Some((timing, _)) = part(dir, run_files::TIMING, parse_metrics, &mut warnings)
    {
        run.metrics.join_by_step("wall_s", &timing);
    }
    let (png, csv, newest) = list_samples(&dir.join(run_files::SAMPLES));
    run.png_samples = png;
    run.csv_samples = csv;
    run.mtimes.samples = newest;
    // A run that fails its manifest (a log edited, any file changed since the run ended) is
    // marked in the page and on stderr, not plotted as if sound.
    for p in harness_core::results::verify::manifest_problems(dir) {
        warnings.push(format!("DAMAGED (its numbers cannot be trusted): {p}"));
    }
    run.warnings = warnings;
    Ok(run)
}

/// `metrics.csv` of `dir` and its estimate kind (empty when it is missing or does not parse);
/// what is wrong with it goes to `warnings`.
fn load_metrics(dir: &Path, warnings: &mut Vec<String>) -> (Columns, Option<String>) {
    let problem = std::cell::RefCell::new(None);
    let (metrics, estimate_kind) = part(
        dir,
        run_files::METRICS,
        |b| {
            let (columns, kind, p) = parse_metrics_checked(b)?;
            *problem.borrow_mut() = p;
            Ok((columns, kind))
        },
        warnings,
    )
    .unwrap_or_default();
    if let Some(p) = problem.into_inner() {
        let path = dir.join(run_files::METRICS);
        warnings.push(format!("{}: {p}", path.display()));
    }
    (metrics, estimate_kind)
}

/// `file` of `dir` parsed, if it exists; a read or parse error becomes a warning.
fn part<T>(
    dir: &Path,
    file: &str,
    parse: impl Fn(&[u8]) -> Result<T>,
    warnings: &mut Vec<String>,
) -> Option<T> {
    match read_opt(&dir.join(file)) {
        Ok(Some(bytes)) => parse(&bytes)
            .map_err(|e| warnings.push(format!("{file}: {e:#}")))
            .ok(),
        Ok(None) => None,
        Err(e) => {
            warnings.push(format!("{e:#}"));
            None
        }
    }
}

impl Mtimes {
    /// The modification times of `dir`'s inputs (samples are filled in by the caller).
    fn of(dir: &Path) -> Self {
        let at = |file: &str| mtime(&dir.join(file));
        Mtimes {
            config: at(run_files::CONFIG),
            run_json: at(run_files::RECORD),
            metrics: at(run_files::METRICS).max(at(run_files::TIMING)),
            eval: at(run_files::EVAL),
            layers: at(run_files::LAYERS),
            hist: at(run_files::WEIGHTS_HIST),
            surface: at(run_files::SURFACE),
            samples: None,
        }
    }
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).from_reader(bytes)
}

/// A numeric cell; NaN when empty or not a number. Surrounding spaces are tolerated.
/// Parsed by `fast-float2`, which gives `str::parse`'s results: metrics files are millions of
/// cells, and on the 100-run report benchmark it took 26% fewer instructions than `parse`
/// (the report as a whole: 12% less time).
fn num(field: &[u8]) -> f64 {
    fast_float2::parse(field.trim_ascii()).unwrap_or(f64::NAN)
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

fn col(header: &[String], name: &str) -> Result<usize> {
    header
        .iter()
        .position(|h| h == name)
        .with_context(|| format!("missing column `{name}`"))
}

/// Calls `f` on every complete record. A last line with fewer fields than the header
/// is a row being written right now, and is dropped rather than misread.
fn records(
    bytes: &[u8],
    cols: &[&str],
    mut f: impl FnMut(&csv::ByteRecord, &[usize]),
) -> Result<()> {
    let mut rdr = csv_reader(bytes);
    let header: Vec<String> = rdr.byte_headers()?.iter().map(text).collect();
    let idx = cols
        .iter()
        .map(|c| col(&header, c))
        .collect::<Result<Vec<_>>>()?;
    let mut rec = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut rec)? {
        if rec.len() == header.len() {
            f(&rec, &idx);
        }
    }
    Ok(())
}

/// `metrics.csv`: every column numeric except `estimate_kind`.
pub fn parse_metrics(bytes: &[u8]) -> Result<(Columns, Option<String>)> {
    parse_metrics_checked(bytes).map(|(c, k, _)| (c, k))
}

/// [`parse_metrics`], and the first thing wrong with the file, if any ("line N: ...", and how
/// many rows or cells were like it): rows of another length are skipped and cells that are not
/// numbers read as NaN, which the report should say rather than draw silently.
pub fn parse_metrics_checked(bytes: &[u8]) -> Result<(Columns, Option<String>, Option<String>)> {
    let mut rdr = csv_reader(bytes);
    let header: Vec<String> = rdr.byte_headers()?.iter().map(text).collect();
    let kind_col = header.iter().position(|h| h == "estimate_kind");
    let mut data: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    let mut kind: Option<Vec<u8>> = None;
    let mut rec = csv::ByteRecord::new();
    let (mut first_bad, mut bad_rows) = (None::<String>, 0usize);
    if !header.iter().any(|h| h == "step") {
        first_bad = Some(format!(
            "line 1: the header has no `step` column (it reads {:?})",
            header.join(",")
        ));
    }
    while rdr.read_byte_record(&mut rec)? {
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != header.len() {
            bad_rows += 1;
            first_bad.get_or_insert_with(|| {
                format!(
                    "line {line}: {} fields, the header has {}; the row is skipped",
                    rec.len(),
                    header.len()
                )
            });
            continue;
        }
        if let Some(i) = push_metrics_row(&rec, kind_col, &mut data, &mut kind) {
            bad_rows += 1;
            first_bad.get_or_insert_with(|| {
                format!(
                    "line {line}: column `{}` holds {:?}, not a number",
                    header[i],
                    String::from_utf8_lossy(&rec[i])
                )
            });
        }
    }
    let problem = first_bad.map(|p| match bad_rows {
        0 | 1 => p,
        n => format!("{p} ({n} such rows)"),
    });
    let mut names = header;
    if let Some(k) = kind_col {
        names.remove(k);
        data.remove(k);
    }
    Ok((Columns { names, data }, kind.map(|k| text(&k)), problem))
}

/// Appends one complete `metrics.csv` row to `data` (cells that are not numbers as NaN) and
/// keeps the latest non-empty `estimate_kind` in `kind`; returns the column of the row's first
/// cell that is neither a number, empty nor `nan`.
fn push_metrics_row(
    rec: &csv::ByteRecord,
    kind_col: Option<usize>,
    data: &mut [Vec<f64>],
    kind: &mut Option<Vec<u8>>,
) -> Option<usize> {
    let mut bad = None;
    for (i, field) in rec.iter().enumerate() {
        if Some(i) == kind_col {
            if !field.is_empty() && kind.as_deref() != Some(field) {
                *kind = Some(field.to_vec());
            }
        } else {
            let v = num(field);
            if v.is_nan() && !field.trim_ascii().is_empty() && !field.eq_ignore_ascii_case(b"nan") {
                bad.get_or_insert(i);
            }
            data[i].push(v);
        }
    }
    bad
}

/// `eval.csv` (tidy `step,wall_s,metric,value`) -> one series per metric.
pub fn parse_eval(bytes: &[u8]) -> Result<BTreeMap<String, EvalSeries>> {
    let mut out: BTreeMap<String, EvalSeries> = BTreeMap::new();
    records(bytes, &["step", "wall_s", "metric", "value"], |rec, i| {
        let metric = String::from_utf8_lossy(&rec[i[2]]);
        // Look up before inserting so the name is not allocated on every row.
        if !out.contains_key(metric.as_ref()) {
            out.insert(metric.to_string(), EvalSeries::default());
        }
        let e = out.get_mut(metric.as_ref()).expect("inserted above");
        e.step.push(num(&rec[i[0]]));
        e.wall_s.push(num(&rec[i[1]]));
        e.value.push(num(&rec[i[3]]));
    })?;
    Ok(out)
}

/// `layers.csv` (tidy `step,layer,quantity,value`) -> values at each quantity's last step.
pub fn parse_layers(bytes: &[u8]) -> Result<BTreeMap<String, Vec<(String, f64)>>> {
    let mut last: BTreeMap<String, (f64, Vec<(String, f64)>)> = BTreeMap::new();
    records(bytes, &["step", "layer", "quantity", "value"], |rec, i| {
        let step = num(&rec[i[0]]);
        let quantity = String::from_utf8_lossy(&rec[i[2]]);
        if !last.contains_key(quantity.as_ref()) {
            last.insert(quantity.to_string(), (f64::NEG_INFINITY, Vec::new()));
        }
        let entry = last.get_mut(quantity.as_ref()).expect("inserted above");
        if step > entry.0 {
            *entry = (step, Vec::new());
        }
        if step == entry.0 {
            entry.1.push((text(&rec[i[1]]), num(&rec[i[3]])));
        }
    })?;
    Ok(last
        .into_iter()
        .map(|(k, (_, mut rows))| {
            // Numeric layer ids sort numerically; names keep file (critic) order.
            let ids: Option<Vec<f64>> = rows.iter().map(|(l, _)| l.parse().ok()).collect();
            if let Some(ids) = ids {
                let mut order: Vec<usize> = (0..rows.len()).collect();
                order.sort_by(|&a, &b| ids[a].total_cmp(&ids[b]));
                rows = order.into_iter().map(|i| rows[i].clone()).collect();
            }
            (k, rows)
        })
        .collect())
}

/// `weights_hist.csv` -> the bins of the last logged step (all layers).
pub fn parse_hist(bytes: &[u8]) -> Result<Vec<HistBin>> {
    let mut step_max = f64::NEG_INFINITY;
    let mut rows = Vec::new();
    let cols = ["step", "layer", "bin_lo", "bin_hi", "count"];
    records(bytes, &cols, |rec, i| {
        let step = num(&rec[i[0]]);
        if step > step_max {
            step_max = step;
            rows.clear();
        }
        if step == step_max {
            rows.push((
                text(&rec[i[1]]),
                num(&rec[i[2]]),
                num(&rec[i[3]]),
                num(&rec[i[4]]),
            ));
        }
    })?;
    Ok(rows)
}

/// `surface.csv` (`x,y,value` on a grid) -> a dense grid; `None` when empty.
pub fn parse_surface(bytes: &[u8]) -> Result<Option<Surface>> {
    let mut pts = Vec::new();
    records(bytes, &["x", "y", "value"], |rec, i| {
        pts.push((num(&rec[i[0]]), num(&rec[i[1]]), num(&rec[i[2]])));
    })?;
    pts.retain(|p| p.0.is_finite() && p.1.is_finite());
    if pts.is_empty() {
        return Ok(None);
    }
    let uniq = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = pts.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let xs = uniq(|p| p.0);
    let ys = uniq(|p| p.1);
    let mut values = vec![f64::NAN; xs.len() * ys.len()];
    for (px, py, pv) in &pts {
        let i = xs.binary_search_by(|a| a.total_cmp(px)).unwrap_or(0);
        let j = ys.binary_search_by(|a| a.total_cmp(py)).unwrap_or(0);
        values[j * xs.len() + i] = *pv;
    }
    Ok(Some(Surface { xs, ys, values }))
}

/// Toy sample points `x,y` (first two columns when the header differs).
pub fn read_points(path: &Path) -> Result<Vec<(f64, f64)>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rdr = csv_reader(&bytes);
    let header: Vec<String> = rdr.byte_headers()?.iter().map(text).collect();
    let x = col(&header, "x").unwrap_or(0);
    let y = col(&header, "y").unwrap_or(1);
    let mut pts = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut rec)? {
        if let (Some(a), Some(b)) = (rec.get(x), rec.get(y)) {
            let p = (num(a), num(b));
            if p.0.is_finite() && p.1.is_finite() {
                pts.push(p);
            }
        }
    }
    Ok(pts)
}

/// `samples/step_<n>.{png,csv}` sorted by step, plus the newest mtime among them.
fn list_samples(dir: &Path) -> (Vec<Sample>, Vec<Sample>, Option<SystemTime>) {
    let (mut png, mut csv) = (Vec::new(), Vec::new());
    let mut newest: Option<SystemTime> = None;
    let Ok(rd) = fs::read_dir(dir) else {
        return (png, csv, None);
    };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("step_") else {
            continue;
        };
        let Some((num, ext)) = rest.split_once('.') else {
            continue;
        };
        let Ok(step) = num.parse::<u64>() else {
            continue;
        };
        let t = e.metadata().and_then(|m| m.modified()).ok();
        newest = newest.max(t);
        match ext {
            "png" => png.push(Sample { step, path }),
            "csv" => csv.push(Sample { step, path }),
            _ => {}
        }
    }
    png.sort_by_key(|s| s.step);
    csv.sort_by_key(|s| s.step);
    (png, csv, newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bad cell of the first bad row is named with its line, and every bad row
    /// (short, or with a cell that is not a number) is counted.
    #[test]
    fn garbage_in_metrics_csv_is_described() {
        let text = "step,critic_loss,gen_loss,estimate_kind\n1,0.5,0.25,js\n\
                    2,abc,xyz,js\n3,nan,,js\n4,0.1,q,wasserstein\n5,0.1\n";
        let (c, kind, problem) = parse_metrics_checked(text.as_bytes()).unwrap();
        assert_eq!(c.names, ["step", "critic_loss", "gen_loss"]);
        assert_eq!(c.data[0], [1.0, 2.0, 3.0, 4.0]);
        assert!(c.data[1][1].is_nan() && c.data[2][3].is_nan());
        assert_eq!(kind.as_deref(), Some("wasserstein"));
        assert_eq!(
            problem.as_deref(),
            Some("line 3: column `critic_loss` holds \"abc\", not a number (3 such rows)")
        );
        let (_, _, problem) = parse_metrics_checked(b"iter,x\n1,2\n").unwrap();
        assert!(
            problem
                .unwrap()
                .starts_with("line 1: the header has no `step` column")
        );
        assert_eq!(parse_metrics_checked(b"step,x\n1,2\n").unwrap().2, None);
    }

    /// The report's values are the core's, but for floats.
    #[test]
    fn numbers_parse_as_std_does() {
        let cases = [
            "0",
            "-0",
            "1",
            "-1.5",
            "0.1",
            "0.00001234",
            "123456.789",
            "1e-4",
            "2.5E3",
            "-3.14159",
            "99999999999999.9",
            "1234567890.12345",
            "0.30000000000000004",
            "1e300",
            "5e-324",
            "12345678901234567890",
            ".5",
            "5.",
            "+2",
            "7e+2",
        ];
        for c in cases {
            let want: f64 = c.parse().unwrap();
            assert_eq!(num(c.as_bytes()).to_bits(), want.to_bits(), "{c}");
        }
        for bad in ["", "-", ".", "e5", "1e", "abc", "1.2.3", "1e5x"] {
            assert!(num(bad.as_bytes()).is_nan(), "{bad}");
        }
        assert_eq!(num(b" 2.5 "), 2.5);
        assert!(num(b"nan").is_nan());
        assert_eq!(num(b"inf"), f64::INFINITY);
    }

    #[test]
    fn partial_last_row_is_dropped() {
        let (cols, kind) =
            parse_metrics(b"step,critic_loss,estimate_kind\n1,0.5,js\n2,,js\n3,0.").unwrap();
        assert_eq!(cols.get("step").unwrap(), [1.0, 2.0]);
        assert!(cols.get("critic_loss").unwrap()[1].is_nan());
        assert_eq!(cols.last_finite("critic_loss"), Some(0.5));
        assert_eq!(kind.as_deref(), Some("js"));
    }
}
