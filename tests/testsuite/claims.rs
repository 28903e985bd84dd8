//! Claims through the whole pipeline: a grid file's `[[claim]]` tables are read with the plan,
//! stored in the sweep record, and tested by `harness report` on the runs it finds, into the
//! page, `summary.md`, `claims.csv` and the exit code of `harness report --check`.
//!
//! The runs are hand-made so that the right verdict of each claim is known: every kind is
//! supported, contradicted and inconclusive once. A last test trains a real short sweep and
//! checks that a deliberately false claim fails `--check`.

use crate::support::harness;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Output;

use harness_core::grid::{Plan, parse_plan};
use harness_core::results::store::config_text;
use harness_core::results::sweep_record::{self, record_plan};
use harness_report::{ReportOptions, generate};

/// `harness report DIR --check`.
fn report_check(results: &Path) -> Output {
    harness()
        .args(["report", "--check"])
        .arg(results)
        .output()
        .unwrap()
}

/// Assert that stdout (or stderr) of `o` contains each of `needles`.
fn says(o: &Output, stderr: bool, needles: &[&str]) {
    let stream = String::from_utf8_lossy(if stderr { &o.stderr } else { &o.stdout });
    for n in needles {
        assert!(stream.contains(n), "`{n}` missing:\n{}", text(o));
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const GRID: &str = r#"
name = "claims_demo"
description = "Clipping vs penalty on 8 Gaussians, with the paper's claims"
seeds = [1, 2, 3]
[base]
dataset = "8gaussians"
gen_iters = 100
[[grid]]
loss = "wgan-clip"
clip = [0.1, 0.01]
[[grid]]
loss = "wgan-gp"
"#;

/// Each claim with the verdict the hand-made runs below must give it.
const CLAIMS: &[(&str, &str)] = &[
    // Comparisons on sliced_wasserstein (lower is better).
    (
        "supported",
        r#"text = "The penalty fits better than clipping at 0.1"
metric = "sliced_wasserstein"
better = { loss = "wgan-gp" }
than = { clip = 0.1 }"#,
    ),
    (
        "contradicted",
        r#"text = "Clipping at 0.1 fits better than the penalty"
metric = "sliced_wasserstein"
better = { clip = 0.1 }
than = { loss = "wgan-gp" }"#,
    ),
    (
        "inconclusive",
        r#"text = "Clipping at 0.01 fits better than at 0.1"
metric = "sliced_wasserstein"
better = { clip = 0.01 }
than = { clip = 0.1 }"#,
    ),
    // Thresholds: t-tests of the mean on sliced_wasserstein (3 seeds can decide), a sign test
    // on modes_covered, a count (3 seeds cannot: 3 of 3 has p = 1/8).
    (
        "supported",
        r#"text = "The penalty fits within 0.5"
metric = "sliced_wasserstein"
where = { loss = "wgan-gp" }
at_most = 0.5"#,
    ),
    (
        "contradicted",
        r#"text = "Clipping at 0.01 fits within 1"
metric = "sliced_wasserstein"
where = { clip = 0.01 }
at_most = 1"#,
    ),
    (
        "inconclusive",
        r#"text = "Clipping at 0.1 covers all 8 modes"
metric = "modes_covered"
where = { clip = 0.1 }
at_least = 8"#,
    ),
    // Layer trends on act_grad_norm (layer 1 is the input side).
    (
        "supported",
        r#"text = "Clipping at 0.01 makes the gradients vanish towards the input"
metric = "act_grad_norm"
where = { clip = 0.01 }
decays_by = 3"#,
    ),
    (
        "contradicted",
        r#"text = "Clipping at 0.1 keeps the gradients within a decade across layers"
metric = "act_grad_norm"
where = { clip = 0.1 }
within = 1"#,
    ),
    (
        "inconclusive",
        r#"text = "The penalty keeps the gradients within a decade across layers"
metric = "act_grad_norm"
where = { loss = "wgan-gp" }
within = 1"#,
    ),
    // Correlations over training between the estimate and the fit.
    (
        "supported",
        r#"text = "The penalty's estimate tracks the fit"
metric = "estimate"
tracks = "sliced_wasserstein"
sign = "positive"
where = { loss = "wgan-gp" }"#,
    ),
    (
        "contradicted",
        r#"text = "The penalty's estimate moves against the fit"
metric = "estimate"
tracks = "sliced_wasserstein"
sign = "negative"
where = { loss = "wgan-gp" }"#,
    ),
    // Both fall over training, with unrelated step-to-step changes: a shared trend only.
    (
        "inconclusive",
        r#"text = "Clipping at 0.1 has an estimate that tracks the fit"
metric = "estimate"
tracks = "sliced_wasserstein"
sign = "positive"
where = { clip = 0.1 }"#,
    ),
];

/// The grid file with the chosen claims.
fn grid_with(claims: &[&str]) -> String {
    let mut g = GRID.to_string();
    for c in claims {
        g.push_str("\n[[claim]]\n");
        g.push_str(c);
        g.push('\n');
    }
    g
}

/// What one hand-made run records.
struct RunData {
    /// sliced_wasserstein at the five evaluations (steps 20, 40, ..., 100).
    sw: [f64; 5],
    /// The Wasserstein estimate at the same steps.
    estimate: [f64; 5],
    modes: f64,
    /// act_grad_norm of the four critic layers at the last evaluation, input side first.
    act: [f64; 4],
}

/// The runs of configuration `(loss, clip)`, seed `seed` (1-based): numbers chosen so that each
/// claim above has a known verdict.
fn data(loss: &str, clip: Option<f64>, seed: usize) -> RunData {
    let i = seed - 1;
    let falling = |end: f64| [5.0, 4.0, 3.0, 2.0, 1.0].map(|k| end * k);
    // Step-to-step wiggles the penalty's estimate shares with its fit.
    let wiggle = [0.0, 0.02, -0.01, 0.015, 0.0];
    let add = |a: [f64; 5]| std::array::from_fn(|k| a[k] + wiggle[k]);
    match (loss, clip) {
        // Good fit, decreasing with training, its estimate falling with it and moving with it
        // from step to step; all modes; flat gradients except seed 3 (two decades).
        ("wgan-gp", _) => RunData {
            sw: add(falling([0.15, 0.16, 0.14][i])),
            estimate: add(falling([0.5, 0.6, 0.4][i])),
            modes: 8.0,
            act: if seed == 3 {
                [1.0, 1.0, 1.0, 100.0]
            } else {
                [0.9, 1.0, 1.1, 1.0]
            },
        },
        // A bad fit; one seed misses a mode; the estimate falls as the fit does, but its
        // step-to-step changes do not follow the fit's; gradients grow towards the input.
        ("wgan-clip", Some(c)) if c > 0.05 => RunData {
            sw: [2.0, 1.9, 1.8, 1.8, [1.7, 1.9, 1.6][i]],
            estimate: [5.0, 3.9, 3.2, 1.8, 1.1],
            modes: [8.0, 7.0, 8.0][i],
            act: [1e3, 1e2, 1e1, 1.0],
        },
        // As bad a fit as c = 0.1 within noise; few modes; gradients vanishing (6 decades).
        _ => RunData {
            sw: [2.0, 1.9, 1.8, 1.7, [1.6, 2.0, 1.5][i]],
            estimate: [1.0, 1.0, 1.0, 1.0, 1.0],
            modes: [2.0, 3.0, 1.0][i],
            act: [1e-6, 1e-4, 1e-2, 1.0],
        },
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Write the run folders of every configuration of `plan` as a sweep would have, with the
/// numbers of [`data`]; `status` of the run `(config, seed)` may be overridden.
fn write_runs(root: &Path, plan: &Plan, status: impl Fn(&str, usize) -> &'static str) {
    for e in &plan.entries {
        let c = &e.config;
        let loss = c
            .legacy_loss()
            .expect("the claims' grids are written with loss");
        let d = data(loss.as_str(), c.clip, c.seed as usize);
        let dir = root.join(&e.hash);
        write(&dir.join("config.toml"), &config_text(c).unwrap());
        let st = status(loss.as_str(), c.seed as usize);
        let record = serde_json::json!({
            "status": st, "sweep": plan.name, "step": 100, "wall_s": 10.0,
            "diverged_at": (st == "diverged").then_some(90),
        });
        write(&dir.join("run.json"), &record.to_string());
        let mut metrics = String::from("step,critic_loss,estimate,estimate_kind\n");
        for k in 1..=10 {
            let step = 10 * k;
            // The estimate between evaluations is not logged at an evaluation step, so only
            // the five evaluation steps enter the correlation.
            let est = if step % 20 == 0 {
                d.estimate[step / 20 - 1]
            } else {
                -7.0
            };
            metrics.push_str(&format!("{step},{},{est},wasserstein\n", -est));
        }
        write(&dir.join("metrics.csv"), &metrics);
        let mut eval = String::from("step,wall_s,metric,value\n");
        for (j, sw) in d.sw.iter().enumerate() {
            let step = 20 * (j + 1);
            eval.push_str(&format!("{step},{step},sliced_wasserstein,{sw}\n"));
            eval.push_str(&format!("{step},{step},modes_covered,{}\n", d.modes));
        }
        write(&dir.join("eval.csv"), &eval);
        let mut layers = String::from("step,layer,quantity,value\n");
        for step in [20, 100] {
            for (l, v) in d.act.iter().enumerate() {
                // An earlier evaluation with the opposite shape must not count.
                let v = if step == 100 { *v } else { 1.0 / v };
                layers.push_str(&format!("{step},{},act_grad_norm,{v:e}\n", l + 1));
            }
        }
        write(&dir.join("layers.csv"), &layers);
    }
}

/// A results tree for `grid` made as `harness sweep` would (the record from the plan), with
/// hand-made runs.
fn tree(root: &Path, grid: &str) -> Plan {
    let file = root.join("grid.toml");
    write(&file, grid);
    let plan = parse_plan(&file, grid, None).unwrap_or_else(|e| panic!("{e}"));
    let results = root.join("results");
    record_plan(&results, &plan, |_| {}).unwrap();
    write_runs(&results, &plan, |_, _| "done");
    plan
}

/// A row of `claims.csv`, by column.
type Row = BTreeMap<String, String>;

/// `claims.csv` as (claim, verdict) per claim, in order, and every row.
fn read_claims_csv(path: &Path) -> (Vec<(String, String)>, Vec<Row>) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let rows: Vec<Row> = rdr.deserialize().map(Result::unwrap).collect();
    let mut claims: Vec<(String, String)> = Vec::new();
    for r in &rows {
        let c = (r["claim"].clone(), r["verdict"].clone());
        if claims.last() != Some(&c) {
            claims.push(c);
        }
    }
    (claims, rows)
}

#[test]
fn every_kind_is_supported_contradicted_or_inconclusive_as_the_runs_say() {
    let d = tempfile::tempdir().unwrap();
    let claims: Vec<&str> = CLAIMS.iter().map(|c| c.1).collect();
    let plan = tree(d.path(), &grid_with(&claims));
    assert_eq!(plan.claims.len(), CLAIMS.len());
    let results = d.path().join("results");
    // The grid file is gone: the report reads the claims from the sweep record.
    fs::remove_file(d.path().join("grid.toml")).unwrap();
    let stored = sweep_record::read(&results, "claims_demo").unwrap();
    assert_eq!(stored.claims, plan.claims);

    let s = generate(&results, &ReportOptions::default()).unwrap();
    let got: Vec<(&str, &str)> = s
        .claims
        .iter()
        .map(|c| (c.claim.text.as_str(), c.verdict_text()))
        .collect();
    let want: Vec<(&str, &str)> = plan
        .claims
        .iter()
        .zip(CLAIMS)
        .map(|(c, (v, _))| (c.text.as_str(), *v))
        .collect();
    assert_eq!(got, want);

    // claims.csv: the same verdicts, one row per pair or configuration, with the figure.
    let report = results.join("report");
    let (csv_claims, rows) = read_claims_csv(&report.join("claims.csv"));
    let want_owned: Vec<(String, String)> = want
        .iter()
        .map(|(t, v)| (t.to_string(), v.to_string()))
        .collect();
    assert_eq!(csv_claims, want_owned);
    assert!(rows.iter().all(|r| r["sweep"] == "claims_demo"));
    let first = &rows[0];
    assert_eq!(first["kind"], "comparison");
    assert_eq!(first["item"], "loss=wgan-gp vs loss=wgan-clip clip=0.1");
    assert!(first["numbers"].contains("(Welch, one-sided)"), "{first:?}");
    assert_eq!(
        first["figure"],
        "sweep_claims_demo/final_sliced_wasserstein.svg"
    );
    assert!(report.join(&first["figure"]).is_file());
    let correlation = rows.iter().find(|r| r["kind"] == "correlation").unwrap();
    assert!(
        correlation["numbers"].contains("pooled rho 1.000 (90% CI"),
        "{correlation:?}"
    );
    assert!(
        report.join(&correlation["figure"]).is_file(),
        "{correlation:?}"
    );

    // The page opens the sweep's section with the table; summary.md carries it too.
    let html = fs::read_to_string(report.join("index.html")).unwrap();
    let section = html.find("<section id=\"sweep_claims_demo\">").unwrap();
    let table = html.find("<table class=\"claims\">").unwrap();
    let scores = html.find("<h3>Final scores</h3>").unwrap();
    assert!(section < table && table < scores);
    for (verdict, n) in [("supported", 4), ("contradicted", 4), ("inconclusive", 4)] {
        let tag = format!("<span class=\"verdict {verdict}\">{verdict}</span>");
        assert_eq!(html.matches(&tag).count(), n, "{verdict}");
    }
    assert!(html.contains(
        "<a href=\"sweep_claims_demo/final_sliced_wasserstein.svg\">final_sliced_wasserstein.svg</a>"
    ));
    assert!(html.contains("claims: 4 supported, 4 contradicted, 4 inconclusive"));
    let md = fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(
        md.contains("| The penalty fits within 0.5 | **supported** |"),
        "{md}"
    );

    // --check fails on the contradicted and the inconclusive claims and names them.
    let out = report_check(&results);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    says(
        &out,
        true,
        &[
            "check failed: 4 contradicted, 4 inconclusive",
            "contradicted: Clipping at 0.1 fits better than the penalty (sweep claims_demo)",
            "inconclusive: Clipping at 0.1 has an estimate that tracks the fit (sweep claims_demo)",
        ],
    );
    says(
        &out,
        false,
        &["  inconclusive: Clipping at 0.01 fits better than at 0.1"],
    );
}

/// Only supported and inconclusive claims: `--check` fails on the inconclusive ones (a null
/// claim, a trend-only correlation), `--check --allow-inconclusive` passes and prints them.
#[test]
fn check_fails_on_inconclusive_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    let claims: Vec<&str> = CLAIMS
        .iter()
        .filter(|c| c.0 != "contradicted")
        .map(|c| c.1)
        .collect();
    tree(d.path(), &grid_with(&claims));
    let results = d.path().join("results");
    let out = report_check(&results);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    says(
        &out,
        true,
        &["check failed: 0 contradicted, 4 inconclusive"],
    );
    let out = harness()
        .args(["report", "--check", "--allow-inconclusive"])
        .arg(&results)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    says(
        &out,
        false,
        &[
            "claims: 4 supported, 4 inconclusive",
            "  inconclusive: Clipping at 0.1 covers all 8 modes (sweep claims_demo)",
        ],
    );
    // Without --check the report succeeds whatever the verdicts.
    let all: Vec<&str> = CLAIMS.iter().map(|c| c.1).collect();
    let d2 = tempfile::tempdir().unwrap();
    tree(d2.path(), &grid_with(&all));
    let out = harness()
        .arg("report")
        .arg(d2.path().join("results"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A diverged seed has no finite final value: it is left out of a comparison and counted,
/// misses a threshold, and fails a layer trend. A running seed is not tested at all.
#[test]
fn diverged_runs_count_against_a_claim_and_running_ones_are_left_out() {
    let d = tempfile::tempdir().unwrap();
    let claims = [CLAIMS[0].1, CLAIMS[3].1, CLAIMS[6].1];
    let file = d.path().join("grid.toml");
    let grid = grid_with(&claims);
    let plan = parse_plan(&file, &grid, None).unwrap();
    let results = d.path().join("results");
    record_plan(&results, &plan, |_| {}).unwrap();
    write_runs(&results, &plan, |loss, seed| match (loss, seed) {
        ("wgan-gp", 3) => "diverged",
        ("wgan-clip", 2) => "running",
        _ => "done",
    });
    let s = generate(&results, &ReportOptions::default()).unwrap();
    let verdicts: Vec<&str> = s.claims.iter().map(|c| c.verdict_text()).collect();
    // The penalty, the better side, lost a seed: the test on the other two is significant,
    // but a comparison whose better side diverged is never supported. The penalty's fit
    // threshold counts the diverged seed as a miss: a sign test, 2 of 3, decides nothing.
    // The layer trend is about clipping at 0.01, whose seed 2 is still running: it holds on
    // the two finished seeds, but a claim with an unfinished run is never supported.
    assert_eq!(verdicts, ["inconclusive", "inconclusive", "inconclusive"]);
    let lines = s.claims[0].lines().join("\n");
    assert!(lines.contains("1 non-finite left out"), "{lines}");
    assert!(
        lines.contains("never supported: 1 seed(s) of the better side ended non-finite"),
        "{lines}"
    );
    assert!(
        lines.contains("runs not finished with a value: seed 3 of "),
        "{lines}"
    );
    let fit = s.claims[1].lines().join("\n");
    assert!(fit.contains("2 of 3 seeds <= 0.5"), "{fit}");
    let trend = s.claims[2].lines().join("\n");
    assert!(trend.contains("2 of 2 seeds"), "{trend}");
    assert!(
        trend.contains(": not finished (running or stopped)"),
        "{trend}"
    );
    // --check names the runs on stderr and fails.
    let out = report_check(&results);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    says(&out, true, &["runs not finished with a value: seed 2 of "]);
    let html = fs::read_to_string(results.join("report/index.html")).unwrap();
    assert!(
        html.contains(
            "on 7 finished runs (done or diverged; 2 runs still running or failed left out)"
        ),
        "no left-out note"
    );
}

/// A stored claim that this release cannot test (its metric is not in the registry: renamed
/// since the sweep recorded it) is shown as such, and `--check` exits 2: the gate cannot be
/// decided.
#[test]
fn a_stored_claim_that_cannot_be_tested_stops_the_check() {
    let d = tempfile::tempdir().unwrap();
    tree(d.path(), &grid_with(&[CLAIMS[0].1]));
    let results = d.path().join("results");
    let path = results.join("sweeps/claims_demo.json");
    let mut rec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    rec["claims"][0]["metric"] = "sliced_wasserstein_v0".into();
    fs::write(&path, rec.to_string()).unwrap();
    let out = report_check(&results);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    says(
        &out,
        false,
        &[
            "  error: The penalty fits better than clipping at 0.1 (sweep claims_demo)",
            "cannot be tested: key `metric`: unknown metric `sliced_wasserstein_v0`",
        ],
    );
    says(&out, true, &["on its grid file again"]);
    let html = fs::read_to_string(results.join("report/index.html")).unwrap();
    assert!(html.contains("<span class=\"verdict error\">error</span>"));
}

/// A bad claim is a bad grid file: `harness sweep` exits 2 with the claim's file:line:column
/// and writes nothing.
#[test]
fn a_bad_claim_stops_the_sweep_before_anything_is_written() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (
            "text = \"t\"\nmetric = \"sliced_wasserstien\"\nat_most = 1",
            ":16:1: [[claim]] #1: key `metric`: unknown metric `sliced_wasserstien` (did you mean `sliced_wasserstein`?)",
        ),
        (
            "text = \"t\"\nmetric = \"fld\"\nat_most = 1\nwhere = { loss = \"gan\" }",
            ":18:11: [[claim]] #1: key `where.loss`: no configuration of the plan has loss = \"gan\" (values in the plan: wgan-clip, wgan-gp)",
        ),
        (
            "text = \"t\"\nmetric = \"critic_loss\"\nbetter = { loss = \"wgan-gp\" }\nthan = { loss = \"wgan-clip\" }",
            ":16:1: [[claim]] #1: key `metric`: `critic_loss` has no better direction",
        ),
    ];
    for (claim, want) in cases {
        let file = d.path().join("bad.toml");
        write(&file, &grid_with(&[claim]));
        let results = d.path().join("results");
        let out = harness()
            .args(["sweep", file.to_str().unwrap(), "--results"])
            .arg(&results)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}{want}", file.display())),
            "want {want}\n{}",
            text(&out)
        );
        assert!(!results.exists(), "a bad claim wrote {}", results.display());
    }
}

/// A tiny real 8-Gaussians WGAN-GP grid: `top` holds the file's own keys (`name`, `seeds`,
/// ...), `gen_iters` and `eval_every` its length (checkpoints at each evaluation), `claims` its
/// `[[claim]]` tables.
fn tiny_grid(top: &str, gen_iters: u32, eval_every: u32, claims: &str) -> String {
    format!(
        r#"{top}
[base]
dataset = "8gaussians"
dim = 16
batch_size = 32
gen_iters = {gen_iters}
log_every = 4
eval_every = {eval_every}
checkpoint_every = {eval_every}
eval_samples = 200
[[grid]]
loss = "wgan-gp"
{claims}"#
    )
}

/// `harness sweep FILE --no-progress --results RESULTS EXTRA...`, which must succeed.
fn sweep_ok(file: &Path, results: &Path, extra: &[&str]) {
    let out = harness()
        .arg("sweep")
        .arg(file)
        .args(["--no-progress", "--results"])
        .arg(results)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

const MODES_AT_MOST_8: &str = r#"
[[claim]]
text = "No run covers more than the 8 modes there are"
metric = "modes_covered"
at_most = 8
"#;

/// A real short sweep with one claim that holds and one that cannot: the false one is
/// reported contradicted, and `--check` exits 1. Five seeds: a count (modes covered) is tested
/// by the exact sign test, which 5 of 5 seeds pass at p = 1/32.
#[test]
fn a_false_claim_on_a_real_sweep_fails_the_check() {
    let d = tempfile::tempdir().unwrap();
    let claims = format!(
        r#"{MODES_AT_MOST_8}
[[claim]]
text = "Twelve iterations fit the data perfectly"
metric = "sliced_wasserstein"
at_most = 1e-6
"#
    );
    let grid = tiny_grid(
        "name = \"real_claims\"\nseeds = [1, 2, 3, 4, 5]",
        12,
        6,
        &claims,
    );
    let file = d.path().join("grid.toml");
    write(&file, &grid);
    let results = d.path().join("results");
    sweep_ok(&file, &results, &[]);
    let out = report_check(&results);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    says(
        &out,
        false,
        &[
            "  supported: No run covers more than the 8 modes there are",
            "  contradicted: Twelve iterations fit the data perfectly",
            "0 of 5 seeds <= 1.00e-6",
        ],
    );
    let (verdicts, _) = read_claims_csv(&results.join("report/claims.csv"));
    assert_eq!(
        verdicts.iter().map(|v| v.1.as_str()).collect::<Vec<_>>(),
        ["supported", "contradicted"]
    );
}

/// `--seeds` runs a grid on fresh seeds beside its own sweep; every verdict says which seeds it
/// rests on (against `design_seeds`) and whether its claim was stated before its runs, and a
/// claim edited after the runs is a new claim, stated after them.
#[test]
fn verdicts_say_design_or_fresh_seeds_and_when_the_claim_was_stated() {
    let d = tempfile::tempdir().unwrap();
    let top = "name = \"stamps\"\nseeds = [1, 2]\ndesign_seeds = [1, 2]";
    let grid = tiny_grid(top, 8, 4, MODES_AT_MOST_8);
    let file = d.path().join("grid.toml");
    write(&file, &grid);
    let results = d.path().join("results");
    let labels = || {
        let out = harness().arg("report").arg(&results).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let (_, rows) = read_claims_csv(&results.join("report/claims.csv"));
        rows.iter()
            .map(|r| (r["sweep"].clone(), r["seeds"].clone(), r["stated"].clone()))
            .collect::<Vec<_>>()
    };
    sweep_ok(&file, &results, &[]);
    sweep_ok(&file, &results, &["--seeds", "3,4"]);
    let got = labels();
    let want = |sweep: &str, seeds: &str, stated: &str| {
        (sweep.to_string(), seeds.to_string(), stated.to_string())
    };
    assert!(
        got.contains(&want("stamps", "on design seeds", "stated before its runs")),
        "{got:?}"
    );
    assert!(
        got.contains(&want(
            "stamps-seeds-3-4",
            "on fresh seeds",
            "stated before its runs"
        )),
        "{got:?}"
    );
    let page = fs::read_to_string(results.join("report/index.html")).unwrap();
    assert!(page.contains("<span class=\"seeds\">on fresh seeds</span>"));

    // Editing the claim after the runs makes it a new claim: stated after them.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write(&file, &grid.replace("at_most = 8", "at_most = 9"));
    sweep_ok(&file, &results, &[]);
    let got = labels();
    assert!(
        got.contains(&want("stamps", "on design seeds", "stated after its runs")),
        "{got:?}"
    );
    let out = report_check(&results);
    says(
        &out,
        false,
        &["(sweep stamps) [on design seeds, stated after its runs]"],
    );
}
