//! `harness bench`: training throughput of the fixed cases, side by side with the PyTorch
//! reference (`--compare`). The measuring is `crate::bench`'s; this module runs the cases,
//! prints the table and writes `bench.json`.

use super::error::{CliResult, bad};
use super::table::render_table;
use crate::bench::{self, CaseResult, TorchResult};
use harness_core::config::Backend;
use harness_core::results::store::write_atomic;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Training throughput of fixed cases (see README: Performance).
#[derive(clap::Args)]
pub struct Args {
    /// Comma-separated cases (default: all).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Comma-separated CPU backends.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "flex,ndarray"
    )]
    backends: Vec<Backend>,
    /// Timed generator iterations per case.
    #[arg(long, default_value_t = 30)]
    iters: u32,
    /// Also run the PyTorch reference (../shared/bench) and print ratios.
    #[arg(long)]
    compare: bool,
    /// Rounds: every case, then (with --compare) the PyTorch reference, N times alternated;
    /// the table gives each ratio's median over the rounds with its min-max.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    repeat: u32,
    /// Threads for PyTorch (the harness uses every core through rayon).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Where to write the measurements as JSON.
    #[arg(long, default_value = "bench-out/bench.json")]
    out: PathBuf,
    /// Internal: measure one case in this process and print its JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
    #[arg(long, hide = true, value_enum, default_value = "flex")]
    backend: Backend,
}

/// `bench.json`: what was measured, for comparing runs later.
#[derive(Serialize)]
struct BenchFile<'a> {
    /// The CPU model, as the kernel names it: ratios are only comparable on one CPU.
    cpu: &'a str,
    /// One list per round, in the order measured.
    cases: &'a [Vec<CaseResult>],
    torch: &'a [Vec<TorchResult>],
    overheads: Vec<Overhead<'a>>,
    torch_peak_rss_mb: Option<f64>,
    /// The machine's FMA peak, measured before the cases.
    peak: &'a bench::Peak,
}

#[derive(Serialize)]
struct Overhead<'a> {
    what: &'a str,
    value: f64,
    unit: &'a str,
}

