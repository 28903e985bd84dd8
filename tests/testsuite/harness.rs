//! The harness core: grid expansion, hashing, the store (atomic writes, locks), sweeps, and the
//! CLI's handling of bad input.

use crate::support::harness;
use harness_core::config::{Loss, RunSpec};
use harness_core::grid::parse_plan;
use harness_core::hash::short_hash;
use harness_core::results::store::{PlanStatus, RunLock, Store, write_atomic};
use std::path::{Path, PathBuf};
use std::process::Command;

fn plan(text: &str) -> harness_core::grid::Plan {
    parse_plan(Path::new("g.toml"), text, None).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn grids_expand_as_cartesian_products_unioned_with_seeds() {
    let p = plan(
        r#"
name = "x"
seeds = [1, 2]
[base]
dataset = "swissroll"
dim = 16
[[grid]]
loss = "wgan-clip"
clip = [0.1, 0.01, 0.001]
n_critic = [1, 5]
[[grid]]
loss = "wgan-gp"
"#,
    );
    assert_eq!(p.entries.len(), (3 * 2 + 1) * 2);
    assert!(p.duplicates.is_empty());
    let clips: Vec<Option<f64>> = p.entries.iter().map(|e| e.config.clip).collect();
    assert_eq!(clips.iter().filter(|c| **c == Some(0.001)).count(), 4);
    assert_eq!(
        p.entries
            .iter()
            .filter(|e| e.config.legacy_loss() == Some(Loss::WganGp))
            .count(),
        2
    );
    for k in ["clip", "loss", "n_critic", "seed"] {
        assert!(
            p.varying.contains(&k.to_string()),
            "{k} should vary: {:?}",
            p.varying
        );
    }
    assert!(!p.varying.contains(&"dim".to_string()));
    // Shards partition the plan.
    let mut all: Vec<String> = (1..=3)
        .flat_map(|k| p.shard(k, 3))
        .map(|e| e.hash.clone())
        .collect();
    all.sort();
    let mut want: Vec<String> = p.entries.iter().map(|e| e.hash.clone()).collect();
    want.sort();
    assert_eq!(all, want);
}

#[test]
fn hash_ignores_spelling_and_order_but_not_meaning() {
    let one = |t: &str| {
        let p = plan(t);
        assert_eq!(p.entries.len(), 1);
        p.entries[0].hash.clone()
    };
    let a = one("[base]\nloss = \"wgan-clip\"\nclip = 0.01\nbatch_size = 64\n");
    // Key order, number spelling, and defaults made explicit.
    assert_eq!(
        a,
        one("[base]\nbatch_size = 64\nclip = 1e-2\nloss = \"wgan-clip\"\n")
    );
    assert_eq!(
        a,
        one(
            "[base]\nloss = \"wgan-clip\"\nbatch_size = 64\nc_optim = \"rmsprop\"\nc_eps = 1e-8\nclip_when = \"after_step\"\n"
        )
    );
    // Not hashed: backend.
    assert_eq!(
        a,
        one("[base]\nloss = \"wgan-clip\"\nclip = 0.01\nbatch_size = 64\nbackend = \"ndarray\"\n")
    );
    // Any semantic change changes the hash.
    for other in [
        "[base]\nloss = \"wgan-clip\"\nclip = 0.02\nbatch_size = 64\n",
        "[base]\nloss = \"wgan-clip\"\nclip = 0.01\nbatch_size = 65\n",
        "[base]\nloss = \"wgan-clip\"\nclip = 0.01\nbatch_size = 64\nseed = 1\n",
        "[base]\nloss = \"wgan-clip\"\nclip = 0.01\nbatch_size = 64\nclip_when = \"before_step\"\n",
        "[base]\nloss = \"wgan-clip\"\nclip = 0.01\nbatch_size = 64\nc_momentum = 0.5\n",
    ] {
        assert_ne!(a, one(other), "{other}");
    }
    assert_eq!(a.len(), 12);
    let cfg = RunSpec {
        loss: Some(Loss::WganClip),
        batch_size: Some(64),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(short_hash(&cfg), a);
}

#[test]
fn duplicate_points_are_merged_and_reported_once() {
    let p = plan(
        "[base]\ndataset = \"8gaussians\"\n[[grid]]\nclip = [0.01, 1e-2]\nloss = \"wgan-clip\"\n[[grid]]\nloss = \"wgan-clip\"\n",
    );
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.duplicates, vec![(p.entries[0].hash.clone(), 3)]);
}

#[test]
fn atomic_write_replaces_whole_files_and_leaves_no_temporaries() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("sub/x.json");
    write_atomic(&f, b"first").unwrap();
    write_atomic(&f, b"second").unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), b"second");
    let names: Vec<_> = std::fs::read_dir(d.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("x.json")]);
}

