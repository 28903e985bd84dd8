//! Number and name formatting shared by the report's tables, charts and page.

/// Four significant digits, no exponent for ordinary magnitudes.
pub fn sig(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let d = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).clamp(0, 6) as usize
    };
    let s = format!("{v:.d$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// "N runs still running: partial results".
pub fn running_note(n: usize) -> String {
    format!(
        "{n} run{} still running: partial results.",
        if n == 1 { "" } else { "s" }
    )
}

/// `3 done, 1 failed`: the non-zero counts with their names, or `none` when all are zero.
pub fn counted<'a>(counts: impl IntoIterator<Item = (usize, &'a str)>, none: &str) -> String {
    let parts: Vec<String> = counts
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if parts.is_empty() {
        none.into()
    } else {
        parts.join(", ")
    }
}

/// File-name-safe version of a metric or sweep name.
pub fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits() {
        assert_eq!(sig(7.5), "7.5");
        assert_eq!(sig(0.123456), "0.1235");
        assert_eq!(sig(1234.5678), "1235");
        assert_eq!(sig(0.0), "0");
        assert_eq!(sig(1e-5), "1.000e-5");
    }

    #[test]
    fn names_become_file_names() {
        assert_eq!(safe("clip vs/gp.1"), "clip_vs_gp_1");
    }
}
