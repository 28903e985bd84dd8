//! The LeNet evaluator for MNIST sample quality (`measure::evaluator`), against the real MNIST
//! (found or fetched by `tests/testsuite/common.rs`).
//!
//! The default evaluator is trained once per test binary (a `OnceLock`) into a fixed cache
//! folder under the target directory, so repeated `cargo test` runs load it instead of
//! training again; its folder is named by the spec hash, so a changed spec never reuses a stale
//! network. Assertions compare orderings and ratios rather than exact values.

use crate::common;

use burn::prelude::*;
use harness_core::data::mnist::{Mnist, load_cached};
use harness_engine::measure::evaluator::{
    Evaluator, EvaluatorSpec, MnistScores, TestReference, images01, score, train,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Scored samples per set (the assertions hold with margin at this size; scoring is ~1 s).
const N: usize = 2000;

pub(crate) fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-evaluator")
}

pub(crate) fn mnist() -> Arc<Mnist> {
    load_cached(common::mnist_dir()).expect("MNIST for the tests")
}

/// The default evaluator, trained once per cache dir (its folder is keyed by the spec hash,
/// so a changed spec or dataset retrains instead of reusing a stale network).
pub(crate) fn evaluator() -> &'static Evaluator {
    static EV: OnceLock<Evaluator> = OnceLock::new();
    EV.get_or_init(|| {
        Evaluator::load_or_train(&cache_dir(), &mnist(), &Device::flex(), |m| {
            eprintln!("{m}")
        })
        .expect("evaluator")
    })
}

fn reference() -> Arc<TestReference> {
    evaluator().test_reference(&mnist())
}

fn uniform_noise(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * 784).map(|_| rng.random::<f32>()).collect()
}

/// `n` copies of test image `i`.
fn repeated_digit(i: usize, n: usize) -> Vec<f32> {
    let one = images01(&mnist().test, i..i + 1);
    (0..n).flat_map(|_| one.iter().copied()).collect()
}

fn scores_of(x: &[f32]) -> MnistScores {
    score(evaluator(), &reference(), x)
}

#[test]
fn spec_hash_is_stable_and_covers_every_field() {
    let a = EvaluatorSpec::default();
    assert_eq!(a.hash(), EvaluatorSpec::default().hash());
    assert_eq!(a.hash().len(), 12);
    assert!(a.hash().chars().all(|c| c.is_ascii_hexdigit()));
    let variants = [
        EvaluatorSpec {
            epochs: a.epochs + 1,
            ..a.clone()
        },
        EvaluatorSpec {
            conv2: a.conv2 + 1,
            ..a.clone()
        },
        EvaluatorSpec {
            lr: a.lr * 0.5,
            ..a.clone()
        },
        EvaluatorSpec {
            seed: a.seed + 1,
            ..a.clone()
        },
        EvaluatorSpec {
            shift: a.shift + 1,
            ..a.clone()
        },
        EvaluatorSpec {
            data_sha256: vec!["0".repeat(64); 4],
            ..a.clone()
        },
    ];
    for v in &variants {
        assert_ne!(v.hash(), a.hash(), "{v:?}");
    }
    assert!(
        a.dir(Path::new("results"))
            .ends_with(format!("evaluators/{}", a.hash()))
    );
}

#[test]
fn default_evaluator_is_accurate_and_stored() {
    let ev = evaluator();
    assert!(
        ev.test_accuracy >= 0.99,
        "test accuracy {}",
        ev.test_accuracy
    );
    let dir = cache_dir().join("evaluators").join(&ev.hash);
    assert!(dir.join("evaluator.json").is_file() && dir.join("weights.safetensors").is_file());
    // Loading again gives the same network.
    let again = Evaluator::load_or_train(&cache_dir(), &mnist(), &Device::flex(), |m| {
        panic!("retrained: {m}")
    })
    .expect("reload");
    assert_eq!(again.hash, ev.hash);
    assert_eq!(again.test_accuracy, ev.test_accuracy);
    let x = images01(&mnist().test, 0..64);
    assert_eq!(again.features_and_probs(&x), ev.features_and_probs(&x));
    // The stored accuracy is the network's.
    let probs = ev
        .features_and_probs(&images01(&mnist().test, 0..mnist().test.len))
        .2;
    let correct = probs
        .chunks_exact(10)
        .zip(&mnist().test.labels)
        .filter(|(p, l)| {
            let best = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            best == usize::from(**l)
        })
        .count();
    assert_eq!(correct as f64 / 10_000.0, ev.test_accuracy);
}

