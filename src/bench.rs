//! `harness bench`: training throughput of fixed cases, the harness's own overheads, and the
//! PyTorch reference side by side (`--compare`).
//!
//! Each (case, backend) runs in a child process so its peak RSS (`VmHWM`) is its own. Data for
//! MNIST-shaped cases is random bytes held in memory, as in the PyTorch reference, so loading is
//! not measured.

use crate::config::{Backend, Dataset, Loss, Model, Profile, RunConfig, RunSpec};
use crate::data::mnist::{Mnist, MnistSplit};
use crate::run::device_for;
use crate::train::Engine;
use anyhow::{Context, Result, bail};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// FMA peak of the reference machine (2 Zen 4 cores, AVX-512): the figure.
pub const PEAK_GFLOPS: f64 = 190.0;

/// The benchmark cases (names match `../shared/bench/torch_reference.py` where it has them).
pub const CASES: &[&str] = &[
    "seed_wgan_clip",
    "seed_wgan_gp",
    "seed_gan_ns",
    "toy_8gaussians_gp",
    "dcgan_wgan_gp",
];

/// One measured case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: String,
    pub backend: String,
    pub gen_iters: u32,
    pub seconds: f64,
    pub gen_it_per_s: f64,
    pub critic_steps_per_s: f64,
    pub peak_rss_mb: f64,
    /// `None` where no analytic count is implemented (dcgan).
    pub gflop_per_iter: Option<f64>,
    pub peak_share: Option<f64>,
}

/// The config of a case.
pub fn case_config(case: &str) -> Result<RunConfig> {
    let seed_nets = |loss: Loss| RunSpec {
        loss: Some(loss),
        dataset: Some(Dataset::Mnist),
        model: Some(Model::Mlp),
        batch_size: Some(64),
        ..Default::default()
    };
    let spec = match case {
        "seed_wgan_clip" => RunSpec {
            profile: Some(Profile::Seed),
            schedule: Some(crate::config::Schedule::Fresh),
            ..Default::default()
        },
        "seed_wgan_gp" => RunSpec {
            profile: Some(Profile::WgangpPaper),
            ..seed_nets(Loss::WganGp)
        },
        "seed_gan_ns" => RunSpec {
            n_critic: Some(1),
            ..seed_nets(Loss::GanNs)
        },
        "toy_8gaussians_gp" => RunSpec {
            profile: Some(Profile::WgangpToyCode),
            dataset: Some(Dataset::EightGaussians),
            ..Default::default()
        },
        "dcgan_wgan_gp" => RunSpec {
            profile: Some(Profile::WgangpPaper),
            model: Some(Model::Dcgan),
            ..seed_nets(Loss::WganGp)
        },
        other => bail!("unknown bench case `{other}`; cases: {}", CASES.join(", ")),
    };
    let mut cfg = spec
        .resolve()
        .map_err(|e| anyhow::anyhow!("{}: {}", e.key, e.message))?;
    // Benchmarks measure training only: no logging, evaluation or checkpoint inside the window.
    cfg.gen_iters = u32::MAX;
    cfg.log_every = u32::MAX;
    cfg.eval_every = u32::MAX;
    cfg.checkpoint_every = u32::MAX;
    Ok(cfg)
}

