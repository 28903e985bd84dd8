//! Weight initialisation (`init`): every scheme's draws on the real networks of every family
//! against its formula, PyTorch's default bounds against values computed in PyTorch, and the
//! hashes (and weights) of configs that leave `init` at their family's default.

use burn::prelude::*;
use harness_core::config::{InitScheme, Model, RunConfig, RunSpec};
use harness_core::hash::short_hash;
use harness_engine::nets::{Critic, Dense, Generator, Mlp, build};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// One layer's drawn parameters.
struct Layer {
    name: String,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn dense(name: String, d: &Dense) -> Layer {
    Layer {
        name,
        weight: host(d.weight.val()),
        bias: host(d.bias.val()),
    }
}

fn mlp_layers(net: &str, m: &Mlp) -> Vec<Layer> {
    let name = |i: usize| format!("{net}.{}", i + 1);
    m.layers
        .iter()
        .enumerate()
        .map(|(i, l)| dense(name(i), l))
        .collect()
}

fn conv(name: &str, c: &harness_engine::nets::Conv) -> Layer {
    Layer {
        name: name.into(),
        weight: host(c.weight.val()),
        bias: host(c.bias.val()),
    }
}

/// A batch norm's gamma and beta.
type Norm = (Vec<f32>, Vec<f32>);

/// Every layer of both networks, generator first, and the critic's batch norms.
fn layers(g: &Generator, c: &Critic) -> (Vec<Layer>, Vec<Norm>) {
    let mut out = match g {
        Generator::Mlp(m) => mlp_layers("G", m),
        Generator::Conv(g) => vec![
            dense("G.input".into(), &g.input),
            conv("G.deconv1", &g.deconv1),
            conv("G.deconv2", &g.deconv2),
            conv("G.deconv3", &g.deconv3),
        ],
    };
    let mut norms = Vec::new();
    match c {
        Critic::Mlp(m) => out.extend(mlp_layers("C", m)),
        Critic::Conv(c) => {
            out.extend([
                conv("C.conv1", &c.conv1),
                conv("C.conv2", &c.conv2),
                conv("C.conv3", &c.conv3),
                dense("C.output".into(), &c.output),
            ]);
            for bn in [&c.bn2, &c.bn3].into_iter().flatten() {
                norms.push((host(bn.gamma.val()), host(bn.beta.val())));
            }
        }
    }
    (out, norms)
}

fn config(text: &str) -> RunConfig {
    let spec: RunSpec = toml::from_str(text).unwrap();
    spec.resolve().unwrap()
}

fn built(cfg: &RunConfig) -> (Vec<Layer>, Vec<Norm>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (g, c) = build(cfg, &mut rng, &Device::flex());
    layers(&g, &c)
}

/// The three families at the sizes the tests use (dcgan at DIM 64 with batch norm, so the
/// critic has gammas too).
const FAMILIES: [(Model, &str); 3] = [
    (
        Model::Mlp,
        "loss = \"wgan-clip\"\nmodel = \"mlp\"\ndataset = \"mnist\"\n",
    ),
    (
        Model::ToyMlp,
        "loss = \"wgan-gp\"\nmodel = \"toy-mlp\"\ndim = 512\ndepth = 3\n",
    ),
    (
        Model::Dcgan,
        "loss = \"wgan-clip\"\nmodel = \"dcgan\"\ndataset = \"mnist\"\ndim = 64\ncritic_norm = \"batchnorm\"\n",
    ),
];

fn with_init(text: &str, init: InitScheme) -> RunConfig {
    config(&format!("{text}init = \"{init}\"\n"))
}

fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn max_abs(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x.abs())).fold(0.0, f64::max)
}

/// `v` looks like `n` draws of `U(-bound, bound)`: nothing beyond the bound (f32 rounding
/// aside); the largest |value| near it (the chance that all `n` fall inside `(1 - 20/n) bound`
/// is `e^-10`); mean and standard deviation (`bound / sqrt(3)`) within 6 standard errors.
fn assert_uniform(what: &str, v: &[f32], bound: f64) {
    let n = v.len() as f64;
    let (mean, std) = mean_std(v);
    let max = max_abs(v);
    assert!(
        max <= bound * (1.0 + 1e-6),
        "{what}: max |w| {max} > {bound}"
    );
    if n >= 1000.0 {
        assert!(
            max >= bound * (1.0 - 20.0 / n),
            "{what}: max |w| {max} << {bound}"
        );
    }
    let sd = bound / 3f64.sqrt();
    assert!(mean.abs() <= 6.0 * sd / n.sqrt(), "{what}: mean {mean}");
    if n >= 100.0 {
        // The standard deviation of a uniform sample's std is sd * sqrt(0.2 / n).
        let tol = 6.0 * (0.2 / n).sqrt();
        assert!(
            (std / sd - 1.0).abs() <= tol,
            "{what}: std {std} vs {sd} (tolerance {tol})"
        );
    }
}

