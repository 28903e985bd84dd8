//! Matrix products and linear layers on the host (the `gemm` crate) with their own backward
//! passes, for f32 on flex; the host convolutions (`conv_ops`) use the same pieces.
//!
//! Why: burn-flex 0.22.1 allocates every matmul output as a zeroed `Vec<u8>` and then copies it
//! into an aligned buffer (`FlexTensor::empty` -> `Bytes::from_bytes_vec`, whose alignment check
//! reads the `Vec`'s declared alignment, 1), so each product also pays a memset and a memcpy of
//! its output, and backward's products read transposed operands it first makes contiguous. In a
//! seed WGAN step that was 13% of the time (perf, flex, 2 cores), mostly in the weight gradients.
//! Here gemm writes each output once and reads every operand through its strides, and a linear
//! layer `y = x W^T + b` is one autodiff node whose backward writes `dW = g^T x` straight in the
//! weight's `[out, in]` layout. GPU backends, ndarray and other dtypes keep Burn's ops.

// ndarray is deprecated but still selectable (`--backend ndarray`); it runs the same kernels, and
// the extension macro's generated dispatch names it.
#![allow(deprecated)]

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, NdArray, backend_extension};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use std::ops::Deref;

/// Host access to a CPU backend's f32 tensors.
pub trait HostTensor: Backend {
    /// The values of `t` in row-major order (without a copy where the backend allows).
    fn host(t: FloatTensor<Self>) -> impl Deref<Target = [f32]>;
    /// A tensor of `shape` holding `values`.
    fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self>;
    /// A 2-D tensor as a strided matrix over its storage (a contiguous copy where the backend
    /// cannot lend its storage).
    fn matrix(t: FloatTensor<Self>) -> Matrix<impl Deref<Target = [f32]>> {
        let [rows, cols] = t.shape().dims();
        Matrix {
            values: Self::host(t),
            offset: 0,
            strides: (cols, 1),
            rows,
            cols,
        }
    }
}

/// A contiguous f32 Flex tensor, read in place.
struct FlexValues(FlexTensor);

impl Deref for FlexValues {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.0
            .as_slice::<f32>()
            .expect("contiguous f32 flex tensor")
    }
}

impl HostTensor for Flex {
    fn host(t: FloatTensor<Self>) -> impl Deref<Target = [f32]> {
        assert_eq!(t.dtype(), DType::F32, "host kernels are f32");
        if t.as_slice::<f32>().is_some() {
            FlexValues(t)
        } else {
            FlexValues(t.to_contiguous())
        }
    }

    fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self> {
        FlexTensor::from_data(TensorData::new(values, shape))
    }

    fn matrix(t: FloatTensor<Self>) -> Matrix<impl Deref<Target = [f32]>> {
        assert_eq!(t.dtype(), DType::F32, "host kernels are f32");
        let layout = t.layout();
        let t = if layout.has_positive_strides() && layout.num_dims() == 2 {
            t
        } else {
            t.to_contiguous()
        };
        let (rows, cols, rs, cs) = t.layout().as_2d_strides().expect("a matrix");
        Matrix {
            offset: t.layout().start_offset(),
            strides: (rs as usize, cs as usize),
            values: FlexStorage(t),
            rows,
            cols,
        }
    }
}

/// A Flex tensor's whole f32 storage, whatever view of it the tensor is.
struct FlexStorage(FlexTensor);

impl Deref for FlexStorage {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.0.storage::<f32>()
    }
}

impl HostTensor for NdArray {
    fn host(t: FloatTensor<Self>) -> impl Deref<Target = [f32]> {
        use burn::backend::ops::FloatTensorOps;
        burn::tensor::try_read_sync(NdArray::float_into_data(t))
            .expect("ndarray reads synchronously")
            .expect("ndarray tensor data")
            .into_vec::<f32>()
            .expect("host kernels are f32")
    }

    fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self> {
        use burn::backend::ops::FloatTensorOps;
        NdArray::float_from_data(TensorData::new(values, shape), &Default::default())
    }
}

/// `dst (+)= a b` for a row-major `dst [m, n]` with row stride `dst_rs`; `a [m, k]` and
/// `b [k, n]` are given by their (row, column) strides, so a transposed operand or a block of a
/// larger matrix costs nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (&mut [f32], usize),
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rs: usize, cs: usize, rows: usize, cols: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(
        last(dst_rs, 1, m, n) < dst.len() && dst_rs >= n,
        "gemm_into: destination out of bounds"
    );
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_rs).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the assert above keeps every destination element gemm writes inside `dst`, which
    // does not alias `a` or `b` (a `&mut` and two `&` borrows).
    unsafe {
        gemm_ptr(
            (m, n, k),
            (dst.as_mut_ptr(), dst_rs),
            accumulate,
            a,
            (a_rs, a_cs),
            b,
            (b_rs, b_cs),
        )
    }
}

