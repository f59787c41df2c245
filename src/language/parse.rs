//! The text scenario format.
//!
//! ```text
//! # Comments start with '#', anywhere on a line.
//! #! variant=any expect=pass          <- optional header, before any op
//! mmap 0 0x10000 0x4000               # mm start len
//! fault 0 0x10000 w                   # mm addr r|w
//! fork 0 fail=2                       # the 2nd allocation of this op fails
//! split 1 0x12000 fail=1+             # the 1st and every later one fails
//! ```
//!
//! Operations: `mmap MM START LEN`, `fault MM ADDR r|w`, `fork MM`,
//! `split MM ADDR`, `merge MM ADDR`, `mremap MM ADDR NEW_ADDR`,
//! `munmap MM START LEN`, `madvise MM START LEN dontfork|dofork|wipeonfork|keeponfork`,
//! `exit MM`, `rmap MM ADDR`, and the walkers `reclaim MM ADDR`,
//! `migrate MM ADDR`, `referenced MM ADDR`; a scenario may end with a race
//! (`par { OP } { OP }` and an optional `schedule` line, see
//! [`crate::language::race`]). Numbers are decimal or `0x` hexadecimal and
//! may contain `_`. The header keys are `variant=NAME|any`,
//! `expect=pass|fail`, and for `fail` optionally `check=NAME` and `op=KIND`.

use std::fmt;
use std::path::Path;

use crate::language::op::{Access, Advice, FailPlan, Op, OpKind, Step};
use crate::language::race::{parse_par, parse_schedule, Race, Schedule};
use crate::language::scenario::{Expect, Header, Scenario, VariantSel};

/// A malformed scenario: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub origin: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.reason)
    }
}

/// Reads and parses a scenario file. A file that cannot be read is reported
/// as line 0 of that file.
pub fn parse_file(path: &Path) -> Result<Scenario, ParseError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ParseError {
        origin: origin.clone(),
        line: 0,
        reason: format!("cannot read: {e}"),
    })?;
    parse_scenario(&text, &origin)
}

/// Parses scenario text; `origin` names it in errors (a path, or `<input>`).
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, ParseError> {
    let mut header: Option<Header> = None;
    let mut steps = Vec::new();
    let mut race: Option<Race> = None;
    let mut scheduled = false;

    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let err = |reason: String| ParseError {
            origin: origin.to_owned(),
            line: lineno,
            reason,
        };
        let trimmed = raw.trim();
        if let Some(rest) = trimmed.strip_prefix("#!") {
            if header.is_some() {
                return Err(err("a second header line".into()));
            }
            if !steps.is_empty() {
                return Err(err("the header must come before the first operation".into()));
            }
            header = Some(parse_header(rest).map_err(err)?);
            continue;
        }
        let content = match trimmed.find('#') {
            Some(at) => &trimmed[..at],
            None => trimmed,
        };
        let tokens: Vec<&str> = content.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        if tokens[0] == "schedule" {
            let Some(r) = race.as_mut() else {
                return Err(err("a schedule line follows the par line it is for".into()));
            };
            if scheduled {
                return Err(err("a second schedule for one race".into()));
            }
            r.schedule = parse_schedule(&tokens[1..], r.branches.len()).map_err(err)?;
            scheduled = true;
            continue;
        }
        if race.is_some() {
            return Err(err(
                "a race ends the scenario: nothing but its schedule may follow it".into(),
            ));
        }
        if tokens[0] == "par" {
            let rest = content.trim_start()["par".len()..].to_owned();
            let branches = parse_par(&rest, parse_step).map_err(err)?;
            race = Some(Race {
                branches,
                schedule: Schedule::default(),
                pct: None,
                hold_fresh: false,
            });
            continue;
        }
        steps.push(parse_step(&tokens).map_err(err)?);
    }
    Ok(Scenario {
        header: header.unwrap_or_default(),
        steps,
        race,
    })
}

fn parse_header(text: &str) -> Result<Header, String> {
    let mut variant = None;
    let mut expect = None;
    let mut check = None;
    let mut op = None;
    for token in text.split_whitespace() {
        let (key, value) = token
            .split_once('=')
            .ok_or_else(|| format!("header item `{token}` is not key=value"))?;
        if value.is_empty() {
            return Err(format!("header key `{key}` has no value"));
        }
        match key {
            "variant" => {
                variant = Some(if value == "any" {
                    VariantSel::Any
                } else {
                    VariantSel::Named(value.to_owned())
                })
            }
            "expect" => match value {
                "pass" | "fail" => expect = Some(value == "pass"),
                _ => return Err(format!("expect must be pass or fail, not `{value}`")),
            },
            "check" => check = Some(value.to_owned()),
            "op" => {
                op = Some(
                    OpKind::from_name(value)
                        .ok_or_else(|| format!("unknown operation `{value}` in op="))?,
                )
            }
            _ => {
                return Err(format!(
                    "unknown header key `{key}` (expected variant, expect, check, op)"
                ))
            }
        }
    }
    let expect = match expect {
        None | Some(true) => {
            if check.is_some() || op.is_some() {
                return Err("check= and op= only go with expect=fail".into());
            }
            Expect::Pass
        }
        Some(false) => Expect::Fail { check, op },
    };
    Ok(Header {
        variant: variant.unwrap_or(VariantSel::Any),
        expect,
    })
}

