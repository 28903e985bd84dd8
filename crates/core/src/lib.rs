//! harness-core: what a sweep plans and what a run leaves, without training anything. The grid
//! format and its expansion into configs, their hashes and limits, the data sets as host arrays,
//! the results folder format (its one owner), and the claims and their statistics. It does not
//! depend on Burn: the report and every command that does not train build on it alone.

pub mod claims;
pub mod config;
pub mod console;
pub mod data;
pub mod grid;
pub mod hash;
pub mod limits;
pub mod objective;
pub mod penalty;
pub mod provenance;
pub mod results;
pub mod stop;
