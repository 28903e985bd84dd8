//! A run's lock, `<run>/lock`: an OS lock held while a process trains the run, with its owner
//! (`pid@host`) inside, followed by ` stopping` once that owner has been asked to stop.
//!
//! The mark exists for the moments after a stop: a stopped worker still finishes its step,
//! writes its checkpoint and exits, holding the lock meanwhile (about half a second for a small
//! run, longer for a large one). A sweep started then must not take the run for one trained
//! elsewhere and skip it: it sees the mark and waits for the lock instead ([`RunLock::acquire`]),
//! and `status` counts the run as interrupted, as the next sweep will treat it.

use crate::results::run_files;
use crate::stop::StopFlag;
use anyhow::{Context, Result};
use fs4::fs_std::FileExt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a holder appends to its owner tag once it has been asked to stop.
const STOPPING: &str = " stopping";

/// The longest [`RunLock::acquire`] waits for a stopping holder to let go: its last step and
/// checkpoint take seconds even for a large run; one that takes longer is left to finish and
/// the run reported as running elsewhere.
pub const STOPPING_WAIT: Duration = Duration::from_secs(60);

/// How often a waiter looks at a lock again, and a holder at its stop flag.
const POLL: Duration = Duration::from_millis(20);

/// Who holds a run's lock, as another process sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Nobody: the run can be taken.
    Free,
    /// A live process training the run (its `pid@host`, empty if it has not written it yet).
    Training(String),
    /// A live process that was asked to stop and is saving its last checkpoint: it lets go
    /// within seconds.
    Stopping(String),
}

/// An exclusive advisory lock on `<run>/lock`, held for the life of the value.
///
/// The kernel drops an flock when its process dies, so a lock left by a killed worker is not
/// held by anyone: the next worker takes it over and reports the stale owner it replaced.
pub struct RunLock {
    file: File,
    /// `pid@host` of a previous owner that died without cleaning up, if any.
    pub took_over_from: Option<String>,
}

impl RunLock {
    /// Try to take the lock; `Ok(None)` when another live process holds it.
    pub fn try_acquire(dir: &Path) -> Result<Option<RunLock>> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(run_files::LOCK);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match FileExt::try_lock_exclusive(&file) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("locking {}", path.display())),
        }
        // The owner tag is informational: bytes that are not UTF-8 (a damaged lock) are shown
        // lossily, never an error that stops every later sweep.
        let mut previous = Vec::new();
        file.read_to_end(&mut previous)
            .with_context(|| format!("reading {}", path.display()))?;
        let previous = String::from_utf8_lossy(&previous).trim().to_string();
        let me = owner_tag();
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(me.as_bytes())?;
        file.sync_all()?;
        Ok(Some(RunLock {
            file,
            took_over_from: (!previous.is_empty() && previous != me).then_some(previous),
        }))
    }

    /// Take the lock, waiting (up to [`STOPPING_WAIT`]) while its holder is stopping, so that a
    /// run whose worker is saving its last checkpoint is resumed, not skipped. `Ok(None)` when
    /// a live process is training the run, or when `stop` is set meanwhile.
    pub fn acquire(dir: &Path, stop: &StopFlag) -> Result<Option<RunLock>> {
        let start = Instant::now();
        loop {
            if let Some(lock) = Self::try_acquire(dir)? {
                return Ok(Some(lock));
            }
            match Self::holder(dir) {
                Holder::Training(_) => return Ok(None),
                _ if start.elapsed() >= STOPPING_WAIT || stop.signal().is_some() => {
                    return Ok(None);
                }
                // Stopping, or let go since the attempt above: look again.
                _ => std::thread::sleep(POLL),
            }
        }
    }

    /// Remove the temporary files an interrupted atomic write left in the run folder `dir`
    /// (a SIGKILL between create and rename). Only the lock's holder writes there, so while
    /// it is held every `.tmp-*` file is stale.
    pub fn remove_stale_temporaries(&self, dir: &Path) {
        let stale = walkdir::WalkDir::new(dir)
            .max_depth(3)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_type().is_file()
                    && e.file_name()
                        .to_string_lossy()
                        .starts_with(crate::results::atomic_file::TEMP_PREFIX)
            });
        for e in stale {
            if let Err(err) = fs::remove_file(e.path()) {
                eprintln!("note: cannot remove {}: {err}", e.path().display());
            }
        }
    }

    /// Mark the lock ` stopping` as soon as `stop` is set, until the returned guard is dropped:
    /// a thread watches the flag, since the training loop only looks at it between steps and a
    /// process started meanwhile must see the mark within milliseconds of the signal.
    pub fn mark_when_stopped(&self, stop: &StopFlag) -> StopMark<'_> {
        let done = Arc::new(AtomicBool::new(false));
        let watcher = self.file.try_clone().ok().map(|file| {
            let (done, stop) = (done.clone(), stop.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    if stop.signal().is_some() {
                        let tag = format!("{}{STOPPING}", owner_tag());
                        // Longer than the tag it replaces: one positioned write, no truncation
                        // (a reader never sees an empty owner).
                        let _ = std::os::unix::fs::FileExt::write_at(&file, tag.as_bytes(), 0);
                        return;
                    }
                    std::thread::park_timeout(POLL);
                }
            })
        });
        StopMark {
            done,
            watcher,
            _lock: std::marker::PhantomData,
        }
    }

    /// Who holds the lock of `dir`, if anyone.
    pub fn holder(dir: &Path) -> Holder {
        let Ok(mut file) = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(run_files::LOCK))
        else {
            return Holder::Free;
        };
        if let Ok(true) = FileExt::try_lock_exclusive(&file) {
            let _ = FileExt::unlock(&file);
            return Holder::Free;
        }
        let mut tag = Vec::new();
        let _ = file.read_to_end(&mut tag);
        let tag = String::from_utf8_lossy(&tag).trim().to_string();
        match tag.strip_suffix(STOPPING) {
            Some(owner) => Holder::Stopping(owner.to_string()),
            None => Holder::Training(tag),
        }
    }

    /// Whether some live process holds the lock of `dir` (training or stopping).
    pub fn is_held(dir: &Path) -> bool {
        Self::holder(dir) != Holder::Free
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Clear the owner so the next taker does not report a takeover, then unlock.
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

/// [`RunLock::mark_when_stopped`]'s watcher, stopped and joined on drop (before the lock it
/// marks is released: it borrows it).
pub struct StopMark<'a> {
    done: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
    _lock: std::marker::PhantomData<&'a RunLock>,
}

