//! `harness report DIR --watch` during a real sweep, read by headless Chromium: the page
//! reloads itself while runs are in flight, shows new logged steps as the runs log, stops
//! reloading when the sweep is done, and Ctrl-C ends the watcher with 130 and a final page.

use crate::support::harness;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GRID: &str = r#"
name = "watched"
[base]
dataset = "8gaussians"
dim = 64
batch_size = 64
gen_iters = 300
log_every = 10
eval_every = 100
checkpoint_every = 50
eval_samples = 200
[[sample]]
n = 3
seed = 1
loss = ["gan-ns", "wgan-gp"]
c_lr = { log_uniform = [1e-5, 1e-3] }
"#;

/// Chromium's rendering of the page after it loaded (`--dump-dom`), or `None` without Chromium.
fn dom(page: &Path, profile: &Path) -> Option<String> {
    let bin = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| which::which(b).is_ok())?;
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value of `data-NAME` on the page's body.
fn attr(dom: &str, name: &str) -> f64 {
    let key = format!("data-{name}=\"");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {key} in {dom}"))
        + key.len();
    dom[at..].split('"').next().unwrap().parse().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spawn(args: &[&str], dir: &Path) -> Child {
    harness()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_page_follows_a_running_sweep_in_chromium() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    std::fs::write(root.join("g.toml"), GRID).unwrap();
    std::fs::create_dir_all(root.join("results")).unwrap();
    let page: PathBuf = root.join("results/report/index.html");
    let profile = root.join("chromium-profile");
    let watcher = spawn(&["report", "results", "--watch", "--interval", "0.2"], root);
    wait_for("the first page", Duration::from_secs(60), || page.is_file());
    let mut sweep = spawn(
        &["sweep", "g.toml", "--results", "results", "--no-progress"],
        root,
    );
    let read = || std::fs::read_to_string(&page).unwrap_or_default();
    wait_for("a run in flight", Duration::from_secs(120), || {
        read().contains("http-equiv=\"refresh\"")
    });
    let chromium = dom(&page, &profile);
    let first = chromium.clone().unwrap_or_else(read);
    let steps = attr(&first, "steps");
    assert!(attr(&first, "in-flight") >= 1.0, "{first}");
    wait_for("a new logged step", Duration::from_secs(120), || {
        let now = dom(&page, &profile).unwrap_or_else(read);
        attr(&now, "steps") > steps
    });
    assert!(sweep.wait().unwrap().success());
    wait_for("the final page", Duration::from_secs(60), || {
        let now = read();
        attr(&now, "done") == 3.0 && !now.contains("http-equiv")
    });
    if let Some(last) = dom(&page, &profile) {
        assert_eq!(attr(&last, "done"), 3.0);
        assert_eq!(attr(&last, "in-flight"), 0.0);
        assert!(!last.contains("http-equiv=\"refresh\""), "{last}");
    } else if std::env::var_os("HARNESS_REQUIRE_CHROMIUM").is_some() {
        panic!("HARNESS_REQUIRE_CHROMIUM is set but no chromium is on PATH");
    } else {
        eprintln!("SKIPPED the Chromium part: no chromium on PATH (the page was read as a file)");
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(watcher.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = watcher.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftovers: Vec<_> = walkdir::WalkDir::new(root.join("results/report"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(harness_core::results::atomic_file::TEMP_PREFIX)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!read().contains("http-equiv"));
}
