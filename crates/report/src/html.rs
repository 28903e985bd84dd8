//! The static `index.html`: plain HTML and inline CSS, no scripts (under `--watch` a refresh
//! `<meta>` while runs are in flight), relative links only,
//! so the report folder can be opened from `file://` or copied anywhere.

use std::fmt::Write;

use crate::charts::color_hex;
use crate::charts::figures::Category;
use crate::claims::{self, SectionClaims};
use crate::format::{counted, running_note};
use crate::load::{Run, Status};
use crate::section::Section;
use crate::tables::ConfigTable;

/// A chart as linked from the page.
#[derive(Clone)]
pub struct ChartLink {
    pub category: Category,
    /// Path relative to the report folder.
    pub rel: String,
    pub title: String,
}

/// MNIST sample grids of one configuration (first, middle and last step).
pub struct SampleRow {
    pub label: String,
    pub color: usize,
    pub seed: String,
    pub images: Vec<(u64, String)>,
}

pub struct PageSection<'a> {
    pub sec: &'a Section,
    /// The sweep's claims, tested: the table that opens the section.
    pub claims: &'a SectionClaims,
    pub table: &'a ConfigTable,
    pub charts: Vec<ChartLink>,
    pub samples: Vec<SampleRow>,
    /// The budget views' table (`budget_view::table_html`); empty when the sweep drew nothing.
    pub budget: String,
}

