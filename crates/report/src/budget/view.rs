//! A section's budget and distribution views, for sweeps whose grid draws settings
//! (`[[sample]]`): per score with a direction, a box plot of the drawn settings' final scores
//! per group and the expected best score of k drawn settings per group (Lucic et al. 2018,
//! Figure 4), as chart jobs, `budget.csv` rows and the page's table.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use anyhow::Result;

use crate::budget::{self, BudgetCurve, BudgetGroup};
use crate::charts::box_chart::{BoxRow, box_chart};
use crate::charts::figures::{Category, Job};
use crate::charts::{self, Curve, Legend, Meta, Panel};
use crate::format::sig;
use crate::html::esc;
use crate::load::Run;
use crate::section::{Section, eval_metrics};
use harness_core::results::metrics::{Direction, eval_direction};

/// Bump when these charts change so cached ones are redrawn.
const DRAW_VERSION: u32 = 1;

/// One score's view: its groups and their curves.
pub struct View {
    pub metric: String,
    pub dir: Direction,
    pub groups: Vec<BudgetGroup>,
    pub curves: Vec<BudgetCurve>,
}

/// The views of a section: one per `eval.csv` score with a direction that some finished draw
/// has; none when the sweep drew nothing.
pub fn views(runs: &[Run], sec: &Section) -> Vec<View> {
    if sec.sampled.is_empty() {
        return Vec::new();
    }
    let sampled: HashSet<&str> = sec.sampled.iter().map(String::as_str).collect();
    let members: Vec<usize> = unique(sec.run_indices());
    eval_metrics(runs, sec)
        .into_iter()
        .filter(|m| eval_direction(m) != Direction::None)
        .filter_map(|metric| {
            let groups = budget::groups(
                runs,
                members.iter().copied(),
                &sampled,
                &sec.sample_groups,
                &metric,
            );
            if groups.iter().all(|g| g.scores.is_empty()) {
                return None;
            }
            let dir = eval_direction(&metric);
            let curves = groups
                .iter()
                .map(|g| budget::curve(&g.scores, dir))
                .collect();
            Some(View {
                metric,
                dir,
                groups,
                curves,
            })
        })
        .collect()
}

fn unique(it: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut seen = HashSet::new();
    it.filter(|i| seen.insert(*i)).collect()
}

/// The two charts of every view of `sec`.
pub fn jobs<'a>(runs: &'a [Run], sec: &'a Section) -> Vec<Job<'a>> {
    let views = views(runs, sec);
    let mut h = DefaultHasher::new();
    DRAW_VERSION.hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    (&sec.name, &sec.sampled, &sec.sample_groups).hash(&mut h);
    let mut jobs = Vec::new();
    for v in views {
        let mut hv = h.clone();
        v.metric.hash(&mut hv);
        for (g, c) in v.groups.iter().zip(&v.curves) {
            g.label.hash(&mut hv);
            g.no_score.hash(&mut hv);
            for x in g.scores.iter().chain(&c.mean).chain(&c.lo).chain(&c.hi) {
                x.to_bits().hash(&mut hv);
            }
        }
        let fingerprint = hv.finish();
        let v = std::sync::Arc::new(v);
        let title = format!("Final {} of drawn settings — {}", v.metric, sec.name);
        let dist = std::sync::Arc::clone(&v);
        jobs.push(Job {
            file: format!("distribution_{}.svg", v.metric),
            title: title.clone(),
            category: Category::Budget,
            fingerprint,
            newest_input: None,
            draw: Box::new(move || distribution_svg(&dist, &title)),
        });
        let title = format!(
            "Expected best {} of k drawn settings — {}",
            v.metric, sec.name
        );
        jobs.push(Job {
            file: format!("budget_{}.svg", v.metric),
            title: title.clone(),
            category: Category::Budget,
            fingerprint,
            newest_input: None,
            draw: Box::new(move || budget_svg(&v, &title)),
        });
    }
    jobs
}

