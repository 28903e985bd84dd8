//! Generator and critic networks, with the critic's input gradient written out explicitly.
//!
//! Burn has no double backward, so WGAN-GP cannot differentiate `grad_x C(x)` with respect to
//! the critic's weights by calling backward twice. Instead every critic provides
//! [`Critic::input_grad`]: the chain rule through each layer as ordinary tensor ops (transposed
//! matmuls, transposed convolutions) whose activation masks come from a detached forward pass.
//! The result is differentiable in the weights, so the penalty is backpropagated first-order.
//!
//! Weights are stored in PyTorch's layout (`Linear.weight` is `[out, in]`), so exported
//! safetensors load into the equivalent `nn.Sequential` unchanged. Initialisation draws from a
//! seeded host RNG, so a run starts from the same weights on every backend.

mod layers;
pub mod spectral_norm;
pub mod weights;

pub use layers::*;

use crate::data::{rng_for, streams};
use crate::nets::spectral_norm::SpectralNorm;
use crate::ops::conv;
use crate::ops::linear;
use burn::module::{Module, Param};
use burn::nn::BatchNorm;
use burn::prelude::*;
use harness_core::config::{CriticNorm, GOutput, InitScheme, NetShape, RunConfig};
use rand_chacha::ChaCha8Rng;

/// Side of an MNIST image, and the flattened size the data pipeline uses.
pub const IMAGE_SIDE: usize = 28;
pub const IMAGE_DIM: usize = IMAGE_SIDE * IMAGE_SIDE;

/// An MLP: `layers[..n-1]` followed by `act`, the last layer followed by `out`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Dense>,
    #[module(skip)]
    pub act: Act,
    #[module(skip)]
    pub out: OutAct,
}

impl Mlp {
    fn new(
        rng: &mut ChaCha8Rng,
        sizes: &[usize],
        act: Act,
        out: OutAct,
        scheme: InitScheme,
        device: &Device,
    ) -> Self {
        let n = sizes.len() - 1;
        let layers = (0..n)
            .map(|i| {
                // Every layer but the last is followed by `act`, a ReLU.
                let init = dense_init(scheme, sizes[i], i + 1 < n);
                Dense::new(rng, sizes[i], sizes[i + 1], init, device)
            })
            .collect();
        Self { layers, act, out }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        (0..self.layers.len()).fold(x, |x, i| self.layer(i, x))
    }

    /// Layer `i`'s output activation: its affine map, then `act` (`out` for the last layer).
    fn layer(&self, i: usize, x: Tensor<2>) -> Tensor<2> {
        let x = self.layers[i].forward(x);
        if i + 1 == self.layers.len() {
            self.out.apply(x)
        } else {
            self.act.apply(x)
        }
    }

    /// [`Mlp::forward`] with a probe on every layer's output activation (see [`probe`]).
    fn forward_probed(&self, x: Tensor<2>) -> (Tensor<2>, Vec<Tensor<1>>) {
        let mut probes = Vec::with_capacity(self.layers.len());
        let out = (0..self.layers.len()).fold(x, |x, i| probe(self.layer(i, x), &mut probes));
        (out, probes)
    }

    /// d out / d x for a scalar-output MLP with linear output, differentiable in the weights.
    fn input_grad(&self, x: Tensor<2>) -> Tensor<2> {
        let n = self.layers.len();
        let batch = x.dims()[0];
        let device = x.device();
        // A forward outside autodiff records the activation masks.
        let mut masks = Vec::with_capacity(n - 1);
        let mut h = x.without_autodiff();
        for l in &self.layers[..n - 1] {
            let a = linear::linear(
                h,
                l.weight.val().without_autodiff(),
                Some(l.bias.val().without_autodiff()),
            );
            // The activation is `a * mask` (the mask is computed once, not again inside apply).
            let m = self.act.mask(a.clone());
            h = a * m.clone();
            masks.push(m);
        }
        let last = &self.layers[n - 1];
        let mut g = linear::matmul(Tensor::<2>::ones([batch, 1], &device), last.weight.val());
        for (l, m) in self.layers[..n - 1].iter().zip(masks).rev() {
            g = linear::matmul(g * m, l.weight.val());
        }
        g
    }
}

