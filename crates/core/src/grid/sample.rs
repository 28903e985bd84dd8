//! `[[sample]]` tables: random search next to grids (Lucic et al. 2018 drew their settings, they
//! did not grid them).
//!
//! ```toml
//! [[sample]]
//! n = 40                                     # draws (per stratum with `per`)
//! seed = 7                                   # the draws are a function of this seed
//! per = "loss"                               # optional: n draws for each value of `loss`
//! loss = ["gan-ns", "wgan-gp"]               # a list: uniform choice
//! c_lr = { log_uniform = [1e-5, 1e-3] }      # exp(U(ln a, ln b))
//! c_beta1 = { uniform = [0.0, 0.9] }         # U(a, b)
//! n_critic = { int_uniform = [1, 5] }        # an integer in a..=b
//! g_hidden = { choice = [[64], [128, 128]] } # explicit choice (any type)
//! gen_iters = 2000                           # a scalar: fixed
//! ```
//!
//! Draw `i` of key `k` is computed from a ChaCha8 stream seeded with SHA-256 of `(seed, i, k)`
//! alone, so it never depends on `n` (raising `n` keeps the earlier draws), on the other keys
//! of the table (adding an axis keeps the others' values) or on the platform. Drawn floats are
//! rounded to [`DIGITS`] significant digits: the written value is one a person would type, it
//! is hashed like a grid value (a drawn point equal to a grid point is the same run), and the
//! last bit of the platform's `exp`/`ln` cannot move it.

use super::located::{GridError, Locator, Spans, check_value, is_list_key, key_spans, suggest};
use crate::config::KEYS;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::ops::Range;

/// Significant digits a drawn float keeps.
pub const DIGITS: usize = 4;

/// Keys of a `[[sample]]` table that are not run settings.
const OWN_KEYS: &[&str] = &["n", "seed", "per"];

/// Distributions an inline table may name.
const DISTRIBUTIONS: &[&str] = &["choice", "uniform", "log_uniform", "int_uniform"];

/// Most draws one table may ask for (before strata and seeds); the plan's run limits apply
/// to the total as well.
const MAX_N: i64 = 100_000;

/// How one key of a `[[sample]]` table is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// A scalar: the same value in every draw.
    Fixed(toml::Value),
    /// Uniform over the listed values.
    Choice(Vec<toml::Value>),
    /// `U(low, high)`, rounded to [`DIGITS`] significant digits.
    Uniform(f64, f64),
    /// `exp(U(ln low, ln high))`, rounded to [`DIGITS`] significant digits.
    LogUniform(f64, f64),
    /// An integer in `low..=high`, each equally likely.
    IntUniform(i64, i64),
}

/// One `[[sample]]` table, checked.
#[derive(Debug, Clone)]
pub struct SampleTable {
    /// 1-based position among the file's `[[sample]]` tables, for messages.
    pub number: usize,
    pub n: usize,
    pub seed: u64,
    /// Stratification keys: every combination of their values gets `n` draws.
    pub per: Vec<String>,
    /// Run settings and how each is drawn, sorted by key.
    pub axes: Vec<(String, Dist)>,
    /// Where each key was written.
    pub spans: Spans,
}

/// One drawn point: the settings of draw `index`, before `[base]` is merged under them.
pub struct Draw {
    pub index: usize,
    pub settings: toml::Table,
}

impl SampleTable {
    /// `[[sample]] #N`, for messages.
    pub fn what(&self) -> String {
        format!("[[sample]] #{}", self.number)
    }

    /// The strata: every combination of the `per` keys' values (one empty stratum without).
    fn strata(&self) -> Vec<toml::Table> {
        let mut out = vec![toml::Table::new()];
        for key in &self.per {
            let Some((_, Dist::Choice(values))) = self.axes.iter().find(|(k, _)| k == key) else {
                continue;
            };
            out = out
                .iter()
                .flat_map(|s| {
                    values.iter().map(move |v| {
                        let mut s = s.clone();
                        s.insert(key.clone(), v.clone());
                        s
                    })
                })
                .collect();
        }
        out
    }

    /// How many points the table draws (strata included, seeds not).
    pub fn points(&self) -> usize {
        self.n.saturating_mul(self.strata().len())
    }

    /// Every draw, draw-major (draw 0 of every stratum, then draw 1, ...), so that a sweep
    /// stopped early has about as many draws of each stratum.
    pub fn draws(&self) -> Vec<Draw> {
        let strata = self.strata();
        let mut out = Vec::with_capacity(self.points());
        for index in 0..self.n {
            let mut drawn = toml::Table::new();
            for (key, dist) in &self.axes {
                if !self.per.contains(key) {
                    drawn.insert(key.clone(), draw_one(self.seed, index, key, dist));
                }
            }
            for stratum in &strata {
                let mut settings = drawn.clone();
                settings.extend(stratum.clone());
                out.push(Draw { index, settings });
            }
        }
        out
    }

