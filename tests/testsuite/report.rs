//! `harness report` on a hand-made results tree: 2 configurations x 2 seeds in a sweep
//! (one seed failed), a third seed still running, and one MNIST run outside any sweep.

use std::fs;
use std::path::{Path, PathBuf};

use harness_report::{
    Band, ReportOptions, build_sections, discover, generate, group_runs, load_runs, load_sweeps,
    mean_band, synthetic_results, varying_keys,
};

const CLIP_A: &str = "0a0000000001";
const CLIP_B: &str = "0a0000000002";
const GP_A: &str = "0b0000000001";
const GP_FAILED: &str = "0b0000000002";
const GP_RUNNING: &str = "0b0000000003";
const MNIST: &str = "0c0000000001";

const METRICS_HEADER: &str = "step,wall_s,critic_loss,gen_loss,estimate,estimate_kind,penalty,grad_norm,val_critic_loss,lr_g,lr_c";

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn run_json(status: &str, sweep: Option<&str>, error: Option<&str>) -> String {
    serde_json::json!({
        "status": status, "started": "2025-01-01T00:00:00Z", "finished": null,
        "harness_version": "0.1.0", "git_commit": null, "backend": "flex", "device": "Cpu",
        "host": "test", "wall_s": 4.0, "error": error, "diverged_at": null, "step": 4,
        "sweep": sweep,
    })
    .to_string()
}

/// A toy run: critic loss `critic[i]` at steps 1..=4, eval at steps 2 and 4.
#[allow(clippy::too_many_arguments)]
fn toy_run(
    root: &Path,
    hash: &str,
    loss: &str,
    extra: &str,
    seed: u32,
    status: &str,
    critic: &[f64],
    modes: [f64; 2],
    grad_norms: &[f64],
) -> PathBuf {
    let dir = root.join(hash);
    let config = format!(
        "batch_size = 256\n{extra}dataset = \"8gaussians\"\ngen_iters = 4\nloss = \"{loss}\"\n\
         model = \"toy-mlp\"\nn_critic = 5\nseed = {seed}\n"
    );
    write(&dir.join("config.toml"), &config);
    let error = (status == "failed").then_some("CUDA error: out of memory at step 3");
    write(
        &dir.join("run.json"),
        &run_json(status, Some("clip_vs_gp"), error),
    );
    let mut metrics = format!("{METRICS_HEADER}\n");
    for (i, c) in critic.iter().enumerate() {
        let step = i + 1;
        let penalty = if loss == "wgan-gp" { "0.5" } else { "" };
        metrics.push_str(&format!(
            "{step},{},{c},{},{},wasserstein,{penalty},1.0,,0.0001,0.0001\n",
            step as f64 * 0.5 + seed as f64 * 0.1,
            -c,
            -c
        ));
    }
    write(&dir.join("metrics.csv"), &metrics);
    if critic.is_empty() {
        return dir;
    }
    write(
        &dir.join("eval.csv"),
        &format!(
            "step,wall_s,metric,value\n2,1.0,modes_covered,{}\n2,1.0,mode_kl,0.9\n\
             4,2.0,modes_covered,{}\n4,2.0,mode_kl,{}\n",
            modes[0],
            modes[1],
            0.1 * seed as f64
        ),
    );
    let mut layers = String::from("step,layer,quantity,value\n");
    for (l, g) in grad_norms.iter().enumerate() {
        layers.push_str(&format!(
            "2,{l},grad_norm,999\n4,{l},grad_norm,{g}\n4,{l},act_grad_norm,{}\n\
             4,{l},frac_at_clip,0.5\n",
            g * 10f64.powi(l as i32)
        ));
    }
    write(&dir.join("layers.csv"), &layers);
    let mut hist = String::from("step,layer,bin_lo,bin_hi,count\n");
    for l in 0..2 {
        for b in 0..4 {
            let lo = -0.02 + 0.01 * b as f64;
            hist.push_str(&format!("4,{l},{lo},{},{}\n", lo + 0.01, 10 + b));
        }
    }
    write(&dir.join("weights_hist.csv"), &hist);
    let mut surface = String::from("x,y,value\n");
    for yi in 0..8 {
        for xi in 0..8 {
            let (x, y) = (-3.0 + 6.0 * xi as f64 / 7.0, -3.0 + 6.0 * yi as f64 / 7.0);
            surface.push_str(&format!("{x},{y},{}\n", x * y));
        }
    }
    write(&dir.join("surface.csv"), &surface);
    for step in [2, 4] {
        write(
            &dir.join(format!("samples/step_{step:08}.csv")),
            "x,y\n0.5,0.5\n-1,1\n2,-2\n",
        );
    }
    dir
}

