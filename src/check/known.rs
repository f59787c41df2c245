//! Known warnings: a kernel developer's acknowledgement that a tree's
//! `WARN_ON` at some site is already understood, so that a campaign on that
//! tree goes past it and goes on looking for everything else (the way
//! syzbot keeps suppressions).
//!
//! The file, one pattern a line:
//!
//! ```text
//! # Lines whose first non-blank character is `#` are comments; blank
//! # lines are ignored.
//! # SITE CONDITION
//! maple_tree.h  a maple tree warning (MAS_WARN_ON/MT_WARN_ON)
//! mm/vma.c:1234 vma->vm_start != start
//! ```
//!
//! `SITE` is the source file the warning fires in: its name
//! (`maple_tree.h`) or the end of its path (`linux/maple_tree.h`), compared
//! component by component, optionally followed by `:LINE` to pin one line
//! (line numbers differ between trees: leave it out to match every tree).
//! A site starting with `/` is a whole path. `CONDITION`, the rest of the
//! line, is text the warning's condition must contain (runs of blanks count
//! as one space; a `#` there is part of it).
//!
//! The runner hands every problem line of the C side's hygiene to
//! [`KnownWarnings::filter`]: a `warning: FILE:LINE: CONDITION` line that a
//! pattern matches is acknowledged (dropped, and counted); every other line
//! — lock, tree and write-after-free problems, warnings no pattern matches,
//! `warning: ... and N more` — still fails the run. The counts are kept per
//! pattern so that every report can say what was acknowledged.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The known warnings a run acknowledges, if any; `'static` so that
/// [`crate::check::runner::RunOptions`] stays `Copy` (the CLI and the fuzz
/// harness load the file once per process).
pub type Known = Option<&'static KnownWarnings>;

/// A malformed known-warnings file: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct KnownWarningsError {
    pub origin: String,
    /// 1-based; `None` when the file as a whole is at fault (unreadable).
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for KnownWarningsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}:{n}: {}", self.origin, self.reason),
            None => write!(f, "{}: {}", self.origin, self.reason),
        }
    }
}

/// One line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// Where it is written (1-based line of the file).
    pub line: usize,
    /// As written, blanks collapsed.
    pub text: String,
    /// The site is a whole path (it started with `/`).
    anchored: bool,
    /// The site's path components.
    file: Vec<String>,
    /// The site's line, when pinned.
    at_line: Option<u32>,
    /// The condition text, blanks collapsed.
    condition: String,
}

impl Pattern {
    fn matches(&self, w: &Warning) -> bool {
        if self.at_line.is_some_and(|l| l != w.line) {
            return false;
        }
        let path = components(w.file);
        let site_ok = if self.anchored {
            path == self.file
        } else {
            path.ends_with(&self.file)
        };
        site_ok && collapse(w.condition).contains(&self.condition)
    }
}

/// A warning line of the hygiene report, taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Warning<'a> {
    file: &'a str,
    line: u32,
    condition: &'a str,
}

/// `warning: FILE:LINE: CONDITION` (as `csrc/harness.c` and
/// `csrc/tree_vma/snapshot.c` write them); `None` for any other line.
fn parse_warning(problem: &str) -> Option<Warning<'_>> {
    let rest = problem.strip_prefix("warning: ")?;
    let (site, condition) = rest.split_once(": ")?;
    let (file, line) = site.rsplit_once(':')?;
    let line = line.parse().ok()?;
    (!file.is_empty()).then_some(Warning {
        file,
        line,
        condition,
    })
}

