//! WGAN-GP Figure 1b's per-layer quantities (`measure::layer_gradients`): the gradient norm of
//! the critic loss with respect to each layer's weights (`grad_norm`) and with respect to the
//! activations each layer outputs (`act_grad_norm`), checked against hand computations and
//! against Burn's autodiff through a network cut at each layer.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use harness_core::config::{CriticNorm, Dataset, Loss, Model, RunSpec};
use harness_core::objective::Objective;
use harness_engine::losses::ObjectiveLoss;
use harness_engine::measure::layer_gradients;
use harness_engine::nets::{self, Act, ConvCritic, Critic, Dense, Mlp, OutAct};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn device() -> Device {
    Device::flex().autodiff()
}

fn t2(v: &[f32], rows: usize, d: &Device) -> Tensor<2> {
    Tensor::<1>::from_floats(v, d).reshape([rows, v.len() / rows])
}

fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// An MLP critic with `[out, in]` weights (row-major) and zero biases.
fn mlp(weights: &[(Vec<f32>, usize)], act: Act, d: &Device) -> Critic {
    let layers = weights
        .iter()
        .map(|(w, rows)| Dense {
            weight: Param::from_tensor(t2(w, *rows, d).require_grad()),
            bias: Param::from_tensor(Tensor::<1>::zeros([*rows], d).require_grad()),
            sn: None,
        })
        .collect();
    Critic::Mlp(Mlp {
        layers,
        act,
        out: OutAct::Linear,
    })
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1e-30)
}

