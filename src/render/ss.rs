//! ss's column layout: every field of every row is buffered, then the columns are
//! sized from the longest field seen (plus the delimiter) and, on a terminal, the
//! screen width is shared out among them, as iproute2 6.1's render() does.
//!
//! ss buffers in 1 MiB chunks and renders (and frees) what it has when a row ends
//! with 5 or more chunks allocated; later rows keep the widths measured so far. The
//! chunk arithmetic is replayed here so a large table breaks at the same rows.

use std::io::{self, Write};

pub const COL_NETID: usize = 0;
pub const COL_STATE: usize = 1;
pub const COL_RECVQ: usize = 2;
pub const COL_SENDQ: usize = 3;
pub const COL_ADDR: usize = 4;
pub const COL_SERV: usize = 5;
pub const COL_RADDR: usize = 6;
pub const COL_RSERV: usize = 7;
pub const COL_PROC: usize = 8;
pub const COL_EXT: usize = 9;
const COL_MAX: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

const ALIGN: [Align; COL_MAX] = [
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Right,
    Align::Left,
    Align::Right,
    Align::Left,
    Align::Left,
    Align::Left,
];
const HEADER: [&str; COL_MAX] = [
    "Netid",
    "State",
    "Recv-Q",
    "Send-Q",
    "Local Address:",
    "Port",
    "Peer Address:",
    "Port",
    "Process",
    "",
];
const LDELIM: [&str; COL_MAX] = ["", " ", " ", " ", " ", "", " ", "", "", ""];

/// BUF_CHUNK minus the chunk header (next and end pointers).
const CHUNK_ROOM: usize = 1024 * 1024 - 16;
const CHUNKS_MAX: usize = 5;

/// ss's chunk bookkeeping, without the memory: how full the tail chunk is.
#[derive(Default)]
struct Chunks {
    /// Allocated since the last render; 0 = no buffer at all.
    count: usize,
    /// Bytes of the tail chunk in use, including the current token's length field.
    used: usize,
    /// Whether the current token is the first in its chunk.
    first: bool,
}

impl Chunks {
    fn new_chunk(&mut self) {
        self.count += 1;
        self.used = 2;
        self.first = true;
    }

    /// out(): `len` more bytes for the current token of length `cur`.
    fn out(&mut self, cur: usize, len: usize) {
        if self.count == 0 {
            self.new_chunk();
        }
        let avail = CHUNK_ROOM - self.used;
        if len < avail || self.first {
            self.used += len.min(avail);
            return;
        }
        // The token moves to a new chunk and is printed again there.
        self.new_chunk();
        self.used += cur;
        let avail = CHUNK_ROOM - self.used;
        self.used += len.min(avail);
    }

    /// field_flush(): the token of length `cur` ends.
    fn flush(&mut self, cur: usize) {
        let pad = cur % 2;
        let avail = CHUNK_ROOM - self.used;
        if avail < pad + 2 {
            self.new_chunk();
            return;
        }
        self.used += pad + 2;
        self.first = false;
    }
}

/// The buffered table: fields in order, each a token of bytes.
pub struct Grid {
    disabled: [bool; COL_MAX],
    max_len: [usize; COL_MAX],
    /// Fields since the last render, back to back; `ends[i]` is where field i ends.
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// The column of the field being written.
    current: usize,
    /// Where the field being written starts in `buf`.
    start: usize,
    chunks: Chunks,
    /// Terminal width, `None` when stdout is not a terminal (compact output).
    screen_width: Option<usize>,
}

impl Grid {
    pub fn new(show_netid: bool, show_state: bool, screen_width: Option<usize>) -> Grid {
        let mut disabled = [false; COL_MAX];
        disabled[COL_NETID] = !show_netid;
        disabled[COL_STATE] = !show_state;
        Grid {
            disabled,
            max_len: [0; COL_MAX],
            buf: Vec::with_capacity(1 << 20),
            ends: Vec::with_capacity(1 << 14),
            current: 0,
            start: 0,
            chunks: Chunks::default(),
            screen_width,
        }
    }