/// A path's components, `.` dropped and `a/..` folded (the C side's
/// `__FILE__` is often `tools/testing/shared/linux/../../../../include/...`).
fn components(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|p| p != "..") => {
                out.pop();
            }
            _ => out.push(part.to_owned()),
        }
    }
    out
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The pattern on one line (already trimmed, neither blank nor a comment).
fn parse_pattern(line: usize, text: &str) -> Result<Pattern, String> {
    if let Some(w) = parse_warning(text) {
        let name = w.file.rsplit('/').next().unwrap_or(w.file);
        return Err(format!(
            "this is a report line, not a pattern; a pattern is `FILE[:LINE] CONDITION`, \
             e.g. `{name} {}`",
            w.condition
        ));
    }
    let (site, condition) = match text.split_once(char::is_whitespace) {
        Some((s, c)) if !c.trim().is_empty() => (s, collapse(c)),
        _ => {
            return Err(format!(
                "`{text}`: expected `FILE[:LINE] CONDITION`, with the text the warning's \
                 condition contains after the site"
            ))
        }
    };
    let (path, at_line) = match site.rsplit_once(':') {
        None => (site, None),
        Some((path, n)) => match n.parse::<u32>() {
            Ok(n) if n > 0 => (path, Some(n)),
            _ => {
                return Err(format!(
                    "`{site}`: the site's line must be a positive number after `:`, not `{n}`"
                ))
            }
        },
    };
    if path.is_empty() || path.ends_with('/') {
        return Err(format!("`{site}`: no file name in the site"));
    }
    let file: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if file.iter().any(|p| p == "." || p == "..") {
        return Err(format!(
            "`{site}`: `.` or `..` in the site; write the file's name or the end of its path"
        ));
    }
    Ok(Pattern {
        line,
        text: format!("{site} {condition}"),
        anchored: path.starts_with('/'),
        file,
        at_line,
        condition,
    })
}

/// One acknowledged warning line, and the pattern that matched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// Index into [`KnownWarnings::patterns`].
    pub pattern: usize,
    pub warning: String,
    /// The operation (0-based) whose checks reported it; `None` at
    /// teardown.
    pub step: Option<usize>,
}

/// The parsed file, with how many warnings each pattern has acknowledged
/// so far in this process.
#[derive(Debug)]
pub struct KnownWarnings {
    origin: String,
    patterns: Vec<Pattern>,
    counts: Vec<AtomicUsize>,
}

