//! Training data: MNIST (from the original IDX files) and the WGAN-GP toy sets, served as
//! flat `f32` batches by a seeded, checkpointable sampler.

pub mod download;
pub mod mnist;
pub mod spec;
pub mod toy;

use crate::config::{GOutput, RunConfig};
use mnist::{IMAGE_PIXELS, Mnist, MnistSplit};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use toy::Toy;

/// Scale MNIST bytes to the generator's output range (tanh: [-1, 1], sigmoid: [0, 1]).
pub fn scale_pixel(p: u8, range: GOutput) -> f32 {
    match range {
        GOutput::Tanh => p as f32 / 127.5 - 1.0,
        GOutput::Sigmoid => p as f32 / 255.0,
    }
}

/// Copy images `idx` of a split into `out`, scaled.
pub fn gather(
    split: &MnistSplit,
    idx: impl Iterator<Item = usize>,
    range: GOutput,
    out: &mut Vec<f32>,
) {
    for i in idx {
        out.extend(
            split.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
                .iter()
                .map(|&p| scale_pixel(p, range)),
        );
    }
}

/// Test images of the first `n` held-out samples, channel by channel: channel 0 takes test
/// images `0..n` in order (MNIST's own held-out set), channel `k >= 1` a fixed permutation of
/// the test split (the same for every run), so stacked held-out samples are independent digits.
pub fn held_out_indices(len: usize, n: usize, stack: usize) -> impl Iterator<Item = usize> {
    let perms: Vec<Vec<usize>> = (1..stack)
        .map(|k| {
            let mut p: Vec<usize> = (0..len).collect();
            p.shuffle(&mut rng_for(k as u64, streams::STACK));
            p
        })
        .collect();
    (0..n)
        .flat_map(move |i| std::iter::once(i).chain(perms.iter().map(|p| p[i]).collect::<Vec<_>>()))
}

/// Where the sampler is, so a resumed run draws exactly the batches it would have drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplerState {
    pub epoch: u64,
    pub pos: usize,
    /// ChaCha word position of the toy-data RNG, as a decimal string (u128).
    pub rng_pos: String,
}

/// What the sampler draws from: a toy mixture, or MNIST images stacked `stack` to a sample.
enum Source {
    Toy(Toy),
    Mnist {
        data: Arc<Mnist>,
        range: GOutput,
        /// This epoch's order of the training images for each channel: sample `i` of the epoch
        /// is image `perms[k][i]` in channel `k`.
        perms: Vec<Vec<u32>>,
    },
}

/// Batches of real data for one run.
pub struct Sampler {
    source: Source,
    seed: u64,
    epoch: u64,
    /// Images of this epoch's permutation served so far.
    pos: usize,
    /// Serve the last partial batch of each epoch (the seed script's DataLoader, `epochs`)
    /// instead of dropping it.
    keep_last: bool,
    rng: ChaCha8Rng,
}

/// Stream ids that separate the run's random streams (init, data, noise, evaluation).
pub mod streams {
    pub const INIT: u64 = 1;
    pub const DATA: u64 = 2;
    pub const NOISE: u64 = 3;
    pub const EVAL: u64 = 4;
    pub const HELD_OUT: u64 = 5;
    /// Spectral normalisation's initial singular-vector draws.
    pub const SPECTRAL_NORM: u64 = 6;
    /// Channel `k >= 1` of stacked images uses stream `STACK + k` (channel 0 the data
    /// stream, so one channel is MNIST's own order).
    pub const STACK: u64 = 16;
}

/// A ChaCha RNG for one purpose of one run.
pub fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

