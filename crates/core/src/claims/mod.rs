//! Claims: what a paper found, stated next to the grid and checked over seeds.
//!
//! A grid file's `[[claim]]` tables ([`parse`]) say what its sweep should show: A better than B
//! on a metric, a threshold on a final value, a trend across the critic's layers, or a
//! correlation over training between two metrics. The report hands the sweep's runs to
//! [`verdict::evaluate`], which tests each claim over seeds with [`stats`] and says
//! *supported*, *contradicted* or *inconclusive*, with the numbers. The language, statistics
//! and verdict rules are documented in the README's grid-file section (Claims), the formulas
//! in `docs/claims.md`.
//!
//! Metric facts (file, direction, largest value) come from the registry,
//! [`crate::results::metrics`], the only place that decides them; the module knows nothing of
//! the grid loader or the report: the plan comes through [`parse::PlanContext`], run data as
//! [`verdict::ClaimRun`].

mod claim;
pub mod parse;
pub mod stamp;
pub mod stats;
pub mod verdict;

pub use claim::{
    Bound, Claim, ClaimError, ClaimKind, LayerScope, Over, Relation, Selector, Sign, Trend,
    agree_on, configurations, layer_metric, scalar_metric, selects, selects_claim, values_equal,
    without_seed,
};
pub use parse::{PlanContext, parse_claims, validate_claims};
pub use verdict::{ClaimResult, ClaimRun, Verdict, evaluate};

/// Helpers for the tests of this module.
#[cfg(test)]
pub(crate) mod testing {
    /// A flat config from `key = value` TOML lines.
    pub fn config(text: &str) -> toml::Table {
        toml::from_str(text).expect("test config parses")
    }
}
