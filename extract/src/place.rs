//! Finding, for every name the taken code calls, where it is defined: in
//! the text already taken, in rmapfuzz's shims of the kernel headers
//! (`csrc/include`), or in one of the tree's files read, whose definition
//! is then taken too. A name found nowhere is refused here, with the file
//! and line of the call, rather than left for the compiler or the linker.

use std::collections::BTreeSet;
use std::path::Path;

use crate::scan::{self, identifiers, Item, Kind};
use crate::{ExtractError, Generation, Source};

/// The names rmapfuzz's shims define (functions, prototypes, macros, and
/// `struct X` types): what the extracted code may use without taking
/// anything from the tree.
pub fn shim_names(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "h") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for item in scan::items(&text) {
                    let named = matches!(
                        item.kind,
                        Kind::Function | Kind::Prototype | Kind::Directive | Kind::Struct
                    );
                    if named && !item.name.is_empty() {
                        names.insert(item.name);
                    }
                }
            }
        }
    }
    names
}

/// The suffixes of the functions an `INTERVAL_TREE_DEFINE`-style
/// invocation with prefix P defines (P_insert, ...): its last argument.
fn invocation_prefix<'t>(src: &'t Source, item: &Item) -> Option<&'t str> {
    let text = src.text_of(item);
    let args = &text[text.find('(')? + 1..text.rfind(')')?];
    identifiers(args).last().copied()
}

/// The taken items, by (file, item) index, and the names they provide.
#[derive(Clone)]
pub struct Placer<'a> {
    sources: &'a [Source],
    shims: &'a BTreeSet<String>,
    generation: Generation,
    pub taken: BTreeSet<(usize, usize)>,
    provided: BTreeSet<String>,
    todo: Vec<(usize, usize)>,
}

