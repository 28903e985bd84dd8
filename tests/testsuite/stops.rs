//! Hard stops (issue 17, item 3): a sweep's workers die with it, a SIGTERM/SIGINT stops runs at a
//! checkpoint that resumes byte-identically, and no temporary folder outlives a sweep.

use crate::support;

use std::path::Path;
use support::*;

/// Four toy runs that take a few seconds each on two busy cores.
const GRID: &str = "name = \"stops\"\n[base]\ndataset = \"8gaussians\"\ndim = 32\nbatch_size = 32\n\
                    gen_iters = 1500\nlog_every = 10\neval_every = 250\ncheckpoint_every = 100\n\
                    eval_samples = 200\n[[grid]]\nloss = [\"gan\", \"wgan-clip\"]\nseed = [1, 2]\n";

/// SIGTERM to a `--jobs 2` sweep: its workers checkpoint and exit, the sweep exits 143 saying
/// what was interrupted, `status` shows the runs interrupted (not running), and the next sweep
/// resumes them to the bytes of an uninterrupted sweep. No `harness-sweep-*` folder is left.
#[test]
fn sigterm_stops_a_sweep_and_its_workers_at_a_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let grid = write(d.path(), "grid.toml", GRID);
    let tmp = tmp_in(d.path());
    let reference = d.path().join("reference");
    sweep_ok(&grid, &reference, &tmp, &["--jobs", "2"]);

    let res = d.path().join("results");
    let child = sweep(&grid, &res, &tmp, &["--jobs", "2"]).spawn().unwrap();
    let workers = wait_for_workers(child.id() as i32, &res);
    assert_eq!(workers.len(), 2, "two workers in flight");
    signal(child.id() as i32, SIGTERM);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    assert!(err.contains("interrupted: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The workers were waited for: none is left.
    for w in &workers {
        assert!(!alive(*w), "worker {w} outlived its sweep");
    }
    assert_eq!(leftover_temp_folders(&tmp), Vec::<String>::new());
    let status = harness().arg("status").arg(&res).output().unwrap();
    let st = text(&status.stdout);
    assert!(
        st.contains("interrupted 2") || st.contains("interrupted 1"),
        "{st}"
    );
    assert!(st.contains("running 0"), "{st}");

    let out = sweep_ok(&grid, &res, &tmp, &["--jobs", "2"]);
    assert!(
        text(&out.stdout).contains("resumed"),
        "{}",
        text(&out.stdout)
    );
    assert_same_runs(&reference, &res);
    assert_eq!(leftover_temp_folders(&tmp), Vec::<String>::new());
}

/// SIGKILL to a `--jobs 2` sweep: its workers get the parent-death signal (SIGHUP, several
/// times), checkpoint and exit; `status` then shows their runs interrupted; the next sweep
/// removes the leaked config folder, trains them, and the results equal an uninterrupted
/// sweep's.
#[test]
fn sigkill_to_a_sweep_takes_its_workers_down_and_the_next_sweep_finishes() {
    let d = tempfile::tempdir().unwrap();
    let grid = write(d.path(), "grid.toml", GRID);
    let tmp = tmp_in(d.path());
    let res = d.path().join("results");
    let mut child = sweep(&grid, &res, &tmp, &["--jobs", "2"]).spawn().unwrap();
    let workers = wait_for_workers(child.id() as i32, &res);
    assert_eq!(workers.len(), 2, "two workers in flight");
    both_training(&res);
    signal(child.id() as i32, SIGKILL);
    child.wait().unwrap();
    for w in &workers {
        assert!(
            wait_until(60, || !alive(*w)),
            "worker {w} outlived its SIGKILLed sweep"
        );
    }
    // Each checkpointed the step it was on: the kernel's repeated parent-death signal (one per
    // thread of the dead sweep) did not end it first.
    let logs: Vec<String> = run_folders(&res)
        .iter()
        .filter_map(|h| std::fs::read_to_string(res.join(h).join("worker.log")).ok())
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    for log in &logs {
        assert!(log.contains("stopped by SIGHUP after step"), "{log}");
    }
    assert_eq!(
        leftover_temp_folders(&tmp).len(),
        1,
        "the killed sweep's folder"
    );
    let status = harness().arg("status").arg(&res).output().unwrap();
    let st = text(&status.stdout);
    assert!(st.contains("running 0"), "{st}");
    assert!(!st.contains("interrupted 0"), "{st}");

    let out = sweep(&grid, &res, &tmp, &["--jobs", "2"]).output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("left by a sweep"), "{err}");
    assert_eq!(leftover_temp_folders(&tmp), Vec::<String>::new());
    let reference = d.path().join("reference");
    sweep_ok(&grid, &reference, &tmp, &["--jobs", "2"]);
    assert_same_runs(&reference, &res);
}