#[test]
fn lock_excludes_a_second_holder_and_stale_locks_are_taken_over() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("abc");
    let held = RunLock::try_acquire(&run).unwrap().expect("free lock");
    assert!(RunLock::is_held(&run));
    assert!(
        RunLock::try_acquire(&run).unwrap().is_none(),
        "second holder must be refused"
    );
    drop(held);
    assert!(!RunLock::is_held(&run));
    // A killed worker leaves its owner tag behind but the kernel released its lock.
    std::fs::write(run.join("lock"), "424242@deadhost").unwrap();
    let l = RunLock::try_acquire(&run)
        .unwrap()
        .expect("stale lock is taken over");
    assert_eq!(l.took_over_from.as_deref(), Some("424242@deadhost"));
}

#[test]
fn stale_lock_of_a_killed_process_is_taken_over() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("abc");
    std::fs::create_dir_all(&run).unwrap();
    // A real process takes the lock with flock(1) (no fork: it holds the lock itself) and is
    // killed while holding it.
    let mut child = Command::new("flock")
        .arg("--no-fork")
        .arg(run.join("lock"))
        .args(["sleep", "30"])
        .spawn()
        .expect("flock(1) from util-linux");
    let start = std::time::Instant::now();
    while !RunLock::is_held(&run) && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(RunLock::is_held(&run));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !RunLock::is_held(&run),
        "the kernel releases a dead process's lock"
    );
    assert!(RunLock::try_acquire(&run).unwrap().is_some());
}

/// A tiny toy grid: 4 configurations of a few iterations each.
const TINY: &str = r#"
name = "tiny"
description = "smoke"
seeds = [1, 2]
[base]
dataset = "8gaussians"
dim = 16
batch_size = 32
gen_iters = 12
log_every = 4
eval_every = 6
checkpoint_every = 6
eval_samples = 200
[[grid]]
loss = ["wgan-gp", "gan-ns"]
"#;

