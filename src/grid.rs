//! Grid files: a declarative TOML description of a sweep, expanded into a [`Plan`].
//!
//! ```toml
//! name = "clip_vs_gp"
//! description = "Does the gradient penalty fix what clipping breaks?"
//! seeds = [1, 2, 3]          # replicate axis
//! [base]                     # settings shared by every run
//! dataset = "swissroll"
//! [[grid]]                   # arrays expand as a cartesian product
//! loss = "wgan-clip"
//! clip = [0.1, 0.01]
//! [[grid]]                   # grids are unioned
//! loss = "wgan-gp"
//! ```
//!
//! Every error names the file, line, column and key, and says what would be valid.

use crate::config::{KEYS, RunConfig, RunSpec};
use crate::hash::short_hash;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

const TOP_KEYS: &[&str] = &["name", "description", "seeds", "base", "grid", "max_runs"];

/// Default cap on the number of runs a grid may expand to without `--yes`.
pub const DEFAULT_MAX_RUNS: usize = 500;

/// A located error in a grid file. Displayed as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct GridError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for GridError {}

/// One configuration of the plan.
#[derive(Debug, Clone)]
pub struct PlanEntry {
    pub hash: String,
    pub config: RunConfig,
}

/// The expanded, deduplicated list of configurations of a grid file.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub description: String,
    pub file: PathBuf,
    pub entries: Vec<PlanEntry>,
    /// Hashes that more than one grid point expanded to, with how many points did.
    pub duplicates: Vec<(String, usize)>,
    /// Flat config keys whose value differs between entries (the seed included).
    pub varying: Vec<String>,
}

impl Plan {
    /// The values of the varying keys of one entry, for tables and legends.
    pub fn varying_values(&self, entry: &PlanEntry) -> Vec<(String, String)> {
        let flat = entry.config.to_flat();
        self.varying
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    flat.get(k).map(show_value).unwrap_or_else(|| "-".into()),
                )
            })
            .collect()
    }

    /// The varying settings of one entry as `key=value key=value`, for tables and plans.
    pub fn settings_text(&self, entry: &PlanEntry) -> String {
        self.varying_values(entry)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A deterministic slice `k` of `n` (1-based `k`), for `--shard K/N`.
    pub fn shard(&self, k: usize, n: usize) -> Vec<&PlanEntry> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, e)| e)
            .collect()
    }
}

/// Render a TOML value compactly (strings unquoted).
pub fn show_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> GridError {
        let offset = span.map(|s| s.start).unwrap_or(0).min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        GridError {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

fn suggest(key: &str, valid: &[&str]) -> String {
    let best = valid
        .iter()
        .map(|v| (strsim::jaro_winkler(key, v), *v))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, v)) if score > 0.8 => format!(" (did you mean `{v}`?)"),
        _ => String::new(),
    }
}

/// Where each key of a table was written, for locating semantic errors.
type Spans = HashMap<String, Range<usize>>;

fn key_spans(table: &toml_edit::Table) -> Spans {
    table
        .iter()
        .filter_map(|(k, _)| {
            let (key, item) = table.get_key_value(k)?;
            Some((k.to_string(), key.span().or_else(|| item.span())?))
        })
        .collect()
}

/// Check that one key's value has the right type by deserialising it alone.
fn check_value(key: &str, value: &toml::Value) -> Result<(), String> {
    let mut t = toml::Table::new();
    t.insert(key.to_string(), value.clone());
    toml::Value::Table(t)
        .try_into::<RunSpec>()
        .map(|_| ())
        .map_err(|e| {
            let msg = e.to_string();
            let msg = msg.trim().trim_end_matches(&format!(" for key `{key}`"));
            format!("key `{key}`: {msg}")
        })
}

/// Read and expand a grid file. `max_runs` (None = no limit) guards against accidental huge grids.
pub fn load_plan(path: &Path, max_runs: Option<usize>) -> Result<Plan, GridError> {
    let text = std::fs::read_to_string(path).map_err(|e| GridError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("cannot read grid file: {e}"),
    })?;
    parse_plan(path, &text, max_runs)
}

