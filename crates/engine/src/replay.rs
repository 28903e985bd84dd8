//! `harness replay`: train K generator iterations of one configuration and record everything an
//! independent framework needs to replay them step by step: the initial and final weights, every
//! random input in execution order, and each optimiser step's losses.
//!
//! The format is specified in `docs/replay-format.md`; `oracle/replay.py` replays it with
//! PyTorch's autograd and optimisers. With `--f64` the backend computes in f64 (the random inputs
//! are still drawn as f32, exactly as in an f32 run, and then cast), so a replay in float64 must
//! agree to rounding noise of f64.

use crate::nets::Critic;
use crate::run::{device_for, load_data};
use crate::train::{Engine, StepEvent, StepNet};
use anyhow::{Context, Result, anyhow};
use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleSnapshot;
use burn::tensor::{DType, FloatDType};
use harness_core::config::RunConfig;
use safetensors::Dtype;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What `harness replay` was asked for.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Generator iterations to train (K).
    pub steps: u32,
    /// Compute in f64 instead of f32.
    pub f64: bool,
    pub data_dir: Option<PathBuf>,
}

/// A replay that could not start because of what was given (exit code 2), or that failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Run(#[from] anyhow::Error),
}

/// What a finished replay wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplaySummary {
    pub critic_steps: u64,
    pub generator_steps: u64,
}

