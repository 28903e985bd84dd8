//! Sections of the report page: one per sweep (plus runs naming a sweep without a record, and
//! `ungrouped`), each grouped into configurations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::format::safe;
use crate::group::{Group, concise_labels, group_runs, varying_keys};
use crate::load::{Config, Run, SweepRecord};
use harness_core::claims::Claim;

/// One page section: a sweep, runs naming a sweep with no record, or `ungrouped`.
#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    /// Folder and HTML anchor name.
    pub slug: String,
    pub is_sweep: bool,
    pub description: Option<String>,
    pub grid_file: Option<String>,
    /// Keys naming configurations in legends and table columns.
    pub keys: Vec<String>,
    /// Configurations; `members` index the run slice.
    pub groups: Vec<Group>,
    /// Hashes the sweep record lists but that have no folder (not started).
    pub missing: Vec<String>,
    /// The claims the sweep record stores (the grid file's `[[claim]]` tables).
    pub claims: Vec<Claim>,
    /// Hashes of the runs the sweep's `[[sample]]` tables drew (budget views).
    pub sampled: Vec<String>,
    /// Keys whose values group those draws.
    pub sample_groups: Vec<String>,
    /// The grid's `design_seeds` (the seeds its claims were chosen on), as the record keeps them.
    pub design_seeds: Option<Vec<u64>>,
    /// When each claim was first registered, by claim id (the record's `claim_stamps`).
    pub claim_stamps: std::collections::BTreeMap<String, String>,
}

impl Section {
    /// Indices of every run in the section.
    pub fn run_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().flat_map(|g| g.members.iter().copied())
    }
}

/// Assign runs to sections and group each section into configurations.
///
/// A run belongs to every sweep whose record lists its hash (identical configurations
/// share a folder across sweeps) and to the sweep its `run.json` names; runs in no sweep
/// go to `ungrouped`.
pub fn build_sections(runs: &[Run], sweeps: &[SweepRecord], group_by: &[String]) -> Vec<Section> {
    let mut slugs: Vec<String> = Vec::new();
    drafts(runs, sweeps)
        .into_iter()
        .map(|d| {
            let mut sec = finish(runs, d, group_by);
            while slugs.contains(&sec.slug) {
                sec.slug.push('_');
            }
            slugs.push(sec.slug.clone());
            sec
        })
        .collect()
}

/// A warning for each configuration (a section's group) whose seeds ran on different CPUs or
/// kernel sets (`run.json`'s `cpus`, more than one where a run was resumed on another machine).
/// Same config and seed give the same bytes only on the same CPU kernel set, so such a group's
/// spread over seeds, and the claims tested on it, mix the machines' arithmetic into the seeds'
/// (`harness verify` says so too; the page should, where the numbers are read).
pub fn mixed_cpu_warnings(runs: &[Run], sections: &[Section]) -> Vec<String> {
    let mut out = Vec::new();
    for sec in sections {
        for g in &sec.groups {
            let mut by_cpu: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for r in g.members.iter().map(|&i| &runs[i]) {
                let who = r
                    .seed()
                    .map_or_else(|| r.hash.clone(), |s| format!("seed {s}"));
                for cpu in &r.cpus {
                    by_cpu.entry(cpu).or_default().push(who.clone());
                }
            }
            if by_cpu.len() < 2 {
                continue;
            }
            let list: Vec<String> = by_cpu
                .iter()
                .map(|(cpu, who)| format!("{} on {cpu}", who.join(", ")))
                .collect();
            let name = match g.label.as_str() {
                "" => "its configuration".to_string(),
                l => format!("configuration `{l}`"),
            };
            out.push(format!(
                "{}: {name} ran its seeds on different CPUs ({}); same config and seed give the \
                 same bytes only on the same CPU kernel set, so its spread over seeds mixes \
                 machines",
                sec.name,
                list.join("; ")
            ));
        }
    }
    out
}

/// A section before grouping: its name, whether it is a sweep, its record, its runs and
/// the hashes its record lists without a folder.
struct Draft<'r> {
    name: String,
    is_sweep: bool,
    record: Option<&'r SweepRecord>,
    members: Vec<usize>,
    missing: Vec<String>,
}

