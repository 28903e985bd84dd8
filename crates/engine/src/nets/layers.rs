//! The layers the networks are made of: dense and convolutional layers (PyTorch's weight layout
//! and initialisations), activations, and batch norm with PyTorch's statistics.

use crate::nets::spectral_norm::{SpectralNorm, as_matrix};
use crate::ops::conv;
use crate::ops::linear;
use burn::module::{Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use harness_core::config::InitScheme;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// How one layer's weight and bias are drawn: a [`InitScheme`]'s rule for that kind of layer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Init {
    /// PyTorch's default (`nn.Linear`, `nn.Conv2d`, `nn.ConvTranspose2d` `reset_parameters`,
    /// torch 2.15 `nn/modules/linear.py` l. 117, `conv.py` l. 182): `kaiming_uniform_(a =
    /// sqrt(5))`, i.e. `U(+-1/sqrt(fan_in))`, for the weight and the same bound for the bias;
    /// `fan_in` is computed by `init._calculate_fan_in_and_fan_out` from the weight's dim 1.
    Torch { fan_in: usize },
    /// tflib `he`: U(+-sqrt(6/fan_in)), bias 0 (WGAN-GP toy ReLU layers).
    He,
    /// tflib `glorot`: U(+-sqrt(6/(fan_in+fan_out))), bias 0.
    Glorot,
    /// tflib conv `he_init`: std sqrt(4/(fan_in+fan_out)), uniform, bias 0.
    ConvHe { fan_in: usize, fan_out: usize },
    /// DCGAN's `weights_init`: `N(0, 0.02)`, bias 0.
    Normal002,
}

/// Standard deviation of [`Init::Normal002`] and of the batch-norm gamma of `normal-0.02`.
pub(crate) const NORMAL_STD: f64 = 0.02;

/// `n` weights of a layer with the given fans, drawn from `rng`, and the bound of its uniform
/// bias (0: the bias is 0).
pub(crate) fn init_values(
    rng: &mut ChaCha8Rng,
    n: usize,
    fan_in: usize,
    fan_out: usize,
    init: Init,
) -> (Vec<f32>, f64) {
    let (bound, bias_bound) = match init {
        Init::Torch { fan_in } => {
            let b = 1.0 / (fan_in as f64).sqrt();
            (b, b)
        }
        Init::He => ((6.0 / fan_in as f64).sqrt(), 0.0),
        Init::Glorot => ((6.0 / (fan_in + fan_out) as f64).sqrt(), 0.0),
        Init::ConvHe { fan_in, fan_out } => {
            ((4.0 / (fan_in + fan_out) as f64).sqrt() * 3f64.sqrt(), 0.0)
        }
        Init::Normal002 => return (normal(rng, n, 0.0), 0.0),
    };
    let w = (0..n)
        .map(|_| rng.random_range(-bound..=bound) as f32)
        .collect();
    (w, bias_bound)
}

/// `n` draws from `N(mean, 0.02^2)`.
pub(crate) fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f64) -> Vec<f32> {
    let d = Normal::new(mean, NORMAL_STD).expect("a positive standard deviation");
    (0..n).map(|_| d.sample(rng) as f32).collect()
}

/// The rule of `scheme` for a dense layer with `d_in` inputs; `tf_he` says whether the
/// TensorFlow original draws it with He (its layers followed by a ReLU) rather than Glorot.
pub(crate) fn dense_init(scheme: InitScheme, d_in: usize, tf_he: bool) -> Init {
    match scheme {
        InitScheme::TfOriginal if tf_he => Init::He,
        InitScheme::TfOriginal => Init::Glorot,
        InitScheme::TorchDefault => Init::Torch { fan_in: d_in },
        InitScheme::Normal002 => Init::Normal002,
    }
}

pub(crate) fn param<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::<1>::from_floats(values.as_slice(), device).reshape(shape))
}

pub(crate) fn bias(
    rng: &mut ChaCha8Rng,
    n: usize,
    bound: f64,
    device: &Device,
) -> Param<Tensor<1>> {
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
    /// Spectral normalisation's state, on critic layers when it is on (see [`Critic::normalized`]).
    pub sn: Option<SpectralNorm>,
}

impl Dense {
    pub(crate) fn new(
        rng: &mut ChaCha8Rng,
        d_in: usize,
        d_out: usize,
        init: Init,
        device: &Device,
    ) -> Self {
        let (w, bb) = init_values(rng, d_in * d_out, d_in, d_out, init);
        Self {
            weight: param(w, [d_out, d_in], device),
            bias: bias(rng, d_out, bb, device),
            sn: None,
        }
    }

    /// This layer with the weight it computes with: `W / sigma` under spectral normalisation
    /// (no state: see [`Critic::normalized`]), else itself.
    pub(crate) fn normalized(&self) -> Self {
        Self {
            weight: effective(&self.weight, &self.sn),
            bias: self.bias.clone(),
            sn: None,
        }
    }

    /// `x W^T + b` (one host node on the CPU backends: see `linear_ops`).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        linear::linear(x, self.weight.val(), Some(self.bias.val()))
    }
}

/// A 5x5 stride-2 convolution (weight `[out, in, k, k]`) or transposed convolution
/// (weight `[in, out, k, k]`), padding 2, as in the WGAN-GP MNIST nets.
#[derive(Module, Debug)]
pub struct Conv {
    pub weight: Param<Tensor<4>>,
    pub bias: Param<Tensor<1>>,
    /// Spectral normalisation's state (critic convolutions, when it is on).
    pub sn: Option<SpectralNorm>,
}