fn parse_number(token: &str, what: &str) -> Result<u64, String> {
    let clean: String = token.chars().filter(|&c| c != '_').collect();
    let parsed = match clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => clean.parse::<u64>(),
    };
    parsed.map_err(|_| format!("{what} `{token}` is not a number"))
}

fn parse_mm(token: &str) -> Result<u32, String> {
    let n = parse_number(token, "mm")?;
    u32::try_from(n).map_err(|_| format!("mm `{token}` is too large"))
}

fn parse_fail(token: &str) -> Result<FailPlan, String> {
    let value = &token["fail=".len()..];
    let (digits, and_later) = match value.strip_suffix('+') {
        Some(d) => (d, true),
        None => (value, false),
    };
    let nth = parse_number(digits, "fail count")?;
    if nth == 0 {
        return Err("fail=N counts allocations from 1".into());
    }
    let nth = u32::try_from(nth).map_err(|_| format!("fail count `{digits}` is too large"))?;
    Ok(FailPlan { nth, and_later })
}

fn parse_maple(token: &str) -> Result<u32, String> {
    let digits = &token["maple=".len()..];
    let nth = parse_number(digits, "maple count")?;
    if nth == 0 {
        return Err("maple=N counts maple-tree preallocations from 1".into());
    }
    u32::try_from(nth).map_err(|_| format!("maple count `{digits}` is too large"))
}

