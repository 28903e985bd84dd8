//! A synthetic results tree for benchmarking the report (not real training data).

use std::fs;
use std::path::Path;

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use harness_core::results::atomic_file::write_atomic;
use harness_core::results::record::{self, RunRecord, Status};
use harness_core::results::runlog::METRICS_HEADER;
use harness_core::results::sweep_record::SweepRecord;
use harness_core::results::{run_files, tree_dirs};

/// One synthetic configuration: `(loss, clip, gp_lambda, lr)`.
type Setting = (&'static str, Option<f64>, Option<f64>, f64);

/// The ten configurations cycled through.
const CONFIGS: [Setting; 10] = [
    ("gan", None, None, 1e-4),
    ("gan-ns", None, None, 1e-4),
    ("wgan-clip", Some(0.001), None, 5e-5),
    ("wgan-clip", Some(0.01), None, 5e-5),
    ("wgan-clip", Some(0.1), None, 5e-5),
    ("wgan-gp", None, Some(1.0), 1e-4),
    ("wgan-gp", None, Some(10.0), 1e-4),
    ("wgan-lp", None, Some(10.0), 1e-4),
    ("wgan-gp", None, Some(10.0), 2e-4),
    ("wgan-clip", Some(0.01), None, 2e-4),
];

/// Write `n_runs` toy-data runs of `n_steps` logged generator iterations each, in one
/// sweep `bench`, with every file of the results layout filled in. Configurations cycle
/// through ten loss settings; the seed increases every ten runs.
#[doc(hidden)]
pub fn synthetic_results(dir: &Path, n_runs: usize, n_steps: usize) -> Result<()> {
    let n_cfg = n_runs.clamp(1, CONFIGS.len());
    let mut hashes = Vec::new();
    for i in 0..n_runs {
        let setting = CONFIGS[i % n_cfg];
        let seed = (i / n_cfg) as u64 + 1;
        let hash = format!(
            "{:012x}",
            ChaCha8Rng::seed_from_u64(i as u64).random::<u64>() & 0xFFFF_FFFF_FFFF
        );
        let run = dir.join(&hash);
        hashes.push(hash);
        let mut rng = ChaCha8Rng::seed_from_u64(seed * 1_000_003 + i as u64);
        write_config(&run, setting, seed, n_steps)?;
        write_metrics(&run, setting, seed, n_steps, &mut rng)?;
        let quality = 1.0 - (i % n_cfg) as f64 * 0.05;
        write_evaluations(&run, setting.1, quality, n_steps, &mut rng)?;
        write_hist(&run, setting.1, n_steps)?;
        write_surface(&run, setting.0.starts_with("wgan"))?;
    }
    let sweep = SweepRecord {
        name: "bench".into(),
        description: "Synthetic sweep for benchmarking the report.".into(),
        grid_file: "experiments/bench.toml".into(),
        runs: hashes,
        varying: ["loss", "clip", "gp_lambda", "lr", "seed"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    };
    write_atomic(
        &dir.join(tree_dirs::SWEEPS).join("bench.json"),
        serde_json::to_string_pretty(&sweep)?.as_bytes(),
    )
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// A CSV file from a header and rows of cells (plainly written: nothing reads the tree while
/// it is made).
fn write_csv(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    Ok(w.flush()?)
}

/// `config.toml` and a finished `run.json`.
fn write_config(run: &Path, setting: Setting, seed: u64, n_steps: usize) -> Result<()> {
    let (loss, clip, gp, lr) = setting;
    let mut cfg = toml::Table::new();
    cfg.insert("batch_size".into(), 256.into());
    if let Some(c) = clip {
        cfg.insert("clip".into(), c.into());
        cfg.insert("clip_when".into(), "after_step".into());
    }
    cfg.insert("dataset".into(), "8gaussians".into());
    cfg.insert("gen_iters".into(), (n_steps as i64).into());
    if let Some(l) = gp {
        cfg.insert("gp_lambda".into(), l.into());
    }
    cfg.insert("loss".into(), loss.into());
    cfg.insert("lr".into(), lr.into());
    cfg.insert("model".into(), "toy-mlp".into());
    cfg.insert("n_critic".into(), 5.into());
    cfg.insert("seed".into(), (seed as i64).into());
    write_atomic(
        &run.join(run_files::CONFIG),
        toml::to_string(&cfg)?.as_bytes(),
    )?;
    let rec = RunRecord {
        status: Status::Done,
        sweep: Some("bench".into()),
        wall_s: n_steps as f64 * 0.01,
        step: n_steps as u32,
        ..Default::default()
    };
    record::write(run, &rec)
}

/// `metrics.csv` (with its old `wall_s` column): decaying losses and estimate with noise.
fn write_metrics(
    run: &Path,
    (loss, _, gp, lr): Setting,
    seed: u64,
    n_steps: usize,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let wass = loss.starts_with("wgan");
    let kind = if wass { "wasserstein" } else { "js" };
    let mut header = METRICS_HEADER.to_vec();
    header.insert(1, "wall_s");
    let rows = (1..=n_steps).map(|s| {
        let t = s as f64 / n_steps as f64;
        let est = if wass {
            2.0 * (-3.0 * t).exp() + 0.05
        } else {
            0.3 * (-t).exp()
        };
        let noise = 0.05 * normal(rng);
        let pen = gp.map_or(String::new(), |_| format!("{:.5}", 0.1 * (-2.0 * t).exp()));
        let val = if s % 100 == 0 {
            format!("{:.5}", -est)
        } else {
            String::new()
        };
        vec![
            s.to_string(),
            format!("{:.3}", s as f64 * 0.01 * (1.0 + 0.01 * seed as f64)),
            format!("{:.5}", -est + noise),
            format!("{:.5}", est + noise),
            format!("{:.5}", est + 0.5 * noise),
            kind.into(),
            pen,
            format!("{:.5}", 1.0 + 0.1 * normal(rng)),
            val,
            format!("{lr}"),
            format!("{lr}"),
        ]
    });
    write_csv(&run.join(run_files::METRICS), &header, rows)
}

/// `eval.csv`, `layers.csv` and the sample points of twenty evaluations.
fn write_evaluations(
    run: &Path,
    clip: Option<f64>,
    quality: f64,
    n_steps: usize,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let every = (n_steps / 20).max(1);
    let (mut eval, mut layers) = (Vec::new(), Vec::new());
    for s in (every..=n_steps).step_by(every) {
        let t = s as f64 / n_steps as f64;
        let w = format!("{:.3}", s as f64 * 0.01);
        let modes = (8.0 * quality * (1.0 - (-4.0 * t).exp())).round();
        let mode_kl = 2.0 * (-3.0 * t).exp() / quality + 0.01 * rng.random::<f64>();
        for (metric, value) in [
            ("modes_covered", format!("{modes}")),
            ("high_quality_frac", format!("{:.4}", quality * t)),
            ("mode_kl", format!("{mode_kl:.4}")),
            ("mode_js", format!("{:.4}", 0.5 * (-3.0 * t).exp())),
            (
                "sliced_wasserstein",
                format!("{:.4}", (-2.0 * t).exp() + 0.01),
            ),
        ] {
            eval.push(vec![s.to_string(), w.clone(), metric.into(), value]);
        }
        push_layers(&mut layers, s, clip, rng);
        let points = (0..256).map(|k| {
            let a = std::f64::consts::TAU * (k % 8) as f64 / 8.0;
            let r = 2.0 * t.min(1.0);
            vec![
                format!("{:.4}", r * a.cos() + 0.1 * normal(rng)),
                format!("{:.4}", r * a.sin() + 0.1 * normal(rng)),
            ]
        });
        let samples = run.join(run_files::SAMPLES);
        write_csv(
            &samples.join(format!("step_{s:08}.csv")),
            &["x", "y"],
            points,
        )?;
    }
    let tidy = ["step", "wall_s", "metric", "value"];
    write_csv(&run.join(run_files::EVAL), &tidy, eval.into_iter())?;
    let tidy = ["step", "layer", "quantity", "value"];
    write_csv(&run.join(run_files::LAYERS), &tidy, layers.into_iter())
}

/// The `layers.csv` rows of step `s`: four layers' gradient norms (growing or shrinking by
/// layer with the clip), share of weights at the clip and largest weight.
fn push_layers(layers: &mut Vec<Vec<String>>, s: usize, clip: Option<f64>, rng: &mut ChaCha8Rng) {
    for layer in 0..4 {
        let g = clip.map_or(0.5, |c| (c * 100.0).powi(layer + 1) * 0.1);
        let grad = g * (1.0 + 0.05 * normal(rng)).abs();
        let act = g * (1.0 + 0.05 * normal(rng)).abs();
        let at_clip = if clip.is_some() { 0.8 } else { 0.0 };
        for (quantity, value) in [
            ("grad_norm", format!("{grad:.6e}")),
            ("act_grad_norm", format!("{act:.6e}")),
            ("frac_at_clip", format!("{at_clip:.4}")),
            ("weight_abs_max", format!("{:.4}", clip.unwrap_or(0.4))),
        ] {
            layers.push(vec![
                s.to_string(),
                layer.to_string(),
                quantity.into(),
                value,
            ]);
        }
    }
}

/// `weights_hist.csv`: clipped weights pile up at the edges, others are bell-shaped.
fn write_hist(run: &Path, clip: Option<f64>, n_steps: usize) -> Result<()> {
    let lim = clip.unwrap_or(0.5);
    let rows = (0..4).flat_map(|layer| {
        (0..40).map(move |b| {
            let lo = -lim + 2.0 * lim * b as f64 / 40.0;
            let hi = -lim + 2.0 * lim * (b + 1) as f64 / 40.0;
            let count = if clip.is_some() && (b == 0 || b == 39) {
                400.0
            } else {
                (100.0 * (-((lo + hi) / 2.0 / lim * 3.0).powi(2)).exp()).round()
            };
            vec![
                n_steps.to_string(),
                layer.to_string(),
                format!("{lo:.6}"),
                format!("{hi:.6}"),
                format!("{count}"),
            ]
        })
    });
    let header = ["step", "layer", "bin_lo", "bin_hi", "count"];
    write_csv(&run.join(run_files::WEIGHTS_HIST), &header, rows)
}

/// `surface.csv`: a smooth critic on a 128x128 grid over [-3, 3]^2.
fn write_surface(run: &Path, wass: bool) -> Result<()> {
    let coord = |i: usize| -3.0 + 6.0 * i as f64 / 127.0;
    let rows = (0..128 * 128).map(|k| {
        let (x, y) = (coord(k % 128), coord(k / 128));
        let v = (x * 1.3).sin() * (y * 0.7).cos() * if wass { 5.0 } else { 0.5 };
        vec![format!("{x:.5}"), format!("{y:.5}"), format!("{v:.5}")]
    });
    write_csv(&run.join(run_files::SURFACE), &["x", "y", "value"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_tree_is_a_results_tree() {
        let d = tempfile::tempdir().unwrap();
        synthetic_results(d.path(), 3, 40).unwrap();
        let rec = harness_core::results::sweep_record::read(d.path(), "bench").unwrap();
        assert_eq!(rec.runs.len(), 3);
        for h in &rec.runs {
            let run = d.path().join(h);
            assert_eq!(record::read(&run).unwrap().status, Status::Done);
            let metrics = fs::read_to_string(run.join(run_files::METRICS)).unwrap();
            assert_eq!(metrics.lines().count(), 41);
            assert!(run.join("samples/step_00000040.csv").is_file());
        }
    }
}
