//! The adversarial campaigns of issue 17 at CI size: a grid fuzzer, a `kill -9` loop over a small
//! sweep, hostile filesystems, and all of it under a 4 GB address-space limit. Each asserts what
//! a user may rely on: exit 0, 1 or 2 (never a panic, an abort or a signal), nothing written on
//! rejection, and resumed runs byte-identical to uninterrupted ones.

use crate::common;
use crate::support;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::*;

/// A small valid grid: two toy runs of a few dozen steps.
const SMALL: &str = "name = \"fuzz\"\nseeds = [1]\n\n[base]\ndataset = \"8gaussians\"\n\
                     dim = 16\nbatch_size = 16\ngen_iters = 30\nlog_every = 10\neval_every = 30\n\
                     checkpoint_every = 10\neval_samples = 100\n\n[[grid]]\n\
                     loss = [\"gan\", \"wgan-gp\"]\nn_critic = [1]\n";

/// `sh -c 'ulimit -v 4000000; exec "$@"'`: the command under a 4 GB address-space limit.
fn limited(cmd: &Command) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -v 4000000; exec \"$@\"")
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

/// Exit 0, 1 or 2 (or one of `also`), no panic: what every campaign asks of every command.
fn assert_clean_exit(out: &Output, what: &str, also: &[i32]) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked at") && !err.contains("RUST_BACKTRACE"),
        "{what}: panicked:\n{err}"
    );
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=2)) || code.is_some_and(|c| also.contains(&c)),
        "{what}: ended with {:?}:\n{err}",
        out.status
    );
}

/// One mutation of a grid file's text, chosen by `rng`.
fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let n = lines.len().max(1);
    let i = rng.random_range(0..n);
    // Lines `key = value` (not comments or headers) to mutate values in.
    let keyed: Vec<usize> = (0..lines.len())
        .filter(|&j| lines[j].contains(" = ") && !lines[j].starts_with('#'))
        .collect();
    let k = if keyed.is_empty() {
        i
    } else {
        keyed[rng.random_range(0..keyed.len())]
    };
    let key = lines
        .get(k)
        .and_then(|l| l.split(" = ").next())
        .unwrap_or("dim")
        .to_string();
    let set = |lines: &mut Vec<String>, v: String| {
        if k < lines.len() {
            lines[k] = format!("{key} = {v}");
        }
    };
    match rng.random_range(0..13) {
        12 => {
            // A plausible edit: another small number.
            let v = rng.random_range(1..9u32);
            if lines
                .get(k)
                .is_some_and(|l| l.ends_with(|c: char| c.is_ascii_digit()))
            {
                set(&mut lines, v.to_string());
            }
        }
        0 => {
            // Byte flips.
            let mut b = text.as_bytes().to_vec();
            for _ in 0..rng.random_range(1..4) {
                if !b.is_empty() {
                    let at = rng.random_range(0..b.len());
                    b[at] ^= rng.random_range(1..=255u8);
                }
            }
            return String::from_utf8_lossy(&b).into_owned();
        }
        1 if !lines.is_empty() => {
            lines.remove(k.min(lines.len() - 1));
        }
        2 if !lines.is_empty() => {
            let l = lines[k.min(lines.len() - 1)].clone();
            lines.insert(k.min(lines.len() - 1), l);
        }
        3 => {
            let v = [
                "1e308",
                "18446744073709551616",
                "4294967296",
                "9223372036854775807",
                "-1",
                "-1e9",
                "nan",
                "inf",
                "-inf",
                "-0.0",
                "0",
                "1e-320",
                "[0, 4294967295]",
                "[-0.0, 0.0]",
            ][rng.random_range(0..14)];
            set(&mut lines, v.into());
        }
        4 => {
            let v = [
                "\"str\"",
                "true",
                "[]",
                "{}",
                "[[1]]",
                "{ a = 1 }",
                "1979-05-27T07:32:00Z",
                "[1, \"a\"]",
            ][rng.random_range(0..8)];
            set(&mut lines, v.into());
        }
        5 => {
            let depth = [10, 100, 1000, 20000][rng.random_range(0..4)];
            set(
                &mut lines,
                format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
            );
        }
        6 => {
            let v = [
                "\"Ünïcödé 名前 \u{202e}\u{1F600}\"",
                "\"\u{0}\"",
                "\"../../etc\"",
                "\"a/b\"",
            ][rng.random_range(0..4)];
            set(&mut lines, v.into());
            if rng.random_bool(0.3) {
                lines.insert(0, "名前 = \"ü\"".into());
            }
        }
        7 => {
            let len = [1000, 100_000][rng.random_range(0..2)];
            set(&mut lines, format!("\"{}\"", "x".repeat(len)));
        }
        8 => set(&mut lines, "[]".into()),
        9 => {
            let len = [500, 5000, 100_000][rng.random_range(0..3)];
            let v: Vec<String> = (1..=len).map(|x| x.to_string()).collect();
            set(&mut lines, format!("[{}]", v.join(", ")));
        }
        10 => {
            let header = [
                "[base]",
                "[[grid]]",
                "[grid]",
                "[[base]]",
                "[[claim]]",
                "[x.y.z]",
            ][rng.random_range(0..6)];
            lines.insert(i.min(lines.len()), header.into());
        }
        _ => {
            let extra = [
                "unknown_key = 1",
                "seeds = [1, 1, 1]",
                "gen_iters = 0",
                "batch_size = 0",
                "name = \"\"",
                "epochs = 4294967295",
                "checkpoint_every = 4294967295",
            ][rng.random_range(0..7)];
            lines.insert(i.min(lines.len()), extra.into());
        }
    }
    lines.join("\n") + "\n"
}

