//! Hostile input (issue 17): what a grid file, a data file or a results tree can hold that
//! must end in exit 0 or 2 with a clear message, never a crash, a hang or a silent wrong result.

use crate::common;
use crate::support::harness;

use std::path::{Path, PathBuf};
use std::process::Output;

fn write_grid(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("grid.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every path under `dir`.
fn tree(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect()
}

/// `harness sweep GRID --results DIR EXTRA...` on a results folder holding one user file;
/// returns the output and checks that nothing else was written.
fn sweep_writing_nothing(grid: &str, extra: &[&str]) -> Output {
    let d = tempfile::tempdir().unwrap();
    let g = write_grid(d.path(), grid);
    let res = d.path().join("results");
    std::fs::create_dir_all(res.join("keep")).unwrap();
    std::fs::write(res.join("keep/marker"), "user data").unwrap();
    let out = harness()
        .args(["sweep", g.to_str().unwrap(), "--results"])
        .arg(&res)
        .arg("--no-progress")
        .args(extra)
        .output()
        .unwrap();
    let files = tree(&res);
    assert_eq!(files.len(), 3, "something was written: {files:?}");
    out
}

/// Exit 2 with `expect` in the message, nothing written.
fn rejects(grid: &str, extra: &[&str], expect: &str) {
    let out = sweep_writing_nothing(grid, extra);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "exit code for {grid}: {err}");
    assert!(err.contains(expect), "expected `{expect}` in:\n{err}");
}

/// 16 axes of 16 values: 2^64 points, which a wrapping product counted as 0 (the sweep then
/// said "all 0 configurations are already done" and exited 0).
fn huge_grid() -> String {
    let mut text = String::from("[[grid]]\n");
    for k in [
        "batch_size",
        "gen_iters",
        "n_critic",
        "log_every",
        "eval_every",
        "checkpoint_every",
        "eval_samples",
        "z_dim",
        "dim",
        "depth",
    ] {
        let v: Vec<String> = (1..=16).map(|i| i.to_string()).collect();
        text += &format!("{k} = [{}]\n", v.join(", "));
    }
    for k in ["g_lr", "c_lr", "g_beta1", "c_beta1", "g_beta2", "c_beta2"] {
        let v: Vec<String> = (1..=16).map(|i| format!("0.{i:02}")).collect();
        text += &format!("{k} = [{}]\n", v.join(", "));
    }
    text
}

#[test]
fn a_grid_too_large_to_count_is_refused_by_dry_run_and_sweep() {
    for extra in [&["--dry-run"][..], &["--dry-run", "--yes"], &[], &["--yes"]] {
        rejects(
            &huge_grid(),
            extra,
            "grid.toml:1:3: the grid expands to more than 2^64 runs (batch_size 16 x c_beta1 16",
        );
    }
}

/// `-0.0` and `0.0` are one setting: one configuration, trained once, with 0.0's hash.
#[test]
fn negative_zero_hashes_as_zero() {
    let p = harness_core::grid::parse_plan(
        Path::new("g.toml"),
        "[[grid]]\ng_beta1 = [0.0, -0.0]\nc_beta1 = [-0.0]\n",
        None,
    )
    .unwrap();
    assert_eq!(p.entries.len(), 1, "{:?}", p.duplicates);
    assert_eq!(p.duplicates, vec![(p.entries[0].hash.clone(), 2)]);
    let zero = harness_core::grid::parse_plan(
        Path::new("g.toml"),
        "[base]\ng_beta1 = 0.0\nc_beta1 = 0.0\n",
        None,
    )
    .unwrap();
    assert_eq!(p.entries[0].hash, zero.entries[0].hash);
}

/// What used to pass `--dry-run` and fail only when the run started (leaving a failed folder)
/// or when `results/sweeps/` was already created is refused while planning.
#[test]
fn settings_that_cannot_run_are_refused_before_anything_is_written() {
    if !cfg!(feature = "cuda") {
        for extra in [&["--dry-run"][..], &[]] {
            rejects(
                "[base]\nbackend = \"cuda\"\n",
                extra,
                "grid.toml:2:1: key `backend`: backend \"cuda\" is not compiled into this binary (valid here: flex, ndarray",
            );
            rejects(
                "[base]\ndim = 8\n",
                &[&["--backend", "cuda"][..], extra].concat(),
                "--backend: backend \"cuda\" is not compiled into this binary",
            );
        }
    }
    let long = "x".repeat(5000);
    for (grid, expect) in [
        (
            format!("name = \"{long}\"\n"),
            "grid.toml:1:1: key `name`: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" has 5000 characters; at most 100",
        ),
        (
            "name = \"..\"\n".into(),
            "grid.toml:1:1: key `name`: \"..\" may not start with '.'",
        ),
        (
            "description = \"d\"\nname = \"a/b\"\n".into(),
            "grid.toml:2:1: key `name`: \"a/b\" may only contain letters",
        ),
        ("name = \"\"\n".into(), "key `name`: \"\" is empty"),
    ] {
        for extra in [&["--dry-run"][..], &[], &["--launcher", "slurm"]] {
            rejects(&grid, extra, expect);
        }
    }
}

/// A grid file without `name` is named after its file; a bad file name says so, not "key `name`".
#[test]
fn a_bad_file_name_is_reported_as_the_file_name() {
    let e = harness_core::grid::parse_plan(Path::new("my grid.toml"), "[base]\ndim = 8\n", None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "my grid.toml:1:1: the grid file's name (the sweep's name when the file sets no `name`): \"my grid\" may only contain"
        ),
        "{e}"
    );
    assert!(e.ends_with("set `name = \"...\"` in the file"), "{e}");
}

