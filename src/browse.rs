//! `harness ls` and `harness show`: browsing a results directory.

use crate::config::{Profile, RunConfig};
use crate::grid::show_value;
use crate::results::metrics::{self, Direction, MetricFile};
use crate::results::summary::{self, Summary};
use crate::results::{record, run_files};
use crate::store::{self, Store};
use anyhow::Result;
use std::fmt::Write as _;
use std::path::Path;

/// The score `ls` shows for a run: the first `eval.csv` metric of the registry that has a
/// direction and a final value (the registry lists each dataset's headline score first).
fn headline_score(s: &Summary) -> Option<String> {
    metrics::REGISTRY
        .iter()
        .filter(|m| m.file == MetricFile::Eval && m.direction != Direction::None)
        .find_map(|m| Some(format!("{}={:.3}", m.name, s.last.get(m.name)?.value)))
}

/// A table of every run under the store.
pub fn ls(store: &Store) -> Result<String> {
    let mut rows = vec![
        [
            "hash", "sweep", "config", "dataset", "model", "n_critic", "seed", "status", "step",
            "estimate", "score", "wall",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for dir in store.runs() {
        let hash = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(cfg) = store::read_config(&dir) else {
            continue;
        };
        let rec = record::read(&dir);
        let s = summary::read(&dir);
        let status = store.plan_status(&hash).as_str().to_string();
        let score = s.as_ref().and_then(headline_score);
        rows.push(vec![
            hash,
            rec.as_ref()
                .and_then(|r| r.sweep.clone())
                .unwrap_or_default(),
            cfg.label(),
            cfg.dataset.to_string(),
            cfg.model.to_string(),
            cfg.n_critic.to_string(),
            cfg.seed.to_string(),
            status,
            rec.as_ref()
                .map(|r| format!("{}/{}", r.step, cfg.gen_iters))
                .unwrap_or_default(),
            s.as_ref()
                .and_then(|s| s.last.get("estimate"))
                .map(|f| format!("{:.4}", f.value))
                .unwrap_or_default(),
            score.unwrap_or_default(),
            rec.as_ref()
                .map(|r| format!("{:.1}s", r.wall_s))
                .unwrap_or_default(),
        ]);
    }
    Ok(render_table(&rows))
}

/// Left-aligned, space-padded columns.
pub fn render_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = widths[i]))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// How `cfg` differs from what each profile sets.
/// A profile and the keys where a run differs from it: (key, run value, profile value).
pub type ProfileDiff = (Profile, Vec<(String, String, String)>);

pub fn profile_diffs(cfg: &RunConfig) -> Vec<ProfileDiff> {
    let flat = cfg.to_view();
    [
        Profile::WganPaper,
        Profile::WganCode,
        Profile::WgangpPaper,
        Profile::WgangpToyCode,
        Profile::Seed,
    ]
    .into_iter()
    .map(|p| {
        let set = toml::Table::try_from(p.settings()).unwrap_or_default();
        let diffs = set
            .into_iter()
            .filter_map(|(k, v)| {
                let ours = flat
                    .get(&k)
                    .map(show_value)
                    .unwrap_or_else(|| "(unset)".into());
                let theirs = show_value(&v);
                let same = match (flat.get(&k).and_then(|x| x.as_float()), v.as_float()) {
                    (Some(a), Some(b)) => a == b,
                    _ => ours == theirs,
                };
                (!same).then_some((k, ours, theirs))
            })
            .collect();
        (p, diffs)
    })
    .collect()
}

/// Everything about the run folder `dir`.
pub fn show(dir: &Path) -> Result<String> {
    let cfg = store::read_config(dir)?;
    let mut out = String::new();
    let _ = writeln!(out, "run {}  ({})", dir.display(), cfg.label());
    let _ = writeln!(
        out,
        "\n[config]\n{}",
        std::fs::read_to_string(dir.join(run_files::CONFIG))?.trim_end()
    );
    if let Ok(r) = std::fs::read_to_string(dir.join(run_files::RECORD)) {
        let _ = writeln!(out, "\n[run.json]\n{}", r.trim_end());
    }
    if let Ok(s) = std::fs::read_to_string(dir.join(run_files::SUMMARY)) {
        let _ = writeln!(out, "\n[summary.json]\n{}", s.trim_end());
    }
    let _ = writeln!(out, "\n[differences from the fidelity profiles]");
    for (p, diffs) in profile_diffs(&cfg) {
        if diffs.is_empty() {
            let _ = writeln!(out, "{p}: identical on every key it sets");
        } else {
            let list: Vec<String> = diffs
                .iter()
                .map(|(k, a, b)| format!("{k}={a} (profile: {b})"))
                .collect();
            let _ = writeln!(out, "{p}: {}", list.join(", "));
        }
    }
    Ok(out)
}