/// `v` looks like `n` draws of `N(mean, 0.02^2)`: mean and standard deviation within 6 standard
/// errors, nothing beyond 6.5 standard deviations, and for large layers 68.27% within one.
fn assert_normal(what: &str, v: &[f32], mean: f64) {
    const STD: f64 = 0.02;
    let n = v.len() as f64;
    let (m, s) = mean_std(v);
    assert!((m - mean).abs() <= 6.0 * STD / n.sqrt(), "{what}: mean {m}");
    let tol = 6.0 * (0.5 / n).sqrt();
    assert!(
        (s / STD - 1.0).abs() <= tol,
        "{what}: std {s} (tolerance {tol})"
    );
    let far = v
        .iter()
        .map(|&x| (f64::from(x) - mean).abs())
        .fold(0.0, f64::max);
    assert!(far <= 6.5 * STD, "{what}: a draw {far} from the mean");
    if n >= 10_000.0 {
        let p = 0.682_689_492_137_085_9;
        let within = v
            .iter()
            .filter(|&&x| (f64::from(x) - mean).abs() <= STD)
            .count() as f64
            / n;
        assert!(
            (within - p).abs() <= 6.0 * (p * (1.0 - p) / n).sqrt(),
            "{what}: {within} within one std"
        );
    }
}

fn assert_zero(what: &str, v: &[f32]) {
    assert!(v.iter().all(|&x| x == 0.0), "{what}: not all zero");
}

/// PyTorch's default bounds, weight and bias, of each layer (generator first), as torch 2.15
/// computes them for the same modules: `kaiming_uniform_(a = sqrt(5))`'s
/// `sqrt(3) * calculate_gain("leaky_relu", sqrt(5)) / sqrt(fan_in)` with `fan_in` from
/// `init._calculate_fan_in_and_fan_out(weight)`, and the bias's `1 / sqrt(fan_in)`. Printed by:
/// ```python
/// import math, torch.nn as nn; from torch.nn import init
/// for m in [nn.Linear(100, 256), ..., nn.ConvTranspose2d(256, 128, 5, 2, 2), ...]:
///     fan_in, _ = init._calculate_fan_in_and_fan_out(m.weight)
///     g = init.calculate_gain("leaky_relu", math.sqrt(5))
///     print(math.sqrt(3.0) * g / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
/// ```
/// `ConvTranspose2d(256, 128, 5)`'s weight is `[256, 128, 5, 5]` and its `fan_in` is dim 1
/// times 25 = 3200, not 6400.
const TORCH_BOUNDS: [(Model, &[(f64, f64)]); 3] = [
    (
        Model::Mlp,
        &[
            (0.09999999999999999, 0.1),                  // Linear(100, 256)
            (0.06249999999999999, 0.0625),               // Linear(256, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 1024)
            (0.031249999999999997, 0.03125),             // Linear(1024, 784)
            (0.03571428571428571, 0.03571428571428571),  // Linear(784, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 256)
            (0.06249999999999999, 0.0625),               // Linear(256, 1)
        ],
    ),
    (
        Model::ToyMlp,
        &[
            (0.7071067811865474, 0.7071067811865475), // Linear(2, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 2)
            (0.7071067811865474, 0.7071067811865475), // Linear(2, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 512)
            (0.04419417382415921, 0.044194173824159216), // Linear(512, 1)
        ],
    ),
    (
        Model::Dcgan,
        &[
            (0.08838834764831842, 0.08838834764831843), // Linear(128, 4096)
            (0.017677669529663684, 0.017677669529663688), // ConvTranspose2d(256, 128, 5)
            (0.024999999999999998, 0.025),              // ConvTranspose2d(128, 64, 5)
            (0.19999999999999998, 0.2),                 // ConvTranspose2d(64, 1, 5)
            (0.19999999999999998, 0.2),                 // Conv2d(1, 64, 5)
            (0.024999999999999998, 0.025),              // Conv2d(64, 128, 5)
            (0.017677669529663684, 0.017677669529663688), // Conv2d(128, 256, 5)
            (0.015624999999999998, 0.015625),           // Linear(4096, 1)
        ],
    ),
];

#[test]
fn torch_default_matches_pytorch_bounds() {
    for ((model, text), (m, bounds)) in FAMILIES.iter().zip(TORCH_BOUNDS) {
        assert_eq!(*model, m);
        let (layers, norms) = built(&with_init(text, InitScheme::TorchDefault));
        assert_eq!(layers.len(), bounds.len(), "{model}");
        for (l, &(w, b)) in layers.iter().zip(bounds) {
            assert_uniform(&format!("{model} {} weight", l.name), &l.weight, w);
            assert_uniform(&format!("{model} {} bias", l.name), &l.bias, b);
        }
        // nn.BatchNorm2d: weight (gamma) 1, bias (beta) 0.
        for (gamma, beta) in norms {
            assert!(gamma.iter().all(|&x| x == 1.0));
            assert_zero(&format!("{model} beta"), &beta);
        }
    }
}

