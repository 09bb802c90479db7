//! Byte-level readers for the files under /proc. Every reader takes a [`ProcRoot`]
//! so tests and offline snapshots can point it at recorded files. Readers return
//! records plus warnings; they never print.

pub mod dev;
pub mod files;
pub mod igmp;
pub mod inet;
pub mod packet;
pub mod process;
pub mod snmp;
pub mod unix;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Where "/proc" is. Live runs use `/proc`; tests and `--proc-root` use a directory.
#[derive(Clone, Debug)]
pub struct ProcRoot {
    root: PathBuf,
}

impl Default for ProcRoot {
    fn default() -> Self {
        ProcRoot::new("/proc")
    }
}

impl ProcRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcRoot { root: root.into() }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Whether this is the live system's /proc (not a capture or fixture).
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/proc")
    }

    /// The sysfs tree that matches this proc tree: `/sys` for the live system, and
    /// `sys` beside the proc directory of a capture (`DIR/proc` ↔ `DIR/sys`).
    pub fn sys(&self) -> PathBuf {
        self.sibling("sys")
    }

    /// The directory of named network namespaces (`ip netns add`) that matches this proc
    /// tree: `/run/netns` live, `run/netns` beside a captured proc directory.
    pub fn run_netns(&self) -> PathBuf {
        self.sibling("run/netns")
    }

    fn sibling(&self, rel: &str) -> PathBuf {
        if self.is_live() {
            return Path::new("/").join(rel);
        }
        match self.root.parent() {
            Some(parent) => parent.join(rel),
            None => PathBuf::from(rel),
        }
    }

    /// Reads a whole file below the root (e.g. `net/tcp`).
    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.join(rel))
    }
}

/// A line a reader could not make sense of; the rest of the table is still returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseWarning {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Records of one file plus the warnings met while reading it.
#[derive(Clone, Debug)]
pub struct Table<T> {
    pub rows: Vec<T>,
    pub warnings: Vec<ParseWarning>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Parses unsigned hex without a prefix; `None` on anything else (empty, overflow).
pub fn hex_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        let d = (b as char).to_digit(16)?;
        v = (v << 4) | d as u64;
    }
    Some(v)
}

/// Parses an unsigned decimal; `None` on anything else (empty, sign, overflow).
pub fn dec_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// Splits on ASCII whitespace without allocating.
pub fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// Iterates the lines of a file, numbered from 1.
pub fn numbered_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !data.is_empty() || !l.is_empty())
        .map(|(i, l)| (i + 1, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_dec() {
        assert_eq!(hex_u64(b"0A"), Some(10));
        assert_eq!(hex_u64(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(hex_u64(b"1ffffffffffffffff"), None);
        assert_eq!(hex_u64(b"zz"), None);
        assert_eq!(hex_u64(b""), None);
        assert_eq!(dec_u64(b"123"), Some(123));
        assert_eq!(dec_u64(b"-1"), None);
        assert_eq!(dec_u64(b"99999999999999999999999"), None);
    }

    #[test]
    fn lines_are_numbered_from_one() {
        let v: Vec<_> = numbered_lines(b"a\nb\n").collect();
        assert_eq!(v, vec![(1, &b"a"[..]), (2, &b"b"[..])]);
        assert_eq!(numbered_lines(b"").count(), 0);
    }
}
