//! What a data set is to the rest of the harness: the shape of one sample, where real samples
//! come from, how many epochs' worth of examples it holds, and the ceilings of its mode and
//! class metrics. Every other module asks the [`DataSpec`] instead of naming a data set, so a new
//! one is a variant here and its sampler source (docs/design.md, "Data sets").

use super::mnist::{IMAGE_PIXELS, IMAGE_SIDE, N_CLASSES};
use super::toy::Toy;
use crate::config::named_enum::named_enum;

named_enum!(
    /// The data set a run trains on (grid key `dataset`).
    Dataset {
        /// MNIST digits, 28x28 grey.
        Mnist = "mnist",
        /// WGAN-GP's 8 Gaussians on a ring (gan_toy.py).
        EightGaussians = "8gaussians",
        /// WGAN-GP's 5x5 grid of Gaussians (gan_toy.py).
        TwentyFiveGaussians = "25gaussians",
        /// WGAN-GP's Swiss roll (gan_toy.py).
        SwissRoll = "swissroll",
        /// Three MNIST digits drawn independently as the three channels of one 28x28 image:
        /// 1,000 modes (Metz et al. 2017; VEEGAN; PacGAN), built from the MNIST files.
        StackedMnist = "stacked-mnist",
    }
);

/// Where a data set's real samples come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A 2-D mixture drawn afresh for every batch.
    Toy(Toy),
    /// Images built from the MNIST files: `stack` digits drawn independently, one per channel
    /// (1: MNIST itself).
    Mnist { stack: usize },
}

/// The shape of one sample, flattened channel by channel, row by row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Samples {
    /// Points in `dim` dimensions.
    Points { dim: usize },
    /// `channels` square images of `side` x `side` pixels.
    Images { channels: usize, side: usize },
}

/// Everything the harness needs to know about a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataSpec {
    pub source: Source,
    pub samples: Samples,
    /// Training examples per epoch; `None` for data drawn afresh (no epochs).
    pub train_len: Option<usize>,
    /// Modes a generator should cover (the ceiling of `modes_covered`), where it has them.
    pub modes: Option<usize>,
    /// Classes the evaluator's classifier tells apart (the ceiling of `classes_covered`).
    pub classes: Option<usize>,
}

impl Dataset {
    /// The one place a data set is described.
    pub fn spec(self) -> DataSpec {
        let toy = |t: Toy| DataSpec {
            source: Source::Toy(t),
            samples: Samples::Points { dim: 2 },
            train_len: None,
            modes: Some(t.modes().len()).filter(|&n| n > 0),
            classes: None,
        };
        let mnist = |stack: usize| DataSpec {
            source: Source::Mnist { stack },
            samples: Samples::Images {
                channels: stack,
                side: IMAGE_SIDE,
            },
            train_len: Some(crate::config::MNIST_TRAIN_IMAGES),
            modes: (stack > 1).then(|| N_CLASSES.pow(stack as u32)),
            classes: (stack == 1).then_some(N_CLASSES),
        };
        match self {
            Dataset::Mnist => mnist(1),
            Dataset::EightGaussians => toy(Toy::EightGaussians),
            Dataset::TwentyFiveGaussians => toy(Toy::TwentyFiveGaussians),
            Dataset::SwissRoll => toy(Toy::SwissRoll),
            Dataset::StackedMnist => mnist(3),
        }
    }

    /// Whether samples are 2-D points (the toy mixtures) rather than images.
    pub fn is_toy(self) -> bool {
        self.spec().toy().is_some()
    }
}

impl DataSpec {
    /// Values per sample: the networks' data dimension.
    pub fn dim(&self) -> usize {
        match self.samples {
            Samples::Points { dim } => dim,
            Samples::Images { channels, side } => channels * side * side,
        }
    }

    /// The toy mixture, for point data sets.
    pub fn toy(&self) -> Option<Toy> {
        match self.source {
            Source::Toy(t) => Some(t),
            Source::Mnist { .. } => None,
        }
    }

    /// Whether real samples are read from the MNIST files (and so need them on disk).
    pub fn needs_mnist(&self) -> bool {
        matches!(self.source, Source::Mnist { .. })
    }

    /// Image channels (`None` for points).
    pub fn channels(&self) -> Option<usize> {
        match self.samples {
            Samples::Images { channels, .. } => Some(channels),
            Samples::Points { .. } => None,
        }
    }

    /// Values the loaded training data holds in memory (0 for data drawn afresh): the MNIST
    /// files are loaded once whatever the stacking.
    pub fn stored_values(&self) -> usize {
        match self.source {
            Source::Mnist { .. } => crate::config::MNIST_TRAIN_IMAGES * IMAGE_PIXELS,
            Source::Toy(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_set_has_a_consistent_spec() {
        for &d in Dataset::ALL {
            let s = d.spec();
            assert_eq!(d.is_toy(), s.toy().is_some(), "{d}");
            assert_eq!(s.needs_mnist(), s.train_len.is_some(), "{d}");
            assert_eq!(s.channels().is_none(), d.is_toy(), "{d}");
        }
        assert_eq!(Dataset::Mnist.spec().dim(), 784);
        assert_eq!(Dataset::Mnist.spec().classes, Some(10));
        assert_eq!(Dataset::EightGaussians.spec().dim(), 2);
        assert_eq!(Dataset::EightGaussians.spec().modes, Some(8));
        assert_eq!(Dataset::TwentyFiveGaussians.spec().modes, Some(25));
        assert_eq!(Dataset::SwissRoll.spec().modes, None);
        let stacked = Dataset::StackedMnist.spec();
        assert_eq!((stacked.dim(), stacked.channels()), (3 * 784, Some(3)));
        assert_eq!((stacked.modes, stacked.classes), (Some(1000), None));
        assert_eq!(stacked.train_len, Some(60_000));
    }
}
