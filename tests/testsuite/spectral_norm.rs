//! Spectral normalisation (`spectral_norm = true`) and `sigma_max`: the power iteration against
//! a hand computation, its estimate against an SVD, the exact SVD against known matrices, how
//! many iterations a training step performs, and that the vectors are checkpointed.

use burn::module::{Param, ParamId};
use burn::prelude::*;
use harness_core::config::{Dataset, Model, Objective, Penalty, RunConfig, RunSpec};
use harness_engine::measure::spectral_norms;
use harness_engine::nets::spectral_norm::{SpectralNorm, as_matrix, largest_singular_value};
use harness_engine::nets::{self, Critic};
use harness_engine::train::Engine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn device() -> Device {
    Device::flex().autodiff()
}

fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn t2(v: &[f32], rows: usize, d: &Device) -> Tensor<2> {
    Tensor::<1>::from_floats(v, d).reshape([rows, v.len() / rows])
}

fn vector(v: &[f32], d: &Device) -> Param<Tensor<1>> {
    Param::initialized(ParamId::new(), Tensor::<1>::from_floats(v, d))
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

/// The SVD's largest singular value of matrices whose singular values are known.
#[test]
fn largest_singular_value_of_known_matrices() {
    // [[3, 0], [4, 5]]: A^T A = [[25, 20], [20, 25]], eigenvalues 45 and 5.
    let s = largest_singular_value(2, 2, &[3.0, 0.0, 4.0, 5.0]);
    assert!(close(s, 45f64.sqrt(), 1e-12), "{s}");
    let s = largest_singular_value(3, 3, &[0.5, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 1.0]);
    assert!(close(s, 2.0, 1e-12), "{s}");
    // Wide and tall orientations of the same matrix.
    let wide = [1.0, 0.0, 0.0, 0.0, 0.0, 2.5];
    let tall = [1.0, 0.0, 0.0, 0.0, 0.0, 2.5];
    assert!(close(largest_singular_value(2, 3, &wide), 2.5, 1e-12));
    assert!(close(largest_singular_value(3, 2, &tall), 2.5, 1e-12));
}

/// One power iteration on W = [[1, 2], [3, 4]] from v = (1, 0): u = W v / |W v| = (1, 3) / √10,
/// v = W^T u / |W^T u| = (10, 14) / √296, and sigma = u^T W v = 296 / √2960 = √29.6 (the
/// true largest singular value is 5.4650; one step from e1 gives 5.4406).
#[test]
fn one_power_iteration_matches_a_hand_computation() {
    let d = device();
    let w = t2(&[1.0, 2.0, 3.0, 4.0], 2, &d);
    let mut sn = SpectralNorm {
        u: vector(&[0.6, 0.8], &d),
        v: vector(&[1.0, 0.0], &d),
    };
    sn.power_iteration(&w);
    let (u, v) = (vals(sn.u.val()), vals(sn.v.val()));
    let r10 = 10f32.sqrt();
    let r296 = 296f32.sqrt();
    for (got, want) in u.iter().zip([1.0 / r10, 3.0 / r10]) {
        assert!((got - want).abs() < 1e-6, "u {u:?}");
    }
    for (got, want) in v.iter().zip([10.0 / r296, 14.0 / r296]) {
        assert!((got - want).abs() < 1e-6, "v {v:?}");
    }
    let sigma = vals(sn.sigma(w.clone()))[0] as f64;
    assert!(close(sigma, 29.6f64.sqrt(), 1e-6), "{sigma}");
    // The normalised weight is W / sigma, and sigma's gradient flows into W: d sigma / d W =
    // u v^T.
    let w = w.require_grad();
    let grads = sn.sigma(w.clone()).sum().backward();
    let g = vals(w.grad(&grads).unwrap());
    let want = [u[0] * v[0], u[0] * v[1], u[1] * v[0], u[1] * v[1]];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{g:?} vs {want:?}");
    }
    let normalized = vals(sn.normalize_weight(w.detach()));
    let s = sigma as f32;
    assert_eq!(normalized.len(), 4);
    for (a, b) in normalized.iter().zip([1.0 / s, 2.0 / s, 3.0 / s, 4.0 / s]) {
        assert!((a - b).abs() < 1e-6);
    }
}