/// Parse and expand grid text (the file name is only used in messages).
pub fn parse_plan(path: &Path, text: &str, max_runs: Option<usize>) -> Result<Plan, GridError> {
    let loc = Locator { file: path, text };
    let doc = toml_edit::ImDocument::parse(text)
        .map_err(|e| loc.at(e.span(), format!("invalid TOML: {}", e.message().trim())))?;
    let values: toml::Table = toml::from_str(text)
        .map_err(|e| loc.at(e.span(), format!("invalid TOML: {}", e.message().trim())))?;
    let root = doc.as_table();
    let root_spans = key_spans(root);
    let span_of = |k: &str| root_spans.get(k).cloned();

    for k in values.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            let hint = if KEYS.contains(&k.as_str()) {
                format!(" (run settings go in [base] or [[grid]]: move `{k}` under [base])")
            } else {
                suggest(k, TOP_KEYS)
            };
            return Err(loc.at(
                span_of(k),
                format!(
                    "unknown top-level key `{k}`{hint}; valid keys: {}",
                    TOP_KEYS.join(", ")
                ),
            ));
        }
    }
    let string_key = |k: &str| -> Result<String, GridError> {
        match values.get(k) {
            None => Ok(String::new()),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(loc.at(
                span_of(k),
                format!("key `{k}`: expected a string, got {}", other.type_str()),
            )),
        }
    };
    let name = match string_key("name")? {
        n if n.is_empty() => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into()),
        n => n,
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(loc.at(
            span_of("name"),
            format!("key `name`: \"{name}\" may only contain letters, digits, '_', '-' and '.' (it names files)"),
        ));
    }
    let description = string_key("description")?;
    let file_max = match values.get("max_runs") {
        None => None,
        Some(toml::Value::Integer(n)) if *n > 0 => Some(*n as usize),
        Some(other) => {
            return Err(loc.at(
                span_of("max_runs"),
                format!("key `max_runs`: expected a positive integer, got {other}"),
            ));
        }
    };
    let seeds: Option<Vec<u64>> = match values.get("seeds") {
        None => None,
        Some(toml::Value::Array(a)) if !a.is_empty() => Some(
            a.iter()
                .map(|v| match v {
                    toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
                    other => Err(loc.at(
                        span_of("seeds"),
                        format!("key `seeds`: expected non-negative integers, got {other}"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(loc.at(
                span_of("seeds"),
                "key `seeds`: expected a non-empty array of integers, e.g. seeds = [1, 2, 3]",
            ));
        }
    };

    // [base]
    let empty = toml::Table::new();
    let base = match values.get("base") {
        None => &empty,
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(loc.at(span_of("base"), "`base` must be a table: [base]")),
    };
    let base_spans = root
        .get("base")
        .and_then(|i| i.as_table())
        .map(key_spans)
        .unwrap_or_default();
    check_table(&loc, base, &base_spans, "[base]", false)?;

    // [[grid]]
    let grids: Vec<(&toml::Table, Spans)> = match values.get("grid") {
        None => vec![(&empty, Spans::new())],
        Some(toml::Value::Array(a)) => {
            let tables = root.get("grid").and_then(|i| i.as_array_of_tables());
            let mut out = Vec::new();
            for (i, v) in a.iter().enumerate() {
                let spans = tables
                    .and_then(|t| t.get(i))
                    .map(key_spans)
                    .unwrap_or_default();
                match v {
                    toml::Value::Table(t) => out.push((t, spans)),
                    _ => {
                        return Err(loc.at(
                            span_of("grid"),
                            "`grid` must be an array of tables: [[grid]]",
                        ));
                    }
                }
            }
            if out.is_empty() {
                return Err(loc.at(span_of("grid"), "empty grid: `grid` has no tables"));
            }
            out
        }
        Some(_) => {
            return Err(loc.at(
                span_of("grid"),
                "`grid` must be an array of tables: write [[grid]] (two brackets)",
            ));
        }
    };
    for (i, (t, spans)) in grids.iter().enumerate() {
        check_table(&loc, t, spans, &format!("[[grid]] #{}", i + 1), true)?;
        if seeds.is_some() && t.contains_key("seed") {
            return Err(loc.at(
                spans.get("seed").cloned(),
                "key `seed`: conflicts with the top-level `seeds` replicate axis; set one of them",
            ));
        }
    }
    if seeds.is_some() && base.contains_key("seed") {
        return Err(loc.at(
            base_spans.get("seed").cloned(),
            "key `seed`: conflicts with the top-level `seeds` replicate axis; set one of them",
        ));
    }

    // Expand.
    let mut entries: Vec<PlanEntry> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (t, spans) in &grids {
        let axes: Vec<(&String, Vec<toml::Value>)> = t
            .iter()
            .map(|(k, v)| match v {
                toml::Value::Array(a) if !is_list_key(k) || a.iter().all(|x| x.is_array()) => {
                    (k, a.clone())
                }
                other => (k, vec![other.clone()]),
            })
            .collect();
        let total: usize = axes.iter().map(|(_, v)| v.len()).product::<usize>()
            * seeds.as_ref().map_or(1, |s| s.len());
        if let Some(limit) = max_runs.map(|m| file_max.map_or(m, |f| f.max(m)))
            && entries.len() + total > limit
        {
            return Err(loc.at(
                span_of("grid"),
                format!(
                    "the grid expands to more than {limit} runs; pass --yes to run them anyway, \
                     or raise `max_runs` in the file"
                ),
            ));
        }
        let n_points: usize = axes.iter().map(|(_, v)| v.len()).product();
        for flat in 0..n_points {
            // Mixed-radix digits of `flat`: the first axis varies slowest.
            let mut point = base.clone();
            let mut rem = flat;
            for (k, vals) in axes.iter().rev() {
                point.insert((*k).clone(), vals[rem % vals.len()].clone());
                rem /= vals.len();
            }
            for seed in seeds.clone().unwrap_or_else(|| vec![u64::MAX]) {
                let mut p = point.clone();
                if seed != u64::MAX {
                    p.insert("seed".into(), toml::Value::Integer(seed as i64));
                }
                let spec: RunSpec = toml::Value::Table(p.clone())
                    .try_into()
                    .map_err(|e| loc.at(None, format!("invalid settings: {e}")))?;
                let config = spec.resolve().map_err(|e| {
                    let span = spans
                        .get(e.key)
                        .or_else(|| base_spans.get(e.key))
                        .or_else(|| {
                            // The error is about a key that came from a default; point at the
                            // key that selected the loss/model instead.
                            ["loss", "model", "dataset", "profile"]
                                .iter()
                                .find_map(|k| spans.get(*k).or_else(|| base_spans.get(*k)))
                        })
                        .cloned();
                    loc.at(span, format!("key `{}`: {}", e.key, e.message))
                })?;
                let hash = short_hash(&config);
                let n = counts.entry(hash.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    entries.push(PlanEntry { hash, config });
                }
            }
        }
    }
    let duplicates = entries
        .iter()
        .filter_map(|e| {
            let n = counts[&e.hash];
            (n > 1).then(|| (e.hash.clone(), n))
        })
        .collect();
    // Show the keys the user varies (grid keys, seeds), not the defaults they imply.
    let mentioned: Vec<&str> = grids
        .iter()
        .flat_map(|(t, _)| t.keys().map(String::as_str))
        .chain(seeds.iter().map(|_| "seed"))
        .collect();
    let all = varying_keys(entries.iter().map(|e| &e.config));
    let chosen: Vec<String> = all
        .iter()
        .filter(|k| mentioned.contains(&k.as_str()))
        .cloned()
        .collect();
    let varying = if chosen.is_empty() { all } else { chosen };
    Ok(Plan {
        name,
        description,
        file: path.to_path_buf(),
        entries,
        duplicates,
        varying,
    })
}

/// Keys whose value is itself a list: in a grid, only an array of arrays is an axis.
fn is_list_key(k: &str) -> bool {
    matches!(k, "g_hidden" | "c_hidden")
}

fn check_table(
    loc: &Locator,
    t: &toml::Table,
    spans: &Spans,
    what: &str,
    is_grid: bool,
) -> Result<(), GridError> {
    for (k, v) in t {
        let span = spans.get(k).cloned();
        if !KEYS.contains(&k.as_str()) {
            return Err(loc.at(
                span,
                format!(
                    "unknown key `{k}` in {what}{}; valid keys: {}",
                    suggest(k, KEYS),
                    KEYS.join(", ")
                ),
            ));
        }
        let axis = match v {
            toml::Value::Array(a)
                if is_grid && (!is_list_key(k) || a.iter().all(|x| x.is_array())) =>
            {
                if a.is_empty() {
                    return Err(loc.at(
                        span,
                        format!(
                            "key `{k}` in {what}: empty grid axis `[]`; give at least one value"
                        ),
                    ));
                }
                a.clone()
            }
            other => vec![other.clone()],
        };
        for value in &axis {
            check_value(k, value).map_err(|m| loc.at(span.clone(), format!("{m} (in {what})")))?;
        }
    }
    Ok(())
}

/// Flat keys whose values differ across configs (a key set in only some of them varies too).
pub fn varying_keys<'a>(configs: impl Iterator<Item = &'a RunConfig>) -> Vec<String> {
    let mut seen: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut n = 0;
    for c in configs {
        n += 1;
        for (k, v) in c.to_flat() {
            let s = show_value(&v);
            let (count, vals) = seen.entry(k).or_default();
            *count += 1;
            if !vals.contains(&s) {
                vals.push(s);
            }
        }
    }
    seen.into_iter()
        .filter(|(_, (count, vals))| vals.len() > 1 || *count < n)
        .map(|(k, _)| k)
        .collect()
}
