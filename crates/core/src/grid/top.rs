//! The top level of a grid file: its own keys (`name`, `seeds`, `max_runs`, ...) read and
//! checked, and the `[base]` and `[[grid]]` tables located for error messages.

use super::*;

/// The top level of a grid file: its values and where each key was written.
pub(super) struct Top<'a> {
    pub(super) loc: &'a Locator<'a>,
    pub(super) values: &'a toml::Table,
    pub(super) spans: Spans,
}

/// A `[base]` or `[[grid]]` table with where each of its keys was written.
pub(super) type Located = (toml::Table, Spans);

impl Top<'_> {
    pub(super) fn err(&self, key: &str, message: impl Into<String>) -> GridError {
        self.loc.at(self.spans.get(key).cloned(), message)
    }

    pub(super) fn check_keys(&self) -> Result<(), GridError> {
        let Some(k) = self.values.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) else {
            return Ok(());
        };
        let hint = if KEYS.contains(&k.as_str()) {
            format!(" (run settings go in [base] or [[grid]]: move `{k}` under [base])")
        } else {
            suggest(k, TOP_KEYS)
        };
        Err(self.err(
            k,
            format!(
                "unknown top-level key `{k}`{hint}; valid keys: {}",
                TOP_KEYS.join(", ")
            ),
        ))
    }

    pub(super) fn string_key(&self, k: &str) -> Result<String, GridError> {
        match self.values.get(k) {
            None => Ok(String::new()),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.err(
                k,
                format!("key `{k}`: expected a string, got {}", other.type_str()),
            )),
        }
    }

    /// `name`, or the file's stem; it names folders (`results/sweeps/`, `results/slurm/<name>/`),
    /// so only a safe alphabet, no leading '.' (no `..`) and at most [`MAX_NAME_LEN`] characters.
    pub(super) fn name(&self, path: &Path) -> Result<String, GridError> {
        let given = self.string_key("name")?;
        let (name, what) = match given {
            n if n.is_empty() && !self.values.contains_key("name") => (
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "sweep".into()),
                "the grid file's name (the sweep's name when the file sets no `name`)",
            ),
            n => (n, "key `name`"),
        };
        let safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
        let shown: String = name.chars().take(40).collect();
        let shown = if shown.len() < name.len() {
            format!("{shown}...")
        } else {
            shown
        };
        let problem = if name.is_empty() {
            Some("is empty".to_string())
        } else if !name.chars().all(safe) {
            Some("may only contain letters, digits, '_', '-' and '.'".into())
        } else if name.starts_with('.') {
            Some("may not start with '.'".into())
        } else if name.chars().count() > MAX_NAME_LEN {
            Some(format!(
                "has {} characters; at most {MAX_NAME_LEN} are allowed",
                name.chars().count()
            ))
        } else {
            None
        };
        match problem {
            None => Ok(name),
            Some(p) if what.starts_with("key") => {
                Err(self.err("name", format!("{what}: \"{shown}\" {p} (it names files)")))
            }
            Some(p) => Err(self.err(
                "name",
                format!(
                    "{what}: \"{shown}\" {p} (it names files); set `name = \"...\"` in the file"
                ),
            )),
        }
    }

    pub(super) fn max_runs(&self) -> Result<Option<usize>, GridError> {
        match self.values.get("max_runs") {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if *n > 0 => Ok(Some(*n as usize)),
            Some(other) => Err(self.err(
                "max_runs",
                format!("key `max_runs`: expected a positive integer, got {other}"),
            )),
        }
    }

    /// The replicate axis.
    pub(super) fn seeds(&self) -> Result<Option<Vec<u64>>, GridError> {
        self.seed_list("seeds")
    }

    /// The seeds the grid's claims were chosen on (the report labels verdicts by them).
    pub(super) fn design_seeds(&self) -> Result<Option<Vec<u64>>, GridError> {
        self.seed_list("design_seeds")
    }

    /// A top-level non-empty list of non-negative integers.
    fn seed_list(&self, key: &str) -> Result<Option<Vec<u64>>, GridError> {
        let seed = |v: &toml::Value| match v {
            toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
            other => Err(self.err(
                key,
                format!("key `{key}`: expected non-negative integers, got {other}"),
            )),
        };
        match self.values.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) if !a.is_empty() => {
                Ok(Some(a.iter().map(seed).collect::<Result<_, _>>()?))
            }
            Some(_) => Err(self.err(
                key,
                format!(
                    "key `{key}`: expected a non-empty array of integers, e.g. {key} = [1, 2, 3]"
                ),
            )),
        }
    }

    /// `[base]` (empty when absent), checked.
    pub(super) fn base(&self, root: &toml_edit::Table) -> Result<Located, GridError> {
        let base = match self.values.get("base") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => return Err(self.err("base", "`base` must be a table: [base]")),
        };
        let spans = root
            .get("base")
            .and_then(|i| i.as_table())
            .map(key_spans)
            .unwrap_or_default();
        check_table(self.loc, &base, &spans, "[base]", false)?;
        Ok((base, spans))
    }

    /// The `[[grid]]` tables (one empty table when there are none), not yet checked.
    pub(super) fn grids(&self, root: &toml_edit::Table) -> Result<Vec<Located>, GridError> {
        let a = match self.values.get("grid") {
            None => return Ok(vec![(toml::Table::new(), Spans::new())]),
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                return Err(self.err(
                    "grid",
                    "`grid` must be an array of tables: write [[grid]] (two brackets)",
                ));
            }
        };
        let tables = root.get("grid").and_then(|i| i.as_array_of_tables());
        let mut out = Vec::new();
        for (i, v) in a.iter().enumerate() {
            let spans = tables
                .and_then(|t| t.get(i))
                .map(key_spans)
                .unwrap_or_default();
            match v {
                toml::Value::Table(t) => out.push((t.clone(), spans)),
                _ => return Err(self.err("grid", "`grid` must be an array of tables: [[grid]]")),
            }
        }
        if out.is_empty() {
            return Err(self.err("grid", "empty grid: `grid` has no tables"));
        }
        Ok(out)
    }
}

pub(super) fn check_table(
    loc: &Locator,
    t: &toml::Table,
    spans: &Spans,
    what: &str,
    is_grid: bool,
) -> Result<(), GridError> {
    for (k, v) in t {
        let span = spans.get(k).cloned();
        if !KEYS.contains(&k.as_str()) {
            return Err(loc.at(
                span,
                format!(
                    "unknown key `{k}` in {what}{}; valid keys: {}",
                    suggest(k, KEYS),
                    KEYS.join(", ")
                ),
            ));
        }
        let axis = match v {
            toml::Value::Array(a)
                if is_grid && (!is_list_key(k) || a.iter().all(|x| x.is_array())) =>
            {
                if a.is_empty() {
                    return Err(loc.at(
                        span,
                        format!(
                            "key `{k}` in {what}: empty grid axis `[]`; give at least one value"
                        ),
                    ));
                }
                a.clone()
            }
            other => vec![other.clone()],
        };
        for value in &axis {
            check_value(k, value).map_err(|m| loc.at(span.clone(), format!("{m} (in {what})")))?;
        }
    }
    Ok(())
}
