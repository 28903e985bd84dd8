//! What the user names on the command line, read into the library's types: a backend, a
//! results directory, a grid file.

use super::error::CliError;
use crate::config::Backend;
use crate::grid::{self, Plan};
use crate::store::Store;
use clap::builder::PossibleValue;
use std::path::Path;

/// `--backend` and `--backends` take the config's spellings.
impl clap::ValueEnum for Backend {
    fn value_variants<'a>() -> &'a [Self] {
        Backend::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// A results directory given on the command line (a path that is a file is bad input).
pub fn open_store(path: &Path) -> Result<Store, CliError> {
    Ok(Store::new(path)?)
}

/// A grid file's plan, refused above `limit` configurations.
pub fn load_plan(file: &Path, limit: Option<usize>) -> Result<Plan, CliError> {
    Ok(grid::load_plan(file, limit)?)
}