/// WGAN-GP gan_mnist.py generator: 128 -> 4x4x4DIM -> 8x8 (cropped to 7x7) -> 14x14 -> 28x28.
#[derive(Module, Debug)]
pub struct ConvGenerator {
    pub input: Dense,
    pub deconv1: Conv,
    pub deconv2: Conv,
    pub deconv3: Conv,
    #[module(skip)]
    pub dim: usize,
    /// Image channels (1 on MNIST, 3 on Stacked MNIST).
    #[module(skip)]
    pub channels: usize,
    #[module(skip)]
    pub out: OutAct,
}

/// `x W^T + b` of a dense layer, transposed: `W x^T + b` as `[out, n]`, which is the CHWN
/// layout of the layer's output reshaped to `[c, h, w, n]` (and, for a layer after the
/// convolutions, `x^T` is their CHWN output flattened).
fn dense_t(l: &Dense, x_t: Tensor<2>) -> Tensor<2> {
    linear::matmul(l.weight.val(), x_t) + l.bias.val().unsqueeze_dim(1)
}

impl ConvGenerator {
    /// Activations between the layers are CHWN `[c, h, w, n]` (samples innermost, see
    /// `conv_ops`); the noise comes in and the samples go out as `[n, features]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let b = z.dims()[0];
        let relu = burn::tensor::activation::relu::<4>;
        let x = dense_t(&self.input, z.transpose()).reshape([4 * self.dim, 4, 4, b]);
        let x = relu(self.deconv1.deconv(relu(x), 1, true));
        let x = x.slice([0..2 * self.dim, 0..7, 0..7, 0..b]);
        let x = relu(self.deconv2.deconv(x, 1, true));
        let x = self.deconv3.deconv(x, 1, true);
        self.out
            .apply(x)
            .reshape([self.channels * IMAGE_DIM, b])
            .transpose()
    }
}

/// WGAN-GP gan_mnist.py critic: three 5x5 stride-2 convolutions (DIM, 2DIM, 4DIM) with
/// LeakyReLU 0.2, then a linear layer. By default no batch norm (the penalty is per sample);
/// `critic_norm = "batchnorm"` adds it after conv2 and conv3 as DCGAN/WGAN critics have it
/// (never after the first layer), for the objectives without a penalty.
#[derive(Module, Debug)]
pub struct ConvCritic {
    pub conv1: Conv,
    pub conv2: Conv,
    pub conv3: Conv,
    pub output: Dense,
    pub bn2: Option<BatchNorm>,
    pub bn3: Option<BatchNorm>,
    #[module(skip)]
    pub dim: usize,
    /// Image channels (1 on MNIST, 3 on Stacked MNIST).
    #[module(skip)]
    pub channels: usize,
}

/// A convolution and its batch norm, if any. A convolution followed by batch norm leaves its
/// bias out (`bias=False`, as DCGAN and the official WGAN code have it): batch norm subtracts the
/// per-channel batch mean, so the bias cancels exactly and its gradient is rounding noise, which
/// RMSprop and Adam turn into learning-rate-sized steps. The zero bias stays in the module,
/// untrained, so checkpoints keep their shape.
fn conv_norm(conv: &Conv, bn: &Option<BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    match bn {
        // Batch norm sees the CHWN activations as an NCHW view.
        Some(bn) => {
            batch_norm_torch(bn, conv.conv(x, false).permute([3, 0, 1, 2])).permute([1, 2, 3, 0])
        }
        None => conv.conv(x, true),
    }
}

impl ConvCritic {
    fn new(
        rng: &mut ChaCha8Rng,
        (dim, channels): (usize, usize),
        norm: Option<CriticNorm>,
        scheme: InitScheme,
        device: &Device,
    ) -> Self {
        let conv1 = Conv::new(rng, channels, dim, false, scheme, device);
        let conv2 = Conv::new(rng, dim, 2 * dim, false, scheme, device);
        let conv3 = Conv::new(rng, 2 * dim, 4 * dim, false, scheme, device);
        let init = dense_init(scheme, 4 * 4 * 4 * dim, false);
        let output = Dense::new(rng, 4 * 4 * 4 * dim, 1, init, device);
        let mut bn = |n: usize| {
            matches!(norm, Some(CriticNorm::BatchNorm)).then(|| batch_norm(rng, n, scheme, device))
        };
        let (bn2, bn3) = (bn(2 * dim), bn(4 * dim));
        ConvCritic {
            conv1,
            conv2,
            conv3,
            output,
            bn2,
            bn3,
            dim,
            channels,
        }
    }

