//! Integrity you can check (issue 22): a bit flip in any file a finished run keeps is found by
//! `harness verify` (exit 1, a line naming the file) and refused by the next sweep (exit 2,
//! naming the file and `--restart`), whose fix then works: `--restart HASH` trains the run
//! again to the uninterrupted bytes and `verify` is clean. Nothing is silently wrong.

use crate::support;

use std::path::{Path, PathBuf};
use support::{harness, sweep, text, tmp_in, write};

/// 12 steps on 8 Gaussians, logs every 3, evaluations and checkpoints every 4: seconds.
const GRID: &str = "name = \"integrity\"\nseeds = [1, 2]\n[base]\ndataset = \"8gaussians\"\n\
                    dim = 8\nbatch_size = 16\ngen_iters = 12\nlog_every = 3\neval_every = 4\n\
                    checkpoint_every = 4\neval_samples = 100\n";

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

/// Every file of the run folder `run` but its lock, relative, sorted.
fn files(run: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(run)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file() && e.file_name() != "lock")
        .map(|e| e.path().strip_prefix(run).unwrap().to_path_buf())
        .collect();
    out.sort();
    out
}

/// One bit of `path` flipped in its middle.
fn flip(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// `harness verify DIR`: (exit code, stdout).
fn verify(results: &Path) -> (Option<i32>, String) {
    let out = harness().arg("verify").arg(results).output().unwrap();
    (out.status.code(), text(&out.stdout))
}

/// A finished results tree (two seeds), the hash of seed 1's run, and the grid file.
fn finished(d: &Path) -> (PathBuf, String, PathBuf) {
    let grid = write(d, "grid.toml", GRID);
    let results = d.join("reference");
    let out = sweep(&grid, &results, &tmp_in(d), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let p = harness_core::grid::parse_plan(&grid, GRID, None).unwrap();
    (results, p.entries[0].hash.clone(), grid)
}

#[test]
fn a_bit_flip_in_any_file_of_a_finished_run_is_reported_and_refused_and_restart_repairs_it() {
    let d = tempfile::tempdir().unwrap();
    let (reference, hash, grid) = finished(d.path());
    let (code, out) = verify(&reference);
    assert_eq!((code, out.as_str()), (Some(0), ""), "a fresh tree is clean");
    let kept = files(&reference.join(&hash));
    for want in [
        "manifest.json",
        "run.json",
        "summary.json",
        "config.toml",
        "metrics.csv",
        "surface.csv",
        "export/generator.safetensors",
        "checkpoints/latest",
    ] {
        assert!(
            kept.iter().any(|f| f.ends_with(want)),
            "{want} not in {kept:?}"
        );
    }
    assert!(kept.iter().any(|f| f.starts_with("samples")), "{kept:?}");
    let mut wrong = Vec::new();
    for (i, file) in kept.iter().enumerate() {
        let results = d.path().join(format!("c{i}"));
        copy_dir(&reference, &results);
        let run = results.join(&hash);
        flip(&run.join(file));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (code, out) = verify(&results);
        if code != Some(1) || !out.lines().any(|l| l.contains(&name)) {
            wrong.push(format!(
                "{}: verify exit {code:?}, expected 1 naming it:\n{out}",
                file.display()
            ));
            continue;
        }
        let s = sweep(&grid, &results, &tmp_in(d.path()), &[])
            .output()
            .unwrap();
        let err = text(&s.stderr) + &text(&s.stdout);
        if s.status.code() != Some(2)
            || !err.contains(&name)
            || !err.contains(&format!("--restart {hash}"))
        {
            wrong.push(format!(
                "{}: sweep exit {:?}, expected 2 naming it:\n{err}",
                file.display(),
                s.status.code()
            ));
            continue;
        }
        let r = sweep(&grid, &results, &tmp_in(d.path()), &["--restart", &hash])
            .output()
            .unwrap();
        let (code, out) = verify(&results);
        let same = std::fs::read(run.join("metrics.csv")).unwrap()
            == std::fs::read(reference.join(&hash).join("metrics.csv")).unwrap();
        if r.status.code() != Some(0) || code != Some(0) || !same {
            wrong.push(format!(
                "{}: after --restart: sweep {:?}, verify {code:?} {out}, same metrics {same}",
                file.display(),
                r.status.code()
            ));
        }
    }
    eprintln!(
        "bit flips in {} files of a finished run: {kept:?}",
        kept.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {} files:\n{}",
        wrong.len(),
        kept.len(),
        wrong.join("\n\n")
    );
}

/// Damage that is not a bit flip: a partial run marked done by hand, a done run's
/// `config.toml` removed (listed by `ls`, not hidden), a sweep record that is not UTF-8.
#[test]
fn hand_edits_of_a_results_tree_are_reported_with_the_file_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let (reference, hash, grid) = finished(d.path());
    let results = d.path().join("edits");
    copy_dir(&reference, &results);
    let run = results.join(&hash);
    // A partial run marked done: its manifest and last rows are missing.
    std::fs::remove_file(run.join("manifest.json")).unwrap();
    let (code, out) = verify(&results);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("manifest.json: is missing") && out.contains(&format!("--restart {hash}")),
        "{out}"
    );
    // The report marks the run rather than plotting it as sound.
    let rep = harness()
        .arg("report")
        .arg(&results)
        .arg("--out")
        .arg(d.path().join("report"))
        .output()
        .unwrap();
    let err = text(&rep.stderr);
    assert!(
        err.contains("DAMAGED") && err.contains("manifest.json"),
        "{err}"
    );
    // Removed config.toml: ls lists the folder, verify names the file.
    std::fs::remove_file(run.join("config.toml")).unwrap();
    let ls = harness().arg("ls").arg(&results).output().unwrap();
    assert!(text(&ls.stdout).contains(&hash), "{}", text(&ls.stdout));
    let (_, out) = verify(&results);
    assert!(out.contains("config.toml: is missing"), "{out}");
    // A sweep record that is not UTF-8: verify names it and the fix; the sweep exits 2.
    let rec = results.join("sweeps/integrity.json");
    std::fs::write(&rec, [0xff, 0xfe, 0x00]).unwrap();
    let (code, out) = verify(&results);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("integrity.json") && out.contains("move it aside"),
        "{out}"
    );
    let s = sweep(&grid, &results, &tmp_in(d.path()), &[])
        .output()
        .unwrap();
    assert_eq!(s.status.code(), Some(2), "{}", text(&s.stderr));
    assert!(
        text(&s.stderr).contains("integrity.json"),
        "{}",
        text(&s.stderr)
    );
    // Verify wrote nothing.
    assert_eq!(std::fs::read(&rec).unwrap(), vec![0xff, 0xfe, 0x00]);
}