/// Sizes that cannot fit are refused up front, naming the key and its valid range (they used
/// to abort the run on a failed allocation, again on every rerun).
#[test]
fn sizes_that_cannot_fit_are_refused_naming_the_key() {
    for (grid, expect) in [
        (
            "[[grid]]\ndim = [200000, 32]\n",
            "grid.toml:2:1: key `dim`: dim = 200000 is too large: it must be in 1..=8192",
        ),
        (
            "[base]\nz_dim = 100000\n",
            "grid.toml:2:1: key `z_dim`: z_dim = 100000 is too large: it must be in 1..=4096",
        ),
        (
            "[base]\ndepth = 1000\n",
            "key `depth`: depth = 1000 is too large: it must be in 1..=64",
        ),
        (
            "[base]\nbatch_size = 4294967295\n",
            "key `batch_size`: batch_size = 4294967295 is too large: it must be in 1..=65536",
        ),
        (
            "[base]\neval_samples = 4294967295\n",
            "key `eval_samples`: eval_samples = 4294967295 is too large: it must be in 1..=1000000",
        ),
        (
            "[base]\neval_samples = 4294967296\n",
            "eval_samples must be a positive integer, got 4294967296 (valid: 1..=1000000)",
        ),
        (
            "[base]\ndataset = \"mnist\"\ng_hidden = [100000]\n",
            "key `g_hidden`: g_hidden = 100000 is too large: each width must be in 1..=65536",
        ),
    ] {
        for extra in [&["--dry-run"][..], &[]] {
            rejects(grid, extra, expect);
        }
    }
    // In bounds, but more than any machine this runs on has: refused unless overridden.
    let big = "[base]\ndataset = \"mnist\"\nmodel = \"dcgan\"\ndim = 8192\nbatch_size = 65536\n";
    rejects(big, &["--dry-run"], "needs an estimated");
    rejects(
        big,
        &[],
        "reduce `batch_size` or `dim`, or pass --ignore-memory-estimate",
    );
    let out = sweep_writing_nothing(big, &["--dry-run", "--ignore-memory-estimate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A data directory holding the four MNIST files, with `stem` replaced by `make(path)`.
fn mnist_with(dir: &Path, stem: &str, make: impl Fn(&Path)) -> PathBuf {
    let src = common::mnist_dir();
    let data = dir.join("mnist");
    std::fs::create_dir_all(&data).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(stem) {
            std::fs::copy(e.path(), data.join(&name)).unwrap();
        }
    }
    make(&data.join(stem));
    data
}

/// Writes a hostile file at the path given.
type MakeFile = dyn Fn(&Path);

/// Wrong, empty or endless data files are bad input: exit 2 with the fetch hint from `sweep`
/// and `run` alike, nothing written, no hang, no unbounded read.
#[test]
fn bad_mnist_files_are_bad_input_with_the_fetch_hint() {
    let grid = "[base]\ndataset = \"mnist\"\ngen_iters = 2\n";
    let labels = "train-labels-idx1-ubyte";
    let cases: Vec<(&str, Box<MakeFile>, &str)> = vec![
        (
            labels,
            Box::new(|p| std::fs::write(p, b"garbage!garbage!").unwrap()),
            "magic number",
        ),
        (
            labels,
            Box::new(|p| std::fs::write(p, b"").unwrap()),
            "0 bytes",
        ),
        (
            "train-images-idx3-ubyte",
            Box::new(|p| {
                // A labels file (magic 2049) of 10 labels saved under the images' name.
                let mut b = vec![0, 0, 8, 1, 0, 0, 0, 10];
                b.extend([1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
                std::fs::write(p, b).unwrap()
            }),
            "magic number",
        ),
        (
            labels,
            Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
            "not a regular file",
        ),
        (
            labels,
            Box::new(|p| {
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc_mkfifo(c.as_ptr(), 0o644) }, 0);
            }),
            "not a regular file",
        ),
    ];
    for (stem, make, expect) in cases {
        let d = tempfile::tempdir().unwrap();
        let data = mnist_with(d.path(), stem, make);
        let data = data.to_str().unwrap();
        for cmd in ["sweep", "run"] {
            let g = write_grid(d.path(), grid);
            let res = d.path().join("results");
            let mut c = harness();
            c.arg(cmd);
            if cmd == "sweep" {
                c.arg(&g).arg("--no-progress");
            } else {
                c.arg("--grid").arg(&g).args(["--index", "0"]);
            }
            let out = c
                .arg("--results")
                .arg(&res)
                .args(["--data-dir", data])
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd} {stem} {expect}: {err}");
            assert!(err.contains(expect), "{cmd}: {err}");
            assert!(err.contains("harness data mnist"), "{cmd}: {err}");
            assert!(!res.exists(), "{cmd} wrote {:?}", tree(&res));
        }
    }
}

unsafe extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}

