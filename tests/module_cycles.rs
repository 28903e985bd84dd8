//! No import cycles between the crate's modules: data flows one way (grid file -> plan -> run ->
//! result folder -> report), and a cycle is where that breaks down.
//!
//! Reads `src/**/*.rs`, builds the graph of references between modules (one node per file:
//! `report/tables.rs` is `report::tables`, `report/mod.rs` is `report`) from `use`
//! declarations and paths in code (`crate::...`, `super::...`, `self::...`, `gan_harness::...`
//! and paths through a module's own child modules), and fails on any strongly connected
//! component of more than one module, printing a cycle. Comments and string literals are
//! ignored, and so are `#[cfg(test)]` modules: a test may use whatever builds its fixture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Source text with comments, string and char literals blanked out (newlines kept).
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        let end = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            let mut k = 0;
            while k < rest.len() {
                if rest[k..].starts_with(b"/*") {
                    depth += 1;
                    k += 2;
                } else if rest[k..].starts_with(b"*/") {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    k += 1;
                }
            }
            k
        } else if rest[0] == b'"' || rest.starts_with(b"r\"") || rest.starts_with(b"r#") {
            raw_or_plain_string_len(rest)
        } else if rest[0] == b'\'' {
            char_literal_len(rest)
        } else {
            0
        };
        if end > 0 {
            blank(&mut out, &rest[..end]);
            i += end;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Length of the string literal at the start of `s` (`"..."`, `r"..."`, `r#"..."#`).
fn raw_or_plain_string_len(s: &[u8]) -> usize {
    if s[0] == b'"' {
        let mut k = 1;
        while k < s.len() {
            match s[k] {
                b'\\' => k += 2,
                b'"' => return k + 1,
                _ => k += 1,
            }
        }
        return s.len();
    }
    let hashes = s[1..].iter().take_while(|&&c| c == b'#').count();
    if s.get(1 + hashes) != Some(&b'"') {
        return 0; // an identifier starting with r, or r#ident
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = 2 + hashes;
    s[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map_or(s.len(), |p| body + p + close.len())
}

/// Length of a char literal at the start of `s` (`'a'`, `'\n'`, `'\u{..}'`); 0 for a lifetime.
fn char_literal_len(s: &[u8]) -> usize {
    if s.get(1) == Some(&b'\\') {
        return s[2..].iter().position(|&c| c == b'\'').map_or(0, |p| p + 3);
    }
    // One (possibly multi-byte) character, then a quote.
    let ch = std::str::from_utf8(&s[1..s.len().min(5)])
        .ok()
        .or_else(|| std::str::from_utf8(&s[1..s.len().min(4)]).ok())
        .or_else(|| std::str::from_utf8(&s[1..s.len().min(3)]).ok())
        .and_then(|t| t.chars().next());
    match ch {
        Some(c) if s.get(1 + c.len_utf8()) == Some(&b'\'') => 2 + c.len_utf8(),
        _ => 0,
    }
}

/// `code` without `#[cfg(test)]` items (the attribute and the braced item after it).
fn without_test_items(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let Some(open) = out[at..].find(['{', ';']).map(|k| at + k) else {
            break;
        };
        let end = if out.as_bytes()[open] == b';' {
            open + 1
        } else {
            let mut depth = 0;
            let mut end = out.len();
            for (k, c) in out[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        };
        out.replace_range(at..end, "");
    }
    out
}

/// Expand a `use` tree (`a::{b, c::{d, self}}`) into full paths.
fn expand_use(tree: &str) -> Vec<String> {
    // `x as y` keeps `x`: mark the rename before dropping whitespace.
    let tree: String = tree
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" as ", "@")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Some(open) = tree.find('{') else {
        let path = tree.split('@').next().unwrap_or(&tree);
        return vec![path.trim_end_matches("::self").to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand_use(&format!("{prefix}{p}")))
        .collect()
}

/// The module a path names, as the longest prefix that is a module of the crate.
fn resolve(module: &[String], path: &str, children: &BTreeSet<String>) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut abs: Vec<String> = match segs.first()? {
        &"crate" | &"gan_harness" => {
            segs.remove(0);
            Vec::new()
        }
        &"self" => {
            segs.remove(0);
            module.to_vec()
        }
        &"super" => {
            let mut m = module.to_vec();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                m.pop()?;
            }
            m
        }
        first if children.contains(*first) => module.to_vec(),
        _ => return None,
    };
    abs.extend(segs.iter().map(|s| s.to_string()));
    Some(abs)
}

struct Crate {
    /// Module path (`report::tables`) -> the modules it references.
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        let last = parts.pop().expect("non-empty");
        if last == "main" {
            parts.push("main".into());
        }
    }
    parts
}

