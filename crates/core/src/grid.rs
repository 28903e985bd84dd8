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
//! [[sample]]                 # random search: n settings drawn from ranges (`sample`)
//! n = 20
//! seed = 1
//! c_lr = { log_uniform = [1e-5, 1e-3] }
//! [[claim]]                  # what the sweep should show, tested over seeds by the report
//! text = "The penalty fits better than clipping"
//! metric = "sliced_wasserstein"
//! better = { loss = "wgan-gp" }
//! than = { loss = "wgan-clip" }
//! ```
//!
//! Every error names the file, line, column and key, and says what would be valid.

mod located;
mod sample;
mod seeds;

pub use seeds::load_plan_on_seeds;

pub use located::GridError;
use located::{Locator, Spans, check_value, is_list_key, key_spans, suggest, with_range};

pub use sample::{DIGITS as SAMPLE_DIGITS, Dist, SampleTable, draw_one, round_sig};

use crate::claims::{self, Claim, PlanContext};
use crate::config::{KEYS, RunConfig, RunSpec};
use crate::hash::short_hash;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "seeds",
    "design_seeds",
    "base",
    "grid",
    "sample",
    "max_runs",
    "claim",
];

/// Longest sweep name: it names folders and SLURM jobs.
pub const MAX_NAME_LEN: usize = 100;

/// Default cap on the number of runs a grid may expand to without `--yes`.
pub const DEFAULT_MAX_RUNS: usize = 500;

/// Cap on the number of runs a grid may expand to even with `--yes` or a file's `max_runs`:
/// the plan is held in memory, and a grid this large is a typo, not a sweep.
pub const HARD_MAX_RUNS: usize = 100_000;

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
    /// The grid file's `[[claim]]` tables, checked against the plan's configurations.
    pub claims: Vec<Claim>,
    /// Hashes of the configurations a `[[sample]]` table drew (also when a grid point is the
    /// same configuration), in plan order.
    pub sampled: Vec<String>,
    /// Keys whose values group the draws in the report's budget views (`per`, else the keys
    /// drawn by choice among strings); empty: one group.
    pub sample_groups: Vec<String>,
    /// The grid's `design_seeds`: the seeds its claims were chosen on.
    pub design_seeds: Option<Vec<u64>>,
    /// The seeds given with `--seeds` in place of the file's ([`load_plan_on_seeds`]).
    pub seeds_override: Option<Vec<u64>>,
}

