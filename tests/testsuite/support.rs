//! What the stop and campaign tests share: running `harness` with its own temporary directory,
//! finding and signalling its processes, and comparing two results trees run by run.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

pub fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `harness sweep GRID --results RES --no-progress EXTRA...` with `TMPDIR=tmp` (so that its
/// config folders can be counted exactly), output captured.
pub fn sweep(grid: &Path, res: &Path, tmp: &Path, extra: &[&str]) -> Command {
    let mut c = harness();
    c.arg("sweep")
        .arg(grid)
        .arg("--results")
        .arg(res)
        .arg("--no-progress")
        .args(extra)
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `d/tmp`, created: the sweeps' `TMPDIR` in a test.
pub fn tmp_in(d: &Path) -> PathBuf {
    let tmp = d.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    tmp
}

/// [`sweep`] run to the end, which must succeed.
pub fn sweep_ok(grid: &Path, res: &Path, tmp: &Path, extra: &[&str]) -> Output {
    let out = sweep(grid, res, tmp, extra).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

pub fn signal(pid: i32, sig: i32) {
    use nix::sys::signal::{Signal, kill};
    let _ = kill(
        nix::unistd::Pid::from_raw(pid),
        Signal::try_from(sig).unwrap(),
    );
}

/// `/proc/<pid>/stat`: (state, parent pid).
fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    Some((state, f.next()?.parse().ok()?))
}

/// Whether `pid` is a live process (a zombie nobody reaped is not).
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(s, _)| !matches!(s, 'Z' | 'X'))
}

/// The live children of `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| stat(p).is_some_and(|(s, pp)| pp == pid && !matches!(s, 'Z' | 'X')))
        .collect();
    out.sort();
    out
}

/// Poll `cond` every 50 ms for up to `secs` seconds (a bound on a hang, not a timing goal).
pub fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Wait until the sweep `pid` has two workers and a run under `res` has checkpointed; returns
/// the workers.
pub fn wait_for_workers(pid: i32, res: &Path) -> Vec<i32> {
    let ok = wait_until(120, || {
        children_of(pid).len() == 2 && count_checkpoints(res) >= 1
    });
    assert!(ok, "the sweep did not get going");
    children_of(pid)
}

/// Run folders under `res` holding a checkpoint.
pub fn count_checkpoints(res: &Path) -> usize {
    std::fs::read_dir(res).map_or(0, |rd| {
        rd.filter_map(|e| e.ok())
            .filter(|e| e.path().join("checkpoints/latest").exists())
            .count()
    })
}

/// The sweeps' worker-config folders left in `tmp`.
pub fn leftover_temp_folders(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("harness-sweep-"))
        .collect()
}

/// Run folders (holding a `config.toml`) directly under `res`, by name.
pub fn run_folders(res: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(res)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("config.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Drop the second column (`wall_s`) of a CSV.
pub fn strip_wall(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            if f.len() > 1 {
                f.remove(1);
            }
            f.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every run of `reference` is done in `other` with the same bytes: its CSVs (wall-clock
/// columns aside: `eval.csv`'s `wall_s`, `timing.csv`'s times) and sample files; and `other`
/// holds no temporary file. Returns how many runs were compared.
pub fn assert_same_runs(reference: &Path, other: &Path) -> usize {
    let runs = run_folders(reference);
    assert!(!runs.is_empty(), "no runs in {}", reference.display());
    assert_eq!(runs, run_folders(other), "run folders differ");
    for h in &runs {
        let (a, b) = (reference.join(h), other.join(h));
        let rec = std::fs::read_to_string(b.join("run.json")).unwrap();
        assert!(rec.contains("\"status\": \"done\""), "{h}: {rec}");
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&a)
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| {
                p.is_file()
                    && (p.extension().is_some_and(|x| x == "csv")
                        || p.parent().is_some_and(|d| d.ends_with("samples")))
            })
            .collect();
        files.sort();
        assert!(files.len() >= 5, "{h}: {files:?}");
        for f in files {
            let rel = f.strip_prefix(&a).unwrap();
            let (x, y) = (
                std::fs::read_to_string(&f).unwrap(),
                std::fs::read_to_string(b.join(rel)).unwrap_or_default(),
            );
            let name = rel.to_string_lossy();
            let (x, y) = match name.as_ref() {
                "eval.csv" => (strip_wall(&x), strip_wall(&y)),
                "timing.csv" => {
                    let steps = |t: &str| {
                        t.lines()
                            .map(|l| l.split(',').next().unwrap_or("").to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    };
                    (steps(&x), steps(&y))
                }
                _ => (x, y),
            };
            assert!(x == y, "{h}/{name} differs from the uninterrupted run");
        }
        let tmp: Vec<PathBuf> = walkdir::WalkDir::new(&b)
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| p.to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(tmp.is_empty(), "{h}: temporaries left: {tmp:?}");
    }
    runs.len()
}
