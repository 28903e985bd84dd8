//! Checkpoints: generator, critic, both optimiser states (safetensors via `burn-store`), and a
//! JSON of the step, RNG positions and sampler position, written as one unit.
//!
//! A checkpoint is assembled in `checkpoints/.tmp-<step>/`, renamed to `checkpoints/step-<step>`,
//! and only then does `checkpoints/latest` (written atomically) point at it; older checkpoints
//! are removed afterwards. A crash at any point leaves the previous checkpoint usable.

use crate::data::SamplerState;
use crate::store::write_atomic;
use crate::train::Engine;
use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    step: u32,
    wall_s: f64,
    g_t: u64,
    c_t: u64,
    /// ChaCha word position of the noise RNG (u128 as decimal).
    noise_rng_pos: String,
    sampler: SamplerState,
}

/// A module's weights as safetensors bytes (burn-store), for atomic writing. Written from
/// `valid()`, which folds pending batch-norm running-statistic updates into their values (a
/// `RunningState` read directly lags its latest update by one).
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

fn ckpt_root(dir: &Path) -> PathBuf {
    dir.join("checkpoints")
}

/// The folder of the latest complete checkpoint, if any.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    let name = fs::read_to_string(ckpt_root(dir).join("latest")).ok()?;
    let p = ckpt_root(dir).join(name.trim());
    p.join("state.json").exists().then_some(p)
}

/// The step of the latest complete checkpoint, if any.
pub fn latest_step(dir: &Path) -> Option<u32> {
    latest(dir)?
        .file_name()?
        .to_str()?
        .strip_prefix("step-")?
        .parse()
        .ok()
}

pub fn save(e: &Engine, dir: &Path, wall_s: f64) -> Result<()> {
    let root = ckpt_root(dir);
    fs::create_dir_all(&root)?;
    let name = format!("step-{:08}", e.step);
    let tmp = root.join(format!(".tmp-{:08}", e.step));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    write_atomic(&tmp.join("generator.safetensors"), &to_bytes(&e.g)?)?;
    write_atomic(&tmp.join("critic.safetensors"), &to_bytes(&e.c)?)?;
    write_atomic(&tmp.join("g_optim.safetensors"), &to_bytes(&e.g_opt.state)?)?;
    write_atomic(&tmp.join("c_optim.safetensors"), &to_bytes(&e.c_opt.state)?)?;
    let state = State {
        step: e.step,
        wall_s,
        g_t: e.g_opt.t,
        c_t: e.c_opt.t,
        noise_rng_pos: e.noise_rng.get_word_pos().to_string(),
        sampler: e.sampler.state(),
    };
    write_atomic(
        &tmp.join("state.json"),
        serde_json::to_string_pretty(&state)?.as_bytes(),
    )?;
    let final_dir = root.join(&name);
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir)?;
    }
    fs::rename(&tmp, &final_dir)?;
    write_atomic(&root.join("latest"), name.as_bytes())?;
    for entry in fs::read_dir(&root)? {
        let p = entry?.path();
        if p.is_dir() && p != final_dir {
            fs::remove_dir_all(&p).ok();
        }
    }
    Ok(())
}

/// Restore `e` from the latest checkpoint in `dir`. Returns the step resumed from, or `None`
/// when there is no checkpoint (a fresh start).
pub fn restore(e: &mut Engine, dir: &Path) -> Result<Option<u32>> {
    let Some(ck) = latest(dir) else {
        return Ok(None);
    };
    let text = fs::read_to_string(ck.join("state.json"))?;
    let st: State =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", ck.display()))?;
    load_into(&mut e.g, &ck.join("generator.safetensors"))?;
    load_into(&mut e.c, &ck.join("critic.safetensors"))?;
    load_into(&mut e.g_opt.state, &ck.join("g_optim.safetensors"))?;
    load_into(&mut e.c_opt.state, &ck.join("c_optim.safetensors"))?;
    e.retrack();
    e.g_opt.t = st.g_t;
    e.c_opt.t = st.c_t;
    e.noise_rng.set_word_pos(
        st.noise_rng_pos
            .parse()
            .map_err(|err| anyhow!("bad rng position: {err}"))?,
    );
    e.sampler.restore(&st.sampler).map_err(|m| anyhow!(m))?;
    e.step = st.step;
    e.wall_offset = st.wall_s;
    e.logs = crate::runlog::RunLogs::read(dir, st.step)?;
    e.clear_last();
    Ok(Some(st.step))
}

/// Export the final networks as safetensors with the tensor names of the equivalent PyTorch
/// `nn.Sequential` (`model.0.weight`, `model.2.weight`, ...: activations take the odd indices).
pub fn export(e: &Engine, dir: &Path) -> Result<()> {
    let out = dir.join("export");
    fs::create_dir_all(&out)?;
    for (name, bytes) in [
        ("generator.safetensors", export_bytes(&e.g)?),
        ("critic.safetensors", export_bytes(&e.c)?),
    ] {
        write_atomic(&out.join(name), &bytes)?;
    }
    Ok(())
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