fn random(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// C(x) = 2 relu(x1) - relu(x2) under the WGAN loss, every gradient worked out by hand.
#[test]
fn both_norms_of_a_two_layer_critic_match_a_hand_computation() {
    let d = device();
    let critic = mlp(
        &[(vec![1.0, 0.0, 0.0, 1.0], 2), (vec![2.0, -1.0], 1)],
        Act::Relu,
        &d,
    );
    let real = t2(&[1.0, 2.0, 3.0, 4.0], 2, &d);
    let fake = t2(&[0.5, 1.0, 1.0, -1.0], 2, &d);
    let g = layer_gradients(Objective::Wgan, &critic, real, fake);
    // L = mean C(fake) - mean C(real) = (0 + 2) / 2 - (0 + 2) / 2.
    assert!(g.loss.abs() < 1e-7, "loss {}", g.loss);
    // dL/dW2 = mean relu(fake) - mean relu(real) = (0.75, 0.5) - (2, 3).
    // dL/dW1 = [[-2.5, -6], [1.75, 2.5]] (rows: W2_i * active_i * x, fake mean minus real mean).
    let weight = [51.5625f64.sqrt(), (1.25f64 * 1.25 + 2.5 * 2.5).sqrt()];
    // dL/dC = -1/2 for each real and +1/2 for each fake score: |.| = 1 over the four scores.
    // dL/dh1 = dL/dC * W2 = +-(1, -0.5) per sample (the ReLU's mask acts before h1, not on
    // it): |.|^2 = 4 * 1.25.
    let activation = [5f64.sqrt(), 1.0];
    assert_eq!(g.layers.len(), 2);
    for (i, l) in g.layers.iter().enumerate() {
        assert_eq!(l.layer, format!("{}", i + 1));
        assert!(close(l.weight, weight[i], 1e-6), "{l:?} vs {}", weight[i]);
        assert!(close(l.activation, activation[i], 1e-6), "{l:?}");
    }
}

/// `x W^T` for row-major `[out, in]` weights, in f64.
fn times_wt(x: &[f64], w: &[f32], out: usize) -> Vec<f64> {
    let n_in = w.len() / out;
    (0..out)
        .map(|o| (0..n_in).map(|i| x[i] * w[o * n_in + i] as f64).sum())
        .collect()
}

/// `g W` for row-major `[out, in]` weights: the backward of a linear layer, in f64.
fn times_w(g: &[f64], w: &[f32], out: usize) -> Vec<f64> {
    let n_in = w.len() / out;
    (0..n_in)
        .map(|i| (0..out).map(|o| g[o] * w[o * n_in + i] as f64).sum())
        .collect()
}

/// A deep critic that is linear on its data (positive weights and inputs keep every LeakyReLU
/// in its identity branch): the gradient with respect to layer k's activations is dL/dC times
/// the product of the later weight matrices, computed here in f64, for the WGAN loss (dL/dC =
/// +-1/B) and the GAN loss (dL/dC = -sigmoid(-C(x))/B for real, sigmoid(C(x))/B for fake).
#[test]
fn activation_norms_of_a_linear_critic_are_products_of_the_later_weights() {
    let d = device();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let widths = [3usize, 4, 5, 3, 1];
    let weights: Vec<(Vec<f32>, usize)> = widths
        .windows(2)
        .map(|w| (random(&mut rng, w[0] * w[1], 0.05, 0.6), w[1]))
        .collect();
    let critic = mlp(&weights, Act::LeakyRelu, &d);
    let b = 4;
    let real = random(&mut rng, b * 3, 0.1, 1.0);
    let fake = random(&mut rng, b * 3, 0.1, 1.0);
    // Scores in f64, layer by layer.
    let score = |x: &[f32]| {
        let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for (w, out) in &weights {
            h = times_wt(&h, w, *out);
        }
        h[0]
    };
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    for l in [Objective::Wgan, Objective::Gan] {
        let g = layer_gradients(l, &critic, t2(&real, b, &d), t2(&fake, b, &d));
        // dL/dC per sample: real rows then fake rows.
        let dc: Vec<f64> = (0..2 * b)
            .map(|s| {
                let (x, is_real) = match s < b {
                    true => (&real[3 * s..3 * s + 3], true),
                    false => (&fake[3 * (s - b)..3 * (s - b) + 3], false),
                };
                let c = score(x);
                let per = match (l, is_real) {
                    (Objective::Gan, true) => -sigmoid(-c),
                    (Objective::Gan, false) => sigmoid(c),
                    (_, true) => -1.0,
                    (_, false) => 1.0,
                };
                per / b as f64
            })
            .collect();
        // From the output down: layer n's activation is the score; layer k's gradient is
        // layer k+1's times W_{k+1}.
        let n = weights.len();
        let mut want = vec![0.0; n];
        let mut per_sample: Vec<Vec<f64>> = dc.iter().map(|&v| vec![v]).collect();
        for k in (0..n).rev() {
            want[k] = per_sample
                .iter()
                .flatten()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt();
            if k > 0 {
                let (w, out) = &weights[k];
                per_sample = per_sample.iter().map(|g| times_w(g, w, *out)).collect();
            }
        }
        for (lg, want) in g.layers.iter().zip(&want) {
            assert!(
                close(lg.activation, *want, 1e-5),
                "{l}: layer {}: {} vs {want}",
                lg.layer,
                lg.activation
            );
        }
    }
}

/// `act_grad_norm` of layer k by Burn's autodiff on the network cut after layer k: the
/// activations there (computed without a graph) become a leaf, the rest of the network and the
/// loss run from it, and the leaf's gradient is read.
fn cut_at(
    l: Objective,
    head: impl Fn(Tensor<2>) -> Tensor<2>,
    tail: impl Fn(Tensor<2>) -> Tensor<2>,
    real: &Tensor<2>,
    fake: &Tensor<2>,
) -> f64 {
    let leaf = |x: &Tensor<2>| head(x.clone()).detach().require_grad();
    let (hr, hf) = (leaf(real), leaf(fake));
    let grads = l.critic_loss(tail(hr.clone()), tail(hf.clone())).backward();
    let sq = |h: &Tensor<2>| -> f64 {
        let g = vals(h.grad(&grads).expect("the leaf is reached"));
        g.iter().map(|&x| (x as f64) * (x as f64)).sum()
    };
    (sq(&hr) + sq(&hf)).sqrt()
}

fn assert_all_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            close(*g, *w, 1e-4),
            "{what}, layer {}: probe {g} vs cut network {w}",
            k + 1
        );
    }
}

