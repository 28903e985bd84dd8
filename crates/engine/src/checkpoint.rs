//! Checkpoints of the networks and optimisers: their tensors as safetensors
//! ([`crate::nets::weights`]) in the format [`harness_core::results::checkpoints`] owns.

use crate::nets::weights::{load_into, to_bytes};
use crate::nets::{Critic, Generator};
use crate::optim::Optim;
use anyhow::Result;
use harness_core::results::checkpoints::{Opened, open_latest, write};
pub use harness_core::results::checkpoints::{
    Position, latest_step, record_log_digests, state_file,
};
use harness_core::results::resume::Refusal;
use harness_core::results::run_files;
use std::path::Path;

/// The networks and their optimisers, as a checkpoint holds them.
pub struct Nets<G, C, O> {
    pub g: G,
    pub c: C,
    pub g_opt: O,
    pub c_opt: O,
}

/// Write a checkpoint of `nets` at `pos` into `dir/checkpoints/`, replacing older ones.
pub fn save(dir: &Path, nets: Nets<&Generator, &Critic, &Optim>, pos: &Position) -> Result<()> {
    let tensors = [
        to_bytes(nets.g)?,
        to_bytes(nets.c)?,
        to_bytes(&nets.g_opt.state)?,
        to_bytes(&nets.c_opt.state)?,
    ];
    write(dir, tensors, nets.g_opt.t, nets.c_opt.t, pos)
}

/// Load the latest checkpoint in `dir` into `nets` and return its position, or `None` (nets
/// untouched) when there is no checkpoint: a fresh start. The loaded parameters are plain
/// tensors; the caller makes them trainable again. A checkpoint that cannot be read, or whose
/// state disagrees with its own folder, is a [`Refusal`] naming the file.
pub fn restore(
    dir: &Path,
    nets: Nets<&mut Generator, &mut Critic, &mut Optim>,
) -> Result<Option<Position>, Refusal> {
    let Some(Opened {
        dir: ck,
        pos,
        g_t,
        c_t,
    }) = open_latest(dir)?
    else {
        return Ok(None);
    };
    let load = |r: Result<()>, file: &str| {
        r.map_err(|e| Refusal::new(ck.join(file), format!("cannot be loaded: {e:#}")))
    };
    let [g, c, g_opt, c_opt] = run_files::CKPT_TENSORS;
    load(load_into(nets.g, &ck.join(g)), g)?;
    load(load_into(nets.c, &ck.join(c)), c)?;
    load(load_into(&mut nets.g_opt.state, &ck.join(g_opt)), g_opt)?;
    load(load_into(&mut nets.c_opt.state, &ck.join(c_opt)), c_opt)?;
    nets.g_opt.t = g_t;
    nets.c_opt.t = c_t;
    Ok(Some(pos))
}