    /// Activations between the layers are CHWN `[c, h, w, n]` (samples innermost, see
    /// `conv_ops`); batch norm sees them as NCHW views.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let b = x.dims()[0];
        let x = x
            .transpose()
            .reshape([self.channels, IMAGE_SIDE, IMAGE_SIDE, b]);
        let x = Act::LeakyRelu.apply(self.conv1.conv(x, true));
        let x = Act::LeakyRelu.apply(conv_norm(&self.conv2, &self.bn2, x));
        let x = Act::LeakyRelu.apply(conv_norm(&self.conv3, &self.bn3, x));
        dense_t(&self.output, x.reshape([4 * 4 * 4 * self.dim, b])).transpose()
    }

    /// [`ConvCritic::forward`] with a probe on every layer's output activation (see [`probe`]):
    /// after each convolution's LeakyReLU, and on the output.
    fn forward_probed(&self, x: Tensor<2>) -> (Tensor<2>, Vec<Tensor<1>>) {
        let mut p = Vec::with_capacity(4);
        let b = x.dims()[0];
        let x = x
            .transpose()
            .reshape([self.channels, IMAGE_SIDE, IMAGE_SIDE, b]);
        let x = probe(Act::LeakyRelu.apply(self.conv1.conv(x, true)), &mut p);
        let x = probe(
            Act::LeakyRelu.apply(conv_norm(&self.conv2, &self.bn2, x)),
            &mut p,
        );
        let x = probe(
            Act::LeakyRelu.apply(conv_norm(&self.conv3, &self.bn3, x)),
            &mut p,
        );
        let out = dense_t(&self.output, x.reshape([4 * 4 * 4 * self.dim, b])).transpose();
        (probe(out, &mut p), p)
    }

    fn input_grad(&self, x: Tensor<2>) -> Tensor<2> {
        // The config refuses batch norm with a penalty; a per-sample input gradient does not
        // exist when samples share batch statistics.
        assert!(
            self.bn2.is_none() && self.bn3.is_none(),
            "input gradient of a batch-norm critic is not per sample"
        );
        let b = x.dims()[0];
        let device = x.device();
        // CHWN throughout, as in `forward`.
        let d =
            x.without_autodiff()
                .transpose()
                .reshape([self.channels, IMAGE_SIDE, IMAGE_SIDE, b]);
        let detached = |c: &Conv, x: Tensor<4>| {
            let (w, b) = (
                c.weight.val().without_autodiff(),
                c.bias.val().without_autodiff(),
            );
            conv::conv2d_chwn(x, w, Some(b), STRIDE, PAD)
        };
        let a1 = detached(&self.conv1, d);
        let m1 = Act::LeakyRelu.mask(a1.clone());
        let a2 = detached(&self.conv2, a1 * m1.clone());
        let m2 = Act::LeakyRelu.mask(a2.clone());
        let a3 = detached(&self.conv3, a2 * m2.clone());
        let m3 = Act::LeakyRelu.mask(a3);
        // d out / d h3 for every sample: the output weight as a column, `[4 * 4 * 4 dim, n]`.
        let g = self
            .output
            .weight
            .val()
            .transpose()
            .matmul(Tensor::<2>::ones([1, b], &device));
        let g = g.reshape([4 * self.dim, 4, 4, b]) * m3;
        // Adjoint of a stride-2 conv: transposed conv with the same weight; the output padding
        // restores the input size (7 from 4, 14 from 7, 28 from 14).
        let g = self.conv3.deconv(g, 0, false) * m2;
        let g = self.conv2.deconv(g, 1, false) * m1;
        let g = self.conv1.deconv(g, 1, false);
        g.reshape([self.channels * IMAGE_DIM, b]).transpose()
    }
}