impl Plan {
    /// The values of the varying keys of one entry, for tables and legends.
    pub fn varying_values(&self, entry: &PlanEntry) -> Vec<(String, String)> {
        let flat = entry.config.to_view();
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
    let invalid = |span, message: &str| loc.at(span, format!("invalid TOML: {}", message.trim()));
    let doc = toml_edit::ImDocument::parse(text).map_err(|e| invalid(e.span(), e.message()))?;
    let values: toml::Table = toml::from_str(text).map_err(|e| invalid(e.span(), e.message()))?;
    let root = doc.as_table();
    let top = Top {
        loc: &loc,
        values: &values,
        spans: key_spans(root),
    };
    top.check_keys()?;
    let name = top.name(path)?;
    let description = top.string_key("description")?;
    let file_max = top.max_runs()?;
    let seeds = top.seeds()?;
    let design_seeds = top.design_seeds()?;
    let (base, base_spans) = top.base(root)?;
    let samples = sample::parse_samples(&loc, &values, root, top.spans.get("sample").cloned())?;
    let grids = if samples.is_empty() || values.contains_key("grid") {
        top.grids(root)?
    } else {
        Vec::new()
    };
    for (i, (t, spans)) in grids.iter().enumerate() {
        check_table(&loc, t, spans, &format!("[[grid]] #{}", i + 1), true)?;
        if seeds.is_some() && t.contains_key("seed") {
            return Err(seed_conflict(&loc, spans));
        }
    }
    for s in &samples {
        if seeds.is_some() && s.axes.iter().any(|(k, _)| k == "seed") {
            return Err(seed_conflict(&loc, &s.spans));
        }
    }
    if seeds.is_some() && base.contains_key("seed") {
        return Err(seed_conflict(&loc, &base_spans));
    }
    let limit = max_runs.map(|m| file_max.map_or(m, |f| f.max(m)));
    let expansion = Expansion {
        top: &top,
        base: &base,
        base_spans: &base_spans,
        seeds: seeds.as_deref(),
    };
    let (mut entries, mut counts) = expansion.expand(&grids, limit)?;
    let sampled = expansion.expand_samples(&samples, limit, &mut entries, &mut counts)?;
    let duplicates = entries
        .iter()
        .filter_map(|e| {
            let n = counts[&e.hash];
            (n > 1).then(|| (e.hash.clone(), n))
        })
        .collect();
    let sample_keys = samples
        .iter()
        .flat_map(|s| s.axes.iter().map(|(k, _)| k.as_str()));
    let varying = shown_varying(&grids, sample_keys, seeds.is_some(), &entries);
    let mut sample_groups: Vec<String> = Vec::new();
    for k in samples.iter().flat_map(SampleTable::group_keys) {
        if !sample_groups.contains(&k) {
            sample_groups.push(k);
        }
    }
    let claims = plan_claims(&loc, root, &entries)?;
    Ok(Plan {
        name,
        description,
        file: path.to_path_buf(),
        entries,
        duplicates,
        varying,
        claims,
        sampled,
        sample_groups,
        design_seeds,
        seeds_override: None,
    })
}

/// The `[[claim]]` tables, each checked against the registry and the expanded configurations
/// (a selector must match one of them); an error points at the claim's key.
fn plan_claims(
    loc: &Locator,
    root: &toml_edit::Table,
    entries: &[PlanEntry],
) -> Result<Vec<Claim>, GridError> {
    let Some(item) = root.get("claim") else {
        return Ok(Vec::new());
    };
    let configs: Vec<toml::Table> = entries.iter().map(|e| e.config.to_flat()).collect();
    let plan = PlanContext {
        configs: &configs,
        keys: KEYS,
    };
    claims::parse_claims(item, &plan).map_err(|e| loc.at(e.span.clone(), e.to_string()))
}

/// The top level of a grid file: its values and where each key was written.
struct Top<'a> {
    loc: &'a Locator<'a>,
    values: &'a toml::Table,
    spans: Spans,
}

/// A `[base]` or `[[grid]]` table with where each of its keys was written.
type Located = (toml::Table, Spans);

