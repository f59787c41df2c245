//! What the crash-handling commands (`minimize`, `explain`, `dot`,
//! `import`, `triage`, `c-repro`) take: a text scenario (`*.txt`) or a fuzz
//! artifact (bytes, decoded as the fuzz targets do), and the variant to run
//! it on; and where they write, never over an existing file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::engine::variant::{self, Variant};
use crate::input::encoding::decode;
use crate::language::parse::parse_file;
use crate::language::scenario::{Scenario, VariantSel};

/// How an input was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Bytes,
}

/// A loaded input.
#[derive(Clone, Debug)]
pub struct Input {
    pub path: PathBuf,
    pub kind: InputKind,
    pub scenario: Scenario,
    pub variant: Variant,
}

/// Why an input could not be used: the message names the file (and the
/// line, for a text scenario).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Whether `path` is read as a text scenario (by its extension).
pub fn is_text(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "txt")
}

/// The variant an input runs on: the one asked for; in a build that
/// carries a kernel tree, `kernel`; else the one a text header names, else
/// `RMAPFUZZ_VARIANT`, else the default.
fn choose_variant(asked: Option<&str>, header: Option<&VariantSel>) -> Result<Variant, InputError> {
    let name = match (asked, header) {
        (Some(name), _) => name.to_owned(),
        _ if rmap_ffi::KERNEL.is_some() => variant::default_variant().to_owned(),
        (None, Some(VariantSel::Named(name))) => name.clone(),
        _ => std::env::var("RMAPFUZZ_VARIANT")
            .unwrap_or_else(|_| variant::default_variant().to_owned()),
    };
    variant::find(&name).map_err(|e| InputError(e.to_string()))
}

/// Loads `path` as a text scenario (`*.txt`) or a fuzz artifact (anything
/// else).
pub fn load(path: &Path, asked_variant: Option<&str>) -> Result<Input, InputError> {
    if !path.is_file() {
        return Err(InputError(format!("{}: no such file", path.display())));
    }
    let (kind, scenario) = if is_text(path) {
        let s = parse_file(path).map_err(|e| InputError(e.to_string()))?;
        (InputKind::Text, s)
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
        (InputKind::Bytes, decode(&bytes))
    };
    let header = (kind == InputKind::Text).then_some(&scenario.header.variant);
    let variant = choose_variant(asked_variant, header)
        .map_err(|e| InputError(format!("{}: {}", path.display(), e.0)))?;
    Ok(Input {
        path: path.to_owned(),
        kind,
        scenario,
        variant,
    })
}

/// `wanted` if no file is there, else the first free `STEM.N.EXT`.
pub fn fresh_path(wanted: &Path) -> PathBuf {
    if !wanted.exists() {
        return wanted.to_owned();
    }
    let stem = wanted
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = wanted
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..)
        .map(|n| wanted.with_file_name(format!("{stem}.{n}{ext}")))
        .find(|p| !p.exists())
        .expect("some name is free")
}

/// Writes `text` to a new file at `path`; an existing file is an error and
/// stays as it was.
pub fn write_new(path: &Path, text: &str) -> Result<(), InputError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| InputError(format!("{}: {e} (not overwriting)", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| InputError(format!("{}: {e}", path.display())))
}

/// The default output next to an input: `IN.SUFFIX` with `IN`'s `.txt`
/// dropped, never an existing file.
pub fn next_to(input: &Path, suffix: &str) -> PathBuf {
    let base = if is_text(input) {
        input.with_extension("")
    } else {
        input.to_owned()
    };
    let name = format!(
        "{}.{suffix}",
        base.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    fresh_path(&base.with_file_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_paths_never_name_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("crash.min.txt");
        assert_eq!(fresh_path(&a), a);
        std::fs::write(&a, "x").unwrap();
        assert_eq!(fresh_path(&a), dir.path().join("crash.min.1.txt"));
        assert_eq!(
            next_to(&dir.path().join("crash.txt"), "min.txt"),
            dir.path().join("crash.min.1.txt")
        );
        assert!(write_new(&a, "y").is_err());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "x");
    }

    #[test]
    fn bad_inputs_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        assert!(load(&missing, None)
            .unwrap_err()
            .0
            .contains("nope.txt: no such file"));
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "mmap 0 0x10000 0x1000\nexplode 0\n").unwrap();
        let e = load(&bad, None).unwrap_err().0;
        assert!(e.contains("bad.txt:2: unknown operation `explode`"), "{e}");
        let bytes = dir.path().join("crash-1");
        std::fs::write(&bytes, [0u8; 8]).unwrap();
        let e = load(&bytes, Some("nonsense")).unwrap_err().0;
        assert!(
            e.contains("crash-1") && e.contains("unknown variant `nonsense`"),
            "{e}"
        );
        assert_eq!(load(&bytes, None).unwrap().kind, InputKind::Bytes);
    }
}