fn parse_step(tokens: &[&str]) -> Result<Step, String> {
    // The fault items close the line, in either order, each at most once.
    let (mut fail, mut maple, mut tokens) = (None, None, tokens);
    while let Some((last, rest)) = tokens.split_last() {
        if last.starts_with("fail=") && fail.is_none() {
            fail = Some(parse_fail(last)?);
        } else if last.starts_with("maple=") && maple.is_none() {
            maple = Some(parse_maple(last)?);
        } else {
            break;
        }
        tokens = rest;
    }
    if let Some(bad) = tokens
        .iter()
        .find(|t| t.starts_with("fail=") || t.starts_with("maple="))
    {
        return Err(format!(
            "`{bad}` must come after the operands, at the end of the line, once"
        ));
    }
    let Some(&word) = tokens.first() else {
        return Err("a fail= or maple= item needs an operation before it on the line".into());
    };
    let kind = OpKind::from_name(word).ok_or_else(|| format!("unknown operation `{word}`"))?;
    let args = &tokens[1..];
    let usage = match kind {
        OpKind::Mmap | OpKind::Munmap => "MM START LEN",
        OpKind::Fault => "MM ADDR r|w",
        OpKind::Fork | OpKind::Exit => "MM",
        OpKind::Split
        | OpKind::Merge
        | OpKind::Rmap
        | OpKind::Reclaim
        | OpKind::Migrate
        | OpKind::Referenced => "MM ADDR",
        OpKind::Mremap => "MM ADDR NEW_ADDR",
        OpKind::Madvise => "MM START LEN dontfork|dofork|wipeonfork|keeponfork",
    };
    let want = usage.split_whitespace().count();
    if args.len() != want {
        return Err(format!(
            "`{word}` takes {want} operand(s): {word} {usage} (got {})",
            args.len()
        ));
    }
    let mm = parse_mm(args[0])?;
    let num = |i: usize, what: &str| parse_number(args[i], what);
    let op = match kind {
        OpKind::Mmap => Op::Mmap {
            mm,
            start: num(1, "start")?,
            len: num(2, "length")?,
        },
        OpKind::Munmap => Op::Munmap {
            mm,
            start: num(1, "start")?,
            len: num(2, "length")?,
        },
        OpKind::Fault => {
            let access = match args[2] {
                "r" | "read" => Access::Read,
                "w" | "write" => Access::Write,
                other => return Err(format!("fault access must be r or w, not `{other}`")),
            };
            Op::Fault {
                mm,
                addr: num(1, "address")?,
                access,
            }
        }
        OpKind::Fork => Op::Fork { mm },
        OpKind::Exit => Op::Exit { mm },
        OpKind::Split => Op::Split {
            mm,
            addr: num(1, "address")?,
        },
        OpKind::Merge => Op::Merge {
            mm,
            addr: num(1, "address")?,
        },
        OpKind::Rmap => Op::Rmap {
            mm,
            addr: num(1, "address")?,
        },
        OpKind::Reclaim | OpKind::Migrate | OpKind::Referenced => Op::Walk {
            walker: kind.walker().expect("a walker kind"),
            mm,
            addr: num(1, "address")?,
        },
        OpKind::Mremap => Op::Mremap {
            mm,
            addr: num(1, "address")?,
            new_addr: num(2, "new address")?,
        },
        OpKind::Madvise => {
            let advice = Advice::from_name(args[3]).ok_or_else(|| {
                format!(
                    "unknown advice `{}` (dontfork, dofork, wipeonfork, keeponfork)",
                    args[3]
                )
            })?;
            Op::Madvise {
                mm,
                start: num(1, "start")?,
                len: num(2, "length")?,
                advice,
            }
        }
    };
    Ok(Step { op, fail, maple })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ParseError {
        parse_scenario(text, "t.txt").unwrap_err()
    }

    #[test]
    fn parses_every_operation_and_round_trips() {
        let text = "\
#! variant=pre-series expect=fail check=invariant op=merge
mmap 0 0x10000 0x4000   # a comment
fault 0 0x10000 w
fault 0 65536 r fail=3
fork 0 fail=2+
split 1 0x1_2000
merge 1 0x10000
mremap 1 0x10000 0x40000
munmap 0 0x11000 0x1000
madvise 0 0x10000 0x1000 wipeonfork
rmap 0 0x10000
exit 1
";
        let s = parse_scenario(text, "t.txt").unwrap();
        assert_eq!(s.steps.len(), 11);
        assert_eq!(s.header.variant, VariantSel::Named("pre-series".into()));
        assert_eq!(
            s.steps[2].fail,
            Some(FailPlan {
                nth: 3,
                and_later: false
            })
        );
        assert_eq!(
            s.steps[3].fail,
            Some(FailPlan {
                nth: 2,
                and_later: true
            })
        );
        let again = parse_scenario(&s.to_string(), "again").unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn maple_failures_parse_in_either_order_and_print_canonically() {
        let s = parse_scenario(
            "mmap 0 0x10000 0x1000\nsplit 0 0x10000 maple=2 fail=1+\n",
            "t.txt",
        )
        .expect("parses");
        assert_eq!(s.steps[1].maple, Some(2));
        assert_eq!(
            s.steps[1].fail.map(|f| (f.nth, f.and_later)),
            Some((1, true))
        );
        assert_eq!(s.steps[1].to_string(), "split 0 0x10000 fail=1+ maple=2");
        assert_eq!(s.steps[0].maple, None);
    }

    #[test]
    fn errors_name_file_line_and_reason() {
        let e = err("mmap 0 0x1000 0x1000\n\nfork\n");
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            "t.txt:3: `fork` takes 1 operand(s): fork MM (got 0)"
        );
        assert!(err("frobnicate 0")
            .reason
            .contains("unknown operation `frobnicate`"));
        assert!(err("fault 0 0x1000 x").reason.contains("r or w"));
        assert!(err("mmap 0 zz 0x1000").reason.contains("not a number"));
        assert!(err("fork 0 fail=0").reason.contains("from 1"));
        assert!(err("fork 0 fail=2 fail=3")
            .reason
            .contains("at the end of the line, once"));
        assert!(err("fork 0 maple=1 maple=1").reason.contains("once"));
        assert!(err("fork maple=1 0").reason.contains("after the operands"));
        assert!(err("fork 0 maple=0").reason.contains("from 1"));
        assert!(err("fork 0 maple=x").reason.contains("not a number"));
        assert!(err("fork 0\n#! expect=pass")
            .reason
            .contains("before the first"));
        assert!(err("#! expect=maybe").reason.contains("pass or fail"));
        assert!(err("#! colour=red").reason.contains("unknown header key"));
        assert!(err("#! expect=pass check=x").reason.contains("expect=fail"));
        assert!(err("fork 4294967296").reason.contains("too large"));
        // Found by the parse fuzz target: a line holding only a fail plan.
        assert!(err("mmap 0 0x10000 0x1000\n fail=1\n")
            .reason
            .contains("needs an operation"));
        let race = "par { fork 0 } { fork 0 }\nschedule ";
        assert!(err(&format!("{race}late:2.1"))
            .reason
            .contains("does not exist"));
        assert!(err(&format!("{race}late:0.0")).reason.contains("from 1"));
        assert!(err(&format!("{race}late:0"))
            .reason
            .contains("late:THREAD.STORE"));
        assert!(err(&format!("{race}late:1.4 late:0.9"))
            .reason
            .contains("sorted"));
        assert!(err(&format!("{race}late:0.x"))
            .reason
            .contains("not a number"));
    }

    #[test]
    fn late_stores_parse_and_print_after_the_preemptions() {
        let text = "par { fork 0 } { fork 0 }\nschedule late:0.4 3:1 late:1.2\n";
        let s = parse_scenario(text, "t").unwrap();
        let schedule = &s.race.as_ref().unwrap().schedule;
        assert_eq!(schedule.late.len(), 2);
        assert_eq!(schedule.to_string(), "schedule 3:1 late:0.4 late:1.2");
    }

    #[test]
    fn missing_file_is_an_error_with_its_path() {
        let e = parse_file(Path::new("/no/such/scenario.txt")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("/no/such/scenario.txt:0: cannot read"));
    }
}
