//! Tests build long fixtures inline: a test reads top to bottom.
#![allow(clippy::too_many_lines)]

use super::*;
use crate::claims::testing::config;
use crate::claims::{Over, Relation, Sign};
use serde::Serialize;

/// clip_vs_gp on the Swiss roll (three clip values and the penalty) plus the penalty on
/// 8 Gaussians, seeds 1 and 2.
fn plan_configs() -> Vec<toml::Table> {
    let mut out = Vec::new();
    for seed in [1, 2] {
        for clip in ["0.1", "0.01", "0.001"] {
            out.push(config(&format!(
                "loss = \"wgan-clip\"\ndataset = \"swissroll\"\nclip = {clip}\nseed = {seed}"
            )));
        }
        for dataset in ["swissroll", "8gaussians"] {
            out.push(config(&format!(
                "loss = \"wgan-gp\"\ndataset = \"{dataset}\"\ngp_lambda = 0.1\nseed = {seed}"
            )));
        }
    }
    out
}

fn parse(text: &str) -> Result<Vec<Claim>, ClaimError> {
    let doc = toml_edit::ImDocument::parse(text.to_string()).expect("valid TOML");
    let configs = plan_configs();
    let plan = PlanContext {
        configs: &configs,
        keys: crate::config::KEYS,
    };
    parse_claims(doc.as_table().get("claim").expect("has claims"), &plan)
}

const GOOD: &str = r#"
[[claim]]
text = "The gradient penalty fits the Swiss roll better than every clipping value"
metric = "sliced_wasserstein"
where = { dataset = "swissroll" }
better = { loss = "wgan-gp" }
than = { loss = "wgan-clip" }

[[claim]]
text = "WGAN-GP covers all modes of 8 Gaussians"
metric = "modes_covered"
where = { loss = "wgan-gp", dataset = "8gaussians" }
at_least = 7

[[claim]]
text = "Clipping at c <= 0.01 makes the gradients vanish towards the input"
metric = "act_grad_norm"
where = { loss = "wgan-clip", clip = [1e-2, 0.001] }
decays_by = 3

[[claim]]
text = "The Wasserstein estimate tracks sample quality"
metric = "estimate"
tracks = "sliced_wasserstein"
sign = "positive"

[[claim]]
text = "Each penalty run beats clipping on its own dataset"
metric = "sliced_wasserstein"
better = { loss = "wgan-gp" }
than = { clip = 0.1 }
same = ["dataset"]
"#;

#[test]
fn reads_every_kind() {
    let claims = parse(GOOD).unwrap();
    assert_eq!(claims.len(), 5);
    let kinds: Vec<&str> = claims.iter().map(|c| c.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "comparison",
            "threshold",
            "layer-trend",
            "correlation",
            "comparison"
        ]
    );
    assert_eq!(
        claims[1].kind,
        ClaimKind::Threshold {
            bound: Bound::AtLeast(7.0),
            layers: None,
        }
    );
    assert_eq!(
        claims[1].select,
        Selector::from([
            ("loss".to_string(), toml::Value::from("wgan-gp")),
            ("dataset".to_string(), toml::Value::from("8gaussians")),
        ])
    );
    assert!(claims[3].select.is_empty());
    assert!(matches!(
        claims[2].kind,
        ClaimKind::LayerTrend {
            trend: Trend::DecaysBy(3.0),
            ..
        }
    ));
    assert!(matches!(
        &claims[3].kind,
        ClaimKind::Correlation { tracks, relation: Relation::Sign(Sign::Positive), over: Over::Training } if tracks == "sliced_wasserstein"
    ));
    assert!(matches!(&claims[4].kind, ClaimKind::Comparison { same, .. } if same == &["dataset"]));
}

#[test]
fn the_documented_example_is_valid() {
    let readme = include_str!("../../../../../README.md");
    let doc = &readme[readme
        .find("### Claims")
        .expect("the README's Claims section")..];
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let text = &doc[start..start + doc[start..].find("```").expect("closed")];
    let configs: Vec<toml::Table> = [
        "loss = \"wgan-gp\"\ndataset = \"swissroll\"",
        "loss = \"wgan-gp\"\ndataset = \"8gaussians\"",
        "loss = \"wgan-clip\"\ndataset = \"swissroll\"\nclip = 0.01",
        "loss = \"wgan-clip\"\ndataset = \"swissroll\"\nclip = 0.001",
        "loss = \"wgan-clip\"\ndataset = \"mnist\"\nclip = 0.01\nprofile = \"seed\"",
    ]
    .map(config)
    .to_vec();
    let plan = PlanContext {
        configs: &configs,
        keys: crate::config::KEYS,
    };
    let doc = toml_edit::ImDocument::parse(text.to_string()).expect("valid TOML");
    let claims = parse_claims(doc.as_table().get("claim").unwrap(), &plan).unwrap();
    assert_eq!(claims.len(), 4);
}