/// `run.json`'s step follows the checkpoints while the run trains (it was written only at the
/// start and the end: `status` said "running step 0" mid-run).
#[test]
fn run_json_step_follows_the_checkpoints_mid_run() {
    use harness_core::results::record;
    let d = tempfile::tempdir().unwrap();
    let store = harness_core::results::store::Store::new(d.path().join("results")).unwrap();
    let spec: harness_core::config::RunSpec = toml::from_str(
        "dataset = \"8gaussians\"\ndim = 8\nbatch_size = 16\ngen_iters = 12\nlog_every = 4\n\
         eval_every = 12\ncheckpoint_every = 4\neval_samples = 100\n",
    )
    .unwrap();
    let cfg = spec.resolve().unwrap();
    let dir = store.run_dir(&harness_core::hash::short_hash(&cfg));
    let mut seen = Vec::new();
    let opts = harness_engine::run::RunOptions {
        stop_at: Some(10),
        ..Default::default()
    };
    let result = harness_engine::run::execute(&store, &cfg, &opts, |step, _| {
        seen.push((step, record::read(&dir).unwrap().step));
    })
    .unwrap();
    assert_eq!(result, harness_engine::run::RunResult::Stopped { step: 10 });
    // Called back before step k's checkpoint, so step 4 shows from step 5 on.
    let want: Vec<(u32, u32)> = (1..=10)
        .map(|s| {
            (
                s,
                if s > 8 {
                    8
                } else if s > 4 {
                    4
                } else {
                    0
                },
            )
        })
        .collect();
    assert_eq!(seen, want);
    // A stopped run keeps the last checkpoint's step for `status` and `ls`.
    assert_eq!(record::read(&dir).unwrap().step, 8);
}

/// `ls` of a missing directory is an error, as in `status` and `report` (it printed an empty
/// table and exited 0).
#[test]
fn ls_of_a_missing_directory_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("reuslts");
    for cmd in ["ls", "status"] {
        let out = harness().arg(cmd).arg(&missing).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        assert!(stderr(&out).contains("is not a results directory"), "{cmd}");
        assert!(!missing.exists());
    }
}

