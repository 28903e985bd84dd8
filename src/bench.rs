//! `harness bench`: training throughput of fixed cases, the harness's own overheads, and the
//! PyTorch reference side by side (`--compare`).
//!
//! Each (case, backend) runs in a child process so its peak RSS (`VmHWM`) is its own. Data for
//! MNIST-shaped cases is random bytes held in memory, as in the PyTorch reference, so loading is
//! not measured.

use anyhow::{Context, Result, bail};
use harness_core::config::{Backend, Dataset, Loss, Model, Profile, RunConfig, RunSpec};
use harness_core::data::mnist::{Mnist, MnistSplit};
use harness_engine::run::device_for;
use harness_engine::train::Engine;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

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
    /// Process CPU time (all threads, user + system) over the timed iterations: unlike the wall
    /// time, it does not count the time other processes held the cores.
    pub cpu_seconds: f64,
    /// Analytic GFLOP of the timed window's steps per generator iteration ([`step_gflop`]).
    pub gflop_per_iter: Option<f64>,
    /// Achieved GFLOP/s over the timed window.
    pub gflop_per_s: Option<f64>,
    /// `gflop_per_s` as a share of the measured peak (filled in by [`share_of_peak`]).
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
            schedule: Some(harness_core::config::Schedule::Fresh),
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

/// Analytic GFLOP of one critic step and of one generator step: the matrix products (and
/// convolutions, counted as the products of their im2col form, padding taps included) that the
/// harness performs, 2 FLOP per multiply-add. Per network with forward cost `F` over `b` rows:
///
/// - a forward costs `F`; a backward costs `F` for the weight gradients plus `F` for the input
///   gradients, less the first layer's input gradient where the input is data (not tracked);
/// - critic step: G forward on `b` rows (constant weights), C forward and backward on the `2b`
///   rows of real and fake data;
/// - the penalty (on `b` rows): C's forward for the activation masks, the explicit backward
///   chain (one product per layer), and that chain's backward (weight gradients of every layer,
///   input gradients of every layer but the output layer, whose chain input is constant);
/// - generator step: G forward and backward (weight gradients), C forward and its input
///   gradients (C's weights are constant there).
pub fn step_gflop(cfg: &RunConfig) -> Option<(f64, f64)> {
    let b = cfg.batch_size as f64;
    // Multiply-adds per sample of each layer, input to output.
    let dense =
        |sizes: &[usize]| -> Vec<f64> { sizes.windows(2).map(|w| (w[0] * w[1]) as f64).collect() };
    let (g, c) = match cfg.model {
        Model::Mlp => {
            let mut g = vec![cfg.z_dim as usize];
            g.extend(cfg.g_hidden.iter().flatten().map(|&h| h as usize));
            g.push(784);
            let mut c = vec![784];
            c.extend(cfg.c_hidden.iter().flatten().map(|&h| h as usize));
            c.push(1);
            (dense(&g), dense(&c))
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
            (dense(&g), dense(&c))
        }
        Model::Dcgan => {
            let d = cfg.dim.unwrap_or(64) as f64;
            // 5x5 kernels: multiply-adds = small-grid positions x c_small x c_big x 25.
            let conv = |pos: f64, c_small: f64, c_big: f64| pos * c_small * c_big * 25.0;
            let g = vec![
                cfg.z_dim as f64 * 64.0 * d,
                conv(16.0, 4.0 * d, 2.0 * d),
                conv(49.0, 2.0 * d, d),
                conv(196.0, d, 1.0),
            ];
            let c = vec![
                conv(196.0, d, 1.0),
                conv(49.0, 2.0 * d, d),
                conv(16.0, 4.0 * d, 2.0 * d),
                64.0 * d,
            ];
            (g, c)
        }
    };
    let sum = |l: &[f64]| l.iter().sum::<f64>();
    let (fg, fc) = (sum(&g), sum(&c));
    let (in_g, in_c) = (fg - g[0], fc - c[0]);
    let flop = |mac: f64, rows: f64| 2.0 * mac * rows / 1e9;
    let mut critic = flop(fg, b) + flop(fc + fc + in_c, 2.0 * b);
    if cfg.penalty.points().is_some() {
        let last = c[c.len() - 1];
        critic += flop(fc + fc + fc + (fc - last), b);
    }
    let generator = flop(fg + fg + in_g, b) + flop(fc + fc, b);
    Some((critic, generator))
}