/// Batch norm as PyTorch's `BatchNorm2d` trains it: the batch is normalised with its biased
/// variance and the running variance is updated with the *unbiased* one (`n / (n - 1)` times
/// it, `n` values per channel). Burn's `BatchNorm` updates it with the biased variance, so its
/// running statistics, and a critic exported with them, would differ from PyTorch's.
fn batch_norm_torch(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        return bn.forward(x);
    }
    let [b, _, h, w] = x.dims();
    let n = (b * h * w) as f64;
    let device = x.device();
    let r = burn::tensor::module::batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let m = bn.momentum;
    let running = |s: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let old = s.value_sync().to_device(&device).mul_scalar(1.0 - m);
        s.update((old + batch.detach().mul_scalar(m)).detach());
    };
    running(&bn.running_mean, r.mean);
    running(&bn.running_var, r.variance.mul_scalar(n / (n - 1.0)));
    r.output
}

/// The generator of any model family.
// Boxing the larger variant would put a heap hop in front of every forward for no gain: there
// are two of these per run.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Generator {
    Mlp(Mlp),
    Conv(ConvGenerator),
}

/// The critic (discriminator) of any model family. Outputs one unbounded score (a logit for
/// GAN objectives) per sample, shape `[batch, 1]`.
#[allow(clippy::large_enum_variant)] // as for `Generator`
#[derive(Module, Debug)]
pub enum Critic {
    Mlp(Mlp),
    Conv(ConvCritic),
}

impl Generator {
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        match self {
            Generator::Mlp(m) => m.forward(z),
            Generator::Conv(c) => c.forward(z),
        }
    }

    /// Samples for `z` with the weights held constant, computed outside autodiff: no graph is
    /// recorded, which `no_grad` alone would still do op by op. The result is a constant on
    /// `z`'s device.
    pub fn sample(&self, z: Tensor<2>) -> Tensor<2> {
        let autodiff = z.is_autodiff();
        let x = constant(self).forward(z.without_autodiff());
        if autodiff { x.autodiff() } else { x }
    }
}

/// `module` with its parameters moved off autodiff (training flags kept, unlike `valid`).
fn constant<M: Module>(module: &M) -> M {
    struct Plain;
    impl burn::module::ModuleMapper for Plain {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(Tensor::without_autodiff)
        }
    }
    module.clone().map(&mut Plain)
}

impl Critic {
    /// Whether samples of a batch influence each other's scores (batch norm): then real and
    /// fake batches must be scored in separate passes, as the official WGAN code does.
    pub fn couples_batch(&self) -> bool {
        matches!(self, Critic::Conv(c) if c.bn2.is_some() || c.bn3.is_some())
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.check_normalized();
        match self {
            Critic::Mlp(m) => m.forward(x),
            Critic::Conv(c) => c.forward(x),
        }
    }

    /// The critic as it scores: each spectrally normalised layer's weight replaced by
    /// `W / sigma`, sigma from the stored `u` and `v` (no power iteration), differentiable in
    /// `W`; the copy carries no spectral-norm state. Forward passes and input gradients of a
    /// critic with spectral normalisation go through this (a debug build panics otherwise);
    /// gradients are then read off `self`'s parameters. A clone without spectral normalisation.
    pub fn normalized(&self) -> Critic {
        match self {
            Critic::Mlp(m) => Critic::Mlp(Mlp {
                layers: m.layers.iter().map(Dense::normalized).collect(),
                act: m.act,
                out: m.out,
            }),
            Critic::Conv(c) => Critic::Conv(ConvCritic {
                conv1: c.conv1.normalized(),
                conv2: c.conv2.normalized(),
                conv3: c.conv3.normalized(),
                output: c.output.normalized(),
                bn2: c.bn2.clone(),
                bn3: c.bn3.clone(),
                dim: c.dim,
                channels: c.channels,
            }),
        }
    }

    /// One power iteration of every spectrally normalised layer's `u` and `v` on its current
    /// weight (see [`crate::nets::spectral_norm`]); nothing without spectral normalisation.
    pub fn power_iteration(&mut self) {
        for l in self.weighted_mut() {
            let w = l.matrix();
            if let Some(sn) = l.sn_mut() {
                sn.power_iteration(&w);
            }
        }
    }

    /// Whether the critic's layers are spectrally normalised.
    pub fn has_spectral_norm(&self) -> bool {
        self.weighted().iter().any(|l| l.sn().is_some())
    }

