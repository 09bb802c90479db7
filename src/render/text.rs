//! Byte-level pieces of the fixed-width views: padding as C's printf pads (by bytes,
//! never cutting), decimals without `fmt`, and a cell that measures a column before it
//! is written. With 100,000 rows to print, `format!` per column is most of the time.

use std::fmt;
use std::io::{self, Write};

const SPACES: [u8; 64] = [b' '; 64];

pub fn spaces(w: &mut impl Write, mut n: usize) -> io::Result<()> {
    while n > 0 {
        let k = n.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

/// `%-Ns`: the text, then spaces up to `width` bytes.
pub fn left(w: &mut impl Write, text: &[u8], width: usize) -> io::Result<()> {
    w.write_all(text)?;
    spaces(w, width.saturating_sub(text.len()))
}

/// `%Ns`: spaces up to `width` bytes, then the text.
pub fn right(w: &mut impl Write, text: &[u8], width: usize) -> io::Result<()> {
    spaces(w, width.saturating_sub(text.len()))?;
    w.write_all(text)
}

/// The decimal digits of a number, on the stack.
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub fn new(mut n: u64) -> Decimal {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return Decimal { digits, start };
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

/// Text assembled before it is written (to measure or cut it): on the stack up to
/// `INLINE` bytes, which every numeric column fits, on the heap beyond (a long host
/// name with -W).
pub struct Cell {
    inline: [u8; Cell::INLINE],
    len: usize,
    heap: Vec<u8>,
}

impl Default for Cell {
    fn default() -> Self {
        Cell::new()
    }
}

impl Cell {
    const INLINE: usize = 64;

    pub fn new() -> Cell {
        Cell {
            inline: [0; Cell::INLINE],
            len: 0,
            heap: Vec::new(),
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.heap.is_empty() {
            if let Some(room) = self.inline.get_mut(self.len..self.len + bytes.len()) {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
                return;
            }
            self.heap.extend_from_slice(&self.inline[..self.len]);
        }
        self.heap.extend_from_slice(bytes);
    }

    pub fn as_bytes(&self) -> &[u8] {
        if self.heap.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }

    /// Keeps at most `max` bytes.
    pub fn truncate(&mut self, max: usize) {
        if self.heap.is_empty() {
            self.len = self.len.min(max);
        } else {
            self.heap.truncate(max);
        }
    }

    /// The text, which is UTF-8 when only `&str`s and digits went in.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Write for Cell {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn decimals() {
        assert_eq!(Decimal::new(0).as_bytes(), b"0");
        assert_eq!(Decimal::new(190357).as_bytes(), b"190357");
        assert_eq!(
            Decimal::new(u64::MAX).as_bytes(),
            u64::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn padding_counts_bytes_and_never_cuts() {
        let mut out = Vec::new();
        left(&mut out, b"tcp", 5).unwrap();
        right(&mut out, b"42", 6).unwrap();
        left(&mut out, "é".as_bytes(), 3).unwrap();
        left(&mut out, b"toolong", 3).unwrap();
        spaces(&mut out, 70).unwrap();
        let mut want = b"tcp      42\xc3\xa9 toolong".to_vec();
        want.extend_from_slice(&[b' '; 70]);
        assert_eq!(out, want);
    }

    #[test]
    fn cells_spill_to_the_heap() {
        let mut c = Cell::new();
        write!(c, "127.0.0.1:{}", 80).unwrap();
        assert_eq!(c.as_str(), "127.0.0.1:80");
        let long = "h".repeat(100);
        c.push(long.as_bytes());
        assert_eq!(c.as_bytes().len(), 112);
        assert!(c.as_str().starts_with("127.0.0.1:80hhh"));
        c.truncate(5);
        assert_eq!(c.as_str(), "127.0");
    }
}
