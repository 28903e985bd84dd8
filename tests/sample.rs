//! `[[sample]]` tables through the CLI: a real toy study extended from 10 to 20 draws trains
//! only the 10 new ones, and a bad table is refused with its location, writing nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

fn study(n: usize) -> String {
    format!(
        r#"
name = "study"
[base]
dataset = "8gaussians"
dim = 8
batch_size = 32
gen_iters = 2
log_every = 1
eval_every = 2
checkpoint_every = 2
eval_samples = 100
[[sample]]
n = {n}
seed = 3
loss = ["gan-ns", "wgan-gp"]
c_lr = {{ log_uniform = [1e-5, 1e-3] }}
c_beta1 = {{ uniform = [0.0, 0.9] }}
n_critic = {{ int_uniform = [1, 3] }}
"#
    )
}

fn sweep(grid: &Path, results: &Path, extra: &[&str]) -> Output {
    harness()
        .args(["sweep", grid.to_str().unwrap(), "--results"])
        .arg(results)
        .arg("--no-progress")
        .args(extra)
        .output()
        .unwrap()
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("study.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run_dirs(results: &Path) -> usize {
    std::fs::read_dir(results)
        .unwrap()
        .filter(|e| {
            let e = e.as_ref().unwrap();
            e.file_name().len() == 12 && e.path().join("config.toml").is_file()
        })
        .count()
}

#[test]
fn extending_a_study_trains_only_the_new_draws() {
    let d = tempfile::tempdir().unwrap();
    let res = d.path().join("results");
    let g = write(d.path(), &study(10));
    let out = sweep(&g, &res, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("10 trained"), "{stdout}");
    assert_eq!(run_dirs(&res), 10);

    let g = write(d.path(), &study(20));
    let dry = sweep(&g, &res, &["--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(text.matches(" done").count(), 10, "{text}");
    assert_eq!(text.matches(" new").count(), 10, "{text}");
    assert!(text.contains("c_lr="), "{text}");

    let out = sweep(&g, &res, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("10 trained"), "{stdout}");
    assert_eq!(run_dirs(&res), 20);

    let record = std::fs::read_to_string(res.join("sweeps/study.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["sampled"].as_array().unwrap().len(), 20);
    assert_eq!(record["sample_groups"], serde_json::json!(["loss"]));
}

#[test]
fn a_bad_range_is_refused_with_its_location_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let res = d.path().join("results");
    let bad = study(4).replace("[1e-5, 1e-3]", "[1e-3, 1e-5]");
    let g = write(d.path(), &bad);
    let out = sweep(&g, &res, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let want = format!(
        "{}:16:10: key `c_lr`: `log_uniform` = [0.001, 0.00001]: low must be below high in \
         [[sample]] #1",
        g.display()
    );
    assert!(err.contains(&want), "want {want}\n got {err}");
    assert!(!res.exists(), "something was written");
}
