//! `harness bench`: training throughput of the fixed cases, side by side with the PyTorch
//! reference (`--compare`). The measuring is `crate::bench`'s; this module runs the cases,
//! prints the table and writes `bench.json`.

use super::error::{CliResult, bad};
use super::table::render_table;
use crate::bench::{self, CaseResult, TorchResult};
use crate::config::Backend;
use crate::store::write_atomic;
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
    /// Threads for PyTorch (the harness uses every core through rayon).
    #[arg(long, default_value_t = 2)]
    threads: usize,
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
    cases: &'a [CaseResult],
    torch: Option<&'a [TorchResult]>,
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
    let peak = bench::measure_peak();
    let cases: Vec<String> = if a.cases.is_empty() {
        bench::CASES.iter().map(|s| s.to_string()).collect()
    } else {
        a.cases.clone()
    };
    let (torch, torch_rss) = if a.compare {
        let (t, rss) = bench::run_torch(a.threads, a.iters.max(20))
            .map_err(|e| bad(format!("bench --compare: {e:#}")))?;
        (Some(t), rss)
    } else {
        (None, None)
    };
    let (rows, results) = measure(&a, &exe, &cases, torch.as_deref(), &peak);
    let overheads = bench::overheads()?;
    print!("{}", render_table(&rows));
    println!(
        "measured FMA peak: {:.0} GFLOP/s ({} threads, {})",
        peak.gflops, peak.threads, peak.simd
    );
    if let Some(rss) = torch_rss {
        println!("PyTorch reference peak RSS (one process, all cases): {rss:.0} MB");
    }
    for (what, v, unit) in &overheads {
        println!("{what}: {v:.2} {unit}");
    }
    let file = BenchFile {
        cases: &results,
        torch: torch.as_deref(),
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
    let json = serde_json::to_string_pretty(&file).map_err(anyhow::Error::from)?;
    write_atomic(&a.out, json.as_bytes())?;
    println!("written {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Run every case on every backend, each in its own process: the table's rows and the
/// results. A case that fails is reported on stderr and left out.
fn measure(
    a: &Args,
    exe: &std::path::Path,
    cases: &[String],
    torch: Option<&[TorchResult]>,
    peak: &bench::Peak,
) -> (Vec<Vec<String>>, Vec<CaseResult>) {
    let mut results = Vec::new();
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
    for case in cases {
        for &b in &a.backends {
            let r = match bench::run_case_isolated(exe, case, b, a.iters) {
                Ok(r) => bench::share_of_peak(r, peak),
                Err(e) => {
                    eprintln!("{e:#}");
                    continue;
                }
            };
            let t = torch.into_iter().flatten().find(|x| &x.case == case);
            rows.push(row(&r, t));
            results.push(r);
        }
    }
    (rows, results)
}

/// One table row: the harness's numbers and, with `--compare`, PyTorch's and the ratio.
fn row(r: &CaseResult, t: Option<&TorchResult>) -> Vec<String> {
    vec![
        r.case.clone(),
        r.backend.clone(),
        format!("{:.2}", r.gen_it_per_s),
        format!("{:.1}", r.critic_steps_per_s),
        format!("{:.0}", r.peak_rss_mb),
        r.gflop_per_iter.map_or("-".into(), |g| format!("{g:.2}")),
        r.peak_share
            .map_or("-".into(), |p| format!("{:.1}%", 100.0 * p)),
        t.map_or("-".into(), |t| format!("{:.2}", t.gen_it_per_s)),
        t.map_or("-".into(), |t| {
            format!("{:.2}x", r.gen_it_per_s / t.gen_it_per_s)
        }),
    ]
}