/// `signal` to a `--jobs 2` sweep and, without waiting for it, the same sweep again: the new
/// sweep finds the runs' locks still held by workers saving their last checkpoint (they mark
/// them `stopping`), waits for them and resumes those runs instead of skipping them as running
/// elsewhere (it used to skip them for about half a second after the stop). Every run ends
/// with the bytes of an uninterrupted sweep.
fn sweep_again_right_after(signal_sent: i32) {
    let d = tempfile::tempdir().unwrap();
    let grid = write(d.path(), "grid.toml", GRID);
    let tmp = tmp_in(d.path());
    let reference = d.path().join("reference");
    sweep_ok(&grid, &reference, &tmp, &["--jobs", "2"]);

    let res = d.path().join("results");
    let first = sweep(&grid, &res, &tmp, &["--jobs", "2"]).spawn().unwrap();
    let workers = wait_for_workers(first.id() as i32, &res);
    assert_eq!(workers.len(), 2, "two workers in flight");
    both_training(&res);
    signal(first.id() as i32, signal_sent);
    let second = sweep(&grid, &res, &tmp, &["--jobs", "2"]).spawn().unwrap();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    let (out, err) = (text(&second.stdout), text(&second.stderr));
    assert!(second.status.success(), "{out}{err}");
    // Both workers checkpointed the step they were on, and the new sweep resumed both.
    assert!(
        out.contains(
            "4 trained (2 resumed), 0 already done, 0 diverged, 0 failed, 0 running elsewhere"
        ),
        "{out}{err}"
    );
    if signal_sent == SIGTERM {
        let first_err = text(&first.stderr);
        assert_eq!(first.status.code(), Some(143), "{first_err}");
        assert_eq!(
            first_err.matches("  interrupted: ").count(),
            2,
            "{first_err}"
        );
    }
    assert_same_runs(&reference, &res);
    assert_eq!(leftover_temp_folders(&tmp), Vec::<String>::new());
}

#[test]
fn a_sweep_started_right_after_sigterm_to_another_resumes_its_runs() {
    sweep_again_right_after(SIGTERM);
}

/// After a SIGKILL the workers get SIGTERM from the kernel and stop as above (the new sweep
/// also removes the killed sweep's config folder).
#[test]
fn a_sweep_started_right_after_sigkill_to_another_resumes_its_runs() {
    sweep_again_right_after(SIGKILL);
}

