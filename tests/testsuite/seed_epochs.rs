//! `epochs` for the `seed-batch-index` schedule: the seed script's DataLoader epochs (a fresh
//! permutation each epoch, the last partial batch kept, the batch index restarting at 0, a
//! generator step when `i % n_critic == 0`), checked step by step on small training sets
//! against the script's own loop, and resumed mid-epoch.

use crate::common;

use burn::prelude::*;
use harness_core::config::{MNIST_TRAIN_IMAGES, Profile, RunConfig, RunSpec, SeedEpoch};
use harness_core::data::{gather, mnist};
use harness_core::grid::load_plan;
use harness_engine::train::{Engine, Outcome, StepNet};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// MNIST with only its first `n` training images: a short version of an epoch (the test set
/// is kept for the evaluation).
fn subset(n: usize) -> Arc<mnist::Mnist> {
    let full = mnist::load_cached(common::mnist_dir()).unwrap();
    let mut m = (*full).clone();
    m.train = mnist::MnistSplit {
        images: full.train.images[..n * 784].to_vec(),
        labels: full.train.labels[..n].to_vec(),
        len: n,
    };
    Arc::new(m)
}

fn seed_cfg(epochs: i64, checkpoint_every: i64) -> RunConfig {
    RunSpec {
        profile: Some(Profile::Seed),
        epochs: Some(epochs),
        log_every: Some(1),
        eval_every: Some(100_000),
        checkpoint_every: Some(checkpoint_every),
        eval_samples: Some(64),
        seed: Some(1),
        ..RunSpec::default()
    }
    .resolve()
    .unwrap()
}

/// The optimiser steps of the script's loop: for each epoch, for each batch `i` of the
/// loader (the last one partial), a critic step, and a generator step when `i % n_critic == 0`,
/// both on that batch's size.
fn script_steps(
    images: usize,
    batch: usize,
    n_critic: usize,
    epochs: usize,
) -> Vec<(StepNet, usize)> {
    let mut steps = Vec::new();
    for _ in 0..epochs {
        for (i, start) in (0..images).step_by(batch).enumerate() {
            let len = batch.min(images - start);
            steps.push((StepNet::Critic, len));
            if i % n_critic == 0 {
                steps.push((StepNet::Generator, len));
            }
        }
    }
    steps
}

/// One optimiser step as the observer saw it: the network, the batch's size and, for critic
/// steps, which training images the real batch held.
type Seen = Arc<Mutex<Vec<(StepNet, usize, Vec<usize>)>>>;

fn observe(e: &mut Engine, data: &mnist::Mnist) -> Seen {
    let mut rows = Vec::new();
    let out = e.cfg.g_output.unwrap();
    gather(&data.train, 0..data.train.len, out, &mut rows);
    let index: HashMap<Vec<u32>, usize> = rows
        .chunks(784)
        .enumerate()
        .map(|(i, r)| (r.iter().map(|x| x.to_bits()).collect(), i))
        .collect();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    e.observer = Some(Box::new(move |ev| {
        let images = ev.real.map_or_else(Vec::new, |r| {
            let v = r.clone().into_data().try_to_vec::<f32>().unwrap();
            v.chunks(784)
                .map(|r| index[&r.iter().map(|x| x.to_bits()).collect::<Vec<_>>()])
                .collect()
        });
        sink.lock().unwrap().push((ev.net, ev.z.dims()[0], images));
    }));
    seen
}

