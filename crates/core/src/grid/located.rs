//! Locating grid-file errors: the error type, where each key was written, and the checks of
//! single values that grids and `[[sample]]` tables share.

use crate::config::RunSpec;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A located error in a grid file. Displayed as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct GridError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for GridError {}

pub(super) struct Locator<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
}

impl Locator<'_> {
    pub(super) fn at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> GridError {
        let offset = span.map(|s| s.start).unwrap_or(0).min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        GridError {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

pub(super) fn suggest(key: &str, valid: &[&str]) -> String {
    let best = valid
        .iter()
        .map(|v| (strsim::jaro_winkler(key, v), *v))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, v)) if score > 0.8 => format!(" (did you mean `{v}`?)"),
        _ => String::new(),
    }
}

/// Where each key of a table was written, for locating semantic errors.
pub(super) type Spans = HashMap<String, Range<usize>>;

pub(super) fn key_spans(table: &toml_edit::Table) -> Spans {
    table
        .iter()
        .filter_map(|(k, _)| {
            let (key, item) = table.get_key_value(k)?;
            Some((k.to_string(), key.span().or_else(|| item.span())?))
        })
        .collect()
}

/// Check that one key's value has the right type by deserialising it alone.
pub(super) fn check_value(key: &str, value: &toml::Value) -> Result<(), String> {
    let mut t = toml::Table::new();
    t.insert(key.to_string(), value.clone());
    toml::Value::Table(t)
        .try_into::<RunSpec>()
        .map(|_| ())
        .map_err(|e| {
            let msg = e.to_string();
            let msg = msg.trim().trim_end_matches(&format!(" for key `{key}`"));
            let msg = msg.trim_end_matches(&format!("\nin `{key}`"));
            format!("key `{key}`: {}", with_range(key, msg))
        })
}

/// The integers `key` accepts, for messages: its bound in [`crate::limits::BOUNDS`], else its
/// type's (`seed`: any u64; the other integer keys: a positive u32).
pub(super) fn valid_range(key: &str) -> String {
    if key == "seed" {
        return format!("0..={}", u64::MAX);
    }
    let max = crate::limits::BOUNDS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(u64::from(u32::MAX), |(_, b)| *b);
    format!("1..={max}")
}

/// `msg` about an integer key with the range it accepts: serde's "expected i64" says nothing
/// of it, and the resolver's own range is u32's, wider than the key's bound.
pub(super) fn with_range(key: &str, msg: &str) -> String {
    let u32_range = format!("(valid: 1..={})", u32::MAX);
    if msg.ends_with(&u32_range) {
        return format!(
            "{}(valid: {})",
            msg.trim_end_matches(&u32_range),
            valid_range(key)
        );
    }
    let integer = [
        "expected i64",
        "expected u64",
        "expected u32",
        "expected usize",
    ]
    .iter()
    .any(|t| msg.contains(t));
    if integer {
        let what = if msg.contains("sequence") || key.ends_with("_hidden") {
            "integers in"
        } else {
            "an integer in"
        };
        format!("{msg} (valid: {what} {})", valid_range(key))
    } else {
        msg.to_string()
    }
}

/// Keys whose value is itself a list: in a grid, only an array of arrays is an axis.
pub(super) fn is_list_key(k: &str) -> bool {
    matches!(k, "g_hidden" | "c_hidden")
}