/// `status` and the next sweep agree on a run whose lock is held. Held by a process that has
/// been asked to stop (here the test, holding it with a stop requested): `status` counts the
/// run interrupted and says the next sweep resumes it, `--dry-run` shows it partial, and a
/// sweep waits for the lock and resumes the run. Held without a stop: `status` says running,
/// and a sweep skips it as running elsewhere.
#[test]
fn status_and_the_next_sweep_agree_on_a_held_lock() {
    use harness_core::results::store::{Holder, RunLock};
    let d = tempfile::tempdir().unwrap();
    let one = GRID
        .replace("seed = [1, 2]", "seed = [4]")
        .replace("\"gan\", ", "");
    let grid = write(d.path(), "grid.toml", &one);
    let tmp = tmp_in(d.path());
    let res = d.path().join("results");
    let child = sweep(&grid, &res, &tmp, &[]).spawn().unwrap();
    assert!(wait_until(120, || has_checkpoint(&res)), "no checkpoint");
    signal(child.id() as i32, SIGINT);
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(130));
    let dir = res.join(run_folders(&res).pop().unwrap());
    let status = || text(&harness().arg("status").arg(&res).output().unwrap().stdout);

    let lock = RunLock::try_acquire(&dir).unwrap().expect("a free lock");
    let st = status();
    assert!(st.contains("running 1"), "{st}");
    let out = text(&sweep_ok(&grid, &res, &tmp, &[]).stdout);
    assert!(out.contains("0 trained (0 resumed)"), "{out}");
    assert!(out.contains("1 running elsewhere"), "{out}");

    let stop = harness_core::stop::StopFlag::default();
    stop.request(SIGTERM);
    let mark = lock.mark_when_stopped(&stop);
    let stopping = || matches!(RunLock::holder(&dir), Holder::Stopping(_));
    assert!(wait_until(10, stopping), "the lock was not marked");
    let st = status();
    assert!(
        st.contains("interrupted 1") && st.contains("running 0"),
        "{st}"
    );
    assert!(
        st.contains("the next sweep waits for it and resumes"),
        "{st}"
    );
    let dry = text(&sweep_ok(&grid, &res, &tmp, &["--dry-run"]).stdout);
    assert!(dry.contains("partial"), "{dry}");
    // The sweep waits for the lock, which the test lets go of a second later.
    let next = sweep(&grid, &res, &tmp, &[]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(mark);
    drop(lock);
    let out = next.wait_with_output().unwrap();
    let (o, e) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{o}{e}");
    assert!(
        o.contains("1 trained (1 resumed)") && o.contains("0 running elsewhere"),
        "{o}"
    );
    assert!(status().contains("done 1"), "{}", status());
}

/// SIGINT to a run in this process (`--jobs 1`): the run checkpoints the step it finished,
/// exits 130, and resumes to the uninterrupted bytes; a standalone `harness run` does the same
/// with SIGTERM (143).
#[test]
fn sigint_to_an_in_process_sweep_and_sigterm_to_a_run_checkpoint_and_resume() {
    let d = tempfile::tempdir().unwrap();
    let one = GRID
        .replace("seed = [1, 2]", "seed = [3]")
        .replace("\"gan\", ", "");
    let grid = write(d.path(), "grid.toml", &one);
    let tmp = tmp_in(d.path());
    let reference = d.path().join("reference");
    sweep_ok(&grid, &reference, &tmp, &[]);

    let res = d.path().join("results");
    let child = sweep(&grid, &res, &tmp, &[]).spawn().unwrap();
    assert!(wait_until(120, || has_checkpoint(&res)), "no checkpoint");
    signal(child.id() as i32, SIGINT);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("stopped by SIGINT"), "{err}");
    sweep_ok(&grid, &res, &tmp, &[]);
    assert_same_runs(&reference, &res);

    // `harness run` of the same config into a fresh tree, stopped by SIGTERM.
    let runs = d.path().join("runs");
    let cfg = std::fs::read_dir(&reference)
        .unwrap()
        .map(|e| e.unwrap().path().join("config.toml"))
        .find(|p| p.exists())
        .unwrap();
    let run = || {
        let mut c = harness();
        c.args(["run", "--config"])
            .arg(&cfg)
            .arg("--results")
            .arg(&runs)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    let child = run().spawn().unwrap();
    assert!(wait_until(120, || has_checkpoint(&runs)), "no checkpoint");
    signal(child.id() as i32, SIGTERM);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("stopped by SIGTERM after step"), "{err}");
    let out = run().output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_same_runs(&reference, &runs);
}