/// The corpus: for each shipped experiment and the small grid, mutants of 1-3 mutations each,
/// from a fixed seed.
fn corpus(per_source: usize) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources: Vec<(String, String)> = std::fs::read_dir(root.join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    sources.sort();
    sources.push(("small".into(), SMALL.into()));
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut out = Vec::new();
    for (name, text) in &sources {
        let n = if name == "small" {
            3 * per_source
        } else {
            per_source
        };
        for i in 0..n {
            let mut t = text.clone();
            let mutations = [1, 1, 1, 1, 2, 2, 3][rng.random_range(0..7)];
            for _ in 0..mutations {
                t = mutate(&t, &mut rng);
            }
            out.push((format!("{name}#{i}"), t));
        }
    }
    out
}

/// `harness sweep GRID --dry-run` over the corpus, plain and under `ulimit -v 4000000`: exit 0
/// or 2 only, the same in both, no panic, nothing written; then a sample of the accepted
/// mutants of the small grid through real sweeps (stopped by SIGTERM if they run long).
#[test]
fn fuzzed_grids_exit_0_or_2_and_write_nothing_when_rejected() {
    let d = tempfile::tempdir().unwrap();
    let tmp = tmp_in(d.path());
    let grids = corpus(40);
    let (mut accepted, mut rejected) = (Vec::new(), 0);
    for (i, (name, text)) in grids.iter().enumerate() {
        let g = write(d.path(), &format!("g{i}.toml"), text);
        let res = d.path().join(format!("res{i}"));
        let cmd = sweep(&g, &res, &tmp, &["--dry-run"]);
        let mut plain = sweep(&g, &res, &tmp, &["--dry-run"]);
        let out = plain.output().unwrap();
        assert_clean_exit(&out, name, &[]);
        assert_ne!(out.status.code(), Some(1), "{name}: {}", text_of(&out));
        let low = limited(&cmd).output().unwrap();
        assert_clean_exit(&low, &format!("{name} under ulimit -v 4000000"), &[]);
        assert_eq!(
            low.status.code(),
            out.status.code(),
            "{name}: under ulimit -v: {}",
            text_of(&low)
        );
        assert!(!res.exists(), "{name}: --dry-run wrote {}", res.display());
        match out.status.code() {
            Some(0) => accepted.push((name.clone(), g)),
            _ => rejected += 1,
        }
    }
    eprintln!(
        "grid fuzzer: {} grids tried, {} accepted, {rejected} rejected",
        grids.len(),
        accepted.len()
    );
    assert!(
        rejected > grids.len() / 4 && accepted.len() > 10,
        "a corpus too tame or too wild"
    );

    // Real sweeps of accepted mutants of the small grid (the shipped experiments' are too long
    // for CI), under the memory limit; exit 2 writes nothing.
    let mut real = 0;
    for (name, g) in accepted
        .iter()
        .filter(|(n, _)| n.starts_with("small#"))
        .take(6)
    {
        let res = d.path().join(format!("real-{real}"));
        let child = limited(&sweep(g, &res, &tmp, &[])).spawn().unwrap();
        let pid = child.id() as i32;
        let stopper = std::thread::spawn(move || {
            if !wait_until(20, || !alive(pid)) {
                signal(pid, SIGTERM);
            }
        });
        let out = child.wait_with_output().unwrap();
        stopper.join().unwrap();
        assert_clean_exit(&out, &format!("real sweep of {name}"), &[143]);
        if out.status.code() == Some(2) {
            assert!(
                !res.exists(),
                "{name}: rejected, but wrote {}",
                res.display()
            );
        }
        real += 1;
    }
    eprintln!("grid fuzzer: {real} accepted grids swept for real");
    assert!(real >= 3);
    assert_eq!(leftover_temp_folders(&tmp), Vec::<String>::new());
}