fn mnist_run(root: &Path) {
    let dir = root.join(MNIST);
    write(
        &dir.join("config.toml"),
        "batch_size = 64\ndataset = \"mnist\"\ngen_iters = 300\nloss = \"gan\"\nmodel = \"dcgan\"\nseed = 1\n",
    );
    write(&dir.join("run.json"), &run_json("done", None, None));
    write(
        &dir.join("metrics.csv"),
        &format!(
            "{METRICS_HEADER}\n100,1,0.7,0.8,0.2,js,,,,0.0002,0.0002\n200,2,0.6,0.9,0.25,js,,,,0.0002,0.0002\n"
        ),
    );
    write(
        &dir.join("eval.csv"),
        "step,wall_s,metric,value\n100,1,fld,30.5\n200,2,fld,20.25\n",
    );
    for step in [100, 200, 300] {
        let img =
            image::GrayImage::from_fn(16, 16, |x, y| image::Luma([((x + y + step) % 255) as u8]));
        let path = dir.join(format!("samples/step_{step:08}.png"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        img.save(&path).unwrap();
    }
}

/// The tree described at the top of the file.
fn make_tree(root: &Path) {
    let clip = "clip = 0.01\nclip_when = \"after_step\"\n";
    let gp = "gp_lambda = 10.0\n";
    toy_run(
        root,
        CLIP_A,
        "wgan-clip",
        clip,
        1,
        "done",
        &[1.0, 2.0, 3.0, 4.0],
        [4.0, 7.0],
        &[1e-1, 1e-3, 1e-5],
    );
    toy_run(
        root,
        CLIP_B,
        "wgan-clip",
        clip,
        2,
        "done",
        &[3.0, 4.0, 5.0, 6.0],
        [5.0, 8.0],
        &[1e-1, 1e-3, 1e-5],
    );
    toy_run(
        root,
        GP_A,
        "wgan-gp",
        gp,
        1,
        "done",
        &[-1.0, -2.0, -3.0, -4.0],
        [6.0, 8.0],
        &[1.0, 1.0, 1.0],
    );
    toy_run(
        root,
        GP_FAILED,
        "wgan-gp",
        gp,
        2,
        "failed",
        &[-1.0, -1.0],
        [5.0, 5.0],
        &[1.0, 2.0, 1.0],
    );
    toy_run(
        root,
        GP_RUNNING,
        "wgan-gp",
        gp,
        3,
        "running",
        &[],
        [0.0, 0.0],
        &[],
    );
    mnist_run(root);
    write(
        &root.join("sweeps/clip_vs_gp.json"),
        &serde_json::json!({
            "name": "clip_vs_gp",
            "description": "Does the gradient penalty keep critic gradients stable where clipping does not?",
            "grid_file": "experiments/clip_vs_gp.toml",
            "runs": [CLIP_A, CLIP_B, GP_A, GP_FAILED, GP_RUNNING, "0d00000000ff"],
            "varying": ["loss", "clip", "seed"],
            "updated": "2025-01-01T00:00:00Z",
        })
        .to_string(),
    );
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lines that are exactly `text` (plotters writes each text element's content on its own line).
fn text_count(svg: &str, text: &str) -> usize {
    svg.lines().filter(|l| l.trim() == text).count()
}

#[test]
fn report_from_hand_made_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    make_tree(root);
    let summary = generate(root, &ReportOptions::default()).unwrap();
    let out = root.join("report");

    assert_eq!(summary.runs, 6);
    assert_eq!(
        summary.groups, 3,
        "2 configurations in the sweep + 1 ungrouped"
    );
    assert_eq!(summary.index, out.join("index.html"));
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);

    // Every chart is a complete SVG with a title.
    assert!(summary.charts.len() >= 15, "{:?}", summary.charts);
    for c in &summary.charts {
        let svg = read(c);
        assert!(svg.starts_with("<svg"), "{}", c.display());
        assert!(svg.trim_end().ends_with("</svg>"), "{}", c.display());
        assert!(svg.contains("<title>"), "{}", c.display());
    }

    let sweep = out.join("sweep_clip_vs_gp");
    let labels = ["loss=wgan-clip clip=0.01", "loss=wgan-gp"];
    for (file, x_axis) in [
        ("curve_critic_loss_step.svg", "generator iterations"),
        ("curve_critic_loss_wall.svg", "wall time (s)"),
        ("curve_gen_loss_step.svg", "generator iterations"),
        (
            "curve_estimate_wasserstein_step.svg",
            "generator iterations",
        ),
        ("eval_modes_covered.svg", "generator iterations"),
        ("fig3_modes_covered.svg", "generator iterations"),
        (
            "fig1b_grad_norm_by_layer.svg",
            "critic layer (input → output)",
        ),
        (
            "weight_grad_norm_by_layer.svg",
            "critic layer (input → output)",
        ),
    ] {
        let svg = read(&sweep.join(file));
        assert_eq!(svg.matches("<!-- series: ").count(), 2, "{file}");
        for l in labels {
            assert_eq!(text_count(&svg, l), 1, "{file}: legend entry {l}");
            assert!(svg.contains(&format!("<!-- series: {l} -->")), "{file}");
        }
        assert!(text_count(&svg, x_axis) >= 1, "{file}: x axis label");
        assert!(svg.contains("clip_vs_gp"), "{file}: title names the sweep");
    }
    let critic = read(&sweep.join("curve_critic_loss_step.svg"));
    assert_eq!(text_count(&critic, "Critic loss"), 1, "y axis label");
    assert!(critic.contains("band: ±1 std over 2 seeds"), "band note");
    // Fig. 1b is the gradient with respect to the activations; the weights' is its own chart.
    let layers = read(&sweep.join("fig1b_grad_norm_by_layer.svg"));
    assert!(layers.contains("log10 gradient norm"));
    assert!(layers.contains("WGAN-GP Fig. 1b") && layers.contains("(activations)"));
    let weights = read(&sweep.join("weight_grad_norm_by_layer.svg"));
    assert!(weights.contains("not Fig. 1b") && weights.contains("(weights)"));

    for file in [
        "fig1c_weight_hist.svg",
        "critic_surface.svg",
        "final_modes_covered.svg",
        "samples_0.svg",
    ] {
        assert!(sweep.join(file).is_file(), "{file}");
    }
    let strip = read(&sweep.join("final_modes_covered.svg"));
    assert_eq!(text_count(&strip, labels[0]), 1);

    // summary.csv: one row per run, config keys and final values as columns.
    let mut rdr = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let header = rdr.headers().unwrap().clone();
    for col in [
        "hash",
        "status",
        "loss",
        "clip",
        "seed",
        "final_critic_loss",
        "eval_modes_covered",
    ] {
        assert!(
            header.iter().any(|h| h == col),
            "column {col} in {header:?}"
        );
    }
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rows.iter().find(|r| &r[col("hash")] == CLIP_B).unwrap();
    assert_eq!(&row[col("final_critic_loss")], "6");
    assert_eq!(&row[col("eval_modes_covered")], "8");
    assert_eq!(&row[col("clip")], "0.01");
    let failed = rows.iter().find(|r| &r[col("hash")] == GP_FAILED).unwrap();
    assert_eq!(&failed[col("status")], "failed");

    // summary.md: mean ± std over seeds, best in bold, varying columns only.
    let md = read(&out.join("summary.md"));
    assert!(
        md.contains("| loss | clip | runs | mode_kl ↓ | modes_covered ↑ |"),
        "{md}"
    );
    // Clipping: modes 7 and 8 over two seeds; mode_kl 0.1 and 0.2.
    assert!(
        md.contains("| wgan-clip | 0.01 | 2 | 0.15 ± 0.07071 | 7.5 ± 0.7071 |"),
        "{md}"
    );
    // Penalty: only the finished seed counts (the failed one is left out, the running
    // one has no score yet), and it is best in both columns.
    assert!(
        md.contains("| wgan-gp | – | 3 (1 failed, 1 running) | **0.1** | **8** |"),
        "{md}"
    );
    assert!(
        !md.contains("| batch_size"),
        "constant keys are not columns"
    );

    // index.html: every chart linked and present, failures and running runs called out.
    let html = read(&summary.index);
    for c in &summary.charts {
        let rel = c
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(
            html.contains(&format!("src=\"{rel}\"")),
            "index links {rel}"
        );
    }
    assert!(html.contains("Does the gradient penalty keep critic gradients stable"));
    assert!(html.contains(GP_FAILED));
    assert!(html.contains("<span class=\"failed\">failed</span>"));
    assert!(html.contains("CUDA error: out of memory at step 3"));
    assert!(html.contains("1 run still running: partial results"));
    assert!(
        html.contains("0d00000000ff"),
        "listed-but-missing run is reported"
    );
    assert!(!html.contains("<script"));

    // MNIST sample grids are copied next to the page.
    let copied = out.join(format!("ungrouped/samples/{MNIST}_step_00000300.png"));
    assert!(copied.is_file());
    assert!(html.contains(&format!("ungrouped/samples/{MNIST}_step_00000200.png")));
    assert!(out.join("ungrouped/curve_estimate_js_step.svg").is_file());
}

#[test]
fn seed_statistics_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(tmp.path());
    let mut warnings = Vec::new();
    let runs = load_runs(
        &discover(tmp.path(), &tmp.path().join("report")),
        &mut warnings,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let sweeps = load_sweeps(tmp.path(), &mut warnings);
    let sections = build_sections(&runs, &sweeps, &[]);
    assert_eq!(sections.len(), 2);
    let sec = &sections[0];
    assert_eq!(sec.keys, ["loss", "clip"]);
    assert_eq!(sec.missing, ["0d00000000ff"]);
    let clip = &sec.groups[0];
    assert_eq!(clip.label, "loss=wgan-clip clip=0.01");
    let series: Vec<(&[f64], &[f64])> = clip
        .members
        .iter()
        .map(|&i| {
            let m = &runs[i].metrics;
            (m.get("step").unwrap(), m.get("critic_loss").unwrap())
        })
        .collect();
    let b = mean_band(&series);
    assert_eq!(b.x, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(b.mean, [2.0, 3.0, 4.0, 5.0]);
    assert_eq!(b.n, [2, 2, 2, 2]);
    assert_eq!(b.min, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(b.max, [3.0, 4.0, 5.0, 6.0]);
    for s in &b.std {
        assert!(
            (s - 2f64.sqrt()).abs() < 1e-12,
            "sample std of {{x, x+2}} is sqrt 2"
        );
    }

    // Ragged seeds: the failed run stops after step 2, the running one has no rows.
    let gp = &sec.groups[1];
    assert_eq!(gp.members.len(), 3);
    let series: Vec<(&[f64], &[f64])> = gp
        .members
        .iter()
        .map(|&i| {
            let m = &runs[i].metrics;
            (m.get("step").unwrap(), m.get("critic_loss").unwrap())
        })
        .collect();
    let b = mean_band(&series);
    assert_eq!(b.mean, [-1.0, -1.5, -3.0, -4.0]);
    assert_eq!(b.n, [2, 2, 1, 1]);
    assert_eq!(b.std[2], 0.0);

    // Grouping by a single key pools the clip and gp runs' other settings.
    let configs: Vec<_> = sec.run_indices().map(|i| &runs[i].config).collect();
    assert_eq!(
        varying_keys(&configs, &[]),
        ["loss", "clip", "gp_lambda", "clip_when"]
    );
    let by_loss = group_runs(&configs, &["loss".to_string()]);
    assert_eq!(by_loss.len(), 2);
    assert_eq!(by_loss[1].label, "loss=wgan-gp");
}

#[test]
fn regeneration_is_incremental() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(tmp.path());
    let opts = ReportOptions::default();
    let first = generate(tmp.path(), &opts).unwrap();
    assert_eq!(first.redrawn, first.charts.len());
    let second = generate(tmp.path(), &opts).unwrap();
    assert_eq!(second.redrawn, 0, "nothing changed");
    assert_eq!(second.charts, first.charts);

    // Newer eval data redraws eval-based charts only.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let eval = tmp.path().join(CLIP_A).join("eval.csv");
    let text = read(&eval);
    fs::write(&eval, text).unwrap();
    let third = generate(tmp.path(), &opts).unwrap();
    assert!(
        third.redrawn > 0 && third.redrawn < first.charts.len(),
        "{}",
        third.redrawn
    );

    // Different options change the charts' fingerprints.
    let minmax = ReportOptions {
        band: Band::MinMax,
        ..ReportOptions::default()
    };
    let fourth = generate(tmp.path(), &minmax).unwrap();
    assert_eq!(fourth.redrawn, fourth.charts.len());
    let svg = read(
        &tmp.path()
            .join("report/sweep_clip_vs_gp/curve_critic_loss_step.svg"),
    );
    assert!(svg.contains("band: min–max over 2 seeds"));
}

#[test]
fn options_are_validated_and_output_folder_is_configurable() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(tmp.path());
    let bad = ReportOptions {
        smooth: 0.0,
        ..ReportOptions::default()
    };
    assert!(generate(tmp.path(), &bad).is_err());
    let out = tmp.path().join("elsewhere");
    let opts = ReportOptions {
        out: Some(out.clone()),
        group_by: vec!["loss".into()],
        smooth: 1.0,
        band: Band::Std,
        refresh: None,
    };
    let s = generate(tmp.path(), &opts).unwrap();
    assert_eq!(s.index, out.join("index.html"));
    assert_eq!(s.runs, 6, "the output folder is not scanned for runs");
    let svg = read(&out.join("sweep_clip_vs_gp/curve_critic_loss_step.svg"));
    assert_eq!(text_count(&svg, "loss=wgan-clip"), 1);
    assert!(!svg.contains("EMA"), "smooth = 1 disables smoothing");
}

#[test]
fn synthetic_tree_reports() {
    let tmp = tempfile::tempdir().unwrap();
    synthetic_results(tmp.path(), 6, 60).unwrap();
    let s = generate(tmp.path(), &ReportOptions::default()).unwrap();
    assert_eq!(s.runs, 6);
    assert_eq!(s.groups, 6);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert!(s.charts.iter().all(|c| c.is_file()));
    let svg = read(
        &tmp.path()
            .join("report/sweep_bench/fig1b_grad_norm_by_layer.svg"),
    );
    assert_eq!(svg.matches("<!-- series: ").count(), 6);
}

/// The report over a tree made by real (short) training runs: 3 configurations x 2 seeds.
#[test]
fn report_from_real_short_runs() {
    use gan_harness::sweep::{SweepOptions, run_sweep};
    use harness_core::grid::parse_plan;
    use harness_core::results::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let grid = r#"
name = "real_short"
description = "Clipping vs penalty, tiny."
seeds = [1, 2]
[base]
dataset = "swissroll"
depth = 3
dim = 16
batch_size = 32
gen_iters = 20
log_every = 5
eval_every = 10
checkpoint_every = 10
eval_samples = 200
[[grid]]
loss = "wgan-clip"
clip = [0.1, 0.001]
[[grid]]
loss = "wgan-gp"
"#;
    let plan = parse_plan(&dir.path().join("g.toml"), grid, None).unwrap();
    let results = dir.path().join("results");
    let store = Store::new(&results).unwrap();
    let rep = run_sweep(&plan, &store, &SweepOptions::default()).unwrap();
    assert_eq!(rep.trained.len(), 6);
    let summary = generate(&results, &ReportOptions::default()).unwrap();
    assert_eq!(summary.runs, 6);
    let sweep_dir = results.join("report/sweep_real_short");
    for chart in [
        "fig1b_grad_norm_by_layer.svg",
        "curve_critic_loss_step.svg",
        "curve_estimate_wasserstein_step.svg",
    ] {
        let svg = std::fs::read_to_string(sweep_dir.join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.contains("<svg"),
            "{chart} is not SVG"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{chart} is truncated");
        assert_eq!(
            svg.matches("<!-- series:").count(),
            3,
            "{chart}: one series per configuration"
        );
        for label in ["clip=0.1", "clip=0.001", "wgan-gp"] {
            assert!(svg.contains(label), "{chart} lacks the series {label}");
        }
    }
    let fig = std::fs::read_to_string(sweep_dir.join("fig1b_grad_norm_by_layer.svg")).unwrap();
    assert!(fig.contains("critic layer"), "axis label");
    let mut rdr = csv::Reader::from_path(results.join("report/summary.csv")).unwrap();
    assert_eq!(rdr.records().count(), 6);
    let html = std::fs::read_to_string(&summary.index).unwrap();
    assert!(html.contains("Clipping vs penalty, tiny."));
    assert!(html.contains("fig1b_grad_norm_by_layer.svg"));
}

/// Sets `run.json`'s `cpus` (what the run's attempts ran on) of the run `hash`.
fn set_cpus(root: &Path, hash: &str, cpus: &[&str]) {
    let path = root.join(hash).join("run.json");
    let mut rec: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    rec["cpus"] = serde_json::json!(cpus);
    write(&path, &rec.to_string());
}

/// The two seeds of the clip configuration on different CPUs: the page's warnings and the
/// command's stderr name the configuration, its section and each seed's CPU. The gp
/// configuration, whose seeds share a CPU (one with no record of it), is not flagged.
#[test]
fn report_warns_of_a_configuration_whose_seeds_ran_on_different_cpus() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    make_tree(root);
    let (amd, intel) = ("AMD EPYC 9B14 [avx512f]", "Intel Xeon Gold 6148 [avx2+fma]");
    set_cpus(root, CLIP_A, &[amd]);
    set_cpus(root, CLIP_B, &[intel]);
    set_cpus(root, GP_A, &[amd]);
    set_cpus(root, GP_FAILED, &[amd]);
    let summary = generate(root, &ReportOptions::default()).unwrap();
    let want = format!(
        "clip_vs_gp: configuration `loss=wgan-clip clip=0.01` ran its seeds on different CPUs \
         (seed 1 on {amd}; seed 2 on {intel})"
    );
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].starts_with(&want),
        "{:?}",
        summary.warnings
    );
    let page = read(&summary.index);
    let warnings = page
        .split("id=\"warnings\"")
        .nth(1)
        .expect("a warnings section");
    assert!(warnings.contains(&want), "{warnings}");

    let out = crate::support::harness()
        .arg("report")
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        crate::support::text(&out.stderr)
    );
    let err = crate::support::text(&out.stderr);
    assert!(err.contains(&format!("warning: {want}")), "{err}");
}