    /// Spectral normalisation on every dense and convolutional layer (batch norm's scale is
    /// not a weight it applies to), its vectors initialised from `rng`.
    pub fn with_spectral_norm(mut self, rng: &mut ChaCha8Rng) -> Critic {
        for l in self.weighted_mut() {
            let w = l.matrix();
            *l.sn_mut() = Some(SpectralNorm::new(&w, rng));
        }
        self
    }

    /// Each layer's effective weight (after spectral normalisation when on) as the matrix
    /// spectral normalisation uses: `[out, in]` for dense layers, `[out, in * k * k]` for
    /// convolutions (not the convolution operator), named as [`Critic::layer_weights`].
    pub fn layer_matrices(&self) -> Vec<(String, Tensor<2>)> {
        let normalized = self.normalized();
        normalized
            .weighted()
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("{}", i + 1), l.matrix()))
            .collect()
    }

    /// The dense and convolutional layers, from the input.
    fn weighted(&self) -> Vec<&dyn Weighted> {
        match self {
            Critic::Mlp(m) => m.layers.iter().map(|l| l as &dyn Weighted).collect(),
            Critic::Conv(c) => vec![&c.conv1, &c.conv2, &c.conv3, &c.output],
        }
    }

    fn weighted_mut(&mut self) -> Vec<&mut dyn Weighted> {
        match self {
            Critic::Mlp(m) => m
                .layers
                .iter_mut()
                .map(|l| l as &mut dyn Weighted)
                .collect(),
            Critic::Conv(c) => vec![&mut c.conv1, &mut c.conv2, &mut c.conv3, &mut c.output],
        }
    }

    /// Scoring with the stored weights of a spectrally normalised critic would silently skip
    /// the normalisation: debug builds (the tests) refuse it.
    fn check_normalized(&self) {
        debug_assert!(
            !self.has_spectral_norm(),
            "a spectrally normalised critic scores through Critic::normalized()"
        );
    }

    /// The scores with a probe on every layer's output activation, in layer order from the
    /// input (the last is the output itself): after `loss.backward()`, `probe.grad(&grads)` is
    /// the gradient of the loss with respect to that layer's activations, flattened.
    pub fn forward_probed(&self, x: Tensor<2>) -> (Tensor<2>, Vec<Tensor<1>>) {
        self.check_normalized();
        match self {
            Critic::Mlp(m) => m.forward_probed(x),
            Critic::Conv(c) => c.forward_probed(x),
        }
    }

    /// grad_x C(x) for each sample, `[batch, data_dim]`, differentiable in the weights.
    pub fn input_grad(&self, x: Tensor<2>) -> Tensor<2> {
        self.check_normalized();
        match self {
            Critic::Mlp(m) => m.input_grad(x),
            Critic::Conv(c) => c.input_grad(x),
        }
    }

    /// Gradients of each layer's weight in `grads`, flattened, in layer order.
    pub fn layer_weight_grads(
        &self,
        grads: &burn::tensor::Gradients,
    ) -> Vec<(String, Option<Tensor<1>>)> {
        let g2 = |t: Tensor<2>| t.grad(grads).map(|g| g.flatten::<1>(0, 1));
        let g4 = |t: Tensor<4>| t.grad(grads).map(|g| g.flatten::<1>(0, 3));
        match self {
            Critic::Mlp(m) => m
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("{}", i + 1), g2(l.weight.val())))
                .collect(),
            Critic::Conv(c) => vec![
                ("1".into(), g4(c.conv1.weight.val())),
                ("2".into(), g4(c.conv2.weight.val())),
                ("3".into(), g4(c.conv3.weight.val())),
                ("4".into(), g2(c.output.weight.val())),
            ],
        }
    }

    /// The weight tensors in layer order (biases excluded), for per-layer statistics.
    pub fn layer_weights(&self) -> Vec<(String, Tensor<1>)> {
        let flat = |name: String, t: Tensor<2>| (name, t.flatten::<1>(0, 1));
        let flat4 = |name: String, t: Tensor<4>| (name, t.flatten::<1>(0, 3));
        match self {
            Critic::Mlp(m) => m
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| flat(format!("{}", i + 1), l.weight.val()))
                .collect(),
            Critic::Conv(c) => vec![
                flat4("1".into(), c.conv1.weight.val()),
                flat4("2".into(), c.conv2.weight.val()),
                flat4("3".into(), c.conv3.weight.val()),
                flat("4".into(), c.output.weight.val()),
            ],
        }
    }
}