/// A sweep with nothing to train succeeds on a read-only results directory (it failed writing
/// its sweep record first).
#[test]
fn a_finished_sweep_succeeds_on_a_read_only_results_directory() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let grid = "name = \"ro\"\n[base]\ndataset = \"8gaussians\"\ndim = 8\nbatch_size = 16\n\
                gen_iters = 4\nlog_every = 2\neval_every = 4\ncheckpoint_every = 4\n\
                eval_samples = 100\n";
    let g = write_grid(d.path(), grid);
    let res = d.path().join("results");
    let sweep = || {
        harness()
            .arg("sweep")
            .arg(&g)
            .arg("--results")
            .arg(&res)
            .arg("--no-progress")
            .output()
            .unwrap()
    };
    let out = sweep();
    assert!(out.status.success(), "{}", stderr(&out));
    let before = tree(&res);
    let mode = |dir: &Path, m: u32| {
        for p in walkdir::WalkDir::new(dir).into_iter().map(|e| e.unwrap()) {
            if p.file_type().is_dir() {
                std::fs::set_permissions(p.path(), std::fs::Permissions::from_mode(m)).unwrap();
            }
        }
    };
    mode(&res, 0o555);
    // Root ignores permissions: there, the sweep record is made unwritable instead (a
    // non-empty folder in its place, which no rename replaces).
    let probe = res.join("probe");
    let as_root = std::fs::write(&probe, "x").is_ok();
    let record = res.join("sweeps/ro.json");
    if as_root {
        std::fs::remove_file(&probe).unwrap();
        mode(&res, 0o755);
        std::fs::remove_file(&record).unwrap();
        std::fs::create_dir_all(record.join("keep")).unwrap();
    }
    let before = if as_root { tree(&res) } else { before };
    let out = sweep();
    mode(&res, 0o755);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to train"));
    assert!(stderr(&out).contains("the sweep record was not updated"));
    assert_eq!(tree(&res), before);
}

/// A tiny toy configuration for library-level runs.
fn tiny_config() -> harness_core::config::RunConfig {
    let spec: harness_core::config::RunSpec = toml::from_str(
        "dataset = \"8gaussians\"\ndim = 8\nbatch_size = 16\ngen_iters = 4\nlog_every = 2\n\
         eval_every = 4\ncheckpoint_every = 2\neval_samples = 100\n",
    )
    .unwrap();
    spec.resolve().unwrap()
}

/// Temporaries a SIGKILL left mid-write are removed when the run's lock is next taken, and a
/// lock file holding bytes that are not UTF-8 is taken over, not a permanent error.
#[test]
fn stale_temporaries_and_a_damaged_lock_do_not_outlive_the_next_attempt() {
    let d = tempfile::tempdir().unwrap();
    let store = harness_core::results::store::Store::new(d.path().join("results")).unwrap();
    let cfg = tiny_config();
    let dir = store.run_dir(&harness_core::hash::short_hash(&cfg));
    std::fs::create_dir_all(dir.join("checkpoints")).unwrap();
    std::fs::write(dir.join(".tmp-a1b2c3"), vec![0u8; 4096]).unwrap();
    std::fs::write(dir.join("checkpoints/.tmp-d4e5f6"), b"half").unwrap();
    std::fs::write(dir.join("lock"), [0xff, 0xfe, 0x00, 0x80]).unwrap();
    let opts = harness_engine::run::RunOptions::default();
    let r = harness_engine::run::execute(&store, &cfg, &opts, |_, _| {}).unwrap();
    assert!(
        matches!(r, harness_engine::run::RunResult::Done { .. }),
        "{r:?}"
    );
    let left: Vec<PathBuf> = tree(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A worker whose sweep died (its stdout pipe closed) finishes its run without panicking.
#[test]
fn a_run_whose_reader_went_away_does_not_panic() {
    let d = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let path = d.path().join("config.toml");
    std::fs::write(&path, toml::to_string(&cfg.to_flat()).unwrap()).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = harness()
        .args(["run", "--json", "--config"])
        .arg(&path)
        .arg("--results")
        .arg(d.path().join("results"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
