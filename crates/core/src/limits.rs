//! What one configuration may ask of the machine: an upper bound per size key, and an estimate
//! of its memory against the machine's. A grid file is checked against both while it is
//! planned, so a configuration that cannot fit is refused up front (exit 2, naming the key)
//! instead of aborting on an allocation at run time, again on every rerun.

use crate::config::{Model, RunConfig};

/// The largest value each size key accepts. Far above any setting of the papers (the largest:
/// dim 512, batch 256, 10 000 eval samples), far below what makes an allocation fail.
pub const BOUNDS: &[(&str, u64)] = &[
    ("z_dim", 4096),
    ("dim", 8192),
    ("depth", 64),
    ("g_hidden", 65_536),
    ("c_hidden", 65_536),
    ("batch_size", 65_536),
    ("n_critic", 10_000),
    ("gen_iters", 100_000_000),
    ("eval_samples", 1_000_000),
];

/// Most layers `g_hidden` / `c_hidden` may list.
pub const MAX_HIDDEN_LAYERS: usize = 64;

/// A size key over its bound: the key and the message.
pub fn check_bounds(c: &RunConfig) -> Result<(), (&'static str, String)> {
    let bound = |key: &str| {
        BOUNDS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, b)| *b)
            .expect("every checked key has a bound")
    };
    let widths = |h: &Option<Vec<u32>>| h.as_ref().map(|h| h.iter().copied().max().unwrap_or(0));
    let values: [(&'static str, Option<u64>); 9] = [
        ("z_dim", Some(c.z_dim.into())),
        ("dim", c.dim.map(u64::from)),
        ("depth", c.depth.map(u64::from)),
        ("g_hidden", widths(&c.g_hidden).map(u64::from)),
        ("c_hidden", widths(&c.c_hidden).map(u64::from)),
        ("batch_size", Some(c.batch_size.into())),
        ("n_critic", Some(c.n_critic.into())),
        ("gen_iters", Some(c.gen_iters.into())),
        ("eval_samples", Some(c.eval_samples.into())),
    ];
    for (key, v) in values {
        let max = bound(key);
        if let Some(v) = v.filter(|&v| v > max) {
            let what = if key.ends_with("_hidden") {
                "each width"
            } else {
                "it"
            };
            return Err((
                key,
                format!("{key} = {v} is too large: {what} must be in 1..={max}"),
            ));
        }
    }
    for (key, h) in [("g_hidden", &c.g_hidden), ("c_hidden", &c.c_hidden)] {
        if let Some(h) = h.as_ref().filter(|h| h.len() > MAX_HIDDEN_LAYERS) {
            return Err((
                key,
                format!(
                    "{key} lists {} layers; at most {MAX_HIDDEN_LAYERS} are allowed",
                    h.len()
                ),
            ));
        }
    }
    Ok(())
}

/// A rough upper estimate of a run's memory in bytes, and the size keys to reduce.
///
/// Parameters are counted exactly per family; each costs its weight, gradient and two
/// optimiser moments. Activations count every layer's output per sample, kept for the backward
/// pass and the penalty's input gradient (x8); the convolutions' im2col buffers are transient
/// (x2). Evaluation holds its samples, and MNIST is held once.
pub fn estimate_bytes(c: &RunConfig) -> (f64, &'static str) {
    let data = c.data();
    let data_dim = data.dim() as f64;
    let z = c.z_dim as f64;
    let batch = c.batch_size as f64;
    let (params, kept, transient, width_key) = match c.model {
        Model::ToyMlp => {
            let d = c.dim.unwrap_or(1) as f64;
            let depth = c.depth.unwrap_or(1) as f64;
            let hidden = (depth - 1.0) * d * d;
            let params = (z * d + hidden + 2.0 * d) + (2.0 * d + hidden + d);
            (params, 2.0 * depth * d, 0.0, "`dim` or `depth`")
        }
        Model::Mlp => {
            let chain = |input: f64, h: &Option<Vec<u32>>, output: f64| {
                let mut widths = vec![input];
                widths.extend(h.iter().flatten().map(|&w| w as f64));
                widths.push(output);
                let params: f64 = widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
                (params, widths.iter().sum::<f64>())
            };
            let (gp, ga) = chain(z, &c.g_hidden, data_dim);
            let (cp, ca) = chain(data_dim, &c.c_hidden, 1.0);
            (gp + cp, ga + ca, 0.0, "`g_hidden` or `c_hidden`")
        }
        Model::Dcgan => {
            let d = c.dim.unwrap_or(1) as f64;
            let ch = data.channels().unwrap_or(1) as f64;
            // gan_mnist.py: G z -> 4x4x4d -> 8x8x2d -> 14x14xd -> 28x28xch; C mirrors it; 5x5
            // kernels.
            let g = z * 64.0 * d + 25.0 * (8.0 * d * d + 2.0 * d * d + d * ch);
            let cr = 25.0 * (d * ch + 2.0 * d * d + 8.0 * d * d) + 64.0 * d;
            let act = (64.0 + 128.0 + 196.0) * d + data_dim + (196.0 + 98.0 + 64.0) * d;
            let im2col = 25.0 * (4.0 * d * 64.0 + 2.0 * d * 196.0 + d * data_dim)
                + 25.0 * (data_dim + d * 196.0 + 2.0 * d * 49.0);
            (g + cr, act, im2col, "`dim`")
        }
    };
    let weights = 4.0 * params;
    let activations = batch * (8.0 * kept + 2.0 * transient);
    let eval = 4.0 * c.eval_samples as f64 * data_dim;
    let dataset = data.stored_values() as f64;
    let bytes = 4.0 * (weights + activations + eval + dataset);
    let key = if eval > weights + activations {
        "`eval_samples`"
    } else if activations > weights {
        match c.model {
            Model::Dcgan => "`batch_size` or `dim`",
            _ => "`batch_size`",
        }
    } else {
        width_key
    };
    (bytes, key)
}

/// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`), where it can be read.
pub fn machine_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Address space a run needs besides its tensors: thread stacks, the allocator's reserved
/// arenas, the binary (a training `harness` process maps 1.4 GB on this project's machine).
const BASE_ADDRESS_SPACE: f64 = 2e9;

/// The memory a configuration may count on, and what sets it: the machine's ([`machine_bytes`])
/// or, when lower, an address-space limit (`ulimit -v`) less what a process maps besides its
/// tensors. Under such a limit an allocation beyond it aborts the process (exit 134), on every
/// rerun; refused up front, the configuration is an exit-2 error naming its key instead.
pub fn memory_limit() -> Option<(f64, &'static str)> {
    use nix::sys::resource::{Resource, getrlimit};
    let machine = machine_bytes().map(|b| (b, "this machine's"));
    let limited = getrlimit(Resource::RLIMIT_AS)
        .ok()
        .map(|(soft, _)| soft)
        .filter(|&soft| soft != nix::sys::resource::RLIM_INFINITY)
        .map(|soft| {
            let left = (soft as f64 - BASE_ADDRESS_SPACE).max(0.0);
            (
                left,
                "the address space left under this process's limit (ulimit -v) of",
            )
        });
    match (machine, limited) {
        (Some(m), Some(l)) if l.0 < m.0 => Some(l),
        (None, l) => l,
        (m, _) => m,
    }
}

/// Human size, e.g. `160.0 GB`.
pub fn show_bytes(b: f64) -> String {
    format!("{:.1} GB", b / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunSpec;

    fn config(text: &str) -> RunConfig {
        toml::from_str::<RunSpec>(text).unwrap().resolve().unwrap()
    }

    #[test]
    fn the_papers_settings_are_in_bounds_and_fit_in_a_few_gigabytes() {
        for text in [
            "",
            "dataset = \"mnist\"\n",
            "dataset = \"mnist\"\nmodel = \"dcgan\"\n",
            "profile = \"wgangp-toy-code\"\n",
            "profile = \"seed\"\n",
        ] {
            let c = config(text);
            assert_eq!(check_bounds(&c), Ok(()), "{text}");
            let (b, _) = estimate_bytes(&c);
            assert!(b > 1e6 && b < 4e9, "{text}: {}", show_bytes(b));
        }
    }

    #[test]
    fn a_huge_width_is_out_of_bounds_and_named_in_the_estimate() {
        let c = config("dim = 200000\n");
        let (key, msg) = check_bounds(&c).unwrap_err();
        assert_eq!(key, "dim");
        assert_eq!(msg, "dim = 200000 is too large: it must be in 1..=8192");
        let (b, key) = estimate_bytes(&c);
        assert!(b > 1e11, "{}", show_bytes(b));
        assert_eq!(key, "`dim` or `depth`");
        let c = config("eval_samples = 1000000\nbatch_size = 65536\ndim = 8192\ndepth = 64\n");
        assert!(estimate_bytes(&c).0 > 1e12);
    }
}