impl Drop for StopMark<'_> {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(w) = self.watcher.take() {
            w.thread().unpark();
            let _ = w.join();
        }
    }
}

/// `pid@host` of this process, what a holder writes into its lock.
fn owner_tag() -> String {
    format!("{}@{}", std::process::id(), super::store::host_name())
}

/// Wait up to `patience` until none of the run folders `dirs` is held by a process that
/// trains it without having been asked to stop, and return how many still are. A process
/// started right after a stop may find a lock whose holder has the signal on its way (a sweep
/// passes it on to its workers every 50 ms) but has not yet marked the lock: this gives that
/// holder time to mark it, once for a whole sweep rather than per run.
pub fn settle(dirs: &[&Path], patience: Duration) -> usize {
    let start = Instant::now();
    loop {
        let training = dirs
            .iter()
            .filter(|d| matches!(RunLock::holder(d), Holder::Training(_)))
            .count();
        if training == 0 || start.elapsed() >= patience {
            return training;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A held lock reads as training; once the holder's stop flag is set it reads as stopping
    /// within the watcher's poll, and `acquire` from another handle then waits for the release
    /// instead of giving up; dropping the lock frees it and clears the mark.
    #[test]
    fn a_stopping_holder_is_marked_and_waited_for() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run");
        let lock = RunLock::try_acquire(&run).unwrap().unwrap();
        let me = owner_tag();
        assert_eq!(RunLock::holder(&run), Holder::Training(me.clone()));
        assert!(
            RunLock::acquire(&run, &StopFlag::default())
                .unwrap()
                .is_none(),
            "a live holder"
        );
        let stop = StopFlag::default();
        let mark = lock.mark_when_stopped(&stop);
        assert_eq!(settle(&[run.as_path()], Duration::ZERO), 1);
        stop.request(crate::stop::SIGTERM);
        let left = settle(&[run.as_path()], Duration::from_secs(5));
        assert_eq!(left, 0, "not marked within 5 s");
        assert_eq!(RunLock::holder(&run), Holder::Stopping(me));
        let released = Instant::now();
        let taker = {
            let run = run.clone();
            std::thread::spawn(move || {
                let lock = RunLock::acquire(&run, &StopFlag::default()).unwrap();
                lock.map(|_| Instant::now())
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        drop(mark);
        drop(lock);
        let taken = taker.join().unwrap().expect("the waiter takes the lock");
        assert!(taken.duration_since(released) >= Duration::from_millis(300));
        assert_eq!(RunLock::holder(&run), Holder::Free);
        assert_eq!(
            std::fs::read_to_string(run.join(run_files::LOCK)).unwrap(),
            ""
        );
    }

    /// A watcher whose run ends without a stop leaves the tag as it was.
    #[test]
    fn no_stop_no_mark() {
        let d = tempfile::tempdir().unwrap();
        let lock = RunLock::try_acquire(d.path()).unwrap().unwrap();
        drop(lock.mark_when_stopped(&StopFlag::default()));
        assert_eq!(
            RunLock::holder(d.path()),
            Holder::Training(owner_tag()),
            "marked without a stop"
        );
    }
}
