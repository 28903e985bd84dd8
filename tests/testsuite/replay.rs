//! `harness replay` writes the files `docs/replay-format.md` documents, with the documented
//! names, shapes, dtypes and row counts. (Whether the numbers are PyTorch's is the oracle's job:
//! `oracle/run`.) The binary is run as a child process: `--f64` changes the device's default
//! dtype for the whole process, which would leak into other tests of this one.

use crate::common;

use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .expect("harness runs")
}

fn replay(config: &Path, steps: u32, out: &Path, f64: bool) -> Output {
    let steps = steps.to_string();
    let mut args = vec![
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--steps",
        &steps,
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        common::mnist_dir().to_str().unwrap(),
    ];
    if f64 {
        args.push("--f64");
    }
    harness(&args)
}

/// name -> (dtype, shape) of a safetensors file.
fn header(path: &Path) -> BTreeMap<String, (Dtype, Vec<usize>)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, t)| (name, (t.dtype(), t.shape().to_vec())))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A successful replay's folder.
fn replayed(config: &Path, steps: u32, out: &Path, f64: bool) -> std::path::PathBuf {
    let o = replay(config, steps, out, f64);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.to_path_buf()
}

/// The `net` column, space-separated.
fn nets(rows: &[csv::StringRecord]) -> String {
    rows.iter().map(|r| &r[1]).collect::<Vec<_>>().join(" ")
}

fn trace(dir: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(dir.join("trace.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec!["seq", "net", "iter", "critic_loss", "gen_loss", "penalty"]
    );
    r.records().map(Result::unwrap).collect()
}

/// toy-mlp wgan-gp, generator first, 3 iterations of n_critic = 2: 6 critic steps and 2
/// generator steps (the first iteration has none), each with its inputs, in both precisions.
#[test]
fn replay_writes_the_documented_files() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write(
        tmp.path(),
        "toy.toml",
        "loss = \"wgan-gp\"\nmodel = \"toy-mlp\"\ndim = 8\ndepth = 2\nbatch_size = 5\n\
         n_critic = 2\norder = \"generator-first\"\nseed = 4\n",
    );
    for (f64, dtype) in [(false, Dtype::F32), (true, Dtype::F64)] {
        let out = replayed(
            &config,
            3,
            &tmp.path().join(if f64 { "r64" } else { "r32" }),
            f64,
        );

        let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
        assert!(cfg.contains("order = \"generator-first\""), "{cfg}");

        // Weights: PyTorch nn.Sequential names and [out, in] layout, in the compute dtype.
        let want: BTreeMap<String, (Dtype, Vec<usize>)> = [
            ("model.0.weight", vec![8, 2]),
            ("model.0.bias", vec![8]),
            ("model.2.weight", vec![8, 8]),
            ("model.2.bias", vec![8]),
            ("model.4.weight", vec![1, 8]),
            ("model.4.bias", vec![1]),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), (dtype, s)))
        .collect();
        for stage in ["init", "final"] {
            assert_eq!(header(&out.join(stage).join("critic.safetensors")), want);
            let g = header(&out.join(stage).join("generator.safetensors"));
            assert_eq!(g["model.0.weight"], (dtype, vec![8, 2]));
            assert_eq!(g["model.4.weight"], (dtype, vec![2, 8]));
        }

        let rows = trace(&out);
        assert_eq!(
            nets(&rows),
            "critic critic generator critic critic generator critic critic"
        );
        let iters: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
        assert_eq!(iters, ["0", "0", "1", "1", "1", "2", "2", "2"]);
        let inputs = header(&out.join("inputs.safetensors"));
        for (seq, r) in rows.iter().enumerate() {
            assert_eq!(r[0], seq.to_string());
            let finite = |i: usize| r[i].parse::<f64>().is_ok_and(f64::is_finite);
            let z = &inputs[&format!("s{seq}.z")];
            assert_eq!(z, &(Dtype::F32, vec![5, 2]));
            if &r[1] == "critic" {
                assert!(finite(3) && finite(5) && r[4].is_empty(), "{r:?}");
                assert_eq!(inputs[&format!("s{seq}.real")], (Dtype::F32, vec![5, 2]));
                assert_eq!(inputs[&format!("s{seq}.eps")], (Dtype::F32, vec![5, 1]));
            } else {
                assert!(finite(4) && r[3].is_empty() && r[5].is_empty(), "{r:?}");
                assert!(!inputs.contains_key(&format!("s{seq}.real")));
            }
        }
        assert_eq!(inputs.len(), 6 * 3 + 2);
    }
    // Same draws in both precisions: the f64 run's first critic loss equals the f32 run's to
    // f32 precision.
    let first = |d: &str| trace(&tmp.path().join(d))[0][3].parse::<f64>().unwrap();
    let (a, b) = (first("r32"), first("r64"));
    assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-3), "{a} vs {b}");
}

