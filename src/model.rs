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

use crate::config::{CriticNorm, GOutput, Model, RunConfig};
use crate::conv_ops;
use burn::module::{Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Side of an MNIST image, and the flattened size the data pipeline uses.
pub const IMAGE_SIDE: usize = 28;
pub const IMAGE_DIM: usize = IMAGE_SIDE * IMAGE_SIDE;

/// How a layer's weights are initialised (the source each network comes from).
#[derive(Clone, Copy, Debug)]
enum Init {
    /// PyTorch `nn.Linear` default: U(+-1/sqrt(fan_in)) for weight and bias.
    Torch,
    /// tflib `he`: U(+-sqrt(6/fan_in)), bias 0 (WGAN-GP toy ReLU layers).
    He,
    /// tflib `glorot`: U(+-sqrt(6/(fan_in+fan_out))), bias 0.
    Glorot,
    /// tflib conv `he_init`: std sqrt(4/(fan_in+fan_out)), uniform, bias 0.
    ConvHe { fan_in: usize, fan_out: usize },
}

fn init_values(
    rng: &mut ChaCha8Rng,
    n: usize,
    fan_in: usize,
    fan_out: usize,
    init: Init,
) -> (Vec<f32>, f64) {
    let (bound, bias_bound) = match init {
        Init::Torch => {
            let b = 1.0 / (fan_in as f64).sqrt();
            (b, b)
        }
        Init::He => ((6.0 / fan_in as f64).sqrt(), 0.0),
        Init::Glorot => ((6.0 / (fan_in + fan_out) as f64).sqrt(), 0.0),
        Init::ConvHe { fan_in, fan_out } => {
            ((4.0 / (fan_in + fan_out) as f64).sqrt() * 3f64.sqrt(), 0.0)
        }
    };
    let w = (0..n)
        .map(|_| rng.random_range(-bound..=bound) as f32)
        .collect();
    (w, bias_bound)
}

fn param<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::<1>::from_floats(values.as_slice(), device).reshape(shape))
}

fn bias(rng: &mut ChaCha8Rng, n: usize, bound: f64, device: &Device) -> Param<Tensor<1>> {
    let v: Vec<f32> = if bound > 0.0 {
        (0..n)
            .map(|_| rng.random_range(-bound..=bound) as f32)
            .collect()
    } else {
        vec![0.0; n]
    };
    Param::from_tensor(Tensor::<1>::from_floats(v.as_slice(), device))
}

/// A fully connected layer, weight `[out, in]` as in PyTorch.
#[derive(Module, Debug)]
pub struct Dense {
    pub weight: Param<Tensor<2>>,
    pub bias: Param<Tensor<1>>,
}

impl Dense {
    fn new(rng: &mut ChaCha8Rng, d_in: usize, d_out: usize, init: Init, device: &Device) -> Self {
        let (w, bb) = init_values(rng, d_in * d_out, d_in, d_out, init);
        Self {
            weight: param(w, [d_out, d_in], device),
            bias: bias(rng, d_out, bb, device),
        }
    }

    /// `x W^T + b`, computed as `(W x^T)^T`: the weight is then the left operand, so its
    /// gradient `g^T x` comes out of backward in the weight's own `[out, in]` layout instead of
    /// as a transposed view that the optimiser would have to copy.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.weight.val().matmul(x.transpose()).transpose() + self.bias.val().unsqueeze_dim(0)
    }
}

/// A 5x5 stride-2 convolution (weight `[out, in, k, k]`) or transposed convolution
/// (weight `[in, out, k, k]`), padding 2, as in the WGAN-GP MNIST nets.
#[derive(Module, Debug)]
pub struct Conv {
    pub weight: Param<Tensor<4>>,
    pub bias: Param<Tensor<1>>,
}

const KERNEL: usize = 5;
const STRIDE: usize = 2;
const PAD: usize = 2;

impl Conv {
    fn new(
        rng: &mut ChaCha8Rng,
        c_in: usize,
        c_out: usize,
        transposed: bool,
        device: &Device,
    ) -> Self {
        let k2 = KERNEL * KERNEL;
        let (fan_in, fan_out) = if transposed {
            (c_in * k2 / (STRIDE * STRIDE), c_out * k2)
        } else {
            (c_in * k2, c_out * k2 / (STRIDE * STRIDE))
        };
        let n = c_in * c_out * k2;
        let (w, _) = init_values(rng, n, fan_in, fan_out, Init::ConvHe { fan_in, fan_out });
        let shape = if transposed {
            [c_in, c_out, KERNEL, KERNEL]
        } else {
            [c_out, c_in, KERNEL, KERNEL]
        };
        Self {
            weight: param(w, shape, device),
            bias: bias(rng, c_out, 0.0, device),
        }
    }

