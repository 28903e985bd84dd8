//! `summary.csv` (one row per run) and the per-configuration table shown in
//! `summary.md` and `index.html`.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;

use crate::claims::{self, SectionClaims};
use crate::format::{running_note, sig};
use crate::group::{Group, mean_std};
use crate::load::{Run, Status};
use crate::section::{Section, eval_metrics};
use harness_core::results::metrics::{Direction, eval_direction};

fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or(String::new(), |x| format!("{x}"))
}

/// One row per run: identity, status, every config key, final `metrics.csv` values and
/// final eval scores. Rows follow page order (section, configuration, seed).
pub fn write_summary_csv(path: &Path, runs: &[Run], sections: &[Section]) -> Result<Vec<u8>> {
    let order = page_order(runs.len(), sections);
    let cfg_keys: BTreeSet<&String> = runs.iter().flat_map(|r| r.config.keys()).collect();
    let metric_cols: BTreeSet<&String> = runs
        .iter()
        .flat_map(|r| r.metrics.names.iter())
        .filter(|n| n.as_str() != "step")
        .collect();
    let evals: BTreeSet<&String> = runs.iter().flat_map(|r| r.eval.keys()).collect();

    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(summary_header(&cfg_keys, &metric_cols, &evals))?;
    for &i in &order {
        let r = &runs[i];
        let sweeps: Vec<&str> = sections
            .iter()
            .filter(|s| s.groups.iter().any(|g| g.members.contains(&i)))
            .map(|s| s.name.as_str())
            .collect();
        let mut row = vec![
            r.hash.clone(),
            sweeps.join(";"),
            r.status.as_str().to_string(),
            num(Some(r.wall_s)),
            r.step.to_string(),
            r.error.clone().unwrap_or_default(),
        ];
        row.extend(cfg_keys.iter().map(|k| r.setting(k).unwrap_or_default()));
        row.push(num(r.metrics.get("step").and_then(|s| s.last().copied())));
        row.extend(metric_cols.iter().map(|c| num(r.metrics.last_finite(c))));
        row.push(r.estimate_kind.clone().unwrap_or_default());
        row.extend(
            evals
                .iter()
                .map(|e| num(r.eval.get(*e).and_then(|s| s.last()))),
        );
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    harness_core::results::atomic_file::write_atomic(path, &bytes)?;
    Ok(bytes)
}

/// Run indices in page order (section, configuration, seed), then the runs no section shows.
fn page_order(n_runs: usize, sections: &[Section]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    let mut seen = vec![false; n_runs];
    for s in sections {
        for g in &s.groups {
            for &m in &g.members {
                if !std::mem::replace(&mut seen[m], true) {
                    order.push(m);
                }
            }
        }
    }
    order.extend((0..n_runs).filter(|&i| !seen[i]));
    order
}

/// `summary.csv`'s header: the fixed columns, the config keys (`config_<key>` where a key
/// would shadow a fixed column), the final `metrics.csv` values and the final eval scores.
fn summary_header(
    cfg_keys: &BTreeSet<&String>,
    metric_cols: &BTreeSet<&String>,
    evals: &BTreeSet<&String>,
) -> Vec<String> {
    let mut header: Vec<String> = ["hash", "sweeps", "status", "wall_s", "step", "error"]
        .map(String::from)
        .to_vec();
    let reserved: BTreeSet<String> = header.iter().cloned().collect();
    for k in cfg_keys {
        // Never shadow a fixed column.
        header.push(if reserved.contains(*k) {
            format!("config_{k}")
        } else {
            (*k).clone()
        });
    }
    header.push("final_step".into());
    header.extend(metric_cols.iter().map(|c| format!("final_{c}")));
    header.push("estimate_kind".into());
    header.extend(evals.iter().map(|e| format!("eval_{e}")));
    header
}

/// A table cell; `best` cells are bold.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub best: bool,
}

/// Per-configuration table of one section.
#[derive(Debug, Clone, Default)]
pub struct ConfigTable {
    pub headers: Vec<String>,
    /// Colour index per row (the configuration's chart colour).
    pub colors: Vec<usize>,
    pub rows: Vec<Vec<Cell>>,
}

/// One row per configuration: its varying settings, seed count, then `mean ± std`
/// over seeds of each final score, best per column marked.
pub fn config_table(runs: &[Run], sec: &Section) -> ConfigTable {
    let metrics = eval_metrics(runs, sec);
    let mut t = ConfigTable {
        headers: table_headers(sec, &metrics),
        ..Default::default()
    };
    let stats: Vec<Vec<Option<Stat>>> = sec
        .groups
        .iter()
        .map(|g| metrics.iter().map(|m| final_stat(runs, g, m)).collect())
        .collect();
    let best = best_means(&metrics, &stats);

    for (gi, g) in sec.groups.iter().enumerate() {
        let plain = |text: String| Cell { text, best: false };
        let mut row: Vec<Cell> = Vec::new();
        if sec.keys.is_empty() {
            row.push(plain(g.label.clone()));
        }
        row.extend(
            sec.keys
                .iter()
                .map(|k| plain(g.setting(k).unwrap_or("–").to_string())),
        );
        row.push(plain(runs_text(runs, g)));
        for (j, s) in stats[gi].iter().enumerate() {
            row.push(match s {
                None => plain("–".into()),
                Some(s) => Cell {
                    text: s.text(),
                    best: best[j] == Some(s.mean),
                },
            });
        }
        let walls: Vec<f64> = g.members.iter().map(|&i| runs[i].wall_s).collect();
        row.push(plain(mean_std(&walls).map_or("–".into(), |(m, _)| sig(m))));
        t.rows.push(row);
        t.colors.push(gi);
    }
    t
}