/// ReLU and LeakyReLU MLPs on data where both branches of every activation occur.
#[test]
fn activation_norms_of_mlps_match_autodiff_on_the_cut_network() {
    let d = device();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (act, f) in [
        (Act::Relu, relu::<2> as fn(Tensor<2>) -> Tensor<2>),
        (Act::LeakyRelu, |x| leaky_relu(x, 0.2)),
    ] {
        let critic = nets::mlp_critic(&mut rng, &[6, 16, 8, 8, 1], act == Act::LeakyRelu, &d);
        let Critic::Mlp(m) = &critic else {
            unreachable!()
        };
        let real = t2(&random(&mut rng, 5 * 6, -1.0, 1.0), 5, &d);
        let fake = t2(&random(&mut rng, 5 * 6, -1.0, 1.0), 5, &d);
        let n = m.layers.len();
        let layer = |i: usize, x: Tensor<2>| {
            let x = m.layers[i].forward(x);
            if i + 1 == n { x } else { f(x) }
        };
        for l in [Objective::Wgan, Objective::GanNs] {
            let got: Vec<f64> = layer_gradients(l, &critic, real.clone(), fake.clone())
                .layers
                .iter()
                .map(|g| g.activation)
                .collect();
            let want: Vec<f64> = (0..n)
                .map(|k| {
                    let head = |x| (0..=k).fold(x, |x, i| layer(i, x));
                    let tail = |x| (k + 1..n).fold(x, |x, i| layer(i, x));
                    cut_at(l, head, tail, &real, &fake)
                })
                .collect();
            assert_all_close(&got, &want, &format!("{act:?} {l}"));
        }
    }
}

/// One stage of the dcgan critic: convolution `i` (1-3) with its batch norm and LeakyReLU, on
/// flattened activations.
fn conv_stage(c: &ConvCritic, i: usize, x: Tensor<2>) -> Tensor<2> {
    let b = x.dims()[0];
    let (conv, bn, c_in, side) = match i {
        1 => (&c.conv1, None, 1, 28),
        2 => (&c.conv2, c.bn2.as_ref(), c.dim, 14),
        _ => (&c.conv3, c.bn3.as_ref(), 2 * c.dim, 7),
    };
    let x = x.reshape([b, c_in, side, side]);
    let opts = ConvOptions::new([2, 2], [2, 2], [1, 1], 1);
    let a = conv2d(x, conv.weight.val(), Some(conv.bias.val()), opts);
    let a = match bn {
        Some(bn) => bn.forward(a),
        None => a,
    };
    let a = leaky_relu(a, 0.2);
    let [_, ch, h, w] = a.dims();
    a.reshape([b, ch * h * w])
}

/// The dcgan critic, without and with batch norm (where each sample's activations depend on
/// the batch), against the cut network built from its layers.
#[test]
fn activation_norms_of_the_conv_critic_match_autodiff_on_the_cut_network() {
    let d = device();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let plain = nets::conv_critic(&mut rng, 4, &d);
    let cfg = RunSpec {
        loss: Some(Loss::WganClip),
        model: Some(Model::Dcgan),
        dataset: Some(Dataset::Mnist),
        dim: Some(4),
        critic_norm: Some(CriticNorm::BatchNorm),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let (_, normed) = nets::build(&cfg, &mut rng, &d);
    let real = t2(&random(&mut rng, 3 * 784, 0.0, 1.0), 3, &d);
    let fake = t2(&random(&mut rng, 3 * 784, 0.0, 1.0), 3, &d);
    for (name, critic) in [("plain", plain), ("batch norm", normed)] {
        let Critic::Conv(c) = &critic else {
            unreachable!()
        };
        let stage = |i: usize, x: Tensor<2>| match i {
            4 => c.output.forward(x),
            i => conv_stage(c, i, x),
        };
        let got: Vec<f64> = layer_gradients(Objective::Wgan, &critic, real.clone(), fake.clone())
            .layers
            .iter()
            .map(|g| g.activation)
            .collect();
        let want: Vec<f64> = (1..=4)
            .map(|k| {
                let head = |x| (1..=k).fold(x, |x, i| stage(i, x));
                let tail = |x| (k + 1..=4).fold(x, |x, i| stage(i, x));
                cut_at(Objective::Wgan, head, tail, &real, &fake)
            })
            .collect();
        assert_all_close(&got, &want, name);
        // The output layer's is dL/dC = +-1/B for each of the 2B scores.
        assert!(close(got[3], (2.0f64 / 3.0).sqrt(), 1e-6), "{got:?}");
    }
}