/// Sweeps with a record (by name), then sweeps that runs name without one, then `ungrouped`.
fn drafts<'r>(runs: &[Run], sweeps: &'r [SweepRecord]) -> Vec<Draft<'r>> {
    let by_hash: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.hash.as_str(), i))
        .collect();
    let mut assigned = vec![false; runs.len()];
    let mut out = Vec::new();
    let mut sorted: Vec<&SweepRecord> = sweeps.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for rec in sorted {
        let mut members = Vec::new();
        let mut missing = Vec::new();
        for h in &rec.runs {
            match by_hash.get(h.as_str()) {
                Some(&i) if !members.contains(&i) => members.push(i),
                Some(_) => {}
                None => missing.push(h.clone()),
            }
        }
        for (i, r) in runs.iter().enumerate() {
            if r.sweep.as_deref() == Some(rec.name.as_str()) && !members.contains(&i) {
                members.push(i);
            }
        }
        for &i in &members {
            assigned[i] = true;
        }
        out.push(Draft {
            name: rec.name.clone(),
            is_sweep: true,
            record: Some(rec),
            members,
            missing,
        });
    }
    let mut adhoc: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut ungrouped = Vec::new();
    for (i, r) in runs.iter().enumerate().filter(|(i, _)| !assigned[*i]) {
        match &r.sweep {
            Some(s) => adhoc.entry(s.clone()).or_default().push(i),
            None => ungrouped.push(i),
        }
    }
    let unrecorded = |name, is_sweep, members| Draft {
        name,
        is_sweep,
        record: None,
        members,
        missing: Vec::new(),
    };
    out.extend(adhoc.into_iter().map(|(n, m)| unrecorded(n, true, m)));
    if !ungrouped.is_empty() {
        out.push(unrecorded("ungrouped".into(), false, ungrouped));
    }
    out
}

/// Group a draft's runs into configurations and name them.
fn finish(runs: &[Run], d: Draft, group_by: &[String]) -> Section {
    // Runs written with `loss` and runs written with the axes are labelled and grouped by the
    // same keys.
    let mut owned: Vec<Config> = d.members.iter().map(|&i| runs[i].config.clone()).collect();
    harness_core::config::harmonize_spellings(&mut owned);
    let configs: Vec<&Config> = owned.iter().collect();
    let declared: Vec<String> = d.record.map_or(Vec::new(), |r| r.varying.clone());
    let keys = if group_by.is_empty() {
        varying_keys(&configs, &declared)
    } else {
        group_by.to_vec()
    };
    let mut groups: Vec<Group> = group_runs(&configs, &keys)
        .into_iter()
        .map(|mut g| {
            g.members = g.members.iter().map(|&j| d.members[j]).collect();
            g
        })
        .collect();
    let keys = if group_by.is_empty() {
        let keep: Vec<String> = keys
            .iter()
            .filter(|k| declared.contains(k))
            .cloned()
            .collect();
        concise_labels(&mut groups, &keep)
    } else {
        keys
    };
    let slug = if d.is_sweep {
        format!("sweep_{}", safe(&d.name))
    } else {
        "ungrouped".to_string()
    };
    Section {
        slug,
        is_sweep: d.is_sweep,
        description: d
            .record
            .map(|r| r.description.clone())
            .filter(|s| !s.is_empty()),
        grid_file: d
            .record
            .map(|r| r.grid_file.clone())
            .filter(|g| !g.is_empty()),
        keys,
        groups,
        missing: d.missing,
        claims: d.record.map_or(Vec::new(), |r| r.claims.clone()),
        sampled: d.record.map_or(Vec::new(), |r| r.sampled.clone()),
        sample_groups: d.record.map_or(Vec::new(), |r| r.sample_groups.clone()),
        design_seeds: d.record.and_then(|r| r.design_seeds.clone()),
        claim_stamps: d.record.map(|r| r.claim_stamps.clone()).unwrap_or_default(),
        name: d.name,
    }
}

/// Metrics that appear in `eval.csv` of any run of the section, in a stable order.
pub fn eval_metrics(runs: &[Run], sec: &Section) -> Vec<String> {
    let set: BTreeSet<&String> = sec
        .groups
        .iter()
        .flat_map(|g| g.members.iter())
        .flat_map(|&i| runs[i].eval.keys())
        .collect();
    set.into_iter().cloned().collect()
}