/// Iterated to convergence, the estimate is the SVD's largest singular value, for a dense
/// weight and for a convolution kernel reshaped to `[out, in * k * k]`; the normalised weight
/// then has largest singular value 1.
#[test]
fn power_iteration_converges_to_the_svd() {
    let d = device();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut random =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let dense = t2(&random(7 * 5), 7, &d);
    let kernel = Tensor::<1>::from_floats(random(4 * 3 * 25).as_slice(), &d).reshape([4, 3, 5, 5]);
    let svd = |w: Tensor<2>| {
        let [r, c] = w.dims();
        let v: Vec<f64> = vals(w).iter().map(|&x| x as f64).collect();
        largest_singular_value(r, c, &v)
    };
    let mut init = ChaCha8Rng::seed_from_u64(12);
    for w in [dense, as_matrix(kernel)] {
        let mut sn = SpectralNorm::new(&w, &mut init);
        for _ in 0..200 {
            sn.power_iteration(&w);
        }
        let sigma = vals(sn.sigma(w.clone()))[0] as f64;
        let exact = svd(w.clone());
        assert!(close(sigma, exact, 1e-5), "estimate {sigma} vs SVD {exact}");
        let normalized = svd(sn.normalize_weight(w));
        assert!(close(normalized, 1.0, 1e-5), "{normalized}");
    }
}

fn toy(objective: Objective, penalty: Penalty, n_critic: i64) -> RunConfig {
    RunSpec {
        objective: Some(objective),
        penalty: Some(penalty),
        spectral_norm: Some(true),
        dataset: Some(Dataset::EightGaussians),
        model: Some(Model::ToyMlp),
        dim: Some(16),
        batch_size: Some(64),
        n_critic: Some(n_critic),
        gen_iters: Some(20),
        eval_every: Some(10),
        checkpoint_every: Some(10),
        log_every: Some(5),
        eval_samples: Some(256),
        seed: Some(9),
        ..Default::default()
    }
    .resolve()
    .unwrap()
}

/// The `(u, v)` of every layer, as host vectors.
fn vectors(c: &Critic) -> Vec<(Vec<f32>, Vec<f32>)> {
    let Critic::Mlp(m) = c else {
        panic!("toy-mlp critic expected")
    };
    m.layers
        .iter()
        .map(|l| {
            let sn =
                l.sn.as_ref()
                    .expect("spectral normalisation on every layer");
            (vals(sn.u.val()), vals(sn.v.val()))
        })
        .collect()
}

/// `c` with the vectors of `from`.
fn with_vectors(mut c: Critic, from: &Critic) -> Critic {
    let (Critic::Mlp(m), Critic::Mlp(f)) = (&mut c, from) else {
        panic!("toy-mlp critics expected")
    };
    for (l, fl) in m.layers.iter_mut().zip(&f.layers) {
        l.sn = fl.sn.clone();
    }
    c
}

/// One generator iteration with n_critic = 1 (critic update, then generator update, each on a
/// batch of 64 split into two shards) performs exactly two power iterations: one on the
/// weights the critic update starts from, one on the weights the generator update sees.
/// Iterating per shard or per forward pass would give other vectors.
#[test]
fn a_training_step_iterates_once_per_optimiser_step() {
    for (objective, penalty) in [
        (Objective::GanNs, Penalty::R1),
        (Objective::Hinge, Penalty::Gp),
    ] {
        let cfg = toy(objective, penalty, 1);
        let mut e = Engine::new(&cfg, &Device::flex(), None);
        e.train_step();
        let before = e.critic().clone();
        e.train_step();
        let after = e.critic().clone();
        // The critic update's iteration, on the weights before it.
        let mut want = before.clone();
        want.power_iteration();
        // The generator update's, on the weights the critic update left.
        let mut want = with_vectors(after.clone(), &want);
        want.power_iteration();
        let (got, want) = (vectors(&after), vectors(&want));
        for (layer, ((gu, gv), (wu, wv))) in got.iter().zip(&want).enumerate() {
            let diff = gu
                .iter()
                .chain(gv)
                .zip(wu.iter().chain(wv))
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff < 1e-6,
                "{objective}/{penalty} layer {layer}: differs by {diff}"
            );
        }
        // Two iterations from `before` on its own weights would differ (the weights moved).
        let mut twice = before.clone();
        twice.power_iteration();
        twice.power_iteration();
        assert_ne!(vectors(&twice), got);
    }
}

