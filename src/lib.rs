//! gan-harness: reproducible, fast GAN loss ablations on Burn. This crate holds the commands
//! ([`cli`]) and what runs many runs: sweeps, SLURM arrays, status, browsing and benchmarks.
//!
//! Data flows one way through the workspace's crates: grid file (`harness_core::grid`) ->
//! expanded plan -> run (`harness_engine::run`, `train`, `measure`) -> result folder
//! (`harness_core::results`) -> report (`harness_report`).

pub mod bench;
pub mod browse;
pub mod cli;
pub mod slurm;
pub mod status;
pub mod sweep;