/// `a b` into a fresh row-major `[m, n]`. gemm without accumulation writes every destination
/// element and reads none, so the buffer is not zeroed first (that memset was 5-7% of a toy GP
/// step).
fn gemm_fresh(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) -> Vec<f32> {
    if m == 0 || n == 0 || k == 0 {
        return vec![0.0; m * n];
    }
    let mut out = Vec::with_capacity(m * n);
    // SAFETY: `out` has room for the `m * n` elements of a row-major `[m, n]` (row stride `n`),
    // which gemm writes, every one, before `set_len` exposes them; it aliases nothing.
    unsafe {
        gemm_ptr(
            (m, n, k),
            (out.as_mut_ptr(), n),
            false,
            a,
            a_strides,
            b,
            b_strides,
        );
        out.set_len(m * n);
    }
    out
}

/// The gemm call behind [`gemm_into`] and [`gemm_fresh`], with `m, n, k > 0`; it checks the
/// operands' bounds.
///
/// # Safety
/// `dst` must be valid for writes (and, when `accumulate`, reads) of a row-major `[m, n]` with
/// row stride `dst_rs >= n`, and must not alias `a` or `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_ptr(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (*mut f32, usize),
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    let last = |rs: usize, cs: usize, rows: usize, cols: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(a_rs, a_cs, m, k) < a.len(), "gemm: lhs out of bounds");
    assert!(last(b_rs, b_cs, k, n) < b.len(), "gemm: rhs out of bounds");
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts keep every operand index inside `a` and `b`; the caller vouches for
    // `dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `dst [cols, rows] = src [rows, cols]^T` (the first `rows * cols` values of each).
pub(crate) fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    let len = rows * cols;
    ::transpose::transpose(&src[..len], &mut dst[..len], cols, rows);
}

/// A matrix read in place: element `(i, j)` is `values[offset + i * rs + j * cs]` where
/// `strides = (rs, cs)`.
pub struct Matrix<V> {
    values: V,
    offset: usize,
    strides: (usize, usize),
    rows: usize,
    cols: usize,
}

impl<V: Deref<Target = [f32]>> Matrix<V> {
    fn data(&self) -> &[f32] {
        &self.values[self.offset..]
    }

    /// The strides of the transpose (a view: nothing moves).
    fn t(&self) -> (usize, usize) {
        (self.strides.1, self.strides.0)
    }
}

/// `a b (+ bias)` as a row-major `[m, n]`, for `a [m, k]` and `b [k, n]` given by their data
/// and (row, column) strides; `bias` (`[n]`) is written first and gemm accumulates onto it.
///
/// gemm works column-major: it packs the operand whose rows run along the output's contiguous
/// dimension, which is cheap when that operand is contiguous along it or small, and a strided
/// gather otherwise. For a row-major output that operand is `b^T`; when `b` is a transposed view
/// (a linear layer's `W^T`) and gathering `a` and transposing the output moves fewer elements
/// than gathering `b`, the product is computed as `(b^T a^T)` into a `[n, m]` buffer and
/// transposed: gathering the weight of a 784 x 1024 layer on every call was 30% of a seed WGAN
/// step, while for a 512 x 512 layer at batch 256 the transpose costs as much as it saves.
fn product(
    (a, a_strides): (&[f32], (usize, usize)),
    (b, b_strides): (&[f32], (usize, usize)),
    (m, k, n): (usize, usize, usize),
    bias: Option<&[f32]>,
) -> Vec<f32> {
    if m == 0 || n == 0 {
        return Vec::new();
    }
    // Elements gathered either way; a transposed element costs about four gathered ones
    // (measured: at 2 x gathered + 2 per transposed element the toy GP case, 512 x 512 layers at
    // 128 rows per shard, swapped and ran 4% slower).
    let gathered = |strides: (usize, usize), len: usize| if strides.0 == 1 { 0 } else { len };
    let direct = if b_strides.1 == 1 { 0 } else { k * n };
    let swapped = gathered(a_strides, m * k) + 4 * m * n;
    if swapped >= direct {
        return with_bias(m, n, bias, false, |out| {
            gemm_into((m, n, k), (out, n), true, a, a_strides, b, b_strides)
        })
        .unwrap_or_else(|| gemm_fresh((m, n, k), a, a_strides, b, b_strides));
    }
    let flip = |(rs, cs): (usize, usize)| (cs, rs);
    let t = with_bias(n, m, bias, true, |t| {
        gemm_into(
            (n, m, k),
            (t, m),
            true,
            b,
            flip(b_strides),
            a,
            flip(a_strides),
        )
    })
    .unwrap_or_else(|| gemm_fresh((n, m, k), b, flip(b_strides), a, flip(a_strides)));
    let mut out = vec![0.0; m * n];
    transpose(&t, n, m, &mut out);
    out
}

