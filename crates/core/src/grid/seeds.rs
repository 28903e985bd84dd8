//! `--seeds`: a grid run on other seeds than the ones its file names, without editing the file,
//! so that claims chosen on some seeds can be checked on fresh ones.
//!
//! The file is read and checked as written first (its errors keep their lines), then read again
//! with its top-level `seeds` replaced: every configuration, `[[sample]]` draws included (they
//! depend on the seed), is expanded as if the file had said those seeds. The plan is named
//! `<name>-seeds-<s1>-<s2>...`, so its sweep record sits beside the file's own instead of
//! replacing it, and the report shows the two apart.

use super::{GridError, Plan, load_plan, parse_plan};
use std::path::Path;

/// The plan of the grid file `path`, on `seeds` instead of its own when given (see the module
/// docs). `max_runs` as for [`load_plan`].
pub fn load_plan_on_seeds(
    path: &Path,
    max_runs: Option<usize>,
    seeds: Option<&[u64]>,
) -> Result<Plan, GridError> {
    let plan = load_plan(path, max_runs)?;
    let Some(seeds) = seeds else {
        return Ok(plan);
    };
    let refuse = |message: String| GridError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
    };
    if seeds.is_empty() {
        return Err(refuse(
            "--seeds: give at least one seed, e.g. --seeds 4,5,6".into(),
        ));
    }
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(refuse(format!(
            "--seeds: seed {} is given twice; each seed runs once",
            w[0]
        )));
    }
    // Read again: `load_plan` succeeded, so the file reads and parses.
    let text = std::fs::read_to_string(path).map_err(|e| refuse(format!("cannot read: {e}")))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| refuse(e.to_string()))?;
    let mut list = toml_edit::Array::new();
    for &s in seeds {
        let s = i64::try_from(s).map_err(|_| refuse(format!("--seeds: {s} is too large")))?;
        list.push(s);
    }
    doc["seeds"] = toml_edit::value(list);
    let mut plan = parse_plan(path, &doc.to_string(), max_runs)?;
    let suffix: Vec<String> = seeds.iter().map(u64::to_string).collect();
    plan.name = format!("{}-seeds-{}", plan.name, suffix.join("-"));
    plan.seeds_override = Some(seeds.to_vec());
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(dir: &Path, text: &str) -> std::path::PathBuf {
        let p = dir.join("g.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    const GRID: &str = "name = \"g\"\nseeds = [1, 2]\ndesign_seeds = [1, 2]\n[base]\n\
                        dataset = \"8gaussians\"\ngen_iters = 10\n[[grid]]\nloss = [\"wgan-gp\", \"gan\"]\n";

    #[test]
    fn other_seeds_give_the_same_configurations_on_those_seeds() {
        let dir = tempfile::tempdir().unwrap();
        let p = grid(dir.path(), GRID);
        let own = load_plan_on_seeds(&p, None, None).unwrap();
        let fresh = load_plan_on_seeds(&p, None, Some(&[4, 5, 6])).unwrap();
        assert_eq!(own.name, "g");
        assert_eq!(fresh.name, "g-seeds-4-5-6");
        assert_eq!(own.entries.len(), 4);
        assert_eq!(fresh.entries.len(), 6);
        let seeds: Vec<u64> = fresh.entries.iter().map(|e| e.config.seed).collect();
        assert_eq!(seeds.iter().filter(|&&s| s == 5).count(), 2);
        assert!(seeds.iter().all(|s| [4, 5, 6].contains(s)));
        // The same configuration on seed 1 hashes the same whichever way it was asked for.
        let again = load_plan_on_seeds(&p, None, Some(&[1])).unwrap();
        let own_hashes: Vec<_> = own.entries.iter().map(|e| &e.hash).collect();
        assert!(again.entries.iter().all(|e| own_hashes.contains(&&e.hash)));
        assert_eq!(fresh.design_seeds, Some(vec![1, 2]));
        assert_eq!(fresh.seeds_override, Some(vec![4, 5, 6]));
    }

    #[test]
    fn an_empty_or_repeated_seed_list_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = grid(dir.path(), GRID);
        let e = load_plan_on_seeds(&p, None, Some(&[])).unwrap_err();
        assert!(e.message.contains("at least one seed"), "{}", e.message);
        let e = load_plan_on_seeds(&p, None, Some(&[3, 3])).unwrap_err();
        assert!(e.message.contains("seed 3 is given twice"), "{}", e.message);
    }
}
