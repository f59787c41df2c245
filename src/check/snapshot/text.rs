//! The text form of a snapshot (one line per object), and the differences
//! between two: what `explain` prints and what a strict comparison reports.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use super::*;

impl fmt::Display for AvRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AvRef::Null => f.write_str("-"),
            AvRef::Id(i) => write!(f, "av{i}"),
            AvRef::Dangling => f.write_str("FREED"),
            AvRef::Foreign => f.write_str("BOGUS"),
        }
    }
}

impl fmt::Display for VmaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmaRef::Null => f.write_str("-"),
            VmaRef::InMm { mm, start } => write!(f, "{mm}:{start:#x}"),
            VmaRef::Detached(i) => write!(f, "detached#{i}"),
            VmaRef::Dangling => f.write_str("FREED"),
            VmaRef::Foreign => f.write_str("BOGUS"),
        }
    }
}

impl fmt::Display for AvcRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AvcRef::OnChain { vma, pos } => write!(f, "{vma}/{pos}"),
            AvcRef::Stray(i) => write!(f, "stray#{i}"),
            AvcRef::Dangling => f.write_str("FREED"),
            AvcRef::Foreign => f.write_str("BOGUS"),
        }
    }
}

fn hits(list: &[(u32, u64)]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|&(mm, addr)| {
            if mm == u32::MAX {
                format!("FREED:{addr:#x}")
            } else {
                format!("{mm}:{addr:#x}")
            }
        })
        .collect();
    format!("[{}]", items.join(" "))
}

fn flags(flags: u32) -> String {
    let mut out = Vec::new();
    if flags & 1 != 0 {
        out.push("dontcopy");
    }
    if flags & 2 != 0 {
        out.push("wipeonfork");
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join(",")
    }
}

fn vma_line(name: &str, v: &VmaState) -> String {
    let anon_pgoff = v
        .anon_pgoff
        .map(|a| format!(" anon_pgoff={a:#x}"))
        .unwrap_or_default();
    let mut line = format!(
        "{name} range={:#x}-{:#x} pgoff={:#x}{anon_pgoff} flags={} anon_vma={}",
        v.start,
        v.end,
        v.pgoff,
        flags(v.flags),
        v.anon_vma
    );
    let chain: Vec<String> = v.chain.iter().map(|c| c.anon_vma.to_string()).collect();
    let _ = write!(line, " chain=[{}]", chain.join(" "));
    if !v.attached {
        line.push_str(" attached=no");
    }
    if v.chain_broken {
        line.push_str(" chain_broken=yes");
    }
    if v.mm_freed {
        line.push_str(" vm_mm=FREED");
    }
    line
}

impl Snapshot {
    /// One line per object, `object key=value ...`: the form used in
    /// reports and diffs.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for mm in &self.mms {
            let mut line = format!("mm {}", mm.id);
            if mm.bad_entries > 0 {
                let _ = write!(line, " bad_entries={}", mm.bad_entries);
            }
            out.push(line);
            for v in &mm.vmas {
                out.push(vma_line(&format!("vma {}:{:#x}", mm.id, v.start), v));
            }
        }
        for (i, v) in self.detached.iter().enumerate() {
            out.push(vma_line(&format!("vma detached#{i}"), v));
        }
        for (i, a) in self.anon_vmas.iter().enumerate() {
            let tree: Vec<String> = a
                .tree
                .iter()
                .map(|t| format!("{}@{:#x}-{:#x}", t.avc, t.start, t.last))
                .collect();
            let counters = match a.degree {
                Some(d) => format!("degree={d}"),
                None => format!(
                    "num_children={} num_active_vmas={}",
                    a.num_children, a.num_active_vmas
                ),
            };
            out.push(format!(
                "anon_vma av{i} root={} parent={} refcount={} {counters} tree=[{}]",
                a.root,
                a.parent,
                a.refcount,
                tree.join(" ")
            ));
        }
        for (i, s) in self.stray_avcs.iter().enumerate() {
            out.push(format!(
                "avc stray#{i} vma={} anon_vma={}",
                s.vma, s.anon_vma
            ));
        }
        for p in &self.pages {
            out.push(format!(
                "page {} index={:#x} anon_vma={} mapcount={} walk={}",
                hits(&p.mappers),
                p.index,
                p.anon_vma,
                p.mapcount,
                hits(&p.walk)
            ));
        }
        let l = self.live;
        out.push(format!(
            "live mm={} vma={} anon_vma={} avc={} page={}",
            l.mm, l.vma, l.anon_vma, l.avc, l.page
        ));
        out
    }
}

