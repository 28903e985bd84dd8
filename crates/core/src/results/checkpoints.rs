//! The checkpoint format: `checkpoints/step-<step>/` holds the generator, critic and both
//! optimiser states (safetensors, written by the engine) and `state.json`, the step, RNG positions,
//! sampler position and the digests that vouch for the rest, written as one unit.
//!
//! A checkpoint is assembled in `checkpoints/.tmp-<step>/`, renamed to `checkpoints/step-<step>`,
//! and only then does `checkpoints/latest` (written atomically) point at it; older checkpoints
//! are removed afterwards. A crash at any point leaves the previous checkpoint usable.

use crate::data::SamplerState;
use crate::results::manifest::{UNSEALED, seal_holds, seal_text, sha256_hex};
use crate::results::resume::Refusal;
use crate::results::run_files;
use crate::results::runlog::LogDigests;
use crate::results::store::write_atomic;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// `state.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    /// SHA-256 of this file's text with this value replaced by [`UNSEALED`] (see
    /// [`seal_text`]): a change anywhere
    /// in the file (a digit of a log digest included) blames the file itself, not the log it
    /// names. Absent in checkpoints of releases that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seal: Option<String>,
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
    /// SHA-256 of each tensor file of the checkpoint ([`run_files::CKPT_TENSORS`]), checked
    /// before they are loaded (absent in checkpoints that predate it: loaded unchecked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tensors: Option<BTreeMap<String, String>>,
    /// SHA-256 of the run's other files as of this checkpoint (`samples/*`, `surface.csv`),
    /// by path relative to the run folder: a resume does not rewrite earlier samples, so they
    /// are checked like the logs (absent in checkpoints that predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<BTreeMap<String, String>>,
    /// The CPU and kernel set ([`crate::provenance`]) that wrote the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu: Option<String>,
}