impl<'a> Placer<'a> {
    pub fn new(
        sources: &'a [Source],
        shims: &'a BTreeSet<String>,
        generation: Generation,
    ) -> Placer<'a> {
        Placer {
            sources,
            shims,
            generation,
            taken: BTreeSet::new(),
            provided: BTreeSet::new(),
            todo: Vec::new(),
        }
    }

    /// Takes item `i` of file `f` (and, once [`Placer::close`] runs, what
    /// it needs).
    pub fn take(&mut self, f: usize, i: usize) {
        if !self.taken.insert((f, i)) {
            return;
        }
        let src = &self.sources[f];
        let item = &src.items[i];
        if item.kind == Kind::Invocation {
            if let Some(prefix) = invocation_prefix(src, item) {
                self.provided.insert(format!("{prefix}_"));
            }
        } else if !item.name.is_empty() {
            self.provided.insert(item.name.clone());
        }
        // A function's declarations in the tree's headers come with it, so
        // code emitted before the definition may call it (lib/rbtree.c and
        // the rbtree header inlines call each other).
        if item.kind == Kind::Function && !item.name.is_empty() {
            for (g, other) in self.sources.iter().enumerate() {
                for (j, proto) in other.items.iter().enumerate() {
                    if proto.kind == Kind::Prototype && proto.name == item.name {
                        self.taken.insert((g, j));
                    }
                }
            }
        }
        self.todo.push((f, i));
    }

    /// The first item of the tree's files (`from` first) that `wanted`
    /// accepts.
    fn find_item(&self, from: usize, wanted: impl Fn(&Item) -> bool) -> Option<(usize, usize)> {
        let order = std::iter::once(from).chain((0..self.sources.len()).filter(|&f| f != from));
        for f in order {
            if let Some(i) = self.sources[f].items.iter().position(&wanted) {
                return Some((f, i));
            }
        }
        None
    }

    /// A definition of a macro named `name`: a constant or macro the taken
    /// code uses as a value.
    fn find_macro(&self, name: &str, from: usize) -> Option<(usize, usize)> {
        self.find_item(from, |item| {
            item.kind == Kind::Directive && item.name == name
        })
    }

    /// The definition of `struct tag` in the tree's files, unless a shim or
    /// the taken text has it (an undefined one may be an opaque pointer).
    fn find_struct(&self, tag: &str, from: usize) -> Option<(usize, usize)> {
        let name = format!("struct {tag}");
        if self.is_provided(&name) {
            return None;
        }
        self.find_item(from, |item| item.kind == Kind::Struct && item.name == name)
    }

    fn is_provided(&self, name: &str) -> bool {
        self.provided.contains(name)
            || self
                .provided
                .iter()
                .any(|p| p.ends_with('_') && name.starts_with(p.as_str()))
            || self.shims.contains(name)
    }

    /// A definition of `name` in the tree's files, searching `from` first.
    pub fn find(&self, name: &str, from: usize) -> Option<(usize, usize)> {
        let order = std::iter::once(from).chain((0..self.sources.len()).filter(|&f| f != from));
        for f in order {
            let src = &self.sources[f];
            let hit = src.items.iter().position(|item| match item.kind {
                Kind::Function | Kind::Directive => item.name == name,
                Kind::Invocation => invocation_prefix(src, item)
                    .is_some_and(|p| name.strip_prefix(p).is_some_and(|r| r.starts_with('_'))),
                _ => false,
            });
            if let Some(i) = hit {
                return Some((f, i));
            }
        }
        None
    }

    /// Takes, transitively, the static helpers and variables of each taken
    /// item's own file that it mentions, and the definition of every name
    /// it calls that neither the taken text nor the shims provide. Where a
    /// shim and the tree both define a name, the shim's serves (it is what
    /// the harness models), but for what a generation's glue asks for.
    pub fn close(&mut self) -> Result<(), ExtractError> {
        while let Some((f, i)) = self.todo.pop() {
            let src = &self.sources[f];
            let item = &src.items[i];
            let text = src.text_of(item);
            let params = scan::parameters(text);
            let words = identifiers(text);
            // Types and constants the text names: `struct X` and macros
            // used as values (RB_RED), from the tree when no shim has them.
            for (n, word) in words.iter().enumerate() {
                let found = if *word == "struct" {
                    words.get(n + 1).and_then(|tag| self.find_struct(tag, f))
                } else if params.contains(word) || self.is_provided(word) {
                    None
                } else {
                    self.find_macro(word, f)
                };
                if let Some((g, j)) = found {
                    self.take(g, j);
                }
            }
            for word in words {
                if self.shims.contains(word) {
                    continue;
                }
                for (j, other) in src.items.iter().enumerate() {
                    let wanted = other.name == word
                        && matches!(
                            other.kind,
                            Kind::Function | Kind::Prototype | Kind::Declaration
                        )
                        && src.text_of(other).trim_start().starts_with("static");
                    if wanted {
                        self.take(f, j);
                    }
                }
            }
            for (name, offset) in scan::calls(text) {
                if params.contains(&name) || self.is_provided(name) {
                    continue;
                }
                match self.find(name, f) {
                    Some((g, j)) => self.take(g, j),
                    None => {
                        let line = item.line + text[..offset].matches('\n').count();
                        return Err(self.unplaced(name, f, line, &item.name));
                    }
                }
            }
        }
        Ok(())
    }

    fn files_read(&self) -> String {
        self.sources
            .iter()
            .map(|s| s.rel)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn unplaced(&self, name: &str, f: usize, line: usize, caller: &str) -> ExtractError {
        ExtractError {
            file: self.sources[f].path.clone(),
            line: Some(line),
            message: format!(
                "`{name}`, called by `{caller}`, is defined neither in the files rmapfuzz reads \
                 from a tree of the {} generation ({}) nor by its shims (csrc/include)",
                self.generation,
                self.files_read()
            ),
        }
    }

    /// The first place the taken code calls `name`, else the first place
    /// any of the tree's files read does, if any.
    pub fn first_call(&self, name: &str) -> Option<(usize, usize)> {
        let call_in = |f: usize, item: &Item| {
            let text = self.sources[f].text_of(item);
            scan::calls(text)
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, off)| (f, item.line + text[..off].matches('\n').count()))
        };
        let taken = self
            .taken
            .iter()
            .find_map(|&(f, i)| call_in(f, &self.sources[f].items[i]));
        taken.or_else(|| {
            self.sources
                .iter()
                .enumerate()
                .find_map(|(f, src)| src.items.iter().find_map(|item| call_in(f, item)))
        })
    }

    /// `name`, which the glue of this generation needs, is defined nowhere:
    /// refused with where the tree calls it and where it was expected.
    pub fn missing(&self, name: &str, expected: &str, tree: &Path) -> ExtractError {
        let why = format!(
            "no definition of `{name}`: the {} generation keeps it in {expected} (files read: {})",
            self.generation,
            self.files_read()
        );
        match self.first_call(name) {
            Some((f, line)) => ExtractError {
                file: self.sources[f].path.clone(),
                line: Some(line),
                message: format!("`{name}` is called here, but {why}"),
            },
            None => ExtractError {
                file: tree.join(expected),
                line: None,
                message: why,
            },
        }
    }
}
