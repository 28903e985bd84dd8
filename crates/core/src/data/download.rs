//! Fetching MNIST from public mirrors into a data directory.
//!
//! Every download is verified (SHA-256 of the decompressed content) *before* it touches the
//! target directory, and is written through a temporary file in the same directory followed by
//! an atomic rename, so an interrupted or corrupt transfer never leaves a file that [`load`]
//! could pick up.
//!
//! HTTPS needs TLS in `ureq`: with `ureq = { version = "3", default-features = false }` only
//! `http://` mirrors work and `https://` ones fail (the failure reason says so) and are
//! skipped. Enable ureq's `rustls` feature for the HTTPS mirrors in [`DEFAULT_MIRRORS`].
//!
//! [`load`]: super::mnist::load

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

pub use super::mnist::MirrorFailure;
use super::mnist::{DataError, FILES, MnistFile, decode_verified, read_verified};
use crate::results::atomic_file::write_atomic;

/// Mirrors tried in order; each serves `<stem>.gz`. The original host is last because it is
/// often slow or refuses automated downloads.
pub const DEFAULT_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// Cap on a response body; the largest archive is about 10 MB (47 MB if a server sends it
/// uncompressed). Stops a broken mirror from exhausting memory.
const MAX_DOWNLOAD: u64 = 128 << 20;

/// How [`download_mnist`] talks to mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Base URLs, tried in order; a missing trailing `/` is added.
    pub mirrors: Vec<String>,
    /// Limit for connecting and for each individual read, so a stalled mirror is abandoned;
    /// not a limit on the whole transfer, so slow but progressing downloads still finish.
    pub timeout: Duration,
    /// Extra attempts on the same mirror after a transient failure (network error, timeout,
    /// HTTP 5xx or 429). Bad content and other HTTP errors go straight to the next mirror,
    /// since asking again would get the same answer.
    pub retries_per_mirror: u32,
    /// The pause before retry `n` is `n * retry_backoff`.
    pub retry_backoff: Duration,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            mirrors: DEFAULT_MIRRORS.iter().map(|m| m.to_string()).collect(),
            timeout: Duration::from_secs(30),
            retries_per_mirror: 1,
            retry_backoff: Duration::from_secs(1),
        }
    }
}

/// What [`download_mnist`] did, file by file (stems, e.g. `"train-images-idx3-ubyte"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadReport {
    /// Files downloaded, verified and written.
    pub fetched: Vec<String>,
    /// Files already present and valid, left untouched.
    pub already_present: Vec<String>,
    /// Failed attempts that a retry or a later mirror recovered from; worth showing as
    /// warnings so a persistently bad mirror gets noticed.
    pub recovered_failures: Vec<MirrorFailure>,
    /// Invalid copies (the other of raw / `.gz`) deleted after a good copy was written, so
    /// they cannot shadow it or waste a decode on every load.
    pub removed_invalid: Vec<PathBuf>,
}

/// Makes `dir` hold a valid copy of each MNIST file, downloading those that are absent or
/// invalid: each mirror is tried in turn (URL = mirror + stem + `.gz`); the response is
/// decompressed and verified in memory and only then written, atomically, as `<stem>.gz`.
/// HTTP errors, dropped connections and corrupt content move on to the next mirror. Stops at
/// the first file no mirror could deliver, with an error listing every URL tried and why;
/// files fetched before that are kept (they are valid).
pub fn download_mnist(dir: &Path, opts: &DownloadOptions) -> Result<DownloadReport, DataError> {
    fs::create_dir_all(dir).map_err(|source| DataError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let agent = make_agent(opts);
    let mut report = DownloadReport::default();
    for file in &FILES {
        if read_verified(dir, file).is_ok() {
            report.already_present.push(file.stem.to_string());
            continue;
        }
        let mut failures = Vec::new();
        let Some(download) = fetch_from_mirrors(&agent, file, opts, &mut failures) else {
            return Err(DataError::DownloadFailed {
                file: file.gz_name(),
                dir: dir.to_path_buf(),
                attempts: failures,
            });
        };
        let [raw_path, gz_path] = file.candidates(dir);
        // Normally the archive is stored as served; if a transport decompressed it on the
        // way (Content-Encoding), store the raw bytes under the raw name instead.
        let (target, other) = if download.gzipped {
            (gz_path, raw_path)
        } else {
            (raw_path, gz_path)
        };
        write_atomic(&target, &download.bytes).map_err(|e| DataError::Write {
            source: e.downcast().unwrap_or_else(io::Error::other),
            path: target.clone(),
        })?;
        // `read_verified` failed above, so any other copy present is invalid.
        if other.exists() {
            fs::remove_file(&other).map_err(|source| DataError::Write {
                path: other.clone(),
                source,
            })?;
            report.removed_invalid.push(other);
        }
        report.fetched.push(file.stem.to_string());
        report.recovered_failures.extend(failures);
    }
    Ok(report)
}

/// A verified response body.
struct Download {
    bytes: Vec<u8>,
    gzipped: bool,
}

/// A failed attempt and whether asking the same mirror again might help.
struct AttemptError {
    reason: String,
    retryable: bool,
}

fn make_agent(opts: &DownloadOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(opts.timeout))
        .timeout_per_read(Some(opts.timeout))
        .build()
        .into()
}

