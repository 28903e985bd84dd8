//! gan-harness: reproducible, fast GAN loss ablations on Burn.
//!
//! Data flows one way: grid file ([`grid`]) -> expanded plan -> run ([`run`], [`train`],
//! [`measure`]) -> result folder ([`store`]) -> report ([`report`]).

pub mod atomic_file;
pub mod bench;
pub mod browse;
pub mod checkpoint;
pub mod claims;
pub mod cli;
pub mod config;
pub mod console;
pub mod conv_ops;
pub mod dashboard;
pub mod data;
pub mod grid;
pub mod hash;
pub mod host_ops;
pub mod limits;
pub mod linear_ops;
pub mod measure;
pub mod model;
pub(crate) mod named_enum;
pub mod objective;
pub mod optim;
pub mod penalty;
pub mod pool;
pub mod provenance;
pub mod replay;
pub mod report;
pub mod results;
pub mod resume;
pub mod run;
pub mod runlog;
pub mod shard;
pub mod slurm;
pub mod spectral_norm;
pub mod status;
pub mod stop;
pub mod store;
pub mod sweep;
pub mod train;
pub mod verify;
pub mod weights;