impl Sampler {
    /// `mnist` must be given for MNIST configs.
    pub fn new(cfg: &RunConfig, mnist: Option<Arc<Mnist>>) -> Self {
        let source = match cfg.data().source {
            spec::Source::Toy(t) => Source::Toy(t),
            spec::Source::Mnist { stack } => Source::Mnist {
                data: mnist.expect("MNIST data loaded for an MNIST config"),
                range: cfg.g_output.unwrap_or(GOutput::Tanh),
                perms: vec![Vec::new(); stack],
            },
        };
        let mut s = Self {
            source,
            seed: cfg.seed,
            epoch: 0,
            pos: 0,
            keep_last: cfg.epochs.is_some(),
            rng: rng_for(cfg.seed, streams::DATA),
        };
        s.shuffle();
        s
    }

    /// Each epoch's order is a function of (seed, epoch) alone, so the state is two numbers: a
    /// uniform permutation of the training images (rand's Fisher-Yates `shuffle`) drawn from a
    /// ChaCha8 stream seeded with `seed ^ (epoch * 0x9E3779B97F4A7C15)` (the data stream).
    /// Stacked images draw each further channel's order the same way from stream
    /// `STACK + k`, so their channels are independent digits.
    fn shuffle(&mut self) {
        if let Source::Mnist { data, perms, .. } = &mut self.source {
            for (k, perm) in perms.iter_mut().enumerate() {
                *perm = (0..data.train.len as u32).collect();
                let stream = if k == 0 {
                    streams::DATA
                } else {
                    streams::STACK + k as u64
                };
                let mut r = rng_for(
                    self.seed ^ self.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    stream,
                );
                perm.shuffle(&mut r);
            }
        }
    }

    /// Training images per epoch (`None` for toy data, which has no epochs).
    pub fn epoch_len(&self) -> Option<usize> {
        match &self.source {
            Source::Toy(_) => None,
            Source::Mnist { data, .. } => Some(data.train.len),
        }
    }

    /// Whether the next batch of size `b` starts a new epoch.
    fn epoch_done(&self, n: usize, b: usize) -> bool {
        if self.keep_last {
            self.pos >= n
        } else {
            self.pos + b > n
        }
    }

    /// Images the next batch of nominal size `b` holds: `b`, or, keeping the last partial batch,
    /// what is left of the epoch.
    pub fn next_len(&self, b: usize) -> usize {
        match self.epoch_len() {
            Some(n) if self.keep_last && !self.epoch_done(n, b) => b.min(n - self.pos),
            Some(n) if self.keep_last => b.min(n),
            _ => b,
        }
    }

    /// Batches of size `b` left in the current epoch when the last partial batch is kept, the
    /// next one included (a whole epoch's when the next batch starts one); `None` for toy data.
    pub fn batches_left(&self, b: usize) -> Option<usize> {
        let n = self.epoch_len()?;
        let left = if self.epoch_done(n, b) {
            n
        } else {
            n - self.pos
        };
        Some(left.div_ceil(b))
    }

    /// The next real batch, `[b, dim]` flattened ([`Sampler::next_len`] rows for MNIST).
    pub fn next_batch(&mut self, b: usize) -> Vec<f32> {
        match &self.source {
            Source::Toy(t) => t.sample(&mut self.rng, b),
            Source::Mnist { .. } => {
                // Sampling without replacement: a batch never straddles epochs (the remainder
                // of an epoch is dropped, as a `drop_last` loader does, or served as a
                // smaller last batch with `keep_last`).
                let n = self.epoch_len().unwrap_or_default();
                if self.epoch_done(n, b) {
                    self.epoch += 1;
                    self.pos = 0;
                    self.shuffle();
                }
                let b = self.next_len(b);
                let Source::Mnist { data, range, perms } = &self.source else {
                    unreachable!()
                };
                let mut out = Vec::with_capacity(b * perms.len() * IMAGE_PIXELS);
                let idx =
                    (self.pos..self.pos + b).flat_map(|i| perms.iter().map(move |p| p[i] as usize));
                gather(&data.train, idx, *range, &mut out);
                self.pos += b;
                out
            }
        }
    }

