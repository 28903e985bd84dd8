//! Results trees outlive releases: a configuration's hash names its folder, so a change that
//! moves a hash orphans every run already recorded under it. These hashes were computed before
//! the configuration code was restructured and must never move; a test failure here means a
//! change altered what a configuration resolves to (or how it is hashed).

use harness_core::config::{Dataset, Loss, Model, Profile, RunSpec};
use harness_core::grid::load_plan;
use harness_core::hash::short_hash;
use std::path::Path;

/// Every configuration of every shipped experiment, in plan order (an edit of an experiment
/// file that changes what it runs, e.g. its seeds or iterations, updates its list here).
const EXPERIMENTS: &[(&str, &[&str])] = &[
    (
        "clip_vs_gp.toml",
        &[
            "c3cb95261935",
            "a1ac9a61e00f",
            "73fa73aa33d2",
            "9b8bfe24ea34",
            "ee5a6ff29fe3",
            "4e02b86f1d5b",
            "a6e910d20a8a",
            "35d51ffa6a34",
            "f4e92e06ae98",
            "638ed6d6e19b",
            "8f5329909f63",
            "34ada082d71d",
        ],
    ),
    (
        "gan_vs_wgan_mnist.toml",
        &[
            "0ab876b13f6b",
            "e9db48aa6e65",
            "3644b241c183",
            "bdbf13f732d5",
            "b5494ccb983a",
            "6dbc2d232e0e",
            "648ab3ebd23d",
            "39dfaa3c89a8",
            "ae180f6773f5",
            "c6086ee7fd5e",
            "5a6f0b708356",
            "11d94627b5b8",
            "5893dee111b1",
            "366bae64705d",
            "595092564f74",
            "eec4366960c4",
            "715ba8a7a48c",
            "1a725da7de2f",
        ],
    ),
    (
        "lipschitz.toml",
        &[
            "155e935bf531",
            "5434aa5946f6",
            "38057fcd99cc",
            "5f8be7846dad",
            "44c3ccfb13ff",
            "420537ce9c22",
            "772969ba7d18",
            "501d67f9258b",
            "ed0b19f14dce",
            "e22bae07a633",
            "cfbce097aa1c",
            "e9333ad1787f",
            "efe5f6391c2c",
            "31e34170306e",
            "bc36fcd2eab6",
            "bbeda2574021",
            "47d1d6a97312",
            "93da7b8a8f34",
            "d87756250605",
            "659d93fb8504",
            "b2316942079d",
            "7334ffe2dceb",
            "8fc1043b831c",
            "2d1f8930b1e2",
        ],
    ),
    ("seed_wgan_mnist.toml", &["c9085560e658"]),
    ("seed_wgan_mnist_9375.toml", &["413687ba74fb"]),
    (
        "stacked_mnist.toml",
        &[
            "bee25046fdea",
            "78f1773c5059",
            "0a2b10a3694a",
            "7b143a9246a5",
            "eaf9ffbcc01a",
            "990105470a3a",
            "14d7fcff9c55",
            "1a697a21c6b1",
            "fb69556cebdd",
            "ea00dcddd908",
            "6040bb05c157",
            "61b622343fb7",
        ],
    ),
    (
        "toy.toml",
        &[
            "d1f42ace8a19",
            "e5e0aa411705",
            "91454303a3ae",
            "6c4c1dc8fd03",
            "306ddc3c3048",
            "473d1d8a53fa",
            "9059ad69e886",
            "a4810c62d494",
            "ecc342f593b8",
            "ec32fb19e534",
        ],
    ),
];

