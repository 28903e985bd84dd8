//! The SLURM launcher against a real Slurm: `.ci/slurm-up` starts a single-node cluster
//! (munged, slurmctld, slurmd) on the CI machine. Where `sbatch` is absent these tests say so
//! and skip, unless HARNESS_REQUIRE_SLURM is set (CI sets it), in which case they fail.

use crate::support::harness;
use harness_core::grid::parse_plan;
use harness_core::results::store::{PlanStatus, Store};
use harness_core::results::sweep_record;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn slurm_available(test: &str) -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%t"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !up {
        assert!(
            std::env::var_os("HARNESS_REQUIRE_SLURM").is_none(),
            "{test}: HARNESS_REQUIRE_SLURM is set but no SLURM cluster answers `sinfo` (start one with .ci/slurm-up)"
        );
        eprintln!("SKIPPED {test}: no SLURM cluster here (sbatch/sinfo absent or not answering)");
    }
    up
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sweep_slurm(grid: &Path, res: &Path, extra: &[&str]) -> Output {
    harness()
        .args(["sweep", grid.to_str().unwrap(), "--results"])
        .arg(res)
        .args(["--launcher", "slurm"])
        .args(extra)
        .output()
        .unwrap()
}

/// Poll until `done` holds, at most `limit`.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            let q = Command::new("squeue").output().map(|o| text(&o));
            panic!("timed out after {limit:?} waiting for {what}; squeue: {q:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// No task of `job` is pending or running any more.
fn job_finished(job: &str) -> bool {
    let out = Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%T"])
        .output()
        .unwrap();
    !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(gan_harness::slurm::is_live)
}

fn job_id(o: &Output) -> String {
    let s = String::from_utf8_lossy(&o.stdout).to_string();
    s.split("submitted job array ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in {s}"))
        .to_string()
}

fn grid(dir: &Path, text: &str) -> (PathBuf, harness_core::grid::Plan) {
    let p = dir.join("grid.toml");
    std::fs::write(&p, text).unwrap();
    let plan = parse_plan(&p, text, None).unwrap();
    (p, plan)
}

const SMALL: &str = r#"
name = "slurm-small"
description = "four tiny toy runs"
seeds = [1, 2]
[base]
dataset = "8gaussians"
dim = 16
batch_size = 32
gen_iters = 20
log_every = 5
eval_every = 10
checkpoint_every = 10
eval_samples = 200
[[grid]]
loss = ["wgan-gp", "gan-ns"]
"#;

#[test]
fn job_array_runs_every_configuration_and_a_second_submission_submits_nothing() {
    if !slurm_available("job_array_runs_every_configuration") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (g, plan) = grid(d.path(), SMALL);
    let res = d.path().join("results");
    let out = sweep_slurm(&g, &res, &["--max-parallel", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let job = job_id(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("with 4 tasks"),
        "{}",
        text(&out)
    );
    let store = Store::new(&res).unwrap();
    wait_for("the array to finish", Duration::from_secs(300), || {
        job_finished(&job)
    });
    for e in &plan.entries {
        assert_eq!(store.plan_status(&e.hash), PlanStatus::Done, "{}", e.hash);
        let rec = store.record(&e.hash).unwrap();
        assert_eq!(rec.attempts, 1);
        assert_eq!(rec.sweep.as_deref(), Some("slurm-small"));
        for f in ["metrics.csv", "checkpoints/latest", "summary.json"] {
            assert!(res.join(&e.hash).join(f).exists(), "{f} missing");
        }
    }
    let rec = sweep_record::read(&store.root, "slurm-small").unwrap();
    assert_eq!(rec.slurm.len(), 1);
    assert_eq!(rec.slurm[0].job_id, job);
    assert_eq!(rec.slurm[0].tasks.len(), 4);
    for i in 0..4 {
        let log = std::fs::read_to_string(rec.slurm[0].log(i)).unwrap();
        assert!(log.contains("Done"), "task {i} log: {log}");
    }
    // The script throttles the array as asked.
    let script = std::fs::read_to_string(rec.slurm[0].dir.join("job.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%2"), "{script}");

    let again = sweep_slurm(&g, &res, &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to submit: 4 already done"),
        "{}",
        text(&again)
    );
    assert_eq!(
        sweep_record::read(&store.root, "slurm-small")
            .unwrap()
            .slurm
            .len(),
        1
    );

    let st = harness().arg("status").arg(&res).output().unwrap();
    let s = String::from_utf8_lossy(&st.stdout);
    assert!(
        s.contains("done 4") && s.contains(&format!("slurm job {job}")),
        "{s}"
    );
    // Results written by array tasks make a report like any other.
    let rep = harness().arg("report").arg(&res).output().unwrap();
    assert!(rep.status.success(), "{}", text(&rep));
    assert!(res.join("report/index.html").exists());

    // A claim added to the grid file reaches the record though nothing is submitted, and the
    // report checks it from there.
    // A t-test threshold, which two seeds per configuration can decide (a count such as
    // modes_covered needs five for its sign test: docs/claims.md).
    let claim = "[[claim]]\ntext = \"Every run ends within 100 of the data\"\n\
                 metric = \"sliced_wasserstein\"\nat_most = 100\n";
    let (g, plan) = grid(d.path(), &format!("{SMALL}{claim}"));
    let again = sweep_slurm(&g, &res, &[]);
    assert!(again.status.success(), "{}", text(&again));
    let rec = sweep_record::read(&store.root, "slurm-small").unwrap();
    assert_eq!(rec.claims, plan.claims);
    assert_eq!(rec.slurm.len(), 1);
    let check = harness()
        .args(["report", "--check"])
        .arg(&res)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout)
            .contains("supported: Every run ends within 100 of the data"),
        "{}",
        text(&check)
    );
}

