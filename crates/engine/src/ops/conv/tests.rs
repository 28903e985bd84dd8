use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn device() -> Device {
    Device::flex().autodiff()
}

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn tensor<const D: usize>(v: &[f32], shape: [usize; D], dev: &Device) -> Tensor<D> {
    Tensor::<1>::from_floats(v, dev).reshape(shape)
}

fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// An op's value and its gradients w.r.t. input, weight and bias, for the loss
/// `sum(y * r)` with a fixed random `r`.
struct Outcome {
    y: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

type Op = fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>) -> Tensor<4>;

fn run(op: Op, x: &Tensor<4>, w: &Tensor<4>, b: &Tensor<1>, r: &[f32]) -> Outcome {
    let (x, w, b) = (
        x.clone().require_grad(),
        w.clone().require_grad(),
        b.clone().require_grad(),
    );
    let y = op(x.clone(), w.clone(), Some(b.clone()));
    let rt = tensor(r, y.dims(), &y.device());
    let grads = (y.clone() * rt).sum().backward();
    Outcome {
        y: vals(y),
        dx: vals(x.grad(&grads).unwrap()),
        dw: vals(w.grad(&grads).unwrap()),
        db: vals(b.grad(&grads).unwrap()),
    }
}

/// Allowed difference between two f32 evaluations, in different orders, of a sum of `n`
/// products whose magnitudes add up to `abs_terms`: `2 lambda sqrt(n) u abs_terms`, the
/// probabilistic bound of Higham and Mary (SIAM J. Sci. Comput. 41(5), 2019, Theorem 3.1:
/// each evaluation is within `lambda sqrt(n) u` of the exact sum, relative to `abs_terms`,
/// with probability at least `1 - 2 exp(-lambda^2 / 2)` per value; lambda = 8 makes that
/// 1 - 3e-14). The worst-case bound `n u` would be too loose to notice a single missing
/// product; this one is not (see `a_single_wrong_product_is_detected`).
fn tolerance(abs_terms: f32, n: usize) -> f32 {
    let u = f32::EPSILON / 2.0;
    2.0 * 8.0 * (n as f32).sqrt() * u * abs_terms
}

/// Indices where `ours` differs from Burn's value by more than [`tolerance`]; `abs_terms`
/// is the same op evaluated by Burn on the magnitudes of all inputs.
fn violations(ours: &[f32], burn: &[f32], abs_terms: &[f32], n: usize) -> Vec<usize> {
    assert_eq!(ours.len(), burn.len());
    (0..ours.len())
        .filter(|&i| (ours[i] - burn[i]).abs() > tolerance(abs_terms[i], n))
        .collect()
}

/// Products summed per value: outputs sum over input channels x taps (+ bias), input
/// gradients over output channels x taps, weight and bias gradients over samples x
/// small-grid positions.
struct Terms {
    y: usize,
    dx: usize,
    dw: usize,
}

fn terms(x: [usize; 4], y: [usize; 4], k: usize) -> Terms {
    let small = (x[2] * x[3]).min(y[2] * y[3]);
    Terms {
        y: x[1] * k * k + 1,
        dx: y[1] * k * k,
        dw: x[0] * small,
    }
}