/// What `--watch` puts on the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    /// Reload every this many seconds (`<meta http-equiv="refresh">`); `None` while no run is
    /// in flight, so the browser stops reloading.
    pub refresh: Option<u32>,
    /// Runs holding their lock when the page was written.
    pub in_flight: usize,
}

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode what would break a relative URL (spaces, `#`, `?`, `%`).
fn url(rel: &str) -> String {
    let mut out = String::new();
    for b in rel.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    esc(&out)
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;\
max-width:1700px;padding:1em 2em;color:#222;line-height:1.4}\
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}\
.question{font-size:1.15em;background:#f4f7fb;border-left:4px solid #0072b2;padding:.6em 1em}\
.meta{color:#555}.warn{background:#fff4e0;border-left:4px solid #e69f00;padding:.4em 1em}\
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em;\
text-align:left}th{background:#f2f2f2}td{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.4em;\
vertical-align:middle}.grid{display:flex;flex-wrap:wrap;gap:1.2em}\
figure{margin:0;max-width:100%}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:.9em;color:#555;max-width:800px}.samples img{width:220px;\
image-rendering:pixelated;border:1px solid #ddd}.failed,.diverged{color:#b00020;font-weight:bold}\
.running{color:#8a5a00;font-weight:bold}pre{white-space:pre-wrap;background:#f7f7f7;\
padding:.4em;margin:.2em 0}nav li{margin:.1em 0}table.claims td{white-space:normal;\
vertical-align:top}table.claims ul{margin:0;padding-left:1.1em}.verdict{font-weight:bold;\
padding:.05em .4em;border-radius:3px;white-space:nowrap}.supported{background:#d8f0dc;\
color:#1b6e2e}.contradicted{background:#fbdada;color:#b00020}.inconclusive{background:#fff0cc;\
color:#8a5a00}.error{background:#e6e6e6;color:#444}";

/// Runs per status, in [`Status::ALL`] order (done, running, failed, diverged).
fn status_counts(runs: &[Run], idx: impl Iterator<Item = usize>) -> [usize; 4] {
    let mut c = [0; 4];
    for i in idx {
        let k = Status::ALL.iter().position(|s| *s == runs[i].status);
        c[k.expect("every status is in ALL")] += 1;
    }
    c
}

fn counts_text(c: [usize; 4]) -> String {
    counted(
        c.into_iter().zip(Status::ALL.map(Status::as_str)),
        "no runs",
    )
}

/// `1 run`, `2 runs`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn table_html(out: &mut String, t: &ConfigTable) {
    out.push_str("<table>\n<tr>");
    for h in &t.headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>\n");
    for (row, ci) in t.rows.iter().zip(&t.colors) {
        out.push_str("<tr>");
        for (j, c) in row.iter().enumerate() {
            let text = if c.best {
                format!("<b>{}</b>", esc(&c.text))
            } else {
                esc(&c.text)
            };
            let sw = if j == 0 {
                format!(
                    "<span class=\"sw\" style=\"background:{}\"></span>",
                    color_hex(*ci)
                )
            } else {
                String::new()
            };
            let numeric = c
                .text
                .starts_with(|ch: char| ch.is_ascii_digit() || ch == '-');
            let class = if numeric && j > 0 {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{sw}{text}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// Build the page.
pub fn index_html(
    runs: &[Run],
    sections: &[PageSection],
    warnings: &[String],
    live: &Live,
) -> String {
    let mut o = String::new();
    let all = status_counts(runs, 0..runs.len());
    head_html(&mut o, runs, all[0], live);
    o.push_str("<h1>GAN loss ablation report</h1>\n");
    let claims_link = if sections.iter().any(|p| !p.claims.claims.is_empty()) {
        ", <a href=\"claims.csv\">claims.csv</a> (the verdict of each claim)"
    } else {
        ""
    };
    let _ = writeln!(
        o,
        "<p class=\"meta\">{} ({}) in {}. Tables: \
         <a href=\"summary.csv\">summary.csv</a> (one row per run), \
         <a href=\"summary.md\">summary.md</a> (one row per configuration){claims_link}.</p>",
        plural(runs.len(), "run"),
        counts_text(all),
        plural(sections.len(), "section")
    );
    if all[1] > 0 {
        let _ = writeln!(o, "<p class=\"warn\">{}</p>", running_note(all[1]));
    }
    nav_html(&mut o, sections);

    for p in sections {
        section_html(&mut o, runs, p);
    }

    if !warnings.is_empty() {
        o.push_str("<h2 id=\"warnings\">Warnings</h2>\n<ul>\n");
        for w in warnings {
            let _ = writeln!(o, "<li>{}</li>", esc(w));
        }
        o.push_str("</ul>\n");
    }
    o.push_str(
        "<p class=\"meta\">Generated by <code>harness report</code>.</p>\n</body>\n</html>\n",
    );
    o
}

/// The page's head (refresh, viewport, title, style) and the opening `<body>`, which carries
/// machine-readable progress (runs, `done` of them, runs in flight, logged steps) for scripts
/// and tests watching the page.
fn head_html(o: &mut String, runs: &[Run], done: usize, live: &Live) {
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    if let Some(s) = live.refresh {
        let _ = writeln!(o, "<meta http-equiv=\"refresh\" content=\"{s}\">");
    }
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str("<title>GAN loss ablation report</title>\n");
    let steps: f64 = runs
        .iter()
        .filter_map(|r| r.metrics.get("step")?.last().copied())
        .sum();
    let _ = writeln!(
        o,
        "<style>{CSS}</style>\n</head>\n<body data-runs=\"{}\" data-done=\"{done}\" \
         data-in-flight=\"{}\" data-steps=\"{steps}\">",
        runs.len(),
        live.in_flight
    );
}

/// The table of contents: each section with its counts and claim verdicts.
fn nav_html(o: &mut String, sections: &[PageSection]) {
    o.push_str("<nav><ul>\n");
    for p in sections {
        let verdicts = if p.claims.claims.is_empty() {
            String::new()
        } else {
            format!("; claims: {}", claims::counts_text(&p.claims.claims))
        };
        let _ = writeln!(
            o,
            "<li><a href=\"#{}\">{}</a> ({}, {}{})</li>",
            esc(&p.sec.slug),
            esc(&p.sec.name),
            plural(p.sec.groups.len(), "configuration"),
            plural(p.sec.run_indices().count(), "run"),
            esc(&verdicts)
        );
    }
    o.push_str("</ul></nav>\n");
}

fn section_html(o: &mut String, runs: &[Run], p: &PageSection) {
    let _ = writeln!(o, "<section id=\"{}\">", esc(&p.sec.slug));
    section_header(o, runs, p.sec);
    claims_html(o, &p.sec.slug, p.claims);
    o.push_str("<h3>Final scores</h3>\n");
    if p.table.rows.is_empty() {
        o.push_str("<p>No runs yet.</p>\n");
    } else {
        table_html(o, p.table);
        o.push_str(
            "<p class=\"meta\">mean ± std over seeds of the last evaluation (failed runs left \
             out); best per column in bold (↑ higher is better, ↓ lower is better).</p>\n",
        );
    }
    for cat in [
        Category::Paper,
        Category::Curves,
        Category::Quality,
        Category::Budget,
        Category::Samples,
    ] {
        if cat == Category::Budget && !p.budget.is_empty() {
            let _ = writeln!(o, "<h3>{}</h3>", cat.heading());
            o.push_str(&p.budget);
            o.push_str(
                "<p class=\"meta\">best of k: the exact mean of the best score among k settings \
                 resampled with replacement from the drawn ones (Lucic et al. 2018, Fig. 4); a \
                 setting's score is the mean over its finished seeds.</p>\n",
            );
        }
        charts_html(o, p, cat);
    }
    failures_html(o, runs, p.sec);
    o.push_str("</section>\n");
}

/// The section's title, question, counts and warnings.
fn section_header(o: &mut String, runs: &[Run], sec: &Section) {
    if sec.is_sweep {
        let _ = writeln!(o, "<h2>Sweep: {}</h2>", esc(&sec.name));
    } else {
        let _ = writeln!(o, "<h2>Runs without a sweep ({})</h2>", esc(&sec.name));
    }
    if let Some(d) = &sec.description {
        let _ = writeln!(o, "<p class=\"question\">{}</p>", esc(d));
    }
    let counts = status_counts(runs, sec.run_indices());
    let mut meta = format!(
        "{} ({}), {}",
        plural(sec.run_indices().count(), "run"),
        counts_text(counts),
        plural(sec.groups.len(), "configuration")
    );
    if !sec.keys.is_empty() {
        meta.push_str(&format!("; varying: {}", sec.keys.join(", ")));
    }
    if let Some(g) = &sec.grid_file {
        meta.push_str(&format!("; grid file: <code>{}</code>", esc(g)));
    }
    let _ = writeln!(o, "<p class=\"meta\">{meta}</p>");
    if counts[1] > 0 {
        let _ = writeln!(o, "<p class=\"warn\">{}</p>", running_note(counts[1]));
    }
    if !sec.missing.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"warn\">{} listed in the sweep {} no folder yet: {}</p>",
            plural(sec.missing.len(), "run"),
            if sec.missing.len() == 1 {
                "has"
            } else {
                "have"
            },
            esc(&sec.missing.join(", "))
        );
    }
}

/// The charts of one category (and, for samples, the MNIST sample grids).
fn charts_html(o: &mut String, p: &PageSection, cat: Category) {
    let charts: Vec<&ChartLink> = p.charts.iter().filter(|c| c.category == cat).collect();
    let has_samples = cat == Category::Samples && !p.samples.is_empty();
    if charts.is_empty() && !has_samples {
        return;
    }
    if cat != Category::Budget {
        let _ = writeln!(o, "<h3>{}</h3>", cat.heading());
    }
    if !charts.is_empty() {
        o.push_str("<div class=\"grid\">\n");
        for c in &charts {
            let _ = writeln!(
                o,
                "<figure><a href=\"{u}\"><img src=\"{u}\" alt=\"{t}\"></a>\
                 <figcaption>{t}</figcaption></figure>",
                u = url(&c.rel),
                t = esc(&c.title)
            );
        }
        o.push_str("</div>\n");
    }
    if has_samples {
        samples_html(o, &p.samples);
    }
}

/// Failed and diverged runs, with their errors.
fn failures_html(o: &mut String, runs: &[Run], sec: &Section) {
    let bad: Vec<&Run> = sec
        .run_indices()
        .map(|i| &runs[i])
        .filter(|r| matches!(r.status, Status::Failed | Status::Diverged))
        .collect();
    if bad.is_empty() {
        return;
    }
    o.push_str("<h3>Failed and diverged runs</h3>\n<ul>\n");
    for r in bad {
        let label = sec
            .groups
            .iter()
            .find(|g| g.members.iter().any(|&i| runs[i].hash == r.hash))
            .map_or(String::new(), |g| g.label.clone());
        let extra = r
            .diverged_at
            .map_or(String::new(), |s| format!(" at step {s}"));
        let _ = write!(
            o,
            "<li><code>{}</code> <span class=\"{st}\">{st}{extra}</span> {} (seed {})",
            esc(&r.hash),
            esc(&label),
            esc(&r.setting("seed").unwrap_or_else(|| "?".into())),
            st = r.status.as_str(),
        );
        if let Some(e) = &r.error {
            let _ = write!(o, "<pre>{}</pre>", esc(e));
        }
        o.push_str("</li>\n");
    }
    o.push_str("</ul>\n");
}

/// The claims table: each claim's text, its verdict (coloured), the numbers of each pair or
/// configuration, and a link to the chart that shows its metric.
fn claims_html(o: &mut String, slug: &str, c: &SectionClaims) {
    if c.claims.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h3 id=\"claims-{}\">Claims</h3>", esc(slug));
    o.push_str(
        "<table class=\"claims\">\n<tr><th>claim</th><th>verdict</th><th>numbers</th>\
         <th>figure</th></tr>\n",
    );
    for claim in &c.claims {
        let v = claim.verdict_text();
        let items: String = claim
            .lines()
            .iter()
            .map(|l| format!("<li>{}</li>", esc(l)))
            .collect();
        let figure = claim.figure.as_ref().map_or("–".to_string(), |rel| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            format!("<a href=\"{}\">{}</a>", url(rel), esc(name))
        });
        let _ = writeln!(
            o,
            "<tr><td>{}<br><span class=\"meta\">{} on <code>{}</code>; \
             <span class=\"seeds\">{}</span>, <span class=\"stated\">{}</span></span></td>\
             <td><span class=\"verdict {v}\">{v}</span></td><td><ul>{items}</ul></td>\
             <td>{figure}</td></tr>",
            esc(&claim.claim.text),
            claim.claim.kind.name(),
            esc(&claim.claim.metric),
            claim.seeds.label(),
            claim.stated.label(),
        );
    }
    o.push_str("</table>\n");
    let left_out = if c.left_out > 0 {
        format!(
            "; {} still running or failed left out",
            plural(c.left_out, "run")
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "<p class=\"meta\">{}. Tested over seeds on {} (done or diverged{left_out}); \
         one-sided tests at level 0.05 (see the README's grid-file section).</p>",
        esc(&claims::counts_text(&c.claims)),
        plural(c.tested, "finished run"),
    );
}

fn samples_html(o: &mut String, rows: &[SampleRow]) {
    o.push_str("<table class=\"samples\">\n<tr><th>configuration</th><th>first</th><th>middle</th><th>last</th></tr>\n");
    for r in rows {
        let _ = write!(
            o,
            "<tr><td><span class=\"sw\" style=\"background:{}\"></span>{}<br>seed {}</td>",
            color_hex(r.color),
            esc(&r.label),
            esc(&r.seed)
        );
        for (step, rel) in &r.images {
            let _ = write!(
                o,
                "<td><img src=\"{u}\" alt=\"step {step}\"><br>step {step}</td>",
                u = url(rel)
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}
