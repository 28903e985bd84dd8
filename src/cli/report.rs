//! `harness report DIR`: the comparison report of a results directory, and with `--check` the
//! gate on its sweeps' claims.

use super::error::{CliResult, bad};
use crate::claims::Verdict;
use crate::report::{self, Band, CheckedClaim, ReportOptions};
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
    /// Print every claim's verdict and exit 1 if any is contradicted (2 if a stored claim
    /// cannot be tested); inconclusive claims are printed but do not fail.
    #[arg(long)]
    check: bool,
    /// Keep the report current: redraw whenever a run logs, and make the page reload itself
    /// while runs are in flight. Ctrl-C stops it (exit 130).
    #[arg(long, conflicts_with = "check")]
    watch: bool,
    /// With --watch: seconds between looks at the results folder (and between page reloads).
    #[arg(long, default_value_t = 2.0, requires = "watch")]
    interval: f64,
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
        refresh: None,
    };
    if a.watch {
        return watch(&a.dir, &opts, a.interval);
    }
    let s = report::generate(&a.dir, &opts)?;
    print_summary(&s);
    if !a.check {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(check(&s.claims)))
}

/// `--watch`: redraw until SIGINT or SIGTERM, then exit 130 or 143 with the page final.
fn watch(dir: &std::path::Path, opts: &ReportOptions, interval: f64) -> CliResult {
    if !(interval.is_finite() && (0.05..=3600.0).contains(&interval)) {
        return Err(bad(format!(
            "--interval must be between 0.05 and 3600 seconds, got {interval}"
        )));
    }
    let stop = crate::stop::StopFlag::on_signals().map_err(anyhow::Error::from)?;
    let every = std::time::Duration::from_secs_f64(interval);
    let sig = report::watch::watch(dir, opts, every, &stop, |s| {
        print_summary(s);
        if !s.in_flight.is_empty() {
            println!("watching: {} runs in flight", s.in_flight.len());
        }
    })?;
    println!(
        "stopped by {}; the page is final",
        crate::stop::signal_name(sig)
    );
    Ok(ExitCode::from(crate::stop::exit_code(sig)))
}

/// What one generation drew, and its warnings and claims.
fn print_summary(s: &report::ReportSummary) {
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
    if !s.claims.is_empty() {
        println!(
            "claims: {} ({})",
            report::claims_counts(&s.claims),
            s.index.with_file_name("claims.csv").display()
        );
    }
}

/// `--check`: every claim's verdict, the numbers of the claims that are not supported, and the
/// exit code: 2 if a stored claim cannot be tested, 1 if one is contradicted, 0 otherwise.
fn check(claims: &[CheckedClaim]) -> u8 {
    if claims.is_empty() {
        println!("check: no sweep of this results directory states a claim");
    }
    for c in claims {
        println!(
            "  {}: {} (sweep {})",
            c.verdict_text(),
            c.claim.text,
            c.sweep
        );
        if c.verdict() != Some(Verdict::Supported) {
            for line in c.lines() {
                println!("      {line}");
            }
        }
    }
    let contradicted: Vec<&CheckedClaim> = claims
        .iter()
        .filter(|c| c.verdict() == Some(Verdict::Contradicted))
        .collect();
    if claims.iter().any(|c| c.outcome.is_err()) {
        eprintln!(
            "error: a sweep record holds a claim this release cannot test; run `harness sweep` \
             on its grid file again to record its claims anew"
        );
        2
    } else if !contradicted.is_empty() {
        eprintln!("check failed: {} contradicted", contradicted.len());
        for c in contradicted {
            eprintln!("  contradicted: {} (sweep {})", c.claim.text, c.sweep);
        }
        1
    } else {
        0
    }
}
