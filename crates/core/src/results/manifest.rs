//! `<run>/manifest.json`: the SHA-256 and size of every file a finished run keeps, written last
//! and atomically when the run ends (done or diverged), like a package lock. A file that no
//! longer matches it, or a finished run without it, is damage that `harness verify` reports and
//! that a sweep refuses to build on. Also the SHA-256 helpers every digest of a run folder uses
//! (the checkpoint's tensors and seal, the logs).

use super::{json, run_files};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One file's digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub sha256: String,
    pub size: u64,
}

/// `manifest.json`: every kept file by its path relative to the run folder (`/`-separated).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// SHA-256 of the file's text with this value replaced by [`UNSEALED`] ([`seal_text`]):
    /// damage to the manifest itself blames the manifest, not the file whose digest it hit.
    pub seal: String,
    /// `run.json`'s status when the manifest was written (`done` or `diverged`).
    pub status: String,
    /// Generator iterations completed.
    pub step: u32,
    pub files: BTreeMap<String, FileDigest>,
}

/// What is wrong with one file of a run folder against its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub path: PathBuf,
    pub problem: String,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A seal's placeholder while the seal is computed: as long as a digest, so sealing replaces
/// it in place.
pub const UNSEALED: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `text`, JSON whose first field is a seal holding [`UNSEALED`], with the seal set to the
/// SHA-256 of `text` itself: a change to any byte of the file afterwards breaks the seal.
/// Text-based, so no float or key-order round trip can break a sound file.
pub fn seal_text(text: &str) -> String {
    text.replacen(UNSEALED, &sha256_hex(text.as_bytes()), 1)
}

/// Whether `text`, sealed by [`seal_text`] with `seal`, is as it was sealed.
pub fn seal_holds(text: &str, seal: &str) -> bool {
    seal.len() == UNSEALED.len() && sha256_hex(text.replacen(seal, UNSEALED, 1).as_bytes()) == seal
}

/// Entries a manifest does not cover: the manifest itself, the lock (held or not, it carries no
/// results), the worker's stderr (appended by whoever runs the folder next), files moved aside
/// by `--restart`, and temporaries of an atomic write.
fn excluded(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or(rel);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    [
        run_files::MANIFEST,
        run_files::LOCK,
        run_files::WORKER_LOG,
        run_files::DISCARDED,
    ]
    .contains(&top)
        || name.starts_with(".tmp-")
}

/// Every kept file of the run folder `dir`, relative paths, sorted.
fn kept_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let e = e.with_context(|| format!("listing {}", dir.display()))?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(dir).unwrap_or(e.path());
        let rel = rel.to_string_lossy().replace('\\', "/");
        if !excluded(&rel) {
            out.push(rel);
        }
    }
    Ok(out)
}

fn digest_file(path: &Path) -> Result<FileDigest> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(FileDigest {
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
    })
}

/// Write `dir`'s manifest: the digest of every kept file as it is now. Called last, after
/// `run.json` records the end of the run (and again after `harness eval` rescored it).
pub fn write(dir: &Path, status: &str, step: u32) -> Result<()> {
    let mut files = BTreeMap::new();
    for rel in kept_files(dir)? {
        files.insert(rel.clone(), digest_file(&dir.join(&rel))?);
    }
    let m = Manifest {
        seal: UNSEALED.into(),
        status: status.into(),
        step,
        files,
    };
    let text = seal_text(&serde_json::to_string_pretty(&m)?);
    crate::results::atomic_file::write_atomic(&dir.join(run_files::MANIFEST), text.as_bytes())
}

/// `dir`'s manifest; `Ok(None)` when it has none, an error when it does not parse or its seal
/// does not hold.
pub fn read(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(run_files::MANIFEST);
    if !path.exists() {
        return Ok(None);
    }
    let m: Manifest = json::read(&path)?;
    let text = std::fs::read_to_string(&path)?;
    anyhow::ensure!(
        seal_holds(&text, &m.seal),
        "its text no longer hashes to its seal (it was edited or damaged after the run ended)"
    );
    Ok(Some(m))
}

/// Every file of `dir` that disagrees with `m`: changed, missing, or not in it.
pub fn check(dir: &Path, m: &Manifest) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let on_disk = kept_files(dir).unwrap_or_default();
    for (rel, want) in &m.files {
        let path = dir.join(rel);
        let problem = match digest_file(&path) {
            Err(_) if !path.exists() => "is missing (the manifest lists it)".to_string(),
            Err(e) => format!("cannot be read: {e:#}"),
            Ok(got) if got == *want => continue,
            Ok(got) if got.size != want.size => format!(
                "has {} bytes where the manifest recorded {} (it was changed after the run ended)",
                got.size, want.size
            ),
            Ok(_) => "its SHA-256 differs from the one the manifest recorded (it was changed \
                      after the run ended)"
                .to_string(),
        };
        out.push(Mismatch { path, problem });
    }
    for rel in on_disk.iter().filter(|r| !m.files.contains_key(*r)) {
        out.push(Mismatch {
            path: dir.join(rel),
            problem: "is not in the manifest (it was added after the run ended)".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_added_or_missing_file_is_named_and_the_lock_is_not() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path();
        std::fs::create_dir_all(run.join("samples")).unwrap();
        std::fs::write(run.join("metrics.csv"), "step\n1\n").unwrap();
        std::fs::write(run.join("samples/step_00000001.csv"), "x,y\n").unwrap();
        write(run, "done", 1).unwrap();
        let m = read(run).unwrap().unwrap();
        assert_eq!(m.files.len(), 2, "{m:?}");
        assert!(check(run, &m).is_empty());
        std::fs::write(run.join(run_files::LOCK), "pid@host").unwrap();
        assert!(check(run, &m).is_empty(), "the lock is not a result");
        std::fs::write(run.join("metrics.csv"), "step\n2\n").unwrap();
        std::fs::remove_file(run.join("samples/step_00000001.csv")).unwrap();
        std::fs::write(run.join("extra.csv"), "").unwrap();
        let bad: Vec<String> = check(run, &m)
            .iter()
            .map(|x| format!("{} {}", x.path.display(), x.problem))
            .collect();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].contains("metrics.csv") && bad[0].contains("SHA-256"));
        assert!(bad[1].contains("step_00000001.csv") && bad[1].contains("missing"));
        assert!(bad[2].contains("extra.csv") && bad[2].contains("not in the manifest"));
    }
}