#[test]
fn inline_array_form_is_accepted() {
    let text = r#"claim = [{ text = "t", metric = "modes_covered", at_most = 8 }]"#;
    assert_eq!(parse(text).unwrap().len(), 1);
}

#[test]
fn stored_claims_round_trip_through_json_and_toml() {
    let claims = parse(GOOD).unwrap();
    let json = serde_json::to_string(&claims).unwrap();
    let back: Vec<Claim> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, claims);
    // The stored form reads like the grid file.
    assert!(
        json.contains(r#""where":{"dataset":"swissroll"}"#),
        "{json}"
    );
    assert!(json.contains(r#""at_least":7.0"#), "{json}");
    #[derive(Serialize, Deserialize)]
    struct File {
        claim: Vec<Claim>,
    }
    let toml_text = toml::to_string(&File {
        claim: claims.clone(),
    })
    .unwrap();
    let again: File = toml::from_str(&toml_text).unwrap();
    assert_eq!(again.claim, claims);
    // A stored claim that breaks the shape rules does not load.
    let bad = r#"{"text":"t","metric":"fld","at_least":1.0,"better":{"loss":"x"}}"#;
    let err = serde_json::from_str::<Claim>(bad).unwrap_err().to_string();
    assert!(err.contains("one kind per claim"), "{err}");
}

/// Parse one bad claim (after the good ones) and check the error names `key` and points at
/// it in the text.
fn bad(claim: &str, key: Option<&str>, needle: &str) {
    let text = format!("{GOOD}\n[[claim]]\n{claim}\n");
    let err = parse(&text).expect_err(claim);
    assert_eq!(err.claim, Some(5), "{err}");
    assert_eq!(err.key.as_deref(), key, "{err}");
    assert!(err.message.contains(needle), "`{needle}` not in: {err}");
    let span = err.span.clone().expect("located");
    let at = &text[span.start..];
    let last_table = text.rfind("[[claim]]").unwrap();
    assert!(
        span.start >= last_table,
        "span outside the bad claim: {err}"
    );
    // A key that is written is pointed at; a missing one or a claim-wide problem points
    // at the claim's header.
    let leaf = key.map(|k| k.rsplit('.').next().unwrap());
    let want = match leaf {
        Some(l) if claim.contains(&format!("{l} =")) => l,
        _ => "[[claim]]",
    };
    assert!(
        at.starts_with(want),
        "span at {:?}, not `{want}`",
        &at[..at.len().min(20)]
    );
}

#[test]
fn new_forms_read_and_round_trip() {
    let text = format!(
        "{GOOD}
[[claim]]
text = \"weights pile up at +-c\"
metric = \"frac_at_clip\"
where = {{ loss = \"wgan-clip\" }}
layers = \"every\"
at_least = 0.5

[[claim]]
text = \"the estimate does not track the distance\"
metric = \"estimate\"
tracks = \"sliced_wasserstein\"
below = 0.3

[[claim]]
text = \"across runs\"
metric = \"estimate\"
tracks = \"sliced_wasserstein\"
sign = \"negative\"
over = \"runs\"
"
    );
    let claims = parse(&text).unwrap();
    assert_eq!(
        claims[5].kind,
        ClaimKind::Threshold {
            bound: Bound::AtLeast(0.5),
            layers: Some(crate::claims::LayerScope::Every),
        }
    );
    assert!(matches!(
        claims[6].kind,
        ClaimKind::Correlation { relation: Relation::Below(b), over: Over::Training, .. } if b == 0.3
    ));
    assert!(matches!(
        claims[7].kind,
        ClaimKind::Correlation {
            relation: Relation::Sign(Sign::Negative),
            over: Over::Runs,
            ..
        }
    ));
    let json = serde_json::to_string(&claims).unwrap();
    assert!(json.contains(r#""layers":"every""#) && json.contains(r#""over":"runs""#));
    // A claim without the new keys stores exactly as before (no `over`, no `layers`).
    let old = serde_json::to_string(&claims[3]).unwrap();
    assert!(
        !old.contains("over") && !old.contains("layers") && !old.contains("below"),
        "{old}"
    );
    let back: Vec<Claim> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, claims);
}

#[test]
fn bad_new_forms_name_their_key() {
    let t = "text = \"x\"\n";
    bad(
        &format!("{t}metric = \"frac_at_clip\"\nat_least = 0.5"),
        Some("layers"),
        "layers = \"every\" or layers = \"any\"",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = 5\nlayers = \"every\""),
        Some("layers"),
        "applies to layers.csv quantities",
    );
    bad(
        &format!("{t}metric = \"frac_at_clip\"\nat_least = 0.5\nlayers = \"all\""),
        Some("layers"),
        "use \"every\" or \"any\"",
    );
    bad(
        &format!("{t}metric = \"frac_at_clip\"\ndecays_by = 1\nlayers = \"any\""),
        Some("layers"),
        "only applies to a threshold",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"fld\"\nbelow = 1.5"),
        Some("below"),
        "strictly between 0 and 1",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"fld\"\nbelow = 0.3\nsign = \"positive\""),
        Some("below"),
        "not both",
    );
    bad(
        &format!(
            "{t}metric = \"estimate\"\ntracks = \"fld\"\nsign = \"positive\"\nover = \"time\""
        ),
        Some("over"),
        "\"training\"",
    );
}

#[test]
fn bad_claims_name_their_key() {
    let t = "text = \"x\"\n";
    bad(
        &format!("{t}metrik = \"fld\"\nat_most = 1"),
        Some("metrik"),
        "did you mean `metric`",
    );
    bad(
        &format!("{t}metric = \"fdl\"\nat_most = 1"),
        Some("metric"),
        "unknown metric `fdl` (did you mean `fld`?)",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nbetter = {{ los = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}"
        ),
        Some("better.los"),
        "`los` is not a config key (did you mean `loss`?)",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-pg\" }}\nthan = {{ loss = \"wgan-clip\" }}"
        ),
        Some("better.loss"),
        "no configuration of the plan has loss = \"wgan-pg\" (values in the plan: wgan-clip, wgan-gp)",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nwhere = {{ dataset = \"8gaussians\" }}\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}"
        ),
        Some("than"),
        "matches no configuration of the plan together with `where`",
    );
    bad(
        &format!(
            "{t}metric = \"estimate\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}"
        ),
        Some("metric"),
        "has no better direction",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ dataset = \"swissroll\" }}"
        ),
        Some("than"),
        "matches a configuration `better` also matches",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}\nsame = [\"datset\"]"
        ),
        Some("same"),
        "`datset` is not a config key (did you mean `dataset`?)",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}\nthan = {{ loss = \"wgan-clip\" }}\nsame = [\"gp_lambda\"]"
        ),
        Some("same"),
        "no configuration of `better` agrees with one of `than` on gp_lambda",
    );
    bad(
        &format!("{t}metric = \"fld\"\nbetter = {{ loss = \"wgan-gp\" }}"),
        Some("than"),
        "needs both",
    );
    bad(
        &format!("{t}metric = \"fld\"\ndecays_by = 3"),
        Some("decays_by"),
        "needs a layers.csv quantity",
    );
    // A threshold on a layers.csv quantity says in which layers it holds.
    bad(
        &format!("{t}metric = \"act_grad_norm\"\nat_most = 3"),
        Some("layers"),
        "is a layers.csv quantity",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"qualty\"\nsign = \"negative\""),
        Some("tracks"),
        "unknown metric `qualty`",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"frac_at_clip\"\nsign = \"negative\""),
        Some("tracks"),
        "layers.csv",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"estimate\"\nsign = \"negative\""),
        Some("tracks"),
        "own metric",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"fld\"\nsign = \"down\""),
        Some("sign"),
        "use \"positive\" or \"negative\"",
    );
    bad(
        &format!("{t}metric = \"estimate\"\ntracks = \"fld\""),
        Some("sign"),
        "missing",
    );
    bad("metric = \"fld\"\nat_most = 1", Some("text"), "missing");
    bad(
        "text = \"  \"\nmetric = \"fld\"\nat_most = 1",
        Some("text"),
        "empty",
    );
    bad(&format!("{t}at_most = 1"), Some("metric"), "missing");
    bad(
        &format!("{t}metric = \"fld\"\nat_most = 1\ndecays_by = 2"),
        Some("decays_by"),
        "one kind per claim",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = 1\nat_least = 0"),
        Some("at_most"),
        "give one of `at_least`, `at_most`, not both",
    );
    bad(
        &format!("{t}metric = \"act_grad_norm\"\ndecays_by = 2\nwithin = 1"),
        Some("within"),
        "give one of `decays_by`, `grows_by`, `within`, not both `decays_by` and `within`",
    );
    bad(
        &format!("{t}metric = \"act_grad_norm\"\nwithin = 0"),
        Some("within"),
        "positive number of decades",
    );
    bad(
        &format!("{t}metric = \"modes_covered\"\nat_least = 9"),
        Some("at_least"),
        "9 is above the largest possible `modes_covered` on 8gaussians (8)",
    );
    bad(
        &format!("{t}metric = \"high_quality_frac\"\nat_least = 1.5"),
        Some("at_least"),
        "1.5 is above the largest possible `high_quality_frac` on",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = nan"),
        Some("at_most"),
        "finite",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = \"low\""),
        Some("at_most"),
        "invalid type",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = 1\nsame = [\"dataset\"]"),
        Some("same"),
        "only applies to a comparison",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = 1\nwhere = {{ seed = 1 }}"),
        Some("where.seed"),
        "across seeds",
    );
    bad(
        &format!("{t}metric = \"fld\"\nat_most = 1\nwhere = {{ clip = 0.5 }}"),
        Some("where.clip"),
        "values in the plan: 0.001, 0.01, 0.1",
    );
    bad(
        &format!(
            "{t}metric = \"fld\"\nat_most = 1\nwhere = {{ dataset = \"8gaussians\", clip = 0.1 }}"
        ),
        Some("where"),
        "not all at once",
    );
    bad(
        &format!("{t}metric = \"fld\""),
        None,
        "says nothing to test",
    );
}

