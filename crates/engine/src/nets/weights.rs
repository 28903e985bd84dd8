//! Module weights as safetensors (via `burn-store`): the bytes a checkpoint or an evaluator
//! stores, loading them back into a module of the same shape, and the export of trained
//! networks under the tensor names of the equivalent PyTorch `nn.Sequential`.

use crate::nets::{Critic, Generator};
use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use harness_core::results::store::write_atomic;
use std::fs;
use std::path::Path;

/// A module's weights as safetensors bytes, for atomic writing. Written from `valid()`, which
/// folds pending batch-norm running-statistic updates into their values (a `RunningState` read
/// directly lags its latest update by one).
pub fn to_bytes<M: Module>(m: &M) -> Result<Vec<u8>> {
    let mut s = SafetensorsStore::from_bytes(None);
    m.valid()
        .save_into(&mut s)
        .map_err(|e| anyhow!("serialising weights: {e}"))?;
    s.get_bytes()
        .map_err(|e| anyhow!("serialising weights: {e}"))
}

/// Load weights written by [`to_bytes`] into `m`; a file that does not fit the module is an error.
pub fn load_into<M: Module>(m: &mut M, path: &Path) -> Result<()> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut s = SafetensorsStore::from_bytes(Some(bytes));
    let r = m
        .load_from(&mut s)
        .map_err(|e| anyhow!("loading {}: {e}", path.display()))?;
    if !r.errors.is_empty() || !r.missing.is_empty() {
        bail!(
            "{} does not match this configuration's networks (missing {:?}, errors {:?})",
            path.display(),
            r.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
            r.errors
        );
    }
    Ok(())
}

/// Export trained networks to `dir/export/` as safetensors with the tensor names of the
/// equivalent PyTorch `nn.Sequential` (`model.0.weight`, `model.2.weight`, ...: activations take
/// the odd indices).
pub fn export(g: &Generator, c: &Critic, dir: &Path) -> Result<()> {
    let out = dir.join("export");
    fs::create_dir_all(&out)?;
    write_atomic(&out.join("generator.safetensors"), &export_bytes(g)?)?;
    // The weights the critic computes with: under spectral normalisation `W / sigma`, so the
    // plain `nn.Sequential` computes what the critic does in evaluation.
    write_atomic(
        &out.join("critic.safetensors"),
        &export_bytes(&c.normalized())?,
    )
}

fn export_bytes<M: Module>(m: &M) -> Result<Vec<u8>> {
    let mut s = SafetensorsStore::from_bytes(None).skip_enum_variants(true);
    for i in 0..64 {
        s = s.with_key_remapping(format!(r"^layers\.{i}\."), format!("model.{}.", 2 * i));
    }
    // `valid()` as in `to_bytes`: the running statistics as of the last step.
    m.valid()
        .save_into(&mut s)
        .map_err(|e| anyhow!("exporting weights: {e}"))?;
    s.get_bytes().map_err(|e| anyhow!("exporting weights: {e}"))
}