fn write_grid(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("grid.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn second_sweep_trains_nothing_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), TINY);
    let res = d.path().join("results");
    let out = harness()
        .args([
            "sweep",
            g.to_str().unwrap(),
            "--results",
            res.to_str().unwrap(),
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 trained"));
    let store = Store::new(&res).unwrap();
    let p = parse_plan(&g, TINY, None).unwrap();
    for e in &p.entries {
        assert_eq!(store.plan_status(&e.hash), PlanStatus::Done);
        for f in [
            "config.toml",
            "run.json",
            "metrics.csv",
            "summary.json",
            "checkpoints/latest",
            "samples/step_00000012.csv",
        ] {
            assert!(res.join(&e.hash).join(f).exists(), "{f} missing");
        }
    }
    let before = std::fs::read_to_string(res.join(&p.entries[0].hash).join("run.json")).unwrap();
    let out = harness()
        .args([
            "sweep",
            g.to_str().unwrap(),
            "--results",
            res.to_str().unwrap(),
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("nothing to train: all 4 configurations are already done"),
        "{stdout}"
    );
    assert_eq!(
        before,
        std::fs::read_to_string(res.join(&p.entries[0].hash).join("run.json")).unwrap()
    );
    // The dry run reports them as done.
    let out = harness()
        .args([
            "sweep",
            g.to_str().unwrap(),
            "--results",
            res.to_str().unwrap(),
            "--dry-run",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(" done").count(), 4, "{stdout}");
    // ls lists every run.
    let out = harness()
        .args(["ls", res.to_str().unwrap()])
        .output()
        .unwrap();
    let ls = String::from_utf8_lossy(&out.stdout);
    for e in &p.entries {
        assert!(ls.contains(&e.hash), "{ls}");
    }
}

#[test]
fn two_concurrent_sweeps_run_each_configuration_exactly_once() {
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), TINY);
    let res = d.path().join("results");
    let spawn = || {
        harness()
            .args([
                "sweep",
                g.to_str().unwrap(),
                "--results",
                res.to_str().unwrap(),
                "--no-progress",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let trained = |o: &std::process::Output| -> usize {
        let s = String::from_utf8_lossy(&o.stdout).to_string();
        s.split(" trained")
            .next()
            .and_then(|x| x.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        trained(&a) + trained(&b),
        4,
        "{:?} {:?}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    let store = Store::new(&res).unwrap();
    for e in parse_plan(&g, TINY, None).unwrap().entries {
        let rec = store.record(&e.hash).unwrap();
        assert_eq!(rec.attempts, 1, "{} ran {} times", e.hash, rec.attempts);
    }
}

/// Run the CLI on a grid and check: exit code 2, the exact message, nothing written.
fn rejects(grid: &str, extra: &[&str], expect: &str) {
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), grid);
    let res = d.path().join("results");
    std::fs::create_dir_all(res.join("keep")).unwrap();
    std::fs::write(res.join("keep/marker"), "user data").unwrap();
    let out = harness()
        .args([
            "sweep",
            g.to_str().unwrap(),
            "--results",
            res.to_str().unwrap(),
            "--no-progress",
        ])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code for {grid}: {err}");
    assert!(err.contains(expect), "expected `{expect}` in:\n{err}");
    let files: Vec<_> = walkdir::WalkDir::new(&res)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect();
    assert_eq!(files.len(), 3, "something was written: {files:?}");
}

#[test]
fn bad_input_is_rejected_with_location_and_nothing_written() {
    rejects(
        "[base]\nloss = \"wgan-gp\"\nbatch_size = = 3\n",
        &[],
        "grid.toml:3:14: invalid TOML",
    );
    rejects(
        "[base]\nbacth_size = 64\n",
        &[],
        "grid.toml:2:1: unknown key `bacth_size` in [base] (did you mean `batch_size`?)",
    );
    rejects(
        "[base]\nbatch_size = \"big\"\n",
        &[],
        "grid.toml:2:1: key `batch_size`: invalid type: string \"big\"",
    );
    rejects(
        "[[grid]]\nloss = []\n",
        &[],
        "grid.toml:2:1: key `loss` in [[grid]] #1: empty grid axis `[]`",
    );
    rejects(
        "[base]\nbatch_size = 0\n",
        &[],
        "grid.toml:2:1: key `batch_size`: batch_size must be a positive integer, got 0",
    );
    rejects(
        "[base]\ngen_iters = -5\n",
        &[],
        "key `gen_iters`: gen_iters must be a positive integer, got -5",
    );
    rejects(
        "[base]\nn_critic = 0\n",
        &[],
        "key `n_critic`: n_critic must be a positive integer, got 0",
    );
    rejects(
        "[base]\nloss = \"wgan-clip\"\nclip = -0.01\n",
        &[],
        "grid.toml:3:1: key `clip`: clip must be a positive number, got -0.01",
    );
    rejects(
        "[base]\nloss = \"wgan-gp\"\nobjective = \"hinge\"\n",
        &[],
        "grid.toml:3:1: key `objective`: objective cannot be combined with loss = \"wgan-gp\"",
    );
    rejects(
        "[base]\npenalty = \"r1\"\n[[grid]]\ngp_lambda = [1.0, 2.0]\n",
        &[],
        "grid.toml:4:1: key `gp_lambda`: gp_lambda only applies to penalties \"gp\" and \"lp\", not to penalty \"r1\"",
    );
    rejects(
        "[base]\nspectral_norm = \"yes\"\n",
        &[],
        "grid.toml:2:1: key `spectral_norm`: invalid type: string \"yes\", expected a boolean",
    );
    rejects(
        "[base]\npenalty = \"r3\"\n",
        &[],
        "grid.toml:2:1: key `penalty`: unknown variant `r3`, expected one of `none`, `gp`, `lp`, `r1`, `r2`",
    );
    rejects(
        "[base]\ndataset = \"mnist\"\nmodel = \"dcgan\"\n[[grid]]\nloss = [\"wgan-clip\", \"wgan-gp\"]\ncritic_norm = \"batchnorm\"\n",
        &[],
        "grid.toml:6:1: key `critic_norm`: critic_norm \"batchnorm\" cannot be used with loss \"wgan-gp\": the gradient penalty is taken per sample",
    );
    rejects(
        "[base]\ncritic_norm = \"batchnorm\"\n",
        &[],
        "key `critic_norm`: critic_norm only applies to model \"dcgan\"",
    );
    rejects(
        "seeds = [1, 2, 3]\n[[grid]]\nseed = [1]\n",
        &[],
        "key `seed`: conflicts with the top-level `seeds`",
    );
    rejects(
        "seeds = [1, 2, 3, 4, 5, 6]\n[[grid]]\nn_critic = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
        &["--max-runs", "50"],
        "the grid expands to more than 50 runs; pass --yes",
    );
    rejects(
        "[base]\ndataset = \"mnist\"\n",
        &["--data-dir", "/nonexistent/mnist"],
        "/nonexistent/mnist",
    );
    rejects(
        "[base]\ndataset = \"mnist\"\n",
        &["--data-dir", "/nonexistent/mnist"],
        "harness data mnist",
    );
}

/// The axes grid of the objective x constraint study: every point is its own configuration
/// with its own hash, the points `loss` can spell hash as `loss` does, and the plan shows the
/// axes for every point, however its hash spells it.
#[test]
fn objective_penalty_and_spectral_norm_are_independent_axes() {
    let axes = r#"
[base]
dataset = "8gaussians"
[[grid]]
objective = ["gan-ns", "hinge", "wgan"]
penalty = ["none", "gp", "r1", "r2"]
spectral_norm = [false, true]
"#;
    let p = plan(axes);
    assert_eq!(p.entries.len(), 24);
    assert!(p.duplicates.is_empty());
    let mut hashes: Vec<&String> = p.entries.iter().map(|e| &e.hash).collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 24);
    assert_eq!(p.varying, ["objective", "penalty", "spectral_norm"]);
    for e in &p.entries {
        let shown = p.settings_text(e);
        let c = &e.config;
        assert_eq!(
            shown,
            format!(
                "objective={} penalty={} spectral_norm={}",
                c.objective, c.penalty, c.spectral_norm
            )
        );
    }
    let legacy =
        plan("[base]\ndataset = \"8gaussians\"\n[[grid]]\nloss = [\"gan-ns\", \"wgan-gp\"]\n");
    for e in &legacy.entries {
        assert!(hashes.contains(&&e.hash), "{} {}", e.hash, e.config.label());
    }
    // The command line's dry run of the same file.
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), axes);
    let out = harness()
        .args(["sweep", g.to_str().unwrap(), "--dry-run", "--results"])
        .arg(d.path().join("results"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("24 configurations"), "{stdout}");
    assert_eq!(stdout.matches(" new").count(), 24, "{stdout}");
}

/// `tests/fixtures/before_axes`: a grid file and the results tree the harness wrote for it
/// before the objective and the constraint were separate axes (three toy runs, loss = wgan-clip,
/// wgan-gp, gan-ns; the critic surfaces left out). Each run's config.toml reads back to its
/// hash, the same grid file finds every run done, and `ls`, `status` and `report` read the tree.
#[test]
fn a_results_tree_written_before_the_axes_keeps_working() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/before_axes");
    let d = tempfile::tempdir().unwrap();
    let res = d.path().join("results");
    let copy = |from: &Path, to: &Path| {
        for e in walkdir::WalkDir::new(from) {
            let e = e.unwrap();
            let target = to.join(e.path().strip_prefix(from).unwrap());
            if e.file_type().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
            } else {
                std::fs::copy(e.path(), &target).unwrap();
            }
        }
    };
    copy(&fixture.join("results"), &res);
    let store = Store::new(&res).unwrap();
    let runs = store.runs();
    assert_eq!(runs.len(), 3);
    for dir in &runs {
        let cfg = harness_core::results::store::read_config(dir).unwrap();
        assert_eq!(
            short_hash(&cfg),
            dir.file_name().unwrap().to_string_lossy(),
            "{}",
            dir.display()
        );
        assert!(cfg.legacy_loss().is_some() && !cfg.spectral_norm);
    }
    let grid = fixture.join("before_axes.toml");
    let sweep = harness()
        .args([
            "sweep",
            grid.to_str().unwrap(),
            "--no-progress",
            "--results",
        ])
        .arg(&res)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&sweep.stdout);
    assert!(
        sweep.status.success(),
        "{}",
        String::from_utf8_lossy(&sweep.stderr)
    );
    assert!(
        stdout.contains("nothing to train: all 3 configurations are already done"),
        "{stdout}"
    );
    let ls = harness().arg("ls").arg(&res).output().unwrap();
    let ls = String::from_utf8_lossy(&ls.stdout);
    for label in ["wgan-clip c=0.01", "wgan-gp λ=10", "gan-ns"] {
        assert!(ls.contains(label), "{label} missing from ls:\n{ls}");
    }
    let status = harness().arg("status").arg(&res).output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report = harness().arg("report").arg(&res).output().unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let summary = std::fs::read_to_string(res.join("report/summary.md")).unwrap();
    for loss in ["wgan-clip", "wgan-gp", "gan-ns"] {
        assert!(
            summary.contains(loss),
            "{loss} missing from the report:\n{summary}"
        );
    }
    assert!(!summary.contains("spectral_norm"), "{summary}");
}

#[test]
fn results_path_that_is_a_file_is_rejected() {
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), TINY);
    let f = d.path().join("results");
    std::fs::write(&f, "not a dir").unwrap();
    let out = harness()
        .args([
            "sweep",
            g.to_str().unwrap(),
            "--results",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a file, not a directory"));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "not a dir");
}

#[test]
fn run_one_config_from_its_folder_and_by_index() {
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), TINY);
    let res = d.path().join("results");
    let out = harness()
        .args([
            "run",
            "--grid",
            g.to_str().unwrap(),
            "--index",
            "1",
            "--results",
            res.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = parse_plan(&g, TINY, None).unwrap();
    let h = &p.entries[1].hash;
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(h.as_str()));
    let cfg = res.join(h).join("config.toml");
    let out = harness()
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--results",
            res.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("AlreadyDone"));
    let out = harness()
        .args(["show", &h[..6], "--results", res.to_str().unwrap()])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&out.stdout);
    assert!(
        show.contains("wgangp-paper:") && show.contains("[summary.json]"),
        "{show}"
    );
}

