//! The workspace's layering, as Cargo sees it: the crates that do not train (core, report) build
//! without Burn, the engine does not reach up into the report, and each crate keeps to at most
//! 12 top-level modules. Cargo itself refuses an import from a crate that is not a dependency;
//! these tests keep the dependency lists honest.

use std::path::Path;
use std::process::Command;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The packages `package` depends on through normal (non-dev, non-build) edges, one name per
/// line as `cargo tree` prints them.
fn normal_deps(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args(["tree", "--offline", "-p", package, "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn core_and_report_build_without_burn() {
    for package in ["harness-core", "harness-report"] {
        let deps = normal_deps(package);
        assert!(deps.len() > 5, "{package}: cargo tree printed {deps:?}");
        let burn: Vec<_> = deps.iter().filter(|d| d.starts_with("burn")).collect();
        assert!(burn.is_empty(), "{package} depends on {burn:?}");
        assert!(
            !deps.iter().any(|d| d == "harness-engine"),
            "{package} depends on the engine"
        );
    }
}

#[test]
fn the_engine_does_not_depend_on_the_report() {
    let deps = normal_deps("harness-engine");
    assert!(deps.iter().any(|d| d == "burn"), "{deps:?}");
    assert!(!deps.iter().any(|d| d == "harness-report"), "{deps:?}");
}

#[test]
fn no_crate_has_more_than_twelve_top_level_modules() {
    for lib in [
        "src/lib.rs",
        "crates/core/src/lib.rs",
        "crates/engine/src/lib.rs",
        "crates/report/src/lib.rs",
    ] {
        let text = std::fs::read_to_string(workspace().join(lib)).unwrap();
        let mods: Vec<&str> = text
            .lines()
            .filter(|l| {
                let l = l
                    .trim_start_matches("pub ")
                    .trim_start_matches("pub(crate) ");
                l.starts_with("mod ") && l.ends_with(';')
            })
            .collect();
        assert!(!mods.is_empty(), "{lib}: no modules found");
        assert!(
            mods.len() <= 12,
            "{lib} declares {} top-level modules (at most 12): {mods:?}",
            mods.len()
        );
    }
}

/// No source file over 800 lines (a file that long holds more than one concept; functions are
/// held to 60 lines of code by clippy's `too_many_lines`, see clippy.toml).
#[test]
fn no_source_file_is_over_800_lines() {
    let mut long = Vec::new();
    for root in ["src", "crates"] {
        for entry in walkdir::WalkDir::new(workspace().join(root)) {
            let entry = entry.unwrap();
            if entry.path().extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let n = text.lines().count();
                if n > 800 {
                    long.push(format!("{} ({n} lines)", entry.path().display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "over 800 lines: {long:?}");
}