/// Compares one host op with Burn's on random data of the given shapes.
fn check(name: &str, ours: Op, burn: Op, x: [usize; 4], w: [usize; 4], bias: usize) {
    let dev = device();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let xv = random(&mut rng, x.iter().product());
    let wv = random(&mut rng, w.iter().product());
    let bv = random(&mut rng, bias);
    let xt = tensor(&xv, x, &dev);
    let wt = tensor(&wv, w, &dev);
    let bt = tensor(&bv, [bias], &dev);
    let y_dims = burn(xt.clone(), wt.clone(), None).dims();
    let rv = random(&mut rng, y_dims.iter().product());
    let got = run(ours, &xt, &wt, &bt, &rv);
    let want = run(burn, &xt, &wt, &bt, &rv);
    let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let mag = run(
        burn,
        &tensor(&abs(&xv), x, &dev),
        &tensor(&abs(&wv), w, &dev),
        &tensor(&abs(&bv), [bias], &dev),
        &abs(&rv),
    );
    let n = terms(x, y_dims, w[2]);
    for (what, a, b, m, n) in [
        ("value", &got.y, &want.y, &mag.y, n.y),
        ("d/dx", &got.dx, &want.dx, &mag.dx, n.dx),
        ("d/dw", &got.dw, &want.dw, &mag.dw, n.dw),
        ("d/db", &got.db, &want.db, &mag.db, n.dw),
    ] {
        let bad = violations(a, b, m, n);
        if let Some(&i) = bad.first() {
            panic!(
                "{name} {what}: {} of {} values differ, first [{i}]: ours {}, Burn {}, allowed {}",
                bad.len(),
                a.len(),
                a[i],
                b[i],
                tolerance(m[i], n)
            );
        }
    }
}

/// The tolerance is tight enough to notice one product of the largest sum changed by its
/// own size: conv3's weight entry at a corner tap, which only border outputs see.
#[test]
fn a_single_wrong_product_is_detected() {
    let dev = device();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (x, w) = ([2, 128, 7, 7], [256, 128, 5, 5]);
    let xv = random(&mut rng, x.iter().product());
    let mut wv = random(&mut rng, w.iter().product());
    let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let want = vals(burn_conv(tensor(&xv, x, &dev), tensor(&wv, w, &dev), None));
    let mag = vals(burn_conv(
        tensor(&abs(&xv), x, &dev),
        tensor(&abs(&wv), w, &dev),
        None,
    ));
    let n = terms(x, [2, 256, 4, 4], 5).y;
    let same = vals(ours_conv(tensor(&xv, x, &dev), tensor(&wv, w, &dev), None));
    assert!(violations(&same, &want, &mag, n).is_empty());
    wv[0] *= 2.0;
    let wrong = vals(ours_conv(tensor(&xv, x, &dev), tensor(&wv, w, &dev), None));
    assert!(!violations(&wrong, &want, &mag, n).is_empty());
}

fn ours_conv(x: Tensor<4>, w: Tensor<4>, b: Option<Tensor<1>>) -> Tensor<4> {
    nchw(conv2d_chwn(chwn(x), w, b, 2, 2))
}

fn burn_conv(x: Tensor<4>, w: Tensor<4>, b: Option<Tensor<1>>) -> Tensor<4> {
    conv2d(x, w, b, ConvOptions::new([2, 2], [2, 2], [1, 1], 1))
}

fn transposed(out_pad: usize) -> (Op, Op) {
    fn ours<const P: usize>(x: Tensor<4>, w: Tensor<4>, b: Option<Tensor<1>>) -> Tensor<4> {
        nchw(conv_transpose2d_chwn(chwn(x), w, b, 2, 2, P))
    }
    fn burn<const P: usize>(x: Tensor<4>, w: Tensor<4>, b: Option<Tensor<1>>) -> Tensor<4> {
        let opts = ConvTransposeOptions::new([2, 2], [2, 2], [P, P], [1, 1], 1);
        conv_transpose2d(x, w, b, opts)
    }
    match out_pad {
        0 => (ours::<0>, burn::<0>),
        _ => (ours::<1>, burn::<1>),
    }
}

/// The critic's three convolutions (DIM 64): 28 -> 14 -> 7 -> 4.
#[test]
fn convolutions_match_burn() {
    check(
        "conv1",
        ours_conv,
        burn_conv,
        [3, 1, 28, 28],
        [64, 1, 5, 5],
        64,
    );
    check(
        "conv2",
        ours_conv,
        burn_conv,
        [3, 64, 14, 14],
        [128, 64, 5, 5],
        128,
    );
    check(
        "conv3",
        ours_conv,
        burn_conv,
        [3, 128, 7, 7],
        [256, 128, 5, 5],
        256,
    );
}

