//! `harness`: the command-line front of the gan-harness library. The commands live in
//! `gan_harness::cli`, one module each.

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: training frees and reallocates the same few hundred KB
/// tensors thousands of times a second, which glibc serves with fresh mmap pages (page faults,
/// and a process-wide lock once two shards allocate at once). See README: Performance.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    gan_harness::cli::main()
}
