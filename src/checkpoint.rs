//! Checkpoints: generator, critic, both optimiser states (safetensors, see [`crate::weights`]),
//! and a JSON of the step, RNG positions and sampler position, written as one unit.
//!
//! A checkpoint is assembled in `checkpoints/.tmp-<step>/`, renamed to `checkpoints/step-<step>`,
//! and only then does `checkpoints/latest` (written atomically) point at it; older checkpoints
//! are removed afterwards. A crash at any point leaves the previous checkpoint usable.

use crate::data::SamplerState;
use crate::model::{Critic, Generator};
use crate::optim::Optim;
use crate::resume::Refusal;
use crate::runlog::LogDigests;
use crate::store::write_atomic;
use crate::weights::{load_into, to_bytes};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// `state.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    step: u32,
    wall_s: f64,
    g_t: u64,
    c_t: u64,
    /// ChaCha word position of the noise RNG (u128 as decimal).
    noise_rng_pos: String,
    sampler: SamplerState,
    /// Digests of the logs written with this checkpoint (absent in checkpoints of releases
    /// that predate them: their logs are checked by their steps alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logs: Option<LogDigests>,
}

/// Where a run stands besides its weights and optimiser states: what a resumed run needs to
/// draw exactly the numbers the uninterrupted run would have drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    /// Generator iterations completed.
    pub step: u32,
    /// Training wall time up to this step.
    pub wall_s: f64,
    /// Word position of the noise RNG.
    pub noise_rng_pos: u128,
    pub sampler: SamplerState,
    /// Digests of the logs as written with the checkpoint ([`crate::runlog::RunLogs::write`]).
    pub logs: Option<LogDigests>,
}

/// The networks and their optimisers, as a checkpoint holds them.
pub struct Nets<G, C, O> {
    pub g: G,
    pub c: C,
    pub g_opt: O,
    pub c_opt: O,
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

/// Write a checkpoint of `nets` at `pos` into `dir/checkpoints/`, replacing older ones.
pub fn save(dir: &Path, nets: Nets<&Generator, &Critic, &Optim>, pos: &Position) -> Result<()> {
    let root = ckpt_root(dir);
    fs::create_dir_all(&root)?;
    let name = format!("step-{:08}", pos.step);
    let tmp = root.join(format!(".tmp-{:08}", pos.step));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    write_atomic(&tmp.join("generator.safetensors"), &to_bytes(nets.g)?)?;
    write_atomic(&tmp.join("critic.safetensors"), &to_bytes(nets.c)?)?;
    write_atomic(
        &tmp.join("g_optim.safetensors"),
        &to_bytes(&nets.g_opt.state)?,
    )?;
    write_atomic(
        &tmp.join("c_optim.safetensors"),
        &to_bytes(&nets.c_opt.state)?,
    )?;
    let state = State {
        step: pos.step,
        wall_s: pos.wall_s,
        g_t: nets.g_opt.t,
        c_t: nets.c_opt.t,
        noise_rng_pos: pos.noise_rng_pos.to_string(),
        sampler: pos.sampler.clone(),
        logs: pos.logs.clone(),
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

/// Load the latest checkpoint in `dir` into `nets` and return its position, or `None` (nets
/// untouched) when there is no checkpoint: a fresh start. The loaded parameters are plain
/// tensors; the caller makes them trainable again. A checkpoint that cannot be read, or whose
/// state disagrees with its own folder, is a [`Refusal`] naming the file.
pub fn restore(
    dir: &Path,
    nets: Nets<&mut Generator, &mut Critic, &mut Optim>,
) -> Result<Option<Position>, Refusal> {
    let Some(ck) = latest(dir) else {
        return Ok(None);
    };
    let state = ck.join("state.json");
    let bytes =
        fs::read(&state).map_err(|e| Refusal::new(&state, format!("cannot be read: {e}")))?;
    let st: State = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::new(&state, format!("not a checkpoint state: {e}")))?;
    let named = ck
        .file_name()
        .and_then(|n| n.to_str()?.strip_prefix("step-")?.parse::<u32>().ok());
    if named != Some(st.step) {
        return Err(Refusal::new(
            &state,
            format!(
                "says step {}, but its folder {} is another step's",
                st.step,
                ck.display()
            ),
        ));
    }
    let noise_rng_pos = st.noise_rng_pos.parse().map_err(|err| {
        Refusal::new(
            &state,
            format!(
                "noise_rng_pos {:?} is not a number: {err}",
                st.noise_rng_pos
            ),
        )
    })?;
    let load = |r: Result<()>, file: &str| {
        r.map_err(|e| Refusal::new(ck.join(file), format!("cannot be loaded: {e:#}")))
    };
    load(
        load_into(nets.g, &ck.join("generator.safetensors")),
        "generator.safetensors",
    )?;
    load(
        load_into(nets.c, &ck.join("critic.safetensors")),
        "critic.safetensors",
    )?;
    load(
        load_into(&mut nets.g_opt.state, &ck.join("g_optim.safetensors")),
        "g_optim.safetensors",
    )?;
    load(
        load_into(&mut nets.c_opt.state, &ck.join("c_optim.safetensors")),
        "c_optim.safetensors",
    )?;
    nets.g_opt.t = st.g_t;
    nets.c_opt.t = st.c_t;
    Ok(Some(Position {
        step: st.step,
        wall_s: st.wall_s,
        noise_rng_pos,
        sampler: st.sampler,
        logs: st.logs,
    }))
}

/// The file holding the latest checkpoint's state (for messages).
pub fn state_file(dir: &Path) -> Option<PathBuf> {
    latest(dir).map(|ck| ck.join("state.json"))
}

/// Record new digests of the logs in the latest checkpoint (after `harness eval` rewrote
/// the scores of its step), so a later resume accepts them.
pub fn record_log_digests(dir: &Path, digests: &LogDigests) -> Result<()> {
    let Some(state) = state_file(dir) else {
        return Ok(());
    };
    let mut st: State = serde_json::from_slice(&fs::read(&state)?)?;
    if st.logs.is_some() {
        st.logs = Some(digests.clone());
        write_atomic(&state, serde_json::to_string_pretty(&st)?.as_bytes())?;
    }
    Ok(())
}