const KILL: &str = r#"
name = "slurm-kill"
description = "one long run to cancel mid-way, one short"
seeds = [1]
[base]
dataset = "8gaussians"
loss = "gan-ns"
dim = 16
batch_size = 32
log_every = 10
eval_every = 500
checkpoint_every = 200
eval_samples = 200
[[grid]]
gen_iters = [20000, 20]
"#;

#[test]
fn a_cancelled_task_is_resubmitted_by_retry_failed_and_resumes_from_its_checkpoint() {
    if !slurm_available("a_cancelled_task_is_resubmitted") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (g, plan) = grid(d.path(), KILL);
    let res = d.path().join("results");
    let long = plan
        .entries
        .iter()
        .find(|e| e.config.gen_iters == 20000)
        .unwrap()
        .hash
        .clone();
    let short = plan
        .entries
        .iter()
        .find(|e| e.config.gen_iters == 20)
        .unwrap()
        .hash
        .clone();
    let out = sweep_slurm(&g, &res, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let job = job_id(&out);
    let store = Store::new(&res).unwrap();
    let task = sweep_record::read(&store.root, "slurm-kill").unwrap().slurm[0]
        .tasks
        .iter()
        .position(|h| h == &long)
        .unwrap();
    // Cancel the long run's task once it has written a checkpoint.
    wait_for(
        "the long run's first checkpoint",
        Duration::from_secs(300),
        || harness_core::results::checkpoints::latest_step(&res.join(&long)).is_some(),
    );
    let cancelled = Command::new("scancel")
        .arg(format!("{job}_{task}"))
        .output()
        .unwrap();
    assert!(cancelled.status.success(), "{}", text(&cancelled));
    wait_for("the array to finish", Duration::from_secs(300), || {
        job_finished(&job)
    });
    let at_kill = harness_core::results::checkpoints::latest_step(&res.join(&long)).unwrap();
    assert!(
        at_kill < 20000,
        "the long run finished before it was cancelled"
    );
    assert_eq!(store.plan_status(&short), PlanStatus::Done);
    assert_eq!(store.plan_status(&long), PlanStatus::Partial);

    let st = harness().arg("status").arg(&res).output().unwrap();
    let s = String::from_utf8_lossy(&st.stdout);
    assert!(s.contains("done 1") && s.contains("interrupted 1"), "{s}");
    assert!(s.contains(&format!("{job}_{task}")), "{s}");
    assert!(s.contains("--retry-failed"), "{s}");

    let retry = sweep_slurm(&g, &res, &["--retry-failed"]);
    assert!(retry.status.success(), "{}", text(&retry));
    assert!(
        String::from_utf8_lossy(&retry.stdout).contains("with 1 tasks"),
        "{}",
        text(&retry)
    );
    let job2 = job_id(&retry);
    wait_for("the retry to finish", Duration::from_secs(300), || {
        job_finished(&job2)
    });
    assert_eq!(store.plan_status(&long), PlanStatus::Done);
    assert_eq!(store.record(&long).unwrap().attempts, 2);
    let rec = sweep_record::read(&store.root, "slurm-kill").unwrap();
    assert_eq!(rec.slurm.len(), 2);
    assert_eq!(rec.slurm[1].tasks, vec![long.clone()]);
    let log = std::fs::read_to_string(rec.slurm[1].log(0)).unwrap();
    assert!(
        log.contains("resumed_from: Some("),
        "the retry did not resume from a checkpoint: {log}"
    );

    let again = sweep_slurm(&g, &res, &[]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to submit"),
        "{}",
        text(&again)
    );
}

#[test]
fn sbatch_rejecting_the_script_shows_its_message_and_keeps_the_plan() {
    if !slurm_available("sbatch_rejecting_the_script") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (g, _) = grid(d.path(), SMALL);
    let res = d.path().join("results");
    let out = sweep_slurm(&g, &res, &["--partition", "no-such-partition"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sbatch rejected") && err.contains("invalid partition"),
        "{err}"
    );
    let store = Store::new(&res).unwrap();
    let rec = sweep_record::read(&store.root, "slurm-small").unwrap();
    assert!(
        rec.slurm.is_empty(),
        "a rejected array was recorded as a job"
    );
    let subs: Vec<_> = std::fs::read_dir(res.join("slurm/slurm-small"))
        .unwrap()
        .collect();
    assert_eq!(subs.len(), 1);
    let sub = subs[0].as_ref().unwrap().path();
    for f in ["job.sbatch", "plan.tsv", "configs/0.toml", "configs/3.toml"] {
        assert!(sub.join(f).exists(), "{f} not kept for a retry");
    }
}

/// Runs everywhere: without `sbatch` on PATH the launcher refuses and writes nothing.
#[test]
fn slurm_launcher_without_sbatch_is_a_clear_error_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (g, _) = grid(d.path(), SMALL);
    let res = d.path().join("results");
    let empty = d.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let out = harness()
        .args(["sweep", g.to_str().unwrap(), "--results"])
        .arg(&res)
        .args(["--launcher", "slurm"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`sbatch` is not on PATH"),
        "{}",
        text(&out)
    );
    assert!(!res.exists(), "something was written");
    // A local-only option with the SLURM launcher's flags is refused too.
    let out = harness()
        .args(["sweep", g.to_str().unwrap(), "--results"])
        .arg(&res)
        .arg("--retry-failed")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only with --launcher slurm"));
    assert!(!res.exists());
}
