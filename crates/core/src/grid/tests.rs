//! Tests build long fixtures inline: a test reads top to bottom.
#![allow(clippy::too_many_lines)]

use super::*;

fn error(text: &str) -> String {
    parse_plan(Path::new("g.toml"), text, Some(20))
        .map(|p| panic!("accepted: {} entries", p.entries.len()))
        .unwrap_err()
        .to_string()
}

/// Each check of the file's structure, with the location it reports.
#[test]
fn structural_errors_name_their_line_and_column() {
    let cases = [
        (
            "loss = \"gan\"\n",
            "g.toml:1:1: unknown top-level key `loss` (run settings go in [base] or [[grid]]: move `loss` under [base])",
        ),
        (
            "nmae = \"x\"\n",
            "g.toml:1:1: unknown top-level key `nmae` (did you mean `name`?)",
        ),
        (
            "name = 3\n",
            "g.toml:1:1: key `name`: expected a string, got integer",
        ),
        (
            "name = \"a b\"\n",
            "g.toml:1:1: key `name`: \"a b\" may only contain letters",
        ),
        (
            "description = [1]\n",
            "g.toml:1:1: key `description`: expected a string, got array",
        ),
        (
            "max_runs = 0\n",
            "g.toml:1:1: key `max_runs`: expected a positive integer, got 0",
        ),
        (
            "seeds = []\n",
            "g.toml:1:1: key `seeds`: expected a non-empty array",
        ),
        (
            "seeds = [1, -2]\n",
            "g.toml:1:1: key `seeds`: expected non-negative integers, got -2",
        ),
        ("base = 1\n", "g.toml:1:1: `base` must be a table"),
        (
            "grid = 1\n",
            "g.toml:1:1: `grid` must be an array of tables: write [[grid]]",
        ),
        ("grid = []\n", "g.toml:1:1: empty grid"),
        (
            "grid = [1]\n",
            "g.toml:1:1: `grid` must be an array of tables: [[grid]]",
        ),
        (
            "seeds = [1]\n[base]\nseed = 2\n",
            "g.toml:3:1: key `seed`: conflicts with the top-level `seeds`",
        ),
        (
            "[[grid]]\nn_critic = [1, 2, 3, 4, 5, 6, 7]\nseed = [1, 2, 3]\n",
            "g.toml:1:3: the grid expands to more than 20 runs",
        ),
        // An error about a default points at the key that chose it.
        (
            "[base]\ndataset = \"mnist\"\n[[grid]]\nmodel = \"toy-mlp\"\n",
            "g.toml:4:1: key `model`: model \"toy-mlp\" is for 2-D toy data",
        ),
        (
            "[[grid]]\nloss = \"gan\"\nwarmup = [false, true]\n",
            "g.toml:3:1: key `warmup`: warmup (100 critic steps",
        ),
        (
            "[base]\nprofile = \"seed\"\ndataset = \"8gaussians\"\n",
            "g.toml:3:1: key `model`: model \"mlp\" needs image data",
        ),
    ];
    for (text, want) in cases {
        let got = error(text);
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
    }
}

/// 16 axes of 16 values: 16^16 = 2^64 points, which a `usize` product wraps to 0.
fn huge_grid(extra: &str) -> String {
    let keys = [
        "batch_size",
        "gen_iters",
        "n_critic",
        "log_every",
        "eval_every",
        "checkpoint_every",
        "eval_samples",
        "z_dim",
        "dim",
        "depth",
    ];
    let floats = ["g_lr", "c_lr", "g_beta1", "c_beta1", "g_beta2", "c_beta2"];
    let mut text = format!("{extra}[[grid]]\n");
    for k in keys {
        let v: Vec<String> = (1..=16).map(|i| i.to_string()).collect();
        text += &format!("{k} = [{}]\n", v.join(", "));
    }
    for k in floats {
        let v: Vec<String> = (1..=16).map(|i| format!("0.{i:02}")).collect();
        text += &format!("{k} = [{}]\n", v.join(", "));
    }
    text
}

/// Grid sizes multiply without wrapping, and no limit lets a grid past the hard cap, so a
/// huge grid is refused before anything is expanded, naming its axes.
#[test]
fn huge_grids_are_refused_without_wrapping() {
    for (extra, limit) in [("", Some(20)), ("", None), ("seeds = [1, 2, 3, 4]\n", None)] {
        let text = huge_grid(extra);
        let got = parse_plan(Path::new("g.toml"), &text, limit)
            .map(|p| format!("accepted: {} entries", p.entries.len()))
            .unwrap_err()
            .to_string();
        assert!(
            got.contains(":3: the grid expands to more than 2^64 runs (batch_size 16 x"),
            "{got}"
        );
        assert!(got.contains("c_beta2 16"), "{got}");
        assert!(got.contains("even with --yes"), "{got}");
    }
    // Below 2^64 but above the hard cap: refused even without a limit.
    let text = "[[grid]]\nn_critic = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    batch_size = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    gen_iters = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    log_every = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                    eval_every = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nseed = [1, 2]\n";
    let got = parse_plan(Path::new("g.toml"), text, None)
        .map(|p| format!("accepted: {} entries", p.entries.len()))
        .unwrap_err()
        .to_string();
    assert!(
        got.starts_with("g.toml:1:3: the grid expands to 200000 runs (batch_size 10 x"),
        "{got}"
    );
}