/// `harness replay --config FILE --steps K --out DIR [--f64]`: the command's whole body.
pub fn command(config: &Path, out: &Path, opts: &ReplayOptions) -> Result<String, ReplayError> {
    let bad = |m: String| ReplayError::Input(m);
    let text =
        std::fs::read_to_string(config).map_err(|e| bad(format!("{}: {e}", config.display())))?;
    let cfg =
        RunConfig::from_flat_str(&text).map_err(|e| bad(format!("{}: {e}", config.display())))?;
    if opts.steps == 0 {
        return Err(bad("--steps must be at least 1".into()));
    }
    if out.exists() && !is_empty_dir(out) {
        return Err(bad(format!(
            "--out {}: already exists and is not an empty folder; replay writes a new folder \
             (remove it or choose another path)",
            out.display()
        )));
    }
    let data = load_data(&cfg, opts.data_dir.as_deref())
        .map_err(|e| bad(format!("{}: {e:#}", config.display())))?;
    let s = replay(&cfg, data, out, opts)?;
    Ok(format!(
        "replay: {} generator iterations ({} critic and {} generator steps, {}) -> {}",
        opts.steps,
        s.critic_steps,
        s.generator_steps,
        if opts.f64 { "f64" } else { "f32" },
        out.display()
    ))
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

/// The engine of a replay on `cfg`'s backend, computing in f64 when asked (checked: the
/// device's dtype must be set before the first tensor).
fn replay_engine(
    cfg: &RunConfig,
    mnist: Option<Arc<crate::data::mnist::Mnist>>,
    f64: bool,
) -> Result<Engine> {
    let mut device = device_for(cfg.backend)?;
    if f64 {
        // Must precede every tensor on the device: creation locks its default dtype.
        device.configure(FloatDType::F64).map_err(|e| {
            anyhow!(
                "--f64: cannot make the {} backend compute in f64: {e:?}",
                cfg.backend
            )
        })?;
    }
    let e = Engine::new(cfg, &device, mnist);
    let want = if f64 { DType::F64 } else { DType::F32 };
    let got = first_param_dtype(e.critic());
    if got != Some(want) {
        return Err(anyhow!(
            "the critic's weights are {got:?}, not {want:?}: the device's dtype was fixed before \
             replay could configure it"
        ));
    }
    Ok(e)
}

/// Train `steps` generator iterations of `e`, recording every step's inputs and trace.
fn record_steps(e: &mut Engine, steps: u32) -> Result<Recorder> {
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let sink = Arc::clone(&rec);
    e.observer = Some(Box::new(move |ev| {
        sink.lock().expect("recorder lock").record(&ev)
    }));
    for _ in 0..steps {
        e.train_step();
    }
    e.observer = None;
    Ok(Arc::try_unwrap(rec)
        .map_err(|_| anyhow!("the step recorder is still shared"))?
        .into_inner()
        .expect("recorder lock"))
}

/// Train `opts.steps` generator iterations of `cfg` and write the replay folder `out` (see
/// `docs/replay-format.md`). Everything is written into a temporary sibling folder first and
/// renamed to `out` at the end, so a failed replay leaves nothing behind.
pub fn replay(
    cfg: &RunConfig,
    mnist: Option<Arc<crate::data::mnist::Mnist>>,
    out: &Path,
    opts: &ReplayOptions,
) -> Result<ReplaySummary> {
    let mut e = replay_engine(cfg, mnist, opts.f64)?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = out
        .file_name()
        .ok_or_else(|| anyhow!("--out has no folder name"))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.tmp-", name.to_string_lossy()))
        .tempdir_in(parent)?;
    let dir = tmp.path();

    harness_core::results::store::write_config(dir, cfg)?;
    let coupled = e.critic().couples_batch();
    write_weights(&dir.join("init"), &e, coupled.then_some(0))?;

    let rec = record_steps(&mut e, opts.steps)?;

    // Batch norm counts one batch per training forward: two per critic step (real and fake
    // batches are scored separately), one per generator step.
    let bn_batches = coupled.then_some(2 * rec.critic_steps + rec.generator_steps);
    write_weights(&dir.join("final"), &e, bn_batches.map(|n| n as i64))?;
    write_safetensors(&dir.join("inputs.safetensors"), &rec.inputs)?;
    let mut csv = csv::Writer::from_path(dir.join("trace.csv"))?;
    for row in &rec.trace {
        csv.serialize(row)?;
    }
    csv.flush()?;
    drop(csv);

    if out.exists() {
        // Checked empty by the caller; `rename` replaces an empty folder only on some systems.
        std::fs::remove_dir(out).with_context(|| format!("replacing {}", out.display()))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out)
        .with_context(|| format!("moving {} to {}", kept.display(), out.display()))?;
    Ok(ReplaySummary {
        critic_steps: rec.critic_steps,
        generator_steps: rec.generator_steps,
    })
}

/// One row of `trace.csv`.
#[derive(Clone, Debug, serde::Serialize)]
struct TraceRow {
    seq: u64,
    net: &'static str,
    iter: u32,
    critic_loss: Option<f64>,
    gen_loss: Option<f64>,
    penalty: Option<f64>,
}

/// Collects the trace and the inputs as the engine reports its steps.
#[derive(Default)]
struct Recorder {
    trace: Vec<TraceRow>,
    inputs: Vec<Named>,
    critic_steps: u64,
    generator_steps: u64,
}

impl Recorder {
    fn record(&mut self, ev: &StepEvent<'_>) {
        let seq = self.trace.len() as u64;
        let scalar = |t: &Tensor<1>| t.clone().into_scalar::<f64>();
        let loss = scalar(ev.loss);
        let mut input = |what: &str, t: &Tensor<2>| {
            self.inputs.push(Named::f32(format!("s{seq}.{what}"), t));
        };
        input("z", ev.z);
        if let Some(real) = ev.real {
            input("real", real);
        }
        if let Some(eps) = ev.eps {
            input("eps", eps);
        }
        let (net, critic_loss, gen_loss) = match ev.net {
            StepNet::Critic => {
                self.critic_steps += 1;
                ("critic", Some(loss), None)
            }
            StepNet::Generator => {
                self.generator_steps += 1;
                ("generator", None, Some(loss))
            }
        };
        self.trace.push(TraceRow {
            seq,
            net,
            iter: ev.iter,
            critic_loss,
            gen_loss,
            penalty: ev.penalty.map(scalar),
        });
    }
}

/// One tensor of a safetensors file.
struct Named {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Named {
    /// A random input, stored as the f32 values it was drawn as (exact in an f64 run too: the
    /// f64 values are casts of them).
    fn f32(name: String, t: &Tensor<2>) -> Self {
        let shape = t.dims().to_vec();
        let data = t.clone().into_data();
        let bytes = data.iter::<f32>().flat_map(f32::to_le_bytes).collect();
        Self {
            name,
            dtype: Dtype::F32,
            shape,
            bytes,
        }
    }
}

fn write_safetensors(path: &Path, tensors: &[Named]) -> Result<()> {
    let views = tensors
        .iter()
        .map(|t| {
            let v = safetensors::tensor::TensorView::new(t.dtype, t.shape.clone(), &t.bytes)?;
            Ok((t.name.clone(), v))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let bytes = safetensors::tensor::serialize(views, None)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// `dir/{generator,critic}.safetensors`; `bn_batches` is the batch-norm layers'
/// `num_batches_tracked` when the critic has batch norm.
fn write_weights(dir: &Path, e: &Engine, bn_batches: Option<i64>) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    write_safetensors(
        &dir.join("generator.safetensors"),
        &weights(e.generator(), None)?,
    )?;
    write_safetensors(
        &dir.join("critic.safetensors"),
        &weights(e.critic(), bn_batches)?,
    )
}

/// Biases a batch-norm critic keeps in its module but leaves out of its forward (the
/// convolutions followed by batch norm, see `model::ConvCritic`): not part of the network.
const UNUSED_WITH_BATCH_NORM: &[&str] = &["conv2.bias", "conv3.bias"];

/// A network's tensors under the names of the equivalent PyTorch module (see the format doc):
/// MLP layers `layers.i` become `model.{2i}` (an `nn.Sequential` with activations at the odd
/// indices, as `export/`), batch norm's `gamma`/`beta` become `weight`/`bias`, each batch
/// norm gets its `num_batches_tracked`, and a spectrally normalised layer's trained weight and
/// `u`, `v` vectors take the names `torch.nn.utils.parametrizations.spectral_norm` gives them.
fn weights<M: Module>(m: &M, bn_batches: Option<i64>) -> Result<Vec<Named>> {
    // `valid` folds pending running-statistic updates into their values: a running state
    // read directly lags its latest update by one.
    let tensors = m.valid().collect(None, None, true);
    let normalised: Vec<String> = tensors
        .iter()
        .filter_map(|t| t.name.strip_suffix(".sn.u").map(str::to_string))
        .collect();
    let mut out = Vec::new();
    for t in tensors {
        let name = pytorch_name(&spectral_norm_name(&t.name, &normalised));
        if bn_batches.is_some() && UNUSED_WITH_BATCH_NORM.contains(&name.as_str()) {
            continue;
        }
        let dtype = match t.dtype {
            DType::F32 => Dtype::F32,
            DType::F64 => Dtype::F64,
            other => return Err(anyhow!("{name}: unexpected dtype {other:?}")),
        };
        let bytes = t
            .to_bytes()
            .map_err(|e| anyhow!("reading {name}: {e}"))?
            .to_vec();
        if let (Some(n), Some(bn)) = (bn_batches, name.strip_suffix(".running_var")) {
            out.push(Named {
                name: format!("{bn}.num_batches_tracked"),
                dtype: Dtype::I64,
                shape: Vec::new(),
                bytes: n.to_le_bytes().to_vec(),
            });
        }
        out.push(Named {
            name,
            dtype,
            shape: t.shape.to_vec(),
            bytes,
        });
    }
    Ok(out)
}

/// Under spectral normalisation (`normalised`: the layers that carry it), PyTorch keeps a
/// layer's trained weight as `parametrizations.weight.original` and the vectors as the
/// parametrization's `_u`, `_v` buffers.
fn spectral_norm_name(burn: &str, normalised: &[String]) -> String {
    let Some((layer, field)) = burn.rsplit_once('.') else {
        return burn.to_string();
    };
    if let Some(layer) = layer.strip_suffix(".sn") {
        return format!("{layer}.parametrizations.weight.0._{field}");
    }
    if field == "weight" && normalised.iter().any(|l| l == layer) {
        return format!("{layer}.parametrizations.weight.original");
    }
    burn.to_string()
}

fn pytorch_name(burn: &str) -> String {
    let mut parts: Vec<String> = burn.split('.').map(str::to_string).collect();
    if parts.len() >= 2
        && parts[0] == "layers"
        && let Ok(i) = parts[1].parse::<usize>()
    {
        parts[0] = "model".into();
        parts[1] = (2 * i).to_string();
    }
    if let Some(last) = parts.last_mut() {
        match last.as_str() {
            "gamma" => *last = "weight".into(),
            "beta" => *last = "bias".into(),
            _ => {}
        }
    }
    parts.join(".")
}

fn first_param_dtype(c: &Critic) -> Option<DType> {
    struct First(Option<DType>);
    impl burn::module::ModuleVisitor for First {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            self.0.get_or_insert(p.val().dtype());
        }
    }
    let mut f = First(None);
    c.visit(&mut f);
    f.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_pytorch_modules() {
        assert_eq!(pytorch_name("layers.0.weight"), "model.0.weight");
        assert_eq!(pytorch_name("layers.3.bias"), "model.6.bias");
        assert_eq!(pytorch_name("bn2.gamma"), "bn2.weight");
        assert_eq!(pytorch_name("bn3.beta"), "bn3.bias");
        assert_eq!(pytorch_name("bn3.running_var"), "bn3.running_var");
        assert_eq!(pytorch_name("deconv1.weight"), "deconv1.weight");
        let sn = ["layers.1".to_string(), "conv1".to_string()];
        let name = |n| pytorch_name(&spectral_norm_name(n, &sn));
        assert_eq!(
            name("layers.1.weight"),
            "model.2.parametrizations.weight.original"
        );
        assert_eq!(
            name("layers.1.sn.u"),
            "model.2.parametrizations.weight.0._u"
        );
        assert_eq!(name("conv1.sn.v"), "conv1.parametrizations.weight.0._v");
        assert_eq!(name("layers.1.bias"), "model.2.bias");
        assert_eq!(name("layers.0.weight"), "model.0.weight");
    }
}