    /// The keys whose values name the groups of the report's budget views: the `per` keys,
    /// else the keys drawn by choice among strings (`loss`, `dataset`, ...).
    pub fn group_keys(&self) -> Vec<String> {
        if !self.per.is_empty() {
            return self.per.clone();
        }
        self.axes
            .iter()
            .filter(|(_, d)| matches!(d, Dist::Choice(v) if v.iter().all(|x| x.is_str())))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The note appended to an error about draw `index` with `settings`.
    pub fn draw_note(&self, index: usize, settings: &toml::Table) -> String {
        let shown: Vec<String> = self
            .axes
            .iter()
            .filter(|(_, d)| !matches!(d, Dist::Fixed(_)))
            .filter_map(|(k, _)| Some(format!("{k} = {}", settings.get(k)?)))
            .collect();
        format!(
            " (draw {} of {}: {})",
            index + 1,
            self.what(),
            shown.join(", ")
        )
    }
}

/// The value of draw `index` of `key`: a function of `(seed, index, key)` and the
/// distribution only.
pub fn draw_one(seed: u64, index: usize, key: &str, dist: &Dist) -> toml::Value {
    let mut rng = stream(seed, index, key);
    match dist {
        Dist::Fixed(v) => v.clone(),
        Dist::Choice(values) => values[below(&mut rng, values.len() as u64) as usize].clone(),
        Dist::Uniform(lo, hi) => float(lo + unit(&mut rng) * (hi - lo), *lo, *hi),
        Dist::LogUniform(lo, hi) => {
            let (a, b) = (lo.ln(), hi.ln());
            float((a + unit(&mut rng) * (b - a)).exp(), *lo, *hi)
        }
        Dist::IntUniform(lo, hi) => {
            let span = hi.abs_diff(*lo) + 1;
            toml::Value::Integer(lo.wrapping_add(below(&mut rng, span) as i64))
        }
    }
}

/// The ChaCha8 stream of draw `index` of `key`.
fn stream(seed: u64, index: usize, key: &str) -> ChaCha8Rng {
    let text = format!("gan-harness-sample-v1\n{seed}\n{index}\n{key}");
    ChaCha8Rng::from_seed(Sha256::digest(text.as_bytes()).into())
}

/// A float in [0, 1) from the top 53 bits of one word (written out rather than taken from
/// `rand`, whose algorithm may change between versions and would move every hash).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// An integer in `0..n` (n > 0), unbiased: words in the incomplete last block are redrawn.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX - n + 1) % n;
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return x % n;
        }
    }
}

/// `x` rounded to [`DIGITS`] significant digits (decimal formatting is exact in Rust, so this
/// is the same on every platform), kept within `[lo, hi]`.
pub fn round_sig(x: f64) -> f64 {
    format!("{x:.prec$e}", prec = DIGITS - 1)
        .parse()
        .expect("a formatted float parses")
}

fn float(x: f64, lo: f64, hi: f64) -> toml::Value {
    toml::Value::Float(round_sig(x).clamp(lo, hi))
}

/// Read and check the file's `[[sample]]` tables (none when the key is absent).
pub fn parse_samples(
    loc: &Locator,
    values: &toml::Table,
    root: &toml_edit::Table,
    top_span: Option<Range<usize>>,
) -> Result<Vec<SampleTable>, GridError> {
    let Some(v) = values.get("sample") else {
        return Ok(Vec::new());
    };
    let not_tables = || {
        loc.at(
            top_span.clone(),
            "`sample` must be an array of tables: write [[sample]] (two brackets)",
        )
    };
    let toml::Value::Array(a) = v else {
        return Err(not_tables());
    };
    let edits = root.get("sample").and_then(|i| i.as_array_of_tables());
    let mut out = Vec::new();
    for (i, t) in a.iter().enumerate() {
        let toml::Value::Table(t) = t else {
            return Err(not_tables());
        };
        let edit = edits.and_then(|e| e.get(i)).ok_or_else(not_tables)?;
        let spans = key_spans(edit);
        let reader = Reader {
            loc,
            edit,
            spans: &spans,
            what: format!("[[sample]] #{}", i + 1),
            start: edit.span(),
        };
        out.push(reader.table(i + 1, t)?);
    }
    if out.is_empty() {
        return Err(loc.at(top_span, "empty `sample`: it has no tables"));
    }
    Ok(out)
}