impl Top<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> GridError {
        self.loc.at(self.spans.get(key).cloned(), message)
    }

    fn check_keys(&self) -> Result<(), GridError> {
        let Some(k) = self.values.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) else {
            return Ok(());
        };
        let hint = if KEYS.contains(&k.as_str()) {
            format!(" (run settings go in [base] or [[grid]]: move `{k}` under [base])")
        } else {
            suggest(k, TOP_KEYS)
        };
        Err(self.err(
            k,
            format!(
                "unknown top-level key `{k}`{hint}; valid keys: {}",
                TOP_KEYS.join(", ")
            ),
        ))
    }

    fn string_key(&self, k: &str) -> Result<String, GridError> {
        match self.values.get(k) {
            None => Ok(String::new()),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.err(
                k,
                format!("key `{k}`: expected a string, got {}", other.type_str()),
            )),
        }
    }

    /// `name`, or the file's stem; it names folders (`results/sweeps/`, `results/slurm/<name>/`),
    /// so only a safe alphabet, no leading '.' (no `..`) and at most [`MAX_NAME_LEN`] characters.
    fn name(&self, path: &Path) -> Result<String, GridError> {
        let given = self.string_key("name")?;
        let (name, what) = match given {
            n if n.is_empty() && !self.values.contains_key("name") => (
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "sweep".into()),
                "the grid file's name (the sweep's name when the file sets no `name`)",
            ),
            n => (n, "key `name`"),
        };
        let safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
        let shown: String = name.chars().take(40).collect();
        let shown = if shown.len() < name.len() {
            format!("{shown}...")
        } else {
            shown
        };
        let problem = if name.is_empty() {
            Some("is empty".to_string())
        } else if !name.chars().all(safe) {
            Some("may only contain letters, digits, '_', '-' and '.'".into())
        } else if name.starts_with('.') {
            Some("may not start with '.'".into())
        } else if name.chars().count() > MAX_NAME_LEN {
            Some(format!(
                "has {} characters; at most {MAX_NAME_LEN} are allowed",
                name.chars().count()
            ))
        } else {
            None
        };
        match problem {
            None => Ok(name),
            Some(p) if what.starts_with("key") => {
                Err(self.err("name", format!("{what}: \"{shown}\" {p} (it names files)")))
            }
            Some(p) => Err(self.err(
                "name",
                format!(
                    "{what}: \"{shown}\" {p} (it names files); set `name = \"...\"` in the file"
                ),
            )),
        }
    }

    fn max_runs(&self) -> Result<Option<usize>, GridError> {
        match self.values.get("max_runs") {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if *n > 0 => Ok(Some(*n as usize)),
            Some(other) => Err(self.err(
                "max_runs",
                format!("key `max_runs`: expected a positive integer, got {other}"),
            )),
        }
    }

    /// The replicate axis.
    fn seeds(&self) -> Result<Option<Vec<u64>>, GridError> {
        self.seed_list("seeds")
    }

    /// The seeds the grid's claims were chosen on (the report labels verdicts by them).
    fn design_seeds(&self) -> Result<Option<Vec<u64>>, GridError> {
        self.seed_list("design_seeds")
    }

    /// A top-level non-empty list of non-negative integers.
    fn seed_list(&self, key: &str) -> Result<Option<Vec<u64>>, GridError> {
        let seed = |v: &toml::Value| match v {
            toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
            other => Err(self.err(
                key,
                format!("key `{key}`: expected non-negative integers, got {other}"),
            )),
        };
        match self.values.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) if !a.is_empty() => {
                Ok(Some(a.iter().map(seed).collect::<Result<_, _>>()?))
            }
            Some(_) => Err(self.err(
                key,
                format!(
                    "key `{key}`: expected a non-empty array of integers, e.g. {key} = [1, 2, 3]"
                ),
            )),
        }
    }

    /// `[base]` (empty when absent), checked.
    fn base(&self, root: &toml_edit::Table) -> Result<Located, GridError> {
        let base = match self.values.get("base") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => return Err(self.err("base", "`base` must be a table: [base]")),
        };
        let spans = root
            .get("base")
            .and_then(|i| i.as_table())
            .map(key_spans)
            .unwrap_or_default();
        check_table(self.loc, &base, &spans, "[base]", false)?;
        Ok((base, spans))
    }

    /// The `[[grid]]` tables (one empty table when there are none), not yet checked.
    fn grids(&self, root: &toml_edit::Table) -> Result<Vec<Located>, GridError> {
        let a = match self.values.get("grid") {
            None => return Ok(vec![(toml::Table::new(), Spans::new())]),
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                return Err(self.err(
                    "grid",
                    "`grid` must be an array of tables: write [[grid]] (two brackets)",
                ));
            }
        };
        let tables = root.get("grid").and_then(|i| i.as_array_of_tables());
        let mut out = Vec::new();
        for (i, v) in a.iter().enumerate() {
            let spans = tables
                .and_then(|t| t.get(i))
                .map(key_spans)
                .unwrap_or_default();
            match v {
                toml::Value::Table(t) => out.push((t.clone(), spans)),
                _ => return Err(self.err("grid", "`grid` must be an array of tables: [[grid]]")),
            }
        }
        if out.is_empty() {
            return Err(self.err("grid", "empty grid: `grid` has no tables"));
        }
        Ok(out)
    }
}

