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

mod expand;
mod located;
mod sample;
mod seeds;
#[cfg(test)]
mod tests;
mod top;

pub use seeds::load_plan_on_seeds;

use expand::{Expansion, seed_conflict};
pub use located::GridError;
use located::{Locator, Spans, check_value, is_list_key, key_spans, suggest, with_range};
use top::{Located, Top, check_table};

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

/// Render a config value the one way every table, legend, listing and message shows it:
/// strings unquoted, floats in Rust's shortest round-trip form (`1`, `0.00001`, where TOML writes
/// `1.0` and `1e-5`), arrays element by element.
pub fn show_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| match i {
                    toml::Value::String(_) => i.to_string(),
                    other => show_value(other),
                })
                .collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Float(f) => format!("{f}"),
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
    check_points(
        &loc,
        seeds.is_some(),
        &grids,
        &samples,
        (&base, &base_spans),
    )?;
    let limit = max_runs.map(|m| file_max.map_or(m, |f| f.max(m)));
    let expansion = Expansion {
        top: &top,
        base: &base,
        base_spans: &base_spans,
        seeds: seeds.as_deref(),
    };
    let (mut entries, mut counts) = expansion.expand(&grids, limit)?;
    let sampled = expansion.expand_samples(&samples, limit, &mut entries, &mut counts)?;
    let duplicates = duplicates(&entries, &counts);
    let sample_keys = samples
        .iter()
        .flat_map(|s| s.axes.iter().map(|(k, _)| k.as_str()));
    let varying = shown_varying(&grids, sample_keys, seeds.is_some(), &entries);
    let sample_groups = sample_groups(&samples);
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

/// Each `[[grid]]` table's keys and values, then `seed` set anywhere beside the top-level
/// `seeds` (grid tables, sample axes, `[base]`, in that order): the first problem.
fn check_points(
    loc: &Locator,
    seeded: bool,
    grids: &[Located],
    samples: &[SampleTable],
    (base, base_spans): (&toml::Table, &Spans),
) -> Result<(), GridError> {
    for (i, (t, spans)) in grids.iter().enumerate() {
        check_table(loc, t, spans, &format!("[[grid]] #{}", i + 1), true)?;
        if seeded && t.contains_key("seed") {
            return Err(seed_conflict(loc, spans));
        }
    }
    for s in samples {
        if seeded && s.axes.iter().any(|(k, _)| k == "seed") {
            return Err(seed_conflict(loc, &s.spans));
        }
    }
    if seeded && base.contains_key("seed") {
        return Err(seed_conflict(loc, base_spans));
    }
    Ok(())
}

/// The hashes that more than one point expanded to, with how many, in plan order.
fn duplicates(entries: &[PlanEntry], counts: &HashMap<String, usize>) -> Vec<(String, usize)> {
    entries
        .iter()
        .filter_map(|e| {
            let n = counts[&e.hash];
            (n > 1).then(|| (e.hash.clone(), n))
        })
        .collect()
}

/// The sample tables' group keys, each once, in first-seen order.
fn sample_groups(samples: &[SampleTable]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for k in samples.iter().flat_map(SampleTable::group_keys) {
        if !groups.contains(&k) {
            groups.push(k);
        }
    }
    groups
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

/// Flat keys whose values differ across configs (a key set in only some of them varies too),
/// the objective and constraint axes spelled out however the hashed form spells them.
pub fn varying_keys<'a>(configs: impl Iterator<Item = &'a RunConfig>) -> Vec<String> {
    let views: Vec<toml::Table> = configs.map(RunConfig::to_view).collect();
    differing_keys(views.iter())
}

/// Keys whose values, as [`show_value`] shows them, differ across `maps` (a key missing from
/// some of them differs too), sorted: the one rule the plan's tables and the report's legends
/// share.
pub fn differing_keys<'a, M>(maps: impl Iterator<Item = M>) -> Vec<String>
where
    M: IntoIterator<Item = (&'a String, &'a toml::Value)>,
{
    let mut seen: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut n = 0;
    for m in maps {
        n += 1;
        for (k, v) in m {
            let s = show_value(v);
            let (count, vals) = seen.entry(k.clone()).or_default();
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
