//! `harness ls`: the runs of a results directory, one line each.

use super::error::{CliResult, bad};
use super::input::open_store;
use super::table::render_table;
use crate::browse::{self, RunOverview};
use std::path::PathBuf;
use std::process::ExitCode;

/// List the runs under a results directory.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory.
    #[arg(default_value = "results")]
    dir: PathBuf,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.dir)?;
    // As `status` and `report`: a mistyped path is an error, not an empty table.
    if !a.dir.is_dir() {
        return Err(bad(format!(
            "{} is not a results directory (it does not exist)",
            a.dir.display()
        )));
    }
    let mut rows = vec![
        [
            "hash", "sweep", "config", "dataset", "model", "n_critic", "seed", "status", "step",
            "estimate", "score", "wall", "train",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut body: Vec<Vec<String>> = browse::runs(&store).iter().map(row).collect();
    // A run whose config no longer reads is listed, not hidden: its results are still there.
    let unreadable = browse::unreadable(&store);
    for (hash, rec, _) in &unreadable {
        let mut r = vec![String::new(); rows[0].len()];
        r[0] = hash.clone();
        r[1] = rec
            .as_ref()
            .and_then(|r| r.sweep.clone())
            .unwrap_or_default();
        r[7] = "unreadable config.toml".into();
        r[8] = rec.as_ref().map(|r| r.step.to_string()).unwrap_or_default();
        body.push(r);
    }
    body.sort_by(|a, b| a[0].cmp(&b[0]));
    rows.extend(body);
    print!("{}", render_table(&rows));
    for (_, _, why) in &unreadable {
        eprintln!(
            "warning: {why}\n  fix: restore the file, or run `harness sweep GRID --restart HASH` with the \
             grid that made it (its files are moved aside and it trains again)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn row(r: &RunOverview) -> Vec<String> {
    let (rec, cfg) = (r.record.as_ref(), &r.config);
    vec![
        r.hash.clone(),
        rec.and_then(|r| r.sweep.clone()).unwrap_or_default(),
        cfg.label(),
        cfg.dataset.to_string(),
        cfg.model.to_string(),
        cfg.n_critic.to_string(),
        cfg.seed.to_string(),
        r.status.as_str().to_string(),
        rec.map(|r| format!("{}/{}", r.step, cfg.gen_iters))
            .unwrap_or_default(),
        r.summary
            .as_ref()
            .and_then(|s| s.last.get("estimate"))
            .map(|f| format!("{:.4}", f.value))
            .unwrap_or_default(),
        r.headline_score()
            .map(|(name, v)| format!("{name}={v:.3}"))
            .unwrap_or_default(),
        rec.map(|r| format!("{:.1}s", r.wall_s)).unwrap_or_default(),
        // The last attempt's training time alone (no evaluator training, evaluations or
        // checkpoints): what its throughput is measured over.
        r.summary
            .as_ref()
            .and_then(|s| s.time.as_ref())
            .map(|t| format!("{:.1}s", t.train_s))
            .unwrap_or_default(),
    ]
}