impl Expansion<'_> {
    /// Every draw of every table, resolved over `[base]` and the seeds like a grid point and
    /// appended to `entries` (the first of each hash kept, so a draw equal to a grid point is
    /// that run); returns the hashes the tables drew, in plan order.
    fn expand_samples(
        &self,
        samples: &[SampleTable],
        limit: Option<usize>,
        entries: &mut Vec<PlanEntry>,
        counts: &mut HashMap<String, usize>,
    ) -> Result<Vec<String>, GridError> {
        let mut sampled = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for table in samples {
            self.check_sample_size(table, entries.len(), limit)?;
            for draw in table.draws() {
                let mut point = self.base.clone();
                point.extend(draw.settings.clone());
                let configs = self.resolve(point, &table.spans).map_err(|mut e| {
                    e.message += &table.draw_note(draw.index, &draw.settings);
                    e
                })?;
                for config in configs {
                    let hash = crate::hash::short_hash(&config);
                    let n = counts.entry(hash.clone()).or_insert(0);
                    *n += 1;
                    if *n == 1 {
                        entries.push(PlanEntry {
                            hash: hash.clone(),
                            config,
                        });
                    }
                    if seen.insert(hash.clone()) {
                        sampled.push(hash);
                    }
                }
            }
        }
        Ok(sampled)
    }

    /// Refuse a table whose draws times the seeds, added to the `so_far` runs before it,
    /// exceed `limit` or [`HARD_MAX_RUNS`], before anything is drawn.
    fn check_sample_size(
        &self,
        table: &SampleTable,
        so_far: usize,
        limit: Option<usize>,
    ) -> Result<(), GridError> {
        let n_seeds = self.seeds.map_or(1, <[u64]>::len);
        let total = table
            .points()
            .saturating_mul(n_seeds)
            .saturating_add(so_far);
        let cap = limit.unwrap_or(HARD_MAX_RUNS).min(HARD_MAX_RUNS);
        if total <= cap {
            return Ok(());
        }
        let strata = table.points() / table.n;
        let parts = format!("n {} x strata {strata} x seeds {n_seeds}", table.n);
        let fix = if limit.is_some_and(|l| l < HARD_MAX_RUNS) {
            "pass --yes to run them anyway, or raise `max_runs` in the file".to_string()
        } else {
            format!("more than the {} any plan may have", HARD_MAX_RUNS)
        };
        let span = table.spans.get("n").cloned();
        Err(self.top.loc.at(
            span,
            format!(
                "{} brings the plan to {total} runs ({parts}), more than {cap}; {fix}",
                table.what()
            ),
        ))
    }
}

fn seed_conflict(loc: &Locator, spans: &Spans) -> GridError {
    loc.at(
        spans.get("seed").cloned(),
        "key `seed`: conflicts with the top-level `seeds` replicate axis; set one of them",
    )
}

/// Expands grid tables over `[base]` and the seeds into resolved, hashed configurations.
struct Expansion<'a> {
    top: &'a Top<'a>,
    base: &'a toml::Table,
    base_spans: &'a Spans,
    seeds: Option<&'a [u64]>,
}