    /// Appends to the current field (nothing when its column is disabled).
    pub fn out(&mut self, bytes: &[u8]) {
        if self.disabled[self.current] {
            return;
        }
        self.chunks.out(self.buf.len() - self.start, bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    pub fn out_str(&mut self, s: &str) {
        self.out(s.as_bytes());
    }

    /// `write!` into the current field.
    pub fn out_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        if self.disabled[self.current] {
            return;
        }
        let before = self.buf.len();
        let _ = self.buf.write_fmt(args);
        let len = self.buf.len() - before;
        self.chunks.out(before - self.start, len);
    }

    fn flush_field(&mut self) {
        if self.disabled[self.current] {
            return;
        }
        let len = self.buf.len() - self.start;
        if self.chunks.count == 0 {
            self.chunks.new_chunk();
        }
        self.max_len[self.current] = self.max_len[self.current].max(len);
        self.chunks.flush(len);
        self.ends.push(self.buf.len());
        self.start = self.buf.len();
    }

    /// field_next(): ends the field; at the end of a row with 5 chunks in use, ss
    /// renders what it has instead.
    pub fn next(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.current == COL_MAX - 1 && self.chunks.count >= CHUNKS_MAX {
            return self.render(w);
        }
        self.flush_field();
        self.current = if self.current == COL_MAX - 1 {
            0
        } else {
            self.current + 1
        };
        Ok(())
    }

    /// field_set(): moves on to column `col` (possibly in the next row).
    pub fn set(&mut self, col: usize, w: &mut impl Write) -> io::Result<()> {
        while self.current != col {
            self.next(w)?;
        }
        Ok(())
    }

    /// The header row.
    pub fn header(&mut self, w: &mut impl Write) -> io::Result<()> {
        while self.current != COL_MAX - 1 {
            if !self.disabled[self.current] {
                self.out_str(HEADER[self.current]);
            }
            self.next(w)?;
        }
        Ok(())
    }

    /// render_calc_width(): each column's width from what it held.
    fn widths(&self) -> [usize; COL_MAX] {
        let mut width = [0usize; COL_MAX];
        let screen = self.screen_width.unwrap_or(usize::MAX);
        let mut first = true;
        for c in 0..COL_MAX {
            if self.disabled[c] {
                continue;
            }
            width[c] = if !first && self.max_len[c] > 0 {
                self.max_len[c] + LDELIM[c].len()
            } else {
                self.max_len[c]
            };
            width[c] = width[c].min(screen);
            if width[c] > 0 {
                first = false;
            }
        }
        if self.screen_width.is_none() {
            return width;
        }
        // Share the screen out among the columns of each line, favouring the left.
        let mut eol: isize = -1;
        let (mut len, mut linecols) = (0usize, 0usize);
        let mut c: isize = 0;
        while (c as usize) < COL_MAX {
            let cu = c as usize;
            if width[cu] == 0 {
                c += 1;
                continue;
            }
            linecols += 1;
            len += width[cu];
            let last = !(cu + 1..COL_MAX).any(|t| width[t] > 0);
            if !last && len < screen {
                c += 1;
                continue;
            }
            if len != screen {
                if len > screen {
                    len -= width[cu];
                    c -= 1;
                    linecols -= 1;
                }
                let pad = screen.saturating_sub(len);
                if linecols > 0 {
                    let spacing = pad / linecols;
                    let mut rem = pad % linecols;
                    let mut t = c;
                    while t > eol {
                        let tu = t as usize;
                        if width[tu] > 0 {
                            width[tu] += spacing;
                            if rem > 0 {
                                width[tu] += 1;
                                rem -= 1;
                            }
                        }
                        t -= 1;
                    }
                }
            }
            eol = c;
            len = 0;
            linecols = 0;
            c += 1;
        }
        width
    }

    /// render(): prints the buffered fields with their spacing and frees them.
    pub fn render(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.chunks.count == 0 {
            self.current = 0;
            return Ok(());
        }
        // The field being written ends the buffer, unmeasured (ss does not flush it).
        self.ends.push(self.buf.len());
        let width = self.widths();
        let mut f = 0;
        while f < COL_MAX && width[f] == 0 {
            f += 1;
        }
        let mut line_started = false;
        let mut begin = 0;
        for &end in &self.ends {
            let f_ = f.min(COL_MAX - 1);
            let token = &self.buf[begin..end];
            begin = end;
            let mut printed = 0;
            if line_started {
                w.write_all(LDELIM[f_].as_bytes())?;
                printed = LDELIM[f_].len();
            }
            line_started = true;
            if width[f_] > 0 && ALIGN[f_] == Align::Right {
                let s = width[f_] as isize - token.len() as isize - printed as isize;
                if s > 0 {
                    spaces(w, s as usize)?;
                    printed += s as usize;
                }
            }
            w.write_all(token)?;
            printed += token.len();
            if width[f_] > 0 && ALIGN[f_] == Align::Left && width[f_] > printed {
                spaces(w, width[f_] - printed)?;
            }
            loop {
                if f == COL_MAX - 1 {
                    w.write_all(b"\n")?;
                    f = 0;
                    line_started = false;
                } else {
                    f += 1;
                }
                if !self.disabled[f] {
                    break;
                }
            }
        }
        if line_started {
            w.write_all(b"\n")?;
        }
        self.buf.clear();
        self.ends.clear();
        self.start = 0;
        self.chunks = Chunks::default();
        self.current = 0;
        Ok(())
    }
}

fn spaces(w: &mut impl Write, n: usize) -> io::Result<()> {
    const SPACES: [u8; 64] = [b' '; 64];
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        left -= k;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(g: &mut Grid, out: &mut Vec<u8>, fields: &[&str]) {
        g.set(COL_NETID, out).unwrap();
        for (i, f) in fields.iter().enumerate() {
            g.set(i, out).unwrap();
            g.out_str(f);
        }
    }

    #[test]
    fn compact_widths_as_ss_prints_them() {
        let mut out = Vec::new();
        let mut g = Grid::new(false, true, None);
        g.header(&mut out).unwrap();
        row(
            &mut g,
            &mut out,
            &["", "LISTEN", "0     ", "128   ", "0.0.0.0", "2024", "0.0.0.0", "*", ""],
        );
        row(
            &mut g,
            &mut out,
            &["", "TIME-WAIT", "0     ", "0     ", "192.0.2.2", "54266", "203.0.113.80", "80", ""],
        );
        g.render(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "State     Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
             LISTEN    0      128          0.0.0.0:2024       0.0.0.0:*          \n\
             TIME-WAIT 0      0          192.0.2.2:54266 203.0.113.80:80         \n"
        );
    }

    #[test]
    fn terminal_width_is_shared_out() {
        let mut out = Vec::new();
        let mut g = Grid::new(false, true, Some(100));
        g.header(&mut out).unwrap();
        g.render(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.trim_end_matches('\n').len(), 100, "{text:?}");
    }
}