/// `sigma_max` is the SVD of each layer's effective weight: the stored weight without spectral
/// normalisation, `W / sigma` with it (close to 1 once the estimate has converged).
#[test]
fn sigma_max_is_the_svd_of_the_effective_weight() {
    let d = device();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let plain = nets::mlp_critic(&mut rng, &[6, 8, 1], true, &d);
    let rows = spectral_norms(3, &plain);
    assert_eq!(rows.len(), 2);
    for (row, (_, w)) in rows.iter().zip(plain.layer_matrices()) {
        let [r, c] = w.dims();
        let v: Vec<f64> = vals(w).iter().map(|&x| x as f64).collect();
        assert_eq!((row.step, row.quantity.as_str()), (3, "sigma_max"));
        assert!(close(row.value, largest_singular_value(r, c, &v), 1e-12));
    }
    let mut sn = plain.with_spectral_norm(&mut rng);
    for _ in 0..300 {
        sn.power_iteration();
    }
    for row in spectral_norms(3, &sn) {
        assert!(
            close(row.value, 1.0, 1e-4),
            "layer {}: {}",
            row.layer,
            row.value
        );
    }
    // The dcgan critic: four layers, convolutions as [out, in * 25] matrices.
    let conv = nets::conv_critic(&mut rng, 2, &d).with_spectral_norm(&mut rng);
    let shapes: Vec<[usize; 2]> = conv
        .layer_matrices()
        .iter()
        .map(|(_, w)| w.dims())
        .collect();
    assert_eq!(shapes, [[2, 25], [4, 50], [8, 100], [1, 128]]);
    assert_eq!(spectral_norms(0, &conv).len(), 4);
}

/// The vectors are checkpointed with the critic (a resumed run continues with the vectors of
/// the interrupted one, not fresh ones) and are not trained; the export holds `W / sigma`
/// under the plain `nn.Sequential` names.
#[test]
fn vectors_are_checkpointed_and_the_export_is_normalised() {
    let cfg = toy(Objective::GanNs, Penalty::R1, 1);
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::new(&cfg, &Device::flex(), None);
    let out = e.train(dir.path(), Some(10), |_, _| {}).unwrap();
    assert_eq!(out, harness_engine::train::Outcome::Stopped { step: 10 });
    let mut r = Engine::new(&cfg, &Device::flex(), None);
    assert_ne!(vectors(r.critic()), vectors(e.critic()));
    assert_eq!(r.restore(dir.path()).unwrap(), Some(10));
    assert_eq!(vectors(r.critic()), vectors(e.critic()));
    // A step of the restored engine equals one of the original.
    e.train_step();
    r.train_step();
    assert_eq!(vectors(r.critic()), vectors(e.critic()));
    let ckpt = std::fs::read(
        dir.path()
            .join("checkpoints/step-00000010/critic.safetensors"),
    )
    .unwrap();
    let header = String::from_utf8_lossy(&ckpt[..4000.min(ckpt.len())]).to_string();
    for name in [
        "Mlp.layers.0.sn.u",
        "Mlp.layers.0.sn.v",
        "Mlp.layers.3.sn.v",
    ] {
        assert!(
            header.contains(&format!("\"{name}\"")),
            "{name} missing: {header}"
        );
    }
    e.export(dir.path()).unwrap();
    let bytes = std::fs::read(dir.path().join("export/critic.safetensors")).unwrap();
    let header = String::from_utf8_lossy(&bytes[..2000.min(bytes.len())]).to_string();
    assert!(
        header.contains("\"model.0.weight\"") && !header.contains("sn."),
        "{header}"
    );
}
