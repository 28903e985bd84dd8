//! Tests build long fixtures inline: a test reads top to bottom.
#![allow(clippy::too_many_lines)]

use super::*;
use crate::grid::{Plan, parse_plan};
use std::path::Path;

fn plan(text: &str) -> Plan {
    parse_plan(Path::new("g.toml"), text, None).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    parse_plan(Path::new("g.toml"), text, None)
        .map(|p| panic!("accepted: {} entries", p.entries.len()))
        .unwrap_err()
        .to_string()
}

const BASE: &str = "[base]\ndataset = \"8gaussians\"\ndim = 8\ngen_iters = 2\n";

fn table(n: usize, rest: &str) -> String {
    format!("{BASE}[[sample]]\nn = {n}\nseed = 7\n{rest}")
}

const AXES: &str = "loss = [\"gan-ns\", \"wgan-gp\"]\nc_lr = { log_uniform = [1e-5, 1e-3] }\n\
        c_beta1 = { uniform = [0.0, 0.9] }\nn_critic = { int_uniform = [1, 5] }\n";

/// The same file draws the same settings; raising `n` keeps the earlier draws in order.
#[test]
fn draws_are_deterministic_and_extend_without_moving() {
    let ten = plan(&table(10, AXES));
    assert_eq!(ten.entries.len(), 10);
    assert_eq!(ten.sampled.len(), 10);
    let again = plan(&table(10, AXES));
    let hashes = |p: &Plan| p.entries.iter().map(|e| e.hash.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&ten), hashes(&again));
    let twenty = plan(&table(20, AXES));
    assert_eq!(hashes(&twenty)[..10], hashes(&ten)[..]);
    assert_eq!(twenty.sampled[..10], ten.sampled[..]);
    // The draws differ from each other: 20 configurations, and (4 significant digits over
    // two decades) at most a chance repeat of a learning rate.
    assert_eq!(twenty.entries.len(), 20);
    let lrs: std::collections::BTreeSet<u64> = twenty
        .entries
        .iter()
        .map(|e| e.config.c_optim.lr.to_bits())
        .collect();
    assert!(lrs.len() >= 19, "{lrs:?}");
    assert_eq!(twenty.sample_groups, ["loss"]);
    for k in ["c_lr", "c_beta1", "n_critic", "loss"] {
        assert!(
            twenty.varying.contains(&k.to_string()),
            "{:?}",
            twenty.varying
        );
    }
}

/// Pinned values: a change to the stream, the unit float, the rounding or the integer draw
/// would move every drawn run's hash, so it must show here first.
#[test]
fn draws_are_pinned() {
    let got: Vec<String> = (0..3)
        .map(|i| {
            [
                draw_one(7, i, "c_lr", &Dist::LogUniform(1e-5, 1e-3)),
                draw_one(7, i, "c_beta1", &Dist::Uniform(0.0, 0.9)),
                draw_one(7, i, "n_critic", &Dist::IntUniform(1, 5)),
            ]
            .map(|v| v.to_string())
            .join(" ")
        })
        .collect();
    assert_eq!(got, PINNED);
}

const PINNED: [&str; 3] = [
    "0.00007846 0.4512 3",
    "0.00005668 0.5401 2",
    "0.00001227 0.1661 4",
];

