//! A whole dcgan WGAN-GP critic step and generator step with the host convolution kernels
//! (`conv_ops`) against the same step written with Burn's own convolutions, as the networks
//! computed them before the kernels existed: same weights, same data, compared loss by loss and
//! gradient by gradient.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use gan_harness::config::{Dataset, Loss, Model, Profile, RunSpec};
use gan_harness::loss;
use gan_harness::model::{self, Conv, ConvCritic, ConvGenerator, Critic, Generator};
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
    match model::build(&cfg, &mut rng, &device()) {
        (Generator::Conv(g), Critic::Conv(c)) => (g, c),
        _ => unreachable!("a dcgan config builds conv nets"),
    }
}

fn random(rng: &mut ChaCha8Rng, rows: usize, cols: usize, lo: f32, hi: f32) -> Tensor<2> {
    let v: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::<1>::from_floats(v.as_slice(), &device()).reshape([rows, cols])
}

fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
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
    a.greater_elem(0.0).float().mul_scalar(0.8).add_scalar(0.2)
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
    let g = Tensor::<2>::ones([b, 1], &device()).matmul(c.output.weight.val());
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

/// Gradients of the losses w.r.t. every parameter of the differentiated network, in order.
struct Step {
    losses: Vec<f32>,
    grads: Vec<(String, Vec<f32>)>,
}

fn grad_of<const D: usize>(
    name: &str,
    p: &Param<Tensor<D>>,
    g: &burn::tensor::Gradients,
) -> (String, Vec<f32>) {
    let t = p
        .val()
        .grad(g)
        .unwrap_or_else(|| panic!("{name} has a gradient"));
    (name.into(), vals(t))
}

fn critic_grads(c: &ConvCritic, g: &burn::tensor::Gradients) -> Vec<(String, Vec<f32>)> {
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
) -> Vec<(String, Vec<f32>)> {
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

/// The critic's WGAN-GP loss on real and fake data and its gradients, through either path.
fn critic_step(host: bool) -> Step {
    let (generator, critic) = nets();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let real = random(&mut rng, BATCH, 784, 0.0, 1.0);
    let z = random(&mut rng, BATCH, 128, -2.0, 2.0);
    let eps = random(&mut rng, BATCH, 1, 0.0, 1.0);
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
    let base = loss::critic_loss(Loss::WganGp, score(real.clone()), score(fake.clone()));
    let x_hat = real * eps.clone() + fake * eps.neg().add_scalar(1.0);
    let input_grad = if host {
        Critic::Conv(critic.clone()).input_grad(x_hat)
    } else {
        burn_input_grad(&critic, x_hat)
    };
    let (pen, _) = loss::penalty(Loss::WganGp, 10.0, input_grad);
    let grads = (base.clone() + pen.clone()).backward();
    Step {
        losses: vec![base.into_scalar::<f32>(), pen.into_scalar::<f32>()],
        grads: critic_grads(&critic, &grads),
    }
}

/// The generator's loss through the critic and its gradients, through either path.
fn generator_step(host: bool) -> Step {
    let (generator, critic) = nets();
    let critic = critic.no_grad();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let z = random(&mut rng, BATCH, 128, -2.0, 2.0);
    let scores = if host {
        Critic::Conv(critic).forward(Generator::Conv(generator.clone()).forward(z))
    } else {
        burn_critic(&critic, burn_generator(&generator, z))
    };
    let l = loss::generator_loss(Loss::WganGp, scores);
    let grads = l.backward();
    Step {
        losses: vec![l.into_scalar::<f32>()],
        grads: generator_grads(&generator, &grads),
    }
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt()
}

/// Losses within 1e-5 relative, and every parameter gradient within 1e-4 in relative L2 norm.
///
/// Why these tolerances: each host op agrees with Burn's to within the rounding of its sums
/// (`conv_ops` tests: about 1e-6 of the operands' magnitudes at these sizes); a step chains
/// about a dozen such ops and the penalty squares the input gradient's norm, so differences of
/// order 1e-5 of a tensor's scale are reassociation. A LeakyReLU mask can flip where a
/// pre-activation lies within that rounding of zero, which changes single gradient entries
/// but hardly their norm, hence the norm. A wrong index, tap or sign gives differences of
/// order 1.
fn assert_same(what: &str, ours: Step, burn: Step) {
    for (a, b) in ours.losses.iter().zip(&burn.losses) {
        let rel = ((a - b).abs() / b.abs().max(1e-12)) as f64;
        assert!(rel <= 1e-5, "{what} loss: ours {a}, Burn {b}");
    }
    // A gradient that is zero by the loss's structure (the critic's output bias cancels in
    // E[C(fake)] - E[C(real)]) is compared on the scale of the largest one.
    let largest = burn.grads.iter().map(|(_, g)| norm(g)).fold(0.0, f64::max);
    assert!(largest > 0.0, "{what}: all gradients are zero");
    for ((name, a), (_, b)) in ours.grads.iter().zip(&burn.grads) {
        let diff: Vec<f32> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let rel = norm(&diff) / norm(b).max(1e-6 * largest);
        assert!(
            rel <= 1e-4,
            "{what} d/d{name}: relative difference {rel:.2e}"
        );
    }
}

#[test]
fn critic_step_matches_burns_convolutions() {
    assert_same("critic", critic_step(true), critic_step(false));
}

#[test]
fn generator_step_matches_burns_convolutions() {
    assert_same("generator", generator_step(true), generator_step(false));
}