    /// Held-out real data (MNIST test images; fresh toy samples from a fixed stream).
    pub fn held_out(&self, n: usize) -> Vec<f32> {
        match &self.source {
            Source::Toy(t) => t.sample(&mut rng_for(self.seed, streams::HELD_OUT), n),
            Source::Mnist { data, range, perms } => {
                let stack = perms.len();
                let n = n.min(data.test.len);
                let mut out = Vec::with_capacity(n * stack * IMAGE_PIXELS);
                gather(
                    &data.test,
                    held_out_indices(data.test.len, n, stack),
                    *range,
                    &mut out,
                );
                out
            }
        }
    }

    pub fn state(&self) -> SamplerState {
        SamplerState {
            epoch: self.epoch,
            pos: self.pos,
            rng_pos: self.rng.get_word_pos().to_string(),
        }
    }

    pub fn restore(&mut self, st: &SamplerState) -> Result<(), String> {
        self.epoch = st.epoch;
        self.pos = st.pos;
        self.rng.set_word_pos(
            st.rng_pos
                .parse()
                .map_err(|e| format!("bad sampler rng position: {e}"))?,
        );
        self.shuffle();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Dataset, RunSpec};

    /// A small data set whose image `i` has every pixel equal to `i` (train) or `100 + i` (test).
    fn numbered(train: usize, test: usize) -> Arc<Mnist> {
        let split = |n: usize, base: usize| MnistSplit {
            images: (0..n)
                .flat_map(|i| [(base + i) as u8; IMAGE_PIXELS])
                .collect(),
            labels: vec![0; n],
            len: n,
        };
        Arc::new(Mnist {
            train: split(train, 0),
            test: split(test, 100),
        })
    }

    fn sampler(dataset: Dataset, data: &Arc<Mnist>) -> Sampler {
        let spec = RunSpec {
            dataset: Some(dataset),
            g_output: Some(GOutput::Sigmoid),
            seed: Some(3),
            ..RunSpec::default()
        };
        Sampler::new(&spec.resolve().unwrap(), Some(data.clone()))
    }

    /// The image number each 784-pixel block of a batch holds.
    fn numbers(batch: &[f32], base: usize) -> Vec<usize> {
        batch
            .chunks_exact(IMAGE_PIXELS)
            .map(|img| {
                assert!(img.iter().all(|&p| p == img[0]), "one image per block");
                (img[0] * 255.0).round() as usize - base
            })
            .collect()
    }

    #[test]
    fn stacked_samples_are_independent_digits_per_channel_with_mnists_order_in_the_first() {
        let data = numbered(50, 20);
        let mut plain = sampler(Dataset::Mnist, &data);
        let mut stacked = sampler(Dataset::StackedMnist, &data);
        for _ in 0..6 {
            let one = numbers(&plain.next_batch(8), 0);
            let three = numbers(&stacked.next_batch(8), 0);
            assert_eq!(three.len(), 24);
            let channel = |k: usize| three.iter().skip(k).step_by(3).copied().collect::<Vec<_>>();
            // Channel 0 is MNIST's own order for the seed; the others are other orders.
            assert_eq!(channel(0), one);
            assert_ne!(channel(1), channel(0));
            assert_ne!(channel(2), channel(1));
        }
        // An epoch (6 batches of 8 of 50) serves each image once per channel: 48 distinct.
        let mut s = sampler(Dataset::StackedMnist, &data);
        let epoch: Vec<usize> = (0..6).flat_map(|_| numbers(&s.next_batch(8), 0)).collect();
        for k in 0..3 {
            let mut c: Vec<usize> = epoch.iter().skip(k).step_by(3).copied().collect();
            c.sort_unstable();
            c.dedup();
            assert_eq!(c.len(), 48, "channel {k}");
        }
        let held = numbers(&stacked.held_out(10), 100);
        assert_eq!(
            held.iter().step_by(3).copied().collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(
            held,
            numbers(&sampler(Dataset::StackedMnist, &data).held_out(10), 100)
        );
    }
}
