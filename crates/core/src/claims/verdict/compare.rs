//! Comparisons ("A better than B"): each pair of configurations over seeds, a Welch t-test of
//! the means or, for counted metrics, an exact rank-sum test.

use super::group::{Group, Labeller, same_config};
use super::*;

/// Every pair of configurations, one on each side of the comparison (`[better, than]`), that
/// agrees on the `same` keys.
pub(super) fn comparisons(
    claim: &Claim,
    groups: &[Group],
    [better, than]: [&Selector; 2],
    same: &[String],
    keys: &[String],
) -> Vec<Item> {
    let select = &claim.select;
    let side = |s: &Selector| -> Vec<&Group> {
        groups
            .iter()
            .filter(|g| selects(select, &g.config) && selects(s, &g.config))
            .collect()
    };
    let (b, t) = (side(better), side(than));
    let labeller = Labeller::new(
        &[better, than, select],
        b.iter().chain(&t).map(|g| &g.config),
        keys,
    );
    let mut items = Vec::new();
    for gb in &b {
        for gt in &t {
            if agree_on(same, &gb.config, &gt.config) && !same_config(&gb.config, &gt.config) {
                items.push(compare(&claim.metric, gb, gt, &labeller));
            }
        }
    }
    items
}

pub(super) fn side(metric: &str, g: &Group, label: String) -> Side {
    let values: Vec<f64> = g
        .runs
        .iter()
        .filter_map(|r| r.final_value(metric))
        .map(|v| if v.is_finite() { v } else { f64::NAN })
        .collect();
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    Side {
        label,
        n: finite.len(),
        mean: (!finite.is_empty()).then(|| stats::mean(&finite)),
        ci95: stats::t_interval(&finite, 0.95),
        values,
    }
}

impl Side {
    fn finite(&self) -> Vec<f64> {
        self.values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect()
    }

    fn describe(&self) -> String {
        let n_bad = self.values.len() - self.n;
        let bad = if n_bad > 0 {
            format!(", {n_bad} non-finite left out")
        } else {
            String::new()
        };
        match self.mean {
            Some(m) => format!(
                "{} {}{} (n={}{bad})",
                self.label,
                fmt_num(m),
                fmt_ci(self.ci95),
                self.n
            ),
            None => format!("{} no finite value (n=0{bad})", self.label),
        }
    }
}

pub(super) fn compare(metric: &str, gb: &Group, gt: &Group, l: &Labeller) -> Item {
    let info = scalar_metric(metric);
    let higher = info.is_some_and(|m| m.direction == Direction::Higher);
    let counted = info.is_some_and(|m| m.rank_tested());
    let (b, t) = (
        side(metric, gb, l.label(&gb.config)),
        side(metric, gt, l.label(&gt.config)),
    );
    let (bv, tv) = (b.finite(), t.finite());
    // Claimed: mean(better) above mean(than) for a higher-is-better metric, below otherwise.
    let orient = if higher { 1.0 } else { -1.0 };
    let mut d = PairDetail {
        better: b,
        than: t,
        method: Method::NoData,
        hedges_g: stats::hedges_g(&bv, &tv).map(|g| orient * g),
        p: None,
        p_opposite: None,
        df: None,
        seeds_needed: None,
    };
    let mut why = if bv.len() < 2 || tv.len() < 2 {
        "fewer than 2 seeds with a finite value on a side: no test (one seed never decides)".into()
    } else if let (false, Some(w)) = (counted, stats::welch(&bv, &tv)) {
        welch_rule(&mut d, w, higher)
    } else if !counted {
        no_spread_rule(&mut d, bv[0] - tv[0], higher)
    } else {
        rank_rule(&mut d, &bv, &tv, higher)
    };
    let bad_better = d.better.values.len() - d.better.n;
    let p = if bad_better > 0 {
        why.push_str(&format!(
            "; never supported: {bad_better} seed(s) of the better side ended non-finite"
        ));
        None
    } else {
        d.p
    };
    let q = d.p_opposite;
    let label = format!("{} vs {}", d.better.label, d.than.label);
    let sentence = format!("{} vs {}: {why}", d.better.describe(), d.than.describe());
    part(label, sentence, p, q, Detail::Comparison(d))
}

