//! Snapshots of a world, raw and canonical.
//!
//! Each engine produces a [`RawSnapshot`]: every live object, with
//! references as indices into its own lists. [`canonicalize`] renames
//! everything by a walk of the world (processes by id, VMAs by address,
//! each VMA's anon_vma then its chain in list order, then pages, then
//! parents and roots), so two engines that allocate in a different order
//! still produce equal [`Snapshot`]s when their states are the same.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

/// A reference inside a raw snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RawRef {
    Null,
    Index(usize),
    /// Points at an object that was freed.
    Dangling,
    /// Points at something that is not an object of the expected kind.
    Foreign,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawMm {
    pub id: u32,
    /// Indices into `vmas`, in address order.
    pub vmas: Vec<usize>,
    /// VMA-list or page-table entries pointing at freed memory.
    pub bad_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawVma {
    /// The owning process id, or the reference when it is not a live mm.
    pub mm: Result<u32, RawRef>,
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    /// The anonymous page offset, for a core that keys by it (Linux 7.3).
    pub anon_pgoff: Option<u64>,
    pub flags: u32,
    pub attached: bool,
    pub anon_vma: RawRef,
    /// AVC references, head first.
    pub chain: Vec<RawRef>,
    /// The chain walk met a freed entry or did not end.
    pub chain_broken: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAvc {
    pub vma: RawRef,
    pub anon_vma: RawRef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTreeNode {
    pub avc: RawRef,
    /// The key the node is filed under.
    pub start: u64,
    pub last: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAnonVma {
    pub root: RawRef,
    pub parent: RawRef,
    pub refcount: i64,
    pub num_children: i64,
    pub num_active_vmas: i64,
    /// A degree-era core's single counter (children and active VMAs
    /// together); the two counters above are then meaningless and zero.
    pub degree: Option<i64>,
    pub tree: Vec<RawTreeNode>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPage {
    pub anon_vma: RawRef,
    pub index: u64,
    pub mapcount: i64,
    /// (mm, address) of every page-table entry mapping the page, sorted.
    pub mappers: Vec<(u32, u64)>,
    /// What an rmap walk from the page found, sorted; mm `u32::MAX` marks
    /// a tree entry whose VMA was freed.
    pub walk: Vec<(u32, u64)>,
}

/// Live objects per allocation site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LiveCounts {
    pub mm: u64,
    pub vma: u64,
    pub anon_vma: u64,
    pub avc: u64,
    pub page: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawSnapshot {
    pub mms: Vec<RawMm>,
    pub vmas: Vec<RawVma>,
    pub avcs: Vec<RawAvc>,
    pub anon_vmas: Vec<RawAnonVma>,
    pub pages: Vec<RawPage>,
    pub live: LiveCounts,
}

/// A canonical anon_vma reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AvRef {
    Null,
    Id(u32),
    Dangling,
    Foreign,
}

/// A canonical VMA reference: by process and start address for VMAs in a
/// process, by position among the detached ones otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VmaRef {
    Null,
    InMm { mm: u32, start: u64 },
    Detached(u32),
    Dangling,
    Foreign,
}

/// A canonical AVC reference: its VMA and position on that VMA's chain, or
/// its position among the AVCs no chain holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AvcRef {
    OnChain { vma: VmaRef, pos: u32 },
    Stray(u32),
    Dangling,
    Foreign,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChainEntry {
    pub anon_vma: AvRef,
    /// The AVC's own `vma` pointer (must be the VMA whose chain holds it).
    pub vma: VmaRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VmaState {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    /// The anonymous page offset (Linux 7.3's generation only): what the
    /// VMA's AVCs are keyed and its pages indexed by.
    pub anon_pgoff: Option<u64>,
    pub flags: u32,
    pub attached: bool,
    pub anon_vma: AvRef,
    pub chain: Vec<ChainEntry>,
    pub chain_broken: bool,
    /// Its `vm_mm` points at a freed mm (a VMA no process holds).
    pub mm_freed: bool,
}

impl VmaState {
    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> 12
    }

    /// The page offset pages and AVCs are keyed by: the anonymous one
    /// where the generation has it.
    pub fn key_pgoff(&self) -> u64 {
        self.anon_pgoff.unwrap_or(self.pgoff)
    }

    /// The pgoff range the VMA's AVCs must be filed under.
    pub fn key(&self) -> (u64, u64) {
        let first = self.key_pgoff();
        (first, (first + self.pages()).wrapping_sub(1))
    }

    /// The index of the page mapped at `addr` in this VMA.
    pub fn index_at(&self, addr: u64) -> u64 {
        self.key_pgoff() + ((addr - self.start) >> 12)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MmState {
    pub id: u32,
    pub vmas: Vec<VmaState>,
    pub bad_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeEntry {
    pub start: u64,
    pub last: u64,
    pub avc: AvcRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnonVmaState {
    pub root: AvRef,
    pub parent: AvRef,
    pub refcount: i64,
    pub num_children: i64,
    pub num_active_vmas: i64,
    /// See [`RawAnonVma::degree`].
    pub degree: Option<i64>,
    /// Sorted by key, then AVC.
    pub tree: Vec<TreeEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrayAvc {
    pub vma: VmaRef,
    pub anon_vma: AvRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageState {
    pub anon_vma: AvRef,
    pub index: u64,
    pub mapcount: i64,
    pub mappers: Vec<(u32, u64)>,
    pub walk: Vec<(u32, u64)>,
}

/// A world in canonical form: equal worlds give equal snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub mms: Vec<MmState>,
    /// Live VMAs that no process holds.
    pub detached: Vec<VmaState>,
    /// Indexed by canonical anon_vma id.
    pub anon_vmas: Vec<AnonVmaState>,
    /// Live AVCs that no chain holds.
    pub stray_avcs: Vec<StrayAvc>,
    pub pages: Vec<PageState>,
    pub live: LiveCounts,
}

impl Snapshot {
    /// The process with id `mm` (processes are in id order).
    pub fn mm(&self, mm: u32) -> Option<&MmState> {
        self.mms
            .binary_search_by_key(&mm, |m| m.id)
            .ok()
            .map(|i| &self.mms[i])
    }

    /// The VMA at `r`, if it is a live one.
    pub fn vma(&self, r: VmaRef) -> Option<&VmaState> {
        match r {
            VmaRef::InMm { mm, start } => {
                let vmas = &self.mm(mm)?.vmas;
                vmas.binary_search_by_key(&start, |v| v.start)
                    .ok()
                    .map(|i| &vmas[i])
            }
            VmaRef::Detached(i) => self.detached.get(i as usize),
            _ => None,
        }
    }

    /// The VMA of process `mm` that contains `addr` (VMAs are in address order).
    pub fn vma_at(&self, mm: u32, addr: u64) -> Option<&VmaState> {
        let vmas = &self.mm(mm)?.vmas;
        let i = vmas.partition_point(|v| v.start <= addr).checked_sub(1)?;
        Some(&vmas[i]).filter(|v| addr < v.end)
    }

    /// Every VMA held by a process, with its reference.
    pub fn vmas(&self) -> impl Iterator<Item = (VmaRef, &VmaState)> {
        self.mms.iter().flat_map(|m| {
            m.vmas.iter().map(move |v| {
                (
                    VmaRef::InMm {
                        mm: m.id,
                        start: v.start,
                    },
                    v,
                )
            })
        })
    }
}

impl Snapshot {
    /// Whether its anon_vmas keep a degree-era single counter.
    pub fn has_degree(&self) -> bool {
        self.anon_vmas.iter().any(|a| a.degree.is_some())
    }

    /// Whether the VMAs carry an anonymous page offset (Linux 7.3).
    pub fn has_anon_pgoff(&self) -> bool {
        self.vmas().any(|(_, v)| v.anon_pgoff.is_some())
    }

    /// The same world without anonymous page offsets, as a core before 7.3
    /// sees it (to compare with one).
    pub fn without_anon_pgoff(&self) -> Snapshot {
        let mut s = self.clone();
        for v in s
            .mms
            .iter_mut()
            .flat_map(|m| m.vmas.iter_mut())
            .chain(s.detached.iter_mut())
        {
            v.anon_pgoff = None;
        }
        s
    }

    /// The same world with each anon_vma's two counters replaced by their
    /// sum, as a degree-era core keeps them (to compare with one).
    pub fn counters_as_degree(&self) -> Snapshot {
        let mut s = self.clone();
        for a in &mut s.anon_vmas {
            if a.degree.is_none() {
                a.degree = Some(a.num_children + a.num_active_vmas);
                a.num_children = 0;
                a.num_active_vmas = 0;
            }
        }
        s
    }
}

/// Renames a raw snapshot canonically.
pub fn canonicalize(raw: &RawSnapshot) -> Snapshot {
    let mut names = Naming::new(raw.anon_vmas.len());

    // VMA references: in a process by (mm, start), otherwise detached.
    let mut vma_refs: Vec<VmaRef> = vec![VmaRef::Null; raw.vmas.len()];
    let mut in_mm = vec![false; raw.vmas.len()];
    for mm in &raw.mms {
        for &v in &mm.vmas {
            if v < raw.vmas.len() {
                vma_refs[v] = VmaRef::InMm {
                    mm: mm.id,
                    start: raw.vmas[v].start,
                };
                in_mm[v] = true;
            }
        }
    }
    let detached_order: Vec<usize> = (0..raw.vmas.len()).filter(|&v| !in_mm[v]).collect();
    for (i, &v) in detached_order.iter().enumerate() {
        vma_refs[v] = VmaRef::Detached(i as u32);
    }
    let vma_ref = |r: RawRef| match r {
        RawRef::Null => VmaRef::Null,
        RawRef::Index(i) => vma_refs.get(i).copied().unwrap_or(VmaRef::Foreign),
        RawRef::Dangling => VmaRef::Dangling,
        RawRef::Foreign => VmaRef::Foreign,
    };

    // Name anon_vmas in walk order: each VMA's own, then its chain.
    let ordered_vmas: Vec<usize> = raw
        .mms
        .iter()
        .flat_map(|m| m.vmas.iter().copied())
        .chain(detached_order.iter().copied())
        .collect();
    for &v in &ordered_vmas {
        let vma = &raw.vmas[v];
        names.visit(vma.anon_vma);
        for &avc in &vma.chain {
            if let RawRef::Index(a) = avc {
                if let Some(avc) = raw.avcs.get(a) {
                    names.visit(avc.anon_vma);
                }
            }
        }
    }

    // AVC references: position on the chain that holds them.
    let mut avc_refs: Vec<Option<AvcRef>> = vec![None; raw.avcs.len()];
    for &v in &ordered_vmas {
        for (pos, &avc) in raw.vmas[v].chain.iter().enumerate() {
            if let RawRef::Index(a) = avc {
                if a < avc_refs.len() && avc_refs[a].is_none() {
                    avc_refs[a] = Some(AvcRef::OnChain {
                        vma: vma_refs[v],
                        pos: pos as u32,
                    });
                }
            }
        }
    }
    let mut stray = Vec::new();
    for (a, r) in avc_refs.iter_mut().enumerate() {
        if r.is_none() {
            *r = Some(AvcRef::Stray(stray.len() as u32));
            stray.push(a);
        }
    }

    // Pages sorted by where they are mapped, then by index.
    let mut page_order: Vec<usize> = (0..raw.pages.len()).collect();
    page_order.sort_by(|&a, &b| {
        let (pa, pb) = (&raw.pages[a], &raw.pages[b]);
        (&pa.mappers, pa.index).cmp(&(&pb.mappers, pb.index))
    });
    for &p in &page_order {
        names.visit(raw.pages[p].anon_vma);
    }
    for &a in &stray {
        names.visit(raw.avcs[a].anon_vma);
    }
    // Then parents and roots of everything named so far, until none is new.
    let mut i = 0;
    while i < names.order.len() {
        let av = &raw.anon_vmas[names.order[i]];
        names.visit(av.parent);
        names.visit(av.root);
        i += 1;
    }
    // Whatever is left is unreachable (leaked): keep the raw order.
    for a in 0..raw.anon_vmas.len() {
        names.visit(RawRef::Index(a));
    }

    let av = |r: RawRef| names.reference(r);
    let avc_ref = |r: RawRef| match r {
        RawRef::Index(i) => avc_refs
            .get(i)
            .copied()
            .flatten()
            .unwrap_or(AvcRef::Foreign),
        RawRef::Dangling => AvcRef::Dangling,
        _ => AvcRef::Foreign,
    };
    let vma_state = |v: &RawVma| VmaState {
        start: v.start,
        end: v.end,
        pgoff: v.pgoff,
        anon_pgoff: v.anon_pgoff,
        flags: v.flags,
        attached: v.attached,
        anon_vma: av(v.anon_vma),
        chain: v
            .chain
            .iter()
            .map(|&c| match c {
                RawRef::Index(i) if i < raw.avcs.len() => ChainEntry {
                    anon_vma: av(raw.avcs[i].anon_vma),
                    vma: vma_ref(raw.avcs[i].vma),
                },
                RawRef::Dangling => ChainEntry {
                    anon_vma: AvRef::Dangling,
                    vma: VmaRef::Dangling,
                },
                _ => ChainEntry {
                    anon_vma: AvRef::Foreign,
                    vma: VmaRef::Foreign,
                },
            })
            .collect(),
        chain_broken: v.chain_broken,
        mm_freed: v.mm == Err(RawRef::Dangling),
    };

    let mms = raw
        .mms
        .iter()
        .map(|m| MmState {
            id: m.id,
            vmas: m
                .vmas
                .iter()
                .filter_map(|&v| raw.vmas.get(v))
                .map(vma_state)
                .collect(),
            bad_entries: m.bad_entries,
        })
        .collect();
    let detached = detached_order
        .iter()
        .map(|&v| vma_state(&raw.vmas[v]))
        .collect();
    let anon_vmas = names
        .order
        .iter()
        .map(|&a| {
            let raw_av = &raw.anon_vmas[a];
            let mut tree: Vec<TreeEntry> = raw_av
                .tree
                .iter()
                .map(|n| TreeEntry {
                    start: n.start,
                    last: n.last,
                    avc: avc_ref(n.avc),
                })
                .collect();
            tree.sort();
            AnonVmaState {
                root: av(raw_av.root),
                parent: av(raw_av.parent),
                refcount: raw_av.refcount,
                num_children: raw_av.num_children,
                num_active_vmas: raw_av.num_active_vmas,
                degree: raw_av.degree,
                tree,
            }
        })
        .collect();
    let stray_avcs = stray
        .iter()
        .map(|&a| StrayAvc {
            vma: vma_ref(raw.avcs[a].vma),
            anon_vma: av(raw.avcs[a].anon_vma),
        })
        .collect();
    let pages = page_order
        .iter()
        .map(|&p| {
            let page = &raw.pages[p];
            PageState {
                anon_vma: av(page.anon_vma),
                index: page.index,
                mapcount: page.mapcount,
                mappers: page.mappers.clone(),
                walk: page.walk.clone(),
            }
        })
        .collect();

    Snapshot {
        mms,
        detached,
        anon_vmas,
        stray_avcs,
        pages,
        live: raw.live,
    }
}

/// Canonical anon_vma ids, handed out in order of first visit.
struct Naming {
    ids: Vec<Option<u32>>,
    order: Vec<usize>,
}

impl Naming {
    fn new(n: usize) -> Naming {
        Naming {
            ids: vec![None; n],
            order: Vec::new(),
        }
    }

    fn visit(&mut self, r: RawRef) {
        if let RawRef::Index(i) = r {
            if i < self.ids.len() && self.ids[i].is_none() {
                self.ids[i] = Some(self.order.len() as u32);
                self.order.push(i);
            }
        }
    }

    fn reference(&self, r: RawRef) -> AvRef {
        match r {
            RawRef::Null => AvRef::Null,
            RawRef::Index(i) => self
                .ids
                .get(i)
                .copied()
                .flatten()
                .map_or(AvRef::Foreign, AvRef::Id),
            RawRef::Dangling => AvRef::Dangling,
            RawRef::Foreign => AvRef::Foreign,
        }
    }
}

// ---- Text form -----------------------------------------------------------

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

// ---- Projections for relaxed comparisons ---------------------------------

/// A VMA without its anon_vma identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmaShape {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub flags: u32,
    pub faulted: bool,
}

/// A page without its anon_vma identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageShape {
    pub mappers: Vec<(u32, u64)>,
    pub index: u64,
    pub mapcount: i64,
}

/// What two correct cores agree on even when they reuse different
/// ancestors and keep chains in different orders: the VMAs (without their
/// anon_vma identity) and the pages (without theirs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub mms: Vec<(u32, Vec<VmaShape>)>,
    pub pages: Vec<PageShape>,
}

impl Snapshot {
    fn page_shapes(&self) -> Vec<PageShape> {
        self.pages
            .iter()
            .map(|p| PageShape {
                mappers: p.mappers.clone(),
                index: p.index,
                mapcount: p.mapcount,
            })
            .collect()
    }

    pub fn shape(&self) -> Shape {
        let vma = |v: &VmaState| VmaShape {
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            flags: v.flags,
            faulted: v.anon_vma != AvRef::Null,
        };
        Shape {
            mms: self
                .mms
                .iter()
                .map(|m| (m.id, m.vmas.iter().map(vma).collect()))
                .collect(),
            pages: self.page_shapes(),
        }
    }

    /// What a failed operation must leave untouched even where the kernel
    /// keeps part of its work (a split, an anon_vma, changed flags): which
    /// addresses are mapped, and every page with its mappings.
    pub fn rollback_view(&self) -> Shape {
        let covered = |vmas: &[VmaState]| {
            let mut out: Vec<VmaShape> = Vec::new();
            for v in vmas {
                match out.last_mut() {
                    Some(last) if last.end == v.start => last.end = v.end,
                    _ => out.push(VmaShape {
                        start: v.start,
                        end: v.end,
                        pgoff: 0,
                        flags: 0,
                        faulted: false,
                    }),
                }
            }
            out
        };
        Shape {
            mms: self.mms.iter().map(|m| (m.id, covered(&m.vmas))).collect(),
            pages: self.page_shapes(),
        }
    }
}

/// Renders a shape difference for reports.
pub fn shape_difference(left: &Shape, right: &Shape) -> Option<(String, String)> {
    if left == right {
        return None;
    }
    for (a, b) in left.mms.iter().zip(&right.mms) {
        if a != b {
            return Some((
                format!("mm {} {:x?}", a.0, a.1),
                format!("mm {} {:x?}", b.0, b.1),
            ));
        }
    }
    if left.mms.len() != right.mms.len() {
        let ids = |s: &Shape| s.mms.iter().map(|m| m.0).collect::<Vec<_>>();
        return Some((
            format!("mms {:?}", ids(left)),
            format!("mms {:?}", ids(right)),
        ));
    }
    for (a, b) in left.pages.iter().zip(&right.pages) {
        if a != b {
            return Some((format!("page {a:x?}"), format!("page {b:x?}")));
        }
    }
    Some((
        format!("{} pages", left.pages.len()),
        format!("{} pages", right.pages.len()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_two_orders(swap: bool) -> RawSnapshot {
        // One VMA linked to two anon_vmas; the raw lists are in either order.
        let (a, b) = if swap { (1, 0) } else { (0, 1) };
        let mut anon_vmas = vec![
            RawAnonVma {
                root: RawRef::Index(0),
                parent: RawRef::Index(0),
                refcount: 2,
                num_children: 2,
                num_active_vmas: 0,
                degree: None,
                tree: vec![RawTreeNode {
                    avc: RawRef::Index(1),
                    start: 16,
                    last: 16,
                }],
            },
            RawAnonVma {
                root: RawRef::Index(0),
                parent: RawRef::Index(0),
                refcount: 1,
                num_children: 0,
                num_active_vmas: 1,
                degree: None,
                tree: vec![RawTreeNode {
                    avc: RawRef::Index(0),
                    start: 16,
                    last: 16,
                }],
            },
        ];
        if swap {
            anon_vmas.swap(0, 1);
            for av in &mut anon_vmas {
                av.root = RawRef::Index(a);
                av.parent = RawRef::Index(a);
            }
        }
        RawSnapshot {
            mms: vec![RawMm {
                id: 0,
                vmas: vec![0],
                bad_entries: 0,
            }],
            vmas: vec![RawVma {
                mm: Ok(0),
                start: 0x10000,
                end: 0x11000,
                pgoff: 16,
                anon_pgoff: None,
                flags: 0,
                attached: true,
                anon_vma: RawRef::Index(b),
                chain: vec![RawRef::Index(0), RawRef::Index(1)],
                chain_broken: false,
            }],
            avcs: vec![
                RawAvc {
                    vma: RawRef::Index(0),
                    anon_vma: RawRef::Index(b),
                },
                RawAvc {
                    vma: RawRef::Index(0),
                    anon_vma: RawRef::Index(a),
                },
            ],
            anon_vmas,
            pages: vec![],
            live: LiveCounts {
                mm: 1,
                vma: 1,
                anon_vma: 2,
                avc: 2,
                page: 0,
            },
        }
    }

    #[test]
    fn canonical_names_do_not_depend_on_allocation_order() {
        let x = canonicalize(&raw_two_orders(false));
        let y = canonicalize(&raw_two_orders(true));
        assert_eq!(x, y);
        assert_eq!(x.mms[0].vmas[0].anon_vma, AvRef::Id(0));
        assert_eq!(x.anon_vmas[0].num_active_vmas, 1);
    }

    #[test]
    fn first_difference_names_object_and_field() {
        let x = canonicalize(&raw_two_orders(false));
        let mut raw = raw_two_orders(false);
        raw.anon_vmas[1].num_active_vmas = 2;
        let y = canonicalize(&raw);
        let d = first_difference(&x, &y).unwrap();
        assert_eq!(d.object, "anon_vma av0");
        assert_eq!(d.field.as_deref(), Some("num_active_vmas"));
        assert_eq!(
            (d.left.as_deref(), d.right.as_deref()),
            (Some("1"), Some("2"))
        );
        assert!(first_difference(&x, &x).is_none());
    }
}