/// The first difference between two snapshots, as (object, left, right)
/// where a side is `None` when that object is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub object: String,
    pub field: Option<String>,
    pub left: Option<String>,
    pub right: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |s: &Option<String>| s.clone().unwrap_or_else(|| "(absent)".into());
        match &self.field {
            Some(field) => write!(
                f,
                "{} {}: {} vs {}",
                self.object,
                field,
                show(&self.left),
                show(&self.right)
            ),
            None => write!(
                f,
                "{}: {} vs {}",
                self.object,
                show(&self.left),
                show(&self.right)
            ),
        }
    }
}

/// The object name of a snapshot line: everything before the first `key=`.
fn object_of(line: &str) -> &str {
    match line.find('=') {
        Some(eq) => line[..eq].rsplit_once(' ').map_or(line, |(obj, _)| obj),
        None => line,
    }
}

fn fields_of(line: &str) -> Vec<(&str, &str)> {
    let rest = &line[object_of(line).len()..];
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let bytes = rest.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b' ' if depth == 0 => {
                if let Some((k, v)) = rest[start..i].split_once('=') {
                    out.push((k, v));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if let Some((k, v)) = rest[start..].split_once('=') {
        out.push((k, v));
    }
    out
}

/// How one object changed between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added(String),
    Removed(String),
    /// The object, and each field that changed: (field, before, after).
    Changed(String, Vec<(String, String, String)>),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(line) => write!(f, "+ {line}"),
            Change::Removed(line) => write!(f, "- {line}"),
            Change::Changed(obj, fields) => {
                write!(f, "~ {obj}:")?;
                for (k, a, b) in fields {
                    write!(f, " {k} {a} -> {b}")?;
                }
                Ok(())
            }
        }
    }
}

/// Every object that appeared, went or changed from `before` to `after`,
/// in `after`'s order (removals first).
pub fn changes(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let (l, r) = (before.lines(), after.lines());
    let lmap: HashMap<&str, &str> = l.iter().map(|s| (object_of(s), s.as_str())).collect();
    let rmap: HashMap<&str, &str> = r.iter().map(|s| (object_of(s), s.as_str())).collect();
    let mut out: Vec<Change> = l
        .iter()
        .filter(|line| !rmap.contains_key(object_of(line)))
        .map(|line| Change::Removed(line.clone()))
        .collect();
    for line in &r {
        let obj = object_of(line);
        match lmap.get(obj) {
            None => out.push(Change::Added(line.clone())),
            Some(old) if *old == line.as_str() => {}
            Some(old) => {
                let (fa, fb) = (fields_of(old), fields_of(line));
                let mut fields: Vec<(String, String, String)> = fb
                    .iter()
                    .filter_map(|(k, vb)| {
                        let va = fa
                            .iter()
                            .find(|(ka, _)| ka == k)
                            .map_or("(none)", |(_, v)| *v);
                        (va != *vb).then(|| ((*k).to_owned(), va.to_owned(), (*vb).to_owned()))
                    })
                    .collect();
                fields.extend(
                    fa.iter()
                        .filter(|(k, _)| !fb.iter().any(|(kb, _)| kb == k))
                        .map(|(k, va)| ((*k).to_owned(), (*va).to_owned(), "(none)".to_owned())),
                );
                out.push(Change::Changed(obj.to_owned(), fields));
            }
        }
    }
    out
}

/// The first difference between `left` and `right`, if any.
pub fn first_difference(left: &Snapshot, right: &Snapshot) -> Option<Difference> {
    if left == right {
        return None;
    }
    let (l, r) = (left.lines(), right.lines());
    let lmap: HashMap<&str, &str> = l.iter().map(|s| (object_of(s), s.as_str())).collect();
    let rmap: HashMap<&str, &str> = r.iter().map(|s| (object_of(s), s.as_str())).collect();
    for line in l.iter().chain(r.iter()) {
        let obj = object_of(line);
        match (lmap.get(obj), rmap.get(obj)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => {
                let (fa, fb) = (fields_of(a), fields_of(b));
                for (k, va) in &fa {
                    let vb = fb.iter().find(|(kb, _)| kb == k).map(|(_, v)| *v);
                    if vb != Some(*va) {
                        return Some(Difference {
                            object: obj.to_owned(),
                            field: Some((*k).to_owned()),
                            left: Some((*va).to_owned()),
                            right: vb.map(str::to_owned),
                        });
                    }
                }
                return Some(Difference {
                    object: obj.to_owned(),
                    field: None,
                    left: Some((*a).to_owned()),
                    right: Some((*b).to_owned()),
                });
            }
            (a, b) => {
                return Some(Difference {
                    object: obj.to_owned(),
                    field: None,
                    left: a.map(|s| s.to_string()),
                    right: b.map(|s| s.to_string()),
                })
            }
        }
    }
    // Same objects, same lines, but not equal: only ordering can differ.
    Some(Difference {
        object: "snapshot".into(),
        field: None,
        left: Some(format!("{l:?}")),
        right: Some(format!("{r:?}")),
    })
}
