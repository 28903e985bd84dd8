//! MNIST: locating the data directory, verifying file content and parsing IDX files.
//!
//! Each of the four files may be stored raw (`train-images-idx3-ubyte`) or gzipped
//! (`train-images-idx3-ubyte.gz`). Checksums are taken over the *decompressed* bytes because
//! gzip archives of the same data differ between mirrors (timestamps, compression level) while
//! the IDX content is identical, so hashing the archive would reject perfectly good copies.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// MNIST's classes (the digits), which the evaluator classifies.
pub const N_CLASSES: usize = 10;

use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Side length of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (`28 * 28`), the stride of [`MnistSplit::images`].
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// IDX magic number of an unsigned-byte 3-D array (the image files).
pub const IMAGES_MAGIC: u32 = 2051;
/// IDX magic number of an unsigned-byte 1-D array (the label files).
pub const LABELS_MAGIC: u32 = 2049;
/// Environment variable consulted by [`resolve_dir`] when no `--data-dir` is given.
pub const DATA_DIR_ENV: &str = "HARNESS_DATA_DIR";
/// Fallback data directory, relative to the current working directory.
pub const DEFAULT_DATA_DIR: &str = "data/mnist";

/// Upper bound on a decompressed file; the largest (train images) is 47 MB. Guards against a
/// hostile or broken mirror serving a gzip bomb.
const MAX_DECOMPRESSED: u64 = 64 << 20;
const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// One of the four MNIST files and the SHA-256 of its decompressed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MnistFile {
    /// File name without `.gz`, e.g. `"train-images-idx3-ubyte"`.
    pub stem: &'static str,
    /// Lower-case hex SHA-256 of the raw (decompressed) IDX bytes.
    pub sha256: &'static str,
}

impl MnistFile {
    /// Name of the gzipped form, `<stem>.gz`.
    pub fn gz_name(&self) -> String {
        format!("{}.gz", self.stem)
    }

    /// Whether this is an image file (IDX3) rather than a label file (IDX1).
    pub fn is_images(&self) -> bool {
        self.stem.contains("-images-")
    }

    /// The paths tried for this file in `dir`, in order: raw first (no decompression needed),
    /// then `.gz`.
    pub fn candidates(&self, dir: &Path) -> [PathBuf; 2] {
        [dir.join(self.stem), dir.join(self.gz_name())]
    }
}

/// The four MNIST files, in the order train images, train labels, test images, test labels.
pub const FILES: [MnistFile; 4] = [
    MnistFile {
        stem: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    MnistFile {
        stem: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    MnistFile {
        stem: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    MnistFile {
        stem: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// One split (train or test): `len` images of 28x28 `u8` pixels, row-major, and their labels.
#[derive(Clone, PartialEq, Eq)]
pub struct MnistSplit {
    /// `len * 784` pixels, image `i` at `i * 784 .. (i + 1) * 784`, rows top to bottom.
    pub images: Vec<u8>,
    /// `len` digit labels in `0..=9`.
    pub labels: Vec<u8>,
    /// Number of examples.
    pub len: usize,
}

impl MnistSplit {
    /// The 784 pixels of image `i`. Panics if `i >= len`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// How many examples carry each digit.
    pub fn label_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }
}

/// Summarised so that `{:?}` on a dataset does not print 47 million numbers.
impl fmt::Debug for MnistSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MnistSplit")
            .field("len", &self.len)
            .field("images", &format_args!("[u8; {}]", self.images.len()))
            .field("labels", &format_args!("[u8; {}]", self.labels.len()))
            .finish()
    }
}

/// The full dataset: 60 000 training and 10 000 test examples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    /// The 60 000 training examples (`train-*` files).
    pub train: MnistSplit,
    /// The 10 000 test examples (`t10k-*` files).
    pub test: MnistSplit,
}

/// Why one mirror failed to deliver one file (see [`DataError::DownloadFailed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFailure {
    /// The full URL requested.
    pub url: String,
    /// Human-readable cause: HTTP status, I/O error, checksum mismatch, ...
    pub reason: String,
}

impl fmt::Display for MirrorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.reason)
    }
}

