//! Browsing a results directory: its runs at a glance (`harness ls`) and how a run differs
//! from the fidelity profiles (`harness show`).

use harness_core::config::{Profile, RunConfig};
use harness_core::grid::show_value;
use harness_core::results::metrics::{self, Direction, MetricFile};
use harness_core::results::record::{self, RunRecord};
use harness_core::results::store::{self, PlanStatus, Store};
use harness_core::results::summary::{self, Summary};

/// One run of a results directory, as `harness ls` lists it.
pub struct RunOverview {
    pub hash: String,
    pub config: RunConfig,
    pub status: PlanStatus,
    pub record: Option<RunRecord>,
    pub summary: Option<Summary>,
}

impl RunOverview {
    /// The score to show for the run: the first `eval.csv` metric of the registry that has a
    /// direction and a final value (the registry lists each dataset's headline score first).
    pub fn headline_score(&self) -> Option<(&'static str, f64)> {
        let s = self.summary.as_ref()?;
        metrics::REGISTRY
            .iter()
            .filter(|m| m.file == MetricFile::Eval && m.direction != Direction::None)
            .find_map(|m| Some((m.name, s.last.get(m.name)?.value)))
    }
}

/// Every run under the store whose config reads; the others are [`unreadable`].
pub fn runs(store: &Store) -> Vec<RunOverview> {
    store
        .runs()
        .into_iter()
        .filter_map(|dir| {
            let hash = dir.file_name()?.to_string_lossy().into_owned();
            Some(RunOverview {
                config: store::read_config(&dir).ok()?,
                status: store.plan_status(&hash),
                record: record::read(&dir),
                summary: summary::read(&dir),
                hash,
            })
        })
        .collect()
}

/// The run folders of the store whose `config.toml` does not read: (hash, record, why).
pub fn unreadable(store: &Store) -> Vec<(String, Option<RunRecord>, String)> {
    store
        .run_folders()
        .into_iter()
        .filter_map(|dir| {
            let why = store::read_config(&dir).err()?;
            let hash = dir.file_name()?.to_string_lossy().into_owned();
            Some((hash, record::read(&dir), format!("{why:#}")))
        })
        .collect()
}

/// A profile and the keys where a run differs from it: (key, run value, profile value).
pub type ProfileDiff = (Profile, Vec<(String, String, String)>);

/// How `cfg` differs from what each profile sets.
pub fn profile_diffs(cfg: &RunConfig) -> Vec<ProfileDiff> {
    let mut flat = cfg.to_view();
    // A family's default init is left out of the hashed form; compare the one in effect.
    flat.insert("init".into(), cfg.init_scheme().as_str().into());
    [
        Profile::WganPaper,
        Profile::WganCode,
        Profile::WgangpPaper,
        Profile::WgangpToyCode,
        Profile::WgangpToyPort,
        Profile::Seed,
    ]
    .into_iter()
    .map(|p| {
        let set = toml::Table::try_from(p.settings()).unwrap_or_default();
        let diffs = set
            .into_iter()
            .filter_map(|(k, v)| {
                let ours = flat
                    .get(&k)
                    .map(show_value)
                    .unwrap_or_else(|| "(unset)".into());
                let theirs = show_value(&v);
                let same = match (flat.get(&k).and_then(|x| x.as_float()), v.as_float()) {
                    (Some(a), Some(b)) => a == b,
                    _ => ours == theirs,
                };
                (!same).then_some((k, ours, theirs))
            })
            .collect();
        (p, diffs)
    })
    .collect()
}