/// Each profile alone, and each loss on each model family with every default left to resolve.
const DEFAULTS: &[(&str, &str)] = &[
    ("profile=wgan-paper", "d6b4cfdf0014"),
    ("profile=wgan-code", "cd66c2e28931"),
    ("profile=wgangp-paper", "e4bdb3c95ab5"),
    ("profile=wgangp-toy-code", "60f182ef5cae"),
    ("profile=wgangp-toy-port", "002a2d803ddb"),
    ("profile=seed", "ddda49d6f219"),
    ("loss=gan model=toy-mlp dataset=8gaussians", "f02afd6df13c"),
    ("loss=gan model=toy-mlp dataset=swissroll", "b41eaef0b54e"),
    ("loss=gan model=mlp dataset=mnist", "6949344a9bcd"),
    ("loss=gan model=dcgan dataset=mnist", "741aeef91d63"),
    (
        "loss=gan-ns model=toy-mlp dataset=8gaussians",
        "6329f9fe2c65",
    ),
    (
        "loss=gan-ns model=toy-mlp dataset=swissroll",
        "7192af5c6af0",
    ),
    ("loss=gan-ns model=mlp dataset=mnist", "abf20244e867"),
    ("loss=gan-ns model=dcgan dataset=mnist", "8e59b617f603"),
    (
        "loss=wgan-clip model=toy-mlp dataset=8gaussians",
        "30f0fe6f9ba3",
    ),
    (
        "loss=wgan-clip model=toy-mlp dataset=swissroll",
        "fea5d60f5fa0",
    ),
    ("loss=wgan-clip model=mlp dataset=mnist", "30490a4cbaeb"),
    ("loss=wgan-clip model=dcgan dataset=mnist", "431c8e904026"),
    (
        "loss=wgan-gp model=toy-mlp dataset=8gaussians",
        "8ce581e3039a",
    ),
    (
        "loss=wgan-gp model=toy-mlp dataset=swissroll",
        "d7be56a4f65b",
    ),
    ("loss=wgan-gp model=mlp dataset=mnist", "83518c393b6c"),
    ("loss=wgan-gp model=dcgan dataset=mnist", "52edd829c0ab"),
    (
        "loss=wgan-lp model=toy-mlp dataset=8gaussians",
        "a23d0aa5d44b",
    ),
    (
        "loss=wgan-lp model=toy-mlp dataset=swissroll",
        "1d55142a7c88",
    ),
    ("loss=wgan-lp model=mlp dataset=mnist", "1a1fc1f58bff"),
    ("loss=wgan-lp model=dcgan dataset=mnist", "20b2b7886994"),
    ("every mlp key", "915259905dd4"),
    ("dcgan batch norm", "8485d1dd86ac"),
    ("dcgan no norm spelled out", "34e5c4c52b22"),
    ("toy-mlp lp", "46beee9297eb"),
];

fn experiment_hashes() -> Vec<(String, Vec<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let plan = load_plan(f, None).unwrap_or_else(|e| panic!("{e}"));
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            (name, plan.entries.into_iter().map(|e| e.hash).collect())
        })
        .collect()
}

fn default_hashes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for &p in Profile::ALL {
        let spec = RunSpec {
            profile: Some(p),
            ..Default::default()
        };
        out.push((format!("profile={p}"), short_hash(&spec.resolve().unwrap())));
    }
    let families = [
        (Model::ToyMlp, Dataset::EightGaussians),
        (Model::ToyMlp, Dataset::SwissRoll),
        (Model::Mlp, Dataset::Mnist),
        (Model::Dcgan, Dataset::Mnist),
    ];
    for &loss in Loss::ALL {
        for (model, dataset) in families {
            let spec = RunSpec {
                loss: Some(loss),
                model: Some(model),
                dataset: Some(dataset),
                ..Default::default()
            };
            let label = format!("loss={loss} model={model} dataset={dataset}");
            out.push((label, short_hash(&spec.resolve().unwrap())));
        }
    }
    for (label, text) in EXPLICIT {
        let spec: RunSpec = toml::from_str(text).unwrap();
        out.push((label.to_string(), short_hash(&spec.resolve().unwrap())));
    }
    out
}

/// Configurations that set keys explicitly (each key with a non-default value somewhere).
const EXPLICIT: &[(&str, &str)] = &[
    (
        "every mlp key",
        r#"profile = "wgan-paper"
loss = "wgan-clip"
model = "mlp"
dataset = "mnist"
z_dim = 64
g_hidden = [128, 256]
c_hidden = [256]
g_output = "sigmoid"
batch_size = 32
gen_iters = 123
n_critic = 3
clip = 0.02
clip_when = "before_step"
warmup = true
order = "generator-first"
schedule = "fresh"
g_optim = "rmsprop"
g_lr = 1e-3
g_alpha = 0.9
g_momentum = 0.5
g_eps = 1e-6
c_optim = "adam"
c_lr = 2e-3
c_beta1 = 0.3
c_beta2 = 0.95
c_eps = 1e-7
seed = 42
log_every = 3
eval_every = 7
checkpoint_every = 11
eval_samples = 100
backend = "ndarray"
"#,
    ),
    (
        "dcgan batch norm",
        r#"loss = "wgan-clip"
model = "dcgan"
dataset = "mnist"
dim = 16
critic_norm = "batchnorm"
"#,
    ),
    (
        "dcgan no norm spelled out",
        r#"loss = "gan-ns"
model = "dcgan"
dataset = "mnist"
critic_norm = "none"
g_output = "tanh"
"#,
    ),
    (
        "toy-mlp lp",
        r#"loss = "wgan-lp"
dataset = "25gaussians"
dim = 64
depth = 5
gp_lambda = 0.5
z_dim = 3
"#,
    ),
];

#[test]
fn shipped_experiments_keep_their_hashes() {
    let got = experiment_hashes();
    let want: Vec<(String, Vec<String>)> = EXPERIMENTS
        .iter()
        .map(|(f, h)| (f.to_string(), h.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(got, want, "a shipped experiment's configuration hash moved");
}

#[test]
fn default_configurations_keep_their_hashes() {
    let got = default_hashes();
    let want: Vec<(String, String)> = DEFAULTS
        .iter()
        .map(|(l, h)| (l.to_string(), h.to_string()))
        .collect();
    assert_eq!(got, want, "a default configuration's hash moved");
}