/// Errors from locating, verifying, parsing or downloading MNIST. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data directory does not exist (or is not a directory).
    #[error(
        "MNIST data directory {}{} does not exist.\n  Expected files (each raw or .gz): {}\n  \
         Fetch them with: {}\n  (The directory comes from --data-dir, else ${DATA_DIR_ENV}, \
         else ./{DEFAULT_DATA_DIR}.)",
        dir.display(), absolute_note(dir), expected_files(), fetch_command(dir)
    )]
    DirNotFound {
        /// The directory as given (possibly relative).
        dir: PathBuf,
    },

    /// The directory exists but some files are absent under both the raw and `.gz` names.
    #[error(
        "MNIST data directory {} is missing {} of 4 files: {} (each accepted raw or as .gz).\n  \
         Fetch them with: {}",
        dir.display(), missing.len(), missing.join(", "), fetch_command(dir)
    )]
    MissingFiles {
        /// The directory searched.
        dir: PathBuf,
        /// Stems of the absent files, in [`FILES`] order.
        missing: Vec<&'static str>,
    },

    /// Reading a file failed for a reason other than it being absent.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory that could not be read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A file that looks gzipped (or is named `.gz`) could not be decompressed.
    #[error(
        "{} is not a valid gzip archive ({source}). Delete it and re-download with: {}",
        path.display(), fetch_command(parent_dir(path))
    )]
    Gzip {
        /// The file that failed to decompress.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },

    /// The decompressed content does not hash to the published value.
    #[error(
        "checksum mismatch for {}: SHA-256 of the decompressed content is {actual}, expected \
         {expected}. The file is corrupt or not the official MNIST data; delete it and \
         re-download with: {}",
        path.display(), fetch_command(parent_dir(path))
    )]
    Checksum {
        /// The file whose content is wrong.
        path: PathBuf,
        /// Published SHA-256 (hex) of the decompressed content.
        expected: String,
        /// SHA-256 (hex) actually found.
        actual: String,
    },

    /// The IDX header is malformed or inconsistent with the file size.
    #[error(
        "{}: bad IDX header: {reason}. The file is corrupt or not this MNIST file; delete it \
         and re-download with: {}",
        path.display(), fetch_command(parent_dir(path))
    )]
    BadIdx {
        /// The offending file.
        path: PathBuf,
        /// What was wrong, e.g. the magic number found versus expected.
        reason: String,
    },

    /// Every mirror failed for one file; `attempts` lists each URL tried and why.
    #[error(
        "could not download {file} into {}: every mirror failed:{}",
        dir.display(), format_attempts(attempts)
    )]
    DownloadFailed {
        /// The archive name requested, e.g. `train-images-idx3-ubyte.gz`.
        file: String,
        /// The target directory.
        dir: PathBuf,
        /// Every URL tried, in order, with the reason it failed.
        attempts: Vec<MirrorFailure>,
    },

    /// Creating the directory or writing a downloaded file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Why a byte buffer is not a valid copy of an MNIST file. Kept separate from [`DataError`]
/// because the same check serves files on disk and HTTP responses, which report differently.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The bytes start with the gzip magic but do not decompress.
    #[error("invalid gzip data: {0}")]
    Gzip(#[source] io::Error),
    /// The IDX header is malformed or disagrees with the size; the text says how.
    #[error("bad IDX header: {0}")]
    Header(String),
    /// Well-formed, but not the published content.
    #[error("SHA-256 of the decompressed content is {actual}, expected {expected}")]
    Checksum {
        /// Published SHA-256 (hex).
        expected: &'static str,
        /// SHA-256 (hex) of the bytes given.
        actual: String,
    },
}

impl ContentError {
    /// Attaches the file path, producing the user-facing error.
    fn at(self, path: &Path) -> DataError {
        let path = path.to_path_buf();
        match self {
            ContentError::Gzip(source) => DataError::Gzip { path, source },
            ContentError::Header(reason) => DataError::BadIdx { path, reason },
            ContentError::Checksum { expected, actual } => DataError::Checksum {
                path,
                expected: expected.to_string(),
                actual,
            },
        }
    }
}

/// The directory to load from: `explicit` (`--data-dir`), else `$HARNESS_DATA_DIR` if set and
/// non-empty, else `data/mnist` relative to the current directory.
pub fn resolve_dir(explicit: Option<&Path>) -> PathBuf {
    resolve_dir_with(explicit, std::env::var_os(DATA_DIR_ENV).as_deref())
}

/// [`resolve_dir`] with the environment value passed in, so the search order can be tested
/// without mutating the process environment (unsound while other threads read it).
pub fn resolve_dir_with(explicit: Option<&Path>, env_value: Option<&OsStr>) -> PathBuf {
    match (explicit, env_value) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some(dir)) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// Decompresses `bytes` if they are gzip (detected by magic, not by name, so a mislabelled