fn distribution_svg(v: &View, title: &str) -> Result<String> {
    let rows: Vec<BoxRow> = v
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| BoxRow {
            label: g.label.clone(),
            color: i,
            scores: g.scores.clone(),
            stats: budget::box_stats(&g.scores),
        })
        .collect();
    let meta = Meta {
        title,
        kind: "distribution",
        series: rows.iter().map(|r| r.label.clone()).collect(),
    };
    let note = format!(
        "one dot per drawn setting (mean over its seeds); box: quartiles, whiskers: 1.5 IQR; {}",
        v.dir.phrase()
    );
    box_chart(&meta, &v.metric, &rows, &note)
}

fn budget_svg(v: &View, title: &str) -> Result<String> {
    let curves: Vec<Curve> = v
        .curves
        .iter()
        .enumerate()
        .map(|(i, c)| Curve {
            color: i,
            seeds: 0,
            alpha: 1.0,
            x: (1..=c.mean.len()).map(|k| k as f64).collect(),
            raw: c.mean.clone(),
            smooth: None,
            lo: c.lo.clone(),
            hi: c.hi.clone(),
            markers: c.mean.len() <= 30,
        })
        .collect();
    let panel = Panel {
        title: title.to_string(),
        x_label: "settings drawn (k)".into(),
        y_label: format!("expected best {}", v.metric),
        curves: &curves,
        auto_log: false,
        integer_x: true,
    };
    let legend = Legend {
        entries: v
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("{} (n={})", g.label, g.scores.len()), i))
            .collect(),
        note: Some(format!(
            "line: exact mean of the best of k resampled draws; band: its {}–{}% quantiles; {}",
            budget::BAND.0 * 100.0,
            budget::BAND.1 * 100.0,
            v.dir.phrase()
        )),
    };
    let meta = Meta {
        title,
        kind: "budget",
        series: legend.entries.iter().map(|e| e.0.clone()).collect(),
    };
    charts::curve_chart(&meta, &[panel], &legend)
}

/// `budget.csv` rows of a section: `sweep,metric,group,k,expected_best,band_lo,band_hi`.
pub fn csv_rows(sec: &Section, views: &[View]) -> Vec<[String; 7]> {
    let mut rows = Vec::new();
    for v in views {
        for (g, c) in v.groups.iter().zip(&v.curves) {
            let points = c.mean.iter().zip(&c.lo).zip(&c.hi);
            for (k, ((mean, lo), hi)) in points.enumerate() {
                rows.push([
                    sec.name.clone(),
                    v.metric.clone(),
                    g.label.clone(),
                    (k + 1).to_string(),
                    mean.to_string(),
                    lo.to_string(),
                    hi.to_string(),
                ]);
            }
        }
    }
    rows
}

/// The page's table: per score and group, the draws scored, those without a score, the median
/// and the expected best at k = 1, 5 and n.
pub fn table_html(o: &mut String, views: &[View]) {
    if views.is_empty() {
        return;
    }
    let draws: usize = views[0].groups.iter().map(|g| g.scores.len()).sum();
    o.push_str(&format!(
        "<table class=\"budget\" data-draws=\"{draws}\"><tr><th>score</th><th>group</th>\
         <th>settings scored</th><th>no score</th><th>median</th><th>best of 1</th>\
         <th>best of 5</th><th>best of n</th></tr>\n"
    ));
    for v in views {
        for (g, c) in v.groups.iter().zip(&v.curves) {
            let at = |k: usize| c.mean.get(k - 1).map_or("–".into(), |x| sig(*x));
            let sorted = budget::best_first(&g.scores, Direction::Lower);
            let median = if sorted.is_empty() {
                "–".into()
            } else {
                sig(budget::quantile(&sorted, 0.5))
            };
            o.push_str(&format!(
                "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{median}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&v.metric),
                v.dir.arrow(),
                esc(&g.label),
                g.scores.len(),
                g.no_score,
                at(1),
                at(5),
                at(c.mean.len()),
            ));
        }
    }
    o.push_str("</table>\n");
}