pub fn exec(a: Args) -> CliResult {
    if let Some(case) = &a.child {
        let r = bench::run_case(case, a.backend, a.iters, 3)?;
        println!(
            "{}",
            serde_json::to_string(&r).map_err(anyhow::Error::from)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe().map_err(anyhow::Error::from)?;
    let cpu = harness_core::provenance::cpu_model();
    let peak = bench::measure_peak();
    let cases: Vec<String> = if a.cases.is_empty() {
        bench::CASES.iter().map(|s| s.to_string()).collect()
    } else {
        a.cases.clone()
    };
    let (mut results, mut torch, mut torch_rss) = (Vec::new(), Vec::new(), None::<f64>);
    for round in 1..=a.repeat {
        if a.repeat > 1 {
            eprintln!("bench: round {round} of {}", a.repeat);
        }
        results.push(measure(&a, &exe, &cases, &peak));
        if a.compare {
            let (t, rss) = bench::run_torch(a.threads, a.iters.max(20))
                .map_err(|e| bad(format!("bench --compare: {e:#}")))?;
            torch.push(t);
            torch_rss = torch_rss.into_iter().chain(rss).reduce(f64::max);
        }
    }
    let overheads = bench::overheads()?;
    let file = BenchFile {
        cpu: &cpu,
        cases: &results,
        torch: &torch,
        overheads: overheads
            .iter()
            .map(|(what, value, unit)| Overhead {
                what,
                value: *value,
                unit,
            })
            .collect(),
        torch_peak_rss_mb: torch_rss,
        peak: &peak,
    };
    print_summary(&file);
    let json = serde_json::to_string_pretty(&file).map_err(anyhow::Error::from)?;
    write_atomic(&a.out, json.as_bytes())?;
    println!("written {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// The CPU, the table of rounds, the FMA peak, PyTorch's peak RSS and the overheads.
fn print_summary(file: &BenchFile) {
    println!("CPU: {}", file.cpu);
    print!("{}", render_table(&rows(file.cases, file.torch)));
    let peak = file.peak;
    println!(
        "measured FMA peak: {:.0} GFLOP/s ({} threads, {})",
        peak.gflops, peak.threads, peak.simd
    );
    if let Some(rss) = file.torch_peak_rss_mb {
        println!("PyTorch reference peak RSS (one process, all cases): {rss:.0} MB");
    }
    for o in &file.overheads {
        println!("{}: {:.2} {}", o.what, o.value, o.unit);
    }
}

/// One round: every case on every backend, each in its own process. A case that fails is
/// reported on stderr and left out.
fn measure(
    a: &Args,
    exe: &std::path::Path,
    cases: &[String],
    peak: &bench::Peak,
) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for case in cases {
        for &b in &a.backends {
            match bench::run_case_isolated(exe, case, b, a.iters) {
                Ok(r) => results.push(bench::share_of_peak(r, peak)),
                Err(e) => eprintln!("{e:#}"),
            }
        }
    }
    results
}

/// The table: one row per case and backend of the first round, its median round's numbers,
/// and with `--compare` PyTorch's median rate and the ratio of each round (harness over the
/// PyTorch run that followed it) as median [min-max].
fn rows(rounds: &[Vec<CaseResult>], torch: &[Vec<TorchResult>]) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "case",
            "backend",
            "gen it/s",
            "critic steps/s",
            "peak RSS MB",
            "GFLOP/it",
            "% of peak",
            "torch it/s",
            "harness/torch",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for first in rounds.first().into_iter().flatten() {
        let same = |r: &&CaseResult| r.case == first.case && r.backend == first.backend;
        let mine: Vec<&CaseResult> = rounds.iter().filter_map(|x| x.iter().find(same)).collect();
        let theirs: Vec<Option<f64>> = torch
            .iter()
            .map(|t| {
                t.iter()
                    .find(|t| t.case == first.case)
                    .map(|t| t.gen_it_per_s)
            })
            .collect();
        let ratios: Vec<f64> = rounds
            .iter()
            .zip(&theirs)
            .filter_map(|(x, t)| Some(x.iter().find(same)?.gen_it_per_s / (*t)?))
            .collect();
        let median_run = median_by(&mine, |r| r.gen_it_per_s);
        let torch_rate = median(&theirs.iter().flatten().copied().collect::<Vec<_>>());
        rows.push(row(median_run, torch_rate, &ratios));
    }
    rows
}

/// The element whose key is the median (the lower middle one of an even count).
fn median_by<'a, T>(xs: &[&'a T], key: impl Fn(&T) -> f64) -> &'a T {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| key(a).total_cmp(&key(b)));
    v[(v.len() - 1) / 2]
}

/// The median of `xs` (the mean of the middle two of an even count), None when empty.
fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (n > 0).then(|| (v[(n - 1) / 2] + v[n / 2]) / 2.0)
}

/// A ratio cell: `1.52x` for one round, `1.52x [1.47-1.60]` (median, min-max) for several.
fn ratio_cell(ratios: &[f64]) -> String {
    let Some(m) = median(ratios) else {
        return "-".into();
    };
    if ratios.len() == 1 {
        return format!("{m:.2}x");
    }
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{m:.2}x [{lo:.2}-{hi:.2}]")
}

/// One table row: the harness's numbers and, with `--compare`, PyTorch's and the ratios.
fn row(r: &CaseResult, torch_rate: Option<f64>, ratios: &[f64]) -> Vec<String> {
    vec![
        r.case.clone(),
        r.backend.clone(),
        format!("{:.2}", r.gen_it_per_s),
        format!("{:.1}", r.critic_steps_per_s),
        format!("{:.0}", r.peak_rss_mb),
        r.gflop_per_iter.map_or("-".into(), |g| format!("{g:.2}")),
        r.peak_share
            .map_or("-".into(), |p| format!("{:.1}%", 100.0 * p)),
        torch_rate.map_or("-".into(), |t| format!("{t:.2}")),
        ratio_cell(ratios),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_cells_give_the_median_and_the_range_of_the_rounds() {
        assert_eq!(ratio_cell(&[]), "-");
        assert_eq!(ratio_cell(&[1.5]), "1.50x");
        assert_eq!(ratio_cell(&[1.6, 1.2, 1.5]), "1.50x [1.20-1.60]");
        assert_eq!(ratio_cell(&[1.0, 2.0]), "1.50x [1.00-2.00]");
    }

    #[test]
    fn median_by_picks_the_median_round() {
        let xs = [3.0, 1.0, 2.0];
        let refs: Vec<&f64> = xs.iter().collect();
        assert_eq!(*median_by(&refs, |x| *x), 2.0);
    }
}
