//! MNIST loading and downloading, against the real data (found or fetched by `tests/testsuite/common.rs`).
//!
//! Downloads are exercised over loopback with a minimal HTTP/1.1 server whose mirrors can
//! serve good data, corrupt data, drop the connection mid-body, answer 404 or hang up.

use crate::common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::{fs, thread};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use harness_core::data::download::{DEFAULT_MIRRORS, DownloadOptions, download_mnist};
use harness_core::data::mnist::{
    DATA_DIR_ENV, DEFAULT_DATA_DIR, DataError, FILES, IMAGE_PIXELS, Mnist, load, load_cached,
    resolve_dir, resolve_dir_with,
};

const TRAIN_COUNTS: [usize; 10] = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

fn shared_dir() -> &'static Path {
    common::mnist_dir()
}

/// The verified real dataset, decoded once for the whole test binary.
fn reference() -> Arc<Mnist> {
    load_cached(shared_dir()).expect("the real MNIST must load")
}

/// `<stem>.gz` name -> archive bytes as stored in the data directory (a raw copy is gzipped).
fn archives() -> &'static HashMap<String, Vec<u8>> {
    static A: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    A.get_or_init(|| {
        FILES
            .iter()
            .map(|f| {
                let bytes = fs::read(shared_dir().join(f.gz_name()))
                    .unwrap_or_else(|_| gzip(&fs::read(shared_dir().join(f.stem)).unwrap()));
                (f.gz_name(), bytes)
            })
            .collect()
    })
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Valid gzip archives whose content has its last byte flipped: only the checksum can tell.
fn corrupt_archives() -> &'static HashMap<String, Vec<u8>> {
    static C: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        archives()
            .iter()
            .map(|(name, gz)| {
                let mut raw = gunzip(gz);
                *raw.last_mut().unwrap() ^= 0xff;
                (name.clone(), gzip(&raw))
            })
            .collect()
    })
}

/// Copies the shared `.gz` files into a fresh temporary directory.
fn copy_of_shared() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in archives() {
        fs::write(tmp.path().join(name), bytes).unwrap();
    }
    tmp
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn all_gz_names() -> Vec<String> {
    let mut names: Vec<String> = FILES.iter().map(|f| f.gz_name()).collect();
    names.sort();
    names
}

fn all_stems() -> Vec<String> {
    FILES.iter().map(|f| f.stem.to_string()).collect()
}

// ---------------------------------------------------------------- loading

#[test]
fn loads_real_mnist_with_expected_statistics() {
    let m = reference();
    assert_eq!((m.train.len, m.test.len), (60_000, 10_000));
    assert_eq!(m.train.images.len(), 60_000 * IMAGE_PIXELS);
    assert_eq!(m.test.images.len(), 10_000 * IMAGE_PIXELS);
    assert_eq!(m.train.labels.len(), 60_000);
    assert_eq!(m.test.labels.len(), 10_000);
    assert_eq!(m.train.label_counts(), TRAIN_COUNTS);
    assert_eq!(m.test.label_counts(), TEST_COUNTS);
    assert_eq!(m.train.labels[0], 5);

    let (min, max) = m
        .train
        .images
        .iter()
        .fold((u8::MAX, u8::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    assert_eq!((min, max), (0, 255));
    let mean = m.train.images.iter().map(|&p| u64::from(p)).sum::<u64>() as f64
        / m.train.images.len() as f64;
    assert!((mean - 33.318).abs() < 1e-3, "mean training pixel {mean}");
    // image(i) is the i-th 784-pixel row of the flat buffer.
    assert_eq!(m.train.image(1), &m.train.images[784..1568]);
}

#[test]
fn load_cached_shares_one_decode_per_directory() {
    let a = reference();
    // A different spelling of the same directory hits the same cache entry.
    let b = load_cached(&shared_dir().join(".")).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
}

#[test]
fn accepts_raw_and_mixed_files() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, f) in FILES.iter().enumerate() {
        let gz = &archives()[&f.gz_name()];
        // Mix the two forms: even files raw, odd files gzipped.
        if i % 2 == 0 {
            fs::write(tmp.path().join(f.stem), gunzip(gz)).unwrap();
        } else {
            fs::write(tmp.path().join(f.gz_name()), gz).unwrap();
        }
    }
    let m = load(tmp.path()).unwrap();
    assert_eq!(m, *reference());

    // All raw.
    for f in &FILES {
        let gz = tmp.path().join(f.gz_name());
        if gz.exists() {
            fs::write(tmp.path().join(f.stem), gunzip(&fs::read(&gz).unwrap())).unwrap();
            fs::remove_file(gz).unwrap();
        }
    }
    assert_eq!(file_names(tmp.path()), {
        let mut s = all_stems();
        s.sort();
        s
    });
    assert_eq!(load(tmp.path()).unwrap(), *reference());
}

