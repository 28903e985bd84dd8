//! The metric registry: every metric a run records, the file it is in, the direction in which
//! it improves, the largest value it can take, and what it is. This table is the only place
//! that decides a direction: the summary's "best" values, the report's bold cells and arrows,
//! `ls`, the dashboard and the grid file's claims all ask it. Adding a metric is adding one line.

use std::fmt;

use crate::config::Dataset;

/// The file a metric is recorded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricFile {
    /// `metrics.csv`: one column, one row per logged generator iteration.
    Metrics,
    /// `eval.csv`: `metric` value of the tidy `step,wall_s,metric,value` rows.
    Eval,
    /// `layers.csv`: `quantity` value of the tidy `step,layer,quantity,value` rows.
    Layers,
}

impl MetricFile {
    pub fn name(self) -> &'static str {
        match self {
            MetricFile::Metrics => super::run_files::METRICS,
            MetricFile::Eval => super::run_files::EVAL,
            MetricFile::Layers => super::run_files::LAYERS,
        }
    }
}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Lower,
    Higher,
    /// A diagnostic to read as a curve, not a score (losses of a two-player game, learning
    /// rates, per-layer statistics).
    None,
}

impl Direction {
    /// Whether `a` is better than `b` (never, for [`Direction::None`]).
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Lower => a < b,
            Direction::Higher => a > b,
            Direction::None => false,
        }
    }

    /// `↓`, `↑` or nothing, as table headers mark a column.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::Lower => "↓",
            Direction::Higher => "↑",
            Direction::None => "",
        }
    }

    /// `lower is better`, `higher is better` or nothing.
    pub fn phrase(self) -> &'static str {
        match self {
            Direction::Lower => "lower is better",
            Direction::Higher => "higher is better",
            Direction::None => "",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Lower => "lower",
            Direction::Higher => "higher",
            Direction::None => "-",
        })
    }
}

/// The largest value a metric can take, where it has one: a claim that a run reaches more is
/// refused as impossible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceiling {
    /// No upper bound (distances, losses, per-layer statistics).
    None,
    /// A share of samples: at most 1.
    Share,
    /// A count of MNIST's digit classes (10), or the classifier score, which it bounds:
    /// exp E KL(p(y|x) || p(y)) <= exp H(y) <= 10.
    Classes,
    /// A count of the data set's modes ([`crate::data::spec::DataSpec::modes`]): 8 on
    /// 8 Gaussians, 25 on 25 Gaussians (the Swiss roll has none, and the metric is not recorded
    /// there).
    Modes,
}

/// One registered metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub file: MetricFile,
    pub direction: Direction,
    pub description: &'static str,
    pub ceiling: Ceiling,
    /// Whether the metric only takes whole values (a count of modes or classes): ties are
    /// common and the values pile up at the ceiling, so claims test it with rank and sign tests
    /// rather than t-tests, whose normal model such values break.
    pub counted: bool,
}

impl Metric {
    /// The largest value the metric can take on `dataset`, where it has one.
    pub fn max_on(&self, dataset: Dataset) -> Option<f64> {
        match self.ceiling {
            Ceiling::None => None,
            Ceiling::Share => Some(1.0),
            Ceiling::Classes => dataset.spec().classes.map(|n| n as f64),
            Ceiling::Modes => dataset.spec().modes.map(|n| n as f64),
        }
    }

    /// Whether claims test the metric with rank and sign tests instead of t-tests: a count
    /// (whole values, ties) or a capped value (seeds pile up at the ceiling), either of which
    /// breaks the normal model a t-test needs.
    pub fn rank_tested(&self) -> bool {
        self.counted || self.ceiling != Ceiling::None
    }

    /// The same metric with an upper bound.
    const fn at_most(self, ceiling: Ceiling) -> Metric {
        Metric { ceiling, ..self }
    }

    /// The same metric, whole values only.
    const fn counts(self) -> Metric {
        Metric {
            counted: true,
            ..self
        }
    }
}

const fn m(
    name: &'static str,
    file: MetricFile,
    direction: Direction,
    description: &'static str,
) -> Metric {
    Metric {
        name,
        file,
        direction,
        description,
        ceiling: Ceiling::None,
        counted: false,
    }
}

use Direction::{Higher, Lower, None as Neither};
use MetricFile::{Eval, Layers, Metrics};

