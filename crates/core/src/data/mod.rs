//! Training data: MNIST (from the original IDX files) and the WGAN-GP toy sets, served as
//! flat `f32` batches by a seeded, checkpointable sampler.

pub mod download;
pub mod mnist;
pub mod toy;

use crate::config::{GOutput, RunConfig};
use mnist::{Mnist, MnistSplit};
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
            split.images[i * 784..(i + 1) * 784]
                .iter()
                .map(|&p| scale_pixel(p, range)),
        );
    }
}

/// Where the sampler is, so a resumed run draws exactly the batches it would have drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplerState {
    pub epoch: u64,
    pub pos: usize,
    /// ChaCha word position of the toy-data RNG, as a decimal string (u128).
    pub rng_pos: String,
}

enum Source {
    Toy(Toy),
    Mnist {
        data: Arc<Mnist>,
        range: GOutput,
        perm: Vec<u32>,
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
        let source = match Toy::from_dataset(cfg.dataset) {
            Some(t) => Source::Toy(t),
            None => Source::Mnist {
                data: mnist.expect("MNIST data loaded for an MNIST config"),
                range: cfg.g_output.unwrap_or(GOutput::Tanh),
                perm: Vec::new(),
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
    fn shuffle(&mut self) {
        if let Source::Mnist { data, perm, .. } = &mut self.source {
            *perm = (0..data.train.len as u32).collect();
            let mut r = rng_for(
                self.seed ^ self.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                streams::DATA,
            );
            perm.shuffle(&mut r);
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
                let Source::Mnist { data, range, perm } = &self.source else {
                    unreachable!()
                };
                let mut out = Vec::with_capacity(b * 784);
                gather(
                    &data.train,
                    perm[self.pos..self.pos + b].iter().map(|&i| i as usize),
                    *range,
                    &mut out,
                );
                self.pos += b;
                out
            }
        }
    }

    /// Held-out real data (MNIST test images; fresh toy samples from a fixed stream).
    pub fn held_out(&self, n: usize) -> Vec<f32> {
        match &self.source {
            Source::Toy(t) => t.sample(&mut rng_for(self.seed, streams::HELD_OUT), n),
            Source::Mnist { data, range, .. } => {
                let mut out = Vec::with_capacity(n * 784);
                gather(&data.test, 0..n.min(data.test.len), *range, &mut out);
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
