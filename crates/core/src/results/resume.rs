//! What a resume may trust, and how a run that cannot be resumed starts over.
//!
//! A resume continues from the latest checkpoint and the logs written with it. Both are checked
//! first (the checkpoint's state against its folder and the configuration, each log against the
//! checkpoint's step and the digests the checkpoint recorded of it); anything that does not
//! agree is a [`Refusal`] naming the file and what is wrong, never a run that finishes `done`
//! with wrong CSVs. [`discard`] is the fix: it moves a run's files aside (nothing a user
//! produced is deleted) so the run trains again from step 0.

use crate::results::run_files;
use crate::results::store::RunLock;
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// A checkpoint or log that a resume cannot trust: `path` and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct Refusal {
    pub path: PathBuf,
    pub problem: String,
}

impl Refusal {
    pub fn new(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// The refusal in `err`'s chain, if it is one.
    pub fn find(err: &anyhow::Error) -> Option<&Refusal> {
        err.chain().find_map(|e| e.downcast_ref::<Refusal>())
    }
}

/// Where [`discard`] moves a run's files: `<run>/discarded/<UTC time>/`.
pub fn discarded_dir(run: &Path, stamp: &str) -> PathBuf {
    run.join(run_files::DISCARDED).join(stamp)
}

/// Move every file of the run folder `run` (checkpoint, logs, samples, records, config) into
/// `<run>/discarded/<UTC time>/`, so the next attempt trains from step 0, and return that
/// folder. The run's lock is held meanwhile: a run being trained right now is an error.
pub fn discard(run: &Path) -> Result<PathBuf> {
    let aside = set_aside_broken_lock(run)?;
    let Some(lock) = RunLock::try_acquire(run)? else {
        bail!(
            "{} is being trained right now; stop that worker first, or let it finish",
            run.display()
        );
    };
    lock.remove_stale_temporaries(run);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut to = discarded_dir(run, &stamp);
    for n in 2.. {
        if !to.exists() {
            break;
        }
        to = discarded_dir(run, &format!("{stamp}-{n}"));
    }
    fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
    if let Some(from) = aside {
        let dest = to.join(run_files::LOCK);
        fs::rename(&from, &dest)
            .with_context(|| format!("moving {} into {}", from.display(), to.display()))?;
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(run)
        .with_context(|| format!("reading {}", run.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", run.display()))?;
    entries.sort();
    for from in entries {
        let name = from.file_name().unwrap_or_default();
        if name == run_files::LOCK || name == run_files::DISCARDED {
            continue;
        }
        fs::rename(&from, to.join(name))
            .with_context(|| format!("moving {} into {}", from.display(), to.display()))?;
    }
    drop(lock);
    Ok(to)
}

/// A `lock` that is not a file (a directory put there by hand) cannot be locked: renamed to a
/// hidden name so the lock can be taken, and returned so [`discard`] keeps it with the rest.
fn set_aside_broken_lock(run: &Path) -> Result<Option<PathBuf>> {
    let lock = run.join(run_files::LOCK);
    if !lock.exists() || lock.is_file() {
        return Ok(None);
    }
    let aside = run.join(".broken-lock");
    fs::rename(&lock, &aside).with_context(|| format!("moving {} aside", lock.display()))?;
    Ok(Some(aside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discard_moves_everything_but_the_lock_and_earlier_discards() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("abc");
        fs::create_dir_all(run.join("checkpoints/step-00000004")).unwrap();
        fs::write(run.join("checkpoints/step-00000004/state.json"), "{").unwrap();
        fs::write(run.join("metrics.csv"), "step\n1\n").unwrap();
        let first = discard(&run).unwrap();
        let second = {
            fs::write(run.join("metrics.csv"), "step\n2\n").unwrap();
            discard(&run).unwrap()
        };
        assert_ne!(first, second);
        assert_eq!(
            fs::read_to_string(first.join("metrics.csv")).unwrap(),
            "step\n1\n"
        );
        assert!(first.join("checkpoints/step-00000004/state.json").exists());
        assert_eq!(
            fs::read_to_string(second.join("metrics.csv")).unwrap(),
            "step\n2\n"
        );
        let left: Vec<_> = fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
