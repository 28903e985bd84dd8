//! Stop requests: SIGTERM or SIGINT asks a run (or a sweep) to stop at the end of its current
//! step, checkpoint, and exit with the conventional code (128 + the signal: 143, 130).
//!
//! A signal only sets a flag; the training loop polls it once per step ([`harness_engine::train`]),
//! an evaluation between its batches and parts (abandoning itself, so that a stop takes effect
//! within seconds and not after minutes of scoring: the run then stops at its last checkpoint),
//! and the sweep forwards it to its worker processes ([`gan_harness::sweep`]). A second signal
//! while the first is being handled ends the process at once, for a user who does not want to
//! wait. SIGHUP stops the same way (exit 129) but never escalates: it is the parent-death
//! signal of a sweep's workers, which the kernel sends once for each thread of the dead sweep
//! that the worker is passed on to, several within a millisecond.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// A shared "stop now" flag holding the signal that asked for it. The default one is never set
/// by a signal (library callers, tests), but [`StopFlag::request`] sets it.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicUsize>);

impl StopFlag {
    /// A flag set by SIGTERM, SIGINT and SIGHUP from now on (for this process's lifetime). A
    /// second SIGTERM or SIGINT exits at once with 128 + its number; SIGHUP never does.
    pub fn on_signals() -> std::io::Result<Self> {
        let flag = Self::default();
        let armed = Arc::new(AtomicBool::new(false));
        for sig in [SIGTERM, SIGINT] {
            // The shutdown must be registered first: it sees `armed` as the previous signal
            // left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, armed.clone())?;
            signal_hook::flag::register_usize(sig, flag.0.clone(), sig as usize)?;
            signal_hook::flag::register(sig, armed.clone())?;
        }
        signal_hook::flag::register_usize(SIGHUP, flag.0.clone(), SIGHUP as usize)?;
        Ok(flag)
    }

    /// Ask to stop, as signal `sig` would.
    pub fn request(&self, sig: i32) {
        self.0.store(sig as usize, Ordering::SeqCst);
    }

    /// The signal that asked to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }
}

/// The exit code of a process stopped by `sig`, as a shell reports a process killed by it.
pub fn exit_code(sig: i32) -> u8 {
    (128 + sig).clamp(0, 255) as u8
}

/// The signal's name, for messages.
pub fn signal_name(sig: i32) -> String {
    match sig {
        SIGTERM => "SIGTERM".into(),
        SIGINT => "SIGINT".into(),
        SIGHUP => "SIGHUP".into(),
        s => format!("signal {s}"),
    }
}
