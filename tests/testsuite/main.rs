//! The integration tests, one binary (cargo's `tests/testsuite` layout): one link of the
//! workspace instead of one per file. `common` finds MNIST; `support` runs `harness` and
//! signals its processes.

#![allow(clippy::too_many_lines)]

mod common;
mod support;

mod calibration;
mod campaigns;
mod claims;
mod config_hashes;
mod conv_step;
mod docs;
mod engine;
mod evaluator;
mod harness;
mod hostile;
mod init;
mod integrity;
mod layer_gradients;
mod layering;
mod mnist_data;
mod profiles;
mod replay;
mod report;
mod results_layout;
mod resume;
mod sample;
mod seed_epochs;
mod slurm;
mod spectral_norm;
mod stacked_mnist;
mod stops;
mod summary_time;
mod watch;
