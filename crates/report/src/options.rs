//! Options of `harness report`.

use std::path::PathBuf;

/// What the shaded band around a mean curve shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Band {
    /// Mean ± 1 sample standard deviation over seeds.
    #[default]
    Std,
    /// Minimum to maximum over seeds.
    MinMax,
}

/// Options of `harness report`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Output folder; `None` means `DIR/report`.
    pub out: Option<PathBuf>,
    /// Config keys that define a configuration. Empty: every key that varies within
    /// the sweep except `seed` (equivalently, the config minus `seed`). Runs that differ
    /// only in keys not listed are pooled like seeds.
    pub group_by: Vec<String>,
    /// EMA weight of the newest point, in (0, 1], applied per logged step to the mean
    /// curve and band of `metrics.csv` charts: `s_t = α·y_t + (1−α)·s_(t−1)`; the faint
    /// raw mean stays visible under it. 1 disables smoothing. Default 0.1 (a window of
    /// about 20 logged steps). On short curves α is raised so the window stays under a
    /// twentieth of the curve (the legend states the α used); eval curves, which are
    /// sparse, are never smoothed.
    pub smooth: f64,
    pub band: Band,
    /// `--watch`: while a run holds its lock, the page reloads itself every this many seconds
    /// (`<meta http-equiv="refresh">`). `None`: a static page.
    pub refresh: Option<u32>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            out: None,
            group_by: Vec::new(),
            smooth: 0.1,
            band: Band::Std,
            refresh: None,
        }
    }
}