fn text_of(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// A dozen `kill -9`s at spread delays, to the sweep alone or to it and every worker, then a
/// final resume: every run byte-identical to an uninterrupted sweep, no temporaries, no leaked
/// config folder.
#[test]
fn a_kill_9_loop_resumes_byte_identically() {
    let d = tempfile::tempdir().unwrap();
    // Long enough that the kills (about 9 s of delays in all) land mid-run on a quiet machine
    // too: at 500 steps every run was done after the fourth kill.
    let grid = SMALL
        .replace("gen_iters = 30", "gen_iters = 2000")
        .replace("seeds = [1]", "seeds = [1, 2]");
    let grid = write(d.path(), "grid.toml", &grid);
    let tmp = tmp_in(d.path());
    let reference = d.path().join("reference");
    sweep_ok(&grid, &reference, &tmp, &["--jobs", "2"]);

    let res = d.path().join("results");
    let delays_ms = [
        400, 900, 150, 1300, 650, 250, 1100, 500, 1600, 800, 300, 1000,
    ];
    let mut kills = 0;
    for (i, ms) in delays_ms.iter().enumerate() {
        let child = sweep(&grid, &res, &tmp, &["--jobs", "2"]).spawn().unwrap();
        let pid = child.id() as i32;
        std::thread::sleep(std::time::Duration::from_millis(*ms));
        let workers = children_of(pid);
        signal(pid, SIGKILL);
        if i % 2 == 1 {
            for w in &workers {
                signal(*w, SIGKILL);
            }
        }
        let out = child.wait_with_output().unwrap();
        if out.status.code().is_none() {
            kills += 1;
        }
        for w in &workers {
            assert!(
                wait_until(60, || !alive(*w)),
                "worker {w} outlived kill {i}"
            );
        }
    }
    eprintln!(
        "kill -9 loop: {kills} of {} sweeps killed mid-run",
        delays_ms.len()
    );
    assert!(kills >= 4, "too few kills landed mid-run: {kills}");
    sweep_ok(&grid, &res, &tmp, &["--jobs", "2"]);
    let same = assert_same_runs(&reference, &res);
    eprintln!("kill -9 loop: {same} runs resumed byte-identical");
    assert_eq!(leftover_temp_folders(&tmp), Vec::<String>::new());
}

/// Whether `unshare -rm` (a user and mount namespace, so tmpfs and bind mounts without
/// privileges) works here.
fn can_unshare() -> bool {
    Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt || exit 1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `script` in a private mount namespace with `$H` the harness and `$D` the test folder.
fn in_namespace(script: &str, d: &Path, tmp: &Path) -> Output {
    Command::new("unshare")
        .args(["-rm", "sh", "-euc", script])
        .env("H", env!("CARGO_BIN_EXE_harness"))
        .env("D", d)
        .env("TMPDIR", tmp)
        .output()
        .unwrap()
}

/// A full disk (a 300 KB tmpfs) fails the runs with a message, exit 1, no panic; with space
/// back, they finish byte-identical to runs that never lacked it. Skipped, saying why, where no
/// tmpfs can be mounted.
#[test]
fn a_full_disk_fails_runs_that_then_resume_identically() {
    if !can_unshare() {
        common::skip("`unshare -rm` + `mount -t tmpfs` is not available here");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let tmp = tmp_in(d.path());
    write(d.path(), "grid.toml", SMALL);
    let reference = d.path().join("reference");
    sweep_ok(&d.path().join("grid.toml"), &reference, &tmp, &[]);
    std::fs::create_dir_all(d.path().join("disk")).unwrap();
    let out = in_namespace(
        "mount -t tmpfs -o size=300k tmpfs \"$D/disk\"
         set +e
         \"$H\" sweep \"$D/grid.toml\" --results \"$D/disk/r\" --no-progress 2>\"$D/full.err\"
         echo $? >\"$D/full.code\"
         set -e
         mount -o remount,size=64m \"$D/disk\"
         \"$H\" sweep \"$D/grid.toml\" --results \"$D/disk/r\" --no-progress 2>\"$D/again.err\"
         cp -a \"$D/disk/r\" \"$D/copied\"",
        d.path(),
        &tmp,
    );
    let read = |f: &str| std::fs::read_to_string(d.path().join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}",
        text_of(&out),
        read("again.err")
    );
    let full = read("full.err");
    eprintln!(
        "full disk: exit {}, {}",
        read("full.code").trim(),
        full.trim()
    );
    assert_eq!(read("full.code").trim(), "1", "{full}");
    assert!(full.contains("No space left on device"), "{full}");
    assert!(!full.contains("panicked"), "{full}");
    assert_same_runs(&reference, &d.path().join("copied"));
}

/// A results folder mounted read-only, and every file of a run folder replaced by garbage:
/// `sweep`, `status`, `ls` and `report` exit 0, 1 or 2 with a message, never a panic.
#[test]
fn read_only_and_corrupt_results_end_in_a_message() {
    let d = tempfile::tempdir().unwrap();
    let tmp = tmp_in(d.path());
    let grid = write(d.path(), "grid.toml", SMALL);
    let res = d.path().join("results");
    sweep_ok(&grid, &res, &tmp, &[]);

    // Read-only: a bind mount where namespaces allow (root ignores file modes), else modes.
    write(
        d.path(),
        "more.toml",
        &SMALL.replace("n_critic = [1]", "n_critic = [2]"),
    );
    if can_unshare() {
        let out = in_namespace(
            "mount --bind \"$D/results\" \"$D/results\"
             mount -o remount,bind,ro \"$D/results\"
             set +e
             \"$H\" sweep \"$D/more.toml\" --results \"$D/results\" --no-progress 2>\"$D/ro.err\"
             echo $? >\"$D/ro.code\"",
            d.path(),
            &tmp,
        );
        assert!(out.status.success(), "{}", text_of(&out));
        let err = std::fs::read_to_string(d.path().join("ro.err")).unwrap();
        let code = std::fs::read_to_string(d.path().join("ro.code")).unwrap();
        eprintln!("read-only results: exit {}, {}", code.trim(), err.trim());
        assert!(matches!(code.trim(), "1" | "2"), "{err}");
        assert!(err.contains("Read-only file system"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    } else {
        use std::os::unix::fs::PermissionsExt;
        let mode = |m: u32| {
            for e in walkdir::WalkDir::new(&res).into_iter().map(|e| e.unwrap()) {
                if e.file_type().is_dir() {
                    let p = std::fs::Permissions::from_mode(m);
                    std::fs::set_permissions(e.path(), p).unwrap();
                }
            }
        };
        mode(0o555);
        if std::fs::write(res.join("probe"), "x").is_ok() {
            std::fs::remove_file(res.join("probe")).unwrap();
            common::skip("read-only results: no `unshare -rm`, and file modes bind no root");
        } else {
            let more = d.path().join("more.toml");
            let out = sweep(&more, &res, &tmp, &[]).output().unwrap();
            assert_clean_exit(&out, "sweep on a read-only results folder", &[]);
            assert_ne!(out.status.code(), Some(0), "{}", text_of(&out));
        }
        mode(0o755);
    }

    // Corrupt files, one kind at a time, in a copy of the finished tree.
    let runs = run_folders(&res);
    let garbage: &[(&str, &[u8])] = &[
        ("run.json", b"{\"status\": 7"),
        ("config.toml", b"\xff\xfe not toml ["),
        ("metrics.csv", b"step,critic_loss\nx,y,z\n"),
        ("eval.csv", b"\x00\x01\x02"),
        ("summary.json", b"[]"),
        ("lock", b"\xff\x00\x80"),
        ("checkpoints/latest", b"step-99999999"),
    ];
    let mut cases = 0;
    for (file, bytes) in garbage {
        for partial in [false, true] {
            let tree = d.path().join(format!("corrupt-{cases}"));
            copy_tree(&res, &tree);
            let run = tree.join(&runs[0]);
            if partial {
                // A run stopped mid-way: `running`, nobody holding it.
                let rec = std::fs::read_to_string(run.join("run.json")).unwrap();
                std::fs::write(
                    run.join("run.json"),
                    rec.replace("\"status\": \"done\"", "\"status\": \"running\""),
                )
                .unwrap();
            }
            std::fs::write(run.join(file), bytes).unwrap();
            let what = format!("{file} ({})", if partial { "partial" } else { "done" });
            let out = sweep(&grid, &tree, &tmp, &[]).output().unwrap();
            assert_clean_exit(&out, &format!("sweep, corrupt {what}"), &[]);
            for cmd in ["status", "ls", "report"] {
                let out = harness()
                    .arg(cmd)
                    .arg(&tree)
                    .env("TMPDIR", &tmp)
                    .output()
                    .unwrap();
                assert_clean_exit(&out, &format!("{cmd}, corrupt {what}"), &[]);
            }
            cases += 1;
        }
    }
    eprintln!("corrupt files: {cases} trees x 4 commands, no panic");
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest: PathBuf = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Found by the campaign under `ulimit -v 4000000`: `dim = 8000` passed the memory estimate
/// (against the machine's memory) and the sweep aborted on an allocation (exit 134), on every
/// rerun. The estimate is now held against the address space the limit leaves: exit 2, naming
/// the key and the limit, nothing written.
#[test]
fn a_configuration_beyond_the_address_space_limit_is_refused_up_front() {
    let d = tempfile::tempdir().unwrap();
    let tmp = tmp_in(d.path());
    let grid = write(
        d.path(),
        "grid.toml",
        &SMALL.replace("dim = 16", "dim = 8000"),
    );
    let res = d.path().join("results");
    for extra in [&["--dry-run"][..], &[]] {
        let out = limited(&sweep(&grid, &res, &tmp, extra)).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("ulimit -v"), "{err}");
        assert!(err.contains("reduce `dim` or `depth`"), "{err}");
        assert!(!res.exists(), "wrote {}", res.display());
    }
}
