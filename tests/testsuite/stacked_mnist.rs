//! Stacked MNIST, the data set that proves the data-set interface: its mode metrics on real
//! stacked test digits (the known answer), and sweeps that train both image network families
//! on it through the same code as MNIST.

use crate::evaluator::{cache_dir, evaluator, mnist};
use crate::support::{sweep_ok, text, tmp_in, write};
use harness_core::data::held_out_indices;
use harness_engine::measure::Poll;
use harness_engine::measure::evaluator::images01;
use harness_engine::measure::stacked;
use std::path::Path;

/// `n` stacked test images in [0, 1], as the held-out set stacks them.
fn stacked_test_images(n: usize) -> Vec<f32> {
    let m = mnist();
    held_out_indices(m.test.len, n, 3)
        .flat_map(|i| images01(&m.test, i..i + 1))
        .collect()
}

#[test]
fn real_stacked_digits_cover_nearly_every_mode_and_one_image_covers_one() {
    let images = stacked_test_images(10_000);
    let scores = stacked::scores(evaluator(), &images, 3, Poll::NEVER).unwrap();
    let (modes, kl) = (scores[0].1, scores[1].1);
    eprintln!("real stacked test digits: {modes} modes, KL {kl:.4}");
    // 10,000 draws from 1,000 nearly uniform modes: 999.95 covered on average and a KL of
    // about (1000 - 1) / (2 * 10,000) = 0.05, plus the test set's class imbalance and the
    // classifier's 0.6-0.7% errors per digit.
    assert!(modes >= 995.0, "{modes} modes");
    assert!(kl < 0.1, "KL {kl}");
    let one = images[..3 * 784].repeat(500);
    let scores = stacked::scores(evaluator(), &one, 3, Poll::NEVER).unwrap();
    assert_eq!(scores[0].1, 1.0);
    assert!((scores[1].1 - 1000f64.ln()).abs() < 1e-9, "{scores:?}");
}

/// The sweep's results tree gets the tests' evaluator, so the runs do not train their own.
fn share_evaluator(res: &Path) {
    let ev = evaluator();
    let to = res.join("evaluators").join(&ev.hash);
    std::fs::create_dir_all(&to).unwrap();
    for f in std::fs::read_dir(cache_dir().join("evaluators").join(&ev.hash)).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

#[test]
fn a_stacked_mnist_sweep_trains_dcgan_and_mlp_nets_and_scores_their_modes() {
    let d = tempfile::tempdir().unwrap();
    let res = d.path().join("results");
    share_evaluator(&res);
    let grid = write(
        d.path(),
        "stacked.toml",
        r#"
name = "stacked"
seeds = [1]
[base]
dataset = "stacked-mnist"
gen_iters = 6
batch_size = 16
log_every = 2
eval_every = 6
checkpoint_every = 6
eval_samples = 300
[[grid]]
model = "dcgan"
dim = 4
loss = ["gan-ns", "wgan-gp"]
[[grid]]
model = "mlp"
g_hidden = [[32]]
c_hidden = [[32]]
loss = "wgan-clip"
"#,
    );
    let data = crate::common::mnist_dir().to_str().unwrap().to_owned();
    // Two workers: each is handed the evaluator by its `harness run`, none trains or loads it
    // inside its training.
    let out = sweep_ok(
        &grid,
        &res,
        &tmp_in(d.path()),
        &["--data-dir", &data, "--jobs", "2"],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("3 trained"),
        "{stdout}{}",
        text(&out.stderr)
    );
    let runs: Vec<_> = std::fs::read_dir(&res)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("config.toml").is_file())
        .collect();
    assert_eq!(runs.len(), 3);
    for run in &runs {
        let eval = std::fs::read_to_string(run.join("eval.csv")).unwrap();
        let value = |metric: &str| -> f64 {
            eval.lines()
                .map(|l| l.split(',').collect::<Vec<_>>())
                .find(|f| f.len() == 4 && f[2] == metric)
                .map(|f| f[3].parse().unwrap())
                .unwrap_or_else(|| panic!("{metric} missing from {eval}"))
        };
        let modes = value("modes_covered");
        assert!(
            (1.0..=300.0).contains(&modes) && modes.fract() == 0.0,
            "{modes}"
        );
        let kl = value("mode_kl");
        assert!((0.0..=1000f64.ln() + 1e-9).contains(&kl), "{kl}");
        assert!(
            !eval.contains(",fld,"),
            "MNIST's single-digit scores on stacked images"
        );
        let summary = harness_core::results::summary::read(run).unwrap();
        let time = summary.time.expect("time split");
        assert!(
            time.evaluator_s < 0.05,
            "the run spent {time:?} on its evaluator"
        );
        let png = image::open(run.join("samples/step_00000006.png")).unwrap();
        assert_eq!(png.color(), image::ColorType::Rgb8);
        assert_eq!((png.width(), png.height()), (8 * 28, 8 * 28));
    }
}
