//! Shared by the test binaries: where the MNIST copy the tests read lives, and how a test that
//! cannot run here says so.
//!
//! Looked for in `$HARNESS_DATA_DIR`, then in this checkout's `data/mnist`; where neither holds
//! the four files, they are downloaded and verified with the harness's own downloader into the
//! folder `harness data mnist` would use (`$HARNESS_DATA_DIR` if set, else `data/mnist`).
//! Without a network that fails with a message naming the fix.
#![allow(dead_code)]

use harness_core::data::download::{DownloadOptions, download_mnist};
use harness_core::data::mnist::{DATA_DIR_ENV, DEFAULT_DATA_DIR, FILES};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// The folder holding MNIST for the tests (see the module docs); panics with the fix when it
/// can be neither found nor downloaded.
pub fn mnist_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| locate_mnist().unwrap_or_else(|msg| panic!("{msg}")))
}

fn has_mnist(dir: &Path) -> bool {
    FILES
        .iter()
        .all(|f| f.candidates(dir).iter().any(|p| p.is_file()))
}

/// [`mnist_dir`] without the panic: the folder, or what went wrong and how to fix it.
pub fn locate_mnist() -> Result<PathBuf, String> {
    let env = std::env::var_os(DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DATA_DIR);
    if let Some(dir) = env.iter().chain([&local]).find(|d| has_mnist(d)) {
        return Ok(dir.clone());
    }
    let target = env.clone().unwrap_or_else(|| local.clone());
    eprintln!(
        "MNIST not found in ${DATA_DIR_ENV} or {}: downloading it into {}",
        local.display(),
        target.display()
    );
    // Short timeouts and no retries: without a network this should fail in seconds.
    let opts = DownloadOptions {
        timeout: Duration::from_secs(20),
        retries_per_mirror: 0,
        ..DownloadOptions::default()
    };
    match download_mnist(&target, &opts) {
        Ok(_) => Ok(target),
        Err(e) => Err(format!(
            "the tests need MNIST, which is neither in ${DATA_DIR_ENV} ({}) nor in {}, and \
             downloading it into {} failed: {e}\n\
             Fix: with a network, run `cargo harness data mnist` (downloads and verifies it into \
             data/mnist); or set {DATA_DIR_ENV} to a folder holding the four MNIST files (raw or \
             .gz), e.g. `{DATA_DIR_ENV}=/path/to/mnist cargo test`.",
            env.as_deref()
                .map_or("not set".into(), |d| d.display().to_string()),
            local.display(),
            target.display(),
        )),
    }
}

/// A test that cannot run here says why and returns; under CI (`$CI` set, as `.ci/run` runs)
/// the same reason fails the test, since a skip there would hide what CI must check.
pub fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        "skipped under CI, where this must run: {reason}"
    );
    eprintln!("skipped: {reason}");
}