/// Two or more seeds per side of a continuous metric with some variance: one-sided Welch's
/// t-test.
pub(super) fn welch_rule(d: &mut PairDetail, w: stats::Welch, higher: bool) -> String {
    d.method = Method::Welch;
    let (p, q) = if higher {
        (w.p_greater, w.p_less)
    } else {
        (w.p_less, w.p_greater)
    };
    (d.p, d.p_opposite, d.df) = (Some(p), Some(q), Some(w.df));
    let g = d
        .hedges_g
        .map_or(String::new(), |g| format!("g = {}, ", fmt_num(g)));
    let head = format!(
        "{g}p = {}, other way {} (Welch, one-sided)",
        fmt_p(p),
        fmt_p(q)
    );
    if p <= ALPHA || q <= ALPHA {
        return head;
    }
    d.seeds_needed = d.hedges_g.and_then(stats::seeds_needed);
    let more = match (d.seeds_needed, d.hedges_g) {
        (Some(n), _) if n > stats::MAX_SEEDS => format!(
            "more than {} seeds per side needed for 80% power at this effect",
            stats::MAX_SEEDS
        ),
        (Some(n), _) => format!("about {n} seeds per side needed for 80% power at this effect"),
        (None, Some(g)) if g < 0.0 => "the observed difference goes the other way".into(),
        (None, _) => "no difference observed".into(),
    };
    format!("{head}; {more}")
}

/// Both sides of a continuous, uncapped metric constant: Welch's t is infinite (or 0/0 when the
/// values are equal), the limit of ever smaller spread, so the verdict stays monotone in the
/// evidence (no spread is never weaker evidence than a little).
pub(super) fn no_spread_rule(d: &mut PairDetail, diff: f64, higher: bool) -> String {
    d.method = Method::Welch;
    let t = degenerate_t(diff);
    (d.p, d.p_opposite) = if higher {
        (Some(t.p_greater), Some(t.p_less))
    } else {
        (Some(t.p_less), Some(t.p_greater))
    };
    if diff == 0.0 {
        "both sides constant and equal".into()
    } else {
        "no spread on either side: Welch's t is infinite (p = 0 one way, 1 the other)".into()
    }
}

/// One-sided p-values of a t statistic whose standard error is 0: the sign of the difference
/// decides with certainty; no difference decides nothing.
pub(super) fn degenerate_t(diff: f64) -> stats::OneSided {
    let (p_greater, p_less) = if diff > 0.0 {
        (0.0, 1.0)
    } else if diff < 0.0 {
        (1.0, 0.0)
    } else {
        (1.0, 1.0)
    };
    stats::OneSided { p_greater, p_less }
}

/// A counted metric (whole values, piled at a ceiling) or both sides constant: the exact
/// Wilcoxon-Mann-Whitney rank-sum test, which needs neither normality nor variance and can
/// only grow more significant as the better side's values improve.
pub(super) fn rank_rule(d: &mut PairDetail, bv: &[f64], tv: &[f64], higher: bool) -> String {
    d.method = Method::RankSum;
    let r = stats::rank_sum(bv, tv).expect("both sides have values");
    let (p, q) = if higher {
        (r.p_greater, r.p_less)
    } else {
        (r.p_less, r.p_greater)
    };
    (d.p, d.p_opposite) = (Some(p), Some(q));
    let head = format!(
        "p = {}, other way {} (rank-sum, exact, one-sided)",
        fmt_p(p),
        fmt_p(q)
    );
    let floor = 1.0 / stats::choose(bv.len() + tv.len(), bv.len());
    if p > ALPHA && floor > ALPHA {
        let n = (2..)
            .find(|&n| 1.0 / stats::choose(2 * n, n) <= ALPHA)
            .expect("1 / C(2n, n) falls below any level");
        d.seeds_needed = Some(n as u64);
        return format!(
            "{head}; the smallest p these sizes allow is {}: {n} seeds per side can decide",
            fmt_p(floor)
        );
    }
    head
}
