//! Reading run folders (see `docs/results-layout.md`).
//!
//! Loading is lenient on purpose: a report is often generated while workers are still
//! writing, so a missing or half-written CSV becomes an empty table plus a warning
//! instead of an error, and only an unreadable `config.toml`/`run.json` skips a run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use anyhow::{Context, Result};

pub use crate::results::record::Status;
pub use crate::results::sweep_record::SweepRecord;
use crate::results::{record, run_files, sweep_record, tree_dirs};

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
    pub wall_s: f64,
    pub error: Option<String>,
    pub step: u32,
    pub diverged_at: Option<u32>,
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
        self.config.get(key).map(value_str)
    }
}

/// Render a TOML value the way legends and tables show it: strings unquoted,
/// floats in shortest round-trip form.
pub fn value_str(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f}"),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
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

/// Load many runs on all cores: parsing CSV dominates report time.
pub fn load_runs(dirs: &[PathBuf], warnings: &mut Vec<String>) -> Vec<Run> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(dirs.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<Run>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut local = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(dir) = dirs.get(i) else { break };
                        local.push((i, load_run(dir)));
                    }
                    local
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("run loader panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    let mut runs = Vec::with_capacity(results.len());
    for (i, r) in results {
        match r {
            Ok(run) => runs.push(run),
            Err(e) => warnings.push(format!("skipped {}: {e:#}", dirs[i].display())),
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

/// Load one run folder.
pub fn load_run(dir: &Path) -> Result<Run> {
    let hash = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cfg_text =
        fs::read_to_string(dir.join(run_files::CONFIG)).context("reading config.toml")?;
    let config: Config = toml::from_str(&cfg_text).context("parsing config.toml")?;
    let rec = record::try_read(dir).context("reading run.json")?;

    let mut run = Run {
        hash,
        dir: dir.to_path_buf(),
        config,
        status: rec.status,
        sweep: rec.sweep,
        wall_s: rec.wall_s,
        error: rec.error,
        step: rec.step,
        diverged_at: rec.diverged_at,
        metrics: Columns::default(),
        estimate_kind: None,
        eval: BTreeMap::new(),
        layers_last: BTreeMap::new(),
        hist_last: Vec::new(),
        surface_file: None,
        png_samples: Vec::new(),
        csv_samples: Vec::new(),
        mtimes: Mtimes {
            config: mtime(&dir.join(run_files::CONFIG)),
            run_json: mtime(&dir.join(run_files::RECORD)),
            metrics: mtime(&dir.join(run_files::METRICS)).max(mtime(&dir.join(run_files::TIMING))),
            eval: mtime(&dir.join(run_files::EVAL)),
            layers: mtime(&dir.join(run_files::LAYERS)),
            hist: mtime(&dir.join(run_files::WEIGHTS_HIST)),
            surface: mtime(&dir.join(run_files::SURFACE)),
            samples: None,
        },
        warnings: Vec::new(),
    };

    let mut warnings = Vec::new();
    macro_rules! part {
        ($file:expr, $parse:expr) => {
            match read_opt(&dir.join($file)) {
                Ok(Some(bytes)) => match $parse(&bytes[..]) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        warnings.push(format!("{}: {e:#}", $file));
                        None
                    }
                },
                Ok(None) => None,
                Err(e) => {
                    warnings.push(format!("{e:#}"));
                    None
                }
            }
        };
    }
    if let Some((cols, kind)) = part!(run_files::METRICS, parse_metrics) {
        run.metrics = cols;
        run.estimate_kind = kind;
    }
    // Wall times live in timing.csv (step,wall_s) so that metrics.csv is deterministic.
    if run.metrics.get("wall_s").is_none()
        && let Some(timing) = part!(run_files::TIMING, parse_metrics)
    {
        run.metrics.join_by_step("wall_s", &timing.0);
    }
    if let Some(eval) = part!(run_files::EVAL, parse_eval) {
        run.eval = eval;
    }
    if let Some(layers) = part!(run_files::LAYERS, parse_layers) {
        run.layers_last = layers;
    }
    if let Some(hist) = part!(run_files::WEIGHTS_HIST, parse_hist) {
        run.hist_last = hist;
    }
    run.surface_file = Some(dir.join(run_files::SURFACE)).filter(|p| p.is_file());
    let (png, csv, newest) = list_samples(&dir.join(run_files::SAMPLES));
    run.png_samples = png;
    run.csv_samples = csv;
    run.mtimes.samples = newest;
    run.warnings = warnings;
    Ok(run)
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).from_reader(bytes)
}

/// A numeric cell; NaN when empty or not a number. Surrounding spaces are tolerated.
fn num(field: &[u8]) -> f64 {
    if field.is_empty() {
        return f64::NAN;
    }
    fast_f64(field)
        .or_else(|| std::str::from_utf8(field).ok()?.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Clinger's fast path for plain decimals (`-12.345`, `1e-4`): with at most 15
/// significant digits and a power of ten of at most 22 both operands are exact in f64,
/// so one multiplication or division is correctly rounded, i.e. equal to `str::parse`.
/// Anything else returns `None` and goes to the standard parser. Metrics files are
/// millions of cells, and this is several times faster.
fn fast_f64(s: &[u8]) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let (neg, s) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mut mant, mut sig, mut frac, mut dot, mut any) = (0u64, 0u32, 0i32, false, false);
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        match c {
            b'0'..=b'9' => {
                mant = mant * 10 + u64::from(c - b'0');
                if mant > 0 {
                    sig += 1;
                    if sig > 15 {
                        return None;
                    }
                }
                frac += i32::from(dot);
                any = true;
            }
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    let mut exp = 0i32;
    if let Some(b'e' | b'E') = s.get(i) {
        let rest = &s[i + 1..];
        let (eneg, digits) = match rest.first()? {
            b'-' => (true, &rest[1..]),
            b'+' => (false, &rest[1..]),
            _ => (false, rest),
        };
        if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        exp = digits.iter().fold(0, |a, d| a * 10 + i32::from(d - b'0'));
        if eneg {
            exp = -exp;
        }
    } else if i != s.len() {
        return None;
    }
    let e = exp - frac;
    let v = mant as f64;
    let v = match e {
        0 => v,
        1..=22 => v * POW10[e as usize],
        -22..=-1 => v / POW10[(-e) as usize],
        _ => return None,
    };
    Some(if neg { -v } else { v })
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
    let mut rdr = csv_reader(bytes);
    let header: Vec<String> = rdr.byte_headers()?.iter().map(text).collect();
    let kind_col = header.iter().position(|h| h == "estimate_kind");
    let mut data: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    let mut kind: Option<Vec<u8>> = None;
    let mut rec = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut rec)? {
        if rec.len() != header.len() {
            continue;
        }
        for (i, field) in rec.iter().enumerate() {
            if Some(i) == kind_col {
                if !field.is_empty() && kind.as_deref() != Some(field) {
                    kind = Some(field.to_vec());
                }
            } else {
                data[i].push(num(field));
            }
        }
    }
    let mut names = header;
    if let Some(k) = kind_col {
        names.remove(k);
        data.remove(k);
    }
    Ok((Columns { names, data }, kind.map(|k| text(&k))))
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

    #[test]
    fn fast_path_agrees_with_std() {
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