fn scan(src: &Path) -> Crate {
    let files: Vec<(Vec<String>, String)> = walkdir::WalkDir::new(src)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = e.path().strip_prefix(src).unwrap().to_path_buf();
            let code = without_test_items(&strip(&std::fs::read_to_string(e.path()).unwrap()));
            (module_of(&rel), code)
        })
        .collect();
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let use_decl = regex_like_uses;
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &files {
        let children: BTreeSet<String> = known
            .iter()
            .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
            .map(|k| k.last().expect("child").clone())
            .collect();
        let name = module.join("::");
        let entry = edges.entry(name.clone()).or_default();
        for path in use_decl(code).into_iter().chain(inline_paths(code)) {
            let Some(mut target) = resolve(module, &path, &children) else {
                continue;
            };
            while !target.is_empty() && !known.contains(&target) {
                target.pop();
            }
            let target = target.join("::");
            if target != name && !target.is_empty() {
                entry.insert(target);
            }
        }
    }
    Crate { edges }
}

/// Every path named by a `use` declaration of `code`.
fn regex_like_uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let Some(end) = after.find(';') else { break };
        out.extend(expand_use(&after[..end]));
        rest = &after[end..];
    }
    out
}

/// Byte offset of `word` as a whole word in `s`.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(k) = s[from..].find(word) {
        let at = from + k;
        let before = s[..at].chars().next_back();
        let after = s[at + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Paths written in code: `a::b::c` sequences (the resolver keeps those it can place).
fn inline_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            let start = i;
            while i < chars.len() && (is_ident(chars[i]) || chars[i] == ':') {
                i += 1;
            }
            let path: String = chars[start..i].iter().collect();
            if path.contains("::") {
                out.push(path);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// One cycle through `comp`, as `a -> b -> ... -> a`.
fn a_cycle(edges: &BTreeMap<String, BTreeSet<String>>, comp: &[String]) -> String {
    let start = &comp[0];
    // Breadth-first from start's successors back to start, inside the component.
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flatten() {
            if !comp.contains(w) || prev.contains_key(w.as_str()) {
                continue;
            }
            prev.insert(w, v);
            if w == start {
                let mut path = vec![start.as_str()];
                let mut at = prev[start.as_str()];
                while at != start {
                    path.push(at);
                    at = prev[at];
                }
                path.push(start);
                path.reverse();
                return path.join(" -> ");
            }
            queue.push_back(w);
        }
    }
    comp.join(", ")
}

#[test]
fn modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = scan(&src);
    assert!(
        krate
            .edges
            .get("cli::sweep")
            .is_some_and(|e| e.contains("sweep")),
        "the scan finds no edges: {:?}",
        krate.edges.get("cli::sweep")
    );
    let bad: Vec<String> = cycles(&krate.edges)
        .into_iter()
        .map(|comp| {
            format!(
                "{} (all of: {})",
                a_cycle(&krate.edges, &comp),
                comp.join(", ")
            )
        })
        .collect();
    assert!(bad.is_empty(), "import cycles:\n  {}", bad.join("\n  "));
}

#[test]
fn the_scanner_sees_what_it_should() {
    let code = strip(
        "use crate::a::{b::{self, C}, d as D};\n// use crate::e;\nlet s = \"crate::f::g\";\n\
         let c = '\"'; let l: &'static str = x; super::h::i(); kid::j();\n\
         #[cfg(test)]\nmod tests { use crate::k; }\n",
    );
    let code = without_test_items(&code);
    let uses = regex_like_uses(&code);
    assert_eq!(uses, ["crate::a::b", "crate::a::b::C", "crate::a::d"]);
    let inline = inline_paths(&code);
    assert!(inline.contains(&"super::h::i".to_string()), "{inline:?}");
    assert!(!code.contains("crate::e") && !code.contains("crate::f") && !code.contains("crate::k"));
    let module = vec!["x".to_string(), "y".to_string()];
    let kids: BTreeSet<String> = ["kid".to_string()].into();
    assert_eq!(
        resolve(&module, "super::h::i", &kids),
        Some(vec!["x".into(), "h".into(), "i".into()])
    );
    assert_eq!(
        resolve(&module, "kid::j", &kids),
        Some(vec!["x".into(), "y".into(), "kid".into(), "j".into()])
    );
    assert_eq!(resolve(&module, "std::fs", &kids), None);
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["c".to_string()].into()),
        ("c".to_string(), ["a".to_string()].into()),
        ("d".to_string(), ["a".to_string()].into()),
    ]
    .into();
    let found = cycles(&edges);
    assert_eq!(found, [vec!["a", "b", "c"]]);
    assert_eq!(a_cycle(&edges, &found[0]), "a -> b -> c -> a");
}
