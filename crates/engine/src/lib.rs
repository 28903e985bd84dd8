//! harness-engine: the training engine on Burn. Networks ([`nets`]), the objectives' losses and
//! penalties as tensors ([`losses`]), the host kernels and shard pools ([`ops`]), the optimisers
//! ([`optim`]), the training loop ([`train`]) and its measurements ([`measure`]), checkpoints,
//! and one run from config to finished result folder ([`run`]).

pub mod checkpoint;
pub mod dashboard;
pub mod data;
pub mod losses;
pub mod measure;
pub mod nets;
pub mod ops;
pub mod optim;
pub mod replay;
pub mod run;
pub mod train;
