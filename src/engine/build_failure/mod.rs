//! What a failed build of rmapfuzz with a kernel tree reports: cargo's
//! output (cc forwards the C compiler's messages as cargo warnings) read
//! for the C compiler's first errors and warnings with the tree's file and
//! line, else the linker's undefined symbols, else the build script's own
//! message, never the linker's command line.

use std::fmt;

/// How many compiler or linker messages a report of a failed build shows.
const MAX_SHOWN: usize = 10;
/// How many lines of cargo's output a report shows when it finds neither.
const MAX_CARGO_LINES: usize = 30;
/// Longer lines (command lines) are cut in reports.
const MAX_LINE: usize = 300;

/// How serious a C compiler message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A C compiler message about a place in a file:
/// `FILE:LINE[:COLUMN]: error|fatal error|warning: TEXT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CDiagnostic {
    pub file: String,
    pub line: u32,
    pub column: Option<u32>,
    pub severity: Severity,
    /// The compiler's words for it (`fatal error` keeps its `fatal`).
    pub kind: String,
    pub text: String,
}

impl fmt::Display for CDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, ": {}: {}", self.kind, self.text)
    }
}

/// What the output of a failed cargo build says went wrong.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BuildFailure {
    /// The C compiler's messages about places in files, each once, errors
    /// first, each kind in the order it came.
    pub diagnostics: Vec<CDiagnostic>,
    /// The linker's `undefined symbol` / `undefined reference` lines, each
    /// once.
    pub undefined: Vec<String>,
    /// What failed build scripts wrote to stderr (the extractor's message
    /// for a tree it cannot use).
    pub script_stderr: Vec<String>,
}