/// Process CPU seconds (user + system, all threads) from `getrusage`; 0 where unavailable.
pub fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| secs(u.user_time()) + secs(u.system_time()))
}

/// The machine's measured FMA peak.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Peak {
    pub gflops: f64,
    pub threads: usize,
    /// The instruction set of the loop (`avx512f`, `avx2+fma`, or the portable fallback).
    pub simd: String,
}

/// Measure the FMA peak: every core at once runs a register-blocked loop of independent FMA
/// chains in the widest SIMD the CPU has, in short bursts; each thread keeps its fastest
/// burst and the peak is their sum.
///
/// An FMA loop rather than a large GEMM: it is the bound the hardware sets (no memory traffic,
/// more independent chains than FMA latency x FMA ports), while a GEMM measures a library. All
/// cores at once, because one core alone may run at a higher clock than all of them together.
/// The fastest of many short bursts, because on a shared machine a burst is sometimes
/// descheduled; one that is not shows what the core can do.
pub fn measure_peak() -> Peak {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (simd, burst) = fma::widest();
    const BURSTS: usize = 40;
    let barrier = std::sync::Barrier::new(threads);
    let best: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut best = 0.0f64;
                    for _ in 0..BURSTS {
                        barrier.wait();
                        let t = Instant::now();
                        let flop = burst();
                        best = best.max(flop / t.elapsed().as_secs_f64());
                    }
                    best
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("peak thread"))
            .collect()
    });
    Peak {
        gflops: best.iter().sum::<f64>() / 1e9,
        threads,
        simd: simd.into(),
    }
}

/// Fill in each case's share of the measured peak.
pub fn share_of_peak(mut r: CaseResult, peak: &Peak) -> CaseResult {
    r.peak_share = r.gflop_per_s.map(|g| g / peak.gflops);
    r
}

/// The FMA bursts of [`measure_peak`]; each returns the FLOPs it performed.
mod fma {
    use std::hint::black_box;

    /// Iterations per burst: about 10 ms on a 3 GHz core with two FMA ports.
    const ITERS: u64 = 1 << 20;

    /// The widest FMA the CPU supports, and its burst.
    pub fn widest() -> (&'static str, fn() -> f64) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return ("avx512f", || unsafe { x86::avx512() });
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return ("avx2+fma", || unsafe { x86::avx2() });
            }
        }
        ("portable f32x8", portable)
    }

    /// 16 independent chains of `wide::f32x8` multiply-adds (the compiled-in SIMD).
    fn portable() -> f64 {
        use wide::f32x8;
        let (m, a) = (
            black_box(f32x8::splat(0.999_999)),
            black_box(f32x8::splat(1e-7)),
        );
        let mut acc = [f32x8::splat(1.0); 16];
        for _ in 0..ITERS / 4 {
            for x in acc.iter_mut() {
                *x = x.mul_add(m, a);
            }
        }
        black_box(acc);
        (ITERS / 4) as f64 * 16.0 * 8.0 * 2.0
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::{ITERS, black_box};
        use std::arch::x86_64::*;

        /// 16 chains of 16-lane FMAs (twice FMA latency x ports on current cores).
        #[target_feature(enable = "avx512f")]
        pub unsafe fn avx512() -> f64 {
            let m = black_box(_mm512_set1_ps(0.999_999));
            let a = black_box(_mm512_set1_ps(1e-7));
            let mut acc = [_mm512_set1_ps(1.0); 16];
            for _ in 0..ITERS {
                for x in acc.iter_mut() {
                    *x = _mm512_fmadd_ps(*x, m, a);
                }
            }
            black_box(acc);
            ITERS as f64 * 16.0 * 16.0 * 2.0
        }

        /// 12 chains of 8-lane FMAs (16 vector registers: 12 chains and the two operands).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn avx2() -> f64 {
            let m = black_box(_mm256_set1_ps(0.999_999));
            let a = black_box(_mm256_set1_ps(1e-7));
            let mut acc = [_mm256_set1_ps(1.0); 12];
            for _ in 0..ITERS {
                for x in acc.iter_mut() {
                    *x = _mm256_fmadd_ps(*x, m, a);
                }
            }
            black_box(acc);
            ITERS as f64 * 12.0 * 8.0 * 2.0
        }
    }
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

