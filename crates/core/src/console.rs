//! Printing that survives a closed pipe. A sweep or a run whose reader went away (`| head`, a
//! killed parent) still has state to save: `println!` would panic there, so the commands that
//! train print through [`outln!`](crate::outln) and [`errln!`](crate::errln), which drop what
//! cannot be written. Read-only commands die quietly on SIGPIPE instead, as Unix filters do
//! ([`die_on_closed_pipe`]).

use std::fmt::Arguments;
use std::io::Write;

/// Write a line to stdout, ignoring a closed or failing stream.
pub fn out_line(args: Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
}

/// Write to stdout without a newline, ignoring a closed or failing stream.
pub fn out(args: Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// Write a line to stderr, ignoring a closed or failing stream.
pub fn err_line(args: Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Let SIGPIPE end this process silently (the default a Rust program turns off), for commands
/// that only read: `harness ls | head` stops when `head` has what it wants.
pub fn die_on_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: restoring the default disposition installs no handler code.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// `println!` that ignores a closed stdout.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::console::out_line(format_args!($($t)*)) };
}

/// `print!` that ignores a closed stdout.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::console::out(format_args!($($t)*)) };
}

/// `eprintln!` that ignores a closed stderr.
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::console::err_line(format_args!($($t)*)) };
}