/// Every metric, by file. Within `eval.csv` the toy scores come first, then MNIST's, each led
/// by the score `harness ls` shows for a run.
#[rustfmt::skip]
pub const REGISTRY: &[Metric] = &[
    m("critic_loss", Metrics, Neither, "critic loss without the penalty: wgan E[C(G(z))] - E[C(x)], gan/gan-ns -E[log D(x)] - E[log(1 - D(G(z)))], hinge E[relu(1 - C(x))] + E[relu(1 + C(G(z)))]"),
    m("gen_loss", Metrics, Neither, "generator loss: -E[C(G(z))] (wgan, hinge), E[log(1 - D(G(z)))] (gan), -E[log D(G(z))] (gan-ns)"),
    m("estimate", Metrics, Neither, "wgan and hinge: Wasserstein estimate, the critic gap E[C(x)] - E[C(G(z))] (WGAN Fig. 3); gan and gan-ns: JS estimate log 2 - L_D/2 (WGAN Fig. 4): tracks sample quality within a run, not across critics"),
    m("penalty", Metrics, Neither, "the penalty term: gp lambda E[(||grad_x C|| - 1)^2] at interpolates (lp: one-sided), r1/r2 gamma/2 E[||grad_x C||^2] at real/generated data"),
    m("grad_norm", Metrics, Neither, "mean ||grad_x C|| where the penalty takes it (interpolates for gp/lp, real data for r1, generated data for r2)"),
    m("val_critic_loss", Metrics, Neither, "critic loss on held-out real data at evaluation steps (WGAN-GP Fig. 5b)"),
    m("lr_g", Metrics, Neither, "generator learning rate at that step"),
    m("lr_c", Metrics, Neither, "critic learning rate at that step"),
    m("modes_covered", Eval, Higher, "toy: modes with at least one high-quality sample (within 3 std of the mode; VEEGAN, PacGAN); Stacked MNIST: digit triples (of 1,000) the evaluator assigns at least one sample").at_most(Ceiling::Modes).counts(),
    m("modes_covered_1pct", Eval, Higher, "toy: modes whose high-quality samples are at least 1% of all samples (the strict count)").at_most(Ceiling::Modes).counts(),
    m("high_quality_frac", Eval, Higher, "toy: share of samples within 3 std of their nearest mode").at_most(Ceiling::Share),
    m("mode_kl", Eval, Lower, "toy: KL of the high-quality samples' mode histogram to uniform; Stacked MNIST: KL of the digit-triple histogram to uniform"),
    m("mode_js", Eval, Lower, "toy: JS divergence of that histogram to uniform"),
    m("sliced_wasserstein", Eval, Lower, "toy: sliced Wasserstein-1 distance to held-out real samples (128 projections)"),
    m("fld", Eval, Lower, "MNIST: Frechet LeNet distance, the FID formula on the evaluator's 128-d features"),
    m("classifier_score", Eval, Higher, "MNIST: exp E KL(p(y|x) || p(y)), the Inception Score formula with the evaluator").at_most(Ceiling::Classes),
    m("classes_covered", Eval, Higher, "MNIST: classes predicted for at least one sample").at_most(Ceiling::Classes).counts(),
    m("class_kl", Eval, Lower, "MNIST: KL of the predicted-class histogram to uniform"),
    m("precision", Eval, Higher, "MNIST: improved precision (Kynkaanniemi et al. 2019, k = 3)").at_most(Ceiling::Share),
    m("recall", Eval, Higher, "MNIST: improved recall (k = 3)").at_most(Ceiling::Share),
    m("act_grad_norm", Layers, Neither, "L2 norm of d critic_loss / d h, h the activations that layer outputs (after its nonlinearity; the last layer's is the critic's score) on the held-out real and the fake batch: the quantity WGAN-GP Fig. 1b plots"),
    m("grad_norm", Layers, Neither, "L2 norm of d critic_loss / d W of that layer's weight (not Fig. 1b's quantity, which is act_grad_norm)"),
    m("weight_abs_max", Layers, Neither, "largest |w| of that layer's weight"),
    m("frac_at_clip", Layers, Neither, "weight clipping: share of that layer's weights at +-c"),
    m("sigma_max", Layers, Neither, "largest singular value (SVD) of the weight that layer computes with (W / sigma under spectral normalisation), a convolution's kernel as the [out, in*k*k] matrix spectral normalisation uses (not the convolution's operator norm)"),
];

/// The registered metric `name` of `file`.
pub fn find(file: MetricFile, name: &str) -> Option<&'static Metric> {
    REGISTRY.iter().find(|m| m.file == file && m.name == name)
}

/// The direction of a metric of `file`; [`Direction::None`] for names the registry lacks.
pub fn direction(file: MetricFile, name: &str) -> Direction {
    find(file, name).map_or(Direction::None, |m| m.direction)
}

/// The direction of an `eval.csv` score.
pub fn eval_direction(name: &str) -> Direction {
    direction(MetricFile::Eval, name)
}

/// The registry as the Markdown table `docs/results-layout.md` carries (a test checks that it
/// does, verbatim).
pub fn markdown_table() -> String {
    let mut out = String::from("| metric | file | better | meaning |\n| --- | --- | --- | --- |\n");
    for m in REGISTRY {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            m.name,
            m.file.name(),
            m.direction,
            m.description.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_per_file_and_directions_are_those_of_the_papers() {
        for (i, a) in REGISTRY.iter().enumerate() {
            assert!(
                REGISTRY[i + 1..]
                    .iter()
                    .all(|b| (b.file, b.name) != (a.file, a.name)),
                "{} twice in {}",
                a.name,
                a.file.name()
            );
        }
        assert_eq!(eval_direction("fld"), Direction::Lower);
        assert_eq!(eval_direction("modes_covered"), Direction::Higher);
        assert_eq!(eval_direction("not_a_metric"), Direction::None);
        assert!(Direction::Lower.better(1.0, 2.0) && Direction::Higher.better(2.0, 1.0));
        assert!(!Direction::None.better(2.0, 1.0));
    }

    #[test]
    fn counts_are_bounded_by_what_the_dataset_has() {
        let modes = find(MetricFile::Eval, "modes_covered").unwrap();
        assert_eq!(modes.max_on(Dataset::EightGaussians), Some(8.0));
        assert_eq!(modes.max_on(Dataset::TwentyFiveGaussians), Some(25.0));
        assert_eq!(modes.max_on(Dataset::SwissRoll), None);
        let classes = find(MetricFile::Eval, "classes_covered").unwrap();
        assert_eq!(classes.max_on(Dataset::Mnist), Some(10.0));
        let share = find(MetricFile::Eval, "recall").unwrap();
        assert_eq!(share.max_on(Dataset::Mnist), Some(1.0));
        let fld = find(MetricFile::Eval, "fld").unwrap();
        assert_eq!(fld.max_on(Dataset::Mnist), None);
    }
}
