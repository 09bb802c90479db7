//! The one escaper for bytes that come from the kernel or from other processes
//! (program names, command lines, paths). Nothing raw reaches a terminal: control
//! characters become `^X` or `\n`-style escapes and invalid UTF-8 becomes `\xNN`,
//! as lsof prints them. netstat prints such bytes raw; we deliberately do not.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes `bytes` for a text view. Borrows when nothing needs escaping.
pub fn escape(bytes: &[u8]) -> Cow<'_, str> {
    escape_with(bytes, false)
}

/// Like [`escape`], but also writes space as `\x20` (lsof's COMMAND column, where a
/// space would split the column).
pub fn escape_with(bytes: &[u8], escape_space: bool) -> Cow<'_, str> {
    escape_impl(bytes, escape_space, false)
}

/// lsof's form: like [`escape_with`], and a backslash doubles so escapes stay
/// unambiguous.
pub fn escape_lsof(bytes: &[u8], escape_space: bool) -> Cow<'_, str> {
    escape_impl(bytes, escape_space, true)
}

fn escape_impl(bytes: &[u8], escape_space: bool, escape_backslash: bool) -> Cow<'_, str> {
    let plain = |b: u8| {
        ((0x21..0x7f).contains(&b) && !(b == b'\\' && escape_backslash))
            || (b == b' ' && !escape_space)
    };
    if bytes.iter().all(|&b| plain(b)) {
        // SAFETY-free fast path: printable ASCII is valid UTF-8.
        return Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' && escape_backslash {
                out.push_str("\\\\");
            } else if c == '\x7f' && escape_backslash {
                // lsof writes DEL as a hex escape.
                out.push_str("\\x7f");
            } else {
                push_char(&mut out, c, escape_space);
            }
        }
        for &b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

fn push_char(out: &mut String, c: char, escape_space: bool) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        ' ' if escape_space => out.push_str("\\x20"),
        c if (c as u32) < 0x20 => {
            out.push('^');
            out.push((c as u8 + 0x40) as char);
        }
        '\x7f' => out.push_str("^?"),
        // C1 controls are as dangerous as C0 ones on many terminals.
        c if ('\u{80}'..='\u{9f}').contains(&c) => {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        c => out.push(c),
    }
}

/// The JSON form of untrusted bytes: valid UTF-8 as it is (JSON escapes control
/// characters itself), each byte of an invalid sequence as `\xNN`, and a backslash
/// doubled so the two cannot be confused: the bytes can be recovered exactly
/// (docs/json.md). Borrows when the bytes are UTF-8 without a backslash.
pub fn json_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.contains('\\') {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for &b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_keeps_every_byte() {
        assert!(matches!(json_text("é/a b\\".as_bytes()), Cow::Owned(_)));
        assert!(matches!(
            json_text("é/a b".as_bytes()),
            Cow::Borrowed("é/a b")
        ));
        assert_eq!(json_text(b"a\\x41\xff\n"), "a\\\\x41\\xff\n");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape(b"/tmp/a b"), Cow::Borrowed("/tmp/a b")));
    }

    #[test]
    fn controls_and_bad_utf8() {
        assert_eq!(escape(b"ev\x1b[31mil\nname"), "ev^[[31mil\\nname");
        assert_eq!(escape(b"a\tb\x7f\xff"), "a\\tb^?\\xff");
        assert_eq!(escape("é\u{9b}".as_bytes()), "é\\xc2\\x9b");
        assert_eq!(escape_with(b"a b", true), "a\\x20b");
        assert_eq!(escape_lsof(b"a\\b c", true), "a\\\\b\\x20c");
        assert_eq!(escape(b"a\\b"), "a\\b");
        assert_eq!(escape_lsof(b"\x7f\xff\xfe", false), "\\x7f\\xff\\xfe");
    }

    #[test]
    fn no_control_byte_survives() {
        let all: Vec<u8> = (0..=255).collect();
        let out = escape(&all);
        assert!(!out.chars().any(|c| c.is_control()));
    }
}