/// `modes_covered` is bounded by the modes of each selected configuration's dataset.
#[test]
fn modes_bound_follows_the_dataset() {
    let configs: Vec<toml::Table> = ["8gaussians", "25gaussians"]
        .map(|d| config(&format!("loss = \"wgan-gp\"\ndataset = \"{d}\"")))
        .to_vec();
    let plan = PlanContext {
        configs: &configs,
        keys: crate::config::KEYS,
    };
    let check = |claim: &str| {
        let doc = toml_edit::ImDocument::parse(format!(
            "[[claim]]\ntext = \"t\"\nmetric = \"modes_covered\"\n{claim}"
        ))
        .unwrap();
        parse_claims(doc.as_table().get("claim").unwrap(), &plan).map(|_| ())
    };
    assert!(check("at_least = 20\nwhere = { dataset = \"25gaussians\" }").is_ok());
    assert!(check("at_least = 8").is_ok());
    let err = check("at_least = 20").unwrap_err();
    assert!(err.message.contains("on 8gaussians (8)"), "{err}");
    let err = check("at_least = 26\nwhere = { dataset = \"25gaussians\" }").unwrap_err();
    assert!(err.message.contains("on 25gaussians (25)"), "{err}");
}

#[test]
fn claim_must_be_tables() {
    let err = parse("claim = 3").unwrap_err();
    assert_eq!(err.key.as_deref(), Some("claim"));
    assert!(err.message.contains("[[claim]]"), "{err}");
}

#[test]
fn standard_subtables_and_numbers_compare_as_numbers() {
    // `[claim.where]` as a table; 1e-1 selects clip = 0.1.
    let text =
        "[[claim]]\ntext = \"x\"\nmetric = \"fld\"\nat_most = 1\n[claim.where]\nclip = 1e-1\n";
    let claims = parse(text).unwrap();
    assert!(claims[0].select.len() == 1);
}

#[test]
fn validate_claims_checks_stored_claims() {
    let claims = parse(GOOD).unwrap();
    let configs = plan_configs();
    // Only the clipping runs are present: the claims about the penalty no longer match.
    let clip_only: Vec<toml::Table> = configs
        .into_iter()
        .filter(|c| c.get("loss").and_then(|v| v.as_str()) == Some("wgan-clip"))
        .collect();
    let plan = PlanContext {
        configs: &clip_only,
        keys: crate::config::KEYS,
    };
    let err = validate_claims(&claims, &plan).unwrap_err();
    assert_eq!(
        (err.claim, err.key.as_deref(), err.span.clone()),
        (Some(0), Some("better.loss"), None)
    );
    assert!(validate_claims(&claims[2..3], &plan).is_ok());
}