    /// Convolution of a CHWN tensor `[c, h, w, n]` (see `conv_ops`: samples innermost).
    fn conv(&self, x: Tensor<4>) -> Tensor<4> {
        conv_ops::conv2d_chwn(x, self.weight.val(), Some(self.bias.val()), STRIDE, PAD)
    }

    /// Transposed convolution of a CHWN tensor with this layer's weight; `out_pad` picks the
    /// output size.
    fn deconv(&self, x: Tensor<4>, out_pad: usize, with_bias: bool) -> Tensor<4> {
        let bias = with_bias.then(|| self.bias.val());
        conv_ops::conv_transpose2d_chwn(x, self.weight.val(), bias, STRIDE, PAD, out_pad)
    }
}

/// Hidden activation of an MLP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    LeakyRelu,
}

const LEAK: f64 = 0.2;

impl Act {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Act::Relu => burn::tensor::activation::relu(x),
            // `x * slope` with the slope (1 or LEAK) a constant computed outside autodiff: one
            // multiply forward and one backward, where Burn's default leaky_relu records a
            // compare, a scale and a select whose backward is two more selects.
            Act::LeakyRelu => {
                let slope = self.mask(x.clone().without_autodiff());
                x * slope
            }
        }
    }

    /// Derivative of the activation at pre-activation `a`: a 0/1 or 0.2/1 mask, as PyTorch's
    /// backward has it (the slope below zero also at zero).
    fn mask<const D: usize>(self, a: Tensor<D>) -> Tensor<D> {
        let pos = a.greater_elem(0.0).float();
        match self {
            Act::Relu => pos,
            Act::LeakyRelu => pos.mul_scalar(1.0 - LEAK).add_scalar(LEAK),
        }
    }
}

/// Output nonlinearity of a generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutAct {
    Linear,
    Tanh,
    Sigmoid,
}

impl OutAct {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            OutAct::Linear => x,
            OutAct::Tanh => crate::host_ops::tanh(x),
            OutAct::Sigmoid => burn::tensor::activation::sigmoid(x),
        }
    }
}

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
        inits: (Init, Init),
        device: &Device,
    ) -> Self {
        let n = sizes.len() - 1;
        let layers = (0..n)
            .map(|i| {
                let init = if i + 1 == n { inits.1 } else { inits.0 };
                Dense::new(rng, sizes[i], sizes[i + 1], init, device)
            })
            .collect();
        Self { layers, act, out }
    }

    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            x = l.forward(x);
            x = if i + 1 == n {
                self.out.apply(x)
            } else {
                self.act.apply(x)
            };
        }
        x
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
            let a = h.matmul(l.weight.val().without_autodiff().transpose())
                + l.bias.val().without_autodiff().unsqueeze_dim(0);
            // The activation is `a * mask` (the mask is computed once, not again inside apply).
            let m = self.act.mask(a.clone());
            h = a * m.clone();
            masks.push(m);
        }
        let last = &self.layers[n - 1];
        let mut g = Tensor::<2>::ones([batch, 1], &device).matmul(last.weight.val());
        for (l, m) in self.layers[..n - 1].iter().zip(masks).rev() {
            g = (g * m).matmul(l.weight.val());
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
    #[module(skip)]
    pub out: OutAct,
}

/// `x W^T + b` of a dense layer, transposed: `W x^T + b` as `[out, n]`, which is the CHWN
/// layout of the layer's output reshaped to `[c, h, w, n]` (and, for a layer after the
/// convolutions, `x^T` is their CHWN output flattened).
fn dense_t(l: &Dense, x_t: Tensor<2>) -> Tensor<2> {
    l.weight.val().matmul(x_t) + l.bias.val().unsqueeze_dim(1)
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
        self.out.apply(x).reshape([IMAGE_DIM, b]).transpose()
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
}

impl ConvCritic {
    fn new(rng: &mut ChaCha8Rng, dim: usize, norm: Option<CriticNorm>, device: &Device) -> Self {
        let bn = |n: usize| {
            matches!(norm, Some(CriticNorm::BatchNorm))
                .then(|| BatchNormConfig::new(n).init(device))
        };
        ConvCritic {
            conv1: Conv::new(rng, 1, dim, false, device),
            conv2: Conv::new(rng, dim, 2 * dim, false, device),
            conv3: Conv::new(rng, 2 * dim, 4 * dim, false, device),
            output: Dense::new(rng, 4 * 4 * 4 * dim, 1, Init::Glorot, device),
            bn2: bn(2 * dim),
            bn3: bn(4 * dim),
            dim,
        }
    }