impl KnownWarnings {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<KnownWarnings, KnownWarningsError> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| KnownWarningsError {
            origin: origin.clone(),
            line: None,
            reason: format!("cannot read the known-warnings file: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| KnownWarningsError {
            origin: origin.clone(),
            line: None,
            reason: "not UTF-8 text".into(),
        })?;
        Self::parse(&text, &origin)
    }

    /// [`KnownWarnings::load`], leaked: the process keeps it to its end.
    pub fn load_static(path: &Path) -> Result<&'static KnownWarnings, KnownWarningsError> {
        Self::load(path).map(|k| &*Box::leak(Box::new(k)))
    }

    /// Parses the text of a file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<KnownWarnings, KnownWarningsError> {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let p = parse_pattern(i + 1, trimmed).map_err(|reason| KnownWarningsError {
                origin: origin.to_owned(),
                line: Some(i + 1),
                reason,
            })?;
            patterns.push(p);
        }
        let counts = patterns.iter().map(|_| AtomicUsize::new(0)).collect();
        Ok(KnownWarnings {
            origin: origin.to_owned(),
            patterns,
            counts,
        })
    }

    /// The file's name, as given.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The first pattern that acknowledges this problem line.
    pub fn matching(&self, problem: &str) -> Option<usize> {
        let w = parse_warning(problem)?;
        self.patterns.iter().position(|p| p.matches(&w))
    }

    /// Splits a hygiene report (of the checks after operation `step`, or of
    /// the teardown) into what still fails and what is acknowledged. Counts
    /// nothing: see [`KnownWarnings::record`].
    pub fn filter(
        &self,
        problems: Vec<String>,
        step: Option<usize>,
    ) -> (Vec<String>, Vec<Acknowledged>) {
        let mut kept = Vec::new();
        let mut acknowledged = Vec::new();
        for p in problems {
            match self.matching(&p) {
                Some(pattern) => acknowledged.push(Acknowledged {
                    pattern,
                    warning: p,
                    step,
                }),
                None => kept.push(p),
            }
        }
        (kept, acknowledged)
    }

    /// Counts what a run acknowledged.
    pub fn record(&self, acknowledged: &[Acknowledged]) {
        for a in acknowledged {
            if let Some(c) = self.counts.get(a.pattern) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Warnings acknowledged so far, every pattern together.
    pub fn total(&self) -> usize {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// `FILE:LINE `TEXT``: where a pattern is written, and what it says.
    pub fn describe(&self, pattern: usize) -> String {
        match self.patterns.get(pattern) {
            Some(p) => format!("{}:{} `{}`", self.origin, p.line, p.text),
            None => format!("{}: pattern #{pattern}", self.origin),
        }
    }

    /// What was acknowledged so far, for the end of a report: one line
    /// with the total, then one per pattern that matched something.
    pub fn summary(&self) -> String {
        let total = self.total();
        let mut s = format!(
            "{total} known warning(s) acknowledged, not failures, by the {} pattern(s) of {}",
            self.patterns.len(),
            self.origin
        );
        for (i, c) in self.counts.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                s += &format!("\n    {n:>8} x {}", self.describe(i));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WARN_72: &str = "warning: /t/7.2/tools/testing/shared/linux/../../../../include/linux/maple_tree.h:795: a maple tree warning (MAS_WARN_ON/MT_WARN_ON)";
    const WARN_73: &str = "warning: /t/7.3/tools/testing/shared/linux/../../../../include/linux/maple_tree.h:796: a maple tree warning (MAS_WARN_ON/MT_WARN_ON)";

    fn parse(text: &str) -> KnownWarnings {
        KnownWarnings::parse(text, "k.txt").expect("parses")
    }

    fn error(text: &str) -> KnownWarningsError {
        KnownWarnings::parse(text, "k.txt").expect_err("must not parse")
    }

    #[test]
    fn good_lines_comments_and_blanks() {
        let k = parse(
            "# the merge-OOM fallback\n\n   \n  maple_tree.h   a maple   tree warning\n\
             mm/vma.c:12 vma->vm_start != start # not a comment\n/abs/x.c y\n",
        );
        let p = k.patterns();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].line, 4);
        assert_eq!(p[0].text, "maple_tree.h a maple tree warning");
        assert_eq!(p[0].file, ["maple_tree.h"]);
        assert_eq!(p[0].at_line, None);
        assert_eq!(p[1].line, 5);
        assert_eq!(p[1].file, ["mm", "vma.c"]);
        assert_eq!(p[1].at_line, Some(12));
        assert_eq!(p[1].condition, "vma->vm_start != start # not a comment");
        assert!(p[2].anchored && !p[0].anchored);
        assert!(parse("# nothing\n").patterns().is_empty());
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        let e = error("# ok\nmaple_tree.h a maple tree warning\nmaple_tree.h\n");
        assert_eq!((e.origin.as_str(), e.line), ("k.txt", Some(3)));
        assert!(e.reason.contains("expected `FILE[:LINE] CONDITION`"), "{e}");
        assert!(e.to_string().starts_with("k.txt:3: "), "{e}");

        let e = error("\n\nmaple_tree.h:x95 cond\n");
        assert_eq!(e.line, Some(3));
        assert!(e.reason.contains("positive number"), "{e}");
        assert_eq!(error("maple_tree.h:0 cond").line, Some(1));
        assert!(error("maple_tree.h: cond")
            .reason
            .contains("positive number"));
        assert!(error(":12 cond").reason.contains("no file name"));
        assert!(error("linux/ cond").reason.contains("no file name"));
        assert!(error("../mm/vma.c cond").reason.contains("`..`"));
        let e = error(WARN_72);
        assert!(
            e.reason.contains("report line")
                && e.reason
                    .contains("`maple_tree.h a maple tree warning (MAS_WARN_ON/MT_WARN_ON)`"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = KnownWarnings::load(Path::new("/no/such/known.txt")).unwrap_err();
        assert_eq!(e.line, None);
        assert!(
            e.to_string()
                .starts_with("/no/such/known.txt: cannot read the known-warnings file"),
            "{e}"
        );
    }

    #[test]
    fn a_matching_warning_is_dropped_in_every_tree() {
        let k = parse("maple_tree.h a maple tree warning\n");
        for w in [WARN_72, WARN_73] {
            let (kept, acked) = k.filter(vec![w.to_owned()], Some(4));
            assert!(kept.is_empty(), "{w}");
            assert_eq!(
                acked,
                [Acknowledged {
                    pattern: 0,
                    warning: w.to_owned(),
                    step: Some(4)
                }]
            );
        }
        // By the end of the path, after `..` folding, and whole.
        for site in [
            "linux/maple_tree.h",
            "include/linux/maple_tree.h",
            "/t/7.2/include/linux/maple_tree.h",
            "maple_tree.h:795",
        ] {
            let k = parse(&format!("{site} MAS_WARN_ON\n"));
            assert_eq!(k.matching(WARN_72), Some(0), "{site}");
        }
    }

    #[test]
    fn anything_else_is_kept() {
        let k = parse("maple_tree.h a maple tree warning\nmm/vma.c:10 x > y\n");
        let others = [
            // Another file, a file that only ends the same, a component
            // that only ends the same, another line, another condition.
            "warning: /t/mm/mmap.c:10: x > y",
            "warning: /t/include/linux/old_maple_tree.h:795: a maple tree warning",
            "warning: /t/mm/vma.c:11: x > y",
            "warning: /t/mm/vma.c:10: x >= y",
            "warning: /t/oldmm/vma.c:10: x > y",
            "warning: /t/include/linux/maple_tree.h:795: !mt_lock_is_held(mt)",
            // Not the tree's warnings, or not a site.
            "lock: anon_vma av1: tree changed without its root's rwsem",
            "tree: anon_vma av2: interval tree out of order",
            "write-after-free: 1 write(s) to freed objects",
            "warning: ... and 3 more",
            "a maple tree warning",
        ];
        let all: Vec<String> = others.iter().map(|s| s.to_string()).collect();
        let (kept, acked) = k.filter(all.clone(), None);
        assert_eq!(kept, all);
        assert!(acked.is_empty());
        // Mixed: only the matching one goes, the order of the rest stays.
        let mixed = vec![
            others[6].to_owned(),
            WARN_72.to_owned(),
            others[0].to_owned(),
        ];
        let (kept, acked) = k.filter(mixed, Some(0));
        assert_eq!(kept, [others[6], others[0]]);
        assert_eq!(acked.len(), 1);
        assert_eq!(
            k.matching("warning: /t/mm/vma.c:10: (x  >  y) && z"),
            Some(1)
        );
    }

    #[test]
    fn counts_and_summary() {
        let k = parse("# c\nmm/vma.c x\nmaple_tree.h a maple tree warning\n");
        assert_eq!(k.total(), 0);
        let (_, acked) = k.filter(vec![WARN_72.to_owned(), WARN_73.to_owned()], None);
        k.record(&acked);
        assert_eq!(k.total(), 2);
        let s = k.summary();
        assert!(
            s.starts_with(
                "2 known warning(s) acknowledged, not failures, by the 2 pattern(s) of k.txt"
            ),
            "{s}"
        );
        assert!(
            s.contains("2 x k.txt:3 `maple_tree.h a maple tree warning`"),
            "{s}"
        );
        assert!(
            !s.contains("mm/vma.c"),
            "unused patterns are not listed: {s}"
        );
    }
}