#[test]
fn corrupt_content_is_a_checksum_error_naming_the_file() {
    let tmp = copy_of_shared();
    let name = "train-labels-idx1-ubyte.gz";
    fs::write(tmp.path().join(name), &corrupt_archives()[name]).unwrap();

    let err = load(tmp.path()).unwrap_err();
    let msg = err.to_string();
    let DataError::Checksum {
        path,
        expected,
        actual,
    } = &err
    else {
        panic!("expected a checksum error, got: {msg}");
    };
    assert_eq!(path, &tmp.path().join(name));
    assert_eq!(expected, FILES[1].sha256);
    assert_ne!(actual, expected);
    assert!(msg.contains(name), "{msg}");
    assert!(msg.contains("checksum"), "{msg}");
    assert!(
        msg.contains(expected) && msg.contains(actual.as_str()),
        "{msg}"
    );
    assert!(msg.contains("harness data mnist --data-dir"), "{msg}");
}

#[test]
fn damaged_gzip_stream_is_reported() {
    let tmp = copy_of_shared();
    let name = "t10k-labels-idx1-ubyte.gz";
    let mut bytes = archives()[name].clone();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    fs::write(tmp.path().join(name), bytes).unwrap();

    let err = load(tmp.path()).unwrap_err();
    let msg = err.to_string();
    // Flipped deflate bytes fail either in decoding/CRC or, rarely, decode to wrong content.
    assert!(
        matches!(err, DataError::Gzip { .. } | DataError::Checksum { .. }),
        "{msg}"
    );
    assert!(msg.contains(name), "{msg}");
}

