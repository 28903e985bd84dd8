//! Where a run's numbers were computed: the CPU model and the SIMD level the matrix kernels
//! dispatch to. The same config and seed give the same bytes only on the same kernel set (the
//! GEMM kernels of different SIMD levels, and of different CPUs' dispatch, sum in different
//! orders), so `run.json` and each checkpoint record it, a resume on another CPU says so, and
//! `harness verify` flags a configuration whose seeds ran on different CPUs.

use std::sync::OnceLock;

/// The CPU's model name (`/proc/cpuinfo`'s `model name`, else the architecture).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The widest SIMD level gemm's runtime dispatch picks on this CPU.
pub fn kernel_set() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            "avx512f"
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            "avx2+fma"
        } else {
            "sse2"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

/// `"<model> [<kernel set>]"`, computed once: what run.json and checkpoints record.
pub fn cpu_label() -> String {
    static LABEL: OnceLock<String> = OnceLock::new();
    LABEL
        .get_or_init(|| format!("{} [{}]", cpu_model(), kernel_set()))
        .clone()
}

/// Say on stderr when the checkpoint being resumed was written on another CPU or kernel set
/// (`was`; `None` for checkpoints that predate the record): the run continues, its run.json
/// lists both, and its bytes may differ from an uninterrupted run's on either machine.
pub fn warn_if_other_cpu(dir: &std::path::Path, was: Option<&str>) {
    let now = cpu_label();
    if let Some(was) = was.filter(|w| *w != now) {
        crate::errln!(
            "{}: resuming on another CPU than the checkpoint's (written on {was}, resumed on \
             {now}); the run continues and run.json records both, but its bytes may differ from \
             an uninterrupted run's on either CPU",
            dir.display()
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_label_names_a_model_and_a_kernel_set() {
        let l = super::cpu_label();
        assert!(l.ends_with(']') && l.contains(" ["), "{l}");
        assert!(!super::cpu_model().is_empty());
    }
}