/// `st` as the text of a sealed `state.json`.
fn sealed_text(st: &State) -> Result<String> {
    let mut st = st.clone();
    st.seal = Some(UNSEALED.into());
    Ok(seal_text(&serde_json::to_string_pretty(&st)?))
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
    /// Digests of the logs as written with the checkpoint ([`crate::results::runlog::RunLogs::write`]).
    pub logs: Option<LogDigests>,
    /// The CPU and kernel set that wrote the checkpoint (`None` when saving: this machine's is
    /// recorded; `None` when restoring a checkpoint that predates it).
    pub cpu: Option<String>,
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

/// Write a checkpoint at `pos` into `dir/checkpoints/`, replacing older ones: `tensors` are the
/// bytes of [`run_files::CKPT_TENSORS`] in that order, `g_t`/`c_t` the optimisers' step counts.
pub fn write(dir: &Path, tensors: [Vec<u8>; 4], g_t: u64, c_t: u64, pos: &Position) -> Result<()> {
    let root = ckpt_root(dir);
    fs::create_dir_all(&root)?;
    let name = format!("step-{:08}", pos.step);
    let tmp = root.join(format!(".tmp-{:08}", pos.step));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    let mut digests = BTreeMap::new();
    for (name, bytes) in run_files::CKPT_TENSORS.into_iter().zip(tensors) {
        write_atomic(&tmp.join(name), &bytes)?;
        digests.insert(name.to_string(), sha256_hex(&bytes));
    }
    let state = State {
        seal: None,
        step: pos.step,
        wall_s: pos.wall_s,
        g_t,
        c_t,
        noise_rng_pos: pos.noise_rng_pos.to_string(),
        sampler: pos.sampler.clone(),
        logs: pos.logs.clone(),
        tensors: Some(digests),
        files: Some(digest_outputs(dir)?),
        cpu: Some(crate::provenance::cpu_label()),
    };
    write_atomic(
        &tmp.join(run_files::CKPT_STATE),
        sealed_text(&state)?.as_bytes(),
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

/// A checkpoint checked and ready to load: its folder, position and optimiser step counts.
pub struct Opened {
    pub dir: PathBuf,
    pub pos: Position,
    pub g_t: u64,
    pub c_t: u64,
}

/// The latest checkpoint of `dir`, checked as a resume needs before loading it, or `None`
/// when there is none (a fresh start). A checkpoint that cannot be read, or whose state
/// disagrees with its own folder, is a [`Refusal`] naming the file.
pub fn open_latest(dir: &Path) -> Result<Option<Opened>, Refusal> {
    let Some(ck) = latest(dir) else {
        return Ok(None);
    };
    let state = ck.join("state.json");
    let bytes =
        fs::read(&state).map_err(|e| Refusal::new(&state, format!("cannot be read: {e}")))?;
    let st = parse_state(&state, &bytes)?;
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
    check_tensors(&ck, &st)?;
    check_outputs(dir, &st)?;
    let pos = Position {
        step: st.step,
        wall_s: st.wall_s,
        noise_rng_pos,
        sampler: st.sampler,
        logs: st.logs,
        cpu: st.cpu,
    };
    Ok(Some(Opened {
        dir: ck,
        pos,
        g_t: st.g_t,
        c_t: st.c_t,
    }))
}

/// The files besides the logs that a checkpoint vouches for: every sample and the surface.
fn digest_outputs(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut paths = vec![dir.join(run_files::SURFACE)];
    if let Ok(entries) = fs::read_dir(dir.join(run_files::SAMPLES)) {
        for e in entries {
            paths.push(e?.path());
        }
    }
    for p in paths.into_iter().filter(|p| p.is_file()) {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(crate::results::atomic_file::TEMP_PREFIX) {
            continue;
        }
        let rel = p
            .strip_prefix(dir)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        out.insert(rel, sha256_hex(&fs::read(&p)?));
    }
    Ok(out)
}

/// Each sample file the checkpoint recorded, as it was then (later ones, written after the
/// checkpoint by a run that was then killed, are rewritten by the resume). The surface is not
/// held to it: every checkpoint rewrites it just before saving its state, so a kill between
/// the two leaves the next checkpoint's surface, and the resume draws it again from the
/// restored critic.
fn check_outputs(dir: &Path, st: &State) -> Result<(), Refusal> {
    let files = st.files.iter().flatten();
    for (rel, digest) in files.filter(|(rel, _)| rel.as_str() != run_files::SURFACE) {
        let path = dir.join(rel);
        let problem = match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "is missing (the checkpoint recorded it)".to_string()
            }
            Err(e) => format!("cannot be read: {e}"),
            Ok(b) if sha256_hex(&b) == *digest => continue,
            Ok(_) => "its SHA-256 differs from the one the checkpoint recorded (it was changed \
                      after it was written)"
                .to_string(),
        };
        return Err(Refusal::new(path, problem));
    }
    Ok(())
}

/// `state.json`'s bytes parsed, its seal checked when it has one.
fn parse_state(path: &Path, bytes: &[u8]) -> Result<State, Refusal> {
    let st: State = serde_json::from_slice(bytes)
        .map_err(|e| Refusal::new(path, format!("not a checkpoint state: {e}")))?;
    if let Some(seal) = &st.seal {
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        if !seal_holds(text, seal) {
            return Err(Refusal::new(
                path,
                "its text no longer hashes to the seal it was written with (it was edited \
                 or damaged after the checkpoint was written)",
            ));
        }
    }
    Ok(st)
}

/// Every tensor file of the checkpoint `ck` against the digest its state recorded (all of
/// them, before any is loaded: a flipped bit would otherwise load and train on silently).
fn check_tensors(ck: &Path, st: &State) -> Result<(), Refusal> {
    let Some(want) = &st.tensors else {
        return Ok(());
    };
    for (name, digest) in want {
        let path = ck.join(name);
        let bytes =
            fs::read(&path).map_err(|e| Refusal::new(&path, format!("cannot be read: {e}")))?;
        if sha256_hex(&bytes) != *digest {
            return Err(Refusal::new(
                &path,
                "its SHA-256 differs from the one the checkpoint's state.json recorded (the \
                 file was damaged after it was written)",
            ));
        }
    }
    Ok(())
}

/// The latest checkpoint of `dir` checked as a resume would check it before loading (its
/// state's seal, its tensors' digests), without loading anything: for `harness verify` and
/// `status`. Returns its step and the log digests it recorded (`None`: no checkpoint).
pub fn check_latest(dir: &Path) -> Result<Option<(u32, Option<LogDigests>)>, Refusal> {
    let Some(ck) = latest(dir) else {
        return Ok(None);
    };
    let path = ck.join(run_files::CKPT_STATE);
    let bytes = fs::read(&path).map_err(|e| Refusal::new(&path, format!("cannot be read: {e}")))?;
    let st = parse_state(&path, &bytes)?;
    check_tensors(&ck, &st)?;
    check_outputs(dir, &st)?;
    Ok(Some((st.step, st.logs)))
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
        let text = if st.seal.is_some() {
            sealed_text(&st)?
        } else {
            serde_json::to_string_pretty(&st)?
        };
        write_atomic(&state, text.as_bytes())?;
    }
    Ok(())
}