/// file still works), checks the IDX header for `file`'s kind, then verifies the SHA-256.
/// Returns the raw IDX bytes, header included.
///
/// The header is checked before the hash so that a wrong file (e.g. labels saved under an
/// image name) gets a specific message instead of a bare checksum mismatch.
pub fn decode_verified(bytes: Vec<u8>, file: &MnistFile) -> Result<Vec<u8>, ContentError> {
    let raw = if is_gzip(&bytes) {
        gunzip(&bytes).map_err(ContentError::Gzip)?
    } else {
        bytes
    };
    check_header(&raw, file).map_err(ContentError::Header)?;
    let actual = hex::encode(Sha256::digest(&raw));
    if actual != file.sha256 {
        return Err(ContentError::Checksum {
            expected: file.sha256,
            actual,
        });
    }
    Ok(raw)
}

/// Reads and verifies `file` from `dir`, trying the raw name, then `<stem>.gz`; returns the
/// path that verified and its raw IDX bytes. A candidate that exists but is invalid does not
/// stop the search (a good `.gz` next to a corrupt raw copy still loads); if none verifies,
/// the first candidate's error is returned, or [`DataError::MissingFiles`] if none exists.
pub fn read_verified(dir: &Path, file: &MnistFile) -> Result<(PathBuf, Vec<u8>), DataError> {
    let mut first_err = None;
    for path in file.candidates(dir) {
        let bytes = match read_bounded(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                first_err.get_or_insert(DataError::Io { path, source });
                continue;
            }
        };
        match decode_verified(bytes, file) {
            Ok(raw) => return Ok((path, raw)),
            Err(e) => {
                first_err.get_or_insert(e.at(&path));
            }
        }
    }
    Err(first_err.unwrap_or_else(|| DataError::MissingFiles {
        dir: dir.to_path_buf(),
        missing: vec![file.stem],
    }))
}

/// Reads a data file whole, refusing what is not a regular file (a FIFO would block forever, a
/// link to `/dev/zero` never ends) and anything larger than an MNIST file can be, before
/// reading it.
fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::other(
            "not a regular file (a device, FIFO or directory); MNIST files are plain files: \
             delete it and fetch the data with `harness data mnist`",
        ));
    }
    if meta.len() > MAX_DECOMPRESSED {
        return Err(io::Error::other(format!(
            "{} bytes, larger than any MNIST file ({MAX_DECOMPRESSED} bytes at most)",
            meta.len()
        )));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)?
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(io::Error::other(
            "grew past the size of any MNIST file while read",
        ));
    }
    Ok(out)
}

/// Loads and verifies all four files from `dir` (decoded in parallel, since gunzip + SHA-256
/// of the 47 MB training images dominates start-up).
pub fn load(dir: &Path) -> Result<Mnist, DataError> {
    if !dir.is_dir() {
        return Err(DataError::DirNotFound {
            dir: dir.to_path_buf(),
        });
    }
    // Report every missing file at once, so one fetch command fixes everything.
    let missing: Vec<&'static str> = FILES
        .iter()
        .filter(|f| !f.candidates(dir).iter().any(|p| p.exists()))
        .map(|f| f.stem)
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
        });
    }
    let decoded: Vec<_> = FILES.par_iter().map(|f| read_verified(dir, f)).collect();
    let Ok([train_images, train_labels, test_images, test_labels]) = <[_; 4]>::try_from(decoded)
    else {
        unreachable!("one result per file")
    };
    Ok(Mnist {
        train: make_split(train_images?, train_labels?)?,
        test: make_split(test_images?, test_labels?)?,
    })
}

/// Like [`load`], but decodes each directory once per process and shares the result, so tests
/// and evaluators that each need MNIST do not pay for decoding repeatedly. Keyed by the
/// canonical path, so `data/mnist` and `./data/mnist` share an entry. The lock is held while
/// loading, so concurrent callers wait rather than decode the same files twice. Errors are not
/// cached; files changed on disk after the first load are not noticed.
pub fn load_cached(dir: &Path) -> Result<Arc<Mnist>, DataError> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Mnist>>>> = OnceLock::new();
    if !dir.is_dir() {
        return Err(DataError::DirNotFound {
            dir: dir.to_path_buf(),
        });
    }
    let key = dir.canonicalize().map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    // A panic while loading leaves the map itself consistent, so poisoning is ignored.
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(mnist) = cache.get(&key) {
        return Ok(Arc::clone(mnist));
    }
    let mnist = Arc::new(load(dir)?);
    cache.insert(key, Arc::clone(&mnist));
    Ok(mnist)
}