/// A row-major `[rows, cols]` holding `bias` in every row (`per_row`: `bias[i]` along row `i`)
/// after `accumulate` added onto it; `None` without a bias.
fn with_bias(
    rows: usize,
    cols: usize,
    bias: Option<&[f32]>,
    per_row: bool,
    accumulate: impl FnOnce(&mut [f32]),
) -> Option<Vec<f32>> {
    let bias = bias?;
    let mut out = vec![0.0; rows * cols];
    for (i, row) in out.chunks_exact_mut(cols).enumerate() {
        if per_row {
            row.fill(bias[i]);
        } else {
            row.copy_from_slice(bias);
        }
    }
    accumulate(&mut out);
    Some(out)
}

/// Column sums of `g [m, n]` (a linear layer's bias gradient), rows added in order.
fn column_sums(g: &Matrix<impl Deref<Target = [f32]>>) -> Vec<f32> {
    let mut sums = vec![0.0f32; g.cols];
    let (rs, cs) = g.strides;
    let data = g.data();
    for i in 0..g.rows {
        for (j, s) in sums.iter_mut().enumerate() {
            *s += data[i * rs + j * cs];
        }
    }
    sums
}

fn linear_b<B: HostTensor>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let (x, w) = (B::matrix(x), B::matrix(weight));
    assert_eq!(
        w.cols, x.cols,
        "linear: x is [{}, {}], the weight [{}, {}]",
        x.rows, x.cols, w.rows, w.cols
    );
    let bias = bias.map(B::host);
    let dims = (x.rows, x.cols, w.rows);
    let y = product(
        (x.data(), x.strides),
        (w.data(), w.t()),
        dims,
        bias.as_deref(),
    );
    B::tensor(y, vec![dims.0, dims.2])
}

fn matmul_b<B: HostTensor>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    let (a, b) = (B::matrix(a), B::matrix(b));
    assert_eq!(
        a.cols, b.rows,
        "matmul: [{}, {}] x [{}, {}]",
        a.rows, a.cols, b.rows, b.cols
    );
    let dims = (a.rows, a.cols, b.cols);
    let c = product((a.data(), a.strides), (b.data(), b.strides), dims, None);
    B::tensor(c, vec![dims.0, dims.2])
}

/// The host products as a Burn backend extension: one autodiff node per op.
#[backend_extension(Flex, NdArray, Autodiff)]
pub trait LinearKernels: Backend {
    /// `x W^T + b`.
    fn host_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `x W^T`.
    fn host_linear_unbiased(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `a b`.
    fn host_matmul(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

macro_rules! host_linear_kernels {
    ($backend:ty) => {
        impl LinearKernels for $backend {
            fn host_linear(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                linear_b::<Self>(x, weight, Some(bias))
            }

            fn host_linear_unbiased(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                linear_b::<Self>(x, weight, None)
            }

            fn host_matmul(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
                matmul_b::<Self>(a, b)
            }
        }
    };
}

host_linear_kernels!(Flex);
host_linear_kernels!(NdArray);

/// Backward of `y = x W^T + b`: `dx = g W`, `dW = g^T x`, `db` the column sums of `g`.
#[derive(Debug)]
struct LinearBackward;

/// Backward of `c = a b`: `da = g b^T`, `db = a^T g`.
#[derive(Debug)]
struct MatmulBackward;

/// What both backward passes keep: the two matrix operands.
type Saved<B> = (FloatTensor<B>, FloatTensor<B>);

impl<B: HostTensor, const N: usize> Backward<B, N> for LinearBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let g = B::matrix(grads.consume::<B>(&ops.node));
        let (x, w) = (B::matrix(ops.state.0), B::matrix(ops.state.1));
        let (m, n, k) = (g.rows, g.cols, x.cols);
        if let Some(node) = &ops.parents[0] {
            let dx = product(
                (g.data(), g.strides),
                (w.data(), w.strides),
                (m, n, k),
                None,
            );
            grads.register::<B>(node.id, B::tensor(dx, vec![m, k]));
        }
        if let Some(node) = &ops.parents[1] {
            let dw = product((g.data(), g.t()), (x.data(), x.strides), (n, m, k), None);
            grads.register::<B>(node.id, B::tensor(dw, vec![n, k]));
        }
        if let Some(Some(node)) = ops.parents.get(2) {
            grads.register::<B>(node.id, B::tensor(column_sums(&g), vec![n]));
        }
    }
}

impl<B: HostTensor, const N: usize> Backward<B, N> for MatmulBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let g = B::matrix(grads.consume::<B>(&ops.node));
        let (a, b) = (B::matrix(ops.state.0), B::matrix(ops.state.1));
        let (m, k, n) = (a.rows, a.cols, b.cols);
        if let Some(node) = &ops.parents[0] {
            let da = product((g.data(), g.strides), (b.data(), b.t()), (m, n, k), None);
            grads.register::<B>(node.id, B::tensor(da, vec![m, k]));
        }
        if let Some(node) = &ops.parents[1] {
            let db = product((a.data(), a.t()), (g.data(), g.strides), (k, m, n), None);
            grads.register::<B>(node.id, B::tensor(db, vec![k, n]));
        }
    }
}

