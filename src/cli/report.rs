//! `harness report DIR`: the comparison report of a results directory, and with `--check` the
//! gate on its sweeps' claims.

use super::error::{CliResult, bad};
use harness_core::claims::Verdict;
use harness_report::{Band, CheckedClaim, ReportOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Draw the comparison report (SVG charts, tables, index.html) of a results directory.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory.
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
    /// Print every claim's verdict and exit 1 unless every claim is supported (2 if a stored
    /// claim cannot be tested): a contradicted or an inconclusive claim fails.
    #[arg(long)]
    check: bool,
    /// With --check: inconclusive claims are printed but do not fail (only contradicted ones).
    #[arg(long, requires = "check")]
    allow_inconclusive: bool,
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
    let s = harness_report::generate(&a.dir, &opts)?;
    print_summary(&s);
    if !a.check {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(check(&s.claims, a.allow_inconclusive)))
}

/// `--watch`: redraw until SIGINT or SIGTERM, then exit 130 or 143 with the page final.
fn watch(dir: &std::path::Path, opts: &ReportOptions, interval: f64) -> CliResult {
    if !(interval.is_finite() && (0.05..=3600.0).contains(&interval)) {
        return Err(bad(format!(
            "--interval must be between 0.05 and 3600 seconds, got {interval}"
        )));
    }
    let stop = harness_core::stop::StopFlag::on_signals().map_err(anyhow::Error::from)?;
    let every = std::time::Duration::from_secs_f64(interval);
    let sig = harness_report::watch::watch(dir, opts, every, &stop, |s| {
        print_summary(s);
        if !s.in_flight.is_empty() {
            println!("watching: {} runs in flight", s.in_flight.len());
        }
    })?;
    println!(
        "stopped by {}; the page is final",
        harness_core::stop::signal_name(sig)
    );
    Ok(ExitCode::from(harness_core::stop::exit_code(sig)))
}

/// What one generation drew, and its warnings and claims.
fn print_summary(s: &harness_report::ReportSummary) {
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
            harness_report::claims_counts(&s.claims),
            s.index.with_file_name("claims.csv").display()
        );
    }
}

/// `--check`: every claim's verdict, the numbers of the claims that are not supported, and the
/// exit code: 2 if a stored claim cannot be tested, 1 if one is contradicted or (unless
/// `allow_inconclusive`) inconclusive, 0 otherwise. Runs a claim could not use are named on
/// stderr.
fn check(claims: &[CheckedClaim], allow_inconclusive: bool) -> u8 {
    if claims.is_empty() {
        println!("check: no sweep of this results directory states a claim");
    }
    for c in claims {
        println!(
            "  {}: {} (sweep {}) [{}, {}]",
            c.verdict_text(),
            c.claim.text,
            c.sweep,
            c.seeds.label(),
            c.stated.label()
        );
        if c.verdict() != Some(Verdict::Supported) {
            for line in c.lines() {
                println!("      {line}");
            }
        }
    }
    warn_unfinished(claims);
    let failing: Vec<&CheckedClaim> = claims
        .iter()
        .filter(|c| match c.verdict() {
            Some(Verdict::Contradicted) => true,
            Some(Verdict::Inconclusive) => !allow_inconclusive,
            _ => false,
        })
        .collect();
    if claims.iter().any(|c| c.outcome.is_err()) {
        eprintln!(
            "error: a sweep record holds a claim this release cannot test; run `harness sweep` \
             on its grid file again to record its claims anew"
        );
        2
    } else if !failing.is_empty() {
        let count = |v: Verdict| failing.iter().filter(|c| c.verdict() == Some(v)).count();
        let (con, inc) = (count(Verdict::Contradicted), count(Verdict::Inconclusive));
        let mut what = vec![format!("{con} contradicted")];
        if inc > 0 {
            what.push(format!(
                "{inc} inconclusive (--allow-inconclusive lets those pass)"
            ));
        }
        eprintln!("check failed: {}", what.join(", "));
        for c in failing {
            eprintln!(
                "  {}: {} (sweep {})",
                c.verdict_text(),
                c.claim.text,
                c.sweep
            );
        }
        1
    } else {
        0
    }
}

/// Name on stderr, per claim, the runs it could not use as finished values.
fn warn_unfinished(claims: &[CheckedClaim]) {
    for c in claims {
        if let Some(line) = c.unfinished_line() {
            eprintln!(
                "warning: claim \"{}\" (sweep {}): {line}",
                c.claim.text, c.sweep
            );
        }
    }
}