/// Peak resident set of this process in MB (`getrusage`'s `ru_maxrss`, in KB on Linux).
pub fn peak_rss_mb() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| u.max_rss() as f64 / 1024.0)
}

/// Current resident set of this process in MB (`VmRSS` of `/proc/self/status`; 0 where
/// unavailable). `getrusage` gives the peak only, and the memory trend needs the current size.
pub fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Measure one case in this process: `warmup` iterations, then `iters` timed ones.
pub fn run_case(case: &str, backend: Backend, iters: u32, warmup: u32) -> Result<CaseResult> {
    let cfg = case_config(case)?;
    let device = device_for(backend)?;
    let data = cfg.data().needs_mnist().then(random_mnist);
    let mut e = Engine::new(&cfg, &device, data);
    for _ in 0..warmup {
        e.train_step();
    }
    device.sync().ok();
    let t0 = Instant::now();
    let (c0, g0, cpu0) = (e.critic_updates(), e.generator_updates(), cpu_seconds());
    for _ in 0..iters {
        e.train_step();
    }
    device.sync().ok();
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let (critic_steps, gen_steps) = (
        (e.critic_updates() - c0) as f64,
        (e.generator_updates() - g0) as f64,
    );
    let gflop = step_gflop(&cfg).map(|(c, g)| c * critic_steps + g * gen_steps);
    Ok(CaseResult {
        case: case.into(),
        backend: backend.to_string(),
        gen_iters: iters,
        seconds,
        gen_it_per_s: iters as f64 / seconds,
        critic_steps_per_s: critic_steps / seconds,
        peak_rss_mb: peak_rss_mb(),
        cpu_seconds: cpu,
        gflop_per_iter: gflop.map(|g| g / iters as f64),
        gflop_per_s: gflop.map(|g| g / seconds),
        peak_share: None,
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

/// The PyTorch virtual environment: `$HARNESS_TORCH_VENV`, else the one `oracle/run` creates
/// (`~/.cache/gan-harness/venv-torch`), else `.venv-torch` in the checkout.
fn torch_venv() -> std::path::PathBuf {
    if let Some(v) = std::env::var_os("HARNESS_TORCH_VENV").filter(|v| !v.is_empty()) {
        return v.into();
    }
    let cache = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".cache/gan-harness/venv-torch"))
        .filter(|p| p.join("bin/python").exists());
    cache.unwrap_or_else(|| ".venv-torch".into())
}

/// Run `../shared/bench/torch_reference.py` with the project's venv, or explain how to get one.
/// Returns the per-case results and, where GNU time is installed, the script's peak RSS in MB
/// (one process runs every case, so it is the maximum over cases).
pub fn run_torch(threads: usize, iters: u32) -> Result<(Vec<TorchResult>, Option<f64>)> {
    let venv = torch_venv();
    let python = venv.join("bin/python");
    let script = Path::new("../shared/bench/torch_reference.py");
    if !python.exists() {
        bail!(
            "the PyTorch venv {} is missing: create it once with\n  python3 -m venv {v} && {v}/bin/pip install torch numpy safetensors\n(about 5 GB; `bash oracle/run` does the same), or point $HARNESS_TORCH_VENV at one, then rerun `just bench-compare`",
            venv.display(),
            v = venv.display()
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
        c.args(["-f", "maxrss_kb=%M"]).arg(&python);
        c
    } else {
        std::process::Command::new(&python)
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
pub fn overheads() -> Result<Vec<Overhead>> {
    let dir = tempfile::tempdir()?;
    let mut out = Vec::new();
    logging_overhead(dir.path(), &mut out)?;
    bookkeeping_overhead(dir.path(), &mut out)?;
    report_overheads(dir.path(), &mut out)?;
    measurement_overheads(dir.path(), &mut out)?;
    memory_overheads(dir.path(), &mut out)?;
    Ok(out)
}

/// One line of [`overheads`]: what was measured, the value and its unit.
pub type Overhead = (String, f64, String);

/// Logging: 10,000 rows written as at a checkpoint.
fn logging_overhead(dir: &Path, out: &mut Vec<Overhead>) -> Result<()> {
    use harness_core::results::runlog::{MetricsRow, RunLogs};
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
    logs.write(dir)?;
    out.push((
        "metric logging, per logged row (10,000 rows)".into(),
        t.elapsed().as_secs_f64() / 1e4 * 1e6,
        "us".into(),
    ));
    Ok(())
}

/// Sweep bookkeeping: lock, config, run.json, sweep record, for a 1-iteration toy run minus
/// its training time is dominated by the files it writes; measure the store calls directly.
fn bookkeeping_overhead(dir: &Path, out: &mut Vec<Overhead>) -> Result<()> {
    use harness_core::results::store::{RunLock, Store, write_config};
    let store = Store::new(dir.join("results"))?;
    let cfg = case_config("toy_8gaussians_gp")?;
    let t = Instant::now();
    for i in 0..20 {
        let d = store.run_dir(&format!("bench{i:04}"));
        let _lock = RunLock::try_acquire(&d)?;
        write_config(&d, &cfg)?;
        let _ = store.plan_status(&format!("bench{i:04}"));
    }
    out.push((
        "sweep bookkeeping, per run (lock, config, status)".into(),
        t.elapsed().as_secs_f64() / 20.0 * 1e3,
        "ms".into(),
    ));
    Ok(())
}

/// Report generation over 100 runs x 10,000 logged steps (synthetic tree), cold and
/// incremental (nothing changed), and `verify` over the same tree.
fn report_overheads(dir: &Path, out: &mut Vec<Overhead>) -> Result<()> {
    let tree = dir.join("report-bench");
    harness_report::synthetic_results(&tree, 100, 10_000)?;
    let opts = harness_report::ReportOptions::default();
    for what in ["cold", "unchanged (incremental)"] {
        let t = Instant::now();
        harness_report::generate(&tree, &opts)?;
        out.push((
            format!("report, 100 runs x 10,000 steps, {what}"),
            t.elapsed().as_secs_f64(),
            "s".into(),
        ));
    }
    out.push((
        "verify, 100 runs x 10,000 steps with manifests (read-only fsck)".into(),
        time_verify(&tree)?,
        "s".into(),
    ));
    Ok(())
}

/// Measurement: the toy GP case trained with the default cadences (log every 10, evaluate
/// every gen_iters/10 with 2,500-sample mode metrics, checkpoint every gen_iters/4) versus
/// the bare training steps, same config and seed.
fn measurement_overheads(dir: &Path, out: &mut Vec<Overhead>) -> Result<()> {
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
    measured.train(dir, None, |_, _| {})?;
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
    Ok(())
}

/// Memory over a long run: 10,000 generator iterations of the toy GP case at width 64 (the
/// same engine path, small enough to finish in about a minute) with the default cadences
/// (logging, 10 evaluations, checkpoints). Single readings catch an evaluation's transient
/// buffers, so flatness is judged by the least-squares trend of readings every 250 steps
/// from step 5,000 to 10,000 (the allocator's pools grow over the first few thousand; a
/// 40,000-step run measured from outside stayed within 52-56 MB from step 8,000 on).
fn memory_overheads(dir: &Path, out: &mut Vec<Overhead>) -> Result<()> {
    let mut cfg = case_config("toy_8gaussians_gp")?;
    cfg.dim = Some(64);
    cfg.gen_iters = 10_000;
    cfg.log_every = 10;
    cfg.eval_every = 1_000;
    cfg.checkpoint_every = 1_000;
    let mut long = Engine::new(&cfg, &device_for(Backend::Flex)?, None);
    let mut readings: Vec<(f64, f64)> = Vec::new();
    long.train(&dir.join("long"), None, |step, _| {
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
    Ok(())
}

/// Seconds `harness verify` takes over the synthetic tree `tree`, once each run has the
/// manifest a finished run writes (its folder names are random, so each run also reports
/// that its config hashes elsewhere: the work is the same as for a sound tree).
pub fn time_verify(tree: &std::path::Path) -> Result<f64> {
    let store = harness_core::results::store::Store::new(tree)?;
    for run in store.runs() {
        if let Some(r) = harness_core::results::record::read(&run) {
            harness_core::results::manifest::write(&run, r.status.as_str(), r.step)?;
        }
    }
    let t = Instant::now();
    let found = harness_core::results::verify::check_tree(&store, &[])?;
    anyhow::ensure!(found.runs == store.runs().len(), "verify skipped runs");
    Ok(t.elapsed().as_secs_f64())
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
    use super::*;

    /// A toy net small enough to count by hand: G 2-4-2, C 2-4-1, batch 2, penalty on.
    /// Multiply-adds per sample: G 8 + 8 = 16 (first layer 8), C 8 + 4 = 12 (first layer 8,
    /// output layer 4). Critic step: G forward 2*16*2 = 64; C on 4 rows, forward 12 + weight
    /// gradients 12 + input gradients 12 - 8 = 28, 2*28*4 = 224; penalty on 2 rows, masks 12 +
    /// chain 12 + its weight gradients 12 + its input gradients 12 - 4 = 44, 2*44*2 = 176.
    /// Generator step: G 16 + 16 + 8 = 40, 2*40*2 = 160; C forward and input gradients 24,
    /// 2*24*2 = 96.
    #[test]
    fn step_flops_count_every_product_once() {
        let mut cfg = case_config("toy_8gaussians_gp").unwrap();
        (cfg.dim, cfg.depth, cfg.batch_size, cfg.z_dim) = (Some(4), Some(1), 2, 2);
        let (critic, generator) = step_gflop(&cfg).unwrap();
        assert!((critic * 1e9 - 464.0).abs() < 1e-6, "{}", critic * 1e9);
        assert!(
            (generator * 1e9 - 256.0).abs() < 1e-6,
            "{}",
            generator * 1e9
        );
    }

    /// dcgan, DIM 64, batch 64: multiply-adds per sample G 128*4096 + 16*256*128*25 +
    /// 49*128*64*25 + 196*64*25 = 23,980,288 and C 196*64*25 + 49*128*64*25 + 16*256*128*25 +
    /// 4096 = 23,460,096; the same rules give 33,017,593,856 FLOP per critic step and
    /// 15,147,106,304 per generator step.
    #[test]
    fn dcgan_flops_follow_the_conv_shapes() {
        let (critic, generator) = step_gflop(&case_config("dcgan_wgan_gp").unwrap()).unwrap();
        assert!((critic * 1e9 - 33_017_593_856.0).abs() < 1.0);
        assert!((generator * 1e9 - 15_147_106_304.0).abs() < 1.0);
    }

    #[test]
    fn slope_of_a_line_and_of_a_flat_series() {
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 2.0 * i as f64 + 1.0)).collect();
        assert!((super::slope(&line) - 2.0).abs() < 1e-12);
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 5.0)).collect();
        assert_eq!(super::slope(&flat), 0.0);
    }
}
