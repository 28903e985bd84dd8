//! A whole dcgan WGAN-GP critic step and generator step with the host convolution kernels
//! (`conv_ops`) against the same step written with Burn's own convolutions, as the networks
//! computed them before the kernels existed: same weights, same data, compared score by score
//! and gradient by gradient. Both f32 paths are measured against the same step in f64 (Burn's
//! convolutions again), so the check is "as accurate as Burn's f32 convolutions", which needs no
//! guess at how rounding grows through a dozen chained ops.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::FloatDType;
use burn::tensor::activation::relu;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use harness_core::config::{Dataset, Loss, Model, Profile, RunSpec};
use harness_core::objective::Objective;
use harness_core::penalty::Penalty;
use harness_engine::losses::{ObjectiveLoss, PenaltyLoss};
use harness_engine::nets::{Conv, ConvCritic, ConvGenerator, Critic, Generator};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BATCH: usize = 4;

fn device() -> Device {
    Device::flex().autodiff()
}

fn nets() -> (ConvGenerator, ConvCritic) {
    let cfg = RunSpec {
        profile: Some(Profile::WgangpPaper),
        model: Some(Model::Dcgan),
        dataset: Some(Dataset::Mnist),
        loss: Some(Loss::WganGp),
        ..Default::default()
    }
    .resolve()
    .expect("the dcgan bench config resolves");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    match harness_engine::nets::build(&cfg, &mut rng, &device()) {
        (Generator::Conv(g), Critic::Conv(c)) => (g, c),
        _ => unreachable!("a dcgan config builds conv nets"),
    }
}

/// How a step is computed.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// The harness's networks (host kernels).
    Host,
    /// Burn's convolutions in f32.
    Burn,
    /// Burn's convolutions in f64: the reference.
    Exact,
}

/// Parameters cast to f64, as fresh leaves.
fn to_f64<M: Module>(m: M) -> M {
    struct F64;
    impl ModuleMapper for F64 {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            p.map(|t| t.cast(FloatDType::F64).detach().require_grad())
        }
    }
    m.map(&mut F64)
}

fn nets_for(path: Path) -> (ConvGenerator, ConvCritic) {
    let (g, c) = nets();
    match path {
        Path::Exact => (to_f64(g), to_f64(c)),
        _ => (g, c),
    }
}

fn random(
    rng: &mut ChaCha8Rng,
    (rows, cols): (usize, usize),
    (lo, hi): (f32, f32),
    path: Path,
) -> Tensor<2> {
    let v: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(lo..hi)).collect();
    let t = Tensor::<1>::from_floats(v.as_slice(), &device()).reshape([rows, cols]);
    match path {
        Path::Exact => t.cast(FloatDType::F64),
        _ => t,
    }
}

fn vals<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

// The previous implementation: Burn's conv2d / conv_transpose2d, stride 2, padding 2.

fn burn_conv(c: &Conv, x: Tensor<4>) -> Tensor<4> {
    let opts = ConvOptions::new([2, 2], [2, 2], [1, 1], 1);
    conv2d(x, c.weight.val(), Some(c.bias.val()), opts)
}

fn burn_deconv(c: &Conv, x: Tensor<4>, out_pad: usize, bias: bool) -> Tensor<4> {
    let opts = ConvTransposeOptions::new([2, 2], [2, 2], [out_pad, out_pad], [1, 1], 1);
    conv_transpose2d(x, c.weight.val(), bias.then(|| c.bias.val()), opts)
}

fn leaky(x: Tensor<4>) -> Tensor<4> {
    burn::tensor::activation::leaky_relu(x, 0.2)
}

fn slope(a: Tensor<4>) -> Tensor<4> {
    let dtype = a.dtype();
    a.greater_elem(0.0)
        .float()
        .cast(dtype)
        .mul_scalar(0.8)
        .add_scalar(0.2)
}

