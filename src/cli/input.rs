//! What the user names on the command line, read into the library's types: a backend, a
//! results directory, a grid file.

use super::error::CliError;
use harness_core::grid::{self, Plan};
use harness_core::results::store::Store;
use std::path::Path;

/// A results directory given on the command line (a path that is a file is bad input).
pub fn open_store(path: &Path) -> Result<Store, CliError> {
    Ok(Store::new(path)?)
}

/// A grid file's plan, refused above `limit` configurations, on `seeds` instead of its own
/// when given.
pub fn load_plan(
    file: &Path,
    limit: Option<usize>,
    seeds: Option<&[u64]>,
) -> Result<Plan, CliError> {
    Ok(grid::load_plan_on_seeds(file, limit, seeds)?)
}
