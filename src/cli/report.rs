//! `harness report DIR`: the comparison report of a results directory.

use super::error::{CliResult, bad};
use crate::report::{self, Band, ReportOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Draw the comparison report (SVG charts, tables, index.html) of a results directory.
#[derive(clap::Args)]
pub struct Args {
    #[arg(default_value = "results")]
    dir: PathBuf,
    /// Output folder (default: DIR/report).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Group runs by these config keys (default: every varying key except the seed).
    #[arg(long = "group-by", num_args = 1..)]
    group_by: Vec<String>,
    /// EMA smoothing factor in (0, 1] for curves.
    #[arg(long, default_value_t = 0.1)]
    smooth: f64,
    /// Shade min-max over seeds instead of +-1 std.
    #[arg(long)]
    minmax: bool,
}

pub fn exec(a: Args) -> CliResult {
    if !a.dir.is_dir() {
        return Err(bad(format!(
            "{} is not a results directory",
            a.dir.display()
        )));
    }
    if !(a.smooth > 0.0 && a.smooth <= 1.0) {
        return Err(bad(format!(
            "--smooth must be in (0, 1] (1: no smoothing), got {}",
            a.smooth
        )));
    }
    let opts = ReportOptions {
        out: a.out,
        group_by: a.group_by,
        smooth: a.smooth,
        band: if a.minmax { Band::MinMax } else { Band::Std },
    };
    let s = report::generate(&a.dir, &opts)?;
    println!(
        "report: {} runs in {} groups, {} charts ({} redrawn) -> {}",
        s.runs,
        s.groups,
        s.charts.len(),
        s.redrawn,
        s.index.display()
    );
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}
