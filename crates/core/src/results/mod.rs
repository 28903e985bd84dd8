//! The results folder format: what every file of a results tree is called and holds. This module
//! is the one owner of that contract; the engine, the store, sweeps, the SLURM launcher, `status`,
//! `ls`/`show` and the report all read and write it through these types.
//!
//! - [`record`]: `<run>/run.json`, a run's lifecycle ([`record::RunRecord`], [`record::Status`]);
//! - [`sweep_record`]: `sweeps/<name>.json`, a sweep's runs and SLURM job arrays;
//! - [`summary`]: `<run>/summary.json`, final and best scores and throughput;
//! - [`manifest`]: `<run>/manifest.json`, the digest of every file a finished run keeps;
//! - [`metrics`]: the registry of every metric in `metrics.csv`, `eval.csv` and `layers.csv`,
//!   with the direction in which it improves (the only place that decides it).
//!
//! `docs/results-layout.md` documents every file and field; a test keeps it in step with these
//! types. Trees written by earlier releases stay readable: fields added later are
//! `#[serde(default)]`.

pub mod atomic_file;
pub mod checkpoints;
pub mod json;
pub mod lock;
pub mod manifest;
pub mod metrics;
pub mod record;
pub mod resume;
pub mod runlog;
pub mod store;
pub mod summary;
pub mod sweep_record;
pub mod verify;

/// Files and folders of a run folder `<results>/<hash>/`.
pub mod run_files {
    /// The resolved, canonical config (all keys, sorted): what `harness run --config` reads.
    pub const CONFIG: &str = "config.toml";
    /// [`super::record::RunRecord`].
    pub const RECORD: &str = "run.json";
    /// One row per logged generator iteration ([`super::metrics::MetricFile::Metrics`]).
    pub const METRICS: &str = "metrics.csv";
    /// `step,wall_s` of each `metrics.csv` row: the wall clock, kept apart so `metrics.csv` is
    /// deterministic.
    pub const TIMING: &str = "timing.csv";
    /// Sample-quality scores, tidy: `step,wall_s,metric,value`.
    pub const EVAL: &str = "eval.csv";
    /// Per-layer critic statistics, tidy: `step,layer,quantity,value`.
    pub const LAYERS: &str = "layers.csv";
    /// Critic weight histograms: `step,layer,bin_lo,bin_hi,count`.
    pub const WEIGHTS_HIST: &str = "weights_hist.csv";
    /// Toy data: the critic's value on a grid, `x,y,value`.
    pub const SURFACE: &str = "surface.csv";
    /// `step_XXXXXXXX.png` (MNIST) or `.csv` (toy points).
    pub const SAMPLES: &str = "samples";
    /// The latest checkpoint.
    pub const CHECKPOINTS: &str = "checkpoints";
    /// A checkpoint's step, positions, digests of its tensors and logs, and its own seal.
    pub const CKPT_STATE: &str = "state.json";
    /// The tensor files of a checkpoint, each covered by a digest in its `state.json`.
    pub const CKPT_TENSORS: [&str; 4] = [
        "generator.safetensors",
        "critic.safetensors",
        "g_optim.safetensors",
        "c_optim.safetensors",
    ];
    /// Final networks as safetensors with PyTorch names.
    pub const EXPORT: &str = "export";
    /// [`super::summary::Summary`].
    pub const SUMMARY: &str = "summary.json";
    /// Held (an OS lock) while a worker trains the run.
    pub const LOCK: &str = "lock";
    /// `--jobs N > 1`: stderr of the worker processes that ran it.
    pub const WORKER_LOG: &str = "worker.log";
    /// `--dashboard`: burn-train's metric logs.
    pub const DASHBOARD: &str = "dashboard";
    /// `harness sweep --restart`: earlier attempts' files, moved aside as
    /// `discarded/<UTC time>/` (see [`crate::results::resume::discard`]).
    pub const DISCARDED: &str = "discarded";
    /// SHA-256 and size of every file a finished run keeps, written last
    /// ([`super::manifest::Manifest`]).
    pub const MANIFEST: &str = "manifest.json";
    /// Every entry above (the layout doc's test walks it).
    pub const ALL: [&str; 17] = [
        CONFIG,
        RECORD,
        METRICS,
        TIMING,
        EVAL,
        LAYERS,
        WEIGHTS_HIST,
        SURFACE,
        SAMPLES,
        CHECKPOINTS,
        EXPORT,
        SUMMARY,
        LOCK,
        WORKER_LOG,
        DASHBOARD,
        DISCARDED,
        MANIFEST,
    ];
}

/// Folders of a results tree beside the run folders.
pub mod tree_dirs {
    /// `sweeps/<name>.json`: [`super::sweep_record::SweepRecord`].
    pub const SWEEPS: &str = "sweeps";
    /// `slurm/<sweep>/<stamp>/`: one SLURM submission.
    pub const SLURM: &str = "slurm";
    /// `evaluators/<hash>/`: the trained MNIST evaluator.
    pub const EVALUATORS: &str = "evaluators";
    /// `report/`: `harness report`'s default output.
    pub const REPORT: &str = "report";
    /// Every entry above (the layout doc's test walks it).
    pub const ALL: [&str; 4] = [SWEEPS, SLURM, EVALUATORS, REPORT];
}