fn burn_critic(c: &ConvCritic, x: Tensor<2>) -> Tensor<2> {
    let b = x.dims()[0];
    let x = x.reshape([b, 1, 28, 28]);
    let x = leaky(burn_conv(&c.conv1, x));
    let x = leaky(burn_conv(&c.conv2, x));
    let x = leaky(burn_conv(&c.conv3, x));
    c.output.forward(x.reshape([b, 4 * 4 * 4 * c.dim]))
}

fn burn_input_grad(c: &ConvCritic, x: Tensor<2>) -> Tensor<2> {
    let b = x.dims()[0];
    let d = x.without_autodiff().reshape([b, 1, 28, 28]);
    let detached = |l: &Conv, x: Tensor<4>| {
        let opts = ConvOptions::new([2, 2], [2, 2], [1, 1], 1);
        let (w, bias) = (
            l.weight.val().without_autodiff(),
            l.bias.val().without_autodiff(),
        );
        conv2d(x, w, Some(bias), opts)
    };
    let a1 = detached(&c.conv1, d);
    let m1 = slope(a1.clone());
    let a2 = detached(&c.conv2, a1 * m1.clone());
    let m2 = slope(a2.clone());
    let m3 = slope(detached(&c.conv3, a2 * m2.clone()));
    let w = c.output.weight.val();
    let g = Tensor::<2>::ones([b, 1], &device())
        .cast(w.dtype())
        .matmul(w);
    let g = g.reshape([b, 4 * c.dim, 4, 4]) * m3.autodiff();
    let g = burn_deconv(&c.conv3, g, 0, false) * m2.autodiff();
    let g = burn_deconv(&c.conv2, g, 1, false) * m1.autodiff();
    burn_deconv(&c.conv1, g, 1, false).reshape([b, 784])
}

fn burn_generator(g: &ConvGenerator, z: Tensor<2>) -> Tensor<2> {
    let b = z.dims()[0];
    let x = relu(g.input.forward(z)).reshape([b, 4 * g.dim, 4, 4]);
    let x = relu(burn_deconv(&g.deconv1, x, 1, true));
    let x = x.slice([0..b, 0..2 * g.dim, 0..7, 0..7]);
    let x = relu(burn_deconv(&g.deconv2, x, 1, true));
    let x = burn_deconv(&g.deconv3, x, 1, true);
    burn::tensor::activation::sigmoid(x).reshape([b, 784])
}

/// The critic's scores and the penalty (what the losses are means of), and the gradients of
/// the loss w.r.t. every parameter of the differentiated network, in order.
struct Step {
    values: Vec<(String, Vec<f64>)>,
    grads: Vec<(String, Vec<f64>)>,
}

fn grad_of<const D: usize>(
    name: &str,
    p: &Param<Tensor<D>>,
    g: &burn::tensor::Gradients,
) -> (String, Vec<f64>) {
    let t = p
        .val()
        .grad(g)
        .unwrap_or_else(|| panic!("{name} has a gradient"));
    (name.into(), vals(t))
}

fn critic_grads(c: &ConvCritic, g: &burn::tensor::Gradients) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    for (name, l) in [
        ("conv1", &c.conv1),
        ("conv2", &c.conv2),
        ("conv3", &c.conv3),
    ] {
        out.push(grad_of(&format!("{name}.weight"), &l.weight, g));
        out.push(grad_of(&format!("{name}.bias"), &l.bias, g));
    }
    out.push(grad_of("output.weight", &c.output.weight, g));
    out.push(grad_of("output.bias", &c.output.bias, g));
    out
}

fn generator_grads(
    generator: &ConvGenerator,
    g: &burn::tensor::Gradients,
) -> Vec<(String, Vec<f64>)> {
    let mut out = vec![
        grad_of("input.weight", &generator.input.weight, g),
        grad_of("input.bias", &generator.input.bias, g),
    ];
    for (name, l) in [
        ("deconv1", &generator.deconv1),
        ("deconv2", &generator.deconv2),
        ("deconv3", &generator.deconv3),
    ] {
        out.push(grad_of(&format!("{name}.weight"), &l.weight, g));
        out.push(grad_of(&format!("{name}.bias"), &l.bias, g));
    }
    out
}

