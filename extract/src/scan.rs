//! A scanner that splits C source into its top-level items: function
//! definitions, prototypes, struct/enum definitions, variable declarations
//! and preprocessor lines. It understands comments, string and character
//! literals, line continuations and brace/parenthesis nesting - enough for
//! kernel C, which is all it reads; it is not a parser.

/// What a top-level item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A function with its body.
    Function,
    /// A declaration with a parameter list and no body.
    Prototype,
    /// `struct NAME { ... };`
    Struct,
    /// `enum NAME { ... };`
    Enum,
    /// Any other declaration ending in `;` (variables, typedefs...).
    Declaration,
    /// A preprocessor line (with its continuations); named after the macro
    /// when it is a `#define`.
    Directive,
    /// A macro called at file level, without a `;` after it (e.g.
    /// `INTERVAL_TREE_DEFINE(...)`, which expands to definitions); named
    /// after the macro.
    Invocation,
}

/// One top-level item of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: Kind,
    /// The declared name: a function or variable name, or `struct X` /
    /// `enum X`; empty when none could be told.
    pub name: String,
    /// Byte range in the file, from the first token to the closing `;` or
    /// `}`; leading comments are not part of the item.
    pub start: usize,
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
}

/// Bytes that are part of code, not of a comment or a literal.
struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> u8 {
        self.src.get(self.pos + off).copied().unwrap_or(0)
    }

    /// Skips a comment or literal at `pos`, if one starts there.
    fn skip_non_code(&mut self) -> bool {
        match (self.peek(0), self.peek(1)) {
            (b'/', b'*') => {
                self.pos += 2;
                while self.pos < self.src.len() && !(self.peek(0) == b'*' && self.peek(1) == b'/') {
                    self.pos += 1;
                }
                self.pos = (self.pos + 2).min(self.src.len());
                true
            }
            (b'/', b'/') => {
                while self.pos < self.src.len() && self.peek(0) != b'\n' {
                    self.pos += 1;
                }
                true
            }
            (quote @ (b'"' | b'\''), _) => {
                self.pos += 1;
                while self.pos < self.src.len() && self.peek(0) != quote {
                    if self.peek(0) == b'\\' {
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                self.pos = (self.pos + 1).min(self.src.len());
                true
            }
            _ => false,
        }
    }

    /// At the start of a line (ignoring leading blanks), is this a directive?
    fn at_directive(&self) -> bool {
        let mut i = self.pos;
        while i > 0 && matches!(self.src[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        (i == 0 || self.src[i - 1] == b'\n') && self.peek(0) == b'#'
    }

    /// Skips a directive to the end of its (continued) line.
    fn skip_directive(&mut self) {
        while self.pos < self.src.len() {
            if self.skip_non_code() {
                continue;
            }
            match self.peek(0) {
                b'\\' if self.peek(1) == b'\n' => self.pos += 2,
                b'\n' => return,
                _ => self.pos += 1,
            }
        }
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The identifiers of `code` (comments and literals skipped), in order.
pub fn identifiers(code: &str) -> Vec<&str> {
    let mut lx = Lexer {
        src: code.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    while lx.pos < lx.src.len() {
        if lx.skip_non_code() {
            continue;
        }
        let b = lx.peek(0);
        if is_ident(b) && !b.is_ascii_digit() {
            let start = lx.pos;
            while lx.pos < lx.src.len() && is_ident(lx.peek(0)) {
                lx.pos += 1;
            }
            out.push(&code[start..lx.pos]);
        } else if b.is_ascii_digit() {
            while lx.pos < lx.src.len() && is_ident(lx.peek(0)) {
                lx.pos += 1;
            }
        } else {
            lx.pos += 1;
        }
    }
    out
}

/// Code with comments and literals replaced by spaces (same length), so
/// byte searches cannot be fooled by them.
pub fn code_only(text: &str) -> String {
    let mut lx = Lexer {
        src: text.as_bytes(),
        pos: 0,
    };
    let mut out = text.as_bytes().to_vec();
    while lx.pos < lx.src.len() {
        let start = lx.pos;
        if lx.skip_non_code() {
            for b in &mut out[start..lx.pos] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        } else {
            lx.pos += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Splits `text` into its top-level items.
pub fn items(text: &str) -> Vec<Item> {
    let src = text.as_bytes();
    let mut lx = Lexer { src, pos: 0 };
    let mut out = Vec::new();
    let line_of = |pos: usize| text[..pos].bytes().filter(|&b| b == b'\n').count() + 1;

    while lx.pos < src.len() {
        if lx.skip_non_code() {
            continue;
        }
        let b = lx.peek(0);
        if b.is_ascii_whitespace() {
            lx.pos += 1;
            continue;
        }
        let start = lx.pos;
        if lx.at_directive() {
            lx.skip_directive();
            out.push(Item {
                kind: Kind::Directive,
                name: defined_name(&text[start..lx.pos]),
                start,
                end: lx.pos,
                line: line_of(start),
            });
            continue;
        }
        if let Some(end) = invocation_end(src, start) {
            lx.pos = end;
            out.push(Item {
                kind: Kind::Invocation,
                name: identifiers(&text[start..end])[0].to_owned(),
                start,
                end,
                line: line_of(start),
            });
            continue;
        }

        // One declaration or definition: up to `;` at depth 0, or to the
        // `}` closing a function body.
        let (mut braces, mut parens) = (0i32, 0i32);
        let mut saw_params = false;
        let mut is_function = false;
        let mut last_significant = 0u8;
        while lx.pos < src.len() {
            if lx.skip_non_code() {
                continue;
            }
            if braces > 0 && lx.at_directive() {
                lx.skip_directive();
                continue;
            }
            let c = lx.peek(0);
            lx.pos += 1;
            match c {
                b'(' => {
                    parens += 1;
                    if braces == 0 {
                        saw_params = true;
                    }
                }
                b')' => parens -= 1,
                b'{' => {
                    if braces == 0 && parens == 0 && saw_params && last_significant != b'=' {
                        // A parameter list then a brace at depth 0: a
                        // function body, even when it returns a struct.
                        let head = &text[start..lx.pos - 1];
                        is_function = identifiers(head).first() != Some(&"typedef");
                    }
                    braces += 1;
                }
                b'}' => {
                    braces -= 1;
                    if braces == 0 && is_function {
                        break;
                    }
                }
                b';' if braces == 0 && parens == 0 => break,
                _ => {}
            }
            if !c.is_ascii_whitespace() {
                last_significant = c;
            }
        }
        let end = lx.pos;
        let item_text = &text[start..end];
        let (kind, name) = classify(item_text, is_function);
        out.push(Item {
            kind,
            name,
            start,
            end,
            line: line_of(start),
        });
    }
    out
}

/// The macro a `#define` line defines, or "" for any other directive.
fn defined_name(directive: &str) -> String {
    let rest = directive.trim_start().trim_start_matches('#').trim_start();
    match rest.strip_prefix("define") {
        Some(r) if r.starts_with([' ', '\t']) => {
            identifiers(r).first().copied().unwrap_or("").to_owned()
        }
        _ => String::new(),
    }
}

/// At `start`, a file-level macro call with nothing after it on its line:
/// an upper-case name, its balanced argument list, then the end of the
/// line. Returns where the call ends.
fn invocation_end(src: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < src.len() && is_ident(src[i]) {
        i += 1;
    }
    let name = &src[start..i];
    let upper = name.iter().any(|b| b.is_ascii_uppercase())
        && name.iter().all(|&b| !b.is_ascii_lowercase());
    if !upper || src.get(i) != Some(&b'(') {
        return None;
    }
    let mut lx = Lexer { src, pos: i };
    let mut depth = 0;
    while lx.pos < src.len() {
        if lx.skip_non_code() {
            continue;
        }
        let c = lx.peek(0);
        lx.pos += 1;
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    let end = lx.pos;
    let mut j = end;
    while j < src.len() && matches!(src[j], b' ' | b'\t') {
        j += 1;
    }
    (depth == 0 && (j == src.len() || src[j] == b'\n')).then_some(end)
}

/// The names `code` calls: identifiers followed by `(`, but not members
/// (`a.f(`, `a->f(`) and not C's own words. With the byte offset of each.
pub fn calls(code: &str) -> Vec<(&str, usize)> {
    let code_text = without_attributes(&code_only(code));
    let bytes = code_text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_ident(b) && !b.is_ascii_digit() && (i == 0 || !is_ident(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut k = start;
            while k > 0 && bytes[k - 1].is_ascii_whitespace() {
                k -= 1;
            }
            let member = k > 0 && (bytes[k - 1] == b'.' || (k > 1 && &bytes[k - 2..k] == b"->"));
            // `PREFIX ## _insert(` in a macro body names nothing by itself.
            let pasted = k > 1 && &bytes[k - 2..k] == b"##";
            let word = &code[start..i];
            if bytes.get(j) == Some(&b'(') && !member && !pasted && !is_c_word(word) {
                out.push((word, start));
            }
            continue;
        }
        i += 1;
    }
    out
}

/// The names an item binds in its head: a function's parameters, or a
/// function-like macro's. A call through one of them (a function pointer,
/// a macro argument) is not a call of anything defined elsewhere.
pub fn parameters(text: &str) -> Vec<&str> {
    let code = without_attributes(&code_only(text));
    let head_end = code.find('{').unwrap_or(code.len());
    let open = match defined_name(text) {
        name if !name.is_empty() => {
            // `#define NAME(` with no blank before the parenthesis.
            let at = code.find(name.as_str()).map(|i| i + name.len());
            match at {
                Some(i) if code.as_bytes().get(i) == Some(&b'(') => i,
                _ => return Vec::new(),
            }
        }
        _ => match code[..head_end].find('(') {
            Some(i) => i,
            None => return Vec::new(),
        },
    };
    let mut depth = 0;
    let mut close = code.len();
    for (i, b) in code.bytes().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    identifiers(&text[open..close])
}

/// Keywords, operators spelled as words and compiler built-ins.
fn is_c_word(word: &str) -> bool {
    word.starts_with("__builtin_")
        || matches!(
            word,
            "if" | "for"
                | "while"
                | "switch"
                | "return"
                | "sizeof"
                | "typeof"
                | "__typeof__"
                | "_Alignof"
                | "__alignof__"
                | "alignof"
                | "_Static_assert"
                | "static_assert"
                | "__attribute__"
                | "__attribute"
                | "asm"
                | "__asm__"
                | "defined"
                | "do"
                | "else"
                | "case"
                | "void"
                | "int"
                | "long"
                | "char"
                | "unsigned"
                | "signed"
                | "short"
                | "bool"
                | "_Bool"
                | "__extension__"
                | "volatile"
                | "__volatile__"
        )
}

fn is_qualifier(word: &str) -> bool {
    matches!(
        word,
        "static" | "inline" | "extern" | "const" | "volatile" | "__always_inline" | "noinline"
    )
}

/// `code` with its `__attribute__((...))` groups blanked out: they come
/// before a function's name at times, and are not its parameter list.
fn without_attributes(code: &str) -> String {
    let mut out = code.to_owned();
    for key in ["__attribute__", "__attribute"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(key).map(|i| i + from) {
            let after = at + key.len();
            let Some(open) = out[after..].find('(').map(|i| i + after) else {
                break;
            };
            if !out[after..open].trim().is_empty() {
                from = after;
                continue;
            }
            let mut depth = 0;
            let mut end = out.len();
            for (i, b) in out.bytes().enumerate().skip(open) {
                match b {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.replace_range(at..end, &" ".repeat(end - at));
            from = end;
        }
    }
    out
}

fn classify(text: &str, is_function: bool) -> (Kind, String) {
    let code = without_attributes(&code_only(text));
    let words = identifiers(&code);
    let head_end = code.find('{').unwrap_or(code.len());
    let head = &code[..head_end];
    if !is_function {
        if let Some(tag @ ("struct" | "enum")) = words.iter().copied().find(|w| !is_qualifier(w)) {
            if code.contains('{') && !head.contains('(') && !head.contains('=') {
                let name = identifiers(head).get(1).copied().unwrap_or("");
                let kind = if tag == "struct" {
                    Kind::Struct
                } else {
                    Kind::Enum
                };
                return (kind, format!("{tag} {name}"));
            }
        }
    }
    // A name followed by '(' at depth 0 names a function or prototype.
    if let Some(paren) = head.find('(') {
        let before = &head[..paren];
        let name = identifiers(before).last().copied().unwrap_or("").to_owned();
        let kind = if is_function {
            Kind::Function
        } else {
            Kind::Prototype
        };
        // `int (*fp)(void);` and friends: a declaration, not a prototype.
        if !before.trim_end().ends_with(|c: char| is_ident(c as u8)) {
            return (Kind::Declaration, String::new());
        }
        return (kind, name);
    }
    // A variable: the last identifier before '=', '[' or ';'.
    let stop = code.find(['=', '[', ';']).unwrap_or(code.len());
    let name = identifiers(&code[..stop])
        .last()
        .copied()
        .unwrap_or("")
        .to_owned();
    (Kind::Declaration, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"// SPDX header
#include "internal.h"
#define TWO(x) \
	((x) + 2)

static struct kmem_cache *cachep;	/* a cache; with { braces } in a comment */

struct anon_vma {
	struct anon_vma *root;
#ifdef CONFIG_X
	int x;
#endif
};

enum vma_operation {
	VMA_OP_SPLIT,
};

static void cleanup(struct vm_area_struct *vma);

/* A comment with "quotes" and a } brace. */
static inline struct anon_vma *anon_vma_alloc(void)
{
	const char *s = "}{";
	char c = '}';
	if (s) {
		return NULL;
	}
	return NULL;
}

void __init anon_vma_init(void)
{
#ifdef CONFIG_Y
	{
#endif
	cachep = NULL;
#ifdef CONFIG_Y
	}
#endif
}
"#;

    #[test]
    fn splits_top_level_items() {
        let found: Vec<(Kind, &str)> = items(SAMPLE)
            .iter()
            .map(|i| (i.kind, &SAMPLE[i.start..i.end]))
            .collect();
        let kinds: Vec<Kind> = found.iter().map(|f| f.0).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Directive,
                Kind::Directive,
                Kind::Declaration,
                Kind::Struct,
                Kind::Enum,
                Kind::Prototype,
                Kind::Function,
                Kind::Function
            ]
        );
        let names: Vec<String> = items(SAMPLE).into_iter().map(|i| i.name).collect();
        assert_eq!(
            names,
            [
                "",
                "TWO",
                "cachep",
                "struct anon_vma",
                "enum vma_operation",
                "cleanup",
                "anon_vma_alloc",
                "anon_vma_init"
            ]
        );
        assert!(found[6].1.ends_with("return NULL;\n}"));
        assert!(found[7].1.starts_with("void __init anon_vma_init(void)"));
    }

    #[test]
    fn a_file_level_macro_call_is_an_item_of_its_own() {
        let text = "static int key(struct x *n) { return n->k; }\n\n\
                    TREE_DEFINE(struct x, rb, int, key,\n\t    static, __x_tree)\n\n\
                    void x_insert(struct x *n) { __x_tree_insert(n); }\n";
        let got: Vec<(Kind, String, usize)> = items(text)
            .into_iter()
            .map(|i| (i.kind, i.name, i.line))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::Function, "key".to_owned(), 1),
                (Kind::Invocation, "TREE_DEFINE".to_owned(), 3),
                (Kind::Function, "x_insert".to_owned(), 6),
            ]
        );
    }

    #[test]
    fn calls_are_named_without_members_and_keywords() {
        let code = "if (a(b)) return c->d(e) + f . g(1) + sizeof(h) + i_j (2);";
        let names: Vec<&str> = calls(code).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "i_j"]);
    }

    #[test]
    fn lines_are_one_based() {
        let items = items(SAMPLE);
        assert_eq!(items[2].line, 6);
        assert_eq!(items[3].line, 8);
    }

    #[test]
    fn attributes_before_the_name_are_not_its_parameters() {
        let text = "static __attribute__((optimize(\"O0\"))) void\nf(int a, void (*cb)(int x))\n{ cb(a); }\n";
        let item = &items(text)[0];
        assert_eq!((item.kind, item.name.as_str()), (Kind::Function, "f"));
        assert_eq!(parameters(text), ["int", "a", "void", "cb", "int", "x"]);
    }

    #[test]
    fn parameters_of_functions_and_macros() {
        assert_eq!(
            parameters("static void f(int a, void (*cb)(int x)) { cb(a); }"),
            ["int", "a", "void", "cb", "int", "x"]
        );
        assert_eq!(parameters("#define M(P, Q) P ## _x(Q)"), ["P", "Q"]);
        assert!(parameters("#define N (1)").is_empty());
        // A name pasted onto a prefix is no call.
        let names: Vec<&str> = calls("#define M(P) P ## _x(1) + y(2)")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["M", "y"]);
    }

    #[test]
    fn identifiers_skip_comments_and_literals() {
        let ids = identifiers("a = b(/* c */ \"d\", 'e', f_1) + 0x12;");
        assert_eq!(ids, ["a", "b", "f_1"]);
    }
}
