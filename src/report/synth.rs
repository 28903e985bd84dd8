//! A synthetic results tree for benchmarking the report (not real training data).

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Result;

/// splitmix64: deterministic noise without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The ten configurations cycled through: `(loss, clip, gp_lambda, lr)`.
const CONFIGS: [(&str, Option<f64>, Option<f64>, f64); 10] = [
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
    fs::create_dir_all(dir.join("sweeps"))?;
    let n_cfg = n_runs.clamp(1, CONFIGS.len());
    let mut hashes = Vec::new();
    for i in 0..n_runs {
        let (loss, clip, gp, lr) = CONFIGS[i % n_cfg];
        let seed = (i / n_cfg) as u64 + 1;
        let hash = format!(
            "{:012x}",
            Rng(i as u64 * 7919 + 17).next() & 0xFFFF_FFFF_FFFF
        );
        let run = dir.join(&hash);
        fs::create_dir_all(run.join("samples"))?;
        hashes.push(hash);

        let mut cfg = String::from("batch_size = 256\n");
        if let Some(c) = clip {
            writeln!(cfg, "clip = {c:?}\nclip_when = \"after_step\"")?;
        }
        writeln!(cfg, "dataset = \"8gaussians\"\ngen_iters = {n_steps}")?;
        if let Some(l) = gp {
            writeln!(cfg, "gp_lambda = {l:?}")?;
        }
        writeln!(cfg, "loss = \"{loss}\"\nlr = {lr:?}\nmodel = \"toy-mlp\"")?;
        writeln!(cfg, "n_critic = 5\nseed = {seed}")?;
        fs::write(run.join("config.toml"), cfg)?;
        fs::write(
            run.join("run.json"),
            format!(
                "{{\"status\": \"done\", \"sweep\": \"bench\", \"wall_s\": {:.1}, \"error\": null, \
                 \"step\": {n_steps}, \"diverged_at\": null}}",
                n_steps as f64 * 0.01
            ),
        )?;

        let mut rng = Rng(seed * 1_000_003 + i as u64);
        let wass = loss.starts_with("wgan");
        let kind = if wass { "wasserstein" } else { "js" };
        let mut m = BufWriter::new(fs::File::create(run.join("metrics.csv"))?);
        writeln!(
            m,
            "step,wall_s,critic_loss,gen_loss,estimate,estimate_kind,penalty,grad_norm,val_critic_loss,lr_g,lr_c"
        )?;
        for s in 1..=n_steps {
            let t = s as f64 / n_steps as f64;
            let est = if wass {
                2.0 * (-3.0 * t).exp() + 0.05
            } else {
                0.3 * (-t).exp()
            };
            let noise = 0.05 * rng.normal();
            let pen = if gp.is_some() {
                format!("{:.5}", 0.1 * (-2.0 * t).exp())
            } else {
                String::new()
            };
            let val = if s % 100 == 0 {
                format!("{:.5}", -est)
            } else {
                String::new()
            };
            writeln!(
                m,
                "{s},{:.3},{:.5},{:.5},{:.5},{kind},{pen},{:.5},{val},{lr},{lr}",
                s as f64 * 0.01 * (1.0 + 0.01 * seed as f64),
                -est + noise,
                est + noise,
                est + 0.5 * noise,
                1.0 + 0.1 * rng.normal(),
            )?;
        }
        m.flush()?;

        let every = (n_steps / 20).max(1);
        let mut e = BufWriter::new(fs::File::create(run.join("eval.csv"))?);
        let mut l = BufWriter::new(fs::File::create(run.join("layers.csv"))?);
        writeln!(e, "step,wall_s,metric,value")?;
        writeln!(l, "step,layer,quantity,value")?;
        let quality = 1.0 - (i % n_cfg) as f64 * 0.05;
        for s in (every..=n_steps).step_by(every) {
            let t = s as f64 / n_steps as f64;
            let w = s as f64 * 0.01;
            let modes = (8.0 * quality * (1.0 - (-4.0 * t).exp())).round();
            writeln!(e, "{s},{w:.3},modes_covered,{modes}")?;
            writeln!(e, "{s},{w:.3},high_quality_frac,{:.4}", quality * t)?;
            writeln!(
                e,
                "{s},{w:.3},mode_kl,{:.4}",
                2.0 * (-3.0 * t).exp() / quality + 0.01 * rng.uniform()
            )?;
            writeln!(e, "{s},{w:.3},mode_js,{:.4}", 0.5 * (-3.0 * t).exp())?;
            writeln!(
                e,
                "{s},{w:.3},sliced_wasserstein,{:.4}",
                (-2.0 * t).exp() + 0.01
            )?;
            for layer in 0..4 {
                let g = match clip {
                    Some(c) => (c * 100.0).powi(layer + 1) * 0.1,
                    None => 0.5,
                };
                writeln!(
                    l,
                    "{s},{layer},grad_norm,{:.6e}",
                    g * (1.0 + 0.05 * rng.normal()).abs()
                )?;
                writeln!(
                    l,
                    "{s},{layer},act_grad_norm,{:.6e}",
                    g * (1.0 + 0.05 * rng.normal()).abs()
                )?;
                writeln!(
                    l,
                    "{s},{layer},frac_at_clip,{:.4}",
                    if clip.is_some() { 0.8 } else { 0.0 }
                )?;
                writeln!(l, "{s},{layer},weight_abs_max,{:.4}", clip.unwrap_or(0.4))?;
            }
            let mut pts = BufWriter::new(fs::File::create(
                run.join(format!("samples/step_{s:08}.csv")),
            )?);
            writeln!(pts, "x,y")?;
            for k in 0..256 {
                let a = std::f64::consts::TAU * (k % 8) as f64 / 8.0;
                let r = 2.0 * t.min(1.0);
                writeln!(
                    pts,
                    "{:.4},{:.4}",
                    r * a.cos() + 0.1 * rng.normal(),
                    r * a.sin() + 0.1 * rng.normal()
                )?;
            }
            pts.flush()?;
        }
        e.flush()?;
        l.flush()?;

        let mut h = BufWriter::new(fs::File::create(run.join("weights_hist.csv"))?);
        writeln!(h, "step,layer,bin_lo,bin_hi,count")?;
        let lim = clip.unwrap_or(0.5);
        for layer in 0..4 {
            for b in 0..40 {
                let (lo, hi) = (
                    -lim + 2.0 * lim * b as f64 / 40.0,
                    -lim + 2.0 * lim * (b + 1) as f64 / 40.0,
                );
                let count = if clip.is_some() && (b == 0 || b == 39) {
                    400.0
                } else {
                    (100.0 * (-((lo + hi) / 2.0 / lim * 3.0).powi(2)).exp()).round()
                };
                writeln!(h, "{n_steps},{layer},{lo:.6},{hi:.6},{count}")?;
            }
        }
        h.flush()?;

        let mut sf = BufWriter::new(fs::File::create(run.join("surface.csv"))?);
        writeln!(sf, "x,y,value")?;
        for yi in 0..128 {
            for xi in 0..128 {
                let (x, y) = (
                    -3.0 + 6.0 * xi as f64 / 127.0,
                    -3.0 + 6.0 * yi as f64 / 127.0,
                );
                let v = (x * 1.3).sin() * (y * 0.7).cos() * if wass { 5.0 } else { 0.5 };
                writeln!(sf, "{x:.5},{y:.5},{v:.5}")?;
            }
        }
        sf.flush()?;
    }
    let sweep = serde_json::json!({
        "name": "bench",
        "description": "Synthetic sweep for benchmarking the report.",
        "grid_file": "experiments/bench.toml",
        "runs": hashes,
        "varying": ["loss", "clip", "gp_lambda", "lr", "seed"],
    });
    fs::write(
        dir.join("sweeps/bench.json"),
        serde_json::to_string_pretty(&sweep)?,
    )?;
    Ok(())
}