/// Values stay in range, keep 4 significant digits, and spread as their distribution does.
#[test]
fn distributions_cover_their_ranges() {
    let n = 2000;
    let logs: Vec<f64> = (0..n)
        .map(|i| {
            draw_one(1, i, "c_lr", &Dist::LogUniform(1e-5, 1e-3))
                .as_float()
                .unwrap()
        })
        .collect();
    assert!(logs.iter().all(|x| (1e-5..=1e-3).contains(x)));
    assert!(logs.iter().all(|x| round_sig(*x) == *x));
    // Half the mass below the geometric mean 1e-4 (a uniform draw would put 9% there).
    let below = logs.iter().filter(|x| **x < 1e-4).count() as f64 / n as f64;
    assert!((0.46..0.54).contains(&below), "{below}");
    let ints: Vec<i64> = (0..n)
        .map(|i| {
            draw_one(1, i, "n_critic", &Dist::IntUniform(1, 5))
                .as_integer()
                .unwrap()
        })
        .collect();
    for v in 1..=5 {
        let share = ints.iter().filter(|x| **x == v).count() as f64 / n as f64;
        assert!((0.17..0.23).contains(&share), "{v}: {share}");
    }
    let u: Vec<f64> = (0..n)
        .map(|i| {
            draw_one(1, i, "b", &Dist::Uniform(0.0, 0.9))
                .as_float()
                .unwrap()
        })
        .collect();
    let mean = u.iter().sum::<f64>() / n as f64;
    assert!((mean - 0.45).abs() < 0.02, "{mean}");
}

/// `per` gives n draws per value, and every stratum gets the same values of the other keys
/// (common random numbers); adding an axis leaves the other axes' values as they were.
#[test]
fn strata_share_draws_and_axes_are_independent() {
    let p = plan(&table(3, &format!("per = \"loss\"\n{AXES}")));
    assert_eq!(p.entries.len(), 6);
    let by_loss = |l: &str| -> Vec<(u64, u32)> {
        p.entries
            .iter()
            .filter(|e| e.config.legacy_loss().map(|x| x.to_string()) == Some(l.into()))
            .map(|e| (e.config.c_optim.lr.to_bits(), e.config.n_critic))
            .collect()
    };
    assert_eq!(by_loss("gan-ns").len(), 3);
    assert_eq!(by_loss("gan-ns"), by_loss("wgan-gp"));
    let fewer = plan(&table(3, "c_lr = { log_uniform = [1e-5, 1e-3] }\n"));
    let lrs: Vec<u64> = fewer
        .entries
        .iter()
        .map(|e| e.config.c_optim.lr.to_bits())
        .collect();
    let all: Vec<u64> = by_loss("gan-ns").iter().map(|x| x.0).collect();
    assert_eq!(lrs, all);
}

/// A drawn setting written out by hand in a grid is the same configuration, the same hash.
#[test]
fn a_drawn_point_equal_to_a_grid_point_is_the_same_run() {
    let drawn = plan(&table(
        1,
        "loss = \"wgan-gp\"\nc_lr = { log_uniform = [1e-5, 1e-3] }\n",
    ));
    let lr = drawn.entries[0].config.c_optim.lr;
    let both = format!(
        "{BASE}[[grid]]\nloss = \"wgan-gp\"\nc_lr = {lr:e}\n[[sample]]\nn = 1\nseed = 7\n\
             loss = \"wgan-gp\"\nc_lr = {{ log_uniform = [1e-5, 1e-3] }}\n"
    );
    let p = plan(&both);
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].hash, drawn.entries[0].hash);
    assert_eq!(p.sampled, [p.entries[0].hash.clone()]);
    assert_eq!(p.duplicates, [(p.entries[0].hash.clone(), 2)]);
}