/// Reads one `[[sample]]` table, locating each error at its key (or inside its distribution).
struct Reader<'a> {
    loc: &'a Locator<'a>,
    edit: &'a toml_edit::Table,
    spans: &'a Spans,
    what: String,
    start: Option<Range<usize>>,
}

impl Reader<'_> {
    fn err(&self, key: &str, message: impl std::fmt::Display) -> GridError {
        let span = self.spans.get(key).cloned().or_else(|| self.start.clone());
        self.loc.at(span, format!("{} in {}", message, self.what))
    }

    /// Where the distribution of `key` was written (`uniform` in `{ uniform = [..] }`).
    fn dist_err(&self, key: &str, message: impl std::fmt::Display) -> GridError {
        let table = self
            .edit
            .get(key)
            .and_then(|i| i.as_value())
            .and_then(|v| v.as_inline_table());
        let inner = table.and_then(|t| {
            let (name, _) = t.iter().next()?;
            t.get_key_value(name)?.0.span()
        });
        match inner {
            Some(span) => self
                .loc
                .at(Some(span), format!("{} in {}", message, self.what)),
            None => self.err(key, message),
        }
    }

    fn table(&self, number: usize, t: &toml::Table) -> Result<SampleTable, GridError> {
        let n = self.count(t)?;
        let seed = match t.get("seed") {
            Some(toml::Value::Integer(s)) if *s >= 0 => *s as u64,
            None => {
                return Err(self.err(
                    "seed",
                    "missing key `seed`: the draws are a function of it (e.g. seed = 1)",
                ));
            }
            Some(other) => Err(self.err(
                "seed",
                format!("key `seed`: expected a non-negative integer, got {other}"),
            ))?,
        };
        let mut axes = Vec::new();
        for (k, v) in t.iter().filter(|(k, _)| !OWN_KEYS.contains(&k.as_str())) {
            axes.push((k.clone(), self.axis(k, v)?));
        }
        let per = self.per(t, &axes)?;
        Ok(SampleTable {
            number,
            n,
            seed,
            per,
            axes,
            spans: self.spans.clone(),
        })
    }

    fn count(&self, t: &toml::Table) -> Result<usize, GridError> {
        match t.get("n") {
            Some(toml::Value::Integer(n)) if (1..=MAX_N).contains(n) => Ok(*n as usize),
            None => Err(self.err(
                "n",
                "missing key `n`: how many settings to draw (e.g. n = 20)",
            )),
            Some(other) => Err(self.err(
                "n",
                format!("key `n`: expected an integer in 1..={MAX_N}, got {other}"),
            )),
        }
    }

    /// `per = "key"` or `per = ["key", ...]`: keys of this table drawn by choice.
    fn per(&self, t: &toml::Table, axes: &[(String, Dist)]) -> Result<Vec<String>, GridError> {
        let keys: Vec<String> = match t.get("per") {
            None => return Ok(Vec::new()),
            Some(toml::Value::String(s)) => vec![s.clone()],
            Some(toml::Value::Array(a)) if !a.is_empty() && a.iter().all(|x| x.is_str()) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            Some(other) => Err(self.err(
                "per",
                format!("key `per`: expected a key name or an array of key names, got {other}"),
            ))?,
        };
        let choices: Vec<&str> = axes
            .iter()
            .filter(|(_, d)| matches!(d, Dist::Choice(_)))
            .map(|(k, _)| k.as_str())
            .collect();
        for k in &keys {
            if !choices.contains(&k.as_str()) {
                let valid = if choices.is_empty() {
                    "none: give a key a list of values".to_string()
                } else {
                    choices.join(", ")
                };
                return Err(self.err(
                    "per",
                    format!(
                        "key `per`: `{k}` is not a key of this table drawn from a list of values; \
                         keys that can stratify: {valid}"
                    ),
                ));
            }
        }
        Ok(keys)
    }

    /// One run setting: a scalar, a list (choice) or a one-key inline table naming a
    /// distribution.
    fn axis(&self, k: &str, v: &toml::Value) -> Result<Dist, GridError> {
        if !KEYS.contains(&k) {
            let valid: Vec<&str> = OWN_KEYS.iter().chain(KEYS).copied().collect();
            return Err(self.err(
                k,
                format!(
                    "unknown key `{k}`{}; valid keys: {}",
                    suggest(k, &valid),
                    valid.join(", ")
                ),
            ));
        }
        let dist = match v {
            toml::Value::Array(a) if !is_list_key(k) || a.iter().all(|x| x.is_array()) => {
                self.choice(k, a)?
            }
            toml::Value::Table(t) => self.named(k, t)?,
            other => Dist::Fixed(other.clone()),
        };
        let checked: Vec<toml::Value> = match &dist {
            Dist::Fixed(v) => vec![v.clone()],
            Dist::Choice(vs) => vs.clone(),
            _ => Vec::new(),
        };
        for value in &checked {
            check_value(k, value).map_err(|m| self.err(k, m))?;
        }
        Ok(dist)
    }

    fn choice(&self, k: &str, a: &[toml::Value]) -> Result<Dist, GridError> {
        if a.is_empty() {
            return Err(self.err(
                k,
                format!("key `{k}`: empty list `[]`; give at least one value"),
            ));
        }
        Ok(Dist::Choice(a.to_vec()))
    }

    /// `{ uniform = [a, b] }` and its siblings.
    fn named(&self, k: &str, t: &toml::Table) -> Result<Dist, GridError> {
        let valid = DISTRIBUTIONS.join(", ");
        let mut entries = t.iter();
        let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
            return Err(self.err(
                k,
                format!(
                    "key `{k}`: a distribution is a table with one key, e.g. \
                     {{ uniform = [0.0, 0.9] }}; distributions: {valid}"
                ),
            ));
        };
        match name.as_str() {
            "choice" => match arg {
                toml::Value::Array(a) => self.choice(k, a),
                other => Err(self.dist_err(
                    k,
                    format!("key `{k}`: `choice` takes an array of values, got {other}"),
                )),
            },
            "uniform" | "log_uniform" => self.float_range(k, name, arg),
            "int_uniform" => self.int_range(k, arg),
            other => Err(self.dist_err(
                k,
                format!(
                    "key `{k}`: unknown distribution `{other}`{}; distributions: {valid}",
                    suggest(other, DISTRIBUTIONS)
                ),
            )),
        }
    }

    fn float_range(&self, k: &str, name: &str, arg: &toml::Value) -> Result<Dist, GridError> {
        if check_value(k, &toml::Value::Float(0.5)).is_err() {
            let hint = if check_value(k, &toml::Value::Integer(1)).is_ok() {
                "an integer key: draw it with int_uniform or choice"
            } else {
                "not a number: draw it with choice"
            };
            return Err(self.dist_err(
                k,
                format!("key `{k}`: `{name}` needs a float key; `{k}` is {hint}"),
            ));
        }
        let bounds = match arg.as_array().map(Vec::as_slice) {
            Some([a, b]) => number(a).zip(number(b)),
            _ => None,
        };
        let Some((lo, hi)) = bounds.filter(|(a, b)| a.is_finite() && b.is_finite()) else {
            return Err(self.dist_err(
                k,
                format!("key `{k}`: `{name}` takes [low, high], two finite numbers, got {arg}"),
            ));
        };
        if lo >= hi {
            return Err(self.dist_err(
                k,
                format!("key `{k}`: `{name}` = [{lo}, {hi}]: low must be below high"),
            ));
        }
        if name == "log_uniform" {
            if lo <= 0.0 {
                return Err(self.dist_err(
                    k,
                    format!(
                        "key `{k}`: `log_uniform` = [{lo}, {hi}]: both bounds must be positive \
                         (it draws the logarithm uniformly)"
                    ),
                ));
            }
            return Ok(Dist::LogUniform(lo, hi));
        }
        Ok(Dist::Uniform(lo, hi))
    }

    fn int_range(&self, k: &str, arg: &toml::Value) -> Result<Dist, GridError> {
        let integer_key = check_value(k, &toml::Value::Integer(1)).is_ok()
            && check_value(k, &toml::Value::Float(0.5)).is_err();
        if !integer_key {
            return Err(self.dist_err(
                k,
                format!(
                    "key `{k}`: `int_uniform` needs an integer key; draw `{k}` with uniform, \
                     log_uniform or choice"
                ),
            ));
        }
        let (lo, hi) = match arg.as_array().map(Vec::as_slice) {
            Some([toml::Value::Integer(a), toml::Value::Integer(b)]) => (*a, *b),
            _ => {
                return Err(self.dist_err(
                    k,
                    format!("key `{k}`: `int_uniform` takes [low, high], two integers, got {arg}"),
                ));
            }
        };
        if lo >= hi {
            return Err(self.dist_err(
                k,
                format!("key `{k}`: `int_uniform` = [{lo}, {hi}]: low must be below high"),
            ));
        }
        for b in [lo, hi] {
            check_value(k, &toml::Value::Integer(b)).map_err(|m| self.dist_err(k, m))?;
        }
        Ok(Dist::IntUniform(lo, hi))
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