/// A run resumed on another CPU records both; seeds of one configuration that ran on
/// different CPUs are flagged by `verify` (a note: not damage).
#[test]
fn seeds_run_on_different_cpus_are_flagged() {
    let d = tempfile::tempdir().unwrap();
    let (reference, hash, _) = finished(d.path());
    let rec = reference.join(&hash).join("run.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    let cpus = v["cpus"].as_array().unwrap().clone();
    assert_eq!(cpus.len(), 1, "{v}");
    assert!(!v["cpu"].as_str().unwrap().is_empty() && !v["kernels"].as_str().unwrap().is_empty());
    v["cpus"] = serde_json::json!(["Other CPU [sse2]"]);
    std::fs::write(&rec, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let out = harness().arg("verify").arg(&reference).output().unwrap();
    assert!(
        text(&out.stderr).contains("ran on different CPUs"),
        "{}",
        text(&out.stderr)
    );
}

/// `verify` reads every kept file of every run: over 100 runs of 10,000 logged steps it must
/// stay a matter of seconds (the bound; measured also in `harness bench`).
#[test]
fn verify_of_a_100_run_tree_takes_seconds() {
    let d = tempfile::tempdir().unwrap();
    harness_report::synthetic_results(d.path(), 100, 10_000).unwrap();
    let secs = gan_harness::bench::time_verify(d.path()).unwrap();
    eprintln!("verify over 100 runs x 10,000 steps: {secs:.2} s");
    assert!(secs < 20.0, "{secs} s");
}

/// A results path under a file (`<file>/sub`) is bad input (exit 2, naming the file) for every
/// command that takes one, `eval` and `verify` included.
#[test]
fn a_results_path_under_a_file_is_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let file = write(d.path(), "file", "not a folder");
    let sub = file.join("sub");
    for args in [
        vec!["verify".into(), sub.clone()],
        vec!["ls".into(), sub.clone()],
        vec!["eval".into(), "abc".into(), "--results".into(), sub.clone()],
    ] {
        let out = harness().args(&args).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&*file.to_string_lossy()), "{args:?}: {err}");
    }
}

/// A tree finished by a release before manifests stays usable: `verify` notes each run as
/// predating manifests and exits 0.
#[test]
fn a_tree_from_before_manifests_verifies_with_notes() {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/before_axes/results");
    let out = harness().arg("verify").arg(&tree).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}{err}", text(&out.stdout));
    assert_eq!(err.matches("predates manifests").count(), 3, "{err}");
}

/// `status` agrees with the next sweep: an interrupted run whose checkpoint is damaged is not
/// promised a resume, and the sweep then refuses it (exit 2) naming the same file.
#[test]
fn status_agrees_with_the_sweep_about_a_damaged_interrupted_run() {
    let d = tempfile::tempdir().unwrap();
    let (reference, hash, grid) = finished(d.path());
    let run = reference.join(&hash);
    // Back to interrupted at step 8: the run as a kill after that checkpoint leaves it.
    let mut rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    rec["status"] = "running".into();
    std::fs::write(run.join("run.json"), serde_json::to_vec(&rec).unwrap()).unwrap();
    let ck = run.join("checkpoints");
    let latest = std::fs::read_to_string(ck.join("latest")).unwrap();
    flip(&ck.join(latest.trim()).join("critic.safetensors"));
    let st = harness().arg("status").arg(&reference).output().unwrap();
    let said = text(&st.stdout) + &text(&st.stderr);
    assert!(
        said.contains("the next sweep refuses it") && said.contains("critic.safetensors"),
        "{said}"
    );
    assert!(!said.contains("resumes from its last checkpoint"), "{said}");
    let s = sweep(&grid, &reference, &tmp_in(d.path()), &[])
        .output()
        .unwrap();
    assert_eq!(s.status.code(), Some(2), "{}", text(&s.stderr));
    assert!(
        text(&s.stderr).contains("critic.safetensors"),
        "{}",
        text(&s.stderr)
    );
}