/// Each bad table is refused at the line and column of what is wrong.
#[test]
fn bad_tables_are_located() {
    // Line 5 is `n`, 6 `seed`, 7 the first axis.
    let cases = [
        (
            "n = 0\nseed = 1\n",
            "g.toml:6:1: key `n`: expected an integer in 1..=100000, got 0 in [[sample]] #1",
        ),
        ("seed = 1\n", "g.toml:5:1: missing key `n`"),
        ("n = 2\n", "g.toml:5:1: missing key `seed`"),
        (
            "n = 2\nseed = -1\n",
            "g.toml:7:1: key `seed`: expected a non-negative integer",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { uniform = [0.1, 0.1] }\n",
            "g.toml:8:10: key `c_lr`: `uniform` = [0.1, 0.1]: low must be below high",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { log_uniform = [0.0, 0.1] }\n",
            "g.toml:8:10: key `c_lr`: `log_uniform` = [0, 0.1]: both bounds must be positive",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { normal = [0.0, 0.1] }\n",
            "g.toml:8:10: key `c_lr`: unknown distribution `normal`; distributions: choice, uniform, log_uniform, int_uniform",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { unifrom = [0.0, 0.1] }\n",
            "(did you mean `uniform`?)",
        ),
        (
            "n = 2\nseed = 1\nc_lrr = [0.1]\n",
            "g.toml:8:1: unknown key `c_lrr` (did you mean `c_lr`?)",
        ),
        (
            "n = 2\nseed = 1\nn_critic = { uniform = [1, 5] }\n",
            "g.toml:8:14: key `n_critic`: `uniform` needs a float key; `n_critic` is an integer key: draw it with int_uniform or choice",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { int_uniform = [1, 5] }\n",
            "key `c_lr`: `int_uniform` needs an integer key",
        ),
        (
            "n = 2\nseed = 1\nn_critic = { int_uniform = [5, 1] }\n",
            "g.toml:8:14: key `n_critic`: `int_uniform` = [5, 1]: low must be below high",
        ),
        (
            "n = 2\nseed = 1\nloss = { choice = [\"gan\", 3] }\n",
            "g.toml:8:1: key `loss`",
        ),
        (
            "n = 2\nseed = 1\nloss = [\"gan\", \"wgan-gpp\"]\n",
            "g.toml:8:1: key `loss`: unknown variant `wgan-gpp`",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { uniform = [\"a\", 1] }\n",
            "`uniform` takes [low, high], two finite numbers",
        ),
        (
            "n = 2\nseed = 1\nper = \"loss\"\nc_lr = 1e-4\n",
            "g.toml:8:1: key `per`: `loss` is not a key of this table drawn from a list of values",
        ),
        (
            "n = 2\nseed = 1\nc_lr = { uniform = [0.1, 0.2], choice = [1] }\n",
            "g.toml:8:1: key `c_lr`: a distribution is a table with one key",
        ),
        (
            "n = 2\nseed = 1\nloss = \"gan\"\ngp_lambda = { uniform = [1.0, 10.0] }\n",
            "g.toml:9:1: key `gp_lambda`",
        ),
        (
            "n = 2\nseed = 1\nc_beta1 = { uniform = [0.5, 1.5] }\n",
            "(draw 1 of [[sample]] #1: c_beta1 = ",
        ),
    ];
    for (t, want) in cases {
        let got = error(&format!("{BASE}[[sample]]\n{t}"));
        assert!(got.contains(want), "for {t:?}\n got: {got}\nwant: {want}");
    }
    let got = parse_plan(Path::new("g.toml"), &table(6, "c_lr = [1e-4]\n"), Some(5))
        .map(|p| panic!("accepted: {} entries", p.entries.len()))
        .unwrap_err()
        .to_string();
    assert!(
        got.starts_with("g.toml:6:1: [[sample]] #1 brings the plan to 6 runs"),
        "{got}"
    );
    assert!(error("sample = 3\n").starts_with("g.toml:1:1: `sample` must be an array of tables"));
}

/// Without `[[grid]]` a file with samples has only its draws; with both, grid points first.
#[test]
fn grids_and_samples_combine() {
    let only = plan(&table(2, "c_lr = { log_uniform = [1e-5, 1e-3] }\n"));
    assert_eq!(only.entries.len(), 2);
    let both = plan(&format!(
        "seeds = [1, 2]\n{BASE}[[grid]]\nloss = \"gan\"\n[[sample]]\nn = 2\nseed = 7\n\
             c_lr = {{ log_uniform = [1e-5, 1e-3] }}\n"
    ));
    assert_eq!(both.entries.len(), 2 + 4);
    assert_eq!(both.sampled.len(), 4);
    assert!(!both.sampled.contains(&both.entries[0].hash));
}