/// The critic's WGAN-GP loss on real and fake data and its gradients.
fn critic_step(path: Path) -> Step {
    let (generator, critic) = nets_for(path);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let real = random(&mut rng, (BATCH, 784), (0.0, 1.0), path);
    let z = random(&mut rng, (BATCH, 128), (-2.0, 2.0), path);
    let eps = random(&mut rng, (BATCH, 1), (0.0, 1.0), path);
    let host = path == Path::Host;
    let fake = if host {
        Generator::Conv(generator).sample(z)
    } else {
        burn_generator(&generator, z).detach()
    };
    let score = |x: Tensor<2>| {
        if host {
            critic.forward(x)
        } else {
            burn_critic(&critic, x)
        }
    };
    let (s_real, s_fake) = (score(real.clone()), score(fake.clone()));
    let scores = (vals(s_real.clone()), vals(s_fake.clone()));
    let base = Objective::Wgan.critic_loss(s_real, s_fake);
    let x_hat = real * eps.clone() + fake * eps.neg().add_scalar(1.0);
    let input_grad = if host {
        Critic::Conv(critic.clone()).input_grad(x_hat)
    } else {
        burn_input_grad(&critic, x_hat)
    };
    let pen = Penalty::Gp.of_gradients(10.0, input_grad).value;
    let grads = (base + pen.clone()).backward();
    Step {
        values: vec![
            ("real scores".into(), scores.0),
            ("fake scores".into(), scores.1),
            ("penalty".into(), vals(pen)),
        ],
        grads: critic_grads(&critic, &grads),
    }
}

/// The generator's loss through the critic and its gradients.
fn generator_step(path: Path) -> Step {
    let (generator, critic) = nets_for(path);
    let critic = critic.no_grad();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let z = random(&mut rng, (BATCH, 128), (-2.0, 2.0), path);
    let scores = if path == Path::Host {
        Critic::Conv(critic).forward(Generator::Conv(generator.clone()).forward(z))
    } else {
        burn_critic(&critic, burn_generator(&generator, z))
    };
    let values = vec![("scores".into(), vals(scores.clone()))];
    let grads = Objective::Wgan.generator_loss(scores).backward();
    Step {
        values,
        grads: generator_grads(&generator, &grads),
    }
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Every score, penalty and parameter gradient of the host step is at most 4 times as far
/// (in L2 norm) from the f64 step as Burn's f32 step is, plus 2^-20 of its norm.
///
/// Why: both f32 steps round every sum, in different orders, so neither matches the f64 step
/// exactly, and their distances from it are of the same order (random rounding errors of sums
/// of similar lengths); 4x leaves room for that spread, and the floor covers tensors so small
/// (a one-channel bias gradient) that Burn's error can be zero by chance. A wrong index, tap or
/// sign moves a tensor by a fraction of its norm, orders of magnitude beyond both.
fn assert_as_accurate(what: &str, host: Step, burn: Step, exact: Step) {
    let pairs = |s: Step| s.values.into_iter().chain(s.grads);
    for (((name, h), (_, b)), (_, e)) in pairs(host).zip(pairs(burn)).zip(pairs(exact)) {
        let (err_host, err_burn) = (distance(&h, &e), distance(&b, &e));
        let allowed = 4.0 * err_burn + norm(&e) / f64::from(1 << 20);
        assert!(
            err_host <= allowed,
            "{what} {name}: host error {err_host:.3e}, Burn f32 error {err_burn:.3e} (norm {:.3e})",
            norm(&e)
        );
    }
}

#[test]
fn critic_step_matches_burns_convolutions() {
    let steps = [Path::Host, Path::Burn, Path::Exact].map(critic_step);
    let [host, burn, exact] = steps;
    assert_as_accurate("critic", host, burn, exact);
}

#[test]
fn generator_step_matches_burns_convolutions() {
    let steps = [Path::Host, Path::Burn, Path::Exact].map(generator_step);
    let [host, burn, exact] = steps;
    assert_as_accurate("generator", host, burn, exact);
}
