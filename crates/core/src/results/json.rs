//! The JSON files of a results tree (`run.json`, `summary.json`, `sweeps/<name>.json`): read
//! and parsed, or written pretty-printed and atomically.

use crate::results::atomic_file::write_atomic;
use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// The file at `path`, parsed; the error names the file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// `value` written to `path`, pretty-printed, atomically.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, serde_json::to_string_pretty(value)?.as_bytes())
}