fn mirror_url(mirror: &str, file: &MnistFile) -> String {
    let sep = if mirror.ends_with('/') { "" } else { "/" };
    format!("{mirror}{sep}{}", file.gz_name())
}

/// Tries each mirror (with retries) until one delivers valid content; records every failure.
fn fetch_from_mirrors(
    agent: &ureq::Agent,
    file: &MnistFile,
    opts: &DownloadOptions,
    failures: &mut Vec<MirrorFailure>,
) -> Option<Download> {
    for mirror in &opts.mirrors {
        let url = mirror_url(mirror, file);
        for attempt in 0..=opts.retries_per_mirror {
            if attempt > 0 {
                thread::sleep(opts.retry_backoff * attempt);
            }
            match fetch_once(agent, &url, file) {
                Ok(download) => return Some(download),
                Err(e) => {
                    let reason = if attempt > 0 {
                        format!("{} (attempt {})", e.reason, attempt + 1)
                    } else {
                        e.reason
                    };
                    failures.push(MirrorFailure {
                        url: url.clone(),
                        reason,
                    });
                    if !e.retryable {
                        break;
                    }
                }
            }
        }
    }
    None
}

fn fetch_once(agent: &ureq::Agent, url: &str, file: &MnistFile) -> Result<Download, AttemptError> {
    let mut response = agent.get(url).call().map_err(classify)?;
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD)
        .read_to_vec()
        .map_err(classify)?;
    let gzipped = bytes.starts_with(&[0x1f, 0x8b]);
    let bytes = if gzipped {
        // Verify a copy; the archive itself is what gets stored.
        decode_verified(bytes.clone(), file).map_err(bad_content)?;
        bytes
    } else {
        decode_verified(bytes, file).map_err(bad_content)?
    };
    Ok(Download { bytes, gzipped })
}

fn bad_content(e: impl std::fmt::Display) -> AttemptError {
    AttemptError {
        reason: format!("downloaded content rejected: {e}"),
        retryable: false,
    }
}

fn classify(e: ureq::Error) -> AttemptError {
    let (reason, retryable) = match e {
        ureq::Error::StatusCode(code) => {
            (format!("HTTP status {code}"), code >= 500 || code == 429)
        }
        ureq::Error::TlsRequired => (
            "https:// needs TLS, which this build lacks (enable ureq's `rustls` feature, or \
             use an http:// mirror)"
                .to_string(),
            false,
        ),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => (
            format!("connection closed before the whole file arrived ({e})"),
            true,
        ),
        ureq::Error::Io(e) => (format!("I/O error: {e}"), true),
        ureq::Error::Timeout(t) => (format!("timed out ({t})"), true),
        ureq::Error::HostNotFound => ("host not found".to_string(), true),
        ureq::Error::ConnectionFailed => ("connection failed".to_string(), true),
        ureq::Error::BodyExceedsLimit(n) => (
            format!("response larger than {n} bytes; not an MNIST file"),
            false,
        ),
        other => (other.to_string(), false),
    };
    AttemptError { reason, retryable }
}
