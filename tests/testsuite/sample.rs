//! `[[sample]]` tables through the CLI: a real toy study extended from 10 to 20 draws trains
//! only the 10 new ones, and a bad table is refused with its location, writing nothing.

use crate::support::harness;
use std::path::{Path, PathBuf};
use std::process::Output;

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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// A hand-made results tree of six drawn settings (three per loss, one of them diverged):
/// the report's budget curves equal the closed form worked by hand, and its page and charts
/// show them.
#[test]
fn budget_views_match_a_hand_computation() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let draws = [
        ("0d0000000001", "gan-ns", 1e-4, "done", Some(3.0)),
        ("0d0000000002", "gan-ns", 2e-4, "done", Some(1.0)),
        ("0d0000000003", "gan-ns", 3e-4, "done", Some(2.0)),
        ("0d0000000004", "wgan-gp", 1e-4, "done", Some(0.5)),
        ("0d0000000005", "wgan-gp", 2e-4, "done", Some(0.25)),
        ("0d0000000006", "wgan-gp", 3e-4, "diverged", None),
    ];
    for (hash, loss, lr, status, score) in draws {
        let dir = root.join(hash);
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "c_lr = {lr}\ndataset = \"8gaussians\"\ngen_iters = 4\nloss = \"{loss}\"\n\
             model = \"toy-mlp\"\nseed = 0\n"
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let run = serde_json::json!({"status": status, "wall_s": 1.0, "step": 4, "sweep": "study"});
        std::fs::write(dir.join("run.json"), run.to_string()).unwrap();
        std::fs::write(
            dir.join("metrics.csv"),
            "step,wall_s,critic_loss,gen_loss,estimate,estimate_kind\n4,1.0,0.1,0.1,0.1,js\n",
        )
        .unwrap();
        let value = score.map_or("NaN".to_string(), |s: f64| s.to_string());
        std::fs::write(
            dir.join("eval.csv"),
            format!("step,wall_s,metric,value\n4,1.0,sliced_wasserstein,{value}\n"),
        )
        .unwrap();
    }
    let hashes: Vec<&str> = draws.iter().map(|d| d.0).collect();
    let record = serde_json::json!({"name": "study", "runs": hashes, "varying": ["c_lr", "loss"],
        "sampled": hashes, "sample_groups": ["loss"]});
    std::fs::create_dir_all(root.join("sweeps")).unwrap();
    std::fs::write(root.join("sweeps/study.json"), record.to_string()).unwrap();

    let out = harness().arg("report").arg(root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(root.join("report/budget.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let at = |group: &str, k: usize| -> [f64; 3] {
        let r = rows
            .iter()
            .find(|r| r[2] == group && r[3] == k.to_string())
            .unwrap_or_else(|| panic!("no row {group} {k} in\n{csv}"));
        [4, 5, 6].map(|i| r[i].parse().unwrap())
    };
    // gan-ns: scores 1, 2, 3. Best of 2 with replacement: 1 w.p. 5/9, 2 w.p. 3/9, 3 w.p. 1/9.
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(at("gan-ns", 1)[0], 2.0));
    assert!(close(at("gan-ns", 2)[0], 14.0 / 9.0), "{csv}");
    assert!(close(at("gan-ns", 3)[0], 36.0 / 27.0));
    assert_eq!(at("gan-ns", 3)[1..], [1.0, 3.0]);
    // wgan-gp: two scored draws (0.25, 0.5) and one diverged, left out. Best of 2: 0.25 w.p. 3/4.
    assert!(close(at("wgan-gp", 2)[0], 0.25 * 0.75 + 0.5 * 0.25));
    assert_eq!(at("wgan-gp", 1)[1..], [0.25, 0.5]);
    assert!(!rows.iter().any(|r| r[2] == "wgan-gp" && r[3] == "3"));

    let html = std::fs::read_to_string(root.join("report/index.html")).unwrap();
    assert!(html.contains("data-draws=\"5\""), "{html}");
    assert!(
        html.contains("<td>wgan-gp</td><td>2</td><td>1</td>"),
        "{html}"
    );
    for chart in [
        "budget_sliced_wasserstein.svg",
        "distribution_sliced_wasserstein.svg",
    ] {
        let svg = std::fs::read_to_string(root.join("report/sweep_study").join(chart)).unwrap();
        assert!(svg.contains("<!-- series: gan-ns"), "{chart}");
        assert!(html.contains(chart), "{chart}");
    }
}
