//! `summary.json`'s time split and training throughput (issue: throughput that means training
//! speed): a fresh results tree's first MNIST run trains the evaluator before it trains, and
//! that time must not be in the throughput.

use crate::common;

use harness_core::config::{Profile, RunSpec};
use harness_core::results::store::Store;
use harness_core::results::summary;
use harness_engine::run::{RunOptions, RunResult, execute};

/// The run's training throughput agrees with the rate its `timing.csv` implies (last logged
/// step over its clock, read before the run's only evaluation and checkpoint), within 10%, and
/// the parts of its wall time add up, the evaluator's first training among them.
#[test]
fn first_mnist_run_reports_training_throughput_without_the_evaluator() {
    let spec = RunSpec {
        profile: Some(Profile::Seed),
        gen_iters: Some(60),
        log_every: Some(10),
        eval_every: Some(60),
        checkpoint_every: Some(60),
        eval_samples: Some(500),
        seed: Some(1),
        ..RunSpec::default()
    };
    let cfg = spec.resolve().unwrap();
    let out = tempfile::tempdir().unwrap();
    let store = Store::new(out.path()).unwrap();
    let opts = RunOptions {
        data_dir: Some(common::mnist_dir().to_path_buf()),
        ..Default::default()
    };
    let result = execute(&store, &cfg, &opts, |_, _| {}).unwrap();
    assert!(matches!(result, RunResult::Done { .. }), "{result:?}");
    assert!(
        out.path().join("evaluators").read_dir().unwrap().count() == 1,
        "the evaluator was trained into the fresh tree"
    );
    let dir = store.run_dir(&harness_core::hash::short_hash(&cfg));
    let s = summary::read(&dir).expect("summary.json");
    let time = s.time.expect("time split");
    let tp = s.throughput.expect("throughput");

    let timing = std::fs::read_to_string(dir.join("timing.csv")).unwrap();
    let last = timing.lines().last().unwrap();
    let (step, wall) = last.split_once(',').unwrap();
    let (step, wall): (f64, f64) = (step.parse().unwrap(), wall.parse().unwrap());
    assert_eq!(step, 60.0);
    let timing_rate = step / wall;
    eprintln!(
        "gen_iters_per_s {:.2}, timing.csv {timing_rate:.2} it/s; {time:?}",
        tp.gen_iters_per_s
    );
    let ratio = tp.gen_iters_per_s / timing_rate;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "summary's {:.2} it/s vs timing.csv's {timing_rate:.2} it/s ({time:?})",
        tp.gen_iters_per_s
    );
    assert_eq!(tp.measured_over_steps, 60);
    assert!(time.evaluator_s > 0.0 && time.eval_s > 0.0 && time.checkpoint_s > 0.0);
    let parts = time.train_s + time.evaluator_s + time.eval_s + time.checkpoint_s;
    assert!(
        time.untimed_s >= 0.0 && (parts + time.untimed_s - time.wall_s).abs() < 1e-9,
        "{time:?}"
    );
}