#[test]
fn features_and_probs_shapes() {
    let ev = evaluator();
    let (f, dim, p) = ev.features_and_probs(&images01(&mnist().test, 0..1001));
    assert_eq!(dim, ev.spec.hidden);
    assert_eq!((f.len(), p.len()), (1001 * dim, 1001 * 10));
    for row in p.chunks_exact(10) {
        let s: f32 = row.iter().sum();
        assert!(
            (s - 1.0).abs() < 1e-4 && row.iter().all(|&v| v >= 0.0),
            "{row:?}"
        );
    }
    // Batching does not change the answer.
    let (f1, _, p1) = ev.features_and_probs(&images01(&mnist().test, 1000..1001));
    assert_eq!(&f[1000 * dim..], &f1[..]);
    assert_eq!(&p[10_000..], &p1[..]);
}

#[test]
fn fld_orders_real_noise_and_collapse() {
    let real = scores_of(&images01(&mnist().train, 0..N));
    let noise = scores_of(&uniform_noise(N, 1));
    let collapsed = scores_of(&repeated_digit(0, N));
    eprintln!(
        "FLD real {} noise {} one digit {}",
        real.fld, noise.fld, collapsed.fld
    );
    assert!(real.fld > 0.0);
    assert!(noise.fld > 10.0 * real.fld, "{} vs {}", noise.fld, real.fld);
    assert!(
        collapsed.fld > 10.0 * real.fld,
        "{} vs {}",
        collapsed.fld,
        real.fld
    );
}

#[test]
fn classifier_score_and_class_histogram() {
    let ev = evaluator();
    let all_test = images01(&mnist().test, 0..mnist().test.len);
    let probs = ev.features_and_probs(&all_test).2;
    let cs = harness_engine::measure::quality::classifier_score(&probs, 10);
    let real = scores_of(&images01(&mnist().train, 0..N));
    let collapsed = scores_of(&repeated_digit(0, N));
    eprintln!(
        "CS test {cs} train subset {} one digit {}",
        real.classifier_score, collapsed.classifier_score
    );
    assert!(cs > 9.0 && cs <= 10.0, "{cs}");
    assert!(real.classifier_score > 9.0);
    assert!(
        collapsed.classifier_score < 1.5,
        "{}",
        collapsed.classifier_score
    );
    assert_eq!(real.classes_covered, 10);
    assert_eq!(collapsed.classes_covered, 1);
    assert!(real.class_kl < 0.05, "{}", real.class_kl);
    assert!((collapsed.class_kl - 10f64.ln()).abs() < 1e-9);
}

/// `n_distinct` training digits, each `copies` times with independent uniform pixel noise of
/// +-`jitter` (clamped to [0, 1]): a set whose members come in tight clusters of near-copies.
fn near_copies(n_distinct: usize, copies: usize, jitter: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let distinct = images01(&mnist().train, 0..n_distinct);
    let mut out = Vec::with_capacity(n_distinct * copies * 784);
    for img in distinct.chunks_exact(784) {
        for _ in 0..copies {
            out.extend(
                img.iter()
                    .map(|&p| (p + rng.random_range(-jitter..=jitter)).clamp(0.0, 1.0)),
            );
        }
    }
    out
}