    /// Activations between the layers are CHWN `[c, h, w, n]` (samples innermost, see
    /// `conv_ops`); batch norm sees them as NCHW views.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let b = x.dims()[0];
        let norm = |bn: &Option<BatchNorm>, x: Tensor<4>| match bn {
            Some(bn) => bn.forward(x.permute([3, 0, 1, 2])).permute([1, 2, 3, 0]),
            None => x,
        };
        let x = x.transpose().reshape([1, IMAGE_SIDE, IMAGE_SIDE, b]);
        let x = Act::LeakyRelu.apply(self.conv1.conv(x));
        let x = Act::LeakyRelu.apply(norm(&self.bn2, self.conv2.conv(x)));
        let x = Act::LeakyRelu.apply(norm(&self.bn3, self.conv3.conv(x)));
        dense_t(&self.output, x.reshape([4 * 4 * 4 * self.dim, b])).transpose()
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
        let d = x
            .without_autodiff()
            .transpose()
            .reshape([1, IMAGE_SIDE, IMAGE_SIDE, b]);
        let detached = |c: &Conv, x: Tensor<4>| {
            let (w, b) = (
                c.weight.val().without_autodiff(),
                c.bias.val().without_autodiff(),
            );
            conv_ops::conv2d_chwn(x, w, Some(b), STRIDE, PAD)
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
        g.reshape([IMAGE_DIM, b]).transpose()
    }
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
        match self {
            Critic::Mlp(m) => m.forward(x),
            Critic::Conv(c) => c.forward(x),
        }
    }

    /// grad_x C(x) for each sample, `[batch, data_dim]`, differentiable in the weights.
    pub fn input_grad(&self, x: Tensor<2>) -> Tensor<2> {
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
        (Init::Torch, Init::Torch),
        device,
    ))
}

/// The dcgan critic with base width `dim`, for tests and checks of the input gradient.
pub fn conv_critic(rng: &mut ChaCha8Rng, dim: usize, device: &Device) -> Critic {
    Critic::Conv(ConvCritic::new(rng, dim, None, device))
}

/// Data dimension of a config's samples (784 for MNIST, 2 for toy sets).
pub fn data_dim(cfg: &RunConfig) -> usize {
    if cfg.is_toy() { 2 } else { IMAGE_DIM }
}

/// Build both networks for a config, initialised from `rng`.
pub fn build(cfg: &RunConfig, rng: &mut ChaCha8Rng, device: &Device) -> (Generator, Critic) {
    let z = cfg.z_dim as usize;
    let out = match cfg.g_output {
        Some(GOutput::Tanh) => OutAct::Tanh,
        Some(GOutput::Sigmoid) => OutAct::Sigmoid,
        None => OutAct::Linear,
    };
    match cfg.model {
        Model::Mlp => {
            let mut gs = vec![z];
            gs.extend(cfg.g_hidden.iter().flatten().map(|&h| h as usize));
            gs.push(IMAGE_DIM);
            let mut cs = vec![IMAGE_DIM];
            cs.extend(cfg.c_hidden.iter().flatten().map(|&h| h as usize));
            cs.push(1);
            let g = Mlp::new(rng, &gs, Act::Relu, out, (Init::Torch, Init::Torch), device);
            let c = Mlp::new(
                rng,
                &cs,
                Act::LeakyRelu,
                OutAct::Linear,
                (Init::Torch, Init::Torch),
                device,
            );
            (Generator::Mlp(g), Critic::Mlp(c))
        }
        Model::ToyMlp => {
            let dim = cfg.dim.unwrap_or(512) as usize;
            let depth = cfg.depth.unwrap_or(3) as usize;
            let mut gs = vec![z];
            gs.extend(std::iter::repeat_n(dim, depth));
            gs.push(2);
            let mut cs = vec![2];
            cs.extend(std::iter::repeat_n(dim, depth));
            cs.push(1);
            let g = Mlp::new(
                rng,
                &gs,
                Act::Relu,
                OutAct::Linear,
                (Init::He, Init::Glorot),
                device,
            );
            let c = Mlp::new(
                rng,
                &cs,
                Act::Relu,
                OutAct::Linear,
                (Init::He, Init::Glorot),
                device,
            );
            (Generator::Mlp(g), Critic::Mlp(c))
        }
        Model::Dcgan => {
            let dim = cfg.dim.unwrap_or(64) as usize;
            let g = ConvGenerator {
                input: Dense::new(rng, z, 4 * 4 * 4 * dim, Init::Glorot, device),
                deconv1: Conv::new(rng, 4 * dim, 2 * dim, true, device),
                deconv2: Conv::new(rng, 2 * dim, dim, true, device),
                deconv3: Conv::new(rng, dim, 1, true, device),
                dim,
                out,
            };
            let c = ConvCritic::new(rng, dim, cfg.critic_norm, device);
            (Generator::Conv(g), Critic::Conv(c))
        }
    }
}
