//! Expansion: grid tables and sample draws over `[base]` and the seeds into resolved, hashed
//! configurations, with the size checks that refuse accidental huge sweeps.

use super::top::{Located, Top};
use super::*;

/// Expands grid tables over `[base]` and the seeds into resolved, hashed configurations.
pub(super) struct Expansion<'a> {
    pub(super) top: &'a Top<'a>,
    pub(super) base: &'a toml::Table,
    pub(super) base_spans: &'a Spans,
    pub(super) seeds: Option<&'a [u64]>,
}

impl Expansion<'_> {
    /// Every configuration in order (first of each hash kept), and how many points hashed to each.
    pub(super) fn expand(
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

impl Expansion<'_> {
    /// Every draw of every table, resolved over `[base]` and the seeds like a grid point and
    /// appended to `entries` (the first of each hash kept, so a draw equal to a grid point is
    /// that run); returns the hashes the tables drew, in plan order.
    pub(super) fn expand_samples(
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

pub(super) fn seed_conflict(loc: &Locator, spans: &Spans) -> GridError {
    loc.at(
        spans.get("seed").cloned(),
        "key `seed`: conflicts with the top-level `seeds` replicate axis; set one of them",
    )
}
