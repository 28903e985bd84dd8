//! Tests build long fixtures inline: a test reads top to bottom.
#![allow(clippy::too_many_lines)]

use super::flat::AXES;
use super::*;
use std::collections::BTreeMap;

fn resolve(text: &str) -> RunConfig {
    toml::from_str::<RunSpec>(text)
        .unwrap()
        .resolve()
        .unwrap_or_else(|e| panic!("{text}: {}: {}", e.key, e.message))
}

#[test]
fn defaults_follow_the_loss() {
    let c = RunSpec {
        loss: Some(Loss::WganClip),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(c.clip, Some(0.01));
    assert_eq!(c.g_optim.kind, OptimKind::Rmsprop);
    assert_eq!(c.g_optim.momentum, Some(0.0));
    assert_eq!(c.g_optim.eps, 1e-8);
    assert_eq!(c.penalty_weight, None);
    let gp = RunSpec::default().resolve().unwrap();
    assert_eq!(gp.legacy_loss(), Some(Loss::WganGp));
    assert_eq!(gp.penalty_weight, Some(10.0));
    assert_eq!(gp.g_optim.beta2, Some(0.9));
}

/// Each objective's and penalty's source settings, and the shorthand's axes.
#[test]
fn defaults_follow_the_objective_and_the_penalty() {
    let optim = |c: &RunConfig| {
        let o = &c.c_optim;
        (c.n_critic, o.kind, o.lr, o.beta1, o.beta2)
    };
    let adam = OptimKind::Adam;
    let cases = [
        (
            "objective = \"hinge\"",
            (5, adam, 2e-4, Some(0.0), Some(0.9)),
        ),
        (
            "objective = \"gan-ns\"",
            (1, adam, 2e-4, Some(0.5), Some(0.999)),
        ),
        (
            "objective = \"wgan\"",
            (5, adam, 1e-4, Some(0.0), Some(0.9)),
        ),
        (
            "objective = \"gan-ns\"\npenalty = \"r1\"",
            (1, adam, 1e-4, Some(0.0), Some(0.99)),
        ),
        (
            "objective = \"hinge\"\npenalty = \"r2\"",
            (5, adam, 1e-4, Some(0.0), Some(0.99)),
        ),
        (
            "objective = \"wgan\"\nclip = 0.02",
            (5, OptimKind::Rmsprop, 5e-5, None, None),
        ),
        (
            "objective = \"gan\"\nclip = 0.02",
            (1, adam, 2e-4, Some(0.5), Some(0.999)),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(optim(&resolve(text)), want, "{text}");
    }
    let r1 = resolve("objective = \"gan-ns\"\npenalty = \"r1\"");
    assert_eq!(
        (r1.penalty_weight, r1.clip, r1.spectral_norm),
        (Some(10.0), None, false)
    );
    // A penalty alone is WGAN's; an objective alone has no penalty.
    assert_eq!(resolve("penalty = \"r2\"").objective, Objective::Wgan);
    assert_eq!(resolve("objective = \"hinge\"").penalty, Penalty::None);
    for &loss in Loss::ALL {
        let c = resolve(&format!("loss = \"{loss}\""));
        let (objective, penalty, clip) = loss.axes();
        assert_eq!(
            (c.objective, c.penalty, c.clip.is_some()),
            (objective, penalty, clip)
        );
        assert_eq!(c.legacy_loss(), Some(loss));
    }
}

/// The axes compose with each other, with profiles and with the shorthand.
#[test]
fn axes_compose() {
    let c = resolve("loss = \"wgan-gp\"\nspectral_norm = true\nclip = 0.05");
    assert_eq!((c.objective, c.penalty), (Objective::Wgan, Penalty::Gp));
    assert_eq!(
        (c.clip, c.clip_when, c.spectral_norm),
        (Some(0.05), Some(ClipWhen::AfterStep), true)
    );
    assert_eq!(c.legacy_loss(), None);
    // A profile's settings fill in what the user's shorthand or axes leave unset.
    let c = resolve("profile = \"wgangp-paper\"\nobjective = \"hinge\"");
    assert_eq!(
        (c.objective, c.penalty, c.penalty_weight),
        (Objective::Hinge, Penalty::Gp, Some(10.0))
    );
    let c = resolve("profile = \"wgangp-paper\"\nloss = \"wgan-lp\"\ngp_lambda = 2.0");
    assert_eq!((c.penalty, c.penalty_weight), (Penalty::Lp, Some(2.0)));
    let c = resolve("profile = \"wgangp-paper\"\npenalty_weight = 3.0");
    assert_eq!(c.penalty_weight, Some(3.0));
    let c =
        resolve("objective = \"gan-ns\"\nclip = 0.1\nwarmup = true\nclip_when = \"before_step\"");
    assert_eq!((c.warmup, c.clip_when), (true, Some(ClipWhen::BeforeStep)));
    assert_eq!(c.label(), "gan-ns + clip c=0.1");
    let c = resolve("objective = \"gan-ns\"\npenalty = \"r1\"\nspectral_norm = true");
    assert_eq!(c.label(), "gan-ns + r1 γ=10 + SN");
    assert_eq!(resolve("loss = \"wgan-gp\"").label(), "wgan-gp λ=10");
}

#[test]
fn flat_round_trip() {
    let c = Profile::Seed.settings().resolve().unwrap();
    let text = toml::to_string(&c.to_flat()).unwrap();
    assert_eq!(RunConfig::from_flat_str(&text).unwrap(), c);
    // With epochs, the written config carries the derived gen_iters, which resolves again.
    let spec = RunSpec {
        epochs: Some(50),
        ..Profile::Seed.settings()
    };
    let c = spec.resolve().unwrap();
    assert_eq!((c.epochs, c.gen_iters), (Some(50), 9_400));
    let text = toml::to_string(&c.to_flat()).unwrap();
    assert!(text.contains("epochs = 50") && text.contains("gen_iters = 9400"));
    assert_eq!(RunConfig::from_flat_str(&text).unwrap(), c);
    for text in [
        "objective = \"hinge\"\npenalty = \"r2\"\nspectral_norm = true\npenalty_weight = 0.5",
        "objective = \"wgan\"\npenalty = \"gp\"\nclip = 0.1",
        "objective = \"gan\"\nspectral_norm = true",
        "loss = \"wgan-lp\"\ngp_lambda = 3.0",
    ] {
        let c = resolve(text);
        let flat = toml::to_string(&c.to_flat()).unwrap();
        assert_eq!(RunConfig::from_flat_str(&flat).unwrap(), c, "{flat}");
    }
}

/// The hashed form spells every combination `loss` can spell with `loss` (so hashes made
/// before the axes existed hold), and every other with the axes, whose keys no legacy form
/// has.
#[test]
fn flat_form_uses_the_shorthand_exactly_where_it_exists() {
    let keys = |c: &RunConfig| {
        let t = c.to_flat();
        [
            "loss",
            "gp_lambda",
            "objective",
            "penalty",
            "penalty_weight",
            "spectral_norm",
        ]
        .iter()
        .filter(|k| t.contains_key(**k))
        .copied()
        .collect::<Vec<_>>()
    };
    let axes = resolve("objective = \"wgan\"\npenalty = \"gp\"\nspectral_norm = false");
    assert_eq!(axes.to_flat(), resolve("loss = \"wgan-gp\"").to_flat());
    assert_eq!(keys(&axes), ["loss", "gp_lambda"]);
    let clip = resolve("objective = \"wgan\"\nclip = 0.01");
    assert_eq!(clip.to_flat(), resolve("loss = \"wgan-clip\"").to_flat());
    assert_eq!(keys(&resolve("objective = \"gan\"")), ["loss"]);
    assert_eq!(
        keys(&resolve("objective = \"wgan\"")),
        ["objective", "penalty", "spectral_norm"]
    );
    assert_eq!(
        keys(&resolve("loss = \"wgan-gp\"\nspectral_norm = true")),
        ["objective", "penalty", "penalty_weight", "spectral_norm"]
    );
    // The display form spells the axes out for both.
    let view = resolve("loss = \"wgan-lp\"\ngp_lambda = 2.0").to_view();
    assert_eq!(view.get("objective").and_then(|v| v.as_str()), Some("wgan"));
    assert_eq!(view.get("penalty").and_then(|v| v.as_str()), Some("lp"));
    assert_eq!(
        view.get("penalty_weight").and_then(|v| v.as_float()),
        Some(2.0)
    );
    assert_eq!(
        view.get("spectral_norm").and_then(|v| v.as_bool()),
        Some(false)
    );
}

/// A set of configs spelled both ways gets the axes on every member; one spelled one way is
/// left alone.
#[test]
fn mixed_spellings_are_harmonized() {
    let flat = |text: &str| -> BTreeMap<String, toml::Value> {
        resolve(text).to_flat().into_iter().collect()
    };
    let legacy = vec![flat("loss = \"wgan-gp\""), flat("loss = \"gan\"")];
    let mut same = legacy.clone();
    harmonize_spellings(&mut same);
    assert_eq!(same, legacy);
    let mut mixed = vec![flat("loss = \"wgan-gp\""), flat("objective = \"hinge\"")];
    harmonize_spellings(&mut mixed);
    for c in &mixed {
        assert!(
            AXES.iter()
                .filter(|k| **k != "penalty_weight")
                .all(|k| c.contains_key(*k))
        );
    }
    assert_eq!(
        mixed[0].get("penalty_weight"),
        Some(&toml::Value::Float(10.0))
    );
}

/// Each resolve check reports its key and says what would be valid; with several bad keys
/// the first check in resolve order reports.
#[test]
fn resolve_errors_name_the_key_and_the_valid_values() {
    let cases = [
        (
            "loss = \"wgan-clip\"\ng_beta2 = 0.9\n",
            "g_beta2",
            "g_beta2 does not apply to optimiser \"rmsprop\" (g_optim)",
        ),
        (
            "c_optim = \"adam\"\nc_momentum = 0.9\n",
            "c_momentum",
            "c_momentum does not apply to optimiser \"adam\" (c_optim)",
        ),
        (
            "g_optim = \"rmsprop\"\ng_alpha = 1.0\n",
            "g_alpha",
            "g_alpha must be in [0, 1), got 1",
        ),
        (
            "c_beta1 = -0.1\n",
            "c_beta1",
            "c_beta1 must be in [0, 1), got -0.1",
        ),
        ("g_eps = 2.0\n", "g_eps", "g_eps must be in [0, 1), got 2"),
        (
            "c_lr = 0.0\n",
            "c_lr",
            "c_lr must be a positive number, got 0",
        ),
        ("z_dim = 0\n", "z_dim", "z_dim must be positive, got 0"),
        ("dim = 0\n", "dim", "dim must be positive, got 0"),
        ("depth = 0\n", "depth", "depth must be positive, got 0"),
        (
            "dataset = \"mnist\"\nc_hidden = []\n",
            "c_hidden",
            "c_hidden must be a non-empty list of positive widths, got []",
        ),
        (
            "dataset = \"mnist\"\ng_hidden = [3, 0]\n",
            "g_hidden",
            "g_hidden must be a non-empty list of positive widths, got [3, 0]",
        ),
        (
            "gp_lambda = -1.0\n",
            "gp_lambda",
            "gp_lambda must be a non-negative number, got -1",
        ),
        (
            "eval_samples = 0\n",
            "eval_samples",
            "eval_samples must be a positive integer, got 0",
        ),
        (
            "depth = 2\ndataset = \"mnist\"\n",
            "depth",
            "depth only applies to model \"toy-mlp\", not to model \"mlp\"",
        ),
        (
            "g_output = \"tanh\"\n",
            "g_output",
            "g_output only applies to image models",
        ),
        // Precedence: applicability before values, values in resolve order.
        (
            "clip = -1.0\nbatch_size = 0\n",
            "clip",
            "clip must be a positive number, got -1",
        ),
        (
            "clip_when = \"before_step\"\nbatch_size = 0\n",
            "clip_when",
            "clip_when only applies with weight clipping (clip = c, or loss = \"wgan-clip\")",
        ),
        (
            "batch_size = 0\ngen_iters = 0\n",
            "batch_size",
            "batch_size must be a positive integer, got 0",
        ),
        (
            "gen_iters = 0\nz_dim = 0\n",
            "gen_iters",
            "gen_iters must be a positive integer",
        ),
        (
            "z_dim = 0\ng_lr = -1.0\n",
            "z_dim",
            "z_dim must be positive",
        ),
        (
            "g_lr = -1.0\nc_lr = -1.0\n",
            "g_lr",
            "g_lr must be a positive number",
        ),
        (
            "c_lr = -1.0\nwarmup = true\n",
            "c_lr",
            "c_lr must be a positive number",
        ),
        (
            "dataset = \"mnist\"\nepochs = 2\n",
            "epochs",
            "epochs only applies to schedule \"seed-batch-index\" (the seed script's DataLoader epochs), not \"fresh\"",
        ),
        (
            "schedule = \"seed-batch-index\"\nepochs = 2\n",
            "epochs",
            "epochs only applies to data sets with a training set (\"mnist\", \"stacked-mnist\"): \"8gaussians\" is sampled afresh",
        ),
        (
            "profile = \"seed\"\nepochs = 1\nwarmup = true\n",
            "epochs",
            "epochs cannot be combined with warmup = true",
        ),
        (
            "profile = \"seed\"\nepochs = 0\n",
            "epochs",
            "epochs must be a positive integer, got 0",
        ),
        (
            "profile = \"seed\"\nepochs = 2\ngen_iters = 375\n",
            "gen_iters",
            "gen_iters = 375 disagrees with epochs = 2: 2 epochs of 60000 images at batch 64 are 376 generator iterations (938 batches and 188 generator steps per epoch)",
        ),
        (
            "warmup = true\n",
            "warmup",
            "warmup (100 critic steps early on, official WGAN code) only applies with weight clipping (clip = c, or loss = \"wgan-clip\"), not to loss \"wgan-gp\"",
        ),
        (
            "objective = \"hinge\"\nwarmup = true\n",
            "warmup",
            "warmup (100 critic steps early on, official WGAN code) only applies with weight clipping (clip = c, or loss = \"wgan-clip\"), not to objective \"hinge\" with penalty \"none\"",
        ),
        (
            "loss = \"gan\"\nobjective = \"hinge\"\n",
            "objective",
            "objective cannot be combined with loss = \"gan\", a shorthand for objective \"gan\" with penalty \"none\"; set objective and penalty instead of loss",
        ),
        (
            "loss = \"wgan-clip\"\npenalty = \"r1\"\n",
            "penalty",
            "penalty cannot be combined with loss = \"wgan-clip\", a shorthand for objective \"wgan\" with penalty \"none\" and clipping",
        ),
        (
            "gp_lambda = 1.0\npenalty_weight = 1.0\n",
            "gp_lambda",
            "gp_lambda and penalty_weight are two spellings of one setting",
        ),
        (
            "penalty = \"r1\"\ngp_lambda = 1.0\n",
            "gp_lambda",
            "gp_lambda only applies to penalties \"gp\" and \"lp\", not to penalty \"r1\" (any penalty's weight is penalty_weight)",
        ),
        (
            "loss = \"wgan-clip\"\ngp_lambda = 1.0\n",
            "gp_lambda",
            "gp_lambda only applies to penalties \"gp\" and \"lp\", not to penalty \"none\"",
        ),
        (
            "objective = \"gan\"\npenalty_weight = 1.0\n",
            "penalty_weight",
            "penalty_weight only applies with a penalty (penalty = \"gp\", \"lp\", \"r1\", \"r2\"), not with penalty \"none\"",
        ),
        (
            "penalty = \"r2\"\npenalty_weight = -2.0\n",
            "penalty_weight",
            "penalty_weight must be a non-negative number, got -2",
        ),
        (
            "dataset = \"mnist\"\nmodel = \"dcgan\"\ncritic_norm = \"batchnorm\"\nobjective = \"gan-ns\"\npenalty = \"r1\"\n",
            "critic_norm",
            "critic_norm \"batchnorm\" cannot be used with objective \"gan-ns\" with penalty \"r1\": the gradient penalty is taken per sample",
        ),
    ];
    for (text, key, message) in cases {
        let spec: RunSpec = toml::from_str(text).unwrap();
        let e = spec.resolve().unwrap_err();
        assert_eq!(e.key, key, "for {text:?}: {}", e.message);
        assert!(
            e.message.starts_with(message),
            "for {text:?}\n got: {}\nwant: {message}",
            e.message
        );
    }
}