impl Expansion<'_> {
    /// Every configuration in order (first of each hash kept), and how many points hashed to each.
    fn expand(
        &self,
        grids: &[Located],
        limit: Option<usize>,
    ) -> Result<(Vec<PlanEntry>, HashMap<String, usize>), GridError> {
        let mut entries: Vec<PlanEntry> = Vec::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (t, spans) in grids {
            let axes: Vec<(&String, Vec<toml::Value>)> = t
                .iter()
                .map(|(k, v)| match v {
                    toml::Value::Array(a) if !is_list_key(k) || a.iter().all(|x| x.is_array()) => {
                        (k, a.clone())
                    }
                    other => (k, vec![other.clone()]),
                })
                .collect();
            let n_points = self.check_size(&axes, entries.len(), limit)?;
            for flat in 0..n_points {
                for config in self.point(&axes, flat, spans)? {
                    let hash = short_hash(&config);
                    let n = counts.entry(hash.clone()).or_insert(0);
                    *n += 1;
                    if *n == 1 {
                        entries.push(PlanEntry { hash, config });
                    }
                }
            }
        }
        Ok((entries, counts))
    }

    /// The number of points of a grid's axes, refused (before anything is expanded) when the
    /// points times the seeds, added to the `so_far` runs of earlier grids, exceed `limit` or
    /// [`HARD_MAX_RUNS`]. Sizes multiply in checked arithmetic: a wrapped product once let a
    /// huge grid pass as 0 runs.
    fn check_size(
        &self,
        axes: &[(&String, Vec<toml::Value>)],
        so_far: usize,
        limit: Option<usize>,
    ) -> Result<usize, GridError> {
        let n_seeds = self.seeds.map_or(1, <[u64]>::len);
        let n_points = axes
            .iter()
            .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
        let total = n_points
            .and_then(|n| n.checked_mul(n_seeds))
            .and_then(|n| n.checked_add(so_far));
        let sizes: Vec<String> = axes
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, v)| format!("{k} {}", v.len()))
            .chain((n_seeds > 1).then(|| format!("seeds {n_seeds}")))
            .collect();
        let size = match total {
            Some(t) => t.to_string(),
            None => "more than 2^64".into(),
        };
        let axes_text = sizes.join(" x ");
        match (n_points, total) {
            (Some(n), Some(t)) if t <= limit.unwrap_or(HARD_MAX_RUNS).min(HARD_MAX_RUNS) => Ok(n),
            (_, Some(t)) if limit.is_some_and(|l| t > l && l < HARD_MAX_RUNS) => {
                let limit = limit.unwrap_or_default();
                Err(self.top.err(
                    "grid",
                    format!(
                        "the grid expands to more than {limit} runs; pass --yes to run them anyway, \
                         or raise `max_runs` in the file (it has {t}: {axes_text})"
                    ),
                ))
            }
            _ => Err(self.top.err(
                "grid",
                format!(
                    "the grid expands to {size} runs ({axes_text}), more than the {HARD_MAX_RUNS} \
                     any grid may have even with --yes; use fewer values on these axes or split \
                     the grid into several files"
                ),
            )),
        }
    }

    /// Point `flat` of a grid's axes (mixed-radix digits: the first axis varies slowest),
    /// resolved once per seed.
    fn point(
        &self,
        axes: &[(&String, Vec<toml::Value>)],
        flat: usize,
        spans: &Spans,
    ) -> Result<Vec<RunConfig>, GridError> {
        let mut point = self.base.clone();
        let mut rem = flat;
        for (k, vals) in axes.iter().rev() {
            point.insert((*k).clone(), vals[rem % vals.len()].clone());
            rem /= vals.len();
        }
        self.resolve(point, spans)
    }

    /// A point's settings (merged over `[base]`) resolved once per seed, errors located at
    /// the key in `spans` (the grid or sample table) or in `[base]`.
    fn resolve(&self, point: toml::Table, spans: &Spans) -> Result<Vec<RunConfig>, GridError> {
        let seeds: Vec<Option<u64>> = match self.seeds {
            Some(s) => s.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        let loc = self.top.loc;
        seeds
            .into_iter()
            .map(|seed| {
                let mut p = point.clone();
                if let Some(seed) = seed {
                    p.insert("seed".into(), toml::Value::Integer(seed as i64));
                }
                let spec: RunSpec = toml::Value::Table(p)
                    .try_into()
                    .map_err(|e| loc.at(None, format!("invalid settings: {e}")))?;
                let config = spec.resolve().map_err(|e| {
                    let span = self.key_span(e.key, spans);
                    loc.at(
                        span,
                        format!("key `{}`: {}", e.key, with_range(e.key, &e.message)),
                    )
                })?;
                // What cannot fit is refused here, not by an aborted allocation at run time.
                crate::limits::check_bounds(&config).map_err(|(key, m)| {
                    let span = self.key_span(key, spans);
                    loc.at(span, format!("key `{key}`: {m}"))
                })?;
                // Refused here, not when the run starts and leaves a failed folder.
                config.backend.check_compiled_in().map_err(|m| {
                    let span = self.key_span("backend", spans);
                    loc.at(span, format!("key `backend`: {m}"))
                })?;
                Ok(config)
            })
            .collect()
    }

    /// Where a resolve error's key was written: in the grid table, in `[base]`, or, for a key
    /// that came from a default, the key that selected the loss/model.
    fn key_span(&self, key: &str, spans: &Spans) -> Option<Range<usize>> {
        let find = |k: &str| spans.get(k).or_else(|| self.base_spans.get(k));
        find(key)
            .or_else(|| {
                [
                    "loss",
                    "objective",
                    "penalty",
                    "model",
                    "dataset",
                    "profile",
                ]
                .iter()
                .find_map(|k| find(k))
            })
            .cloned()
    }
}

