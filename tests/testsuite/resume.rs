//! Resuming trusts nothing on disk it has not checked (issue 17, items 4 and 5): a partial run
//! whose logs or checkpoint were damaged either resumes to exactly the CSVs of an uninterrupted
//! run, or is refused with exit 2, naming the file and the fix (`--restart`), and writing
//! nothing; `--restart` moves the run's files aside and trains it from step 0.

use crate::support::harness;
use harness_core::config::RunConfig;
use harness_core::results::store::Store;
use harness_engine::run::{RunOptions, RunResult, execute};
use std::path::{Path, PathBuf};
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// 12 steps, a log row every 3 (and at each evaluation), an evaluation every 4, a checkpoint
/// every 4.
const GRID: &str = "name = \"resume\"\n[base]\ndataset = \"8gaussians\"\ndim = 8\nbatch_size = 16\n\
                    gen_iters = 12\nlog_every = 3\neval_every = 4\ncheckpoint_every = 4\n\
                    eval_samples = 100\n";

fn plan(dir: &Path) -> (PathBuf, RunConfig, String) {
    let grid = dir.join("grid.toml");
    std::fs::write(&grid, GRID).unwrap();
    let p = harness_core::grid::parse_plan(&grid, GRID, None).unwrap();
    let e = &p.entries[0];
    (grid, e.config.clone(), e.hash.clone())
}

/// Train `cfg` in `results`, stopping before step `stop_at` (after the checkpoint at 8 when
/// `stop_at` is 10), or to the end.
fn train(results: &Path, cfg: &RunConfig, stop_at: Option<u32>) -> RunResult {
    let store = Store::new(results).unwrap();
    let opts = RunOptions {
        stop_at,
        ..Default::default()
    };
    execute(&store, cfg, &opts, |_, _| {}).unwrap()
}

/// Every CSV of a run folder but `timing.csv`, relative path -> bytes, with `eval.csv`'s
/// `wall_s` column (the wall clock) left out.
fn csvs(run: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(run)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "csv")
                && !p.ends_with("timing.csv")
                && !p.strip_prefix(run).unwrap().starts_with("discarded")
        })
        .map(|p| {
            let mut bytes = std::fs::read(&p).unwrap();
            if p.ends_with("eval.csv") {
                let text = String::from_utf8(bytes).unwrap();
                bytes = text
                    .lines()
                    .map(|l| {
                        let mut cells: Vec<&str> = l.split(',').collect();
                        cells.remove(1);
                        cells.join(",") + "\n"
                    })
                    .collect::<String>()
                    .into_bytes();
            }
            (p.strip_prefix(run).unwrap().to_path_buf(), bytes)
        })
        .collect();
    out.sort();
    out
}

/// The files of `got` missing from, extra to, or different from `want`.
fn differing(got: &[(PathBuf, Vec<u8>)], want: &[(PathBuf, Vec<u8>)]) -> Vec<PathBuf> {
    let mut names: Vec<&PathBuf> = got.iter().chain(want).map(|f| &f.0).collect();
    names.sort();
    names.dedup();
    let find =
        |v: &[(PathBuf, Vec<u8>)], n: &PathBuf| v.iter().find(|f| &f.0 == n).map(|f| f.1.clone());
    names
        .into_iter()
        .filter(|n| find(got, n) != find(want, n))
        .cloned()
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn drop_last_line(p: &Path) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    std::fs::write(p, lines.join("\n") + "\n").unwrap();
}

fn state(run: &Path) -> PathBuf {
    run.join("checkpoints/step-00000008/state.json")
}