/// Records `op` over `parents`, keeping `saved` for its backward, and returns `out` as the
/// node's value (computed either way; `saved` is dropped when nothing upstream is tracked).
/// The host convolutions record their ops the same way.
pub(crate) fn record<B, C, K, const N: usize>(
    op: K,
    parents: [NodeGuard; N],
    saved: K::State,
    out: impl FnOnce() -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>>
where
    B: Backend,
    C: CheckpointStrategy,
    K: Backward<B, N>,
{
    match op.prepare::<C>(parents).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(saved, out()),
        OpsKind::UnTracked(prep) => prep.finish(out()),
    }
}

impl<B: HostTensor + LinearKernels, C: CheckpointStrategy> LinearKernels for Autodiff<B, C> {
    fn host_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let parents = [x.node(), weight.node(), bias.node()];
        let (x, w, b) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let saved = (x.clone(), w.clone());
        record::<B, C, _, 3>(LinearBackward, parents, saved, || {
            linear_b::<B>(x, w, Some(b))
        })
    }

    fn host_linear_unbiased(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let parents = [x.node(), weight.node()];
        let (x, w) = (x.into_primitive(), weight.into_primitive());
        let saved = (x.clone(), w.clone());
        record::<B, C, _, 2>(LinearBackward, parents, saved, || linear_b::<B>(x, w, None))
    }

    fn host_matmul(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let parents = [a.node(), b.node()];
        let (a, b) = (a.into_primitive(), b.into_primitive());
        let saved = (a.clone(), b.clone());
        record::<B, C, _, 2>(MatmulBackward, parents, saved, || matmul_b::<B>(a, b))
    }
}

/// Whether the host products run: f32 on flex. On ndarray they measured 20x slower than
/// Burn's own matmul (seed_wgan_clip 1.76 against 19.7 it/s), since reading a strided ndarray
/// tensor's values goes through an element-by-element copy; ndarray keeps Burn's ops.
fn on_host(tensors: &[&Tensor<2>]) -> bool {
    tensors
        .iter()
        .all(|t| crate::ops::host::on_host_f32(*t) && t.device().inner() == Device::flex())
}

/// `x W^T + b` (PyTorch's `F.linear`) for `x [m, k]`, `W [n, k]`: the host kernels on the CPU
/// backends, Burn's ops elsewhere (as `(W x^T)^T`, so the weight's gradient comes out of
/// backward in its own `[n, k]` layout).
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    let host = on_host(&[&x, &weight]) && bias.as_ref().is_none_or(crate::ops::host::on_host_f32);
    if !host {
        let y = weight.matmul(x.transpose()).transpose();
        return match bias {
            Some(b) => y + b.unsqueeze_dim(0),
            None => y,
        };
    }
    let (x, w) = (x.into_dispatch(), weight.into_dispatch());
    Tensor::from_dispatch(match bias {
        Some(b) => <Dispatch as LinearKernels>::host_linear(x, w, b.into_dispatch()),
        None => <Dispatch as LinearKernels>::host_linear_unbiased(x, w),
    })
}