/// Improved precision and recall (Kynkäänniemi et al. 2019) on sets whose answer is known,
/// with the real evaluator. Recall is the share of the reference (test) digits inside the union
/// of the samples' k-NN balls (k = 3): it measures how much of the real manifold the samples
/// reach, and it depends on the samples' own k-NN radii.
#[test]
fn precision_recall_on_known_cases() {
    // Real digits the evaluator never scored against (training set): both high.
    let real = scores_of(&images01(&mnist().train, 0..N));
    // The test set against itself is perfect.
    let own = scores_of(&images01(&mnist().test, 0..N));
    // Uniform noise: neither.
    let noise = scores_of(&uniform_noise(N, 2));
    // Half real digits, half uniform noise: the noise is outside the real manifold (precision
    // halves) and its k-NN balls lie in the noise cluster, while the real half's balls reach
    // the real manifold as a set of N/2 real digits does (recall stays high).
    let mut mix = images01(&mnist().train, 0..N / 2);
    mix.extend(uniform_noise(N / 2, 3));
    let mix = scores_of(&mix);
    let half = scores_of(&images01(&mnist().train, 0..N / 2));
    // Real digits, but N/10 of them ten times each with tiny pixel noise: every sample's 3
    // nearest neighbours are its own near-copies, so its ball is tiny and almost no test digit
    // falls in one; precision and class coverage stay those of real digits.
    let copies = scores_of(&near_copies(N / 10, 10, 0.01, 4));
    // One real digit repeated: precise, no diversity at all.
    let collapsed = scores_of(&repeated_digit(0, N));
    eprintln!(
        "P/R real {:.4} {:.4} | noise {:.4} {:.4} | 50% real + 50% noise {:.4} {:.4} (real \
         half alone {:.4} {:.4}) | near-copies {:.4} {:.4} ({} classes) | one digit {:.4} {:.4}",
        real.precision,
        real.recall,
        noise.precision,
        noise.recall,
        mix.precision,
        mix.recall,
        half.precision,
        half.recall,
        copies.precision,
        copies.recall,
        copies.classes_covered,
        collapsed.precision,
        collapsed.recall
    );
    assert!(real.precision > 0.6 && real.recall > 0.6, "{real:?}");
    assert_eq!((own.precision, own.recall), (1.0, 1.0));
    assert!(noise.precision < 0.1 && noise.recall < 0.05, "{noise:?}");
    // The mixture: precision half the real half's, recall that of the real half alone.
    assert!(
        (mix.precision - half.precision / 2.0).abs() < 0.02,
        "{mix:?} vs {half:?}"
    );
    assert!(
        (mix.recall - half.recall).abs() < 0.02,
        "{mix:?} vs {half:?}"
    );
    assert!(mix.recall > 0.6, "{mix:?}");
    // Near-copies: precise and all classes, but recall near 0.
    assert!(
        copies.precision > 0.6 && copies.classes_covered == 10,
        "{copies:?}"
    );
    assert!(copies.recall < 0.05, "{copies:?}");
    assert!(
        collapsed.precision > 0.9 && collapsed.recall < 0.01,
        "{collapsed:?}"
    );
}

fn small_mnist(n_train: usize, n_test: usize) -> Mnist {
    let mut m = (*mnist()).clone();
    m.train.images.truncate(n_train * 784);
    m.train.labels.truncate(n_train);
    m.train.len = n_train;
    m.test.images.truncate(n_test * 784);
    m.test.labels.truncate(n_test);
    m.test.len = n_test;
    m
}

/// A spec that trains in about a second (its data checksums name the full files; it is a
/// folder key only).
fn tiny_spec() -> EvaluatorSpec {
    EvaluatorSpec {
        conv1: 4,
        conv2: 8,
        hidden: 16,
        epochs: 1,
        seed: 5,
        ..EvaluatorSpec::default()
    }
}

#[test]
fn training_is_deterministic() {
    let m = small_mnist(640, 10);
    let spec = tiny_spec();
    let dev = Device::flex();
    let a = train(&m, &spec, &dev, &mut |_| {});
    let b = train(&m, &spec, &dev, &mut |_| {});
    let x = Tensor::<1>::from_floats(images01(&m.train, 0..32).as_slice(), &dev).reshape([32, 784]);
    let la = a
        .forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let lb = b.forward(x).into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(la, lb);
}

#[test]
fn concurrent_callers_train_once() {
    let m = small_mnist(640, 200);
    let spec = tiny_spec();
    let dir = tempfile::tempdir().unwrap();
    let trained = AtomicUsize::new(0);
    let results: Vec<(String, f64)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let ev = Evaluator::load_or_train_spec(
                        dir.path(),
                        &m,
                        &Device::flex(),
                        &spec,
                        |msg| {
                            if msg.contains("training on") {
                                trained.fetch_add(1, Ordering::SeqCst);
                            }
                        },
                    )
                    .unwrap();
                    (ev.hash, ev.test_accuracy)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(trained.load(Ordering::SeqCst), 1);
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].0, spec.hash());
}