/// A small MLP critic (`sizes` from input to 1), for tests and checks of the input gradient.
pub fn mlp_critic(rng: &mut ChaCha8Rng, sizes: &[usize], leaky: bool, device: &Device) -> Critic {
    let act = if leaky { Act::LeakyRelu } else { Act::Relu };
    Critic::Mlp(Mlp::new(
        rng,
        sizes,
        act,
        OutAct::Linear,
        InitScheme::TorchDefault,
        device,
    ))
}

/// The dcgan critic with base width `dim`, for tests and checks of the input gradient.
pub fn conv_critic(rng: &mut ChaCha8Rng, dim: usize, device: &Device) -> Critic {
    Critic::Conv(ConvCritic::new(
        rng,
        (dim, 1),
        None,
        InitScheme::TfOriginal,
        device,
    ))
}

/// Data dimension of a config's samples (784 for MNIST, 2 for toy sets).
pub fn data_dim(cfg: &RunConfig) -> usize {
    cfg.data().dim()
}

/// Build both networks for a config, initialised from `rng` by its [`InitScheme`]; spectral normalisation's vectors
/// are drawn from their own stream, so the weights are those of the same config without it.
pub fn build(cfg: &RunConfig, rng: &mut ChaCha8Rng, device: &Device) -> (Generator, Critic) {
    let (g, c) = build_nets(cfg, rng, device);
    if cfg.spectral_norm {
        let c = c.with_spectral_norm(&mut rng_for(cfg.seed, streams::SPECTRAL_NORM));
        (g, c)
    } else {
        (g, c)
    }
}

fn build_nets(cfg: &RunConfig, rng: &mut ChaCha8Rng, device: &Device) -> (Generator, Critic) {
    let scheme = cfg.init_scheme();
    let out = |g: GOutput| match g {
        GOutput::Tanh => OutAct::Tanh,
        GOutput::Sigmoid => OutAct::Sigmoid,
    };
    match cfg.shape() {
        NetShape::Mlp {
            z_dim,
            data_dim,
            g_hidden,
            c_hidden,
            g_output,
        } => {
            let gs = [&[z_dim][..], &g_hidden, &[data_dim]].concat();
            let cs = [&[data_dim][..], &c_hidden, &[1]].concat();
            let g = Mlp::new(rng, &gs, Act::Relu, out(g_output), scheme, device);
            let c = Mlp::new(rng, &cs, Act::LeakyRelu, OutAct::Linear, scheme, device);
            (Generator::Mlp(g), Critic::Mlp(c))
        }
        NetShape::ToyMlp {
            z_dim,
            data_dim,
            dim,
            depth,
        } => {
            let hidden = vec![dim; depth];
            let gs = [&[z_dim][..], &hidden, &[data_dim]].concat();
            let cs = [&[data_dim][..], &hidden, &[1]].concat();
            let g = Mlp::new(rng, &gs, Act::Relu, OutAct::Linear, scheme, device);
            let c = Mlp::new(rng, &cs, Act::Relu, OutAct::Linear, scheme, device);
            (Generator::Mlp(g), Critic::Mlp(c))
        }
        NetShape::Dcgan {
            z_dim,
            channels,
            dim,
            g_output,
            critic_norm,
        } => {
            // gan_mnist.py's input layer keeps tflib's default (Glorot) though a ReLU follows.
            let input_init = dense_init(scheme, z_dim, false);
            let g = ConvGenerator {
                input: Dense::new(rng, z_dim, 4 * 4 * 4 * dim, input_init, device),
                deconv1: Conv::new(rng, 4 * dim, 2 * dim, true, scheme, device),
                deconv2: Conv::new(rng, 2 * dim, dim, true, scheme, device),
                deconv3: Conv::new(rng, dim, channels, true, scheme, device),
                dim,
                channels,
                out: out(g_output),
            };
            let c = ConvCritic::new(rng, (dim, channels), critic_norm, scheme, device);
            (Generator::Conv(g), Critic::Conv(c))
        }
    }
}
