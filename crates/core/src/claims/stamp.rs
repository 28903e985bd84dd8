//! What makes a verdict a test rather than a caption: whether the claim was stated before the
//! runs that test it, and whether those runs are on the seeds it was designed on.
//!
//! A claim is identified by the hash of its content ([`claim_id`]): editing any field (text,
//! metric, selectors, bound) makes it a new claim with a new stamp. The sweep record keeps the
//! time each claim id was first registered; a claim is "stated before its runs" when that time
//! precedes the start of the first of its runs, else "stated after its runs".

use super::Claim;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The id of a claim's content: the first 12 hex digits of the SHA-256 of its JSON form.
pub fn claim_id(claim: &Claim) -> String {
    let json = serde_json::to_vec(claim).expect("a claim serialises");
    hex::encode(&Sha256::digest(&json)[..6])
}

/// Which seeds a verdict rests on, against the grid's `design_seeds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seeds {
    /// Every run's seed is one the claim was designed on.
    Design,
    /// No run's seed is one the claim was designed on: a replication.
    Fresh,
    /// Some of each.
    Mixed,
    /// The grid file does not say which seeds its claims were designed on.
    Unstated,
}

impl Seeds {
    /// The label of the verdict of runs on `seeds` for a grid designed on `design`.
    pub fn of(seeds: &[u64], design: Option<&[u64]>) -> Seeds {
        let Some(design) = design else {
            return Seeds::Unstated;
        };
        let on_design = seeds.iter().filter(|s| design.contains(s)).count();
        match on_design {
            0 if !seeds.is_empty() => Seeds::Fresh,
            n if n == seeds.len() => Seeds::Design,
            _ => Seeds::Mixed,
        }
    }

    /// The label in tables: "on design seeds", "on fresh seeds", ...
    pub fn label(self) -> &'static str {
        match self {
            Seeds::Design => "on design seeds",
            Seeds::Fresh => "on fresh seeds",
            Seeds::Mixed => "on design and fresh seeds",
            Seeds::Unstated => "design seeds not stated",
        }
    }
}

/// When a claim was stated, relative to the runs that test it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stated {
    /// Registered before the first of its runs started: a prediction.
    Before,
    /// Registered after (or when the record has no stamp for it, or no run has started).
    After,
    /// No stamp: the record predates stamps.
    Unknown,
}

impl Stated {
    /// `registered` and `first_started` are RFC 3339 times in UTC (as the harness writes them),
    /// which order as strings.
    pub fn of(registered: Option<&str>, first_started: Option<&str>) -> Stated {
        match (registered, first_started) {
            (None, _) => Stated::Unknown,
            (Some(r), Some(s)) if r <= s => Stated::Before,
            _ => Stated::After,
        }
    }

    /// The label in tables.
    pub fn label(self) -> &'static str {
        match self {
            Stated::Before => "stated before its runs",
            Stated::After => "stated after its runs",
            Stated::Unknown => "statement time not recorded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_labelled_against_the_design_seeds() {
        let design: &[u64] = &[1, 2, 3];
        assert_eq!(Seeds::of(&[1, 2, 3], Some(design)), Seeds::Design);
        assert_eq!(Seeds::of(&[4, 5, 6], Some(design)), Seeds::Fresh);
        assert_eq!(Seeds::of(&[3, 4], Some(design)), Seeds::Mixed);
        assert_eq!(Seeds::of(&[4], None), Seeds::Unstated);
    }

    #[test]
    fn a_claim_is_a_prediction_only_when_stamped_before_its_first_run() {
        let r = "2026-12-08T01:00:00Z";
        assert_eq!(
            Stated::of(Some(r), Some("2026-12-08T01:00:05Z")),
            Stated::Before
        );
        assert_eq!(
            Stated::of(Some(r), Some("2026-12-07T23:00:00Z")),
            Stated::After
        );
        assert_eq!(Stated::of(Some(r), None), Stated::After);
        assert_eq!(Stated::of(None, Some(r)), Stated::Unknown);
    }

    #[test]
    fn editing_any_field_of_a_claim_changes_its_id() {
        let text = "[[claim]]\ntext = \"t\"\nmetric = \"sliced_wasserstein\"\nat_most = 1\n";
        let parse = |t: &str| -> Claim {
            let table: toml::Table = toml::from_str(t).unwrap();
            let list = table["claim"].as_array().unwrap()[0].clone();
            list.try_into().unwrap()
        };
        let a = parse(text);
        let b = parse(&text.replace("at_most = 1", "at_most = 0.5"));
        let c = parse(&text.replace("text = \"t\"", "text = \"u\""));
        assert_eq!(claim_id(&a), claim_id(&parse(text)));
        assert_ne!(claim_id(&a), claim_id(&b));
        assert_ne!(claim_id(&a), claim_id(&c));
        assert_eq!(claim_id(&a).len(), 12);
    }
}