/// Analytic FLOPs of one generator iteration (matrix products only; 2 per multiply-add).
/// Forward `F`, backward with weight gradients `2F`. Critic step: G forward + C forward/backward
/// on real and fake; generator step: G forward/backward + C forward/backward to the input.
/// The penalty adds C's forward for the masks, the explicit backward chain, and its backprop.
pub fn gflop_per_iter(cfg: &RunConfig) -> Option<f64> {
    let b = cfg.batch_size as f64;
    let fwd =
        |sizes: &[usize]| 2.0 * b * sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>();
    let (g, c) = match cfg.model {
        Model::Mlp => {
            let mut g = vec![cfg.z_dim as usize];
            g.extend(cfg.g_hidden.iter().flatten().map(|&h| h as usize));
            g.push(784);
            let mut c = vec![784];
            c.extend(cfg.c_hidden.iter().flatten().map(|&h| h as usize));
            c.push(1);
            (fwd(&g), fwd(&c))
        }
        Model::ToyMlp => {
            let d = cfg.dim? as usize;
            let depth = cfg.depth? as usize;
            let mut g = vec![cfg.z_dim as usize];
            g.extend(std::iter::repeat_n(d, depth));
            g.push(2);
            let mut c = vec![2];
            c.extend(std::iter::repeat_n(d, depth));
            c.push(1);
            (fwd(&g), fwd(&c))
        }
        Model::Dcgan => return None,
    };
    let mut critic = g + 6.0 * c;
    if cfg.penalty.points().is_some() {
        critic += 6.0 * c;
    }
    let generator = 3.0 * g + 2.0 * c;
    Some((cfg.n_critic as f64 * critic + generator) / 1e9)
}

fn random_mnist() -> Arc<Mnist> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let split = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| MnistSplit {
        images: (0..n * 784).map(|_| rng.random::<u8>()).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        len: n,
    };
    Arc::new(Mnist {
        train: split(60_000, &mut rng),
        test: split(1000, &mut rng),
    })
}

/// A memory line of `/proc/self/status` (`VmHWM`, `VmRSS`) in MB; 0 where unavailable.
fn proc_status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Peak resident set of this process in MB (Linux `VmHWM`).
pub fn peak_rss_mb() -> f64 {
    proc_status_mb("VmHWM")
}

/// Current resident set of this process in MB (Linux `VmRSS`).
pub fn rss_mb() -> f64 {
    proc_status_mb("VmRSS")
}

/// Measure one case in this process: `warmup` iterations, then `iters` timed ones.
pub fn run_case(case: &str, backend: Backend, iters: u32, warmup: u32) -> Result<CaseResult> {
    let cfg = case_config(case)?;
    let device = device_for(backend)?;
    let data = (!cfg.is_toy()).then(random_mnist);
    let mut e = Engine::new(&cfg, &device, data);
    for _ in 0..warmup {
        e.train_step();
    }
    device.sync().ok();
    let t0 = Instant::now();
    let c0 = e.critic_updates();
    for _ in 0..iters {
        e.train_step();
    }
    device.sync().ok();
    let seconds = t0.elapsed().as_secs_f64();
    let gflop = gflop_per_iter(&cfg);
    let it_s = iters as f64 / seconds;
    Ok(CaseResult {
        case: case.into(),
        backend: backend.to_string(),
        gen_iters: iters,
        seconds,
        gen_it_per_s: it_s,
        critic_steps_per_s: (e.critic_updates() - c0) as f64 / seconds,
        peak_rss_mb: peak_rss_mb(),
        gflop_per_iter: gflop,
        peak_share: gflop.map(|g| g * it_s / PEAK_GFLOPS),
    })
}

/// Run one case in a child `harness bench --child` process and parse its JSON line.
pub fn run_case_isolated(
    exe: &Path,
    case: &str,
    backend: Backend,
    iters: u32,
) -> Result<CaseResult> {
    let out = std::process::Command::new(exe)
        .args([
            "bench",
            "--child",
            case,
            "--backend",
            backend.as_str(),
            "--iters",
            &iters.to_string(),
        ])
        .output()
        .with_context(|| format!("starting {}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "bench case {case} on {backend} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).with_context(|| format!("parsing bench output `{line}`"))
}

/// PyTorch reference results, keyed by case name.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TorchResult {
    pub case: String,
    pub gen_it_per_s: f64,
    pub critic_steps_per_s: f64,
}

