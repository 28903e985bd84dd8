//! The README is kept true by the build: its key table lists exactly the keys a grid file
//! accepts, its CLI synopsis names exactly the flags each command takes, every metric of the
//! registry is defined in its Metrics section, and every argument of every command has a help
//! line.

use harness_core::config::KEYS;
use harness_core::results::metrics::REGISTRY;
use std::collections::{BTreeMap, BTreeSet};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The text of the section headed `heading` (a whole line), up to the next heading of the same
/// or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no `{heading}`"))
        + heading.len()
        + 2;
    let level = heading.split(' ').next().unwrap();
    let rest = &text[start..];
    let end = rest
        .lines()
        .scan(0, |at, l| {
            let here = *at;
            *at += l.len() + 1;
            Some((here, l))
        })
        .find(|(_, l)| {
            l.split(' ').next().is_some_and(|h| {
                h.chars().all(|c| c == '#') && h.len() <= level.len() && !h.is_empty()
            })
        })
        .map_or(rest.len(), |(at, _)| at);
    &rest[..end]
}

/// The words in backticks of `cell`.
fn ticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

#[test]
fn the_key_table_lists_exactly_the_keys_a_grid_accepts() {
    let text = readme();
    let mut documented = BTreeSet::new();
    // The section's first table (a later one lists the profiles).
    let table = section(&text, "### Keys")
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    for row in table.filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap();
        let names = ticked(cell);
        for name in &names {
            if *name == "c_..." {
                // `g_x`, `g_y` (`c_...`): the critic's twins of the generator's keys.
                for g in names.iter().filter_map(|n| n.strip_prefix("g_")) {
                    documented.insert(format!("c_{g}"));
                }
            } else {
                documented.insert(name.to_string());
            }
        }
    }
    let accepted: BTreeSet<String> = KEYS.iter().map(|k| k.to_string()).collect();
    let missing: Vec<_> = accepted.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README Keys table: undocumented keys {missing:?}, documented keys the config refuses {extra:?}"
    );
}

/// Command path ("sweep", "data mnist") -> the long flags the README's synopsis gives it.
fn synopsis_flags(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cli = section(text, "## CLI");
    let block = cli
        .split("```")
        .nth(1)
        .expect("the CLI section has a code block");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in block.lines() {
        let code = line.split(" # ").next().unwrap();
        if let Some(rest) = code.strip_prefix("harness ") {
            current = rest
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .collect::<Vec<_>>()
                .join(" ");
            out.entry(current.clone()).or_default();
        }
        if current.is_empty() {
            continue;
        }
        for word in code.split(|c: char| c.is_whitespace() || "[]()|".contains(c)) {
            if let Some(flag) = word.strip_prefix("--") {
                let flag = flag.split('=').next().unwrap();
                if !flag.is_empty() {
                    out.get_mut(&current).unwrap().insert(flag.to_string());
                }
            }
        }
    }
    out
}

/// Every leaf command of `cmd` with its path below `harness`.
fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
    let subs: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if subs.is_empty() {
        out.push((path.to_string(), cmd.clone()));
    }
    for s in subs {
        let p = if path.is_empty() {
            s.get_name().to_string()
        } else {
            format!("{path} {}", s.get_name())
        };
        leaves(s, &p, out);
    }
}

fn commands() -> Vec<(String, clap::Command)> {
    let mut cmd = gan_harness::cli::command();
    cmd.build();
    let mut out = Vec::new();
    leaves(&cmd, "", &mut out);
    out
}

fn shown_args(cmd: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && !["help", "version"].contains(&a.get_id().as_str()))
}

#[test]
fn the_cli_synopsis_names_exactly_the_flags_of_each_command() {
    let documented = synopsis_flags(&readme());
    let mut wrong = Vec::new();
    for (path, cmd) in commands() {
        let Some(doc) = documented.get(&path) else {
            wrong.push(format!("`harness {path}` is not in the synopsis"));
            continue;
        };
        let real: BTreeSet<String> = shown_args(&cmd)
            .filter_map(|a| a.get_long().map(String::from))
            .collect();
        for f in real.difference(doc) {
            wrong.push(format!(
                "`harness {path} --{f}` is missing from the synopsis"
            ));
        }
        for f in doc.difference(&real) {
            wrong.push(format!(
                "the synopsis gives `harness {path}` a flag it lacks: --{f}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "README CLI synopsis:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_argument_of_every_command_has_a_help_line() {
    let mut bare = Vec::new();
    for (path, cmd) in commands() {
        for a in shown_args(&cmd) {
            if a.get_help().is_none() && a.get_long_help().is_none() {
                bare.push(format!("harness {path} {}", a.get_id()));
            }
        }
    }
    assert!(bare.is_empty(), "arguments without a help line: {bare:?}");
}

#[test]
fn every_metric_of_the_registry_is_defined_in_the_readme() {
    let text = readme();
    let metrics = section(&text, "## Metrics");
    let named: BTreeSet<&str> = ticked(metrics).into_iter().collect();
    let missing: Vec<&str> = REGISTRY
        .iter()
        .map(|m| m.name)
        .filter(|n| !named.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics missing from README's Metrics section: {missing:?}"
    );
}