/// The keys the user varies (grid keys, seeds) among those that differ, not the defaults they
/// imply; all differing keys when the user varied none.
fn shown_varying<'a>(
    grids: &'a [Located],
    sample_keys: impl Iterator<Item = &'a str>,
    seeds: bool,
    entries: &[PlanEntry],
) -> Vec<String> {
    let mentioned: Vec<&str> = grids
        .iter()
        .flat_map(|(t, _)| t.keys().map(String::as_str))
        .chain(sample_keys)
        .chain(seeds.then_some("seed"))
        .collect();
    let all = varying_keys(entries.iter().map(|e| &e.config));
    let chosen: Vec<String> = all
        .iter()
        .filter(|k| mentioned.contains(&k.as_str()))
        .cloned()
        .collect();
    if chosen.is_empty() { all } else { chosen }
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

/// Flat keys whose values differ across configs (a key set in only some of them varies too),
/// the objective and constraint axes spelled out however the hashed form spells them.
pub fn varying_keys<'a>(configs: impl Iterator<Item = &'a RunConfig>) -> Vec<String> {
    let mut seen: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut n = 0;
    for c in configs {
        n += 1;
        for (k, v) in c.to_view() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse_plan(Path::new("g.toml"), text, Some(20))
            .map(|p| panic!("accepted: {} entries", p.entries.len()))
            .unwrap_err()
            .to_string()
    }

    /// Each check of the file's structure, with the location it reports.
    #[test]
    fn structural_errors_name_their_line_and_column() {
        let cases = [
            (
                "loss = \"gan\"\n",
                "g.toml:1:1: unknown top-level key `loss` (run settings go in [base] or [[grid]]: move `loss` under [base])",
            ),
            (
                "nmae = \"x\"\n",
                "g.toml:1:1: unknown top-level key `nmae` (did you mean `name`?)",
            ),
            (
                "name = 3\n",
                "g.toml:1:1: key `name`: expected a string, got integer",
            ),
            (
                "name = \"a b\"\n",
                "g.toml:1:1: key `name`: \"a b\" may only contain letters",
            ),
            (
                "description = [1]\n",
                "g.toml:1:1: key `description`: expected a string, got array",
            ),
            (
                "max_runs = 0\n",
                "g.toml:1:1: key `max_runs`: expected a positive integer, got 0",
            ),
            (
                "seeds = []\n",
                "g.toml:1:1: key `seeds`: expected a non-empty array",
            ),
            (
                "seeds = [1, -2]\n",
                "g.toml:1:1: key `seeds`: expected non-negative integers, got -2",
            ),
            ("base = 1\n", "g.toml:1:1: `base` must be a table"),
            (
                "grid = 1\n",
                "g.toml:1:1: `grid` must be an array of tables: write [[grid]]",
            ),
            ("grid = []\n", "g.toml:1:1: empty grid"),
            (
                "grid = [1]\n",
                "g.toml:1:1: `grid` must be an array of tables: [[grid]]",
            ),
            (
                "seeds = [1]\n[base]\nseed = 2\n",
                "g.toml:3:1: key `seed`: conflicts with the top-level `seeds`",
            ),
            (
                "[[grid]]\nn_critic = [1, 2, 3, 4, 5, 6, 7]\nseed = [1, 2, 3]\n",
                "g.toml:1:3: the grid expands to more than 20 runs",
            ),
            // An error about a default points at the key that chose it.
            (
                "[base]\ndataset = \"mnist\"\n[[grid]]\nmodel = \"toy-mlp\"\n",
                "g.toml:4:1: key `model`: model \"toy-mlp\" is for 2-D toy data",
            ),
            (
                "[[grid]]\nloss = \"gan\"\nwarmup = [false, true]\n",
                "g.toml:3:1: key `warmup`: warmup (100 critic steps",
            ),
            (
                "[base]\nprofile = \"seed\"\ndataset = \"8gaussians\"\n",
                "g.toml:3:1: key `model`: model \"mlp\" needs image data",
            ),
        ];
        for (text, want) in cases {
            let got = error(text);
            assert!(
                got.starts_with(want),
                "for {text:?}\n got: {got}\nwant: {want}"
            );
        }
    }

    /// 16 axes of 16 values: 16^16 = 2^64 points, which a `usize` product wraps to 0.
    fn huge_grid(extra: &str) -> String {
        let keys = [
            "batch_size",
            "gen_iters",
            "n_critic",
            "log_every",
            "eval_every",
            "checkpoint_every",
            "eval_samples",
            "z_dim",
            "dim",
            "depth",
        ];
        let floats = ["g_lr", "c_lr", "g_beta1", "c_beta1", "g_beta2", "c_beta2"];
        let mut text = format!("{extra}[[grid]]\n");
        for k in keys {
            let v: Vec<String> = (1..=16).map(|i| i.to_string()).collect();
            text += &format!("{k} = [{}]\n", v.join(", "));
        }
        for k in floats {
            let v: Vec<String> = (1..=16).map(|i| format!("0.{i:02}")).collect();
            text += &format!("{k} = [{}]\n", v.join(", "));
        }
        text
    }

    /// Grid sizes multiply without wrapping, and no limit lets a grid past the hard cap, so a
    /// huge grid is refused before anything is expanded, naming its axes.
    #[test]
    fn huge_grids_are_refused_without_wrapping() {
        for (extra, limit) in [("", Some(20)), ("", None), ("seeds = [1, 2, 3, 4]\n", None)] {
            let text = huge_grid(extra);
            let got = parse_plan(Path::new("g.toml"), &text, limit)
                .map(|p| format!("accepted: {} entries", p.entries.len()))
                .unwrap_err()
                .to_string();
            assert!(
                got.contains(":3: the grid expands to more than 2^64 runs (batch_size 16 x"),
                "{got}"
            );
            assert!(got.contains("c_beta2 16"), "{got}");
            assert!(got.contains("even with --yes"), "{got}");
        }
        // Below 2^64 but above the hard cap: refused even without a limit.
        let text = "[[grid]]\nn_critic = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    batch_size = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    gen_iters = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    log_every = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    eval_every = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nseed = [1, 2]\n";
        let got = parse_plan(Path::new("g.toml"), text, None)
            .map(|p| format!("accepted: {} entries", p.entries.len()))
            .unwrap_err()
            .to_string();
        assert!(
            got.starts_with("g.toml:1:3: the grid expands to 200000 runs (batch_size 10 x"),
            "{got}"
        );
    }

    const CLIP_VS_GP: &str = "seeds = [1, 2]\n[base]\ndataset = \"swissroll\"\n\
        [[grid]]\nloss = \"wgan-clip\"\nclip = [0.1, 0.01]\n[[grid]]\nloss = \"wgan-gp\"\n";

    /// The plan carries its claims, and a bad claim is a located grid error.
    #[test]
    fn claims_are_read_and_bad_ones_located() {
        let good = format!(
            "{CLIP_VS_GP}[[claim]]\ntext = \"GP fits better\"\nmetric = \"sliced_wasserstein\"\n\
             better = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}\n"
        );
        let p = parse_plan(Path::new("g.toml"), &good, None).unwrap();
        assert_eq!(p.claims.len(), 1);
        assert_eq!(p.claims[0].text, "GP fits better");
        let cases = [
            // Line 11 is the claim's `metric`, line 12 its selector.
            (
                "metric = \"sliced_wasserstien\"\nat_most = 1\n",
                "g.toml:11:1: [[claim]] #1: key `metric`: unknown metric `sliced_wasserstien` \
                 (did you mean `sliced_wasserstein`?)",
            ),
            (
                "metric = \"sliced_wasserstein\"\nwhere = { clip = 0.5 }\nat_most = 1\n",
                "g.toml:12:11: [[claim]] #1: key `where.clip`: no configuration of the plan has \
                 clip = 0.5 (values in the plan: 0.01, 0.1)",
            ),
            (
                "metric = \"estimate\"\nbetter = { loss = \"wgan-gp\" }\nthan = { loss = \"wgan-clip\" }\n",
                "g.toml:11:1: [[claim]] #1: key `metric`: `estimate` has no better direction",
            ),
        ];
        for (claim, want) in cases {
            let text = format!("{CLIP_VS_GP}[[claim]]\ntext = \"t\"\n{claim}");
            let got = error(&text);
            assert!(
                got.starts_with(want),
                "for {claim:?}\n got: {got}\nwant: {want}"
            );
        }
        let got = error("[[claim]]\nmetric = 1\n");
        assert!(
            got.starts_with("g.toml:2:1: [[claim]] #1: key `metric`"),
            "{got}"
        );
    }

    #[test]
    fn points_expand_first_axis_slowest_and_duplicates_are_counted() {
        let p = parse_plan(
            Path::new("g.toml"),
            "seeds = [1, 2]\n[base]\ndim = 8\n[[grid]]\nloss = [\"wgan-gp\", \"gan\"]\nn_critic = [1, 2]\n[[grid]]\nloss = \"gan\"\nn_critic = 1\n",
            None,
        )
        .unwrap();
        let got: Vec<(String, u32, u64)> = p
            .entries
            .iter()
            .map(|e| {
                (
                    e.config.legacy_loss().unwrap().to_string(),
                    e.config.n_critic,
                    e.config.seed,
                )
            })
            .collect();
        let want = [
            ("wgan-gp", 1, 1),
            ("wgan-gp", 1, 2),
            ("wgan-gp", 2, 1),
            ("wgan-gp", 2, 2),
            ("gan", 1, 1),
            ("gan", 1, 2),
            ("gan", 2, 1),
            ("gan", 2, 2),
        ];
        let want: Vec<(String, u32, u64)> = want
            .iter()
            .map(|(l, n, s)| (l.to_string(), *n, *s))
            .collect();
        assert_eq!(got, want);
        assert_eq!(p.duplicates.len(), 2);
        assert!(p.duplicates.iter().all(|(_, n)| *n == 2));
        assert_eq!(p.varying, ["loss", "n_critic", "seed"]);
    }
}