const CLIP_VS_GP: &str = "seeds = [1, 2]\n[base]\ndataset = \"swissroll\"\n\
        [[grid]]\nloss = \"wgan-clip\"\nclip = [0.1, 0.01]\n[[grid]]\nloss = \"wgan-gp\"\n";

/// The plan carries its claims, and a bad claim is a located grid error.
#[test]
fn claims_are_read_and_bad_ones_located() {
    let good = format!(
        "{CLIP_VS_GP}[[claim]]\ntext = \"GP fits better\"\nmetric = \"sliced_wasserstein\"\n\
             better = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}\n"
    );
    let p = parse_plan(Path::new("g.toml"), &good, None).unwrap();
    assert_eq!(p.claims.len(), 1);
    assert_eq!(p.claims[0].text, "GP fits better");
    let cases = [
        // Line 11 is the claim's `metric`, line 12 its selector.
        (
            "metric = \"sliced_wasserstien\"\nat_most = 1\n",
            "g.toml:11:1: [[claim]] #1: key `metric`: unknown metric `sliced_wasserstien` \
                 (did you mean `sliced_wasserstein`?)",
        ),
        (
            "metric = \"sliced_wasserstein\"\nwhere = { clip = 0.5 }\nat_most = 1\n",
            "g.toml:12:11: [[claim]] #1: key `where.clip`: no configuration of the plan has \
                 clip = 0.5 (values in the plan: 0.01, 0.1)",
        ),
        (
            "metric = \"estimate\"\nbetter = { loss = \"wgan-gp\" }\nthan = { loss = \"wgan-clip\" }\n",
            "g.toml:11:1: [[claim]] #1: key `metric`: `estimate` has no better direction",
        ),
    ];
    for (claim, want) in cases {
        let text = format!("{CLIP_VS_GP}[[claim]]\ntext = \"t\"\n{claim}");
        let got = error(&text);
        assert!(
            got.starts_with(want),
            "for {claim:?}\n got: {got}\nwant: {want}"
        );
    }
    let got = error("[[claim]]\nmetric = 1\n");
    assert!(
        got.starts_with("g.toml:2:1: [[claim]] #1: key `metric`"),
        "{got}"
    );
}

#[test]
fn points_expand_first_axis_slowest_and_duplicates_are_counted() {
    let p = parse_plan(
            Path::new("g.toml"),
            "seeds = [1, 2]\n[base]\ndim = 8\n[[grid]]\nloss = [\"wgan-gp\", \"gan\"]\nn_critic = [1, 2]\n[[grid]]\nloss = \"gan\"\nn_critic = 1\n",
            None,
        )
        .unwrap();
    let got: Vec<(String, u32, u64)> = p
        .entries
        .iter()
        .map(|e| {
            (
                e.config.legacy_loss().unwrap().to_string(),
                e.config.n_critic,
                e.config.seed,
            )
        })
        .collect();
    let want = [
        ("wgan-gp", 1, 1),
        ("wgan-gp", 1, 2),
        ("wgan-gp", 2, 1),
        ("wgan-gp", 2, 2),
        ("gan", 1, 1),
        ("gan", 1, 2),
        ("gan", 2, 1),
        ("gan", 2, 2),
    ];
    let want: Vec<(String, u32, u64)> = want
        .iter()
        .map(|(l, n, s)| (l.to_string(), *n, *s))
        .collect();
    assert_eq!(got, want);
    assert_eq!(p.duplicates.len(), 2);
    assert!(p.duplicates.iter().all(|(_, n)| *n == 2));
    assert_eq!(p.varying, ["loss", "n_critic", "seed"]);
}

#[test]
fn values_show_one_way_everywhere() {
    use super::show_value;
    use toml::Value;
    assert_eq!(show_value(&Value::String("wgan-gp".into())), "wgan-gp");
    assert_eq!(show_value(&Value::Integer(-5)), "-5");
    assert_eq!(show_value(&Value::Boolean(true)), "true");
    // Floats as Rust's shortest round trip, where TOML writes `1.0` and `1e-5`.
    assert_eq!(show_value(&Value::Float(1.0)), "1");
    assert_eq!(show_value(&Value::Float(1e-5)), "0.00001");
    assert_eq!(show_value(&Value::Float(0.01)), "0.01");
    let list = Value::Array(vec![Value::Integer(256), Value::Float(0.5)]);
    assert_eq!(show_value(&list), "[256, 0.5]");
}
