//! The WGAN-GP paper's 2-D toy sets, exactly as its official `gan_toy.py` generates them.

use crate::config::Dataset;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// A 2-D toy distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toy {
    /// 8 unit-circle points scaled by 2, noise std 0.02, then divided by 1.414.
    EightGaussians,
    /// Grid -4..4 step 2, noise std 0.05, divided by 2.828.
    TwentyFiveGaussians,
    /// sklearn `make_swiss_roll(noise=0.25)`, coordinates 0 and 2, divided by 7.5.
    SwissRoll,
}

impl Toy {
    /// The mixture of a point data set (see [`Dataset::spec`]).
    pub fn from_dataset(d: Dataset) -> Option<Toy> {
        d.spec().toy()
    }

    /// Mixture centres after scaling (empty for the Swiss roll, which has no modes).
    pub fn modes(self) -> Vec<[f64; 2]> {
        match self {
            Toy::EightGaussians => {
                let s = FRAC_1_SQRT_2;
                [
                    (1.0, 0.0),
                    (-1.0, 0.0),
                    (0.0, 1.0),
                    (0.0, -1.0),
                    (s, s),
                    (s, -s),
                    (-s, s),
                    (-s, -s),
                ]
                .iter()
                .map(|&(x, y)| [2.0 * x / 1.414, 2.0 * y / 1.414])
                .collect()
            }
            Toy::TwentyFiveGaussians => (-2..=2)
                .flat_map(|x| {
                    (-2..=2).map(move |y| [2.0 * x as f64 / 2.828, 2.0 * y as f64 / 2.828])
                })
                .collect(),
            Toy::SwissRoll => Vec::new(),
        }
    }

    /// Standard deviation of each mixture component after scaling.
    pub fn mode_std(self) -> f64 {
        match self {
            Toy::EightGaussians => 0.02 / 1.414,
            Toy::TwentyFiveGaussians => 0.05 / 2.828,
            Toy::SwissRoll => 0.25 / 7.5,
        }
    }

    /// Draw `n` points, appended to `out` as x0, y0, x1, y1, ...
    pub fn sample_into<R: Rng>(self, rng: &mut R, n: usize, out: &mut Vec<f32>) {
        fn normal<R: Rng>(rng: &mut R) -> f64 {
            StandardNormal.sample(rng)
        }
        match self {
            Toy::EightGaussians | Toy::TwentyFiveGaussians => {
                let modes = self.modes();
                let (noise, scale) = match self {
                    Toy::EightGaussians => (0.02, 1.414),
                    _ => (0.05, 2.828),
                };
                for _ in 0..n {
                    let nx = normal(rng) * noise;
                    let ny = normal(rng) * noise;
                    let k = rng.random_range(0..modes.len());
                    let m = modes[k];
                    out.push((m[0] + nx / scale) as f32);
                    out.push((m[1] + ny / scale) as f32);
                }
            }
            Toy::SwissRoll => {
                for _ in 0..n {
                    let t = 1.5 * PI * (1.0 + 2.0 * rng.random::<f64>());
                    let _height = 21.0 * rng.random::<f64>();
                    let x = t * t.cos() + 0.25 * normal(rng);
                    let _y = 0.25 * normal(rng);
                    let z = t * t.sin() + 0.25 * normal(rng);
                    out.push((x / 7.5) as f32);
                    out.push((z / 7.5) as f32);
                }
            }
        }
    }

    pub fn sample<R: Rng>(self, rng: &mut R, n: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(2 * n);
        self.sample_into(rng, n, &mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn eight_gaussians_sit_on_their_modes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let pts = Toy::EightGaussians.sample(&mut rng, 1000);
        let modes = Toy::EightGaussians.modes();
        for p in pts.chunks(2) {
            let d = modes
                .iter()
                .map(|m| ((p[0] as f64 - m[0]).powi(2) + (p[1] as f64 - m[1]).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!(
                d < 5.0 * Toy::EightGaussians.mode_std(),
                "point {p:?} is {d} from a mode"
            );
        }
        assert!((modes[0][0] - 2.0 / 1.414).abs() < 1e-12);
    }

    #[test]
    fn swiss_roll_range() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let pts = Toy::SwissRoll.sample(&mut rng, 2000);
        let max = pts.iter().fold(0f32, |a, &b| a.max(b.abs()));
        assert!(max > 1.2 && max < 2.2, "max |coord| {max}");
    }
}