/// The generator's transposed convolutions (output padding 1: 4 -> 8, 7 -> 14, 14 -> 28)
/// and the penalty's adjoint of conv3 (output padding 0: 4 -> 7).
#[test]
fn transposed_convolutions_match_burn() {
    let (ours1, burn1) = transposed(1);
    let (ours0, burn0) = transposed(0);
    check(
        "deconv1",
        ours1,
        burn1,
        [3, 256, 4, 4],
        [256, 128, 5, 5],
        128,
    );
    check("deconv2", ours1, burn1, [3, 128, 7, 7], [128, 64, 5, 5], 64);
    check("deconv3", ours1, burn1, [3, 64, 14, 14], [64, 1, 5, 5], 1);
    check(
        "conv3 adjoint",
        ours0,
        burn0,
        [3, 256, 4, 4],
        [256, 128, 5, 5],
        128,
    );
}

/// Odd sizes and a stride that does not divide them, on both sides of the tiling.
#[test]
fn other_geometries_match_burn() {
    fn conv3(x: Tensor<4>, w: Tensor<4>, b: Option<Tensor<1>>) -> Tensor<4> {
        nchw(conv2d_chwn(chwn(x), w, b, 3, 1))
    }
    fn burn3(x: Tensor<4>, w: Tensor<4>, b: Option<Tensor<1>>) -> Tensor<4> {
        conv2d(x, w, b, ConvOptions::new([3, 3], [1, 1], [1, 1], 1))
    }
    check("stride 3", conv3, burn3, [41, 3, 11, 9], [5, 3, 3, 3], 5);
    let (ours1, burn1) = transposed(1);
    check("many tiles", ours1, burn1, [70, 2, 3, 3], [2, 3, 5, 5], 3);
}

#[test]
fn geometry_follows_pytorch_sizes() {
    assert_eq!(Geom::conv([28, 28], 5, 2, 2).small, [14, 14]);
    assert_eq!(Geom::conv([7, 7], 5, 2, 2).small, [4, 4]);
    assert_eq!(Geom::transposed([4, 4], 5, 2, 2, 1).big, [8, 8]);
    assert_eq!(Geom::transposed([4, 4], 5, 2, 2, 0).big, [7, 7]);
    assert_eq!(Geom::transposed([14, 14], 5, 2, 2, 1).big, [28, 28]);
    // Taps that fall in the padding are skipped: the first output row sees input rows 0..3.
    let g = Geom::conv([7, 7], 5, 2, 2);
    assert_eq!(g.valid(0, 4, 7), 1..4);
    assert_eq!(g.valid(2, 4, 7), 0..4);
    assert_eq!(g.valid(4, 4, 7), 0..3);
    // Rows grouped by the kernel rows inside the grid: 20% fewer products for conv3.
    assert_eq!(
        row_blocks(&g, 64),
        vec![(0..1, 2..5), (1..3, 0..5), (3..4, 0..3)]
    );
    // Blocks of at most BLOCK_COLUMNS columns (whole rows): 7 x 64 = 448 per row.
    let conv2 = Geom::conv([14, 14], 5, 2, 2);
    assert_eq!(
        row_blocks(&conv2, 64),
        vec![
            (0..1, 2..5),
            (1..3, 0..5),
            (3..5, 0..5),
            (5..6, 0..5),
            (6..7, 0..4)
        ]
    );
}

/// The ndarray backend runs the same kernels.
#[test]
fn ndarray_gives_the_flex_values() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let xv = random(&mut rng, 2 * 4 * 7 * 7);
    let wv = random(&mut rng, 4 * 3 * 25);
    let go = |dev: Device| {
        let x = tensor(&xv, [4, 7, 7, 2], &dev).require_grad();
        let w = tensor(&wv, [4, 3, 5, 5], &dev).require_grad();
        let y = conv_transpose2d_chwn(x.clone(), w.clone(), None, 2, 2, 1);
        let grads = (y.clone() * y.clone()).sum().backward();
        (
            vals(y),
            vals(x.grad(&grads).unwrap()),
            vals(w.grad(&grads).unwrap()),
        )
    };
    assert_eq!(
        go(Device::flex().autodiff()),
        go(Device::ndarray().autodiff())
    );
}