/// tflib's rules, with the fans written out: He `sqrt(6 / fan_in)` for layers followed by a
/// ReLU, Glorot `sqrt(6 / (fan_in + fan_out))` for the others (and for gan_mnist.py's input
/// layer, which keeps tflib's default), the convolutions' `he_init` `sqrt(3) * sqrt(4 / (fan_in
/// + fan_out))` with the stride-2 side's fan divided by 4; biases 0.
#[test]
fn tf_original_follows_tflib() {
    let he = |fan_in: f64| (6.0 / fan_in).sqrt();
    let glorot = |fan_in: f64, fan_out: f64| (6.0 / (fan_in + fan_out)).sqrt();
    let conv_he = |fan_in: f64, fan_out: f64| 3f64.sqrt() * (4.0 / (fan_in + fan_out)).sqrt();
    let expected: [(Model, Vec<f64>); 3] = [
        (
            Model::Mlp,
            vec![
                he(100.0),
                he(256.0),
                he(512.0),
                glorot(1024.0, 784.0),
                he(784.0),
                he(512.0),
                glorot(256.0, 1.0),
            ],
        ),
        (
            Model::ToyMlp,
            vec![
                he(2.0),
                he(512.0),
                he(512.0),
                glorot(512.0, 2.0),
                he(2.0),
                he(512.0),
                he(512.0),
                glorot(512.0, 1.0),
            ],
        ),
        (
            Model::Dcgan,
            vec![
                glorot(128.0, 4096.0),
                conv_he(256.0 * 25.0 / 4.0, 128.0 * 25.0),
                conv_he(128.0 * 25.0 / 4.0, 64.0 * 25.0),
                conv_he(64.0 * 25.0 / 4.0, 25.0),
                conv_he(25.0, 64.0 * 25.0 / 4.0),
                conv_he(64.0 * 25.0, 128.0 * 25.0 / 4.0),
                conv_he(128.0 * 25.0, 256.0 * 25.0 / 4.0),
                glorot(4096.0, 1.0),
            ],
        ),
    ];
    for ((model, text), (m, bounds)) in FAMILIES.iter().zip(expected) {
        assert_eq!(*model, m);
        let (layers, norms) = built(&with_init(text, InitScheme::TfOriginal));
        assert_eq!(layers.len(), bounds.len(), "{model}");
        for (l, w) in layers.iter().zip(bounds) {
            assert_uniform(&format!("{model} {} weight", l.name), &l.weight, w);
            assert_zero(&format!("{model} {} bias", l.name), &l.bias);
        }
        for (gamma, beta) in norms {
            assert!(gamma.iter().all(|&x| x == 1.0));
            assert_zero(&format!("{model} beta"), &beta);
        }
    }
}

#[test]
fn normal_002_is_dcgans_weights_init() {
    for (model, text) in FAMILIES {
        let (layers, norms) = built(&with_init(text, InitScheme::Normal002));
        for l in &layers {
            assert_normal(&format!("{model} {} weight", l.name), &l.weight, 0.0);
            assert_zero(&format!("{model} {} bias", l.name), &l.bias);
        }
        if model == Model::Dcgan {
            assert_eq!(norms.len(), 2);
        }
        // Batch norm: gamma N(1, 0.02), beta 0; both critic layers' gammas together.
        let gammas: Vec<f32> = norms.iter().flat_map(|(g, _)| g.clone()).collect();
        if !gammas.is_empty() {
            assert_normal(&format!("{model} gamma"), &gammas, 1.0);
        }
        for (_, beta) in norms {
            assert_zero(&format!("{model} beta"), &beta);
        }
    }
}

/// A config that leaves `init` unset, or sets it to its family's default, resolves to the same
/// configuration (hash) and builds the same weights; another scheme is another configuration.
#[test]
fn the_family_default_keeps_hash_and_weights() {
    for (model, text) in FAMILIES {
        let unset = config(text);
        let default = with_init(text, model.default_init());
        assert_eq!(unset, default, "{model}");
        assert_eq!(unset.init, None);
        assert_eq!(unset.init_scheme(), model.default_init());
        assert_eq!(short_hash(&unset), short_hash(&default));
        let (a, _) = built(&unset);
        let (b, _) = built(&default);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.weight == y.weight && x.bias == y.bias)
        );
        for &other in InitScheme::ALL {
            if other != model.default_init() {
                let cfg = with_init(text, other);
                assert_eq!(cfg.init, Some(other));
                assert_ne!(short_hash(&cfg), short_hash(&unset), "{model} {other}");
            }
        }
    }
    // The families' defaults: PyTorch's for the seed MLPs, tflib's for the WGAN-GP nets.
    assert_eq!(Model::Mlp.default_init(), InitScheme::TorchDefault);
    assert_eq!(Model::ToyMlp.default_init(), InitScheme::TfOriginal);
    assert_eq!(Model::Dcgan.default_init(), InitScheme::TfOriginal);
}

#[test]
fn a_bad_scheme_names_the_valid_ones() {
    let e = toml::from_str::<RunSpec>("init = \"xavier\"\n").unwrap_err();
    let msg = e.to_string();
    for name in InitScheme::NAMES {
        assert!(msg.contains(name), "{msg}");
    }
}