/// `a b`: the host kernels on the CPU backends, Burn's `matmul` elsewhere.
pub fn matmul(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    if !on_host(&[&a, &b]) {
        return a.matmul(b);
    }
    Tensor::from_dispatch(<Dispatch as LinearKernels>::host_matmul(
        a.into_dispatch(),
        b.into_dispatch(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, shape: [usize; 2], dev: &Device) -> Tensor<2> {
        let v: Vec<f32> = (0..shape[0] * shape[1])
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        Tensor::<1>::from_floats(v.as_slice(), dev).reshape(shape)
    }

    fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().into_vec::<f32>().unwrap()
    }

    /// `ours` equals `burn` within f32 reassociation of sums of `n` products of magnitude below
    /// 1 (inputs are in [-1, 1]): `8 sqrt(n) u` per unit of magnitude, times `n`.
    fn assert_close(what: &str, ours: &[f32], burn: &[f32], n: usize) {
        assert_eq!(ours.len(), burn.len(), "{what}: lengths");
        let tol = 8.0 * (n as f32).sqrt() * f32::EPSILON * n as f32;
        for (i, (a, b)) in ours.iter().zip(burn).enumerate() {
            assert!(
                (a - b).abs() <= tol,
                "{what}[{i}]: ours {a}, Burn {b} (tol {tol})"
            );
        }
    }

    /// Values and gradients (of `sum(y * r)` w.r.t. every operand) of one op, ours or Burn's.
    fn outcome(
        op: &dyn Fn(&[Tensor<2>]) -> Tensor<2>,
        inputs: &[Tensor<2>],
        r: &Tensor<2>,
    ) -> Vec<Vec<f32>> {
        let tracked: Vec<Tensor<2>> = inputs.iter().map(|t| t.clone().require_grad()).collect();
        let y = op(&tracked);
        let grads = (y.clone() * r.clone()).sum().backward();
        let mut out = vec![vals(y)];
        out.extend(
            tracked
                .iter()
                .map(|t| vals(t.grad(&grads).expect("tracked"))),
        );
        out
    }

    /// [`linear`] and [`matmul`] against Burn's `matmul` on flex: values and every
    /// gradient, for contiguous and transposed operands, shapes that take both orientations of
    /// [`product`] (a wide weight gathered or swapped) and a degenerate inner size of 1.
    #[test]
    fn host_products_match_burns_values_and_gradients() {
        for device in [Device::flex().autodiff()] {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            for &(m, k, n) in &[(32, 300, 400), (128, 64, 64), (5, 1, 9), (17, 33, 1)] {
                let x = random(&mut rng, [m, k], &device);
                let w = random(&mut rng, [n, k], &device);
                let b = random(&mut rng, [1, n], &device);
                let r = random(&mut rng, [m, n], &device);
                let ours = outcome(
                    &|t| linear(t[0].clone(), t[1].clone(), Some(t[2].clone().reshape([n]))),
                    &[x.clone(), w.clone(), b.clone()],
                    &r,
                );
                let burn = outcome(
                    &|t| t[0].clone().matmul(t[1].clone().transpose()) + t[2].clone(),
                    &[x.clone(), w.clone(), b.clone()],
                    &r,
                );
                for (i, what) in ["y", "dx", "dW", "db"].iter().enumerate() {
                    assert_close(
                        &format!("linear {m}x{k}x{n} {what}"),
                        &ours[i],
                        &burn[i],
                        k.max(m),
                    );
                }
                // A product with a transposed left operand and a transposed right one.
                let (at, bt) = (
                    random(&mut rng, [k, m], &device),
                    random(&mut rng, [n, k], &device),
                );
                let ours = outcome(
                    &|t| matmul(t[0].clone().transpose(), t[1].clone().transpose()),
                    &[at.clone(), bt.clone()],
                    &r,
                );
                let burn = outcome(
                    &|t| t[0].clone().transpose().matmul(t[1].clone().transpose()),
                    &[at, bt],
                    &r,
                );
                for (i, what) in ["c", "da", "db"].iter().enumerate() {
                    assert_close(
                        &format!("matmul {m}x{k}x{n} {what}"),
                        &ours[i],
                        &burn[i],
                        k.max(n).max(m),
                    );
                }
            }
        }
    }

    /// A wrong product fails the comparison: one weight entry off by 0.05 shows in `y`.
    #[test]
    fn a_single_wrong_weight_is_detected() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (m, k, n) = (32, 300, 400);
        let x = random(&mut rng, [m, k], &device);
        let w = random(&mut rng, [n, k], &device);
        let mut wv = vals(w.clone());
        wv[5 * k + 7] += 0.05;
        let w_off = Tensor::<1>::from_floats(wv.as_slice(), &device).reshape([n, k]);
        let ours = vals(linear(x.clone(), w_off, None));
        let burn = vals(x.matmul(w.transpose()));
        let tol = 8.0 * (k as f32).sqrt() * f32::EPSILON * k as f32;
        assert!(ours.iter().zip(&burn).any(|(a, b)| (a - b).abs() > tol));
    }
}