/// The seed schedule's generator step reuses its critic step's noise, and a batch-norm critic
/// gets PyTorch's BatchNorm2d names with `num_batches_tracked`, without the biases that batch
/// norm cancels.
#[test]
fn replay_of_a_batch_norm_critic_names_its_buffers() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write(
        tmp.path(),
        "bn.toml",
        "loss = \"wgan-clip\"\nmodel = \"dcgan\"\ndataset = \"mnist\"\ncritic_norm = \
         \"batchnorm\"\ndim = 2\nz_dim = 4\nbatch_size = 3\nn_critic = 2\nschedule = \
         \"seed-batch-index\"\n",
    );
    let out = replayed(&config, 2, &tmp.path().join("r"), false);
    let rows = trace(&out);
    assert_eq!(
        nets(&rows),
        "critic generator critic critic generator critic"
    );
    let bytes = std::fs::read(out.join("inputs.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        st.tensor("s0.z").unwrap().data(),
        st.tensor("s1.z").unwrap().data()
    );
    assert_ne!(
        st.tensor("s0.z").unwrap().data(),
        st.tensor("s2.z").unwrap().data()
    );
    assert_eq!(st.tensor("s0.real").unwrap().shape(), [3, 784]);

    for (stage, batches) in [("init", 0i64), ("final", 4 * 2 + 2)] {
        let path = out.join(stage).join("critic.safetensors");
        let h = header(&path);
        let names: Vec<&str> = h.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "bn2.bias",
                "bn2.num_batches_tracked",
                "bn2.running_mean",
                "bn2.running_var",
                "bn2.weight",
                "bn3.bias",
                "bn3.num_batches_tracked",
                "bn3.running_mean",
                "bn3.running_var",
                "bn3.weight",
                "conv1.bias",
                "conv1.weight",
                "conv2.weight",
                "conv3.weight",
                "output.bias",
                "output.weight",
            ]
        );
        assert_eq!(h["conv2.weight"], (Dtype::F32, vec![4, 2, 5, 5]));
        assert_eq!(h["bn3.running_var"], (Dtype::F32, vec![8]));
        assert_eq!(h["bn2.num_batches_tracked"], (Dtype::I64, vec![]));
        let bytes = std::fs::read(&path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let n = st.tensor("bn2.num_batches_tracked").unwrap();
        assert_eq!(n.data(), batches.to_le_bytes());
    }
    let g = header(&out.join("final").join("generator.safetensors"));
    assert_eq!(g["input.weight"], (Dtype::F32, vec![4 * 4 * 4 * 2, 4]));
    assert_eq!(g["deconv1.weight"], (Dtype::F32, vec![8, 4, 5, 5]));
    assert_eq!(g["deconv3.weight"], (Dtype::F32, vec![2, 1, 5, 5]));
}

/// Bad input is refused with exit code 2 and nothing is written; an existing folder with
/// content is never touched.
#[test]
fn replay_refuses_bad_input_and_keeps_existing_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "good.toml", "model = \"toy-mlp\"\ndim = 4\n");
    let bad = write(tmp.path(), "bad.toml", "loss = \"wgan-gq\"\n");
    let taken = tmp.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("notes.txt"), "mine").unwrap();
    let fresh = tmp.path().join("fresh");
    for (o, what) in [
        (replay(&bad, 1, &fresh, false), "wgan-gq"),
        (replay(&good, 0, &fresh, false), "--steps"),
        (replay(&good, 1, &taken, false), "not an empty folder"),
    ] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(what), "{err}");
    }
    assert!(!fresh.exists());
    assert_eq!(
        std::fs::read_to_string(taken.join("notes.txt")).unwrap(),
        "mine"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 3, "{leftovers:?}");
}
