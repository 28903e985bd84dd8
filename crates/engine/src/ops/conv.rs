//! Strided 2-D convolutions and their transposes computed on the host (im2col + GEMM), with
//! their own backward passes, for f32 on the CPU backends.
//!
//! Why: Burn's CPU convolution runs one GEMM per sample, so the weight matrix is packed again for
//! every sample, and its weight gradient is a convolution over swapped batch and channel
//! dimensions with one small GEMM per input channel. Here each op is a few GEMMs over the whole
//! batch, and the weight gradient one accumulating GEMM per block of rows.
//!
//! Activations are `[c, h, w, n]` ("CHWN": samples innermost), not NCHW: then an im2col copy moves
//! a run of `n` samples, a GEMM's output columns (positions x samples) are the output tensor
//! itself, and no op transposes anything. The dcgan nets keep this layout from their first
//! convolution to their last.
//!
//! Every op is one of three products between a *big* grid (a convolution's input, a transposed
//! convolution's output) and a *small* grid, with the weight `W` as `[c_small, c_big * k * k]`
//! (PyTorch's layout for both: `Conv2d.weight` is `[out, in, k, k]`, `ConvTranspose2d.weight`
//! is `[in, out, k, k]`, and in both the first dimension is the small grid's channels):
//!
//! - [`down`]: `small = W cols(big)`, a convolution; also a transposed convolution's input gradient;
//! - [`up`]: `big = col2im(W^T small)`, a transposed convolution; also a convolution's input gradient;
//! - [`weight_grad`]: `dW = small cols(big)^T`, the weight gradient of both.
//!
//! `cols(big)` is the im2col matrix `[c_big * k * k, h * w * n]`. Autodiff sees each op as one
//! node (a Burn backend extension, [`ConvKernels`]) whose backward calls the other two, so the
//! input gradient of a critic, itself made of transposed convolutions, is differentiated the
//! same way. GPU backends, and dtypes other than f32, keep Burn's own convolutions.

// ndarray is deprecated but still selectable (`--backend ndarray`); it runs the same kernels, and
// the extension macro's generated dispatch names it.
#![allow(deprecated)]

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};

use crate::ops::linear::{HostTensor, gemm_into, record, transpose};
use burn::backend::NdArray;
use std::ops::Range;

/// Square kernel, equal strides and paddings on both axes, between a big grid and a small grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geom {
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    /// `[height, width]` of the big grid.
    pub big: [usize; 2],
    /// `[height, width]` of the small grid.
    pub small: [usize; 2],
}

impl Geom {
    /// The geometry of a convolution of a `big` grid (PyTorch's output size formula).
    pub fn conv(big: [usize; 2], kernel: usize, stride: usize, pad: usize) -> Self {
        let side = |b: usize| (b + 2 * pad - kernel) / stride + 1;
        Self {
            kernel,
            stride,
            pad,
            big,
            small: [side(big[0]), side(big[1])],
        }
    }

    /// The geometry of a transposed convolution of a `small` grid: the big grid is
    /// `(s - 1) * stride - 2 * pad + kernel + out_pad` on each side (PyTorch's formula).
    pub fn transposed(
        small: [usize; 2],
        kernel: usize,
        stride: usize,
        pad: usize,
        out_pad: usize,
    ) -> Self {
        let side = |s: usize| (s - 1) * stride + kernel + out_pad - 2 * pad;
        Self {
            kernel,
            stride,
            pad,
            big: [side(small[0]), side(small[1])],
            small,
        }
    }

    fn big_len(&self) -> usize {
        self.big[0] * self.big[1]
    }

    fn small_len(&self) -> usize {
        self.small[0] * self.small[1]
    }

    /// Small-grid positions `o` along one axis whose tap `t` lands inside the big grid:
    /// `0 <= o * stride + t - pad < big`.
    fn valid(&self, t: usize, small: usize, big: usize) -> std::ops::Range<usize> {
        let lo = self.pad.saturating_sub(t).div_ceil(self.stride);
        let hi = (big + self.pad)
            .checked_sub(t)
            .map_or(0, |r| r.div_ceil(self.stride));
        lo.min(small)..hi.min(small).max(lo.min(small))
    }
}

/// Columns (positions x samples) per GEMM block: enough to amortise packing the weight, few
/// enough to bound the im2col buffer. A block is whole output rows, at least one.
const BLOCK_COLUMNS: usize = 1024;