/// The table's header: the varying keys (or `configuration`), `runs`, each score with its
/// direction's arrow, the wall time.
fn table_headers(sec: &Section, metrics: &[String]) -> Vec<String> {
    let mut headers: Vec<String> = sec.keys.clone();
    if headers.is_empty() {
        headers.push("configuration".into());
    }
    headers.push("runs".into());
    for m in metrics {
        let arrow = eval_direction(m).arrow();
        headers.push(if arrow.is_empty() {
            m.clone()
        } else {
            format!("{m} {arrow}")
        });
    }
    headers.push("wall time (s)".into());
    headers
}

/// Per score, the best mean over the configurations (`stats[group][score]`); `None` for a
/// score without a direction or with fewer than two configurations to compare.
fn best_means(metrics: &[String], stats: &[Vec<Option<Stat>>]) -> Vec<Option<f64>> {
    metrics
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let dir = eval_direction(m);
            if dir == Direction::None || stats.iter().filter(|s| s[j].is_some()).count() < 2 {
                return None; // no direction, or nothing to compare against
            }
            let means = stats.iter().filter_map(|s| s[j].map(|x| x.mean));
            means.reduce(|a, b| if dir.better(b, a) { b } else { a })
        })
        .collect()
}

/// Mean and standard deviation over seeds of a final score, and how many seeds have one.
#[derive(Clone, Copy)]
struct Stat {
    mean: f64,
    std: f64,
    seeds: usize,
}

impl Stat {
    /// `mean ± std` with more than one seed, else the value.
    fn text(&self) -> String {
        if self.seeds > 1 {
            // Rounding noise (1e-18) is zero spread.
            let sd = if self.std <= 1e-12 * self.mean.abs() {
                0.0
            } else {
                self.std
            };
            format!("{} ± {}", sig(self.mean), sig(sd))
        } else {
            sig(self.mean)
        }
    }
}

/// The final value of score `metric` over the seeds of `g` that did not fail (a crashed run's
/// last score is from wherever it stopped: not a result).
fn final_stat(runs: &[Run], g: &Group, metric: &str) -> Option<Stat> {
    let v: Vec<f64> = g
        .members
        .iter()
        .filter(|&&i| runs[i].status != Status::Failed)
        .filter_map(|&i| runs[i].eval.get(metric)?.last())
        .collect();
    let (mean, std) = mean_std(&v)?;
    let seeds = v.iter().filter(|x| x.is_finite()).count();
    Some(Stat { mean, std, seeds })
}

/// `3`, or `3 (1 failed, 1 running)`.
fn runs_text(runs: &[Run], g: &Group) -> String {
    let n = g.members.len();
    let not_done: Vec<String> = [Status::Failed, Status::Diverged, Status::Running]
        .iter()
        .map(|st| {
            let k = g.members.iter().filter(|&&i| runs[i].status == *st).count();
            (k, st)
        })
        .filter(|(k, _)| *k > 0)
        .map(|(k, st)| format!("{k} {st}"))
        .collect();
    if not_done.is_empty() {
        n.to_string()
    } else {
        format!("{n} ({})", not_done.join(", "))
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// `summary.md`: one table per section, after the section's claims.
pub fn summary_md(
    runs: &[Run],
    sections: &[Section],
    tables: &[ConfigTable],
    checked: &[SectionClaims],
) -> String {
    let mut out = String::from("# GAN loss ablation summary\n\n");
    out.push_str(
        "Final scores: mean ± std over seeds (sample std) of the last evaluation, failed \
         runs left out; best value per column in bold (↑ higher is better, ↓ lower is \
         better).\n",
    );
    for ((sec, t), c) in sections.iter().zip(tables).zip(checked) {
        out.push_str(&format!("\n## {}\n\n", md_escape(&sec.name)));
        if let Some(d) = &sec.description {
            out.push_str(&format!("> {}\n\n", d.replace('\n', "\n> ")));
        }
        claims_md(&mut out, c);
        let running = sec
            .run_indices()
            .filter(|&i| runs[i].status == Status::Running)
            .count();
        if running > 0 {
            out.push_str(&format!("{}\n\n", running_note(running)));
        }
        if t.rows.is_empty() {
            out.push_str("No runs yet.\n");
            continue;
        }
        let cells: Vec<String> = t.headers.iter().map(|h| md_escape(h)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(t.headers.len())));
        for row in &t.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| {
                    if c.best {
                        format!("**{}**", md_escape(&c.text))
                    } else {
                        md_escape(&c.text)
                    }
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out
}

/// A section's claims as a Markdown table: claim, verdict, the numbers of each pair or
/// configuration, the figure.
fn claims_md(out: &mut String, c: &SectionClaims) {
    if c.claims.is_empty() {
        return;
    }
    out.push_str(&format!(
        "Claims ({}; tested on {} finished runs):\n\n",
        claims::counts_text(&c.claims),
        c.tested
    ));
    out.push_str("| claim | verdict | numbers | figure | rests on |\n|---|---|---|---|---|\n");
    for claim in &c.claims {
        let numbers: Vec<String> = claim.lines().iter().map(|l| md_escape(l)).collect();
        out.push_str(&format!(
            "| {} | **{}** | {} | {} | {}, {} |\n",
            md_escape(&claim.claim.text),
            claim.verdict_text(),
            numbers.join("<br>"),
            claim
                .figure
                .as_deref()
                .map_or("–".to_string(), |f| format!("[{f}]({f})")),
            claim.seeds.label(),
            claim.stated.label()
        ));
    }
    out.push('\n');
}