/// 2 epochs of 200 images (batches 64, 64, 64, 8: one generator step per epoch) and of 330
/// images (five of 64 and one of 10: generator steps on batches 0 and 5, the partial one) give
/// the script's steps in the script's order, each epoch a permutation of every image, the two
/// epochs in different orders.
#[test]
fn two_epochs_of_a_subset_take_the_scripts_steps() {
    for (images, critic, generator) in [(200, 8, 2), (330, 12, 4)] {
        let data = subset(images);
        let cfg = seed_cfg(2, 100_000);
        let mut e = Engine::new(&cfg, &Device::flex(), Some(data.clone()));
        let seen = observe(&mut e, &data);
        let out = tempfile::tempdir().unwrap();
        assert_eq!(e.train(out.path(), None, |_, _| {}).unwrap(), Outcome::Done);
        let seen = seen.lock().unwrap();
        let steps: Vec<(StepNet, usize)> = seen.iter().map(|(n, b, _)| (*n, *b)).collect();
        assert_eq!(steps, script_steps(images, 64, 5, 2), "{images} images");
        assert_eq!(
            (e.critic_updates(), e.generator_updates()),
            (critic, generator)
        );
        assert_eq!(e.step, generator as u32);
        let epochs: Vec<Vec<usize>> = seen
            .iter()
            .filter(|(n, _, _)| *n == StepNet::Critic)
            .flat_map(|(_, _, i)| i.clone())
            .collect::<Vec<_>>()
            .chunks(images)
            .map(<[usize]>::to_vec)
            .collect();
        assert_eq!(epochs.len(), 2);
        for order in &epochs {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (0..images).collect::<Vec<_>>(),
                "an epoch serves every image once"
            );
        }
        assert_ne!(epochs[0], epochs[1], "each epoch draws a fresh permutation");
    }
}

/// The full run: 938 batches (the last of 32 images) and 188 generator steps per epoch, so
/// `epochs = 50` resolves to 9,400 generator iterations and 46,900 critic steps; the shipped
/// experiment says so.
#[test]
fn fifty_epochs_of_mnist_are_the_scripts_counts() {
    let epoch = SeedEpoch::of(MNIST_TRAIN_IMAGES, 64, 5);
    assert_eq!((epoch.batches, epoch.gen_steps), (938, 188));
    assert_eq!(MNIST_TRAIN_IMAGES - 937 * 64, 32);
    assert_eq!(50 * epoch.batches, 46_900);
    let cfg = seed_cfg(50, 500);
    assert_eq!((cfg.gen_iters, cfg.epochs), (9_400, Some(50)));
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/seed_wgan_mnist.toml");
    let plan = load_plan(&file, None).unwrap();
    assert_eq!(plan.entries.len(), 1);
    let cfg = &plan.entries[0].config;
    assert_eq!((cfg.epochs, cfg.gen_iters), (Some(50), 9_400));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("46,900 critic") && text.contains("9,400 generator"));
}

/// Stopped in the middle of the second epoch (after 320 of its 330 images) and resumed from
/// the checkpoint, a run logs the same losses at every step as the run that was not stopped.
#[test]
fn resume_mid_epoch_equals_uninterrupted() {
    let data = subset(330);
    let cfg = seed_cfg(2, 1);
    let (whole, split) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut e = Engine::new(&cfg, &Device::flex(), Some(data.clone()));
    assert_eq!(
        e.train(whole.path(), None, |_, _| {}).unwrap(),
        Outcome::Done
    );

    let mut e = Engine::new(&cfg, &Device::flex(), Some(data.clone()));
    let stopped = e.train(split.path(), Some(3), |_, _| {}).unwrap();
    assert_eq!(stopped, Outcome::Stopped { step: 3 });
    let mut e = Engine::new(&cfg, &Device::flex(), Some(data.clone()));
    assert_eq!(e.restore(split.path()).unwrap(), Some(3));
    let seen = observe(&mut e, &data);
    assert_eq!(
        e.train(split.path(), None, |_, _| {}).unwrap(),
        Outcome::Done
    );
    // The resumed part is the end of the second epoch: its last batch of 10 images.
    let seen = seen.lock().unwrap();
    let steps: Vec<(StepNet, usize)> = seen.iter().map(|(n, b, _)| (*n, *b)).collect();
    assert_eq!(steps, [(StepNet::Critic, 10), (StepNet::Generator, 10)]);
    let read = |d: &Path| std::fs::read_to_string(d.join("metrics.csv")).unwrap();
    assert_eq!(read(whole.path()), read(split.path()));
    assert_eq!(read(whole.path()).lines().count(), 1 + 4);
}

/// `epochs` outside the seed schedule is refused at its line and column.
#[test]
fn epochs_without_the_seed_schedule_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.toml");
    std::fs::write(
        &file,
        "name = \"g\"\n[base]\ndataset = \"mnist\"\nepochs = 3\n",
    )
    .unwrap();
    let e = load_plan(&file, None).unwrap_err().to_string();
    assert!(
        e.contains("g.toml:4:1")
            && e.contains("epochs only applies to schedule \"seed-batch-index\""),
        "{e}"
    );
}
