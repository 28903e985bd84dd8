//! `harness status`: where each sweep of a results directory stands.

use super::error::{CliResult, bad};
use super::input::open_store;
use super::table::render_table;
use crate::status::{self, STATES, SweepStatus};
use harness_core::results::store::{self, Store};
use harness_core::results::sweep_record;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where each sweep of a results directory stands (done / running / pending / failed ...),
/// with SLURM's view of submitted arrays.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory.
    #[arg(default_value = "results")]
    dir: PathBuf,
    /// Only this sweep (by name).
    #[arg(long)]
    sweep: Option<String>,
}

pub fn exec(a: Args) -> CliResult {
    let store = open_store(&a.dir)?;
    if !a.dir.is_dir() {
        return Err(bad(format!(
            "{} is not a results directory",
            a.dir.display()
        )));
    }
    let mut records = sweep_record::read_all(&store.root).0;
    if let Some(name) = &a.sweep {
        records.retain(|r| &r.name == name);
        if records.is_empty() {
            return Err(bad(format!(
                "--sweep {name}: no such sweep under {} (see {}/sweeps/)",
                a.dir.display(),
                a.dir.display()
            )));
        }
    }
    let ask = records.iter().any(|r| !r.slurm.is_empty()) && which::which("squeue").is_ok();
    let statuses: Vec<_> = records
        .iter()
        .map(|r| status::sweep_status(&store, r, ask))
        .collect();
    print!("{}", render(&store, &statuses));
    Ok(ExitCode::SUCCESS)
}

/// The status of every recorded sweep, as text.
fn render(store: &Store, statuses: &[SweepStatus]) -> String {
    let mut s = String::new();
    if statuses.is_empty() {
        let _ = writeln!(
            s,
            "no sweeps recorded under {} (run `harness sweep FILE` first)",
            store.root.display()
        );
    }
    for st in statuses {
        let total: usize = st.counts.values().sum();
        let _ = writeln!(s, "sweep {} ({}): {total} runs", st.name, st.grid_file);
        let counts = STATES
            .iter()
            .map(|k| format!("{k} {}", st.count(k)))
            .collect::<Vec<_>>()
            .join("  ");
        let _ = writeln!(s, "  {counts}");
        render_jobs(&mut s, st);
        if !st.runs.is_empty() {
            for line in render_table(&run_rows(store, st)).lines() {
                let _ = writeln!(s, "  {line}");
            }
        }
        let retry = st.count("failed") + st.count("interrupted");
        if retry > 0 {
            let how = if st.jobs.is_empty() {
                format!("harness sweep {}", st.grid_file)
            } else {
                format!(
                    "harness sweep {} --launcher slurm --retry-failed",
                    st.grid_file
                )
            };
            let _ = writeln!(s, "  {retry} to retry: {how}");
        }
    }
    s
}

/// One line per submitted SLURM array: its task states and notes.
fn render_jobs(s: &mut String, st: &SweepStatus) {
    for j in &st.jobs {
        let states = j
            .states
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "  slurm job {} ({} tasks, submitted {}{}): {}",
            j.job.job_id,
            j.job.tasks.len(),
            j.job.submitted,
            if j.job.retry_failed {
                ", --retry-failed"
            } else {
                ""
            },
            if states.is_empty() {
                "no task states known".into()
            } else {
                states
            }
        );
        for n in &j.notes {
            let _ = writeln!(s, "    note: {n}");
        }
    }
}

/// The table of the runs that need attention (everything but done).
fn run_rows(store: &Store, st: &SweepStatus) -> Vec<Vec<String>> {
    let mut rows = vec![
        ["hash", "state", "slurm task", "detail", "log"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &st.runs {
        let label = store::read_config(&store.run_dir(&r.hash))
            .map(|c| format!(" {}", c.label()))
            .unwrap_or_default();
        rows.push(vec![
            format!("{}{label}", r.hash),
            r.state.to_string(),
            r.slurm
                .as_ref()
                .map(|(t, st)| format!("{t} {st}"))
                .unwrap_or_else(|| "-".into()),
            r.detail.clone(),
            r.log
                .as_ref()
                .filter(|_| matches!(r.state, "failed" | "interrupted" | "diverged"))
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ]);
    }
    rows
}
