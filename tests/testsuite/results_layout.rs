//! `docs/results-layout.md` and the results types stay in step: every file name, every
//! serialised field of the typed records and every registered metric (with its direction) is
//! in the document.

use harness_core::results::metrics::{self, REGISTRY};
use harness_core::results::record::RunRecord;
use harness_core::results::runlog::METRICS_HEADER;
use harness_core::results::summary::{
    Best, EvaluatorRef, Final, StepTime, Summary, Throughput, TimeSplit,
};
use harness_core::results::sweep_record::{SlurmJob, SweepRecord};
use harness_core::results::{run_files, tree_dirs};
use serde_json::Value;

fn doc() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/results-layout.md"
    ))
    .unwrap()
}

/// Every object key in `v`, recursively (map keys of `best`/`final` included: the caller
/// passes records whose maps hold registered metric names).
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

/// The typed records with every optional part filled in, so that every field serialises.
fn records() -> Vec<Value> {
    let run = RunRecord {
        finished: Some("t".into()),
        git_commit: Some("c".into()),
        error: Some("e".into()),
        diverged_at: Some(1),
        sweep: Some("s".into()),
        ..Default::default()
    };
    let claims = r#"[{"text": "t", "metric": "sliced_wasserstein", "where": {"loss": "wgan-gp"},
                      "better": {"loss": "wgan-gp"}, "than": {"loss": "wgan-clip"}, "same": ["dim"]},
                     {"text": "t", "metric": "modes_covered", "at_least": 7},
                     {"text": "t", "metric": "fld", "at_most": 7},
                     {"text": "t", "metric": "act_grad_norm", "decays_by": 3},
                     {"text": "t", "metric": "act_grad_norm", "grows_by": 3},
                     {"text": "t", "metric": "act_grad_norm", "within": 3},
                     {"text": "t", "metric": "estimate", "tracks": "fld", "sign": "positive"}]"#;
    let sweep = SweepRecord {
        slurm: vec![SlurmJob::default()],
        claims: serde_json::from_str(claims).unwrap(),
        sampled: vec!["0d0000000001".into()],
        sample_groups: vec!["loss".into()],
        ..Default::default()
    };
    let summary = Summary {
        best: [(
            "fld".to_string(),
            Best {
                within_5pct: Some(StepTime::default()),
                ..Default::default()
            },
        )]
        .into(),
        evaluator: Some(EvaluatorRef::default()),
        last: [(
            "fld".to_string(),
            Final {
                step: Some(1),
                wall_s: Some(1.0),
                ..Default::default()
            },
        )]
        .into(),
        throughput: Some(Throughput::default()),
        time: Some(TimeSplit::default()),
        ..Default::default()
    };
    [
        serde_json::to_value(run),
        serde_json::to_value(sweep),
        serde_json::to_value(summary),
    ]
    .into_iter()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn every_record_field_is_documented() {
    let doc = doc();
    let mut all = Vec::new();
    for r in records() {
        keys(&r, &mut all);
    }
    assert!(all.len() > 40, "only {} keys", all.len());
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !doc.contains(&format!("`{k}`")) && !doc.contains(&format!("\"{k}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/results-layout.md: {missing:?}"
    );
}

#[test]
fn every_file_and_column_is_documented() {
    let doc = doc();
    for name in run_files::ALL.iter().chain(&tree_dirs::ALL) {
        assert!(
            doc.contains(name),
            "{name} is not in docs/results-layout.md"
        );
    }
    assert!(
        doc.contains(&METRICS_HEADER.join(",")),
        "metrics.csv's header is not in docs/results-layout.md"
    );
}

/// The document carries the registry's table verbatim: adding a metric or changing a
/// direction without the document fails here (the message is the table to paste).
#[test]
fn the_metric_table_is_the_registry() {
    let table = metrics::markdown_table();
    assert!(
        doc().contains(&table),
        "docs/results-layout.md must contain the registry's table:\n{table}"
    );
    assert_eq!(table.lines().count(), REGISTRY.len() + 2);
}