/// `weight`, divided by its spectral norm estimate when `sn` is set.
pub(crate) fn effective<const D: usize>(
    weight: &Param<Tensor<D>>,
    sn: &Option<SpectralNorm>,
) -> Param<Tensor<D>> {
    match sn {
        Some(sn) => Param::initialized(weight.id, sn.normalize_weight(weight.val())),
        None => weight.clone(),
    }
}

pub(crate) const KERNEL: usize = 5;
pub(crate) const STRIDE: usize = 2;
pub(crate) const PAD: usize = 2;

impl Conv {
    pub(crate) fn new(
        rng: &mut ChaCha8Rng,
        c_in: usize,
        c_out: usize,
        transposed: bool,
        scheme: InitScheme,
        device: &Device,
    ) -> Self {
        let k2 = KERNEL * KERNEL;
        let init = match scheme {
            // tflib's conv2d/deconv2d he_init: the fans count the stride.
            InitScheme::TfOriginal => {
                let (fan_in, fan_out) = if transposed {
                    (c_in * k2 / (STRIDE * STRIDE), c_out * k2)
                } else {
                    (c_in * k2, c_out * k2 / (STRIDE * STRIDE))
                };
                Init::ConvHe { fan_in, fan_out }
            }
            // PyTorch's fan_in is the weight's dim 1 times the kernel area: the input channels
            // of a Conv2d ([out, in, k, k]), the *output* channels of a ConvTranspose2d
            // ([in, out, k, k]).
            InitScheme::TorchDefault => Init::Torch {
                fan_in: if transposed { c_out } else { c_in } * k2,
            },
            InitScheme::Normal002 => Init::Normal002,
        };
        let n = c_in * c_out * k2;
        let (w, bias_bound) = init_values(rng, n, 0, 0, init);
        let shape = if transposed {
            [c_in, c_out, KERNEL, KERNEL]
        } else {
            [c_out, c_in, KERNEL, KERNEL]
        };
        Self {
            weight: param(w, shape, device),
            bias: bias(rng, c_out, bias_bound, device),
            sn: None,
        }
    }

    /// As [`Dense::normalized`].
    pub(crate) fn normalized(&self) -> Self {
        Self {
            weight: effective(&self.weight, &self.sn),
            bias: self.bias.clone(),
            sn: None,
        }
    }

    /// Convolution of a CHWN tensor `[c, h, w, n]` (see `conv_ops`: samples innermost).
    pub(crate) fn conv(&self, x: Tensor<4>, with_bias: bool) -> Tensor<4> {
        let bias = with_bias.then(|| self.bias.val());
        conv::conv2d_chwn(x, self.weight.val(), bias, STRIDE, PAD)
    }

    /// Transposed convolution of a CHWN tensor with this layer's weight; `out_pad` picks the
    /// output size.
    pub(crate) fn deconv(&self, x: Tensor<4>, out_pad: usize, with_bias: bool) -> Tensor<4> {
        let bias = with_bias.then(|| self.bias.val());
        conv::conv_transpose2d_chwn(x, self.weight.val(), bias, STRIDE, PAD, out_pad)
    }
}

/// A layer whose weight spectral normalisation applies to (dense and convolutional layers).
pub(crate) trait Weighted {
    /// The stored weight as the matrix spectral normalisation works on.
    fn matrix(&self) -> Tensor<2>;
    fn sn(&self) -> &Option<SpectralNorm>;
    fn sn_mut(&mut self) -> &mut Option<SpectralNorm>;
}

impl Weighted for Dense {
    fn matrix(&self) -> Tensor<2> {
        self.weight.val()
    }
    fn sn(&self) -> &Option<SpectralNorm> {
        &self.sn
    }
    fn sn_mut(&mut self) -> &mut Option<SpectralNorm> {
        &mut self.sn
    }
}

impl Weighted for Conv {
    fn matrix(&self) -> Tensor<2> {
        as_matrix(self.weight.val())
    }
    fn sn(&self) -> &Option<SpectralNorm> {
        &self.sn
    }
    fn sn_mut(&mut self) -> &mut Option<SpectralNorm> {
        &mut self.sn
    }
}

/// Hidden activation of an MLP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    LeakyRelu,
}

pub(crate) const LEAK: f64 = 0.2;

impl Act {
    pub(crate) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
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
    pub(crate) fn mask<const D: usize>(self, a: Tensor<D>) -> Tensor<D> {
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
    pub(crate) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            OutAct::Linear => x,
            OutAct::Tanh => crate::ops::host::tanh(x),
            OutAct::Sigmoid => burn::tensor::activation::sigmoid(x),
        }
    }
}

/// `x` plus a zero leaf tensor, which is pushed onto `probes`: the value is `x`'s, and the
/// gradient of a loss with respect to the leaf is its gradient with respect to `x`. (Burn keeps
/// gradients of leaves only, so this is how the gradient at an activation inside the network
/// is read.) The leaf is flat; its gradient is `x`'s gradient flattened.
pub(crate) fn probe<const D: usize>(x: Tensor<D>, probes: &mut Vec<Tensor<1>>) -> Tensor<D> {
    let dims = x.dims();
    let leaf = Tensor::<1>::zeros([dims.iter().product::<usize>()], &x.device()).require_grad();
    probes.push(leaf.clone());
    x + leaf.reshape(dims)
}

/// Batch norm over `n` channels: gamma 1 (`N(1, 0.02)` under `normal-0.02`), beta 0, running
/// mean 0 and variance 1 (PyTorch's `_NormBase.reset_parameters`, Burn's default).
pub(crate) fn batch_norm(
    rng: &mut ChaCha8Rng,
    n: usize,
    scheme: InitScheme,
    device: &Device,
) -> BatchNorm {
    let mut bn = BatchNormConfig::new(n).init(device);
    if scheme == InitScheme::Normal002 {
        bn.gamma = param(normal(rng, n, 1.0), [n], device);
    }
    bn
}