impl BuildFailure {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Drops terminal colour sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.clone().next() == Some('[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    out
}

/// A line of output without the wrapping cargo puts around what a build
/// script (here `cc`, forwarding the compiler) gave as a warning:
/// `warning: PKG@VERSION: TEXT` as cargo shows it, or `cargo:warning=TEXT`
/// as it lists a failed script's output.
fn unwrap_script_warning(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix("warning: ") {
        if let Some((package, text)) = rest.split_once(": ") {
            if package.contains('@') && !package.contains(char::is_whitespace) {
                return text;
            }
        }
    }
    let trimmed = line.trim_start();
    for prefix in ["cargo:warning=", "cargo::warning="] {
        if let Some(text) = trimmed.strip_prefix(prefix) {
            return text;
        }
    }
    line
}

/// `FILE:LINE[:COLUMN]: KIND: TEXT`, where KIND is one the C compilers
/// use for errors and warnings (notes are left out).
fn parse_diagnostic(line: &str) -> Option<CDiagnostic> {
    let line = line.trim();
    let kinds = [
        ("fatal error", Severity::Error),
        ("error", Severity::Error),
        ("warning", Severity::Warning),
    ];
    // The first `: KIND: ` with a location before it.
    for (at, _) in line.match_indices(": ") {
        let (place, rest) = (&line[..at], &line[at + 2..]);
        let Some((kind, severity, text)) = kinds.iter().find_map(|&(k, sev)| {
            rest.strip_prefix(k)
                .and_then(|r| r.strip_prefix(": "))
                .map(|t| (k, sev, t))
        }) else {
            continue;
        };
        let mut parts = place.rsplitn(3, ':');
        let last = parts.next()?;
        let middle = parts.next();
        let first = parts.next();
        let number = |s: &str| -> Option<u32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (file, line_no, column) = match (first, middle.and_then(number), number(last)) {
            (Some(file), Some(l), Some(c)) => (file, l, Some(c)),
            _ => {
                let (file, l) = place.rsplit_once(':')?;
                (file, number(l)?, None)
            }
        };
        if file.is_empty() || file.contains(": ") {
            return None;
        }
        return Some(CDiagnostic {
            file: file.to_owned(),
            line: line_no,
            column,
            severity,
            kind: kind.to_owned(),
            text: text.trim_end().to_owned(),
        });
    }
    None
}

/// gcc's `FILE: In function 'NAME':` line: the file and function the next
/// messages are about.
fn function_context(line: &str) -> Option<(String, String)> {
    let (file, rest) = line.split_once(": In function ")?;
    let name = rest
        .trim_end()
        .strip_suffix(':')?
        .trim_matches(|c| matches!(c, '\'' | '\u{2018}' | '\u{2019}'));
    Some((file.trim().to_owned(), name.to_owned()))
}

/// The function a renamed kernel function had in the tree.
fn tree_name(name: &str) -> &str {
    ["rmapfuzz_kernel_base_", "rmapfuzz_kernel_"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// A message gcc places at the generated unit's `#define` that renames a
/// kernel function (a call with the wrong arguments, say) says nothing of
/// where the call is: add the tree's function and file it came up in.
fn with_context(mut d: CDiagnostic, context: Option<&(String, String)>) -> CDiagnostic {
    let generated =
        d.file.ends_with("rmapfuzz_kernel.c") || d.file.ends_with("rmapfuzz_kernel_base.c");
    if let (true, Some((file, function))) = (generated, context) {
        d.text = format!(
            "{} (in `{}` of {file}, at a name the extraction renamed)",
            d.text,
            tree_name(function)
        );
    }
    d
}

/// Reads the output (stderr) of a failed cargo build.
pub fn parse_build_failure(output: &str) -> BuildFailure {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut undefined: Vec<String> = Vec::new();
    let mut script_stderr = Vec::new();
    let mut in_script_stderr = false;
    let mut context = None;
    for raw in output.lines() {
        let raw = strip_ansi(raw);
        if in_script_stderr {
            match raw.strip_prefix("  ") {
                Some(text) => {
                    script_stderr.push(text.to_owned());
                    continue;
                }
                None => in_script_stderr = false,
            }
        }
        if raw.trim() == "--- stderr" {
            in_script_stderr = true;
            continue;
        }
        let line = unwrap_script_warning(&raw);
        if let Some(c) = function_context(line) {
            context = Some(c);
            continue;
        }
        if let Some(d) = parse_diagnostic(line) {
            let d = with_context(d, context.as_ref());
            let seen = match d.severity {
                Severity::Error => &mut errors,
                Severity::Warning => &mut warnings,
            };
            if !seen.contains(&d) {
                seen.push(d);
            }
            continue;
        }
        if line.contains("undefined symbol") || line.contains("undefined reference") {
            let line = line.trim();
            let line = line.strip_prefix("= note:").unwrap_or(line).trim();
            if !undefined.iter().any(|u| u == line) {
                undefined.push(line.to_owned());
            }
        }
    }
    while script_stderr.last().is_some_and(|l| l.trim().is_empty()) {
        script_stderr.pop();
    }
    errors.extend(warnings);
    BuildFailure {
        diagnostics: errors,
        undefined,
        script_stderr,
    }
}

/// A line as shown in a report: cut when it is a command line's length.
fn shown(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE) {
        Some((at, _)) => format!("{} [... cut; see the log]", &line[..at]),
        None => line.to_owned(),
    }
}

fn list(out: &mut String, heading: &str, lines: &[String], max: usize) {
    out.push_str(heading);
    out.push('\n');
    for line in lines.iter().take(max) {
        out.push_str("  ");
        out.push_str(&shown(line));
        out.push('\n');
    }
    if lines.len() > max {
        out.push_str(&format!("  (and {} more)\n", lines.len() - max));
    }
}

/// The short account of a failed cargo build to show before naming its
/// log: the C compiler's first errors and warnings (file:line) when there
/// are any; when none of them is an error, what else failed: the linker's
/// undefined symbols, else what a build script said, else the start of
/// cargo's output. Command lines (the linker's runs to thousands of
/// characters) are never shown whole.
pub fn failure_report(output: &str) -> String {
    let failure = parse_build_failure(output);
    let mut out = String::new();
    if !failure.diagnostics.is_empty() {
        let lines: Vec<String> = failure.diagnostics.iter().map(|d| d.to_string()).collect();
        let heading = if failure.has_errors() {
            "rmapfuzz: the C compiler rejected the kernel code:"
        } else {
            "rmapfuzz: the C compiler warned:"
        };
        list(&mut out, heading, &lines, MAX_SHOWN);
    }
    if failure.has_errors() {
        return out;
    }
    if !failure.undefined.is_empty() {
        list(
            &mut out,
            "rmapfuzz: the link failed:",
            &failure.undefined,
            MAX_SHOWN,
        );
    } else if !failure.script_stderr.is_empty() {
        // The extractor's own messages, whole: they are written to be read
        // (file:line, the symbol, what was expected), however long.
        for line in &failure.script_stderr {
            out.push_str(line);
            out.push('\n');
        }
    } else {
        let lines: Vec<String> = output.lines().map(strip_ansi).collect();
        list(&mut out, "rmapfuzz: cargo says:", &lines, MAX_CARGO_LINES);
    }
    out
}

#[cfg(test)]
mod tests;