#[test]
fn bad_idx_headers_are_explained() {
    let tmp = copy_of_shared();
    // Labels file with the images magic number.
    let mut labels = gunzip(&archives()["t10k-labels-idx1-ubyte.gz"]);
    labels[3] = 0x03; // 2049 -> 2051
    fs::remove_file(tmp.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    fs::write(tmp.path().join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let err = load(tmp.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::BadIdx { .. }), "{msg}");
    assert!(msg.contains("t10k-labels-idx1-ubyte"), "{msg}");
    assert!(msg.contains("magic number is 2051"), "{msg}");
    assert!(msg.contains("expected 2049"), "{msg}");

    // Truncated images file.
    let tmp = copy_of_shared();
    let images = gunzip(&archives()["t10k-images-idx3-ubyte.gz"]);
    fs::remove_file(tmp.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
    fs::write(
        tmp.path().join("t10k-images-idx3-ubyte"),
        &images[..images.len() - 100],
    )
    .unwrap();
    let msg = load(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("t10k-images-idx3-ubyte"), "{msg}");
    assert!(msg.contains("bad IDX header"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn missing_directory_error_is_actionable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("no-such-mnist");
    let err = load(&dir).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::DirNotFound { .. }), "{msg}");
    assert!(msg.contains(&dir.display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("harness data mnist --data-dir {}", dir.display())),
        "{msg}"
    );
    assert!(msg.contains("train-images-idx3-ubyte[.gz]"), "{msg}");
    assert!(load_cached(&dir).is_err());
}

#[test]
fn missing_files_are_all_listed() {
    let tmp = copy_of_shared();
    fs::remove_file(tmp.path().join("train-images-idx3-ubyte.gz")).unwrap();
    fs::remove_file(tmp.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = load(tmp.path()).unwrap_err();
    let msg = err.to_string();
    let DataError::MissingFiles { missing, .. } = &err else {
        panic!("expected MissingFiles, got: {msg}");
    };
    assert_eq!(
        missing,
        &vec!["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    );
    assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
    assert!(msg.contains("raw or as .gz"), "{msg}");
    assert!(msg.contains("harness data mnist --data-dir"), "{msg}");
}

#[test]
fn data_dir_search_order() {
    let explicit = Path::new("/x/explicit");
    let env = std::ffi::OsStr::new("/y/from-env");
    assert_eq!(resolve_dir_with(Some(explicit), Some(env)), explicit);
    assert_eq!(resolve_dir_with(None, Some(env)), Path::new(env));
    assert_eq!(
        resolve_dir_with(None, Some(std::ffi::OsStr::new(""))),
        Path::new(DEFAULT_DATA_DIR)
    );
    assert_eq!(resolve_dir_with(None, None), Path::new("data/mnist"));
    assert_eq!(resolve_dir(Some(explicit)), explicit);
    // Without an explicit dir, resolve_dir follows the real environment.
    let expected = match std::env::var_os(DATA_DIR_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    };
    assert_eq!(resolve_dir(None), expected);
}

// ---------------------------------------------------------------- loopback mirrors

#[derive(Clone, Copy)]
enum Mode {
    /// Serves the real archives.
    Good,
    /// Serves valid gzip whose content is corrupt.
    Corrupt,
    /// Sends headers with the full Content-Length, then half the body, then closes.
    DropMidBody,
    /// Answers 404 to everything.
    NotFound,
    /// Closes the connection without responding.
    HangUp,
}

struct Mirror {
    base: String,
    hits: Arc<AtomicUsize>,
}

impl Mirror {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Starts a one-request-per-connection HTTP/1.1 server on an ephemeral loopback port. The
/// accept thread lives until the test binary exits.
fn mirror(mode: Mode) -> Mirror {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/mnist/", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            thread::spawn(move || respond(stream, mode));
        }
    });
    Mirror { base, hits }
}

/// A port with nothing listening: connections are refused.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/mnist/")
}

fn respond(mut stream: TcpStream, mode: Mode) {
    if let Mode::HangUp = mode {
        return; // dropped: closes without a response
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    let body = match mode {
        Mode::Corrupt => corrupt_archives().get(name),
        Mode::NotFound => None,
        _ => archives().get(name),
    };
    let Some(body) = body else {
        let _ = stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        let _ = stream.shutdown(Shutdown::Write);
        return;
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let sent = match mode {
        Mode::DropMidBody => &body[..body.len() / 2],
        _ => &body[..],
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(sent);
    let _ = stream.shutdown(Shutdown::Both);
}

fn opts(mirrors: &[&str], retries: u32) -> DownloadOptions {
    DownloadOptions {
        mirrors: mirrors.iter().map(|m| m.to_string()).collect(),
        timeout: Duration::from_secs(10),
        retries_per_mirror: retries,
        retry_backoff: Duration::ZERO,
    }
}

#[test]
fn default_options_use_the_published_mirrors() {
    let o = DownloadOptions::default();
    assert_eq!(o.mirrors, DEFAULT_MIRRORS);
    assert!(o.timeout > Duration::ZERO);
}

#[test]
fn download_from_good_mirror_then_skip_when_present() {
    let good = mirror(Mode::Good);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested/mnist"); // created by the download
    let o = opts(&[&good.base], 0);

    let report = download_mnist(&dir, &o).unwrap();
    assert_eq!(report.fetched, all_stems());
    assert!(report.already_present.is_empty());
    assert!(report.recovered_failures.is_empty());
    assert_eq!(good.hits(), 4);
    // Exactly the four archives, stored as served, and no temporary files.
    assert_eq!(file_names(&dir), all_gz_names());
    for (name, bytes) in archives() {
        assert!(fs::read(dir.join(name)).unwrap() == *bytes, "{name}");
    }
    assert_eq!(load(&dir).unwrap(), *reference());

    let again = download_mnist(&dir, &o).unwrap();
    assert_eq!(again.already_present, all_stems());
    assert!(again.fetched.is_empty());
    assert_eq!(good.hits(), 4, "nothing re-downloaded");
}

#[test]
fn corrupt_first_mirror_falls_back_to_second() {
    let bad = mirror(Mode::Corrupt);
    let good = mirror(Mode::Good);
    let tmp = tempfile::tempdir().unwrap();
    // Retries allowed, but corrupt content is not retried on the same mirror.
    let report = download_mnist(tmp.path(), &opts(&[&bad.base, &good.base], 2)).unwrap();
    assert_eq!(report.fetched, all_stems());
    assert_eq!(bad.hits(), 4);
    assert_eq!(good.hits(), 4);
    assert_eq!(report.recovered_failures.len(), 4);
    for f in &report.recovered_failures {
        assert!(f.url.starts_with(&bad.base), "{f}");
        assert!(f.reason.contains("SHA-256"), "{f}");
    }
    assert_eq!(file_names(tmp.path()), all_gz_names());
    assert_eq!(load(tmp.path()).unwrap(), *reference());
}

#[test]
fn dropped_connection_is_retried_then_next_mirror_used() {
    let flaky = mirror(Mode::DropMidBody);
    let good = mirror(Mode::Good);
    let tmp = tempfile::tempdir().unwrap();
    let report = download_mnist(tmp.path(), &opts(&[&flaky.base, &good.base], 1)).unwrap();
    assert_eq!(report.fetched, all_stems());
    // A dropped connection is transient: one retry per file on the same mirror.
    assert_eq!(flaky.hits(), 8);
    assert_eq!(report.recovered_failures.len(), 8);
    assert!(
        report
            .recovered_failures
            .iter()
            .all(|f| f.url.starts_with(&flaky.base)),
        "{:?}",
        report.recovered_failures
    );
    assert_eq!(file_names(tmp.path()), all_gz_names());
    assert_eq!(load(tmp.path()).unwrap(), *reference());
}

#[test]
fn all_mirrors_failing_names_each_and_leaves_nothing() {
    let not_found = mirror(Mode::NotFound);
    let corrupt = mirror(Mode::Corrupt);
    let dropping = mirror(Mode::DropMidBody);
    let hang_up = mirror(Mode::HangUp);
    // https to a plain server fails either for lack of TLS support or in the handshake.
    let https = hang_up.base.replace("http://", "https://");
    let refused = closed_port_url();
    let mirrors = [
        not_found.base.as_str(),
        corrupt.base.as_str(),
        dropping.base.as_str(),
        hang_up.base.as_str(),
        https.as_str(),
        refused.as_str(),
    ];
    let tmp = tempfile::tempdir().unwrap();

    let err = download_mnist(tmp.path(), &opts(&mirrors, 0)).unwrap_err();
    let msg = err.to_string();
    let DataError::DownloadFailed { file, attempts, .. } = &err else {
        panic!("expected DownloadFailed, got: {msg}");
    };
    assert_eq!(file, "train-images-idx3-ubyte.gz");
    assert_eq!(attempts.len(), mirrors.len());
    for (attempt, mirror) in attempts.iter().zip(mirrors) {
        assert_eq!(attempt.url, format!("{mirror}train-images-idx3-ubyte.gz"));
        assert!(!attempt.reason.is_empty());
        assert!(msg.contains(&attempt.url), "{msg}");
    }
    assert!(attempts[0].reason.contains("404"), "{msg}");
    assert!(attempts[1].reason.contains("SHA-256"), "{msg}");
    assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
    // Nothing written: no archive, no raw file, no temporary file.
    assert!(
        file_names(tmp.path()).is_empty(),
        "{:?}",
        file_names(tmp.path())
    );
}

#[test]
fn invalid_existing_copy_is_replaced() {
    let good = mirror(Mode::Good);
    let tmp = copy_of_shared();
    // t10k labels present only as a corrupt raw file; the rest are valid.
    let name = "t10k-labels-idx1-ubyte";
    fs::remove_file(tmp.path().join(format!("{name}.gz"))).unwrap();
    let mut raw = gunzip(&archives()[&format!("{name}.gz")]);
    raw[100] ^= 1;
    fs::write(tmp.path().join(name), raw).unwrap();
    assert!(matches!(load(tmp.path()), Err(DataError::Checksum { .. })));

    // Mirror URL without a trailing slash is joined correctly.
    let base = good.base.trim_end_matches('/').to_string();
    let report = download_mnist(tmp.path(), &opts(&[&base], 0)).unwrap();
    assert_eq!(report.fetched, vec![name.to_string()]);
    assert_eq!(report.already_present.len(), 3);
    assert_eq!(report.removed_invalid, vec![tmp.path().join(name)]);
    assert_eq!(good.hits(), 1);
    assert_eq!(file_names(tmp.path()), all_gz_names());
    assert_eq!(load(tmp.path()).unwrap(), *reference());
}