/// Strips the IDX headers and checks that images and labels agree on the count.
fn make_split(
    (images_path, mut images): (PathBuf, Vec<u8>),
    (labels_path, mut labels): (PathBuf, Vec<u8>),
) -> Result<MnistSplit, DataError> {
    // Headers were validated by `decode_verified`, so these lengths are exact.
    images.drain(..IMAGES_HEADER);
    labels.drain(..LABELS_HEADER);
    let len = labels.len();
    if images.len() != len * IMAGE_PIXELS {
        return Err(DataError::BadIdx {
            path: images_path,
            reason: format!(
                "holds {} images but {} has {len} labels",
                images.len() / IMAGE_PIXELS,
                labels_path.display()
            ),
        });
    }
    Ok(MnistSplit {
        images,
        labels,
        len,
    })
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    // ISIZE (last 4 bytes) is the uncompressed size mod 2^32: a good capacity hint.
    let hint = bytes
        .last_chunk::<4>()
        .map_or(0, |b| u32::from_le_bytes(*b) as u64)
        .min(MAX_DECOMPRESSED);
    let mut out = Vec::with_capacity(hint as usize);
    MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(io::Error::other(format!(
            "decompresses to more than {MAX_DECOMPRESSED} bytes; no MNIST file is that large"
        )));
    }
    Ok(out)
}

fn be_u32(raw: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]])
}

/// Validates magic number, image dimensions and that the size matches the declared count.
fn check_header(raw: &[u8], file: &MnistFile) -> Result<(), String> {
    let (magic, header, what) = if file.is_images() {
        (IMAGES_MAGIC, IMAGES_HEADER, "images")
    } else {
        (LABELS_MAGIC, LABELS_HEADER, "labels")
    };
    if raw.len() < header {
        return Err(format!(
            "file is {} bytes, shorter than the {header}-byte IDX {what} header (truncated?)",
            raw.len()
        ));
    }
    let found = be_u32(raw, 0);
    if found != magic {
        let looks_like = match found {
            IMAGES_MAGIC => " (that of an IDX image file)",
            LABELS_MAGIC => " (that of an IDX label file)",
            _ => "",
        };
        return Err(format!(
            "magic number is {found}{looks_like}, expected {magic} for {what}"
        ));
    }
    let count = be_u32(raw, 4) as usize;
    let item = if file.is_images() {
        let (rows, cols) = (be_u32(raw, 8), be_u32(raw, 12));
        if (rows as usize, cols as usize) != (IMAGE_SIDE, IMAGE_SIDE) {
            return Err(format!(
                "images are {rows}x{cols}, expected {IMAGE_SIDE}x{IMAGE_SIDE}"
            ));
        }
        IMAGE_PIXELS
    } else {
        1
    };
    let body = raw.len() - header;
    if body != count * item {
        return Err(format!(
            "header declares {count} {what} ({} bytes) but {body} bytes follow the header{}",
            count * item,
            if body < count * item {
                " (truncated?)"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// The command that fetches the data into `dir`, quoted for a POSIX shell when needed.
pub fn fetch_command(dir: &Path) -> String {
    let s = dir.display().to_string();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:=@".contains(c));
    if plain {
        format!("harness data mnist --data-dir {s}")
    } else {
        format!(
            "harness data mnist --data-dir '{}'",
            s.replace('\'', r"'\''")
        )
    }
}

fn expected_files() -> String {
    FILES
        .iter()
        .map(|f| format!("{}[.gz]", f.stem))
        .collect::<Vec<_>>()
        .join(", ")
}

/// For a relative `dir`, where it points, since "data/mnist does not exist" is ambiguous
/// without knowing the current directory.
fn absolute_note(dir: &Path) -> String {
    if dir.is_absolute() {
        return String::new();
    }
    match std::path::absolute(dir) {
        Ok(abs) => format!(" (resolved to {})", abs.display()),
        Err(_) => String::new(),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn format_attempts(attempts: &[MirrorFailure]) -> String {
    if attempts.is_empty() {
        return " (no mirrors configured)".to_string();
    }
    attempts.iter().map(|a| format!("\n  - {a}")).collect()
}