/// Work buffers reused across calls on each thread (their contents are overwritten before
/// use): allocating the im2col matrix afresh per call cost page faults and a memset.
#[derive(Default)]
struct Scratch {
    cols: Vec<f32>,
    weight: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// The first `len` values of `v`, grown if needed (contents unspecified).
fn buffer(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// Output rows of the small grid grouped by the kernel rows that land inside the big grid:
/// `(rows, taps)` pairs, in row order, each split into blocks of at most [`BLOCK_COLUMNS`]
/// columns (whole rows). A convolution's products with the padding are zero, so each group's
/// GEMM sums over its own taps only (conv3 of the critic, 7x7 to 4x4, then does 20% fewer
/// multiply-adds; conv2, 14x14 to 7x7, 9% fewer).
fn row_blocks(g: &Geom, n: usize) -> Vec<(Range<usize>, Range<usize>)> {
    let per = (BLOCK_COLUMNS / (g.small[1] * n).max(1)).max(1);
    let mut blocks: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for oh in 0..g.small[0] {
        let lo = g.pad.saturating_sub(oh * g.stride).min(g.kernel);
        let hi = (g.big[0] + g.pad)
            .saturating_sub(oh * g.stride)
            .clamp(lo, g.kernel);
        match blocks.last_mut() {
            Some((rows, taps)) if *taps == (lo..hi) && rows.len() < per => rows.end = oh + 1,
            _ => blocks.push((oh..oh + 1, lo..hi)),
        }
    }
    blocks
}

/// A weight `[c_small, c_big, k, k]` as `[c_small, k, k, c_big]`: the taps of consecutive kernel
/// rows are then one contiguous block of columns, which a row block's GEMM reads in place.
fn taps_major(w: &[f32], c_big: usize, k2: usize, out: &mut [f32]) {
    for (src, dst) in w
        .chunks_exact(c_big * k2)
        .zip(out.chunks_exact_mut(c_big * k2))
    {
        transpose(src, c_big, k2, dst);
    }
}

/// The inverse of [`taps_major`].
fn channels_major(w: &[f32], c_small: usize, c_big: usize, k2: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; c_small * c_big * k2];
    for (src, dst) in w
        .chunks_exact(c_big * k2)
        .zip(out.chunks_exact_mut(c_big * k2))
    {
        transpose(src, k2, c_big, dst);
    }
    out
}

/// im2col of one row block: `cols[(kh, kw, c), (oh, ow, s)] =
/// big[c, oh * stride + kh - pad, ow * stride + kw - pad, s]` for `kh` in `taps` and `oh` in
/// `rows` (all inside the grid by construction), zero where `ow` reaches the side padding.
/// `big` is CHWN with `n` samples.
fn im2col(
    big: &[f32],
    n: usize,
    c_big: usize,
    g: Geom,
    (rows, taps): &(Range<usize>, Range<usize>),
    cols: &mut [f32],
) {
    let (k, st) = (g.kernel, g.stride);
    let [bh, bw] = g.big;
    let sw = g.small[1];
    let t = rows.len() * sw * n;
    for (i, kh) in taps.clone().enumerate() {
        for kw in 0..k {
            let ok = g.valid(kw, sw, bw);
            for c in 0..c_big {
                let row = &mut cols[((i * k + kw) * c_big + c) * t..][..t];
                let plane = &big[c * bh * bw * n..][..bh * bw * n];
                for (oh, seg) in rows.clone().zip(row.chunks_exact_mut(sw * n)) {
                    let line = &plane[(oh * st + kh - g.pad) * bw * n..][..bw * n];
                    seg[..ok.start * n].fill(0.0);
                    seg[ok.end * n..].fill(0.0);
                    for ow in ok.clone() {
                        let iw = ow * st + kw - g.pad;
                        seg[ow * n..][..n].copy_from_slice(&line[iw * n..][..n]);
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry into the big grid position it came from.
fn col2im(
    cols: &[f32],
    n: usize,
    c_big: usize,
    g: Geom,
    (rows, taps): &(Range<usize>, Range<usize>),
    big: &mut [f32],
) {
    let (k, st) = (g.kernel, g.stride);
    let [bh, bw] = g.big;
    let sw = g.small[1];
    let t = rows.len() * sw * n;
    for (i, kh) in taps.clone().enumerate() {
        for kw in 0..k {
            let ok = g.valid(kw, sw, bw);
            for c in 0..c_big {
                let row = &cols[((i * k + kw) * c_big + c) * t..][..t];
                let plane = &mut big[c * bh * bw * n..][..bh * bw * n];
                for (oh, seg) in rows.clone().zip(row.chunks_exact(sw * n)) {
                    let line = &mut plane[(oh * st + kh - g.pad) * bw * n..][..bw * n];
                    for ow in ok.clone() {
                        let iw = ow * st + kw - g.pad;
                        let dst = &mut line[iw * n..][..n];
                        for (d, v) in dst.iter_mut().zip(&seg[ow * n..][..n]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// Adds `bias[c]` to every value of channel `c` of a CHWN tensor.
fn add_bias(x: &mut [f32], bias: Option<&[f32]>) {
    if let Some(b) = bias {
        let len = x.len() / b.len();
        for (plane, &v) in x.chunks_exact_mut(len).zip(b) {
            plane.iter_mut().for_each(|x| *x += v);
        }
    }
}

/// A convolution `big [c_big, H, W, n] -> small [c_small, h, w, n]` (CHWN) with weight
/// `[c_small, c_big, k, k]` and an optional bias `[c_small]`.
pub fn down(
    big: &[f32],
    n: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    c_small: usize,
    c_big: usize,
    g: Geom,
) -> Vec<f32> {
    let k2 = g.kernel * g.kernel;
    let (t, kk, row) = (g.small_len() * n, c_big * k2, g.small[1] * n);
    assert_eq!(big.len(), c_big * g.big_len() * n, "down: input size");
    assert_eq!(weight.len(), c_small * kk, "down: weight size");
    let mut out = vec![0.0f32; c_small * t];
    SCRATCH.with_borrow_mut(|sc| {
        let w = buffer(&mut sc.weight, c_small * kk);
        taps_major(weight, c_big, k2, w);
        for block in row_blocks(&g, n) {
            let (rows, taps) = &block;
            let (kb, tb) = (taps.len() * g.kernel * c_big, rows.len() * row);
            let cols = buffer(&mut sc.cols, kb * tb);
            im2col(big, n, c_big, g, &block, cols);
            let wb = &w[taps.start * g.kernel * c_big..];
            let dst = &mut out[rows.start * row..];
            gemm_into(
                (c_small, tb, kb),
                (dst, t),
                false,
                wb,
                (kk, 1),
                cols,
                (tb, 1),
            );
        }
    });
    add_bias(&mut out, bias);
    out
}

/// A transposed convolution `small [c_small, h, w, n] -> big [c_big, H, W, n]` (CHWN) with
/// weight `[c_small, c_big, k, k]` and an optional bias `[c_big]`.
pub fn up(
    small: &[f32],
    n: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    c_small: usize,
    c_big: usize,
    g: Geom,
) -> Vec<f32> {
    let k2 = g.kernel * g.kernel;
    let (t, kk, row) = (g.small_len() * n, c_big * k2, g.small[1] * n);
    assert_eq!(small.len(), c_small * t, "up: input size");
    assert_eq!(weight.len(), c_small * kk, "up: weight size");
    let mut out = vec![0.0f32; c_big * g.big_len() * n];
    SCRATCH.with_borrow_mut(|sc| {
        let w = buffer(&mut sc.weight, c_small * kk);
        taps_major(weight, c_big, k2, w);
        for block in row_blocks(&g, n) {
            let (rows, taps) = &block;
            let (kb, tb) = (taps.len() * g.kernel * c_big, rows.len() * row);
            let cols = buffer(&mut sc.cols, kb * tb);
            let wb = &w[taps.start * g.kernel * c_big..];
            let src = &small[rows.start * row..];
            gemm_into(
                (kb, tb, c_small),
                (cols, tb),
                false,
                wb,
                (1, kk),
                src,
                (t, 1),
            );
            col2im(cols, n, c_big, g, &block, &mut out);
        }
    });
    add_bias(&mut out, bias);
    out
}

/// The weight gradient `[c_small, c_big, k, k]` shared by a convolution (`small` is its output
/// gradient, `big` its input) and a transposed convolution (`small` is its input, `big` its
/// output gradient): `sum over samples and positions of small (x) cols(big)`. Both CHWN.
pub fn weight_grad(
    small: &[f32],
    big: &[f32],
    n: usize,
    c_small: usize,
    c_big: usize,
    g: Geom,
) -> Vec<f32> {
    let k2 = g.kernel * g.kernel;
    let (t, kk, row) = (g.small_len() * n, c_big * k2, g.small[1] * n);
    assert_eq!(small.len(), c_small * t, "weight_grad: small size");
    assert_eq!(big.len(), c_big * g.big_len() * n, "weight_grad: big size");
    SCRATCH.with_borrow_mut(|sc| {
        // Accumulated taps-major, then reordered to the weight's layout.
        let dw = buffer(&mut sc.weight, c_small * kk);
        dw.fill(0.0);
        for block in row_blocks(&g, n) {
            let (rows, taps) = &block;
            let (kb, tb) = (taps.len() * g.kernel * c_big, rows.len() * row);
            let cols = buffer(&mut sc.cols, kb * tb);
            im2col(big, n, c_big, g, &block, cols);
            let src = &small[rows.start * row..];
            let dst = &mut dw[taps.start * g.kernel * c_big..];
            gemm_into(
                (c_small, kb, tb),
                (dst, kk),
                true,
                src,
                (t, 1),
                cols,
                (1, tb),
            );
        }
        channels_major(dw, c_small, c_big, k2)
    })
}

/// The bias gradient `[c]` of a CHWN output gradient: its sum per channel.
pub fn bias_grad(g: &[f32], c: usize) -> Vec<f32> {
    g.chunks_exact(g.len() / c)
        .map(|plane| plane.iter().sum::<f32>())
        .collect()
}

fn dims4<B: Backend>(t: &FloatTensor<B>) -> [usize; 4] {
    t.shape().dims()
}

/// [`down`] on CHWN backend tensors; `geom` is `[kernel, stride, pad]`.
fn down_b<B: HostTensor>(
    big: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    [kernel, stride, pad]: [usize; 3],
) -> FloatTensor<B> {
    let [c_big, h, w, n] = dims4::<B>(&big);
    let [c_small, ..] = dims4::<B>(&weight);
    let g = Geom::conv([h, w], kernel, stride, pad);
    let bias = bias.map(B::host);
    let out = down(
        &B::host(big),
        n,
        &B::host(weight),
        bias.as_deref(),
        c_small,
        c_big,
        g,
    );
    B::tensor(out, vec![c_small, g.small[0], g.small[1], n])
}

/// [`up`] on CHWN backend tensors; `geom` is `[kernel, stride, pad, out_pad]`.
fn up_b<B: HostTensor>(
    small: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    [kernel, stride, pad, out_pad]: [usize; 4],
) -> FloatTensor<B> {
    let [_, h, w, _] = dims4::<B>(&small);
    let g = Geom::transposed([h, w], kernel, stride, pad, out_pad);
    up_to::<B>(small, weight, bias, g)
}

/// [`up`] on CHWN backend tensors onto the big grid of `g` (which fixes each axis' output
/// padding).
fn up_to<B: HostTensor>(
    small: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    g: Geom,
) -> FloatTensor<B> {
    let [c_small, _, _, n] = dims4::<B>(&small);
    let [_, c_big, ..] = dims4::<B>(&weight);
    let bias = bias.map(B::host);
    let out = up(
        &B::host(small),
        n,
        &B::host(weight),
        bias.as_deref(),
        c_small,
        c_big,
        g,
    );
    B::tensor(out, vec![c_big, g.big[0], g.big[1], n])
}

/// [`weight_grad`] on CHWN backend tensors; `geom` is `[kernel, stride, pad]`.
fn weight_grad_b<B: HostTensor>(
    small: FloatTensor<B>,
    big: FloatTensor<B>,
    [kernel, stride, pad]: [usize; 3],
) -> FloatTensor<B> {
    let [c_small, h, w, n] = dims4::<B>(&small);
    let [c_big, bh, bw, _] = dims4::<B>(&big);
    let g = Geom {
        kernel,
        stride,
        pad,
        big: [bh, bw],
        small: [h, w],
    };
    let dw = weight_grad(&B::host(small), &B::host(big), n, c_small, c_big, g);
    B::tensor(dw, vec![c_small, c_big, kernel, kernel])
}

fn bias_grad_b<B: HostTensor>(g: FloatTensor<B>) -> FloatTensor<B> {
    let c = dims4::<B>(&g)[0];
    B::tensor(bias_grad(&B::host(g), c), vec![c])
}

/// The host convolutions as a Burn backend extension: one autodiff node per op. (The extension
/// macro passes `Option`s of tensors through unconverted, so the ops without a bias are methods
/// of their own.)
#[backend_extension(Flex, NdArray, Autodiff)]
pub trait ConvKernels: Backend {
    /// Convolution with a bias; `geom` is `[kernel, stride, pad]`.
    fn host_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geom: [usize; 3],
    ) -> FloatTensor<Self>;

    /// Convolution without a bias.
    fn host_conv2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geom: [usize; 3],
    ) -> FloatTensor<Self>;

    /// Transposed convolution with a bias; `geom` is `[kernel, stride, pad, out_pad]`.
    fn host_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geom: [usize; 4],
    ) -> FloatTensor<Self>;

    /// Transposed convolution without a bias.
    fn host_conv_transpose2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geom: [usize; 4],
    ) -> FloatTensor<Self>;
}

/// The concrete CPU backends run the kernels directly.
macro_rules! host_conv_kernels {
    ($backend:ty) => {
        impl ConvKernels for $backend {
            fn host_conv2d(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                geom: [usize; 3],
            ) -> FloatTensor<Self> {
                down_b::<Self>(x, weight, Some(bias), geom)
            }

            fn host_conv2d_unbiased(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                geom: [usize; 3],
            ) -> FloatTensor<Self> {
                down_b::<Self>(x, weight, None, geom)
            }

            fn host_conv_transpose2d(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                geom: [usize; 4],
            ) -> FloatTensor<Self> {
                up_b::<Self>(x, weight, Some(bias), geom)
            }

            fn host_conv_transpose2d_unbiased(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                geom: [usize; 4],
            ) -> FloatTensor<Self> {
                up_b::<Self>(x, weight, None, geom)
            }
        }
    };
}

host_conv_kernels!(Flex);
host_conv_kernels!(NdArray);

/// Backward of a convolution: input gradient by [`up`], weight gradient by [`weight_grad`].
#[derive(Debug)]
struct ConvBackward;

/// Backward of a transposed convolution: input gradient by [`down`], weight gradient by
/// [`weight_grad`] with the roles of input and output gradient swapped.
#[derive(Debug)]
struct ConvTransposeBackward;

/// What a backward pass keeps: the op's input, its weight, and its `[kernel, stride, pad]`.
type Saved<B> = (FloatTensor<B>, FloatTensor<B>, [usize; 3]);

/// The parents of an op are its input, its weight and, where it has one (`N = 3`), its bias.
impl<B: HostTensor, const N: usize> Backward<B, N> for ConvBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let g = grads.consume::<B>(&ops.node);
        let (x, weight, [kernel, stride, pad]) = ops.state;
        if let Some(node) = &ops.parents[0] {
            // Back onto the input's grid (the output padding of each axis follows from it).
            let [_, h, w, _] = dims4::<B>(&x);
            let geom = Geom::conv([h, w], kernel, stride, pad);
            grads.register::<B>(node.id, up_to::<B>(g.clone(), weight, None, geom));
        }
        if let Some(node) = &ops.parents[1] {
            let dw = weight_grad_b::<B>(g.clone(), x, [kernel, stride, pad]);
            grads.register::<B>(node.id, dw);
        }
        if let Some(Some(node)) = ops.parents.get(2) {
            grads.register::<B>(node.id, bias_grad_b::<B>(g));
        }
    }
}

impl<B: HostTensor, const N: usize> Backward<B, N> for ConvTransposeBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let g = grads.consume::<B>(&ops.node);
        let (x, weight, geom) = ops.state;
        if let Some(node) = &ops.parents[0] {
            grads.register::<B>(node.id, down_b::<B>(g.clone(), weight, None, geom));
        }
        if let Some(node) = &ops.parents[1] {
            grads.register::<B>(node.id, weight_grad_b::<B>(x, g.clone(), geom));
        }
        if let Some(Some(node)) = ops.parents.get(2) {
            grads.register::<B>(node.id, bias_grad_b::<B>(g));
        }
    }
}

/// A convolution (`transposed = false`) or transposed convolution on tracked tensors: one
/// node whose parents are the input, the weight and the bias if any.
fn tracked<B: HostTensor, C: CheckpointStrategy>(
    transposed: bool,
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: Option<FloatTensor<Autodiff<B, C>>>,
    geom: [usize; 4],
) -> FloatTensor<Autodiff<B, C>> {
    let (xn, wn) = (x.node(), weight.node());
    let (x, weight) = (x.into_primitive(), weight.into_primitive());
    let [kernel, stride, pad, _] = geom;
    let saved = (x.clone(), weight.clone(), [kernel, stride, pad]);
    let bn = bias.as_ref().map(|b| b.node());
    let bias = bias.map(|b| b.into_primitive());
    let out = move || {
        if transposed {
            up_b::<B>(x, weight, bias, geom)
        } else {
            down_b::<B>(x, weight, bias, [kernel, stride, pad])
        }
    };
    match (transposed, bn) {
        (false, Some(bn)) => record::<B, C, _, 3>(ConvBackward, [xn, wn, bn], saved, out),
        (false, None) => record::<B, C, _, 2>(ConvBackward, [xn, wn], saved, out),
        (true, Some(bn)) => record::<B, C, _, 3>(ConvTransposeBackward, [xn, wn, bn], saved, out),
        (true, None) => record::<B, C, _, 2>(ConvTransposeBackward, [xn, wn], saved, out),
    }
}

impl<B: HostTensor + ConvKernels, C: CheckpointStrategy> ConvKernels for Autodiff<B, C> {
    fn host_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        [k, s, p]: [usize; 3],
    ) -> FloatTensor<Self> {
        tracked::<B, C>(false, x, weight, Some(bias), [k, s, p, 0])
    }

    fn host_conv2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        [k, s, p]: [usize; 3],
    ) -> FloatTensor<Self> {
        tracked::<B, C>(false, x, weight, None, [k, s, p, 0])
    }

    fn host_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geom: [usize; 4],
    ) -> FloatTensor<Self> {
        tracked::<B, C>(true, x, weight, Some(bias), geom)
    }

    fn host_conv_transpose2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geom: [usize; 4],
    ) -> FloatTensor<Self> {
        tracked::<B, C>(true, x, weight, None, geom)
    }
}

/// Whether the host kernels can run on these tensors (f32 on flex or ndarray).
fn on_host(tensors: &[&Tensor<4>], bias: &Option<Tensor<1>>) -> bool {
    tensors.iter().all(|t| crate::ops::host::on_host_f32(*t))
        && bias.as_ref().is_none_or(crate::ops::host::on_host_f32)
}

/// CHWN `[c, h, w, n]` to NCHW `[n, c, h, w]` and back (views).
fn nchw(x: Tensor<4>) -> Tensor<4> {
    x.permute([3, 0, 1, 2])
}

fn chwn(x: Tensor<4>) -> Tensor<4> {
    x.permute([1, 2, 3, 0])
}

/// `conv2d` of a CHWN tensor `[c, h, w, n]` (the result is CHWN too) with a square kernel,
/// equal stride and padding on both axes, no dilation or groups: the host kernels on the CPU
/// backends, Burn's op (on NCHW views) elsewhere.
pub fn conv2d_chwn(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    pad: usize,
) -> Tensor<4> {
    let kernel = weight.dims()[2];
    if !on_host(&[&x, &weight], &bias) {
        let opts = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        return chwn(conv2d(nchw(x), weight, bias, opts));
    }
    let (x, w, geom) = (
        x.into_dispatch(),
        weight.into_dispatch(),
        [kernel, stride, pad],
    );
    Tensor::from_dispatch(match bias {
        Some(b) => <Dispatch as ConvKernels>::host_conv2d(x, w, b.into_dispatch(), geom),
        None => <Dispatch as ConvKernels>::host_conv2d_unbiased(x, w, geom),
    })
}

/// `conv_transpose2d` of a CHWN tensor with the same restrictions as [`conv2d_chwn`] and an
/// output padding.
pub fn conv_transpose2d_chwn(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    pad: usize,
    out_pad: usize,
) -> Tensor<4> {
    let kernel = weight.dims()[2];
    if !on_host(&[&x, &weight], &bias) {
        let opts =
            ConvTransposeOptions::new([stride, stride], [pad, pad], [out_pad, out_pad], [1, 1], 1);
        return chwn(conv_transpose2d(nchw(x), weight, bias, opts));
    }
    let (x, w, geom) = (
        x.into_dispatch(),
        weight.into_dispatch(),
        [kernel, stride, pad, out_pad],
    );
    Tensor::from_dispatch(match bias {
        Some(b) => <Dispatch as ConvKernels>::host_conv_transpose2d(x, w, b.into_dispatch(), geom),
        None => <Dispatch as ConvKernels>::host_conv_transpose2d_unbiased(x, w, geom),
    })
}

#[cfg(test)]
mod tests;