/// `--jobs N` runs each configuration in its own worker process: killing one worker (as the
/// kernel's OOM killer would) fails that configuration only; the next sweep resumes it.
#[test]
fn a_killed_worker_process_does_not_stop_the_others_and_its_run_resumes() {
    const GRID: &str = r#"
name = "workers"
description = "one long run to kill, three short ones"
seeds = [1]
[base]
dataset = "8gaussians"
loss = "gan-ns"
dim = 16
batch_size = 32
log_every = 10
eval_every = 1000
checkpoint_every = 200
eval_samples = 200
[[grid]]
gen_iters = [20000, 20, 21, 22]
"#;
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), GRID);
    let res = d.path().join("results");
    let plan = parse_plan(&g, GRID, None).unwrap();
    let long = plan.entries[0].hash.clone();
    assert_eq!(plan.entries[0].config.gen_iters, 20000);
    let sweep = || {
        harness()
            .args(["sweep", g.to_str().unwrap(), "--results"])
            .arg(&res)
            .args(["--jobs", "2", "--no-progress"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = sweep();
    // The worker's pid is in the run's lock once it has started; kill it after a checkpoint.
    let lock = res.join(&long).join("lock");
    let start = std::time::Instant::now();
    let pid = loop {
        assert!(
            start.elapsed().as_secs() < 300,
            "the long run never checkpointed"
        );
        let owner = std::fs::read_to_string(&lock).unwrap_or_default();
        if harness_core::results::checkpoints::latest_step(&res.join(&long)).is_some()
            && let Some(pid) = owner.split('@').next().and_then(|p| p.parse::<u32>().ok())
        {
            break pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_ne!(pid, child.id(), "the run is not in a worker process");
    assert!(
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("3 trained") && stdout.contains("1 failed"),
        "{stdout}"
    );
    assert!(stderr.contains("killed by signal 9"), "{stderr}");
    let store = Store::new(&res).unwrap();
    for e in &plan.entries[1..] {
        assert_eq!(store.plan_status(&e.hash), PlanStatus::Done);
    }
    assert_eq!(store.plan_status(&long), PlanStatus::Partial);

    let out = sweep().wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 trained (1 resumed)"), "{stdout}");
    let rec = store.record(&long).unwrap();
    assert_eq!((rec.attempts, rec.step), (2, 20000));
}

/// Every file and folder the harness writes (run folders, sweep record, report) follows the
/// process umask, as cargo and git do, so a group can share a results directory.
#[test]
fn written_files_follow_the_umask() {
    const ONE: &str = "name = \"perm\"\n[base]\ndataset = \"8gaussians\"\nloss = \"wgan-gp\"\n\
        dim = 16\nbatch_size = 32\ngen_iters = 4\nlog_every = 2\neval_every = 4\n\
        checkpoint_every = 4\neval_samples = 100\n";
    use std::os::unix::fs::PermissionsExt;
    for (umask, file_mode, dir_mode) in [("027", 0o640, 0o750), ("022", 0o644, 0o755)] {
        let d = tempfile::tempdir().unwrap();
        let g = write_grid(d.path(), ONE);
        let res = d.path().join("results");
        let under_umask = |args: &[&std::ffi::OsStr]| {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_harness"))
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        under_umask(&[
            "sweep".as_ref(),
            g.as_os_str(),
            "--results".as_ref(),
            res.as_os_str(),
            "--no-progress".as_ref(),
        ]);
        under_umask(&["report".as_ref(), res.as_os_str()]);
        let mut files = 0;
        for e in walkdir::WalkDir::new(&res).min_depth(1) {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            let want = if e.file_type().is_dir() {
                dir_mode
            } else {
                files += 1;
                file_mode
            };
            assert_eq!(
                mode,
                want,
                "umask {umask}: {} is {mode:o}",
                e.path().display()
            );
        }
        assert!(files > 15, "only {files} files written");
    }
}