/// Run `../shared/bench/torch_reference.py` with the project's venv, or explain how to get one.
/// Returns the per-case results and, where GNU time is installed, the script's peak RSS in MB
/// (one process runs every case, so it is the maximum over cases).
pub fn run_torch(threads: usize, iters: u32) -> Result<(Vec<TorchResult>, Option<f64>)> {
    let python = Path::new(".venv-torch/bin/python");
    let script = Path::new("../shared/bench/torch_reference.py");
    if !python.exists() {
        bail!(
            "the PyTorch venv is missing: create it once with\n  python3 -m venv .venv-torch && .venv-torch/bin/pip install torch numpy\n(about 3 GB), then rerun `just bench-compare`"
        );
    }
    if !script.exists() {
        bail!(
            "{} not found (it lives in ../shared/bench)",
            script.display()
        );
    }
    let gnu_time = Path::new("/usr/bin/time");
    let mut cmd = if gnu_time.exists() {
        let mut c = std::process::Command::new(gnu_time);
        c.args(["-f", "maxrss_kb=%M"]).arg(python);
        c
    } else {
        std::process::Command::new(python)
    };
    let out = cmd
        .arg(script)
        .args([threads.to_string(), iters.to_string()])
        .output()?;
    let rss_mb = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    if !out.status.success() {
        bail!(
            "torch_reference.py failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let results = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str(l).context("parsing torch_reference output"))
        .collect::<Result<_>>()?;
    Ok((results, rss_mb))
}

/// Harness overheads: per-run sweep bookkeeping, metric logging per row, report generation.
pub fn overheads() -> Result<Vec<(String, f64, String)>> {
    use crate::runlog::{MetricsRow, RunLogs};
    let dir = tempfile::tempdir()?;
    let mut out = Vec::new();
    // Logging: 10,000 rows written as at a checkpoint.
    let rows: Vec<MetricsRow> = (0..10_000u32)
        .map(|i| MetricsRow {
            step: i,
            wall_s: i as f64 * 0.01,
            critic_loss: -0.5,
            gen_loss: Some(0.1),
            estimate: 0.5,
            estimate_kind: "wasserstein".into(),
            penalty: Some(0.01),
            grad_norm: Some(1.0),
            val_critic_loss: None,
            lr_g: 1e-4,
            lr_c: 1e-4,
        })
        .collect();
    let logs = RunLogs {
        metrics: rows,
        ..Default::default()
    };
    let t = Instant::now();
    logs.write(dir.path())?;
    out.push((
        "metric logging, per logged row (10,000 rows)".into(),
        t.elapsed().as_secs_f64() / 1e4 * 1e6,
        "us".into(),
    ));
    // Sweep bookkeeping: lock, config, run.json, sweep record, for a 1-iteration toy run minus
    // its training time is dominated by the files it writes; measure the store calls directly.
    let store = crate::store::Store::new(dir.path().join("results"))?;
    let cfg = case_config("toy_8gaussians_gp")?;
    let t = Instant::now();
    for i in 0..20 {
        let d = store.run_dir(&format!("bench{i:04}"));
        let _lock = crate::store::RunLock::try_acquire(&d)?;
        crate::store::write_config(&d, &cfg)?;
        let _ = store.plan_status(&format!("bench{i:04}"));
    }
    out.push((
        "sweep bookkeeping, per run (lock, config, status)".into(),
        t.elapsed().as_secs_f64() / 20.0 * 1e3,
        "ms".into(),
    ));
    // Report generation over 100 runs x 10,000 logged steps (synthetic tree), cold and
    // incremental (nothing changed).
    let tree = dir.path().join("report-bench");
    crate::report::synthetic_results(&tree, 100, 10_000)?;
    let opts = crate::report::ReportOptions::default();
    let t = Instant::now();
    crate::report::generate(&tree, &opts)?;
    out.push((
        "report, 100 runs x 10,000 steps, cold".into(),
        t.elapsed().as_secs_f64(),
        "s".into(),
    ));
    let t = Instant::now();
    crate::report::generate(&tree, &opts)?;
    out.push((
        "report, 100 runs x 10,000 steps, unchanged (incremental)".into(),
        t.elapsed().as_secs_f64(),
        "s".into(),
    ));

    // Measurement: the toy GP case trained with the default cadences (log every 10, evaluate
    // every gen_iters/10 with 2,500-sample mode metrics, checkpoint every gen_iters/4) versus
    // the bare training steps, same config and seed.
    let mut cfg = case_config("toy_8gaussians_gp")?;
    cfg.gen_iters = 100;
    cfg.log_every = 10;
    cfg.eval_every = 10;
    cfg.checkpoint_every = 25;
    let device = device_for(Backend::Flex)?;
    let mut bare = Engine::new(&cfg, &device, None);
    let t = Instant::now();
    for _ in 0..cfg.gen_iters {
        bare.train_step();
    }
    let bare_s = t.elapsed().as_secs_f64();
    let mut measured = Engine::new(&cfg, &device, None);
    let t = Instant::now();
    measured.train(dir.path(), None, |_, _| {})?;
    let measured_s = t.elapsed().as_secs_f64();
    // 10 evaluations and 4 checkpoints in both a 100- and a 2000-iteration run at the default
    // cadence: the measured extra time, over 20x the training time of a 2000-iteration run.
    let extra = (measured_s - bare_s).max(0.0);
    out.push((
        "measurement cost per evaluation, checkpoints included (toy GP: layers, histograms, 2,500-sample mode metrics; 4 checkpoints with surface per 10 evaluations)".into(),
        extra / 10.0,
        "s".into(),
    ));
    out.push((
        "measurement and checkpoint overhead at default cadence, 2000-iteration toy GP run".into(),
        100.0 * extra / (bare_s * 20.0),
        "% of training time".into(),
    ));

    // Memory over a long run: 10,000 generator iterations of the toy GP case at width 64 (the
    // same engine path, small enough to finish in about a minute) with the default cadences
    // (logging, 10 evaluations, checkpoints). Single readings catch an evaluation's transient
    // buffers, so flatness is judged by the least-squares trend of readings every 250 steps
    // from step 5,000 to 10,000 (the allocator's pools grow over the first few thousand; a
    // 40,000-step run measured from outside stayed within 52-56 MB from step 8,000 on).
    let mut cfg = case_config("toy_8gaussians_gp")?;
    cfg.dim = Some(64);
    cfg.gen_iters = 10_000;
    cfg.log_every = 10;
    cfg.eval_every = 1_000;
    cfg.checkpoint_every = 1_000;
    let mut long = Engine::new(&cfg, &device, None);
    let mut readings: Vec<(f64, f64)> = Vec::new();
    long.train(&dir.path().join("long"), None, |step, _| {
        if step == 1_000 || (step >= 5_000 && step % 250 == 0) {
            readings.push((step as f64, rss_mb()));
        }
    })?;
    let at = |step: f64| readings.iter().find(|r| r.0 == step).map_or(0.0, |r| r.1);
    out.push((
        "RSS after 1,000 steps (toy GP, width 64, default cadences)".into(),
        at(1_000.0),
        "MB".into(),
    ));
    out.push((
        "RSS after 10,000 steps (same run)".into(),
        at(10_000.0),
        "MB".into(),
    ));
    out.push((
        "RSS trend, steps 5,000 to 10,000 (least squares over readings every 250 steps)".into(),
        1_000.0 * slope(&readings[1..]),
        "MB per 1,000 steps".into(),
    ));
    Ok(out)
}

/// Least-squares slope of `y` over `x`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slope_of_a_line_and_of_a_flat_series() {
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 2.0 * i as f64 + 1.0)).collect();
        assert!((super::slope(&line) - 2.0).abs() < 1e-12);
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 5.0)).collect();
        assert_eq!(super::slope(&flat), 0.0);
    }
}
