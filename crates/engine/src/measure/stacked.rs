//! Mode metrics of stacked digit images (Stacked MNIST: three MNIST digits as the three
//! channels of one image, 1,000 modes; Metz et al. 2017, "Unrolled Generative Adversarial
//! Networks", its discrete mode-collapse experiment; the Stacked MNIST tables of VEEGAN,
//! Srivastava et al. 2017, and PacGAN, Lin et al. 2018). As those papers do, "a pre-trained classifier" labels each channel of a
//! generated image, the mode is the tuple of the channels' digits, and two numbers are reported:
//! the modes with at least one sample (`modes_covered`, of 1,000) and the KL divergence of the
//! generated mode histogram to the uniform one (`mode_kl`, nats, `KL(q || uniform)`).

use super::evaluator::Evaluator;
use super::quality::{ClassHistogram, argmax};
use super::{Poll, Stopped};
use harness_core::data::mnist::IMAGE_PIXELS as PIXELS;
use harness_core::data::mnist::N_CLASSES;

/// The mode histogram of images whose channels the classifier gave `probs` (`n * stack` rows of
/// `N_CLASSES`, channel by channel for each image): mode `d_0 * 10^(stack-1) + ... + d_(stack-1)`
/// for channel digits `d_k`, `10^stack` modes.
pub fn mode_histogram(probs: &[f32], stack: usize) -> ClassHistogram {
    let modes = N_CLASSES.pow(stack as u32);
    let mut counts = vec![0usize; modes];
    for image in probs.chunks_exact(stack * N_CLASSES) {
        let mode = image
            .chunks_exact(N_CLASSES)
            .fold(0, |m, channel| m * N_CLASSES + argmax(channel));
        counts[mode] += 1;
    }
    ClassHistogram::of(counts)
}

/// `modes_covered` and `mode_kl` of generated images `images01` (`[n, stack * 784]` in [0, 1],
/// channels one after the other), each channel labelled by `ev`'s classifier; abandoned between
/// the classifier's batches when `poll` says stop.
pub fn scores(
    ev: &Evaluator,
    images01: &[f32],
    stack: usize,
    poll: Poll<'_>,
) -> Result<Vec<(&'static str, f64)>, Stopped> {
    debug_assert_eq!(images01.len() % (stack * PIXELS), 0);
    // The channels of one image are consecutive 784-pixel images, so the classifier reads the
    // buffer as `n * stack` digits in order.
    let (_, _, probs) = ev.features_and_probs_polled(images01, poll)?;
    let h = mode_histogram(&probs, stack);
    Ok(vec![
        ("modes_covered", h.covered as f64),
        ("mode_kl", h.kl_to_uniform),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class probabilities putting all mass on `digit`.
    fn onehot(digit: usize) -> Vec<f32> {
        (0..N_CLASSES)
            .map(|i| f32::from(u8::from(i == digit)))
            .collect()
    }

    #[test]
    fn every_triple_once_covers_all_thousand_modes_at_zero_kl() {
        let probs: Vec<f32> = (0..1000)
            .flat_map(|m: usize| [m / 100, m / 10 % 10, m % 10])
            .flat_map(onehot)
            .collect();
        let h = mode_histogram(&probs, 3);
        assert_eq!(h.covered, 1000);
        assert!(h.kl_to_uniform.abs() < 1e-12, "{}", h.kl_to_uniform);
        // The mode's digits read from the first channel to the last.
        assert_eq!(h.counts[123], 1);
    }

    #[test]
    fn one_triple_is_total_collapse() {
        let probs: Vec<f32> = (0..50).flat_map(|_| [7, 0, 3]).flat_map(onehot).collect();
        let h = mode_histogram(&probs, 3);
        assert_eq!(h.covered, 1);
        assert_eq!(h.counts[703], 50);
        assert!((h.kl_to_uniform - 1000f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn ten_modes_of_equal_weight_have_kl_ln_100() {
        // q uniform on 10 of 1,000 modes: KL(q || u) = ln(1000 / 10).
        let probs: Vec<f32> = (0..10).flat_map(|d| [d, d, d]).flat_map(onehot).collect();
        let h = mode_histogram(&probs, 3);
        assert_eq!(h.covered, 10);
        assert!((h.kl_to_uniform - 100f64.ln()).abs() < 1e-12);
    }
}