/// A sweep whose reader went away (`| head`, a closed pipe) neither panics nor loses its runs;
/// the read-only commands stop quietly.
#[test]
fn closed_pipes_panic_nowhere() {
    let d = tempfile::tempdir().unwrap();
    let grid = write(
        d.path(),
        "grid.toml",
        &GRID.replace("gen_iters = 1500", "gen_iters = 20"),
    );
    let tmp = tmp_in(d.path());
    let res = d.path().join("results");
    for (args, jobs) in [
        (vec!["--dry-run"], "1"),
        (vec![], "1"),
        (vec![], "2"),
        (vec![], "2"),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let (ereader, ewriter) = std::io::pipe().unwrap();
        drop(ereader);
        let out = sweep(&grid, &res, &tmp, &[&["--jobs", jobs][..], &args].concat())
            .stdout(writer)
            .stderr(ewriter)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "sweep {args:?} --jobs {jobs}");
    }
    let out = sweep(&grid, &res, &tmp, &[]).output().unwrap();
    assert!(text(&out.stdout).contains("nothing to train"), "{out:?}");
    for cmd in ["ls", "status", "report"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = harness()
            .arg(cmd)
            .arg(&res)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{cmd}: {err}");
        assert!(
            matches!(out.status.code(), Some(0 | 2)) || out.status.code().is_none(),
            "{cmd}: {:?}",
            out.status
        );
    }
}

/// One toy run whose last step's evaluation takes over 10 s in release on two cores (a million
/// evaluation samples: 128 sorts of them for the sliced Wasserstein distance) while its steps take
/// milliseconds; checkpointed every step.
const LONG_EVAL: &str = "name = \"long-eval\"\n[base]\ndataset = \"8gaussians\"\ndim = 32\n\
                         batch_size = 32\nloss = \"gan\"\ngen_iters = 4\nlog_every = 1\n\
                         eval_every = 4\ncheckpoint_every = 1\neval_samples = 1000000\nseed = 5\n";

/// SIGTERM during an evaluation: the run abandons it within seconds (it used to finish it
/// first), writes nothing of it, exits 143 at its last checkpoint (the step before), and the
/// resume redoes the evaluation to the bytes of an uninterrupted run.
#[test]
fn sigterm_during_an_evaluation_stops_within_seconds_and_resumes_to_the_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let grid = write(d.path(), "grid.toml", LONG_EVAL);
    let tmp = tmp_in(d.path());
    let reference = d.path().join("reference");
    let t = std::time::Instant::now();
    sweep_ok(&grid, &reference, &tmp, &[]);
    let uninterrupted = t.elapsed();
    let hash = run_folders(&reference).pop().unwrap();
    let cfg = reference.join(&hash).join("config.toml");
    let runs = d.path().join("runs");
    let run = || {
        let mut c = harness();
        c.args(["run", "--config"])
            .arg(&cfg)
            .arg("--results")
            .arg(&runs)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    let dir = runs.join(&hash);
    let child = run().spawn().unwrap();
    let step = || harness_core::results::checkpoints::latest_step(&dir);
    assert!(
        wait_until(60, || step() == Some(3)),
        "no checkpoint at step 3"
    );
    // Step 4 trains in milliseconds; its evaluation then runs for over 10 s.
    std::thread::sleep(std::time::Duration::from_secs(2));
    signal(child.id() as i32, SIGTERM);
    let sent = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let latency = sent.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("stopped by SIGTERM after step 3"), "{err}");
    assert!(
        latency.as_secs_f64() < 5.0,
        "took {latency:?} to stop (an uninterrupted run took {uninterrupted:?})"
    );
    assert_eq!(step(), Some(3), "the checkpoint stays at step 3");
    assert!(
        !dir.join("samples/step_00000004.csv").exists(),
        "the abandoned evaluation wrote"
    );

    let out = run().output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_same_runs(&reference, &runs);
}

/// Wait until both runs in flight under `res` have checkpointed, so that both workers are
/// past their start (a signal before a worker's handler is installed ends it outright).
fn both_training(res: &Path) {
    assert!(
        wait_until(120, || count_checkpoints(res) >= 2),
        "the second run never checkpointed"
    );
}

fn has_checkpoint(res: &Path) -> bool {
    count_checkpoints(res) >= 1
}