fn edit_state(run: &Path, f: impl Fn(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state(run)).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(state(run), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// A checkpoint state as a release before log digests wrote it: no `logs`, and none of the
/// later seal, tensor digests or CPU.
fn older_release(v: &mut serde_json::Value) {
    let o = v.as_object_mut().unwrap();
    for key in ["logs", "seal", "tensors", "cpu"] {
        o.remove(key);
    }
}

/// One byte of the checkpoint's `file` flipped, in the middle.
fn flip_in_checkpoint(run: &Path, file: &str) {
    let p = run.join("checkpoints/step-00000008").join(file);
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2 + 3;
    bytes[mid] ^= 0x10;
    std::fs::write(&p, bytes).unwrap();
}

/// A change to a partial run folder, given the reference run folder.
type Change = Box<dyn Fn(&Path, &Path)>;
type Mutation = (&'static str, Option<&'static str>, Change);

/// (name, the file a refusal must name or `None` when the resume must succeed, the change to
/// the partial run folder given the reference run folder).
fn mutations() -> Vec<Mutation> {
    let m = |name, file, f: Change| (name, file, f);
    // The reference's rows beyond the checkpoint appended to each log: what a kill after the
    // logs' write and before the checkpoint's leaves.
    let copy_logs = |run: &Path, reference: &Path| {
        for f in [
            "metrics.csv",
            "timing.csv",
            "eval.csv",
            "layers.csv",
            "weights_hist.csv",
        ] {
            let theirs = std::fs::read_to_string(reference.join(f)).unwrap();
            let beyond: String = theirs
                .lines()
                .filter(|l| {
                    l.split(',')
                        .next()
                        .unwrap()
                        .parse::<u32>()
                        .is_ok_and(|s| s > 8)
                })
                .map(|l| format!("{l}\n"))
                .collect();
            assert!(!beyond.is_empty(), "{f}");
            let mut own = std::fs::read_to_string(run.join(f)).unwrap();
            own.push_str(&beyond);
            std::fs::write(run.join(f), own).unwrap();
        }
    };
    vec![
        m("untouched", None, Box::new(|_, _| {})),
        // A kill after the logs' write and before the checkpoint's: rows beyond it.
        m("rows beyond the checkpoint", None, Box::new(copy_logs)),
        m(
            "no digests (an earlier release's checkpoint), rows beyond",
            None,
            Box::new(move |run, reference| {
                copy_logs(run, reference);
                edit_state(run, older_release);
            }),
        ),
        m(
            "metrics.csv deleted",
            Some("metrics.csv"),
            Box::new(|run, _| std::fs::remove_file(run.join("metrics.csv")).unwrap()),
        ),
        m(
            "metrics.csv's last rows duplicated",
            Some("metrics.csv"),
            Box::new(|run, _| {
                let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len() - 2..].join("\n");
                std::fs::write(run.join("metrics.csv"), format!("{text}{tail}\n")).unwrap();
            }),
        ),
        m(
            "metrics.csv's last row removed",
            Some("metrics.csv"),
            Box::new(|run, _| drop_last_line(&run.join("metrics.csv"))),
        ),
        m(
            "metrics.csv's last row removed, no digests",
            Some("metrics.csv"),
            Box::new(|run, _| {
                drop_last_line(&run.join("metrics.csv"));
                edit_state(run, older_release);
            }),
        ),
        m(
            "a value in metrics.csv edited",
            Some("metrics.csv"),
            Box::new(|run, _| {
                let p = run.join("metrics.csv");
                let text = std::fs::read_to_string(&p).unwrap();
                let mut lines: Vec<String> = text.lines().map(String::from).collect();
                let cells: Vec<&str> = lines[2].split(',').collect();
                let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
                cells[1] = "0.5".into();
                lines[2] = cells.join(",");
                std::fs::write(&p, lines.join("\n") + "\n").unwrap();
            }),
        ),
        m(
            "garbage in metrics.csv",
            Some("metrics.csv"),
            Box::new(|run, _| {
                std::fs::write(run.join("metrics.csv"), "step,critic_loss\nabc,\u{1}\n").unwrap()
            }),
        ),
        m(
            "eval.csv truncated",
            Some("eval.csv"),
            Box::new(|run, _| drop_last_line(&run.join("eval.csv"))),
        ),
        m(
            "eval.csv deleted",
            Some("eval.csv"),
            Box::new(|run, _| std::fs::remove_file(run.join("eval.csv")).unwrap()),
        ),
        m(
            "layers.csv truncated",
            Some("layers.csv"),
            Box::new(|run, _| drop_last_line(&run.join("layers.csv"))),
        ),
        m(
            "weights_hist.csv truncated",
            Some("weights_hist.csv"),
            Box::new(|run, _| drop_last_line(&run.join("weights_hist.csv"))),
        ),
        m(
            "timing.csv truncated",
            Some("timing.csv"),
            Box::new(|run, _| drop_last_line(&run.join("timing.csv"))),
        ),
        m(
            "the checkpoint's step bumped",
            Some("state.json"),
            Box::new(|run, _| edit_state(run, |v| v["step"] = 12.into())),
        ),
        m(
            "the checkpoint's step bumped with its folder",
            Some("state.json"),
            Box::new(|run, _| {
                edit_state(run, |v| v["step"] = 12.into());
                let ck = run.join("checkpoints");
                std::fs::rename(ck.join("step-00000008"), ck.join("step-00000012")).unwrap();
                std::fs::write(ck.join("latest"), "step-00000012").unwrap();
            }),
        ),
        m(
            "garbage in state.json",
            Some("state.json"),
            Box::new(|run, _| std::fs::write(state(run), "{\"step\": [").unwrap()),
        ),
        m(
            "state.json not UTF-8",
            Some("state.json"),
            Box::new(|run, _| std::fs::write(state(run), [0xff, 0xfe, 0x00, 0x80]).unwrap()),
        ),
        m(
            "a corrupt generator tensor file",
            Some("generator.safetensors"),
            Box::new(|run, _| {
                let p = run.join("checkpoints/step-00000008/generator.safetensors");
                let mut bytes = std::fs::read(&p).unwrap();
                bytes.truncate(bytes.len() / 2);
                std::fs::write(&p, bytes).unwrap();
            }),
        ),
        m(
            "garbage in the critic's optimiser state",
            Some("c_optim.safetensors"),
            Box::new(|run, _| {
                let p = run.join("checkpoints/step-00000008/c_optim.safetensors");
                std::fs::write(&p, b"not a tensor file").unwrap();
            }),
        ),
        m(
            "the lock replaced by a directory",
            Some("lock"),
            Box::new(|run, _| {
                std::fs::remove_file(run.join("lock")).ok();
                std::fs::create_dir(run.join("lock")).unwrap();
            }),
        ),
        m(
            "a byte flipped in a sample the checkpoint recorded",
            Some("step_00000004.csv"),
            Box::new(|run, _| {
                let p = run.join("samples/step_00000004.csv");
                let mut bytes = std::fs::read(&p).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x01;
                std::fs::write(&p, bytes).unwrap();
            }),
        ),
        m(
            "garbage in run.json",
            Some("run.json"),
            Box::new(|run, _| std::fs::write(run.join("run.json"), b"{\"status\": 7").unwrap()),
        ),
        m(
            "a byte flipped in the generator's tensors",
            Some("generator.safetensors"),
            Box::new(|run, _| flip_in_checkpoint(run, "generator.safetensors")),
        ),
        m(
            "a byte flipped in the critic's tensors",
            Some("critic.safetensors"),
            Box::new(|run, _| flip_in_checkpoint(run, "critic.safetensors")),
        ),
        m(
            "a byte flipped in the generator's optimiser state",
            Some("g_optim.safetensors"),
            Box::new(|run, _| flip_in_checkpoint(run, "g_optim.safetensors")),
        ),
        m(
            "a byte flipped in the critic's optimiser state",
            Some("c_optim.safetensors"),
            Box::new(|run, _| flip_in_checkpoint(run, "c_optim.safetensors")),
        ),
        // The digest is wrong, not the log it names: the seal blames state.json.
        m(
            "a digit of a log digest in state.json changed",
            Some("state.json"),
            Box::new(|run, _| {
                let text = std::fs::read_to_string(state(run)).unwrap();
                let at = text.find("\"layers.csv\": \"").unwrap() + 15;
                let mut bytes = text.into_bytes();
                bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
                std::fs::write(state(run), bytes).unwrap();
            }),
        ),
    ]
}

/// Each mutation of a partial run (checkpoint at step 8 of 12): a resume that succeeds ends
/// with every CSV byte-identical to the uninterrupted run's; every damage it cannot repair is
/// refused with exit 2, naming the file and `--restart`, and leaves the folder as it was.
#[test]
fn a_resume_checks_the_logs_and_checkpoint_or_refuses_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let (_, cfg, hash) = plan(d.path());
    let reference = d.path().join("reference");
    assert!(matches!(
        train(&reference, &cfg, None),
        RunResult::Done { .. }
    ));
    let want = csvs(&reference.join(&hash));
    assert!(want.len() >= 5, "{want:?}");
    let partial = d.path().join("partial");
    assert_eq!(
        train(&partial, &cfg, Some(10)),
        RunResult::Stopped { step: 10 }
    );
    assert!(state(&partial.join(&hash)).exists());
    let config = d.path().join("config.toml");
    std::fs::write(&config, toml::to_string(&cfg.to_flat()).unwrap()).unwrap();

    let (mut differ, mut wrong) = (Vec::new(), Vec::new());
    for (i, (name, refused, mutate)) in mutations().into_iter().enumerate() {
        let results = d.path().join(format!("m{i}"));
        let run = results.join(&hash);
        copy_dir(&partial.join(&hash), &run);
        mutate(&run, &reference.join(&hash));
        let before = std::fs::read(run.join("run.json")).unwrap();
        let summary = std::fs::read(run.join("summary.json")).ok();
        // `harness verify` finds exactly what the resume refuses, and nothing else.
        let v = harness().arg("verify").arg(&results).output().unwrap();
        let found = String::from_utf8_lossy(&v.stdout).into_owned();
        let agrees = match refused {
            None => v.status.code() == Some(0),
            Some(file) => v.status.code() == Some(1) && found.lines().any(|l| l.contains(file)),
        };
        if !agrees {
            wrong.push(format!(
                "{name}: verify exit {:?}:\n{found}",
                v.status.code()
            ));
        }
        let out = harness()
            .args(["run", "--config"])
            .arg(&config)
            .arg("--results")
            .arg(&results)
            .output()
            .unwrap();
        let err = stderr(&out);
        match refused {
            None => {
                if out.status.code() != Some(0) {
                    wrong.push(format!("{name}: exit {:?}: {err}", out.status.code()));
                } else {
                    let d = differing(&csvs(&run), &want);
                    if !d.is_empty() {
                        differ.push(format!("{name}: {d:?}"));
                    }
                }
            }
            Some(file) => {
                let ok = out.status.code() == Some(2)
                    && err.contains(&*run.to_string_lossy())
                    && err.lines().any(|l| l.contains(file))
                    && err.contains(&format!("--restart {hash}"))
                    && std::fs::read(run.join("run.json")).unwrap() == before
                    && std::fs::read(run.join("summary.json")).ok() == summary;
                if !ok {
                    wrong.push(format!(
                        "{name}: exit {:?}, expected 2 naming {file} and --restart, \
                         run.json and summary.json unchanged:\n{err}",
                        out.status.code()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    assert_eq!(differ, Vec::<String>::new(), "resumed runs that differ");
}

/// A sweep over a run it cannot resume exits 2 and names the fix; `--restart PREFIX` moves the
/// run's files into `<run>/discarded/<time>/` (kept, not deleted) and trains it from step 0 to
/// the uninterrupted run's CSVs.
#[test]
fn restart_moves_a_broken_run_aside_and_trains_it_from_step_0() {
    let d = tempfile::tempdir().unwrap();
    let (grid, cfg, hash) = plan(d.path());
    let reference = d.path().join("reference");
    train(&reference, &cfg, None);
    let results = d.path().join("results");
    train(&results, &cfg, Some(10));
    let run = results.join(&hash);
    std::fs::remove_file(run.join("metrics.csv")).unwrap();
    let sweep = |extra: &[&str]| {
        harness()
            .arg("sweep")
            .arg(&grid)
            .arg("--results")
            .arg(&results)
            .arg("--no-progress")
            .args(extra)
            .output()
            .unwrap()
    };
    for jobs in ["1", "2"] {
        let out = sweep(&["--jobs", jobs]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "--jobs {jobs}: {err}");
        assert!(
            err.contains(&*run.join("metrics.csv").to_string_lossy()),
            "{err}"
        );
        assert!(err.contains("is missing"), "{err}");
        assert!(err.contains(&format!("--restart {hash}")), "{err}");
    }
    for bad in ["zzzz", ""] {
        let out = sweep(&["--restart", bad]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("--restart"), "{}", stderr(&out));
    }
    let out = sweep(&["--restart", &hash[..6], "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!run.join("discarded").exists());

    let out = sweep(&["--restart", &hash[..6], &hash]);
    let (text, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    let moved: Vec<PathBuf> = std::fs::read_dir(run.join("discarded"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(text.contains(&*moved[0].to_string_lossy()), "{text}");
    assert!(moved[0].join("checkpoints/latest").exists());
    assert!(moved[0].join("eval.csv").exists());
    let d = differing(&csvs(&run), &csvs(&reference.join(&hash)));
    assert!(d.is_empty(), "differ from the uninterrupted run: {d:?}");
    let rec = harness_core::results::record::read(&run).unwrap();
    assert_eq!(rec.attempts, 1, "a restart is a fresh run");
    // Nothing left to do: the discarded folder is not a run of its own.
    let out = harness().arg("ls").arg(&results).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

/// `harness run --restart` does the same for one configuration.
#[test]
fn run_restart_trains_from_step_0() {
    let d = tempfile::tempdir().unwrap();
    let (_, cfg, hash) = plan(d.path());
    let results = d.path().join("results");
    train(&results, &cfg, Some(10));
    let run = results.join(&hash);
    std::fs::write(state(&run), "garbage").unwrap();
    let config = d.path().join("config.toml");
    std::fs::write(&config, toml::to_string(&cfg.to_flat()).unwrap()).unwrap();
    let out = harness()
        .args(["run", "--restart", "--config"])
        .arg(&config)
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("discarded"), "{}", stderr(&out));
    let rec = harness_core::results::record::read(&run).unwrap();
    assert_eq!(rec.step, 12);
}

/// Integer keys given a non-integer, a negative number or a value past their bound say which
/// integers they accept (serde's "expected i64" did not; the resolver gave u32's range).
#[test]
fn integer_errors_state_the_valid_range() {
    let d = tempfile::tempdir().unwrap();
    for (setting, expect) in [
        (
            "batch_size = 1.5",
            "key `batch_size`: invalid type: floating point `1.5`, expected i64 (valid: an integer in 1..=65536) (in [base])",
        ),
        (
            "batch_size = 4294967296",
            "key `batch_size`: batch_size must be a positive integer, got 4294967296 (valid: 1..=65536)",
        ),
        (
            "log_every = 0",
            "log_every must be a positive integer, got 0 (valid: 1..=4294967295)",
        ),
        (
            "gen_iters = \"x\"",
            "key `gen_iters`: invalid type: string \"x\", expected i64 (valid: an integer in 1..=100000000)",
        ),
        (
            "seed = -1",
            "key `seed`: invalid value: integer `-1`, expected u64 (valid: an integer in 0..=18446744073709551615)",
        ),
        ("dim = -3", "expected u32 (valid: an integer in 1..=8192)"),
    ] {
        let grid = d.path().join("g.toml");
        std::fs::write(
            &grid,
            format!("[base]\ndataset = \"8gaussians\"\n{setting}\n"),
        )
        .unwrap();
        let out = harness()
            .arg("sweep")
            .arg(&grid)
            .arg("--results")
            .arg(d.path().join("results"))
            .arg("--dry-run")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{setting}");
        assert!(stderr(&out).contains(expect), "{setting}: {}", stderr(&out));
    }
}

/// A done run whose `config.toml` was damaged stays in `ls`, marked, with the file named on
/// stderr (it vanished from the table).
#[test]
fn ls_lists_a_run_whose_config_does_not_read() {
    let d = tempfile::tempdir().unwrap();
    let (_, cfg, hash) = plan(d.path());
    let results = d.path().join("results");
    train(&results, &cfg, None);
    let config = results.join(&hash).join("config.toml");
    std::fs::write(&config, [0xff, 0xfe, b'=', 0x80]).unwrap();
    let out = harness().arg("ls").arg(&results).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&hash))
        .unwrap_or_default();
    assert!(line.contains("unreadable config.toml"), "{text}");
    assert!(line.contains("12"), "the step of run.json: {line}");
    assert!(
        stderr(&out).contains(&*config.to_string_lossy()),
        "{}",
        stderr(&out)
    );
}

/// `report` warns about a `metrics.csv` that holds garbage, naming the file and the line
/// (it drew what it could and said nothing).
#[test]
fn report_warns_about_a_garbage_metrics_csv() {
    let d = tempfile::tempdir().unwrap();
    let (_, cfg, hash) = plan(d.path());
    let results = d.path().join("results");
    train(&results, &cfg, None);
    let metrics = results.join(&hash).join("metrics.csv");
    let mut text = std::fs::read_to_string(&metrics).unwrap();
    text.push_str("7,abc,0.1,0.2,wasserstein,,,,0.0001,0.0001\n\u{7}garbage\n");
    std::fs::write(&metrics, text).unwrap();
    let out = harness()
        .arg("report")
        .arg(&results)
        .arg("--out")
        .arg(d.path().join("report"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let want = format!(
        "{}: line 8: column `critic_loss` holds \"abc\", not a number (2 such rows)",
        metrics.display()
    );
    assert!(err.contains(&want), "expected `{want}` in:\n{err}");
}
