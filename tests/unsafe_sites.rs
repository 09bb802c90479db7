//! docs/dependencies.md lists every module of src/ that holds `unsafe` code, with the
//! crate or FFI behind it and why no safe crate does the job. This test keeps that
//! table and the code from drifting apart: an `unsafe` in a module the table does
//! not list fails it, and so does a listed module that no longer has any.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TABLE_HEADING: &str = "## Remaining unsafe sites";

/// The modules in the first column of the table under TABLE_HEADING (`src/...rs`).
fn listed_modules(doc: &str) -> Vec<String> {
    let section = doc
        .split_once(TABLE_HEADING)
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("docs/dependencies.md has no '{TABLE_HEADING}' section"));
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| {
            let first = line.trim().strip_prefix('|')?.split('|').next()?.trim();
            let module = first.trim_matches('`');
            (module.starts_with("src/") && module.ends_with(".rs")).then(|| module.to_string())
        })
        .collect()
}

/// Byte offsets of the keyword `unsafe` in Rust source, outside comments, string,
/// byte-string, raw-string and char literals.
fn unsafe_lines(src: &str) -> Vec<usize> {
    let b = src.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            // r"..", r#".."#, and br".." (the `b` before it is no identifier).
            b'r' if (i == 0
                || !ident(b[i - 1])
                || (b[i - 1] == b'b' && (i < 2 || !ident(b[i - 2]))))
                && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) =>
            {
                // r"..." or r#"..."#: ends at the quote followed by as many hashes.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let mut close = vec![b'"'];
                close.resize(1 + hashes, b'#');
                j += 1;
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{1F}', 'é'), else a lifetime or label.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if let Some(c) = src[i + 1..].chars().next() {
                    let after = i + 1 + c.len_utf8();
                    i = if b.get(after) == Some(&b'\'') {
                        after + 1
                    } else {
                        i + 1
                    };
                } else {
                    i += 1;
                }
            }
            _ if b[i..].starts_with(b"unsafe")
                && (i == 0 || !ident(b[i - 1]))
                && !b.get(i + 6).is_some_and(|&c| ident(c)) =>
            {
                found.push(src[..i].matches('\n').count() + 1);
                i += 6;
            }
            _ => i += 1,
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readdir").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_unsafe_module_is_listed_in_dependencies_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc =
        std::fs::read_to_string(root.join("docs/dependencies.md")).expect("docs/dependencies.md");
    let listed = listed_modules(&doc);
    assert!(
        !listed.is_empty(),
        "the table of unsafe sites lists no module"
    );

    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut with_unsafe = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("source file");
        let lines = unsafe_lines(&text);
        if !lines.is_empty() {
            let rel = path.strip_prefix(root).expect("under the root");
            with_unsafe.insert(rel.to_string_lossy().into_owned(), lines);
        }
    }

    let unlisted: Vec<String> = with_unsafe
        .iter()
        .filter(|(module, _)| !listed.contains(module))
        .map(|(module, lines)| format!("{module} (lines {lines:?})"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "unsafe code in modules that docs/dependencies.md's '{TABLE_HEADING}' table does \
         not list; use a crate (nix, dns-lookup, ...) or add a row saying why none \
         offers the call: {unlisted:?}"
    );
    let stale: Vec<&String> = listed
        .iter()
        .filter(|m| !with_unsafe.contains_key(*m))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/dependencies.md lists modules with no unsafe code left; remove their rows: \
         {stale:?}"
    );
}

#[test]
fn the_scanner_sees_code_not_comments_or_literals() {
    let src = "// unsafe in a comment\n/* unsafe /* nested */ unsafe */\n\
               let a = \"unsafe\"; let b = r#\"unsafe \"# ; let c = b\"unsafe\";\n\
               let d = 'u'; fn e<'a>(x: &'a u8) {}\nlet not_unsafe_ident = 1;\n\
               let f = unsafe { g() };\n";
    assert_eq!(unsafe_lines(src), vec![6]);
    let src = "let q = '\\'';\nunsafe impl Send for X {}\n";
    assert_eq!(unsafe_lines(src), vec![2]);
    let doc = "# x\n## Remaining unsafe sites\n| Module | What |\n|---|---|\n\
               | `src/a.rs` | FFI |\n| src/b/c.rs | nix |\n\n## Next\n| `src/d.rs` | no |\n";
    assert_eq!(listed_modules(doc), vec!["src/a.rs", "src/b/c.rs"]);
}
